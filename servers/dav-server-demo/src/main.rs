//! Negative-control CalDAV server for caldav-conformance.
//!
//! The `dav-server` crate (feature `caldav`) serving a local folder through axum,
//! adapted from the crate's own `examples/caldav.rs`. No authentication, no
//! principals; calendars live under `/calendars/`.
//!
//! Environment: `DAV_ADDR` (default 127.0.0.1:8094), `DAV_ROOT` (default ./dav-root).

use std::sync::Arc;

use axum::{extract::Request, routing::any, Extension, Router};
use dav_server::{caldav::DEFAULT_CALDAV_DIRECTORY, fakels::FakeLs, localfs::LocalFs, DavHandler};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    let addr = std::env::var("DAV_ADDR").unwrap_or_else(|_| "127.0.0.1:8094".to_string());
    let root = std::env::var("DAV_ROOT").unwrap_or_else(|_| "dav-root".to_string());
    let calendars = std::path::Path::new(&root).join(DEFAULT_CALDAV_DIRECTORY.trim_start_matches('/'));
    std::fs::create_dir_all(&calendars).expect("cannot create the calendars folder");

    let dav = DavHandler::builder()
        .filesystem(LocalFs::new(&root, false, false, false))
        .locksystem(FakeLs::new())
        .build_handler();

    let router = Router::new()
        .route("/", any(handle))
        .route("/{*path}", any(handle))
        .layer(Extension(Arc::new(dav)));

    let listener = TcpListener::bind(&addr).await.expect("cannot bind");
    println!("dav-server-demo listening on http://{addr}/ (calendars under {DEFAULT_CALDAV_DIRECTORY}/, root {root})");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("server failed");
}

async fn handle(Extension(dav): Extension<Arc<DavHandler>>, req: Request) -> impl axum::response::IntoResponse {
    dav.handle(req).await
}
