//! Service discovery: from any URL on the server find the principal (RFC 6764 well-known URL,
//! RFC 5397 DAV:current-user-principal) and the calendar home (RFC 4791 §6.2.1), then derive
//! the server's features from OPTIONS, supported-report-set and a probe calendar's properties.

use crate::http::{Client, Request, Response, Scope};
use crate::xml::{self, Element, Multistatus, QName, CALDAV, CS, DAV};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use url::Url;

/// What discovery found; printed as the run header.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub origin: Url,
    pub principal: Option<Url>,
    pub home: Url,
    pub dav_classes: Vec<String>,
    pub allow: Vec<String>,
    pub server: Option<String>,
    pub reports: Vec<String>,
    pub features: BTreeSet<String>,
    /// Why features are missing, for the ignore reasons.
    pub notes: Vec<String>,
    /// How the principal was found: the discovery requests, one per line.
    pub trail: Vec<String>,
}

impl Discovered {
    pub fn header(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "server:     {}",
            self.server.as_deref().unwrap_or("(no Server header)")
        );
        let _ = writeln!(
            s,
            "principal:  {}",
            self.principal
                .as_ref()
                .map(Url::as_str)
                .unwrap_or("(not found; --home given)")
        );
        let _ = writeln!(s, "home:       {}", self.home);
        let _ = writeln!(s, "DAV:        {}", self.dav_classes.join(", "));
        let _ = writeln!(
            s,
            "reports:    {}",
            if self.reports.is_empty() {
                "(no supported-report-set)".to_string()
            } else {
                self.reports.join(", ")
            }
        );
        let _ = writeln!(
            s,
            "features:   {}",
            self.features.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        if let Some(via) = self.trail.iter().find(|l| l.starts_with("principal ")) {
            let _ = writeln!(s, "found:      {via}");
        }
        for n in &self.notes {
            let _ = writeln!(s, "note:       {n}");
        }
        s
    }
}

/// Context paths tried, after the given URL and the well-known URL, when neither names a
/// principal: the usual mount points of common servers (a last resort, as clients do).
const CONTEXT_PATHS: &[&str] = &[
    "/dav/",
    "/caldav/",
    "/caldav.php/",
    "/dav.php/",
    "/SOGo/dav/",
    "/remote.php/dav/",
    "/cal.php/",
];

const PRINCIPAL_PROPFIND: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/><D:principal-URL/><D:resourcetype/></D:prop></D:propfind>"#;

const HOME_PROPFIND: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-home-set/><C:calendar-user-address-set/></D:prop></D:propfind>"#;

const PROBE_PROPFIND: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:supported-report-set/><C:supported-calendar-component-set/><CS:getctag/><D:sync-token/><D:getetag/><D:resourcetype/></D:prop></D:propfind>"#;

/// PROPFIND Depth 0, following same-origin redirects (at most 5).
async fn propfind0(
    client: &Client,
    url: &Url,
    body: &str,
    log: &mut Vec<String>,
) -> Result<(Url, Response), String> {
    let mut u = url.clone();
    for _ in 0..6 {
        let req = Request::new("PROPFIND", u.clone())
            .header("Depth", "0")
            .xml(body);
        let resp = client.send(&req).await.map_err(|e| e.0)?;
        if (300..400).contains(&resp.status) {
            let loc = resp
                .header("Location")
                .ok_or_else(|| format!("{} answered {} without Location", u, resp.status))?;
            let next = u
                .join(loc)
                .map_err(|e| format!("bad redirect Location {loc:?}: {e}"))?;
            if next.origin() != u.origin() {
                return Err(format!("{u} redirects to another origin ({next}); not followed, credentials stay with the server under test"));
            }
            log.push(format!("PROPFIND {u} → {} → {next}", resp.status));
            u = next;
            continue;
        }
        log.push(format!("PROPFIND {u} → {}", resp.status));
        return Ok((u, resp));
    }
    Err(format!("too many redirects starting at {url}"))
}

fn first_prop(resp: &Response, name: &QName) -> Option<Element> {
    let root = xml::parse(&resp.body).ok()?;
    let ms = Multistatus::from_element(&root).ok()?;
    ms.responses.iter().find_map(|r| {
        r.propstats
            .iter()
            .filter(|p| p.status == 200)
            .find_map(|p| p.props.iter().find(|e| &e.name == name).cloned())
    })
}

