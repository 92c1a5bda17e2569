//! Interrupts: on Ctrl-C or SIGTERM the run stops sending, lets requests in flight finish,
//! deletes every scratch collection of the run for good (the discovery probe included; checked
//! with PROPFIND, past a trash bin: `purge.rs`), stops the server under test if `--server-cmd`
//! started one, and exits 130 (143 for SIGTERM).

use crate::http::Client;
use crate::purge::{delete_for_good, Removal, Via};
use crate::scratch::Names;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Set when a Ctrl-C or SIGTERM arrived; the signal handler then owns the end of the process.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Keeps the runtime (and so the signal handler) alive until the process exits.
static RUNTIME: OnceLock<Arc<tokio::runtime::Runtime>> = OnceLock::new();

/// Called by the main thread where it would otherwise go on: once interrupted, it waits for
/// the signal handler (which exits the process when its deletions are done); bounded, so
/// that a stuck handler cannot hang the process.
pub fn wait_if_interrupted(timeout: Duration) {
    if !INTERRUPTED.load(Ordering::SeqCst) {
        return;
    }
    std::thread::sleep(timeout * 6 + Duration::from_secs(10));
    eprintln!("the interrupt cleanup did not finish: run `caldav-conformance cleanup --url …`");
    std::process::exit(130);
}

/// On Ctrl-C or SIGTERM: stop sending scenario requests, let the requests in flight finish,
/// then delete every scratch collection of this run that may exist (those the scenarios hold
/// and those the client sent MKCALENDAR/MKCOL for and has not seen deleted, the discovery
/// probe included), and exit 130 (143 for SIGTERM). A second signal exits at once.
pub fn install_signal_cleanup(
    rt: &Arc<tokio::runtime::Runtime>,
    client: &Arc<Client>,
    names: &Names,
) {
    let _ = RUNTIME.set(Arc::clone(rt));
    let (client, names) = (Arc::clone(client), names.clone());
    rt.spawn(async move {
        let code = wait_for_signal().await;
        INTERRUPTED.store(true, Ordering::SeqCst);
        // Snapshot first, then stop: a collection that leaves the registry after this point
        // had its cleanup refused, and one added after it gets no request through.
        let mut targets: BTreeSet<url::Url> = client.registry().targets();
        client.stop();
        eprintln!(
            "\ninterrupted: no further requests; deleting the scratch collections of run {}",
            names.runid()
        );
        tokio::spawn(async {
            let code = wait_for_signal().await;
            eprintln!("interrupted again: exiting without finishing the cleanup; `caldav-conformance cleanup --url …` removes what is left");
            crate::spawn::stop_registered();
            std::process::exit(code);
        });
        let wait = client.timeout() + Duration::from_secs(1);
        if client.in_flight() > 0 {
            eprintln!(
                "waiting for {} request(s) in flight (at most {wait:?})",
                client.in_flight()
            );
        }
        if !client.drain(wait).await {
            eprintln!("warning: requests still in flight after {wait:?}");
        }
        targets.extend(client.created_collections());
        let mut tasks = tokio::task::JoinSet::new();
        for u in targets {
            if !names.owns(crate::scratch::name_of(&u)) {
                eprintln!("not deleting {u}: not a scratch collection of this run");
                continue;
            }
            let c = Arc::clone(&client);
            tasks.spawn(async move {
                let origin = u.join("/").unwrap_or_else(|_| u.clone());
                let r = delete_for_good(&c, &origin, &u, Via::AfterStop).await;
                (u, r)
            });
        }
        let mut left = 0;
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok((u, Removal::Gone { detail })) => eprintln!("deleted {u} ({detail})"),
                Ok((u, Removal::Left { why, .. })) => {
                    left += 1;
                    eprintln!("NOT REMOVED {u}: {why}");
                }
                Err(e) => {
                    left += 1;
                    eprintln!("a cleanup task failed: {e}");
                }
            }
        }
        if left > 0 {
            eprintln!("{left} scratch collection(s) may be left: `caldav-conformance cleanup --url …` removes them");
        }
        crate::spawn::stop_registered();
        std::process::exit(code);
    });
}

#[cfg(unix)]
async fn wait_for_signal() -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return 130;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => 130,
        _ = term.recv() => 143,
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> i32 {
    let _ = tokio::signal::ctrl_c().await;
    130
}
