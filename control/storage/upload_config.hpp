// Settings of the upload engine: the YAML config's `storage:` section
// (docs/configuration.md, docs/storage.md). Plain data, so the config loader needs
// neither libcurl nor the upload threads.
#pragma once

#include <cstdint>
#include <string>

namespace trawl::control::storage {

struct BlobClientOptions {
    std::string api_version = "2023-11-03";  // x-ms-version
    // Files up to this size go up in one Put Blob; larger ones in blocks.
    uint64_t single_put_max_bytes = 32ull << 20;
    uint64_t block_size_bytes = 8ull << 20;
    unsigned connect_timeout_ms = 10'000;
    // A request that moves no byte for this long is abandoned (and retried): catches a
    // dead peer without putting a limit on how long a large block may take.
    unsigned stall_timeout_s = 60;
    uint64_t max_send_bytes_per_second = 0;  // per upload thread; 0: unlimited
    std::string ca_file;                     // empty: the system's CA store
};

struct UploadConfig {
    BlobClientOptions blob;
    unsigned threads = 2;
    // Exponential backoff between attempts of one file: initial, doubled per failure,
    // capped at max, each delay drawn uniformly from its upper half (jitter, so many
    // appliances that lost the same service do not come back in step).
    uint64_t retry_initial_ms = 1'000;
    uint64_t retry_max_ms = 60'000;
    // A file whose upload keeps failing is given up this long after its first attempt
    // (counted again from a restart of trawld).
    uint64_t retry_deadline_s = 3'600;
};

}  // namespace trawl::control::storage
