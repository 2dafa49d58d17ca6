// The session-spec parser against DESIGN §2.1–2.2: canonical bodies, the Network Watcher
// and VPN-gateway dialects, defaults, limits, the canonical echo that session.json is
// restored from, and a catalogue of bad input that must each name the offending field.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "control/field_error.hpp"
#include "control/session_spec.hpp"
#include "dataplane/rule_expansion.hpp"

namespace trawl::dataplane {
// Readable failure output for the dataplane values the tests compare.
void PrintTo(const AddressRange& r, std::ostream* os) {
    *os << (r.is_v6 ? "v6[" : "v4[");
    for (auto b : r.first) *os << int(b) << ' ';
    *os << "- ";
    for (auto b : r.last) *os << int(b) << ' ';
    *os << ']';
}
void PrintTo(const PortRange& r, std::ostream* os) { *os << r.first << '-' << r.last; }
void PrintTo(const Filter& f, std::ostream* os) {
    *os << "Filter{src:" << f.source.size() << " dst:" << f.destination.size()
        << " sports:" << f.source_ports.size() << " dports:" << f.destination_ports.size()
        << " protos:";
    for (auto p : f.protocols) *os << int(p) << ',';
    *os << " flags:" << int(f.tcp_flags) << " bidi:" << f.bidirectional << '}';
}
}  // namespace trawl::dataplane

namespace {

using nlohmann::json;
using trawl::control::FieldError;
using trawl::control::ParsedSpec;
using trawl::control::SessionSpec;
using trawl::control::SpecDefaults;
using trawl::control::SpecLimits;
using trawl::dataplane::AddressRange;
using trawl::dataplane::FileFormat;
using trawl::dataplane::Filter;
using trawl::dataplane::PortRange;

// ---- Helpers: expected values are built byte by byte, not with the parser's tools. ----

constexpr uint32_t ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return a << 24 | b << 16 | c << 8 | d;
}

AddressRange v4(uint32_t first, uint32_t last) {
    AddressRange r;
    for (int i = 0; i < 4; ++i) {
        r.first[12 + size_t(i)] = uint8_t(first >> (24 - 8 * i));
        r.last[12 + size_t(i)] = uint8_t(last >> (24 - 8 * i));
    }
    return r;
}
AddressRange v4(uint32_t address) { return v4(address, address); }

std::array<uint8_t, 16> v6_bytes(std::array<uint16_t, 8> groups) {
    std::array<uint8_t, 16> bytes{};
    for (size_t i = 0; i < 8; ++i) {
        bytes[2 * i] = uint8_t(groups[i] >> 8);
        bytes[2 * i + 1] = uint8_t(groups[i] & 0xff);
    }
    return bytes;
}
AddressRange v6(std::array<uint16_t, 8> first, std::array<uint16_t, 8> last) {
    return AddressRange{true, v6_bytes(first), v6_bytes(last)};
}
AddressRange v6(std::array<uint16_t, 8> address) { return v6(address, address); }

PortRange ports(uint16_t first, uint16_t last) { return PortRange{first, last}; }
PortRange port(uint16_t p) { return PortRange{p, p}; }

ParsedSpec parse(const json& body, bool allow_name = false, const SpecDefaults& defaults = {},
                 const SpecLimits& limits = {}) {
    return trawl::control::parse_session_body(body, defaults, limits, allow_name);
}

std::optional<FieldError> parse_error(const json& body, bool allow_name = false,
                                      const SpecLimits& limits = {},
                                      const SpecDefaults& defaults = {}) {
    try {
        trawl::control::parse_session_body(body, defaults, limits, allow_name);
    } catch (const FieldError& e) {
        return e;
    }
    return std::nullopt;
}

std::optional<FieldError> name_error(const std::string& name) {
    try {
        trawl::control::validate_session_name(name);
    } catch (const FieldError& e) {
        return e;
    }
    return std::nullopt;
}

void expect_same_spec(const SessionSpec& a, const SessionSpec& b) {
    EXPECT_EQ(a.filters, b.filters);
    EXPECT_EQ(a.tracing_flags, b.tracing_flags);
    EXPECT_EQ(a.payload_patterns, b.payload_patterns);
    EXPECT_EQ(a.bytes_to_capture_per_packet, b.bytes_to_capture_per_packet);
    EXPECT_EQ(a.total_bytes_per_session, b.total_bytes_per_session);
    EXPECT_EQ(a.time_limit_seconds, b.time_limit_seconds);
    EXPECT_EQ(a.max_packets, b.max_packets);
    EXPECT_EQ(a.file_size_bytes, b.file_size_bytes);
    EXPECT_EQ(a.file_count, b.file_count);
    EXPECT_EQ(a.format, b.format);
    EXPECT_EQ(a.canonical, b.canonical);
}

// session.json is restored by parsing the stored canonical echo: it must give back the
// same spec, in the canonical dialect.
void expect_round_trip(const SessionSpec& spec, const SpecDefaults& defaults = {}) {
    SCOPED_TRACE(spec.canonical.dump());
    const ParsedSpec again = parse(spec.canonical, false, defaults);
    EXPECT_EQ(again.dialect, "canonical");
    EXPECT_TRUE(again.ignored_fields.empty());
    expect_same_spec(spec, again.spec);
}

json canonical_filter(json source, json destination, json source_ports, json destination_ports,
                      json protocols, int tcp_flags, bool bidirectional) {
    return json{{"sourceSubnets", source},        {"destinationSubnets", destination},
                {"sourcePorts", source_ports},    {"destinationPorts", destination_ports},
                {"protocols", protocols},         {"tcpFlags", tcp_flags},
                {"bidirectional", bidirectional}};
}

const json kEmpty = json::array();

// ---- Canonical bodies ----

TEST(CanonicalSpec, EmptyBodyTakesEveryBuiltInDefault) {
    const ParsedSpec parsed = parse(json::object());
    EXPECT_EQ(parsed.dialect, "canonical");
    EXPECT_TRUE(parsed.ignored_fields.empty());
    const SessionSpec& s = parsed.spec;
    EXPECT_TRUE(s.filters.empty());
    EXPECT_EQ(s.tracing_flags, 0u);
    EXPECT_TRUE(s.payload_patterns.empty());
    EXPECT_EQ(s.bytes_to_capture_per_packet, 0u);
    EXPECT_EQ(s.total_bytes_per_session, uint64_t(1) << 30);
    EXPECT_EQ(s.time_limit_seconds, 18000u);
    EXPECT_EQ(s.max_packets, 0u);
    EXPECT_EQ(s.file_size_bytes, 0u);
    EXPECT_EQ(s.file_count, 0u);
    EXPECT_EQ(s.format, FileFormat::Pcap);
}

TEST(CanonicalSpec, OmittedFieldsTakeTheConfiguredDefaults) {
    const SpecDefaults defaults{.bytes_to_capture_per_packet = 64,
                                .total_bytes_per_session = 5000,
                                .time_limit_seconds = 30,
                                .max_packets = 9,
                                .file_size_bytes = 1000,
                                .file_count = 2,
                                .format = FileFormat::Pcapng,
                                .vpn_file_count = 4};
    const ParsedSpec parsed = parse(json::object(), false, defaults);
    const json expected = {{"filters", kEmpty},
                           {"tracingFlags", 0},
                           {"payloadPatterns", kEmpty},
                           {"bytesToCapturePerPacket", 64},
                           {"totalBytesPerSession", 5000},
                           {"timeLimitInSeconds", 30},
                           {"maxPackets", 9},
                           {"fileSizeInBytes", 1000},
                           {"fileCount", 2},
                           {"format", "pcapng"}};
    EXPECT_EQ(parsed.spec.canonical, expected);
    EXPECT_EQ(parsed.spec.bytes_to_capture_per_packet, 64u);
    EXPECT_EQ(parsed.spec.total_bytes_per_session, 5000u);
    EXPECT_EQ(parsed.spec.time_limit_seconds, 30u);
    EXPECT_EQ(parsed.spec.max_packets, 9u);
    EXPECT_EQ(parsed.spec.file_size_bytes, 1000u);
    EXPECT_EQ(parsed.spec.file_count, 2u);
    EXPECT_EQ(parsed.spec.format, FileFormat::Pcapng);
    // A given field wins over its default.
    const ParsedSpec given = parse(json{{"maxPackets", 0}, {"format", "pcap"}}, false, defaults);
    EXPECT_EQ(given.spec.max_packets, 0u);
    EXPECT_EQ(given.spec.format, FileFormat::Pcap);
    EXPECT_EQ(given.spec.file_count, 2u);
}

