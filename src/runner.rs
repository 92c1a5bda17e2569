//! Running scenarios: one scenario is one libtest trial. Each runs in its own scratch calendar
//! (created first, deleted afterwards, also after a failure or a panic), executes its steps,
//! evaluates expectations, captures values and checks their transitions.

use crate::discovery::Discovered;
use crate::http::{self, Client, Request, Response, Scope};
use crate::matching::{self, Ctx, Diff};
use crate::scenario::{Capture, Level, Loaded, ScratchMode, Step, Transition};
use crate::template;
use crate::xml::{self, Multistatus, QName};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use url::Url;

/// The outcome of one scenario, as recorded for reports and baselines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    /// Not run: a required feature is not advertised.
    Ignored(String),
    /// A SHOULD/MAY-level requirement not met (fails only with --strict).
    Warn(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Ignored(_) => "ignored",
            Outcome::Warn(_) => "warn",
        }
    }
}

/// Everything the trials share.
pub struct Run {
    pub client: Arc<Client>,
    pub disc: Discovered,
    pub runid: String,
    pub fixtures: PathBuf,
    pub strict: bool,
    /// Only scenarios marked `read_only` run; nothing is written.
    pub read_only: bool,
    pub user: String,
    /// Scratch collections that may exist right now (for cleanup on Ctrl-C).
    pub live: Arc<Mutex<BTreeSet<Url>>>,
    pub outcomes: Mutex<BTreeMap<String, (Outcome, std::time::Duration)>>,
    pub scenario_timeout: std::time::Duration,
}

/// Name of the scratch calendar of scenario `index`: recognisable prefix, run id, index.
pub fn scratch_name(runid: &str, index: usize, suffix: &str) -> String {
    format!("ccf-{runid}-{index}{suffix}")
}

struct StepError {
    summary: String,
    diffs: Vec<Diff>,
    unified: Option<String>,
    exchange: String,
    /// The response matched the step's `inconclusive` condition: its reason.
    inconclusive: Option<String>,
}

