// trawl-trafficgen: deterministic traffic mixes written as a pcap (microsecond
// timestamps, so a net_pcap replay reproduces them exactly). Used by the demo, the
// integration tests and the benchmarks in perf/.
//
//   trawl-trafficgen --mix demo|64|imix|mixed|text --packets N [--flows N] [--seed S]
//                    [--ipv6 PERCENT] [--payload-bytes N] [--start-us T] [--gap-us G] --out FILE
//
// Mixes:
//   demo   an office network in miniature: web (80/443), DNS, SSH, ICMP, IPsec (ESP,
//          IKE on 500 and 4500 with and without the non-ESP marker), OpenVPN, IPv6,
//          VLAN-tagged and non-IP frames.
//   64     64-byte frames on the wire (60 bytes captured, no FCS): UDP/TCP over many flows.
//   imix   7:4:1 of 64/570/1518-byte frames.
//   mixed  64-byte and IMIX sizes half and half, TCP and UDP.
//   text   every packet carries exactly --payload-bytes of L4 payload of lowercase
//          words (deterministic), for the payload-pattern benchmarks.
// Flow f uses 10.(f>>16).(f>>8).(f) → 192.168.x.y (or fd00::/fd01:: for IPv6) and
// ports 1024+f%50000 → a port from a small set, so rule sets in perf/ can target
// exact fractions of the traffic.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Writer {
    FILE* f;
    uint64_t ts_us;
    uint64_t gap_us;
    void header() {
        const uint32_t h[] = {0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1};
        std::fwrite(h, 4, 2, f);
        std::fwrite(&h[2], 4, 4, f);
    }
    void packet(const std::vector<uint8_t>& p) {
        const uint32_t rec[4] = {uint32_t(ts_us / 1000000), uint32_t(ts_us % 1000000), uint32_t(p.size()),
                                 uint32_t(p.size())};
        std::fwrite(rec, 4, 4, f);
        std::fwrite(p.data(), 1, p.size(), f);
        ts_us += gap_us;
    }
};

void put16(std::vector<uint8_t>& p, size_t at, uint16_t v) {
    p[at] = uint8_t(v >> 8);
    p[at + 1] = uint8_t(v);
}

uint16_t checksum(const uint8_t* d, size_t n) {
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(d[i] << 8 | d[i + 1]);
    if (n & 1) s += uint32_t(d[n - 1] << 8);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return uint16_t(~s);
}

struct Flow {
    bool v6 = false;
    uint8_t proto = 17;
    uint8_t src[16]{}, dst[16]{};
    uint16_t sport = 0, dport = 0;
};

// Ethernet (+ optional VLAN) + IPv4/IPv6 + TCP/UDP/other, padded to `frame` bytes.
std::vector<uint8_t> build(const Flow& fl, size_t frame, uint8_t tcp_flags = 0x10, int vlans = 0,
                           const std::vector<uint8_t>& payload_prefix = {}) {
    const size_t l2 = 14 + 4 * size_t(vlans);
    const size_t l3 = fl.v6 ? 40 : 20;
    const size_t l4 = fl.proto == 6 ? 20 : fl.proto == 17 ? 8 : fl.proto == 1 || fl.proto == 58 ? 8 : 0;
    size_t min = l2 + l3 + l4 + payload_prefix.size();
    if (frame < min) frame = min;
    if (frame < 60) frame = 60;
    std::vector<uint8_t> p(frame, 0);
    const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x02}, smac[6] = {0x02, 0, 0, 0, 0, 0x01};
    std::memcpy(&p[0], dmac, 6);
    std::memcpy(&p[6], smac, 6);
    size_t off = 12;
    for (int v = 0; v < vlans; ++v) {
        put16(p, off, v == 0 && vlans == 2 ? 0x88a8 : 0x8100);
        put16(p, off + 2, uint16_t(100 + v));
        off += 4;
    }
    put16(p, off, fl.v6 ? 0x86dd : 0x0800);
    off += 2;
    const size_t ip = off;
    const size_t ip_payload = frame - ip - l3;
    if (fl.v6) {
        p[ip] = 0x60;
        put16(p, ip + 4, uint16_t(ip_payload));
        p[ip + 6] = fl.proto;
        p[ip + 7] = 64;
        std::memcpy(&p[ip + 8], fl.src, 16);
        std::memcpy(&p[ip + 24], fl.dst, 16);
    } else {
        p[ip] = 0x45;
        put16(p, ip + 2, uint16_t(frame - ip));
        put16(p, ip + 6, 0x4000);  // DF
        p[ip + 8] = 64;
        p[ip + 9] = fl.proto;
        std::memcpy(&p[ip + 12], fl.src + 12, 4);
        std::memcpy(&p[ip + 16], fl.dst + 12, 4);
        put16(p, ip + 10, checksum(&p[ip], 20));
    }
    const size_t t = ip + l3;
    if (fl.proto == 6) {
        put16(p, t, fl.sport);
        put16(p, t + 2, fl.dport);
        p[t + 12] = 0x50;
        p[t + 13] = tcp_flags;
        put16(p, t + 14, 65535);
    } else if (fl.proto == 17) {
        put16(p, t, fl.sport);
        put16(p, t + 2, fl.dport);
        put16(p, t + 4, uint16_t(ip_payload));
    } else if (fl.proto == 1 || fl.proto == 58) {
        p[t] = fl.proto == 1 ? 8 : 128;  // echo request
    }
    std::memcpy(&p[t + l4], payload_prefix.data(), payload_prefix.size());
    return p;
}

