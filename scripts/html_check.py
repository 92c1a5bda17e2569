#!/usr/bin/env python3
"""scripts/html_check.py: the HTML reports checked in a real browser (headless Chromium).

Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: fd 3 in, fd 4
out, NUL-delimited JSON), so it needs only the Python standard library. For the --html report of
one run and for reports/index.html it reads the DOM and checks that
  - the counts shown match the JSON results;
  - a failing scenario opens on a click and its differences, diff and exchange are visible;
  - the filters (outcome, area, search) change what is shown, and a deep link opens its row;
  - clicking a heat-map cell opens the list of the scenarios behind it;
  - no request leaves the page: every request the page makes is intercepted (Fetch) and logged
    (Network), and only the file:// document itself is allowed; scripts raise no error.
Screenshots go to the output folder. Usage:
  html_check.py --chromium BIN --out DIR --report FILE.html --results FILE.json
                [--index reports/index.html --matrix reports/matrix.json] [--viewport 1400x1000]
"""
import argparse
import base64
import collections
import json
import os
import pathlib
import select
import subprocess
import sys
import time


class Browser:
    """One headless Chromium and one page, spoken to over the DevTools pipe."""

    def __init__(self, binary, profile):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        args = [
            binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-domain-reliability", "--hide-scrollbars",
            "--user-data-dir=" + str(profile), "about:blank",
        ]
        self.proc = subprocess.Popen(args, preexec_fn=fds, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None
        self.document = None
        self.requests = []  # every URL the page asked for
        self.errors = []  # script exceptions, console errors, CSP reports

    def send(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        return self.wait(lambda m: m.get("id") == msg["id"], method)

    def read(self, timeout):
        """The next message, or None after `timeout` seconds."""
        end = time.time() + timeout
        while b"\0" not in self.buf:
            left = end - time.time()
            if left <= 0 or not select.select([self.from_child], [], [], left)[0]:
                return None
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        msg = json.loads(raw)
        self.observe(msg)
        return msg

    def wait(self, pred, what, timeout=30):
        end = time.time() + timeout
        for m in self.events:
            if pred(m):
                self.events.remove(m)
                return m
        while time.time() < end:
            m = self.read(end - time.time())
            if m is None:
                break
            if pred(m):
                if "error" in m:
                    raise RuntimeError(f"{what}: {m['error']}")
                return m
            if "method" in m:
                self.events.append(m)
        raise RuntimeError(f"timed out waiting for {what}")

    def observe(self, m):
        """Record requests and errors; let the document through, refuse anything else."""
        method, p = m.get("method"), m.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif method == "Fetch.requestPaused":
            url = p["request"]["url"]
            self.requests.append(url)
            ok = self.document is not None and url.split("#")[0] == self.document
            cmd = "Fetch.continueRequest" if ok else "Fetch.failRequest"
            params = {"requestId": p["requestId"]}
            if not ok:
                params["errorReason"] = "BlockedByClient"
            self.next_id += 1
            msg = {"id": self.next_id, "method": cmd, "params": params, "sessionId": self.session}
            os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        elif method == "Runtime.exceptionThrown":
            self.errors.append(p["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning"):
            self.errors.append(" ".join(str(a.get("value", "")) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
            self.errors.append(p["entry"].get("text", ""))

    def open_page(self, width=1400, height=1000):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send("Target.attachToTarget",
                             {"targetId": target["result"]["targetId"], "flatten": True},
                             session=False)
        self.session = attached["result"]["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(domain + ".enable")
        self.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def load(self, path, fragment=""):
        if fragment:  # a fresh load, not a same-document navigation
            self.document = None
            self.send("Page.navigate", {"url": "about:blank"})
            self.wait(lambda m: m.get("method") == "Page.loadEventFired", "about:blank")
        self.document = pathlib.Path(path).resolve().as_uri()
        self.events.clear()
        self.send("Page.navigate", {"url": self.document + fragment})
        self.wait(lambda m: m.get("method") == "Page.loadEventFired", "load of " + path, 60)

    def js(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                            "awaitPromise": True})
        res = r["result"]
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expr[:80]}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def click(self, selector):
        """A real mouse click in the middle of the element (scrolled into view first)."""
        box = self.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e) return null; e.scrollIntoView({{block: 'center'}});
            const r = e.getBoundingClientRect(); return [r.x + Math.min(r.width / 2, 40), r.y + r.height / 2]; }})()""")
        if box is None:
            raise RuntimeError(f"nothing to click at {selector}")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})
        self.settle()

    def settle(self):
        """Let events (hashchange, input) run and the page render."""
        self.js("new Promise(r => setTimeout(() => requestAnimationFrame(() => r(1)), 50))")

    def type_text(self, selector, text):
        self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", {"text": text})
        self.settle()

    def screenshot(self, path, full=False):
        params = {"format": "png"}
        if full:
            params["captureBeyondViewport"] = True
            h = self.js("document.documentElement.scrollHeight")
            w = self.js("innerWidth")
            params["clip"] = {"x": 0, "y": 0, "width": w, "height": min(h, 6000), "scale": 1}
        data = self.send("Page.captureScreenshot", params)["result"]["data"]
        pathlib.Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", session=False)
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Checks:
    def __init__(self):
        self.failed = []

    def eq(self, what, got, want):
        if got != want:
            self.failed.append(f"{what}: expected {want!r}, got {got!r}")
        else:
            shown = repr(got) if len(repr(got)) <= 100 else f"{len(got)} items, as expected"
            print(f"  ok  {what}: {shown}")

    def true(self, what, cond, detail=""):
        if not cond:
            self.failed.append(f"{what} {detail}".strip())
        else:
            print(f"  ok  {what}")


VISIBLE_ROWS = "[...document.querySelectorAll('details.sc')].filter(r => !r.hidden)"
KINDS = ["pass", "fail", "warn", "inconclusive", "ignored"]


def visible(b, selector):
    """Whether the element exists, is rendered and has a size."""
    return b.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
        if (!e) return false; const r = e.getBoundingClientRect();
        return e.checkVisibility({{checkOpacity: true, checkVisibilityCSS: true}})
            && r.width > 0 && r.height > 0; }})()""")


