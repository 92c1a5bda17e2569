//! Which product the server under test is, from the headers servers name themselves with
//! (`Server`, `X-Sabre-Version`, `X-DAViCal-Version`, `X-Powered-By`, any `X-…-Version`) and
//! vendor DAV compliance classes; generic web-server and language tokens are not products.

use crate::http::Response;

/// Headers read for the product, besides any `X-…-Version`.
const IDENTIFYING: &[&str] = &[
    "Server",
    "X-Sabre-Version",
    "X-DAViCal-Version",
    "X-Powered-By",
    "X-Dav-Powered-By",
    "MicrosoftSharePointTeamServices",
];

/// Product tokens that name the web server, framework or language, not the DAV server.
const GENERIC: &[&str] = &[
    "apache",
    "asp.net",
    "caddy",
    "cpython",
    "express",
    "gunicorn",
    "hyper",
    "jetty",
    "kestrel",
    "lighttpd",
    "microsoft-iis",
    "mod_ssl",
    "nginx",
    "openresty",
    "openssl",
    "php",
    "python",
    "aiohttp",
    "tornado",
    "twistedweb",
    "uvicorn",
    "werkzeug",
    "wsgiserver",
];

/// Display names for tokens whose product is better known by another name.
const NAMES: &[(&str, &str)] = &[
    ("cyrus-http", "Cyrus IMAP"),
    ("davical", "DAViCal"),
    // SOGo answers as its framework, SOPE, which no other DAV server uses.
    ("sope", "SOGo (SOPE)"),
];

/// The identifying headers seen during discovery: the first value of each, in order.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub headers: Vec<(String, String)>,
}

