// Payload patterns (DESIGN §2.1 payloadPatterns) compiled with Hyperscan.
//
// One block-mode database holds the patterns of every session that has them; each
// pattern carries its session's slot as its id and HS_FLAG_SINGLEMATCH, so a scan
// reports each session at most once and stops as soon as every candidate session has
// matched. Compiled off the hot path with the RuleSet; one scratch per worker is
// cloned from the prototype at build time, so a worker never allocates.
// No DPDK here: control validates patterns with the same code.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct hs_database;
struct hs_scratch;

namespace trawl::dataplane {

struct PatternError {
    size_t index = 0;     // which pattern of the list
    std::string message;  // Hyperscan's own words
};

// Compiles `patterns` alone to check them (REST validation). nullopt when all compile.
std::optional<PatternError> check_patterns(const std::vector<std::string>& patterns);

class PatternSet {
public:
    struct SessionPatterns {
        unsigned slot = 0;
        std::vector<std::string> patterns;
    };

    // nullptr with `error` set if Hyperscan refuses (names the session and pattern).
    static std::unique_ptr<PatternSet> compile(const std::vector<SessionPatterns>& sessions,
                                               unsigned workers, std::string& error);
    ~PatternSet();
    PatternSet(const PatternSet&) = delete;
    PatternSet& operator=(const PatternSet&) = delete;

    uint64_t slots() const { return slots_; }
    size_t pattern_count() const { return pattern_count_; }

    // Scans `data` with worker `worker`'s scratch; returns which of `candidates` have a
    // pattern in it. Hot path: no allocation, no lock.
    uint64_t scan(unsigned worker, const uint8_t* data, uint32_t length, uint64_t candidates) const;

private:
    PatternSet() = default;
    hs_database* database_ = nullptr;
    std::vector<hs_scratch*> scratch_;  // one per worker, plus the prototype at the end
    uint64_t slots_ = 0;
    size_t pattern_count_ = 0;
};

}  // namespace trawl::dataplane
