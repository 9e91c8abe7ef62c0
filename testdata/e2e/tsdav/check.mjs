// tsdav checks for davgate's end-to-end tests, run by cmd/davgate/e2e
// (TestTsdav) as `node check.mjs <phase> <state.json>`:
//
//   phase1  discovery, fetchCalendars, fetchCalendarObjects (all and with a
//           timeRange), initial syncCollection of both calendars, then
//           create/update/stale-update/delete on the writable calendar with an
//           incremental sync after each write; saves the feed's sync token.
//   phase2  (after the test changed one feed event) incremental sync of the
//           feed reports exactly that event's href, with the new content.
//
// Inputs (environment): E2E_ROOT, E2E_USER, E2E_PASSWORD, E2E_FEED_URL,
// E2E_WORK_URL, E2E_WINDOW_START, E2E_WINDOW_END (RFC 3339),
// E2E_WINDOW_UIDS, E2E_FEED_UIDS (comma-separated), E2E_RECUR_UID,
// E2E_CHANGED_UID and E2E_CHANGED_SUMMARY (phase2).
// Exits 1 with a "FAIL:" line on the first failed check.
import { readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createDAVClient } from 'tsdav';

function fail(msg) {
  console.log(`FAIL: ${msg}`);
  process.exit(1);
}
const ok = (msg) => console.log(`ok: ${msg}`);
function env(name) {
  const v = process.env[name];
  if (v === undefined) fail(`missing environment variable ${name}`);
  return v;
}
const list = (s) => s.split(',').filter(Boolean).sort();
const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

