#include "control/session_manager.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "control/log.hpp"
#include "control/wall_clock.hpp"
#include "control/storage/sas_url.hpp"

namespace trawl::control {

using dataplane::StopReason;

namespace {

nlohmann::json time_or_null(uint64_t ns) {
    return ns ? nlohmann::json(format_time_ns(ns)) : nlohmann::json(nullptr);
}

nlohmann::json file_json(const dataplane::FileInfo& f) {
    return {{"name", f.name},
            {"bytes", f.bytes},
            {"packets", f.packets},
            {"firstTimestamp", f.packets ? time_or_null(f.first_timestamp_ns) : nlohmann::json(nullptr)},
            {"lastTimestamp", f.packets ? time_or_null(f.last_timestamp_ns) : nlohmann::json(nullptr)},
            {"complete", f.complete}};
}

// Failures of one session's uploads kept in its errors[]: a wrong signature fails
// every file, and a long ring-buffer session must not grow session.json without bound.
constexpr size_t kMaxStorageErrors = 100;
// Files that exist only in storage (uploaded, then deleted locally), listed per session.
constexpr size_t kMaxRemoteFiles = 10000;

uint64_t file_order(const std::string& session, const std::string& file) {
    return dataplane::capture_file_index(session, file).value_or(0);
}

bool make_directory(const std::string& path, std::string& error) {
    if (::mkdir(path.c_str(), 0750) == 0 || errno == EEXIST) return true;
    error = path + ": " + std::strerror(errno);
    return false;
}

// mkdir -p for the capture root.
bool make_directories(const std::string& path, std::string& error) {
    for (size_t pos = 1; pos <= path.size(); ++pos) {
        if (pos != path.size() && path[pos] != '/') continue;
        if (!make_directory(path.substr(0, pos), error)) return false;
    }
    return true;
}

std::vector<std::string> list_directory(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d)) {
            const std::string n = e->d_name;
            if (n != "." && n != "..") out.push_back(n);
        }
        ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Highest capture-file index present in a directory (files of an earlier session of
// the same name, kept by a delete without purge).
uint64_t highest_index(const std::string& dir, const std::string& session) {
    uint64_t highest = 0;
    for (const auto& n : list_directory(dir)) {
        std::string name = n;
        if (name.size() > 9 && name[0] == '.' && name.compare(name.size() - 8, 8, ".partial") == 0)
            name = name.substr(1, name.size() - 9);
        if (auto idx = dataplane::capture_file_index(session, name)) highest = std::max(highest, *idx);
    }
    return highest;
}

}  // namespace

ApiResult api_error(int status, const std::string& code, const std::string& message,
                    const std::string& target) {
    return {status, {{"error", {{"code", code}, {"message", message}, {"target", target}}}}};
}

SessionManager::SessionManager(const Config& config, dataplane::Engine& engine)
    : config_(config),
      engine_(engine),
      port_names_(engine.port_names()),
      uploads_(std::make_unique<storage::UploadQueue>(config.storage)) {}

void SessionManager::persist_locked(Session& s) {
    std::string error;
    if (!write_session_file(s.directory(config_.capture.root), s.to_persisted_json(), error, s.holds_secret()))
        log_error("session " + s.name + ": cannot save session.json: " + error);
}

void SessionManager::queue_upload_locked(Session& s, const std::string& file) {
    if (!s.upload_target || !uploads_) return;
    std::string error;
    const auto target = storage::parse_sas_url(s.upload_target->upload_url, error);
    if (!target) {  // validated when it arrived; a hand-edited session.json could get here
        log_error("session " + s.name + ": upload target: " + error);
        return;
    }
    FileUpload& u = s.uploads[file];
    u.state = UploadState::Pending;
    u.next_attempt_ns = 0;
    u.generation = ++upload_generation_;
    uploads_->submit({s.name, file, s.directory(config_.capture.root) + "/" + file, *target, s.name + "/" + file,
                      u.generation});
}

void SessionManager::queue_local_files_locked(Session& s, bool retry_failed) {
    for (const auto& f : s.files) {
        const auto it = s.uploads.find(f.name);
        if (it != s.uploads.end() && (it->second.state == UploadState::Uploaded ||
                                      (it->second.state == UploadState::Failed && !retry_failed)))
            continue;
        queue_upload_locked(s, f.name);
    }
}

void SessionManager::apply_upload_events_locked() {
    std::set<std::string> changed;
    for (auto& ev : uploads_->take_events()) {
        auto sit = sessions_.find(ev.session);
        if (sit == sessions_.end()) continue;  // deleted meanwhile
        Session& s = sit->second;
        auto uit = s.uploads.find(ev.file);
        if (uit == s.uploads.end() || uit->second.generation != ev.generation) continue;  // superseded
        FileUpload& u = uit->second;
        switch (ev.kind) {
        case storage::UploadEvent::Kind::Started:
            u.state = UploadState::Uploading;
            ++u.attempts;
            break;
        case storage::UploadEvent::Kind::Retrying:
            u.state = UploadState::Pending;
            u.last_error = ev.message;
            u.next_attempt_ns = ev.next_attempt_ns;
            log_warning("session " + s.name + ": upload of " + ev.file + " failed (attempt " +
                        std::to_string(ev.attempts) + "), retrying: " + ev.message);
            break;
        case storage::UploadEvent::Kind::Uploaded: {
            u.state = UploadState::Uploaded;
            u.uploaded_ns = ev.time_ns;
            u.next_attempt_ns = 0;
            u.last_error.clear();
            changed.insert(s.name);
            log_info("session " + s.name + ": uploaded " + ev.file + " (" + std::to_string(ev.bytes) + " bytes)");
            if (!s.upload_target || !s.upload_target->delete_local_after_upload) break;
            const std::string path = s.directory(config_.capture.root) + "/" + ev.file;
            if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
                log_warning("session " + s.name + ": cannot delete uploaded " + ev.file + ": " + std::strerror(errno));
                break;
            }
            const auto fit = std::find_if(s.files.begin(), s.files.end(), [&](const auto& f) { return f.name == ev.file; });
            if (fit != s.files.end()) {
                s.remote_files.push_back(*fit);
                s.files.erase(fit);
            }
            break;
        }
        case storage::UploadEvent::Kind::Failed:
        case storage::UploadEvent::Kind::Skipped: {
            u.state = UploadState::Failed;
            u.last_error = ev.message;
            u.next_attempt_ns = 0;
            changed.insert(s.name);
            if (ev.kind == storage::UploadEvent::Kind::Skipped) {
                log_warning("session " + s.name + ": " + ev.file + " not uploaded: " + ev.message);
                break;
            }
            // The session keeps capturing and keeps the local file; the error says why.
            size_t storage_errors = 0;
            for (const auto& e : s.errors) storage_errors += e.code == "StorageFailed" ? 1 : 0;
            if (storage_errors >= kMaxStorageErrors) {
                const auto oldest = std::find_if(s.errors.begin(), s.errors.end(),
                                                 [](const auto& e) { return e.code == "StorageFailed"; });
                s.errors.erase(oldest);
            }
            s.errors.push_back({"StorageFailed", ev.file + ": " + ev.message, ev.time_ns});
            log_error("session " + s.name + ": " + ev.file + ": " + ev.message);
            break;
        }
        }
    }
    for (const auto& name : changed) {
        Session& s = sessions_.at(name);
        if (s.remote_files.size() > kMaxRemoteFiles) {
            const size_t drop = s.remote_files.size() - kMaxRemoteFiles;
            for (size_t i = 0; i < drop; ++i) s.uploads.erase(s.remote_files[i].name);
            s.remote_files.erase(s.remote_files.begin(), s.remote_files.begin() + ptrdiff_t(drop));
        }
        persist_locked(s);
    }
}

