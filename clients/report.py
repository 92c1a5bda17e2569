#!/usr/bin/env python3
"""reports/clients.md: per-client compatibility (client x server, from the suite's client flows
in scenarios/clients/) and the real libraries' results (clients/*/driver) beside the flows'
verdicts for python-caldav and tsdav, with every disagreement and its explanation
(clients/explanations.json). Run by `scripts/clients.sh --report`; stdlib only.

usage: report.py --clients DIR --suite DIR --out FILE [--strict] [NAME...]
(--strict: exit 1 when a disagreement has no entry in clients/explanations.json)
"""

import argparse
import json
import os
import sys

FLEET = [
    "radicale",
    "xandikos",
    "xandikos-tls",
    "sabre",
    "sabre-digest",
    "davical",
    "cyrus",
    "sogo",
    "calypso",
    "davserver",
]
NEGATIVE = {"calypso", "davserver"}

# Client families under scenarios/clients/, in report order, with what each is.
CLIENTS = [
    ("python-caldav", "python-caldav 3.6.0 (PyPI `caldav`)"),
    ("tsdav", "tsdav 2.3.4 (npm)"),
    ("davx5", "DAVx5 (dav4jvm + davx5-ose sync adapter)"),
    ("thunderbird", "Thunderbird (calendar/providers/caldav)"),
    ("evolution", "GNOME Evolution (evolution-data-server CalDAV backend)"),
    ("apple-calendar", "Apple Calendar, iOS/macOS (public documentation)"),
]

# A stage with alternatives: the client takes the alternative only where the server lacks what
# the main scenario requires (the main one is then `ignored`).
ALTERNATIVES = {
    "2-first-sync": ["2-first-sync-ctag", "2-first-sync-fallback"],
    "6-incremental-sync": ["6-incremental-sync-ctag", "6-incremental-sync-fallback"],
}
ALTERNATIVE_OF = {alt: main for main, alts in ALTERNATIVES.items() for alt in alts}

# Driver steps -> the flow stage that covers them (None: outside the flows, which run in the
# suite's own scratch calendars).
STEP_STAGE = {
    "discover": "1-discover",
    "list_calendars": "1-discover",
    "create_calendar": None,
    "create_event": "3-create",
    "create_conflict": "3-create",
    "fetch_event": "2-first-sync",
    "sync_initial": "2-first-sync",
    "update_event": "4-edit",
    "update_conflict": "4-edit",
    "sync_changes": "6-incremental-sync",
    "delete_conflict": "5-delete",
    "delete_event": "5-delete",
    "sync_deleted": "6-incremental-sync",
    "delete_calendar": None,
}
# Where a library's step belongs elsewhere: tsdav's sync_initial checks that the calendar offers
# the sync-token or getctag that syncCalendars() compares, which is what stage 6 needs.
STEP_STAGE_BY_CLIENT = {"tsdav": {"sync_initial": "6-incremental-sync"}}

STAGES = ["1-discover", "2-first-sync", "3-create", "4-edit", "5-delete", "6-incremental-sync"]


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def flow_outcomes(suite, client):
    """stage name -> (outcome, reason) for one client's family in one server's results."""
    out = {}
    if not suite:
        return out
    prefix = f"clients/{client}/"
    for s in suite.get("scenarios", []):
        name = s.get("name", "")
        if not name.startswith(prefix):
            continue
        stage = name.split("::", 1)[-1]
        out[stage] = (s.get("outcome", "?"), s.get("reason") or s.get("message") or "")
    return out


def stage_verdict(outcomes, stage):
    """The outcome of a stage, taking the alternative the client uses on this server."""
    main = outcomes.get(stage)
    if main is None:
        return None, None, ""
    if main[0] != "ignored":
        return stage, main[0], main[1]
    for alt in ALTERNATIVES.get(stage, []):
        if alt in outcomes and outcomes[alt][0] != "ignored":
            return alt, outcomes[alt][0], outcomes[alt][1]
    if ALTERNATIVES.get(stage):
        # Neither the main way nor an alternative applies: the client has no way to do it.
        return stage, "no way", main[1]
    return stage, "ignored", main[1]


