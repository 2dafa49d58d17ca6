// Control-side logging to stderr (journald adds its own timestamps under systemd, but
// trawld is often run by hand in labs, so lines carry UTC time and a level). Never
// called from a worker lcore.
#pragma once

#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace trawl::control {

enum class LogLevel { Debug, Info, Warning, Error };

inline LogLevel& log_threshold() {
    static LogLevel level = LogLevel::Info;
    return level;
}

inline void set_log_level(const std::string& name) {
    log_threshold() = name == "debug" ? LogLevel::Debug
                    : name == "warning" ? LogLevel::Warning
                    : name == "error" ? LogLevel::Error : LogLevel::Info;
}

inline void log(LogLevel level, const std::string& message) {
    if (level < log_threshold()) return;
    static std::mutex mutex;
    static const char* names[] = {"debug", "info", "warning", "error"};
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &t);
    std::lock_guard lock(mutex);
    std::fprintf(stderr, "%s.%03ldZ trawld %s: %s\n", when, ts.tv_nsec / 1000000,
                 names[int(level)], message.c_str());
    std::fflush(stderr);
}

inline void log_info(const std::string& m) { log(LogLevel::Info, m); }
inline void log_warning(const std::string& m) { log(LogLevel::Warning, m); }
inline void log_error(const std::string& m) { log(LogLevel::Error, m); }

}  // namespace trawl::control
