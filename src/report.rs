//! Reporting: JUnit XML for CI systems and a JSON results file (per-scenario outcome, spec
//! references, server header and date) that baselines and the conformance matrix are built from.

use crate::discovery::Discovered;
use crate::runner::Outcome;
use crate::scenario::Loaded;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    pub tool: String,
    pub date: String,
    pub server: Option<String>,
    pub home: String,
    pub features: Vec<String>,
    pub scenarios: Vec<ScenarioResult>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub name: String,
    pub spec: Vec<String>,
    pub level: String,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub millis: u128,
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
        let message = match o {
            Outcome::Pass => None,
            Outcome::Fail(m) | Outcome::Ignored(m) | Outcome::Warn(m) => Some(m.clone()),
        };
        list.push(ScenarioResult {
            name: l.trial_name(),
            spec: l.scenario.spec.clone(),
            level: l.scenario.level.to_string(),
            outcome: o.label().to_string(),
            message,
            millis: d.as_millis(),
        });
    }
    Results {
        tool: concat!("caldav-conformance ", env!("CARGO_PKG_VERSION")).to_string(),
        date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
        server: disc.server.clone(),
        home: disc.home.path().to_string(),
        features: disc.features.iter().cloned().collect(),
        scenarios: list,
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML as GitHub Actions and GitLab ingest it: one testsuite per scenario file.
pub fn junit(r: &Results) -> String {
    let mut suites: BTreeMap<&str, Vec<&ScenarioResult>> = BTreeMap::new();
    for s in &r.scenarios {
        let group = s.name.split("::").next().unwrap_or("");
        suites.entry(group).or_default().push(s);
    }
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"caldav-conformance\">\n",
    );
    for (g, list) in suites {
        let fails = list.iter().filter(|s| s.outcome == "fail").count();
        let skipped = list.iter().filter(|s| s.outcome == "ignored").count();
        let time: u128 = list.iter().map(|s| s.millis).sum();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\" skipped=\"{skipped}\" time=\"{:.3}\">",
            esc(g),
            list.len(),
            time as f64 / 1000.0
        );
        for s in list {
            let _ = write!(
                x,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                esc(g),
                esc(s.name.split("::").nth(1).unwrap_or(&s.name)),
                s.millis as f64 / 1000.0
            );
            let msg = s.message.as_deref().unwrap_or("");
            let first = msg.lines().next().unwrap_or("");
            match s.outcome.as_str() {
                "fail" => {
                    let _ = writeln!(
                        x,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        esc(first),
                        esc(msg)
                    );
                }
                "ignored" => {
                    let _ = writeln!(
                        x,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        esc(first)
                    );
                }
                "warn" => {
                    let _ = writeln!(
                        x,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        esc(msg)
                    );
                }
                _ => x.push_str("/>\n"),
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_is_well_formed_and_escaped() {
        let r = Results {
            tool: "t".into(),
            date: "d".into(),
            server: None,
            home: "/".into(),
            features: vec![],
            scenarios: vec![
                ScenarioResult {
                    name: "rfc4791/a::x".into(),
                    spec: vec![],
                    level: "MUST".into(),
                    outcome: "fail".into(),
                    message: Some("a <b> & \"c\"\nmore".into()),
                    millis: 5,
                },
                ScenarioResult {
                    name: "rfc4791/a::y".into(),
                    spec: vec![],
                    level: "MUST".into(),
                    outcome: "pass".into(),
                    message: None,
                    millis: 1,
                },
            ],
        };
        let x = junit(&r);
        assert!(crate::xml::parse(x.as_bytes()).is_ok(), "{x}");
        assert!(x.contains("failures=\"1\"") && x.contains("&lt;b&gt; &amp;"));
    }
}
