//! Reporting: the JSON results file (per-scenario outcome with its typed failure, spec
//! references, server and date) that baselines and the conformance matrix are built from, JUnit
//! XML for CI systems, and the matrix. Failure text comes from `outcome::Failure`, never from
//! re-reading a message.

use crate::baseline::{self, Baseline, Comparison, Mark};
use crate::discovery::Discovered;
use crate::outcome::{Failure, Kind, Limits, Outcome, Rounds};
use crate::scenario::{Level, Loaded};
use quick_junit::TestCase;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    pub tool: String,
    pub date: String,
    /// The fleet name (`--server-name`), e.g. `radicale`.
    #[serde(default)]
    pub server_name: Option<String>,
    /// The version under test (`--server-version`), e.g. `Radicale 3.9.0`.
    #[serde(default)]
    pub server_version: Option<String>,
    /// The Server header.
    pub server: Option<String>,
    /// The product and version the server names itself as (discovery), e.g. `sabre/dav 1.8.12`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The headers that named it (`Server`, `X-Sabre-Version`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub identity: BTreeMap<String, String>,
    /// With `--profile`: the profile compared with (`radicale: Radicale 3.9.0 (PyPI)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub home: String,
    pub features: Vec<String>,
    /// How many scenarios had each outcome.
    #[serde(default)]
    pub counts: BTreeMap<Kind, usize>,
    pub scenarios: Vec<ScenarioResult>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub name: String,
    #[serde(default)]
    pub area: Option<String>,
    pub spec: Vec<String>,
    pub level: Level,
    pub outcome: Kind,
    /// One line: the baseline's reviewed reason, or the failure's first difference, or why
    /// the scenario was ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where and how it did not pass: step, location, differences, diff, exchange (complete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// With `--baseline`: expected, regression, stale or changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Mark>,
    /// With `--baseline`, when not as expected: what differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violates: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    pub millis: u128,
    /// With `repeat:`: how many rounds ran (a failure names its round) and the scenario's
    /// bounds; see `set_rounds` for passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<Rounds>,
}

impl Results {
    /// The number of scenarios with this outcome.
    pub fn count(&self, k: Kind) -> usize {
        self.scenarios.iter().filter(|s| s.outcome == k).count()
    }

    /// The rounds each scenario with `repeat:` ran (`Run::rounds`), for the ones whose
    /// failure does not already say.
    pub fn set_rounds(&mut self, ran: &BTreeMap<String, Rounds>) {
        for s in self.scenarios.iter_mut().filter(|s| s.rounds.is_none()) {
            s.rounds = ran.get(&s.name).copied();
        }
    }

    /// Mark each result against the baseline, and give known deviations their reviewed reason.
    pub fn annotate(&mut self, b: &Baseline, outcomes: &BTreeMap<String, (Outcome, Duration)>) {
        for s in self.scenarios.iter_mut() {
            let Some((o, _)) = outcomes.get(&s.name) else {
                continue;
            };
            let entry = b.expect.get(&s.name);
            let j = baseline::judge(entry, o);
            if let Some(e) = entry.filter(|_| j.mark == Mark::Expected && s.outcome != Kind::Pass) {
                s.reason = Some(e.reason.clone());
                s.violates = e.violates.clone();
                s.issue = e.issue.clone();
            }
            s.baseline_detail = (!j.detail.is_empty()).then_some(j.detail);
            s.baseline = Some(j.mark);
        }
    }
}

