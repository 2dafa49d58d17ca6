// The analysis engine (issue 7): flow keying from the contract parser's view (direction,
// VLAN, IPv6 extension headers, fragments), service labels, timeline buckets, address
// scopes and countries, whole analyses of files written here byte by byte, and the
// promise that one thread and two threads over any split give the same result.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "control/analysis/analyzer.hpp"
#include "control/analysis/flow_table.hpp"
#include "control/analysis/geoip.hpp"
#include "control/analysis/report.hpp"
#include "control/analysis/services.hpp"
#include "control/analysis/timeline.hpp"
#include "dataplane/packet_view.hpp"

namespace trawl::analysis {
namespace {

using Bytes = std::vector<uint8_t>;

// ---------------------------------------------------------------------------------
// Packets, byte by byte.

void put16(Bytes& b, size_t at, uint16_t v) {
    b[at] = uint8_t(v >> 8);
    b[at + 1] = uint8_t(v);
}

Bytes ethernet(uint16_t ethertype, std::vector<uint16_t> tpids = {}) {
    Bytes b = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
    for (uint16_t tpid : tpids) {
        b.push_back(uint8_t(tpid >> 8));
        b.push_back(uint8_t(tpid));
        b.push_back(0x00);
        b.push_back(0x64);  // VID 100
    }
    b.push_back(uint8_t(ethertype >> 8));
    b.push_back(uint8_t(ethertype));
    return b;
}

Bytes cat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

Bytes ipv4(uint32_t src, uint32_t dst, uint8_t protocol, uint16_t fragment_offset_words = 0, bool more = false) {
    Bytes b(20, 0);
    b[0] = 0x45;
    put16(b, 6, uint16_t((more ? 0x2000 : 0) | fragment_offset_words));
    b[8] = 64;
    b[9] = protocol;
    for (int i = 0; i < 4; ++i) {
        b[12 + i] = uint8_t(src >> (24 - 8 * i));
        b[16 + i] = uint8_t(dst >> (24 - 8 * i));
    }
    return b;
}

Bytes ipv6(uint8_t last_byte_src, uint8_t last_byte_dst, uint8_t next_header) {
    Bytes b(40, 0);
    b[0] = 0x60;
    b[6] = next_header;
    b[7] = 64;
    b[8] = 0xfd;
    b[23] = last_byte_src;
    b[24] = 0xfd;
    b[39] = last_byte_dst;
    return b;
}

// An IPv6 extension header of 8 bytes (hop-by-hop, routing, destination options).
Bytes ext8(uint8_t next_header) { return {next_header, 0, 0, 0, 0, 0, 0, 0}; }

Bytes ipv6_fragment(uint8_t next_header, uint16_t offset_words, bool more) {
    Bytes b = {next_header, 0, 0, 0, 0, 0, 0, 1};
    put16(b, 2, uint16_t(offset_words << 3 | (more ? 1 : 0)));
    return b;
}

Bytes tcp(uint16_t sport, uint16_t dport, uint8_t flags) {
    Bytes b(20, 0);
    put16(b, 0, sport);
    put16(b, 2, dport);
    b[12] = 0x50;
    b[13] = flags;
    return b;
}

Bytes udp(uint16_t sport, uint16_t dport) {
    Bytes b(8, 0);
    put16(b, 0, sport);
    put16(b, 2, dport);
    return b;
}

Bytes cut(Bytes b, size_t size) {
    b.resize(size);
    return b;
}

Bytes pad(Bytes b, size_t size) {
    if (b.size() < size) b.resize(size, 0);
    return b;
}

constexpr uint32_t A = 0x0a000001;  // 10.0.0.1
constexpr uint32_t B = 0x0a000002;  // 10.0.0.2
constexpr uint32_t C = 0x08080808;  // 8.8.8.8

dataplane::PacketView view_of(const Bytes& p) { return dataplane::parse_packet(p.data(), uint32_t(p.size())); }

FlowKey key_of(const Bytes& p, int* direction = nullptr) {
    const auto v = view_of(p);
    EXPECT_TRUE(v.is_ip());
    FlowKey k;
    const int d = make_flow_key(v, p.data(), k);
    if (direction) *direction = d;
    return k;
}

// ---------------------------------------------------------------------------------
// Capture files.

struct Record {
    int64_t ns;
    Bytes data;
    uint32_t orig_len = 0;  // 0: the captured length
};

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/trawl-unit-analysis-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

void le32(std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(char(v >> (8 * i)));
}
void le16(std::string& s, uint16_t v) {
    s.push_back(char(v));
    s.push_back(char(v >> 8));
}

// Classic pcap with nanosecond timestamps.
void write_pcap(const std::string& path, const std::vector<Record>& records, size_t truncate_last_by = 0) {
    std::string s;
    le32(s, 0xa1b23c4d);
    le16(s, 2);
    le16(s, 4);
    le32(s, 0);
    le32(s, 0);
    le32(s, 262144);
    le32(s, 1);
    for (const auto& r : records) {
        le32(s, uint32_t(r.ns / 1000000000));
        le32(s, uint32_t(r.ns % 1000000000));
        le32(s, uint32_t(r.data.size()));
        le32(s, r.orig_len ? r.orig_len : uint32_t(r.data.size()));
        s.append(reinterpret_cast<const char*>(r.data.data()), r.data.size());
    }
    s.resize(s.size() - truncate_last_by);
    std::ofstream(path, std::ios::binary) << s;
}

void pcapng_interface(std::string& s) {  // IDB: Ethernet, if_tsresol = 9
    le32(s, 1);
    le32(s, 32);
    le16(s, 1);
    le16(s, 0);
    le32(s, 262144);
    le16(s, 9);
    le16(s, 1);
    s.push_back(9);
    s.append(3, '\0');
    le32(s, 0);
    le32(s, 32);
}

// pcapng as trawl writes it: one section, one interface, enhanced packets. With
// `second_interface_at`, a second interface is described before that record and the
// records from there on are on it.
void write_pcapng(const std::string& path, const std::vector<Record>& records, size_t second_interface_at = SIZE_MAX) {
    std::string s;
    le32(s, 0x0a0d0d0a);
    le32(s, 28);
    le32(s, 0x1a2b3c4d);
    le16(s, 1);
    le16(s, 0);
    le32(s, 0xffffffff);
    le32(s, 0xffffffff);
    le32(s, 28);
    pcapng_interface(s);
    for (size_t i = 0; i < records.size(); ++i) {
        const Record& r = records[i];
        if (i == second_interface_at) pcapng_interface(s);
        const uint32_t padded = uint32_t((r.data.size() + 3) & ~size_t(3));
        const uint32_t total = 32 + padded;
        le32(s, 6);
        le32(s, total);
        le32(s, i >= second_interface_at ? 1 : 0);
        le32(s, uint32_t(uint64_t(r.ns) >> 32));
        le32(s, uint32_t(uint64_t(r.ns)));
        le32(s, uint32_t(r.data.size()));
        le32(s, r.orig_len ? r.orig_len : uint32_t(r.data.size()));
        s.append(reinterpret_cast<const char*>(r.data.data()), r.data.size());
        s.append(padded - r.data.size(), '\0');
        le32(s, total);
    }
    std::ofstream(path, std::ios::binary) << s;
}

// A random mix: many flows, both directions, VLANs, IPv6 with extension headers,
// fragments, ICMP, ARP, cut headers, timestamps slightly out of order.
std::vector<Record> random_traffic(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Record> out;
    int64_t t = 1700000000ll * 1000000000ll;
    for (size_t i = 0; i < n; ++i) {
        t += int64_t(rng() % 200000);
        const int64_t ts = t - int64_t(rng() % 4 == 0 ? rng() % 1000000 : 0);
        const uint32_t host = uint32_t(rng() % 40);
        const uint32_t server = 0xc0a80000u | uint32_t(rng() % 8);
        const uint16_t client_port = uint16_t(40000 + host);
        const uint16_t server_port = std::vector<uint16_t>{80, 443, 53, 22, 8081}[rng() % 5];
        const bool reply = rng() % 2;
        const uint32_t src = reply ? server : (0x0a000000u | host), dst = reply ? (0x0a000000u | host) : server;
        const uint16_t sport = reply ? server_port : client_port, dport = reply ? client_port : server_port;
        Bytes p;
        const unsigned kind = unsigned(rng() % 10);
        switch (kind) {
        case 0: p = cat(ethernet(0x0800, {0x8100}), cat(ipv4(src, dst, 6), tcp(sport, dport, 0x10))); break;
        case 1: p = cat(ethernet(0x86dd), cat(ipv6(uint8_t(host), 9, 0), cat(ext8(60), cat(ext8(17), udp(sport, dport))))); break;
        case 2: p = cat(ethernet(0x0800), cat(ipv4(src, dst, 17, uint16_t(1 + rng() % 100)), Bytes(40, 1))); break;
        case 3: p = cat(ethernet(0x0800), cat(ipv4(src, dst, 1), Bytes(8, 0))); break;
        case 4: p = cat(ethernet(0x0806), Bytes(28, 0)); break;
        case 5: p = cut(cat(ethernet(0x0800), ipv4(src, dst, 6)), 26); break;
        case 6: p = cat(ethernet(0x0800, {0x88a8, 0x8100}), cat(ipv4(src, dst, 17), udp(sport, dport))); break;
        default: p = cat(ethernet(0x0800), cat(ipv4(src, dst, 6), tcp(sport, dport, uint8_t(rng() % 256)))); break;
        }
        const uint32_t wire = uint32_t(60 + rng() % 1400);
        out.push_back({ts, kind == 5 ? p : pad(p, 60), wire});  // kind 5 stays cut
    }
    return out;
}

nlohmann::json result_json(const Analysis& a, size_t top = 0) {
    nlohmann::json j = to_json(a, ReportOptions{top});
    j.erase("engine");
    return j;
}

// ---------------------------------------------------------------------------------
// Flow keying

TEST(FlowKey, BothDirectionsShareOneKeyAndTheDirectionSaysWhichWay) {
    int d1 = -1, d2 = -1;
    const FlowKey forward = key_of(cat(ethernet(0x0800), cat(ipv4(B, A, 6), tcp(1234, 80, 0x02))), &d1);
    const FlowKey backward = key_of(cat(ethernet(0x0800), cat(ipv4(A, B, 6), tcp(80, 1234, 0x12))), &d2);
    EXPECT_EQ(forward, backward);
    EXPECT_EQ(hash_flow_key(forward), hash_flow_key(backward));
    EXPECT_NE(d1, d2);
    // The lower endpoint (10.0.0.1:80) is stored first; 10.0.0.2 → 10.0.0.1 is direction 1.
    EXPECT_EQ(d1, 1);
    EXPECT_EQ(forward.low_port, 80);
    EXPECT_EQ(forward.high_port, 1234);
    EXPECT_TRUE(forward.has_ports());
    EXPECT_EQ(forward.protocol, 6);
}

TEST(FlowKey, SameAddressDifferentPortsAreOrderedByPort) {
    int d1 = -1, d2 = -1;
    const FlowKey k1 = key_of(cat(ethernet(0x0800), cat(ipv4(A, A, 17), udp(5000, 53))), &d1);
    const FlowKey k2 = key_of(cat(ethernet(0x0800), cat(ipv4(A, A, 17), udp(53, 5000))), &d2);
    EXPECT_EQ(k1, k2);
    EXPECT_NE(d1, d2);
}

TEST(FlowKey, PortsAndProtocolsSeparateFlows) {
    const FlowKey a = key_of(cat(ethernet(0x0800), cat(ipv4(A, B, 6), tcp(1234, 80, 0))));
    const FlowKey b = key_of(cat(ethernet(0x0800), cat(ipv4(A, B, 6), tcp(1235, 80, 0))));
    const FlowKey c = key_of(cat(ethernet(0x0800), cat(ipv4(A, B, 17), udp(1234, 80))));
    EXPECT_FALSE(a == b);
    EXPECT_FALSE(a == c);
}

TEST(FlowKey, VlanTagsAreNotPartOfTheKey) {
    const Bytes l4 = cat(ipv4(A, B, 17), udp(1000, 53));
    const FlowKey untagged = key_of(cat(ethernet(0x0800), l4));
    EXPECT_EQ(key_of(cat(ethernet(0x0800, {0x8100}), l4)), untagged);
    EXPECT_EQ(key_of(cat(ethernet(0x0800, {0x88a8, 0x8100}), l4)), untagged);
    EXPECT_EQ(key_of(cat(ethernet(0x0800, {0x9100, 0x8100}), l4)), untagged);
    // A third tag is beyond DESIGN §2.2: not IP, so in no flow.
    EXPECT_FALSE(view_of(cat(ethernet(0x0800, {0x88a8, 0x8100, 0x8100}), l4)).is_ip());
}

TEST(FlowKey, Ipv6ExtensionHeadersAreWalkedToTheTransport) {
    // hop-by-hop → routing → destination options → fragment (offset 0) → UDP
    const Bytes p = cat(ethernet(0x86dd),
                        cat(ipv6(1, 2, 0), cat(ext8(43), cat(ext8(60), cat(ext8(44), cat(ipv6_fragment(17, 0, true),
                                                                                       udp(546, 547)))))));
    const FlowKey k = key_of(p);
    EXPECT_EQ(k.family, 6);
    EXPECT_TRUE(k.has_protocol());
    EXPECT_EQ(k.protocol, 17);
    ASSERT_TRUE(k.has_ports());
    EXPECT_EQ(k.low_port, 546);
    EXPECT_EQ(k.high_port, 547);
    EXPECT_EQ(k.low_address[0], 0xfd);
    EXPECT_EQ(k.low_address[15], 1);
}

TEST(FlowKey, Ipv6ChainCutBySnapLengthHasNoProtocol) {
    Bytes p = cat(ethernet(0x86dd), cat(ipv6(1, 2, 0), cat(ext8(17), udp(546, 547))));
    p.resize(14 + 40 + 4);  // the hop-by-hop header is cut
    const FlowKey k = key_of(p);
    EXPECT_FALSE(k.has_protocol());
    EXPECT_FALSE(k.has_ports());
}

TEST(FlowKey, LaterFragmentsHaveNoPortsAndFormTheirOwnFlow) {
    const FlowKey first = key_of(cat(ethernet(0x0800), cat(ipv4(A, B, 17, 0, true), udp(1000, 53))));
    const FlowKey later = key_of(cat(ethernet(0x0800), cat(ipv4(A, B, 17, 185, false), Bytes(16, 7))));
    EXPECT_TRUE(first.has_ports());
    EXPECT_FALSE(later.has_ports());
    EXPECT_TRUE(later.has_protocol());
    EXPECT_EQ(later.protocol, 17);
    EXPECT_FALSE(first == later);
    const FlowKey v6_later = key_of(cat(ethernet(0x86dd), cat(ipv6(1, 2, 44), cat(ipv6_fragment(17, 100, false), Bytes(16, 7)))));
    EXPECT_FALSE(v6_later.has_ports());
    EXPECT_EQ(v6_later.protocol, 17);
}

TEST(FlowTable, FirstPacketDecidesTheClientAndMergesAreOrderFree) {
    FlowTable t1, t2;
    int d = 0;
    const Bytes request = cat(ethernet(0x0800), cat(ipv4(B, A, 6), tcp(1234, 80, 0x02)));
    const FlowKey k = key_of(request, &d);
    const uint64_t h = hash_flow_key(k);
    // Thread 2 read the later part of the file (sequence 10): the server's answer.
    FlowStats& late = t2.find_or_insert(k, h, make_sequence(0, 10), 1 - d, 2000);
    late.packets[1 - d] += 1;
    // Thread 1 read the start: the client's SYN at sequence 3.
    FlowStats& early = t1.find_or_insert(k, h, make_sequence(0, 3), d, 1000);
    early.packets[d] += 1;
    FlowTable a = t1, b = t2;
    a.merge(t2);
    b.merge(t1);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    for (const FlowTable* t : {&a, &b}) {
        const FlowStats& s = t->flows()[0].stats;
        EXPECT_EQ(s.client_direction, d);
        EXPECT_EQ(s.first_sequence, make_sequence(0, 3));
        EXPECT_EQ(s.first_ns, 1000);
        EXPECT_EQ(s.last_ns, 2000);
        EXPECT_EQ(s.packets[0] + s.packets[1], 2u);
    }
}

TEST(FlowTable, GrowsAndFindsEveryFlow) {
    FlowTable t;
    for (uint32_t i = 0; i < 50000; ++i) {
        const FlowKey k = key_of(cat(ethernet(0x0800), cat(ipv4(A + i, B, 17), udp(uint16_t(i), 53))));
        t.find_or_insert(k, hash_flow_key(k), i, 0, i).packets[0] += 1;
    }
    for (uint32_t i = 0; i < 50000; i += 7) {
        const FlowKey k = key_of(cat(ethernet(0x0800), cat(ipv4(A + i, B, 17), udp(uint16_t(i), 53))));
        t.find_or_insert(k, hash_flow_key(k), 999999, 0, 0).packets[0] += 1;
    }
    EXPECT_EQ(t.size(), 50000u);
    uint64_t packets = 0;
    for (const auto& f : t.flows()) packets += f.stats.packets[0];
    EXPECT_EQ(packets, 50000u + (50000 + 6) / 7);
}

// ---------------------------------------------------------------------------------
// Services

TEST(Services, WellKnownPortsPerProtocol) {
    EXPECT_STREQ(well_known_service(6, 443), "https");
    EXPECT_STREQ(well_known_service(17, 443), "quic");
    EXPECT_STREQ(well_known_service(17, 53), "dns");
    EXPECT_STREQ(well_known_service(6, 53), "dns");
    EXPECT_STREQ(well_known_service(6, 22), "ssh");
    EXPECT_STREQ(well_known_service(17, 4500), "ipsec-nat-t");
    EXPECT_STREQ(well_known_service(132, 3868), "diameter");
    EXPECT_STREQ(well_known_service(17, 22), "");  // ssh is TCP only
    EXPECT_STREQ(well_known_service(1, 80), "");   // ICMP has no ports
}

TEST(Services, LabelPrefersTheServerPort) {
    EXPECT_EQ(service_label(true, 6, true, 51000, 443), "https");
    // A capture that starts with the server's answer: the client port is the known one.
    EXPECT_EQ(service_label(true, 6, true, 443, 51000), "https");
    // Both known: the server (destination of the first packet) wins.
    EXPECT_EQ(service_label(true, 6, true, 22, 80), "http");
    EXPECT_EQ(service_label(true, 6, true, 40000, 40001), "tcp-other");
    EXPECT_EQ(service_label(true, 17, false, 0, 0), "udp-noports");
    EXPECT_EQ(service_label(true, 1, false, 0, 0), "icmp");
    EXPECT_EQ(service_label(true, 50, false, 0, 0), "esp");
    EXPECT_EQ(service_label(true, 89, false, 0, 0), "ospf");
    EXPECT_EQ(service_label(false, 0, false, 0, 0), "unknown");
    EXPECT_EQ(ip_protocol_name(58), "icmpv6");
    EXPECT_EQ(ip_protocol_name(253), "ip-proto-253");
}

// ---------------------------------------------------------------------------------
// Timeline

TEST(Timeline, IntervalFromTheSpanAndBucketsAlignedToIt) {
    Timeline t;
    const int64_t base = 1700000000ll * 1000000000ll + 123456;
    for (int i = 0; i < 10; ++i) t.add(base + i * 1000000ll, 100);  // 10 packets, 9 ms
    // 1 µs .. 50 µs widths need more than 100 buckets for 9 ms; 100 µs needs 91.
    EXPECT_EQ(t.width_ns(), 100000);
    const auto b = t.buckets();
    ASSERT_EQ(b.size(), 91u);
    uint64_t packets = 0, bytes = 0;
    for (const auto& x : b) {
        EXPECT_EQ(x.start_ns % 100000, 0);
        packets += x.packets;
        bytes += x.bytes;
    }
    EXPECT_EQ(packets, 10u);
    EXPECT_EQ(bytes, 1000u);
    EXPECT_LE(b.front().start_ns, base);
    EXPECT_GT(b.front().start_ns + 100000, base);
}

TEST(Timeline, LongCapturesGetCoarseIntervals) {
    Timeline t;
    const int64_t day = 86400ll * 1000000000ll;
    t.add(0, 1);
    t.add(day + 1000000000ll, 1);  // a day and a second
    EXPECT_EQ(t.width_ns(), 900ll * 1000000000ll);  // 97 buckets of 15 min
    EXPECT_EQ(t.buckets().size(), 97u);
    EXPECT_EQ(t.width_ns(24), 3600ll * 1000000000ll * 2);  // at most 24: 2 h → 13 buckets
}

TEST(Timeline, OnePacketIsOneBucket) {
    Timeline t;
    t.add(5, 60);
    const auto b = t.buckets();
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].packets, 1u);
    EXPECT_EQ(b[0].start_ns, 0);
    EXPECT_TRUE(Timeline().buckets().empty());
}

