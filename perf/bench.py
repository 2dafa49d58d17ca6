#!/usr/bin/env python3
"""trawl's benchmark harness (DESIGN §4, issues 4 and 5): every scenario side by side with
its baseline, measured in the same run on the same machine and the same traffic.

  S1 worker ceiling   trawld, one worker, on a net_pcap infinite replay, vs
                      dpdk-testpmd --forward-mode=rxonly on the same replay and CPU
  S2 line rate        testpmd (io: replay -> memif server) -> memif -> trawld (client)
  S3 full capture     every packet written, snap 128: trawld's writer vs tcpdump -r/-w,
                      dpdk-dumpcap on testpmd, and the disk's own sequential ceiling (fio)
  S4 rules            RuleSet build time per rule count; a session started and stopped
                      under full load: packets lost by the other sessions
  P  patterns         Mpps with 10/100/1000 Hyperscan patterns (literals, regexes) on
                      64- and 512-byte payloads next to the same session without patterns

Run through perf/run.sh (builds a release tree, reserves hugepages). --smoke runs every
scenario for a moment on small inputs: it checks the harness, not the speed.
Standard library only.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hugepages_free_mb():
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        size_kb = int(info["Hugepagesize"].split()[0])
        return int(info["HugePages_Free"].split()[0]) * size_kb // 1024
    except (OSError, KeyError, ValueError):
        return 0


def hugetlbfs_mounted():
    with open("/proc/mounts") as f:
        return any(line.split()[2] == "hugetlbfs" for line in f)


class Env:
    """What every scenario shares: programs, scratch directory, memory mode, timing."""

    def __init__(self, args):
        self.build = os.path.abspath(args.build)
        self.trawld = os.path.join(self.build, "control", "trawld")
        self.trafficgen = os.path.join(self.build, "perf", "trawl-trafficgen")
        self.smoke = args.smoke
        self.seconds = args.seconds or (1.0 if args.smoke else 5.0)
        self.work = tempfile.mkdtemp(prefix="trawl-perf-", dir=args.workdir)
        self.huge = (not args.no_huge) and hugetlbfs_mounted() and hugepages_free_mb() >= 2048
        self.counter = 0
        self.rows = []
        self.notes = []
        self.cpus = os.cpu_count() or 1

    def eal_memory(self, mb=1536):
        """EAL memory arguments for one process: hugepages when there are enough, else
        --no-huge with an explicit -m (the default of 64 MiB is too small)."""
        if self.huge:
            return ["--socket-mem", str(mb)]
        return ["--no-huge", "-m", str(mb)]

    def prefix(self, name):
        self.counter += 1
        return "trawl-perf-%d-%s-%d" % (os.getpid(), name, self.counter)

    def release_hugepages(self):
        """A DPDK process that is killed (or exits without rte_eal_cleanup) leaves its
        hugepage files behind, and with them the pages: remove this run's."""
        prefix = "trawl-perf-%d-" % os.getpid()
        for mnt in ("/dev/hugepages", "/mnt/huge"):
            try:
                names = os.listdir(mnt)
            except OSError:
                continue
            for n in names:
                if n.startswith(prefix):
                    try:
                        os.unlink(os.path.join(mnt, n))
                    except OSError:
                        pass

    def row(self, scenario, case, measured, baseline_name, baseline, ratio, target, cores):
        self.rows.append(dict(scenario=scenario, case=case, measured=measured, baseline_name=baseline_name,
                              baseline=baseline, ratio=ratio, target=target, cores=cores))
        log("  %-3s %-34s %-26s %-30s %s" % (scenario, case, measured, "%s %s" % (baseline_name, baseline),
                                             ratio))


# ---------------------------------------------------------------------------------------
# Traffic and rule sets
# ---------------------------------------------------------------------------------------
# trafficgen's flow f has IPv4 source 10.(f>>16).(f>>8).(f) and IPv6 source
# fd00::(f as the last 24 bits); flows are drawn uniformly from --flows. With 25,600
# flows, flows 0..255 are exactly 1%: 10.0.0.0/24 and fd00::/120.
FLOWS = 25600
MATCH_RULES = {
    0.0: [],
    0.01: [{"sourceSubnets": ["10.0.0.0/24"]}, {"sourceSubnets": ["fd00::/120"]}],
    1.0: [{"sourceSubnets": ["10.0.0.0/8"]}, {"sourceSubnets": ["fd00::/16"]}],
}


def traffic(env, name, mix, packets, extra=()):
    path = os.path.join(env.work, name + ".pcap")
    if not os.path.exists(path):
        subprocess.run([env.trafficgen, "--mix", mix, "--packets", str(packets), "--flows", str(FLOWS),
                        "--ipv6", "20", "--seed", "11", "--out", path] + list(extra), check=True)
    return path


