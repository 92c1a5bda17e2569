//! Baselines: the expected outcome of each scenario on one server (pass, fail, ignored, warn).
//! A run with `--baseline` fails when any outcome differs in either direction: a new failure is
//! a regression, an unexpected pass is a stale entry. A fail entry must name the RFC section the
//! server violates and why; `--write-baseline` drafts entries from a run for review.

use crate::runner::Outcome;
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

#[derive(Debug, Deserialize, Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    Pass,
    Fail,
    Ignored,
    Warn,
    /// The outcome depends on timing the server does not control well (e.g. one-second
    /// token resolution): fail or pass are both accepted; the entry still names the section.
    Flaky,
}

impl Expected {
    pub fn matches(self, o: &Outcome) -> bool {
        matches!(
            (self, o),
            (
                Expected::Flaky,
                Outcome::Pass | Outcome::Fail(_) | Outcome::Warn(_)
            ) | (Expected::Pass, Outcome::Pass)
                | (Expected::Pass, Outcome::Warn(_))
                | (Expected::Warn, Outcome::Warn(_))
                | (Expected::Fail, Outcome::Fail(_))
                | (Expected::Ignored, Outcome::Ignored(_))
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Expected::Pass => "pass",
            Expected::Fail => "fail",
            Expected::Ignored => "ignored",
            Expected::Warn => "warn",
            Expected::Flaky => "flaky",
        }
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
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![format!("{}: cannot read baseline: {e}", path.display())])?;
    let b: Baseline =
        parse_yaml(&text).map_err(|(l, c, m)| vec![format!("{}:{l}:{c}: {m}", path.display())])?;
    let mut errs = Vec::new();
    for (name, e) in &b.expect {
        let line = text
            .lines()
            .position(|l| l.contains(name.as_str()))
            .map(|i| i + 1)
            .unwrap_or(1);
        let at = format!("{}:{line}:1", path.display());
        if !scenarios.iter().any(|s| &s.trial_name() == name) {
            errs.push(format!("{at}: baseline entry {name:?} names no scenario"));
        }
        if e.reason.trim().is_empty() {
            errs.push(format!("{at}: baseline entry {name:?} gives no reason"));
        }
        if e.reason.starts_with("UNREVIEWED") {
            errs.push(format!(
                "{at}: baseline entry {name:?} is an unreviewed draft: check the RFC text, then write the reason"
            ));
        }
        if matches!(e.outcome, Expected::Fail | Expected::Flaky) {
            match &e.violates {
                Some(v) if spec_ref_ok(v) => {}
                Some(v) => errs.push(format!(
                    "{at}: {name:?}: `violates: {v}` is not a section reference like `RFC4791 §9.9`"
                )),
                None => errs.push(format!(
                    "{at}: {name:?}: a fail or flaky entry must say which RFC section the server violates (`violates:`)"
                )),
            }
        }
        if e.outcome == Expected::Pass {
            errs.push(format!(
                "{at}: {name:?}: `pass` is the default; remove the entry"
            ));
        }
    }
    if errs.is_empty() {
        Ok(b)
    } else {
        Err(errs)
    }
}

/// Differences between a run and its baseline.
#[derive(Debug, Default)]
pub struct Comparison {
    /// (scenario, expected, got, detail)
    pub regressions: Vec<(String, String, String, String)>,
    pub stale: Vec<(String, String, String)>,
}

impl Comparison {
    pub fn is_clean(&self) -> bool {
        self.regressions.is_empty() && self.stale.is_empty()
    }

    pub fn render(&self, file: &str) -> String {
        let mut s = String::new();
        if !self.regressions.is_empty() {
            let _ = writeln!(
                s,
                "REGRESSIONS against baseline {} ({}):",
                file,
                self.regressions.len()
            );
            for (n, e, g, d) in &self.regressions {
                let _ = writeln!(
                    s,
                    "  regression: {n}: expected {e}, got {g}{}",
                    if d.is_empty() {
                        String::new()
                    } else {
                        format!(" ({d})")
                    }
                );
            }
        }
        if !self.stale.is_empty() {
            let _ = writeln!(
                s,
                "STALE baseline entries in {} ({}): the server now does better; remove them:",
                file,
                self.stale.len()
            );
            for (n, e, g) in &self.stale {
                let _ = writeln!(s, "  stale: {n}: baseline says {e}, got {g}");
            }
        }
        s
    }
}

