#!/usr/bin/env python3
"""The analysis engine against tshark, parallel against serial, and its two faces:
`trawlctl analyze` and GET /v1/captures/{name}/analysis on a real trawld (issue 7).

tshark is the oracle for conversations: `tshark -q -z conv,tcp -z conv,udp -z conv,ip`
(plus `conv,ipv6`, since the flow table has IPv6 too) on the same file must list the
same conversations with the same frame counts in each direction and the same bytes.
Our flows are keyed by 5-tuple; a tshark IP conversation is the sum of our flows between
two addresses, a TCP/UDP conversation is our flow of that 5-tuple. Two normalisations,
both exact:
  - tshark prints bytes rounded ("1169 kB" = 1,169,000..1,169,999 bytes, integer
    division, Wireshark 4.0 format_size); our exact counts are printed the same way
    and compared as text. Below 10,000 bytes the comparison is exact.
  - tshark lists one TCP conversation per TCP stream, so a 5-tuple reused for a new
    connection is several rows; they are summed per 5-tuple (the count is reported).
Where both endpoints are the same address (127.0.0.1 to itself) only totals are
compared: direction has no meaning there and the tools orient it differently.
For one-row TCP/UDP conversations the client (sender of the first packet) must be
tshark's address A.

Inputs: generated captures (trawl-trafficgen --mix demo and --mix imix, with IPv6), a
capture built here with QinQ, IPv6 extension headers, fragments and a reused 5-tuple,
and every file of ../shared/corpus/tcpdump. The corpus files that agree are compared
in one run over their concatenation (pcap-concat; conversations repeated across files
merge alike in both tools) — one tshark start instead of 200; each file of EXCEPTIONS
is compared on its own and must differ only in the listed direction, and must differ
(a stale entry fails the test).

Then: serial (--threads 1) and parallel (--threads 2, small record ranges) give the
same JSON on the whole corpus, on a generated capture and on pcapng written by trawld;
the table, CSV and JSON outputs; and trawld's endpoint: 200 for small sessions (equal
to trawlctl's JSON over the same files), cached until the files change, 202 with
progress when asked not to wait, `trawlctl analyze --session`, and its errors.
"""
import collections
import json
import os
import struct
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from trawl_harness import (CORPUS, PCAP_CONCAT, TRAFFICGEN, TRAWLCTL, Trawld, Workdir, check,  # noqa: E402
                           corpus_files, run)

# -- The documented differences between DESIGN §2.2 and Wireshark's dissectors ----------
#
# "tshark-extra": tshark has conversations we do not (the only allowed difference).
# "ours-extra": we have conversations (or frames) tshark does not.
ENCAPSULATION = ("tshark-extra", "encapsulation",
                 "Wireshark decodes an encapsulation that DESIGN §2.2 does not walk and adds the inner "
                 "conversations; the outer ones agree")
LENGTH_FIELD = ("ours-extra", "length field",
                "an IP or UDP length field is 0 or inconsistent (BIG TCP / GSO super-packets, bad jumbograms, "
                "bogus total length): §2.2 never reads length fields, Wireshark rejects the header before its "
                "conversation tap")
CUT_HEADER = ("ours-extra", "cut or malformed header",
              "a header cut by the capture or a malformed TCP option: Wireshark's dissector throws before its "
              "conversation tap, §2.2 needs only the captured address and port bytes")

