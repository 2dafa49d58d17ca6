// The analysis engine: reads pcap and pcapng files with libpcap and builds the flow
// table, the protocol and service overview, per-address statistics with countries, and
// the timeline.
//
// Parallel plan (oneTBB; docs/analysis.md draws it). A tbb::parallel_pipeline: its
// serial first stage is the cheap first pass, which hops from record header to record
// header of each large file (never reading packets) and hands out record ranges of
// about 32 MiB as it goes; small files are one range each. Any thread reads a range
// with libpcap into its own partial result (flow table, timeline, counters): no lock and
// no shared write per packet. tbb::parallel_reduce then joins the per-thread partial
// results; every join is commutative (sums, min/max, the earliest first packet by file
// position), so one thread, two threads and any cut give the same result. With one
// thread each file is simply read front to back.
//
// Per packet: libpcap hands the record, dataplane::parse_packet reads the headers
// (DESIGN §2.2), one flow-table lookup (prefetched in batches), one timeline increment.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "control/analysis/flow_table.hpp"
#include "control/analysis/geoip.hpp"
#include "control/analysis/timeline.hpp"

namespace trawl::analysis {

struct InputFile {
    std::string path;
    std::string name;  // shown in reports; the path when empty
};

// Read by another thread while an analysis runs (the REST status of a running job).
struct Progress {
    std::atomic<uint64_t> records{0};
    std::atomic<uint64_t> file_bytes{0};  // bytes of the input files read so far (approximate)
};

struct AnalyzeOptions {
    unsigned threads = 0;          // 0: every hardware thread
    // Record ranges of about this many bytes are cut from files larger than twice it
    // (only with more than one thread). 0: 32 MiB.
    uint64_t chunk_bytes = 0;
    const std::atomic<bool>* cancel = nullptr;  // set: stop soon (the result is partial)
    Progress* progress = nullptr;
    const GeoIp* geoip = nullptr;  // nullptr: GeoIp::shared()
};

struct FileSummary {
    std::string name;
    std::string format;     // "pcap", "pcapng", or "" when unreadable
    std::string link_type;  // libpcap's name: "EN10MB"
    uint64_t size = 0;      // bytes on disk
    uint64_t records = 0;
    uint64_t bytes = 0;     // sum of original lengths
    std::string error;      // could not be opened or read to its end
};

// Packets, bytes and flows of one protocol or service.
struct OverviewRow {
    std::string name;
    int number = -1;  // IP protocol number; -1 for service rows and packets without one
    uint64_t packets = 0, bytes = 0, flows = 0;
};

struct AddressRow {
    uint8_t family = 0;
    std::array<uint8_t, 16> address{};
    std::string text;
    Country country;
    uint64_t packets_sent = 0, packets_received = 0;
    uint64_t bytes_sent = 0, bytes_received = 0;
    uint64_t flows = 0;  // flows with this address at either end
    uint64_t peers = 0;  // distinct addresses at the other end of those flows
};

struct CountryRow {
    std::string code, name;
    uint64_t addresses = 0;
    uint64_t packets_sent = 0, packets_received = 0;
    uint64_t bytes_sent = 0, bytes_received = 0;
};

struct EngineStats {
    unsigned threads = 0;
    size_t work_items = 0;
    double seconds = 0;       // the whole analysis
    double read_seconds = 0;  // of which reading and counting (the parallel part)
    bool cancelled = false;
};

struct Analysis {
    std::vector<FileSummary> files;
    uint64_t records = 0, bytes = 0, captured_bytes = 0;
    uint64_t ip_packets = 0, ip_bytes = 0;
    // IP packets whose captured bytes lack an address (a header cut by the snap length):
    // counted, but in no flow.
    uint64_t incomplete_ip_packets = 0, incomplete_ip_bytes = 0;
    uint64_t non_ip_packets = 0, non_ip_bytes = 0;
    int64_t first_ns = 0, last_ns = 0;  // valid when records > 0

    std::vector<Flow> flows;             // by bytes, then packets, then first packet
    std::vector<OverviewRow> protocols;  // by bytes; non-IP and incomplete rows included
    std::vector<OverviewRow> services;   // by bytes
    std::vector<OverviewRow> non_ip;     // by EtherType ("arp") or link type
    std::vector<AddressRow> addresses;   // top talkers first: by bytes sent + received
    std::vector<CountryRow> countries;   // by bytes
    int64_t timeline_width_ns = 0;
    std::vector<Timeline::Bucket> timeline;
    std::vector<std::string> warnings;   // sorted
    std::string geoip_database, geoip_package, geoip_date, geoip_note;
    EngineStats engine;
};

Analysis analyze(const std::vector<InputFile>& files, const AnalyzeOptions& options = {});

// Address text as inet_ntop writes it.
std::string address_text(unsigned family, const uint8_t* address);

}  // namespace trawl::analysis
