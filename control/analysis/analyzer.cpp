#include "control/analysis/analyzer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/parallel_sort.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>

#include "control/analysis/services.hpp"

namespace trawl::analysis {

using dataplane::PacketView;

namespace {

// ---------------------------------------------------------------------------------
// Frames of every link type libpcap reads; the IP part is always the contract parser's.

uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint32_t le32(const uint8_t* p) { return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]; }

// IPv4 or IPv6 starting at `offset`, parsed by the same functions parse_packet uses
// after the Ethernet header.
PacketView parse_ip_at(const uint8_t* p, uint32_t len, uint32_t offset, int family) {
    PacketView v;
    v.payload_offset = len;
    if (family == 4) dataplane::detail::parse_ipv4(v, p, len, offset);
    else if (family == 6) dataplane::detail::parse_ipv6(v, p, len, offset);
    return v;
}

int family_of_ethertype(uint16_t type) { return type == 0x0800 ? 4 : type == 0x86dd ? 6 : 0; }

int family_of_bsd_af(uint32_t af) {
    if (af == 2) return 4;
    if (af == 10 || af == 24 || af == 28 || af == 30) return 6;  // Linux, *BSD, FreeBSD, Darwin
    return 0;
}

// Ethernet follows DESIGN §2.2 exactly (dataplane::parse_packet). The other link types
// of common captures reach the same IP parser at their network-layer offset.
PacketView parse_frame(int link_type, const uint8_t* p, uint32_t len) {
    switch (link_type) {
    case DLT_EN10MB: return dataplane::parse_packet(p, len);
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        return len ? parse_ip_at(p, len, 0, (p[0] >> 4) == 4 ? 4 : (p[0] >> 4) == 6 ? 6 : 0) : PacketView{};
    case DLT_NULL:
    case DLT_LOOP: {
        if (len < 4) return {};
        int family = family_of_bsd_af(be32(p));
        if (!family) family = family_of_bsd_af(le32(p));
        return parse_ip_at(p, len, 4, family);
    }
    case DLT_LINUX_SLL: return len >= 16 ? parse_ip_at(p, len, 16, family_of_ethertype(be16(p + 14))) : PacketView{};
    case DLT_LINUX_SLL2: return len >= 20 ? parse_ip_at(p, len, 20, family_of_ethertype(be16(p))) : PacketView{};
    default: return {};
    }
}

bool link_type_parsed(int link_type) {
    switch (link_type) {
    case DLT_EN10MB: case DLT_RAW: case DLT_IPV4: case DLT_IPV6: case DLT_NULL: case DLT_LOOP:
    case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
        return true;
    default: return false;
    }
}

// What a non-IP frame is, for the overview: the EtherType after up to two VLAN tags
// (as §2.2 walks them), or a code for frames that have none.
constexpr uint32_t kNonIpTruncated = 0x10000;   // shorter than an Ethernet header
constexpr uint32_t kNonIpLlc = 0x10001;         // 802.3 length field: LLC/SNAP
constexpr uint32_t kNonIpOtherLink = 0x20000;   // | link type: not Ethernet

uint32_t non_ip_class(int link_type, const uint8_t* p, uint32_t len) {
    if (link_type != DLT_EN10MB) return kNonIpOtherLink | uint32_t(link_type & 0xffff);
    if (len < 14) return kNonIpTruncated;
    uint16_t type = be16(p + 12);
    uint32_t off = 14;
    for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); ++tags) {
        if (off + 4 > len) return kNonIpTruncated;
        type = be16(p + off + 2);
        off += 4;
    }
    return type < 0x0600 ? kNonIpLlc : type;
}

