// Wall-clock nanoseconds from the TSC: one rdtsc, a seqlock read and a multiply per
// burst, no system call.
//
// Why it is re-synchronised: DPDK's rte_get_tsc_hz() is an estimate (on this class of
// VM it was 0.15% off, 1.5 ms per second, which puts a one-hour capture 5 s in the
// future). So the control thread calls resync() about once a second: the TSC rate is
// re-measured against CLOCK_REALTIME over the whole run (ppm-exact after a second),
// and the remaining offset is slewed away over the next second, like NTP's slew, so
// timestamps stay continuous and never step backwards. Only an offset larger than
// kStepThresholdNs (someone set the clock) is applied as a step.
#pragma once

#include <rte_cycles.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <memory>

namespace trawl::dataplane {

class TscClock {
public:
    static constexpr int64_t kStepThresholdNs = 50'000'000;  // 50 ms
    static constexpr int64_t kMaxSlewPpm = 5'000;             // 0.5% rate change at most

    TscClock() : state_(std::make_shared<State>()) {
        const uint64_t tsc = rte_rdtsc();
        const uint64_t ns = realtime_ns();
        const uint64_t hz = rte_get_tsc_hz();
        state_->first_tsc = tsc;
        state_->first_ns = ns;
        state_->hz_mult = mult_for_hz(double(hz ? hz : 1));
        store(tsc, ns, state_->hz_mult);
    }

    // Copies share one calibration: workers and writers hold copies.
    uint64_t to_ns(uint64_t tsc) const {
        const State& s = *state_;
        uint32_t seq;
        uint64_t base_tsc, base_ns, mult;
        do {
            seq = s.seq.load(std::memory_order_acquire);
            base_tsc = s.base_tsc.load(std::memory_order_relaxed);
            base_ns = s.base_ns.load(std::memory_order_relaxed);
            mult = s.mult.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
        } while ((seq & 1) || seq != s.seq.load(std::memory_order_relaxed));
        // Signed: a reader may hold a TSC read just before the new base.
        const int64_t delta = int64_t(tsc - base_tsc);
        return base_ns + uint64_t(int64_t((static_cast<__int128>(delta) * __int128(mult)) >> 32));
    }
    // Never less than what this copy returned before: a resync preempted between its
    // reads and its store can leave the new mapping microseconds behind the old one.
    // Each thread holds its own copy (workers, writers), so `last_` is not shared.
    uint64_t now_ns() const {
        const uint64_t t = to_ns(rte_rdtsc());
        if (t > last_) last_ = t;
        return last_;
    }

    // One thread only (the control tick), about once a second.
    void resync() {
        State& s = *state_;
        // A (TSC, realtime) pair read back to back; of a few tries the narrowest, so
        // that a preemption between the two reads is not taken for clock error.
        uint64_t tsc = 0, real = 0, width = ~0ull;
        for (int i = 0; i < 8; ++i) {
            const uint64_t t0 = rte_rdtsc();
            const uint64_t r = realtime_ns();
            const uint64_t t1 = rte_rdtsc();
            if (t1 - t0 < width) {
                width = t1 - t0;
                tsc = t0 + (t1 - t0) / 2;
                real = r;
            }
        }
        const uint64_t ours = to_ns(tsc);
        const int64_t offset = int64_t(real - ours);  // > 0: we are behind
        const uint64_t tsc_span = tsc - s.first_tsc;
        const int64_t ns_span = int64_t(real - s.first_ns);
        if (ns_span > 200'000'000 && tsc_span > 0)  // measured rate, once there is a baseline
            s.hz_mult = mult_for_hz(double(tsc_span) * 1e9 / double(ns_span));
        if (offset > kStepThresholdNs || offset < -kStepThresholdNs) {
            store(tsc, real, s.hz_mult);  // a clock step: follow it
            s.first_tsc = tsc;
            s.first_ns = real;
            ++s.steps;
            return;
        }
        // Continue from where we are and run fast or slow by offset/1 s to close the gap.
        int64_t ppm = offset / 1000;  // offset ns over 1e9 ns, in ppm
        if (ppm > kMaxSlewPpm) ppm = kMaxSlewPpm;
        if (ppm < -kMaxSlewPpm) ppm = -kMaxSlewPpm;
        const uint64_t mult = uint64_t(double(s.hz_mult) * (1.0 + double(ppm) * 1e-6));
        store(tsc, ours, mult);
        s.last_offset_ns = offset;
    }
    int64_t last_offset_ns() const { return state_->last_offset_ns; }
    uint64_t steps() const { return state_->steps; }

    static uint64_t realtime_ns() {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
    }

private:
    struct State {
        alignas(64) std::atomic<uint32_t> seq{0};
        std::atomic<uint64_t> base_tsc{0}, base_ns{0}, mult{0};
        // Written by the resync thread only.
        alignas(64) uint64_t first_tsc = 0, first_ns = 0, hz_mult = 0, steps = 0;
        int64_t last_offset_ns = 0;
    };
    // ns = delta * 1e9 / hz == (delta * mult) >> 32
    static uint64_t mult_for_hz(double hz) { return uint64_t(1e9 * 4294967296.0 / hz); }
    void store(uint64_t tsc, uint64_t ns, uint64_t mult) {
        State& s = *state_;
        const uint32_t seq = s.seq.load(std::memory_order_relaxed);
        s.seq.store(seq + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        s.base_tsc.store(tsc, std::memory_order_relaxed);
        s.base_ns.store(ns, std::memory_order_relaxed);
        s.mult.store(mult, std::memory_order_relaxed);
        s.seq.store(seq + 2, std::memory_order_release);
    }

    std::shared_ptr<State> state_;
    mutable uint64_t last_ = 0;
};

}  // namespace trawl::dataplane
