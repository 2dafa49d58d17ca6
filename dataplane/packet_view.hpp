// The packet as filters see it (DESIGN §2.2), parsed from the captured bytes only.
//
// Works on a contiguous (start, length) pair so that the same code serves the worker
// (an mbuf's first segment, or a linearised copy of a chained one), unit tests and the
// fuzzer. Every read is bounded by `length`; the IP length fields are never trusted.
// Cost: a few dozen instructions for an untagged IPv4/TCP frame, no loops unless IPv6
// extension headers are present.
#pragma once

#include <cstdint>
#include <cstring>

namespace trawl::dataplane {

// Which fields the captured bytes contain. A constraint on an absent field fails.
enum PacketField : uint8_t {
    kHasSource = 0x01,
    kHasDestination = 0x02,
    kHasProtocol = 0x04,
    kHasPorts = 0x08,
    kHasTcpFlags = 0x10,
    // UDP whose first four payload bytes are captured: non-zero (ESP-in-UDP) or zero
    // (the IKE non-ESP marker). Used by the tunnel classes of DESIGN §2.3.
    kUdpMarkerNonZero = 0x20,
    kUdpMarkerZero = 0x40,
};

inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoSctp = 132;
inline constexpr uint8_t kIpProtoEsp = 50;
inline constexpr uint8_t kIpProtoAh = 51;

struct PacketView {
    uint8_t family = 0;     // 0: not IP, 4: IPv4, 6: IPv6
    uint8_t present = 0;    // PacketField bits
    uint8_t protocol = 0;   // upper-layer protocol (valid with kHasProtocol)
    uint8_t tcp_flags = 0;  // valid with kHasTcpFlags
    uint16_t source_port = 0;       // host order, valid with kHasPorts
    uint16_t destination_port = 0;
    uint32_t l3_offset = 0;         // start of the IP header
    // DESIGN §2.1 payload: what payload patterns are matched against.
    uint32_t payload_offset = 0;
    uint32_t payload_length = 0;

