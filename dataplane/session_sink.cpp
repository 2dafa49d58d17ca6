#include "dataplane/session_sink.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace trawl::dataplane {

SessionSink::SessionSink(SinkSpec spec)
    : spec_(std::move(spec)),
      snap_(spec_.snap_length == 0 || spec_.snap_length > kMaxCapturedLength ? kMaxCapturedLength
                                                                           : spec_.snap_length),
      next_index_(spec_.first_file_index) {
    layout_.format = spec_.format;
    layout_.snap_length = snap_;
    layout_.interface_names = spec_.interface_names;
    layout_.comment = spec_.session;
    for (const auto& f : spec_.existing_files) complete_files_.push_back(f);
    packets_.store(spec_.packets_before, std::memory_order_relaxed);
    bytes_.store(spec_.bytes_before, std::memory_order_relaxed);
    // Resumed with a limit already reached (it was hit just before a crash): not one
    // more packet, and no new file.
    if (spec_.max_packets != 0 && packets() >= spec_.max_packets) {
        stop(StopReason::PacketLimitExceeded);
        return;
    }
    if (spec_.max_bytes != 0 && bytes() >= spec_.max_bytes) {
        stop(StopReason::TotalBytesExceeded);
        return;
    }
    if (!open_next_file()) throw std::system_error(EIO, std::generic_category(), error_message_);
}

SessionSink::~SessionSink() {
    if (running()) stop(StopReason::ServiceStopped);
}

bool SessionSink::open_next_file() {
    const std::string name = capture_file_name(spec_.session, next_index_, spec_.format);
    const std::string final_path = spec_.directory + "/" + name;
    const std::string partial_path = spec_.directory + "/" + partial_file_name(name);
    try {
        current_ = std::make_unique<CaptureFile>(partial_path, final_path, layout_,
                                                 spec_.buffer_bytes, spec_.write_stats);
    } catch (const std::system_error& e) {
        current_.reset();
        fail(std::string("cannot create capture file: ") + e.what());
        return false;
    }
    ++next_index_;
    // The ring buffer counts the file being written: keep at most file_count in all.
    enforce_file_count();
    update_status();
    return true;
}

void SessionSink::enforce_file_count() {
    if (spec_.file_count == 0) return;
    const uint64_t open = current_ ? 1 : 0;
    while (!complete_files_.empty() && complete_files_.size() + open > spec_.file_count) {
        const std::string name = complete_files_.front();
        complete_files_.pop_front();
        const std::string path = spec_.directory + "/" + name;
        // A file already removed by the operator is not an error.
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) continue;
        SinkEvent ev{SinkEvent::Kind::FileDeleted, {}, StopReason::None, {}};
        ev.file.name = name;
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(ev));
    }
}

bool SessionSink::flush_current() {
    if (!current_) return false;
    if (current_->flush()) {
        pending_packets_ = 0;
        pending_bytes_ = 0;
        update_status();
        return true;
    }
    fail("writing capture file failed: " + current_->error());
    return false;
}

void SessionSink::publish_current() {
    if (!current_) return;
    const bool flushed = current_->flush();
    if (flushed) {
        pending_packets_ = 0;
        pending_bytes_ = 0;
    }
    const bool ok = current_->publish();
    // complete is true once the rename to the final name succeeded, even if a write
    // failed before it: the file is then visible (and valid up to its last record).
    SinkEvent ev{SinkEvent::Kind::FileClosed, current_->committed_info(), StopReason::None, {}};
    if (ev.file.complete) complete_files_.push_back(ev.file.name);
    const std::string error = current_->error();
    current_.reset();
    {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(ev));
    }
    if (!ok || !flushed) fail("closing capture file failed: " + error);
    update_status();
}

void SessionSink::fail(const std::string& message) {
    if (reason_ != StopReason::None && reason_ != StopReason::Error) return;
    const bool first = reason_ == StopReason::None;
    reason_ = StopReason::Error;
    if (first) error_message_ = message;
    // What was appended since the last good flush never reached the disk.
    if (pending_packets_ != 0) {
        packets_.store(packets() - pending_packets_, std::memory_order_relaxed);
        bytes_.store(bytes() - pending_bytes_, std::memory_order_relaxed);
        write_error_drops_.store(write_error_drops() + pending_packets_,
                                 std::memory_order_relaxed);
        pending_packets_ = 0;
        pending_bytes_ = 0;
    }
    if (current_) {
        // Keep what did reach the disk: it is valid up to its last whole record.
        auto file = std::move(current_);
        file->publish();
        // complete is true only if the rename to the final name succeeded.
        SinkEvent closed{SinkEvent::Kind::FileClosed, file->committed_info(), StopReason::None,
                         {}};
        if (closed.file.complete) complete_files_.push_back(closed.file.name);
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(closed));
    }
    if (first) {
        std::lock_guard lock(mutex_);
        events_.push_back({SinkEvent::Kind::Stopped, {}, StopReason::Error, message});
    }
    update_status();
}

