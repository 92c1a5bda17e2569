//! Hostile-server tests: safety on production servers and robustness against bad input.
//!
//! A tiny CalDAV-ish server runs in this process on 127.0.0.1 (a random port). It answers
//! discovery correctly (OPTIONS with `DAV: 1, 3, calendar-access`, PROPFIND with
//! current-user-principal and calendar-home-set, MKCALENDAR 201, DELETE 204), demands Basic
//! authentication, records every request it receives, and misbehaves on the scenario's own
//! requests in one configurable way per test. The built binary is run against it with a small
//! scenario folder written to a temporary directory. Every misbehaviour must end as a clean
//! failure: exit code 101 (a scenario failed) or 2 (usage, configuration, discovery), a
//! message naming the problem, never a panic, never a hang (every run is bounded), never the
//! password in any output. Because the server records everything, the tests also prove what
//! was never sent: no write outside the scratch collections, nothing to another host, no
//! request at all when a scenario file is malformed, nothing after a scratch collection's
//! cleanup (but the PROPFIND that checks it is gone).
//!
//! The server keeps track of the scratch collections (created, deleted) and can model a
//! calendar trash bin as Nextcloud has one (`TrashBin`): a DELETE of a calendar keeps it at the
//! same URL as a `deleted-calendar` unless the request carries `X-NC-CalDAV-No-Trashbin: 1`.
//! The trash-bin tests prove that a run, an interrupted run and `cleanup` leave nothing, not
//! even in the trash, and that what a server refuses to remove is said plainly. With live
//! calendars in the home (`Server::with_calendars`) it also proves that `--read-only` sends
//! no writing request at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_caldav-conformance");
const USER: &str = "hostile-user";
/// Distinctive, and full of characters that JSON, XML and Rust's `{:?}` escape.
const PASSWORD: &str = r#"Hq7"Zr<&>\k:9pW!x"#;
const HOME: &str = "/cal/user1/";
const PRINCIPAL: &str = "/principals/user1/";
/// Every run of the binary must end within this; a run that does not is a hang.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// One way of misbehaving. Scenario requests are the requests to a scratch calendar
/// (`/cal/user1/ccf-<run>-<n>/…`) other than its creation (MKCALENDAR) and deletion.
#[derive(Clone, Debug)]
enum Mode {
    /// Answers scenario requests correctly: the control.
    Good,
    /// `207` with XML that is not well-formed.
    MalformedXml,
    /// `207` with well-formed XML whose root is not DAV:multistatus.
    NotMultistatus,
    /// `207` / `200` with bytes that are not UTF-8.
    NonUtf8,
    /// `207` / `200` with `Content-Type: application/json` and a JSON body.
    WrongContentType,
    /// A body of `total` bytes, streamed from one small buffer (never allocated whole);
    /// `declared` is the Content-Length, or None for chunked transfer coding.
    Huge { declared: Option<u64>, total: u64 },
    /// Reads the request and never answers.
    Silent,
    /// Answers scenario requests correctly, after this delay.
    Slow(Duration),
    /// Answers one byte a second (status line included).
    Trickle,
    /// Sends the status line and headers at once, then the body one byte a second.
    TrickleBody,
    /// Sends the head and part of the body, then resets the connection (RST).
    Reset,
    /// One header field of 1 MiB.
    HugeHeader,
    /// 10 000 header fields.
    ManyHeaders,
    /// `301` to the request's own URL.
    RedirectLoop,
    /// `302` to the same path on another listener (another origin).
    RedirectOther(u16),
    /// Echoes the request's Authorization header back, in a header and in the body.
    EchoAuth,
    /// Discovery PROPFINDs redirect forever (`/loop/1` → `/loop/2` → …).
    DiscoveryRedirectLoop,
    /// Discovery PROPFINDs redirect to another listener (another origin).
    DiscoveryRedirectOther(u16),
    /// Every request is answered 401 (wrong credentials).
    Unauthorized,
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    at: Instant,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A calendar trash bin, as Nextcloud's: a DELETE of a calendar keeps it at the same URL as a
/// `{http://nextcloud.com/ns}deleted-calendar` (its members still answer GET), and so does a
/// second DELETE, unless the request carries `X-NC-CalDAV-No-Trashbin: 1`.
#[derive(Clone, Copy, Debug)]
struct TrashBin {
    /// `nc-calendar-trashbin` in the DAV header of OPTIONS.
    advertise: bool,
    /// The header deletes for good (false: the server keeps everything, whatever is sent).
    honour_header: bool,
}

/// What the server holds at a `ccf-*` collection URL of the home.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coll {
    Live,
    Trashed,
    Gone,
}

#[derive(Default)]
struct State {
    seen: Mutex<Vec<Seen>>,
    /// Body bytes written by `Mode::Huge` answers (until the client stopped reading).
    huge_sent: AtomicU64,
    redirects: AtomicUsize,
    /// Collections of the home whose name starts with `ccf-`, by name.
    colls: Mutex<std::collections::BTreeMap<String, Coll>>,
    trash: Option<TrashBin>,
    /// Real calendars listed in the home (for `--read-only`), by name.
    calendars: Vec<String>,
}

/// The hostile server: its own runtime (dropped with it, which stops every connection).
struct Server {
    port: u16,
    state: Arc<State>,
    _rt: tokio::runtime::Runtime,
}

impl Server {
    fn start(mode: Mode) -> Server {
        Self::start_inner(mode, None, State::default())
    }

    /// The same server behind TLS with a self-signed certificate.
    fn start_tls(mode: Mode) -> Server {
        Self::start_inner(mode, Some(tls_acceptor()), State::default())
    }

    /// The server with a calendar trash bin.
    fn with_trash(mode: Mode, trash: TrashBin) -> Server {
        let state = State {
            trash: Some(trash),
            ..State::default()
        };
        Self::start_inner(mode, None, state)
    }

    /// The server with these real calendars in the home (listed by a Depth 1 PROPFIND).
    fn with_calendars(mode: Mode, names: &[&str]) -> Server {
        let state = State {
            calendars: names.iter().map(|n| n.to_string()).collect(),
            ..State::default()
        };
        Self::start_inner(mode, None, state)
    }

