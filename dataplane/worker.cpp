#include "dataplane/worker.hpp"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/classify.hpp"
#include "dataplane/handoff.hpp"
#include "dataplane/packet_view.hpp"
#include "dataplane/ruleset.hpp"
#include "dataplane/session_sink.hpp"

namespace trawl::dataplane {
namespace {

// Polls without packets before an idle worker starts to sleep (only when configured).
constexpr unsigned kIdlePollsBeforeSleep = 256;

}  // namespace

Worker::Worker(WorkerSetup setup)
    : setup_(std::move(setup)),
      scratch_(std::make_unique<ClassifyScratch>()),
      linear_(new uint8_t[kMaxCapturedLength]) {
    if (setup_.burst_size == 0 || setup_.burst_size > kMaxBurst) setup_.burst_size = 32;
    // Drivers that stamp packets (net_pcap) register these; absent means "use the TSC".
    rx_timestamp_offset_ = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
    const int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
    rx_timestamp_flag_ = bit >= 0 ? (uint64_t(1) << bit) : 0;
}

Worker::~Worker() = default;

int Worker::run() {
    rte_rcu_qsbr_thread_register(setup_.rcu, setup_.id);
    rte_rcu_qsbr_thread_online(setup_.rcu, setup_.id);
    rte_mbuf* pkts[kMaxBurst];
    unsigned idle_polls = 0;
    while (running_.load(std::memory_order_acquire)) {
        const uint64_t start = rte_rdtsc();
        const RuleSet* rs = setup_.ruleset->load(std::memory_order_acquire);
        unsigned received = 0;
        for (const QueueRef& q : setup_.queues) {
            const uint16_t n = rte_eth_rx_burst(q.port_id, q.queue, pkts, uint16_t(setup_.burst_size));
            if (n == 0) continue;
            received += n;
            process_burst(rs, q, pkts, n);
        }
        // Nothing of `rs` is referenced past this point.
        rte_rcu_qsbr_quiescent(setup_.rcu, setup_.id);
        const uint64_t cycles = rte_rdtsc() - start;
        counters_.total_cycles.add(cycles);
        if (received != 0) {
            counters_.busy_cycles.add(cycles);
            idle_polls = 0;
        } else if (setup_.idle_sleep_us != 0 && ++idle_polls > kIdlePollsBeforeSleep) {
            // Offline while asleep, so publishing a RuleSet never waits for a sleeper.
            rte_rcu_qsbr_thread_offline(setup_.rcu, setup_.id);
            rte_delay_us_sleep(setup_.idle_sleep_us);
            rte_rcu_qsbr_thread_online(setup_.rcu, setup_.id);
        }
    }
    rte_rcu_qsbr_thread_offline(setup_.rcu, setup_.id);
    rte_rcu_qsbr_thread_unregister(setup_.rcu, setup_.id);
    return 0;
}

void Worker::process_burst(const RuleSet* rs, const QueueRef& q, rte_mbuf** pkts, uint16_t n) {
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < n; ++i) bytes += pkts[i]->pkt_len;
    counters_.rx_packets.add(n);
    counters_.rx_bytes.add(bytes);

    if (rs == nullptr || rs->active_slots == 0) {
        rte_pktmbuf_free_bulk(pkts, n);
        counters_.unmatched_packets.add(n);
        return;
    }

    uint64_t masks[kMaxBurst];
    for (uint16_t i = 0; i < n; ++i) masks[i] = rs->universal_slots;

    if (rs->has_acl) {
        ClassifyScratch& s = *scratch_;
        s.reset();
        for (uint16_t i = 0; i < n; ++i) {
            if (i + 3 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 3], void*));
            rte_mbuf* m = pkts[i];
            const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
            uint32_t len = m->data_len;
            if (unlikely(m->nb_segs > 1)) {
                // Headers of a chained frame may cross segments: parse a flat copy.
                len = m->pkt_len < kMaxCapturedLength ? m->pkt_len : kMaxCapturedLength;
                data = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, len, linear_.get()));
                counters_.chained_packets.inc();
            }
            const PacketView v = parse_packet(data, len);
            s.add(i, data, v);  // copies what it needs: `linear_` may be reused next
        }
        classify_burst(*rs, s, masks);
    }

    const uint64_t now_ns = setup_.clock.now_ns();
    const unsigned writers = unsigned(setup_.rings.size());
    rte_mbuf* unmatched[kMaxBurst];
    unsigned unmatched_count = 0;
    rte_mbuf* out[kMaxWriters][kMaxBurst];
    unsigned out_count[kMaxWriters] = {};
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        const uint64_t mask = masks[i];
        if (mask == 0) {
            unmatched[unmatched_count++] = m;
            continue;
        }
        CaptureTag* tag = capture_tag(m);
        if (q.timestamp_unit_ns != 0 && (m->ol_flags & rx_timestamp_flag_) != 0)
            tag->timestamp_ns =
                *RTE_MBUF_DYNFIELD(m, rx_timestamp_offset_, uint64_t*) * q.timestamp_unit_ns;
        else
            tag->timestamp_ns = now_ns;
        tag->sessions = mask;
        tag->interface_index = q.port_index;
        unsigned targets = 0;
        for (unsigned w = 0; w < writers; ++w) {
            if (mask & rs->writer_slots[w]) {
                out[w][out_count[w]++] = m;
                ++targets;
            }
        }
        // Zero copy to several writers: one reference each, on every segment, since
        // rte_pktmbuf_free releases segments one by one.
        if (unlikely(targets > 1))
            for (rte_mbuf* seg = m; seg != nullptr; seg = seg->next)
                rte_mbuf_refcnt_update(seg, int16_t(targets - 1));
    }
    if (unmatched_count != 0) {
        rte_pktmbuf_free_bulk(unmatched, unmatched_count);
        counters_.unmatched_packets.add(unmatched_count);
    }
    counters_.matched_packets.add(n - unmatched_count);

    for (unsigned w = 0; w < writers; ++w) {
        if (out_count[w] == 0) continue;
        const unsigned sent =
            rte_ring_sp_enqueue_burst(setup_.rings[w], reinterpret_cast<void* const*>(out[w]),
                                      out_count[w], nullptr);
        for (unsigned j = sent; j < out_count[w]; ++j) {
            rte_mbuf* m = out[w][j];
            uint64_t bits = capture_tag(m)->sessions & rs->writer_slots[w];
            while (bits) {
                counters_.ring_full_by_slot[__builtin_ctzll(bits)].inc();
                bits &= bits - 1;
            }
            rte_pktmbuf_free(m);
        }
        if (sent < out_count[w]) counters_.ring_full_drops.add(out_count[w] - sent);
    }
}

}  // namespace trawl::dataplane