def rule_sessions(rules, match, snap=128, patterns=None):
    """`rules` tuple rules over min(16, rules) sessions: the rules that select `match` of
    the traffic sit in the first session, the rest are /32 host + port rules that no
    packet hits (10.200.0.0/16, outside the traffic's 10.0.0.0/16) so the ACL tries
    are as large as the count says. Every session writes a two-file ring buffer."""
    match_filters = MATCH_RULES[match]
    filler = rules - len(match_filters)
    if filler < 0:
        raise ValueError("%d rules cannot hold the match rules" % rules)
    if match_filters:
        # Session 0 holds the match rules; the filler goes to the others first.
        sessions_n = min(16, 1 + filler)
        others = sessions_n - 1
        per = [0] + [filler // others + (1 if i < filler % others else 0) for i in range(others)] if others else [0]
    else:
        sessions_n = max(1, min(16, filler))
        per = [filler // sessions_n + (1 if i < filler % sessions_n else 0) for i in range(sessions_n)]
    sessions = []
    host = 0
    for i in range(sessions_n):
        filters = list(match_filters) if i == 0 else []
        hosts = []
        for _ in range(per[i]):
            hosts.append("10.200.%d.%d" % (host >> 8, host & 255))
            host += 1
        # 1,024 items per list at most: split into filters of up to 1,000 hosts.
        for k in range(0, len(hosts), 1000):
            filters.append({"sourceSubnets": hosts[k:k + 1000], "destinationPorts": ["443"]})
        if not filters:
            raise ValueError("session %d would have no filter (capture everything)" % i)
        s = {"name": "s%02d" % i, "filters": filters, "bytesToCapturePerPacket": snap,
             "fileSizeInBytes": 64 << 20, "fileCount": 2, "timeLimitInSeconds": 86400, "totalBytesPerSession": 0}
        if patterns and i == 0:
            s["payloadPatterns"] = patterns
        sessions.append(s)
    return sessions


# ---------------------------------------------------------------------------------------
# trawld
# ---------------------------------------------------------------------------------------
class Trawld:
    def __init__(self, env, name, ports, sessions=(), workers=1, writers=1, eal_extra=(), dataplane=None,
                 capture=None, mbufs=None, classifier=None):
        self.env = env
        self.dir = os.path.join(env.work, name + "-%d" % env.counter)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        eal = ["--no-pci", "--no-shconf", "--no-telemetry", "--file-prefix=" + env.prefix(name),
               "--log-level=*:warning"] + env.eal_memory() + list(eal_extra)
        config = {
            "dpdk": {"eal": eal, "hugepages": "yes" if env.huge else "no"},
            "ports": [dict({"device": d}, **extra) for d, extra in ports],
            "workers": workers, "writers": writers,
            "dataplane": dict({"worker_idle_sleep_us": 0}, **(dataplane or {})),
            "capture": dict({"root": os.path.join(self.dir, "captures"), "max_sessions": 64,
                             "limits": {"max_rules_per_session": 100000}}, **(capture or {})),
            "api": {"listen": "127.0.0.1:%d" % self.port},
            "sessions": list(sessions),
        }
        if classifier:
            config["classifier"] = {"algorithm": classifier}
        # An infinite net_pcap replay holds the whole file in mbufs: room for the
        # traffic files (65,536 records at most) and the RX ring.
        config["dpdk"]["mbufs_per_port"] = mbufs or 131071
        self.config_path = os.path.join(self.dir, "trawld.yaml")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=1)
        self.log_path = os.path.join(self.dir, "trawld.log")
        self.proc = None

    def __enter__(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.env.trawld, "--config", self.config_path], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("trawld exited %d:\n%s" % (self.proc.returncode, open(self.log_path).read()))
            try:
                if self.get("/healthz")["status"] == "ok":
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("trawld did not become ready")

    def __exit__(self, *_):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(os.path.join(self.dir, "captures"), ignore_errors=True)
        self.env.release_hugepages()

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def get(self, path):
        status, body = self.call("GET", path)
        if status != 200:
            raise RuntimeError("GET %s: %d %s" % (path, status, body[:300]))
        return json.loads(body)

    def metrics(self):
        """The /metrics text as {name{labels}: value}, and summed by name."""
        status, body = self.call("GET", "/metrics")
        samples, sums = {}, {}
        for line in body.decode().splitlines():
            if not line or line[0] == "#":
                continue
            key, _, value = line.rpartition(" ")
            try:
                v = float(value)
            except ValueError:
                continue
            samples[key] = v
            name = key.split("{", 1)[0]
            sums[name] = sums.get(name, 0.0) + v
        return samples, sums

    def worker_tids(self):
        tids = []
        for tid in os.listdir("/proc/%d/task" % self.proc.pid):
            try:
                with open("/proc/%d/task/%s/comm" % (self.proc.pid, tid)) as f:
                    if f.read().strip().startswith("rte-worker"):
                        tids.append(int(tid))
            except OSError:
                pass
        return tids

    def measure(self, seconds, profile=False):
        """Counters over `seconds` of steady state: rx/s, drops, cycles per packet, and
        (profile=True, when `perf` exists) where the worker's cycles go, by library."""
        _, m0 = self.metrics()
        p0 = self.get("/v1/ports")
        t0 = time.time()
        stages = None
        if profile and shutil.which("perf") and self.worker_tids():
            stages = perf_stages(self.worker_tids()[0], seconds, self.dir)
        else:
            time.sleep(seconds)
        dt = time.time() - t0
        _, m1 = self.metrics()
        p1 = self.get("/v1/ports")
        d = {k: m1.get(k, 0.0) - m0.get(k, 0.0) for k in m1}
        rx = sum(p["rxPackets"] for p in p1) - sum(p["rxPackets"] for p in p0)
        missed = sum(p.get("rxMissed", 0) for p in p1) - sum(p.get("rxMissed", 0) for p in p0)
        wrx = d.get("trawl_worker_rx_packets_total", 0.0)
        busy = d.get("trawl_worker_busy_cycles_total", 0.0)
        return {
            "seconds": dt,
            "rx_pps": rx / dt,
            "missed": missed,
            "ring_full": d.get("trawl_ring_full_drops_total", 0.0),
            "matched": d.get("trawl_worker_matched_packets_total", 0.0),
            "records_ps": d.get("trawl_writer_records_total", 0.0) / dt,
            "written_Bps": d.get("trawl_writer_written_bytes_total", 0.0) / dt,
            "cycles_per_packet": busy / wrx if wrx else 0.0,
            "pattern_scanned": d.get("trawl_worker_pattern_scanned_packets_total", 0.0),
            "pattern_cycles_per_scan": (d.get("trawl_worker_pattern_scan_cycles_total", 0.0) /
                                        d["trawl_worker_pattern_scanned_packets_total"])
            if d.get("trawl_worker_pattern_scanned_packets_total") else 0.0,
            "stages": stages,
        }


STAGE_OF_DSO = [
    ("librte_net_pcap", "rx (net_pcap PMD)"),
    ("librte_net_memif", "rx (memif PMD)"),
    ("librte_mempool", "mbuf free/alloc"),
    ("librte_mbuf", "mbuf free/alloc"),
    ("librte_ring", "handoff (ring)"),
    ("librte_acl", "classify (rte_acl)"),
    ("libhs", "payload patterns (Hyperscan)"),
    ("trawld", "parse, handoff, loop (trawld)"),
    ("libc", "libc (memcpy)"),
    ("[kernel", "kernel"),
]


def perf_stages(tid, seconds, workdir):
    """perf record on the worker thread; share of samples per library, mapped to stages."""
    data = os.path.join(workdir, "perf.data")
    r = subprocess.run(["perf", "record", "-q", "-F", "2999", "-t", str(tid), "-o", data, "--", "sleep",
                        "%.1f" % seconds], capture_output=True, text=True)
    if r.returncode != 0:
        time.sleep(seconds)
        return None
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", "dso", "-q"],
                         capture_output=True, text=True)
    os.unlink(data)
    shares = {}
    for line in rep.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)", line)
        if not m:
            continue
        pct, dso = float(m.group(1)), m.group(2)
        stage = next((s for k, s in STAGE_OF_DSO if dso.startswith(k)), "other (" + dso + ")")
        shares[stage] = shares.get(stage, 0.0) + pct
    return shares or None


