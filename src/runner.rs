//! Running scenarios: one scenario is one libtest trial. Each runs in its own scratch calendar
//! (created first, deleted afterwards, also after a failure or a panic) and executes its setup,
//! steps and teardown in order; `evaluate` judges each response. The first problem becomes the
//! scenario's typed `Failure`, and where it happened decides the outcome: a step that checks
//! the requirement fails (or warns), anything that only prepares or tidies up is inconclusive.

use crate::discovery::Discovered;
use crate::evaluate::{self, ParsedMs};
use crate::http::{self, Client, Request, Scope};
use crate::matching::{resolve_ref, Ctx, Diff};
use crate::outcome::{Failure, Outcome, Rounds};
use crate::purge::{Removal, Via};
use crate::scenario::{Level, Loaded, Scenario, ScratchMode, Step};
use crate::scratch::Names;
use crate::template;
use crate::xml::{self, Multistatus};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

mod concurrent;

/// Everything the trials share.
pub struct Run {
    pub client: Arc<Client>,
    pub disc: Discovered,
    /// The names of this run's scratch collections.
    pub names: Names,
    pub fixtures: PathBuf,
    pub strict: bool,
    /// Only scenarios marked `read_only` run; nothing is written.
    pub read_only: bool,
    pub user: String,
    pub outcomes: Mutex<BTreeMap<String, (Outcome, Duration)>>,
    /// How many rounds each scenario with `repeat:` ran.
    pub rounds: Mutex<BTreeMap<String, Rounds>>,
    pub scenario_timeout: Duration,
}

/// The part of a scenario a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    /// Before any step (forming the scratch URLs).
    #[default]
    Scenario,
    /// Creating the scratch calendars.
    Scratch,
    Setup,
    Step,
    Teardown,
    /// Deleting the scratch calendars.
    Cleanup,
    /// The generative oracle's own requests.
    Oracle,
}

/// Where a scenario stands: the step being run.
#[derive(Debug, Clone, Default)]
struct At {
    phase: Phase,
    label: String,
    location: Option<String>,
    method: Option<String>,
    path: Option<String>,
    desc: Option<String>,
}

impl At {
    fn step(phase: Phase, name: &str, i: usize, st: &Spanned<Step>, file: &str) -> At {
        let (method, path) = match &st.value.concurrent {
            Some(g) => (format!("{} concurrent requests", g.size()), None),
            None => (st.value.method.clone(), Some(st.value.path.clone())),
        };
        At {
            phase,
            label: format!("{name} {}", i + 1),
            location: Some(format!("{file}:{}", st.referenced.line())),
            method: Some(method),
            path,
            desc: st.value.desc.clone(),
        }
    }

    fn request(phase: Phase, label: &str, method: &str, path: &str) -> At {
        At {
            phase,
            label: label.into(),
            method: Some(method.into()),
            path: Some(path.into()),
            ..At::default()
        }
    }
}

/// A request that did not go as expected, before it becomes a `Failure`.
struct Problem {
    at: At,
    summary: String,
    diffs: Vec<Diff>,
    unified: Option<String>,
    exchange: Option<String>,
    /// Why the scenario cannot be evaluated, when the suite knows: the scope guard refused the
    /// request, or the answer matched the step's `inconclusive.when`.
    cause: Option<String>,
    /// With `repeat:`, the round it happened in.
    rounds: Option<Rounds>,
}

impl Problem {
    fn new(at: At, summary: impl Into<String>) -> Problem {
        Problem {
            at,
            summary: summary.into(),
            diffs: Vec::new(),
            unified: None,
            exchange: None,
            cause: None,
            rounds: None,
        }
    }

    /// The first difference, or the summary.
    fn first(&self) -> String {
        self.diffs
            .first()
            .map(|d| d.to_string())
            .unwrap_or_else(|| self.summary.clone())
    }

    /// Whether this problem, the first of its scenario, makes the scenario inconclusive: the
    /// suite could not get to (or past) the steps that check the requirement.
    fn is_inconclusive(&self) -> bool {
        self.cause.is_some() || !matches!(self.at.phase, Phase::Step | Phase::Oracle)
    }

