// What control hands down to the dataplane: a capture session's match rules as plain
// values, already validated and canonical (DESIGN §2.2–2.3). No DPDK here, so control
// code and its tests can build these without an EAL.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace trawl::dataplane {

// An inclusive address range of one family. IPv4 addresses live in the last four bytes
// (network order) with the first twelve zero, so both families share one type.
struct AddressRange {
    bool is_v6 = false;
    std::array<uint8_t, 16> first{};
    std::array<uint8_t, 16> last{};

    bool operator==(const AddressRange&) const = default;
};

struct PortRange {
    uint16_t first = 0;
    uint16_t last = 0xffff;

    bool operator==(const PortRange&) const = default;
};

// TCP flag bits (byte 13 of the TCP header).
enum TcpFlag : uint8_t {
    kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08,
    kTcpAck = 0x10, kTcpUrg = 0x20, kTcpEce = 0x40, kTcpCwr = 0x80,
};

// tracingFlags bits (DESIGN §2.3).
enum TracingFlag : uint32_t {
    kTraceEsp = 1,
    kTraceIke = 2,
    kTraceOpenVpn = 8,
};
inline constexpr uint32_t kAllTracingFlags = kTraceEsp | kTraceIke | kTraceOpenVpn;

// One canonical filter. An empty list means "any"; a filter with no constraint at all
// matches every packet, IP or not.
struct Filter {
    std::vector<AddressRange> source;
    std::vector<AddressRange> destination;
    std::vector<PortRange> source_ports;
    std::vector<PortRange> destination_ports;
    std::vector<uint8_t> protocols;
    uint8_t tcp_flags = 0;  // 0: no flag constraint; else (flags & mask) != 0
    bool bidirectional = true;

    bool unconstrained() const {
        return source.empty() && destination.empty() && source_ports.empty() &&
               destination_ports.empty() && protocols.empty() && tcp_flags == 0;
    }
    bool operator==(const Filter&) const = default;
};

// Everything the classifier needs to decide whether a packet belongs to a session.
// An empty filter list with tracing_flags == 0 means "every packet".
struct SessionRules {
    std::vector<Filter> filters;
    uint32_t tracing_flags = 0;
    std::vector<std::string> payload_patterns;  // Hyperscan syntax

    // True when the 5-tuple/flag/tunnel stage alone selects every packet, IP or not.
    // Payload patterns are a separate, later stage and do not change this answer.
    bool tuple_match_is_universal() const {
        if (filters.empty()) return tracing_flags == 0;
        for (const auto& f : filters)
            if (f.unconstrained()) return true;
        return false;
    }
};

}  // namespace trawl::dataplane
