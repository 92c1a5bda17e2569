//! The mutations: each models one class of real server bug (a "fault", which some scenario must
//! catch) or one harmless variation the RFCs allow (an "equivalent" mutant, which must NOT make
//! any scenario fail: the suite has to normalise it).

use super::proxy::{Req, Resp, Upstream};
use super::race;
use super::xmltree::{self, El, Node, Prefixes, CALDAV, CS, DAV};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A server bug: at least one scenario must fail.
    Fault,
    /// An allowed variation: no scenario may fail.
    Equivalent,
}

macro_rules! mutants {
    ($( $v:ident = $name:literal, $kind:ident, $family:literal, $about:literal; )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Mutant { $($v),* }

        impl Mutant {
            pub const ALL: &'static [Mutant] = &[$(Mutant::$v),*];

            pub fn name(self) -> &'static str {
                match self { $(Mutant::$v => $name),* }
            }

            pub fn kind(self) -> Kind {
                match self { $(Mutant::$v => Kind::$kind),* }
            }

            /// The expectation family the mutant attacks.
            pub fn family(self) -> &'static str {
                match self { $(Mutant::$v => $family),* }
            }

            /// The real-world bug (or allowed variation) the mutant models.
            pub fn about(self) -> &'static str {
                match self { $(Mutant::$v => $about),* }
            }
        }
    };
}

mutants! {
    EtagHeaderRemoved = "etag-header-removed", Fault, "etag",
        "no ETag response header at all (server computes no entity tag for GET/PUT)";
    EtagWeak = "etag-weak", Fault, "etag",
        "ETag header sent as a weak validator W/\"…\" (RFC 4791 §5.3.4 wants a strong one)";
    GetetagAltered = "getetag-altered", Fault, "etag",
        "DAV:getetag in multistatus differs from the ETag header (tag computed from another representation)";
    GetetagFrozen = "getetag-frozen", Fault, "etag",
        "DAV:getetag always the first value seen for a resource (stale property cache after a write)";
    EtagChangesOnRead = "etag-changes-on-read", Fault, "etag",
        "ETag header differs on every GET of an unchanged resource (tag derived from access time)";
    CtagFrozen = "ctag-frozen", Fault, "ctag",
        "CS:getctag always the first value seen for a collection (collection tag not invalidated on write)";
    SyncTokenFrozen = "sync-token-frozen", Fault, "sync",
        "DAV:sync-token never changes (token not bumped on write)";
    SyncTokenMissing = "sync-token-missing", Fault, "sync",
        "sync-collection multistatus without its DAV:sync-token element";
    SyncDeletionAs200 = "sync-deletion-as-200", Fault, "sync",
        "a removed member in sync-collection reported as a 200 propstat instead of a bare 404 DAV:status";
    SyncDeletionDropped = "sync-deletion-dropped", Fault, "sync",
        "removed members left out of incremental sync-collection (no tombstones kept)";
    SyncTokenPropFrozen = "sync-token-property-frozen", Fault, "sync",
        "the DAV:sync-token property read with PROPFIND stops changing (only the REPORT's token moves)";
    NeverIssuedTokenAccepted = "never-issued-token-accepted", Fault, "sync",
        "a sync-token the server never issued is accepted (read by its prefix or its shape) instead of refused with valid-sync-token";
    SyncTokenIgnored = "sync-token-ignored", Fault, "sync",
        "the client's sync-token ignored: every sync-collection answers a full initial listing";
    IfMatchStripped = "if-match-ignored", Fault, "conditional",
        "If-Match ignored on PUT/DELETE (no lost-update protection)";
    IfNoneMatchStripped = "if-none-match-ignored", Fault, "conditional",
        "If-None-Match ignored on PUT (an existing resource is overwritten)";
    OverwriteIgnored = "overwrite-f-ignored", Fault, "conditional",
        "Overwrite: F ignored on COPY/MOVE (an existing destination is replaced)";
    PreconditionAsSuccess = "precondition-as-success", Fault, "precondition",
        "a failed precondition (403/409/412) answered as success (201/204, or an empty 207 for REPORT)";
    DavErrorDropped = "dav-error-dropped", Fault, "precondition",
        "error responses without the DAV:error body naming the violated precondition";
    DavErrorWrong = "dav-error-wrong", Fault, "precondition",
        "DAV:error names another precondition than the one violated";
    CreatedAs200 = "put-created-as-200", Fault, "status",
        "PUT creating a new resource answers 200 OK instead of 201 Created";
    MkcalendarAs200 = "mkcalendar-created-as-200", Fault, "status",
        "MKCALENDAR answers 200 OK instead of 201 Created";
    ReportAs200 = "report-as-200", Fault, "status",
        "REPORT answers 200 OK instead of 207 Multi-Status";
    DeleteIgnored = "delete-ignored", Fault, "status",
        "DELETE of a calendar object answers 204 but removes nothing";
    MoveKeepsSource = "move-keeps-source", Fault, "status",
        "MOVE of a calendar object implemented as a copy: the source stays mapped";
    PutUpdateIgnored = "put-update-ignored", Fault, "calendar-data",
        "PUT onto an existing resource answers 204 but stores nothing (update lost)";
    MultigetMissingDropped = "multiget-404-dropped", Fault, "multistatus",
        "calendar-multiget leaves out hrefs that name no resource instead of a 404 response";
    Depth0AsDepth1 = "depth-0-ignored", Fault, "multistatus",
        "PROPFIND Depth: 0 treated as Depth: 1 (members listed too)";
    Depth1MembersDropped = "depth-1-members-dropped", Fault, "multistatus",
        "PROPFIND Depth: 1 lists only the target, not its members";
    UnknownProp200 = "unknown-prop-200", Fault, "multistatus",
        "properties the resource lacks reported in a 200 propstat with an empty value instead of 404";
    HrefsLoseCollection = "hrefs-lose-collection", Fault, "multistatus",
        "member hrefs built from the wrong base: the collection segment is lost (reverse-proxy rewriting bug)";
    TimeRangeIgnored = "time-range-ignored", Fault, "time-range",
        "calendar-query time-range filters ignored (every component matches)";
    TextMatchIgnored = "text-match-ignored", Fault, "filters",
        "calendar-query text-match ignored (a prop-filter matches whenever the property exists)";
    CollationIgnored = "collation-ignored", Fault, "filters",
        "text-match always compared case-sensitively (i;ascii-casemap default not implemented)";
    NegateIgnored = "negate-condition-ignored", Fault, "filters",
        "text-match negate-condition=\"yes\" ignored";
    IsNotDefinedIgnored = "is-not-defined-ignored", Fault, "filters",
        "is-not-defined ignored (the prop-filter becomes an existence test)";
    ParamFilterIgnored = "param-filter-ignored", Fault, "filters",
        "param-filter ignored (any parameter value matches)";
    ExpandIgnored = "expand-ignored", Fault, "calendar-data",
        "C:expand in calendar-data ignored (the master with its RRULE comes back unexpanded)";
    PartialRetrievalIgnored = "partial-retrieval-ignored", Fault, "calendar-data",
        "calendar-data comp/prop selection ignored (the whole object comes back)";
    FreeBusyEmpty = "free-busy-empty", Fault, "calendar-data",
        "free-busy-query answers a VFREEBUSY without any FREEBUSY period (busy time not computed)";
    CalendarDataMissing = "calendar-data-missing", Fault, "calendar-data",
        "C:calendar-data requested in a REPORT reported in a 404 propstat";
    SummaryChanged = "summary-changed", Fault, "calendar-data",
        "stored calendar data altered (SUMMARY rewritten) in GET bodies and C:calendar-data";
    ContentTypeTextPlain = "content-type-text-plain", Fault, "calendar-data",
        "GET of a calendar object answers Content-Type: text/plain";
    MkcalendarBodyIgnored = "mkcalendar-body-ignored", Fault, "properties",
        "MKCALENDAR request body (initial properties such as displayname) ignored";
    ProppatchIgnored = "proppatch-ignored", Fault, "properties",
        "PROPPATCH answers 207 with 200 for every property but changes nothing";
    DavHeaderNoCalendarAccess = "dav-header-no-calendar-access", Fault, "dav-header",
        "DAV response header lacks calendar-access";
    AllowLacksMkcalendar = "allow-lacks-mkcalendar", Fault, "dav-header",
        "Allow header of OPTIONS lacks MKCALENDAR and REPORT although both work";
    GetcontenttypeWrong = "getcontenttype-wrong", Fault, "properties",
        "DAV:getcontenttype of calendar objects reported as text/plain";
    ResourcetypeNoCalendar = "resourcetype-no-calendar", Fault, "resourcetype",
        "DAV:resourcetype of calendar collections lacks CALDAV:calendar";
    ConcurrentCreatesUnserialised = "concurrent-creates-unserialised", Fault, "concurrency",
        "If-None-Match: * checked without serialising check and write: a PUT creating an href while another creator of it is in flight succeeds too";
    ConcurrentWriteDropped = "concurrent-write-dropped", Fault, "concurrency",
        "a write to a calendar object while another write to the same collection is in flight is answered 204 but never performed (a lost write)";
    HrefsAbsoluteEncoded = "equiv-hrefs-absolute-encoded", Equivalent, "href",
        "hrefs as absolute URLs with unreserved characters percent-encoded (RFC 3986 §6.2.2)";
    CollectionHrefNoSlash = "equiv-collection-href-no-slash", Equivalent, "href",
        "collection hrefs without their trailing slash";
    XmlPrefixes = "equiv-xml-prefixes", Equivalent, "xml",
        "XML re-serialised with other namespace prefixes and DAV: as the default namespace";
    ResponsesReversed = "equiv-responses-reversed", Equivalent, "multistatus",
        "multistatus responses, propstats and properties in reverse order";
    ExtensionElements = "equiv-extension-elements", Equivalent, "multistatus",
        "unknown extension elements in multistatus and response (RFC 4918 §17: ignored)";
    DavHeaderSplit = "equiv-dav-header-split", Equivalent, "dav-header",
        "DAV and Allow headers sent as one field line per token (RFC 9110 §5.3)";
    IcalRefolded = "equiv-ical-refolded", Equivalent, "calendar-data",
        "iCalendar refolded at 40 octets and properties in reverse order (RFC 5545 §3.1)";
}

