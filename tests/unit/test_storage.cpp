// The storage uploader's pure parts (docs/storage.md): SAS URL parsing and the
// redaction that keeps the signature out of every message, block planning against the
// service's limits, block ids, and the retry backoff.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "control/storage/azure_blob.hpp"
#include "control/storage/sas_url.hpp"
#include "control/storage/upload_queue.hpp"

using namespace trawl::control::storage;

namespace {

std::optional<SasUrl> parse(const std::string& text, std::string* error_out = nullptr) {
    std::string error;
    auto url = parse_sas_url(text, error);
    if (error_out) *error_out = error;
    return url;
}

}  // namespace

TEST(SasUrl, SplitsAContainerUrl) {
    const auto url = parse("https://acct.blob.core.windows.net/captures?sv=2021-08-06&sr=c&sp=cw&sig=abc%2Bdef%3D");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->scheme, "https");
    EXPECT_EQ(url->authority, "acct.blob.core.windows.net");
    EXPECT_EQ(url->path, "/captures");
    EXPECT_EQ(url->query, "sv=2021-08-06&sr=c&sp=cw&sig=abc%2Bdef%3D");
    EXPECT_EQ(url->secret_url(), "https://acct.blob.core.windows.net/captures?sv=2021-08-06&sr=c&sp=cw&sig=abc%2Bdef%3D");
    EXPECT_EQ(url->redacted_url(), "https://acct.blob.core.windows.net/captures?sv=2021-08-06&sr=c&sp=cw&sig=REDACTED");
    EXPECT_EQ(url->blob_url("web/web-000001.pcap"),
              "https://acct.blob.core.windows.net/captures/web/web-000001.pcap?sv=2021-08-06&sr=c&sp=cw&sig=abc%2Bdef%3D");
    EXPECT_EQ(url->blob_url("b", "comp=block&blockid=QQ%3D%3D"),
              "https://acct.blob.core.windows.net/captures/b?comp=block&blockid=QQ%3D%3D&sv=2021-08-06&sr=c&sp=cw&"
              "sig=abc%2Bdef%3D");
    EXPECT_EQ(url->blob_address("web/web-000001.pcap"),
              "https://acct.blob.core.windows.net/captures/web/web-000001.pcap");
}

TEST(SasUrl, PathStyleAndPrefixesAndTrailingSlash) {
    const auto azurite = parse("http://127.0.0.1:10000/devstoreaccount1/caps/?sv=1&sig=x");
    ASSERT_TRUE(azurite);
    EXPECT_EQ(azurite->authority, "127.0.0.1:10000");
    EXPECT_EQ(azurite->path, "/devstoreaccount1/caps");
    const auto prefix = parse("https://a.blob.core.windows.net/c/site-7?sig=x");
    ASSERT_TRUE(prefix);
    EXPECT_EQ(prefix->blob_address("s/f.pcap"), "https://a.blob.core.windows.net/c/site-7/s/f.pcap");
    EXPECT_TRUE(parse("HTTPS://a.blob.core.windows.net/c?sig=x"));
    EXPECT_TRUE(parse("http://localhost:10000/a/c?sig=x"));
    EXPECT_TRUE(parse("http://[::1]:10000/a/c?sig=x"));
    EXPECT_TRUE(parse("http://127.8.9.10/a/c?sig=x"));
}

TEST(SasUrl, RefusesWhatCannotWorkOrWouldLeak) {
    const char* bad[] = {
        "",
        "not a url",
        "a.blob.core.windows.net/c?sig=x",
        "ftp://a.blob.core.windows.net/c?sig=x",
        "http://a.blob.core.windows.net/c?sig=x",  // the signature in clear text
        "http://10.0.0.1:10000/a/c?sig=x",
        "http://127.0.0.1.example.com/c?sig=x",
        "https:///c?sig=x",
        "https://a.blob.core.windows.net?sig=x",
        "https://a.blob.core.windows.net/?sig=x",
        "https://a.blob.core.windows.net/c",
        "https://a.blob.core.windows.net/c?",
        "https://a.blob.core.windows.net/c?sv=1",
        "https://a.blob.core.windows.net/c?sig=",
        "https://a.blob.core.windows.net/c?xsig=1",
        "https://u:p@a.blob.core.windows.net/c?sig=x",
        "https://a.blob.core.windows.net/c?sig=x#frag",
        "https://a.blob.core.windows.net/c d?sig=x",
        "https://a.blob.core.windows.net/c\n?sig=x",
        "https://a.blob.core.windows.net/caf\xc3\xa9?sig=x",
        "https://a.blob.core.windows.net//c?sig=x",
        "https://a.blob.core.windows.net/c/../d?sig=x",
        "https://a.blob.core.windows.net/c/..?sig=x",
    };
    for (const char* text : bad) {
        std::string error;
        EXPECT_FALSE(parse(text, &error)) << text;
        EXPECT_FALSE(error.empty()) << text;
    }
    EXPECT_FALSE(parse(std::string(5000, 'a')));
}

TEST(SasUrl, ErrorsNeverQuoteTheSignature) {
    for (const char* text : {"http://a.blob.core.windows.net/c?sig=TOPSECRET", "https://a.b/?sig=TOPSECRET",
                             "https://u@a.b/c?sig=TOPSECRET", "https://a.b/c?sig=TOPSECRET#x",
                             "gopher://a.b/c?sig=TOPSECRET"}) {
        std::string error;
        EXPECT_FALSE(parse(text, &error));
        EXPECT_EQ(error.find("TOPSECRET"), std::string::npos) << error;
    }
}

