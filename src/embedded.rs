//! The suite carried in the binary: scenarios/, fixtures/ (with the RFC texts in fixtures/rfc/)
//! and the shipped baselines servers/*/baseline*.yaml, embedded at build time by `build.rs`.
//! Embedded files have paths under the pseudo-folder `<embedded>` (e.g.
//! `<embedded>/scenarios/rfc4791/05_3_2_precondition.yaml`), so that error messages still name
//! the file, line and column; `read_to_string` and `files_under` serve such paths from the
//! binary and any other path from the file system. `export` writes the suite to a folder.

use std::io;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded_suite.rs"));

/// The pseudo-folder embedded files live under.
pub const ROOT: &str = "<embedded>";

/// `<embedded>` as a path.
pub fn root() -> &'static Path {
    Path::new(ROOT)
}

/// The path of `p` inside the embedded suite (`scenarios/x.yaml`), if it is an embedded path.
fn key(p: &Path) -> Option<String> {
    let rel = p.strip_prefix(ROOT).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    Some(parts.join("/"))
}

/// Whether `p` names something in the embedded suite (a file or a folder).
pub fn is_embedded(p: &Path) -> bool {
    p.starts_with(ROOT)
}

/// The bytes of one embedded file.
pub fn get(p: &Path) -> Option<&'static [u8]> {
    let k = key(p)?;
    FILES
        .binary_search_by(|(name, _)| (*name).cmp(k.as_str()))
        .ok()
        .map(|i| FILES[i].1)
}

/// Read a file: from the binary for an `<embedded>/…` path, else from the file system.
pub fn read_to_string(p: &Path) -> io::Result<String> {
    if !is_embedded(p) {
        return std::fs::read_to_string(p);
    }
    let bytes = get(p).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no such file in the suite embedded in this binary",
        )
    })?;
    String::from_utf8(bytes.to_vec()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Whether `p` is a folder (embedded: a prefix of some embedded file).
pub fn is_dir(p: &Path) -> bool {
    match key(p) {
        None => p.is_dir(),
        Some(k) if k.is_empty() => true,
        Some(k) => {
            let prefix = format!("{k}/");
            FILES.iter().any(|(n, _)| n.starts_with(&prefix))
        }
    }
}

/// Every file under `dir`, recursively, sorted (embedded or on disk).
pub fn files_under(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    match key(dir) {
        Some(k) => {
            let prefix = if k.is_empty() { k } else { format!("{k}/") };
            out.extend(
                FILES
                    .iter()
                    .filter_map(|(n, _)| n.strip_prefix(prefix.as_str()))
                    .map(|rest| dir.join(rest)),
            );
            if out.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "no such folder in the suite embedded in this binary",
                ));
            }
        }
        None => walk(dir, &mut out)?,
    }
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Write the embedded suite under `dest` (scenarios/, fixtures/, servers/NAME/baseline*.yaml).
/// Refuses to overwrite a file whose content differs unless `force`; returns the files written.
pub fn export(dest: &Path, force: bool) -> Result<Vec<PathBuf>, String> {
    let mut clashes = Vec::new();
    for (name, bytes) in FILES {
        let p = dest.join(name);
        if let Ok(old) = std::fs::read(&p) {
            if old != *bytes && !force {
                clashes.push(p.display().to_string());
            }
        }
    }
    if !clashes.is_empty() {
        return Err(format!(
            "{} file(s) under {} differ from the embedded suite (first: {}); nothing was written: pass --force to overwrite them",
            clashes.len(),
            dest.display(),
            clashes[0]
        ));
    }
    let mut written = Vec::new();
    for (name, bytes) in FILES {
        let p = dest.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        written.push(p);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_paths_read_like_files() {
        let sc = root().join("scenarios");
        assert!(is_dir(&sc));
        assert!(is_dir(root()));
        assert!(!is_dir(&root().join("nothing-here")));
        let files = files_under(&sc).expect("embedded scenarios");
        assert!(files.iter().all(|f| f.starts_with(&sc)));
        assert!(files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "yaml")));
        let text = read_to_string(&files[0]).expect("read an embedded file");
        assert!(!text.is_empty());
        let e = read_to_string(&sc.join("missing.yaml")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(files_under(&root().join("scenarios/missing")).is_err());
        assert!(files_under(&root().join("servers"))
            .expect("embedded baselines")
            .iter()
            .all(|f| f
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("baseline"))));
        assert!(get(&root().join("fixtures/rfc/rfc4791.txt")).is_some());
    }

    /// The binary carries exactly the source tree's suite files (rebuilt when they change).
    #[test]
    fn embedded_suite_is_the_source_tree() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["scenarios", "fixtures"] {
            let mut on_disk: Vec<String> = Vec::new();
            let mut all = Vec::new();
            walk(&src.join(dir), &mut all).expect("read the source tree");
            for p in all {
                let name = p.file_name().map(|n| n.to_string_lossy().to_string());
                if name.is_some_and(|n| n.starts_with('.') || n.ends_with('~')) {
                    continue;
                }
                let rel = p.strip_prefix(src).expect("under the tree");
                on_disk.push(rel.to_string_lossy().replace('\\', "/"));
                assert_eq!(
                    get(&root().join(rel)),
                    std::fs::read(&p).ok().as_deref(),
                    "{}",
                    p.display()
                );
            }
            let embedded = FILES
                .iter()
                .filter(|(n, _)| n.starts_with(&format!("{dir}/")))
                .count();
            assert_eq!(embedded, on_disk.len(), "{dir}");
        }
    }

    #[test]
    fn export_refuses_to_overwrite_changed_files() {
        let dir = std::env::temp_dir().join(format!("ccf-export-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let written = export(&dir, false).expect("export");
        assert_eq!(written.len(), FILES.len());
        // Exporting again over an identical copy is fine.
        assert!(export(&dir, false).is_ok());
        std::fs::write(&written[0], "changed").expect("edit");
        let e = export(&dir, false).unwrap_err();
        assert!(e.contains("--force"), "{e}");
        assert!(export(&dir, true).is_ok());
        assert_eq!(std::fs::read(&written[0]).ok().as_deref(), Some(FILES[0].1));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
