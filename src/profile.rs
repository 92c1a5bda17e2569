//! Known-server profiles (`--profile auto|NAME|none`): a profile is the shipped baseline of a
//! fleet server (servers/NAME/baseline*.yaml, embedded in the binary), chosen by name or from
//! the product discovery identified. It is compared with the run by `baseline::compare`, like
//! `--baseline`; only the wording differs: outcomes the profile expects are the product's
//! known deviations (not the deployment's problem), and any other outcome is a difference
//! from a correct installation of that product (configuration, a proxy, another version).
//! A product or version mismatch between the server and the profile is said plainly.

use crate::baseline::{self, Baseline, Comparison, Mark};
use crate::discovery::Discovered;
use crate::embedded;
use crate::outcome::{Kind, Outcome};
use crate::scenario::parse_yaml;
use std::fmt::Write as _;
use std::path::PathBuf;

/// What `--profile` asked for (default: `auto`, or `none` when `--baseline` or
/// `--write-baseline` is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Auto,
    Off,
    Named(String),
}

impl Choice {
    pub fn parse(arg: Option<&str>, has_baseline: bool) -> Result<Choice, String> {
        let c = match arg {
            None if has_baseline => return Ok(Choice::Off),
            None | Some("auto") => Choice::Auto,
            Some("none") => Choice::Off,
            Some(n) => Choice::Named(n.to_string()),
        };
        if has_baseline && c != Choice::Off {
            return Err("--profile and --baseline (or --write-baseline) both set the expected outcomes: give one, or --profile none".into());
        }
        Ok(c)
    }
}

/// One profile: which fleet server, and the product and version its baseline describes.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The folder name under servers/, e.g. `radicale`.
    pub name: String,
    /// The baseline's `server:` text, e.g. `Radicale 3.9.0 (PyPI)`.
    pub server: String,
    pub product: String,
    pub version: Option<String>,
    /// What the server was identified as (discovery), if anything.
    pub detected: Option<String>,
    /// How it was chosen, and plain statements of any product or version mismatch.
    pub notes: Vec<String>,
}

/// `Radicale 3.9.0 (PyPI)` → (`Radicale`, `3.9.0`); `SOGo (SOPE 4.9.37)` → (`SOGo`, none):
/// the words before the first number, and that number; parentheses and `, …` are remarks.
pub fn split_product(s: &str) -> (String, Option<String>) {
    let head = s.split(['(', ',']).next().unwrap_or("").trim();
    let words: Vec<&str> = head.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.starts_with(|c: char| c.is_ascii_digit()));
    match at {
        Some(i) if i > 0 => (words[..i].join(" "), Some(words[i].to_string())),
        _ => (words.join(" "), None),
    }
}

/// `3.9` and `3.9.0` are the same version.
fn same_version(a: &str, b: &str) -> bool {
    let norm = |v: &str| {
        let mut parts: Vec<&str> = v.split('.').collect();
        while parts.len() > 1 && parts.last() == Some(&"0") {
            parts.pop();
        }
        parts.join(".")
    };
    norm(a) == norm(b)
}

fn servers_dir() -> PathBuf {
    crate::suite::builtin().root().join("servers")
}

/// The baseline files of each profile, by profile name (sorted).
fn catalogue() -> Vec<(String, Vec<PathBuf>)> {
    let mut out: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for f in embedded::files_under(&servers_dir()).unwrap_or_default() {
        let file = f.file_name().map(|n| n.to_string_lossy().to_string());
        if !file.is_some_and(|n| n.starts_with("baseline") && n.ends_with(".yaml")) {
            continue;
        }
        let Some(name) = f
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().to_string())
        else {
            continue;
        };
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, files)) => files.push(f),
            None => out.push((name, vec![f])),
        }
    }
    out.sort();
    out
}

/// The profile names, for messages.
pub fn names() -> Vec<String> {
    catalogue().into_iter().map(|(n, _)| n).collect()
}

/// The `server:` line of a baseline file, without parsing the rest.
fn server_line(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("server:"))?;
    let v = line["server:".len()..].trim();
    Some(v.trim_matches('"').trim_matches('\'').to_string())
}

