// The API listener: civetweb (already a dependency of prometheus-cpp) with URL decoding
// switched off, so trawl sees the raw path and can refuse "%2F", "%00" and ".." inside
// a name instead of having them silently decoded or normalised away. Bodies are capped
// before they are read (413), the bearer token is checked before anything else, and
// files are streamed in chunks, never buffered whole.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/config.hpp"

struct mg_context;
struct mg_connection;

namespace trawl::control {

struct HttpRequest {
    std::string method;
    std::string path;                   // raw, as received
    std::vector<std::string> segments;  // percent-decoded path segments (may hold NUL)
    std::map<std::string, std::string> query;
    std::string body;
};

struct FileStream {
    std::string path;
    uint64_t length = 0;
    std::string download_name;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::optional<FileStream> file;  // set: stream this instead of body
    // The API is never cached; the web console's hashed assets are (console_assets.cpp).
    std::string cache_control = "no-store";
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers, sent as given
};

// {"error":{"code","message","target"}} as a response.
HttpResponse json_error(int status, const std::string& code, const std::string& message,
                        const std::string& target = "");

class HttpServer {
public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    // `token` empty: no authentication (config guarantees a loopback listener then).
    HttpServer(const ApiConfig& config, std::string token, Handler handler);
    ~HttpServer();
    void start();  // throws std::runtime_error naming api.listen if it cannot bind
    void stop();

private:
    static int on_request(mg_connection* conn, void* self);
    int serve(mg_connection* conn);

    ApiConfig config_;
    std::string token_;
    Handler handler_;
    mg_context* ctx_ = nullptr;
};

}  // namespace trawl::control
