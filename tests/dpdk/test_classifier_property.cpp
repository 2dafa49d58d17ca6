// The compiled classifier (rte_acl RuleSet + classify_burst, exactly as a worker runs
// it) against the reference matcher (tests/reference, written from DESIGN §2.2-2.3
// alone), on random sessions and random packets.
//
// Sessions are random canonical JSON bodies. The same JSON goes through the product's
// spec parser (control/session_spec) into RuleSet::build, and through the reference's
// own parser into reference::Session: a disagreement anywhere on that path — parsing,
// rule expansion, ACL encoding, key building, rte_acl itself — shows as a mismatch.
//
// Packets are built byte by byte (VLAN tags, IPv4 options and fragments, IPv6
// extension-header chains, TCP/UDP/SCTP/ICMP/ESP/...), then many are cut short so that
// absent fields occur, plus non-IP frames and garbage. Addresses and ports are drawn
// from the same small pools as the rules so that a good share of pairs match.
//
// Seed: fixed, printed; TRAWL_PROPERTY_SEED overrides it. TRAWL_PROPERTY_PAIRS scales
// the number of (session, packet) pairs of the main test (each algorithm test runs a
// fifth of it). TRAWL_PROPERTY_VERBOSE=1 prints every rule set's size and build time.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <rte_eal.h>
#include <rte_errno.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "control/session_spec.hpp"
#include "dataplane/classify.hpp"
#include "dataplane/packet_view.hpp"
#include "dataplane/rule_expansion.hpp"
#include "dataplane/ruleset.hpp"
#include "tests/reference/reference_matcher.hpp"

namespace {

using nlohmann::json;
namespace dp = trawl::dataplane;
namespace ref = trawl::reference;
using Bytes = std::vector<uint8_t>;

// ---------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------

constexpr uint64_t kDefaultSeed = 0x7261776c2d61636cull;  // "rawl-acl"
constexpr uint64_t kDefaultPairs = 1'000'000;
// The session counts the brief asks for: one, a partial group, exactly one group, one
// more than a group, several groups with a partial one, every slot.
constexpr std::array<unsigned, 6> kSessionCounts = {1, 5, 16, 17, 40, 64};
constexpr unsigned kPacketsPerRuleSet = 768;
constexpr unsigned kMaxTestBurst = 64;
// A session expanding to more tuple rules is drawn again: rte_acl build time grows
// quickly with rule count, and variety (many rule sets) finds more than size does.
constexpr uint64_t kMaxRulesPerSession = 1200;
constexpr size_t kMismatchesShown = 5;
// Every tenth rule set holds one session of this many rules: the total then crosses the
// 2,000-rule threshold above which ruleset.cpp builds contexts on the TBB pool.
constexpr std::pair<uint64_t, uint64_t> kWideSessionRules = {2000, 6000};
constexpr unsigned kWideEvery = 10;

uint64_t env_u64(const char* name, uint64_t fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text, &end, 0);
    return (end != nullptr && *end == '\0') ? uint64_t(v) : fallback;
}

uint64_t base_seed() { return env_u64("TRAWL_PROPERTY_SEED", kDefaultSeed); }
uint64_t target_pairs() { return std::max<uint64_t>(1000, env_u64("TRAWL_PROPERTY_PAIRS", kDefaultPairs)); }

// ---------------------------------------------------------------------------------------
// EAL: once per process (a second rte_eal_init fails with EALREADY).
// ---------------------------------------------------------------------------------------

bool g_eal_ready = false;

class EalEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        // AVX-512 ACL code paths are refused unless the EAL allows 512-bit SIMD.
        std::vector<std::string> args = {
            "trawl-test", "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--no-telemetry",
            "--file-prefix=trawl-classifier-" + std::to_string(getpid()),
            "--force-max-simd-bitwidth=512", "--log-level=*:error", "-l", "0"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::printf("classifier_property: seed=0x%016" PRIx64
                    " (TRAWL_PROPERTY_SEED overrides), target pairs=%" PRIu64
                    " (TRAWL_PROPERTY_PAIRS)\n",
                    base_seed(), target_pairs());
        std::fflush(stdout);
        const int rc = rte_eal_init(int(args.size()), argv.data());
        ASSERT_GE(rc, 0) << "rte_eal_init: " << rte_strerror(rte_errno);
        g_eal_ready = true;
    }
    void TearDown() override {
        if (!g_eal_ready) return;
        // EAL leaves its (empty, with --no-shconf) runtime directory behind: one per run,
        // since the file prefix holds the pid.
        const std::string runtime_dir = rte_eal_get_runtime_dir();
        rte_eal_cleanup();
        g_eal_ready = false;
        rmdir(runtime_dir.c_str());
    }
};

[[maybe_unused]] ::testing::Environment* const g_eal_environment =
    ::testing::AddGlobalTestEnvironment(new EalEnvironment);

// ---------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------

class Rng {
public:
    explicit Rng(uint64_t seed) : engine_(seed) {}
    uint64_t next() { return engine_(); }
    // Uniform in [0, n).
    uint32_t below(uint32_t n) { return n == 0 ? 0 : uint32_t(next() % n); }
    uint32_t between(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }
    bool chance(double p) { return double(next() >> 11) * 0x1.0p-53 < p; }
    template <typename T, size_t N>
    const T& pick(const std::array<T, N>& items) { return items[below(N)]; }
    uint8_t byte() { return uint8_t(next()); }
    // Index drawn with the given weights.
    template <size_t N>
    size_t weighted(const std::array<unsigned, N>& weights) {
        unsigned total = 0;
        for (unsigned w : weights) total += w;
        unsigned r = below(total);
        for (size_t i = 0; i < N; ++i) {
            if (r < weights[i]) return i;
            r -= weights[i];
        }
        return N - 1;
    }

private:
    std::mt19937_64 engine_;
};

// ---------------------------------------------------------------------------------------
// Pools shared by rules and packets: a few IPv4 /24s and IPv6 /120s (two of them
// adjacent, so ranges can cross a boundary), host numbers at interesting edges, ports
// that the contract and the tunnel classes care about.
// ---------------------------------------------------------------------------------------

using V4 = std::array<uint8_t, 4>;
using V6 = std::array<uint8_t, 16>;

constexpr std::array<std::array<uint8_t, 3>, 4> kV4Nets = {{
    {10, 0, 0}, {10, 0, 1}, {192, 168, 7}, {172, 16, 5}}};
constexpr std::array<V6, 4> kV6Nets = {{
    {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0},   // 2001:db8::/120
    {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0},   // 2001:db8::100/120
    {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x00, 0},   // 2001:db8:0:1::/120
    {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0}}};       // fe80::/120
