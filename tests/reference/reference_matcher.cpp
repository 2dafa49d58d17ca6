// The reference matcher, written from DESIGN.md §2.1 (payload), §2.2 and §2.3 alone.
//
// Everything here is done the slow, obvious way: the packet is parsed afresh for every
// call into a small `View` (which fields are present, and their values), and each filter
// is checked constraint by constraint. Nothing is precomputed, nothing is clever.
//
// Decisions where the contract is silent (each one is a choice the classifier must share):
//  1. Ethernet needs 14 captured bytes; fewer is a non-IP packet. A VLAN tag needs its 4
//     bytes (TCI + next ethertype) captured, else the packet is non-IP. Any of the three
//     TPIDs may appear in either tag position; a third tag makes the packet non-IP.
//  2. IPv4: the version/IHL byte must be captured to be IPv4; if it is not, the packet is
//     non-IP. (No filter or tunnel class can tell the difference: an IP packet with no
//     field present fails every constraint, and both have an empty payload.)
//  3. IPv4: the protocol is present whenever header byte 9 is captured, even if the
//     options (IHL > 5) or the transport header are cut off. The source address is
//     present when header bytes 12..15 are captured, the destination when 16..19 are.
//     IPv4 has no "walk": the transport header starts at IHL*4, and ports exist when
//     its first 4 bytes are captured (and the fragment offset is 0).
//  4. IPv6: no version-nibble check; ethertype 0x86DD is IPv6. Source present when header
//     bytes 8..23 are captured, destination when 24..39 are.
//  5. IPv6 walk: the upper-layer header starts at U, the offset after the last header
//     walked (the fixed header, then every 0/43/44/60/51 header). "Would start after the
//     last captured byte" is read literally: U >= captured length (U is past index
//     length-1) makes protocol and ports absent. So an IPv6 packet whose captured bytes end
//     exactly at the end of its header chain has no protocol. An extension header whose
//     next-header and length bytes (first 2 bytes) are not captured also leaves protocol
//     and ports absent (the walk cannot finish inside the captured bytes).
//  6. IPv6 fragment header with offset != 0: the walk ends after the fragment header; the
//     protocol is the fragment header's next-header value (present under rule 5, i.e. when
//     U < captured length), ports and TCP flags are absent.
//  7. TCP flags are byte 13 of the TCP header; they are absent when that byte is not
//     captured and in IPv4/IPv6 later fragments (there is no TCP header in them). A filter
//     with tcpFlags != 0 needs protocol 6 and present flags with (flags & mask) != 0.
//  8. Bidirectional swaps addresses and ports together; protocol and flags stay.
//     An IPv4 subnet never matches an IPv6 address and vice versa.
//  9. tracingFlags bits other than ESP=1, IKE=2, OpenVPN=8 select no class, but still make
//     "tracingFlags != 0", so a session with no filters and only unknown bits matches
//     nothing.
// 10. Payload (§2.1), as [offset, offset+length): TCP with a complete header (data offset
//     >= 5 and all data-offset*4 bytes captured) → after it; UDP with its 8 bytes captured
//     → after them; otherwise (other protocols, incomplete TCP/UDP header, TCP data offset
//     below 5, later fragments, IPv4 protocol byte not captured) → after the IP header
//     chain (IPv4: IHL*4; IPv6: U). If that start is at or past the captured length the
//     payload is empty, with offset = min(start, length). Non-IP: {0, 0}. IPv4 total
//     length is ignored, so Ethernet padding is part of the payload.
#include "tests/reference/reference_matcher.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace trawl::reference {
namespace {

// ---------------------------------------------------------------------------------------
// Packet view
// ---------------------------------------------------------------------------------------

using Address = std::array<uint8_t, 16>;  // IPv4 in bytes 12..15, like Range

struct View {
    bool is_ip = false;
    bool v6 = false;
    std::optional<Address> source, destination;
    std::optional<int> protocol;
    std::optional<uint16_t> source_port, destination_port;
    std::optional<uint8_t> tcp_flags;
    std::optional<size_t> l4_offset;  // where the upper-layer header starts (may be >= length)
    bool later_fragment = false;
    std::optional<size_t> udp_payload_offset;  // set for UDP when the 8-byte header is captured
};

uint16_t read16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }

bool captured(size_t length, size_t offset, size_t count) { return offset + count <= length; }

// Fills ports, flags and the UDP payload offset once protocol and l4_offset are known.
void read_transport(View& v, const uint8_t* data, size_t length) {
    if (!v.protocol || !v.l4_offset || v.later_fragment) return;
    const size_t l4 = *v.l4_offset;
    const int proto = *v.protocol;
    if (proto != 6 && proto != 17 && proto != 132) return;
    if (captured(length, l4, 4)) {
        v.source_port = read16(data + l4);
        v.destination_port = read16(data + l4 + 2);
    }
    if (proto == 6 && captured(length, l4, 14)) v.tcp_flags = data[l4 + 13];
    if (proto == 17 && captured(length, l4, 8)) v.udp_payload_offset = l4 + 8;
}

void parse_ipv4(View& v, const uint8_t* data, size_t length, size_t ip) {
    if (!captured(length, ip, 1)) return;  // decision 2: cannot be shown to be IPv4
    const unsigned version = data[ip] >> 4;
    const unsigned ihl = data[ip] & 0x0f;
    if (version != 4 || ihl < 5) return;
    v.is_ip = true;
    v.v6 = false;
    if (captured(length, ip, 10)) v.protocol = data[ip + 9];
    if (captured(length, ip, 16)) {
        Address a{};
        std::copy(data + ip + 12, data + ip + 16, a.begin() + 12);
        v.source = a;
    }
    if (captured(length, ip, 20)) {
        Address a{};
        std::copy(data + ip + 16, data + ip + 20, a.begin() + 12);
        v.destination = a;
    }
    v.l4_offset = ip + size_t(ihl) * 4;
    // The fragment offset lives in bytes 6..7; if they are not captured, the transport
    // header (at >= 20) is not captured either, so no port could be read anyway.
    if (captured(length, ip, 8) && (read16(data + ip + 6) & 0x1fff) != 0) v.later_fragment = true;
    read_transport(v, data, length);
}

void parse_ipv6(View& v, const uint8_t* data, size_t length, size_t ip) {
    v.is_ip = true;  // decision 4: no version check
    v.v6 = true;
    if (captured(length, ip, 24)) {
        Address a{};
        std::copy(data + ip + 8, data + ip + 24, a.begin());
        v.source = a;
    }
    if (captured(length, ip, 40)) {
        Address a{};
        std::copy(data + ip + 24, data + ip + 40, a.begin());
        v.destination = a;
    }
    if (!captured(length, ip, 7)) {
        // The next-header byte itself is missing; the chain starts after byte 40, so it
        // certainly ends past the captured bytes.
        v.l4_offset = ip + 40;
        return;
    }
    int next = data[ip + 6];
    size_t offset = ip + 40;
    for (;;) {
        if (next != 0 && next != 43 && next != 44 && next != 60 && next != 51) break;
        if (!captured(length, offset, 2)) {
            // Decision 5: the walk cannot finish inside the captured bytes. Every extension
            // header is at least 8 bytes long, so the chain ends at offset + 8 or later —
            // past the captured bytes; that is all the (empty) payload needs to know.
            v.l4_offset = offset + 8;
            return;
        }
        const int following = data[offset];
        size_t header_length = 0;
        if (next == 44) {
            header_length = 8;
            const bool offset_known = captured(length, offset, 4);
            // Unknown offset: the header ends at offset+8 > offset+3 >= length, so the
            // walk ends past the captured bytes whatever the offset is.
            if (offset_known && (read16(data + offset + 2) & 0xfff8) != 0) {
                v.later_fragment = true;
                next = following;
                offset += header_length;
                break;
            }
        } else if (next == 51) {
            header_length = (size_t(data[offset + 1]) + 2) * 4;
        } else {
            header_length = (size_t(data[offset + 1]) + 1) * 8;
        }
        next = following;
        offset += header_length;
    }
    v.l4_offset = offset;
    if (offset >= length) return;  // decision 5: protocol and ports absent
    v.protocol = next;
    read_transport(v, data, length);
}

