//! A minimal HTTP/1.1 forwarding proxy for the mutation test: one request per connection
//! (every response carries `Connection: close`), request bodies by Content-Length only,
//! forwarded to the upstream server with reqwest, with a [`Mutant`] applied to the request
//! and/or the response on the way.

use super::mutants::{Mutant, State};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A request as the proxy saw it (target is origin-form: path and query).
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A response on its way back to the client.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn remove_header(h: &mut Vec<(String, String)>, name: &str) -> bool {
    let n = h.len();
    h.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    h.len() != n
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    pub fn remove_header(&mut self, name: &str) -> bool {
        remove_header(&mut self.headers, name)
    }
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_string(), value.to_string()));
    }
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    pub fn remove_header(&mut self, name: &str) -> bool {
        remove_header(&mut self.headers, name)
    }
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_string(), value.to_string()));
    }
    pub fn is_xml(&self) -> bool {
        self.header("Content-Type")
            .is_some_and(|c| c.to_ascii_lowercase().contains("xml"))
            && !self.body.is_empty()
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and framing, which the proxy sets itself.
const HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

pub struct Proxy {
    pub port: u16,
    /// How many exchanges each mutation changed.
    fired: Arc<Vec<AtomicUsize>>,
    /// Per mutation: the scratch collection numbers (`ccf-RUNID-N`) of the exchanges it changed.
    hits: Arc<Vec<Mutex<BTreeSet<usize>>>>,
    /// How many exchanges went through.
    pub exchanges: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Start a proxy applying `mutants` in order (none: the identity proxy).
    pub async fn start(upstream: url::Url, mutants: Vec<Mutant>) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .http1_only()
            .pool_max_idle_per_host(0)
            .build()
            .map_err(std::io::Error::other)?;
        let fired = Arc::new(
            mutants
                .iter()
                .map(|_| AtomicUsize::new(0))
                .collect::<Vec<_>>(),
        );
        let exchanges = Arc::new(AtomicUsize::new(0));
        let hits = Arc::new(mutants.iter().map(|_| Mutex::default()).collect::<Vec<_>>());
        let ctx = Arc::new(Ctx {
            hits: Arc::clone(&hits),
            upstream,
            client,
            mutants,
            state: State::default(),
            fired: Arc::clone(&fired),
            exchanges: Arc::clone(&exchanges),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let ctx = Arc::clone(&ctx);
                tokio::spawn(async move {
                    if let Err(e) = serve(sock, &ctx).await {
                        eprintln!("mutation proxy: {e}");
                    }
                });
            }
        });
        Ok(Proxy {
            port,
            fired,
            hits,
            exchanges,
            task,
        })
    }

    /// How many exchanges the i-th mutation changed.
    pub fn fired(&self, i: usize) -> usize {
        self.fired.get(i).map_or(0, |f| f.load(Ordering::SeqCst))
    }

    /// The scratch collection numbers N (`ccf-RUNID-N`, the scenario's 1-based position in
    /// the run) of the exchanges the i-th mutation changed.
    pub fn scratch_hits(&self, i: usize) -> Vec<usize> {
        self.hits
            .get(i)
            .and_then(|h| h.lock().ok().map(|h| h.iter().copied().collect()))
            .unwrap_or_default()
    }

    pub fn exchanges(&self) -> usize {
        self.exchanges.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Ctx {
    upstream: url::Url,
    client: reqwest::Client,
    mutants: Vec<Mutant>,
    state: State,
    fired: Arc<Vec<AtomicUsize>>,
    hits: Arc<Vec<Mutex<BTreeSet<usize>>>>,
    exchanges: Arc<AtomicUsize>,
}

/// N of the first `ccf-XXXXXXXX-N` (or `-Nb`) path segment: the scratch collection of scenario N.
fn scratch_number(target: &str) -> Option<usize> {
    target.split(['/', '?']).find_map(|seg| {
        let rest = seg.strip_prefix("ccf-")?;
        let (run, n) = rest.split_once('-')?;
        if run.len() != 8 || !run.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        n.strip_suffix('b').unwrap_or(n).parse().ok()
    })
}

/// What forwarding needs of the proxy: the mutations may send extra upstream requests.
pub struct Upstream<'a> {
    base: &'a url::Url,
    client: &'a reqwest::Client,
}

