//! The concurrency part of the scenario format: `concurrent:` groups (requests sent at the same
//! time whose answers are checked together: how many got each status, `{i}` numbering the
//! requests, `{winner}` naming the one that succeeded), the `converges` and `one_of` checks, and
//! their load-time validation (group size, status keys, where `{i}`, `{round}` and `{winner}`
//! may be used).

use super::{Spanned, StatusSpec, Step};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Most requests one group may send at once.
pub const MAX_REQUESTS: u32 = 16;
/// Most rounds a scenario may `repeat`.
pub const MAX_ROUNDS: u32 = 500;
/// Most seconds a scenario may keep repeating after its least number of rounds.
pub const MAX_REPEAT_SECS: u64 = 20;
/// Longest `delay_ms` of a group request.
pub const MAX_DELAY_MS: u64 = 1000;

/// How many rounds a scenario runs: `repeat: 40` (exactly), or
/// `repeat: { min: 40, max: 400, secs: 3 }`: at least `min`, then more while the rounds have
/// taken less than `secs` seconds, at most `max` (a fast server runs more rounds in the same
/// time, so a rare race is as likely to show on it as on a slow one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeat {
    pub min: u32,
    pub max: u32,
    pub secs: u64,
}

impl Repeat {
    pub fn fixed(n: u32) -> Repeat {
        Repeat {
            min: n,
            max: n,
            secs: 0,
        }
    }

    /// Problems with the bounds.
    pub fn problems(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.min < 2 || self.max > MAX_ROUNDS || self.min > self.max {
            errs.push(format!(
                "`repeat` runs 2 to {MAX_ROUNDS} rounds (min <= max), here {} to {}",
                self.min, self.max
            ));
        }
        if self.secs > MAX_REPEAT_SECS {
            errs.push(format!(
                "`repeat.secs` is at most {MAX_REPEAT_SECS}, here {}",
                self.secs
            ));
        }
        if self.min < self.max && self.secs == 0 {
            errs.push("`repeat` with `max` above `min` needs `secs`".into());
        }
        errs
    }
}

/// The keys of `repeat: { min, max, secs }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RepeatKeys {
    min: u32,
    max: u32,
    secs: u64,
}