    fn start_inner(mode: Mode, tls: Option<tokio_rustls::TlsAcceptor>, state: State) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("test runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let state = Arc::new(state);
        let st = Arc::clone(&state);
        rt.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (st, mode, tls) = (Arc::clone(&st), mode.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => connection(sock, &mode, &st).await,
                        Some(acc) => {
                            if let Ok(s) = acc.accept(sock).await {
                                connection(s, &mode, &st).await
                            }
                        }
                    }
                });
            }
        });
        Server {
            port,
            state,
            _rt: rt,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// The `ccf-*` collections the server still holds (live or in the trash bin).
    fn held(&self) -> Vec<(String, Coll)> {
        self.state
            .colls
            .lock()
            .map(|c| {
                c.iter()
                    .filter(|(_, s)| **s != Coll::Gone)
                    .map(|(n, s)| (n.clone(), *s))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Put a collection there, as an earlier run would have left it.
    fn hold(&self, name: &str, c: Coll) {
        if let Ok(mut m) = self.state.colls.lock() {
            m.insert(name.to_string(), c);
        }
    }
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {
    /// Reset instead of closing (RST), where the transport allows it.
    fn zero_linger(&self) {}
}

impl Io for TcpStream {
    fn zero_linger(&self) {
        let _ = self.set_zero_linger();
    }
}

impl Io for tokio_rustls::server::TlsStream<TcpStream> {}

/// One request per connection; every answer carries `Connection: close`.
async fn connection<S: Io>(mut sock: S, mode: &Mode, st: &State) {
    let Some(req) = read_request(&mut sock).await else {
        return;
    };
    st.seen.lock().expect("seen").push(req.clone());
    // On an error (a reset, a client that went away) the socket is just dropped.
    if answer(&mut sock, &req, mode, st).await.is_ok() {
        let _ = sock.shutdown().await;
    }
}

async fn read_request<S: Io>(sock: &mut S) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if !buf[0].is_ascii_uppercase() {
            // Not HTTP (a TLS ClientHello on the plain listener): answer as web servers do.
            let _ = sock.write_all(&full(400, &[], b"not HTTP")).await;
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end - 4;
    while have < len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        have += n;
    }
    Some(Seen {
        method,
        target,
        headers,
        at: Instant::now(),
    })
}

/// `Some(name)` when `target` is at or below a scratch collection `ccf-<run>-<n>[b]` (not the
/// discovery probe).
fn scratch_of(target: &str) -> Option<&str> {
    let rest = target.strip_prefix(HOME)?;
    let name = rest.split('/').next()?;
    (name.starts_with("ccf-") && !name.ends_with("-probe")).then_some(name)
}

/// `Some(name)` when `target` is a `ccf-*` collection of the home itself (not a member).
fn collection_of(target: &str) -> Option<&str> {
    let rest = target.strip_prefix(HOME)?;
    let name = rest.strip_suffix('/').unwrap_or(rest);
    (name.starts_with("ccf-") && !name.is_empty() && !name.contains('/')).then_some(name)
}

/// A multistatus listing `(href, resourcetype inner XML)` pairs.
fn listing(entries: &[(String, String)]) -> String {
    let mut b = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:NC="http://nextcloud.com/ns">"#,
    );
    for (href, types) in entries {
        b.push_str(&format!(
            "<D:response><D:href>{href}</D:href><D:propstat><D:prop><D:resourcetype>{types}</D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
        ));
    }
    b.push_str("</D:multistatus>");
    b
}

const TRASHED: &str = "<D:collection/><NC:deleted-calendar/>";
const CALENDAR: &str = "<D:collection/><C:calendar/>";

/// Answers that depend on what the server holds, whatever the mode: OPTIONS with a trash bin,
/// MKCALENDAR and DELETE of `ccf-*` collections (kept in the trash bin unless the header says
/// otherwise), PROPFIND of a deleted or trashed collection, and the Depth 1 listing of the home.
fn state_answer(req: &Seen, st: &State) -> Option<Vec<u8>> {
    let mut colls = st.colls.lock().ok()?;
    if req.method == "OPTIONS" {
        let trash = st.trash?;
        let mut dav = "1, 3, calendar-access".to_string();
        if trash.advertise {
            dav.push_str(", nc-calendar-trashbin");
        }
        return Some(full(
            200,
            &[("DAV", dav), ("Server", "hostile/1.0".into())],
            b"",
        ));
    }
    if req.method == "PROPFIND" && req.target == HOME && req.header("Depth") == Some("1") {
        let mut entries = vec![(HOME.to_string(), "<D:collection/>".to_string())];
        for c in &st.calendars {
            entries.push((format!("{HOME}{c}/"), CALENDAR.to_string()));
        }
        for (n, c) in colls.iter() {
            let types = match c {
                Coll::Live => CALENDAR,
                Coll::Trashed => TRASHED,
                Coll::Gone => continue,
            };
            entries.push((format!("{HOME}{n}/"), types.to_string()));
        }
        return Some(full(207, &[xml_ct()], listing(&entries).as_bytes()));
    }
    let name = collection_of(&req.target)?.to_string();
    match req.method.as_str() {
        "MKCALENDAR" | "MKCOL" => {
            colls.insert(name, Coll::Live);
            None
        }
        "DELETE" => {
            let purge = req.header("X-NC-CalDAV-No-Trashbin") == Some("1");
            let before = colls.get(&name).copied();
            let after = match st.trash {
                Some(t) if !(purge && t.honour_header) && before != Some(Coll::Gone) => {
                    Coll::Trashed
                }
                _ => Coll::Gone,
            };
            colls.insert(name, after);
            Some(full(204, &[], b""))
        }
        "PROPFIND" => match colls.get(&name) {
            Some(Coll::Gone) => Some(full(404, &[], b"")),
            Some(Coll::Trashed) => Some(full(
                207,
                &[xml_ct()],
                listing(&[(req.target.clone(), TRASHED.to_string())]).as_bytes(),
            )),
            _ => None,
        },
        _ => None,
    }
}

fn is_scenario_request(req: &Seen) -> bool {
    let Some(name) = scratch_of(&req.target) else {
        return false;
    };
    let is_collection = req.target.trim_end_matches('/') == format!("{HOME}{name}");
    !(req.method == "MKCALENDAR" || req.method == "DELETE" && is_collection)
}

/// A PROPFIND Depth 0 of a `ccf-*` collection after its DELETE: the check that it is gone.
fn is_gone_check(seen: &[Seen], r: &Seen) -> bool {
    r.method == "PROPFIND"
        && r.header("Depth") == Some("0")
        && collection_of(&r.target).is_some()
        && seen
            .iter()
            .any(|d| d.method == "DELETE" && d.target == r.target && d.at <= r.at)
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        caldav_conformance::http::base64(&format!("{user}:{pass}"))
    )
}

fn head(status: u16, headers: &[(&str, String)], len: Option<u64>) -> Vec<u8> {
    let mut h = format!("HTTP/1.1 {status} Status\r\nConnection: close\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    match len {
        Some(n) => h.push_str(&format!("Content-Length: {n}\r\n")),
        None => h.push_str("Transfer-Encoding: chunked\r\n"),
    }
    h.push_str("\r\n");
    h.into_bytes()
}

fn full(status: u16, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut v = head(status, headers, Some(body.len() as u64));
    v.extend_from_slice(body);
    v
}

fn multistatus(target: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
 <D:response><D:href>{target}</D:href>
  <D:propstat><D:prop>
   <D:current-user-principal><D:href>{PRINCIPAL}</D:href></D:current-user-principal>
   <C:calendar-home-set><D:href>{HOME}</D:href></C:calendar-home-set>
   <D:resourcetype><D:collection/><C:calendar/></D:resourcetype>
  </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>
 </D:response>
</D:multistatus>"#
    )
}

const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn xml_ct() -> (&'static str, String) {
    ("Content-Type", "application/xml; charset=utf-8".into())
}

/// The correct answer to a request (discovery and, in `Mode::Good`, scenario requests).
fn good_answer(req: &Seen) -> Vec<u8> {
    match req.method.as_str() {
        "OPTIONS" => full(
            200,
            &[
                ("DAV", "1, 3, calendar-access".into()),
                (
                    "Allow",
                    "OPTIONS, GET, PUT, DELETE, PROPFIND, REPORT, MKCALENDAR".into(),
                ),
                ("Server", "hostile/1.0".into()),
            ],
            b"",
        ),
        "PROPFIND" | "REPORT" => full(207, &[xml_ct()], multistatus(&req.target).as_bytes()),
        "MKCALENDAR" | "MKCOL" | "PUT" => full(201, &[], b""),
        "DELETE" => full(204, &[], b""),
        "GET" => full(
            200,
            &[("Content-Type", "text/calendar; charset=utf-8".into())],
            EVENT.as_bytes(),
        ),
        _ => full(200, &[], b""),
    }
}

