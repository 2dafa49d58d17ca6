// The flow table: bidirectional 5-tuple flows keyed from the contract parser's view of a
// packet (dataplane/packet_view.hpp, DESIGN §2.2), so the analysis and the filters agree
// on what a packet is.
//
// Keying. Both directions of a flow share one key: the endpoint (address, port) that
// compares lower is stored first, and each packet counts in direction 0 (lower → upper)
// or 1 (upper → lower). Fields the captured bytes do not contain are absent from the key
// (§2.2): a later IP fragment has no ports, so it belongs to the (protocol, addresses)
// flow, not to the flow of its first fragment; an IPv6 extension-header chain cut by the
// snap length has no protocol. VLAN tags are not part of the key (the filters ignore
// them too). The client is the sender of the flow's first packet in file order.
//
// The table is per thread and never locked: open addressing (linear probing) over a
// dense vector of entries, merged after the parallel pass. Cost per packet: one hash of
// 40 bytes and, in the common case, one probe; a repeat of the previous packet's flow
// costs a compare.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/packet_view.hpp"

namespace trawl::analysis {

enum FlowKeyFlags : uint8_t {
    kKeyHasProtocol = 0x01,
    kKeyHasPorts = 0x02,
};

struct FlowKey {
    uint8_t family = 0;    // 4 or 6
    uint8_t protocol = 0;  // valid with kKeyHasProtocol
    uint8_t flags = 0;
    uint8_t reserved = 0;  // keeps the struct free of padding: keys compare as bytes
    uint16_t low_port = 0, high_port = 0;        // valid with kKeyHasPorts
    std::array<uint8_t, 16> low_address{};       // IPv4: first 4 bytes, rest zero
    std::array<uint8_t, 16> high_address{};

    bool has_protocol() const { return flags & kKeyHasProtocol; }
    bool has_ports() const { return flags & kKeyHasPorts; }
    unsigned address_length() const { return family == 4 ? 4 : 16; }
    bool operator==(const FlowKey& o) const { return std::memcmp(this, &o, sizeof *this) == 0; }
};
static_assert(sizeof(FlowKey) == 40, "FlowKey must have no padding");

uint64_t hash_flow_key(const FlowKey& key);

// Builds the key of an IP packet whose view has both addresses. Returns the direction
// of the packet: 0 when its source is the key's low endpoint, 1 otherwise.
int make_flow_key(const dataplane::PacketView& view, const uint8_t* packet, FlowKey& key);

// Counters of one flow. Direction 0 is low → high endpoint of the key.
struct FlowStats {
    uint64_t first_sequence = 0;   // file-order position of the first packet (see Sequence)
    int64_t first_ns = 0, last_ns = 0;  // earliest and latest timestamp
    uint64_t packets[2] = {0, 0};
    uint64_t bytes[2] = {0, 0};    // original (wire) lengths, as tshark counts them
    uint8_t tcp_flags = 0;         // OR of every TCP packet's flags, both directions
    uint8_t client_direction = 0;  // direction of the first packet: its sender is the client

    // Folds another partial count of the same flow in. Commutative and associative, so
    // per-thread tables merge to the same result in any order.
    void merge(const FlowStats& o);
};

// Position of a record in the whole input: file index, then record index in the file.
// Orders "first packet" identically whether a file is read by one thread or in ranges.
inline uint64_t make_sequence(uint32_t file_index, uint64_t record_index) {
    return uint64_t(file_index) << 40 | (record_index & ((uint64_t(1) << 40) - 1));
}

struct Flow {
    FlowKey key;
    FlowStats stats;
    uint64_t hash = 0;
};

class FlowTable {
public:
    FlowTable();

    // The flow of `key`, created with `sequence`/`direction`/`ns` as its first packet.
    FlowStats& find_or_insert(const FlowKey& key, uint64_t hash, uint64_t sequence, int direction, int64_t ns) {
        if (last_ != kNone && flows_[last_].hash == hash && flows_[last_].key == key) return flows_[last_].stats;
        return find_or_insert_slow(key, hash, sequence, direction, ns);
    }

    // Batched lookups hide the two cache misses of a lookup (slot, then entry): touch
    // the slot of every packet of a batch, then the entry of every packet, then update.
    void prefetch_slot(uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }
    void prefetch_entry(uint64_t hash) const {
        const uint64_t slot = slots_[hash & mask_];
        if (slot != 0 && (slot >> 32) == (hash >> 32)) __builtin_prefetch(&flows_[uint32_t(slot) - 1]);
    }

    // Merges every flow of `other` into this table.
    void merge(const FlowTable& other);

    size_t size() const { return flows_.size(); }
    const std::vector<Flow>& flows() const { return flows_; }
    std::vector<Flow> take_flows() { return std::move(flows_); }

private:
    static constexpr uint32_t kNone = UINT32_MAX;
    FlowStats& find_or_insert_slow(const FlowKey& key, uint64_t hash, uint64_t sequence, int direction, int64_t ns);
    void grow();

    std::vector<Flow> flows_;
    // Slot: 0 empty, else (upper 32 bits of the hash) << 32 | (entry index + 1).
    std::vector<uint64_t> slots_;
    uint64_t mask_ = 0;
    uint32_t last_ = kNone;  // entry of the previous lookup
};

}  // namespace trawl::analysis
