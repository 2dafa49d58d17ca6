#!/usr/bin/env python3
"""Corpus integration test (DESIGN §5, issue 2).

Every record of every file in ../shared/corpus/tcpdump is replayed through a real
trawld on a net_pcap port, with 17 sessions that together use every filter field,
both foreign dialects, tracing flags, snap lengths, both file formats, rotation and
limits. Each session's files must hold exactly the records the independent reference
matcher selects — same order, bytes, lengths, timestamps to the microsecond — and
capinfos must read every file. The port must lose nothing.

A second run replays the corpus as two RX queues (two files) into two workers and two
writers, and compares the per-session files as multisets (queues interleave).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from trawl_harness import (PCAP_CONCAT, Trawld, Workdir, capinfos_ok, check, corpus_files, run,  # noqa: E402
                           verify)

# (name, body as an operator sends it, canonical equivalent for the reference or None)
SESSIONS = [
    ("all", {}, None),
    ("all-ng-snap", {"format": "pcapng", "bytesToCapturePerPacket": 64}, None),
    ("web", {"filters": [{"protocols": ["tcp"], "destinationPorts": ["80", "443", "8000-8080"]}]}, None),
    ("v6-any", {"filters": [{"sourceSubnets": ["::/0"]}]}, None),
    ("private-nets", {"filters": [{"sourceSubnets": ["10.0.0.0/8", "192.168.0.0/16", "172.16.0.1-172.31.255.254"],
                                   "bidirectional": False}],
                      "fileSizeInBytes": 20000}, None),
    ("syn", {"filters": [{"tcpFlags": 2}], "bytesToCapturePerPacket": 96}, None),
    ("udp-ranges", {"filters": [{"protocols": ["udp"], "sourcePorts": ["1-1023"],
                                 "destinationPorts": ["53", "123", "500-4500"]}], "format": "pcapng"}, None),
    ("misc-protocols", {"filters": [{"protocols": ["icmp", "icmpv6", "gre", "sctp", "ah", 89, 103]}]}, None),
    ("tunnels", {"tracingFlags": 11}, None),
    ("esp-or-ssh", {"tracingFlags": 1, "filters": [{"protocols": ["tcp"], "destinationPorts": ["22"]}]}, None),
    ("v6-mixed", {"filters": [{"destinationSubnets": ["ff02::/16", "2001:db8::1-2001:db8::ffff"]},
                              {"protocols": [58]}, {"sourcePorts": ["546", "547"]},
                              {"destinationSubnets": ["224.0.0.0/4"]}]}, None),
    ("any-port", {"filters": [{"sourcePorts": ["0-65535"]}]}, None),
    ("first-500", {"maxPackets": 500, "format": "pcapng"}, None),
    ("first-100k-bytes", {"totalBytesPerSession": 100000}, None),
    # Payload patterns (Hyperscan) on top of tuple filters; the reference uses PCRE2.
    ("pattern-http", {"filters": [{"protocols": ["tcp"]}],
                      "payloadPatterns": ["HTTP/1\\.[01]", "(?i)^get ", "(?i)user-agent"]}, None),
    ("pattern-any-ip", {"payloadPatterns": ["(?s).*"], "bytesToCapturePerPacket": 128}, None),
    ("pattern-binary", {"filters": [{"protocols": ["udp", "sctp"]}, {"tcpFlags": 24}],
                        "payloadPatterns": ["\\x00\\x00\\x00\\x01", "(?i)vers(ion)?", "(?s)\\x01.{8}\\x02"],
                        "format": "pcapng"}, None),
    # Network Watcher style filters: local/remote, ';'-separated, trailing ';'.
    ("nw", {"filters": [{"protocol": "TCP", "localIPAddress": "10.0.0.0-10.255.255.255;192.168.1.1",
                         "remotePort": "80;443;8000-8080;"}]},
     {"filters": [{"protocols": ["tcp"], "sourceSubnets": ["10.0.0.0-10.255.255.255", "192.168.1.1"],
                   "destinationPorts": ["80", "443", "8000-8080"]}]}),
    # The whole Network Watcher ARM body; target and storageLocation are ignored.
    ("nw-arm", {"properties": {"target": "/subscriptions/x/virtualMachines/vm1", "bytesToCapturePerPacket": 200,
                               "filters": [{"protocol": "UDP", "remoteIPAddress": "224.0.0.0-239.255.255.255"}],
                               "storageLocation": {"filePath": "/var/captures/x.cap"}}},
     {"bytesToCapturePerPacket": 200,
      "filters": [{"protocols": ["udp"], "destinationSubnets": ["224.0.0.0-239.255.255.255"]}]}),
    # VPN-gateway FilterData as a config item.
    ("vpn", {"TracingFlags": 2, "MaxPacketBufferSize": 96,
             "Filters": [{"SourceSubnets": ["0.0.0.0/0"], "Protocol": [17], "DestinationPort": [53, "67-68"],
                          "CaptureSingleDirectionTrafficOnly": True}]},
     {"tracingFlags": 2, "bytesToCapturePerPacket": 96,
      "filters": [{"sourceSubnets": ["0.0.0.0/0"], "protocols": [17], "destinationPorts": [53, "67-68"],
                   "bidirectional": False}]}),
]


def config_items(sessions):
    items = []
    for name, body, _ in sessions:
        item = dict(body)
        item["name"] = name
        items.append(item)
    return items


def check_sessions(d, sessions, inputs, expect_status, multiset=False):
    """Verifies every session's files against the reference; returns {name: records}."""
    counts = {}
    for name, body, reference in sessions:
        with open(os.path.join(d.session_dir(name), "session.json")) as f:
            state = json.load(f)
        check(state["status"] == "Stopped", "%s: status %s" % (name, state["status"]))
        expected_reason = expect_status.get(name, "ServiceStopped")
        check(state["stopReason"] == expected_reason,
              "%s: stop reason %s, expected %s" % (name, state["stopReason"], expected_reason))
        check(state["ringFull"] == 0 and state["writeError"] == 0,
              "%s: drops ringFull=%d writeError=%d" % (name, state["ringFull"], state["writeError"]))
        files = d.capture_files(name)
        check(files, name + ": no capture files")
        for path in files:
            ok, out = capinfos_ok(path)
            check(ok, "capinfos failed on %s: %s" % (path, out))
        spec = reference if reference is not None else body
        summary = verify(spec, inputs, files, ["--multiset"] if multiset else [])
        check(summary["mismatches"] == 0 and summary["expected"] == summary["actual"],
              "%s: %s" % (name, summary))
        check(state["closedPackets"] == summary["expected"],
              "%s: session counted %d packets, reference %d" % (name, state["closedPackets"], summary["expected"]))
        counts[name] = summary["expected"]
    return counts