/// Load profile `name`: its baseline files merged (the shipped files are validated by the
/// project's tests; entries naming scenarios that are not loaded are simply never compared).
pub fn load(name: &str) -> Result<(Profile, Baseline), String> {
    let cat = catalogue();
    let Some((_, files)) = cat.iter().find(|(n, _)| n == name) else {
        return Err(format!(
            "--profile {name}: no such profile (profiles: {}; or auto, none)",
            names().join(", ")
        ));
    };
    let mut merged = Baseline::default();
    for f in files {
        let text = embedded::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let b: Baseline =
            parse_yaml(&text).map_err(|(l, c, m)| format!("{}:{l}:{c}: {m}", f.display()))?;
        if merged.server.is_empty() {
            merged.server = b.server;
        }
        merged.expect.extend(b.expect);
    }
    let (product, version) = split_product(&merged.server);
    let p = Profile {
        name: name.to_string(),
        server: merged.server.clone(),
        product,
        version,
        detected: None,
        notes: Vec::new(),
    };
    Ok((p, merged))
}

/// The profile for a product discovery identified: the one whose baseline names the same
/// product (the shortest folder name among variants such as sabre and sabre-digest).
fn for_product(product: &str) -> Option<String> {
    let (want, _) = split_product(product);
    let mut found: Vec<String> = catalogue()
        .into_iter()
        .filter(|(_, files)| {
            files
                .first()
                .and_then(|f| embedded::read_to_string(f).ok())
                .and_then(|t| server_line(&t))
                .is_some_and(|s| split_product(&s).0.eq_ignore_ascii_case(&want))
        })
        .map(|(n, _)| n)
        .collect();
    found.sort_by_key(|n| (n.len(), n.clone()));
    found.into_iter().next()
}

/// What `--profile` chose: the header lines to print, and the profile with its baseline.
pub struct Setup {
    pub header: String,
    pub active: Option<(Profile, Baseline)>,
}

/// Resolve the choice against what discovery found.
pub fn choose(choice: &Choice, disc: &Discovered) -> Result<Setup, String> {
    let detected = disc.product.clone();
    let off = |why: String| Setup {
        header: format!("profile:    none ({why})\n"),
        active: None,
    };
    let name = match (choice, &detected) {
        (Choice::Off, _) => return Ok(off("--profile none, or --baseline given".into())),
        (Choice::Named(n), _) => n.clone(),
        (Choice::Auto, None) => {
            return Ok(off(format!(
                "the server did not identify itself; --profile NAME applies one of: {}",
                names().join(", ")
            )))
        }
        (Choice::Auto, Some(d)) if built_on_sabre(disc) => {
            return Ok(off(format!(
                "{d} is built on sabre/dav but behaves as its own product; no profile ships for it"
            )))
        }
        (Choice::Auto, Some(d)) => match for_product(d) {
            Some(n) => n,
            None => {
                return Ok(off(format!(
                    "no profile ships for {d}; profiles: {}",
                    names().join(", ")
                )))
            }
        },
    };
    let (mut p, b) = load(&name)?;
    p.detected = detected;
    let how = match choice {
        Choice::Auto => format!(
            "chosen automatically: the server identified as {}",
            p.detected.as_deref().unwrap_or("?")
        ),
        _ => format!("chosen with --profile {name}"),
    };
    p.notes = mismatch(&p);
    let mut header = format!("profile:    {} — {} ({how})\n", p.name, p.server);
    for n in &p.notes {
        let _ = writeln!(header, "profile:    {n}");
    }
    Ok(Setup {
        header,
        active: Some((p, b)),
    })
}

/// Choose the profile after discovery and print its header lines; a `--baseline` given
/// instead is passed through. Returns the expected outcomes to compare with, and the profile.
pub fn apply(
    choice: &Choice,
    disc: &Discovered,
    given: Option<Baseline>,
) -> Result<(Option<Baseline>, Option<Profile>), String> {
    if given.is_some() {
        return Ok((given, None));
    }
    let setup = choose(choice, disc)?;
    eprint!("{}", setup.header);
    Ok(match setup.active {
        Some((p, b)) => (Some(b), Some(p)),
        None => (None, None),
    })
}

/// Nextcloud and other products built on sabre/dav announce themselves in DAV classes.
fn built_on_sabre(disc: &Discovered) -> bool {
    disc.product
        .as_deref()
        .is_some_and(|p| p.starts_with("sabre/dav"))
        && disc.dav_classes.iter().any(|c| {
            let c = c.to_ascii_lowercase();
            c.starts_with("nextcloud-") || c.starts_with("nc-") || c.starts_with("oc-")
        })
}

