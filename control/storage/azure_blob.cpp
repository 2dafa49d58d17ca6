#include "control/storage/azure_blob.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

namespace trawl::control::storage {
namespace {

constexpr size_t kReadChunk = 1 << 20;
constexpr size_t kMaxResponseBody = 64 << 10;  // error bodies are a few hundred bytes

// A file range read with pread: the file is immutable once closed, so the MD5 pass and
// the sending pass see the same bytes (the second usually from the page cache).
bool md5_of_range(int fd, uint64_t offset, uint64_t length, EVP_MD_CTX* also, std::string& out,
                  std::string& error) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr);
    std::vector<uint8_t> buffer(std::min<uint64_t>(kReadChunk, std::max<uint64_t>(length, 1)));
    uint64_t done = 0;
    while (done < length) {
        const size_t want = size_t(std::min<uint64_t>(buffer.size(), length - done));
        const ssize_t n = ::pread(fd, buffer.data(), want, off_t(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = n < 0 ? std::strerror(errno) : "the file is shorter than recorded";
            return false;
        }
        EVP_DigestUpdate(ctx.get(), buffer.data(), size_t(n));
        if (also) EVP_DigestUpdate(also, buffer.data(), size_t(n));
        done += uint64_t(n);
    }
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &len);
    out = base64_encode(digest, len);
    return true;
}

std::string md5_final(EVP_MD_CTX* ctx) {
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    return base64_encode(digest, len);
}

// <Code>X</Code> and the first line of <Message>…</Message> of an Azure error body.
std::string xml_element(const std::string& body, const std::string& name) {
    const std::string open = "<" + name + ">", close = "</" + name + ">";
    const size_t a = body.find(open);
    if (a == std::string::npos) return {};
    const size_t b = body.find(close, a + open.size());
    std::string v = body.substr(a + open.size(), b == std::string::npos ? std::string::npos : b - a - open.size());
    v = v.substr(0, v.find_first_of("\r\n"));
    return v;
}

bool retryable_status(long status) {
    return status == 408 || status == 429 || status >= 500;
}

struct Transfer {
    // Request body: a string, or a file range.
    const std::string* text = nullptr;
    int fd = -1;
    uint64_t offset = 0;
    uint64_t length = 0;
    uint64_t sent = 0;
    bool read_failed = false;
    int read_errno = 0;
    // Response.
    std::string body;
    std::string error_code;  // x-ms-error-code
    const std::atomic<bool>* cancel = nullptr;
};

size_t read_body(char* out, size_t size, size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const size_t room = size * count;
    const uint64_t left = t.length - t.sent;
    const size_t want = size_t(std::min<uint64_t>(room, left));
    if (want == 0) return 0;
    if (t.text) {
        std::memcpy(out, t.text->data() + t.sent, want);
        t.sent += want;
        return want;
    }
    for (;;) {
        const ssize_t n = ::pread(t.fd, out, want, off_t(t.offset + t.sent));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            t.read_failed = true;
            t.read_errno = n < 0 ? errno : 0;
            return CURL_READFUNC_ABORT;
        }
        t.sent += uint64_t(n);
        return size_t(n);
    }
}

size_t write_body(char* data, size_t size, size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const size_t n = size * count;
    if (t.body.size() < kMaxResponseBody) t.body.append(data, std::min(n, kMaxResponseBody - t.body.size()));
    return n;
}

size_t read_header(char* data, size_t size, size_t count, void* user) {
    auto& t = *static_cast<Transfer*>(user);
    const size_t n = size * count;
    std::string line(data, n);
    static const std::string key = "x-ms-error-code:";
    if (line.size() > key.size() && strncasecmp(line.c_str(), key.c_str(), key.size()) == 0) {
        std::string v = line.substr(key.size());
        const size_t a = v.find_first_not_of(" \t");
        const size_t b = v.find_last_not_of(" \t\r\n");
        t.error_code = a == std::string::npos ? "" : v.substr(a, b - a + 1);
    }
    return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto& t = *static_cast<Transfer*>(user);
    return t.cancel && t.cancel->load(std::memory_order_relaxed) ? 1 : 0;
}

}  // namespace

struct BlobClient::Body {
    const std::string* text = nullptr;
    int fd = -1;
    uint64_t offset = 0;
    uint64_t length = 0;
};

