//! HTTP authentication schemes: parsing `WWW-Authenticate` challenges (RFC 9110 §11.6.1 syntax),
//! Basic credentials (RFC 7617, base64 from the `base64` crate) and Digest responses (RFC 7616:
//! MD5, SHA-256 and SHA-512-256, each also in its `-sess` variant, with `qop=auth` or the
//! RFC 2069 form when the server offers no qop), hashed with the RustCrypto `md-5` and `sha2`.

use base64::Engine as _;
use md5::Md5;
use sha2::{Digest as _, Sha256, Sha512_256};

/// `user:password` in standard base64 with padding (RFC 4648 §4), as Basic credentials are sent.
pub fn base64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// The `Authorization` value for Basic (RFC 7617 §2).
pub fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", base64(&format!("{user}:{pass}")))
}

/// One challenge of a `WWW-Authenticate` header: the scheme and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lower-cased scheme, e.g. `digest`.
    pub scheme: String,
    /// Parameters with lower-cased names and unquoted values, in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Split a `WWW-Authenticate` value into its challenges: a value may hold several
/// (`Digest realm="a", algorithm=SHA-256, Digest realm="a", Basic realm="a"`), and a
/// quoted parameter may hold commas. Never fails: what cannot be read is skipped.
pub fn challenges(header: &str) -> Vec<Challenge> {
    let b = header.as_bytes();
    let mut i = 0;
    let mut out: Vec<Challenge> = Vec::new();
    let is_tchar = |c: u8| !(c.is_ascii_whitespace() || c == b',' || c == b'=' || c == b'"');
    let skip = |i: &mut usize, also_commas: bool| {
        while *i < b.len() && (b[*i].is_ascii_whitespace() || also_commas && b[*i] == b',') {
            *i += 1;
        }
    };
    loop {
        skip(&mut i, true);
        if i >= b.len() {
            return out;
        }
        let start = i;
        while i < b.len() && is_tchar(b[i]) {
            i += 1;
        }
        let token = &header[start..i];
        let mut j = i;
        skip(&mut j, false);
        if token.is_empty() {
            // A stray `=` or `"`: skip one byte and go on.
            i += 1;
            continue;
        }
        if j < b.len() && b[j] == b'=' {
            // A parameter of the current challenge (or token68 padding: kept as a parameter).
            i = j + 1;
            skip(&mut i, false);
            let value = if i < b.len() && b[i] == b'"' {
                i += 1;
                let mut v = Vec::new();
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    v.push(b[i]);
                    i += 1;
                }
                i += 1;
                String::from_utf8_lossy(&v).into_owned()
            } else {
                let s = i;
                while i < b.len() && b[i] != b',' && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                header[s..i].to_string()
            };
            if let Some(c) = out.last_mut() {
                c.params.push((token.to_ascii_lowercase(), value));
            }
        } else {
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: Vec::new(),
            });
        }
    }
}

/// A Digest hash algorithm (RFC 7616 §3.3, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
    Sha512_256,
}

impl Algorithm {
    fn hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => format!("{:x}", Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => format!("{:x}", Sha256::digest(data.as_bytes())),
            Algorithm::Sha512_256 => format!("{:x}", Sha512_256::digest(data.as_bytes())),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512_256 => "SHA-512-256",
        }
    }
}

/// A Digest challenge the client can answer, with the state kept between requests.
#[derive(Debug, Clone)]
pub struct DigestChallenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// The `-sess` variant: A1 also holds the nonce and cnonce (RFC 7616 §3.4.2).
    pub session: bool,
    /// The server offers `qop=auth`; false means the RFC 2069 form (no qop, nc, cnonce).
    pub qop_auth: bool,
    /// Requests sent with this nonce so far.
    pub nc: u32,
    /// The client nonce, fixed for the life of the server nonce (so that a `-sess` A1 stays
    /// the same whichever request the server computes it from).
    pub cnonce: String,
}