    bool is_ip() const { return family != 0; }
    bool has(PacketField f) const { return (present & f) != 0; }
    // Source/destination address bytes inside the packet: 4 bytes for IPv4, 16 for IPv6.
    const uint8_t* source(const uint8_t* packet) const {
        return packet + l3_offset + (family == 4 ? 12 : 8);
    }
    const uint8_t* destination(const uint8_t* packet) const {
        return packet + l3_offset + (family == 4 ? 16 : 24);
    }
};

namespace detail {

inline uint16_t read_be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t read_be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

inline bool is_vlan_tpid(uint16_t type) {
    return type == 0x8100 || type == 0x88a8 || type == 0x9100;
}

// Ports, TCP flags, the UDP marker and the payload, once the upper-layer protocol and
// its start are known. `later_fragment`: a fragment with offset != 0 carries no ports.
inline void parse_transport(PacketView& v, const uint8_t* p, uint32_t len, uint32_t l4,
                            bool later_fragment) {
    // §2.1: by default the payload is what follows the IP header chain.
    if (l4 < len) {
        v.payload_offset = l4;
        v.payload_length = len - l4;
    } else {
        v.payload_offset = len;
        v.payload_length = 0;
    }
    if (later_fragment) return;

    const uint8_t proto = v.protocol;
    const uint64_t l4_end = uint64_t(l4);  // widen: l4 may exceed len
    if ((proto == kIpProtoTcp || proto == kIpProtoUdp || proto == kIpProtoSctp) &&
        l4_end + 4 <= len) {
        v.present |= kHasPorts;
        v.source_port = read_be16(p + l4);
        v.destination_port = read_be16(p + l4 + 2);
    }
    if (proto == kIpProtoTcp) {
        if (l4_end + 14 <= len) {
            v.present |= kHasTcpFlags;
            v.tcp_flags = p[l4 + 13];
        }
        if (l4_end + 20 <= len) {
            const uint32_t data_offset = uint32_t(p[l4 + 12] >> 4) * 4;
            if (data_offset >= 20 && l4_end + data_offset <= len) {
                v.payload_offset = l4 + data_offset;
                v.payload_length = len - v.payload_offset;
            }
        }
    } else if (proto == kIpProtoUdp && l4_end + 8 <= len) {
        v.payload_offset = l4 + 8;
        v.payload_length = len - v.payload_offset;
        if (l4_end + 12 <= len)
            v.present |= read_be32(p + l4 + 8) != 0 ? kUdpMarkerNonZero : kUdpMarkerZero;
    }
}

inline void parse_ipv4(PacketView& v, const uint8_t* p, uint32_t len, uint32_t off) {
    if (off >= len) return;  // no version byte: not IP
    const uint8_t version_ihl = p[off];
    if ((version_ihl >> 4) != 4 || (version_ihl & 0x0f) < 5) return;
    v.family = 4;
    v.l3_offset = off;
    const uint32_t avail = len - off;
    if (avail >= 16) v.present |= kHasSource;
    if (avail >= 20) v.present |= kHasDestination;
    if (avail < 10) {  // protocol byte (9) not captured
        v.payload_offset = len;
        return;
    }
    v.present |= kHasProtocol;
    v.protocol = p[off + 9];
    const bool later_fragment = (read_be16(p + off + 6) & 0x1fff) != 0;
    parse_transport(v, p, len, off + uint32_t(version_ihl & 0x0f) * 4, later_fragment);
}

inline void parse_ipv6(PacketView& v, const uint8_t* p, uint32_t len, uint32_t off) {
    v.family = 6;
    v.l3_offset = off;
    v.payload_offset = len;
    const uint64_t avail = off < len ? len - off : 0;
    if (avail >= 24) v.present |= kHasSource;
    if (avail >= 40) v.present |= kHasDestination;
    if (avail < 7) return;  // next-header byte not captured

    uint8_t next = p[off + 6];
    uint64_t pos = uint64_t(off) + 40;
    bool later_fragment = false;
    for (;;) {
        if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, dest opts
            if (pos + 2 > len) return;
            const uint64_t size = (uint64_t(p[pos + 1]) + 1) * 8;
            next = p[pos];
            pos += size;
        } else if (next == 44) {  // fragment
            if (pos + 8 > len) return;
            const bool nonzero_offset = (read_be16(p + pos + 2) & 0xfff8) != 0;
            next = p[pos];
            pos += 8;
            if (nonzero_offset) {
                later_fragment = true;
                break;
            }
        } else if (next == kIpProtoAh) {
            if (pos + 2 > len) return;
            const uint64_t size = (uint64_t(p[pos + 1]) + 2) * 4;
            next = p[pos];
            pos += size;
        } else {
            break;
        }
    }
    // The upper-layer header would start after the last captured byte: protocol and
    // ports are absent (DESIGN §2.2).
    if (pos >= len) return;
    v.present |= kHasProtocol;
    v.protocol = next;
    parse_transport(v, p, len, uint32_t(pos), later_fragment);
}

}  // namespace detail

// Parses Ethernet II, up to two VLAN tags (0x8100, 0x88a8, 0x9100), then IPv4/IPv6.
inline PacketView parse_packet(const uint8_t* p, uint32_t len) {
    PacketView v;
    v.payload_offset = len;
    if (len < 14) return v;
    uint16_t type = detail::read_be16(p + 12);
    uint32_t off = 14;
    for (int tags = 0; tags < 2 && detail::is_vlan_tpid(type); ++tags) {
        if (off + 4 > len) return v;
        type = detail::read_be16(p + off + 2);
        off += 4;
    }
    if (type == 0x0800)
        detail::parse_ipv4(v, p, len, off);
    else if (type == 0x86dd)
        detail::parse_ipv6(v, p, len, off);
    return v;
}

}  // namespace trawl::dataplane
