// The packet view filters see (DESIGN §2.2) and the payload that patterns scan (§2.1).
//
// Packets are built byte by byte, so each test states exactly which header bytes were
// captured; the expectations come from the contract's byte positions, never from the
// parser. Every parse runs on an exact-size heap copy of the captured bytes, so a read
// past `len` is an ASan report, and the fuzz tests also parse each buffer twice with
// different bytes after `len`, which catches such reads in the normal build too.
#include "dataplane/packet_view.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/filter.hpp"  // TCP flag names

namespace trawl::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kVlanTpids[] = {0x8100, 0x88a8, 0x9100};
constexpr uint8_t kIpProtoIcmp = 1;
constexpr uint8_t kIpProtoIcmpv6 = 58;
constexpr uint8_t kAllFields = kHasSource | kHasDestination | kHasProtocol | kHasPorts |
                               kHasTcpFlags | kUdpMarkerNonZero | kUdpMarkerZero;

// ---------------------------------------------------------------------------------------
// Builders. Each returns one header; a packet is their concatenation.

Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

void append16(Bytes& b, uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
}

void put16(Bytes& b, size_t at, uint16_t v) {
    b[at] = uint8_t(v >> 8);
    b[at + 1] = uint8_t(v);
}

// Ethernet II with the given VLAN tags (TPIDs, outermost first), then `ethertype`.
Bytes ethernet(uint16_t ethertype, std::initializer_list<uint16_t> vlan_tpids = {}) {
    Bytes b = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
    uint16_t vid = 100;
    for (uint16_t tpid : vlan_tpids) {
        append16(b, tpid);
        append16(b, vid++);
    }
    append16(b, ethertype);
    return b;
}

Bytes ethernet_tags(uint16_t ethertype, const std::vector<uint16_t>& vlan_tpids) {
    Bytes b = ethernet(ethertype);
    b.resize(12);
    for (uint16_t tpid : vlan_tpids) {
        append16(b, tpid);
        append16(b, 0x0064);
    }
    append16(b, ethertype);
    return b;
}

constexpr uint8_t kIpv4Source[4] = {192, 0, 2, 1};
constexpr uint8_t kIpv4Destination[4] = {198, 51, 100, 2};

// IPv4 header of max(ihl, 5) * 4 bytes. The total-length field claims a bare header on
// purpose: the view must be decided by the captured bytes, not by length fields.
Bytes ipv4(uint8_t protocol, uint16_t flags_fragment = 0, uint8_t ihl = 5,
           uint8_t version = 4) {
    Bytes b(size_t(std::max<uint8_t>(ihl, 5)) * 4, 0x01);  // options: NOP
    b[0] = uint8_t(version << 4 | (ihl & 0x0f));
    b[1] = 0;
    put16(b, 2, 20);
    put16(b, 4, 0x1234);
    put16(b, 6, flags_fragment);
    b[8] = 64;
    b[9] = protocol;
    put16(b, 10, 0);
    std::memcpy(&b[12], kIpv4Source, 4);
    std::memcpy(&b[16], kIpv4Destination, 4);
    return b;
}

constexpr uint8_t kIpv6Source[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                     0,    0,    0,    0,    0, 0, 0, 0x11};
constexpr uint8_t kIpv6Destination[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                          0,    0,    0,    0,    0, 0, 0, 0x22};

// IPv6 fixed header; the payload-length field is 0 on purpose (it must not be used).
Bytes ipv6(uint8_t next_header, uint8_t version = 6) {
    Bytes b(40, 0);
    b[0] = uint8_t(version << 4);
    b[6] = next_header;
    b[7] = 64;
    std::memcpy(&b[8], kIpv6Source, 16);
    std::memcpy(&b[24], kIpv6Destination, 16);
    return b;
}

// Hop-by-hop (0), routing (43), destination options (60): (hdr_ext_len + 1) * 8 bytes.
// The body is 0xee so that a parser reading ports from inside it gets 0xeeee.
Bytes extension(uint8_t type, uint8_t next_header, uint8_t hdr_ext_len) {
    (void)type;
    Bytes b((size_t(hdr_ext_len) + 1) * 8, 0xee);
    b[0] = next_header;
    b[1] = hdr_ext_len;
    return b;
}

// Fragment header (44): offset in 8-octet units, M flag.
Bytes fragment(uint8_t next_header, uint16_t offset_units, bool more = false) {
    Bytes b(8, 0xee);
    b[0] = next_header;
    b[1] = 0;
    put16(b, 2, uint16_t(offset_units << 3 | (more ? 1 : 0)));
    return b;
}

// Authentication header (51): (payload_len + 2) * 4 bytes.
Bytes auth_header(uint8_t next_header, uint8_t payload_len) {
    Bytes b((size_t(payload_len) + 2) * 4, 0xee);
    b[0] = next_header;
    b[1] = payload_len;
    return b;
}

// TCP header of max(data_offset_words, 5) * 4 bytes; options are 0xee.
Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint8_t data_offset_words = 5) {
    Bytes b(size_t(std::max<uint8_t>(data_offset_words, 5)) * 4, 0xee);
    put16(b, 0, sport);
    put16(b, 2, dport);
    for (size_t i = 4; i < 12; ++i) b[i] = uint8_t(0x10 + i);  // seq, ack
    b[12] = uint8_t(data_offset_words << 4);
    b[13] = flags;
    put16(b, 14, 0xffff);  // window
    put16(b, 16, 0);
    put16(b, 18, 0);
    return b;
}

Bytes udp(uint16_t sport, uint16_t dport) {
    Bytes b(8, 0);
    put16(b, 0, sport);
    put16(b, 2, dport);
    put16(b, 4, 8);
    return b;
}

Bytes sctp(uint16_t sport, uint16_t dport) {
    Bytes b(12, 0x33);
    put16(b, 0, sport);
    put16(b, 2, dport);
    return b;
}

Bytes icmp_echo() { return {8, 0, 0x12, 0x34, 0x00, 0x01, 0x00, 0x01}; }

Bytes payload(std::initializer_list<uint8_t> bytes) { return Bytes(bytes); }

Bytes filler(size_t n, uint8_t value = 0x5a) { return Bytes(n, value); }

// ---------------------------------------------------------------------------------------
// Parsing and reporting helpers.

// Parses the first `len` bytes of `packet` from an exact-size heap copy.
PacketView parse(const Bytes& packet, size_t len) {
    EXPECT_LE(len, packet.size());
    len = std::min(len, packet.size());
    std::unique_ptr<uint8_t[]> captured(new uint8_t[std::max<size_t>(len, 1)]);
    if (len != 0) std::memcpy(captured.get(), packet.data(), len);
    return parse_packet(captured.get(), uint32_t(len));
}

PacketView parse(const Bytes& packet) { return parse(packet, packet.size()); }

std::string fields(uint8_t present) {
    static const std::pair<uint8_t, const char*> kNames[] = {
        {kHasSource, "source"},          {kHasDestination, "destination"},
        {kHasProtocol, "protocol"},      {kHasPorts, "ports"},
        {kHasTcpFlags, "tcp_flags"},     {kUdpMarkerNonZero, "marker_nonzero"},
        {kUdpMarkerZero, "marker_zero"},
    };
    std::string s;
    for (const auto& [bit, name] : kNames) {
        if ((present & bit) == 0) continue;
        if (!s.empty()) s += '|';
        s += name;
    }
    if ((present & ~kAllFields) != 0) s += "|unknown";
    return s.empty() ? "none" : s;
}

