//! Identifying servers that send no identifying header (Radicale, Xandikos, dav-server, a
//! sabre/dav with its version header turned off) from what they answer to harmless reads:
//! GET on the folder above the principal (Radicale redirects to its web interface `.web`,
//! Xandikos serves a page naming itself), GET on a member of the home that does not exist
//! (each server's own not-found text), and the exact form of the OPTIONS `DAV` header.

use crate::http::{Client, Request, Response};
use url::Url;

/// What the reads answered; `None` where the request failed.
pub struct Answers<'a> {
    pub root: Option<&'a Response>,
    pub absent: Option<&'a Response>,
    pub options: &'a Response,
}

fn body(r: Option<&Response>) -> String {
    r.map(|r| String::from_utf8_lossy(&r.body).trim().to_string())
        .unwrap_or_default()
}

/// The product and the evidence for it, e.g. (`Radicale`, `GET / redirects to /.web …`).
pub fn classify(a: &Answers) -> Option<(String, String)> {
    let root_body = body(a.root);
    let absent_body = body(a.absent);
    let server = a
        .options
        .header("Server")
        .unwrap_or("")
        .to_ascii_lowercase();
    let found = |p: &str, why: String| Some((p.to_string(), why));
    if let Some(loc) = a
        .root
        .filter(|r| (300..400).contains(&r.status))
        .and_then(|r| r.header("Location"))
        .filter(|l| l.trim_end_matches('/').ends_with("/.web") || *l == ".web")
    {
        return found(
            "Radicale",
            format!("GET on the server root redirects to {loc} (Radicale's web interface)"),
        );
    }
    if absent_body == "The requested resource could not be found." {
        return found(
            "Radicale",
            "a missing resource answers Radicale's not-found text".into(),
        );
    }
    if root_body.contains("Xandikos") {
        return found(
            "Xandikos",
            "GET on the server root serves a page naming Xandikos".into(),
        );
    }
    if absent_body.starts_with("Path /")
        && absent_body.ends_with(" not found.")
        && server.contains("aiohttp")
    {
        return found(
            "Xandikos",
            "a missing resource answers Xandikos's not-found text (aiohttp)".into(),
        );
    }
    if absent_body.contains("Sabre\\DAV\\Exception") {
        let version = absent_body
            .split("<s:sabredav-version>")
            .nth(1)
            .and_then(|v| v.split('<').next())
            .map(|v| format!(" {}", v.trim()))
            .unwrap_or_default();
        return found(
            &format!("sabre/dav{version}"),
            "a missing resource answers a Sabre\\DAV\\Exception error body".into(),
        );
    }
    dav_server(a.options)
}

/// The dav-server crate (Rust): `DAV: 1,2,3,sabredav-partialupdate` written without spaces,
/// LOCK in Allow, and no Server header.
fn dav_server(options: &Response) -> Option<(String, String)> {
    let dav = options.header_all("DAV").join(",");
    let allow = options.header("Allow").unwrap_or("");
    let tight = dav.starts_with("1,2,3,sabredav-partialupdate") && !dav.contains(' ');
    (tight && allow.contains("LOCK") && options.header("Server").is_none()).then(|| {
        (
            "dav-server".to_string(),
            format!("OPTIONS answers `DAV: {dav}` with LOCK and no Server header (the dav-server crate)"),
        )
    })
}

/// Send the two GETs (reads only: safe in `--read-only` runs) and classify the answers.
/// `base` is the principal (or the home): its parent folder is taken as the server's root.
pub async fn guess(
    client: &Client,
    base: &Url,
    home: &Url,
    options: &Response,
) -> Option<(String, String)> {
    let root = base.join("..").ok()?;
    let absent = home
        .join(&format!("ccf-absent-{:08x}", rand::random::<u32>()))
        .ok()?;
    let root = client.send(&Request::new("GET", root)).await.ok();
    let absent = client.send(&Request::new("GET", absent)).await.ok();
    classify(&Answers {
        root: root.as_ref(),
        absent: absent.as_ref(),
        options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            elapsed: std::time::Duration::ZERO,
        }
    }

    /// What the fleet's servers answered (2026-12).
    #[test]
    fn fleet_fingerprints() {
        let wsgi = [("Server", "WSGIServer/0.2 CPython/3.11.7")];
        let aio = [("Server", "Python/3.11 aiohttp/3.14.5")];
        let opts = resp(200, &wsgi, "");
        let radicale_root = resp(302, &[("Location", "/.web")], "Redirected to /.web");
        let radicale_404 = resp(404, &wsgi, "The requested resource could not be found.");
        let product = |root: Option<&Response>, absent: Option<&Response>, o: &Response| {
            classify(&Answers {
                root,
                absent,
                options: o,
            })
            .map(|x| x.0)
        };
        assert_eq!(
            product(Some(&radicale_root), None, &opts).as_deref(),
            Some("Radicale")
        );
        assert_eq!(
            product(None, Some(&radicale_404), &opts).as_deref(),
            Some("Radicale")
        );
        let xopts = resp(200, &aio, "");
        let xroot = resp(200, &aio, "<title>Xandikos WebDAV server</title>");
        let x404 = resp(404, &aio, "Path /user1/ccf-absent-1 not found.");
        assert_eq!(
            product(Some(&xroot), None, &xopts).as_deref(),
            Some("Xandikos")
        );
        assert_eq!(
            product(None, Some(&x404), &xopts).as_deref(),
            Some("Xandikos")
        );
        let s404 = resp(404, &[], "<d:error><s:exception>Sabre\\DAV\\Exception\\NotFound</s:exception><s:sabredav-version>4.6.0</s:sabredav-version></d:error>");
        assert_eq!(
            product(None, Some(&s404), &opts).as_deref(),
            Some("sabre/dav 4.6.0")
        );
        let dopts = resp(
            200,
            &[
                ("dav", "1,2,3,sabredav-partialupdate,calendar-access"),
                ("allow", "OPTIONS,PROPFIND,COPY,LOCK,UNLOCK,REPORT"),
            ],
            "",
        );
        let d405 = resp(405, &[], "");
        assert_eq!(
            product(Some(&d405), Some(&resp(404, &[], "")), &dopts).as_deref(),
            Some("dav-server")
        );
        // Generic answers identify nothing.
        let plain = resp(404, &[("Server", "nginx")], "Not Found");
        assert_eq!(product(Some(&plain), Some(&plain), &plain), None);
        assert_eq!(product(None, None, &resp(200, &[], "")), None);
    }
}
