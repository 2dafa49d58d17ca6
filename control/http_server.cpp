#include "control/http_server.hpp"

#include <civetweb.h>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <strings.h>
#include <memory>
#include <stdexcept>

#include "control/log.hpp"

namespace trawl::control {
namespace {

const char* reason_phrase(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decoding that keeps every byte, NUL included; false on a broken escape.
bool percent_decode(const std::string& in, std::string& out, bool plus_is_space) {
    out.clear();
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%') {
            if (i + 2 >= in.size()) return false;
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            out.push_back(char(hi * 16 + lo));
            i += 2;
        } else if (plus_is_space && in[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(in[i]);
        }
    }
    return true;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < a.size(); ++i) diff |= uint8_t(a[i]) ^ uint8_t(i < b.size() ? b[i] : 0);
    return diff == 0;
}

// `head`: the answer to a HEAD request carries the headers of the body (its length
// included) but never the body itself, or a keep-alive client would read it as the
// start of the next response.
void send_response(mg_connection* conn, const HttpResponse& r, bool close, bool head = false) {
    std::string extra;
    for (const auto& [name, value] : r.headers) extra += name + ": " + value + "\r\n";
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: %s\r\n%s%s\r\n",
              r.status, reason_phrase(r.status), r.content_type.c_str(), r.body.size(),
              r.cache_control.c_str(), extra.c_str(), close ? "Connection: close\r\n" : "");
    if (!r.body.empty() && !head) mg_write(conn, r.body.data(), r.body.size());
}

void send_file(mg_connection* conn, const FileStream& f) {
    const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        send_response(conn, json_error(404, "NotFound", "file is gone: " + f.download_name, "file"), false);
        return;
    }
    // pcapng has no registered media type; Wireshark's own is application/x-pcapng.
    const std::string& n = f.download_name;
    const bool pcapng = n.size() >= 7 && n.compare(n.size() - 7, 7, ".pcapng") == 0;
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
              "Content-Length: %llu\r\nContent-Disposition: attachment; filename=\"%s\"\r\n"
              "Cache-Control: no-store\r\n\r\n",
              pcapng ? "application/x-pcapng" : "application/vnd.tcpdump.pcap",
              static_cast<unsigned long long>(f.length), f.download_name.c_str());
    // Chunks of 256 KiB: a multi-GB file never sits in memory.
    std::unique_ptr<char[]> buf(new char[256 * 1024]);
    uint64_t left = f.length;
    while (left > 0) {
        const size_t want = left < 256 * 1024 ? size_t(left) : 256 * 1024;
        const ssize_t n = ::read(fd, buf.get(), want);
        if (n <= 0) break;  // file shrank under us: the client sees a short body
        if (mg_write(conn, buf.get(), size_t(n)) <= 0) break;  // client went away
        left -= uint64_t(n);
    }
    ::close(fd);
}

// civetweb's own refusals, before a request reaches the handler (a request line with raw
// non-ASCII bytes or spaces, headers too large, a negative Content-Length, an unknown
// HTTP version): answered in the API's error shape too, not as a text/plain page.
int on_http_error(mg_connection* conn, int status, const char* message) {
    const char* code = status == 408   ? "RequestTimeout"
                       : status == 411 ? "LengthRequired"
                       : status == 413 || status == 431 ? "PayloadTooLarge"
                       : status == 505 ? "HttpVersionNotSupported"
                       : status == 400 ? "InvalidRequest"
                                       : "HttpError";
    std::string text = message && *message ? message : reason_phrase(status);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    HttpResponse r;
    r.status = status;
    r.body = nlohmann::json{{"error", {{"code", code}, {"message", text}, {"target", "request"}}}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    send_response(conn, r, true);
    return 0;
}

}  // namespace