const char* const kFullBody = R"({
  "filters": [
    {"sourceSubnets": ["10.0.0.0/8", " 192.168.1.1 ", "172.16.0.1-172.16.0.9"],
     "destinationSubnets": ["fd00::/8", "::1", "2001:db8::1-2001:db8::ff"],
     "sourcePorts": [80, "443", " 8000-8080 "],
     "destinationPorts": ["0-65535"],
     "protocols": ["TCP", 17, "6", 99, "icmpv6"],
     "tcpFlags": 18,
     "bidirectional": false},
    {}
  ],
  "tracingFlags": 11,
  "payloadPatterns": [],
  "bytesToCapturePerPacket": 128,
  "totalBytesPerSession": 1000,
  "timeLimitInSeconds": 60,
  "maxPackets": 5,
  "fileSizeInBytes": 4096,
  "fileCount": 3,
  "format": "pcapng"
})";

TEST(CanonicalSpec, EveryFieldKindIsReadIntoTheSpec) {
    const SessionSpec s = parse(json::parse(kFullBody)).spec;
    ASSERT_EQ(s.filters.size(), 2u);
    Filter expected;
    expected.source = {v4(ip(10, 0, 0, 0), ip(10, 255, 255, 255)), v4(ip(192, 168, 1, 1)),
                       v4(ip(172, 16, 0, 1), ip(172, 16, 0, 9))};
    expected.destination = {
        v6({0xfd00, 0, 0, 0, 0, 0, 0, 0},
           {0xfdff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff}),
        v6({0, 0, 0, 0, 0, 0, 0, 1}),
        v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}, {0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xff})};
    expected.source_ports = {port(80), port(443), ports(8000, 8080)};
    expected.destination_ports = {ports(0, 65535)};
    expected.protocols = {6, 17, 6, 99, 58};
    expected.tcp_flags = 18;
    expected.bidirectional = false;
    EXPECT_EQ(s.filters[0], expected);
    EXPECT_EQ(s.filters[1], Filter{});
    EXPECT_TRUE(s.filters[1].bidirectional);
    EXPECT_EQ(s.tracing_flags, 11u);
    EXPECT_TRUE(s.payload_patterns.empty());
    EXPECT_EQ(s.bytes_to_capture_per_packet, 128u);
    EXPECT_EQ(s.total_bytes_per_session, 1000u);
    EXPECT_EQ(s.time_limit_seconds, 60u);
    EXPECT_EQ(s.max_packets, 5u);
    EXPECT_EQ(s.file_size_bytes, 4096u);
    EXPECT_EQ(s.file_count, 3u);
    EXPECT_EQ(s.format, FileFormat::Pcapng);
    const auto rules = s.rules();
    EXPECT_EQ(rules.filters, s.filters);
    EXPECT_EQ(rules.tracing_flags, 11u);
}

TEST(CanonicalSpec, CanonicalEchoHoldsEveryFieldNormalised) {
    const SessionSpec s = parse(json::parse(kFullBody)).spec;
    const json expected = {
        {"filters",
         {canonical_filter({"10.0.0.0/8", "192.168.1.1", "172.16.0.1-172.16.0.9"},
                           {"fd00::/8", "::1", "2001:db8::1-2001:db8::ff"},
                           {"80", "443", "8000-8080"}, {"0-65535"},
                           {"tcp", "udp", "tcp", 99, "icmpv6"}, 18, false),
          canonical_filter(kEmpty, kEmpty, kEmpty, kEmpty, kEmpty, 0, true)}},
        {"tracingFlags", 11},
        {"payloadPatterns", kEmpty},
        {"bytesToCapturePerPacket", 128},
        {"totalBytesPerSession", 1000},
        {"timeLimitInSeconds", 60},
        {"maxPackets", 5},
        {"fileSizeInBytes", 4096},
        {"fileCount", 3},
        {"format", "pcapng"}};
    EXPECT_EQ(s.canonical, expected) << s.canonical.dump(2);
}

TEST(CanonicalSpec, CanonicalEchoRoundTrips) {
    expect_round_trip(parse(json::parse(kFullBody)).spec);
    expect_round_trip(parse(json::object()).spec);
    const SpecDefaults defaults{.total_bytes_per_session = 77, .format = FileFormat::Pcapng};
    expect_round_trip(parse(json::object(), false, defaults).spec, defaults);
    // The echo holds every field, so a restart with different defaults restores it as is.
    const SessionSpec with_defaults = parse(json::object(), false, defaults).spec;
    expect_same_spec(with_defaults, parse(with_defaults.canonical).spec);
    // Host bits and spaces in what was written survive the round trip unchanged.
    expect_round_trip(
        parse(json::parse(R"({"filters":[{"sourceSubnets":["10.1.2.3/8"," ::1 "]}]})")).spec);
}

TEST(CanonicalSpec, SubnetForms) {
    const auto source_of = [](const std::string& text) {
        const auto s = parse(json{{"filters", {{{"sourceSubnets", {text}}}}}}).spec;
        return s.filters.at(0).source.at(0);
    };
    EXPECT_EQ(source_of("10.0.0.0/8"), v4(ip(10, 0, 0, 0), ip(10, 255, 255, 255)));
    EXPECT_EQ(source_of("10.1.2.3/8"), v4(ip(10, 0, 0, 0), ip(10, 255, 255, 255)));
    EXPECT_EQ(source_of("192.168.7.9/23"), v4(ip(192, 168, 6, 0), ip(192, 168, 7, 255)));
    EXPECT_EQ(source_of("1.2.3.4/32"), v4(ip(1, 2, 3, 4)));
    EXPECT_EQ(source_of("0.0.0.0/0"), v4(0, 0xffffffff));
    EXPECT_EQ(source_of("10.0.0.1"), v4(ip(10, 0, 0, 1)));
    EXPECT_EQ(source_of("  10.0.0.1\t"), v4(ip(10, 0, 0, 1)));
    EXPECT_EQ(source_of("10.0.0.1-10.0.0.9"), v4(ip(10, 0, 0, 1), ip(10, 0, 0, 9)));
    EXPECT_EQ(source_of("10.0.0.1 - 10.0.0.9"), v4(ip(10, 0, 0, 1), ip(10, 0, 0, 9)));
    EXPECT_EQ(source_of("10.0.0.5-10.0.0.5"), v4(ip(10, 0, 0, 5)));
    EXPECT_EQ(source_of("fd00::/8"),
              v6({0xfd00, 0, 0, 0, 0, 0, 0, 0},
                 {0xfdff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff}));
    EXPECT_EQ(source_of("2001:db8::1234/32"),
              v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 0},
                 {0x2001, 0xdb8, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff}));
    EXPECT_EQ(source_of("::/0"), v6({0, 0, 0, 0, 0, 0, 0, 0}, {0xffff, 0xffff, 0xffff, 0xffff,
                                                               0xffff, 0xffff, 0xffff, 0xffff}));
    EXPECT_EQ(source_of("::1"), v6({0, 0, 0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(source_of("2001:db8::1-2001:db8::ff"),
              v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}, {0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xff}));
    EXPECT_EQ(source_of("::ffff:1.2.3.4"), v6({0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304}));
    // IPv4 keeps the first twelve bytes zero and is not marked IPv6.
    const AddressRange r = source_of("255.255.255.255");
    EXPECT_FALSE(r.is_v6);
    for (size_t i = 0; i < 12; ++i) EXPECT_EQ(r.first[i], 0) << i;
}

TEST(CanonicalSpec, PortForms) {
    const json body = json::parse(
        R"({"filters":[{"sourcePorts":[0, 65535, "80", " 443 ", "8000-8080", "1 - 2",
                                       "0-65535", "7-7"],
                        "destinationPorts":[22]}]})");
    const SessionSpec s = parse(body).spec;
    EXPECT_EQ(s.filters[0].source_ports,
              (std::vector<PortRange>{port(0), port(65535), port(80), port(443),
                                      ports(8000, 8080), ports(1, 2), ports(0, 65535),
                                      port(7)}));
    EXPECT_EQ(s.filters[0].destination_ports, std::vector<PortRange>{port(22)});
    EXPECT_EQ(s.canonical["filters"][0]["sourcePorts"],
              json({"0", "65535", "80", "443", "8000-8080", "1-2", "0-65535", "7"}));
    EXPECT_EQ(s.canonical["filters"][0]["destinationPorts"], json({"22"}));
    expect_round_trip(s);
}