pub fn results(
    scenarios: &[Loaded],
    outcomes: &BTreeMap<String, (Outcome, Duration)>,
    disc: &Discovered,
) -> Results {
    let mut list = Vec::new();
    for l in scenarios {
        let Some((o, d)) = outcomes.get(&l.trial_name()) else {
            continue;
        };
        list.push(ScenarioResult {
            name: l.trial_name(),
            area: l.area.clone(),
            spec: l.scenario.spec.clone(),
            level: l.scenario.level,
            outcome: o.kind(),
            reason: o.reason(),
            failure: o.failure().cloned(),
            baseline: None,
            baseline_detail: None,
            violates: None,
            issue: None,
            millis: d.as_millis(),
            rounds: o.failure().and_then(|f| f.rounds),
        });
    }
    let mut r = Results {
        tool: concat!("caldav-conformance ", env!("CARGO_PKG_VERSION")).to_string(),
        date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
        server_name: None,
        server_version: None,
        server: disc.server.clone(),
        product: disc.product.clone(),
        identity: disc.identity.iter().cloned().collect(),
        profile: None,
        home: disc.home.path().to_string(),
        features: disc.features.iter().cloned().collect(),
        counts: BTreeMap::new(),
        scenarios: list,
    };
    r.counts = Kind::ALL.iter().map(|k| (*k, r.count(*k))).collect();
    r
}

/// Up to five names of a list, then how many more.
fn some_names(list: &[(String, String)]) -> String {
    let mut names: Vec<&str> = list.iter().take(5).map(|(n, _)| n.as_str()).collect();
    let more = format!("… {} more", list.len().saturating_sub(5));
    if list.len() > 5 {
        names.push(&more);
    }
    names.join(", ")
}

/// The last line of a run: the verdict, in words.
pub fn verdict(name: &str, r: &Results, cmp: Option<&Comparison>) -> String {
    verdict_against(name, r, cmp, "its baseline")
}

/// The verdict compared with `against`: "its baseline", or with `--profile` "a correct
/// installation of Radicale 3.9.0 (profile radicale)" (`profile::Profile::against`).
pub fn verdict_against(name: &str, r: &Results, cmp: Option<&Comparison>, against: &str) -> String {
    let n = |k: Kind| r.count(k);
    let plural =
        |c: usize, one: &str, many: &str| format!("{c} {}", if c == 1 { one } else { many });
    let known = r
        .scenarios
        .iter()
        .filter(|s| s.outcome == Kind::Fail && s.baseline == Some(Mark::Expected))
        .count();
    let fails = match cmp {
        Some(_) if known == n(Kind::Fail) => plural(known, "known deviation", "known deviations"),
        Some(_) => format!(
            "{} fail ({})",
            n(Kind::Fail),
            plural(known, "known deviation", "known deviations")
        ),
        None => format!("{} fail", n(Kind::Fail)),
    };
    let mut parts = vec![format!("{} pass", n(Kind::Pass)), fails];
    for (k, one, many) in [
        (Kind::Ignored, Kind::Ignored.label(), Kind::Ignored.label()),
        (Kind::Warn, "warning", "warnings"),
        (
            Kind::Inconclusive,
            Kind::Inconclusive.label(),
            Kind::Inconclusive.label(),
        ),
    ] {
        parts.push(plural(n(k), one, many));
    }
    let counts = parts.join(", ");
    match cmp {
        Some(c) if c.is_clean() => format!("{name}: matches {against} — {counts}"),
        Some(c) => {
            let mut diffs = Vec::new();
            for (list, one, many) in [
                (&c.regressions, "regression", "regressions"),
                (&c.stale, "stale entry", "stale entries"),
                (&c.changed, "changed failure", "changed failures"),
            ] {
                if !list.is_empty() {
                    diffs.push(format!(
                        "{} ({})",
                        plural(list.len(), one, many),
                        some_names(list)
                    ));
                }
            }
            format!(
                "{name}: DIFFERS from {against} — {}; {counts}",
                diffs.join("; ")
            )
        }
        None if n(Kind::Fail) + n(Kind::Inconclusive) == 0 => {
            format!("{name}: no failures — {counts}")
        }
        None => {
            format!("{name}: FAILED — {counts} (no baseline: every fail and inconclusive counts)")
        }
    }
}

