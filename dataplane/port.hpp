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
    // auto: on for a finite net_pcap replay (a file can wait), off for everything else
    // (a live port cannot: a stalled worker turns into missed packets at the NIC).
    std::string backpressure = "auto";  // auto | on | off
    uint32_t mbuf_size = 0;  // mbuf data room; 0: automatic (see Port::mbuf_size)
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
    // Back-pressure instead of drops: the worker leaves the queue alone while the pool
    // runs low and waits for ring space rather than dropping. Only for sources that
    // lose nothing by waiting (finite pcap replays).
    bool backpressure = false;
    // Data room of the port's mbufs. DPDK 22.11's net_pcap copies a record longer than
    // 65535 bytes with a 16-bit length: only a first segment holding more than
    // (caplen - 65536) bytes makes the wrapped arithmetic copy it whole, so a finite
    // replay of such records gets 65535-byte mbufs (docs/operations.md).
    uint32_t mbuf_size = 0;
    std::string note;  // what automatic choices were made, for the log
};

// Probes and configures the port (not started). Throws std::runtime_error with a
// message naming the config key ("ports[1].rx_queues: ...") on failure.
Port setup_port(const PortConfig& config, unsigned index, unsigned mbufs, unsigned mbuf_cache,
                int socket_hint);
void start_port(const Port& port);
void stop_port(const Port& port);
PortStats read_port_stats(const Port& port);

}  // namespace trawl::dataplane