def check_policy(b, c, what):
    csp = b.js("(document.querySelector('meta[http-equiv=Content-Security-Policy]') || {}).content")
    c.true(f"{what} forbids every load (Content-Security-Policy default-src 'none')",
           bool(csp) and "default-src 'none'" in csp, f"({csp!r})")
    n = b.js("document.querySelectorAll('link, img, iframe, object, embed, script[src]').length")
    c.eq(f"{what}: external resources in the DOM", n, 0)


def check_report(b, c, html, results, out):
    r = json.loads(pathlib.Path(results).read_text())
    sc = r["scenarios"]
    want = collections.Counter(s["outcome"] for s in sc)
    b.load(html)
    b.screenshot(out / "report-summary.png")
    print(f"report {html}: {len(sc)} scenarios")
    check_policy(b, c, "the report")
    c.eq("rows", b.js("document.querySelectorAll('details.sc').length"), len(sc))
    for k in KINDS:
        c.eq(f"shown count of {k}", b.js(f"+document.querySelector('[data-count={k}]').textContent"),
             want.get(k, 0))
        c.eq(f"rows marked {k}", b.js(f"document.querySelectorAll('details.sc[data-outcome={k}]').length"),
             want.get(k, 0))
        if k in r.get("counts", {}):
            c.eq(f"JSON counts of {k}", r["counts"][k], want.get(k, 0))
    marks = collections.Counter(s["baseline"] for s in sc if s.get("baseline"))
    for m in ("expected", "regression", "stale", "changed"):
        if marks:
            c.eq(f"baseline mark {m}",
                 b.js(f"+document.querySelector('[data-baseline-count={m}]').textContent"),
                 marks.get(m, 0))
    failing = sorted((s for s in sc if s["outcome"] == "fail" and s.get("failure", {}).get("diffs")),
                     key=diff_interest)
    c.true("the run has a failing scenario with differences", bool(failing))
    if failing:
        check_failure(b, c, failing[0], out)
    check_filters(b, c, sc, out)
    if len(failing) > 1:
        other = failing[-1]["name"]
        b.load(html, "#" + other)
        c.true("a deep link opens its scenario",
               b.js(f"document.getElementById({json.dumps(other)}).open"))
        b.settle()
        seen = b.js(f"""(() => {{ const e = document.getElementById({json.dumps(other)});
            const r = e.querySelector('summary').getBoundingClientRect();
            return e.contains(document.elementFromPoint(r.x + 20, r.y + r.height / 2)); }})()""")
        c.true("and scrolls to it (its summary line is on screen, not under the filter bar)", seen)
        b.screenshot(out / "report-deep-link.png")


