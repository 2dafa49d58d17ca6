// The reference matcher against hand-built packets, one rule of DESIGN §2.1-2.3 at a time.
// Every packet is assembled byte by byte here, so a reader can check each expectation
// against the contract without trusting any other parser in the project.
#include "tests/reference/reference_matcher.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace {

using trawl::reference::Payload;
using trawl::reference::Session;
using trawl::reference::payload_of;
using trawl::reference::session_from_json;
using trawl::reference::session_matches;

using Bytes = std::vector<uint8_t>;

Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

void put16(Bytes& b, uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
}

// Ethernet II: destination and source MAC, then each VLAN tag (TPID, TCI), then the type.
Bytes ether(uint16_t ethertype, std::initializer_list<uint16_t> tpids = {}) {
    Bytes b = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
    uint16_t vid = 10;
    for (uint16_t tpid : tpids) {
        put16(b, tpid);
        put16(b, vid++);
    }
    put16(b, ethertype);
    return b;
}

using V4 = std::array<uint8_t, 4>;
constexpr V4 kA4 = {10, 0, 0, 1};
constexpr V4 kB4 = {10, 0, 0, 2};

// IPv4 header; `fragment` is the flags+offset word (bytes 6..7). Options are zero bytes.
Bytes ipv4(uint8_t protocol, V4 src = kA4, V4 dst = kB4, uint16_t fragment = 0, uint8_t ihl = 5,
           uint8_t version = 4, uint16_t total_length = 0) {
    Bytes b;
    b.push_back(uint8_t((version << 4) | ihl));
    b.push_back(0);                 // DSCP/ECN
    put16(b, total_length);         // never used by the contract
    put16(b, 0x1234);               // identification
    put16(b, fragment);
    b.push_back(64);                // TTL
    b.push_back(protocol);
    put16(b, 0);                    // checksum
    b.insert(b.end(), src.begin(), src.end());
    b.insert(b.end(), dst.begin(), dst.end());
    for (int i = 20; i < ihl * 4; ++i) b.push_back(0);
    return b;
}

using V6 = std::array<uint8_t, 16>;
constexpr V6 kA6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
constexpr V6 kB6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};

Bytes ipv6(uint8_t next, V6 src = kA6, V6 dst = kB6, uint8_t version = 6) {
    Bytes b = {uint8_t(version << 4), 0, 0, 0};
    put16(b, 0);  // payload length: never used by the contract
    b.push_back(next);
    b.push_back(64);
    b.insert(b.end(), src.begin(), src.end());
    b.insert(b.end(), dst.begin(), dst.end());
    return b;
}

// Hop-by-hop / routing / destination options: length field n means (n+1)*8 bytes.
Bytes ext(uint8_t next, uint8_t length_field) {
    Bytes b(size_t(length_field + 1) * 8, 0);
    b[0] = next;
    b[1] = length_field;
    return b;
}

// AH: length field n means (n+2)*4 bytes.
Bytes ah(uint8_t next, uint8_t length_field) {
    Bytes b(size_t(length_field + 2) * 4, 0);
    b[0] = next;
    b[1] = length_field;
    return b;
}

// Fragment header: 8 bytes; `offset` in 8-byte units.
Bytes fragment6(uint8_t next, uint16_t offset, bool more) {
    Bytes b = {next, 0};
    put16(b, uint16_t((offset << 3) | (more ? 1 : 0)));
    put16(b, 0xabcd);
    put16(b, 0x0001);
    return b;
}

Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags = 0x10, uint8_t data_offset = 5) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put16(b, 0); put16(b, 1);  // sequence
    put16(b, 0); put16(b, 0);  // acknowledgement
    b.push_back(uint8_t(data_offset << 4));
    b.push_back(flags);
    put16(b, 65535);  // window
    put16(b, 0);      // checksum
    put16(b, 0);      // urgent
    for (int i = 20; i < data_offset * 4; ++i) b.push_back(1);  // options (NOPs)
    return b;
}

Bytes udp(uint16_t sport, uint16_t dport) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put16(b, 8);
    put16(b, 0);
    return b;
}

Bytes sctp(uint16_t sport, uint16_t dport) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    for (int i = 0; i < 8; ++i) b.push_back(0);  // verification tag + checksum
    return b;
}

// An ICMP echo whose identifier/sequence bytes look like ports 1234 → 80.
Bytes icmp_like_ports() { return {0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 0}; }

Bytes data(std::initializer_list<uint8_t> bytes) { return Bytes(bytes); }

Bytes cut(Bytes b, size_t n) {
    b.resize(n);
    return b;
}

Session spec(const std::string& json) { return session_from_json(nlohmann::json::parse(json)); }

bool matches(const std::string& json, const Bytes& packet) {
    return session_matches(spec(json), packet.data(), packet.size());
}

// Probes for "is this field present with this value" through one-direction filters.
bool protocol_is(const Bytes& p, int protocol) {
    return matches(R"({"filters":[{"protocols":[)" + std::to_string(protocol) + "]}]}", p);
}
bool ports_are(const Bytes& p, int sport, int dport) {
    return matches(R"({"filters":[{"sourcePorts":[)" + std::to_string(sport) + R"(],"destinationPorts":[)" +
                       std::to_string(dport) + R"(],"bidirectional":false}]})",
                   p);
}
bool source_is(const Bytes& p, const std::string& a) {
    return matches(R"({"filters":[{"sourceSubnets":[")" + a + R"("],"bidirectional":false}]})", p);
}
bool destination_is(const Bytes& p, const std::string& a) {
    return matches(R"({"filters":[{"destinationSubnets":[")" + a + R"("],"bidirectional":false}]})", p);
}
bool flags_match(const Bytes& p, int mask) {
    return matches(R"({"filters":[{"tcpFlags":)" + std::to_string(mask) + "}]}", p);
}
// A filter with a constraint matches only IP packets; protocol 0..255 covers every
// IP packet with a protocol.
bool is_ip_with_protocol(const Bytes& p) {
    for (int proto = 0; proto < 256; ++proto)
        if (protocol_is(p, proto)) return true;
    return false;
}

bool traced(int flags, const Bytes& p) {
    return matches(R"({"tracingFlags":)" + std::to_string(flags) + "}", p);
}

Payload payload(const Bytes& p) { return payload_of(p.data(), p.size()); }
Payload P(size_t offset, size_t length) { return Payload{offset, length}; }

}  // namespace

