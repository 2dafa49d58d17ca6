"""A real Azurite (the Azure Blob Storage emulator) for the storage tests, and the SAS
tokens they need, made with Python's hmac from Azurite's well-known development key.

Azurite is installed by scripts/install-azurite.sh into tools/azurite/node_modules
(pinned to 3.35.0); nothing is downloaded here. Each Azurite runs on loopback on a free
port with its own data directory, so it can be stopped and started again with its
blobs (and uncommitted blocks) intact — which is how the tests cut the service off in
the middle of an upload.

Standard library only.
"""
import base64
import datetime
import hashlib
import hmac
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

from trawl_harness import SOURCE_ROOT, free_port

ACCOUNT = "devstoreaccount1"
# Azurite's documented development key (not a secret: every Azurite has it).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SAS_VERSION = "2021-08-06"
API_VERSION = "2021-08-06"
AZURITE_BIN = os.environ.get("AZURITE_BLOB", os.path.join(SOURCE_ROOT, "tools", "azurite", "node_modules", ".bin",
                                                          "azurite-blob"))


def available():
    return os.access(AZURITE_BIN, os.X_OK)


def _sign(string_to_sign, key=ACCOUNT_KEY):
    digest = hmac.new(base64.b64decode(key), string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _expiry(hours=4):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def container_sas(container, permissions="racwl", expiry=None, key=ACCOUNT_KEY):
    """A service SAS for one container (sr=c), string-to-sign of version 2020-12-06+."""
    expiry = expiry or _expiry()
    to_sign = "\n".join([permissions, "", expiry, "/blob/%s/%s" % (ACCOUNT, container), "", "", "", SAS_VERSION, "c",
                         "", "", "", "", "", "", ""])
    q = [("sv", SAS_VERSION), ("sr", "c"), ("sp", permissions), ("se", expiry), ("sig", _sign(to_sign, key))]
    return urllib.parse.urlencode(q)


def account_sas(permissions="rwdlacup", expiry=None, key=ACCOUNT_KEY):
    """An account SAS for the blob service, all resource types."""
    expiry = expiry or _expiry()
    to_sign = "\n".join([ACCOUNT, permissions, "b", "sco", "", expiry, "", "", SAS_VERSION, "", ""])
    q = [("sv", SAS_VERSION), ("ss", "b"), ("srt", "sco"), ("sp", permissions), ("se", expiry),
         ("sig", _sign(to_sign, key))]
    return urllib.parse.urlencode(q)


def signature_of(query):
    return urllib.parse.parse_qs(query)["sig"][0]


class Azurite:
    """One azurite-blob process on 127.0.0.1:<free port>, data in `location`."""

    def __init__(self, workdir, name="azurite", nice=0):
        self.nice = nice  # > 0: run at that niceness (measurements: keep the emulator off trawl's CPU time)
        self.port = free_port()
        self.location = workdir.file(name + "-data")
        os.makedirs(self.location, exist_ok=True)
        self.log_path = workdir.file(name + ".log")
        self.proc = None
        self.admin_sas = account_sas()

    @property
    def base(self):
        return "http://127.0.0.1:%d/%s" % (self.port, ACCOUNT)

    def start(self, timeout=60):
        log = open(self.log_path, "ab")
        prefix = ["nice", "-n", str(self.nice)] if self.nice else []
        self.proc = subprocess.Popen(prefix + [AZURITE_BIN, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                                      "--location", self.location, "--disableTelemetry", "--silent"],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("azurite exited with %d: %s" % (self.proc.returncode, self.read_log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("azurite did not listen within %ss: %s" % (timeout, self.read_log()))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-3000:]
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()

    # ---- REST with the admin account SAS ----

    def request(self, method, path, query="", data=None, headers=None):
        url = "%s/%s?%s" % (self.base, path, "&".join(p for p in (query, self.admin_sas) if p))
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("x-ms-version", API_VERSION)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def create_container(self, name):
        status, _, body = self.request("PUT", name, "restype=container")
        if status not in (201, 409):
            raise RuntimeError("create container %s: %d %r" % (name, status, body))

    def container_url(self, container, permissions="racwl", key=ACCOUNT_KEY):
        return "%s/%s?%s" % (self.base, container, container_sas(container, permissions, key=key))

    def list_blobs(self, container, prefix=""):
        """{name: size} of the committed blobs. (Headers come back with lower-case names.)"""
        blobs, marker = {}, ""
        while True:
            q = "restype=container&comp=list" + ("&prefix=" + urllib.parse.quote(prefix) if prefix else "")
            if marker:
                q += "&marker=" + urllib.parse.quote(marker)
            status, _, body = self.request("GET", container, q)
            if status != 200:
                raise RuntimeError("list %s: %d %r" % (container, status, body))
            root = ET.fromstring(body)
            for b in root.iter("Blob"):
                blobs[b.find("Name").text] = int(b.find("Properties").find("Content-Length").text)
            marker = (root.findtext("NextMarker") or "").strip()
            if not marker:
                return blobs

    def get_blob(self, container, name):
        status, headers, body = self.request("GET", "%s/%s" % (container, name))
        if status != 200:
            raise RuntimeError("get %s/%s: %d %r" % (container, name, status, body[:300]))
        return headers, body

    def block_list(self, container, name, kind="committed"):
        """[(block id, size)] of a blob's committed (or uncommitted) blocks."""
        status, _, body = self.request("GET", "%s/%s" % (container, name), "comp=blocklist&blocklisttype=" + kind)
        if status != 200:
            raise RuntimeError("block list %s/%s: %d %r" % (container, name, status, body[:300]))
        root = ET.fromstring(body)
        section = root.find("CommittedBlocks" if kind == "committed" else "UncommittedBlocks")
        if section is None:
            return []
        return [(b.findtext("Name"), int(b.findtext("Size"))) for b in section.iter("Block")]
