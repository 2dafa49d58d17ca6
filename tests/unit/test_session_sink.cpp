// SessionSink (DESIGN §2.1 limits and file fields, §2.4 stop reasons, §2.5 files): the
// snap length, limits that are never overshot, the time limit, rotation by size, the
// ring buffer of files, numbering and carry-over after a restart, the events control
// sees, and a write that fails (RLIMIT_FSIZE in a forked child stands in for a full
// disk). Time is driven only through the now_ns arguments: no sleeps, no clocks.
#include "dataplane/session_sink.hpp"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace trawl::dataplane {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Helpers

class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/trawl-session-sink-XXXXXX";
        const char* made = ::mkdtemp(pattern);
        if (made == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
        path_ = made;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

uint32_t le32(const std::vector<uint8_t>& b, size_t off) {
    uint32_t v;
    std::memcpy(&v, b.data() + off, 4);
    return v;
}
uint16_t le16(const std::vector<uint8_t>& b, size_t off) {
    uint16_t v;
    std::memcpy(&v, b.data() + off, 2);
    return v;
}

std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// Visible capture files of `session`, in index order (names are zero-padded).
std::vector<std::string> capture_files(const std::string& dir, const std::string& session = "s1") {
    std::vector<std::string> out;
    for (const auto& name : list_dir(dir))
        if (capture_file_index(session, name)) out.push_back(name);
    return out;
}

// Hidden partial files of `session`.
std::vector<std::string> partial_files(const std::string& dir, const std::string& session = "s1") {
    std::vector<std::string> out;
    for (const auto& name : list_dir(dir)) {
        const std::string suffix = ".partial";
        if (name.size() > 1 + suffix.size() && name[0] == '.' && name.ends_with(suffix) &&
            capture_file_index(session, name.substr(1, name.size() - 1 - suffix.size())))
            out.push_back(name);
    }
    return out;
}

std::vector<uint8_t> payload(uint32_t length, uint32_t seed) {
    std::vector<uint8_t> p(length);
    uint32_t x = seed * 2654435761u + 977u;
    for (auto& b : p) {
        x = x * 1103515245u + 12345u;
        b = uint8_t(x >> 16);
    }
    return p;
}

struct Record {
    uint64_t timestamp_ns = 0;
    uint32_t captured_length = 0;
    uint32_t original_length = 0;
    std::vector<uint8_t> data;
};

struct PcapContents {
    std::vector<Record> records;
    int snaplen = -1;
};

std::optional<PcapContents> read_with_libpcap(const std::string& path, std::string* error = nullptr) {
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    if (p == nullptr) {
        if (error) *error = err;
        return std::nullopt;
    }
    PcapContents out;
    out.snaplen = pcap_snapshot(p);
    for (;;) {
        pcap_pkthdr* h = nullptr;
        const u_char* data = nullptr;
        const int rc = pcap_next_ex(p, &h, &data);
        if (rc == -2) break;
        if (rc != 1) {
            if (error) *error = pcap_geterr(p);
            pcap_close(p);
            return std::nullopt;
        }
        Record r;
        r.timestamp_ns = uint64_t(h->ts.tv_sec) * 1000000000ull + uint64_t(h->ts.tv_usec);
        r.captured_length = h->caplen;
        r.original_length = h->len;
        r.data.assign(data, data + h->caplen);
        out.records.push_back(std::move(r));
    }
    pcap_close(p);
    return out;
}

// Strict structure check (NOTES "Files": common readers let malformed files pass).
// "" when valid.
std::string strict_validate(const std::string& path) {
    const auto b = read_bytes(path);
    if (b.size() < 4) return "shorter than a magic number";
    if (le32(b, 0) == 0xa1b23c4d) {
        if (b.size() < 24) return "pcap header truncated";
        if (le16(b, 4) != 2 || le16(b, 6) != 4) return "pcap version is not 2.4";
        const uint32_t snaplen = le32(b, 16);
        if (snaplen == 0) return "pcap snaplen 0";
        if (le32(b, 20) != 1) return "pcap linktype is not Ethernet";
        size_t off = 24;
        while (off < b.size()) {
            if (b.size() - off < 16) return "torn record header at " + std::to_string(off);
            const uint32_t frac = le32(b, off + 4), caplen = le32(b, off + 8), origlen = le32(b, off + 12);
            if (frac >= 1000000000u) return "fraction out of range at " + std::to_string(off);
            if (caplen > snaplen) return "caplen above snaplen at " + std::to_string(off);
            if (origlen < caplen) return "origlen below caplen at " + std::to_string(off);
            if (b.size() - off - 16 < caplen) return "torn record data at " + std::to_string(off);
            off += 16 + caplen;
        }
        return "";
    }
    if (le32(b, 0) != 0x0a0d0d0a) return "unknown magic";
    size_t off = 0;
    std::vector<uint32_t> idb_snaplens;
    while (off < b.size()) {
        if (b.size() - off < 12) return "torn block header at " + std::to_string(off);
        const uint32_t type = le32(b, off), length = le32(b, off + 4);
        if (length < 12 || length % 4 != 0) return "bad block length at " + std::to_string(off);
        if (b.size() - off < length) return "torn block at " + std::to_string(off);
        if (le32(b, off + length - 4) != length) return "trailer differs at " + std::to_string(off);
        if (off == 0 && (type != 0x0a0d0d0a || le32(b, 8) != 0x1a2b3c4d)) return "no SHB";
        if (type == 1) {
            bool tsresol9 = false;
            for (size_t o = off + 16; o + 4 <= off + length - 4;) {
                const uint16_t code = le16(b, o), len = le16(b, o + 2);
                if (code == 0) break;
                if (code == 9 && len == 1 && b[o + 4] == 9) tsresol9 = true;
                o += 4 + ((len + 3u) & ~3u);
            }
            if (!tsresol9) return "IDB without if_tsresol 9";
            idb_snaplens.push_back(le32(b, off + 12));
        } else if (type == 6) {
            const uint32_t ifindex = le32(b, off + 8), caplen = le32(b, off + 20), origlen = le32(b, off + 24);
            if (ifindex >= idb_snaplens.size()) return "EPB names an unknown interface";
            if (((caplen + 3u) & ~3u) != length - 32) return "EPB caplen does not match its length";
            if (origlen < caplen) return "EPB origlen below caplen";
            if (caplen > idb_snaplens[ifindex]) return "EPB caplen above snaplen";
        }
        off += length;
    }
    if (idb_snaplens.empty()) return "no IDB";
    return "";
}

// A packet as the writer thread hands it in.
struct Packet {
    uint64_t timestamp_ns;
    uint32_t length;  // pkt_len
    uint32_t interface_index;
    std::vector<uint8_t> data;
};

constexpr uint64_t kT0 = 1763794800ull * 1000000000ull;  // 2025-11-22T07:00:00Z

Packet make_packet(uint32_t seq, uint32_t length, uint32_t interface_index = 0) {
    return {kT0 + uint64_t(seq) * 1000000007ull + seq, length, interface_index, payload(length, seq)};
}

// Hands the packet in as an mbuf chain of segments of at most 2048 bytes.
void offer(SessionSink& sink, uint64_t now_ns, const Packet& p) {
    std::vector<ByteSpan> spans;
    for (uint32_t at = 0; at < p.length; at += 2048)
        spans.push_back({p.data.data() + at, std::min<uint32_t>(2048, p.length - at)});
    sink.write(now_ns, p.timestamp_ns, p.length, p.interface_index, spans.data(), spans.size());
}

uint32_t captured_length(const Packet& p, uint32_t snap) {
    const uint32_t limit = snap == 0 || snap > kMaxCapturedLength ? kMaxCapturedLength : snap;
    return std::min(p.length, limit);
}

void expect_records(const std::vector<Record>& got, const std::vector<Packet>& want, uint32_t snap) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE("record " + std::to_string(i));
        const uint32_t cap = captured_length(want[i], snap);
        EXPECT_EQ(got[i].timestamp_ns, want[i].timestamp_ns);
        EXPECT_EQ(got[i].original_length, want[i].length);
        EXPECT_EQ(got[i].captured_length, cap);
        EXPECT_TRUE(std::equal(got[i].data.begin(), got[i].data.end(), want[i].data.begin()) &&
                    got[i].data.size() == cap);
    }
}