nlohmann::json SessionManager::upload_json_locked(const Session& s, const std::string& file) const {
    const auto it = s.uploads.find(file);
    if (!s.upload_target && it == s.uploads.end()) return nullptr;
    FileUpload u;
    if (it != s.uploads.end()) u = it->second;
    std::string blob;
    if (s.upload_target) {
        std::string error;
        if (const auto target = storage::parse_sas_url(s.upload_target->upload_url, error))
            blob = target->blob_address(s.name + "/" + file);
    }
    return {{"state", upload_state_name(u.state)},
            {"attempts", u.attempts},
            {"blob", blob},
            {"lastError", u.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(u.last_error)},
            {"uploadedTime", time_or_null(u.uploaded_ns)},
            {"nextAttemptTime", time_or_null(u.next_attempt_ns)}};
}

unsigned SessionManager::running_locked() const {
    unsigned n = 0;
    for (const auto& [name, s] : sessions_) n += s.status == SessionStatus::Running ? 1 : 0;
    return n;
}

// Opens the session in the engine. On failure the session is left in Error (files) or
// an ApiResult is returned for errors the caller should see as a refusal.
std::optional<ApiResult> SessionManager::start_locked(Session& s, bool resume) {
    const auto& spec = s.spec;
    dataplane::EngineSession es;
    es.rules = spec.rules();
    auto& sink = es.sink;
    sink.session = s.name;
    sink.directory = s.directory(config_.capture.root);
    sink.format = spec.format;
    sink.snap_length = spec.bytes_to_capture_per_packet;
    sink.interface_names = port_names_;
    sink.max_packets = spec.max_packets;
    sink.max_bytes = spec.total_bytes_per_session;
    sink.file_size_limit = spec.file_size_bytes;
    sink.file_count = spec.file_count;
    sink.deadline_ns = spec.time_limit_seconds ? s.start_ns + spec.time_limit_seconds * 1000000000ull : 0;
    sink.first_file_index = s.next_file_index;
    sink.packets_before = s.closed_packets;
    sink.bytes_before = s.closed_bytes;
    for (const auto& f : s.files) sink.existing_files.push_back(f.name);
    sink.buffer_bytes = config_.capture.write_buffer_bytes;
    sink.flush_interval_ns = config_.capture.flush_interval_ms * 1000000ull;

    if (engine_.free_slots() == 0)
        return api_error(409, "TooManySessions",
                         "all " + std::to_string(dataplane::kMaxSlots) + " classifier slots are in use");
    std::string error;
    std::shared_ptr<dataplane::SessionSink> out;
    const int slot = engine_.open_session(std::move(es), out, error);
    if (slot < 0) {
        // Validation already bounded the rules; what is left is the disk or memory.
        s.status = SessionStatus::Error;
        s.stop_reason = StopReason::Error;
        s.stop_ns = wall_clock_ns();
        const bool file = error.find("capture file") != std::string::npos;
        s.errors.push_back({file ? "LocalFileFailed" : "InternalError", error, s.stop_ns});
        log_error("session " + s.name + (resume ? ": cannot resume: " : ": cannot start: ") + error);
        return std::nullopt;
    }
    s.slot = slot;
    s.sink = std::move(out);
    s.status = SessionStatus::Running;
    s.stop_reason = StopReason::None;
    s.stop_ns = 0;
    // The first file is open: numbering continues after it.
    s.next_file_index = std::max(s.next_file_index, sink.first_file_index + 1);
    return std::nullopt;
}