namespace trawl::reference {
// Found by argument-dependent lookup from inside GoogleTest's EXPECT_EQ.
bool operator==(const Payload& a, const Payload& b) { return a.offset == b.offset && a.length == b.length; }
void PrintTo(const Payload& p, std::ostream* os) { *os << "{offset " << p.offset << ", length " << p.length << "}"; }
}  // namespace trawl::reference

// ---------------------------------------------------------------------------------------
// Ethernet and VLAN
// ---------------------------------------------------------------------------------------

TEST(ReferenceEthernet, UntaggedIpv4TcpHasEveryField) {
    const Bytes p = ether(0x0800) + ipv4(6) + tcp(1234, 80);
    EXPECT_TRUE(protocol_is(p, 6));
    EXPECT_FALSE(protocol_is(p, 17));
    EXPECT_TRUE(ports_are(p, 1234, 80));
    EXPECT_FALSE(ports_are(p, 80, 1234));
    EXPECT_TRUE(source_is(p, "10.0.0.1"));
    EXPECT_TRUE(destination_is(p, "10.0.0.2"));
    EXPECT_FALSE(source_is(p, "10.0.0.2"));
}

TEST(ReferenceEthernet, OneVlanTagOfEachTpid) {
    for (uint16_t tpid : {0x8100, 0x88a8, 0x9100}) {
        const Bytes p = ether(0x0800, {tpid}) + ipv4(17) + udp(53, 5353);
        EXPECT_TRUE(ports_are(p, 53, 5353)) << std::hex << tpid;
        EXPECT_TRUE(protocol_is(p, 17)) << std::hex << tpid;
    }
}

TEST(ReferenceEthernet, TwoTagsInAnyTpidCombination) {
    for (uint16_t outer : {0x8100, 0x88a8, 0x9100})
        for (uint16_t inner : {0x8100, 0x88a8, 0x9100}) {
            const Bytes p = ether(0x86dd, {outer, inner}) + ipv6(6) + tcp(1, 2);
            EXPECT_TRUE(ports_are(p, 1, 2)) << std::hex << outer << "/" << inner;
        }
}

TEST(ReferenceEthernet, ThirdTagMakesThePacketNonIp) {
    const Bytes p = ether(0x0800, {0x88a8, 0x8100, 0x8100}) + ipv4(6) + tcp(1234, 80);
    EXPECT_FALSE(is_ip_with_protocol(p));
    EXPECT_FALSE(ports_are(p, 1234, 80));
    EXPECT_TRUE(matches(R"({"filters":[{}]})", p));  // no constraints: every packet
    EXPECT_TRUE(matches(R"({})", p));
    EXPECT_EQ(payload(p), P(0, 0));
}

TEST(ReferenceEthernet, TruncatedTagIsNonIp) {
    const Bytes full = ether(0x0800, {0x8100}) + ipv4(6) + tcp(1234, 80);
    // The tag needs bytes 14..17; with any of them missing nothing is known.
    for (size_t n = 0; n < 18; ++n) EXPECT_FALSE(is_ip_with_protocol(cut(full, n))) << n;
    EXPECT_TRUE(is_ip_with_protocol(full));
}

TEST(ReferenceEthernet, OtherEthertypesAndShortFramesAreNonIp) {
    Bytes arp = ether(0x0806) + ipv4(6) + tcp(1234, 80);  // IP-looking bytes behind ARP
    EXPECT_FALSE(is_ip_with_protocol(arp));
    EXPECT_FALSE(source_is(arp, "0.0.0.0/0"));
    EXPECT_TRUE(matches(R"({"filters":[{"bidirectional":false}]})", arp));
    EXPECT_EQ(payload(arp), P(0, 0));

    const Bytes tiny = {0x01, 0x02, 0x03};
    EXPECT_TRUE(matches("{}", tiny));
    EXPECT_FALSE(matches(R"({"filters":[{"protocols":["tcp"]}]})", tiny));
    EXPECT_EQ(payload(tiny), P(0, 0));

    const Bytes empty;
    EXPECT_TRUE(matches("{}", empty));
    EXPECT_TRUE(matches(R"({"filters":[{}]})", empty));
    EXPECT_FALSE(matches(R"({"filters":[{"tcpFlags":255}]})", empty));
    EXPECT_FALSE(traced(11, empty));
    EXPECT_EQ(payload(empty), P(0, 0));
    EXPECT_EQ(payload_of(nullptr, 0), P(0, 0));
}

// ---------------------------------------------------------------------------------------
// IPv4
// ---------------------------------------------------------------------------------------

TEST(ReferenceIpv4, TruncatedAtEveryByte) {
    const Bytes full = ether(0x0800) + ipv4(6) + tcp(1234, 80, 0x02) + data({'x', 'y'});
    for (size_t n = 0; n <= full.size(); ++n) {
        const Bytes p = cut(full, n);
        EXPECT_EQ(protocol_is(p, 6), n >= 14 + 10) << n;       // header byte 9
        EXPECT_EQ(source_is(p, "10.0.0.1"), n >= 14 + 16) << n;  // bytes 12..15
        EXPECT_EQ(destination_is(p, "10.0.0.2"), n >= 14 + 20) << n;  // bytes 16..19
        EXPECT_EQ(ports_are(p, 1234, 80), n >= 14 + 20 + 4) << n;
        EXPECT_EQ(flags_match(p, 0x02), n >= 14 + 20 + 14) << n;  // TCP byte 13
    }
}

TEST(ReferenceIpv4, IhlBelowFiveIsNonIp) {
    for (uint8_t ihl : {0, 1, 4}) {
        Bytes p = ether(0x0800) + ipv4(6) + tcp(1234, 80);
        p[14] = uint8_t(0x40 | ihl);
        EXPECT_FALSE(is_ip_with_protocol(p)) << int(ihl);
        EXPECT_FALSE(source_is(p, "10.0.0.1")) << int(ihl);
        EXPECT_TRUE(matches(R"({"filters":[{}]})", p));
        EXPECT_EQ(payload(p), P(0, 0));
    }
}

TEST(ReferenceIpv4, VersionOtherThanFourIsNonIp) {
    for (uint8_t version : {0, 5, 6, 15}) {
        const Bytes p = ether(0x0800) + ipv4(6, kA4, kB4, 0, 5, version) + tcp(1234, 80);
        EXPECT_FALSE(is_ip_with_protocol(p)) << int(version);
        EXPECT_FALSE(ports_are(p, 1234, 80)) << int(version);
    }
}

