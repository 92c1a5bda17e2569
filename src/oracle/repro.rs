//! Reproducing a disagreement: shrink the failing object and range step by step to a minimal
//! case that the server still gets wrong (re-asking the server at each step), and print it as a
//! standalone scenario file. `report` only renders; `shrink` is the part that talks to the server.
use super::generate::*;
use super::judge::*;
use super::model::*;
use super::run::*;
use super::{REPEAT, T};
use crate::http::{Client, Request, Scope};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use url::Url;

/// Server round trips (a PUT and a REPORT each) the shrinking may spend.
const SHRINK_BUDGET: usize = 40;

/// The smallest case found that the server still gets wrong.
pub(super) struct Minimal {
    pub(super) obj: Obj,
    pub(super) range: TimeRange,
    pub(super) kind: CompType,
    pub(super) verdict: Verdict,
    /// How it was found: reproduced alone, steps taken, or why not.
    pub(super) how: String,
}

/// Where the shrinking works: the scratch calendar and the oracle's floating-time rule.
pub(super) struct Bench<'a> {
    pub(super) client: &'a Client,
    pub(super) origin: &'a Url,
    pub(super) calendar: &'a Url,
    pub(super) scope: &'a Scope,
    pub(super) floating: Floating,
    pub(super) horizon: T,
    pub(super) dtstamp: T,
}

impl Bench<'_> {
    async fn send(&self, req: Request) -> Result<u16, String> {
        self.scope.check(self.origin, &req)?;
        self.client
            .send(&req)
            .await
            .map(|r| r.status)
            .map_err(|e| e.to_string())
    }

    /// Store `obj` at `href` (replacing what is there) and ask `range`; Some(the oracle's
    /// verdict) when the server still disagrees with it.
    async fn still_fails(&self, obj: &Obj, range: &TimeRange, kind: CompType) -> Option<Verdict> {
        let exp = expand(obj, self.horizon).ok()?;
        let v = expected(obj, &exp, range, kind, self.floating)?;
        let url = self.calendar.join(&obj.name).ok()?;
        let mut put =
            Request::new("PUT", url.clone()).header("Content-Type", "text/calendar; charset=utf-8");
        put.body = Some(obj.ical(&obj.uid, self.dtstamp).into_bytes());
        let st = self.send(put).await.ok()?;
        if !(200..300).contains(&st) {
            return None;
        }
        let got = query(self.client, self.calendar, range, kind).await.ok()?;
        let inc = got.contains(&crate::xml::normalize_href(url.path()));
        (inc != v.matched).then_some(v)
    }
}

/// Leave only object `keep` in the calendar, confirm the disagreement `m` with it alone, then
/// reduce object and range one simplification at a time while the server still disagrees.
pub(super) async fn shrink(
    bench: &Bench<'_>,
    case: &Case,
    hrefs: &BTreeMap<String, usize>,
    m: &Mismatch,
) -> Option<Minimal> {
    let (oi, v) = (m.obj?, m.verdict.clone()?);
    let mut how = String::new();
    for &i in hrefs.values().filter(|&&i| i != oi) {
        let Ok(u) = bench.calendar.join(&case.objects[i].name) else {
            continue;
        };
        if let Err(e) = bench.send(Request::new("DELETE", u)).await {
            let _ = write!(how, "(deleting {} failed: {e}) ", case.objects[i].name);
        }
    }
    let mut best = Minimal {
        obj: case.objects[oi].clone(),
        range: case.ranges[m.range].clone(),
        kind: m.kind,
        verdict: v,
        how,
    };
    match bench.still_fails(&best.obj, &best.range, best.kind).await {
        Some(v) => best.verdict = v,
        None => {
            best.how
                .push_str("NOT reproduced with this object alone (the disagreement needs the other objects); shown unreduced");
            return Some(best);
        }
    }
    let (mut tries, mut steps) = (1usize, Vec::new());
    'outer: while tries < SHRINK_BUDGET {
        let candidates = simpler_objects(&best.obj, bench.horizon)
            .into_iter()
            .map(|(what, o)| (what, o, best.range.clone()))
            .chain(
                simpler_ranges(&best.range)
                    .into_iter()
                    .map(|(what, r)| (what, best.obj.clone(), r)),
            );
        for (what, obj, range) in candidates {
            if tries >= SHRINK_BUDGET {
                break 'outer;
            }
            tries += 1;
            if let Some(v) = bench.still_fails(&obj, &range, best.kind).await {
                steps.push(what);
                (best.obj, best.range, best.verdict) = (obj, range, v);
                continue 'outer;
            }
        }
        break;
    }
    let _ = write!(
        best.how,
        "reproduced with this object alone; shrunk in {} steps ({}) after {tries} tries",
        steps.len(),
        if steps.is_empty() {
            "nothing simpler fails".to_string()
        } else {
            steps.join(", ")
        }
    );
    Some(best)
}

