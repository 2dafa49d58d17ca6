#include "control/session.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace trawl::control {

using dataplane::FileInfo;
using dataplane::StopReason;

const char* status_name(SessionStatus s) {
    switch (s) {
    case SessionStatus::NotStarted: return "NotStarted";
    case SessionStatus::Running: return "Running";
    case SessionStatus::Stopped: return "Stopped";
    case SessionStatus::Error: return "Error";
    }
    return "Error";
}

std::optional<SessionStatus> parse_status(const std::string& s) {
    for (auto st : {SessionStatus::NotStarted, SessionStatus::Running, SessionStatus::Stopped,
                    SessionStatus::Error})
        if (s == status_name(st)) return st;
    return std::nullopt;
}

const char* stop_reason_name(StopReason r) {
    switch (r) {
    case StopReason::ManuallyStopped: return "ManuallyStopped";
    case StopReason::TimeExceeded: return "TimeExceeded";
    case StopReason::TotalBytesExceeded: return "TotalBytesExceeded";
    case StopReason::PacketLimitExceeded: return "PacketLimitExceeded";
    case StopReason::ServiceStopped: return "ServiceStopped";
    case StopReason::None:
    case StopReason::Error: return nullptr;
    }
    return nullptr;
}

std::optional<StopReason> parse_stop_reason(const std::string& s) {
    for (auto r : {StopReason::ManuallyStopped, StopReason::TimeExceeded, StopReason::TotalBytesExceeded,
                   StopReason::PacketLimitExceeded, StopReason::ServiceStopped})
        if (s == stop_reason_name(r)) return r;
    return std::nullopt;
}

const char* upload_state_name(UploadState s) {
    switch (s) {
    case UploadState::Pending: return "pending";
    case UploadState::Uploading: return "uploading";
    case UploadState::Uploaded: return "uploaded";
    case UploadState::Failed: return "failed";
    }
    return "pending";
}

std::string format_time_ns(uint64_t ns) {
    const time_t secs = time_t(ns / 1000000000ull);
    tm t{};
    gmtime_r(&secs, &t);
    char buf[64];
    const size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
    std::snprintf(buf + n, sizeof buf - n, ".%09lluZ", static_cast<unsigned long long>(ns % 1000000000ull));
    return buf;
}

std::optional<uint64_t> parse_time_ns(const std::string& s) {
    tm t{};
    const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
    if (!rest) return std::nullopt;
    uint64_t frac = 0;
    int digits = 0;
    if (*rest == '.') {
        ++rest;
        while (*rest >= '0' && *rest <= '9' && digits < 9) {
            frac = frac * 10 + uint64_t(*rest++ - '0');
            ++digits;
        }
        while (*rest >= '0' && *rest <= '9') ++rest;
    }
    if (std::strcmp(rest, "Z") != 0) return std::nullopt;
    while (digits++ < 9) frac *= 10;
    const time_t secs = timegm(&t);
    if (secs < 0) return std::nullopt;
    return uint64_t(secs) * 1000000000ull + frac;
}

