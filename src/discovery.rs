//! Service discovery: from any URL on the server find the principal (RFC 6764 well-known URL,
//! RFC 5397 DAV:current-user-principal) and the calendar home (RFC 4791 §6.2.1), then derive
//! the server's features from OPTIONS, supported-report-set and a probe calendar's properties
//! (the names scenarios may list in `requires:` are `known_features()`), and the product it
//! names itself as (`discovery/product.rs`) or, failing that, what its answers to two GETs
//! reveal (`discovery/fingerprint.rs`).

mod fingerprint;
mod product;

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
    /// The `Server` header (the first one seen during discovery).
    pub server: Option<String>,
    /// The product and version the server names itself as, e.g. `sabre/dav 1.8.12`.
    pub product: Option<String>,
    /// The headers it was read from (`Server`, `X-Sabre-Version`, `X-Powered-By`, …).
    pub identity: Vec<(String, String)>,
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
            "product:    {}",
            self.product.as_deref().unwrap_or("(not identified)")
        );
        let others: Vec<String> = self
            .identity
            .iter()
            .filter(|(k, _)| k != "Server")
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        if !others.is_empty() {
            let _ = writeln!(s, "identity:   {}", others.join("; "));
        }
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

/// What discovery saw on its way: one line per request, and the identifying headers.
#[derive(Default)]
struct Trail {
    lines: Vec<String>,
    identity: product::Identity,
}

impl Trail {
    fn push(&mut self, line: String) {
        self.lines.push(line);
    }
}

/// Why discovery found nothing at one place.
#[derive(Debug)]
enum Miss {
    /// Stop: wrong credentials, or a server that cannot be reached at all; one clear line.
    Fatal(String),
    /// Nothing usable here: try the next candidate.
    Here(String),
}

impl From<Miss> for String {
    fn from(m: Miss) -> String {
        match m {
            Miss::Fatal(s) | Miss::Here(s) => s,
        }
    }
}

impl From<String> for Miss {
    fn from(s: String) -> Miss {
        Miss::Here(s)
    }
}

/// PROPFIND Depth 0, following same-origin redirects (at most 5).
async fn propfind0(
    client: &Client,
    url: &Url,
    body: &str,
    log: &mut Trail,
) -> Result<(Url, Response), Miss> {
    let mut u = url.clone();
    for _ in 0..6 {
        let req = Request::new("PROPFIND", u.clone())
            .header("Depth", "0")
            .xml(body);
        let resp = client.send(&req).await.map_err(|e| {
            if e.is_unreachable() {
                Miss::Fatal(e.to_string())
            } else {
                Miss::Here(e.to_string())
            }
        })?;
        log.identity.record(&resp);
        if (300..400).contains(&resp.status) {
            let loc = resp
                .header("Location")
                .ok_or_else(|| format!("{} answered {} without Location", u, resp.status))?;
            let next = u
                .join(loc)
                .map_err(|e| format!("bad redirect Location {loc:?}: {e}"))?;
            if next.origin() != u.origin() {
                return Err(Miss::Here(format!("{u} redirects to another origin ({next}); not followed, credentials stay with the server under test")));
            }
            log.push(format!("PROPFIND {u} → {} → {next}", resp.status));
            u = next;
            continue;
        }
        log.push(format!("PROPFIND {u} → {}", resp.status));
        return Ok((u, resp));
    }
    Err(Miss::Here(format!("too many redirects starting at {url}")))
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
async fn principal_at(client: &Client, url: &Url, log: &mut Trail) -> Result<Option<Url>, Miss> {
    let (at, resp) = propfind0(client, url, PRINCIPAL_PROPFIND, log).await?;
    if resp.status == 401 {
        return Err(Miss::Fatal(format!(
            "authentication failed: PROPFIND {at} answered 401 with the given credentials; check --user, the password and --auth"
        )));
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
            .map_err(|e| Miss::Here(format!("bad principal href {h:?}: {e}"))),
        None => Ok(None),
    }
}

async fn find_principal(client: &Client, start: &Url, log: &mut Trail) -> Result<Url, String> {
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
            Err(Miss::Fatal(e)) => return Err(e),
            Err(Miss::Here(e)) => log.push(e),
        }
    }
    Err("no DAV:current-user-principal at the URL, at /.well-known/caldav (RFC 6764) or at the usual context paths; pass --url pointing at the server's DAV root or --home".into())
}

/// DAV compliance classes a scenario may require (RFC 4918 §18, RFC 3744, RFC 4791, RFC 5689,
/// RFC 5842, RFC 6638, RFC 7809, RFC 7953, RFC 8607 and common vendor classes), as features:
/// lower case, and the numbered classes as `dav-N`.
pub const DAV_CLASSES: &[&str] = &[
    "dav-1",
    "dav-2",
    "dav-3",
    "access-control",
    "add-member",
    "addressbook",
    "bind",
    "calendar-access",
    "calendar-auto-schedule",
    "calendar-availability",
    "calendar-managed-attachments",
    "calendar-no-timezone",
    "calendar-proxy",
    "calendar-query-extended",
    "calendar-schedule",
    "calendarserver-principal-property-search",
    "calendarserver-sharing",
    "extended-mkcol",
    "inbox-availability",
    "quota",
    "resource-sharing",
    "sync-collection",
];