fn first_line(o: &Outcome) -> String {
    match o {
        Outcome::Pass => String::new(),
        Outcome::Fail(m) | Outcome::Warn(m) | Outcome::Ignored(m) => m
            .lines()
            .find(|l| l.trim_start().starts_with("- "))
            .or_else(|| m.lines().next())
            .unwrap_or("")
            .trim()
            .trim_start_matches("- ")
            .to_string(),
    }
}

/// Compare the outcomes of the scenarios that ran with the baseline.
pub fn compare<'a>(
    b: &Baseline,
    outcomes: impl Iterator<Item = (&'a String, &'a Outcome)>,
) -> Comparison {
    let mut c = Comparison::default();
    for (name, o) in outcomes {
        let want = b
            .expect
            .get(name)
            .map(|e| e.outcome)
            .unwrap_or(Expected::Pass);
        if want.matches(o) {
            continue;
        }
        let got = o.label().to_string();
        let better =
            matches!(o, Outcome::Pass) || (want == Expected::Fail && matches!(o, Outcome::Warn(_)));
        if better {
            c.stale.push((name.clone(), want.label().into(), got));
        } else {
            c.regressions
                .push((name.clone(), want.label().into(), got, first_line(o)));
        }
    }
    c
}

/// Draft a baseline from a run, keeping reviewed reasons of entries that still hold.
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
        let outcome = match o {
            Outcome::Pass => continue,
            Outcome::Fail(_) => Expected::Fail,
            Outcome::Ignored(_) => Expected::Ignored,
            Outcome::Warn(_) => Expected::Warn,
        };
        if let Some(prev) = old
            .and_then(|o| o.expect.get(name))
            .filter(|e| e.outcome == outcome)
        {
            b.expect.insert(name.clone(), prev.clone());
            continue;
        }
        let spec = scenarios
            .iter()
            .find(|s| &s.trial_name() == name)
            .and_then(|s| s.scenario.spec.first().cloned());
        b.expect.insert(
            name.clone(),
            Entry {
                outcome,
                reason: format!("UNREVIEWED: {}", first_line(o)),
                violates: if outcome == Expected::Fail {
                    spec
                } else {
                    None
                },
                quote: None,
                step: None,
                path: None,
                issue: None,
            },
        );
    }
    b
}

/// Render a baseline as YAML with a header comment.
pub fn to_yaml(b: &Baseline) -> String {
    let body = serde_saphyr::to_string(b).unwrap_or_default();
    format!(
        "# Expected outcomes of caldav-conformance on this server; anything not listed must pass.\n\
         # A fail entry names the RFC section violated. Check the RFC text before adding one.\n{body}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_reports_both_directions() {
        let mut b = Baseline {
            server: "x".into(),
            expect: BTreeMap::new(),
        };
        b.expect.insert(
            "a::known".into(),
            Entry {
                outcome: Expected::Fail,
                reason: "r".into(),
                violates: Some("RFC4791 §9.9".into()),
                quote: None,
                step: None,
                path: None,
                issue: None,
            },
        );
        b.expect.insert(
            "a::fixed".into(),
            Entry {
                outcome: Expected::Fail,
                reason: "r".into(),
                violates: Some("RFC4791 §9.9".into()),
                quote: None,
                step: None,
                path: None,
                issue: None,
            },
        );
        let outcomes: Vec<(String, Outcome)> = vec![
            ("a::known".into(), Outcome::Fail("x".into())),
            ("a::fixed".into(), Outcome::Pass),
            (
                "a::new".into(),
                Outcome::Fail("y\n    - status: expected 201, got 500".into()),
            ),
            ("a::ok".into(), Outcome::Pass),
            ("a::warned".into(), Outcome::Warn("w".into())),
        ];
        let c = compare(&b, outcomes.iter().map(|(n, o)| (n, o)));
        assert_eq!(c.regressions.len(), 1);
        assert_eq!(c.regressions[0].0, "a::new");
        assert_eq!(c.regressions[0].3, "status: expected 201, got 500");
        assert_eq!(c.stale.len(), 1);
        assert_eq!(c.stale[0].0, "a::fixed");
        assert!(!c.is_clean());
        let d = draft(Some(&b), "srv", &[], outcomes.iter().map(|(n, o)| (n, o)));
        assert_eq!(d.expect["a::known"].reason, "r");
        assert!(d.expect["a::new"].reason.starts_with("UNREVIEWED"));
        assert!(!d.expect.contains_key("a::fixed"));
        let y = to_yaml(&d);
        let back: Baseline = parse_yaml(y.split_once('\n').map(|x| x.1).unwrap_or(&y)).unwrap();
        assert_eq!(back.expect.len(), d.expect.len());
    }
}