EXCEPTIONS = {
    # Tunnels and encapsulations (inner conversations are Wireshark's extra).
    "PIM_register_register-stop.pcap": ENCAPSULATION + ("PIM Register carries a multicast IPv4 packet",),
    "pim-packet-assortment.pcap": ENCAPSULATION + ("PIM Register carries multicast IPv4 packets",),
    "erspan-type-i-2.pcap": ENCAPSULATION + ("GRE/ERSPAN type I mirrored frames",),
    "erspan-type-ii-2.pcap": ENCAPSULATION + ("GRE/ERSPAN type II mirrored frames",),
    "erspan-type-iii-ft-0.pcap": ENCAPSULATION + ("GRE/ERSPAN type III mirrored frames",),
    "wccp_redirect_gre.pcap": ENCAPSULATION + ("WCCP redirect in GRE",),
    "geneve.pcap": ENCAPSULATION + ("Geneve (UDP 6081)",),
    "geneve-gcp.pcap": ENCAPSULATION + ("Geneve (UDP 6081)",),
    "gso-ipv4-geneve-ipv6.pcap": ENCAPSULATION + ("Geneve (UDP 6081) carrying IPv6",),
    "gso-ipv4-vxlan-ipv4.pcap": ENCAPSULATION + ("VXLAN (UDP 4789)",),
    "gso-ipv4-vxlan-ipv6.pcap": ENCAPSULATION + ("VXLAN (UDP 4789) carrying IPv6",),
    "gso-ipv6-vxlan-ipv4.pcap": ENCAPSULATION + ("VXLAN (UDP 4789) over IPv6",),
    "vxlan.pcap": ENCAPSULATION + ("VXLAN (UDP 4789)",),
    "ipv6-srh-ext-header.pcap": ENCAPSULATION + ("IPv6 in IPv6 behind a segment routing header",),
    "macsec-integonly.pcap": ENCAPSULATION + ("MACsec (EtherType 0x88e5), integrity only",),
    "macsec-short-longer.pcap": ENCAPSULATION + ("MACsec (EtherType 0x88e5), integrity only",),
    "macsec-short-valid.pcap": ENCAPSULATION + ("MACsec (EtherType 0x88e5), integrity only",),
    "arista_ether.pcap": ENCAPSULATION + ("Arista AVSP header (EtherType 0xd28b) before IPv4 and MPLS",),
    "tok2str-oobr-2.pcap": ENCAPSULATION + ("MPLS (EtherType 0x8847)",),
    # Length fields §2.2 ignores.
    "bigtcp-ipv4-geneve-ipv6.pcap": LENGTH_FIELD + ("UDP length 0 in a BIG TCP super-packet",),
    "bigtcp-ipv6-geneve-ipv4.pcap": LENGTH_FIELD + ("UDP length 0 in a BIG TCP super-packet",),
    "bigtcp-ipv6-geneve-ipv6.pcap": LENGTH_FIELD + ("UDP length 0 in a BIG TCP super-packet",),
    "bigtcp-ipv6-vxlan-ipv4.pcap": LENGTH_FIELD + ("UDP length 0 in a BIG TCP super-packet",),
    "ipv4_invalid_total_length_2.pcap": LENGTH_FIELD + ("IPv4 total length 19, below its header",),
    "ipv6-too-long-jumbo.pcap": LENGTH_FIELD + ("IPv6 jumbo payload length beyond the frame",),
    "ipv6_missing_jumbo_payload_option.pcap": LENGTH_FIELD + ("IPv6 payload length 0 without a jumbo option",),
    # Headers cut by the capture or malformed.
    "ip_printroute_asan.pcap": CUT_HEADER + ("IPv4 options cut by the capture",),
    "heapoverflow-tcp_print.pcap": CUT_HEADER + ("TCP options cut by the capture",),
    "tcp-auth-heapoverflow.pcap": CUT_HEADER + ("TCP options cut by the capture",),
    "mptcp-dss-oobr.pcap": CUT_HEADER + ("malformed MPTCP DSS option",),
    "udp-length-heapoverflow.pcap": CUT_HEADER + ("UDP header cut after its ports",),
}

KINDS = ("ip", "ipv6", "tcp", "udp")
SECTIONS = {"IPv4 Conversations": "ip", "IPv6 Conversations": "ipv6", "TCP Conversations": "tcp",
            "UDP Conversations": "udp"}