View parse(const uint8_t* data, size_t length) {
    View v;
    if (data == nullptr || length < 14) return v;
    size_t offset = 12;  // ethertype
    uint16_t ethertype = read16(data + offset);
    for (int tags = 0; ethertype == 0x8100 || ethertype == 0x88a8 || ethertype == 0x9100; ++tags) {
        if (tags == 2) return v;  // a third tag: non-IP
        if (!captured(length, offset + 2, 4)) return v;
        offset += 4;
        ethertype = read16(data + offset);
    }
    const size_t ip = offset + 2;
    if (ethertype == 0x0800) parse_ipv4(v, data, length, ip);
    else if (ethertype == 0x86dd) parse_ipv6(v, data, length, ip);
    return v;
}

// ---------------------------------------------------------------------------------------
// Filters and tunnel classes
// ---------------------------------------------------------------------------------------

bool in_ranges(const std::vector<Range>& ranges, bool v6, const std::optional<Address>& a) {
    if (ranges.empty()) return true;
    if (!a) return false;
    for (const auto& r : ranges) {
        if (r.v6 != v6) continue;
        if (!(*a < r.lo) && !(r.hi < *a)) return true;  // std::array compares bytewise
    }
    return false;
}

bool in_ports(const std::vector<PortSpan>& spans, const std::optional<uint16_t>& port) {
    if (spans.empty()) return true;
    if (!port) return false;
    for (const auto& s : spans)
        if (*port >= s.lo && *port <= s.hi) return true;
    return false;
}

bool has_constraint(const Filter& f) {
    return !f.sources.empty() || !f.destinations.empty() || !f.source_ports.empty() ||
           !f.destination_ports.empty() || !f.protocols.empty() || f.tcp_flags != 0;
}

bool matches_one_direction(const Filter& f, const View& v, bool swapped) {
    const auto& src = swapped ? v.destination : v.source;
    const auto& dst = swapped ? v.source : v.destination;
    const auto& sport = swapped ? v.destination_port : v.source_port;
    const auto& dport = swapped ? v.source_port : v.destination_port;
    if (!in_ranges(f.sources, v.v6, src)) return false;
    if (!in_ranges(f.destinations, v.v6, dst)) return false;
    if (!in_ports(f.source_ports, sport)) return false;
    if (!in_ports(f.destination_ports, dport)) return false;
    if (!f.protocols.empty()) {
        if (!v.protocol) return false;
        if (std::find(f.protocols.begin(), f.protocols.end(), *v.protocol) == f.protocols.end())
            return false;
    }
    if (f.tcp_flags != 0) {
        if (!v.protocol || *v.protocol != 6 || !v.tcp_flags) return false;
        if ((*v.tcp_flags & f.tcp_flags) == 0) return false;
    }
    return true;
}

bool filter_matches(const Filter& f, const View& v) {
    if (!has_constraint(f)) return true;
    if (!v.is_ip) return false;
    if (matches_one_direction(f, v, false)) return true;
    return f.bidirectional && matches_one_direction(f, v, true);
}

bool either_port(const View& v, uint16_t port) {
    return (v.source_port && *v.source_port == port) ||
           (v.destination_port && *v.destination_port == port);
}

// The 4500 marker: nullopt when the first 4 UDP payload bytes are not all captured.
std::optional<bool> udp_marker_is_zero(const View& v, const uint8_t* data, size_t length) {
    if (!v.udp_payload_offset || !captured(length, *v.udp_payload_offset, 4)) return std::nullopt;
    const uint8_t* p = data + *v.udp_payload_offset;
    return p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0;
}

bool is_esp(const View& v, const uint8_t* data, size_t length) {
    if (!v.is_ip || !v.protocol) return false;
    if (*v.protocol == 50) return true;
    if (*v.protocol != 17 || !either_port(v, 4500)) return false;
    const auto zero = udp_marker_is_zero(v, data, length);
    return zero && !*zero;
}

bool is_ike(const View& v, const uint8_t* data, size_t length) {
    if (!v.is_ip || !v.protocol || *v.protocol != 17) return false;
    if (either_port(v, 500)) return true;
    if (!either_port(v, 4500)) return false;
    const auto zero = udp_marker_is_zero(v, data, length);
    return zero && *zero;
}

bool is_openvpn(const View& v) {
    if (!v.is_ip || !v.protocol || (*v.protocol != 17 && *v.protocol != 6)) return false;
    return either_port(v, 1194);
}

// ---------------------------------------------------------------------------------------
// Spec JSON
// ---------------------------------------------------------------------------------------

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("reference spec: " + what); }

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

