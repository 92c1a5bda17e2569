//! The RFC 4791 §9.9 judge: expands an object's recurrences in wall-clock time and says, from
//! the §9.9 VEVENT and VTODO tables, whether a time-range query must return it, and why.
use super::model::*;
use super::{CAP, T};
use chrono::Duration;
use std::fmt::Write as _;

/// The effective time of one instance as §9.9 tests it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Span {
    /// `start < END AND end > DTSTART`
    Interval(T, T),
    /// `start <= DTSTART AND end > DTSTART`
    Point(T),
}

pub(super) fn overlaps(sp: Span, rs: Option<T>, re: Option<T>) -> bool {
    match sp {
        Span::Interval(a, b) => rs.is_none_or(|s| s < b) && re.is_none_or(|e| e > a),
        Span::Point(a) => rs.is_none_or(|s| s <= a) && re.is_none_or(|e| e > a),
    }
}

pub(super) const ROW_DTEND: &str = "VEVENT with DTEND: (start < DTEND AND end > DTSTART)";
pub(super) const ROW_DUR: &str =
    "VEVENT with DURATION > 0: (start < DTSTART+DURATION AND end > DTSTART)";
pub(super) const ROW_DUR0: &str = "VEVENT with DURATION = 0: (start <= DTSTART AND end > DTSTART)";
pub(super) const ROW_DT: &str =
    "VEVENT without DTEND or DURATION, DATE-TIME DTSTART: (start <= DTSTART AND end > DTSTART)";
pub(super) const ROW_DATE: &str =
    "VEVENT without DTEND or DURATION, DATE DTSTART: (start < DTSTART+P1D AND end > DTSTART)";

/// The §9.9 VEVENT table: the span and the row that applies.
pub(super) fn event_span(dtstart: &When, end: &EvEnd) -> (Span, &'static str) {
    let s = dtstart.native();
    match end {
        EvEnd::Dtend(e) => (Span::Interval(s, e.native()), ROW_DTEND),
        EvEnd::Duration(d) if *d > 0 => (Span::Interval(s, s + Duration::seconds(*d)), ROW_DUR),
        EvEnd::Duration(_) => (Span::Point(s), ROW_DUR0),
        EvEnd::None if dtstart.is_date() => (Span::Interval(s, s + Duration::days(1)), ROW_DATE),
        EvEnd::None => (Span::Point(s), ROW_DT),
    }
}

pub(super) fn show_span(sp: Span) -> String {
    match sp {
        Span::Interval(a, b) => format!("[{}, {})", show(a), show(b)),
        Span::Point(a) => format!("the instant {}", show(a)),
    }
}

/// One instance of an event, on the object's own time line.
#[derive(Clone, Debug)]
pub(super) struct Inst {
    pub(super) span: Span,
    pub(super) row: &'static str,
    pub(super) label: String,
}

impl Inst {
    pub(super) fn start(&self) -> T {
        match self.span {
            Span::Interval(a, _) | Span::Point(a) => a,
        }
    }
}

/// The instances of an object up to a horizon.
#[derive(Clone, Debug)]
pub struct Expansion {
    pub(super) insts: Vec<Inst>,
    /// Set when the recurrence goes on: no instance starting before this time is missing.
    pub(super) truncated_at: Option<T>,
    /// Instances the RRULE gave that EXDATE or an override removed.
    pub(super) removed: Vec<String>,
}

/// Wall-clock starts of the RRULE instances up to `horizon` (on the object's time line), and
/// the time line position of the first instance left out when the rule goes on.
pub(super) fn rule_locals(
    dtstart: &When,
    rule: &Rule,
    horizon: T,
) -> Result<(Vec<T>, Option<T>), String> {
    // Expand in wall-clock time: the rule's local times, written as if they were UTC.
    let text = format!(
        "DTSTART:{}Z\nRRULE:{}",
        ical_dt(dtstart.local()),
        rule.text(false)
    );
    let set: rrule::RRuleSet = text
        .parse()
        .map_err(|e| format!("the rrule crate cannot read {text:?}: {e}"))?;
    let until = match &rule.term {
        Term::Until(u) => Some(u.native()),
        _ => None,
    };
    let mut out = Vec::new();
    for dt in &set {
        let l = dt.naive_utc();
        let n = dtstart.with_local(l).native();
        if until.is_some_and(|u| n > u) {
            return Ok((out, None));
        }
        if n >= horizon || out.len() >= CAP {
            return Ok((out, Some(n)));
        }
        out.push(l);
    }
    Ok((out, None))
}

