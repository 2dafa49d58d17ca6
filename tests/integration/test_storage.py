#!/usr/bin/env python3
"""Uploads of closed capture files to Azure Blob Storage (issue 6, docs/storage.md),
against a real Azurite on loopback and the real trawld on a looped net_pcap replay.

`test_storage.py uploads` (meson test `storage`):
- a ring-buffer session rotating through several files: every file that was closed is
  a blob, byte-identical to the file (copied while it was on disk), files the ring
  buffer deleted are listed "local": false and "uploaded"; nothing is missing, nothing
  extra;
- files above storage.single_put_max_bytes go up in blocks: Azurite's committed block
  list has ceil(size / block_size) blocks of the configured size, and the blob's
  Content-MD5 is the file's;
- deleteLocalAfterUpload: the local file is gone, the blob is a complete pcap with the
  packets the listing reports;
- a wrong signature: StorageFailed with the service's message, the session keeps
  capturing and keeps its files; a stop with the right sasUrl then uploads them;
- a stop with a sasUrl (VPN-gateway style) on a session without storage;
- no log line, metric or API response contains any signature; session.json is 0600.

`test_storage.py recovery` (meson test `storage_recovery`):
- Azurite stopped in the middle of a block upload and started again: the upload
  completes, every blob equals its file, no extra blob;
- trawld stopped (SIGTERM) while uploads wait for a dead Azurite: session.json says
  "pending"; after both start again the uploads complete.

`test_storage.py throughput` (by hand, not in CI): upload rate to Azurite with the
default block settings next to the capture rate of the same session.
"""
import hashlib
import base64
import json
import math
import os
import re
import shutil
import stat
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from trawl_harness import TRAWLCTL, Trawld, Workdir, check, run  # noqa: E402
from api_checks import make_demo, rare_ports, read_pcap, wait_until  # noqa: E402
import azurite  # noqa: E402

CONTAINER = "captures"
BLOCK = 64 * 1024
SINGLE_PUT_MAX = 256 * 1024
STORAGE_CONFIG = {
    "threads": 2,
    "block_size_bytes": BLOCK,
    "single_put_max_bytes": SINGLE_PUT_MAX,
    "retry_initial_ms": 200,
    "retry_max_ms": 1000,
    "retry_deadline_seconds": 300,
    "connect_timeout_ms": 2000,
    "stall_timeout_seconds": 10,
}


class Recorder:
    """Every API answer and metrics text the test saw, to look for signatures in."""

    def __init__(self, d):
        self.d = d
        self.texts = []

    def req(self, method, path, body=None, expect=(200, 201)):
        status, data = self.d.request(method, path, body)
        self.texts.append(data if isinstance(data, str) else json.dumps(data))
        check(status in expect, "%s %s -> %d %s" % (method, path, status, data))
        return data

    def files(self, name):
        return self.req("GET", "/v1/captures/%s/files" % name)

    def session(self, name):
        return self.req("GET", "/v1/captures/" + name)

    def metrics(self):
        text = self.req("GET", "/metrics")
        values = {}
        for line in text.splitlines():
            m = re.match(r"^(trawl_storage_\w+) (\S+)$", line)
            if m:
                values[m.group(1)] = float(m.group(2))
        return values


def sigs_of(url):
    sig = azurite.signature_of(urllib.parse.urlsplit(url).query)
    return {sig, urllib.parse.quote(sig, safe=""), urllib.parse.quote(sig)}


def copy_complete_files(d, rec, name, copies):
    """Copies every complete local file of the session not copied yet."""
    for f in rec.files(name):
        if f["complete"] and f["local"] and f["name"] not in copies:
            try:
                with open(os.path.join(d.session_dir(name), f["name"]), "rb") as src:
                    copies[f["name"]] = src.read()
            except FileNotFoundError:
                pass  # deleted in between (ring buffer, deleteLocalAfterUpload)


def all_uploaded(rec, name):
    files = rec.files(name)
    closed = [f for f in files if f["complete"]]
    return files if closed and all(f["upload"] and f["upload"]["state"] == "uploaded" for f in closed) else None


def check_blobs_equal(az, name, copies, what):
    blobs = az.list_blobs(CONTAINER, prefix=name + "/")
    check(set(blobs) == {name + "/" + f for f in copies},
          "%s: blobs %s, files %s" % (what, sorted(blobs), sorted(copies)))
    for f, data in copies.items():
        _, body = az.get_blob(CONTAINER, name + "/" + f)
        check(body == data, "%s: blob %s differs from the file (%d vs %d bytes)" % (what, f, len(body), len(data)))
    return blobs


