//! Judging one calendar's survey, one check at a time. A check fails only on what its quoted
//! requirement forbids; what the account's own clients may have changed while the survey ran
//! (the two Depth 1 listings differ, an object's ETag moved) is not held against the server;
//! a read that did not work makes the check inconclusive. Failures name hrefs (as
//! `{calendar}x.ics`), ETags, statuses and property names; property values and bodies only
//! with `--show-data`.

use super::survey::{Fetched, Got, Listing, Miss, Survey};
use super::{Calendar, CheckSpec, Options};
use crate::ical::{self, Component};
use crate::matching::Diff;
use crate::outcome::{Failure, Outcome};
use crate::scenario::Level;
use std::collections::{BTreeMap, BTreeSet};

mod sync;
use sync::{
    getctag_stable, listings, sync_matches_propfind, sync_token_stable, year_equals_months,
};

/// The reports RFC 4791 §7 defines.
const CALDAV_REPORTS: &[&str] = &["calendar-query", "calendar-multiget", "free-busy-query"];

/// One line about the survey, printed once per calendar.
pub fn summary(s: &Survey, opts: &Options) -> String {
    let members = match &s.list0 {
        Ok(l) => l.len().to_string(),
        Err(_) => "?".into(),
    };
    let query = match &s.query {
        Ok(q) => q.len().to_string(),
        Err(m) => format!("? ({})", m.summary),
    };
    let mut line = format!(
        "{members} member(s) listed by PROPFIND Depth 1, {query} object(s) by calendar-query, {} fetched",
        s.fetched.len()
    );
    if s.not_fetched > 0 {
        line.push_str(&format!(
            " (--max-objects {}; {} not fetched)",
            opts.max_objects, s.not_fetched
        ));
    }
    line
}

struct Judge<'a> {
    spec: &'a CheckSpec,
    cal: &'a Calendar,
    opts: &'a Options,
}

impl Judge<'_> {
    fn failure(&self, method: &str, summary: impl Into<String>) -> Failure {
        let mut f = Failure::new("read", summary);
        f.method = Some(method.into());
        f.path = Some("{calendar}".into());
        f.spec = self.spec.spec.iter().map(|s| s.to_string()).collect();
        f.requirement = self.spec.requirement.into();
        f.level = Level::Must;
        f.about = self.spec.desc.into();
        f.note = Some(self.spec.note.into());
        f
    }

    fn fail(&self, method: &str, summary: impl Into<String>, diffs: Vec<Diff>) -> Outcome {
        let mut f = self.failure(method, summary);
        f.diffs = diffs;
        Outcome::Fail(f)
    }

    /// The check could not be made: a read it needs did not work.
    fn inconclusive(&self, method: &str, m: &Miss) -> Outcome {
        let mut f = self.failure(method, m.summary.clone());
        f.cause = Some(format!(
            "a read this check needs did not work: {}",
            m.summary
        ));
        f.exchange = m.exchange.clone();
        Outcome::Inconclusive(f)
    }

    fn inconclusive_because(&self, method: &str, why: String) -> Outcome {
        let mut f = self.failure(method, why.clone());
        f.cause = Some(why);
        Outcome::Inconclusive(f)
    }

    /// `{calendar}x.ics` for an href inside the calendar.
    fn rel(&self, href: &str) -> String {
        let me = crate::xml::normalize_href(self.cal.url.path());
        match href.strip_prefix(&me) {
            Some(rest) => format!("{{calendar}}{}", rest.trim_start_matches('/')),
            None => href.to_string(),
        }
    }

    fn diff(&self, path: String, expected: impl Into<String>, got: impl Into<String>) -> Diff {
        Diff {
            path,
            expected: expected.into(),
            got: got.into(),
        }
    }

    /// A value shown only with --show-data.
    fn data(&self, v: &str) -> String {
        if self.opts.show_data {
            v.to_string()
        } else {
            "(calendar data hidden; --show-data shows it)".into()
        }
    }
}

