#include "control/analysis/timeline.hpp"

#include <algorithm>

namespace trawl::analysis {
namespace {

int64_t floor_div(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

const std::vector<int64_t>& Timeline::ladder() {
    constexpr int64_t us = 1000, ms = 1000 * us, s = 1000 * ms;
    static const std::vector<int64_t> widths = {
        us,         2 * us,      10 * us,     20 * us,     100 * us,    200 * us,     ms,
        2 * ms,     10 * ms,     20 * ms,     100 * ms,    200 * ms,    s,            2 * s,
        10 * s,     20 * s,      60 * s,      300 * s,     900 * s,     1800 * s,     3600 * s,
        7200 * s,   21600 * s,   43200 * s,   86400 * s,   604800 * s,  2419200 * s,  31449600 * s,
    };
    return widths;
}

Timeline& Timeline::operator=(const Timeline& o) {
    if (this == &o) return *this;
    level_ = o.level_;
    first_index_ = o.first_index_;
    counts_ = o.counts_;
    min_ns_ = o.min_ns_;
    max_ns_ = o.max_ns_;
    current_ = nullptr;  // points into o's buffer: found again on the next add
    return *this;
}

Timeline& Timeline::operator=(Timeline&& o) noexcept {
    level_ = o.level_;
    first_index_ = o.first_index_;
    counts_ = std::move(o.counts_);
    min_ns_ = o.min_ns_;
    max_ns_ = o.max_ns_;
    current_ = nullptr;
    o.counts_.clear();
    o.current_ = nullptr;
    return *this;
}

int64_t Timeline::span_at(size_t level) const {
    const int64_t w = ladder()[level];
    return floor_div(max_ns_, w) - floor_div(min_ns_, w) + 1;
}

int64_t Timeline::rebinned(size_t level, std::vector<Counts>& out) const {
    const int64_t ratio = ladder()[level] / width();
    const int64_t first = floor_div(first_index_, ratio);
    const int64_t last = floor_div(first_index_ + int64_t(counts_.size()) - 1, ratio);
    out.assign(size_t(last - first + 1), Counts{});
    for (size_t i = 0; i < counts_.size(); ++i) {
        Counts& c = out[size_t(floor_div(first_index_ + int64_t(i), ratio) - first)];
        c.packets += counts_[i].packets;
        c.bytes += counts_[i].bytes;
    }
    return first;
}

void Timeline::coarsen_to(size_t level) {
    if (level <= level_) return;
    std::vector<Counts> out;
    first_index_ = rebinned(level, out);
    counts_ = std::move(out);
    level_ = level;
    current_ = nullptr;
}

void Timeline::add_slow(int64_t ns, uint64_t bytes) {
    if (counts_.empty()) {
        level_ = 0;
        min_ns_ = max_ns_ = ns;
        first_index_ = floor_div(ns, width());
        counts_.assign(1, Counts{});
    } else {
        min_ns_ = std::min(min_ns_, ns);
        max_ns_ = std::max(max_ns_, ns);
        size_t level = level_;
        while (level + 1 < ladder().size() && span_at(level) > int64_t(kWorkingBuckets)) ++level;
        coarsen_to(level);
        const int64_t index = floor_div(ns, width());
        if (index < first_index_) {
            counts_.insert(counts_.begin(), size_t(first_index_ - index), Counts{});
            first_index_ = index;
        } else if (index >= first_index_ + int64_t(counts_.size())) {
            counts_.resize(size_t(index - first_index_ + 1));
        }
    }
    const int64_t index = floor_div(ns, width());
    current_ = &counts_[size_t(index - first_index_)];
    current_start_ = index * width();
    current_end_ = current_start_ + width();
    current_->packets += 1;
    current_->bytes += bytes;
}

void Timeline::merge(const Timeline& other) {
    if (other.counts_.empty()) return;
    if (counts_.empty()) {
        *this = other;
        return;
    }
    min_ns_ = std::min(min_ns_, other.min_ns_);
    max_ns_ = std::max(max_ns_, other.max_ns_);
    size_t level = std::max(level_, other.level_);
    while (level + 1 < ladder().size() && span_at(level) > int64_t(kWorkingBuckets)) ++level;
    coarsen_to(level);
    std::vector<Counts> theirs;
    const int64_t their_first = other.rebinned(level, theirs);
    const int64_t first = std::min(first_index_, their_first);
    const int64_t last = std::max(first_index_ + int64_t(counts_.size()), their_first + int64_t(theirs.size()));
    std::vector<Counts> out(size_t(last - first));
    for (size_t i = 0; i < counts_.size(); ++i) out[size_t(first_index_ - first) + i] = counts_[i];
    for (size_t i = 0; i < theirs.size(); ++i) {
        Counts& c = out[size_t(their_first - first) + i];
        c.packets += theirs[i].packets;
        c.bytes += theirs[i].bytes;
    }
    counts_ = std::move(out);
    first_index_ = first;
    current_ = nullptr;
}

int64_t Timeline::width_ns(size_t max_buckets) const {
    if (counts_.empty()) return 0;
    size_t level = level_;
    while (level + 1 < ladder().size() && span_at(level) > int64_t(max_buckets)) ++level;
    return ladder()[level];
}

std::vector<Timeline::Bucket> Timeline::buckets(size_t max_buckets) const {
    std::vector<Bucket> out;
    if (counts_.empty()) return out;
    size_t level = level_;
    while (level + 1 < ladder().size() && span_at(level) > int64_t(max_buckets)) ++level;
    std::vector<Counts> counts;
    const int64_t first = rebinned(level, counts);
    const int64_t w = ladder()[level];
    const int64_t lo = floor_div(min_ns_, w), hi = floor_div(max_ns_, w);
    for (int64_t i = lo; i <= hi; ++i) {
        const Counts& c = counts[size_t(i - first)];
        out.push_back({i * w, c.packets, c.bytes});
    }
    return out;
}

}  // namespace trawl::analysis