def start_trawld(w, demo, az=None, storage=None, name="trawld"):
    return Trawld(w, ["net_pcap0,rx_pcap=%s,infinite_rx=1" % demo], name=name,
                  capture={"flush_interval_ms": 100, "max_sessions": 8},
                  extra={"storage": dict(STORAGE_CONFIG, **(storage or {}))})


# ---------------------------------------------------------------------------------

def ring_buffer(d, rec, az, url, port):
    """A ring buffer of 4 files rotating about twice a second. Every file that was
    closed must end up as a byte-identical blob, except one the ring buffer deleted
    before its upload could start — possible only when the machine is starved, and
    then reported (log warning, trawl_storage_skipped_files_total), never silent."""
    name = "ring"
    skipped_before = rec.metrics()["trawl_storage_skipped_files_total"]
    rec.req("PUT", "/v1/captures/" + name, {
        "filters": [{"sourcePorts": [str(port)]}], "fileSizeInBytes": 40000, "fileCount": 4,
        "totalBytesPerSession": 0, "storage": {"uploadUrl": url, "deleteLocalAfterUpload": False}})
    copies = {}
    wait_until(lambda: copy_complete_files(d, rec, name, copies) or len(copies) >= 8, 90,
               "the ring session to close 8 files", interval=0.02)
    rec.req("POST", "/v1/captures/%s/stop" % name)
    copy_complete_files(d, rec, name, copies)
    files = wait_until(lambda: all_uploaded(rec, name), 60, "every ring file to be uploaded")
    listed = {f["name"]: f for f in files}
    blobs = az.list_blobs(CONTAINER, prefix=name + "/")
    check(set(blobs) == {name + "/" + f for f in listed}, "ring: blobs %s, listed %s" % (sorted(blobs), sorted(listed)))
    check(set(listed) <= set(copies), "ring: listed %s, copied %s" % (sorted(listed), sorted(copies)))
    for f in files:
        u = f["upload"]
        check(u["blob"].endswith("/%s/%s/%s" % (CONTAINER, name, f["name"])) and "?" not in u["blob"]
              and u["uploadedTime"] and u["lastError"] is None and u["attempts"] >= 1, "ring: %r" % f)
        check(len(copies[f["name"]]) == f["bytes"], "ring: %s copied %d bytes, listed %d"
              % (f["name"], len(copies[f["name"]]), f["bytes"]))
        _, body = az.get_blob(CONTAINER, name + "/" + f["name"])
        check(body == copies[f["name"]], "ring: blob %s differs from the file" % f["name"])
    lost = sorted(set(copies) - set(listed))
    skipped = rec.metrics()["trawl_storage_skipped_files_total"] - skipped_before
    check(len(lost) == skipped, "ring: %d files neither uploaded nor counted as skipped: %s" % (len(lost) - skipped, lost))
    log = d.read_log()
    for f in lost:
        check("deleted %s before it was uploaded" % f in log or "%s not uploaded" % f in log, "ring: %s lost silently" % f)
    check(len(listed) >= 6, "ring: only %d of %d files uploaded (%s lost to the ring)" % (len(listed), len(copies), lost))
    gone = [f for f in files if not f["local"]]
    check(len(gone) >= len(listed) - 4, "ring: %d files deleted by the ring buffer, %d uploaded" % (len(gone), len(listed)))
    s = rec.session(name)
    check(s["upload"]["uploadedFiles"] == len(listed) and s["upload"]["failedFiles"] == 0 and not s["errors"],
          "ring session: %r" % s)
    print("ring buffer: %d files closed (%d deleted locally by the ring after upload), %d byte-identical blobs, "
          "%d deleted by the ring before their upload (reported)" % (len(copies), len(gone), len(listed), len(lost)))


def blocks(d, rec, az, url):
    name = "big"
    size = 5 * SINGLE_PUT_MAX // 2  # above the single-put threshold: block upload
    rec.req("PUT", "/v1/captures/" + name, {
        "fileSizeInBytes": size, "totalBytesPerSession": 2 * size, "storage": {"uploadUrl": url}})
    wait_until(lambda: rec.session(name)["status"] == "Stopped", 60, "the big session to reach its byte limit")
    files = wait_until(lambda: all_uploaded(rec, name), 60, "the big files to be uploaded")
    copies = {}
    for f in files:
        with open(os.path.join(d.session_dir(name), f["name"]), "rb") as src:
            copies[f["name"]] = src.read()
    check_blobs_equal(az, name, copies, "blocks")
    checked = 0
    for f, data in copies.items():
        blob = name + "/" + f
        committed = az.block_list(CONTAINER, blob)
        headers, _ = az.get_blob(CONTAINER, blob)
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        check(headers.get("content-md5") == md5, "%s: Content-MD5 %r, file %r" % (f, headers.get("content-md5"), md5))
        if len(data) <= SINGLE_PUT_MAX:
            check(committed == [], "%s (%d bytes) should be one Put Blob, has blocks %r" % (f, len(data), committed))
            continue
        check(len(committed) == math.ceil(len(data) / BLOCK), "%s: %d bytes in %d blocks" % (f, len(data), len(committed)))
        check(all(size == BLOCK for _, size in committed[:-1]) and sum(s for _, s in committed) == len(data),
              "%s: block sizes %r" % (f, [s for _, s in committed]))
        ids = [base64.b64decode(i).decode() for i, _ in committed]
        check(ids == ["trawl-block-%06d" % i for i in range(len(committed))], "%s: block ids %r" % (f, ids[:3]))
        check(az.block_list(CONTAINER, blob, "uncommitted") == [], "%s: uncommitted blocks left" % f)
        checked += 1
    check(checked >= 1, "no file went up in blocks: %r" % {f: len(v) for f, v in copies.items()})
    print("blocks: %d files above %d bytes went up in %d-byte blocks (block lists checked), Content-MD5 matches"
          % (checked, SINGLE_PUT_MAX, BLOCK))


def delete_local(d, rec, az, url):
    name = "del"
    rec.req("PUT", "/v1/captures/" + name, {
        "fileSizeInBytes": 100000, "totalBytesPerSession": 300000,
        "storage": {"uploadUrl": url, "deleteLocalAfterUpload": True}})
    wait_until(lambda: rec.session(name)["status"] == "Stopped", 60, "the del session to stop")
    files = wait_until(lambda: all_uploaded(rec, name), 60, "del files to be uploaded")
    for f in files:
        check(not f["local"], "del: %s still local: %r" % (f["name"], f))
        check(not os.path.exists(os.path.join(d.session_dir(name), f["name"])), "del: %s still on disk" % f["name"])
        _, body = az.get_blob(CONTAINER, name + "/" + f["name"])
        _, records = read_pcap(body, f["name"])
        check(len(body) == f["bytes"] and len(records) == f["packets"],
              "del: blob %s has %d bytes / %d records, listed %r" % (f["name"], len(body), len(records), f))
    r = d.request("GET", "/v1/captures/%s/files/%s" % (name, files[0]["name"]))
    check(r[0] == 404, "download of a file deleted after upload: %r" % (r,))
    print("deleteLocalAfterUpload: %d files uploaded, deleted locally, listed with local=false" % len(files))