// The complete expected view; payload_offset is only compared when payload_length != 0
// (an empty payload has no meaningful position).
struct Expected {
    uint8_t family = 0;
    uint8_t present = 0;
    uint8_t protocol = 0;
    uint8_t tcp_flags = 0;
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    uint32_t l3_offset = 0;
    uint32_t payload_offset = 0;
    uint32_t payload_length = 0;
};

void expect_view(const PacketView& v, const Expected& e, const Bytes& packet, size_t len) {
    SCOPED_TRACE("captured length " + std::to_string(len));
    EXPECT_EQ(int(v.family), int(e.family));
    EXPECT_EQ(fields(v.present), fields(e.present));
    if (v.family != 0 && e.family != 0) {
        EXPECT_EQ(v.l3_offset, e.l3_offset);
    }
    if (v.has(kHasProtocol) && (e.present & kHasProtocol)) {
        EXPECT_EQ(int(v.protocol), int(e.protocol));
    }
    if (v.has(kHasTcpFlags) && (e.present & kHasTcpFlags)) {
        EXPECT_EQ(int(v.tcp_flags), int(e.tcp_flags));
    }
    if (v.has(kHasPorts) && (e.present & kHasPorts)) {
        EXPECT_EQ(v.source_port, e.source_port);
        EXPECT_EQ(v.destination_port, e.destination_port);
    }
    EXPECT_EQ(v.payload_length, e.payload_length);
    if (e.payload_length != 0) {
        EXPECT_EQ(v.payload_offset, e.payload_offset);
    }
    EXPECT_LE(uint64_t(v.payload_offset) + v.payload_length, len);
    if (v.has(kHasSource) && (e.present & kHasSource)) {
        const size_t n = v.family == 4 ? 4 : 16;
        const uint8_t* want = v.family == 4 ? kIpv4Source : kIpv6Source;
        EXPECT_EQ(0, std::memcmp(v.source(packet.data()), want, n));
    }
    if (v.has(kHasDestination) && (e.present & kHasDestination)) {
        const size_t n = v.family == 4 ? 4 : 16;
        const uint8_t* want = v.family == 4 ? kIpv4Destination : kIpv6Destination;
        EXPECT_EQ(0, std::memcmp(v.destination(packet.data()), want, n));
    }
}

void expect_not_ip(const Bytes& packet, size_t len) {
    SCOPED_TRACE("captured length " + std::to_string(len));
    const PacketView v = parse(packet, len);
    EXPECT_EQ(int(v.family), 0);
    EXPECT_EQ(fields(v.present), "none");
    EXPECT_EQ(v.payload_length, 0u);  // §2.1: non-IP packets have no payload
    EXPECT_LE(v.payload_offset, len);
}

// What §2.1/§2.2 say about a packet whose IP header starts at l3 and whose upper-layer
// header starts at l4 (both known to the test), captured to `len` bytes. `protocol_from`
// is the first captured length at which the protocol is present.
struct Layout {
    uint8_t family = 4;
    uint32_t l3 = 0;
    uint32_t l4 = 0;
    uint32_t protocol_from = 0;
    uint8_t protocol = 0;
    bool later_fragment = false;
    uint16_t source_port = 0, destination_port = 0;
    uint8_t tcp_flags = 0;
    uint32_t tcp_data_offset = 20;  // bytes, from the header's nibble
    std::optional<bool> udp_marker_zero;  // when the full packet holds 4 bytes after UDP
};

Expected expected_at(const Layout& l, uint32_t len) {
    Expected e;
    if (len < 14 || len < l.l3) return e;        // runt, or a VLAN tag cut short
    if (l.family == 4 && len <= l.l3) return e;  // no version byte: not IP
    e.family = l.family;
    e.l3_offset = l.l3;
    const uint32_t avail = len - l.l3;
    if (avail >= (l.family == 4 ? 16u : 24u)) e.present |= kHasSource;
    if (avail >= (l.family == 4 ? 20u : 40u)) e.present |= kHasDestination;
    if (len < l.protocol_from) return e;
    e.present |= kHasProtocol;
    e.protocol = l.protocol;
    const uint64_t l4 = l.l4;
    if (l4 < len) {
        e.payload_offset = l.l4;
        e.payload_length = len - l.l4;
    }
    if (l.later_fragment) return e;
    const bool has_ports =
        l.protocol == kIpProtoTcp || l.protocol == kIpProtoUdp || l.protocol == kIpProtoSctp;
    if (has_ports && l4 + 4 <= len) {
        e.present |= kHasPorts;
        e.source_port = l.source_port;
        e.destination_port = l.destination_port;
    }
    if (l.protocol == kIpProtoTcp) {
        if (l4 + 14 <= len) {
            e.present |= kHasTcpFlags;
            e.tcp_flags = l.tcp_flags;
        }
        if (l4 + 20 <= len && l.tcp_data_offset >= 20 && l4 + l.tcp_data_offset <= len) {
            e.payload_offset = l.l4 + l.tcp_data_offset;
            e.payload_length = len - e.payload_offset;
        }
    } else if (l.protocol == kIpProtoUdp && l4 + 8 <= len) {
        e.payload_offset = l.l4 + 8;
        e.payload_length = len - e.payload_offset;
        if (l4 + 12 <= len && l.udp_marker_zero.has_value())
            e.present |= *l.udp_marker_zero ? kUdpMarkerZero : kUdpMarkerNonZero;
    }
    return e;
}

void expect_every_truncation(const Bytes& packet, const Layout& layout) {
    for (uint32_t len = 0; len <= packet.size(); ++len)
        expect_view(parse(packet, len), expected_at(layout, len), packet, len);
}

// ---------------------------------------------------------------------------------------
// Ethernet and VLAN

TEST(PacketViewEthernet, RuntFramesAreNotIp) {
    const Bytes packet = ethernet(kEtherIpv4) + ipv4(kIpProtoTcp) + tcp(1234, 80, kTcpSyn);
    for (size_t len = 0; len < 14; ++len) expect_not_ip(packet, len);
    const Bytes packet6 = ethernet(kEtherIpv6) + ipv6(kIpProtoTcp) + tcp(1234, 80, kTcpSyn);
    for (size_t len = 0; len < 14; ++len) expect_not_ip(packet6, len);
}

TEST(PacketViewEthernet, OtherEthertypesAreNotIp) {
    for (uint16_t type : {0x0806, 0x88cc, 0x0040 /* 802.3 length */, 0x0801, 0x86dc, 0x86de,
                          0x8847, 0x0000, 0xffff}) {
        SCOPED_TRACE(type);
        // An IPv4/TCP packet behind the wrong ethertype must not be parsed as one.
        expect_not_ip(ethernet(type) + ipv4(kIpProtoTcp) + tcp(1, 2, kTcpSyn), 54);
    }
}

TEST(PacketViewEthernet, UntaggedIpv4AndIpv6) {
    const PacketView v4 = parse(ethernet(kEtherIpv4) + ipv4(kIpProtoTcp) + tcp(1234, 80, 0));
    EXPECT_EQ(int(v4.family), 4);
    EXPECT_EQ(v4.l3_offset, 14u);
    EXPECT_EQ(v4.source_port, 1234);
    const PacketView v6 = parse(ethernet(kEtherIpv6) + ipv6(kIpProtoUdp) + udp(53, 5353));
    EXPECT_EQ(int(v6.family), 6);
    EXPECT_EQ(v6.l3_offset, 14u);
    EXPECT_EQ(v6.destination_port, 5353);
}