TEST(ReferenceIpv4, OptionsMoveTheTransportHeader) {
    const Bytes full = ether(0x0800) + ipv4(17, kA4, kB4, 0, 6) + udp(1000, 2000);
    EXPECT_TRUE(ports_are(full, 1000, 2000));
    // The protocol needs only byte 9, even with the options cut off.
    EXPECT_TRUE(protocol_is(cut(full, 14 + 21), 17));
    EXPECT_FALSE(ports_are(cut(full, 14 + 24 + 3), 1000, 2000));
    EXPECT_TRUE(ports_are(cut(full, 14 + 24 + 4), 1000, 2000));

    const Bytes big = ether(0x0800) + ipv4(17, kA4, kB4, 0, 15) + udp(7, 9);  // 60-byte header
    EXPECT_TRUE(ports_are(big, 7, 9));
}

TEST(ReferenceIpv4, LaterFragmentHasProtocolButNoPortsOrFlags) {
    for (uint16_t word : {0x0001, 0x2001, 0x1fff, 0x00b9}) {
        const Bytes p = ether(0x0800) + ipv4(6, kA4, kB4, word) + tcp(1234, 80, 0xff);
        EXPECT_TRUE(protocol_is(p, 6)) << word;
        EXPECT_TRUE(source_is(p, "10.0.0.1")) << word;
        EXPECT_FALSE(ports_are(p, 1234, 80)) << word;
        EXPECT_FALSE(flags_match(p, 0xff)) << word;
    }
    // First fragment (MF only), DF, and the reserved bit: offset 0, ports present.
    for (uint16_t word : {0x2000, 0x4000, 0x8000, 0xe000}) {
        const Bytes p = ether(0x0800) + ipv4(6, kA4, kB4, word) + tcp(1234, 80, 0x02);
        EXPECT_TRUE(ports_are(p, 1234, 80)) << word;
        EXPECT_TRUE(flags_match(p, 0x02)) << word;
    }
}

TEST(ReferenceIpv4, LengthFieldsAreIgnored) {
    // Total length 20 says "no transport"; the captured bytes say otherwise.
    const Bytes p = ether(0x0800) + ipv4(6, kA4, kB4, 0, 5, 4, 20) + tcp(1234, 80);
    EXPECT_TRUE(ports_are(p, 1234, 80));
    // Total length 9000 with 54 captured bytes: still only what is captured counts.
    const Bytes q = ether(0x0800) + ipv4(6, kA4, kB4, 0, 5, 4, 9000) + tcp(1234, 80);
    EXPECT_TRUE(ports_are(q, 1234, 80));
}

// ---------------------------------------------------------------------------------------
// IPv6
// ---------------------------------------------------------------------------------------

TEST(ReferenceIpv6, PlainTcpAndAddressBoundaries) {
    const Bytes full = ether(0x86dd) + ipv6(6) + tcp(443, 50000, 0x12);
    EXPECT_TRUE(ports_are(full, 443, 50000));
    EXPECT_TRUE(source_is(full, "2001:db8::1"));
    EXPECT_TRUE(destination_is(full, "2001:db8::2"));
    EXPECT_TRUE(flags_match(full, 0x10));
    for (size_t n = 0; n <= full.size(); ++n) {
        const Bytes p = cut(full, n);
        EXPECT_EQ(source_is(p, "2001:db8::1"), n >= 14 + 24) << n;
        EXPECT_EQ(destination_is(p, "2001:db8::2"), n >= 14 + 40) << n;
        // The upper-layer header starts at 14+40: it must start before the last byte.
        EXPECT_EQ(protocol_is(p, 6), n > 14 + 40) << n;
        EXPECT_EQ(ports_are(p, 443, 50000), n >= 14 + 44) << n;
        EXPECT_EQ(flags_match(p, 0x02), n >= 14 + 54) << n;
    }
}

TEST(ReferenceIpv6, NoVersionCheck) {
    for (uint8_t version : {0, 4, 6, 15}) {
        const Bytes p = ether(0x86dd) + ipv6(17, kA6, kB6, version) + udp(1, 2);
        EXPECT_TRUE(ports_are(p, 1, 2)) << int(version);
    }
}

TEST(ReferenceIpv6, EachLengthCountedExtensionHeader) {
    for (uint8_t type : {0, 43, 60})
        for (uint8_t len : {0, 1, 3}) {
            const Bytes p = ether(0x86dd) + ipv6(type) + ext(17, len) + udp(1111, 2222);
            EXPECT_TRUE(ports_are(p, 1111, 2222)) << int(type) << "/" << int(len);
            EXPECT_TRUE(protocol_is(p, 17)) << int(type) << "/" << int(len);
            EXPECT_FALSE(protocol_is(p, type)) << int(type);
            EXPECT_EQ(payload(p), P(14 + 40 + (len + 1) * 8 + 8, 0));
        }
}

TEST(ReferenceIpv6, AhLengthIsInFourByteUnitsPlusTwo) {
    // AH length field 4 → (4+2)*4 = 24 bytes (the (n+1)*8 rule would say 40).
    const Bytes p = ether(0x86dd) + ipv6(51) + ah(6, 4) + tcp(22, 60000) + data({1, 2, 3});
    EXPECT_TRUE(ports_are(p, 22, 60000));
    EXPECT_TRUE(protocol_is(p, 6));
    EXPECT_FALSE(protocol_is(p, 51));
    EXPECT_EQ(payload(p), P(14 + 40 + 24 + 20, 3));
    // The smallest AH, length field 0: 8 bytes.
    const Bytes q = ether(0x86dd) + ipv6(51) + ah(17, 0) + udp(5, 6);
    EXPECT_TRUE(ports_are(q, 5, 6));
}

TEST(ReferenceIpv6, AhInIpv4IsJustTheProtocol) {
    const Bytes p = ether(0x0800) + ipv4(51) + ah(6, 4) + tcp(22, 60000);
    EXPECT_TRUE(protocol_is(p, 51));
    EXPECT_FALSE(protocol_is(p, 6));
    EXPECT_FALSE(ports_are(p, 22, 60000));
    EXPECT_EQ(payload(p), P(14 + 20, 24 + 20));
}

TEST(ReferenceIpv6, LongChainOfEveryExtensionHeader) {
    const Bytes p = ether(0x86dd, {0x8100}) + ipv6(0) + ext(43, 0) + ext(44, 1) + fragment6(60, 0, true) +
                    ext(51, 2) + ah(132, 1) + sctp(3868, 3869);
    EXPECT_TRUE(protocol_is(p, 132));
    EXPECT_TRUE(ports_are(p, 3868, 3869));
    EXPECT_EQ(payload(p), P(18 + 40 + 8 + 16 + 8 + 24 + 12, 12));
}

