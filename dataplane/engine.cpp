#include "dataplane/engine.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "dataplane/clock.hpp"
#include "dataplane/handoff.hpp"
#include "dataplane/large_stack.hpp"
#include "dataplane/pattern_set.hpp"
#include "dataplane/worker.hpp"
#include "dataplane/writer.hpp"

namespace trawl::dataplane {
namespace {

uint64_t micros_since(std::chrono::steady_clock::time_point t) {
    return uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t).count());
}

bool has_arg(const std::vector<std::string>& args, std::initializer_list<const char*> names) {
    for (const auto& a : args)
        for (const char* n : names) {
            const std::string name(n);
            if (a == name || a.rfind(name + "=", 0) == 0) return true;
        }
    return false;
}

// True if the kernel has free huge pages and a hugetlbfs is mounted.
bool hugepages_available() {
    std::ifstream meminfo("/proc/meminfo");
    std::string line;
    long free_pages = 0;
    while (std::getline(meminfo, line))
        if (line.rfind("HugePages_Free:", 0) == 0) free_pages = std::stol(line.substr(15));
    if (free_pages <= 0) return false;
    std::ifstream mounts("/proc/mounts");
    while (std::getline(mounts, line))
        if (line.find(" hugetlbfs ") != std::string::npos) return true;
    return false;
}

// The EAL command line: the configured arguments, plus what trawl can decide itself
// when they leave it open: memory mode and an lcore layout for the workers.
std::vector<std::string> eal_command_line(const EngineConfig& c) {
    std::vector<std::string> args{"trawld"};
    args.insert(args.end(), c.eal_args.begin(), c.eal_args.end());
    const bool explicit_no_huge = has_arg(c.eal_args, {"--no-huge"});
    if (!explicit_no_huge && !has_arg(c.eal_args, {"--in-memory"})) {
        const bool use_huge =
            c.hugepages == "yes" || (c.hugepages == "auto" && hugepages_available());
        if (!use_huge) {
            args.push_back("--no-huge");
            if (!has_arg(c.eal_args, {"-m", "--socket-mem"})) {
                args.push_back("-m");
                args.push_back(std::to_string(c.memory_mb));
            }
        }
    }
    if (!has_arg(c.eal_args, {"-l", "-c", "--lcores"})) {
        // Main lcore on the first allowed CPU, worker i on the next ones, wrapping
        // around when there are fewer CPUs than lcores.
        cpu_set_t set;
        CPU_ZERO(&set);
        sched_getaffinity(0, sizeof set, &set);
        std::vector<int> cpus;
        for (int i = 0; i < CPU_SETSIZE; ++i)
            if (CPU_ISSET(i, &set)) cpus.push_back(i);
        if (cpus.empty()) cpus.push_back(0);
        std::ostringstream lcores;
        for (unsigned l = 0; l <= c.workers; ++l) {
            if (l) lcores << ',';
            lcores << l << '@' << cpus[l % cpus.size()];
        }
        args.push_back("--lcores=" + lcores.str());
    }
    return args;
}

}  // namespace