/// Expand an object's instances up to `horizon` (on its own time line).
pub fn expand(obj: &Obj, horizon: T) -> Result<Expansion, String> {
    let Body::Event(ev) = &obj.body else {
        return Ok(Expansion {
            insts: Vec::new(),
            truncated_at: None,
            removed: Vec::new(),
        });
    };
    let (span0, row) = event_span(&ev.dtstart, &ev.end);
    let Some(rule) = &ev.rrule else {
        return Ok(Expansion {
            insts: vec![Inst {
                span: span0,
                row,
                label: format!("the event at {}", ev.dtstart),
            }],
            truncated_at: None,
            removed: Vec::new(),
        });
    };
    let shape = |n: T| match span0 {
        // Every instance has the master's exact duration (RFC 5545 §3.8.5.3).
        Span::Interval(a, b) => Span::Interval(n, n + (b - a)),
        Span::Point(_) => Span::Point(n),
    };
    let (locals, truncated_at) = rule_locals(&ev.dtstart, rule, horizon)?;
    let mut insts = Vec::new();
    let mut removed = Vec::new();
    for (k, l) in locals.iter().enumerate() {
        let w = ev.dtstart.with_local(*l);
        if ev.exdates.iter().any(|x| x.local() == *l) {
            removed.push(format!("RRULE instance #{} at {w} (EXDATE)", k + 1));
            continue;
        }
        if let Some(o) = ev.overrides.iter().find(|o| o.rid.local() == *l) {
            removed.push(format!(
                "RRULE instance #{} at {w} (overridden: moved to {})",
                k + 1,
                o.dtstart
            ));
            continue;
        }
        insts.push(Inst {
            span: shape(w.native()),
            row,
            label: format!("RRULE instance #{} at {w}", k + 1),
        });
    }
    for r in &ev.rdates {
        if ev.exdates.iter().any(|x| x.local() == r.local()) || locals.contains(&r.local()) {
            continue;
        }
        insts.push(Inst {
            span: shape(r.native()),
            row,
            label: format!("the RDATE instance at {r}"),
        });
    }
    for o in &ev.overrides {
        let (span, row) = event_span(&o.dtstart, &o.end);
        insts.push(Inst {
            span,
            row,
            label: format!(
                "the overridden instance RECURRENCE-ID {} at its new time {}",
                o.rid, o.dtstart
            ),
        });
    }
    insts.sort_by_key(Inst::start);
    Ok(Expansion {
        insts,
        truncated_at,
        removed,
    })
}

/// The oracle's answer for one (object, range, component type), with its reasoning.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub matched: bool,
    pub reason: String,
}

pub(super) fn yes(reason: String) -> Verdict {
    Verdict {
        matched: true,
        reason,
    }
}

pub(super) fn no(reason: String) -> Verdict {
    Verdict {
        matched: false,
        reason,
    }
}

/// Judge an event's expansion against a range on the object's time line; `None` when the
/// expansion does not reach far enough to decide.
pub(super) fn judge_event(exp: &Expansion, rs: Option<T>, re: Option<T>) -> Option<Verdict> {
    if let Some(i) = exp.insts.iter().find(|i| overlaps(i.span, rs, re)) {
        return Some(yes(format!(
            "{} occupies {} and overlaps the range by §9.9 row \"{}\"",
            i.label,
            show_span(i.span),
            i.row
        )));
    }
    if let Some(h) = exp.truncated_at {
        match re {
            None => {
                return Some(yes(format!(
                    "the recurrence goes on past {} and the range has no end",
                    show(h)
                )))
            }
            Some(e) if e > h => return None,
            Some(_) => {}
        }
    }
    let mut why = format!("no instance overlaps ({} considered", exp.insts.len());
    if !exp.removed.is_empty() {
        let _ = write!(why, "; removed: {}", exp.removed.join("; "));
    }
    why.push(')');
    let before = exp
        .insts
        .iter()
        .rfind(|i| rs.is_some_and(|s| i.start() < s));
    let after = exp
        .insts
        .iter()
        .find(|i| re.is_some_and(|e| i.start() >= e));
    if let Some(b) = before {
        let _ = write!(
            why,
            "; the last one before the range is {} occupying {} (row \"{}\")",
            b.label,
            show_span(b.span),
            b.row
        );
    }
    if let Some(a) = after {
        let _ = write!(
            why,
            "; the first one after it is {} occupying {}",
            a.label,
            show_span(a.span)
        );
    }
    Some(no(why))
}

