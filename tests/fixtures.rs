//! Every body the suite sends must itself be valid, so that a server is never blamed for the
//! suite's own mistake: each iCalendar fixture and inline iCalendar body parses and has VERSION
//! and PRODID, and UID and DTSTAMP in every VEVENT, VTODO, VJOURNAL and VFREEBUSY (RFC 5545
//! §3.6, §3.7.3, §3.7.4); each XML fixture and inline XML body is well-formed.
//! Bodies meant to be refused (fixtures named `invalid-*`, inline bodies of steps that expect a
//! 4xx answer) are exempt.

use caldav_conformance::{ical, scenario, template, xml};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Substitute every variable with a plausible value so that templates can be parsed.
fn render(text: &str) -> String {
    let mut vars = BTreeMap::new();
    for v in template::variables(text) {
        let val = if v.starts_with("today") {
            "20300101".to_string()
        } else if v.starts_with("now") {
            "20300101T100000Z".to_string()
        } else {
            format!("/x/{v}/")
        };
        vars.insert(v, val);
    }
    template::render(text, &vars)
}

fn check_ical(text: &str) -> Result<(), String> {
    let cal = ical::parse(&render(text))?;
    for p in ["VERSION", "PRODID"] {
        if cal.prop(p).is_none() {
            return Err(format!("VCALENDAR lacks {p} (RFC 5545 §3.6)"));
        }
    }
    if cal.subs.is_empty() {
        return Err("VCALENDAR holds no component".into());
    }
    for kind in ["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"] {
        let mut found = Vec::new();
        cal.find_all(kind, &mut found);
        for c in found {
            for p in ["UID", "DTSTAMP"] {
                if c.prop(p).is_none() {
                    return Err(format!("a {kind} lacks {p} (RFC 5545 §3.6.1/§3.6.2)"));
                }
            }
        }
    }
    Ok(())
}

fn check_xml(text: &str) -> Result<(), String> {
    xml::parse(render(text).as_bytes()).map(|_| ())
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

#[test]
fn every_fixture_is_valid() {
    let mut all = Vec::new();
    files(&root().join("fixtures"), &mut all);
    assert!(!all.is_empty(), "no fixtures found");
    let mut errors = Vec::new();
    let mut checked = 0;
    for f in all {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("invalid-") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let res = match f.extension().and_then(|e| e.to_str()) {
            Some("ics") => check_ical(&text),
            Some("xml") => check_xml(&text),
            _ => continue,
        };
        checked += 1;
        if let Err(e) = res {
            errors.push(format!("{}: {e}", f.display()));
        }
    }
    assert!(checked > 0);
    assert!(
        errors.is_empty(),
        "invalid fixtures:\n{}",
        errors.join("\n")
    );
}

#[test]
fn every_inline_body_is_valid() {
    let loaded = scenario::load_dir(&root().join("scenarios"), &root().join("fixtures"))
        .unwrap_or_else(|e| {
            panic!(
                "scenarios do not load: {}",
                e.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
    let mut errors = Vec::new();
    for l in &loaded {
        let s = &l.scenario;
        for st in s.setup.iter().chain(&s.steps).chain(&s.teardown) {
            let Some(body) = &st.value.body else { continue };
            let refused = match &st.value.expect.status {
                Some(scenario::StatusSpec::Code(c)) => (400..500).contains(c),
                Some(scenario::StatusSpec::Set(v)) => v.iter().all(|c| (400..500).contains(c)),
                Some(scenario::StatusSpec::Class(c)) => c.starts_with('4'),
                None => false,
            };
            if refused {
                continue;
            }
            let t = body.trim_start();
            let res = if t.starts_with("BEGIN:VCALENDAR") {
                check_ical(body)
            } else if t.starts_with('<') {
                check_xml(body)
            } else {
                continue;
            };
            if let Err(e) = res {
                errors.push(format!(
                    "{}:{}: {e}",
                    l.file.display(),
                    st.referenced.line()
                ));
            }
        }
    }
    assert!(
        errors.is_empty(),
        "invalid inline bodies:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_checks_reject_invalid_bodies() {
    assert!(check_ical("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\nDTSTAMP:20200101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n").is_err());
    assert!(check_ical(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:x\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    .is_err());
    assert!(check_ical("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:x\nDTSTAMP:20200101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n").is_ok());
    assert!(check_xml("<a><b></a>").is_err());
    assert!(check_xml("<D:a xmlns:D=\"DAV:\"/>").is_ok());
}
