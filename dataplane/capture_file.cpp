#include "dataplane/capture_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace trawl::dataplane {
namespace {

constexpr uint32_t kPcapMagicNs = 0xa1b23c4d;
constexpr uint32_t kPcapMagicUs = 0xa1b2c3d4;
constexpr uint32_t kLinkTypeEthernet = 1;
constexpr uint32_t kPcapngShb = 0x0a0d0d0a;
constexpr uint32_t kPcapngIdb = 0x00000001;
constexpr uint32_t kPcapngEpb = 0x00000006;
constexpr uint32_t kPcapngSpb = 0x00000003;
constexpr uint32_t kPcapngObsoletePb = 0x00000002;
constexpr uint32_t kPcapngByteOrder = 0x1a2b3c4d;
// Larger than any record trawl writes (captured length is capped at 262144); a
// record header claiming more is garbage left by a crash, not a record.
constexpr uint64_t kMaxPlausibleRecord = 16u << 20;

uint32_t pad4(uint32_t n) { return (n + 3u) & ~3u; }

struct Encoder {
    uint8_t* p;
    void u8(uint8_t v) { *p++ = v; }
    void u16(uint16_t v) { std::memcpy(p, &v, 2); p += 2; }
    void u32(uint32_t v) { std::memcpy(p, &v, 4); p += 4; }
    void u64(uint64_t v) { std::memcpy(p, &v, 8); p += 8; }
    void bytes(const void* d, size_t n) { std::memcpy(p, d, n); p += n; }
    void zeros(size_t n) { std::memset(p, 0, n); p += n; }
    // pcapng option: code, length, value padded to 4.
    void option(uint16_t code, const void* value, uint16_t length) {
        u16(code);
        u16(length);
        bytes(value, length);
        zeros(pad4(length) - length);
    }
};

uint32_t option_size(size_t length) { return 4 + pad4(uint32_t(length)); }

// pcapng option values are limited to 65535 bytes; names and comments are short, but a
// hostile config must not overflow the length field.
std::string clip(const std::string& s) { return s.size() > 1024 ? s.substr(0, 1024) : s; }

uint32_t shb_size(const FileLayout& l) {
    static const std::string app = "trawl";
    uint32_t n = 28;  // type, length, BOM, version, section length, trailing length
    if (!l.comment.empty()) n += option_size(clip(l.comment).size());
    n += option_size(app.size()) + 4;  // shb_userappl + opt_endofopt
    return n;
}

uint32_t idb_size(const FileLayout& l, const std::string& if_name) {
    uint32_t n = 20;  // type, length, linktype, reserved, snaplen, trailing length
    if (!if_name.empty()) n += option_size(clip(if_name).size());
    n += option_size(1);  // if_tsresol
    if (!l.comment.empty()) n += option_size(clip(l.comment).size());
    return n + 4;  // opt_endofopt
}

void encode_header(const FileLayout& l, uint8_t* out) {
    Encoder e{out};
    if (l.format == FileFormat::Pcap) {
        e.u32(kPcapMagicNs);
        e.u16(2);
        e.u16(4);
        e.u32(0);  // thiszone
        e.u32(0);  // sigfigs
        e.u32(l.snap_length);
        e.u32(kLinkTypeEthernet);
        return;
    }
    static const std::string app = "trawl";
    const std::string comment = clip(l.comment);
    const uint32_t shb = shb_size(l);
    e.u32(kPcapngShb);
    e.u32(shb);
    e.u32(kPcapngByteOrder);
    e.u16(1);
    e.u16(0);
    e.u64(~uint64_t(0));  // section length unknown
    if (!comment.empty()) e.option(1, comment.data(), uint16_t(comment.size()));
    e.option(4, app.data(), uint16_t(app.size()));
    e.u32(0);  // opt_endofopt
    e.u32(shb);
    std::vector<std::string> names = l.interface_names;
    if (names.empty()) names.emplace_back();
    for (const auto& raw_name : names) {
        const std::string name = clip(raw_name);
        const uint32_t idb = idb_size(l, name);
        e.u32(kPcapngIdb);
        e.u32(idb);
        e.u16(uint16_t(kLinkTypeEthernet));
        e.u16(0);
        e.u32(l.snap_length);
        if (!name.empty()) e.option(2, name.data(), uint16_t(name.size()));
        const uint8_t tsresol = 9;  // nanoseconds
        e.option(9, &tsresol, 1);
        if (!comment.empty()) e.option(1, comment.data(), uint16_t(comment.size()));
        e.u32(0);
        e.u32(idb);
    }
}

void* aligned_buffer(size_t bytes) {
    void* p = nullptr;
    if (posix_memalign(&p, 4096, bytes) != 0) throw std::bad_alloc();
    return p;
}

bool fsync_directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

void note_record(FileInfo& info, uint64_t ts, uint64_t captured) {
    if (info.packets == 0) info.first_timestamp_ns = ts;
    info.last_timestamp_ns = ts;
    ++info.packets;
    info.captured_bytes += captured;
}

std::string base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Sequential reader over a file for the scanners below.
struct FileReader {
    FILE* f = nullptr;
    uint64_t size = 0;
    explicit FileReader(const std::string& path, const char* mode) {
        f = std::fopen(path.c_str(), mode);
        if (!f) return;
        struct stat st {};
        if (::fstat(fileno(f), &st) == 0) size = uint64_t(st.st_size);
    }
    ~FileReader() {
        if (f) std::fclose(f);
    }
    bool read_at(uint64_t offset, void* out, size_t n) {
        if (offset + n > size) return false;
        if (fseeko(f, off_t(offset), SEEK_SET) != 0) return false;
        return std::fread(out, 1, n, f) == n;
    }
};

struct ScanResult {
    bool header_ok = false;
    uint64_t valid_end = 0;  // offset after the last whole record
    FileInfo info;
    std::string error;
};

ScanResult scan_pcap(FileReader& r, uint32_t magic) {
    ScanResult s;
    const bool swapped = magic == __builtin_bswap32(kPcapMagicNs) ||
                         magic == __builtin_bswap32(kPcapMagicUs);
    const uint32_t native = swapped ? __builtin_bswap32(magic) : magic;
    const uint64_t ts_scale = native == kPcapMagicNs ? 1 : 1000;
    s.header_ok = true;
    uint64_t off = 24;
    s.valid_end = off;
    for (;;) {
        uint32_t h[4];
        if (!r.read_at(off, h, sizeof h)) break;
        if (swapped)
            for (auto& v : h) v = __builtin_bswap32(v);
        const uint64_t caplen = h[2];
        if (caplen > kMaxPlausibleRecord || off + 16 + caplen > r.size) break;
        note_record(s.info, uint64_t(h[0]) * 1000000000ull + uint64_t(h[1]) * ts_scale, caplen);
        off += 16 + caplen;
        s.valid_end = off;
    }
    return s;
}

ScanResult scan_pcapng(FileReader& r) {
    ScanResult s;
    uint64_t off = 0;
    bool first = true;
    for (;;) {
        uint32_t h[2];
        if (!r.read_at(off, h, sizeof h)) break;
        const uint32_t type = h[0], length = h[1];
        if (length < 12 || length % 4 != 0 || length > kMaxPlausibleRecord ||
            off + length > r.size)
            break;
        uint32_t trailer = 0;
        if (!r.read_at(off + length - 4, &trailer, 4) || trailer != length) break;
        if (first) {
            uint32_t bom = 0;
            if (type != kPcapngShb || !r.read_at(off + 8, &bom, 4) || bom != kPcapngByteOrder)
                return s;  // not ours (or other-endian): no valid header
            first = false;
        }
        // Without a whole IDB no reader opens the file: the header is SHB + IDB.
        if (type == kPcapngIdb) s.header_ok = true;
        if (type == kPcapngEpb && length >= 32) {
            uint32_t epb[3];  // ts high, ts low, captured length
            if (r.read_at(off + 12, epb, sizeof epb))
                note_record(s.info, (uint64_t(epb[0]) << 32) | epb[1], epb[2]);
        } else if (type == kPcapngSpb || type == kPcapngObsoletePb) {
            note_record(s.info, 0, 0);
        }
        off += length;
        s.valid_end = off;
    }
    return s;
}

ScanResult scan(FileReader& r) {
    ScanResult s;
    uint32_t magic = 0;
    if (!r.read_at(0, &magic, 4)) return s;
    if (magic == kPcapngShb) return scan_pcapng(r);
    const bool pcap = magic == kPcapMagicNs || magic == kPcapMagicUs ||
                      magic == __builtin_bswap32(kPcapMagicNs) ||
                      magic == __builtin_bswap32(kPcapMagicUs);
    if (!pcap || r.size < 24) return s;
    return scan_pcap(r, magic);
}

}  // namespace

