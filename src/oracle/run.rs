//! Running the oracle against a server: store the generated calendar in the scratch calendar,
//! query it with every range, and compare each answer with the judge's.
use super::generate::*;
use super::judge::*;
use super::model::*;
use super::repro;
use crate::http::{self, Client, Request, Scope};
use crate::xml::{self, Multistatus};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use url::Url;

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

pub(super) fn proppatch_body() -> String {
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
pub(super) async fn set_calendar_timezone(
    client: &Client,
    origin: &Url,
    calendar: &Url,
    scope: &Scope,
) -> Result<Option<String>, String> {
    let req = Request::new("PROPPATCH", calendar.clone()).xml(&proppatch_body());
    scope.check(origin, &req)?;
    let r = match client.send(&req).await {
        Ok(r) => r,
        Err(e) => return Ok(Some(e.to_string())),
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
pub(super) struct Mismatch {
    pub(super) range: usize,
    pub(super) kind: CompType,
    /// Index of the object, or None for an href that is none of ours.
    pub(super) obj: Option<usize>,
    pub(super) href: String,
    /// True: returned but should not be; false: should be returned but was not.
    pub(super) included: bool,
    pub(super) verdict: Option<Verdict>,
}

/// Send one calendar-query and return the normalised hrefs it lists (the collection itself and
/// responses with a bare non-2xx status left out).
pub(super) async fn query(
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

/// Why an oracle run did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OracleError {
    /// The situation could not be set up (too many valid objects refused, a request that
    /// could not be sent): inconclusive, never a time-range failure.
    Setup(String),
    /// A calendar-query disagreed with the oracle, or failed: the requirement is broken.
    Disagreement(String),
}

impl fmt::Display for OracleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OracleError::Setup(m) | OracleError::Disagreement(m) => f.write_str(m),
        }
    }
}

/// Generate the calendar of `seed` (dates relative to `base`), store it in the (empty, scratch)
/// `calendar`, query it with every range for VEVENT and VTODO, and compare the answers with the
/// oracle's. The same seed and base give the same calendar and ranges, to reproduce a failure
/// reported on another day.
pub async fn run_on(
    client: &Client,
    origin: &Url,
    calendar: &Url,
    scope: &Scope,
    seed: u64,
    uid_prefix: &str,
    base: NaiveDate,
) -> Result<Summary, OracleError> {
    let case = generate(seed, uid_prefix, base);
    let mut summary = Summary::default();
    let tz_refused = set_calendar_timezone(client, origin, calendar, scope)
        .await
        .map_err(OracleError::Setup)?;
    let floating = floating_rule(tz_refused, &mut summary);
    let bench = repro::Bench {
        client,
        origin,
        calendar,
        scope,
        floating,
        horizon: case.horizon,
        dtstamp: case.dtstamp(),
    };
    let mut hrefs = store(&bench, &case, &mut summary)
        .await
        .map_err(OracleError::Setup)?;
    read_back(&bench, &case, &mut hrefs, &mut summary)
        .await
        .map_err(OracleError::Setup)?;
    let mismatches = compare(&bench, &case, &hrefs, &mut summary).await?;
    if mismatches.is_empty() {
        return Ok(summary);
    }
    // The minimal case: the first disagreement about one of our objects, shrunk.
    let minimal = match mismatches.iter().find(|m| m.obj.is_some()) {
        Some(m) => repro::shrink(&bench, &case, &hrefs, m).await,
        None => None,
    };
    Err(OracleError::Disagreement(repro::report(
        &case,
        &mismatches,
        &summary,
        minimal.as_ref(),
    )))
}

/// How floating times are judged, given whether CALDAV:calendar-timezone could be set to UTC.
fn floating_rule(tz_refused: Option<String>, summary: &mut Summary) -> Floating {
    match tz_refused {
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
    }
}

/// Why the server refused one object: the DAV:error conditions and description it gave.
fn refusal_reason(body: &[u8]) -> String {
    xml::parse(body)
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
        .unwrap_or_default()
}

/// Store every object of the case; the normalised href of each stored one, with its index.
/// A refused object is left out of the comparison (the refusal is noted, but it is not a
/// time-range failure); a server refusing most of them leaves nothing to judge.
async fn store(
    bench: &repro::Bench<'_>,
    case: &Case,
    summary: &mut Summary,
) -> Result<BTreeMap<String, usize>, String> {
    let mut hrefs = BTreeMap::new();
    let mut refused = Vec::new();
    for (i, o) in case.objects.iter().enumerate() {
        let url = bench
            .calendar
            .join(&o.name)
            .map_err(|e| format!("cannot form the URL of {}: {e}", o.name))?;
        let mut req = Request::new("PUT", url.clone())
            .header("Content-Type", "text/calendar; charset=utf-8")
            .header("If-None-Match", "*");
        req.body = Some(o.ical(&o.uid, bench.dtstamp).into_bytes());
        bench.scope.check(bench.origin, &req)?;
        let r = bench
            .client
            .send(&req)
            .await
            .map_err(|e| format!("storing {}: {e}", o.name))?;
        if !(200..300).contains(&r.status) {
            let why = refusal_reason(&r.body);
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
            "RFC 4791 §9.9 time-range oracle, seed {}: the server refused {} of {} valid \
             calendar objects, too many to judge time-range queries:\n  {}",
            case.seed,
            refused.len(),
            case.objects.len(),
            refused.join("\n  ")
        ));
    }
    Ok(hrefs)
}

