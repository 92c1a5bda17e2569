//! Scenario model and loading: the YAML schema of `scenarios/**/*.yaml`, parsed with serde-saphyr
//! (unknown keys rejected, errors as `file:line:col: message`), plus load-time validation of
//! fixtures and variables so that a bad scenario is reported before any request is sent.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::template;

mod check;
pub mod group;
mod validate;

pub use check::{Capture, Transition};
pub use group::{Concurrent, Converges, Count, GroupExpect, OneOf, Repeat};

/// One YAML file: an RFC area holding one or more scenarios.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Human title of the RFC area, e.g. "RFC 4791 §5.3.2 Creating calendar object resources".
    #[serde(default)]
    pub area: Option<String>,
    pub scenarios: Vec<Spanned<Scenario>>,
}

/// The requirement level of the sentence a scenario checks (RFC 2119).
#[derive(Debug, Deserialize, serde::Serialize, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    #[default]
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "MAY")]
    May,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        })
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// One line: what the scenario does.
    pub desc: String,
    /// The normative sentence checked, quoted verbatim from the cited section (`[...]` marks
    /// an elision; `tests/requirements.rs` checks it against the shipped RFC text).
    pub requirement: String,
    /// Explanations about the requirement or the scenario (never inside the quote).
    #[serde(default)]
    pub note: Option<String>,
    /// Spec references, e.g. `RFC4791 §5.3.2`.
    pub spec: Vec<String>,
    #[serde(default)]
    pub level: Level,
    /// Feature tags the server must advertise; otherwise the scenario is ignored with a reason.
    /// Each must be a name discovery can derive (`discovery::known_features`), checked at load.
    #[serde(default)]
    pub requires: Vec<Spanned<String>>,
    /// True when the scenario writes nothing (safe in `--read-only` mode).
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub scratch: Scratch,
    /// Run setup and steps round after round in the same scratch calendar, `{round}` naming
    /// each; the first problem ends the run. For races that could pass by luck: `repeat: 40`,
    /// or `repeat: { min: 40, max: 400, secs: 3 }` (at least 40 rounds, then more while the
    /// rounds have taken less than 3 s, at most 400).
    #[serde(default)]
    pub repeat: Option<Repeat>,
    #[serde(default)]
    pub setup: Vec<Spanned<Step>>,
    pub steps: Vec<Spanned<Step>>,
    #[serde(default)]
    pub teardown: Vec<Spanned<Step>>,
    /// Set for the generative oracle's trial (not written in YAML).
    #[serde(skip)]
    pub generative: Option<Generative>,
    /// Set for the trials of `--read-only` on the account's real calendars (not written in
    /// YAML; `readonly/`).
    #[serde(skip)]
    pub live: Option<crate::readonly::LiveCheck>,
}

impl Scenario {
    /// The feature names of `requires:`.
    pub fn required_features(&self) -> impl Iterator<Item = &String> {
        self.requires.iter().map(|r| &r.value)
    }
}

/// The generative time-range oracle (src/oracle.rs): a seed and the date its calendar is built around.
#[derive(Debug, Clone)]
pub struct Generative {
    pub seed: u64,
    pub base: chrono::NaiveDate,
}

/// The oracle's trial, as a scenario: `oracle/rfc4791_9_9_time_range::seed-N`.
pub fn oracle_scenario(seed: u64, base: chrono::NaiveDate) -> Loaded {
    Loaded {
        file: PathBuf::from("src/oracle.rs"),
        group: "oracle/rfc4791_9_9_time_range".into(),
        area: Some("RFC 4791 §9.9 time-range: generative oracle (random calendars checked against an independent implementation)".into()),
        line: 1,
        scenario: Scenario {
            name: format!("seed-{seed}"),
            desc: format!(
                "A seeded random calendar (recurring, all-day, floating, TZID, overrides, todos) queried with random time ranges; calendar built around {base}."
            ),
            requirement: crate::oracle::REQUIREMENT.into(),
            spec: vec!["RFC4791 §9.9".into()],
            level: Level::Must,
            note: None,
            requires: Vec::new(),
            read_only: false,
            scratch: Scratch::default(),
            repeat: None,
            setup: Vec::new(),
            steps: Vec::new(),
            teardown: Vec::new(),
            generative: Some(Generative { seed, base }),
            live: None,
        },
    }
}

/// What the harness prepares for `{calendar}` and `{calendar2}`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Scratch {
    #[serde(default = "Scratch::default_calendar")]
    pub calendar: ScratchMode,
    #[serde(default)]
    pub calendar2: ScratchMode,
}

