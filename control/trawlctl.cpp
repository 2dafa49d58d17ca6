// trawlctl: the command line for trawld's REST API. Tables for people, --json for
// scripts; the server's own error message and a non-zero exit status on failure.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "control/analysis/analyzer.hpp"
#include "control/analysis/report.hpp"
#include "control/config.hpp"
#include "control/http_client.hpp"

using nlohmann::json;
using trawl::control::HttpClient;
using trawl::control::HttpReply;
using trawl::control::url_encode_segment;

namespace {

constexpr int kExitError = 1;   // the server refused (message printed)
constexpr int kExitUsage = 2;
constexpr int kExitNoServer = 3;

const char* kUsage = R"(usage: trawlctl [--server URL] [--token TOKEN | --token-file FILE] [--json] COMMAND

commands:
  create NAME [--file SPEC.json|.yaml] [filter flags] [limit flags]
  list
  show NAME
  stop NAME [--sas-url URL]
                     with --sas-url: upload the session's files to that container
                     (a container URL with a SAS query; docs/storage.md)
  delete NAME [--purge]
  files NAME
  download NAME FILE [-o PATH]
  ports
  metrics
  analyze FILE... | --session NAME  [--top N] [--table NAME]... [--csv] [--threads N]
                     flows, protocols, services, top talkers, countries and a timeline
                     of pcap/pcapng files (read here, on every core), or of a session's
                     files (analysed by trawld); --top 0 lists every flow and address;
                     --table summary|flows|protocols|services|addresses|countries|timeline
                     (repeatable; with --csv one of those or files, default flows)

filter flags (one filter; use --file for several):
  --src CIDR|A-B     --dst CIDR|A-B      (repeatable)
  --sport P|A-B      --dport P|A-B       (repeatable)
  --proto NAME|NUM   (repeatable: tcp udp icmp icmpv6 sctp esp ah gre or 0-255)
  --tcp-flags MASK   (number, or names joined by '|': SYN|ACK)
  --one-way          (match source->destination only; default both directions)
  --tracing-flags N  (ESP=1 IKE=2 OpenVPN=8)
limit flags:
  --snap N  --max-bytes N  --max-packets N  --time-limit SECONDS
  --file-size N  --file-count N  --format pcap|pcapng

environment: TRAWL_SERVER (default http://127.0.0.1:9077), TRAWL_TOKEN, TRAWL_TOKEN_FILE
)";

struct Options {
    std::string server;
    std::string token;
    bool json_output = false;
    std::vector<std::string> args;
};

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr, "trawlctl: %s\n\n%s", message.c_str(), kUsage);
    std::exit(kExitUsage);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) usage_error("cannot read " + path + ": " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
}

// Prints the server's error and returns the exit status to use.
int report_failure(const HttpReply& r) {
    if (r.status == 0) {
        std::fprintf(stderr, "trawlctl: cannot reach trawld: %s\n", r.error.c_str());
        return kExitNoServer;
    }
    try {
        const json e = json::parse(r.body).at("error");
        std::string target = e.value("target", "");
        std::fprintf(stderr, "trawlctl: %s (HTTP %ld): %s%s\n", e.value("code", "Error").c_str(), r.status,
                     e.value("message", "").c_str(), target.empty() ? "" : (" [" + target + "]").c_str());
    } catch (const std::exception&) {
        std::fprintf(stderr, "trawlctl: HTTP %ld: %s\n", r.status, r.body.c_str());
    }
    return kExitError;
}

json call(const HttpClient& client, const std::string& method, const std::string& path, int& exit_code,
          const std::string& body = "") {
    const HttpReply r = client.request(method, path, body);
    if (r.status < 200 || r.status >= 300) {
        exit_code = report_failure(r);
        return nullptr;
    }
    exit_code = 0;
    try {
        return json::parse(r.body);
    } catch (const std::exception&) {
        return json(r.body);
    }
}

std::string text(const json& v) {
    if (v.is_null()) return "-";
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
}

std::string human_bytes(uint64_t b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(b);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

// A plain aligned table.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width(header.size());
    for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (size_t i = 0; i < cells.size(); ++i) {
            out += cells[i];
            if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size() + 2, ' ');
        }
        std::printf("%s\n", out.c_str());
    };
    line(header);
    for (const auto& r : rows) line(r);
}

uint64_t to_number(const std::string& flag, const std::string& v) {
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
        usage_error(flag + " needs a non-negative number, got '" + v + "'");
    return std::strtoull(v.c_str(), nullptr, 10);
}

