//! Deleting a scratch collection for good, and checking that it is gone. Some servers keep what
//! was deleted: Nextcloud (DAV class `nc-calendar-trashbin`) moves a deleted calendar into a
//! trash bin at the same URL, as a `{http://nextcloud.com/ns}deleted-calendar` whose members
//! still answer GET, and a second DELETE leaves it there. Its documented request header
//! `X-NC-CalDAV-No-Trashbin: 1` deletes for good. So every scratch DELETE (scenario cleanup, the
//! discovery probe, the Ctrl-C handler, `cleanup`) goes through `delete_for_good`: the DELETE
//! (with that header when the server advertises a trash bin), then a PROPFIND Depth 0 that must
//! answer 404 or 410; a collection still there is deleted once more with the header, and if it
//! is still there after that, it is recorded in the registry as left behind, with what was seen.

use crate::http::{self, Client, HttpError, Request, Response, Scope};
use crate::scratch::collection_key;
use crate::xml::{self, Multistatus, QName, DAV};
use std::time::Duration;
use url::Url;

/// Nextcloud's request header for a DELETE that bypasses the calendar trash bin (its value must
/// be `1`; apps/dav/lib/CalDAV/Trashbin/Plugin.php).
pub const NO_TRASHBIN_HEADER: &str = "X-NC-CalDAV-No-Trashbin";
/// The DAV compliance class of a server with a calendar trash bin.
pub const TRASHBIN_CLASS: &str = "nc-calendar-trashbin";
/// The namespace of Nextcloud's `deleted-calendar` resource type.
pub const NEXTCLOUD_NS: &str = "http://nextcloud.com/ns";

/// True when the DAV header classes advertise a calendar trash bin.
pub fn advertises_trash_bin(dav_classes: &[String]) -> bool {
    dav_classes
        .iter()
        .any(|c| c.trim().eq_ignore_ascii_case(TRASHBIN_CLASS))
}

/// How requests are sent: normally, or after an interrupt stopped the client (only deletions
/// and their checks still go out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Normal,
    AfterStop,
}

/// What became of a scratch collection.
#[derive(Debug, Clone)]
pub enum Removal {
    /// Deleted, and a PROPFIND confirms it is gone.
    Gone { detail: String },
    /// Still there (kept in a trash bin, the DELETE refused) or not known to be gone.
    Left {
        why: String,
        exchange: Option<String>,
    },
}

impl Removal {
    pub fn is_gone(&self) -> bool {
        matches!(self, Removal::Gone { .. })
    }

    /// One line: what was done or seen.
    pub fn describe(&self) -> &str {
        match self {
            Removal::Gone { detail } => detail,
            Removal::Left { why, .. } => why,
        }
    }
}

/// What a PROPFIND Depth 0 says about a deleted collection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// 404 or 410 (also inside a multistatus).
    Gone(u16),
    /// Still answered: its resource types (local names), e.g. `collection, deleted-calendar`.
    Present { types: Vec<String>, in_trash: bool },
    /// The answer does not say (an error status, a transport failure, a body that is not a
    /// multistatus).
    Unknown(String),
}

async fn send(client: &Client, req: &Request, via: Via) -> Result<Response, HttpError> {
    match via {
        Via::Normal => client.send(req).await,
        Via::AfterStop => client.send_cleanup(req).await,
    }
}

/// The DELETE of `url`, with the no-trash-bin header when asked.
fn delete_request(url: &Url, no_trash: bool) -> Request {
    let req = Request::new("DELETE", url.clone());
    if no_trash {
        req.header(NO_TRASHBIN_HEADER, "1")
    } else {
        req
    }
}

/// Send a DELETE; a 5xx is retried once a little later (Cyrus answers 500 to a second DELETE of
/// the same name within one second: its delayed-delete names have one-second resolution).
async fn delete(
    client: &Client,
    req: &Request,
    via: Via,
) -> (Result<Response, HttpError>, Option<String>) {
    let mut sent = send(client, req, via).await;
    if matches!(&sent, Ok(r) if r.status >= 500) {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        sent = send(client, req, via).await;
    }
    let dump = match &sent {
        Ok(r) => Some(http::dump(client, req, Some(r), 2000)),
        Err(_) => Some(http::dump(client, req, None, 2000)),
    };
    (sent, dump)
}

const PROPFIND_RESOURCETYPE: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>"#;

/// PROPFIND Depth 0 on `url`: is it gone?
async fn check(client: &Client, url: &Url, via: Via) -> (State, Option<String>) {
    let req = Request::new("PROPFIND", url.clone())
        .header("Depth", "0")
        .xml(PROPFIND_RESOURCETYPE);
    let resp = match send(client, &req, via).await {
        Ok(r) => r,
        Err(e) => return (State::Unknown(format!("PROPFIND failed: {e}")), None),
    };
    let dump = Some(http::dump(client, &req, Some(&resp), 2000));
    (state_of(url, &resp), dump)
}