/// List the calendar (PROPFIND Depth 1) and keep, of the objects the server acknowledged, those
/// it really holds: one answered 201 but not listed is a storage failure, not a time-range one,
/// so it is left out of the comparison like a refused one; a server that keeps fewer than half
/// of them (one that answers 201 and stores nothing) leaves nothing to judge: inconclusive.
async fn read_back(
    bench: &repro::Bench<'_>,
    case: &Case,
    hrefs: &mut BTreeMap<String, usize>,
    summary: &mut Summary,
) -> Result<(), String> {
    let req = Request::new("PROPFIND", bench.calendar.clone())
        .header("Depth", "1")
        .xml(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
             <D:propfind xmlns:D=\"DAV:\"><D:prop><D:getetag/></D:prop></D:propfind>\n",
        );
    bench.scope.check(bench.origin, &req)?;
    let r = bench
        .client
        .send(&req)
        .await
        .map_err(|e| format!("reading the stored objects back (PROPFIND Depth 1): {e}"))?;
    let listed: BTreeSet<String> = if r.status == 207 {
        xml::parse(&r.body)
            .and_then(|root| Multistatus::from_element(&root))
            .map_err(|e| format!("reading the stored objects back (PROPFIND Depth 1): {e}"))?
            .responses
            .into_iter()
            .map(|resp| resp.href)
            .collect()
    } else {
        return Err(format!(
            "reading the stored objects back: PROPFIND Depth 1 of the calendar answered {} \
             (expected 207)\n{}",
            r.status,
            http::dump(bench.client, &req, Some(&r), 2000)
        ));
    };
    let missing: Vec<String> = hrefs
        .keys()
        .filter(|h| !listed.contains(*h))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    for h in &missing {
        hrefs.remove(h);
    }
    summary.objects = hrefs.len();
    summary.notes.push(format!(
        "{} objects acknowledged with 2xx but not listed by PROPFIND Depth 1 of the calendar, \
         left out: {}",
        missing.len(),
        missing.join(", ")
    ));
    if hrefs.len() * 2 < case.objects.len() {
        return Err(format!(
            "RFC 4791 §9.9 time-range oracle, seed {}: the server acknowledged the calendar \
             objects, but PROPFIND Depth 1 of the calendar lists only {} of the {} generated, \
             too few to judge time-range queries\n{}",
            case.seed,
            hrefs.len(),
            case.objects.len(),
            http::dump(bench.client, &req, Some(&r), 2000)
        ));
    }
    Ok(())
}

/// Ask every range for VEVENT and VTODO and list where the server and the oracle disagree.
async fn compare(
    bench: &repro::Bench<'_>,
    case: &Case,
    hrefs: &BTreeMap<String, usize>,
    summary: &mut Summary,
) -> Result<Vec<Mismatch>, OracleError> {
    let seed = case.seed;
    let mut exps = Vec::new();
    for o in &case.objects {
        let e = expand(o, case.horizon)
            .map_err(|e| OracleError::Setup(format!("seed {seed}, {}: {e}", o.name)))?;
        exps.push(e);
    }
    let mut mismatches = Vec::new();
    let mut tally = Tally::default();
    for (ri, range) in case.ranges.iter().enumerate() {
        for kind in [CompType::Vevent, CompType::Vtodo] {
            let got = query(bench.client, bench.calendar, range, kind)
                .await
                .map_err(|e| {
                    OracleError::Disagreement(format!(
                        "RFC 4791 §9.9 time-range oracle, seed {seed}: {e}"
                    ))
                })?;
            summary.queries += 1;
            for (href, &oi) in hrefs {
                let v = expected(&case.objects[oi], &exps[oi], range, kind, bench.floating);
                if let Some(m) = tally.judge(v, got.contains(href), ri, kind, oi, href) {
                    mismatches.push(m);
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
    tally.notes(case, summary);
    Ok(mismatches)
}

/// How many (object, query) pairs were judged, expected to match, or left unjudged.
#[derive(Default)]
struct Tally {
    judged: usize,
    unjudged: usize,
    matches: usize,
}

impl Tally {
    /// Count one (object, query) pair; the mismatch when the server disagrees.
    fn judge(
        &mut self,
        v: Option<Verdict>,
        included: bool,
        range: usize,
        kind: CompType,
        obj: usize,
        href: &str,
    ) -> Option<Mismatch> {
        let Some(v) = v else {
            self.unjudged += 1;
            return None;
        };
        self.judged += 1;
        self.matches += usize::from(v.matched);
        (v.matched != included).then(|| Mismatch {
            range,
            kind,
            obj: Some(obj),
            href: href.to_string(),
            included,
            verdict: Some(v),
        })
    }

    fn notes(&self, case: &Case, summary: &mut Summary) {
        summary.notes.push(format!(
            "seed {}, dates relative to {}: {} (object, query) pairs judged, {} of them \
             expected to match",
            case.seed, case.base, self.judged, self.matches
        ));
        if self.unjudged > 0 {
            summary.notes.push(format!(
                "{} (object, query) pairs not judged: the answer depends on the zone floating \
                 times are read in",
                self.unjudged
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a live server: CCF_ORACLE_HOME=<calendar home URL> [CCF_ORACLE_USER,
    /// CCF_ORACLE_PASSWORD_FILE, CCF_ORACLE_SEED, CCF_ORACLE_EXPECT_FAIL=1]
    /// cargo test --lib oracle::run::tests::live -- --ignored --nocapture
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
            .unwrap_or(crate::oracle::DEFAULT_SEED);
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
        let res = run_on(
            &client,
            &origin,
            &cal,
            &scope,
            seed,
            &format!("ccf-oracle-{seed}"),
            chrono::Utc::now().date_naive(),
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
                    std::fs::write(p, e.to_string()).expect("write CCF_ORACLE_OUT");
                }
            }
        }
        let expect_fail = std::env::var("CCF_ORACLE_EXPECT_FAIL").is_ok();
        assert_eq!(res.is_err(), expect_fail);
    }
}