impl<'de> Deserialize<'de> for Repeat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Repeat, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Repeat;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of rounds, or { min, max, secs }")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Repeat, E> {
                u32::try_from(n)
                    .map(Repeat::fixed)
                    .map_err(|_| E::custom(format!("{n} rounds is too many")))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Repeat, E> {
                u64::try_from(n)
                    .map_err(|_| E::custom(format!("{n} is not a number of rounds")))
                    .and_then(|n| self.visit_u64(n))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<Repeat, A::Error> {
                let k = RepeatKeys::deserialize(serde::de::value::MapAccessDeserializer::new(m))?;
                Ok(Repeat {
                    min: k.min,
                    max: k.max,
                    secs: k.secs,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A group of requests sent at the same time, whose answers are checked together:
///
/// ```yaml
/// - desc: eight creators race for one new href
///   concurrent:
///     requests:
///       - { copies: 8, method: PUT, path: race.ics, headers: { If-None-Match: "*" },
///           fixture: concurrency/event.ics, with: { writer: "{i}" } }
///     expect:
///       statuses: { "2xx": 1, "412": rest }
/// ```
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Concurrent {
    /// Ordinary request steps (method, path, depth, headers, body or fixture, with, capture;
    /// `copies: n` for n of them). All are built first, then sent at once; `{i}` is each
    /// request's 1-based position in the group, usable in its path, headers, body, `with`
    /// values and capture names (`etag{i}`).
    pub requests: Vec<Spanned<Step>>,
    #[serde(default)]
    pub expect: GroupExpect,
}

impl Concurrent {
    /// How many requests the group sends.
    pub fn size(&self) -> u32 {
        self.requests
            .iter()
            .map(|r| r.value.copies.unwrap_or(1))
            .sum()
    }
}

/// What the answers of a group must be, together.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct GroupExpect {
    /// How many answers have each status, keyed by a code (`"412"`) or a class (`"2xx"`):
    /// `{ "2xx": 1, "412": rest }`. Keys must not overlap; every answer must match one;
    /// `rest` (at most once) is every answer the numbered keys do not count, `any` any number.
    /// Default: every answer 2xx.
    #[serde(default)]
    pub statuses: BTreeMap<String, Count>,
}

impl GroupExpect {
    /// True when exactly one answer must be 2xx: then `{winner}` names it.
    pub fn one_winner(&self) -> bool {
        self.statuses
            .iter()
            .any(|(k, c)| k == "2xx" && *c == Count::Exactly(1))
    }
}

/// How many answers a status key must count: a number, `rest`, or `any` (none or more:
/// where the RFC allows either answer, a later check looks at them together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exactly(u32),
    Rest,
    Any,
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of answers, `rest` or `any`")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Count, E> {
                u32::try_from(n)
                    .map(Count::Exactly)
                    .map_err(|_| E::custom(format!("{n} answers is too many")))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Count, E> {
                u64::try_from(n)
                    .map_err(|_| E::custom(format!("{n} is not a number of answers")))
                    .and_then(|n| self.visit_u64(n))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Count, E> {
                match s {
                    "rest" => Ok(Count::Rest),
                    "any" => Ok(Count::Any),
                    _ => Err(E::custom(format!(
                        "{s:?} is not a number of answers, `rest` or `any`"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `{ converges: { from: [base, delta1, delta2], to: listing } }`: a client that took the
/// first captured `members` view as its copy of the collection (a full listing or an initial
/// sync) and applied each later one as a delta (an incremental sync: changed members replace
/// their entry, removed ones drop it) holds exactly the members and ETags of `to` (the
/// server's listing afterwards). No member may appear twice in one view. With
/// `unless_changed: [tag1, tag2]` the check applies only when those two captured values are
/// equal (a getctag client looks again only when the tag it polls changed).
#[derive(Debug, Deserialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Converges {
    pub from: Vec<String>,
    pub to: String,
    #[serde(default)]
    pub unless_changed: Vec<String>,
}

impl Converges {
    pub fn names(&self) -> Vec<&String> {
        self.from
            .iter()
            .chain(std::iter::once(&self.to))
            .chain(&self.unless_changed)
            .collect()
    }
}

/// `{ one_of: { values: [mk, del, after], rows: [[201, 2xx, 404], [201, 404, 200]] } }`: the
/// captured values, taken together, equal one of the rows; a cell `2xx` matches any status
/// code of that class, `4xx|5xx` any of its alternatives, any other cell the exact text.
#[derive(Debug, Deserialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OneOf {
    pub values: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl super::Scenario {
    /// True when a step (of setup, steps or teardown) is a `concurrent` group.
    pub fn has_concurrent(&self) -> bool {
        self.setup
            .iter()
            .chain(&self.steps)
            .chain(&self.teardown)
            .any(|s| s.value.concurrent.is_some())
    }
}

/// A status key of `statuses`, or why it is not one.
pub fn status_key(k: &str) -> Result<StatusSpec, String> {
    if let Ok(c) = k.parse::<u16>() {
        return if (100..600).contains(&c) {
            Ok(StatusSpec::Code(c))
        } else {
            Err(format!("status key {k:?} is not an HTTP status code"))
        };
    }
    let s = StatusSpec::Class(k.to_string());
    s.validate().map(|_| s)
}

/// Whether two status keys can count the same answer.
fn overlap(a: &StatusSpec, b: &StatusSpec) -> bool {
    (100..600).any(|c| a.matches(c) && b.matches(c))
}

/// Problems with a group step (the step at `st`, whose `concurrent` is `g`), as messages.
/// `request_errors` validates each request as an ordinary step with `{i}` defined.
pub fn validate(
    st: &Step,
    g: &Concurrent,
    request_errors: &mut dyn FnMut(&Step) -> Vec<String>,
) -> Vec<(Option<(u64, u64)>, String)> {
    let mut errs: Vec<(Option<(u64, u64)>, String)> = Vec::new();
    let mut here = |m: String| errs.push((None, m));
    let bare = st.method.is_empty()
        && st.path.is_empty()
        && st.depth.is_none()
        && st.headers.is_empty()
        && st.body.is_none()
        && st.fixture.is_none()
        && st.with.is_empty()
        && st.capture.is_empty()
        && st.check.is_empty()
        && st.inconclusive.is_none()
        && st.copies.is_none()
        && st.delay_ms.is_none()
        && is_default(&st.expect);
    if !bare {
        here("a `concurrent` step has only `desc` and `concurrent`: give each request its own method, path, headers, body and captures, and the group's answers `concurrent.expect`".into());
    }
    let n = g.size();
    if !(2..=MAX_REQUESTS).contains(&n) {
        here(format!(
            "a concurrent group sends 2 to {MAX_REQUESTS} requests, this one {n}"
        ));
    }
    for m in status_problems(&g.expect) {
        here(m);
    }
    for r in &g.requests {
        let at = Some((r.referenced.line(), r.referenced.column()));
        let v = &r.value;
        let mut own = Vec::new();
        if v.concurrent.is_some() {
            own.push("concurrent groups do not nest".to_string());
        }
        if v.copies == Some(0) {
            own.push("`copies` must be at least 1".into());
        }
        if v.delay_ms.is_some_and(|d| d > MAX_DELAY_MS) {
            own.push(format!("`delay_ms` is at most {MAX_DELAY_MS}"));
        }
        if !is_default(&v.expect) || !v.check.is_empty() || v.inconclusive.is_some() {
            own.push("a request of a concurrent group has no `expect`, `check` or `inconclusive`: the group's `expect.statuses` counts the answers, and later steps check the state".into());
        }
        if v.copies.unwrap_or(1) > 1 {
            for name in v.capture.keys().filter(|k| !k.contains("{i}")) {
                own.push(format!(
                    "capture name {name:?} of a request sent in several copies must contain {{i}}"
                ));
            }
        }
        own.extend(request_errors(v));
        errs.extend(own.into_iter().map(|m| (at, m)));
    }
    errs
}

/// Problems with the status keys and counts of a group's expectation.
fn status_problems(e: &GroupExpect) -> Vec<String> {
    let mut errs = Vec::new();
    let mut specs = Vec::new();
    for k in e.statuses.keys() {
        match status_key(k) {
            Ok(s) => specs.push((k, s)),
            Err(m) => errs.push(m),
        }
    }
    for (i, (ka, a)) in specs.iter().enumerate() {
        for (kb, b) in &specs[i + 1..] {
            if overlap(a, b) {
                errs.push(format!(
                    "status keys {ka:?} and {kb:?} overlap: each answer must be counted once"
                ));
            }
        }
    }
    if e.statuses.values().filter(|c| **c == Count::Rest).count() > 1 {
        errs.push("only one status key may count the `rest`".into());
    }
    errs
}

fn is_default(e: &super::Expect) -> bool {
    e.status.is_none()
        && e.headers.is_empty()
        && e.error.is_none()
        && e.multistatus.is_none()
        && e.calendar.is_none()
        && e.or.is_none()
}

/// The names a group request's captures get for the request numbered `index` (`etag{i}` →
/// `etag3`).
pub fn capture_names(st: &Step, index: u32) -> Vec<String> {
    let vars: BTreeMap<String, String> = [("i".to_string(), index.to_string())].into();
    st.capture
        .keys()
        .map(|k| crate::template::render(k, &vars))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{load_file, LoadError, Loaded};

    const HEAD: &str =
        "scenarios:\n  - name: x\n    desc: d\n    requirement: r\n    spec: [RFC4791 §5.3.2]\n";

    fn load(extra: &str, steps: &str) -> Result<Vec<Loaded>, Vec<LoadError>> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("ccf-group-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(dir.join("f")).unwrap();
        std::fs::write(dir.join("f/e.ics"), "SUMMARY:writer {writer} {uid}\n").unwrap();
        let file = dir.join(format!("t{}.yaml", steps.len() + extra.len()));
        std::fs::write(&file, format!("{HEAD}{extra}    steps:\n{steps}")).unwrap();
        let r = load_file(&dir, &file, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    fn errors(extra: &str, steps: &str) -> String {
        match load(extra, steps) {
            Ok(_) => panic!("expected a load error:\n{steps}"),
            Err(e) => e
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    const RACE: &str = "      - desc: race
        concurrent:
          requests:
            - { copies: 7, method: PUT, path: \"r-{round}.ics\", headers: { If-None-Match: \"*\" }, fixture: f/e.ics, with: { writer: \"{i}\" } }
            - { method: GET, path: \"r-{round}.ics\", capture: { \"s{i}\": { status: true } } }
          expect:
            statuses: { \"2xx\": 1, 412: rest }
      - { method: GET, path: \"r-{round}.ics\", expect: { calendar: { components: [ { type: VEVENT, props: { SUMMARY: \"writer {winner} {s8}\" } } ] } } }
";

    #[test]
    fn a_group_loads_with_its_variables() {
        let l = load("    repeat: 20\n", RACE).unwrap_or_else(|e| panic!("{e:?}"));
        let s = &l[0].scenario;
        assert_eq!(s.repeat, Some(super::Repeat::fixed(20)));
        let l = load("    repeat: { min: 40, max: 400, secs: 3 }\n", RACE).unwrap();
        let want = super::Repeat {
            min: 40,
            max: 400,
            secs: 3,
        };
        assert_eq!(l[0].scenario.repeat, Some(want));
        let g = s.steps[0].value.concurrent.as_deref().unwrap();
        assert_eq!(g.size(), 8);
        assert!(g.expect.one_winner());
        assert_eq!(g.expect.statuses["412"], super::Count::Rest);
    }

    #[test]
    fn group_mistakes_are_load_errors_at_their_place() {
        let e = errors("", RACE);
        assert!(e.contains("undefined variable {round}"), "{e}");
        let cases = [
            (
                "method: GET\n        concurrent:",
                "has only `desc` and `concurrent`",
            ),
            ("copies: 7", "copies: 20"),
            (
                "{ \"2xx\": 1, 412: rest }",
                "{ \"2xx\": 1, 412: rest, 201: 1 }",
            ),
            ("412: rest }", "412: rest, 4xx: rest }"),
            ("412: rest }", "41x: rest }"),
            (
                "capture: { \"s{i}\":",
                "expect: { status: 200 }, capture: { \"s{i}\":",
            ),
            (
                "with: { writer: \"{i}\" } }",
                "with: { writer: \"{i}\" }, capture: { e: { status: true } } }",
            ),
            ("\"2xx\": 1, 412: rest", "\"2xx\": 2, 412: rest"),
        ];
        let want = [
            "has only `desc` and `concurrent`",
            "2 to 16 requests, this one 21",
            "overlap",
            "overlap",
            "neither a code",
            "no `expect`, `check` or `inconclusive`",
            "must contain {i}",
            "undefined variable {winner}",
        ];
        for ((from, to), msg) in cases.iter().zip(want) {
            let steps = if *from == "method: GET\n        concurrent:" {
                RACE.replacen("concurrent:", "method: GET\n        concurrent:", 1)
            } else {
                RACE.replacen(from, to, 1)
            };
            let e = errors("    repeat: 20\n", &steps);
            assert!(e.contains(msg), "{to}: {e}");
        }
        let e = errors(
            "    repeat: 20\n",
            &RACE.replacen("copies: 7", "copies: 1", 1).replacen(
                "{ method: GET, path: \"r-{round}.ics\", capture",
                "{ concurrent: { requests: [] }, capture",
                1,
            ),
        );
        assert!(e.contains("do not nest"), "{e}");
    }

    #[test]
    fn request_mistakes_have_their_place_and_repeat_its_bounds() {
        // The location of a request's own mistake is the request.
        let e = errors(
            "    repeat: 20\n",
            &RACE
                .replacen("{ \"s{i}\": { status", "{ s: { status", 1)
                .replacen(
                    "with: { writer: \"{i}\" } }",
                    "with: { writer: \"{i}\" }, capture: { e: { status: true } } }",
                    1,
                ),
        );
        assert!(e.contains(".yaml:11:15: capture name \"e\""), "{e}");
        assert!(!e.contains("capture name \"s\""), "{e}");
        for (r, msg) in [
            ("1", "`repeat` runs 2 to 500 rounds"),
            ("501", "`repeat` runs 2 to 500 rounds"),
            (
                "{ min: 5, max: 4, secs: 1 }",
                "`repeat` runs 2 to 500 rounds",
            ),
            (
                "{ min: 5, max: 40, secs: 60 }",
                "`repeat.secs` is at most 20",
            ),
            ("{ min: 5, max: 40, secs: 0 }", "needs `secs`"),
            ("{ min: 5, max: 40 }", "missing field `secs`"),
            (
                "{ min: 5, max: 40, secs: 1, extra: 2 }",
                "unknown field `extra`",
            ),
            ("many", "a number of rounds, or { min, max, secs }"),
        ] {
            let e = errors(&format!("    repeat: {r}\n"), RACE);
            assert!(e.contains(msg), "{r}: {e}");
        }
        let e = errors(
            "    repeat: 20\n",
            &RACE.replacen("copies: 7,", "copies: 7, delay_ms: 5000,", 1),
        );
        assert!(e.contains("`delay_ms` is at most 1000"), "{e}");
        let e = errors("", "      - { method: GET, copies: 2 }\n");
        assert!(
            e.contains("only for the requests of a `concurrent` group"),
            "{e}"
        );
        let e = errors("", "      - { desc: nothing }\n");
        assert!(e.contains("a step needs a `method`"), "{e}");
    }

    #[test]
    fn converges_and_one_of_are_checked_for_shape() {
        let cap =
            "      - { method: GET, capture: { a: { status: true }, b: { members: \"{calendar}\" } } }\n";
        let ok = format!("{cap}      - {{ method: GET, check: [ {{ converges: {{ from: [b], to: b }} }}, {{ one_of: {{ values: [a, a], rows: [[201, 2xx]] }} }} ] }}\n");
        assert!(load("", &ok).is_ok(), "{:?}", load("", &ok).err());
        for (bad, msg) in [
            ("{ converges: { from: [], to: b } }", "at least one view"),
            (
                "{ converges: { from: [b], to: b, unless_changed: [a] } }",
                "two captured values",
            ),
            (
                "{ one_of: { values: [a, a], rows: [] } }",
                "at least one row",
            ),
            (
                "{ one_of: { values: [a, a], rows: [[201]] } }",
                "1 cells for 2 values",
            ),
            (
                "{ converges: { from: [b], to: zz } }",
                "\"zz\", which no earlier step captures",
            ),
        ] {
            let e = errors(
                "",
                &format!("{cap}      - {{ method: GET, check: [ {bad} ] }}\n"),
            );
            assert!(e.contains(msg), "{bad}: {e}");
        }
    }
}
