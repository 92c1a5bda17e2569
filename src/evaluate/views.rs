//! What a client holds after talking to the server, and the checks over it: the `members` view
//! of a collection captured from a multistatus (each non-collection member with its ETag, or
//! marked removed), the `converges` check (a base view with incremental deltas applied must give
//! the server's listing: no change lost, none left stale), and `one_of` (captured values taken
//! together form one of the allowed rows).

use crate::matching::Diff;
use crate::scenario::{Converges, OneOf, StatusSpec};
use crate::xml::{normalize_href, Multistatus, QName};
use std::collections::{BTreeMap, BTreeSet};

/// How a removed member (a bare 404 response, RFC 6578 §3.5.2) is written in a view.
const REMOVED: &str = "(removed)";

/// The members of `collection` a multistatus lists (responses strictly below it), one
/// `href<TAB>etag` line each in response order (`(removed)` for a bare 404 DAV:status,
/// `(no etag)` when no 200 DAV:getetag is given).
pub fn members(ms: &Multistatus, collection: &str) -> String {
    let getetag = QName::new("DAV:", "getetag");
    let below = format!("{}/", normalize_href(collection).trim_end_matches('/'));
    let mut out = String::new();
    for r in ms.responses.iter().filter(|r| r.href.starts_with(&below)) {
        let etag = match (r.status, r.prop(&getetag)) {
            (Some(404), _) if r.propstats.is_empty() => REMOVED.to_string(),
            (_, Some((200, el))) => el.deep_text().trim().to_string(),
            _ => "(no etag)".to_string(),
        };
        out.push_str(&format!("{}\t{etag}\n", r.href));
    }
    out
}

/// The status an answer gives the resource at `href` (a `status` capture with `href`): in a
/// 207, the bare DAV:status of its response, or 200 when the response has propstats (None
/// when the multistatus does not mention it); otherwise the response's own status.
pub fn status_of<'a>(
    href: &str,
    resp: &crate::http::Response,
    ctx: &crate::matching::Ctx,
    parsed: &crate::evaluate::ParsedMs<'a>,
) -> Option<String> {
    if resp.status != 207 {
        return Some(resp.status.to_string());
    }
    let ms = parsed().as_ref().ok()?;
    let r = ms.response(&ctx.href(href))?;
    let code = match r.status {
        Some(s) if r.propstats.is_empty() => s,
        _ => 200,
    };
    Some(code.to_string())
}

fn parse(view: &str) -> Vec<(&str, &str)> {
    view.lines().filter_map(|l| l.split_once('\t')).collect()
}

type Captured = BTreeMap<String, Option<String>>;

fn value(captured: &Captured, name: &str) -> Option<String> {
    captured.get(name).cloned().flatten()
}

/// The `converges` check: see `scenario::Converges`.
pub fn converges(c: &Converges, captured: &Captured) -> Vec<Diff> {
    if let [a, b] = &c.unless_changed[..] {
        if value(captured, a) != value(captured, b) {
            return Vec::new(); // the polled tag changed: the client looks again
        }
    }
    // The path names only the listing, so that it is the same whichever of several clients
    // (checks against one listing) missed a change: baselines compare it.
    let path = format!("converges({})", c.to);
    let views = c.from.join(", ");
    let diff = |expected: String, got: String| Diff {
        path: path.clone(),
        expected,
        got,
    };
    let mut diffs = Vec::new();
    let mut view: BTreeMap<String, String> = BTreeMap::new();
    for name in &c.from {
        let text = value(captured, name).unwrap_or_default();
        let mut seen = BTreeSet::new();
        for (href, etag) in parse(&text) {
            if !seen.insert(href) {
                diffs.push(Diff {
                    path: format!("{path}/{name}"),
                    expected: "each member URL at most once in one response".into(),
                    got: format!("{href} listed more than once"),
                });
            }
            if etag == REMOVED {
                view.remove(href);
            } else {
                view.insert(href.to_string(), etag.to_string());
            }
        }
    }
    let listing = value(captured, &c.to).unwrap_or_default();
    let want: BTreeMap<&str, &str> = parse(&listing)
        .into_iter()
        .filter(|(_, e)| *e != REMOVED)
        .collect();
    for (href, etag) in &want {
        match view.get(*href) {
            None => diffs.push(diff(
                format!("{href} with ETag {etag}, as the server lists it"),
                format!("never delivered: not in {views}"),
            )),
            Some(e) if e != etag => diffs.push(diff(
                format!("{href} with ETag {etag}, as the server lists it"),
                format!("ETag {e} after {views}: a change was not delivered"),
            )),
            Some(_) => {}
        }
    }
    for (href, e) in &view {
        if !want.contains_key(href.as_str()) {
            diffs.push(diff(
                format!("no {href}: the server does not list it"),
                format!("still held (ETag {e}) after {views}: its removal was not delivered"),
            ));
        }
    }
    diffs
}