/// REPORTs a calendar may list in DAV:supported-report-set; each gives `report.NAME`.
pub const REPORTS: &[&str] = &[
    "acl-principal-prop-set",
    "addressbook-multiget",
    "addressbook-query",
    "calendar-multiget",
    "calendar-query",
    "expand-property",
    "free-busy-query",
    "principal-match",
    "principal-property-search",
    "principal-search-property-set",
    "sync-collection",
];

/// Component types of CALDAV:supported-calendar-component-set; each gives `component.NAME`.
pub const COMPONENTS: &[&str] = &[
    "VEVENT",
    "VTODO",
    "VJOURNAL",
    "VFREEBUSY",
    "VAVAILABILITY",
    "VPOLL",
];

/// Features read from the probe calendar: MKCALENDAR works, CS:getctag, sync-collection
/// advertised, DAV:sync-token property.
pub const PROBE_FEATURES: &[&str] = &[
    "create-calendar",
    "getctag",
    "sync-token",
    "sync-token.property",
];

/// Every feature name discovery can derive: what `requires:` may list.
pub fn known_features() -> BTreeSet<String> {
    DAV_CLASSES
        .iter()
        .chain(PROBE_FEATURES)
        .map(|s| s.to_string())
        .chain(REPORTS.iter().map(|r| format!("report.{r}")))
        .chain(COMPONENTS.iter().map(|c| format!("component.{c}")))
        .collect()
}

/// The feature a DAV class gives: `1` → `dav-1`, others lower-cased.
fn class_feature(class: &str) -> String {
    let c = class.to_ascii_lowercase();
    if c.chars().all(|ch| ch.is_ascii_digit()) {
        format!("dav-{c}")
    } else {
        c
    }
}

/// `discovery failed at step "…": …`, with what came back so far (credentials redacted).
fn failed(client: &Client, step: &str, e: String, log: &Trail) -> String {
    let mut m = format!("discovery failed at step \"{step}\": {e}");
    if !log.lines.is_empty() {
        m.push_str("\n  what came back:");
        for l in &log.lines {
            let _ = write!(m, "\n    {l}");
        }
    }
    client.redact(&m)
}

/// The principal (when found) and the calendar home, with a trailing slash.
async fn principal_and_home(
    client: &Client,
    start: &Url,
    home_override: Option<&Url>,
    log: &mut Trail,
) -> Result<(Option<Url>, Url), String> {
    let (principal, home) = match home_override {
        Some(h) => (find_principal(client, start, log).await.ok(), h.clone()),
        None => {
            let p = match find_principal(client, start, log).await {
                Ok(p) => p,
                Err(e) => {
                    return Err(failed(
                        client,
                        "current-user-principal (RFC 6764, RFC 5397)",
                        e,
                        log,
                    ))
                }
            };
            let home = home_of(client, &p, log).await?;
            (Some(p), home)
        }
    };
    if home.path().ends_with('/') {
        Ok((principal, home))
    } else {
        Ok((
            principal,
            Url::parse(&format!("{home}/")).map_err(|e| e.to_string())?,
        ))
    }
}

/// CALDAV:calendar-home-set of the principal.
async fn home_of(client: &Client, p: &Url, log: &mut Trail) -> Result<Url, String> {
    const STEP: &str = "calendar-home-set (RFC 4791 §6.2.1)";
    let resp = match propfind0(client, p, HOME_PROPFIND, log).await {
        Ok((_, r)) => r,
        Err(e) => return Err(failed(client, STEP, e.into(), log)),
    };
    // Several hrefs are allowed (RFC 4791 §6.2.1); some servers also list calendars
    // there. The shortest is the home the others live under.
    let href = first_prop(&resp, &QName::new(CALDAV, "calendar-home-set")).and_then(|set| {
        set.children_named(&QName::new(DAV, "href"))
            .map(Element::deep_text)
            .filter(|h| !h.is_empty())
            .min_by_key(|h| (xml::normalize_href(h).len(), h.clone()))
    });
    let Some(href) = href else {
        let e = format!(
            "PROPFIND {p} (status {}) holds no CALDAV:calendar-home-set href",
            resp.status
        );
        return Err(failed(client, STEP, e, log));
    };
    p.join(&href)
        .map_err(|e| failed(client, STEP, e.to_string(), log))
}

/// What the probe calendar tells: its reports, and features added to `features`.
struct Probe {
    reports: Vec<String>,
    notes: Vec<String>,
}