def wrong_signature(d, rec, az, good_url, port):
    name = "badsig"
    wrong_key = base64.b64encode(b"not the account key of this storage account!").decode()
    bad_url = az.container_url(CONTAINER, key=wrong_key)
    rec.req("PUT", "/v1/captures/" + name, {
        "filters": [{"sourcePorts": [str(port)]}], "fileSizeInBytes": 30000, "totalBytesPerSession": 0,
        "storage": {"uploadUrl": bad_url}})
    s = wait_until(lambda: (lambda s: s if any(e["code"] == "StorageFailed" for e in s["errors"]) else None)(
        rec.session(name)), 60, "StorageFailed after uploads with a wrong signature")
    err = [e for e in s["errors"] if e["code"] == "StorageFailed"][0]
    # Azure says AuthenticationFailed, Azurite AuthorizationFailure; both explain it the same way.
    check("HTTP 403 Authori" in err["message"] or "HTTP 403 Authenti" in err["message"], "StorageFailed: %r" % err)
    check("Server failed to authenticate the request" in err["message"] and "badsig/badsig-" in err["message"],
          "StorageFailed message: %r" % err)
    check(s["status"] == "Running" and s["stopReason"] is None, "badsig stopped: %r" % s)
    before = s["packets"]
    wait_until(lambda: rec.session(name)["packets"] > before, 30, "badsig to keep capturing")
    files = rec.files(name)
    failed = [f for f in files if f["upload"] and f["upload"]["state"] == "failed"]
    check(failed and all("HTTP 403" in f["upload"]["lastError"] for f in failed), "badsig files: %r" % files)
    for f in failed:
        check(os.path.getsize(os.path.join(d.session_dir(name), f["name"])) == f["bytes"], "badsig lost %s" % f["name"])
    check(az.list_blobs(CONTAINER, prefix=name + "/") == {}, "a blob was written with a wrong signature")
    # The way out: stop with a good sasUrl; failed files go there.
    rec.req("POST", "/v1/captures/%s/stop" % name, {"sasUrl": good_url})
    files = wait_until(lambda: all_uploaded(rec, name), 60, "badsig files to go up with the right signature")
    copies = {}
    for f in files:
        with open(os.path.join(d.session_dir(name), f["name"]), "rb") as src:
            copies[f["name"]] = src.read()
    check_blobs_equal(az, name, copies, "badsig after the right sasUrl")
    print("wrong signature: StorageFailed %r; capture went on; stop with the right sasUrl uploaded %d files"
          % (err["message"][:160], len(copies)))


def stop_with_sas_url(d, rec, az, url):
    name = "vpn"
    rec.req("PUT", "/v1/captures/" + name, {"TracingFlags": 0, "MaxFileSize": 1})  # VPN-gateway FilterData
    wait_until(lambda: rec.session(name)["packets"] > 1000, 30, "the vpn session to capture")
    # Through trawlctl, as an operator would.
    r = run([TRAWLCTL, "--server", d.url, "--json", "stop", name, "--sas-url", url])
    rec.texts.append(r.stdout + r.stderr)
    s = json.loads(r.stdout)
    check(s["status"] == "Stopped" and s["upload"] and "sig=REDACTED" in s["upload"]["uploadUrl"], "stop: %r" % s)
    files = wait_until(lambda: all_uploaded(rec, name), 60, "the vpn files to be uploaded")
    table = run([TRAWLCTL, "--server", d.url, "files", name]).stdout
    rec.texts.append(table)
    check(table.splitlines()[0].split()[-2] == "UPLOAD" and table.count(" uploaded ") == len(files),
          "trawlctl files: %s" % table)
    copies = {}
    for f in files:
        with open(os.path.join(d.session_dir(name), f["name"]), "rb") as src:
            copies[f["name"]] = src.read()
    check_blobs_equal(az, name, copies, "stop sasUrl")
    print("stop with sasUrl (trawlctl stop --sas-url): %d files uploaded" % len(copies))


def throughput(d, rec, az, url):
    """Capture rate and upload rate of one session (whole traffic, 8 MiB files), next to
    the capture rate of the same session without uploads."""
    total = 96 << 20

    def t(text):
        return time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + text[20:29])

    def capture(name, storage):
        body = {"fileSizeInBytes": 8 << 20, "totalBytesPerSession": total}
        if storage:
            body["storage"] = {"uploadUrl": url}
        rec.req("PUT", "/v1/captures/" + name, body)
        return wait_until(lambda: (lambda s: s if s["status"] == "Stopped" else None)(rec.session(name)), 90,
                          "the %s session to stop" % name)

    local = capture("rate-local", False)
    local_s = t(local["captureStopTime"]) - t(local["captureStartTime"])
    print("throughput: without uploads the same session captured %d bytes in %.2f s (%.1f MB/s)"
          % (local["bytes"], local_s, local["bytes"] / local_s / 1e6))
    name = "rate"
    s = capture(name, True)
    files = wait_until(lambda: all_uploaded(rec, name), 120, "the rate files to be uploaded")
    capture_s = t(s["captureStopTime"]) - t(s["captureStartTime"])
    uploaded_bytes = sum(f["bytes"] for f in files)
    upload_end = max(t(f["upload"]["uploadedTime"]) for f in files)
    upload_s = upload_end - t(s["captureStartTime"])
    m = rec.metrics()
    print("throughput: captured %d bytes in %.2f s (%.1f MB/s); all %d files in Azurite %.2f s after the start "
          "(%.1f MB/s end to end); upload threads busy %.2f s in total (%.1f MB/s per busy thread)"
          % (s["bytes"], capture_s, s["bytes"] / capture_s / 1e6, len(files), upload_s, uploaded_bytes / upload_s / 1e6,
             m.get("trawl_storage_upload_busy_seconds_total", 0),
             uploaded_bytes / max(m.get("trawl_storage_upload_busy_seconds_total", 1e-9), 1e-9) / 1e6))


