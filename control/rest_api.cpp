#include "control/rest_api.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/storage/sas_url.hpp"

namespace trawl::control {
namespace {

HttpResponse from(const ApiResult& r) {
    HttpResponse h;
    h.status = r.status;
    // `replace`: a message may quote bytes of the request that are not UTF-8 (a decoded
    // "%FF" in a file name); dump() must not throw while answering.
    h.body = r.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return h;
}

HttpResponse method_not_allowed(const HttpRequest& req, const char* allowed) {
    return json_error(405, "MethodNotAllowed", req.method + " is not allowed here; use " + allowed, "method");
}

// PUT and POST bodies: JSON objects. An empty body is an empty object (a session that
// captures everything with the configured defaults).
bool parse_body(const HttpRequest& req, nlohmann::json& out, HttpResponse& error) {
    if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
        out = nlohmann::json::object();
        return true;
    }
    // A key given twice is refused (as in the YAML config): "last one wins" would let a
    // repeated filter key silently override the first.
    std::vector<std::set<std::string>> keys_per_object;
    std::string duplicate;
    auto refuse_duplicates = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using E = nlohmann::json::parse_event_t;
        if (event == E::object_start) keys_per_object.emplace_back();
        else if (event == E::object_end && !keys_per_object.empty()) keys_per_object.pop_back();
        else if (event == E::key && !keys_per_object.empty() && duplicate.empty() &&
                 !keys_per_object.back().insert(parsed.get<std::string>()).second)
            duplicate = parsed.get<std::string>();
        return true;
    };
    try {
        out = nlohmann::json::parse(req.body, refuse_duplicates);
        if (!duplicate.empty()) {
            error = json_error(400, "InvalidJson", "the key appears twice in one object", duplicate);
            return false;
        }
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
        // The parser quotes what it last read, which may be part of a SAS signature.
        error = json_error(400, "InvalidJson", storage::redact(std::string("the body is not valid JSON: ") + e.what()),
                           "body");
        return false;
    }
    if (!out.is_object()) {
        error = json_error(400, "InvalidJson", "the body must be a JSON object", "body");
        return false;
    }
    return true;
}

}  // namespace

HttpResponse RestApi::handle(const HttpRequest& request) {
    HttpResponse r = route(request);
    metrics_.count_request(request.method, r.file ? 200 : r.status);
    return r;
}

HttpResponse RestApi::route(const HttpRequest& req) {
    const auto& seg = req.segments;
    const std::string& m = req.method;
    if (seg.size() == 1 && seg[0] == "healthz") {
        if (m != "GET" && m != "HEAD") return method_not_allowed(req, "GET");
        return {200, "application/json", R"({"status":"ok"})", std::nullopt};
    }
    if (seg.size() == 1 && seg[0] == "metrics") {
        if (m != "GET") return method_not_allowed(req, "GET");
        return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_.scrape(), std::nullopt};
    }
    if (seg.empty() || seg[0] != "v1")
        return json_error(404, "NotFound", "no such endpoint: " + req.path, "path");
    if (seg.size() == 2 && seg[1] == "ports") {
        if (m != "GET") return method_not_allowed(req, "GET");
        return from(sessions_.ports());
    }
    if (seg.size() < 2 || seg[1] != "captures")
        return json_error(404, "NotFound", "no such endpoint: " + req.path, "path");
    if (seg.size() == 2) {
        if (m != "GET") return method_not_allowed(req, "GET");
        return from(sessions_.list());
    }
    const std::string& name = seg[2];
    if (!is_valid_session_name(name)) {
        try {
            validate_session_name(name);
        } catch (const FieldError& e) {
            return json_error(400, "InvalidName", e.message(), "name");
        }
    }
    if (seg.size() == 3) {
        if (m == "PUT") {
            nlohmann::json body;
            HttpResponse error;
            if (!parse_body(req, body, error)) return error;
            return from(sessions_.create(name, body));
        }
        if (m == "GET") return from(sessions_.get(name));
        if (m == "DELETE") {
            bool purge = false;
            if (auto it = req.query.find("purge"); it != req.query.end()) {
                if (it->second != "true" && it->second != "false")
                    return json_error(400, "InvalidArgument", "purge must be true or false", "purge");
                purge = it->second == "true";
            }
            return from(sessions_.remove(name, purge));
        }
        return method_not_allowed(req, "PUT, GET or DELETE");
    }
    if (seg.size() == 4 && seg[3] == "stop") {
        if (m != "POST") return method_not_allowed(req, "POST");
        nlohmann::json body;
        HttpResponse error;
        if (!parse_body(req, body, error)) return error;
        // {"sasUrl": "<container URL with SAS query>"} (VPN-gateway style): the session's
        // files are uploaded there (docs/storage.md).
        std::optional<std::string> sas_url;
        for (const auto& [key, value] : body.items()) {
            if (key != "sasUrl") return json_error(400, "InvalidArgument", "unknown field (sasUrl)", key);
            try {
                validate_upload_url(value, "sasUrl");
            } catch (const FieldError& e) {
                return json_error(400, "InvalidArgument", e.message(), e.target());
            }
            sas_url = value.get<std::string>();
        }
        return from(sessions_.stop(name, sas_url));
    }
    if (seg.size() == 4 && seg[3] == "files") {
        if (m != "GET") return method_not_allowed(req, "GET");
        return from(sessions_.files(name));
    }
    if (seg.size() == 4 && seg[3] == "analysis") {
        if (m != "GET") return method_not_allowed(req, "GET");
        analysis::ReportOptions report;
        bool wait = true;
        for (const auto& [key, value] : req.query) {
            if (key == "top") {
                if (value.empty() || value.size() > 9 || value.find_first_not_of("0123456789") != std::string::npos)
                    return json_error(400, "InvalidArgument", "top must be a number from 0 (all) to 999999999", "top");
                report.top = std::stoul(value);
            } else if (key == "async") {
                if (value != "true" && value != "false")
                    return json_error(400, "InvalidArgument", "async must be true or false", "async");
                wait = value == "false";
            } else {
                return json_error(400, "InvalidArgument", "unknown query parameter (top, async)", key);
            }
        }
        return from(sessions_.analysis(name, report, wait));
    }
    if (seg.size() == 5 && seg[3] == "files") {
        if (m != "GET") return method_not_allowed(req, "GET");
        auto target = sessions_.download(name, seg[4]);
        if (auto* r = std::get_if<ApiResult>(&target)) return from(*r);
        const auto& t = std::get<DownloadTarget>(target);
        HttpResponse h;
        h.file = FileStream{t.path, t.length, t.file_name};
        return h;
    }
    return json_error(404, "NotFound", "no such endpoint: " + req.path, "path");
}

}  // namespace trawl::control
