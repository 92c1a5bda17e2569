//! Property-based fuzzing (proptest) of everything that reads text from a server or a file:
//! the XML parser and multistatus model, href normalisation, the iCalendar normaliser, the
//! matchers, variable substitution, scenario YAML, and the scope guard. Each property is "does
//! not panic" (and, for the scope guard, "never lets a write out"), on arbitrary input and on
//! structure-aware input built from the grammar's own pieces (namespaces, entities, CDATA,
//! status lines, percent-encodings, folded iCalendar lines, parameters, nesting).
//!
//! Bounded for CI (proptest's default 256 cases per property, seconds in all). Longer runs:
//! `PROPTEST_CASES=100000 cargo test --release --test fuzz`.

use caldav_conformance::http::{Request, Scope};
use caldav_conformance::ical;
use caldav_conformance::matching::{self, Ctx};
use caldav_conformance::scenario::{self, IcalExpect, MultistatusExpect, ScenarioFile, ValueMatch};
use caldav_conformance::template;
use caldav_conformance::xml::{self, Multistatus};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

fn config() -> ProptestConfig {
    // Cases from PROPTEST_CASES (default 256); no regression files written into the tree:
    // a failure prints the minimal input, which belongs in a unit test.
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn vars() -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    for (k, x) in [
        ("calendar", "/cal/user1/ccf-0a1b2c3d-1/"),
        ("calendar2", "/cal/user1/ccf-0a1b2c3d-1b/"),
        ("home", "/cal/user1/"),
        ("principal", "/principals/user1/"),
        ("uid", "ccf-0a1b2c3d-1-uid"),
        ("origin", "http://127.0.0.1:1"),
        ("etag", "\"1\""),
    ] {
        v.insert(k.to_string(), x.to_string());
    }
    v
}

// ------------------------------------------------------------------ XML pieces

fn xml_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("D:multistatus".to_string()),
        Just("D:response".to_string()),
        Just("D:href".to_string()),
        Just("D:propstat".to_string()),
        Just("D:status".to_string()),
        Just("D:prop".to_string()),
        Just("D:getetag".to_string()),
        Just("D:resourcetype".to_string()),
        Just("D:collection".to_string()),
        Just("D:sync-token".to_string()),
        Just("D:error".to_string()),
        Just("C:calendar".to_string()),
        Just("C:calendar-data".to_string()),
        Just("CS:getctag".to_string()),
        Just("X:unknown".to_string()),
        Just("multistatus".to_string()),
        Just("D:".to_string()),
        "[a-zA-Z_][a-zA-Z0-9_.-]{0,8}(:[a-zA-Z_][a-zA-Z0-9_.-]{0,8})?",
    ]
}

fn xml_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("HTTP/1.1 200 OK".to_string()),
        Just("HTTP/1.1 404 Not Found".to_string()),
        Just("HTTP/1.1 99999999 Huge".to_string()),
        Just("HTTP/1.1".to_string()),
        Just("/cal/user1/ccf-0a1b2c3d-1/a.ics".to_string()),
        Just("http://h:1/cal/a%20b.ics".to_string()),
        Just("https://".to_string()),
        Just("%".to_string()),
        Just("%zz%ff%fe%c3".to_string()),
        Just("&amp;&lt;&#x41;&#65;".to_string()),
        Just("&#x0;&#xD800;&#1114112;&#;&bogus;&".to_string()),
        Just("<![CDATA[ <not> &markup; ]]>".to_string()),
        Just("<!-- c -->".to_string()),
        Just("<?pi x?>".to_string()),
        Just("\"etag\"".to_string()),
        Just("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VEVENT\nEND:VCALENDAR\n".to_string()),
        ".{0,20}",
    ]
}