def test_single_queue(files):
    with Workdir("corpus") as w:
        combined = w.file("corpus.pcap")
        total = int(run([PCAP_CONCAT, combined] + files).stdout.strip())
        with Trawld(w, ["net_pcap0,rx_pcap=" + combined], sessions=config_items(SESSIONS), writers=2) as d:
            d.start()
            d.wait_rx(total)
            ports = d.ports()
            check(d.stop() == 0, "trawld did not exit 0:\n" + d.read_log())
        port = ports[0]
        check(port["rxPackets"] == total, "port received %d of %d" % (port["rxPackets"], total))
        check(port["rxMissed"] == 0 and port["rxNoMbuf"] == 0 and port["rxErrors"] == 0,
              "port lost packets: %s" % port)
        counts = check_sessions(d, SESSIONS, [combined],
                                {"first-500": "PacketLimitExceeded", "first-100k-bytes": "TotalBytesExceeded"})
        print("single queue: %d corpus files, %d records, %d sessions; records per session: %s"
              % (len(files), total, len(SESSIONS), json.dumps(counts)))
        w.ok = True


def test_two_queues(files):
    """Two RX queues (one file each) → two workers → two writers."""
    chosen = [s for s in SESSIONS if s[0] in ("all", "web", "tunnels", "udp-ranges", "nw", "v6-mixed", "pattern-http")]
    with Workdir("corpus2q") as w:
        halves = [files[0::2], files[1::2]]
        inputs = []
        total = 0
        for i, half in enumerate(halves):
            path = w.file("half%d.pcap" % i)
            total += int(run([PCAP_CONCAT, path] + half).stdout.strip())
            inputs.append(path)
        device = "net_pcap0,rx_pcap=%s,rx_pcap=%s" % tuple(inputs)
        with Trawld(w, [device], rx_queues=[2], sessions=config_items(chosen), workers=2, writers=2) as d:
            d.start()
            d.wait_rx(total)
            ports = d.ports()
            check(d.stop() == 0, "trawld did not exit 0:\n" + d.read_log())
        check(ports[0]["rxPackets"] == total and ports[0]["rxMissed"] == 0, "port lost packets: %s" % ports)
        counts = check_sessions(d, chosen, inputs, {}, multiset=True)
        print("two queues, two workers, two writers: %d records; per session: %s" % (total, json.dumps(counts)))
        w.ok = True


def main():
    files = corpus_files()
    test_single_queue(files)
    test_two_queues(files)
    print("corpus: OK")


if __name__ == "__main__":
    main()
