// The files a session writes: pcap (nanosecond magic) or pcapng, buffered into large
// writes, rotated by size, kept as a ring buffer, and always valid where a reader can
// see them.
//
// Visibility rule (after Stenographer): a file is written under a hidden name
// `.<name>-NNNNNN.pcap.partial` and renamed to `<name>-NNNNNN.pcap` only once it is
// complete, flushed and fsync'd. Every write() appends whole records only, so even the
// partial file is valid up to its last whole record unless the process dies inside a
// write() — recover_partial_file() truncates such a torn tail on the next start.
//
// No DPDK here: the writer thread hands in a record's bytes as spans (the segments of
// an mbuf chain), which keeps this unit-testable without an EAL.
#pragma once

#include <cstdint>
#include <memory>

#include "dataplane/counters.hpp"
#include <optional>
#include <string>
#include <vector>

namespace trawl::dataplane {

enum class FileFormat : uint8_t { Pcap, Pcapng };

const char* file_extension(FileFormat f);  // "pcap" / "pcapng"

struct ByteSpan {
    const uint8_t* data = nullptr;
    uint32_t length = 0;
};

struct RecordMeta {
    uint64_t timestamp_ns = 0;     // since the Unix epoch
    uint32_t original_length = 0;  // pkt_len as the port received it
    uint32_t captured_length = 0;  // after the snap length
    uint32_t interface_index = 0;  // pcapng interface (the configured port's index)
};

// Statistics of one file, as listed by the API and stored in session.json.
struct FileInfo {
    std::string name;  // final name, without directory
    uint64_t bytes = 0;           // file size
    uint64_t packets = 0;
    uint64_t captured_bytes = 0;  // sum of the records' captured lengths
    uint64_t first_timestamp_ns = 0;
    uint64_t last_timestamp_ns = 0;
    bool complete = false;  // false: still being written (hidden .partial file)
};

struct FileLayout {
    FileFormat format = FileFormat::Pcap;
    uint32_t snap_length = 262144;  // header snaplen; never 0
    std::vector<std::string> interface_names;  // pcapng: one IDB per port
    std::string comment;                       // pcapng: SHB/IDB comment (session name)
};

// Encoded size of a record with `captured_length` bytes of data.
uint32_t record_size(FileFormat format, uint32_t captured_length);
// Size of the file header (pcap global header, or pcapng SHB + IDBs).
uint32_t header_size(const FileLayout& layout);

// write() calls made by a writer thread's files, for the write-latency histogram.
// Bucket upper bounds in microseconds; the last bucket is +Inf.
inline constexpr uint64_t kWriteLatencyBoundsUs[] = {10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000};
inline constexpr size_t kWriteLatencyBuckets = sizeof(kWriteLatencyBoundsUs) / sizeof(uint64_t) + 1;
struct WriteStats {
    Counter writes;
    Counter bytes;
    Counter nanoseconds;
    Counter errors;
    Counter buckets[kWriteLatencyBuckets];  // not cumulative: one count per write
};

// One open capture file. Appends go to an in-memory buffer that is written out with
// one write() per flush, always ending on a record boundary.
class CaptureFile {
public:
    // Creates `partial_path` (O_EXCL) and writes the file header. Throws
    // std::system_error on failure (the partial file is then removed).
    CaptureFile(std::string partial_path, std::string final_path, const FileLayout& layout,
                size_t buffer_bytes, WriteStats* stats = nullptr);
    ~CaptureFile();
    CaptureFile(const CaptureFile&) = delete;
    CaptureFile& operator=(const CaptureFile&) = delete;

    // True if a record of `size` bytes fits in the buffer without a flush.
    bool has_room(uint32_t size) const { return buffered_ + size <= capacity_; }
    // Appends one record to the buffer. The caller has made room (has_room/flush) and
    // checked the size policy.
    void append(const RecordMeta& meta, const ByteSpan* spans, size_t span_count);

    // Writes buffered records. On error the file is truncated back to its last
    // successful flush so it stays valid, and false is returned (see error()).
    bool flush();
    // Flushes, fsyncs, closes and renames to the final name. False on error; the
    // file keeps its partial name then.
    bool publish();

    uint64_t size() const { return flushed_bytes_ + buffered_; }  // incl. buffered
    uint64_t flushed_bytes() const { return flushed_bytes_; }
    const FileInfo& info() const { return info_; }
    // The committed view: what a reader gets if it reads the partial file now.
    FileInfo committed_info() const { return committed_; }
    bool has_buffered() const { return buffered_ != 0; }
    const std::string& error() const { return error_; }
    const std::string& partial_path() const { return partial_path_; }
    const std::string& final_path() const { return final_path_; }

private:
    bool write_out(const uint8_t* data, size_t length);
    void fail(const char* what, int err);

    std::string partial_path_;
    std::string final_path_;
    FileFormat format_;
    WriteStats* stats_;
    int fd_ = -1;
    std::unique_ptr<uint8_t[], void (*)(void*)> buffer_;
    size_t capacity_;
    size_t buffered_ = 0;
    uint64_t flushed_bytes_ = 0;
    FileInfo info_;       // includes buffered records
    FileInfo committed_;  // as of the last successful flush
    std::string error_;
    int last_errno_ = 0;  // of the first failure, for the constructor's exception
};

// Reads a file left behind by a crash, truncates a torn last record or block, and
// returns its statistics. nullopt if the file has no valid header (it is then
// deleted by the caller).
struct RecoveredFile {
    FileInfo info;
    uint64_t truncated_bytes = 0;
};
std::optional<RecoveredFile> recover_partial_file(const std::string& path, std::string& error);

// Scans a complete capture file for its statistics (used to validate and list files
// that exist without a record in session.json).
std::optional<FileInfo> scan_capture_file(const std::string& path, std::string& error);

// "<name>-000042.pcap" and the hidden ".<name>-000042.pcap.partial".
std::string capture_file_name(const std::string& session, uint64_t index, FileFormat format);
std::string partial_file_name(const std::string& final_name);
// Parses the index of a file name produced above; nullopt if it is not one of ours.
std::optional<uint64_t> capture_file_index(const std::string& session, const std::string& name);

}  // namespace trawl::dataplane
