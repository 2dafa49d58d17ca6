// The facade control talks to. It owns the EAL, the ports, the workers and writers and
// the published RuleSet, and offers one action per session operation. Control never
// sees a DPDK type: this header includes no rte_*.h.
//
// Life of the engine: create() (EAL, ports configured, writers running, workers not yet)
// → sessions opened from config → start() (ports and workers) → ... → shutdown().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dataplane/counters.hpp"
#include "dataplane/filter.hpp"
#include "dataplane/port.hpp"
#include "dataplane/ruleset.hpp"
#include "dataplane/session_sink.hpp"

struct rte_rcu_qsbr;
struct rte_ring;

namespace trawl::dataplane {

class Worker;
class Writer;

struct EngineConfig {
    std::vector<std::string> eal_args;
    std::string hugepages = "auto";  // auto | yes | no
    unsigned memory_mb = 1024;       // -m when running without hugepages
    std::vector<PortConfig> ports;
    unsigned workers = 1;
    unsigned writers = 1;
    unsigned ring_size = 4096;
    unsigned burst_size = 32;
    unsigned writer_burst_size = 64;
    unsigned mbufs_per_port = 65535;
    unsigned mbuf_cache = 256;
    unsigned worker_idle_sleep_us = 0;
    unsigned writer_idle_sleep_us = 20;
    RuleSetOptions classifier;
};

struct WorkerStats {
    unsigned id = 0;
    unsigned lcore = 0;
    uint64_t rx_packets = 0, rx_bytes = 0, matched = 0, unmatched = 0, ring_full = 0;
    uint64_t chained = 0, short_chains = 0, backpressure_waits = 0, busy_cycles = 0, total_cycles = 0;
    uint64_t pattern_scans = 0, pattern_matches = 0, pattern_cycles = 0;
};

struct WriterStats {
    unsigned id = 0;
    uint64_t dequeued = 0, records = 0, unowned = 0, busy_ns = 0;
    uint64_t writes = 0, write_bytes = 0, write_ns = 0, write_errors = 0;
    uint64_t latency_buckets[kWriteLatencyBuckets] = {};
};

struct RuleSetStats {
    uint64_t generation = 0;
    uint64_t rules = 0;
    uint64_t patterns = 0;
    uint64_t sessions = 0;
    double last_build_seconds = 0;
    uint64_t builds = 0;
    uint64_t build_failures = 0;
};

// Where the time of the last session change went (control logs it at debug level).
struct ChangeTiming {
    uint64_t build_us = 0;    // compiling the RuleSet
    uint64_t writer_us = 0;   // the writer opening or draining and closing the session
    uint64_t publish_us = 0;  // publishing it and waiting for every worker (RCU)
};

struct EngineSession {
    SessionRules rules;
    SinkSpec sink;
};

class TscClock;

class Engine {
public:
    // Initialises the EAL, probes and configures every port, creates rings and starts
    // the writers. Throws std::runtime_error naming the config key on failure.
    static std::unique_ptr<Engine> create(const EngineConfig& config);
    ~Engine();

    void start();     // start ports, launch workers
    void shutdown();  // stop receiving, drain, close every session as ServiceStopped

    // Opens a session's files on its writer and publishes a RuleSet with it. Returns
    // the slot, or -1 with `error` set (no free slot, rule limit, file creation).
    int open_session(EngineSession session, std::shared_ptr<SessionSink>& sink_out,
                     std::string& error);
    // Publishes a RuleSet without the slot, drains what is in flight for it, stops its
    // sink with `reason` (no-op if it already stopped itself) and frees the slot.
    // Returns the packets the session lost to full rings while it ran.
    uint64_t close_session(int slot, StopReason reason);
    // Ring-full drops of a running session so far.
    uint64_t ring_full_drops(int slot) const;

    std::vector<PortStats> port_stats() const;
    std::vector<WorkerStats> worker_stats() const;
    std::vector<WriterStats> writer_stats() const;
    RuleSetStats ruleset_stats() const;
    ChangeTiming last_change_timing() const;
    std::vector<std::string> port_names() const;
    // The automatic choices made for each port (mbuf size, back-pressure, RSS), for the log.
    std::vector<std::string> port_notes() const;
    unsigned free_slots() const;
    // CLOCK_REALTIME in ns since the epoch (session start and deadline times).
    uint64_t now_ns() const;
    // Re-synchronises the TSC clock with CLOCK_REALTIME; the control thread calls it
    // often, it acts about once a second (see clock.hpp).
    void resync_clock();

private:
    Engine() = default;
    struct ActiveSession {
        bool used = false;
        unsigned writer = 0;
        SessionRules rules;
        uint64_t ring_full_baseline = 0;
    };
    std::unique_ptr<RuleSet> build(const std::vector<SlotRules>& sessions, std::string& error);
    void publish(std::unique_ptr<RuleSet> next, size_t sessions);
    uint64_t ring_full_total(unsigned slot) const;

    EngineConfig config_;
    std::vector<Port> ports_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<unsigned> worker_lcores_;
    std::vector<std::unique_ptr<Writer>> writers_;
    std::vector<rte_ring*> rings_;  // worker-major: rings_[worker * writers + writer]
    rte_rcu_qsbr* rcu_ = nullptr;
    std::atomic<const RuleSet*> ruleset_{nullptr};
    std::unique_ptr<const RuleSet> current_;

    mutable std::mutex mutex_;  // sessions_ and publishing; one control action at a time
    ActiveSession sessions_[kMaxSlots];
    RuleSetStats ruleset_stats_;
    ChangeTiming timing_;
    std::unique_ptr<TscClock> clock_;  // shared by workers and writers; resync_clock() keeps it on time
    uint64_t last_resync_ns_ = 0;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace trawl::dataplane