TEST(Timeline, EarliestAndLatestAreExactAlsoInsideOneBucket) {
    Timeline t;
    t.add(1000, 1);
    t.add(1500, 1);  // same 1 µs bucket: the fast path
    t.add(1200, 1);
    EXPECT_EQ(t.min_ns(), 1000);
    EXPECT_EQ(t.max_ns(), 1500);
}

TEST(Timeline, PreEpochTimestampsFloorToTheirBucket) {
    Timeline t;
    t.add(-1, 1);
    t.add(-1000, 1);
    const auto b = t.buckets();
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].start_ns, -1000);  // the 1 µs bucket [-1000, 0)
}

TEST(Timeline, AnySplitAndMergeOrderGivesTheSameBuckets) {
    std::mt19937_64 rng(7);
    std::vector<int64_t> ts;
    int64_t t = 1600000000ll * 1000000000ll;
    for (int i = 0; i < 20000; ++i) {
        t += int64_t(rng() % 50000000);  // up to 50 ms apart: hours in all
        ts.push_back(t - int64_t(rng() % 3 == 0 ? rng() % 2000000000ll : 0));  // some out of order
    }
    Timeline whole;
    for (int64_t x : ts) whole.add(x, uint64_t(x % 1500));
    for (int round = 0; round < 5; ++round) {
        std::vector<Timeline> parts(1 + rng() % 6);
        for (size_t i = 0; i < ts.size(); ++i) parts[(i * parts.size()) / ts.size()].add(ts[i], uint64_t(ts[i] % 1500));
        std::shuffle(parts.begin(), parts.end(), rng);
        Timeline merged;
        for (const auto& p : parts) merged.merge(p);
        const auto a = whole.buckets(), b = merged.buckets();
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].start_ns, b[i].start_ns);
            EXPECT_EQ(a[i].packets, b[i].packets);
            EXPECT_EQ(a[i].bytes, b[i].bytes);
        }
        EXPECT_EQ(whole.width_ns(), merged.width_ns());
    }
}