impl Run {
    fn record(&self, name: &str, o: Outcome, took: std::time::Duration) {
        self.outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), (o, took));
    }

    /// Run one scenario to its outcome and record it.
    pub async fn run(self: &Arc<Self>, sc: &Loaded, index: usize) -> Outcome {
        let started = std::time::Instant::now();
        let o = self.run_inner(sc, index).await;
        self.record(&sc.trial_name(), o.clone(), started.elapsed());
        o
    }

    async fn run_inner(self: &Arc<Self>, sc: &Loaded, index: usize) -> Outcome {
        let s = &sc.scenario;
        if self.read_only && !s.read_only {
            return Outcome::Ignored("--read-only: this scenario writes".into());
        }
        let missing: Vec<&String> = s
            .required_features()
            .filter(|r| !self.disc.features.contains(*r))
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Outcome::Ignored(format!("server does not advertise {}", names.join(", ")));
        }
        let uses_mk = s.scratch.calendar == ScratchMode::Mkcalendar
            || s.scratch.calendar2 == ScratchMode::Mkcalendar;
        if uses_mk && !self.disc.features.contains("create-calendar") {
            return Outcome::Ignored(
                "server cannot create scratch calendars (MKCALENDAR probe failed)".into(),
            );
        }
        let home = &self.disc.home;
        let cal = match home.join(&format!("{}/", scratch_name(&self.runid, index, ""))) {
            Ok(u) => u,
            Err(e) => return Outcome::Fail(format!("cannot form the scratch URL: {e}")),
        };
        let cal2 = match home.join(&format!("{}/", scratch_name(&self.runid, index, "b"))) {
            Ok(u) => u,
            Err(e) => return Outcome::Fail(format!("cannot form the scratch URL: {e}")),
        };
        let mut vars = BTreeMap::new();
        vars.insert("calendar".to_string(), cal.path().to_string());
        vars.insert("calendar2".to_string(), cal2.path().to_string());
        vars.insert("home".to_string(), home.path().to_string());
        vars.insert(
            "principal".to_string(),
            self.disc
                .principal
                .as_ref()
                .map(|p| p.path().to_string())
                .unwrap_or_default(),
        );
        vars.insert(
            "uid".to_string(),
            format!("{}-uid", scratch_name(&self.runid, index, "")),
        );
        vars.insert("user".to_string(), self.user.clone());
        vars.insert(
            "origin".to_string(),
            self.disc.origin.as_str().trim_end_matches('/').to_string(),
        );
        vars.insert("runid".to_string(), self.runid.clone());
        let mut scratch: Vec<Url> = Vec::new();
        for (mode, u) in [(s.scratch.calendar, &cal), (s.scratch.calendar2, &cal2)] {
            if mode != ScratchMode::None {
                scratch.push(u.clone());
            }
        }
        let scope = Scope::new(&scratch.iter().collect::<Vec<_>>());
        {
            let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            live.extend(scratch.iter().cloned());
        }
        // The body runs as its own task so that a panic still reaches the cleanup below.
        let me = Arc::clone(self);
        let sc2 = sc.clone();
        let scope2 = scope.clone();
        let (c1, c2) = (cal.clone(), cal2.clone());
        let mut body = tokio::spawn(async move { me.body(&sc2, vars, scope2, c1, c2).await });
        let result = match tokio::time::timeout(self.scenario_timeout, &mut body).await {
            Ok(Ok(r)) => r,
            Ok(Err(join)) => Err(format!("the scenario panicked: {join}")),
            Err(_) => {
                // Stop the body before the cleanup: nothing may be sent after the DELETE.
                body.abort();
                let _ = body.await;
                Err(format!(
                    "the scenario did not finish within {:?} (per-scenario timeout)",
                    self.scenario_timeout
                ))
            }
        };
        let cleanup = self.cleanup(&scratch, &scope).await;
        {
            let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            for u in &scratch {
                live.remove(u);
            }
        }
        let result = match (result, cleanup) {
            (Ok(None), Ok(())) => return Outcome::Pass,
            (Ok(Some(why)), Ok(())) => return Outcome::Ignored(why),
            (Ok(_), Err(c)) => c,
            (Err(e), Ok(())) => e,
            (Err(e), Err(c)) => format!("{e}\n{c}"),
        };
        let mut msg = format!(
            "{} [{}]: {}\n  requirement: {}\n",
            s.spec.join(", "),
            s.level,
            s.desc,
            s.requirement.trim()
        );
        msg.push_str(&result);
        let msg = self.client.redact(&msg);
        if s.level != Level::Must && !self.strict {
            Outcome::Warn(msg)
        } else {
            Outcome::Fail(msg)
        }
    }

    async fn cleanup(&self, scratch: &[Url], scope: &Scope) -> Result<(), String> {
        let mut errs = String::new();
        for u in scratch {
            let req = Request::new("DELETE", u.clone());
            if let Err(e) = scope.check(&self.disc.origin, &req) {
                let _ = writeln!(errs, "cleanup: {e}");
                continue;
            }
            let mut sent = self.client.send(&req).await;
            if matches!(&sent, Ok(r) if r.status >= 500) {
                // Cyrus answers 500 to a second DELETE of the same name within one second
                // (delayed-delete names have one-second resolution): retry once, later.
                tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
                sent = self.client.send(&req).await;
            }
            match sent {
                Ok(r) if (200..300).contains(&r.status) || r.status == 404 => {}
                Ok(r) => {
                    let _ = writeln!(errs, "cleanup: DELETE {u} answered {}: the scratch collection may be left behind", r.status);
                }
                Err(e) => {
                    let _ = writeln!(errs, "cleanup: DELETE {u} failed: {e}");
                }
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    async fn body(
        &self,
        sc: &Loaded,
        mut vars: BTreeMap<String, String>,
        scope: Scope,
        cal: Url,
        cal2: Url,
    ) -> Result<Option<String>, String> {
        let s = &sc.scenario;
        for (mode, u) in [(s.scratch.calendar, &cal), (s.scratch.calendar2, &cal2)] {
            if mode == ScratchMode::Mkcalendar {
                let req = Request::new("MKCALENDAR", u.clone());
                scope.check(&self.disc.origin, &req)?;
                let r = self
                    .client
                    .send(&req)
                    .await
                    .map_err(|e| format!("creating the scratch calendar: {e}"))?;
                if r.status != 201 {
                    return Err(format!(
                        "creating the scratch calendar: MKCALENDAR {u} answered {} (expected 201)\n{}",
                        r.status,
                        http::dump(&self.client, &req, Some(&r), 2000)
                    ));
                }
            }
        }
        if let Some(g) = &s.generative {
            let prefix = format!("{}-oracle", scratch_name(&self.runid, 0, ""));
            let summary = crate::oracle::run_on(
                &self.client,
                &self.disc.origin,
                &cal,
                &scope,
                g.seed,
                &prefix,
                g.base,
            )
            .await?;
            eprintln!("{}: {summary}", sc.trial_name());
            return Ok(None);
        }
        let mut captured: BTreeMap<String, Option<String>> = BTreeMap::new();
        let phases = [
            ("setup", &s.setup),
            ("step", &s.steps),
            ("teardown", &s.teardown),
        ];
        let mut first_err: Option<String> = None;
        let mut inconclusive: Option<String> = None;
        for (phase, steps) in phases {
            if (first_err.is_some() || inconclusive.is_some()) && phase != "teardown" {
                continue;
            }
            for (i, st) in steps.iter().enumerate() {
                let line = st.referenced.line();
                if let Err(e) = self
                    .step(&st.value, &mut vars, &mut captured, &scope, &cal)
                    .await
                {
                    let label = format!(
                        "{phase} {} ({} {}{}) at {}:{line}",
                        i + 1,
                        st.value.method,
                        if st.value.path.is_empty() {
                            "{calendar}"
                        } else {
                            st.value.path.as_str()
                        },
                        st.value
                            .desc
                            .as_ref()
                            .map(|d| format!(": {d}"))
                            .unwrap_or_default(),
                        sc.file.display()
                    );
                    match &e.inconclusive {
                        Some(why) if first_err.is_none() && inconclusive.is_none() => {
                            inconclusive =
                                Some(format!("inconclusive: {why} ({label}: {})", e.summary));
                        }
                        _ => {
                            if first_err.is_none() {
                                first_err = Some(render_error(&label, &e));
                            }
                        }
                    }
                    break;
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(inconclusive),
        }
    }

    fn url_for(&self, path: &str, cal: &Url) -> Result<Url, String> {
        let u = if path.starts_with("http://") || path.starts_with("https://") {
            Url::parse(path)
        } else if path.starts_with('/') {
            self.disc.origin.join(path)
        } else {
            cal.join(path)
        };
        u.map_err(|e| format!("bad request path {path:?}: {e}"))
    }

    async fn step(
        &self,
        st: &Step,
        vars: &mut BTreeMap<String, String>,
        captured: &mut BTreeMap<String, Option<String>>,
        scope: &Scope,
        cal: &Url,
    ) -> Result<(), StepError> {
        let plain = |summary: String| StepError {
            summary,
            diffs: Vec::new(),
            unified: None,
            exchange: String::new(),
            inconclusive: None,
        };
        let url = self
            .url_for(&template::render(&st.path, vars), cal)
            .map_err(plain)?;
        let mut req = Request::new(&st.method, url);
        if let Some(d) = &st.depth {
            req = req.header("Depth", d);
        }
        for (k, v) in &st.headers {
            req = req.header(k, &template::render(v, vars));
        }
        let body = st.body_text(&self.fixtures, vars).map_err(plain)?;
        if let Some(b) = body {
            if req.get_header("Content-Type").is_none() {
                let t = b.trim_start();
                let ct = if t.starts_with("BEGIN:VCALENDAR") {
                    "text/calendar; charset=utf-8"
                } else if t.starts_with('<') {
                    "application/xml; charset=utf-8"
                } else {
                    "text/plain; charset=utf-8"
                };
                req = req.header("Content-Type", ct);
            }
            // iCalendar requires CRLF line endings (RFC 5545 §3.1).
            let b = if b.trim_start().starts_with("BEGIN:VCALENDAR") && !b.contains("\r\n") {
                b.replace('\n', "\r\n")
            } else {
                b
            };
            req.body = Some(b.into_bytes());
        }
        scope.check(&self.disc.origin, &req).map_err(plain)?;
        let resp = match self.client.send(&req).await {
            Ok(r) => r,
            Err(e) => {
                return Err(StepError {
                    summary: e.0,
                    diffs: Vec::new(),
                    unified: None,
                    exchange: http::dump(&self.client, &req, None, 4000),
                    inconclusive: None,
                })
            }
        };
        let ctx = Ctx {
            vars,
            fixtures: &self.fixtures,
        };
        // The body is parsed as a multistatus at most once per step, for expectations and captures.
        let ms = std::cell::OnceCell::new();
        let parsed = || {
            ms.get_or_init(|| xml::parse(&resp.body).and_then(|r| Multistatus::from_element(&r)))
        };
        let (diffs, unified) = evaluate(st, &resp, &ctx, &parsed);
        let fail = |summary: String, diffs: Vec<Diff>, unified: Option<String>| StepError {
            summary,
            diffs,
            unified,
            exchange: http::dump(&self.client, &req, Some(&resp), 8000),
            inconclusive: None,
        };
        if !diffs.is_empty() {
            let mut e = fail(
                "the response differs from the expectation".into(),
                diffs,
                unified,
            );
            if let Some(inc) = &st.inconclusive {
                if evaluate_expect(&inc.when, &resp, &ctx, &parsed)
                    .0
                    .is_empty()
                {
                    e.summary = format!("answered {}", resp.status);
                    e.inconclusive = Some(template::render(&inc.because, ctx.vars));
                }
            }
            return Err(e);
        }
        for (name, c) in &st.capture {
            match capture(c, &resp, &ctx, &parsed) {
                Ok(v) => {
                    if v.is_none() {
                        return Err(fail(
                            format!("capture {name:?}: the value is missing from the response"),
                            Vec::new(),
                            None,
                        ));
                    }
                    captured.insert(name.clone(), v);
                }
                Err(e) => return Err(fail(format!("capture {name:?}: {e}"), Vec::new(), None)),
            }
        }
        for (n, v) in captured.iter() {
            if let Some(v) = v {
                vars.insert(n.clone(), v.clone());
            }
        }
        let tdiffs = transitions(&st.check, captured);
        if !tdiffs.is_empty() {
            return Err(fail(
                "a captured value did not make the expected transition".into(),
                tdiffs,
                None,
            ));
        }
        Ok(())
    }
}

/// Compare a response with a step's expectation, or failing that with its alternatives.
/// The response body as a multistatus, parsed on first use.
type ParsedMs<'a> = dyn Fn() -> &'a Result<Multistatus, String> + 'a;

pub fn evaluate<'a>(
    st: &Step,
    resp: &Response,
    ctx: &Ctx,
    ms: &ParsedMs<'a>,
) -> (Vec<Diff>, Option<String>) {
    evaluate_expect(&st.expect, resp, ctx, ms)
}

/// Compare a response with an expectation, or failing that with its alternatives.
pub fn evaluate_expect<'a>(
    expect: &crate::scenario::Expect,
    resp: &Response,
    ctx: &Ctx,
    ms: &ParsedMs<'a>,
) -> (Vec<Diff>, Option<String>) {
    let (mut diffs, unified) = evaluate_one(expect, resp, ctx, ms);
    let mut alt = expect.or.as_deref();
    let mut n = 1;
    while let (false, Some(a)) = (diffs.is_empty(), alt) {
        let (d, _) = evaluate_one(a, resp, ctx, ms);
        if d.is_empty() {
            return (Vec::new(), None);
        }
        diffs.extend(d.into_iter().map(|x| Diff {
            path: format!("(alternative {n}) {}", x.path),
            ..x
        }));
        alt = a.or.as_deref();
        n += 1;
    }
    (diffs, unified)
}

fn evaluate_one<'a>(
    e: &crate::scenario::Expect,
    resp: &Response,
    ctx: &Ctx,
    parsed: &ParsedMs<'a>,
) -> (Vec<Diff>, Option<String>) {
    let mut diffs = Vec::new();
    let mut unified = None;
    let default = crate::scenario::StatusSpec::Class("2xx".into());
    let want = e.status.as_ref().unwrap_or(&default);
    if !want.matches(resp.status) {
        diffs.push(Diff {
            path: "status".into(),
            expected: want.to_string(),
            got: resp.status.to_string(),
        });
    }
    for (h, m) in &e.headers {
        // A field sent on several lines is one comma-separated list (RFC 9110 §5.3).
        let all = resp.header_all(h);
        let joined = (!all.is_empty()).then(|| all.join(", "));
        let actual = joined.as_deref().map(matching::Actual::Text);
        matching::match_value(&format!("header[{h}]"), m, actual, ctx, &mut diffs);
    }
    if let Some(cond) = &e.error {
        let want = QName::parse(cond).unwrap_or_else(|_| QName::new("", cond));
        let got = if resp.body.is_empty() {
            Err("(empty body)".to_string())
        } else {
            xml::parse(&resp.body).map(|r| xml::error_conditions(&r))
        };
        match got {
            Ok(c) if c.contains(&want) => {}
            Ok(c) => diffs.push(Diff {
                path: "DAV:error".into(),
                expected: format!("<D:error><{want}/></D:error> (precondition)"),
                got: if c.is_empty() {
                    "a body without a DAV:error element".into()
                } else {
                    format!(
                        "<D:error> with {}",
                        c.iter()
                            .map(|q| format!("<{q}/>"))
                            .collect::<Vec<_>>()
                            .join("")
                    )
                },
            }),
            Err(err) => diffs.push(Diff {
                path: "DAV:error".into(),
                expected: format!("<D:error><{want}/></D:error> (precondition)"),
                got: err,
            }),
        }
    }
    if let Some(m) = &e.multistatus {
        match parsed() {
            Ok(ms) => {
                let before = diffs.len();
                let canon = matching::match_multistatus(m, ms, ctx, &mut diffs);
                if diffs.len() > before {
                    unified = Some(matching::unified(
                        &canon,
                        &matching::canonical_multistatus(ms),
                    ));
                }
            }
            Err(err) => diffs.push(Diff {
                path: "multistatus".into(),
                expected: "a DAV:multistatus body".into(),
                got: err.clone(),
            }),
        }
    }
    if let Some(ic) = &e.calendar {
        match resp.text() {
            Ok(t) => {
                let before = diffs.len();
                if let Some((a, b)) = matching::match_ical("", ic, t, ctx, &mut diffs) {
                    if diffs.len() > before {
                        unified = Some(matching::unified(&a, &b));
                    }
                }
            }
            Err(err) => diffs.push(Diff {
                path: "VCALENDAR".into(),
                expected: "iCalendar text".into(),
                got: err,
            }),
        }
    }
    (diffs, unified)
}

fn capture<'a>(
    c: &Capture,
    resp: &Response,
    ctx: &Ctx,
    parsed: &ParsedMs<'a>,
) -> Result<Option<String>, String> {
    let (prop, href, response_href) = match c {
        Capture::Header(h) => return Ok(resp.header(h).map(str::to_string)),
        Capture::Ical(spec) => return capture_ical(spec, resp),
        Capture::SyncToken => {
            return Ok(parsed().as_ref().map_err(Clone::clone)?.sync_token.clone())
        }
        Capture::Prop {
            prop,
            href,
            response_href,
        } => (Some(prop), href, *response_href),
        Capture::ResponseHref { href } => (None, href, true),
    };
    let ms = parsed().as_ref().map_err(Clone::clone)?;
    let want_href = href.as_ref().map(|h| xml::normalize_href(&ctx.href(h)));
    let candidates = ms
        .responses
        .iter()
        .filter(|r| want_href.as_ref().is_none_or(|h| &r.href == h));
    match prop {
        Some(p) => {
            let q = QName::parse(p)?;
            for r in candidates {
                if let Some((200, el)) = r.prop(&q) {
                    return Ok(Some(if response_href {
                        r.raw_href.clone()
                    } else {
                        el.deep_text()
                    }));
                }
            }
            Ok(None)
        }
        None => Ok(candidates.map(|r| r.raw_href.clone()).next()),
    }
}