namespace {

nlohmann::json file_to_json(const FileInfo& f) {
    return {{"name", f.name},
            {"bytes", f.bytes},
            {"packets", f.packets},
            {"capturedBytes", f.captured_bytes},
            {"firstTimestampNs", f.first_timestamp_ns},
            {"lastTimestampNs", f.last_timestamp_ns}};
}

FileInfo file_from_json(const nlohmann::json& j) {
    FileInfo f;
    f.name = j.at("name").get<std::string>();
    f.bytes = j.at("bytes").get<uint64_t>();
    f.packets = j.at("packets").get<uint64_t>();
    f.captured_bytes = j.value("capturedBytes", uint64_t(0));
    f.first_timestamp_ns = j.value("firstTimestampNs", uint64_t(0));
    f.last_timestamp_ns = j.value("lastTimestampNs", uint64_t(0));
    f.complete = true;
    return f;
}

bool fsync_dir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

nlohmann::json Session::to_persisted_json() const {
    nlohmann::json files_json = nlohmann::json::array();
    for (const auto& f : files) files_json.push_back(file_to_json(f));
    nlohmann::json errors_json = nlohmann::json::array();
    for (const auto& e : errors)
        errors_json.push_back({{"code", e.code}, {"message", e.message}, {"timeNs", e.time_ns}});
    const char* reason = stop_reason_name(stop_reason);
    nlohmann::json uploads_json = nlohmann::json::object();
    for (const auto& [file, u] : uploads)
        uploads_json[file] = {{"state", upload_state_name(u.state == UploadState::Uploading ? UploadState::Pending
                                                                                                : u.state)},
                              {"attempts", u.attempts},
                              {"lastError", u.last_error},
                              {"uploadedNs", u.uploaded_ns}};
    nlohmann::json remote_json = nlohmann::json::array();
    for (const auto& f : remote_files) remote_json.push_back(file_to_json(f));
    nlohmann::json target = nullptr;
    if (upload_target)
        target = {{"uploadUrl", upload_target->upload_url},
                  {"deleteLocalAfterUpload", upload_target->delete_local_after_upload}};
    return {{"version", 1},
            {"name", name},
            {"spec", persisted_spec_json(spec)},
            {"uploadTarget", target},
            {"uploads", uploads_json},
            {"remoteFiles", remote_json},
            {"dialect", dialect},
            {"status", status_name(status)},
            {"stopReason", reason ? nlohmann::json(reason) : nlohmann::json(nullptr)},
            {"startNs", start_ns},
            {"stopNs", stop_ns},
            {"closedPackets", closed_packets},
            {"closedBytes", closed_bytes},
            {"ringFull", ring_full},
            {"writeError", write_error},
            {"discardedAfterStop", discarded_after_stop},
            {"errors", errors_json},
            {"files", files_json},
            {"nextFileIndex", next_file_index},
            {"firstFileIndex", first_file_index}};
}

Session session_from_persisted_json(const nlohmann::json& j, const SpecDefaults& defaults,
                                    const SpecLimits& limits) {
    Session s;
    try {
        if (j.value("version", 0) != 1) throw std::runtime_error("unsupported version");
        s.name = j.at("name").get<std::string>();
        if (!is_valid_session_name(s.name)) throw std::runtime_error("invalid session name");
        // The stored spec is canonical and complete; limits are those of today's config
        // only for what the parser checks, so a session accepted then is accepted now.
        SpecLimits relaxed = limits;
        relaxed.max_rules_per_session = UINT64_MAX;
        relaxed.max_filters = UINT64_MAX;
        relaxed.max_list_items = UINT64_MAX;
        s.spec = parse_session_body(j.at("spec"), defaults, relaxed).spec;
        s.dialect = j.value("dialect", std::string("canonical"));
        const auto status = parse_status(j.at("status").get<std::string>());
        if (!status) throw std::runtime_error("unknown status");
        s.status = *status;
        if (j.contains("stopReason") && j["stopReason"].is_string()) {
            const auto r = parse_stop_reason(j["stopReason"].get<std::string>());
            if (!r) throw std::runtime_error("unknown stopReason");
            s.stop_reason = *r;
        } else if (s.status == SessionStatus::Error) {
            s.stop_reason = StopReason::Error;
        }
        s.start_ns = j.value("startNs", uint64_t(0));
        s.stop_ns = j.value("stopNs", uint64_t(0));
        s.closed_packets = j.value("closedPackets", uint64_t(0));
        s.closed_bytes = j.value("closedBytes", uint64_t(0));
        s.ring_full = j.value("ringFull", uint64_t(0));
        s.write_error = j.value("writeError", uint64_t(0));
        s.discarded_after_stop = j.value("discardedAfterStop", uint64_t(0));
        for (const auto& e : j.value("errors", nlohmann::json::array()))
            s.errors.push_back({e.at("code").get<std::string>(), e.at("message").get<std::string>(),
                                e.value("timeNs", uint64_t(0))});
        for (const auto& f : j.value("files", nlohmann::json::array())) s.files.push_back(file_from_json(f));
        if (const auto t = j.find("uploadTarget"); t != j.end() && t->is_object())
            s.upload_target = StorageSpec{t->at("uploadUrl").get<std::string>(),
                                          t->value("deleteLocalAfterUpload", false)};
        else
            s.upload_target = s.spec.storage;
        // Named: items() of a temporary would iterate a destroyed object.
        const nlohmann::json uploads_json = j.value("uploads", nlohmann::json::object());
        for (const auto& [file, u] : uploads_json.items()) {
            FileUpload up;
            const std::string state = u.value("state", std::string("pending"));
            up.state = state == "uploaded" ? UploadState::Uploaded
                       : state == "failed" ? UploadState::Failed
                                           : UploadState::Pending;  // an attempt cut short by a stop
            up.attempts = u.value("attempts", 0u);
            up.last_error = u.value("lastError", std::string());
            up.uploaded_ns = u.value("uploadedNs", uint64_t(0));
            s.uploads[file] = up;
        }
        for (const auto& f : j.value("remoteFiles", nlohmann::json::array())) s.remote_files.push_back(file_from_json(f));
        s.next_file_index = j.value("nextFileIndex", uint64_t(1));
        s.first_file_index = j.value("firstFileIndex", uint64_t(1));
    } catch (const FieldError& e) {
        throw std::runtime_error(std::string("spec.") + e.what());
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(e.what());
    }
    return s;
}

bool write_session_file(const std::string& directory, const nlohmann::json& j, std::string& error, bool secret) {
    const std::string path = directory + "/session.json";
    const std::string tmp = path + ".tmp";
    const std::string text = j.dump(2) + "\n";
    const mode_t mode = secret ? 0600 : 0640;
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        error = tmp + ": " + std::strerror(errno);
        return false;
    }
    // A temporary left by a crash keeps its old mode through O_TRUNC: set it.
    ::fchmod(fd, mode);
    size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = tmp + ": " + std::strerror(n < 0 ? errno : ENOSPC);
            ::close(fd);
            ::unlink(tmp.c_str());
            return false;
        }
        off += size_t(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        error = tmp + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        error = path + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    }
    fsync_dir(directory);
    return true;
}