/// Drop the EXDATEs and overridden instances that no longer name an instance of the
/// recurrence set (RFC 5545 §3.8.4.4: a RECURRENCE-ID names an instance of it).
fn prune(e: &mut Event, horizon: T) {
    let mut set = vec![e.dtstart.local()];
    if let Some(r) = &e.rrule {
        set.extend(
            rule_locals(&e.dtstart, r, horizon)
                .map(|x| x.0)
                .unwrap_or_default(),
        );
    }
    set.extend(e.rdates.iter().map(When::local));
    e.exdates.retain(|x| set.contains(&x.local()));
    e.overrides.retain(|o| set.contains(&o.rid.local()));
}

/// One-step simplifications of an object, each still a valid calendar object.
fn simpler_objects(o: &Obj, horizon: T) -> Vec<(String, Obj)> {
    let edits = match &o.body {
        Body::Event(e) => event_edits(e),
        Body::Todo(t) => todo_edits(t),
    };
    let mut out = Vec::new();
    for (what, edit) in edits {
        let mut c = o.clone();
        edit(&mut c.body);
        if let Body::Event(e) = &mut c.body {
            prune(e, horizon);
        }
        if c != *o {
            out.push((what, c));
        }
    }
    out
}

type Edit = Box<dyn Fn(&mut Body)>;

fn on_event(f: impl Fn(&mut Event) + 'static) -> Edit {
    Box::new(move |b| {
        if let Body::Event(e) = b {
            f(e)
        }
    })
}

fn on_todo(f: impl Fn(&mut Todo) + 'static) -> Edit {
    Box::new(move |b| {
        if let Body::Todo(t) = b {
            f(t)
        }
    })
}

fn event_edits(e: &Event) -> Vec<(String, Edit)> {
    let mut v: Vec<(String, Edit)> = vec![
        ("no VALARM".into(), on_event(|e| e.alarm = None)),
        (
            "no recurrence".into(),
            on_event(|e| {
                e.rrule = None;
                e.rdates.clear();
                e.exdates.clear();
                e.overrides.clear();
            }),
        ),
        (
            "no overridden instance".into(),
            on_event(|e| e.overrides.clear()),
        ),
    ];
    for i in 0..e.overrides.len() {
        let f = on_event(move |e| {
            e.overrides.remove(i);
        });
        v.push((format!("without override {}", i + 1), f));
    }
    v.push(("no EXDATE".into(), on_event(|e| e.exdates.clear())));
    if e.rrule.is_some() {
        v.push(("no RDATE".into(), on_event(|e| e.rdates.clear())));
        v.push(("no RRULE".into(), on_event(|e| e.rrule = None)));
    }
    v.push((
        "simpler RRULE".into(),
        on_event(|e| {
            if let Some(r) = &mut e.rrule {
                r.byday.clear();
                r.bymonthday = None;
                r.interval = 1;
            }
        }),
    ));
    v.push((
        "fewer instances".into(),
        on_event(|e| {
            if let Some(Rule {
                term: Term::Count(n),
                ..
            }) = &mut e.rrule
            {
                *n = (*n / 2).max(1);
            }
        }),
    ));
    v
}

fn todo_edits(t: &Todo) -> Vec<(String, Edit)> {
    let mut v: Vec<(String, Edit)> = vec![
        ("no VALARM".into(), on_todo(|t| t.alarm = None)),
        ("no CREATED".into(), on_todo(|t| t.created = None)),
        ("no COMPLETED".into(), on_todo(|t| t.completed = None)),
    ];
    if t.dtstart.is_some() {
        v.push(("no DURATION".into(), on_todo(|t| t.duration = None)));
        v.push(("no DUE".into(), on_todo(|t| t.due = None)));
    }
    if t.due.is_some() && t.duration.is_none() {
        v.push(("no DTSTART".into(), on_todo(|t| t.dtstart = None)));
    }
    v
}