std::string non_ip_name(uint32_t code) {
    if (code == kNonIpTruncated) return "truncated-ethernet";
    if (code == kNonIpLlc) return "llc";
    if (code & kNonIpOtherLink) {
        const char* n = pcap_datalink_val_to_name(int(code & 0xffff));
        return std::string("link-") + (n ? n : std::to_string(code & 0xffff));
    }
    switch (code) {
    case 0x0800: return "ipv4-malformed";  // EtherType IPv4, but not version 4 / IHL >= 5
    case 0x0806: return "arp";
    case 0x0842: return "wake-on-lan";
    case 0x22f0: return "avtp";
    case 0x22f3: return "trill";
    case 0x6558: return "transparent-ethernet";
    case 0x8035: return "rarp";
    case 0x809b: return "appletalk";
    case 0x80f3: return "aarp";
    case 0x8100: case 0x88a8: case 0x9100: return "vlan-3-or-more-tags";
    case 0x8137: return "ipx";
    case 0x8808: return "ethernet-flow-control";
    case 0x8809: return "slow-protocols";
    case 0x8847: return "mpls";
    case 0x8848: return "mpls-multicast";
    case 0x8863: return "pppoe-discovery";
    case 0x8864: return "pppoe-session";
    case 0x887b: return "homeplug";
    case 0x888e: return "eapol";
    case 0x8892: return "profinet";
    case 0x889a: return "hyperscsi";
    case 0x88a2: return "aoe";
    case 0x88a4: return "ethercat";
    case 0x88b8: return "goose";
    case 0x88ba: return "sampled-values";
    case 0x88cc: return "lldp";
    case 0x88e3: return "mrp";
    case 0x88e5: return "macsec";
    case 0x88e7: return "pbb";
    case 0x88f7: return "ptp";
    case 0x88fb: return "prp";
    case 0x8902: return "cfm";
    case 0x8906: return "fcoe";
    case 0x8914: return "fip";
    case 0x893a: return "ieee1905";
    case 0x9000: return "loopback";
    default: break;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "ethertype-0x%04x", code);
    return buf;
}

// ---------------------------------------------------------------------------------
// Work items and the cheap first pass.

struct WorkItem {
    uint32_t file = 0;
    uint64_t offset = 0;        // 0: from the start (libpcap reads the file header)
    uint64_t first_record = 0;  // index in the file of the item's first record
    uint64_t records = 0;       // records to read; kToEnd: to the end of the file
};

constexpr uint64_t kToEnd = UINT64_MAX;
// libpcap refuses larger records for the link types trawl reads (max_snaplen_for_dlt).
constexpr uint32_t kMaxRecord = 262144;

// Forward reads of a file through one small buffer, for the walk below: the kernel
// copies the file sequentially (cheaper than mapping and faulting in every page of a
// large file, and than unmapping it afterwards) and the walk hops through a buffer that
// stays in cache.
class FileWindow {
public:
    explicit FileWindow(const std::string& path) : buffer_(kWindow) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st {};
        if (fd_ >= 0 && ::fstat(fd_, &st) == 0) size_ = uint64_t(st.st_size);
        if (fd_ >= 0) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    ~FileWindow() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileWindow(const FileWindow&) = delete;
    FileWindow& operator=(const FileWindow&) = delete;

    uint64_t size() const { return size_; }
    // The `n` (at most 64) bytes at `pos`, or nullptr when they are not in the file.
    const uint8_t* at(uint64_t pos, size_t n) {
        if (pos + n > size_) return nullptr;
        if (pos < start_ || pos + n > start_ + length_) {
            start_ = pos;
            length_ = 0;
            while (length_ < kWindow) {
                const ssize_t r = ::pread(fd_, buffer_.data() + length_, kWindow - length_, off_t(start_ + length_));
                if (r <= 0) break;
                length_ += size_t(r);
            }
            if (pos + n > start_ + length_) return nullptr;
        }
        return buffer_.data() + (pos - start_);
    }

private:
    static constexpr size_t kWindow = 256 << 10;
    int fd_ = -1;
    uint64_t size_ = 0;
    std::vector<uint8_t> buffer_;
    uint64_t start_ = 0;
    size_t length_ = 0;
};

// The cheap first pass, run as the serial first stage of the pipeline: it hops from
// record header to record header (never reading packets) and hands out record ranges
// of about `chunk` bytes as it goes, so the first range is being analysed while the
// walk goes on. Files smaller than two chunks are one item each, unread.
//
// The walk stops cutting at the first header libpcap would refuse (a record above
// 256 KiB, a torn tail, a malformed pcapng block): everything from the last cut is one
// range, which libpcap then reads exactly as a single thread would. pcapng is cut only
// in the shape trawl writes — one section, one interface, described before the first
// packet — because a range that starts mid-file must not miss an interface
// description; a second one ends the cutting the same way.
class RangeWalker {
public:
    RangeWalker(const std::vector<InputFile>& files, uint64_t chunk) : files_(files), chunk_(chunk) {}

    bool next(WorkItem& out) {
        for (;;) {
            if (!file_open_) {
                if (file_ >= files_.size()) return false;
                if (!open_file()) {  // not worth cutting, or not a file we can walk
                    out = {uint32_t(file_++), 0, 0, kToEnd};
                    ++items_;
                    return true;
                }
            }
            if (cut_next(out)) return true;
        }
    }

