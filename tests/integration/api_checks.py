"""Helpers shared by the REST, bad-input and trawlctl integration tests: an HTTP client
that sends exact bytes (paths with %00, raw UTF-8, huge bodies), a small pcap reader,
the DESIGN §3 shape checks, and demo traffic with a rarely seen port for slow sessions.

Standard library only.
"""
import calendar
import hashlib
import json
import os
import re
import select
import socket
import struct
import time

from trawl_harness import TRAFFICGEN, check, run

TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$")
STATUSES = {"NotStarted", "Running", "Stopped", "Error"}
STOP_REASONS = {"ManuallyStopped", "TimeExceeded", "TotalBytesExceeded", "PacketLimitExceeded", "ServiceStopped"}
SPEC_KEYS = {"filters", "tracingFlags", "payloadPatterns", "bytesToCapturePerPacket", "totalBytesPerSession",
             "timeLimitInSeconds", "maxPackets", "fileSizeInBytes", "fileCount", "format"}
FILTER_KEYS = {"sourceSubnets", "destinationSubnets", "sourcePorts", "destinationPorts", "protocols", "tcpFlags",
               "bidirectional"}
PORT_KEYS = {"name", "rxPackets", "rxBytes", "rxMissed", "rxNoMbuf", "rxErrors"}
FILE_KEYS = {"name", "bytes", "packets", "firstTimestamp", "lastTimestamp"}


# ---- HTTP with exact bytes ----

class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "HTTP %d %s %r" % (self.status, self.content_type, self.body[:300])


def _read_reply(sock, head_only=False, timeout=30):
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before a complete response head: %r" % data[:200])
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    check(len(parts) >= 2 and parts[0].startswith("HTTP/1."), "bad status line %r" % lines[0])
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if head_only:
        return Reply(status, headers, b"")
    if "content-length" in headers:
        want = int(headers["content-length"])
        while len(body) < want:
            chunk = sock.recv(min(1 << 20, want - len(body)))
            if not chunk:
                break  # a short body: the caller compares lengths
            body += chunk
    else:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return Reply(status, headers, body)


def http(port, method, path, body=None, headers=None, token=None, timeout=30):
    """One request on its own connection. `path` is str or bytes and is sent exactly as
    given (no quoting); `body` is bytes. Returns a Reply."""
    if isinstance(path, str):
        path = path.encode("latin-1")
    lines = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    if token:
        lines.append(b"Authorization: Bearer " + token.encode())
    for k, v in (headers or {}).items():
        lines.append(k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()))
    if body is not None and not any(k.lower() == "transfer-encoding" for k in (headers or {})):
        lines.append(b"Content-Type: application/json")
        lines.append(b"Content-Length: %d" % len(body))
    request = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        return _read_reply(s, head_only=(method == "HEAD"), timeout=timeout)


def http_stream(port, method, path, head_lines, chunks, token=None, timeout=30):
    """Sends the head, then body chunks until the server answers early (a server that
    refuses a body by its declared size must not have to read it). Returns
    (Reply, bytes of body sent)."""
    lines = [("%s %s HTTP/1.1" % (method, path)).encode(), b"Host: 127.0.0.1"]
    if token:
        lines.append(b"Authorization: Bearer " + token.encode())
    lines += head_lines
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        try:
            for chunk in chunks:
                readable, _, _ = select.select([s], [], [], 0)
                if readable:
                    break
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: read what it said
        return _read_reply(s, timeout=timeout), sent


# ---- Shapes (DESIGN §3) ----

def is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def parse_time_ns(text):
    check(isinstance(text, str) and TIME_RE.match(text), "timestamp %r is not YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" % (text,))
    seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1_000_000_000 + int(text[20:29])


def check_error(status, body, want_status, want_code=None, want_target=None, what=""):
    """An error answer: the status, {"error":{"code","message","target"}}, and when
    `want_target` is given, the target naming the field."""
    label = what or "request"
    check(status == want_status, "%s: HTTP %d, expected %d: %r" % (label, status, want_status, body))
    check(isinstance(body, dict) and isinstance(body.get("error"), dict), "%s: no error object: %r" % (label, body))
    err = body["error"]
    for key in ("code", "message", "target"):
        check(isinstance(err.get(key), str), "%s: error.%s missing or not a string: %r" % (label, key, err))
    check(err["code"] and err["message"], "%s: empty code or message: %r" % (label, err))
    if want_code is not None:
        check(err["code"] == want_code, "%s: code %r, expected %r" % (label, err["code"], want_code))
    if want_target is not None:
        check(err["target"] == want_target, "%s: target %r, expected %r (%s)" % (label, err["target"], want_target,
                                                                              err["message"]))
    return err


def check_spec_shape(spec, what="spec"):
    check(isinstance(spec, dict) and set(spec) == SPEC_KEYS, "%s: keys %s" % (what, sorted(spec)))
    for f in spec["filters"]:
        check(set(f) == FILTER_KEYS, "%s: filter keys %s" % (what, sorted(f)))
    check(spec["format"] in ("pcap", "pcapng"), "%s: format %r" % (what, spec["format"]))


