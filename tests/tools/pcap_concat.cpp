// pcap-concat: reads pcap files with libpcap — exactly as net_pcap does — and writes
// their records, in order, into one microsecond pcap (snaplen 262144). The corpus
// test replays the result through one net_pcap port, so every record of every corpus
// file passes through trawld once. Prints the record count.
//
//   pcap-concat OUT.pcap IN.pcap...
#include <pcap/pcap.h>

#include <cstdio>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: pcap-concat OUT.pcap IN.pcap...\n");
        return 2;
    }
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
    pcap_dumper_t* out = pcap_dump_open(dead, argv[1]);
    if (!out) {
        std::fprintf(stderr, "pcap-concat: %s\n", pcap_geterr(dead));
        return 1;
    }
    unsigned long long total = 0;
    for (int i = 2; i < argc; ++i) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t* in = pcap_open_offline(argv[i], err);
        if (!in) {
            std::fprintf(stderr, "pcap-concat: %s: %s\n", argv[i], err);
            return 1;
        }
        if (pcap_datalink(in) != DLT_EN10MB) {
            std::fprintf(stderr, "pcap-concat: %s: not Ethernet, skipped\n", argv[i]);
            pcap_close(in);
            continue;
        }
        pcap_pkthdr* h;
        const u_char* data;
        int rc;
        while ((rc = pcap_next_ex(in, &h, &data)) == 1) {
            // net_pcap gives the port pkt_len = caplen: that is the original length
            // trawld records, so write it that way here too.
            pcap_pkthdr copy = *h;
            copy.len = h->caplen;
            pcap_dump(reinterpret_cast<u_char*>(out), &copy, data);
            ++total;
        }
        if (rc == PCAP_ERROR)
            std::fprintf(stderr, "pcap-concat: %s: stopped at a bad record: %s\n", argv[i], pcap_geterr(in));
        pcap_close(in);
    }
    if (pcap_dump_flush(out) != 0) return 1;
    pcap_dump_close(out);
    pcap_close(dead);
    std::printf("%llu\n", total);
    return 0;
}