TEST(ReferenceIpv6, FragmentOffsetZeroContinuesTheWalk) {
    for (bool more : {false, true}) {
        const Bytes p = ether(0x86dd) + ipv6(44) + fragment6(6, 0, more) + tcp(1234, 80, 0x01);
        EXPECT_TRUE(ports_are(p, 1234, 80)) << more;
        EXPECT_TRUE(flags_match(p, 0x01)) << more;
        EXPECT_TRUE(protocol_is(p, 6));
        EXPECT_FALSE(protocol_is(p, 44));
    }
}

TEST(ReferenceIpv6, FragmentOffsetNonZeroEndsTheWalkWithoutPorts) {
    for (bool more : {false, true})
        for (uint16_t offset : {1, 185, 8191}) {
            const Bytes p = ether(0x86dd) + ipv6(44) + fragment6(6, offset, more) + tcp(1234, 80, 0xff);
            EXPECT_TRUE(protocol_is(p, 6)) << offset;
            EXPECT_FALSE(ports_are(p, 1234, 80)) << offset;
            EXPECT_FALSE(flags_match(p, 0xff)) << offset;
            EXPECT_EQ(payload(p), P(14 + 48, 20)) << offset;
        }
    // The walk stops at the fragment: an extension header behind it is the protocol.
    const Bytes p = ether(0x86dd) + ipv6(0) + ext(44, 0) + fragment6(60, 3, false) + ext(17, 0) + udp(1, 2);
    EXPECT_TRUE(protocol_is(p, 60));
    EXPECT_FALSE(protocol_is(p, 17));
    EXPECT_FALSE(ports_are(p, 1, 2));
}

TEST(ReferenceIpv6, WalkEndingAtOrAfterTheCapturedLength) {
    const Bytes full = ether(0x86dd) + ipv6(0) + ext(6, 1) + tcp(1234, 80);
    const size_t upper = 14 + 40 + 16;
    // The walk ends beyond the captured bytes: inside the hop-by-hop header.
    for (size_t n = 14 + 40; n < upper; ++n) {
        EXPECT_FALSE(protocol_is(cut(full, n), 6)) << n;
        EXPECT_EQ(payload(cut(full, n)), P(n, 0)) << n;
    }
    // The walk ends exactly at the captured length: the upper-layer header would start
    // after the last captured byte, so protocol and ports are absent.
    EXPECT_FALSE(is_ip_with_protocol(cut(full, upper)));
    EXPECT_EQ(payload(cut(full, upper)), P(upper, 0));
    // One byte of the upper-layer header captured: protocol present, ports not yet.
    EXPECT_TRUE(protocol_is(cut(full, upper + 1), 6));
    EXPECT_FALSE(ports_are(cut(full, upper + 3), 1234, 80));
    EXPECT_TRUE(ports_are(cut(full, upper + 4), 1234, 80));
    // Addresses do not depend on the walk.
    EXPECT_TRUE(source_is(cut(full, upper), "2001:db8::/32"));
}

TEST(ReferenceIpv6, ExtensionLengthPointingPastTheCapture) {
    // A hop-by-hop header claiming 2048 bytes in a short packet.
    const Bytes p = ether(0x86dd) + ipv6(0) + ext(17, 0) + udp(1, 2);
    Bytes bogus = p;
    bogus[14 + 40 + 1] = 255;
    EXPECT_FALSE(is_ip_with_protocol(bogus));
    EXPECT_FALSE(ports_are(bogus, 1, 2));
    EXPECT_EQ(payload(bogus), P(bogus.size(), 0));
    EXPECT_TRUE(source_is(bogus, "2001:db8::1"));
    EXPECT_TRUE(ports_are(p, 1, 2));
}

TEST(ReferenceIpv6, NextHeaderNotWalked) {
    // 50 (ESP) and 59 (no next header) are upper-layer protocols, not extension headers.
    const Bytes esp = ether(0x86dd) + ipv6(50) + data({0, 0, 1, 0, 0, 0, 0, 1});
    EXPECT_TRUE(protocol_is(esp, 50));
    EXPECT_EQ(payload(esp), P(54, 8));
    const Bytes none = ether(0x86dd) + ipv6(59) + data({0});
    EXPECT_TRUE(protocol_is(none, 59));
}

// ---------------------------------------------------------------------------------------
// Ports and TCP flags
// ---------------------------------------------------------------------------------------

TEST(ReferencePorts, TcpUdpSctpHavePortsOthersDoNot) {
    EXPECT_TRUE(ports_are(ether(0x0800) + ipv4(6) + tcp(1234, 80), 1234, 80));
    EXPECT_TRUE(ports_are(ether(0x0800) + ipv4(17) + udp(1234, 80), 1234, 80));
    EXPECT_TRUE(ports_are(ether(0x0800) + ipv4(132) + sctp(1234, 80), 1234, 80));
    EXPECT_TRUE(ports_are(ether(0x86dd) + ipv6(132) + sctp(1234, 80), 1234, 80));
    // Same bytes behind ICMP, ICMPv6, GRE, ESP, UDP-Lite: no ports.
    for (uint8_t proto : {1, 47, 50, 136})
        EXPECT_FALSE(ports_are(ether(0x0800) + ipv4(proto) + icmp_like_ports(), 1234, 80)) << int(proto);
    EXPECT_FALSE(ports_are(ether(0x86dd) + ipv6(58) + icmp_like_ports(), 1234, 80));
    // A port constraint on a packet without ports fails even as a range of everything.
    EXPECT_FALSE(matches(R"({"filters":[{"sourcePorts":["0-65535"]}]})",
                         ether(0x0800) + ipv4(1) + icmp_like_ports()));
}

TEST(ReferencePorts, AllFourPortBytesMustBeCaptured) {
    const Bytes full = ether(0x0800) + ipv4(17) + udp(1234, 80);
    EXPECT_FALSE(matches(R"({"filters":[{"sourcePorts":[1234]}]})", cut(full, 14 + 20 + 2)));
    EXPECT_FALSE(matches(R"({"filters":[{"sourcePorts":[1234],"bidirectional":false}]})", cut(full, 14 + 23)));
    EXPECT_TRUE(matches(R"({"filters":[{"sourcePorts":[1234],"bidirectional":false}]})", cut(full, 14 + 24)));
}

