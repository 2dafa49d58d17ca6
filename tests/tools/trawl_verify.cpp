// trawl-verify: what should trawld have written, and did it?
//
// It replays source pcaps through the reference matcher (DESIGN §2.2-2.3, written
// independently of dataplane/) and applies the spec's snap length and limits (§2.1) to get
// the records a session must contain, then reads the files trawld wrote and compares them
// record by record: timestamp to the microsecond (net_pcap stamps mbufs with the source
// record's microsecond time, §2.4), captured length, original length and every byte.
//
// Why the original length is the source record's *captured* length: net_pcap hands trawld
// the caplen bytes of each record, so the port's pkt_len is the source caplen.
//
// Usage:
//   trawl-verify --spec SPEC.json --input SRC.pcap [--input ...] --output OUT [--output ...]
//                [--snaplen N] [--max-packets N] [--max-bytes N] [--report N] [--multiset]
// Prints one JSON line {"expected":N,"actual":M,"mismatches":K,"firstMismatch":{...}|null}
// to stdout and up to --report mismatch descriptions to stderr. Exit 0 = identical,
// 1 = mismatch, 2 = usage or I/O error.
#include "tests/reference/reference_matcher.hpp"

#include <nlohmann/json.hpp>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pcap/pcap.h>
#include <memory>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr uint64_t kMaxCapturedLength = 262144;  // trawl never captures more per packet

// A usage or I/O problem: exit code 2.
struct ToolError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    std::string spec_path;
    std::vector<std::string> inputs, outputs;
    std::optional<uint64_t> snaplen, max_packets, max_bytes;
    size_t report = 10;
    bool multiset = false;
};

struct Record {
    uint64_t ts_us = 0;  // normalised, see timestamp_us
    uint32_t caplen = 0;
    uint32_t origlen = 0;
    std::vector<uint8_t> bytes;
    size_t file = 0;    // index into the input or output list
    uint64_t number = 0;  // 1-based record number within that file, as tcpdump -# counts
};

const char* const kUsage =
    "usage: trawl-verify --spec SPEC.json --input SRC.pcap [--input SRC2.pcap ...]\n"
    "                    --output OUT1 [--output OUT2 ...] [--snaplen N] [--max-packets N]\n"
    "                    [--max-bytes N] [--report N] [--multiset]\n"
    "Replays the inputs through the reference matcher and compares the expected records\n"
    "with the outputs (pcap or pcapng, in file order). --multiset ignores record order.\n"
    "Exit 0: identical; 1: mismatch; 2: usage or I/O error.\n";

uint64_t parse_number(const std::string& flag, const std::string& text) {
    uint64_t value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end)
        throw ToolError(flag + ": '" + text + "' is not a non-negative integer");
    return value;
}

Options parse_arguments(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string flag = argv[i];
        std::optional<std::string> value;
        if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
        }
        if (flag == "--help" || flag == "-h") {
            std::cout << kUsage;
            std::exit(0);
        }
        if (flag == "--multiset") {
            if (value) throw ToolError("--multiset takes no value");
            o.multiset = true;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc) throw ToolError(flag + " needs a value");
            value = argv[++i];
        }
        if (flag == "--spec") o.spec_path = *value;
        else if (flag == "--input") o.inputs.push_back(*value);
        else if (flag == "--output") o.outputs.push_back(*value);
        else if (flag == "--snaplen") o.snaplen = parse_number(flag, *value);
        else if (flag == "--max-packets") o.max_packets = parse_number(flag, *value);
        else if (flag == "--max-bytes") o.max_bytes = parse_number(flag, *value);
        else if (flag == "--report") o.report = size_t(parse_number(flag, *value));
        else throw ToolError("unknown option " + flag);
    }
    if (o.spec_path.empty()) throw ToolError("--spec is required");
    if (o.inputs.empty()) throw ToolError("at least one --input is required");
    if (o.outputs.empty()) throw ToolError("at least one --output is required");
    return o;
}

nlohmann::json read_spec(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ToolError("cannot open spec " + path);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw ToolError("spec " + path + ": " + e.what());
    }
    // GET /v1/captures/{name} returns {"name":..,"spec":{..},..}; accept either form.
    if (j.is_object() && j.contains("spec") && j["spec"].is_object()) return j["spec"];
    if (!j.is_object()) throw ToolError("spec " + path + ": not a JSON object");
    return j;
}

