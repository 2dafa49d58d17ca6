// One capture session as its writer thread sees it: snap length, limits that are never
// overshot, rotation, the ring buffer of files, and the stop reasons of DESIGN §2.4.
//
// Owned and called by exactly one writer thread. Control reads counters (atomics) and
// a status snapshot (mutex, updated per flush, never per packet) and receives events.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dataplane/capture_file.hpp"

namespace trawl::dataplane {

// Largest captured length written; also the header snaplen for "whole packet".
inline constexpr uint32_t kMaxCapturedLength = 262144;

enum class StopReason : uint8_t {
    None,
    ManuallyStopped,
    TimeExceeded,
    TotalBytesExceeded,
    PacketLimitExceeded,
    ServiceStopped,
    Error,  // LocalFileFailed: the session is in state Error
};

struct SinkSpec {
    std::string session;
    std::string directory;  // exists; files go directly into it
    FileFormat format = FileFormat::Pcap;
    uint32_t snap_length = 0;  // 0: whole packet (up to kMaxCapturedLength)
    std::vector<std::string> interface_names;
    uint64_t max_packets = 0;      // 0: no limit
    uint64_t max_bytes = 0;        // sum of captured lengths; 0: no limit
    uint64_t file_size_limit = 0;  // 0: one file
    uint64_t file_count = 0;       // 0: keep every file
    uint64_t deadline_ns = 0;      // wall clock; 0: no time limit
    uint64_t first_file_index = 1;
    // Totals carried over from an earlier run of the same session (restart).
    uint64_t packets_before = 0;
    uint64_t bytes_before = 0;
    // Complete files of earlier runs, oldest first: the ring buffer counts them.
    std::vector<std::string> existing_files;
    size_t buffer_bytes = 1u << 20;
    WriteStats* write_stats = nullptr;  // the owning writer's, may be null
    uint64_t flush_interval_ns = 250'000'000;
};

struct SinkEvent {
    enum class Kind : uint8_t { FileClosed, FileDeleted, Stopped };
    Kind kind;
    FileInfo file;            // FileClosed: the published file; FileDeleted: its name
    StopReason reason = StopReason::None;  // Stopped
    std::string message;      // Stopped with Error: what failed
};

struct SinkStatus {
    FileInfo current_file;  // committed view of the open file (complete == false)
    bool has_current_file = false;
};

class SessionSink {
public:
    // Opens the first file. Throws std::system_error if it cannot be created.
    explicit SessionSink(SinkSpec spec);
    ~SessionSink();

    // Writes one packet; `now_ns` is the writer's wall clock for the burst. The spans
    // hold the bytes actually present (a defective driver may deliver fewer than
    // `original_length`): the captured length never exceeds them. Cheap when the
    // session has stopped (the packet is counted as discarded).
    void write(uint64_t now_ns, uint64_t timestamp_ns, uint32_t original_length,
               uint32_t interface_index, const ByteSpan* spans, size_t span_count);
    // Time limit and periodic flush; called by the writer at least every millisecond.
    void tick(uint64_t now_ns);
    void stop(StopReason reason);

    bool running() const { return reason_ == StopReason::None; }
    StopReason stop_reason() const { return reason_; }
    const std::string& error_message() const { return error_message_; }

    // Control side.
    uint64_t packets() const { return packets_.load(std::memory_order_relaxed); }
    uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
    uint64_t write_error_drops() const { return write_error_drops_.load(std::memory_order_relaxed); }
    // Packets that arrived after the session stopped (in flight while it was removed
    // from the classifier): not lost to the session, but counted, never silent.
    uint64_t discarded_after_stop() const { return discarded_.load(std::memory_order_relaxed); }
    SinkStatus status() const;
    std::vector<SinkEvent> take_events();

private:
    bool open_next_file();
    bool flush_current();
    void publish_current();
    void enforce_file_count();
    void fail(const std::string& message);
    void update_status();

    SinkSpec spec_;
    FileLayout layout_;
    uint32_t snap_;
    std::unique_ptr<CaptureFile> current_;
    uint64_t next_index_;
    std::deque<std::string> complete_files_;  // oldest first, for the ring buffer
    StopReason reason_ = StopReason::None;
    std::string error_message_;
    uint64_t last_flush_ns_ = 0;
    // Written packets not yet flushed: lost (and moved to writeError) if the flush fails.
    uint64_t pending_packets_ = 0;
    uint64_t pending_bytes_ = 0;

    std::atomic<uint64_t> packets_{0};
    std::atomic<uint64_t> bytes_{0};
    std::atomic<uint64_t> write_error_drops_{0};
    std::atomic<uint64_t> discarded_{0};

    mutable std::mutex mutex_;  // guards status_ and events_
    SinkStatus status_;
    std::vector<SinkEvent> events_;
};

}  // namespace trawl::dataplane