/// The §9.9 VTODO table.
pub fn judge_todo(t: &Todo, rs: Option<T>, re: Option<T>) -> Verdict {
    let s_lt = |x: T| rs.is_none_or(|s| s < x);
    let s_le = |x: T| rs.is_none_or(|s| s <= x);
    let e_gt = |x: T| re.is_none_or(|e| e > x);
    let e_ge = |x: T| re.is_none_or(|e| e >= x);
    let ds = t.dtstart.map(|w| w.native());
    let due = t.due.map(|w| w.native());
    let (cond, row) = match (ds, t.duration, due, t.completed, t.created) {
        (Some(ds), Some(d), None, _, _) => {
            let end = ds + Duration::seconds(d);
            (
                s_le(end) && (e_gt(ds) || e_ge(end)),
                "VTODO with DTSTART and DURATION: (start <= DTSTART+DURATION) AND ((end > DTSTART) OR (end >= DTSTART+DURATION))",
            )
        }
        (Some(ds), None, Some(due), _, _) => (
            (s_lt(due) || s_le(ds)) && (e_gt(ds) || e_ge(due)),
            "VTODO with DTSTART and DUE: ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE))",
        ),
        (Some(ds), None, None, _, _) => (
            s_le(ds) && e_gt(ds),
            "VTODO with DTSTART only: (start <= DTSTART) AND (end > DTSTART)",
        ),
        (None, _, Some(due), _, _) => (
            s_lt(due) && e_ge(due),
            "VTODO with DUE only: (start < DUE) AND (end >= DUE)",
        ),
        (None, _, None, Some(c), Some(cr)) => (
            (s_le(cr) || s_le(c)) && (e_ge(cr) || e_ge(c)),
            "VTODO with COMPLETED and CREATED: ((start <= CREATED) OR (start <= COMPLETED)) AND ((end >= CREATED) OR (end >= COMPLETED))",
        ),
        (None, _, None, Some(c), None) => (
            s_le(c) && e_ge(c),
            "VTODO with COMPLETED only: (start <= COMPLETED) AND (end >= COMPLETED)",
        ),
        (None, _, None, None, Some(cr)) => (e_gt(cr), "VTODO with CREATED only: (end > CREATED)"),
        (None, _, None, None, None) => (
            true,
            "VTODO without DTSTART, DUE, COMPLETED or CREATED: TRUE",
        ),
        // DUE with DURATION cannot occur (RFC 5545 forbids it); judge by DUE.
        (Some(ds), Some(_), Some(due), _, _) => (
            (s_lt(due) || s_le(ds)) && (e_gt(ds) || e_ge(due)),
            "VTODO with DTSTART and DUE: ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE))",
        ),
    };
    let v = format!(
        "§9.9 row \"{row}\" is {}",
        if cond { "true" } else { "false" }
    );
    Verdict {
        matched: cond,
        reason: v,
    }
}

/// Judge one object against a range (already on the object's time line).
pub(super) fn judge(
    obj: &Obj,
    exp: &Expansion,
    rs: Option<T>,
    re: Option<T>,
    kind: CompType,
) -> Option<Verdict> {
    match (&obj.body, kind) {
        (Body::Event(_), CompType::Vevent) => judge_event(exp, rs, re),
        (Body::Todo(t), CompType::Vtodo) => Some(judge_todo(t, rs, re)),
        (Body::Event(_), CompType::Vtodo) => Some(no("the object has no VTODO".into())),
        (Body::Todo(_), CompType::Vevent) => Some(no("the object has no VEVENT".into())),
    }
}