def flaky_of(path):
    """Scenario names whose baseline outcome is flaky (timing-dependent), from a baseline file."""
    out, name = set(), None
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith('  "') and line.rstrip().endswith('":'):
                    name = line.strip()[1:-2]
                elif name and line.strip() in ('outcome: "flaky"', "outcome: flaky"):
                    out.add(name)
    except OSError:
        pass
    return out


def short(text, n=110):
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def compat_cell(outcomes, flaky=()):
    if not outcomes:
        return "not run"
    stages = [s for s in outcomes if s not in ALTERNATIVE_OF]
    bad = []
    for st in sorted(stages):
        used, outcome, _ = stage_verdict(outcomes, st)
        if outcome == "pass":
            continue
        if outcome == "no way":
            bad.append(f"{st} (no way: neither it nor {', '.join(ALTERNATIVES[st])} applies)")
            continue
        if outcome == "ignored":
            continue
        bad.append(f"{used} ({outcome}{', flaky' if f'{used}' in flaky else ''})")
    if not bad:
        return "works"
    fails = [b for b in bad if "(fail)" in b or "no way" in b]
    head = "breaks at " if fails else "degraded: "
    return head + ", ".join(bad)


def driver_stage(driver, stage, client):
    """ok / error text / None for the driver steps that a stage covers."""
    steps = (driver or {}).get("steps", {})
    table = {**STEP_STAGE, **STEP_STAGE_BY_CLIENT.get(client, {})}
    mine = [k for k, st in table.items() if st == stage and k in steps]
    if not mine:
        return None, ""
    errs = [(k, steps[k]) for k in mine if steps[k] != "ok"]
    real = [(k, v) for k, v in errs if not str(v).startswith("skipped")]
    if real:
        return "error", f"{real[0][0]}: {real[0][1]}"
    if errs:
        return "skipped", f"{errs[0][0]}: {errs[0][1]}"
    return "ok", ""


