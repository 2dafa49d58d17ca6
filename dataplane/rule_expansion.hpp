// Filters (lists of subnets, ports, protocols, flag masks, both directions) expanded into
// the flat tuple rules an ACL understands: one value or range per field.
//
// Kept free of DPDK so that control can count a session's rules while validating a
// request (a filter is a cross product and can explode) and tests can inspect them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include "dataplane/filter.hpp"

namespace trawl::dataplane {

struct TupleRule {
    uint8_t family = 4;           // which context the rule goes into: 4 or 6
    uint8_t required_fields = 0;  // PacketField bits the packet must have
    bool any_protocol = true;
    uint8_t protocol = 0;
    uint8_t tcp_flag_bit = 0;  // 0: no constraint; else this flag must be set
    // IPv4: inclusive ranges in host order. IPv6: prefixes (address, length 0..128).
    bool any_source = true;
    bool any_destination = true;
    uint32_t source_v4_first = 0, source_v4_last = 0;
    uint32_t destination_v4_first = 0, destination_v4_last = 0;
    std::array<uint8_t, 16> source_v6{}, destination_v6{};
    uint8_t source_v6_prefix = 0, destination_v6_prefix = 0;
    PortRange source_ports{};
    PortRange destination_ports{};
};

using TupleRuleSink = std::function<void(const TupleRule&)>;

// Number of tuple rules `rules` expands to, saturating at UINT64_MAX. Cheap: no rule
// is materialised, so it can guard against a request that would expand to millions.
uint64_t count_tuple_rules(const SessionRules& rules);

// Emits every tuple rule of the session: its filters (both directions where
// bidirectional) and the tunnel classes of its tracing flags. Filters that match every
// packet emit nothing; see SessionRules::tuple_match_is_universal().
void expand_tuple_rules(const SessionRules& rules, const TupleRuleSink& sink);

// Smallest set of prefixes covering [first, last] of one IPv6 range (at most 254).
struct Ipv6Prefix {
    std::array<uint8_t, 16> address{};
    uint8_t length = 0;
};
void ipv6_range_to_prefixes(const std::array<uint8_t, 16>& first,
                            const std::array<uint8_t, 16>& last,
                            const std::function<void(const Ipv6Prefix&)>& sink);
uint64_t ipv6_range_prefix_count(const std::array<uint8_t, 16>& first,
                                 const std::array<uint8_t, 16>& last);

}  // namespace trawl::dataplane
