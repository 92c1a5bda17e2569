//! The result model: the outcome of one scenario and, when it did not pass, a typed `Failure`
//! (the step, where it is in the scenario file, the structured differences, the unified diff and
//! the redacted exchange). Every text rendering of a failure is made here, so the console, the
//! JSON results, JUnit and the matrix all show the same data.

use crate::matching::Diff;
use crate::scenario::Level;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// What happened to a scenario, without the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The requirement holds.
    Pass,
    /// A MUST-level requirement broken at a step that checks it.
    Fail,
    /// A SHOULD/MAY-level requirement not met (a failure only with --strict).
    Warn,
    /// The situation under test could not be set up (a setup step failed, the suite refused to
    /// send a request, or the teardown/cleanup failed after the steps passed).
    Inconclusive,
    /// Not run: a required feature is not advertised, or --read-only.
    Ignored,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Pass,
        Kind::Fail,
        Kind::Warn,
        Kind::Inconclusive,
        Kind::Ignored,
    ];

    /// The label used everywhere: results, baselines, JUnit, the matrix.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Pass => "pass",
            Kind::Fail => "fail",
            Kind::Warn => "warn",
            Kind::Inconclusive => "inconclusive",
            Kind::Ignored => "ignored",
        }
    }

    pub fn from_label(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.label() == s)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Kind::from_label(&s).ok_or_else(|| {
            let all: Vec<&str> = Kind::ALL.iter().map(|k| k.label()).collect();
            serde::de::Error::custom(format!(
                "unknown outcome {s:?}: expected one of {}",
                all.join(", ")
            ))
        })
    }
}

/// Where and how a scenario did not pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The step: `setup 1`, `step 3`, `teardown 1`, `scratch` (creating the scratch calendar),
    /// `cleanup` (deleting it), `oracle`, or `scenario` (before any step).
    pub step: String,
    /// The step in the scenario file: `scenarios/rfc4791/x.yaml:42`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The request method of the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The request path as the scenario writes it (`a.ics`, `{calendar}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The step's own description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// What went wrong, in one line.
    pub summary: String,
    /// Inconclusive only: why the scenario could not be evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Every difference, addressed by path (the first one locates a baseline entry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<Diff>,
    /// A unified diff of the canonical expected and actual forms (complete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unified: Option<String>,
    /// The request and response, credentials redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Further problems after the first (a teardown or cleanup that failed as well).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    /// The scenario's spec references, requirement and level.
    pub spec: Vec<String>,
    pub requirement: String,
    pub level: Level,
    /// The scenario's one-line description.
    pub about: String,
    /// The scenario's note: what the requirement means in practice, the likely cause of a
    /// failure (e.g. a reverse proxy that drops a header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// With `repeat:`: the round the failure happened in (`ran`), and the scenario's bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<Rounds>,
}

/// For a scenario with `repeat:`: how many rounds ran (a failure stops at its round), and
/// the least and most the scenario runs (equal for a fixed count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rounds {
    pub ran: u32,
    pub min: u32,
    pub max: u32,
}

impl std::fmt::Display for Rounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.min == self.max {
            write!(f, "round {} of {}", self.ran, self.max)
        } else {
            write!(
                f,
                "round {} ({} to {} rounds)",
                self.ran, self.min, self.max
            )
        }
    }
}

/// How much of a failure the console shows; the JSON results keep everything.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub diffs: usize,
    pub unified_lines: usize,
}

impl Limits {
    pub const CONSOLE: Limits = Limits {
        diffs: 20,
        unified_lines: 200,
    };
    pub const FULL: Limits = Limits {
        diffs: usize::MAX,
        unified_lines: usize::MAX,
    };
}

/// The longest one-line reason kept for tables.
const REASON_CHARS: usize = 240;

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut e = max;
    while !s.is_char_boundary(e) {
        e -= 1;
    }
    format!("{}…", &s[..e])
}

