//! `--read-only`: checks that need no write, run on the account's real calendars (every
//! collection of the home whose DAV:resourcetype has CALDAV:calendar). Each calendar gets one
//! trial per check, `readonly/<calendar>::<check>` (generated at run time, like the oracle's
//! trial); the reads behind them are done once per calendar (`survey.rs`) and judged per check
//! (`checks.rs`). Nothing is written: every request passes the scope guard with no scratch
//! collection, and the client itself refuses writes in read-only mode. Calendar data is not
//! printed unless `--show-data` is given.

mod checks;
mod survey;

use crate::discovery::Discovered;
use crate::http::{Client, Request};
use crate::outcome::Outcome;
use crate::scenario::{Level, Loaded, Scenario, Scratch, ScratchMode};
use crate::xml::{self, Multistatus, QName, CALDAV, DAV};
use std::path::PathBuf;
use std::sync::Arc;
use url::Url;

/// Bounds and disclosure of the read-only checks.
#[derive(Debug, Clone)]
pub struct Options {
    /// Objects fetched (GET, calendar-multiget) per calendar at most (`--max-objects`).
    pub max_objects: usize,
    /// Show calendar data (bodies, property values) in failures (`--show-data`).
    pub show_data: bool,
    /// The year whose time-range queries are compared with its months' (the current year).
    pub year: i32,
}

/// One real calendar of the home.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// The trial group's name part: the last path segment, decoded, made safe.
    pub name: String,
    pub url: Url,
}

/// One check: what it verifies and the requirement it quotes.
#[derive(Debug)]
pub struct CheckSpec {
    pub name: &'static str,
    pub desc: &'static str,
    /// Verbatim from `spec` (`[...]` marks elisions); every check is MUST-level.
    pub requirement: &'static str,
    pub spec: &'static [&'static str],
    pub note: &'static str,
}