// An optional non-negative integer field of the spec; nullopt when absent or null.
std::optional<uint64_t> spec_number(const nlohmann::json& spec, const char* key) {
    auto it = spec.find(key);
    if (it == spec.end() || it->is_null()) return std::nullopt;
    if (it->is_number_unsigned()) return it->get<uint64_t>();
    if (it->is_number_integer() && it->get<int64_t>() >= 0) return uint64_t(it->get<int64_t>());
    throw ToolError(std::string("spec field ") + key + " is not a non-negative integer");
}

// Calls on_record(header, data, record_number) for every record of a pcap/pcapng file.
template <typename OnRecord>
void read_capture(const std::string& path, bool warn_if_not_ethernet, OnRecord&& on_record) {
    char error[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, error);
    if (p == nullptr) throw ToolError(path + ": " + error);
    if (warn_if_not_ethernet && pcap_datalink(p) != DLT_EN10MB)
        std::cerr << "trawl-verify: warning: " << path << " has link type " << pcap_datalink(p)
                  << ", parsed as Ethernet anyway (trawld sees the same bytes)\n";
    uint64_t number = 0;
    for (;;) {
        pcap_pkthdr* header = nullptr;
        const u_char* data = nullptr;
        const int rc = pcap_next_ex(p, &header, &data);
        if (rc == PCAP_ERROR_BREAK) break;  // end of file
        if (rc != 1) {
            const std::string message = pcap_geterr(p);
            pcap_close(p);
            throw ToolError(path + ": record " + std::to_string(number + 1) + ": " + message);
        }
        ++number;
        on_record(*header, data, number);
    }
    pcap_close(p);
}

// The record time in microseconds, as a classic pcap file stores it: 32-bit unsigned
// seconds and microseconds below one second. libpcap hands out the pcap seconds field as
// a *signed* 32-bit value (some corpus files have 0xffff7f0d, i.e. -33011 s) and does not
// normalise a sub-second field >= 1 s; folding both sides into the on-disk form makes the
// comparison exact to the microsecond whatever arithmetic the writer used.
uint64_t timestamp_us(const pcap_pkthdr& h) {
    // With PCAP_TSTAMP_PRECISION_NANO, tv_usec holds nanoseconds.
    const int64_t total_us = int64_t(h.ts.tv_sec) * 1000000 + int64_t(h.ts.tv_usec) / 1000;
    int64_t seconds = total_us / 1000000, micros = total_us % 1000000;
    if (micros < 0) micros += 1000000, seconds -= 1;
    return uint64_t(uint32_t(seconds)) * 1000000u + uint64_t(micros);
}

struct Expected {
    std::vector<Record> records;
    std::string stopped_by;  // empty, "maxPackets" or "totalBytesPerSession"
};

Expected build_expected(const Options& o, const nlohmann::json& spec_json) {
    trawl::reference::Session session;
    try {
        session = trawl::reference::session_from_json(spec_json);
    } catch (const std::exception& e) {
        throw ToolError(e.what());
    }
    uint64_t snaplen = o.snaplen ? *o.snaplen : spec_number(spec_json, "bytesToCapturePerPacket").value_or(0);
    if (snaplen == 0 || snaplen > kMaxCapturedLength) snaplen = kMaxCapturedLength;
    const uint64_t max_packets = o.max_packets ? *o.max_packets : spec_number(spec_json, "maxPackets").value_or(0);
    const uint64_t max_bytes =
        o.max_bytes ? *o.max_bytes : spec_number(spec_json, "totalBytesPerSession").value_or(0);

    // payloadPatterns: the reference regex engine is PCRE2 (Hyperscan's syntax is a
    // subset of PCRE's), applied to the §2.1 payload of the reference matcher.
    std::vector<std::unique_ptr<pcre2_code, void (*)(pcre2_code*)>> patterns;
    if (spec_json.contains("payloadPatterns")) {
        for (const auto& p : spec_json["payloadPatterns"]) {
            int code = 0;
            PCRE2_SIZE at = 0;
            const std::string text = p.get<std::string>();
            pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(text.c_str()), text.size(), 0, &code, &at,
                                           nullptr);
            if (!re) throw ToolError("payload pattern '" + text + "' does not compile with PCRE2");
            patterns.emplace_back(re, pcre2_code_free);
        }
    }
    std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> match_data(
        pcre2_match_data_create(1, nullptr), pcre2_match_data_free);
    auto payload_matches = [&](const u_char* data, uint32_t caplen) {
        const auto payload = trawl::reference::payload_of(data, caplen);
        if (!payload.ip) return false;
        for (const auto& re : patterns)
            if (pcre2_match(re.get(), reinterpret_cast<PCRE2_SPTR>(data + payload.offset), payload.length, 0, 0,
                            match_data.get(), nullptr) >= 0)
                return true;
        return false;
    };

    Expected out;
    uint64_t bytes_written = 0;
    for (size_t file = 0; file < o.inputs.size() && out.stopped_by.empty(); ++file) {
        read_capture(o.inputs[file], true, [&](const pcap_pkthdr& h, const u_char* data, uint64_t number) {
            if (!out.stopped_by.empty()) return;
            if (!trawl::reference::session_matches(session, data, h.caplen)) return;
            if (!patterns.empty() && !payload_matches(data, h.caplen)) return;
            const uint32_t captured = uint32_t(std::min<uint64_t>(h.caplen, snaplen));
            // A limit is never overshot: the record that would cross it is not written and
            // the session stops (§2.1).
            if (max_bytes != 0 && bytes_written + captured > max_bytes) {
                out.stopped_by = "totalBytesPerSession";
                return;
            }
            Record r;
            r.ts_us = timestamp_us(h);
            r.caplen = captured;
            r.origlen = h.caplen;
            r.bytes.assign(data, data + captured);
            r.file = file;
            r.number = number;
            out.records.push_back(std::move(r));
            bytes_written += captured;
            if (max_packets != 0 && out.records.size() >= max_packets) out.stopped_by = "maxPackets";
        });
    }
    return out;
}