TEST(PacketViewEthernet, OneAndTwoVlanTagsWithEachTpid) {
    for (uint16_t outer : kVlanTpids) {
        SCOPED_TRACE(outer);
        const Bytes one = ethernet_tags(kEtherIpv4, {outer}) + ipv4(kIpProtoTcp) +
                          tcp(1234, 80, kTcpAck) + payload({'x'});
        PacketView v = parse(one);
        EXPECT_EQ(int(v.family), 4);
        EXPECT_EQ(v.l3_offset, 18u);
        EXPECT_EQ(fields(v.present), "source|destination|protocol|ports|tcp_flags");
        EXPECT_EQ(v.source_port, 1234);
        EXPECT_EQ(v.destination_port, 80);
        EXPECT_EQ(v.payload_offset, 58u);
        EXPECT_EQ(v.payload_length, 1u);
        for (uint16_t inner : kVlanTpids) {
            SCOPED_TRACE(inner);
            const Bytes two = ethernet_tags(kEtherIpv6, {outer, inner}) + ipv6(kIpProtoUdp) +
                              udp(500, 4500) + payload({0, 0, 0, 0, 1});
            v = parse(two);
            EXPECT_EQ(int(v.family), 6);
            EXPECT_EQ(v.l3_offset, 22u);
            EXPECT_EQ(fields(v.present), "source|destination|protocol|ports|marker_zero");
            EXPECT_EQ(v.source_port, 500);
            EXPECT_EQ(v.destination_port, 4500);
            EXPECT_EQ(v.payload_offset, 22u + 40 + 8);
            EXPECT_EQ(v.payload_length, 5u);
        }
    }
}

TEST(PacketViewEthernet, ThirdVlanTagIsNotIp) {
    for (uint16_t a : kVlanTpids)
        for (uint16_t b : kVlanTpids)
            for (uint16_t c : kVlanTpids) {
                const Bytes packet = ethernet_tags(kEtherIpv4, {a, b, c}) + ipv4(kIpProtoTcp) +
                                     tcp(1234, 80, kTcpSyn);
                expect_not_ip(packet, packet.size());
            }
}

TEST(PacketViewEthernet, NonVlanTagTypesAreNotSkipped) {
    // 0x88e7 (802.1ah I-TAG) and 0x9200 look like tags but are not in the list.
    for (uint16_t not_a_tag : {0x88e7, 0x9200, 0x8101}) {
        SCOPED_TRACE(not_a_tag);
        const Bytes outer = ethernet_tags(kEtherIpv4, {not_a_tag}) + ipv4(kIpProtoTcp) +
                            tcp(1, 2, kTcpSyn);
        expect_not_ip(outer, outer.size());
        const Bytes inner = ethernet_tags(kEtherIpv4, {0x8100, not_a_tag}) +
                            ipv4(kIpProtoTcp) + tcp(1, 2, kTcpSyn);
        expect_not_ip(inner, inner.size());
    }
}

TEST(PacketViewEthernet, TruncatedVlanTagIsNotIp) {
    for (uint16_t tpid : kVlanTpids) {
        const Bytes one = ethernet_tags(kEtherIpv4, {tpid}) + ipv4(kIpProtoTcp);
        for (size_t len = 14; len <= 18; ++len) expect_not_ip(one, len);  // 18: no IP byte
        const Bytes two = ethernet_tags(kEtherIpv4, {tpid, 0x8100}) + ipv4(kIpProtoTcp);
        for (size_t len = 14; len <= 22; ++len) expect_not_ip(two, len);
        // IPv6 behind a cut tag is not IP either (the ethertype was never reached).
        const Bytes six = ethernet_tags(kEtherIpv6, {tpid, 0x88a8}) + ipv6(kIpProtoTcp);
        for (size_t len = 14; len < 22; ++len) expect_not_ip(six, len);
    }
}

// ---------------------------------------------------------------------------------------
// IPv4

TEST(PacketViewIpv4, EveryTruncationOfTcp) {
    for (size_t tags = 0; tags <= 2; ++tags) {
        SCOPED_TRACE("tags " + std::to_string(tags));
        const std::vector<uint16_t> tpids(kVlanTpids, kVlanTpids + tags);
        const Bytes packet = ethernet_tags(kEtherIpv4, tpids) + ipv4(kIpProtoTcp) +
                             tcp(40000, 443, kTcpPsh | kTcpAck) +
                             payload({'G', 'E', 'T', ' ', '/', '\n'});
        Layout l;
        l.family = 4;
        l.l3 = uint32_t(14 + 4 * tags);
        l.l4 = l.l3 + 20;
        l.protocol_from = l.l3 + 10;
        l.protocol = kIpProtoTcp;
        l.source_port = 40000;
        l.destination_port = 443;
        l.tcp_flags = kTcpPsh | kTcpAck;
        expect_every_truncation(packet, l);

        // Spot checks written out, so the table above cannot drift with the helper.
        const uint32_t l3 = l.l3;
        EXPECT_EQ(fields(parse(packet, l3 + 9).present), "none");
        EXPECT_EQ(fields(parse(packet, l3 + 10).present), "protocol");
        EXPECT_EQ(fields(parse(packet, l3 + 16).present), "source|protocol");
        EXPECT_EQ(fields(parse(packet, l3 + 20).present), "source|destination|protocol");
        EXPECT_EQ(fields(parse(packet, l3 + 23).present), "source|destination|protocol");
        EXPECT_EQ(fields(parse(packet, l3 + 24).present), "source|destination|protocol|ports");
        EXPECT_EQ(fields(parse(packet, l3 + 33).present), "source|destination|protocol|ports");
        EXPECT_EQ(fields(parse(packet, l3 + 34).present),
                  "source|destination|protocol|ports|tcp_flags");
        EXPECT_EQ(parse(packet, l3 + 39).payload_offset, l3 + 20);  // TCP header incomplete
        EXPECT_EQ(parse(packet, l3 + 41).payload_offset, l3 + 40);
        EXPECT_EQ(parse(packet).payload_length, 6u);
    }
}

TEST(PacketViewIpv4, EveryTruncationOfUdp) {
    for (bool marker_zero : {false, true}) {
        const Bytes data = marker_zero ? payload({0, 0, 0, 0, 0xaa, 0xbb})
                                       : payload({0x12, 0x34, 0x56, 0x78, 0xaa});
        const Bytes packet = ethernet(kEtherIpv4) + ipv4(kIpProtoUdp) + udp(4500, 4500) + data;
        Layout l;
        l.family = 4;
        l.l3 = 14;
        l.l4 = 34;
        l.protocol_from = 24;
        l.protocol = kIpProtoUdp;
        l.source_port = 4500;
        l.destination_port = 4500;
        l.udp_marker_zero = marker_zero;
        expect_every_truncation(packet, l);
        EXPECT_EQ(fields(parse(packet, 45).present), "source|destination|protocol|ports");
        EXPECT_EQ(fields(parse(packet, 46).present),
                  std::string("source|destination|protocol|ports|") +
                      (marker_zero ? "marker_zero" : "marker_nonzero"));
    }
}

TEST(PacketViewIpv4, EveryTruncationOfIcmpAndSctp) {
    const Bytes icmp_packet = ethernet(kEtherIpv4) + ipv4(kIpProtoIcmp) + icmp_echo();
    Layout l;
    l.family = 4;
    l.l3 = 14;
    l.l4 = 34;
    l.protocol_from = 24;
    l.protocol = kIpProtoIcmp;
    expect_every_truncation(icmp_packet, l);
    EXPECT_FALSE(parse(icmp_packet).has(kHasPorts));
    EXPECT_EQ(parse(icmp_packet).payload_offset, 34u);  // §2.1: after the IP header

    const Bytes sctp_packet = ethernet(kEtherIpv4) + ipv4(kIpProtoSctp) + sctp(2905, 3868);
    l.protocol = kIpProtoSctp;
    l.source_port = 2905;
    l.destination_port = 3868;
    expect_every_truncation(sctp_packet, l);
    EXPECT_TRUE(parse(sctp_packet).has(kHasPorts));
}

