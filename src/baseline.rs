//! Baselines: the expected outcome of each scenario on one server, and where a failure shows
//! (its step and the path of its first difference). A run with `--baseline` fails when any
//! outcome differs in either direction (a regression, a stale entry) or a known failure moved
//! (changed). A fail entry must name and quote what the server violates; `--write-baseline`
//! drafts entries from a run for review.

use crate::outcome::{Kind, Outcome};
use crate::scenario::{parse_yaml, spec_ref_ok, Loaded};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The server this baseline is for, e.g. "sabre/dav 1.8.12 (Debian php-sabre-dav)".
    pub server: String,
    /// Scenarios whose expected outcome is not `pass`, by trial name.
    #[serde(default)]
    pub expect: BTreeMap<String, Entry>,
}

#[derive(Debug, Deserialize, Serialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub outcome: Expected,
    /// Why: for a fail, what the server does wrong; for ignored, which feature is missing.
    pub reason: String,
    /// The section the server violates (required for fail), e.g. `RFC4791 §9.9`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violates: Option<String>,
    /// The sentence the server violates, verbatim from the `violates` section (required for
    /// fail; checked by `tests/requirements.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    /// Where the recorded deviation shows: the step label (`step 3`, `setup 1`) ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// ... and the path of its first difference (`status`, `response[href=…]/propstat[200]/…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The upstream issue or bug report, where one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
}

/// An expected outcome: one of the outcomes, or `flaky`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Is(Kind),
    /// The outcome depends on timing the server does not control well (e.g. one-second
    /// token resolution): fail, warn or pass are all accepted; the entry still names the section.
    Flaky,
}

impl Expected {
    pub const FAIL: Expected = Expected::Is(Kind::Fail);
    pub const PASS: Expected = Expected::Is(Kind::Pass);

    pub fn label(self) -> &'static str {
        match self {
            Expected::Is(k) => k.label(),
            Expected::Flaky => "flaky",
        }
    }

    /// Whether an outcome of this kind is what the entry expects (a warning needs no entry).
    pub fn accepts(self, k: Kind) -> bool {
        match self {
            Expected::Flaky => matches!(k, Kind::Pass | Kind::Fail | Kind::Warn),
            Expected::Is(Kind::Pass) => matches!(k, Kind::Pass | Kind::Warn),
            Expected::Is(w) => w == k,
        }
    }

    /// Whether the entry records where the failure shows (step and path).
    fn locates(self) -> bool {
        matches!(
            self,
            Expected::Is(Kind::Fail | Kind::Warn | Kind::Inconclusive)
        )
    }
}

impl Serialize for Expected {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for Expected {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == Expected::Flaky.label() {
            return Ok(Expected::Flaky);
        }
        Kind::from_label(&s).map(Expected::Is).ok_or_else(|| {
            let all: Vec<&str> = Kind::ALL.iter().map(|k| k.label()).collect();
            serde::de::Error::custom(format!(
                "unknown outcome {s:?}: expected one of {}, flaky",
                all.join(", ")
            ))
        })
    }
}

/// Load several baseline files of one server and merge them.
pub fn load_all(
    paths: &[std::path::PathBuf],
    scenarios: &[Loaded],
) -> Result<Baseline, Vec<String>> {
    let mut merged = Baseline::default();
    let mut errs = Vec::new();
    for p in paths {
        match load(p, scenarios) {
            Ok(b) => {
                if merged.server.is_empty() {
                    merged.server = b.server;
                }
                for (k, v) in b.expect {
                    if merged.expect.insert(k.clone(), v).is_some() {
                        errs.push(format!(
                            "{}: {k:?} is listed in another baseline file too",
                            p.display()
                        ));
                    }
                }
            }
            Err(mut e) => errs.append(&mut e),
        }
    }
    if errs.is_empty() {
        Ok(merged)
    } else {
        Err(errs)
    }
}

