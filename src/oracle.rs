//! A generative time-range oracle (RFC 4791 §9.9). From a seed it generates a calendar of random
//! but valid iCalendar objects (timed UTC, TZID with real DST rules, floating and all-day
//! events; DTEND, DURATION, zero duration or neither; recurrences with COUNT, UNTIL or no end,
//! EXDATE, RDATE and overridden instances moved in and out; VTODOs in every state of the §9.9
//! VTODO table; some VALARMs) and a set of UTC time ranges (random windows, ranges touching
//! instance boundaries, far future, open at one end). An independent implementation of the §9.9
//! overlap rules then says, for each object, range and component type, whether a
//! calendar-query `<C:comp-filter name="VEVENT"><C:time-range …/>` must return the object,
//! and [`run`] compares that with what the server returns.
//!
//! The oracle works on the generator's model, not on parsed text: every object is rendered
//! from the same model the oracle reads. Recurrences are expanded in wall-clock time with the
//! `rrule` crate (UNTIL, EXDATE, RDATE and overrides are applied here), TZID times are converted
//! with `chrono-tz`, and the VTIMEZONEs sent with the objects are checked against `chrono-tz`
//! by a unit test. Local times are kept between 06:00 and 23:00 so that no time falls into a
//! DST gap or overlap and no event spans a DST change (where servers may legitimately differ
//! on nominal versus exact durations).
//!
//! Floating times and dates (RFC 4791 §7.3) are read in the CALDAV:calendar-timezone property,
//! which [`run`] sets to UTC with PROPPATCH. When the server refuses that, floating objects are
//! judged only where every UTC offset from -12:00 to +14:00 gives the same answer.

use crate::http::{self, Client, Request, Scope};
use crate::xml::{self, Multistatus};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use url::Url;

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 4791;
/// Objects generated per seed.
pub const OBJECTS: usize = 25;
/// Time ranges generated per seed (each is queried for VEVENT and for VTODO).
pub const RANGES: usize = 20;
/// How often the generated scenario repeats its query.
const REPEAT: usize = 8;
/// Recurrence instances expanded per object at most.
const CAP: usize = 20_000;

type T = NaiveDateTime;

fn at(d: NaiveDate, h: u32, m: u32) -> T {
    d.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN))
}

fn ical_dt(t: T) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

fn show(t: T) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn dur_text(secs: i64, date: bool) -> String {
    if secs == 0 {
        return "PT0S".into();
    }
    if date && secs % 86_400 == 0 {
        return format!("P{}D", secs / 86_400);
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = "PT".to_string();
    if h > 0 {
        let _ = write!(out, "{h}H");
    }
    if m > 0 {
        let _ = write!(out, "{m}M");
    }
    if s > 0 {
        let _ = write!(out, "{s}S");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

/// The IANA zones used in TZID values; their VTIMEZONEs hold the current DST rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Zone {
    Berlin,
    NewYork,
}

const VTZ_BERLIN: &str = "BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
";

const VTZ_NEW_YORK: &str = "BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
";

/// The CALDAV:calendar-timezone set on the calendar: floating times are read in UTC.
const CALENDAR_TZ_UTC: &str = "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//caldav-conformance//time-range oracle//EN
BEGIN:VTIMEZONE
TZID:UTC
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0000
TZOFFSETTO:+0000
TZNAME:UTC
END:STANDARD
END:VTIMEZONE
END:VCALENDAR
";

impl Zone {
    pub fn tzid(self) -> &'static str {
        match self {
            Zone::Berlin => "Europe/Berlin",
            Zone::NewYork => "America/New_York",
        }
    }

    fn tz(self) -> chrono_tz::Tz {
        match self {
            Zone::Berlin => chrono_tz::Europe::Berlin,
            Zone::NewYork => chrono_tz::America::New_York,
        }
    }

    fn vtimezone(self) -> &'static str {
        match self {
            Zone::Berlin => VTZ_BERLIN,
            Zone::NewYork => VTZ_NEW_YORK,
        }
    }

    /// UTC of a wall-clock time (the generator never produces times in a gap or overlap).
    fn to_utc(self, local: T) -> T {
        match self.tz().from_local_datetime(&local).earliest() {
            Some(d) => d.naive_utc(),
            None => {
                // In a spring-forward gap: read it with the offset before the gap.
                let before = local - Duration::hours(3);
                let off = self
                    .tz()
                    .from_local_datetime(&before)
                    .earliest()
                    .map(|d| before - d.naive_utc())
                    .unwrap_or_default();
                local - off
            }
        }
    }
}

/// A DATE or DATE-TIME value in one of the four forms iCalendar has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Utc(T),
    Zoned(Zone, T),
    Floating(T),
    Date(NaiveDate),
}

impl When {
    /// The wall-clock time (midnight for a date).
    fn local(&self) -> T {
        match *self {
            When::Utc(t) | When::Zoned(_, t) | When::Floating(t) => t,
            When::Date(d) => at(d, 0, 0),
        }
    }

    /// The same form with another wall-clock time.
    fn with_local(&self, l: T) -> When {
        match *self {
            When::Utc(_) => When::Utc(l),
            When::Zoned(z, _) => When::Zoned(z, l),
            When::Floating(_) => When::Floating(l),
            When::Date(_) => When::Date(l.date()),
        }
    }

    fn is_floating(&self) -> bool {
        matches!(self, When::Floating(_) | When::Date(_))
    }

    fn is_date(&self) -> bool {
        matches!(self, When::Date(_))
    }

    /// The time on the object's own time line: UTC for UTC and TZID values, the wall clock for
    /// floating times and dates (converted by shifting the range, see [`expected`]).
    fn native(&self) -> T {
        match *self {
            When::Utc(t) | When::Floating(t) => t,
            When::Zoned(z, t) => z.to_utc(t),
            When::Date(d) => at(d, 0, 0),
        }
    }

    /// `NAME;TZID=…:value`, `NAME;VALUE=DATE:value`, …
    fn prop(&self, name: &str) -> String {
        match *self {
            When::Utc(t) => format!("{name}:{}Z", ical_dt(t)),
            When::Zoned(z, t) => format!("{name};TZID={}:{}", z.tzid(), ical_dt(t)),
            When::Floating(t) => format!("{name}:{}", ical_dt(t)),
            When::Date(d) => format!("{name};VALUE=DATE:{}", d.format("%Y%m%d")),
        }
    }