/// One-step simplifications of a range: open at one end.
fn simpler_ranges(r: &TimeRange) -> Vec<(String, TimeRange)> {
    let mut out = Vec::new();
    if r.start.is_some() && r.end.is_some() {
        let mut a = r.clone();
        a.start = None;
        out.push(("range open at the start".to_string(), a));
        let mut b = r.clone();
        b.end = None;
        out.push(("range open at the end".to_string(), b));
    }
    out
}

/// The failure message: every disagreement (the first few in full), then the minimal case.
pub(super) fn report(
    case: &Case,
    mismatches: &[Mismatch],
    summary: &Summary,
    minimal: Option<&Minimal>,
) -> String {
    let seed = case.seed;
    let queries: BTreeSet<(usize, CompType)> =
        mismatches.iter().map(|m| (m.range, m.kind)).collect();
    let mut s = format!(
        "RFC 4791 §9.9 time-range oracle, seed {seed} (dates relative to {}): {} of {} \
         calendar-queries disagree with the oracle ({} wrong hrefs)\n",
        case.base,
        queries.len(),
        summary.queries,
        mismatches.len()
    );
    for n in &summary.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    const SHOWN: usize = 25;
    for m in mismatches.iter().take(SHOWN) {
        let r = &case.ranges[m.range];
        let _ = writeln!(
            s,
            "- {} time-range {r} (range {}, {}): wrongly {} {}",
            m.kind.name(),
            m.range + 1,
            r.why,
            if m.included { "included" } else { "excluded" },
            m.href
        );
        match m.obj {
            Some(oi) => {
                let _ = writeln!(s, "    object: {}", case.objects[oi].describe());
            }
            None => s.push_str("    object: not one the oracle stored\n"),
        }
        if let Some(v) = &m.verdict {
            let _ = writeln!(s, "    oracle: {}", v.reason);
        }
    }
    if mismatches.len() > SHOWN {
        let _ = writeln!(s, "- … and {} more", mismatches.len() - SHOWN);
    }
    if let Some(min) = minimal {
        let _ = writeln!(
            s,
            "minimal case: {} ({}) with {} time-range {}; {}\nscenario (save under \
             scenarios/rfc4791/ as a .yaml file):\n{}",
            min.obj.name,
            min.obj.describe(),
            min.kind.name(),
            min.range,
            min.how,
            scenario_yaml(case, min)
        );
    }
    s
}

pub(super) fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

pub(super) fn block(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for l in text.replace("\r\n", "\n").lines() {
        let _ = writeln!(out, "{pad}{l}");
    }
    out
}

/// The scenario YAML (README "Scenario format") for a minimal case: the object is stored with
/// `{uid}` as UID, dates stay absolute so the expectation never changes.
pub(super) fn scenario_yaml(case: &Case, min: &Minimal) -> String {
    let (obj, range, kind, verdict) = (&min.obj, &min.range, min.kind, &min.verdict);
    let stem = obj.name.trim_end_matches(".ics");
    let mut y = format!(
        "# Generated by the time-range oracle (src/oracle/), seed {} (dates relative to {}),\n\
         # shrunk to a minimal case. Dates are absolute: the expectation does not depend on the\n\
         # day it runs.\n\
         area: RFC 4791 §9.9 CALDAV:time-range (generated cases)\n\
         scenarios:\n",
        case.seed, case.base
    );
    let _ = writeln!(
        y,
        "  - name: oracle-s{}-{}-{}",
        case.seed,
        stem,
        kind.name().to_ascii_lowercase()
    );
    let _ = writeln!(
        y,
        "    desc: {}",
        yaml_str(&format!(
            "A calendar-query for {} with time-range {range} {} the object ({}).",
            kind.name(),
            if verdict.matched {
                "returns"
            } else {
                "does not return"
            },
            obj.describe()
        ))
    );
    let _ = writeln!(
        y,
        "    requirement: {}\n    note: {}",
        yaml_str(super::REQUIREMENT),
        yaml_str(&format!("Oracle: {}", verdict.reason))
    );
    y.push_str("    spec: [RFC4791 §9.9]\n    setup:\n");
    if obj.is_floating() {
        y.push_str(
            "      - desc: read floating times in UTC (RFC 4791 §7.3)\n        method: PROPPATCH\n        path: \"{calendar}\"\n        body: |\n",
        );
        y.push_str(&block(&proppatch_body(), 10));
        y.push_str("        expect: { status: 207 }\n");
    }
    let _ = writeln!(
        y,
        "      - desc: store the object\n        method: PUT\n        path: {}\n        body: |",
        obj.name
    );
    y.push_str(&block(&obj.ical("{uid}", case.dtstamp()), 10));
    y.push_str("        expect: { status: 201 }\n    steps:\n");
    y.push_str(&query_steps(range, kind, verdict, &obj.name));
    y
}

