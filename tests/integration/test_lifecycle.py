#!/usr/bin/env python3
"""Lifecycle of trawld (issue 2 §5, DESIGN §2.5):

- a bad config exits non-zero with a message naming the key, before touching a port;
- kill -9 mid-capture leaves files that capinfos and tshark read without error; the
  next start recovers the hidden partial file (torn tail truncated), lists every
  session as before and resumes running sessions into a new file, keeping their
  original start time;
- SIGTERM drains, flushes and closes every file, marks running sessions
  ServiceStopped, exits 0; they resume on the next start.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from trawl_harness import (TRAFFICGEN, TRAWLD, Trawld, Workdir, capinfos_ok, check, run,  # noqa: E402
                           tshark_ok)


def bad_configs(w, replay):
    base = {
        "dpdk": {"eal": ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix=trawl-bad"]},
        "ports": [{"device": "net_pcap0,rx_pcap=" + replay}],
        "capture": {"root": w.file("bad-root")},
        "api": {"listen": "127.0.0.1:1"},
    }
    cases = [
        ("ports[0].rx_queues", lambda c: c["ports"][0].update(rx_queues=0)),
        ("ports[0].rx_queues", lambda c: c["ports"][0].update(rx_queues="two")),
        ("capture.root", lambda c: c["capture"].update(root="relative/path")),
        ("capture.rot", lambda c: c["capture"].update(rot="/x")),
        ("workers", lambda c: c.update(workers=3)),
        ("api.listen", lambda c: c["api"].update(listen="0.0.0.0:9077")),
        ("sessions[0].filters[0].destinationPorts[0]",
         lambda c: c.update(sessions=[{"name": "x", "filters": [{"destinationPorts": ["80-"]}]}])),
        ("sessions[1].name", lambda c: c.update(sessions=[{"name": "a"}, {"name": "a"}])),
        ("ports", lambda c: c.update(ports=[])),
    ]
    for key, mutate in cases:
        config = json.loads(json.dumps(base))
        mutate(config)
        path = w.file("bad.yaml")
        with open(path, "w") as f:
            json.dump(config, f)
        r = subprocess.run([TRAWLD, "--config", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        check(r.returncode != 0, "bad config (%s) was accepted" % key)
        check(key in r.stderr, "error for %s does not name the key: %r" % (key, r.stderr))
    # A device that does not exist fails at start-up, naming the port.
    config = json.loads(json.dumps(base))
    config["ports"][0]["device"] = "net_nosuch0"
    with open(w.file("bad.yaml"), "w") as f:
        json.dump(config, f)
    r = subprocess.run([TRAWLD, "--config", w.file("bad.yaml")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    check(r.returncode != 0 and "ports[0].device" in r.stderr, "bad device: %d %r" % (r.returncode, r.stderr))
    print("bad configs: %d rejected with their key named" % (len(cases) + 1))


def visible_files_ok(d, name):
    files = d.capture_files(name)
    for i, f in enumerate(files):
        ok, out = capinfos_ok(f)
        check(ok, "capinfos on %s: %s" % (f, out))
        if i < 2 or i == len(files) - 1:  # tshark is slow: the first, second and last
            ok, out = tshark_ok(f)
            check(ok, "tshark -r %s: %s" % (f, out))
    return files


def partial_files(d, name):
    dd = d.session_dir(name)
    return sorted(f for f in os.listdir(dd) if f.startswith(".") and f.endswith(".partial"))


def kill9_and_recover(w, replay):
    # ICMP is ~1.5% of the demo mix: a steady stream the writer keeps up with.
    sessions = [
        {"name": "icmp-one", "filters": [{"protocols": ["icmp"]}], "bytesToCapturePerPacket": 128},
        {"name": "dns-rot", "filters": [{"protocols": ["udp"], "destinationPorts": ["53"]}],
         "fileSizeInBytes": 200000, "fileCount": 6, "bytesToCapturePerPacket": 128},
    ]
    device = "net_pcap0,rx_pcap=%s,infinite_rx=1" % replay
    with Trawld(w, [device], sessions=sessions, capture={"flush_interval_ms": 20}) as d:
        d.start()
        d.wait_for(lambda: d.session("dns-rot")["files"] >= 4, 30, "dns-rot to rotate")
        d.wait_for(lambda: d.session("icmp-one")["packets"] > 1000, 30, "icmp-one to capture")
        # A second trawld on the same capture root is refused before it touches anything
        # (it would "recover" the first one's open .partial files).
        partials = partial_files(d, "icmp-one")
        second = Trawld(w, [device], name="second")
        check(second.root == d.root, "the second daemon must share the root")
        second.start(wait=False)
        try:
            code = second.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            second.kill9()
            raise AssertionError("a second trawld on the same root kept running")
        check(code == 1 and "in use by another trawld (pid %d)" % d.proc.pid in second.read_log(),
              "second trawld: exit %s, log:\n%s" % (code, second.read_log()))
        check(partial_files(d, "icmp-one") == partials, "the second trawld touched the first one's files")
        d.wait_for(lambda: d.session("icmp-one")["packets"] > 0 and d.session("icmp-one")["status"] == "Running",
                   10, "first trawld still capturing")
        before = {s["name"]: s for s in d.api("GET", "/v1/captures")}
        d.kill9()
        # Immediately after kill -9, every visible file is complete and readable.
        for name in ("icmp-one", "dns-rot"):
            visible_files_ok(d, name)
        check(partial_files(d, "icmp-one"), "the single-file session has no partial file after kill -9")
        check(len(d.capture_files("dns-rot")) >= 3, "rotated files are not visible after kill -9")
        check(len(d.capture_files("dns-rot")) <= 6, "the ring buffer kept more than fileCount files")
        # Tear the partial file's tail the way a crash inside write() would.
        partial = os.path.join(d.session_dir("icmp-one"), partial_files(d, "icmp-one")[0])
        with open(partial, "ab") as f:
            f.write(b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\xff\xff\x00\x00tor")
        torn_size = os.path.getsize(partial)

        # Restart on the same config: recovery, then resume.
        d.start()
        after = {s["name"]: s for s in d.api("GET", "/v1/captures")}
        for name in ("icmp-one", "dns-rot"):
            check(name in after, name + " not listed after restart")
            check(after[name]["status"] == "Running", "%s not resumed: %s" % (name, after[name]["status"]))
            check(after[name]["captureStartTime"] == before[name]["captureStartTime"],
                  "%s start time changed: %s -> %s" % (name, before[name]["captureStartTime"],
                                                       after[name]["captureStartTime"]))
        check(not [p for p in partial_files(d, "icmp-one") if p == os.path.basename(partial)],
              "the torn partial file was not recovered")
        recovered = os.path.join(d.session_dir("icmp-one"), os.path.basename(partial)[1:-len(".partial")])
        check(os.path.exists(recovered), "recovered file %s missing" % recovered)
        check(os.path.getsize(recovered) < torn_size, "torn tail not truncated")
        files = visible_files_ok(d, "icmp-one")
        check(len(files) >= 1, "no files")
        # The resumed session writes a new file, numbered after the recovered one.
        current = after["icmp-one"]["currentFile"]
        check(current and current > os.path.basename(recovered), "resumed into %s" % current)
        listed = [f["name"] for f in d.api("GET", "/v1/captures/icmp-one/files")]
        check(os.path.basename(recovered) in listed, "recovered file not listed: %s" % listed)

        # SIGTERM: drain, close, ServiceStopped, exit 0.
        d.wait_for(lambda: d.session("icmp-one")["packets"] > after["icmp-one"]["packets"], 30, "capture after resume")
        check(d.stop() == 0, "SIGTERM exit status\n" + d.read_log())
        for name in ("icmp-one", "dns-rot"):
            with open(os.path.join(d.session_dir(name), "session.json")) as f:
                state = json.load(f)
            check(state["status"] == "Stopped" and state["stopReason"] == "ServiceStopped",
                  "%s after SIGTERM: %s/%s" % (name, state["status"], state["stopReason"]))
            check(not partial_files(d, name), "%s: partial file left after SIGTERM" % name)
            visible_files_ok(d, name)
        packets_before_restart = json.load(open(os.path.join(d.session_dir("icmp-one"), "session.json")))["closedPackets"]

        # Next start: ServiceStopped sessions resume; counters continue.
        d.start()
        s = d.session("icmp-one")
        check(s["status"] == "Running", "not resumed after SIGTERM restart: %s" % s["status"])
        check(s["packets"] >= packets_before_restart, "counter went backwards: %d < %d"
              % (s["packets"], packets_before_restart))
        check(d.stop() == 0, "second SIGTERM")
    print("kill -9: visible files valid, partial recovered and truncated, sessions resumed with their start time;"
          " SIGTERM: exit 0, ServiceStopped, resumed on restart")


def main():
    with Workdir("lifecycle") as w:
        replay = w.file("demo.pcap")
        run([TRAFFICGEN, "--mix", "demo", "--packets", "20000", "--out", replay])
        bad_configs(w, replay)
        kill9_and_recover(w, replay)
        w.ok = True
    print("lifecycle: OK")


if __name__ == "__main__":
    main()