TEST(ReferenceTcpFlags, MaskAndPresence) {
    const Bytes syn = ether(0x0800) + ipv4(6) + tcp(1234, 80, 0x02);
    EXPECT_TRUE(flags_match(syn, 0x02));
    EXPECT_TRUE(flags_match(syn, 0x12));
    EXPECT_FALSE(flags_match(syn, 0x10));
    EXPECT_FALSE(flags_match(syn, 0x01));
    const Bytes ecn = ether(0x0800) + ipv4(6) + tcp(1234, 80, 0xc0);
    EXPECT_TRUE(flags_match(ecn, 0x80));
    EXPECT_TRUE(flags_match(ecn, 0x40));
    EXPECT_FALSE(flags_match(ecn, 0x3f));
    // tcpFlags 0 is no constraint at all: it matches a non-IP packet too.
    EXPECT_TRUE(flags_match(ether(0x0806), 0));
    // UDP with the same byte 13 is not TCP.
    Bytes u = ether(0x0800) + ipv4(17) + udp(1234, 80) + data({0, 0, 0, 0, 0, 0xff, 0, 0});
    EXPECT_FALSE(flags_match(u, 0xff));
    // Flags combine with the other constraints (AND).
    EXPECT_TRUE(matches(R"({"filters":[{"protocols":["tcp"],"destinationPorts":[80],"tcpFlags":2}]})", syn));
    EXPECT_FALSE(matches(R"({"filters":[{"destinationPorts":[81],"tcpFlags":2}]})", syn));
    // Swapping directions keeps the flags.
    EXPECT_TRUE(matches(R"({"filters":[{"sourcePorts":[80],"tcpFlags":2}]})", syn));
    EXPECT_FALSE(matches(R"({"filters":[{"sourcePorts":[80],"tcpFlags":2,"bidirectional":false}]})", syn));
}

// ---------------------------------------------------------------------------------------
// Filters: addresses, ranges, bidirectional, spec parsing
// ---------------------------------------------------------------------------------------

TEST(ReferenceFilter, EmptySessionAndEmptyFilterMatchEverything) {
    for (const Bytes& p : {Bytes{}, ether(0x0806), ether(0x0800) + ipv4(6) + tcp(1, 2),
                           ether(0x86dd) + ipv6(17) + udp(3, 4)}) {
        EXPECT_TRUE(matches("{}", p));
        EXPECT_TRUE(matches(R"({"filters":[]})", p));
        EXPECT_TRUE(matches(R"({"filters":[{}]})", p));
        EXPECT_TRUE(matches(R"({"filters":[{"sourceSubnets":[],"protocols":[],"tcpFlags":0}]})", p));
    }
}

TEST(ReferenceFilter, AnyFilterMatches) {
    const Bytes p = ether(0x0800) + ipv4(17) + udp(53, 40000);
    EXPECT_TRUE(matches(R"({"filters":[{"protocols":["tcp"]},{"sourcePorts":[53]}]})", p));
    EXPECT_FALSE(matches(R"({"filters":[{"protocols":["tcp"]},{"sourcePorts":[54]}]})", p));
    // Within one filter, every constraint must hold.
    EXPECT_FALSE(matches(R"({"filters":[{"protocols":["udp"],"sourcePorts":[54]}]})", p));
    EXPECT_TRUE(matches(R"({"filters":[{"protocols":["udp","tcp"],"sourcePorts":[54,53]}]})", p));
}

TEST(ReferenceFilter, Ipv4SubnetsRangesAndSingleAddresses) {
    const Bytes p = ether(0x0800) + ipv4(6, {192, 168, 1, 77}, {172, 16, 5, 4}) + tcp(1, 2);
    EXPECT_TRUE(source_is(p, "192.168.1.0/24"));
    EXPECT_TRUE(source_is(p, "192.168.1.200/24"));  // host bits are masked off
    EXPECT_TRUE(source_is(p, "192.168.1.77/32"));
    EXPECT_FALSE(source_is(p, "192.168.1.78/32"));
    EXPECT_FALSE(source_is(p, "192.168.1.64/29"));  // .64-.71
    EXPECT_TRUE(source_is(p, "192.168.1.72/29"));   // .72-.79
    EXPECT_TRUE(source_is(p, "0.0.0.0/0"));
    EXPECT_TRUE(source_is(p, "192.168.1.77"));
    EXPECT_TRUE(source_is(p, "192.168.1.77-192.168.1.77"));
    EXPECT_TRUE(source_is(p, "192.168.1.70-192.168.1.77"));
    EXPECT_TRUE(source_is(p, "192.168.1.77-192.168.2.0"));
    EXPECT_FALSE(source_is(p, "192.168.1.78-192.168.1.255"));
    EXPECT_TRUE(source_is(p, "192.168.0.255-192.169.0.0"));  // across octets
    EXPECT_TRUE(destination_is(p, "172.16.0.0/12"));
    EXPECT_FALSE(destination_is(p, "172.32.0.0/12"));
    // Families never mix.
    EXPECT_FALSE(source_is(p, "::/0"));
    EXPECT_FALSE(source_is(p, "::ffff:192.168.1.77"));
}

TEST(ReferenceFilter, Ipv6SubnetsAndRanges) {
    const Bytes p = ether(0x86dd) + ipv6(17) + udp(1, 2);
    EXPECT_TRUE(source_is(p, "2001:db8::/32"));
    EXPECT_TRUE(source_is(p, "2001:db8::ffff/64"));  // masked
    EXPECT_TRUE(source_is(p, "2001:db8::1/128"));
    EXPECT_FALSE(source_is(p, "2001:db8::2/128"));
    EXPECT_TRUE(source_is(p, "2001:db8::1"));
    EXPECT_TRUE(source_is(p, "::/0"));
    EXPECT_TRUE(source_is(p, "2001:db7:ffff::-2001:db8::1"));
    EXPECT_FALSE(source_is(p, "2001:db8::2-2001:db8::ff"));
    EXPECT_TRUE(destination_is(p, "2001:db8::2-2001:db8::ff"));
    EXPECT_FALSE(source_is(p, "0.0.0.0/0"));
}

TEST(ReferenceFilter, PortListsAndRanges) {
    const Bytes p = ether(0x0800) + ipv4(6) + tcp(1500, 80);
    auto dst = [&](const std::string& list) {
        return matches(R"({"filters":[{"destinationPorts":)" + list + R"(,"bidirectional":false}]})", p);
    };
    EXPECT_TRUE(dst("[80]"));
    EXPECT_TRUE(dst(R"(["80"])"));
    EXPECT_TRUE(dst(R"(["79-81"])"));
    EXPECT_TRUE(dst(R"(["80-80"])"));
    EXPECT_TRUE(dst(R"(["1-79", 443, "80-90"])"));
    EXPECT_FALSE(dst(R"(["81-65535"])"));
    EXPECT_FALSE(dst(R"([443, "1-79"])"));
    auto src = [&](const std::string& list) {
        return matches(R"({"filters":[{"sourcePorts":)" + list + R"(,"bidirectional":false}]})", p);
    };
    EXPECT_TRUE(src(R"(["1000-2000"])"));
    EXPECT_TRUE(src(R"(["1500-2000"])"));
    EXPECT_TRUE(src(R"(["1000-1500"])"));
    EXPECT_FALSE(src(R"(["1501-2000"])"));
    EXPECT_FALSE(src(R"(["1000-1499"])"));
}

