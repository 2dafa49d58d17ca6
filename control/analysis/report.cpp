#include "control/analysis/report.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <unordered_map>

#include "control/analysis/services.hpp"

namespace trawl::analysis {

using nlohmann::json;

namespace {

int64_t floor_div(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

double seconds(int64_t ns) { return double(ns) / 1e9; }

json optional_port(bool present, uint16_t port) { return present ? json(port) : json(nullptr); }

}  // namespace

std::string format_timestamp(int64_t ns) {
    const int64_t sec = floor_div(ns, 1000000000);
    const int64_t frac = ns - sec * 1000000000;
    const time_t t = time_t(sec);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

std::string tcp_flag_names(uint8_t flags) {
    static const char* names[8] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
    std::string out;
    for (int bit = 0; bit < 8; ++bit) {
        if (!(flags & (1 << bit))) continue;
        if (!out.empty()) out += '|';
        out += names[bit];
    }
    return out;
}

json to_json(const Analysis& a, const ReportOptions& options) {
    json files = json::array();
    for (const auto& f : a.files)
        files.push_back({{"name", f.name},
                         {"format", f.format.empty() ? json(nullptr) : json(f.format)},
                         {"linkType", f.link_type.empty() ? json(nullptr) : json(f.link_type)},
                         {"sizeBytes", f.size},
                         {"records", f.records},
                         {"bytes", f.bytes},
                         {"error", f.error.empty() ? json(nullptr) : json(f.error)}});

    const bool any = a.records > 0;
    json summary = {{"files", a.files.size()},
                    {"records", a.records},
                    {"bytes", a.bytes},
                    {"capturedBytes", a.captured_bytes},
                    {"ipPackets", a.ip_packets},
                    {"ipBytes", a.ip_bytes},
                    {"incompleteIpPackets", a.incomplete_ip_packets},
                    {"incompleteIpBytes", a.incomplete_ip_bytes},
                    {"nonIpPackets", a.non_ip_packets},
                    {"nonIpBytes", a.non_ip_bytes},
                    {"firstTimestamp", any ? json(format_timestamp(a.first_ns)) : json(nullptr)},
                    {"lastTimestamp", any ? json(format_timestamp(a.last_ns)) : json(nullptr)},
                    {"durationSeconds", any ? seconds(a.last_ns - a.first_ns) : 0.0},
                    {"flows", a.flows.size()},
                    {"addresses", a.addresses.size()}};

    json protocols = json::array();
    for (const auto& p : a.protocols)
        protocols.push_back({{"protocol", p.name},
                             {"number", p.number >= 0 ? json(p.number) : json(nullptr)},
                             {"packets", p.packets},
                             {"bytes", p.bytes},
                             {"flows", p.flows}});
    json services = json::array();
    for (const auto& s : a.services)
        services.push_back({{"service", s.name}, {"packets", s.packets}, {"bytes", s.bytes}, {"flows", s.flows}});
    json non_ip = json::array();
    for (const auto& n : a.non_ip) {
        char ethertype[8];
        std::snprintf(ethertype, sizeof ethertype, "0x%04x", unsigned(n.number));
        non_ip.push_back({{"type", n.name},
                          {"etherType", n.number >= 0 ? json(ethertype) : json(nullptr)},
                          {"packets", n.packets},
                          {"bytes", n.bytes}});
    }

    const size_t flow_count = options.top ? std::min(options.top, a.flows.size()) : a.flows.size();
    const size_t address_count = options.top ? std::min(options.top, a.addresses.size()) : a.addresses.size();

    // Countries of the shown flows' endpoints, from the address table (one pass over it).
    auto address_key = [](uint8_t family, const std::array<uint8_t, 16>& address) {
        return std::string(reinterpret_cast<const char*>(address.data()), 16) + char(family);
    };
    std::unordered_map<std::string, std::string> country_of;
    for (size_t i = 0; i < flow_count; ++i) {
        const FlowKey& k = a.flows[i].key;
        country_of.emplace(address_key(k.family, k.low_address), "");
        country_of.emplace(address_key(k.family, k.high_address), "");
    }
    if (!country_of.empty())
        for (const auto& r : a.addresses)
            if (auto it = country_of.find(address_key(r.family, r.address)); it != country_of.end())
                it->second = r.country.code;
    auto country = [&](uint8_t family, const std::array<uint8_t, 16>& address) -> json {
        auto it = country_of.find(address_key(family, address));
        return it == country_of.end() || it->second.empty() ? json(nullptr) : json(it->second);
    };

    json flow_items = json::array();
    for (size_t i = 0; i < flow_count; ++i) {
        const FlowKey& k = a.flows[i].key;
        const FlowStats& s = a.flows[i].stats;
        const int c = s.client_direction;  // direction whose sender is the client
        const bool client_low = c == 0;
        const auto& client_address = client_low ? k.low_address : k.high_address;
        const auto& server_address = client_low ? k.high_address : k.low_address;
        const uint16_t client_port = client_low ? k.low_port : k.high_port;
        const uint16_t server_port = client_low ? k.high_port : k.low_port;
        json item = {
            {"protocol", k.has_protocol() ? json(ip_protocol_name(k.protocol)) : json(nullptr)},
            {"protocolNumber", k.has_protocol() ? json(k.protocol) : json(nullptr)},
            {"service", service_label(k.has_protocol(), k.protocol, k.has_ports(), client_port, server_port)},
            {"ipVersion", k.family},
            {"client", address_text(k.family, client_address.data())},
            {"clientPort", optional_port(k.has_ports(), client_port)},
            {"server", address_text(k.family, server_address.data())},
            {"serverPort", optional_port(k.has_ports(), server_port)},
            {"firstTimestamp", format_timestamp(s.first_ns)},
            {"lastTimestamp", format_timestamp(s.last_ns)},
            {"durationSeconds", seconds(s.last_ns - s.first_ns)},
            {"packets", s.packets[0] + s.packets[1]},
            {"bytes", s.bytes[0] + s.bytes[1]},
            {"clientPackets", s.packets[c]},
            {"clientBytes", s.bytes[c]},
            {"serverPackets", s.packets[1 - c]},
            {"serverBytes", s.bytes[1 - c]},
            {"tcpFlags", k.has_protocol() && k.protocol == 6 ? json(tcp_flag_names(s.tcp_flags)) : json(nullptr)},
            {"clientCountry", country(k.family, client_address)},
            {"serverCountry", country(k.family, server_address)},
        };
        flow_items.push_back(std::move(item));
    }

    json address_items = json::array();
    for (size_t i = 0; i < address_count; ++i) {
        const AddressRow& r = a.addresses[i];
        address_items.push_back({{"address", r.text},
                                 {"ipVersion", r.family},
                                 {"country", r.country.code},
                                 {"countryName", r.country.name},
                                 {"packetsSent", r.packets_sent},
                                 {"packetsReceived", r.packets_received},
                                 {"bytesSent", r.bytes_sent},
                                 {"bytesReceived", r.bytes_received},
                                 {"flows", r.flows},
                                 {"peers", r.peers}});
    }

    json country_items = json::array();
    for (const auto& c : a.countries)
        country_items.push_back({{"country", c.code},
                                 {"name", c.name},
                                 {"addresses", c.addresses},
                                 {"packetsSent", c.packets_sent},
                                 {"packetsReceived", c.packets_received},
                                 {"bytesSent", c.bytes_sent},
                                 {"bytesReceived", c.bytes_received}});

    json buckets = json::array();
    for (const auto& b : a.timeline)
        buckets.push_back({{"start", format_timestamp(b.start_ns)}, {"packets", b.packets}, {"bytes", b.bytes}});

    json warnings = a.warnings;
    const double rate = a.engine.seconds > 0 ? double(a.records) / a.engine.seconds : 0.0;
    return {{"files", files},
            {"summary", summary},
            {"protocols", protocols},
            {"services", services},
            {"nonIp", non_ip},
            {"flows", {{"total", a.flows.size()}, {"shown", flow_count}, {"sortedBy", "bytes"}, {"items", flow_items}}},
            {"addresses",
             {{"total", a.addresses.size()}, {"shown", address_count}, {"sortedBy", "bytes"}, {"items", address_items}}},
            {"countries",
             {{"geoip", {{"database", a.geoip_database},
                         {"package", a.geoip_package.empty() ? json(nullptr) : json(a.geoip_package)},
                         {"dataDate", a.geoip_date.empty() ? json(nullptr) : json(a.geoip_date)},
                         {"note", a.geoip_note}}},
              {"items", country_items}}},
            {"timeline",
             {{"intervalSeconds", seconds(a.timeline_width_ns)},
              {"intervalNs", a.timeline_width_ns},
              {"startNs", a.timeline.empty() ? json(nullptr) : json(a.timeline.front().start_ns)},
              {"buckets", buckets}}},
            {"warnings", warnings},
            // How this answer was produced; not part of the result (differs between runs).
            {"engine",
             {{"threads", a.engine.threads},
              {"workItems", a.engine.work_items},
              {"seconds", a.engine.seconds},
              {"readSeconds", a.engine.read_seconds},
              {"recordsPerSecond", rate},
              {"cancelled", a.engine.cancelled}}}};
}

// ---------------------------------------------------------------------------------
// Text

namespace {

uint64_t u64(const json& v) { return v.is_number_unsigned() || v.is_number_integer() ? v.get<uint64_t>() : 0; }

std::string str(const json& v) {
    if (v.is_null()) return "-";
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
}

std::string count(uint64_t n) {  // 1234567 → "1,234,567"
    std::string digits = std::to_string(n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string human_bytes(uint64_t b) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = double(b);
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

std::string human_seconds(double s) {
    char buf[32];
    if (s < 1e-3) std::snprintf(buf, sizeof buf, "%.0f us", s * 1e6);
    else if (s < 1) std::snprintf(buf, sizeof buf, "%.1f ms", s * 1e3);
    else if (s < 120) std::snprintf(buf, sizeof buf, "%.3f s", s);
    else if (s < 7200) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
    else if (s < 172800) std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
    else std::snprintf(buf, sizeof buf, "%.1f d", s / 86400);
    return buf;
}

std::string interval_text(double s) {
    char buf[32];
    if (s < 1e-3) std::snprintf(buf, sizeof buf, "%g us", s * 1e6);
    else if (s < 1) std::snprintf(buf, sizeof buf, "%g ms", s * 1e3);
    else if (s < 60) std::snprintf(buf, sizeof buf, "%g s", s);
    else if (s < 3600) std::snprintf(buf, sizeof buf, "%g min", s / 60);
    else if (s < 86400) std::snprintf(buf, sizeof buf, "%g h", s / 3600);
    else std::snprintf(buf, sizeof buf, "%g d", s / 86400);
    return buf;
}

std::string percent(uint64_t part, uint64_t whole) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.1f%%", whole ? 100.0 * double(part) / double(whole) : 0.0);
    return buf;
}

std::string endpoint(const json& address, const json& port, const json& version) {
    std::string a = str(address);
    if (port.is_null()) return a;
    return (u64(version) == 6 ? "[" + a + "]" : a) + ":" + str(port);
}

// Columns whose header starts with '>' are right-aligned (numbers).
void table(std::string& out, const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width(header.size());
    std::vector<bool> right(header.size());
    std::vector<std::string> names(header.size());
    for (size_t i = 0; i < header.size(); ++i) {
        right[i] = !header[i].empty() && header[i][0] == '>';
        names[i] = right[i] ? header[i].substr(1) : header[i];
        width[i] = names[i].size();
    }
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
    auto line = [&](const std::vector<std::string>& cells) {
        std::string l;
        for (size_t i = 0; i < cells.size(); ++i) {
            const std::string pad(width[i] - std::min(width[i], cells[i].size()), ' ');
            l += right[i] ? pad + cells[i] : cells[i] + (i + 1 < cells.size() ? pad : "");
            if (i + 1 < cells.size()) l += "  ";
        }
        while (!l.empty() && l.back() == ' ') l.pop_back();
        out += l + "\n";
    };
    line(names);
    for (const auto& r : rows) line(r);
}

void section_summary(std::string& out, const json& r) {
    const json& s = r["summary"];
    out += "Capture: " + count(u64(s["files"])) + (u64(s["files"]) == 1 ? " file, " : " files, ") +
           count(u64(s["records"])) + " records, " + human_bytes(u64(s["bytes"])) + " on the wire (" +
           human_bytes(u64(s["capturedBytes"])) + " captured)\n";
    if (!s["firstTimestamp"].is_null())
        out += "Time:    " + str(s["firstTimestamp"]) + " to " + str(s["lastTimestamp"]) + " (" +
               human_seconds(s["durationSeconds"].get<double>()) + ")\n";
    out += "IP:      " + count(u64(s["ipPackets"])) + " packets, " + human_bytes(u64(s["ipBytes"])) + " in " +
           count(u64(s["flows"])) + " flows between " + count(u64(s["addresses"])) + " addresses";
    if (u64(s["incompleteIpPackets"])) out += " (+" + count(u64(s["incompleteIpPackets"])) + " with a cut header)";
    out += "\nNon-IP:  " + count(u64(s["nonIpPackets"])) + " packets, " + human_bytes(u64(s["nonIpBytes"]));
    std::string kinds;
    for (const auto& n : r["nonIp"]) kinds += (kinds.empty() ? "" : ", ") + str(n["type"]) + " " + count(u64(n["packets"]));
    if (!kinds.empty()) out += " (" + kinds + ")";
    out += "\n";
    if (r["files"].size() > 1) {
        out += "\n";
        std::vector<std::vector<std::string>> rows;
        for (const auto& f : r["files"])
            rows.push_back({str(f["name"]), str(f["format"]), str(f["linkType"]), count(u64(f["records"])),
                            human_bytes(u64(f["bytes"])), f["error"].is_null() ? "" : str(f["error"])});
        table(out, {"FILE", "FORMAT", "LINK", ">RECORDS", ">BYTES", "ERROR"}, rows);
    }
    for (const auto& w : r["warnings"]) out += "warning: " + str(w) + "\n";
}

void section_flows(std::string& out, const json& r) {
    const json& f = r["flows"];
    out += "Flows: " + (u64(f["shown"]) < u64(f["total"]) ? "top " + count(u64(f["shown"])) + " of " : "") +
           count(u64(f["total"])) + " by bytes (client = sender of the first packet)\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& x : f["items"]) {
        rows.push_back({str(x["protocol"]), str(x["service"]), endpoint(x["client"], x["clientPort"], x["ipVersion"]),
                        endpoint(x["server"], x["serverPort"], x["ipVersion"]), count(u64(x["packets"])),
                        human_bytes(u64(x["bytes"])), count(u64(x["clientPackets"])),
                        human_bytes(u64(x["clientBytes"])), count(u64(x["serverPackets"])),
                        human_bytes(u64(x["serverBytes"])), human_seconds(x["durationSeconds"].get<double>()),
                        x["tcpFlags"].is_null() ? "" : str(x["tcpFlags"]),
                        str(x["clientCountry"]) + " > " + str(x["serverCountry"])});
    }
    table(out,
          {"PROTO", "SERVICE", "CLIENT", "SERVER", ">PACKETS", ">BYTES", ">C>S PKTS", ">C>S BYTES", ">S>C PKTS",
           ">S>C BYTES", ">DURATION", "TCP FLAGS", "COUNTRIES*"},
          rows);
}

void overview(std::string& out, const json& rows_json, const char* key, const char* title, uint64_t total_bytes) {
    out += std::string(title) + "\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : rows_json)
        rows.push_back({str(p[key]) + (p.contains("number") && !p["number"].is_null() ? " (" + str(p["number"]) + ")" : ""),
                        count(u64(p["packets"])), human_bytes(u64(p["bytes"])), percent(u64(p["bytes"]), total_bytes),
                        u64(p["flows"]) ? count(u64(p["flows"])) : "-"});
    table(out, {std::string(key) == "protocol" ? "PROTOCOL" : "SERVICE", ">PACKETS", ">BYTES", ">SHARE", ">FLOWS"}, rows);
}

void section_addresses(std::string& out, const json& r) {
    const json& a = r["addresses"];
    out += "Top talkers: " + (u64(a["shown"]) < u64(a["total"]) ? "top " + count(u64(a["shown"])) + " of " : "") +
           count(u64(a["total"])) + " addresses by bytes sent + received\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& x : a["items"])
        rows.push_back({str(x["address"]), str(x["country"]), human_bytes(u64(x["bytesSent"])),
                        human_bytes(u64(x["bytesReceived"])), count(u64(x["packetsSent"])),
                        count(u64(x["packetsReceived"])), count(u64(x["flows"])), count(u64(x["peers"]))});
    table(out, {"ADDRESS", "COUNTRY*", ">SENT", ">RECEIVED", ">PKTS SENT", ">PKTS RECEIVED", ">FLOWS", ">PEERS"}, rows);
}

std::string geoip_footnote(const json& r) { return "* " + str(r["countries"]["geoip"]["note"]) + "\n"; }

void section_countries(std::string& out, const json& r) {
    out += "Countries*\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : r["countries"]["items"])
        rows.push_back({str(c["country"]), str(c["name"]), count(u64(c["addresses"])), human_bytes(u64(c["bytesSent"])),
                        human_bytes(u64(c["bytesReceived"]))});
    table(out, {"COUNTRY", "NAME", ">ADDRESSES", ">SENT", ">RECEIVED"}, rows);
}

// The JSON keeps up to Timeline::kReportBuckets points for graphs; people get at most
// kTextRows rows, re-binned along the same ladder of intervals.
constexpr size_t kTextRows = 24;

void section_timeline(std::string& out, const json& r) {
    const json& t = r["timeline"];
    if (t["buckets"].empty() || t["startNs"].is_null()) {
        out += "Timeline: no packets\n";
        return;
    }
    const int64_t width = t["intervalNs"].get<int64_t>(), start = t["startNs"].get<int64_t>();
    const int64_t end = start + width * int64_t(t["buckets"].size());  // exclusive
    int64_t rows_width = width;
    for (int64_t w : Timeline::ladder()) {
        if (w < width || w % width) continue;
        rows_width = w;
        if (floor_div(end - 1, w) - floor_div(start, w) + 1 <= int64_t(kTextRows)) break;
    }
    struct Row {
        int64_t start;
        uint64_t packets = 0, bytes = 0;
    };
    std::vector<Row> rows;
    for (size_t i = 0; i < t["buckets"].size(); ++i) {
        const int64_t row_start = floor_div(start + int64_t(i) * width, rows_width) * rows_width;
        if (rows.empty() || rows.back().start != row_start) rows.push_back({row_start});
        rows.back().packets += u64(t["buckets"][i]["packets"]);
        rows.back().bytes += u64(t["buckets"][i]["bytes"]);
    }
    out += "Timeline: " + interval_text(double(rows_width) / 1e9) + " intervals\n";
    uint64_t peak = 1;
    for (const auto& row : rows) peak = std::max(peak, row.bytes);
    std::vector<std::vector<std::string>> cells;
    for (const auto& row : rows) {
        const size_t bar = size_t((row.bytes * 40 + peak - 1) / peak);
        cells.push_back({format_timestamp(row.start), count(row.packets), human_bytes(row.bytes), std::string(bar, '#')});
    }
    table(out, {"START", ">PACKETS", ">BYTES", ""}, cells);
}

}  // namespace

std::string render_text(const json& r, const std::vector<std::string>& sections) {
    const auto& all = report_sections();
    for (const auto& s : sections)
        if (std::find(all.begin(), all.end(), s) == all.end())
            throw std::invalid_argument("unknown table '" + s + "' (summary, flows, protocols, services, addresses, "
                                        "countries, timeline)");
    auto wanted = [&](const std::string& s) {
        return sections.empty() || std::find(sections.begin(), sections.end(), s) != sections.end();
    };
    std::string out;
    bool countries_shown = false;
    auto gap = [&] {
        if (!out.empty()) out += "\n";
    };
    const uint64_t bytes = u64(r["summary"]["bytes"]);
    if (wanted("summary")) section_summary(out, r);
    if (wanted("flows")) {
        gap();
        section_flows(out, r);
        countries_shown = true;
    }
    if (wanted("protocols")) {
        gap();
        overview(out, r["protocols"], "protocol", "Protocols", bytes);
    }
    if (wanted("services")) {
        gap();
        overview(out, r["services"], "service", "Services (from well-known ports)", bytes);
    }
    if (wanted("addresses")) {
        gap();
        section_addresses(out, r);
        countries_shown = true;
    }
    if (wanted("countries")) {
        gap();
        section_countries(out, r);
        countries_shown = true;
    }
    if (countries_shown) out += geoip_footnote(r);
    if (wanted("timeline")) {
        gap();
        section_timeline(out, r);
    }
    return out;
}

// ---------------------------------------------------------------------------------
// CSV

namespace {

std::string csv_cell(const json& v) {
    std::string s = v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump();
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string csv(const json& items, const std::vector<std::string>& keys) {
    std::string out;
    for (size_t i = 0; i < keys.size(); ++i) out += (i ? "," : "") + keys[i];
    out += "\n";
    for (const auto& item : items) {
        for (size_t i = 0; i < keys.size(); ++i) out += (i ? "," : "") + csv_cell(item.value(keys[i], json(nullptr)));
        out += "\n";
    }
    return out;
}

}  // namespace

std::string render_csv(const json& r, const std::string& table_name) {
    if (table_name == "flows")
        return csv(r["flows"]["items"],
                   {"protocol", "protocolNumber", "service", "ipVersion", "client", "clientPort", "server", "serverPort",
                    "firstTimestamp", "lastTimestamp", "durationSeconds", "packets", "bytes", "clientPackets",
                    "clientBytes", "serverPackets", "serverBytes", "tcpFlags", "clientCountry", "serverCountry"});
    if (table_name == "protocols") return csv(r["protocols"], {"protocol", "number", "packets", "bytes", "flows"});
    if (table_name == "services") return csv(r["services"], {"service", "packets", "bytes", "flows"});
    if (table_name == "addresses")
        return csv(r["addresses"]["items"], {"address", "ipVersion", "country", "countryName", "packetsSent",
                                             "packetsReceived", "bytesSent", "bytesReceived", "flows", "peers"});
    if (table_name == "countries")
        return csv(r["countries"]["items"],
                   {"country", "name", "addresses", "packetsSent", "packetsReceived", "bytesSent", "bytesReceived"});
    if (table_name == "timeline") return csv(r["timeline"]["buckets"], {"start", "packets", "bytes"});
    if (table_name == "files")
        return csv(r["files"], {"name", "format", "linkType", "sizeBytes", "records", "bytes", "error"});
    throw std::invalid_argument("no CSV table '" + table_name +
                                "' (flows, protocols, services, addresses, countries, timeline, files)");
}

}  // namespace trawl::analysis