HttpResponse json_error(int status, const std::string& code, const std::string& message,
                        const std::string& target) {
    HttpResponse r;
    r.status = status;
    // `replace`: the message may quote request bytes that are not UTF-8 (a JSON parse
    // error shows the bytes it stopped at); dump() must not throw while answering.
    r.body = nlohmann::json{{"error", {{"code", code}, {"message", message}, {"target", target}}}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
}

HttpServer::HttpServer(const ApiConfig& config, std::string token, Handler handler)
    : config_(config), token_(std::move(token)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
    const std::string host = config_.host.find(':') != std::string::npos ? "[" + config_.host + "]" : config_.host;
    const std::string ports = host + ":" + std::to_string(config_.port);
    const std::string threads = std::to_string(config_.threads);
    const char* options[] = {"listening_ports", ports.c_str(),
                             "num_threads", threads.c_str(),
                             "decode_url", "no",
                             "request_timeout_ms", "10000",
                             "enable_keep_alive", "yes",
                             nullptr};
    mg_callbacks callbacks{};
    callbacks.http_error = &on_http_error;
    ctx_ = mg_start(&callbacks, this, options);
    if (!ctx_) throw std::runtime_error("api.listen: cannot listen on " + config_.listen + " (address in use?)");
    mg_set_request_handler(ctx_, "/", &HttpServer::on_request, this);
}

void HttpServer::stop() {
    if (ctx_) {
        mg_stop(ctx_);
        ctx_ = nullptr;
    }
}

int HttpServer::on_request(mg_connection* conn, void* self) {
    return static_cast<HttpServer*>(self)->serve(conn);
}

int HttpServer::serve(mg_connection* conn) {
    const mg_request_info* ri = mg_get_request_info(conn);
    HttpRequest req;
    req.method = ri->request_method ? ri->request_method : "";
    req.path = ri->local_uri_raw ? ri->local_uri_raw : "";

    const bool head = req.method == "HEAD";
    auto reply = [&](const HttpResponse& r, bool close = false) {
        send_response(conn, r, close, head);
        return r.status;
    };

    // Split and decode the path; an undecodable escape is a client error.
    size_t start = 1;
    while (start <= req.path.size()) {
        size_t end = req.path.find('/', start);
        if (end == std::string::npos) end = req.path.size();
        std::string seg;
        if (!percent_decode(req.path.substr(start, end - start), seg, false))
            return reply(json_error(400, "InvalidRequest", "malformed percent-encoding in the path", "path"), true);
        req.segments.push_back(seg);
        start = end + 1;
    }
    if (!req.segments.empty() && req.segments.back().empty()) req.segments.pop_back();  // trailing '/'
    if (ri->query_string) {
        std::string q = ri->query_string;
        size_t pos = 0;
        while (pos <= q.size()) {
            size_t amp = q.find('&', pos);
            if (amp == std::string::npos) amp = q.size();
            const std::string pair = q.substr(pos, amp - pos);
            if (!pair.empty()) {
                const size_t eq = pair.find('=');
                std::string k, v;
                if (!percent_decode(pair.substr(0, eq), k, true) ||
                    !percent_decode(eq == std::string::npos ? "" : pair.substr(eq + 1), v, true))
                    return reply(json_error(400, "InvalidRequest", "malformed query string", "query"), true);
                req.query[k] = v;
            }
            pos = amp + 1;
        }
    }

    const bool health = req.segments.size() == 1 && req.segments[0] == "healthz";
    // The web console's own files are public (they hold no data; the page asks for the
    // token and sends it on every API call), so a browser can load the login form.
    const bool console_file = !req.segments.empty() && req.segments[0] == "ui" &&
                              (req.method == "GET" || req.method == "HEAD");
    if (!token_.empty() && !health && !console_file) {
        const char* header = mg_get_header(conn, "Authorization");
        // The scheme is case-insensitive (RFC 7235); the token is compared in constant time.
        std::string auth = header ? header : "";
        const bool bearer = auth.size() > 7 && strncasecmp(auth.c_str(), "Bearer ", 7) == 0;
        if (!bearer || !constant_time_equal(auth.substr(7), token_)) {
            const char* auth_present = header;
            HttpResponse r = json_error(401, "Unauthorized",
                                        auth_present ? "the bearer token is not valid" : "an Authorization: Bearer token is required",
                                        "Authorization");
            return reply(r, true);
        }
    }

    // The body, capped before it is read.
    const long long declared = ri->content_length;
    if (declared > 0 && uint64_t(declared) > config_.max_body_bytes)
        return reply(json_error(413, "PayloadTooLarge",
                                "the body has " + std::to_string(declared) + " bytes; the limit is " +
                                    std::to_string(config_.max_body_bytes) + " (api.max_body_bytes)",
                                "body"),
                     true);
    if (declared != 0 && (req.method == "PUT" || req.method == "POST" || declared > 0)) {
        char buf[16384];
        for (;;) {
            const int n = mg_read(conn, buf, sizeof buf);
            if (n <= 0) break;
            req.body.append(buf, size_t(n));
            if (req.body.size() > config_.max_body_bytes)
                return reply(json_error(413, "PayloadTooLarge",
                                        "the body exceeds " + std::to_string(config_.max_body_bytes) +
                                            " bytes (api.max_body_bytes)",
                                        "body"),
                             true);
        }
        if (declared > 0 && req.body.size() != uint64_t(declared))
            return reply(json_error(400, "InvalidRequest", "the body is shorter than Content-Length", "body"), true);
    }

    HttpResponse r;
    try {
        r = handler_(req);
    } catch (const std::exception& e) {
        log_error(req.method + " " + req.path + ": " + e.what());
        r = json_error(500, "InternalError", e.what());
    }
    if (r.file) {
        send_file(conn, *r.file);
        return 200;
    }
    return reply(r);
}

}  // namespace trawl::control