/// Per-proxy memory for the "frozen" mutants: the first value seen, by key.
#[derive(Default)]
pub struct State {
    first: Mutex<HashMap<String, String>>,
    counter: AtomicUsize,
    /// Sync tokens the server issued, with the collection path, in order
    /// (for never-issued-token-accepted).
    issued: Mutex<Vec<(String, String)>>,
    /// Writes in flight (for the concurrency mutants).
    races: super::race::InFlight,
}

impl State {
    fn issue(&self, path: &str, token: &str) {
        if let Ok(mut v) = self.issued.lock() {
            if !token.is_empty() && !v.iter().any(|(_, t)| t == token) {
                v.push((path.trim_end_matches('/').to_string(), token.to_string()));
            }
        }
    }

    /// What a server that reads tokens loosely makes of `token` sent to `path`: itself when it
    /// was issued for that collection; else the longest token issued there that it starts with
    /// (a prefix parser), else the latest token issued there (any token "shaped like ours" taken
    /// at face value), else none (an initial sync).
    fn loose_token(&self, path: &str, token: &str) -> String {
        let Ok(v) = self.issued.lock() else {
            return token.to_string();
        };
        let path = path.trim_end_matches('/');
        let here: Vec<&String> = v
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, t)| t)
            .collect();
        if here.iter().any(|t| *t == token) {
            return token.to_string();
        }
        here.iter()
            .filter(|t| token.starts_with(t.as_str()))
            .max_by_key(|t| t.len())
            .or_else(|| here.last())
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    /// The first value recorded under `key` (recording `v` when there is none yet).
    fn freeze(&self, key: &str, v: &str) -> String {
        match self.first.lock() {
            Ok(mut m) => m
                .entry(key.to_string())
                .or_insert_with(|| v.to_string())
                .clone(),
            Err(_) => v.to_string(),
        }
    }
}

