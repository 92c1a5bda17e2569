//! The coverage table: from the scenario files alone, each cited spec section with the
//! scenarios and the number of assertion-bearing steps that cite it, grouped by RFC.

use crate::scenario::{Loaded, Step};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Serialize)]
pub struct Section {
    pub section: String,
    pub scenarios: Vec<String>,
    pub steps: usize,
}

#[derive(Debug, Serialize)]
pub struct Coverage {
    pub documents: BTreeMap<String, Vec<Section>>,
    pub scenarios: usize,
    pub assertion_steps: usize,
}

/// A step asserts something when it states an expectation, captures a value or checks one.
pub fn asserts(st: &Step) -> bool {
    let e = &st.expect;
    e.status.is_some()
        || !e.headers.is_empty()
        || e.error.is_some()
        || e.multistatus.is_some()
        || e.calendar.is_some()
        || !st.check.is_empty()
        || st.concurrent.is_some()
}

fn section_key(s: &str) -> (String, Vec<u32>) {
    let (doc, sec) = s.split_once(" §").unwrap_or((s, ""));
    (
        doc.to_string(),
        sec.split('.')
            .map(|p| p.parse().unwrap_or(u32::MAX))
            .collect(),
    )
}

pub fn compute(scenarios: &[Loaded]) -> Coverage {
    let mut by: BTreeMap<String, BTreeMap<String, (Vec<String>, usize)>> = BTreeMap::new();
    let mut total = 0;
    for l in scenarios {
        let n = l
            .scenario
            .steps
            .iter()
            .filter(|s| asserts(&s.value))
            .count();
        total += n;
        for sec in &l.scenario.spec {
            let (doc, _) = section_key(sec);
            let e = by.entry(doc).or_default().entry(sec.clone()).or_default();
            e.0.push(l.trial_name());
            e.1 += n;
        }
    }
    let documents = by
        .into_iter()
        .map(|(doc, secs)| {
            let mut v: Vec<Section> = secs
                .into_iter()
                .map(|(section, (scenarios, steps))| Section {
                    section,
                    scenarios,
                    steps,
                })
                .collect();
            v.sort_by_key(|s| section_key(&s.section).1);
            (doc, v)
        })
        .collect();
    Coverage {
        documents,
        scenarios: scenarios.len(),
        assertion_steps: total,
    }
}

pub fn render(c: &Coverage) -> String {
    let mut s = String::new();
    for (doc, secs) in &c.documents {
        let steps: usize = secs.iter().map(|x| x.steps).sum();
        let _ = writeln!(
            s,
            "{doc}  ({} sections, {steps} assertion steps citing it)",
            secs.len()
        );
        for sec in secs {
            let _ = writeln!(
                s,
                "  {:<24} {:>3} steps  {}",
                sec.section,
                sec.steps,
                sec.scenarios.join(", ")
            );
        }
    }
    let _ = writeln!(
        s,
        "total: {} scenarios, {} assertion-bearing steps (a step citing several sections counts once in the total)",
        c.scenarios, c.assertion_steps
    );
    s
}