def ws_size(n):
    """Bytes as tshark -z conv prints them (Wireshark 4.0 format_size, SI, integer division)."""
    for unit, div in (("TB", 10 ** 12), ("GB", 10 ** 9), ("MB", 10 ** 6), ("kB", 10 ** 3)):
        if n // div >= 10:
            return "%d %s" % (n // div, unit)
    return "%d bytes" % n


def endpoint_key(a, b):
    return tuple(sorted([a, b], key=lambda e: (e[0], -1 if e[1] is None else e[1])))


def tshark_conversations(path, prefs=()):
    """{kind: {key: {"frames": [low→high, high→low], "bytes": [text, text] or None, "a": endpoint,
    "rows": n}}}; `key` orders the two endpoints."""
    cmd = ["tshark", "-n", "-q", "-r", path] + list(prefs) + \
          ["-z", "conv,tcp", "-z", "conv,udp", "-z", "conv,ip", "-z", "conv,ipv6"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(r.returncode in (0, 2), "%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr[-1000:]))
    out = {k: {} for k in KINDS}
    kind = None
    for line in r.stdout.splitlines():
        if line.strip() in SECTIONS:
            kind = SECTIONS[line.strip()]
            continue
        if kind is None or "<->" not in line:
            continue
        left, right = line.split("<->")
        t = right.split()
        ports = kind in ("tcp", "udp")

        def ep(s):
            if not ports:
                return (s, None)
            addr, port = s.rsplit(":", 1)
            return (addr, int(port))

        a, b = ep(left.strip()), ep(t[0])
        frames_ba, bytes_ba = int(t[1]), "%s %s" % (t[2], t[3])
        frames_ab, bytes_ab = int(t[4]), "%s %s" % (t[5], t[6])
        key = endpoint_key(a, b)
        forward = (a, b) == key
        rec = {"frames": [frames_ab, frames_ba] if forward else [frames_ba, frames_ab],
               "bytes": [bytes_ab, bytes_ba] if forward else [bytes_ba, bytes_ab], "a": a, "rows": 1}
        old = out[kind].get(key)
        if old is None:
            out[kind][key] = rec
        else:  # another TCP stream of the same 5-tuple: frames add up, rounded bytes do not
            old["frames"] = [old["frames"][0] + rec["frames"][0], old["frames"][1] + rec["frames"][1]]
            old["bytes"] = None
            old["rows"] += 1
    return out


def our_conversations(report):
    out = {k: {} for k in KINDS}
    for f in report["flows"]["items"]:
        c, s = (f["client"], f["clientPort"]), (f["server"], f["serverPort"])
        kinds = ["ip" if f["ipVersion"] == 4 else "ipv6"]
        if f["clientPort"] is not None and f["protocolNumber"] in (6, 17):
            kinds.append("tcp" if f["protocolNumber"] == 6 else "udp")
        for kind in kinds:
            a, b = (c, s) if kind in ("tcp", "udp") else ((c[0], None), (s[0], None))
            key = endpoint_key(a, b)
            forward = (a, b) == key
            frames = [f["clientPackets"], f["serverPackets"]]
            nbytes = [f["clientBytes"], f["serverBytes"]]
            if not forward:
                frames.reverse()
                nbytes.reverse()
            e = out[kind].setdefault(key, {"frames": [0, 0], "bytes": [0, 0], "flows": 0, "client": a})
            e["frames"] = [e["frames"][0] + frames[0], e["frames"][1] + frames[1]]
            e["bytes"] = [e["bytes"][0] + nbytes[0], e["bytes"][1] + nbytes[1]]
            e["flows"] += 1
    return out


def compare(theirs, ours):
    """Returns (differences, conversations compared, tshark rows summed per 5-tuple)."""
    diffs = []
    compared = merged = 0
    for kind in KINDS:
        t, u = theirs[kind], ours[kind]
        for key in sorted(set(t) | set(u), key=repr):
            if key not in u:
                diffs.append(("tshark-extra", kind, key, "tshark %s" % t[key]["frames"]))
                continue
            if key not in t:
                diffs.append(("ours-extra", kind, key, "ours %s" % u[key]["frames"]))
                continue
            compared += 1
            merged += t[key]["rows"] - 1
            x, y = t[key], u[key]
            if key[0] == key[1]:  # an address (and port) talking to itself: totals only
                if sum(x["frames"]) != sum(y["frames"]):
                    diffs.append(("ours-extra" if sum(y["frames"]) > sum(x["frames"]) else "tshark-extra", kind, key,
                                  "frames tshark %s ours %s" % (x["frames"], y["frames"])))
                elif x["bytes"] is not None and ws_size(sum(y["bytes"])) not in x["bytes"]:
                    diffs.append(("bytes", kind, key, "bytes tshark %s ours %s" % (x["bytes"], y["bytes"])))
                continue
            if x["frames"] != y["frames"]:
                ours_more = all(a >= b for a, b in zip(y["frames"], x["frames"]))
                theirs_more = all(a >= b for a, b in zip(x["frames"], y["frames"]))
                diffs.append(("ours-extra" if ours_more else "tshark-extra" if theirs_more else "frames", kind, key,
                              "frames tshark %s ours %s" % (x["frames"], y["frames"])))
            elif x["bytes"] is not None and x["bytes"] != [ws_size(n) for n in y["bytes"]]:
                diffs.append(("bytes", kind, key, "bytes tshark %s ours %s" % (x["bytes"], y["bytes"])))
            elif kind in ("tcp", "udp") and x["rows"] == 1 and y["flows"] == 1 and x["a"] != y["client"]:
                diffs.append(("client", kind, key, "tshark's A %s, our client %s" % (x["a"], y["client"])))
    return diffs, compared, merged


def analyze_json(*args, cwd=None):
    r = run([TRAWLCTL, "analyze", "--json", "--top", "0"] + list(args), cwd=cwd)
    return json.loads(r.stdout)


def without_engine(report):
    r = dict(report)
    r.pop("engine", None)
    r.pop("session", None)
    return r


def agree(path, what, prefs=()):
    diffs, compared, merged = compare(tshark_conversations(path, prefs), our_conversations(analyze_json(path)))
    check(not diffs, "%s: tshark and the analysis differ:\n  %s" % (what, "\n  ".join(map(str, diffs[:20]))))
    check(compared > 0, "%s: no conversations compared" % what)
    return compared, merged


# -- A capture with the cases the unit tests key by hand --------------------------------

def pcap_file(path, frames, t0=1700000000):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", t0 + i // 1000, (i % 1000) * 1000, len(frame), len(frame)))
            f.write(frame)


def ether(ethertype, tags=()):
    b = bytes.fromhex("020000000002020000000001")
    for tpid in tags:
        b += struct.pack("!HH", tpid, 100)
    return b + struct.pack("!H", ethertype)


def ip4(src, dst, proto, payload, frag_words=0, more=False, ident=1):
    total = 20 + len(payload)
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, (0x2000 if more else 0) | frag_words, 64, proto, 0,
                       bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))) + payload


