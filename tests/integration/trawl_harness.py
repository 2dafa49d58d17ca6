"""Drives the real trawld in integration tests: writes a config, starts the daemon on
vdevs with its own EAL file prefix and API port, talks to its REST API, stops it.

Standard library only (the tests run on a fresh Debian 12 with no pip). Paths to the
built programs come from the environment that meson sets (see meson.build here).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

TRAWLD = os.environ.get("TRAWLD", "build/control/trawld")
TRAWLCTL = os.environ.get("TRAWLCTL", "build/control/trawlctl")
TRAWL_VERIFY = os.environ.get("TRAWL_VERIFY", "build/tests/trawl-verify")
PCAP_CONCAT = os.environ.get("PCAP_CONCAT", "build/tests/pcap-concat")
TRAFFICGEN = os.environ.get("TRAFFICGEN", "build/perf/trawl-trafficgen")
SOURCE_ROOT = os.environ.get("TRAWL_SOURCE_ROOT", os.getcwd())
CORPUS = os.environ.get("TRAWL_CORPUS", os.path.join(SOURCE_ROOT, "..", "shared", "corpus", "tcpdump"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def corpus_files():
    files = sorted(os.path.join(CORPUS, f) for f in os.listdir(CORPUS) if f.endswith((".pcap", ".pcapng")))
    if not files:
        raise RuntimeError("no corpus files in " + CORPUS)
    return files


class Workdir:
    """A temporary directory removed at the end unless the test failed (kept for
    inspection) or TRAWL_KEEP_TEST_DIRS is set."""

    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix="trawl-" + name + "-")
        self.ok = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None and not os.environ.get("TRAWL_KEEP_TEST_DIRS"):
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            print("kept test directory", self.path)

    def file(self, *parts):
        return os.path.join(self.path, *parts)


class ApiError(Exception):
    pass


class Trawld:
    """One trawld process. `ports` are device strings; `sessions` config items."""

    def __init__(self, workdir, ports, sessions=None, workers=1, writers=1, token=None,
                 capture=None, dataplane=None, extra=None, name="trawld", api_port=None,
                 rx_queues=None):
        self.workdir = workdir
        self.api_port = api_port or free_port()
        self.token = token
        self.root = workdir.file("captures")
        self.log_path = workdir.file(name + ".log")
        self.config_path = workdir.file(name + ".yaml")
        self.proc = None
        eal = ["--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "--no-telemetry",
               "--file-prefix=trawl-test-%d-%s" % (os.getpid(), name), "--log-level=*:warning"]
        config = {
            "dpdk": {"eal": eal, "hugepages": "no"},
            "ports": [{"device": d, "rx_queues": (rx_queues[i] if rx_queues else 1)} for i, d in enumerate(ports)],
            "workers": workers,
            "writers": writers,
            # Shared 2-core machine: idle workers sleep a little instead of spinning.
            "dataplane": dict({"worker_idle_sleep_us": 20}, **(dataplane or {})),
            "capture": dict({"root": self.root}, **(capture or {})),
            "api": {"listen": "127.0.0.1:%d" % self.api_port},
            "log_level": os.environ.get("TRAWL_TEST_LOG_LEVEL", "info"),
        }
        if token:
            token_file = workdir.file(name + ".token")
            with open(token_file, "w") as f:
                f.write(token + "\n")
            os.chmod(token_file, 0o600)
            config["api"]["token_file"] = token_file
        if sessions:
            config["sessions"] = sessions
        if extra:
            config.update(extra)
        self.config = config
        self.write_config()

    def write_config(self):
        # JSON is YAML: the config is written as JSON to keep quoting exact.
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.api_port

    def start(self, wait=True, timeout=30):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([TRAWLD, "--config", self.config_path], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("trawld exited with %d:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                status, _ = self.request("GET", "/healthz")
                if status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError("trawld not ready after %ss:\n%s" % (timeout, self.read_log()))

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def request(self, method, path, body=None, raw=None, headers=None, token=None, timeout=60):
        """Returns (status, parsed JSON or text/bytes). `body` is JSON-encoded;
        `raw` is sent as is (bytes)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        tok = token if token is not None else self.token
        if tok:
            req.add_header("Authorization", "Bearer " + tok)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, content, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, content, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
        if "json" in ctype:
            return status, json.loads(content)
        if ctype.startswith("text/"):
            return status, content.decode()
        return status, content

    def api(self, method, path, body=None, expect=(200, 201)):
        status, data = self.request(method, path, body)
        if status not in expect:
            raise ApiError("%s %s -> %d %s" % (method, path, status, data))
        return data

    def ports(self):
        return self.api("GET", "/v1/ports")

    def session(self, name):
        return self.api("GET", "/v1/captures/" + name)

    def wait_rx(self, total, timeout=120):
        """Waits until the ports together received `total` packets."""
        deadline = time.time() + timeout
        got = -1
        while time.time() < deadline:
            got = sum(p["rxPackets"] for p in self.ports())
            if got >= total:
                return got
            time.sleep(0.05)
        raise RuntimeError("ports received %d of %d packets" % (got, total))

    def wait_for(self, predicate, timeout=60, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = predicate()
            if v:
                return v
            time.sleep(0.05)
        raise RuntimeError("timed out waiting for " + what)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Stops the daemon; returns its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("trawld did not stop within %ss after %s:\n%s" % (timeout, sig, self.read_log()))

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def session_dir(self, name):
        return os.path.join(self.root, name)

    def capture_files(self, name):
        """The complete capture files of a session, in file order."""
        d = self.session_dir(name)
        return sorted(os.path.join(d, f) for f in os.listdir(d)
                      if f.startswith(name + "-") and f.endswith((".pcap", ".pcapng")))

    def __enter__(self):
        return self

    def __exit__(self, *_):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s exited %d\nstdout: %s\nstderr: %s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


def verify(spec, inputs, outputs, extra=()):
    """Runs trawl-verify; returns its JSON summary (raises on mismatch)."""
    spec_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(spec, spec_file)
    spec_file.close()
    try:
        cmd = [TRAWL_VERIFY, "--spec", spec_file.name]
        for i in inputs:
            cmd += ["--input", i]
        for o in outputs:
            cmd += ["--output", o]
        r = run(cmd + list(extra), check=False)
        summary = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {}
        if r.returncode != 0:
            raise AssertionError("trawl-verify found mismatches: %s\n%s" % (r.stdout, r.stderr[:3000]))
        return summary
    finally:
        os.unlink(spec_file.name)


def capinfos_ok(path):
    r = subprocess.run(["capinfos", "-c", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode == 0, r.stdout + r.stderr


def tshark_ok(path):
    r = subprocess.run(["tshark", "-r", path, "-c", "1000000"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    return r.returncode == 0, r.stderr


def check(condition, message):
    if not condition:
        raise AssertionError(message)
