#include "control/analysis/flow_table.hpp"

#include <algorithm>

namespace trawl::analysis {

using dataplane::PacketView;

uint64_t hash_flow_key(const FlowKey& key) {
    // Five 64-bit words, each mixed with a multiply-xorshift: cheap, and good enough for
    // a table whose keys an attacker can shape only as far as the load factor allows.
    uint64_t words[5];
    std::memcpy(words, &key, sizeof words);
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (uint64_t w : words) {
        h ^= w;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 29);
}

int make_flow_key(const PacketView& view, const uint8_t* packet, FlowKey& key) {
    key = FlowKey{};
    key.family = view.family;
    const unsigned alen = view.family == 4 ? 4 : 16;
    const uint8_t* src = view.source(packet);
    const uint8_t* dst = view.destination(packet);
    uint16_t sport = 0, dport = 0;
    if (view.has(dataplane::kHasProtocol)) {
        key.flags |= kKeyHasProtocol;
        key.protocol = view.protocol;
    }
    if (view.has(dataplane::kHasPorts)) {
        key.flags |= kKeyHasPorts;
        sport = view.source_port;
        dport = view.destination_port;
    }
    int order = std::memcmp(src, dst, alen);
    if (order == 0) order = sport < dport ? -1 : sport > dport ? 1 : 0;
    const bool source_is_low = order <= 0;
    std::memcpy(key.low_address.data(), source_is_low ? src : dst, alen);
    std::memcpy(key.high_address.data(), source_is_low ? dst : src, alen);
    key.low_port = source_is_low ? sport : dport;
    key.high_port = source_is_low ? dport : sport;
    return source_is_low ? 0 : 1;
}

void FlowStats::merge(const FlowStats& o) {
    if (o.first_sequence < first_sequence) {
        first_sequence = o.first_sequence;
        client_direction = o.client_direction;
    }
    first_ns = std::min(first_ns, o.first_ns);
    last_ns = std::max(last_ns, o.last_ns);
    for (int d = 0; d < 2; ++d) {
        packets[d] += o.packets[d];
        bytes[d] += o.bytes[d];
    }
    tcp_flags |= o.tcp_flags;
}

FlowTable::FlowTable() : slots_(1024, 0), mask_(1023) {}

FlowStats& FlowTable::find_or_insert_slow(const FlowKey& key, uint64_t hash, uint64_t sequence, int direction,
                                          int64_t ns) {
    const uint64_t tag = hash >> 32;
    for (uint64_t pos = hash & mask_;; pos = (pos + 1) & mask_) {
        const uint64_t slot = slots_[pos];
        if (slot == 0) break;
        if ((slot >> 32) == tag) {
            const uint32_t index = uint32_t(slot) - 1;
            if (flows_[index].key == key) {
                last_ = index;
                return flows_[index].stats;
            }
        }
    }
    // New flow. Keep the load factor at or below one half so probes stay short.
    if ((flows_.size() + 1) * 2 > slots_.size()) grow();
    const uint32_t index = uint32_t(flows_.size());
    Flow& f = flows_.emplace_back();
    f.key = key;
    f.hash = hash;
    f.stats.first_sequence = sequence;
    f.stats.client_direction = uint8_t(direction);
    f.stats.first_ns = ns;
    f.stats.last_ns = ns;
    uint64_t pos = hash & mask_;
    while (slots_[pos] != 0) pos = (pos + 1) & mask_;
    slots_[pos] = tag << 32 | (uint64_t(index) + 1);
    last_ = index;
    return f.stats;
}

void FlowTable::grow() {
    slots_.assign(slots_.size() * 2, 0);
    mask_ = slots_.size() - 1;
    for (uint32_t i = 0; i < flows_.size(); ++i) {
        uint64_t pos = flows_[i].hash & mask_;
        while (slots_[pos] != 0) pos = (pos + 1) & mask_;
        slots_[pos] = (flows_[i].hash >> 32) << 32 | (uint64_t(i) + 1);
    }
}

void FlowTable::merge(const FlowTable& other) {
    for (const Flow& f : other.flows_) {
        // A flow new here is created from the other's first packet, so merging into
        // it yields the other's counts exactly.
        find_or_insert(f.key, f.hash, f.stats.first_sequence, f.stats.client_direction, f.stats.first_ns)
            .merge(f.stats);
    }
}

}  // namespace trawl::analysis