/// Plain statements of a product or version mismatch between the server and the profile.
pub fn mismatch(p: &Profile) -> Vec<String> {
    let want = match &p.version {
        Some(v) => format!("{} {v}", p.product),
        None => p.product.clone(),
    };
    let Some(d) = p.detected.as_deref() else {
        return vec![format!(
            "the server did not say which product it is: if it is not {want}, expect many differences"
        )];
    };
    let (name, version) = split_product(d);
    if !name.eq_ignore_ascii_case(&p.product) {
        return vec![format!(
            "PRODUCT MISMATCH: the server is {d}, not {}: the profile {} describes {want}, so most differences below come from the product, not from the deployment",
            p.product, p.name
        )];
    }
    match (version, &p.version) {
        (Some(v), Some(pv)) if !same_version(&v, pv) => vec![format!(
            "VERSION MISMATCH: the server is {} {v}, the profile describes {want}: differences may come from the version, not from the deployment",
            p.product
        )],
        (None, Some(_)) => vec![format!(
            "the server does not say its version; the profile describes {want}: a difference may come from another version"
        )],
        _ => Vec::new(),
    }
}

impl Profile {
    /// The noun phrase of the verdict line: `a correct installation of Radicale 3.9.0 (profile
    /// radicale)`, with any mismatch after a semicolon.
    pub fn against(&self) -> String {
        let want = match &self.version {
            Some(v) => format!("{} {v}", self.product),
            None => self.product.clone(),
        };
        let mut s = format!("a correct installation of {want} (profile {}", self.name);
        if let Some(first) = self.notes.first() {
            if let Some((word, _)) = first.split_once(':').filter(|_| first.contains("MISMATCH")) {
                let _ = write!(s, "; {}", word.to_lowercase());
            }
        }
        s.push(')');
        s
    }
}

/// The run compared with the profile, in two parts: (a) the product's known deviations seen
/// in this run, with their sections and upstream issues; (b) the differences from a correct
/// installation, each with what it suggests.
pub fn render<'a>(
    p: &Profile,
    b: &Baseline,
    outcomes: impl Iterator<Item = (&'a String, &'a Outcome)>,
    c: &Comparison,
) -> String {
    let mut known = Vec::new();
    for (name, o) in outcomes {
        let entry = b.expect.get(name);
        let j = baseline::judge(entry, o);
        let Some(e) = entry.filter(|_| j.mark == Mark::Expected) else {
            continue;
        };
        if matches!(o.kind(), Kind::Fail | Kind::Inconclusive | Kind::Warn) {
            let mut line = format!("  {name}: {}", o.kind());
            if let Some(v) = &e.violates {
                let _ = write!(line, ", violates {v}");
            }
            if let Some(i) = &e.issue {
                let _ = write!(line, ", upstream {i}");
            }
            let _ = write!(line, " — {}", first_sentence(&e.reason));
            known.push(line);
        }
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nKNOWN DEVIATIONS of {} ({}): how the software itself behaves, on a correct installation too; not this deployment's problem:",
        p.server,
        known.len()
    );
    for l in &known {
        let _ = writeln!(s, "{l}");
    }
    s.push_str(&differences(p, c));
    s
}

fn differences(p: &Profile, c: &Comparison) -> String {
    let mut s = String::new();
    let n = c.regressions.len() + c.stale.len() + c.changed.len();
    if n == 0 {
        let _ = writeln!(
            s,
            "\nDIFFERENCES from a correct installation of {}: none",
            p.server
        );
        return s;
    }
    let why = if p.notes.iter().any(|n| n.starts_with("PRODUCT MISMATCH")) {
        "the server is another product, so they say little about the deployment"
    } else {
        "likely the deployment (configuration, a proxy or rewrite in front of the server, limits) or another version"
    };
    let _ = writeln!(
        s,
        "\nDIFFERENCES from a correct installation of {} ({n}): {why}:",
        p.server
    );
    for n in &p.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    let groups = [
        (
            "worse",
            "fails here, passes on a correct installation",
            &c.regressions,
        ),
        (
            "better",
            "passes here, a known deviation there (another version or configuration?)",
            &c.stale,
        ),
        (
            "moved",
            "the known deviation shows at another step or path",
            &c.changed,
        ),
    ];
    for (word, meaning, list) in groups {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(s, "  {word} ({}): {meaning}", list.len());
        for (name, d) in list {
            let _ = writeln!(s, "    {name}: {d}");
        }
    }
    s
}

/// The first sentence of a reason (not cut after `i.e.` or `e.g.`), at most 200 characters.
fn first_sentence(r: &str) -> String {
    let r = r.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = r
        .match_indices(". ")
        .map(|(i, _)| i)
        .find(|&i| !(r[..i].ends_with("i.e") || r[..i].ends_with("e.g")))
        .map(|i| i + 1)
        .unwrap_or(r.len());
    let cut: String = r[..end].chars().take(200).collect();
    if cut.len() < end {
        format!("{cut}…")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests;
