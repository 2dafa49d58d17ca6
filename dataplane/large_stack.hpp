#pragma once
// Runs a function on a short-lived thread with a large stack and waits for it.
//
// Why: rte_acl_build and Hyperscan's compiler recurse deeply (an IPv6 host rule
// alone overflows ~100 KiB), and the threads that ask for rule sets are not ours to
// size: civetweb's request threads have a small fixed stack. Building on a thread of
// known size makes the depth independent of the caller. One thread per build costs
// tens of microseconds next to builds that take milliseconds; the pages of the stack
// are only committed as they are touched.
#include <pthread.h>

#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace trawl::dataplane {

inline constexpr size_t kLargeStackBytes = 64u << 20;

template <typename F>
auto on_large_stack(F&& fn) -> std::invoke_result_t<F&> {
    using R = std::invoke_result_t<F&>;
    struct Job {
        F* fn;
        std::exception_ptr error;
        std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
    } job{&fn, nullptr, {}};
    auto body = +[](void* arg) -> void* {
        Job& j = *static_cast<Job*>(arg);
        try {
            if constexpr (std::is_void_v<R>) (*j.fn)();
            else j.result.emplace((*j.fn)());
        } catch (...) {
            j.error = std::current_exception();
        }
        return nullptr;
    };
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kLargeStackBytes);
    pthread_t thread;
    const int rc = pthread_create(&thread, &attr, body, &job);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        throw std::runtime_error(std::string("cannot start a build thread: ") + std::strerror(rc));
    pthread_join(thread, nullptr);
    if (job.error) std::rethrow_exception(job.error);
    if constexpr (!std::is_void_v<R>) return std::move(*job.result);
}

}  // namespace trawl::dataplane
