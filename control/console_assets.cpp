#include "control/console_assets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <string_view>

namespace trawl::control {
namespace {

// The console is a few hundred kilobytes; anything larger is not one of its files.
constexpr off_t kMaxAssetBytes = 16 << 20;

// The page may talk to this origin only: no CDN, no font service, no analytics. uPlot
// sizes its elements with inline styles, hence 'unsafe-inline' for styles (never scripts).
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

const char* content_type(std::string_view name) {
    if (ends_with(name, ".html")) return "text/html; charset=utf-8";
    if (ends_with(name, ".js") || ends_with(name, ".mjs")) return "text/javascript; charset=utf-8";
    if (ends_with(name, ".css")) return "text/css; charset=utf-8";
    if (ends_with(name, ".svg")) return "image/svg+xml";
    if (ends_with(name, ".png")) return "image/png";
    if (ends_with(name, ".ico")) return "image/x-icon";
    if (ends_with(name, ".json") || ends_with(name, ".map")) return "application/json";
    if (ends_with(name, ".woff2")) return "font/woff2";
    if (ends_with(name, ".txt")) return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

// A name the console's build can produce: letters, digits, '.', '_', '-', not hidden.
// Anything else (a decoded '/', NUL, backslash, '..') never reaches the file system.
bool is_asset_segment(const std::string& s) {
    if (s.empty() || s.size() > 128 || s[0] == '.') return false;
    for (const char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    return true;
}

bool has_index(const std::string& dir) {
    struct stat st {};
    return !dir.empty() && ::stat((dir + "/index.html").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::string ConsoleAssets::locate(const std::string& configured) {
    if (!configured.empty()) return configured;
    // A trawld started from its build tree serves the checkout's build of the console;
    // an installed one the installed copy. Never both, so an old installed console
    // cannot shadow the one being developed (or the reverse).
    char exe[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    const std::string self = n > 0 ? std::string(exe, size_t(n)) : "";
    const std::string build_root = TRAWL_BUILD_ROOT "/";
    if (self.compare(0, build_root.size(), build_root) == 0) return TRAWL_UI_SOURCE_DIR;
    return TRAWL_UI_INSTALL_DIR;
}

bool ConsoleAssets::is_console_path(const HttpRequest& request) {
    return !request.segments.empty() && request.segments[0] == "ui";
}

bool ConsoleAssets::available() const { return has_index(dir_); }

HttpResponse ConsoleAssets::serve(const HttpRequest& req) const {
    if (req.method != "GET" && req.method != "HEAD")
        return json_error(405, "MethodNotAllowed", req.method + " is not allowed here; use GET", "method");
    // /ui and /ui/ are the page itself; routes inside the page live in the fragment
    // (#/sessions/web), so the server never has to guess which paths are the page's.
    std::string relative = "index.html";
    if (req.segments.size() > 1) {
        relative.clear();
        for (size_t i = 1; i < req.segments.size(); ++i) {
            const std::string& seg = req.segments[i];
            if (seg == "." || seg == "..")
                return json_error(400, "InvalidRequest", "'" + seg + "' is not allowed in a console path", "path");
            if (!is_asset_segment(seg) || i > 4)
                return json_error(404, "NotFound", "the web console has no file " + req.path, "path");
            relative += (i > 1 ? "/" : "") + seg;
        }
    }
    if (!available())
        return json_error(404, "NotFound",
                          "the web console is not built: no index.html in " + dir_ +
                              " (run scripts/install-ui.sh, or set api.ui_dir)",
                          "path");

    const int fd = ::open((dir_ + "/" + relative).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxAssetBytes) {
        if (fd >= 0) ::close(fd);
        return json_error(404, "NotFound", "the web console has no file " + req.path, "path");
    }
    HttpResponse r;
    r.body.resize(size_t(st.st_size));
    size_t got = 0;
    while (got < r.body.size()) {
        const ssize_t n = ::read(fd, r.body.data() + got, r.body.size() - got);
        if (n <= 0) break;
        got += size_t(n);
    }
    ::close(fd);
    r.body.resize(got);
    r.content_type = content_type(relative);
    // Built assets carry a content hash in their name (assets/app-<hash>.js): cached for
    // good. Everything else, index.html first, is revalidated on every load, so a
    // rebuilt console is picked up at once.
    r.cache_control = relative.rfind("assets/", 0) == 0 ? "public, max-age=31536000, immutable" : "no-cache";
    r.headers = {{"X-Content-Type-Options", "nosniff"}, {"Referrer-Policy", "no-referrer"}};
    if (ends_with(relative, ".html")) {
        r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
        r.headers.emplace_back("X-Frame-Options", "DENY");
    }
    return r;
}

}  // namespace trawl::control
