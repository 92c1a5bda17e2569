//! The self-contained HTML report (`--html FILE`): one file with its CSS and JavaScript inline
//! and a Content-Security-Policy that allows nothing else, so it works offline and makes no
//! request. It is rendered from the typed results (`report::Results`, `outcome::Failure`) and
//! the scenario model; every piece of scenario or server text is escaped here, and the script
//! (src/html/report.js) only shows and hides what this module rendered — it never builds markup
//! from data. The servers × areas heat map of `reports/index.html` is in `html/matrix.rs`.

mod matrix;

pub use matrix::index;

use crate::baseline::Mark;
use crate::matching::Diff;
use crate::outcome::{Failure, Kind};
use crate::report::{Results, ScenarioResult};
use crate::scenario::Loaded;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

const CSS: &str = include_str!("html/style.css");
const REPORT_JS: &str = include_str!("html/report.js");

/// What the report shows beyond the results: where the run went and what it was compared with.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The URL the run started from, without query or fragment.
    pub url: Option<String>,
    /// The baseline files given with --baseline.
    pub baselines: Vec<String>,
}

impl Context {
    pub fn new(url: Option<&str>, baselines: &[PathBuf]) -> Context {
        let url = url.map(|u| match url::Url::parse(u) {
            Ok(mut p) => {
                // connect() refuses credentials in the URL; a query could still carry a token.
                p.set_query(None);
                p.set_fragment(None);
                let _ = p.set_username("");
                let _ = p.set_password(None);
                p.to_string()
            }
            Err(_) => String::new(),
        });
        Context {
            url: url.filter(|u| !u.is_empty()),
            baselines: baselines.iter().map(|p| p.display().to_string()).collect(),
        }
    }
}

/// Escape text for HTML element content and double- or single-quoted attribute values.
/// Control characters (other than newline and tab) become U+FFFD.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            '\r' => {}
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An id usable as a URL fragment: the scenario name with whitespace replaced.
pub fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect()
}

fn csp_hash(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The whole document: the policy allows only this page's own style and script, no fetch,
/// image, font, frame or form target at all.
fn page(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {}; \
         script-src {}; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\
         <script>{script}</script>\n</body>\n</html>\n",
        csp_hash(CSS),
        csp_hash(script),
        esc(title),
    )
}

/// The baseline mark as written in the results.
fn mark_label(m: Mark) -> &'static str {
    match m {
        Mark::Expected => "expected",
        Mark::Regression => "regression",
        Mark::Stale => "stale",
        Mark::Changed => "changed",
    }
}

/// The name of the server under test, as precise as the results allow.
pub fn server_title(r: &Results) -> String {
    r.server_version
        .clone()
        .or_else(|| r.product.clone())
        .or_else(|| r.server.clone())
        .or_else(|| r.server_name.clone())
        .unwrap_or_else(|| "unknown server".into())
}

/// `rfc4791/07_9_calendar_multiget::x` → `rfc4791/07_9_calendar_multiget`.
fn group_of(name: &str) -> &str {
    name.split_once("::").map_or(name, |(g, _)| g)
}

/// The family heading of a group: `rfc4791/…` → `RFC 4791`, `clients/…` → `Client flows`.
pub fn family(group: &str) -> String {
    let top = group.split('/').next().unwrap_or(group);
    match top.strip_prefix("rfc") {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => format!("RFC {n}"),
        _ => match top {
            "clients" => "Client flows".into(),
            "ctag" => "CalendarServer getctag".into(),
            "oracle" => "Generative oracle".into(),
            t => {
                let mut c = t.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
        },
    }
}

/// The order areas are shown in: the RFCs, then deployment, getctag, the oracle and the
/// client flows.
pub fn area_key(group: &str) -> (u8, String) {
    let top = group.split('/').next().unwrap_or(group);
    let rank = match top {
        t if t.starts_with("rfc") => 0,
        "deployment" => 1,
        "ctag" => 2,
        "oracle" => 3,
        "clients" => 4,
        _ => 5,
    };
    (rank, group.to_string())
}

/// The areas of a list of scenarios: group → (index in display order, title).
fn areas<'a>(
    scenarios: impl Iterator<Item = &'a ScenarioResult>,
) -> BTreeMap<String, (usize, String)> {
    let mut titles: BTreeMap<(u8, String), String> = BTreeMap::new();
    for s in scenarios {
        let g = group_of(&s.name);
        titles
            .entry(area_key(g))
            .or_insert_with(|| s.area.clone().unwrap_or_else(|| g.to_string()));
    }
    titles
        .into_iter()
        .enumerate()
        .map(|(i, ((_, g), t))| (g, (i, t)))
        .collect()
}