const ROOT = env('E2E_ROOT');
// pathOf normalises an href or URL to a decoded path.
const pathOf = (u) => decodeURIComponent(new URL(u, ROOT).pathname);
// uidOf reads the first UID of an iCalendar text (unfolding lines).
function uidOf(ics) {
  const m = String(ics ?? '').replace(/\r?\n[ \t]/g, '').match(/^UID:(.*?)\r?$/m);
  return m ? m[1] : undefined;
}
function eventICS(uid, summary, start) {
  const fmt = (d) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const end = new Date(start.getTime() + 3600e3);
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//davgate//e2e tsdav//EN', 'BEGIN:VEVENT',
    `UID:${uid}`, 'DTSTAMP:20260101T000000Z', `DTSTART:${fmt(start)}`, `DTEND:${fmt(end)}`,
    `SUMMARY:${summary}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

const [phase, stateFile] = process.argv.slice(2);
if (!['phase1', 'phase2'].includes(phase) || !stateFile) fail('usage: check.mjs phase1|phase2 STATE.json');

const client = await createDAVClient({
  serverUrl: ROOT,
  credentials: { username: env('E2E_USER'), password: env('E2E_PASSWORD') },
  authMethod: 'Basic',
  defaultAccountType: 'caldav',
});
ok('createDAVClient: service discovery and login done');

async function calendars() {
  const cals = await client.fetchCalendars();
  const byPath = new Map(cals.map((c) => [pathOf(c.url), c]));
  const want = [pathOf(env('E2E_FEED_URL')), pathOf(env('E2E_WORK_URL'))];
  for (const p of want) {
    if (!byPath.has(p)) fail(`fetchCalendars: ${p} missing (got ${[...byPath.keys()].join(', ')})`);
  }
  return { feed: byPath.get(want[0]), work: byPath.get(want[1]) };
}

// sync runs one sync-collection REPORT and returns the changed and removed
// member paths plus the collection's new sync token.
async function sync(cal, token, what) {
  const res = await client.syncCollection({
    url: cal.url,
    props: { 'd:getetag': {} },
    syncLevel: 1,
    syncToken: token,
  });
  const collPath = pathOf(cal.url);
  const changed = [];
  const removed = [];
  for (const r of res) {
    const p = pathOf(r.href ?? cal.url);
    if (p === collPath) {
      if (r.ok === false || (r.status && r.status >= 400)) {
        fail(`${what}: sync-collection on ${cal.url} answered ${r.status} ${r.statusText}\n${r.raw ?? ''}`);
      }
      continue;
    }
    if (r.status === 404) removed.push(p);
    else if (r.ok === false || (r.status && r.status >= 400)) fail(`${what}: member ${p} status ${r.status}`);
    else changed.push(p);
  }
  const which = pathOf(cal.url) === pathOf(env('E2E_FEED_URL')) ? 'feed' : 'work';
  const next = (await calendars())[which].syncToken;
  if (!next) fail(`${what}: ${cal.url} has no DAV:sync-token property`);
  return { changed: changed.sort(), removed: removed.sort(), token: next };
}

let { feed, work } = await calendars();
ok(`fetchCalendars found ${feed.url} and ${work.url}`);
for (const c of [feed, work]) {
  if (!c.syncToken) fail(`fetchCalendars: ${c.url} has no sync token`);
}

if (phase === 'phase1') {
  // --- objects, all and by time range ----------------------------------------
  const all = await client.fetchCalendarObjects({ calendar: feed });
  const hrefToUID = Object.fromEntries(all.map((o) => [pathOf(o.url), uidOf(o.data)]));
  if (!same(Object.values(hrefToUID), list(env('E2E_FEED_UIDS')))) {
    fail(`fetchCalendarObjects(feed): UIDs ${Object.values(hrefToUID)}, want ${list(env('E2E_FEED_UIDS'))}`);
  }
  ok(`feed holds ${all.length} objects`);
  const start = env('E2E_WINDOW_START');
  const end = env('E2E_WINDOW_END');
  const inRange = await client.fetchCalendarObjects({ calendar: feed, timeRange: { start, end } });
  const got = inRange.map((o) => uidOf(o.data)).sort();
  if (!got.includes(env('E2E_RECUR_UID'))) {
    fail(`timeRange ${start}..${end} misses the weekly series ${env('E2E_RECUR_UID')} that started before it (got ${got})`);
  }
  if (!same(got, list(env('E2E_WINDOW_UIDS')))) fail(`timeRange ${start}..${end}: UIDs ${got}, want ${list(env('E2E_WINDOW_UIDS'))}`);
  ok(`timeRange returned ${got}`);

  // --- initial sync ------------------------------------------------------------
  const feedSync = await sync(feed, '', 'initial feed sync');
  if (!same(feedSync.changed, Object.keys(hrefToUID))) {
    fail(`initial feed sync: ${feedSync.changed}, want every member ${Object.keys(hrefToUID)}`);
  }
  let workSync = await sync(work, '', 'initial work sync');
  if (workSync.changed.length || workSync.removed.length) fail(`initial work sync of an empty calendar: ${JSON.stringify(workSync)}`);
  ok(`initial syncs: feed ${feedSync.changed.length} members, token ${feedSync.token}; work token ${workSync.token}`);

  // --- writes on the writable calendar, each followed by an incremental sync --
  const uid = `e2e-tsdav-${randomUUID()}`;
  const created = await client.createCalendarObject({
    calendar: work, filename: `${uid}.ics`,
    iCalString: eventICS(uid, 'Created by tsdav', new Date(start)),
  });
  if (!created.ok) fail(`createCalendarObject: ${created.status} ${created.statusText}: ${await created.text()}`);
  const url = new URL(`${uid}.ics`, work.url).href;
  const href = pathOf(url);
  ok(`created ${url} (${created.status})`);

  let step = await sync(work, workSync.token, 'sync after create');
  if (!same(step.changed, [href]) || step.removed.length) fail(`sync after create: ${JSON.stringify(step)}, want exactly ${href} changed`);
  ok(`incremental sync after create reports ${href}`);

  let [obj] = await client.fetchCalendarObjects({ calendar: work, objectUrls: [url] });
  if (!obj || uidOf(obj.data) !== uid || !obj.etag) fail(`fetch ${url}: ${JSON.stringify(obj)}`);
  const etag1 = obj.etag;
  const updated = await client.updateCalendarObject({
    calendarObject: { url, etag: etag1, data: eventICS(uid, 'Updated by tsdav', new Date(start)) },
  });
  if (!updated.ok) fail(`updateCalendarObject with etag ${etag1}: ${updated.status} ${updated.statusText}`);
  [obj] = await client.fetchCalendarObjects({ calendar: work, objectUrls: [url] });
  if (!obj.data.includes('Updated by tsdav') || obj.etag === etag1) fail(`after update: etag ${obj.etag} (was ${etag1}), data:\n${obj.data}`);
  ok(`updated with etag ${etag1} -> ${obj.etag}`);

  step = await sync(work, step.token, 'sync after update');
  if (!same(step.changed, [href]) || step.removed.length) fail(`sync after update: ${JSON.stringify(step)}, want exactly ${href} changed`);
  ok('incremental sync after update reports it');

  const stale = await client.updateCalendarObject({
    calendarObject: { url, etag: etag1, data: eventICS(uid, 'Stale write', new Date(start)) },
  });
  if (stale.status !== 412) fail(`updateCalendarObject with stale etag ${etag1}: got ${stale.status} ${stale.statusText}, want 412`);
  ok('stale etag refused with 412');

  const deleted = await client.deleteCalendarObject({ calendarObject: { url, etag: obj.etag } });
  if (!deleted.ok) fail(`deleteCalendarObject: ${deleted.status} ${deleted.statusText}`);
  step = await sync(work, step.token, 'sync after delete');
  if (!same(step.removed, [href]) || step.changed.length) fail(`sync after delete: ${JSON.stringify(step)}, want exactly ${href} removed`);
  ok('incremental sync after delete reports it removed');

  // --- the feed is read-only ----------------------------------------------------
  const ro = await client.createCalendarObject({
    calendar: feed, filename: `${uid}.ics`, iCalString: eventICS(uid, 'must not land', new Date(start)),
  });
  if (ro.status !== 403) fail(`createCalendarObject on the read-only feed: got ${ro.status}, want 403`);
  ok('write to the feed refused with 403');

  writeFileSync(stateFile, JSON.stringify({ feedToken: feedSync.token, hrefToUID }));
} else {
  const state = JSON.parse(readFileSync(stateFile, 'utf8'));
  const changedUID = env('E2E_CHANGED_UID');
  const want = Object.keys(state.hrefToUID).filter((h) => state.hrefToUID[h] === changedUID);
  if (want.length !== 1) fail(`state has ${want.length} hrefs for ${changedUID}`);
  const step = await sync(feed, state.feedToken, 'feed sync after the feed changed');
  if (!same(step.changed, want) || step.removed.length) {
    fail(`feed sync after changing ${changedUID}: ${JSON.stringify(step)}, want exactly ${want[0]} changed`);
  }
  const [obj] = await client.fetchCalendarObjects({ calendar: feed, objectUrls: [new URL(want[0], ROOT).href] });
  if (!obj?.data?.includes(env('E2E_CHANGED_SUMMARY'))) fail(`${want[0]} lacks the new summary:\n${obj?.data}`);
  ok(`incremental feed sync reports exactly ${want[0]} with the new content`);
  const again = await sync(feed, step.token, 'feed sync with the newest token');
  if (again.changed.length || again.removed.length) fail(`sync with the newest token: ${JSON.stringify(again)}, want nothing`);
  ok('a further sync reports nothing');
}
console.log('PASS');