const char* file_extension(FileFormat f) { return f == FileFormat::Pcap ? "pcap" : "pcapng"; }

uint32_t record_size(FileFormat format, uint32_t captured_length) {
    return format == FileFormat::Pcap ? 16 + captured_length : 32 + pad4(captured_length);
}

uint32_t header_size(const FileLayout& l) {
    if (l.format == FileFormat::Pcap) return 24;
    uint32_t n = shb_size(l);
    if (l.interface_names.empty()) return n + idb_size(l, "");
    for (const auto& name : l.interface_names) n += idb_size(l, name);
    return n;
}

CaptureFile::CaptureFile(std::string partial_path, std::string final_path,
                         const FileLayout& layout, size_t buffer_bytes, WriteStats* stats)
    : partial_path_(std::move(partial_path)),
      final_path_(std::move(final_path)),
      format_(layout.format),
      stats_(stats),
      buffer_(nullptr, std::free),
      capacity_(buffer_bytes) {
    const uint32_t header = header_size(layout);
    if (capacity_ < header + record_size(format_, 262144)) capacity_ = header + (1u << 20);
    buffer_.reset(static_cast<uint8_t*>(aligned_buffer(capacity_)));
    fd_ = ::open(partial_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), partial_path_);
    encode_header(layout, buffer_.get());
    info_.name = base_name(final_path_);
    committed_.name = info_.name;
    // The header goes to disk at once: the partial file is a valid capture file from
    // its creation, and a later failed write is cut back to a whole record, never to
    // an empty file that publish() would make visible.
    if (!write_out(buffer_.get(), header)) {
        const int err = last_errno_;
        ::close(fd_);
        fd_ = -1;
        ::unlink(partial_path_.c_str());
        throw std::system_error(err, std::generic_category(), "write header " + partial_path_);
    }
    info_.bytes = committed_.bytes = flushed_bytes_;
}

