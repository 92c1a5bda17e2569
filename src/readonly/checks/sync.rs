//! The checks that compare listings of one calendar: sync-collection against PROPFIND, the
//! stability of the sync token and the getctag across reads, and a year's time-range query
//! against the union of its months.

use super::*;

pub(super) fn not_advertised(what: &str) -> Outcome {
    Outcome::Ignored(format!(
        "the calendar does not list {what} in DAV:supported-report-set"
    ))
}

pub(super) fn listings(s: &Survey) -> Result<(&Listing, &Listing), &Miss> {
    let a = s.list0.as_ref()?;
    let b = s.list1.as_ref()?;
    Ok((a, b))
}

pub(super) fn sync_matches_propfind(j: &Judge, s: &Survey) -> Outcome {
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

pub(super) fn sync_token_stable(j: &Judge, s: &Survey) -> Outcome {
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

pub(super) fn getctag_stable(j: &Judge, s: &Survey) -> Outcome {
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

pub(super) fn year_equals_months(j: &Judge, s: &Survey) -> Outcome {
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
