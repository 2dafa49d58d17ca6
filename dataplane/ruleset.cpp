#include "dataplane/ruleset.hpp"

#include <rte_acl.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include <tbb/parallel_for_each.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "dataplane/pattern_set.hpp"
#include "dataplane/rule_expansion.hpp"

namespace trawl::dataplane {
namespace {

enum FieldV4 { F4_PROTO, F4_PRESENT, F4_FLAGS, F4_PAD, F4_SRC, F4_DST, F4_SPORT, F4_DPORT, F4_NUM };
enum FieldV6 {
    F6_PROTO, F6_PRESENT, F6_FLAGS, F6_PAD,
    F6_SRC0, F6_SRC1, F6_SRC2, F6_SRC3,
    F6_DST0, F6_DST1, F6_DST2, F6_DST3,
    F6_SPORT, F6_DPORT, F6_NUM
};

RTE_ACL_RULE_DEF(AclRuleV4, F4_NUM);
RTE_ACL_RULE_DEF(AclRuleV6, F6_NUM);

rte_acl_field_def field(uint8_t type, uint8_t size, uint8_t index, uint8_t input, uint32_t offset) {
    rte_acl_field_def d{};
    d.type = type;
    d.size = size;
    d.field_index = index;
    d.input_index = input;
    d.offset = offset;
    return d;
}

// Fields common to both families: protocol, then the group of presence bits, TCP flags
// and two bytes of padding that fill the 4-byte input group.
template <typename Key>
void common_fields(rte_acl_config& c) {
    c.defs[0] = field(RTE_ACL_FIELD_TYPE_BITMASK, 1, 0, 0, offsetof(Key, protocol));
    c.defs[1] = field(RTE_ACL_FIELD_TYPE_BITMASK, 1, 1, 1, offsetof(Key, present));
    c.defs[2] = field(RTE_ACL_FIELD_TYPE_BITMASK, 1, 2, 1, offsetof(Key, tcp_flags));
    c.defs[3] = field(RTE_ACL_FIELD_TYPE_BITMASK, 2, 3, 1, offsetof(Key, pad1));
}

rte_acl_config config_v4(uint32_t categories) {
    rte_acl_config c{};
    c.num_categories = categories;
    c.num_fields = F4_NUM;
    common_fields<AclKeyV4>(c);
    c.defs[F4_SRC] = field(RTE_ACL_FIELD_TYPE_RANGE, 4, F4_SRC, 2, offsetof(AclKeyV4, source));
    c.defs[F4_DST] = field(RTE_ACL_FIELD_TYPE_RANGE, 4, F4_DST, 3, offsetof(AclKeyV4, destination));
    c.defs[F4_SPORT] = field(RTE_ACL_FIELD_TYPE_RANGE, 2, F4_SPORT, 4, offsetof(AclKeyV4, source_port));
    c.defs[F4_DPORT] =
        field(RTE_ACL_FIELD_TYPE_RANGE, 2, F4_DPORT, 4, offsetof(AclKeyV4, destination_port));
    return c;
}

rte_acl_config config_v6(uint32_t categories) {
    rte_acl_config c{};
    c.num_categories = categories;
    c.num_fields = F6_NUM;
    common_fields<AclKeyV6>(c);
    for (uint8_t i = 0; i < 4; ++i) {
        c.defs[F6_SRC0 + i] = field(RTE_ACL_FIELD_TYPE_MASK, 4, uint8_t(F6_SRC0 + i), uint8_t(2 + i),
                                    uint32_t(offsetof(AclKeyV6, source) + 4u * i));
        c.defs[F6_DST0 + i] = field(RTE_ACL_FIELD_TYPE_MASK, 4, uint8_t(F6_DST0 + i), uint8_t(6 + i),
                                    uint32_t(offsetof(AclKeyV6, destination) + 4u * i));
    }
    c.defs[F6_SPORT] = field(RTE_ACL_FIELD_TYPE_RANGE, 2, F6_SPORT, 10, offsetof(AclKeyV6, source_port));
    c.defs[F6_DPORT] =
        field(RTE_ACL_FIELD_TYPE_RANGE, 2, F6_DPORT, 10, offsetof(AclKeyV6, destination_port));
    return c;
}

void set_common(rte_acl_field* f, const TupleRule& r) {
    f[0].value.u8 = r.any_protocol ? 0 : r.protocol;
    f[0].mask_range.u8 = r.any_protocol ? 0 : 0xff;
    f[1].value.u8 = r.required_fields;
    f[1].mask_range.u8 = r.required_fields;
    f[2].value.u8 = r.tcp_flag_bit;
    f[2].mask_range.u8 = r.tcp_flag_bit;
    f[3].value.u16 = 0;
    f[3].mask_range.u16 = 0;
}

void set_ports(rte_acl_field& sport, rte_acl_field& dport, const TupleRule& r) {
    sport.value.u16 = r.source_ports.first;
    sport.mask_range.u16 = r.source_ports.last;
    dport.value.u16 = r.destination_ports.first;
    dport.mask_range.u16 = r.destination_ports.last;
}

AclRuleV4 encode_v4(const TupleRule& r) {
    AclRuleV4 a{};
    set_common(a.field, r);
    a.field[F4_SRC].value.u32 = r.any_source ? 0 : r.source_v4_first;
    a.field[F4_SRC].mask_range.u32 = r.any_source ? UINT32_MAX : r.source_v4_last;
    a.field[F4_DST].value.u32 = r.any_destination ? 0 : r.destination_v4_first;
    a.field[F4_DST].mask_range.u32 = r.any_destination ? UINT32_MAX : r.destination_v4_last;
    set_ports(a.field[F4_SPORT], a.field[F4_DPORT], r);
    return a;
}

void set_prefix(rte_acl_field* words, bool any, const std::array<uint8_t, 16>& addr, uint8_t length) {
    for (int i = 0; i < 4; ++i) {
        const int bits = any ? 0 : std::max(0, std::min(32, int(length) - 32 * i));
        const uint8_t* b = addr.data() + 4 * i;
        words[i].value.u32 = bits == 0 ? 0
                                        : (uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 |
                                           uint32_t(b[2]) << 8 | b[3]);
        words[i].mask_range.u32 = uint32_t(bits);
    }
}

AclRuleV6 encode_v6(const TupleRule& r) {
    AclRuleV6 a{};
    set_common(a.field, r);
    set_prefix(&a.field[F6_SRC0], r.any_source, r.source_v6, r.source_v6_prefix);
    set_prefix(&a.field[F6_DST0], r.any_destination, r.destination_v6, r.destination_v6_prefix);
    set_ports(a.field[F6_SPORT], a.field[F6_DPORT], r);
    return a;
}

enum rte_acl_classify_alg to_dpdk(AclAlgorithm a) {
    switch (a) {
    case AclAlgorithm::Scalar: return RTE_ACL_CLASSIFY_SCALAR;
    case AclAlgorithm::Sse: return RTE_ACL_CLASSIFY_SSE;
    case AclAlgorithm::Avx2: return RTE_ACL_CLASSIFY_AVX2;
    case AclAlgorithm::Avx512x16: return RTE_ACL_CLASSIFY_AVX512X16;
    case AclAlgorithm::Avx512x32: return RTE_ACL_CLASSIFY_AVX512X32;
    case AclAlgorithm::Default: break;
    }
    return RTE_ACL_CLASSIFY_DEFAULT;
}

// One context to build: the rules of one family for one group of 16 sessions.
struct ContextJob {
    int family = 4;
    unsigned group = 0;
    uint32_t categories = 0;
    std::vector<AclRuleV4> rules_v4;
    std::vector<AclRuleV6> rules_v6;
    rte_acl_ctx* ctx = nullptr;
    std::string error;
};

void build_context(ContextJob& job, uint64_t generation, const RuleSetOptions& options) {
    const size_t n = job.family == 4 ? job.rules_v4.size() : job.rules_v6.size();
    char name[RTE_ACL_NAMESIZE];
    // rte_acl_create returns an existing context of the same name: every generation
    // gets fresh names so the set being replaced is never touched.
    std::snprintf(name, sizeof name, "trawl%d_g%u_%llu", job.family, job.group,
                  static_cast<unsigned long long>(generation));
    rte_acl_param param{};
    param.name = name;
    param.socket_id = options.socket_id;
    param.rule_size = job.family == 4 ? RTE_ACL_RULE_SZ(F4_NUM) : RTE_ACL_RULE_SZ(F6_NUM);
    param.max_rule_num = uint32_t(n);
    job.ctx = rte_acl_create(&param);
    if (!job.ctx) {
        job.error = std::string("rte_acl_create: ") + rte_strerror(rte_errno);
        return;
    }
    int rc = job.family == 4
                 ? rte_acl_add_rules(job.ctx, reinterpret_cast<const rte_acl_rule*>(job.rules_v4.data()),
                                     uint32_t(n))
                 : rte_acl_add_rules(job.ctx, reinterpret_cast<const rte_acl_rule*>(job.rules_v6.data()),
                                     uint32_t(n));
    if (rc == 0) {
        const rte_acl_config cfg = job.family == 4 ? config_v4(job.categories) : config_v6(job.categories);
        rc = rte_acl_build(job.ctx, &cfg);
        if (rc != 0) job.error = std::string("rte_acl_build: ") + rte_strerror(-rc);
    } else {
        job.error = std::string("rte_acl_add_rules: ") + rte_strerror(-rc);
    }
    if (rc == 0 && options.algorithm != AclAlgorithm::Default) {
        rc = rte_acl_set_ctx_classify(job.ctx, to_dpdk(options.algorithm));
        if (rc != 0)
            job.error = std::string("ACL algorithm not available on this CPU or with this EAL "
                                    "(--force-max-simd-bitwidth): ") + rte_strerror(-rc);
    }
    job.rules_v4.clear();
    job.rules_v4.shrink_to_fit();
    job.rules_v6.clear();
    job.rules_v6.shrink_to_fit();
}

std::atomic<uint64_t> g_generation{0};

}  // namespace

std::unique_ptr<RuleSet> RuleSet::build(const std::vector<SlotRules>& sessions, unsigned writers,
                                        const RuleSetOptions& options, std::string& error) {
    const auto started = std::chrono::steady_clock::now();
    std::unique_ptr<RuleSet> rs(new RuleSet());
    rs->generation = ++g_generation;

    uint64_t total = 0;
    for (const auto& s : sessions) {
        if (s.slot >= kMaxSlots || s.writer >= kMaxWriters || s.writer >= writers) {
            error = "internal: session slot or writer out of range";
            return nullptr;
        }
        const uint64_t bit = uint64_t(1) << s.slot;
        rs->active_slots |= bit;
        rs->writer_slots[s.writer] |= bit;
        if (s.rules.tuple_match_is_universal()) rs->universal_slots |= bit;
        total += count_tuple_rules(s.rules);
    }
    if (total > options.max_rules) {
        error = "the running sessions would need " + std::to_string(total) +
                " classifier rules; the limit (classifier.max_rules) is " +
                std::to_string(options.max_rules);
        return nullptr;
    }

    // One job per (group, family) that has rules.
    std::vector<ContextJob> jobs(kMaxGroups * 2);
    for (unsigned g = 0; g < kMaxGroups; ++g) {
        jobs[g * 2].family = 4;
        jobs[g * 2].group = g;
        jobs[g * 2 + 1].family = 6;
        jobs[g * 2 + 1].group = g;
    }
    int32_t priority = 1;
    for (const auto& s : sessions) {
        const unsigned g = s.slot / kSlotsPerGroup;
        const uint32_t category_mask = 1u << (s.slot % kSlotsPerGroup);
        expand_tuple_rules(s.rules, [&](const TupleRule& r) {
            ContextJob& job = jobs[g * 2 + (r.family == 6 ? 1 : 0)];
            if (r.family == 4) {
                AclRuleV4 a = encode_v4(r);
                a.data = {category_mask, priority++, 1};
                job.rules_v4.push_back(a);
            } else {
                AclRuleV6 a = encode_v6(r);
                a.data = {category_mask, priority++, 1};
                job.rules_v6.push_back(a);
            }
        });
    }
    std::vector<ContextJob*> todo;
    for (auto& job : jobs) {
        if (job.rules_v4.empty() && job.rules_v6.empty()) continue;
        // Categories used in this group, rounded as rte_acl_classify wants them; the
        // same for both families of a group, since it counts sessions, not rules.
        unsigned highest = 0;
        for (const auto& s : sessions)
            if (s.slot / kSlotsPerGroup == job.group)
                highest = std::max(highest, s.slot % kSlotsPerGroup + 1);
        job.categories = highest <= 1 ? 1 : (highest + 3) / 4 * 4;
        todo.push_back(&job);
    }
    const uint64_t generation = rs->generation;
    // Contexts are independent: large sets are built on all cores the control side may
    // use. Small ones are built here: waking a thread pool costs more than they do, and
    // on a busy appliance its threads compete with the writers for the same cores.
    constexpr uint64_t kParallelBuildRules = 2000;
    if (total >= kParallelBuildRules && todo.size() > 1)
        tbb::parallel_for_each(todo.begin(), todo.end(),
                               [&](ContextJob* job) { build_context(*job, generation, options); });
    else
        for (ContextJob* job : todo) build_context(*job, generation, options);

    for (auto* job : todo) {
        Group& group = rs->groups[job->group];
        (job->family == 4 ? group.v4 : group.v6) = job->ctx;
        group.categories = std::max(group.categories, job->categories);
        rs->group_count = std::max(rs->group_count, job->group + 1);
        rs->has_acl = true;
        if (!job->error.empty() && error.empty()) error = job->error;
    }
    if (!error.empty()) return nullptr;  // destructor frees what was built

    std::vector<PatternSet::SessionPatterns> with_patterns;
    for (const auto& s : sessions)
        if (!s.rules.payload_patterns.empty()) with_patterns.push_back({s.slot, s.rules.payload_patterns});
    if (!with_patterns.empty()) {
        rs->patterns = PatternSet::compile(with_patterns, options.workers, error);
        if (!rs->patterns) return nullptr;
        rs->pattern_slots = rs->patterns->slots();
    }
    rs->rule_count = total;
    rs->build_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return rs;
}

RuleSet::~RuleSet() {
    patterns.reset();
    for (auto& g : groups) {
        if (g.v4) rte_acl_free(g.v4);
        if (g.v6) rte_acl_free(g.v6);
    }
}

}  // namespace trawl::dataplane
