#include "control/filter_dialects.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "control/field_error.hpp"
#include "dataplane/session_sink.hpp"

namespace trawl::control::dialects {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 7> kCanonicalFilterKeys = {
    "sourceSubnets", "destinationSubnets", "sourcePorts", "destinationPorts",
    "protocols",     "tcpFlags",           "bidirectional"};

constexpr std::array<std::string_view, 5> kNetworkWatcherFilterKeys = {
    "protocol", "localIPAddress", "remoteIPAddress", "localPort", "remotePort"};

constexpr std::array<std::string_view, 4> kVpnGatewayBodyKeys = {
    "TracingFlags", "MaxPacketBufferSize", "MaxFileSize", "Filters"};

constexpr std::array<std::string_view, 7> kVpnGatewayFilterKeys = {
    "SourceSubnets", "DestinationSubnets", "SourcePort", "DestinationPort",
    "Protocol",      "TcpFlags",           "CaptureSingleDirectionTrafficOnly"};

// ARM fields that locate a VM or a storage account: nothing on an appliance answers to
// them, so they are accepted (an exported body must still work) and reported as ignored.
constexpr std::array<std::string_view, 5> kIgnoredArmProperties = {
    "target", "targetType", "scope", "storageLocation", "storageSettings"};

constexpr std::array<std::string_view, 11> kArmPropertiesKeys = {
    "bytesToCapturePerPacket", "totalBytesPerSession", "timeLimitInSeconds", "filters",
    "captureSettings",         "continuousCapture",    "target",             "targetType",
    "scope",                   "storageLocation",      "storageSettings"};

constexpr std::array<std::string_view, 3> kCaptureSettingsKeys = {
    "fileCount", "fileSizeInBytes", "sessionTimeLimitInSeconds"};

constexpr std::array<std::string_view, 1> kArmBodyKeys = {"properties"};

constexpr uint64_t kBytesPerMiB = uint64_t(1) << 20;

bool contains(std::span<const std::string_view> keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

const json* find_field(const json& object, std::string_view key) {
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

void check_filter_count(const json& list, const std::string& target, const SpecLimits& limits) {
    if (!list.is_array()) throw FieldError(target, "must be a list of filters, got " + shown(list));
    if (list.size() > limits.max_filters)
        throw FieldError(target, "has " + std::to_string(list.size()) + " filters; the limit is " +
                                     std::to_string(limits.max_filters));
}

// Canonical lists are JSON arrays; each element is read by `read_entry(element, target)`.
template <typename ReadEntry>
void for_each_list_entry(const json& value, const std::string& target, const SpecLimits& limits,
                         ReadEntry&& read_entry) {
    const auto& list = read_list(value, target, limits);
    for (size_t i = 0; i < list.size(); ++i) read_entry(list[i], field_path(target, i));
}

// VPN-gateway FilterData also accepts a single value where a list is expected
// ("Protocol": 6); then the error target is the field itself.
template <typename ReadEntry>
void for_each_scalar_or_list_entry(const json& value, const std::string& target,
                                   const SpecLimits& limits, ReadEntry&& read_entry) {
    if (value.is_array())
        for_each_list_entry(value, target, limits, read_entry);
    else
        read_entry(value, target);
}

void add_address(const std::string& text, const std::string& target,
                 std::vector<dataplane::AddressRange>& ranges, std::vector<std::string>& texts) {
    ranges.push_back(parse_address_range(text, target));
    texts.push_back(trim_spaces(text));
}

// ---- Canonical filters ----

FilterDraft read_canonical_filter(const json& object, const std::string& target,
                                  const SpecLimits& limits) {
    require_known_keys(object, target, kCanonicalFilterKeys);
    FilterDraft draft;
    auto& f = draft.filter;
    auto subnets = [&](const char* key, auto& ranges, auto& texts) {
        if (const json* v = find_field(object, key))
            for_each_list_entry(*v, field_path(target, key), limits,
                                [&](const json& e, const std::string& t) {
                                    add_address(read_string(e, t), t, ranges, texts);
                                });
    };
    auto ports = [&](const char* key, std::vector<dataplane::PortRange>& out) {
        if (const json* v = find_field(object, key))
            for_each_list_entry(*v, field_path(target, key), limits,
                                [&](const json& e, const std::string& t) {
                                    out.push_back(parse_port_range(e, t));
                                });
    };
    subnets("sourceSubnets", f.source, draft.source_texts);
    subnets("destinationSubnets", f.destination, draft.destination_texts);
    ports("sourcePorts", f.source_ports);
    ports("destinationPorts", f.destination_ports);
    if (const json* v = find_field(object, "protocols"))
        for_each_list_entry(*v, field_path(target, "protocols"), limits,
                            [&](const json& e, const std::string& t) {
                                f.protocols.push_back(parse_protocol(e, t));
                            });
    if (const json* v = find_field(object, "tcpFlags"))
        f.tcp_flags = uint8_t(read_unsigned(*v, field_path(target, "tcpFlags"), 0xff));
    if (const json* v = find_field(object, "bidirectional"))
        f.bidirectional = read_bool(*v, field_path(target, "bidirectional"));
    return draft;
}

// ---- Network Watcher filters ----

// "80;443; 8000-8080;" → {"80", "443", "8000-8080"}: one trailing ';' (with spaces) is
// allowed, an empty entry anywhere else is a mistake worth reporting.
std::vector<std::string> split_entries(const std::string& text, const std::string& target,
                                       const SpecLimits& limits) {
    std::vector<std::string> entries;
    size_t start = 0;
    for (;;) {
        const size_t separator = text.find(';', start);
        const bool last = separator == std::string::npos;
        std::string entry = trim_spaces(std::string_view(text).substr(
            start, last ? std::string::npos : separator - start));
        if (entry.empty()) {
            if (last && !entries.empty()) break;  // the trailing ';'
            throw FieldError(target, last ? "must not be empty; leave the field out to match any"
                                          : "has an empty entry between ';' separators in " +
                                                in_quotes(text));
        }
        entries.push_back(std::move(entry));
        if (last) break;
        start = separator + 1;
    }
    if (entries.size() > limits.max_list_items)
        throw FieldError(target, "has " + std::to_string(entries.size()) +
                                     " entries; the limit is " +
                                     std::to_string(limits.max_list_items));
    return entries;
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Local/remote are mapped to source/destination; since a Network Watcher filter matches
// both directions by nature, the translated filter is always bidirectional.
FilterDraft read_network_watcher_filter(const json& object, const std::string& target,
                                        const SpecLimits& limits) {
    require_known_keys(object, target, kNetworkWatcherFilterKeys);
    FilterDraft draft;
    auto& f = draft.filter;
    f.bidirectional = true;
    if (const json* v = find_field(object, "protocol")) {
        const std::string t = field_path(target, "protocol");
        const std::string name = lowercase(trim_spaces(read_string(*v, t)));
        if (name == "tcp")
            f.protocols.push_back(6);
        else if (name == "udp")
            f.protocols.push_back(17);
        else if (name != "any")
            throw FieldError(t, "must be TCP, UDP or Any, got " + shown(*v));
    }
    auto addresses = [&](const char* key, auto& ranges, auto& texts) {
        if (const json* v = find_field(object, key)) {
            const std::string t = field_path(target, key);
            for (const auto& entry : split_entries(read_string(*v, t), t, limits))
                add_address(entry, t, ranges, texts);
        }
    };
    auto ports = [&](const char* key, std::vector<dataplane::PortRange>& out) {
        if (const json* v = find_field(object, key)) {
            const std::string t = field_path(target, key);
            for (const auto& entry : split_entries(read_string(*v, t), t, limits))
                out.push_back(parse_port_range(json(entry), t));
        }
    };
    addresses("localIPAddress", f.source, draft.source_texts);
    addresses("remoteIPAddress", f.destination, draft.destination_texts);
    ports("localPort", f.source_ports);
    ports("remotePort", f.destination_ports);
    return draft;
}

// ---- VPN-gateway FilterData filters ----

FilterDraft read_vpn_gateway_filter(const json& object, const std::string& target,
                                    const SpecLimits& limits) {
    require_known_keys(object, target, kVpnGatewayFilterKeys);
    FilterDraft draft;
    auto& f = draft.filter;
    auto subnets = [&](const char* key, auto& ranges, auto& texts) {
        if (const json* v = find_field(object, key))
            for_each_scalar_or_list_entry(*v, field_path(target, key), limits,
                                          [&](const json& e, const std::string& t) {
                                              add_address(read_string(e, t), t, ranges, texts);
                                          });
    };
    auto ports = [&](const char* key, std::vector<dataplane::PortRange>& out) {
        if (const json* v = find_field(object, key))
            for_each_scalar_or_list_entry(*v, field_path(target, key), limits,
                                          [&](const json& e, const std::string& t) {
                                              out.push_back(parse_port_range(e, t));
                                          });
    };
    subnets("SourceSubnets", f.source, draft.source_texts);
    subnets("DestinationSubnets", f.destination, draft.destination_texts);
    ports("SourcePort", f.source_ports);
    ports("DestinationPort", f.destination_ports);
    if (const json* v = find_field(object, "Protocol"))
        for_each_scalar_or_list_entry(*v, field_path(target, "Protocol"), limits,
                                      [&](const json& e, const std::string& t) {
                                          f.protocols.push_back(parse_protocol(e, t));
                                      });
    if (const json* v = find_field(object, "TcpFlags")) {
        // The gateway writes -1 for "no flag constraint", which canonical spells 0.
        const bool no_constraint =
            v->is_number_integer() && !v->is_number_unsigned() && v->get<int64_t>() == -1;
        f.tcp_flags = no_constraint
                          ? 0
                          : uint8_t(read_unsigned(*v, field_path(target, "TcpFlags"), 0xff));
    }
    if (const json* v = find_field(object, "CaptureSingleDirectionTrafficOnly"))
        f.bidirectional =
            !read_bool(*v, field_path(target, "CaptureSingleDirectionTrafficOnly"));
    return draft;
}

}  // namespace

// ---- Messages ----

namespace {

constexpr size_t kShownLength = 60;

// Like dump(), but stops once `out` is longer than kShownLength: a value nested
// thousands of levels deep (a hostile body) must not recurse that deep, and the message
// only ever shows the first 60 characters. Every level adds at least one character, so
// the recursion is at most ~60 levels deep.
void render_bounded(const json& value, std::string& out) {
    if (out.size() > kShownLength) return;
    if (value.is_array()) {
        out += '[';
        bool first = true;
        for (const auto& element : value) {
            if (out.size() > kShownLength) return;
            if (!first) out += ',';
            first = false;
            render_bounded(element, out);
        }
        out += ']';
    } else if (value.is_object()) {
        out += '{';
        bool first = true;
        for (const auto& [key, element] : value.items()) {
            if (out.size() > kShownLength) return;
            if (!first) out += ',';
            first = false;
            out += json(key).dump(-1, ' ', false, json::error_handler_t::replace);
            out += ':';
            render_bounded(element, out);
        }
        out += '}';
    } else {
        // `replace` because a string built outside a JSON parser (YAML) may hold bytes
        // that are not UTF-8, and dump() must not throw while reporting an error.
        out += value.dump(-1, ' ', false, json::error_handler_t::replace);
    }
}

}  // namespace

// The cut lands on a character boundary so that the message stays valid UTF-8 for the
// JSON error body.
std::string shown(const json& value) {
    std::string text;
    render_bounded(value, text);
    if (text.size() <= kShownLength) return text;
    size_t cut = 57;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
    return text.substr(0, cut) + "...";
}

std::string in_quotes(std::string_view text) { return shown(json(std::string(text))); }

// ---- Field readers ----

uint64_t read_unsigned(const json& value, const std::string& target, uint64_t max) {
    const auto fail = [&]() -> uint64_t {
        throw FieldError(target, "must be an integer from 0 to " + std::to_string(max) +
                                     ", got " + shown(value));
    };
    if (value.is_number_unsigned()) {
        const auto n = value.get<uint64_t>();
        return n <= max ? n : fail();
    }
    if (value.is_number_integer()) {  // a signed JSON integer: from C++ code or a YAML "-1"
        const auto n = value.get<int64_t>();
        return n >= 0 && uint64_t(n) <= max ? uint64_t(n) : fail();
    }
    return fail();
}

const std::string& read_string(const json& value, const std::string& target) {
    if (!value.is_string()) throw FieldError(target, "must be a string, got " + shown(value));
    return value.get_ref<const std::string&>();
}

bool read_bool(const json& value, const std::string& target) {
    if (!value.is_boolean())
        throw FieldError(target, "must be true or false, got " + shown(value));
    return value.get<bool>();
}

const json::array_t& read_list(const json& value, const std::string& target,
                               const SpecLimits& limits) {
    if (!value.is_array()) throw FieldError(target, "must be a list, got " + shown(value));
    if (value.size() > limits.max_list_items)
        throw FieldError(target, "has " + std::to_string(value.size()) +
                                     " entries; the limit is " +
                                     std::to_string(limits.max_list_items));
    return value.get_ref<const json::array_t&>();
}

uint32_t read_tracing_flags(const json& value, const std::string& target) {
    const bool non_negative_integer =
        value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
    if (!non_negative_integer ||
        (value.get<uint64_t>() & ~uint64_t(dataplane::kAllTracingFlags)) != 0)
        throw FieldError(target, "must be an OR of ESP=1, IKE=2 and OpenVPN=8 (0 to 11), got " +
                                     shown(value));
    return uint32_t(value.get<uint64_t>());
}

uint32_t read_snap_length(const json& value, const std::string& target) {
    return uint32_t(read_unsigned(value, target, dataplane::kMaxCapturedLength));
}

void require_known_keys(const json& object, const std::string& target,
                        std::span<const std::string_view> known, bool allow_name) {
    if (!object.is_object())
        throw FieldError(target, "must be an object, got " + shown(object));
    for (const auto& [key, value] : object.items())
        if (!contains(known, key) && !(allow_name && key == "name"))
            throw FieldError(field_path(target, key), "unknown field");
}

std::string trim_spaces(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

// ---- Dialects ----

Dialect detect_dialect(const json& body) {
    if (!body.is_object()) return Dialect::Canonical;
    if (body.contains("properties")) return Dialect::NetworkWatcher;
    for (const auto key : kVpnGatewayBodyKeys)
        if (body.contains(key)) return Dialect::VpnGateway;
    return Dialect::Canonical;
}

const char* dialect_name(Dialect dialect) {
    switch (dialect) {
    case Dialect::NetworkWatcher: return "networkWatcher";
    case Dialect::VpnGateway: return "vpnGateway";
    case Dialect::Canonical: break;
    }
    return "canonical";
}

FilterDraft read_filter(const json& filter, const std::string& target, const SpecLimits& limits) {
    if (!filter.is_object())
        throw FieldError(target, "must be an object, got " + shown(filter));
    std::string canonical_key, network_watcher_key;
    for (const auto& [key, value] : filter.items()) {
        if (canonical_key.empty() && contains(kCanonicalFilterKeys, key)) canonical_key = key;
        if (network_watcher_key.empty() && contains(kNetworkWatcherFilterKeys, key))
            network_watcher_key = key;
    }
    if (!canonical_key.empty() && !network_watcher_key.empty())
        throw FieldError(target, "mixes the Network Watcher key " + in_quotes(network_watcher_key) +
                                     " with the canonical key " + in_quotes(canonical_key) +
                                     "; write each filter in one style");
    return network_watcher_key.empty() ? read_canonical_filter(filter, target, limits)
                                       : read_network_watcher_filter(filter, target, limits);
}

std::vector<FilterDraft> read_filters(const json& list, const std::string& target,
                                      const SpecLimits& limits) {
    check_filter_count(list, target, limits);
    std::vector<FilterDraft> filters;
    for (size_t i = 0; i < list.size(); ++i)
        filters.push_back(read_filter(list[i], field_path(target, i), limits));
    return filters;
}

// The Network Watcher ARM body, mapped onto DESIGN §2.1:
//   bytesToCapturePerPacket, totalBytesPerSession, timeLimitInSeconds → the same fields
//   captureSettings.sessionTimeLimitInSeconds → timeLimitInSeconds (a different value in
//                                               both places is an error)
//   captureSettings.fileSizeInBytes            → fileSizeInBytes (rotation size)
//   continuousCapture true  → a ring buffer: fileCount = captureSettings.fileCount, and
//                             totalBytesPerSession = 0 unless given, because a ring
//                             buffer is meant to run until the time limit or a stop
//   continuousCapture false, null or absent → fileCount = 0 (keep every file), and the
//                             capture stops once the files are full:
//                             totalBytesPerSession = fileCount × fileSizeInBytes unless
//                             given. When either is missing or 0 the product would read
//                             as "no limit", so the default limit stays instead.
//   target, targetType, scope, storageLocation, storageSettings → ignored, reported
//   storageLocation.storagePath with a SAS query → storage.uploadUrl (docs/storage.md)
SpecDraft read_network_watcher_body(const json& body, const SpecLimits& limits,
                                    bool allow_name) {
    require_known_keys(body, "", kArmBodyKeys, allow_name);
    const std::string prefix = "properties";
    const json& properties = body.at(prefix);
    require_known_keys(properties, prefix, kArmPropertiesKeys);
    const auto path = [&](std::string_view key) { return field_path(prefix, std::string(key)); };

    SpecDraft draft;
    draft.filters_target = path("filters");
    // storageLocation.storagePath with a SAS query is somewhere trawl can upload to:
    // it becomes the session's storage.uploadUrl, and only the sub-fields that mean
    // nothing here (storageId, filePath, ...) are reported as ignored. A path without
    // a query (the plain blob URL Azure itself fills in) stays ignored, as before.
    bool storage_used = false;
    if (const json* location = find_field(properties, "storageLocation"); location && location->is_object()) {
        const json* storage_path = find_field(*location, "storagePath");
        if (storage_path && storage_path->is_string() &&
            storage_path->get_ref<const std::string&>().find('?') != std::string::npos) {
            const std::string location_path = path("storageLocation");
            validate_upload_url(*storage_path, field_path(location_path, "storagePath"));
            draft.storage = StorageSpec{storage_path->get<std::string>(), false};
            storage_used = true;
            for (const auto& [key, value] : location->items())
                if (key != "storagePath") draft.ignored_fields.push_back(field_path(location_path, key));
        }
    }
    for (const auto key : kIgnoredArmProperties)
        if (properties.contains(key) && !(storage_used && key == "storageLocation"))
            draft.ignored_fields.push_back(path(key));

    if (const json* v = find_field(properties, "bytesToCapturePerPacket"))
        draft.bytes_to_capture_per_packet = read_snap_length(*v, path("bytesToCapturePerPacket"));
    if (const json* v = find_field(properties, "totalBytesPerSession"))
        draft.total_bytes_per_session = read_unsigned(*v, path("totalBytesPerSession"), kMaxCount);
    if (const json* v = find_field(properties, "timeLimitInSeconds"))
        draft.time_limit_seconds =
            read_unsigned(*v, path("timeLimitInSeconds"), kMaxTimeLimitSeconds);
    if (const json* v = find_field(properties, "filters"))
        draft.filters = read_filters(*v, draft.filters_target, limits);

    std::optional<uint64_t> file_count, file_size;
    if (const json* settings = find_field(properties, "captureSettings")) {
        const std::string settings_path = path("captureSettings");
        require_known_keys(*settings, settings_path, kCaptureSettingsKeys);
        const auto setting_path = [&](std::string_view key) {
            return field_path(settings_path, std::string(key));
        };
        if (const json* v = find_field(*settings, "fileCount"))
            file_count = read_unsigned(*v, setting_path("fileCount"), kMaxFileCount);
        if (const json* v = find_field(*settings, "fileSizeInBytes"))
            file_size = read_unsigned(*v, setting_path("fileSizeInBytes"), kMaxCount);
        if (const json* v = find_field(*settings, "sessionTimeLimitInSeconds")) {
            const std::string t = setting_path("sessionTimeLimitInSeconds");
            const uint64_t seconds = read_unsigned(*v, t, kMaxTimeLimitSeconds);
            if (draft.time_limit_seconds && *draft.time_limit_seconds != seconds)
                throw FieldError(t, std::to_string(seconds) + " conflicts with " +
                                        path("timeLimitInSeconds") + " " +
                                        std::to_string(*draft.time_limit_seconds));
            draft.time_limit_seconds = seconds;
        }
    }

    bool continuous = false;
    if (const json* v = find_field(properties, "continuousCapture"); v && !v->is_null())
        continuous = read_bool(*v, path("continuousCapture"));

    draft.file_size_bytes = file_size;
    if (continuous) {
        draft.file_count = file_count;
        if (!draft.total_bytes_per_session) draft.total_bytes_per_session = 0;
    } else {
        draft.file_count = 0;
        if (!draft.total_bytes_per_session && file_count.value_or(0) != 0 &&
            file_size.value_or(0) != 0) {
            if (*file_size > kMaxCount / *file_count)
                throw FieldError(path("captureSettings"),
                                 "fileCount × fileSizeInBytes is more than 2^62 bytes");
            draft.total_bytes_per_session = *file_count * *file_size;
        }
    }
    return draft;
}

// VPN-gateway FilterData: MaxPacketBufferSize is the snap length; MaxFileSize (MiB) is the
// size of each file of a ring buffer that keeps defaults.vpn_file_count files, since the
// gateway format has no file count of its own.
SpecDraft read_vpn_gateway_body(const json& body, const SpecDefaults& defaults,
                                const SpecLimits& limits, bool allow_name) {
    require_known_keys(body, "", kVpnGatewayBodyKeys, allow_name);
    SpecDraft draft;
    draft.filters_target = "Filters";
    if (const json* v = find_field(body, "TracingFlags"))
        draft.tracing_flags = read_tracing_flags(*v, "TracingFlags");
    if (const json* v = find_field(body, "MaxPacketBufferSize"))
        draft.bytes_to_capture_per_packet = read_snap_length(*v, "MaxPacketBufferSize");
    if (const json* v = find_field(body, "MaxFileSize")) {
        draft.file_size_bytes = read_unsigned(*v, "MaxFileSize", kMaxCount / kBytesPerMiB) *
                                kBytesPerMiB;
        draft.file_count = defaults.vpn_file_count;
    }
    if (const json* v = find_field(body, "Filters")) {
        check_filter_count(*v, draft.filters_target, limits);
        for (size_t i = 0; i < v->size(); ++i)
            draft.filters.push_back(
                read_vpn_gateway_filter((*v)[i], field_path(draft.filters_target, i), limits));
    }
    return draft;
}

}  // namespace trawl::control::dialects