    /// Why the scenario cannot be evaluated, for an inconclusive outcome.
    fn cause(&self) -> String {
        if let Some(c) = &self.cause {
            return c.clone();
        }
        let label = &self.at.label;
        match self.at.phase {
            Phase::Scratch => format!(
                "the scratch calendar could not be created: {}",
                self.first()
            ),
            Phase::Setup => format!(
                "{label} did not succeed, so the situation under test could not be set up: {}",
                self.first()
            ),
            Phase::Teardown => format!(
                "the steps passed, but {label} did not succeed: {}",
                self.first()
            ),
            Phase::Cleanup => format!(
                "the steps passed, but the scratch calendar could not be deleted: {}",
                self.first()
            ),
            Phase::Scenario | Phase::Step | Phase::Oracle => self.first(),
        }
    }
}

/// What the steps of one scenario have set and captured so far.
struct State {
    vars: BTreeMap<String, String>,
    captured: BTreeMap<String, Option<String>>,
    scope: Scope,
    cal: Url,
    /// The step in progress, for a timeout or a panic.
    progress: Arc<Mutex<At>>,
    /// Every request closes its connection (a scenario with concurrent groups).
    close: bool,
}

/// The first problem of setup and steps, and the problems of the teardown.
type Trace = (Option<Problem>, Vec<Problem>);