void SessionManager::apply_events_locked(Session& s) {
    if (!s.sink) return;
    for (auto& ev : s.sink->take_events()) {
        switch (ev.kind) {
        case dataplane::SinkEvent::Kind::FileClosed:
            if (auto idx = dataplane::capture_file_index(s.name, ev.file.name))
                s.next_file_index = std::max(s.next_file_index, *idx + 1);
            if (ev.file.complete) {
                s.files.push_back(ev.file);
                queue_upload_locked(s, ev.file.name);  // a closed file never changes again
            }
            break;
        case dataplane::SinkEvent::Kind::FileDeleted: {
            // The ring buffer removed the oldest file. Uploaded: it lives on in storage.
            // Not yet uploaded: it is lost to storage; say so.
            const auto fit = std::find_if(s.files.begin(), s.files.end(),
                                          [&](const auto& f) { return f.name == ev.file.name; });
            if (const auto up = s.uploads.find(ev.file.name); up != s.uploads.end()) {
                if (up->second.state == UploadState::Uploaded || up->second.state == UploadState::Uploading) {
                    // An attempt in flight holds the file open and finishes; either way the
                    // listing keeps the file, with "local": false and its upload state.
                    if (fit != s.files.end()) s.remote_files.push_back(*fit);
                } else if (up->second.state != UploadState::Uploading) {
                    uploads_->cancel(s.name, ev.file.name, true);
                    log_warning("session " + s.name + ": the ring buffer deleted " + ev.file.name +
                                " before it was uploaded (fileCount is too small for the upload rate)");
                    s.uploads.erase(up);
                }
            }
            if (fit != s.files.end()) s.files.erase(fit);
            break;
        }
        case dataplane::SinkEvent::Kind::Stopped:
            if (ev.reason == StopReason::Error)
                s.errors.push_back({"LocalFileFailed", ev.message, wall_clock_ns()});
            break;
        }
    }
}