def agree(drv, suite_outcome):
    if drv is None or suite_outcome is None or drv == "skipped":
        return None
    if suite_outcome in ("inconclusive", "ignored"):
        return None
    broken = suite_outcome in ("fail", "warn", "no way")
    return (drv == "error") == broken


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", required=True)
    ap.add_argument("--suite", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--explanations", default=os.path.join(os.path.dirname(__file__), "explanations.json"))
    ap.add_argument("--strict", action="store_true", help="exit 1 when a disagreement is unexplained")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    names = a.names or FLEET
    explanations = load(a.explanations) or {}

    suites = {n: load(os.path.join(a.suite, f"{n}.json")) for n in names}
    flaky = {n: flaky_of(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "servers", n, "baseline-clients.yaml")) for n in names}
    lines = []
    w = lines.append
    w("# Client compatibility")
    w("")
    w("Generated by `bash scripts/clients.sh --report` from the suite's results for the client")
    w("flows (`scenarios/clients/<client>/flow.yaml`, run as `scripts/suite.sh NAME -q clients/`)")
    w("and from the real-library drivers (`scripts/clients.sh NAME...`, results in")
    w("`target/results/clients/`). Do not edit by hand: explanations of disagreements live in")
    w("`clients/explanations.json`.")
    w("")
    w("Each flow replays one client's own request sequence (headers and bodies as the client")
    w("sends them; sources cited in each scenario's `note:`) in six stages: 1 discovery, 2 first")
    w("sync, 3 create (If-None-Match), 4 edit (If-Match), 5 delete, 6 incremental sync after a")
    w("change by another client. A stage with a `-fallback` or `-ctag` variant is the way the")
    w("client takes where the server lacks what the main variant needs (sync-collection); the")
    w("variant counts only there. `fail` breaks a MUST; `warn` a SHOULD (the client still breaks,")
    w("but no MUST is violated); `inconclusive`: the situation could not be set up; `no way`: the")
    w("server offers none of the ways the client detects changes; `flaky`: the server's baseline")
    w("records the outcome as timing-dependent (SOGo's one-second tokens).")
    w("")
    w("## Client × server")
    w("")
    header = "| client | " + " | ".join(names) + " |"
    w(header)
    w("|" + "---|" * (len(names) + 1))
    for client, label in CLIENTS:
        cells = []
        for n in names:
            cells.append(compat_cell(flow_outcomes(suites[n], client), {k.split("::")[1] for k in flaky[n] if k.startswith(f"clients/{client}/")}))
        w(f"| {label} | " + " | ".join(cells) + " |")
    w("")
    w(f"Negative controls (deliberately non-conformant): {', '.join(sorted(NEGATIVE & set(names)))}.")
    w("")

    w("## Real libraries beside the flows")
    w("")
    w("For python-caldav and tsdav, each driver step is mapped to the flow stage that covers it")
    w("(`create_calendar` and `delete_calendar` have none: the flows run in the suite's own")
    w("scratch calendars). A stage agrees when the library's steps all worked and the suite")
    w("passed it, or a step failed and the suite failed or warned. Stages the suite could not")
    w("judge (ignored, inconclusive) or the driver skipped are not compared.")
    w("")
    unexplained = 0
    for client in ("python-caldav", "tsdav"):
        w(f"### {client}")
        w("")
        w("| server | " + " | ".join(STAGES) + " |")
        w("|" + "---|" * (len(STAGES) + 1))
        notes = []
        for n in names:
            drv = load(os.path.join(a.clients, f"{n}.{client}.json"))
            outs = flow_outcomes(suites[n], client)
            cells = []
            for st in STAGES:
                d, dmsg = driver_stage(drv, st, client)
                used, so, sreason = stage_verdict(outs, st) if outs else (None, None, "")
                ag = agree(d, so)
                dtxt = {"ok": "ok", "error": "**error**", "skipped": "skipped", None: "—"}[d]
                stxt = so if so is not None else "—"
                if used and f"clients/{client}/flow::{used}" in flaky[n]:
                    stxt += " (flaky)"
                mark = "" if ag is None else (" ✓" if ag else " ✗")
                cells.append(f"{dtxt} / {stxt}{mark}")
                if ag is False:
                    key = f"{client}/{n}/{st}"
                    why = explanations.get(key)
                    if why is None:
                        unexplained += 1
                        why = "UNEXPLAINED"
                    notes.append(
                        f"- **{n}, {st}** — library: {short(dmsg) if dmsg else d}; suite "
                        f"({used}): {so}{(': ' + short(sreason)) if sreason and so != 'pass' else ''}. {why}"
                    )
            w(f"| {n} | " + " | ".join(cells) + " |")
        w("")
        w("Cells: library / suite; ✓ agree, ✗ disagree.")
        w("")
        if notes:
            w("Disagreements:")
            w("")
            lines.extend(notes)
            w("")
        # Library findings outside the flows' stages.
        extra = []
        for n in names:
            drv = load(os.path.join(a.clients, f"{n}.{client}.json"))
            if not drv:
                extra.append(f"- {n}: no driver result")
                continue
            for k in ("create_calendar", "delete_calendar"):
                v = drv["steps"].get(k)
                if v and v != "ok":
                    extra.append(f"- {n}, {k}: {short(v)}")
            for r in drv.get("info", {}).get("transport_retries", []):
                extra.append(f"- {n}: retried once after a transport error: {short(r)}")
        if extra:
            w("Library results outside the stages:")
            w("")
            lines.extend(extra)
            w("")
    w("## Notes")
    w("")
    for line in (explanations.get("_notes") or []):
        w(f"- {line}")
    w("")
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    print(f"wrote {a.out}; {unexplained} unexplained disagreement(s)")
    return 1 if a.strict and unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
