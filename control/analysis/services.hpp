// Names for what a flow carries: the IP protocol (IANA keyword, lower case) and a
// service label from well-known ports. Labels are a guess from ports alone — trawl does
// not decode payloads (README: not an IDS) — so "https" means "port 443", nothing more.
#pragma once

#include <cstdint>
#include <string>

namespace trawl::analysis {

// "tcp", "udp", "icmp", "gre", ... or "ip-proto-N" for numbers without a keyword.
std::string ip_protocol_name(uint8_t protocol);

// Service label of a flow.
//  - TCP/UDP/SCTP with ports: the well-known service on the server port (the destination
//    of the flow's first packet), else on the client port, else "<proto>-other".
//  - TCP/UDP/SCTP without ports (a later fragment, or a header cut by the snap length):
//    "<proto>-noports".
//  - Any other protocol: its protocol name ("icmp", "esp", "ospf").
//  - IP without a protocol (an IPv6 extension-header chain cut by the snap length):
//    "unknown".
std::string service_label(bool has_protocol, uint8_t protocol, bool has_ports, uint16_t client_port,
                          uint16_t server_port);

// The service on one port of one protocol, or "" when the port is not in the table.
const char* well_known_service(uint8_t protocol, uint16_t port);

}  // namespace trawl::analysis