def ip6(src_last, dst_last, next_header, payload):
    src = bytes.fromhex("fd000000000000000000000000000000")[:15] + bytes([src_last])
    dst = bytes.fromhex("fd000000000000000000000000000001")[:15] + bytes([dst_last])
    return struct.pack("!IHBB", 0x60000000, len(payload), next_header, 64) + src + dst + payload


def udp(sport, dport, payload, length=None):
    return struct.pack("!HHHH", sport, dport, length or 8 + len(payload), 0) + payload


def tcp(sport, dport, flags, seq, ack=0, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0) + payload


def edge_frames():
    f = []
    # TCP over QinQ, then the same 5-tuple reused for a second connection.
    qinq = lambda p: ether(0x0800, (0x88a8, 0x8100)) + p  # noqa: E731
    for isn in (1000, 900000):
        f.append(qinq(ip4("10.9.0.1", "10.9.0.2", 6, tcp(40001, 80, 0x02, isn))))
        f.append(qinq(ip4("10.9.0.2", "10.9.0.1", 6, tcp(80, 40001, 0x12, 5000 + isn, isn + 1))))
        f.append(qinq(ip4("10.9.0.1", "10.9.0.2", 6, tcp(40001, 80, 0x18, isn + 1, 5001 + isn, b"GET / HTTP/1.0\r\n\r\n"))))
        f.append(qinq(ip4("10.9.0.2", "10.9.0.1", 6, tcp(80, 40001, 0x11, 5001 + isn, isn + 19))))
        f.append(qinq(ip4("10.9.0.1", "10.9.0.2", 6, tcp(40001, 80, 0x11, isn + 19, 5002 + isn))))
        f.append(qinq(ip4("10.9.0.2", "10.9.0.1", 6, tcp(80, 40001, 0x10, 5002 + isn, isn + 20))))
    # DNS over one VLAN tag.
    f.append(ether(0x0800, (0x8100,)) + ip4("10.9.1.1", "10.9.1.53", 17, udp(5353, 53, b"q" * 30)))
    f.append(ether(0x0800, (0x8100,)) + ip4("10.9.1.53", "10.9.1.1", 17, udp(53, 5353, b"a" * 60)))
    # IPv6: hop-by-hop → destination options → routing (type 2, no segment left, so the
    # destination stays the packet's own for Wireshark too) → UDP.
    payload = udp(546, 547, b"x" * 20)
    routing = struct.pack("!BBBB", 17, 2, 2, 0) + b"\0" * 4 + bytes(16)
    dstopts = struct.pack("!BB", 43, 0) + b"\x01\x04\0\0\0\0"
    hop = struct.pack("!BB", 60, 0) + b"\x01\x04\0\0\0\0"
    f.append(ether(0x86dd) + ip6(1, 2, 0, hop + dstopts + routing + payload))
    f.append(ether(0x86dd) + ip6(2, 1, 17, udp(547, 546, b"y" * 40)))
    # IPv4 UDP datagram in two fragments (ports only in the first), and the answer.
    datagram = udp(33000, 7000, b"F" * 1200)
    f.append(ether(0x0800) + ip4("10.9.2.1", "10.9.2.2", 17, datagram[:808], 0, True, ident=77))
    f.append(ether(0x0800) + ip4("10.9.2.1", "10.9.2.2", 17, datagram[808:], 101, False, ident=77))
    f.append(ether(0x0800) + ip4("10.9.2.2", "10.9.2.1", 17, udp(7000, 33000, b"ok")))
    # IPv6 UDP datagram in two fragments.
    datagram6 = udp(33001, 9999, b"G" * 900)
    frag = lambda off, more, part: struct.pack("!BBHI", 17, 0, off << 3 | more, 0x1234) + part  # noqa: E731
    f.append(ether(0x86dd) + ip6(3, 4, 44, frag(0, 1, datagram6[:504])))
    f.append(ether(0x86dd) + ip6(3, 4, 44, frag(63, 0, datagram6[504:])))
    # ICMP echo and reply.
    f.append(ether(0x0800) + ip4("10.9.3.1", "10.9.3.2", 1, b"\x08\0\0\0\0\1\0\1" + b"p" * 32))
    f.append(ether(0x0800) + ip4("10.9.3.2", "10.9.3.1", 1, b"\0\0\0\0\0\1\0\1" + b"p" * 32))
    return [fr + b"\0" * max(0, 60 - len(fr)) for fr in f]


