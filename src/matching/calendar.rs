//! iCalendar matching: components found by type, UID and RECURRENCE-ID, their properties
//! matched in any order (any occurrence may meet an expectation), counts, and whole-calendar
//! comparison with path-addressed differences component by component.

use super::{describe, match_value, Actual, Ctx, Diff};
use crate::ical::{self, Component};
use crate::scenario::{ComponentExpect, IcalExpect, ValueMatch};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Compare iCalendar text with its expectation. Returns (expected, actual) canonical forms
/// when a whole-calendar comparison was asked for.
pub fn match_ical(
    prefix: &str,
    exp: &IcalExpect,
    text: &str,
    ctx: &Ctx,
    diffs: &mut Vec<Diff>,
) -> Option<(String, String)> {
    let at = |p: &str| {
        if prefix.is_empty() {
            p.to_string()
        } else {
            format!("{prefix}/{p}")
        }
    };
    let cal = match ical::parse(text) {
        Ok(c) => c,
        Err(e) => {
            diffs.push(Diff {
                path: at("VCALENDAR"),
                expected: "valid iCalendar data".into(),
                got: e,
            });
            return None;
        }
    };
    let ignore = ical::ignore_list(exp.ignore.as_ref());
    let canon = whole_calendar(&at(""), exp, &cal, &ignore, ctx, diffs);
    for c in &exp.components {
        match_component(&at, c, &cal, ctx, diffs);
    }
    for (kind, n) in &exp.count {
        let mut all = Vec::new();
        cal.find_all(kind, &mut all);
        if all.len() != *n {
            diffs.push(Diff {
                path: at(&format!("count({kind})")),
                expected: n.to_string(),
                got: all.len().to_string(),
            });
        }
    }
    canon
}

/// `equals` / `equals_fixture`: the whole calendar, compared in canonical form.
fn whole_calendar(
    prefix: &str,
    exp: &IcalExpect,
    cal: &Component,
    ignore: &[String],
    ctx: &Ctx,
    diffs: &mut Vec<Diff>,
) -> Option<(String, String)> {
    let whole = match (&exp.equals, &exp.equals_fixture) {
        (Some(t), _) => Ok(ctx.render(t)),
        (None, Some(f)) => crate::scenario::read_fixture(ctx.fixtures, f).map(|t| ctx.render(&t)),
        _ => return None,
    };
    match whole.and_then(|t| ical::parse(&t).map_err(|e| format!("expected data: {e}"))) {
        Err(e) => {
            diffs.push(Diff {
                path: format!("{prefix}VCALENDAR"),
                expected: "valid expected iCalendar".into(),
                got: e,
            });
            None
        }
        Ok(want) => {
            let (e, a) = (want.canonical(ignore), cal.canonical(ignore));
            if e != a {
                diff_components(prefix, &want, cal, ignore, diffs);
            }
            Some((e, a))
        }
    }
}

/// One expected component: found by type, UID and RECURRENCE-ID, then its properties.
fn match_component(
    at: &dyn Fn(&str) -> String,
    c: &ComponentExpect,
    cal: &Component,
    ctx: &Ctx,
    diffs: &mut Vec<Diff>,
) {
    let uid = c.uid.as_ref().map(|u| ctx.render(u));
    let rid = c.recurrence_id.as_ref().map(|u| ctx.render(u));
    let mut all = Vec::new();
    cal.find_all(&c.kind, &mut all);
    let found: Vec<&Component> = all
        .into_iter()
        .filter(|x| {
            uid.as_ref()
                .is_none_or(|u| x.prop_value("UID") == Some(u.as_str()))
        })
        .filter(|x| match &rid {
            None => true,
            Some(r) if r.is_empty() => x.prop("RECURRENCE-ID").is_none(),
            Some(r) => x.prop_value("RECURRENCE-ID") == Some(r.as_str()),
        })
        .collect();
    let mut addr = c.kind.clone();
    if let Some(u) = &uid {
        let _ = write!(addr, "[uid={u}");
        if let Some(r) = &rid {
            let _ = write!(addr, ";rid={r}");
        }
        addr.push(']');
    }
    if c.absent {
        if !found.is_empty() {
            diffs.push(Diff {
                path: at(&addr),
                expected: "(absent)".into(),
                got: format!("{} component(s)", found.len()),
            });
        }
        return;
    }
    let Some(first) = found.first() else {
        diffs.push(Diff {
            path: at(&addr),
            expected: "a matching component".into(),
            got: "(missing)".into(),
        });
        return;
    };
    for (name, m) in &c.props {
        match_ical_prop(&at(&format!("{addr}/{name}")), first, name, m, ctx, diffs);
    }
}