uint64_t parse_decimal(const std::string& text, uint64_t max, const std::string& what) {
    const std::string s = trim(text);
    if (s.empty() || s.size() > 12) fail("bad number '" + text + "' in " + what);
    uint64_t value = 0;
    for (char c : s) {
        if (c < '0' || c > '9') fail("bad number '" + text + "' in " + what);
        value = value * 10 + uint64_t(c - '0');
    }
    if (value > max) fail("'" + text + "' out of range in " + what);
    return value;
}

struct ParsedAddress {
    bool v6 = false;
    Address bytes{};
};

ParsedAddress parse_address(const std::string& text, const std::string& what) {
    const std::string s = trim(text);
    ParsedAddress a;
    if (s.find(':') != std::string::npos) {
        a.v6 = true;
        if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) fail("bad IPv6 address '" + text + "' in " + what);
    } else {
        if (inet_pton(AF_INET, s.c_str(), a.bytes.data() + 12) != 1) fail("bad IPv4 address '" + text + "' in " + what);
    }
    return a;
}

Range parse_subnet(const nlohmann::json& item, const std::string& what) {
    if (!item.is_string()) fail(what + ": subnet must be a string");
    const std::string s = item.get<std::string>();
    Range r;
    if (auto slash = s.find('/'); slash != std::string::npos) {
        const ParsedAddress base = parse_address(s.substr(0, slash), what);
        const unsigned bits = base.v6 ? 128 : 32;
        const unsigned prefix = unsigned(parse_decimal(s.substr(slash + 1), bits, what));
        const unsigned first_bit = base.v6 ? 0 : 96;  // IPv4 lives in bytes 12..15
        r.v6 = base.v6;
        r.lo = base.bytes;
        r.hi = base.bytes;
        for (unsigned bit = first_bit + prefix; bit < 128; ++bit) {
            const uint8_t mask = uint8_t(0x80 >> (bit % 8));
            r.lo[bit / 8] &= uint8_t(~mask);  // host bits set in the CIDR are masked off
            r.hi[bit / 8] |= mask;
        }
        return r;
    }
    if (auto dash = s.find('-'); dash != std::string::npos) {
        const ParsedAddress lo = parse_address(s.substr(0, dash), what);
        const ParsedAddress hi = parse_address(s.substr(dash + 1), what);
        if (lo.v6 != hi.v6) fail(what + ": range '" + s + "' mixes IPv4 and IPv6");
        if (hi.bytes < lo.bytes) fail(what + ": range '" + s + "' runs backwards");
        r.v6 = lo.v6;
        r.lo = lo.bytes;
        r.hi = hi.bytes;
        return r;
    }
    const ParsedAddress a = parse_address(s, what);
    r.v6 = a.v6;
    r.lo = a.bytes;
    r.hi = a.bytes;
    return r;
}

PortSpan parse_port(const nlohmann::json& item, const std::string& what) {
    PortSpan p;
    if (item.is_number_integer() || item.is_number_unsigned()) {
        const int64_t v = item.get<int64_t>();
        if (v < 0 || v > 65535) fail(what + ": port " + std::to_string(v) + " out of range");
        p.lo = p.hi = uint32_t(v);
        return p;
    }
    if (!item.is_string()) fail(what + ": port must be an integer or a string");
    const std::string s = item.get<std::string>();
    if (auto dash = s.find('-'); dash != std::string::npos) {
        p.lo = uint32_t(parse_decimal(s.substr(0, dash), 65535, what));
        p.hi = uint32_t(parse_decimal(s.substr(dash + 1), 65535, what));
        if (p.hi < p.lo) fail(what + ": port range '" + s + "' runs backwards");
    } else {
        p.lo = p.hi = uint32_t(parse_decimal(s, 65535, what));
    }
    return p;
}

int parse_protocol(const nlohmann::json& item, const std::string& what) {
    if (item.is_number_integer() || item.is_number_unsigned()) {
        const int64_t v = item.get<int64_t>();
        if (v < 0 || v > 255) fail(what + ": protocol " + std::to_string(v) + " out of range");
        return int(v);
    }
    if (!item.is_string()) fail(what + ": protocol must be a number or a name");
    std::string s = trim(item.get<std::string>());
    if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) return int(parse_decimal(s, 255, what));
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    static const std::pair<const char*, int> names[] = {
        {"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58},
        {"sctp", 132}, {"esp", 50}, {"ah", 51}, {"gre", 47},
    };
    for (const auto& [name, number] : names)
        if (s == name) return number;
    fail(what + ": unknown protocol '" + item.get<std::string>() + "'");
}

