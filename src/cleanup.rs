//! `caldav-conformance cleanup`: find scratch collections that interrupted runs left in the
//! calendar home (matched only by the scratch name pattern of `scratch.rs`, `ccf-XXXXXXXX-N`),
//! including ones a server keeps in its trash bin (Nextcloud lists a deleted calendar in the
//! home as `deleted-calendar`), and delete them for good (`purge.rs`: DELETE, past the trash
//! bin, checked with PROPFIND). What could not be removed is said plainly.

use crate::http::{Client, Request};
use crate::purge::{delete_for_good, Removal, Via};
use crate::scratch::is_scratch_name;
use crate::xml::{self, Multistatus, QName, DAV};
use url::Url;

/// One scratch collection found in the home, and what became of it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub url: Url,
    /// `would delete`, `deleted …`, or why it is still there.
    pub what: String,
    /// True when it could not be removed for good (or not known to be gone).
    pub left: bool,
}

/// List (and unless `dry_run`, delete for good) leftover scratch collections under `home`.
pub async fn run(client: &Client, home: &Url, dry_run: bool) -> Result<Vec<Entry>, String> {
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
            let in_trash = r
                .prop(&QName::new(DAV, "resourcetype"))
                .is_some_and(|(_, t)| {
                    t.children
                        .iter()
                        .any(|c| c.name.local == "deleted-calendar")
                });
            let what = if in_trash {
                "would delete (now in the server's trash bin)"
            } else {
                "would delete"
            };
            out.push(Entry {
                url,
                what: what.into(),
                left: false,
            });
            continue;
        }
        let removal = delete_for_good(client, &origin, &url, Via::Normal).await;
        out.push(Entry {
            url,
            left: !removal.is_gone(),
            what: match removal {
                Removal::Gone { detail } => detail,
                Removal::Left { why, .. } => format!("NOT REMOVED: {why}"),
            },
        });
    }
    Ok(out)
}