TEST(ReferenceFilter, ProtocolNamesNumbersAndStrings) {
    const Bytes t = ether(0x0800) + ipv4(6) + tcp(1, 2);
    for (const char* v : {"6", "\"6\"", "\"tcp\"", "\"TCP\"", "\"Tcp\""})
        EXPECT_TRUE(matches(std::string(R"({"filters":[{"protocols":[)") + v + "]}]}", t)) << v;
    const std::pair<const char*, int> names[] = {{"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"sctp", 132},
                                                 {"esp", 50}, {"ah", 51},  {"gre", 47}};
    for (const auto& [name, number] : names) {
        const Bytes p = ether(0x0800) + ipv4(uint8_t(number)) + data({0, 0, 0, 0, 0, 0, 0, 0});
        EXPECT_TRUE(matches(std::string(R"({"filters":[{"protocols":[")") + name + "\"]}]}", p)) << name;
        EXPECT_FALSE(matches(std::string(R"({"filters":[{"protocols":[")") + name + "\"]}]}", t)) << name;
    }
    EXPECT_TRUE(protocol_is(ether(0x0800) + ipv4(0), 0));
    EXPECT_TRUE(protocol_is(ether(0x0800) + ipv4(255), 255));
}

TEST(ReferenceFilter, BidirectionalSwapsAddressesAndPortsTogether) {
    const std::string f = R"("sourceSubnets":["10.0.0.1"],"sourcePorts":[1000],)"
                          R"("destinationSubnets":["10.0.0.2"],"destinationPorts":[80])";
    const std::string both = R"({"filters":[{)" + f + "}]}";
    const std::string one = R"({"filters":[{)" + f + R"(,"bidirectional":false}]})";
    const Bytes forward = ether(0x0800) + ipv4(6, kA4, kB4) + tcp(1000, 80);
    const Bytes reverse = ether(0x0800) + ipv4(6, kB4, kA4) + tcp(80, 1000);
    const Bytes mixed = ether(0x0800) + ipv4(6, kA4, kB4) + tcp(80, 1000);  // ports reversed only
    EXPECT_TRUE(matches(both, forward));
    EXPECT_TRUE(matches(both, reverse));
    EXPECT_FALSE(matches(both, mixed));
    EXPECT_TRUE(matches(one, forward));
    EXPECT_FALSE(matches(one, reverse));
    EXPECT_FALSE(matches(one, mixed));
    // Ports only: the swap still moves both.
    EXPECT_TRUE(matches(R"({"filters":[{"sourcePorts":[80]}]})", forward));
    EXPECT_FALSE(matches(R"({"filters":[{"sourcePorts":[80],"bidirectional":false}]})", forward));
    EXPECT_TRUE(matches(R"({"filters":[{"sourcePorts":[80],"bidirectional":true}]})", forward));
    // IPv6 too.
    const Bytes v6 = ether(0x86dd) + ipv6(17, kB6, kA6) + udp(53, 9999);
    EXPECT_TRUE(matches(R"({"filters":[{"sourceSubnets":["2001:db8::1"],"destinationPorts":[53]}]})", v6));
    EXPECT_FALSE(matches(
        R"({"filters":[{"sourceSubnets":["2001:db8::1"],"destinationPorts":[53],"bidirectional":false}]})", v6));
}

TEST(ReferenceFilter, SwappedDirectionStillNeedsThePresentField) {
    // Source captured, destination not: a destination constraint fails both ways round
    // unless the source satisfies it after the swap.
    const Bytes p = cut(ether(0x0800) + ipv4(6, kA4, kB4) + tcp(1, 2), 14 + 18);
    EXPECT_FALSE(matches(R"({"filters":[{"destinationSubnets":["10.0.0.2"]}]})", p));
    EXPECT_TRUE(matches(R"({"filters":[{"destinationSubnets":["10.0.0.1"]}]})", p));
    EXPECT_FALSE(matches(R"({"filters":[{"destinationSubnets":["10.0.0.1"],"bidirectional":false}]})", p));
}

TEST(ReferenceSpec, ReadsTheCanonicalFormAndRejectsNonsense) {
    const Session s = spec(R"({"filters":[{"sourceSubnets":["10.1.2.3/8"],"destinationSubnets":["1.1.1.1-1.1.1.9"],
        "sourcePorts":[1,"2-3"],"destinationPorts":["4"],"protocols":[6,"17","Sctp"],"tcpFlags":18,
        "bidirectional":false}],"tracingFlags":11,"bytesToCapturePerPacket":128,"format":"pcapng"})");
    ASSERT_EQ(s.filters.size(), 1u);
    EXPECT_EQ(s.tracing_flags, 11u);
    const auto& f = s.filters[0];
    ASSERT_EQ(f.sources.size(), 1u);
    EXPECT_EQ(f.sources[0].lo[12], 10);
    EXPECT_EQ(f.sources[0].lo[13], 0);
    EXPECT_EQ(f.sources[0].hi[15], 255);
    EXPECT_FALSE(f.sources[0].v6);
    ASSERT_EQ(f.source_ports.size(), 2u);
    EXPECT_EQ(f.source_ports[1].lo, 2u);
    EXPECT_EQ(f.source_ports[1].hi, 3u);
    EXPECT_EQ(f.protocols, (std::vector<int>{6, 17, 132}));
    EXPECT_EQ(f.tcp_flags, 18u);
    EXPECT_FALSE(f.bidirectional);
    EXPECT_TRUE(spec(R"({"filters":[{}]})").filters[0].bidirectional);

    for (const char* bad : {
             R"({"filters":{}})", R"({"filters":[{"sourceSubnets":["10.0.0.300"]}]})",
             R"({"filters":[{"sourceSubnets":["10.0.0.0/33"]}]})", R"({"filters":[{"sourceSubnets":["::/129"]}]})",
             R"({"filters":[{"sourceSubnets":["10.0.0.9-10.0.0.1"]}]})",
             R"({"filters":[{"sourceSubnets":["10.0.0.1-::1"]}]})", R"({"filters":[{"sourceSubnets":[10]}]})",
             R"({"filters":[{"sourcePorts":[65536]}]})", R"({"filters":[{"sourcePorts":[-1]}]})",
             R"({"filters":[{"sourcePorts":["2000-1000"]}]})", R"({"filters":[{"sourcePorts":["http"]}]})",
             R"({"filters":[{"protocols":["tcpx"]}]})", R"({"filters":[{"protocols":[256]}]})",
             R"({"filters":[{"bidirectional":"yes"}]})", R"({"filters":[{"tcpFlags":256}]})",
             R"({"filters":["tcp"]})", R"([])"}) {
        EXPECT_THROW(spec(bad), std::runtime_error) << bad;
    }
}