// Unpublishes a running session and folds its live counters into the record.
void SessionManager::finish_locked(Session& s, StopReason reason) {
    if (s.status != SessionStatus::Running || !s.sink) return;
    s.ring_full += engine_.close_session(s.slot, reason);
    const auto t = engine_.last_change_timing();
    log(LogLevel::Debug, "session " + s.name + ": closed (rules " + std::to_string(t.build_us) + " us, publish " +
                             std::to_string(t.publish_us) + " us, writer " + std::to_string(t.writer_us) + " us)");
    apply_events_locked(s);
    const auto& sink = *s.sink;
    s.closed_packets = sink.packets();
    s.closed_bytes = sink.bytes();
    s.write_error += sink.write_error_drops();
    s.discarded_after_stop += sink.discarded_after_stop();
    const StopReason actual = sink.stop_reason() == StopReason::None ? reason : sink.stop_reason();
    s.stop_reason = actual;
    s.status = actual == StopReason::Error ? SessionStatus::Error : SessionStatus::Stopped;
    s.stop_ns = wall_clock_ns();
    s.slot = -1;
    s.sink.reset();
}

nlohmann::json SessionManager::status_json_locked(const Session& s) const {
    const bool running = s.status == SessionStatus::Running && s.sink;
    uint64_t packets = s.closed_packets, bytes = s.closed_bytes;
    uint64_t ring_full = s.ring_full, write_error = s.write_error, discarded = s.discarded_after_stop;
    uint64_t files = s.files.size();
    nlohmann::json current = nullptr;
    if (running) {
        packets = s.sink->packets();
        bytes = s.sink->bytes();
        ring_full += engine_.ring_full_drops(s.slot);
        write_error += s.sink->write_error_drops();
        discarded += s.sink->discarded_after_stop();
        const auto st = s.sink->status();
        if (st.has_current_file) {
            ++files;
            current = st.current_file.name;
        }
    }
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : s.errors)
        errors.push_back({{"code", e.code}, {"message", e.message}, {"time", time_or_null(e.time_ns)}});
    const char* reason = stop_reason_name(s.stop_reason);
    nlohmann::json upload_summary = nullptr;
    if (s.upload_target) {
        std::map<std::string, uint64_t> by_state{{"pending", 0}, {"uploading", 0}, {"uploaded", 0}, {"failed", 0}};
        for (const auto& [file, u] : s.uploads) ++by_state[upload_state_name(u.state)];
        upload_summary = {{"uploadUrl", storage::redact(s.upload_target->upload_url)},
                          {"deleteLocalAfterUpload", s.upload_target->delete_local_after_upload},
                          {"pendingFiles", by_state["pending"]},
                          {"uploadingFiles", by_state["uploading"]},
                          {"uploadedFiles", by_state["uploaded"]},
                          {"failedFiles", by_state["failed"]}};
    }
    return {{"name", s.name},
            {"spec", s.spec.canonical},
            {"status", status_name(s.status)},
            {"stopReason", reason ? nlohmann::json(reason) : nlohmann::json(nullptr)},
            {"captureStartTime", time_or_null(s.start_ns)},
            {"captureStopTime", time_or_null(s.stop_ns)},
            {"packets", packets},
            {"bytes", bytes},
            {"droppedPackets", {{"ringFull", ring_full}, {"writeError", write_error}}},
            {"files", files},
            {"errors", errors},
            {"discardedAfterStop", discarded},
            {"currentFile", current},
            {"dialect", s.dialect},
            {"upload", upload_summary}};
}