impl DigestChallenge {
    /// Read a `digest` challenge. None when it lacks realm or nonce, names an algorithm this
    /// client does not implement, or offers only `qop=auth-int`.
    pub fn from_challenge(c: &Challenge) -> Option<DigestChallenge> {
        if c.scheme != "digest" {
            return None;
        }
        let alg = c.param("algorithm").unwrap_or("MD5").to_ascii_uppercase();
        let (base, session) = match alg.strip_suffix("-SESS") {
            Some(b) => (b, true),
            None => (alg.as_str(), false),
        };
        let algorithm = match base {
            "MD5" => Algorithm::Md5,
            "SHA-256" => Algorithm::Sha256,
            "SHA-512-256" => Algorithm::Sha512_256,
            _ => return None,
        };
        let qop_auth = match c.param("qop") {
            None => false,
            Some(q) if q.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")) => true,
            Some(_) => return None,
        };
        Some(DigestChallenge {
            realm: c.param("realm")?.to_string(),
            nonce: c.param("nonce")?.to_string(),
            opaque: c.param("opaque").map(str::to_string),
            algorithm,
            session,
            qop_auth,
            nc: 0,
            cnonce: format!("{:016x}", rand::random::<u64>()),
        })
    }

    /// The first Digest challenge this client can answer among all `WWW-Authenticate`
    /// values, in the server's order (RFC 7616 §3.7: its order of preference).
    pub fn pick(headers: &[&str]) -> Option<DigestChallenge> {
        headers
            .iter()
            .flat_map(|h| challenges(h))
            .find_map(|c| DigestChallenge::from_challenge(&c))
    }

    /// The `Authorization` value for the next request; counts it in `nc`.
    pub fn respond(&mut self, user: &str, pass: &str, method: &str, uri: &str) -> String {
        self.nc = self.nc.wrapping_add(1);
        let h = |s: &str| self.algorithm.hex(s);
        let nc = format!("{:08x}", self.nc);
        let mut ha1 = h(&format!("{user}:{}:{pass}", self.realm));
        if self.session {
            ha1 = h(&format!("{ha1}:{}:{}", self.nonce, self.cnonce));
        }
        let ha2 = h(&format!("{method}:{uri}"));
        let response = if self.qop_auth {
            h(&format!(
                "{ha1}:{}:{nc}:{}:auth:{ha2}",
                self.nonce, self.cnonce
            ))
        } else {
            h(&format!("{ha1}:{}:{ha2}", self.nonce))
        };
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, algorithm={}{}, response=\"{response}\"",
            quoted(user),
            quoted(&self.realm),
            quoted(&self.nonce),
            quoted(uri),
            self.algorithm.name(),
            if self.session { "-sess" } else { "" },
        );
        if self.qop_auth {
            out.push_str(&format!(
                ", qop=auth, nc={nc}, cnonce={}",
                quoted(&self.cnonce)
            ));
        }
        if let Some(o) = &self.opaque {
            out.push_str(&format!(", opaque={}", quoted(o)));
        }
        out
    }
}

