//! Matching and diffing: compares a response with a step's expectations and reports every
//! difference addressed by path (`response[href=/cal/a.ics]/propstat[200]/prop/D:getetag`),
//! plus canonical renderings of both sides for a unified diff made with `similar`.

mod calendar;
pub use calendar::match_ical;

use crate::scenario::{MatchRule, MultistatusExpect, ResponseExpect, ValueMatch};
use crate::template;
use crate::xml::{self, Element, Multistatus, QName};
use std::collections::BTreeMap;
use std::path::Path;
use url::Url;

/// One difference between expectation and response.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Diff {
    pub path: String,
    pub expected: String,
    pub got: String,
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.path, self.expected, self.got
        )
    }
}

/// What expectations are evaluated against.
pub struct Ctx<'a> {
    pub vars: &'a BTreeMap<String, String>,
    pub fixtures: &'a Path,
}

impl Ctx<'_> {
    pub fn render(&self, s: &str) -> String {
        template::render(s, self.vars)
    }

    /// Resolve a scenario href as `resolve_ref` resolves request paths: relative ones are
    /// relative to `{calendar}`. Hrefs on the server under test come back as paths.
    pub fn href(&self, s: &str) -> String {
        let r = self.render(s);
        let cal = self.vars.get("calendar").map(String::as_str).unwrap_or("/");
        let base = Url::parse(HREF_BASE).and_then(|b| b.join(cal));
        match base.and_then(|b| resolve_ref(&r, &b)) {
            Ok(u) if u.host_str() == Some(HREF_HOST) => u[url::Position::BeforePath..].to_string(),
            Ok(u) => u.to_string(),
            Err(_) => r,
        }
    }
}

/// A stand-in origin for resolving expected hrefs, which are compared as paths.
const HREF_HOST: &str = "ccf.invalid";
const HREF_BASE: &str = "http://ccf.invalid/";

/// Resolve a request path or an expected href written in a scenario (variables already
/// substituted) against the scenario's calendar: `http(s)://` URLs stand as they are, `/paths`
/// are on the server's origin, and anything else is a relative-path reference (RFC 3986 §4.2),
/// so a colon in its first segment (`meeting:42.ics`) is not taken for a scheme.
pub fn resolve_ref(r: &str, calendar: &Url) -> Result<Url, url::ParseError> {
    let lower = r.get(..8).unwrap_or(r).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Url::parse(r)
    } else if r.starts_with('/') {
        calendar.join(r)
    } else {
        calendar.join(&format!("./{r}"))
    }
}

/// The value found in a response.
#[derive(Clone, Copy)]
pub enum Actual<'a> {
    Text(&'a str),
    Elem(&'a Element),
}

impl Actual<'_> {
    fn text(&self) -> String {
        match self {
            Actual::Text(t) => t.to_string(),
            Actual::Elem(e) => e.deep_text(),
        }
    }

    fn repr(&self) -> String {
        match self {
            Actual::Text(t) => quote(t),
            Actual::Elem(e) => quote(&e.value_repr()),
        }
    }
}

fn quote(s: &str) -> String {
    let one_line = s.replace("\r\n", "\n");
    if one_line.len() > 200 || one_line.contains('\n') {
        let first = one_line.lines().next().unwrap_or_default();
        format!("{:?}… ({} lines)", first, one_line.lines().count())
    } else {
        format!("{one_line:?}")
    }
}

/// A short rendering of a matcher, for messages and the canonical expected form.
pub fn describe(m: &ValueMatch, ctx: &Ctx) -> String {
    match m {
        ValueMatch::Text(t) if t == "any" => "(any value)".into(),
        ValueMatch::Text(t) if t == "absent" => "(absent)".into(),
        ValueMatch::Text(t) => quote(&ctx.render(t)),
        ValueMatch::Rule(r) => {
            let mut parts = Vec::new();
            if let Some(e) = &r.equals {
                parts.push(quote(&ctx.render(e)));
            }
            if let Some(e) = &r.regex {
                parts.push(format!(
                    "matching /{}/",
                    template::render_regex(e, ctx.vars)
                ));
            }
            if let Some(e) = &r.contains {
                parts.push(format!("containing {}", quote(&ctx.render(e))));
            }
            if let Some(e) = &r.href {
                parts.push(format!("href {}", xml::normalize_href(&ctx.href(e))));
            }
            if !r.has.is_empty() {
                parts.push(format!("with <{}>", r.has.join("> <")));
            }
            if !r.lacks.is_empty() {
                parts.push(format!("without <{}>", r.lacks.join("> <")));
            }
            if r.ical.is_some() {
                parts.push("iCalendar data".into());
            }
            if let Some(e) = &r.not {
                parts.push(format!("not {}", quote(&ctx.render(e))));
            }
            if parts.is_empty() {
                "(any value)".into()
            } else {
                parts.join(", ")
            }
        }
    }
}