# -- The checks --------------------------------------------------------------------------

def test_generated(w):
    results = {}
    for mix, extra in (("demo", ["--ipv6", "20"]), ("imix", ["--flows", "400", "--ipv6", "25"])):
        path = w.file(mix + ".pcap")
        run([TRAFFICGEN, "--mix", mix, "--packets", "20000", "--out", path] + extra)
        results[mix] = agree(path, "trafficgen --mix " + mix)
    print("generated captures: demo %d conversations agree, imix %d" % (results["demo"][0], results["imix"][0]))


def test_edge(w):
    path = w.file("edge.pcap")
    pcap_file(path, edge_frames())
    ours = our_conversations(analyze_json(path))
    v6_fragments = ("ours-extra", "ipv6", (("fd00::3", None), ("fd00::4", None)))
    # Wireshark's IPv6 conversation counts a fragmented datagram once (its tap runs once
    # per datagram, not per packet); §2.2 counts every packet, as the IPv4 tap does.
    # With reassembly off Wireshark otherwise does what §2.2 says: the first fragment
    # carries the ports, later fragments none.
    prefs = ["-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"]
    diffs, compared, merged = compare(tshark_conversations(path, prefs), ours)
    check({d[:3] for d in diffs} == {v6_fragments}, "edge capture, reassembly off: %s" % diffs)
    check(merged == 1, "the reused 5-tuple should be two tshark TCP streams summed into one flow, got %d" % merged)
    # Wireshark's default reassembles: the UDP conversation of a fragmented datagram then
    # counts it in the frame of its last fragment, §2.2 in its first.
    diffs, _, _ = compare(tshark_conversations(path), ours)
    expected = {v6_fragments, ("bytes", "udp", (("10.9.2.1", 33000), ("10.9.2.2", 7000))),
                ("bytes", "udp", (("fd00::3", 33001), ("fd00::4", 9999)))}
    check({d[:3] for d in diffs} == expected, "edge capture, Wireshark's defaults: %s" % diffs)
    print("edge capture (QinQ, IPv6 extension headers, IPv4/IPv6 fragments, a reused 5-tuple): %d conversations "
          "agree; differences exactly as documented: IPv6 fragments (1), and with reassembly on the 2 fragmented "
          "UDP conversations" % (compared - 1))


