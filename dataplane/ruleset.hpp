// The compiled, immutable classifier that workers read: rte_acl contexts (one IPv4 and
// one IPv6 context per group of 16 sessions, one ACL category per session) plus the
// sessions that match every packet. Control builds a new RuleSet for every change and
// publishes it with RCU; workers never see one being built or freed.
//
// Search keys are built by the worker from a PacketView. Absent fields (DESIGN §2.2)
// are expressed by a presence byte in the key: a rule on a field requires its bit, so a
// constraint on an absent field fails, exactly as the contract says.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/counters.hpp"
#include "dataplane/filter.hpp"

struct rte_acl_ctx;

namespace trawl::dataplane {

class PatternSet;

// rte_acl reads the first byte alone, then 4-byte groups; keys are in network order.
struct AclKeyV4 {
    uint8_t protocol;  // group 0
    uint8_t pad0[3];
    uint8_t present;  // group 1: PacketField bits
    uint8_t tcp_flags;
    uint8_t pad1[2];
    uint8_t source[4];       // group 2
    uint8_t destination[4];  // group 3
    uint16_t source_port;    // group 4
    uint16_t destination_port;
};
static_assert(sizeof(AclKeyV4) == 20);

struct AclKeyV6 {
    uint8_t protocol;
    uint8_t pad0[3];
    uint8_t present;
    uint8_t tcp_flags;
    uint8_t pad1[2];
    uint8_t source[16];       // groups 2-5
    uint8_t destination[16];  // groups 6-9
    uint16_t source_port;     // group 10
    uint16_t destination_port;
};
static_assert(sizeof(AclKeyV6) == 44);

struct SlotRules {
    unsigned slot = 0;    // 0..kMaxSlots-1: bit in the session mask, ACL category
    unsigned writer = 0;  // writer thread that owns the session's files
    SessionRules rules;
};

enum class AclAlgorithm : uint8_t { Default, Scalar, Sse, Avx2, Avx512x16, Avx512x32 };

struct RuleSetOptions {
    AclAlgorithm algorithm = AclAlgorithm::Default;
    unsigned workers = 1;  // one Hyperscan scratch each
    uint64_t max_rules = 200000;
    int socket_id = -1;  // SOCKET_ID_ANY
};

class RuleSet {
public:
    struct Group {
        rte_acl_ctx* v4 = nullptr;
        rte_acl_ctx* v6 = nullptr;
        uint32_t categories = 0;  // as passed to rte_acl_classify (1 or a multiple of 4)
    };

    // Compiles `sessions`. Returns nullptr and sets `error` if a context cannot be
    // built (too many rules, out of memory, an algorithm the CPU lacks).
    static std::unique_ptr<RuleSet> build(const std::vector<SlotRules>& sessions,
                                          unsigned writers, const RuleSetOptions& options,
                                          std::string& error);
    ~RuleSet();
    RuleSet(const RuleSet&) = delete;
    RuleSet& operator=(const RuleSet&) = delete;

    uint64_t generation = 0;
    uint64_t active_slots = 0;      // every session in this set
    uint64_t universal_slots = 0;   // sessions whose filters match every packet
    uint64_t writer_slots[kMaxWriters] = {};
    Group groups[kMaxGroups];
    unsigned group_count = 0;
    bool has_acl = false;            // any context at all: else skip parsing keys
    uint64_t pattern_slots = 0;      // sessions that also need a payload pattern
    std::unique_ptr<PatternSet> patterns;
    uint64_t rule_count = 0;
    double build_seconds = 0;

private:
    RuleSet() = default;
};

}  // namespace trawl::dataplane
