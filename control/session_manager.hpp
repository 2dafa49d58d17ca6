// The action functions: one per operation, called alike by REST, by the config loader
// and at start-up recovery (STYLE §7). Everything here runs on control threads under one
// mutex; the dataplane is reached only through dataplane::Engine.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "control/analysis/analysis_cache.hpp"
#include "control/config.hpp"
#include "control/session.hpp"
#include "control/storage/upload_queue.hpp"
#include "dataplane/engine.hpp"

namespace trawl::control {

// An HTTP-shaped answer: status code and JSON body. Errors carry
// {"error":{"code","message","target"}} (DESIGN §3).
struct ApiResult {
    int status = 200;
    nlohmann::json body;
};

ApiResult api_error(int status, const std::string& code, const std::string& message,
                    const std::string& target = "");

struct DownloadTarget {
    std::string path;     // file to stream
    uint64_t length = 0;  // bytes to send: a file still being written is cut at its
                          // last flushed whole record
    std::string file_name;
};

struct SessionMetrics {
    std::string name;
    SessionStatus status;
    uint64_t packets = 0, bytes = 0, ring_full = 0, write_error = 0, discarded = 0, files = 0;
};

class SessionManager {
public:
    SessionManager(const Config& config, dataplane::Engine& engine);

    // Start-up, before the ports start: reload every session from the capture root,
    // recover crash leftovers, resume sessions that were running.
    void recover();
    // Config `sessions:` not already known from the capture root.
    void start_config_sessions();

    ApiResult create(const std::string& name, const nlohmann::json& body);
    ApiResult list() const;
    ApiResult get(const std::string& name) const;
    // With `sas_url` (VPN-gateway style) the session's files are uploaded there once it
    // has stopped; also on a session already stopped, which is how a failed upload is
    // retried. The URL was validated by the caller.
    ApiResult stop(const std::string& name, const std::optional<std::string>& sas_url = std::nullopt);
    ApiResult remove(const std::string& name, bool purge);
    ApiResult files(const std::string& name) const;
    std::variant<DownloadTarget, ApiResult> download(const std::string& name,
                                                     const std::string& file) const;
    ApiResult ports() const;
    // Flows, protocols, talkers and timeline of the session's complete files (the file
    // being written is left out until it is closed): 200 with the report, or 202 while a
    // large analysis runs in the background. Cached until the files change.
    ApiResult analysis(const std::string& name, const analysis::ReportOptions& report, bool wait);

    // Every ~50 ms: apply writer events (files closed/deleted, sessions the writer
    // stopped at a limit or on an error), unpublish stopped sessions, persist.
    void tick();
    // SIGTERM: engine drains and closes files; running sessions become Stopped with
    // ServiceStopped (they resume on the next start).
    void shutdown();

    std::vector<SessionMetrics> metrics() const;
    storage::UploadStats upload_stats() const { return uploads_->stats(); }

private:
    std::optional<ApiResult> start_locked(Session& s, bool resume);
    void finish_locked(Session& s, dataplane::StopReason reason);
    void apply_events_locked(Session& s);
    void persist_locked(Session& s);
    nlohmann::json status_json_locked(const Session& s) const;
    // Uploads (docs/storage.md): submit one closed file, or every local file not yet
    // uploaded (`retry_failed`: failed ones too); apply what the upload threads reported.
    void queue_upload_locked(Session& s, const std::string& file);
    void queue_local_files_locked(Session& s, bool retry_failed);
    void apply_upload_events_locked();
    nlohmann::json upload_json_locked(const Session& s, const std::string& file) const;
    unsigned running_locked() const;

    Config config_;
    dataplane::Engine& engine_;
    std::vector<std::string> port_names_;
    mutable std::mutex mutex_;
    std::map<std::string, Session> sessions_;
    bool shutting_down_ = false;
    std::unique_ptr<storage::UploadQueue> uploads_;
    uint64_t upload_generation_ = 0;
    // Its own lock; only remove() calls it (forget) under mutex_, and it never calls back.
    analysis::AnalysisCache analysis_cache_;
};

}  // namespace trawl::control