/// How floating times and dates are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Floating {
    /// In UTC (the calendar-timezone the oracle set).
    Utc,
    /// In a zone of the server's choice: judged only where every offset agrees.
    AnyZone,
}

/// The oracle's expectation for one (object, range, component type); `None` when it cannot be
/// decided (floating times without a known zone, or a recurrence beyond the expansion cap).
pub fn expected(
    obj: &Obj,
    exp: &Expansion,
    range: &TimeRange,
    kind: CompType,
    floating: Floating,
) -> Option<Verdict> {
    // Floating wall-clock time L in a zone of offset `off` (seconds east) is UTC L - off, so
    // the range moves by +off on the wall-clock time line.
    let offsets: Vec<i64> = if obj.is_floating() && floating == Floating::AnyZone {
        (-48..=56).map(|q| q * 900).collect()
    } else {
        vec![0]
    };
    let mut first: Option<Verdict> = None;
    for off in offsets {
        let d = Duration::seconds(off);
        let v = judge(
            obj,
            exp,
            range.start.map(|s| s + d),
            range.end.map(|e| e + d),
            kind,
        )?;
        match &first {
            None => first = Some(v),
            Some(f) if f.matched != v.matched => return None,
            Some(_) => {}
        }
    }
    first.map(|mut v| {
        if obj.is_floating() {
            v.reason.push_str(match floating {
                Floating::Utc => " (floating times read in UTC, the calendar-timezone)",
                Floating::AnyZone => " (in every UTC offset from -12:00 to +14:00)",
            });
        }
        v
    })
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::testutil::*;
    use chrono::Weekday;

    #[test]
    fn vevent_with_dtend() {
        let (a, b) = (t(2025, 3, 10, 10, 0), t(2025, 3, 10, 11, 0));
        for o in [
            obj(Body::Event(ev(When::Utc(a), EvEnd::Dtend(When::Utc(b))))),
            obj(Body::Event(ev(When::Utc(a), EvEnd::Duration(3600)))),
        ] {
            assert!(m(&o, Some(a), Some(b)));
            assert!(!m(&o, Some(t(2025, 3, 10, 9, 0)), Some(a)), "end exclusive");
            assert!(
                !m(&o, Some(b), Some(t(2025, 3, 10, 12, 0))),
                "ends at start"
            );
            assert!(m(&o, Some(sec(b, -1)), Some(t(2025, 3, 10, 12, 0))));
            assert!(m(&o, Some(t(2025, 3, 10, 9, 0)), Some(sec(a, 1))));
            assert!(m(&o, None, Some(sec(a, 1))));
            assert!(!m(&o, None, Some(a)));
            assert!(!m(&o, Some(b), None));
            assert!(m(&o, Some(sec(b, -1)), None));
            assert!(m(
                &o,
                Some(t(2025, 3, 10, 10, 20)),
                Some(t(2025, 3, 10, 10, 40))
            ));
        }
    }

    #[test]
    fn vevent_zero_duration_and_no_end() {
        let a = t(2025, 3, 10, 10, 0);
        for o in [
            obj(Body::Event(ev(When::Utc(a), EvEnd::Duration(0)))),
            obj(Body::Event(ev(When::Utc(a), EvEnd::None))),
        ] {
            assert!(m(&o, Some(a), Some(sec(a, 1))), "start <= DTSTART");
            assert!(m(&o, Some(sec(a, -60)), Some(sec(a, 1))));
            assert!(!m(&o, Some(sec(a, -60)), Some(a)), "end > DTSTART");
            assert!(!m(&o, Some(sec(a, 1)), Some(sec(a, 60))));
            assert!(m(&o, Some(a), None));
            assert!(!m(&o, None, Some(a)));
        }
    }

    #[test]
    fn vevent_all_day() {
        let day = d(2025, 1, 10);
        let mid = t(2025, 1, 10, 0, 0);
        let next = t(2025, 1, 11, 0, 0);
        let one = obj(Body::Event(ev(When::Date(day), EvEnd::None)));
        assert!(m(&one, Some(mid), Some(sec(mid, 1))));
        assert!(m(&one, Some(sec(next, -1)), Some(next)));
        assert!(!m(&one, Some(next), Some(t(2025, 1, 12, 0, 0))), "P1D end");
        assert!(!m(&one, Some(t(2025, 1, 9, 0, 0)), Some(mid)));
        let two = obj(Body::Event(ev(
            When::Date(day),
            EvEnd::Dtend(When::Date(d(2025, 1, 12))),
        )));
        assert!(m(
            &two,
            Some(t(2025, 1, 11, 12, 0)),
            Some(t(2025, 1, 11, 13, 0))
        ));
        assert!(!m(&two, Some(t(2025, 1, 12, 0, 0)), None));
        let dur = obj(Body::Event(ev(
            When::Date(day),
            EvEnd::Duration(2 * 86_400),
        )));
        assert!(m(&dur, Some(sec(t(2025, 1, 12, 0, 0), -1)), None));
        assert!(!m(&dur, Some(t(2025, 1, 12, 0, 0)), None));
        // Floating in an unknown zone (offsets -12:00 to +14:00 span 26 hours): a one-day
        // event is never certainly matched, a two-day one is in the middle, and far ranges are
        // certainly not matched.
        let r = |s, e| TimeRange {
            start: Some(s),
            end: Some(e),
            why: String::new(),
        };
        let any = |o: &Obj, rr: &TimeRange| {
            let exp = expand(o, t(2025, 2, 1, 0, 0)).unwrap();
            expected(o, &exp, rr, CompType::Vevent, Floating::AnyZone).map(|v| v.matched)
        };
        let noon = r(t(2025, 1, 10, 11, 0), t(2025, 1, 10, 12, 0));
        assert_eq!(any(&one, &noon), None);
        assert_eq!(
            any(&one, &r(t(2025, 1, 20, 0, 0), t(2025, 1, 21, 0, 0))),
            Some(false)
        );
        assert_eq!(
            any(&two, &r(t(2025, 1, 11, 5, 0), t(2025, 1, 11, 6, 0))),
            Some(true)
        );
        assert_eq!(
            any(&two, &r(t(2025, 1, 12, 5, 0), t(2025, 1, 12, 6, 0))),
            None
        );
        assert!(m(
            &one,
            Some(t(2025, 1, 10, 11, 0)),
            Some(t(2025, 1, 10, 12, 0))
        ));
    }

    #[test]
    fn vtodo_table_rows_with_dtstart_or_due() {
        let ds = t(2025, 5, 1, 10, 0);
        let due = t(2025, 5, 1, 12, 0);
        let h = |x: T, n: i64| x + Duration::hours(n);
        let todo = |dtstart, due, duration, completed, created| Todo {
            dtstart,
            due,
            duration,
            completed,
            created,
            alarm: None,
        };
        // Row 1: DTSTART + DURATION.
        let r1 = todo(Some(When::Utc(ds)), None, Some(7200), None, None);
        assert!(mt(&r1, Some(h(ds, 1)), Some(h(ds, 3))));
        assert!(
            mt(&r1, Some(h(ds, 2)), Some(h(ds, 3))),
            "start <= DTSTART+DURATION"
        );
        assert!(!mt(&r1, Some(sec(h(ds, 2), 1)), None));
        assert!(
            !mt(&r1, Some(h(ds, -1)), Some(ds)),
            "end > DTSTART fails, end < D+DUR"
        );
        // Row 1 with zero duration: end >= DTSTART+DURATION = DTSTART holds at end == DTSTART.
        let r1z = todo(Some(When::Utc(ds)), None, Some(0), None, None);
        assert!(mt(&r1z, Some(h(ds, -1)), Some(ds)));
        assert!(!mt(&r1z, Some(sec(ds, 1)), None));
        // Row 2: DTSTART + DUE.
        let r2 = todo(Some(When::Utc(ds)), Some(When::Utc(due)), None, None, None);
        assert!(mt(&r2, Some(h(ds, 1)), Some(h(ds, 2))));
        assert!(!mt(&r2, Some(due), None), "start < DUE or start <= DTSTART");
        assert!(mt(&r2, Some(sec(due, -1)), None));
        assert!(!mt(&r2, None, Some(ds)), "end > DTSTART or end >= DUE");
        assert!(mt(&r2, None, Some(sec(ds, 1))));
        // Row 2 with DUE == DTSTART.
        let r2z = todo(Some(When::Utc(ds)), Some(When::Utc(ds)), None, None, None);
        assert!(mt(&r2z, Some(ds), Some(sec(ds, 1))));
        assert!(mt(&r2z, Some(h(ds, -1)), Some(ds)));
        assert!(!mt(&r2z, Some(sec(ds, 1)), None));
        // Row 3: DTSTART only.
        let r3 = todo(Some(When::Utc(ds)), None, None, None, None);
        assert!(mt(&r3, Some(ds), Some(sec(ds, 1))));
        assert!(!mt(&r3, Some(h(ds, -1)), Some(ds)));
        assert!(!mt(&r3, Some(sec(ds, 1)), None));
        // Row 4: DUE only.
        let r4 = todo(None, Some(When::Utc(due)), None, None, None);
        assert!(mt(&r4, Some(h(due, -1)), Some(due)), "end >= DUE");
        assert!(!mt(&r4, Some(due), Some(h(due, 1))), "start < DUE");
        assert!(!mt(&r4, Some(h(due, -2)), Some(h(due, -1))));
    }

    #[test]
    fn vtodo_table_rows_without_dtstart_or_due() {
        let ds = t(2025, 5, 1, 10, 0);
        let h = |x: T, n: i64| x + Duration::hours(n);
        let todo = |dtstart, due, duration, completed, created| Todo {
            dtstart,
            due,
            duration,
            completed,
            created,
            alarm: None,
        };
        // Rows 5-8: COMPLETED and CREATED.
        let (cr, co) = (t(2025, 4, 1, 8, 0), t(2025, 4, 20, 8, 0));
        let r5 = todo(None, None, None, Some(co), Some(cr));
        assert!(mt(
            &r5,
            Some(t(2025, 4, 10, 0, 0)),
            Some(t(2025, 4, 11, 0, 0))
        ));
        assert!(mt(&r5, Some(co), Some(h(co, 1))));
        assert!(mt(&r5, Some(h(cr, -1)), Some(cr)));
        assert!(!mt(&r5, Some(sec(co, 1)), None));
        assert!(!mt(&r5, None, Some(sec(cr, -1))));
        let r6 = todo(None, None, None, Some(co), None);
        assert!(mt(&r6, Some(co), Some(co + Duration::seconds(1))));
        assert!(mt(&r6, Some(h(co, -1)), Some(co)), "end >= COMPLETED");
        assert!(!mt(&r6, Some(sec(co, 1)), None));
        let r7 = todo(None, None, None, None, Some(cr));
        assert!(!mt(&r7, Some(h(cr, -2)), Some(cr)), "end > CREATED");
        assert!(mt(&r7, Some(h(cr, -2)), Some(sec(cr, 1))));
        assert!(mt(&r7, Some(t(2030, 1, 1, 0, 0)), None));
        let r8 = todo(None, None, None, None, None);
        assert!(mt(
            &r8,
            Some(t(1999, 1, 1, 0, 0)),
            Some(t(1999, 1, 2, 0, 0))
        ));
        // A VTODO never matches a VEVENT query.
        let o = obj(Body::Todo(r8));
        let exp = expand(&o, ds).unwrap();
        let r = TimeRange {
            start: None,
            end: Some(ds),
            why: String::new(),
        };
        assert!(
            !expected(&o, &exp, &r, CompType::Vevent, Floating::Utc)
                .unwrap()
                .matched
        );
        assert!(
            expected(&o, &exp, &r, CompType::Vtodo, Floating::Utc)
                .unwrap()
                .matched
        );
    }

    #[test]
    fn recurrence_exdate_override_rdate_count() {
        // Weekly on Mondays 10:00Z, 4 times: 3, 10, 17, 24 March 2025.
        let a = t(2025, 3, 3, 10, 0);
        let mut e = ev(When::Utc(a), EvEnd::Duration(3600));
        e.rrule = Some(Rule {
            freq: Freq::Weekly,
            interval: 1,
            byday: vec![Weekday::Mon],
            bymonthday: None,
            term: Term::Count(4),
        });
        e.exdates = vec![When::Utc(t(2025, 3, 10, 10, 0))];
        e.overrides = vec![Override {
            rid: When::Utc(t(2025, 3, 17, 10, 0)),
            dtstart: When::Utc(t(2025, 4, 30, 9, 0)),
            end: EvEnd::Dtend(When::Utc(t(2025, 4, 30, 9, 30))),
        }];
        e.rdates = vec![When::Utc(t(2025, 3, 20, 15, 0))];
        let o = obj(Body::Event(e));
        let day = |dd: T| (Some(at(dd.date(), 0, 0)), Some(at(dd.date(), 23, 0)));
        let (s, en) = day(a);
        assert!(m(&o, s, en), "first instance");
        let (s, en) = day(t(2025, 3, 10, 0, 0));
        assert!(!m(&o, s, en), "EXDATE removes it");
        let (s, en) = day(t(2025, 3, 17, 0, 0));
        assert!(!m(&o, s, en), "overridden instance moved away");
        assert!(m(
            &o,
            Some(t(2025, 4, 30, 9, 29)),
            Some(t(2025, 4, 30, 9, 31))
        ));
        assert!(!m(
            &o,
            Some(t(2025, 4, 30, 9, 30)),
            Some(t(2025, 4, 30, 10, 0))
        ));
        let (s, en) = day(t(2025, 3, 24, 0, 0));
        assert!(m(&o, s, en), "fourth instance");
        let (s, en) = day(t(2025, 3, 31, 0, 0));
        assert!(!m(&o, s, en), "COUNT=4 ends it");
        assert!(m(
            &o,
            Some(t(2025, 3, 20, 15, 59)),
            Some(t(2025, 3, 20, 16, 0))
        ));
        assert!(!m(
            &o,
            Some(t(2025, 3, 20, 16, 0)),
            Some(t(2025, 3, 20, 17, 0))
        ));
        assert!(!m(&o, Some(t(2025, 5, 1, 0, 0)), None));
        assert!(m(&o, Some(t(2025, 4, 1, 0, 0)), None), "the moved instance");
        // An override moved INTO a range where no RRULE instance is.
        assert!(!m(
            &o,
            Some(t(2025, 4, 29, 0, 0)),
            Some(t(2025, 4, 30, 9, 0))
        ));
    }

    #[test]
    fn recurrence_until_is_inclusive_and_forever_reaches_far() {
        let a = t(2025, 3, 3, 10, 0);
        let rule = |term| Rule {
            freq: Freq::Daily,
            interval: 2,
            byday: vec![],
            bymonthday: None,
            term,
        };
        let mut e = ev(When::Utc(a), EvEnd::None);
        e.rrule = Some(rule(Term::Until(When::Utc(t(2025, 3, 7, 10, 0)))));
        let o = obj(Body::Event(e.clone()));
        assert!(m(
            &o,
            Some(t(2025, 3, 7, 10, 0)),
            Some(t(2025, 3, 7, 11, 0))
        ));
        assert!(!m(&o, Some(t(2025, 3, 9, 0, 0)), None));
        e.rrule = Some(rule(Term::Until(When::Utc(t(2025, 3, 7, 9, 59)))));
        let o = obj(Body::Event(e.clone()));
        assert!(!m(&o, Some(t(2025, 3, 7, 0, 0)), None));
        e.rrule = Some(rule(Term::Forever));
        let o = obj(Body::Event(e));
        // 2030-06-02 is an odd number of days after 2025-03-03? Check both neighbours.
        let n = (d(2030, 6, 2) - d(2025, 3, 3)).num_days();
        let on = if n % 2 == 0 {
            d(2030, 6, 2)
        } else {
            d(2030, 6, 3)
        };
        let off = on + Duration::days(1);
        assert!(m(&o, Some(at(on, 10, 0)), Some(at(on, 10, 1))));
        assert!(!m(&o, Some(at(off, 0, 0)), Some(at(off, 23, 0))));
        assert!(
            m(&o, Some(at(off, 0, 0)), None),
            "open end: a later instance"
        );
        // Beyond the expansion horizon: undecided rather than wrong.
        let exp = expand(&o, t(2026, 1, 1, 0, 0)).unwrap();
        let r = TimeRange {
            start: Some(at(on, 10, 0)),
            end: Some(at(on, 10, 1)),
            why: String::new(),
        };
        assert!(expected(&o, &exp, &r, CompType::Vevent, Floating::Utc).is_none());
    }

    /// Each (matches, start, end): whether a VEVENT query with that range returns `o`.
    fn expect_matches(o: &Obj, cases: &[(bool, T, T)]) {
        for &(want, s, e) in cases {
            assert_eq!(m(o, Some(s), Some(e)), want, "range {s} .. {e}");
        }
    }

    #[test]
    fn tzid_recurrence_follows_dst() {
        // Weekly Sundays 09:00 Berlin from 2025-03-23 (CET, 08:00Z); after 30 March CEST (07:00Z).
        let mut e = ev(
            When::Zoned(Zone::Berlin, t(2025, 3, 23, 9, 0)),
            EvEnd::Duration(1800),
        );
        e.rrule = Some(Rule {
            freq: Freq::Weekly,
            interval: 1,
            byday: vec![],
            bymonthday: None,
            term: Term::Count(3),
        });
        let o = obj(Body::Event(e));
        expect_matches(
            &o,
            &[
                (true, t(2025, 3, 23, 8, 0), t(2025, 3, 23, 8, 1)),
                (false, t(2025, 3, 23, 7, 0), t(2025, 3, 23, 8, 0)),
                (true, t(2025, 3, 30, 7, 0), t(2025, 3, 30, 7, 1)),
                (false, t(2025, 3, 30, 7, 30), t(2025, 3, 30, 8, 30)),
            ],
        );
        // New York: 2025-11-02 ends DST; 10:00 local is 14:00Z before, 15:00Z after.
        let mut e = ev(
            When::Zoned(Zone::NewYork, t(2025, 10, 26, 10, 0)),
            EvEnd::None,
        );
        e.rrule = Some(Rule {
            freq: Freq::Weekly,
            interval: 1,
            byday: vec![Weekday::Sun],
            bymonthday: None,
            term: Term::Until(When::Utc(t(2025, 11, 2, 15, 0))),
        });
        let o = obj(Body::Event(e));
        expect_matches(
            &o,
            &[
                (true, t(2025, 10, 26, 14, 0), t(2025, 10, 26, 14, 1)),
                (true, t(2025, 11, 2, 15, 0), t(2025, 11, 2, 15, 1)),
                (false, t(2025, 11, 2, 14, 0), t(2025, 11, 2, 15, 0)),
            ],
        );
    }

    #[test]
    fn date_recurrence_with_exdate() {
        let mut e = ev(When::Date(d(2025, 6, 1)), EvEnd::None);
        e.rrule = Some(Rule {
            freq: Freq::Daily,
            interval: 1,
            byday: vec![],
            bymonthday: None,
            term: Term::Until(When::Date(d(2025, 6, 5))),
        });
        e.exdates = vec![When::Date(d(2025, 6, 3))];
        let o = obj(Body::Event(e));
        assert!(m(&o, Some(t(2025, 6, 2, 23, 0)), Some(t(2025, 6, 3, 0, 0))));
        assert!(!m(&o, Some(t(2025, 6, 3, 0, 0)), Some(t(2025, 6, 4, 0, 0))));
        assert!(m(
            &o,
            Some(t(2025, 6, 5, 12, 0)),
            Some(t(2025, 6, 5, 13, 0))
        ));
        assert!(!m(&o, Some(t(2025, 6, 6, 0, 0)), None));
    }
}
