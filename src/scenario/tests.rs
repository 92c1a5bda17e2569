//! Tests of scenario loading and load-time validation.

use super::*;

fn load(text: &str) -> Result<Vec<Loaded>, Vec<LoadError>> {
    let dir = std::env::temp_dir().join(format!("ccf-scenario-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("t{}.yaml", text.len()));
    std::fs::write(&file, text).unwrap();
    let r = load_file(&dir, &file, &dir);
    let _ = std::fs::remove_file(&file);
    r
}

const INCONCLUSIVE: &str =
    "        inconclusive:\n          when: { status: 403 }\n          because: refused\n";

#[test]
fn inconclusive_only_on_setup_steps() {
    let head =
        "scenarios:\n  - name: x\n    desc: d\n    requirement: r\n    spec: [RFC4791 §5.3.2]\n";
    let put = "      - method: PUT\n        path: a.ics\n        body: x\n        expect: { status: 201 }\n";
    let ok = format!("{head}    setup:\n{put}{INCONCLUSIVE}    steps:\n{put}");
    assert!(load(&ok).is_ok(), "{:?}", load(&ok).err());
    let bad = format!("{head}    steps:\n{put}{INCONCLUSIVE}");
    let errs = load(&bad).expect_err("inconclusive in steps must be refused");
    assert!(
        errs.iter()
            .any(|e| e.message.contains("only allowed on setup steps")),
        "{errs:?}"
    );
    let empty = format!("{head}    setup:\n{put}        inconclusive:\n          when: {{ status: 403 }}\n          because: \"\"\n    steps:\n{put}");
    assert!(load(&empty).is_err());
}

const HEAD: &str =
    "scenarios:\n  - name: x\n    desc: d\n    requirement: r\n    spec: [RFC4791 §5.3.2]\n";

/// Load one scenario whose `steps:` are `steps` (and extra scenario keys `extra`).
fn load_steps(extra: &str, steps: &str) -> Result<Vec<Loaded>, Vec<LoadError>> {
    load(&format!("{HEAD}{extra}    steps:\n{steps}"))
}

fn first_error(r: Result<Vec<Loaded>, Vec<LoadError>>) -> String {
    match r {
        Ok(_) => panic!("expected a load error"),
        Err(e) => e[0].to_string(),
    }
}

#[test]
fn depth_is_a_number_or_a_string() {
    for (d, want) in [
        ("0", "0"),
        ("1", "1"),
        ("\"1\"", "1"),
        ("infinity", "infinity"),
        ("Infinity", "infinity"),
    ] {
        let l = load_steps(
            "",
            &format!("      - method: PROPFIND\n        depth: {d}\n"),
        )
        .unwrap();
        assert_eq!(
            l[0].scenario.steps[0].value.depth.as_deref(),
            Some(want),
            "{d}"
        );
    }
    let e = first_error(load_steps(
        "",
        "      - method: PROPFIND\n        depth: 2\n",
    ));
    assert!(e.contains("depth \"2\" is not 0, 1 or infinity"), "{e}");
    assert!(e.contains(".yaml:8:16:"), "{e}");
}

#[test]
fn requires_names_known_features() {
    let step = "      - method: OPTIONS\n";
    assert!(load_steps(
        "    requires: [calendar-access, report.sync-collection, component.VTODO, dav-3]\n",
        step
    )
    .is_ok());
    let e = first_error(load_steps(
        "    requires: [sync-token, calendar_access]\n",
        step,
    ));
    assert!(
        e.contains(":6:28: unknown feature \"calendar_access\" (known: ")
            && e.contains("calendar-access"),
        "{e}"
    );
}

#[test]
fn captures_and_checks_take_exactly_one_form() {
    let get = "      - method: GET\n        capture:\n";
    let ok = format!("{get}          a: {{ header: ETag }}\n          b: {{ prop: D:getetag, href: \"{{calendar}}\" }}\n          c: {{ sync_token: true }}\n          d: {{ ical: VEVENT.UID }}\n          e: {{ response_href: true }}\n        check:\n          - unchanged: [a, b]\n          - changed: [c, d, e]\n");
    let l = load_steps("", &ok).unwrap();
    let st = &l[0].scenario.steps[0].value;
    assert_eq!(st.capture["a"], Capture::Header("ETag".into()));
    assert_eq!(st.capture["c"], Capture::SyncToken);
    assert_eq!(st.capture["e"], Capture::ResponseHref { href: None });
    assert_eq!(
        st.check[1],
        Transition::Changed(vec!["c".into(), "d".into(), "e".into()])
    );
    for bad in [
        "          a: { header: ETag, prop: D:getetag }\n",
        "          a: {}\n",
        "          a: { header: ETag, href: x }\n",
        "          a: { sync_token: false }\n",
    ] {
        let e = first_error(load_steps("", &format!("{get}{bad}")));
        assert!(e.contains("exactly one source"), "{bad}: {e}");
    }
    for bad in [
        "          a: { header: ETag }\n        check:\n          - { unchanged: [a, a], changed: [a, a] }\n",
        "          a: { header: ETag }\n        check:\n          - equal: [a, a]\n",
    ] {
        assert!(load_steps("", &format!("{get}{bad}")).is_err(), "{bad}");
    }
}

#[test]
fn parameterised_fixtures() {
    let dir = std::env::temp_dir().join(format!("ccf-with-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("xml")).unwrap();
    std::fs::write(
        dir.join("xml/q.xml"),
        "<C:comp-filter name=\"{comp}\"><C:time-range start=\"{start}\" end=\"{end}\"/> {uid}",
    )
    .unwrap();
    let step = |with: &str| {
        let text =
            format!("{HEAD}    steps:\n      - method: REPORT\n        fixture: xml/q.xml\n{with}");
        let file = dir.join("t.yaml");
        std::fs::write(&file, text).unwrap();
        load_file(&dir, &file, &dir)
    };
    let l =
        step("        with: { comp: VEVENT, start: \"{today}T000000Z\", end: 20300101T000000Z }\n")
            .unwrap();
    let mut vars = BTreeMap::new();
    vars.insert("uid".to_string(), "u1".to_string());
    let body = l[0].scenario.steps[0].value.body_text(&dir, &vars).unwrap();
    let today = chrono::Utc::now().format("%Y%m%d").to_string();
    assert_eq!(
        body.as_deref(),
        Some(format!("<C:comp-filter name=\"VEVENT\"><C:time-range start=\"{today}T000000Z\" end=\"20300101T000000Z\"/> u1").as_str())
    );
    // A variable the fixture needs and `with` does not give; one `with` gives and it
    // does not use; one shadowing a built-in; a value using an undefined variable.
    for (with, msg) in [
        (
            "        with: { comp: VEVENT, start: a }\n",
            "undefined variable {end}",
        ),
        (
            "        with: { comp: VEVENT, start: a, end: b, stop: c }\n",
            "\"stop\" is not used",
        ),
        (
            "        with: { comp: VEVENT, start: a, end: b, uid: c }\n",
            "shadows",
        ),
        (
            "        with: { comp: VEVENT, start: \"{nope}\", end: b }\n",
            "undefined variable {nope}",
        ),
    ] {
        let e = first_error(step(with));
        assert!(e.contains(msg), "{with}: {e}");
    }
    let inline = format!(
        "{HEAD}    steps:\n      - method: PUT\n        body: x\n        with: {{ a: b }}\n"
    );
    assert!(first_error(load(&inline)).contains("`with` gives variables to a `fixture`"));
    let _ = std::fs::remove_dir_all(&dir);
}