async fn answer<S: Io>(sock: &mut S, req: &Seen, mode: &Mode, st: &State) -> std::io::Result<()> {
    if matches!(mode, Mode::Unauthorized) {
        return sock
            .write_all(&full(
                401,
                &[("WWW-Authenticate", "Basic realm=\"hostile\"".into())],
                b"",
            ))
            .await;
    }
    // Basic authentication, as production servers demand it: without it nothing is learnt,
    // and the credential tests would prove nothing.
    if req.header("Authorization") != Some(basic(USER, PASSWORD).as_str()) {
        return sock
            .write_all(&full(
                401,
                &[("WWW-Authenticate", "Basic realm=\"hostile\"".into())],
                b"",
            ))
            .await;
    }
    if let Some(ans) = state_answer(req, st) {
        return sock.write_all(&ans).await;
    }
    let discovery_propfind = req.method == "PROPFIND" && scratch_of(&req.target).is_none();
    match mode {
        Mode::DiscoveryRedirectLoop if discovery_propfind => {
            let n = st.redirects.fetch_add(1, Ordering::SeqCst);
            return sock
                .write_all(&full(301, &[("Location", format!("/loop/{n}"))], b""))
                .await;
        }
        Mode::DiscoveryRedirectOther(port) if discovery_propfind => {
            return sock
                .write_all(&full(
                    302,
                    &[("Location", format!("http://127.0.0.1:{port}{}", req.target))],
                    b"",
                ))
                .await;
        }
        _ => {}
    }
    if !is_scenario_request(req) {
        return sock.write_all(&good_answer(req)).await;
    }
    let is_get = req.method == "GET";
    match mode {
        Mode::Good
        | Mode::Unauthorized
        | Mode::DiscoveryRedirectLoop
        | Mode::DiscoveryRedirectOther(_) => sock.write_all(&good_answer(req)).await,
        Mode::MalformedXml => {
            let body = b"<?xml version=\"1.0\"?><D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/x</D:multistatus>";
            sock.write_all(&full(207, &[xml_ct()], body)).await
        }
        Mode::NotMultistatus => {
            let body =
                b"<?xml version=\"1.0\"?><D:error xmlns:D=\"DAV:\"><D:need-privileges/></D:error>";
            sock.write_all(&full(207, &[xml_ct()], body)).await
        }
        Mode::NonUtf8 => {
            let mut body = b"<?xml version=\"1.0\"?><D:multistatus xmlns:D=\"DAV:\">".to_vec();
            body.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28, 0x80]);
            body.extend_from_slice(b"</D:multistatus>");
            let status = if is_get { 200 } else { 207 };
            sock.write_all(&full(status, &[xml_ct()], &body)).await
        }
        Mode::WrongContentType => {
            let status = if is_get { 200 } else { 207 };
            sock.write_all(&full(
                status,
                &[("Content-Type", "application/json".into())],
                br#"{"multistatus": [{"href": "/x"}]}"#,
            ))
            .await
        }
        Mode::Huge { declared, total } => {
            let status = if is_get { 200 } else { 207 };
            sock.write_all(&head(status, &[xml_ct()], *declared))
                .await?;
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0u64;
            while sent < *total {
                let n = (*total - sent).min(chunk.len() as u64) as usize;
                if declared.is_none() {
                    sock.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                }
                sock.write_all(&chunk[..n]).await?;
                if declared.is_none() {
                    sock.write_all(b"\r\n").await?;
                }
                sent += n as u64;
                st.huge_sent.store(sent, Ordering::SeqCst);
            }
            if declared.is_none() {
                sock.write_all(b"0\r\n\r\n").await?;
            }
            Ok(())
        }
        Mode::Silent => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Ok(())
        }
        Mode::Slow(d) => {
            tokio::time::sleep(*d).await;
            sock.write_all(&good_answer(req)).await
        }
        Mode::Trickle => {
            for b in good_answer(req) {
                sock.write_all(&[b]).await?;
                sock.flush().await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(())
        }
        Mode::TrickleBody => {
            let body = multistatus(&req.target);
            sock.write_all(&head(207, &[xml_ct()], Some(body.len() as u64)))
                .await?;
            for b in body.bytes() {
                sock.write_all(&[b]).await?;
                sock.flush().await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(())
        }
        Mode::Reset => {
            let body = multistatus(&req.target);
            sock.write_all(&head(207, &[xml_ct()], Some(body.len() as u64)))
                .await?;
            sock.write_all(&body.as_bytes()[..body.len() / 2]).await?;
            sock.flush().await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
            sock.zero_linger();
            Err(std::io::Error::other("reset"))
        }
        Mode::HugeHeader => {
            let mut ans = format!(
                "HTTP/1.1 207 Multi-Status\r\nConnection: close\r\nX-Junk: {}\r\n",
                "a".repeat(1 << 20)
            )
            .into_bytes();
            ans.extend_from_slice(b"Content-Length: 0\r\n\r\n");
            sock.write_all(&ans).await
        }
        Mode::ManyHeaders => {
            let mut ans = b"HTTP/1.1 207 Multi-Status\r\nConnection: close\r\n".to_vec();
            for i in 0..10_000 {
                ans.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
            }
            ans.extend_from_slice(b"Content-Length: 0\r\n\r\n");
            sock.write_all(&ans).await
        }
        Mode::RedirectLoop => {
            sock.write_all(&full(301, &[("Location", req.target.clone())], b""))
                .await
        }
        Mode::RedirectOther(port) => {
            sock.write_all(&full(
                302,
                &[("Location", format!("http://127.0.0.1:{port}{}", req.target))],
                b"",
            ))
            .await
        }
        Mode::EchoAuth => {
            let auth = req.header("Authorization").unwrap_or_default().to_string();
            let body = format!(
                "<html><body>Bad request. You sent: Authorization: {auth} (that is {USER}:{PASSWORD})</body></html>"
            );
            let status = if is_get { 400 } else { 207 };
            sock.write_all(&full(
                status,
                &[
                    ("Content-Type", "text/html".into()),
                    ("X-Echo-Authorization", auth),
                ],
                body.as_bytes(),
            ))
            .await
        }
    }
}

/// A self-signed certificate for 127.0.0.1 (valid until 2126), made for these tests only.
const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBrjCCAVSgAwIBAgIUfPNh+qJy9cS+rL4Oi66cEJUdX18wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNTAyMTEwN1oYDzIxMjYxMTAx
MDIxMTA3WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASOMNaRMEsbcxLsx1e6WO3VFCCCvIq3L7xu/+ZUffNHNxZmS3Rhq1u7
T1GxLYnpy/c0lO8kOVfc9IrdF0AjFYiLo4GBMH8wHQYDVR0OBBYEFNaWEj5vX8Ff
KZ9Y7cR5yOMikpmeMB8GA1UdIwQYMBaAFNaWEj5vX8FfKZ9Y7cR5yOMikpmeMBoG
A1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAMBgNVHRMBAf8EAjAAMBMGA1UdJQQM
MAoGCCsGAQUFBwMBMAoGCCqGSM49BAMCA0gAMEUCIEUjuWArLqX6Wz2miLs6SUrC
MhP1Atl6TVWzo7S7FwfsAiEA0hH9yeV8Nv4Y4A84iwhW8rniSYrNIpqAMAcEzZgf
oj4=
-----END CERTIFICATE-----
";
/// Its private key (a throw-away test key, worthless outside these tests).
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcoXBzEp3MvfOm+R7
eBAJF7iC2KldqoRgCmBjZ54cXEmhRANCAASOMNaRMEsbcxLsx1e6WO3VFCCCvIq3
L7xu/+ZUffNHNxZmS3Rhq1u7T1GxLYnpy/c0lO8kOVfc9IrdF0AjFYiL
-----END PRIVATE KEY-----
";

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_slice(TEST_CERT.as_bytes()).expect("cert")];
    let key = PrivateKeyDer::from_pem_slice(TEST_KEY.as_bytes()).expect("key");
    let cfg = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

// ------------------------------------------------------------------ scenario folders

static DIRS: AtomicUsize = AtomicUsize::new(0);

/// A fresh folder under the target's temporary directory with `scenarios/` and `fixtures/`.
struct Dir(PathBuf);

impl Dir {
    fn new(files: &[(&str, &str)]) -> Dir {
        let n = DIRS.fetch_add(1, Ordering::SeqCst);
        let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("hostile-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("scenarios")).expect("mkdir");
        std::fs::create_dir_all(d.join("fixtures/ical")).expect("mkdir");
        std::fs::write(d.join("fixtures/ical/event.ics"), EVENT).expect("fixture");
        for (name, text) in files {
            let p = d.join("scenarios").join(name);
            std::fs::write(p, text).expect("scenario file");
        }
        Dir(d)
    }

    fn scenarios(&self) -> String {
        self.0.join("scenarios").display().to_string()
    }

    fn fixtures(&self) -> String {
        self.0.join("fixtures").display().to_string()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Two scenarios: a PROPFIND expecting a multistatus, and a GET expecting iCalendar data.
const BASIC_SCENARIOS: &str = r#"area: hostile server
scenarios:
  - name: propfind-calendar
    desc: PROPFIND on the scratch calendar answers a multistatus naming it.
    requirement: A Multi-Status response body is a DAV:multistatus element.
    spec: [RFC4918 §9.1]
    steps:
      - method: PROPFIND
        depth: "0"
        body: '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>'
        expect:
          status: 207
          multistatus:
            responses:
              - href: "{calendar}"
  - name: get-event
    desc: GET of a calendar object resource answers iCalendar data.
    requirement: A GET answers the calendar object resource.
    spec: [RFC4791 §5.3.4]
    steps:
      - method: GET
        path: event.ics
        expect:
          status: 200
          calendar:
            count: { VEVENT: 1 }
"#;

// ------------------------------------------------------------------ running the binary

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Out {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.took, self.stdout, self.stderr
        )
    }
}

/// Run the binary with `args` (the password in $CCF_HOSTILE_PW), bounded by RUN_LIMIT: a run
/// that does not end in time is killed and the test fails as a hang.
fn run(args: &[String]) -> Out {
    run_env(args, &[("CCF_HOSTILE_PW", PASSWORD)])
}

fn run_env(args: &[String], env: &[(&str, &str)]) -> Out {
    let started = Instant::now();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("CALDAV_URL")
        .env_remove("CALDAV_USER")
        .env_remove("CALDAV_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn the binary");
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t1 = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut s);
        s
    });
    let t2 = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the binary hung: still running after {RUN_LIMIT:?} with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Out {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&t1.join().expect("stdout thread")).into_owned(),
        stderr: String::from_utf8_lossy(&t2.join().expect("stderr thread")).into_owned(),
        took: started.elapsed(),
    };
    assert!(
        !out.all().contains("panicked"),
        "the binary panicked:\n{out:?}"
    );
    assert_secret_free(&out.all(), &format!("output of {args:?}"));
    out
}

