// The config loader against DESIGN §3: the "Minimal config" example, every key of the
// full config read back, the defaults, YAML → JSON typing for `sessions:` items, and a
// catalogue of bad configs that must each be refused with the exact key they are about
// (STYLE 6: start-up fails fast and says why).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "control/config.hpp"
#include "control/field_error.hpp"
#include "control/session_spec.hpp"

namespace {

using nlohmann::json;
using trawl::control::Config;
using trawl::control::FieldError;
using trawl::control::load_config;
using trawl::control::parse_config;
using trawl::control::parse_session_body;
using trawl::control::ParsedSpec;
using trawl::control::yaml_to_json;
using trawl::dataplane::AclAlgorithm;
using trawl::dataplane::FileFormat;

// DESIGN §3 "Minimal config", verbatim.
constexpr const char* kMinimalConfig = R"(dpdk:
  eal: ["--no-huge", "-m", "1024", "--no-pci", "--no-shconf"]   # passed to rte_eal_init
ports:
  - device: "net_pcap0,rx_pcap=/data/in.pcap"   # a vdev string or a PCI address
    rx_queues: 1
workers: 1
writers: 1
capture:
  root: /var/lib/trawl/captures
  max_sessions: 64
api:
  listen: 127.0.0.1:9077
sessions:                      # optional; each item is a REST body plus its name
  - name: web
    filters: [{protocols: [tcp], destinationPorts: ["80", "443"]}]
    bytesToCapturePerPacket: 128
)";

// The smallest config the loader accepts; bad-config cases add one section to it.
const std::string kOnePort = "ports: [{device: net_null0}]\n";

// The FieldError a config is refused with; a config that is accepted fails the test.
FieldError config_error(const std::string& yaml) {
    try {
        parse_config(yaml);
    } catch (const FieldError& e) {
        return e;
    }
    ADD_FAILURE() << "config was accepted:\n" << yaml;
    return FieldError("<accepted>", "");
}

// A config session item through the same parser trawld starts it with.
ParsedSpec parse_config_session(const Config& c, size_t index) {
    return parse_session_body(c.sessions.at(index).body, c.capture.defaults, c.capture.limits,
                              true);
}

// ---- The DESIGN example ----

TEST(ConfigMinimal, DesignExampleMapsOntoEngineCaptureApiAndSessions) {
    const Config c = parse_config(kMinimalConfig);
    EXPECT_EQ(c.path, "<string>");
    EXPECT_EQ(c.engine.eal_args,
              (std::vector<std::string>{"--no-huge", "-m", "1024", "--no-pci", "--no-shconf"}));
    ASSERT_EQ(c.engine.ports.size(), 1u);
    EXPECT_EQ(c.engine.ports[0].device, "net_pcap0,rx_pcap=/data/in.pcap");
    EXPECT_EQ(c.engine.ports[0].rx_queues, 1u);
    EXPECT_EQ(c.engine.workers, 1u);
    EXPECT_EQ(c.engine.writers, 1u);
    EXPECT_EQ(c.capture.root, "/var/lib/trawl/captures");
    EXPECT_EQ(c.capture.max_sessions, 64u);
    EXPECT_EQ(c.api.listen, "127.0.0.1:9077");
    EXPECT_EQ(c.api.host, "127.0.0.1");
    EXPECT_EQ(c.api.port, 9077);
    EXPECT_TRUE(c.api.loopback);
    EXPECT_EQ(c.api.token_file, "");

    ASSERT_EQ(c.sessions.size(), 1u);
    EXPECT_EQ(c.sessions[0].name, "web");
    EXPECT_EQ(c.sessions[0].key, "sessions[0]");
    // The item as JSON: quoted ports stay strings, the plain snap length is a number.
    EXPECT_EQ(c.sessions[0].body, json::parse(R"({"name":"web",
        "filters":[{"protocols":["tcp"],"destinationPorts":["80","443"]}],
        "bytesToCapturePerPacket":128})"));

    const ParsedSpec parsed = parse_config_session(c, 0);
    EXPECT_EQ(parsed.dialect, "canonical");
    EXPECT_EQ(parsed.spec.bytes_to_capture_per_packet, 128u);
    EXPECT_EQ(parsed.spec.canonical["filters"], json::parse(R"([{
        "sourceSubnets":[],"destinationSubnets":[],"sourcePorts":[],
        "destinationPorts":["80","443"],"protocols":["tcp"],"tcpFlags":0,
        "bidirectional":true}])"));
    EXPECT_EQ(parsed.spec.canonical["bytesToCapturePerPacket"], 128);
}

// conf/demo.yaml, found from the working directory or the test binary upwards (the
// build directory usually sits inside the source tree); empty when neither leads there.
std::string find_demo_config() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (fs::path start : {fs::current_path(ec), fs::read_symlink("/proc/self/exe", ec)}) {
        for (fs::path dir = start; !dir.empty(); dir = dir.parent_path()) {
            if (fs::exists(dir / "control" / "config.hpp") && fs::exists(dir / "conf" / "demo.yaml"))
                return (dir / "conf" / "demo.yaml").string();
            if (dir == dir.parent_path()) break;
        }
    }
    return {};
}

TEST(ConfigMinimal, ShippedDemoConfigLoadsFromItsFile) {
    // conf/demo.yaml is what scripts/demo.sh runs: it must stay loadable, all three dialects.
    const std::string path = find_demo_config();
    ASSERT_FALSE(path.empty()) << "conf/demo.yaml not found above the working directory or binary";
    const Config c = load_config(path);
    EXPECT_EQ(c.path, path);
    ASSERT_EQ(c.sessions.size(), 3u);
    EXPECT_EQ(parse_config_session(c, 0).dialect, "canonical");
    // "dns" is a canonical body whose filter is written Network Watcher style.
    const ParsedSpec dns = parse_config_session(c, 1);
    EXPECT_EQ(dns.dialect, "canonical");
    ASSERT_EQ(dns.spec.filters.size(), 1u);
    EXPECT_EQ(dns.spec.filters[0].protocols, (std::vector<uint8_t>{17}));
    EXPECT_EQ(dns.spec.format, FileFormat::Pcapng);
    EXPECT_EQ(parse_config_session(c, 2).dialect, "vpnGateway");
}

