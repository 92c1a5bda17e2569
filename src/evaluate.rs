//! Evaluating one response: its status, headers, DAV:error, multistatus and iCalendar body
//! against a step's expectation (and its `or:` alternatives), the values the step captures, and
//! the transitions checked over captured values. Every problem is a path-addressed `Diff`.

use crate::http::Response;
use crate::matching::{self, Ctx, Diff};
use crate::scenario::{Capture, Expect, StatusSpec, Transition};
use crate::xml::{self, Multistatus, QName};
use std::collections::BTreeMap;

mod views;

/// The response body as a multistatus, parsed on first use.
pub type ParsedMs<'a> = dyn Fn() -> &'a Result<Multistatus, String> + 'a;

/// The differences found, and a unified diff of canonical forms where one was made.
pub type Evaluation = (Vec<Diff>, Option<String>);

/// What `Multistatus::from_element` puts before the name of a wrong root element.
const NOT_MULTISTATUS: &str = "expected a DAV:multistatus body, got ";

/// Compare a response with an expectation, or failing that with its alternatives.
pub fn evaluate<'a>(expect: &Expect, resp: &Response, ctx: &Ctx, ms: &ParsedMs<'a>) -> Evaluation {
    let (mut diffs, unified) = evaluate_one(expect, resp, ctx, ms);
    let mut alt = expect.or.as_deref();
    let mut n = 1;
    while let (false, Some(a)) = (diffs.is_empty(), alt) {
        let (d, _) = evaluate_one(a, resp, ctx, ms);
        if d.is_empty() {
            return (Vec::new(), None);
        }
        diffs.extend(d.into_iter().map(|x| Diff {
            path: format!("(alternative {n}) {}", x.path),
            ..x
        }));
        alt = a.or.as_deref();
        n += 1;
    }
    (diffs, unified)
}

fn evaluate_one<'a>(e: &Expect, resp: &Response, ctx: &Ctx, parsed: &ParsedMs<'a>) -> Evaluation {
    let mut diffs = Vec::new();
    let mut unified = None;
    let default = StatusSpec::Class("2xx".into());
    let want = e.status.as_ref().unwrap_or(&default);
    if !want.matches(resp.status) {
        diffs.push(Diff {
            path: "status".into(),
            expected: want.to_string(),
            got: resp.status.to_string(),
        });
    }
    for (h, m) in &e.headers {
        // A field sent on several lines is one comma-separated list (RFC 9110 §5.3).
        let all = resp.header_all(h);
        let joined = (!all.is_empty()).then(|| all.join(", "));
        let actual = joined.as_deref().map(matching::Actual::Text);
        matching::match_value(&format!("header[{h}]"), m, actual, ctx, &mut diffs);
    }
    if let Some(cond) = &e.error {
        diffs.extend(dav_error(cond, resp));
    }
    if let Some(m) = &e.multistatus {
        match parsed() {
            Ok(ms) => {
                let before = diffs.len();
                let canon = matching::match_multistatus(m, ms, ctx, &mut diffs);
                if diffs.len() > before {
                    unified = Some(matching::unified(
                        &canon,
                        &matching::canonical_multistatus(ms),
                    ));
                }
            }
            Err(err) => diffs.push(Diff {
                path: "multistatus".into(),
                expected: "a DAV:multistatus body".into(),
                got: err.strip_prefix(NOT_MULTISTATUS).unwrap_or(err).to_string(),
            }),
        }
    }
    if let Some(ic) = &e.calendar {
        match resp.text() {
            Ok(t) => {
                let before = diffs.len();
                if let Some((a, b)) = matching::match_ical("", ic, t, ctx, &mut diffs) {
                    if diffs.len() > before {
                        unified = Some(matching::unified(&a, &b));
                    }
                }
            }
            Err(err) => diffs.push(Diff {
                path: "VCALENDAR".into(),
                expected: "iCalendar text".into(),
                got: err,
            }),
        }
    }
    (diffs, unified)
}

/// The DAV:error precondition element expected in an error body (RFC 4918 §16).
fn dav_error(cond: &str, resp: &Response) -> Option<Diff> {
    let want = QName::parse(cond).unwrap_or_else(|_| QName::new("", cond));
    let expected = format!("<D:error><{want}/></D:error> (precondition)");
    let got = if resp.body.is_empty() {
        Err("(empty body)".to_string())
    } else {
        xml::parse(&resp.body).map(|r| xml::error_conditions(&r))
    };
    let got = match got {
        Ok(c) if c.contains(&want) => return None,
        Ok(c) if c.is_empty() => "a body without a DAV:error element".into(),
        Ok(c) => format!(
            "<D:error> with {}",
            c.iter().map(|q| format!("<{q}/>")).collect::<String>()
        ),
        Err(err) => err,
    };
    Some(Diff {
        path: "DAV:error".into(),
        expected,
        got,
    })
}