namespace {

// One trawld per capture root: a second one would "recover" the first one's open
// .partial files and resume its sessions into the same directories. The lock lives as
// long as the process (the descriptor is never closed), so kill -9 releases it too.
void lock_capture_root(const std::string& root) {
    const std::string path = root + "/.trawld.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("capture.root: cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = {};
        const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
        ::close(fd);
        throw std::runtime_error("capture.root: " + root + " is in use by another trawld" +
                                 (n > 0 ? " (pid " + std::string(pid, size_t(n)) + ")" : std::string()));
    }
    const std::string me = std::to_string(::getpid());
    if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, me.data(), me.size(), 0);
}

}  // namespace

void SessionManager::recover() {
    std::lock_guard lock(mutex_);
    std::string error;
    if (!make_directories(config_.capture.root, error))
        throw std::runtime_error("capture.root: " + error);
    lock_capture_root(config_.capture.root);
    const uint64_t now = wall_clock_ns();
    for (const auto& entry : list_directory(config_.capture.root)) {
        const std::string dir = config_.capture.root + "/" + entry;
        const std::string path = dir + "/session.json";
        std::ifstream in(path);
        if (!in) continue;
        Session s;
        try {
            nlohmann::json j = nlohmann::json::parse(in);
            s = session_from_persisted_json(j, config_.capture.defaults, config_.capture.limits);
            if (s.name != entry) throw std::runtime_error("name does not match its directory");
        } catch (const std::exception& e) {
            log_error("ignoring " + path + ": " + e.what());
            continue;
        }
        for (const auto& note : reconcile_session_directory(s, dir)) log_info("session " + s.name + ": " + note);
        const bool resume = s.status == SessionStatus::Running ||
                            (s.status == SessionStatus::Stopped && s.stop_reason == StopReason::ServiceStopped);
        if (resume) {
            const uint64_t deadline =
                s.spec.time_limit_seconds ? s.start_ns + s.spec.time_limit_seconds * 1000000000ull : 0;
            const bool limit_reached = (s.spec.max_packets && s.closed_packets >= s.spec.max_packets) ||
                                       (s.spec.total_bytes_per_session &&
                                        s.closed_bytes >= s.spec.total_bytes_per_session);
            if (deadline && now >= deadline) {
                s.status = SessionStatus::Stopped;
                s.stop_reason = StopReason::TimeExceeded;
                s.stop_ns = deadline;
            } else if (limit_reached) {
                s.status = SessionStatus::Stopped;
                s.stop_reason = s.spec.max_packets && s.closed_packets >= s.spec.max_packets
                                    ? StopReason::PacketLimitExceeded
                                    : StopReason::TotalBytesExceeded;
                s.stop_ns = now;
            } else if (running_locked() >= config_.capture.max_sessions) {
                s.status = SessionStatus::Stopped;
                s.stop_reason = StopReason::ServiceStopped;
                log_warning("session " + s.name + ": not resumed: capture.max_sessions reached");
            } else {
                start_locked(s, true);
                if (s.status == SessionStatus::Running) log_info("session " + s.name + ": resumed");
            }
        }
        auto [it, inserted] = sessions_.emplace(s.name, std::move(s));
        // Uploads that were pending (or cut short) when trawld stopped go on now; the
        // records of files that are gone are dropped with them.
        Session& stored = it->second;
        for (auto u = stored.uploads.begin(); u != stored.uploads.end();) {
            const auto listed = [&](const std::vector<dataplane::FileInfo>& list) {
                return std::any_of(list.begin(), list.end(), [&](const auto& f) { return f.name == u->first; });
            };
            u = listed(stored.files) || listed(stored.remote_files) ? std::next(u) : stored.uploads.erase(u);
        }
        queue_local_files_locked(stored, false);
        persist_locked(stored);
    }
}