def test_corpus(w, files):
    names = {os.path.basename(f): f for f in files}
    for name in EXCEPTIONS:
        check(name in names, "exception %s is not a corpus file" % name)
    agreeing = [f for f in files if os.path.basename(f) not in EXCEPTIONS]
    combined = w.file("corpus-agreeing.pcap")
    records = int(run([PCAP_CONCAT, combined] + agreeing).stdout.strip())
    compared, merged = agree(combined, "corpus (%d files concatenated)" % len(agreeing))
    print("corpus: %d files (%d records) agree with tshark on %d conversations (%d TCP streams summed per 5-tuple)"
          % (len(agreeing), records, compared, merged))
    by_reason = collections.Counter()
    for name, (direction, short, reason, detail) in sorted(EXCEPTIONS.items()):
        diffs, compared, _ = compare(tshark_conversations(names[name]),
                                     our_conversations(analyze_json(names[name])))
        check(diffs, "%s is listed as an exception (%s) but now agrees with tshark: remove it" % (name, detail))
        wrong = [d for d in diffs if d[0] != direction]
        check(not wrong, "%s (%s: %s): unexpected differences %s" % (name, direction, detail, wrong))
        by_reason[short] += 1
    print("corpus exceptions: %d files, each differing only as listed: %s"
          % (len(EXCEPTIONS), "; ".join("%d × %s" % (n, r) for r, n in by_reason.items())))