impl Run {
    /// Run one scenario to its outcome and record it.
    pub async fn run(self: &Arc<Self>, sc: &Loaded, index: usize) -> Outcome {
        let _turn = concurrent::turn(&sc.scenario).await;
        let started = std::time::Instant::now();
        let o = self.run_inner(sc, index).await;
        self.outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sc.trial_name(), (o.clone(), started.elapsed()));
        o
    }

    /// Why a scenario is not run on this server, if it is not.
    fn not_applicable(&self, s: &Scenario) -> Option<String> {
        if self.read_only && !s.read_only {
            return Some("--read-only: this scenario writes".into());
        }
        let missing: Vec<&str> = s
            .required_features()
            .filter(|r| !self.disc.features.contains(*r))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Some(format!("server does not advertise {}", missing.join(", ")));
        }
        let uses_mk = s.scratch.calendar == ScratchMode::Mkcalendar
            || s.scratch.calendar2 == ScratchMode::Mkcalendar;
        if uses_mk && !self.disc.features.contains("create-calendar") {
            return Some("server cannot create scratch calendars (MKCALENDAR probe failed)".into());
        }
        None
    }

    async fn run_inner(self: &Arc<Self>, sc: &Loaded, index: usize) -> Outcome {
        let s = &sc.scenario;
        if let Some(why) = self.not_applicable(s) {
            return Outcome::Ignored(why);
        }
        if let Some(live) = &s.live {
            // --read-only on a real calendar: reads only, no scratch calendar (readonly/).
            return crate::readonly::judge(&self.client, &self.disc, live).await;
        }
        let join = |name: String| self.disc.home.join(&format!("{name}/"));
        let (cal, cal2) = match (
            join(self.names.calendar(index)),
            join(self.names.second_calendar(index)),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                let p = Problem::new(At::default(), format!("cannot form the scratch URL: {e}"));
                return self.verdict(sc, Some(p), Vec::new(), &BTreeMap::new());
            }
        };
        let vars = self.vars(index, &cal, &cal2);
        let scratch: Vec<Url> = [(s.scratch.calendar, &cal), (s.scratch.calendar2, &cal2)]
            .into_iter()
            .filter(|(mode, _)| *mode != ScratchMode::None)
            .map(|(_, u)| u.clone())
            .collect();
        let scope = Scope::new(&scratch.iter().collect::<Vec<_>>());
        self.client.registry().reserve(&scratch);
        let state = State {
            vars: vars.clone(),
            captured: BTreeMap::new(),
            scope: scope.clone(),
            cal,
            progress: Arc::default(),
            close: s.has_concurrent(),
        };
        let (main, mut after) = self.run_body(sc, state, cal2).await;
        after.extend(self.cleanup(&scratch, &scope).await);
        self.client.registry().release(&scratch);
        self.verdict(sc, main, after, &vars)
    }

    /// The variables of scenario `index`.
    fn vars(&self, index: usize, cal: &Url, cal2: &Url) -> BTreeMap<String, String> {
        let principal = self.disc.principal.as_ref().map(|p| p.path().to_string());
        [
            ("calendar", cal.path().to_string()),
            ("calendar2", cal2.path().to_string()),
            ("home", self.disc.home.path().to_string()),
            ("principal", principal.unwrap_or_default()),
            ("uid", self.names.uid(index)),
            ("user", self.user.clone()),
            (
                "origin",
                self.disc.origin.as_str().trim_end_matches('/').to_string(),
            ),
            ("runid", self.names.runid().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Run the body as its own task, so that a panic or the per-scenario timeout still
    /// reaches the cleanup; both are blamed on the step in progress.
    async fn run_body(self: &Arc<Self>, sc: &Loaded, state: State, cal2: Url) -> Trace {
        let me = Arc::clone(self);
        let sc2 = sc.clone();
        let progress = Arc::clone(&state.progress);
        let mut body = tokio::spawn(async move { me.body(&sc2, state, cal2).await });
        let summary = match tokio::time::timeout(self.scenario_timeout, &mut body).await {
            Ok(Ok(trace)) => return trace,
            Ok(Err(join)) => format!("the scenario panicked: {join}"),
            Err(_) => {
                // Stop the body before the cleanup: nothing may be sent after the DELETE.
                body.abort();
                let _ = body.await;
                format!(
                    "the scenario did not finish within {:?} (per-scenario timeout)",
                    self.scenario_timeout
                )
            }
        };
        let at = progress.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let p = Problem::new(at, summary);
        if matches!(p.at.phase, Phase::Teardown) {
            (None, vec![p])
        } else {
            (Some(p), Vec::new())
        }
    }

    /// Decide the outcome from the first problem (of setup and steps) and the problems after it.
    fn verdict(
        &self,
        sc: &Loaded,
        main: Option<Problem>,
        after: Vec<Problem>,
        vars: &BTreeMap<String, String>,
    ) -> Outcome {
        let mut rest = after.into_iter();
        let Some(mut first) = main.or_else(|| rest.next()) else {
            return Outcome::Pass;
        };
        if let (None, Phase::Teardown | Phase::Cleanup) = (first.rounds, first.at.phase) {
            first.rounds = self.rounds_ran(sc); // every round ran before it
        }
        let inconclusive = first.is_inconclusive();
        let cause = inconclusive.then(|| first.cause());
        let also: Vec<String> = rest
            .map(|p| format!("{}: {}", p.at.label, p.first()))
            .collect();
        let f = self.failure(sc, first, cause, also, vars);
        let s = &sc.scenario;
        if inconclusive {
            Outcome::Inconclusive(f)
        } else if s.level != Level::Must && !self.strict {
            Outcome::Warn(f)
        } else {
            Outcome::Fail(f)
        }
    }

    /// The typed failure: hrefs in paths and diffs written back with their variables (stable
    /// from run to run), and everything redacted.
    fn failure(
        &self,
        sc: &Loaded,
        p: Problem,
        cause: Option<String>,
        also: Vec<String>,
        vars: &BTreeMap<String, String>,
    ) -> Failure {
        let red = |t: &str| self.client.redact(t);
        let s = &sc.scenario;
        let mut vars = vars.clone();
        if let Some(r) = p.rounds {
            vars.insert("round".into(), format!("round{}", r.ran)); // written back as {round}
        }
        let vars = &vars;
        Failure {
            step: p.at.label,
            location: p.at.location,
            method: p.at.method,
            path: p.at.path,
            desc: p.at.desc,
            summary: red(&p.summary),
            cause: cause.map(|c| red(&stable(&c, vars))),
            diffs: p
                .diffs
                .into_iter()
                .map(|d| Diff {
                    path: stable(&d.path, vars),
                    expected: red(&d.expected),
                    got: red(&d.got),
                })
                .collect(),
            unified: p.unified.map(|u| red(&stable(&u, vars))),
            exchange: p.exchange.map(|x| red(&x)),
            also: also.iter().map(|a| red(&stable(a, vars))).collect(),
            spec: s.spec.clone(),
            requirement: s.requirement.clone(),
            level: s.level,
            about: s.desc.clone(),
            rounds: p.rounds,
            note: s.note.clone(),
        }
    }

    async fn cleanup(&self, scratch: &[Url], scope: &Scope) -> Vec<Problem> {
        let mut problems = Vec::new();
        for u in scratch {
            let at = At::request(Phase::Cleanup, "cleanup", "DELETE", u.path());
            let req = Request::new("DELETE", u.clone());
            if let Err(e) = scope.check(&self.disc.origin, &req) {
                let mut p = Problem::new(at, e.clone());
                p.cause = Some(format!(
                    "the suite refused to delete its scratch calendar: {e}"
                ));
                problems.push(p);
                continue;
            }
            // DELETE, then check with PROPFIND that it is gone; a server with a trash bin is
            // asked to delete for good (purge.rs).
            let removal =
                crate::purge::delete_for_good(&self.client, &self.disc.origin, u, Via::Normal)
                    .await;
            if let Removal::Left { why, exchange } = removal {
                let mut p = Problem::new(at, why);
                p.exchange = exchange;
                problems.push(p);
            }
        }
        problems
    }

    async fn body(&self, sc: &Loaded, mut st: State, cal2: Url) -> Trace {
        let s = &sc.scenario;
        let scratch = [
            (s.scratch.calendar, st.cal.clone(), "{calendar}"),
            (s.scratch.calendar2, cal2, "{calendar2}"),
        ];
        for (mode, u, name) in scratch {
            if mode == ScratchMode::Mkcalendar {
                let at = At::request(Phase::Scratch, "scratch", "MKCALENDAR", name);
                if let Err(p) = self.make_scratch(&u, &st.scope, at).await {
                    return (Some(p), Vec::new());
                }
            }
        }
        if let Some(g) = &s.generative {
            let prefix = self.names.oracle_uids();
            let done = crate::oracle::run_on(
                &self.client,
                &self.disc.origin,
                &st.cal,
                &st.scope,
                g.seed,
                &prefix,
                g.base,
            )
            .await;
            return match done {
                Ok(summary) => {
                    eprintln!("{}: {summary}", sc.trial_name());
                    (None, Vec::new())
                }
                // Objects the server would not store leave nothing to judge: inconclusive.
                Err(crate::oracle::OracleError::Setup(e)) => (
                    Some(Problem::new(
                        At::request(Phase::Setup, "setup", "PUT", "{calendar}"),
                        e,
                    )),
                    Vec::new(),
                ),
                Err(crate::oracle::OracleError::Disagreement(e)) => (
                    Some(Problem::new(
                        At::request(Phase::Oracle, "oracle", "REPORT", "{calendar}"),
                        e,
                    )),
                    Vec::new(),
                ),
            };
        }
        let file = sc.file.display().to_string();
        let main = self.rounds(sc, &file, &mut st).await;
        let after = self
            .steps(Phase::Teardown, "teardown", &s.teardown, &file, &mut st)
            .await;
        (main, after.into_iter().collect())
    }

    async fn make_scratch(&self, u: &Url, scope: &Scope, at: At) -> Result<(), Problem> {
        let req = Request::new("MKCALENDAR", u.clone());
        if let Err(e) = scope.check(&self.disc.origin, &req) {
            let mut p = Problem::new(at, e.clone());
            p.cause = Some(format!("the suite refused to send a request: {e}"));
            return Err(p);
        }
        let r = match self.client.send(&req).await {
            Ok(r) => r,
            Err(e) => return Err(Problem::new(at, format!("MKCALENDAR {u} failed: {e}"))),
        };
        if r.status == 201 {
            return Ok(());
        }
        let mut p = Problem::new(at, format!("MKCALENDAR {u} answered {}", r.status));
        p.diffs.push(Diff {
            path: "status".into(),
            expected: "201".into(),
            got: r.status.to_string(),
        });
        p.exchange = Some(http::dump(&self.client, &req, Some(&r), 2000));
        Err(p)
    }

    /// Run steps in order up to the first problem.
    async fn steps(
        &self,
        phase: Phase,
        name: &str,
        steps: &[Spanned<Step>],
        file: &str,
        st: &mut State,
    ) -> Option<Problem> {
        for (i, step) in steps.iter().enumerate() {
            let at = At::step(phase, name, i, step, file);
            *st.progress.lock().unwrap_or_else(|p| p.into_inner()) = at.clone();
            if let Err(mut p) = self.step(&step.value, st).await {
                p.at = at;
                return Some(p);
            }
        }
        None
    }

    /// Build the request of a step: its URL, headers and body, variables substituted.
    fn build_request(
        &self,
        st: &Step,
        vars: &BTreeMap<String, String>,
        cal: &Url,
    ) -> Result<Request, String> {
        let path = template::render(&st.path, vars);
        let url = resolve_ref(&path, cal).map_err(|e| format!("bad request path {path:?}: {e}"))?;
        let mut req = Request::new(&st.method, url);
        if let Some(d) = &st.depth {
            req = req.header("Depth", d);
        }
        for (k, v) in &st.headers {
            req = req.header(k, &template::render(v, vars));
        }
        let Some(body) = st.body_text(&self.fixtures, vars)? else {
            return Ok(req);
        };
        let is_ical = body.trim_start().starts_with("BEGIN:VCALENDAR");
        if req.get_header("Content-Type").is_none() {
            let ct = if is_ical {
                "text/calendar; charset=utf-8"
            } else if body.trim_start().starts_with('<') {
                "application/xml; charset=utf-8"
            } else {
                "text/plain; charset=utf-8"
            };
            req = req.header("Content-Type", ct);
        }
        // iCalendar requires CRLF line endings (RFC 5545 §3.1).
        let body = if is_ical && !body.contains("\r\n") {
            body.replace('\n', "\r\n")
        } else {
            body
        };
        req.body = Some(body.into_bytes());
        Ok(req)
    }

    /// Send one step's request and judge the answer: expectation, captures, transitions.
    async fn step(&self, st: &Step, state: &mut State) -> Result<(), Problem> {
        if let Some(g) = &st.concurrent {
            return self.concurrent(g, state).await;
        }
        let plain = |summary: String| Problem::new(At::default(), summary);
        let mut req = self
            .build_request(st, &state.vars, &state.cal)
            .map_err(plain)?;
        if state.close {
            req = concurrent::closing(req);
        }
        if let Err(e) = state.scope.check(&self.disc.origin, &req) {
            let mut p = plain(e.clone());
            p.cause = Some(format!("the suite refused to send a request: {e}"));
            return Err(p);
        }
        let resp = match self.client.send(&req).await {
            Ok(r) => r,
            Err(e) => {
                let mut p = plain(e.to_string());
                p.exchange = Some(http::dump(&self.client, &req, None, 4000));
                return Err(p);
            }
        };
        let exchange = || Some(http::dump(&self.client, &req, Some(&resp), 8000));
        let ctx = Ctx {
            vars: &state.vars,
            fixtures: &self.fixtures,
        };
        // The body is parsed as a multistatus at most once per step, for expectations and captures.
        let ms = std::cell::OnceCell::new();
        let parsed = || {
            ms.get_or_init(|| xml::parse(&resp.body).and_then(|r| Multistatus::from_element(&r)))
        };
        let (diffs, unified) = evaluate::evaluate(&st.expect, &resp, &ctx, &parsed);
        if !diffs.is_empty() {
            let mut p = plain("the response differs from the expectation".into());
            p.diffs = diffs;
            p.unified = unified;
            p.exchange = exchange();
            if let Some(inc) = &st.inconclusive {
                if evaluate::evaluate(&inc.when, &resp, &ctx, &parsed)
                    .0
                    .is_empty()
                {
                    p.cause = Some(template::render(&inc.because, ctx.vars));
                }
            }
            return Err(p);
        }
        let captured = capture_all(st, &resp, &ctx, &parsed).map_err(|summary| Problem {
            exchange: exchange(),
            ..plain(summary)
        })?;
        state.captured.extend(captured);
        for (n, v) in &state.captured {
            if let Some(v) = v {
                state.vars.insert(n.clone(), v.clone());
            }
        }
        let tdiffs = evaluate::transitions(&st.check, &state.captured);
        if !tdiffs.is_empty() {
            let mut p = plain("a captured value did not make the expected transition".into());
            p.diffs = tdiffs;
            p.exchange = exchange();
            return Err(p);
        }
        Ok(())
    }
}

/// The values a step captures, or what is wrong with one of them.
fn capture_all<'a>(
    st: &Step,
    resp: &http::Response,
    ctx: &Ctx,
    parsed: &ParsedMs<'a>,
) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    for (name, c) in &st.capture {
        let v = evaluate::capture(c, resp, ctx, parsed)
            .map_err(|e| format!("capture {name:?}: {e}"))?;
        if v.is_none() {
            return Err(format!(
                "capture {name:?}: the value is missing from the response"
            ));
        }
        out.push((name.clone(), v));
    }
    Ok(out)
}