// Every record of every visible capture file, in file order; each file must be valid.
std::vector<Record> all_records(const std::string& dir) {
    std::vector<Record> out;
    for (const auto& name : capture_files(dir)) {
        const std::string path = dir + "/" + name;
        EXPECT_EQ(strict_validate(path), "") << name;
        std::string error;
        const auto got = read_with_libpcap(path, &error);
        EXPECT_TRUE(got.has_value()) << name << ": " << error;
        if (got) out.insert(out.end(), got->records.begin(), got->records.end());
    }
    return out;
}

const char* reason_name(StopReason r) {
    switch (r) {
    case StopReason::None: return "None";
    case StopReason::ManuallyStopped: return "ManuallyStopped";
    case StopReason::TimeExceeded: return "TimeExceeded";
    case StopReason::TotalBytesExceeded: return "TotalBytesExceeded";
    case StopReason::PacketLimitExceeded: return "PacketLimitExceeded";
    case StopReason::ServiceStopped: return "ServiceStopped";
    case StopReason::Error: return "Error";
    }
    return "?";
}

// "Closed(s1-000001.pcap,5) Deleted(s1-000001.pcap) Stopped(ManuallyStopped)"
std::string describe(const std::vector<SinkEvent>& events) {
    std::string s;
    for (const auto& ev : events) {
        if (!s.empty()) s += ' ';
        switch (ev.kind) {
        case SinkEvent::Kind::FileClosed:
            s += "Closed(" + ev.file.name + "," + std::to_string(ev.file.packets) +
                 (ev.file.complete ? "" : ",hidden") + ")";
            break;
        case SinkEvent::Kind::FileDeleted: s += "Deleted(" + ev.file.name + ")"; break;
        case SinkEvent::Kind::Stopped: s += std::string("Stopped(") + reason_name(ev.reason) + ")"; break;
        }
    }
    return s;
}

SinkSpec base_spec(const TempDir& dir, FileFormat format = FileFormat::Pcap) {
    SinkSpec s;
    s.session = "s1";
    s.directory = dir.path();
    s.format = format;
    return s;
}

// Runs `body` in a forked child whose files may not grow beyond `fsize_limit` bytes
// (SIGXFSZ ignored, so write() fails with EFBIG like a full disk would fail with
// ENOSPC). The child reports "key=value" lines through a pipe.
std::map<std::string, std::string> run_with_file_size_limit(
    rlim_t fsize_limit, const std::function<std::map<std::string, std::string>()>& body) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
        ::close(fds[0]);
        ::signal(SIGXFSZ, SIG_IGN);
        rlimit lim{fsize_limit, fsize_limit};
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(90);
        std::string text;
        try {
            for (const auto& [k, v] : body()) text += k + "=" + v + "\n";
        } catch (const std::exception& e) {
            text += std::string("exception=") + e.what() + "\n";
        }
        size_t done = 0;
        while (done < text.size()) {
            const ssize_t n = ::write(fds[1], text.data() + done, text.size() - done);
            if (n <= 0) ::_exit(91);
            done += size_t(n);
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string text;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, size_t(n));
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::map<std::string, std::string> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        const auto eq = line.find('=');
        if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    out["exit"] = WIFEXITED(status) ? std::to_string(WEXITSTATUS(status)) : "signal";
    return out;
}

// What a child reports about its sink after the run.
std::map<std::string, std::string> report(SessionSink& sink) {
    std::map<std::string, std::string> r;
    r["reason"] = reason_name(sink.stop_reason());
    r["message"] = sink.error_message();
    r["packets"] = std::to_string(sink.packets());
    r["bytes"] = std::to_string(sink.bytes());
    r["write_error_drops"] = std::to_string(sink.write_error_drops());
    r["discarded"] = std::to_string(sink.discarded_after_stop());
    const auto events = sink.take_events();
    r["events"] = describe(events);
    for (const auto& ev : events) {
        if (ev.kind == SinkEvent::Kind::FileClosed) {
            r["closed_bytes"] = std::to_string(ev.file.bytes);
            r["closed_captured"] = std::to_string(ev.file.captured_bytes);
        }
        if (ev.kind == SinkEvent::Kind::Stopped) r["stopped_message"] = ev.message;
    }
    return r;
}

// The checks every write-error scenario shares: the session is in Error with a
// message, nothing is hidden or torn, the published file holds exactly the packets
// the counters say were written (a prefix of what was offered, in order), and every
// offered packet is either written or counted as a write-error drop.
void expect_clean_write_error(std::map<std::string, std::string>& out, const TempDir& dir,
                              const std::vector<Packet>& offered) {
    ASSERT_EQ(out["exit"], "0");
    ASSERT_EQ(out.count("exception"), 0u) << out["exception"];
    EXPECT_EQ(out["reason"], "Error");
    EXPECT_FALSE(out["message"].empty());
    EXPECT_EQ(out["stopped_message"], out["message"]);
    const uint64_t packets = std::stoull(out["packets"]);
    EXPECT_EQ(packets + std::stoull(out["write_error_drops"]), offered.size());
    EXPECT_EQ(out["discarded"], "0");
    EXPECT_TRUE(partial_files(dir.path()).empty()) << ::testing::PrintToString(list_dir(dir.path()));
    const auto records = all_records(dir.path());
    ASSERT_EQ(records.size(), packets);
    expect_records(records, std::vector<Packet>(offered.begin(), offered.begin() + long(packets)), 0);
    uint64_t captured = 0;
    for (const auto& r : records) captured += r.captured_length;
    EXPECT_EQ(std::to_string(captured), out["bytes"]);
}