/// Create the probe calendar, read its properties, delete it.
async fn probe(
    client: &Client,
    origin: &Url,
    home: &Url,
    name: &str,
    features: &mut BTreeSet<String>,
    log: &mut Trail,
) -> Result<Probe, String> {
    let mut out = Probe {
        reports: Vec::new(),
        notes: Vec::new(),
    };
    let probe = home.join(&format!("{name}/")).map_err(|e| e.to_string())?;
    let scope = Scope::new(&[&probe]);
    let mk = Request::new("MKCALENDAR", probe.clone());
    scope.check(origin, &mk)?;
    let created = match client.send(&mk).await {
        Ok(r) => r,
        Err(e) => return Err(failed(client, "MKCALENDAR probe", e.to_string(), log)),
    };
    if created.status != 201 {
        out.notes.push(format!(
            "MKCALENDAR {probe} answered {}: scenarios that need a scratch calendar are ignored",
            created.status
        ));
        return Ok(out);
    }
    features.insert("create-calendar".into());
    let resp = match propfind0(client, &probe, PROBE_PROPFIND, log).await {
        Ok((_, r)) => r,
        Err(e) => return Err(failed(client, "PROPFIND probe calendar", e.into(), log)),
    };
    if let Some(rs) = first_prop(&resp, &QName::new(DAV, "supported-report-set")) {
        for sr in &rs.children {
            if let Some(r) = sr.child(&QName::new(DAV, "report")) {
                out.reports
                    .extend(r.children.iter().map(|k| k.name.local.clone()));
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
    .unwrap_or_else(|| COMPONENTS[..4].iter().map(|c| c.to_string()).collect());
    features.extend(comps.iter().map(|c| format!("component.{c}")));
    if first_prop(&resp, &QName::new(CS, "getctag")).is_some() {
        features.insert("getctag".into());
    }
    if first_prop(&resp, &QName::new(DAV, "sync-token")).is_some() {
        features.insert("sync-token.property".into());
    }
    // Deleted for good and checked (past a trash bin): a probe left behind is reported with
    // the run's other scratch collections.
    let _ = crate::purge::delete_for_good(client, origin, &probe, crate::purge::Via::Normal).await;
    Ok(out)
}

/// The comma-separated tokens of a header that may come as several field lines.
fn header_tokens(values: Vec<&str>) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Run discovery. `probe_name` names a scratch calendar to create and delete to read the
/// calendar-level features; None in read-only mode.
pub async fn discover(
    client: &Client,
    start: &Url,
    home_override: Option<&Url>,
    probe_name: Option<&str>,
) -> Result<Discovered, String> {
    let mut log = Trail::default();
    let origin = start
        .join("/")
        .map_err(|e| format!("bad --url {start}: {e}"))?;
    let (principal, home) = principal_and_home(client, start, home_override, &mut log).await?;
    let opts = client
        .send(&Request::new("OPTIONS", home.clone()))
        .await
        .map_err(|e| failed(client, "OPTIONS on the calendar home", e.to_string(), &log))?;
    log.identity.record(&opts);
    let dav_classes = header_tokens(opts.header_all("DAV"));
    let allow = header_tokens(opts.header_all("Allow"));
    let mut features: BTreeSet<String> = dav_classes.iter().map(|c| class_feature(c)).collect();
    // A server with a calendar trash bin gets scratch DELETEs that bypass it (purge.rs).
    client
        .registry()
        .set_trash_bin(crate::purge::advertises_trash_bin(&dav_classes));
    let Probe { reports, mut notes } = match probe_name {
        Some(name) => probe(client, &origin, &home, name, &mut features, &mut log).await?,
        None => Probe {
            reports: Vec::new(),
            notes: Vec::new(),
        },
    };
    if reports.is_empty() {
        // RFC 4791 §7.1: calendar-query, calendar-multiget and free-busy-query are REQUIRED
        // of calendar-access servers; without a supported-report-set, assume just those.
        notes.push("no DAV:supported-report-set on the calendar: assuming only the REPORTs RFC 4791 requires".into());
        for r in ["calendar-query", "calendar-multiget", "free-busy-query"] {
            features.insert(format!("report.{r}"));
        }
    }
    features.extend(reports.iter().map(|r| format!("report.{r}")));
    if reports.iter().any(|r| r == "sync-collection") {
        features.insert("sync-token".into());
    }
    let mut identity = log.identity.headers.clone();
    let mut product = log.identity.product(&dav_classes);
    if product.is_none() {
        let base = principal.as_ref().unwrap_or(&home);
        if let Some((p, why)) = fingerprint::guess(client, base, &home, &opts).await {
            identity.push(("Fingerprint".into(), why));
            product = Some(p);
        }
    }
    Ok(Discovered {
        origin,
        principal,
        home,
        product,
        server: identity
            .iter()
            .find(|(k, _)| k == "Server")
            .map(|(_, v)| v.clone()),
        identity,
        dav_classes,
        allow,
        reports,
        features,
        notes,
        trail: log.lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_features_cover_what_discovery_derives() {
        let known = known_features();
        for f in [
            "dav-1",
            "calendar-access",
            "calendar-no-timezone",
            "report.sync-collection",
            "component.VTODO",
            "sync-token.property",
            "create-calendar",
        ] {
            assert!(known.contains(f), "{f}");
        }
        assert_eq!(class_feature("2"), "dav-2");
        assert_eq!(class_feature("Calendar-Access"), "calendar-access");
        assert!(!known.contains("calendar_access"));
    }
}
