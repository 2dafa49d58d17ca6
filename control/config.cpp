#include "control/config.hpp"

#include <arpa/inet.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "dataplane/session_sink.hpp"

namespace trawl::control {
namespace {

std::string describe(const YAML::Node& n) {
    if (n.IsScalar()) return "'" + n.Scalar() + "'";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return "nothing";
}

uint64_t parse_unsigned(const YAML::Node& n, const std::string& key, uint64_t max) {
    if (!n.IsScalar()) throw FieldError(key, "expected an unsigned integer, got " + describe(n));
    const std::string& s = n.Scalar();
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
        throw FieldError(key, "expected an unsigned integer, got '" + s + "'");
    errno = 0;
    const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
    if (errno == ERANGE || v > max)
        throw FieldError(key, "'" + s + "' is larger than " + std::to_string(max));
    return v;
}

bool parse_bool(const YAML::Node& n, const std::string& key) {
    if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) return n.Scalar() == "true";
    throw FieldError(key, "expected true or false, got " + describe(n));
}

std::string parse_string(const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) throw FieldError(key, "expected a string, got " + describe(n));
    return n.Scalar();
}

std::string parse_choice(const YAML::Node& n, const std::string& key,
                         std::initializer_list<const char*> choices) {
    const std::string v = parse_string(n, key);
    std::string list;
    for (const char* c : choices) {
        if (v == c) return v;
        list += list.empty() ? c : std::string(", ") + c;
    }
    throw FieldError(key, "'" + v + "' is not one of: " + list);
}

// A YAML mapping read key by key; finish() rejects keys nobody asked for.
class Section {
public:
    Section(std::optional<YAML::Node> node, std::string path)
        : node_(node ? *node : YAML::Node(YAML::NodeType::Null)), path_(std::move(path)) {
        if (!node_.IsNull() && !node_.IsMap())
            throw FieldError(path_, "expected a mapping, got " + describe(node_));
        // yaml-cpp keeps both copies of a repeated key and node[key] returns the first:
        // the later value, which the operator most likely meant, would be ignored.
        std::set<std::string> keys;
        if (node_.IsMap())
            for (const auto& kv : node_)
                if (!keys.insert(kv.first.Scalar()).second)
                    throw FieldError(key(kv.first.Scalar()), "duplicate key");
    }
    // The value of `key`, or nullopt when it is absent or null.
    std::optional<YAML::Node> get(const std::string& key) {
        seen_.insert(key);
        if (!node_ || !node_.IsMap()) return std::nullopt;
        YAML::Node v = node_[key];
        if (!v.IsDefined() || v.IsNull()) return std::nullopt;
        return v;
    }
    std::string key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }
    template <typename T>
    void read_unsigned(const std::string& k, T& out, uint64_t max = std::numeric_limits<T>::max()) {
        if (auto v = get(k)) out = T(parse_unsigned(*v, key(k), max));
    }
    void read_bool(const std::string& k, bool& out) {
        if (auto v = get(k)) out = parse_bool(*v, key(k));
    }
    void read_string(const std::string& k, std::string& out) {
        if (auto v = get(k)) out = parse_string(*v, key(k));
    }
    void finish() const {
        if (!node_ || !node_.IsMap()) return;
        for (const auto& kv : node_) {
            const std::string k = kv.first.Scalar();
            if (!seen_.count(k)) throw FieldError(key(k), "unknown key");
        }
    }

private:
    YAML::Node node_;
    std::string path_;
    std::set<std::string> seen_;
};

