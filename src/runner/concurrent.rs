//! Repetition and concurrency in a scenario (the format is in `scenario::group`): `repeat:`
//! runs setup and steps round after round, and a `concurrent` group builds every request first
//! (each checked by the scope guard), sends them all at once on their own tasks so that they
//! overlap on the wire, then counts the answers against `expect.statuses`, takes each request's
//! captures and sets `{winner}` to the one answer that succeeded.

use super::{capture_all, At, Phase, Problem, Run, State};
use crate::evaluate;
use crate::http::{self, Request, Response};
use crate::matching::{Ctx, Diff};
use crate::outcome::Rounds;
use crate::scenario::{group, Concurrent, Count, Loaded, Repeat, Scenario, StatusSpec, Step};
use crate::template;
use crate::xml::{self, Multistatus};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much of each exchange a group's failure shows in full (one per distinct status).
const EXCHANGE_CHARS: usize = 3000;

/// One request of a group, ready to send.
struct Built<'a> {
    /// `{i}`: its 1-based position in the group.
    i: u32,
    step: &'a Step,
    vars: BTreeMap<String, String>,
    req: Request,
}

impl Run {
    /// Setup and steps, once or (with `repeat:`) round after round up to the first problem,
    /// which records its round; `{round}` names each round (`round1`, `round2`…). After the
    /// least number of rounds, more run while the rounds have taken less than `secs`.
    pub(super) async fn rounds(&self, sc: &Loaded, file: &str, st: &mut State) -> Option<Problem> {
        let s = &sc.scenario;
        let rep = s.repeat.unwrap_or(Repeat::fixed(1));
        let started = Instant::now();
        for ran in 1..=rep.max {
            if s.repeat.is_some() {
                st.vars.insert("round".into(), format!("round{ran}"));
                self.record_rounds(sc, ran);
            }
            for (phase, name, steps) in [
                (Phase::Setup, "setup", &s.setup),
                (Phase::Step, "step", &s.steps),
            ] {
                if let Some(mut p) = self.steps(phase, name, steps, file, st).await {
                    p.rounds = self.rounds_ran(sc);
                    return Some(p);
                }
            }
            if ran >= rep.min && started.elapsed() >= Duration::from_secs(rep.secs) {
                break;
            }
        }
        None
    }

    fn record_rounds(&self, sc: &Loaded, ran: u32) {
        if let Some(rep) = sc.scenario.repeat {
            let r = Rounds {
                ran,
                min: rep.min,
                max: rep.max,
            };
            let mut all = self.rounds.lock().unwrap_or_else(|p| p.into_inner());
            all.insert(sc.trial_name(), r);
        }
    }

    /// The rounds a scenario with `repeat:` has reached so far.
    pub(super) fn rounds_ran(&self, sc: &Loaded) -> Option<Rounds> {
        let all = self.rounds.lock().unwrap_or_else(|p| p.into_inner());
        all.get(&sc.trial_name()).copied()
    }

    /// Run one `concurrent` group: build, send at once, judge together, capture.
    pub(super) async fn concurrent(
        &self,
        g: &Concurrent,
        state: &mut State,
    ) -> Result<(), Problem> {
        let built = self.build_group(g, state).map_err(|p| *p)?;
        let resps = self.send_all(&built).await?;
        let exchanges = || Some(self.group_exchange(&built, &resps));
        let statuses: Vec<u16> = resps.iter().map(|r| r.status).collect();
        if let Some(d) = count_statuses(&g.expect.statuses, &statuses) {
            let mut p = plain(format!(
                "the answers to the {} concurrent requests differ from the expectation",
                built.len()
            ));
            p.diffs.push(d);
            p.exchange = exchanges();
            return Err(p);
        }
        for (b, resp) in built.iter().zip(&resps) {
            let captured = capture_one(self, b, resp).map_err(|summary| Problem {
                exchange: exchanges(),
                ..plain(format!("request {}: {summary}", b.i))
            })?;
            state.captured.extend(captured);
        }
        let winners: Vec<u32> = built
            .iter()
            .zip(&resps)
            .filter(|(_, r)| r.is_success())
            .map(|(b, _)| b.i)
            .collect();
        // Only the latest group's winner: a stale one must not survive into the next round.
        state.vars.remove("winner");
        let winner = match winners[..] {
            [w] => Some(w.to_string()),
            _ => None,
        };
        state.captured.insert("winner".into(), winner);
        for (n, v) in &state.captured {
            if let Some(v) = v {
                state.vars.insert(n.clone(), v.clone());
            }
        }
        Ok(())
    }

