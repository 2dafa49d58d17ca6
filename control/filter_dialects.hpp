// Internal to the spec parser (control/session_spec.cpp): reading filters in every
// accepted dialect (DESIGN §2.2) and translating a Network Watcher ARM body or VPN-gateway
// FilterData into the fields of a canonical spec.
//
// The dialects are read directly instead of being rewritten to canonical JSON first, so
// that every error names the field the operator actually wrote
// ("properties.captureSettings.fileCount", "Filters[0].SourcePort[1]").
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "control/session_spec.hpp"
#include "dataplane/filter.hpp"

namespace trawl::control::dialects {

// Upper bounds of the numeric spec fields (DESIGN §2.1). 2^62 keeps every byte and packet
// count far from overflow when the writer adds to it.
inline constexpr uint64_t kMaxCount = uint64_t(1) << 62;
inline constexpr uint64_t kMaxFileCount = 1'000'000;
inline constexpr uint64_t kMaxTimeLimitSeconds = 315'360'000;  // ten years

enum class Dialect { Canonical, NetworkWatcher, VpnGateway };

// {"properties":...} is a Network Watcher ARM body; TracingFlags, MaxPacketBufferSize,
// MaxFileSize or Filters make VPN-gateway FilterData; anything else is canonical.
Dialect detect_dialect(const nlohmann::json& body);
const char* dialect_name(Dialect dialect);  // "canonical", "networkWatcher", "vpnGateway"

// One filter as read from any dialect, with the subnet strings as the operator wrote them
// (trimmed): the canonical echo shows those rather than a re-rendered range.
struct FilterDraft {
    dataplane::Filter filter;
    std::vector<std::string> source_texts;
    std::vector<std::string> destination_texts;
};

// A body's fields as read, before defaults: what the body left out stays unset.
struct SpecDraft {
    std::vector<FilterDraft> filters;
    std::string filters_target = "filters";  // where errors about all filters point
    std::optional<uint32_t> tracing_flags;
    std::vector<std::string> payload_patterns;
    std::optional<uint32_t> bytes_to_capture_per_packet;
    std::optional<uint64_t> total_bytes_per_session;
    std::optional<uint64_t> time_limit_seconds;
    std::optional<uint64_t> max_packets;
    std::optional<uint64_t> file_size_bytes;
    std::optional<uint64_t> file_count;
    std::optional<dataplane::FileFormat> format;
    std::optional<StorageSpec> storage;
    std::vector<std::string> ignored_fields;
};

// ---- Messages ----

// A value as it may appear in an error message: JSON text, cut to about 60 characters,
// control bytes escaped (what() must not stop at an embedded NUL).
std::string shown(const nlohmann::json& value);
// A string from the request in double quotes, escaped the same way.
std::string in_quotes(std::string_view text);

// ---- Field readers shared by every dialect; each throws FieldError(target, ...). ----

// A JSON integer in 0..max; floats (even 5.0), negatives, strings, booleans and null fail.
uint64_t read_unsigned(const nlohmann::json& value, const std::string& target, uint64_t max);
const std::string& read_string(const nlohmann::json& value, const std::string& target);
bool read_bool(const nlohmann::json& value, const std::string& target);
// A JSON array of at most limits.max_list_items entries.
const nlohmann::json::array_t& read_list(const nlohmann::json& value, const std::string& target,
                                         const SpecLimits& limits);
// ESP=1 | IKE=2 | OpenVPN=8; any other bit fails.
uint32_t read_tracing_flags(const nlohmann::json& value, const std::string& target);
// Snap length: 0 (whole packet) .. dataplane::kMaxCapturedLength.
uint32_t read_snap_length(const nlohmann::json& value, const std::string& target);

// Requires a JSON object whose keys are all in `known`; an unknown key fails with its
// own path (target + "." + key).
void require_known_keys(const nlohmann::json& object, const std::string& target,
                        std::span<const std::string_view> known, bool allow_name = false);

// Without surrounding spaces and tabs: "10.0.0.1 " and " 80" are what people paste.
std::string trim_spaces(std::string_view text);

// ---- Filters ----

// One filter in canonical keys or in Network Watcher keys (protocol, localIPAddress,
// remoteIPAddress, localPort, remotePort); mixing the two styles fails on the filter.
FilterDraft read_filter(const nlohmann::json& filter, const std::string& target,
                        const SpecLimits& limits);
// A list of such filters, at most limits.max_filters.
std::vector<FilterDraft> read_filters(const nlohmann::json& list, const std::string& target,
                                      const SpecLimits& limits);

// ---- Whole bodies in the foreign dialects; "name" is accepted (not checked) when
// allow_name. ----
SpecDraft read_network_watcher_body(const nlohmann::json& body, const SpecLimits& limits,
                                    bool allow_name);
SpecDraft read_vpn_gateway_body(const nlohmann::json& body, const SpecDefaults& defaults,
                                const SpecLimits& limits, bool allow_name);

}  // namespace trawl::control::dialects