    /// The bare value, as in UNTIL=.
    fn value(&self) -> String {
        match *self {
            When::Utc(t) => format!("{}Z", ical_dt(t)),
            When::Zoned(_, t) | When::Floating(t) => ical_dt(t),
            When::Date(d) => d.format("%Y%m%d").to_string(),
        }
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            When::Utc(t) => write!(f, "{}Z", show(t)),
            When::Zoned(z, t) => write!(f, "{} {} (= {}Z)", show(t), z.tzid(), show(z.to_utc(t))),
            When::Floating(t) => write!(f, "{} floating", show(t)),
            When::Date(d) => write!(f, "{} (date)", d.format("%Y-%m-%d")),
        }
    }
}

/// How a VEVENT ends.
#[derive(Clone, Debug, PartialEq)]
pub enum EvEnd {
    Dtend(When),
    /// DURATION in seconds (rendered as days for date events).
    Duration(i64),
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freq {
    Daily,
    Weekly,
    Monthly,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    Count(u32),
    /// UTC for UTC and TZID start times; floating or a date otherwise (RFC 5545 §3.3.10).
    Until(When),
    Forever,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub freq: Freq,
    pub interval: u32,
    pub byday: Vec<Weekday>,
    pub bymonthday: Option<u32>,
    pub term: Term,
}

fn wd(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

impl Rule {
    /// The RRULE value; without UNTIL when `until` is false (the oracle applies UNTIL itself,
    /// in UTC, while expanding in wall-clock time).
    fn text(&self, until: bool) -> String {
        let mut s = format!(
            "FREQ={}",
            match self.freq {
                Freq::Daily => "DAILY",
                Freq::Weekly => "WEEKLY",
                Freq::Monthly => "MONTHLY",
            }
        );
        if self.interval > 1 {
            let _ = write!(s, ";INTERVAL={}", self.interval);
        }
        if !self.byday.is_empty() {
            let days: Vec<&str> = self.byday.iter().map(|d| wd(*d)).collect();
            let _ = write!(s, ";BYDAY={}", days.join(","));
        }
        if let Some(m) = self.bymonthday {
            let _ = write!(s, ";BYMONTHDAY={m}");
        }
        match &self.term {
            Term::Count(n) => {
                let _ = write!(s, ";COUNT={n}");
            }
            Term::Until(u) if until => {
                let _ = write!(s, ";UNTIL={}", u.value());
            }
            _ => {}
        }
        s
    }
}

/// An overridden instance (a component with RECURRENCE-ID).
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub rid: When,
    pub dtstart: When,
    pub end: EvEnd,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub dtstart: When,
    pub end: EvEnd,
    pub rrule: Option<Rule>,
    pub exdates: Vec<When>,
    pub rdates: Vec<When>,
    pub overrides: Vec<Override>,
    /// A VALARM TRIGGER value (with its parameters), if the event has an alarm.
    pub alarm: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Todo {
    pub dtstart: Option<When>,
    pub due: Option<When>,
    /// DURATION in seconds.
    pub duration: Option<i64>,
    pub completed: Option<T>,
    pub created: Option<T>,
    pub alarm: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Event(Event),
    Todo(Todo),
}

/// One calendar object resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Obj {
    /// Resource name in the calendar, e.g. `o07-rrule-tzid.ics`.
    pub name: String,
    pub uid: String,
    pub body: Body,
}

impl Event {
    fn whens(&self) -> Vec<When> {
        let mut v = vec![self.dtstart];
        if let EvEnd::Dtend(w) = self.end {
            v.push(w);
        }
        v.extend(self.exdates.iter().copied());
        v.extend(self.rdates.iter().copied());
        for o in &self.overrides {
            v.push(o.rid);
            v.push(o.dtstart);
            if let EvEnd::Dtend(w) = o.end {
                v.push(w);
            }
        }
        v
    }
}

impl Obj {
    fn whens(&self) -> Vec<When> {
        match &self.body {
            Body::Event(e) => e.whens(),
            Body::Todo(t) => t.dtstart.iter().chain(t.due.iter()).copied().collect(),
        }
    }

    /// True when the object's times are floating or dates (all of them are, or none).
    pub fn is_floating(&self) -> bool {
        self.whens().iter().any(When::is_floating)
    }

    fn zones(&self) -> BTreeSet<Zone> {
        self.whens()
            .iter()
            .filter_map(|w| match w {
                When::Zoned(z, _) => Some(*z),
                _ => None,
            })
            .collect()
    }