def check_no_secrets(d, rec, secrets, names):
    rec.req("GET", "/v1/captures")
    rec.metrics()
    texts = rec.texts + [d.read_log()]
    for text in texts:
        for sig in secrets:
            check(sig not in text, "a signature appears in: %s" % text[max(0, text.find(sig) - 200):text.find(sig) + 50])
    for name in names:
        path = os.path.join(d.session_dir(name), "session.json")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        check(mode == 0o600, "%s is mode %o" % (path, mode))
        with open(path) as f:
            content = f.read()
        check(any(sig in content for sig in secrets), "%s does not keep the SAS needed after a restart" % path)
    print("secrets: no signature in %d API answers, metrics and the log (%d bytes); session.json files are 0600"
          % (len(rec.texts), len(d.read_log())))


def uploads_suite():
    with Workdir("storage") as w, azurite.Azurite(w) as az:
        az.start()
        az.create_container(CONTAINER)
        url = az.container_url(CONTAINER)
        demo = w.file("demo.pcap")
        records = make_demo(demo, 20000)
        (port1, _), (port2, _) = rare_ports(records, 2)
        with start_trawld(w, demo) as d:
            d.start()
            rec = Recorder(d)
            ring_buffer(d, rec, az, url, port1)
            blocks(d, rec, az, url)
            delete_local(d, rec, az, url)
            wrong_signature(d, rec, az, url, port2)
            stop_with_sas_url(d, rec, az, url)
            m = rec.metrics()
            check(m["trawl_storage_uploaded_files_total"] >= 10 and m["trawl_storage_failed_files_total"] >= 1
                  and m["trawl_storage_uploaded_bytes_total"] > 0 and m["trawl_storage_queue_files"] == 0,
                  "storage metrics: %r" % m)
            bad_sigs = sigs_of(az.container_url(CONTAINER, key=base64.b64encode(
                b"not the account key of this storage account!").decode()))
            check_no_secrets(d, rec, sigs_of(url) | bad_sigs, ["ring", "big", "badsig", "vpn"])
            check(d.stop() == 0, "trawld exit code")


# ---------------------------------------------------------------------------------

def azurite_restart(w, demo, az, url):
    """Azurite goes away in the middle of a block upload, and comes back."""
    # 1 MB/s per upload thread: a 2 MiB file takes ~2 s to send, long enough to cut.
    with start_trawld(w, demo, storage={"max_send_bytes_per_second": 1 << 20, "threads": 1}, name="cut") as d:
        d.start()
        rec = Recorder(d)
        name = "cut"
        size = 2 << 20
        rec.req("PUT", "/v1/captures/" + name, {"fileSizeInBytes": size, "totalBytesPerSession": 2 * size,
                                                 "storage": {"uploadUrl": url}})
        # Some blocks of the first file are in, the file is not.
        wait_until(lambda: 0 < rec.metrics().get("trawl_storage_uploaded_bytes_total", 0) < size / 2, 60,
                   "the first blocks to land", interval=0.02)
        az.stop()
        sent_before = rec.metrics()["trawl_storage_uploaded_bytes_total"]
        wait_until(lambda: rec.metrics()["trawl_storage_upload_retries_total"] >= 2, 60, "retries while Azurite is down")
        pending = [f for f in rec.files(name) if f["upload"] and f["upload"]["state"] in ("pending", "uploading")]
        check(pending and any(f["upload"]["lastError"] for f in pending), "while Azurite is down: %r" % rec.files(name))
        print("Azurite stopped after %d bytes of the first file; uploads retry: %r"
              % (sent_before, pending[0]["upload"]["lastError"]))
        az.start()
        wait_until(lambda: rec.session(name)["status"] == "Stopped", 60, "the cut session to stop")
        files = wait_until(lambda: all_uploaded(rec, name), 90, "uploads to finish after Azurite came back")
        copies = {}
        for f in files:
            with open(os.path.join(d.session_dir(name), f["name"]), "rb") as src:
                copies[f["name"]] = src.read()
        check_blobs_equal(az, name, copies, "after the Azurite restart")
        for f in copies:
            check(az.block_list(CONTAINER, name + "/" + f, "uncommitted") == [], "uncommitted blocks of %s" % f)
        s = rec.session(name)
        check(not s["errors"], "errors after a recovered outage: %r" % s["errors"])
        m = rec.metrics()
        print("Azurite restart: %d files complete and identical after %d retries; %d bytes accepted for %d bytes of files"
              % (len(copies), m["trawl_storage_upload_retries_total"], m["trawl_storage_uploaded_bytes_total"],
                 sum(len(v) for v in copies.values())))
        check(d.stop() == 0, "trawld exit code")