/// Match one value. `actual` is None when the value is missing.
pub fn match_value(
    path: &str,
    m: &ValueMatch,
    actual: Option<Actual>,
    ctx: &Ctx,
    diffs: &mut Vec<Diff>,
) {
    let mut fail = |expected: String, got: String| {
        diffs.push(Diff {
            path: path.to_string(),
            expected,
            got,
        })
    };
    let expect_absent = matches!(m, ValueMatch::Text(t) if t == "absent");
    let Some(a) = actual else {
        if !expect_absent {
            fail(describe(m, ctx), "(missing)".into());
        }
        return;
    };
    match m {
        ValueMatch::Text(t) if t == "any" => {}
        ValueMatch::Text(t) if t == "absent" => fail("(absent)".into(), a.repr()),
        ValueMatch::Text(t) => {
            let want = ctx.render(t);
            if a.text() != want {
                fail(quote(&want), a.repr());
            }
        }
        ValueMatch::Rule(r) => match_rule(path, r, a, ctx, diffs),
    }
}

/// Match one value against a rule: every condition it states must hold.
fn match_rule(path: &str, r: &MatchRule, a: Actual, ctx: &Ctx, diffs: &mut Vec<Diff>) {
    let mut fail = |expected: String, got: String| {
        diffs.push(Diff {
            path: path.to_string(),
            expected,
            got,
        })
    };
    let text = a.text();
    if let Some(e) = &r.equals {
        let want = ctx.render(e);
        if text != want {
            fail(quote(&want), a.repr());
        }
    }
    if let Some(e) = &r.regex {
        let pat = template::render_regex(e, ctx.vars);
        match regex::Regex::new(&pat) {
            Ok(re) if re.is_match(&text) => {}
            Ok(_) => fail(format!("a value matching /{pat}/"), a.repr()),
            Err(err) => fail(format!("a valid regex /{pat}/"), err.to_string()),
        }
    }
    if let Some(e) = &r.contains {
        let want = ctx.render(e);
        if !text.contains(&want) {
            fail(format!("a value containing {}", quote(&want)), a.repr());
        }
    }
    if let Some(e) = &r.not {
        let other = ctx.render(e);
        // A structured value is also compared in its canonical XML form
        // (`<C:comp name="VJOURNAL"/>`), whose text alone would be empty.
        let canonical = match a {
            Actual::Elem(el) if !el.children.is_empty() => Some(el.value_repr()),
            _ => None,
        };
        if text == other || canonical.as_deref() == Some(other.as_str()) {
            fail(format!("a value other than {}", quote(&other)), a.repr());
        }
    }
    if let Some(h) = &r.href {
        let want = xml::normalize_href(&ctx.href(h));
        let got: Vec<String> = match a {
            Actual::Text(t) => vec![xml::normalize_href(t)],
            Actual::Elem(e) => hrefs_in(e),
        };
        if !got.contains(&want) {
            fail(format!("href {want}"), format!("{got:?}"));
        }
    }
    // Elements anywhere inside the value: `D:supported-report-set` nests its report names
    // two levels down (supported-report/report/C:calendar-query).
    let mut names: Vec<QName> = Vec::new();
    if let Actual::Elem(e) = a {
        let mut stack: Vec<&Element> = e.children.iter().collect();
        while let Some(c) = stack.pop() {
            names.push(c.name.clone());
            stack.extend(c.children.iter());
        }
    }
    for q in r.has.iter().filter_map(|h| QName::parse(h).ok()) {
        if !names.contains(&q) {
            fail(format!("<{q}> inside"), a.repr());
        }
    }
    for q in r.lacks.iter().filter_map(|h| QName::parse(h).ok()) {
        if names.contains(&q) {
            fail(format!("no <{q}> inside"), a.repr());
        }
    }
    if let Some(ic) = &r.ical {
        match_ical(path, ic, &text, ctx, diffs);
    }
}