// ---- Every key read back ----

constexpr const char* kFullConfig = R"(
dpdk:
  eal: ["--no-pci", "--file-prefix=full", "-l", "0-3", 1024]
  hugepages: "no"
  memory_mb: 2048
  mbufs_per_port: 131071
  mbuf_cache: 128
ports:
  - device: "0000:03:00.0"
    rx_queues: 4
    rx_descriptors: 2048
    rss: false
    mtu: 9000
    timestamps: tsc
  - device: "net_pcap0,rx_pcap=/data/a.pcap,rx_pcap=/data/b.pcap"
    rx_queues: 2
workers: 6
writers: 3
dataplane:
  ring_size: 16384
  burst_size: 64
  writer_burst_size: 128
  worker_idle_sleep_us: 5
  writer_idle_sleep_us: 50
classifier:
  algorithm: avx2
  max_rules: 50000
capture:
  root: /srv/trawl
  max_sessions: 8
  max_stored_sessions: 100
  write_buffer_bytes: 4194304
  flush_interval_ms: 1000
  defaults:
    bytesToCapturePerPacket: 256
    totalBytesPerSession: 5000000
    timeLimitInSeconds: 600
    maxPackets: 1000
    fileSizeInBytes: 1000000
    fileCount: 5
    vpnFileCount: 3
    format: pcapng
  limits:
    max_filters: 10
    max_list_items: 20
    max_rules_per_session: 30000
    max_payload_patterns: 4
    max_pattern_length: 100
api:
  listen: "[::1]:8080"
  token_file: /etc/trawl/token
  max_body_bytes: 65536
  threads: 2
log_level: debug
sessions:
  - name: all-defaults
  - name: vpn
    TracingFlags: 1
    MaxFileSize: 2
  - name: own-values
    bytesToCapturePerPacket: 64
    format: pcap
    fileCount: 0
)";

TEST(ConfigFull, EveryEngineKeyIsReadBack) {
    const Config c = parse_config(kFullConfig);
    const auto& e = c.engine;
    EXPECT_EQ(e.eal_args,
              (std::vector<std::string>{"--no-pci", "--file-prefix=full", "-l", "0-3", "1024"}));
    EXPECT_EQ(e.hugepages, "no");
    EXPECT_EQ(e.memory_mb, 2048u);
    EXPECT_EQ(e.mbufs_per_port, 131071u);
    EXPECT_EQ(e.mbuf_cache, 128u);
    ASSERT_EQ(e.ports.size(), 2u);
    EXPECT_EQ(e.ports[0].device, "0000:03:00.0");
    EXPECT_EQ(e.ports[0].rx_queues, 4u);
    EXPECT_EQ(e.ports[0].rx_descriptors, 2048u);
    EXPECT_FALSE(e.ports[0].rss);
    EXPECT_EQ(e.ports[0].mtu, 9000u);
    EXPECT_EQ(e.ports[0].timestamps, "tsc");
    // The second port sets only device and queues: the rest keeps its defaults.
    EXPECT_EQ(e.ports[1].device, "net_pcap0,rx_pcap=/data/a.pcap,rx_pcap=/data/b.pcap");
    EXPECT_EQ(e.ports[1].rx_queues, 2u);
    EXPECT_EQ(e.ports[1].rx_descriptors, 1024u);
    EXPECT_TRUE(e.ports[1].rss);
    EXPECT_EQ(e.ports[1].mtu, 0u);
    EXPECT_EQ(e.ports[1].timestamps, "auto");
    EXPECT_EQ(e.workers, 6u);
    EXPECT_EQ(e.writers, 3u);
    EXPECT_EQ(e.ring_size, 16384u);
    EXPECT_EQ(e.burst_size, 64u);
    EXPECT_EQ(e.writer_burst_size, 128u);
    EXPECT_EQ(e.worker_idle_sleep_us, 5u);
    EXPECT_EQ(e.writer_idle_sleep_us, 50u);
    EXPECT_EQ(e.classifier.algorithm, AclAlgorithm::Avx2);
    EXPECT_EQ(e.classifier.max_rules, 50000u);
    EXPECT_EQ(c.log_level, "debug");
}

TEST(ConfigFull, EveryCaptureAndApiKeyIsReadBack) {
    const Config c = parse_config(kFullConfig);
    const auto& cap = c.capture;
    EXPECT_EQ(cap.root, "/srv/trawl");
    EXPECT_EQ(cap.max_sessions, 8u);
    EXPECT_EQ(cap.max_stored_sessions, 100u);
    EXPECT_EQ(cap.write_buffer_bytes, 4194304u);
    EXPECT_EQ(cap.flush_interval_ms, 1000u);
    EXPECT_EQ(cap.defaults.bytes_to_capture_per_packet, 256u);
    EXPECT_EQ(cap.defaults.total_bytes_per_session, 5000000u);
    EXPECT_EQ(cap.defaults.time_limit_seconds, 600u);
    EXPECT_EQ(cap.defaults.max_packets, 1000u);
    EXPECT_EQ(cap.defaults.file_size_bytes, 1000000u);
    EXPECT_EQ(cap.defaults.file_count, 5u);
    EXPECT_EQ(cap.defaults.vpn_file_count, 3u);
    EXPECT_EQ(cap.defaults.format, FileFormat::Pcapng);
    EXPECT_EQ(cap.limits.max_filters, 10u);
    EXPECT_EQ(cap.limits.max_list_items, 20u);
    EXPECT_EQ(cap.limits.max_rules_per_session, 30000u);  // below classifier.max_rules
    EXPECT_EQ(cap.limits.max_payload_patterns, 4u);
    EXPECT_EQ(cap.limits.max_pattern_length, 100u);

    EXPECT_EQ(c.api.listen, "[::1]:8080");
    EXPECT_EQ(c.api.host, "::1");
    EXPECT_EQ(c.api.port, 8080);
    EXPECT_TRUE(c.api.loopback);
    EXPECT_EQ(c.api.token_file, "/etc/trawl/token");
    EXPECT_EQ(c.api.max_body_bytes, 65536u);
    EXPECT_EQ(c.api.threads, 2u);
}