/// Text XML 1.0 can carry: control characters other than tab and line breaks (which a
/// hostile server may send) become `?`; quick-junit escapes the rest.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// One JUnit testcase: a fail is a `<failure>`, an inconclusive an `<error>` (the test could
/// not be carried out), an ignored scenario `<skipped>`, a warning `<system-out>`.
fn junit_case(group: &str, s: &ScenarioResult) -> TestCase {
    use quick_junit::{NonSuccessKind, TestCaseStatus};
    let reason = xml_text(s.reason.as_deref().unwrap_or(""));
    let text = s
        .failure
        .as_ref()
        .map(|f| xml_text(&f.render(Limits::FULL)))
        .unwrap_or_default();
    let non_success = |kind, ty: &str| {
        let mut st = TestCaseStatus::non_success(kind);
        st.set_message(reason.as_str())
            .set_type(ty)
            .set_description(text.as_str());
        st
    };
    let status = match s.outcome {
        Kind::Pass | Kind::Warn => TestCaseStatus::success(),
        Kind::Fail => non_success(NonSuccessKind::Failure, "fail"),
        Kind::Inconclusive => non_success(NonSuccessKind::Error, "inconclusive"),
        Kind::Ignored => {
            let mut st = TestCaseStatus::skipped();
            st.set_message(reason.as_str());
            st
        }
    };
    let mut case = TestCase::new(s.name.split("::").nth(1).unwrap_or(&s.name), status);
    case.set_classname(group)
        .set_time(std::time::Duration::from_millis(s.millis as u64));
    if s.outcome == Kind::Warn {
        case.set_system_out(format!("warning: {text}"));
    }
    case
}

/// JUnit XML as GitHub Actions and GitLab ingest it (written by quick-junit, the crate
/// cargo-nextest uses): one testsuite per scenario file.
pub fn junit(r: &Results) -> String {
    let mut suites: BTreeMap<&str, Vec<&ScenarioResult>> = BTreeMap::new();
    for s in &r.scenarios {
        let group = s.name.split("::").next().unwrap_or("");
        suites.entry(group).or_default().push(s);
    }
    let mut report = quick_junit::Report::new("caldav-conformance");
    for (g, list) in suites {
        let mut suite = quick_junit::TestSuite::new(g);
        suite.add_test_cases(list.into_iter().map(|s| junit_case(g, s)));
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- JUnit serialisation failed: {e} -->\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, outcome: Kind, failure: Option<Failure>) -> ScenarioResult {
        ScenarioResult {
            name: name.into(),
            area: None,
            spec: vec![],
            level: Level::Must,
            outcome,
            reason: failure.as_ref().map(Failure::reason),
            failure,
            baseline: None,
            baseline_detail: None,
            violates: None,
            issue: None,
            millis: 5,
            rounds: None,
        }
    }

    #[test]
    fn junit_is_well_formed_and_escaped() {
        let mut f = Failure::new("step 1", "a <b> & \"c\"");
        f.exchange = Some("> GET /\nmore".into());
        let mut setup = Failure::new("setup 1", "answered 500");
        setup.cause = Some("setup 1 did not succeed".into());
        let r = Results {
            tool: "t".into(),
            date: "d".into(),
            server_name: None,
            server_version: None,
            server: None,
            product: None,
            identity: BTreeMap::new(),
            profile: None,
            home: "/".into(),
            features: vec![],
            counts: BTreeMap::new(),
            scenarios: vec![
                result("rfc4791/a::x", Kind::Fail, Some(f)),
                result("rfc4791/a::y", Kind::Pass, None),
                result("rfc4791/a::z", Kind::Inconclusive, Some(setup)),
            ],
        };
        let x = junit(&r);
        assert!(crate::xml::parse(x.as_bytes()).is_ok(), "{x}");
        assert!(x.contains("failures=\"1\" errors=\"1\"") && x.contains("&lt;b&gt; &amp;"));
        assert!(
            x.contains("<error message=\"setup 1 did not succeed\""),
            "{x}"
        );
        let j = serde_json::to_string(&r).unwrap();
        let back: Results = serde_json::from_str(&j).unwrap();
        assert_eq!(back.scenarios[2].outcome, Kind::Inconclusive);
        assert_eq!(back.scenarios[0].failure, r.scenarios[0].failure);
    }
}

/// The conformance matrix: scenarios by server, grouped by RFC area, as Markdown and JSON.
pub mod matrix {
    use super::{Results, ScenarioResult};
    use crate::outcome::Kind;
    use crate::scenario::Level;
    use std::collections::BTreeMap;
    use std::fmt::Write as _;

