//! A generative time-range oracle (RFC 4791 §9.9). From a seed it generates a calendar of random
//! but valid iCalendar objects (timed UTC, TZID with real DST rules, floating and all-day
//! events; DTEND, DURATION, zero duration or neither; recurrences with COUNT, UNTIL or no end,
//! EXDATE, RDATE and overridden instances moved in and out; VTODOs in every state of the §9.9
//! VTODO table; some VALARMs) and a set of UTC time ranges (random windows, ranges touching
//! instance boundaries, far future, open at one end). An independent implementation of the §9.9
//! overlap rules then says, for each object, range and component type, whether a
//! calendar-query `<C:comp-filter name="VEVENT"><C:time-range …/>` must return the object,
//! and [`run_on`] compares that with what the server returns.
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
//! which [`run_on`] sets to UTC with PROPPATCH. When the server refuses that, floating objects are
//! judged only where every UTC offset from -12:00 to +14:00 gives the same answer.

mod generate;
mod judge;
mod model;
mod repro;
mod run;

pub use generate::{generate, Case};
pub use judge::{expand, expected, Expansion, Floating, Verdict};
pub use model::{Body, CompType, Event, Obj, TimeRange, Todo, When, Zone};
pub use run::{query_body, run_on, OracleError, Summary};

use chrono::NaiveDateTime;

/// The requirement the oracle checks, verbatim from RFC 4791 §9.9.
pub const REQUIREMENT: &str = "the server MUST only return the calendar object resources that, \
     depending on the context, have a component or property whose value intersects a specified \
     time range. [...] Time range tests MUST consider every recurrence instance when testing the \
     time range condition; if any one instance matches, then the test returns true.";

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 4791;
/// Objects generated per seed.
pub const OBJECTS: usize = 25;
/// Time ranges generated per seed (each is queried for VEVENT and for VTODO).
pub const RANGES: usize = 20;
/// How often the generated scenario repeats its query.
pub(crate) const REPEAT: usize = 8;
/// Recurrence instances expanded per object at most.
pub(crate) const CAP: usize = 20_000;

pub(crate) type T = NaiveDateTime;

#[cfg(test)]
pub(crate) mod testutil {
    use super::judge::*;
    use super::model::*;
    use super::T;
    use chrono::{Duration, NaiveDate};

    pub(crate) fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }
    pub(crate) fn t(y: i32, m: u32, dd: u32, h: u32, mi: u32) -> T {
        at(d(y, m, dd), h, mi)
    }
    pub(crate) fn ev(dtstart: When, end: EvEnd) -> Event {
        Event::single(dtstart, end)
    }
    pub(crate) fn obj(body: Body) -> Obj {
        Obj {
            name: "x.ics".into(),
            uid: "x".into(),
            body,
        }
    }
    /// Does the event object match VEVENT in [s, e) (floating read in UTC)?
    pub(crate) fn m(o: &Obj, s: Option<T>, e: Option<T>) -> bool {
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
    pub(crate) fn mt(td: &Todo, s: Option<T>, e: Option<T>) -> bool {
        judge_todo(td, s, e).matched
    }
    pub(crate) fn sec(x: T, n: i64) -> T {
        x + Duration::seconds(n)
    }
}