constexpr std::array<uint8_t, 8> kHosts = {0, 1, 2, 15, 127, 128, 254, 255};
constexpr std::array<uint16_t, 8> kPorts = {0, 53, 80, 443, 500, 1194, 4500, 65535};

uint8_t pool_host(Rng& rng) { return rng.chance(0.85) ? rng.pick(kHosts) : rng.byte(); }

V4 pool_v4(Rng& rng) {
    if (rng.chance(0.05)) return {rng.byte(), rng.byte(), rng.byte(), rng.byte()};
    const auto& net = rng.pick(kV4Nets);
    return {net[0], net[1], net[2], pool_host(rng)};
}

V6 pool_v6(Rng& rng) {
    V6 a{};
    if (rng.chance(0.05)) {
        for (auto& b : a) b = rng.byte();
        return a;
    }
    a = rng.pick(kV6Nets);
    a[15] = pool_host(rng);
    return a;
}

uint16_t pool_port(Rng& rng) {
    const uint16_t p = rng.pick(kPorts);
    switch (rng.weighted(std::array<unsigned, 3>{82, 10, 8})) {
    case 0: return p;
    case 1: return uint16_t(p + (rng.chance(0.5) ? 1 : -1));  // wraps at 0 and 65535: fine
    default: return uint16_t(rng.next());
    }
}

std::string v4_text(const V4& a) {
    return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
           std::to_string(a[3]);
}

std::string v6_text(const V6& a) {
    // Full uncompressed form: both parsers use inet_pton, any valid spelling would do.
    char text[64];
    std::snprintf(text, sizeof text, "%x:%x:%x:%x:%x:%x:%x:%x", a[0] << 8 | a[1], a[2] << 8 | a[3],
                  a[4] << 8 | a[5], a[6] << 8 | a[7], a[8] << 8 | a[9], a[10] << 8 | a[11],
                  a[12] << 8 | a[13], a[14] << 8 | a[15]);
    return text;
}

// ---------------------------------------------------------------------------------------
// Random canonical session bodies (DESIGN §2.1-2.3)
// ---------------------------------------------------------------------------------------

std::string random_v4_subnet(Rng& rng) {
    switch (rng.weighted(std::array<unsigned, 3>{30, 45, 25})) {
    case 0: return v4_text(pool_v4(rng));
    case 1: {
        constexpr std::array<int, 12> kLengths = {0, 8, 16, 22, 23, 24, 24, 25, 26, 28, 31, 32};
        // Host bits may be set ("10.0.0.77/24"): both parsers mask them off.
        return v4_text(pool_v4(rng)) + "/" + std::to_string(rng.pick(kLengths));
    }
    default: {
        V4 a = pool_v4(rng), b = pool_v4(rng);
        if (rng.chance(0.5)) b = {a[0], a[1], a[2], pool_host(rng)};  // inside one /24
        if (b < a) std::swap(a, b);
        return v4_text(a) + "-" + v4_text(b);
    }
    }
}

std::string random_v6_subnet(Rng& rng) {
    switch (rng.weighted(std::array<unsigned, 3>{30, 45, 25})) {
    case 0: return v6_text(pool_v6(rng));
    case 1: {
        constexpr std::array<int, 12> kLengths = {0, 16, 32, 63, 64, 112, 119, 120, 120, 121, 124, 128};
        return v6_text(pool_v6(rng)) + "/" + std::to_string(rng.pick(kLengths));
    }
    default: {
        V6 a = pool_v6(rng), b;
        // Mostly within one /120 or across the two adjacent ones; a wide range (many
        // prefixes after expansion) now and then.
        const size_t shape = rng.weighted(std::array<unsigned, 3>{60, 30, 10});
        if (shape == 0) {
            b = a;
            b[15] = pool_host(rng);
        } else if (shape == 1) {
            a = kV6Nets[0];
            a[15] = pool_host(rng);
            b = kV6Nets[1];
            b[15] = pool_host(rng);
        } else {
            b = pool_v6(rng);
        }
        if (b < a) std::swap(a, b);
        return v6_text(a) + "-" + v6_text(b);
    }
    }
}

// The ends of both address spaces: whole-space prefixes and ranges, one-bit prefixes,
// the first and last address.
std::string edge_subnet(Rng& rng) {
    static constexpr std::array<const char*, 14> kEdges = {
        "0.0.0.0/0", "0.0.0.0-255.255.255.255", "128.0.0.0/1", "0.0.0.0", "255.255.255.255",
        "10.0.0.0/8", "::/0", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::/1", "::",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32", "::1-2001:db8::1fe",
        "2001:db8::ff-2001:db8::100"};
    return rng.pick(kEdges);
}

json random_subnets(Rng& rng, size_t count) {
    json list = json::array();
    for (size_t i = 0; i < count; ++i)
        list.push_back(rng.chance(0.05)  ? edge_subnet(rng)
                       : rng.chance(0.5) ? random_v4_subnet(rng)
                                         : random_v6_subnet(rng));
    return list;
}

json random_ports(Rng& rng, size_t count) {
    static constexpr std::array<const char*, 12> kRanges = {
        "0-1023", "1024-65535", "79-81",     "443-500", "499-501",     "4499-4501",
        "1190-1200", "0-65535", "53-53",     "65535-65535", "0-0",      "80-443"};
    json list = json::array();
    for (size_t i = 0; i < count; ++i) {
        switch (rng.weighted(std::array<unsigned, 4>{40, 20, 20, 20})) {
        case 0: list.push_back(pool_port(rng)); break;               // integer
        case 1: list.push_back(std::to_string(pool_port(rng))); break;  // "80"
        case 2: list.push_back(rng.pick(kRanges)); break;
        default: {
            const int p = rng.pick(kPorts);
            const int lo = std::max(0, p - int(rng.below(3)));
            const int hi = std::min(65535, p + int(rng.below(3)));
            list.push_back(std::to_string(lo) + "-" + std::to_string(hi));
        }
        }
    }
    return list;
}

json random_protocols(Rng& rng, size_t count) {
    static const std::array<json, 20> kProtocols = {
        "tcp", "udp", "tcp", "udp", "icmp", "icmpv6", "sctp", "esp", "ah", "gre",
        6,     17,    50,    132,   1,      58,       "TCP", "17",  0,    89};
    json list = json::array();
    for (size_t i = 0; i < count; ++i) list.push_back(rng.pick(kProtocols));
    return list;
}

uint8_t random_tcp_flags(Rng& rng) {
    static constexpr std::array<uint8_t, 10> kMasks = {0x02, 0x10, 0x12, 0x01, 0x04,
                                                       0x08, 0x20, 0xc0, 0x05, 0xff};
    return rng.chance(0.7) ? rng.pick(kMasks) : uint8_t(rng.between(1, 255));
}

