//! Where the suite comes from: the `--scenarios`, `--extra-scenarios`, `--fixtures` and
//! `--extra-fixtures` options, the built-in suite (the source tree when the binary runs from
//! its own build folder, else the copy embedded in the binary; `CCF_SUITE=embedded|source`
//! forces one), loading every scenario folder, and the fixture search path.
//!
//! Rules: `--scenarios DIR` replaces the built-in scenarios, `--extra-scenarios DIR` adds to
//! them (a trial name may be defined once only); `--fixtures DIR` replaces the built-in
//! fixtures, `--extra-fixtures DIR` is searched first, before the fixtures folder.

use crate::embedded;
use crate::scenario::{self, LoadError, Loaded};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct SuiteArgs {
    /// Scenario folder to run instead of the built-in scenarios.
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// Scenario folder to run as well as the built-in ones (or --scenarios); repeatable.
    #[arg(long, value_name = "DIR")]
    pub extra_scenarios: Vec<PathBuf>,
    /// Fixture folder to use instead of the built-in fixtures.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// Fixture folder searched before the fixtures folder; repeatable.
    #[arg(long, value_name = "DIR")]
    pub extra_fixtures: Vec<PathBuf>,
}

/// Where the built-in suite is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The source tree the binary was built from (it runs from that tree's build folder).
    Source(PathBuf),
    /// The copy in the binary, under `<embedded>/`.
    Embedded,
}

impl Origin {
    /// The folder holding scenarios/, fixtures/ and servers/.
    pub fn root(&self) -> PathBuf {
        match self {
            Origin::Source(p) => p.clone(),
            Origin::Embedded => embedded::root().to_path_buf(),
        }
    }
}

/// The built-in suite: the source tree for a binary in its build folder (so that edits to
/// scenarios/ apply at once and errors name the real file), else the embedded copy.
pub fn builtin() -> Origin {
    static ORIGIN: OnceLock<Origin> = OnceLock::new();
    ORIGIN.get_or_init(choose_builtin).clone()
}

fn choose_builtin() -> Origin {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let forced = std::env::var("CCF_SUITE").unwrap_or_default();
    let have_tree = manifest.join("scenarios").is_dir();
    let in_build_dir = || -> Option<bool> {
        let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
        let build = Path::new(env!("CCF_BUILD_DIR")).canonicalize().ok()?;
        Some(exe.starts_with(build))
    };
    let source = match forced.as_str() {
        "embedded" => false,
        "source" => have_tree,
        _ => have_tree && in_build_dir().unwrap_or(false),
    };
    if !source {
        return Origin::Embedded;
    }
    // Run from the tree itself: keep paths relative (`scenarios/x.yaml:3:5`), as before.
    let here = std::env::current_dir()
        .ok()
        .and_then(|d| d.canonicalize().ok());
    match (here, manifest.canonicalize().ok()) {
        (Some(h), Some(m)) if h == m => Origin::Source(PathBuf::new()),
        _ => Origin::Source(manifest.to_path_buf()),
    }
}

/// The `--extra-fixtures` folders of the suite loaded last (set by `SuiteArgs::load`).
static EXTRA_FIXTURES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Read `rel` from the first `--extra-fixtures` folder holding it, else from `fixtures`.
pub fn read_fixture_file(fixtures: &Path, rel: &str) -> std::io::Result<String> {
    let extra = EXTRA_FIXTURES.lock().map(|v| v.clone()).unwrap_or_default();
    for dir in &extra {
        let p = dir.join(rel);
        if p.is_file() {
            return std::fs::read_to_string(p);
        }
    }
    embedded::read_to_string(&fixtures.join(rel))
}

impl SuiteArgs {
    /// The scenario folders, in load order.
    pub fn scenario_dirs(&self) -> Vec<PathBuf> {
        let main = self
            .scenarios
            .clone()
            .unwrap_or_else(|| builtin().root().join("scenarios"));
        let mut dirs = vec![main];
        for d in &self.extra_scenarios {
            if !dirs.contains(d) {
                dirs.push(d.clone());
            }
        }
        dirs
    }

    /// The fixtures folder.
    pub fn fixtures(&self) -> PathBuf {
        self.fixtures
            .clone()
            .unwrap_or_else(|| builtin().root().join("fixtures"))
    }

    /// One line saying where the scenarios and fixtures come from.
    pub fn describe(&self) -> String {
        let builtin = match builtin() {
            Origin::Embedded => "built-in (embedded in the binary)".to_string(),
            Origin::Source(p) if p.as_os_str().is_empty() => "built-in (source tree .)".into(),
            Origin::Source(p) => format!("built-in (source tree {})", p.display()),
        };
        let mut s = match &self.scenarios {
            Some(d) => format!("scenarios {}", d.display()),
            None => format!("scenarios {builtin}"),
        };
        for d in &self.extra_scenarios {
            s.push_str(&format!(" + {}", d.display()));
        }
        match &self.fixtures {
            Some(d) => s.push_str(&format!("; fixtures {}", d.display())),
            None if self.scenarios.is_some() => s.push_str(&format!("; fixtures {builtin}")),
            None => {}
        }
        for d in &self.extra_fixtures {
            s.push_str(&format!("; fixtures from {} first", d.display()));
        }
        s
    }