    size_t items() const { return items_; }

private:
    enum class Format { Pcap, Pcapng };

    // Fields at `pos`; false when the file ends first.
    bool read32(uint64_t pos, uint32_t& v) {
        const uint8_t* d = window_->at(pos, 4);
        if (!d) return false;
        v = swapped_ ? be32(d) : le32(d);
        return true;
    }

    bool open_file() {
        struct stat st {};
        if (chunk_ == 0 || ::stat(files_[file_].path.c_str(), &st) != 0 || uint64_t(st.st_size) < 2 * chunk_)
            return false;
        window_ = std::make_unique<FileWindow>(files_[file_].path);
        const uint8_t* head = window_->at(0, 28);
        if (!head) return false;
        const uint32_t magic = le32(head);
        if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d || magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
            format_ = Format::Pcap;
            swapped_ = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
            pos_ = 24;
        } else if (magic == 0x0a0d0d0a) {
            const uint32_t bom = le32(head + 8);
            if (bom != 0x1a2b3c4d && bom != 0x4d3c2b1a) return false;
            format_ = Format::Pcapng;
            swapped_ = bom == 0x4d3c2b1a;
            pos_ = 0;
            sections_ = interfaces_ = 0;
            seen_packet_ = false;
        } else {
            return false;
        }
        record_ = 0;
        item_start_ = 0;
        item_first_record_ = 0;
        file_open_ = true;
        return true;
    }

    // The size in the file of the record or block at pos_: a packet record libpcap will
    // accept (*packet = true), another block to step over (*packet = false), or 0 when
    // cutting must stop here.
    uint64_t step(bool* packet) {
        *packet = false;
        if (format_ == Format::Pcap) {
            uint32_t caplen = 0;
            if (!read32(pos_ + 8, caplen) || pos_ + 16 > window_->size()) return 0;
            if (caplen > kMaxRecord || pos_ + 16 + caplen > window_->size()) return 0;
            *packet = true;
            return 16 + uint64_t(caplen);
        }
        uint32_t type = 0, length = 0, trailer = 0;
        if (!read32(pos_, type) || !read32(pos_ + 4, length)) return 0;
        if (length < 12 || length % 4 || pos_ + length > window_->size()) return 0;
        if (type == 6 || type == 3) {  // enhanced / simple packet block
            if (interfaces_ != 1) return 0;
            if (type == 6) {
                uint32_t interface = 0, caplen = 0;
                if (length < 32 || !read32(pos_ + 8, interface) || !read32(pos_ + 20, caplen)) return 0;
                if (interface != 0 || caplen > kMaxRecord || uint64_t(caplen) + 32 > length) return 0;
            } else if (length < 16) {
                return 0;
            }
            *packet = true;
        } else if (type == 0x0a0d0d0a) {  // a second section: not cut
            if (sections_++ > 0) return 0;
        } else if (type == 1) {  // a second interface, or one after packets: not cut
            if (seen_packet_ || interfaces_++ > 0) return 0;
        } else if (type == 2) {  // obsolete Packet Block: not cut
            return 0;
        }
        if (!read32(pos_ + length - 4, trailer) || trailer != length) return 0;
        return length;
    }

    // Walks to the next cut and emits the range before it; at the end of what can be
    // walked, emits the rest of the file.
    bool cut_next(WorkItem& out) {
        const uint64_t cut_at = item_start_ + chunk_;
        for (;;) {
            bool packet = false;
            const uint64_t length = step(&packet);
            if (length == 0) break;
            if (packet) {
                if (pos_ >= cut_at && record_ > item_first_record_) {
                    out = {uint32_t(file_), item_start_, item_first_record_, record_ - item_first_record_};
                    item_start_ = pos_;
                    item_first_record_ = record_;
                    ++items_;
                    pos_ += length;
                    ++record_;
                    seen_packet_ = true;
                    return true;
                }
                ++record_;
                seen_packet_ = true;
            }
            pos_ += length;
        }
        out = {uint32_t(file_), item_start_, item_first_record_, kToEnd};
        ++items_;
        ++file_;
        file_open_ = false;
        window_.reset();
        return true;
    }

    const std::vector<InputFile>& files_;
    const uint64_t chunk_;
    size_t file_ = 0;
    size_t items_ = 0;
    bool file_open_ = false;
    std::unique_ptr<FileWindow> window_;
    Format format_ = Format::Pcap;
    bool swapped_ = false;
    uint64_t pos_ = 0, record_ = 0, item_start_ = 0, item_first_record_ = 0;
    unsigned sections_ = 0, interfaces_ = 0;
    bool seen_packet_ = false;
};