uint64_t tcp_flag_mask(const std::string& v) {
    if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) return to_number("--tcp-flags", v);
    static const std::pair<const char*, int> names[] = {{"FIN", 1}, {"SYN", 2}, {"RST", 4}, {"PSH", 8},
                                                        {"ACK", 16}, {"URG", 32}, {"ECE", 64}, {"CWR", 128}};
    uint64_t mask = 0;
    std::stringstream ss(v);
    std::string part;
    while (std::getline(ss, part, '|')) {
        bool found = false;
        for (auto& c : part) c = char(std::toupper(static_cast<unsigned char>(c)));
        for (const auto& [n, bit] : names)
            if (part == n) {
                mask |= uint64_t(bit);
                found = true;
            }
        if (!found) usage_error("--tcp-flags: unknown flag '" + part + "'");
    }
    return mask;
}

// Builds the PUT body from --file and/or flags. Flags add one canonical filter and
// override top-level limits of the file.
json build_spec(const std::vector<std::string>& a, size_t start) {
    json spec = json::object();
    json filter = json::object();
    for (size_t i = start; i < a.size(); ++i) {
        const std::string& f = a[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= a.size()) usage_error(f + " needs a value");
            return a[++i];
        };
        auto push = [&](const char* key) { filter[key].push_back(value()); };
        if (f == "--file") {
            const std::string path = value();
            const std::string content = read_file(path);
            try {
                const bool is_json = trim(content).rfind('{', 0) == 0;
                json loaded = is_json ? json::parse(content) : trawl::control::yaml_to_json(content, path);
                if (!loaded.is_object()) usage_error(path + " must hold a JSON or YAML object");
                for (auto& [k, v] : loaded.items()) spec[k] = v;
            } catch (const json::exception& e) {
                usage_error(path + ": " + e.what());
            } catch (const trawl::control::FieldError& e) {
                usage_error(e.what());
            }
        } else if (f == "--src") push("sourceSubnets");
        else if (f == "--dst") push("destinationSubnets");
        else if (f == "--sport") push("sourcePorts");
        else if (f == "--dport") push("destinationPorts");
        else if (f == "--proto") push("protocols");
        else if (f == "--tcp-flags") filter["tcpFlags"] = tcp_flag_mask(value());
        else if (f == "--one-way") filter["bidirectional"] = false;
        else if (f == "--tracing-flags") spec["tracingFlags"] = to_number(f, value());
        else if (f == "--snap") spec["bytesToCapturePerPacket"] = to_number(f, value());
        else if (f == "--max-bytes") spec["totalBytesPerSession"] = to_number(f, value());
        else if (f == "--max-packets") spec["maxPackets"] = to_number(f, value());
        else if (f == "--time-limit") spec["timeLimitInSeconds"] = to_number(f, value());
        else if (f == "--file-size") spec["fileSizeInBytes"] = to_number(f, value());
        else if (f == "--file-count") spec["fileCount"] = to_number(f, value());
        else if (f == "--format") spec["format"] = value();
        else usage_error("create: unknown option " + f);
    }
    if (!filter.empty()) spec["filters"].push_back(filter);
    return spec;
}

// analyze: local files through the engine here, or a session through trawld (which
// answers 202 while a large analysis runs: poll until the result is there).
int analyze_command(const Options& o, const HttpClient& client) {
    std::vector<trawl::analysis::InputFile> files;
    std::string session;
    std::vector<std::string> tables;
    trawl::analysis::ReportOptions report;
    trawl::analysis::AnalyzeOptions engine;
    bool csv = false;
    uint64_t wait_seconds = 3600;
    const auto& a = o.args;
    for (size_t i = 1; i < a.size(); ++i) {
        const std::string& f = a[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= a.size()) usage_error(f + " needs a value");
            return a[++i];
        };
        if (f == "--session") session = value();
        else if (f == "--top") report.top = size_t(to_number(f, value()));
        else if (f == "--table") tables.push_back(value());
        else if (f == "--csv") csv = true;
        else if (f == "--threads") engine.threads = unsigned(to_number(f, value()));
        else if (f == "--chunk-bytes") engine.chunk_bytes = to_number(f, value());
        else if (f == "--wait") wait_seconds = to_number(f, value());
        else if (f.size() > 1 && f[0] == '-') usage_error("analyze: unknown option " + f);
        else files.push_back({f, f});
    }
    if (session.empty() == files.empty()) usage_error("analyze needs capture files or --session NAME (not both)");
    if (csv && tables.size() > 1) usage_error("analyze --csv prints one --table");
    const auto& known = trawl::analysis::report_sections();
    for (const auto& t : tables)
        if (std::find(known.begin(), known.end(), t) == known.end() && !(csv && t == "files"))
            usage_error("analyze: unknown --table " + t);

    json result;
    if (!session.empty()) {
        const std::string path = "/v1/captures/" + url_encode_segment(session) + "/analysis?top=" +
                                 std::to_string(report.top);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
        bool told = false;
        for (;;) {
            const HttpReply r = client.request("GET", path);
            if (r.status == 200) {
                try {
                    result = json::parse(r.body);
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "trawlctl: trawld answered something that is not JSON: %s\n", e.what());
                    return kExitError;
                }
                break;
            }
            if (r.status != 202) return report_failure(r);
            if (std::chrono::steady_clock::now() >= deadline) {
                std::fprintf(stderr, "trawlctl: the analysis of %s is still running after %llu s; ask again later\n",
                             session.c_str(), static_cast<unsigned long long>(wait_seconds));
                return kExitError;
            }
            if (!told) {
                std::fprintf(stderr, "trawlctl: trawld is analysing %s in the background; waiting\n", session.c_str());
                told = true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
    } else {
        const trawl::analysis::Analysis analysis = trawl::analysis::analyze(files, engine);
        result = trawl::analysis::to_json(analysis, report);
        bool any_read = false;
        for (const auto& f : analysis.files) any_read = any_read || f.error.empty() || f.records > 0;
        if (!any_read) {
            for (const auto& w : analysis.warnings) std::fprintf(stderr, "trawlctl: %s\n", w.c_str());
            return kExitError;
        }
    }
    if (o.json_output) {
        std::printf("%s\n", result.dump(2).c_str());
    } else if (csv) {
        std::printf("%s", trawl::analysis::render_csv(result, tables.empty() ? "flows" : tables[0]).c_str());
    } else {
        std::printf("%s", trawl::analysis::render_text(result, tables).c_str());
    }
    return 0;
}