    /// What a group's failure shows: one line per request (method, path, status, time), then
    /// the whole exchange of the first request answered with each distinct status.
    fn group_exchange(&self, built: &[Built<'_>], resps: &[Response]) -> String {
        let mut lines = Vec::new();
        let mut shown: Vec<u16> = Vec::new();
        let mut dumps = Vec::new();
        for (b, r) in built.iter().zip(resps) {
            lines.push(format!(
                "request {}: {} {} -> {} ({} ms)",
                b.i,
                b.req.method,
                b.req.url.path(),
                r.status,
                r.elapsed.as_millis()
            ));
            if !shown.contains(&r.status) {
                shown.push(r.status);
                let dump = http::dump(&self.client, &b.req, Some(r), EXCHANGE_CHARS);
                dumps.push(format!(
                    "request {} (first answered {}):\n{dump}",
                    b.i, r.status
                ));
            }
        }
        format!("{}\n\n{}", lines.join("\n"), dumps.join("\n"))
    }

    /// Every request of the group, `{i}` substituted, each allowed by the scope guard.
    fn build_group<'a>(
        &self,
        g: &'a Concurrent,
        state: &State,
    ) -> Result<Vec<Built<'a>>, Box<Problem>> {
        let mut out = Vec::new();
        let mut i = 0;
        for r in &g.requests {
            for _ in 0..r.value.copies.unwrap_or(1) {
                i += 1;
                let mut vars = state.vars.clone();
                vars.insert("i".into(), i.to_string());
                let mut req = self
                    .build_request(&r.value, &vars, &state.cal)
                    .map_err(|e| Box::new(plain(format!("request {i}: {e}"))))?;
                req = closing(req);
                if let Err(e) = state.scope.check(&self.disc.origin, &req) {
                    let mut p = plain(format!("request {i}: {e}"));
                    p.cause = Some(format!("the suite refused to send a request: {e}"));
                    return Err(Box::new(p));
                }
                out.push(Built {
                    i,
                    step: &r.value,
                    vars,
                    req,
                });
            }
        }
        Ok(out)
    }

    /// Send every request at once, each on its own task; the answers in request order. The
    /// tasks are aborted if this future is dropped (a scenario timeout), like a lone request.
    async fn send_all(&self, built: &[Built<'_>]) -> Result<Vec<Response>, Problem> {
        let mut set = tokio::task::JoinSet::new();
        for (k, b) in built.iter().enumerate() {
            let client = Arc::clone(&self.client);
            let req = b.req.clone();
            let delay = Duration::from_millis(b.step.delay_ms.unwrap_or(0));
            set.spawn(async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                (k, client.send(&req).await)
            });
        }
        let mut out: Vec<Option<Response>> = built.iter().map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            let (k, sent) = joined.map_err(|e| plain(format!("a request task failed: {e}")))?;
            match sent {
                Ok(r) => out[k] = Some(r),
                Err(e) => {
                    let mut p = plain(format!("request {}: {e}", built[k].i));
                    p.exchange = Some(http::dump(&self.client, &built[k].req, None, 4000));
                    p.cause = Some(format!(
                        "request {} of the {} concurrent requests got no answer ({e}), so the answers cannot be checked together",
                        built[k].i,
                        built.len(),
                    ));
                    return Err(p);
                }
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}

/// Scenarios with concurrent groups run alone, the others side by side: a burst of requests
/// must not slow down another scenario's requests (or be slowed by them), and a server with
/// few workers must not be left holding another scenario's idle connection during a burst.
static TURNS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Wait for the scenario's turn: alone when it has concurrent groups, else shared.
pub(super) async fn turn(
    s: &Scenario,
) -> (
    Option<tokio::sync::RwLockReadGuard<'static, ()>>,
    Option<tokio::sync::RwLockWriteGuard<'static, ()>>,
) {
    if s.has_concurrent() {
        (None, Some(TURNS.write().await))
    } else {
        (Some(TURNS.read().await), None)
    }
}

/// The request with `Connection: close`: in a scenario with concurrent groups every request
/// goes on its own connection, closed after its answer. A group models separate clients, and a
/// connection left idle between requests would hold a worker of a server that has few: SOGo
/// with one worker keeps PUT, GET and REPORT connections alive, and a burst arriving meanwhile
/// waits until it times out.
pub(super) fn closing(req: Request) -> Request {
    if req.get_header("Connection").is_some() {
        return req;
    }
    req.header("Connection", "close")
}

/// `round7` written back as `{round}` (in `race-round7.ics`, not in `round70`), so that a
/// failure's paths are the same whichever round it happened in: baselines compare them.
pub(super) fn round_written_back(text: &str, round: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(round) {
        let after = &rest[i + round.len()..];
        out.push_str(&rest[..i]);
        let more_digits = after.starts_with(|c: char| c.is_ascii_digit());
        out.push_str(if more_digits { round } else { "{round}" });
        rest = after;
    }
    out.push_str(rest);
    out
}

fn plain(summary: String) -> Problem {
    Problem::new(At::default(), summary)
}

/// The captures of one request of a group, named for its `{i}` (`etag{i}` → `etag3`).
fn capture_one(
    run: &Run,
    b: &Built<'_>,
    resp: &Response,
) -> Result<Vec<(String, Option<String>)>, String> {
    let ctx = Ctx {
        vars: &b.vars,
        fixtures: &run.fixtures,
    };
    let ms = std::cell::OnceCell::new();
    let parsed =
        || ms.get_or_init(|| xml::parse(&resp.body).and_then(|r| Multistatus::from_element(&r)));
    let parsed: &evaluate::ParsedMs = &parsed;
    let captured = capture_all(b.step, resp, &ctx, parsed)?;
    Ok(captured
        .into_iter()
        .map(|(name, v)| (template::render(&name, &b.vars), v))
        .collect())
}

/// The `statuses` expectation against the answers: None when they fit, else the difference
/// (`expected: 1 × 2xx, 7 × 412`, `got: 2 × 201, 6 × 412`). No keys: every answer 2xx.
fn count_statuses(want: &BTreeMap<String, Count>, got: &[u16]) -> Option<Diff> {
    let mut keys: Vec<(String, StatusSpec, Count)> = want
        .iter()
        .filter_map(|(k, c)| group::status_key(k).ok().map(|s| (k.clone(), s, *c)))
        .collect();
    if keys.is_empty() {
        keys.push(("2xx".into(), StatusSpec::Class("2xx".into()), Count::Rest));
    }
    let total = got.len() as u32;
    let fixed: u32 = keys
        .iter()
        .map(|(_, _, c)| match c {
            Count::Exactly(n) => *n,
            Count::Rest | Count::Any => 0,
        })
        .sum();
    let any = keys.iter().any(|(_, _, c)| *c == Count::Any);
    let mut counts = vec![0u32; keys.len()];
    let mut unmatched = false;
    for &code in got {
        match keys.iter().position(|(_, s, _)| s.matches(code)) {
            Some(k) => counts[k] += 1,
            None => unmatched = true,
        }
    }
    let wanted = |c: &Count| match c {
        Count::Exactly(n) => Some(*n),
        Count::Rest if !any => Some(total.saturating_sub(fixed)),
        Count::Rest | Count::Any => None,
    };
    let fits = !unmatched
        && fixed <= total
        && keys
            .iter()
            .zip(&counts)
            .all(|((_, _, c), n)| wanted(c).is_none_or(|w| w == *n));
    if fits {
        return None;
    }
    let expected: Vec<String> = keys
        .iter()
        .map(|(k, _, c)| match wanted(c) {
            Some(n) => format!("{n} × {k}"),
            None => format!("any × {k}"),
        })
        .collect();
    let mut by_code: BTreeMap<u16, u32> = BTreeMap::new();
    for &code in got {
        *by_code.entry(code).or_default() += 1;
    }
    let got: Vec<String> = by_code.iter().map(|(c, n)| format!("{n} × {c}")).collect();
    Some(Diff {
        path: "statuses".into(),
        expected: expected.join(", "),
        got: got.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(pairs: &[(&str, Count)]) -> BTreeMap<String, Count> {
        pairs.iter().map(|(k, c)| (k.to_string(), *c)).collect()
    }

    #[test]
    fn rounds_are_written_back() {
        assert_eq!(
            round_written_back("response[href=/c/b-round1.ics] round10 round1", "round1"),
            "response[href=/c/b-{round}.ics] round10 {round}"
        );
    }

    #[test]
    fn statuses_are_counted_with_a_rest() {
        let w = want(&[("2xx", Count::Exactly(1)), ("412", Count::Rest)]);
        assert!(count_statuses(&w, &[412, 201, 412, 412]).is_none());
        let d = count_statuses(&w, &[201, 204, 412, 412]).unwrap();
        assert_eq!(d.path, "statuses");
        assert_eq!(d.expected, "1 × 2xx, 3 × 412");
        assert_eq!(d.got, "1 × 201, 1 × 204, 2 × 412");
        // An answer no key counts, and too few answers for the fixed counts.
        assert!(count_statuses(&w, &[201, 500, 412]).is_some());
        let two = want(&[("2xx", Count::Exactly(1)), ("412", Count::Exactly(3))]);
        assert!(count_statuses(&two, &[201, 412]).is_some());
        let any = want(&[("2xx", Count::Any), ("4xx", Count::Any)]);
        assert!(count_statuses(&any, &[201, 404]).is_none());
        assert!(count_statuses(&any, &[201, 201]).is_none());
        assert_eq!(
            count_statuses(&any, &[201, 500]).unwrap().expected,
            "any × 2xx, any × 4xx"
        );
        // No keys: every answer 2xx.
        assert!(count_statuses(&BTreeMap::new(), &[201, 204, 207]).is_none());
        assert!(count_statuses(&BTreeMap::new(), &[201, 409]).is_some());
    }
}
