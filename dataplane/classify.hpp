// Classify a burst: build one ACL search key per IP packet from its PacketView, then
// one rte_acl_classify call per (context, burst) — the ACL library vectorises across
// the keys of a burst, which is where its speed comes from. The result is a session
// bit mask per packet.
#pragma once

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <emmintrin.h>

#include <cstdint>
#include <cstring>

#include "dataplane/counters.hpp"
#include "dataplane/packet_view.hpp"
#include "dataplane/ruleset.hpp"

namespace trawl::dataplane {

struct alignas(64) ClassifyScratch {
    uint16_t count_v4 = 0;
    uint16_t count_v6 = 0;
    uint16_t index_v4[kMaxBurst];  // burst position of each key
    uint16_t index_v6[kMaxBurst];
    const uint8_t* keys_v4_ptr[kMaxBurst];
    const uint8_t* keys_v6_ptr[kMaxBurst];
    AclKeyV4 keys_v4[kMaxBurst];
    AclKeyV6 keys_v6[kMaxBurst];
    uint32_t results[kMaxBurst * kSlotsPerGroup];

    void reset() {
        count_v4 = 0;
        count_v6 = 0;
    }

    // Adds the key of packet `index` (bytes `p`, parsed as `v`). Packets without any
    // field present cannot satisfy any constraint: they get no key.
    void add(uint16_t index, const uint8_t* p, const PacketView& v) {
        if (v.present == 0) return;
        if (v.family == 4) {
            AclKeyV4& k = keys_v4[count_v4];
            k.protocol = v.protocol;
            k.present = v.present;
            k.tcp_flags = v.tcp_flags;
            k.pad1[0] = k.pad1[1] = 0;
            if (v.has(kHasSource)) std::memcpy(k.source, v.source(p), 4);
            else std::memset(k.source, 0, 4);
            if (v.has(kHasDestination)) std::memcpy(k.destination, v.destination(p), 4);
            else std::memset(k.destination, 0, 4);
            k.source_port = rte_cpu_to_be_16(v.source_port);
            k.destination_port = rte_cpu_to_be_16(v.destination_port);
            keys_v4_ptr[count_v4] = reinterpret_cast<const uint8_t*>(&k);
            index_v4[count_v4++] = index;
        } else {
            AclKeyV6& k = keys_v6[count_v6];
            k.protocol = v.protocol;
            k.present = v.present;
            k.tcp_flags = v.tcp_flags;
            k.pad1[0] = k.pad1[1] = 0;
            if (v.has(kHasSource)) std::memcpy(k.source, v.source(p), 16);
            else std::memset(k.source, 0, 16);
            if (v.has(kHasDestination)) std::memcpy(k.destination, v.destination(p), 16);
            else std::memset(k.destination, 0, 16);
            k.source_port = rte_cpu_to_be_16(v.source_port);
            k.destination_port = rte_cpu_to_be_16(v.destination_port);
            keys_v6_ptr[count_v6] = reinterpret_cast<const uint8_t*>(&k);
            index_v6[count_v6++] = index;
        }
    }
};

namespace detail {

inline void collect(const uint32_t* results, uint32_t categories, uint16_t count,
                    const uint16_t* index, unsigned group, uint64_t* masks) {
    const unsigned base = group * kSlotsPerGroup;
    if (categories == 1) {
        for (uint16_t i = 0; i < count; ++i) masks[index[i]] |= uint64_t(results[i] != 0) << base;
        return;
    }
    // rte_acl wants a multiple of 4 categories: four results per SSE compare, one
    // movemask gives their "matched" bits (userdata 0 means no match).
    const __m128i zero = _mm_setzero_si128();
    for (uint16_t i = 0; i < count; ++i) {
        const uint32_t* r = results + size_t(i) * categories;
        uint64_t bits = 0;
        for (uint32_t c = 0; c < categories; c += 4) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r + c));
            const unsigned none = unsigned(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, zero))));
            bits |= uint64_t(~none & 0xfu) << c;
        }
        masks[index[i]] |= bits << base;
    }
}

}  // namespace detail

// ORs the sessions each keyed packet matches into masks[burst position].
inline void classify_burst(const RuleSet& rs, ClassifyScratch& s, uint64_t* masks) {
    for (unsigned g = 0; g < rs.group_count; ++g) {
        const RuleSet::Group& group = rs.groups[g];
        if (group.v4 && s.count_v4 != 0) {
            rte_acl_classify(group.v4, s.keys_v4_ptr, s.results, s.count_v4, group.categories);
            detail::collect(s.results, group.categories, s.count_v4, s.index_v4, g, masks);
        }
        if (group.v6 && s.count_v6 != 0) {
            rte_acl_classify(group.v6, s.keys_v6_ptr, s.results, s.count_v6, group.categories);
            detail::collect(s.results, group.categories, s.count_v6, s.index_v6, g, masks);
        }
    }
}

}  // namespace trawl::dataplane