// ---------------------------------------------------------------------------------------
// Tunnel classes
// ---------------------------------------------------------------------------------------

TEST(ReferenceTunnel, EspIsProtocol50OrNatTraversalWithNonZeroMarker) {
    const Bytes esp4 = ether(0x0800) + ipv4(50) + data({0, 0, 0x10, 0, 0, 0, 0, 1});
    const Bytes esp6 = ether(0x86dd) + ipv6(50) + data({0, 0, 0x10, 0, 0, 0, 0, 1});
    EXPECT_TRUE(traced(1, esp4));
    EXPECT_TRUE(traced(1, esp6));
    EXPECT_FALSE(traced(2 | 8, esp4));
    // Protocol 50 behind an IPv6 extension header.
    EXPECT_TRUE(traced(1, ether(0x86dd) + ipv6(60) + ext(50, 0) + data({1, 2, 3, 4})));

    const Bytes natt = ether(0x0800) + ipv4(17) + udp(4500, 4500) + data({0, 0, 0, 1, 0, 0, 0, 7});
    EXPECT_TRUE(traced(1, natt));
    EXPECT_FALSE(traced(2, natt));
    // Either port is 4500.
    EXPECT_TRUE(traced(1, ether(0x0800) + ipv4(17) + udp(4500, 12345) + data({0xff, 0, 0, 0})));
    EXPECT_TRUE(traced(1, ether(0x0800) + ipv4(17) + udp(12345, 4500) + data({0, 0, 0, 0x01})));
    // TCP 4500 is neither.
    const Bytes tcp4500 = ether(0x0800) + ipv4(6) + tcp(4500, 4500) + data({1, 2, 3, 4});
    EXPECT_FALSE(traced(1 | 2, tcp4500));
}

TEST(ReferenceTunnel, MarkerMustBeCaptured) {
    const Bytes natt = ether(0x0800) + ipv4(17) + udp(4500, 4500) + data({0, 0, 0, 1});
    const Bytes keepalive = ether(0x0800) + ipv4(17) + udp(4500, 4500) + data({0, 0, 0, 0});
    for (size_t n = 14 + 20 + 8; n < natt.size(); ++n) {
        EXPECT_FALSE(traced(1 | 2, cut(natt, n))) << n;
        EXPECT_FALSE(traced(1 | 2, cut(keepalive, n))) << n;
    }
    EXPECT_TRUE(traced(1, natt));
    EXPECT_TRUE(traced(2, keepalive));
    EXPECT_FALSE(traced(1, keepalive));
    // The marker is the 4 bytes right after the 8-byte UDP header, not the UDP length.
    EXPECT_TRUE(traced(2, ether(0x0800) + ipv4(17) + udp(1, 4500) + data({0, 0, 0, 0, 0xff})));
}

TEST(ReferenceTunnel, IkeIsUdp500OrNonEspMarker) {
    EXPECT_TRUE(traced(2, ether(0x0800) + ipv4(17) + udp(500, 500)));
    EXPECT_TRUE(traced(2, ether(0x0800) + ipv4(17) + udp(500, 1)));
    EXPECT_TRUE(traced(2, ether(0x86dd) + ipv6(17) + udp(1, 500)));
    // Port 500 needs no payload, only the ports.
    EXPECT_TRUE(traced(2, cut(ether(0x0800) + ipv4(17) + udp(500, 1), 14 + 24)));
    EXPECT_FALSE(traced(2, cut(ether(0x0800) + ipv4(17) + udp(500, 1), 14 + 23)));
    EXPECT_FALSE(traced(2, ether(0x0800) + ipv4(6) + tcp(500, 500)));
    EXPECT_FALSE(traced(1 | 8, ether(0x0800) + ipv4(17) + udp(500, 500)));
    // A later fragment has no ports, so no class that depends on them.
    EXPECT_FALSE(traced(2, ether(0x0800) + ipv4(17, kA4, kB4, 0x0010) + udp(500, 500)));
}

TEST(ReferenceTunnel, OpenVpnIsUdpOrTcp1194) {
    EXPECT_TRUE(traced(8, ether(0x0800) + ipv4(17) + udp(1194, 40000)));
    EXPECT_TRUE(traced(8, ether(0x0800) + ipv4(6) + tcp(40000, 1194)));
    EXPECT_TRUE(traced(8, ether(0x86dd) + ipv6(6) + tcp(1194, 1194)));
    EXPECT_FALSE(traced(8, ether(0x0800) + ipv4(132) + sctp(1194, 1194)));
    EXPECT_FALSE(traced(8, ether(0x0800) + ipv4(17) + udp(1195, 1193)));
    EXPECT_FALSE(traced(1 | 2, ether(0x0800) + ipv4(17) + udp(1194, 1194)));
}

TEST(ReferenceTunnel, FiltersOrTracedClasses) {
    const Bytes web = ether(0x0800) + ipv4(6) + tcp(40000, 443);
    const Bytes ike = ether(0x0800) + ipv4(17) + udp(500, 500);
    const Bytes arp = ether(0x0806);
    // Tracing without filters: only the traced classes.
    EXPECT_FALSE(traced(2, web));
    EXPECT_FALSE(traced(2, arp));
    EXPECT_TRUE(traced(2, ike));
    EXPECT_TRUE(traced(11, ike));
    // Filters or tracing.
    const std::string s = R"({"tracingFlags":2,"filters":[{"destinationPorts":[443]}]})";
    EXPECT_TRUE(matches(s, web));
    EXPECT_TRUE(matches(s, ike));
    EXPECT_FALSE(matches(s, arp));
    // An unconstrained filter still matches everything, tracing or not.
    EXPECT_TRUE(matches(R"({"tracingFlags":2,"filters":[{}]})", arp));
    // Bits outside ESP/IKE/OpenVPN select nothing but still turn "everything" off.
    EXPECT_FALSE(traced(4, ike));
    EXPECT_FALSE(traced(4, web));
    EXPECT_TRUE(traced(4 | 2, ike));
}