size_t random_list_length(Rng& rng) {
    return 1 + rng.weighted(std::array<unsigned, 3>{60, 28, 12});
}

json random_filter(Rng& rng) {
    json f = json::object();
    if (rng.chance(0.03)) {
        // No constraint at all: matches every packet, IP or not.
        if (rng.chance(0.5)) f["bidirectional"] = rng.chance(0.5);
        if (rng.chance(0.5)) f["sourcePorts"] = json::array();
        if (rng.chance(0.3)) f["tcpFlags"] = 0;
        return f;
    }
    enum Key { kSrc, kDst, kSport, kDport, kProto, kFlags, kKeys };
    static constexpr std::array<unsigned, kKeys> kKeyWeights = {25, 25, 15, 25, 25, 10};
    const size_t constrained = 1 + rng.weighted(std::array<unsigned, 4>{55, 30, 12, 3});
    std::array<bool, kKeys> use{};
    for (size_t i = 0; i < constrained; ++i) use[rng.weighted(kKeyWeights)] = true;
    auto list_or_empty = [&](Key key, const char* name, auto make) {
        if (use[key])
            f[name] = make(rng, random_list_length(rng));
        else if (rng.chance(0.08))
            f[name] = json::array();  // an empty list means "any"
    };
    list_or_empty(kSrc, "sourceSubnets", random_subnets);
    list_or_empty(kDst, "destinationSubnets", random_subnets);
    list_or_empty(kSport, "sourcePorts", random_ports);
    list_or_empty(kDport, "destinationPorts", random_ports);
    list_or_empty(kProto, "protocols", random_protocols);
    if (use[kFlags])
        f["tcpFlags"] = random_tcp_flags(rng);
    else if (rng.chance(0.05))
        f["tcpFlags"] = 0;
    if (rng.chance(0.6)) f["bidirectional"] = rng.chance(0.5);
    return f;
}

json random_session_body(Rng& rng) {
    static constexpr std::array<uint32_t, 7> kTracing = {1, 2, 8, 3, 9, 10, 11};
    json body = json::object();
    if (rng.chance(0.06)) {
        // No filters: every packet, unless tracing flags select only the tunnel classes.
        if (rng.chance(0.5)) body["filters"] = json::array();
        if (rng.chance(0.7)) body["tracingFlags"] = rng.pick(kTracing);
        return body;
    }
    json filters = json::array();
    const size_t count = 1 + rng.weighted(std::array<unsigned, 4>{35, 30, 20, 15});
    for (size_t i = 0; i < count; ++i) filters.push_back(random_filter(rng));
    body["filters"] = filters;
    if (rng.chance(0.25))
        body["tracingFlags"] = rng.pick(kTracing);
    else if (rng.chance(0.1))
        body["tracingFlags"] = 0;
    return body;
}

// One broad filter whose lists multiply into thousands of tuple rules: a set holding it
// crosses ruleset.cpp's threshold for building contexts in parallel on the TBB pool.
json random_wide_session_body(Rng& rng) {
    json f = json::object();
    f["sourceSubnets"] = random_subnets(rng, rng.between(4, 6));
    f["destinationSubnets"] = random_subnets(rng, rng.between(4, 6));
    f["destinationPorts"] = random_ports(rng, rng.between(3, 5));
    if (rng.chance(0.5)) f["sourcePorts"] = random_ports(rng, rng.between(1, 2));
    f["protocols"] = rng.chance(0.5) ? json::array({"tcp"}) : json::array({"tcp", "udp", "sctp"});
    if (rng.chance(0.5)) f["tcpFlags"] = rng.chance(0.5) ? 0x17 : 0xff;
    if (rng.chance(0.5)) f["bidirectional"] = rng.chance(0.5);
    json body = json::object();
    body["filters"] = json::array({f});
    return body;
}

// ---------------------------------------------------------------------------------------
// Sessions: one JSON body, read by both sides
// ---------------------------------------------------------------------------------------

struct TestSession {
    unsigned slot = 0;
    json body;
    dp::SessionRules rules;     // via the product's parser
    ref::Session reference;     // via the reference's parser
    uint64_t tuple_rules = 0;
    // The reference without the tracing flags, and with every filter one-way: to count
    // matches that only a tunnel class or only the reverse direction explains.
    ref::Session without_tracing, one_way;
};

// Reads `body` on both sides. The generator only writes valid canonical bodies, so a
// refusal by either parser is itself a disagreement worth failing for.
std::optional<TestSession> make_session(const json& body, unsigned slot) {
    TestSession out;
    out.slot = slot;
    out.body = body;
    try {
        const auto parsed = trawl::control::parse_session_body(
            body, trawl::control::SpecDefaults{}, trawl::control::SpecLimits{});
        out.rules = parsed.spec.rules();
    } catch (const trawl::control::FieldError& e) {
        // Too many rules after expansion is the spec's limit at work, not a disagreement.
        if (e.message().find("classifier rules; the limit is") == std::string::npos)
            ADD_FAILURE() << "parse_session_body refused a valid body: " << e.what() << "\n  "
                          << body.dump();
        return std::nullopt;
    }
    try {
        out.reference = ref::session_from_json(body);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "the reference refused a valid body: " << e.what() << "\n  "
                      << body.dump();
        return std::nullopt;
    }
    out.tuple_rules = dp::count_tuple_rules(out.rules);
    out.without_tracing = out.reference;
    out.without_tracing.tracing_flags = 0;
    out.one_way = out.reference;
    for (auto& f : out.one_way.filters) f.bidirectional = false;
    return out;
}

// `count` sessions on distinct slots: usually 0..count-1 (full groups of 16, then a
// partial one), sometimes scattered over all 64 slots (sparse groups, empty groups
// between used ones).
std::vector<TestSession> random_sessions(Rng& rng, unsigned count, bool with_wide_session = false) {
    std::vector<unsigned> slots(dp::kMaxSlots);
    for (unsigned i = 0; i < dp::kMaxSlots; ++i) slots[i] = i;
    if (rng.chance(0.35))
        for (unsigned i = dp::kMaxSlots - 1; i > 0; --i) std::swap(slots[i], slots[rng.below(i + 1)]);
    std::vector<TestSession> sessions;
    for (unsigned i = 0; i < count; ++i) {
        const bool wide = with_wide_session && i == 0;
        for (int attempt = 0;; ++attempt) {
            if (attempt == 100) {
                ADD_FAILURE() << "no usable random session in 100 attempts";
                return sessions;
            }
            auto s = make_session(wide ? random_wide_session_body(rng) : random_session_body(rng),
                                  slots[i]);
            if (!s) continue;
            if (wide ? (s->tuple_rules < kWideSessionRules.first ||
                        s->tuple_rules > kWideSessionRules.second)
                     : s->tuple_rules > kMaxRulesPerSession)
                continue;
            sessions.push_back(std::move(*s));
            break;
        }
    }
    return sessions;
}

