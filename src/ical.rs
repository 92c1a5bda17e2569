//! iCalendar normalisation (RFC 5545): parse with the icalendar crate after unfolding, then
//! build an order-independent model whose components are keyed by type, UID and RECURRENCE-ID,
//! with volatile properties (DTSTAMP, PRODID, LAST-MODIFIED, CREATED by default) left out.

use std::fmt::Write as _;

/// Properties ignored unless a scenario gives its own list.
pub const VOLATILE: &[&str] = &["DTSTAMP", "PRODID", "LAST-MODIFIED", "CREATED"];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Prop {
    pub name: String,
    /// `;KEY=VALUE` parameters, sorted.
    pub params: Vec<(String, String)>,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub kind: String,
    pub props: Vec<Prop>,
    pub subs: Vec<Component>,
}

impl Component {
    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.props
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn prop_value(&self, name: &str) -> Option<&str> {
        self.prop(name).map(|p| p.value.as_str())
    }

    /// (type, UID, RECURRENCE-ID): how components are matched.
    pub fn key(&self) -> (String, String, String) {
        (
            self.kind.clone(),
            self.prop_value("UID").unwrap_or_default().to_string(),
            self.prop_value("RECURRENCE-ID")
                .unwrap_or_default()
                .to_string(),
        )
    }

    /// A path address such as `VEVENT[uid=a;rid=20250101T100000Z]`.
    pub fn address(&self) -> String {
        let (k, uid, rid) = self.key();
        let mut s = k;
        if !uid.is_empty() || !rid.is_empty() {
            s.push('[');
            if !uid.is_empty() {
                let _ = write!(s, "uid={uid}");
            }
            if !rid.is_empty() {
                let _ = write!(s, "{}rid={rid}", if uid.is_empty() { "" } else { ";" });
            }
            s.push(']');
        }
        s
    }

    /// Components of `kind` anywhere below (not including) this one.
    pub fn find_all<'a>(&'a self, kind: &str, out: &mut Vec<&'a Component>) {
        for c in &self.subs {
            if c.kind.eq_ignore_ascii_case(kind) {
                out.push(c);
            }
            c.find_all(kind, out);
        }
    }

    /// Canonical text: sorted properties and components, without ignored properties.
    pub fn canonical(&self, ignore: &[String]) -> String {
        let mut out = String::new();
        self.write_canonical(ignore, &mut out);
        out
    }

    fn write_canonical(&self, ignore: &[String], out: &mut String) {
        let _ = writeln!(out, "BEGIN:{}", self.kind);
        let mut props: Vec<&Prop> = self
            .props
            .iter()
            .filter(|p| !ignore.iter().any(|i| i.eq_ignore_ascii_case(&p.name)))
            .collect();
        props.sort();
        for p in props {
            out.push_str(&p.name);
            for (k, v) in &p.params {
                let _ = write!(out, ";{k}={v}");
            }
            let _ = writeln!(out, ":{}", p.value);
        }
        let mut subs: Vec<(String, String)> = self
            .subs
            .iter()
            .map(|c| {
                let (k, u, r) = c.key();
                (format!("{k}\u{0}{u}\u{0}{r}"), c.canonical(ignore))
            })
            .collect();
        subs.sort();
        for (_, s) in subs {
            out.push_str(&s);
        }
        let _ = writeln!(out, "END:{}", self.kind);
    }
}

/// Parse an iCalendar object; the root must be a VCALENDAR.
pub fn parse(text: &str) -> Result<Component, String> {
    let unfolded = icalendar::parser::unfold(text);
    let trimmed = unfolded.trim_start_matches('\u{feff}').trim();
    if !trimmed
        .get(..15)
        .is_some_and(|s| s.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        return Err("iCalendar data does not start with BEGIN:VCALENDAR".into());
    }
    let normalised = trimmed.replace("\r\n", "\n");
    let parsed = icalendar::parser::read_calendar(&normalised)
        .map_err(|e| format!("invalid iCalendar data: {}", first_line(&e)))?;
    Ok(Component {
        kind: "VCALENDAR".into(),
        props: parsed.properties.iter().map(convert_prop).collect(),
        subs: parsed.components.iter().map(convert).collect(),
    })
}

fn first_line(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn convert(c: &icalendar::parser::Component<'_>) -> Component {
    Component {
        kind: c.name.as_str().to_ascii_uppercase(),
        props: c.properties.iter().map(convert_prop).collect(),
        subs: c.components.iter().map(convert).collect(),
    }
}

fn convert_prop(p: &icalendar::parser::Property<'_>) -> Prop {
    let mut params: Vec<(String, String)> = p
        .params
        .iter()
        .map(|x| {
            (
                x.key.as_str().to_ascii_uppercase(),
                x.val
                    .as_ref()
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    params.sort();
    Prop {
        name: p.name.as_str().to_ascii_uppercase(),
        params,
        value: p.val.as_str().to_string(),
    }
}

/// The ignore list: the scenario's own, or the default volatile properties.
pub fn ignore_list(custom: Option<&Vec<String>>) -> Vec<String> {
    custom
        .cloned()
        .unwrap_or_else(|| VOLATILE.iter().map(|s| s.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20250101T000000Z\r\nSUMMARY:Long \r\n folded line\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    const B: &str = "BEGIN:VCALENDAR\nPRODID:-//other//EN\nVERSION:2.0\nBEGIN:VEVENT\nDTSTART:20250101T100000Z\nSUMMARY:Long folded line\nUID:1\nDTSTAMP:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n";

    #[test]
    fn canonical_form_ignores_order_folding_and_volatile() {
        let ig = ignore_list(None);
        let a = parse(A).unwrap();
        let b = parse(B).unwrap();
        assert_eq!(a.canonical(&ig), b.canonical(&ig));
        assert_ne!(a.canonical(&[]), b.canonical(&[]));
        let mut ev = Vec::new();
        a.find_all("VEVENT", &mut ev);
        assert_eq!(ev[0].address(), "VEVENT[uid=1]");
        assert_eq!(ev[0].prop_value("summary"), Some("Long folded line"));
    }

    #[test]
    fn rejects_non_calendar() {
        assert!(parse("hello").is_err());
        assert!(parse("").is_err());
        assert!(parse("BEGIN:VCALENDAR\nBEGIN:VEVENT\n").is_err());
    }
}