std::vector<std::string> reconcile_session_directory(Session& s, const std::string& directory) {
    std::vector<std::string> notes;
    std::vector<std::string> names;
    if (DIR* d = ::opendir(directory.c_str())) {
        while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    auto known = [&](const std::string& name) {
        return std::any_of(s.files.begin(), s.files.end(), [&](const FileInfo& f) { return f.name == name; });
    };
    auto note_index = [&](const std::string& name) {
        if (auto idx = dataplane::capture_file_index(s.name, name))
            s.next_file_index = std::max(s.next_file_index, *idx + 1);
    };
    auto ours = [&](const std::string& name) {
        const auto idx = dataplane::capture_file_index(s.name, name);
        return idx && *idx >= s.first_file_index;
    };
    // 1. Partial files left by a crash: recover, publish, count.
    for (const auto& entry : names) {
        if (entry.size() < 2 || entry[0] != '.' || !ends_with(entry, ".partial")) continue;
        const std::string final_name = entry.substr(1, entry.size() - 1 - std::string(".partial").size());
        if (!ours(final_name)) continue;
        const std::string partial = directory + "/" + entry;
        std::string error;
        auto recovered = dataplane::recover_partial_file(partial, error);
        if (!recovered) {
            ::unlink(partial.c_str());
            notes.push_back("removed unreadable partial file " + entry + " (" + error + ")");
            continue;
        }
        const std::string final_path = directory + "/" + final_name;
        if (::rename(partial.c_str(), final_path.c_str()) != 0) {
            notes.push_back("cannot publish recovered " + entry + ": " + std::strerror(errno));
            continue;
        }
        FileInfo info = recovered->info;
        info.name = final_name;
        info.complete = true;
        s.files.push_back(info);
        s.closed_packets += info.packets;
        s.closed_bytes += info.captured_bytes;
        note_index(final_name);
        notes.push_back("recovered " + final_name + " (" + std::to_string(info.packets) + " packets" +
                        (recovered->truncated_bytes ? ", truncated a torn last record of " +
                                                          std::to_string(recovered->truncated_bytes) + " bytes"
                                                    : std::string()) +
                        ")");
    }
    // 2. Complete files the record does not know (published just before a crash).
    for (const auto& entry : names) {
        note_index(entry);
        if (!ours(entry) || known(entry)) continue;
        std::string error;
        auto info = dataplane::scan_capture_file(directory + "/" + entry, error);
        if (!info) {
            notes.push_back("ignored unreadable file " + entry + " (" + error + ")");
            continue;
        }
        s.files.push_back(*info);
        s.closed_packets += info->packets;
        s.closed_bytes += info->captured_bytes;
        notes.push_back("added unrecorded file " + entry);
    }
    // 3. Records of files that are gone (deleted by the operator): forget them.
    const auto before = s.files.size();
    s.files.erase(std::remove_if(s.files.begin(), s.files.end(),
                                 [&](const FileInfo& f) {
                                     return ::access((directory + "/" + f.name).c_str(), F_OK) != 0;
                                 }),
                  s.files.end());
    if (s.files.size() != before)
        notes.push_back("forgot " + std::to_string(before - s.files.size()) + " missing files");
    std::sort(s.files.begin(), s.files.end(), [&](const FileInfo& a, const FileInfo& b) {
        return dataplane::capture_file_index(s.name, a.name).value_or(0) <
               dataplane::capture_file_index(s.name, b.name).value_or(0);
    });
    return notes;
}

}  // namespace trawl::control