// A list field: absent or null means empty.
const nlohmann::json* list_field(const nlohmann::json& f, const char* key, const std::string& what) {
    auto it = f.find(key);
    if (it == f.end() || it->is_null()) return nullptr;
    if (!it->is_array()) fail(what + "." + key + " must be a list");
    return &*it;
}

uint64_t unsigned_field(const nlohmann::json& o, const char* key, uint64_t max, const std::string& what) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return 0;
    if (it->is_number_unsigned() || it->is_number_integer()) {
        const int64_t v = it->get<int64_t>();
        if (v < 0 || uint64_t(v) > max) fail(what + "." + key + " out of range");
        return uint64_t(v);
    }
    if (it->is_string()) return parse_decimal(it->get<std::string>(), max, what + "." + key);
    fail(what + "." + key + " must be an integer");
}

Filter parse_filter(const nlohmann::json& f, const std::string& what) {
    if (!f.is_object()) fail(what + " must be an object");
    Filter out;
    if (auto* l = list_field(f, "sourceSubnets", what))
        for (const auto& i : *l) out.sources.push_back(parse_subnet(i, what + ".sourceSubnets"));
    if (auto* l = list_field(f, "destinationSubnets", what))
        for (const auto& i : *l) out.destinations.push_back(parse_subnet(i, what + ".destinationSubnets"));
    if (auto* l = list_field(f, "sourcePorts", what))
        for (const auto& i : *l) out.source_ports.push_back(parse_port(i, what + ".sourcePorts"));
    if (auto* l = list_field(f, "destinationPorts", what))
        for (const auto& i : *l) out.destination_ports.push_back(parse_port(i, what + ".destinationPorts"));
    if (auto* l = list_field(f, "protocols", what))
        for (const auto& i : *l) out.protocols.push_back(parse_protocol(i, what + ".protocols"));
    out.tcp_flags = uint32_t(unsigned_field(f, "tcpFlags", 255, what));
    if (auto it = f.find("bidirectional"); it != f.end() && !it->is_null()) {
        if (!it->is_boolean()) fail(what + ".bidirectional must be true or false");
        out.bidirectional = it->get<bool>();
    }
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------------------

Session session_from_json(const nlohmann::json& spec) {
    if (!spec.is_object()) fail("the spec must be a JSON object");
    Session s;
    if (auto* l = list_field(spec, "filters", "spec")) {
        for (size_t i = 0; i < l->size(); ++i)
            s.filters.push_back(parse_filter((*l)[i], "filters[" + std::to_string(i) + "]"));
    }
    s.tracing_flags = uint32_t(unsigned_field(spec, "tracingFlags", 0xffffffffu, "spec"));
    return s;
}

bool session_matches(const Session& session, const uint8_t* data, size_t length) {
    const View v = parse(data, length);
    if (session.filters.empty() && session.tracing_flags == 0) return true;
    for (const auto& f : session.filters)
        if (filter_matches(f, v)) return true;
    if ((session.tracing_flags & 1) && is_esp(v, data, length)) return true;
    if ((session.tracing_flags & 2) && is_ike(v, data, length)) return true;
    if ((session.tracing_flags & 8) && is_openvpn(v)) return true;
    return false;
}

Payload payload_of(const uint8_t* data, size_t length) {
    const View v = parse(data, length);
    if (!v.is_ip) return {};
    if (!v.l4_offset) return {length, 0, true};
    size_t start = *v.l4_offset;  // after the IP header chain
    if (v.protocol && !v.later_fragment && start < length) {
        if (*v.protocol == 6 && captured(length, start, 13)) {
            const size_t header = size_t(data[start + 12] >> 4) * 4;
            if (header >= 20 && captured(length, start, header)) start += header;
        } else if (*v.protocol == 17 && captured(length, start, 8)) {
            start += 8;
        }
    }
    if (start >= length) return {std::min(start, length), 0, true};
    return {start, length - start, true};
}

}  // namespace trawl::reference