/// The root element name of an XML request body (`calendar-query`, `sync-collection`…).
fn request_root(req: &Req) -> Option<El> {
    if req.body.is_empty() {
        return None;
    }
    xmltree::parse(&req.body).ok()
}

fn is_report(req: &Req, ns: &str, local: &str) -> bool {
    req.method.eq_ignore_ascii_case("REPORT") && request_root(req).is_some_and(|r| r.is(ns, local))
}

fn status_code(line: &str) -> Option<u16> {
    line.split_whitespace().nth(1).and_then(|c| c.parse().ok())
}

fn status_el(code: u16, reason: &str) -> El {
    let mut s = El::new(DAV, "status");
    s.set_text(&format!("HTTP/1.1 {code} {reason}"));
    s
}

/// A response with a bare DAV:status (no propstat), and its code.
fn bare_status(r: &El) -> Option<u16> {
    if r.child(DAV, "propstat").is_some() {
        return None;
    }
    r.child(DAV, "status").and_then(|s| status_code(&s.text()))
}

fn propstat_code(ps: &El) -> Option<u16> {
    ps.child(DAV, "status").and_then(|s| status_code(&s.text()))
}

/// Apply `f` to the multistatus body of `resp` (when it is one); re-serialise if `f` changed it.
fn edit_multistatus(resp: &mut Resp, changed: &mut bool, f: impl FnOnce(&mut El) -> bool) {
    edit_xml(resp, changed, |root| root.is(DAV, "multistatus") && f(root));
}

fn edit_xml(resp: &mut Resp, changed: &mut bool, f: impl FnOnce(&mut El) -> bool) {
    edit_xml_as(resp, changed, Prefixes::Usual, f)
}

fn edit_xml_as(
    resp: &mut Resp,
    changed: &mut bool,
    style: Prefixes,
    f: impl FnOnce(&mut El) -> bool,
) {
    if !resp.is_xml() {
        return;
    }
    let Ok(mut root) = xmltree::parse(&resp.body) else {
        return;
    };
    if f(&mut root) {
        resp.body = xmltree::write(&root, style);
        *changed = true;
    }
}

/// Every `<D:prop>` of every propstat with status `code` in a multistatus.
fn for_props(root: &mut El, code: Option<u16>, f: &mut impl FnMut(&mut El)) {
    for r in root.elements_mut().filter(|e| e.is(DAV, "response")) {
        for ps in r.elements_mut().filter(|e| e.is(DAV, "propstat")) {
            if code.is_some() && propstat_code(ps) != code {
                continue;
            }
            if let Some(p) = ps.child_mut(DAV, "prop") {
                f(p);
            }
        }
    }
}

/// Replace a property's value by the first one seen under `prefix` + the response href.
fn freeze_prop(root: &mut El, st: &State, prefix: &str, ns: &str, local: &str) -> bool {
    let mut hit = false;
    for r in root.elements_mut().filter(|e| e.is(DAV, "response")) {
        let href = r.child(DAV, "href").map(El::text).unwrap_or_default();
        for ps in r.elements_mut().filter(|e| e.is(DAV, "propstat")) {
            if let Some(p) = ps.child_mut(DAV, "prop") {
                for e in p.elements_mut().filter(|e| e.is(ns, local)) {
                    let v = e.text();
                    let first = st.freeze(&format!("{prefix} {href}"), &v);
                    if first != v {
                        e.set_text(&first);
                        hit = true;
                    }
                }
            }
        }
    }
    hit
}

/// Move the named properties of 200 propstats into a new 404 propstat.
fn props_to_404(root: &mut El, ns: &str, local: &str) -> bool {
    let mut hit = false;
    for r in root.elements_mut().filter(|e| e.is(DAV, "response")) {
        let mut moved = Vec::new();
        for ps in r.elements_mut().filter(|e| e.is(DAV, "propstat")) {
            if propstat_code(ps) != Some(200) {
                continue;
            }
            if let Some(p) = ps.child_mut(DAV, "prop") {
                let before = p.elements().count();
                p.retain(|e| !e.is(ns, local));
                if p.elements().count() != before {
                    moved.push(El::new(ns, local));
                }
            }
        }
        if !moved.is_empty() {
            let mut prop = El::new(DAV, "prop");
            prop.children = moved.into_iter().map(Node::El).collect();
            let mut ps = El::new(DAV, "propstat");
            ps.children = vec![Node::El(prop), Node::El(status_el(404, "Not Found"))];
            r.children.push(Node::El(ps));
            hit = true;
        }
    }
    hit
}

/// Rewrite every DAV:href text in the document.
fn map_hrefs(root: &mut El, f: &impl Fn(&str) -> String) -> bool {
    let mut hit = false;
    root.walk_mut(&mut |e| {
        if e.is(DAV, "href") {
            let old = e.text();
            let new = f(old.trim());
            if new != old.trim() {
                e.set_text(&new);
                hit = true;
            }
        }
    });
    hit
}

/// Rewrite the lines of iCalendar text (GET bodies and C:calendar-data).
fn edit_ical(resp: &mut Resp, req: &Req, changed: &mut bool, f: &impl Fn(&str) -> String) {
    let ct = resp
        .header("Content-Type")
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("text/calendar") && req.method.eq_ignore_ascii_case("GET") {
        if let Ok(t) = std::str::from_utf8(&resp.body) {
            let new = f(t);
            if new != t {
                resp.body = new.into_bytes();
                *changed = true;
            }
        }
        return;
    }
    edit_multistatus(resp, changed, |root| {
        let mut hit = false;
        root.walk_mut(&mut |e| {
            if e.is(CALDAV, "calendar-data") {
                let t = e.text();
                if t.trim().is_empty() {
                    return;
                }
                let new = f(&t);
                if new != t {
                    e.set_text(&new);
                    hit = true;
                }
            }
        });
        hit
    });
}