TEST(Redact, ReplacesEverySignatureValue) {
    EXPECT_EQ(redact("https://a/c?sv=1&sig=abc%2B&se=2"), "https://a/c?sv=1&sig=REDACTED&se=2");
    EXPECT_EQ(redact("https://a/c?SIG=abc"), "https://a/c?SIG=REDACTED");
    EXPECT_EQ(redact("two: ?sig=a and \"x?sig=b\" <sig=c>"), "two: ?sig=REDACTED and \"x?sig=REDACTED\" <sig=REDACTED>");
    EXPECT_EQ(redact("encoded: sv%3D1%26sig%3Dabc%2B"), "encoded: sv%3D1%26sig%3DREDACTED");
    EXPECT_EQ(redact("sig="), "sig=");
    EXPECT_EQ(redact("no secret here"), "no secret here");
    EXPECT_EQ(redact(""), "");
    // Idempotent.
    EXPECT_EQ(redact(redact("x?sig=abc")), "x?sig=REDACTED");
}

TEST(Blocks, SplitsIntoFixedSizeBlocksWithEqualLengthIds) {
    const auto blocks = plan_blocks(10 * 1024 + 5, 1024);
    ASSERT_EQ(blocks.size(), 11u);
    uint64_t next = 0;
    std::set<std::string> ids;
    for (size_t i = 0; i < blocks.size(); ++i) {
        EXPECT_EQ(blocks[i].offset, next);
        EXPECT_EQ(blocks[i].length, i + 1 < blocks.size() ? 1024u : 5u);
        EXPECT_EQ(blocks[i].id.size(), blocks[0].id.size());
        ids.insert(blocks[i].id);
        next += blocks[i].length;
    }
    EXPECT_EQ(next, 10u * 1024 + 5);
    EXPECT_EQ(ids.size(), blocks.size());
    EXPECT_TRUE(plan_blocks(0, 1024).empty());
    EXPECT_EQ(plan_blocks(1024, 1024).size(), 1u);
    EXPECT_EQ(plan_blocks(1025, 1024).size(), 2u);
}

TEST(Blocks, GrowWhenAFileWouldNeedMoreThan50000) {
    const uint64_t size = 60000ull * 1024;  // 60,000 blocks of 1 KiB would be too many
    const auto blocks = plan_blocks(size, 1024);
    EXPECT_LE(blocks.size(), kMaxBlocksPerBlob);
    uint64_t total = 0;
    for (const auto& b : blocks) total += b.length;
    EXPECT_EQ(total, size);
    EXPECT_GT(blocks[0].length, 1024u);
}

TEST(Blocks, IdsAreBase64OfAFixedWidthName) {
    EXPECT_EQ(block_id(0), base64_encode(reinterpret_cast<const uint8_t*>("trawl-block-000000"), 18));
    EXPECT_EQ(block_id(49999).size(), block_id(0).size());
    EXPECT_EQ(base64_encode(reinterpret_cast<const uint8_t*>("f"), 1), "Zg==");
    EXPECT_EQ(base64_encode(reinterpret_cast<const uint8_t*>("fo"), 2), "Zm8=");
    EXPECT_EQ(base64_encode(reinterpret_cast<const uint8_t*>("foo"), 3), "Zm9v");
    EXPECT_EQ(base64_encode(reinterpret_cast<const uint8_t*>("foobar"), 6), "Zm9vYmFy");
}

TEST(Backoff, DoublesFromInitialUpToMax) {
    EXPECT_EQ(backoff_delay_ms(1, 1000, 60000), 1000u);
    EXPECT_EQ(backoff_delay_ms(2, 1000, 60000), 2000u);
    EXPECT_EQ(backoff_delay_ms(3, 1000, 60000), 4000u);
    EXPECT_EQ(backoff_delay_ms(6, 1000, 60000), 32000u);
    EXPECT_EQ(backoff_delay_ms(7, 1000, 60000), 60000u);
    EXPECT_EQ(backoff_delay_ms(1000, 1000, 60000), 60000u);  // no overflow after many failures
    EXPECT_EQ(backoff_delay_ms(1, 5000, 100), 100u);          // the cap wins
    uint64_t previous = 0;
    for (unsigned f = 1; f < 80; ++f) {
        const uint64_t d = backoff_delay_ms(f, 250, 3'600'000);
        EXPECT_GE(d, previous);
        EXPECT_LE(d, 3'600'000u);
        previous = d;
    }
}

TEST(Backoff, JitterStaysInTheUpperHalf) {
    EXPECT_EQ(jittered_delay_ms(1000, 0.0), 500u);
    EXPECT_EQ(jittered_delay_ms(1000, 0.999999), 999u);
    EXPECT_EQ(jittered_delay_ms(1001, 0.0), 500u);
    for (double u = 0; u < 1; u += 0.01) {
        const uint64_t d = jittered_delay_ms(4000, u);
        EXPECT_GE(d, 2000u);
        EXPECT_LE(d, 4000u);
    }
    EXPECT_EQ(jittered_delay_ms(0, 0.5), 0u);
}