/// `NAME` matches the property value, `NAME;PARAM` the value of one parameter. When the
/// property occurs several times, the expectation holds if any occurrence meets it.
fn match_ical_prop(
    path: &str,
    comp: &Component,
    name: &str,
    m: &ValueMatch,
    ctx: &Ctx,
    diffs: &mut Vec<Diff>,
) {
    let (pname, param) = match name.split_once(';') {
        Some((p, q)) => (p, Some(q)),
        None => (name, None),
    };
    let values: Vec<&str> = comp
        .props
        .iter()
        .filter(|p| p.name.eq_ignore_ascii_case(pname))
        .filter_map(|p| match param {
            None => Some(p.value.as_str()),
            Some(q) => p
                .params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(q))
                .map(|(_, v)| v.as_str()),
        })
        .collect();
    if values.len() <= 1 {
        let actual = values.first().map(|v| Actual::Text(v));
        return match_value(path, m, actual, ctx, diffs);
    }
    let mut first_diffs = None;
    for v in &values {
        let mut d = Vec::new();
        match_value(path, m, Some(Actual::Text(v)), ctx, &mut d);
        if d.is_empty() {
            return;
        }
        first_diffs.get_or_insert(d);
    }
    if matches!(m, ValueMatch::Text(t) if t == "absent") {
        diffs.extend(first_diffs.unwrap_or_default());
    } else {
        diffs.push(Diff {
            path: path.to_string(),
            expected: format!(
                "one of the {} occurrences {}",
                values.len(),
                describe(m, ctx)
            ),
            got: format!("{values:?}"),
        });
    }
}

/// The properties of a component by name, each with its parameters, values sorted.
fn props_of(c: &Component, ignore: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &c.props {
        if ignore.iter().any(|i| i.eq_ignore_ascii_case(&p.name)) {
            continue;
        }
        let mut v = String::new();
        for (k, val) in &p.params {
            let _ = write!(v, ";{k}={val}");
        }
        let _ = write!(v, ":{}", p.value);
        m.entry(p.name.clone()).or_default().push(v);
    }
    m.values_mut().for_each(|v| v.sort());
    m
}

/// Path-addressed differences between two calendars, component by component.
fn diff_components(
    prefix: &str,
    want: &Component,
    got: &Component,
    ignore: &[String],
    diffs: &mut Vec<Diff>,
) {
    let here = format!("{prefix}{}", want.address());
    let (pw, pg) = (props_of(want, ignore), props_of(got, ignore));
    for name in pw.keys().chain(pg.keys().filter(|k| !pw.contains_key(*k))) {
        let (a, b) = (pw.get(name), pg.get(name));
        if a != b {
            diffs.push(Diff {
                path: format!("{here}/{name}"),
                expected: a
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_else(|| "(absent)".into()),
                got: b
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_else(|| "(missing)".into()),
            });
        }
    }
    let mut used = vec![false; got.subs.len()];
    for w in &want.subs {
        let pos = got
            .subs
            .iter()
            .enumerate()
            .position(|(i, g)| !used[i] && g.key() == w.key());
        match pos {
            Some(i) => {
                used[i] = true;
                diff_components(&format!("{here}/"), w, &got.subs[i], ignore, diffs);
            }
            None => diffs.push(Diff {
                path: format!("{here}/{}", w.address()),
                expected: "present".into(),
                got: "(missing)".into(),
            }),
        }
    }
    for (i, g) in got.subs.iter().enumerate() {
        if !used[i] {
            diffs.push(Diff {
                path: format!("{here}/{}", g.address()),
                expected: "(absent)".into(),
                got: "present".into(),
            });
        }
    }
}