# ---------------------------------------------------------------------------------------
# dpdk-testpmd
# ---------------------------------------------------------------------------------------
def testpmd(env, name, vdevs, fwd_args, seconds, lcores):
    """Runs testpmd non-interactively with --stats-period 1; returns per-port lists of
    Rx-pps/Tx-pps samples (the first two dropped: start-up) and the final forward
    statistics text."""
    cmd = ["dpdk-testpmd", "--lcores=" + lcores, "--no-pci", "--no-telemetry", "--file-prefix=" + env.prefix(name),
           "--log-level=*:warning"] + env.eal_memory(1024)
    for v in vdevs:
        cmd += ["--vdev", v]
    cmd += ["--", "--stats-period", "1", "--no-flush-rx", "--total-num-mbufs", "131072"] + list(fwd_args)
    out_path = os.path.join(env.work, name + "-%d.log" % env.counter)
    with open(out_path, "wb") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return p, out_path


def testpmd_stop(p, out_path, env=None):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    text = open(out_path, errors="replace").read()
    if env is not None:
        env.release_hugepages()
    rates = {}
    for block in re.findall(r"NIC statistics for port (\d+).*?Rx-pps:\s+(\d+).*?Tx-pps:\s+(\d+)", text, re.S):
        port, rx, tx = int(block[0]), int(block[1]), int(block[2])
        rates.setdefault(port, []).append((rx, tx))
    fwd = {}
    for port, body in re.findall(r"Forward statistics for port (\d+)\s+-+\n(.*?)\n\s+-{10,}", text, re.S):
        nums = dict((k, int(v)) for k, v in re.findall(r"([A-Z]+-[a-z]+):\s+(\d+)", body))
        fwd[int(port)] = nums
    return rates, fwd, text


