#include "dataplane/worker.hpp"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>

#include "dataplane/classify.hpp"
#include "dataplane/handoff.hpp"
#include "dataplane/packet_view.hpp"
#include "dataplane/pattern_set.hpp"
#include "dataplane/ruleset.hpp"
#include "dataplane/session_sink.hpp"

namespace trawl::dataplane {
namespace {

// Polls without packets before an idle worker starts to sleep (only when configured).
constexpr unsigned kIdlePollsBeforeSleep = 256;

// Copies up to `limit` bytes of a chain into `out` and returns how many were there.
// Walks the segments itself instead of trusting pkt_len: a driver that builds a chain
// shorter than pkt_len (DPDK 22.11 net_pcap does, for records over 64 KiB) must cost a
// truncated record, never a read past the end of the chain.
uint32_t linearize(const rte_mbuf* m, uint8_t* out, uint32_t limit) {
    uint32_t copied = 0;
    for (const rte_mbuf* seg = m; seg != nullptr && copied < limit; seg = seg->next) {
        const uint32_t n = std::min<uint32_t>(seg->data_len, limit - copied);
        std::memcpy(out + copied, rte_pktmbuf_mtod(seg, const uint8_t*), n);
        copied += n;
    }
    return copied;
}

// A port timestamp in the port's unit → ns since the epoch, as the pcap formats hold
// it: unsigned 32-bit seconds. net_pcap stamps libpcap's signed seconds, so a record
// from "before 1970" (the corpus has some) arrives negative; mapping it to the same
// 32-bit seconds value as its source file keeps replays byte-exact in both formats.
inline uint64_t port_timestamp_ns(uint64_t raw, uint32_t unit_ns) {
    const int64_t units_per_second = 1000000000 / int64_t(unit_ns);
    const int64_t t = int64_t(raw);
    int64_t seconds = t / units_per_second;
    int64_t fraction = t % units_per_second;
    if (fraction < 0) {
        fraction += units_per_second;
        --seconds;
    }
    return uint64_t(uint32_t(seconds)) * 1000000000ull + uint64_t(fraction) * unit_ns;
}

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
            // A lossless source waits while the pool runs low: net_pcap reads a record
            // before it allocates the mbuf, so an empty pool would lose that record.
            if (q.backpressure && rte_mempool_avail_count(q.pool) < 4 * setup_.burst_size + 256) {
                counters_.backpressure_waits.inc();
                continue;
            }
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

// Narrows the pattern sessions' bits to packets whose payload holds one of their
// patterns. Only packets that already matched such a session are scanned.
void Worker::match_patterns(const RuleSet& rs, rte_mbuf** pkts, uint16_t n, uint64_t* masks,
                            const uint32_t* payload_offset, const uint32_t* payload_length) {
    const uint64_t start = rte_rdtsc();
    uint64_t scans = 0, matches = 0;
    for (uint16_t i = 0; i < n; ++i) {
        const uint64_t candidates = masks[i] & rs.pattern_slots;
        if (candidates == 0) continue;
        uint64_t matched = 0;
        if (payload_length[i] != ~0u) {  // non-IP packets have no payload (§2.1)
            rte_mbuf* m = pkts[i];
            const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
            if (unlikely(m->nb_segs > 1 || m->next != nullptr)) {
                const uint32_t want = std::min<uint32_t>(m->pkt_len, kMaxCapturedLength);
                linearize(m, linear_.get(), want);
                data = linear_.get();
            }
            matched = rs.patterns->scan(setup_.id, data + payload_offset[i], payload_length[i], candidates);
            ++scans;
            matches += matched != 0;
        }
        masks[i] = (masks[i] & ~rs.pattern_slots) | matched;
    }
    counters_.pattern_scans.add(scans);
    counters_.pattern_matches.add(matches);
    counters_.pattern_cycles.add(rte_rdtsc() - start);
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
    // §2.1 payload of each packet, for sessions with payload patterns; length ~0u: none.
    uint32_t payload_offset[kMaxBurst];
    uint32_t payload_length[kMaxBurst];

    if (rs->has_acl || rs->pattern_slots != 0) {
        ClassifyScratch& s = *scratch_;
        s.reset();
        for (uint16_t i = 0; i < n; ++i) {
            if (i + 3 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 3], void*));
            rte_mbuf* m = pkts[i];
            const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
            uint32_t len = m->data_len;
            if (unlikely(m->nb_segs > 1 || m->next != nullptr)) {
                // Headers of a chained frame may cross segments: parse a flat copy.
                const uint32_t want = std::min<uint32_t>(m->pkt_len, kMaxCapturedLength);
                len = linearize(m, linear_.get(), want);
                data = linear_.get();
                counters_.chained_packets.inc();
                if (len < want) counters_.short_chains.inc();
            } else if (unlikely(len > m->pkt_len)) {
                len = m->pkt_len;
            }
            const PacketView v = parse_packet(data, len);
            s.add(i, data, v);  // copies what it needs: `linear_` may be reused next
            payload_offset[i] = v.payload_offset;
            payload_length[i] = v.is_ip() ? v.payload_length : ~0u;
        }
        if (rs->has_acl) classify_burst(*rs, s, masks);
        if (rs->pattern_slots != 0) match_patterns(*rs, pkts, n, masks, payload_offset, payload_length);
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
            tag->timestamp_ns = port_timestamp_ns(*RTE_MBUF_DYNFIELD(m, rx_timestamp_offset_, uint64_t*),
                                                  q.timestamp_unit_ns);
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
        unsigned sent =
            rte_ring_sp_enqueue_burst(setup_.rings[w], reinterpret_cast<void* const*>(out[w]),
                                      out_count[w], nullptr);
        // A lossless source waits for the writer instead of dropping (never a live port).
        while (unlikely(q.backpressure && sent < out_count[w]) && running_.load(std::memory_order_relaxed)) {
            counters_.backpressure_waits.inc();
            rte_pause();
            sent += rte_ring_sp_enqueue_burst(setup_.rings[w], reinterpret_cast<void* const*>(out[w] + sent),
                                              out_count[w] - sent, nullptr);
        }
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