def check_session_shape(s, what=None):
    """GET /v1/captures/{name} as DESIGN §3 shows it."""
    what = what or "session %s" % s.get("name")
    for key in ("name", "spec", "status", "stopReason", "captureStartTime", "captureStopTime", "packets", "bytes",
                "droppedPackets", "files", "errors"):
        check(key in s, "%s: no %r in %s" % (what, key, sorted(s)))
    check(isinstance(s["name"], str), what + ": name")
    check_spec_shape(s["spec"], what + " spec")
    check(s["status"] in STATUSES, "%s: status %r" % (what, s["status"]))
    if s["status"] == "Running":
        check(s["stopReason"] is None and s["captureStopTime"] is None,
              "%s: running with stopReason %r / captureStopTime %r" % (what, s["stopReason"], s["captureStopTime"]))
    if s["status"] == "Stopped":
        check(s["stopReason"] in STOP_REASONS, "%s: stopReason %r" % (what, s["stopReason"]))
        parse_time_ns(s["captureStopTime"])
    parse_time_ns(s["captureStartTime"])
    if s["captureStopTime"] is not None:
        check(parse_time_ns(s["captureStopTime"]) >= parse_time_ns(s["captureStartTime"]),
              what + ": stops before it starts")
    for key in ("packets", "bytes", "files"):
        check(is_count(s[key]), "%s: %s = %r" % (what, key, s[key]))
    d = s["droppedPackets"]
    check(isinstance(d, dict) and set(d) >= {"ringFull", "writeError"} and is_count(d["ringFull"])
          and is_count(d["writeError"]), "%s: droppedPackets %r" % (what, d))
    check(isinstance(s["errors"], list), what + ": errors is not a list")
    for e in s["errors"]:
        check(isinstance(e, dict) and isinstance(e.get("code"), str) and isinstance(e.get("message"), str),
              "%s: error entry %r" % (what, e))


def check_file_entry(f, what="file"):
    check(set(f) >= FILE_KEYS, "%s: keys %s" % (what, sorted(f)))
    check(isinstance(f["name"], str) and is_count(f["bytes"]) and is_count(f["packets"]), "%s: %r" % (what, f))
    if f["packets"]:
        first, last = parse_time_ns(f["firstTimestamp"]), parse_time_ns(f["lastTimestamp"])
        check(first <= last, "%s: first timestamp after last: %r" % (what, f))


def check_ports_shape(ports):
    check(isinstance(ports, list) and ports, "ports: %r" % (ports,))
    for p in ports:
        check(set(p) >= PORT_KEYS, "port keys %s" % sorted(p))
        check(isinstance(p["name"], str) and all(is_count(p[k]) for k in PORT_KEYS - {"name"}), "port %r" % p)


# ---- pcap ----

def read_pcap(data, what="pcap"):
    """Parses a whole pcap (either magic, little- or big-endian); every record must be
    complete. Returns (header dict, [(ts_ns, caplen, origlen, bytes)])."""
    check(len(data) >= 24, "%s: %d bytes, no pcap header" % (what, len(data)))
    magic = data[:4]
    table = {b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1),
             b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000)}
    check(magic in table, "%s: magic %s is not pcap" % (what, magic.hex()))
    endian, ns_per_unit = table[magic]
    major, minor, _, _, snaplen, linktype = struct.unpack(endian + "HHiIII", data[4:24])
    check((major, minor) == (2, 4), "%s: version %d.%d" % (what, major, minor))
    records = []
    pos = 24
    while pos < len(data):
        check(pos + 16 <= len(data), "%s: torn record header at %d" % (what, pos))
        sec, frac, caplen, origlen = struct.unpack(endian + "IIII", data[pos:pos + 16])
        check(caplen <= origlen and caplen <= max(snaplen, 1) and caplen <= 262144,
              "%s: record at %d: caplen %d origlen %d snaplen %d" % (what, pos, caplen, origlen, snaplen))
        check(pos + 16 + caplen <= len(data), "%s: torn record at %d" % (what, pos))
        check(frac < 1_000_000_000 // ns_per_unit, "%s: fraction %d out of range at %d" % (what, frac, pos))
        records.append((sec * 1_000_000_000 + frac * ns_per_unit, caplen, origlen,
                        data[pos + 16:pos + 16 + caplen]))
        pos += 16 + caplen
    header = {"nanosecond": ns_per_unit == 1, "snaplen": snaplen, "linktype": linktype}
    return header, records


def ports_of(frame):
    """(protocol, sport, dport) of an Ethernet/IPv4 TCP or UDP frame, else None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 0x0F) * 4
    proto = frame[23]
    frag = struct.unpack(">H", frame[20:22])[0] & 0x1FFF
    if proto not in (6, 17) or frag or len(frame) < 14 + ihl + 4:
        return None
    sport, dport = struct.unpack(">HH", frame[14 + ihl:18 + ihl])
    return proto, sport, dport


# ---- Traffic ----

def make_demo(path, packets=20000):
    """Demo traffic for a looped replay; returns the record count."""
    run([TRAFFICGEN, "--mix", "demo", "--packets", str(packets), "--out", path])
    with open(path, "rb") as f:
        _, records = read_pcap(f.read(), path)
    return records


def rare_ports(records, count=2, lowest=1024):
    """Ports (either direction, >= `lowest`) seen in few packets of the file: a filter
    on one of them makes a slow session even on a fast looped replay. Returns a list of
    (port, packets in the file), rarest first, at least 2 packets each."""
    seen = {}
    for _, _, _, frame in records:
        p = ports_of(frame)
        if not p:
            continue
        for port in set(p[1:]):
            if port >= lowest:
                seen[port] = seen.get(port, 0) + 1
    # Any packet of the file with that port in either place is a match for a
    # bidirectional port filter, IPv6 and fragments included: count those too.
    candidates = sorted((n, port) for port, n in seen.items() if n >= 2)
    check(len(candidates) >= count, "no rare ports in the demo traffic")
    return [(port, n) for n, port in candidates[:count]]


def wait_until(predicate, timeout, what, interval=0.05):
    deadline = time.time() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dir_entries(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []
