//! Build script: embeds the suite (scenarios/, fixtures/ with the RFC texts, and the shipped
//! baselines servers/*/baseline*.yaml) in the binary, so that an installed or copied binary
//! runs on its own. It writes `$OUT_DIR/embedded_suite.rs`, a sorted table of
//! (path, include_bytes!) read by `src/embedded.rs`, and tells cargo to rebuild when any
//! embedded file or folder changes (a folder's mtime covers added and removed files).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Hidden files and editor leftovers are not part of the suite.
fn wanted(name: &str) -> bool {
    !(name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if !wanted(&name) {
            continue;
        }
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// servers/*/baseline*.yaml: the known-server profiles, nothing else of servers/.
fn baselines(servers: &Path, out: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", servers.display());
    let Ok(entries) = std::fs::read_dir(servers) else {
        return;
    };
    for e in entries.flatten().filter(|e| e.path().is_dir()) {
        println!("cargo:rerun-if-changed={}", e.path().display());
        let Ok(files) = std::fs::read_dir(e.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            if name.starts_with("baseline") && name.ends_with(".yaml") {
                out.push(f.path());
            }
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let mut files = Vec::new();
    walk(&root.join("scenarios"), &mut files);
    walk(&root.join("fixtures"), &mut files);
    baselines(&root.join("servers"), &mut files);
    let mut rows: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(&root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            println!("cargo:rerun-if-changed={}", p.display());
            Some((rel, p))
        })
        .collect();
    rows.sort();
    let mut src = String::from(
        "/// Embedded suite files: (path under the source tree, bytes), sorted by path.\n",
    );
    src.push_str("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, p) in &rows {
        let _ = writeln!(
            src,
            "    ({rel:?}, include_bytes!({:?})),",
            p.display().to_string()
        );
    }
    src.push_str("];\n");
    std::fs::write(out_dir.join("embedded_suite.rs"), src).expect("write embedded_suite.rs");
    // The profile folder (target/debug): a binary run from there prefers the source tree.
    if let Some(profile) = out_dir.ancestors().nth(3) {
        println!("cargo:rustc-env=CCF_BUILD_DIR={}", profile.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
}
