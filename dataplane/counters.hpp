// Per-lcore counters: plain 64-bit integers with exactly one writer (the lcore or
// writer thread that owns them), read by control at scrape time. std::atomic with
// relaxed order compiles to ordinary loads and stores here; it only tells the compiler
// (and TSan) that another thread reads the value.
#pragma once

#include <atomic>
#include <cstdint>

namespace trawl::dataplane {

class Counter {
public:
    void add(uint64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    void inc() { add(1); }
    uint64_t get() const { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> v_{0};
};

// Most sessions (classifier slots) a RuleSet can hold: one bit each in a 64-bit mask.
inline constexpr unsigned kMaxSlots = 64;
// rte_acl gives at most 16 categories per context: slots are grouped 16 to a context.
inline constexpr unsigned kSlotsPerGroup = 16;
inline constexpr unsigned kMaxGroups = kMaxSlots / kSlotsPerGroup;
inline constexpr unsigned kMaxWriters = 16;
inline constexpr unsigned kMaxWorkers = 32;
inline constexpr unsigned kMaxBurst = 256;

}  // namespace trawl::dataplane