TEST(CanonicalSpec, ProtocolNumbersAndNames) {
    const json body = json::parse(
        R"({"filters":[{"protocols":["tcp","UDP","Icmp","icmpv6","sctp","esp","ah","gre",
                                     "6"," 17 ",0,255,"99",132]}]})");
    const SessionSpec s = parse(body).spec;
    EXPECT_EQ(s.filters[0].protocols,
              (std::vector<uint8_t>{6, 17, 1, 58, 132, 50, 51, 47, 6, 17, 0, 255, 99, 132}));
    EXPECT_EQ(s.canonical["filters"][0]["protocols"],
              json::parse(R"(["tcp","udp","icmp","icmpv6","sctp","esp","ah","gre","tcp","udp",
                              0,255,99,"sctp"])"));
    expect_round_trip(s);
}

TEST(CanonicalSpec, BoundaryValuesAreAccepted) {
    const json body = {{"bytesToCapturePerPacket", 262144}, {"fileCount", 1000000},
                       {"timeLimitInSeconds", 315360000},   {"totalBytesPerSession", 1ull << 62},
                       {"maxPackets", 1ull << 62},          {"fileSizeInBytes", 1ull << 62},
                       {"tracingFlags", 0}};
    const SessionSpec s = parse(body).spec;
    EXPECT_EQ(s.bytes_to_capture_per_packet, 262144u);
    EXPECT_EQ(s.file_count, 1000000u);
    EXPECT_EQ(s.time_limit_seconds, 315360000u);
    EXPECT_EQ(s.total_bytes_per_session, 1ull << 62);
    EXPECT_EQ(s.max_packets, 1ull << 62);
    EXPECT_EQ(s.file_size_bytes, 1ull << 62);
    expect_round_trip(s);
}

TEST(CanonicalSpec, TracingFlagsAcceptEachKnownBit) {
    for (uint32_t flags : {0u, 1u, 2u, 8u, 3u, 9u, 10u, 11u})
        EXPECT_EQ(parse(json{{"tracingFlags", flags}}).spec.tracing_flags, flags);
}

TEST(CanonicalSpec, SignedJsonIntegersFromCodeAreAccepted) {
    // json(int) is a signed integer, unlike a parsed "5"; both are integers.
    const SessionSpec s = parse(json{{"maxPackets", int64_t(5)},
                                     {"filters", {{{"sourcePorts", {int64_t(80)}},
                                                   {"protocols", {int64_t(6)}},
                                                   {"tcpFlags", int64_t(2)}}}}})
                              .spec;
    EXPECT_EQ(s.max_packets, 5u);
    EXPECT_EQ(s.filters[0].source_ports, std::vector<PortRange>{port(80)});
    EXPECT_EQ(s.filters[0].protocols, std::vector<uint8_t>{6});
    EXPECT_EQ(s.filters[0].tcp_flags, 2);
}

TEST(CanonicalSpec, NameIsAcceptedOnlyForConfigItemsAndNotEchoed) {
    const ParsedSpec parsed = parse(json{{"name", "web"}, {"maxPackets", 3}}, true);
    EXPECT_EQ(parsed.spec.max_packets, 3u);
    EXPECT_FALSE(parsed.spec.canonical.contains("name"));
    const auto e = parse_error(json{{"name", "web"}}, false);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->target(), "name");
    EXPECT_EQ(e->message(), "unknown field");
}

TEST(CanonicalSpec, UnknownFieldsNameTheirFullPath) {
    const auto e = parse_error(json::parse(R"({"filters":[{},{"destinationPort":["80"]}]})"));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->target(), "filters[1].destinationPort");
    EXPECT_EQ(e->message(), "unknown field");
    EXPECT_NE(std::string(e->what()).find("filters[1].destinationPort"), std::string::npos);
}

TEST(CanonicalSpec, PayloadPatternsCompileWithHyperscanAndStorageIsRefused) {
    EXPECT_TRUE(parse(json{{"payloadPatterns", kEmpty}}).spec.payload_patterns.empty());
    const auto accepted = parse(json{{"payloadPatterns", {"GET /", "(?i)user-agent: curl", "(?s)a.b"}}});
    EXPECT_EQ(accepted.spec.payload_patterns,
              (std::vector<std::string>{"GET /", "(?i)user-agent: curl", "(?s)a.b"}));
    EXPECT_EQ(accepted.spec.canonical["payloadPatterns"], json({"GET /", "(?i)user-agent: curl", "(?s)a.b"}));
    // The pattern Hyperscan refuses is named by its index, with Hyperscan's message.
    const auto patterns = parse_error(json{{"payloadPatterns", {"fine", "broken(", "also fine"}}});
    ASSERT_TRUE(patterns);
    EXPECT_EQ(patterns->target(), "payloadPatterns[1]");
    EXPECT_EQ(patterns->message().rfind("Hyperscan: ", 0), 0u) << patterns->message();
    const auto empty = parse_error(json{{"payloadPatterns", {"a", ""}}});
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->target(), "payloadPatterns[1]");
    // storage: accepted, echoed with the SAS signature redacted, kept whole for session.json.
    const auto storage = parse(json::parse(
        R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/c?sv=2021-08-06&sig=s3cr3t%2B",
                       "deleteLocalAfterUpload":true}})"));
    ASSERT_TRUE(storage.spec.storage);
    EXPECT_EQ(storage.spec.storage->upload_url, "https://a.blob.core.windows.net/c?sv=2021-08-06&sig=s3cr3t%2B");
    EXPECT_TRUE(storage.spec.storage->delete_local_after_upload);
    EXPECT_EQ(storage.spec.canonical["storage"],
              json({{"uploadUrl", "https://a.blob.core.windows.net/c?sv=2021-08-06&sig=REDACTED"},
                    {"deleteLocalAfterUpload", true}}));
    EXPECT_EQ(storage.spec.canonical.dump().find("s3cr3t"), std::string::npos);
    EXPECT_EQ(trawl::control::persisted_spec_json(storage.spec)["storage"]["uploadUrl"],
              "https://a.blob.core.windows.net/c?sv=2021-08-06&sig=s3cr3t%2B");
    // session.json's form parses back to the same spec.
    const auto again = parse(trawl::control::persisted_spec_json(storage.spec));
    EXPECT_EQ(again.spec.storage, storage.spec.storage);
    EXPECT_EQ(again.spec.canonical, storage.spec.canonical);
    // Without storage the echo has no storage key (DESIGN §3 shape).
    EXPECT_FALSE(parse(json::object()).spec.canonical.contains("storage"));
}

TEST(SpecStorage, BadStorageNamesTheFieldAndNeverQuotesTheSignature) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"storage":null})", "storage"},
        {R"({"storage":"https://a.blob.core.windows.net/c?sig=TOPSECRET"})", "storage"},
        {R"({"storage":{}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":7}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":""}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"a.blob.core.windows.net/c?sig=TOPSECRET"}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"ftp://a.blob.core.windows.net/c?sig=TOPSECRET"}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"http://a.blob.core.windows.net/c?sig=TOPSECRET"}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/c"}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/c?sv=2021-08-06"}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/c?sig="}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/?sig=TOPSECRET"}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net?sig=TOPSECRET"}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"https://user:pw@a.blob.core.windows.net/c?sig=TOPSECRET"}})",
         "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/c?sig=TOPSECRET#x"}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/c d?sig=TOPSECRET"}})", "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/c/../d?sig=TOPSECRET"}})",
         "storage.uploadUrl"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/c?sig=TOPSECRET","deleteLocalAfterUpload":1}})",
         "storage.deleteLocalAfterUpload"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/c?sig=TOPSECRET","deleteLocal":true}})",
         "storage.deleteLocal"},
        {R"({"storage":{"uploadUrl":"https://a.blob.core.windows.net/c?sig=TOPSECRET","sasUrl":"x"}})",
         "storage.sasUrl"},
    };
    for (const auto& [body, target] : cases) {
        const auto e = parse_error(json::parse(body));
        ASSERT_TRUE(e) << body;
        EXPECT_EQ(e->target(), target) << body << ": " << e->what();
        EXPECT_EQ(std::string(e->what()).find("TOPSECRET"), std::string::npos) << e->what();
    }
    // http:// is for emulators on loopback only.
    for (const char* url : {"http://127.0.0.1:10000/devstoreaccount1/c?sig=x", "http://localhost/c?sig=x",
                            "http://[::1]:10000/acct/c?sig=x", "HTTPS://A.blob.core.windows.net/c/?sig=x"})
        EXPECT_TRUE(parse(json{{"storage", {{"uploadUrl", url}}}}).spec.storage) << url;
}