    /// Scenario name → (spec references, one result per server).
    type Rows<'a> = BTreeMap<String, (Vec<String>, Vec<Option<&'a ScenarioResult>>)>;

    fn mark(o: Kind) -> String {
        let sign = match o {
            Kind::Pass => "✅",
            Kind::Fail => "❌",
            Kind::Ignored => "➖",
            Kind::Warn => "⚠️",
            Kind::Inconclusive => "❔",
        };
        format!("{sign} {o}")
    }

    /// python-caldav compatibility-hint feature names, and what decides them: spec sections
    /// (a prefix matches its subsections) or `::name` for particular scenarios.
    const FEATURES: &[(&str, &[&str])] = &[
        ("get-current-user-principal", &["RFC5397 §"]),
        (
            "create-calendar",
            &[
                "::mkcalendar-creates-calendar-collection",
                "::mkcalendar-success-is-201",
                "::mkcalendar-then-put-and-list",
            ],
        ),
        (
            "save-load.event",
            &[
                "::put-creates-resource",
                "::put-modify-answers-2xx",
                "::get-returns-stored-calendar-data",
                "::get-has-etag-equal-to-getetag",
            ],
        ),
        ("search.time-range", &["RFC4791 §9.9"]),
        ("search.text", &["RFC4791 §9.7.5"]),
        ("search.is-not-defined", &["RFC4791 §9.7.4"]),
        ("search.recurrences.expanded", &["RFC4791 §9.6.5"]),
        ("freebusy-query.rfc4791", &["RFC4791 §7.10"]),
        ("sync-token", &["RFC6578 §"]),
    ];

    fn cites(spec: &[String], prefixes: &[&str]) -> bool {
        spec.iter().any(|s| {
            prefixes.iter().any(|p| {
                s.starts_with(p)
                    && (p.ends_with('§') || s.len() == p.len() || s[p.len()..].starts_with('.'))
            })
        })
    }

    fn feature_cell(r: &Results, prefixes: &[&str]) -> String {
        let rel: Vec<&ScenarioResult> = r
            .scenarios
            .iter()
            .filter(|s| {
                s.level == Level::Must
                    && (cites(&s.spec, prefixes)
                        || prefixes
                            .iter()
                            .any(|p| p.starts_with("::") && s.name.ends_with(p)))
            })
            .collect();
        let run = rel
            .iter()
            .filter(|s| !matches!(s.outcome, Kind::Ignored | Kind::Inconclusive))
            .count();
        let failed = rel.iter().filter(|s| s.outcome == Kind::Fail).count();
        if rel.is_empty() {
            "–".into()
        } else if run == 0 {
            "➖ unsupported".into()
        } else if failed > 0 {
            format!("❌ broken ({failed} of {run} fail)")
        } else {
            format!("✅ full ({run})")
        }
    }

    /// A table header: two fixed columns, then one per server.
    fn table_head(md: &mut String, first: &str, runs: &[Results]) {
        let _ = write!(md, "| {first} |");
        for r in runs {
            let _ = write!(md, " {} |", cell(r.server_name.as_deref().unwrap_or("?")));
        }
        md.push_str("\n|---|---|");
        for _ in runs {
            md.push_str("---|");
        }
        md.push('\n');
    }

    fn cell(s: &str) -> String {
        s.replace('|', "\\|").replace('\n', " ")
    }

    /// Render the Markdown matrix for several servers' results.
    pub fn markdown(runs: &[Results]) -> String {
        let mut md = String::from("# CalDAV conformance matrix\n\n");
        let _ = writeln!(
            md,
            "Generated by caldav-conformance from runs against real servers on 127.0.0.1 (`bash scripts/reports.sh`). \
             ✅ pass · ❌ fail (a MUST-level deviation; the reason and RFC section are below each table) · \
             ⚠️ warn (a SHOULD/MAY-level requirement not met) · ❔ inconclusive (the situation under test could not be set up; the cause is below each table) · \
             ➖ ignored (the server does not advertise the feature).\n"
        );
        summary_table(&mut md, runs);
        features_table(&mut md, runs);
        // group -> scenario -> per server result
        let mut groups: BTreeMap<String, (Option<String>, Rows)> = BTreeMap::new();
        for (i, r) in runs.iter().enumerate() {
            for s in &r.scenarios {
                let (g, name) = s.name.split_once("::").unwrap_or(("", &s.name));
                let entry = groups
                    .entry(g.to_string())
                    .or_insert_with(|| (s.area.clone(), BTreeMap::new()));
                let row = entry
                    .1
                    .entry(name.to_string())
                    .or_insert_with(|| (s.spec.clone(), vec![None; runs.len()]));
                row.1[i] = Some(s);
            }
        }
        for (g, (area, rows)) in &groups {
            let _ = writeln!(
                md,
                "\n## {}\n\n`scenarios/{g}.yaml`\n",
                area.as_deref().unwrap_or(g)
            );
            group_table(&mut md, runs, rows);
        }
        md
    }

    /// One row per server: version, date and the count of each outcome.
    fn summary_table(md: &mut String, runs: &[Results]) {
        md.push_str("| server | version | date |");
        for k in Kind::ALL {
            let _ = write!(md, " {k} |");
        }
        md.push_str("\n|---|---|---|");
        for _ in Kind::ALL {
            md.push_str("---|");
        }
        md.push('\n');
        for r in runs {
            let _ = write!(
                md,
                "| {} | {} | {} |",
                cell(r.server_name.as_deref().unwrap_or("?")),
                cell(
                    r.server_version
                        .as_deref()
                        .or(r.product.as_deref())
                        .or(r.server.as_deref())
                        .unwrap_or("?")
                ),
                r.date,
            );
            for k in Kind::ALL {
                let _ = write!(md, " {} |", r.count(k));
            }
            md.push('\n');
        }
    }

    /// python-caldav feature names, per server.
    fn features_table(md: &mut String, runs: &[Results]) {
        md.push_str(
            "\n## Features (python-caldav compatibility-hint names)\n\n\
             Decided by the MUST-level scenarios citing the sections given: full when all that ran \
             pass, broken when any fails (with how many of those that ran), unsupported when none \
             ran because the server does not advertise the feature.\n\n",
        );
        table_head(md, "feature | sections", runs);
        for (name, prefixes) in FEATURES {
            let decided_by: Vec<&str> = prefixes
                .iter()
                .map(|p| p.trim_start_matches("::").trim_end_matches(" §"))
                .collect();
            let _ = write!(md, "| `{name}` | {} |", decided_by.join(", "));
            for r in runs {
                let _ = write!(md, " {} |", feature_cell(r, prefixes));
            }
            md.push('\n');
        }
    }

    /// The table of one scenario file, then a numbered note per result that is not a pass.
    fn group_table(md: &mut String, runs: &[Results], rows: &Rows) {
        table_head(md, "scenario | spec", runs);
        let mut notes = Vec::new();
        for (name, (spec, cells)) in rows {
            let _ = write!(md, "| {} | {} |", cell(name), cell(&spec.join(", ")));
            for (i, c) in cells.iter().enumerate() {
                match c {
                    None => md.push_str(" – |"),
                    Some(s) if s.outcome == Kind::Pass => {
                        let _ = write!(md, " {} |", mark(s.outcome));
                    }
                    Some(s) => {
                        notes.push((name.clone(), i, *s));
                        let _ = write!(md, " {} [{}] |", mark(s.outcome), notes.len());
                    }
                }
            }
            md.push('\n');
        }
        if !notes.is_empty() {
            md.push('\n');
        }
        for (k, (name, i, s)) in notes.iter().enumerate() {
            let server = runs[*i].server_name.as_deref().unwrap_or("?");
            let _ = write!(
                md,
                "{}. **{server}**, `{name}`: {}",
                k + 1,
                cell(s.reason.as_deref().unwrap_or(""))
            );
            if let Some(v) = &s.violates {
                let _ = write!(md, " (violates {v})");
            }
            if let Some(u) = &s.issue {
                let _ = write!(md, " [upstream]({u})");
            }
            md.push('\n');
        }
    }
}
