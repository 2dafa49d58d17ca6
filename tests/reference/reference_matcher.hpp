// The reference matcher: DESIGN §2.2 (filters) and §2.3 (tunnel classes) written as
// plainly as possible, independently of dataplane/. It is slow on purpose — one packet,
// one filter at a time, no precomputation — so that it is easy to check by reading.
// The compiled classifier (rte_acl) and everything trawld writes are compared to it.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace trawl::reference {

struct Range {  // inclusive; IPv4 addresses use bytes 12..15 of the array
    bool v6 = false;
    std::array<uint8_t, 16> lo{}, hi{};
};

struct PortSpan {
    uint32_t lo = 0, hi = 65535;
};

struct Filter {
    std::vector<Range> sources, destinations;
    std::vector<PortSpan> source_ports, destination_ports;
    std::vector<int> protocols;
    uint32_t tcp_flags = 0;
    bool bidirectional = true;
};

struct Session {
    std::vector<Filter> filters;
    uint32_t tracing_flags = 0;
};

// Reads the canonical spec JSON (the "spec" object of GET /v1/captures/{name}, or a
// canonical PUT body): "filters" with sourceSubnets, destinationSubnets, sourcePorts,
// destinationPorts, protocols, tcpFlags, bidirectional; and "tracingFlags". Other spec
// fields are ignored. Throws std::runtime_error on anything it cannot read.
Session session_from_json(const nlohmann::json& spec);

// True if the session captures the packet whose captured bytes are data[0..length).
bool session_matches(const Session& session, const uint8_t* data, size_t length);

// The §2.1 payload of a packet: [offset, offset+length) within the captured bytes.
struct Payload {
    size_t offset = 0;
    size_t length = 0;
    bool ip = false;  // non-IP packets have no payload at all; an IP one may be empty
};
Payload payload_of(const uint8_t* data, size_t length);

}  // namespace trawl::reference