// ---------------------------------------------------------------------------------------
// Snap length

class SessionSinkFormat : public ::testing::TestWithParam<FileFormat> {};

TEST_P(SessionSinkFormat, SnapLengthCutsCapturedBytesKeepsOriginalLength) {
    TempDir dir;
    auto spec = base_spec(dir, GetParam());
    spec.snap_length = 100;
    spec.interface_names = {"net_pcap0", "net_pcap1"};
    std::vector<Packet> packets;
    for (uint32_t len : {60u, 100u, 101u, 1514u, 0u, 9000u, 80u * 1024u}) {
        const uint32_t seq = uint32_t(packets.size());
        packets.push_back(make_packet(seq, len, seq % 2));
    }
    {
        SessionSink sink(spec);
        for (const auto& p : packets) offer(sink, 1, p);
        EXPECT_EQ(sink.packets(), packets.size());
        EXPECT_EQ(sink.bytes(), 60u + 100 + 100 + 100 + 0 + 100 + 100);
        sink.stop(StopReason::ManuallyStopped);
    }
    const auto files = capture_files(dir.path());
    ASSERT_EQ(files.size(), 1u);
    const auto got = read_with_libpcap(dir.file(files[0]));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->snaplen, 100);
    expect_records(got->records, packets, 100);
    EXPECT_EQ(strict_validate(dir.file(files[0])), "");
    if (GetParam() == FileFormat::Pcap) {
        EXPECT_EQ(le32(read_bytes(dir.file(files[0])), 16), 100u);
    }
}

TEST_P(SessionSinkFormat, WholePacketMeansUpTo256KiB) {
    for (uint32_t snap : {0u, 1u << 20}) {
        SCOPED_TRACE("snap " + std::to_string(snap));
        TempDir dir;
        auto spec = base_spec(dir, GetParam());
        spec.snap_length = snap;
        const std::vector<Packet> packets{make_packet(0, 9000), make_packet(1, 300000), make_packet(2, 262144),
                                          make_packet(3, 0)};
        {
            SessionSink sink(spec);
            for (const auto& p : packets) offer(sink, 1, p);
            EXPECT_EQ(sink.bytes(), 9000u + 262144 + 262144);
            sink.stop(StopReason::ManuallyStopped);
        }
        const auto files = capture_files(dir.path());
        ASSERT_EQ(files.size(), 1u);
        const auto got = read_with_libpcap(dir.file(files[0]));
        ASSERT_TRUE(got);
        EXPECT_EQ(got->snaplen, int(kMaxCapturedLength));
        expect_records(got->records, packets, snap);
    }
}

// A defective driver may hand in fewer bytes than pkt_len: the record holds what is
// present (never invented bytes), and keeps pkt_len as its original length.
TEST(SessionSinkSnap, CapturedLengthNeverExceedsTheBytesPresent) {
    TempDir dir;
    auto spec = base_spec(dir);
    SessionSink sink(spec);
    const auto data = payload(300, 1);
    const ByteSpan spans[] = {{data.data(), 200}, {data.data() + 200, 100}};
    sink.write(1, 5, 1000, 0, spans, 2);  // 300 of 1000 bytes present
    sink.write(1, 6, 1000, 0, nullptr, 0);  // none present
    EXPECT_EQ(sink.bytes(), 300u);
    sink.stop(StopReason::ManuallyStopped);
    const auto records = all_records(dir.path());
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].captured_length, 300u);
    EXPECT_EQ(records[0].original_length, 1000u);
    EXPECT_EQ(records[0].data, data);
    EXPECT_EQ(records[1].captured_length, 0u);
    EXPECT_EQ(records[1].original_length, 1000u);
}

// ---------------------------------------------------------------------------------------
// Limits

TEST(SessionSinkLimits, MaxPacketsStopsRightAfterTheLastOne) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.max_packets = 5;
    SessionSink sink(spec);
    std::vector<Packet> packets;
    for (uint32_t i = 0; i < 8; ++i) packets.push_back(make_packet(i, 100 + i));
    for (uint32_t i = 0; i < 8; ++i) {
        offer(sink, 10 + i, packets[i]);
        EXPECT_EQ(sink.running(), i < 4) << "after packet " << i;
    }
    EXPECT_EQ(sink.stop_reason(), StopReason::PacketLimitExceeded);
    EXPECT_EQ(sink.packets(), 5u);
    EXPECT_EQ(sink.bytes(), 100u + 101 + 102 + 103 + 104);
    EXPECT_EQ(sink.discarded_after_stop(), 3u);
    EXPECT_EQ(sink.write_error_drops(), 0u);
    EXPECT_FALSE(sink.status().has_current_file);
    const auto events = sink.take_events();
    EXPECT_EQ(describe(events), "Closed(s1-000001.pcap,5) Stopped(PacketLimitExceeded)");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_TRUE(events[0].file.complete);
    EXPECT_EQ(events[0].file.captured_bytes, sink.bytes());
    EXPECT_EQ(events[0].file.bytes, fs::file_size(dir.file("s1-000001.pcap")));
    EXPECT_EQ(events[0].file.first_timestamp_ns, packets[0].timestamp_ns);
    EXPECT_EQ(events[0].file.last_timestamp_ns, packets[4].timestamp_ns);
    EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"s1-000001.pcap"});
    const auto records = all_records(dir.path());
    expect_records(records, std::vector<Packet>(packets.begin(), packets.begin() + 5), 0);
}

TEST(SessionSinkLimits, TotalBytesCrossingPacketIsNotWritten) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.max_bytes = 1000;
    SessionSink sink(spec);
    std::vector<Packet> packets;
    for (uint32_t i = 0; i < 5; ++i) packets.push_back(make_packet(i, 300));
    for (uint32_t i = 0; i < 3; ++i) offer(sink, 1, packets[i]);
    EXPECT_TRUE(sink.running());
    offer(sink, 1, packets[3]);  // 1200 > 1000: not written
    EXPECT_FALSE(sink.running());
    EXPECT_EQ(sink.stop_reason(), StopReason::TotalBytesExceeded);
    EXPECT_EQ(sink.bytes(), 900u);
    EXPECT_EQ(sink.packets(), 3u);
    offer(sink, 1, make_packet(9, 10));  // would fit, but the session has stopped
    EXPECT_EQ(sink.packets(), 3u);
    EXPECT_EQ(sink.discarded_after_stop(), 2u);
    EXPECT_EQ(describe(sink.take_events()), "Closed(s1-000001.pcap,3) Stopped(TotalBytesExceeded)");
    expect_records(all_records(dir.path()), std::vector<Packet>(packets.begin(), packets.begin() + 3), 0);
}