TEST(SpecStorage, NetworkWatcherStoragePathWithSasIsTheUploadTarget) {
    const auto with_sas = parse(json::parse(R"({"properties":{
        "target":"/subscriptions/x/vm",
        "storageLocation":{"storageId":"/subscriptions/x/sa","filePath":"D:\\x.cap",
                           "storagePath":"https://sa.blob.core.windows.net/captures?sv=2021-08-06&sig=TOPSECRET"}}})"));
    ASSERT_TRUE(with_sas.spec.storage);
    EXPECT_EQ(with_sas.spec.storage->upload_url, "https://sa.blob.core.windows.net/captures?sv=2021-08-06&sig=TOPSECRET");
    EXPECT_FALSE(with_sas.spec.storage->delete_local_after_upload);
    EXPECT_EQ(with_sas.ignored_fields,
              (std::vector<std::string>{"properties.storageLocation.filePath", "properties.storageLocation.storageId",
                                        "properties.target"}));
    // A plain blob URL (what Azure fills in) stays ignored.
    const auto plain = parse(json::parse(R"({"properties":{
        "storageLocation":{"storagePath":"https://sa.blob.core.windows.net/captures/x.cap"}}})"));
    EXPECT_FALSE(plain.spec.storage);
    EXPECT_EQ(plain.ignored_fields, (std::vector<std::string>{"properties.storageLocation"}));
    // A query without a signature is an error on the field.
    const auto bad = parse_error(json::parse(R"({"properties":{
        "storageLocation":{"storagePath":"https://sa.blob.core.windows.net/captures?sv=2021-08-06"}}})"));
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->target(), "properties.storageLocation.storagePath");
}

// ---- Limits ----

TEST(SpecLimits, TooManyFilters) {
    SpecLimits limits;
    limits.max_filters = 2;
    const json two = json::parse(R"({"filters":[{},{}]})");
    EXPECT_EQ(parse(two, false, {}, limits).spec.filters.size(), 2u);
    const auto e = parse_error(json::parse(R"({"filters":[{},{},{}]})"), false, limits);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->target(), "filters");
}

TEST(SpecLimits, TooManyListItems) {
    SpecLimits limits;
    limits.max_list_items = 2;
    EXPECT_NO_THROW(parse(json::parse(R"({"filters":[{"sourcePorts":[1,2]}]})"), false, {},
                          limits));
    const auto canonical =
        parse_error(json::parse(R"({"filters":[{"sourcePorts":[1,2,3]}]})"), false, limits);
    ASSERT_TRUE(canonical);
    EXPECT_EQ(canonical->target(), "filters[0].sourcePorts");
    const auto network_watcher =
        parse_error(json::parse(R"({"filters":[{"localPort":"1;2;3"}]})"), false, limits);
    ASSERT_TRUE(network_watcher);
    EXPECT_EQ(network_watcher->target(), "filters[0].localPort");
    const auto vpn = parse_error(
        json::parse(R"({"Filters":[{"SourceSubnets":["1.1.1.1","1.1.1.2","1.1.1.3"]}]})"),
        false, limits);
    ASSERT_TRUE(vpn);
    EXPECT_EQ(vpn->target(), "Filters[0].SourceSubnets");
}

TEST(SpecLimits, TooManyPayloadPatternsOrTooLong) {
    SpecLimits limits;
    limits.max_payload_patterns = 1;
    limits.max_pattern_length = 3;
    const auto count = parse_error(json{{"payloadPatterns", {"a", "b"}}}, false, limits);
    ASSERT_TRUE(count);
    EXPECT_EQ(count->target(), "payloadPatterns");
    EXPECT_NE(count->message().find("limit"), std::string::npos);
    const auto length = parse_error(json{{"payloadPatterns", {"abcd"}}}, false, limits);
    ASSERT_TRUE(length);
    EXPECT_EQ(length->target(), "payloadPatterns[0]");
}

TEST(SpecLimits, RuleCountIsEnforcedWithCountAndLimitInTheMessage) {
    // 3 sources × 2 destination ports, one direction, IPv4 only: 6 tuple rules.
    const json body = json::parse(
        R"({"filters":[{"sourceSubnets":["10.0.0.1","10.0.0.2","10.0.0.3"],
                        "destinationPorts":[1,2],"bidirectional":false}]})");
    SpecLimits limits;
    limits.max_rules_per_session = 6;
    const SessionSpec s = parse(body, false, {}, limits).spec;
    EXPECT_EQ(trawl::dataplane::count_tuple_rules(s.rules()), 6u);
    limits.max_rules_per_session = 5;
    const auto e = parse_error(body, false, limits);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->target(), "filters");
    EXPECT_NE(e->message().find("6"), std::string::npos) << e->message();
    EXPECT_NE(e->message().find("5"), std::string::npos) << e->message();
}

TEST(SpecLimits, TracingFlagsCountTowardsTheRuleLimit) {
    SpecLimits limits;
    limits.max_rules_per_session = 5;  // ESP alone is 3 rules per family
    const auto e = parse_error(json{{"tracingFlags", 1}}, false, limits);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->target(), "filters");
    limits.max_rules_per_session = 6;
    EXPECT_EQ(parse(json{{"tracingFlags", 1}}, false, {}, limits).spec.tracing_flags, 1u);
}

TEST(SpecLimits, RuleLimitTargetsTheFiltersFieldOfEachDialect) {
    SpecLimits limits;
    limits.max_rules_per_session = 1;
    const auto arm = parse_error(
        json::parse(R"({"properties":{"filters":[{"localPort":"1;2"}]}})"), false, limits);
    ASSERT_TRUE(arm);
    EXPECT_EQ(arm->target(), "properties.filters");
    const auto vpn =
        parse_error(json::parse(R"({"Filters":[{"SourcePort":[1,2]}]})"), false, limits);
    ASSERT_TRUE(vpn);
    EXPECT_EQ(vpn->target(), "Filters");
}

// ---- Network Watcher ----

TEST(NetworkWatcher, FiltersInACanonicalBodyMapLocalToSource) {
    const ParsedSpec parsed = parse(json::parse(
        R"({"filters":[{"protocol":"udp",
                        "localIPAddress":"10.0.0.1; 10.0.0.2-10.0.0.9 ;",
                        "remoteIPAddress":"192.168.0.0/16",
                        "localPort":"80;443;8000-8080;",
                        "remotePort":" 53 "}]})"));
    EXPECT_EQ(parsed.dialect, "canonical");
    ASSERT_EQ(parsed.spec.filters.size(), 1u);
    Filter expected;
    expected.protocols = {17};
    expected.source = {v4(ip(10, 0, 0, 1)), v4(ip(10, 0, 0, 2), ip(10, 0, 0, 9))};
    expected.destination = {v4(ip(192, 168, 0, 0), ip(192, 168, 255, 255))};
    expected.source_ports = {port(80), port(443), ports(8000, 8080)};
    expected.destination_ports = {port(53)};
    expected.bidirectional = true;
    EXPECT_EQ(parsed.spec.filters[0], expected);
    EXPECT_EQ(parsed.spec.canonical["filters"][0],
              canonical_filter({"10.0.0.1", "10.0.0.2-10.0.0.9"}, {"192.168.0.0/16"},
                               {"80", "443", "8000-8080"}, {"53"}, {"udp"}, 0, true));
    expect_round_trip(parsed.spec);
}

TEST(NetworkWatcher, ProtocolTcpUdpAnyInAnyCase) {
    const auto protocols_of = [](const std::string& protocol) {
        return parse(json{{"filters", {{{"protocol", protocol}}}}}).spec.filters.at(0).protocols;
    };
    EXPECT_EQ(protocols_of("TCP"), std::vector<uint8_t>{6});
    EXPECT_EQ(protocols_of("tcp"), std::vector<uint8_t>{6});
    EXPECT_EQ(protocols_of("Udp"), std::vector<uint8_t>{17});
    EXPECT_TRUE(protocols_of("Any").empty());
    EXPECT_TRUE(protocols_of("ANY").empty());
    // "Any" alone leaves a filter without constraints: it matches every packet.
    EXPECT_TRUE(parse(json{{"filters", {{{"protocol", "Any"}}}}}).spec.filters[0].unconstrained());
}