TEST(ConfigFull, SessionsTakeCaptureDefaultsUnlessTheySetTheirOwn) {
    const Config c = parse_config(kFullConfig);
    ASSERT_EQ(c.sessions.size(), 3u);
    EXPECT_EQ(c.sessions[2].key, "sessions[2]");

    const auto defaults = parse_config_session(c, 0).spec;
    EXPECT_EQ(defaults.bytes_to_capture_per_packet, 256u);
    EXPECT_EQ(defaults.total_bytes_per_session, 5000000u);
    EXPECT_EQ(defaults.time_limit_seconds, 600u);
    EXPECT_EQ(defaults.max_packets, 1000u);
    EXPECT_EQ(defaults.file_size_bytes, 1000000u);
    EXPECT_EQ(defaults.file_count, 5u);
    EXPECT_EQ(defaults.format, FileFormat::Pcapng);

    // VPN FilterData: MaxFileSize MiB, a ring buffer of capture.defaults.vpnFileCount files.
    const ParsedSpec vpn = parse_config_session(c, 1);
    EXPECT_EQ(vpn.dialect, "vpnGateway");
    EXPECT_EQ(vpn.spec.tracing_flags, 1u);
    EXPECT_EQ(vpn.spec.file_size_bytes, 2u << 20);
    EXPECT_EQ(vpn.spec.file_count, 3u);

    const auto own = parse_config_session(c, 2).spec;
    EXPECT_EQ(own.bytes_to_capture_per_packet, 64u);
    EXPECT_EQ(own.format, FileFormat::Pcap);
    EXPECT_EQ(own.file_count, 0u);
    EXPECT_EQ(own.max_packets, 1000u);
}

TEST(ConfigFull, EveryClassifierAlgorithmName) {
    const std::vector<std::pair<std::string, AclAlgorithm>> names = {
        {"default", AclAlgorithm::Default}, {"scalar", AclAlgorithm::Scalar},
        {"sse", AclAlgorithm::Sse},         {"avx2", AclAlgorithm::Avx2},
        {"avx512x16", AclAlgorithm::Avx512x16}, {"avx512x32", AclAlgorithm::Avx512x32}};
    for (const auto& [name, algorithm] : names) {
        const Config c = parse_config(kOnePort + "classifier: {algorithm: " + name + "}\n");
        EXPECT_EQ(c.engine.classifier.algorithm, algorithm) << name;
    }
}

TEST(ConfigFull, ClassifierMaxRulesCapsTheRulesOfOneSession) {
    const Config c = parse_config(kOnePort + "classifier: {max_rules: 500}\n");
    EXPECT_EQ(c.capture.limits.max_rules_per_session, 500u);
    // A session that expands beyond the cap is refused at load time.
    const FieldError e = config_error(kOnePort + R"(classifier: {max_rules: 2}
sessions:
  - name: wide
    filters: [{destinationPorts: [1, 2, 3]}]
)");
    EXPECT_EQ(e.target(), "sessions[0].filters");
    EXPECT_NE(std::string(e.what()).find("limit is 2"), std::string::npos) << e.what();
}

TEST(ConfigFull, UpperBoundsAreAccepted) {
    const Config c = parse_config(R"(
ports: [{device: net_null0, rx_queues: 1024, rx_descriptors: 65535, mtu: 65535}]
workers: 32
writers: 16
dataplane: {ring_size: 16777216, burst_size: 256, writer_burst_size: 256}
dpdk: {mbuf_cache: 512, mbufs_per_port: 1024}
capture:
  max_sessions: 64
  max_stored_sessions: 64
  write_buffer_bytes: 65536
  defaults: {bytesToCapturePerPacket: 262144}
api: {listen: "127.0.0.1:65535", threads: 256, max_body_bytes: 1024}
)");
    EXPECT_EQ(c.engine.ports[0].rx_queues, 1024u);
    EXPECT_EQ(c.engine.workers, 32u);
    EXPECT_EQ(c.engine.writers, 16u);
    EXPECT_EQ(c.engine.ring_size, 16777216u);
    EXPECT_EQ(c.engine.burst_size, 256u);
    EXPECT_EQ(c.engine.mbuf_cache, 512u);
    EXPECT_EQ(c.engine.mbufs_per_port, 1024u);
    EXPECT_EQ(c.capture.max_sessions, 64u);
    EXPECT_EQ(c.capture.write_buffer_bytes, 65536u);
    EXPECT_EQ(c.capture.defaults.bytes_to_capture_per_packet, 262144u);
    EXPECT_EQ(c.api.port, 65535);
    EXPECT_EQ(c.api.threads, 256u);
}

TEST(ConfigFull, WorkersMayUseQueuesOfSeveralPorts) {
    const Config c = parse_config(R"(
ports: [{device: a, rx_queues: 2}, {device: b, rx_queues: 1}]
workers: 3
)");
    EXPECT_EQ(c.engine.workers, 3u);
}

// ---- Defaults ----

