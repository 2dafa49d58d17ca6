// trawld: the capture daemon. Reads the config, brings up the dataplane, recovers and
// starts sessions (before the ports start, so a finite replay is captured from its
// first packet), serves the API, and on SIGTERM/SIGINT drains, flushes, marks running
// sessions ServiceStopped and exits 0.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "control/config.hpp"
#include "control/console_assets.hpp"
#include "control/http_server.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/rest_api.hpp"
#include "control/session_manager.hpp"
#include "dataplane/engine.hpp"

using namespace trawl;
using namespace trawl::control;

namespace {

void usage() {
    std::fprintf(stderr,
                 "usage: trawld --config FILE [--check-config]\n"
                 "       trawld --version\n");
}

std::string read_token(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw FieldError("api.token_file", "cannot read " + path + ": " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string token = ss.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
        token.pop_back();
    if (token.empty()) throw FieldError("api.token_file", path + " is empty");
    if (token.find_first_of(" \t\r\n") != std::string::npos)
        throw FieldError("api.token_file", path + " must hold one token on one line");
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077))
        log_warning("api.token_file " + path + " is readable by group or others; chmod 600 it");
    return token;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path;
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--config" || a == "-c") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            config_path = a.substr(9);
        } else if (a == "--check-config") {
            check_only = true;
        } else if (a == "--version") {
            std::printf("trawld %s\n", TRAWL_VERSION);
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if (config_path.empty()) {
        usage();
        return 2;
    }

    // Block the stop signals before any thread exists (EAL, writers and API threads
    // inherit the mask); the main thread waits for them with sigtimedwait.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    Config config;
    std::string token;
    try {
        config = load_config(config_path);
        if (!config.api.token_file.empty()) token = read_token(config.api.token_file);
        if (!config.api.ui_dir.empty() && !ConsoleAssets(config.api.ui_dir).available())
            throw FieldError("api.ui_dir", config.api.ui_dir + " holds no index.html (build it with scripts/install-ui.sh)");
    } catch (const FieldError& e) {
        std::fprintf(stderr, "trawld: config %s: %s\n", config_path.c_str(), e.what());
        return 2;
    }
    if (check_only) {
        std::printf("trawld: %s is valid (%zu ports, %u workers, %u writers, %zu sessions)\n",
                    config_path.c_str(), config.engine.ports.size(), config.engine.workers,
                    config.engine.writers, config.sessions.size());
        return 0;
    }
    set_log_level(config.log_level);

    std::unique_ptr<dataplane::Engine> engine;
    try {
        engine = dataplane::Engine::create(config.engine);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "trawld: config %s: %s\n", config_path.c_str(), e.what());
        return 1;
    }

    SessionManager sessions(config, *engine);
    Metrics metrics(*engine, sessions);
    RestApi api(sessions, metrics);
    const ConsoleAssets console(ConsoleAssets::locate(config.api.ui_dir));
    if (!console.available())
        log_warning("web console not built (no " + console.dir() + "/index.html): /ui answers 404; run scripts/install-ui.sh");
    HttpServer server(config.api, token, [&api, &console](const HttpRequest& r) {
        return ConsoleAssets::is_console_path(r) ? console.serve(r) : api.handle(r);
    });
    try {
        sessions.recover();
        sessions.start_config_sessions();
        engine->start();
        server.start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "trawld: %s\n", e.what());
        sessions.shutdown();
        return 1;
    }
    std::string port_list;
    for (const auto& n : engine->port_names()) port_list += (port_list.empty() ? "" : ", ") + n;
    for (const auto& note : engine->port_notes()) log_info("port " + note);
    log_info("trawld " + std::string(TRAWL_VERSION) + " capturing on " + port_list + " with " +
             std::to_string(config.engine.workers) + " workers and " + std::to_string(config.engine.writers) +
             " writers; API on http://" + config.api.listen + (token.empty() ? " (no token: loopback only)" : "") +
             (console.available() ? "; web console on http://" + config.api.listen + "/ui" : ""));

    timespec tick{0, 50'000'000};
    for (;;) {
        const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                     ": draining and closing files");
            break;
        }
        sessions.tick();
    }
    // civetweb's mg_stop waits up to its poll quantum (seconds); the dataplane drains
    // meanwhile. Requests that arrive during shutdown get 503.
    std::thread api_stopper([&server] { server.stop(); });
    sessions.shutdown();
    api_stopper.join();
    log_info("stopped");
    return 0;
}