TEST(Timeline, LadderWidthsDivideEachOther) {
    const auto& l = Timeline::ladder();
    for (size_t i = 1; i < l.size(); ++i) EXPECT_EQ(l[i] % l[i - 1], 0) << l[i];
}

// ---------------------------------------------------------------------------------
// Address scopes and countries

AddressScope scope4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    const uint8_t x[4] = {a, b, c, d};
    return address_scope(4, x);
}

AddressScope scope6(std::vector<uint8_t> prefix, uint8_t last = 1) {
    uint8_t x[16] = {};
    std::copy(prefix.begin(), prefix.end(), x);
    x[15] = last;
    return address_scope(6, x);
}

TEST(Country, PrivateAndSpecialRangesAreLabelled) {
    EXPECT_EQ(scope4(10, 1, 2, 3), AddressScope::Private);
    EXPECT_EQ(scope4(172, 16, 0, 1), AddressScope::Private);
    EXPECT_EQ(scope4(172, 31, 255, 254), AddressScope::Private);
    EXPECT_EQ(scope4(172, 32, 0, 1), AddressScope::Public);
    EXPECT_EQ(scope4(192, 168, 1, 1), AddressScope::Private);
    EXPECT_EQ(scope4(100, 64, 0, 1), AddressScope::Private);
    EXPECT_EQ(scope4(100, 128, 0, 1), AddressScope::Public);
    EXPECT_EQ(scope4(127, 0, 0, 1), AddressScope::Loopback);
    EXPECT_EQ(scope4(169, 254, 1, 1), AddressScope::LinkLocal);
    EXPECT_EQ(scope4(224, 0, 0, 5), AddressScope::Multicast);
    EXPECT_EQ(scope4(255, 255, 255, 255), AddressScope::Broadcast);
    EXPECT_EQ(scope4(192, 0, 2, 1), AddressScope::Reserved);
    EXPECT_EQ(scope4(0, 1, 2, 3), AddressScope::Reserved);
    EXPECT_EQ(scope4(8, 8, 8, 8), AddressScope::Public);
    EXPECT_EQ(scope6({0xfd, 0x00}), AddressScope::Private);
    EXPECT_EQ(scope6({0xfc, 0x00}), AddressScope::Private);
    EXPECT_EQ(scope6({0xfe, 0x80}), AddressScope::LinkLocal);
    EXPECT_EQ(scope6({0xff, 0x02}), AddressScope::Multicast);
    EXPECT_EQ(scope6({}, 1), AddressScope::Loopback);
    EXPECT_EQ(scope6({}, 0), AddressScope::Reserved);
    EXPECT_EQ(scope6({0x20, 0x01, 0x0d, 0xb8}), AddressScope::Reserved);
    EXPECT_EQ(scope6({0x20, 0x01, 0x48, 0x60}), AddressScope::Public);
    EXPECT_EQ(scope6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0}), AddressScope::Private);  // ::ffff:10.0.0.1
}