/// `VEVENT.UID`: the first value of that property in a component of that type.
fn capture_ical(spec: &str, resp: &Response) -> Result<Option<String>, String> {
    let (kind, prop) = spec
        .split_once('.')
        .ok_or("ical capture is written COMPONENT.PROPERTY")?;
    let cal = crate::ical::parse(resp.text()?)?;
    let mut all = Vec::new();
    cal.find_all(kind, &mut all);
    Ok(all
        .iter()
        .find_map(|c| c.prop_value(prop))
        .map(str::to_string))
}

fn transitions(checks: &[Transition], captured: &BTreeMap<String, Option<String>>) -> Vec<Diff> {
    let mut diffs = Vec::new();
    let show = |n: &str| -> String {
        match captured.get(n) {
            Some(Some(v)) => format!("{n}={v:?}"),
            _ => format!("{n}=(absent)"),
        }
    };
    for t in checks {
        if let Transition::Unchanged(names) = t {
            let what = "unchanged";
            let first = captured.get(&names[0]).cloned().flatten();
            for n in &names[1..] {
                let v = captured.get(n).cloned().flatten();
                if v != first || v.is_none() {
                    diffs.push(Diff {
                        path: format!("{what}({})", names.join(", ")),
                        expected: format!("{} == {}", names[0], n),
                        got: format!("{} vs {}", show(&names[0]), show(n)),
                    });
                }
            }
        }
        if let Transition::Changed(names) = t {
            for w in names.windows(2) {
                let (a, b) = (
                    captured.get(&w[0]).cloned().flatten(),
                    captured.get(&w[1]).cloned().flatten(),
                );
                if a.is_none() || b.is_none() || a == b {
                    diffs.push(Diff {
                        path: format!("changed({})", names.join(", ")),
                        expected: format!("{} != {}", w[0], w[1]),
                        got: format!("{} vs {}", show(&w[0]), show(&w[1])),
                    });
                }
            }
        }
    }
    diffs
}

fn render_error(label: &str, e: &StepError) -> String {
    let mut s = format!("{label}: {}\n", e.summary);
    if !e.diffs.is_empty() {
        s.push_str("  differences:\n");
        for d in &e.diffs {
            let _ = writeln!(s, "    - {d}");
        }
    }
    if let Some(u) = &e.unified {
        s.push_str("  diff (canonical forms):\n");
        for l in u.lines() {
            let _ = writeln!(s, "    {l}");
        }
    }
    if !e.exchange.is_empty() {
        s.push_str("  exchange:\n");
        for l in e.exchange.lines() {
            let _ = writeln!(s, "    {l}");
        }
    }
    s
}