TEST(PacketViewIpv4, IhlBelowFiveIsNotIp) {
    for (uint8_t ihl = 0; ihl < 5; ++ihl) {
        SCOPED_TRACE(int(ihl));
        const Bytes packet = ethernet(kEtherIpv4) + ipv4(kIpProtoTcp, 0, ihl) + tcp(1, 2, 0);
        expect_not_ip(packet, packet.size());
    }
}

TEST(PacketViewIpv4, VersionOtherThanFourIsNotIp) {
    for (uint8_t version : {0, 1, 5, 6, 7, 15}) {
        SCOPED_TRACE(int(version));
        const Bytes packet =
            ethernet(kEtherIpv4) + ipv4(kIpProtoTcp, 0, 5, version) + tcp(1, 2, 0);
        expect_not_ip(packet, packet.size());
    }
    // An IPv6 header behind ethertype 0x0800 is not IP.
    const Bytes six = ethernet(kEtherIpv4) + ipv6(kIpProtoTcp) + tcp(1, 2, 0);
    expect_not_ip(six, six.size());
}

TEST(PacketViewIpv4, OptionsShiftTheTransportHeader) {
    for (uint8_t ihl = 5; ihl <= 15; ++ihl) {
        SCOPED_TRACE(int(ihl));
        const Bytes packet = ethernet(kEtherIpv4) + ipv4(kIpProtoTcp, 0, ihl) +
                             tcp(2222, 22, kTcpRst) + payload({1, 2, 3});
        Layout l;
        l.family = 4;
        l.l3 = 14;
        l.l4 = 14 + uint32_t(ihl) * 4;
        l.protocol_from = 24;
        l.protocol = kIpProtoTcp;
        l.source_port = 2222;
        l.destination_port = 22;
        l.tcp_flags = kTcpRst;
        expect_every_truncation(packet, l);
        const PacketView v = parse(packet);
        EXPECT_EQ(v.source_port, 2222);
        EXPECT_EQ(int(v.tcp_flags), kTcpRst);
        EXPECT_EQ(v.payload_offset, 14u + ihl * 4u + 20);
        EXPECT_EQ(v.payload_length, 3u);
    }
}

TEST(PacketViewIpv4, OptionsBeyondCaptureLeaveProtocolOnly) {
    // IHL 15 claims 60 bytes; only 30 are captured: protocol (byte 9) is, ports are not.
    const Bytes packet = ethernet(kEtherIpv4) + ipv4(kIpProtoUdp, 0, 15) + udp(1, 2);
    const PacketView v = parse(packet, 14 + 30);
    EXPECT_EQ(fields(v.present), "source|destination|protocol");
    EXPECT_EQ(int(v.protocol), kIpProtoUdp);
    EXPECT_EQ(v.payload_length, 0u);
}

TEST(PacketViewIpv4, LaterFragmentHasProtocolButNoTransportFields) {
    for (uint16_t flags_fragment : {0x0001, 0x00b9, 0x1fff, 0x2001, 0x4001, 0x3fff}) {
        SCOPED_TRACE(flags_fragment);
        const Bytes tcp_packet = ethernet(kEtherIpv4) + ipv4(kIpProtoTcp, flags_fragment) +
                                 tcp(1234, 80, kTcpSyn) + payload({'a'});
        PacketView v = parse(tcp_packet);
        EXPECT_EQ(fields(v.present), "source|destination|protocol");
        EXPECT_EQ(int(v.protocol), kIpProtoTcp);
        EXPECT_EQ(v.payload_offset, 34u);  // the fragment's bytes follow the IP header
        EXPECT_EQ(v.payload_length, 21u);

        const Bytes udp_packet = ethernet(kEtherIpv4) + ipv4(kIpProtoUdp, flags_fragment) +
                                 udp(4500, 4500) + payload({0, 0, 0, 0});
        v = parse(udp_packet);
        EXPECT_EQ(fields(v.present), "source|destination|protocol");  // no marker either
        EXPECT_EQ(int(v.protocol), kIpProtoUdp);
        EXPECT_EQ(v.payload_offset, 34u);
        EXPECT_EQ(v.payload_length, 12u);

        const Bytes sctp_packet =
            ethernet(kEtherIpv4) + ipv4(kIpProtoSctp, flags_fragment) + sctp(1, 2);
        EXPECT_EQ(fields(parse(sctp_packet).present), "source|destination|protocol");
    }
}

TEST(PacketViewIpv4, FirstFragmentAndFlagBitsKeepPorts) {
    // MF alone (first fragment), DF, and the reserved bit: offset 0, so ports exist.
    for (uint16_t flags_fragment : {0x2000, 0x4000, 0x8000, 0xe000}) {
        SCOPED_TRACE(flags_fragment);
        const Bytes packet = ethernet(kEtherIpv4) + ipv4(kIpProtoTcp, flags_fragment) +
                             tcp(1234, 80, kTcpFin);
        const PacketView v = parse(packet);
        EXPECT_EQ(fields(v.present), "source|destination|protocol|ports|tcp_flags");
        EXPECT_EQ(v.source_port, 1234);
        EXPECT_EQ(v.destination_port, 80);
        EXPECT_EQ(int(v.tcp_flags), kTcpFin);
    }
}

TEST(PacketViewIpv4, PortsOnlyForTcpUdpAndSctp) {
    for (int protocol = 0; protocol < 256; ++protocol) {
        SCOPED_TRACE(protocol);
        // 20 transport bytes: ports 0x1234/0x5678, a TCP data offset of 5, flags 0x18,
        // and a non-zero word where a UDP payload would start.
        Bytes transport(20, 0x99);
        put16(transport, 0, 0x1234);
        put16(transport, 2, 0x5678);
        transport[12] = 0x50;
        transport[13] = 0x18;
        const Bytes packet =
            ethernet(kEtherIpv4) + ipv4(uint8_t(protocol)) + transport + payload({7});
        const PacketView v = parse(packet);
        EXPECT_EQ(int(v.protocol), protocol);
        const bool tcp_proto = protocol == kIpProtoTcp;
        const bool udp_proto = protocol == kIpProtoUdp;
        const bool ports = tcp_proto || udp_proto || protocol == kIpProtoSctp;
        uint8_t want = kHasSource | kHasDestination | kHasProtocol;
        if (ports) want |= kHasPorts;
        if (tcp_proto) want |= kHasTcpFlags;
        if (udp_proto) want |= kUdpMarkerNonZero;
        EXPECT_EQ(fields(v.present), fields(want));
        if (ports) {
            EXPECT_EQ(v.source_port, 0x1234);
            EXPECT_EQ(v.destination_port, 0x5678);
        }
        if (tcp_proto) {
            EXPECT_EQ(int(v.tcp_flags), 0x18);
        }
        const uint32_t payload_at = tcp_proto ? 54 : udp_proto ? 42 : 34;
        EXPECT_EQ(v.payload_offset, payload_at);
        EXPECT_EQ(v.payload_length, packet.size() - payload_at);
    }
}