def test_parallel(w, files):
    everything = w.file("corpus-all.pcap")
    run([PCAP_CONCAT, everything] + files)
    big = w.file("imix-big.pcap")
    run([TRAFFICGEN, "--mix", "imix", "--packets", "60000", "--flows", "3000", "--ipv6", "30", "--out", big])
    for path, chunk in ((everything, 8192), (big, 262144)):
        serial = analyze_json("--threads", "1", path)
        parallel = analyze_json("--threads", "2", "--chunk-bytes", str(chunk), path)
        check(serial["engine"]["workItems"] == 1 and parallel["engine"]["workItems"] > 4,
              "work items: serial %d, parallel %d" % (serial["engine"]["workItems"], parallel["engine"]["workItems"]))
        check(without_engine(serial) == without_engine(parallel),
              "%s: --threads 1 and --threads 2 differ" % os.path.basename(path))
        print("parallel == serial on %s: %d records, %d flows, %d record ranges on 2 threads"
              % (os.path.basename(path), serial["summary"]["records"], serial["flows"]["total"],
                 parallel["engine"]["workItems"]))


def test_cli(w):
    path = w.file("demo.pcap")
    text = run([TRAWLCTL, "analyze", path, "--top", "5"]).stdout
    for want in ("Capture: 1 file, 20,000 records", "Flows: top 5 of", "Protocols", "Services (from well-known ports)",
                 "Top talkers: top 5 of", "Countries*", "Timeline:", "country data is old", "private", "US"):
        check(want in text, "the table output lacks %r:\n%s" % (want, text))
    only = run([TRAWLCTL, "analyze", path, "--table", "services"]).stdout
    check(only.startswith("Services") and "Flows" not in only, "--table services printed:\n" + only)
    csv = run([TRAWLCTL, "analyze", path, "--csv", "--top", "3"]).stdout.splitlines()
    check(csv[0].startswith("protocol,protocolNumber,service,ipVersion,client,clientPort") and len(csv) == 4,
          "--csv: %s" % csv)
    timeline = run([TRAWLCTL, "analyze", path, "--csv", "--table", "timeline"]).stdout.splitlines()
    check(timeline[0] == "start,packets,bytes" and sum(int(x.split(",")[1]) for x in timeline[1:]) == 20000,
          "--csv --table timeline: %s" % timeline[:3])
    report = analyze_json(path)
    geo = report["countries"]["geoip"]
    check(geo["dataDate"] and "old" in geo["note"] and geo["dataDate"] in geo["note"], "GeoIP note: %s" % geo)
    for bad, code in ((["analyze"], 2), (["analyze", path, "--session", "x"], 2), (["analyze", path, "--table", "x"], 2),
                      (["analyze", path, "--csv", "--table", "flows", "--table", "ips"], 2),
                      (["analyze", w.file("missing.pcap")], 1)):
        r = run([TRAWLCTL] + bad, check=False)
        check(r.returncode == code, "trawlctl %s exited %d, expected %d: %s" % (bad, r.returncode, code, r.stderr))