TEST(NetworkWatcher, IPv6EntriesAndBidirectionalAlways) {
    const SessionSpec s =
        parse(json::parse(R"({"filters":[{"remoteIPAddress":"fd00::1;2001:db8::1-2001:db8::2"}]})"))
            .spec;
    EXPECT_EQ(s.filters[0].destination,
              (std::vector<AddressRange>{v6({0xfd00, 0, 0, 0, 0, 0, 0, 1}),
                                         v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1},
                                            {0x2001, 0xdb8, 0, 0, 0, 0, 0, 2})}));
    EXPECT_TRUE(s.filters[0].bidirectional);
}

const char* const kArmBody = R"({"properties":{
    "target": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
    "targetType": "AzureVM",
    "scope": {"include": [], "exclude": []},
    "storageLocation": {"filePath": "D:\\capture\\x.cap"},
    "storageSettings": null,
    "bytesToCapturePerPacket": 96,
    "timeLimitInSeconds": 600,
    "captureSettings": {"fileCount": 4, "fileSizeInBytes": 1048576,
                        "sessionTimeLimitInSeconds": 600},
    "continuousCapture": true,
    "filters": [
      {"protocol": "TCP", "localIPAddress": "10.0.0.4", "remoteIPAddress": "1.1.1.1-1.1.1.255",
       "localPort": "443", "remotePort": "1024-65535"},
      {"protocol": "Any", "remoteIPAddress": "fd00::1;"}
    ]}})";

TEST(NetworkWatcher, ArmBodyMapsFieldByField) {
    const ParsedSpec parsed = parse(json::parse(kArmBody));
    EXPECT_EQ(parsed.dialect, "networkWatcher");
    const SessionSpec& s = parsed.spec;
    EXPECT_EQ(s.bytes_to_capture_per_packet, 96u);
    EXPECT_EQ(s.time_limit_seconds, 600u);
    EXPECT_EQ(s.file_count, 4u);
    EXPECT_EQ(s.file_size_bytes, 1048576u);
    EXPECT_EQ(s.total_bytes_per_session, 0u);  // a ring buffer runs until time or stop
    EXPECT_EQ(s.max_packets, 0u);
    EXPECT_EQ(s.tracing_flags, 0u);
    EXPECT_EQ(s.format, FileFormat::Pcap);
    ASSERT_EQ(s.filters.size(), 2u);
    Filter first;
    first.protocols = {6};
    first.source = {v4(ip(10, 0, 0, 4))};
    first.destination = {v4(ip(1, 1, 1, 1), ip(1, 1, 1, 255))};
    first.source_ports = {port(443)};
    first.destination_ports = {ports(1024, 65535)};
    EXPECT_EQ(s.filters[0], first);
    Filter second;
    second.destination = {v6({0xfd00, 0, 0, 0, 0, 0, 0, 1})};
    EXPECT_EQ(s.filters[1], second);
    expect_round_trip(s);
}

TEST(NetworkWatcher, ArmBodyListsIgnoredFields) {
    const ParsedSpec parsed = parse(json::parse(kArmBody));
    EXPECT_EQ(parsed.ignored_fields,
              (std::vector<std::string>{"properties.target", "properties.targetType",
                                        "properties.scope", "properties.storageLocation",
                                        "properties.storageSettings"}));
    const ParsedSpec some = parse(json::parse(R"({"properties":{"scope":1,"target":"vm"}})"));
    EXPECT_EQ(some.ignored_fields,
              (std::vector<std::string>{"properties.target", "properties.scope"}));
    EXPECT_TRUE(parse(json::parse(R"({"properties":{}})")).ignored_fields.empty());
}

TEST(NetworkWatcher, ContinuousCaptureTrueIsARingBuffer) {
    const SpecDefaults defaults{.total_bytes_per_session = 999, .file_count = 7};
    const auto spec_of = [&](const char* text) {
        return parse(json::parse(text), false, defaults).spec;
    };
    const SessionSpec ring = spec_of(
        R"({"properties":{"continuousCapture":true,
                          "captureSettings":{"fileCount":3,"fileSizeInBytes":1000}}})");
    EXPECT_EQ(ring.file_count, 3u);
    EXPECT_EQ(ring.file_size_bytes, 1000u);
    EXPECT_EQ(ring.total_bytes_per_session, 0u);
    const SessionSpec explicit_total = spec_of(
        R"({"properties":{"continuousCapture":true,"totalBytesPerSession":777,
                          "captureSettings":{"fileCount":3,"fileSizeInBytes":1000}}})");
    EXPECT_EQ(explicit_total.total_bytes_per_session, 777u);
    const SessionSpec no_count = spec_of(R"({"properties":{"continuousCapture":true}})");
    EXPECT_EQ(no_count.file_count, 7u);
    EXPECT_EQ(no_count.total_bytes_per_session, 0u);
}

TEST(NetworkWatcher, NonContinuousCaptureKeepsAllFilesAndStopsWhenTheyAreFull) {
    const SpecDefaults defaults{.total_bytes_per_session = 999, .file_count = 7};
    const auto spec_of = [&](const std::string& continuous) {
        return parse(json::parse(R"({"properties":{)" + continuous +
                                 R"("captureSettings":{"fileCount":3,"fileSizeInBytes":1000}}})"),
                     false, defaults)
            .spec;
    };
    for (const std::string continuous :
         {"", R"("continuousCapture":false,)", R"("continuousCapture":null,)"}) {
        SCOPED_TRACE(continuous);
        const SessionSpec s = spec_of(continuous);
        EXPECT_EQ(s.file_count, 0u);
        EXPECT_EQ(s.file_size_bytes, 1000u);
        EXPECT_EQ(s.total_bytes_per_session, 3000u);
    }
    const SessionSpec explicit_total =
        parse(json::parse(R"({"properties":{"totalBytesPerSession":500,
              "captureSettings":{"fileCount":3,"fileSizeInBytes":1000}}})"),
              false, defaults)
            .spec;
    EXPECT_EQ(explicit_total.total_bytes_per_session, 500u);
    // Without both numbers there is no product: the configured limit stays.
    const SessionSpec count_only =
        parse(json::parse(R"({"properties":{"captureSettings":{"fileCount":3}}})"), false,
              defaults)
            .spec;
    EXPECT_EQ(count_only.total_bytes_per_session, 999u);
    EXPECT_EQ(count_only.file_count, 0u);
    const SessionSpec zero_size = parse(json::parse(
        R"({"properties":{"captureSettings":{"fileCount":3,"fileSizeInBytes":0}}})"), false,
        defaults).spec;
    EXPECT_EQ(zero_size.total_bytes_per_session, 999u);
}

TEST(NetworkWatcher, SessionTimeLimitMapsToTimeLimit) {
    EXPECT_EQ(parse(json::parse(
                        R"({"properties":{"captureSettings":{"sessionTimeLimitInSeconds":42}}})"))
                  .spec.time_limit_seconds,
              42u);
    EXPECT_EQ(parse(json::parse(R"({"properties":{"timeLimitInSeconds":42,
                    "captureSettings":{"sessionTimeLimitInSeconds":42}}})"))
                  .spec.time_limit_seconds,
              42u);
    const auto e = parse_error(json::parse(R"({"properties":{"timeLimitInSeconds":42,
                    "captureSettings":{"sessionTimeLimitInSeconds":43}}})"));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->target(), "properties.captureSettings.sessionTimeLimitInSeconds");
}

TEST(NetworkWatcher, ArmBodyAcceptsCanonicalFiltersAndANameForConfigItems) {
    const ParsedSpec parsed = parse(
        json::parse(R"({"name":"nw","properties":{"filters":[{"protocols":["gre"]}]}})"), true);
    EXPECT_EQ(parsed.dialect, "networkWatcher");
    EXPECT_EQ(parsed.spec.filters.at(0).protocols, std::vector<uint8_t>{47});
}

TEST(NetworkWatcher, MixingStylesInOneFilterNamesBothKeys) {
    const auto e = parse_error(
        json::parse(R"({"filters":[{"sourcePorts":["80"],"localIPAddress":"10.0.0.1"}]})"));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->target(), "filters[0]");
    EXPECT_NE(e->message().find("localIPAddress"), std::string::npos) << e->message();
    EXPECT_NE(e->message().find("sourcePorts"), std::string::npos) << e->message();
}

