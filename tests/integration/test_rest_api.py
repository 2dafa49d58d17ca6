#!/usr/bin/env python3
"""REST contract test (DESIGN §3, issue 3): every endpoint, status code and JSON shape,
against the real trawld on a looped demo replay.

- PUT 201 with the full shape, the canonical spec echo and ignoredFields; 409 for an
  existing name; 409 TooManySessions at capture.max_sessions.
- GET list and one; POST stop (idempotent); the three limits stop sessions by themselves
  (PacketLimitExceeded, TotalBytesExceeded, TimeExceeded).
- DELETE with and without ?purge=true (files gone / kept on disk, numbering continues
  without overwriting kept files).
- GET files; download of a complete file (byte-identical to disk) and of the file being
  written (a valid pcap prefix of what ends up on disk).
- 404 (session, file, path), 405, /v1/ports, /healthz (GET and HEAD on one keep-alive
  connection), /metrics.
- Both foreign dialects and the canonical echo DESIGN §2.2 maps them to.
- A second trawld with a token: 401 without / with a wrong token (target
  "Authorization"), 200 with it, /healthz open.

Sessions carry packet limits and snap lengths (the replay runs at millions of packets
per second); capture.defaults.maxPackets bounds the ones whose dialect has no limit.
"""
import http.client as httpclient
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from trawl_harness import Trawld, Workdir, capinfos_ok, check  # noqa: E402
from api_checks import (check_error, check_file_entry, check_ports_shape, check_session_shape,  # noqa: E402
                        dir_entries, http, make_demo, parse_time_ns, rare_ports, read_pcap, wait_until)

MAX_SESSIONS = 4
DEFAULT_MAX_PACKETS = 20000  # capture.defaults.maxPackets of the first daemon
NOWHERE = "192.0.2.0/24"  # TEST-NET-1: the demo traffic never goes there


def canonical(filters=(), **fields):
    """The canonical echo of a spec: every field explicit, with this test's defaults."""
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


class Api:
    """Requests with shape checks common to every answer."""

    def __init__(self, d):
        self.d = d
        self.count = 0

    def call(self, method, path, body=None, raw=None, token=None, expect=None):
        status, data = self.d.request(method, path, body=body, raw=raw, token=token)
        self.count += 1
        if expect is not None:
            check(status == expect, "%s %s -> %d, expected %d: %r" % (method, path, status, expect, data))
        return status, data

    def ok(self, method, path, body=None, expect=200):
        return self.call(method, path, body=body, expect=expect)[1]

    def error(self, method, path, status, code, target, body=None, raw=None, token=None):
        got, data = self.call(method, path, body=body, raw=raw, token=token)
        return check_error(got, data, status, code, target, "%s %s" % (method, path))

    def session(self, name):
        s = self.ok("GET", "/v1/captures/" + name)
        check_session_shape(s)
        return s

    def wait_stopped(self, name, timeout=20):
        return wait_until(lambda: (lambda s: s if s["status"] != "Running" else None)(self.session(name)),
                          timeout, "session %s to stop" % name)


def check_created(api, name, body, spec, dialect="canonical", ignored=()):
    """PUT → 201 with the full shape; the spec echo is exactly `spec`."""
    s = api.ok("PUT", "/v1/captures/" + name, body, expect=201)
    check_session_shape(s)
    check(s["name"] == name, "PUT %s: name %r" % (name, s["name"]))
    check(s["status"] == "Running" and s["stopReason"] is None and s["captureStopTime"] is None,
          "PUT %s: not running: %s" % (name, s))
    check(s["errors"] == [], "PUT %s: errors %r" % (name, s["errors"]))
    check(s["spec"] == spec, "PUT %s: spec echo\n  got      %s\n  expected %s" % (name, json.dumps(s["spec"], sort_keys=True),
                                                                                json.dumps(spec, sort_keys=True)))
    check(s.get("ignoredFields") == list(ignored), "PUT %s: ignoredFields %r, expected %r"
          % (name, s.get("ignoredFields"), list(ignored)))
    if "dialect" in s:
        check(s["dialect"] == dialect, "PUT %s: dialect %r, expected %r" % (name, s["dialect"], dialect))
    start = parse_time_ns(s["captureStartTime"])
    check(abs(start - time.time_ns()) < 60 * 10**9, "PUT %s: start time %s is not now" % (name, s["captureStartTime"]))
    got = api.session(name)
    check(got["spec"] == spec, "GET %s: spec differs from the PUT echo" % name)
    return s