TEST(SessionSinkLimits, TotalBytesExactHitStopsImmediately) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.max_bytes = 900;
    SessionSink sink(spec);
    for (uint32_t i = 0; i < 3; ++i) {
        EXPECT_TRUE(sink.running());
        offer(sink, 1, make_packet(i, 300));
    }
    EXPECT_FALSE(sink.running());  // stopped without waiting for a fourth packet
    EXPECT_EQ(sink.stop_reason(), StopReason::TotalBytesExceeded);
    EXPECT_EQ(sink.bytes(), 900u);
    EXPECT_EQ(sink.discarded_after_stop(), 0u);
    EXPECT_EQ(describe(sink.take_events()), "Closed(s1-000001.pcap,3) Stopped(TotalBytesExceeded)");
}

TEST(SessionSinkLimits, TotalBytesCountsCapturedNotOriginalLength) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.snap_length = 100;
    spec.max_bytes = 250;
    SessionSink sink(spec);
    for (uint32_t i = 0; i < 3; ++i) offer(sink, 1, make_packet(i, 1514));
    EXPECT_EQ(sink.packets(), 2u);
    EXPECT_EQ(sink.bytes(), 200u);
    EXPECT_EQ(sink.stop_reason(), StopReason::TotalBytesExceeded);
}

// Random lengths, snap lengths and limits: the written packets are exactly the longest
// prefix whose captured bytes fit, the sum never exceeds the limit, and the session
// stops at the first packet that does not fit or when the limit is hit exactly.
TEST(SessionSinkLimits, TotalBytesNeverOvershotRandom) {
    std::mt19937 rng(20261122);
    for (int round = 0; round < 40; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        TempDir dir;
        auto spec = base_spec(dir, round % 2 ? FileFormat::Pcapng : FileFormat::Pcap);
        const uint32_t snaps[] = {0, 64, 1500};
        spec.snap_length = snaps[rng() % 3];
        spec.max_bytes = 1 + rng() % 30000;
        std::vector<Packet> packets;
        for (uint32_t i = 0; i < 60; ++i) packets.push_back(make_packet(i, rng() % 4 == 0 ? 0 : rng() % 3000));
        // A few rounds hit the limit exactly with the last packet that fits.
        if (round % 5 == 0) {
            uint64_t sum = 0;
            for (size_t i = 0; i < 10; ++i) sum += captured_length(packets[i], spec.snap_length);
            spec.max_bytes = sum == 0 ? 1 : sum;
        }
        std::vector<Packet> expected;
        uint64_t sum = 0;
        bool stops = false;
        for (const auto& p : packets) {
            const uint32_t cap = captured_length(p, spec.snap_length);
            if (sum + cap > spec.max_bytes) {
                stops = true;
                break;
            }
            sum += cap;
            expected.push_back(p);
            if (sum == spec.max_bytes) {
                stops = true;
                break;
            }
        }
        SessionSink sink(spec);
        for (const auto& p : packets) offer(sink, 1, p);
        EXPECT_LE(sink.bytes(), spec.max_bytes);
        EXPECT_EQ(sink.bytes(), sum);
        EXPECT_EQ(sink.packets(), expected.size());
        EXPECT_EQ(sink.discarded_after_stop(), packets.size() - expected.size());
        EXPECT_EQ(sink.stop_reason(), stops ? StopReason::TotalBytesExceeded : StopReason::None);
        sink.stop(StopReason::ManuallyStopped);
        expect_records(all_records(dir.path()), expected, spec.snap_length);
    }
}

TEST(SessionSinkLimits, DeadlineViaTick) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.deadline_ns = 1000000;
    SessionSink sink(spec);
    offer(sink, 10, make_packet(0, 60));
    offer(sink, 20, make_packet(1, 60));
    sink.tick(999999);
    EXPECT_TRUE(sink.running());
    sink.tick(1000000);
    EXPECT_FALSE(sink.running());
    EXPECT_EQ(sink.stop_reason(), StopReason::TimeExceeded);
    EXPECT_EQ(describe(sink.take_events()), "Closed(s1-000001.pcap,2) Stopped(TimeExceeded)");
    offer(sink, 1000001, make_packet(2, 60));
    sink.tick(2000000);
    EXPECT_EQ(sink.packets(), 2u);
    EXPECT_EQ(sink.discarded_after_stop(), 1u);
    EXPECT_TRUE(sink.take_events().empty());
    EXPECT_EQ(all_records(dir.path()).size(), 2u);
}

TEST(SessionSinkLimits, DeadlineViaWrite) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.deadline_ns = 1000000;
    SessionSink sink(spec);
    offer(sink, 999999, make_packet(0, 60));
    EXPECT_TRUE(sink.running());
    offer(sink, 1000000, make_packet(1, 60));  // arrives at the deadline: not written
    EXPECT_EQ(sink.stop_reason(), StopReason::TimeExceeded);
    EXPECT_EQ(sink.packets(), 1u);
    EXPECT_EQ(sink.discarded_after_stop(), 1u);
    EXPECT_EQ(describe(sink.take_events()), "Closed(s1-000001.pcap,1) Stopped(TimeExceeded)");
}

TEST(SessionSinkLimits, NoLimitsMeansNoStop) {
    TempDir dir;
    SessionSink sink(base_spec(dir));
    for (uint32_t i = 0; i < 100; ++i) offer(sink, uint64_t(i) << 40, make_packet(i, 1500));
    sink.tick(~uint64_t(0));
    EXPECT_TRUE(sink.running());
    EXPECT_EQ(sink.packets(), 100u);
}

// ---------------------------------------------------------------------------------------
// Rotation by file size

struct RotationRun {
    std::vector<Packet> offered;
    std::vector<SinkEvent> events;
};