TEST(PacketViewIpv4, TcpFlagsByteIsPresentOnlyWhenCaptured) {
    for (uint8_t flags : {0x00, 0x02, 0x12, 0xff}) {
        SCOPED_TRACE(int(flags));
        const Bytes packet = ethernet(kEtherIpv4) + ipv4(kIpProtoTcp) + tcp(1, 2, flags);
        EXPECT_FALSE(parse(packet, 34 + 13).has(kHasTcpFlags));
        const PacketView v = parse(packet, 34 + 14);
        EXPECT_TRUE(v.has(kHasTcpFlags));  // present even when the value is 0
        EXPECT_EQ(int(v.tcp_flags), flags);
    }
}

TEST(PacketViewIpv4, TcpDataOffsetDecidesThePayload) {
    const Bytes data = payload({'p', 'a', 'y'});
    // Below 20 bytes: not a valid header, the payload is everything after the IP header.
    for (uint8_t words = 0; words < 5; ++words) {
        SCOPED_TRACE(int(words));
        const Bytes packet = ethernet(kEtherIpv4) + ipv4(kIpProtoTcp) + tcp(1, 2, 0, words) + data;
        const PacketView v = parse(packet);
        EXPECT_TRUE(v.has(kHasPorts));
        EXPECT_TRUE(v.has(kHasTcpFlags));
        EXPECT_EQ(v.payload_offset, 34u);
        EXPECT_EQ(v.payload_length, 23u);
    }
    for (uint8_t words = 5; words <= 15; ++words) {
        SCOPED_TRACE(int(words));
        const uint32_t header = uint32_t(words) * 4;
        const Bytes packet = ethernet(kEtherIpv4) + ipv4(kIpProtoTcp) + tcp(1, 2, 0, words) + data;
        PacketView v = parse(packet);
        EXPECT_EQ(v.payload_offset, 34 + header);
        EXPECT_EQ(v.payload_length, 3u);
        // Options captured up to their end exactly: an empty payload after them.
        v = parse(packet, 34 + header);
        EXPECT_EQ(v.payload_length, 0u);
        if (words > 5) {
            // Options cut short: the header is incomplete, the payload follows IP.
            v = parse(packet, 34 + header - 1);
            EXPECT_EQ(v.payload_offset, 34u);
            EXPECT_EQ(v.payload_length, header - 1);
            EXPECT_TRUE(v.has(kHasTcpFlags));
        }
    }
}

TEST(PacketViewIpv4, UdpPayloadAndTheNonEspMarker) {
    const Bytes head = ethernet(kEtherIpv4) + ipv4(kIpProtoUdp) + udp(4500, 4500);
    // Zero marker: IKE; any non-zero byte: ESP-in-UDP.
    PacketView v = parse(head + payload({0, 0, 0, 0, 0x21}));
    EXPECT_EQ(fields(v.present), "source|destination|protocol|ports|marker_zero");
    EXPECT_EQ(v.payload_offset, 42u);
    EXPECT_EQ(v.payload_length, 5u);
    for (size_t i = 0; i < 4; ++i) {
        Bytes marker = {0, 0, 0, 0};
        marker[i] = 0x01;
        v = parse(head + marker);
        EXPECT_EQ(fields(v.present), "source|destination|protocol|ports|marker_nonzero") << i;
    }
    // Fewer than 4 payload bytes: neither marker bit, the payload is still after UDP.
    for (size_t extra = 0; extra < 4; ++extra) {
        const Bytes packet = head + payload({0, 0, 0, 0});
        v = parse(packet, 42 + extra);
        EXPECT_EQ(fields(v.present), "source|destination|protocol|ports") << extra;
        EXPECT_EQ(v.payload_length, extra);
        if (extra != 0) {
            EXPECT_EQ(v.payload_offset, 42u);
        }
    }
    // Incomplete UDP header: the payload is what follows the IP header.
    v = parse(head, 41);
    EXPECT_EQ(v.payload_offset, 34u);
    EXPECT_EQ(v.payload_length, 7u);
    // The marker bits describe any UDP packet, not only port 4500.
    v = parse(ethernet(kEtherIpv4) + ipv4(kIpProtoUdp) + udp(53, 53) + payload({0, 0, 0, 0}));
    EXPECT_TRUE(v.has(kUdpMarkerZero));
    // TCP never carries a marker bit.
    v = parse(ethernet(kEtherIpv4) + ipv4(kIpProtoTcp) + tcp(4500, 4500, 0) + payload({0, 0, 0, 0}));
    EXPECT_FALSE(v.has(kUdpMarkerZero));
    EXPECT_FALSE(v.has(kUdpMarkerNonZero));
}

// ---------------------------------------------------------------------------------------
// IPv6

Layout ipv6_layout(uint32_t l3, uint32_t l4, uint8_t protocol) {
    Layout l;
    l.family = 6;
    l.l3 = l3;
    l.l4 = l4;
    l.protocol_from = l4 + 1;  // the walk must end before the last captured byte
    l.protocol = protocol;
    return l;
}

TEST(PacketViewIpv6, EveryTruncationOfTcp) {
    for (size_t tags = 0; tags <= 2; ++tags) {
        SCOPED_TRACE("tags " + std::to_string(tags));
        const std::vector<uint16_t> tpids(kVlanTpids + (3 - tags), kVlanTpids + 3);
        const Bytes packet = ethernet_tags(kEtherIpv6, tpids) + ipv6(kIpProtoTcp) +
                             tcp(50000, 8080, kTcpSyn | kTcpEce | kTcpCwr, 7) +
                             payload({1, 2, 3, 4});
        const uint32_t l3 = uint32_t(14 + 4 * tags);
        Layout l = ipv6_layout(l3, l3 + 40, kIpProtoTcp);
        l.source_port = 50000;
        l.destination_port = 8080;
        l.tcp_flags = kTcpSyn | kTcpEce | kTcpCwr;
        l.tcp_data_offset = 28;
        expect_every_truncation(packet, l);

        // Ethertype 0x86DD alone makes the packet IPv6, even with no IP byte captured.
        EXPECT_EQ(int(parse(packet, l3).family), 6);
        EXPECT_EQ(fields(parse(packet, l3 + 23).present), "none");
        EXPECT_EQ(fields(parse(packet, l3 + 24).present), "source");
        EXPECT_EQ(fields(parse(packet, l3 + 40).present), "source|destination");
        EXPECT_EQ(fields(parse(packet, l3 + 41).present), "source|destination|protocol");
        EXPECT_EQ(fields(parse(packet, l3 + 44).present), "source|destination|protocol|ports");
    }
}

TEST(PacketViewIpv6, EveryTruncationOfUdp) {
    const Bytes packet =
        ethernet(kEtherIpv6) + ipv6(kIpProtoUdp) + udp(500, 4500) + payload({0, 0, 0, 9});
    Layout l = ipv6_layout(14, 54, kIpProtoUdp);
    l.source_port = 500;
    l.destination_port = 4500;
    l.udp_marker_zero = false;
    expect_every_truncation(packet, l);
}

TEST(PacketViewIpv6, VersionNibbleIsNotChecked) {
    for (uint8_t version : {0, 4, 6, 15}) {
        SCOPED_TRACE(int(version));
        const PacketView v =
            parse(ethernet(kEtherIpv6) + ipv6(kIpProtoTcp, version) + tcp(7, 9, kTcpAck));
        EXPECT_EQ(int(v.family), 6);
        EXPECT_EQ(v.source_port, 7);
        EXPECT_EQ(v.destination_port, 9);
    }
}

TEST(PacketViewIpv6, UpperLayersWithoutPorts) {
    for (uint8_t protocol : {kIpProtoIcmpv6, uint8_t(59) /* no next header */, kIpProtoEsp,
                             uint8_t(47) /* GRE */}) {
        SCOPED_TRACE(int(protocol));
        const Bytes packet = ethernet(kEtherIpv6) + ipv6(protocol) + filler(12);
        const PacketView v = parse(packet);
        EXPECT_EQ(fields(v.present), "source|destination|protocol");
        EXPECT_EQ(int(v.protocol), protocol);
        EXPECT_EQ(v.payload_offset, 54u);
        EXPECT_EQ(v.payload_length, 12u);
    }
}