fn change_summary(t: &str) -> String {
    let mut out = String::with_capacity(t.len() + 16);
    for l in t.split_inclusive('\n') {
        let upper = l.to_ascii_uppercase();
        if upper.starts_with("SUMMARY:") || upper.starts_with("SUMMARY;") {
            let body = l.trim_end_matches(['\r', '\n']);
            out.push_str(body);
            out.push_str(" (altered)");
            out.push_str(&l[body.len()..]);
        } else {
            out.push_str(l);
        }
    }
    out
}

/// Unfold, reverse the properties of each component, fold again at 40 octets.
fn refold(t: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for raw in t.split('\n') {
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(cont) = l.strip_prefix([' ', '\t']) {
            if let Some(last) = lines.last_mut() {
                last.push_str(cont);
                continue;
            }
        }
        if !l.is_empty() {
            lines.push(l.to_string());
        }
    }
    let mut pos = 0;
    let ordered = reorder(&lines, &mut pos);
    let mut out = String::new();
    for l in ordered {
        let mut n = 0;
        for c in l.chars() {
            if n + c.len_utf8() > 40 {
                out.push_str("\r\n ");
                n = 1;
            }
            out.push(c);
            n += c.len_utf8();
        }
        out.push_str("\r\n");
    }
    out
}

/// One component starting at `lines[*pos]` (a BEGIN line), or the rest of the lines.
fn reorder(lines: &[String], pos: &mut usize) -> Vec<String> {
    let mut out = Vec::new();
    while *pos < lines.len() {
        let l = &lines[*pos];
        let up = l.to_ascii_uppercase();
        if up.starts_with("BEGIN:") {
            *pos += 1;
            let mut props = Vec::new();
            let mut subs = Vec::new();
            while *pos < lines.len() {
                let k = lines[*pos].to_ascii_uppercase();
                if k.starts_with("BEGIN:") {
                    subs.extend(reorder(lines, pos));
                } else if k.starts_with("END:") {
                    break;
                } else {
                    props.push(lines[*pos].clone());
                    *pos += 1;
                }
            }
            out.push(l.clone());
            props.reverse();
            out.extend(props);
            out.extend(subs);
            if *pos < lines.len() {
                out.push(lines[*pos].clone());
                *pos += 1;
            }
            return out;
        }
        out.push(l.clone());
        *pos += 1;
    }
    out
}

fn encode_unreserved(path: &str) -> String {
    let mut o = String::new();
    for c in path.chars() {
        match c {
            '-' => o.push_str("%2D"),
            '.' => o.push_str("%2E"),
            '_' => o.push_str("%5F"),
            '~' => o.push_str("%7E"),
            c => o.push(c),
        }
    }
    o
}

/// Edit the XML body of a REPORT request; re-serialise when `f` changed it.
fn edit_report_body(req: &mut Req, changed: &mut bool, f: impl FnOnce(&mut El) -> bool) {
    if !req.method.eq_ignore_ascii_case("REPORT") {
        return;
    }
    if let Some(mut root) = request_root(req) {
        if f(&mut root) {
            req.body = xmltree::write(&root, Prefixes::Usual);
            *changed = true;
        }
    }
}

/// Remove every element `ns`/`local` below `root`.
fn remove_all(root: &mut El, ns: &str, local: &str) -> bool {
    let mut hit = false;
    root.walk_mut(&mut |e| {
        let n = e.children.len();
        e.retain(|k| !k.is(ns, local));
        hit |= e.children.len() != n;
    });
    hit
}

