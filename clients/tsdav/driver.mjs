// Ground-truth driver: tsdav's public API (DAVClient) against one running CalDAV server.
//
// Reads the server from the environment that scripts/suite.sh also uses (CALDAV_URL, CALDAV_USER,
// CCF_PASSWORD_FILE, CCF_AUTH, CCF_HOME; the CA comes in through NODE_EXTRA_CA_CERTS), works only
// inside a scratch calendar ccf-client-<random> that it creates and deletes, and writes JSON:
// step -> "ok" | "error: ..." | "skipped: ...". The password is read from the file, never printed.
//
// Steps (the same names as clients/python-caldav/driver.py):
//   discover         client.login(): /.well-known/caldav, current-user-principal, calendar-home-set
//   list_calendars   client.fetchCalendars(): PROPFIND Depth 1 on the home (+ supported-report-set)
//   create_calendar  client.makeCalendar() in the home, then fetchCalendars() to find it
//   create_event     client.createCalendarObject(): PUT with If-None-Match: *
//   create_conflict  the same createCalendarObject() from a second device is refused (412)
//   fetch_event      client.fetchCalendarObjects(): calendar-query, then calendar-multiget
//   sync_initial     the calendar's sync-token or getctag as fetchCalendars() read it: what
//                    client.syncCalendars() compares to decide that a calendar changed
//   update_event     client.updateCalendarObject(): PUT with If-Match: <etag from the fetch>
//   sync_changes     client.syncCalendars({oldCalendars}) reports the edit, with the new data
//   update_conflict  updateCalendarObject() with the ETag from before the edit is refused (412)
//   delete_conflict  deleteCalendarObject() with that stale ETag is refused (412)
//   delete_event     client.deleteCalendarObject(): DELETE with If-Match
//   sync_deleted     client.syncCalendars() again: the event is gone
//   delete_calendar  client.deleteObject() on the calendar (cleanup)
//
// usage: node driver.mjs NAME OUT.json
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { DAVClient } from 'tsdav';

const STEPS = [
  'discover',
  'list_calendars',
  'create_calendar',
  'create_event',
  'create_conflict',
  'fetch_event',
  'sync_initial',
  'update_event',
  'sync_changes',
  'update_conflict',
  'delete_conflict',
  'delete_event',
  'sync_deleted',
  'delete_calendar',
];

const [name, out] = process.argv.slice(2);
const started = Date.now();
const env = process.env;
const url = env.CALDAV_URL;
const auth = env.CCF_AUTH || 'basic';
const user = env.CALDAV_USER || '';
let password = '';
if (env.CCF_PASSWORD_FILE && auth !== 'none') {
  password = readFileSync(env.CCF_PASSWORD_FILE, 'utf8').trim();
}
const homeHint = env.CCF_HOME || '';
// Seconds between a sync and the next write: a real client does not edit in the same second
// as it synced, and a server whose tokens have a one-second resolution (SOGo) would otherwise
// make the result depend on timing. The same-second case is the concurrency scenarios' job.
const pause = () => new Promise((r) => setTimeout(r, 1000 * Number(env.CCF_CLIENT_PAUSE ?? 1.1)));

const result = Object.fromEntries(STEPS.map((s) => [s, null]));
const info = {};
const state = {};

function scrub(msg) {
  let m = String(msg).split(/\s+/).join(' ');
  if (password) {
    m = m.split(password).join('***');
    const basic = Buffer.from(`${user}:${password}`).toString('base64');
    m = m.split(basic).join('***');
  }
  return m.slice(0, 400);
}

function isTransportError(e) {
  const text = `${e?.name}: ${e?.message} ${e?.cause?.code ?? ''} ${e?.cause?.message ?? ''}`;
  return /fetch failed|ECONNRESET|socket hang up|other side closed|UND_ERR_SOCKET/.test(text);
}