def download(d, path, token=None):
    r = http(d.api_port, "GET", path, token=token or d.token)
    return r


def test_main(w, demo, rare):
    slow_port = rare[0][0]
    with Trawld(w, ["net_pcap0,rx_pcap=%s,infinite_rx=1" % demo],
                capture={"max_sessions": MAX_SESSIONS, "defaults": {"maxPackets": DEFAULT_MAX_PACKETS},
                         "flush_interval_ms": 100}) as d:
        d.start()
        api = Api(d)

        # ---- /healthz, /v1/ports, HEAD on a keep-alive connection ----
        check(api.ok("GET", "/healthz") == {"status": "ok"}, "healthz body")
        conn = httpclient.HTTPConnection("127.0.0.1", d.api_port, timeout=10)
        conn.request("HEAD", "/healthz")
        r = conn.getresponse()
        check(r.status == 200 and r.read() == b"", "HEAD /healthz: %d" % r.status)
        conn.request("GET", "/v1/ports")  # same connection: HEAD must not have left a body behind
        r = conn.getresponse()
        check(r.status == 200 and "json" in r.headers.get("Content-Type", ""), "GET after HEAD: %d" % r.status)
        ports = json.loads(r.read())
        conn.close()
        check_ports_shape(ports)
        check([p["name"] for p in ports] == ["net_pcap0"], "port names %r" % [p["name"] for p in ports])
        rx0 = ports[0]["rxPackets"]
        wait_until(lambda: d.ports()[0]["rxPackets"] > rx0, 10, "rxPackets to rise")
        check_ports_shape(d.ports())
        check(api.ok("GET", "/v1/captures") == [], "fresh daemon lists sessions")

        # ---- PUT 201 shapes and limits ----
        web = [{"protocols": ["tcp"], "destinationPorts": ["80", 443, "8000-8080"]}]
        check_created(api, "pk-limit", {"filters": web, "maxPackets": 500, "bytesToCapturePerPacket": 128},
                      canonical([cfilter(protocols=["tcp"], destinationPorts=["80", "443", "8000-8080"])],
                                maxPackets=500, bytesToCapturePerPacket=128))
        check_created(api, "byte-limit", {"filters": [{"protocols": [17]}], "totalBytesPerSession": 20000,
                                          "bytesToCapturePerPacket": 100, "maxPackets": 0, "format": "pcap"},
                      canonical([cfilter(protocols=["udp"])], totalBytesPerSession=20000, bytesToCapturePerPacket=100,
                                maxPackets=0))
        check_created(api, "time-limit", {"filters": [{"sourcePorts": [str(slow_port)]}], "timeLimitInSeconds": 1,
                                          "bytesToCapturePerPacket": 64},
                      canonical([cfilter(sourcePorts=[str(slow_port)])], timeLimitInSeconds=1,
                                bytesToCapturePerPacket=64))
        # 409: the name exists (whatever its body).
        api.error("PUT", "/v1/captures/pk-limit", 409, "AlreadyExists", "name", body={})

        # IPv6 rule sets are built by rte_acl with deep recursion: a request thread's
        # small stack once overflowed on a single IPv6 host (regression). Every shape
        # of IPv6 rule must be accepted and the daemon must keep serving.
        v6_shapes = [
            {"destinationSubnets": ["2001:db8::101"]},
            {"sourceSubnets": ["2001:db8::/32", "fe80::1/128"], "destinationPorts": ["1-1000"]},
            {"sourceSubnets": ["::/0"], "destinationSubnets": ["2001:db8:0:1::/64", "2001:db8::42"],
             "protocols": ["tcp"], "bidirectional": True},
        ]
        for i, f in enumerate(v6_shapes):
            created = api.call("PUT", "/v1/captures/v6-shape-%d" % i, {"filters": [f], "maxPackets": 1})
            check(created[0] == 201, "IPv6 filter %r: HTTP %d %r" % (f, created[0], created[1]))
        check(api.ok("GET", "/healthz") == {"status": "ok"}, "serving after IPv6 rule builds")
        for i in range(len(v6_shapes)):
            api.ok("DELETE", "/v1/captures/v6-shape-%d" % i)

        s = api.wait_stopped("pk-limit")
        check(s["stopReason"] == "PacketLimitExceeded" and s["packets"] == 500,
              "pk-limit: %s %s packets" % (s["stopReason"], s["packets"]))
        s = api.wait_stopped("byte-limit")
        check(s["stopReason"] == "TotalBytesExceeded" and 20000 - 100 < s["bytes"] <= 20000,
              "byte-limit: %s, %d bytes (limit 20000, snap 100)" % (s["stopReason"], s["bytes"]))
        s = api.wait_stopped("time-limit", timeout=10)
        took = (parse_time_ns(s["captureStopTime"]) - parse_time_ns(s["captureStartTime"])) / 1e9
        check(s["stopReason"] == "TimeExceeded" and 0.9 <= took < 5, "time-limit: %s after %.2fs" % (s["stopReason"], took))
        for name in ("pk-limit", "byte-limit", "time-limit"):
            s = api.session(name)
            check(s["status"] == "Stopped" and s["captureStopTime"] is not None, name + ": not stopped")

        # ---- GET files and download of complete files ----
        files = api.ok("GET", "/v1/captures/pk-limit/files")
        check(isinstance(files, list) and len(files) == 1, "pk-limit files: %r" % files)
        f = files[0]
        check_file_entry(f)
        check(f["name"] == "pk-limit-000001.pcap" and f["packets"] == 500, "pk-limit file: %r" % f)
        disk_path = os.path.join(d.session_dir("pk-limit"), f["name"])
        with open(disk_path, "rb") as fh:
            on_disk = fh.read()
        check(f["bytes"] == len(on_disk), "file list says %d bytes, disk has %d" % (f["bytes"], len(on_disk)))
        r = download(d, "/v1/captures/pk-limit/files/" + f["name"])
        check(r.status == 200 and r.body == on_disk, "download of %s: HTTP %d, %d bytes, identical=%s"
              % (f["name"], r.status, len(r.body), r.body == on_disk))
        check(r.content_type == "application/vnd.tcpdump.pcap", "download content type %r" % r.content_type)
        check(f["name"] in r.headers.get("content-disposition", ""), "content-disposition %r" % r.headers)
        # pcapng files are served as Wireshark's application/x-pcapng.
        api.ok("PUT", "/v1/captures/ng-dl", {"format": "pcapng", "maxPackets": 50}, expect=201)
        api.wait_stopped("ng-dl")
        ng = api.ok("GET", "/v1/captures/ng-dl/files")[0]
        rng = download(d, "/v1/captures/ng-dl/files/" + ng["name"])
        check(rng.status == 200 and rng.content_type == "application/x-pcapng" and rng.body[:4] == b"\x0a\x0d\x0d\x0a",
              "pcapng download: HTTP %d, %r, starts %r" % (rng.status, rng.content_type, rng.body[:4]))
        api.ok("DELETE", "/v1/captures/ng-dl?purge=true")
        header, records = read_pcap(r.body, f["name"])
        check(header["nanosecond"] and len(records) == 500 and all(c <= 128 for _, c, _, _ in records),
              "pk-limit file: %d records, nanosecond=%s" % (len(records), header["nanosecond"]))
        check(parse_time_ns(f["firstTimestamp"]) == records[0][0] and parse_time_ns(f["lastTimestamp"]) == records[-1][0],
              "file list timestamps %s..%s differ from the records" % (f["firstTimestamp"], f["lastTimestamp"]))
        ok, out = capinfos_ok(disk_path)
        check(ok, "capinfos: " + out)
        for name in ("byte-limit", "time-limit"):
            for f in api.ok("GET", "/v1/captures/%s/files" % name):
                check_file_entry(f)
                r = download(d, "/v1/captures/%s/files/%s" % (name, f["name"]))
                with open(os.path.join(d.session_dir(name), f["name"]), "rb") as fh:
                    check(r.status == 200 and r.body == fh.read(), "download %s/%s differs" % (name, f["name"]))
                _, records = read_pcap(r.body, f["name"])
                check(len(records) == f["packets"], "%s: %d records, list says %d" % (f["name"], len(records), f["packets"]))

        # ---- the file being written ----
        check_created(api, "slow", {"filters": [{"sourcePorts": [str(slow_port)]}], "bytesToCapturePerPacket": 64,
                                    "maxPackets": 2000000},
                      canonical([cfilter(sourcePorts=[str(slow_port)])], bytesToCapturePerPacket=64, maxPackets=2000000))

        def current_file():
            for f in api.ok("GET", "/v1/captures/slow/files"):
                check_file_entry(f)
                if f.get("complete") is False and f["packets"] >= 3:
                    return f
            return None
        f = wait_until(current_file, 20, "slow's current file to hold packets")
        r = download(d, "/v1/captures/slow/files/" + f["name"])
        check(r.status == 200 and int(r.headers["content-length"]) == len(r.body),
              "download of the open file: HTTP %d, %d of %s bytes" % (r.status, len(r.body), r.headers.get("content-length")))
        check(len(r.body) >= f["bytes"], "the open file shrank: listed %d, downloaded %d" % (f["bytes"], len(r.body)))
        _, prefix_records = read_pcap(r.body, "open file " + f["name"])
        check(len(prefix_records) >= f["packets"], "open file: %d records, listed %d" % (len(prefix_records), f["packets"]))
        partial = r.body

        # ---- stop: idempotent ----
        s1 = api.ok("POST", "/v1/captures/slow/stop")
        check_session_shape(s1)
        check(s1["status"] == "Stopped" and s1["stopReason"] == "ManuallyStopped", "stop: %s/%s"
              % (s1["status"], s1["stopReason"]))
        s2 = api.call("POST", "/v1/captures/slow/stop", raw=b"{}", expect=200)[1]
        check(s2["status"] == "Stopped" and s2["stopReason"] == "ManuallyStopped"
              and s2["captureStopTime"] == s1["captureStopTime"] and s2["packets"] == s1["packets"],
              "second stop changed the session: %s vs %s" % (s1, s2))
        s3 = api.ok("POST", "/v1/captures/pk-limit/stop")  # already stopped by its limit: unchanged
        check(s3["stopReason"] == "PacketLimitExceeded", "stop after a limit: %s" % s3["stopReason"])
        final = api.ok("GET", "/v1/captures/slow/files")
        check(len(final) >= 1 and final[0]["name"] == f["name"] and final[0].get("complete", True),
              "slow files after stop: %r" % final)
        with open(os.path.join(d.session_dir("slow"), f["name"]), "rb") as fh:
            closed = fh.read()
        check(closed[:len(partial)] == partial, "the downloaded open file is not a prefix of the closed file")
        _, closed_records = read_pcap(closed, f["name"])
        check(len(closed_records) == final[0]["packets"] and sum(x["packets"] for x in final) == s1["packets"],
              "slow: %d records, files %r, session %d packets" % (len(closed_records), final, s1["packets"]))

        # ---- GET list and one ----
        listed = api.ok("GET", "/v1/captures")
        check(isinstance(listed, list), "list is not a list")
        for s in listed:
            check_session_shape(s)
        check(sorted(s["name"] for s in listed) == ["byte-limit", "pk-limit", "slow", "time-limit"],
              "listed %r" % [s["name"] for s in listed])
        for s in listed:
            one = api.session(s["name"])
            check(one["spec"] == s["spec"] and one["status"] == s["status"], "GET one differs from the list")

        # ---- dialects ----
        # The whole Network Watcher ARM body; continuousCapture false: the files are the
        # limit (fileCount × fileSizeInBytes), every file kept.
        arm = {"properties": {
            "target": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
            "targetType": "AzureVM",
            "bytesToCapturePerPacket": 96,
            "storageLocation": {"filePath": "D:\\capture\\x.cap", "storageId": "/subscriptions/x/sa"},
            "filters": [{"protocol": "TCP", "localIPAddress": "10.0.0.1;10.0.0.5-10.0.0.9",
                         "remoteIPAddress": "192.0.2.1", "localPort": "80;443;8000-8080;", "remotePort": "1-1023"},
                        {"protocol": "Any", "remoteIPAddress": NOWHERE}],
            "captureSettings": {"fileCount": 3, "fileSizeInBytes": 100000, "sessionTimeLimitInSeconds": 600},
            "continuousCapture": False}}
        check_created(api, "nw-arm", arm, canonical(
            [cfilter(protocols=["tcp"], sourceSubnets=["10.0.0.1", "10.0.0.5-10.0.0.9"], destinationSubnets=["192.0.2.1"],
                     sourcePorts=["80", "443", "8000-8080"], destinationPorts=["1-1023"]),
             cfilter(destinationSubnets=[NOWHERE])],
            bytesToCapturePerPacket=96, fileSizeInBytes=100000, fileCount=0, totalBytesPerSession=300000,
            timeLimitInSeconds=600),
            dialect="networkWatcher", ignored=["properties.target", "properties.targetType", "properties.storageLocation"])
        # continuousCapture true: a ring buffer of fileCount files with no byte limit.
        ring = {"properties": {"filters": [{"protocol": "UDP", "remoteIPAddress": NOWHERE, "remotePort": "53"}],
                               "captureSettings": {"fileCount": 2, "fileSizeInBytes": 65536},
                               "continuousCapture": True, "scope": {"include": ["vm1"]},
                               "storageSettings": {"x": 1}}}
        check_created(api, "nw-ring", ring, canonical(
            [cfilter(protocols=["udp"], destinationSubnets=[NOWHERE], destinationPorts=["53"])],
            fileSizeInBytes=65536, fileCount=2, totalBytesPerSession=0),
            dialect="networkWatcher", ignored=["properties.scope", "properties.storageSettings"])
        api.ok("DELETE", "/v1/captures/nw-ring?purge=true")
        # VPN-gateway FilterData as the whole body (DESIGN's example, plus -1 TcpFlags).
        vpn = {"TracingFlags": 11, "MaxPacketBufferSize": 120, "MaxFileSize": 200,
               "Filters": [{"SourceSubnets": ["10.0.0.0/8", "172.16.0.1-172.16.0.9"], "DestinationSubnets": [NOWHERE],
                            "SourcePort": [1000, "2000-3000"], "DestinationPort": [443], "Protocol": [6],
                            "TcpFlags": 16, "CaptureSingleDirectionTrafficOnly": True},
                           {"Protocol": 17, "DestinationPort": "53", "TcpFlags": -1,
                            "CaptureSingleDirectionTrafficOnly": False}]}
        check_created(api, "vpn", vpn, canonical(
            [cfilter(sourceSubnets=["10.0.0.0/8", "172.16.0.1-172.16.0.9"], destinationSubnets=[NOWHERE],
                     sourcePorts=["1000", "2000-3000"], destinationPorts=["443"], protocols=["tcp"], tcpFlags=16,
                     bidirectional=False),
             cfilter(protocols=["udp"], destinationPorts=["53"])],
            tracingFlags=11, bytesToCapturePerPacket=120, fileSizeInBytes=200 << 20, fileCount=10),
            dialect="vpnGateway")
        api.ok("POST", "/v1/captures/vpn/stop")
        # Network Watcher style filters inside a canonical body.
        check_created(api, "nw-filters", {"filters": [{"protocol": "udp", "remotePort": "53;5353"}], "maxPackets": 100,
                                          "bytesToCapturePerPacket": 64},
                      canonical([cfilter(protocols=["udp"], destinationPorts=["53", "5353"])], maxPackets=100,
                                bytesToCapturePerPacket=64))
        api.wait_stopped("nw-filters")

        # ---- 409 TooManySessions at capture.max_sessions ----
        running = [s["name"] for s in api.ok("GET", "/v1/captures") if s["status"] == "Running"]
        fillers = []
        for i in range(MAX_SESSIONS - len(running)):
            name = "hold-%d" % i
            api.ok("PUT", "/v1/captures/" + name, {"filters": [{"destinationSubnets": [NOWHERE]}]}, expect=201)
            fillers.append(name)
        err = api.error("PUT", "/v1/captures/one-too-many", 409, "TooManySessions", None,
                        body={"filters": [{"destinationSubnets": [NOWHERE]}]})
        check(str(MAX_SESSIONS) in err["message"], "TooManySessions message does not name the limit: %r" % err)
        api.error("GET", "/v1/captures/one-too-many", 404, "NotFound", "name")
        api.ok("POST", "/v1/captures/%s/stop" % fillers[0])
        api.ok("PUT", "/v1/captures/one-more", {"filters": [{"destinationSubnets": [NOWHERE]}]}, expect=201)
        for name in fillers + ["one-more", "nw-arm"]:
            api.ok("DELETE", "/v1/captures/%s?purge=true" % name)

        # ---- names at the edge of [A-Za-z0-9._-]{1,80} are accepted ----
        for name in ("n" * 80, "A.b_C-9", "..."):
            s = api.ok("PUT", "/v1/captures/" + name, {"maxPackets": 5, "bytesToCapturePerPacket": 64}, expect=201)
            check(s["name"] == name, "name %r echoed as %r" % (name, s["name"]))
            api.wait_stopped(name)
            check([f["name"] for f in api.ok("GET", "/v1/captures/%s/files" % name)] == [name + "-000001.pcap"],
                  "files of %r" % name)
            api.ok("DELETE", "/v1/captures/%s?purge=true" % name)
            check(not os.path.exists(d.session_dir(name)), "purge of %r left its directory" % name)

        # ---- DELETE: files kept or purged ----
        kept_dir = d.session_dir("pk-limit")
        r = api.ok("DELETE", "/v1/captures/pk-limit")
        check(r.get("deleted") is True and r.get("purged") is False, "DELETE answer %r" % r)
        api.error("GET", "/v1/captures/pk-limit", 404, "NotFound", "name")
        api.error("GET", "/v1/captures/pk-limit/files", 404, "NotFound", "name")
        check("pk-limit-000001.pcap" in dir_entries(kept_dir), "DELETE without purge removed the files")
        with open(os.path.join(kept_dir, "pk-limit-000001.pcap"), "rb") as fh:
            check(fh.read() == on_disk, "DELETE without purge changed the kept file")
        check("pk-limit" not in [s["name"] for s in api.ok("GET", "/v1/captures")], "deleted session still listed")
        # A new session of the same name does not overwrite the kept file.
        check_created(api, "pk-limit", {"maxPackets": 50, "bytesToCapturePerPacket": 64},
                      canonical(maxPackets=50, bytesToCapturePerPacket=64))
        api.wait_stopped("pk-limit")
        new_files = [f["name"] for f in api.ok("GET", "/v1/captures/pk-limit/files")]
        check("pk-limit-000001.pcap" not in new_files and len(new_files) == 1, "recreated session files %r" % new_files)
        with open(os.path.join(kept_dir, "pk-limit-000001.pcap"), "rb") as fh:
            check(fh.read() == on_disk, "the recreated session overwrote the kept file")
        r = api.ok("DELETE", "/v1/captures/pk-limit?purge=true")
        check(r.get("purged") is True, "purge answer %r" % r)
        check(not any(e in dir_entries(kept_dir) for e in new_files + ["session.json"]),
              "purge left the new session's files: %r" % dir_entries(kept_dir))
        # The file kept by the first DELETE belongs to no session now; purging the new
        # session of that name must not take it (DESIGN §2.5: a delete without purge keeps files).
        with open(os.path.join(kept_dir, "pk-limit-000001.pcap"), "rb") as fh:
            check(fh.read() == on_disk, "purging the recreated session deleted or changed the kept file")
        byte_dir = d.session_dir("byte-limit")
        check(any(e.endswith(".pcap") for e in dir_entries(byte_dir)), "byte-limit has no files before purge")
        r = api.ok("DELETE", "/v1/captures/byte-limit?purge=true")
        check(r.get("purged") is True and r.get("filesRemoved", 1) >= 1, "purge answer %r" % r)
        check(not os.path.exists(byte_dir), "purge left %s: %r" % (byte_dir, dir_entries(byte_dir)))
        api.error("DELETE", "/v1/captures/byte-limit", 404, "NotFound", "name")
        r = api.ok("DELETE", "/v1/captures/time-limit?purge=false")
        check(r.get("purged") is False and any(e.endswith(".pcap") for e in dir_entries(d.session_dir("time-limit"))),
              "purge=false removed files")

        # ---- 404 ----
        api.error("GET", "/v1/captures/no-such", 404, "NotFound", "name")
        api.error("POST", "/v1/captures/no-such/stop", 404, "NotFound", "name")
        api.error("DELETE", "/v1/captures/no-such", 404, "NotFound", "name")
        api.error("GET", "/v1/captures/no-such/files", 404, "NotFound", "name")
        api.error("GET", "/v1/captures/no-such/files/no-such-000001.pcap", 404, "NotFound", "name")
        api.error("GET", "/v1/captures/slow/files/slow-000099.pcap", 404, "NotFound", "file")
        api.error("GET", "/v1/nothing", 404, "NotFound", "path")
        api.error("GET", "/nothing", 404, "NotFound", "path")
        api.error("GET", "/", 404, "NotFound", "path")
        api.error("GET", "/v1/captures/slow/nothing", 404, "NotFound", "path")
        api.error("GET", "/v1/captures/slow/files/slow-000001.pcap/more", 404, "NotFound", "path")

        # ---- 405 ----
        for method, path in [("POST", "/v1/captures"), ("DELETE", "/v1/captures"), ("PATCH", "/v1/captures/slow"),
                             ("POST", "/v1/captures/slow"), ("GET", "/v1/captures/slow/stop"),
                             ("PUT", "/v1/captures/slow/files"), ("DELETE", "/v1/captures/slow/files/slow-000001.pcap"),
                             ("POST", "/v1/ports"), ("PUT", "/metrics"), ("POST", "/healthz")]:
            api.error(method, path, 405, "MethodNotAllowed", "method")
        check(api.session("slow")["status"] == "Stopped", "a refused method changed the session")

        # ---- /metrics ----
        status, text = api.call("GET", "/metrics")
        r = http(d.api_port, "GET", "/metrics")
        check(status == 200 and r.status == 200 and r.content_type.startswith("text/plain"),
              "metrics: HTTP %d, %r" % (r.status, r.content_type))
        names = set()
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                check(name.startswith("trawl_"), "metric family %r lacks the trawl_ prefix" % name)
                if kind == "counter":
                    check(name.endswith("_total"), "counter %r does not end in _total" % name)
                continue
            if line.startswith("#"):
                continue
            name = line.split("{")[0].split(" ")[0]
            check(name.startswith("trawl_"), "metric %r lacks the trawl_ prefix" % name)
            float(line.rsplit(" ", 1)[1])
            names.add(name)
        for must in ("trawl_port_rx_packets_total", "trawl_session_packets_total", "trawl_sessions",
                     "trawl_build_info"):
            check(must in names, "metrics lack %s" % must)
        check('trawl_session_packets_total{session="slow"} %d' % s1["packets"] in text,
              "metrics do not show slow's %d packets" % s1["packets"])

        ports = d.ports()
        check(ports[0]["rxMissed"] == 0 and ports[0]["rxErrors"] == 0, "port: %r" % ports)
        running = [s["name"] for s in api.ok("GET", "/v1/captures") if s["status"] == "Running"]
        rc = d.stop()
        check(rc == 0, "trawld exited %s:\n%s" % (rc, d.read_log()[-3000:]))
        check(not running, "sessions still running at the end: %r" % running)
        return api.count