impl Identity {
    /// Note the identifying headers of a response not seen before.
    pub fn record(&mut self, resp: &Response) {
        for (k, v) in &resp.headers {
            let wanted = IDENTIFYING.iter().any(|h| h.eq_ignore_ascii_case(k)) || {
                let l = k.to_ascii_lowercase();
                l.starts_with("x-") && l.ends_with("-version")
            };
            let seen = self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(k));
            if wanted && !seen && !v.trim().is_empty() {
                self.headers.push((canonical_name(k), v.trim().to_string()));
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The product and version, e.g. `sabre/dav 1.8.12`, `DAViCal 1.1.12`, `Cyrus IMAP 3.6.1`.
    pub fn product(&self, dav_classes: &[String]) -> Option<String> {
        if let Some(v) = self.get("X-Sabre-Version") {
            return Some(format!("sabre/dav {}", version_of(v).unwrap_or(v)));
        }
        let from_headers = [
            "X-DAViCal-Version",
            "Server",
            "X-Dav-Powered-By",
            "X-Powered-By",
        ]
        .iter()
        .filter_map(|h| self.get(h))
        .chain(
            self.headers
                .iter()
                .filter(|(n, _)| n.to_ascii_lowercase().ends_with("-version"))
                .map(|(_, v)| v.as_str()),
        )
        .find_map(product_in);
        from_headers.or_else(|| {
            dav_classes
                .iter()
                .any(|c| c.to_ascii_lowercase().starts_with("nextcloud-"))
                .then(|| "Nextcloud".to_string())
        })
    }
}

/// `x-davical-version` → `X-DAViCal-Version` (the client sees header names in lower case).
fn canonical_name(k: &str) -> String {
    if let Some(known) = IDENTIFYING.iter().find(|h| h.eq_ignore_ascii_case(k)) {
        return known.to_string();
    }
    k.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The leading dotted number of a version string: `3.6.1-Debian-3.6.1-4` → `3.6.1`.
fn version_of(v: &str) -> Option<&str> {
    let end = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let n = v[..end].trim_end_matches('.');
    (!n.is_empty()).then_some(n)
}

/// The first product token of a header value that names a DAV server (RFC 9110 §10.2.4
/// syntax: `name/version` tokens and `(comments)`), as `Name version`.
fn product_in(value: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut tokens = Vec::new();
    for t in value.split(|c: char| c.is_whitespace() || c == ';' || c == ',') {
        let opens = t.matches('(').count();
        let closes = t.matches(')').count();
        if depth == 0 && opens == 0 && !t.is_empty() {
            tokens.push(t);
        }
        depth = (depth + opens).saturating_sub(closes);
    }
    for (i, t) in tokens.iter().enumerate() {
        let (name, ver) = t.split_once('/').unwrap_or((t, ""));
        let lname = name.to_ascii_lowercase();
        if name.is_empty()
            || name.starts_with(|c: char| c.is_ascii_digit())
            || GENERIC.contains(&lname.as_str())
        {
            continue;
        }
        // `SOPE 4.9.37/WebDAV`: a bare name followed by its version.
        let ver = version_of(ver).or_else(|| {
            tokens
                .get(i + 1)
                .filter(|_| ver.is_empty())
                .and_then(|n| version_of(n))
        });
        let display = NAMES
            .iter()
            .find(|(k, _)| *k == lname)
            .map_or(name, |(_, d)| d);
        return Some(match (ver, display.strip_suffix(')')) {
            // `SOGo (SOPE)` + 4.9.37 → `SOGo (SOPE 4.9.37)`.
            (Some(v), Some(open)) => format!("{open} {v})"),
            (Some(v), None) => format!("{display} {v}"),
            (None, _) => display.to_string(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(headers: &[(&str, &str)]) -> Identity {
        let mut id = Identity::default();
        id.record(&Response {
            status: 200,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
            elapsed: std::time::Duration::ZERO,
        });
        id
    }

    /// What the fleet's servers send (OPTIONS and PROPFIND answers, 2026-11).
    #[test]
    fn fleet_products() {
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Headers, Option<&str>)] = &[
            (
                &[("X-Powered-By", "PHP/8.2.36"), ("X-Sabre-Version", "1.8.12")],
                Some("sabre/dav 1.8.12"),
            ),
            (
                &[
                    ("Server", "1.1"),
                    ("X-Powered-By", "PHP/8.2.36"),
                    ("X-DAViCal-Version", "DAViCal/1.1.12; DB/1.3.5"),
                ],
                Some("DAViCal 1.1.12"),
            ),
            (
                &[("server", "Cyrus-HTTP/3.6.1-Debian-3.6.1-4+deb12u5 Cyrus-SASL/2.1.28 Lib/XML2.9.14 OpenSSL/3.0.0-dev")],
                Some("Cyrus IMAP 3.6.1"),
            ),
            (&[("Server", "SOPE 4.9.37/WebDAV")], Some("SOGo (SOPE 4.9.37)")),
            (&[("Server", "Calypso/2.0 Python/3.11.2")], Some("Calypso 2.0")),
            (&[("Server", "WSGIServer/0.2 CPython/3.11.7")], None),
            (&[("Server", "Python/3.11 aiohttp/3.14.5")], None),
            (&[("Server", "Apache/2.4 (Debian) Radicale/3.9")], Some("Radicale 3.9")),
            (&[("X-Foo-Version", "Foo/2")], Some("Foo 2")),
            (&[], None),
        ];
        for (headers, want) in cases {
            let id = identity(headers);
            assert_eq!(id.product(&[]).as_deref(), *want, "{headers:?}");
        }
        let id = identity(&[
            ("server", "nginx"),
            ("x-davical-version", "DAViCal/1.1.12"),
            ("x-foo-version", "2"),
        ]);
        let names: Vec<&str> = id.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["Server", "X-DAViCal-Version", "X-Foo-Version"]);
        assert_eq!(
            Identity::default()
                .product(&["nextcloud-checksum-update".into()])
                .as_deref(),
            Some("Nextcloud")
        );
        // Hostile values: nothing panics.
        for v in ["(", ")", "/", "a/", "/1", "((a) b", "é/é", "1.2.3"] {
            let _ = identity(&[("Server", v)]).product(&[]);
        }
    }
}