TEST(Country, WithoutADatabasePublicAddressesAreUnknown) {
    const GeoIp geo("/nonexistent");
    const uint8_t google[4] = {8, 8, 8, 8}, home[4] = {192, 168, 0, 1};
    EXPECT_EQ(geo.country(4, google).code, "unknown");
    EXPECT_EQ(geo.country(4, home).code, "private");
    EXPECT_NE(geo.note().find("no GeoIP country database"), std::string::npos);
}

TEST(Country, DebianDatabaseGivesCountriesAndSaysItIsOld) {
    const GeoIp geo;
    if (geo.database().empty()) GTEST_SKIP() << "geoip-database is not installed";
    const uint8_t google[4] = {8, 8, 8, 8};
    EXPECT_EQ(geo.country(4, google).code, "US");
    EXPECT_EQ(geo.country(4, google).name, "United States");
    uint8_t v6[16] = {0x20, 0x01, 0x48, 0x60, 0x48, 0x60};  // 2001:4860:4860::8888 (Google)
    v6[14] = 0x88;
    v6[15] = 0x88;
    EXPECT_EQ(geo.country(6, v6).code, "US");
    const uint8_t ten[4] = {10, 0, 0, 1};
    EXPECT_EQ(geo.country(4, ten).code, "private");
    EXPECT_NE(geo.note().find("old"), std::string::npos);
    // Debian 12's package holds the data of 2019-12-24 whatever its files' header says.
    const std::string& version = geo.package_version();
    if (const size_t really = version.find("really"); really != std::string::npos) {
        const std::string d = version.substr(really + 6, 8);
        EXPECT_EQ(geo.data_date(), d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2));
    }
    EXPECT_NE(geo.note().find(geo.data_date()), std::string::npos);
}

