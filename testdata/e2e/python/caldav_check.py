#!/usr/bin/python3
"""python3-caldav checks for davgate's end-to-end tests.

Run by cmd/davgate/e2e (TestPythonCaldav) with Debian's /usr/bin/python3.
Inputs come from the environment:

  E2E_ROOT, E2E_USER, E2E_PASSWORD   server root URL and Basic credentials
  E2E_FEED_URL, E2E_WORK_URL         read-only feed calendar, writable calendar
  E2E_WINDOW_START, E2E_WINDOW_END   time range (RFC 3339, UTC)
  E2E_WINDOW_UIDS                    comma-separated UIDs the range must return
  E2E_RECUR_UID                      a weekly series that starts before the range
  E2E_FEED_UIDS                      comma-separated UIDs of every feed event

Exits 1 with a "FAIL:" line on the first failed check.
"""

import datetime
import os
import sys
import uuid
from urllib.parse import unquote, urljoin, urlparse

import caldav
import requests


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def ok(msg):
    print("ok: " + msg, flush=True)


def env(name):
    v = os.environ.get(name)
    if v is None:
        fail("missing environment variable " + name)
    return v


def path_of(url):
    """Normalised URL path (percent-decoding undone, trailing slash kept)."""
    return unquote(urlparse(str(url)).path)


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def uid_of(obj):
    comp = obj.icalendar_instance.walk("VEVENT")
    if not comp:
        fail("object %s holds no VEVENT:\n%s" % (obj.url, obj.data))
    return str(comp[0]["UID"])


ROOT = env("E2E_ROOT")
USER = env("E2E_USER")
PASSWORD = env("E2E_PASSWORD")
FEED_URL = env("E2E_FEED_URL")
WORK_URL = env("E2E_WORK_URL")
START = parse_time(env("E2E_WINDOW_START"))
END = parse_time(env("E2E_WINDOW_END"))
WINDOW_UIDS = sorted(u for u in env("E2E_WINDOW_UIDS").split(",") if u)
RECUR_UID = env("E2E_RECUR_UID")
FEED_UIDS = sorted(u for u in env("E2E_FEED_UIDS").split(",") if u)

http = requests.Session()
http.auth = (USER, PASSWORD)


def event_ics(uid, summary, start):
    stamp = "20260101T000000Z"
    fmt = "%Y%m%dT%H%M%SZ"
    end = start + datetime.timedelta(hours=1)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//davgate//e2e python//EN\r\n"
        "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:%s\r\nDTSTART:%s\r\nDTEND:%s\r\n"
        "SUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        % (uid, stamp, start.strftime(fmt), end.strftime(fmt), summary)
    )


# --- discovery from the root URL -------------------------------------------
client = caldav.DAVClient(url=ROOT, username=USER, password=PASSWORD)
principal = client.principal()
ok("principal at %s" % principal.url)
calendars = principal.calendars()
by_path = {path_of(c.url): c for c in calendars}
print("calendars: %s" % sorted(by_path))
for want in (FEED_URL, WORK_URL):
    if path_of(want) not in by_path:
        fail("calendar %s not listed under the principal's calendar home (got %s)"
             % (path_of(want), sorted(by_path)))
feed = by_path[path_of(FEED_URL)]
work = by_path[path_of(WORK_URL)]
ok("discovered feed %s and work %s" % (feed.url, work.url))

# --- all feed events ---------------------------------------------------------
got = sorted(uid_of(e) for e in feed.events())
if got != FEED_UIDS:
    fail("feed.events(): UIDs %s, want %s" % (got, FEED_UIDS))
ok("feed lists %d events" % len(got))

# --- time-range search ------------------------------------------------------
found = feed.date_search(start=START, end=END, expand=False)
got = sorted(set(uid_of(e) for e in found))
if RECUR_UID not in got:
    fail("date_search %s..%s misses the weekly series %s that started before the window (got %s)"
         % (START, END, RECUR_UID, got))
if got != WINDOW_UIDS:
    fail("date_search %s..%s: UIDs %s, want %s" % (START, END, got, WINDOW_UIDS))
ok("date_search returned %s" % got)