/// Counts of each outcome.
type Counts = BTreeMap<Kind, usize>;

fn counts<'a>(list: impl Iterator<Item = &'a ScenarioResult>) -> Counts {
    let mut c: Counts = Kind::ALL.iter().map(|k| (*k, 0)).collect();
    for s in list {
        *c.entry(s.outcome).or_default() += 1;
    }
    c
}

/// A stacked horizontal bar of outcome counts as inline SVG (no style attributes: the policy
/// allows only the page's own style sheet).
fn bar(c: &Counts, class: &str) -> String {
    let total: usize = c.values().sum();
    let mut s = format!(
        "<svg class=\"{class}\" viewBox=\"0 0 1000 20\" preserveAspectRatio=\"none\" role=\"img\">"
    );
    let mut x = 0.0f64;
    for k in Kind::ALL {
        let n = c.get(&k).copied().unwrap_or(0);
        if n == 0 || total == 0 {
            continue;
        }
        let w = 1000.0 * n as f64 / total as f64;
        let _ = write!(
            s,
            "<rect class=\"o-{k}\" x=\"{x:.2}\" y=\"0\" width=\"{w:.2}\" height=\"20\"><title>{k}: {n}</title></rect>"
        );
        x += w;
    }
    s.push_str("</svg>");
    s
}

/// The facts about the run: server, URL, date, features, baseline.
fn facts(r: &Results, ctx: &Context) -> String {
    let mut rows: Vec<(&str, String)> = Vec::new();
    let mut push = |k: &'static str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            rows.push((k, esc(v)));
        }
    };
    push("Server", Some(&server_title(r)));
    push("Fleet name", r.server_name.as_deref());
    push("Identified as", r.product.as_deref());
    push("Server header", r.server.as_deref());
    push("Profile", r.profile.as_deref());
    push("URL", ctx.url.as_deref());
    push("Calendar home", Some(&r.home));
    push("Date", Some(&r.date));
    push("Tool", Some(&r.tool));
    let base = ctx.baselines.join(", ");
    push("Baseline", Some(&base));
    for (h, v) in &r.identity {
        if h != "Server" {
            rows.push(("Identity", format!("{}: {}", esc(h), esc(v))));
        }
    }
    let chips: String = r
        .features
        .iter()
        .map(|f| format!("<span class=\"chip\">{}</span> ", esc(f)))
        .collect();
    rows.push(("Features", chips));
    let mut s = String::from("<dl class=\"facts\">");
    for (k, v) in rows {
        let _ = write!(s, "<dt>{k}</dt><dd>{v}</dd>");
    }
    s.push_str("</dl>");
    s
}

/// Counts by outcome: a bar, then one button per outcome (clicking shows only that outcome).
fn outcome_summary(r: &Results, c: &Counts) -> String {
    let total: usize = c.values().sum();
    let mut s = format!(
        "<div class=\"totals\"><h2>{total} scenarios</h2>{}<div class=\"legend\">",
        bar(c, "bar big")
    );
    for k in Kind::ALL {
        let _ = write!(
            s,
            "<button type=\"button\" class=\"only\" data-only=\"{k}\"><span class=\"dot o-{k}\"></span>{k} <b data-count=\"{k}\">{}</b></button>",
            c.get(&k).copied().unwrap_or(0)
        );
    }
    s.push_str("</div>");
    s.push_str(&baseline_summary(r));
    s.push_str("</div>");
    s
}