/// Judge `spec` on the survey of `cal`.
pub fn judge(spec: &CheckSpec, s: &Survey, cal: &Calendar, opts: &Options) -> Outcome {
    let j = Judge { spec, cal, opts };
    match spec.name {
        "resourcetype" => resourcetype(&j, s),
        "supported-report-set" => supported_reports(&j, s),
        "query-lists-all" => query_lists_all(&j, s),
        "query-get-etag" => query_get_etag(&j, s),
        "multiget-matches-get" => multiget_matches_get(&j, s),
        "sync-matches-propfind" => sync_matches_propfind(&j, s),
        "sync-token-stable" => sync_token_stable(&j, s),
        "getctag-stable" => getctag_stable(&j, s),
        "year-equals-months" => year_equals_months(&j, s),
        "valid-icalendar" => valid_icalendar(&j, s),
        "object-resource-rules" => object_resource_rules(&j, s),
        other => Outcome::Ignored(format!("unknown read-only check {other}")),
    }
}

fn resourcetype(j: &Judge, s: &Survey) -> Outcome {
    let p = match &s.props0 {
        Ok(p) => p,
        Err(m) => return j.inconclusive("PROPFIND", m),
    };
    let missing: Vec<&str> = ["D:collection", "C:calendar"]
        .into_iter()
        .filter(|t| !p.resourcetype.iter().any(|x| x == t))
        .collect();
    if missing.is_empty() {
        return Outcome::Pass;
    }
    j.fail(
        "PROPFIND",
        format!("DAV:resourcetype lacks {}", missing.join(" and ")),
        vec![j.diff(
            "response[href={calendar}]/propstat/prop/D:resourcetype".into(),
            "D:collection, C:calendar",
            if p.resourcetype.is_empty() {
                "(no resourcetype)".to_string()
            } else {
                p.resourcetype.join(", ")
            },
        )],
    )
}

fn supported_reports(j: &Judge, s: &Survey) -> Outcome {
    let p = match &s.props0 {
        Ok(p) => p,
        Err(m) => return j.inconclusive("PROPFIND", m),
    };
    let path = "response[href={calendar}]/propstat/prop/D:supported-report-set".to_string();
    let Some(reports) = &p.reports else {
        return j.fail(
            "PROPFIND",
            "the calendar has no DAV:supported-report-set",
            vec![j.diff(path, CALDAV_REPORTS.join(", "), "(missing)")],
        );
    };
    let missing: Vec<&str> = CALDAV_REPORTS
        .iter()
        .copied()
        .filter(|r| !reports.iter().any(|x| x == r))
        .collect();
    if missing.is_empty() {
        return Outcome::Pass;
    }
    j.fail(
        "PROPFIND",
        format!(
            "DAV:supported-report-set does not list {}",
            missing.join(", ")
        ),
        vec![j.diff(path, CALDAV_REPORTS.join(", "), reports.join(", "))],
    )
}

/// Hrefs that are in both listings (before and after), and in either.
fn stable_and_seen(a: &Listing, b: &Listing) -> (BTreeSet<String>, BTreeSet<String>) {
    let stable = a.keys().filter(|k| b.contains_key(*k)).cloned().collect();
    let seen = a.keys().chain(b.keys()).cloned().collect();
    (stable, seen)
}

/// Members whose presence or ETag differs between the two listings.
fn changed(a: &Listing, b: &Listing) -> BTreeSet<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

fn query_lists_all(j: &Judge, s: &Survey) -> Outcome {
    let q = match &s.query {
        Ok(q) => q,
        Err(m) if m.status.is_some() => {
            let mut f = j.failure("REPORT", m.summary.clone());
            f.exchange = m.exchange.clone();
            f.diffs = vec![j.diff(
                "REPORT calendar-query: status".into(),
                "207",
                m.status.map(|x| x.to_string()).unwrap_or_default(),
            )];
            return Outcome::Fail(f);
        }
        Err(m) => return j.inconclusive("REPORT", m),
    };
    let (a, b) = match listings(s) {
        Ok(x) => x,
        Err(m) => return j.inconclusive("PROPFIND", m),
    };
    let objects = |l: &Listing| -> BTreeSet<String> {
        l.iter()
            .filter(|(_, m)| !m.collection)
            .map(|(h, _)| h.clone())
            .collect()
    };
    let (o0, o1) = (objects(a), objects(b));
    let mut diffs = Vec::new();
    for h in o0.intersection(&o1).filter(|h| !q.contains_key(*h)) {
        diffs.push(j.diff(
            format!("REPORT calendar-query: response[href={}]", j.rel(h)),
            "listed (an object in both Depth 1 listings)",
            "(missing)",
        ));
    }
    for h in q.keys().filter(|h| !o0.contains(*h) && !o1.contains(*h)) {
        diffs.push(j.diff(
            format!("REPORT calendar-query: response[href={}]", j.rel(h)),
            "(not listed: in neither Depth 1 listing)",
            "listed",
        ));
    }
    if diffs.is_empty() {
        return Outcome::Pass;
    }
    j.fail(
        "REPORT",
        format!(
            "calendar-query with an empty VCALENDAR comp-filter lists {} object(s), PROPFIND Depth 1 lists {}",
            q.len(),
            o0.len()
        ),
        diffs,
    )
}

