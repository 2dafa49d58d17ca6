// The poll-mode worker: one per lcore, owning a set of (port, queue) pairs.
//
//   rx_burst → parse each packet → one ACL lookup per context for the whole burst →
//   tag matches (timestamp, session mask) → enqueue to each writer's SPSC ring
//
// Never blocks, allocates, locks or logs per packet; every packet it does not hand on is
// freed and counted. The RuleSet pointer is loaded once per loop and the worker reports
// an RCU quiescent state after each loop, so control can retire old rule sets safely.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/clock.hpp"
#include "dataplane/counters.hpp"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;

namespace trawl::dataplane {

class RuleSet;
struct ClassifyScratch;

struct QueueRef {
    uint16_t port_id = 0;
    uint16_t queue = 0;
    uint16_t port_index = 0;        // pcapng interface
    uint32_t timestamp_unit_ns = 0;  // see Port::timestamp_unit_ns
    rte_mempool* pool = nullptr;
    bool backpressure = false;       // see Port::backpressure
};

struct alignas(64) WorkerCounters {
    Counter rx_packets;
    Counter rx_bytes;
    Counter matched_packets;    // handed to at least one writer ring
    Counter unmatched_packets;  // matched no session
    Counter ring_full_drops;    // packet copies lost to a full ring (per writer ring)
    Counter chained_packets;    // multi-segment mbufs that were linearised to parse
    Counter short_chains;       // chains holding fewer bytes than pkt_len (driver defect)
    Counter backpressure_waits; // times a lossless source waited for ring or pool space
    Counter pattern_scans;      // packets whose payload was scanned for patterns
    Counter pattern_matches;    // of those, packets where a candidate session matched
    Counter pattern_cycles;     // TSC cycles spent in Hyperscan
    Counter busy_cycles;        // TSC cycles in loops that received packets
    Counter total_cycles;
    Counter ring_full_by_slot[kMaxSlots];
};

struct WorkerSetup {
    unsigned id = 0;  // also the RCU thread id
    std::vector<QueueRef> queues;
    std::vector<rte_ring*> rings;  // one per writer
    const std::atomic<const RuleSet*>* ruleset = nullptr;
    rte_rcu_qsbr* rcu = nullptr;
    unsigned burst_size = 32;
    unsigned idle_sleep_us = 0;  // 0: pure polling
    TscClock clock;
};

class Worker {
public:
    explicit Worker(WorkerSetup setup);
    ~Worker();

    // The lcore entry point; returns when stop() is called.
    int run();
    void stop() { running_.store(false, std::memory_order_release); }
    const WorkerCounters& counters() const { return counters_; }

private:
    void process_burst(const RuleSet* rs, const QueueRef& q, rte_mbuf** pkts, uint16_t n);
    void match_patterns(const RuleSet& rs, rte_mbuf** pkts, uint16_t n, uint64_t* masks,
                        const uint32_t* payload_offset, const uint32_t* payload_length);

    WorkerSetup setup_;
    std::atomic<bool> running_{true};
    WorkerCounters counters_;
    std::unique_ptr<ClassifyScratch> scratch_;
    std::unique_ptr<uint8_t[]> linear_;  // parse buffer for chained mbufs
    int rx_timestamp_offset_ = -1;
    uint64_t rx_timestamp_flag_ = 0;
};

}  // namespace trawl::dataplane
