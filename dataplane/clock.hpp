// Wall-clock nanoseconds from the TSC: one rdtsc and a 128-bit multiply per burst, no
// system call. Calibrated once against CLOCK_REALTIME at start; the invariant TSC of
// current x86 CPUs keeps it within a few ppm of NTP time over a capture.
#pragma once

#include <rte_cycles.h>

#include <cstdint>
#include <ctime>

namespace trawl::dataplane {

class TscClock {
public:
    TscClock() {
        const uint64_t hz = rte_get_tsc_hz();
        // ns = delta * 1e9 / hz  ==  (delta * mult) >> 32
        mult_ = (static_cast<unsigned __int128>(1000000000ull) << 32) / (hz ? hz : 1);
        timespec ts{};
        base_tsc_ = rte_rdtsc();
        clock_gettime(CLOCK_REALTIME, &ts);
        base_ns_ = uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
    }
    uint64_t to_ns(uint64_t tsc) const {
        const uint64_t delta = tsc - base_tsc_;
        return base_ns_ + uint64_t((static_cast<unsigned __int128>(delta) * mult_) >> 32);
    }
    uint64_t now_ns() const { return to_ns(rte_rdtsc()); }

private:
    uint64_t base_tsc_ = 0;
    uint64_t base_ns_ = 0;
    unsigned __int128 mult_ = 0;
};

}  // namespace trawl::dataplane
