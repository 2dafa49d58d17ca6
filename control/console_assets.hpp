// The web console's files under /ui: a single page (ui/, built into ui/dist by
// scripts/install-ui.sh) that talks to the public REST API only. trawld serves the built
// files as they are; the page holds no data, so they need no token (http_server.cpp).
//
// Where the files are, first match wins:
//   1. api.ui_dir from the config (trawld refuses to start if it holds no index.html);
//   2. a trawld run from its meson build tree: <source root>/ui/dist;
//   3. an installed trawld: <prefix>/<datadir>/trawl/ui.
// With no built console every /ui request answers 404 with a message saying how to
// build it; the API is unaffected.
#pragma once

#include <string>

#include "control/http_server.hpp"

namespace trawl::control {

class ConsoleAssets {
public:
    explicit ConsoleAssets(std::string dir) : dir_(std::move(dir)) {}

    // The directory to serve: `configured` (api.ui_dir) if set, else the built-in
    // choice above.
    static std::string locate(const std::string& configured);

    // True when the request belongs to the console (/ui or /ui/...).
    static bool is_console_path(const HttpRequest& request);

    bool available() const;  // the directory holds index.html
    const std::string& dir() const { return dir_; }

    // GET or HEAD of /ui, /ui/ (index.html) or /ui/<file>. Unknown files and refused
    // paths answer in the API's JSON error shape.
    HttpResponse serve(const HttpRequest& request) const;

private:
    std::string dir_;
};

}  // namespace trawl::control