def diff_interest(s):
    """Sort key: failures with a short unified diff holding changed lines (best to look at) first."""
    u = s["failure"].get("unified") or ""
    lines = u.splitlines()
    changed = sum(1 for l in lines if l[:1] in "+-" and l[:3] not in ("---", "+++") and len(l) > 1)
    return (changed < 2, len(lines) > 40, -min(len(lines), 40), s["name"])


def check_failure(b, c, s, out):
    name = s["name"]
    sel = f"details.sc[id={json.dumps(name)}]"
    c.true(f"{name} starts closed", not b.js(f"document.querySelector({json.dumps(sel)}).open"))
    c.true("its diff is hidden before the click", not visible(b, sel + " pre.diff"))
    b.click(sel + " > summary")
    c.true(f"a click opens {name}", b.js(f"document.querySelector({json.dumps(sel)}).open"))
    c.true("its difference table is visible", visible(b, sel + " table.diffs"))
    if s["failure"].get("unified"):
        c.true("its unified diff is visible", visible(b, sel + " pre.diff"))
        n = b.js(f"document.querySelectorAll({json.dumps(sel + ' pre.diff .del, ' + sel + ' pre.diff .add')}).length")
        c.true("differing lines are highlighted", n > 0, f"({n} lines)")
    if s["failure"].get("exchange"):
        c.true("its exchange is visible", visible(b, sel + " pre.exchange"))
        text = b.js(f"document.querySelector({json.dumps(sel + ' pre.exchange')}).textContent")
        c.true("the exchange is the one in the JSON", text.strip() == s["failure"]["exchange"].strip())
    diffs = b.js(f"document.querySelectorAll({json.dumps(sel + ' table.diffs tbody tr')}).length")
    c.eq("difference rows", diffs, len(s["failure"].get("diffs", [])))
    b.js(f"document.querySelector({json.dumps(sel)}).scrollIntoView({{block: 'start'}})")
    b.screenshot(out / "report-failure-open.png")


