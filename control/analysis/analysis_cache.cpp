#include "control/analysis/analysis_cache.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <thread>

namespace trawl::analysis {

struct AnalysisCache::Job {
    std::vector<FileStamp> key;
    uint64_t total_bytes = 0;
    std::atomic<bool> cancel{false};
    Progress progress;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::thread thread;
    // Under the cache's mutex:
    bool done = false;
    std::shared_ptr<const Analysis> result;  // complete (not cancelled) results only
    std::string error;
    std::string computed_at;
};

namespace {

std::string now_text() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return format_timestamp(int64_t(ts.tv_sec) * 1000000000ll + ts.tv_nsec);
}

}  // namespace

AnalysisCache::AnalysisCache() : AnalysisCache(Options{}) {}

AnalysisCache::AnalysisCache(Options options) : options_(options) {}

AnalysisCache::~AnalysisCache() {
    std::vector<std::shared_ptr<Job>> jobs;
    {
        std::lock_guard lock(mutex_);
        jobs.swap(jobs_);
        for (auto& j : jobs) j->cancel = true;
    }
    for (auto& j : jobs)
        if (j->thread.joinable()) j->thread.join();
}

void AnalysisCache::reap_locked() {
    for (size_t i = 0; i < jobs_.size();) {
        if (jobs_[i]->done) {
            // run() sets done as its last step: the join returns at once.
            if (jobs_[i]->thread.joinable()) jobs_[i]->thread.join();
            jobs_.erase(jobs_.begin() + long(i));
        } else {
            ++i;
        }
    }
}

void AnalysisCache::evict_locked() {
    while (entries_.size() > options_.max_sessions) {
        auto oldest = entries_.end();
        for (auto it = entries_.begin(); it != entries_.end(); ++it) {
            if (it->second.job && !it->second.job->done) continue;  // still needed by its job
            if (oldest == entries_.end() || it->second.last_used < oldest->second.last_used) oldest = it;
        }
        if (oldest == entries_.end()) return;
        entries_.erase(oldest);
    }
}

void AnalysisCache::run(std::shared_ptr<Job> job, std::string session) {
    // Capture comes first: this thread (and so the analysis with one thread) yields to it.
    ::setpriority(PRIO_PROCESS, id_t(::syscall(SYS_gettid)), options_.nice);
    std::shared_ptr<const Analysis> result;
    std::string error;
    try {
        std::vector<InputFile> inputs;
        for (const auto& f : job->key) inputs.push_back({f.path, f.name});
        AnalyzeOptions o;
        o.threads = options_.threads;
        o.cancel = &job->cancel;
        o.progress = &job->progress;
        result = std::make_shared<const Analysis>(analyze(inputs, o));
    } catch (const std::exception& e) {
        error = e.what();
    }
    std::lock_guard lock(mutex_);
    if (job->cancel) result.reset();  // partial: never served
    job->result = result;
    job->error = job->cancel ? "cancelled" : error;
    job->computed_at = now_text();
    job->done = true;
    auto it = entries_.find(session);
    if (it != entries_.end() && it->second.job == job && result) {
        it->second.key = job->key;
        it->second.result = result;
        it->second.computed_at = job->computed_at;
    }
    finished_.notify_all();
}

nlohmann::json AnalysisCache::running_body(const std::string& session, const Job& job) const {
    const uint64_t read = job.progress.file_bytes.load(std::memory_order_relaxed);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - job.started).count();
    return {{"status", "Running"},
            {"session", session},
            {"files", job.key.size()},
            {"totalBytes", job.total_bytes},
            {"progress",
             {{"records", job.progress.records.load(std::memory_order_relaxed)},
              {"bytesRead", read},
              {"fraction", job.total_bytes ? std::min(1.0, double(read) / double(job.total_bytes)) : 0.0}}},
            {"elapsedSeconds", elapsed},
            {"message", "the analysis is running in the background; ask again for the result"}};
}

CacheReply AnalysisCache::get(const std::string& session, const std::vector<CaptureFileRef>& files,
                              const ReportOptions& report, bool wait) {
    // Stamps outside the lock: a file removed since it was listed (a ring buffer moved
    // on) is left out, and the next request sees the new list anyway.
    std::vector<FileStamp> key;
    uint64_t total = 0;
    for (const auto& f : files) {
        struct stat st {};
        if (::stat(f.path.c_str(), &st) != 0) continue;
        key.push_back({f.path, f.name, uint64_t(st.st_size),
                       int64_t(st.st_mtim.tv_sec) * 1000000000ll + st.st_mtim.tv_nsec});
        total += uint64_t(st.st_size);
    }

    std::unique_lock lock(mutex_);
    reap_locked();
    Entry& entry = entries_[session];
    entry.last_used = ++clock_;
    std::shared_ptr<const Analysis> result;
    std::string computed_at;
    const bool cached = entry.result && entry.key == key;
    if (cached) {
        result = entry.result;
        computed_at = entry.computed_at;
    } else {
        std::shared_ptr<Job> job = entry.job;
        if (job && job->key == key && job->done && !job->result && !job->cancel) {
            // Failed (not cancelled): say so once; the next request tries again.
            entry.job.reset();
            return {500, {{"error", {{"code", "InternalError"},
                                     {"message", "the analysis failed: " + job->error},
                                     {"target", "analysis"}}}}};
        }
        if (!job || !(job->key == key) || (job->done && !job->result)) {
            if (job && !job->done) job->cancel = true;  // its files changed since
            job = std::make_shared<Job>();
            job->key = key;
            job->total_bytes = total;
            entry.job = job;
            jobs_.push_back(job);
            job->thread = std::thread(&AnalysisCache::run, this, job, session);
        }
        // `entry` may be gone after the wait (forget, eviction): only `job` is used below.
        if (wait && total <= options_.wait_bytes)
            finished_.wait_for(lock, std::chrono::seconds(60), [&] { return job->done; });
        if (!job->done) {
            CacheReply r{202, running_body(session, *job)};
            evict_locked();
            return r;
        }
        if (!job->result) {
            CacheReply r{500, {{"error", {{"code", "InternalError"},
                                          {"message", "the analysis failed: " + job->error},
                                          {"target", "analysis"}}}}};
            evict_locked();
            return r;
        }
        result = job->result;
        computed_at = job->computed_at;
    }
    evict_locked();
    lock.unlock();

    // Rendering (sorting is done; this formats the top rows) needs no lock.
    nlohmann::json body = to_json(*result, report);
    body["engine"]["cached"] = cached;
    body["engine"]["computedAt"] = computed_at;
    return {200, std::move(body)};
}

void AnalysisCache::forget(const std::string& session) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(session);
    if (it == entries_.end()) return;
    if (it->second.job && !it->second.job->done) it->second.job->cancel = true;
    entries_.erase(it);
}

}  // namespace trawl::analysis
