// trawlctl's side of the API: libcurl, one request at a time.
#pragma once

#include <string>

namespace trawl::control {

struct HttpReply {
    long status = 0;     // 0: no HTTP answer (see error)
    std::string body;
    std::string error;   // transport error (connection refused, timeout)
    bool local_error = false;  // download: the local file could not be written (error says why)
};

class HttpClient {
public:
    HttpClient(std::string base_url, std::string token);
    HttpReply request(const std::string& method, const std::string& path, const std::string& body = "") const;
    // Streams the response body into `path` (via a temporary file renamed at the end).
    HttpReply download(const std::string& path_on_server, const std::string& local_path) const;

private:
    std::string base_;
    std::string token_;
};

// Percent-encodes one path segment (names are validated server-side; this only keeps
// the request well-formed).
std::string url_encode_segment(const std::string& s);

}  // namespace trawl::control