fn query_get_etag(j: &Judge, s: &Survey) -> Outcome {
    if let Err(m) = &s.query {
        return j.inconclusive("REPORT", m);
    }
    let mut diffs = Vec::new();
    let mut errors = Vec::new();
    for f in s.fetched.iter().filter(|f| f.in_query) {
        query_etag_one(j, s, f, &mut diffs, &mut errors);
    }
    if !diffs.is_empty() {
        let n = diffs.len();
        let mut out = j.fail(
            "GET",
            format!(
                "{n} difference(s) between calendar-query's DAV:getetag and GET among {} object(s)",
                s.fetched.iter().filter(|f| f.in_query).count()
            ),
            diffs,
        );
        if let Outcome::Fail(f) = &mut out {
            f.also = errors;
        }
        return out;
    }
    let unreadable: Vec<&String> = errors
        .iter()
        .filter(|e| !e.contains("not counted"))
        .collect();
    let judged = s.fetched.iter().filter(|f| f.in_query).count();
    if !unreadable.is_empty() && unreadable.len() == judged {
        return j
            .inconclusive_because("GET", format!("no object could be read: {}", unreadable[0]));
    }
    Outcome::Pass
}

/// Compare one object's DAV:getetag from calendar-query with the ETag its GET returned.
fn query_etag_one(
    j: &Judge,
    s: &Survey,
    f: &Fetched,
    diffs: &mut Vec<Diff>,
    errors: &mut Vec<String>,
) {
    let gone_now = |href: &str| s.list1.as_ref().is_ok_and(|l| !l.contains_key(href));
    let at = j.rel(&f.href);
    match &f.query_etag {
        None => diffs.push(j.diff(
            format!("REPORT calendar-query: response[href={at}]/propstat/prop/D:getetag"),
            "a strong entity tag",
            "(missing)",
        )),
        Some(e) if e.starts_with("W/") => diffs.push(j.diff(
            format!("REPORT calendar-query: response[href={at}]/propstat/prop/D:getetag"),
            "a strong entity tag",
            e.clone(),
        )),
        Some(_) => {}
    }
    if let Some(e) = &f.error {
        errors.push(format!("GET {at}: {e}"));
        return;
    }
    match f.status {
        Some(200) => {}
        Some(st) if gone_now(&f.href) => {
            errors.push(format!(
                "GET {at} answered {st}: gone meanwhile (not counted)"
            ));
            return;
        }
        Some(st) => {
            diffs.push(j.diff(format!("GET {at}: status"), "200", st.to_string()));
            return;
        }
        None => return,
    }
    match (&f.etag, &f.query_etag) {
        (None, _) => diffs.push(j.diff(
            format!("GET {at}: header ETag"),
            f.query_etag.clone().unwrap_or_else(|| "an ETag".into()),
            "(missing)",
        )),
        (Some(g), Some(q)) if g != q => {
            if f.reread_etag.as_deref() == Some(g.as_str()) {
                errors.push(format!(
                    "{at} changed between the query and the GET (not counted)"
                ));
            } else {
                diffs.push(j.diff(format!("GET {at}: header ETag"), q.clone(), g.clone()));
            }
        }
        (Some(g), _) if g.starts_with("W/") => diffs.push(j.diff(
            format!("GET {at}: header ETag"),
            "a strong entity tag",
            g.clone(),
        )),
        _ => {}
    }
}

