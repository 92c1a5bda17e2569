//! Variable substitution in scenario text: `{calendar}`, `{home}`, `{principal}`, `{uid}`,
//! captured values, and relative dates such as `{today+1d}` so that scenarios never go stale;
//! plus two filters that forge never-issued values from a captured one: `{token1|append:x}`
//! and `{token1|bump}` (see `apply_filter`).

use chrono::{Duration, Utc};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Variables every scenario has, besides the dates.
const BUILTINS: &[&str] = &[
    "calendar",
    "calendar2",
    "home",
    "principal",
    "uid",
    "user",
    "origin",
    "runid",
];

fn var_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"\{([A-Za-z_][A-Za-z0-9_]*(?:[+-][0-9]+[dhw])?)(?:\|(bump|append:[A-Za-z0-9._~/-]+))?\}",
        )
        .expect("static regex")
    })
}

/// The variable names referenced in `text`.
pub fn variables(text: &str) -> Vec<String> {
    var_re()
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect()
}

/// True for built-in variables, including date forms such as `today`, `today+2d`, `now-3h`.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name) || date_value(name).is_some()
}

/// Values of the relative-date variables, in UTC:
/// `{today±Nd|w}` gives `YYYYMMDD`; `{now±Nh|d}` gives `YYYYMMDDTHHMMSSZ` (seconds zeroed).
fn date_value(name: &str) -> Option<String> {
    let (base, rest) = if let Some(r) = name.strip_prefix("today") {
        ("today", r)
    } else if let Some(r) = name.strip_prefix("now") {
        ("now", r)
    } else {
        return None;
    };
    let offset = if rest.is_empty() {
        Duration::zero()
    } else {
        let sign = match rest.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let unit = rest.chars().last()?;
        // `get`, checked arithmetic: names come from scenario files (`today+`, huge offsets).
        let n: i64 = rest.get(1..rest.len() - 1)?.parse().ok()?;
        match unit {
            'd' => Duration::try_days(sign * n)?,
            'w' => Duration::try_weeks(sign * n)?,
            'h' => Duration::try_hours(sign * n)?,
            _ => return None,
        }
    };
    let t = Utc::now().checked_add_signed(offset)?;
    Some(match base {
        // `today` counts in days and weeks; an hour offset is only meaningful for `now`.
        "today" if rest.ends_with('h') => return None,
        "today" => t.format("%Y%m%d").to_string(),
        _ => t.format("%Y%m%dT%H%M00Z").to_string(),
    })
}

/// Substitute `{name}` with its value; unknown names are left as they are (loading has
/// already rejected them, so this only happens for text that merely looks like a variable).
pub fn render(text: &str, vars: &BTreeMap<String, String>) -> String {
    render_with(text, vars, |s| s.to_string())
}

/// As `render`, but substituted values are escaped for use inside a regular expression.
pub fn render_regex(text: &str, vars: &BTreeMap<String, String>) -> String {
    render_with(text, vars, regex::escape)
}

fn render_with(
    text: &str,
    vars: &BTreeMap<String, String>,
    esc: impl Fn(&str) -> String,
) -> String {
    var_re()
        .replace_all(text, |c: &regex::Captures| {
            let name = &c[1];
            match vars.get(name).cloned().or_else(|| date_value(name)) {
                Some(v) => esc(&apply_filter(&v, c.get(2).map(|m| m.as_str()))),
                None => c[0].to_string(),
            }
        })
        .into_owned()
}

/// Forge a value the server never issued from one it did (RFC 6578 §3.2 valid-sync-token):
/// `append:S` appends S; `bump` adds 1000000 to the trailing decimal digits (a much later
/// counter or timestamp of the same shape), or, without trailing digits, changes the last
/// character (`0`..`8`, `a`..`y`, `A`..`Y` to the next one, anything else to `0`).
fn apply_filter(v: &str, filter: Option<&str>) -> String {
    match filter {
        Some("bump") => bump(v),
        Some(f) => match f.strip_prefix("append:") {
            Some(tail) => format!("{v}{tail}"),
            None => v.to_string(),
        },
        None => v.to_string(),
    }
}