// tsdav turns a failed PROPFIND of the home (Radicale answers 500 when another client deletes a
// collection during a Depth 1 listing) into a listing without the calendar, silently. Such a
// step is tried once more, a second later, and the retry is recorded; a server that never lists
// the calendar, or never changes its token, still fails.
function isListingGlitch(e) {
  return /not among the \d+ calendars listed|did not see the calendar change|no longer listed/.test(String(e?.message));
}

async function run(step, fn, needs = []) {
  for (const n of needs) {
    if (result[n] !== 'ok' && !(n === 'discover' && state.account)) {
      result[step] = `skipped: ${n} did not succeed`;
      return;
    }
  }
  const t0 = Date.now();
  for (const attempt of [1, 2]) {
    try {
      await fn();
      result[step] = 'ok';
      (info.step_seconds ??= {})[step] = (Date.now() - t0) / 1000;
      return;
    } catch (e) {
      const cause = e?.cause ? ` (${e.cause.code ?? ''} ${e.cause.message ?? ''})` : '';
      const msg = scrub(`${e?.name ?? 'Error'}: ${e?.message ?? e}${cause}`);
      if (env.CCF_CLIENT_DEBUG) console.error(e);
      // A connection the server closed while it was being reused: tried once more, recorded
      // (as in the python-caldav driver), so that results do not depend on that race.
      if (attempt === 1 && (isTransportError(e) || isListingGlitch(e))) {
        (info.transport_retries ??= []).push(`${step}: ${msg}`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      result[step] = `error: ${msg}`;
      (info.step_seconds ??= {})[step] = (Date.now() - t0) / 1000;
      return;
    }
  }
}

// A Response (PUT/DELETE) or DAVResponse[] (MKCALENDAR) that is not 2xx is an error, as an
// application using tsdav checks it: tsdav itself does not throw for these.
function check(res, what) {
  const list = Array.isArray(res) ? res : [res];
  for (const r of list) {
    if (r && r.ok === false) throw new Error(`${what}: HTTP ${r.status} ${r.statusText ?? ''}`);
  }
}

const client = new DAVClient({
  serverUrl: url,
  credentials: { username: user, password },
  // tsdav's 'Digest' sends a precomputed credentials.digestString: it has no challenge/response,
  // so Basic is all it can offer a Digest-only server.
  authMethod: 'Basic',
  defaultAccountType: 'caldav',
});

const rand = randomBytes(4).toString('hex');
const calId = `ccf-client-${rand}`;
const uid = `ccf-client-${rand}-event`;
const fmt = (d) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const start = new Date(Date.now() + 86400e3);
const ics = (summary) =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//caldav-conformance//clients driver//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    `DTSTAMP:${fmt(new Date())}`,
    `DTSTART:${fmt(start)}`,
    `DTEND:${fmt(new Date(start.getTime() + 3600e3))}`,
    `SUMMARY:${summary}`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');

const sameUrl = (a, b) => {
  try {
    return decodeURIComponent(new URL(a).pathname) === decodeURIComponent(new URL(b).pathname);
  } catch {
    return a === b;
  }
};

await run('discover', async () => {
  await client.login();
  state.account = client.account;
  info.principal = client.account.principalUrl;
  info.home = client.account.homeUrl;
  if (auth === 'digest') info.note = 'tsdav has no Digest challenge/response';
});
const CONTEXT_PATHS = ['.well-known/caldav', 'dav/', 'SOGo/dav/', 'caldav.php/', 'dav.php/', 'remote.php/dav/'];
if (!state.account && !homeHint && auth !== 'digest') {
  // What a user does when discovery from the bare server URL fails: enter the server's
  // documented CalDAV URL (the usual context paths, as the suite's own discovery tries them).
  for (const path of CONTEXT_PATHS) {
    const serverUrl = new URL(path, url).href;
    try {
      client.account = await client.createAccount({
        account: { serverUrl, accountType: 'caldav', credentials: { username: user, password } },
      });
      state.account = client.account;
      info.home = `${client.account.homeUrl} (configured URL ${serverUrl}: discovery failed)`;
      break;
    } catch {
      // try the next documented URL
    }
  }
}
if (!state.account && homeHint) {
  // What a user does when discovery fails: give the calendar home; tsdav's createAccount
  // then skips discovery.
  try {
    const origin = new URL(url).origin + '/';
    client.account = await client.createAccount({
      account: {
        serverUrl: url,
        rootUrl: origin,
        principalUrl: homeHint,
        homeUrl: homeHint,
        accountType: 'caldav',
        credentials: { username: user, password },
      },
    });
    state.account = client.account;
    info.home = `${homeHint} (configured: discovery failed)`;
  } catch (e) {
    info.configured = scrub(e?.message ?? e);
  }
}

await run(
  'list_calendars',
  async () => {
    const cals = await client.fetchCalendars();
    info.calendars_listed = cals.length;
  },
  ['discover'],
);

await run(
  'create_calendar',
  async () => {
    const calUrl = new URL(`${calId}/`, client.account.homeUrl).href;
    state.calUrl = calUrl;
    if (!state.created) {
      // (a retried step does not create the calendar twice)
      const res = await client.makeCalendar({
        url: calUrl,
        props: { 'd:displayname': calId },
      });
      check(res, 'MKCALENDAR');
      state.created = true;
    }
    const cals = await client.fetchCalendars();
    const cal = cals.find((c) => sameUrl(c.url, calUrl));
    if (!cal) throw new Error(`the new calendar is not among the ${cals.length} calendars listed`);
    state.cal = cal;
    info.calendar = cal.url;
    info.reports = cal.reports;
  },
  ['discover'],
);

await run(
  'create_event',
  async () => {
    const res = await client.createCalendarObject({
      calendar: state.cal,
      filename: `${uid}.ics`,
      iCalString: ics('ccf client driver'),
    });
    check(res, 'PUT');
    state.url = new URL(`${uid}.ics`, state.cal.url).href;
  },
  ['create_calendar'],
);

await run(
  'create_conflict',
  async () => {
    const res = await client.createCalendarObject({
      calendar: state.cal,
      filename: `${uid}.ics`,
      iCalString: ics('second device'),
    });
    if (res.ok) throw new Error(`the same create from a second device succeeded (HTTP ${res.status}): the first event is overwritten`);
    info.create_conflict = res.status;
  },
  ['create_event'],
);

await run(
  'fetch_event',
  async () => {
    const objs = await client.fetchCalendarObjects({ calendar: state.cal });
    const ev = objs.find((o) => sameUrl(o.url, state.url));
    if (!ev) throw new Error(`the new event is not among the ${objs.length} objects fetched`);
    if (!ev.data || !String(ev.data).includes(uid)) throw new Error('fetched data lacks the UID');
    if (!ev.etag) throw new Error('no getetag: the edit cannot be conditional');
    state.ev = ev;
    state.staleEtag = ev.etag;
    state.objects = objs;
  },
  ['create_event'],
);

await run(
  'sync_initial',
  async () => {
    // syncCalendars() decides that a calendar changed by comparing the sync-token and the
    // getctag read by fetchCalendars(); without either, no change is ever seen.
    const cals = await client.fetchCalendars();
    const cal = cals.find((c) => sameUrl(c.url, state.cal.url));
    if (!cal) throw new Error('the calendar is no longer listed');
    info.sync_mode = cal.reports?.includes('syncCollection') ? 'sync-token' : 'getctag';
    if (cal.syncToken == null && cal.ctag == null) {
      throw new Error('the calendar has neither DAV:sync-token nor CS:getctag: no change can be detected');
    }
    state.local = { ...cal, objects: state.objects };
  },
  ['fetch_event'],
);

// The message for a sync that saw no change: the tokens before, and as the server gives them now.
async function unchanged() {
  const now = (await client.fetchCalendars()).find((c) => sameUrl(c.url, state.local.url));
  return (
    'syncCalendars() did not see the calendar change: sync-token and getctag unchanged ' +
    `(before: ${state.local.syncToken ?? '-'} / ${state.local.ctag ?? '-'}; ` +
    `now: ${now?.syncToken ?? '-'} / ${now?.ctag ?? '-'})`
  );
}

await run(
  'update_event',
  async () => {
    await pause();
    const data = String(state.ev.data).replace(/SUMMARY:[^\r\n]*/, 'SUMMARY:ccf client driver (edited)');
    const res = await client.updateCalendarObject({
      calendarObject: { url: state.ev.url, etag: state.ev.etag, data },
    });
    check(res, 'PUT If-Match');
  },
  ['fetch_event'],
);

await run(
  'sync_changes',
  async () => {
    const synced = await client.syncCalendars({
      oldCalendars: [state.local],
      detailedResult: true,
    });
    const cal = synced.updated.find((c) => sameUrl(c.url, state.local.url));
    if (!cal) throw new Error(await unchanged());
    const ev = (cal.objects ?? []).find((o) => sameUrl(o.url, state.url));
    if (!ev) throw new Error('the synced calendar lacks the edited event');
    if (!String(ev.data ?? '').includes('(edited)')) {
      throw new Error('the synced event still has its old data');
    }
    state.local = cal;
    state.ev = ev;
  },
  ['sync_initial', 'update_event'],
);

await run(
  'update_conflict',
  async () => {
    const res = await client.updateCalendarObject({
      calendarObject: { url: state.url, etag: state.staleEtag, data: ics('stale copy') },
    });
    if (res.ok) throw new Error(`an update with the ETag from before the edit succeeded (HTTP ${res.status}): lost update`);
    info.update_conflict = res.status;
  },
  ['update_event', 'sync_changes'],
);

await run(
  'delete_conflict',
  async () => {
    const res = await client.deleteCalendarObject({
      calendarObject: { url: state.url, etag: state.staleEtag },
    });
    if (res.ok) throw new Error(`a delete with the ETag from before the edit succeeded (HTTP ${res.status})`);
    info.delete_conflict = res.status;
  },
  ['update_event', 'sync_changes'],
);

await run(
  'delete_event',
  async () => {
    await pause();
    const res = await client.deleteCalendarObject({
      calendarObject: { url: state.ev.url, etag: state.ev.etag },
    });
    check(res, 'DELETE');
  },
  ['create_event'],
);

await run(
  'sync_deleted',
  async () => {
    const synced = await client.syncCalendars({
      oldCalendars: [state.local],
      detailedResult: true,
    });
    const cal = synced.updated.find((c) => sameUrl(c.url, state.local.url));
    if (!cal) throw new Error(await unchanged());
    if ((cal.objects ?? []).some((o) => sameUrl(o.url, state.url))) {
      throw new Error('the deleted event is still in the synced calendar');
    }
  },
  ['sync_changes', 'delete_event'],
);

await run(
  'delete_calendar',
  async () => {
    const res = await client.deleteObject({ url: state.calUrl });
    check(res, 'DELETE calendar');
  },
  ['create_calendar'],
);

// A calendar created but not seen by fetchCalendars() is still removed.
if (result.create_calendar !== 'ok' && state.created) {
  try {
    await client.deleteObject({ url: state.calUrl });
    result.delete_calendar = 'ok';
  } catch (e) {
    result.delete_calendar = `error: ${scrub(e?.message ?? e)}`;
  }
}

info.library = 'tsdav ' + JSON.parse(readFileSync(new URL('./node_modules/tsdav/package.json', import.meta.url))).version;
writeFileSync(
  out,
  JSON.stringify(
    { client: 'tsdav', server: name, steps: result, info, seconds: (Date.now() - started) / 1000 },
    null,
    2,
  ) + '\n',
);