    /// The iCalendar text, with `uid` as UID (`{uid}` in generated scenarios).
    pub fn ical(&self, uid: &str, dtstamp: T) -> String {
        let mut s = String::from(
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//caldav-conformance//time-range oracle//EN\n",
        );
        for z in self.zones() {
            s.push_str(z.vtimezone());
        }
        let stamp = format!("DTSTAMP:{}Z", ical_dt(dtstamp));
        let summary = format!("SUMMARY:{}", self.name.trim_end_matches(".ics"));
        let alarm = |s: &mut String, trig: &Option<String>| {
            if let Some(t) = trig {
                let _ = write!(
                    s,
                    "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:reminder\nTRIGGER{t}\nEND:VALARM\n"
                );
            }
        };
        let end = |s: &mut String, start: &When, e: &EvEnd| match e {
            EvEnd::Dtend(w) => {
                let _ = writeln!(s, "{}", w.prop("DTEND"));
            }
            EvEnd::Duration(d) => {
                let _ = writeln!(s, "DURATION:{}", dur_text(*d, start.is_date()));
            }
            EvEnd::None => {}
        };
        match &self.body {
            Body::Event(e) => {
                let _ = write!(s, "BEGIN:VEVENT\nUID:{uid}\n{stamp}\n{summary}\n");
                let _ = writeln!(s, "{}", e.dtstart.prop("DTSTART"));
                end(&mut s, &e.dtstart, &e.end);
                if let Some(r) = &e.rrule {
                    let _ = writeln!(s, "RRULE:{}", r.text(true));
                }
                for x in &e.exdates {
                    let _ = writeln!(s, "{}", x.prop("EXDATE"));
                }
                for x in &e.rdates {
                    let _ = writeln!(s, "{}", x.prop("RDATE"));
                }
                alarm(&mut s, &e.alarm);
                s.push_str("END:VEVENT\n");
                for o in &e.overrides {
                    let _ = write!(s, "BEGIN:VEVENT\nUID:{uid}\n{stamp}\n{summary} (moved)\n");
                    let _ = writeln!(s, "{}", o.rid.prop("RECURRENCE-ID"));
                    let _ = writeln!(s, "{}", o.dtstart.prop("DTSTART"));
                    end(&mut s, &o.dtstart, &o.end);
                    s.push_str("END:VEVENT\n");
                }
            }
            Body::Todo(t) => {
                let _ = write!(s, "BEGIN:VTODO\nUID:{uid}\n{stamp}\n{summary}\n");
                if let Some(w) = &t.dtstart {
                    let _ = writeln!(s, "{}", w.prop("DTSTART"));
                }
                if let Some(w) = &t.due {
                    let _ = writeln!(s, "{}", w.prop("DUE"));
                }
                if let Some(d) = t.duration {
                    let _ = writeln!(s, "DURATION:{}", dur_text(d, false));
                }
                if let Some(c) = t.completed {
                    let _ = write!(s, "COMPLETED:{}Z\nSTATUS:COMPLETED\n", ical_dt(c));
                }
                if let Some(c) = t.created {
                    let _ = writeln!(s, "CREATED:{}Z", ical_dt(c));
                }
                alarm(&mut s, &t.alarm);
                s.push_str("END:VTODO\n");
            }
        }
        s.push_str("END:VCALENDAR\n");
        s.replace('\n', "\r\n")
    }

    /// A one-paragraph human description of the object.
    pub fn describe(&self) -> String {
        let ends = |start: &When, e: &EvEnd| match e {
            EvEnd::Dtend(w) => format!("DTEND {w}"),
            EvEnd::Duration(d) => format!("DURATION {}", dur_text(*d, start.is_date())),
            EvEnd::None => "no DTEND or DURATION".into(),
        };
        match &self.body {
            Body::Event(e) => {
                let mut s = format!("VEVENT DTSTART {}, {}", e.dtstart, ends(&e.dtstart, &e.end));
                if let Some(r) = &e.rrule {
                    let _ = write!(s, ", RRULE {}", r.text(true));
                }
                for x in &e.exdates {
                    let _ = write!(s, ", EXDATE {x}");
                }
                for x in &e.rdates {
                    let _ = write!(s, ", RDATE {x}");
                }
                for o in &e.overrides {
                    let _ = write!(
                        s,
                        ", override RECURRENCE-ID {} -> DTSTART {}, {}",
                        o.rid,
                        o.dtstart,
                        ends(&o.dtstart, &o.end)
                    );
                }
                if let Some(a) = &e.alarm {
                    let _ = write!(s, ", VALARM TRIGGER{a}");
                }
                s
            }
            Body::Todo(t) => {
                let mut parts = Vec::new();
                if let Some(w) = &t.dtstart {
                    parts.push(format!("DTSTART {w}"));
                }
                if let Some(d) = t.duration {
                    parts.push(format!("DURATION {}", dur_text(d, false)));
                }
                if let Some(w) = &t.due {
                    parts.push(format!("DUE {w}"));
                }
                if let Some(c) = t.completed {
                    parts.push(format!("COMPLETED {}Z", show(c)));
                }
                if let Some(c) = t.created {
                    parts.push(format!("CREATED {}Z", show(c)));
                }
                if let Some(a) = &t.alarm {
                    parts.push(format!("VALARM TRIGGER{a}"));
                }
                if parts.is_empty() {
                    "VTODO without DTSTART, DURATION, DUE, COMPLETED or CREATED".into()
                } else {
                    format!("VTODO {}", parts.join(", "))
                }
            }
        }
    }
}

/// A time range of a CALDAV:time-range element, in UTC; `None` is -infinity / +infinity.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeRange {
    pub start: Option<T>,
    pub end: Option<T>,
    /// How the generator chose it.
    pub why: String,
}

impl TimeRange {
    fn attrs(&self) -> String {
        let mut s = String::new();
        if let Some(t) = self.start {
            let _ = write!(s, " start=\"{}Z\"", ical_dt(t));
        }
        if let Some(t) = self.end {
            let _ = write!(s, " end=\"{}Z\"", ical_dt(t));
        }
        s
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self
            .start
            .map(|t| format!("{}Z", ical_dt(t)))
            .unwrap_or_else(|| "-infinity".into());
        let e = self
            .end
            .map(|t| format!("{}Z", ical_dt(t)))
            .unwrap_or_else(|| "+infinity".into());
        write!(f, "[{s}, {e})")
    }
}

/// The component type named in the inner comp-filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CompType {
    Vevent,
    Vtodo,
}