impl Failure {
    /// A failure with only a step label and a summary; the rest is filled by the caller.
    pub fn new(step: impl Into<String>, summary: impl Into<String>) -> Failure {
        Failure {
            step: step.into(),
            location: None,
            method: None,
            path: None,
            desc: None,
            summary: summary.into(),
            cause: None,
            diffs: Vec::new(),
            unified: None,
            exchange: None,
            also: Vec::new(),
            spec: Vec::new(),
            requirement: String::new(),
            level: Level::Must,
            about: String::new(),
            rounds: None,
            note: None,
        }
    }

    /// The path of the first difference: where a baseline records the deviation.
    pub fn first_path(&self) -> Option<&str> {
        self.diffs.first().map(|d| d.path.as_str())
    }

    /// `step 3 (PUT a.ics: create the event)`, `step 1, round 4 of 20 (…)`
    pub fn step_title(&self) -> String {
        let mut s = self.step.clone();
        if let Some(r) = self.rounds {
            let _ = write!(s, ", {r}");
        }
        let req = match (&self.method, &self.path) {
            (Some(m), Some(p)) if p.is_empty() => format!("{m} {{calendar}}"),
            (Some(m), Some(p)) => format!("{m} {p}"),
            (Some(m), None) => m.clone(),
            _ => String::new(),
        };
        let desc = self.desc.as_deref().unwrap_or("");
        match (req.is_empty(), desc.is_empty()) {
            (true, true) => {}
            (false, true) => {
                let _ = write!(s, " ({req})");
            }
            (true, false) => {
                let _ = write!(s, " ({desc})");
            }
            (false, false) => {
                let _ = write!(s, " ({req}: {desc})");
            }
        }
        s
    }

    /// One line for tables and the matrix: the cause of an inconclusive, else the step and its
    /// first difference (or its summary).
    pub fn reason(&self) -> String {
        let line = match (&self.cause, self.diffs.first()) {
            (Some(c), _) if c.starts_with(&self.step) => c.clone(),
            (Some(c), _) => format!("{}: {c}", self.step),
            (None, Some(d)) => format!("{}: {d}", self.step),
            (None, None) => format!("{}: {}", self.step, self.summary),
        };
        clip(line.lines().next().unwrap_or(""), REASON_CHARS)
    }

    /// The full text of the failure, shortened to `limits`; an inconclusive one (which has a
    /// cause) starts with `inconclusive:` and its cause.
    pub fn render(&self, limits: Limits) -> String {
        let mut s = match &self.cause {
            Some(c) => format!("inconclusive: {c}\n"),
            None => String::new(),
        };
        let _ = write!(
            s,
            "{} [{}]: {}\n  requirement: {}\n",
            self.spec.join(", "),
            self.level,
            self.about,
            self.requirement
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
        if let Some(n) = &self.note {
            let n = n.split_whitespace().collect::<Vec<_>>().join(" ");
            let _ = writeln!(s, "  note: {n}");
        }
        let _ = write!(s, "{}", self.step_title());
        if let Some(l) = &self.location {
            let _ = write!(s, " at {l}");
        }
        let _ = writeln!(s, ": {}", self.summary);
        self.render_diffs(&mut s, limits);
        if !self.also.is_empty() {
            s.push_str("  also:\n");
            for a in &self.also {
                let _ = writeln!(s, "    - {a}");
            }
        }
        if let Some(x) = &self.exchange {
            s.push_str("  exchange:\n");
            for l in x.lines() {
                let _ = writeln!(s, "    {l}");
            }
        }
        s
    }

    fn render_diffs(&self, s: &mut String, limits: Limits) {
        if !self.diffs.is_empty() {
            s.push_str("  differences:\n");
            for d in self.diffs.iter().take(limits.diffs) {
                let _ = writeln!(s, "    - {d}");
            }
            if self.diffs.len() > limits.diffs {
                let _ = writeln!(
                    s,
                    "    … and {} more differences (all of them are in the --results JSON)",
                    self.diffs.len() - limits.diffs
                );
            }
        }
        if let Some(u) = &self.unified {
            s.push_str("  diff (canonical forms):\n");
            let total = u.lines().count();
            for l in u.lines().take(limits.unified_lines) {
                let _ = writeln!(s, "    {l}");
            }
            if total > limits.unified_lines {
                let _ = writeln!(
                    s,
                    "    … {} more lines of diff (the whole diff is in the --results JSON)",
                    total - limits.unified_lines
                );
            }
        }
    }
}

/// The outcome of one scenario, as recorded for reports and baselines.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass,
    Fail(Failure),
    /// A SHOULD/MAY-level requirement not met (a failure only with --strict).
    Warn(Failure),
    /// The situation under test could not be set up; never scored against the server.
    Inconclusive(Failure),
    /// Not run, with the reason (a feature the server does not advertise, --read-only).
    Ignored(String),
}