void SessionManager::start_config_sessions() {
    for (const auto& item : config_.sessions) {
        {
            std::lock_guard lock(mutex_);
            if (sessions_.count(item.name)) {
                log_info("session " + item.name + " (" + item.key + ") already exists: kept as it is");
                continue;
            }
        }
        nlohmann::json body = item.body;
        body.erase("name");
        const ApiResult r = create(item.name, body);
        if (r.status >= 300)
            throw std::runtime_error(item.key + ": " + r.body["error"]["message"].get<std::string>());
    }
}

ApiResult SessionManager::create(const std::string& name, const nlohmann::json& body) {
    try {
        validate_session_name(name);
    } catch (const FieldError& e) {
        return api_error(400, "InvalidName", e.message(), "name");
    }
    ParsedSpec parsed;
    try {
        parsed = parse_session_body(body, config_.capture.defaults, config_.capture.limits);
    } catch (const FieldError& e) {
        return api_error(400, "InvalidArgument", e.message(), e.target());
    }
    std::lock_guard lock(mutex_);
    if (shutting_down_) return api_error(503, "ServiceUnavailable", "trawld is shutting down");
    if (sessions_.count(name)) return api_error(409, "AlreadyExists", "session '" + name + "' already exists", "name");
    if (running_locked() >= config_.capture.max_sessions)
        return api_error(409, "TooManySessions",
                         "capture.max_sessions (" + std::to_string(config_.capture.max_sessions) +
                             ") sessions are running; stop one first");
    if (sessions_.size() >= config_.capture.max_stored_sessions)
        return api_error(409, "TooManySessions",
                         "capture.max_stored_sessions (" + std::to_string(config_.capture.max_stored_sessions) +
                             ") sessions exist; delete one first");
    Session s;
    s.name = name;
    s.spec = std::move(parsed.spec);
    s.dialect = parsed.dialect;
    s.upload_target = s.spec.storage;
    const std::string dir = s.directory(config_.capture.root);
    std::string error;
    if (!make_directory(dir, error)) return api_error(500, "LocalFileFailed", error);
    s.first_file_index = highest_index(dir, name) + 1;
    s.next_file_index = s.first_file_index;
    s.start_ns = wall_clock_ns();
    if (auto refusal = start_locked(s, false)) return *refusal;
    const uint64_t started_ns = wall_clock_ns();
    auto [it, inserted] = sessions_.emplace(name, std::move(s));
    Session& stored = it->second;
    persist_locked(stored);
    const uint64_t persisted_ns = wall_clock_ns();
    log_info("session " + name + ": created (" + status_name(stored.status) + ")");
    const auto t = engine_.last_change_timing();
    log(LogLevel::Debug, "session " + name + ": started in " + std::to_string((started_ns - stored.start_ns) / 1000) +
                             " us (rules " + std::to_string(t.build_us) + ", writer " + std::to_string(t.writer_us) +
                             ", publish " + std::to_string(t.publish_us) + "), session.json " +
                             std::to_string((persisted_ns - started_ns) / 1000) + " us");
    ApiResult r{201, status_json_locked(stored)};
    r.body["ignoredFields"] = parsed.ignored_fields;
    return r;
}

ApiResult SessionManager::list() const {
    std::lock_guard lock(mutex_);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, s] : sessions_) out.push_back(status_json_locked(s));
    return {200, out};
}

ApiResult SessionManager::get(const std::string& name) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(name);
    if (it == sessions_.end()) return api_error(404, "NotFound", "no session '" + name + "'", "name");
    return {200, status_json_locked(it->second)};
}

ApiResult SessionManager::stop(const std::string& name, const std::optional<std::string>& sas_url) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(name);
    if (it == sessions_.end()) return api_error(404, "NotFound", "no session '" + name + "'", "name");
    Session& s = it->second;
    if (s.status == SessionStatus::Running) {
        finish_locked(s, StopReason::ManuallyStopped);
        persist_locked(s);
        log_info("session " + name + ": stopped (" + (stop_reason_name(s.stop_reason) ? stop_reason_name(s.stop_reason) : "Error") + ")");
    }
    if (sas_url) {
        // A new container: every local file goes there, including those already sent
        // to the old one. The same container: what is not there yet, failed files too,
        // so a stop with a corrected SAS retries what failed.
        if (!s.upload_target || s.upload_target->upload_url != *sas_url) {
            const bool delete_local = s.upload_target && s.upload_target->delete_local_after_upload;
            s.upload_target = StorageSpec{*sas_url, delete_local};
            for (const auto& f : s.files) s.uploads.erase(f.name);
        }
        queue_local_files_locked(s, true);
        persist_locked(s);
        log_info("session " + name + ": uploading its files to " + storage::redact(*sas_url));
    }
    return {200, status_json_locked(s)};
}