def check_filters(b, c, sc, out):
    fails = [s for s in sc if s["outcome"] == "fail"]
    b.click("button.only[data-only=fail]")
    shown = b.js(f"{VISIBLE_ROWS}.map(r => r.dataset.outcome)")
    c.eq("the fail filter shows the failing scenarios", len(shown), len(fails))
    c.true("and only them", set(shown) <= {"fail"}, str(set(shown)))
    group = fails[0]["name"].split("::")[0] if fails else sc[0]["name"].split("::")[0]
    area = b.js(f"""(() => {{ const h = [...document.querySelectorAll('h3.grp')]
        .find(h => h.querySelector('small').textContent === {json.dumps(group)});
        return h ? h.dataset.area : null; }})()""")
    b.js(f"const a = document.getElementById('f-area'); a.value = {json.dumps(area)};"
         "a.dispatchEvent(new Event('change', {bubbles: true}))")
    want = [s["name"] for s in fails if s["name"].split("::")[0] == group]
    got = b.js(f"{VISIBLE_ROWS}.map(r => r.id)")
    c.eq(f"fail filter and area {group}", got, want)
    b.screenshot(out / "report-filtered.png")
    b.click("#f-reset")
    c.eq("show all", b.js(f"{VISIBLE_ROWS}.length"), len(sc))
    word = sc[len(sc) // 2]["name"].split("::")[1][:12]
    b.type_text("#f-search", word)
    want = [s["name"] for s in sc if word.lower() in s["name"].lower()]
    c.eq(f"search {word!r}", b.js(f"{VISIBLE_ROWS}.map(r => r.id)"), want)
    b.click("#f-reset")


def check_index(b, c, index, matrix, out):
    runs = json.loads(pathlib.Path(matrix).read_text())
    b.load(index)
    print(f"matrix {index}: {len(runs)} servers")
    check_policy(b, c, "the matrix")
    b.screenshot(out / "index.png")
    for i, r in enumerate(runs):
        key = r.get("server_name") or f"server{i + 1}"
        want = collections.Counter(s["outcome"] for s in r["scenarios"])
        got = b.js(f"""Object.fromEntries([...document.querySelectorAll('table.servers tr')]
            .filter(t => t.dataset.server === {json.dumps(key)})
            .flatMap(t => [...t.querySelectorAll('td[data-kind]')])
            .map(td => [td.dataset.kind, +td.textContent]))""")
        c.eq(f"{key}: counts", got, {k: want.get(k, 0) for k in KINDS})
    r = max(runs, key=lambda r: sum(s["outcome"] == "fail" for s in r["scenarios"]))
    key = r.get("server_name") or "server1"
    group = collections.Counter(s["name"].split("::")[0] for s in r["scenarios"]
                                if s["outcome"] == "fail").most_common(1)[0][0]
    cell = f"c-{key}-{group}"
    c.true("the panel starts closed", b.js("document.getElementById('panel').hidden"))
    b.click(f"a.cell[href={json.dumps('#' + cell)}]")
    c.true(f"a click on cell {cell} opens the panel", visible(b, "#panel"))
    want = sorted(s["name"] for s in r["scenarios"] if s["name"].split("::")[0] == group)
    got = b.js(f"""[...document.getElementById({json.dumps(cell)}).querySelectorAll('li .name')]
        .map(e => e.textContent).sort()""")
    c.eq("the panel lists the scenarios of the cell", got, want)
    c.true("and only that cell's list is shown",
           b.js("[...document.querySelectorAll('section.cell-list')].filter(s => !s.hidden).length") == 1)
    outcomes = b.js(f"""[...document.getElementById({json.dumps(cell)}).querySelectorAll('li')]
        .map(l => l.dataset.outcome).sort()""")
    c.eq("with their outcomes", outcomes,
         sorted(s["outcome"] for s in r["scenarios"] if s["name"].split("::")[0] == group))
    b.screenshot(out / "index-cell-open.png")
    b.click("#close")
    c.true("the close button hides it", b.js("document.getElementById('panel').hidden"))


def readme_shot(b, index, png):
    """The heat map from its first RFC row, with one cell's scenarios open beside it."""
    b.load(index, "#c-radicale-rfc4791/09_6_calendar_data")
    b.js("document.querySelector('table.heat').scrollIntoView({block: 'start'})")
    b.settle()
    x, y, w, h = b.js("[scrollX, scrollY, innerWidth, innerHeight]")
    data = b.send("Page.captureScreenshot", {"format": "png", "clip": {
        "x": x, "y": y, "width": w, "height": h, "scale": 0.75}})["result"]["data"]
    pathlib.Path(png).write_bytes(base64.b64decode(data))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default="chromium")
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--report")
    ap.add_argument("--results")
    ap.add_argument("--index")
    ap.add_argument("--matrix")
    ap.add_argument("--viewport", default="1400x1000", help="WIDTHxHEIGHT of the screenshots")
    ap.add_argument("--shot-index", help="also save this PNG: the heat map with a cell open (README)")
    a = ap.parse_args()
    width, height = (int(x) for x in a.viewport.split("x"))
    a.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    b = Browser(a.chromium, a.out / "profile")
    c = Checks()
    try:
        b.open_page(width, height)
        if a.report:
            check_report(b, c, a.report, a.results, a.out)
        if a.index:
            check_index(b, c, a.index, a.matrix, a.out)
        if a.index and a.shot_index:
            readme_shot(b, a.index, a.shot_index)
        allowed = {pathlib.Path(p).resolve().as_uri() for p in (a.report, a.index) if p}
        stray = sorted({u for u in b.requests if u.split("#")[0] not in allowed})
        c.true("no request left the page", not stray, f"(requests: {stray})")
        c.true("the documents were requested through the browser",
               any(u.split("#")[0] in allowed for u in b.requests))
        c.true("no script error, console error or CSP report", not b.errors, str(b.errors))
    except (RuntimeError, OSError, KeyError, TypeError) as e:
        c.failed.append(f"the check stopped: {e}")
    finally:
        b.close()
    print(f"html check: {time.time() - started:.1f}s, screenshots in {a.out}")
    for f in c.failed:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
