//! Judging one calendar's survey, one check at a time. A check fails only on what its quoted
//! requirement forbids; what the account's own clients may have changed while the survey ran
//! (the two Depth 1 listings differ, an object's ETag moved) is not held against the server;
//! a read that did not work makes the check inconclusive. Failures name hrefs (as
//! `{calendar}x.ics`), ETags, statuses and property names; property values and bodies only
//! with `--show-data`.

use super::survey::{Fetched, Listing, Miss, Survey};
use super::{Calendar, CheckSpec, Options};
use crate::ical::{self, Component};
use crate::matching::Diff;
use crate::outcome::{Failure, Outcome};
use crate::scenario::Level;
use std::collections::{BTreeMap, BTreeSet};

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
    let gone_now = |href: &str| s.list1.as_ref().is_ok_and(|l| !l.contains_key(href));
    let mut diffs = Vec::new();
    let mut errors = Vec::new();
    for f in s.fetched.iter().filter(|f| f.in_query) {
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
            continue;
        }
        match f.status {
            Some(200) => {}
            Some(st) if gone_now(&f.href) => {
                errors.push(format!(
                    "GET {at} answered {st}: gone meanwhile (not counted)"
                ));
                continue;
            }
            Some(st) => {
                diffs.push(j.diff(format!("GET {at}: status"), "200", st.to_string()));
                continue;
            }
            None => continue,
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
        let Some(body) = &f.body else { continue };
        let at = j.rel(&f.href);
        let Some(g) = got.get(&f.href) else {
            diffs.push(j.diff(
                format!("REPORT calendar-multiget: response[href={at}]"),
                "a DAV:response",
                "(missing)",
            ));
            continue;
        };
        if g.status != 200 {
            diffs.push(j.diff(
                format!("REPORT calendar-multiget: response[href={at}]/status"),
                "200",
                g.status.to_string(),
            ));
            continue;
        }
        let Some(data) = &g.data else {
            diffs.push(j.diff(
                format!(
                    "REPORT calendar-multiget: response[href={at}]/propstat/prop/C:calendar-data"
                ),
                "the calendar object",
                "(missing)",
            ));
            continue;
        };
        if let (Some(a), Some(b)) = (&g.etag, &f.etag) {
            if a != b {
                also.push(format!(
                    "{at} changed between the GET and the multiget (not compared)"
                ));
                continue;
            }
        }
        let (Ok(a), Ok(b)) = (ical::parse(body), ical::parse(data)) else {
            if ical::parse(body).is_ok() {
                diffs.push(j.diff(
                    format!("REPORT calendar-multiget: response[href={at}]/propstat/prop/C:calendar-data"),
                    "the iCalendar object GET returns",
                    "data that is not iCalendar",
                ));
            }
            continue;
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
                format!(
                    "REPORT calendar-multiget: response[href={at}]/propstat/prop/C:calendar-data"
                ),
                "the iCalendar object GET returns",
                got,
            ));
        }
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

fn not_advertised(what: &str) -> Outcome {
    Outcome::Ignored(format!(
        "the calendar does not list {what} in DAV:supported-report-set"
    ))
}

fn listings(s: &Survey) -> Result<(&Listing, &Listing), &Miss> {
    let a = s.list0.as_ref()?;
    let b = s.list1.as_ref()?;
    Ok((a, b))
}

fn sync_matches_propfind(j: &Judge, s: &Survey) -> Outcome {
    let sync = match &s.sync0 {
        None => return not_advertised("sync-collection"),
        Some(Err(m)) => return j.inconclusive("REPORT", m),
        Some(Ok(x)) => x,
    };
    let (a, b) = match listings(s) {
        Ok(x) => x,
        Err(m) => return j.inconclusive("PROPFIND", m),
    };
    let (stable, seen) = stable_and_seen(a, b);
    let mut diffs = Vec::new();
    if !sync.truncated {
        for h in stable.iter().filter(|h| !sync.present.contains(*h)) {
            diffs.push(j.diff(
                format!("REPORT sync-collection: response[href={}]", j.rel(h)),
                "listed (a member in both Depth 1 listings)",
                "(missing)",
            ));
        }
    }
    for h in sync.present.iter().filter(|h| !seen.contains(*h)) {
        diffs.push(j.diff(
            format!("REPORT sync-collection: response[href={}]", j.rel(h)),
            "(not listed: in neither Depth 1 listing)",
            "listed",
        ));
    }
    for (h, st) in &sync.with_status {
        diffs.push(j.diff(
            format!("REPORT sync-collection: response[href={}]/status", j.rel(h)),
            "no removed member in an initial report",
            st.to_string(),
        ));
    }
    if diffs.is_empty() {
        return Outcome::Pass;
    }
    j.fail(
        "REPORT",
        format!(
            "the initial sync-collection lists {} member(s), PROPFIND Depth 1 lists {}: {} difference(s)",
            sync.present.len(),
            a.len(),
            diffs.len()
        ),
        diffs,
    )
}

