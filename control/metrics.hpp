// Prometheus exposition (prometheus-cpp). Dataplane counters are plain per-lcore
// integers; this Collectable reads and sums them at scrape time, so nothing on an
// lcore ever touches prometheus-cpp (whose counters are atomic<double> CAS loops).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "control/session_manager.hpp"
#include "dataplane/engine.hpp"

namespace trawl::control {

class Metrics {
public:
    Metrics(const dataplane::Engine& engine, const SessionManager& sessions);
    // The text exposition format (version 0.0.4).
    std::string scrape() const;
    // Control-plane counters, updated by the REST layer.
    void count_request(const std::string& method, int status);

private:
    class DataplaneCollector;
    std::shared_ptr<prometheus::Registry> registry_;
    std::shared_ptr<DataplaneCollector> collector_;
    prometheus::Family<prometheus::Counter>* requests_;
};

}  // namespace trawl::control
