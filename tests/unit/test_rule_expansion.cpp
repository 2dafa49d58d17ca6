// Filters (DESIGN §2.2) and tunnel classes (§2.3) expanded into flat tuple rules.
//
// Counts are checked against numbers worked out by hand from the cross product; the
// random tests check that count_tuple_rules agrees with what is emitted and that the
// emitted rules select exactly the tuples the filter's own §2.2 semantics select.
#include "dataplane/rule_expansion.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/filter.hpp"
#include "dataplane/packet_view.hpp"

namespace trawl::dataplane {
namespace {

using Address = std::array<uint8_t, 16>;
using u128 = unsigned __int128;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
constexpr PortRange kAnyPort{0, 0xffff};
constexpr uint8_t kIpProtoIcmp = 1;

// ---------------------------------------------------------------------------------------
// Builders

Address v4_address(const char* text) {
    Address a{};
    in_addr parsed{};
    EXPECT_EQ(inet_pton(AF_INET, text, &parsed), 1) << text;
    std::memcpy(&a[12], &parsed, 4);
    return a;
}

Address v6_address(const char* text) {
    Address a{};
    EXPECT_EQ(inet_pton(AF_INET6, text, a.data()), 1) << text;
    return a;
}

AddressRange v4(const char* first, const char* last = nullptr) {
    return {false, v4_address(first), v4_address(last ? last : first)};
}

AddressRange v6(const char* first, const char* last = nullptr) {
    return {true, v6_address(first), v6_address(last ? last : first)};
}

PortRange port(uint16_t p) { return {p, p}; }

u128 to_u128(const Address& a) {
    u128 v = 0;
    for (uint8_t b : a) v = v << 8 | b;
    return v;
}

Address from_u128(u128 v) {
    Address a{};
    for (int i = 15; i >= 0; --i, v >>= 8) a[size_t(i)] = uint8_t(v);
    return a;
}

uint32_t v4_host(const char* text) { return uint32_t(to_u128(v4_address(text))); }

SessionRules session(std::vector<Filter> filters, uint32_t tracing_flags = 0) {
    SessionRules s;
    s.filters = std::move(filters);
    s.tracing_flags = tracing_flags;
    return s;
}

std::vector<TupleRule> expand(const SessionRules& rules) {
    std::vector<TupleRule> out;
    expand_tuple_rules(rules, [&](const TupleRule& r) { out.push_back(r); });
    return out;
}

size_t count_family(const std::vector<TupleRule>& rules, int family) {
    return size_t(std::count_if(rules.begin(), rules.end(),
                                [&](const TupleRule& r) { return r.family == family; }));
}

std::vector<Ipv6Prefix> prefixes(const Address& first, const Address& last) {
    std::vector<Ipv6Prefix> out;
    ipv6_range_to_prefixes(first, last, [&](const Ipv6Prefix& p) { out.push_back(p); });
    return out;
}

// A rule as comparable values: (family, required, protocol or -1, flag bit, source,
// destination, source ports, destination ports). Addresses are ranges (v4) or
// prefix starts and lengths (v6); "any" is (0, 0, -1).
using RuleKey = std::tuple<int, int, int, int, u128, u128, int, u128, u128, int, int, int,
                           int, int>;

RuleKey key(const TupleRule& r) {
    auto side = [&](bool any, uint32_t v4_first, uint32_t v4_last, const Address& v6,
                    uint8_t prefix) -> std::tuple<u128, u128, int> {
        if (any) return {0, 0, -1};
        if (r.family == 4) return {v4_first, v4_last, 32};
        return {to_u128(v6), 0, prefix};
    };
    const auto [s1, s2, s3] =
        side(r.any_source, r.source_v4_first, r.source_v4_last, r.source_v6, r.source_v6_prefix);
    const auto [d1, d2, d3] = side(r.any_destination, r.destination_v4_first,
                                   r.destination_v4_last, r.destination_v6,
                                   r.destination_v6_prefix);
    return {r.family,
            r.required_fields,
            r.any_protocol ? -1 : r.protocol,
            r.tcp_flag_bit,
            s1,
            s2,
            s3,
            d1,
            d2,
            d3,
            r.source_ports.first,
            r.source_ports.last,
            r.destination_ports.first,
            r.destination_ports.last};
}

std::multiset<RuleKey> keys(const std::vector<TupleRule>& rules) {
    std::multiset<RuleKey> out;
    for (const auto& r : rules) out.insert(key(r));
    return out;
}

// ---------------------------------------------------------------------------------------
// Cross products

Filter ipv4_cross_product_filter() {
    Filter f;
    f.source = {v4("10.0.0.1"), v4("10.0.1.0", "10.0.1.255"), v4("192.168.0.7")};
    f.destination = {v4("172.16.0.1"), v4("172.16.0.2", "172.16.0.9")};
    f.protocols = {kIpProtoTcp, kIpProtoUdp};
    f.source_ports = {port(1000), {2000, 2999}};
    f.destination_ports = {port(80), port(443), {8000, 8080}};
    f.bidirectional = false;
    return f;
}

TEST(RuleExpansionCounts, CrossProductOneDirection) {
    const auto rules_in = session({ipv4_cross_product_filter()});
    const auto rules = expand(rules_in);
    // 3 sources × 2 destinations × 2 protocols × 2 source ports × 3 destination ports.
    EXPECT_EQ(rules.size(), 72u);
    EXPECT_EQ(count_tuple_rules(rules_in), 72u);
    EXPECT_EQ(count_family(rules, 4), 72u);
    // Every combination exactly once.
    std::set<std::tuple<uint32_t, uint32_t, uint8_t, uint16_t, uint16_t>> combinations;
    for (const auto& r : rules)
        combinations.insert({r.source_v4_first, r.destination_v4_first, r.protocol,
                             r.source_ports.first, r.destination_ports.first});
    EXPECT_EQ(combinations.size(), 72u);
    const uint8_t all = kHasSource | kHasDestination | kHasProtocol | kHasPorts;
    for (const auto& r : rules) {
        EXPECT_EQ(int(r.required_fields), int(all));
    }
}

TEST(RuleExpansionCounts, CrossProductBothDirections) {
    Filter f = ipv4_cross_product_filter();
    const auto forward = keys(expand(session({f})));
    f.bidirectional = true;
    const auto rules_in = session({f});
    const auto rules = expand(rules_in);
    EXPECT_EQ(rules.size(), 144u);
    EXPECT_EQ(count_tuple_rules(rules_in), 144u);
    // The extra 72 are the forward rules with addresses and ports swapped together.
    std::multiset<RuleKey> expected = forward;
    for (const auto& r : expand(session({ipv4_cross_product_filter()}))) {
        TupleRule s = r;
        std::swap(s.any_source, s.any_destination);
        std::swap(s.source_v4_first, s.destination_v4_first);
        std::swap(s.source_v4_last, s.destination_v4_last);
        std::swap(s.source_ports, s.destination_ports);
        expected.insert(key(s));
    }
    EXPECT_EQ(keys(rules), expected);
}

TEST(RuleExpansionCounts, CrossProductWithFlagBits) {
    Filter f = ipv4_cross_product_filter();
    f.tcp_flags = kTcpSyn | kTcpAck | kTcpFin;
    f.bidirectional = true;
    const auto rules_in = session({f});
    const auto rules = expand(rules_in);
    // Protocols collapse to TCP: 3 × 2 × 1 × 2 × 3 × 3 flag bits × 2 directions.
    EXPECT_EQ(rules.size(), 216u);
    EXPECT_EQ(count_tuple_rules(rules_in), 216u);
    for (const auto& r : rules) {
        EXPECT_FALSE(r.any_protocol);
        EXPECT_EQ(r.protocol, kIpProtoTcp);
    }
}

TEST(RuleExpansionCounts, CrossProductAcrossFamilies) {
    Filter f;
    // IPv4: 2 sources; IPv6: 1 address + a range of 2 prefixes.
    f.source = {v4("10.0.0.1"), v6("2001:db8::10"), v4("10.0.0.2"),
                v6("2001:db8::1", "2001:db8::2")};
    // IPv4: 1; IPv6: one /64.
    f.destination = {v6("2001:db8:1::", "2001:db8:1::ffff:ffff:ffff:ffff"), v4("10.9.9.9")};
    f.protocols = {kIpProtoUdp};
    f.destination_ports = {port(53), port(5353)};
    const auto rules_in = session({f});
    const auto rules = expand(rules_in);
    EXPECT_EQ(count_family(rules, 4), 2u * 1 * 1 * 2 * 2);
    EXPECT_EQ(count_family(rules, 6), 3u * 1 * 1 * 2 * 2);
    EXPECT_EQ(rules.size(), 20u);
    EXPECT_EQ(count_tuple_rules(rules_in), 20u);
    for (const auto& r : rules) {
        if (r.family != 6) continue;
        const uint8_t dst_prefix = r.any_destination ? r.source_v6_prefix
                                                     : r.destination_v6_prefix;
        EXPECT_TRUE(dst_prefix == 64 || dst_prefix == 128) << int(dst_prefix);
    }
}

TEST(RuleExpansionCounts, DuplicateProtocolsCountOnce) {
    Filter f;
    f.protocols = {kIpProtoTcp, kIpProtoTcp, kIpProtoUdp, kIpProtoTcp};
    const auto rules_in = session({f});
    const auto rules = expand(rules_in);
    EXPECT_EQ(rules.size(), 4u);  // 2 protocols × 2 families
    EXPECT_EQ(count_tuple_rules(rules_in), 4u);
    std::set<std::pair<int, int>> seen;
    for (const auto& r : rules) seen.insert({r.family, r.protocol});
    EXPECT_EQ(seen, (std::set<std::pair<int, int>>{{4, 6}, {4, 17}, {6, 6}, {6, 17}}));
}


TEST(RuleExpansionCounts, FiltersAddUp) {
    Filter icmp;  // no address or port: symmetric, one rule per family
    icmp.protocols = {kIpProtoIcmp};
    Filter link_local;  // IPv6 only, bidirectional: 2 rules
    link_local.destination = {v6("fe80::1")};
    const auto rules_in = session({ipv4_cross_product_filter(), icmp, link_local});
    const auto rules = expand(rules_in);
    EXPECT_EQ(rules.size(), 72u + 2 + 2);
    EXPECT_EQ(count_tuple_rules(rules_in), 76u);
    EXPECT_EQ(count_family(rules, 6), 3u);
}

// ---------------------------------------------------------------------------------------
// Directions

TEST(RuleExpansionDirections, IdenticalSidesAreNotDoubled) {
    Filter f;
    f.source = {v4("10.0.0.0", "10.255.255.255"), v4("192.168.1.1")};
    f.destination = f.source;
    f.source_ports = {port(80), {443, 444}};
    f.destination_ports = f.source_ports;
    f.bidirectional = true;
    const auto symmetric = expand(session({f}));
    // 2 × 2 × 2 × 2: swapping the sides gives back the same set of rules.
    EXPECT_EQ(symmetric.size(), 16u);
    EXPECT_EQ(count_tuple_rules(session({f})), 16u);
    f.bidirectional = false;
    EXPECT_EQ(keys(expand(session({f}))), keys(symmetric));

    // Different port lists: the swapped rules are new.
    f.bidirectional = true;
    f.destination_ports = {port(80)};
    EXPECT_EQ(expand(session({f})).size(), 2u * 2 * 2 * 1 * 2);
    EXPECT_EQ(count_tuple_rules(session({f})), 16u);

    // Same ports, different addresses: doubled too.
    f.destination_ports = f.source_ports;
    f.destination = {v4("192.168.1.1")};
    EXPECT_EQ(expand(session({f})).size(), 2u * 1 * 2 * 2 * 2);
    EXPECT_EQ(count_tuple_rules(session({f})), 16u);
}

TEST(RuleExpansionDirections, NoAddressOrPortConstraintIsSymmetric) {
    Filter f;
    f.protocols = {kIpProtoIcmp};
    f.bidirectional = true;
    EXPECT_EQ(expand(session({f})).size(), 2u);
    EXPECT_EQ(count_tuple_rules(session({f})), 2u);
    f.protocols.clear();
    f.tcp_flags = kTcpSyn;
    EXPECT_EQ(expand(session({f})).size(), 2u);
    EXPECT_EQ(count_tuple_rules(session({f})), 2u);
}

TEST(RuleExpansionDirections, SwappedRuleMovesAddressAndPortTogether) {
    Filter f;
    f.source = {v4("10.0.0.1")};
    f.source_ports = {{1000, 2000}};
    f.bidirectional = true;
    auto rules = expand(session({f}));
    ASSERT_EQ(rules.size(), 2u);
    std::sort(rules.begin(), rules.end(),
              [](const TupleRule& a, const TupleRule& b) { return a.any_source < b.any_source; });
    const TupleRule& forward = rules[0];
    const TupleRule& backward = rules[1];
    EXPECT_EQ(forward.family, 4);
    EXPECT_FALSE(forward.any_source);
    EXPECT_TRUE(forward.any_destination);
    EXPECT_EQ(forward.source_v4_first, 0x0a000001u);
    EXPECT_EQ(forward.source_v4_last, 0x0a000001u);
    EXPECT_EQ(forward.source_ports, (PortRange{1000, 2000}));
    EXPECT_EQ(forward.destination_ports, kAnyPort);
    EXPECT_EQ(int(forward.required_fields), kHasSource | kHasPorts);

    EXPECT_EQ(backward.family, 4);
    EXPECT_TRUE(backward.any_source);
    EXPECT_FALSE(backward.any_destination);
    EXPECT_EQ(backward.destination_v4_first, 0x0a000001u);
    EXPECT_EQ(backward.destination_v4_last, 0x0a000001u);
    EXPECT_EQ(backward.source_ports, kAnyPort);
    EXPECT_EQ(backward.destination_ports, (PortRange{1000, 2000}));
    EXPECT_EQ(int(backward.required_fields), kHasDestination | kHasPorts);
}

// ---------------------------------------------------------------------------------------
// Families

TEST(RuleExpansionFamilies, Ipv4ListsGiveOnlyIpv4Rules) {
    Filter f;
    f.source = {v4("10.0.0.1")};
    f.destination = {v4("10.0.0.2"), v4("10.0.0.3")};
    f.protocols = {kIpProtoTcp};
    const auto rules = expand(session({f}));
    EXPECT_EQ(rules.size(), 4u);
    EXPECT_EQ(count_family(rules, 4), 4u);
    EXPECT_EQ(count_tuple_rules(session({f})), 4u);
}

TEST(RuleExpansionFamilies, Ipv6ListsGiveOnlyIpv6Rules) {
    Filter f;
    f.source = {v6("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff")};  // a /64
    f.destination_ports = {port(443)};
    f.bidirectional = false;
    const auto rules = expand(session({f}));
    ASSERT_EQ(rules.size(), 1u);
    EXPECT_EQ(rules[0].family, 6);
    EXPECT_EQ(rules[0].source_v6_prefix, 64);
    EXPECT_EQ(rules[0].source_v6, v6_address("2001:db8::"));
    EXPECT_EQ(count_tuple_rules(session({f})), 1u);
}

TEST(RuleExpansionFamilies, Ipv6SourcesWithIpv4DestinationsGiveNothing) {
    Filter f;
    f.source = {v6("2001:db8::1"), v6("2001:db8::5", "2001:db8::9")};
    f.destination = {v4("10.0.0.1")};
    for (bool bidirectional : {false, true}) {
        f.bidirectional = bidirectional;
        const auto rules_in = session({f});
        EXPECT_FALSE(rules_in.tuple_match_is_universal());  // it matches no packet at all
        EXPECT_TRUE(expand(rules_in).empty());
        EXPECT_EQ(count_tuple_rules(rules_in), 0u);
    }
    // Beside another filter, only the other filter's rules remain.
    Filter udp;
    udp.protocols = {kIpProtoUdp};
    EXPECT_EQ(expand(session({f, udp})).size(), 2u);
    EXPECT_EQ(count_tuple_rules(session({f, udp})), 2u);
}

TEST(RuleExpansionFamilies, MixedListSplitsByFamily) {
    Filter f;
    f.source = {v4("10.1.2.3"), v6("2001:db8::5")};
    f.bidirectional = false;
    auto rules = expand(session({f}));
    ASSERT_EQ(rules.size(), 2u);
    std::sort(rules.begin(), rules.end(),
              [](const TupleRule& a, const TupleRule& b) { return a.family < b.family; });
    EXPECT_EQ(rules[0].family, 4);
    EXPECT_EQ(rules[0].source_v4_first, v4_host("10.1.2.3"));
    EXPECT_EQ(rules[0].source_v4_last, v4_host("10.1.2.3"));
    EXPECT_EQ(rules[1].family, 6);
    EXPECT_EQ(rules[1].source_v6, v6_address("2001:db8::5"));
    EXPECT_EQ(rules[1].source_v6_prefix, 128);
}

TEST(RuleExpansionFamilies, NoAddressConstraintGivesBothFamilies) {
    Filter f;
    f.destination_ports = {port(22)};
    f.bidirectional = false;
    const auto rules = expand(session({f}));
    ASSERT_EQ(rules.size(), 2u);
    EXPECT_EQ(count_family(rules, 4), 1u);
    EXPECT_EQ(count_family(rules, 6), 1u);
    for (const auto& r : rules) {
        EXPECT_TRUE(r.any_source);
        EXPECT_TRUE(r.any_destination);
    }
}

// ---------------------------------------------------------------------------------------
// TCP flags

TEST(RuleExpansionTcpFlags, OneRulePerSetBitOnTcp) {
    Filter f;
    f.tcp_flags = 0xff;
    f.bidirectional = false;
    const auto rules = expand(session({f}));
    ASSERT_EQ(rules.size(), 16u);
    EXPECT_EQ(count_tuple_rules(session({f})), 16u);
    std::map<int, std::set<int>> bits;
    for (const auto& r : rules) {
        bits[r.family].insert(r.tcp_flag_bit);
        EXPECT_FALSE(r.any_protocol);
        EXPECT_EQ(r.protocol, kIpProtoTcp);
        EXPECT_EQ(int(r.required_fields), kHasProtocol | kHasTcpFlags);
    }
    const std::set<int> all_bits = {1, 2, 4, 8, 16, 32, 64, 128};
    EXPECT_EQ(bits[4], all_bits);
    EXPECT_EQ(bits[6], all_bits);

    f.tcp_flags = kTcpSyn | kTcpAck;
    std::set<int> two;
    for (const auto& r : expand(session({f}))) two.insert(r.tcp_flag_bit);
    EXPECT_EQ(two, (std::set<int>{kTcpSyn, kTcpAck}));
}

TEST(RuleExpansionTcpFlags, NoRulesWhenProtocolsLackTcp) {
    Filter f;
    f.protocols = {kIpProtoUdp, kIpProtoIcmp};
    EXPECT_EQ(expand(session({f})).size(), 4u);  // the flags are what removes them below
    f.tcp_flags = kTcpSyn;
    const auto rules_in = session({f});
    EXPECT_FALSE(rules_in.tuple_match_is_universal());
    EXPECT_TRUE(expand(rules_in).empty());
    EXPECT_EQ(count_tuple_rules(rules_in), 0u);
}

TEST(RuleExpansionTcpFlags, OnlyTcpWhenProtocolsIncludeIt) {
    Filter f;
    f.protocols = {kIpProtoUdp, kIpProtoTcp, kIpProtoIcmp};
    f.tcp_flags = kTcpSyn | kTcpRst;
    const auto rules = expand(session({f}));
    EXPECT_EQ(rules.size(), 4u);
    EXPECT_EQ(count_tuple_rules(session({f})), 4u);
    for (const auto& r : rules) {
        EXPECT_EQ(r.protocol, kIpProtoTcp);
    }
}

// ---------------------------------------------------------------------------------------
// Tunnel classes (DESIGN §2.3)

TupleRule traced(int family, uint8_t protocol, PortRange source_ports,
                 PortRange destination_ports, uint8_t marker) {
    TupleRule r;
    r.family = uint8_t(family);
    r.any_protocol = false;
    r.protocol = protocol;
    r.source_ports = source_ports;
    r.destination_ports = destination_ports;
    r.required_fields = uint8_t(kHasProtocol | marker);
    if (source_ports != kAnyPort || destination_ports != kAnyPort)
        r.required_fields |= kHasPorts;
    return r;
}

std::multiset<RuleKey> expected_tracing(uint32_t flags) {
    std::vector<TupleRule> rules;
    for (int family : {4, 6}) {
        if (flags & kTraceEsp) {
            rules.push_back(traced(family, kIpProtoEsp, kAnyPort, kAnyPort, 0));
            rules.push_back(traced(family, kIpProtoUdp, port(4500), kAnyPort, kUdpMarkerNonZero));
            rules.push_back(traced(family, kIpProtoUdp, kAnyPort, port(4500), kUdpMarkerNonZero));
        }
        if (flags & kTraceIke) {
            rules.push_back(traced(family, kIpProtoUdp, port(500), kAnyPort, 0));
            rules.push_back(traced(family, kIpProtoUdp, kAnyPort, port(500), 0));
            rules.push_back(traced(family, kIpProtoUdp, port(4500), kAnyPort, kUdpMarkerZero));
            rules.push_back(traced(family, kIpProtoUdp, kAnyPort, port(4500), kUdpMarkerZero));
        }
        if (flags & kTraceOpenVpn) {
            rules.push_back(traced(family, kIpProtoUdp, port(1194), kAnyPort, 0));
            rules.push_back(traced(family, kIpProtoUdp, kAnyPort, port(1194), 0));
            rules.push_back(traced(family, kIpProtoTcp, port(1194), kAnyPort, 0));
            rules.push_back(traced(family, kIpProtoTcp, kAnyPort, port(1194), 0));
        }
    }
    return keys(rules);
}

TEST(RuleExpansionTracing, EachClassAndCombination) {
    for (uint32_t flags = 1; flags <= kAllTracingFlags; ++flags) {
        if ((flags & ~kAllTracingFlags) != 0) continue;
        SCOPED_TRACE(flags);
        const auto rules_in = session({}, flags);
        EXPECT_FALSE(rules_in.tuple_match_is_universal());
        const auto rules = expand(rules_in);
        const size_t per_family = (flags & kTraceEsp ? 3 : 0) + (flags & kTraceIke ? 4 : 0) +
                                  (flags & kTraceOpenVpn ? 4 : 0);
        EXPECT_EQ(rules.size(), 2 * per_family);
        EXPECT_EQ(count_tuple_rules(rules_in), 2 * per_family);
        EXPECT_EQ(keys(rules), expected_tracing(flags));
        for (const auto& r : rules) {
            EXPECT_TRUE(r.any_source);
            EXPECT_TRUE(r.any_destination);
            EXPECT_EQ(r.tcp_flag_bit, 0);
        }
    }
    EXPECT_EQ(expand(session({}, kAllTracingFlags)).size(), 22u);
}

TEST(RuleExpansionTracing, AddsToFilterRules) {
    Filter icmp;
    icmp.protocols = {kIpProtoIcmp};
    const auto rules_in = session({icmp}, kTraceEsp | kTraceIke);
    const auto rules = expand(rules_in);
    EXPECT_EQ(rules.size(), 2u + 14);
    EXPECT_EQ(count_tuple_rules(rules_in), 16u);
    auto expected = expected_tracing(kTraceEsp | kTraceIke);
    for (const auto& r : expand(session({icmp}))) expected.insert(key(r));
    EXPECT_EQ(keys(rules), expected);
}

// ---------------------------------------------------------------------------------------
// Required fields and values

TEST(RuleExpansionRequiredFields, EachConstrainedField) {
    struct Case {
        const char* name;
        Filter filter;
        uint8_t required;
    };
    auto make = [](auto edit) {
        Filter f;
        f.bidirectional = false;
        edit(f);
        return f;
    };
    const std::vector<Case> cases = {
        {"source", make([](Filter& f) { f.source = {v4("10.0.0.1")}; }), kHasSource},
        {"destination", make([](Filter& f) { f.destination = {v6("::1")}; }), kHasDestination},
        {"protocol", make([](Filter& f) { f.protocols = {kIpProtoSctp}; }), kHasProtocol},
        {"source port", make([](Filter& f) { f.source_ports = {port(7)}; }), kHasPorts},
        {"destination port", make([](Filter& f) { f.destination_ports = {{0, 0xffff}}; }),
         kHasPorts},
        {"tcp flags", make([](Filter& f) { f.tcp_flags = kTcpUrg; }),
         kHasProtocol | kHasTcpFlags},
        {"everything", make([](Filter& f) {
             f.source = {v4("10.0.0.1")};
             f.destination = {v4("10.0.0.2")};
             f.protocols = {kIpProtoTcp};
             f.source_ports = {port(1)};
             f.destination_ports = {port(2)};
             f.tcp_flags = kTcpAck;
         }),
         kHasSource | kHasDestination | kHasProtocol | kHasPorts | kHasTcpFlags},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto rules = expand(session({c.filter}));
        ASSERT_FALSE(rules.empty());
        for (const auto& r : rules) {
            EXPECT_EQ(int(r.required_fields), int(c.required));
            EXPECT_EQ(r.any_source, c.filter.source.empty());
            EXPECT_EQ(r.any_destination, c.filter.destination.empty());
            EXPECT_EQ(r.any_protocol, c.filter.protocols.empty() && c.filter.tcp_flags == 0);
            if (c.filter.source_ports.empty()) {
                EXPECT_EQ(r.source_ports, kAnyPort);
            }
            if (c.filter.destination_ports.empty()) {
                EXPECT_EQ(r.destination_ports, kAnyPort);
            }
            EXPECT_EQ(r.tcp_flag_bit, c.filter.tcp_flags);  // single-bit masks here
        }
    }
}

TEST(RuleExpansionRequiredFields, AddressesBecomeHostOrderRangesAndPrefixes) {
    Filter f;
    f.source = {v4("10.0.0.1", "10.0.0.9")};
    f.destination = {v6("2001:db8::1", "2001:db8::2"), v4("255.255.255.0", "255.255.255.255")};
    f.bidirectional = false;
    const auto rules = expand(session({f}));
    ASSERT_EQ(rules.size(), 1u);  // IPv4 source × IPv4 destination; no IPv6 source
    EXPECT_EQ(rules[0].source_v4_first, 0x0a000001u);
    EXPECT_EQ(rules[0].source_v4_last, 0x0a000009u);
    EXPECT_EQ(rules[0].destination_v4_first, 0xffffff00u);
    EXPECT_EQ(rules[0].destination_v4_last, 0xffffffffu);

    f.source.clear();
    auto six = expand(session({f}));
    ASSERT_EQ(count_family(six, 6), 2u);
    std::set<std::pair<Address, int>> seen;
    for (const auto& r : six)
        if (r.family == 6) seen.insert({r.destination_v6, r.destination_v6_prefix});
    EXPECT_EQ(seen, (std::set<std::pair<Address, int>>{{v6_address("2001:db8::1"), 128},
                                                      {v6_address("2001:db8::2"), 128}}));
}

// ---------------------------------------------------------------------------------------
// Sessions that match everything

TEST(RuleExpansionUniversal, NothingIsEmitted) {
    Filter constrained;
    constrained.protocols = {kIpProtoTcp};
    Filter one_way_only;  // `bidirectional` is not a constraint
    one_way_only.bidirectional = false;
    const std::vector<SessionRules> universal = {
        session({}),
        session({Filter{}}),
        session({one_way_only}),
        session({constrained, Filter{}}, kAllTracingFlags),
    };
    for (const auto& s : universal) {
        EXPECT_TRUE(s.tuple_match_is_universal());
        EXPECT_TRUE(expand(s).empty());
        EXPECT_EQ(count_tuple_rules(s), 0u);
    }
}

// ---------------------------------------------------------------------------------------
// Saturation

AddressRange worst_case_v6() {  // 254 prefixes
    return v6("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
}

TEST(RuleExpansionSaturation, ThousandCubedIsExact) {
    Filter f;
    for (uint32_t i = 0; i < 1000; ++i) {
        AddressRange a{};
        a.first[12] = 10;
        a.first[14] = uint8_t(i >> 8);
        a.first[15] = uint8_t(i);
        a.last = a.first;
        f.source.push_back(a);
        a.first[12] = a.last[12] = 11;
        f.destination.push_back(a);
        f.source_ports.push_back(port(uint16_t(1024 + i)));
    }
    EXPECT_EQ(count_tuple_rules(session({f})), 2'000'000'000u);  // 1000³ × 2 directions
}

Filter huge_v6_filter(bool bidirectional) {
    Filter f;
    f.source.assign(1000, worst_case_v6());
    f.destination.assign(1000, worst_case_v6());
    for (int p = 0; p < 256; ++p) f.protocols.push_back(uint8_t(p));
    f.protocols.push_back(kIpProtoTcp);  // a duplicate must not count
    for (uint32_t i = 0; i < 1000; ++i) {
        f.source_ports.push_back(port(uint16_t(i)));
        // Different from the source ports, so both directions are needed.
        f.destination_ports.push_back(port(uint16_t(5000 + i)));
    }
    f.bidirectional = bidirectional;
    return f;
}

TEST(RuleExpansionSaturation, HugeCountsAreExactOrSaturate) {
    // 254000² × 256 × 1000² = 16516096000000000000: fits, barely, in 64 bits.
    const u128 exact = u128(254000) * 254000 * 256 * 1000 * 1000;
    ASSERT_LT(exact, u128(kMax));
    EXPECT_EQ(count_tuple_rules(session({huge_v6_filter(false)})), uint64_t(exact));
    // Twice that does not fit: the product saturates...
    EXPECT_EQ(count_tuple_rules(session({huge_v6_filter(true)})), kMax);
    // ...and so does the sum of two filters that each fit.
    EXPECT_EQ(count_tuple_rules(session({huge_v6_filter(false), huge_v6_filter(false)})), kMax);
    // Tracing rules on top of a saturated count stay saturated.
    EXPECT_EQ(count_tuple_rules(session({huge_v6_filter(true)}, kAllTracingFlags)), kMax);
}

// ---------------------------------------------------------------------------------------
// IPv6 range → prefixes

std::string show(const std::vector<Ipv6Prefix>& list) {
    std::string s;
    for (const auto& p : list) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, p.address.data(), text, sizeof text);
        s += std::string(text) + "/" + std::to_string(p.length) + " ";
    }
    return s;
}

TEST(RuleExpansionIpv6Range, KnownExamples) {
    const Address zero = v6_address("::");
    const Address ones = v6_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    auto all = prefixes(zero, ones);
    ASSERT_EQ(all.size(), 1u) << show(all);
    EXPECT_EQ(all[0].address, zero);
    EXPECT_EQ(all[0].length, 0);
    EXPECT_EQ(ipv6_range_prefix_count(zero, ones), 1u);

    auto pair = prefixes(v6_address("2001:db8::1"), v6_address("2001:db8::2"));
    ASSERT_EQ(pair.size(), 2u) << show(pair);
    EXPECT_EQ(pair[0].address, v6_address("2001:db8::1"));
    EXPECT_EQ(pair[0].length, 128);
    EXPECT_EQ(pair[1].address, v6_address("2001:db8::2"));
    EXPECT_EQ(pair[1].length, 128);

    auto aligned = prefixes(v6_address("2001:db8::"), v6_address("2001:db8::1"));
    ASSERT_EQ(aligned.size(), 1u) << show(aligned);
    EXPECT_EQ(aligned[0].length, 127);

    auto cidr = prefixes(v6_address("2001:db8::"),
                         v6_address("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    ASSERT_EQ(cidr.size(), 1u) << show(cidr);
    EXPECT_EQ(cidr[0].address, v6_address("2001:db8::"));
    EXPECT_EQ(cidr[0].length, 32);

    for (const Address& single : {zero, ones, v6_address("fe80::1")}) {
        auto one = prefixes(single, single);
        ASSERT_EQ(one.size(), 1u);
        EXPECT_EQ(one[0].address, single);
        EXPECT_EQ(one[0].length, 128);
    }

    // ::1 to the end: /128, /127, ..., /1.
    auto upper = prefixes(v6_address("::1"), ones);
    ASSERT_EQ(upper.size(), 128u);
    for (size_t i = 0; i < upper.size(); ++i) {
        EXPECT_EQ(upper[i].length, 128 - i);
    }
}

TEST(RuleExpansionIpv6Range, WorstCaseIs254) {
    const Address first = v6_address("::1");
    const Address last = v6_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
    const auto list = prefixes(first, last);
    ASSERT_EQ(list.size(), 254u);
    EXPECT_EQ(ipv6_range_prefix_count(first, last), 254u);
    // Lengths climb down from /128 to /2 below the midpoint and back up above it.
    for (size_t i = 0; i < 127; ++i) {
        EXPECT_EQ(list[i].length, 128 - i);
        EXPECT_EQ(list[253 - i].length, 128 - i);
    }
    EXPECT_EQ(list[127].address, v6_address("8000::"));
}

// The unique minimal cover: the maximal aligned blocks inside [lo, hi], found by
// splitting the address space top-down. Independent of the code under test.
void reference_cover(u128 lo, u128 hi, u128 start, int host_bits,
                     std::vector<std::pair<u128, int>>& out) {
    const u128 end = host_bits == 128 ? ~u128(0) : start + ((u128(1) << host_bits) - 1);
    if (end < lo || start > hi) return;
    if (lo <= start && end <= hi) {
        out.push_back({start, 128 - host_bits});
        return;
    }
    const u128 half = u128(1) << (host_bits - 1);
    reference_cover(lo, hi, start, host_bits - 1, out);
    reference_cover(lo, hi, start + half, host_bits - 1, out);
}

TEST(RuleExpansionIpv6Range, RandomRangesAreTiledExactly) {
    std::mt19937_64 rng(0x1b6u);
    auto random128 = [&] { return u128(rng()) << 64 | rng(); };
    auto host_mask = [](int host_bits) {
        return host_bits >= 128 ? ~u128(0) : (u128(1) << host_bits) - 1;
    };
    for (int iteration = 0; iteration < 20000; ++iteration) {
        u128 first = random128();
        u128 last = random128();
        switch (iteration % 4) {
            case 0: last = first + rng() % 5000; break;               // short
            case 1: {                                                   // shared prefix
                const int bits = int(rng() % 129);
                last = (first & ~host_mask(bits)) | (last & host_mask(bits));
                break;
            }
            case 2:                                                     // aligned ends
                first &= ~host_mask(int(rng() % 129));
                last |= host_mask(int(rng() % 129));
                break;
            default: break;                                             // anything
        }
        if (first > last) std::swap(first, last);
        const auto list = prefixes(from_u128(first), from_u128(last));
        ASSERT_FALSE(list.empty());
        ASSERT_LE(list.size(), 254u);
        ASSERT_EQ(ipv6_range_prefix_count(from_u128(first), from_u128(last)), list.size());
        u128 next = first;
        for (size_t i = 0; i < list.size(); ++i) {
            const Ipv6Prefix& p = list[i];
            ASSERT_LE(p.length, 128);
            const u128 start = to_u128(p.address);
            const u128 mask = host_mask(128 - p.length);
            ASSERT_EQ(start, next) << "gap or overlap at prefix " << i;
            ASSERT_EQ(start & mask, 0u) << "prefix " << i << " is not aligned";
            const u128 end = start | mask;
            ASSERT_LE(end, last);
            if (i + 1 < list.size()) next = end + 1;
            else ASSERT_EQ(end, last);
        }
        std::vector<std::pair<u128, int>> expected;
        reference_cover(first, last, 0, 128, expected);
        ASSERT_EQ(expected.size(), list.size());
        for (size_t i = 0; i < list.size(); ++i) {
            ASSERT_TRUE(to_u128(list[i].address) == expected[i].first);
            ASSERT_EQ(list[i].length, expected[i].second);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Random filters: count == emitted, and the rules select exactly what §2.2/§2.3 select.

// What a classifier knows about a packet: the PacketView fields, addresses as bytes.
struct Probe {
    uint8_t family = 4;
    uint8_t present = 0;
    Address source{}, destination{};
    uint8_t protocol = 0, tcp_flags = 0;
    uint16_t source_port = 0, destination_port = 0;
};

bool address_in(const std::vector<AddressRange>& list, const Probe& p, bool present,
                const Address& a) {
    if (list.empty()) return true;
    if (!present) return false;
    for (const auto& r : list)
        if (r.is_v6 == (p.family == 6) && r.first <= a && a <= r.last) return true;
    return false;
}

bool port_in(const std::vector<PortRange>& list, bool present, uint16_t value) {
    if (list.empty()) return true;
    if (!present) return false;
    for (const auto& r : list)
        if (r.first <= value && value <= r.last) return true;
    return false;
}

bool one_way_match(const Filter& f, const Probe& p) {
    auto has = [&](uint8_t bit) { return (p.present & bit) != 0; };
    if (!address_in(f.source, p, has(kHasSource), p.source)) return false;
    if (!address_in(f.destination, p, has(kHasDestination), p.destination)) return false;
    if (!f.protocols.empty() &&
        !(has(kHasProtocol) &&
          std::find(f.protocols.begin(), f.protocols.end(), p.protocol) != f.protocols.end()))
        return false;
    if (!port_in(f.source_ports, has(kHasPorts), p.source_port)) return false;
    if (!port_in(f.destination_ports, has(kHasPorts), p.destination_port)) return false;
    if (f.tcp_flags != 0 && !(has(kHasProtocol) && p.protocol == kIpProtoTcp &&
                              has(kHasTcpFlags) && (p.tcp_flags & f.tcp_flags) != 0))
        return false;
    return true;
}

Probe swapped(const Probe& p) {
    Probe s = p;
    std::swap(s.source, s.destination);
    std::swap(s.source_port, s.destination_port);
    s.present &= uint8_t(~(kHasSource | kHasDestination));
    if (p.present & kHasSource) s.present |= kHasDestination;
    if (p.present & kHasDestination) s.present |= kHasSource;
    return s;
}

bool filter_matches(const Filter& f, const Probe& p) {
    if (f.unconstrained()) return true;
    if (p.family == 0) return false;
    return one_way_match(f, p) || (f.bidirectional && one_way_match(f, swapped(p)));
}

bool is_traced(uint32_t flags, const Probe& p) {
    if (p.family == 0 || !(p.present & kHasProtocol)) return false;
    const bool ports = (p.present & kHasPorts) != 0;
    auto either = [&](uint16_t port) {
        return ports && (p.source_port == port || p.destination_port == port);
    };
    const bool udp = p.protocol == kIpProtoUdp;
    if ((flags & kTraceEsp) &&
        (p.protocol == kIpProtoEsp || (udp && either(4500) && (p.present & kUdpMarkerNonZero))))
        return true;
    if ((flags & kTraceIke) &&
        udp && (either(500) || (either(4500) && (p.present & kUdpMarkerZero))))
        return true;
    if ((flags & kTraceOpenVpn) && (udp || p.protocol == kIpProtoTcp) && either(1194))
        return true;
    return false;
}

bool session_matches(const SessionRules& s, const Probe& p) {
    if (s.filters.empty() && s.tracing_flags == 0) return true;
    for (const auto& f : s.filters)
        if (filter_matches(f, p)) return true;
    return is_traced(s.tracing_flags, p);
}

bool v6_prefix_match(const Address& value, const Address& prefix, int length) {
    const int host_bits = 128 - length;
    const u128 mask = host_bits >= 128 ? 0 : ~((u128(1) << host_bits) - 1);
    return (to_u128(value) & mask) == (to_u128(prefix) & mask);
}

bool host_bits_zero(const Address& prefix, int length) {
    const int host_bits = 128 - length;
    const u128 mask = host_bits >= 128 ? ~u128(0) : (u128(1) << host_bits) - 1;
    return (to_u128(prefix) & mask) == 0;
}

// How a classifier applies one tuple rule (what ruleset.cpp compiles into the ACL).
bool rule_matches(const TupleRule& r, const Probe& p) {
    if (r.family != p.family) return false;
    if ((p.present & r.required_fields) != r.required_fields) return false;
    if (!r.any_protocol && p.protocol != r.protocol) return false;
    if (r.tcp_flag_bit != 0 && (p.tcp_flags & r.tcp_flag_bit) == 0) return false;
    auto address_ok = [&](bool any, uint32_t first, uint32_t last, const Address& prefix,
                          uint8_t length, const Address& value) {
        if (any) return true;
        if (r.family == 4) {
            const uint32_t host = uint32_t(to_u128(value));
            return first <= host && host <= last;
        }
        return v6_prefix_match(value, prefix, length);
    };
    if (!address_ok(r.any_source, r.source_v4_first, r.source_v4_last, r.source_v6,
                    r.source_v6_prefix, p.source))
        return false;
    if (!address_ok(r.any_destination, r.destination_v4_first, r.destination_v4_last,
                    r.destination_v6, r.destination_v6_prefix, p.destination))
        return false;
    return r.source_ports.first <= p.source_port && p.source_port <= r.source_ports.last &&
           r.destination_ports.first <= p.destination_port &&
           p.destination_port <= r.destination_ports.last;
}

class RandomSessions {
public:
    explicit RandomSessions(uint32_t seed) : rng_(seed) {}

    SessionRules next() {
        SessionRules s;
        const uint32_t filters = rng_() % 8 == 0 ? 0 : 1 + rng_() % 3;
        for (uint32_t i = 0; i < filters; ++i) s.filters.push_back(filter());
        if (rng_() % 3 == 0) s.tracing_flags = uint32_t(rng_()) & kAllTracingFlags;
        return s;
    }

    Probe probe(const SessionRules& s) {
        Probe p;
        p.family = rng_() % 16 == 0 ? 0 : rng_() % 2 ? 4 : 6;
        if (p.family == 0) return p;
        for (uint8_t bit : {kHasSource, kHasDestination, kHasProtocol, kHasPorts, kHasTcpFlags})
            if (rng_() % 10 != 0) p.present |= bit;
        const uint32_t marker = rng_() % 3;
        if (marker == 1) p.present |= kUdpMarkerZero;
        if (marker == 2) p.present |= kUdpMarkerNonZero;
        std::vector<Address> addresses;
        std::vector<uint16_t> ports = {500, 4500, 1194, 0, 0xffff};
        std::vector<uint8_t> protocols = {kIpProtoTcp, kIpProtoUdp, kIpProtoEsp, kIpProtoIcmp};
        for (const auto& f : s.filters) {
            for (const auto* list : {&f.source, &f.destination})
                for (const auto& r : *list) {
                    if (r.is_v6 != (p.family == 6)) continue;
                    const u128 a = to_u128(r.first), b = to_u128(r.last);
                    for (u128 v : {a, b, a - 1, b + 1, a + (b - a) / 2}) addresses.push_back(from_u128(v));
                }
            for (const auto* list : {&f.source_ports, &f.destination_ports})
                for (const auto& r : *list)
                    for (int v : {r.first - 1, int(r.first), int(r.last), r.last + 1})
                        ports.push_back(uint16_t(v));
            protocols.insert(protocols.end(), f.protocols.begin(), f.protocols.end());
        }
        auto pick_address = [&] {
            Address a = addresses.empty() || rng_() % 4 == 0 ? random_address(p.family == 6)
                                                             : addresses[rng_() % addresses.size()];
            if (p.family == 4) std::fill(a.begin(), a.begin() + 12, 0);
            return a;
        };
        p.source = pick_address();
        p.destination = pick_address();
        p.protocol = rng_() % 8 == 0 ? uint8_t(rng_()) : protocols[rng_() % protocols.size()];
        p.source_port = rng_() % 8 == 0 ? uint16_t(rng_()) : ports[rng_() % ports.size()];
        p.destination_port = rng_() % 8 == 0 ? uint16_t(rng_()) : ports[rng_() % ports.size()];
        p.tcp_flags = uint8_t(rng_());
        return p;
    }

private:
    Address random_address(bool is_v6) {
        Address a{};
        if (!is_v6) {
            a[12] = 10;
            a[13] = uint8_t(rng_() % 2);
            a[14] = uint8_t(rng_() % 4);
            a[15] = uint8_t(rng_());
            return a;
        }
        a[0] = 0x20;
        a[1] = 0x01;
        a[2] = 0x0d;
        a[3] = 0xb8;
        if (rng_() % 8 == 0)
            for (auto& b : a) b = uint8_t(rng_());
        a[14] = uint8_t(rng_() % 4);
        a[15] = uint8_t(rng_());
        return a;
    }

    AddressRange range(bool is_v6) {
        AddressRange r;
        r.is_v6 = is_v6;
        r.first = random_address(is_v6);
        u128 first = to_u128(r.first);
        u128 last = first;
        switch (rng_() % 4) {
            case 0: break;  // one address
            case 1: last = first + rng_() % 600; break;
            case 2: {  // a CIDR block
                const int host_bits = int(rng_() % (is_v6 ? 40 : 12));
                const u128 mask = (u128(1) << host_bits) - 1;
                first &= ~mask;
                last = first | mask;
                break;
            }
            default:  // a wide IPv6 range (many prefixes), or an IPv4 /16-ish span
                if (is_v6) last = first | (u128(rng_()) << 64 | rng_());
                else last = first + rng_() % 70000;
                break;
        }
        if (!is_v6) {
            const u128 v4_max = 0xffffffffu;
            if (last > v4_max) last = v4_max;
        } else if (last < first) {
            last = ~u128(0);
        }
        r.first = from_u128(first);
        r.last = from_u128(last);
        return r;
    }

    std::vector<AddressRange> addresses() {
        std::vector<AddressRange> out;
        if (rng_() % 2 == 0) return out;
        const uint32_t n = 1 + rng_() % 3;
        const uint32_t families = rng_() % 3;  // IPv4 only, IPv6 only, mixed
        for (uint32_t i = 0; i < n; ++i)
            out.push_back(range(families == 2 ? rng_() % 2 == 0 : families == 1));
        return out;
    }

    std::vector<PortRange> port_list() {
        std::vector<PortRange> out;
        if (rng_() % 2 == 0) return out;
        for (uint32_t n = 1 + rng_() % 3; n > 0; --n) {
            static constexpr uint16_t kWellKnown[] = {53, 80, 443, 500, 1194, 4500};
            uint16_t a = rng_() % 2 ? kWellKnown[rng_() % 6] : uint16_t(rng_());
            uint16_t b = rng_() % 2 ? a : uint16_t(a + rng_() % 1000);
            if (b < a) std::swap(a, b);
            out.push_back({a, b});
        }
        return out;
    }

    Filter filter() {
        Filter f;
        if (rng_() % 20 == 0) return f;  // unconstrained: the session is universal
        f.source = addresses();
        f.destination = rng_() % 8 == 0 ? f.source : addresses();
        f.source_ports = port_list();
        f.destination_ports = rng_() % 8 == 0 ? f.source_ports : port_list();
        if (rng_() % 2 == 0) {
            static constexpr uint8_t kProtocols[] = {6, 17, 1, 50, 58, 132, 6};
            for (uint32_t n = 1 + rng_() % 3; n > 0; --n)
                f.protocols.push_back(rng_() % 8 == 0 ? uint8_t(rng_()) : kProtocols[rng_() % 7]);
        }
        if (rng_() % 4 == 0) f.tcp_flags = uint8_t(rng_());
        f.bidirectional = rng_() % 3 != 0;
        return f;
    }

    std::mt19937 rng_;
};

TEST(RuleExpansionRandom, CountMatchesEmittedAndRulesMatchTheFilters) {
    RandomSessions random(0xfeedu);
    size_t universal = 0, expanded = 0, checked = 0, probes_matched = 0, probes_total = 0;
    constexpr int kSessions = 3000;
    for (int iteration = 0; iteration < kSessions; ++iteration) {
        const SessionRules s = random.next();
        const uint64_t count = count_tuple_rules(s);
        if (s.tuple_match_is_universal()) {
            EXPECT_EQ(count, 0u);
            EXPECT_TRUE(expand(s).empty());
            ++universal;
            continue;
        }
        if (count > 300000) continue;
        const auto rules = expand(s);
        ASSERT_EQ(rules.size(), count) << "session " << iteration;
        ++expanded;
        for (const auto& r : rules) {
            ASSERT_TRUE(r.family == 4 || r.family == 6);
            ASSERT_EQ(r.any_source, !(r.required_fields & kHasSource));
            ASSERT_EQ(r.any_destination, !(r.required_fields & kHasDestination));
            ASSERT_EQ(r.any_protocol, !(r.required_fields & kHasProtocol));
            ASSERT_EQ(r.tcp_flag_bit != 0, (r.required_fields & kHasTcpFlags) != 0);
            ASSERT_EQ(__builtin_popcount(r.tcp_flag_bit), r.tcp_flag_bit ? 1 : 0);
            if (r.tcp_flag_bit) {
                ASSERT_EQ(r.protocol, kIpProtoTcp);
            }
            if (r.source_ports != kAnyPort || r.destination_ports != kAnyPort) {
                ASSERT_TRUE(r.required_fields & kHasPorts);
            }
            if (r.family == 6) {
                ASSERT_LE(r.source_v6_prefix, 128);
                ASSERT_LE(r.destination_v6_prefix, 128);
                if (!r.any_source) {
                    ASSERT_TRUE(host_bits_zero(r.source_v6, r.source_v6_prefix));
                }
                if (!r.any_destination) {
                    ASSERT_TRUE(host_bits_zero(r.destination_v6, r.destination_v6_prefix));
                }
            } else if (!r.any_source) {
                ASSERT_LE(r.source_v4_first, r.source_v4_last);
            }
        }
        if (rules.size() > 5000) continue;
        ++checked;
        for (int i = 0; i < 64; ++i) {
            const Probe p = random.probe(s);
            const bool want = session_matches(s, p);
            const bool got = std::any_of(rules.begin(), rules.end(),
                                         [&](const TupleRule& r) { return rule_matches(r, p); });
            ASSERT_EQ(got, want) << "session " << iteration << " probe " << i << " family "
                                 << int(p.family) << " present " << int(p.present)
                                 << " protocol " << int(p.protocol) << " ports "
                                 << p.source_port << "->" << p.destination_port;
            probes_matched += want;
            ++probes_total;
        }
    }
    // The generator must exercise both outcomes on most sessions, or this proves little.
    const size_t constrained = kSessions - universal;
    EXPECT_GT(universal, 100u);
    EXPECT_GT(expanded, constrained * 9 / 10);
    EXPECT_GT(checked, constrained * 3 / 4);
    EXPECT_GT(probes_matched, probes_total / 10);
    EXPECT_LT(probes_matched, probes_total * 9 / 10);
    std::printf("random sessions: %zu universal, %zu expanded, %zu probed; %zu of %zu probes "
                "matched\n", universal, expanded, checked, probes_matched, probes_total);
}

}  // namespace
}  // namespace trawl::dataplane
