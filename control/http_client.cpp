#include "control/http_client.hpp"

#include <curl/curl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace trawl::control {
namespace {

size_t append_to_string(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

struct FileSink {
    FILE* file = nullptr;
    long status = 0;
    CURL* curl = nullptr;
    std::string error_body;  // an error answer is JSON, not file content
};

size_t write_to_file(char* data, size_t size, size_t count, void* out) {
    auto* sink = static_cast<FileSink*>(out);
    if (sink->status == 0) curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &sink->status);
    if (sink->status != 200) {
        sink->error_body.append(data, size * count);
        return size * count;
    }
    return std::fwrite(data, size, count, sink->file) * size;
}

struct CurlGlobal {
    CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
    ~CurlGlobal() { curl_global_cleanup(); }
};

CURL* make_handle(const std::string& url, const std::string& method, curl_slist*& headers,
                  const std::string& token) {
    static CurlGlobal global;
    CURL* curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    headers = curl_slist_append(nullptr, "Accept: application/json");
    if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
    return curl;
}

}  // namespace

HttpClient::HttpClient(std::string base_url, std::string token) : base_(std::move(base_url)), token_(std::move(token)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

HttpReply HttpClient::request(const std::string& method, const std::string& path, const std::string& body) const {
    HttpReply reply;
    curl_slist* headers = nullptr;
    CURL* curl = make_handle(base_ + path, method, headers, token_);
    if (method == "PUT" || method == "POST") {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, long(body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_to_string);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    const CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) reply.error = curl_easy_strerror(rc);
    else curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return reply;
}

HttpReply HttpClient::download(const std::string& path_on_server, const std::string& local_path) const {
    HttpReply reply;
    const std::string tmp = local_path + ".part";
    FileSink sink;
    sink.file = std::fopen(tmp.c_str(), "wb");
    if (!sink.file) {
        reply.error = "cannot write " + tmp + ": " + std::strerror(errno);
        reply.local_error = true;
        return reply;
    }
    curl_slist* headers = nullptr;
    CURL* curl = make_handle(base_ + path_on_server, "GET", headers, token_);
    sink.curl = curl;
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_to_file);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    const bool closed = std::fclose(sink.file) == 0;
    if (rc != CURLE_OK) reply.error = curl_easy_strerror(rc);
    else if (!closed) {
        reply.error = "cannot write " + tmp;
        reply.local_error = true;
    }
    if (reply.status == 200 && reply.error.empty()) {
        if (std::rename(tmp.c_str(), local_path.c_str()) != 0) {
            reply.error = "cannot rename to " + local_path;
            reply.local_error = true;
        }
    } else {
        std::remove(tmp.c_str());
        reply.body = sink.error_body;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return reply;
}

std::string url_encode_segment(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(char(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

}  // namespace trawl::control