std::unique_ptr<Engine> Engine::create(const EngineConfig& config) {
    std::unique_ptr<Engine> e(new Engine());
    e->config_ = config;
    e->config_.classifier.workers = config.workers;
    if (config.workers == 0 || config.workers > kMaxWorkers)
        throw std::runtime_error("workers: must be 1.." + std::to_string(kMaxWorkers));
    if (config.writers == 0 || config.writers > kMaxWriters)
        throw std::runtime_error("writers: must be 1.." + std::to_string(kMaxWriters));
    if (config.ports.empty()) throw std::runtime_error("ports: at least one port is required");

    // The CPUs we may run on, before the EAL pins this thread to the main lcore's CPU.
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    sched_getaffinity(0, sizeof allowed, &allowed);
    const bool auto_layout = !has_arg(config.eal_args, {"-l", "-c", "--lcores"});

    std::vector<std::string> args = eal_command_line(config);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (rte_eal_init(int(args.size()), argv.data()) < 0)
        throw std::runtime_error(std::string("dpdk.eal: rte_eal_init failed: ") +
                                 rte_strerror(rte_errno));

    unsigned worker_lcore_count = 0;
    unsigned lcore = 0;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        if (e->worker_lcores_.size() < config.workers) e->worker_lcores_.push_back(lcore);
        ++worker_lcore_count;
    }
    if (worker_lcore_count < config.workers)
        throw std::runtime_error("workers: " + std::to_string(config.workers) +
                                 " workers need as many worker lcores, dpdk.eal gives " +
                                 std::to_string(worker_lcore_count));

    if (auto_layout) {
        // Writers, the API and analysis threads are created from this thread and inherit
        // its affinity: give it every allowed CPU that no worker polls on, so they spread
        // instead of sharing the main lcore's single CPU (all of them if workers use all).
        cpu_set_t housekeeping = allowed;
        for (unsigned l : e->worker_lcores_) {
            const rte_cpuset_t worker_cpus = rte_lcore_cpuset(l);
            for (int i = 0; i < CPU_SETSIZE; ++i)
                if (CPU_ISSET(i, &worker_cpus)) CPU_CLR(i, &housekeeping);
        }
        if (CPU_COUNT(&housekeeping) == 0) housekeeping = allowed;
        pthread_setaffinity_np(pthread_self(), sizeof housekeeping, &housekeeping);
    }

    if (!register_capture_tag())
        throw std::runtime_error(std::string("cannot register mbuf field: ") + rte_strerror(rte_errno));

    unsigned total_queues = 0;
    for (unsigned i = 0; i < config.ports.size(); ++i) {
        e->ports_.push_back(setup_port(config.ports[i], i, config.mbufs_per_port, config.mbuf_cache,
                                       int(rte_socket_id())));
        total_queues += e->ports_.back().rx_queues;
    }
    if (config.workers > total_queues)
        throw std::runtime_error("workers: " + std::to_string(config.workers) +
                                 " exceeds the " + std::to_string(total_queues) +
                                 " RX queues configured in ports[*].rx_queues");

    // Queue sets: (port, queue) pairs dealt round-robin to the workers.
    std::vector<std::vector<QueueRef>> queue_sets(config.workers);
    unsigned next = 0;
    for (const Port& p : e->ports_)
        for (uint16_t q = 0; q < p.rx_queues; ++q)
            queue_sets[next++ % config.workers].push_back(
                {p.port_id, q, uint16_t(p.index), p.timestamp_unit_ns, p.pool, p.backpressure});

    const size_t rcu_size = rte_rcu_qsbr_get_memsize(config.workers);
    e->rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("trawl_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
    if (!e->rcu_ || rte_rcu_qsbr_init(e->rcu_, config.workers) != 0)
        throw std::runtime_error("cannot initialise RCU");

    e->clock_ = std::make_unique<TscClock>();
    const TscClock& clock = *e->clock_;
    e->rings_.resize(size_t(config.workers) * config.writers, nullptr);
    for (unsigned w = 0; w < config.workers; ++w)
        for (unsigned r = 0; r < config.writers; ++r) {
            rte_ring* ring = create_handoff_ring(w, r, config.ring_size, int(rte_socket_id()));
            if (!ring)
                throw std::runtime_error("ring_size: cannot create a ring of " +
                                         std::to_string(config.ring_size) + " entries: " +
                                         rte_strerror(rte_errno));
            e->rings_[w * config.writers + r] = ring;
        }
    for (unsigned r = 0; r < config.writers; ++r) {
        std::vector<rte_ring*> in;
        for (unsigned w = 0; w < config.workers; ++w) in.push_back(e->rings_[w * config.writers + r]);
        e->writers_.push_back(std::make_unique<Writer>(r, std::move(in), config.writer_burst_size,
                                                       config.writer_idle_sleep_us, clock));
        e->writers_.back()->start();
    }
    for (unsigned w = 0; w < config.workers; ++w) {
        WorkerSetup setup;
        setup.id = w;
        setup.queues = queue_sets[w];
        for (unsigned r = 0; r < config.writers; ++r)
            setup.rings.push_back(e->rings_[w * config.writers + r]);
        setup.ruleset = &e->ruleset_;
        setup.rcu = e->rcu_;
        setup.burst_size = config.burst_size;
        setup.idle_sleep_us = config.worker_idle_sleep_us;
        setup.clock = clock;
        e->workers_.push_back(std::make_unique<Worker>(std::move(setup)));
    }
    return e;
}

Engine::~Engine() {
    shutdown();
    for (rte_ring* r : rings_) rte_ring_free(r);
    ruleset_.store(nullptr);
    current_.reset();
    rte_free(rcu_);
    // The EAL stays up until the process exits: ports and pools belong to it.
}