/// A bodiless request to the same target with the client's credentials.
fn probe(req: &Req, method: &str) -> Req {
    let mut p = Req {
        method: method.into(),
        target: req.target.clone(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    for h in ["Authorization", "Host"] {
        if let Some(v) = req.header(h) {
            p.set_header(h, v);
        }
    }
    p
}

pub fn bad_gateway(e: String) -> Resp {
    Resp {
        status: 502,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: e.into_bytes(),
    }
}

impl Mutant {
    // Guards stay simple: the upstream probes below are awaited, which a guard cannot do.
    #[allow(clippy::collapsible_match)]
    /// Change the request before it is forwarded; Some(response) answers it without
    /// forwarding. Sets `changed` when the mutation applied.
    pub async fn request(
        self,
        req: &mut Req,
        st: &State,
        up: &Upstream<'_>,
        changed: &mut bool,
    ) -> Option<Resp> {
        let m = req.method.to_ascii_uppercase();
        match self {
            Mutant::ConcurrentCreatesUnserialised => {
                if let Some(key) = race::creator_key(req) {
                    if st.races.enter(&key) > 0 {
                        *changed |= req.remove_header("If-None-Match");
                    }
                }
            }
            Mutant::ConcurrentWriteDropped => {
                if let Some(key) = race::object_write_key(req) {
                    if st.races.enter(&key) > 0 {
                        *changed = true;
                        return Some(race::dropped());
                    }
                }
            }
            Mutant::IfMatchStripped => *changed |= req.remove_header("If-Match"),
            Mutant::IfNoneMatchStripped => *changed |= req.remove_header("If-None-Match"),
            Mutant::TimeRangeIgnored if m == "REPORT" => {
                if let Some(mut root) = request_root(req).filter(|r| r.is(CALDAV, "calendar-query"))
                {
                    let mut hit = false;
                    root.walk_mut(&mut |e| {
                        let n = e.children.len();
                        e.retain(|k| !k.is(CALDAV, "time-range"));
                        hit |= e.children.len() != n;
                    });
                    if hit {
                        req.body = xmltree::write(&root, Prefixes::Usual);
                        *changed = true;
                    }
                }
            }
            Mutant::NeverIssuedTokenAccepted if m == "REPORT" => {
                if let Some(mut root) = request_root(req).filter(|r| r.is(DAV, "sync-collection")) {
                    if let Some(t) = root.child_mut(DAV, "sync-token") {
                        let sent = t.text().trim().to_string();
                        let loose = st.loose_token(req.path(), &sent);
                        if !sent.is_empty() && loose != sent {
                            t.set_text(&loose);
                            req.body = xmltree::write(&root, Prefixes::Usual);
                            *changed = true;
                        }
                    }
                }
            }
            Mutant::SyncTokenIgnored if m == "REPORT" => {
                if let Some(mut root) = request_root(req).filter(|r| r.is(DAV, "sync-collection")) {
                    if let Some(t) = root.child_mut(DAV, "sync-token") {
                        if !t.text().trim().is_empty() {
                            t.children.clear();
                            req.body = xmltree::write(&root, Prefixes::Usual);
                            *changed = true;
                        }
                    }
                }
            }
            Mutant::TextMatchIgnored => {
                edit_report_body(req, changed, |root| remove_all(root, CALDAV, "text-match"))
            }
            Mutant::IsNotDefinedIgnored => edit_report_body(req, changed, |root| {
                remove_all(root, CALDAV, "is-not-defined")
            }),
            Mutant::ParamFilterIgnored => edit_report_body(req, changed, |root| {
                remove_all(root, CALDAV, "param-filter")
            }),
            Mutant::ExpandIgnored => {
                edit_report_body(req, changed, |root| remove_all(root, CALDAV, "expand"))
            }
            Mutant::CollationIgnored => edit_report_body(req, changed, |root| {
                let mut hit = false;
                root.walk_mut(&mut |e| {
                    if e.is(CALDAV, "text-match") {
                        let old = e.attrs.clone();
                        e.attrs
                            .retain(|(ns, l, _)| !(ns.is_empty() && l == "collation"));
                        e.attrs
                            .push((String::new(), "collation".into(), "i;octet".into()));
                        hit |= e.attrs != old;
                    }
                });
                hit
            }),
            Mutant::NegateIgnored => edit_report_body(req, changed, |root| {
                let mut hit = false;
                root.walk_mut(&mut |e| {
                    let n = e.attrs.len();
                    e.attrs
                        .retain(|(ns, l, _)| !(ns.is_empty() && l == "negate-condition"));
                    hit |= e.attrs.len() != n;
                });
                hit
            }),
            Mutant::PartialRetrievalIgnored => edit_report_body(req, changed, |root| {
                let mut hit = false;
                root.walk_mut(&mut |e| {
                    if e.is(CALDAV, "calendar-data") {
                        let n = e.children.len();
                        e.retain(|k| !k.is(CALDAV, "comp"));
                        hit |= e.children.len() != n;
                    }
                });
                hit
            }),
            Mutant::Depth0AsDepth1
                if m == "PROPFIND" && req.header("Depth").map(str::trim) == Some("0") =>
            {
                req.set_header("Depth", "1");
                *changed = true;
            }
            Mutant::DeleteIgnored if m == "DELETE" && !req.path().ends_with('/') => {
                *changed = true;
                return Some(Resp {
                    status: 204,
                    headers: Vec::new(),
                    body: Vec::new(),
                });
            }
            Mutant::PutUpdateIgnored if m == "PUT" && req.header("If-None-Match").is_none() => {
                if up
                    .send(&probe(req, "GET"))
                    .await
                    .is_ok_and(|r| r.status == 200)
                {
                    *changed = true;
                    return Some(Resp {
                        status: 204,
                        headers: Vec::new(),
                        body: Vec::new(),
                    });
                }
            }
            Mutant::OverwriteIgnored
                if (m == "COPY" || m == "MOVE")
                    && req
                        .header("Overwrite")
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("F")) =>
            {
                req.set_header("Overwrite", "T");
                *changed = true;
            }
            Mutant::MoveKeepsSource if m == "MOVE" && !req.path().ends_with('/') => {
                let source = up
                    .send(&probe(req, "GET"))
                    .await
                    .ok()
                    .filter(|r| r.status == 200);
                let moved = match up.send(req).await {
                    Ok(r) => r,
                    Err(e) => return Some(bad_gateway(e)),
                };
                if let Some(src) = source.filter(|_| (200..300).contains(&moved.status)) {
                    let mut put = probe(req, "PUT");
                    put.set_header(
                        "Content-Type",
                        src.header("Content-Type").unwrap_or("text/calendar"),
                    );
                    put.body = src.body;
                    if up
                        .send(&put)
                        .await
                        .is_ok_and(|r| (200..300).contains(&r.status))
                    {
                        *changed = true;
                    }
                }
                return Some(moved);
            }
            Mutant::ProppatchIgnored if m == "PROPPATCH" => {
                let root = request_root(req).filter(|r| r.is(DAV, "propertyupdate"))?;
                let mut prop = El::new(DAV, "prop");
                for op in root.elements() {
                    if let Some(p) = op.child(DAV, "prop") {
                        for e in p.elements() {
                            prop.children.push(Node::El(El::new(&e.ns, &e.local)));
                        }
                    }
                }
                let mut href = El::new(DAV, "href");
                href.set_text(req.path());
                let mut ps = El::new(DAV, "propstat");
                ps.children = vec![Node::El(prop), Node::El(status_el(200, "OK"))];
                let mut r = El::new(DAV, "response");
                r.children = vec![Node::El(href), Node::El(ps)];
                let mut ms = El::new(DAV, "multistatus");
                ms.children = vec![Node::El(r)];
                *changed = true;
                return Some(Resp {
                    status: 207,
                    headers: vec![(
                        "Content-Type".into(),
                        "application/xml; charset=utf-8".into(),
                    )],
                    body: xmltree::write(&ms, Prefixes::Usual),
                });
            }
            Mutant::MkcalendarBodyIgnored if m == "MKCALENDAR" && !req.body.is_empty() => {
                req.body.clear();
                req.remove_header("Content-Type");
                *changed = true;
            }
            _ => {}
        }
        None
    }

    /// Change the response on its way back. `req` is the request as the client sent it.
    pub fn response(self, req: &Req, resp: &mut Resp, st: &State, changed: &mut bool) {
        let m = req.method.to_ascii_uppercase();
        match self {
            // The write counted in `request` is answered (forwarded or not).
            Mutant::ConcurrentCreatesUnserialised => {
                if let Some(key) = race::creator_key(req) {
                    st.races.leave(&key);
                }
            }
            Mutant::ConcurrentWriteDropped => {
                if let Some(key) = race::object_write_key(req) {
                    st.races.leave(&key);
                }
            }
            Mutant::EtagHeaderRemoved => *changed |= resp.remove_header("ETag"),
            Mutant::EtagWeak => {
                if let Some(e) = resp.header("ETag").map(str::to_string) {
                    if !e.starts_with("W/") {
                        resp.set_header("ETag", &format!("W/{e}"));
                        *changed = true;
                    }
                }
            }
            Mutant::EtagChangesOnRead if m == "GET" => {
                if let Some(e) = resp.header("ETag").map(str::to_string) {
                    let n = st.counter.fetch_add(1, Ordering::SeqCst);
                    let new = match e.strip_suffix('"') {
                        Some(s) => format!("{s}-r{n}\""),
                        None => format!("{e}-r{n}"),
                    };
                    resp.set_header("ETag", &new);
                    *changed = true;
                }
            }
            Mutant::GetetagAltered => edit_multistatus(resp, changed, |root| {
                let mut hit = false;
                for_props(root, Some(200), &mut |p| {
                    for e in p.elements_mut().filter(|e| e.is(DAV, "getetag")) {
                        let v = e.text();
                        let v = v.trim();
                        let new = match v.strip_suffix('"') {
                            Some(s) => format!("{s}-x\""),
                            None => format!("{v}-x"),
                        };
                        e.set_text(&new);
                        hit = true;
                    }
                });
                hit
            }),
            Mutant::GetetagFrozen => edit_multistatus(resp, changed, |root| {
                freeze_prop(root, st, "getetag", DAV, "getetag")
            }),
            Mutant::CtagFrozen => edit_multistatus(resp, changed, |root| {
                freeze_prop(root, st, "ctag", CS, "getctag")
            }),
            Mutant::SyncTokenFrozen => {
                let key = format!("sync {}", req.path());
                edit_multistatus(resp, changed, |root| {
                    let mut hit = freeze_prop(root, st, "sync-prop", DAV, "sync-token");
                    if let Some(t) = root.child_mut(DAV, "sync-token") {
                        let v = t.text();
                        let first = st.freeze(&key, &v);
                        if first != v {
                            t.set_text(&first);
                            hit = true;
                        }
                    }
                    hit
                })
            }
            Mutant::SyncTokenPropFrozen if m == "PROPFIND" => {
                edit_multistatus(resp, changed, |root| {
                    freeze_prop(root, st, "sync-prop-only", DAV, "sync-token")
                })
            }
            Mutant::NeverIssuedTokenAccepted => {
                if let Ok(root) = xmltree::parse(&resp.body) {
                    if root.is(DAV, "multistatus") {
                        root.walk(&mut |e| {
                            if e.is(DAV, "sync-token") {
                                st.issue(req.path(), e.text().trim());
                            }
                        });
                    }
                }
            }
            Mutant::SyncTokenMissing if is_report(req, DAV, "sync-collection") => {
                edit_multistatus(resp, changed, |root| {
                    let n = root.children.len();
                    root.retain(|e| !e.is(DAV, "sync-token"));
                    root.children.len() != n
                })
            }
            Mutant::SyncDeletionAs200 if is_report(req, DAV, "sync-collection") => {
                edit_multistatus(resp, changed, |root| {
                    let mut hit = false;
                    for r in root.elements_mut().filter(|e| e.is(DAV, "response")) {
                        if bare_status(r) == Some(404) {
                            r.retain(|e| !e.is(DAV, "status"));
                            let mut prop = El::new(DAV, "prop");
                            prop.children.push(Node::El(El::new(DAV, "getetag")));
                            let mut ps = El::new(DAV, "propstat");
                            ps.children = vec![Node::El(prop), Node::El(status_el(200, "OK"))];
                            r.children.push(Node::El(ps));
                            hit = true;
                        }
                    }
                    hit
                })
            }
            Mutant::SyncDeletionDropped if is_report(req, DAV, "sync-collection") => {
                edit_multistatus(resp, changed, |root| {
                    let n = root.children.len();
                    root.retain(|e| !(e.is(DAV, "response") && bare_status(e) == Some(404)));
                    root.children.len() != n
                })
            }
            Mutant::MultigetMissingDropped if is_report(req, CALDAV, "calendar-multiget") => {
                edit_multistatus(resp, changed, |root| {
                    let n = root.children.len();
                    root.retain(|e| {
                        !(e.is(DAV, "response")
                            && (bare_status(e) == Some(404)
                                || e.elements()
                                    .filter(|k| k.is(DAV, "propstat"))
                                    .all(|ps| propstat_code(ps) == Some(404))))
                    });
                    root.children.len() != n
                })
            }
            Mutant::PreconditionAsSuccess if matches!(resp.status, 403 | 409 | 412) => {
                let writes = [
                    "PUT",
                    "DELETE",
                    "MKCALENDAR",
                    "MKCOL",
                    "PROPPATCH",
                    "COPY",
                    "MOVE",
                ];
                if m == "REPORT" {
                    resp.status = 207;
                    resp.body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\"/>".to_vec();
                    resp.set_header("Content-Type", "application/xml; charset=utf-8");
                } else if writes.contains(&m.as_str()) {
                    let creates = m.starts_with("MK")
                        || (m == "PUT" && resp.status != 412)
                        || ((m == "COPY" || m == "MOVE") && resp.status != 412);
                    resp.status = if creates { 201 } else { 204 };
                    resp.body.clear();
                    resp.remove_header("Content-Type");
                } else {
                    return;
                }
                *changed = true;
            }
            Mutant::DavErrorDropped
                if resp.status >= 400
                    && resp.is_xml()
                    && xmltree::parse(&resp.body).is_ok_and(|r| r.is(DAV, "error")) =>
            {
                resp.body.clear();
                resp.remove_header("Content-Type");
                *changed = true;
            }
            Mutant::DavErrorWrong if resp.status >= 400 => edit_xml(resp, changed, |root| {
                if !root.is(DAV, "error") || root.elements().next().is_none() {
                    return false;
                }
                root.children = vec![Node::El(El::new(
                    "urn:example:caldav-conformance:mutant",
                    "wrong-precondition",
                ))];
                true
            }),
            Mutant::CreatedAs200 if m == "PUT" && resp.status == 201 => {
                resp.status = 200;
                *changed = true;
            }
            Mutant::MkcalendarAs200 if m == "MKCALENDAR" && resp.status == 201 => {
                resp.status = 200;
                *changed = true;
            }
            Mutant::ReportAs200 if m == "REPORT" && resp.status == 207 => {
                resp.status = 200;
                *changed = true;
            }
            Mutant::Depth1MembersDropped
                if m == "PROPFIND" && req.header("Depth").map(str::trim) == Some("1") =>
            {
                let target = req.path().trim_end_matches('/').to_string();
                edit_multistatus(resp, changed, |root| {
                    let n = root.children.len();
                    root.retain(|e| {
                        !e.is(DAV, "response")
                            || e.child(DAV, "href").is_some_and(|h| {
                                let h = h.text();
                                let path = url::Url::parse(h.trim())
                                    .map(|u| u.path().to_string())
                                    .unwrap_or_else(|_| h.trim().to_string());
                                path.trim_end_matches('/') == target
                            })
                    });
                    root.children.len() != n
                })
            }
            Mutant::UnknownProp200 => edit_multistatus(resp, changed, |root| {
                let mut hit = false;
                for r in root.elements_mut().filter(|e| e.is(DAV, "response")) {
                    for ps in r.elements_mut().filter(|e| e.is(DAV, "propstat")) {
                        if propstat_code(ps) != Some(404) {
                            continue;
                        }
                        if let Some(p) = ps.child_mut(DAV, "prop") {
                            for e in p.elements_mut() {
                                e.children.clear();
                            }
                        }
                        if let Some(s) = ps.child_mut(DAV, "status") {
                            s.set_text("HTTP/1.1 200 OK");
                        }
                        hit = true;
                    }
                }
                hit
            }),
            Mutant::HrefsLoseCollection => edit_multistatus(resp, changed, |root| {
                let mut hit = false;
                for r in root.elements_mut().filter(|e| e.is(DAV, "response")) {
                    if let Some(h) = r.child_mut(DAV, "href") {
                        let t = h.text();
                        let t = t.trim();
                        if t.ends_with('/') {
                            continue;
                        }
                        let mut segs: Vec<&str> = t.split('/').collect();
                        if segs.len() >= 4 {
                            // "", user, collection, member → drop the collection segment
                            let last = segs.len() - 2;
                            segs.remove(last);
                            h.set_text(&segs.join("/"));
                            hit = true;
                        }
                    }
                }
                hit
            }),
            Mutant::CalendarDataMissing if m == "REPORT" => {
                edit_multistatus(resp, changed, |root| {
                    props_to_404(root, CALDAV, "calendar-data")
                })
            }
            Mutant::FreeBusyEmpty if is_report(req, CALDAV, "free-busy-query") => {
                if let Ok(t) = std::str::from_utf8(&resp.body) {
                    let mut out = String::with_capacity(t.len());
                    let mut skipping = false;
                    for l in t.split_inclusive('\n') {
                        if skipping && l.starts_with([' ', '\t']) {
                            continue; // a folded continuation of a removed FREEBUSY line
                        }
                        let up = l.to_ascii_uppercase();
                        skipping = up.starts_with("FREEBUSY:") || up.starts_with("FREEBUSY;");
                        if !skipping {
                            out.push_str(l);
                        }
                    }
                    if out.len() != t.len() {
                        resp.body = out.into_bytes();
                        *changed = true;
                    }
                }
            }
            Mutant::AllowLacksMkcalendar => {
                let vals: Vec<String> = resp
                    .headers
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case("Allow"))
                    .map(|(_, v)| v.clone())
                    .collect();
                let tokens: Vec<String> = vals
                    .iter()
                    .flat_map(|v| v.split(','))
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect();
                let kept: Vec<String> = tokens
                    .iter()
                    .filter(|t| {
                        !t.eq_ignore_ascii_case("MKCALENDAR") && !t.eq_ignore_ascii_case("REPORT")
                    })
                    .cloned()
                    .collect();
                if kept.len() != tokens.len() {
                    resp.set_header("Allow", &kept.join(", "));
                    *changed = true;
                }
            }
            Mutant::GetcontenttypeWrong => edit_multistatus(resp, changed, |root| {
                let mut hit = false;
                for_props(root, Some(200), &mut |p| {
                    for e in p.elements_mut().filter(|e| e.is(DAV, "getcontenttype")) {
                        if e.text().to_ascii_lowercase().contains("text/calendar") {
                            e.set_text("text/plain; charset=utf-8");
                            hit = true;
                        }
                    }
                });
                hit
            }),
            Mutant::SummaryChanged => edit_ical(resp, req, changed, &change_summary),
            Mutant::ContentTypeTextPlain
                if m == "GET"
                    && resp
                        .header("Content-Type")
                        .is_some_and(|c| c.to_ascii_lowercase().starts_with("text/calendar")) =>
            {
                resp.set_header("Content-Type", "text/plain; charset=utf-8");
                *changed = true;
            }
            Mutant::DavHeaderNoCalendarAccess => {
                let vals: Vec<String> = resp
                    .headers
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case("DAV"))
                    .map(|(_, v)| v.clone())
                    .collect();
                if vals.iter().any(|v| v.contains("calendar-access")) {
                    let joined: Vec<String> = vals
                        .iter()
                        .flat_map(|v| v.split(','))
                        .map(str::trim)
                        .filter(|t| !t.is_empty() && *t != "calendar-access")
                        .map(str::to_string)
                        .collect();
                    resp.set_header("DAV", &joined.join(", "));
                    *changed = true;
                }
            }
            Mutant::ResourcetypeNoCalendar => edit_multistatus(resp, changed, |root| {
                let mut hit = false;
                root.walk_mut(&mut |e| {
                    if e.is(DAV, "resourcetype") {
                        let n = e.children.len();
                        e.retain(|k| !k.is(CALDAV, "calendar"));
                        hit |= e.children.len() != n;
                    }
                });
                hit
            }),
            Mutant::HrefsAbsoluteEncoded => {
                let host = req.header("Host").unwrap_or("127.0.0.1").to_string();
                edit_multistatus(resp, changed, |root| {
                    map_hrefs(root, &|h| {
                        if h.starts_with('/') {
                            format!("http://{host}{}", encode_unreserved(h))
                        } else {
                            h.to_string()
                        }
                    })
                })
            }
            Mutant::CollectionHrefNoSlash => edit_multistatus(resp, changed, |root| {
                let mut hit = false;
                for r in root.elements_mut().filter(|e| e.is(DAV, "response")) {
                    if let Some(h) = r.child_mut(DAV, "href") {
                        let t = h.text();
                        let t = t.trim();
                        if t.len() > 1 && t.ends_with('/') {
                            h.set_text(t.trim_end_matches('/'));
                            hit = true;
                        }
                    }
                }
                hit
            }),
            Mutant::XmlPrefixes => edit_xml_as(resp, changed, Prefixes::Unusual, |_| true),
            Mutant::ResponsesReversed => edit_multistatus(resp, changed, |root| {
                fn rev(e: &mut El, name: &str) -> bool {
                    let idx: Vec<usize> = e
                        .children
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| matches!(n, Node::El(k) if k.is(DAV, name)))
                        .map(|(i, _)| i)
                        .collect();
                    if idx.len() < 2 {
                        return false;
                    }
                    let mut items: Vec<Node> = idx.iter().map(|&i| e.children[i].clone()).collect();
                    items.reverse();
                    for (&i, n) in idx.iter().zip(items) {
                        e.children[i] = n;
                    }
                    true
                }
                let mut hit = rev(root, "response");
                for r in root.elements_mut().filter(|e| e.is(DAV, "response")) {
                    hit |= rev(r, "propstat");
                    for ps in r.elements_mut().filter(|e| e.is(DAV, "propstat")) {
                        if let Some(p) = ps.child_mut(DAV, "prop") {
                            let before = p.clone();
                            p.children.reverse();
                            hit |= *p != before;
                        }
                    }
                }
                hit
            }),
            Mutant::ExtensionElements => edit_multistatus(resp, changed, |root| {
                const X: &str = "urn:example:caldav-conformance:extension";
                let mut ext = El::new(X, "server-extension");
                ext.attrs
                    .push((String::new(), "note".into(), "ignore me".into()));
                ext.set_text("extension");
                root.children.insert(0, Node::El(ext.clone()));
                for r in root.elements_mut().filter(|e| e.is(DAV, "response")) {
                    r.children.insert(0, Node::El(ext.clone()));
                    r.children.push(Node::El(El::new(X, "empty-extension")));
                }
                true
            }),
            Mutant::DavHeaderSplit => {
                for name in ["DAV", "Allow"] {
                    let vals: Vec<String> = resp
                        .headers
                        .iter()
                        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.clone())
                        .collect();
                    let tokens: Vec<String> = vals
                        .iter()
                        .flat_map(|v| v.split(','))
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect();
                    if tokens.len() > 1 {
                        resp.remove_header(name);
                        for t in tokens {
                            resp.headers.push((name.to_string(), t));
                        }
                        *changed = true;
                    }
                }
            }
            Mutant::IcalRefolded => edit_ical(resp, req, changed, &refold),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\nUID:abc\r\nSUMMARY:A rather long summary that certainly needs folding somewhere\r\nDTSTART:20300101T100000Z\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn unfolded(t: &str) -> Vec<String> {
        let mut v: Vec<String> = t
            .replace("\r\n ", "")
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn refold_keeps_every_line_and_the_structure() {
        let out = refold(ICS);
        assert_eq!(unfolded(&out), unfolded(ICS));
        assert!(out.lines().all(|l| l.trim_end_matches('\r').len() <= 40));
        let order: Vec<&str> = out
            .split("\r\n")
            .filter(|l| l.starts_with("BEGIN:") || l.starts_with("END:"))
            .collect();
        assert_eq!(
            order,
            [
                "BEGIN:VCALENDAR",
                "BEGIN:VEVENT",
                "BEGIN:VALARM",
                "END:VALARM",
                "END:VEVENT",
                "END:VCALENDAR"
            ]
        );
    }

    #[test]
    fn summary_is_changed_and_nothing_else() {
        let out = change_summary(ICS);
        assert!(out.contains(
            "SUMMARY:A rather long summary that certainly needs folding somewhere (altered)\r\n"
        ));
        assert_eq!(out.len(), ICS.len() + " (altered)".len());
    }
}
