//! The concurrency fault mutants of the mutation proxy: a server that does not serialise what
//! it checks with what it writes. The proxy counts the writes in flight per key (an href, or a
//! collection); a write that arrives while another one with the same key is still being
//! forwarded is mutated: an If-None-Match: * creator loses its condition (so two creators both
//! succeed), or a write is acknowledged with 204 and never performed (a lost write).

use super::proxy::{Req, Resp};
use std::collections::HashMap;
use std::sync::Mutex;

/// Writes in flight at the proxy, by key.
#[derive(Default)]
pub struct InFlight {
    by_key: Mutex<HashMap<String, usize>>,
}

impl InFlight {
    /// Count a write under `key`; how many were already in flight under it.
    pub fn enter(&self, key: &str) -> usize {
        let Ok(mut m) = self.by_key.lock() else {
            return 0;
        };
        let n = m.entry(key.to_string()).or_insert(0);
        *n += 1;
        *n - 1
    }

    /// The write counted under `key` is answered.
    pub fn leave(&self, key: &str) {
        if let Ok(mut m) = self.by_key.lock() {
            if let Some(n) = m.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(key);
                }
            }
        }
    }
}

/// A PUT that creates only if nothing is there (If-None-Match: *): keyed by its href.
pub fn creator_key(req: &Req) -> Option<String> {
    let star = req.header("If-None-Match").is_some_and(|v| v.trim() == "*");
    (req.method.eq_ignore_ascii_case("PUT") && star).then(|| req.path().to_string())
}

/// A PUT or DELETE of a calendar object (not a collection): keyed by its collection.
pub fn object_write_key(req: &Req) -> Option<String> {
    let m = req.method.to_ascii_uppercase();
    let path = req.path();
    if !(m == "PUT" || m == "DELETE") || path.ends_with('/') {
        return None;
    }
    path.rsplit_once('/').map(|(coll, _)| format!("{coll}/"))
}

/// What a server that drops a write answers: success, with nothing done.
pub fn dropped() -> Resp {
    Resp {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_in_flight_are_counted_per_key() {
        let f = InFlight::default();
        assert_eq!(f.enter("/c/a.ics"), 0);
        assert_eq!(f.enter("/c/a.ics"), 1);
        assert_eq!(f.enter("/c/b.ics"), 0);
        f.leave("/c/a.ics");
        f.leave("/c/a.ics");
        assert_eq!(f.enter("/c/a.ics"), 0);
        f.leave("/x");
    }
}