// ---------------------------------------------------------------------------------------
// Random packets, byte by byte
// ---------------------------------------------------------------------------------------

struct PacketKinds {
    uint64_t ipv4 = 0, ipv6 = 0, other_ethertype = 0, garbage = 0, truncated = 0;
    uint64_t vlan = 0, ipv4_options = 0, ipv4_later_fragments = 0, ipv6_ext_headers = 0,
             ipv6_later_fragments = 0, padded = 0;
};

void put8(Bytes& b, uint8_t v) { b.push_back(v); }
void put16(Bytes& b, uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
}
void put32(Bytes& b, uint32_t v) {
    put16(b, uint16_t(v >> 16));
    put16(b, uint16_t(v));
}
void put_random(Bytes& b, Rng& rng, size_t n) {
    for (size_t i = 0; i < n; ++i) b.push_back(rng.byte());
}
template <size_t N>
void put_array(Bytes& b, const std::array<uint8_t, N>& a) {
    b.insert(b.end(), a.begin(), a.end());
}

void put_ports(Bytes& b, Rng& rng) {
    put16(b, pool_port(rng));
    put16(b, pool_port(rng));
}

// The upper-layer header and a short payload.
void put_transport(Bytes& b, Rng& rng, uint8_t protocol) {
    switch (protocol) {
    case dp::kIpProtoTcp: {
        put_ports(b, rng);
        put32(b, uint32_t(rng.next()));  // sequence
        put32(b, uint32_t(rng.next()));  // acknowledgement
        // Data offset: usually 5, sometimes options, sometimes a bogus value below 5.
        const size_t shape = rng.weighted(std::array<unsigned, 3>{80, 12, 8});
        const uint8_t data_offset = shape == 0 ? 5 : shape == 1 ? uint8_t(rng.between(6, 15))
                                                                : uint8_t(rng.below(5));
        put8(b, uint8_t(data_offset << 4));
        static constexpr std::array<uint8_t, 10> kFlags = {0x02, 0x12, 0x10, 0x18, 0x11,
                                                           0x04, 0x14, 0x01, 0x29, 0xc2};
        put8(b, rng.chance(0.6) ? rng.pick(kFlags) : rng.byte());
        put16(b, uint16_t(rng.next()));  // window
        put16(b, uint16_t(rng.next()));  // checksum
        put16(b, 0);                     // urgent pointer
        if (data_offset > 5) put_random(b, rng, (data_offset - 5) * 4u);
        put_random(b, rng, rng.below(41));
        break;
    }
    case dp::kIpProtoUdp: {
        const uint16_t sport = pool_port(rng), dport = pool_port(rng);
        put16(b, sport);
        put16(b, dport);
        put16(b, uint16_t(rng.next()));  // length: never used by the contract
        put16(b, uint16_t(rng.next()));
        const size_t payload = rng.chance(0.15) ? rng.below(4) : rng.below(41);
        // The first four payload bytes tell ESP-in-UDP from IKE on port 4500.
        const bool marker_zero = rng.chance(0.5);
        for (size_t i = 0; i < payload; ++i) put8(b, (i < 4 && marker_zero) ? 0 : rng.byte());
        break;
    }
    case dp::kIpProtoSctp:
        put_ports(b, rng);
        put32(b, uint32_t(rng.next()));  // verification tag
        put32(b, uint32_t(rng.next()));  // checksum
        put_random(b, rng, rng.below(21));
        break;
    case 1:
    case 58:  // ICMP, ICMPv6: type, code, checksum, rest of header
        put_random(b, rng, 8 + rng.below(21));
        break;
    case dp::kIpProtoEsp:
        put32(b, uint32_t(rng.next()));  // SPI
        put32(b, uint32_t(rng.next()));  // sequence
        put_random(b, rng, rng.below(41));
        break;
    default:
        put_random(b, rng, rng.below(41));
        break;
    }
}

uint8_t random_upper_protocol(Rng& rng, bool v6) {
    static constexpr std::array<uint8_t, 9> kProtocols = {6, 17, 132, 1, 58, 50, 47, 89, 59};
    static constexpr std::array<unsigned, 9> kWeights = {30, 30, 6, 5, 5, 8, 3, 3, 2};
    if (rng.chance(0.05)) {
        // Any value; in IPv6 an extension-header number here would just lengthen the
        // chain, which the chain generator does already.
        const uint8_t p = rng.byte();
        if (!v6 || (p != 0 && p != 43 && p != 44 && p != 60 && p != dp::kIpProtoAh)) return p;
    }
    if (!v6 && rng.chance(0.03)) return dp::kIpProtoAh;  // in IPv4 just a protocol
    return kProtocols[rng.weighted(kWeights)];
}

// A non-zero 13-bit fragment offset; the smallest and largest values are the ones an
// off-by-one mask would get wrong.
uint16_t random_fragment_offset(Rng& rng) {
    switch (rng.weighted(std::array<unsigned, 3>{30, 10, 60})) {
    case 0: return 1;
    case 1: return 0x1fff;
    default: return uint16_t(rng.between(1, 0x1fff));
    }
}

// Returns where the upper-layer header starts.
size_t put_ipv4(Bytes& b, Rng& rng, PacketKinds& kinds) {
    const uint8_t ihl = rng.chance(0.8) ? 5 : uint8_t(rng.between(6, 15));
    uint8_t version_ihl = uint8_t(0x40 | ihl);
    if (rng.chance(0.03))  // not IPv4 after all: wrong version or IHL below 5
        version_ihl = rng.chance(0.5) ? uint8_t(0x60 | ihl) : uint8_t(0x40 | rng.below(5));
    const uint8_t protocol = random_upper_protocol(rng, false);
    uint16_t fragment = 0;
    switch (rng.weighted(std::array<unsigned, 4>{70, 10, 8, 12})) {
    case 0: break;
    case 1: fragment = 0x4000; break;  // DF
    case 2: fragment = 0x2000; break;  // MF, offset 0: the first fragment has ports
    default:
        fragment = uint16_t((rng.chance(0.5) ? 0x2000 : 0) | random_fragment_offset(rng));
        ++kinds.ipv4_later_fragments;
    }
    if (rng.chance(0.1)) fragment |= 0x8000;  // the reserved flag: not part of the offset
    if (ihl > 5) ++kinds.ipv4_options;
    put8(b, version_ihl);
    put8(b, rng.byte());             // DSCP/ECN
    put16(b, uint16_t(rng.next()));  // total length: never used by the contract
    put16(b, uint16_t(rng.next()));  // identification
    put16(b, fragment);
    put8(b, 64);
    put8(b, protocol);
    put16(b, uint16_t(rng.next()));  // checksum
    put_array(b, pool_v4(rng));
    put_array(b, pool_v4(rng));
    for (unsigned i = 20; i < ihl * 4u; ++i) put8(b, rng.chance(0.5) ? 1 : rng.byte());  // NOPs or junk
    const size_t transport = b.size();
    put_transport(b, rng, protocol);
    return transport;
}