/// Read a PROPFIND answer.
fn state_of(url: &Url, resp: &Response) -> State {
    match resp.status {
        404 | 410 => return State::Gone(resp.status),
        207 => {}
        s if (200..300).contains(&s) => {
            return State::Present {
                types: vec![format!("(PROPFIND answered {s})")],
                in_trash: false,
            }
        }
        s => return State::Unknown(format!("PROPFIND answered {s}")),
    }
    let ms = match xml::parse(&resp.body).and_then(|r| Multistatus::from_element(&r)) {
        Ok(ms) => ms,
        Err(e) => return State::Unknown(format!("PROPFIND answered 207 with {e}")),
    };
    let Some(r) = ms.response(url.path()).or(ms.responses.first()) else {
        // A multistatus that lists nothing: nothing is there to list.
        return State::Gone(207);
    };
    if let Some(s @ (404 | 410)) = r.status {
        return State::Gone(s);
    }
    let all_missing = !r.propstats.is_empty()
        && r.propstats
            .iter()
            .all(|p| p.status == 404 || p.status == 410);
    if r.status.is_none() && all_missing {
        // Even DAV:resourcetype (which every resource has) "not found": nothing is there.
        return State::Gone(404);
    }
    let (types, in_trash) = match r.prop(&QName::new(DAV, "resourcetype")) {
        Some((200, el)) => {
            let types: Vec<String> = el.children.iter().map(|c| c.name.local.clone()).collect();
            let trash = el
                .children
                .iter()
                .any(|c| c.name.local == "deleted-calendar");
            (types, trash)
        }
        _ => (vec!["(no resourcetype)".into()], false),
    };
    State::Present { types, in_trash }
}

/// Delete `url` (a scratch collection) for good and check that it is gone. The outcome is also
/// recorded in the client's registry: gone, or left behind with the reason.
pub async fn delete_for_good(client: &Client, origin: &Url, url: &Url, via: Via) -> Removal {
    let key = collection_key(url);
    let scope = Scope::new(&[&key]);
    let mut no_trash = client.registry().trash_bin();
    let first = delete_request(&key, no_trash);
    if let Err(e) = scope.check(origin, &first) {
        return left(client, &key, format!("not deleted: {e}"), None);
    }
    let (sent, dump) = delete(client, &first, via).await;
    match sent {
        Err(e) => return left(client, &key, format!("DELETE {key} failed: {e}"), dump),
        Ok(r) if !(r.is_success() || r.status == 404) => {
            let why = format!(
                "DELETE {key} answered {}: the scratch collection may be left behind",
                r.status
            );
            return left(client, &key, why, dump);
        }
        Ok(_) => {}
    }
    let (mut state, mut seen) = check(client, &key, via).await;
    if matches!(state, State::Present { .. }) && !no_trash {
        // Kept although no trash bin was advertised: the documented way to delete for good.
        no_trash = true;
        let again = delete_request(&key, true);
        let (sent, dump) = delete(client, &again, via).await;
        if sent.is_ok() {
            (state, seen) = check(client, &key, via).await;
        } else {
            seen = dump;
        }
    }
    let with = if no_trash {
        format!(" with {NO_TRASHBIN_HEADER}: 1")
    } else {
        String::new()
    };
    match state {
        State::Gone(s) => {
            client.registry().removed(&key);
            Removal::Gone {
                detail: format!("deleted{with}; PROPFIND Depth 0 answers {s}"),
            }
        }
        State::Present { types, in_trash } => {
            let trash = if in_trash {
                " (the server keeps it in its trash bin)"
            } else {
                ""
            };
            let why = format!(
                "still there after DELETE{with}: PROPFIND Depth 0 shows resourcetype {}{trash}",
                types.join(", ")
            );
            left(client, &key, why, seen)
        }
        State::Unknown(e) => {
            let why = format!("deleted{with}, but could not check that it is gone: {e}");
            left(client, &key, why, seen)
        }
    }
}

fn left(client: &Client, key: &Url, why: String, exchange: Option<String>) -> Removal {
    let why = client.redact(&why);
    client.registry().left_behind(key, &why);
    Removal::Left { why, exchange }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn a_propfind_answer_tells_gone_kept_or_unknown() {
        let u = Url::parse("http://h/cal/u/ccf-0a1b2c3d-1/").unwrap();
        assert_eq!(state_of(&u, &resp(404, "")), State::Gone(404));
        assert_eq!(state_of(&u, &resp(410, "")), State::Gone(410));
        let trashed = r#"<d:multistatus xmlns:d="DAV:" xmlns:x1="http://nextcloud.com/ns"><d:response><d:href>/cal/u/ccf-0a1b2c3d-1/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><x1:deleted-calendar/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;
        assert_eq!(
            state_of(&u, &resp(207, trashed)),
            State::Present {
                types: vec!["collection".into(), "deleted-calendar".into()],
                in_trash: true
            }
        );
        let missing = r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/u/ccf-0a1b2c3d-1/</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response></d:multistatus>"#;
        assert_eq!(state_of(&u, &resp(207, missing)), State::Gone(404));
        assert!(matches!(
            state_of(&u, &resp(500, "")),
            State::Unknown(ref e) if e.contains("500")
        ));
        assert!(matches!(state_of(&u, &resp(207, "<x")), State::Unknown(_)));
        assert!(advertises_trash_bin(&[
            "1".into(),
            "calendar-access".into(),
            "nc-calendar-trashbin".into()
        ]));
        assert!(!advertises_trash_bin(&[
            "1".into(),
            "calendar-access".into()
        ]));
    }
}
