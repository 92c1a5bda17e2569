//! Scenario model and loading: the YAML schema of `scenarios/**/*.yaml`, parsed with serde-saphyr
//! (unknown keys rejected, errors as `file:line:col: message`), plus load-time validation of
//! fixtures and variables so that a bad scenario is reported before any request is sent.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::template;

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
    #[serde(default)]
    pub requires: Vec<String>,
    /// True when the scenario writes nothing (safe in `--read-only` mode).
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub scratch: Scratch,
    #[serde(default)]
    pub setup: Vec<Spanned<Step>>,
    pub steps: Vec<Spanned<Step>>,
    #[serde(default)]
    pub teardown: Vec<Spanned<Step>>,
    /// Set for the generative oracle's trial (not written in YAML).
    #[serde(skip)]
    pub generative: Option<Generative>,
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
            setup: Vec::new(),
            steps: Vec::new(),
            teardown: Vec::new(),
            generative: Some(Generative { seed, base }),
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
    pub method: String,
    /// Relative to `{calendar}` unless it starts with `/`, `http` or a variable.
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub depth: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    /// A file under `fixtures/`, used as the body.
    #[serde(default)]
    pub fixture: Option<String>,
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

/// Where a captured value comes from.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    /// A response header, e.g. `ETag`.
    #[serde(default)]
    pub header: Option<String>,
    /// A property's text in a multistatus response, e.g. `CS:getctag`.
    #[serde(default)]
    pub prop: Option<String>,
    /// The response whose property is captured (default: the first response holding it).
    #[serde(default)]
    pub href: Option<String>,
    /// The multistatus-level DAV:sync-token.
    #[serde(default)]
    pub sync_token: bool,
    /// An iCalendar property of the response body, e.g. `VEVENT.UID`.
    #[serde(default)]
    pub ical: Option<String>,
    /// The href of the response whose property matched, or of the first response.
    #[serde(default)]
    pub response_href: bool,
    /// When false, a missing value is recorded as absent instead of failing the step.
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

/// A transition over captured values: all named values equal, or each differs from the previous.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    #[serde(default)]
    pub equal: Option<Vec<String>>,
    #[serde(default)]
    pub unchanged: Option<Vec<String>>,
    #[serde(default)]
    pub changed: Option<Vec<String>>,
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

