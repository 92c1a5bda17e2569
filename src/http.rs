//! HTTP client: one pooled reqwest client with Basic, Digest (RFC 7616: MD5, SHA-256,
//! SHA-512-256, `-sess`, qop=auth; the schemes are in `http/auth.rs`) or Bearer
//! authentication, a response-size cap, per-request timeouts, no automatic redirects, and the
//! bookkeeping of collections it created. The scope guard is `http/scope.rs`; keeping
//! credentials out of output is `http/redact.rs`.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use url::Url;

mod auth;
mod redact;
mod scope;
pub use auth::base64;
use auth::DigestChallenge;
pub use redact::dump;
pub use scope::{is_write, Scope};

/// `scheme://host:port/` of a URL.
fn origin_of(u: &Url) -> Url {
    let mut o = u.clone();
    o.set_path("/");
    o.set_query(None);
    o.set_fragment(None);
    let _ = o.set_username("");
    let _ = o.set_password(None);
    o
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthKind {
    /// Answer whatever challenge the server sends (Basic or Digest).
    Auto,
    Basic,
    Digest,
    Bearer,
    None,
}

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

pub struct ClientConfig {
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub auth: AuthKind,
    pub insecure: bool,
    pub ca_cert: Option<std::path::PathBuf>,
    pub timeout: Duration,
    pub max_body: u64,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn new(method: &str, url: Url) -> Self {
        Request {
            method: method.to_string(),
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    /// Set an XML body with the right Content-Type (some servers answer 415 without it).
    pub fn xml(mut self, body: &str) -> Self {
        self.headers.push((
            "Content-Type".into(),
            "application/xml; charset=utf-8".into(),
        ));
        self.body = Some(body.as_bytes().to_vec());
        self
    }

    pub fn get_header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub elapsed: Duration,
}

impl Response {
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header_all(&self, k: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> Result<&str, String> {
        std::str::from_utf8(&self.body).map_err(|e| {
            format!(
                "response body is not valid UTF-8 (at byte {})",
                e.valid_up_to()
            )
        })
    }
}

/// Same scheme, host and port (RFC 6454 origin).
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Failure of one HTTP exchange, classified by what went wrong (from reqwest's error kinds and
/// the error chain, never from message text), and phrased for a user by `Display`.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// No answer within --timeout.
    #[error("{method} {url} timed out after {after:?} (--timeout)")]
    Timeout {
        method: String,
        url: String,
        after: std::time::Duration,
    },
    /// The TLS handshake failed (an untrusted or invalid certificate).
    #[error("request to {url} failed: {detail} (TLS certificate not trusted: pass --ca-cert FILE or --insecure)")]
    Tls { url: String, detail: String },
    /// No connection could be made.
    #[error("request to {url} failed: {detail} (is the server running and the URL right?)")]
    Connect { url: String, detail: String },
    /// The connection broke during the exchange; `stale` when it was a pooled connection the
    /// server had already closed (worth one retry on a new connection).
    #[error("request to {url} failed: {detail}")]
    Transport {
        url: String,
        detail: String,
        stale: bool,
    },
    /// The response body is larger than --max-body.
    #[error("response body{} exceeds the {cap} byte cap (--max-body)", .len.map(|l| format!(" of {l} bytes")).unwrap_or_default())]
    TooLarge { len: Option<u64>, cap: u64 },
    /// The request itself cannot be sent as written (method, header or credentials).
    #[error("{0}")]
    Invalid(String),
    /// The run is being interrupted: nothing more is sent.
    #[error("interrupted: no further requests are sent (Ctrl-C or SIGTERM)")]
    Interrupted,
}

impl HttpError {
    /// The server could not be reached at all (connection or TLS): no use trying elsewhere.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, HttpError::Connect { .. } | HttpError::Tls { .. })
    }
}

pub struct Client {
    inner: reqwest::Client,
    cfg: ClientConfig,
    /// Learnt from the first challenge in `auto` mode: true = digest, false = basic.
    learnt: Mutex<Option<bool>>,
    digest: Mutex<Option<DigestChallenge>>,
    /// Credentials go to this origin only: the one given to `bind_credentials`, or else the
    /// origin of the first request sent (discovery's, i.e. `--url`).
    cred_origin: OnceLock<Url>,
    /// Set by `stop`: `send` refuses new requests (only `send_cleanup` goes through).
    stopping: AtomicBool,
    /// Requests between sending and their outcome, for `drain`.
    in_flight: AtomicUsize,
    /// Set by `forbid_writes` (`--read-only`): every writing request is refused before it is
    /// sent, whatever sends it (scenarios, discovery, cleanup, the Ctrl-C handler).
    read_only: AtomicBool,
    /// Collections this client sent MKCALENDAR or MKCOL for and has not yet seen deleted:
    /// what an interrupted run must delete, whatever the scenario bookkeeping says.
    /// Collections created and not yet deleted, with the scenarios' reserved ones.
    registry: Arc<crate::scratch::Registry>,
}

/// Counts a request in flight until dropped (also when its future is cancelled).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client, String> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(8)
            .user_agent(concat!("caldav-conformance/", env!("CARGO_PKG_VERSION")));
        if cfg.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(ca) = &cfg.ca_cert {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("cannot read --ca-cert {}: {e}", ca.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("--ca-cert {} is not a PEM certificate: {e}", ca.display()))?;
            b = b.add_root_certificate(cert);
        }
        let inner = b
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            inner,
            cfg,
            learnt: Mutex::new(None),
            digest: Mutex::new(None),
            cred_origin: OnceLock::new(),
            stopping: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            read_only: AtomicBool::new(false),
            registry: Arc::default(),
        })
    }

    /// Send credentials to this URL's origin only (the first request's origin by default).
    /// Returns false when the binding was already made (to the origin it then holds).
    pub fn bind_credentials(&self, to: &Url) -> bool {
        self.cred_origin.set(origin_of(to)).is_ok()
    }

    /// True when credentials may be sent to `u`.
    fn credentials_allowed(&self, u: &Url) -> bool {
        same_origin(self.cred_origin.get_or_init(|| origin_of(u)), u)
    }

    /// Refuse every further request made with `send` (an interrupted run); requests already
    /// on their way finish (see `drain`), and `send_cleanup` still goes through.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Refuse every writing request from now on (`--read-only`): PUT, DELETE, MKCALENDAR,
    /// MKCOL, PROPPATCH, MOVE, COPY, POST, LOCK, UNLOCK, ACL, and any request whose
    /// method-override header names one of them.
    pub fn forbid_writes(&self) {
        self.read_only.store(true, Ordering::SeqCst);
    }

    /// True once `forbid_writes` was called.
    pub fn writes_forbidden(&self) -> bool {
        self.read_only.load(Ordering::SeqCst)
    }

    /// Wait until no request is in flight, at most `max`; true when none is.
    pub async fn drain(&self, max: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + max;
        while self.in_flight.load(Ordering::SeqCst) > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Requests in flight right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Collections this client sent MKCALENDAR/MKCOL for and has not seen deleted since
    /// (including ones whose creation failed without a definite answer, e.g. a timeout).
    pub fn created_collections(&self) -> Vec<Url> {
        self.registry.created()
    }

    /// The registry of collections that may exist: this client's creations, and the scratch
    /// calendars the runner reserves there.
    pub fn registry(&self) -> &Arc<crate::scratch::Registry> {
        &self.registry
    }

    pub fn timeout(&self) -> Duration {
        self.cfg.timeout
    }

    fn has_credentials(&self) -> bool {
        self.cfg.user.is_some() && self.cfg.password.is_some()
            || self.cfg.auth == AuthKind::Bearer && self.cfg.password.is_some()
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The Authorization header to send preemptively, if the scheme is known.
    fn authorization(&self, req: &Request) -> Option<String> {
        let pass = self.cfg.password.as_ref()?;
        if !self.credentials_allowed(&req.url) {
            return None;
        }
        let mode = match self.cfg.auth {
            AuthKind::None => return None,
            AuthKind::Bearer => return Some(format!("Bearer {}", pass.expose())),
            AuthKind::Basic => false,
            AuthKind::Digest => true,
            AuthKind::Auto => (*Self::lock(&self.learnt))?,
        };
        let user = self.cfg.user.as_deref()?;
        if !mode {
            return Some(auth::basic(user, pass.expose()));
        }
        let mut g = Self::lock(&self.digest);
        Some(
            g.as_mut()?
                .respond(user, pass.expose(), &req.method, &request_uri(&req.url)),
        )
    }

    /// Send a request; answer one authentication challenge; cap and time-limit the body.
    /// Refused once `stop` has been called.
    pub async fn send(&self, req: &Request) -> Result<Response, HttpError> {
        // Count first, then look at the flag: `stop` sets the flag, then `drain` waits for the
        // count, so no request can slip past both (both sides are SeqCst).
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(&self.in_flight);
        if self.stopping.load(Ordering::SeqCst) {
            return Err(HttpError::Interrupted);
        }
        let r = self.send_tracked(req).await;
        drop(guard);
        r
    }

    /// As `send`, but also after `stop`: for the deletions of an interrupted run.
    pub async fn send_cleanup(&self, req: &Request) -> Result<Response, HttpError> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let _guard = InFlight(&self.in_flight);
        self.send_tracked(req).await
    }

    /// Keep the registry of created collections around one exchange.
    async fn send_tracked(&self, req: &Request) -> Result<Response, HttpError> {
        if self.writes_forbidden() && is_write(req) {
            return Err(HttpError::Invalid(format!(
                "--read-only: refused to send {} {} (a writing request)",
                req.method,
                req.url.path()
            )));
        }
        let method = req.method.to_ascii_uppercase();
        let creates = method == "MKCALENDAR" || method == "MKCOL";
        if creates {
            self.registry.creating(&req.url);
        }
        let r = self.send_authenticated(req).await;
        if let Ok(resp) = &r {
            let gone = (method == "DELETE" && (resp.is_success() || resp.status == 404))
                || (creates && (400..500).contains(&resp.status));
            if gone {
                self.registry.gone(&req.url);
            }
        }
        r
    }

    async fn send_authenticated(&self, req: &Request) -> Result<Response, HttpError> {
        let first = self.send_once(req, self.authorization(req)).await?;
        if first.status != 401 || !self.has_credentials() || !self.credentials_allowed(&req.url) {
            return Ok(first);
        }
        let challenges = first.header_all("WWW-Authenticate");
        // The first Digest challenge this client can answer (any algorithm of RFC 7616).
        let digest = DigestChallenge::pick(&challenges);
        let basic = challenges
            .iter()
            .flat_map(|h| auth::challenges(h))
            .any(|c| c.scheme == "basic");
        let use_digest = match self.cfg.auth {
            AuthKind::Digest => true,
            AuthKind::Basic | AuthKind::Bearer | AuthKind::None => return Ok(first),
            AuthKind::Auto => {
                if digest.is_some() {
                    true
                } else if basic {
                    false
                } else {
                    return Ok(first);
                }
            }
        };
        if use_digest {
            let Some(c) = digest else {
                return Ok(first);
            };
            *Self::lock(&self.digest) = Some(c);
        }
        let already = *Self::lock(&self.learnt);
        if self.cfg.auth == AuthKind::Auto {
            *Self::lock(&self.learnt) = Some(use_digest);
        }
        // A Basic 401 with Basic already sent means wrong credentials: do not retry.
        if !use_digest && already == Some(false) {
            return Ok(first);
        }
        self.send_once(req, self.authorization(req)).await
    }

    /// One exchange; a request that meets a pooled connection the server had already closed
    /// ("connection closed before message completed", or reset) is sent once more on a new
    /// connection; a server that keeps failing that way still gets a clean error.
    async fn send_once(&self, req: &Request, auth: Option<String>) -> Result<Response, HttpError> {
        match self.exchange(req, auth.clone()).await {
            Err(HttpError::Transport { stale: true, .. }) => self.exchange(req, auth).await,
            r => r,
        }
    }

    async fn exchange(&self, req: &Request, auth: Option<String>) -> Result<Response, HttpError> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| HttpError::Invalid(format!("invalid method {:?}", req.method)))?;
        let mut rb = self
            .inner
            .request(method, req.url.clone())
            .headers(header_map(req, auth)?);
        if let Some(b) = &req.body {
            rb = rb.body(b.clone());
        }
        let started = std::time::Instant::now();
        let timed_out = || HttpError::Timeout {
            method: req.method.clone(),
            url: req.url.to_string(),
            after: self.cfg.timeout,
        };
        // reqwest's own timeout (the same duration) may fire first: one message for both.
        let fail = |e: reqwest::Error| {
            if e.is_timeout() {
                timed_out()
            } else {
                describe(&e, &req.url)
            }
        };
        let fut = async {
            let mut resp = rb.send().await.map_err(fail)?;
            let status = resp.status().as_u16();
            let headers: Vec<(String, String)> = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            if let Some(len) = resp.content_length() {
                if len > self.cfg.max_body {
                    return Err(HttpError::TooLarge {
                        len: Some(len),
                        cap: self.cfg.max_body,
                    });
                }
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(fail)? {
                if body.len() as u64 + chunk.len() as u64 > self.cfg.max_body {
                    return Err(HttpError::TooLarge {
                        len: None,
                        cap: self.cfg.max_body,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Response {
                status,
                headers,
                body,
                elapsed: started.elapsed(),
            })
        };
        match tokio::time::timeout(self.cfg.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(timed_out()),
        }
    }
}

/// The request's headers, and the Authorization header (marked sensitive) when there is one.
fn header_map(req: &Request, auth: Option<String>) -> Result<HeaderMap, HttpError> {
    let mut headers = HeaderMap::new();
    for (k, v) in &req.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| HttpError::Invalid(format!("invalid header name {k:?}")))?;
        let val = HeaderValue::from_str(v)
            .map_err(|_| HttpError::Invalid(format!("invalid value for header {k}")))?;
        headers.append(name, val);
    }
    if let Some(a) = auth {
        let mut v = HeaderValue::from_str(&a).map_err(|_| {
            HttpError::Invalid("credentials hold characters not allowed in a header".into())
        })?;
        v.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    Ok(headers)
}

/// True when an io::Error holds (possibly through further io::Errors, as hyper-rustls nests
/// them) a rustls error: the TLS handshake failed.
fn wraps_rustls(io: &std::io::Error) -> bool {
    let mut inner = io.get_ref();
    for _ in 0..8 {
        let Some(i) = inner else { return false };
        if i.is::<rustls::Error>() {
            return true;
        }
        inner = i.downcast_ref::<std::io::Error>().and_then(|j| j.get_ref());
    }
    false
}

/// Classify a reqwest error by its kind and by the errors in its chain (hyper's, std::io's
/// and rustls'), and keep the whole chain as the detail shown to the user.
fn describe(e: &reqwest::Error, url: &Url) -> HttpError {
    let mut detail = e.to_string();
    let (mut tls, mut stale) = (false, false);
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let _ = write!(detail, ": {s}");
        stale |= s
            .downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_incomplete_message() || h.is_closed());
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            tls |= wraps_rustls(io);
            stale |= matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            );
        }
        src = s.source();
    }
    let url = url.to_string();
    if tls {
        HttpError::Tls { url, detail }
    } else if e.is_connect() {
        HttpError::Connect { url, detail }
    } else {
        HttpError::Transport { url, detail, stale }
    }
}

