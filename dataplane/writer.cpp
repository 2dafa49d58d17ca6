#include "dataplane/writer.hpp"

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <pthread.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cstring>

#include "dataplane/handoff.hpp"

namespace trawl::dataplane {
namespace {

constexpr unsigned kMaxSpans = 64;
constexpr uint64_t kTickIntervalNs = 1'000'000;  // limits and flush timers: every 1 ms

}  // namespace

Writer::Writer(unsigned id, std::vector<rte_ring*> rings, unsigned burst_size,
               unsigned idle_sleep_us, TscClock clock)
    : id_(id),
      rings_(std::move(rings)),
      burst_size_(burst_size == 0 || burst_size > kMaxBurst ? 64 : burst_size),
      idle_sleep_us_(idle_sleep_us),
      clock_(clock),
      linear_(new uint8_t[kMaxCapturedLength]) {}

Writer::~Writer() {
    if (thread_.joinable()) drain_and_stop(StopReason::ServiceStopped);
}

void Writer::start() {
    thread_ = std::thread([this] { run(); });
    // Named so that top -H, perf and /proc/PID/task tell writers apart.
    pthread_setname_np(thread_.native_handle(), ("trawl-writer-" + std::to_string(id_)).c_str());
}

void Writer::execute(std::function<void()> command) {
    if (!thread_.joinable()) {  // not running: nothing else touches the slots
        command();
        return;
    }
    std::unique_lock lock(command_mutex_);
    const uint64_t ticket = ++commands_started_;
    commands_.push_back(std::move(command));
    has_commands_.store(true, std::memory_order_release);
    command_done_.wait(lock, [&] { return commands_finished_ >= ticket; });
}

void Writer::run_commands() {
    std::unique_lock lock(command_mutex_);
    while (!commands_.empty()) {
        auto command = std::move(commands_.front());
        commands_.pop_front();
        lock.unlock();
        command();
        lock.lock();
        ++commands_finished_;
    }
    has_commands_.store(false, std::memory_order_release);
    command_done_.notify_all();
}

void Writer::open(unsigned slot, std::shared_ptr<SessionSink> sink) {
    execute([this, slot, sink = std::move(sink)]() mutable {
        slots_[slot] = std::move(sink);
        open_mask_ |= uint64_t(1) << slot;
    });
}

void Writer::close(unsigned slot, StopReason reason) {
    execute([this, slot, reason] {
        // Everything tagged for this slot was enqueued before this command was posted.
        drain(false, clock_.now_ns());
        if (slots_[slot]) slots_[slot]->stop(reason);
        slots_[slot].reset();
        open_mask_ &= ~(uint64_t(1) << slot);
    });
}

void Writer::drain_and_stop(StopReason reason) {
    if (!thread_.joinable()) return;
    stop_reason_ = reason;
    stopping_.store(true, std::memory_order_release);
    thread_.join();
}

void Writer::handle(rte_mbuf* m, uint64_t now_ns) {
    const CaptureTag* tag = capture_tag(m);
    uint64_t bits = tag->sessions;
    const uint64_t unowned = bits & ~open_mask_;
    if (unlikely(unowned != 0)) counters_.unowned.add(uint64_t(__builtin_popcountll(unowned)));
    bits &= open_mask_;
    if (bits != 0) {
        ByteSpan spans[kMaxSpans];
        size_t count = 0;
        // Walk the chain itself (never trust nb_segs or pkt_len from a driver); a chain
        // longer than the span array is flattened into the writer's buffer.
        const rte_mbuf* seg = m;
        for (; seg != nullptr && count < kMaxSpans; seg = seg->next)
            spans[count++] = {rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len};
        if (unlikely(seg != nullptr)) {
            uint32_t copied = 0;
            for (seg = m; seg != nullptr && copied < kMaxCapturedLength; seg = seg->next) {
                const uint32_t n = std::min<uint32_t>(seg->data_len, kMaxCapturedLength - copied);
                std::memcpy(linear_.get() + copied, rte_pktmbuf_mtod(seg, const uint8_t*), n);
                copied += n;
            }
            spans[0] = {linear_.get(), copied};
            count = 1;
        }
        while (bits != 0) {
            const unsigned slot = unsigned(__builtin_ctzll(bits));
            bits &= bits - 1;
            slots_[slot]->write(now_ns, tag->timestamp_ns, m->pkt_len, tag->interface_index,
                                spans, count);
            counters_.records.inc();
        }
    }
}

void Writer::handle_burst(void* const* objs, unsigned n, uint64_t now_ns) {
    // The mbufs and their data were last touched by a worker on another core: fetch
    // them a few records ahead, then free the burst in one call.
    rte_mbuf* const* m = reinterpret_cast<rte_mbuf* const*>(objs);
    for (unsigned i = 0; i < n && i < 4; ++i) rte_prefetch0(m[i]);
    for (unsigned i = 0; i < n && i < 2; ++i) rte_prefetch0(rte_pktmbuf_mtod(m[i], void*));
    for (unsigned i = 0; i < n; ++i) {
        if (i + 4 < n) rte_prefetch0(m[i + 4]);
        if (i + 2 < n) rte_prefetch0(rte_pktmbuf_mtod(m[i + 2], void*));
        handle(m[i], now_ns);
    }
    rte_pktmbuf_free_bulk(const_cast<rte_mbuf**>(m), n);
}

unsigned Writer::drain(bool to_empty, uint64_t now_ns) {
    void* objs[kMaxBurst];
    unsigned total = 0;
    for (rte_ring* ring : rings_) {
        // Snapshot mode takes only what the ring held on entry: a busy worker keeps
        // adding, and the caller only needs what was enqueued before it asked.
        unsigned budget = to_empty ? ~0u : rte_ring_count(ring);
        while (budget > 0) {
            const unsigned want = budget < burst_size_ ? budget : burst_size_;
            const unsigned n = rte_ring_sc_dequeue_burst(ring, objs, want, nullptr);
            if (n == 0) break;
            handle_burst(objs, n, now_ns);
            total += n;
            if (!to_empty) budget -= n;
        }
    }
    counters_.dequeued.add(total);
    return total;
}

void Writer::run() {
    rte_thread_register();  // an lcore id gives this thread a mempool cache
    prctl(PR_SET_TIMERSLACK, 1000UL);  // sleep ~idle_sleep_us, not the default 50 us slack
    uint64_t last_tick = 0;
    for (;;) {
        if (has_commands_.load(std::memory_order_acquire)) run_commands();
        const uint64_t now = clock_.now_ns();
        void* objs[kMaxBurst];
        unsigned got = 0;
        for (rte_ring* ring : rings_) {
            const unsigned n = rte_ring_sc_dequeue_burst(ring, objs, burst_size_, nullptr);
            handle_burst(objs, n, now);
            got += n;
        }
        counters_.dequeued.add(got);
        if (now - last_tick >= kTickIntervalNs) {
            uint64_t bits = open_mask_;
            while (bits != 0) {
                const unsigned slot = unsigned(__builtin_ctzll(bits));
                bits &= bits - 1;
                slots_[slot]->tick(now);
            }
            last_tick = now;
        }
        if (got != 0) {
            counters_.busy_ns.add(clock_.now_ns() - now);
            continue;
        }
        if (stopping_.load(std::memory_order_acquire)) break;
        if (idle_sleep_us_ != 0) rte_delay_us_sleep(idle_sleep_us_);
        else rte_pause();
    }
    // Workers have stopped: take everything still queued, then close every file.
    if (has_commands_.load(std::memory_order_acquire)) run_commands();
    drain(true, clock_.now_ns());
    uint64_t bits = open_mask_;
    while (bits != 0) {
        const unsigned slot = unsigned(__builtin_ctzll(bits));
        bits &= bits - 1;
        slots_[slot]->stop(stop_reason_);
        slots_[slot].reset();
    }
    open_mask_ = 0;
    rte_thread_unregister();
}

}  // namespace trawl::dataplane