/// The DAV:href values at or below an element, normalised.
fn hrefs_in(e: &Element) -> Vec<String> {
    let href = QName::new(xml::DAV, "href");
    if e.name == href {
        return vec![xml::normalize_href(&e.deep_text())];
    }
    let mut v: Vec<String> = e.children.iter().flat_map(hrefs_in).collect();
    if v.is_empty() && e.name != href && e.children.is_empty() && !e.text.trim().is_empty() {
        v.push(xml::normalize_href(&e.text));
    }
    v
}

/// Canonical one-value-per-line rendering of a multistatus, for the unified diff.
pub fn canonical_multistatus(ms: &Multistatus) -> String {
    let mut lines: Vec<String> = Vec::new();
    for r in &ms.responses {
        let base = format!("response[href={}]", r.href);
        if let Some(s) = r.status {
            lines.push(format!("{base}/status: {s}"));
        }
        for ps in &r.propstats {
            for p in &ps.props {
                // Child elements are shown as canonical XML, attributes included
                // (`<C:comp name="VEVENT"/>`); text values quoted.
                let value = if p.children.is_empty() {
                    quote(&p.value_repr())
                } else {
                    p.value_repr()
                };
                lines.push(format!(
                    "{base}/propstat[{}]/prop/{}: {value}",
                    ps.status, p.name
                ));
            }
        }
    }
    lines.sort();
    if let Some(t) = &ms.sync_token {
        lines.push(format!("sync-token: {}", quote(t)));
    }
    lines.join("\n") + "\n"
}

/// Compare a multistatus with its expectation. Returns the canonical expected form.
pub fn match_multistatus(
    exp: &MultistatusExpect,
    ms: &Multistatus,
    ctx: &Ctx,
    diffs: &mut Vec<Diff>,
) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut listed = Vec::new();
    for r in &exp.responses {
        listed.push(match_response(r, ms, ctx, diffs, &mut lines));
    }
    if exp.exact {
        for r in ms.responses.iter().filter(|r| !listed.contains(&r.href)) {
            diffs.push(Diff {
                path: format!("response[href={}]", r.href),
                expected: "(absent: exact response set)".into(),
                got: "present".into(),
            });
        }
    }
    for a in &exp.absent {
        let want = xml::normalize_href(&ctx.href(a));
        lines.push(format!("response[href={want}]: (absent)"));
        if ms.responses.iter().any(|r| r.href == want) {
            diffs.push(Diff {
                path: format!("response[href={want}]"),
                expected: "(absent)".into(),
                got: "present".into(),
            });
        }
    }
    if let Some(n) = exp.count {
        lines.push(format!("count: {n}"));
        if ms.responses.len() != n {
            diffs.push(Diff {
                path: "multistatus/count(response)".into(),
                expected: n.to_string(),
                got: ms.responses.len().to_string(),
            });
        }
    }
    lines.sort();
    if let Some(m) = &exp.sync_token {
        lines.push(format!("sync-token: {}", describe(m, ctx)));
        match_value(
            "multistatus/sync-token",
            m,
            ms.sync_token.as_deref().map(Actual::Text),
            ctx,
            diffs,
        );
    }
    lines.join("\n") + "\n"
}

