//! Load-time validation of a parsed scenario, so that a bad scenario is reported before any
//! request is sent: its name and spec references, `requires:` against the features discovery
//! can derive, step methods, fixtures and their `with:` variables, every variable defined
//! before use, captures and checks.

use super::group;
use super::*;

/// Every problem of one scenario (at `line`:`col`), as (line, column, message).
pub(super) fn scenario(
    s: &Scenario,
    line: u64,
    col: u64,
    fixtures: &Path,
) -> Vec<(u64, u64, String)> {
    let mut errors: Vec<(u64, u64, String)> =
        header(s).into_iter().map(|m| (line, col, m)).collect();
    let known = crate::discovery::known_features();
    for r in &s.requires {
        if !known.contains(&r.value) {
            let list: Vec<&str> = known.iter().map(String::as_str).collect();
            errors.push((
                r.referenced.line(),
                r.referenced.column(),
                format!("unknown feature {:?} (known: {})", r.value, list.join(", ")),
            ));
        }
    }
    for st in s.steps.iter().chain(&s.teardown) {
        if st.value.inconclusive.is_some() {
            errors.push((
                st.referenced.line(),
                st.referenced.column(),
                "`inconclusive` is only allowed on setup steps".into(),
            ));
        }
    }
    let mut captured: Vec<String> = Vec::new();
    if let Some(r) = &s.repeat {
        errors.extend(r.problems().into_iter().map(|m| (line, col, m)));
        captured.push("round".into());
    }
    for st in s.setup.iter().chain(&s.steps).chain(&s.teardown) {
        let (l, c) = (st.referenced.line(), st.referenced.column());
        for (at, m) in validate_any(&st.value, fixtures, &mut captured, &s.scratch) {
            let (l, c) = at.unwrap_or((l, c));
            errors.push((l, c, m));
        }
    }
    errors
}

/// An ordinary step, or a `concurrent` group: each request is checked as a step with `{i}`
/// defined; afterwards its captures (`etag{i}` → `etag1`, `etag2`…) and, when exactly one
/// answer must succeed, `{winner}` are defined. Errors carry the request's location, if any.
fn validate_any(
    st: &Step,
    fixtures: &Path,
    captured: &mut Vec<String>,
    scratch: &Scratch,
) -> Vec<(Option<(u64, u64)>, String)> {
    let Some(g) = &st.concurrent else {
        let mut errs = Vec::new();
        if st.copies.is_some() || st.delay_ms.is_some() {
            errs.push(
                "`copies` and `delay_ms` are only for the requests of a `concurrent` group"
                    .to_string(),
            );
        }
        errs.extend(validate_step(st, fixtures, captured, scratch));
        return errs.into_iter().map(|m| (None, m)).collect();
    };
    let before = captured.clone();
    let mut each = |r: &Step| {
        let mut mine = before.clone();
        mine.push("i".into());
        validate_step(r, fixtures, &mut mine, scratch)
    };
    let errs = group::validate(st, g, &mut each);
    let mut i = 0;
    for r in &g.requests {
        for _ in 0..r.value.copies.unwrap_or(1) {
            i += 1;
            captured.extend(group::capture_names(&r.value, i));
        }
    }
    if g.expect.one_winner() {
        captured.push("winner".into());
    }
    errs
}

/// Problems with the scenario as a whole: name, spec references, read_only, steps.
fn header(s: &Scenario) -> Vec<String> {
    let mut errors = Vec::new();
    if !s
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errors.push(format!(
            "scenario name {:?} may hold only letters, digits, - and _",
            s.name
        ));
    }
    if s.spec.is_empty() {
        errors.push("scenario cites no spec section (`spec:`)".into());
    }
    for r in &s.spec {
        if !spec_ref_ok(r) {
            errors.push(format!(
                "spec reference {r:?} is not of the form `RFC4791 §5.3.2`"
            ));
        }
    }
    if s.read_only
        && (s.scratch.calendar != ScratchMode::None || s.scratch.calendar2 != ScratchMode::None)
    {
        errors.push(
            "a read_only scenario uses no scratch calendar: add `scratch: { calendar: none }`"
                .into(),
        );
    }
    if s.steps.is_empty() {
        errors.push("scenario has no steps".into());
    }
    errors
}

const METHODS: &[&str] = &[
    "OPTIONS",
    "GET",
    "HEAD",
    "PUT",
    "DELETE",
    "PROPFIND",
    "PROPPATCH",
    "MKCALENDAR",
    "MKCOL",
    "REPORT",
    "COPY",
    "MOVE",
    "POST",
    "LOCK",
    "UNLOCK",
    "ACL",
];

