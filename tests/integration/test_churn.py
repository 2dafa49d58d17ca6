#!/usr/bin/env python3
"""Hitless session changes (issue 3): one session captures a long finite replay while
100 other sessions are created and stopped through the API. Every change publishes a
new RuleSet with RCU and drains the writer; the long session must still hold exactly
the records the reference matcher selects, with no drop of any kind.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from trawl_harness import TRAFFICGEN, Trawld, Workdir, check, run, verify  # noqa: E402

PACKETS = int(os.environ.get("TRAWL_CHURN_PACKETS", "2500000"))
# The same file on twelve RX queues: twelve times the traffic for the same disk space, so
# the replay outlasts the churn (the records interleave: compared as a multiset).
QUEUES = 12
CHURN = 100
# About 13% of the traffic, in files of 1 MB: rotation happens during the churn too.
LONG = {"name": "long", "filters": [{"protocols": ["tcp"], "destinationPorts": ["22"]},
                                    {"protocols": ["udp"], "sourcePorts": ["1024-1100"]}],
        "bytesToCapturePerPacket": 64, "fileSizeInBytes": 1000000}


def churn_body(i):
    # Varied rules, each matching some of the traffic, with limits so disk stays small.
    kinds = [
        {"filters": [{"protocols": ["udp"], "destinationPorts": [str(53 + i % 3)]}], "maxPackets": 2000},
        {"filters": [{"sourceSubnets": ["10.0.%d.0/24" % (i % 256)]}], "maxPackets": 2000},
        {"filters": [{"destinationSubnets": ["192.168.%d.0/24" % (i % 200)], "tcpFlags": 16}], "maxPackets": 2000},
        {"tracingFlags": 11, "maxPackets": 100},
        {"filters": [{"sourcePorts": ["%d-%d" % (1024 + i * 10, 1100 + i * 10)]}], "totalBytesPerSession": 100000},
        # Payload patterns: a new Hyperscan database is compiled and published as well.
        {"filters": [{"protocols": ["udp"]}], "payloadPatterns": ["\\x00{4}", "(?i)x%d" % i], "maxPackets": 2000},
    ]
    body = dict(kinds[i % len(kinds)])
    body["bytesToCapturePerPacket"] = 64
    return body


def main():
    with Workdir("churn") as w:
        replay = w.file("replay.pcap")
        run([TRAFFICGEN, "--mix", "64", "--packets", str(PACKETS), "--flows", "4096", "--ipv6", "10",
             "--out", replay])
        device = "net_pcap0" + (",rx_pcap=" + replay) * QUEUES
        with Trawld(w, [device], rx_queues=[QUEUES], sessions=[LONG], writers=1,
                    capture={"max_sessions": 64}) as d:
            d.start()
            created = stopped = 0
            t0 = time.time()
            for i in range(CHURN):
                name = "churn-%03d" % i
                d.api("PUT", "/v1/captures/" + name, churn_body(i), expect=(201,))
                created += 1
                if i >= 4:  # keep a few running at any moment
                    d.api("POST", "/v1/captures/churn-%03d/stop" % (i - 4), {})
                    stopped += 1
            churn_seconds = time.time() - t0
            rx_during_churn = sum(p["rxPackets"] for p in d.ports())
            print("churn took %.2f s; %d packets received by then" % (churn_seconds, rx_during_churn))
            d.wait_rx(PACKETS * QUEUES, timeout=600)
            ports = d.ports()
            long_state = d.session("long")
            check(d.stop() == 0, "trawld exit status\n" + d.read_log())
        check(rx_during_churn < PACKETS * QUEUES,
              "the replay ended before the churn did (%d of %d packets): the test proves nothing; raise "
              "TRAWL_CHURN_PACKETS" % (rx_during_churn, PACKETS * QUEUES))
        check(ports[0]["rxMissed"] == 0 and ports[0]["rxNoMbuf"] == 0, "port lost packets: %s" % ports)
        drops = long_state["droppedPackets"]
        check(drops["ringFull"] == 0 and drops["writeError"] == 0, "long session dropped: %s" % drops)
        files = d.capture_files("long")
        summary = verify(LONG, [replay] * QUEUES, files, ["--multiset"])
        check(summary["expected"] == long_state["packets"],
              "session counted %d, reference %d" % (long_state["packets"], summary["expected"]))
        print("churn: %d sessions created and %d stopped in %.2f s while the replay ran (%d of %d packets "
              "received when the churn ended); the long session holds exactly the %d records the reference "
              "selects, 0 drops" % (created, stopped, churn_seconds, rx_during_churn, PACKETS * QUEUES,
                                    summary["expected"]))
        w.ok = True


if __name__ == "__main__":
    main()