TEST(ConfigDefaults, AbsentKeysKeepTheDocumentedDefaults) {
    const Config c = parse_config(kOnePort);
    const auto& e = c.engine;
    EXPECT_TRUE(e.eal_args.empty());
    EXPECT_EQ(e.hugepages, "auto");
    EXPECT_EQ(e.memory_mb, 1024u);
    EXPECT_EQ(e.mbufs_per_port, 65535u);
    EXPECT_EQ(e.mbuf_cache, 256u);
    ASSERT_EQ(e.ports.size(), 1u);
    EXPECT_EQ(e.ports[0].device, "net_null0");
    EXPECT_EQ(e.ports[0].rx_queues, 1u);
    EXPECT_EQ(e.ports[0].rx_descriptors, 1024u);
    EXPECT_TRUE(e.ports[0].rss);
    EXPECT_EQ(e.ports[0].mtu, 0u);
    EXPECT_EQ(e.ports[0].timestamps, "auto");
    EXPECT_EQ(e.workers, 1u);
    EXPECT_EQ(e.writers, 1u);
    EXPECT_EQ(e.ring_size, 4096u);
    EXPECT_EQ(e.burst_size, 32u);
    EXPECT_EQ(e.writer_burst_size, 64u);
    EXPECT_EQ(e.worker_idle_sleep_us, 0u);
    EXPECT_EQ(e.writer_idle_sleep_us, 20u);
    EXPECT_EQ(e.classifier.algorithm, AclAlgorithm::Default);
    EXPECT_EQ(e.classifier.max_rules, 200000u);

    EXPECT_EQ(c.capture.root, "/var/lib/trawl/captures");
    EXPECT_EQ(c.capture.max_sessions, 64u);
    EXPECT_EQ(c.capture.max_stored_sessions, 4096u);
    EXPECT_EQ(c.capture.write_buffer_bytes, 1u << 20);
    EXPECT_EQ(c.capture.flush_interval_ms, 250u);
    // DESIGN §2.1 defaults: whole packet, 1 GiB, 18000 s, no packet limit, one pcap file.
    EXPECT_EQ(c.capture.defaults.bytes_to_capture_per_packet, 0u);
    EXPECT_EQ(c.capture.defaults.total_bytes_per_session, 1ull << 30);
    EXPECT_EQ(c.capture.defaults.time_limit_seconds, 18000u);
    EXPECT_EQ(c.capture.defaults.max_packets, 0u);
    EXPECT_EQ(c.capture.defaults.file_size_bytes, 0u);
    EXPECT_EQ(c.capture.defaults.file_count, 0u);
    EXPECT_EQ(c.capture.defaults.vpn_file_count, 10u);
    EXPECT_EQ(c.capture.defaults.format, FileFormat::Pcap);
    EXPECT_EQ(c.capture.limits.max_filters, 256u);
    EXPECT_EQ(c.capture.limits.max_list_items, 1024u);
    EXPECT_EQ(c.capture.limits.max_rules_per_session, 100000u);
    EXPECT_EQ(c.capture.limits.max_payload_patterns, 64u);
    EXPECT_EQ(c.capture.limits.max_pattern_length, 1024u);

    EXPECT_EQ(c.api.listen, "127.0.0.1:9077");
    EXPECT_EQ(c.api.host, "127.0.0.1");
    EXPECT_EQ(c.api.port, 9077);
    EXPECT_TRUE(c.api.loopback);
    EXPECT_EQ(c.api.token_file, "");
    EXPECT_EQ(c.api.max_body_bytes, 1u << 20);
    EXPECT_EQ(c.api.threads, 8u);
    EXPECT_EQ(c.log_level, "info");
    EXPECT_TRUE(c.sessions.empty());

    EXPECT_EQ(c.storage.threads, 2u);
    EXPECT_EQ(c.storage.blob.block_size_bytes, 8u << 20);
    EXPECT_EQ(c.storage.blob.single_put_max_bytes, 32u << 20);
    EXPECT_EQ(c.storage.retry_initial_ms, 1000u);
    EXPECT_EQ(c.storage.retry_max_ms, 60000u);
    EXPECT_EQ(c.storage.retry_deadline_s, 3600u);
}

TEST(ConfigStorage, EveryKeyIsRead) {
    const Config c = parse_config(kOnePort + R"(storage:
  threads: 3
  block_size_bytes: 1048576
  single_put_max_bytes: 0
  retry_initial_ms: 100
  retry_max_ms: 2000
  retry_deadline_seconds: 30
  connect_timeout_ms: 500
  stall_timeout_seconds: 7
  max_send_bytes_per_second: 1000000
)");
    EXPECT_EQ(c.storage.threads, 3u);
    EXPECT_EQ(c.storage.blob.block_size_bytes, 1u << 20);
    EXPECT_EQ(c.storage.blob.single_put_max_bytes, 0u);
    EXPECT_EQ(c.storage.retry_initial_ms, 100u);
    EXPECT_EQ(c.storage.retry_max_ms, 2000u);
    EXPECT_EQ(c.storage.retry_deadline_s, 30u);
    EXPECT_EQ(c.storage.blob.connect_timeout_ms, 500u);
    EXPECT_EQ(c.storage.blob.stall_timeout_s, 7u);
    EXPECT_EQ(c.storage.blob.max_send_bytes_per_second, 1000000u);
}

TEST(ConfigDefaults, EmptyAndNullSectionsMeanDefaults) {
    const Config c = parse_config(kOnePort + R"(
dpdk:
dataplane: ~
classifier: {}
capture:
  root: /data/captures
  defaults:
  limits: {}
api: null
sessions: []
)");
    EXPECT_EQ(c.engine.ring_size, 4096u);
    EXPECT_EQ(c.capture.root, "/data/captures");
    EXPECT_EQ(c.capture.defaults.time_limit_seconds, 18000u);
    EXPECT_EQ(c.api.port, 9077);
    EXPECT_TRUE(c.sessions.empty());
}

TEST(ConfigDefaults, EmptyEalListClearsTheArguments) {
    EXPECT_TRUE(parse_config(kOnePort + "dpdk: {eal: []}\n").engine.eal_args.empty());
}

// ---- api.listen forms that are accepted ----

TEST(ConfigListen, LoopbackFormsNeedNoToken) {
    struct Case {
        std::string listen, host;
        uint16_t port;
    };
    for (const Case& k : std::vector<Case>{{"localhost:80", "localhost", 80},
                                           {"127.0.0.1:9077", "127.0.0.1", 9077},
                                           {"127.8.9.10:1", "127.8.9.10", 1},
                                           {"[::1]:9077", "::1", 9077}}) {
        const Config c = parse_config(kOnePort + "api: {listen: \"" + k.listen + "\"}\n");
        EXPECT_EQ(c.api.host, k.host) << k.listen;
        EXPECT_EQ(c.api.port, k.port) << k.listen;
        EXPECT_TRUE(c.api.loopback) << k.listen;
    }
}

