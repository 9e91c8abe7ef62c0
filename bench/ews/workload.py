#!/usr/bin/env python3
"""The client workload of bench/ews/run.sh, run against one CalDAV gateway.

    workload.py NAME CALENDAR_URL USER PASSWORD CONTROL_URL [SYNC]

Phases, each with the fake's SOAP counters reset before and read after:
  warmup    PROPFIND Depth:0 on the calendar: the first request after start
            (DavMail logs in; davgate provisions and fills its mirror)
  propfind  PROPFIND Depth:1 getetag (+ sync-token when SYNC=sync)
  multiget  one calendar-multiget REPORT of every listed href (calendar-data)
  resync    no-change re-sync after 1.5 s (past davgate's cache TTL):
            sync-collection with the token when SYNC=sync, else PROPFIND
            Depth:1 getetag again, compared with the first listing
Prints one JSON object: per phase the wall time, SOAP calls and objects.
"""
import base64
import http.client
import json
import sys
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

name, cal_url, user, password, control = sys.argv[1:6]
use_sync = len(sys.argv) > 6 and sys.argv[6] == "sync"
u = urllib.parse.urlsplit(cal_url)
auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
D = "{DAV:}"
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)


def dav(method, path, body, depth):
    conn.request(method, path, body=body.encode(), headers={
        "Authorization": auth, "Depth": depth, "Content-Type": "application/xml; charset=utf-8"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 207:
        sys.exit("%s %s %s: %d %s" % (name, method, path, r.status, data[:500]))
    return ET.fromstring(data)


def ctl(path, post=False):
    req = urllib.request.Request(control + path, method="POST" if post else "GET")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}") if not post else None


def members(root):
    out, token = {}, root.findtext(D + "sync-token")
    for resp in root.findall(D + "response"):
        href = urllib.parse.unquote(resp.findtext(D + "href"))
        for ps in resp.findall(D + "propstat"):
            if " 200 " not in (ps.findtext(D + "status") or ""):
                continue
            etag = ps.findtext(D + "prop/" + D + "getetag")
            tok = ps.findtext(D + "prop/" + D + "sync-token")
            if tok:
                token = tok
            if href.rstrip("/") != urllib.parse.unquote(u.path).rstrip("/") and etag is not None:
                out[href] = etag
    return out, token


results = {}


def phase(label, f):
    ctl("/reset", post=True)
    t0 = time.monotonic()
    n = f()
    wall = time.monotonic() - t0
    calls = ctl("/calls")
    results[label] = {"wall_s": round(wall, 3), "soap": sum(calls.values()), "calls": calls, "objects": n}
    print("%-8s %-9s %7.3f s %5d SOAP calls %s (%s objects)" % (name, label, wall, sum(calls.values()), calls, n),
          file=sys.stderr, flush=True)


PF = '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/>%s</d:prop></d:propfind>'
state = {}


def warmup():
    dav("PROPFIND", u.path, PF % "", "0")
    return 0


def propfind():
    m, tok = members(dav("PROPFIND", u.path, PF % ("<d:sync-token/>" if use_sync else ""), "1"))
    state["etags"], state["token"] = m, tok
    return len(m)


def multiget():
    hrefs = "".join("<d:href>%s</d:href>" % urllib.parse.quote(h) for h in sorted(state["etags"]))
    body = ('<?xml version="1.0" encoding="utf-8"?><c:calendar-multiget xmlns:d="DAV:" '
            'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>%s'
            '</c:calendar-multiget>' % hrefs)
    root = dav("REPORT", u.path, body, "1")
    n = sum(1 for r in root.iter("{urn:ietf:params:xml:ns:caldav}calendar-data") if r.text and "BEGIN:VEVENT" in r.text)
    if n != len(state["etags"]):
        sys.exit("%s multiget: %d objects with calendar-data, want %d" % (name, n, len(state["etags"])))
    return n


def resync():
    if use_sync:
        if not state["token"]:
            sys.exit("%s: no sync-token in the PROPFIND" % name)
        body = ('<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>%s'
                '</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>'
                % state["token"])
        m, _ = members(dav("REPORT", u.path, body, "0"))
        if m:
            sys.exit("%s no-change sync-collection reported %d members" % (name, len(m)))
        return 0
    m, _ = members(dav("PROPFIND", u.path, PF % "", "1"))
    if m != state["etags"]:
        sys.exit("%s no-change PROPFIND: the listing changed" % name)
    return len(m)


phase("warmup", warmup)
phase("propfind", propfind)
phase("multiget", multiget)
time.sleep(1.5)
phase("resync", resync)
total = {k: round(sum(results[p][k] for p in ("warmup", "propfind", "multiget", "resync")), 3) for k in ("wall_s", "soap")}
print(json.dumps({"name": name, "phases": results, "total": total}))