    /// Load every scenario folder; errors are `file:line:col: message`, all at once.
    pub fn load(&self) -> Result<Vec<Loaded>, Vec<LoadError>> {
        if let Ok(mut v) = EXTRA_FIXTURES.lock() {
            v.clone_from(&self.extra_fixtures);
        }
        let fixtures = self.fixtures();
        let mut all: Vec<Loaded> = Vec::new();
        let mut errors = Vec::new();
        for dir in self.scenario_dirs() {
            match scenario::load_dir(&dir, &fixtures) {
                Ok(v) => all.extend(v),
                Err(e) => errors.extend(e),
            }
        }
        errors.extend(duplicates(&all));
        if errors.is_empty() {
            Ok(all)
        } else {
            Err(errors)
        }
    }
}

/// A trial name defined in two folders (within one folder, `load_dir` reports it).
fn duplicates(all: &[Loaded]) -> Vec<LoadError> {
    let mut seen: BTreeMap<String, &Loaded> = BTreeMap::new();
    let mut errs = Vec::new();
    for l in all {
        let name = l.trial_name();
        match seen.get(&name) {
            Some(prev) if prev.file != l.file => errs.push(LoadError::at(
                &l.file,
                l.line,
                1,
                format!(
                    "scenario {name:?} is already defined at {}:{} (use another file name or scenario name, or --scenarios to replace the built-in suite)",
                    prev.file.display(),
                    prev.line
                ),
            )),
            Some(_) => {}
            None => {
                seen.insert(name, l);
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ccf-suite-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp folder");
        d
    }

    const ONE: &str = "scenarios:\n  - name: x\n    desc: d\n    requirement: r\n    spec: [RFC4791 §5.3.2]\n    steps:\n      - method: PUT\n        path: a.ics\n        fixture: ical/event-tomorrow.ics\n        expect: { status: 201 }\n";

    #[test]
    fn embedded_suite_loads_and_extra_folders_add_or_clash() {
        let embedded = SuiteArgs {
            scenarios: Some(embedded::root().join("scenarios")),
            fixtures: Some(embedded::root().join("fixtures")),
            ..Default::default()
        };
        let base = embedded.load().expect("the embedded suite loads");
        assert!(base.len() > 100);
        assert!(base[0].file.starts_with(embedded::ROOT));
        let extra = tmp("extra");
        std::fs::write(extra.join("mine.yaml"), ONE).expect("write");
        let mut with = embedded.clone();
        with.extra_scenarios.push(extra.clone());
        let all = with.load().expect("built-in plus extra");
        assert_eq!(all.len(), base.len() + 1);
        assert!(all.iter().any(|l| l.trial_name() == "mine::x"));
        // A fixture of its own, from --extra-fixtures; the built-in ones stay reachable.
        let own = tmp("own-fixtures");
        std::fs::create_dir_all(own.join("mine")).expect("mkdir");
        std::fs::write(
            own.join("mine/e.ics"),
            "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        )
        .expect("write");
        std::fs::write(
            extra.join("own.yaml"),
            ONE.replace("name: x", "name: y")
                .replace("ical/event-tomorrow.ics", "mine/e.ics"),
        )
        .expect("write");
        assert!(
            with.load()
                .is_err_and(|e| e[0].to_string().contains("mine/e.ics")),
            "mine/e.ics is not a built-in fixture"
        );
        with.extra_fixtures.push(own.clone());
        assert_eq!(
            with.load().expect("with --extra-fixtures").len(),
            base.len() + 2
        );
        // The same folder twice is loaded once; another folder defining `mine::x` clashes.
        with.extra_scenarios.push(extra.clone());
        assert!(with.load().is_ok());
        let twin = tmp("twin");
        std::fs::write(twin.join("mine.yaml"), ONE).expect("write");
        with.extra_scenarios.push(twin.clone());
        let Err(errs) = with.load() else {
            panic!("a scenario defined twice must be refused")
        };
        assert!(
            errs[0].to_string().contains("already defined"),
            "{}",
            errs[0]
        );
        let _ = std::fs::remove_dir_all(&twin);
        let _ = std::fs::remove_dir_all(&extra);
        let _ = std::fs::remove_dir_all(&own);
    }

    #[test]
    fn embedded_errors_name_the_file_line_and_column() {
        let bad = tmp("bad");
        std::fs::write(bad.join("broken.yaml"), "scenarios:\n  - name: [\n").expect("write");
        let args = SuiteArgs {
            scenarios: Some(bad.clone()),
            ..Default::default()
        };
        let errs = args.load().unwrap_err();
        assert!(errs[0].to_string().contains("broken.yaml:"), "{}", errs[0]);
        let _ = std::fs::remove_dir_all(&bad);
        // Embedded files are named by their `<embedded>/…` path.
        let missing = SuiteArgs {
            scenarios: Some(embedded::root().join("no-such-folder")),
            ..Default::default()
        };
        let errs = missing.load().unwrap_err();
        assert!(
            errs[0].to_string().starts_with("<embedded>/no-such-folder"),
            "{}",
            errs[0]
        );
        // An embedded YAML file that is not a valid scenario file (a baseline) is named with
        // its line and column.
        let not_scenarios = SuiteArgs {
            scenarios: Some(embedded::root().join("servers/radicale")),
            ..Default::default()
        };
        let Err(errs) = not_scenarios.load() else {
            panic!("baselines are not scenario files")
        };
        let first = errs[0].to_string();
        let re = regex::Regex::new(r"^<embedded>/servers/radicale/baseline[-a-z]*\.yaml:\d+:\d+: ")
            .expect("regex");
        assert!(re.is_match(&first), "{first}");
    }
}