Flow make_flow(uint32_t f, bool v6, uint8_t proto) {
    Flow fl;
    fl.v6 = v6;
    fl.proto = proto;
    if (v6) {
        fl.src[0] = 0xfd;
        fl.dst[0] = 0xfd;
        fl.dst[1] = 0x01;
        fl.src[13] = uint8_t(f >> 16);
        fl.src[14] = uint8_t(f >> 8);
        fl.src[15] = uint8_t(f);
        fl.dst[15] = uint8_t(1 + f % 200);
    } else {
        const uint8_t s[4] = {10, uint8_t(f >> 16), uint8_t(f >> 8), uint8_t(f)};
        const uint8_t d[4] = {192, 168, uint8_t(f % 200), uint8_t(1 + f % 250)};
        std::memcpy(fl.src + 12, s, 4);
        std::memcpy(fl.dst + 12, d, 4);
    }
    fl.sport = uint16_t(1024 + f % 50000);
    static const uint16_t services[] = {80, 443, 53, 22, 8080, 3306, 5432, 6379};
    fl.dport = services[f % 8];
    return fl;
}

void demo_mix(Writer& w, uint64_t packets, std::mt19937_64& rng) {
    auto addr4 = [](Flow& fl, const char* s, const char* d) {
        unsigned a, b, c, e;
        std::sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &e);
        fl.src[12] = uint8_t(a), fl.src[13] = uint8_t(b), fl.src[14] = uint8_t(c), fl.src[15] = uint8_t(e);
        std::sscanf(d, "%u.%u.%u.%u", &a, &b, &c, &e);
        fl.dst[12] = uint8_t(a), fl.dst[13] = uint8_t(b), fl.dst[14] = uint8_t(c), fl.dst[15] = uint8_t(e);
    };
    auto reverse = [](Flow fl) {
        std::swap(fl.src, fl.dst);
        std::swap(fl.sport, fl.dport);
        return fl;
    };
    const std::vector<uint8_t> http = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n',
                                       'H', 'o', 's', 't', ':', ' ', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o',
                                       'm', '\r', '\n', '\r', '\n'};
    uint64_t n = 0;
    while (n < packets) {
        const uint32_t client = uint32_t(rng() % 40);
        const int kind = int(rng() % 20);
        Flow fl;
        char src[32];
        std::snprintf(src, sizeof src, "10.1.0.%u", 10 + client);
        if (kind < 6) {  // web: handshake, request, response, ack, fin
            fl.proto = 6;
            addr4(fl, src, kind < 3 ? "93.184.216.34" : "140.82.112.3");
            fl.sport = uint16_t(40000 + rng() % 20000);
            fl.dport = kind % 2 ? 443 : 80;
            const Flow back = reverse(fl);
            const std::vector<std::vector<uint8_t>> conv = {
                build(fl, 74, 0x02), build(back, 74, 0x12), build(fl, 66, 0x10),
                build(fl, 200, 0x18, 0, fl.dport == 80 ? http : std::vector<uint8_t>{}),
                build(back, 1514, 0x10), build(back, 900, 0x18), build(fl, 66, 0x10), build(fl, 66, 0x11),
                build(back, 66, 0x11), build(fl, 66, 0x10)};
            for (const auto& p : conv) {
                if (n++ >= packets) break;
                w.packet(p);
            }
        } else if (kind < 9) {  // DNS query and answer
            fl.proto = 17;
            addr4(fl, src, "10.1.0.2");
            fl.sport = uint16_t(30000 + rng() % 30000);
            fl.dport = 53;
            w.packet(build(fl, 80));
            ++n;
            if (n++ < packets) w.packet(build(reverse(fl), 140));
        } else if (kind < 11) {  // SSH
            fl.proto = 6;
            addr4(fl, src, "10.1.0.5");
            fl.sport = uint16_t(50000 + rng() % 10000);
            fl.dport = 22;
            w.packet(build(fl, 150, 0x18));
            ++n;
            if (n++ < packets) w.packet(build(reverse(fl), 118, 0x18));
        } else if (kind < 12) {  // ICMP echo
            fl.proto = 1;
            addr4(fl, src, "8.8.8.8");
            w.packet(build(fl, 98));
            ++n;
        } else if (kind < 13) {  // ESP
            fl.proto = 50;
            addr4(fl, "198.51.100.7", "203.0.113.9");
            w.packet(build(fl, 170, 0, 0, {0, 0, 0x10, 0x01, 0, 0, 0, uint8_t(n)}));
            ++n;
        } else if (kind < 14) {  // IKE on 500, IKE on 4500 (marker), ESP-in-UDP on 4500
            fl.proto = 17;
            addr4(fl, "198.51.100.7", "203.0.113.9");
            fl.sport = 500;
            fl.dport = 500;
            w.packet(build(fl, 300, 0, 0, {0x11, 0x22, 0x33, 0x44}));
            ++n;
            fl.sport = 4500;
            fl.dport = 4500;
            if (n++ < packets) w.packet(build(fl, 250, 0, 0, {0, 0, 0, 0, 0x11, 0x22}));
            if (n++ < packets) w.packet(build(fl, 180, 0, 0, {0, 0, 0x10, 0x02}));
        } else if (kind < 15) {  // OpenVPN
            fl.proto = 17;
            addr4(fl, src, "203.0.113.50");
            fl.sport = uint16_t(40000 + client);
            fl.dport = 1194;
            w.packet(build(fl, 120));
            ++n;
        } else if (kind < 18) {  // IPv6 web and DNS
            fl.v6 = true;
            fl.proto = kind == 17 ? 17 : 6;
            fl.src[0] = 0x20, fl.src[1] = 0x01, fl.src[2] = 0x0d, fl.src[3] = 0xb8, fl.src[15] = uint8_t(client + 1);
            fl.dst[0] = 0x20, fl.dst[1] = 0x01, fl.dst[2] = 0x0d, fl.dst[3] = 0xb8, fl.dst[14] = 1, fl.dst[15] = 1;
            fl.sport = uint16_t(40000 + rng() % 20000);
            fl.dport = fl.proto == 6 ? 443 : 53;
            w.packet(build(fl, fl.proto == 6 ? 86 : 100, 0x02));
            ++n;
            if (n++ < packets) w.packet(build(reverse(fl), fl.proto == 6 ? 86 : 180, 0x12));
        } else if (kind < 19) {  // VLAN-tagged traffic (802.1Q and QinQ)
            fl.proto = 6;
            addr4(fl, src, "172.16.5.10");
            fl.sport = uint16_t(40000 + client);
            fl.dport = 8080;
            w.packet(build(fl, 120, 0x18, 1 + int(rng() % 2)));
            ++n;
        } else {  // ARP: not IP
            std::vector<uint8_t> arp(60, 0);
            std::memset(&arp[0], 0xff, 6);
            arp[6] = 0x02, arp[11] = 0x01;
            arp[12] = 0x08, arp[13] = 0x06;
            arp[14] = 0, arp[15] = 1, arp[16] = 8, arp[17] = 0, arp[18] = 6, arp[19] = 4, arp[21] = 1;
            w.packet(arp);
            ++n;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string mix = "demo", out;
    uint64_t packets = 10000, flows = 1024, seed = 1, ipv6_percent = 20;
    uint64_t start_us = 1795000000ull * 1000000ull, gap_us = 10, payload_bytes = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--mix") mix = v;
        else if (a == "--packets") packets = std::strtoull(v.c_str(), nullptr, 10);
        else if (a == "--flows") flows = std::strtoull(v.c_str(), nullptr, 10);
        else if (a == "--seed") seed = std::strtoull(v.c_str(), nullptr, 10);
        else if (a == "--ipv6") ipv6_percent = std::strtoull(v.c_str(), nullptr, 10);
        else if (a == "--start-us") start_us = std::strtoull(v.c_str(), nullptr, 10);
        else if (a == "--gap-us") gap_us = std::strtoull(v.c_str(), nullptr, 10);
        else if (a == "--payload-bytes") payload_bytes = std::strtoull(v.c_str(), nullptr, 10);
        else if (a == "--out") out = v;
        else {
            std::fprintf(stderr, "trawl-trafficgen: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (out.empty() || flows == 0 || (mix != "demo" && mix != "64" && mix != "imix" && mix != "mixed" && mix != "text") ||
        payload_bytes > 9000) {
        std::fprintf(stderr,
                     "usage: trawl-trafficgen --mix demo|64|imix|mixed|text --packets N [--flows N] [--seed S] "
                     "[--ipv6 PERCENT] [--payload-bytes N (text, <= 9000)] [--start-us T] [--gap-us G] --out FILE\n");
        return 2;
    }
    FILE* f = std::fopen(out.c_str(), "wb");
    if (!f) {
        std::perror(out.c_str());
        return 1;
    }
    Writer w{f, start_us, gap_us};
    w.header();
    std::mt19937_64 rng(seed);
    if (mix == "demo") {
        demo_mix(w, packets, rng);
    } else if (mix == "text") {
        static const char* words[] = {"the", "quick", "capture", "of", "packets", "at", "line", "rate",
                                      "session", "filter", "host", "agent", "cookie", "accept", "value", "and"};
        std::vector<uint8_t> payload;
        for (uint64_t i = 0; i < packets; ++i) {
            const uint32_t flow = uint32_t(rng() % flows);
            const bool v6 = (rng() % 100) < ipv6_percent;
            payload.clear();
            while (payload.size() < payload_bytes) {
                const char* word = words[rng() % 16];
                for (const char* c = word; *c && payload.size() < payload_bytes; ++c) payload.push_back(uint8_t(*c));
                if (payload.size() < payload_bytes) payload.push_back(' ');
            }
            w.packet(build(make_flow(flow, v6, (flow & 1) ? 6 : 17), 0, 0x18, 0, payload));
        }
    } else {
        // On-the-wire sizes include the 4-byte FCS, which a capture does not hold.
        static const size_t imix[12] = {60, 60, 60, 60, 60, 60, 60, 566, 566, 566, 566, 1514};
        for (uint64_t i = 0; i < packets; ++i) {
            const uint32_t flow = uint32_t(rng() % flows);
            const bool v6 = (rng() % 100) < ipv6_percent;
            const uint8_t proto = (flow & 1) ? 6 : 17;
            size_t size = 60;
            if (mix == "imix") size = imix[i % 12];
            else if (mix == "mixed") size = (i & 1) ? imix[(i / 2) % 12] : 60;
            // 64-byte IPv6 TCP does not fit in 60 bytes: it grows to its minimum.
            w.packet(build(make_flow(flow, v6, proto), size, 0x10));
        }
    }
    if (std::fclose(f) != 0) {
        std::perror(out.c_str());
        return 1;
    }
    return 0;
}