def trawld_restart(w, demo, az, url):
    """trawld stops with uploads pending; after it starts again they complete."""
    az.stop()  # nothing can be uploaded now
    d = start_trawld(w, demo, name="restart")
    with d:
        d.start()
        rec = Recorder(d)
        name = "pending"
        rec.req("PUT", "/v1/captures/" + name, {"fileSizeInBytes": 200000, "totalBytesPerSession": 1000000,
                                                 "storage": {"uploadUrl": url}})
        wait_until(lambda: rec.session(name)["status"] == "Stopped", 60, "the pending session to stop")
        wait_until(lambda: rec.metrics()["trawl_storage_upload_retries_total"] >= 2, 60, "retries")
        check(d.stop() == 0, "trawld exit code")
        with open(os.path.join(d.session_dir(name), "session.json")) as f:
            record = json.load(f)
        states = {k: v["state"] for k, v in record["uploads"].items()}
        check(len(states) >= 4 and set(states.values()) == {"pending"}, "session.json upload states: %r" % states)
        copies = {}
        for f in record["files"]:
            with open(os.path.join(d.session_dir(name), f["name"]), "rb") as src:
                copies[f["name"]] = src.read()
        check(set(copies) == set(states), "files %s, upload records %s" % (sorted(copies), sorted(states)))
        az.start()
        d.start()
        files = wait_until(lambda: all_uploaded(rec, name), 90, "pending uploads to complete after the restart")
        check({f["name"] for f in files} == set(copies), "after restart: %r" % files)
        check_blobs_equal(az, name, copies, "after the trawld restart")
        print("trawld restart: %d uploads pending in session.json at SIGTERM, all complete after the restart"
              % len(copies))
        check_no_secrets(d, rec, sigs_of(url), [name])
        check(d.stop() == 0, "trawld exit code")


def throughput_suite():
    """Not part of `meson test`: upload rate with the default block settings next to the
    capture rate of the same session (docs/storage.md#throughput)."""
    # TRAWL_AZURITE_NICE=19 runs the emulator below trawld, so the comparison shows what
    # trawl's own upload threads cost the capture rather than what a Node.js process
    # verifying MD5s and writing blobs on the same two cores costs.
    nice = int(os.environ.get("TRAWL_AZURITE_NICE", "0"))
    with Workdir("storage-throughput") as w, azurite.Azurite(w, nice=nice) as az:
        az.start()
        az.create_container(CONTAINER)
        url = az.container_url(CONTAINER)
        demo = w.file("demo.pcap")
        make_demo(demo, 20000)
        defaults = {"block_size_bytes": 8 << 20, "single_put_max_bytes": 32 << 20}
        with start_trawld(w, demo, storage=defaults, name="rate") as d:
            d.start()
            throughput(d, Recorder(d), az, url)
            check(d.stop() == 0, "trawld exit code")


def recovery_suite():
    with Workdir("storage-recovery") as w, azurite.Azurite(w) as az:
        az.start()
        az.create_container(CONTAINER)
        url = az.container_url(CONTAINER)
        demo = w.file("demo.pcap")
        make_demo(demo, 20000)
        azurite_restart(w, demo, az, url)
        trawld_restart(w, demo, az, url)


def main():
    if not azurite.available():
        print("Azurite is not installed (%s): run scripts/install-azurite.sh" % azurite.AZURITE_BIN)
        return 1
    started = time.time()
    suite = sys.argv[1] if len(sys.argv) > 1 else "uploads"
    {"uploads": uploads_suite, "recovery": recovery_suite, "throughput": throughput_suite}[suite]()
    print("storage %s: OK in %.1f s" % (suite, time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
