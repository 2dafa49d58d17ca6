#!/usr/bin/env python3
"""trawlctl end to end (DESIGN §3, issue 3) against a real, token-protected trawld on a
looped demo replay:

create from flags and from --file (JSON and YAML; canonical and VPN-gateway dialects,
flags overriding the file) → list (table and --json) → show → stop → files → download
(-o PATH and into the working directory; SHA-256 equal to the file on disk, readable by
capinfos) → delete with and without --purge → ports → metrics.

Errors: a bad filter prints the server's message and the field and exits 1; an unknown
session and a missing file exit 1 (and leave no file behind); no server exits 3; usage
errors exit 2. The token comes from --token, TRAWL_TOKEN, --token-file or
TRAWL_TOKEN_FILE, the server from --server or TRAWL_SERVER (the flag wins).
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from trawl_harness import TRAWLCTL, Trawld, Workdir, capinfos_ok, check, free_port  # noqa: E402
from api_checks import make_demo, rare_ports, read_pcap, sha256_file, wait_until  # noqa: E402

TOKEN = "ctl-token-%d" % os.getpid()
DEFAULT_MAX_PACKETS = 5000  # capture.defaults.maxPackets: bounds sessions whose body has no limit


def canonical(filters=(), **fields):
    spec = {"filters": list(filters), "tracingFlags": 0, "payloadPatterns": [], "bytesToCapturePerPacket": 0,
            "totalBytesPerSession": 1 << 30, "timeLimitInSeconds": 18000, "maxPackets": DEFAULT_MAX_PACKETS,
            "fileSizeInBytes": 0, "fileCount": 0, "format": "pcap"}
    spec.update(fields)
    return spec


def cfilter(**fields):
    f = {"sourceSubnets": [], "destinationSubnets": [], "sourcePorts": [], "destinationPorts": [], "protocols": [],
         "tcpFlags": 0, "bidirectional": True}
    f.update(fields)
    return f


class Ctl:
    def __init__(self, d, workdir):
        self.url = d.url
        self.workdir = workdir
        self.calls = 0
        # The environment of the test runner must not leak a server or token in.
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("TRAWL_TOKEN") and k != "TRAWL_SERVER"}

    def run(self, *args, token=TOKEN, server=True, env=None, cwd=None, expect=0):
        cmd = [os.path.abspath(TRAWLCTL)]
        if server:
            cmd += ["--server", self.url if server is True else server]
        if token:
            cmd += ["--token", token]
        cmd += list(args)
        e = dict(self.base_env, **(env or {}))
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e,
                           cwd=cwd or self.workdir, timeout=60)
        self.calls += 1
        if expect is not None:
            check(r.returncode == expect, "%s exited %d, expected %d\nstdout: %s\nstderr: %s"
                  % (" ".join(args), r.returncode, expect, r.stdout[-2000:], r.stderr[-2000:]))
        return r

    def json(self, *args, **kw):
        r = self.run("--json", *args, **kw)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise AssertionError("%s --json printed no JSON: %r" % (" ".join(args), r.stdout[:500]))

    def show(self, name):
        return self.json("show", name)

    def wait_stopped(self, name, timeout=20):
        return wait_until(lambda: (lambda s: s if s["status"] != "Running" else None)(self.show(name)), timeout,
                          "%s to stop" % name)


def table(stdout):
    lines = [l for l in stdout.splitlines() if l.strip()]
    check(lines, "empty table")
    return lines[0].split(), [l.split() for l in lines[1:]]


def check_spec(ctl, name, spec):
    got = ctl.show(name)["spec"]
    check(got == spec, "%s: spec\n  got      %s\n  expected %s" % (name, json.dumps(got, sort_keys=True),
                                                                  json.dumps(spec, sort_keys=True)))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    started = time.time()
    with Workdir("trawlctl") as w:
        demo = w.file("demo.pcap")
        records = make_demo(demo, 20000)
        slow_port = rare_ports(records, 1)[0][0]
        with Trawld(w, ["net_pcap0,rx_pcap=%s,infinite_rx=1" % demo], token=TOKEN,
                    capture={"defaults": {"maxPackets": DEFAULT_MAX_PACKETS}, "flush_interval_ms": 100}) as d:
            d.start()
            ctl = Ctl(d, w.path)

            # ---- ports ----
            head, rows = table(ctl.run("ports").stdout)
            check(head[:3] == ["PORT", "RX", "PACKETS"] and rows and rows[0][0] == "net_pcap0", "ports table %r" % rows)
            ports = ctl.json("ports")
            check(isinstance(ports, list) and ports[0]["name"] == "net_pcap0" and ports[0]["rxPackets"] >= 0,
                  "ports --json %r" % ports)

            # ---- create from flags ----
            r = ctl.run("create", "web", "--proto", "tcp", "--dport", "80", "--dport", "443", "--max-packets", "300",
                        "--snap", "96", "--format", "pcapng")
            check("web" in r.stdout and "Running" in r.stdout and "spec:" in r.stdout, "create output:\n" + r.stdout)
            check_spec(ctl, "web", canonical([cfilter(protocols=["tcp"], destinationPorts=["80", "443"])],
                                             maxPackets=300, bytesToCapturePerPacket=96, format="pcapng"))
            s = ctl.json("create", "flags", "--src", "10.0.0.0/8", "--src", "192.0.2.1-192.0.2.9", "--sport",
                         "1000-2000", "--dst", "192.0.2.0/24", "--one-way", "--tcp-flags", "SYN|ACK",
                         "--tracing-flags", "1", "--time-limit", "60", "--file-size", "100000", "--file-count", "3",
                         "--max-bytes", "50000", "--max-packets", "10")
            want = canonical([cfilter(sourceSubnets=["10.0.0.0/8", "192.0.2.1-192.0.2.9"], sourcePorts=["1000-2000"],
                                      destinationSubnets=["192.0.2.0/24"], tcpFlags=0x12, bidirectional=False)],
                             tracingFlags=1, timeLimitInSeconds=60, fileSizeInBytes=100000, fileCount=3,
                             totalBytesPerSession=50000, maxPackets=10)
            check(s["name"] == "flags" and s["spec"] == want, "create --json: %s" % json.dumps(s))

            # ---- create --file: JSON and YAML, canonical and VPN-gateway ----
            spec_json = write(w.file("spec.json"), json.dumps(
                {"filters": [{"protocols": ["udp"], "destinationPorts": ["53", 5353]}],
                 "bytesToCapturePerPacket": 128, "maxPackets": 200}))
            spec_yaml = write(w.file("spec.yaml"), "# canonical spec as YAML\n"
                              "filters:\n"
                              "  - protocols: [tcp]\n"
                              "    destinationPorts: [\"22\", 8080]\n"
                              "    bidirectional: false\n"
                              "  - sourcePorts: [\"%d\"]\n"
                              "bytesToCapturePerPacket: 64\n"
                              "maxPackets: 150\n"
                              "format: pcapng\n" % slow_port)
            vpn_json = write(w.file("vpn.json"), json.dumps(
                {"TracingFlags": 8, "MaxPacketBufferSize": 80, "MaxFileSize": 2,
                 "Filters": [{"SourceSubnets": ["10.0.0.0/8"], "Protocol": [6], "DestinationPort": [443],
                              "TcpFlags": -1, "CaptureSingleDirectionTrafficOnly": True}]}))
            vpn_yaml = write(w.file("vpn.yaml"), "TracingFlags: 2\n"
                             "MaxPacketBufferSize: 100\n"
                             "MaxFileSize: 1\n"
                             "Filters:\n"
                             "  - Protocol: [17]\n"
                             "    DestinationPort: [53, \"67-68\"]\n"
                             "    CaptureSingleDirectionTrafficOnly: true\n")
            ctl.run("create", "from-json", "--file", spec_json)
            check_spec(ctl, "from-json", canonical([cfilter(protocols=["udp"], destinationPorts=["53", "5353"])],
                                                   bytesToCapturePerPacket=128, maxPackets=200))
            ctl.run("create", "from-yaml", "--file", spec_yaml)
            check_spec(ctl, "from-yaml", canonical(
                [cfilter(protocols=["tcp"], destinationPorts=["22", "8080"], bidirectional=False),
                 cfilter(sourcePorts=[str(slow_port)])], bytesToCapturePerPacket=64, maxPackets=150, format="pcapng"))
            ctl.run("create", "vpn-json", "--file", vpn_json)
            check_spec(ctl, "vpn-json", canonical(
                [cfilter(sourceSubnets=["10.0.0.0/8"], protocols=["tcp"], destinationPorts=["443"], bidirectional=False)],
                tracingFlags=8, bytesToCapturePerPacket=80, fileSizeInBytes=2 << 20, fileCount=10))
            ctl.run("create", "vpn-yaml", "--file", vpn_yaml)
            check_spec(ctl, "vpn-yaml", canonical(
                [cfilter(protocols=["udp"], destinationPorts=["53", "67-68"], bidirectional=False)],
                tracingFlags=2, bytesToCapturePerPacket=100, fileSizeInBytes=1 << 20, fileCount=10))
            check(ctl.show("vpn-yaml").get("dialect", "vpnGateway") == "vpnGateway", "vpn-yaml dialect")
            # Flags override the file's limits and add a filter.
            ctl.run("create", "override", "--file", spec_json, "--max-packets", "7", "--dport", "123", "--proto", "udp")
            check_spec(ctl, "override", canonical(
                [cfilter(protocols=["udp"], destinationPorts=["53", "5353"]),
                 cfilter(protocols=["udp"], destinationPorts=["123"])], bytesToCapturePerPacket=128, maxPackets=7))
            names = ["flags", "from-json", "from-yaml", "override", "vpn-json", "vpn-yaml", "web"]

            # ---- list, show ----
            head, rows = table(ctl.run("list").stdout)
            check(head[:2] == ["NAME", "STATUS"] and "PACKETS" in head, "list header %r" % head)
            check(sorted(r[0] for r in rows) == names, "list rows %r" % rows)
            listed = ctl.json("list")
            check(sorted(s["name"] for s in listed) == names and all("spec" in s for s in listed),
                  "list --json %r" % [s.get("name") for s in listed])
            out = ctl.run("show", "web").stdout
            check("name:" in out and "web" in out and "status:" in out and "packets:" in out, "show:\n" + out)

            # ---- limits, stop ----
            s = ctl.wait_stopped("web")
            check(s["stopReason"] == "PacketLimitExceeded" and s["packets"] == 300, "web: %s" % s)
            out = ctl.run("stop", "web").stdout  # already stopped: still 0, unchanged
            check("PacketLimitExceeded" in out, "stop of a stopped session:\n" + out)
            ctl.run("create", "slow", "--sport", str(slow_port), "--snap", "64", "--max-packets", "100000")
            wait_until(lambda: ctl.show("slow")["packets"] > 0, 20, "slow to capture")
            out = ctl.run("stop", "slow").stdout
            check("Stopped" in out and "ManuallyStopped" in out, "stop:\n" + out)
            s = ctl.json("stop", "slow")
            check(s["status"] == "Stopped" and s["stopReason"] == "ManuallyStopped", "stop --json: %s" % s)

            # ---- files, download ----
            head, rows = table(ctl.run("files", "web").stdout)
            check(head[0] == "FILE" and len(rows) == 1 and rows[0][0] == "web-000001.pcapng" and rows[0][-1] == "complete",
                  "files table %r" % rows)
            files = ctl.json("files", "web")
            check(len(files) == 1 and files[0]["packets"] == 300, "files --json %r" % files)
            disk = os.path.join(d.session_dir("web"), "web-000001.pcapng")
            check(files[0]["bytes"] == os.path.getsize(disk), "files: %d bytes, disk %d" % (files[0]["bytes"],
                                                                                          os.path.getsize(disk)))
            out_path = w.file("downloads", "web.pcapng")
            os.makedirs(os.path.dirname(out_path))
            r = ctl.run("download", "web", "web-000001.pcapng", "-o", out_path)
            check("saved" in r.stdout and out_path in r.stdout, "download output %r" % r.stdout)
            check(sha256_file(out_path) == sha256_file(disk), "downloaded web-000001.pcapng differs from the disk")
            ok, info = capinfos_ok(out_path)
            check(ok and "300" in info, "capinfos on the download: " + info)
            # Without -o: the file's own name in the working directory.
            cwd = w.file("downloads")
            r = ctl.json("download", "slow", "slow-000001.pcap", cwd=cwd)
            check(r == {"file": "slow-000001.pcap", "path": "slow-000001.pcap"}, "download --json %r" % r)
            got = os.path.join(cwd, "slow-000001.pcap")
            check(sha256_file(got) == sha256_file(os.path.join(d.session_dir("slow"), "slow-000001.pcap")),
                  "downloaded slow-000001.pcap differs")
            _, recs = read_pcap(open(got, "rb").read())
            check(len(recs) == ctl.show("slow")["packets"], "slow download: %d records" % len(recs))
            # A file that does not exist: exit 1, nothing left behind.
            missing = w.file("downloads", "missing.pcap")
            r = ctl.run("download", "web", "web-000009.pcapng", "-o", missing, expect=1)
            check("NotFound" in r.stderr and "404" in r.stderr, "download of a missing file: %r" % r.stderr)
            check(not os.path.exists(missing) and not os.path.exists(missing + ".part"),
                  "a failed download left a file: %r" % os.listdir(cwd))

            # An output path that cannot be written is a local error (1), not "no server" (3).
            r = ctl.run("download", "web", "web-000001.pcapng", "-o", w.file("no-such-dir", "x.pcapng"), expect=1)
            check("cannot write" in r.stderr and "cannot reach" not in r.stderr, "unwritable -o: %r" % r.stderr)

            # ---- delete ----
            r = ctl.run("delete", "web", "--purge")
            check("deleted web" in r.stdout, "delete --purge output %r" % r.stdout)
            check(not os.path.exists(d.session_dir("web")), "delete --purge left %s" % d.session_dir("web"))
            r = ctl.json("delete", "slow")
            check(r.get("deleted") is True and r.get("purged") is False, "delete --json %r" % r)
            check(os.path.exists(os.path.join(d.session_dir("slow"), "slow-000001.pcap")), "delete without --purge")
            r = ctl.run("show", "web", expect=1)
            check("NotFound" in r.stderr and "[name]" in r.stderr, "show of a deleted session: %r" % r.stderr)

            # ---- errors ----
            r = ctl.run("create", "bad", "--proto", "tcp", "--dport", "80-", expect=1)
            check("HTTP 400" in r.stderr and "80-" in r.stderr and "[filters[0].destinationPorts[0]]" in r.stderr,
                  "bad filter: %r" % r.stderr)
            bad_yaml = write(w.file("bad.yaml"), "filters:\n  - protocols: [tcpp]\n")
            r = ctl.run("create", "bad", "--file", bad_yaml, expect=1)
            check("tcpp" in r.stderr and "[filters[0].protocols[0]]" in r.stderr, "bad YAML filter: %r" % r.stderr)
            bad_vpn = write(w.file("bad-vpn.json"), json.dumps({"TracingFlags": 4}))
            r = ctl.run("create", "bad", "--file", bad_vpn, expect=1)
            check("[TracingFlags]" in r.stderr, "bad VPN body: %r" % r.stderr)
            r = ctl.run("create", "web2", "--snap", "300000", expect=1)
            check("[bytesToCapturePerPacket]" in r.stderr, "bad snap: %r" % r.stderr)
            r = ctl.run("create", "flags", expect=1)
            check("AlreadyExists" in r.stderr and "409" in r.stderr, "existing name: %r" % r.stderr)
            r = ctl.run("create", "bad/name", expect=1)
            check("[name]" in r.stderr, "bad name: %r" % r.stderr)
            for args in (("show", "nope"), ("stop", "nope"), ("files", "nope"), ("delete", "nope")):
                r = ctl.run(*args, expect=1)
                check("NotFound" in r.stderr and "HTTP 404" in r.stderr and "nope" in r.stderr,
                      "%s: %r" % (" ".join(args), r.stderr))
            check("bad" not in [s["name"] for s in ctl.json("list")], "a refused create made a session")
            dead = "http://127.0.0.1:%d" % free_port()
            r = ctl.run("ports", server=dead, expect=3)
            check("cannot reach" in r.stderr, "no server: %r" % r.stderr)
            ctl.run("show", "flags", server=dead, expect=3)
            ctl.run(expect=2)
            ctl.run("frobnicate", expect=2)
            ctl.run("create", expect=2)
            ctl.run("create", "x", "--max-packets", "many", expect=2)
            ctl.run("create", "x", "--file", w.file("no-such.json"), expect=2)
            check("x" not in [s["name"] for s in ctl.json("list")], "a usage error made a session")

            # ---- token and server from every source ----
            r = ctl.run("list", token=None, expect=1)
            check("Unauthorized" in r.stderr and "HTTP 401" in r.stderr and "[Authorization]" in r.stderr,
                  "no token: %r" % r.stderr)
            r = ctl.run("list", token="wrong", expect=1)
            check("[Authorization]" in r.stderr, "wrong token: %r" % r.stderr)
            ctl.run("list", token=None, env={"TRAWL_TOKEN": TOKEN})
            token_file = write(w.file("token"), TOKEN + "\n")
            os.chmod(token_file, 0o600)
            ctl.run("--token-file", token_file, "list", token=None)
            ctl.run("list", token=None, env={"TRAWL_TOKEN_FILE": token_file})
            ctl.run("list", token=None, env={"TRAWL_TOKEN": "wrong"}, expect=1)
            ctl.run("list", token=TOKEN, env={"TRAWL_TOKEN": "wrong"})  # the flag wins
            ctl.run("list", token=TOKEN, env={"TRAWL_TOKEN_FILE": w.file("no-such-token")})  # not even read
            ctl.run("list", token=None, env={"TRAWL_TOKEN_FILE": w.file("no-such-token")}, expect=2)
            r = ctl.run("list", server=False, env={"TRAWL_SERVER": d.url})
            check("flags" in r.stdout, "TRAWL_SERVER list: %r" % r.stdout)
            ctl.run("list", server=False, env={"TRAWL_SERVER": dead}, expect=3)
            ctl.run("list", env={"TRAWL_SERVER": dead})  # the flag wins
            r = ctl.run("metrics")
            check("trawl_port_rx_packets_total" in r.stdout, "metrics: %r" % r.stdout[:300])

            for name in ctl.json("list"):
                ctl.run("delete", name["name"], "--purge")
            check(ctl.json("list") == [], "sessions left")
            rc = d.stop()
            check(rc == 0, "trawld exited %s:\n%s" % (rc, d.read_log()[-3000:]))
        w.ok = True
    print("trawlctl: OK (%d trawlctl runs, %.1fs)" % (ctl.calls, time.time() - started))


if __name__ == "__main__":
    main()
