// The TSC wall clock against CLOCK_REALTIME: it must follow the system clock to well
// under a millisecond once re-synchronised, never step backwards while it slews, and
// follow a clock step. Needs the EAL only for rte_get_tsc_hz().
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/clock.hpp"

namespace {

using trawl::dataplane::TscClock;

int64_t offset_now(const TscClock& clock) {
    // Bracket the realtime read with two TSC reads and use their midpoint.
    const uint64_t before = clock.now_ns();
    const uint64_t real = TscClock::realtime_ns();
    const uint64_t after = clock.now_ns();
    return int64_t(real) - int64_t(before / 2 + after / 2);
}

TEST(TscClock, ResyncKeepsItOnTheSystemClock) {
    TscClock clock;
    const int64_t start = offset_now(clock);
    // Readers on another thread check monotonicity through every resync.
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> backwards{0}, reads{0};
    std::thread reader([&] {
        uint64_t last = clock.now_ns();
        while (!stop.load(std::memory_order_relaxed)) {
            const uint64_t t = clock.now_ns();
            if (t < last) backwards.fetch_add(1);
            last = t;
            reads.fetch_add(1, std::memory_order_relaxed);
        }
    });
    std::vector<int64_t> offsets;
    for (int i = 0; i < 4; ++i) {
        usleep(1'000'000);
        offsets.push_back(offset_now(clock));  // before this second's correction
        clock.resync();
    }
    usleep(1'000'000);
    const int64_t final_offset = offset_now(clock);
    stop = true;
    reader.join();
    std::printf("offset at start %lld ns; before each resync:", (long long)start);
    for (int64_t o : offsets) std::printf(" %lld", (long long)o);
    std::printf(" ns; final %lld ns; %llu reads\n", (long long)final_offset,
                (unsigned long long)reads.load());
    EXPECT_EQ(backwards.load(), 0u) << "the clock went backwards while slewing";
    EXPECT_GT(reads.load(), 1000u);
    // Whatever rte_get_tsc_hz() estimated, two seconds of measurement and slew bring
    // the clock to within 200 us (a VM's scheduling noise, not the TSC, sets the bound).
    EXPECT_LT(std::llabs(final_offset), 200'000) << "TSC clock off the system clock";
    EXPECT_LT(std::llabs(offsets.back()), 200'000);
}

TEST(TscClock, CopiesShareTheCalibration) {
    TscClock clock;
    const TscClock copy = clock;
    usleep(300'000);
    clock.resync();
    const uint64_t tsc = rte_rdtsc();
    EXPECT_EQ(clock.to_ns(tsc), copy.to_ns(tsc));
}

}  // namespace

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    std::vector<std::string> args = {"test_clock", "--no-huge", "-m", "64", "--no-pci", "--no-shconf",
                                     "--file-prefix=trawl-clock-" + std::to_string(getpid()),
                                     "--log-level=*:error", "-l", "0"};
    std::vector<char*> argv_eal;
    for (auto& a : args) argv_eal.push_back(a.data());
    argv_eal.push_back(nullptr);
    if (rte_eal_init(int(args.size()), argv_eal.data()) < 0) {
        std::fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    const int rc = RUN_ALL_TESTS();
    rte_eal_cleanup();
    return rc;
}