// ---------------------------------------------------------------------------------------
// Payload (§2.1)
// ---------------------------------------------------------------------------------------

TEST(ReferencePayload, AfterTcpHeaderByDataOffset) {
    const Bytes p = ether(0x0800) + ipv4(6) + tcp(1, 2) + data({'G', 'E', 'T'});
    EXPECT_EQ(payload(p), P(54, 3));
    const Bytes opts = ether(0x0800) + ipv4(6) + tcp(1, 2, 0x18, 8) + data({'a', 'b'});
    EXPECT_EQ(payload(opts), P(14 + 20 + 32, 2));
    const Bytes max = ether(0x0800) + ipv4(6) + tcp(1, 2, 0x18, 15) + data({'a'});
    EXPECT_EQ(payload(max), P(14 + 20 + 60, 1));
    // No data: empty, at the end.
    EXPECT_EQ(payload(ether(0x0800) + ipv4(6) + tcp(1, 2)), P(54, 0));
}

TEST(ReferencePayload, TcpWithoutCompleteHeaderOrShortDataOffset) {
    // Data offset 4 (16 bytes) is below 20: the payload starts after the IP header.
    const Bytes short_offset = ether(0x0800) + ipv4(6) + tcp(1, 2, 0x18, 4) + data({9, 9, 9, 9, 'x'});
    EXPECT_EQ(payload(short_offset), P(34, short_offset.size() - 34));
    // Data offset 8, but only 28 of its 32 bytes captured.
    const Bytes cut_options = cut(ether(0x0800) + ipv4(6) + tcp(1, 2, 0x18, 8), 14 + 20 + 28);
    EXPECT_EQ(payload(cut_options), P(34, 28));
    // Data offset byte (12) itself not captured.
    EXPECT_EQ(payload(cut(ether(0x0800) + ipv4(6) + tcp(1, 2), 14 + 20 + 12)), P(34, 12));
    // Exactly the 20 header bytes of a data offset 5 header: complete, empty payload.
    EXPECT_EQ(payload(cut(ether(0x0800) + ipv4(6) + tcp(1, 2) + data({1}), 54)), P(54, 0));
}

TEST(ReferencePayload, AfterUdpHeaderOrAfterIpWhenIncomplete) {
    const Bytes p = ether(0x0800) + ipv4(17) + udp(1, 2) + data({1, 2, 3, 4, 5});
    EXPECT_EQ(payload(p), P(42, 5));
    EXPECT_EQ(payload(cut(p, 42)), P(42, 0));
    EXPECT_EQ(payload(cut(p, 41)), P(34, 7));
    const Bytes v6 = ether(0x86dd) + ipv6(17) + udp(1, 2) + data({1, 2});
    EXPECT_EQ(payload(v6), P(62, 2));
}

TEST(ReferencePayload, OtherProtocolsStartAfterTheIpHeaderChain) {
    const Bytes icmp = ether(0x0800) + ipv4(1) + icmp_like_ports();
    EXPECT_EQ(payload(icmp), P(34, 8));
    const Bytes sctp_packet = ether(0x0800) + ipv4(132) + sctp(1, 2) + data({7});
    EXPECT_EQ(payload(sctp_packet), P(34, 13));  // SCTP has ports but no "after header" rule
    const Bytes options = ether(0x0800) + ipv4(47, kA4, kB4, 0, 7) + data({1, 2, 3});
    EXPECT_EQ(payload(options), P(14 + 28, 3));
    const Bytes icmp6 = ether(0x86dd) + ipv6(43) + ext(58, 0) + data({128, 0, 0, 0});
    EXPECT_EQ(payload(icmp6), P(14 + 48, 4));
    const Bytes vlan = ether(0x0800, {0x88a8, 0x8100}) + ipv4(1) + icmp_like_ports();
    EXPECT_EQ(payload(vlan), P(42, 8));
}

TEST(ReferencePayload, FragmentsStartAfterTheIpHeaderChain) {
    const Bytes v4 = ether(0x0800) + ipv4(6, kA4, kB4, 0x0003) + tcp(1, 2) + data({1});
    EXPECT_EQ(payload(v4), P(34, 21));
    const Bytes v4first = ether(0x0800) + ipv4(6, kA4, kB4, 0x2000) + tcp(1, 2) + data({1});
    EXPECT_EQ(payload(v4first), P(54, 1));
    const Bytes v6 = ether(0x86dd) + ipv6(44) + fragment6(17, 100, false) + udp(1, 2) + data({1});
    EXPECT_EQ(payload(v6), P(62, 9));
    const Bytes v6first = ether(0x86dd) + ipv6(44) + fragment6(17, 0, true) + udp(1, 2) + data({1});
    EXPECT_EQ(payload(v6first), P(70, 1));
}

TEST(ReferencePayload, ChainBeyondTheCaptureIsEmpty) {
    // IPv4 options cut off.
    const Bytes v4 = cut(ether(0x0800) + ipv4(1, kA4, kB4, 0, 8), 14 + 30);
    EXPECT_EQ(payload(v4), P(44, 0));
    // IPv4 with only part of the fixed header.
    EXPECT_EQ(payload(cut(ether(0x0800) + ipv4(1), 20)), P(20, 0));
    // IPv6 extension header cut off, also before its length byte.
    const Bytes v6 = ether(0x86dd) + ipv6(0) + ext(6, 2) + tcp(1, 2);
    for (size_t n = 14; n <= 14 + 40 + 24; ++n) EXPECT_EQ(payload(cut(v6, n)), P(n, 0)) << n;
    EXPECT_EQ(payload(v6), P(14 + 40 + 24 + 20, 0));
}

TEST(ReferencePayload, IpLengthFieldsAreIgnored) {
    // Ethernet padding after a short IPv4 datagram is part of the captured payload.
    const Bytes p = ether(0x0800) + ipv4(17, kA4, kB4, 0, 5, 4, 28) + udp(1, 2) + data({0, 0, 0, 0, 0, 0});
    EXPECT_EQ(payload(p), P(42, 6));
}

TEST(ReferencePayload, NonIpHasNone) {
    EXPECT_EQ(payload(ether(0x0806) + data({1, 2, 3, 4})), P(0, 0));
    EXPECT_EQ(payload(ether(0x0800) + ipv4(6, kA4, kB4, 0, 4) + tcp(1, 2)), P(0, 0));
    EXPECT_EQ(payload(ether(0x0800, {0x8100, 0x8100, 0x8100}) + ipv4(6) + tcp(1, 2)), P(0, 0));
}