/// Load and validate a baseline; errors are `file:line:col: message`.
pub fn load(path: &Path, scenarios: &[Loaded]) -> Result<Baseline, Vec<String>> {
    let text = crate::embedded::read_to_string(path)
        .map_err(|e| vec![format!("{}: cannot read baseline: {e}", path.display())])?;
    let b: Baseline =
        parse_yaml(&text).map_err(|(l, c, m)| vec![format!("{}:{l}:{c}: {m}", path.display())])?;
    let lines: Vec<&str> = text.lines().collect();
    let mut errs = Vec::new();
    for (name, e) in &b.expect {
        let key = |l: &&str| {
            let t = l.trim_start();
            t.starts_with(&format!("\"{name}\":")) || t.starts_with(&format!("{name}:"))
        };
        let line = lines.iter().position(key).unwrap_or(0);
        let at = format!("{}:{}:1", path.display(), line + 1);
        if !scenarios.iter().any(|s| &s.trial_name() == name) {
            errs.push(format!("{at}: baseline entry {name:?} names no scenario"));
        }
        if let Some(i) = e.reason.contains("Observed:").then(|| {
            (line..lines.len())
                .find(|&i| lines[i].contains("Observed:"))
                .unwrap_or(line)
        }) {
            errs.push(format!(
                "{}:{}:1: {name:?}: the reason holds an observed excerpt (\"Observed:\"); say in one or two sentences what the server does wrong: what was observed is in the results file",
                path.display(),
                i + 1
            ));
        }
        for m in entry_errors(name, e) {
            errs.push(format!("{at}: {m}"));
        }
    }
    if errs.is_empty() {
        Ok(b)
    } else {
        Err(errs)
    }
}

/// What is wrong with one entry, regardless of where it is.
fn entry_errors(name: &str, e: &Entry) -> Vec<String> {
    let mut errs = Vec::new();
    if e.reason.trim().is_empty() {
        errs.push(format!("baseline entry {name:?} gives no reason"));
    }
    if e.reason.starts_with("UNREVIEWED") {
        errs.push(format!(
            "baseline entry {name:?} is an unreviewed draft: check the RFC text, then write the reason"
        ));
    }
    if matches!(e.outcome, Expected::Is(Kind::Fail) | Expected::Flaky) {
        match &e.violates {
            Some(v) if spec_ref_ok(v) => {}
            Some(v) => errs.push(format!(
                "{name:?}: `violates: {v}` is not a section reference like `RFC4791 §9.9`"
            )),
            None => errs.push(format!(
                "{name:?}: a fail or flaky entry must say which RFC section the server violates (`violates:`)"
            )),
        }
        if e.quote.as_deref().is_none_or(|q| q.trim().is_empty()) {
            errs.push(format!(
                "{name:?}: a fail or flaky entry must quote the sentence the server violates (`quote:`, verbatim from the `violates` section)"
            ));
        }
    }
    if e.outcome == Expected::PASS {
        errs.push(format!("{name:?}: `pass` is the default; remove the entry"));
    }
    errs
}

/// How one scenario's outcome compares with its baseline entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// As the baseline says (a pass without an entry, or a known deviation where it was).
    Expected,
    /// Worse than the baseline says, or another outcome.
    Regression,
    /// Better than the baseline says: the entry should go.
    Stale,
    /// The expected outcome, but at another step or another first difference.
    Changed,
}

/// The comparison of one scenario with its baseline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub mark: Mark,
    /// For anything but `Expected`: what differs, in one line.
    pub detail: String,
}

fn place(step: Option<&str>, path: Option<&str>) -> String {
    format!(
        "{} at {}",
        step.unwrap_or("(any step)"),
        path.unwrap_or("(no difference)")
    )
}

/// Compare one outcome with its entry (none: the scenario must pass).
pub fn judge(entry: Option<&Entry>, o: &Outcome) -> Judgement {
    let want = entry.map(|e| e.outcome).unwrap_or(Expected::PASS);
    let k = o.kind();
    let ok = |mark, detail| Judgement { mark, detail };
    if !want.accepts(k) {
        let better = k == Kind::Pass || (want == Expected::FAIL && k == Kind::Warn);
        if better {
            return ok(
                Mark::Stale,
                format!("baseline says {}, got {k}: remove the entry", want.label()),
            );
        }
        let why = o.reason().map(|r| format!(" ({r})")).unwrap_or_default();
        return ok(
            Mark::Regression,
            format!("expected {}, got {k}{why}", want.label()),
        );
    }
    let (Some(e), Some(f)) = (entry.filter(|e| e.outcome.locates()), o.failure()) else {
        return ok(Mark::Expected, String::new());
    };
    let step_moved = e.step.as_deref().is_some_and(|s| s != f.step);
    let path_moved = e.path.as_deref().is_some_and(|p| Some(p) != f.first_path());
    if step_moved || path_moved {
        return ok(
            Mark::Changed,
            format!(
                "baseline says {}, got {}",
                place(e.step.as_deref(), e.path.as_deref()),
                place(Some(&f.step), f.first_path())
            ),
        );
    }
    ok(Mark::Expected, String::new())
}