/// Every check, in the order the trials are listed.
pub const CHECKS: &[CheckSpec] = &[
    CheckSpec {
        name: "resourcetype",
        desc: "The calendar, read with PROPFIND Depth 0, reports DAV:collection and CALDAV:calendar in DAV:resourcetype.",
        requirement: "A calendar collection MUST report the DAV: collection and CALDAV:calendar XML elements in the value of the DAV: resourcetype property.",
        spec: &["RFC4791 §4.2"],
        note: "The calendar was found in the home's Depth 1 listing by CALDAV:calendar; its own Depth 0 answer must say the same.",
    },
    CheckSpec {
        name: "supported-report-set",
        desc: "The calendar's DAV:supported-report-set lists calendar-query, calendar-multiget and free-busy-query.",
        requirement: "This section defines the reports that CalDAV servers MUST support on calendar collections and calendar object resources. CalDAV servers MUST advertise support for these reports on all calendar collections and calendar object resources with the DAV: supported-report-set property, defined in Section 3.1.5 of [RFC3253].",
        spec: &["RFC4791 §7"],
        note: "RFC 4791 §7 defines three reports: calendar-query (§7.8), calendar-multiget (§7.9) and free-busy-query (§7.10).",
    },
    CheckSpec {
        name: "query-lists-all",
        desc: "A calendar-query with an empty VCALENDAR comp-filter (Depth 1) lists exactly the calendar object resources a Depth 1 PROPFIND lists.",
        requirement: "The CALDAV:calendar-query REPORT performs a search for all calendar object resources that match a specified filter. [...] The response body for a successful CALDAV:calendar-query REPORT request MUST contain a DAV:response element for each iCalendar object that matched the search filter. [...] A CALDAV:comp-filter is said to match if: * The CALDAV:comp-filter XML element is empty and the calendar object or calendar component type specified by the \"name\" attribute exists in the current scope;",
        spec: &["RFC4791 §7.8", "RFC4791 §9.7.1"],
        note: "Every calendar object resource has a VCALENDAR, so the empty comp-filter matches them all. The PROPFIND is done twice (before and after the other reads): an object missing from the query must be in both listings, an extra one in neither. Objects the query misses are still fetched for the other checks.",
    },
    CheckSpec {
        name: "query-get-etag",
        desc: "Every object a calendar-query lists (up to --max-objects) has a strong DAV:getetag, and a GET of it answers 200 with the same value in its ETag header.",
        requirement: "The DAV:getetag property MUST be defined and set to a strong entity tag on all calendar object resources. [...] A response to a GET request targeted at a calendar object resource MUST contain an ETag response header field indicating the current value of the strong entity tag of the calendar object resource.",
        spec: &["RFC4791 §5.3.4"],
        note: "An object that changed or went away between the query and the GET (the account's own clients keep working) is re-read and not counted against the server.",
    },
    CheckSpec {
        name: "multiget-matches-get",
        desc: "calendar-multiget of the fetched objects returns, for each, a DAV:response whose calendar-data is the same iCalendar object as the GET body.",
        requirement: "Support for the CALDAV:calendar-multiget REPORT is REQUIRED. [...] The response body for a successful CALDAV:calendar-multiget REPORT request MUST contain a DAV:response element for each calendar object resource referenced by the provided set of DAV:href elements. Calendar data is being returned in the CALDAV:calendar-data element inside the DAV:prop element.",
        spec: &["RFC4791 §7.9"],
        note: "The two are compared in canonical form (line folding, property and component order, CR/LF do not count, RFC 4791 §9.6 lets calendar-data omit CR); an object whose ETag differs between the two reads changed in between and is not compared.",
    },
    CheckSpec {
        name: "sync-matches-propfind",
        desc: "An initial sync-collection REPORT (empty token, level 1) lists exactly the members a Depth 1 PROPFIND lists, and no removed member.",
        requirement: "When the DAV:sync-collection request contains an empty DAV:sync-token element, the server MUST return all member URLs of the collection (taking account of the DAV:sync-level XML element value as per Section 3.3, and optional truncation of the result set as per Section 3.6) and it MUST NOT return any removed member URLs. All types of member (collection or non-collection) MUST be reported.",
        spec: &["RFC6578 §3.4"],
        note: "Ignored when the calendar does not list sync-collection in DAV:supported-report-set. The PROPFIND is done twice (before and after every other read): a member missing from the report must be in both listings, an extra one in neither, so that the account's own clients working meanwhile are not blamed on the server. A truncated report (507 for the calendar, RFC 6578 §3.6) is only checked for extra members.",
    },
    CheckSpec {
        name: "sync-token-stable",
        desc: "After all the reads, a sync-collection REPORT with the token of the initial one lists exactly the members that changed meanwhile (none, when nobody wrote), and the token is still accepted.",
        requirement: "The response body for a successful request MUST be a DAV:multistatus XML element, which MUST contain one DAV:sync-token element in addition to one DAV:response element for each member URL that was added, has had its mapped resource changed, or was deleted since the last synchronization operation as specified by the DAV:sync-token provided in the request. [...] Even so, servers MUST limit themselves to invalidating tokens only when absolutely necessary.",
        spec: &["RFC6578 §3.2"],
        note: "Reads change nothing, so a report that lists members although both Depth 1 listings (before and after) are identical breaks the sentence, and so does one that misses a member the listings show changed; a token refused (403 DAV:valid-sync-token) a few seconds after it was issued breaks the last one. A DAV:sync-token property whose value changes across reads is mentioned on the console but not judged: RFC 6578 does not forbid a new value for the same state.",
    },
    CheckSpec {
        name: "getctag-stable",
        desc: "CS:getctag read before and after all the reads: when the members changed meanwhile (Depth 1 listings differ), the value changed too.",
        requirement: "Whenever a calendar resource is added to, modified or deleted from the calendar collection, the value of the CS:getctag property MUST change.",
        spec: &["caldav-ctag-03 §3.1"],
        note: "caldav-ctag-03 has no MUST that the value stay the same while nothing changes (§3.2 only tells clients what a matching value means): a value that changes across reads although the members did not is mentioned on the console, not failed. Ignored when the calendar has no CS:getctag.",
    },
    CheckSpec {
        name: "year-equals-months",
        desc: "For VEVENT and VTODO (those the calendar supports), a calendar-query time-range over the current year returns exactly the union of the twelve queries over its months.",
        requirement: crate::oracle::REQUIREMENT,
        spec: &["RFC4791 §9.9"],
        note: "The months partition the year (start inclusive, end exclusive, RFC 4791 §9.9), so a component that intersects the year intersects at least one month and the other way round; recurring components included (\"if any one instance matches\").",
    },
    CheckSpec {
        name: "valid-icalendar",
        desc: "Every object fetched (up to --max-objects) is an iCalendar object: it parses, has PRODID and VERSION, and at least one component.",
        requirement: "An iCalendar object MUST include the \"PRODID\" and \"VERSION\" calendar properties. In addition, it MUST include at least one calendar component.",
        spec: &["RFC5545 §3.6"],
        note: "What a server stores came from clients, but RFC 4791 §5.3.2.1 has the server refuse invalid data (CALDAV:valid-calendar-data), so what it serves must be valid.",
    },
    CheckSpec {
        name: "object-resource-rules",
        desc: "Every object fetched holds one type of component (VTIMEZONE aside) with one UID, a VTIMEZONE for each TZID it uses, no METHOD, and no UID is stored in two objects.",
        requirement: "Calendar object resources contained in calendar collections MUST NOT contain more than one type of calendar component (e.g., VEVENT, VTODO, VJOURNAL, VFREEBUSY, etc.) with the exception of VTIMEZONE components, which MUST be specified for each unique TZID parameter value specified in the iCalendar object. [...] Calendar object resources contained in calendar collections MUST NOT specify the iCalendar METHOD property. The UID property value of the calendar components contained in a calendar object resource MUST be unique in the scope of the calendar collection in which they are stored. Calendar components in a calendar collection that have different UID property values MUST be stored in separate calendar object resources.",
        spec: &["RFC4791 §4.1"],
        note: "RFC 4791 §5.3.2.1 has the server refuse objects that break these rules (CALDAV:valid-calendar-object-resource, CALDAV:no-uid-conflict); the UID rule is checked among the objects fetched only.",
    },
];

