//! Tests of the HTML reports: hostile server text cannot inject markup or script, the policy
//! hashes match the inline style and script, and diff lines are marked.

use super::*;
use serde_json::json;

/// Text a hostile server (or scenario file) could put anywhere in the results.
const EVIL: &str = "\"'><script>alert(1)</script><img src=x onerror=alert(2)><a href=javascript:alert(3)>x</a><!-- ]]> </pre></details><style>*{}</style>\u{0}\u{1b}";

fn hostile_results(name: &str) -> Results {
    let failure = json!({
        "step": "step 1", "location": EVIL, "method": EVIL, "path": EVIL, "desc": EVIL,
        "summary": EVIL, "cause": EVIL,
        "diffs": [{"path": EVIL, "expected": EVIL, "got": EVIL}],
        "unified": format!("--- expected\n+++ actual\n@@ -1 +1 @@\n-{EVIL}\n+{EVIL}x\n ctx {EVIL}\n"),
        "exchange": format!("> GET /{EVIL}\n< 200\n<   {EVIL}\n"),
        "also": [EVIL], "spec": [EVIL], "requirement": EVIL, "level": "MUST", "about": EVIL
    });
    let v = json!({
        "tool": EVIL, "date": EVIL, "server_name": name, "server_version": EVIL, "server": EVIL,
        "product": EVIL, "profile": EVIL, "identity": {"X-Evil": EVIL}, "home": EVIL, "features": [EVIL],
        "scenarios": [
            {"name": format!("{EVIL}/g::{EVIL}"), "area": EVIL, "spec": [EVIL], "level": "MUST",
             "outcome": "fail", "reason": EVIL, "failure": failure, "baseline": "regression",
             "baseline_detail": EVIL, "violates": EVIL, "issue": "javascript:alert(4)", "millis": 1},
            {"name": "rfc4791/a::ok", "spec": ["RFC4791 §1"], "level": "SHOULD", "outcome": "pass",
             "millis": 2}
        ]
    });
    match serde_json::from_value(v) {
        Ok(r) => r,
        Err(e) => panic!("test results do not parse: {e}"),
    }
}

const TAGS: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "script",
    "header",
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "main",
    "section",
    "dl",
    "dt",
    "dd",
    "span",
    "div",
    "svg",
    "rect",
    "button",
    "b",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "form",
    "fieldset",
    "legend",
    "label",
    "input",
    "select",
    "option",
    "details",
    "summary",
    "a",
    "blockquote",
    "footer",
    "small",
    "pre",
    "mark",
    "ul",
    "li",
    "aside",
    "code",
];

const ATTRS: &[&str] = &[
    "lang",
    "charset",
    "http-equiv",
    "content",
    "name",
    "class",
    "id",
    "href",
    "title",
    "type",
    "value",
    "checked",
    "hidden",
    "colspan",
    "viewBox",
    "preserveAspectRatio",
    "role",
    "x",
    "y",
    "width",
    "height",
    "placeholder",
    "autocomplete",
    "rel",
    "for",
];

/// Every tag of the page, with its attributes, checked against what the renderer writes:
/// anything else came from the data.
fn check_markup(html: &str) {
    let body = html.split("<style>").collect::<Vec<_>>();
    assert_eq!(body.len(), 2, "exactly one style element");
    let (before, after) = (
        body[0],
        body[1].split_once("</style>").map_or("", |(_, a)| a),
    );
    let (markup, script) = after.split_once("<script>").unwrap_or((after, ""));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "exactly one script element"
    );
    let code = script.split_once("</script>").map_or("", |(c, _)| c);
    assert!(
        code == REPORT_JS || code == matrix::MATRIX_JS,
        "the script is only our code"
    );
    for part in [before, markup] {
        let mut rest = part;
        while let Some(i) = rest.find('<') {
            rest = &rest[i + 1..];
            let end = rest.find('>').unwrap_or(rest.len());
            let tag = &rest[..end];
            rest = &rest[end..];
            if tag.starts_with('!') || tag.starts_with('/') {
                assert!(
                    tag == "!DOCTYPE html" || TAGS.contains(&&tag[1..]),
                    "<{tag}>"
                );
                continue;
            }
            check_tag(tag);
        }
    }
}