// ---------------------------------------------------------------------------------
// Whole analyses

TEST(Analyze, CountsFlowsAddressesProtocolsAndNonIp) {
    TempDir dir;
    const int64_t t0 = 1700000000ll * 1000000000ll;
    std::vector<Record> r = {
        // A TCP connection opened by 10.0.0.2 to 8.8.8.8:443 (the client is the higher address).
        {t0, pad(cat(ethernet(0x0800), cat(ipv4(B, C, 6), tcp(50000, 443, 0x02))), 60), 74},
        {t0 + 1000, pad(cat(ethernet(0x0800), cat(ipv4(C, B, 6), tcp(443, 50000, 0x12))), 60), 74},
        {t0 + 2000, pad(cat(ethernet(0x0800, {0x8100}), cat(ipv4(B, C, 6), tcp(50000, 443, 0x10))), 64), 66},
        // DNS from 10.0.0.1 to 10.0.0.2, one way.
        {t0 + 3000, pad(cat(ethernet(0x0800), cat(ipv4(A, B, 17), udp(40000, 53))), 80), 0},
        // ARP and a cut IPv4 header (no destination): counted, in no flow.
        {t0 + 4000, pad(cat(ethernet(0x0806), Bytes(28, 0)), 60), 0},
        {t0 + 5000, cut(cat(ethernet(0x0800), ipv4(A, B, 6)), 30), 60},
    };
    write_pcap(dir.file("a.pcap"), r);
    const Analysis a = analyze({{dir.file("a.pcap"), "a.pcap"}}, AnalyzeOptions{1});
    EXPECT_EQ(a.records, 6u);
    EXPECT_EQ(a.bytes, 74u + 74 + 66 + 80 + 60 + 60);
    EXPECT_EQ(a.non_ip_packets, 1u);
    EXPECT_EQ(a.incomplete_ip_packets, 1u);
    ASSERT_EQ(a.flows.size(), 2u);
    const nlohmann::json j = to_json(a, ReportOptions{0});
    const auto& f = j["flows"]["items"][0];  // the larger: TCP
    EXPECT_EQ(f["client"], "10.0.0.2");
    EXPECT_EQ(f["clientPort"], 50000);
    EXPECT_EQ(f["server"], "8.8.8.8");
    EXPECT_EQ(f["serverPort"], 443);
    EXPECT_EQ(f["service"], "https");
    EXPECT_EQ(f["clientPackets"], 2);
    EXPECT_EQ(f["clientBytes"], 140);
    EXPECT_EQ(f["serverPackets"], 1);
    EXPECT_EQ(f["serverBytes"], 74);
    EXPECT_EQ(f["tcpFlags"], "SYN|ACK");
    EXPECT_EQ(f["firstTimestamp"], "2023-11-14T22:13:20.000000000Z");
    EXPECT_EQ(f["durationSeconds"], 2e-6);
    EXPECT_EQ(f["clientCountry"], "private");
    EXPECT_EQ(j["flows"]["items"][1]["service"], "dns");
    EXPECT_TRUE(j["flows"]["items"][1]["tcpFlags"].is_null());
    // 10.0.0.2 is in both flows: two peers.
    bool found = false;
    for (const auto& x : j["addresses"]["items"]) {
        if (x["address"] != "10.0.0.2") continue;
        found = true;
        EXPECT_EQ(x["flows"], 2);
        EXPECT_EQ(x["peers"], 2);
        EXPECT_EQ(x["bytesSent"], 140);
        EXPECT_EQ(x["bytesReceived"], 74 + 80);
    }
    EXPECT_TRUE(found);
    EXPECT_EQ(j["nonIp"][0]["type"], "arp");
    EXPECT_EQ(j["summary"]["ipPackets"], 5);
    std::vector<std::string> protocols;
    for (const auto& p : j["protocols"]) protocols.push_back(p["protocol"]);
    EXPECT_EQ(protocols, (std::vector<std::string>{"tcp", "udp", "ip-incomplete", "non-ip"}));
    EXPECT_EQ(j["files"][0]["format"], "pcap");
    EXPECT_EQ(j["files"][0]["linkType"], "EN10MB");
    EXPECT_EQ(j["timeline"]["buckets"].size(), 6u);  // 5 µs span, 1 µs buckets
}