/// Compare the DAV:response for one expected href; returns that href, normalised.
fn match_response(
    r: &ResponseExpect,
    ms: &Multistatus,
    ctx: &Ctx,
    diffs: &mut Vec<Diff>,
    lines: &mut Vec<String>,
) -> String {
    let want = xml::normalize_href(&ctx.href(&r.href));
    let base = format!("response[href={want}]");
    let Some(got) = ms.responses.iter().find(|x| x.href == want) else {
        diffs.push(Diff {
            path: base.clone(),
            expected: "a DAV:response for this href".into(),
            got: "(missing)".into(),
        });
        lines.push(format!("{base}: (present)"));
        return want;
    };
    if let Some(s) = &r.status {
        lines.push(format!("{base}/status: {s}"));
        let propstats = || got.propstats.iter().map(|p| p.status).collect::<Vec<_>>();
        let (expected, got) = match got.status {
            Some(code) if s.matches(code) => (None, String::new()),
            Some(code) => (Some(s.to_string()), code.to_string()),
            None => (
                Some(format!("a bare DAV:status {s}")),
                format!("(none; propstat {:?})", propstats()),
            ),
        };
        if let Some(expected) = expected {
            diffs.push(Diff {
                path: format!("{base}/status"),
                expected,
                got,
            });
        }
    }
    let mut entries: Vec<(u16, String, ValueMatch)> = r
        .props
        .iter()
        .map(|(k, v)| (200, k.clone(), v.clone()))
        .collect();
    for (code, pl) in &r.propstat {
        entries.extend(pl.entries().into_iter().map(|(k, v)| (*code, k, v)));
    }
    for (code, name, m) in &entries {
        let Ok(q) = QName::parse(name) else { continue };
        let path = format!("{base}/propstat[{code}]/prop/{q}");
        lines.push(format!("{path}: {}", describe(m, ctx)));
        match_prop(&path, got, *code, &q, m, ctx, diffs);
    }
    if r.props_exact {
        let allowed: Vec<QName> = entries
            .iter()
            .filter(|(c, _, _)| *c == 200)
            .filter_map(|(_, n, _)| QName::parse(n).ok())
            .collect();
        let extra = got.propstats.iter().filter(|p| p.status == 200);
        for p in extra.flat_map(|ps| &ps.props) {
            if !allowed.contains(&p.name) {
                diffs.push(Diff {
                    path: format!("{base}/propstat[200]/prop/{}", p.name),
                    expected: "(absent: props_exact)".into(),
                    got: quote(&p.value_repr()),
                });
            }
        }
    }
    want
}

/// Compare one property expected in the propstat of status `code`.
fn match_prop(
    path: &str,
    got: &xml::Response,
    code: u16,
    q: &QName,
    m: &ValueMatch,
    ctx: &Ctx,
    diffs: &mut Vec<Diff>,
) {
    let in_ps = got
        .propstats
        .iter()
        .filter(|p| p.status == code)
        .find_map(|p| p.props.iter().find(|e| &e.name == q));
    if let Some(e) = in_ps {
        return match_value(path, m, Some(Actual::Elem(e)), ctx, diffs);
    }
    if matches!(m, ValueMatch::Text(t) if t == "absent") {
        return;
    }
    diffs.push(Diff {
        path: path.to_string(),
        expected: describe(m, ctx),
        got: match got.prop(q).map(|(s, _)| s) {
            Some(s) => format!("(missing; the property is in propstat[{s}])"),
            None => "(missing)".into(),
        },
    });
}