impl CompType {
    pub fn name(self) -> &'static str {
        match self {
            CompType::Vevent => "VEVENT",
            CompType::Vtodo => "VTODO",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

/// The effective time of one instance as §9.9 tests it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Span {
    /// `start < END AND end > DTSTART`
    Interval(T, T),
    /// `start <= DTSTART AND end > DTSTART`
    Point(T),
}

fn overlaps(sp: Span, rs: Option<T>, re: Option<T>) -> bool {
    match sp {
        Span::Interval(a, b) => rs.is_none_or(|s| s < b) && re.is_none_or(|e| e > a),
        Span::Point(a) => rs.is_none_or(|s| s <= a) && re.is_none_or(|e| e > a),
    }
}

const ROW_DTEND: &str = "VEVENT with DTEND: (start < DTEND AND end > DTSTART)";
const ROW_DUR: &str = "VEVENT with DURATION > 0: (start < DTSTART+DURATION AND end > DTSTART)";
const ROW_DUR0: &str = "VEVENT with DURATION = 0: (start <= DTSTART AND end > DTSTART)";
const ROW_DT: &str =
    "VEVENT without DTEND or DURATION, DATE-TIME DTSTART: (start <= DTSTART AND end > DTSTART)";
const ROW_DATE: &str =
    "VEVENT without DTEND or DURATION, DATE DTSTART: (start < DTSTART+P1D AND end > DTSTART)";

/// The §9.9 VEVENT table: the span and the row that applies.
fn event_span(dtstart: &When, end: &EvEnd) -> (Span, &'static str) {
    let s = dtstart.native();
    match end {
        EvEnd::Dtend(e) => (Span::Interval(s, e.native()), ROW_DTEND),
        EvEnd::Duration(d) if *d > 0 => (Span::Interval(s, s + Duration::seconds(*d)), ROW_DUR),
        EvEnd::Duration(_) => (Span::Point(s), ROW_DUR0),
        EvEnd::None if dtstart.is_date() => (Span::Interval(s, s + Duration::days(1)), ROW_DATE),
        EvEnd::None => (Span::Point(s), ROW_DT),
    }
}

fn show_span(sp: Span) -> String {
    match sp {
        Span::Interval(a, b) => format!("[{}, {})", show(a), show(b)),
        Span::Point(a) => format!("the instant {}", show(a)),
    }
}

/// One instance of an event, on the object's own time line.
#[derive(Clone, Debug)]
struct Inst {
    span: Span,
    row: &'static str,
    label: String,
}

impl Inst {
    fn start(&self) -> T {
        match self.span {
            Span::Interval(a, _) | Span::Point(a) => a,
        }
    }
}

/// The instances of an object up to a horizon.
#[derive(Clone, Debug)]
pub struct Expansion {
    insts: Vec<Inst>,
    /// Set when the recurrence goes on: no instance starting before this time is missing.
    truncated_at: Option<T>,
    /// Instances the RRULE gave that EXDATE or an override removed.
    removed: Vec<String>,
}

/// Wall-clock starts of the RRULE instances up to `horizon` (on the object's time line), and
/// the time line position of the first instance left out when the rule goes on.
fn rule_locals(dtstart: &When, rule: &Rule, horizon: T) -> Result<(Vec<T>, Option<T>), String> {
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

fn yes(reason: String) -> Verdict {
    Verdict {
        matched: true,
        reason,
    }
}

fn no(reason: String) -> Verdict {
    Verdict {
        matched: false,
        reason,
    }
}

/// Judge an event's expansion against a range on the object's time line; `None` when the
/// expansion does not reach far enough to decide.
fn judge_event(exp: &Expansion, rs: Option<T>, re: Option<T>) -> Option<Verdict> {
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
fn judge(
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
enum Flavor {
    Utc,
    Zoned(Zone),
    Floating,
    Date,
}

impl Flavor {
    fn make(self, l: T) -> When {
        match self {
            Flavor::Utc => When::Utc(l),
            Flavor::Zoned(z) => When::Zoned(z, l),
            Flavor::Floating => When::Floating(l),
            Flavor::Date => When::Date(l.date()),
        }
    }
    fn tag(self) -> &'static str {
        match self {
            Flavor::Utc => "utc",
            Flavor::Zoned(Zone::Berlin) => "berlin",
            Flavor::Zoned(Zone::NewYork) => "newyork",
            Flavor::Floating => "floating",
            Flavor::Date => "allday",
        }
    }
}

const TIMED_DURS: &[i64] = &[900, 1800, 3600, 5400, 7200, 10_800, 28_800];

fn rand_day(rng: &mut StdRng, base: NaiveDate) -> NaiveDate {
    let d = if rng.random_bool(0.15) {
        rng.random_range(365..1500)
    } else {
        rng.random_range(-20..60)
    };
    base + Duration::days(d)
}

/// A wall-clock time between 06:00 and 14:45, on a quarter hour.
fn rand_local(rng: &mut StdRng, day: NaiveDate) -> T {
    at(
        day,
        rng.random_range(6..15),
        *[0, 15, 30, 45].choose(rng).unwrap_or(&0),
    )
}

fn rand_flavor(rng: &mut StdRng) -> Flavor {
    match rng.random_range(0..10) {
        0..=2 => Flavor::Utc,
        3 | 4 => Flavor::Zoned(Zone::Berlin),
        5 => Flavor::Zoned(Zone::NewYork),
        6 | 7 => Flavor::Floating,
        _ => Flavor::Date,
    }
}

fn rand_end(rng: &mut StdRng, start: &When, long_ok: bool) -> EvEnd {
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

fn rand_alarm(rng: &mut StdRng, base: NaiveDate) -> Option<String> {
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

fn gen_rule(rng: &mut StdRng, dtstart: &When) -> Rule {
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
fn first_locals(dtstart: &When, rule: &Rule, n: usize) -> Vec<T> {
    let horizon = dtstart.native() + Duration::days(800);
    rule_locals(dtstart, rule, horizon)
        .map(|(v, _)| v.into_iter().take(n).collect())
        .unwrap_or_default()
}

fn gen_event(rng: &mut StdRng, base: NaiveDate, recurring: bool) -> (Event, String) {
    let flavor = rand_flavor(rng);
    let day = rand_day(rng, base);
    let dtstart = flavor.make(rand_local(rng, day));
    let end = rand_end(rng, &dtstart, !recurring);
    let mut ev = Event {
        dtstart,
        end,
        rrule: None,
        exdates: Vec::new(),
        rdates: Vec::new(),
        overrides: Vec::new(),
        alarm: rand_alarm(rng, base),
    };
    if !recurring {
        return (ev, flavor.tag().to_string());
    }
    let mut rule = gen_rule(rng, &dtstart);
    let firsts = first_locals(&dtstart, &rule, 10);
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
    let firsts = first_locals(&dtstart, &rule, 8);
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
        let all = first_locals(&dtstart, &rule, 200);
        if !all.contains(&rl) && !used.contains(&rl) {
            ev.rdates.push(dtstart.with_local(rl));
        }
    }
    ev.rrule = Some(rule);
    (ev, format!("rrule-{}", flavor.tag()))
}

fn gen_todo(rng: &mut StdRng, base: NaiveDate) -> (Todo, String) {
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
    (
        Todo {
            dtstart,
            due,
            duration,
            completed,
            created,
            alarm: rand_alarm(rng, base),
        },
        tag.to_string(),
    )
}

/// Boundary instants of an object (instance starts and ends, VTODO times), in UTC as read
/// with floating times in UTC.
fn key_instants(obj: &Obj) -> Vec<T> {
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

fn gen_ranges(rng: &mut StdRng, base: NaiveDate, objects: &[Obj]) -> Vec<TimeRange> {
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

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Calendar objects stored.
    pub objects: usize,
    /// calendar-query REPORTs sent.
    pub queries: usize,
    pub notes: Vec<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "time-range oracle: {} objects, {} calendar-queries, every answer as the oracle expected",
            self.objects, self.queries
        )?;
        for n in &self.notes {
            write!(f, "\n  note: {n}")?;
        }
        Ok(())
    }
}

/// The calendar-query REPORT body for one range and component type.
pub fn query_body(range: &TimeRange, kind: CompType) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>
<C:calendar-query xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">
  <D:prop><D:getetag/></D:prop>
  <C:filter>
    <C:comp-filter name=\"VCALENDAR\">
      <C:comp-filter name=\"{}\">
        <C:time-range{}/>
      </C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>
",
        kind.name(),
        range.attrs()
    )
}

fn proppatch_body() -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>
<D:propertyupdate xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">
  <D:set><D:prop><C:calendar-timezone>{}</C:calendar-timezone></D:prop></D:set>
</D:propertyupdate>
",
        CALENDAR_TZ_UTC
    )
}

