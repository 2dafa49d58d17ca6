// trawld's configuration: YAML (yaml-cpp) → Config, validated as a whole before any
// port is touched. Every error names its key ("ports[1].rx_queues: ..."), unknown keys
// included, so a typo never silently falls back to a default.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "control/session_spec.hpp"
#include "control/storage/upload_config.hpp"
#include "dataplane/engine.hpp"

namespace trawl::control {

struct ApiConfig {
    std::string listen = "127.0.0.1:9077";
    std::string host = "127.0.0.1";  // parsed from listen
    uint16_t port = 9077;
    bool loopback = true;
    std::string token_file;     // empty: no auth, and then loopback only
    uint64_t max_body_bytes = 1 << 20;
    unsigned threads = 8;
    std::string ui_dir;  // the web console's built files; empty: found as console_assets.hpp says
};

struct CaptureConfig {
    std::string root = "/var/lib/trawl/captures";
    unsigned max_sessions = 64;          // running at once; at most dataplane::kMaxSlots
    unsigned max_stored_sessions = 4096;  // listed (running or stopped) at once
    uint64_t write_buffer_bytes = 1 << 20;
    uint64_t flush_interval_ms = 250;
    SpecDefaults defaults;
    SpecLimits limits;
};

struct ConfigSession {
    std::string name;
    nlohmann::json body;  // the item as JSON, "name" included
    std::string key;      // "sessions[2]" for messages
};

struct Config {
    std::string path;  // where it was read from
    dataplane::EngineConfig engine;
    CaptureConfig capture;
    ApiConfig api;
    std::vector<ConfigSession> sessions;
    storage::UploadConfig storage;  // `storage:` — the upload engine (docs/storage.md)
    std::string log_level = "info";
};

// Reads and validates a config file. Throws FieldError naming the key.
Config load_config(const std::string& path);
// The same from YAML text (tests, `trawld --check-config`).
Config parse_config(const std::string& yaml_text, const std::string& origin = "<string>");

// A YAML document as JSON (quoted scalars stay strings; plain ones become numbers,
// booleans or null when they look like one). Session items and trawlctl spec files
// go through it, so YAML and JSON specs meet the same parser.
nlohmann::json yaml_to_json(const std::string& yaml_text, const std::string& origin);

// "127.0.0.1:9077", "[::1]:9077", "localhost:80" → host, port; loopback detection.
void parse_listen(const std::string& listen, ApiConfig& api, const std::string& key);

}  // namespace trawl::control