/// A quoted-string (RFC 9110 §5.6.4): `"` and `\` escaped.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(""), "");
        assert_eq!(base64("f"), "Zg==");
        assert_eq!(base64("fo"), "Zm8=");
        assert_eq!(base64("foo"), "Zm9v");
        assert_eq!(base64("foobar"), "Zm9vYmFy");
        // RFC 7617 §2.
        assert_eq!(
            basic("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    /// A parameter of an `Authorization: Digest …` value (same syntax as a challenge).
    fn param(h: &str, name: &str) -> String {
        challenges(h)[0].param(name).unwrap_or_default().to_string()
    }

    /// RFC 7616 §3.9.1: the same request answered with SHA-256 and with MD5.
    #[test]
    fn digest_rfc7616_examples() {
        let www = [
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        ];
        // The server's order is its preference: SHA-256 first.
        let mut c = DigestChallenge::pick(&www).unwrap();
        assert_eq!(c.algorithm, Algorithm::Sha256);
        c.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ".into();
        let h = c.respond("Mufasa", "Circle of Life", "GET", "/dir/index.html");
        assert_eq!(
            param(&h, "response"),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        for (k, v) in [
            ("username", "Mufasa"),
            ("uri", "/dir/index.html"),
            ("algorithm", "SHA-256"),
            ("qop", "auth"),
            ("nc", "00000001"),
            ("opaque", "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"),
        ] {
            assert_eq!(param(&h, k), v, "{h}");
        }
        let mut c = DigestChallenge::pick(&www[1..]).unwrap();
        c.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ".into();
        let h = c.respond("Mufasa", "Circle of Life", "GET", "/dir/index.html");
        assert_eq!(param(&h, "response"), "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(param(&h, "algorithm"), "MD5");
    }

    /// RFC 2617 §3.5 (MD5 with qop=auth), and the RFC 2069 form without qop.
    #[test]
    fn digest_rfc2617_example() {
        let www = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let mut c = DigestChallenge::pick(&[www]).unwrap();
        assert_eq!(
            (c.algorithm, c.session, c.qop_auth),
            (Algorithm::Md5, false, true)
        );
        c.cnonce = "0a4f113b".into();
        let h = c.respond("Mufasa", "Circle Of Life", "GET", "/dir/index.html");
        assert_eq!(param(&h, "response"), "6629fae49393a05397450978507c4ef1");
        assert_eq!(param(&h, "nc"), "00000001");
        let h2 = c.respond("Mufasa", "Circle Of Life", "GET", "/dir/index.html");
        assert_eq!(param(&h2, "nc"), "00000002");
        let mut old = DigestChallenge::pick(&[
            r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
        ])
        .unwrap();
        let h = old.respond("Mufasa", "CircleOfLife", "GET", "/dir/index.html");
        // RFC 2069 §2.4.
        assert_eq!(param(&h, "response"), "1949323746fe6a43ef61f9606e7febea");
        assert!(!h.contains("qop=") && !h.contains("cnonce="), "{h}");
    }

    #[test]
    fn digest_sess_hashes_nonce_and_cnonce_into_a1() {
        let mut c = DigestChallenge::pick(&[
            r#"Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256-sess"#,
        ])
        .unwrap();
        assert!(c.session && c.algorithm == Algorithm::Sha256);
        c.cnonce = "c".into();
        let h = c.respond("u", "p", "PROPFIND", "/x/");
        let a = Algorithm::Sha256;
        let ha1 = a.hex(&format!("{}:n:c", a.hex("u:r:p")));
        let want = a.hex(&format!(
            "{ha1}:n:00000001:c:auth:{}",
            a.hex("PROPFIND:/x/")
        ));
        assert_eq!(param(&h, "response"), want);
        assert_eq!(param(&h, "algorithm"), "SHA-256-sess");
    }

    #[test]
    fn challenges_are_split_and_unsupported_ones_skipped() {
        let all = challenges(
            r#"Digest realm="a, b", algorithm=SHA-512, nonce="x", qop="auth", Digest realm="a, b", nonce="y\"z", qop=auth, Basic realm="réalm""#,
        );
        assert_eq!(
            all.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(),
            ["digest", "digest", "basic"]
        );
        assert_eq!(all[1].param("nonce"), Some("y\"z"));
        assert_eq!(all[2].param("realm"), Some("réalm"));
        // SHA-512 is not a Digest algorithm: the next challenge is taken.
        let c = DigestChallenge::pick(&[r#"Digest realm="a, b", algorithm=SHA-512, nonce="x", qop="auth", Digest realm="a, b", nonce="y\"z", qop=auth"#]).unwrap();
        assert_eq!((c.realm.as_str(), c.nonce.as_str()), ("a, b", "y\"z"));
        // Only auth-int offered, or no nonce: nothing this client can answer.
        assert!(
            DigestChallenge::pick(&[r#"Digest realm="r", nonce="n", qop="auth-int""#]).is_none()
        );
        assert!(DigestChallenge::pick(&[r#"Digest realm="r""#]).is_none());
        // Hostile input never panics.
        for h in [
            "",
            "=",
            "\"",
            "Digest \"",
            "Digest a=\"\\",
            "Digest ,,,=,\"é\"=é",
            "é=é é",
        ] {
            let _ = challenges(h);
            let _ = DigestChallenge::pick(&[h]);
        }
    }
}