/// A random element tree, rendered with namespace declarations that may or may not match.
fn xml_tree() -> impl Strategy<Value = String> {
    let leaf = (xml_name(), xml_text()).prop_map(|(n, t)| format!("<{n}>{t}</{n}>"));
    let tree = leaf.prop_recursive(6, 64, 6, |inner| {
        (
            xml_name(),
            prop::collection::vec(inner, 0..6),
            prop::option::of(xml_text()),
        )
            .prop_map(|(n, kids, t)| {
                format!("<{n}>{}{}</{n}>", t.unwrap_or_default(), kids.concat())
            })
    });
    (
        tree,
        prop::sample::select(vec![
            r#" xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/" xmlns:X="urn:x""#,
            r#" xmlns:D="DAV:""#,
            r#" xmlns="DAV:""#,
            r#" xmlns:D="""#,
            "",
        ]),
        prop::sample::select(vec![
            "",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
            "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>",
            "\u{feff}",
            "<!DOCTYPE x [<!ENTITY e \"&e;&e;\">]>",
        ]),
        prop::sample::select(vec!["", "<extra/>", "trailing text", "</D:multistatus>"]),
    )
        .prop_map(|(t, decl, prolog, tail)| {
            // Put the declarations on the root element.
            let t = match t.find('>') {
                Some(i) if !t[..i].ends_with('/') => format!("{}{decl}{}", &t[..i], &t[i..]),
                _ => t,
            };
            format!("{prolog}{t}{tail}")
        })
}

// ------------------------------------------------------------------ iCalendar pieces

fn ical_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("BEGIN:VEVENT".to_string()),
        Just("END:VEVENT".to_string()),
        Just("BEGIN:VTODO".to_string()),
        Just("END:VTODO".to_string()),
        Just("BEGIN:VALARM".to_string()),
        Just("END:VALARM".to_string()),
        Just("BEGIN:VTIMEZONE".to_string()),
        Just("END:VCALENDAR".to_string()),
        Just("BEGIN:".to_string()),
        Just("END:".to_string()),
        Just("UID:x".to_string()),
        Just("RECURRENCE-ID;TZID=Europe/Paris:20250101T100000".to_string()),
        Just("DTSTART;VALUE=DATE:20250101".to_string()),
        Just("SUMMARY;LANGUAGE=en;X-A=\"a:b;c\":Hello\\, world".to_string()),
        Just("ATTENDEE;CN=\"unterminated:mailto:a@b".to_string()),
        Just(";=:".to_string()),
        Just(":".to_string()),
        Just("X-EMPTY:".to_string()),
        Just(" folded continuation".to_string()),
        Just("\t".to_string()),
        Just(String::new()),
        "[A-Z-]{1,10}(;[A-Z-]{1,6}=[^\r\n:;]{0,6}){0,3}:[^\r\n]{0,20}",
        ".{0,30}",
    ]
}

fn ical_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(ical_line(), 0..40),
        prop::sample::select(vec!["\r\n", "\n", "\r", "\r\n "]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, eol, begin, end)| {
            let mut s = String::new();
            if begin {
                s.push_str("BEGIN:VCALENDAR");
                s.push_str(eol);
            }
            for l in lines {
                s.push_str(&l);
                s.push_str(eol);
            }
            if end {
                s.push_str("END:VCALENDAR");
                s.push_str(eol);
            }
            s
        })
}

// ------------------------------------------------------------------ expectation pieces

