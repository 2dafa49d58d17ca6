// Wall-clock nanoseconds since the epoch for the control side (session times, upload
// events). The data path has its own TSC clock (dataplane/clock.hpp).
#pragma once

#include <cstdint>
#include <ctime>

namespace trawl::control {

inline uint64_t wall_clock_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace trawl::control
