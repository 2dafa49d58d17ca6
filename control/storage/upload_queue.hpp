// The upload engine: closed capture files waiting to go to object storage, and the
// threads that send them (DESIGN §2.1 `storage`, docs/storage.md).
//
// Why its own threads: an upload can take minutes and a dead service can take the
// whole retry deadline; neither may touch a writer thread (which must never block) or
// the control thread (which ticks every 50 ms). Threads run at a lower CPU priority
// (nice +10), so on a machine where writers share cores with them, writers win.
//
// Ownership: SessionManager decides what to upload (a file closed, a restart with
// uploads pending, a stop with a sasUrl) and keeps each file's upload state in
// session.json; this queue only runs attempts and reports what happened as events,
// which SessionManager::tick drains under its own lock. The queue never calls back into
// the manager, so the two locks are never held together.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/storage/azure_blob.hpp"
#include "control/storage/upload_config.hpp"

namespace trawl::control::storage {

// Backoff before attempt `failures + 1`, without jitter: initial × 2^(failures − 1),
// capped at max_ms (failures ≥ 1).
uint64_t backoff_delay_ms(unsigned failures, uint64_t initial_ms, uint64_t max_ms);
// The delay actually waited: uniform in [delay/2, delay] for `unit` in [0, 1).
uint64_t jittered_delay_ms(uint64_t delay_ms, double unit);

struct UploadJob {
    std::string session;
    std::string file;        // capture file name
    std::string path;        // local path
    SasUrl target;           // container
    std::string blob;        // "<session>/<file>"
    uint64_t generation = 0; // the manager's submission number; events carry it back
};

struct UploadEvent {
    enum class Kind : uint8_t {
        Started,   // an attempt began
        Retrying,  // an attempt failed; another follows after a delay
        Uploaded,  // the blob is complete
        Failed,    // given up (permanent error, or the retry deadline passed)
        Skipped,   // the local file was gone before it could be sent (ring buffer, operator)
    };
    Kind kind;
    std::string session;
    std::string file;
    uint64_t generation = 0;
    unsigned attempts = 0;     // attempts made so far (this process)
    uint64_t bytes = 0;        // Uploaded: the blob's size
    uint64_t time_ns = 0;      // wall clock of the event
    uint64_t next_attempt_ns = 0;  // Retrying
    std::string message;       // Retrying/Failed/Skipped: the reason, redacted
};

struct UploadStats {
    uint64_t uploaded_bytes = 0;   // accepted by the service (blocks count as they land)
    uint64_t uploaded_files = 0;
    uint64_t failed_files = 0;     // given up
    uint64_t skipped_files = 0;
    uint64_t retries = 0;          // attempts after a failed one
    uint64_t attempts = 0;
    uint64_t queued = 0;           // waiting (for a thread or for a retry delay)
    uint64_t in_flight = 0;        // being sent
    double busy_seconds = 0;       // time threads spent in attempts
};

class UploadQueue {
public:
    explicit UploadQueue(UploadConfig config);
    ~UploadQueue();
    UploadQueue(const UploadQueue&) = delete;
    UploadQueue& operator=(const UploadQueue&) = delete;

    // Threads are started on the first submit.
    void submit(UploadJob job);
    // Forgets waiting jobs of a session (one file, or all when `file` is empty). An
    // attempt in flight finishes; its events still arrive and can be ignored.
    // `skipped`: the file was deleted locally (ring buffer) and is counted as skipped.
    void cancel(const std::string& session, const std::string& file = {}, bool skipped = false);
    // Aborts attempts in flight and joins the threads. Waiting jobs are dropped: their
    // state in session.json is still "pending", and the next start submits them again.
    void stop();

    std::vector<UploadEvent> take_events();
    UploadStats stats() const;
    const UploadConfig& config() const { return config_; }

private:
    struct Entry {
        UploadJob job;
        uint64_t not_before_ns = 0;    // monotonic
        uint64_t first_attempt_ns = 0; // monotonic; 0 until the first attempt
        unsigned attempts = 0;
        UploadProgress progress;
    };
    void run(unsigned index);
    void attempt(BlobClient& client, Entry& e);
    void emit(UploadEvent ev);

    UploadConfig config_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Entry> waiting_;
    std::vector<UploadEvent> events_;
    std::vector<std::thread> threads_;
    bool started_ = false;
    bool stopping_ = false;
    std::atomic<bool> cancel_{false};

    std::atomic<uint64_t> uploaded_bytes_{0}, uploaded_files_{0}, failed_files_{0}, skipped_files_{0},
        retries_{0}, attempts_{0}, in_flight_{0}, busy_ns_{0};
};

}  // namespace trawl::control::storage
