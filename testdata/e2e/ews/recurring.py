#!/usr/bin/python3
"""python3-caldav edits of a recurring event on an Exchange calendar behind davgate.

Run by cmd/davgate/e2e (TestEWSPythonCaldav) with Debian's /usr/bin/python3.
Inputs (environment): E2E_ROOT, E2E_USER, E2E_PASSWORD, E2E_CAL_URL, E2E_UID.

It creates a weekly series (6 Mondays from 2026-03-02 10:00Z) with the second
instance moved to 14:00, edits the master's summary and the exception, then
deletes the 2026-03-23 occurrence by adding an EXDATE, reads the event back
(GET) and checks the EXDATE and the expanded March instances. The Go test
then checks what the fake Exchange holds. Exits 1 with a "FAIL:" line on the
first failed check.
"""

import datetime
import os
import sys

from urllib.parse import unquote, urlparse

import caldav


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


ROOT = env("E2E_ROOT")
CAL_URL = env("E2E_CAL_URL")
UID = env("E2E_UID")
UTC = datetime.timezone.utc

SERIES = "\r\n".join([
    "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//davgate//e2e ews python//EN",
    "BEGIN:VEVENT", "UID:" + UID, "DTSTAMP:20260101T000000Z",
    "DTSTART:20260302T100000Z", "DTEND:20260302T103000Z",
    "RRULE:FREQ=WEEKLY;COUNT=6", "SUMMARY:Team sync", "END:VEVENT",
    "BEGIN:VEVENT", "UID:" + UID, "DTSTAMP:20260101T000000Z",
    "RECURRENCE-ID:20260309T100000Z",
    "DTSTART:20260309T140000Z", "DTEND:20260309T143000Z",
    "SUMMARY:Team sync moved", "END:VEVENT",
    "END:VCALENDAR", ""])


def path_of(url):
    return unquote(urlparse(str(url)).path).rstrip("/")


def components(ev):
    master, exceptions = None, {}
    for comp in ev.icalendar_instance.walk("VEVENT"):
        if str(comp.get("UID")) != UID:
            fail("object holds a VEVENT with UID %s:\n%s" % (comp.get("UID"), ev.data))
        rid = comp.get("RECURRENCE-ID")
        if rid is None:
            master = comp
        else:
            exceptions[rid.dt.astimezone(UTC)] = comp
    if master is None:
        fail("no master VEVENT in:\n%s" % ev.data)
    return master, exceptions


def exdates(master):
    out = []
    ex = master.get("EXDATE")
    for e in (ex if isinstance(ex, list) else [ex] if ex is not None else []):
        out.extend(d.dt.astimezone(UTC) for d in e.dts)
    return sorted(out)


client = caldav.DAVClient(url=ROOT, username=env("E2E_USER"), password=env("E2E_PASSWORD"))
principal = client.principal()
cal = caldav.Calendar(client=client, url=CAL_URL)
listed = [path_of(c.url) for c in principal.calendars()]
if path_of(CAL_URL) not in listed:
    fail("principal.calendars() lists %s, not %s" % (listed, path_of(CAL_URL)))
ok("principal.calendars() lists the Exchange calendar")

cal.save_event(SERIES)
ok("save_event: series with one moved instance stored")

rid = datetime.datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
ev = cal.event_by_uid(UID)
master, exceptions = components(ev)
rrule = master.get("RRULE").to_ical().decode()
if "FREQ=WEEKLY" not in rrule or "COUNT=6" not in rrule:
    fail("master lost its RRULE:\n%s" % ev.data)
if list(exceptions) != [rid] or str(exceptions[rid]["SUMMARY"]) != "Team sync moved":
    fail("exceptions %s, want the moved one at %s:\n%s" % (list(exceptions), rid, ev.data))
ok("event_by_uid: master with RRULE and the moved instance")

master["SUMMARY"] = "Team sync (edited)"
exc = exceptions[rid]
exc["SUMMARY"] = "Team sync moved (edited)"
exc["DTSTART"].dt = datetime.datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
exc["DTEND"].dt = datetime.datetime(2026, 3, 9, 15, 30, tzinfo=UTC)
ev.save()
ok("save: master and exception edited")

# Delete one occurrence: EXDATE on the master.
ev = cal.event_by_uid(UID)
master, exceptions = components(ev)
gone = datetime.datetime(2026, 3, 23, 10, 0, tzinfo=UTC)
master.add("EXDATE", gone)
ev.save()
ok("save: occurrence %s deleted with EXDATE" % gone)

# GET it back, fresh.
ev = caldav.Event(client=client, url=ev.url)
ev.load()
master, exceptions = components(ev)
if exdates(master) != [gone]:
    fail("EXDATE after GET: %s, want [%s]:\n%s" % (exdates(master), gone, ev.data))
if str(master["SUMMARY"]) != "Team sync (edited)":
    fail("master summary after GET: %s\n%s" % (master["SUMMARY"], ev.data))
exc = exceptions.get(rid)
if exc is None or str(exc["SUMMARY"]) != "Team sync moved (edited)" or exc["DTSTART"].dt.astimezone(UTC).hour != 15:
    fail("exception after GET:\n%s" % ev.data)
ok("GET: EXDATE, edited master and edited exception read back")

found = cal.date_search(start=datetime.datetime(2026, 3, 1, tzinfo=UTC),
                        end=datetime.datetime(2026, 4, 1, tzinfo=UTC), expand=True)
starts = []
for obj in found:
    for comp in obj.icalendar_instance.walk("VEVENT"):
        if str(comp.get("UID")) == UID:
            starts.append((comp["DTSTART"].dt.astimezone(UTC), str(comp["SUMMARY"])))
starts.sort()
want = [(datetime.datetime(2026, 3, d, 10, 0, tzinfo=UTC), "Team sync (edited)") for d in (2, 16, 30)]
want.append((datetime.datetime(2026, 3, 9, 15, 0, tzinfo=UTC), "Team sync moved (edited)"))
want.sort()
if starts != want:
    fail("expanded March instances:\n  %s\nwant\n  %s" % (starts, want))
ok("date_search(expand=True): %d instances, 23 March gone, the moved one at 15:00" % len(starts))
print("href " + path_of(ev.url), flush=True)