def test_rest(w):
    replay = w.file("replay.pcap")
    run([TRAFFICGEN, "--mix", "demo", "--packets", "30000", "--ipv6", "10", "--out", replay])
    sessions = [{"name": "all", "fileSizeInBytes": 2000000},
                {"name": "ng", "format": "pcapng", "filters": [{"protocols": ["tcp"]}]}]
    with Trawld(w, ["net_pcap0,rx_pcap=" + replay], sessions=sessions) as d:
        d.start()
        d.wait_rx(30000)
        # The writer may still be behind the port: wait until "all" holds every packet,
        # so its files cannot change between the two answers compared below.
        d.wait_for(lambda: d.session("all")["packets"] == 30000, 60, "session all to hold all 30000 packets")

        def analysis(name, query="", expect=200):
            status, body = d.request("GET", "/v1/captures/%s/analysis%s" % (name, query))
            check(status == expect, "analysis of %s%s: HTTP %d %s" % (name, query, status, str(body)[:500]))
            return body

        # Running: the complete files only; the file being written is named.
        d.wait_for(lambda: len([f for f in d.api("GET", "/v1/captures/all/files") if f["complete"]]) >= 2,
                   what="two complete files of session all")
        running = analysis("all", "?top=0")
        complete = [f["name"] for f in d.api("GET", "/v1/captures/all/files") if f["complete"]]
        check([f["name"] for f in running["files"]] == complete[:len(running["files"])]
              and running["session"]["fileBeingWritten"], "while running: %s" % running["session"])
        local = analyze_json(*[f["name"] for f in running["files"]], cwd=d.session_dir("all"))
        check(without_engine(local) == without_engine(running),
              "REST and trawlctl analyze differ on the same files")
        again = analysis("all", "?top=0")
        check(again["engine"]["cached"] and without_engine(again) == without_engine(running), "second answer not cached")

        # Stopping closes the last file: the files changed, so the analysis is new.
        d.api("POST", "/v1/captures/all/stop", {})
        stopped = analysis("all")
        check(not stopped["engine"]["cached"] and stopped["summary"]["records"] == 30000 and
              stopped["session"]["fileBeingWritten"] is None and len(stopped["flows"]["items"]) == 25,
              "after stop: %s records, cached %s" % (stopped["summary"]["records"], stopped["engine"]["cached"]))

        # async=true: 202 with progress, then the result.
        d.api("POST", "/v1/captures/ng/stop", {})
        first = analysis("ng", "?async=true", expect=202)
        check(first["status"] == "Running" and "progress" in first and first["totalBytes"] > 0, "202: %s" % first)
        deadline = time.time() + 30
        while True:
            status, body = d.request("GET", "/v1/captures/ng/analysis?async=true&top=0")
            if status == 200:
                break
            check(status == 202 and time.time() < deadline, "polling: HTTP %d %s" % (status, body))
            time.sleep(0.05)
        check(body["files"][0]["format"] == "pcapng" and body["protocols"][0]["protocol"] == "tcp" and
              len(body["protocols"]) == 1, "pcapng session: %s" % body["protocols"])
        ctl = run([TRAWLCTL, "--server", d.url, "--json", "analyze", "--session", "ng", "--top", "0"])
        check(without_engine(json.loads(ctl.stdout)) == without_engine(body), "trawlctl --session differs from REST")
        table = run([TRAWLCTL, "--server", d.url, "analyze", "--session", "ng", "--table", "summary"]).stdout
        check(table.startswith("Capture: 1 file"), "trawlctl --session table:\n" + table)
        # Parallel == serial on what trawld wrote as pcapng.
        ng_file = os.path.join(d.session_dir("ng"), body["files"][0]["name"])
        serial = analyze_json("--threads", "1", ng_file)
        parallel = analyze_json("--threads", "2", "--chunk-bytes", "65536", ng_file)
        check(parallel["engine"]["workItems"] > 4 and without_engine(serial) == without_engine(parallel),
              "pcapng written by trawld: parallel and serial differ")

        # Errors.
        analysis("nosuch", expect=404)
        analysis("all", "?top=x", expect=400)
        analysis("all", "?async=maybe", expect=400)
        analysis("all", "?colour=red", expect=400)
        status, _ = d.request("POST", "/v1/captures/all/analysis", {})
        check(status == 405, "POST analysis: %d" % status)
        r = run([TRAWLCTL, "--server", d.url, "analyze", "--session", "nosuch"], check=False)
        check(r.returncode == 1 and "NotFound" in r.stderr, "trawlctl --session nosuch: %s" % r.stderr)
        d.api("DELETE", "/v1/captures/ng?purge=true")
        analysis("ng", expect=404)
        check(d.stop() == 0, "trawld did not exit 0:\n" + d.read_log())
    print("REST: 200 equal to trawlctl's JSON, cached until the files change, 202 then 200 with async=true, "
          "trawlctl --session, 400/404/405")


def main():
    started = time.time()
    files = corpus_files()
    with Workdir("analysis") as w:
        test_generated(w)
        test_edge(w)
        test_corpus(w, files)
        test_parallel(w, files)
        test_cli(w)
        test_rest(w)
    print("analysis: OK in %.1f s" % (time.time() - started))


if __name__ == "__main__":
    main()