/// With --baseline: how many results are as expected, regressions, stale or changed; each a
/// button that filters on it.
fn baseline_summary(r: &Results) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &r.scenarios {
        if let Some(m) = s.baseline {
            *by.entry(mark_label(m)).or_default() += 1;
        }
    }
    if by.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h3>Against the baseline</h3><div class=\"legend\">");
    for m in ["expected", "regression", "stale", "changed"] {
        let n = by.get(m).copied().unwrap_or(0);
        let _ = write!(
            s,
            "<button type=\"button\" class=\"only-bl\" data-only=\"{m}\"><span class=\"bl b-{m}\">{m}</span> <b data-baseline-count=\"{m}\">{n}</b></button>"
        );
    }
    s.push_str("</div>");
    s
}

/// Counts by area: one row per scenario file, under its RFC family, with its bar.
fn area_chart(r: &Results, areas: &BTreeMap<String, (usize, String)>) -> String {
    let mut by: BTreeMap<usize, (&str, Vec<&ScenarioResult>)> = BTreeMap::new();
    for s in &r.scenarios {
        let g = group_of(&s.name);
        if let Some((i, _)) = areas.get(g) {
            by.entry(*i).or_insert_with(|| (g, Vec::new())).1.push(s);
        }
    }
    let mut s = String::from(
        "<h2>By area</h2><table class=\"areas\"><thead><tr><th>area</th><th>scenarios</th><th class=\"wide\">outcomes</th>",
    );
    for k in Kind::ALL {
        let _ = write!(s, "<th class=\"num\">{k}</th>");
    }
    s.push_str("</tr></thead><tbody>");
    let mut last_family = String::new();
    for (i, (g, list)) in &by {
        let fam = family(g);
        if fam != last_family {
            let _ = write!(
                s,
                "<tr class=\"fam\"><th colspan=\"8\">{}</th></tr>",
                esc(&fam)
            );
            last_family = fam;
        }
        let c = counts(list.iter().copied());
        let title = areas.get(*g).map_or("", |(_, t)| t.as_str());
        let _ = write!(
            s,
            "<tr><td><button type=\"button\" class=\"area-link\" data-area=\"{i}\" title=\"{}\">{}</button></td><td class=\"num\">{}</td><td class=\"wide\">{}</td>",
            esc(g),
            esc(title),
            list.len(),
            bar(&c, "bar")
        );
        for k in Kind::ALL {
            let n = c.get(&k).copied().unwrap_or(0);
            let _ = write!(
                s,
                "<td class=\"num n-{k}\">{}</td>",
                if n == 0 { String::new() } else { n.to_string() }
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// The filter bar: outcomes, area, baseline mark, and a search by name.
fn controls(r: &Results, areas: &BTreeMap<String, (usize, String)>) -> String {
    let mut s = String::from("<form class=\"controls\" id=\"controls\" autocomplete=\"off\"><fieldset><legend>Outcome</legend>");
    for k in Kind::ALL {
        let _ = write!(
            s,
            "<label><input type=\"checkbox\" name=\"outcome\" value=\"{k}\" checked><span class=\"dot o-{k}\"></span>{k}</label>"
        );
    }
    s.push_str(
        "</fieldset><label>Area <select id=\"f-area\"><option value=\"\">all areas</option>",
    );
    let mut sorted: Vec<(&usize, &String)> = areas.values().map(|(i, t)| (i, t)).collect();
    sorted.sort();
    for (i, t) in sorted {
        let _ = write!(s, "<option value=\"{i}\">{}</option>", esc(t));
    }
    s.push_str("</select></label>");
    if r.scenarios.iter().any(|s| s.baseline.is_some()) {
        s.push_str("<label>Baseline <select id=\"f-baseline\"><option value=\"\">any</option>");
        for m in ["expected", "regression", "stale", "changed"] {
            let _ = write!(s, "<option value=\"{m}\">{m}</option>");
        }
        s.push_str("</select></label>");
    }
    s.push_str(
        "<label>Search <input type=\"search\" id=\"f-search\" placeholder=\"scenario name\"></label>\
         <button type=\"reset\" id=\"f-reset\">show all</button>\
         <button type=\"button\" id=\"expand\">open shown</button>\
         <button type=\"button\" id=\"collapse\">close all</button>\
         <span class=\"shown\"><b id=\"shown\"></b> shown</span></form>",
    );
    s
}

/// The requirement as quoted, with its sections and level.
fn quote(spec: &[String], level: &str, requirement: &str) -> String {
    let text = requirement.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "<blockquote class=\"req\">{}<footer>{} — {}</footer></blockquote>",
        esc(&text),
        esc(&spec.join(", ")),
        esc(level)
    )
}

/// The difference table; past 200 rows the rest is folded but still present.
fn diff_table(diffs: &[Diff]) -> String {
    const SHOWN: usize = 200;
    let row = |d: &Diff| {
        format!(
            "<tr><td class=\"path\">{}</td><td class=\"exp\">{}</td><td class=\"got\">{}</td></tr>",
            esc(&d.path),
            esc(&d.expected),
            esc(&d.got)
        )
    };
    let head = "<table class=\"diffs\"><thead><tr><th>where</th><th>expected</th><th>got</th></tr></thead><tbody>";
    let mut s = format!("<h4>Differences ({})</h4>{head}", diffs.len());
    for d in diffs.iter().take(SHOWN) {
        s.push_str(&row(d));
    }
    s.push_str("</tbody></table>");
    if diffs.len() > SHOWN {
        let _ = write!(
            s,
            "<details class=\"more\"><summary>… and {} more differences</summary>{head}",
            diffs.len() - SHOWN
        );
        for d in &diffs[SHOWN..] {
            s.push_str(&row(d));
        }
        s.push_str("</tbody></table></details>");
    }
    s
}

/// Mark what differs between a removed and an added line: the middle between their common
/// prefix and suffix.
fn mark_change(line: &str, other: &str) -> String {
    let a: Vec<char> = line.chars().collect();
    let b: Vec<char> = other.chars().collect();
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let max_suf = a.len().min(b.len()) - pre;
    let suf = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suf)
        .take_while(|(x, y)| x == y)
        .count();
    let part = |r: &[char]| esc(&r.iter().collect::<String>());
    if pre + suf == a.len() {
        return part(&a);
    }
    format!(
        "{}<mark>{}</mark>{}",
        part(&a[..pre]),
        part(&a[pre..a.len() - suf]),
        part(&a[a.len() - suf..])
    )
}

/// A unified diff with removed, added and hunk lines classed, and within a block of removed
/// lines followed by as many added lines, the changed part of each pair marked.
pub fn unified(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut s = String::from("<pre class=\"diff\">");
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let is_del = |x: &str| x.starts_with('-') && !x.starts_with("---");
        let is_add = |x: &str| x.starts_with('+') && !x.starts_with("+++");
        if is_del(l) {
            let dels = lines[i..].iter().take_while(|x| is_del(x)).count();
            let adds = lines[i + dels..].iter().take_while(|x| is_add(x)).count();
            for k in 0..dels {
                let other = (adds == dels).then(|| &lines[i + dels + k][1..]);
                let body = other.map_or_else(
                    || esc(&lines[i + k][1..]),
                    |o| mark_change(&lines[i + k][1..], o),
                );
                let _ = write!(s, "<span class=\"del\">-{body}\n</span>");
            }
            for k in 0..adds {
                let other = (adds == dels).then(|| &lines[i + k][1..]);
                let l = lines[i + dels + k];
                let body = other.map_or_else(|| esc(&l[1..]), |o| mark_change(&l[1..], o));
                let _ = write!(s, "<span class=\"add\">+{body}\n</span>");
            }
            i += dels + adds;
            continue;
        }
        let class = if l.starts_with("@@") {
            "hunk"
        } else if l.starts_with("---") || l.starts_with("+++") {
            "file"
        } else if is_add(l) {
            "add"
        } else {
            "ctx"
        };
        let _ = write!(s, "<span class=\"{class}\">{}\n</span>", esc(l));
        i += 1;
    }
    s.push_str("</pre>");
    s
}

/// The exchange: request lines (`> `) and response lines (`< `) told apart.
fn exchange(text: &str) -> String {
    let mut s = String::from("<h4>Exchange (credentials redacted)</h4><pre class=\"exchange\">");
    for l in text.lines() {
        let class = match l.as_bytes().first() {
            Some(b'>') => "rq",
            Some(b'<') => "rs",
            _ => "ctx",
        };
        let _ = write!(s, "<span class=\"{class}\">{}\n</span>", esc(l));
    }
    s.push_str("</pre>");
    s
}

/// Where and how a scenario did not pass.
fn failure(f: &Failure) -> String {
    let mut s = format!("<div class=\"failure\"><h4>{}", esc(&f.step_title()));
    if let Some(l) = &f.location {
        let _ = write!(s, " <small>at {}</small>", esc(l));
    }
    let _ = write!(s, "</h4><p class=\"summary\">{}</p>", esc(&f.summary));
    if let Some(c) = &f.cause {
        let _ = write!(
            s,
            "<p class=\"cause\"><b>Could not be set up:</b> {}</p>",
            esc(c)
        );
    }
    if !f.diffs.is_empty() {
        s.push_str(&diff_table(&f.diffs));
    }
    if let Some(u) = &f.unified {
        s.push_str("<h4>Diff of the canonical forms</h4>");
        s.push_str(&unified(u));
    }
    if !f.also.is_empty() {
        s.push_str("<h4>Also</h4><ul>");
        for a in &f.also {
            let _ = write!(s, "<li>{}</li>", esc(a));
        }
        s.push_str("</ul>");
    }
    if let Some(x) = &f.exchange {
        s.push_str(&exchange(x));
    }
    s.push_str("</div>");
    s
}

/// The baseline's verdict on a scenario and what it says about it.
fn baseline_note(s: &ScenarioResult) -> String {
    let mut out = String::new();
    if let Some(m) = s.baseline {
        let _ = write!(
            out,
            "<p class=\"bl-note\"><span class=\"bl b-{0}\">{0}</span> ",
            mark_label(m)
        );
        if let Some(d) = &s.baseline_detail {
            out.push_str(&esc(d));
        }
        if let Some(v) = &s.violates {
            let _ = write!(out, " violates {}", esc(v));
        }
        if let Some(u) = s
            .issue
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        {
            let _ = write!(
                out,
                " <a href=\"{}\" rel=\"noreferrer noopener\">upstream issue</a>",
                esc(u)
            );
        }
        out.push_str("</p>");
    }
    out
}

/// One scenario: a summary line (verdict, name, sections, baseline mark, reason) that opens on
/// the requirement, the scenario's description and, unless it passed, the failure.
fn row(s: &ScenarioResult, area: usize, scenario: Option<&Loaded>) -> String {
    let id = anchor(&s.name);
    let mark = s.baseline.map(mark_label).unwrap_or("");
    let mut h = format!(
        "<details class=\"sc\" id=\"{}\" data-outcome=\"{}\" data-area=\"{area}\" data-baseline=\"{mark}\" data-name=\"{}\">\
         <summary><span class=\"badge o-{1}\">{1}</span> <span class=\"name\">{}</span> \
         <span class=\"spec\">{}</span> <span class=\"level\">{}</span>",
        esc(&id),
        s.outcome,
        esc(&s.name.to_lowercase()),
        esc(&s.name),
        esc(&s.spec.join(", ")),
        s.level,
    );
    if !mark.is_empty() {
        let _ = write!(h, " <span class=\"bl b-{mark}\">{mark}</span>");
    }
    let _ = write!(
        h,
        " <a class=\"link\" href=\"#{}\" title=\"link to this scenario\">#</a>",
        esc(&id)
    );
    if let Some(r) = &s.reason {
        let _ = write!(h, " <span class=\"reason\">{}</span>", esc(r));
    }
    h.push_str("</summary><div class=\"body\">");
    if let Some(l) = scenario {
        let _ = write!(h, "<p class=\"about\">{}</p>", esc(&l.scenario.desc));
        h.push_str(&quote(
            &l.scenario.spec,
            &l.scenario.level.to_string(),
            &l.scenario.requirement,
        ));
        if let Some(n) = &l.scenario.note {
            let _ = write!(h, "<p class=\"note\">{}</p>", esc(n));
        }
        let _ = write!(
            h,
            "<p class=\"where\">{}:{}</p>",
            esc(&l.file.display().to_string()),
            l.line
        );
    } else if let Some(f) = &s.failure {
        let _ = write!(h, "<p class=\"about\">{}</p>", esc(&f.about));
        h.push_str(&quote(&f.spec, &f.level.to_string(), &f.requirement));
    }
    h.push_str(&baseline_note(s));
    if let Some(f) = &s.failure {
        h.push_str(&failure(f));
    }
    let _ = writeln!(h, "<p class=\"time\">{} ms</p></div></details>", s.millis);
    h
}

/// The scenario list, one heading per area.
fn rows(r: &Results, scenarios: &[Loaded], areas: &BTreeMap<String, (usize, String)>) -> String {
    let by_name: BTreeMap<String, &Loaded> =
        scenarios.iter().map(|l| (l.trial_name(), l)).collect();
    let mut by: BTreeMap<usize, (&str, &str, Vec<&ScenarioResult>)> = BTreeMap::new();
    for sc in &r.scenarios {
        let g = group_of(&sc.name);
        let (i, title) = areas.get(g).map_or((0, g), |(i, t)| (*i, t.as_str()));
        by.entry(i).or_insert((g, title, Vec::new())).2.push(sc);
    }
    let mut s = String::from("<section id=\"scenarios\">");
    for (i, (g, title, list)) in by {
        let _ = writeln!(
            s,
            "<h3 class=\"grp\" data-area=\"{i}\">{} <small>{}</small></h3>",
            esc(title),
            esc(g)
        );
        for sc in list {
            s.push_str(&row(sc, i, by_name.get(&sc.name).copied()));
        }
    }
    s.push_str("<p id=\"none\" hidden>No scenario matches the filters.</p></section>");
    s
}

/// The HTML report of one run.
pub fn report(r: &Results, scenarios: &[Loaded], ctx: &Context) -> String {
    let title = server_title(r);
    let areas = areas(r.scenarios.iter());
    let all = counts(r.scenarios.iter());
    let mut body = format!(
        "<header><h1>CalDAV conformance: {}</h1><p class=\"sub\">{} · {} · {} scenarios</p></header>\n<main>\n<section id=\"summary\" class=\"overview\">",
        esc(&title),
        esc(&r.tool),
        esc(&r.date),
        r.scenarios.len()
    );
    body.push_str(&facts(r, ctx));
    body.push_str(&outcome_summary(r, &all));
    body.push_str("</section>\n<section class=\"chart\">");
    body.push_str(&area_chart(r, &areas));
    body.push_str("</section>\n");
    body.push_str(&controls(r, &areas));
    body.push_str(&rows(r, scenarios, &areas));
    body.push_str("\n</main>\n");
    page(&format!("CalDAV conformance — {title}"), &body, REPORT_JS)
}

#[cfg(test)]
mod tests;