// ---------------------------------------------------------------------------------
// Partial results: one per thread, joined by parallel_reduce.

struct FileCounts {
    uint64_t records = 0, bytes = 0;
    std::string format, link_type, error;
};

struct Partial {
    FlowTable flows;
    Timeline timeline;
    uint64_t records = 0, bytes = 0, captured_bytes = 0;
    uint64_t incomplete_packets = 0, incomplete_bytes = 0;
    std::map<uint32_t, std::pair<uint64_t, uint64_t>> non_ip;  // class → packets, bytes
    std::vector<FileCounts> files;
    // (file, position) orders the warnings of several threads as one thread would.
    std::vector<std::pair<uint64_t, std::string>> warnings;

    explicit Partial(size_t file_count) : files(file_count) {}

    void merge(Partial&& o) {
        if (o.flows.size() > flows.size()) std::swap(flows, o.flows);  // merge the smaller in
        flows.merge(o.flows);
        timeline.merge(o.timeline);
        records += o.records;
        bytes += o.bytes;
        captured_bytes += o.captured_bytes;
        incomplete_packets += o.incomplete_packets;
        incomplete_bytes += o.incomplete_bytes;
        for (const auto& [k, v] : o.non_ip) {
            auto& mine = non_ip[k];
            mine.first += v.first;
            mine.second += v.second;
        }
        for (size_t i = 0; i < files.size(); ++i) {
            FileCounts& f = files[i];
            const FileCounts& g = o.files[i];
            f.records += g.records;
            f.bytes += g.bytes;
            if (f.format.empty()) f.format = g.format;
            if (f.link_type.empty()) f.link_type = g.link_type;
            if (f.error.empty()) f.error = g.error;
        }
        warnings.insert(warnings.end(), std::make_move_iterator(o.warnings.begin()),
                        std::make_move_iterator(o.warnings.end()));
    }
};

struct Context {
    const std::vector<InputFile>& files;
    const AnalyzeOptions& options;
};

int64_t timestamp_ns(const timeval& tv) {
    // libpcap opened with nanosecond precision: tv_usec holds nanoseconds. Clamp absurd
    // seconds (a corrupt pcapng timestamp) so the nanosecond count cannot overflow.
    const int64_t sec = std::clamp<int64_t>(int64_t(tv.tv_sec), -9000000000ll, 9000000000ll);
    return sec * 1000000000ll + int64_t(tv.tv_usec);
}

// Hot: every record goes through here once, in two steps. parse() reads the record's
// headers while libpcap's buffer still holds them and keeps what the flow table needs
// (about 80 bytes); a batch of those is then counted with the table lookups prefetched
// (slots of the whole batch, then entries), so the two cache misses of a lookup overlap
// across packets instead of adding up. Order within a batch is kept, so the first packet
// of a flow is the same as without batching.
struct Parsed {
    FlowKey key;
    uint64_t hash;
    uint64_t sequence;
    int64_t ns;
    uint32_t len;
    uint8_t direction;
    uint8_t tcp_flags;
    bool has_tcp_flags;
};

constexpr size_t kBatch = 16;

// Returns false when the record is in no flow (non-IP, or an IP header without both
// addresses); it is fully counted then.
inline bool parse(Partial& acc, int link_type, const pcap_pkthdr& h, const uint8_t* data, uint64_t sequence,
                  Parsed& out) {
    const int64_t ns = timestamp_ns(h.ts);
    acc.records += 1;
    acc.bytes += h.len;
    acc.captured_bytes += h.caplen;
    acc.timeline.add(ns, h.len);
    const PacketView v = parse_frame(link_type, data, h.caplen);
    if (!v.is_ip()) {
        auto& c = acc.non_ip[non_ip_class(link_type, data, h.caplen)];
        c.first += 1;
        c.second += h.len;
        return false;
    }
    if (!v.has(dataplane::kHasSource) || !v.has(dataplane::kHasDestination)) {
        acc.incomplete_packets += 1;
        acc.incomplete_bytes += h.len;
        return false;
    }
    out.direction = uint8_t(make_flow_key(v, data, out.key));
    out.hash = hash_flow_key(out.key);
    out.sequence = sequence;
    out.ns = ns;
    out.len = h.len;
    out.has_tcp_flags = v.has(dataplane::kHasTcpFlags);
    out.tcp_flags = v.tcp_flags;
    acc.flows.prefetch_slot(out.hash);
    return true;
}