// Returns where the upper-layer header starts.
size_t put_ipv6(Bytes& b, Rng& rng, PacketKinds& kinds) {
    static constexpr std::array<uint8_t, 5> kExtensions = {0, 43, 44, 60, dp::kIpProtoAh};
    std::vector<uint8_t> chain(rng.weighted(std::array<unsigned, 4>{55, 25, 12, 8}));
    for (auto& h : chain) h = rng.pick(kExtensions);
    if (!chain.empty()) ++kinds.ipv6_ext_headers;
    const uint8_t protocol = random_upper_protocol(rng, true);
    auto next_after = [&](size_t i) { return i + 1 < chain.size() ? chain[i + 1] : protocol; };

    // The version nibble is not checked: ethertype 0x86DD is IPv6.
    put8(b, rng.chance(0.97) ? uint8_t(0x60 | rng.below(16)) : rng.byte());
    put_random(b, rng, 3);           // traffic class, flow label
    put16(b, uint16_t(rng.next()));  // payload length: never used by the contract
    put8(b, chain.empty() ? protocol : chain[0]);
    put8(b, 64);
    put_array(b, pool_v6(rng));
    put_array(b, pool_v6(rng));
    bool later_fragment = false;
    for (size_t i = 0; i < chain.size(); ++i) {
        put8(b, next_after(i));
        if (chain[i] == 44) {
            put8(b, 0);
            const bool nonzero_offset = rng.chance(0.4);
            const uint16_t offset = nonzero_offset ? uint16_t(random_fragment_offset(rng) << 3) : 0;
            put16(b, uint16_t(offset | rng.below(8)));  // two reserved bits and the M flag
            put32(b, uint32_t(rng.next()));
            if (nonzero_offset) later_fragment = true;
        } else if (chain[i] == dp::kIpProtoAh) {
            const uint8_t length = rng.chance(0.8) ? 4 : uint8_t(rng.below(8));  // (len+2)*4 bytes
            put8(b, length);
            put_random(b, rng, (length + 2u) * 4u - 2u);
        } else if (rng.chance(0.05)) {
            // A length that runs past the bytes that follow: the walk ends beyond them,
            // or lands inside the next headers.
            put8(b, rng.byte());
            put_random(b, rng, 6);
        } else {
            const uint8_t length = uint8_t(rng.below(3));  // (len+1)*8 bytes
            put8(b, length);
            put_random(b, rng, (length + 1u) * 8u - 2u);
        }
        if (later_fragment) break;  // a later fragment ends the walk: the rest is data
    }
    if (later_fragment) ++kinds.ipv6_later_fragments;
    const size_t transport = b.size();
    put_transport(b, rng, protocol);
    return transport;
}

Bytes random_packet(Rng& rng, PacketKinds& kinds) {
    Bytes b;
    if (rng.chance(0.03)) {
        // Garbage, sometimes with an IP ethertype in front of it.
        put_random(b, rng, rng.below(121));
        if (b.size() >= 14 && rng.chance(0.6)) {
            const uint16_t type = rng.chance(0.5) ? 0x0800 : 0x86dd;
            b[12] = uint8_t(type >> 8);
            b[13] = uint8_t(type);
        }
        ++kinds.garbage;
        return b;
    }
    put_random(b, rng, 12);  // destination and source MAC
    static constexpr std::array<uint16_t, 3> kTpids = {0x8100, 0x88a8, 0x9100};
    // Up to two tags are parsed; a third makes the frame non-IP.
    const size_t tags = rng.weighted(std::array<unsigned, 4>{65, 20, 12, 3});
    for (size_t i = 0; i < tags; ++i) {
        put16(b, rng.pick(kTpids));
        put16(b, uint16_t(rng.next()));
    }
    if (tags != 0) ++kinds.vlan;
    const size_t l3 = b.size() + 2;
    size_t l4 = l3;
    switch (rng.weighted(std::array<unsigned, 3>{45, 45, 10})) {
    case 0:
        put16(b, 0x0800);
        l4 = put_ipv4(b, rng, kinds);
        ++kinds.ipv4;
        break;
    case 1:
        put16(b, 0x86dd);
        l4 = put_ipv6(b, rng, kinds);
        ++kinds.ipv6;
        break;
    default: {
        static constexpr std::array<uint16_t, 4> kOther = {0x0806, 0x88cc, 0x8847, 0x0801};
        put16(b, rng.chance(0.8) ? rng.pick(kOther) : uint16_t(rng.next()));
        put_random(b, rng, rng.below(61));
        ++kinds.other_ethertype;
    }
    }
    if (rng.chance(0.08)) {
        // Ethernet padding: the captured bytes decide, not the IP length fields.
        b.resize(b.size() + 1 + rng.below(20), 0);
        ++kinds.padded;
    }
    if (rng.chance(0.3)) {
        // Cut anywhere, or where fields begin and end: inside the IP header (addresses,
        // protocol, the IPv6 chain) or the first 16 bytes of the upper layer (ports, TCP
        // flags, the UDP marker).
        size_t length = 0;
        switch (rng.weighted(std::array<unsigned, 3>{40, 30, 30})) {
        case 0: length = rng.below(uint32_t(b.size()) + 1); break;
        case 1: length = l3 + rng.below(45); break;
        default: length = l4 + rng.below(17); break;
        }
        b.resize(std::min(length, b.size()));
        ++kinds.truncated;
    }
    return b;
}

std::vector<Bytes> random_packets(Rng& rng, size_t count, PacketKinds& kinds) {
    std::vector<Bytes> packets;
    packets.reserve(count);
    for (size_t i = 0; i < count; ++i) packets.push_back(random_packet(rng, kinds));
    return packets;
}

// ---------------------------------------------------------------------------------------
// The classifier under test, driven as dataplane/worker.cpp process_burst drives it
// ---------------------------------------------------------------------------------------

std::unique_ptr<dp::RuleSet> build_rule_set(const std::vector<TestSession>& sessions,
                                            const dp::RuleSetOptions& options, std::string& error) {
    std::vector<dp::SlotRules> slots;
    for (const auto& s : sessions) slots.push_back(dp::SlotRules{s.slot, 0, s.rules});
    return dp::RuleSet::build(slots, 1, options, error);
}