fn bump(v: &str) -> String {
    let head = v.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &v[head.len()..];
    if digits.is_empty() {
        let mut chars: Vec<char> = v.chars().collect();
        match chars.last_mut() {
            Some(c) => {
                *c = match *c {
                    '0'..='8' | 'a'..='y' | 'A'..='Y' => char::from(*c as u8 + 1),
                    _ => '0',
                }
            }
            None => return "0".into(),
        }
        return chars.into_iter().collect();
    }
    // Decimal addition on the digit string: no overflow, leading zeros kept.
    let mut out: Vec<u8> = digits.bytes().rev().collect();
    let mut carry = 0u8;
    for (i, add) in [0u8, 0, 0, 0, 0, 0, 1].into_iter().enumerate() {
        if i == out.len() {
            out.push(b'0');
        }
        let d = out[i] - b'0' + add + carry;
        out[i] = b'0' + d % 10;
        carry = d / 10;
    }
    let mut i = 7;
    while carry > 0 {
        if i == out.len() {
            out.push(b'0');
        }
        let d = out[i] - b'0' + carry;
        out[i] = b'0' + d % 10;
        carry = d / 10;
        i += 1;
    }
    out.reverse();
    format!("{head}{}", String::from_utf8_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_renders_variables() {
        let mut v = BTreeMap::new();
        v.insert("calendar".to_string(), "/cal/x/".to_string());
        assert_eq!(
            variables("{calendar}a.ics {today+1d}"),
            ["calendar", "today+1d"]
        );
        assert_eq!(render("{calendar}a.ics", &v), "/cal/x/a.ics");
        // Regex quantifiers are not variables.
        assert!(variables("[0-9a-f]{40}").is_empty());
        assert_eq!(render("[0-9]{2}", &v), "[0-9]{2}");
    }

    #[test]
    fn relative_dates() {
        let today = Utc::now().format("%Y%m%d").to_string();
        assert_eq!(date_value("today").as_deref(), Some(today.as_str()));
        let tomorrow = (Utc::now() + Duration::days(1))
            .format("%Y%m%d")
            .to_string();
        assert_eq!(date_value("today+1d").as_deref(), Some(tomorrow.as_str()));
        assert!(date_value("today+1h").is_none());
        assert!(date_value("tomorrow").is_none());
        // Names from scenario files: none of these may panic.
        for odd in [
            "today+",
            "now-",
            "today+d",
            "today+999999999999d",
            "now+99999999999999999w",
        ] {
            assert!(date_value(odd).is_none(), "{odd}");
        }
        assert!(is_builtin("now-2h"));
    }

    #[test]
    fn regex_rendering_escapes_values() {
        let mut v = BTreeMap::new();
        v.insert("etag".to_string(), "\"a.b\"".to_string());
        assert_eq!(render_regex("^{etag}$", &v), "^\"a\\.b\"$");
    }

    #[test]
    fn filters_forge_never_issued_values() {
        let mut v = BTreeMap::new();
        v.insert("t".to_string(), "http://example.com/sync/42".to_string());
        // The filter does not change which variable is referenced.
        assert_eq!(variables("{t|bump} {t|append:x}"), ["t", "t"]);
        assert_eq!(render("{t|append:x}", &v), "http://example.com/sync/42x");
        assert_eq!(render("{t|bump}", &v), "http://example.com/sync/1000042");
        assert_eq!(bump("data:,0999999"), "data:,1999999");
        assert_eq!(bump("s/9999999"), "s/10999999");
        assert_eq!(
            bump("s/99999999999999999999999"),
            "s/100000000000000000999999"
        );
        assert_eq!(bump("urn:x-a"), "urn:x-b");
        assert_eq!(bump("urn:x-z"), "urn:x-0");
        assert_eq!(bump("é"), "0");
        assert_eq!(bump(""), "0");
        // Unknown filters are not variables; regex rendering escapes the forged value.
        assert!(variables("{t|nope}").is_empty());
        assert_eq!(
            render_regex("{t|append:.}", &v),
            "http://example\\.com/sync/42\\."
        );
    }
}