// YAML → JSON for session items, so they go through the same parser as REST bodies.
// Quoted scalars stay strings; plain ones become numbers, booleans or null when they
// look like one.
nlohmann::json to_json(const YAML::Node& n, const std::string& key) {
    switch (n.Type()) {
    case YAML::NodeType::Map: {
        nlohmann::json o = nlohmann::json::object();
        for (const auto& kv : n) {
            if (!kv.first.IsScalar()) throw FieldError(key, "mapping keys must be strings");
            const std::string k = kv.first.Scalar();
            if (o.contains(k)) throw FieldError(field_path(key, k), "duplicate key");
            o[k] = to_json(kv.second, field_path(key, k));
        }
        return o;
    }
    case YAML::NodeType::Sequence: {
        nlohmann::json a = nlohmann::json::array();
        size_t i = 0;
        for (const auto& item : n) a.push_back(to_json(item, key + "[" + std::to_string(i++) + "]"));
        return a;
    }
    case YAML::NodeType::Scalar: {
        const std::string& s = n.Scalar();
        if (n.Tag() == "!") return s;  // quoted
        if (s == "true") return true;
        if (s == "false") return false;
        if (s == "null" || s == "~") return nullptr;
        if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 20)
            return std::stoull(s);
        if (s.size() > 1 && s[0] == '-' && s.find_first_not_of("0123456789", 1) == std::string::npos &&
            s.size() < 20)
            return std::stoll(s);
        char* end = nullptr;
        errno = 0;
        const double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end && *end == '\0' && errno == 0 && s.find_first_of(".eE") != std::string::npos)
            return d;
        return s;
    }
    default:
        return nullptr;
    }
}