/// A check of one calendar: the trial's payload (`Scenario::live`).
#[derive(Clone)]
pub struct LiveCheck {
    pub check: &'static CheckSpec,
    pub target: Arc<Target>,
}

impl std::fmt::Debug for LiveCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LiveCheck({} of {})",
            self.check.name, self.target.calendar.url
        )
    }
}

/// One calendar with its options and, once read, its survey.
pub struct Target {
    pub calendar: Calendar,
    pub opts: Options,
    survey: tokio::sync::OnceCell<survey::Survey>,
}

/// A trial name part from a path segment: letters, digits, `.`, `_` and `-` kept.
fn slug(segment: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
    let s: String = decoded
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "calendar".into()
    } else {
        s
    }
}

const LIST_HOME: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>"#;

/// The calendars of the home: members whose DAV:resourcetype has CALDAV:calendar (a Depth 1
/// PROPFIND, a read), with names unique within the run.
pub async fn list_calendars(client: &Client, disc: &Discovered) -> Result<Vec<Calendar>, String> {
    let req = Request::new("PROPFIND", disc.home.clone())
        .header("Depth", "1")
        .xml(LIST_HOME);
    crate::http::Scope::new(&[]).check(&disc.origin, &req)?;
    let resp = client
        .send(&req)
        .await
        .map_err(|e| format!("cannot list the calendars of {}: {e}", disc.home))?;
    if resp.status != 207 {
        return Err(format!(
            "cannot list the calendars of {}: PROPFIND Depth 1 answered {}",
            disc.home, resp.status
        ));
    }
    let ms = xml::parse(&resp.body)
        .and_then(|r| Multistatus::from_element(&r))
        .map_err(|e| format!("cannot list the calendars of {}: {e}", disc.home))?;
    let home = xml::normalize_href(disc.home.path());
    let mut out: Vec<Calendar> = Vec::new();
    for r in &ms.responses {
        if r.href == home {
            continue;
        }
        let is_calendar = r
            .prop(&QName::new(DAV, "resourcetype"))
            .is_some_and(|(s, t)| s == 200 && t.child(&QName::new(CALDAV, "calendar")).is_some());
        if !is_calendar {
            continue;
        }
        let path = if r.href.ends_with('/') {
            r.href.clone()
        } else {
            format!("{}/", r.href)
        };
        let url = disc
            .origin
            .join(&path)
            .map_err(|e| format!("bad calendar href {}: {e}", r.raw_href))?;
        let base = slug(r.href.rsplit('/').next().unwrap_or(""));
        let mut name = base.clone();
        let mut n = 2;
        while out.iter().any(|c| c.name == name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        out.push(Calendar { name, url });
    }
    Ok(out)
}

/// The trials of these calendars: one per check and calendar.
pub fn trials(calendars: &[Calendar], opts: &Options) -> Vec<Loaded> {
    let mut out = Vec::new();
    for cal in calendars {
        let target = Arc::new(Target {
            calendar: cal.clone(),
            opts: opts.clone(),
            survey: tokio::sync::OnceCell::new(),
        });
        for check in CHECKS {
            out.push(Loaded {
                file: PathBuf::from("src/readonly/mod.rs"),
                group: format!("readonly/{}", cal.name),
                area: Some(format!(
                    "Read-only validation of the calendar {} (--read-only)",
                    cal.url.path()
                )),
                line: 1,
                scenario: Scenario {
                    name: check.name.into(),
                    desc: check.desc.into(),
                    requirement: check.requirement.into(),
                    note: Some(check.note.into()),
                    spec: check.spec.iter().map(|s| s.to_string()).collect(),
                    level: Level::Must,
                    requires: Vec::new(),
                    read_only: true,
                    scratch: Scratch {
                        calendar: ScratchMode::None,
                        calendar2: ScratchMode::None,
                    },
                    repeat: None,
                    setup: Vec::new(),
                    steps: Vec::new(),
                    teardown: Vec::new(),
                    generative: None,
                    live: Some(LiveCheck {
                        check,
                        target: Arc::clone(&target),
                    }),
                },
            });
        }
    }
    out
}

/// Run (once per calendar) the reads, then judge this trial's check.
pub async fn judge(client: &Client, disc: &Discovered, live: &LiveCheck) -> Outcome {
    let t = &live.target;
    let survey = t
        .survey
        .get_or_init(|| async {
            let reader = survey::Reader {
                client,
                origin: &disc.origin,
                opts: &t.opts,
            };
            let s = reader.survey(&t.calendar, t.opts.year).await;
            eprintln!(
                "readonly/{}: {}",
                t.calendar.name,
                checks::summary(&s, &t.opts)
            );
            s
        })
        .await;
    checks::judge(live.check, survey, &t.calendar, &t.opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_names_are_safe_and_unique() {
        assert_eq!(slug("Work%20%26%20Play"), "Work___Play");
        assert_eq!(slug(""), "calendar");
        assert_eq!(slug("a.b-c_d"), "a.b-c_d");
        let opts = Options {
            max_objects: 10,
            show_data: false,
            year: 2026,
        };
        let cal = Calendar {
            name: "work".into(),
            url: Url::parse("http://h/cal/u/work/").unwrap(),
        };
        let t = trials(&[cal], &opts);
        assert_eq!(t.len(), CHECKS.len());
        assert_eq!(t[0].trial_name(), "readonly/work::resourcetype");
        assert!(t
            .iter()
            .all(|l| l.scenario.read_only && l.scenario.live.is_some()));
    }
}
