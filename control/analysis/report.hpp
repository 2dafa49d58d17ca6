// What an analysis looks like to its readers. One JSON document — the same from
// `trawlctl analyze --json` and from GET /v1/captures/{name}/analysis — and two renderings
// of that JSON: aligned tables for people and CSV for spreadsheets. Rendering works on the
// JSON, so trawlctl prints a server's answer exactly as it prints a local analysis.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "control/analysis/analyzer.hpp"

namespace trawl::analysis {

struct ReportOptions {
    // Flows and addresses listed (the largest first); 0: all. Totals always cover all.
    size_t top = 25;
};

nlohmann::json to_json(const Analysis& analysis, const ReportOptions& options = {});

// The sections of the text report, in the order printed.
inline const std::vector<std::string>& report_sections() {
    static const std::vector<std::string> sections = {"summary",   "flows",     "protocols", "services",
                                                      "addresses", "countries", "timeline"};
    return sections;
}

// Tables for people; `sections` empty: all of them. Throws std::invalid_argument for an
// unknown section name.
std::string render_text(const nlohmann::json& report, const std::vector<std::string>& sections = {});

// One table as CSV (a header line, then one line per row): "flows", "protocols",
// "services", "addresses", "countries", "timeline" or "files". Throws
// std::invalid_argument for other names.
std::string render_csv(const nlohmann::json& report, const std::string& table);

// RFC 3339 UTC with nanoseconds, as the rest of the API writes times.
std::string format_timestamp(int64_t ns);

// "SYN|ACK|FIN" in bit order; "" for none.
std::string tcp_flag_names(uint8_t flags);

}  // namespace trawl::analysis
