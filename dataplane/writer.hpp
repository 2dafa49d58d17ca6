// A writer thread: drains its ring from every worker and appends each packet to the
// files of the sessions it owns (SessionSink). Writers are ordinary threads, registered
// with DPDK so their mbuf frees use a mempool cache; they sleep briefly when idle.
//
// Control talks to a writer through commands executed on the writer thread, so a
// session's files are only ever touched by one thread. Closing a session first drains
// what its rings held at that moment: control has already published a RuleSet without
// the session and waited for RCU, so every packet tagged for it is in those rings.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dataplane/capture_file.hpp"
#include "dataplane/clock.hpp"
#include "dataplane/counters.hpp"
#include "dataplane/session_sink.hpp"

struct rte_ring;
struct rte_mbuf;

namespace trawl::dataplane {

struct alignas(64) WriterCounters {
    Counter dequeued;           // mbufs taken from rings
    Counter records;            // records appended (one per session a packet went to)
    Counter unowned;            // tagged for a slot this writer does not hold (a bug if > 0)
    Counter busy_ns;
    WriteStats writes;
};

class Writer {
public:
    Writer(unsigned id, std::vector<rte_ring*> rings, unsigned burst_size,
           unsigned idle_sleep_us, TscClock clock);
    ~Writer();

    void start();
    // After the workers have stopped: drain every ring, stop every session with
    // `reason`, and end the thread.
    void drain_and_stop(StopReason reason);

    // Control-side commands; each runs on the writer thread and returns when done.
    void open(unsigned slot, std::shared_ptr<SessionSink> sink);
    void close(unsigned slot, StopReason reason);

    const WriterCounters& counters() const { return counters_; }
    // Handed to the sessions this writer owns: only this writer's thread updates it.
    WriteStats* write_stats() { return &counters_.writes; }
    unsigned id() const { return id_; }

private:
    void run();
    void execute(std::function<void()> command);
    void run_commands();
    unsigned drain(bool to_empty, uint64_t now_ns);
    void handle(rte_mbuf* m, uint64_t now_ns);  // writes one packet; the caller frees it
    void handle_burst(void* const* objs, unsigned n, uint64_t now_ns);

    unsigned id_;
    std::vector<rte_ring*> rings_;
    unsigned burst_size_;
    unsigned idle_sleep_us_;
    TscClock clock_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    StopReason stop_reason_ = StopReason::ServiceStopped;

    std::shared_ptr<SessionSink> slots_[kMaxSlots];
    uint64_t open_mask_ = 0;
    std::unique_ptr<uint8_t[]> linear_;  // for chains longer than the span array

    std::mutex command_mutex_;
    std::condition_variable command_done_;
    std::deque<std::function<void()>> commands_;
    std::atomic<bool> has_commands_{false};
    uint64_t commands_started_ = 0, commands_finished_ = 0;

    WriterCounters counters_;
};

}  // namespace trawl::dataplane