found = feed.search(start=START, end=END, event=True)
got = sorted(set(uid_of(e) for e in found))
if got != WINDOW_UIDS:
    fail("search(start, end, event=True): UIDs %s, want %s" % (got, WINDOW_UIDS))
ok("search returned %s" % got)

# --- fetch by UID -----------------------------------------------------------
ev = feed.event_by_uid(RECUR_UID)
if uid_of(ev) != RECUR_UID:
    fail("event_by_uid(%s) returned %s" % (RECUR_UID, uid_of(ev)))
if "RRULE" not in ev.icalendar_instance.walk("VEVENT")[0]:
    fail("event_by_uid(%s) lost its RRULE:\n%s" % (RECUR_UID, ev.data))
ok("event_by_uid(%s) at %s" % (RECUR_UID, ev.url))

# --- the feed is read-only --------------------------------------------------
uid = "e2e-py-ro-" + uuid.uuid4().hex
href = urljoin(feed.url.url_raw if hasattr(feed.url, "url_raw") else str(feed.url), uid + ".ics")
r = http.put(href, data=event_ics(uid, "must not land", START),
             headers={"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
if r.status_code != 403:
    fail("PUT %s on the read-only feed: got %d %s, want 403\n%s" % (href, r.status_code, r.reason, r.text))
ok("PUT on the feed refused with 403")
try:
    feed.save_event(event_ics(uid + "-lib", "must not land", START))
    fail("caldav save_event on the read-only feed succeeded")
except caldav.lib.error.DAVError as e:
    ok("save_event on the feed refused: %s" % type(e).__name__)

# --- create / update / stale update / delete on the writable calendar ------
uid = "e2e-py-" + uuid.uuid4().hex
created = work.save_event(event_ics(uid, "Created by python-caldav", START + datetime.timedelta(days=2)))
href = str(created.url)
ok("created %s" % href)
r = http.get(href)
if r.status_code != 200:
    fail("GET %s after create: %d %s" % (href, r.status_code, r.reason))
etag1 = r.headers.get("ETag")
if not etag1:
    fail("GET %s: no ETag header" % href)
if uid not in r.text:
    fail("GET %s: body lacks UID %s:\n%s" % (href, uid, r.text))

r = http.put(href, data=event_ics(uid, "Updated with If-Match", START + datetime.timedelta(days=3)),
             headers={"Content-Type": "text/calendar; charset=utf-8", "If-Match": etag1})
if r.status_code not in (200, 201, 204):
    fail("PUT %s If-Match %s: got %d %s, want 2xx\n%s" % (href, etag1, r.status_code, r.reason, r.text))
r = http.get(href)
etag2 = r.headers.get("ETag")
if r.status_code != 200 or "Updated with If-Match" not in r.text:
    fail("GET %s after update: %d, body:\n%s" % (href, r.status_code, r.text))
if etag2 == etag1:
    fail("ETag unchanged after update: %s" % etag1)
ok("updated with If-Match %s -> ETag %s" % (etag1, etag2))

r = http.put(href, data=event_ics(uid, "Stale write", START),
             headers={"Content-Type": "text/calendar; charset=utf-8", "If-Match": etag1})
if r.status_code != 412:
    fail("PUT %s with stale If-Match %s: got %d %s, want 412\n%s" % (href, etag1, r.status_code, r.reason, r.text))
ok("stale If-Match refused with 412")

r = http.put(href, data=event_ics(uid, "Create-only write", START),
             headers={"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
if r.status_code != 412:
    fail("PUT %s with If-None-Match: * on an existing object: got %d %s, want 412" % (href, r.status_code, r.reason))
ok("If-None-Match: * on an existing object refused with 412")

again = work.event_by_uid(uid)
summary = str(again.icalendar_instance.walk("VEVENT")[0]["SUMMARY"])
if summary != "Updated with If-Match":
    fail("event_by_uid(%s) after the stale write: SUMMARY %r, want the If-Match update" % (uid, summary))
ok("event_by_uid sees the update")

again.delete()
r = http.get(href)
if r.status_code != 404:
    fail("GET %s after delete: got %d, want 404" % (href, r.status_code))
try:
    work.event_by_uid(uid)
    fail("event_by_uid(%s) still finds the deleted event" % uid)
except caldav.lib.error.NotFoundError:
    pass
ok("deleted")
print("PASS")