RotationRun run_rotation(const TempDir& dir, FileFormat format, uint64_t limit, const std::vector<uint32_t>& lengths,
                         uint64_t first_index = 1) {
    auto spec = base_spec(dir, format);
    spec.file_size_limit = limit;
    spec.first_file_index = first_index;
    spec.interface_names = {"net_pcap0"};
    RotationRun run;
    SessionSink sink(spec);
    size_t visible = 0;
    for (uint32_t i = 0; i < lengths.size(); ++i) {
        run.offered.push_back(make_packet(i, lengths[i]));
        offer(sink, 1000 + i, run.offered.back());
        // Exactly one file is open; every published file is whole when it appears.
        EXPECT_EQ(partial_files(dir.path()).size(), 1u);
        const auto files = capture_files(dir.path());
        if (files.size() != visible) {
            visible = files.size();
            EXPECT_EQ(strict_validate(dir.file(files.back())), "") << files.back();
        }
    }
    EXPECT_EQ(sink.packets(), lengths.size());
    sink.stop(StopReason::ManuallyStopped);
    run.events = sink.take_events();
    return run;
}

void expect_rotation_invariants(const TempDir& dir, FileFormat format, uint64_t limit, const RotationRun& run,
                                uint64_t first_index = 1) {
    EXPECT_TRUE(partial_files(dir.path()).empty());
    const auto files = capture_files(dir.path());
    ASSERT_FALSE(files.empty());
    // Numbered consecutively from the first index.
    for (size_t i = 0; i < files.size(); ++i)
        EXPECT_EQ(files[i], capture_file_name("s1", first_index + i, format));
    // One FileClosed per file, in order, describing it exactly.
    std::vector<const SinkEvent*> closed;
    for (const auto& ev : run.events)
        if (ev.kind == SinkEvent::Kind::FileClosed) closed.push_back(&ev);
    ASSERT_EQ(closed.size(), files.size());
    ASSERT_FALSE(run.events.empty());
    EXPECT_EQ(run.events.back().kind, SinkEvent::Kind::Stopped);
    EXPECT_EQ(run.events.back().reason, StopReason::ManuallyStopped);

    std::vector<Record> all;
    std::vector<uint64_t> sizes;
    std::vector<size_t> counts;
    for (size_t i = 0; i < files.size(); ++i) {
        SCOPED_TRACE(files[i]);
        const std::string path = dir.file(files[i]);
        const uint64_t size = fs::file_size(path);
        EXPECT_EQ(strict_validate(path), "");
        const auto got = read_with_libpcap(path);
        ASSERT_TRUE(got);
        const size_t n = got->records.size();
        EXPECT_GE(n, 1u);
        // No file is larger than the limit, except one holding a single record that
        // does not fit even an empty file.
        if (size > limit) {
            EXPECT_EQ(n, 1u) << "size " << size;
        }
        EXPECT_EQ(closed[i]->file.name, files[i]);
        EXPECT_TRUE(closed[i]->file.complete);
        EXPECT_EQ(closed[i]->file.packets, n);
        EXPECT_EQ(closed[i]->file.bytes, size);
        if (n) {
            EXPECT_EQ(closed[i]->file.first_timestamp_ns, got->records.front().timestamp_ns);
            EXPECT_EQ(closed[i]->file.last_timestamp_ns, got->records.back().timestamp_ns);
        }
        sizes.push_back(size);
        counts.push_back(n);
        all.insert(all.end(), got->records.begin(), got->records.end());
    }
    // Rotation happens only when needed: the next file's first record would not have
    // fitted into the previous file.
    size_t at = 0;
    for (size_t i = 0; i + 1 < files.size(); ++i) {
        at += counts[i];
        const uint32_t next = record_size(format, captured_length(run.offered[at], 0));
        EXPECT_GT(sizes[i] + next, limit) << files[i] << " was rotated early";
    }
    // Nothing lost, nothing reordered.
    expect_records(all, run.offered, 0);
}

TEST_P(SessionSinkFormat, RotationKeepsEveryFileWithinTheLimit) {
    TempDir dir;
    std::mt19937 rng(7);
    std::vector<uint32_t> lengths;
    for (int i = 0; i < 300; ++i) lengths.push_back(i % 37 == 5 ? 5000 : rng() % 1600);
    lengths[0] = 6000;    // oversized first record: alone in the first file
    lengths[299] = 4500;  // and as the last one
    const uint64_t limit = 4000;
    const auto run = run_rotation(dir, GetParam(), limit, lengths);
    expect_rotation_invariants(dir, GetParam(), limit, run);
    EXPECT_GT(capture_files(dir.path()).size(), 20u);
}

TEST_P(SessionSinkFormat, RotationAtTheExactBoundary) {
    TempDir dir;
    // Three records fill a file exactly: "larger than" the limit is what rotates.
    FileLayout layout;
    layout.format = GetParam();
    layout.snap_length = kMaxCapturedLength;
    layout.interface_names = {"net_pcap0"};
    layout.comment = "s1";
    const uint64_t limit = header_size(layout) + 3 * record_size(GetParam(), 100);
    const auto run = run_rotation(dir, GetParam(), limit, std::vector<uint32_t>(9, 100));
    expect_rotation_invariants(dir, GetParam(), limit, run);
    const auto files = capture_files(dir.path());
    ASSERT_EQ(files.size(), 3u);
    for (const auto& f : files) EXPECT_EQ(fs::file_size(dir.file(f)), limit) << f;
    EXPECT_EQ(describe(run.events),
              "Closed(" + files[0] + ",3) Closed(" + files[1] + ",3) Closed(" + files[2] + ",3) Stopped(ManuallyStopped)");
}

TEST_P(SessionSinkFormat, LimitBelowTheHeaderGivesOneRecordPerFile) {
    TempDir dir;
    const auto run = run_rotation(dir, GetParam(), 10, {0, 60, 1, 1514}, 42);
    expect_rotation_invariants(dir, GetParam(), 10, run, 42);
    EXPECT_EQ(capture_files(dir.path()).size(), 4u);
}

INSTANTIATE_TEST_SUITE_P(SessionSink, SessionSinkFormat, ::testing::Values(FileFormat::Pcap, FileFormat::Pcapng),
                         [](const auto& info) { return std::string(file_extension(info.param)); });

// ---------------------------------------------------------------------------------------
// Ring buffer

// pcap files of 2 records of 100 bytes: 24 + 2 * 116.
constexpr uint64_t kTwoRecordFile = 24 + 2 * 116;

size_t our_file_count(const TempDir& dir) {
    return capture_files(dir.path()).size() + partial_files(dir.path()).size();
}

