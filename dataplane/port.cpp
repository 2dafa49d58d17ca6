#include "dataplane/port.hpp"

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <pcap/pcap.h>

#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace trawl::dataplane {
namespace {

std::string key(unsigned index, const char* field) {
    return "ports[" + std::to_string(index) + "]." + field;
}

[[noreturn]] void fail(unsigned index, const char* field, const std::string& what) {
    throw std::runtime_error(key(index, field) + ": " + what);
}

// The first ethdev matching `device` (a PCI address or vdev string), or -1.
int find_port(const std::string& device) {
    rte_dev_iterator it{};
    uint16_t port_id = 0;
    RTE_ETH_FOREACH_MATCHING_DEV(port_id, device.c_str(), &it) {
        rte_eth_iterator_cleanup(&it);
        return port_id;
    }
    return -1;
}

// Toeplitz with a key of repeated 0x6d5a hashes (a,b) and (b,a) alike, so both
// directions of a flow land on the same queue (Woo & Park, "Scalable TCP Session
// Monitoring with Symmetric Receive-side Scaling").
std::vector<uint8_t> symmetric_rss_key(size_t length) {
    std::vector<uint8_t> k(length ? length : 40);
    for (size_t i = 0; i < k.size(); ++i) k[i] = (i % 2 == 0) ? 0x6d : 0x5a;
    return k;
}

// The key=value arguments of a vdev string ("net_pcap0,rx_pcap=a.pcap,infinite_rx=1").
std::vector<std::pair<std::string, std::string>> device_arguments(const std::string& device) {
    std::vector<std::pair<std::string, std::string>> out;
    std::stringstream ss(device);
    std::string part;
    bool first = true;
    while (std::getline(ss, part, ',')) {
        if (first) {
            first = false;
            continue;
        }
        const auto eq = part.find('=');
        out.emplace_back(part.substr(0, eq), eq == std::string::npos ? "" : part.substr(eq + 1));
    }
    return out;
}

// Longest record in a pcap file, read with libpcap as net_pcap reads it; 0 on error.
uint32_t longest_record(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    if (!p) return 0;
    pcap_pkthdr* h;
    const u_char* data;
    uint32_t longest = 0;
    while (pcap_next_ex(p, &h, &data) == 1) longest = std::max(longest, h->caplen);
    pcap_close(p);
    return longest;
}

}  // namespace