/// Write values that differ from run to run back as their variables, so that a path like
/// `response[href=/u/ccf-1a2b3c4d-7/a.ics]` reads `response[href={calendar}a.ics]` in every
/// run (baselines compare these paths): the scratch calendars, uid, home, principal, run id,
/// and dates (`{today+1d}`).
pub fn stable(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut pairs: Vec<(&str, &str)> = ["calendar2", "calendar", "uid", "home", "principal"]
        .into_iter()
        .filter_map(|k| vars.get(k).map(|v| (k, v.as_str())))
        .filter(|(_, v)| v.len() > 1)
        .collect();
    // Longest first, so that {calendar} wins over the {home} it is inside.
    pairs.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    let mut out = text.to_string();
    for (name, v) in pairs {
        out = out.replace(v, &format!("{{{name}}}"));
        let bare = v.trim_end_matches('/');
        if bare.len() > 1 && bare.len() < v.len() {
            out = replace_bounded(&out, bare, &format!("{{{name}}}"));
        }
    }
    if let Some(r) = vars.get("runid").filter(|r| !r.is_empty()) {
        out = out.replace(r.as_str(), "{runid}");
    }
    if let Some(r) = vars.get("round") {
        out = concurrent::round_written_back(&out, r);
    }
    relative_dates(&out)
}