/// Differences between a run and its baseline: (scenario, detail) in each list.
#[derive(Debug, Default)]
pub struct Comparison {
    pub regressions: Vec<(String, String)>,
    pub stale: Vec<(String, String)>,
    pub changed: Vec<(String, String)>,
}

impl Comparison {
    pub fn is_clean(&self) -> bool {
        self.regressions.is_empty() && self.stale.is_empty() && self.changed.is_empty()
    }

    /// The lists, one scenario a line, each under a heading that says what to do.
    pub fn render(&self, file: &str) -> String {
        let mut s = String::new();
        let groups = [
            (
                "regression",
                "REGRESSIONS against baseline",
                "",
                &self.regressions,
            ),
            (
                "stale",
                "STALE entries in baseline",
                ": the server now does better; remove them",
                &self.stale,
            ),
            (
                "changed",
                "CHANGED failures against baseline",
                ": the failure shows at another step or path; check them and update step/path",
                &self.changed,
            ),
        ];
        for (word, head, hint, list) in groups {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(s, "{head} {file} ({}){hint}:", list.len());
            for (n, d) in list {
                let _ = writeln!(s, "  {word}: {n}: {d}");
            }
        }
        s
    }
}

/// Compare the outcomes of the scenarios that ran with the baseline.
pub fn compare<'a>(
    b: &Baseline,
    outcomes: impl Iterator<Item = (&'a String, &'a Outcome)>,
) -> Comparison {
    let mut c = Comparison::default();
    for (name, o) in outcomes {
        let j = judge(b.expect.get(name), o);
        let list = match j.mark {
            Mark::Expected => continue,
            Mark::Regression => &mut c.regressions,
            Mark::Stale => &mut c.stale,
            Mark::Changed => &mut c.changed,
        };
        list.push((name.clone(), j.detail));
    }
    c
}

/// Draft a baseline from a run: entries whose outcome still holds keep their reviewed reason,
/// section, quote and issue; step and path are taken from the run.
pub fn draft<'a>(
    old: Option<&Baseline>,
    server: &str,
    scenarios: &[Loaded],
    outcomes: impl Iterator<Item = (&'a String, &'a Outcome)>,
) -> Baseline {
    let mut b = Baseline {
        server: old
            .map(|o| o.server.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| server.to_string()),
        expect: BTreeMap::new(),
    };
    for (name, o) in outcomes {
        let prev = old
            .and_then(|b| b.expect.get(name))
            .filter(|e| e.outcome != Expected::PASS && e.outcome.accepts(o.kind()));
        let mut e = match (prev, o) {
            (Some(p), _) => p.clone(),
            (None, Outcome::Pass) => continue,
            (None, _) => new_entry(scenarios, name, o),
        };
        if let Some(f) = o.failure().filter(|_| e.outcome.locates()) {
            e.step = Some(f.step.clone());
            e.path = f.first_path().map(str::to_string);
        }
        b.expect.insert(name.clone(), e);
    }
    b
}

fn new_entry(scenarios: &[Loaded], name: &str, o: &Outcome) -> Entry {
    let outcome = Expected::Is(o.kind());
    let sc = scenarios
        .iter()
        .find(|s| s.trial_name() == name)
        .map(|s| &s.scenario);
    let fail = outcome == Expected::FAIL;
    Entry {
        outcome,
        reason: format!("UNREVIEWED: {}", o.reason().unwrap_or_default()),
        violates: sc.and_then(|s| s.spec.first().cloned()).filter(|_| fail),
        quote: sc.filter(|s| fail && s.spec.len() == 1).map(|s| {
            s.requirement
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        }),
        step: None,
        path: None,
        issue: None,
    }
}