fn href_of(el: &Element) -> Option<String> {
    el.child(&QName::new(DAV, "href"))
        .map(Element::deep_text)
        .filter(|h| !h.is_empty())
}

/// Try one candidate URL for DAV:current-user-principal.
async fn principal_at(
    client: &Client,
    url: &Url,
    log: &mut Vec<String>,
) -> Result<Option<Url>, String> {
    let (at, resp) = propfind0(client, url, PRINCIPAL_PROPFIND, log).await?;
    if resp.status == 401 {
        return Err(format!(
            "authentication failed: PROPFIND {at} answered 401 with the given credentials; check --user, the password and --auth"
        ));
    }
    if resp.status != 207 {
        return Ok(None);
    }
    let Some(cup) = first_prop(&resp, &QName::new(DAV, "current-user-principal")) else {
        return Ok(None);
    };
    if cup.child(&QName::new(DAV, "unauthenticated")).is_some() {
        log.push(format!(
            "{at}: current-user-principal is <unauthenticated/>"
        ));
        return Ok(None);
    }
    match href_of(&cup) {
        Some(h) => at
            .join(&h)
            .map(Some)
            .map_err(|e| format!("bad principal href {h:?}: {e}")),
        None => Ok(None),
    }
}

async fn find_principal(
    client: &Client,
    start: &Url,
    log: &mut Vec<String>,
) -> Result<Url, String> {
    let origin = start.join("/").map_err(|e| e.to_string())?;
    let mut candidates = vec![start.clone()];
    if let Ok(w) = origin.join("/.well-known/caldav") {
        candidates.push(w);
    }
    if start.path() == "/" {
        candidates.extend(CONTEXT_PATHS.iter().filter_map(|p| origin.join(p).ok()));
    }
    for c in &candidates {
        match principal_at(client, c, log).await {
            Ok(Some(p)) => {
                log.push(format!("principal {p} found via {c}"));
                return Ok(p);
            }
            Ok(None) => {}
            // Wrong credentials, or a server that cannot be reached at all: one clear line.
            Err(e) if e.starts_with("authentication failed") || e.starts_with("request to ") => {
                return Err(e)
            }
            Err(e) => log.push(e),
        }
    }
    Err("no DAV:current-user-principal at the URL, at /.well-known/caldav (RFC 6764) or at the usual context paths; pass --url pointing at the server's DAV root or --home".into())
}

