#!/usr/bin/env python3
"""Bad-input catalogue (DESIGN §3 and §5, issue 3): well over a hundred bad requests
against a token-protected trawld on a looped demo replay. Each must get the exact HTTP
status and an error object {"error":{"code","message","target"}} whose target names
the field (the targets are those of control/session_spec.cpp, filter_dialects.cpp,
rest_api.cpp and http_server.cpp). Paths are sent as exact bytes (%00, %2F, %2e%2e,
"..", raw UTF-8, broken escapes), bodies as exact bytes (invalid UTF-8, NUL, 1e400,
nesting 200,000 deep, 10 MB, 2 MB chunked).

Throughout, two control sessions keep capturing: after every request the daemon must
answer /healthz, no session's packet or byte counter may go backwards, and a request
that was refused must not have created, stopped or deleted anything. At the end the
control sessions' counters have risen, a session stopped by its limit is unchanged,
SIGTERM gives exit code 0 and every file of the control sessions is readable.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from trawl_harness import Trawld, Workdir, capinfos_ok, check  # noqa: E402
from api_checks import check_error, http, http_stream, make_demo, rare_ports, wait_until  # noqa: E402

TOKEN = "bad-input-token-%d" % os.getpid()
MAX_SESSIONS = 3
MAX_BODY = 1 << 20  # api.max_body_bytes (the default, set explicitly)
NO_TOKEN = ""  # send no Authorization header

BAD = "/v1/captures/bad"  # a valid name that no refused request may create
# A SAS signature in refused requests: no error message may repeat it.
SECRET = "BadInputSecretSig%2B" + str(os.getpid())


class Case:
    def __init__(self, label, method, path, body=None, status=400, code="InvalidArgument", target=None,
                 headers=None, token=TOKEN, absent=None, stream=None):
        self.label = label
        self.method = method
        self.path = path
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.body = body
        self.status = status
        self.code = code
        self.target = target  # None: any string (the error names no field)
        self.headers = headers
        self.token = token
        # A session name that must not exist afterwards (a refused PUT creates nothing).
        self.absent = absent if absent is not None else ("bad" if method == "PUT" and path == BAD else None)
        self.stream = stream  # (head lines, chunk generator) for bodies sent as a stream


def put(label, body, target, code="InvalidArgument", status=400):
    return Case(label, "PUT", BAD, body, status, code, target)


def filt(**f):
    return {"filters": [f]}


def catalogue(other_file):
    deep = 10000
    very_deep = 200000
    c = [
        # ---- the body is not a JSON object ----
        put("malformed JSON", b'{"filters": [', "body", "InvalidJson"),
        put("trailing garbage", b'{"maxPackets": 1} x', "body", "InvalidJson"),
        put("JSON array body", b'[{"maxPackets": 1}]', "body", "InvalidJson"),
        put("JSON string body", b'"capture everything"', "body", "InvalidJson"),
        put("invalid UTF-8 in a string", b'{"format": "\xff\xfe"}', "body", "InvalidJson"),
        put("raw NUL in a key", b'{"max\x00Packets": 1}', "body", "InvalidJson"),
        put("number overflow 1e400", b'{"maxPackets": 1e400}', "body", "InvalidJson"),
        put("key given twice (last would win)", b'{"maxPackets": 1, "maxPackets": 0}', "maxPackets", "InvalidJson"),
        put("filter key given twice", b'{"filters": [{"protocols": ["tcp"], "protocols": []}]}', "protocols",
            "InvalidJson"),
        put("negative overflow -1e400 in a list", b'{"filters": [{"sourcePorts": [-1e400]}]}', "body", "InvalidJson"),
        # ---- wrong types and values ----
        put("value nested %d deep" % deep, b'{"maxPackets": ' + b"[" * deep + b"]" * deep + b"}", "maxPackets"),
        put("list entry nested %d deep" % very_deep,
            b'{"filters": [{"sourcePorts": [' + b"[" * very_deep + b"]" * very_deep + b']}]}',
            "filters[0].sourcePorts[0]"),
        put("unknown top-level key", {"maxPacket": 5}, "maxPacket"),
        put("unknown filter key", filt(vlan=5), "filters[0].vlan"),
        put("misspelt destinationPort", filt(destinationPort=["80"]), "filters[0].destinationPort"),
        put("Network Watcher and canonical keys in one filter", filt(protocol="TCP", destinationPorts=["80"]),
            "filters[0]"),
        put("name in the body", {"name": "bad"}, "name"),
        put("integer too large (20 digits)", b'{"maxPackets": 99999999999999999999}', "maxPackets"),
        put("2^64-1 bytes", b'{"totalBytesPerSession": 18446744073709551615}', "totalBytesPerSession"),
        put("negative count", {"fileCount": -1}, "fileCount"),
        put("float for an integer", {"maxPackets": 10.5}, "maxPackets"),
        put("integral float for an integer", b'{"bytesToCapturePerPacket": 128.0}', "bytesToCapturePerPacket"),
        put("string for an integer", {"timeLimitInSeconds": "60"}, "timeLimitInSeconds"),
        put("bool for a list", filt(sourcePorts=True), "filters[0].sourcePorts"),
        put("null for an integer", {"maxPackets": None}, "maxPackets"),
        put("null for the filter list", {"filters": None}, "filters"),
        put("null list entry", filt(protocols=[None]), "filters[0].protocols[0]"),
        put("object for the filter list", {"filters": {"protocols": ["tcp"]}}, "filters"),
        put("string for a filter", {"filters": ["tcp"]}, "filters[0]"),
        # ---- addresses ----
        put("CIDR /33", filt(sourceSubnets=["10.0.0.0/33"]), "filters[0].sourceSubnets[0]"),
        put("octet 256", filt(destinationSubnets=["10.0.0.1", "10.0.0.256"]), "filters[0].destinationSubnets[1]"),
        put("CIDR without length", filt(sourceSubnets=["10.0.0.0/"]), "filters[0].sourceSubnets[0]"),
        put("IPv6 /129", filt(sourceSubnets=["2001:db8::/129"]), "filters[0].sourceSubnets[0]"),
        put("reversed address range", filt(sourceSubnets=["10.1.2.3-10.1.2.1"]), "filters[0].sourceSubnets[0]"),
        put("IPv4-IPv6 range", filt(destinationSubnets=["10.0.0.1-::1"]), "filters[0].destinationSubnets[0]"),
        put("empty address", filt(sourceSubnets=[""]), "filters[0].sourceSubnets[0]"),
        put("NUL in an address", filt(sourceSubnets=["10.0.0.1\u0000"]), "filters[0].sourceSubnets[0]"),
        put("host name for an address", filt(sourceSubnets=["example.com"]), "filters[0].sourceSubnets[0]"),
        # ---- ports ----
        put('port "80-"', filt(destinationPorts=["80-"]), "filters[0].destinationPorts[0]"),
        put('port "65536"', filt(destinationPorts=["443", "65536"]), "filters[0].destinationPorts[1]"),
        put("reversed port range", filt(sourcePorts=["90-80"]), "filters[0].sourcePorts[0]"),
        put("port -1", filt(sourcePorts=[-1]), "filters[0].sourcePorts[0]"),
        put("port 80.5", filt(sourcePorts=[80.5]), "filters[0].sourcePorts[0]"),
        put("port 65536 as a number", filt(destinationPorts=[65536]), "filters[0].destinationPorts[0]"),
        put("service name for a port", filt(destinationPorts=["http"]), "filters[0].destinationPorts[0]"),
        # ---- protocols, flags ----
        put("unknown protocol name", filt(protocols=["tcp", "tcpp"]), "filters[0].protocols[1]"),
        put("protocol 256", filt(protocols=[256]), "filters[0].protocols[0]"),
        put('protocol "300"', filt(protocols=["300"]), "filters[0].protocols[0]"),
        put("bool for a protocol", filt(protocols=[True]), "filters[0].protocols[0]"),
        put("tcpFlags 256", filt(tcpFlags=256), "filters[0].tcpFlags"),
        put("tcpFlags by name", filt(tcpFlags="SYN"), "filters[0].tcpFlags"),
        put("string for bidirectional", filt(bidirectional="yes"), "filters[0].bidirectional"),
        put("tracingFlags 4", {"tracingFlags": 4}, "tracingFlags"),
        put("tracingFlags -1", {"tracingFlags": -1}, "tracingFlags"),
        put('format "cap"', {"format": "cap"}, "format"),
        put("bytesToCapturePerPacket 300000", {"bytesToCapturePerPacket": 300000}, "bytesToCapturePerPacket"),
        put("time limit over ten years", {"timeLimitInSeconds": 315360001}, "timeLimitInSeconds"),
        # ---- storage (docs/storage.md); no message may quote the signature (checked in run_case) ----
        put("storage is a string", {"storage": "https://a.blob.core.windows.net/c?sig=" + SECRET}, "storage"),
        put("storage is null", {"storage": None}, "storage"),
        put("storage without uploadUrl", {"storage": {"deleteLocalAfterUpload": True}}, "storage.uploadUrl"),
        put("storage.uploadUrl a number", {"storage": {"uploadUrl": 443}}, "storage.uploadUrl"),
        put("storage.uploadUrl not a URL", {"storage": {"uploadUrl": "blob storage please"}}, "storage.uploadUrl"),
        put("storage.uploadUrl ftp://", {"storage": {"uploadUrl": "ftp://a.blob.core.windows.net/c?sig=" + SECRET}},
            "storage.uploadUrl"),
        put("storage.uploadUrl without a SAS query", {"storage": {"uploadUrl": "https://a.blob.core.windows.net/c"}},
            "storage.uploadUrl"),
        put("storage.uploadUrl query without sig=",
            {"storage": {"uploadUrl": "https://a.blob.core.windows.net/c?sv=2021-08-06&sp=cw"}}, "storage.uploadUrl"),
        put("storage.uploadUrl without a container",
            {"storage": {"uploadUrl": "https://a.blob.core.windows.net/?sig=" + SECRET}}, "storage.uploadUrl"),
        put("storage.uploadUrl http:// to a public host",
            {"storage": {"uploadUrl": "http://a.blob.core.windows.net/c?sig=" + SECRET}}, "storage.uploadUrl"),
        put("storage.uploadUrl with user:password@",
            {"storage": {"uploadUrl": "https://u:p@a.blob.core.windows.net/c?sig=" + SECRET}}, "storage.uploadUrl"),
        put("storage.uploadUrl with a space",
            {"storage": {"uploadUrl": "https://a.blob.core.windows.net/my c?sig=" + SECRET}}, "storage.uploadUrl"),
        put("storage.deleteLocalAfterUpload a string",
            {"storage": {"uploadUrl": "https://a.blob.core.windows.net/c?sig=" + SECRET,
                         "deleteLocalAfterUpload": "yes"}}, "storage.deleteLocalAfterUpload"),
        put("unknown storage key",
            {"storage": {"uploadUrl": "https://a.blob.core.windows.net/c?sig=" + SECRET, "container": "c"}},
            "storage.container"),
        put("Network Watcher storagePath with a query but no sig=",
            {"properties": {"storageLocation": {"storagePath": "https://a.blob.core.windows.net/c?sv=1"}}},
            "properties.storageLocation.storagePath"),
        put("payloadPatterns unbalanced parenthesis", {"payloadPatterns": ["GET (/"]}, "payloadPatterns[0]"),
        put("payloadPatterns empty pattern", {"payloadPatterns": ["ok", ""]}, "payloadPatterns[1]"),
        put("payloadPatterns number", {"payloadPatterns": [7]}, "payloadPatterns[0]"),
        put("payloadPatterns backreference (Hyperscan has none)", {"payloadPatterns": ["(a)\\1"]}, "payloadPatterns[0]"),
        put("string for payloadPatterns", {"payloadPatterns": "GET /"}, "payloadPatterns"),
        put("1025 ports in one list", filt(sourcePorts=list(range(1, 1026))), "filters[0].sourcePorts"),
        put("257 filters", {"filters": [{"protocols": ["tcp"]}] * 257}, "filters"),
        put("filters expanding to too many rules",
            filt(destinationSubnets=["10.%d.%d.1" % (i // 250, i % 250) for i in range(300)],
                 destinationPorts=list(range(1000, 1400))), "filters"),
        # ---- Network Watcher dialect ----
        put("properties is a list", {"properties": []}, "properties"),
        put("unknown ARM property", {"properties": {"packetCount": 1}}, "properties.packetCount"),
        put("Network Watcher protocol ICMP", {"properties": {"filters": [{"protocol": "ICMP"}]}},
            "properties.filters[0].protocol"),
        put("empty entry in localPort", {"properties": {"filters": [{"localPort": "80;;443"}]}},
            "properties.filters[0].localPort"),
        put("half a remote address range", {"properties": {"filters": [{"remoteIPAddress": "10.0.0.1-"}]}},
            "properties.filters[0].remoteIPAddress"),
        put("two different time limits",
            {"properties": {"timeLimitInSeconds": 60, "captureSettings": {"sessionTimeLimitInSeconds": 120}}},
            "properties.captureSettings.sessionTimeLimitInSeconds"),
        put("string for continuousCapture", {"properties": {"continuousCapture": "yes"}},
            "properties.continuousCapture"),
        put("negative captureSettings.fileCount", {"properties": {"captureSettings": {"fileCount": -1}}},
            "properties.captureSettings.fileCount"),
        put("canonical key beside properties", {"properties": {}, "filters": []}, "filters"),
        put('Network Watcher localPort "80-"', filt(localPort="80-"), "filters[0].localPort"),
        put('Network Watcher remotePort ";"', filt(remotePort=";"), "filters[0].remotePort"),
        # ---- VPN-gateway FilterData ----
        put("TracingFlags 16", {"TracingFlags": 16}, "TracingFlags"),
        put("unknown VPN protocol", {"Filters": [{"Protocol": "xyz"}]}, "Filters[0].Protocol"),
        put("VPN port 65536", {"Filters": [{"DestinationPort": ["65536"]}]}, "Filters[0].DestinationPort[0]"),
        put("VPN TcpFlags -2", {"Filters": [{"TcpFlags": -2}]}, "Filters[0].TcpFlags"),
        put("string for CaptureSingleDirectionTrafficOnly",
            {"Filters": [{"CaptureSingleDirectionTrafficOnly": "yes"}]}, "Filters[0].CaptureSingleDirectionTrafficOnly"),
        put('MaxFileSize "big"', {"MaxFileSize": "big"}, "MaxFileSize"),
        put("canonical key in a VPN body", {"TracingFlags": 1, "filters": []}, "filters"),
        put("canonical key in a VPN filter", {"Filters": [{"sourcePorts": ["80"]}]}, "Filters[0].sourcePorts"),
        put("MaxPacketBufferSize 300000", {"MaxPacketBufferSize": 300000}, "MaxPacketBufferSize"),
        # ---- names in the path (exact bytes) ----
        Case("81-character name", "PUT", "/v1/captures/" + "n" * 81, {}, target="name", code="InvalidName",
             absent="n" * 80),
        Case("NUL (%00) in a name", "PUT", "/v1/captures/a%00b", {}, target="name", code="InvalidName", absent="a"),
        Case("slash (%2F) in a name", "PUT", "/v1/captures/a%2Fb", {}, target="name", code="InvalidName", absent="a"),
        Case("%2e%2e as a name", "PUT", "/v1/captures/%2e%2e", {}, target="name", code="InvalidName"),
        Case('raw ".." as a name', "PUT", "/v1/captures/..", {}, target="name", code="InvalidName"),
        Case('raw "." as a name', "PUT", "/v1/captures/.", {}, target="name", code="InvalidName"),
        Case('"../.." in a name path', "GET", "/v1/captures/../../etc/passwd", target="name", code="InvalidName"),
        Case("UTF-8 (percent-encoded) in a name", "PUT", "/v1/captures/caf%C3%A9", {}, target="name",
             code="InvalidName"),
        Case("raw UTF-8 bytes in the path", "PUT", b"/v1/captures/caf\xc3\xa9", {}, target="request",
             code="InvalidRequest"),
        Case("space (%20) in a name", "PUT", "/v1/captures/a%20b", {}, target="name", code="InvalidName"),
        Case("colon in a name", "PUT", "/v1/captures/a:b", {}, target="name", code="InvalidName"),
        Case("byte 0xFF (%FF) as a name", "GET", "/v1/captures/%FF", target="name", code="InvalidName"),
        Case("empty name", "POST", "/v1/captures//stop", {}, target="name", code="InvalidName"),
        Case("PUT without a name", "PUT", "/v1/captures/", {}, status=405, code="MethodNotAllowed", target="method"),
        # ---- broken encodings and query strings ----
        Case('malformed escape "%zz"', "GET", "/v1/captures/%zz", target="path", code="InvalidRequest"),
        Case("truncated escape", "GET", "/v1/captures/ctl%2", target="path", code="InvalidRequest"),
        Case('malformed escape in the query', "GET", "/v1/captures?x=%zz", target="query", code="InvalidRequest"),
        Case("DELETE ?purge=maybe", "DELETE", "/v1/captures/ctl?purge=maybe", target="purge"),
        Case("DELETE ?purge=", "DELETE", "/v1/captures/ctl?purge=", target="purge"),
        Case("DELETE ?purge=1", "DELETE", "/v1/captures/ctl?purge=1", target="purge"),
        # ---- file names ----
        Case("session.json as a file", "GET", "/v1/captures/ctl/files/session.json", target="file",
             code="InvalidName"),
        Case("../ (%2F) in a file name", "GET", "/v1/captures/ctl/files/..%2F..%2Fetc%2Fpasswd", target="file",
             code="InvalidName"),
        Case("another session's file", "GET", "/v1/captures/ctl/files/" + other_file, target="file",
             code="InvalidName"),
        Case("byte 0xFF (%FF) as a file", "GET", "/v1/captures/ctl/files/%FF", target="file", code="InvalidName"),
        Case("file that does not exist", "GET", "/v1/captures/ctl/files/ctl-999999.pcap", status=404,
             code="NotFound", target="file"),
        Case("raw ../ after files/", "GET", "/v1/captures/ctl/files/../session.json", status=404, code="NotFound",
             target="path"),
        # ---- stop bodies (the session must keep running) ----
        Case("unknown field in a stop body", "POST", "/v1/captures/ctl/stop", {"force": True}, target="force"),
        Case("sasUrl without a signature", "POST", "/v1/captures/ctl/stop", {"sasUrl": "https://a/c?sv=1"},
             target="sasUrl"),
        Case("sasUrl over http:// to a public host", "POST", "/v1/captures/ctl/stop",
             {"sasUrl": "http://a.blob.core.windows.net/c?sig=" + SECRET}, target="sasUrl"),
        Case("sasUrl a number", "POST", "/v1/captures/ctl/stop", {"sasUrl": 1}, target="sasUrl"),
        Case("sasUrl beside an unknown field", "POST", "/v1/captures/ctl/stop",
             {"sasUrl": "https://a.blob.core.windows.net/c?sig=" + SECRET, "force": True}, target="force"),
        Case("truncated JSON inside a SAS", "POST", "/v1/captures/ctl/stop",
             b'{"sasUrl": "https://a.blob.core.windows.net/c?sig=' + SECRET.encode() + b'\x01',
             target="body", code="InvalidJson"),
        Case("array as a stop body", "POST", "/v1/captures/ctl/stop", b"[1]", target="body", code="InvalidJson"),
        Case("malformed stop body", "POST", "/v1/captures/ctl/stop", b"{", target="body", code="InvalidJson"),
        # ---- 404, 405 ----
        Case("unknown session", "GET", "/v1/captures/no-such", status=404, code="NotFound", target="name"),
        Case("stop an unknown session", "POST", "/v1/captures/no-such/stop", {}, status=404, code="NotFound",
             target="name"),
        Case("unknown API version", "GET", "/v2/captures", status=404, code="NotFound", target="path"),
        Case("PATCH a session", "PATCH", "/v1/captures/ctl", {"maxPackets": 1}, status=405, code="MethodNotAllowed",
             target="method"),
        Case("POST the session list", "POST", "/v1/captures", {}, status=405, code="MethodNotAllowed",
             target="method"),
        Case("DELETE the ports", "DELETE", "/v1/ports", status=405, code="MethodNotAllowed", target="method"),
        Case("GET stop", "GET", "/v1/captures/ctl/stop", status=405, code="MethodNotAllowed", target="method"),
        # ---- 409 ----
        Case("existing name", "PUT", "/v1/captures/ctl", {"maxPackets": 1}, status=409, code="AlreadyExists",
             target="name"),
        # ---- 413 ----
        Case("body one byte over the limit", "PUT", BAD, b" " * (MAX_BODY + 1), status=413, code="PayloadTooLarge",
             target="body", absent="bad"),
        Case("10 MB body", "PUT", BAD, status=413, code="PayloadTooLarge", target="body", absent="bad",
             stream=([b"Content-Type: application/json", b"Content-Length: %d" % (10 << 20)],
                     lambda: (b" " * 65536 for _ in range(160)))),
        Case("2 MB chunked body", "PUT", BAD, status=413, code="PayloadTooLarge", target="body", absent="bad",
             stream=([b"Content-Type: application/json", b"Transfer-Encoding: chunked"],
                     lambda: [b"10000\r\n" + b" " * 65536 + b"\r\n" for _ in range(32)] + [b"0\r\n\r\n"])),
        # ---- 401 ----
        Case("no token", "GET", "/v1/captures", status=401, code="Unauthorized", target="Authorization",
             token=NO_TOKEN),
        Case("wrong token", "GET", "/v1/captures", status=401, code="Unauthorized", target="Authorization",
             token="not-" + TOKEN),
        Case("Basic instead of Bearer", "GET", "/v1/ports", status=401, code="Unauthorized", target="Authorization",
             token=NO_TOKEN, headers={"Authorization": "Basic " + TOKEN}),
        Case("token with a suffix", "GET", "/v1/ports", status=401, code="Unauthorized", target="Authorization",
             token=TOKEN + "x"),
        Case("valid PUT without a token", "PUT", BAD, {"maxPackets": 1}, status=401, code="Unauthorized",
             target="Authorization", token=NO_TOKEN),
        Case("stop without a token", "POST", "/v1/captures/ctl/stop", {}, status=401, code="Unauthorized",
             target="Authorization", token=NO_TOKEN),
        Case("DELETE with a wrong token", "DELETE", "/v1/captures/ctl?purge=true", status=401, code="Unauthorized",
             target="Authorization", token="wrong"),
        Case("unknown path without a token", "GET", "/v1/nothing", status=401, code="Unauthorized",
             target="Authorization", token=NO_TOKEN),
        # A request that cannot be decoded is refused as such, token or not.
        Case("malformed escape without a token", "GET", "/v1/captures/%zz", target="path", code="InvalidRequest",
             token=NO_TOKEN),
        Case("10 MB body without a token", "PUT", BAD, status=401, code="Unauthorized", target="Authorization",
             token=NO_TOKEN, stream=([b"Content-Type: application/json", b"Content-Length: %d" % (10 << 20)],
                                     lambda: (b" " * 65536 for _ in range(160)))),
    ]
    return c


class Watch:
    """Counters of every session; a refused request must not move anything backwards."""

    def __init__(self, d):
        self.d = d
        self.last = {}

    def snapshot(self, label):
        r = http(self.d.api_port, "GET", "/v1/captures", token=TOKEN)
        check(r.status == 200, "after %s: GET /v1/captures -> %r" % (label, r))
        now = {s["name"]: s for s in r.json()}
        for name, s in now.items():
            old = self.last.get(name)
            if old is None:
                continue
            for key in ("packets", "bytes"):
                check(s[key] >= old[key], "after %s: session %s %s went back from %d to %d"
                      % (label, name, key, old[key], s[key]))
            if old["status"] != "Running":
                check(s["status"] == old["status"] and s["stopReason"] == old["stopReason"]
                      and s["packets"] == old["packets"], "after %s: stopped session %s changed" % (label, name))
        self.last = now
        return now


def run_case(d, case, watch, names_before):
    if case.stream:
        head, chunks = case.stream
        reply, _ = http_stream(d.api_port, case.method, case.path if isinstance(case.path, str) else case.path.decode(),
                               head, chunks(), token=case.token)
    else:
        reply = http(d.api_port, case.method, case.path, body=case.body, headers=case.headers, token=case.token)
    what = "%s (%s %r)" % (case.label, case.method, case.path if len(case.path) < 100 else case.path[:100])
    check(reply.content_type.startswith("application/json"), "%s: content type %r: %r" % (what, reply.content_type,
                                                                                        reply))
    try:
        body = reply.json()
    except ValueError:
        raise AssertionError("%s: the error is not JSON: %r" % (what, reply))
    err = check_error(reply.status, body, case.status, case.code, case.target, what)
    check(SECRET not in reply.body.decode(errors="replace"), "%s: the reply repeats the SAS signature: %r" % (what, reply))
    check(len(err["message"]) < 1000, "%s: a %d-character message" % (what, len(err["message"])))
    # The daemon still answers, and nothing changed that should not have.
    h = http(d.api_port, "GET", "/healthz")
    check(h.status == 200 and h.json() == {"status": "ok"}, "after %s: /healthz -> %r" % (what, h))
    now = watch.snapshot(case.label)
    check(set(now) == names_before, "after %s: sessions %s, before %s" % (what, sorted(now), sorted(names_before)))
    for name in ("ctl", "ctl2"):
        check(now[name]["status"] == "Running", "after %s: %s is %s" % (what, name, now[name]["status"]))
    if case.absent is not None:
        r = http(d.api_port, "GET", "/v1/captures/" + case.absent, token=TOKEN)
        check(r.status == 404, "after %s: the refused session exists: %r" % (what, r))
    return err


def too_many_sessions(d, watch):
    """409 TooManySessions at capture.max_sessions; a refused request creates nothing."""
    running = [n for n, s in watch.snapshot("start of TooManySessions").items() if s["status"] == "Running"]
    fillers = []
    for i in range(MAX_SESSIONS - len(running)):
        name = "filler-%d" % i
        r = http(d.api_port, "PUT", "/v1/captures/" + name,
                 body=json.dumps({"filters": [{"destinationSubnets": ["192.0.2.0/24"]}]}).encode(), token=TOKEN)
        check(r.status == 201, "filler: %r" % r)
        fillers.append(name)
    names = set(watch.snapshot("fillers"))
    checked = 0
    for body in ({"maxPackets": 10}, {"properties": {"filters": [{"protocol": "TCP"}]}}, {"TracingFlags": 1}):
        r = http(d.api_port, "PUT", BAD, body=json.dumps(body).encode(), token=TOKEN)
        check_error(r.status, r.json(), 409, "TooManySessions", None, "PUT at capture.max_sessions")
        check(str(MAX_SESSIONS) in r.json()["error"]["message"], "TooManySessions message: %r" % r.json())
        check(http(d.api_port, "GET", BAD, token=TOKEN).status == 404, "the refused session exists")
        check(set(watch.snapshot("TooManySessions")) == names, "TooManySessions changed the session list")
        checked += 1
    for name in fillers:
        r = http(d.api_port, "DELETE", "/v1/captures/%s?purge=true" % name, token=TOKEN)
        check(r.status == 200, "delete filler: %r" % r)
    return checked


def main():
    started = time.time()
    with Workdir("bad-input") as w:
        demo = w.file("demo.pcap")
        records = make_demo(demo, 20000)
        (port1, _), (port2, _) = rare_ports(records, 2)
        with Trawld(w, ["net_pcap0,rx_pcap=%s,infinite_rx=1" % demo], token=TOKEN,
                    capture={"max_sessions": MAX_SESSIONS, "flush_interval_ms": 100}) as d:
            d.config["api"]["max_body_bytes"] = MAX_BODY
            d.write_config()
            d.start()

            def create(name, body):
                r = http(d.api_port, "PUT", "/v1/captures/" + name, body=json.dumps(body).encode(), token=TOKEN)
                check(r.status == 201, "create %s: %r" % (name, r))
                return r.json()
            # Two control sessions on rare ports: slow, endless, bounded on disk by a ring buffer.
            ring = {"bytesToCapturePerPacket": 64, "fileSizeInBytes": 1 << 17, "fileCount": 2, "maxPackets": 0}
            create("ctl", dict(ring, filters=[{"sourcePorts": [str(port1)]}]))
            create("ctl2", dict(ring, filters=[{"sourcePorts": [str(port2)]}], format="pcapng"))
            create("done", {"maxPackets": 200, "bytesToCapturePerPacket": 64})
            watch = Watch(d)
            wait_until(lambda: all(s["packets"] > 0 for n, s in watch.snapshot("start").items() if n != "done")
                       and watch.last["done"]["status"] == "Stopped", 20, "control sessions to capture")
            done = http(d.api_port, "GET", "/v1/captures/done/files", token=TOKEN).json()
            check(len(done) == 1, "done files: %r" % done)
            start = watch.snapshot("start")
            rx_start = d.ports()[0]["rxPackets"]

            cases = catalogue(done[0]["name"])
            names = set(start)
            targets = {}
            mid = None
            for i, case in enumerate(cases):
                run_case(d, case, watch, names)
                targets[case.status] = targets.get(case.status, 0) + 1
                if i == len(cases) // 2:
                    mid = dict((n, s["packets"]) for n, s in watch.last.items())
            extra = too_many_sessions(d, watch)
            targets[409] += extra
            checked = len(cases) + extra

            # The control sessions kept capturing from start to end.
            end = wait_until(lambda: (lambda now: now if all(now[n]["packets"] > mid[n] for n in ("ctl", "ctl2"))
                                      else None)(watch.snapshot("end")), 10, "control sessions to keep capturing")
            for n in ("ctl", "ctl2"):
                check(end[n]["status"] == "Running" and end[n]["packets"] > start[n]["packets"]
                      and end[n]["droppedPackets"]["writeError"] == 0 and not end[n]["errors"],
                      "%s: %s" % (n, end[n]))
            check(end["done"]["packets"] == 200 and end["done"]["stopReason"] == "PacketLimitExceeded",
                  "done changed: %s" % end["done"])
            rx_end = http(d.api_port, "GET", "/v1/ports", token=TOKEN).json()[0]
            check(rx_end["rxPackets"] > rx_start and rx_end["rxErrors"] == 0, "port: %r" % rx_end)
            check(sorted(end) == ["ctl", "ctl2", "done"], "sessions at the end: %r" % sorted(end))

            rc = d.stop()
            check(rc == 0, "trawld exited %s after the catalogue:\n%s" % (rc, d.read_log()[-3000:]))
        for n in ("ctl", "ctl2"):
            with open(os.path.join(d.session_dir(n), "session.json")) as f:
                state = json.load(f)
            check(state["stopReason"] == "ServiceStopped", "%s after SIGTERM: %s" % (n, state["stopReason"]))
            files = d.capture_files(n)
            check(files, n + ": no files")
            for path in files:
                ok, out = capinfos_ok(path)
                check(ok, "capinfos %s: %s" % (path, out))
        w.ok = True
    print("bad input: OK: %d bad requests checked (by status: %s); control sessions captured %d and %d packets "
          "meanwhile; %.1fs" % (checked, json.dumps(dict(sorted(targets.items()))),
                                end["ctl"]["packets"] - start["ctl"]["packets"],
                                end["ctl2"]["packets"] - start["ctl2"]["packets"], time.time() - started))


if __name__ == "__main__":
    main()