/// Property names (COMPONENT.NAME) on the lines where two canonical forms differ.
fn differing_properties(a: &str, b: &str) -> Vec<String> {
    let la: BTreeSet<&str> = a.lines().collect();
    let lb: BTreeSet<&str> = b.lines().collect();
    let mut names: BTreeSet<String> = BTreeSet::new();
    for l in la.symmetric_difference(&lb) {
        let name = l.split([':', ';']).next().unwrap_or("");
        names.insert(name.to_string());
    }
    names.into_iter().collect()
}

fn multiget_matches_get(j: &Judge, s: &Survey) -> Outcome {
    if let Err(m) = &s.query {
        return j.inconclusive("REPORT", m);
    }
    let got = match &s.multiget {
        Ok(g) => g,
        // A REPORT that the server answered with an error status: the report is REQUIRED.
        Err(m) if m.status.is_some() => {
            let mut f = j.failure("REPORT", m.summary.clone());
            f.exchange = m.exchange.clone();
            f.diffs = vec![j.diff(
                "REPORT calendar-multiget: status".into(),
                "207",
                m.status.map(|x| x.to_string()).unwrap_or_default(),
            )];
            return Outcome::Fail(f);
        }
        Err(m) => return j.inconclusive("REPORT", m),
    };
    let mut diffs = Vec::new();
    let mut also = Vec::new();
    for f in s.fetched.iter().filter(|f| f.status == Some(200)) {
        multiget_one(j, f, got, &mut diffs, &mut also);
    }
    if diffs.is_empty() {
        return Outcome::Pass;
    }
    let mut out = j.fail(
        "REPORT",
        format!(
            "calendar-multiget differs from GET for {} object(s)",
            diffs.len()
        ),
        diffs,
    );
    if let Outcome::Fail(f) = &mut out {
        f.also = also;
    }
    out
}

/// Compare one object's GET body with its calendar-multiget answer.
fn multiget_one(
    j: &Judge,
    f: &Fetched,
    got: &BTreeMap<String, Got>,
    diffs: &mut Vec<Diff>,
    also: &mut Vec<String>,
) {
    let Some(body) = &f.body else { return };
    let at = j.rel(&f.href);
    let Some(g) = got.get(&f.href) else {
        diffs.push(j.diff(
            format!("REPORT calendar-multiget: response[href={at}]"),
            "a DAV:response",
            "(missing)",
        ));
        return;
    };
    if g.status != 200 {
        diffs.push(j.diff(
            format!("REPORT calendar-multiget: response[href={at}]/status"),
            "200",
            g.status.to_string(),
        ));
        return;
    }
    let Some(data) = &g.data else {
        diffs.push(j.diff(
            format!("REPORT calendar-multiget: response[href={at}]/propstat/prop/C:calendar-data"),
            "the calendar object",
            "(missing)",
        ));
        return;
    };
    if let (Some(a), Some(b)) = (&g.etag, &f.etag) {
        if a != b {
            also.push(format!(
                "{at} changed between the GET and the multiget (not compared)"
            ));
            return;
        }
    }
    let (Ok(a), Ok(b)) = (ical::parse(body), ical::parse(data)) else {
        if ical::parse(body).is_ok() {
            diffs.push(j.diff(
                format!(
                    "REPORT calendar-multiget: response[href={at}]/propstat/prop/C:calendar-data"
                ),
                "the iCalendar object GET returns",
                "data that is not iCalendar",
            ));
        }
        return;
    };
    let (ca, cb) = (a.canonical(&[]), b.canonical(&[]));
    if ca != cb {
        let props = differing_properties(&ca, &cb);
        let got = if j.opts.show_data {
            let d = similar::TextDiff::from_lines(&ca, &cb);
            format!(
                "different data:\n{}",
                d.unified_diff()
                    .context_radius(2)
                    .header("GET", "calendar-multiget")
            )
        } else {
            format!("different data in {}", props.join(", "))
        };
        diffs.push(j.diff(
            format!("REPORT calendar-multiget: response[href={at}]/propstat/prop/C:calendar-data"),
            "the iCalendar object GET returns",
            got,
        ));
    }
}

/// The fetched objects with a body, parsed.
fn parsed(s: &Survey) -> Vec<(&Fetched, Result<Component, String>)> {
    s.fetched
        .iter()
        .filter(|f| f.status == Some(200))
        .filter_map(|f| f.body.as_ref().map(|b| (f, ical::parse(b))))
        .collect()
}