bool is_loopback(const std::string& host) {
    if (host == "localhost") return true;
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

void read_dpdk(Section s, Config& c) {
    auto& e = c.engine;
    if (auto eal_node = s.get("eal")) {
        const YAML::Node& eal = *eal_node;
        if (!eal.IsSequence()) throw FieldError(s.key("eal"), "expected a list of EAL arguments");
        e.eal_args.clear();
        size_t i = 0;
        for (const auto& a : eal) e.eal_args.push_back(parse_string(a, s.key("eal") + "[" + std::to_string(i++) + "]"));
    }
    if (auto v = s.get("hugepages")) e.hugepages = parse_choice(*v, s.key("hugepages"), {"auto", "yes", "no"});
    s.read_unsigned("memory_mb", e.memory_mb, 1u << 20);
    s.read_unsigned("mbufs_per_port", e.mbufs_per_port, 1u << 26);
    s.read_unsigned("mbuf_cache", e.mbuf_cache, 512);
    s.finish();
    if (e.mbufs_per_port < 1024) throw FieldError(s.key("mbufs_per_port"), "must be at least 1024");
}

void read_ports(const std::optional<YAML::Node>& ports, Config& c) {
    if (!ports || !ports->IsSequence() || ports->size() == 0)
        throw FieldError("ports", "at least one port is required (a PCI address or vdev string)");
    size_t i = 0;
    for (const auto& item : *ports) {
        const std::string key = "ports[" + std::to_string(i++) + "]";
        Section s(item, key);
        dataplane::PortConfig p;
        auto device = s.get("device");
        if (!device) throw FieldError(s.key("device"), "is required");
        p.device = parse_string(*device, s.key("device"));
        if (p.device.empty()) throw FieldError(s.key("device"), "must not be empty");
        s.read_unsigned("rx_queues", p.rx_queues, 1024);
        s.read_unsigned("rx_descriptors", p.rx_descriptors, 65535);
        s.read_bool("rss", p.rss);
        s.read_unsigned("mtu", p.mtu, 65535);
        if (auto v = s.get("timestamps")) p.timestamps = parse_choice(*v, s.key("timestamps"), {"auto", "tsc"});
        if (auto v = s.get("backpressure")) p.backpressure = parse_choice(*v, s.key("backpressure"), {"auto", "on", "off"});
        s.read_unsigned("mbuf_size", p.mbuf_size, 65535);
        s.finish();
        if (p.rx_queues == 0) throw FieldError(s.key("rx_queues"), "must be at least 1");
        c.engine.ports.push_back(p);
    }
}

void read_dataplane(Section s, Config& c) {
    auto& e = c.engine;
    s.read_unsigned("ring_size", e.ring_size, 1u << 24);
    s.read_unsigned("burst_size", e.burst_size, dataplane::kMaxBurst);
    s.read_unsigned("writer_burst_size", e.writer_burst_size, dataplane::kMaxBurst);
    s.read_unsigned("worker_idle_sleep_us", e.worker_idle_sleep_us, 1000000);
    s.read_unsigned("writer_idle_sleep_us", e.writer_idle_sleep_us, 1000000);
    s.finish();
    if (e.ring_size < 64 || (e.ring_size & (e.ring_size - 1)) != 0)
        throw FieldError(s.key("ring_size"), "must be a power of two of at least 64");
    if (e.burst_size == 0) throw FieldError(s.key("burst_size"), "must be at least 1");
    if (e.writer_burst_size == 0) throw FieldError(s.key("writer_burst_size"), "must be at least 1");
}

void read_classifier(Section s, Config& c) {
    auto& o = c.engine.classifier;
    if (auto v = s.get("algorithm")) {
        const std::string a = parse_choice(*v, s.key("algorithm"),
                                           {"default", "scalar", "sse", "avx2", "avx512x16", "avx512x32"});
        using A = dataplane::AclAlgorithm;
        o.algorithm = a == "scalar" ? A::Scalar : a == "sse" ? A::Sse : a == "avx2" ? A::Avx2
                    : a == "avx512x16" ? A::Avx512x16 : a == "avx512x32" ? A::Avx512x32 : A::Default;
    }
    s.read_unsigned("max_rules", o.max_rules, 10'000'000);
    s.finish();
}

void read_defaults(Section s, SpecDefaults& d) {
    s.read_unsigned("bytesToCapturePerPacket", d.bytes_to_capture_per_packet, dataplane::kMaxCapturedLength);
    s.read_unsigned("totalBytesPerSession", d.total_bytes_per_session, uint64_t(1) << 62);
    s.read_unsigned("timeLimitInSeconds", d.time_limit_seconds, 315'360'000);
    s.read_unsigned("maxPackets", d.max_packets, uint64_t(1) << 62);
    s.read_unsigned("fileSizeInBytes", d.file_size_bytes, uint64_t(1) << 62);
    s.read_unsigned("fileCount", d.file_count, 1'000'000);
    s.read_unsigned("vpnFileCount", d.vpn_file_count, 1'000'000);
    if (auto v = s.get("format"))
        d.format = parse_choice(*v, s.key("format"), {"pcap", "pcapng"}) == "pcap" ? dataplane::FileFormat::Pcap
                                                                            : dataplane::FileFormat::Pcapng;
    s.finish();
}

void read_limits(Section s, SpecLimits& l) {
    s.read_unsigned("max_filters", l.max_filters, 1'000'000);
    s.read_unsigned("max_list_items", l.max_list_items, 1'000'000);
    s.read_unsigned("max_rules_per_session", l.max_rules_per_session, 10'000'000);
    s.read_unsigned("max_payload_patterns", l.max_payload_patterns, 100'000);
    s.read_unsigned("max_pattern_length", l.max_pattern_length, 1'000'000);
    s.finish();
}

void read_capture(Section s, Config& c) {
    auto& cap = c.capture;
    s.read_string("root", cap.root);
    s.read_unsigned("max_sessions", cap.max_sessions, dataplane::kMaxSlots);
    s.read_unsigned("max_stored_sessions", cap.max_stored_sessions, 1'000'000);
    s.read_unsigned("write_buffer_bytes", cap.write_buffer_bytes, 1u << 30);
    s.read_unsigned("flush_interval_ms", cap.flush_interval_ms, 3'600'000);
    read_defaults(Section(s.get("defaults"), s.key("defaults")), cap.defaults);
    read_limits(Section(s.get("limits"), s.key("limits")), cap.limits);
    s.finish();
    if (cap.root.empty() || cap.root[0] != '/')
        throw FieldError(s.key("root"), "must be an absolute path");
    if (cap.max_sessions == 0) throw FieldError(s.key("max_sessions"), "must be at least 1");
    if (cap.max_stored_sessions < cap.max_sessions)
        throw FieldError(s.key("max_stored_sessions"), "must be at least capture.max_sessions");
    if (cap.write_buffer_bytes < (64u << 10))
        throw FieldError(s.key("write_buffer_bytes"), "must be at least 65536");
}

void read_api(Section s, Config& c) {
    auto& api = c.api;
    s.read_string("listen", api.listen);
    s.read_string("token_file", api.token_file);
    s.read_unsigned("max_body_bytes", api.max_body_bytes, 1u << 30);
    s.read_unsigned("threads", api.threads, 256);
    s.read_string("ui_dir", api.ui_dir);
    s.finish();
    parse_listen(api.listen, api, s.key("listen"));
    if (!api.loopback && api.token_file.empty())
        throw FieldError(s.key("listen"), api.listen +
                                              " is not a loopback address: set api.token_file so "
                                              "the API requires a bearer token");
    if (api.threads == 0) throw FieldError(s.key("threads"), "must be at least 1");
    if (api.max_body_bytes < 1024) throw FieldError(s.key("max_body_bytes"), "must be at least 1024");
    if (!api.ui_dir.empty() && api.ui_dir[0] != '/') throw FieldError(s.key("ui_dir"), "must be an absolute path");
}

// The upload engine (docs/storage.md). Bounds are the service's (a block of at most
// 4000 MiB, a Put Blob of at most 5000 MiB) and what keeps a retry loop sane.
void read_storage(Section s, Config& c) {
    auto& u = c.storage;
    s.read_unsigned("threads", u.threads, 64);
    s.read_unsigned("block_size_bytes", u.blob.block_size_bytes, 4000ull << 20);
    s.read_unsigned("single_put_max_bytes", u.blob.single_put_max_bytes, 5000ull << 20);
    s.read_unsigned("retry_initial_ms", u.retry_initial_ms, 3'600'000);
    s.read_unsigned("retry_max_ms", u.retry_max_ms, 86'400'000);
    s.read_unsigned("retry_deadline_seconds", u.retry_deadline_s, 30ull * 86'400);
    s.read_unsigned("connect_timeout_ms", u.blob.connect_timeout_ms, 600'000);
    s.read_unsigned("stall_timeout_seconds", u.blob.stall_timeout_s, 86'400);
    s.read_unsigned("max_send_bytes_per_second", u.blob.max_send_bytes_per_second, uint64_t(1) << 40);
    s.read_string("ca_file", u.blob.ca_file);
    s.finish();
    if (u.threads == 0) throw FieldError(s.key("threads"), "must be at least 1");
    if (u.blob.block_size_bytes < (64u << 10)) throw FieldError(s.key("block_size_bytes"), "must be at least 65536");
    if (u.retry_initial_ms == 0) throw FieldError(s.key("retry_initial_ms"), "must be at least 1");
    if (u.retry_max_ms < u.retry_initial_ms)
        throw FieldError(s.key("retry_max_ms"), "must be at least storage.retry_initial_ms (" +
                                                    std::to_string(u.retry_initial_ms) + ")");
    if (u.blob.connect_timeout_ms == 0) throw FieldError(s.key("connect_timeout_ms"), "must be at least 1");
    if (u.blob.stall_timeout_s == 0) throw FieldError(s.key("stall_timeout_seconds"), "must be at least 1");
    if (!u.blob.ca_file.empty() && ::access(u.blob.ca_file.c_str(), R_OK) != 0)
        throw FieldError(s.key("ca_file"), "cannot read " + u.blob.ca_file + ": " + std::strerror(errno));
}

void read_sessions(const std::optional<YAML::Node>& sessions, Config& c) {
    if (!sessions) return;
    const YAML::Node& node = *sessions;
    if (!node.IsSequence()) throw FieldError("sessions", "expected a list of sessions");
    std::set<std::string> names;
    size_t i = 0;
    for (const auto& item : node) {
        const std::string key = "sessions[" + std::to_string(i++) + "]";
        if (!item.IsMap()) throw FieldError(key, "expected a mapping with a name and a spec");
        ConfigSession s;
        s.key = key;
        s.body = to_json(item, key);
        if (!s.body.contains("name")) throw FieldError(key + ".name", "is required");
        if (!s.body["name"].is_string()) throw FieldError(key + ".name", "must be a string");
        s.name = s.body["name"].get<std::string>();
        try {
            validate_session_name(s.name);
            // Validate the whole spec now: a bad session fails start-up, not later.
            parse_session_body(s.body, c.capture.defaults, c.capture.limits, true);
        } catch (const FieldError& e) {
            throw FieldError(e.target().empty() ? key : key + "." + e.target(), e.message());
        }
        if (!names.insert(s.name).second) throw FieldError(key + ".name", "duplicate session name '" + s.name + "'");
        c.sessions.push_back(std::move(s));
    }
    if (c.sessions.size() > c.capture.max_sessions)
        throw FieldError("sessions", std::to_string(c.sessions.size()) + " sessions exceed capture.max_sessions (" +
                                         std::to_string(c.capture.max_sessions) + ")");
}

}  // namespace

void parse_listen(const std::string& listen, ApiConfig& api, const std::string& key) {
    std::string host, port;
    if (!listen.empty() && listen[0] == '[') {
        const auto close = listen.find(']');
        if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
            throw FieldError(key, "expected [address]:port, got '" + listen + "'");
        host = listen.substr(1, close - 1);
        port = listen.substr(close + 2);
    } else {
        const auto colon = listen.rfind(':');
        if (colon == std::string::npos || listen.find(':') != colon)
            throw FieldError(key, "expected address:port, got '" + listen + "'");
        host = listen.substr(0, colon);
        port = listen.substr(colon + 1);
    }
    if (host.empty()) throw FieldError(key, "the address is missing in '" + listen + "'");
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
        std::stoul(port) > 65535 || std::stoul(port) == 0)
        throw FieldError(key, "bad port in '" + listen + "' (1..65535)");
    in_addr a4{};
    in6_addr a6{};
    if (host != "localhost" && inet_pton(AF_INET, host.c_str(), &a4) != 1 &&
        inet_pton(AF_INET6, host.c_str(), &a6) != 1)
        throw FieldError(key, "'" + host + "' is not an IP address");
    api.host = host;
    api.port = uint16_t(std::stoul(port));
    api.loopback = is_loopback(host);
}

Config parse_config(const std::string& yaml_text, const std::string& origin) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw FieldError("", origin + ": invalid YAML at line " + std::to_string(e.mark.line + 1) +
                                 ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    if (!root.IsMap()) throw FieldError("", origin + ": the config must be a YAML mapping");
    Config c;
    c.path = origin;
    Section top(root, "");
    read_dpdk(Section(top.get("dpdk"), "dpdk"), c);
    read_ports(top.get("ports"), c);
    top.read_unsigned("workers", c.engine.workers, dataplane::kMaxWorkers);
    top.read_unsigned("writers", c.engine.writers, dataplane::kMaxWriters);
    if (c.engine.workers == 0) throw FieldError("workers", "must be at least 1");
    if (c.engine.writers == 0) throw FieldError("writers", "must be at least 1");
    read_dataplane(Section(top.get("dataplane"), "dataplane"), c);
    read_classifier(Section(top.get("classifier"), "classifier"), c);
    read_capture(Section(top.get("capture"), "capture"), c);
    // Before read_sessions: config sessions must be checked against the same limit that
    // SessionManager applies, or --check-config passes a config that fails after EAL init.
    c.capture.limits.max_rules_per_session =
        std::min<uint64_t>(c.capture.limits.max_rules_per_session, c.engine.classifier.max_rules);
    read_api(Section(top.get("api"), "api"), c);
    read_storage(Section(top.get("storage"), "storage"), c);
    if (auto v = top.get("log_level")) c.log_level = parse_choice(*v, "log_level", {"debug", "info", "warning", "error"});
    read_sessions(top.get("sessions"), c);
    top.finish();
    unsigned queues = 0;
    for (const auto& p : c.engine.ports) queues += p.rx_queues;
    if (c.engine.workers > queues)
        throw FieldError("workers", std::to_string(c.engine.workers) + " workers but only " + std::to_string(queues) +
                                        " RX queues in ports[*].rx_queues: each worker needs at least one");
    return c;
}

nlohmann::json yaml_to_json(const std::string& yaml_text, const std::string& origin) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw FieldError("", origin + ": invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    return to_json(root, "");
}

Config load_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw FieldError("", "cannot read config file " + path + ": " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), path);
}

}  // namespace trawl::control