/// Render a baseline as YAML with a header comment.
pub fn to_yaml(b: &Baseline) -> String {
    let body = serde_saphyr::to_string(b).unwrap_or_default();
    format!(
        "# Expected outcomes of caldav-conformance on this server; anything not listed must pass.\n\
         # A fail entry names and quotes the RFC sentence violated. Check the RFC text before adding one.\n{body}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::Diff;
    use crate::outcome::Failure;

    fn fail_at(step: &str, path: &str) -> Failure {
        let mut f = Failure::new(step, "the response differs from the expectation");
        f.diffs.push(Diff {
            path: path.into(),
            expected: "201".into(),
            got: "500".into(),
        });
        f
    }

    fn entry(outcome: Expected, step: Option<&str>, path: Option<&str>) -> Entry {
        Entry {
            outcome,
            reason: "r".into(),
            violates: Some("RFC4791 §9.9".into()),
            quote: Some("q".into()),
            step: step.map(Into::into),
            path: path.map(Into::into),
            issue: None,
        }
    }

    #[test]
    fn compare_reports_every_direction() {
        let mut b = Baseline {
            server: "x".into(),
            expect: BTreeMap::new(),
        };
        let known = entry(Expected::FAIL, Some("step 2"), Some("status"));
        b.expect.insert("a::known".into(), known.clone());
        b.expect.insert("a::moved".into(), known.clone());
        b.expect.insert("a::fixed".into(), known);
        b.expect.insert(
            "a::setup".into(),
            entry(Expected::Is(Kind::Inconclusive), None, None),
        );
        let outcomes: Vec<(String, Outcome)> = vec![
            (
                "a::known".into(),
                Outcome::Fail(fail_at("step 2", "status")),
            ),
            (
                "a::moved".into(),
                Outcome::Fail(fail_at("step 3", "header[ETag]")),
            ),
            ("a::fixed".into(), Outcome::Pass),
            ("a::new".into(), Outcome::Fail(fail_at("step 1", "status"))),
            ("a::ok".into(), Outcome::Pass),
            ("a::warned".into(), Outcome::Warn(fail_at("step 1", "x"))),
            (
                "a::setup".into(),
                Outcome::Inconclusive(fail_at("setup 1", "status")),
            ),
            (
                "a::unknown-setup".into(),
                Outcome::Inconclusive(fail_at("setup 1", "status")),
            ),
        ];
        let c = compare(&b, outcomes.iter().map(|(n, o)| (n, o)));
        let names = |l: &Vec<(String, String)>| l.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&c.regressions), ["a::new", "a::unknown-setup"]);
        assert_eq!(
            c.regressions[0].1,
            "expected pass, got fail (step 1: status: expected 201, got 500)"
        );
        assert_eq!(names(&c.stale), ["a::fixed"]);
        assert_eq!(names(&c.changed), ["a::moved"]);
        assert_eq!(
            c.changed[0].1,
            "baseline says step 2 at status, got step 3 at header[ETag]"
        );
        assert!(!c.is_clean());
        assert!(c.render("f").contains("changed: a::moved: baseline says"));
        let d = draft(Some(&b), "srv", &[], outcomes.iter().map(|(n, o)| (n, o)));
        assert_eq!(d.expect["a::known"].reason, "r");
        assert_eq!(d.expect["a::moved"].step.as_deref(), Some("step 3"));
        assert_eq!(d.expect["a::moved"].path.as_deref(), Some("header[ETag]"));
        assert!(d.expect["a::new"].reason.starts_with("UNREVIEWED"));
        assert_eq!(d.expect["a::new"].step.as_deref(), Some("step 1"));
        assert!(!d.expect.contains_key("a::fixed"));
        let y = to_yaml(&d);
        let back: Baseline = parse_yaml(y.split_once('\n').map(|x| x.1).unwrap_or(&y)).unwrap();
        assert_eq!(back.expect.len(), d.expect.len());
        assert_eq!(
            back.expect["a::setup"].outcome,
            Expected::Is(Kind::Inconclusive)
        );
    }

    #[test]
    fn fail_entries_need_a_quote_and_reasons_no_observed_excerpt() {
        let mut e = entry(Expected::FAIL, None, None);
        assert!(entry_errors("n", &e).is_empty());
        e.quote = Some("  ".into());
        assert!(entry_errors("n", &e)[0].contains("quote"));
        let dir = std::env::temp_dir().join(format!("ccf-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("b.yaml");
        std::fs::write(
            &p,
            "server: s\nexpect:\n  \"a::b\":\n    outcome: warn\n    reason: \"x. Observed: y\"\n",
        )
        .unwrap();
        let errs = load(&p, &[]).unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.contains("b.yaml:5:1") && e.contains("Observed:")),
            "{errs:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