void init_http_client_library() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string base64_encode(const uint8_t* data, size_t size) {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((size + 2) / 3 * 4);
    for (size_t i = 0; i < size; i += 3) {
        const uint32_t a = data[i];
        const uint32_t b = i + 1 < size ? data[i + 1] : 0;
        const uint32_t c = i + 2 < size ? data[i + 2] : 0;
        const uint32_t v = (a << 16) | (b << 8) | c;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += i + 1 < size ? alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < size ? alphabet[v & 63] : '=';
    }
    return out;
}

std::string block_id(uint64_t index) {
    char raw[32];
    std::snprintf(raw, sizeof raw, "trawl-block-%06llu", static_cast<unsigned long long>(index));
    return base64_encode(reinterpret_cast<const uint8_t*>(raw), std::strlen(raw));
}

std::vector<Block> plan_blocks(uint64_t file_size, uint64_t block_size) {
    std::vector<Block> blocks;
    if (file_size == 0) return blocks;
    block_size = std::max<uint64_t>(block_size, 1);
    // 50,000 blocks at most: grow the blocks rather than fail a large file.
    block_size = std::max(block_size, (file_size + kMaxBlocksPerBlob - 1) / kMaxBlocksPerBlob);
    for (uint64_t offset = 0, i = 0; offset < file_size; offset += block_size, ++i)
        blocks.push_back({offset, std::min(block_size, file_size - offset), block_id(i)});
    return blocks;
}

BlobClient::BlobClient(BlobClientOptions options, const std::atomic<bool>* cancel)
    : options_(std::move(options)), cancel_(cancel), curl_(curl_easy_init()) {}

BlobClient::~BlobClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

BlobResult BlobClient::put(const std::string& url, const std::vector<std::string>& headers, const Body& body) {
    BlobResult r;
    CURL* curl = static_cast<CURL*>(curl_);
    if (!curl) {
        r.retryable = true;
        r.code = "CurlInitFailed";
        r.message = "libcurl could not create a handle";
        return r;
    }
    curl_easy_reset(curl);
    Transfer t;
    t.text = body.text;
    t.fd = body.fd;
    t.offset = body.offset;
    t.length = body.text ? body.text->size() : body.length;
    t.cancel = cancel_;
    curl_slist* list = nullptr;
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    char error_buffer[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);  // PUT with a streamed body
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, curl_off_t(t.length));
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect would carry the SAS elsewhere
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, long(options_.connect_timeout_ms));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, long(options_.stall_timeout_s));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "trawl/" TRAWL_VERSION);
    if (options_.max_send_bytes_per_second)
        curl_easy_setopt(curl, CURLOPT_MAX_SEND_SPEED_LARGE, curl_off_t(options_.max_send_bytes_per_second));
    if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
    const CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
        if (rc == CURLE_ABORTED_BY_CALLBACK) {
            r.cancelled = true;
            r.code = "Cancelled";
            r.message = "cancelled (trawld is stopping)";
            return r;
        }
        if (t.read_failed) {
            r.code = "LocalReadFailed";
            r.message = std::string("reading the local file failed: ") +
                        (t.read_errno ? std::strerror(t.read_errno) : "it is shorter than recorded");
            return r;
        }
        r.code = curl_easy_strerror(rc);
        r.message = redact(error_buffer[0] ? error_buffer : curl_easy_strerror(rc));
        // Name resolution, connection, TLS handshake and transfer failures can all
        // clear up; a malformed URL or a refused certificate will not.
        r.retryable = rc != CURLE_URL_MALFORMAT && rc != CURLE_UNSUPPORTED_PROTOCOL &&
                      rc != CURLE_PEER_FAILED_VERIFICATION && rc != CURLE_SSL_CACERT_BADFILE &&
                      rc != CURLE_SSL_CERTPROBLEM;
        return r;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.http_status);
    if (r.http_status >= 200 && r.http_status < 300) {
        r.ok = true;
        return r;
    }
    r.code = !t.error_code.empty() ? t.error_code : xml_element(t.body, "Code");
    // A body damaged on the way (the service's MD5 differs from ours) is worth sending
    // again; every other 4xx would get the same answer.
    r.retryable = retryable_status(r.http_status) || r.code == "Md5Mismatch";
    std::string message = xml_element(t.body, "Message");
    if (message.empty()) message = t.body.substr(0, t.body.find_first_of("\r\n"));
    if (message.size() > 300) message = message.substr(0, 300) + "...";
    r.message = redact("HTTP " + std::to_string(r.http_status) + (r.code.empty() ? "" : " " + r.code) +
                       (message.empty() ? "" : ": " + message));
    return r;
}

