#include "dataplane/rule_expansion.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "dataplane/packet_view.hpp"

namespace trawl::dataplane {
namespace {

using u128 = unsigned __int128;

u128 to_u128(const std::array<uint8_t, 16>& a) {
    u128 v = 0;
    for (uint8_t b : a) v = (v << 8) | b;
    return v;
}

std::array<uint8_t, 16> from_u128(u128 v) {
    std::array<uint8_t, 16> a{};
    for (int i = 15; i >= 0; --i) {
        a[size_t(i)] = uint8_t(v & 0xff);
        v >>= 8;
    }
    return a;
}

uint32_t v4_host(const std::array<uint8_t, 16>& a) {
    return uint32_t(a[12]) << 24 | uint32_t(a[13]) << 16 | uint32_t(a[14]) << 8 | a[15];
}

// Walks the prefixes covering [first, last]: at each step the largest aligned block
// that starts at `first` and does not pass `last`.
template <typename Sink>
void for_each_prefix(u128 first, u128 last, Sink&& sink) {
    for (;;) {
        int length = 128;
        while (length > 0) {
            const int host_bits = 128 - (length - 1);
            const u128 block_mask = host_bits >= 128 ? ~u128(0) : ((u128(1) << host_bits) - 1);
            if ((first & block_mask) != 0) break;           // not aligned to the bigger block
            if ((first | block_mask) > last) break;         // bigger block overshoots
            --length;
        }
        sink(first, length);
        const int host_bits = 128 - length;
        const u128 block_mask = host_bits >= 128 ? ~u128(0) : ((u128(1) << host_bits) - 1);
        const u128 end = first | block_mask;
        if (end >= last) return;
        first = end + 1;
    }
}

struct AddressChoice {
    bool constrained = false;
    uint32_t v4_first = 0, v4_last = 0;
    std::array<uint8_t, 16> v6{};
    uint8_t v6_prefix = 0;
};

struct PortChoice {
    bool constrained = false;
    PortRange range{};
};

struct ProtocolChoice {
    bool constrained = false;
    uint8_t protocol = 0;
};

uint64_t saturating_mul(uint64_t a, uint64_t b) {
    if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a)
        return std::numeric_limits<uint64_t>::max();
    return a * b;
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
    return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                        : a + b;
}

// Address choices of one family; an empty result means "no packet of this family can
// match" (the list was non-empty but held only the other family).
std::vector<AddressChoice> address_choices(const std::vector<AddressRange>& list, int family) {
    std::vector<AddressChoice> out;
    if (list.empty()) {
        out.push_back({});
        return out;
    }
    for (const auto& r : list) {
        if (r.is_v6 != (family == 6)) continue;
        if (family == 4) {
            AddressChoice c;
            c.constrained = true;
            c.v4_first = v4_host(r.first);
            c.v4_last = v4_host(r.last);
            out.push_back(c);
        } else {
            for_each_prefix(to_u128(r.first), to_u128(r.last), [&](u128 first, int length) {
                AddressChoice c;
                c.constrained = true;
                c.v6 = from_u128(first);
                c.v6_prefix = uint8_t(length);
                out.push_back(c);
            });
        }
    }
    return out;
}

uint64_t address_choice_count(const std::vector<AddressRange>& list, int family) {
    if (list.empty()) return 1;
    uint64_t n = 0;
    for (const auto& r : list) {
        if (r.is_v6 != (family == 6)) continue;
        n += family == 4 ? 1 : ipv6_range_prefix_count(r.first, r.last);
    }
    return n;
}

std::vector<PortChoice> port_choices(const std::vector<PortRange>& list) {
    std::vector<PortChoice> out;
    if (list.empty()) out.push_back({});
    for (const auto& r : list) out.push_back({true, r});
    return out;
}

std::vector<uint8_t> unique_protocols(const std::vector<uint8_t>& list) {
    std::vector<uint8_t> p = list;
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    return p;
}

// The protocol field: a TCP flag constraint narrows it to TCP (or to nothing, when the
// filter lists protocols without TCP: then no packet can match).
std::vector<ProtocolChoice> protocol_choices(const Filter& f) {
    std::vector<ProtocolChoice> out;
    const auto protocols = unique_protocols(f.protocols);
    if (f.tcp_flags != 0) {
        if (protocols.empty() ||
            std::binary_search(protocols.begin(), protocols.end(), kIpProtoTcp))
            out.push_back({true, kIpProtoTcp});
        return out;
    }
    if (protocols.empty()) out.push_back({});
    for (uint8_t p : protocols) out.push_back({true, p});
    return out;
}

std::vector<uint8_t> flag_bits(uint8_t mask) {
    std::vector<uint8_t> out;
    if (mask == 0) out.push_back(0);
    for (int bit = 0; bit < 8; ++bit)
        if (mask & (1u << bit)) out.push_back(uint8_t(1u << bit));
    return out;
}

int popcount8(uint8_t v) { return __builtin_popcount(v); }

// Swapping source and destination changes nothing when both sides are constrained alike.
bool direction_symmetric(const Filter& f) {
    return f.source == f.destination && f.source_ports == f.destination_ports;
}

TupleRule make_rule(int family, const AddressChoice& src, const AddressChoice& dst,
                    const ProtocolChoice& proto, const PortChoice& sport,
                    const PortChoice& dport, uint8_t flag_bit, uint8_t extra_required) {
    TupleRule r;
    r.family = uint8_t(family);
    r.required_fields = extra_required;
    if (src.constrained) {
        r.any_source = false;
        r.required_fields |= kHasSource;
        r.source_v4_first = src.v4_first;
        r.source_v4_last = src.v4_last;
        r.source_v6 = src.v6;
        r.source_v6_prefix = src.v6_prefix;
    }
    if (dst.constrained) {
        r.any_destination = false;
        r.required_fields |= kHasDestination;
        r.destination_v4_first = dst.v4_first;
        r.destination_v4_last = dst.v4_last;
        r.destination_v6 = dst.v6;
        r.destination_v6_prefix = dst.v6_prefix;
    }
    if (proto.constrained) {
        r.any_protocol = false;
        r.protocol = proto.protocol;
        r.required_fields |= kHasProtocol;
    }
    if (sport.constrained) {
        r.source_ports = sport.range;
        r.required_fields |= kHasPorts;
    }
    if (dport.constrained) {
        r.destination_ports = dport.range;
        r.required_fields |= kHasPorts;
    }
    if (flag_bit != 0) {
        r.tcp_flag_bit = flag_bit;
        r.required_fields |= kHasTcpFlags;
    }
    return r;
}

void expand_filter(const Filter& f, const TupleRuleSink& sink) {
    if (f.unconstrained()) return;  // matches everything: handled outside the ACL
    const auto protos = protocol_choices(f);
    const auto sports = port_choices(f.source_ports);
    const auto dports = port_choices(f.destination_ports);
    const auto flags = flag_bits(f.tcp_flags);
    const bool swap = f.bidirectional && !direction_symmetric(f);
    for (int family : {4, 6}) {
        const auto srcs = address_choices(f.source, family);
        const auto dsts = address_choices(f.destination, family);
        for (const auto& s : srcs)
            for (const auto& d : dsts)
                for (const auto& p : protos)
                    for (const auto& sp : sports)
                        for (const auto& dp : dports)
                            for (uint8_t bit : flags) {
                                sink(make_rule(family, s, d, p, sp, dp, bit, 0));
                                if (swap) sink(make_rule(family, d, s, p, dp, sp, bit, 0));
                            }
    }
}

uint64_t count_filter(const Filter& f) {
    if (f.unconstrained()) return 0;
    const uint64_t protos = protocol_choices(f).size();
    const uint64_t sports = f.source_ports.empty() ? 1 : f.source_ports.size();
    const uint64_t dports = f.destination_ports.empty() ? 1 : f.destination_ports.size();
    const uint64_t flags = f.tcp_flags == 0 ? 1 : uint64_t(popcount8(f.tcp_flags));
    const uint64_t directions = f.bidirectional && !direction_symmetric(f) ? 2 : 1;
    uint64_t total = 0;
    for (int family : {4, 6}) {
        uint64_t n = address_choice_count(f.source, family);
        n = saturating_mul(n, address_choice_count(f.destination, family));
        n = saturating_mul(n, protos);
        n = saturating_mul(n, sports);
        n = saturating_mul(n, dports);
        n = saturating_mul(n, flags);
        n = saturating_mul(n, directions);
        total = saturating_add(total, n);
    }
    return total;
}

// DESIGN §2.3, per family. A port on either side means two rules.
void expand_tracing(uint32_t tracing_flags, const TupleRuleSink& sink) {
    const AddressChoice any_addr;
    const PortChoice any_port;
    auto port = [](uint16_t p) { return PortChoice{true, PortRange{p, p}}; };
    auto proto = [](uint8_t p) { return ProtocolChoice{true, p}; };
    for (int family : {4, 6}) {
        auto either_port = [&](uint8_t protocol, uint16_t p, uint8_t extra) {
            sink(make_rule(family, any_addr, any_addr, proto(protocol), port(p), any_port, 0,
                           extra));
            sink(make_rule(family, any_addr, any_addr, proto(protocol), any_port, port(p), 0,
                           extra));
        };
        if (tracing_flags & kTraceEsp) {
            sink(make_rule(family, any_addr, any_addr, proto(kIpProtoEsp), any_port, any_port,
                           0, 0));
            either_port(kIpProtoUdp, 4500, kUdpMarkerNonZero);
        }
        if (tracing_flags & kTraceIke) {
            either_port(kIpProtoUdp, 500, 0);
            either_port(kIpProtoUdp, 4500, kUdpMarkerZero);
        }
        if (tracing_flags & kTraceOpenVpn) {
            either_port(kIpProtoUdp, 1194, 0);
            either_port(kIpProtoTcp, 1194, 0);
        }
    }
}

uint64_t count_tracing(uint32_t tracing_flags) {
    uint64_t per_family = 0;
    if (tracing_flags & kTraceEsp) per_family += 3;
    if (tracing_flags & kTraceIke) per_family += 4;
    if (tracing_flags & kTraceOpenVpn) per_family += 4;
    return per_family * 2;
}

}  // namespace

uint64_t ipv6_range_prefix_count(const std::array<uint8_t, 16>& first,
                                 const std::array<uint8_t, 16>& last) {
    uint64_t n = 0;
    for_each_prefix(to_u128(first), to_u128(last), [&](u128, int) { ++n; });
    return n;
}

void ipv6_range_to_prefixes(const std::array<uint8_t, 16>& first,
                            const std::array<uint8_t, 16>& last,
                            const std::function<void(const Ipv6Prefix&)>& sink) {
    for_each_prefix(to_u128(first), to_u128(last), [&](u128 start, int length) {
        sink(Ipv6Prefix{from_u128(start), uint8_t(length)});
    });
}

uint64_t count_tuple_rules(const SessionRules& rules) {
    if (rules.tuple_match_is_universal()) return 0;
    uint64_t total = count_tracing(rules.tracing_flags);
    for (const auto& f : rules.filters) total = saturating_add(total, count_filter(f));
    return total;
}

void expand_tuple_rules(const SessionRules& rules, const TupleRuleSink& sink) {
    if (rules.tuple_match_is_universal()) return;
    for (const auto& f : rules.filters) expand_filter(f, sink);
    expand_tracing(rules.tracing_flags, sink);
}

}  // namespace trawl::dataplane