/// A unified diff of two canonical forms.
pub fn unified(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{IcalExpect, MatchRule, ResponseExpect};

    fn ctx_vars() -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        v.insert("calendar".into(), "/cal/x/".into());
        v.insert("etag".into(), "\"1\"".into());
        v
    }

    fn ms() -> Multistatus {
        let body = br#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/x/a.ics</d:href>
<d:propstat><d:prop><d:getetag>"2"</d:getetag><d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
</d:response><d:response><d:href>/cal/x/b.ics</d:href><d:propstat><d:prop><d:getetag>"3"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;
        Multistatus::from_element(&xml::parse(body).unwrap()).unwrap()
    }

    #[test]
    fn multistatus_differences_are_path_addressed() {
        let vars = ctx_vars();
        let ctx = Ctx {
            vars: &vars,
            fixtures: Path::new("fixtures"),
        };
        let mut props = BTreeMap::new();
        props.insert("D:getetag".to_string(), ValueMatch::Text("{etag}".into()));
        props.insert(
            "D:resourcetype".to_string(),
            ValueMatch::Rule(MatchRule {
                has: vec!["C:calendar".into()],
                ..Default::default()
            }),
        );
        let exp = MultistatusExpect {
            exact: true,
            responses: vec![
                ResponseExpect {
                    href: "a.ics".into(),
                    props,
                    ..Default::default()
                },
                ResponseExpect {
                    href: "missing.ics".into(),
                    status: Some(crate::scenario::StatusSpec::Code(404)),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let mut diffs = Vec::new();
        let canon = match_multistatus(&exp, &ms(), &ctx, &mut diffs);
        let paths: Vec<String> = diffs.iter().map(|d| d.to_string()).collect();
        assert!(paths.contains(&"response[href=/cal/x/a.ics]/propstat[200]/prop/D:getetag: expected \"\\\"1\\\"\", got \"\\\"2\\\"\"".to_string()), "{paths:#?}");
        assert!(paths.iter().any(|p| p.starts_with("response[href=/cal/x/a.ics]/propstat[200]/prop/D:resourcetype: expected <C:calendar> inside")));
        assert!(paths
            .iter()
            .any(|p| p.starts_with("response[href=/cal/x/missing.ics]: expected a DAV:response")));
        assert!(paths
            .iter()
            .any(|p| p.starts_with("response[href=/cal/x/b.ics]: expected (absent")));
        let u = unified(&canon, &canonical_multistatus(&ms()));
        assert!(u.contains("--- expected") && u.contains("+response[href=/cal/x/b.ics]"));
    }

    #[test]
    fn a_colon_in_a_relative_path_is_not_a_scheme() {
        let cal = Url::parse("http://h:1/cal/x/").unwrap();
        let u = resolve_ref("meeting:42.ics", &cal).unwrap();
        assert_eq!(u.as_str(), "http://h:1/cal/x/meeting:42.ics");
        assert_eq!(
            resolve_ref("/abs/a", &cal).unwrap().as_str(),
            "http://h:1/abs/a"
        );
        assert_eq!(resolve_ref("", &cal).unwrap().as_str(), "http://h:1/cal/x/");
        assert_eq!(
            resolve_ref("https://o/p", &cal).unwrap().as_str(),
            "https://o/p"
        );
        let vars = ctx_vars();
        let ctx = Ctx {
            vars: &vars,
            fixtures: Path::new("fixtures"),
        };
        assert_eq!(ctx.href("meeting:42.ics"), "/cal/x/meeting:42.ics");
        assert_eq!(ctx.href("/y/b.ics"), "/y/b.ics");
        assert_eq!(ctx.href("a b.ics"), "/cal/x/a%20b.ics");
        assert_eq!(xml::normalize_href(&ctx.href("a b.ics")), "/cal/x/a b.ics");
    }

    #[test]
    fn a_passing_expectation_has_no_diffs() {
        let vars = ctx_vars();
        let ctx = Ctx {
            vars: &vars,
            fixtures: Path::new("fixtures"),
        };
        let mut props = BTreeMap::new();
        props.insert("D:getetag".to_string(), ValueMatch::Text("\"2\"".into()));
        let exp = MultistatusExpect {
            responses: vec![ResponseExpect {
                href: "/cal/x/a.ics".into(),
                props,
                ..Default::default()
            }],
            absent: vec!["c.ics".into()],
            count: Some(2),
            ..Default::default()
        };
        let mut diffs = Vec::new();
        match_multistatus(&exp, &ms(), &ctx, &mut diffs);
        assert!(diffs.is_empty(), "{diffs:?}");
    }

    #[test]
    fn not_compares_a_structured_value_in_canonical_form() {
        let vars = ctx_vars();
        let ctx = Ctx {
            vars: &vars,
            fixtures: Path::new("fixtures"),
        };
        let rule = ValueMatch::Rule(MatchRule {
            not: Some(r#"<C:comp name="VJOURNAL"/>"#.into()),
            ..Default::default()
        });
        let parse = |b: &[u8]| xml::parse(b).unwrap();
        let forged = parse(
            br#"<C:supported-calendar-component-set xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp name='VJOURNAL'></C:comp></C:supported-calendar-component-set>"#,
        );
        let kept = parse(
            br#"<C:supported-calendar-component-set xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp name="VEVENT"/><C:comp name="VJOURNAL"/></C:supported-calendar-component-set>"#,
        );
        let mut diffs = Vec::new();
        match_value("p", &rule, Some(Actual::Elem(&forged)), &ctx, &mut diffs);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        diffs.clear();
        match_value("p", &rule, Some(Actual::Elem(&kept)), &ctx, &mut diffs);
        assert!(diffs.is_empty(), "{diffs:?}");
    }

    #[test]
    fn ical_differences_by_component() {
        let vars = ctx_vars();
        let ctx = Ctx {
            vars: &vars,
            fixtures: Path::new("fixtures"),
        };
        let got = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:u1\nSUMMARY:B\nDTSTAMP:20200101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n";
        let exp = IcalExpect {
            equals: Some("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:u1\nSUMMARY:A\nEND:VEVENT\nEND:VCALENDAR\n".into()),
            ..Default::default()
        };
        let mut diffs = Vec::new();
        let canon = match_ical("", &exp, got, &ctx, &mut diffs);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert_eq!(diffs[0].path, "VCALENDAR/VEVENT[uid=u1]/SUMMARY");
        assert!(canon.is_some());
    }
}