/// Set CALDAV:calendar-timezone to UTC; Ok(None) on success, Ok(Some(why)) if refused.
async fn set_calendar_timezone(
    client: &Client,
    origin: &Url,
    calendar: &Url,
    scope: &Scope,
) -> Result<Option<String>, String> {
    let req = Request::new("PROPPATCH", calendar.clone()).xml(&proppatch_body());
    scope.check(origin, &req)?;
    let r = match client.send(&req).await {
        Ok(r) => r,
        Err(e) => return Ok(Some(e.0)),
    };
    // RFC 4918 §9.2: success is a 207 multistatus; a bare 2xx is taken as success too.
    if r.status != 207 {
        return Ok(if (200..300).contains(&r.status) {
            None
        } else {
            Some(format!("PROPPATCH answered {}", r.status))
        });
    }
    let ms = xml::parse(&r.body).and_then(|root| Multistatus::from_element(&root));
    let q = xml::QName::new(xml::CALDAV, "calendar-timezone");
    match ms {
        Ok(ms) => match ms.responses.iter().find_map(|resp| resp.prop(&q)) {
            Some((200, _)) => Ok(None),
            Some((st, _)) => Ok(Some(format!(
                "PROPPATCH gave CALDAV:calendar-timezone status {st}"
            ))),
            None => Ok(Some(
                "the PROPPATCH multistatus does not mention CALDAV:calendar-timezone".into(),
            )),
        },
        Err(e) => Ok(Some(format!("PROPPATCH answer unreadable: {e}"))),
    }
}

/// One disagreement between the server and the oracle.
struct Mismatch {
    range: usize,
    kind: CompType,
    /// Index of the object, or None for an href that is none of ours.
    obj: Option<usize>,
    href: String,
    /// True: returned but should not be; false: should be returned but was not.
    included: bool,
    verdict: Option<Verdict>,
}

/// Send one calendar-query and return the normalised hrefs it lists (the collection itself and
/// responses with a bare non-2xx status left out).
async fn query(
    client: &Client,
    calendar: &Url,
    range: &TimeRange,
    kind: CompType,
) -> Result<BTreeSet<String>, String> {
    let req = Request::new("REPORT", calendar.clone())
        .header("Depth", "1")
        .xml(&query_body(range, kind));
    let r = client
        .send(&req)
        .await
        .map_err(|e| format!("calendar-query {} {range}: {e}", kind.name()))?;
    if r.status != 207 {
        return Err(format!(
            "calendar-query {} {range} answered {} (expected 207)\n{}",
            kind.name(),
            r.status,
            http::dump(client, &req, Some(&r), 4000)
        ));
    }
    let ms = xml::parse(&r.body)
        .and_then(|root| Multistatus::from_element(&root))
        .map_err(|e| {
            format!(
                "calendar-query {} {range}: {e}\n{}",
                kind.name(),
                http::dump(client, &req, Some(&r), 4000)
            )
        })?;
    let own = xml::normalize_href(calendar.path());
    Ok(ms
        .responses
        .iter()
        .filter(|resp| resp.href != own)
        .filter(|resp| resp.status.is_none_or(|s| (200..300).contains(&s)))
        .map(|resp| resp.href.clone())
        .collect())
}

/// Generate the calendar of `seed` (dates relative to today, UTC), store it in the (empty,
/// scratch) `calendar`, query it with every range for VEVENT and VTODO, and compare the answers
/// with the oracle's.
pub async fn run(
    client: &Client,
    origin: &Url,
    calendar: &Url,
    scope: &Scope,
    seed: u64,
    uid_prefix: &str,
) -> Result<Summary, String> {
    let today = chrono::Utc::now().date_naive();
    run_on(client, origin, calendar, scope, seed, uid_prefix, today).await
}

