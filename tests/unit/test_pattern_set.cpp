// PatternSet: Hyperscan compile errors, inline flags, per-session reporting, and the
// payload the worker scans (DESIGN §2.1) taken from the parser.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dataplane/packet_view.hpp"
#include "dataplane/pattern_set.hpp"

using namespace trawl::dataplane;

namespace {

uint64_t scan(const PatternSet& set, const std::string& payload, uint64_t candidates) {
    return set.scan(0, reinterpret_cast<const uint8_t*>(payload.data()), uint32_t(payload.size()), candidates);
}

std::unique_ptr<PatternSet> compile(std::vector<PatternSet::SessionPatterns> sessions) {
    std::string error;
    auto set = PatternSet::compile(sessions, 2, error);
    EXPECT_TRUE(set) << error;
    return set;
}

}  // namespace

TEST(PatternSetCompile, ErrorsNameThePatternAndCarryHyperscansMessage) {
    EXPECT_FALSE(check_patterns({"GET /", "(?i)host:"}));
    const auto e = check_patterns({"fine", "a{3", "(unclosed"});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->index, 2u);  // "a{3" is a literal in PCRE syntax; "(unclosed" is not
    EXPECT_FALSE(e->message.empty());
    const auto backref = check_patterns({"(a)\\1"});  // Hyperscan has no back-references
    ASSERT_TRUE(backref);
    EXPECT_EQ(backref->index, 0u);
    EXPECT_NE(backref->message.find("Back-references"), std::string::npos) << backref->message;

    std::string error;
    EXPECT_FALSE(PatternSet::compile({{3, {"ok", "bad("}}}, 1, error));
    EXPECT_NE(error.find("payloadPatterns[1]"), std::string::npos) << error;
    EXPECT_NE(error.find("slot 3"), std::string::npos) << error;
}

TEST(PatternSetScan, InlineFlags) {
    auto set = compile({{0, {"user-agent: curl"}}, {1, {"(?i)user-agent: curl"}}, {2, {"a.b"}}, {3, {"(?s)a.b"}}});
    EXPECT_EQ(scan(*set, "GET / HTTP/1.1\r\nUser-Agent: curl/8", 0b11), 0b10u);  // case needs (?i)
    EXPECT_EQ(scan(*set, "xx user-agent: curl", 0b11), 0b11u);
    EXPECT_EQ(scan(*set, "a\nb", 0b1100), 0b1000u);  // '.' takes a newline only with (?s)
    EXPECT_EQ(scan(*set, "axb", 0b1100), 0b1100u);
}

TEST(PatternSetScan, OnlyCandidatesAreReportedAndEachSessionOnce) {
    auto set = compile({{0, {"abc", "def"}}, {5, {"abc"}}, {63, {"zzz"}}});
    EXPECT_EQ(set->slots(), (uint64_t(1) << 0) | (uint64_t(1) << 5) | (uint64_t(1) << 63));
    EXPECT_EQ(set->pattern_count(), 4u);
    EXPECT_EQ(scan(*set, "--abc--def--", uint64_t(1) << 0), 1u);
    EXPECT_EQ(scan(*set, "--abc--", (uint64_t(1) << 0) | (uint64_t(1) << 5)), (uint64_t(1) << 0) | (uint64_t(1) << 5));
    EXPECT_EQ(scan(*set, "--abc--", uint64_t(1) << 63), 0u);  // 63 did not match; 0 and 5 not asked
    EXPECT_EQ(scan(*set, "zzz", uint64_t(1) << 63), uint64_t(1) << 63);
    EXPECT_EQ(scan(*set, "", uint64_t(1) << 0), 0u);
}

TEST(PatternSetScan, EmptyMatchingPatternsMatchEmptyPayloads) {
    auto set = compile({{1, {"(?s).*"}}});
    EXPECT_EQ(scan(*set, "", 0b10), 0b10u);
    EXPECT_EQ(scan(*set, "anything", 0b10), 0b10u);
}

TEST(PatternSetScan, EachWorkerHasItsOwnScratch) {
    auto set = compile({{0, {"needle"}}});
    const std::string payload = "hay needle hay";
    EXPECT_EQ(set->scan(0, reinterpret_cast<const uint8_t*>(payload.data()), uint32_t(payload.size()), 1), 1u);
    EXPECT_EQ(set->scan(1, reinterpret_cast<const uint8_t*>(payload.data()), uint32_t(payload.size()), 1), 1u);
    // Worker 2 does not exist (compiled for 2 workers): no scratch, no match, no crash.
    EXPECT_EQ(set->scan(2, reinterpret_cast<const uint8_t*>(payload.data()), uint32_t(payload.size()), 1), 0u);
}

// The worker scans view.payload_offset/payload_length of parse_packet: a TCP payload
// after the data offset, so a pattern in the TCP options is not part of it.
TEST(PatternSetScan, ScansThePayloadAfterTheTcpHeader) {
    std::vector<uint8_t> p(14 + 20 + 32 + 6, 0);
    p[12] = 0x08;
    p[14] = 0x45;
    p[14 + 9] = 6;
    const size_t tcp = 34;
    p[tcp + 12] = 8 << 4;  // 32-byte header with options
    std::memcpy(&p[tcp + 20], "needle", 6);  // inside the options
    std::memcpy(&p[tcp + 32], "secret", 6);  // the payload
    const PacketView v = parse_packet(p.data(), uint32_t(p.size()));
    ASSERT_EQ(v.payload_offset, tcp + 32);
    ASSERT_EQ(v.payload_length, 6u);
    auto set = compile({{0, {"needle"}}, {1, {"secret"}}});
    EXPECT_EQ(set->scan(0, p.data() + v.payload_offset, v.payload_length, 0b11), 0b10u);
}