// Mostly the brief's bursts of up to 64 (the worker's default is 32); now and then the
// largest burst a worker can be configured for (dataplane::kMaxBurst).
size_t random_burst_size(Rng& rng) {
    switch (rng.weighted(std::array<unsigned, 4>{50, 20, 27, 3})) {
    case 0: return kMaxTestBurst;
    case 1: return 32;
    case 2: return 1 + rng.below(kMaxTestBurst);
    default: return dp::kMaxBurst;
    }
}

// Session masks for every packet: each burst starts from the sessions that match every
// packet, then, when the set has ACL contexts, every packet is parsed and keyed and the
// burst is classified in one call per context.
std::vector<uint64_t> classify_packets(const dp::RuleSet& rs, const std::vector<Bytes>& packets,
                                       Rng& rng, dp::ClassifyScratch& scratch) {
    std::vector<uint64_t> masks(packets.size());
    for (size_t start = 0; start < packets.size();) {
        const size_t n = std::min(random_burst_size(rng), packets.size() - start);
        uint64_t* burst_masks = masks.data() + start;
        for (size_t i = 0; i < n; ++i) burst_masks[i] = rs.universal_slots;
        if (rs.has_acl) {
            scratch.reset();
            for (size_t i = 0; i < n; ++i) {
                const Bytes& p = packets[start + i];
                const dp::PacketView v = dp::parse_packet(p.data(), uint32_t(p.size()));
                scratch.add(uint16_t(i), p.data(), v);
            }
            dp::classify_burst(rs, scratch, burst_masks);
        }
        start += n;
    }
    return masks;
}

// ---------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------

struct Tally {
    uint64_t pairs = 0, matched = 0, packets = 0, sessions = 0, rule_sets = 0, rules = 0;
    uint64_t mismatches = 0;
    uint64_t matched_v4 = 0, matched_v6 = 0, matched_non_ip = 0;
    uint64_t unmatched_v4 = 0, unmatched_v6 = 0;
    uint64_t matched_by_tracing_only = 0, matched_in_reverse_only = 0;
    uint64_t largest_rule_set = 0, parallel_builds = 0;
    double build_seconds = 0;
    PacketKinds kinds;
    std::string report;  // the first few mismatches, in full
};

std::string hex(const Bytes& b) {
    std::string out;
    char cell[4];
    for (size_t i = 0; i < b.size(); ++i) {
        std::snprintf(cell, sizeof cell, "%02x", b[i]);
        out += cell;
        if (i + 1 < b.size()) out += (i % 16 == 15) ? "\n           " : " ";
    }
    return out;
}

std::string describe(const dp::PacketView& v) {
    char text[160];
    std::snprintf(text, sizeof text,
                  "family=%u present=0x%02x protocol=%u ports=%u>%u tcp_flags=0x%02x l3=%u",
                  v.family, v.present, v.protocol, v.source_port, v.destination_port, v.tcp_flags,
                  v.l3_offset);
    return text;
}

void record_mismatch(Tally& t, const TestSession& s, const Bytes& p, bool classifier, bool reference) {
    ++t.mismatches;
    if (t.mismatches > kMismatchesShown) return;
    t.report += "mismatch " + std::to_string(t.mismatches) + ": slot " + std::to_string(s.slot) +
                ": classifier " + (classifier ? "MATCHES" : "does not match") + ", reference " +
                (reference ? "MATCHES" : "does not match") + "\n  session: " + s.body.dump() +
                "\n  packet (" + std::to_string(p.size()) + " bytes): " + hex(p) +
                "\n  parse_packet: " + describe(dp::parse_packet(p.data(), uint32_t(p.size()))) +
                "\n";
}

void compare(const std::vector<TestSession>& sessions, const std::vector<Bytes>& packets,
             const std::vector<uint64_t>& masks, uint64_t active_slots, Tally& t) {
    for (size_t i = 0; i < packets.size(); ++i) {
        const Bytes& p = packets[i];
        const uint8_t family = dp::parse_packet(p.data(), uint32_t(p.size())).family;
        if ((masks[i] & ~active_slots) != 0) {
            ++t.mismatches;
            t.report += "packet " + hex(p) + " got bits of inactive slots\n";
        }
        for (const auto& s : sessions) {
            const bool reference = ref::session_matches(s.reference, p.data(), p.size());
            const bool classifier = (masks[i] >> s.slot) & 1;
            ++t.pairs;
            if (reference) {
                ++t.matched;
                (family == 4 ? t.matched_v4 : family == 6 ? t.matched_v6 : t.matched_non_ip)++;
                const auto& r = s.reference;
                if (r.tracing_flags != 0 &&
                    (r.filters.empty() || !ref::session_matches(s.without_tracing, p.data(), p.size())))
                    ++t.matched_by_tracing_only;
                if (!ref::session_matches(s.one_way, p.data(), p.size())) ++t.matched_in_reverse_only;
            } else if (family == 4) {
                ++t.unmatched_v4;
            } else if (family == 6) {
                ++t.unmatched_v6;
            }
            if (classifier != reference) record_mismatch(t, s, p, classifier, reference);
        }
    }
}

struct PropertyRun {
    Tally tally;
    std::string unavailable;  // set when the first build says the ACL algorithm is missing
};

// Draws rule sets until `pairs` (session, packet) pairs were compared.
PropertyRun run_property(uint64_t seed, uint64_t pairs, const dp::RuleSetOptions& options) {
    PropertyRun run;
    Tally& t = run.tally;
    Rng rng(seed);
    auto scratch = std::make_unique<dp::ClassifyScratch>();
    for (uint64_t round = 0; t.pairs < pairs; ++round) {
        const unsigned count = kSessionCounts[round % kSessionCounts.size()];
        const bool wide = round % kWideEvery == kWideEvery - 1;
        const std::vector<TestSession> sessions = random_sessions(rng, count, wide);
        if (sessions.size() != count) return run;  // random_sessions failed the test
        std::string error;
        const auto rs = build_rule_set(sessions, options, error);
        if (!rs) {
            if (round == 0 && error.find("not available") != std::string::npos)
                run.unavailable = error;
            else
                ADD_FAILURE() << "RuleSet::build failed: " << error;
            return run;
        }
        EXPECT_EQ(error, "") << "RuleSet::build succeeded but reported an error";
        const std::vector<Bytes> packets = random_packets(rng, kPacketsPerRuleSet, t.kinds);
        const std::vector<uint64_t> masks = classify_packets(*rs, packets, rng, *scratch);
        compare(sessions, packets, masks, rs->active_slots, t);
        ++t.rule_sets;
        t.sessions += sessions.size();
        t.packets += packets.size();
        t.rules += rs->rule_count;
        t.largest_rule_set = std::max(t.largest_rule_set, rs->rule_count);
        if (rs->rule_count >= 2000) ++t.parallel_builds;  // ruleset.cpp's TBB threshold
        t.build_seconds += rs->build_seconds;
        if (std::getenv("TRAWL_PROPERTY_VERBOSE")) {
            std::printf("  rule set %" PRIu64 ": %zu sessions, %" PRIu64 " rules, built in %.3fs\n",
                        round, sessions.size(), rs->rule_count, rs->build_seconds);
            // rte_acl_dump names the classify method ("alg") a context uses.
            for (unsigned g = 0; round == 0 && g < rs->group_count; ++g)
                if (rs->groups[g].v4 != nullptr) rte_acl_dump(rs->groups[g].v4);
        }
    }
    return run;
}

