#!/usr/bin/env python3
"""The web console (issue 8): trawld's static serving of /ui, then the console end to
end in headless Chromium (console_e2e.mjs, playwright-core from ui/node_modules).

1. HTTP: /ui and its assets without a token (content types, caching, CSP), HEAD on a
   keep-alive connection, '..' and hidden or unknown paths refused as JSON errors, the
   API still closed without the token, api.ui_dir checked at start-up.
2. Browser, trawld with a token file, a looped net_pcap replay of the demo mix: log in,
   create a session through the form, watch its packet counter rise, a bad filter
   refused with the field named, stop it, its files and a download, its analysis (charts
   and flow table against the API's numbers), the ports page, delete; every request
   went to trawld's own origin.
3. Browser, trawld without a token file (loopback only): no token asked.

Screenshots of each page go to <build>/tests/integration/console-screenshots (or
$TRAWL_CONSOLE_SHOTS). Needs what scripts/install-ui.sh installs: node, Debian's
chromium, ui/node_modules and a built ui/dist.
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from trawl_harness import SOURCE_ROOT, TRAFFICGEN, TRAWLD, Trawld, Workdir, check, free_port, run  # noqa: E402

TOKEN = "console-test-token-5f2a"
HERE = os.path.dirname(os.path.abspath(__file__))
UI = os.path.join(SOURCE_ROOT, "ui")
BUILD_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(TRAWLD)))
SHOTS = os.environ.get("TRAWL_CONSOLE_SHOTS", os.path.join(BUILD_ROOT, "tests", "integration", "console-screenshots"))


def prerequisites():
    missing = []
    if not shutil.which("node"):
        missing.append("node")
    if not os.access("/usr/bin/chromium", os.X_OK):
        missing.append("/usr/bin/chromium")
    if not os.path.isdir(os.path.join(UI, "node_modules", "playwright-core")):
        missing.append("ui/node_modules/playwright-core")
    if not os.path.isfile(os.path.join(UI, "dist", "index.html")):
        missing.append("ui/dist/index.html")
    check(not missing, "missing %s: run scripts/install-ui.sh" % ", ".join(missing))


def raw(port, method, path, headers=None, conn=None):
    """One request with the path sent exactly as given (no client-side normalisation)."""
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.putrequest(method, path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    if conn is None:
        c.close()
    return r.status, r.headers, body


def json_error(status_body, status, code, what):
    st, headers, body = status_body
    check(st == status, "%s: status %d, expected %d: %s" % (what, st, status, body[:200]))
    check("application/json" in headers.get("Content-Type", ""), what + ": JSON error")
    check(json.loads(body)["error"]["code"] == code, "%s: code %s: %s" % (what, code, body[:200]))


def static_checks(d):
    port = d.api_port
    # The page and its assets are public; the API is not.
    st, h, index = raw(port, "GET", "/ui")
    check(st == 200 and h["Content-Type"] == "text/html; charset=utf-8", "GET /ui: %d %s" % (st, h["Content-Type"]))
    check(h["Cache-Control"] == "no-cache", "index.html is revalidated: " + h["Cache-Control"])
    csp = h.get("Content-Security-Policy", "")
    check("default-src 'self'" in csp and "connect-src 'self'" in csp and "script-src 'self'" in csp,
          "index.html limits the page to its own origin: " + csp)
    check(h.get("X-Content-Type-Options") == "nosniff", "nosniff")
    st2, _, index2 = raw(port, "GET", "/ui/")
    check(st2 == 200 and index2 == index, "/ui/ is the same page")
    assets = re.findall(rb'(?:src|href)="(/ui/assets/[^"]+)"', index)
    check(len(assets) == 2, "index.html refers to a script and a stylesheet: %s" % assets)
    types = {}
    for a in assets:
        st, h, body = raw(port, "GET", a.decode())
        check(st == 200 and len(body) > 0, "GET %s: %d" % (a, st))
        check(h["Cache-Control"] == "public, max-age=31536000, immutable", "hashed asset cached for good: " + h["Cache-Control"])
        types[a.decode().rsplit(".", 1)[1]] = h["Content-Type"]
    check(types == {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}, "asset types: %s" % types)
    st, h, _ = raw(port, "GET", "/ui/favicon.svg")
    check(st == 200 and h["Content-Type"] == "image/svg+xml", "favicon: %d %s" % (st, h["Content-Type"]))

    # HEAD: the headers of the GET, no body (the next answer on the connection is intact).
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    st, h, body = raw(port, "HEAD", "/ui", conn=conn)
    check(st == 200 and body == b"" and int(h["Content-Length"]) == len(index), "HEAD /ui: %d, %s" % (st, h["Content-Length"]))
    st, h, body = raw(port, "GET", "/ui", conn=conn)
    check(st == 200 and body == index, "GET after HEAD on one connection: %d" % st)
    conn.close()

    # Paths that must never reach the file system, and files that are not there.
    json_error(raw(port, "GET", "/ui/../v1/captures"), 400, "InvalidRequest", "/ui/../v1/captures")
    json_error(raw(port, "GET", "/ui/%2e%2e/index.html"), 400, "InvalidRequest", "/ui/%2e%2e/index.html")
    json_error(raw(port, "GET", "/ui/assets/../../../etc/passwd"), 400, "InvalidRequest", "/ui/assets/../../../etc/passwd")
    json_error(raw(port, "GET", "/ui/..%2f..%2fetc%2fpasswd"), 404, "NotFound", "decoded slashes")
    json_error(raw(port, "GET", "/ui/.hidden"), 404, "NotFound", "hidden file")
    json_error(raw(port, "GET", "/ui/nope.js"), 404, "NotFound", "unknown file")
    json_error(raw(port, "GET", "/ui/assets"), 404, "NotFound", "a directory")
    json_error(raw(port, "GET", "/ui/a%00b"), 404, "NotFound", "NUL in a name")
    json_error(raw(port, "GET", "/ui/%zz"), 400, "InvalidRequest", "broken percent-encoding")
    # Only GET and HEAD are open; anything else needs the token, then is not allowed.
    json_error(raw(port, "POST", "/ui", {"Content-Length": "0"}), 401, "Unauthorized", "POST /ui without a token")
    json_error(raw(port, "POST", "/ui", {"Content-Length": "0", "Authorization": "Bearer " + TOKEN}), 405,
               "MethodNotAllowed", "POST /ui with the token")
    json_error(raw(port, "GET", "/v1/captures"), 401, "Unauthorized", "the API still needs the token")
    st, h, body = raw(port, "GET", "/v1/captures", {"Authorization": "Bearer " + TOKEN})
    check(st == 200 and h["Cache-Control"] == "no-store", "the API is still never cached: %s" % h["Cache-Control"])
    print("static serving: page, assets, HEAD, refusals and auth as documented")


def ui_dir_checks(w):
    # api.ui_dir must hold a built console: trawld says so before touching a port.
    empty = w.file("empty-ui")
    os.makedirs(empty)
    cfg = w.file("ui-dir.yaml")
    with open(cfg, "w") as f:
        json.dump({"ports": [{"device": "net_null0"}], "capture": {"root": w.file("c")},
                   "api": {"ui_dir": empty}}, f)
    r = run([TRAWLD, "--config", cfg, "--check-config"], check=False)
    check(r.returncode == 2 and "api.ui_dir" in r.stderr and "index.html" in r.stderr,
          "api.ui_dir without index.html: exit %d, %s" % (r.returncode, r.stderr))
    with open(cfg, "w") as f:
        json.dump({"ports": [{"device": "net_null0"}], "capture": {"root": w.file("c")},
                   "api": {"ui_dir": "relative/dist"}}, f)
    r = run([TRAWLD, "--config", cfg, "--check-config"], check=False)
    check(r.returncode == 2 and "api.ui_dir" in r.stderr and "absolute" in r.stderr,
          "relative api.ui_dir: exit %d, %s" % (r.returncode, r.stderr))
    with open(cfg, "w") as f:
        json.dump({"ports": [{"device": "net_null0"}], "capture": {"root": w.file("c")},
                   "api": {"ui_dir": os.path.join(UI, "dist")}}, f)
    r = run([TRAWLD, "--config", cfg, "--check-config"], check=False)
    check(r.returncode == 0, "api.ui_dir with the built console: exit %d, %s" % (r.returncode, r.stderr))
    print("api.ui_dir: checked at start-up")


def browser(d, mode, token=None):
    cmd = ["node", os.path.join(HERE, "console_e2e.mjs"), "--url", d.url, "--shots", SHOTS, "--mode", mode,
           "--closed-port", str(free_port())]  # an upload target where nothing listens
    if token:
        cmd += ["--token", token]
    started = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240,
                       env=dict(os.environ, TRAWL_SOURCE_ROOT=SOURCE_ROOT))
    print(r.stdout)
    if r.returncode != 0:  # say whether trawld was still there, and what it last logged
        print("trawld:", "running" if d.proc.poll() is None else "exited with %s" % d.proc.returncode)
        print("\n".join(d.read_log().splitlines()[-30:]))
    check(r.returncode == 0, "console_e2e.mjs --mode %s exited %d" % (mode, r.returncode))
    print("browser (%s): %.1f s" % (mode, time.time() - started))


def main():
    prerequisites()
    os.makedirs(SHOTS, exist_ok=True)
    for old in os.listdir(SHOTS):  # a failure.png of an earlier run must not linger
        if old.endswith(".png"):
            os.unlink(os.path.join(SHOTS, old))
    with Workdir("console") as w:
        ui_dir_checks(w)
        demo = w.file("demo.pcap")
        run([TRAFFICGEN, "--mix", "demo", "--packets", "30000", "--ipv6", "10", "--out", demo])
        # A looped replay: the counters keep rising while the browser watches.
        # A config session that stops at its packet limit sits beside the one the form creates.
        dns = {"name": "dns", "filters": [{"protocols": ["udp"], "destinationPorts": ["53"]}], "maxPackets": 20000,
               "bytesToCapturePerPacket": 128}
        with Trawld(w, ["net_pcap0,rx_pcap=%s,infinite_rx=1" % demo], token=TOKEN, sessions=[dns],
                    capture={"max_sessions": 4}) as d:
            d.start(timeout=120)  # EAL start-up is slow on a busy 2-core machine
            static_checks(d)
            browser(d, "full", TOKEN)
            check(d.stop() == 0, "trawld exit status")
        # No token file, loopback only; a finite replay is enough here.
        with Trawld(w, ["net_pcap0,rx_pcap=%s" % demo], name="trawld-open",
                    sessions=[{"name": "icmp", "filters": [{"protocols": ["icmp"]}]}]) as d:
            d.start(timeout=120)
            browser(d, "notoken")
            check(d.stop() == 0, "trawld exit status")
    print("screenshots in", SHOTS)
    print("PASS")


if __name__ == "__main__":
    main()