std::vector<Record> read_outputs(const Options& o) {
    std::vector<Record> records;
    for (size_t file = 0; file < o.outputs.size(); ++file) {
        read_capture(o.outputs[file], false, [&](const pcap_pkthdr& h, const u_char* data, uint64_t number) {
            Record r;
            r.ts_us = timestamp_us(h);
            r.caplen = h.caplen;
            r.origlen = h.len;
            r.bytes.assign(data, data + h.caplen);
            r.file = file;
            r.number = number;
            records.push_back(std::move(r));
        });
    }
    return records;
}

// ---------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------

struct Mismatch {
    std::string kind;   // "differs", "missing" (expected, not written) or "extra" (written, not expected)
    std::string field;  // for "differs": timestamp, caplen, origlen or bytes
    std::optional<size_t> index;  // position in the ordered comparison
    const Record* expected = nullptr;
    const Record* actual = nullptr;
    size_t first_differing_byte = 0;
};

std::string format_ts(uint64_t ts_us) {
    char text[64];
    std::snprintf(text, sizeof text, "%llu.%06llu", (unsigned long long)(ts_us / 1000000u),
                  (unsigned long long)(ts_us % 1000000u));
    return text;
}

nlohmann::json record_json(const Record& r, const std::vector<std::string>& files) {
    return {{"file", files[r.file]}, {"record", r.number},     {"timestampUs", r.ts_us},
            {"time", format_ts(r.ts_us)}, {"caplen", r.caplen}, {"origlen", r.origlen}};
}

std::string describe_record(const Record& r, const std::vector<std::string>& files) {
    std::ostringstream s;
    s << files[r.file] << " #" << r.number << " (t=" << format_ts(r.ts_us) << " caplen=" << r.caplen
      << " origlen=" << r.origlen << ")";
    return s.str();
}

// Which field of two records differs first, if any.
std::optional<std::pair<std::string, size_t>> first_difference(const Record& e, const Record& a) {
    if (e.ts_us != a.ts_us) return std::make_pair(std::string("timestamp"), size_t(0));
    if (e.caplen != a.caplen) return std::make_pair(std::string("caplen"), size_t(0));
    if (e.origlen != a.origlen) return std::make_pair(std::string("origlen"), size_t(0));
    if (e.bytes != a.bytes) {
        const auto [ei, ai] = std::mismatch(e.bytes.begin(), e.bytes.end(), a.bytes.begin(), a.bytes.end());
        return std::make_pair(std::string("bytes"), size_t(ei - e.bytes.begin()));
    }
    return std::nullopt;
}

std::vector<Mismatch> compare_ordered(const std::vector<Record>& expected, const std::vector<Record>& actual) {
    std::vector<Mismatch> out;
    const size_t n = std::max(expected.size(), actual.size());
    for (size_t i = 0; i < n; ++i) {
        Mismatch m;
        m.index = i;
        if (i >= actual.size()) {
            m.kind = "missing";
            m.expected = &expected[i];
        } else if (i >= expected.size()) {
            m.kind = "extra";
            m.actual = &actual[i];
        } else if (auto d = first_difference(expected[i], actual[i])) {
            m.kind = "differs";
            m.field = d->first;
            m.first_differing_byte = d->second;
            m.expected = &expected[i];
            m.actual = &actual[i];
        } else {
            continue;
        }
        out.push_back(m);
    }
    return out;
}