TEST(ConfigListen, NonLoopbackIsAcceptedWithATokenFile) {
    for (const std::string listen : {"0.0.0.0:9077", "10.1.2.3:443", "[::]:9077", "[2001:db8::1]:80"}) {
        const Config c = parse_config(kOnePort + "api: {listen: \"" + listen +
                                      "\", token_file: /etc/trawl/token}\n");
        EXPECT_FALSE(c.api.loopback) << listen;
        EXPECT_EQ(c.api.token_file, "/etc/trawl/token");
    }
    const Config c = parse_config(kOnePort + "api: {listen: \"[2001:db8::1]:80\", token_file: /t}\n");
    EXPECT_EQ(c.api.host, "2001:db8::1");
    EXPECT_EQ(c.api.port, 80);
}

// ---- YAML → JSON typing (session items and trawlctl spec files) ----

TEST(ConfigYamlToJson, QuotedScalarsStayStringsPlainOnesAreTyped) {
    const json j = yaml_to_json(R"(
double_quoted: "80"
single_quoted: '80'
plain: 80
negative: -5
float: 1.5
exponent: 2.5e3
yes_true: true
no_false: false
quoted_true: "true"
yaml11_yes: yes
null_word: null
tilde: ~
empty:
quoted_null: "null"
address: 10.0.0.1
range: 8000-8080
word: tcp
list: [1, "2", x]
nested: {a: {b: [true]}}
)",
                                "test");
    EXPECT_TRUE(j["double_quoted"].is_string());
    EXPECT_EQ(j["double_quoted"], "80");
    EXPECT_EQ(j["single_quoted"], "80");
    EXPECT_TRUE(j["plain"].is_number_unsigned());
    EXPECT_EQ(j["plain"], 80);
    EXPECT_TRUE(j["negative"].is_number_integer());
    EXPECT_EQ(j["negative"].get<int64_t>(), -5);
    EXPECT_TRUE(j["float"].is_number_float());
    EXPECT_DOUBLE_EQ(j["float"].get<double>(), 1.5);
    EXPECT_TRUE(j["exponent"].is_number_float());
    EXPECT_DOUBLE_EQ(j["exponent"].get<double>(), 2500.0);
    EXPECT_EQ(j["yes_true"], true);
    EXPECT_EQ(j["no_false"], false);
    EXPECT_EQ(j["quoted_true"], "true");
    EXPECT_EQ(j["yaml11_yes"], "yes");  // only true/false are booleans, as in the config
    EXPECT_TRUE(j["null_word"].is_null());
    EXPECT_TRUE(j["tilde"].is_null());
    EXPECT_TRUE(j["empty"].is_null());
    EXPECT_EQ(j["quoted_null"], "null");
    EXPECT_EQ(j["address"], "10.0.0.1");
    EXPECT_EQ(j["range"], "8000-8080");
    EXPECT_EQ(j["word"], "tcp");
    EXPECT_EQ(j["list"], json::parse(R"([1, "2", "x"])"));
    EXPECT_EQ(j["nested"], json::parse(R"({"a":{"b":[true]}})"));
    EXPECT_EQ(j.size(), 19u);
}

TEST(ConfigYamlToJson, ScalarAndListDocuments) {
    EXPECT_EQ(yaml_to_json("80", "t"), 80);
    EXPECT_EQ(yaml_to_json("[a, 1]", "t"), json::parse(R"(["a", 1])"));
    EXPECT_TRUE(yaml_to_json("", "t").is_null());
}

TEST(ConfigYamlToJson, InvalidYamlNamesOriginAndLine) {
    try {
        yaml_to_json("name: web\nfilters: [{protocols: [tcp]}\n", "spec.yaml");
        FAIL() << "invalid YAML was accepted";
    } catch (const FieldError& e) {
        EXPECT_EQ(e.target(), "");
        const std::string what = e.what();
        EXPECT_NE(what.find("spec.yaml"), std::string::npos) << what;
        EXPECT_NE(what.find("line "), std::string::npos) << what;
    }
}

TEST(ConfigYamlToJson, DuplicateKeyIsRefusedWithItsPath) {
    try {
        yaml_to_json("filters:\n  - protocols: [tcp]\n    protocols: [udp]\n", "spec.yaml");
        FAIL() << "duplicate key was accepted";
    } catch (const FieldError& e) {
        EXPECT_EQ(e.target(), "filters[0].protocols");
    }
}

// ---- Bad configs: each names its key ----

struct BadConfig {
    std::string name;     // test name
    std::string yaml;
    std::string target;   // FieldError::target()
    std::string reason;   // a fragment of the message that says why
};

void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }

std::vector<BadConfig> bad_configs() {
    const std::string& p = kOnePort;
    const auto session = [](const std::string& body) {
        return "sessions:\n  - name: web\n" + body;
    };
    return {
        // Unknown keys, at every level.
        {"UnknownTopLevelKey", p + "wokers: 2\n", "wokers", "unknown key"},
        {"UnknownCaptureKey", p + "capture:\n  rot: /data\n", "capture.rot", "unknown key"},
        {"UnknownPortKey", "ports:\n  - device: net_null0\n    rx_queue: 2\n", "ports[0].rx_queue",
         "unknown key"},
        {"UnknownKeyInSecondPort", "ports:\n  - device: a\n  - device: b\n    speed: 10G\n",
         "ports[1].speed", "unknown key"},
        {"UnknownDpdkKey", p + "dpdk:\n  eal_args: [--no-pci]\n", "dpdk.eal_args", "unknown key"},
        {"UnknownDataplaneKey", p + "dataplane: {ring: 1024}\n", "dataplane.ring", "unknown key"},
        {"UnknownClassifierKey", p + "classifier: {algo: scalar}\n", "classifier.algo",
         "unknown key"},
        {"UnknownCaptureDefaultsKey", p + "capture:\n  defaults:\n    snapLength: 64\n",
         "capture.defaults.snapLength", "unknown key"},
        {"SnakeCaseDefaultsKeyIsUnknown", p + "capture:\n  defaults:\n    max_packets: 5\n",
         "capture.defaults.max_packets", "unknown key"},
        {"UnknownCaptureLimitsKey", p + "capture:\n  limits:\n    max_rules: 5\n",
         "capture.limits.max_rules", "unknown key"},
        {"UnknownApiKey", p + "api: {port: 9077}\n", "api.port", "unknown key"},
        {"DuplicateTopLevelKey", p + "workers: 1\nworkers: 4\n", "workers", "duplicate key"},
        {"DuplicateNestedKey", p + "capture:\n  root: /a\n  root: /b\n", "capture.root",
         "duplicate key"},

        // Wrong types and out-of-range numbers.
        {"StringForInteger", p + "workers: two\n", "workers", "expected an unsigned integer"},
        {"FloatForInteger", p + "writers: 1.5\n", "writers", "expected an unsigned integer"},
        {"HexForInteger", p + "dataplane: {ring_size: 0x1000}\n", "dataplane.ring_size",
         "expected an unsigned integer"},
        {"NegativeNumber", p + "dataplane: {burst_size: -1}\n", "dataplane.burst_size",
         "expected an unsigned integer"},
        {"MappingForInteger", "ports:\n  - device: a\n    rx_queues: {n: 1}\n",
         "ports[0].rx_queues", "expected an unsigned integer, got a mapping"},
        {"ListForMapping", p + "capture: [a, b]\n", "capture", "expected a mapping, got a list"},
        {"ScalarForMapping", p + "api: 127.0.0.1:9077\n", "api", "expected a mapping"},
        {"ListForString", p + "capture: {root: [/a]}\n", "capture.root", "expected a string"},
        {"NumberTooLarge", p + "workers: 33\n", "workers", "larger than 32"},
        {"NumberOverflowsUint64", p + "dpdk: {memory_mb: 99999999999999999999999}\n",
         "dpdk.memory_mb", "larger than"},
        {"YesIsNotABoolean", "ports: [{device: a, rss: yes}]\n", "ports[0].rss",
         "expected true or false"},
        {"EalNotAList", p + "dpdk: {eal: --no-pci}\n", "dpdk.eal", "list of EAL arguments"},
        {"EalItemNotAString", p + "dpdk: {eal: [--no-pci, {a: b}]}\n", "dpdk.eal[1]",
         "expected a string"},

        // dpdk
        {"HugepagesMaybe", p + "dpdk: {hugepages: maybe}\n", "dpdk.hugepages",
         "'maybe' is not one of: auto, yes, no"},
        {"TooFewMbufs", p + "dpdk: {mbufs_per_port: 1023}\n", "dpdk.mbufs_per_port",
         "at least 1024"},
        {"MbufCacheTooLarge", p + "dpdk: {mbuf_cache: 513}\n", "dpdk.mbuf_cache", "larger than 512"},

        // ports
        {"PortsMissing", "workers: 1\n", "ports", "at least one port"},
        {"PortsEmpty", "ports: []\n", "ports", "at least one port"},
        {"PortsAMapping", "ports:\n  device: net_null0\n", "ports", "at least one port"},
        {"PortNotAMapping", "ports: [net_null0]\n", "ports[0]", "expected a mapping"},
        {"DeviceMissing", "ports:\n  - rx_queues: 1\n", "ports[0].device", "is required"},
        {"DeviceEmpty", "ports:\n  - device: \"\"\n", "ports[0].device", "must not be empty"},
        {"DeviceNotAString", "ports:\n  - device: [a]\n", "ports[0].device", "expected a string"},
        {"RxQueuesZero", "ports:\n  - device: a\n  - device: b\n    rx_queues: 0\n",
         "ports[1].rx_queues", "at least 1"},
        {"RxQueuesTooMany", "ports: [{device: a, rx_queues: 1025}]\n", "ports[0].rx_queues",
         "larger than 1024"},
        {"TimestampsGps", "ports: [{device: a, timestamps: gps}]\n", "ports[0].timestamps",
         "not one of: auto, tsc"},

        // workers / writers / dataplane / classifier
        {"WorkersZero", p + "workers: 0\n", "workers", "at least 1"},
        {"WritersZero", p + "writers: 0\n", "writers", "at least 1"},
        {"WritersTooMany", p + "writers: 17\n", "writers", "larger than 16"},
        {"MoreWorkersThanQueues", "ports: [{device: a, rx_queues: 2}, {device: b}]\nworkers: 4\n",
         "workers", "4 workers but only 3 RX queues"},
        {"RingSizeNotPowerOfTwo", p + "dataplane: {ring_size: 100}\n", "dataplane.ring_size",
         "power of two"},
        {"RingSizeTooSmall", p + "dataplane: {ring_size: 32}\n", "dataplane.ring_size",
         "at least 64"},
        {"BurstSizeZero", p + "dataplane: {burst_size: 0}\n", "dataplane.burst_size",
         "at least 1"},
        {"BurstSizeAboveMax", p + "dataplane: {burst_size: 257}\n", "dataplane.burst_size",
         "larger than 256"},
        {"WriterBurstSizeZero", p + "dataplane: {writer_burst_size: 0}\n",
         "dataplane.writer_burst_size", "at least 1"},
        {"ClassifierAlgorithmFast", p + "classifier: {algorithm: fast}\n", "classifier.algorithm",
         "'fast' is not one of"},

        // capture
        {"CaptureRootRelative", p + "capture: {root: captures/here}\n", "capture.root",
         "absolute path"},
        {"CaptureRootEmpty", p + "capture: {root: \"\"}\n", "capture.root", "absolute path"},
        {"MaxSessionsZero", p + "capture: {max_sessions: 0}\n", "capture.max_sessions",
         "at least 1"},
        {"MaxSessionsAboveSlots", p + "capture: {max_sessions: 65}\n", "capture.max_sessions",
         "larger than 64"},
        {"StoredBelowRunning", p + "capture: {max_sessions: 10, max_stored_sessions: 9}\n",
         "capture.max_stored_sessions", "at least capture.max_sessions"},
        {"WriteBufferTooSmall", p + "capture: {write_buffer_bytes: 65535}\n",
         "capture.write_buffer_bytes", "at least 65536"},
        {"DefaultFormatCap", p + "capture: {defaults: {format: cap}}\n", "capture.defaults.format",
         "not one of: pcap, pcapng"},
        {"DefaultSnapTooLarge", p + "capture: {defaults: {bytesToCapturePerPacket: 262145}}\n",
         "capture.defaults.bytesToCapturePerPacket", "larger than 262144"},
        {"DefaultTimeLimitTooLarge", p + "capture: {defaults: {timeLimitInSeconds: 315360001}}\n",
         "capture.defaults.timeLimitInSeconds", "larger than"},

        // api
        {"ListenPortOnly", p + "api: {listen: \"9077\"}\n", "api.listen", "address:port"},
        {"ListenAddressOnly", p + "api: {listen: 1.2.3.4}\n", "api.listen", "address:port"},
        {"ListenBracketWithoutColon", p + "api: {listen: \"[::1]9077\"}\n", "api.listen",
         "[address]:port"},
        {"ListenUnbracketedIpv6", p + "api: {listen: \"::1:9077\"}\n", "api.listen",
         "address:port"},
        {"ListenPortTooLarge", p + "api: {listen: \"host:99999\"}\n", "api.listen", "bad port"},
        {"ListenPort65536", p + "api: {listen: \"127.0.0.1:65536\"}\n", "api.listen", "bad port"},
        {"ListenPortMissing", p + "api: {listen: \"127.0.0.1:\"}\n", "api.listen", "bad port"},
        {"ListenHostMissing", p + "api: {listen: \":80\"}\n", "api.listen", "address is missing"},
        {"ListenHostName", p + "api: {listen: \"not-an-ip:80\"}\n", "api.listen",
         "'not-an-ip' is not an IP address"},
        {"ListenAnyWithoutToken", p + "api: {listen: \"0.0.0.0:9077\"}\n", "api.listen",
         "api.token_file"},
        {"ListenRoutableWithoutToken", p + "api: {listen: \"10.1.2.3:9077\"}\n", "api.listen",
         "not a loopback address"},
        {"ListenIpv6AnyWithoutToken", p + "api: {listen: \"[::]:9077\"}\n", "api.listen",
         "api.token_file"},
        {"ApiThreadsZero", p + "api: {threads: 0}\n", "api.threads", "at least 1"},
        {"ApiThreadsTooMany", p + "api: {threads: 257}\n", "api.threads", "larger than 256"},
        {"ApiBodyTooSmall", p + "api: {max_body_bytes: 1023}\n", "api.max_body_bytes",
         "at least 1024"},
        {"LogLevelLoud", p + "log_level: loud\n", "log_level",
         "not one of: debug, info, warning, error"},

        // sessions
        {"SessionsNotAList", p + "sessions:\n  name: web\n", "sessions", "list of sessions"},
        {"SessionItemNotAMapping", p + "sessions: [web]\n", "sessions[0]", "expected a mapping"},
        {"SessionWithoutName", p + "sessions:\n  - filters: []\n", "sessions[0].name",
         "is required"},
        {"SessionNameNotAString", p + "sessions: [{name: web}, {name: 42}]\n", "sessions[1].name",
         "must be a string"},
        {"SessionNameInvalid", p + "sessions: [{name: ../x}]\n", "sessions[0].name",
         "contains '/'"},
        {"SessionNameDotDot", p + "sessions: [{name: \"..\"}]\n", "sessions[0].name", "'..'"},
        {"SessionNamesDuplicate", p + "sessions: [{name: web}, {name: dns}, {name: web}]\n",
         "sessions[2].name", "duplicate session name 'web'"},
        {"SessionFilterBadPort",
         p + session("    filters: [{destinationPorts: [\"70000\"]}]\n"),
         "sessions[0].filters[0].destinationPorts[0]", "is not a port"},
        {"SessionSecondFilterBadSubnet",
         p + "sessions:\n  - name: a\n  - name: b\n    filters:\n"
             "      - {protocols: [udp]}\n"
             "      - {sourceSubnets: [10.0.0.0/8, 10.0.0.0/33]}\n",
         "sessions[1].filters[1].sourceSubnets[1]", "prefix length"},
        {"SessionUnknownField", p + session("    filtres: []\n"), "sessions[0].filtres",
         "unknown field"},
        {"SessionUnknownFilterKey", p + session("    filters: [{dstPorts: [80]}]\n"),
         "sessions[0].filters[0].dstPorts", "unknown field"},
        {"SessionFormatCap", p + session("    format: cap\n"), "sessions[0].format",
         "\"pcap\" or \"pcapng\""},
        {"SessionQuotedNumberStaysAString", p + session("    bytesToCapturePerPacket: \"128\"\n"),
         "sessions[0].bytesToCapturePerPacket", "\"128\""},
        {"SessionSnapTooLarge", p + session("    bytesToCapturePerPacket: 262145\n"),
         "sessions[0].bytesToCapturePerPacket", "from 0 to 262144"},
        {"SessionVpnFlagsUnknownBit", p + "sessions: [{name: vpn, TracingFlags: 4}]\n",
         "sessions[0].TracingFlags", "OR of ESP=1, IKE=2 and OpenVPN=8"},
        {"SessionNetworkWatcherBadProtocol",
         p + session("    filters: [{protocol: ICMP, remotePort: \"53\"}]\n"),
         "sessions[0].filters[0].protocol", "TCP, UDP or Any"},
        {"SessionDuplicateKey", p + session("    maxPackets: 1\n    maxPackets: 2\n"),
         "sessions[0].maxPackets", "duplicate key"},
        {"SessionFiltersAboveConfiguredLimit",
         p + "capture: {limits: {max_filters: 1}}\n" + session("    filters: [{}, {}]\n"),
         "sessions[0].filters", "limit is 1"},
        {"TooManySessions", p + "capture: {max_sessions: 2}\nsessions: [{name: a}, {name: b}, {name: c}]\n",
         "sessions", "3 sessions exceed capture.max_sessions (2)"},
        // The upload engine (docs/storage.md).
        {"UnknownStorageKey", p + "storage: {block_size: 1048576}\n", "storage.block_size", "unknown key"},
        {"StorageBlockTooSmall", p + "storage: {block_size_bytes: 1024}\n", "storage.block_size_bytes",
         "at least 65536"},
        {"StorageBlockTooLarge", p + "storage: {block_size_bytes: 5000000000}\n", "storage.block_size_bytes",
         "larger than"},
        {"StorageNoThreads", p + "storage: {threads: 0}\n", "storage.threads", "at least 1"},
        {"StorageRetryMaxBelowInitial", p + "storage: {retry_initial_ms: 5000, retry_max_ms: 100}\n",
         "storage.retry_max_ms", "at least storage.retry_initial_ms"},
        {"StorageDeadlineNotANumber", p + "storage: {retry_deadline_seconds: 1h}\n",
         "storage.retry_deadline_seconds", "unsigned integer"},
        {"StorageCaFileMissing", p + "storage: {ca_file: /nonexistent/ca.pem}\n", "storage.ca_file", "cannot read"},
        {"SessionStorageWithoutSignature",
         p + session("    storage: {uploadUrl: \"https://a.blob.core.windows.net/c?sv=1\"}\n"),
         "sessions[0].storage.uploadUrl", "sig="},
    };
}