/// A multistatus expectation in the scenario YAML syntax, parsed by the scenario loader.
fn multistatus_expect() -> impl Strategy<Value = String> {
    let value = prop::sample::select(vec![
        "any",
        "absent",
        "\"{etag}\"",
        "{ regex: '^\"' }",
        "{ regex: '(' }",
        "{ regex: '{etag}+' }",
        "{ contains: x, not: y }",
        "{ href: \"{calendar}\" }",
        "{ has: [D:collection, C:calendar], lacks: [D:principal, bogus] }",
        "{ ical: { components: [ { type: VEVENT, uid: \"{uid}\" } ], count: { VEVENT: 1 } } }",
        "{ equals: '' }",
    ]);
    let href = prop::sample::select(vec![
        "\"{calendar}\"",
        "a.ics",
        "/cal/user1/ccf-0a1b2c3d-1/a.ics",
        "http://h:1/x%20y",
        "\"%\"",
        "\"\"",
    ]);
    let prop_name = prop::sample::select(vec![
        "D:getetag",
        "D:resourcetype",
        "C:calendar-data",
        "CS:getctag",
        "\"{urn:x}y\"",
        "X:unknown",
    ]);
    (
        prop::collection::vec(
            (href, prop::collection::vec((prop_name, value), 0..4)),
            0..4,
        ),
        any::<bool>(),
        prop::option::of(0usize..5),
        any::<bool>(),
    )
        .prop_map(|(responses, exact, count, props_exact)| {
            let mut s = format!("exact: {exact}\n");
            if let Some(c) = count {
                s.push_str(&format!("count: {c}\n"));
            }
            s.push_str("sync_token: any\nabsent: [gone.ics]\nresponses:\n");
            for (h, props) in responses {
                s.push_str(&format!("  - href: {h}\n    props_exact: {props_exact}\n"));
                if !props.is_empty() {
                    s.push_str("    props:\n");
                    for (k, v) in props {
                        s.push_str(&format!("      {k}: {v}\n"));
                    }
                }
                s.push_str("    propstat: { 404: [X:unknown] }\n");
            }
            s
        })
}

fn ical_expect() -> impl Strategy<Value = String> {
    (
        prop::option::of(ical_text()),
        prop::collection::vec(
            (
                prop::sample::select(vec!["VEVENT", "VTODO", "VALARM", "vevent", ""]),
                prop::option::of(prop::sample::select(vec!["x", "{uid}", ""])),
                prop::option::of(prop::sample::select(vec!["", "20250101T100000"])),
                any::<bool>(),
            ),
            0..4,
        ),
        prop::option::of(prop::collection::vec(
            prop::sample::select(vec!["DTSTAMP", "UID", ""]),
            0..3,
        )),
    )
        .prop_map(|(equals, comps, ignore)| {
            let mut s = String::new();
            if let Some(e) = equals {
                s.push_str(&format!("equals: {}\n", serde_json::to_string(&e).unwrap()));
            }
            s.push_str("count: { VEVENT: 1 }\ncomponents:\n");
            for (kind, uid, rid, absent) in comps {
                s.push_str(&format!("  - type: \"{kind}\"\n    absent: {absent}\n"));
                if let Some(u) = uid {
                    s.push_str(&format!("    uid: \"{u}\"\n"));
                }
                if let Some(r) = rid {
                    s.push_str(&format!("    recurrence_id: \"{r}\"\n"));
                }
                s.push_str(
                    "    props: { SUMMARY: any, RRULE: absent, DTSTART: { regex: '^2' } }\n",
                );
            }
            if let Some(i) = ignore {
                s.push_str(&format!("ignore: {i:?}\n"));
            }
            s
        })
}