/// [`run`] with the dates relative to `base` instead of today: the same seed and base give the
/// same calendar and ranges, to reproduce a failure reported on another day.
pub async fn run_on(
    client: &Client,
    origin: &Url,
    calendar: &Url,
    scope: &Scope,
    seed: u64,
    uid_prefix: &str,
    base: NaiveDate,
) -> Result<Summary, String> {
    let case = generate(seed, uid_prefix, base);
    let mut summary = Summary::default();
    let tz_refused = set_calendar_timezone(client, origin, calendar, scope).await?;
    let floating = match &tz_refused {
        None => {
            summary.notes.push(
                "CALDAV:calendar-timezone set to UTC: floating times and dates are read in UTC"
                    .into(),
            );
            Floating::Utc
        }
        Some(why) => {
            summary.notes.push(format!(
                "the calendar-timezone could not be set ({why}): floating times and dates are \
                 judged only where every UTC offset gives the same answer"
            ));
            Floating::AnyZone
        }
    };
    let stamp = case.dtstamp();
    let mut hrefs = BTreeMap::new();
    let mut refused = Vec::new();
    for (i, o) in case.objects.iter().enumerate() {
        let url = calendar
            .join(&o.name)
            .map_err(|e| format!("cannot form the URL of {}: {e}", o.name))?;
        let mut req = Request::new("PUT", url.clone())
            .header("Content-Type", "text/calendar; charset=utf-8")
            .header("If-None-Match", "*");
        req.body = Some(o.ical(&o.uid, stamp).into_bytes());
        scope.check(origin, &req)?;
        let r = client
            .send(&req)
            .await
            .map_err(|e| format!("storing {}: {e}", o.name))?;
        if !(200..300).contains(&r.status) {
            // A refused object is left out of the comparison (the refusal is reported, but
            // it is not a time-range failure); a server refusing most of them fails below.
            let why = xml::parse(&r.body)
                .map(|root| {
                    let mut v: Vec<String> = xml::error_conditions(&root)
                        .iter()
                        .map(|q| q.to_string())
                        .collect();
                    v.extend(
                        root.children
                            .iter()
                            .filter(|c| c.name.local == "responsedescription")
                            .map(|c| c.deep_text()),
                    );
                    v.join(" ")
                })
                .unwrap_or_default();
            refused.push(format!(
                "{} ({}) answered {} {why}",
                o.name,
                o.describe(),
                r.status
            ));
            continue;
        }
        hrefs.insert(xml::normalize_href(url.path()), i);
        summary.objects += 1;
    }
    if !refused.is_empty() {
        summary.notes.push(format!(
            "{} valid objects refused by the server and left out: {}",
            refused.len(),
            refused.join("; ")
        ));
    }
    if summary.objects * 2 < case.objects.len() {
        return Err(format!(
            "RFC 4791 §9.9 time-range oracle, seed {seed}: the server refused {} of {} valid \
             calendar objects, too many to judge time-range queries:\n  {}",
            refused.len(),
            case.objects.len(),
            refused.join("\n  ")
        ));
    }
    let mut exps = Vec::new();
    for o in &case.objects {
        exps.push(expand(o, case.horizon).map_err(|e| format!("seed {seed}, {}: {e}", o.name))?);
    }
    let mut mismatches = Vec::new();
    let (mut judged, mut unjudged, mut matches) = (0usize, 0usize, 0usize);
    for (ri, range) in case.ranges.iter().enumerate() {
        for kind in [CompType::Vevent, CompType::Vtodo] {
            let got = query(client, calendar, range, kind)
                .await
                .map_err(|e| format!("RFC 4791 §9.9 time-range oracle, seed {seed}: {e}"))?;
            summary.queries += 1;
            for (href, &oi) in &hrefs {
                let v = expected(&case.objects[oi], &exps[oi], range, kind, floating);
                let inc = got.contains(href);
                match &v {
                    None => unjudged += 1,
                    Some(v) => {
                        judged += 1;
                        matches += usize::from(v.matched);
                        if v.matched != inc {
                            mismatches.push(Mismatch {
                                range: ri,
                                kind,
                                obj: Some(oi),
                                href: href.clone(),
                                included: inc,
                                verdict: Some(v.clone()),
                            });
                        }
                    }
                }
            }
            for h in got.iter().filter(|h| !hrefs.contains_key(*h)) {
                mismatches.push(Mismatch {
                    range: ri,
                    kind,
                    obj: None,
                    href: h.clone(),
                    included: true,
                    verdict: None,
                });
            }
        }
    }
    summary.notes.push(format!(
        "seed {seed}, dates relative to {base}: {judged} (object, query) pairs judged, {matches} \
         of them expected to match"
    ));
    if unjudged > 0 {
        summary.notes.push(format!(
            "{unjudged} (object, query) pairs not judged: the answer depends on the zone \
             floating times are read in"
        ));
    }
    if mismatches.is_empty() {
        return Ok(summary);
    }
    Err(report(
        client,
        origin,
        calendar,
        scope,
        &case,
        &hrefs,
        &mismatches,
        &summary,
    )
    .await)
}

#[allow(clippy::too_many_arguments)]
async fn report(
    client: &Client,
    origin: &Url,
    calendar: &Url,
    scope: &Scope,
    case: &Case,
    hrefs: &BTreeMap<String, usize>,
    mismatches: &[Mismatch],
    summary: &Summary,
) -> String {
    let seed = case.seed;
    let queries: BTreeSet<(usize, CompType)> =
        mismatches.iter().map(|m| (m.range, m.kind)).collect();
    let mut s = format!(
        "RFC 4791 §9.9 time-range oracle, seed {seed} (dates relative to {}): {} of {} \
         calendar-queries disagree with the oracle ({} wrong hrefs)\n",
        case.base,
        queries.len(),
        summary.queries,
        mismatches.len()
    );
    for n in &summary.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    const SHOWN: usize = 25;
    for m in mismatches.iter().take(SHOWN) {
        let r = &case.ranges[m.range];
        let _ = writeln!(
            s,
            "- {} time-range {r} (range {}, {}): wrongly {} {}",
            m.kind.name(),
            m.range + 1,
            r.why,
            if m.included { "included" } else { "excluded" },
            m.href
        );
        if let Some(oi) = m.obj {
            let _ = writeln!(s, "    object: {}", case.objects[oi].describe());
        } else {
            let _ = writeln!(s, "    object: not one the oracle stored");
        }
        if let Some(v) = &m.verdict {
            let _ = writeln!(s, "    oracle: {}", v.reason);
        }
    }
    if mismatches.len() > SHOWN {
        let _ = writeln!(s, "- … and {} more", mismatches.len() - SHOWN);
    }
    // The minimal case: the first disagreement about one of our objects.
    let Some(m) = mismatches.iter().find(|m| m.obj.is_some()) else {
        return s;
    };
    let (Some(oi), Some(v)) = (m.obj, &m.verdict) else {
        return s;
    };
    let obj = &case.objects[oi];
    let range = &case.ranges[m.range];
    // Confirm it alone: delete every other object and ask again.
    let mut confirm = String::new();
    for (href, &i) in hrefs {
        if i == oi {
            continue;
        }
        let Ok(u) = origin.join(&case_path(calendar, &case.objects[i].name)) else {
            continue;
        };
        let req = Request::new("DELETE", u);
        if scope.check(origin, &req).is_err() {
            continue;
        }
        if let Err(e) = client.send(&req).await {
            let _ = write!(confirm, "(deleting {href} failed: {e}) ");
        }
    }
    match query(client, calendar, range, m.kind).await {
        Ok(got) => {
            let inc = got.contains(&m.href);
            let _ = write!(
                confirm,
                "with only {} left in the calendar the server {} it again: {}",
                obj.name,
                if inc { "returns" } else { "omits" },
                if inc != v.matched {
                    "reproduced"
                } else {
                    "NOT reproduced (the disagreement needs the other objects)"
                }
            );
        }
        Err(e) => {
            let _ = write!(confirm, "the confirming query failed: {e}");
        }
    }
    let _ = writeln!(
        s,
        "minimal case: {} and range {} ({}); {confirm}\nscenario (save under scenarios/rfc4791/ \
         as a .yaml file):\n{}",
        obj.name,
        m.range + 1,
        m.kind.name(),
        scenario_yaml(case, oi, m.range, m.kind, v)
    );
    s
}