class ConfigRejects : public testing::TestWithParam<BadConfig> {};

TEST_P(ConfigRejects, NamingTheKey) {
    const BadConfig& bad = GetParam();
    const FieldError e = config_error(bad.yaml);
    EXPECT_EQ(e.target(), bad.target) << e.what();
    const std::string what = e.what();
    // trawld prints what(): it must start with the key, then say why.
    EXPECT_EQ(what.rfind(bad.target + ": ", 0), 0u) << what;
    EXPECT_NE(what.find(bad.reason), std::string::npos) << what;
}

INSTANTIATE_TEST_SUITE_P(ConfigBad, ConfigRejects, testing::ValuesIn(bad_configs()),
                         [](const testing::TestParamInfo<BadConfig>& info) {
                             return info.param.name;
                         });

TEST(ConfigBadDocument, CatalogueIsLargeAndNamesAreUnique) {
    const auto cases = bad_configs();
    EXPECT_GE(cases.size(), 40u);
    std::set<std::string> names;
    for (const auto& c : cases) EXPECT_TRUE(names.insert(c.name).second) << c.name;
}

TEST(ConfigBadDocument, NotAMapping) {
    for (const std::string text : {"", "- ports\n- workers\n", "just a string\n", "42\n"}) {
        const FieldError e = config_error(text);
        EXPECT_EQ(e.target(), "") << text;
        EXPECT_NE(std::string(e.what()).find("<string>: the config must be a YAML mapping"),
                  std::string::npos)
            << e.what();
    }
}