inline void count_batch(Partial& acc, const Parsed* batch, size_t n) {
    for (size_t i = 0; i < n; ++i) acc.flows.prefetch_entry(batch[i].hash);
    for (size_t i = 0; i < n; ++i) {
        const Parsed& p = batch[i];
        FlowStats& f = acc.flows.find_or_insert(p.key, p.hash, p.sequence, p.direction, p.ns);
        f.packets[p.direction] += 1;
        f.bytes[p.direction] += p.len;
        if (p.has_tcp_flags) f.tcp_flags |= p.tcp_flags;
        f.first_ns = std::min(f.first_ns, p.ns);
        f.last_ns = std::max(f.last_ns, p.ns);
    }
}

void read_item(const Context& ctx, const WorkItem& item, Partial& acc) {
    const InputFile& in = ctx.files[item.file];
    const std::string& name = in.name.empty() ? in.path : in.name;
    FileCounts& counts = acc.files[item.file];
    auto warn = [&](uint64_t record, const std::string& message) {
        acc.warnings.push_back({make_sequence(item.file, record), name + ": " + message});
    };

    FILE* f = std::fopen(in.path.c_str(), "rb");
    if (!f) {
        counts.error = std::strerror(errno);
        return warn(0, "cannot open: " + counts.error);
    }
    // A large stdio buffer: libpcap reads each record with two freads.
    constexpr size_t kBuffer = 1 << 20;
    auto buffer = std::make_unique<char[]>(kBuffer);
    std::setvbuf(f, buffer.get(), _IOFBF, kBuffer);
    ::posix_fadvise(fileno(f), 0, 0, POSIX_FADV_SEQUENTIAL);
    uint8_t magic[4] = {0, 0, 0, 0};
    const bool pcapng = std::fread(magic, 1, 4, f) == 4 && le32(magic) == 0x0a0d0d0a;
    std::rewind(f);
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!p) {
        std::fclose(f);
        counts.error = errbuf;
        return warn(0, std::string("not a capture file libpcap can read: ") + errbuf);
    }
    std::unique_ptr<pcap_t, void (*)(pcap_t*)> handle(p, pcap_close);  // closes f, before buffer dies
    const int link_type = pcap_datalink(p);
    const char* link_name = pcap_datalink_val_to_name(link_type);
    counts.link_type = link_name ? link_name : std::to_string(link_type);
    counts.format = pcapng ? "pcapng" : "pcap";
    if (!link_type_parsed(link_type))
        warn(0, "link type " + counts.link_type + " is not parsed: its packets count as non-IP");
    if (item.offset && fseeko(pcap_file(p), off_t(item.offset), SEEK_SET) != 0) {
        counts.error = std::strerror(errno);
        return warn(item.first_record, "cannot seek: " + counts.error);
    }

    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    uint64_t record = item.first_record, read = 0, bytes_at_last_report = 0, file_bytes = 0;
    int rc = 0;
    Parsed batch[kBatch];
    size_t batched = 0;
    while (read < item.records && (rc = pcap_next_ex(p, &h, &data)) == 1) {
        if (parse(acc, link_type, *h, data, make_sequence(item.file, record), batch[batched]) &&
            ++batched == kBatch) {
            count_batch(acc, batch, batched);
            batched = 0;
        }
        counts.records += 1;
        counts.bytes += h->len;
        file_bytes += 16 + h->caplen;
        ++record;
        if ((++read & 0xffff) == 0) {
            if (ctx.options.progress) {
                ctx.options.progress->records.fetch_add(0x10000, std::memory_order_relaxed);
                ctx.options.progress->file_bytes.fetch_add(file_bytes - bytes_at_last_report, std::memory_order_relaxed);
                bytes_at_last_report = file_bytes;
            }
            if (ctx.options.cancel && ctx.options.cancel->load(std::memory_order_relaxed)) break;
        }
    }
    count_batch(acc, batch, batched);
    if (ctx.options.progress) {
        ctx.options.progress->records.fetch_add(read & 0xffff, std::memory_order_relaxed);
        ctx.options.progress->file_bytes.fetch_add(file_bytes - bytes_at_last_report, std::memory_order_relaxed);
    }
    if (rc == PCAP_ERROR) {
        // A torn last record ("truncated dump file") or a header libpcap refuses: what
        // came before is counted, the rest of the file is not.
        counts.error = pcap_geterr(p);
        warn(record, "read stopped after " + std::to_string(record) + " records: " + counts.error);
    } else if (item.records != kToEnd && read < item.records && rc != 1 &&
               !(ctx.options.cancel && ctx.options.cancel->load())) {
        counts.error = "file changed while it was read";
        warn(record, counts.error);
    }
}