TEST(SessionSinkRing, KeepsOnlyTheNewestFiles) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.file_size_limit = kTwoRecordFile;
    spec.file_count = 3;
    SessionSink sink(spec);
    std::vector<Packet> packets;
    for (uint32_t i = 0; i < 20; ++i) {
        packets.push_back(make_packet(i, 100));
        offer(sink, i, packets.back());
        EXPECT_LE(our_file_count(dir), 3u) << "after packet " << i;
    }
    sink.stop(StopReason::ManuallyStopped);
    EXPECT_EQ(capture_files(dir.path()),
              (std::vector<std::string>{"s1-000008.pcap", "s1-000009.pcap", "s1-000010.pcap"}));
    EXPECT_TRUE(partial_files(dir.path()).empty());
    std::string expected = "Closed(s1-000001.pcap,2) Closed(s1-000002.pcap,2)";
    for (int k = 3; k <= 10; ++k) {
        char closed[64], deleted[64];
        std::snprintf(closed, sizeof closed, " Closed(s1-%06d.pcap,2)", k);
        std::snprintf(deleted, sizeof deleted, " Deleted(s1-%06d.pcap)", k - 2);
        expected += closed;
        if (k < 10) expected += deleted;  // the 10th closes at stop: no new file opens
    }
    expected += " Stopped(ManuallyStopped)";
    EXPECT_EQ(describe(sink.take_events()), expected);
    expect_records(all_records(dir.path()), std::vector<Packet>(packets.begin() + 14, packets.end()), 0);
    EXPECT_EQ(sink.packets(), 20u);  // deleting files does not un-count packets
}

TEST(SessionSinkRing, FileCountOneKeepsOnlyTheOpenFile) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.file_size_limit = kTwoRecordFile;
    spec.file_count = 1;
    SessionSink sink(spec);
    for (uint32_t i = 0; i < 7; ++i) {
        offer(sink, i, make_packet(i, 100));
        EXPECT_EQ(our_file_count(dir), 1u) << "after packet " << i;
    }
    sink.stop(StopReason::ManuallyStopped);
    EXPECT_EQ(capture_files(dir.path()), std::vector<std::string>{"s1-000004.pcap"});
    EXPECT_EQ(describe(sink.take_events()),
              "Closed(s1-000001.pcap,2) Deleted(s1-000001.pcap) Closed(s1-000002.pcap,2) Deleted(s1-000002.pcap) "
              "Closed(s1-000003.pcap,2) Deleted(s1-000003.pcap) Closed(s1-000004.pcap,1) Stopped(ManuallyStopped)");
}

TEST(SessionSinkRing, FilesOfAnEarlierRunCountAndGoFirst) {
    TempDir dir;
    // An earlier run left four files (one already removed by the operator) and a file
    // that is not ours.
    std::vector<std::string> earlier;
    for (uint64_t i = 1; i <= 4; ++i) {
        const std::string name = capture_file_name("s1", i, FileFormat::Pcap);
        FileLayout layout;
        CaptureFile f(dir.file(partial_file_name(name)), dir.file(name), layout, 1u << 20);
        ASSERT_TRUE(f.publish());
        earlier.push_back(name);
    }
    { std::ofstream(dir.file("notes.txt")) << "keep me"; }
    fs::remove(dir.file("s1-000002.pcap"));

    auto spec = base_spec(dir);
    spec.file_size_limit = kTwoRecordFile;
    spec.file_count = 3;
    spec.first_file_index = 5;
    spec.existing_files = earlier;
    SessionSink sink(spec);
    // The open file plus the two newest earlier files: the two oldest go at once.
    EXPECT_EQ(describe(sink.take_events()), "Deleted(s1-000001.pcap) Deleted(s1-000002.pcap)");
    EXPECT_EQ(list_dir(dir.path()),
              (std::vector<std::string>{".s1-000005.pcap.partial", "notes.txt", "s1-000003.pcap", "s1-000004.pcap"}));
    for (uint32_t i = 0; i < 5; ++i) {
        offer(sink, i, make_packet(i, 100));
        EXPECT_LE(our_file_count(dir), 3u);
    }
    EXPECT_EQ(describe(sink.take_events()),
              "Closed(s1-000005.pcap,2) Deleted(s1-000003.pcap) Closed(s1-000006.pcap,2) Deleted(s1-000004.pcap)");
    sink.stop(StopReason::ManuallyStopped);
    EXPECT_EQ(list_dir(dir.path()),
              (std::vector<std::string>{"notes.txt", "s1-000005.pcap", "s1-000006.pcap", "s1-000007.pcap"}));
}

TEST(SessionSinkRing, ZeroFileCountKeepsEverything) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.file_size_limit = kTwoRecordFile;
    spec.existing_files = {"s1-000001.pcap"};  // listed but never deleted
    spec.first_file_index = 2;
    SessionSink sink(spec);
    for (uint32_t i = 0; i < 10; ++i) offer(sink, i, make_packet(i, 100));
    sink.stop(StopReason::ManuallyStopped);
    EXPECT_EQ(capture_files(dir.path()).size(), 5u);
    for (const auto& ev : sink.take_events()) EXPECT_NE(ev.kind, SinkEvent::Kind::FileDeleted);
}

// ---------------------------------------------------------------------------------------
// Restart: numbering and totals carried over

TEST(SessionSinkCarryOver, PacketLimitCountsEarlierPackets) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.max_packets = 10;
    spec.packets_before = 7;
    spec.bytes_before = 5000;
    SessionSink sink(spec);
    EXPECT_EQ(sink.packets(), 7u);
    EXPECT_EQ(sink.bytes(), 5000u);
    for (uint32_t i = 0; i < 5; ++i) offer(sink, i, make_packet(i, 60));
    EXPECT_EQ(sink.packets(), 10u);
    EXPECT_EQ(sink.bytes(), 5180u);
    EXPECT_EQ(sink.stop_reason(), StopReason::PacketLimitExceeded);
    EXPECT_EQ(all_records(dir.path()).size(), 3u);
}

TEST(SessionSinkCarryOver, ByteLimitCountsEarlierBytes) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.max_bytes = 1000;
    spec.bytes_before = 900;
    SessionSink sink(spec);
    for (uint32_t i = 0; i < 3; ++i) offer(sink, i, make_packet(i, 60));
    EXPECT_EQ(sink.bytes(), 960u);
    EXPECT_EQ(sink.packets(), 1u);
    EXPECT_EQ(sink.stop_reason(), StopReason::TotalBytesExceeded);
    EXPECT_EQ(all_records(dir.path()).size(), 1u);
}

// A session that reached its limit just before a crash resumes with the limit already
// reached: not one more packet may be written.
TEST(SessionSinkCarryOver, LimitAlreadyReachedWritesNothing) {
    struct Case {
        const char* what;
        uint64_t max_packets, packets_before, max_bytes, bytes_before;
        StopReason reason;
    };
    for (const Case& c : {Case{"packets", 10, 10, 0, 0, StopReason::PacketLimitExceeded},
                          Case{"packets beyond", 10, 12, 0, 0, StopReason::PacketLimitExceeded},
                          Case{"bytes", 0, 0, 1000, 1000, StopReason::TotalBytesExceeded}}) {
        SCOPED_TRACE(c.what);
        TempDir dir;
        auto spec = base_spec(dir);
        spec.max_packets = c.max_packets;
        spec.packets_before = c.packets_before;
        spec.max_bytes = c.max_bytes;
        spec.bytes_before = c.bytes_before;
        SessionSink sink(spec);
        offer(sink, 1, make_packet(0, 0));  // even a zero-length packet
        offer(sink, 1, make_packet(1, 60));
        EXPECT_FALSE(sink.running());
        EXPECT_EQ(sink.stop_reason(), c.reason);
        EXPECT_EQ(sink.packets(), c.packets_before);
        EXPECT_EQ(sink.bytes(), c.bytes_before);
        EXPECT_TRUE(all_records(dir.path()).empty());
    }
}

