#!/usr/bin/python3
"""python3-caldav checks of a recurring event on a Google calendar behind davgate.

Run by cmd/davgate/e2e (TestGooglePythonCaldav) with Debian's /usr/bin/python3.
Inputs come from the environment:

  E2E_ROOT, E2E_USER, E2E_PASSWORD   server root URL and Basic credentials
  E2E_CAL_URL                        the Google calendar's collection URL
  E2E_UID                            UID of the series to create

It creates a weekly series (6 Mondays from 2026-03-02 10:00Z) with the second
instance moved to 14:00 and renamed, in one PUT; reads it back; edits the
master's summary and moves the exception again (15:00, new summary); reads it
back and checks the expanded March instances. The Go test then checks what
the fake Google holds. Exits 1 with a "FAIL:" line on the first failed check.
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
    "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//davgate//e2e google python//EN",
    "BEGIN:VEVENT", "UID:" + UID, "DTSTAMP:20260101T000000Z",
    "DTSTART:20260302T100000Z", "DTEND:20260302T103000Z",
    "RRULE:FREQ=WEEKLY;COUNT=6", "SUMMARY:Team sync", "END:VEVENT",
    "BEGIN:VEVENT", "UID:" + UID, "DTSTAMP:20260101T000000Z",
    "RECURRENCE-ID:20260309T100000Z",
    "DTSTART:20260309T140000Z", "DTEND:20260309T143000Z",
    "SUMMARY:Team sync moved", "END:VEVENT",
    "END:VCALENDAR", ""])


def path_of(url):
    """Normalised URL path (percent-decoding undone, no trailing slash)."""
    return unquote(urlparse(str(url)).path).rstrip("/")


def components(ev):
    """(master, {recurrence-id: exception}) of a caldav Event."""
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


client = caldav.DAVClient(url=ROOT, username=env("E2E_USER"), password=env("E2E_PASSWORD"))
principal = client.principal()
cal = caldav.Calendar(client=client, url=CAL_URL)
listed = [path_of(c.url) for c in principal.calendars()]
if path_of(CAL_URL) not in listed:
    fail("principal.calendars() lists %s, not %s" % (listed, path_of(CAL_URL)))
ok("principal.calendars() lists the Google calendar")

cal.save_event(SERIES)
ok("save_event: series with one moved instance stored")

ev = cal.event_by_uid(UID)
master, exceptions = components(ev)
rid = datetime.datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
if "FREQ=WEEKLY" not in master.get("RRULE").to_ical().decode() or "COUNT=6" not in master.get("RRULE").to_ical().decode():
    fail("master lost its RRULE:\n%s" % ev.data)
if list(exceptions) != [rid]:
    fail("exceptions %s, want one at %s:\n%s" % (list(exceptions), rid, ev.data))
if str(exceptions[rid]["SUMMARY"]) != "Team sync moved":
    fail("exception summary %s:\n%s" % (exceptions[rid]["SUMMARY"], ev.data))
ok("event_by_uid: master with RRULE and the moved instance at %s" % ev.url)

# Edit both: the master's summary, and the exception moved again.
master["SUMMARY"] = "Team sync (edited)"
exc = exceptions[rid]
exc["SUMMARY"] = "Team sync moved (edited)"
exc["DTSTART"].dt = datetime.datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
exc["DTEND"].dt = datetime.datetime(2026, 3, 9, 15, 30, tzinfo=UTC)
ev.save()
ok("save: master and exception edited")

ev = cal.event_by_uid(UID)
master, exceptions = components(ev)
if str(master["SUMMARY"]) != "Team sync (edited)":
    fail("master summary after edit: %s\n%s" % (master["SUMMARY"], ev.data))
exc = exceptions.get(rid)
if exc is None or str(exc["SUMMARY"]) != "Team sync moved (edited)" or exc["DTSTART"].dt.astimezone(UTC).hour != 15:
    fail("exception after edit:\n%s" % ev.data)
ok("event_by_uid after edit: both changes read back")

# Expanded March: five Mondays, the second one at 15:00 with its own summary.
found = cal.date_search(start=datetime.datetime(2026, 3, 1, tzinfo=UTC),
                        end=datetime.datetime(2026, 4, 1, tzinfo=UTC), expand=True)
starts = []
for obj in found:
    for comp in obj.icalendar_instance.walk("VEVENT"):
        if str(comp.get("UID")) == UID:
            starts.append((comp["DTSTART"].dt.astimezone(UTC), str(comp["SUMMARY"])))
starts.sort()
want = [(datetime.datetime(2026, 3, d, 10, 0, tzinfo=UTC), "Team sync (edited)") for d in (2, 16, 23, 30)]
want.append((datetime.datetime(2026, 3, 9, 15, 0, tzinfo=UTC), "Team sync moved (edited)"))
want.sort()
if starts != want:
    fail("expanded March instances:\n  %s\nwant\n  %s" % (starts, want))
ok("date_search(expand=True): %d instances, the moved one at 15:00" % len(starts))
