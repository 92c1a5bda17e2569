#!/usr/bin/env python3
"""Ground-truth driver: python-caldav's public API against one running CalDAV server.

Reads the server from the environment that scripts/suite.sh also uses (CALDAV_URL, CALDAV_USER,
CCF_PASSWORD_FILE, CCF_AUTH, CCF_CA_CERT, CCF_HOME), works only inside a scratch calendar
ccf-client-<random> that it creates and deletes, and writes JSON: step -> "ok" | "error: ..." |
"skipped: ...". The password is read from the file and never printed.

Steps (the same names as clients/tsdav/driver.mjs, so the two can be compared):
  discover         principal and calendar home, the library's way (client.principal())
  list_calendars   principal.calendars()
  create_calendar  make_calendar(name, cal_id) in the home
  create_event     calendar.add_event(ics, no_overwrite=True): If-None-Match: * (and a UID search)
  create_conflict  a second device's add_event(no_overwrite=True) of the same event is refused
                   (by the library's UID search or the server's 412) and the first is unchanged
  fetch_event      calendar.event_by_url(url).load(): GET
  sync_initial     calendar.objects_by_sync_token(load_objects=True): sync-collection, or the
                   library's own fallback (full retrieval) where the server has none
  update_event     event.save() after an edit: If-Match with the cached ETag
  sync_changes     collection.sync() reports the edited event, with the new data
  update_conflict  a save() from a copy loaded before the edit is refused (If-Match: 412)
  delete_event     event.delete()
  sync_deleted     collection.sync() reports the deletion
  delete_calendar  calendar.delete() (cleanup)

usage: driver.py NAME OUT.json
"""

import json
import os
import secrets
import sys
import time
import traceback
from datetime import datetime, timedelta, timezone

CONTEXT_PATHS = [".well-known/caldav", "dav/", "SOGo/dav/", "caldav.php/", "dav.php/", "remote.php/dav/"]

STEPS = [
    "discover",
    "list_calendars",
    "create_calendar",
    "create_event",
    "create_conflict",
    "fetch_event",
    "sync_initial",
    "update_event",
    "sync_changes",
    "update_conflict",
    "delete_event",
    "sync_deleted",
    "delete_calendar",
]


def scrub(msg, secret):
    """One line, bounded, never the password."""
    msg = " ".join(str(msg).split())
    if secret:
        msg = msg.replace(secret, "***")
    return msg[:400]


def is_transport_error(e):
    """The request never got an answer (connection reset or closed), as opposed to an answer."""
    text = f"{type(e).__name__}: {e}"
    return "ConnectionError" in type(e).__name__ or "closed connection" in text


