#include "control/session_spec.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "control/filter_dialects.hpp"
#include "control/storage/sas_url.hpp"
#include "dataplane/pattern_set.hpp"
#include "dataplane/rule_expansion.hpp"

namespace trawl::control {
namespace {

using nlohmann::json;
using namespace dialects;

constexpr std::array<std::string_view, 11> kCanonicalBodyKeys = {
    "filters",         "tracingFlags", "payloadPatterns", "bytesToCapturePerPacket",
    "totalBytesPerSession", "timeLimitInSeconds", "maxPackets", "fileSizeInBytes",
    "fileCount",       "format",       "storage"};

constexpr size_t kMaxSessionNameLength = 80;
constexpr const char* kSessionNameRule =
    "a session name is 1 to 80 characters from A-Z a-z 0-9 . _ - and is not '.' or '..'";

struct ProtocolName {
    uint8_t number;
    const char* name;
};
constexpr std::array<ProtocolName, 8> kProtocolNames = {{
    {6, "tcp"}, {17, "udp"}, {1, "icmp"}, {58, "icmpv6"},
    {132, "sctp"}, {50, "esp"}, {51, "ah"}, {47, "gre"},
}};

const char* protocol_name(uint8_t number) {
    for (const auto& p : kProtocolNames)
        if (p.number == number) return p.name;
    return nullptr;
}

bool is_session_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ---- Addresses ----

struct Address {
    bool is_v6 = false;
    std::array<uint8_t, 16> bytes{};  // IPv4 in bytes 12..15, like dataplane::AddressRange
};

// `part` is one side of a range or prefix within `whole`, which the message quotes.
Address parse_address(const std::string& part, const std::string& whole,
                      const std::string& target) {
    if (part.empty()) throw FieldError(target, in_quotes(whole) + " is missing an address");
    // inet_pton reads a C string: an embedded NUL would silently cut the text short.
    const bool plausible =
        part.find_first_not_of("0123456789abcdefABCDEF.:") == std::string::npos;
    Address a;
    if (plausible && part.find(':') != std::string::npos) {
        a.is_v6 = true;
        if (inet_pton(AF_INET6, part.c_str(), a.bytes.data()) == 1) return a;
    } else if (plausible && inet_pton(AF_INET, part.c_str(), a.bytes.data() + 12) == 1) {
        return a;
    }
    throw FieldError(target, in_quotes(part) + (part == whole ? "" : " in " + in_quotes(whole)) +
                                 " is not an IPv4 or IPv6 address");
}

// "10.0.0.1/8" is accepted as 10.0.0.0/8: people often write the address of a host in the
// network they mean, and the prefix says unambiguously which network that is.
dataplane::AddressRange parse_prefix(const std::string& text, size_t slash,
                                     const std::string& target) {
    const Address a =
        parse_address(trim_spaces(std::string_view(text).substr(0, slash)), text, target);
    const std::string length_text = trim_spaces(std::string_view(text).substr(slash + 1));
    const unsigned max_length = a.is_v6 ? 128 : 32;
    const std::string expected =
        "needs a prefix length from 0 to " + std::to_string(max_length) + " after '/'";
    if (length_text.empty()) throw FieldError(target, in_quotes(text) + " " + expected);
    if (!all_digits(length_text) || length_text.size() > 3 ||
        std::stoul(length_text) > max_length)
        throw FieldError(target,
                         in_quotes(text) + " " + expected + ", got " + in_quotes(length_text));
    // IPv4 lives in the last 32 of the 128 bits, so its prefix starts at bit 96.
    const unsigned kept_bits = (a.is_v6 ? 0 : 96) + unsigned(std::stoul(length_text));
    dataplane::AddressRange range{a.is_v6, a.bytes, a.bytes};
    for (unsigned bit = kept_bits; bit < 128; ++bit) {
        const uint8_t mask = uint8_t(0x80u >> (bit % 8));
        range.first[bit / 8] &= uint8_t(~mask);
        range.last[bit / 8] |= mask;
    }
    return range;
}

dataplane::AddressRange parse_span(const std::string& text, size_t dash,
                                   const std::string& target) {
    const Address first =
        parse_address(trim_spaces(std::string_view(text).substr(0, dash)), text, target);
    const Address last =
        parse_address(trim_spaces(std::string_view(text).substr(dash + 1)), text, target);
    if (first.is_v6 != last.is_v6)
        throw FieldError(target, in_quotes(text) + " mixes an IPv4 and an IPv6 address");
    if (last.bytes < first.bytes)  // network order compares like the numbers
        throw FieldError(target,
                         in_quotes(text) + " is reversed: the first address is after the last");
    return dataplane::AddressRange{first.is_v6, first.bytes, last.bytes};
}

// ---- Ports ----

uint16_t parse_port_number(const std::string& text, const std::string& whole,
                           const std::string& target) {
    if (!all_digits(text) || text.size() > 5 || std::stoul(text) > 0xffff)
        throw FieldError(target, in_quotes(whole) +
                                     " is not a port (0-65535) or a first-last port range");
    return uint16_t(std::stoul(text));
}

dataplane::PortRange parse_port_text(const std::string& raw, const std::string& target) {
    const std::string text = trim_spaces(raw);
    const size_t dash = text.find('-');
    if (dash == std::string::npos) {
        const uint16_t port = parse_port_number(text, text, target);
        return {port, port};
    }
    const uint16_t first =
        parse_port_number(trim_spaces(std::string_view(text).substr(0, dash)), text, target);
    const uint16_t last =
        parse_port_number(trim_spaces(std::string_view(text).substr(dash + 1)), text, target);
    if (last < first)
        throw FieldError(target,
                         in_quotes(text) + " is reversed: the first port is after the last");
    return {first, last};
}

std::string port_text(const dataplane::PortRange& range) {
    return range.first == range.last
               ? std::to_string(range.first)
               : std::to_string(range.first) + "-" + std::to_string(range.last);
}

// ---- The canonical body ----

dataplane::FileFormat read_format(const json& value, const std::string& target) {
    const std::string& text = read_string(value, target);
    if (text == "pcap") return dataplane::FileFormat::Pcap;
    if (text == "pcapng") return dataplane::FileFormat::Pcapng;
    throw FieldError(target, "must be \"pcap\" or \"pcapng\", got " + in_quotes(text));
}

std::vector<std::string> read_payload_patterns(const json& value, const SpecLimits& limits) {
    const std::string target = "payloadPatterns";
    if (!value.is_array()) throw FieldError(target, "must be a list of strings");
    if (value.size() > limits.max_payload_patterns)
        throw FieldError(target, "has " + std::to_string(value.size()) +
                                     " patterns; the limit is " +
                                     std::to_string(limits.max_payload_patterns));
    std::vector<std::string> patterns;
    for (size_t i = 0; i < value.size(); ++i) {
        const std::string& pattern = read_string(value[i], field_path(target, i));
        if (pattern.size() > limits.max_pattern_length)
            throw FieldError(field_path(target, i),
                             "is " + std::to_string(pattern.size()) +
                                 " bytes long; the limit is " +
                                 std::to_string(limits.max_pattern_length));
        patterns.push_back(pattern);
    }
    for (size_t i = 0; i < patterns.size(); ++i)
        if (patterns[i].empty()) throw FieldError(field_path(target, i), "must not be empty");
    // Compile now, with Hyperscan itself: a pattern it refuses is the operator's error,
    // reported with Hyperscan's own message, never a failed start later.
    if (auto error = dataplane::check_patterns(patterns))
        throw FieldError(field_path(target, error->index), "Hyperscan: " + error->message);
    return patterns;
}

constexpr std::array<std::string_view, 2> kStorageKeys = {"uploadUrl", "deleteLocalAfterUpload"};

StorageSpec read_storage(const json& value, const std::string& target) {
    if (!value.is_object())
        throw FieldError(target, std::string("must be an object {\"uploadUrl\": \"<container URL with SAS "
                                             "query>\", \"deleteLocalAfterUpload\": false}, got ") +
                                     value.type_name());
    require_known_keys(value, target, kStorageKeys);
    StorageSpec storage;
    const auto url = value.find("uploadUrl");
    if (url == value.end()) throw FieldError(field_path(target, "uploadUrl"), "is required");
    validate_upload_url(*url, field_path(target, "uploadUrl"));
    storage.upload_url = url->get<std::string>();
    if (const auto del = value.find("deleteLocalAfterUpload"); del != value.end())
        storage.delete_local_after_upload = read_bool(*del, field_path(target, "deleteLocalAfterUpload"));
    return storage;
}

SpecDraft read_canonical_body(const json& body, const SpecLimits& limits, bool allow_name) {
    require_known_keys(body, "", kCanonicalBodyKeys, allow_name);
    SpecDraft draft;
    const auto field = [&](const char* key) -> const json* {
        const auto it = body.find(key);
        return it == body.end() ? nullptr : &*it;
    };
    if (const json* v = field("storage")) draft.storage = read_storage(*v, "storage");
    if (const json* v = field("filters")) draft.filters = read_filters(*v, "filters", limits);
    if (const json* v = field("tracingFlags"))
        draft.tracing_flags = read_tracing_flags(*v, "tracingFlags");
    if (const json* v = field("payloadPatterns"))
        draft.payload_patterns = read_payload_patterns(*v, limits);
    if (const json* v = field("bytesToCapturePerPacket"))
        draft.bytes_to_capture_per_packet = read_snap_length(*v, "bytesToCapturePerPacket");
    if (const json* v = field("totalBytesPerSession"))
        draft.total_bytes_per_session = read_unsigned(*v, "totalBytesPerSession", kMaxCount);
    if (const json* v = field("timeLimitInSeconds"))
        draft.time_limit_seconds = read_unsigned(*v, "timeLimitInSeconds", kMaxTimeLimitSeconds);
    if (const json* v = field("maxPackets"))
        draft.max_packets = read_unsigned(*v, "maxPackets", kMaxCount);
    if (const json* v = field("fileSizeInBytes"))
        draft.file_size_bytes = read_unsigned(*v, "fileSizeInBytes", kMaxCount);
    if (const json* v = field("fileCount"))
        draft.file_count = read_unsigned(*v, "fileCount", kMaxFileCount);
    if (const json* v = field("format")) draft.format = read_format(*v, "format");
    return draft;
}

// ---- From draft to spec ----

json canonical_filter(const FilterDraft& draft) {
    const auto& f = draft.filter;
    const auto ports = [](const std::vector<dataplane::PortRange>& ranges) {
        json list = json::array();
        for (const auto& r : ranges) list.push_back(port_text(r));
        return list;
    };
    json protocols = json::array();
    for (uint8_t p : f.protocols) {
        if (const char* name = protocol_name(p))
            protocols.push_back(name);
        else
            protocols.push_back(p);
    }
    return json{{"sourceSubnets", draft.source_texts},
                {"destinationSubnets", draft.destination_texts},
                {"sourcePorts", ports(f.source_ports)},
                {"destinationPorts", ports(f.destination_ports)},
                {"protocols", protocols},
                {"tcpFlags", f.tcp_flags},
                {"bidirectional", f.bidirectional}};
}

json canonical_spec(const std::vector<FilterDraft>& filters, const SessionSpec& spec) {
    json list = json::array();
    for (const auto& f : filters) list.push_back(canonical_filter(f));
    json canonical{{"filters", list},
                   {"tracingFlags", spec.tracing_flags},
                   {"payloadPatterns", spec.payload_patterns},
                   {"bytesToCapturePerPacket", spec.bytes_to_capture_per_packet},
                   {"totalBytesPerSession", spec.total_bytes_per_session},
                   {"timeLimitInSeconds", spec.time_limit_seconds},
                   {"maxPackets", spec.max_packets},
                   {"fileSizeInBytes", spec.file_size_bytes},
                   {"fileCount", spec.file_count},
                   {"format", dataplane::file_extension(spec.format)}};
    // Present only when given, so a spec without uploads keeps the shape of DESIGN §3.
    if (spec.storage)
        canonical["storage"] = {{"uploadUrl", storage::redact(spec.storage->upload_url)},
                                {"deleteLocalAfterUpload", spec.storage->delete_local_after_upload}};
    return canonical;
}

SessionSpec finish_spec(const SpecDraft& draft, const SpecDefaults& defaults,
                        const SpecLimits& limits) {
    SessionSpec spec;
    for (const auto& f : draft.filters) spec.filters.push_back(f.filter);
    spec.tracing_flags = draft.tracing_flags.value_or(0);
    spec.payload_patterns = draft.payload_patterns;
    spec.bytes_to_capture_per_packet =
        draft.bytes_to_capture_per_packet.value_or(defaults.bytes_to_capture_per_packet);
    spec.total_bytes_per_session =
        draft.total_bytes_per_session.value_or(defaults.total_bytes_per_session);
    spec.time_limit_seconds = draft.time_limit_seconds.value_or(defaults.time_limit_seconds);
    spec.max_packets = draft.max_packets.value_or(defaults.max_packets);
    spec.file_size_bytes = draft.file_size_bytes.value_or(defaults.file_size_bytes);
    spec.file_count = draft.file_count.value_or(defaults.file_count);
    spec.format = draft.format.value_or(defaults.format);
    spec.storage = draft.storage;

    // Lists multiply: a few long subnet and port lists can expand to millions of ACL
    // rules, which would stall every other session's RuleSet rebuild.
    const uint64_t rules = dataplane::count_tuple_rules(spec.rules());
    if (rules > limits.max_rules_per_session)
        throw FieldError(draft.filters_target,
                         "the filters and tracing flags expand to " + std::to_string(rules) +
                             " classifier rules; the limit is " +
                             std::to_string(limits.max_rules_per_session) +
                             " (subnet, port, protocol and flag lists multiply)");

    spec.canonical = canonical_spec(draft.filters, spec);
    return spec;
}

}  // namespace

dataplane::AddressRange parse_address_range(const std::string& text, const std::string& target) {
    const std::string trimmed = trim_spaces(text);
    if (trimmed.empty())
        throw FieldError(target, "must be an address, a CIDR prefix or a first-last range, "
                                 "got an empty string");
    if (const size_t slash = trimmed.find('/'); slash != std::string::npos)
        return parse_prefix(trimmed, slash, target);
    if (const size_t dash = trimmed.find('-'); dash != std::string::npos)
        return parse_span(trimmed, dash, target);
    const Address a = parse_address(trimmed, trimmed, target);
    return dataplane::AddressRange{a.is_v6, a.bytes, a.bytes};
}

dataplane::PortRange parse_port_range(const json& value, const std::string& target) {
    if (value.is_string()) return parse_port_text(value.get_ref<const std::string&>(), target);
    if (value.is_number_integer()) {
        const auto port = uint16_t(read_unsigned(value, target, 0xffff));
        return {port, port};
    }
    throw FieldError(target, "must be a port (0-65535) or a first-last port range string, got " +
                                 shown(value));
}

uint8_t parse_protocol(const json& value, const std::string& target) {
    if (value.is_number_integer()) return uint8_t(read_unsigned(value, target, 0xff));
    const std::string expected =
        "must be an IP protocol number (0-255) or one of tcp udp icmp icmpv6 sctp esp ah gre";
    if (!value.is_string())
        throw FieldError(target, expected + ", got " + shown(value));
    std::string text = trim_spaces(value.get_ref<const std::string&>());
    if (all_digits(text)) {
        if (text.size() > 3 || std::stoul(text) > 0xff)
            throw FieldError(target, expected + ", got " + in_quotes(text));
        return uint8_t(std::stoul(text));
    }
    for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& p : kProtocolNames)
        if (text == p.name) return p.number;
    throw FieldError(target, expected + ", got " + in_quotes(text));
}