// Joins the per-thread partial results pairwise (a tree for many threads).
class JoinBody {
public:
    explicit JoinBody(const std::vector<Partial*>& parts) : parts_(parts) {}
    JoinBody(JoinBody& other, tbb::split) : parts_(other.parts_) {}
    void operator()(const tbb::blocked_range<size_t>& range) {
        for (size_t i = range.begin(); i != range.end(); ++i) add(parts_[i]);
    }
    void join(JoinBody& rhs) { add(rhs.joined_); }
    Partial* joined() const { return joined_; }

private:
    void add(Partial* p) {
        if (!p) return;
        if (!joined_) joined_ = p;
        else joined_->merge(std::move(*p));
    }
    const std::vector<Partial*>& parts_;
    Partial* joined_ = nullptr;
};

// ---------------------------------------------------------------------------------
// From the joined partial result to the report tables.

struct AddressKey {
    uint8_t family;
    std::array<uint8_t, 16> address;
    bool operator==(const AddressKey& o) const { return family == o.family && address == o.address; }
    bool operator<(const AddressKey& o) const {
        return family != o.family ? family < o.family : address < o.address;
    }
};

struct AddressKeyHash {
    size_t operator()(const AddressKey& k) const {
        uint64_t a, b;
        std::memcpy(&a, k.address.data(), 8);
        std::memcpy(&b, k.address.data() + 8, 8);
        uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull) ^ k.family) * 0xbf58476d1ce4e5b9ull;
        return size_t(h ^ (h >> 31));
    }
};

template <typename Row>
void sort_rows_by_bytes(std::vector<Row>& rows) {
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        if (a.bytes != b.bytes) return a.bytes > b.bytes;
        if (a.packets != b.packets) return a.packets > b.packets;
        return a.name < b.name;
    });
}

void build_overview(Analysis& a) {
    std::map<int, OverviewRow> by_protocol;  // -1: IP without a protocol
    std::map<std::string, OverviewRow> by_service;
    for (const Flow& f : a.flows) {
        const FlowKey& k = f.key;
        const FlowStats& s = f.stats;
        const uint64_t packets = s.packets[0] + s.packets[1], bytes = s.bytes[0] + s.bytes[1];
        const int number = k.has_protocol() ? int(k.protocol) : -1;
        OverviewRow& p = by_protocol[number];
        if (p.name.empty()) {
            p.name = number >= 0 ? ip_protocol_name(uint8_t(number)) : "unknown";
            p.number = number;
        }
        p.packets += packets;
        p.bytes += bytes;
        p.flows += 1;
        const bool client_low = s.client_direction == 0;
        const uint16_t client_port = client_low ? k.low_port : k.high_port;
        const uint16_t server_port = client_low ? k.high_port : k.low_port;
        const std::string label = service_label(k.has_protocol(), k.protocol, k.has_ports(), client_port, server_port);
        OverviewRow& sv = by_service[label];
        sv.name = label;
        sv.packets += packets;
        sv.bytes += bytes;
        sv.flows += 1;
    }
    for (auto& [n, row] : by_protocol) a.protocols.push_back(std::move(row));
    if (a.incomplete_ip_packets)
        a.protocols.push_back({"ip-incomplete", -1, a.incomplete_ip_packets, a.incomplete_ip_bytes, 0});
    if (a.non_ip_packets) a.protocols.push_back({"non-ip", -1, a.non_ip_packets, a.non_ip_bytes, 0});
    sort_rows_by_bytes(a.protocols);
    for (auto& [n, row] : by_service) a.services.push_back(std::move(row));
    sort_rows_by_bytes(a.services);
    sort_rows_by_bytes(a.non_ip);
}