void SessionSink::write(uint64_t now_ns, uint64_t timestamp_ns, uint32_t original_length,
                        uint32_t interface_index, const ByteSpan* spans, size_t span_count) {
    if (reason_ == StopReason::None && spec_.deadline_ns != 0 && now_ns >= spec_.deadline_ns)
        stop(StopReason::TimeExceeded);
    if (reason_ != StopReason::None) {
        if (reason_ == StopReason::Error)
            write_error_drops_.store(write_error_drops() + 1, std::memory_order_relaxed);
        else
            discarded_.store(discarded_after_stop() + 1, std::memory_order_relaxed);
        return;
    }
    uint64_t present = 0;
    for (size_t i = 0; i < span_count; ++i) present += spans[i].length;
    uint32_t captured = original_length < snap_ ? original_length : snap_;
    if (present < captured) captured = uint32_t(present);
    if (spec_.max_bytes != 0 && bytes() + captured > spec_.max_bytes) {
        // The packet that would cross the limit is not written (DESIGN §2.1).
        discarded_.store(discarded_after_stop() + 1, std::memory_order_relaxed);
        stop(StopReason::TotalBytesExceeded);
        return;
    }
    const uint32_t size = record_size(spec_.format, captured);
    // Rotate before a record would make the file larger than the limit. A record that
    // does not fit even an empty file is written alone into its own file.
    if (spec_.file_size_limit != 0 && current_->size() + size > spec_.file_size_limit &&
        current_->info().packets != 0) {
        publish_current();
        if (reason_ != StopReason::None || !open_next_file()) {
            write_error_drops_.store(write_error_drops() + 1, std::memory_order_relaxed);
            return;
        }
    }
    if (!current_->has_room(size) && !flush_current()) {
        write_error_drops_.store(write_error_drops() + 1, std::memory_order_relaxed);
        return;
    }
    RecordMeta meta;
    meta.timestamp_ns = timestamp_ns;
    meta.original_length = original_length;
    meta.captured_length = captured;
    meta.interface_index = interface_index;
    current_->append(meta, spans, span_count);
    if (pending_packets_ == 0) last_flush_ns_ = now_ns;  // age of the oldest buffered record
    ++pending_packets_;
    pending_bytes_ += captured;
    packets_.store(packets() + 1, std::memory_order_relaxed);
    bytes_.store(bytes() + captured, std::memory_order_relaxed);
    if (spec_.max_packets != 0 && packets() >= spec_.max_packets)
        stop(StopReason::PacketLimitExceeded);
    else if (spec_.max_bytes != 0 && bytes() >= spec_.max_bytes)
        stop(StopReason::TotalBytesExceeded);
}

void SessionSink::tick(uint64_t now_ns) {
    if (reason_ != StopReason::None) return;
    if (spec_.deadline_ns != 0 && now_ns >= spec_.deadline_ns) {
        stop(StopReason::TimeExceeded);
        return;
    }
    if (current_ && current_->has_buffered() && now_ns - last_flush_ns_ >= spec_.flush_interval_ns)
        flush_current();
}

void SessionSink::stop(StopReason reason) {
    if (reason_ != StopReason::None) return;
    publish_current();
    if (reason_ != StopReason::None) return;  // publishing failed: already in Error
    reason_ = reason;
    std::lock_guard lock(mutex_);
    events_.push_back({SinkEvent::Kind::Stopped, {}, reason, {}});
    status_.has_current_file = false;
}

void SessionSink::update_status() {
    std::lock_guard lock(mutex_);
    status_.has_current_file = current_ != nullptr;
    if (current_) status_.current_file = current_->committed_info();
}

SinkStatus SessionSink::status() const {
    std::lock_guard lock(mutex_);
    return status_;
}

std::vector<SinkEvent> SessionSink::take_events() {
    std::lock_guard lock(mutex_);
    std::vector<SinkEvent> out;
    out.swap(events_);
    return out;
}

}  // namespace trawl::dataplane