fn valid_icalendar(j: &Judge, s: &Survey) -> Outcome {
    if let Err(m) = &s.query {
        return j.inconclusive("REPORT", m);
    }
    let mut diffs = Vec::new();
    for (f, p) in parsed(s) {
        let at = j.rel(&f.href);
        let c = match p {
            Ok(c) => c,
            Err(e) => {
                diffs.push(j.diff(format!("GET {at}"), "an iCalendar object", j.data(&e)));
                continue;
            }
        };
        for name in ["PRODID", "VERSION"] {
            let n = c.props.iter().filter(|p| p.name == name).count();
            if n != 1 {
                diffs.push(j.diff(
                    format!("GET {at}: VCALENDAR/{name}"),
                    "exactly one",
                    n.to_string(),
                ));
            }
        }
        if c.subs.is_empty() {
            diffs.push(j.diff(
                format!("GET {at}: VCALENDAR"),
                "at least one component",
                "none",
            ));
        }
    }
    if diffs.is_empty() {
        return Outcome::Pass;
    }
    j.fail(
        "GET",
        format!("{} problem(s) in the stored iCalendar objects", diffs.len()),
        diffs,
    )
}

/// TZID parameter values used anywhere in `c` (VTIMEZONE components aside).
fn tzids_used(c: &Component, out: &mut BTreeSet<String>) {
    if c.kind == "VTIMEZONE" {
        return;
    }
    for p in &c.props {
        for (k, v) in &p.params {
            if k == "TZID" {
                out.insert(v.trim_matches('"').to_string());
            }
        }
    }
    for s in &c.subs {
        tzids_used(s, out);
    }
}

fn object_resource_rules(j: &Judge, s: &Survey) -> Outcome {
    if let Err(m) = &s.query {
        return j.inconclusive("REPORT", m);
    }
    let mut diffs = Vec::new();
    let mut by_uid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (f, p) in parsed(s) {
        let Ok(c) = p else { continue };
        let at = j.rel(&f.href);
        let comps: Vec<&Component> = c.subs.iter().filter(|x| x.kind != "VTIMEZONE").collect();
        let kinds: BTreeSet<&str> = comps.iter().map(|x| x.kind.as_str()).collect();
        if kinds.len() > 1 {
            diffs.push(j.diff(
                format!("GET {at}: component types"),
                "one type (VTIMEZONE aside)",
                kinds.into_iter().collect::<Vec<_>>().join(", "),
            ));
        }
        if c.prop("METHOD").is_some() {
            diffs.push(j.diff(format!("GET {at}: VCALENDAR/METHOD"), "(absent)", "present"));
        }
        let uids: BTreeSet<&str> = comps.iter().filter_map(|x| x.prop_value("UID")).collect();
        if uids.len() > 1 {
            diffs.push(j.diff(
                format!("GET {at}: UID"),
                "one UID per object",
                format!("{} different UIDs", uids.len()),
            ));
        }
        for u in uids {
            by_uid.entry(u.to_string()).or_default().push(at.clone());
        }
        let mut used = BTreeSet::new();
        tzids_used(&c, &mut used);
        let defined: BTreeSet<String> = c
            .subs
            .iter()
            .filter(|x| x.kind == "VTIMEZONE")
            .filter_map(|x| x.prop_value("TZID").map(|t| t.to_string()))
            .collect();
        let missing: Vec<&String> = used.iter().filter(|t| !defined.contains(*t)).collect();
        if !missing.is_empty() {
            diffs.push(j.diff(
                format!("GET {at}: VTIMEZONE"),
                "one for each TZID used",
                format!(
                    "none for {}",
                    missing.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    for (uid, hrefs) in by_uid.iter().filter(|(_, h)| h.len() > 1) {
        diffs.push(j.diff(
            format!("UID {}", j.data(uid)),
            "in one object",
            format!("in {}", hrefs.join(", ")),
        ));
    }
    if diffs.is_empty() {
        return Outcome::Pass;
    }
    j.fail(
        "GET",
        format!(
            "{} object(s) break the rules for calendar object resources",
            diffs.len()
        ),
        diffs,
    )
}

#[cfg(test)]
mod tests;
