// Analyses of sessions' files for GET /v1/captures/{name}/analysis: computed once per
// set of files, in the background, and kept until the session's files change.
//
// The key of a result is the list of the session's complete files with their sizes and
// modification times: a new file, a rotated-out file or a file that grew gives a new key
// and a new analysis. A request for a key being computed gets 202 with the progress; a
// request for small inputs (up to `wait_bytes`) waits for its result instead, so small
// sessions answer 200 at once. Each computation runs on its own thread at a lower
// priority (nice 10) with `threads` TBB threads: capture keeps its cores. Nothing here is
// called with the session manager's lock held, and no lock is held while analysing.
#pragma once

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/analysis/analyzer.hpp"
#include "control/analysis/report.hpp"

namespace trawl::analysis {

struct CaptureFileRef {
    std::string path;
    std::string name;  // shown in the report (the file name inside the session)
};

struct CacheReply {
    int status = 200;  // 200 result, 202 running, 500 the analysis failed
    nlohmann::json body;
};

class AnalysisCache {
public:
    struct Options {
        unsigned threads = 1;
        uint64_t wait_bytes = 64ull << 20;
        size_t max_sessions = 16;  // results kept; the least recently asked for goes first
        int nice = 10;
    };

    AnalysisCache();
    explicit AnalysisCache(Options options);
    ~AnalysisCache();  // cancels running analyses and waits for their threads
    AnalysisCache(const AnalysisCache&) = delete;
    AnalysisCache& operator=(const AnalysisCache&) = delete;

    // The analysis of `files` for `session`: 200 with the report JSON, 202 with
    // {"status":"Running",...} while it is computed, or 500. `wait`: false never waits,
    // even for small inputs (the client polls).
    CacheReply get(const std::string& session, const std::vector<CaptureFileRef>& files,
                   const ReportOptions& report, bool wait = true);

    // The session is gone: cancel its analysis and drop its result.
    void forget(const std::string& session);

private:
    struct FileStamp {
        std::string path, name;
        uint64_t size = 0;
        int64_t mtime_ns = 0;
        bool operator==(const FileStamp& o) const {
            return path == o.path && name == o.name && size == o.size && mtime_ns == o.mtime_ns;
        }
    };
    struct Job;
    struct Entry {
        std::vector<FileStamp> key;  // of `result`
        std::shared_ptr<const Analysis> result;
        std::string computed_at;
        std::shared_ptr<Job> job;  // the latest analysis started for this session
        uint64_t last_used = 0;
    };

    void run(std::shared_ptr<Job> job, std::string session);
    void reap_locked();
    void evict_locked();
    nlohmann::json running_body(const std::string& session, const Job& job) const;

    const Options options_;
    std::mutex mutex_;
    std::condition_variable finished_;
    std::map<std::string, Entry> entries_;
    std::vector<std::shared_ptr<Job>> jobs_;  // started, not yet joined
    uint64_t clock_ = 0;
};

}  // namespace trawl::analysis
