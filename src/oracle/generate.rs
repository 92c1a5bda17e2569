//! The generator: from a seed, a calendar of random but valid objects and the time ranges to
//! query it with (random windows, instance boundaries, far future, open ends).
use super::judge::*;
use super::model::*;
use super::{OBJECTS, RANGES, T};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;

/// A generated calendar and the ranges to query it with.
#[derive(Clone, Debug)]
pub struct Case {
    pub seed: u64,
    /// "Today" (UTC) the dates are relative to.
    pub base: NaiveDate,
    pub objects: Vec<Obj>,
    pub ranges: Vec<TimeRange>,
    /// The time line position past every range: expansions stop there.
    pub horizon: T,
}

impl Case {
    pub fn dtstamp(&self) -> T {
        at(self.base, 0, 0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Flavor {
    Utc,
    Zoned(Zone),
    Floating,
    Date,
}

impl Flavor {
    pub(super) fn make(self, l: T) -> When {
        match self {
            Flavor::Utc => When::Utc(l),
            Flavor::Zoned(z) => When::Zoned(z, l),
            Flavor::Floating => When::Floating(l),
            Flavor::Date => When::Date(l.date()),
        }
    }
    pub(super) fn tag(self) -> &'static str {
        match self {
            Flavor::Utc => "utc",
            Flavor::Zoned(Zone::Berlin) => "berlin",
            Flavor::Zoned(Zone::NewYork) => "newyork",
            Flavor::Floating => "floating",
            Flavor::Date => "allday",
        }
    }
}

pub(super) const TIMED_DURS: &[i64] = &[900, 1800, 3600, 5400, 7200, 10_800, 28_800];

pub(super) fn rand_day(rng: &mut StdRng, base: NaiveDate) -> NaiveDate {
    let d = if rng.random_bool(0.15) {
        rng.random_range(365..1500)
    } else {
        rng.random_range(-20..60)
    };
    base + Duration::days(d)
}

/// A wall-clock time between 06:00 and 14:45, on a quarter hour.
pub(super) fn rand_local(rng: &mut StdRng, day: NaiveDate) -> T {
    at(
        day,
        rng.random_range(6..15),
        *[0, 15, 30, 45].choose(rng).unwrap_or(&0),
    )
}

pub(super) fn rand_flavor(rng: &mut StdRng) -> Flavor {
    match rng.random_range(0..10) {
        0..=2 => Flavor::Utc,
        3 | 4 => Flavor::Zoned(Zone::Berlin),
        5 => Flavor::Zoned(Zone::NewYork),
        6 | 7 => Flavor::Floating,
        _ => Flavor::Date,
    }
}

pub(super) fn rand_end(rng: &mut StdRng, start: &When, long_ok: bool) -> EvEnd {
    if start.is_date() {
        let n = rng.random_range(1..4);
        return match rng.random_range(0..3) {
            0 => EvEnd::Dtend(When::Date(start.local().date() + Duration::days(n))),
            1 => EvEnd::Duration(n * 86_400),
            _ => EvEnd::None,
        };
    }
    let mut d = *TIMED_DURS.choose(rng).unwrap_or(&3600);
    if long_ok && matches!(start, When::Utc(_)) && rng.random_bool(0.3) {
        d = *[93_600, 259_200].choose(rng).unwrap_or(&93_600);
    }
    match rng.random_range(0..6) {
        0 | 1 => EvEnd::Dtend(start.with_local(start.local() + Duration::seconds(d))),
        2 | 3 => EvEnd::Duration(d),
        4 => EvEnd::Duration(0),
        _ => EvEnd::None,
    }
}

pub(super) fn rand_alarm(rng: &mut StdRng, base: NaiveDate) -> Option<String> {
    match rng.random_range(0..10) {
        0 => Some(":-PT15M".into()),
        1 => Some(":-P1D".into()),
        2 => {
            let d = base + Duration::days(rng.random_range(-30..400));
            Some(format!(";VALUE=DATE-TIME:{}Z", ical_dt(at(d, 12, 0))))
        }
        _ => None,
    }
}

pub(super) fn gen_rule(rng: &mut StdRng, dtstart: &When) -> Rule {
    let l = dtstart.local();
    let mut freq = *[Freq::Daily, Freq::Weekly, Freq::Weekly, Freq::Monthly]
        .choose(rng)
        .unwrap_or(&Freq::Weekly);
    if freq == Freq::Monthly && l.day() > 28 {
        freq = Freq::Weekly;
    }
    let (interval, byday, bymonthday) = match freq {
        Freq::Daily => (rng.random_range(1..4), Vec::new(), None),
        Freq::Weekly => {
            let mut days = vec![l.weekday()];
            for _ in 0..rng.random_range(0..3) {
                let d = Weekday::try_from(rng.random_range(0..7u8)).unwrap_or(Weekday::Mon);
                if !days.contains(&d) {
                    days.push(d);
                }
            }
            days.sort_by_key(|d| d.num_days_from_monday());
            let byday = if days.len() == 1 && rng.random_bool(0.5) {
                Vec::new()
            } else {
                days
            };
            (rng.random_range(1..3), byday, None)
        }
        Freq::Monthly => (
            1,
            Vec::new(),
            Some(l.day()).filter(|_| rng.random_bool(0.5)),
        ),
    };
    Rule {
        freq,
        interval,
        byday,
        bymonthday,
        term: Term::Forever,
    }
}

/// Wall-clock starts of the first instances of a rule (for choosing EXDATEs and overrides).
pub(super) fn first_locals(dtstart: &When, rule: &Rule, n: usize) -> Vec<T> {
    let horizon = dtstart.native() + Duration::days(800);
    rule_locals(dtstart, rule, horizon)
        .map(|(v, _)| v.into_iter().take(n).collect())
        .unwrap_or_default()
}

pub(super) fn gen_event(rng: &mut StdRng, base: NaiveDate, recurring: bool) -> (Event, String) {
    let flavor = rand_flavor(rng);
    let day = rand_day(rng, base);
    let dtstart = flavor.make(rand_local(rng, day));
    let end = rand_end(rng, &dtstart, !recurring);
    let mut ev = Event {
        alarm: rand_alarm(rng, base),
        ..Event::single(dtstart, end)
    };
    if !recurring {
        return (ev, flavor.tag().to_string());
    }
    let mut rule = gen_rule(rng, &dtstart);
    gen_term(rng, &dtstart, flavor, &mut rule);
    let firsts = first_locals(&dtstart, &rule, 8);
    let used = gen_exceptions(rng, &firsts, &mut ev);
    gen_rdate(rng, &firsts, &rule, &used, &mut ev);
    ev.rrule = Some(rule);
    (ev, format!("rrule-{}", flavor.tag()))
}

/// COUNT, UNTIL (exactly at an instance or between two) or no end.
fn gen_term(rng: &mut StdRng, dtstart: &When, flavor: Flavor, rule: &mut Rule) {
    let dtstart = *dtstart;
    let firsts = first_locals(&dtstart, rule, 10);
    match rng.random_range(0..10) {
        0..=3 => rule.term = Term::Count(rng.random_range(1..13)),
        4..=6 if firsts.len() > 2 => {
            // UNTIL exactly at an instance (it is inclusive) or between two.
            let k = rng.random_range(1..firsts.len());
            let w = dtstart.with_local(firsts[k]);
            let exact = rng.random_bool(0.5);
            rule.term = Term::Until(match flavor {
                Flavor::Utc | Flavor::Zoned(_) => {
                    let u = w.native();
                    When::Utc(if exact { u } else { u + Duration::minutes(90) })
                }
                Flavor::Floating => {
                    When::Floating(firsts[k] + Duration::minutes(if exact { 0 } else { 90 }))
                }
                Flavor::Date => When::Date(firsts[k].date()),
            });
        }
        _ => {}
    }
}

/// EXDATEs and overridden instances among the first instances; the instances they used.
fn gen_exceptions(rng: &mut StdRng, firsts: &[T], ev: &mut Event) -> BTreeSet<T> {
    let dtstart = ev.dtstart;
    let mut used: BTreeSet<T> = BTreeSet::new();
    for _ in 0..rng.random_range(0..3) {
        // Never remove every instance: an empty recurrence set is a degenerate object.
        if used.len() + 1 >= firsts.len() {
            break;
        }
        if let Some(l) = firsts.choose(rng) {
            if used.insert(*l) {
                ev.exdates.push(dtstart.with_local(*l));
            }
        }
    }
    for _ in 0..rng.random_range(0..3) {
        let Some(l) = firsts.choose(rng).copied() else {
            break;
        };
        if !used.insert(l) {
            continue;
        }
        let shift = *[-2i64, -1, 1, 2, 5, 30, 400].choose(rng).unwrap_or(&1);
        let nl = if dtstart.is_date() {
            l + Duration::days(shift)
        } else {
            rand_local(rng, l.date() + Duration::days(shift))
        };
        let nd = dtstart.with_local(nl);
        ev.overrides.push(Override {
            rid: dtstart.with_local(l),
            dtstart: nd,
            end: rand_end(rng, &nd, false),
        });
    }
    used
}

/// Sometimes an RDATE that is no RRULE instance and not already used.
fn gen_rdate(rng: &mut StdRng, firsts: &[T], rule: &Rule, used: &BTreeSet<T>, ev: &mut Event) {
    let dtstart = ev.dtstart;
    if rng.random_bool(0.35) {
        // An RDATE that is not an RRULE instance: another day, and for timed events another
        // wall-clock hour than DTSTART's.
        let l = firsts.first().copied().unwrap_or(dtstart.local());
        let day = l.date() + Duration::days(rng.random_range(1..20));
        let rl = if dtstart.is_date() {
            at(day, 0, 0)
        } else {
            at(day, 15 + rng.random_range(0..2u32), 0)
        };
        let all = first_locals(&dtstart, rule, 200);
        if !all.contains(&rl) && !used.contains(&rl) {
            ev.rdates.push(dtstart.with_local(rl));
        }
    }
}

pub(super) fn gen_todo(rng: &mut StdRng, base: NaiveDate) -> (Todo, String) {
    let flavor = if rng.random_bool(0.7) {
        Flavor::Utc
    } else {
        Flavor::Zoned(Zone::Berlin)
    };
    let day = rand_day(rng, base);
    let start = flavor.make(rand_local(rng, day));
    let shape = rng.random_range(0..5);
    let (dtstart, duration, due) = match shape {
        0 => (
            Some(start),
            Some(*[0, 1800, 7200, 28_800].choose(rng).unwrap_or(&0)),
            None,
        ),
        1 => {
            let d = *[0i64, 3600, 86_400, 259_200].choose(rng).unwrap_or(&0);
            let due = if d >= 86_400 {
                start.with_local(start.local() + Duration::days(d / 86_400))
            } else {
                start.with_local(start.local() + Duration::seconds(d))
            };
            (Some(start), None, Some(due))
        }
        2 => (Some(start), None, None),
        3 => (None, None, Some(start)),
        _ => (None, None, None),
    };
    let utc_time = |rng: &mut StdRng| {
        let day = rand_day(rng, base);
        rand_local(rng, day)
    };
    let completed = rng.random_bool(0.5).then(|| utc_time(rng));
    let created = rng.random_bool(0.5).then(|| utc_time(rng));
    let tag = match shape {
        0 => "todo-start-duration",
        1 => "todo-start-due",
        2 => "todo-start",
        3 => "todo-due",
        _ => "todo",
    };
    let alarm = todo_alarm(rand_alarm(rng, base), dtstart.is_some(), due.is_some());
    (
        Todo {
            dtstart,
            due,
            duration,
            completed,
            created,
            alarm,
        },
        tag.to_string(),
    )
}

/// A VTODO's VALARM trigger made valid for the todo (RFC 5545 §3.8.6.3): a trigger relative to
/// the start needs DTSTART, so without one it is made relative to DUE (RELATED=END); a VTODO
/// with neither DTSTART nor DUE carries no alarm.
fn todo_alarm(trigger: Option<String>, has_start: bool, has_due: bool) -> Option<String> {
    let t = trigger?;
    match (has_start, has_due) {
        (true, _) => Some(t),
        (false, true) if t.starts_with(":-P") => Some(format!(";RELATED=END{t}")),
        (false, true) => Some(t),
        (false, false) => None,
    }
}

/// Boundary instants of an object (instance starts and ends, VTODO times), in UTC as read
/// with floating times in UTC.
pub(super) fn key_instants(obj: &Obj) -> Vec<T> {
    match &obj.body {
        Body::Event(_) => {
            let first = obj.whens().iter().map(When::native).min();
            let Some(first) = first else {
                return Vec::new();
            };
            let exp = expand(obj, first + Duration::days(120));
            let mut v = Vec::new();
            if let Ok(exp) = exp {
                for i in exp.insts.iter().take(6) {
                    match i.span {
                        Span::Interval(a, b) => v.extend([a, b]),
                        Span::Point(a) => v.push(a),
                    }
                }
            }
            v
        }
        Body::Todo(t) => {
            let mut v: Vec<T> = t.dtstart.iter().chain(&t.due).map(When::native).collect();
            if let (Some(s), Some(d)) = (t.dtstart, t.duration) {
                v.push(s.native() + Duration::seconds(d));
            }
            v.extend(t.completed);
            v.extend(t.created);
            v
        }
    }
}

pub(super) fn gen_ranges(rng: &mut StdRng, base: NaiveDate, objects: &[Obj]) -> Vec<TimeRange> {
    let lens: &[i64] = &[60, 360, 1440, 4320, 20_160];
    let mut out = Vec::new();
    let range = |s: Option<T>, e: Option<T>, why: String| TimeRange {
        start: s,
        end: e,
        why,
    };
    out.push(range(
        Some(at(base - Duration::days(60), 0, 0)),
        Some(at(base + Duration::days(90), 0, 0)),
        "wide window".into(),
    ));
    for _ in 0..6 {
        let s = at(
            base + Duration::days(rng.random_range(-20..60)),
            rng.random_range(0..24),
            *[0, 30].choose(rng).unwrap_or(&0),
        );
        let l = Duration::minutes(*lens.choose(rng).unwrap_or(&60));
        out.push(range(Some(s), Some(s + l), "random window".into()));
    }
    for _ in 0..3 {
        let s = at(base + Duration::days(rng.random_range(365..2000)), 0, 0);
        let l = Duration::days(rng.random_range(1..60));
        out.push(range(Some(s), Some(s + l), "far future".into()));
    }
    out.push(range(
        Some(at(base + Duration::days(rng.random_range(30..400)), 0, 0)),
        None,
        "open end".into(),
    ));
    out.push(range(
        None,
        Some(at(base + Duration::days(rng.random_range(-10..10)), 12, 0)),
        "open start".into(),
    ));
    while out.len() < RANGES {
        let Some((oi, obj)) = objects
            .iter()
            .enumerate()
            .collect::<Vec<_>>()
            .choose(rng)
            .copied()
        else {
            break;
        };
        let keys = key_instants(obj);
        let Some(k) = keys.choose(rng).copied() else {
            continue;
        };
        let l = Duration::minutes(*lens.choose(rng).unwrap_or(&60));
        let m = Duration::minutes(1);
        let (s, e, how) = match rng.random_range(0..5) {
            0 => (k, k + l, "starting at"),
            1 => (k - l, k, "ending at"),
            2 => (k - m, k + m, "a minute around"),
            3 => (k - l, k + m, "ending a minute after"),
            _ => (k + m, k + l, "starting a minute after"),
        };
        out.push(range(
            Some(s),
            Some(e),
            format!("boundary: {how} {}Z of object {}", show(k), oi + 1),
        ));
    }
    out
}

/// Generate the calendar and ranges of one seed; `base` is today (UTC).
pub fn generate(seed: u64, uid_prefix: &str, base: NaiveDate) -> Case {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut objects = Vec::new();
    for i in 1..=OBJECTS {
        let (body, tag) = match rng.random_range(0..20) {
            0..=7 => {
                let (e, t) = gen_event(&mut rng, base, false);
                (Body::Event(e), t)
            }
            8..=14 => {
                let (e, t) = gen_event(&mut rng, base, true);
                (Body::Event(e), t)
            }
            _ => {
                let (t, tag) = gen_todo(&mut rng, base);
                (Body::Todo(t), tag)
            }
        };
        objects.push(Obj {
            name: format!("o{i:02}-{tag}.ics"),
            uid: format!("{uid_prefix}-o{i:02}"),
            body,
        });
    }
    let ranges = gen_ranges(&mut rng, base, &objects);
    let far = ranges
        .iter()
        .filter_map(|r| r.end.or(r.start))
        .max()
        .unwrap_or(at(base, 0, 0));
    Case {
        seed,
        base,
        objects,
        ranges,
        horizon: far + Duration::days(3),
    }
}

// ---------------------------------------------------------------------------------------------
// Against a server
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::testutil::*;

    #[test]
    fn todo_alarms_are_valid() {
        for seed in 0..200 {
            for o in generate(seed, "p", d(2025, 10, 20)).objects {
                let Body::Todo(t) = &o.body else { continue };
                let Some(a) = &t.alarm else { continue };
                assert!(t.dtstart.is_some() || t.due.is_some(), "{}: {a}", o.name);
                if t.dtstart.is_none() && a.starts_with(":-P") {
                    panic!("{}: a START-relative trigger without DTSTART: {a}", o.name);
                }
            }
        }
        assert_eq!(
            todo_alarm(Some(":-PT15M".into()), false, true).as_deref(),
            Some(";RELATED=END:-PT15M")
        );
        assert_eq!(todo_alarm(Some(":-PT15M".into()), false, false), None);
    }

    #[test]
    fn generator_is_deterministic_valid_and_expandable() {
        let base = d(2025, 10, 20);
        let a = generate(7, "p", base);
        let b = generate(7, "p", base);
        assert_eq!(a.objects, b.objects);
        assert_eq!(a.ranges, b.ranges);
        let mut kinds = BTreeSet::new();
        let mut ends = BTreeSet::new();
        let mut counts = [0usize; 6];
        for seed in 0..60 {
            let c = generate(seed, "pre", base);
            assert_eq!(c.objects.len(), OBJECTS);
            assert_eq!(c.ranges.len(), RANGES);
            let uids: BTreeSet<&str> = c.objects.iter().map(|o| o.uid.as_str()).collect();
            assert_eq!(uids.len(), OBJECTS);
            for r in &c.ranges {
                assert!(r.start.is_some() || r.end.is_some());
                if let (Some(s), Some(e)) = (r.start, r.end) {
                    assert!(e > s, "{r}");
                }
            }
            for o in &c.objects {
                let text = o.ical(&o.uid, c.dtstamp());
                let cal = crate::ical::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
                assert_eq!(cal.prop_value("VERSION"), Some("2.0"));
                assert!(cal.prop_value("PRODID").is_some());
                let mut comps = Vec::new();
                cal.find_all("VEVENT", &mut comps);
                cal.find_all("VTODO", &mut comps);
                assert!(!comps.is_empty());
                for comp in &comps {
                    assert_eq!(comp.prop_value("UID"), Some(o.uid.as_str()));
                    assert!(comp.prop_value("DTSTAMP").is_some());
                }
                for z in o.zones() {
                    assert!(text.contains(&format!("TZID:{}", z.tzid())));
                }
                // Either all times floating or none (the oracle shifts whole objects).
                let w = o.whens();
                assert!(w.iter().all(When::is_floating) || !w.iter().any(When::is_floating));
                let exp = expand(o, c.horizon).unwrap_or_else(|e| panic!("{e}\n{text}"));
                for i in &exp.insts {
                    if let Span::Interval(a, b) = i.span {
                        assert!(b > a, "{}", o.describe());
                    }
                }
                if let Body::Event(e) = &o.body {
                    kinds.insert(format!("{:?}", std::mem::discriminant(&e.dtstart)));
                    ends.insert(format!("{:?}", std::mem::discriminant(&e.end)));
                    counts[0] += usize::from(e.rrule.is_some());
                    counts[1] += e.exdates.len();
                    counts[2] += e.overrides.len();
                    counts[3] += e.rdates.len();
                    counts[4] += usize::from(matches!(
                        e.rrule.as_ref().map(|r| &r.term),
                        Some(Term::Until(_))
                    ));
                } else {
                    counts[5] += 1;
                }
                for r in &c.ranges {
                    for k in [CompType::Vevent, CompType::Vtodo] {
                        let v = expected(o, &exp, r, k, Floating::Utc);
                        assert!(v.is_some(), "{} {r}", o.describe());
                        if seed < 5 {
                            let _ = expected(o, &exp, r, k, Floating::AnyZone);
                        }
                    }
                }
            }
        }
        assert_eq!(kinds.len(), 4, "UTC, TZID, floating and date starts");
        assert_eq!(ends.len(), 3, "DTEND, DURATION and neither");
        assert!(counts.iter().all(|n| *n > 10), "{counts:?}");
    }
}