void build_addresses(Analysis& a, const GeoIp& geo, bool parallel) {
    std::unordered_map<AddressKey, size_t, AddressKeyHash> index;
    std::vector<std::pair<size_t, size_t>> peer_pairs;
    auto row_of = [&](uint8_t family, const std::array<uint8_t, 16>& address) -> size_t {
        auto [it, inserted] = index.try_emplace(AddressKey{family, address}, a.addresses.size());
        if (inserted) {
            AddressRow& r = a.addresses.emplace_back();
            r.family = family;
            r.address = address;
        }
        return it->second;
    };
    for (const Flow& f : a.flows) {
        const size_t low = row_of(f.key.family, f.key.low_address);
        const size_t high = row_of(f.key.family, f.key.high_address);
        const FlowStats& s = f.stats;
        AddressRow& l = a.addresses[low];
        l.packets_sent += s.packets[0];
        l.bytes_sent += s.bytes[0];
        l.packets_received += s.packets[1];
        l.bytes_received += s.bytes[1];
        l.flows += 1;
        AddressRow& h = a.addresses[high];
        h.packets_sent += s.packets[1];
        h.bytes_sent += s.bytes[1];
        h.packets_received += s.packets[0];
        h.bytes_received += s.bytes[0];
        if (high != low) {
            h.flows += 1;
            peer_pairs.push_back({low, high});
            peer_pairs.push_back({high, low});
        }
    }
    if (parallel) tbb::parallel_sort(peer_pairs.begin(), peer_pairs.end());
    else std::sort(peer_pairs.begin(), peer_pairs.end());
    peer_pairs.erase(std::unique(peer_pairs.begin(), peer_pairs.end()), peer_pairs.end());
    for (const auto& [self, peer] : peer_pairs) a.addresses[self].peers += 1;

    // Text and country of every address: independent lookups (GeoIP's are thread-safe).
    auto describe = [&](size_t begin, size_t end) {
        for (size_t i = begin; i < end; ++i) {
            AddressRow& r = a.addresses[i];
            r.text = address_text(r.family, r.address.data());
            r.country = geo.country(r.family, r.address.data());
        }
    };
    if (parallel)
        tbb::parallel_for(tbb::blocked_range<size_t>(0, a.addresses.size(), 4096),
                          [&](const tbb::blocked_range<size_t>& r) { describe(r.begin(), r.end()); });
    else
        describe(0, a.addresses.size());

    std::map<std::string, CountryRow> countries;
    for (AddressRow& r : a.addresses) {
        CountryRow& c = countries[r.country.code];
        c.code = r.country.code;
        c.name = r.country.name;
        c.addresses += 1;
        c.packets_sent += r.packets_sent;
        c.packets_received += r.packets_received;
        c.bytes_sent += r.bytes_sent;
        c.bytes_received += r.bytes_received;
    }
    // Top talkers first; a total order, so any sort gives the same list.
    auto by_traffic = [](const AddressRow& x, const AddressRow& y) {
        const uint64_t bx = x.bytes_sent + x.bytes_received, by = y.bytes_sent + y.bytes_received;
        if (bx != by) return bx > by;
        const uint64_t px = x.packets_sent + x.packets_received, py = y.packets_sent + y.packets_received;
        if (px != py) return px > py;
        return AddressKey{x.family, x.address} < AddressKey{y.family, y.address};
    };
    if (parallel) tbb::parallel_sort(a.addresses.begin(), a.addresses.end(), by_traffic);
    else std::sort(a.addresses.begin(), a.addresses.end(), by_traffic);
    for (auto& [code, row] : countries) a.countries.push_back(std::move(row));
    std::sort(a.countries.begin(), a.countries.end(), [](const CountryRow& x, const CountryRow& y) {
        const uint64_t bx = x.bytes_sent + x.bytes_received, by = y.bytes_sent + y.bytes_received;
        if (bx != by) return bx > by;
        return x.code < y.code;
    });
}