def main():
    name, out = sys.argv[1], sys.argv[2]
    started = time.monotonic()
    url = os.environ["CALDAV_URL"]
    user = os.environ.get("CALDAV_USER") or None
    auth = os.environ.get("CCF_AUTH", "basic")
    password = None
    pwfile = os.environ.get("CCF_PASSWORD_FILE")
    if pwfile and auth != "none":
        with open(pwfile, encoding="utf-8") as f:
            password = f.read().strip()
    if auth == "none":
        user = None
    # The auth scheme is given, as scripts/suite.sh gives --auth: without it python-caldav sends
    # credentials only after a 401, and a server that answers an anonymous PROPFIND with 207
    # and DAV:unauthenticated (Cyrus) is then never asked with credentials.
    auth_type = auth if auth in ("basic", "digest") else None
    ca = os.environ.get("CCF_CA_CERT") or True
    home_hint = os.environ.get("CCF_HOME") or None
    # Seconds between a sync and the next write: a real client does not edit in the same
    # second as it synced, and a server whose tokens have a one-second resolution (SOGo) would
    # otherwise make the result depend on timing. The same-second case is for the concurrency
    # scenarios.
    pause = float(os.environ.get("CCF_CLIENT_PAUSE", "1.1"))

    result = {s: None for s in STEPS}
    info = {}
    state = {}

    def run(step, fn, needs=()):
        for n in needs:
            if result[n] != "ok" and not (n == "discover" and state.get("home")):
                result[step] = f"skipped: {n} did not succeed"
                return
        for attempt in (1, 2):
            try:
                fn()
                result[step] = "ok"
                return
            except Exception as e:  # noqa: BLE001 - every library error is a result
                msg = scrub(f"{type(e).__name__}: {e}", password)
                if os.environ.get("CCF_CLIENT_DEBUG"):
                    traceback.print_exc()
                # A connection the server closed while the library reused it (SOGo closes
                # idle keep-alive connections; the library does not retransmit): the step is
                # tried once more, and the retry is recorded, so that results do not depend
                # on that race.
                if attempt == 1 and is_transport_error(e):
                    info.setdefault("transport_retries", []).append(f"{step}: {msg}")
                    continue
                result[step] = "error: " + msg
                return

    try:
        import caldav
        from caldav.collection import CalendarSet
        from caldav.elements import cdav

        info["library"] = "caldav " + caldav.__version__
    except Exception as e:  # noqa: BLE001
        for s in STEPS:
            result[s] = "error: cannot import caldav: " + scrub(e, None)
        write(out, name, result, info, started)
        return

    client = caldav.DAVClient(
        url=url,
        username=user,
        password=password,
        auth_type=auth_type,
        ssl_verify_cert=ca,
        timeout=20,
        enable_rfc6764=False,
    )
    rand = secrets.token_hex(4)
    cal_id = f"ccf-client-{rand}"
    uid = f"ccf-client-{rand}-event"
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    ics = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//caldav-conformance//clients driver//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}",
            f"DTEND:{(start + timedelta(hours=1)).strftime('%Y%m%dT%H%M%SZ')}",
            "SUMMARY:ccf client driver",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )

    def library_discover(c):
        """client.principal() and its calendar-home-set; an error when the library only guessed."""
        p = c.principal()
        home_url = p.get_property(cdav.CalendarHomeSet())
        if home_url is None:
            raise LookupError(
                f"no CALDAV:calendar-home-set at {p.url} (current-user-principal missing or"
                " unusable); the library would take that URL itself as the home"
            )
        return p, p.calendar_home_set

    def discover():
        p, home = library_discover(client)
        state["principal"], state["home"] = p, home
        info["principal"] = str(p.url)
        info["home"] = str(home.url)

    run("discover", discover)
    if "home" not in state:
        # What a user does when discovery from the bare server URL fails: enter the calendar
        # home (CCF_HOME, where the fleet documents one) or the server's documented CalDAV
        # URL (the usual context paths, as the suite's own discovery tries them).
        if home_hint:
            state["home"] = CalendarSet(client, url=home_hint)
            info["home"] = home_hint + " (configured: discovery failed)"
        else:
            origin = url.split("/", 3)
            origin = "/".join(origin[:3]) + "/"
            for path in CONTEXT_PATHS:
                try:
                    c = caldav.DAVClient(
                        url=origin + path,
                        username=user,
                        password=password,
                        auth_type=auth_type,
                        ssl_verify_cert=ca,
                        timeout=20,
                        enable_rfc6764=False,
                    )
                    p, home = library_discover(c)
                except Exception:  # noqa: BLE001 - try the next documented URL
                    continue
                client = c
                state["principal"], state["home"] = p, home
                info["home"] = f"{home.url} (configured URL {origin + path}: discovery failed)"
                break

    def list_calendars():
        cals = (state["principal"] if "principal" in state else state["home"]).calendars()
        info["calendars_listed"] = len(cals)

    run("list_calendars", list_calendars, needs=["discover"])

    def create_calendar():
        cal = state["home"].make_calendar(name=cal_id, cal_id=cal_id)
        state["cal"] = cal
        info["calendar"] = str(cal.url)

    run("create_calendar", create_calendar, needs=["discover"])

    def create_event():
        ev = state["cal"].add_event(ics, no_overwrite=True)
        state["url"] = ev.url

    run("create_event", create_event, needs=["create_calendar"])

    def create_conflict():
        other = ics.replace("SUMMARY:ccf client driver", "SUMMARY:second device")
        try:
            state["cal"].add_event(other, no_overwrite=True)
        except Exception as e:  # noqa: BLE001 - a refusal is what is expected
            info["create_conflict"] = type(e).__name__
        else:
            raise AssertionError("the second save with no_overwrite=True succeeded")
        ev = state["cal"].event_by_url(state["url"])
        ev.load()
        if "second device" in (ev.data or ""):
            raise AssertionError("the first event was overwritten")

    run("create_conflict", create_conflict, needs=["create_event"])

    def fetch_event():
        ev = state["cal"].event_by_url(state["url"])
        ev.load()
        if uid not in ev.data:
            raise AssertionError("fetched data lacks the event's UID")
        if not ev.etag:
            raise AssertionError("GET gave no ETag: the edit cannot be conditional")
        state["ev"] = ev
        stale = state["cal"].event_by_url(state["url"])
        stale.load()
        state["stale"] = stale

    run("fetch_event", fetch_event, needs=["create_event"])

    def sync_initial():
        objs = state["cal"].objects_by_sync_token(load_objects=True)
        state["sync"] = objs
        token = objs.sync_token
        info["sync_mode"] = (
            "fallback (full retrieval)" if str(token).startswith("fake-") else "sync-token"
        )
        urls = [str(o.url.canonical()) for o in objs]
        if str(state["url"].canonical()) not in urls:
            raise AssertionError(f"the new event is not among the {len(urls)} objects listed")

    run("sync_initial", sync_initial, needs=["create_event"])

    def update_event():
        time.sleep(pause)
        ev = state["ev"]
        ev.icalendar_component["summary"] = "ccf client driver (edited)"
        ev.save()

    run("update_event", update_event, needs=["fetch_event"])

    def sync_changes():
        updated, deleted = state["sync"].sync()
        hits = [o for o in updated if o.url.canonical() == state["url"].canonical()]
        if not hits:
            raise AssertionError(
                f"sync reported {len(updated)} updated, {len(deleted)} deleted; not the edited event"
            )
        data = hits[0].data or ""
        if "(edited)" not in data:
            raise AssertionError("sync reported the event but with its old data")

    run("sync_changes", sync_changes, needs=["sync_initial", "update_event"])

    def update_conflict():
        stale = state["stale"]
        stale.icalendar_component["summary"] = "ccf client driver (stale copy)"
        try:
            stale.save()
        except Exception as e:  # noqa: BLE001 - a refusal is what is expected
            info["update_conflict"] = type(e).__name__
        else:
            raise AssertionError("a save() with the ETag from before the edit succeeded (lost update)")

    run("update_conflict", update_conflict, needs=["update_event"])

    def delete_event():
        time.sleep(pause)
        ev = state.get("ev") or state["cal"].event_by_url(state["url"])
        ev.delete()

    run("delete_event", delete_event, needs=["create_event"])

    def sync_deleted():
        updated, deleted = state["sync"].sync()
        gone = [o for o in deleted if o.url.canonical() == state["url"].canonical()]
        if not gone:
            raise AssertionError(
                f"sync reported {len(updated)} updated, {len(deleted)} deleted; not the deleted event"
            )

    run("sync_deleted", sync_deleted, needs=["sync_changes", "delete_event"])

    def delete_calendar():
        state["cal"].delete()

    run("delete_calendar", delete_calendar, needs=["create_calendar"])
    write(out, name, result, info, started)


def write(out, name, result, info, started):
    doc = {
        "client": "python-caldav",
        "server": name,
        "steps": result,
        "info": info,
        "seconds": round(time.monotonic() - started, 2),
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
