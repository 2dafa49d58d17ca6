#include "control/analysis/services.hpp"

#include <algorithm>
#include <iterator>

namespace trawl::analysis {
namespace {

constexpr uint8_t kTcp = 6, kUdp = 17, kSctp = 132;

struct ProtocolName {
    uint8_t number;
    const char* name;
};

// IANA protocol keywords, lower case; the common ones and every one the filters name.
constexpr ProtocolName kProtocols[] = {
    {0, "hopopt"},  {1, "icmp"},    {2, "igmp"},   {4, "ipip"},     {6, "tcp"},       {8, "egp"},
    {9, "igp"},     {17, "udp"},    {27, "rdp"},   {33, "dccp"},    {41, "ipv6"},     {43, "ipv6-route"},
    {44, "ipv6-frag"}, {46, "rsvp"}, {47, "gre"},  {50, "esp"},     {51, "ah"},       {58, "icmpv6"},
    {59, "ipv6-nonxt"}, {60, "ipv6-opts"}, {88, "eigrp"}, {89, "ospf"}, {94, "ipip-ka9q"}, {97, "etherip"},
    {98, "encap"},  {103, "pim"},   {108, "ipcomp"}, {112, "vrrp"}, {115, "l2tp"},    {124, "isis"},
    {132, "sctp"},  {135, "mobility"}, {136, "udplite"}, {137, "mpls-in-ip"}, {139, "hip"}, {140, "shim6"},
    {142, "rohc"},  {143, "ethernet"},
};

// Bit set of the protocols a service runs on.
enum : uint8_t { T = 1, U = 2, S = 4, TU = T | U };

struct Service {
    uint16_t port;
    uint8_t protocols;
    const char* name;
};

// Sorted by port. IANA names where operators know them; a few friendlier ones (dns
// rather than domain, http-alt). One name per (port, protocol).
constexpr Service kServices[] = {
    {7, TU, "echo"},           {20, T, "ftp-data"},        {21, T, "ftp"},
    {22, T, "ssh"},            {23, T, "telnet"},          {25, T, "smtp"},
    {49, TU, "tacacs"},        {53, TU, "dns"},            {67, U, "dhcp"},
    {68, U, "dhcp"},           {69, U, "tftp"},            {80, T, "http"},
    {88, TU, "kerberos"},      {110, T, "pop3"},           {111, TU, "sunrpc"},
    {119, T, "nntp"},          {123, U, "ntp"},            {135, T, "msrpc"},
    {137, U, "netbios-ns"},    {138, U, "netbios-dgm"},    {139, T, "netbios-ssn"},
    {143, T, "imap"},          {161, U, "snmp"},           {162, U, "snmptrap"},
    {179, T, "bgp"},           {389, TU, "ldap"},          {443, T, "https"},
    {443, U, "quic"},          {445, T, "smb"},            {464, TU, "kpasswd"},
    {465, T, "smtps"},         {500, U, "ike"},            {514, U, "syslog"},
    {515, T, "printer"},       {520, U, "rip"},            {521, U, "ripng"},
    {546, U, "dhcpv6"},        {547, U, "dhcpv6"},         {548, T, "afp"},
    {554, TU, "rtsp"},         {587, T, "submission"},     {623, U, "ipmi"},
    {631, T, "ipp"},           {636, T, "ldaps"},          {639, T, "msdp"},
    {646, TU, "ldp"},          {853, TU, "dns-over-tls"},  {860, T, "iscsi"},
    {873, T, "rsync"},         {989, T, "ftps-data"},      {990, T, "ftps"},
    {993, T, "imaps"},         {995, T, "pop3s"},          {1080, T, "socks"},
    {1194, TU, "openvpn"},     {1433, T, "mssql"},         {1645, U, "radius"},
    {1646, U, "radius-acct"},  {1701, U, "l2tp"},          {1723, T, "pptp"},
    {1812, U, "radius"},       {1813, U, "radius-acct"},   {1883, T, "mqtt"},
    {1900, U, "ssdp"},         {2049, TU, "nfs"},          {2123, U, "gtp-c"},
    {2152, U, "gtp-u"},        {2181, T, "zookeeper"},     {2379, T, "etcd"},
    {2404, T, "iec-104"},      {2905, S, "m3ua"},          {3260, T, "iscsi"},
    {3268, T, "ldap-gc"},      {3306, T, "mysql"},         {3389, T, "rdp"},
    {3478, TU, "stun"},        {3784, U, "bfd"},           {3785, U, "bfd-echo"},
    {3868, T | S, "diameter"}, {4222, T, "nats"},          {4500, U, "ipsec-nat-t"},
    {4789, U, "vxlan"},        {4840, T, "opc-ua"},        {5060, TU, "sip"},
    {5061, T, "sips"},         {5222, T, "xmpp"},          {5353, U, "mdns"},
    {5355, U, "llmnr"},        {5432, T, "postgresql"},    {5671, T, "amqps"},
    {5672, T, "amqp"},         {5900, T, "vnc"},           {6081, U, "geneve"},
    {6379, T, "redis"},        {6443, T, "kubernetes-api"}, {6514, T, "syslog-tls"},
    {6653, T, "openflow"},     {8080, T, "http-alt"},      {8443, T, "https-alt"},
    {9092, T, "kafka"},        {9100, T, "jetdirect"},     {9200, T, "elasticsearch"},
    {11211, TU, "memcached"},  {27017, T, "mongodb"},
};

uint8_t protocol_bit(uint8_t protocol) {
    return protocol == kTcp ? T : protocol == kUdp ? U : protocol == kSctp ? S : 0;
}

}  // namespace

std::string ip_protocol_name(uint8_t protocol) {
    for (const auto& p : kProtocols)
        if (p.number == protocol) return p.name;
    return "ip-proto-" + std::to_string(protocol);
}

const char* well_known_service(uint8_t protocol, uint16_t port) {
    const uint8_t bit = protocol_bit(protocol);
    if (!bit) return "";
    auto it = std::lower_bound(std::begin(kServices), std::end(kServices), port,
                               [](const Service& s, uint16_t p) { return s.port < p; });
    for (; it != std::end(kServices) && it->port == port; ++it)
        if (it->protocols & bit) return it->name;
    return "";
}

std::string service_label(bool has_protocol, uint8_t protocol, bool has_ports, uint16_t client_port,
                          uint16_t server_port) {
    if (!has_protocol) return "unknown";
    if (!protocol_bit(protocol)) return ip_protocol_name(protocol);
    if (!has_ports) return ip_protocol_name(protocol) + "-noports";
    if (const char* s = well_known_service(protocol, server_port); *s) return s;
    if (const char* s = well_known_service(protocol, client_port); *s) return s;
    return ip_protocol_name(protocol) + "-other";
}

}  // namespace trawl::analysis
