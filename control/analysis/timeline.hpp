// Packets and bytes per time interval, with the interval chosen from the capture's span.
//
// Intervals come from one ladder in which every width divides the next (1 µs, 2 µs,
// 10 µs, ... 1 s, 2 s, 10 s, 20 s, 1 min, 5 min, ... 1 day, 7 days, 28 days, 364 days)
// and buckets are aligned to multiples of their width since the epoch, so a fine
// timeline re-bins exactly into a coarser one. Each thread keeps a dense timeline at the
// finest width that spans its packets in at most kWorkingBuckets buckets; partial
// timelines merge at the coarser of their widths; the report re-bins to the finest width
// that shows the whole capture in at most kReportBuckets buckets. The result depends on
// the timestamps only, never on how the input was split between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace trawl::analysis {

class Timeline {
public:
    static constexpr size_t kWorkingBuckets = 4096;
    static constexpr size_t kReportBuckets = 100;

    struct Bucket {
        int64_t start_ns = 0;
        uint64_t packets = 0;
        uint64_t bytes = 0;
    };

    // Hot: one compare against the current bucket for packets in time order.
    void add(int64_t ns, uint64_t bytes) {
        if (current_ && ns >= current_start_ && ns < current_end_) {
            current_->packets += 1;
            current_->bytes += bytes;
            min_ns_ = ns < min_ns_ ? ns : min_ns_;
            max_ns_ = ns > max_ns_ ? ns : max_ns_;
            return;
        }
        add_slow(ns, bytes);
    }

    Timeline() = default;
    Timeline(const Timeline& o) { *this = o; }
    Timeline& operator=(const Timeline& o);
    Timeline(Timeline&& o) noexcept { *this = std::move(o); }
    Timeline& operator=(Timeline&& o) noexcept;

    void merge(const Timeline& other);
    bool empty() const { return counts_.empty(); }
    int64_t min_ns() const { return min_ns_; }  // earliest timestamp added (when not empty)
    int64_t max_ns() const { return max_ns_; }

    // Re-binned to the finest ladder width that spans every packet in at most
    // `max_buckets` buckets; empty buckets included, so the list is a continuous series.
    std::vector<Bucket> buckets(size_t max_buckets = kReportBuckets) const;
    // The width `buckets(max_buckets)` uses (0 when there are no packets).
    int64_t width_ns(size_t max_buckets = kReportBuckets) const;

    static const std::vector<int64_t>& ladder();

private:
    struct Counts {
        uint64_t packets = 0;
        uint64_t bytes = 0;
    };
    void add_slow(int64_t ns, uint64_t bytes);
    // Buckets from min_ns_ to max_ns_ at a ladder level.
    int64_t span_at(size_t level) const;
    // counts_ re-binned at a coarser (or equal) level; returns its first index.
    int64_t rebinned(size_t level, std::vector<Counts>& out) const;
    void coarsen_to(size_t level);
    int64_t width() const { return ladder()[level_]; }

    size_t level_ = 0;
    int64_t first_index_ = 0;     // bucket index (ns / width) of counts_[0]
    std::vector<Counts> counts_;  // dense from first_index_
    int64_t min_ns_ = 0, max_ns_ = 0;
    // The bucket of the previous packet.
    Counts* current_ = nullptr;
    int64_t current_start_ = 0, current_end_ = 0;
};

}  // namespace trawl::analysis
