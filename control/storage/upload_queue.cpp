#include "control/storage/upload_queue.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include "control/wall_clock.hpp"

namespace trawl::control::storage {
namespace {

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

std::string seconds_text(uint64_t ns) {
    return std::to_string(ns / 1000000000ull) + " s";
}

}  // namespace

uint64_t backoff_delay_ms(unsigned failures, uint64_t initial_ms, uint64_t max_ms) {
    uint64_t delay = std::max<uint64_t>(initial_ms, 1);
    for (unsigned i = 1; i < failures && delay < max_ms; ++i) delay *= 2;
    return std::min(delay, max_ms);
}

uint64_t jittered_delay_ms(uint64_t delay_ms, double unit) {
    unit = std::clamp(unit, 0.0, 1.0);
    return delay_ms / 2 + uint64_t(double(delay_ms - delay_ms / 2) * unit);
}

UploadQueue::UploadQueue(UploadConfig config) : config_(std::move(config)) {
    init_http_client_library();
}

UploadQueue::~UploadQueue() { stop(); }

void UploadQueue::submit(UploadJob job) {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    auto same = std::find_if(waiting_.begin(), waiting_.end(), [&](const Entry& e) {
        return e.job.session == job.session && e.job.file == job.file;
    });
    if (same != waiting_.end()) {
        // A new target for a file still waiting (a stop with a sasUrl): start over there.
        *same = Entry{std::move(job), 0, 0, 0, {}};
    } else {
        waiting_.push_back(Entry{std::move(job), 0, 0, 0, {}});
    }
    if (!started_) {
        started_ = true;
        for (unsigned i = 0; i < std::max(1u, config_.threads); ++i) threads_.emplace_back([this, i] { run(i); });
    }
    wake_.notify_one();
}

void UploadQueue::cancel(const std::string& session, const std::string& file, bool skipped) {
    std::lock_guard lock(mutex_);
    const auto end = std::remove_if(waiting_.begin(), waiting_.end(), [&](const Entry& e) {
        return e.job.session == session && (file.empty() || e.job.file == file);
    });
    if (skipped) skipped_files_.fetch_add(uint64_t(waiting_.end() - end));
    waiting_.erase(end, waiting_.end());
}

void UploadQueue::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        stopping_ = true;
        waiting_.clear();
    }
    cancel_.store(true);
    wake_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

std::vector<UploadEvent> UploadQueue::take_events() {
    std::lock_guard lock(mutex_);
    std::vector<UploadEvent> out;
    out.swap(events_);
    return out;
}

UploadStats UploadQueue::stats() const {
    UploadStats s;
    {
        std::lock_guard lock(mutex_);
        s.queued = waiting_.size();
    }
    s.uploaded_bytes = uploaded_bytes_.load();
    s.uploaded_files = uploaded_files_.load();
    s.failed_files = failed_files_.load();
    s.skipped_files = skipped_files_.load();
    s.retries = retries_.load();
    s.attempts = attempts_.load();
    s.in_flight = in_flight_.load();
    s.busy_seconds = double(busy_ns_.load()) / 1e9;
    return s;
}

void UploadQueue::emit(UploadEvent ev) {
    ev.time_ns = wall_clock_ns();
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(ev));
}

void UploadQueue::run(unsigned index) {
    // Below the writers: an upload may wait, a writer must not.
    setpriority(PRIO_PROCESS, pid_t(syscall(SYS_gettid)), 10);
    pthread_setname_np(pthread_self(), ("trawl-upload-" + std::to_string(index)).c_str());
    BlobClient client(config_.blob, &cancel_);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        const uint64_t now = monotonic_ns();
        auto ready = waiting_.end();
        uint64_t earliest = UINT64_MAX;
        for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
            if (it->not_before_ns <= now) {
                ready = it;  // oldest ready first: files go up in the order they closed
                break;
            }
            earliest = std::min(earliest, it->not_before_ns);
        }
        if (ready == waiting_.end()) {
            if (earliest == UINT64_MAX) wake_.wait(lock);
            else wake_.wait_for(lock, std::chrono::nanoseconds(earliest - now));
            continue;
        }
        Entry entry = std::move(*ready);
        waiting_.erase(ready);
        in_flight_.fetch_add(1);
        lock.unlock();
        attempt(client, entry);
        lock.lock();
        in_flight_.fetch_sub(1);
    }
}

void UploadQueue::attempt(BlobClient& client, Entry& e) {
    const uint64_t start = monotonic_ns();
    if (e.first_attempt_ns == 0) e.first_attempt_ns = start;
    ++e.attempts;
    attempts_.fetch_add(1);
    if (e.attempts > 1) retries_.fetch_add(1);
    UploadEvent ev{UploadEvent::Kind::Started, e.job.session, e.job.file, e.job.generation, e.attempts};
    emit(ev);

    const int fd = ::open(e.job.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        skipped_files_.fetch_add(1);
        ev.kind = UploadEvent::Kind::Skipped;
        ev.message = "the local file was deleted (ring buffer or operator) before it could be uploaded";
        emit(ev);
        return;
    }
    BlobResult r;
    uint64_t size = 0;
    if (fd < 0) {
        r.code = "LocalReadFailed";
        r.message = std::string("cannot open the local file: ") + std::strerror(errno);
    } else {
        struct stat st {};
        ::fstat(fd, &st);
        size = uint64_t(st.st_size);
        r = client.upload(e.job.target, e.job.blob, fd, size, e.progress,
                          [this](uint64_t n) { uploaded_bytes_.fetch_add(n); });
        ::close(fd);
    }
    const uint64_t end = monotonic_ns();
    busy_ns_.fetch_add(end - start);
    if (r.ok) {
        uploaded_files_.fetch_add(1);
        ev.kind = UploadEvent::Kind::Uploaded;
        ev.bytes = size;
        emit(ev);
        return;
    }
    if (r.cancelled) return;  // stopping: the file stays pending in session.json

    const std::string where = e.job.target.blob_address(e.job.blob);
    if (r.retryable) {
        thread_local std::mt19937_64 random{std::random_device{}()};
        const uint64_t delay_ms = jittered_delay_ms(
            backoff_delay_ms(e.attempts, config_.retry_initial_ms, config_.retry_max_ms),
            std::uniform_real_distribution<double>(0.0, 1.0)(random));
        const uint64_t next = end + delay_ms * 1000000ull;
        if (next - e.first_attempt_ns <= config_.retry_deadline_s * 1000000000ull) {
            e.not_before_ns = next;
            ev.kind = UploadEvent::Kind::Retrying;
            ev.message = r.message;
            ev.next_attempt_ns = wall_clock_ns() + delay_ms * 1000000ull;
            emit(ev);
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            waiting_.push_back(std::move(e));
            wake_.notify_one();
            return;
        }
        failed_files_.fetch_add(1);
        ev.kind = UploadEvent::Kind::Failed;
        ev.message = "upload to " + where + " failed: " + r.message + " (gave up after " +
                     std::to_string(e.attempts) + " attempts in " + seconds_text(end - e.first_attempt_ns) +
                     ": storage.retry_deadline_seconds is " + std::to_string(config_.retry_deadline_s) + ")";
        emit(ev);
        return;
    }
    failed_files_.fetch_add(1);
    ev.kind = UploadEvent::Kind::Failed;
    ev.message = "upload to " + where + " failed: " + r.message;
    emit(ev);
}

}  // namespace trawl::control::storage
