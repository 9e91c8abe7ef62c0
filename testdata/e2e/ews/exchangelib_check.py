#!/usr/bin/python3
"""exchangelib (Debian python3-exchangelib) against the fake EWS (ewstest).

Run by cmd/davgate/e2e (TestEWSExchangelib) with /usr/bin/python3. Inputs
(environment): E2E_EWS_URL, E2E_EWS_USER, E2E_EWS_PASSWORD, E2E_COUNT (events
seeded before the run), E2E_SUBJECT (subject of the event to create).

It lists the calendar items, checks their count and subjects, creates one
event (Europe/Berlin, 2026-03-10 14:00, one hour), lists again and prints
"created <ItemId>". Exits 1 with a "FAIL:" line on the first failed check.
"""

import datetime
import os
import sys

from exchangelib import (BASIC, DELEGATE, Account, CalendarItem, Configuration, Credentials,
                         EWSDateTime, EWSTimeZone)
from exchangelib.version import EXCHANGE_2016, Version


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


URL, USER = env("E2E_EWS_URL"), env("E2E_EWS_USER")
COUNT, SUBJECT = int(env("E2E_COUNT")), env("E2E_SUBJECT")

config = Configuration(service_endpoint=URL, credentials=Credentials(USER, env("E2E_EWS_PASSWORD")),
                       auth_type=BASIC, version=Version(build=EXCHANGE_2016))
account = Account(primary_smtp_address=USER, config=config, autodiscover=False, access_type=DELEGATE,
                  default_timezone=EWSTimeZone("Europe/Berlin"))
ok("account %s at %s" % (USER, URL))

items = list(account.calendar.all().only("subject", "start", "end", "uid"))
if len(items) != COUNT:
    fail("calendar.all(): %d items, want %d: %s" % (len(items), COUNT, [i.subject for i in items]))
for it in items:
    if not it.subject or it.start is None or it.end is None or it.end <= it.start:
        fail("item with subject %r start %r end %r" % (it.subject, it.start, it.end))
ok("calendar.all(): %d items: %s" % (len(items), sorted(i.subject for i in items)))

tz = EWSTimeZone("Europe/Berlin")
start = EWSDateTime(2026, 3, 10, 14, 0, tzinfo=tz)
item = CalendarItem(account=account, folder=account.calendar, subject=SUBJECT,
                    start=start, end=start + datetime.timedelta(hours=1),
                    body="Created by exchangelib", location="Room 7", categories=["e2e"])
item.save()
if not item.id or not item.changekey:
    fail("save(): no ItemId/ChangeKey: %r %r" % (item.id, item.changekey))
ok("save(): created %s" % item.subject)

got = account.calendar.get(id=item.id)
if got.subject != SUBJECT or got.start != start or got.location != "Room 7":
    fail("get(): subject %r start %r location %r" % (got.subject, got.start, got.location))
ok("get(): the new item reads back (start %s)" % got.start)

items = list(account.calendar.all().only("subject"))
if len(items) != COUNT + 1:
    fail("calendar.all() after create: %d items, want %d" % (len(items), COUNT + 1))
ok("calendar.all() after create: %d items" % len(items))
print("created " + item.id, flush=True)