TEST(Analyze, TopLimitsTheListsNotTheTotals) {
    TempDir dir;
    write_pcap(dir.file("r.pcap"), random_traffic(3000, 1));
    const Analysis a = analyze({{dir.file("r.pcap"), ""}}, AnalyzeOptions{1});
    const auto j = to_json(a, ReportOptions{5});
    EXPECT_EQ(j["flows"]["items"].size(), 5u);
    EXPECT_EQ(j["flows"]["total"], a.flows.size());
    EXPECT_EQ(j["addresses"]["items"].size(), 5u);
    uint64_t previous = UINT64_MAX;
    for (const auto& f : j["flows"]["items"]) {
        EXPECT_LE(f["bytes"].get<uint64_t>(), previous);
        previous = f["bytes"];
    }
}

TEST(Analyze, TornLastRecordIsReportedAndWhatCameBeforeCounts) {
    TempDir dir;
    auto r = random_traffic(100, 2);
    write_pcap(dir.file("t.pcap"), r, 10);
    const Analysis a = analyze({{dir.file("t.pcap"), "t.pcap"}}, AnalyzeOptions{1});
    EXPECT_EQ(a.records, 99u);
    ASSERT_EQ(a.warnings.size(), 1u);
    EXPECT_NE(a.warnings[0].find("t.pcap: read stopped after 99 records"), std::string::npos) << a.warnings[0];
    EXPECT_FALSE(a.files[0].error.empty());
}