impl Upstream<'_> {
    pub async fn send(&self, req: &Req) -> Result<Resp, String> {
        let target = if req.target.starts_with('/') {
            req.target.clone()
        } else {
            // absolute-form: keep path and query
            url::Url::parse(&req.target)
                .map(|u| match u.query() {
                    Some(q) => format!("{}?{q}", u.path()),
                    None => u.path().to_string(),
                })
                .map_err(|e| format!("bad request target {:?}: {e}", req.target))?
        };
        let url = self
            .base
            .join(&target)
            .map_err(|e| format!("bad request target {target:?}: {e}"))?;
        let method =
            reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut b = self.client.request(method, url);
        for (k, v) in &req.headers {
            if HOP.contains(&k.to_ascii_lowercase().as_str()) {
                continue;
            }
            b = b.header(k.as_str(), v.as_str());
        }
        let r = b
            .body(req.body.clone())
            .send()
            .await
            .map_err(|e| format!("upstream {} {}: {e}", req.method, req.target))?;
        let status = r.status().as_u16();
        let mut headers = Vec::new();
        for (k, v) in r.headers() {
            headers.push((
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            ));
        }
        let body = r
            .bytes()
            .await
            .map_err(|e| format!("upstream body: {e}"))?
            .to_vec();
        Ok(Resp {
            status,
            headers,
            body,
        })
    }
}

async fn serve(sock: TcpStream, ctx: &Ctx) -> Result<(), String> {
    let _ = sock.set_nodelay(true);
    let (rd, mut wr) = sock.into_split();
    let mut rd = BufReader::new(rd);
    let Some(mut req) = read_request(&mut rd).await? else {
        return Ok(());
    };
    ctx.exchanges.fetch_add(1, Ordering::SeqCst);
    let up = Upstream {
        base: &ctx.upstream,
        client: &ctx.client,
    };
    let original = req.clone();
    let mut changed = vec![false; ctx.mutants.len()];
    let mut short = None;
    for (i, m) in ctx.mutants.iter().enumerate() {
        short = m.request(&mut req, &ctx.state, &up, &mut changed[i]).await;
        if short.is_some() {
            break;
        }
    }
    let mut resp = match short {
        Some(r) => r,
        None => match up.send(&req).await {
            Ok(r) => r,
            Err(e) => super::mutants::bad_gateway(e),
        },
    };
    for (i, m) in ctx.mutants.iter().enumerate() {
        m.response(&original, &mut resp, &ctx.state, &mut changed[i]);
    }
    let scratch = scratch_number(&original.target);
    for (i, c) in changed.iter().enumerate() {
        if *c {
            ctx.fired[i].fetch_add(1, Ordering::SeqCst);
            if let (Some(n), Ok(mut h)) = (scratch, ctx.hits[i].lock()) {
                h.insert(n);
            }
        }
    }
    write_response(&mut wr, &req.method, &resp)
        .await
        .map_err(|e| format!("writing the response: {e}"))
}

async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    rd: &mut R,
) -> Result<Option<Req>, String> {
    let mut line = String::new();
    let mut head = Vec::new();
    let mut total = 0usize;
    loop {
        line.clear();
        let n = rd
            .read_line(&mut line)
            .await
            .map_err(|e| format!("reading the request head: {e}"))?;
        if n == 0 {
            if head.is_empty() {
                return Ok(None);
            }
            return Err("connection closed inside the request head".into());
        }
        total += n;
        if total > 256 * 1024 {
            return Err("request head larger than 256 KiB".into());
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            if head.is_empty() {
                continue; // tolerate a stray CRLF before the request line (RFC 9112 §2.2)
            }
            break;
        }
        head.push(l.to_string());
    }
    let mut parts = head[0].split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(format!("bad request line {:?}", head[0]));
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for l in &head[1..] {
        if l.starts_with([' ', '\t']) {
            // obsolete line folding: continue the previous field value
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(l.trim());
            }
            continue;
        }
        let Some((k, v)) = l.split_once(':') else {
            return Err(format!("bad header line {l:?}"));
        };
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    if header(&headers, "Transfer-Encoding").is_some() {
        return Err("chunked request bodies are not supported by the mutation proxy".into());
    }
    let len: usize = match header(&headers, "Content-Length") {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("bad Content-Length {v:?}"))?,
        None => 0,
    };
    let mut body = vec![0u8; len];
    rd.read_exact(&mut body)
        .await
        .map_err(|e| format!("reading the request body: {e}"))?;
    Ok(Some(Req {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body,
    }))
}

async fn write_response<W: tokio::io::AsyncWrite + Unpin>(
    wr: &mut W,
    method: &str,
    resp: &Resp,
) -> std::io::Result<()> {
    let reason = reqwest::StatusCode::from_u16(resp.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", resp.status);
    let mut upstream_len = None;
    for (k, v) in &resp.headers {
        let lk = k.to_ascii_lowercase();
        if lk == "content-length" {
            upstream_len = Some(v.clone());
        }
        if HOP.contains(&lk.as_str()) {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let no_body = resp.status < 200 || resp.status == 204 || resp.status == 304;
    let head_req = method.eq_ignore_ascii_case("HEAD");
    if head_req {
        if let Some(l) = upstream_len {
            head.push_str(&format!("Content-Length: {l}\r\n"));
        }
    } else if !no_body {
        head.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut out = head.into_bytes();
    if !head_req && !no_body {
        out.extend_from_slice(&resp.body);
    }
    wr.write_all(&out).await?;
    wr.flush().await?;
    wr.shutdown().await
}