def steady(samples, col):
    vals = [s[col] for s in samples[2:]] or [s[col] for s in samples]
    vals = [v for v in vals if v > 0] or [0]
    return statistics.median(vals)


# ---------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------
def s1(env, results):
    log("S1 worker ceiling: trawld (1 worker) vs testpmd rxonly, net_pcap infinite replay of 64-byte frames")
    t64 = traffic(env, "t64", "64", 65536)
    replay = "net_pcap0,rx_pcap=%s,infinite_rx=1" % t64
    # The same CPU polls in both: testpmd's forwarding lcore and trawld's worker on CPU 1.
    p, path = testpmd(env, "s1-testpmd", [replay], ["--forward-mode=rxonly"], env.seconds + 3,
                      "0@0,1@%d" % (1 if env.cpus > 1 else 0))
    time.sleep(env.seconds + 3)
    rates, _, _ = testpmd_stop(p, path, env)
    ceiling = steady(rates.get(0, [(0, 0)]), 0)
    results["testpmd_rxonly_pps"] = ceiling
    # (rules, match, rte_acl method): "default" lets DPDK pick within the EAL's SIMD
    # width (256 bits unless --force-max-simd-bitwidth=512: AVX2 here); the AVX-512
    # rows measure the wider methods where the CPU has them.
    avx512 = "avx512f" in open("/proc/cpuinfo").read()
    cases = [(10, 0.01, None), (1024, 0.0, None), (1024, 0.01, None), (1024, 1.0, None), (10000, 0.01, None)]
    if avx512:
        cases += [(1024, 0.01, "avx512x16"), (10000, 0.01, "avx512x16"), (10000, 0.01, "avx512x32")]
    if env.smoke:
        cases = [(10, 0.01, None), (1024, 0.01, "avx512x16" if avx512 else None)]
    results["s1"] = []
    for rules, match, method in cases:
        eal_extra = ["--force-max-simd-bitwidth=512"] if method and method.startswith("avx512") else []
        with Trawld(env, "s1", [(replay, {})], rule_sessions(rules, match), eal_extra=eal_extra,
                    classifier=method) as d:
            time.sleep(1)
            m = d.measure(env.seconds)
            if rules == 1024 and match == 0.01 and not method:
                # A separate window: perf record slows the thread it samples.
                m["stages"] = d.measure(min(env.seconds, 3.0), profile=True)["stages"]
            rs = d.get("/v1/ports")  # keeps the daemon honest: still serving
            _, sums = d.metrics()
            built = sums.get("trawl_ruleset_rules", 0)
            build_s = sums.get("trawl_ruleset_build_duration_seconds", 0)
        ratio = m["rx_pps"] / ceiling if ceiling else 0
        results["s1"].append(dict(rules=rules, compiled_rules=built, match=match, method=method or "default",
                                  build_seconds=build_s, **m))
        target = ""
        if rules == 1024 and match == 0.01:
            target = ">= 0.9x testpmd"
        if rules == 10000:
            target = ">= 14.88 Mpps"
        env.row("S1", "%d rules (%d compiled), %g%% match, acl %s" % (rules, built, match * 100, method or "default"),
                "%.2f Mpps, %.0f cyc/pkt" % (m["rx_pps"] / 1e6, m["cycles_per_packet"]),
                "testpmd rxonly", "%.2f Mpps" % (ceiling / 1e6), "%.2fx" % ratio, target,
                "worker CPU 1; testpmd fwd CPU 1")
        assert rs, "no ports"