ApiResult SessionManager::remove(const std::string& name, bool purge) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(name);
    if (it == sessions_.end()) return api_error(404, "NotFound", "no session '" + name + "'", "name");
    Session& s = it->second;
    finish_locked(s, StopReason::ManuallyStopped);
    const std::string dir = s.directory(config_.capture.root);
    ::unlink((dir + "/session.json").c_str());
    uint64_t removed = 0;
    if (purge) {
        // Only what this session wrote: its capture files (and their partial forms),
        // session.json and its temporary. Files numbered below first_file_index belong
        // to an earlier session of the same name that was deleted without purge: the
        // operator kept them, so they stay. Anything else stays too, and so does the
        // directory then.
        for (const auto& entry : list_directory(dir)) {
            std::string name_only = entry;
            if (entry.size() > 9 && entry[0] == '.' && entry.compare(entry.size() - 8, 8, ".partial") == 0)
                name_only = entry.substr(1, entry.size() - 9);
            const auto idx = dataplane::capture_file_index(name, name_only);
            if ((idx && *idx >= s.first_file_index) || entry == "session.json.tmp")
                if (::unlink((dir + "/" + entry).c_str()) == 0) ++removed;
        }
        ::rmdir(dir.c_str());
    }
    uploads_->cancel(name);
    sessions_.erase(it);
    analysis_cache_.forget(name);
    log_info("session " + name + ": deleted" + (purge ? " with " + std::to_string(removed) + " files" : ""));
    return {200, {{"name", name}, {"deleted", true}, {"purged", purge}, {"filesRemoved", removed}}};
}

ApiResult SessionManager::files(const std::string& name) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(name);
    if (it == sessions_.end()) return api_error(404, "NotFound", "no session '" + name + "'", "name");
    const Session& s = it->second;
    // Files that live only in storage (uploaded, then deleted locally) are listed with
    // "local": false, in file order with the others.
    std::vector<std::pair<const dataplane::FileInfo*, bool>> listed;
    for (const auto& f : s.remote_files) listed.push_back({&f, false});
    for (const auto& f : s.files) listed.push_back({&f, true});
    std::stable_sort(listed.begin(), listed.end(), [&](const auto& a, const auto& b) {
        return file_order(s.name, a.first->name) < file_order(s.name, b.first->name);
    });
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [f, local] : listed) {
        nlohmann::json j = file_json(*f);
        j["local"] = local;
        j["upload"] = upload_json_locked(s, f->name);
        out.push_back(std::move(j));
    }
    if (s.status == SessionStatus::Running && s.sink) {
        const auto st = s.sink->status();
        if (st.has_current_file) {
            nlohmann::json j = file_json(st.current_file);
            j["local"] = true;
            j["upload"] = nullptr;  // never while it is being written
            out.push_back(std::move(j));
        }
    }
    return {200, out};
}

std::variant<DownloadTarget, ApiResult> SessionManager::download(const std::string& name,
                                                                 const std::string& file) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(name);
    if (it == sessions_.end()) return api_error(404, "NotFound", "no session '" + name + "'", "name");
    if (!dataplane::capture_file_index(name, file))
        return api_error(400, "InvalidName", "'" + file + "' is not a capture file name of session '" + name + "'",
                         "file");
    const Session& s = it->second;
    const std::string dir = s.directory(config_.capture.root);
    for (const auto& f : s.files) {
        if (f.name != file) continue;
        struct stat st {};
        if (::stat((dir + "/" + file).c_str(), &st) != 0)
            return api_error(404, "NotFound", "file '" + file + "' is gone from disk", "file");
        return DownloadTarget{dir + "/" + file, uint64_t(st.st_size), file};
    }
    if (s.status == SessionStatus::Running && s.sink) {
        const auto st = s.sink->status();
        if (st.has_current_file && st.current_file.name == file)
            return DownloadTarget{dir + "/" + dataplane::partial_file_name(file), st.current_file.bytes, file};
    }
    return api_error(404, "NotFound", "session '" + name + "' has no file '" + file + "'", "file");
}