/// A load-time error, already rendered as `file:line:col: message`.
#[derive(Debug)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Load every `*.yaml` under `dir`, validate it, and return all scenarios or all errors at once.
pub fn load_dir(dir: &Path, fixtures: &Path) -> Result<Vec<Loaded>, Vec<LoadError>> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files).map_err(|e| {
        vec![LoadError(format!(
            "{}: cannot read scenario directory: {e}",
            dir.display()
        ))]
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
            errors.push(LoadError(format!(
                "{}:{}:1: duplicate scenario name {:?} (first defined at {}:{})",
                l.file.display(),
                l.line,
                l.scenario.name,
                prev.0.display(),
                prev.1
            )));
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(LoadError(format!(
            "{}: no scenarios found (expected *.yaml files)",
            dir.display()
        )));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            collect_yaml(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Parse one scenario file and validate it.
pub fn load_file(root: &Path, file: &Path, fixtures: &Path) -> Result<Vec<Loaded>, Vec<LoadError>> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        vec![LoadError(format!(
            "{}:1:1: cannot read: {e}",
            file.display()
        ))]
    })?;
    let parsed: ScenarioFile = parse_yaml(&text).map_err(|(line, col, msg)| {
        vec![LoadError(format!("{}:{line}:{col}: {msg}", file.display()))]
    })?;
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
        let at = |l: u64, c: u64, m: String| LoadError(format!("{}:{l}:{c}: {m}", file.display()));
        if !s
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errors.push(at(
                line,
                col,
                format!(
                    "scenario name {:?} may hold only letters, digits, - and _",
                    s.name
                ),
            ));
        }
        if s.spec.is_empty() {
            errors.push(at(
                line,
                col,
                "scenario cites no spec section (`spec:`)".into(),
            ));
        }
        for r in &s.spec {
            if !spec_ref_ok(r) {
                errors.push(at(
                    line,
                    col,
                    format!("spec reference {r:?} is not of the form `RFC4791 §5.3.2`"),
                ));
            }
        }
        if s.read_only
            && (s.scratch.calendar != ScratchMode::None || s.scratch.calendar2 != ScratchMode::None)
        {
            errors.push(at(
                line,
                col,
                "a read_only scenario uses no scratch calendar: add `scratch: { calendar: none }`"
                    .into(),
            ));
        }
        if s.steps.is_empty() {
            errors.push(at(line, col, "scenario has no steps".into()));
        }
        for st in s.steps.iter().chain(&s.teardown) {
            if st.value.inconclusive.is_some() {
                errors.push(at(
                    st.referenced.line(),
                    st.referenced.column(),
                    "`inconclusive` is only allowed on setup steps".into(),
                ));
            }
        }
        let mut captured: Vec<String> = Vec::new();
        for st in s.setup.iter().chain(&s.steps).chain(&s.teardown) {
            let (l, c) = (st.referenced.line(), st.referenced.column());
            for m in validate_step(&st.value, fixtures, &mut captured, &s.scratch) {
                errors.push(at(l, c, m));
            }
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

const METHODS: &[&str] = &[
    "OPTIONS",
    "GET",
    "HEAD",
    "PUT",
    "DELETE",
    "PROPFIND",
    "PROPPATCH",
    "MKCALENDAR",
    "MKCOL",
    "REPORT",
    "COPY",
    "MOVE",
    "POST",
    "LOCK",
    "UNLOCK",
    "ACL",
];

fn validate_step(
    st: &Step,
    fixtures: &Path,
    captured: &mut Vec<String>,
    scratch: &Scratch,
) -> Vec<String> {
    let mut errs = Vec::new();
    if !METHODS.contains(&st.method.as_str()) {
        errs.push(format!("unknown method {:?}", st.method));
    }
    if st.body.is_some() && st.fixture.is_some() {
        errs.push("a step has either `body` or `fixture`, not both".into());
    }
    let mut texts: Vec<&str> = vec![st.path.as_str()];
    texts.extend(st.headers.values().map(String::as_str));
    if let Some(b) = &st.body {
        texts.push(b);
    }
    let fixture_text;
    if let Some(f) = &st.fixture {
        match read_fixture(fixtures, f) {
            Ok(t) => {
                fixture_text = t;
                texts.push(&fixture_text);
            }
            Err(e) => errs.push(e),
        }
    }
    for t in &texts {
        check_vars(t, captured, scratch, &mut errs);
    }
    let mut expects = vec![&st.expect];
    let mut cur = &st.expect;
    while let Some(alt) = &cur.or {
        expects.push(alt);
        cur = alt;
    }
    if let Some(inc) = &st.inconclusive {
        if inc.because.trim().is_empty() {
            errs.push("`inconclusive` needs a reason (`because`)".into());
        }
        expects.push(&inc.when);
        let mut cur = &inc.when;
        while let Some(alt) = &cur.or {
            expects.push(alt);
            cur = alt;
        }
    }
    for e in expects {
        errs.extend(validate_expect(e, fixtures, captured, scratch));
    }
    errs.extend(validate_captures(st, captured));
    errs
}

fn validate_expect(
    expect: &Expect,
    fixtures: &Path,
    captured: &[String],
    scratch: &Scratch,
) -> Vec<String> {
    let mut errs = Vec::new();
    if let Some(s) = &expect.status {
        if let Err(e) = s.validate() {
            errs.push(e);
        }
    }
    for (_, m) in expect.headers.iter() {
        errs.extend(validate_match(m, fixtures, captured, scratch));
    }
    if let Some(e) = &expect.error {
        if let Err(e) = crate::xml::QName::parse(e) {
            errs.push(e);
        }
    }
    if let Some(ms) = &expect.multistatus {
        for r in &ms.responses {
            check_vars(&r.href, captured, scratch, &mut errs);
            let mut all: Vec<(String, ValueMatch)> = r
                .props
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for pl in r.propstat.values() {
                all.extend(pl.entries());
            }
            for (k, m) in all {
                if let Err(e) = crate::xml::QName::parse(&k) {
                    errs.push(e);
                }
                errs.extend(validate_match(&m, fixtures, captured, scratch));
            }
        }
        if let Some(m) = &ms.sync_token {
            errs.extend(validate_match(m, fixtures, captured, scratch));
        }
    }
    if let Some(ic) = &expect.calendar {
        errs.extend(validate_ical(ic, fixtures, captured, scratch));
    }
    errs
}

fn validate_captures(st: &Step, captured: &mut Vec<String>) -> Vec<String> {
    let mut errs = Vec::new();
    for (name, c) in &st.capture {
        let sources = [
            c.header.is_some(),
            c.prop.is_some(),
            c.sync_token,
            c.ical.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if sources + usize::from(c.response_href && c.prop.is_none()) != 1 {
            errs.push(format!(
                "capture {name:?} needs exactly one of header, prop, sync_token, ical, response_href"
            ));
        }
        if let Some(p) = &c.prop {
            if let Err(e) = crate::xml::QName::parse(p) {
                errs.push(e);
            }
        }
        if template::is_builtin(name) {
            errs.push(format!("capture name {name:?} shadows a built-in variable"));
        }
        captured.push(name.clone());
    }
    for t in &st.check {
        let lists: Vec<&Vec<String>> = [&t.equal, &t.unchanged, &t.changed]
            .into_iter()
            .flatten()
            .collect();
        if lists.len() != 1 {
            errs.push("a check has exactly one of equal, unchanged, changed".into());
        }
        for l in lists {
            if l.len() < 2 {
                errs.push("a check compares at least two captured values".into());
            }
            for n in l {
                if !captured.contains(n) {
                    errs.push(format!(
                        "check refers to {n:?}, which no earlier step captures"
                    ));
                }
            }
        }
    }
    errs
}

fn validate_match(
    m: &ValueMatch,
    fixtures: &Path,
    captured: &[String],
    scratch: &Scratch,
) -> Vec<String> {
    let mut errs = Vec::new();
    match m {
        ValueMatch::Text(t) => {
            check_vars(t, captured, scratch, &mut errs);
        }
        ValueMatch::Rule(r) => {
            if let Some(re) = &r.regex {
                // Variables are substituted (escaped) before the regex is compiled at run time.
                let dummy: std::collections::BTreeMap<String, String> = template::variables(re)
                    .into_iter()
                    .map(|v| (v, "x".to_string()))
                    .collect();
                if let Err(e) = regex::Regex::new(&template::render_regex(re, &dummy)) {
                    errs.push(format!("invalid regex {re:?}: {e}"));
                }
            }
            for t in [&r.equals, &r.contains, &r.href, &r.not]
                .into_iter()
                .flatten()
            {
                check_vars(t, captured, scratch, &mut errs);
            }
            for n in r.has.iter().chain(&r.lacks) {
                if let Err(e) = crate::xml::QName::parse(n) {
                    errs.push(e);
                }
            }
            if let Some(ic) = &r.ical {
                errs.extend(validate_ical(ic, fixtures, captured, scratch));
            }
        }
    }
    errs
}

fn validate_ical(
    ic: &IcalExpect,
    fixtures: &Path,
    captured: &[String],
    scratch: &Scratch,
) -> Vec<String> {
    let mut errs = Vec::new();
    if let Some(f) = &ic.equals_fixture {
        if let Err(e) = read_fixture(fixtures, f) {
            errs.push(e);
        }
    }
    for c in &ic.components {
        for m in c.props.values() {
            errs.extend(validate_match(m, fixtures, captured, scratch));
        }
        for t in [&c.uid, &c.recurrence_id].into_iter().flatten() {
            check_vars(t, captured, scratch, &mut errs);
        }
    }
    errs
}

/// Check every variable `text` refers to; errors go to `errs`.
fn check_vars(text: &str, captured: &[String], scratch: &Scratch, errs: &mut Vec<String>) {
    for v in template::variables(text) {
        if let Err(e) = check_var(&v, captured, scratch) {
            errs.push(e);
        }
    }
}

fn check_var(v: &str, captured: &[String], scratch: &Scratch) -> Result<(), String> {
    if v == "calendar2" && scratch.calendar2 == ScratchMode::None {
        return Err(
            "{calendar2} is used but `scratch: {calendar2: mkcalendar|reserve}` is not set".into(),
        );
    }
    if template::is_builtin(v) || captured.iter().any(|c| c == v) {
        Ok(())
    } else {
        Err(format!(
            "undefined variable {{{v}}}: not built in and not captured by an earlier step"
        ))
    }
}

/// Read a fixture file, refusing paths that leave the fixtures folder.
pub fn read_fixture(fixtures: &Path, rel: &str) -> Result<String, String> {
    if rel.split('/').any(|c| c == ".." || c.is_empty()) || rel.starts_with('/') {
        return Err(format!(
            "fixture path {rel:?} must be relative to fixtures/ without `..`"
        ));
    }
    std::fs::read_to_string(fixtures.join(rel))
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
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<Loaded>, Vec<LoadError>> {
        let dir = std::env::temp_dir().join(format!("ccf-scenario-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("t{}.yaml", text.len()));
        std::fs::write(&file, text).unwrap();
        let r = load_file(&dir, &file, &dir);
        let _ = std::fs::remove_file(&file);
        r
    }

    const INCONCLUSIVE: &str =
        "        inconclusive:\n          when: { status: 403 }\n          because: refused\n";

    #[test]
    fn inconclusive_only_on_setup_steps() {
        let head = "scenarios:\n  - name: x\n    desc: d\n    requirement: r\n    spec: [RFC4791 §5.3.2]\n";
        let put = "      - method: PUT\n        path: a.ics\n        body: x\n        expect: { status: 201 }\n";
        let ok = format!("{head}    setup:\n{put}{INCONCLUSIVE}    steps:\n{put}");
        assert!(load(&ok).is_ok(), "{:?}", load(&ok).err());
        let bad = format!("{head}    steps:\n{put}{INCONCLUSIVE}");
        let errs = load(&bad).expect_err("inconclusive in steps must be refused");
        assert!(
            errs.iter()
                .any(|e| e.0.contains("only allowed on setup steps")),
            "{errs:?}"
        );
        let empty = format!("{head}    setup:\n{put}        inconclusive:\n          when: {{ status: 403 }}\n          because: \"\"\n    steps:\n{put}");
        assert!(load(&empty).is_err());
    }
}