fn check_multistatus_body(body: &[u8], exp: Option<&MultistatusExpect>) {
    let Ok(root) = xml::parse(body) else { return };
    let _ = root.deep_text();
    let _ = root.value_repr();
    let _ = xml::error_conditions(&root);
    let Ok(ms) = Multistatus::from_element(&root) else {
        return;
    };
    let _ = matching::canonical_multistatus(&ms);
    for r in &ms.responses {
        let _ = ms.response(&r.raw_href);
    }
    if let Some(exp) = exp {
        let v = vars();
        let ctx = Ctx {
            vars: &v,
            fixtures: Path::new("fixtures"),
        };
        let mut diffs = Vec::new();
        let canon = matching::match_multistatus(exp, &ms, &ctx, &mut diffs);
        let _ = matching::unified(&canon, &matching::canonical_multistatus(&ms));
        for d in &diffs {
            let _ = d.to_string();
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn xml_parser_survives_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_multistatus_body(&body, None);
    }

    #[test]
    fn xml_parser_survives_arbitrary_text(body in ".{0,512}") {
        check_multistatus_body(body.as_bytes(), None);
    }

    #[test]
    fn xml_parser_and_matcher_survive_structured_documents(
        doc in xml_tree(),
        exp in multistatus_expect(),
        cut in any::<prop::sample::Index>(),
    ) {
        let exp: Option<MultistatusExpect> = scenario::parse_yaml(&exp).ok();
        check_multistatus_body(doc.as_bytes(), exp.as_ref());
        // The same document truncated anywhere (a body cut by a reset or the size cap).
        let at = cut.index(doc.len() + 1);
        check_multistatus_body(&doc.as_bytes()[..at], exp.as_ref());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed(depth in 200usize..5000) {
        let doc = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let _ = xml::parse(doc.as_bytes());
        let doc = format!("<D:multistatus xmlns:D=\"DAV:\">{}", "<D:response>".repeat(depth));
        let _ = xml::parse(doc.as_bytes());
    }

    #[test]
    fn href_normalisation_survives_anything(h in ".{0,64}", raw in prop::collection::vec(any::<u8>(), 0..64)) {
        let n = xml::normalize_href(&h);
        prop_assert!(!n.is_empty());
        let _ = xml::normalize_href(&String::from_utf8_lossy(&raw));
        let _ = xml::normalize_href(&format!("http://{h}"));
        let _ = xml::normalize_href(&format!("https://h{h}%"));
    }

    #[test]
    fn ical_parser_survives_arbitrary_text(text in ".{0,512}") {
        if let Ok(c) = ical::parse(&text) {
            let _ = c.canonical(&ical::ignore_list(None));
        }
        let _ = ical::parse(&format!("BEGIN:VCALENDAR\r\n{text}\r\nEND:VCALENDAR\r\n"));
    }

    #[test]
    fn ical_parser_survives_structured_calendars(text in ical_text(), ignore in prop::collection::vec("[A-Z-]{0,8}", 0..3)) {
        if let Ok(c) = ical::parse(&text) {
            let _ = c.canonical(&ignore);
            let _ = c.canonical(&ical::ignore_list(None));
            let mut all = Vec::new();
            c.find_all("VEVENT", &mut all);
            for e in all {
                let _ = (e.key(), e.address(), e.prop_value("UID"));
            }
        }
    }

    #[test]
    fn ical_matcher_survives_structured_input(text in ical_text(), exp in ical_expect()) {
        let Ok(exp) = scenario::parse_yaml::<IcalExpect>(&exp) else { return Ok(()) };
        let v = vars();
        let ctx = Ctx { vars: &v, fixtures: Path::new("fixtures") };
        let mut diffs = Vec::new();
        if let Some((a, b)) = matching::match_ical("", &exp, &text, &ctx, &mut diffs) {
            let _ = matching::unified(&a, &b);
        }
        // And as calendar-data inside a property.
        let m = ValueMatch::Rule(scenario::parse_yaml("{ ical: { count: { VEVENT: 1 } } }").unwrap());
        let el = xml::Element { name: xml::QName::new(xml::CALDAV, "calendar-data"), children: vec![], text: text.clone(), attrs: vec![] };
        matching::match_value("p", &m, Some(matching::Actual::Elem(&el)), &ctx, &mut diffs);
    }

    #[test]
    fn value_matchers_survive_any_rule(
        rule in "\\{ ?(equals|regex|contains|not|href): ?'[^'\n]{0,12}' ?\\}",
        actual in ".{0,40}",
    ) {
        let Ok(m) = scenario::parse_yaml::<ValueMatch>(&rule) else { return Ok(()) };
        let v = vars();
        let ctx = Ctx { vars: &v, fixtures: Path::new("fixtures") };
        let mut diffs = Vec::new();
        matching::match_value("p", &m, Some(matching::Actual::Text(&actual)), &ctx, &mut diffs);
        matching::match_value("p", &m, None, &ctx, &mut diffs);
        let _ = matching::describe(&m, &ctx);
    }

    #[test]
    fn templates_survive_anything(text in ".{0,80}", name in "(today|now)?[+-]?[0-9]{0,25}[dhw]?") {
        let v = vars();
        let _ = template::variables(&text);
        let _ = template::render(&text, &v);
        let _ = template::render_regex(&text, &v);
        let _ = template::is_builtin(&name);
        let _ = template::render(&format!("{{{name}}}"), &v);
    }

    #[test]
    fn scenario_yaml_survives_anything(text in ".{0,400}") {
        let _ = scenario::parse_yaml::<ScenarioFile>(&text);
    }

    #[test]
    fn scenario_yaml_survives_mangled_scenarios(
        cut in any::<prop::sample::Index>(),
        junk in prop::sample::select(vec!["", ":", "- ", "{", "[", "\t", "\"", "'", "&a ", "*a", "!!binary ", "? ", "\u{0}", "\n  ", "{today+999999999999d}"]),
    ) {
        let base = "area: a\nscenarios:\n  - name: n\n    desc: d\n    requirement: r\n    spec: [RFC4918 §9.1]\n    steps:\n      - method: PUT\n        path: \"{calendar}a.ics\"\n        headers: { If-Match: \"{etag}\" }\n        expect: { status: [201, 204], headers: { ETag: { regex: '^\"' } } }\n        capture: { e: { header: ETag } }\n        check: [ { changed: [e, e] } ]\n";
        let at = cut.index(base.len() + 1);
        let mut at = at;
        while !base.is_char_boundary(at) { at -= 1; }
        let text = format!("{}{junk}{}", &base[..at], &base[at..]);
        let _ = scenario::parse_yaml::<ScenarioFile>(&text);
    }

    #[test]
    fn the_scope_guard_never_lets_a_write_out(
        path in prop_oneof![
            "[a-z./%0-9A-F\\\\]{0,24}",
            Just("%2e%2e/x".to_string()),
            Just("..%2f..%2fx".to_string()),
            Just("%2E%2E%2F".to_string()),
            Just("./../x".to_string()),
            Just("//evil/x".to_string()),
            Just("http://evil:1/cal/user1/ccf-0a1b2c3d-1/x".to_string()),
        ],
        method in prop::sample::select(vec!["PUT", "DELETE", "MKCOL", "MOVE", "COPY", "PROPPATCH", "put"]),
    ) {
        let origin = url::Url::parse("http://h:1/").unwrap();
        let cal = url::Url::parse("http://h:1/cal/user1/ccf-0a1b2c3d-1/").unwrap();
        let scope = Scope::new(&[&cal]);
        let Ok(u) = cal.join(&path) else { return Ok(()) };
        let req = Request::new(method, u.clone());
        if scope.check(&origin, &req).is_ok() {
            let decoded = percent_encoding::percent_decode_str(u.path()).decode_utf8_lossy().into_owned();
            prop_assert!(u.host_str() == Some("h") && u.port() == Some(1), "{u}");
            prop_assert!(decoded.starts_with(cal.path()) || decoded == cal.path().trim_end_matches('/'), "{u} let out");
            prop_assert!(!decoded.split('/').any(|s| s == ".."), "{u} let out");
        }
        // The same path as a Destination of a MOVE inside the calendar.
        let mv = Request::new("MOVE", cal.join("a.ics").unwrap()).header("Destination", &path);
        if scope.check(&origin, &mv).is_ok() {
            let d = origin.join(&path).unwrap();
            let decoded = percent_encoding::percent_decode_str(d.path()).decode_utf8_lossy().into_owned();
            prop_assert!(decoded.starts_with(cal.path()), "Destination {d} let out");
        }
    }
}
