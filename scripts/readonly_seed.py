#!/usr/bin/env python3
"""scripts/readonly_seed.py URL USER PASSWORD-FILE: give USER's calendar home a few "real"
calendars for the --read-only checks (scripts/readonly-check.sh, scripts/safety-proof.sh).

Python standard library only. Finds the principal (DAV:current-user-principal at URL, then
/.well-known/caldav, then the usual context paths) and CALDAV:calendar-home-set, then creates
the calendars ro-work, ro-family and ro-tasks (MKCALENDAR; one that exists is kept) and puts
objects in them with If-None-Match: * (an object that exists is kept): single events spread
over the current year, an all-day event, a weekly recurring event with an overridden instance,
an event in a time zone (with its VTIMEZONE), events that cross a month boundary and the year
boundary, and to-dos. Running it twice changes nothing. Prints the calendar URLs.
"""

import base64
import datetime
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    url, user, pwfile = sys.argv[1:]
    with open(pwfile, encoding="utf-8") as f:
        password = f.readline().rstrip("\n")
    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(
        NoRedirect, urllib.request.HTTPSHandler(context=ctx)
    )

    def req(method, target, body=None, headers=None):
        h = {"Authorization": auth}
        if body is not None:
            h["Content-Type"] = (
                "text/calendar; charset=utf-8"
                if body.startswith("BEGIN:VCALENDAR")
                else "application/xml; charset=utf-8"
            )
        h.update(headers or {})
        r = urllib.request.Request(
            urllib.parse.urljoin(url, target),
            data=body.encode() if body is not None else None,
            method=method,
            headers=h,
        )
        try:
            with opener.open(r, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def prop_href(target, prop):
        body = (
            '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
            f'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><{prop}/></D:prop></D:propfind>'
        )
        status, headers, data = req("PROPFIND", target, body, {"Depth": "0"})
        if status in (301, 302, 303, 307, 308):
            return prop_href(headers.get("Location", ""), prop)
        if status != 207:
            return None
        tag = prop.replace("D:", D).replace("C:", C)
        for el in ET.fromstring(data).iter(tag):
            h = el.find(f"{D}href")
            if h is not None and h.text:
                return urllib.parse.urljoin(urllib.parse.urljoin(url, target), h.text.strip())
        return None

    principal = None
    for start in [url, "/.well-known/caldav", "/dav/", "/caldav.php/", "/SOGo/dav/"]:
        principal = prop_href(start, "D:current-user-principal")
        if principal:
            break
    if not principal:
        sys.exit(f"no DAV:current-user-principal found from {url}")
    home = prop_href(principal, "C:calendar-home-set")
    if not home:
        sys.exit(f"no CALDAV:calendar-home-set on {principal}")
    if not home.endswith("/"):
        home += "/"

    year = datetime.datetime.now(datetime.timezone.utc).year
    objects = {"ro-work": [], "ro-family": [], "ro-tasks": []}

    def vcal(*lines):
        return "\r\n".join(
            ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//caldav-conformance//readonly seed//EN"]
            + list(lines)
            + ["END:VCALENDAR", ""]
        )

    def event(uid, start, end_or_duration, summary, extra=()):
        end = (
            f"DURATION:{end_or_duration}"
            if end_or_duration.startswith("P")
            else f"DTEND:{end_or_duration}"
        )
        return vcal(
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20250101T000000Z",
            f"DTSTART:{start}",
            end,
            f"SUMMARY:{summary}",
            *extra,
            "END:VEVENT",
        )

    for m in range(1, 13, 2):
        objects["ro-work"].append(
            (f"meeting-{m:02}.ics", event(f"ro-meeting-{m:02}@seed", f"{year}{m:02}15T090000Z", "PT1H", f"Meeting {m}"))
        )
    objects["ro-work"].append(
        ("month-end.ics", event("ro-month-end@seed", f"{year}0331T230000Z", f"{year}0401T010000Z", "Across a month boundary"))
    )
    objects["ro-work"].append(
        ("year-end.ics", event("ro-year-end@seed", f"{year}1231T220000Z", f"{year + 1}0101T020000Z", "Across the year boundary"))
    )
    objects["ro-work"].append(
        (
            "paris.ics",
            vcal(
                "BEGIN:VTIMEZONE",
                "TZID:Europe/Paris",
                "BEGIN:STANDARD",
                "DTSTART:19701025T030000",
                "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
                "TZOFFSETFROM:+0200",
                "TZOFFSETTO:+0100",
                "TZNAME:CET",
                "END:STANDARD",
                "BEGIN:DAYLIGHT",
                "DTSTART:19700329T020000",
                "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
                "TZOFFSETFROM:+0100",
                "TZOFFSETTO:+0200",
                "TZNAME:CEST",
                "END:DAYLIGHT",
                "END:VTIMEZONE",
                "BEGIN:VEVENT",
                "UID:ro-paris@seed",
                "DTSTAMP:20250101T000000Z",
                f"DTSTART;TZID=Europe/Paris:{year}0612T140000",
                f"DTEND;TZID=Europe/Paris:{year}0612T153000",
                "SUMMARY:In Paris time",
                "END:VEVENT",
            ),
        )
    )
    objects["ro-family"].append(
        (
            "weekly.ics",
            vcal(
                "BEGIN:VEVENT",
                "UID:ro-weekly@seed",
                "DTSTAMP:20250101T000000Z",
                f"DTSTART:{year}0105T170000Z",
                "DURATION:PT1H",
                "RRULE:FREQ=WEEKLY;COUNT=30",
                "SUMMARY:Weekly",
                "END:VEVENT",
                "BEGIN:VEVENT",
                "UID:ro-weekly@seed",
                "DTSTAMP:20250101T000000Z",
                f"RECURRENCE-ID:{year}0119T170000Z",
                f"DTSTART:{year}0120T170000Z",
                "DURATION:PT1H",
                "SUMMARY:Weekly (moved)",
                "END:VEVENT",
            ),
        )
    )
    objects["ro-family"].append(
        (
            "holiday.ics",
            vcal(
                "BEGIN:VEVENT",
                "UID:ro-holiday@seed",
                "DTSTAMP:20250101T000000Z",
                f"DTSTART;VALUE=DATE:{year}0801",
                f"DTEND;VALUE=DATE:{year}0815",
                "SUMMARY:Holiday",
                "END:VEVENT",
            ),
        )
    )
    objects["ro-family"].append(
        ("birthday.ics", event("ro-birthday@seed", f"{year}0501T120000Z", "PT2H", "Birthday"))
    )
    for i, due in enumerate([f"{year}0210T120000Z", f"{year}0915T120000Z"]):
        objects["ro-tasks"].append(
            (
                f"todo-{i}.ics",
                vcal(
                    "BEGIN:VTODO",
                    f"UID:ro-todo-{i}@seed",
                    "DTSTAMP:20250101T000000Z",
                    f"DTSTART:{due[:6]}01T080000Z",
                    f"DUE:{due}",
                    f"SUMMARY:Task {i}",
                    "END:VTODO",
                ),
            )
        )
    for cal, items in objects.items():
        target = f"{home}{cal}/"
        status, _, data = req("MKCALENDAR", target)
        if status not in (201, 405, 403, 409):
            sys.exit(f"MKCALENDAR {target} answered {status}: {data[:300]!r}")
        for name, body in items:
            status, _, data = req("PUT", target + name, body, {"If-None-Match": "*"})
            if status not in (200, 201, 204, 412):
                sys.exit(f"PUT {target}{name} answered {status}: {data[:300]!r}")
        print(target)


if __name__ == "__main__":
    main()
