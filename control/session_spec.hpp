// A capture session's spec (DESIGN §2.1) in canonical form, and the one parser every
// entry point uses: REST bodies, trawlctl files, config `sessions:` items and
// session.json on restart. Unknown fields are rejected — a misspelt filter key must
// never silently become "capture everything".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/field_error.hpp"
#include "dataplane/capture_file.hpp"
#include "dataplane/filter.hpp"

namespace trawl::control {

// Defaults for fields a body leaves out; from the config's `capture.defaults`.
struct SpecDefaults {
    uint32_t bytes_to_capture_per_packet = 0;
    uint64_t total_bytes_per_session = 1ull << 30;
    uint64_t time_limit_seconds = 18000;
    uint64_t max_packets = 0;
    uint64_t file_size_bytes = 0;
    uint64_t file_count = 0;
    dataplane::FileFormat format = dataplane::FileFormat::Pcap;
    // VPN-gateway FilterData has MaxFileSize but no file count: its ring buffer keeps
    // this many files.
    uint64_t vpn_file_count = 10;
};

// Bounds a request must respect; from the config.
struct SpecLimits {
    uint64_t max_filters = 256;
    uint64_t max_list_items = 1024;    // entries in one subnet/port/protocol list
    uint64_t max_rules_per_session = 100000;  // tuple rules after expansion
    uint64_t max_payload_patterns = 64;
    uint64_t max_pattern_length = 1024;
};

// Where closed files are uploaded (docs/storage.md). The URL holds the SAS signature, a
// secret: the canonical echo shows it redacted; only session.json (0600) keeps it whole.
struct StorageSpec {
    std::string upload_url;  // container URL with SAS query, as given
    bool delete_local_after_upload = false;
    bool operator==(const StorageSpec&) const = default;
};

struct SessionSpec {
    std::vector<dataplane::Filter> filters;
    uint32_t tracing_flags = 0;
    std::vector<std::string> payload_patterns;
    uint32_t bytes_to_capture_per_packet = 0;
    uint64_t total_bytes_per_session = 0;
    uint64_t time_limit_seconds = 0;
    uint64_t max_packets = 0;
    uint64_t file_size_bytes = 0;
    uint64_t file_count = 0;
    dataplane::FileFormat format = dataplane::FileFormat::Pcap;
    std::optional<StorageSpec> storage;
    // The canonical JSON echo: every field explicit, filters in canonical keys, the
    // storage URL's signature redacted. This is what GET returns as "spec";
    // persisted_spec_json() is what session.json stores.
    nlohmann::json canonical;

    dataplane::SessionRules rules() const {
        return dataplane::SessionRules{filters, tracing_flags, payload_patterns};
    }
};

struct ParsedSpec {
    SessionSpec spec;
    std::string dialect;  // "canonical", "networkWatcher" or "vpnGateway"
    // Network Watcher fields accepted but meaningless on an appliance ("properties.target").
    std::vector<std::string> ignored_fields;
};

// Parses a PUT body or config item in any accepted dialect (DESIGN §2.2): the canonical
// spec, a Network Watcher body (bare or as an ARM {"properties":{...}} body, with NW
// style filters), or VPN-gateway FilterData. `allow_name` accepts a top-level "name"
// (config items). Throws FieldError naming the offending field.
ParsedSpec parse_session_body(const nlohmann::json& body, const SpecDefaults& defaults,
                              const SpecLimits& limits, bool allow_name = false);

// The canonical spec with the storage URL whole (signature included): for session.json
// only, which is written 0600 when it holds one.
nlohmann::json persisted_spec_json(const SessionSpec& spec);

// An upload URL (storage.uploadUrl, a stop's sasUrl, a Network Watcher storagePath):
// checked by storage::parse_sas_url; throws FieldError(target) with a message that never
// quotes the signature.
void validate_upload_url(const nlohmann::json& value, const std::string& target);

// Session names: [A-Za-z0-9._-]{1,80}, and not "." or "..". Throws FieldError("name").
void validate_session_name(const std::string& name);
bool is_valid_session_name(const std::string& name);

// Value parsers shared by every dialect; `target` names the field in errors.
// "10.0.0.0/8", "10.0.0.1", "10.0.0.1-10.0.0.9", and the IPv6 equivalents.
dataplane::AddressRange parse_address_range(const std::string& text, const std::string& target);
// 80, "80", "8000-8080".
dataplane::PortRange parse_port_range(const nlohmann::json& value, const std::string& target);
// 6, "6", "tcp" (names: tcp udp icmp icmpv6 sctp esp ah gre, any case).
uint8_t parse_protocol(const nlohmann::json& value, const std::string& target);

}  // namespace trawl::control
