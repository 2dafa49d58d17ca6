// A capture session as control keeps it: spec, state machine, counters carried across
// restarts, the list of its files, and its session.json (replaced atomically).
//
// State machine (DESIGN §2.4):  NotStarted → Running → Stopped | Error
// A session stopped with ServiceStopped, or found Running after a crash, resumes on the
// next start into a new file and keeps its original start time for the time limit.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/session_spec.hpp"
#include "dataplane/capture_file.hpp"
#include "dataplane/session_sink.hpp"

namespace trawl::control {

enum class SessionStatus { NotStarted, Running, Stopped, Error };

const char* status_name(SessionStatus s);
const char* stop_reason_name(dataplane::StopReason r);  // nullptr for None/Error
std::optional<SessionStatus> parse_status(const std::string& s);
std::optional<dataplane::StopReason> parse_stop_reason(const std::string& s);

// RFC 3339 with nanoseconds: "2026-11-22T07:00:00.000000000Z".
std::string format_time_ns(uint64_t ns);
std::optional<uint64_t> parse_time_ns(const std::string& s);

// Upload of one closed file to the session's storage (docs/storage.md).
enum class UploadState { Pending, Uploading, Uploaded, Failed };
const char* upload_state_name(UploadState s);  // "pending", "uploading", "uploaded", "failed"

struct FileUpload {
    UploadState state = UploadState::Pending;
    unsigned attempts = 0;     // over every run of trawld
    std::string last_error;    // redacted
    uint64_t uploaded_ns = 0;
    // Runtime only.
    uint64_t next_attempt_ns = 0;  // while waiting to retry
    uint64_t generation = 0;       // matches upload-queue events to the latest submission
};

struct SessionErrorEntry {
    std::string code;  // LocalFileFailed, StorageFailed, InternalError
    std::string message;
    uint64_t time_ns = 0;
};

struct Session {
    std::string name;
    SessionSpec spec;
    std::string dialect = "canonical";
    SessionStatus status = SessionStatus::NotStarted;
    dataplane::StopReason stop_reason = dataplane::StopReason::None;
    uint64_t start_ns = 0;
    uint64_t stop_ns = 0;
    // Totals of every file published so far (including ring-buffer files since deleted):
    // the starting point of the counters when the session (re)starts.
    uint64_t closed_packets = 0;
    uint64_t closed_bytes = 0;  // captured bytes
    // Drops and discards of earlier runs; live ones come from the engine and the sink.
    uint64_t ring_full = 0;
    uint64_t write_error = 0;
    uint64_t discarded_after_stop = 0;
    std::vector<SessionErrorEntry> errors;
    std::vector<dataplane::FileInfo> files;  // complete files, oldest first
    uint64_t next_file_index = 1;
    // Files numbered below this belong to an earlier session of the same name that was
    // deleted without purge: never adopted by this one.
    uint64_t first_file_index = 1;

    // Where closed files go: spec.storage, or the sasUrl of a stop (VPN-gateway style),
    // which replaces it. Holds the SAS signature.
    std::optional<StorageSpec> upload_target;
    std::map<std::string, FileUpload> uploads;      // by file name
    std::vector<dataplane::FileInfo> remote_files;  // uploaded, then deleted locally

    // Runtime, while Running: the engine slot and the writer-side sink.
    int slot = -1;
    std::shared_ptr<dataplane::SessionSink> sink;

    std::string directory(const std::string& root) const { return root + "/" + name; }
    // session.json then carries a SAS signature and is written 0600.
    bool holds_secret() const { return upload_target.has_value() || spec.storage.has_value(); }
    nlohmann::json to_persisted_json() const;
};

// Reads session.json; throws std::runtime_error with a reason.
Session session_from_persisted_json(const nlohmann::json& j, const SpecDefaults& defaults,
                                    const SpecLimits& limits);

// Writes <dir>/session.json via a temporary file, fsync and rename. False on error.
// Mode 0640, or 0600 when `secret` (the record holds a SAS signature).
bool write_session_file(const std::string& directory, const nlohmann::json& j, std::string& error,
                        bool secret = false);

// Reconciles a session directory after a restart: recovers hidden partial files left
// by a crash (truncating a torn last record), publishes them, adds files that exist on
// disk but are missing from the record, and drops records of files that are gone.
// Returns human-readable notes of what it did.
std::vector<std::string> reconcile_session_directory(Session& s, const std::string& directory);

}  // namespace trawl::control