struct ExtensionCase {
    const char* name;
    uint8_t type;
    Bytes header;  // its next-header field is TCP
};

std::vector<ExtensionCase> single_extensions() {
    return {
        {"hop-by-hop len 0", 0, extension(0, kIpProtoTcp, 0)},
        {"hop-by-hop len 1", 0, extension(0, kIpProtoTcp, 1)},
        {"routing len 2", 43, extension(43, kIpProtoTcp, 2)},
        {"destination options len 0", 60, extension(60, kIpProtoTcp, 0)},
        {"destination options len 5", 60, extension(60, kIpProtoTcp, 5)},
        {"fragment offset 0", 44, fragment(kIpProtoTcp, 0)},
        {"fragment offset 0 M", 44, fragment(kIpProtoTcp, 0, true)},
        // AH lengths are (len + 2) * 4: 12 bytes is not a multiple of 8 on purpose.
        {"AH len 1", 51, auth_header(kIpProtoTcp, 1)},
        {"AH len 4", 51, auth_header(kIpProtoTcp, 4)},
        {"AH len 0", 51, auth_header(kIpProtoTcp, 0)},
    };
}

TEST(PacketViewIpv6, EachExtensionHeaderIsWalked) {
    for (const auto& c : single_extensions()) {
        SCOPED_TRACE(c.name);
        const Bytes packet = ethernet(kEtherIpv6) + ipv6(c.type) + c.header +
                             tcp(1111, 2222, kTcpUrg) + payload({'z', 'z'});
        const uint32_t l4 = 54 + uint32_t(c.header.size());
        Layout l = ipv6_layout(14, l4, kIpProtoTcp);
        l.source_port = 1111;
        l.destination_port = 2222;
        l.tcp_flags = kTcpUrg;
        expect_every_truncation(packet, l);
        const PacketView v = parse(packet);
        EXPECT_EQ(fields(v.present), "source|destination|protocol|ports|tcp_flags");
        EXPECT_EQ(v.payload_offset, l4 + 20);
        EXPECT_EQ(v.payload_length, 2u);
    }
}

TEST(PacketViewIpv6, ChainOfSeveralExtensionHeaders) {
    const Bytes chain = extension(0, 43, 0) + extension(43, 44, 1) + fragment(60, 0, true) +
                        extension(60, 51, 2) + auth_header(60, 3) + extension(60, kIpProtoUdp, 0);
    const Bytes packet = ethernet_tags(kEtherIpv6, {0x88a8, 0x8100}) + ipv6(0) + chain +
                         udp(4500, 1701) + payload({0xde, 0xad, 0xbe, 0xef, 0});
    const uint32_t l4 = 22 + 40 + uint32_t(chain.size());
    ASSERT_EQ(chain.size(), 8u + 16 + 8 + 24 + 20 + 8);
    Layout l = ipv6_layout(22, l4, kIpProtoUdp);
    l.source_port = 4500;
    l.destination_port = 1701;
    l.udp_marker_zero = false;
    expect_every_truncation(packet, l);
    const PacketView v = parse(packet);
    EXPECT_EQ(int(v.protocol), kIpProtoUdp);
    EXPECT_TRUE(v.has(kUdpMarkerNonZero));
    EXPECT_EQ(v.payload_offset, l4 + 8);
    EXPECT_EQ(v.payload_length, 5u);
}

TEST(PacketViewIpv6, ManyExtensionHeadersTerminate) {
    Bytes chain;
    for (int i = 0; i < 200; ++i) chain = chain + extension(60, 60, 0);
    chain = chain + extension(60, kIpProtoTcp, 0);
    const Bytes packet = ethernet(kEtherIpv6) + ipv6(60) + chain + tcp(3, 4, kTcpSyn);
    const PacketView v = parse(packet);
    EXPECT_EQ(int(v.protocol), kIpProtoTcp);
    EXPECT_EQ(v.source_port, 3);
    EXPECT_EQ(v.destination_port, 4);
}

TEST(PacketViewIpv6, LaterFragmentEndsTheWalkWithoutPorts) {
    for (uint16_t offset_units : {1, 0x100, 0x1fff}) {
        for (bool more : {false, true}) {
            SCOPED_TRACE(std::to_string(offset_units) + (more ? " M" : ""));
            const Bytes packet = ethernet(kEtherIpv6) + ipv6(0) + extension(0, 44, 0) +
                                 fragment(kIpProtoTcp, offset_units, more) +
                                 tcp(1234, 80, kTcpSyn) + payload({'q'});
            Layout l = ipv6_layout(14, 14 + 40 + 8 + 8, kIpProtoTcp);
            l.later_fragment = true;
            expect_every_truncation(packet, l);
            const PacketView v = parse(packet);
            EXPECT_EQ(fields(v.present), "source|destination|protocol");
            EXPECT_EQ(int(v.protocol), kIpProtoTcp);
            EXPECT_EQ(v.payload_offset, 70u);
            EXPECT_EQ(v.payload_length, 21u);
        }
    }
    // The fragment's next header is the protocol, even when it names another extension
    // header: the walk stops at the fragment.
    const Bytes packet = ethernet(kEtherIpv6) + ipv6(44) + fragment(60, 3) +
                         extension(60, kIpProtoUdp, 0) + udp(1, 2) + payload({0, 0, 0, 0});
    const PacketView v = parse(packet);
    EXPECT_EQ(fields(v.present), "source|destination|protocol");
    EXPECT_EQ(int(v.protocol), 60);
    EXPECT_EQ(v.payload_offset, 62u);
}

TEST(PacketViewIpv6, FirstFragmentContinuesTheWalk) {
    const Bytes packet = ethernet(kEtherIpv6) + ipv6(44) + fragment(kIpProtoUdp, 0, true) +
                         udp(33434, 53) + payload({0, 0, 0, 0});
    const PacketView v = parse(packet);
    EXPECT_EQ(fields(v.present), "source|destination|protocol|ports|marker_zero");
    EXPECT_EQ(v.source_port, 33434);
    EXPECT_EQ(v.destination_port, 53);
    EXPECT_EQ(v.payload_offset, 70u);
}

TEST(PacketViewIpv6, WalkEndingAtOrBeyondTheCaptureHasNoProtocol) {
    // The fixed header alone, captured exactly: the upper layer would start after the
    // last captured byte.
    const Bytes bare = ethernet(kEtherIpv6) + ipv6(kIpProtoTcp) + tcp(1, 2, 0);
    EXPECT_EQ(fields(parse(bare, 54).present), "source|destination");
    EXPECT_EQ(parse(bare, 54).payload_length, 0u);
    EXPECT_EQ(fields(parse(bare, 55).present), "source|destination|protocol");
    EXPECT_EQ(parse(bare, 55).payload_offset, 54u);
    EXPECT_EQ(parse(bare, 55).payload_length, 1u);

    for (const auto& c : single_extensions()) {
        SCOPED_TRACE(c.name);
        const Bytes packet = ethernet(kEtherIpv6) + ipv6(c.type) + c.header + tcp(1, 2, 0);
        const uint32_t end = 54 + uint32_t(c.header.size());
        // Cut anywhere inside the extension header, or exactly at its end.
        for (uint32_t len = 54; len <= end; ++len) {
            const PacketView v = parse(packet, len);
            EXPECT_EQ(fields(v.present), "source|destination") << len;
            EXPECT_EQ(v.payload_length, 0u) << len;
        }
        const PacketView one_more = parse(packet, end + 1);
        EXPECT_EQ(fields(one_more.present), "source|destination|protocol");
        EXPECT_EQ(int(one_more.protocol), kIpProtoTcp);
        EXPECT_EQ(fields(parse(packet, end + 4).present), "source|destination|protocol|ports");
    }

    // The fixed header cut short while its next header names an extension header.
    const Bytes chained = ethernet(kEtherIpv6) + ipv6(0) + extension(0, kIpProtoTcp, 0);
    for (uint32_t len = 14; len <= 54; ++len) {
        const PacketView v = parse(chained, len);
        EXPECT_FALSE(v.has(kHasProtocol)) << len;
        EXPECT_EQ(v.payload_length, 0u) << len;
    }
}