// ---- VPN gateway FilterData ----

const char* const kVpnBody = R"({
  "TracingFlags": 11, "MaxPacketBufferSize": 120, "MaxFileSize": 200,
  "Filters": [
    {"SourceSubnets": ["10.0.0.0/24", "fd00::1"], "DestinationSubnets": ["20.0.0.1"],
     "SourcePort": [500], "DestinationPort": ["4500", "1000-2000"], "Protocol": [6],
     "TcpFlags": 16, "CaptureSingleDirectionTrafficOnly": true},
    {"SourceSubnets": "10.1.0.0/16", "Protocol": 17, "SourcePort": 53, "DestinationPort": "99",
     "TcpFlags": -1},
    {"CaptureSingleDirectionTrafficOnly": false, "Protocol": "udp"}
  ]})";

TEST(VpnGateway, FilterDataMapsFieldByField) {
    const SpecDefaults defaults{.total_bytes_per_session = 12345,
                                .time_limit_seconds = 77,
                                .vpn_file_count = 5};
    const ParsedSpec parsed = parse(json::parse(kVpnBody), false, defaults);
    EXPECT_EQ(parsed.dialect, "vpnGateway");
    EXPECT_TRUE(parsed.ignored_fields.empty());
    const SessionSpec& s = parsed.spec;
    EXPECT_EQ(s.tracing_flags, 11u);
    EXPECT_EQ(s.bytes_to_capture_per_packet, 120u);
    EXPECT_EQ(s.file_size_bytes, 200u * 1048576u);
    EXPECT_EQ(s.file_count, 5u);
    EXPECT_EQ(s.total_bytes_per_session, 12345u);
    EXPECT_EQ(s.time_limit_seconds, 77u);
    ASSERT_EQ(s.filters.size(), 3u);

    Filter first;
    first.source = {v4(ip(10, 0, 0, 0), ip(10, 0, 0, 255)), v6({0xfd00, 0, 0, 0, 0, 0, 0, 1})};
    first.destination = {v4(ip(20, 0, 0, 1))};
    first.source_ports = {port(500)};
    first.destination_ports = {port(4500), ports(1000, 2000)};
    first.protocols = {6};
    first.tcp_flags = 16;
    first.bidirectional = false;
    EXPECT_EQ(s.filters[0], first);

    Filter second;
    second.source = {v4(ip(10, 1, 0, 0), ip(10, 1, 255, 255))};
    second.protocols = {17};
    second.source_ports = {port(53)};
    second.destination_ports = {port(99)};
    second.tcp_flags = 0;
    second.bidirectional = true;
    EXPECT_EQ(s.filters[1], second);

    Filter third;
    third.protocols = {17};
    EXPECT_EQ(s.filters[2], third);

    EXPECT_EQ(s.canonical["filters"][0],
              canonical_filter({"10.0.0.0/24", "fd00::1"}, {"20.0.0.1"}, {"500"},
                               {"4500", "1000-2000"}, {"tcp"}, 16, false));
    expect_round_trip(s, defaults);
}

TEST(VpnGateway, WithoutMaxFileSizeTheFileFieldsKeepTheirDefaults) {
    const SpecDefaults defaults{.file_size_bytes = 10, .file_count = 2, .vpn_file_count = 5};
    const SessionSpec s = parse(json{{"TracingFlags", 1}}, false, defaults).spec;
    EXPECT_EQ(s.file_size_bytes, 10u);
    EXPECT_EQ(s.file_count, 2u);
    EXPECT_EQ(s.tracing_flags, 1u);
    EXPECT_TRUE(s.filters.empty());
}

TEST(VpnGateway, AcceptsANameForConfigItems) {
    const ParsedSpec parsed = parse(json{{"name", "gw-1"}, {"MaxPacketBufferSize", 64}}, true);
    EXPECT_EQ(parsed.dialect, "vpnGateway");
    EXPECT_EQ(parsed.spec.bytes_to_capture_per_packet, 64u);
}

// ---- Value parsers called directly ----

TEST(ValueParsers, ErrorsCarryTheGivenTarget) {
    using trawl::control::parse_address_range;
    using trawl::control::parse_port_range;
    using trawl::control::parse_protocol;
    EXPECT_EQ(parse_address_range("10.0.0.1", "t"), v4(ip(10, 0, 0, 1)));
    EXPECT_EQ(parse_port_range(json("1-2"), "t"), ports(1, 2));
    EXPECT_EQ(parse_protocol(json("SCTP"), "t"), 132);
    for (const auto& bad : {"", "1.2.3.4/", "a-b", "1.2.3.4/33"}) {
        try {
            parse_address_range(bad, "somewhere[3]");
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const FieldError& e) {
            EXPECT_EQ(e.target(), "somewhere[3]");
        }
    }
    try {
        parse_port_range(json("80-"), "p");
        ADD_FAILURE() << "accepted 80-";
    } catch (const FieldError& e) {
        EXPECT_EQ(e.target(), "p");
    }
    try {
        parse_protocol(json("tcpp"), "q");
        ADD_FAILURE() << "accepted tcpp";
    } catch (const FieldError& e) {
        EXPECT_EQ(e.target(), "q");
        EXPECT_NE(e.message().find("tcpp"), std::string::npos);
    }
}

TEST(ValueParsers, MessagesStayValidUtf8WithoutNulForAnyInput) {
    // REST serialises the message into a JSON error body (strict UTF-8), and what() is a
    // C string: long non-ASCII input and embedded NULs must survive both.
    std::string accents;
    for (int i = 0; i < 100; ++i) accents += "\xc3\xa9";
    for (const json& body :
         {json{{"filters", {{{"protocols", {accents}}}}}},
          json{{"filters", {{{"sourceSubnets", {"x" + accents}}}}}},
          json{{"filters", {{{"sourcePorts", {std::string("8\0" "0", 3)}}}}}},
          json{{"format", std::string("pcap\0", 5)}}}) {
        const auto e = parse_error(body);
        ASSERT_TRUE(e) << body.dump();
        EXPECT_NO_THROW((void)json(e->message()).dump()) << e->message();
        EXPECT_EQ(e->message().find('\0'), std::string::npos);
        EXPECT_EQ(std::string(e->what()).size(), e->target().size() + 2 + e->message().size());
    }
}

TEST(ValueParsers, EmbeddedNulIsNotCutShort) {
    // inet_pton would stop at the NUL and accept "10.0.0.1".
    EXPECT_THROW(trawl::control::parse_address_range(std::string("10.0.0.1\0x", 10), "t"),
                 FieldError);
    EXPECT_THROW(trawl::control::parse_port_range(json(std::string("80\0", 3)), "t"), FieldError);
}

// ---- Session names ----

TEST(SessionName, ValidNames) {
    for (const std::string& name : std::vector<std::string>{
             "web", "a", "A-Z_0.9", "...", "a..b", ".hidden", "-x", std::string(80, 'x')}) {
        EXPECT_TRUE(trawl::control::is_valid_session_name(name)) << name;
        EXPECT_NO_THROW(trawl::control::validate_session_name(name)) << name;
    }
}

struct BadName {
    std::string name;
    const char* label;
};

class BadSessionName : public testing::TestWithParam<BadName> {};

TEST_P(BadSessionName, IsRejectedOnTheNameField) {
    const auto& name = GetParam().name;
    EXPECT_FALSE(trawl::control::is_valid_session_name(name));
    const auto e = name_error(name);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->target(), "name");
    // The message says what is allowed, not only that it failed.
    EXPECT_NE(e->message().find("A-Z a-z 0-9 . _ -"), std::string::npos) << e->message();
    // The same rule holds for the "name" of a config item.
    const auto item = parse_error(json{{"name", name}}, true);
    ASSERT_TRUE(item);
    EXPECT_EQ(item->target(), "name");
}

INSTANTIATE_TEST_SUITE_P(
    Catalogue, BadSessionName,
    testing::Values(BadName{"", "empty"}, BadName{std::string(81, 'x'), "81_chars"},
                    BadName{"..", "dotdot"}, BadName{".", "dot"}, BadName{"a/b", "slash"},
                    BadName{std::string("a\0b", 3), "nul"}, BadName{"caf\xc3\xa9", "non_ascii"},
                    BadName{"a b", "space"}, BadName{"a:b", "colon"},
                    BadName{"web\n", "newline"}, BadName{"..\\x", "backslash"},
                    BadName{"a%2fb", "percent"}),
    [](const testing::TestParamInfo<BadName>& info) { return std::string(info.param.label); });