fn validate_step(
    st: &Step,
    fixtures: &Path,
    captured: &mut Vec<String>,
    scratch: &Scratch,
) -> Vec<String> {
    let mut errs = Vec::new();
    if st.method.is_empty() {
        errs.push("a step needs a `method` (or is a `concurrent` group)".into());
    } else if !METHODS.contains(&st.method.as_str()) {
        errs.push(format!("unknown method {:?}", st.method));
    }
    if st.body.is_some() && st.fixture.is_some() {
        errs.push("a step has either `body` or `fixture`, not both".into());
    }
    let mut texts: Vec<&str> = vec![st.path.as_str()];
    texts.extend(st.headers.values().map(String::as_str));
    texts.extend(st.with.values().map(String::as_str));
    if let Some(b) = &st.body {
        texts.push(b);
    }
    for t in &texts {
        check_vars(t, captured, scratch, &mut errs);
    }
    if let Some(f) = &st.fixture {
        match read_fixture(fixtures, f) {
            Ok(t) => errs.extend(validate_with(&t, &st.with, captured, scratch)),
            Err(e) => errs.push(e),
        }
    } else if !st.with.is_empty() {
        errs.push("`with` gives variables to a `fixture`, and this step has none".into());
    }
    let mut expects = vec![&st.expect];
    let mut cur = &st.expect;
    while let Some(alt) = &cur.or {
        expects.push(alt);
        cur = alt;
    }
    if let Some(inc) = &st.inconclusive {
        if inc.because.trim().is_empty() {
            errs.push("`inconclusive` needs a reason (`because`)".into());
        }
        expects.push(&inc.when);
        let mut cur = &inc.when;
        while let Some(alt) = &cur.or {
            expects.push(alt);
            cur = alt;
        }
    }
    for e in expects {
        errs.extend(validate_expect(e, fixtures, captured, scratch));
    }
    errs.extend(validate_captures(st, captured, scratch));
    errs
}

fn validate_expect(
    expect: &Expect,
    fixtures: &Path,
    captured: &[String],
    scratch: &Scratch,
) -> Vec<String> {
    let mut errs = Vec::new();
    if let Some(s) = &expect.status {
        if let Err(e) = s.validate() {
            errs.push(e);
        }
    }
    for (_, m) in expect.headers.iter() {
        errs.extend(validate_match(m, fixtures, captured, scratch));
    }
    if let Some(e) = &expect.error {
        if let Err(e) = crate::xml::QName::parse(e) {
            errs.push(e);
        }
    }
    if let Some(ms) = &expect.multistatus {
        for r in &ms.responses {
            check_vars(&r.href, captured, scratch, &mut errs);
            let mut all: Vec<(String, ValueMatch)> = r
                .props
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for pl in r.propstat.values() {
                all.extend(pl.entries());
            }
            for (k, m) in all {
                if let Err(e) = crate::xml::QName::parse(&k) {
                    errs.push(e);
                }
                errs.extend(validate_match(&m, fixtures, captured, scratch));
            }
        }
        if let Some(m) = &ms.sync_token {
            errs.extend(validate_match(m, fixtures, captured, scratch));
        }
    }
    if let Some(ic) = &expect.calendar {
        errs.extend(validate_ical(ic, fixtures, captured, scratch));
    }
    errs
}

/// A parameterised fixture: every variable in it is defined (built in, captured earlier, or
/// given by `with`), and every `with` variable is used by it (a typo would go unnoticed).
fn validate_with(
    fixture: &str,
    with: &BTreeMap<String, String>,
    captured: &[String],
    scratch: &Scratch,
) -> Vec<String> {
    let mut errs = Vec::new();
    let used = template::variables(fixture);
    for k in with.keys() {
        if template::is_builtin(k) || captured.contains(k) {
            errs.push(format!(
                "`with` variable {k:?} shadows a built-in or captured variable"
            ));
        } else if !used.contains(k) {
            errs.push(format!("`with` variable {k:?} is not used by the fixture"));
        }
    }
    let mut defined = captured.to_vec();
    defined.extend(with.keys().cloned());
    check_vars(fixture, &defined, scratch, &mut errs);
    errs
}