BlobResult BlobClient::put_blob(const SasUrl& c, const std::string& blob, int fd, uint64_t size,
                                UploadProgress& p) {
    std::string error;
    if (p.file_md5.empty() && !md5_of_range(fd, 0, size, nullptr, p.file_md5, error)) {
        BlobResult r;
        r.code = "LocalReadFailed";
        r.message = "reading the local file failed: " + error;
        return r;
    }
    const std::vector<std::string> headers = {
        "x-ms-version: " + options_.api_version,
        "x-ms-blob-type: BlockBlob",
        "Content-MD5: " + p.file_md5,
        "Content-Type: application/octet-stream",
        "x-ms-blob-content-type: application/vnd.tcpdump.pcap",
    };
    Body body;
    body.fd = fd;
    body.length = size;
    BlobResult r = put(c.blob_url(blob), headers, body);
    if (r.ok) p.bytes_sent = size;
    return r;
}

BlobResult BlobClient::put_blocks(const SasUrl& c, const std::string& blob, int fd, uint64_t size,
                                  UploadProgress& p, const std::function<void(uint64_t)>& on_bytes) {
    if (p.blocks.empty()) {
        p.blocks = plan_blocks(size, options_.block_size_bytes);
        p.blocks_done = 0;
        p.bytes_sent = 0;
    }
    std::string error;
    if (p.file_md5.empty()) {
        // The blob's Content-MD5 property; the service verifies each block's own MD5.
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> whole(EVP_MD_CTX_new(), EVP_MD_CTX_free);
        EVP_DigestInit_ex(whole.get(), EVP_md5(), nullptr);
        std::string ignored;
        if (!md5_of_range(fd, 0, size, whole.get(), ignored, error)) {
            BlobResult r;
            r.code = "LocalReadFailed";
            r.message = "reading the local file failed: " + error;
            return r;
        }
        p.file_md5 = md5_final(whole.get());
    }
    for (; p.blocks_done < p.blocks.size(); ++p.blocks_done) {
        const Block& b = p.blocks[p.blocks_done];
        std::string md5;
        if (!md5_of_range(fd, b.offset, b.length, nullptr, md5, error)) {
            BlobResult r;
            r.code = "LocalReadFailed";
            r.message = "reading the local file failed: " + error;
            return r;
        }
        Body body;
        body.fd = fd;
        body.offset = b.offset;
        body.length = b.length;
        BlobResult r = put(c.blob_url(blob, "comp=block&blockid=" + b.id),
                           {"x-ms-version: " + options_.api_version, "Content-MD5: " + md5,
                            "Content-Type: application/octet-stream"},
                           body);
        if (!r.ok) {
            r.message = "block " + std::to_string(p.blocks_done + 1) + " of " + std::to_string(p.blocks.size()) +
                        ": " + r.message;
            return r;
        }
        p.bytes_sent += b.length;
        if (on_bytes) on_bytes(b.length);
    }
    std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
    for (const auto& b : p.blocks) xml += "<Latest>" + b.id + "</Latest>";
    xml += "</BlockList>";
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr);
    EVP_DigestUpdate(ctx.get(), xml.data(), xml.size());
    const std::string xml_md5 = md5_final(ctx.get());
    Body body;
    body.text = &xml;
    BlobResult r = put(c.blob_url(blob, "comp=blocklist"),
                       {"x-ms-version: " + options_.api_version, "Content-MD5: " + xml_md5,
                        "Content-Type: application/xml", "x-ms-blob-content-md5: " + p.file_md5,
                        "x-ms-blob-content-type: application/vnd.tcpdump.pcap"},
                       body);
    if (!r.ok && r.code == "InvalidBlockList") {
        // The service lost the uncommitted blocks (an emulator restarted without its
        // data, or an attempt abandoned for more than a week): send them again.
        r.restart = true;
        r.retryable = true;
        p.blocks.clear();
        p.blocks_done = 0;
        p.bytes_sent = 0;
    }
    if (!r.ok) r.message = "committing the block list: " + r.message;
    return r;
}

BlobResult BlobClient::upload(const SasUrl& container, const std::string& blob_name, int fd, uint64_t size,
                              UploadProgress& progress, const std::function<void(uint64_t)>& on_bytes) {
    if (size <= options_.single_put_max_bytes && progress.blocks.empty()) {
        BlobResult r = put_blob(container, blob_name, fd, size, progress);
        if (r.ok && on_bytes) on_bytes(size);
        return r;
    }
    return put_blocks(container, blob_name, fd, size, progress, on_bytes);
}

}  // namespace trawl::control::storage
