// Azure Blob Storage REST, the subset trawl needs to put a closed capture file into a
// container it reaches through a SAS URL (control/storage/sas_url.hpp):
//
//   Put Blob        one request, for files up to `single_put_max_bytes`
//   Put Block       the file in `block_size_bytes` pieces, each with its Content-MD5 …
//   Put Block List  … then one commit of the block ids in order, with the MD5 of the
//                   whole file as the blob's Content-MD5 property
//
// Every body carries Content-MD5, which the service checks before it accepts the bytes:
// a corrupted request is refused (400 Md5Mismatch) and retried, never stored. A blob is
// written under a fixed name, so a retried or repeated upload replaces it and never
// duplicates it; uncommitted blocks of an abandoned attempt are dropped by the service.
//
// One BlobClient per upload thread: it keeps its libcurl handle, and with it the
// connection, between requests. Nothing here retries — that is upload_queue's job — but
// every failure says whether a retry can help.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "control/storage/sas_url.hpp"
#include "control/storage/upload_config.hpp"

namespace trawl::control::storage {

// Service limits (x-ms-version 2019-12-12 and later).
inline constexpr uint64_t kMaxBlocksPerBlob = 50'000;
inline constexpr uint64_t kMaxBlockBytes = 4000ull << 20;    // Put Block
inline constexpr uint64_t kMaxPutBlobBytes = 5000ull << 20;  // Put Blob

struct Block {
    uint64_t offset = 0;
    uint64_t length = 0;
    std::string id;  // base64, the same length for every block of a blob
};

// Splits a file into blocks of `block_size` bytes (the last one shorter). When that
// would make more than kMaxBlocksPerBlob blocks, the blocks grow to the smallest size
// that fits. A 0-byte file has no blocks.
std::vector<Block> plan_blocks(uint64_t file_size, uint64_t block_size);
// Block ids: base64 of "trawl-block-NNNNNN" (fixed width, as the service requires).
std::string block_id(uint64_t index);

std::string base64_encode(const uint8_t* data, size_t size);


// The result of one request or of a whole upload.
struct BlobResult {
    bool ok = false;
    bool retryable = false;   // a later attempt may succeed (network, 5xx, 408, 429)
    bool cancelled = false;   // stopped by the cancel flag (shutdown): not an attempt
    bool restart = false;     // the committed block list refers to blocks the service
                              // no longer has: upload every block again
    long http_status = 0;     // 0: no HTTP response
    std::string code;         // x-ms-error-code, or libcurl's error name
    std::string message;      // one line for people; signatures redacted
};

// Where an upload stands, kept by the caller across attempts of one file so that a
// retry continues with the first block not yet accepted.
struct UploadProgress {
    std::vector<Block> blocks;  // empty until the first block attempt
    size_t blocks_done = 0;
    uint64_t bytes_sent = 0;    // accepted by the service
    std::string file_md5;       // base64, computed once per file
};

class BlobClient {
public:
    // `cancel` is polled during transfers; when it turns true the request is aborted.
    BlobClient(BlobClientOptions options, const std::atomic<bool>* cancel);
    ~BlobClient();
    BlobClient(const BlobClient&) = delete;
    BlobClient& operator=(const BlobClient&) = delete;

    // Uploads `size` bytes of the open file `fd` to `blob_name` under the container.
    // `on_bytes` is called with each accepted body's size (metrics).
    BlobResult upload(const SasUrl& container, const std::string& blob_name, int fd, uint64_t size,
                      UploadProgress& progress, const std::function<void(uint64_t)>& on_bytes);

    const BlobClientOptions& options() const { return options_; }

private:
    struct Body;
    BlobResult put(const std::string& url, const std::vector<std::string>& headers, const Body& body);
    BlobResult put_blob(const SasUrl& c, const std::string& blob, int fd, uint64_t size, UploadProgress& p);
    BlobResult put_blocks(const SasUrl& c, const std::string& blob, int fd, uint64_t size, UploadProgress& p,
                          const std::function<void(uint64_t)>& on_bytes);

    BlobClientOptions options_;
    const std::atomic<bool>* cancel_;
    void* curl_;  // CURL*, kept for connection reuse
};

// Calls curl_global_init once; call before starting upload threads.
void init_http_client_library();

}  // namespace trawl::control::storage
