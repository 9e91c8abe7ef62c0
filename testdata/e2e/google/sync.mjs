// tsdav checks of sync-collection on a Google calendar behind davgate, run by
// cmd/davgate/e2e (TestGoogleTsdav) as `node sync.mjs <phase> <state.json>`
// with NODE_PATH pointing at testdata/e2e/tsdav/node_modules:
//
//   phase1  discovery, fetchCalendars finds the Google calendar, fetchCalendarObjects
//           returns E2E_COUNT objects, initial syncCollection reports them all;
//           saves the calendar's sync token.
//   phase2  (after the test changed one event on the Google side) incremental
//           syncCollection from the saved token reports exactly E2E_CHANGED_HREF,
//           and fetching it shows E2E_CHANGED_SUMMARY.
//
// Inputs (environment): E2E_ROOT, E2E_USER, E2E_PASSWORD, E2E_CAL_URL,
// E2E_COUNT (phase1), E2E_CHANGED_HREF and E2E_CHANGED_SUMMARY (phase2).
// Exits 1 with a "FAIL:" line on the first failed check.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

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

// tsdav is installed once, for testdata/e2e/tsdav; load it from there.
const require = createRequire(join(env('E2E_TSDAV_DIR'), 'package.json'));
const { createDAVClient } = require('tsdav');

const ROOT = env('E2E_ROOT');
const pathOf = (u) => decodeURIComponent(new URL(u, ROOT).pathname);
const CAL = pathOf(env('E2E_CAL_URL'));

const [phase, stateFile] = process.argv.slice(2);
if (!['phase1', 'phase2'].includes(phase) || !stateFile) fail('usage: sync.mjs phase1|phase2 STATE.json');

const client = await createDAVClient({
  serverUrl: ROOT,
  credentials: { username: env('E2E_USER'), password: env('E2E_PASSWORD') },
  authMethod: 'Basic',
  defaultAccountType: 'caldav',
});
ok('createDAVClient: service discovery and login done');

async function calendar() {
  const cals = await client.fetchCalendars();
  const cal = cals.find((c) => pathOf(c.url) === CAL);
  if (!cal) fail(`fetchCalendars: ${CAL} missing (got ${cals.map((c) => pathOf(c.url)).join(', ')})`);
  if (!cal.syncToken) fail(`fetchCalendars: ${CAL} has no sync token`);
  return cal;
}

// sync runs one sync-collection REPORT and returns the changed and removed
// member paths.
async function sync(cal, token, what) {
  const res = await client.syncCollection({
    url: cal.url,
    props: { 'd:getetag': {} },
    syncLevel: 1,
    syncToken: token,
  });
  const changed = [];
  const removed = [];
  for (const r of res) {
    const p = pathOf(r.href ?? cal.url);
    if (p === CAL) {
      if (r.ok === false || (r.status && r.status >= 400)) fail(`${what}: sync-collection answered ${r.status} ${r.statusText}`);
      continue;
    }
    if (r.status === 404) removed.push(p);
    else if (r.ok === false || (r.status && r.status >= 400)) fail(`${what}: member ${p} status ${r.status}`);
    else changed.push(p);
  }
  return { changed: changed.sort(), removed: removed.sort() };
}

const cal = await calendar();
ok(`fetchCalendars found ${cal.url} ("${cal.displayName}")`);

if (phase === 'phase1') {
  const want = Number(env('E2E_COUNT'));
  const objs = await client.fetchCalendarObjects({ calendar: cal });
  if (objs.length !== want) fail(`fetchCalendarObjects: ${objs.length} objects, want ${want}`);
  ok(`fetchCalendarObjects: ${objs.length} objects`);
  const first = await sync(cal, '', 'initial sync');
  if (first.changed.length !== want || first.removed.length !== 0) {
    fail(`initial syncCollection: ${first.changed.length} changed, ${first.removed.length} removed; want ${want} and 0`);
  }
  ok(`initial syncCollection: ${first.changed.length} members`);
  const again = await sync(cal, cal.syncToken, 'no-change sync');
  if (again.changed.length + again.removed.length !== 0) fail(`no-change syncCollection reported ${JSON.stringify(again)}`);
  ok('incremental syncCollection without changes: empty');
  writeFileSync(stateFile, JSON.stringify({ token: cal.syncToken }));
} else {
  const { token } = JSON.parse(readFileSync(stateFile, 'utf8'));
  const href = pathOf(env('E2E_CHANGED_HREF'));
  const res = await sync(cal, token, 'sync after a Google-side change');
  if (JSON.stringify(res.changed) !== JSON.stringify([href]) || res.removed.length !== 0) {
    fail(`syncCollection after a Google-side change: ${JSON.stringify(res)}, want exactly ${href}`);
  }
  ok(`incremental syncCollection reports exactly ${href}`);
  const objs = await client.fetchCalendarObjects({ calendar: cal, objectUrls: [new URL(env('E2E_CHANGED_HREF'), ROOT).href] });
  const data = String(objs[0]?.data ?? '').replace(/\r?\n[ \t]/g, '');
  if (!data.includes(`SUMMARY:${env('E2E_CHANGED_SUMMARY')}`)) fail(`changed object lacks the new summary:\n${data}`);
  ok('the changed object has the new summary');
  if (cal.syncToken === token) fail('the calendar sync token did not change');
}