ApiResult SessionManager::analysis(const std::string& name, const analysis::ReportOptions& report, bool wait) {
    std::vector<analysis::CaptureFileRef> files;
    nlohmann::json about;
    {
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(name);
        if (it == sessions_.end()) return api_error(404, "NotFound", "no session '" + name + "'", "name");
        const Session& s = it->second;
        const std::string dir = s.directory(config_.capture.root);
        for (const auto& f : s.files) files.push_back({dir + "/" + f.name, f.name});
        nlohmann::json excluded = nullptr;
        if (s.status == SessionStatus::Running && s.sink) {
            const auto st = s.sink->status();
            if (st.has_current_file) excluded = st.current_file.name;
        }
        about = {{"name", name}, {"status", status_name(s.status)}, {"fileBeingWritten", excluded}};
    }
    // The analysis reads files for seconds or minutes: never under the manager's lock.
    analysis::CacheReply r = analysis_cache_.get(name, files, report, wait);
    if (r.status == 200 || r.status == 202) r.body["session"] = about;
    return {r.status, std::move(r.body)};
}

ApiResult SessionManager::ports() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : engine_.port_stats())
        out.push_back({{"name", p.name},
                       {"rxPackets", p.rx_packets},
                       {"rxBytes", p.rx_bytes},
                       {"rxMissed", p.rx_missed},
                       {"rxNoMbuf", p.rx_no_mbuf},
                       {"rxErrors", p.rx_errors}});
    return {200, out};
}

void SessionManager::tick() {
    std::lock_guard lock(mutex_);
    if (shutting_down_) return;
    apply_upload_events_locked();
    engine_.resync_clock();
    for (auto& [name, s] : sessions_) {
        if (s.status != SessionStatus::Running || !s.sink) continue;
        const size_t files_before = s.files.size();
        const uint64_t next_before = s.next_file_index;
        const size_t errors_before = s.errors.size();
        apply_events_locked(s);
        if (!s.sink->running()) {
            // The writer stopped it: a limit, the time limit, or a file error.
            finish_locked(s, StopReason::ManuallyStopped);
            log_info("session " + name + ": stopped (" +
                     (stop_reason_name(s.stop_reason) ? stop_reason_name(s.stop_reason) : "Error") + ")");
            persist_locked(s);
        } else if (s.files.size() != files_before || s.next_file_index != next_before ||
                   s.errors.size() != errors_before) {
            persist_locked(s);
        }
    }
}

void SessionManager::shutdown() {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    // Workers stop, writers drain their rings and close every file as ServiceStopped.
    engine_.shutdown();
    log(LogLevel::Debug, "dataplane stopped; saving sessions");
    for (auto& [name, s] : sessions_) {
        if (s.status != SessionStatus::Running || !s.sink) continue;
        finish_locked(s, StopReason::ServiceStopped);
        persist_locked(s);
    }
    // Uploads in flight are abandoned (a SIGTERM must not wait for a slow service);
    // their files stay "pending" in session.json and go up after the next start.
    uploads_->stop();
    apply_upload_events_locked();
    for (auto& [name, s] : sessions_)
        if (s.upload_target) persist_locked(s);
}

std::vector<SessionMetrics> SessionManager::metrics() const {
    std::lock_guard lock(mutex_);
    std::vector<SessionMetrics> out;
    for (const auto& [name, s] : sessions_) {
        const nlohmann::json j = status_json_locked(s);
        SessionMetrics m;
        m.name = name;
        m.status = s.status;
        m.packets = j["packets"];
        m.bytes = j["bytes"];
        m.ring_full = j["droppedPackets"]["ringFull"];
        m.write_error = j["droppedPackets"]["writeError"];
        m.discarded = j["discardedAfterStop"];
        m.files = j["files"];
        out.push_back(m);
    }
    return out;
}

}  // namespace trawl::control