void print_session(const json& s) {
    const json& d = s.value("droppedPackets", json::object());
    std::printf("name:          %s\n", text(s["name"]).c_str());
    std::printf("status:        %s\n", text(s["status"]).c_str());
    std::printf("stop reason:   %s\n", text(s["stopReason"]).c_str());
    std::printf("started:       %s\n", text(s["captureStartTime"]).c_str());
    std::printf("stopped:       %s\n", text(s["captureStopTime"]).c_str());
    std::printf("packets:       %s\n", text(s["packets"]).c_str());
    std::printf("bytes:         %s (%s)\n", text(s["bytes"]).c_str(), human_bytes(s.value("bytes", uint64_t(0))).c_str());
    std::printf("dropped:       ring full %s, write error %s\n", text(d.value("ringFull", json())).c_str(),
                text(d.value("writeError", json())).c_str());
    std::printf("files:         %s\n", text(s["files"]).c_str());
    for (const auto& e : s.value("errors", json::array()))
        std::printf("error:         %s: %s\n", text(e["code"]).c_str(), text(e["message"]).c_str());
    if (s.contains("ignoredFields") && !s["ignoredFields"].empty())
        std::printf("ignored:       %s\n", s["ignoredFields"].dump().c_str());
    std::printf("spec:          %s\n", s["spec"].dump(2).c_str());
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    const char* env_server = std::getenv("TRAWL_SERVER");
    o.server = env_server ? env_server : "http://127.0.0.1:9077";
    bool token_flag = false;  // --token or --token-file: the environment is not consulted
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--server" && i + 1 < argc) o.server = argv[++i];
        else if (a == "--token" && i + 1 < argc) {
            o.token = argv[++i];
            token_flag = true;
        } else if (a == "--token-file" && i + 1 < argc) {
            o.token = trim(read_file(argv[++i]));
            token_flag = true;
        } else if (a == "--json") {
            o.json_output = true;
        } else if (a == "-h" || a == "--help") {
            std::printf("%s", kUsage);
            return 0;
        } else {
            o.args.push_back(a);
        }
    }
    if (!token_flag) {
        if (const char* t = std::getenv("TRAWL_TOKEN")) o.token = t;
        else if (const char* tf = std::getenv("TRAWL_TOKEN_FILE")) o.token = trim(read_file(tf));
    }
    if (o.args.empty()) usage_error("a command is required");
    const HttpClient client(o.server, o.token);
    const std::string cmd = o.args[0];
    auto need = [&](size_t n, const char* what) {
        if (o.args.size() < n + 1) usage_error(cmd + " needs " + what);
    };
    auto session_path = [&](const std::string& name) { return "/v1/captures/" + url_encode_segment(name); };
    int rc = 0;

    if (cmd == "create") {
        need(1, "a session name");
        const json spec = build_spec(o.args, 2);
        const json s = call(client, "PUT", session_path(o.args[1]), rc, spec.dump());
        if (rc) return rc;
        if (o.json_output) std::printf("%s\n", s.dump(2).c_str());
        else print_session(s);
    } else if (cmd == "list") {
        const json list = call(client, "GET", "/v1/captures", rc);
        if (rc) return rc;
        if (o.json_output) {
            std::printf("%s\n", list.dump(2).c_str());
            return 0;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& s : list) {
            const json& d = s["droppedPackets"];
            rows.push_back({text(s["name"]), text(s["status"]), text(s["stopReason"]), text(s["packets"]),
                            human_bytes(s.value("bytes", uint64_t(0))),
                            std::to_string(d.value("ringFull", uint64_t(0)) + d.value("writeError", uint64_t(0))),
                            text(s["files"]), text(s["captureStartTime"])});
        }
        print_table({"NAME", "STATUS", "STOP REASON", "PACKETS", "BYTES", "DROPPED", "FILES", "STARTED"}, rows);
    } else if (cmd == "show" || cmd == "stop") {
        need(1, "a session name");
        json stop_body = json::object();
        for (size_t i = 2; i < o.args.size(); ++i) {
            if (cmd == "stop" && o.args[i] == "--sas-url" && i + 1 < o.args.size()) stop_body["sasUrl"] = o.args[++i];
            else usage_error(cmd + ": unknown option " + o.args[i]);
        }
        const json s = cmd == "show" ? call(client, "GET", session_path(o.args[1]), rc)
                                     : call(client, "POST", session_path(o.args[1]) + "/stop", rc, stop_body.dump());
        if (rc) return rc;
        if (o.json_output) std::printf("%s\n", s.dump(2).c_str());
        else print_session(s);
    } else if (cmd == "delete") {
        need(1, "a session name");
        bool purge = false;
        for (size_t i = 2; i < o.args.size(); ++i) {
            if (o.args[i] == "--purge") purge = true;
            else usage_error("delete: unknown option " + o.args[i]);
        }
        const json r = call(client, "DELETE", session_path(o.args[1]) + (purge ? "?purge=true" : ""), rc);
        if (rc) return rc;
        if (o.json_output) std::printf("%s\n", r.dump(2).c_str());
        else std::printf("deleted %s%s\n", o.args[1].c_str(), purge ? " and its files" : " (files kept)");
    } else if (cmd == "files") {
        need(1, "a session name");
        const json list = call(client, "GET", session_path(o.args[1]) + "/files", rc);
        if (rc) return rc;
        if (o.json_output) {
            std::printf("%s\n", list.dump(2).c_str());
            return 0;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& f : list) {
            // UPLOAD: the upload state, "-" without an upload target; "/remote" when the
            // file is only in storage (one word per column keeps the table easy to split).
            const json upload = f.value("upload", json());
            std::string upload_state = upload.is_object() ? text(upload["state"]) : "-";
            if (!f.value("local", true)) upload_state += "/remote";
            rows.push_back({text(f["name"]), text(f["bytes"]), text(f["packets"]), text(f["firstTimestamp"]),
                            text(f["lastTimestamp"]), upload_state, f.value("complete", false) ? "complete" : "writing"});
        }
        print_table({"FILE", "BYTES", "PACKETS", "FIRST", "LAST", "UPLOAD", "STATE"}, rows);
    } else if (cmd == "download") {
        need(2, "a session name and a file name");
        std::string out = o.args[2];
        for (size_t i = 3; i < o.args.size(); ++i) {
            if ((o.args[i] == "-o" || o.args[i] == "--output") && i + 1 < o.args.size()) out = o.args[++i];
            else usage_error("download: unknown option " + o.args[i]);
        }
        const HttpReply r = client.download(session_path(o.args[1]) + "/files/" + url_encode_segment(o.args[2]), out);
        if (r.local_error) {  // the output path, not the server: not "cannot reach trawld"
            std::fprintf(stderr, "trawlctl: %s\n", r.error.c_str());
            return kExitError;
        }
        if (r.status != 200 || !r.error.empty()) {
            if (r.status == 200) {
                std::fprintf(stderr, "trawlctl: %s\n", r.error.c_str());
                return kExitError;
            }
            return report_failure(r);
        }
        if (o.json_output) std::printf("%s\n", json{{"file", o.args[2]}, {"path", out}}.dump().c_str());
        else std::printf("saved %s\n", out.c_str());
    } else if (cmd == "ports") {
        const json list = call(client, "GET", "/v1/ports", rc);
        if (rc) return rc;
        if (o.json_output) {
            std::printf("%s\n", list.dump(2).c_str());
            return 0;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& p : list)
            rows.push_back({text(p["name"]), text(p["rxPackets"]), text(p["rxBytes"]), text(p["rxMissed"]),
                            text(p["rxNoMbuf"]), text(p["rxErrors"])});
        print_table({"PORT", "RX PACKETS", "RX BYTES", "MISSED", "NO MBUF", "ERRORS"}, rows);
    } else if (cmd == "analyze") {
        return analyze_command(o, client);
    } else if (cmd == "metrics") {
        const HttpReply r = client.request("GET", "/metrics");
        if (r.status != 200) return report_failure(r);
        std::printf("%s", r.body.c_str());
    } else {
        usage_error("unknown command '" + cmd + "'");
    }
    return 0;
}