void print_summary(const char* what, const Tally& t, double seconds) {
    std::printf("%s: pairs=%" PRIu64 " sessions=%" PRIu64 " packets=%" PRIu64 " rule_sets=%" PRIu64
                " acl_rules=%" PRIu64 " matched=%.1f%% (v4 %" PRIu64 ", v6 %" PRIu64
                ", non-IP %" PRIu64 ") mismatches=%" PRIu64 " in %.1fs\n",
                what, t.pairs, t.sessions, t.packets, t.rule_sets, t.rules,
                t.pairs ? 100.0 * double(t.matched) / double(t.pairs) : 0.0, t.matched_v4,
                t.matched_v6, t.matched_non_ip, t.mismatches, seconds);
    std::printf("%s: matched only by a tunnel class %" PRIu64 ", only in reverse %" PRIu64
                "; largest rule set %" PRIu64 " rules, %" PRIu64
                " sets of >= 2000 rules; %.1fs building\n",
                what, t.matched_by_tracing_only, t.matched_in_reverse_only, t.largest_rule_set,
                t.parallel_builds, t.build_seconds);
    const PacketKinds& k = t.kinds;
    std::printf("%s: packets: ipv4=%" PRIu64 " ipv6=%" PRIu64 " other=%" PRIu64 " garbage=%" PRIu64
                " truncated=%" PRIu64 " vlan=%" PRIu64 " v4-options=%" PRIu64
                " v4-later-frags=%" PRIu64 " v6-ext=%" PRIu64 " v6-later-frags=%" PRIu64
                " padded=%" PRIu64 "\n",
                what, k.ipv4, k.ipv6, k.other_ethertype, k.garbage, k.truncated, k.vlan,
                k.ipv4_options, k.ipv4_later_fragments, k.ipv6_ext_headers,
                k.ipv6_later_fragments, k.padded);
    std::fflush(stdout);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

TEST(ClassifierProperty, AgreesWithTheReferenceOnRandomSessionsAndPackets) {
    ASSERT_TRUE(g_eal_ready);
    const auto started = std::chrono::steady_clock::now();
    const PropertyRun run = run_property(base_seed(), target_pairs(), dp::RuleSetOptions{});
    ASSERT_EQ(run.unavailable, "");
    const Tally& t = run.tally;
    print_summary("classifier_property", t, seconds_since(started));
    EXPECT_EQ(t.mismatches, 0u) << "classifier and reference disagree (seed 0x" << std::hex
                                << base_seed() << "):\n"
                                << t.report;
    // Agreement means little if the generator is degenerate: both answers must be common,
    // for both families, and the packet shapes the contract talks about must occur.
    // (Only meaningful with enough pairs: a tiny TRAWL_PROPERTY_PAIRS is for debugging.)
    if (t.pairs < 100'000) GTEST_SKIP() << "too few pairs to judge the generator's coverage";
    const double fraction = double(t.matched) / double(t.pairs);
    EXPECT_GT(fraction, 0.10);
    EXPECT_LT(fraction, 0.80);
    EXPECT_GT(t.matched_v4, t.pairs / 100);
    EXPECT_GT(t.matched_v6, t.pairs / 100);
    EXPECT_GT(t.unmatched_v4, t.pairs / 100);
    EXPECT_GT(t.unmatched_v6, t.pairs / 100);
    EXPECT_GT(t.matched_non_ip, 0u);
    EXPECT_GT(t.matched_by_tracing_only, t.pairs / 1000);
    EXPECT_GT(t.matched_in_reverse_only, t.pairs / 1000);
    const PacketKinds& k = t.kinds;
    for (uint64_t n : {k.garbage, k.other_ethertype, k.truncated, k.vlan, k.ipv4_options,
                       k.ipv4_later_fragments, k.ipv6_ext_headers, k.ipv6_later_fragments, k.padded})
        EXPECT_GT(n, 0u);
}

// The comparison must be able to fail: compile one session but judge it against the
// reference of a slightly different one.
TEST(ClassifierProperty, HarnessNoticesAWrongClassifier) {
    ASSERT_TRUE(g_eal_ready);
    const json compiled = json::parse(R"({"filters":[{"destinationPorts":[80],"protocols":["tcp"]}]})");
    const json judged = json::parse(R"({"filters":[{"destinationPorts":[443],"protocols":["tcp"]}]})");
    auto made = make_session(compiled, 3);
    ASSERT_TRUE(made.has_value());
    TestSession& s = *made;
    std::string error;
    const auto rs = build_rule_set({s}, dp::RuleSetOptions{}, error);
    ASSERT_NE(rs, nullptr) << error;
    s.reference = ref::session_from_json(judged);
    Rng rng(base_seed() ^ 0x5eed);
    Tally t;
    const auto packets = random_packets(rng, 4096, t.kinds);
    auto scratch = std::make_unique<dp::ClassifyScratch>();
    compare({s}, packets, classify_packets(*rs, packets, rng, *scratch), rs->active_slots, t);
    EXPECT_GT(t.mismatches, 10u);
}

// RuleSet publication invariants that need no threads: a new generation is built beside
// the old one without touching it; removing (or adding) a session changes no other
// session's answers; freeing the old generation does not disturb the new one.
TEST(ClassifierPublication, RebuildingWithoutASessionLeavesTheOthersUnchanged) {
    ASSERT_TRUE(g_eal_ready);
    Rng rng(base_seed() ^ 0x9ab11c);
    std::vector<TestSession> sessions = random_sessions(rng, 40);
    ASSERT_EQ(sessions.size(), 40u);
    // Slots 0-47 in random order; group 3 (slots 48-63) gets exactly one session, so
    // that removing it empties a group.
    {
        std::vector<unsigned> free_slots(48);
        for (unsigned i = 0; i < 48; ++i) free_slots[i] = i;
        for (unsigned i = 47; i > 0; --i) std::swap(free_slots[i], free_slots[rng.below(i + 1)]);
        for (size_t i = 0; i < sessions.size(); ++i) sessions[i].slot = free_slots[i];
    }
    sessions.back().slot = 57;
    // One session that matches everything, so universal_slots changes too.
    auto universal = make_session(json::parse(R"({"filters":[]})"), 63);
    ASSERT_TRUE(universal.has_value());
    sessions.push_back(*universal);

    PacketKinds kinds;
    const std::vector<Bytes> packets = random_packets(rng, 4096, kinds);
    auto scratch = std::make_unique<dp::ClassifyScratch>();
    std::string error;
    auto current = build_rule_set(sessions, dp::RuleSetOptions{}, error);
    ASSERT_NE(current, nullptr) << error;
    const std::vector<uint64_t> initial_masks = classify_packets(*current, packets, rng, *scratch);
    std::vector<uint64_t> current_masks = initial_masks;
    Tally t;
    compare(sessions, packets, current_masks, current->active_slots, t);
    ASSERT_EQ(t.mismatches, 0u) << t.report;

    // Remove sessions one at a time (the lone session of group 3 and the universal one
    // among them), rebuilding each time as the control thread would.
    std::vector<size_t> order(sessions.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(uint32_t(i + 1))]);
    std::vector<bool> removed(sessions.size(), false);
    std::vector<size_t> victims(order.begin(), order.begin() + 10);
    victims.push_back(sessions.size() - 2);  // slot 57, alone in group 3
    victims.push_back(sessions.size() - 1);  // the universal session
    std::sort(victims.begin(), victims.end());
    victims.erase(std::unique(victims.begin(), victims.end()), victims.end());
    std::swap(victims[0], victims[rng.below(uint32_t(victims.size()))]);
    for (size_t victim : victims) {
        removed[victim] = true;
        const uint64_t victim_bit = uint64_t(1) << sessions[victim].slot;
        std::vector<TestSession> remaining;
        for (size_t i = 0; i < sessions.size(); ++i)
            if (!removed[i]) remaining.push_back(sessions[i]);
        auto next = build_rule_set(remaining, dp::RuleSetOptions{}, error);
        ASSERT_NE(next, nullptr) << error;
        EXPECT_GT(next->generation, current->generation);
        EXPECT_EQ(next->active_slots, current->active_slots & ~victim_bit);
        EXPECT_EQ(next->universal_slots, current->universal_slots & ~victim_bit);
        // The old generation still answers exactly as before: workers may be using it.
        EXPECT_EQ(classify_packets(*current, packets, rng, *scratch), current_masks)
            << "building a new RuleSet changed the one being replaced";
        const std::vector<uint64_t> next_masks = classify_packets(*next, packets, rng, *scratch);
        size_t changed = 0;
        for (size_t i = 0; i < packets.size(); ++i)
            if (next_masks[i] != (current_masks[i] & ~victim_bit)) ++changed;
        EXPECT_EQ(changed, 0u) << "removing slot " << sessions[victim].slot
                               << " changed the answers of other sessions for " << changed
                               << " packets";
        current.reset();  // RCU grace period over: the old generation is freed
        EXPECT_EQ(classify_packets(*next, packets, rng, *scratch), next_masks)
            << "freeing the old RuleSet disturbed the new one";
        current = std::move(next);
        current_masks = next_masks;
    }

    // Adding a session back, on a different slot: its answers move with it and nobody
    // else's change.
    TestSession returning = sessions[victims.front()];
    const unsigned old_slot = returning.slot;
    unsigned new_slot = 0;
    while (((current->active_slots >> new_slot) & 1) != 0 || new_slot == old_slot) ++new_slot;
    returning.slot = new_slot;
    std::vector<TestSession> with_returning;
    for (size_t i = 0; i < sessions.size(); ++i)
        if (!removed[i]) with_returning.push_back(sessions[i]);
    with_returning.push_back(returning);
    auto grown = build_rule_set(with_returning, dp::RuleSetOptions{}, error);
    ASSERT_NE(grown, nullptr) << error;
    const std::vector<uint64_t> grown_masks = classify_packets(*grown, packets, rng, *scratch);
    const uint64_t new_bit = uint64_t(1) << new_slot;
    size_t wrong = 0;
    for (size_t i = 0; i < packets.size(); ++i) {
        const bool matched_before = ((initial_masks[i] >> old_slot) & 1) != 0;
        if ((grown_masks[i] & ~new_bit) != current_masks[i] ||
            ((grown_masks[i] & new_bit) != 0) != matched_before)
            ++wrong;
    }
    EXPECT_EQ(wrong, 0u) << "slot " << old_slot << " moved to " << new_slot;
}

// Every ACL classify method this CPU offers must give the same answers.
class ClassifierAlgorithms : public ::testing::TestWithParam<dp::AclAlgorithm> {};

const char* algorithm_name(dp::AclAlgorithm a) {
    switch (a) {
    case dp::AclAlgorithm::Default: return "Default";
    case dp::AclAlgorithm::Scalar: return "Scalar";
    case dp::AclAlgorithm::Sse: return "Sse";
    case dp::AclAlgorithm::Avx2: return "Avx2";
    case dp::AclAlgorithm::Avx512x16: return "Avx512x16";
    case dp::AclAlgorithm::Avx512x32: return "Avx512x32";
    }
    return "Unknown";
}

TEST_P(ClassifierAlgorithms, AgreesWithTheReference) {
    ASSERT_TRUE(g_eal_ready);
    const auto started = std::chrono::steady_clock::now();
    dp::RuleSetOptions options;
    options.algorithm = GetParam();
    // A different stream per algorithm, and not one that another base seed would reuse.
    const uint64_t seed = base_seed() ^ (0x9e3779b97f4a7c15ull * (1 + uint64_t(GetParam())));
    const PropertyRun run = run_property(seed, std::max<uint64_t>(1000, target_pairs() / 5), options);
    if (!run.unavailable.empty())
        GTEST_SKIP() << algorithm_name(GetParam()) << " is not available here: " << run.unavailable;
    const Tally& t = run.tally;
    const std::string what = std::string("classifier_property[") + algorithm_name(GetParam()) + "]";
    print_summary(what.c_str(), t, seconds_since(started));
    EXPECT_EQ(t.mismatches, 0u) << t.report;
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, ClassifierAlgorithms,
                         ::testing::Values(dp::AclAlgorithm::Scalar, dp::AclAlgorithm::Sse,
                                           dp::AclAlgorithm::Avx2, dp::AclAlgorithm::Avx512x16,
                                           dp::AclAlgorithm::Avx512x32),
                         [](const auto& info) { return std::string(algorithm_name(info.param)); });

}  // namespace