fn check_tag(tag: &str) {
    let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
    assert!(TAGS.contains(&&tag[..name_end]), "unexpected tag <{tag}>");
    let mut rest = tag[name_end..].trim_start();
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let attr = &rest[..n];
        assert!(
            ATTRS.contains(&attr) || attr.starts_with("data-"),
            "attribute {attr:?} in <{tag}>"
        );
        rest = &rest[n..];
        if let Some(v) = rest.strip_prefix("=\"") {
            let close = v
                .find('"')
                .unwrap_or_else(|| panic!("unterminated value in <{tag}>"));
            if attr == "href" {
                let value = &v[..close];
                assert!(
                    value.starts_with('#') || value.starts_with("https://"),
                    "href {value:?}"
                );
            }
            rest = &v[close + 1..];
        }
        rest = rest.trim_start();
    }
}

#[test]
fn hostile_text_cannot_inject_markup_or_script() {
    let r = hostile_results(EVIL);
    let ctx = Context::new(Some("https://u:p@example.test/dav/?token=secret#x"), &[]);
    let html = report(&r, &[], &ctx);
    check_markup(&html);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        !html.contains("alert(4)\""),
        "a javascript: issue link is not rendered"
    );
    assert!(
        !html.contains("secret") && !html.contains("u:p@"),
        "URL credentials and query dropped"
    );
    assert!(!html.contains('\u{0}') && !html.contains('\u{1b}'));
    let index = index(&[hostile_results(EVIL), hostile_results("radicale")]);
    check_markup(&index);
}

#[test]
fn the_policy_allows_exactly_the_inline_style_and_script() {
    let html = report(&hostile_results("x"), &[], &Context::default());
    assert!(html.contains(&format!("style-src {}", csp_hash(CSS))));
    assert!(html.contains(&format!("script-src {}", csp_hash(REPORT_JS))));
    assert!(html.contains("default-src 'none'"));
    assert!(html.contains(&format!("<style>{CSS}</style>")));
    assert!(html.contains(&format!("<script>{REPORT_JS}</script>")));
    let index = index(&[hostile_results("x")]);
    assert!(index.contains(&format!("script-src {}", csp_hash(matrix::MATRIX_JS))));
}

#[test]
fn counts_and_rows_follow_the_results() {
    let html = report(&hostile_results("x"), &[], &Context::default());
    assert!(html.contains("data-count=\"fail\">1<") && html.contains("data-count=\"pass\">1<"));
    assert_eq!(html.matches("<details class=\"sc\"").count(), 2);
    assert!(html.contains("id=\"rfc4791/a::ok\""));
    assert!(html.contains("<span class=\"bl b-regression\">regression</span>"));
}

#[test]
fn unified_diff_marks_the_changed_part_of_paired_lines() {
    let u = unified(
        "--- expected\n+++ actual\n@@ -1,3 +1,3 @@\n a\n-DTSTART:2026<\n+DTSTART:2027<\n-x\n",
    );
    assert!(
        u.contains("<span class=\"del\">-DTSTART:202<mark>6</mark>&lt;\n</span>"),
        "{u}"
    );
    assert!(
        u.contains("<span class=\"add\">+DTSTART:202<mark>7</mark>&lt;\n</span>"),
        "{u}"
    );
    assert!(u.contains("<span class=\"del\">-x\n</span>"), "{u}");
    assert!(u.contains("<span class=\"hunk\">@@"), "{u}");
    assert_eq!(mark_change("abc", "abc"), "abc");
    assert_eq!(mark_change("ab", "abab"), "ab");
    assert_eq!(mark_change("é<", "è<"), "<mark>é</mark>&lt;");
}

#[test]
#[should_panic(expected = "unexpected tag")]
fn the_markup_check_sees_an_injected_tag() {
    check_markup(&page(
        "t",
        "<p>ok</p><img src=x onerror=alert(1)>",
        REPORT_JS,
    ));
}

#[test]
#[should_panic(expected = "attribute")]
fn the_markup_check_sees_an_injected_attribute() {
    check_markup(&page(
        "t",
        "<p class=\"a\" onclick=\"alert(1)\">x</p>",
        REPORT_JS,
    ));
}