TEST(Analyze, UnreadableFilesAreWarningsNotFailures) {
    TempDir dir;
    std::ofstream(dir.file("junk.pcap")) << "this is not a capture file at all";
    write_pcap(dir.file("ok.pcap"), random_traffic(10, 3));
    const Analysis a =
        analyze({{dir.file("missing.pcap"), "missing.pcap"}, {dir.file("junk.pcap"), "junk.pcap"}, {dir.file("ok.pcap"), "ok.pcap"}});
    EXPECT_EQ(a.records, 10u);
    ASSERT_EQ(a.warnings.size(), 2u);
    EXPECT_NE(a.warnings[0].find("missing.pcap: cannot open"), std::string::npos);
    EXPECT_NE(a.warnings[1].find("junk.pcap: not a capture file"), std::string::npos);
}

TEST(Analyze, ParallelAndSerialGiveIdenticalResults) {
    TempDir dir;
    // Two pcap files and a pcapng file; small chunks so that every file is cut into many
    // record ranges read by both threads in whatever order TBB picks.
    write_pcap(dir.file("one.pcap"), random_traffic(20000, 11));
    write_pcap(dir.file("two.pcap"), random_traffic(5000, 12), 7);  // torn tail too
    write_pcapng(dir.file("three.pcapng"), random_traffic(8000, 13));
    const std::vector<InputFile> inputs = {
        {dir.file("one.pcap"), "one.pcap"}, {dir.file("two.pcap"), "two.pcap"}, {dir.file("three.pcapng"), "three.pcapng"}};
    const Analysis serial = analyze(inputs, AnalyzeOptions{1});
    EXPECT_EQ(serial.engine.work_items, 3u);
    const auto expected = result_json(serial);
    EXPECT_EQ(serial.records, 20000u + 4999 + 8000);
    for (uint64_t chunk : {4096ull, 65536ull, 300000ull}) {
        AnalyzeOptions o;
        o.threads = 2;
        o.chunk_bytes = chunk;
        const Analysis parallel = analyze(inputs, o);
        EXPECT_GT(parallel.engine.work_items, 3u) << chunk;
        EXPECT_EQ(parallel.engine.threads, 2u);
        EXPECT_EQ(result_json(parallel), expected) << "chunk " << chunk;
    }
}