// ---- The bad-input catalogue: each body names the field at fault. ----

struct BadInput {
    const char* body;  // JSON text
    const char* target;
    bool allow_name = false;
};

void PrintTo(const BadInput& b, std::ostream* os) { *os << b.body << " → " << b.target; }

class BadBody : public testing::TestWithParam<BadInput> {};

TEST_P(BadBody, NamesTheFieldAtFault) {
    const BadInput& bad = GetParam();
    const json body = json::parse(bad.body);
    const auto e = parse_error(body, bad.allow_name);
    ASSERT_TRUE(e) << "accepted " << bad.body;
    EXPECT_EQ(e->target(), bad.target) << bad.body << " → " << e->what();
    EXPECT_FALSE(e->message().empty());
}

const BadInput kBadBodies[] = {
    // The body itself.
    {R"([])", ""},
    {R"("filters")", ""},
    {R"(null)", ""},
    {R"(42)", ""},
    // Unknown fields at every level.
    {R"({"filter":[]})", "filter"},
    {R"({"Format":"pcap"})", "Format"},
    {R"({"name":"web"})", "name"},
    {R"({"filters":[{"destinationPort":["80"]}]})", "filters[0].destinationPort"},
    {R"({"filters":[{},{"sourceSubnet":[]}]})", "filters[1].sourceSubnet"},
    {R"({"filters":[{"SourceSubnets":[]}]})", "filters[0].SourceSubnets"},
    {R"({"filters":[{"localPort":"80","foo":1}]})", "filters[0].foo"},
    // Filters and lists of the wrong shape.
    {R"({"filters":{}})", "filters"},
    {R"({"filters":"tcp"})", "filters"},
    {R"({"filters":null})", "filters"},
    {R"({"filters":[1]})", "filters[0]"},
    {R"({"filters":[{},[]]})", "filters[1]"},
    {R"({"filters":[{"sourceSubnets":"10.0.0.0/8"}]})", "filters[0].sourceSubnets"},
    {R"({"filters":[{"destinationPorts":"80"}]})", "filters[0].destinationPorts"},
    {R"({"filters":[{"protocols":"tcp"}]})", "filters[0].protocols"},
    {R"({"filters":[{"protocols":null}]})", "filters[0].protocols"},
    // Subnets.
    {R"({"filters":[{"sourceSubnets":["10.0.0.0/33"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.0/8","1.2.3.4/"]}]})",
     "filters[0].sourceSubnets[1]"},
    {R"({"filters":[{"sourceSubnets":["a","b","fd00::/129"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.1","10.0.0.2","fd00::/129"]}]})",
     "filters[0].sourceSubnets[2]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.0/x"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.0/-1"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.0/8/8"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.0/0008"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["/8"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["300.1.1.1"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.1.5"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["host.example.com"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["fe80::1%eth0"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["fd00:::1"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.1-fd00::1"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.9-10.0.0.1"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["2001:db8::ff-2001:db8::1"]}]})",
     "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.1-"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["-10.0.0.1"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.1-10.0.0.5-10.0.0.9"]}]})",
     "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":[""]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["   "]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":["10.0.0.1\u0000"]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"sourceSubnets":[167772161]}]})", "filters[0].sourceSubnets[0]"},
    {R"({"filters":[{"destinationSubnets":["10.0.0.1",null]}]})",
     "filters[0].destinationSubnets[1]"},
    // Ports.
    {R"({"filters":[{"sourcePorts":["80-"]}]})", "filters[0].sourcePorts[0]"},
    {R"({"filters":[{"sourcePorts":["-80"]}]})", "filters[0].sourcePorts[0]"},
    {R"({"filters":[{"sourcePorts":["65536"]}]})", "filters[0].sourcePorts[0]"},
    {R"({"filters":[{"sourcePorts":[80,65536]}]})", "filters[0].sourcePorts[1]"},
    {R"({"filters":[{"sourcePorts":["90-80"]}]})", "filters[0].sourcePorts[0]"},
    {R"({"filters":[{"sourcePorts":["abc"]}]})", "filters[0].sourcePorts[0]"},
    {R"({"filters":[{"sourcePorts":[""]}]})", "filters[0].sourcePorts[0]"},
    {R"({"filters":[{"sourcePorts":["8 0"]}]})", "filters[0].sourcePorts[0]"},
    {R"({"filters":[{"sourcePorts":["0x50"]}]})", "filters[0].sourcePorts[0]"},
    {R"({"filters":[{"sourcePorts":["80-90-100"]}]})", "filters[0].sourcePorts[0]"},
    {R"({"filters":[{"sourcePorts":["99999999999999999999"]}]})", "filters[0].sourcePorts[0]"},
    {R"({"filters":[{"destinationPorts":[-1]}]})", "filters[0].destinationPorts[0]"},
    {R"({"filters":[{"destinationPorts":[80.5]}]})", "filters[0].destinationPorts[0]"},
    {R"({"filters":[{"destinationPorts":[80.0]}]})", "filters[0].destinationPorts[0]"},
    {R"({"filters":[{"destinationPorts":[true]}]})", "filters[0].destinationPorts[0]"},
    {R"({"filters":[{"destinationPorts":[[80]]}]})", "filters[0].destinationPorts[0]"},
    // Protocols, flags, direction.
    {R"({"filters":[{"protocols":["tcpp"]}]})", "filters[0].protocols[0]"},
    {R"({"filters":[{"protocols":["tcp","icmp6"]}]})", "filters[0].protocols[1]"},
    {R"({"filters":[{"protocols":[256]}]})", "filters[0].protocols[0]"},
    {R"({"filters":[{"protocols":["256"]}]})", "filters[0].protocols[0]"},
    {R"({"filters":[{"protocols":[-6]}]})", "filters[0].protocols[0]"},
    {R"({"filters":[{"protocols":[""]}]})", "filters[0].protocols[0]"},
    {R"({"filters":[{"protocols":[6.0]}]})", "filters[0].protocols[0]"},
    {R"({"filters":[{"protocols":[{"name":"tcp"}]}]})", "filters[0].protocols[0]"},
    {R"({"filters":[{"tcpFlags":256}]})", "filters[0].tcpFlags"},
    {R"({"filters":[{"tcpFlags":"SYN"}]})", "filters[0].tcpFlags"},
    {R"({"filters":[{"tcpFlags":-1}]})", "filters[0].tcpFlags"},
    {R"({"filters":[{"tcpFlags":2.0}]})", "filters[0].tcpFlags"},
    {R"({"filters":[{"bidirectional":"true"}]})", "filters[0].bidirectional"},
    {R"({"filters":[{"bidirectional":1}]})", "filters[0].bidirectional"},
    {R"({"filters":[{"bidirectional":null}]})", "filters[0].bidirectional"},
    // Top-level numbers and choices.
    {R"({"tracingFlags":4})", "tracingFlags"},
    {R"({"tracingFlags":16})", "tracingFlags"},
    {R"({"tracingFlags":15})", "tracingFlags"},
    {R"({"tracingFlags":"1"})", "tracingFlags"},
    {R"({"tracingFlags":-1})", "tracingFlags"},
    {R"({"bytesToCapturePerPacket":262145})", "bytesToCapturePerPacket"},
    {R"({"bytesToCapturePerPacket":1.5})", "bytesToCapturePerPacket"},
    {R"({"bytesToCapturePerPacket":5.0})", "bytesToCapturePerPacket"},
    {R"({"bytesToCapturePerPacket":"128"})", "bytesToCapturePerPacket"},
    {R"({"bytesToCapturePerPacket":true})", "bytesToCapturePerPacket"},
    {R"({"bytesToCapturePerPacket":null})", "bytesToCapturePerPacket"},
    {R"({"totalBytesPerSession":-1})", "totalBytesPerSession"},
    {R"({"totalBytesPerSession":4611686018427387905})", "totalBytesPerSession"},
    {R"({"totalBytesPerSession":18446744073709551615})", "totalBytesPerSession"},
    {R"({"totalBytesPerSession":1e30})", "totalBytesPerSession"},
    {R"({"timeLimitInSeconds":315360001})", "timeLimitInSeconds"},
    {R"({"timeLimitInSeconds":{}})", "timeLimitInSeconds"},
    {R"({"maxPackets":"10"})", "maxPackets"},
    {R"({"maxPackets":-5})", "maxPackets"},
    {R"({"fileSizeInBytes":[1]})", "fileSizeInBytes"},
    {R"({"fileCount":1000001})", "fileCount"},
    {R"({"fileCount":1.0})", "fileCount"},
    {R"({"format":"PCAP"})", "format"},
    {R"({"format":"pcapng2"})", "format"},
    {R"({"format":1})", "format"},
    {R"({"format":null})", "format"},
    {R"({"storage":{"uploadUrl":"https://x/c?sv=1"}})", "storage.uploadUrl"},
    {R"({"storage":{"uploadUrl":"https://x/c?sv=1&sig=s","extra":1}})", "storage.extra"},
    {R"({"storage":null})", "storage"},
    {R"({"payloadPatterns":["GET", "(unclosed"]})", "payloadPatterns[1]"},
    {R"({"payloadPatterns":"GET"})", "payloadPatterns"},
    {R"({"payloadPatterns":[1]})", "payloadPatterns[0]"},
    {R"({"payloadPatterns":["a",null]})", "payloadPatterns[1]"},
    // Network Watcher filters.
    {R"({"filters":[{"sourceSubnets":[],"localPort":"80"}]})", "filters[0]"},
    {R"({"filters":[{},{"protocol":"TCP","protocols":["tcp"]}]})", "filters[1]"},
    {R"({"filters":[{"localPort":"80;;443"}]})", "filters[0].localPort"},
    {R"({"filters":[{"localPort":";80"}]})", "filters[0].localPort"},
    {R"({"filters":[{"localPort":";"}]})", "filters[0].localPort"},
    {R"({"filters":[{"localPort":""}]})", "filters[0].localPort"},
    {R"({"filters":[{"localPort":"  "}]})", "filters[0].localPort"},
    {R"({"filters":[{"localPort":"80;;"}]})", "filters[0].localPort"},
    {R"({"filters":[{"localPort":80}]})", "filters[0].localPort"},
    {R"({"filters":[{"remotePort":"80-"}]})", "filters[0].remotePort"},
    {R"({"filters":[{"remotePort":"443;65536"}]})", "filters[0].remotePort"},
    {R"({"filters":[{"protocol":"ICMP"}]})", "filters[0].protocol"},
    {R"({"filters":[{"protocol":""}]})", "filters[0].protocol"},
    {R"({"filters":[{"protocol":6}]})", "filters[0].protocol"},
    {R"({"filters":[{"localIPAddress":"10.0.0.1;300.0.0.1"}]})", "filters[0].localIPAddress"},
    {R"({"filters":[{"localIPAddress":["10.0.0.1"]}]})", "filters[0].localIPAddress"},
    {R"({"filters":[{"localIPAddress":"10.0.0.0/33"}]})", "filters[0].localIPAddress"},
    {R"({"filters":[{"remoteIPAddress":"10.0.0.1-10.0.0.0"}]})", "filters[0].remoteIPAddress"},
    {R"({"filters":[{"remoteIPAddress":"10.0.0.1,10.0.0.2"}]})", "filters[0].remoteIPAddress"},
    // Network Watcher ARM bodies.
    {R"({"properties":{},"extra":1})", "extra"},
    {R"({"properties":{},"name":"x"})", "name"},
    {R"({"properties":[]})", "properties"},
    {R"({"properties":null})", "properties"},
    {R"({"properties":{"foo":1}})", "properties.foo"},
    {R"({"properties":{"maxPackets":5}})", "properties.maxPackets"},
    {R"({"properties":{"filters":{}}})", "properties.filters"},
    {R"({"properties":{"filters":[{"localPort":"x"}]}})", "properties.filters[0].localPort"},
    {R"({"properties":{"filters":[{"localPort":"1","sourcePorts":[]}]}})",
     "properties.filters[0]"},
    {R"({"properties":{"filters":[{"remotePort":"1","bogus":2}]}})",
     "properties.filters[0].bogus"},
    {R"({"properties":{"captureSettings":{"fileCount":1,"fileSize":2}}})",
     "properties.captureSettings.fileSize"},
    {R"({"properties":{"captureSettings":"x"}})", "properties.captureSettings"},
    {R"({"properties":{"captureSettings":{"fileCount":1000001}}})",
     "properties.captureSettings.fileCount"},
    {R"({"properties":{"captureSettings":{"fileSizeInBytes":-1}}})",
     "properties.captureSettings.fileSizeInBytes"},
    {R"({"properties":{"captureSettings":{"sessionTimeLimitInSeconds":1.5}}})",
     "properties.captureSettings.sessionTimeLimitInSeconds"},
    {R"({"properties":{"timeLimitInSeconds":60,
                      "captureSettings":{"sessionTimeLimitInSeconds":120}}})",
     "properties.captureSettings.sessionTimeLimitInSeconds"},
    {R"({"properties":{"captureSettings":{"fileCount":1000,
                                          "fileSizeInBytes":4611686018427387904}}})",
     "properties.captureSettings"},
    {R"({"properties":{"continuousCapture":"yes"}})", "properties.continuousCapture"},
    {R"({"properties":{"continuousCapture":1}})", "properties.continuousCapture"},
    {R"({"properties":{"bytesToCapturePerPacket":-1}})", "properties.bytesToCapturePerPacket"},
    {R"({"properties":{"totalBytesPerSession":"1"}})", "properties.totalBytesPerSession"},
    {R"({"properties":{"timeLimitInSeconds":315360001}})", "properties.timeLimitInSeconds"},
    // VPN gateway FilterData.
    {R"({"Filters":[{"SrcPort":[80]}]})", "Filters[0].SrcPort"},
    {R"({"TracingFlags":1,"Filters":{}})", "Filters"},
    {R"({"Filters":["x"]})", "Filters[0]"},
    {R"({"TracingFlags":4})", "TracingFlags"},
    {R"({"TracingFlags":"11"})", "TracingFlags"},
    {R"({"MaxPacketBufferSize":300000})", "MaxPacketBufferSize"},
    {R"({"MaxFileSize":-1})", "MaxFileSize"},
    {R"({"MaxFileSize":4398046511105})", "MaxFileSize"},
    {R"({"MaxFileSize":1.5})", "MaxFileSize"},
    {R"({"TracingFlags":1,"filters":[]})", "filters"},
    {R"({"TracingFlags":1,"bytesToCapturePerPacket":10})", "bytesToCapturePerPacket"},
    {R"({"TracingFlags":1,"name":"x"})", "name"},
    {R"({"Filters":[{"sourceSubnets":[]}]})", "Filters[0].sourceSubnets"},
    {R"({"Filters":[{"TcpFlags":-2}]})", "Filters[0].TcpFlags"},
    {R"({"Filters":[{"TcpFlags":256}]})", "Filters[0].TcpFlags"},
    {R"({"Filters":[{"TcpFlags":18446744073709551615}]})", "Filters[0].TcpFlags"},
    {R"({"Filters":[{"Protocol":"tcpx"}]})", "Filters[0].Protocol"},
    {R"({"Filters":[{"Protocol":[6,"bogus"]}]})", "Filters[0].Protocol[1]"},
    {R"({"Filters":[{"SourcePort":["80-"]}]})", "Filters[0].SourcePort[0]"},
    {R"({"Filters":[{"DestinationPort":70000}]})", "Filters[0].DestinationPort"},
    {R"({"Filters":[{"SourceSubnets":["10.0.0.0/33"]}]})", "Filters[0].SourceSubnets[0]"},
    {R"({"Filters":[{"SourceSubnets":{"a":1}}]})", "Filters[0].SourceSubnets"},
    {R"({"Filters":[{"DestinationSubnets":"10.0.0.9-10.0.0.1"}]})",
     "Filters[0].DestinationSubnets"},
    {R"({"Filters":[{"CaptureSingleDirectionTrafficOnly":"true"}]})",
     "Filters[0].CaptureSingleDirectionTrafficOnly"},
    // Config items: the name must be a valid session name.
    {R"({"name":""})", "name", true},
    {R"({"name":5})", "name", true},
    {R"({"name":null})", "name", true},
    {R"({"name":"a/b"})", "name", true},
    {R"({"name":"..","TracingFlags":1})", "name", true},
    {R"({"name":"ok","properties":{"foo":1}})", "properties.foo", true},
    {R"({"name":"ok","nam":"typo"})", "nam", true},
};

INSTANTIATE_TEST_SUITE_P(Catalogue, BadBody, testing::ValuesIn(kBadBodies));

}  // namespace
