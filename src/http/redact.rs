//! Keeping credentials out of everything the suite prints: the password in its plain, escaped
//! and base64 (Basic) forms is replaced by `[redacted]`, and failure dumps of an exchange
//! never show the Authorization header, WWW-Authenticate or Set-Cookie values.

use super::{auth::base64, Client, Request, Response};
use std::fmt::Write as _;

impl Client {
    /// Redact the credentials from any text the suite prints: the password as such, as Rust
    /// and JSON escape it (`{:?}` in diffs), and the Basic credentials `user:password` in
    /// base64 (a server may echo the Authorization header back).
    pub fn redact(&self, text: &str) -> String {
        let Some(p) = &self.cfg.password else {
            return text.to_string();
        };
        let p = p.expose();
        let mut forms: Vec<String> = Vec::new();
        if let Some(u) = &self.cfg.user {
            let b = base64(&format!("{u}:{p}"));
            forms.push(b.trim_end_matches('=').to_string());
            forms.push(b);
        }
        if p.len() >= 3 {
            let escaped = format!("{p:?}");
            forms.push(escaped[1..escaped.len() - 1].to_string());
            forms.push(p.to_string());
        }
        // Longest first, so that a form containing another is replaced whole.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let mut out = text.to_string();
        for f in forms.iter().filter(|f| f.len() >= 3) {
            if out.contains(f.as_str()) {
                out = out.replace(f.as_str(), "[redacted]");
            }
        }
        out
    }
}

/// Render a request and response for a failure report; credentials are never included
/// (bodies are redacted before they are truncated, so that no part of a secret survives).
pub fn dump(client: &Client, req: &Request, resp: Option<&Response>, limit: usize) -> String {
    let mut s = format!("> {} {}\n", req.method, req.url);
    for (k, v) in &req.headers {
        let _ = writeln!(s, "> {k}: {v}");
    }
    if client.has_credentials() {
        let _ = writeln!(s, "> Authorization: [redacted]");
    }
    if let Some(b) = &req.body {
        s.push_str(&indent(
            &truncate(&client.redact(&String::from_utf8_lossy(b)), limit),
            ">   ",
        ));
    }
    if let Some(r) = resp {
        let _ = writeln!(s, "< {} ({} ms)", r.status, r.elapsed.as_millis());
        for (k, v) in &r.headers {
            let v = if k.eq_ignore_ascii_case("www-authenticate")
                || k.eq_ignore_ascii_case("set-cookie")
            {
                "[redacted]"
            } else {
                v
            };
            let _ = writeln!(s, "< {k}: {v}");
        }
        s.push_str(&indent(
            &truncate(&client.redact(&String::from_utf8_lossy(&r.body)), limit),
            "<   ",
        ));
    }
    client.redact(&s)
}

fn truncate(s: &str, limit: usize) -> String {
    if s.len() <= limit {
        return s.to_string();
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… ({} more bytes)", &s[..end], s.len() - end)
}

fn indent(s: &str, prefix: &str) -> String {
    let mut out = String::new();
    for l in s.lines() {
        let _ = writeln!(out, "{prefix}{}", l.trim_end_matches('\r'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::client;
    use super::*;

    #[test]
    fn redaction_covers_escaped_and_base64_forms() {
        let pass = r#"p"w\x<y"#;
        let c = client("alice", pass);
        let b64 = base64(&format!("alice:{pass}"));
        let text = format!(
            "a {pass} b {pass:?} c Basic {b64} d {}",
            b64.trim_end_matches('=')
        );
        let r = c.redact(&text);
        assert!(!r.contains(pass) && !r.contains(&b64), "{r}");
        assert!(!r.contains(b64.trim_end_matches('=')), "{r}");
        assert!(!r.contains(r#"p\"w"#), "{r}");
    }
}