CaptureFile::~CaptureFile() {
    if (fd_ >= 0) ::close(fd_);
}

void CaptureFile::fail(const char* what, int err) {
    if (!error_.empty()) return;
    error_ = std::string(what) + " " + partial_path_ + ": " + std::strerror(err);
    last_errno_ = err;
}

bool CaptureFile::write_out(const uint8_t* data, size_t length) {
    const auto started = std::chrono::steady_clock::now();
    const size_t total = length;
    uint64_t offset = flushed_bytes_;
    while (length > 0) {
        const ssize_t n = ::pwrite(fd_, data, length, off_t(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fail("write", n < 0 ? errno : ENOSPC);
            // A short write may have left part of a record: cut back to the last
            // whole record so the file stays valid.
            if (::ftruncate(fd_, off_t(flushed_bytes_)) != 0) fail("truncate", errno);
            if (stats_) stats_->errors.inc();
            return false;
        }
        data += n;
        length -= size_t(n);
        offset += uint64_t(n);
    }
    // Start writeback of what was just written, without waiting for it: the fdatasync
    // when the file is published then has only the last flush left to wait for. A
    // writer that fsyncs a 64 MB file in one go stalls for long enough to fill its
    // rings (measured: thousands of packets lost by other sessions per rotation).
    ::sync_file_range(fd_, off_t(flushed_bytes_), off_t(offset - flushed_bytes_), SYNC_FILE_RANGE_WRITE);
    flushed_bytes_ = offset;
    if (stats_) {
        const uint64_t ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now() - started)
                                         .count());
        stats_->writes.inc();
        stats_->bytes.add(total);
        stats_->nanoseconds.add(ns);
        size_t b = 0;
        while (b + 1 < kWriteLatencyBuckets && ns > kWriteLatencyBoundsUs[b] * 1000) ++b;
        stats_->buckets[b].inc();
    }
    return true;
}

