//! Requirements are verbatim: every scenario's `requirement:` is an excerpt of a section its
//! `spec:` cites (whitespace normalised, `[...]` for elisions), that section exists in the texts
//! shipped in `fixtures/rfc/`, and its `level` is the strongest BCP 14 keyword of the quote.
//! The same holds for the `--read-only` checks (`readonly::CHECKS`), which are not scenario
//! files. Every `fail` or `flaky` baseline entry quotes, verbatim, a MUST of its `violates:`
//! section.
//! The check is itself shown to fail when one word of each quote is changed.

use caldav_conformance::baseline::{Baseline, Expected};
use caldav_conformance::rfc::{self, Library};
use caldav_conformance::scenario::{self, Level, Loaded};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn library() -> Library {
    Library::new(&root().join("fixtures/rfc"))
}

fn scenarios() -> Vec<Loaded> {
    let mut all = match scenario::load_dir(&root().join("scenarios"), &root().join("fixtures")) {
        Ok(v) => v,
        Err(errs) => panic!(
            "scenarios do not load:\n{}",
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    let base = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).expect("date");
    all.push(scenario::oracle_scenario(1, base));
    // The --read-only checks, as the trials of one calendar (readonly::CHECKS).
    let cal = caldav_conformance::readonly::Calendar {
        name: "work".into(),
        url: url::Url::parse("http://h/cal/u/work/").expect("url"),
    };
    let opts = caldav_conformance::readonly::Options {
        max_objects: 1,
        show_data: false,
        year: 2030,
    };
    let live = caldav_conformance::readonly::trials(&[cal], &opts);
    assert_eq!(live.len(), caldav_conformance::readonly::CHECKS.len());
    all.extend(live);
    all
}

fn level_name(l: Option<Level>) -> &'static str {
    match l {
        Some(Level::Must) => "MUST",
        Some(Level::Should) => "SHOULD",
        Some(Level::May) => "MAY",
        None => "no BCP 14 keyword",
    }
}

/// The problems of one scenario's quote, level and citations.
fn check_scenario(lib: &mut Library, l: &Loaded) -> Vec<String> {
    let s = &l.scenario;
    let at = format!("{}:{} ({})", l.file.display(), l.line, l.trial_name());
    let mut errs = Vec::new();
    for r in &s.spec {
        if let Err(e) = lib.section(r) {
            errs.push(format!("{at}: spec {r}: {e}"));
        }
    }
    if let Err(e) = lib.check_quote(&s.requirement, &s.spec) {
        errs.push(format!("{at}: requirement {e}"));
    }
    let level = rfc::level_of(&s.requirement);
    if level != Some(s.level) {
        errs.push(format!(
            "{at}: level is {} but the strongest keyword of the quote is {}",
            level_name(Some(s.level)),
            level_name(level)
        ));
    }
    errs
}

#[test]
fn every_requirement_is_verbatim_and_levelled() {
    let mut lib = library();
    let all = scenarios();
    assert!(all.len() > 100, "only {} scenarios found", all.len());
    let errs: Vec<String> = all
        .iter()
        .flat_map(|l| check_scenario(&mut lib, l))
        .collect();
    assert!(
        errs.is_empty(),
        "{} problems with requirements:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

fn baseline_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(root().join("servers")) {
        for d in rd.flatten() {
            if let Ok(files) = std::fs::read_dir(d.path()) {
                for f in files.flatten() {
                    let n = f.file_name().to_string_lossy().to_string();
                    if n.starts_with("baseline") && n.ends_with(".yaml") {
                        out.push(f.path());
                    }
                }
            }
        }
    }
    out.sort();
    out
}

fn check_baseline(lib: &mut Library, path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let b: Baseline = match scenario::parse_yaml(&text) {
        Ok(b) => b,
        Err((l, c, m)) => return vec![format!("{}:{l}:{c}: {m}", path.display())],
    };
    let mut errs = Vec::new();
    for (name, e) in &b.expect {
        if !matches!(e.outcome, Expected::FAIL | Expected::Flaky) {
            continue;
        }
        let at = format!("{} {name}", path.display());
        let (Some(quote), Some(violates)) = (&e.quote, &e.violates) else {
            errs.push(format!("{at}: a fail entry needs `violates:` and `quote:`"));
            continue;
        };
        if let Err(err) = lib.check_quote(quote, std::slice::from_ref(violates)) {
            errs.push(format!("{at}: quote {err}"));
        }
        if rfc::level_of(quote) != Some(Level::Must) {
            errs.push(format!(
                "{at}: a fail must quote a MUST, MUST NOT, SHALL or REQUIRED; this quote has {}",
                level_name(rfc::level_of(quote))
            ));
        }
    }
    errs
}

#[test]
fn every_baseline_fail_quotes_a_must_of_its_section() {
    let mut lib = library();
    let files = baseline_files();
    assert!(!files.is_empty(), "no baseline files under servers/");
    let errs: Vec<String> = files
        .iter()
        .flat_map(|f| check_baseline(&mut lib, f))
        .collect();
    assert!(
        errs.is_empty(),
        "{} problems with baseline quotes:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

/// Change one word of `quote` (its longest word, reversed and marked), keeping `[...]` intact.
fn change_one_word(quote: &str) -> Option<String> {
    let longest = quote
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .max_by_key(|w| w.len())?;
    let changed: String = longest.chars().rev().collect::<String>() + "Q";
    Some(quote.replacen(longest, &changed, 1))
}

#[test]
fn the_check_fails_when_one_word_of_a_quote_changes() {
    let mut lib = library();
    let mut checked = 0;
    for l in scenarios() {
        let s = &l.scenario;
        if lib.check_quote(&s.requirement, &s.spec).is_err() {
            continue; // reported by every_requirement_is_verbatim_and_levelled
        }
        let Some(bad) = change_one_word(&s.requirement) else {
            continue;
        };
        assert!(
            lib.check_quote(&bad, &s.spec).is_err(),
            "{}: a quote with one word changed still passes: {bad:?}",
            l.trial_name()
        );
        checked += 1;
    }
    assert!(checked > 0, "no verbatim quote to mutate");
}

#[test]
fn the_baseline_check_fails_when_one_word_of_a_quote_changes() {
    let mut lib = library();
    let mut checked = 0;
    for f in baseline_files() {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let Ok(b) = scenario::parse_yaml::<Baseline>(&text) else {
            continue;
        };
        for (name, e) in &b.expect {
            let (Some(q), Some(v)) = (&e.quote, &e.violates) else {
                continue;
            };
            let cite = std::slice::from_ref(v);
            if lib.check_quote(q, cite).is_err() {
                continue; // reported by every_baseline_fail_quotes_a_must_of_its_section
            }
            let Some(bad) = change_one_word(q) else {
                continue;
            };
            assert!(
                lib.check_quote(&bad, cite).is_err(),
                "{} {name}: a quote with one word changed still passes: {bad:?}",
                f.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} baseline quotes mutated");
}

#[test]
fn the_check_refuses_additions_and_wrong_sections() {
    let mut lib = library();
    let cite = vec!["RFC4918 §9.3.1".to_string()];
    let ok = "403 (Forbidden) - This indicates at least one of two conditions:";
    assert_eq!(lib.check_quote(ok, &cite), Ok(()));
    assert!(lib.check_quote(&format!("{ok} (our note)"), &cite).is_err());
    assert!(lib.check_quote(ok, &["RFC4918 §9.3".to_string()]).is_err());
    assert!(lib.section("RFC4918 §99.1").is_err());
    assert!(lib.section("RFC7231 §4.3.2").is_err());
}