bool key_less(const Record* a, const Record* b) {
    if (a->ts_us != b->ts_us) return a->ts_us < b->ts_us;
    if (a->caplen != b->caplen) return a->caplen < b->caplen;
    if (a->origlen != b->origlen) return a->origlen < b->origlen;
    return a->bytes < b->bytes;
}

// Same multiset of (ts_us, caplen, origlen, bytes): sort both sides, then merge.
std::vector<Mismatch> compare_multiset(const std::vector<Record>& expected, const std::vector<Record>& actual) {
    std::vector<const Record*> e, a;
    for (const auto& r : expected) e.push_back(&r);
    for (const auto& r : actual) a.push_back(&r);
    std::stable_sort(e.begin(), e.end(), key_less);
    std::stable_sort(a.begin(), a.end(), key_less);
    std::vector<Mismatch> out;
    size_t i = 0, j = 0;
    while (i < e.size() || j < a.size()) {
        Mismatch m;
        if (j == a.size() || (i < e.size() && key_less(e[i], a[j]))) {
            m.kind = "missing";
            m.expected = e[i++];
        } else if (i == e.size() || key_less(a[j], e[i])) {
            m.kind = "extra";
            m.actual = a[j++];
        } else {
            ++i, ++j;
            continue;
        }
        out.push_back(m);
    }
    return out;
}

std::string describe(const Mismatch& m, const Options& o) {
    std::ostringstream s;
    if (m.index) s << "record " << *m.index << ": ";
    if (m.kind == "missing") {
        s << "missing: expected " << describe_record(*m.expected, o.inputs) << " was not written";
    } else if (m.kind == "extra") {
        s << "extra: " << describe_record(*m.actual, o.outputs) << " was not expected";
    } else {
        s << m.field << " differs: expected " << describe_record(*m.expected, o.inputs) << ", got "
          << describe_record(*m.actual, o.outputs);
        if (m.field == "bytes") s << ", first difference at byte " << m.first_differing_byte;
    }
    return s.str();
}

nlohmann::json mismatch_json(const Mismatch& m, const Options& o) {
    nlohmann::json j = {{"kind", m.kind}};
    if (m.index) j["index"] = *m.index;
    if (!m.field.empty()) j["field"] = m.field;
    if (m.field == "bytes") j["firstDifferingByte"] = m.first_differing_byte;
    j["expected"] = m.expected ? record_json(*m.expected, o.inputs) : nlohmann::json(nullptr);
    j["actual"] = m.actual ? record_json(*m.actual, o.outputs) : nlohmann::json(nullptr);
    j["description"] = describe(m, o);
    return j;
}

int run(int argc, char** argv) {
    const Options o = parse_arguments(argc, argv);
    const nlohmann::json spec = read_spec(o.spec_path);
    const Expected expected = build_expected(o, spec);
    const std::vector<Record> actual = read_outputs(o);

    const std::vector<Mismatch> mismatches =
        o.multiset ? compare_multiset(expected.records, actual) : compare_ordered(expected.records, actual);

    for (size_t i = 0; i < mismatches.size() && i < o.report; ++i)
        std::cerr << "trawl-verify: " << describe(mismatches[i], o) << "\n";
    if (mismatches.size() > o.report)
        std::cerr << "trawl-verify: ... and " << (mismatches.size() - o.report) << " more mismatches\n";
    if (!expected.stopped_by.empty())
        std::cerr << "trawl-verify: note: the expected records stop at the " << expected.stopped_by << " limit\n";

    const nlohmann::json summary = {
        {"expected", expected.records.size()},
        {"actual", actual.size()},
        {"mismatches", mismatches.size()},
        {"firstMismatch", mismatches.empty() ? nlohmann::json(nullptr) : mismatch_json(mismatches.front(), o)},
    };
    std::cout << summary.dump() << std::endl;
    return mismatches.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const ToolError& e) {
        std::cerr << "trawl-verify: " << e.what() << "\n";
        if (argc <= 1) std::cerr << kUsage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "trawl-verify: " << e.what() << "\n";
        return 2;
    }
}