fn case_path(calendar: &Url, name: &str) -> String {
    format!("{}{}", calendar.path(), name)
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn block(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for l in text.replace("\r\n", "\n").lines() {
        let _ = writeln!(out, "{pad}{l}");
    }
    out
}

/// The scenario YAML (README "Scenario format") for one object and one range: the object is
/// stored with `{uid}` as UID, dates stay absolute so the expectation never changes.
pub fn scenario_yaml(
    case: &Case,
    oi: usize,
    ri: usize,
    kind: CompType,
    verdict: &Verdict,
) -> String {
    let obj = &case.objects[oi];
    let range = &case.ranges[ri];
    let stem = obj.name.trim_end_matches(".ics");
    let mut y = format!(
        "# Generated by the time-range oracle (src/oracle.rs), seed {}, object {}, range {}.\n\
         # Dates are absolute: the expectation does not depend on the day it runs.\n\
         area: RFC 4791 §9.9 CALDAV:time-range (generated cases)\n\
         scenarios:\n",
        case.seed,
        oi + 1,
        ri + 1
    );
    let _ = writeln!(
        y,
        "  - name: oracle-s{}-{}-r{}-{}",
        case.seed,
        stem,
        ri + 1,
        kind.name().to_ascii_lowercase()
    );
    let _ = writeln!(
        y,
        "    desc: {}",
        yaml_str(&format!(
            "A calendar-query for {} with time-range {range} {} the object ({}).",
            kind.name(),
            if verdict.matched {
                "returns"
            } else {
                "does not return"
            },
            obj.describe()
        ))
    );
    let _ = writeln!(
        y,
        "    requirement: {}",
        yaml_str(&format!(
            "Time range tests MUST consider every recurrence instance when testing the time \
             range condition; if any one instance matches, then the test returns true. [...] \
             Oracle: {}",
            verdict.reason
        ))
    );
    y.push_str("    spec: [RFC4791 §9.9, RFC4791 §7.8]\n    setup:\n");
    if obj.is_floating() {
        y.push_str(
            "      - desc: read floating times in UTC (RFC 4791 §7.3)\n        method: PROPPATCH\n        path: \"{calendar}\"\n        body: |\n",
        );
        y.push_str(&block(&proppatch_body(), 10));
        y.push_str("        expect: { status: 207 }\n");
    }
    let _ = writeln!(
        y,
        "      - desc: store the object\n        method: PUT\n        path: {}\n        body: |",
        obj.name
    );
    y.push_str(&block(&obj.ical("{uid}", case.dtstamp()), 10));
    y.push_str("        expect: { status: 201 }\n    steps:\n");
    let mut expect =
        String::from("        expect:\n          status: 207\n          multistatus:\n");
    if verdict.matched {
        let _ = write!(
            expect,
            "            exact: true\n            responses:\n              - href: {}\n                props:\n                  D:getetag: any\n",
            obj.name
        );
    } else {
        let _ = writeln!(
            expect,
            "            count: 0\n            absent: [{}]",
            obj.name
        );
    }
    // The same query several times: some servers answer later queries from an index they
    // build after a few (xandikos after 5), and the index may disagree with the first answer.
    for k in 1..=REPEAT {
        let _ = writeln!(
            y,
            "      - desc: {}\n        method: REPORT\n        depth: \"1\"\n        body: |",
            yaml_str(&format!(
                "calendar-query {} time-range {range} ({k} of {REPEAT}: a server may answer later ones from an index)",
                kind.name()
            ))
        );
        y.push_str(&block(&query_body(range, kind), 10));
        y.push_str(&expect);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }
    fn t(y: i32, m: u32, dd: u32, h: u32, mi: u32) -> T {
        at(d(y, m, dd), h, mi)
    }
    fn ev(dtstart: When, end: EvEnd) -> Event {
        Event {
            dtstart,
            end,
            rrule: None,
            exdates: Vec::new(),
            rdates: Vec::new(),
            overrides: Vec::new(),
            alarm: None,
        }
    }
    fn obj(body: Body) -> Obj {
        Obj {
            name: "x.ics".into(),
            uid: "x".into(),
            body,
        }
    }
    /// Does the event object match VEVENT in [s, e) (floating read in UTC)?
    fn m(o: &Obj, s: Option<T>, e: Option<T>) -> bool {
        let r = TimeRange {
            start: s,
            end: e,
            why: String::new(),
        };
        let exp = expand(o, t(2031, 1, 1, 0, 0)).unwrap();
        let v = expected(o, &exp, &r, CompType::Vevent, Floating::Utc).unwrap();
        let other = expected(o, &exp, &r, CompType::Vtodo, Floating::Utc).unwrap();
        assert!(!other.matched);
        v.matched
    }
    fn mt(td: &Todo, s: Option<T>, e: Option<T>) -> bool {
        judge_todo(td, s, e).matched
    }
    fn sec(x: T, n: i64) -> T {
        x + Duration::seconds(n)
    }

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
    fn vtodo_table_every_row() {
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
        assert!(m(
            &o,
            Some(t(2025, 3, 23, 8, 0)),
            Some(t(2025, 3, 23, 8, 1))
        ));
        assert!(!m(
            &o,
            Some(t(2025, 3, 23, 7, 0)),
            Some(t(2025, 3, 23, 8, 0))
        ));
        assert!(m(
            &o,
            Some(t(2025, 3, 30, 7, 0)),
            Some(t(2025, 3, 30, 7, 1))
        ));
        assert!(!m(
            &o,
            Some(t(2025, 3, 30, 7, 30)),
            Some(t(2025, 3, 30, 8, 30))
        ));
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
        assert!(m(
            &o,
            Some(t(2025, 10, 26, 14, 0)),
            Some(t(2025, 10, 26, 14, 1))
        ));
        assert!(m(
            &o,
            Some(t(2025, 11, 2, 15, 0)),
            Some(t(2025, 11, 2, 15, 1))
        ));
        assert!(!m(
            &o,
            Some(t(2025, 11, 2, 14, 0)),
            Some(t(2025, 11, 2, 15, 0))
        ));
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

    /// The VTIMEZONEs sent with the objects agree with chrono-tz (the oracle's conversion) at
    /// every wall-clock time the generator uses, 2015 to 2040.
    #[test]
    fn vtimezones_agree_with_chrono_tz() {
        fn nth_sunday(y: i32, m: u32, n: i32) -> NaiveDate {
            if n > 0 {
                let first = d(y, m, 1);
                let add = (7 - first.weekday().num_days_from_sunday()) % 7;
                first + Duration::days(i64::from(add) + 7 * i64::from(n - 1))
            } else {
                let next = if m == 12 {
                    d(y + 1, 1, 1)
                } else {
                    d(y, m + 1, 1)
                };
                let last = next - Duration::days(1);
                last - Duration::days(i64::from(last.weekday().num_days_from_sunday()))
            }
        }
        let mut day = d(2015, 1, 1);
        while day < d(2040, 12, 31) {
            let y = day.year();
            for (z, std, dst, from, to) in [
                (
                    Zone::Berlin,
                    1,
                    2,
                    nth_sunday(y, 3, -1),
                    nth_sunday(y, 10, -1),
                ),
                (
                    Zone::NewYork,
                    -5,
                    -4,
                    nth_sunday(y, 3, 2),
                    nth_sunday(y, 11, 1),
                ),
            ] {
                let off = if day >= from && day < to { dst } else { std };
                for h in [6, 23] {
                    let l = at(day, h, 0);
                    assert_eq!(l - z.to_utc(l), Duration::hours(off), "{z:?} {l}");
                }
            }
            day += Duration::days(1);
        }
    }

    #[test]
    fn durations_render() {
        assert_eq!(dur_text(0, false), "PT0S");
        assert_eq!(dur_text(5400, false), "PT1H30M");
        assert_eq!(dur_text(172_800, true), "P2D");
        assert_eq!(dur_text(93_600, false), "PT26H");
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

    #[test]
    fn scenario_yaml_loads() {
        let base = d(2025, 10, 20);
        let c = generate(3, "p", base);
        let dir = std::env::temp_dir().join(format!("ccf-oracle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (oi, o) in c.objects.iter().enumerate() {
            let ri = oi % c.ranges.len();
            let kind = match o.body {
                Body::Event(_) => CompType::Vevent,
                Body::Todo(_) => CompType::Vtodo,
            };
            let exp = expand(o, c.horizon).unwrap();
            let Some(v) = expected(o, &exp, &c.ranges[ri], kind, Floating::Utc) else {
                continue;
            };
            let y = scenario_yaml(&c, oi, ri, kind, &v);
            let f = dir.join(format!("case{oi}.yaml"));
            std::fs::write(&f, &y).unwrap();
            let loaded = crate::scenario::load_file(&dir, &f, &dir)
                .unwrap_or_else(|e| panic!("{}\n{y}", e[0].0));
            assert_eq!(loaded.len(), 1);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Against a live server: CCF_ORACLE_HOME=<calendar home URL> [CCF_ORACLE_USER,
    /// CCF_ORACLE_PASSWORD_FILE, CCF_ORACLE_SEED, CCF_ORACLE_EXPECT_FAIL=1]
    /// cargo test --lib oracle::tests::live -- --ignored --nocapture
    #[tokio::test]
    #[ignore]
    async fn live() {
        let home = Url::parse(&std::env::var("CCF_ORACLE_HOME").expect("CCF_ORACLE_HOME"))
            .expect("home URL");
        let user = std::env::var("CCF_ORACLE_USER").ok();
        let password = std::env::var("CCF_ORACLE_PASSWORD_FILE").ok().map(|f| {
            http::Secret::new(
                std::fs::read_to_string(f)
                    .expect("password file")
                    .trim()
                    .to_string(),
            )
        });
        let seed: u64 = std::env::var("CCF_ORACLE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_SEED);
        let client = Client::new(http::ClientConfig {
            auth: if user.is_some() {
                http::AuthKind::Auto
            } else {
                http::AuthKind::None
            },
            user,
            password,
            insecure: false,
            ca_cert: None,
            timeout: std::time::Duration::from_secs(60),
            max_body: 64 << 20,
        })
        .expect("client");
        let origin = home.join("/").expect("origin");
        let cal = home
            .join(&format!("ccf-0ddba110-{}/", seed % 1000))
            .expect("calendar URL");
        let scope = Scope::new(&[&cal]);
        let mk = Request::new("MKCALENDAR", cal.clone());
        scope.check(&origin, &mk).expect("scope");
        let r = client.send(&mk).await.expect("MKCALENDAR");
        assert_eq!(r.status, 201, "MKCALENDAR {cal}");
        let started = std::time::Instant::now();
        let res = run(
            &client,
            &origin,
            &cal,
            &scope,
            seed,
            &format!("ccf-oracle-{seed}"),
        )
        .await;
        let del = Request::new("DELETE", cal.clone());
        let _ = client.send(&del).await;
        println!("took {:?}", started.elapsed());
        match &res {
            Ok(s) => println!("PASS {s}"),
            Err(e) => {
                println!("FAIL {e}");
                if let Ok(p) = std::env::var("CCF_ORACLE_OUT") {
                    std::fs::write(p, e).expect("write CCF_ORACLE_OUT");
                }
            }
        }
        let expect_fail = std::env::var("CCF_ORACLE_EXPECT_FAIL").is_ok();
        assert_eq!(res.is_err(), expect_fail);
    }
}
