#include "control/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <map>
#include <sstream>

namespace trawl::control {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

struct FamilyBuilder {
    MetricFamily family;
    FamilyBuilder(std::string name, std::string help, MetricType type) {
        family.name = std::move(name);
        family.help = std::move(help);
        family.type = type;
    }
    void add(std::vector<ClientMetric::Label> labels, double value) {
        ClientMetric m;
        m.label = std::move(labels);
        if (family.type == MetricType::Counter) m.counter.value = value;
        else m.gauge.value = value;
        family.metric.push_back(std::move(m));
    }
};

}  // namespace

class Metrics::DataplaneCollector : public prometheus::Collectable {
public:
    DataplaneCollector(const dataplane::Engine& engine, const SessionManager& sessions)
        : engine_(engine), sessions_(sessions) {}

    std::vector<MetricFamily> Collect() const override {
        std::vector<MetricFamily> out;
        auto counter = [](const char* n, const char* h) { return FamilyBuilder(n, h, MetricType::Counter); };
        auto gauge = [](const char* n, const char* h) { return FamilyBuilder(n, h, MetricType::Gauge); };

        FamilyBuilder info = gauge("trawl_build_info", "trawl version; always 1");
        info.add({{"version", TRAWL_VERSION}}, 1);
        out.push_back(info.family);

        // Ports: the NIC's own view (packets it delivered, missed, failed to buffer).
        FamilyBuilder rx = counter("trawl_port_rx_packets_total", "Packets received by the port");
        FamilyBuilder rxb = counter("trawl_port_rx_bytes_total", "Bytes received by the port");
        FamilyBuilder missed = counter("trawl_port_rx_missed_packets_total",
                                       "Packets the port dropped because its RX queue was full");
        FamilyBuilder nombuf = counter("trawl_port_rx_nombuf_total", "RX mbuf allocation failures");
        FamilyBuilder errors = counter("trawl_port_rx_errors_total", "Erroneous received packets");
        for (const auto& p : engine_.port_stats()) {
            rx.add({{"port", p.name}}, double(p.rx_packets));
            rxb.add({{"port", p.name}}, double(p.rx_bytes));
            missed.add({{"port", p.name}}, double(p.rx_missed));
            nombuf.add({{"port", p.name}}, double(p.rx_no_mbuf));
            errors.add({{"port", p.name}}, double(p.rx_errors));
        }
        for (auto* f : {&rx, &rxb, &missed, &nombuf, &errors}) out.push_back(f->family);

        FamilyBuilder wrx = counter("trawl_worker_rx_packets_total", "Packets a worker received");
        FamilyBuilder wmatch = counter("trawl_worker_matched_packets_total", "Packets that matched at least one session");
        FamilyBuilder wunmatch = counter("trawl_worker_unmatched_packets_total", "Packets that matched no session");
        FamilyBuilder wchain = counter("trawl_worker_chained_packets_total", "Multi-segment packets linearised to parse");
        FamilyBuilder wshort = counter("trawl_worker_short_chain_packets_total",
                                       "Packets whose mbuf chain held fewer bytes than pkt_len (a driver defect); "
                                       "written truncated to what arrived");
        FamilyBuilder wwait = counter("trawl_worker_backpressure_waits_total",
                                      "Times a lossless replay source waited for ring or mempool space");
        FamilyBuilder pscan = counter("trawl_worker_pattern_scanned_packets_total",
                                      "Packets whose payload was scanned for payload patterns");
        FamilyBuilder pmatch = counter("trawl_worker_pattern_matched_packets_total",
                                       "Scanned packets in which a candidate session's pattern matched");
        FamilyBuilder pcycles = counter("trawl_worker_pattern_scan_cycles_total", "TSC cycles spent scanning payloads");
        FamilyBuilder wbusy = counter("trawl_worker_busy_cycles_total", "TSC cycles of poll loops that received packets");
        FamilyBuilder wcycles = counter("trawl_worker_cycles_total", "TSC cycles of all poll loops");
        FamilyBuilder ringfull = counter("trawl_ring_full_drops_total",
                                         "Packets dropped because a worker-to-writer ring was full");
        for (const auto& w : engine_.worker_stats()) {
            const std::vector<ClientMetric::Label> l{{"worker", std::to_string(w.id)}};
            wrx.add(l, double(w.rx_packets));
            wmatch.add(l, double(w.matched));
            wunmatch.add(l, double(w.unmatched));
            wchain.add(l, double(w.chained));
            wshort.add(l, double(w.short_chains));
            wwait.add(l, double(w.backpressure_waits));
            pscan.add(l, double(w.pattern_scans));
            pmatch.add(l, double(w.pattern_matches));
            pcycles.add(l, double(w.pattern_cycles));
            wbusy.add(l, double(w.busy_cycles));
            wcycles.add(l, double(w.total_cycles));
            ringfull.add(l, double(w.ring_full));
        }
        for (auto* f : {&wrx, &wmatch, &wunmatch, &wchain, &wshort, &wwait, &pscan, &pmatch, &pcycles, &wbusy, &wcycles,
                        &ringfull}) out.push_back(f->family);

        FamilyBuilder recs = counter("trawl_writer_records_total", "Records appended to capture files");
        FamilyBuilder wbytes = counter("trawl_writer_written_bytes_total", "Bytes written to capture files");
        FamilyBuilder werr = counter("trawl_writer_write_errors_total", "Failed writes to capture files");
        FamilyBuilder wbusyw = counter("trawl_writer_busy_seconds_total", "Time writers spent handling packets");
        FamilyBuilder unowned = counter("trawl_writer_unowned_packets_total",
                                        "Packets tagged for a session the writer does not hold (should stay 0)");
        MetricFamily latency;
        latency.name = "trawl_writer_write_duration_seconds";
        latency.help = "Duration of write() calls to capture files";
        latency.type = MetricType::Histogram;
        for (const auto& w : engine_.writer_stats()) {
            const std::vector<ClientMetric::Label> l{{"writer", std::to_string(w.id)}};
            recs.add(l, double(w.records));
            wbytes.add(l, double(w.write_bytes));
            werr.add(l, double(w.write_errors));
            wbusyw.add(l, double(w.busy_ns) / 1e9);
            unowned.add(l, double(w.unowned));
            ClientMetric m;
            m.label = l;
            uint64_t cumulative = 0;
            for (size_t b = 0; b < dataplane::kWriteLatencyBuckets; ++b) {
                cumulative += w.latency_buckets[b];
                ClientMetric::Bucket bucket;
                bucket.cumulative_count = cumulative;
                bucket.upper_bound = b + 1 < dataplane::kWriteLatencyBuckets
                                         ? double(dataplane::kWriteLatencyBoundsUs[b]) / 1e6
                                         : std::numeric_limits<double>::infinity();
                m.histogram.bucket.push_back(bucket);
            }
            m.histogram.sample_count = cumulative;
            m.histogram.sample_sum = double(w.write_ns) / 1e9;
            latency.metric.push_back(std::move(m));
        }
        for (auto* f : {&recs, &wbytes, &werr, &wbusyw, &unowned}) out.push_back(f->family);
        out.push_back(std::move(latency));

        const auto rs = engine_.ruleset_stats();
        FamilyBuilder rules = gauge("trawl_ruleset_rules", "Classifier rules in the published RuleSet");
        rules.add({}, double(rs.rules));
        FamilyBuilder rpat = gauge("trawl_ruleset_patterns", "Payload patterns in the published RuleSet");
        rpat.add({}, double(rs.patterns));
        FamilyBuilder rsess = gauge("trawl_ruleset_sessions", "Sessions in the published RuleSet");
        rsess.add({}, double(rs.sessions));
        FamilyBuilder build = gauge("trawl_ruleset_build_duration_seconds", "Time to compile the last RuleSet");
        build.add({}, rs.last_build_seconds);
        FamilyBuilder builds = counter("trawl_ruleset_builds_total", "RuleSet compilations");
        builds.add({}, double(rs.builds));
        FamilyBuilder failures = counter("trawl_ruleset_build_failures_total", "RuleSet compilations that failed");
        failures.add({}, double(rs.build_failures));
        for (auto* f : {&rules, &rpat, &rsess, &build, &builds, &failures}) out.push_back(f->family);

        FamilyBuilder spk = counter("trawl_session_packets_total", "Packets written by the session");
        FamilyBuilder sby = counter("trawl_session_bytes_total", "Captured bytes written by the session");
        FamilyBuilder sdrop = counter("trawl_session_dropped_packets_total",
                                      "Packets the session matched but could not write, by cause");
        FamilyBuilder sdisc = counter("trawl_session_discarded_packets_total",
                                      "Packets that reached the session after it stopped at a limit");
        FamilyBuilder sfiles = gauge("trawl_session_files", "Capture files the session has");
        FamilyBuilder states = gauge("trawl_sessions", "Sessions by status");
        std::map<std::string, double> by_state{{"NotStarted", 0}, {"Running", 0}, {"Stopped", 0}, {"Error", 0}};
        for (const auto& s : sessions_.metrics()) {
            spk.add({{"session", s.name}}, double(s.packets));
            sby.add({{"session", s.name}}, double(s.bytes));
            sdrop.add({{"reason", "ring_full"}, {"session", s.name}}, double(s.ring_full));
            sdrop.add({{"reason", "write_error"}, {"session", s.name}}, double(s.write_error));
            sdisc.add({{"session", s.name}}, double(s.discarded));
            sfiles.add({{"session", s.name}}, double(s.files));
            by_state[status_name(s.status)] += 1;
        }
        for (const auto& [state, n] : by_state) states.add({{"status", state}}, n);
        for (auto* f : {&spk, &sby, &sdrop, &sdisc, &sfiles, &states}) out.push_back(f->family);

        // Uploads to object storage (docs/storage.md): one set for the whole daemon.
        const auto up = sessions_.upload_stats();
        FamilyBuilder ubytes = counter("trawl_storage_uploaded_bytes_total",
                                       "Bytes of capture files accepted by the storage service");
        ubytes.add({}, double(up.uploaded_bytes));
        FamilyBuilder ufiles = counter("trawl_storage_uploaded_files_total", "Capture files uploaded completely");
        ufiles.add({}, double(up.uploaded_files));
        FamilyBuilder ufail = counter("trawl_storage_failed_files_total",
                                      "Uploads given up (permanent error or retry deadline): StorageFailed");
        ufail.add({}, double(up.failed_files));
        FamilyBuilder uskip = counter("trawl_storage_skipped_files_total",
                                      "Files deleted locally (ring buffer, operator) before they could be uploaded");
        uskip.add({}, double(up.skipped_files));
        FamilyBuilder uattempts = counter("trawl_storage_upload_attempts_total", "Upload attempts, first ones included");
        uattempts.add({}, double(up.attempts));
        FamilyBuilder uretries = counter("trawl_storage_upload_retries_total", "Upload attempts after a failed one");
        uretries.add({}, double(up.retries));
        FamilyBuilder ubusy = counter("trawl_storage_upload_busy_seconds_total", "Time upload threads spent sending");
        ubusy.add({}, up.busy_seconds);
        FamilyBuilder uqueue = gauge("trawl_storage_queue_files",
                                     "Closed files waiting to be uploaded (for a thread or a retry)");
        uqueue.add({}, double(up.queued));
        FamilyBuilder uflight = gauge("trawl_storage_uploads_in_flight", "Files being uploaded now");
        uflight.add({}, double(up.in_flight));
        for (auto* f : {&ubytes, &ufiles, &ufail, &uskip, &uattempts, &uretries, &ubusy, &uqueue, &uflight})
            out.push_back(f->family);
        return out;
    }

private:
    const dataplane::Engine& engine_;
    const SessionManager& sessions_;
};

Metrics::Metrics(const dataplane::Engine& engine, const SessionManager& sessions)
    : registry_(std::make_shared<prometheus::Registry>()),
      collector_(std::make_shared<DataplaneCollector>(engine, sessions)),
      requests_(&prometheus::BuildCounter()
                     .Name("trawl_api_requests_total")
                     .Help("REST API requests by method and status code")
                     .Register(*registry_)) {}

void Metrics::count_request(const std::string& method, int status) {
    // Bounded labels: the method set and status codes trawl itself returns.
    static const std::vector<std::string> known{"GET", "PUT", "POST", "DELETE"};
    const std::string m = std::find(known.begin(), known.end(), method) != known.end() ? method : "other";
    requests_->Add({{"method", m}, {"code", std::to_string(status)}}).Increment();
}

std::string Metrics::scrape() const {
    auto families = registry_->Collect();
    auto dataplane = collector_->Collect();
    families.insert(families.end(), dataplane.begin(), dataplane.end());
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
}

}  // namespace trawl::control