fn request_uri(u: &Url) -> String {
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn client(user: &str, pass: &str) -> Client {
        Client::new(ClientConfig {
            user: Some(user.into()),
            password: Some(Secret::new(pass.into())),
            auth: AuthKind::Basic,
            insecure: false,
            ca_cert: None,
            timeout: Duration::from_secs(1),
            max_body: 1024,
        })
        .unwrap()
    }

    #[test]
    fn credentials_go_to_the_bound_origin_only() {
        let c = client("u", "secret");
        let home = Url::parse("http://h:1/dav/").unwrap();
        assert!(c.bind_credentials(&home));
        let here = Request::new("GET", Url::parse("http://h:1/x").unwrap());
        assert!(c.authorization(&here).is_some());
        for other in ["http://evil:1/x", "https://h:1/x", "http://h:2/x"] {
            let r = Request::new("GET", Url::parse(other).unwrap());
            assert!(c.authorization(&r).is_none(), "{other}");
        }
        // Unbound: the first request's origin is the one.
        let c = client("u", "secret");
        assert!(c.authorization(&here).is_some());
        let r = Request::new("GET", Url::parse("http://evil:1/x").unwrap());
        assert!(c.authorization(&r).is_none());
    }

    #[tokio::test]
    async fn a_stopped_client_sends_nothing_but_cleanup() {
        let c = client("u", "secret");
        c.stop();
        // Port 9 (discard) on 127.0.0.1: nothing listens; the refusal comes before any I/O.
        let r = Request::new("GET", Url::parse("http://127.0.0.1:9/").unwrap());
        let e = c.send(&r).await.unwrap_err();
        assert!(matches!(e, HttpError::Interrupted), "{e}");
        assert_eq!(c.in_flight(), 0);
        assert!(c
            .send_cleanup(&r)
            .await
            .is_err_and(|e| !matches!(e, HttpError::Interrupted)));
        assert!(c.drain(Duration::from_millis(10)).await);
    }

    #[tokio::test]
    async fn a_read_only_client_refuses_every_write_before_sending() {
        let c = client("u", "secret");
        c.forbid_writes();
        // Nothing listens on port 9: a refusal that names --read-only came before any I/O.
        let u = Url::parse("http://127.0.0.1:9/home/cal/").unwrap();
        // Every method the scope guard treats as a write, and one in lower case.
        for m in scope::WRITE_METHODS.iter().copied().chain(["delete"]) {
            for e in [
                c.send(&Request::new(m, u.clone())).await.unwrap_err(),
                c.send_cleanup(&Request::new(m, u.clone()))
                    .await
                    .unwrap_err(),
            ] {
                assert!(e.to_string().contains("--read-only: refused"), "{m}: {e}");
            }
        }
        let sneaky = Request::new("GET", u.clone()).header("X-HTTP-Method-Override", "PUT");
        let e = c.send(&sneaky).await.unwrap_err();
        assert!(e.to_string().contains("--read-only: refused"), "{e}");
        // Reads still go out (and fail here only because nothing listens).
        for m in ["GET", "PROPFIND", "REPORT", "OPTIONS", "HEAD"] {
            let e = c.send(&Request::new(m, u.clone())).await.unwrap_err();
            assert!(!e.to_string().contains("--read-only"), "{m}: {e}");
        }
        assert!(c.created_collections().is_empty());
    }

    #[tokio::test]
    async fn created_collections_are_remembered_until_deleted() {
        let c = client("u", "secret");
        // Nothing listens: MKCALENDAR fails without an answer, so it may have happened.
        let u = Url::parse("http://127.0.0.1:9/home/ccf-0a1b2c3d-1").unwrap();
        let _ = c.send(&Request::new("MKCALENDAR", u)).await;
        assert_eq!(
            c.created_collections(),
            [Url::parse("http://127.0.0.1:9/home/ccf-0a1b2c3d-1/").unwrap()]
        );
    }

    /// A server whose first choice is SHA-256 (RFC 7616 §3.7: one challenge per algorithm, in
    /// order of preference) authenticates the client; the server checks the response itself.
    #[tokio::test]
    async fn a_sha256_digest_server_is_authenticated() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..2 {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = sock.read(&mut chunk).await.unwrap();
                    assert!(n > 0);
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8(buf).unwrap();
                let authz = head
                    .lines()
                    .find_map(|l| l.strip_prefix("authorization: "))
                    .map(str::to_string);
                let ok = authz.as_deref().is_some_and(|a| {
                    let p = &auth::challenges(a)[0];
                    let get = |k: &str| {
                        p.params
                            .iter()
                            .find(|(n, _)| n == k)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    let h = |x: String| {
                        use sha2::Digest as _;
                        format!("{:x}", sha2::Sha256::digest(x.as_bytes()))
                    };
                    let ha1 = h("u:r@h:secret".into());
                    let ha2 = h(format!("GET:{}", get("uri")));
                    let want = h(format!(
                        "{ha1}:n1:{}:{}:auth:{ha2}",
                        get("nc"),
                        get("cnonce")
                    ));
                    get("algorithm") == "SHA-256" && get("uri") == "/x" && get("response") == want
                });
                seen.push(authz.is_some());
                let reply = if ok {
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
                } else {
                    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"r@h\", qop=\"auth\", algorithm=SHA-256, nonce=\"n1\"\r\nWWW-Authenticate: Digest realm=\"r@h\", qop=\"auth\", algorithm=MD5, nonce=\"n1\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
                };
                sock.write_all(reply.as_bytes()).await.unwrap();
            }
            seen
        });
        let c = Client::new(ClientConfig {
            user: Some("u".into()),
            password: Some(Secret::new("secret".into())),
            auth: AuthKind::Auto,
            insecure: false,
            ca_cert: None,
            timeout: Duration::from_secs(5),
            max_body: 1024,
        })
        .unwrap();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
        let r = c.send(&Request::new("GET", url)).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(server.await.unwrap(), [false, true]);
    }
}
