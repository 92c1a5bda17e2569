//! Captures and checks of the scenario format: where a step's captured value comes from
//! (`Capture`, exactly one source, enforced by serde) and the checks a step makes over
//! captured values (`Transition`: unchanged, changed, converges, one_of).

use super::{Converges, OneOf};
use serde::Deserialize;

/// Where a captured value comes from: exactly one source, which serde enforces (the YAML
/// keys are read into `CaptureKeys` and converted, so that none, two sources or a stray
/// `href:` is a load error naming the keys).
#[derive(Debug, Deserialize, Clone, PartialEq, Eq)]
#[serde(try_from = "CaptureKeys")]
pub enum Capture {
    /// A response header: `{ header: ETag }`.
    Header(String),
    /// A property's text in a multistatus: `{ prop: CS:getctag }`, optionally from the
    /// response for `href` (default: the first response holding it); with
    /// `response_href: true`, the href of that response instead of the property's text.
    Prop {
        prop: String,
        href: Option<String>,
        response_href: bool,
    },
    /// The multistatus-level DAV:sync-token (RFC 6578): `{ sync_token: true }`.
    SyncToken,
    /// An iCalendar property of the response body: `{ ical: VEVENT.UID }`.
    Ical(String),
    /// The href of the first response (or of the one for `href`): `{ response_href: true }`.
    ResponseHref { href: Option<String> },
    /// The response's status code: `{ status: true }`; with `href`, the status the answer
    /// gives that resource: in a 207, its bare DAV:status, or 200 when it has propstats (a
    /// server may answer a PROPFIND of a missing resource with a 207 holding a 404 for it);
    /// otherwise the response's status.
    Status { href: Option<String> },
    /// The members of a collection a multistatus lists, as a client's view of it: one
    /// `href etag` line per response strictly below the collection, `href (removed)` for a
    /// bare 404 (a sync deletion); `{ members: "{calendar}" }`. See the `converges` check.
    Members(String),
}

/// The keys a capture may have in YAML; see `Capture`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptureKeys {
    #[serde(default)]
    header: Option<String>,
    #[serde(default)]
    prop: Option<String>,
    #[serde(default)]
    href: Option<String>,
    #[serde(default)]
    sync_token: bool,
    #[serde(default)]
    ical: Option<String>,
    #[serde(default)]
    response_href: bool,
    #[serde(default)]
    status: bool,
    #[serde(default)]
    members: Option<String>,
}

impl TryFrom<CaptureKeys> for Capture {
    type Error = String;

    fn try_from(k: CaptureKeys) -> Result<Capture, String> {
        let sources = [
            k.header.is_some(),
            k.prop.is_some(),
            k.sync_token,
            k.ical.is_some(),
            k.response_href && k.prop.is_none(),
            k.status,
            k.members.is_some(),
        ];
        // `href` narrows `prop`, `response_href` and `status`; alone it is stray.
        let href_ok = k.href.is_none() || k.prop.is_some() || k.response_href || k.status;
        if sources.iter().filter(|s| **s).count() != 1 || !href_ok {
            return Err("a capture has exactly one source: `header`, `prop` (with optional `href` and `response_href`), `sync_token: true`, `ical`, `response_href: true` (with optional `href`), `status: true` (with optional `href`), or `members` (a collection href)".into());
        }
        Ok(match k {
            CaptureKeys {
                header: Some(h), ..
            } => Capture::Header(h),
            CaptureKeys {
                prop: Some(prop),
                href,
                response_href,
                ..
            } => Capture::Prop {
                prop,
                href,
                response_href,
            },
            CaptureKeys { ical: Some(i), .. } => Capture::Ical(i),
            CaptureKeys {
                response_href: true,
                href,
                ..
            } => Capture::ResponseHref { href },
            CaptureKeys {
                status: true, href, ..
            } => Capture::Status { href },
            CaptureKeys {
                members: Some(m), ..
            } => Capture::Members(m),
            _ => Capture::SyncToken,
        })
    }
}

/// A check over captured values after a step: `{ unchanged: [a, b] }` (all equal, whether
/// over time or from two sources), `{ changed: [a, b, c] }` (each differs from the previous),
/// `{ converges: { from: [...], to: x } }` (a client's view built from captured `members`
/// reaches the server's listing) or `{ one_of: { values: [...], rows: [[...]] } }` (the values
/// together form one of the allowed rows). Exactly one key, which serde enforces.
#[derive(Debug, Deserialize, Clone, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Transition {
    Unchanged(Vec<String>),
    Changed(Vec<String>),
    Converges(Converges),
    OneOf(OneOf),
}

impl Transition {
    /// The captured values it compares.
    pub fn names(&self) -> Vec<&String> {
        match self {
            Transition::Unchanged(n) | Transition::Changed(n) => n.iter().collect(),
            Transition::Converges(c) => c.names(),
            Transition::OneOf(o) => o.values.iter().collect(),
        }
    }
}