fn args(server: &Server, dir: &Dir, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--url",
        &server.url(),
        "--user",
        USER,
        "--password-env",
        "CCF_HOSTILE_PW",
        "--scenarios",
        &dir.scenarios(),
        "--fixtures",
        &dir.fixtures(),
        "--test-threads",
        "1",
        // The built-in generative oracle trial is not part of these scenario folders.
        "--skip",
        "oracle/",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Short timeouts keep the tests fast, unless the test gives its own.
    for (flag, default) in [("--timeout", "2"), ("--scenario-timeout", "5")] {
        if !extra.contains(&flag) {
            v.extend([flag.to_string(), default.to_string()]);
        }
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Every form in which the credentials could leak.
fn secret_forms() -> Vec<String> {
    let b = caldav_conformance::http::base64(&format!("{USER}:{PASSWORD}"));
    let escaped = format!("{PASSWORD:?}");
    vec![
        PASSWORD.to_string(),
        escaped[1..escaped.len() - 1].to_string(),
        PASSWORD
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
        b.trim_end_matches('=').to_string(),
        b,
    ]
}

fn assert_secret_free(text: &str, what: &str) {
    for f in secret_forms() {
        assert!(
            !text.contains(&f),
            "{what} holds the credentials ({f:?}):\n{text}"
        );
    }
}

/// Whatever happened, the safety invariants hold for everything the server received: every
/// write went to a scratch collection of the run (or the probe), and after a scratch
/// collection's DELETE nothing more was sent to it.
fn assert_safe(seen: &[Seen]) {
    const WRITES: &[&str] = &[
        "PUT",
        "DELETE",
        "MKCALENDAR",
        "MKCOL",
        "PROPPATCH",
        "MOVE",
        "COPY",
        "POST",
        "LOCK",
        "UNLOCK",
        "ACL",
    ];
    for r in seen {
        let name = r
            .target
            .strip_prefix(HOME)
            .and_then(|t| t.split('/').next())
            .unwrap_or("");
        if WRITES.contains(&r.method.as_str()) {
            assert!(
                name.starts_with("ccf-") && !name.contains('.'),
                "a write outside the scratch collections reached the server: {} {}",
                r.method,
                r.target
            );
        }
        for h in ["Destination", "X-HTTP-Method-Override"] {
            assert!(
                r.header(h).is_none(),
                "{} {} carried {h}: {:?}",
                r.method,
                r.target,
                r.header(h)
            );
        }
    }
    let is_collection = |t: &str| {
        t.strip_prefix(HOME)
            .and_then(|n| n.strip_suffix('/'))
            .is_some_and(|n| n.starts_with("ccf-") && !n.contains('/'))
    };
    for d in seen
        .iter()
        .filter(|r| r.method == "DELETE" && is_collection(&r.target))
    {
        let coll = d.target.clone();
        // After the DELETE only another DELETE (past a trash bin) and the PROPFIND Depth 0 of
        // the collection itself (checking that it is gone) may follow.
        let check =
            |r: &Seen| r.method == "PROPFIND" && r.target == coll && r.header("Depth") == Some("0");
        if let Some(late) = seen.iter().find(|r| {
            r.at > d.at && r.target.starts_with(&coll) && r.method != "DELETE" && !check(r)
        }) {
            panic!(
                "{} {} was sent after the cleanup DELETE {}",
                late.method, late.target, coll
            );
        }
    }
}

/// A failing run of the hostile modes: exit 101, a message naming the problem, safe.
fn expect_failure(mode: Mode, filter: &str, extra: &[&str], needles: &[&str]) -> (Out, Server) {
    let server = Server::start(mode);
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let mut a: Vec<&str> = [filter].into_iter().filter(|f| !f.is_empty()).collect();
    a.extend_from_slice(extra);
    let out = run(&args(&server, &dir, &a));
    assert_eq!(out.code, 101, "expected a clean scenario failure:\n{out:?}");
    for n in needles {
        assert!(
            out.all().contains(n),
            "the output does not name the problem ({n:?}):\n{out:?}"
        );
    }
    assert_safe(&server.seen());
    (out, server)
}

// ------------------------------------------------------------------ the tests

#[test]
fn control_a_well_behaved_server_passes() {
    let server = Server::start(Mode::Good);
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let out = run(&args(&server, &dir, &[]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("2 passed"), "{out:?}");
    let seen = server.seen();
    assert_safe(&seen);
    // Discovery, probe, and per scenario MKCALENDAR, the step, DELETE.
    assert!(seen.iter().any(|r| r.method == "MKCALENDAR"));
    assert!(seen
        .iter()
        .any(|r| r.header("Authorization").is_some() && r.method == "GET"));
}

#[test]
fn malformed_xml_is_a_clean_failure() {
    expect_failure(
        Mode::MalformedXml,
        "propfind-calendar",
        &[],
        &["malformed XML", "multistatus"],
    );
}

#[test]
fn xml_that_is_not_a_multistatus_is_a_clean_failure() {
    expect_failure(
        Mode::NotMultistatus,
        "propfind-calendar",
        &[],
        &["expected a DAV:multistatus body, got <D:error>"],
    );
}

#[test]
fn a_non_utf8_body_is_a_clean_failure() {
    let (out, _) = expect_failure(Mode::NonUtf8, "", &[], &["not valid UTF-8"]);
    assert!(out.stdout.contains("2 failed"), "{out:?}");
    assert!(out.all().contains("XML body is not valid UTF-8"), "{out:?}");
    assert!(
        out.all().contains("response body is not valid UTF-8"),
        "{out:?}"
    );
}

#[test]
fn a_wrong_content_type_is_a_clean_failure() {
    let (out, _) = expect_failure(
        Mode::WrongContentType,
        "",
        &[],
        &["application/json", "malformed XML"],
    );
    assert!(out.stdout.contains("2 failed"), "{out:?}");
    assert!(
        out.all()
            .contains("iCalendar data does not start with BEGIN:VCALENDAR"),
        "{out:?}"
    );
}

#[test]
fn a_huge_streamed_body_is_cut_at_max_body() {
    // 100 MiB, chunked (no Content-Length): the client reads 1 MiB and stops.
    let (out, server) = expect_failure(
        Mode::Huge {
            declared: None,
            total: 100 << 20,
        },
        "propfind-calendar",
        &["--max-body", "1048576"],
        &["exceeds the 1048576 byte cap (--max-body)"],
    );
    let sent = server.state.huge_sent.load(Ordering::SeqCst);
    assert!(
        sent < 32 << 20,
        "the client read on: the server got {sent} bytes out\n{out:?}"
    );
}

#[test]
fn a_declared_2gb_body_is_refused_by_the_cap() {
    let (out, server) = expect_failure(
        Mode::Huge {
            declared: Some(2 << 30),
            total: 2 << 30,
        },
        "get-event",
        &["--max-body", "1048576"],
        &["response body of 2147483648 bytes exceeds the 1048576 byte cap"],
    );
    let sent = server.state.huge_sent.load(Ordering::SeqCst);
    assert!(sent < 32 << 20, "{sent} bytes went out\n{out:?}");
}

#[test]
fn a_streamed_2gb_body_stops_at_the_default_cap() {
    // The default --max-body (64 MiB) against 2 GiB without Content-Length: streaming means
    // the client stops after the cap, it never reads (or holds) 2 GiB.
    let (out, server) = expect_failure(
        Mode::Huge {
            declared: None,
            total: 2 << 30,
        },
        "get-event",
        &["--timeout", "30"],
        &["exceeds the 67108864 byte cap (--max-body)"],
    );
    let sent = server.state.huge_sent.load(Ordering::SeqCst);
    assert!(
        sent < 200 << 20,
        "the client read on: {sent} bytes went out\n{out:?}"
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let (out, _) = expect_failure(
        Mode::Silent,
        "propfind-calendar",
        &[],
        &["timed out after 2s (--timeout)"],
    );
    assert!(out.took < Duration::from_secs(20), "{out:?}");
}

#[test]
fn one_byte_a_second_times_out() {
    let (out, _) = expect_failure(
        Mode::Trickle,
        "propfind-calendar",
        &[],
        &["timed out after 2s (--timeout)"],
    );
    assert!(out.took < Duration::from_secs(20), "{out:?}");
}

#[test]
fn a_body_at_one_byte_a_second_times_out() {
    let (out, _) = expect_failure(
        Mode::TrickleBody,
        "propfind-calendar",
        &[],
        &["timed out after 2s (--timeout)"],
    );
    assert!(out.took < Duration::from_secs(20), "{out:?}");
}

#[test]
fn the_scenario_timeout_stops_the_scenario_before_its_cleanup() {
    // Five steps of 1.5 s each (each within --timeout 2) against a 5 s scenario timeout,
    // which strikes during the fourth. A second scenario keeps the process alive afterwards,
    // so a scenario body that went on after its timeout would be seen sending its fifth step
    // to a collection already deleted (assert_safe checks that as well).
    let slow = r#"scenarios:
  - name: a-slow
    desc: five slow steps
    requirement: r
    spec: [RFC4918 §9.1]
    steps:
      - { method: GET, path: a.ics, expect: { status: 200 } }
      - { method: GET, path: b.ics, expect: { status: 200 } }
      - { method: GET, path: c.ics, expect: { status: 200 } }
      - { method: GET, path: d.ics, expect: { status: 200 } }
      - { method: GET, path: fifth.ics, expect: { status: 200 } }
  - name: b-later
    desc: keeps the run going after the first scenario's timeout
    requirement: r
    spec: [RFC4918 §9.1]
    steps:
      - { method: GET, path: e.ics, expect: { status: 200 } }
      - { method: GET, path: f.ics, expect: { status: 200 } }
"#;
    let server = Server::start(Mode::Slow(Duration::from_millis(1500)));
    let dir = Dir::new(&[("slow.yaml", slow)]);
    let out = run(&args(&server, &dir, &["--scenario-timeout", "5"]));
    assert_eq!(out.code, 101, "{out:?}");
    assert!(
        out.all()
            .contains("did not finish within 5s (per-scenario timeout)"),
        "{out:?}"
    );
    let seen = server.seen();
    assert_safe(&seen);
    assert!(
        !seen.iter().any(|r| r.target.ends_with("/fifth.ics")),
        "the first scenario's fifth step was sent after its timeout: {seen:#?}"
    );
}

#[test]
fn a_connection_reset_half_way_is_a_clean_failure() {
    expect_failure(
        Mode::Reset,
        "propfind-calendar",
        &[],
        &["request to http://127.0.0.1:", "failed"],
    );
}

#[test]
fn a_huge_header_is_a_clean_failure() {
    expect_failure(
        Mode::HugeHeader,
        "propfind-calendar",
        &[],
        &["request to http://127.0.0.1:", "failed"],
    );
}

#[test]
fn ten_thousand_headers_are_a_clean_failure() {
    expect_failure(
        Mode::ManyHeaders,
        "propfind-calendar",
        &[],
        &["request to http://127.0.0.1:", "failed"],
    );
}

#[test]
fn a_redirect_loop_in_a_scenario_is_not_followed() {
    let (_, server) = expect_failure(
        Mode::RedirectLoop,
        "propfind-calendar",
        &[],
        &["status: expected 207, got 301"],
    );
    let seen = server.seen();
    let loops = seen
        .iter()
        .filter(|r| {
            r.method == "PROPFIND" && scratch_of(&r.target).is_some() && !is_gone_check(&seen, r)
        })
        .count();
    assert_eq!(loops, 1, "the redirect was followed");
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    let other = Server::start(Mode::Good);
    let (_, _) = expect_failure(Mode::RedirectOther(other.port), "", &[], &["got 302"]);
    let there = other.seen();
    assert!(
        there.is_empty(),
        "the other host received requests: {there:#?}"
    );
}

#[test]
fn a_redirect_loop_in_discovery_ends_with_exit_2() {
    let server = Server::start(Mode::DiscoveryRedirectLoop);
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let out = run(&args(&server, &dir, &[]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("too many redirects"), "{out:?}");
    assert!(out.stderr.starts_with("error: discovery failed"), "{out:?}");
    assert_safe(&server.seen());
}

#[test]
fn a_redirect_to_another_host_in_discovery_is_not_followed() {
    let other = Server::start(Mode::Good);
    let server = Server::start(Mode::DiscoveryRedirectOther(other.port));
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let out = run(&args(&server, &dir, &[]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("redirects to another origin"),
        "{out:?}"
    );
    let there = other.seen();
    assert!(
        there.is_empty(),
        "the other host received requests: {there:#?}"
    );
    assert!(
        !there.iter().any(|r| r.header("Authorization").is_some()),
        "credentials went to the other host"
    );
}

#[test]
fn a_401_in_discovery_is_one_clear_line_and_exit_2() {
    let server = Server::start(Mode::Unauthorized);
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let out = run(&args(&server, &dir, &[]));
    assert_eq!(out.code, 2, "{out:?}");
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains("authentication failed"),
        "{out:?}"
    );
    assert!(out.stderr.lines().count() <= 4, "{out:?}");
    // Wrong Basic credentials are not retried over and over.
    assert!(server.seen().len() <= 3, "{:#?}", server.seen());
}

#[test]
fn https_to_a_plain_http_listener_is_one_clear_line_and_exit_2() {
    let server = Server::start(Mode::Good);
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let mut a = args(&server, &dir, &[]);
    a[1] = format!("https://127.0.0.1:{}/", server.port);
    let out = run(&a);
    assert_eq!(out.code, 2, "{out:?}");
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains("request to https://127.0.0.1:"),
        "{out:?}"
    );
    assert!(out.stderr.lines().count() <= 4, "{out:?}");
}

#[test]
fn a_self_signed_certificate_is_refused_without_insecure() {
    let server = Server::start_tls(Mode::Good);
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let mut a = args(&server, &dir, &[]);
    a[1] = format!("https://127.0.0.1:{}/", server.port);
    let out = run(&a);
    assert_eq!(out.code, 2, "{out:?}");
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: ") && first.contains("--insecure"),
        "{out:?}"
    );
    assert!(out.stderr.lines().count() <= 4, "{out:?}");
    assert!(
        server.seen().is_empty(),
        "a request went through untrusted TLS"
    );
    // The control: the same server with --insecure is reached and the run passes.
    a.push("--insecure".into());
    let out = run(&a);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn bad_urls_exit_2_without_sending() {
    let server = Server::start(Mode::Good);
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    for url in [
        "not a url",
        "ftp://127.0.0.1/",
        "http://[::1",
        "http://",
        "",
    ] {
        let mut a = args(&server, &dir, &[]);
        a[1] = url.to_string();
        let out = run(&a);
        assert_eq!(out.code, 2, "{url:?}: {out:?}");
        assert!(out.stderr.contains("error: "), "{url:?}: {out:?}");
    }
    // No --url at all.
    let out = run(&args(&server, &dir, &[])[2..]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(server.seen().is_empty());
}

#[test]
fn credentials_never_appear_in_any_output_or_report() {
    // Failing runs in several modes, with the human and JSON formats, JUnit and results
    // files; the server even echoes the Authorization header back. `run` already checks
    // stdout and stderr; here the files as well.
    for mode in [
        Mode::EchoAuth,
        Mode::MalformedXml,
        Mode::Silent,
        Mode::Unauthorized,
    ] {
        for format in [None, Some("json")] {
            let server = Server::start(mode.clone());
            let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
            let junit = dir.file("junit.xml").display().to_string();
            let results = dir.file("results.json").display().to_string();
            let mut extra = vec!["--junit", &junit, "--results", &results];
            if let Some(f) = format {
                extra.extend(["-Z", "unstable-options", "--format", f]);
            }
            let out = run(&args(&server, &dir, &extra));
            assert!(out.code == 101 || out.code == 2, "{mode:?}: {out:?}");
            for f in [&junit, &results] {
                if let Ok(t) = std::fs::read_to_string(f) {
                    assert_secret_free(&t, f);
                }
            }
            if matches!(mode, Mode::EchoAuth) {
                assert!(out.all().contains("[redacted]"), "{out:?}");
                assert!(std::fs::metadata(&junit).is_ok(), "no JUnit file");
            }
        }
    }
    // The password on the command line (with its warning), and in a file.
    let server = Server::start(Mode::EchoAuth);
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let mut a = args(&server, &dir, &[]);
    a[4] = "--password".into();
    a[5] = PASSWORD.into();
    let out = run(&a);
    assert_eq!(out.code, 101, "{out:?}");
    assert!(out
        .stderr
        .contains("warning: a password on the command line"));
    let pw = dir.file("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).expect("pw file");
    a[4] = "--password-file".into();
    a[5] = pw.display().to_string();
    let out = run(&a);
    assert_eq!(out.code, 101, "{out:?}");
    // Conflicting password flags: a usage error that does not echo the value.
    let out = run(&args(&server, &dir, &["--password", PASSWORD]));
    assert_eq!(out.code, 2, "{out:?}");
}

/// Escape attempts, one per scenario; `OTHER` is replaced with the other listener's port.
const ESCAPES: &str = r#"scenarios:
  - name: dotdot
    desc: PUT ../other/x.ics
    requirement: r
    spec: [RFC4918 §9.7]
    steps:
      - { method: PUT, path: ../other/x.ics, fixture: ical/event.ics, expect: { status: 201 } }
  - name: encoded-dotdot
    desc: PUT %2e%2e/victim/x.ics
    requirement: r
    spec: [RFC4918 §9.7]
    steps:
      - { method: PUT, path: "%2e%2e/victim/x.ics", fixture: ical/event.ics, expect: { status: 201 } }
  - name: encoded-dotdot-upper
    desc: DELETE %2E%2E/victim/
    requirement: r
    spec: [RFC4918 §9.6]
    steps:
      - { method: DELETE, path: "%2E%2E/victim/", expect: { status: 204 } }
  - name: encoded-slash
    desc: PUT ..%2fvictim.ics
    requirement: r
    spec: [RFC4918 §9.7]
    steps:
      - { method: PUT, path: "..%2fvictim.ics", fixture: ical/event.ics, expect: { status: 201 } }
  - name: backslash
    desc: PUT ..\victim\x.ics
    requirement: r
    spec: [RFC4918 §9.7]
    steps:
      - { method: PUT, path: '..\victim\x.ics', fixture: ical/event.ics, expect: { status: 201 } }
  - name: absolute-other-host-write
    desc: PUT to another host
    requirement: r
    spec: [RFC4918 §9.7]
    steps:
      - { method: PUT, path: "http://127.0.0.1:OTHER/cal/user1/x.ics", fixture: ical/event.ics, expect: { status: 201 } }
  - name: absolute-other-host-read
    desc: GET from another host (credentials must not go there)
    requirement: r
    spec: [RFC4918 §9.4]
    steps:
      - { method: GET, path: "http://127.0.0.1:OTHER/cal/user1/x.ics", expect: { status: 200 } }
  - name: scheme-relative-other-host
    desc: GET //127.0.0.1:OTHER/x
    requirement: r
    spec: [RFC4918 §9.4]
    steps:
      - { method: GET, path: "//127.0.0.1:OTHER/x", expect: { status: 200 } }
  - name: home-victim
    desc: DELETE {home}victim/
    requirement: r
    spec: [RFC4918 §9.6]
    steps:
      - { method: DELETE, path: "{home}victim/", expect: { status: 204 } }
  - name: home-itself
    desc: DELETE {home}
    requirement: r
    spec: [RFC4918 §9.6]
    steps:
      - { method: DELETE, path: "{home}", expect: { status: 204 } }
  - name: another-runs-scratch
    desc: PUT into a scratch collection of another scenario
    requirement: r
    spec: [RFC4918 §9.7]
    steps:
      - { method: PUT, path: "{home}ccf-{runid}-99/a.ics", fixture: ical/event.ics, expect: { status: 201 } }
  - name: prefix-sibling
    desc: PUT into {calendar} with a suffix (ccf-x-1 vs ccf-x-10)
    requirement: r
    spec: [RFC4918 §9.7]
    steps:
      - { method: PUT, path: "/cal/user1/ccf-{runid}-120/a.ics", fixture: ical/event.ics, expect: { status: 201 } }
  - name: mkcalendar-in-home
    desc: MKCALENDAR {home}evil/
    requirement: r
    spec: [RFC4791 §5.3.1]
    steps:
      - { method: MKCALENDAR, path: "{home}evil/", expect: { status: 201 } }
  - name: proppatch-principal
    desc: PROPPATCH {principal}
    requirement: r
    spec: [RFC4918 §9.2]
    steps:
      - method: PROPPATCH
        path: "{principal}"
        body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>'
        expect: { status: 207 }
  - name: copy-destination-home
    desc: COPY with Destination {home}victim/a.ics
    requirement: r
    spec: [RFC4918 §9.8]
    steps:
      - { method: COPY, path: a.ics, headers: { Destination: "{origin}{home}victim/a.ics" }, expect: { status: 201 } }
  - name: move-destination-other-host
    desc: MOVE with Destination on another host
    requirement: r
    spec: [RFC4918 §9.9]
    steps:
      - { method: MOVE, path: a.ics, headers: { Destination: "http://127.0.0.1:OTHER/x.ics" }, expect: { status: 201 } }
  - name: move-destination-dotdot
    desc: MOVE with Destination {calendar}../victim/a.ics
    requirement: r
    spec: [RFC4918 §9.9]
    steps:
      - { method: MOVE, path: a.ics, headers: { Destination: "{calendar}../victim/a.ics" }, expect: { status: 201 } }
  - name: method-override
    desc: GET with X-HTTP-Method-Override DELETE on the home
    requirement: r
    spec: [RFC4918 §9.6]
    steps:
      - { method: GET, path: "{home}victim/", headers: { X-HTTP-Method-Override: DELETE }, expect: { status: 200 } }
  - name: post-home
    desc: POST {home}
    requirement: r
    spec: [RFC4918 §9.5]
    steps:
      - { method: POST, path: "{home}", body: "x", expect: { status: 200 } }
  - name: lock-victim
    desc: LOCK {home}victim/
    requirement: r
    spec: [RFC4918 §9.10]
    steps:
      - { method: LOCK, path: "{home}victim/", expect: { status: 200 } }
  - name: acl-home
    desc: ACL {home}
    requirement: r
    spec: [RFC4918 §9.1]
    steps:
      - { method: ACL, path: "{home}", body: "<x/>", expect: { status: 200 } }
"#;

#[test]
fn the_scope_guard_refuses_every_escape_and_nothing_reaches_the_server() {
    let other = Server::start(Mode::Good);
    let server = Server::start(Mode::Good);
    let text = ESCAPES.replace("OTHER", &other.port.to_string());
    let n = text.matches("- name:").count();
    let dir = Dir::new(&[("escapes.yaml", &text)]);
    let out = run(&args(&server, &dir, &[]));
    assert_eq!(out.code, 101, "{out:?}");
    assert!(
        out.stdout.contains(&format!("0 passed; {n} failed")),
        "every escape must fail:\n{out:?}"
    );
    for block in out.stdout.split("---- ").skip(1) {
        assert!(
            block.contains("scope guard refused"),
            "a scenario failed otherwise than by the scope guard:\n{block}"
        );
    }
    assert!(out.stdout.split("---- ").skip(1).count() >= n, "{out:?}");
    let seen = server.seen();
    assert_safe(&seen);
    // Only creation and deletion of the scratch calendars (and discovery) reached the server.
    let scenario_requests: Vec<&Seen> = seen
        .iter()
        .filter(|r| is_scenario_request(r) && !is_gone_check(&seen, r))
        .collect();
    assert!(
        scenario_requests.is_empty(),
        "scenario requests reached the server: {scenario_requests:#?}"
    );
    let there = other.seen();
    assert!(
        there.is_empty(),
        "the other host received requests: {there:#?}"
    );
}

#[test]
fn malformed_scenario_files_are_all_reported_and_nothing_is_sent() {
    let good_head = "scenarios:\n  - name: s\n    desc: d\n    requirement: r\n    spec: [RFC4918 §9.1]\n    steps:\n";
    let files: Vec<(String, String)> = vec![
        (
            "a_unknown_key.yaml".into(),
            format!("{good_head}      - method: GET\n        expct: {{ status: 200 }}\n"),
        ),
        (
            "b_undefined_var.yaml".into(),
            format!("{good_head}      - method: GET\n        path: \"{{nope}}/x.ics\"\n"),
        ),
        (
            "c_missing_fixture.yaml".into(),
            format!("{good_head}      - method: PUT\n        path: x.ics\n        fixture: ical/missing.ics\n"),
        ),
        (
            "d_syntax.yaml".into(),
            "scenarios:\n  - name: \"unclosed\n    desc: [\n".into(),
        ),
        (
            "e_huge_date.yaml".into(),
            format!("{good_head}      - method: GET\n        path: \"{{today+999999999d}}.ics\"\n"),
        ),
        (
            "f_capture_name.yaml".into(),
            format!("{good_head}      - method: FETCH\n        capture:\n          \"today+\": {{ header: ETag }}\n"),
        ),
        ("g_binary.yaml".into(), "\u{0}\u{1}\u{fffd}: [".into()),
        ("h_empty.yaml".into(), String::new()),
    ];
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let server = Server::start(Mode::Good);
    let dir = Dir::new(&refs);
    let out = run(&args(&server, &dir, &[]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("nothing was sent"), "{out:?}");
    for (name, _) in &files {
        let located = out.stderr.lines().any(|l| {
            l.contains(name.as_str()) && {
                // file:line:col: message
                let rest = l.split(name.as_str()).nth(1).unwrap_or_default();
                let mut parts = rest.splitn(4, ':');
                parts.next() == Some("")
                    && parts.next().is_some_and(|x| x.parse::<u64>().is_ok())
                    && parts.next().is_some_and(|x| x.parse::<u64>().is_ok())
                    && parts.next().is_some_and(|m| !m.trim().is_empty())
            }
        });
        assert!(
            located,
            "{name} is not reported as file:line:col: message:\n{out:?}"
        );
    }
    for needle in ["unknown field", "undefined variable {nope}", "missing.ics"] {
        assert!(out.stderr.contains(needle), "{needle:?}:\n{out:?}");
    }
    assert!(
        server.seen().is_empty(),
        "requests were sent: {:#?}",
        server.seen()
    );
}

const INCONCLUSIVE_SCENARIOS: &str = r#"area: inconclusive outcomes
scenarios:
  - name: setup-fails
    desc: A setup step the server answers otherwise than expected.
    requirement: r
    spec: [RFC4791 §5.3.4]
    setup:
      - { method: GET, path: event.ics, expect: { status: 404 } }
    steps:
      - { method: GET, path: event.ics, expect: { status: 200 } }
  - name: teardown-fails
    desc: The steps pass, the teardown does not.
    requirement: r
    spec: [RFC4791 §5.3.4]
    steps:
      - { method: GET, path: event.ics, expect: { status: 200 } }
    teardown:
      - { method: GET, path: event.ics, expect: { status: 404 } }
"#;

#[test]
fn a_failing_setup_or_teardown_is_inconclusive_never_a_fail() {
    let server = Server::start(Mode::Good);
    let dir = Dir::new(&[("inconclusive.yaml", INCONCLUSIVE_SCENARIOS)]);
    let (results, junit) = (dir.file("r.json"), dir.file("j.xml"));
    let (results, junit) = (results.display().to_string(), junit.display().to_string());
    let out = run(&args(
        &server,
        &dir,
        &["--results", &results, "--junit", &junit],
    ));
    assert_eq!(
        out.code, 101,
        "an unbaselined inconclusive fails the run:\n{out:?}"
    );
    assert!(out.stdout.contains("0 passed; 2 failed"), "{out:?}");
    for block in out.stdout.split("---- ").skip(1) {
        let message = block.split_once("----\n").map(|x| x.1).unwrap_or("");
        assert!(message.starts_with("inconclusive: "), "{block}");
    }
    let r: caldav_conformance::report::Results =
        serde_json::from_str(&std::fs::read_to_string(&results).expect("results")).expect("json");
    let inconclusive = caldav_conformance::outcome::Kind::Inconclusive;
    assert!(
        r.scenarios.iter().all(|s| s.outcome == inconclusive),
        "{r:?}"
    );
    let steps: Vec<&str> = r
        .scenarios
        .iter()
        .filter_map(|s| s.failure.as_ref().map(|f| f.step.as_str()))
        .collect();
    assert_eq!(steps, ["setup 1", "teardown 1"]);
    let j = std::fs::read_to_string(&junit).expect("junit");
    assert!(
        j.contains("failures=\"0\" errors=\"2\"") && j.contains("<error "),
        "{j}"
    );
    assert!(out.stdout.trim_end().ends_with(
        "0 pass, 0 fail, 0 ignored, 0 warnings, 2 inconclusive (no baseline: every fail and inconclusive counts)"
    ), "{out:?}");

    // A baseline that expects them, where they are: the run matches it.
    let entry = |name: &str, step: &str| {
        format!("  \"inconclusive::{name}\":\n    outcome: inconclusive\n    reason: r\n    step: {step}\n    path: status\n")
    };
    let base = dir.file("baseline.yaml");
    let text = format!(
        "server: s\nexpect:\n{}{}",
        entry("setup-fails", "setup 1"),
        entry("teardown-fails", "teardown 1")
    );
    std::fs::write(&base, &text).expect("write baseline");
    let b = base.display().to_string();
    let out = run(&args(&server, &dir, &["--baseline", &b]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("test result: ok."), "{out:?}");
    assert!(out.stdout.trim_end().ends_with("matches its baseline — 0 pass, 0 known deviations, 0 ignored, 0 warnings, 2 inconclusive"), "{out:?}");

    // Expected at another step: changed.
    std::fs::write(&base, text.replace("step: setup 1", "step: setup 2")).expect("write");
    let out = run(&args(&server, &dir, &["--baseline", &b]));
    assert_eq!(out.code, 101, "{out:?}");
    assert!(
        out.all().contains("changed: inconclusive::setup-fails: baseline says setup 2 at status, got setup 1 at status"),
        "{out:?}"
    );
    assert_safe(&server.seen());
}

// ------------------------------------------------------------------ servers that keep what was deleted

/// `cleanup` against the server, with the test credentials.
fn cleanup_args(server: &Server, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "cleanup",
        "--url",
        &server.url(),
        "--user",
        USER,
        "--password-env",
        "CCF_HOSTILE_PW",
        "--timeout",
        "2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// The DELETEs of `ccf-*` collections the server received, in order.
fn collection_deletes(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter()
        .filter(|r| r.method == "DELETE" && collection_of(&r.target).is_some())
        .collect()
}

/// Every collection DELETE is followed by a PROPFIND Depth 0 of that collection (the check
/// that it is gone).
fn assert_checked(seen: &[Seen]) {
    for d in collection_deletes(seen) {
        assert!(
            seen.iter().any(|r| r.at >= d.at
                && r.method == "PROPFIND"
                && r.target == d.target
                && r.header("Depth") == Some("0")),
            "DELETE {} was not checked with a PROPFIND",
            d.target
        );
    }
}

const NEXTCLOUD: TrashBin = TrashBin {
    advertise: true,
    honour_header: true,
};

#[test]
fn a_run_against_a_trash_bin_leaves_nothing_not_even_in_the_trash() {
    let server = Server::with_trash(Mode::Good, NEXTCLOUD);
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let out = run(&args(&server, &dir, &[]));
    assert_eq!(out.code, 0, "{out:?}");
    let seen = server.seen();
    assert_safe(&seen);
    assert_checked(&seen);
    let deletes = collection_deletes(&seen);
    // The probe and the two scenario calendars.
    assert_eq!(deletes.len(), 3, "{deletes:#?}");
    for d in deletes {
        assert_eq!(
            d.header("X-NC-CalDAV-No-Trashbin"),
            Some("1"),
            "DELETE {} did not bypass the advertised trash bin",
            d.target
        );
    }
    assert!(server.held().is_empty(), "left: {:?}", server.held());
    assert!(!out.all().contains("could not be removed"), "{out:?}");
    // And `cleanup` finds nothing, in the home or in the trash.
    let out = run(&cleanup_args(&server, &[]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("no scratch collections"), "{out:?}");
}

#[test]
fn a_server_that_keeps_deleted_calendars_without_saying_so_gets_the_header_too() {
    let server = Server::with_trash(
        Mode::Good,
        TrashBin {
            advertise: false,
            honour_header: true,
        },
    );
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let out = run(&args(&server, &dir, &[]));
    assert_eq!(out.code, 0, "{out:?}");
    let seen = server.seen();
    assert_safe(&seen);
    assert_checked(&seen);
    // Each collection: a plain DELETE (kept), the check, a DELETE with the header (gone).
    let deletes = collection_deletes(&seen);
    assert_eq!(deletes.len(), 6, "{deletes:#?}");
    assert_eq!(
        deletes
            .iter()
            .filter(|d| d.header("X-NC-CalDAV-No-Trashbin") == Some("1"))
            .count(),
        3
    );
    assert!(server.held().is_empty(), "left: {:?}", server.held());
}

#[test]
fn what_a_server_refuses_to_remove_is_said_plainly() {
    let server = Server::with_trash(
        Mode::Good,
        TrashBin {
            advertise: true,
            honour_header: false,
        },
    );
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let out = run(&args(&server, &dir, &[]));
    // The steps passed; the cleanup could not remove the scratch calendar: inconclusive.
    assert_eq!(out.code, 101, "{out:?}");
    assert!(out.stdout.contains("0 passed; 2 failed"), "{out:?}");
    for block in out.stdout.split("---- ").skip(1) {
        let message = block.split_once("----\n").map(|x| x.1).unwrap_or("");
        assert!(
            message.starts_with("inconclusive: the steps passed, but the scratch calendar could not be deleted: still there after DELETE with X-NC-CalDAV-No-Trashbin: 1"),
            "{block}"
        );
        assert!(message.contains("keeps it in its trash bin"), "{block}");
    }
    // The summary names every collection left, the probe included.
    assert!(
        out.stderr
            .contains("warning: 3 scratch collection(s) could not be removed from the server"),
        "{out:?}"
    );
    assert_eq!(server.held().len(), 3, "{:?}", server.held());
    assert_safe(&server.seen());
    // `cleanup` finds them in the trash, tries, and exits 1 saying what is left.
    let out = run(&cleanup_args(&server, &[]));
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout.matches("NOT REMOVED").count(), 3, "{out:?}");
    assert!(
        out.stderr
            .contains("3 scratch collection(s) could not be removed for good"),
        "{out:?}"
    );
}

#[test]
fn cleanup_empties_the_trash_of_scratch_collections_and_nothing_else() {
    let server = Server::with_trash(Mode::Good, NEXTCLOUD);
    server.hold("ccf-0badc0de-1", Coll::Trashed);
    server.hold("ccf-0badc0de-2b", Coll::Live);
    server.hold("ccf-0badc0de-probe", Coll::Trashed);
    // Decoys: named like scratch collections, but not in the pattern.
    server.hold("ccf-mine", Coll::Live);
    server.hold("ccf-0BADC0DE-1", Coll::Trashed);
    let out = run(&cleanup_args(&server, &["--dry-run"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.matches("would delete").count(), 3, "{out:?}");
    assert_eq!(
        out.stdout
            .matches("would delete (now in the server's trash bin)")
            .count(),
        2,
        "{out:?}"
    );
    assert_eq!(server.held().len(), 5, "--dry-run changed something");
    let out = run(&cleanup_args(&server, &[]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout
            .matches("deleted with X-NC-CalDAV-No-Trashbin: 1; PROPFIND Depth 0 answers 404")
            .count(),
        3,
        "{out:?}"
    );
    assert_eq!(
        server.held(),
        vec![
            ("ccf-0BADC0DE-1".to_string(), Coll::Trashed),
            ("ccf-mine".to_string(), Coll::Live)
        ]
    );
    let seen = server.seen();
    assert_checked(&seen);
    for d in collection_deletes(&seen) {
        assert!(
            d.target.contains("ccf-0badc0de-"),
            "cleanup deleted {}",
            d.target
        );
    }
}

#[test]
fn an_interrupted_run_leaves_nothing_in_the_trash() {
    // Slow scenario requests keep the run inside its first scenario when SIGINT arrives.
    let server = Server::with_trash(Mode::Slow(Duration::from_millis(1500)), NEXTCLOUD);
    let dir = Dir::new(&[("hostile.yaml", BASIC_SCENARIOS)]);
    let mut child = Command::new(BIN)
        .args(args(&server, &dir, &[]))
        .env_remove("CALDAV_URL")
        .env_remove("CALDAV_USER")
        .env_remove("CALDAV_PASSWORD")
        .env("CCF_HOSTILE_PW", PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    let started = Instant::now();
    // Wait until a scenario calendar (not the probe) exists.
    while !server
        .held()
        .iter()
        .any(|(n, c)| *c == Coll::Live && !n.ends_with("-probe"))
    {
        assert!(
            started.elapsed() < RUN_LIMIT,
            "no scenario calendar was created"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            panic!("the interrupted run hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("deleted http://127.0.0.1:"), "{err}");
    assert!(!err.contains("NOT REMOVED"), "{err}");
    assert!(server.held().is_empty(), "left: {:?}\n{err}", server.held());
    let seen = server.seen();
    assert_safe(&seen);
    assert_checked(&seen);
}

// ------------------------------------------------------------------ --read-only

/// Read-only scenarios whose steps would write anyway: each must be refused before it is sent.
const READ_ONLY_WRITES: &str = r#"scenarios:
  - name: put-into-a-real-calendar
    desc: PUT into the user's calendar
    requirement: r
    spec: [RFC4918 §9.7]
    read_only: true
    scratch: { calendar: none }
    steps:
      - { method: PUT, path: "{home}work/x.ics", fixture: ical/event.ics, expect: { status: 201 } }
  - name: delete-a-real-calendar
    desc: DELETE the user's calendar
    requirement: r
    spec: [RFC4918 §9.6]
    read_only: true
    scratch: { calendar: none }
    steps:
      - { method: DELETE, path: "{home}work/", expect: { status: 204 } }
  - name: mkcalendar-in-home
    desc: MKCALENDAR in the home
    requirement: r
    spec: [RFC4791 §5.3.1]
    read_only: true
    scratch: { calendar: none }
    steps:
      - { method: MKCALENDAR, path: "{home}new/", expect: { status: 201 } }
  - name: proppatch-a-real-calendar
    desc: PROPPATCH the user's calendar
    requirement: r
    spec: [RFC4918 §9.2]
    read_only: true
    scratch: { calendar: none }
    steps:
      - method: PROPPATCH
        path: "{home}work/"
        body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>'
        expect: { status: 207 }
  - name: override-to-delete
    desc: GET with X-HTTP-Method-Override DELETE
    requirement: r
    spec: [RFC4918 §9.6]
    read_only: true
    scratch: { calendar: none }
    steps:
      - { method: GET, path: "{home}work/", headers: { X-HTTP-Method-Override: DELETE }, expect: { status: 200 } }
  - name: a-read
    desc: PROPFIND of the home, which is allowed
    requirement: r
    spec: [RFC4918 §9.1]
    read_only: true
    scratch: { calendar: none }
    steps:
      - { method: PROPFIND, path: "{home}", depth: "0", expect: { status: 207 } }
"#;

const WRITES: &[&str] = &[
    "PUT",
    "DELETE",
    "MKCALENDAR",
    "MKCOL",
    "PROPPATCH",
    "MOVE",
    "COPY",
    "POST",
    "LOCK",
    "UNLOCK",
    "ACL",
];

#[test]
fn read_only_checks_the_real_calendars_and_sends_no_write_at_all() {
    let server = Server::with_calendars(Mode::Good, &["work", "family"]);
    let dir = Dir::new(&[("writes.yaml", READ_ONLY_WRITES)]);
    let out = run(&args(&server, &dir, &["--read-only", "--profile", "none"]));
    // The hostile server's answers are not those of a calendar: some checks fail.
    assert!(out.code == 0 || out.code == 101, "{out:?}");
    assert!(
        out.stderr
            .contains("read-only:  2 calendar(s) in the home: work, family"),
        "{out:?}"
    );
    for cal in ["work", "family"] {
        for check in caldav_conformance::readonly::CHECKS {
            let name = format!("readonly/{cal}::{}", check.name);
            assert!(out.stdout.contains(&name), "no trial {name}:\n{out:?}");
        }
    }
    // Each writing step was refused by the scope guard, the read went through.
    for name in [
        "put-into-a-real-calendar",
        "delete-a-real-calendar",
        "mkcalendar-in-home",
        "proppatch-a-real-calendar",
        "override-to-delete",
    ] {
        let block = out
            .stdout
            .split("---- ")
            .find(|b| b.starts_with(&format!("writes::{name} ")))
            .unwrap_or_else(|| panic!("{name} did not fail:\n{out:?}"));
        assert!(block.contains("scope guard refused"), "{block}");
    }
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("test writes::a-read ") && l.ends_with("... ok")),
        "{out:?}"
    );
    // Calendar data stays out of the output unless --show-data is given.
    assert!(!out.all().contains("SUMMARY:x"), "{out:?}");
    let seen = server.seen();
    for r in &seen {
        assert!(
            !WRITES.contains(&r.method.as_str()),
            "--read-only sent {} {}",
            r.method,
            r.target
        );
        assert!(
            r.header("X-HTTP-Method-Override").is_none(),
            "--read-only sent a method override: {} {}",
            r.method,
            r.target
        );
    }
    // The real calendars were read: listed, and queried.
    assert!(seen
        .iter()
        .any(|r| r.method == "REPORT" && r.target == format!("{HOME}work/")));
    assert!(seen
        .iter()
        .any(|r| r.method == "PROPFIND" && r.target == HOME && r.header("Depth") == Some("1")));
}
