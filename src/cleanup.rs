//! `caldav-conformance cleanup`: find scratch collections that interrupted runs left in the
//! calendar home (matched only by the scratch name pattern of `scratch.rs`, `ccf-XXXXXXXX-N`)
//! and delete them.

use crate::http::{Client, Request, Scope};
use crate::scratch::is_scratch_name;
use crate::xml::{self, Multistatus};
use url::Url;

/// List (and unless `dry_run`, delete) leftover scratch collections under `home`.
pub async fn run(client: &Client, home: &Url, dry_run: bool) -> Result<Vec<(Url, String)>, String> {
    let req = Request::new("PROPFIND", home.clone()).header("Depth", "1").xml(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>"#,
    );
    let resp = client.send(&req).await.map_err(|e| e.to_string())?;
    if resp.status != 207 {
        return Err(format!("PROPFIND {home} answered {}", resp.status));
    }
    let ms = xml::parse(&resp.body).and_then(|r| Multistatus::from_element(&r))?;
    let origin = home.join("/").map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for r in &ms.responses {
        let name = r.href.rsplit('/').next().unwrap_or("");
        if !is_scratch_name(name) {
            continue;
        }
        let url = home
            .join(&format!("{name}/"))
            .map_err(|e| format!("bad href {}: {e}", r.raw_href))?;
        if dry_run {
            out.push((url, "would delete".into()));
            continue;
        }
        let del = Request::new("DELETE", url.clone());
        Scope::new(&[&url]).check(&origin, &del)?;
        let status = match client.send(&del).await {
            Ok(r) => format!("DELETE → {}", r.status),
            Err(e) => format!("DELETE failed: {e}"),
        };
        out.push((url, status));
    }
    Ok(out)
}