/// Run discovery. `probe` is the URL of a scratch calendar to create and delete to read the
/// calendar-level features; None in read-only mode.
pub async fn discover(
    client: &Client,
    start: &Url,
    home_override: Option<&Url>,
    probe_name: Option<&str>,
) -> Result<Discovered, String> {
    let mut log = Vec::new();
    let fail = |step: &str, e: String, log: &[String]| {
        let mut m = format!("discovery failed at step \"{step}\": {e}");
        if !log.is_empty() {
            m.push_str("\n  what came back:");
            for l in log {
                let _ = write!(m, "\n    {l}");
            }
        }
        client.redact(&m)
    };
    let origin = start
        .join("/")
        .map_err(|e| format!("bad --url {start}: {e}"))?;
    let (principal, home) = match home_override {
        Some(h) => (
            find_principal(client, start, &mut log).await.ok(),
            h.clone(),
        ),
        None => {
            let p = find_principal(client, start, &mut log)
                .await
                .map_err(|e| fail("current-user-principal (RFC 6764, RFC 5397)", e, &log))?;
            let (_, resp) = propfind0(client, &p, HOME_PROPFIND, &mut log)
                .await
                .map_err(|e| fail("calendar-home-set (RFC 4791 §6.2.1)", e, &log))?;
            // Several hrefs are allowed (RFC 4791 §6.2.1); some servers also list calendars
            // there. The shortest is the home the others live under.
            let home = first_prop(&resp, &QName::new(CALDAV, "calendar-home-set"))
                .and_then(|set| {
                    set.children_named(&QName::new(DAV, "href"))
                        .map(Element::deep_text)
                        .filter(|h| !h.is_empty())
                        .min_by_key(|h| (xml::normalize_href(h).len(), h.clone()))
                })
                .ok_or_else(|| {
                    fail(
                        "calendar-home-set (RFC 4791 §6.2.1)",
                        format!(
                            "PROPFIND {p} (status {}) holds no CALDAV:calendar-home-set href",
                            resp.status
                        ),
                        &log,
                    )
                })?;
            let home = p
                .join(&home)
                .map_err(|e| fail("calendar-home-set", e.to_string(), &log))?;
            (Some(p), home)
        }
    };
    let home = if home.path().ends_with('/') {
        home
    } else {
        Url::parse(&format!("{home}/")).map_err(|e| e.to_string())?
    };
    let opts = client
        .send(&Request::new("OPTIONS", home.clone()))
        .await
        .map_err(|e| fail("OPTIONS on the calendar home", e.0, &log))?;
    let split = |h: Vec<&str>| -> Vec<String> {
        h.iter()
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let dav_classes = split(opts.header_all("DAV"));
    let allow = split(opts.header_all("Allow"));
    let mut features = BTreeSet::new();
    let mut notes = Vec::new();
    for c in &dav_classes {
        let c = c.to_ascii_lowercase();
        if c.chars().all(|ch| ch.is_ascii_digit()) {
            features.insert(format!("dav-{c}"));
        } else {
            features.insert(c);
        }
    }
    let mut reports = Vec::new();
    if let Some(name) = probe_name {
        let probe = home.join(&format!("{name}/")).map_err(|e| e.to_string())?;
        let scope = Scope::new(&[&probe]);
        let mk = Request::new("MKCALENDAR", probe.clone());
        scope.check(&origin, &mk)?;
        let created = client
            .send(&mk)
            .await
            .map_err(|e| fail("MKCALENDAR probe", e.0, &log))?;
        if created.status == 201 {
            features.insert("create-calendar".into());
            let (_, resp) = propfind0(client, &probe, PROBE_PROPFIND, &mut log)
                .await
                .map_err(|e| fail("PROPFIND probe calendar", e, &log))?;
            if let Some(rs) = first_prop(&resp, &QName::new(DAV, "supported-report-set")) {
                for sr in &rs.children {
                    if let Some(r) = sr.child(&QName::new(DAV, "report")) {
                        for k in &r.children {
                            reports.push(k.name.local.clone());
                        }
                    }
                }
            }
            // RFC 4791 §5.2.3: without the property, any component type may be stored.
            let comps: Vec<String> = first_prop(
                &resp,
                &QName::new(CALDAV, "supported-calendar-component-set"),
            )
            .map(|set| {
                set.children
                    .iter()
                    .filter(|c| c.name == QName::new(CALDAV, "comp"))
                    .filter_map(|c| c.attr("name").map(|n| n.to_ascii_uppercase()))
                    .collect()
            })
            .unwrap_or_else(|| {
                ["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"]
                    .map(String::from)
                    .to_vec()
            });
            for c in comps {
                features.insert(format!("component.{c}"));
            }
            if first_prop(&resp, &QName::new(CS, "getctag")).is_some() {
                features.insert("getctag".into());
            }
            if first_prop(&resp, &QName::new(DAV, "sync-token")).is_some() {
                features.insert("sync-token.property".into());
            }
            let del = Request::new("DELETE", probe.clone());
            scope.check(&origin, &del)?;
            let _ = client.send(&del).await;
        } else {
            notes.push(format!("MKCALENDAR {probe} answered {}: scenarios that need a scratch calendar are ignored", created.status));
        }
    }
    if reports.is_empty() {
        // RFC 4791 §7.1: calendar-query, calendar-multiget and free-busy-query are REQUIRED
        // of calendar-access servers; without a supported-report-set, assume just those.
        notes.push("no DAV:supported-report-set on the calendar: assuming only the REPORTs RFC 4791 requires".into());
        for r in ["calendar-query", "calendar-multiget", "free-busy-query"] {
            features.insert(format!("report.{r}"));
        }
    }
    for r in &reports {
        features.insert(format!("report.{r}"));
    }
    if reports.iter().any(|r| r == "sync-collection") {
        features.insert("sync-token".into());
    }
    Ok(Discovered {
        origin,
        principal,
        home,
        dav_classes,
        allow,
        server: opts.header("Server").map(str::to_string),
        reports,
        features,
        notes,
        trail: log,
    })
}