void Engine::start() {
    std::lock_guard lock(mutex_);
    if (started_) return;
    for (const Port& p : ports_) start_port(p);
    for (size_t i = 0; i < workers_.size(); ++i) {
        const int rc = rte_eal_remote_launch(
            [](void* arg) { return static_cast<Worker*>(arg)->run(); }, workers_[i].get(),
            worker_lcores_[i]);
        if (rc != 0) throw std::runtime_error("cannot launch worker on lcore " + std::to_string(worker_lcores_[i]));
    }
    started_ = true;
}

void Engine::shutdown() {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    if (started_) {
        for (auto& w : workers_) w->stop();
        for (unsigned lcore : worker_lcores_) rte_eal_wait_lcore(lcore);
        for (const Port& p : ports_) stop_port(p);
    }
    // No producer is left: writers drain their rings to the last packet and close files.
    for (auto& w : writers_) w->drain_and_stop(StopReason::ServiceStopped);
    for (auto& s : sessions_) s.used = false;
}

std::unique_ptr<RuleSet> Engine::build(const std::vector<SlotRules>& sessions, std::string& error) {
    std::unique_ptr<RuleSet> next = on_large_stack([&] {
        return RuleSet::build(sessions, unsigned(writers_.size()), config_.classifier, error);
    });
    ++ruleset_stats_.builds;
    if (!next) ++ruleset_stats_.build_failures;
    return next;
}

void Engine::publish(std::unique_ptr<RuleSet> next, size_t sessions) {
    ruleset_stats_.generation = next->generation;
    ruleset_stats_.rules = next->rule_count;
    ruleset_stats_.patterns = next->patterns ? next->patterns->pattern_count() : 0;
    ruleset_stats_.sessions = sessions;
    ruleset_stats_.last_build_seconds = next->build_seconds;
    ruleset_.store(next.get(), std::memory_order_release);
    // Every worker has passed a quiescent state after this: none can still hold the
    // old set, and every packet it classified is already in a ring.
    rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
    current_ = std::move(next);
}

int Engine::open_session(EngineSession session, std::shared_ptr<SessionSink>& sink_out,
                         std::string& error) {
    std::lock_guard lock(mutex_);
    if (stopped_) {
        error = "the engine is shutting down";
        return -1;
    }
    int slot = -1;
    for (unsigned s = 0; s < kMaxSlots; ++s)
        if (!sessions_[s].used) {
            slot = int(s);
            break;
        }
    if (slot < 0) {
        error = "all " + std::to_string(kMaxSlots) + " classifier slots are in use";
        return -1;
    }
    // The writer with the fewest sessions takes the new one.
    std::vector<unsigned> load(writers_.size(), 0);
    for (const auto& s : sessions_)
        if (s.used) ++load[s.writer];
    const unsigned writer = unsigned(std::min_element(load.begin(), load.end()) - load.begin());

    std::vector<SlotRules> rules;
    for (unsigned s = 0; s < kMaxSlots; ++s)
        if (sessions_[s].used) rules.push_back({s, sessions_[s].writer, sessions_[s].rules});
    rules.push_back({unsigned(slot), writer, session.rules});
    // Compile first: a rule set that cannot be built must not leave a file behind.
    auto t = std::chrono::steady_clock::now();
    std::unique_ptr<RuleSet> next = build(rules, error);
    if (!next) return -1;
    timing_.build_us = micros_since(t);

    session.sink.write_stats = writers_[writer]->write_stats();
    std::shared_ptr<SessionSink> sink;
    try {
        sink = std::make_shared<SessionSink>(session.sink);
    } catch (const std::exception& e) {
        error = e.what();
        return -1;
    }
    // The writer holds the session before any packet can be tagged for it.
    t = std::chrono::steady_clock::now();
    writers_[writer]->open(unsigned(slot), sink);
    timing_.writer_us = micros_since(t);
    t = std::chrono::steady_clock::now();
    publish(std::move(next), rules.size());
    timing_.publish_us = micros_since(t);
    ActiveSession& a = sessions_[slot];
    a.used = true;
    a.writer = writer;
    a.rules = std::move(session.rules);
    a.ring_full_baseline = ring_full_total(unsigned(slot));
    sink_out = std::move(sink);
    return slot;
}