void CaptureFile::append(const RecordMeta& meta, const ByteSpan* spans, size_t span_count) {
    const uint32_t size = record_size(format_, meta.captured_length);
    Encoder e{buffer_.get() + buffered_};
    if (format_ == FileFormat::Pcap) {
        e.u32(uint32_t(meta.timestamp_ns / 1000000000ull));
        e.u32(uint32_t(meta.timestamp_ns % 1000000000ull));
        e.u32(meta.captured_length);
        e.u32(meta.original_length);
    } else {
        e.u32(kPcapngEpb);
        e.u32(size);
        e.u32(meta.interface_index);
        e.u32(uint32_t(meta.timestamp_ns >> 32));
        e.u32(uint32_t(meta.timestamp_ns));
        e.u32(meta.captured_length);
        e.u32(meta.original_length);
    }
    uint32_t left = meta.captured_length;
    for (size_t i = 0; i < span_count && left > 0; ++i) {
        const uint32_t n = spans[i].length < left ? spans[i].length : left;
        e.bytes(spans[i].data, n);
        left -= n;
    }
    if (left > 0) e.zeros(left);  // spans shorter than claimed: never read past them
    if (format_ == FileFormat::Pcapng) {
        e.zeros(pad4(meta.captured_length) - meta.captured_length);
        e.u32(size);
    }
    buffered_ += size;
    note_record(info_, meta.timestamp_ns, meta.captured_length);
    info_.bytes = flushed_bytes_ + buffered_;
}

bool CaptureFile::flush() {
    if (!error_.empty()) return false;
    if (buffered_ == 0) return true;
    if (!write_out(buffer_.get(), buffered_)) return false;
    buffered_ = 0;
    info_.bytes = flushed_bytes_;
    committed_ = info_;
    return true;
}

bool CaptureFile::publish() {
    if (fd_ < 0) return error_.empty();
    const bool flushed = flush();
    bool ok = flushed;
    if (::fdatasync(fd_) != 0) {
        fail("fsync", errno);
        ok = false;
    }
    ::close(fd_);
    fd_ = -1;
    // Even after an error the file is valid up to its last whole record: publish it
    // so the evidence that was written is not hidden.
    if (::rename(partial_path_.c_str(), final_path_.c_str()) != 0) {
        fail("rename", errno);
        return false;
    }
    fsync_directory_of(final_path_);
    // After a failed flush the buffered records never reached the file: what was
    // published is the committed view of the last good flush.
    if (!flushed) info_ = committed_;
    info_.complete = true;
    info_.bytes = flushed_bytes_;
    committed_ = info_;
    return ok;
}

std::optional<RecoveredFile> recover_partial_file(const std::string& path, std::string& error) {
    ScanResult s;
    uint64_t size = 0;
    {
        FileReader r(path, "rb");
        if (!r.f) {
            error = path + ": " + std::strerror(errno);
            return std::nullopt;
        }
        size = r.size;
        s = scan(r);
    }
    if (!s.header_ok) {
        error = path + ": no valid capture file header";
        return std::nullopt;
    }
    RecoveredFile out;
    out.info = s.info;
    out.info.bytes = s.valid_end;
    if (s.valid_end < size) {
        if (::truncate(path.c_str(), off_t(s.valid_end)) != 0) {
            error = path + ": truncate: " + std::strerror(errno);
            return std::nullopt;
        }
        out.truncated_bytes = size - s.valid_end;
    }
    return out;
}

std::optional<FileInfo> scan_capture_file(const std::string& path, std::string& error) {
    FileReader r(path, "rb");
    if (!r.f) {
        error = path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    ScanResult s = scan(r);
    if (!s.header_ok) {
        error = path + ": no valid capture file header";
        return std::nullopt;
    }
    s.info.bytes = s.valid_end;
    s.info.name = base_name(path);
    s.info.complete = true;
    return s.info;
}

std::string capture_file_name(const std::string& session, uint64_t index, FileFormat format) {
    char digits[32];
    std::snprintf(digits, sizeof digits, "%06llu", static_cast<unsigned long long>(index));
    return session + "-" + digits + "." + file_extension(format);
}

std::string partial_file_name(const std::string& final_name) {
    return "." + final_name + ".partial";
}

std::optional<uint64_t> capture_file_index(const std::string& session, const std::string& name) {
    if (name.size() <= session.size() + 1 || name.compare(0, session.size(), session) != 0 ||
        name[session.size()] != '-')
        return std::nullopt;
    size_t pos = session.size() + 1;
    uint64_t index = 0;
    size_t digits = 0;
    while (pos < name.size() && name[pos] >= '0' && name[pos] <= '9' && digits < 18) {
        index = index * 10 + uint64_t(name[pos] - '0');
        ++pos;
        ++digits;
    }
    if (digits < 6) return std::nullopt;
    // capture_file_name pads to six digits only: a longer number with a leading zero
    // is not a name we wrote (and would alias another index).
    if (digits > 6 && name[session.size() + 1] == '0') return std::nullopt;
    const std::string rest = name.substr(pos);
    if (rest != ".pcap" && rest != ".pcapng") return std::nullopt;
    return index;
}

}  // namespace trawl::dataplane