TEST(SessionSinkNumbering, FirstFileIndexContinuesTheSequence) {
    TempDir dir;
    auto spec = base_spec(dir, FileFormat::Pcapng);
    spec.first_file_index = 42;
    spec.file_size_limit = 1;  // one record per file
    SessionSink sink(spec);
    EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{".s1-000042.pcapng.partial"});
    EXPECT_EQ(sink.status().current_file.name, "s1-000042.pcapng");
    for (uint32_t i = 0; i < 3; ++i) offer(sink, i, make_packet(i, 60));
    sink.stop(StopReason::ManuallyStopped);
    EXPECT_EQ(capture_files(dir.path()),
              (std::vector<std::string>{"s1-000042.pcapng", "s1-000043.pcapng", "s1-000044.pcapng"}));
    EXPECT_EQ(describe(sink.take_events()),
              "Closed(s1-000042.pcapng,1) Closed(s1-000043.pcapng,1) Closed(s1-000044.pcapng,1) "
              "Stopped(ManuallyStopped)");
}

// ---------------------------------------------------------------------------------------
// Stop, flush, status

TEST(SessionSinkStop, ManualStopPublishesTheOpenFile) {
    TempDir dir;
    auto spec = base_spec(dir);
    spec.flush_interval_ns = 1000;
    SessionSink sink(spec);
    EXPECT_TRUE(sink.running());
    EXPECT_EQ(sink.stop_reason(), StopReason::None);
    EXPECT_TRUE(sink.take_events().empty());
    auto status = sink.status();
    EXPECT_TRUE(status.has_current_file);
    EXPECT_EQ(status.current_file.name, "s1-000001.pcap");
    EXPECT_FALSE(status.current_file.complete);

    std::vector<Packet> packets;
    for (uint32_t i = 0; i < 4; ++i) {
        packets.push_back(make_packet(i, 200));
        offer(sink, 100 + i, packets.back());
    }
    EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{".s1-000001.pcap.partial"});
    EXPECT_EQ(sink.status().current_file.packets, 0u);  // not flushed yet

    // The flush interval counts from the oldest buffered record (written at now=100).
    sink.tick(1099);
    EXPECT_EQ(sink.status().current_file.packets, 0u);
    sink.tick(1100);
    status = sink.status();
    EXPECT_EQ(status.current_file.packets, 4u);
    EXPECT_EQ(status.current_file.captured_bytes, 800u);
    EXPECT_EQ(status.current_file.bytes, fs::file_size(dir.file(".s1-000001.pcap.partial")));
    {
        const auto got = read_with_libpcap(dir.file(".s1-000001.pcap.partial"));
        ASSERT_TRUE(got);
        expect_records(got->records, packets, 0);
    }
    packets.push_back(make_packet(4, 200));
    offer(sink, 2000, packets.back());
    EXPECT_TRUE(sink.take_events().empty());

    sink.stop(StopReason::ManuallyStopped);
    EXPECT_FALSE(sink.running());
    EXPECT_EQ(sink.stop_reason(), StopReason::ManuallyStopped);
    EXPECT_FALSE(sink.status().has_current_file);
    EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"s1-000001.pcap"});
    const auto events = sink.take_events();
    EXPECT_EQ(describe(events), "Closed(s1-000001.pcap,5) Stopped(ManuallyStopped)");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_TRUE(events[0].file.complete);
    EXPECT_EQ(events[0].file.bytes, fs::file_size(dir.file("s1-000001.pcap")));
    EXPECT_EQ(events[0].file.captured_bytes, 1000u);
    EXPECT_EQ(events[1].message, "");
    expect_records(all_records(dir.path()), packets, 0);

    // Idempotent; later packets are counted, never written.
    sink.stop(StopReason::ManuallyStopped);
    sink.stop(StopReason::TimeExceeded);
    offer(sink, 3000, make_packet(9, 60));
    sink.tick(4000);
    EXPECT_EQ(sink.stop_reason(), StopReason::ManuallyStopped);
    EXPECT_TRUE(sink.take_events().empty());
    EXPECT_EQ(sink.packets(), 5u);
    EXPECT_EQ(sink.discarded_after_stop(), 1u);
    EXPECT_EQ(all_records(dir.path()).size(), 5u);
}

TEST(SessionSinkStop, EmptySessionPublishesAValidEmptyFile) {
    TempDir dir;
    auto spec = base_spec(dir, FileFormat::Pcapng);
    spec.session = "capture.web-01";
    spec.interface_names = {"net_memif0"};
    SessionSink sink(spec);
    sink.stop(StopReason::ManuallyStopped);
    const std::string file = "capture.web-01-000001.pcapng";
    EXPECT_EQ(describe(sink.take_events()), "Closed(" + file + ",0) Stopped(ManuallyStopped)");
    ASSERT_EQ(capture_files(dir.path(), spec.session), std::vector<std::string>{file});
    EXPECT_EQ(strict_validate(dir.file(file)), "");
    const auto got = read_with_libpcap(dir.file(file));
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->records.empty());
    // The session name is the SHB/IDB comment; the port name is the IDB's if_name.
    const auto bytes = read_bytes(dir.file(file));
    for (const std::string& text : {spec.session, std::string("net_memif0")})
        EXPECT_NE(std::search(bytes.begin(), bytes.end(), text.begin(), text.end()), bytes.end()) << text;
}

TEST(SessionSinkStop, DestructionStopsAndPublishes) {
    TempDir dir;
    std::vector<Packet> packets;
    {
        SessionSink sink(base_spec(dir));
        for (uint32_t i = 0; i < 3; ++i) {
            packets.push_back(make_packet(i, 100));
            offer(sink, i, packets.back());
        }
    }
    EXPECT_EQ(list_dir(dir.path()), std::vector<std::string>{"s1-000001.pcap"});
    expect_records(all_records(dir.path()), packets, 0);
}