TEST(ConfigBadDocument, InvalidYamlNamesLineAndColumn) {
    const FieldError e =
        config_error("ports: [{device: a}]\nworkers: 1\napi:\n  listen: a: b\n");
    EXPECT_EQ(e.target(), "");
    const std::string what = e.what();
    EXPECT_NE(what.find("<string>: invalid YAML at line 4, column "), std::string::npos) << what;
}

TEST(ConfigBadDocument, InvalidYamlOnAnotherLine) {
    // A key indented one space short: the line must follow the text, not be a constant.
    const FieldError e =
        config_error("ports: [{device: a}]\nworkers: 1\ncapture:\n  root: /x\n root2: 1\n");
    EXPECT_NE(std::string(e.what()).find("invalid YAML at line 5,"), std::string::npos) << e.what();
}

// ---- load_config ----

class ConfigFile : public testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("trawl-test-config-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) {
        const auto path = dir_ / name;
        std::ofstream(path) << text;
        return path.string();
    }
    std::filesystem::path dir_;
};

TEST_F(ConfigFile, LoadsAndRecordsThePath) {
    const std::string path = write("trawl.yaml", kMinimalConfig);
    const Config c = load_config(path);
    EXPECT_EQ(c.path, path);
    EXPECT_EQ(c.sessions.size(), 1u);
    EXPECT_EQ(c.engine.ports[0].device, "net_pcap0,rx_pcap=/data/in.pcap");
}

TEST_F(ConfigFile, MissingFileNamesThePath) {
    const std::string path = (dir_ / "does-not-exist.yaml").string();
    try {
        load_config(path);
        FAIL() << "a missing file was accepted";
    } catch (const FieldError& e) {
        EXPECT_EQ(e.target(), "");
        const std::string what = e.what();
        EXPECT_NE(what.find("cannot read config file " + path), std::string::npos) << what;
        EXPECT_NE(what.find("No such file"), std::string::npos) << what;
    }
}

TEST_F(ConfigFile, InvalidYamlInAFileNamesThePathAndLine) {
    const std::string path = write("bad.yaml", "ports: [{device: a}]\nworkers: [1\n");
    try {
        load_config(path);
        FAIL() << "invalid YAML was accepted";
    } catch (const FieldError& e) {
        const std::string what = e.what();
        EXPECT_EQ(what.rfind(path + ": invalid YAML at line ", 0), 0u) << what;
    }
}

TEST_F(ConfigFile, KeyErrorsFromAFileNameTheKey) {
    const std::string path = write("typo.yaml", kOnePort + "capture: {rot: /x}\n");
    try {
        load_config(path);
        FAIL() << "unknown key was accepted";
    } catch (const FieldError& e) {
        EXPECT_EQ(e.target(), "capture.rot");
    }
}

}  // namespace