json persisted_spec_json(const SessionSpec& spec) {
    json j = spec.canonical;
    if (spec.storage) j["storage"]["uploadUrl"] = spec.storage->upload_url;
    return j;
}

void validate_upload_url(const json& value, const std::string& target) {
    // The value is never quoted back: it would carry the signature.
    if (!value.is_string())
        throw FieldError(target, std::string("must be a string (a container URL with a SAS query), got ") +
                                     value.type_name());
    std::string error;
    if (!storage::parse_sas_url(value.get_ref<const std::string&>(), error)) throw FieldError(target, error);
}

bool is_valid_session_name(const std::string& name) {
    return !name.empty() && name.size() <= kMaxSessionNameLength && name != "." &&
           name != ".." && std::all_of(name.begin(), name.end(), is_session_name_char);
}

void validate_session_name(const std::string& name) {
    if (is_valid_session_name(name)) return;
    std::string problem;
    if (name.empty()) {
        problem = "is empty";
    } else if (name.size() > kMaxSessionNameLength) {
        problem = "is " + std::to_string(name.size()) + " characters long";
    } else if (name == "." || name == "..") {
        problem = "is " + in_quotes(name);
    } else {
        const char bad = *std::find_if_not(name.begin(), name.end(), is_session_name_char);
        const auto byte = static_cast<unsigned char>(bad);
        char character[16];  // bytes outside printable ASCII are shown as hex
        if (byte >= 0x20 && byte < 0x7f)
            std::snprintf(character, sizeof character, "'%c'", bad);
        else
            std::snprintf(character, sizeof character, "byte 0x%02x", byte);
        problem = std::string("contains ") + character;
    }
    throw FieldError("name", problem + ": " + kSessionNameRule);
}

ParsedSpec parse_session_body(const json& body, const SpecDefaults& defaults,
                              const SpecLimits& limits, bool allow_name) {
    if (!body.is_object())
        throw FieldError("", std::string("the body must be a JSON object, got ") +
                                 body.type_name());
    if (allow_name) {
        if (const auto it = body.find("name"); it != body.end())
            validate_session_name(read_string(*it, "name"));
    }
    const Dialect dialect = detect_dialect(body);
    const SpecDraft draft =
        dialect == Dialect::NetworkWatcher ? read_network_watcher_body(body, limits, allow_name)
        : dialect == Dialect::VpnGateway
            ? read_vpn_gateway_body(body, defaults, limits, allow_name)
            : read_canonical_body(body, limits, allow_name);
    ParsedSpec parsed;
    parsed.spec = finish_spec(draft, defaults, limits);
    parsed.dialect = dialect_name(dialect);
    parsed.ignored_fields = draft.ignored_fields;
    return parsed;
}

}  // namespace trawl::control
