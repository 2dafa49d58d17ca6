#include "dataplane/pattern_set.hpp"

#include <hs/hs.h>

#include "dataplane/large_stack.hpp"

namespace trawl::dataplane {
namespace {

// Every pattern: one report per session, empty matches allowed (".*" is a reasonable
// thing to write), case and dot-all only through inline flags (?i) (?s).
constexpr unsigned kPatternFlags = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;

struct ScanState {
    uint64_t candidates;
    uint64_t matched;
};

int on_match(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* context) {
    auto* state = static_cast<ScanState*>(context);
    state->matched |= uint64_t(1) << id;
    // Stop as soon as every candidate session has a match.
    return (state->matched & state->candidates) == state->candidates ? 1 : 0;
}

}  // namespace

std::optional<PatternError> check_patterns(const std::vector<std::string>& patterns) {
    if (patterns.empty()) return std::nullopt;
    std::vector<const char*> exprs;
    std::vector<unsigned> flags(patterns.size(), kPatternFlags), ids(patterns.size(), 0);
    for (const auto& p : patterns) exprs.push_back(p.c_str());
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    // Called from request threads with small stacks; Hyperscan's compiler recurses.
    const hs_error_t rc = on_large_stack([&] {
        return hs_compile_multi(exprs.data(), flags.data(), ids.data(), unsigned(exprs.size()), HS_MODE_BLOCK,
                                nullptr, &db, &err);
    });
    if (rc == HS_SUCCESS) {
        hs_free_database(db);
        return std::nullopt;
    }
    PatternError e;
    e.index = err && err->expression >= 0 ? size_t(err->expression) : 0;
    e.message = err && err->message ? err->message : "Hyperscan refused the patterns";
    hs_free_compile_error(err);
    return e;
}

std::unique_ptr<PatternSet> PatternSet::compile(const std::vector<SessionPatterns>& sessions, unsigned workers,
                                                std::string& error) {
    std::unique_ptr<PatternSet> set(new PatternSet());
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    std::vector<std::pair<unsigned, size_t>> origin;  // (slot, index) of each expression
    for (const auto& s : sessions) {
        if (s.patterns.empty()) continue;
        set->slots_ |= uint64_t(1) << s.slot;
        for (size_t i = 0; i < s.patterns.size(); ++i) {
            exprs.push_back(s.patterns[i].c_str());
            flags.push_back(kPatternFlags);
            ids.push_back(s.slot);
            origin.emplace_back(s.slot, i);
        }
    }
    set->pattern_count_ = exprs.size();
    if (exprs.empty()) return set;
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), unsigned(exprs.size()), HS_MODE_BLOCK, nullptr,
                         &set->database_, &err) != HS_SUCCESS) {
        const int at = err ? err->expression : -1;
        error = "payloadPatterns";
        if (at >= 0 && size_t(at) < origin.size())
            error += "[" + std::to_string(origin[size_t(at)].second) + "] of the session in slot " +
                     std::to_string(origin[size_t(at)].first);
        error += ": " + std::string(err && err->message ? err->message : "Hyperscan refused the patterns");
        hs_free_compile_error(err);
        return nullptr;
    }
    hs_scratch_t* prototype = nullptr;
    if (hs_alloc_scratch(set->database_, &prototype) != HS_SUCCESS) {
        error = "cannot allocate Hyperscan scratch";
        return nullptr;
    }
    for (unsigned w = 0; w < workers; ++w) {
        hs_scratch_t* clone = nullptr;
        if (hs_clone_scratch(prototype, &clone) != HS_SUCCESS) {
            hs_free_scratch(prototype);
            error = "cannot clone Hyperscan scratch";
            return nullptr;
        }
        set->scratch_.push_back(clone);
    }
    set->scratch_.push_back(prototype);
    return set;
}

PatternSet::~PatternSet() {
    for (hs_scratch* s : scratch_) hs_free_scratch(s);
    if (database_) hs_free_database(database_);
}

uint64_t PatternSet::scan(unsigned worker, const uint8_t* data, uint32_t length, uint64_t candidates) const {
    // scratch_ holds one scratch per worker and the prototype last.
    if (database_ == nullptr || worker + 1 >= scratch_.size()) return 0;
    ScanState state{candidates, 0};
    hs_scan(database_, reinterpret_cast<const char*>(data), length, 0, scratch_[worker], on_match, &state);
    return state.matched & candidates;
}

}  // namespace trawl::dataplane