TEST(PacketViewIpv6, HugeHeaderLengthPointingFarBeyondTheBuffer) {
    for (uint8_t type : {uint8_t(0), uint8_t(43), uint8_t(60), kIpProtoAh}) {
        SCOPED_TRACE(int(type));
        // Only the first 8 bytes of a 2048-byte (or 1028-byte AH) header are captured.
        Bytes header = filler(8, 0xee);
        header[0] = kIpProtoTcp;
        header[1] = 0xff;
        const Bytes packet = ethernet(kEtherIpv6) + ipv6(type) + header + tcp(1, 2, 0);
        const PacketView v = parse(packet);
        EXPECT_EQ(fields(v.present), "source|destination");
        EXPECT_EQ(v.payload_length, 0u);

        // The same header completely captured: the walk reaches the far TCP header.
        const Bytes whole = type == kIpProtoAh ? auth_header(kIpProtoTcp, 0xff)
                                               : extension(type, kIpProtoTcp, 0xff);
        EXPECT_EQ(whole.size(), type == kIpProtoAh ? 1028u : 2048u);
        const Bytes far = ethernet(kEtherIpv6) + ipv6(type) + whole + tcp(5, 6, kTcpPsh);
        const PacketView w = parse(far);
        EXPECT_EQ(fields(w.present), "source|destination|protocol|ports|tcp_flags");
        EXPECT_EQ(w.source_port, 5);
        EXPECT_EQ(w.payload_offset, 54u + whole.size() + 20);
    }
}

// ---------------------------------------------------------------------------------------
// Fuzz-style checks: random bytes and random truncations of generated valid packets.

uint8_t field_count(uint8_t present) { return uint8_t(__builtin_popcount(present)); }

// Properties every view must have, whatever the bytes.
void check_invariants(const PacketView& v, const uint8_t* packet, uint32_t len) {
    ASSERT_TRUE(v.family == 0 || v.family == 4 || v.family == 6);
    ASSERT_EQ(v.present & ~kAllFields, 0);
    ASSERT_LE(uint64_t(v.payload_offset) + v.payload_length, len);
    if (v.family == 0) {
        ASSERT_EQ(v.present, 0);
        ASSERT_EQ(v.payload_length, 0u);
        return;
    }
    ASSERT_LE(v.l3_offset, len);
    const uint32_t address = v.family == 4 ? 4 : 16;
    if (v.has(kHasSource)) {
        ASSERT_LE(uint64_t(v.source(packet) - packet) + address, len);
        ASSERT_EQ(v.source(packet) - packet, v.l3_offset + (v.family == 4 ? 12 : 8));
    }
    if (v.has(kHasDestination)) {
        ASSERT_LE(uint64_t(v.destination(packet) - packet) + address, len);
        ASSERT_EQ(v.destination(packet) - packet, v.l3_offset + (v.family == 4 ? 16 : 24));
    }
    if (v.has(kHasDestination)) {
        ASSERT_TRUE(v.has(kHasSource));
    }
    if (v.payload_length != 0) {
        ASSERT_TRUE(v.has(kHasProtocol));
        ASSERT_GE(v.payload_offset, v.l3_offset + (v.family == 4 ? 20u : 40u));
    }
    if (v.has(kHasPorts)) {
        ASSERT_TRUE(v.has(kHasProtocol));
        ASSERT_TRUE(v.protocol == kIpProtoTcp || v.protocol == kIpProtoUdp ||
                    v.protocol == kIpProtoSctp);
    }
    if (v.has(kHasTcpFlags)) {
        ASSERT_TRUE(v.has(kHasPorts));
        ASSERT_EQ(v.protocol, kIpProtoTcp);
    }
    if (v.present & (kUdpMarkerZero | kUdpMarkerNonZero)) {
        ASSERT_TRUE(v.has(kHasPorts));
        ASSERT_EQ(v.protocol, kIpProtoUdp);
        ASSERT_EQ(field_count(v.present & (kUdpMarkerZero | kUdpMarkerNonZero)), 1);
        // The marker follows a complete UDP header inside the capture.
        ASSERT_GE(v.payload_length, 4u);
    }
}

bool same_view(const PacketView& a, const PacketView& b) {
    return a.family == b.family && a.present == b.present && a.protocol == b.protocol &&
           a.tcp_flags == b.tcp_flags && a.source_port == b.source_port &&
           a.destination_port == b.destination_port && a.l3_offset == b.l3_offset &&
           a.payload_offset == b.payload_offset && a.payload_length == b.payload_length;
}

// Parses `len` bytes three ways: an exact-size heap copy (ASan sees over-reads), and
// followed by 0x00 or 0xff garbage (a read past `len` changes the answer). Returns the
// view after checking that the three agree and that the invariants hold.
PacketView parse_checked(const uint8_t* bytes, uint32_t len) {
    std::unique_ptr<uint8_t[]> exact(new uint8_t[std::max<uint32_t>(len, 1)]);
    if (len != 0) std::memcpy(exact.get(), bytes, len);
    const PacketView v = parse_packet(exact.get(), len);
    constexpr uint32_t kSlack = 4096;
    std::vector<uint8_t> padded(size_t(len) + kSlack);
    if (len != 0) std::memcpy(padded.data(), bytes, len);
    for (uint8_t garbage : {uint8_t(0x00), uint8_t(0xff)}) {
        std::fill(padded.begin() + len, padded.end(), garbage);
        const PacketView w = parse_packet(padded.data(), len);
        EXPECT_TRUE(same_view(v, w)) << "the view depends on bytes after len " << len;
    }
    check_invariants(v, exact.get(), len);
    return v;
}

