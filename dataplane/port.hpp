// Ethernet device set-up: probe a PCI address or vdev string, configure N RX queues
// with symmetric RSS where the device hashes, scattered RX so jumbo and 64 KiB+ frames
// arrive whole as mbuf chains, promiscuous mode, and one mempool per port.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct rte_mempool;

namespace trawl::dataplane {

struct PortConfig {
    std::string device;      // "0000:03:00.0" or "net_pcap0,rx_pcap=/x.pcap"
    uint16_t rx_queues = 1;
    uint16_t rx_descriptors = 1024;
    bool rss = true;         // symmetric RSS across the queues when the device can
    uint32_t mtu = 0;        // 0: the device maximum when it can scatter
    std::string timestamps = "auto";  // auto | tsc
};

struct PortStats {
    std::string name;
    uint64_t rx_packets = 0;
    uint64_t rx_bytes = 0;
    uint64_t rx_missed = 0;
    uint64_t rx_no_mbuf = 0;
    uint64_t rx_errors = 0;
};

struct Port {
    uint16_t port_id = 0;
    unsigned index = 0;        // position in the config: pcapng interface id
    std::string name;          // ethdev name
    std::string driver;
    uint16_t rx_queues = 1;
    // Multiplier from the driver's RX timestamp dynfield to ns; 0: use the TSC clock.
    // net_pcap stamps the source record's time in microseconds (DESIGN §2.4).
    uint32_t timestamp_unit_ns = 0;
    rte_mempool* pool = nullptr;
    bool rss_enabled = false;
    bool scatter_enabled = false;
};

// Probes and configures the port (not started). Throws std::runtime_error with a
// message naming the config key ("ports[1].rx_queues: ...") on failure.
Port setup_port(const PortConfig& config, unsigned index, unsigned mbufs, unsigned mbuf_cache,
                int socket_hint);
void start_port(const Port& port);
void stop_port(const Port& port);
PortStats read_port_stats(const Port& port);

}  // namespace trawl::dataplane