// `parallel`: sort and look up on the calling arena's threads.
Analysis finish(Partial&& p, const std::vector<InputFile>& inputs, const GeoIp& geo, bool parallel) {
    Analysis a;
    for (size_t i = 0; i < inputs.size(); ++i) {
        FileSummary s;
        s.name = inputs[i].name.empty() ? inputs[i].path : inputs[i].name;
        struct stat st {};
        if (::stat(inputs[i].path.c_str(), &st) == 0) s.size = uint64_t(st.st_size);
        s.format = p.files[i].format;
        s.link_type = p.files[i].link_type;
        s.records = p.files[i].records;
        s.bytes = p.files[i].bytes;
        s.error = p.files[i].error;
        a.files.push_back(std::move(s));
    }
    a.records = p.records;
    a.bytes = p.bytes;
    a.captured_bytes = p.captured_bytes;
    a.incomplete_ip_packets = p.incomplete_packets;
    a.incomplete_ip_bytes = p.incomplete_bytes;
    for (const auto& [code, c] : p.non_ip) {
        a.non_ip.push_back({non_ip_name(code), code < 0x10000 ? int(code) : -1, c.first, c.second, 0});
        a.non_ip_packets += c.first;
        a.non_ip_bytes += c.second;
    }
    a.ip_packets = a.records - a.non_ip_packets;
    a.ip_bytes = a.bytes - a.non_ip_bytes;
    a.flows = p.flows.take_flows();
    // Largest first; first_sequence is unique per flow, so the order is total.
    auto by_bytes = [](const Flow& x, const Flow& y) {
        const uint64_t bx = x.stats.bytes[0] + x.stats.bytes[1], by = y.stats.bytes[0] + y.stats.bytes[1];
        if (bx != by) return bx > by;
        const uint64_t px = x.stats.packets[0] + x.stats.packets[1], py = y.stats.packets[0] + y.stats.packets[1];
        if (px != py) return px > py;
        return x.stats.first_sequence < y.stats.first_sequence;
    };
    if (parallel) tbb::parallel_sort(a.flows.begin(), a.flows.end(), by_bytes);
    else std::sort(a.flows.begin(), a.flows.end(), by_bytes);
    build_overview(a);
    build_addresses(a, geo, parallel);
    if (!p.timeline.empty()) {
        a.timeline = p.timeline.buckets();
        a.timeline_width_ns = p.timeline.width_ns();
        a.first_ns = p.timeline.min_ns();
        a.last_ns = p.timeline.max_ns();
    }
    std::sort(p.warnings.begin(), p.warnings.end());
    for (auto& [order, w] : p.warnings)
        if (a.warnings.empty() || a.warnings.back() != w) a.warnings.push_back(std::move(w));
    a.geoip_database = geo.database();
    a.geoip_package = geo.package_version();
    a.geoip_date = geo.data_date();
    a.geoip_note = geo.note();
    return a;
}

}  // namespace

std::string address_text(unsigned family, const uint8_t* address) {
    char buf[INET6_ADDRSTRLEN] = "";
    ::inet_ntop(family == 4 ? AF_INET : AF_INET6, address, buf, sizeof buf);
    return buf;
}

Analysis analyze(const std::vector<InputFile>& files, const AnalyzeOptions& options) {
    const auto started = std::chrono::steady_clock::now();
    const unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    const Context ctx{files, options};
    auto cancelled = [&] { return options.cancel && options.cancel->load(std::memory_order_relaxed); };

    const GeoIp& geo = options.geoip ? *options.geoip : GeoIp::shared();
    Partial joined(files.size());
    Analysis a;
    auto read_done = started;
    size_t items = 0;
    if (threads <= 1) {
        // One thread: each file read once, front to back; nothing is pre-read.
        for (uint32_t i = 0; i < files.size() && !cancelled(); ++i) read_item(ctx, {i, 0, 0, kToEnd}, joined);
        items = files.size();
        read_done = std::chrono::steady_clock::now();
        a = finish(std::move(joined), files, geo, false);
    } else {
        // The walker hands out ranges (serial, in order); any thread reads a range into its
        // own partial result; the partial results are joined at the end.
        const uint64_t chunk = options.chunk_bytes ? options.chunk_bytes : 32ull << 20;
        RangeWalker walker(files, chunk);
        tbb::enumerable_thread_specific<Partial> partials([&] { return Partial(files.size()); });
        tbb::task_arena arena{static_cast<int>(threads)};
        arena.execute([&] {
            tbb::parallel_pipeline(
                2 * threads,
                tbb::make_filter<void, WorkItem>(tbb::filter_mode::serial_in_order,
                                                 [&](tbb::flow_control& fc) {
                                                     WorkItem item;
                                                     if (cancelled() || !walker.next(item)) fc.stop();
                                                     return item;
                                                 }) &
                    tbb::make_filter<WorkItem, void>(tbb::filter_mode::parallel, [&](const WorkItem& item) {
                        read_item(ctx, item, partials.local());
                    }));
            std::vector<Partial*> parts;
            for (Partial& p : partials) parts.push_back(&p);
            JoinBody body(parts);
            tbb::parallel_reduce(tbb::blocked_range<size_t>(0, parts.size(), 1), body);
            if (body.joined()) joined = std::move(*body.joined());
            read_done = std::chrono::steady_clock::now();
            a = finish(std::move(joined), files, geo, true);
        });
        items = walker.items();
    }
    a.engine.read_seconds = std::chrono::duration<double>(read_done - started).count();
    a.engine.threads = threads;
    a.engine.work_items = items;
    a.engine.cancelled = cancelled();
    a.engine.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return a;
}

}  // namespace trawl::analysis