uint64_t Engine::close_session(int slot, StopReason reason) {
    std::lock_guard lock(mutex_);
    if (slot < 0 || slot >= int(kMaxSlots) || !sessions_[slot].used) return 0;
    std::vector<SlotRules> rules;
    for (unsigned s = 0; s < kMaxSlots; ++s)
        if (sessions_[s].used && int(s) != slot) rules.push_back({s, sessions_[s].writer, sessions_[s].rules});
    std::string error;
    const size_t count = rules.size();
    auto t = std::chrono::steady_clock::now();
    std::unique_ptr<RuleSet> next = build(rules, error);
    timing_.build_us = micros_since(t);
    t = std::chrono::steady_clock::now();
    // Removing rules only fails if memory is exhausted. Publish an empty set rather
    // than keep classifying into a slot whose files are about to close.
    if (next) publish(std::move(next), count);
    else if ((next = build({}, error))) publish(std::move(next), 0);
    timing_.publish_us = micros_since(t);
    t = std::chrono::steady_clock::now();
    writers_[sessions_[slot].writer]->close(unsigned(slot), reason);
    timing_.writer_us = micros_since(t);
    const uint64_t lost = ring_full_total(unsigned(slot)) - sessions_[slot].ring_full_baseline;
    sessions_[slot] = ActiveSession{};
    return lost;
}

uint64_t Engine::ring_full_total(unsigned slot) const {
    uint64_t total = 0;
    for (const auto& w : workers_) total += w->counters().ring_full_by_slot[slot].get();
    return total;
}

uint64_t Engine::ring_full_drops(int slot) const {
    std::lock_guard lock(mutex_);
    if (slot < 0 || slot >= int(kMaxSlots) || !sessions_[slot].used) return 0;
    return ring_full_total(unsigned(slot)) - sessions_[slot].ring_full_baseline;
}

std::vector<PortStats> Engine::port_stats() const {
    std::vector<PortStats> out;
    for (const Port& p : ports_) out.push_back(read_port_stats(p));
    return out;
}

std::vector<std::string> Engine::port_names() const {
    std::vector<std::string> out;
    for (const Port& p : ports_) out.push_back(p.name);
    return out;
}

std::vector<std::string> Engine::port_notes() const {
    std::vector<std::string> out;
    for (const Port& p : ports_)
        if (!p.note.empty()) out.push_back(p.name + ": " + p.note);
    return out;
}

std::vector<WorkerStats> Engine::worker_stats() const {
    std::vector<WorkerStats> out;
    for (size_t i = 0; i < workers_.size(); ++i) {
        const WorkerCounters& c = workers_[i]->counters();
        WorkerStats s;
        s.id = unsigned(i);
        s.lcore = worker_lcores_[i];
        s.rx_packets = c.rx_packets.get();
        s.rx_bytes = c.rx_bytes.get();
        s.matched = c.matched_packets.get();
        s.unmatched = c.unmatched_packets.get();
        s.ring_full = c.ring_full_drops.get();
        s.chained = c.chained_packets.get();
        s.short_chains = c.short_chains.get();
        s.backpressure_waits = c.backpressure_waits.get();
        s.pattern_scans = c.pattern_scans.get();
        s.pattern_matches = c.pattern_matches.get();
        s.pattern_cycles = c.pattern_cycles.get();
        s.busy_cycles = c.busy_cycles.get();
        s.total_cycles = c.total_cycles.get();
        out.push_back(s);
    }
    return out;
}

std::vector<WriterStats> Engine::writer_stats() const {
    std::vector<WriterStats> out;
    for (const auto& w : writers_) {
        const WriterCounters& c = w->counters();
        WriterStats s;
        s.id = w->id();
        s.dequeued = c.dequeued.get();
        s.records = c.records.get();
        s.unowned = c.unowned.get();
        s.busy_ns = c.busy_ns.get();
        s.writes = c.writes.writes.get();
        s.write_bytes = c.writes.bytes.get();
        s.write_ns = c.writes.nanoseconds.get();
        s.write_errors = c.writes.errors.get();
        for (size_t b = 0; b < kWriteLatencyBuckets; ++b) s.latency_buckets[b] = c.writes.buckets[b].get();
        out.push_back(s);
    }
    return out;
}

RuleSetStats Engine::ruleset_stats() const {
    std::lock_guard lock(mutex_);
    return ruleset_stats_;
}

ChangeTiming Engine::last_change_timing() const {
    std::lock_guard lock(mutex_);
    return timing_;
}

unsigned Engine::free_slots() const {
    std::lock_guard lock(mutex_);
    unsigned n = 0;
    for (const auto& s : sessions_) n += s.used ? 0 : 1;
    return n;
}

uint64_t Engine::now_ns() const { return TscClock::realtime_ns(); }

void Engine::resync_clock() {
    const uint64_t now = now_ns();
    if (now - last_resync_ns_ < 1'000'000'000ull) return;
    last_resync_ns_ = now;
    clock_->resync();
}

}  // namespace trawl::dataplane