fn sync_token_stable(j: &Judge, s: &Survey) -> Outcome {
    let delta = match (&s.sync0, &s.delta) {
        (None, _) => return not_advertised("sync-collection"),
        (Some(Err(m)), _) => return j.inconclusive("REPORT", m),
        (_, None) => {
            return j.inconclusive_because("REPORT", "no incremental report was made".into())
        }
        (_, Some(Err(m))) if matches!(m.status, Some(403 | 409)) => {
            let mut f = j.failure("REPORT", m.summary.clone());
            f.exchange = m.exchange.clone();
            f.diffs = vec![j.diff(
                "REPORT sync-collection with the initial token: status".into(),
                "207 (the token was issued seconds ago and nothing changed)",
                m.status.map(|x| x.to_string()).unwrap_or_default(),
            )];
            return Outcome::Fail(f);
        }
        (_, Some(Err(m))) => return j.inconclusive("REPORT", m),
        (_, Some(Ok(d))) => d,
    };
    let (a, b) = match listings(s) {
        Ok(x) => x,
        Err(m) => return j.inconclusive("PROPFIND", m),
    };
    let moved = changed(a, b);
    let listed: BTreeSet<&String> = delta
        .present
        .iter()
        .chain(delta.with_status.keys())
        .collect();
    let mut diffs = Vec::new();
    if moved.is_empty() {
        for h in &listed {
            diffs.push(j.diff(
                format!(
                    "REPORT sync-collection with the initial token: response[href={}]",
                    j.rel(h)
                ),
                "(not listed: the Depth 1 listings before and after are identical)",
                "listed",
            ));
        }
    } else if !delta.truncated {
        for h in moved.iter().filter(|h| !listed.contains(h)) {
            diffs.push(j.diff(
                format!(
                    "REPORT sync-collection with the initial token: response[href={}]",
                    j.rel(h)
                ),
                "listed (it changed between the two Depth 1 listings)",
                "(missing)",
            ));
        }
    }
    if moved.is_empty() {
        if let (Ok(p0), Ok(p1)) = (&s.props0, &s.props1) {
            if p0.sync_token.is_some() && p0.sync_token != p1.sync_token {
                eprintln!(
                    "readonly/{}::sync-token-stable: note: the DAV:sync-token property changed across reads while nothing changed (not judged)",
                    j.cal.name
                );
            }
        }
    }
    if diffs.is_empty() {
        return Outcome::Pass;
    }
    j.fail(
        "REPORT",
        format!(
            "the sync-collection report with the initial token lists {} member(s); {} changed between the listings",
            listed.len(),
            moved.len()
        ),
        diffs,
    )
}

fn getctag_stable(j: &Judge, s: &Survey) -> Outcome {
    let (p0, p1) = match (&s.props0, &s.props1) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(m), _) | (_, Err(m)) => return j.inconclusive("PROPFIND", m),
    };
    let Some(c0) = &p0.ctag else {
        return Outcome::Ignored("the calendar has no CS:getctag".into());
    };
    let (a, b) = match listings(s) {
        Ok(x) => x,
        Err(m) => return j.inconclusive("PROPFIND", m),
    };
    let moved = changed(a, b);
    let same = p1.ctag.as_ref() == Some(c0);
    if same && !moved.is_empty() {
        let diffs = moved
            .iter()
            .map(|h| {
                j.diff(
                    format!("PROPFIND Depth 1: response[href={}]", j.rel(h)),
                    format!("{:?}", a.get(h).and_then(|m| m.etag.clone())),
                    format!(
                        "{:?} (CS:getctag unchanged)",
                        b.get(h).and_then(|m| m.etag.clone())
                    ),
                )
            })
            .collect();
        return j.fail(
            "PROPFIND",
            format!(
                "{} member(s) changed between the two reads, but CS:getctag kept its value",
                moved.len()
            ),
            diffs,
        );
    }
    if !same && moved.is_empty() {
        eprintln!(
            "readonly/{}::getctag-stable: note: CS:getctag changed across reads although no member changed (caldav-ctag-03 does not forbid it; clients re-read the calendar for nothing)",
            j.cal.name
        );
    }
    Outcome::Pass
}

fn year_equals_months(j: &Judge, s: &Survey) -> Outcome {
    let mut diffs = Vec::new();
    let mut checked = 0;
    for r in &s.ranges {
        let r = match r {
            Ok(r) => r,
            Err(m) => return j.inconclusive("REPORT", m),
        };
        checked += 1;
        let union: BTreeSet<&String> = r.months.iter().flatten().collect();
        for h in r.in_year.iter().filter(|h| !union.contains(h)) {
            diffs.push(j.diff(
                format!(
                    "REPORT {} {}: response[href={}]",
                    r.component,
                    r.year,
                    j.rel(h)
                ),
                "also returned by one of the month queries",
                "only by the year query",
            ));
        }
        for h in union.iter().filter(|h| !r.in_year.contains(**h)) {
            let months: Vec<String> = r
                .months
                .iter()
                .enumerate()
                .filter(|(_, m)| m.contains(*h))
                .map(|(i, _)| format!("{:02}", i + 1))
                .collect();
            diffs.push(j.diff(
                format!(
                    "REPORT {} {}: response[href={}]",
                    r.component,
                    r.year,
                    j.rel(h)
                ),
                "also returned by the year query",
                format!("only by the month queries ({})", months.join(", ")),
            ));
        }
    }
    if checked == 0 {
        return Outcome::Ignored(
            "the calendar supports neither VEVENT nor VTODO (supported-calendar-component-set)"
                .into(),
        );
    }
    if diffs.is_empty() {
        return Outcome::Pass;
    }
    j.fail(
        "REPORT",
        format!(
            "the year's time-range query and the union of its months differ in {} object(s)",
            diffs.len()
        ),
        diffs,
    )
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
mod tests {
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
}
