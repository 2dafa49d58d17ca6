#!/usr/bin/env python3
"""Metrics (issue 3): /metrics passes `promtool check metrics`, and a real Prometheus
server (Debian's prometheus, loopback only) scrapes trawld; its query API returns a
session's packet counter equal to the session's own status.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from trawl_harness import TRAFFICGEN, Trawld, Workdir, check, free_port, run  # noqa: E402

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool_check(text):
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    check(r.returncode == 0, "promtool check metrics failed (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr))


def prom_query(port, query):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": query}))
    with urllib.request.urlopen(url, timeout=10) as r:
        data = json.load(r)
    check(data["status"] == "success", "query %s: %s" % (query, data))
    return data["data"]["result"]


def main():
    with Workdir("metrics") as w:
        replay = w.file("demo.pcap")
        run([TRAFFICGEN, "--mix", "demo", "--packets", "20000", "--out", replay])
        sessions = [{"name": "dns", "filters": [{"protocols": ["udp"], "destinationPorts": ["53"]}],
                     "maxPackets": 5000},
                    {"name": "web", "filters": [{"protocols": ["tcp"], "destinationPorts": ["80", "443"]}],
                     "maxPackets": 20000, "format": "pcapng"}]
        with Trawld(w, ["net_pcap0,rx_pcap=%s,infinite_rx=1" % replay], sessions=sessions) as d:
            d.start()
            d.wait_for(lambda: d.session("dns")["status"] == "Stopped" and d.session("web")["status"] == "Stopped",
                       60, "sessions to reach their limits")
            status, text = d.request("GET", "/metrics")
            check(status == 200, "GET /metrics: %d" % status)
            promtool_check(text)
            for name in ("trawl_build_info", "trawl_port_rx_packets_total", "trawl_worker_rx_packets_total",
                         "trawl_session_packets_total", "trawl_session_dropped_packets_total",
                         "trawl_ring_full_drops_total", "trawl_writer_write_duration_seconds_bucket",
                         "trawl_ruleset_rules", "trawl_sessions", "trawl_api_requests_total"):
                check(("\n" + name) in text, name + " missing from /metrics")

            prom_port = free_port()
            config = w.file("prometheus.yml")
            with open(config, "w") as f:
                f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                        "scrape_configs:\n  - job_name: trawl\n    static_configs:\n"
                        "      - targets: ['127.0.0.1:%d']\n" % d.api_port)
            prom = subprocess.Popen([PROMETHEUS, "--config.file=" + config,
                                     "--storage.tsdb.path=" + w.file("tsdb"),
                                     "--web.listen-address=127.0.0.1:%d" % prom_port],
                                    stdout=subprocess.DEVNULL, stderr=open(w.file("prometheus.log"), "w"))
            try:
                expected = d.session("dns")["packets"]
                deadline = time.time() + 60
                got = None
                while time.time() < deadline:
                    try:
                        result = prom_query(prom_port, 'trawl_session_packets_total{session="dns"}')
                        if result:
                            got = int(float(result[0]["value"][1]))
                            if got == expected:
                                break
                    except OSError:
                        pass
                    time.sleep(0.5)
                check(got == expected, "Prometheus says dns has %s packets, trawld says %d" % (got, expected))
                up = prom_query(prom_port, 'up{job="trawl"}')
                check(up and up[0]["value"][1] == "1", "scrape target not up: %s" % up)
                rx = prom_query(prom_port, "sum(rate(trawl_port_rx_packets_total[30s]))")
                web = prom_query(prom_port, 'trawl_session_packets_total{session="web"}')
                check(web and int(float(web[0]["value"][1])) == d.session("web")["packets"], "web counter: %s" % web)
                states = prom_query(prom_port, 'trawl_sessions{status="Stopped"}')
                check(states and states[0]["value"][1] == "2", "trawl_sessions: %s" % states)
            finally:
                prom.terminate()
                prom.wait(30)
            check(d.stop() == 0, "trawld exit status")
        print("metrics: promtool clean; Prometheus scraped trawld: dns=%d packets as in its status, port rx rate %s/s"
              % (expected, rx[0]["value"][1] if rx else "?"))
        w.ok = True


if __name__ == "__main__":
    main()