def s2(env, results):
    log("S2 line rate: testpmd io (net_pcap replay -> memif server) -> memif -> trawld (client)")
    t64 = traffic(env, "t64", "64", 65536)
    sock = os.path.join(env.work, "memif-%d.sock" % os.getpid())
    gen_cpu = 0
    rcv_cpu = 1 if env.cpus > 1 else 0
    p, path = testpmd(env, "s2-gen", ["net_pcap0,rx_pcap=%s,infinite_rx=1" % t64,
                                      "net_memif0,role=server,socket=%s,socket-abstract=no" % sock],
                      ["--forward-mode=io", "--burst=64"], 0, "0@%d,1@%d" % (rcv_cpu, gen_cpu))
    try:
        deadline = time.time() + 20
        while not os.path.exists(sock) and time.time() < deadline:
            time.sleep(0.1)
        # The writer shares CPU 0 with the generator on a 2-CPU box: its default 20 us
        # idle sleep wakes it ~50,000 times a second, which cost the generator three
        # quarters of its rate in the lab; 1 ms still drains a 1% session in time.
        with Trawld(env, "s2", [("net_memif0,role=client,socket=%s,socket-abstract=no" % sock,
                                 {"rx_descriptors": 4096})], rule_sessions(1024, 0.01),
                    dataplane={"writer_idle_sleep_us": 1000}) as d:
            time.sleep(2)
            m = d.measure(env.seconds)
    finally:
        rates, fwd, text = testpmd_stop(p, path, env)
    gen_tx = steady(rates.get(1, [(0, 0)]), 1)
    gen_rx = steady(rates.get(0, [(0, 0)]), 0)
    tx_dropped = fwd.get(1, {}).get("TX-dropped", 0)
    tx_packets = fwd.get(1, {}).get("TX-packets", 0)
    results["s2"] = dict(generator_tx_pps=gen_tx, generator_replay_pps=gen_rx, generator_tx_dropped=tx_dropped,
                         generator_tx_packets=tx_packets, **m)
    drops = m["missed"] + m["ring_full"]
    env.row("S2", "1024 rules, 1% match, memif",
            "%.2f Mpps rx, %d drops" % (m["rx_pps"] / 1e6, drops),
            "generator sent", "%.2f Mpps" % (gen_tx / 1e6), "%.2fx" % (m["rx_pps"] / gen_tx if gen_tx else 0),
            "0 drops at full rate", "gen fwd CPU %d, trawld worker CPU %d" % (gen_cpu, rcv_cpu))
    env.notes.append("S2: the generator could not hand %d packets to memif in its run (TX-dropped: memif ring "
                     "full, i.e. the receiver was slower than the generator at those moments); trawld's own drops "
                     "(missed + ring full) were %d." % (tx_dropped, drops))


def fio_ceiling(env, seconds):
    target = os.path.join(env.work, "fio.tmp")
    r = subprocess.run(["fio", "--name=seq", "--rw=write", "--bs=1M", "--direct=1", "--ioengine=libaio",
                        "--iodepth=8", "--size=%dM" % (256 if env.smoke else 2048), "--runtime=%d" % max(1, seconds),
                        "--time_based", "--filename=" + target, "--output-format=json"],
                       capture_output=True, text=True)
    try:
        os.unlink(target)
    except OSError:
        pass
    if r.returncode != 0:
        return None
    job = json.loads(r.stdout)["jobs"][0]
    return job["write"]["bw_bytes"]


def s3(env, results):
    log("S3 full capture, snap 128: trawld writer vs tcpdump -r/-w, dpdk-dumpcap, disk ceiling (fio)")
    t64 = traffic(env, "t64", "64", 65536)
    imix = traffic(env, "imix", "imix", 65536)
    results["s3"] = {}
    disk = fio_ceiling(env, env.seconds)
    results["s3"]["disk_Bps"] = disk
    for name, src in (("64B", t64), ("IMIX", imix)):
        # Back-pressure: the worker waits for the writer instead of dropping, so the
        # writer runs flat out; one session, no filter, snap 128.
        sessions = [{"name": "all", "bytesToCapturePerPacket": 128, "fileSizeInBytes": 256 << 20,
                     "fileCount": 4, "timeLimitInSeconds": 86400, "totalBytesPerSession": 0}]
        with Trawld(env, "s3", [("net_pcap0,rx_pcap=%s,infinite_rx=1" % src, {"backpressure": "on"})],
                    sessions) as d:
            time.sleep(1)
            m = d.measure(env.seconds)
        results["s3"][name] = m
        env.row("S3", "trawld 1 writer, %s, snap 128" % name,
                "%.2f Mrec/s, %.0f MB/s" % (m["records_ps"] / 1e6, m["written_Bps"] / 1e6),
                "disk (fio 1M direct)", "%.0f MB/s" % (disk / 1e6) if disk else "n/a",
                "%.2fx" % (m["written_Bps"] / disk) if disk else "n/a", ">= 0.8x disk" if name == "IMIX" else "",
                "worker CPU 1, writer CPU 0")
    # tcpdump reading a file and writing snap 128.
    big = traffic(env, "t64-big", "64", 200000 if env.smoke else 2000000)
    out = os.path.join(env.work, "tcpdump-out.pcap")
    t = time.time()
    subprocess.run(["tcpdump", "-r", big, "-w", out, "-s", "128"], check=True, capture_output=True)
    tcpdump_s = time.time() - t
    records = 200000 if env.smoke else 2000000
    os.unlink(out)
    results["s3"]["tcpdump_records_ps"] = records / tcpdump_s
    # dpdk-dumpcap attached to a testpmd primary reading the same 64-byte replay.
    dumpcap_rps, dumpcap_note = dumpcap(env, t64)
    results["s3"]["dumpcap_records_ps"] = dumpcap_rps
    trawl_rps = results["s3"]["64B"]["records_ps"]
    env.row("S3", "tcpdump -r IN -w OUT -s 128 (64B)", "%.2f Mrec/s" % (trawl_rps / 1e6), "tcpdump",
            "%.2f Mrec/s" % (records / tcpdump_s / 1e6), "%.2fx" % (trawl_rps / (records / tcpdump_s)), "",
            "tcpdump CPU any")
    env.row("S3", "dpdk-dumpcap on testpmd (64B)", "%.2f Mrec/s" % (trawl_rps / 1e6), "dpdk-dumpcap",
            "%.3f Mrec/s" % (dumpcap_rps / 1e6) if dumpcap_rps is not None else "n/a",
            ("%.1fx" % (trawl_rps / dumpcap_rps) if dumpcap_rps else "inf (dumpcap wrote 0)")
            if dumpcap_rps is not None else "n/a", ">= 5x dumpcap", "testpmd fwd CPU 1, dumpcap CPU 0")
    if dumpcap_note:
        env.notes.append("S3 dumpcap: " + dumpcap_note)