/// Whether a `one_of` cell matches a captured value: `2xx` a status class, `4xx|5xx` any of
/// the alternatives, else exact text.
fn cell_matches(cell: &str, v: Option<&str>) -> bool {
    let Some(v) = v else { return false };
    cell.split('|').map(str::trim).any(|alt| {
        if alt.len() == 3 && alt.ends_with("xx") {
            let class = StatusSpec::Class(alt.to_string());
            v.parse::<u16>().is_ok_and(|c| class.matches(c))
        } else {
            alt == v
        }
    })
}

/// The `one_of` check: see `scenario::OneOf`.
pub fn one_of(o: &OneOf, captured: &Captured) -> Vec<Diff> {
    let vals: Vec<Option<String>> = o.values.iter().map(|n| value(captured, n)).collect();
    let fits = |row: &Vec<String>| {
        row.len() == vals.len()
            && row
                .iter()
                .zip(&vals)
                .all(|(c, v)| cell_matches(c, v.as_deref()))
    };
    if o.rows.iter().any(fits) {
        return Vec::new();
    }
    let rows: Vec<String> = o
        .rows
        .iter()
        .map(|r| format!("({})", r.join(", ")))
        .collect();
    let got: Vec<String> = vals
        .iter()
        .map(|v| v.clone().unwrap_or_else(|| "(absent)".into()))
        .collect();
    vec![Diff {
        path: format!("one_of({})", o.values.join(", ")),
        expected: format!("one of {}", rows.join(" | ")),
        got: format!("({})", got.join(", ")),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(pairs: &[(&str, &str)]) -> Captured {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect()
    }

    #[test]
    fn members_lists_objects_with_etags_and_removals() {
        let body = br#"<D:multistatus xmlns:D="DAV:"><D:sync-token>t</D:sync-token>
<D:response><D:href>/c/</D:href><D:propstat><D:prop><D:getetag>"c"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>/c/a.ics</D:href><D:propstat><D:prop><D:getetag>"1"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>/c/b.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>
</D:multistatus>"#;
        let ms = Multistatus::from_element(&crate::xml::parse(body).unwrap()).unwrap();
        assert_eq!(
            members(&ms, "/c/"),
            "/c/a.ics\t\"1\"\n/c/b.ics\t(removed)\n"
        );
        assert_eq!(members(&ms, "http://h/c"), members(&ms, "/c/"));
        assert_eq!(members(&ms, "/d/"), "");
    }

    #[test]
    fn a_client_view_converges_or_names_what_it_missed() {
        let c = Converges {
            from: vec!["base".into(), "d1".into(), "d2".into()],
            to: "list".into(),
            unless_changed: Vec::new(),
        };
        let ok = cap(&[
            ("base", "/a\t\"1\"\n/x\t\"9\"\n"),
            ("d1", "/b\t\"2\"\n/x\t(removed)\n"),
            ("d2", "/a\t\"3\"\n"),
            ("list", "/a\t\"3\"\n/b\t\"2\"\n"),
        ]);
        assert!(converges(&c, &ok).is_empty());
        let lost = cap(&[
            ("base", "/x\t\"9\"\n"),
            ("d1", "/a\t\"1\"\n/a\t\"1\"\n"),
            ("d2", ""),
            ("list", "/a\t\"2\"\n/b\t\"2\"\n"),
        ]);
        let d = converges(&c, &lost);
        let text: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(d.len(), 4, "{text:?}");
        assert!(text[0].contains("listed more than once"));
        assert!(text[1].contains("ETag \"1\""));
        assert!(text[2].contains("never delivered"));
        assert!(text[3].contains("removal was not delivered"));
        let polled = Converges {
            from: vec!["base".into()],
            to: "list".into(),
            unless_changed: vec!["t1".into(), "t2".into()],
        };
        let mut v = cap(&[
            ("base", ""),
            ("list", "/a\t\"1\"\n"),
            ("t1", "x"),
            ("t2", "y"),
        ]);
        assert!(converges(&polled, &v).is_empty());
        v.insert("t2".into(), Some("x".into()));
        assert_eq!(converges(&polled, &v).len(), 1);
    }

    #[test]
    fn one_of_matches_rows_with_status_classes() {
        let o = OneOf {
            values: vec!["mk".into(), "del".into()],
            rows: vec![
                vec!["201".into(), "2xx".into()],
                vec!["201".into(), "404".into()],
            ],
        };
        assert!(one_of(&o, &cap(&[("mk", "201"), ("del", "204")])).is_empty());
        assert!(one_of(&o, &cap(&[("mk", "201"), ("del", "404")])).is_empty());
        let alt = OneOf {
            values: vec!["mk".into()],
            rows: vec![vec!["4xx|5xx".into()]],
        };
        assert!(one_of(&alt, &cap(&[("mk", "503")])).is_empty());
        assert!(!one_of(&alt, &cap(&[("mk", "201")])).is_empty());
        let d = one_of(&o, &cap(&[("mk", "405"), ("del", "204")]));
        assert_eq!(d[0].path, "one_of(mk, del)");
        assert_eq!(d[0].got, "(405, 204)");
    }
}
