//! Tests of the profiles: product names and versions, the choice of a profile for each fleet
//! product, the mismatch statements and the two-part rendering.

use super::*;
use crate::outcome::Failure;
use std::collections::{BTreeMap, BTreeSet};

fn disc(product: Option<&str>, dav: &[&str]) -> Discovered {
    let u = url::Url::parse("http://127.0.0.1/").expect("url");
    Discovered {
        origin: u.clone(),
        principal: None,
        home: u,
        dav_classes: dav.iter().map(|s| s.to_string()).collect(),
        allow: Vec::new(),
        server: None,
        product: product.map(str::to_string),
        identity: Vec::new(),
        reports: Vec::new(),
        features: BTreeSet::new(),
        notes: Vec::new(),
        trail: Vec::new(),
    }
}

#[test]
fn products_and_versions() {
    let cases = [
        ("Radicale 3.9.0 (PyPI)", "Radicale", Some("3.9.0")),
        (
            "sabre/dav 1.8.12 (Debian php-sabre-dav), Digest auth",
            "sabre/dav",
            Some("1.8.12"),
        ),
        ("Cyrus IMAP 3.6.1", "Cyrus IMAP", Some("3.6.1")),
        ("SOGo (SOPE 4.9.37)", "SOGo", None),
        (
            "dav-server 0.11 demo (crates.io), negative control",
            "dav-server",
            Some("0.11"),
        ),
        ("Xandikos", "Xandikos", None),
    ];
    for (s, name, version) in cases {
        let (n, v) = split_product(s);
        assert_eq!((n.as_str(), v.as_deref()), (name, version), "{s}");
    }
    assert!(same_version("3.9", "3.9.0"));
    assert!(!same_version("3.9.1", "3.9.0"));
}

#[test]
fn choice_defaults_and_conflicts() {
    assert_eq!(Choice::parse(None, false), Ok(Choice::Auto));
    assert_eq!(Choice::parse(None, true), Ok(Choice::Off));
    assert_eq!(Choice::parse(Some("none"), true), Ok(Choice::Off));
    assert_eq!(
        Choice::parse(Some("sabre"), false),
        Ok(Choice::Named("sabre".into()))
    );
    assert!(Choice::parse(Some("auto"), true).is_err());
}

/// Every shipped profile loads, and each fleet product finds its own.
#[test]
fn fleet_products_find_their_profiles() {
    for n in names() {
        let (p, b) = load(&n).unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.product.is_empty() && !b.expect.is_empty(), "{n}");
    }
    let cases = [
        ("Radicale", "radicale"),
        ("Xandikos", "xandikos"),
        ("sabre/dav 1.8.12", "sabre"),
        ("DAViCal 1.1.12", "davical"),
        ("Cyrus IMAP 3.6.1", "cyrus"),
        ("SOGo (SOPE 4.9.37)", "sogo"),
        ("Calypso 2.0", "calypso"),
        ("dav-server", "davserver"),
    ];
    for (product, want) in cases {
        let s = choose(&Choice::Auto, &disc(Some(product), &[])).expect("choose");
        let (p, _) = s
            .active
            .unwrap_or_else(|| panic!("{product}: {}", s.header));
        assert_eq!(p.name, want, "{product}");
    }
    let none = choose(&Choice::Auto, &disc(Some("Nextcloud"), &[])).expect("choose");
    assert!(none.active.is_none() && none.header.contains("no profile ships for Nextcloud"));
    let nc = disc(Some("sabre/dav 4.6.0"), &["nextcloud-checksum-update"]);
    assert!(choose(&Choice::Auto, &nc).expect("choose").active.is_none());
    let unknown = choose(&Choice::Auto, &disc(None, &[])).expect("choose");
    assert!(unknown.header.contains("did not identify itself"));
    assert!(choose(&Choice::Named("nope".into()), &disc(None, &[])).is_err());
}

#[test]
fn mismatches_are_said_plainly() {
    let named = |n: &str, product: Option<&str>| {
        choose(&Choice::Named(n.into()), &disc(product, &[]))
            .expect("choose")
            .active
            .expect("a profile")
            .0
    };
    let p = named("radicale", Some("sabre/dav 1.8.12"));
    assert!(
        p.notes[0].starts_with("PRODUCT MISMATCH: the server is sabre/dav 1.8.12, not Radicale")
    );
    assert!(
        p.against()
            .ends_with("(profile radicale; product mismatch)"),
        "{}",
        p.against()
    );
    let p = named("cyrus", Some("Cyrus IMAP 3.6.2"));
    assert!(p.notes[0].starts_with("VERSION MISMATCH: the server is Cyrus IMAP 3.6.2"));
    let p = named("radicale", Some("Radicale"));
    assert!(p.notes[0].contains("does not say its version"));
    assert_eq!(
        p.against(),
        "a correct installation of Radicale 3.9.0 (profile radicale)"
    );
    assert!(named("cyrus", Some("Cyrus IMAP 3.6.1")).notes.is_empty());
}

#[test]
fn render_separates_known_deviations_from_differences() {
    let (p, mut b) = load("radicale").expect("radicale");
    b.expect.clear();
    let mut e: crate::baseline::Entry = serde_json::from_value(serde_json::json!({
        "outcome": "fail", "reason": "Answers 400. More text.", "violates": "RFC4791 §9.9",
        "quote": "q", "issue": "https://example.org/1"
    }))
    .expect("entry");
    b.expect.insert("a::known".into(), e.clone());
    e.outcome = crate::baseline::Expected::FAIL;
    b.expect.insert("a::fixed".into(), e);
    let outcomes: BTreeMap<String, Outcome> = [
        ("a::known", Outcome::Fail(Failure::new("step 1", "x"))),
        ("a::fixed", Outcome::Pass),
        ("a::broken", Outcome::Fail(Failure::new("step 2", "y"))),
        ("a::fine", Outcome::Pass),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let c = baseline::compare(&b, outcomes.iter());
    let text = render(&p, &b, outcomes.iter(), &c);
    assert!(
        text.contains("KNOWN DEVIATIONS of Radicale 3.9.0"),
        "{text}"
    );
    assert!(
        text.contains("  a::known: fail, violates RFC4791 §9.9, upstream https://example.org/1 — Answers 400."),
        "{text}"
    );
    assert!(
        text.contains("DIFFERENCES from a correct installation of Radicale 3.9.0 (PyPI) (2)"),
        "{text}"
    );
    assert!(
        text.contains("  worse (1)") && text.contains("    a::broken: expected pass"),
        "{text}"
    );
    assert!(
        text.contains("  better (1)") && text.contains("    a::fixed:"),
        "{text}"
    );
}