def dumpcap(env, src):
    """dpdk-dumpcap is a secondary process: it needs the primary's shared config and
    hugepage memory, so it only runs with hugepages."""
    if not env.huge or not shutil.which("dpdk-dumpcap"):
        return None, "skipped: needs hugepages (a secondary process maps the primary's memory)"
    prefix = env.prefix("s3-dumpcap")
    cmd = ["dpdk-testpmd", "--lcores=0@0,1@%d" % (1 if env.cpus > 1 else 0), "--no-pci", "--file-prefix=" + prefix,
           "--log-level=*:warning", "--socket-mem", "1024", "--vdev",
           "net_pcap0,rx_pcap=%s,infinite_rx=1" % src, "--", "--forward-mode=rxonly", "--stats-period", "1",
           "--no-flush-rx", "--total-num-mbufs", "131072"]
    out_path = os.path.join(env.work, "dumpcap-testpmd.log")
    out = os.path.join(env.work, "dumpcap.pcapng")
    with open(out_path, "wb") as o:
        p = subprocess.Popen(cmd, stdout=o, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        time.sleep(3)
        r = subprocess.run(["dpdk-dumpcap", "--file-prefix=" + prefix, "-i", "net_pcap0", "-s", "128", "-w", out,
                            "-a", "duration:%d" % max(1, int(env.seconds)), "-q"],
                           capture_output=True, text=True, timeout=60 + env.seconds)
    except subprocess.TimeoutExpired:
        return None, "dpdk-dumpcap did not finish"
    finally:
        testpmd_stop(p, out_path, env)
    if r.returncode != 0 or not os.path.exists(out):
        return None, "dpdk-dumpcap failed: " + (r.stderr or r.stdout).strip()[-300:]
    count = subprocess.run(["capinfos", "-c", "-M", "-T", out], capture_output=True, text=True).stdout
    m = re.findall(r"\t(\d+)\s*$", count, re.M)
    records = int(m[-1]) if m else 0
    os.unlink(out)
    return records / max(1.0, env.seconds), "captured %d records in %gs" % (records, max(1.0, env.seconds))


def s4(env, results):
    log("S4 rules: RuleSet build time per rule count; a session started and stopped under full load")
    t64 = traffic(env, "t64", "64", 65536)
    replay = "net_pcap0,rx_pcap=%s,infinite_rx=1" % t64
    results["s4"] = {"builds": []}
    counts = [10, 1024, 10000] if not env.smoke else [10, 1024]
    with Trawld(env, "s4", [(replay, {})], [{"name": "steady", "filters": MATCH_RULES[0.01],
                                             "bytesToCapturePerPacket": 128, "fileSizeInBytes": 64 << 20,
                                             "fileCount": 2, "timeLimitInSeconds": 86400, "totalBytesPerSession": 0}]) as d:
        time.sleep(1)
        before = d.get("/v1/captures/steady")
        for n in counts:
            specs = rule_sessions(n, 0.0)
            # One session holding n rules (over the same hosts the 16-session sets use).
            filters = [f for s in specs for f in s["filters"]]
            body = {"filters": filters, "bytesToCapturePerPacket": 64, "fileSizeInBytes": 16 << 20, "fileCount": 2}
            t = time.time()
            status, reply = d.call("PUT", "/v1/captures/churn", body)
            put_s = time.time() - t
            if status != 201:
                raise RuntimeError("PUT churn: %d %s" % (status, reply[:300]))
            _, sums = d.metrics()
            build_s = sums.get("trawl_ruleset_build_duration_seconds", 0)
            rules = sums.get("trawl_ruleset_rules", 0)
            time.sleep(0.5)
            t = time.time()
            status, _ = d.call("DELETE", "/v1/captures/churn?purge=true")
            del_s = time.time() - t
            results["s4"]["builds"].append(dict(rules=n, compiled=rules, build_seconds=build_s, put_seconds=put_s,
                                                delete_seconds=del_s))
            env.row("S4", "build %d rules (+ steady: %d compiled)" % (n, rules),
                    "%.3f s build, PUT %.3f s" % (build_s, put_s), "target", "1 s", "%.2fx" % (build_s / 1.0),
                    "< 1 s at 10,000" if n == 10000 else "", "control thread")
        after = d.get("/v1/captures/steady")
    lost = after["droppedPackets"]["ringFull"] - before["droppedPackets"]["ringFull"]
    results["s4"]["steady_lost"] = lost
    results["s4"]["steady_packets"] = after["packets"] - before["packets"]
    env.row("S4", "steady session while others churn", "%d lost of %d" % (lost, after["packets"] - before["packets"]),
            "target", "0", "", "0 lost", "worker CPU 1")


PATTERN_WORDS = ["xylophone", "quartzite", "zeppelin", "jukebox", "wombat", "kumquat", "fjord", "sphinx",
                 "mnemonic", "rhythm", "syzygy", "gazebo", "oxygen", "vortex", "bazooka", "pajamas"]


def pattern_set(n, kind):
    """n patterns that never match the text mix (so every byte is scanned): literals
    are word pairs absent from its vocabulary; regexes add classes and repetition."""
    out = []
    for i in range(n):
        a, b = PATTERN_WORDS[i % 16], PATTERN_WORDS[(i // 16) % 16]
        if kind == "literal":
            out.append("%s %s %d" % (a, b, i))
        else:
            out.append("(?i)%s\\s+[a-z]{2,8}\\d{%d}" % (a, 1 + i % 5) if i % 2 else
                       "%s[^\\n]{0,20}%s=\\w+%d" % (a, b, i))
    return out


def patterns(env, results):
    log("P payload patterns: Mpps per worker with Hyperscan patterns vs the same session without")
    results["patterns"] = []
    sizes = [64, 512]
    counts = [10, 100, 1000] if not env.smoke else [10]
    for size in sizes:
        src = traffic(env, "text%d" % size, "text", 65536 if size == 64 else 32768, ["--payload-bytes", str(size)])
        replay = "net_pcap0,rx_pcap=%s,infinite_rx=1" % src
        base = None
        runs = [("none-0", 0), ("none-100", 0)] + [(k, n) for k in ("literal", "regex") for n in counts]
        for kind, n in runs:
            # With patterns: one session over 10.0.0.0/8 + fd00::/16 (every packet), so
            # every packet is scanned; no pattern matches, so nothing is written. The
            # baseline is the same run with no patterns and a tuple filter that matches
            # nothing (classification only, nothing handed to a writer); the 100% row
            # shows what handing every packet to the writer costs instead.
            s = {"name": "p", "filters": MATCH_RULES[0.0 if kind == "none-0" else 1.0] or
                 [{"sourceSubnets": ["10.200.0.1"]}], "bytesToCapturePerPacket": 64,
                 "fileSizeInBytes": 64 << 20, "fileCount": 2, "timeLimitInSeconds": 86400, "totalBytesPerSession": 0}
            if n:
                s["payloadPatterns"] = pattern_set(n, kind)
            with Trawld(env, "pat", [(replay, {})], [s],
                        capture={"limits": {"max_payload_patterns": 1000, "max_rules_per_session": 100000}}) as d:
                time.sleep(1)
                m = d.measure(env.seconds)
            if kind == "none-0":
                base = m["rx_pps"]
            results["patterns"].append(dict(payload=size, kind=kind, patterns=n, **m))
            label = {"none-0": "no patterns, 0% tuple match", "none-100": "no patterns, 100% written"}.get(
                kind, "%d %s%s" % (n, kind, "s" if kind == "literal" else "es"))
            env.row("P", "%dB payload, %s" % (size, label),
                    "%.2f Mpps" % (m["rx_pps"] / 1e6) + (", %.0f cyc/scan" % m["pattern_cycles_per_scan"] if n else ""),
                    "no patterns, 0%", "%.2f Mpps" % (base / 1e6), "%.2fx" % (m["rx_pps"] / base if base else 0), "",
                    "worker CPU 1")


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags = open("/proc/cpuinfo").read()
    simd = "avx512" if "avx512f" in flags else ("avx2" if "avx2" in flags else "sse")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    dpdk = subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True, text=True).stdout.strip()
    return "%s, %d CPUs (%s), %.0f GiB, Linux %s, DPDK %s" % (cpu, os.cpu_count(), simd, mem, platform.release(), dpdk)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build-perf"))
    ap.add_argument("--smoke", action="store_true", help="every scenario briefly, small inputs (CI)")
    ap.add_argument("--seconds", type=float, default=0, help="measurement window per case (default 5, smoke 1)")
    ap.add_argument("--only", default="s1,s2,s3,s4,patterns", help="comma-separated scenarios")
    ap.add_argument("--json", help="write all figures here")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--no-huge", action="store_true")
    args = ap.parse_args()
    env = Env(args)
    results = {"machine": machine(), "hugepages": env.huge, "smoke": env.smoke, "seconds": env.seconds,
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    log("trawl perf: %s; hugepages %s; %gs per case; work dir %s" % (results["machine"], "yes" if env.huge else "no",
                                                                     env.seconds, env.work))
    t0 = time.time()
    scenarios = {"s1": s1, "s2": s2, "s3": s3, "s4": s4, "patterns": patterns}
    failed = []
    try:
        for name in args.only.split(","):
            try:
                scenarios[name](env, results)
            except Exception as e:  # one scenario's failure must not hide the others' figures
                failed.append(name)
                log("%s FAILED: %s" % (name, e))
                results.setdefault("failures", {})[name] = str(e)
    finally:
        shutil.rmtree(env.work, ignore_errors=True)
    results["rows"] = env.rows
    results["notes"] = env.notes
    results["seconds_total"] = time.time() - t0
    print("\ntrawl perf — %s" % results["machine"])
    print("hugepages: %s; %gs per measurement; %s; total %.0f s\n" % (
        "yes" if env.huge else "no (--no-huge)", env.seconds, "SMOKE (harness check, not speed)" if env.smoke else
        "full run", results["seconds_total"]))
    print("| scen. | case | trawl | baseline | ratio | target | cores |")
    print("|---|---|---|---|---|---|---|")
    for r in env.rows:
        print("| %s | %s | %s | %s %s | %s | %s | %s |" % (r["scenario"], r["case"], r["measured"], r["baseline_name"],
                                                        r["baseline"], r["ratio"], r["target"], r["cores"]))
    for n in env.notes:
        print("\n- " + n)
    st = [x for x in results.get("s1", []) if x.get("stages")]
    if st:
        x = st[0]
        print("\nWhere the worker's cycles go (S1, %d rules, %g%% match; perf record on the worker thread):\n" %
              (x["rules"], x["match"] * 100))
        print("| stage | share | cycles/packet |")
        print("|---|---|---|")
        for stage, pct in sorted(x["stages"].items(), key=lambda kv: -kv[1]):
            print("| %s | %.1f%% | %.0f |" % (stage, pct, x["cycles_per_packet"] * pct / 100))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if failed:
        print("\nFAILED scenarios: " + ", ".join(failed))
        sys.exit(1)
    if env.smoke:
        check_smoke(results)


def check_smoke(results):
    """The harness is right if every scenario measured something real."""
    problems = []
    if not results.get("testpmd_rxonly_pps"):
        problems.append("testpmd baseline measured 0 pps")
    for x in results.get("s1", []):
        if x["rx_pps"] <= 0 or x["cycles_per_packet"] <= 0:
            problems.append("S1 %d rules: no packets measured" % x["rules"])
        if x["compiled_rules"] < x["rules"]:
            problems.append("S1 %d rules: only %d compiled" % (x["rules"], x["compiled_rules"]))
    s2r = results.get("s2", {})
    if s2r and (s2r["rx_pps"] <= 0 or s2r["generator_tx_pps"] <= 0):
        problems.append("S2: nothing crossed memif")
    s3r = results.get("s3", {})
    if s3r and (s3r["64B"]["records_ps"] <= 0 or not s3r.get("tcpdump_records_ps")):
        problems.append("S3: nothing written")
    s4r = results.get("s4", {})
    if s4r and s4r.get("steady_lost", 1) != 0:
        problems.append("S4: the steady session lost %s packets" % s4r.get("steady_lost"))
    for x in results.get("patterns", []):
        if x["patterns"] and x["pattern_scanned"] <= 0:
            problems.append("P: %d %s patterns scanned nothing" % (x["patterns"], x["kind"]))
    if problems:
        print("\nSMOKE FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("\nsmoke: every scenario measured real traffic")


if __name__ == "__main__":
    main()