fn validate_captures(st: &Step, captured: &mut Vec<String>, scratch: &Scratch) -> Vec<String> {
    let mut errs = Vec::new();
    for (name, c) in &st.capture {
        match c {
            Capture::Prop { prop, href, .. } => {
                if let Err(e) = crate::xml::QName::parse(prop) {
                    errs.push(e);
                }
                if let Some(h) = href {
                    check_vars(h, captured, scratch, &mut errs);
                }
            }
            Capture::ResponseHref { href: Some(h) }
            | Capture::Members(h)
            | Capture::Status { href: Some(h) } => {
                check_vars(h, captured, scratch, &mut errs);
            }
            _ => {}
        }
        if template::is_builtin(name) {
            errs.push(format!("capture name {name:?} shadows a built-in variable"));
        }
        captured.push(name.clone());
    }
    for t in &st.check {
        let names = t.names();
        if names.len() < 2 {
            errs.push("a check compares at least two captured values".into());
        }
        errs.extend(check_shape(t));
        for n in names {
            if !captured.contains(n) {
                errs.push(format!(
                    "check refers to {n:?}, which no earlier step captures"
                ));
            }
        }
    }
    errs
}

/// The shape of the `converges` and `one_of` checks.
fn check_shape(t: &Transition) -> Vec<String> {
    match t {
        Transition::Converges(c) if c.from.is_empty() => {
            vec!["`converges` needs at least one view in `from`".into()]
        }
        Transition::Converges(c) if !matches!(c.unless_changed.len(), 0 | 2) => {
            vec!["`unless_changed` names two captured values (the tag before and after)".into()]
        }
        Transition::OneOf(o) if o.rows.is_empty() => vec!["`one_of` needs at least one row".into()],
        Transition::OneOf(o) => o
            .rows
            .iter()
            .filter(|r| r.len() != o.values.len())
            .map(|r| {
                format!(
                    "`one_of` row {r:?} has {} cells for {} values",
                    r.len(),
                    o.values.len()
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn validate_match(
    m: &ValueMatch,
    fixtures: &Path,
    captured: &[String],
    scratch: &Scratch,
) -> Vec<String> {
    let mut errs = Vec::new();
    match m {
        ValueMatch::Text(t) => {
            check_vars(t, captured, scratch, &mut errs);
        }
        ValueMatch::Rule(r) => {
            if let Some(re) = &r.regex {
                // Variables are substituted (escaped) before the regex is compiled at run time.
                let dummy: std::collections::BTreeMap<String, String> = template::variables(re)
                    .into_iter()
                    .map(|v| (v, "x".to_string()))
                    .collect();
                if let Err(e) = regex::Regex::new(&template::render_regex(re, &dummy)) {
                    errs.push(format!("invalid regex {re:?}: {e}"));
                }
            }
            for t in [&r.equals, &r.contains, &r.href, &r.not]
                .into_iter()
                .flatten()
            {
                check_vars(t, captured, scratch, &mut errs);
            }
            for n in r.has.iter().chain(&r.lacks) {
                if let Err(e) = crate::xml::QName::parse(n) {
                    errs.push(e);
                }
            }
            if let Some(ic) = &r.ical {
                errs.extend(validate_ical(ic, fixtures, captured, scratch));
            }
        }
    }
    errs
}

fn validate_ical(
    ic: &IcalExpect,
    fixtures: &Path,
    captured: &[String],
    scratch: &Scratch,
) -> Vec<String> {
    let mut errs = Vec::new();
    if let Some(f) = &ic.equals_fixture {
        if let Err(e) = read_fixture(fixtures, f) {
            errs.push(e);
        }
    }
    for c in &ic.components {
        for m in c.props.values() {
            errs.extend(validate_match(m, fixtures, captured, scratch));
        }
        for t in [&c.uid, &c.recurrence_id].into_iter().flatten() {
            check_vars(t, captured, scratch, &mut errs);
        }
    }
    errs
}

/// Check every variable `text` refers to; errors go to `errs`.
fn check_vars(text: &str, captured: &[String], scratch: &Scratch, errs: &mut Vec<String>) {
    for v in template::variables(text) {
        if let Err(e) = check_var(&v, captured, scratch) {
            errs.push(e);
        }
    }
}

fn check_var(v: &str, captured: &[String], scratch: &Scratch) -> Result<(), String> {
    if v == "calendar2" && scratch.calendar2 == ScratchMode::None {
        return Err(
            "{calendar2} is used but `scratch: {calendar2: mkcalendar|reserve}` is not set".into(),
        );
    }
    if template::is_builtin(v) || captured.iter().any(|c| c == v) {
        Ok(())
    } else {
        Err(format!(
            "undefined variable {{{v}}}: not built in and not captured by an earlier step"
        ))
    }
}
