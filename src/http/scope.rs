//! The scope guard: a request to another origin than the server under test is refused, and so
//! is a writing request (or its Destination) outside the scenario's scratch collections,
//! whatever the path says (dot segments, encoded slashes, method-override headers).

use super::{same_origin, Request};
use url::Url;

/// Writes are refused unless they target one of these collection paths (or below them).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Decoded paths with a trailing slash.
    allowed: Vec<String>,
}

/// The methods that write (a request naming one, or overriding its method with one, is
/// checked against the scope).
pub(crate) const WRITE_METHODS: &[&str] = &[
    "PUT",
    "DELETE",
    "MKCALENDAR",
    "MKCOL",
    "PROPPATCH",
    "MOVE",
    "COPY",
    "POST",
    "LOCK",
    "UNLOCK",
    "ACL",
];

impl Scope {
    pub fn new(collections: &[&Url]) -> Scope {
        Scope {
            allowed: collections
                .iter()
                .filter_map(|u| decoded_path(u.path()).ok())
                .map(|p| if p.ends_with('/') { p } else { format!("{p}/") })
                .collect(),
        }
    }

    /// Refuse a request to another origin than the server under test (whatever its method:
    /// credentials must never travel elsewhere), and a writing request whose target (or
    /// Destination) is outside the scope. A read carrying a method-override header that names
    /// a writing method (`X-HTTP-Method-Override: DELETE`) counts as that write.
    pub fn check(&self, origin: &Url, req: &Request) -> Result<(), String> {
        if !same_origin(&req.url, origin) {
            return Err(format!(
                "scope guard refused {} {}: another origin than the server under test",
                req.method, req.url
            ));
        }
        if !is_write(req) {
            return Ok(());
        }
        self.check_url(origin, &req.url, &req.method)?;
        if let Some(d) = req.get_header("Destination") {
            let dest = origin.join(d).map_err(|e| {
                format!(
                    "scope guard refused {}: bad Destination {d:?}: {e}",
                    req.method
                )
            })?;
            self.check_url(origin, &dest, "Destination of")?;
        }
        Ok(())
    }

    fn check_url(&self, origin: &Url, u: &Url, what: &str) -> Result<(), String> {
        if !same_origin(u, origin) {
            return Err(format!(
                "scope guard refused {what} {u}: another origin than the server under test"
            ));
        }
        let p =
            decoded_path(u.path()).map_err(|e| format!("scope guard refused {what} {u}: {e}"))?;
        let with_slash = if p.ends_with('/') {
            p.clone()
        } else {
            format!("{p}/")
        };
        if self
            .allowed
            .iter()
            .any(|a| with_slash.starts_with(a.as_str()))
        {
            Ok(())
        } else {
            Err(format!(
                "scope guard refused {what} {}: outside this scenario's scratch collections",
                u.path()
            ))
        }
    }
}

/// Headers some servers and frameworks honour to turn a POST or GET into another method.
const METHOD_OVERRIDE_HEADERS: &[&str] = &[
    "X-HTTP-Method-Override",
    "X-HTTP-Method",
    "X-Method-Override",
];

fn is_write_method(m: &str) -> bool {
    WRITE_METHODS.contains(&m.to_ascii_uppercase().as_str())
}

/// True when the request writes: a writing method, or a method-override header naming one.
pub fn is_write(req: &Request) -> bool {
    is_write_method(&req.method)
        || METHOD_OVERRIDE_HEADERS
            .iter()
            .filter_map(|h| req.get_header(h))
            .any(|m| is_write_method(m.trim()))
}

/// Percent-decode a path and refuse dot segments and encoded slashes that could escape a prefix.
fn decoded_path(path: &str) -> Result<String, String> {
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || path.contains('\\') {
        return Err("encoded slash in path".into());
    }
    let d = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| "path is not UTF-8 after decoding".to_string())?;
    if d.split('/').any(|s| s == ".." || s == ".") {
        return Err("dot segment in path".into());
    }
    Ok(d.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_guard_refuses_escapes() {
        let origin = Url::parse("http://h:1/").unwrap();
        let cal = Url::parse("http://h:1/home/ccf-1-1/").unwrap();
        let s = Scope::new(&[&cal]);
        let ok = Request::new("PUT", Url::parse("http://h:1/home/ccf-1-1/a.ics").unwrap());
        assert!(s.check(&origin, &ok).is_ok());
        for bad in [
            "http://h:1/home/other/a.ics",
            "http://h:1/home/ccf-1-1/%2e%2e/x.ics",
            "http://h:1/home/ccf-1-1%2f..%2fx",
            "http://other:1/home/ccf-1-1/a.ics",
            "https://h:1/home/ccf-1-1/a.ics",
            "http://h:1/home/ccf-1-10/a.ics",
        ] {
            let r = Request::new("DELETE", Url::parse(bad).unwrap());
            assert!(s.check(&origin, &r).is_err(), "{bad}");
        }
        let mv = ok.clone().header("Destination", "http://h:1/home/x.ics");
        let mv = Request {
            method: "MOVE".into(),
            ..mv
        };
        assert!(s.check(&origin, &mv).is_err());
        let get = Request::new("GET", Url::parse("http://h:1/anything").unwrap());
        assert!(s.check(&origin, &get).is_ok());
        // Reads go to the server under test only (credentials must not travel elsewhere).
        for other in ["http://other:1/x", "https://h:1/x", "http://h:2/x"] {
            let r = Request::new("GET", Url::parse(other).unwrap());
            assert!(s.check(&origin, &r).is_err(), "{other}");
        }
        // A method override turns a read into the write it names.
        let sneaky = Request::new("GET", Url::parse("http://h:1/home/other/").unwrap())
            .header("X-HTTP-Method-Override", "delete");
        assert!(s.check(&origin, &sneaky).is_err());
    }
}