Port setup_port(const PortConfig& config, unsigned index, unsigned mbufs, unsigned mbuf_cache,
                int socket_hint) {
    Port port;
    port.index = index;
    int found = find_port(config.device);
    if (found < 0) {
        const int rc = rte_dev_probe(config.device.c_str());
        if (rc < 0) fail(index, "device", "cannot probe \"" + config.device + "\": " + rte_strerror(-rc));
        found = find_port(config.device);
    }
    if (found < 0) fail(index, "device", "\"" + config.device + "\" is not an Ethernet device");
    port.port_id = uint16_t(found);

    rte_eth_dev_info info{};
    int rc = rte_eth_dev_info_get(port.port_id, &info);
    if (rc != 0) fail(index, "device", std::string("cannot query device: ") + rte_strerror(-rc));
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(port.port_id, name);
    port.name = name;
    port.driver = info.driver_name ? info.driver_name : "";

    if (config.rx_queues == 0) fail(index, "rx_queues", "must be at least 1");
    if (config.rx_queues > info.max_rx_queues)
        fail(index, "rx_queues", std::to_string(config.rx_queues) + " exceeds the device maximum " +
                                     std::to_string(info.max_rx_queues));
    port.rx_queues = config.rx_queues;

    rte_eth_conf conf{};
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) {
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
        port.scatter_enabled = true;
    }
    uint32_t mtu = config.mtu;
    if (mtu == 0 && port.scatter_enabled && info.max_mtu > RTE_ETHER_MTU) mtu = info.max_mtu;
    if (mtu != 0) {
        if (mtu > info.max_mtu || mtu < info.min_mtu)
            fail(index, "mtu", std::to_string(mtu) + " is outside the device range " +
                                   std::to_string(info.min_mtu) + ".." + std::to_string(info.max_mtu));
        conf.rxmode.mtu = mtu;
    }
    std::vector<uint8_t> rss_key;
    const uint64_t rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_SCTP) &
                            info.flow_type_rss_offloads;
    // net_pcap, net_ring and others hash nothing: asking them for RSS fails configure.
    if (config.rss && config.rx_queues > 1 && rss_hf != 0) {
        rss_key = symmetric_rss_key(info.hash_key_size);
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = rss_key.data();
        conf.rx_adv_conf.rss_conf.rss_key_len = uint8_t(rss_key.size());
        conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        port.rss_enabled = true;
    }
    // Some PMDs (memif) pair RX and TX rings; trawl never transmits.
    const uint16_t tx_queues =
        info.max_tx_queues > 0 ? std::min<uint16_t>(config.rx_queues, info.max_tx_queues) : 0;
    rc = rte_eth_dev_configure(port.port_id, config.rx_queues, tx_queues, &conf);
    if (rc != 0) fail(index, "device", std::string("rte_eth_dev_configure: ") + rte_strerror(-rc));

    uint16_t rxd = config.rx_descriptors, txd = 512;
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port.port_id, &rxd, &txd);
    if (rc != 0) fail(index, "rx_descriptors", rte_strerror(-rc));

    // A finite pcap replay loses nothing by waiting; everything else must never wait.
    bool finite_replay = false;
    uint32_t longest = 0;
    if (port.driver == "net_pcap") {
        bool infinite = false, has_file = false;
        std::vector<std::string> files;
        for (const auto& [k, v] : device_arguments(config.device)) {
            if (k == "infinite_rx" && v == "1") infinite = true;
            if (k == "rx_pcap") {
                has_file = true;
                files.push_back(v);
            }
        }
        finite_replay = has_file && !infinite;
        if (finite_replay && config.mbuf_size == 0)
            for (const auto& f : files) longest = std::max(longest, longest_record(f));
    }
    port.backpressure = config.backpressure == "on" || (config.backpressure == "auto" && finite_replay);
    port.mbuf_size = config.mbuf_size != 0 ? config.mbuf_size : RTE_MBUF_DEFAULT_BUF_SIZE;
    if (config.mbuf_size == 0 && longest > 65535) {
        port.mbuf_size = 65535;
        mbufs = std::min(mbufs, 4095u);  // 64 KiB each; back-pressure bounds what is in flight
        port.note = "replay holds " + std::to_string(longest) +
                    "-byte records: 65535-byte mbufs so net_pcap delivers them whole";
    }
    if (port.mbuf_size < RTE_PKTMBUF_HEADROOM + 64 || port.mbuf_size > 65535)
        fail(index, "mbuf_size", "must be between " + std::to_string(RTE_PKTMBUF_HEADROOM + 64) + " and 65535");

    int socket = rte_eth_dev_socket_id(port.port_id);
    if (socket < 0) socket = socket_hint;
    char pool_name[RTE_MEMPOOL_NAMESIZE];
    std::snprintf(pool_name, sizeof pool_name, "trawl_pool%u", index);
    port.pool = rte_pktmbuf_pool_create(pool_name, mbufs, mbuf_cache, 0, uint16_t(port.mbuf_size), socket);
    if (!port.pool)
        fail(index, "device", std::string("cannot create mempool of ") + std::to_string(mbufs) + " mbufs of " +
                                  std::to_string(port.mbuf_size) +
                                  " bytes (dpdk.mbufs_per_port; is dpdk.memory_mb large enough?): " +
                                  rte_strerror(rte_errno));

    for (uint16_t q = 0; q < config.rx_queues; ++q) {
        rte_eth_rxconf rxconf = info.default_rxconf;
        rxconf.offloads = conf.rxmode.offloads;
        rc = rte_eth_rx_queue_setup(port.port_id, q, rxd, socket, &rxconf, port.pool);
        if (rc != 0) fail(index, "rx_queues", "queue " + std::to_string(q) + ": " + rte_strerror(-rc));
    }
    for (uint16_t q = 0; q < tx_queues; ++q) {
        rc = rte_eth_tx_queue_setup(port.port_id, q, txd, socket, nullptr);
        if (rc != 0) fail(index, "device", "tx queue " + std::to_string(q) + ": " + rte_strerror(-rc));
    }

    if (config.timestamps == "auto" && port.driver == "net_pcap") port.timestamp_unit_ns = 1000;
    return port;
}

void start_port(const Port& port) {
    const int rc = rte_eth_dev_start(port.port_id);
    if (rc != 0)
        throw std::runtime_error("ports[" + std::to_string(port.index) + "].device: cannot start " +
                                 port.name + ": " + rte_strerror(-rc));
    // A capture port must see every frame; vdevs without the notion return ENOTSUP.
    rte_eth_promiscuous_enable(port.port_id);
}

void stop_port(const Port& port) { rte_eth_dev_stop(port.port_id); }

PortStats read_port_stats(const Port& port) {
    PortStats s;
    s.name = port.name;
    rte_eth_stats st{};
    if (rte_eth_stats_get(port.port_id, &st) == 0) {
        s.rx_packets = st.ipackets;
        s.rx_bytes = st.ibytes;
        s.rx_missed = st.imissed;
        s.rx_no_mbuf = st.rx_nombuf;
        s.rx_errors = st.ierrors;
    }
    return s;
}

}  // namespace trawl::dataplane