impl Outcome {
    pub fn kind(&self) -> Kind {
        match self {
            Outcome::Pass => Kind::Pass,
            Outcome::Fail(_) => Kind::Fail,
            Outcome::Warn(_) => Kind::Warn,
            Outcome::Inconclusive(_) => Kind::Inconclusive,
            Outcome::Ignored(_) => Kind::Ignored,
        }
    }

    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Fail(f) | Outcome::Warn(f) | Outcome::Inconclusive(f) => Some(f),
            Outcome::Pass | Outcome::Ignored(_) => None,
        }
    }

    /// One line: why the scenario did not pass (None for a pass).
    pub fn reason(&self) -> Option<String> {
        match self {
            Outcome::Pass => None,
            Outcome::Ignored(r) => Some(clip(r, REASON_CHARS)),
            Outcome::Fail(f) | Outcome::Warn(f) | Outcome::Inconclusive(f) => Some(f.reason()),
        }
    }

    /// The text shown for a scenario that did not pass; an inconclusive one starts with
    /// `inconclusive:` and its cause.
    pub fn render(&self, limits: Limits) -> String {
        match self {
            Outcome::Pass => String::new(),
            Outcome::Ignored(r) => r.clone(),
            Outcome::Fail(f) | Outcome::Warn(f) | Outcome::Inconclusive(f) => f.render(limits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_serde() {
        for k in Kind::ALL {
            let j = serde_json::to_string(&k).unwrap();
            assert_eq!(j, format!("\"{}\"", k.label()));
            assert_eq!(serde_json::from_str::<Kind>(&j).unwrap(), k);
        }
        assert!(serde_json::from_str::<Kind>("\"passed\"").is_err());
    }

    #[test]
    fn console_rendering_is_capped_and_full_rendering_is_not() {
        let mut f = Failure::new("step 2", "the response differs from the expectation");
        f.diffs = (0..50)
            .map(|i| Diff {
                path: format!("response[href={{calendar}}{i}.ics]"),
                expected: "(absent)".into(),
                got: "present".into(),
            })
            .collect();
        f.unified = Some((0..500).map(|i| format!("+line {i}\n")).collect());
        let short = f.render(Limits::CONSOLE);
        assert!(short.contains("… and 30 more differences"), "{short}");
        assert!(short.contains("… 300 more lines of diff"), "{short}");
        let full = f.render(Limits::FULL);
        assert!(full.contains("49.ics") && full.contains("+line 499"));
        assert_eq!(f.first_path(), Some("response[href={calendar}0.ics]"));
        let o = Outcome::Inconclusive(Failure {
            cause: Some("the server refuses X".into()),
            ..f
        });
        assert!(o
            .render(Limits::CONSOLE)
            .starts_with("inconclusive: the server refuses X"));
        assert_eq!(o.reason().as_deref(), Some("step 2: the server refuses X"));
    }
}