def test_auth(w, demo):
    """A trawld with a token: every API path needs it, /healthz never."""
    token = "t0k3n-%d" % os.getpid()
    with Trawld(w, ["net_pcap0,rx_pcap=%s,infinite_rx=1" % demo], token=token, name="trawld-auth") as d:
        d.start()
        api = Api(d)
        for method, path in [("GET", "/v1/captures"), ("GET", "/v1/ports"), ("GET", "/metrics"),
                             ("GET", "/v1/captures/x"), ("PUT", "/v1/captures/x"), ("GET", "/v1/nothing")]:
            for bad in ("", "wrong-" + token):
                err = api.error(method, path, 401, "Unauthorized", "Authorization", body={} if method == "PUT" else None,
                                token=bad)
                check(token not in err["message"], "the 401 message shows the token")
        check(http(d.api_port, "GET", "/v1/captures", headers={"Authorization": "Basic " + token}).status == 401,
              "Basic scheme accepted")
        check(http(d.api_port, "GET", "/v1/captures", headers={"Authorization": "Bearer " + token + "x"}).status == 401,
              "token with a suffix accepted")
        check(api.ok("GET", "/v1/captures") == [], "PUT without a token created a session")
        for tok in ("", "wrong"):
            status, body = api.call("GET", "/healthz", token=tok)
            check(status == 200 and body == {"status": "ok"}, "/healthz with token %r: %d" % (tok, status))
        check_ports_shape(api.ok("GET", "/v1/ports"))
        api.ok("PUT", "/v1/captures/authed", {"maxPackets": 10, "bytesToCapturePerPacket": 64}, expect=201)
        api.wait_stopped("authed")
        f = api.ok("GET", "/v1/captures/authed/files")[0]
        check(download(d, "/v1/captures/authed/files/" + f["name"], token="nope").status == 401,
              "download without the right token")
        r = download(d, "/v1/captures/authed/files/" + f["name"])
        check(r.status == 200 and len(read_pcap(r.body)[1]) == 10, "download with the token: %r" % r)
        status, _ = api.call("GET", "/metrics")
        check(status == 200, "metrics with the token: %d" % status)
        rc = d.stop()
        check(rc == 0, "token trawld exited %s" % rc)
        return api.count


def main():
    started = time.time()
    with Workdir("rest-api") as w:
        demo = w.file("demo.pcap")
        records = make_demo(demo, 20000)
        rare = rare_ports(records)
        n = test_main(w, demo, rare)
        with Workdir("rest-auth") as w2:
            n += test_auth(w2, demo)
            w2.ok = True
        w.ok = True
    print("rest api: OK (%d requests checked, %.1fs)" % (n, time.time() - started))


if __name__ == "__main__":
    main()
