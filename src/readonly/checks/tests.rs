//! Unit tests of the read-only checks.

use super::*;

fn survey_with(get_body: &str, multiget_data: &str) -> Survey {
    use super::super::survey::Got;
    let href = "/cal/u/work/a.ics".to_string();
    let fetched = Fetched {
        href: href.clone(),
        raw_href: href.clone(),
        in_query: true,
        query_etag: Some("\"1\"".into()),
        status: Some(200),
        etag: Some("\"1\"".into()),
        body: Some(get_body.into()),
        error: None,
        reread_etag: None,
    };
    let got = Got {
        status: 200,
        etag: Some("\"1\"".into()),
        data: Some(multiget_data.into()),
    };
    let miss = || Miss {
        summary: "not read".into(),
        status: None,
        exchange: None,
    };
    Survey {
        props0: Err(miss()),
        list0: Err(miss()),
        sync0: None,
        query: Ok(BTreeMap::from([(
            href.clone(),
            (href.clone(), Some("\"1\"".into())),
        )])),
        fetched: vec![fetched],
        not_fetched: 0,
        multiget: Ok(BTreeMap::from([(href, got)])),
        ranges: Vec::new(),
        props1: Err(miss()),
        list1: Err(miss()),
        delta: None,
    }
}

#[test]
fn calendar_data_is_shown_only_when_asked() {
    let ev = |summary: &str| {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    };
    let s = survey_with(&ev("dentist appointment"), &ev("something else"));
    let cal = Calendar {
        name: "work".into(),
        url: url::Url::parse("http://h/cal/u/work/").unwrap(),
    };
    let spec = super::super::CHECKS
        .iter()
        .find(|c| c.name == "multiget-matches-get")
        .unwrap();
    let mut opts = Options {
        max_objects: 10,
        show_data: false,
        year: 2025,
    };
    let hidden = judge(spec, &s, &cal, &opts);
    let text = hidden.render(crate::outcome::Limits::FULL);
    assert!(matches!(hidden, Outcome::Fail(_)), "{text}");
    assert!(text.contains("different data in SUMMARY"), "{text}");
    assert!(text.contains("{calendar}a.ics"), "{text}");
    assert!(!text.contains("dentist"), "{text}");
    opts.show_data = true;
    let shown = judge(spec, &s, &cal, &opts).render(crate::outcome::Limits::FULL);
    assert!(shown.contains("dentist appointment"), "{shown}");
    // The same object in both: a pass.
    let same = survey_with(&ev("a"), &ev("a").replace("\r\n", "\n"));
    assert!(matches!(judge(spec, &same, &cal, &opts), Outcome::Pass));
}

#[test]
fn differing_properties_names_lines_not_values() {
    let a = "BEGIN:VEVENT\nSUMMARY:secret a\nUID:1\nEND:VEVENT\n";
    let b = "BEGIN:VEVENT\nSUMMARY:secret b\nUID:1\nEND:VEVENT\n";
    assert_eq!(differing_properties(a, b), vec!["SUMMARY".to_string()]);
}

#[test]
fn tzids_are_collected_outside_vtimezone() {
    let c = ical::parse("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID=Europe/Paris:20250101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").unwrap();
    let mut used = BTreeSet::new();
    tzids_used(&c, &mut used);
    assert_eq!(used.into_iter().collect::<Vec<_>>(), vec!["Europe/Paris"]);
}