/// The REPORT steps of a generated scenario: the same query several times, since some servers
/// answer later queries from an index they build after a few (xandikos after 5), and the index
/// may disagree with the first answer.
fn query_steps(range: &TimeRange, kind: CompType, verdict: &Verdict, name: &str) -> String {
    let mut y = String::new();
    let mut expect =
        String::from("        expect:\n          status: 207\n          multistatus:\n");
    if verdict.matched {
        let _ = write!(
            expect,
            "            exact: true\n            responses:\n              - href: {}\n                props:\n                  D:getetag: any\n",
            name
        );
    } else {
        let _ = writeln!(
            expect,
            "            count: 0\n            absent: [{}]",
            name
        );
    }
    // The same query several times: some servers answer later queries from an index they
    // build after a few (xandikos after 5), and the index may disagree with the first answer.
    for k in 1..=REPEAT {
        let _ = writeln!(
            y,
            "      - desc: {}\n        method: REPORT\n        depth: \"1\"\n        body: |",
            yaml_str(&format!(
                "calendar-query {} time-range {range} ({k} of {REPEAT}: a server may answer later ones from an index)",
                kind.name()
            ))
        );
        y.push_str(&block(&query_body(range, kind), 10));
        y.push_str(&expect);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::testutil::*;

    #[test]
    fn simplifications_stay_valid_and_simpler() {
        let c = generate(7, "p", d(2025, 10, 20));
        let mut n = 0;
        for o in &c.objects {
            for (what, s) in simpler_objects(o, c.horizon) {
                n += 1;
                assert_ne!(&s, o, "{what} changed nothing");
                expand(&s, c.horizon).unwrap_or_else(|e| panic!("{what} of {}: {e}", o.name));
                let text = s.ical(&s.uid, c.dtstamp());
                crate::ical::parse(&text).unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
                if let Body::Event(e) = &s.body {
                    let mut pruned = e.clone();
                    prune(&mut pruned, c.horizon);
                    assert_eq!(
                        &pruned, e,
                        "{what} of {} left a dangling RECURRENCE-ID",
                        o.name
                    );
                }
            }
        }
        assert!(n > c.objects.len(), "too few simplifications: {n}");
        let r = &c.ranges[0];
        assert!(simpler_ranges(r)
            .iter()
            .all(|(_, x)| x.start.is_none() || x.end.is_none()));
    }

    #[test]
    fn scenario_yaml_loads() {
        let base = d(2025, 10, 20);
        let c = generate(3, "p", base);
        let dir = std::env::temp_dir().join(format!("ccf-oracle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (oi, o) in c.objects.iter().enumerate() {
            let ri = oi % c.ranges.len();
            let kind = match o.body {
                Body::Event(_) => CompType::Vevent,
                Body::Todo(_) => CompType::Vtodo,
            };
            let exp = expand(o, c.horizon).unwrap();
            let Some(v) = expected(o, &exp, &c.ranges[ri], kind, Floating::Utc) else {
                continue;
            };
            let min = Minimal {
                obj: o.clone(),
                range: c.ranges[ri].clone(),
                kind,
                verdict: v,
                how: String::new(),
            };
            let y = scenario_yaml(&c, &min);
            let f = dir.join(format!("case{oi}.yaml"));
            std::fs::write(&f, &y).unwrap();
            let loaded = crate::scenario::load_file(&dir, &f, &dir)
                .unwrap_or_else(|e| panic!("{}\n{y}", e[0]));
            assert_eq!(loaded.len(), 1);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
