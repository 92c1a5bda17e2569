//! Scratch collections: the one place that knows how they are named (`ccf-<run id>-<n>`, a
//! scenario's second calendar `ccf-<run id>-<n>b`, the discovery probe `ccf-<run id>-probe`, the
//! UIDs derived from them) and which of them may exist right now (the registry that the Ctrl-C
//! handler deletes from), whether the server keeps deleted calendars in a trash bin, and which
//! scratch collections could not be removed for good (`purge.rs` deletes and checks).

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use url::Url;

/// The names of one run's scratch collections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    runid: String,
}

impl Names {
    pub fn new(runid: &str) -> Names {
        Names {
            runid: runid.to_string(),
        }
    }

    pub fn runid(&self) -> &str {
        &self.runid
    }

    /// `ccf-<run id>-`: every scratch name of this run starts with it.
    pub fn prefix(&self) -> String {
        format!("ccf-{}-", self.runid)
    }

    /// The scratch calendar of scenario `index` (`{calendar}`).
    pub fn calendar(&self, index: usize) -> String {
        format!("{}{index}", self.prefix())
    }

    /// The second scratch calendar of scenario `index` (`{calendar2}`).
    pub fn second_calendar(&self, index: usize) -> String {
        format!("{}{index}b", self.prefix())
    }

    /// The calendar discovery creates to read calendar-level features.
    pub fn probe(&self) -> String {
        format!("{}probe", self.prefix())
    }

    /// The `{uid}` of scenario `index`: unique per run (servers with a trash bin refuse reuse).
    pub fn uid(&self, index: usize) -> String {
        format!("{}-uid", self.calendar(index))
    }

    /// The UID prefix of the generative oracle's objects.
    pub fn oracle_uids(&self) -> String {
        format!("{}-oracle", self.calendar(0))
    }

    /// True for a scratch collection of this run (never one of another run, nor a user's).
    pub fn owns(&self, name: &str) -> bool {
        is_scratch_name(name) && name.starts_with(&self.prefix())
    }
}

/// True for names the harness gives scratch collections: `ccf-<8 hex>-<index>[b]` or `-probe`.
pub fn is_scratch_name(name: &str) -> bool {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^ccf-[0-9a-f]{8}-([0-9]+b?|probe)$").expect("static regex"))
        .is_match(name)
}

/// The last path segment of a collection URL (`…/ccf-1a2b3c4d-7/` gives `ccf-1a2b3c4d-7`).
pub fn name_of(u: &Url) -> &str {
    u.path_segments()
        .and_then(|mut s| s.rfind(|x| !x.is_empty()))
        .unwrap_or("")
}

/// Collections that may exist right now: those reserved for running scenarios, and those a
/// MKCALENDAR/MKCOL was sent for and no DELETE has removed since (including ones whose creation
/// had no definite answer, e.g. a timeout). Keys are collection URLs with a trailing slash.
#[derive(Debug, Default)]
pub struct Registry {
    reserved: Mutex<BTreeSet<Url>>,
    created: Mutex<BTreeSet<Url>>,
    /// The server advertises a calendar trash bin (`nc-calendar-trashbin` in its DAV header).
    trash_bin: AtomicBool,
    /// Scratch collections still there after the suite deleted them, and why.
    left: Mutex<BTreeMap<Url, String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The collection URL with a trailing slash and no query or fragment.
pub fn collection_key(u: &Url) -> Url {
    let mut k = u.clone();
    k.set_query(None);
    k.set_fragment(None);
    if !k.path().ends_with('/') {
        let p = format!("{}/", k.path());
        k.set_path(&p);
    }
    k
}

impl Registry {
    /// A scenario is about to use these URLs.
    pub fn reserve(&self, urls: &[Url]) {
        lock(&self.reserved).extend(urls.iter().map(collection_key));
    }

    /// A scenario's cleanup is done with these URLs.
    pub fn release(&self, urls: &[Url]) {
        let mut r = lock(&self.reserved);
        for u in urls {
            r.remove(&collection_key(u));
        }
    }

    /// A MKCALENDAR or MKCOL is being sent to `u`.
    pub fn creating(&self, u: &Url) {
        lock(&self.created).insert(collection_key(u));
    }

    /// `u` is known not to exist (deleted, or its creation was refused).
    pub fn gone(&self, u: &Url) {
        lock(&self.created).remove(&collection_key(u));
    }

    /// The server keeps deleted calendars in a trash bin (read from its DAV header).
    pub fn set_trash_bin(&self, yes: bool) {
        self.trash_bin.store(yes, Ordering::SeqCst);
    }

    pub fn trash_bin(&self) -> bool {
        self.trash_bin.load(Ordering::SeqCst)
    }

    /// `u` was deleted and checked: it is really gone.
    pub fn removed(&self, u: &Url) {
        lock(&self.left).remove(&collection_key(u));
    }

    /// `u` could not be removed for good (`why` says what was seen).
    pub fn left_behind(&self, u: &Url, why: &str) {
        lock(&self.left).insert(collection_key(u), why.to_string());
    }

    /// Scratch collections that could not be removed for good, with the reason.
    pub fn left(&self) -> Vec<(Url, String)> {
        lock(&self.left)
            .iter()
            .map(|(u, w)| (u.clone(), w.clone()))
            .collect()
    }

    /// Collections created and not seen deleted.
    pub fn created(&self) -> Vec<Url> {
        lock(&self.created).iter().cloned().collect()
    }

    /// Everything that may need deleting: reserved and created collections.
    pub fn targets(&self) -> BTreeSet<Url> {
        let mut t = lock(&self.reserved).clone();
        t.extend(lock(&self.created).iter().cloned());
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ownership() {
        let n = Names::new("0a1b2c3d");
        assert_eq!(n.calendar(12), "ccf-0a1b2c3d-12");
        assert_eq!(n.second_calendar(12), "ccf-0a1b2c3d-12b");
        assert_eq!(n.probe(), "ccf-0a1b2c3d-probe");
        assert_eq!(n.uid(3), "ccf-0a1b2c3d-3-uid");
        for ok in [n.calendar(1), n.second_calendar(12), n.probe()] {
            assert!(is_scratch_name(&ok) && n.owns(&ok), "{ok}");
        }
        for bad in [
            "ccf-0a1b2c3d",
            "ccf-XYZ-1",
            "ccf-0a1b2c3d-1-x",
            "xccf-0a1b2c3d-1",
            "calendar",
        ] {
            assert!(!is_scratch_name(bad), "{bad}");
        }
        assert!(!n.owns("ccf-ffffffff-1"), "another run's collection");
    }

    #[test]
    fn registry_tracks_reserved_and_created() {
        let r = Registry::default();
        let a = Url::parse("http://h/home/ccf-0a1b2c3d-1/").unwrap();
        let b = Url::parse("http://h/home/ccf-0a1b2c3d-1/x").unwrap();
        r.reserve(std::slice::from_ref(&a));
        r.creating(&b);
        assert_eq!(r.targets().len(), 2);
        assert_eq!(r.created(), vec![collection_key(&b)]);
        r.gone(&b);
        r.release(std::slice::from_ref(&a));
        assert!(r.targets().is_empty());
        r.left_behind(&b, "kept in the trash bin");
        assert_eq!(
            r.left(),
            vec![(collection_key(&b), "kept in the trash bin".into())]
        );
        r.removed(&b);
        assert!(r.left().is_empty());
        assert!(!r.trash_bin());
        r.set_trash_bin(true);
        assert!(r.trash_bin());
        assert_eq!(name_of(&b), "x");
    }
}