/// Replace `needle` where it is not followed by more of a path segment.
fn replace_bounded(s: &str, needle: &str, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(needle) {
        let after = &rest[i + needle.len()..];
        let cont = after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || "-_.~%".contains(c));
        out.push_str(&rest[..i]);
        out.push_str(if cont { needle } else { with });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `YYYYMMDD` dates near today written as `{today}`, `{today+3d}`, `{today-1d}`.
fn relative_dates(s: &str) -> String {
    let Ok(re) = regex::Regex::new(r"[0-9]{8,}") else {
        return s.to_string();
    };
    let today = chrono::Utc::now().date_naive();
    re.replace_all(s, |c: &regex::Captures| {
        let m = &c[0];
        let date = chrono::NaiveDate::parse_from_str(m, "%Y%m%d").ok();
        match date
            .filter(|_| m.len() == 8)
            .map(|d| (d - today).num_days())
        {
            Some(0) => "{today}".to_string(),
            Some(n) if n.abs() <= 3660 => format!("{{today{n:+}d}}"),
            _ => m.to_string(),
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_step_that_checks_the_requirement_can_fail() {
        let at = |phase| At {
            phase,
            label: "x 1".into(),
            ..At::default()
        };
        for phase in [Phase::Step, Phase::Oracle] {
            assert!(!Problem::new(at(phase), "s").is_inconclusive());
        }
        for phase in [
            Phase::Scenario,
            Phase::Scratch,
            Phase::Setup,
            Phase::Teardown,
            Phase::Cleanup,
        ] {
            assert!(Problem::new(at(phase), "s").is_inconclusive(), "{phase:?}");
        }
        let mut refused = Problem::new(at(Phase::Step), "scope guard refused PUT /x");
        refused.cause = Some("the suite refused to send a request".into());
        assert!(refused.is_inconclusive());
        let setup = Problem::new(at(Phase::Setup), "answered 500");
        assert!(setup.cause().starts_with("x 1 did not succeed"));
    }

    #[test]
    fn stable_paths_hide_the_run() {
        let mut v = BTreeMap::new();
        v.insert("home".to_string(), "/dav/u1/".to_string());
        v.insert("principal".to_string(), "/dav/u1/".to_string());
        v.insert(
            "calendar".to_string(),
            "/dav/u1/ccf-1a2b3c4d-7/".to_string(),
        );
        v.insert(
            "calendar2".to_string(),
            "/dav/u1/ccf-1a2b3c4d-7b/".to_string(),
        );
        v.insert("uid".to_string(), "ccf-1a2b3c4d-7-uid".to_string());
        v.insert("runid".to_string(), "1a2b3c4d".to_string());
        let p = "response[href=/dav/u1/ccf-1a2b3c4d-7]/x response[href=/dav/u1/ccf-1a2b3c4d-7/a.ics] response[href=/dav/u1/ccf-1a2b3c4d-7b] VEVENT[uid=ccf-1a2b3c4d-7-uid-a] /dav/u1/other";
        assert_eq!(
            stable(p, &v),
            "response[href={calendar}]/x response[href={calendar}a.ics] response[href={calendar2}] VEVENT[uid={uid}-a] {home}other"
        );
        let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1))
            .format("%Y%m%d")
            .to_string();
        assert_eq!(
            stable(&format!("rid={tomorrow}T100000Z 123456789"), &v),
            "rid={today+1d}T100000Z 123456789"
        );
    }
}