/// The value a step captures from its response (None when it is not there).
pub fn capture<'a>(
    c: &Capture,
    resp: &Response,
    ctx: &Ctx,
    parsed: &ParsedMs<'a>,
) -> Result<Option<String>, String> {
    let (prop, href, response_href) = match c {
        Capture::Header(h) => return Ok(resp.header(h).map(str::to_string)),
        Capture::Ical(spec) => return capture_ical(spec, resp),
        Capture::SyncToken => {
            return Ok(parsed().as_ref().map_err(Clone::clone)?.sync_token.clone())
        }
        Capture::Prop {
            prop,
            href,
            response_href,
        } => (Some(prop), href, *response_href),
        Capture::ResponseHref { href } => (None, href, true),
        Capture::Status { href: None } => return Ok(Some(resp.status.to_string())),
        Capture::Status { href: Some(h) } => return Ok(views::status_of(h, resp, ctx, parsed)),
        Capture::Members(coll) => {
            let ms = parsed().as_ref().map_err(Clone::clone)?;
            return Ok(Some(views::members(ms, &ctx.href(coll))));
        }
    };
    let ms = parsed().as_ref().map_err(Clone::clone)?;
    let want_href = href.as_ref().map(|h| xml::normalize_href(&ctx.href(h)));
    let candidates = ms
        .responses
        .iter()
        .filter(|r| want_href.as_ref().is_none_or(|h| &r.href == h));
    match prop {
        Some(p) => {
            let q = QName::parse(p)?;
            for r in candidates {
                if let Some((200, el)) = r.prop(&q) {
                    return Ok(Some(if response_href {
                        r.raw_href.clone()
                    } else {
                        el.deep_text()
                    }));
                }
            }
            Ok(None)
        }
        None => Ok(candidates.map(|r| r.raw_href.clone()).next()),
    }
}

/// `VEVENT.UID`: the first value of that property in a component of that type.
fn capture_ical(spec: &str, resp: &Response) -> Result<Option<String>, String> {
    let (kind, prop) = spec
        .split_once('.')
        .ok_or("ical capture is written COMPONENT.PROPERTY")?;
    let cal = crate::ical::parse(resp.text()?)?;
    let mut all = Vec::new();
    cal.find_all(kind, &mut all);
    Ok(all
        .iter()
        .find_map(|c| c.prop_value(prop))
        .map(str::to_string))
}

/// The transitions a step checks over captured values (`unchanged`, `changed`, and the
/// client-view checks `converges` and `one_of` of `views`).
pub fn transitions(
    checks: &[Transition],
    captured: &BTreeMap<String, Option<String>>,
) -> Vec<Diff> {
    let mut diffs = Vec::new();
    let value = |n: &str| captured.get(n).cloned().flatten();
    let show = |n: &str| -> String {
        match value(n) {
            Some(v) => format!("{n}={v:?}"),
            None => format!("{n}=(absent)"),
        }
    };
    for t in checks {
        if let Transition::Unchanged(names) = t {
            let what = "unchanged";
            let first = value(&names[0]);
            for n in &names[1..] {
                let v = value(n);
                if v != first || v.is_none() {
                    diffs.push(Diff {
                        path: format!("{what}({})", names.join(", ")),
                        expected: format!("{} == {}", names[0], n),
                        got: format!("{} vs {}", show(&names[0]), show(n)),
                    });
                }
            }
        }
        let changed: &[String] = match t {
            Transition::Changed(names) => names,
            Transition::Converges(c) => {
                diffs.extend(views::converges(c, captured));
                &[]
            }
            Transition::OneOf(o) => {
                diffs.extend(views::one_of(o, captured));
                &[]
            }
            Transition::Unchanged(_) => &[],
        };
        for w in changed.windows(2) {
            let (a, b) = (value(&w[0]), value(&w[1]));
            if a.is_none() || b.is_none() || a == b {
                diffs.push(Diff {
                    path: format!("changed({})", changed.join(", ")),
                    expected: format!("{} != {}", w[0], w[1]),
                    got: format!("{} vs {}", show(&w[0]), show(&w[1])),
                });
            }
        }
    }
    diffs
}