impl Scratch {
    fn default_calendar() -> ScratchMode {
        ScratchMode::Mkcalendar
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            calendar: ScratchMode::Mkcalendar,
            calendar2: ScratchMode::None,
        }
    }
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScratchMode {
    /// Created with MKCALENDAR before setup, deleted afterwards.
    Mkcalendar,
    /// The URL is reserved (and cleaned up afterwards) but not created: the scenario creates it.
    Reserve,
    /// Not used.
    #[default]
    None,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub desc: Option<String>,
    /// The request method; empty only in a `concurrent` group step.
    #[serde(default)]
    pub method: String,
    /// Relative to `{calendar}` unless it starts with `/`, `http` or a variable.
    #[serde(default)]
    pub path: String,
    /// The Depth header: `0`, `1` or `infinity`, quoted or not.
    #[serde(default, deserialize_with = "depth")]
    pub depth: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    /// A file under `fixtures/`, used as the body.
    #[serde(default)]
    pub fixture: Option<String>,
    /// Variables for the fixture only (a parameterised fixture): `with: { comp: VEVENT }`
    /// fills `{comp}` in it. Values may themselves use variables (`"{today}T000000Z"`).
    #[serde(default)]
    pub with: BTreeMap<String, String>,
    #[serde(default)]
    pub expect: Expect,
    /// Named values captured from the response.
    #[serde(default)]
    pub capture: BTreeMap<String, Capture>,
    /// Transitions asserted over captured values after this step.
    #[serde(default)]
    pub check: Vec<Transition>,
    /// Setup steps only: a response that does not meet `expect` but matches this means the
    /// server cannot be put into the situation the scenario checks, for a reason the RFCs allow
    /// (e.g. it refuses a UID already used in another calendar). The scenario is then ignored
    /// with the given reason, never passed.
    #[serde(default)]
    pub inconclusive: Option<Inconclusive>,
    /// A group of requests sent at the same time and checked together (then the step has
    /// only `desc` besides); see `scenario::group`.
    #[serde(default)]
    pub concurrent: Option<Box<Concurrent>>,
    /// In a `concurrent` group only: send this many copies of the request (`{i}` numbers them).
    #[serde(default)]
    pub copies: Option<u32>,
    /// In a `concurrent` group only: send the request this many milliseconds after the others
    /// start (to land in the middle of them).
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

impl Step {
    /// The request body with its variables substituted: the inline `body`, or the `fixture`
    /// with the step's `with` values (themselves substituted first) and then `vars`.
    pub fn body_text(
        &self,
        fixtures: &Path,
        vars: &BTreeMap<String, String>,
    ) -> Result<Option<String>, String> {
        match (&self.body, &self.fixture) {
            (Some(b), _) => Ok(Some(template::render(b, vars))),
            (None, Some(f)) => {
                let text = read_fixture(fixtures, f)?;
                if self.with.is_empty() {
                    return Ok(Some(template::render(&text, vars)));
                }
                let mut all = vars.clone();
                for (k, v) in &self.with {
                    all.insert(k.clone(), template::render(v, vars));
                }
                Ok(Some(template::render(&text, &all)))
            }
            (None, None) => Ok(None),
        }
    }
}

/// When a setup step makes the scenario impossible to evaluate (see `Step::inconclusive`).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Inconclusive {
    /// The response that shows it (status, error, headers…), as in `expect`.
    pub when: Expect,
    /// Why the scenario cannot be evaluated then (reported as the reason it is ignored).
    pub because: String,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Exact (`201`), class (`2xx`) or set (`[200, 204]`). Defaults to `2xx`.
    #[serde(default)]
    pub status: Option<StatusSpec>,
    #[serde(default)]
    pub headers: BTreeMap<String, ValueMatch>,
    /// The DAV:error precondition element, e.g. `C:no-uid-conflict`.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub multistatus: Option<MultistatusExpect>,
    /// Expectations on an iCalendar response body.
    #[serde(default)]
    pub calendar: Option<IcalExpect>,
    /// An alternative the response may satisfy instead (where the RFC allows two answers).
    #[serde(default)]
    pub or: Option<Box<Expect>>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum StatusSpec {
    Code(u16),
    Class(String),
    Set(Vec<u16>),
}

impl StatusSpec {
    pub fn matches(&self, code: u16) -> bool {
        match self {
            StatusSpec::Code(c) => *c == code,
            StatusSpec::Set(s) => s.contains(&code),
            StatusSpec::Class(c) => {
                let c = c.trim();
                c.len() == 3
                    && c.ends_with("xx")
                    && c.as_bytes()[0].is_ascii_digit()
                    && u16::from(c.as_bytes()[0] - b'0') == code / 100
            }
        }
    }

    fn validate(&self) -> Result<(), String> {
        match self {
            StatusSpec::Class(c) => {
                let b = c.as_bytes();
                if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && &c[1..] == "xx" {
                    Ok(())
                } else {
                    Err(format!(
                        "status {c:?} is neither a code, a list of codes nor a class like 2xx"
                    ))
                }
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusSpec::Code(c) => write!(f, "{c}"),
            StatusSpec::Class(c) => write!(f, "{c}"),
            StatusSpec::Set(s) => {
                let v: Vec<String> = s.iter().map(u16::to_string).collect();
                write!(f, "one of {}", v.join(", "))
            }
        }
    }
}

/// How a value (header, property text, iCalendar property) is matched.
/// A plain string is an exact match after variable substitution, except the keywords
/// `any` (present with any value) and `absent` (must not be there).
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum ValueMatch {
    Text(String),
    Rule(MatchRule),
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct MatchRule {
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub contains: Option<String>,
    /// The value is an href (or holds one) equal to this, after URL normalisation.
    #[serde(default)]
    pub href: Option<String>,
    /// Child elements that must be present, e.g. `[D:collection, C:calendar]`.
    #[serde(default)]
    pub has: Vec<String>,
    /// Child elements that must not be present.
    #[serde(default)]
    pub lacks: Vec<String>,
    /// The value is iCalendar data (calendar-data) matching this.
    #[serde(default)]
    pub ical: Option<Box<IcalExpect>>,
    /// The value must differ from this (after substitution).
    #[serde(default)]
    pub not: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct MultistatusExpect {
    /// When true, the listed responses must be all the responses.
    #[serde(default)]
    pub exact: bool,
    #[serde(default)]
    pub responses: Vec<ResponseExpect>,
    /// Hrefs that must not appear in any response.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Number of DAV:response elements.
    #[serde(default)]
    pub count: Option<usize>,
    /// DAV:sync-token at the multistatus level (RFC 6578).
    #[serde(default)]
    pub sync_token: Option<ValueMatch>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ResponseExpect {
    pub href: String,
    /// A bare DAV:status on the response (no propstat), e.g. 404 for a missing member.
    #[serde(default)]
    pub status: Option<StatusSpec>,
    /// Shorthand for `propstat: {200: ...}`.
    #[serde(default)]
    pub props: BTreeMap<String, ValueMatch>,
    #[serde(default)]
    pub propstat: BTreeMap<u16, PropList>,
    /// When true, the 200 propstat holds exactly the listed properties.
    #[serde(default)]
    pub props_exact: bool,
}

/// Properties of one propstat: a list (each present, any value) or a map of matchers.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum PropList {
    Names(Vec<String>),
    Matchers(BTreeMap<String, ValueMatch>),
}

impl PropList {
    pub fn entries(&self) -> Vec<(String, ValueMatch)> {
        match self {
            PropList::Names(n) => n
                .iter()
                .map(|n| (n.clone(), ValueMatch::Text("any".into())))
                .collect(),
            PropList::Matchers(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct IcalExpect {
    /// The whole calendar equals this inline iCalendar text (normalised).
    #[serde(default)]
    pub equals: Option<String>,
    /// The whole calendar equals this fixture (normalised).
    #[serde(default)]
    pub equals_fixture: Option<String>,
    /// Components that must be present, matched by type, UID and RECURRENCE-ID.
    #[serde(default)]
    pub components: Vec<ComponentExpect>,
    /// Number of components of each type, e.g. `{VEVENT: 1}`.
    #[serde(default)]
    pub count: BTreeMap<String, usize>,
    /// Properties ignored in comparisons; defaults to DTSTAMP, PRODID, LAST-MODIFIED, CREATED.
    #[serde(default)]
    pub ignore: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ComponentExpect {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub recurrence_id: Option<String>,
    #[serde(default)]
    pub props: BTreeMap<String, ValueMatch>,
    /// Must not be present at all (with that type/UID/RECURRENCE-ID).
    #[serde(default)]
    pub absent: bool,
}

/// The Depth header value of a step: `0`, `1` (integers or strings) or `infinity`.
fn depth<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    let v = match Option::<Raw>::deserialize(d)? {
        None => return Ok(None),
        Some(Raw::Number(n)) => n.to_string(),
        Some(Raw::Text(t)) => t,
    };
    match v.to_ascii_lowercase().as_str() {
        "0" | "1" => Ok(Some(v)),
        "infinity" => Ok(Some("infinity".into())),
        _ => Err(serde::de::Error::custom(format!(
            "depth {v:?} is not 0, 1 or infinity"
        ))),
    }
}

/// A loaded scenario with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: PathBuf,
    /// `rfc4791/put_etag` (path under scenarios/ without extension).
    pub group: String,
    pub area: Option<String>,
    pub line: u64,
    pub scenario: Scenario,
}

impl Loaded {
    /// The libtest trial name: `rfc4791/put_etag::put-then-get`.
    pub fn trial_name(&self) -> String {
        format!("{}::{}", self.group, self.scenario.name)
    }
}

/// A load-time error in a scenario file (or folder), shown as `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct LoadError {
    pub file: PathBuf,
    /// Line and column, where the error has a place in the file.
    pub at: Option<(u64, u64)>,
    pub message: String,
}

impl LoadError {
    pub fn at(file: &Path, line: u64, col: u64, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_path_buf(),
            at: Some((line, col)),
            message: message.into(),
        }
    }

    /// An error about a whole file or folder.
    pub fn whole(file: &Path, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_path_buf(),
            at: None,
            message: message.into(),
        }
    }
}

/// Load every `*.yaml` under `dir`, validate it, and return all scenarios or all errors at once.
pub fn load_dir(dir: &Path, fixtures: &Path) -> Result<Vec<Loaded>, Vec<LoadError>> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files).map_err(|e| {
        vec![LoadError::whole(
            dir,
            format!("cannot read scenario directory: {e}"),
        )]
    })?;
    files.sort();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match load_file(dir, &f, fixtures) {
            Ok(mut v) => out.append(&mut v),
            Err(mut e) => errors.append(&mut e),
        }
    }
    let mut seen = BTreeMap::new();
    for l in &out {
        if let Some(prev) = seen.insert(l.trial_name(), (l.file.clone(), l.line)) {
            errors.push(LoadError::at(
                &l.file,
                l.line,
                1,
                format!(
                    "duplicate scenario name {:?} (first defined at {}:{})",
                    l.scenario.name,
                    prev.0.display(),
                    prev.1
                ),
            ));
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(LoadError::whole(
            dir,
            "no scenarios found (expected *.yaml files)",
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The `*.yaml` files under `dir`, on disk or embedded in the binary (`crate::embedded`).
fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let files = crate::embedded::files_under(dir)?;
    out.extend(
        files
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml")),
    );
    Ok(())
}

/// Parse one scenario file and validate it.
pub fn load_file(root: &Path, file: &Path, fixtures: &Path) -> Result<Vec<Loaded>, Vec<LoadError>> {
    let text = crate::embedded::read_to_string(file)
        .map_err(|e| vec![LoadError::at(file, 1, 1, format!("cannot read: {e}"))])?;
    let parsed: ScenarioFile =
        parse_yaml(&text).map_err(|(line, col, msg)| vec![LoadError::at(file, line, col, msg)])?;
    let group = file
        .strip_prefix(root)
        .unwrap_or(file)
        .with_extension("")
        .to_string_lossy()
        .replace('\\', "/");
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for sc in parsed.scenarios {
        let line = sc.referenced.line();
        let col = sc.referenced.column();
        let s = sc.value;
        for (l, c, m) in validate::scenario(&s, line, col, fixtures) {
            errors.push(LoadError::at(file, l, c, m));
        }
        out.push(Loaded {
            file: file.to_path_buf(),
            group: group.clone(),
            area: parsed.area.clone(),
            line,
            scenario: s,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Parse YAML, returning (line, column, message) on error.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, (u64, u64, String)> {
    serde_saphyr::from_str::<T>(text).map_err(|e| {
        let (line, col) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        let msg = e.without_snippet().to_string();
        // The rendered message may itself carry a location prefix; keep the first line only.
        let msg = msg.lines().next().unwrap_or("invalid YAML");
        // Drop a trailing " at line L, column C": the location is already in front.
        let msg = match msg.rfind(" at line ") {
            Some(i) if msg[i..].contains("column") => &msg[..i],
            _ => msg,
        }
        .to_string();
        (line.max(1), col.max(1), msg)
    })
}

/// Read a fixture file, refusing paths that leave the fixtures folder.
pub fn read_fixture(fixtures: &Path, rel: &str) -> Result<String, String> {
    if rel.split('/').any(|c| c == ".." || c.is_empty()) || rel.starts_with('/') {
        return Err(format!(
            "fixture path {rel:?} must be relative to fixtures/ without `..`"
        ));
    }
    crate::suite::read_fixture_file(fixtures, rel)
        .map_err(|e| format!("fixture {rel:?} cannot be read: {e}"))
}

/// `RFC4791 §5.3.2`, `RFC6578 §3.8`, `RFC5545 §3.8.5.3` or a draft such as `caldav-ctag-02 §4.1`.
pub fn spec_ref_ok(r: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^(RFC[0-9]{4}|[a-z][a-z0-9-]+-[0-9]{2}) §[0-9A-Z]+(\.[0-9]+)*$")
            .expect("static regex")
    })
    .is_match(r)
}

#[cfg(test)]
mod tests;