TEST(PacketViewFuzz, RandomBytesNeverReportFieldsBeyondTheCapture) {
    std::mt19937 rng(0x7a17u);
    auto byte = [&] { return uint8_t(rng()); };
    size_t ip_views = 0, ports_seen = 0;
    for (int iteration = 0; iteration < 100000; ++iteration) {
        const uint32_t len = rng() % 160;
        Bytes packet(len);
        for (auto& b : packet) b = byte();
        // Bias the bytes towards the parser's decision points so it gets past them.
        auto put = [&](size_t at, uint16_t v) {
            if (at + 1 < packet.size()) put16(packet, at, v);
        };
        static constexpr uint16_t kTypes[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100};
        size_t at = 12;
        for (int tag = 0; tag < 3 && rng() % 4 != 0; ++tag) {
            put(at, kTypes[rng() % 5]);
            at += 4;
        }
        const bool v4 = rng() % 2 != 0;
        if (rng() % 8 != 0) put(at, v4 ? 0x0800 : 0x86dd);
        const size_t l3 = at + 2;
        static constexpr uint8_t kProtocols[] = {6, 17, 132, 0, 43, 44, 60, 51, 1};
        auto set = [&](size_t offset, uint8_t value) {
            if (l3 + offset < packet.size()) packet[l3 + offset] = value;
        };
        if (v4) {
            if (rng() % 4 != 0) set(0, uint8_t(0x40 | (rng() % 16)));
            if (rng() % 4 != 0) set(9, kProtocols[rng() % 9]);
            if (rng() % 2 != 0) {  // fragment offset 0
                set(6, uint8_t(rng() & 0xe0));
                set(7, 0);
            }
        } else {
            set(6, kProtocols[rng() % 9]);
            // Short extension headers, so that walks often reach an upper layer.
            for (size_t pos = 40; pos + 1 < 160; pos += 8) {
                if (rng() % 2 == 0) break;
                set(pos, kProtocols[rng() % 9]);
                set(pos + 1, 0);
            }
        }
        const PacketView v = parse_checked(packet.data(), len);
        if (HasFailure()) {
            ADD_FAILURE() << "iteration " << iteration;
            return;
        }
        ip_views += v.is_ip();
        ports_seen += v.has(kHasPorts);
    }
    // The biasing must actually reach the transport parsing, or the loop proves little.
    EXPECT_GT(ip_views, 30000u);
    EXPECT_GT(ports_seen, 5000u);
}

// A well-formed packet with everything the test needs to know about it.
struct Generated {
    Bytes bytes;
    Layout layout;
};

Generated generate_packet(std::mt19937& rng) {
    Generated g;
    Layout& l = g.layout;
    std::vector<uint16_t> tpids;
    for (uint32_t i = rng() % 3; i > 0; --i) tpids.push_back(kVlanTpids[rng() % 3]);
    l.family = rng() % 2 ? 4 : 6;
    l.l3 = uint32_t(14 + 4 * tpids.size());
    static constexpr uint8_t kUpper[] = {kIpProtoTcp, kIpProtoTcp, kIpProtoUdp, kIpProtoUdp,
                                         kIpProtoSctp, kIpProtoIcmp, kIpProtoEsp, 58, 47, 59};
    l.protocol = kUpper[rng() % std::size(kUpper)];
    Bytes ip;
    if (l.family == 4) {
        const uint8_t ihl = uint8_t(5 + (rng() % 3 == 0 ? rng() % 11 : 0));
        uint16_t flags_fragment = uint16_t(rng() & 0xe000);
        if (rng() % 4 == 0) {
            flags_fragment |= uint16_t(1 + rng() % 0x1fff);
            l.later_fragment = true;
        }
        ip = ipv4(l.protocol, flags_fragment, ihl);
        l.protocol_from = l.l3 + 10;
    } else {
        // A chain of extension headers; a later fragment stops the walk there.
        static constexpr uint8_t kExtensions[] = {0, 43, 60, 44, 51};
        std::vector<uint8_t> types;
        for (uint32_t i = rng() % 5; i > 0; --i) types.push_back(kExtensions[rng() % 5]);
        Bytes chain;
        uint32_t walk_end = 0;
        uint8_t protocol = l.protocol;
        for (size_t i = 0; i < types.size(); ++i) {
            const uint8_t next = i + 1 < types.size() ? types[i + 1] : l.protocol;
            Bytes header;
            if (types[i] == 44) {
                const bool later = rng() % 3 == 0;
                header = fragment(next, later ? uint16_t(1 + rng() % 0x1fff) : 0, rng() % 2);
                if (later && !l.later_fragment) {
                    l.later_fragment = true;
                    protocol = next;
                    walk_end = uint32_t(chain.size() + header.size());
                }
            } else if (types[i] == 51) {
                header = auth_header(next, uint8_t(rng() % 8));
            } else {
                header = extension(types[i], next, uint8_t(rng() % 4));
            }
            chain = chain + header;
        }
        if (!l.later_fragment) walk_end = uint32_t(chain.size());
        ip = ipv6(types.empty() ? l.protocol : types[0]) + chain;
        l.protocol = protocol;
        l.l4 = l.l3 + 40 + walk_end;
        l.protocol_from = l.l4 + 1;
    }
    if (l.family == 4) l.l4 = l.l3 + uint32_t(ip.size());

    // The upper-layer header sits right after the whole chain for IPv4 and for the
    // unfragmented IPv6 walk; after a later IPv6 fragment, whatever follows is data.
    const uint8_t upper = g.layout.later_fragment && l.family == 6 ? 0 : l.protocol;
    Bytes transport;
    l.source_port = uint16_t(rng());
    l.destination_port = uint16_t(rng());
    if (upper == kIpProtoTcp) {
        const uint8_t words = uint8_t(rng() % 8 == 0 ? rng() % 5 : 5 + rng() % 11);
        l.tcp_flags = uint8_t(rng());
        l.tcp_data_offset = uint32_t(words) * 4;
        transport = tcp(l.source_port, l.destination_port, l.tcp_flags, words);
    } else if (upper == kIpProtoUdp) {
        transport = udp(l.source_port, l.destination_port);
    } else if (upper == kIpProtoSctp) {
        transport = sctp(l.source_port, l.destination_port);
    }
    if (l.family == 4 && l.later_fragment) {
        // An IPv4 later fragment still holds bytes where ports would be.
        transport = udp(l.source_port, l.destination_port);
    }
    Bytes data(rng() % 24);
    const bool zero_marker = rng() % 3 == 0;
    for (size_t i = 0; i < data.size(); ++i) data[i] = zero_marker && i < 4 ? 0 : uint8_t(rng() | 1);
    if (upper == kIpProtoUdp && !l.later_fragment && data.size() >= 4)
        l.udp_marker_zero = zero_marker;
    g.bytes = ethernet_tags(l.family == 4 ? kEtherIpv4 : kEtherIpv6, tpids) + ip + transport + data;
    return g;
}

bool is_subset(uint8_t a, uint8_t b) { return (a & ~b) == 0; }

TEST(PacketViewFuzz, TruncatedValidPacketsMatchTheContract) {
    std::mt19937 rng(20240611u);
    size_t with_ports = 0, later_fragments = 0;
    for (int iteration = 0; iteration < 100000; ++iteration) {
        const Generated g = generate_packet(rng);
        const auto& packet = g.bytes;
        const uint32_t size = uint32_t(packet.size());
        const PacketView full = parse_checked(packet.data(), size);
        expect_view(full, expected_at(g.layout, size), packet, size);
        const uint32_t len = rng() % (size + 1);
        const PacketView cut = parse_checked(packet.data(), len);
        expect_view(cut, expected_at(g.layout, len), packet, len);
        // A shorter capture never adds a field, and never changes one it keeps.
        EXPECT_TRUE(is_subset(cut.present, full.present));
        if (cut.is_ip()) {
            EXPECT_EQ(cut.family, full.family);
        }
        if (cut.has(kHasProtocol)) {
            EXPECT_EQ(cut.protocol, full.protocol);
        }
        if (cut.has(kHasPorts)) {
            EXPECT_EQ(cut.source_port, full.source_port);
        }
        if (cut.has(kHasTcpFlags)) {
            EXPECT_EQ(cut.tcp_flags, full.tcp_flags);
        }
        if (HasFailure()) {
            ADD_FAILURE() << "iteration " << iteration << " family " << int(g.layout.family)
                          << " size " << size << " cut at " << len;
            return;
        }
        with_ports += full.has(kHasPorts);
        later_fragments += g.layout.later_fragment;
    }
    EXPECT_GT(with_ports, 30000u);
    EXPECT_GT(later_fragments, 10000u);
}

}  // namespace
}  // namespace trawl::dataplane