TEST(Analyze, PcapngInterfaceDescribedMidFileEndsTheCutting) {
    // A range starting after the second interface description would not know that
    // interface: the walk cuts before it, and the rest of the file is one range.
    TempDir dir;
    write_pcapng(dir.file("x.pcapng"), random_traffic(4000, 5), 2500);
    AnalyzeOptions o;
    o.threads = 2;
    o.chunk_bytes = 4096;
    const Analysis parallel = analyze({{dir.file("x.pcapng"), "x"}}, o);
    const Analysis serial = analyze({{dir.file("x.pcapng"), "x"}}, AnalyzeOptions{1});
    EXPECT_EQ(serial.records, 4000u);
    EXPECT_TRUE(serial.warnings.empty()) << serial.warnings[0];
    EXPECT_GT(parallel.engine.work_items, 10u);
    EXPECT_LT(parallel.engine.work_items, 2500u * 100 / 4096 + 2);  // no cut after record 2500
    EXPECT_EQ(result_json(parallel), result_json(serial));
}

TEST(Analyze, CancelStopsEarly) {
    TempDir dir;
    write_pcap(dir.file("big.pcap"), random_traffic(300000, 9));
    std::atomic<bool> cancel{true};
    AnalyzeOptions o;
    o.threads = 1;
    o.cancel = &cancel;
    const Analysis a = analyze({{dir.file("big.pcap"), ""}}, o);
    EXPECT_TRUE(a.engine.cancelled);
    EXPECT_LT(a.records, 300000u);
}

// ---------------------------------------------------------------------------------
// Rendering

TEST(Report, TablesCsvAndTheGeoIpNote) {
    TempDir dir;
    write_pcap(dir.file("r.pcap"), random_traffic(500, 4));
    const auto j = to_json(analyze({{dir.file("r.pcap"), "r.pcap"}}, AnalyzeOptions{1}), ReportOptions{5});
    const std::string text = render_text(j);
    for (const char* s : {"Capture: 1 file, 500 records", "Flows: top 5 of", "Protocols", "Services", "Top talkers",
                          "Countries*", "Timeline:", "country data is old"})
        EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
    const std::string only = render_text(j, {"protocols"});
    EXPECT_EQ(only.find("Flows"), std::string::npos);
    EXPECT_EQ(only.find("country data"), std::string::npos);  // no countries shown, no note
    EXPECT_THROW(render_text(j, {"nonsense"}), std::invalid_argument);
    const std::string csv = render_csv(j, "flows");
    EXPECT_EQ(csv.substr(0, csv.find('\n')),
              "protocol,protocolNumber,service,ipVersion,client,clientPort,server,serverPort,firstTimestamp,"
              "lastTimestamp,durationSeconds,packets,bytes,clientPackets,clientBytes,serverPackets,serverBytes,"
              "tcpFlags,clientCountry,serverCountry");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);
    EXPECT_THROW(render_csv(j, "nonsense"), std::invalid_argument);
    EXPECT_EQ(tcp_flag_names(0x13), "FIN|SYN|ACK");
    EXPECT_EQ(format_timestamp(-1), "1969-12-31T23:59:59.999999999Z");
}

}  // namespace
}  // namespace trawl::analysis