TEST(SessionSinkStop, FirstFileThatCannotBeCreatedThrows) {
    TempDir dir;
    { std::ofstream(dir.file(".s1-000001.pcap.partial")) << "in the way"; }
    EXPECT_THROW(SessionSink{base_spec(dir)}, std::system_error);
    auto spec = base_spec(dir);
    spec.directory = dir.file("missing");
    EXPECT_THROW(SessionSink{spec}, std::system_error);
}

TEST(SessionSinkStop, WriteStatsAreFed) {
    TempDir dir;
    WriteStats stats;
    auto spec = base_spec(dir);
    spec.write_stats = &stats;
    {
        SessionSink sink(spec);
        for (uint32_t i = 0; i < 3; ++i) offer(sink, i, make_packet(i, 100));
        sink.stop(StopReason::ManuallyStopped);
    }
    EXPECT_EQ(stats.bytes.get(), fs::file_size(dir.file("s1-000001.pcap")));
    EXPECT_GE(stats.writes.get(), 1u);
    EXPECT_EQ(stats.errors.get(), 0u);
}

// ---------------------------------------------------------------------------------------
// Write errors

std::vector<Packet> numbered_packets(uint32_t n, uint32_t length) {
    std::vector<Packet> v;
    for (uint32_t i = 0; i < n; ++i) v.push_back(make_packet(i, length));
    return v;
}

TEST(SessionSinkWriteError, FailedPeriodicFlushStopsInError) {
    TempDir dir;
    const auto packets = numbered_packets(100, 1000);
    auto out = run_with_file_size_limit(20000, [&] {
        auto spec = base_spec(dir);
        spec.flush_interval_ns = 0;  // every tick flushes
        SessionSink sink(spec);
        for (uint32_t i = 0; i < packets.size(); ++i) {
            offer(sink, i, packets[i]);
            if (i % 3 == 2) sink.tick(i);
        }
        return report(sink);
    });
    expect_clean_write_error(out, dir, packets);
    // Header + 18 records (flushed after packet 17) fit in 20000 bytes, 21 do not.
    EXPECT_EQ(out["packets"], "18");
    EXPECT_EQ(out["write_error_drops"], "82");
    EXPECT_NE(out["message"].find("File too large"), std::string::npos) << out["message"];
    EXPECT_EQ(out["events"], "Closed(s1-000001.pcap,18) Stopped(Error)");
    EXPECT_EQ(out["closed_bytes"], std::to_string(fs::file_size(dir.file("s1-000001.pcap"))));
    EXPECT_EQ(out["closed_captured"], "18000");
}

TEST(SessionSinkWriteError, FailedFlushOfAFullBufferStopsInError) {
    TempDir dir;
    const auto packets = numbered_packets(200, 9000);
    auto out = run_with_file_size_limit(512 * 1024, [&] {
        SessionSink sink(base_spec(dir));
        for (uint32_t i = 0; i < packets.size(); ++i) {
            offer(sink, 1, packets[i]);
            if (i == 29) sink.tick(~uint64_t(0) / 2);  // one periodic flush: 30 records reach the disk
        }
        return report(sink);
    });
    expect_clean_write_error(out, dir, packets);
    EXPECT_EQ(out["packets"], "30");
    EXPECT_EQ(out["events"], "Closed(s1-000001.pcap,30) Stopped(Error)");
}

TEST(SessionSinkWriteError, FailedFlushWhileRotatingStopsInError) {
    TempDir dir;
    const auto packets = numbered_packets(20, 1000);
    auto out = run_with_file_size_limit(5000, [&] {
        auto spec = base_spec(dir);
        spec.file_size_limit = 8000;
        spec.flush_interval_ns = 0;
        SessionSink sink(spec);
        for (uint32_t i = 0; i < 3; ++i) offer(sink, 1, packets[i]);
        sink.tick(1);  // 24 + 3 * 1016 bytes reach the disk
        for (uint32_t i = 3; i < packets.size(); ++i) offer(sink, 1, packets[i]);
        return report(sink);
    });
    expect_clean_write_error(out, dir, packets);
    EXPECT_EQ(out["packets"], "3");
    // The file was published under its final name: control must list it.
    EXPECT_EQ(out["events"], "Closed(s1-000001.pcap,3) Stopped(Error)");
    EXPECT_EQ(capture_files(dir.path()), std::vector<std::string>{"s1-000001.pcap"});
}

TEST(SessionSinkWriteError, FailedFlushAtStopIsAnErrorNotAManualStop) {
    TempDir dir;
    const auto packets = numbered_packets(8, 1000);
    auto out = run_with_file_size_limit(5000, [&] {
        auto spec = base_spec(dir);
        spec.flush_interval_ns = 0;
        SessionSink sink(spec);
        for (uint32_t i = 0; i < 3; ++i) offer(sink, 1, packets[i]);
        sink.tick(1);
        for (uint32_t i = 3; i < packets.size(); ++i) offer(sink, 1, packets[i]);
        sink.stop(StopReason::ManuallyStopped);
        return report(sink);
    });
    expect_clean_write_error(out, dir, packets);
    EXPECT_EQ(out["packets"], "3");
    EXPECT_EQ(out["write_error_drops"], "5");
    EXPECT_EQ(out["events"], "Closed(s1-000001.pcap,3) Stopped(Error)");
}

TEST(SessionSinkWriteError, NextFileThatCannotBeCreatedStopsInError) {
    TempDir dir;
    // Something else holds the next partial name: O_EXCL refuses it.
    { std::ofstream(dir.file(".s1-000002.pcap.partial")) << "in the way"; }
    auto spec = base_spec(dir);
    spec.file_size_limit = kTwoRecordFile;
    SessionSink sink(spec);
    const auto packets = numbered_packets(6, 100);
    for (const auto& p : packets) offer(sink, 1, p);
    EXPECT_EQ(sink.stop_reason(), StopReason::Error);
    EXPECT_NE(sink.error_message().find("cannot create capture file"), std::string::npos) << sink.error_message();
    EXPECT_EQ(sink.packets(), 2u);
    EXPECT_EQ(sink.packets() + sink.write_error_drops(), packets.size());
    const auto events = sink.take_events();
    EXPECT_EQ(describe(events), "Closed(s1-000001.pcap,2) Stopped(Error)");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].message, sink.error_message());
    EXPECT_EQ(capture_files(dir.path()), std::vector<std::string>{"s1-000001.pcap"});
    expect_records(all_records(dir.path()), std::vector<Packet>(packets.begin(), packets.begin() + 2), 0);
    // Stopping an errored session changes nothing.
    sink.stop(StopReason::ManuallyStopped);
    sink.tick(~uint64_t(0));
    EXPECT_EQ(sink.stop_reason(), StopReason::Error);
    EXPECT_TRUE(sink.take_events().empty());
}

}  // namespace
}  // namespace trawl::dataplane
