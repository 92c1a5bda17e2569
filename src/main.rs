//! The `caldav-conformance` binary: the command line (our flags plus libtest's own), loading
//! scenarios, discovery, turning each scenario into a libtest-mimic trial, and writing reports.
//! Exit codes: 0 all passed, 101 a scenario failed, 2 usage/configuration/scenario-file error.

use caldav_conformance::discovery;
use caldav_conformance::http::{AuthKind, Client, ClientConfig, Request, Secret};
use caldav_conformance::report;
use caldav_conformance::runner::{Outcome, Run};
use caldav_conformance::scenario::{self, Loaded};
use clap::Parser;
use libtest_mimic::{Completion, Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "caldav-conformance",
    version,
    about = "CalDAV conformance test suite: runs YAML scenarios, each citing the RFC section it checks, against a real server",
    after_help = "Environment: CALDAV_URL, CALDAV_USER and CALDAV_PASSWORD are fallbacks for --url, --user and the password flags."
)]
struct Cli {
    #[command(flatten)]
    opts: Opts,
    #[command(flatten)]
    test: libtest_mimic::Arguments,
}

#[derive(clap::Args, Debug)]
struct Opts {
    /// Any URL on the server; the principal and calendar home are discovered from it.
    #[arg(long, env = "CALDAV_URL")]
    url: Option<String>,
    /// User name for authentication.
    #[arg(long, env = "CALDAV_USER")]
    user: Option<String>,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", group = "pw")]
    password_env: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE", group = "pw")]
    password_file: Option<PathBuf>,
    /// The password itself (visible to other users of the machine: prefer --password-env or --password-file).
    #[arg(long, value_name = "P", group = "pw")]
    password: Option<String>,
    /// Authentication scheme; auto answers whatever challenge the server sends.
    #[arg(long, value_enum, default_value = "auto")]
    auth: AuthKind,
    /// Accept any TLS certificate.
    #[arg(long)]
    insecure: bool,
    /// Trust this PEM CA certificate in addition to the system roots.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Per-request timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// Per-scenario timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 180)]
    scenario_timeout: u64,
    /// Largest response body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    max_body: u64,
    /// Calendar home URL, skipping discovery of calendar-home-set.
    #[arg(long, value_name = "URL")]
    home: Option<String>,
    /// Folder of scenario files.
    #[arg(long, value_name = "DIR", default_value = "scenarios")]
    scenarios: PathBuf,
    /// Folder of fixture bodies.
    #[arg(long, value_name = "DIR", default_value = "fixtures")]
    fixtures: PathBuf,
    /// Write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write per-scenario results as JSON here.
    #[arg(long, value_name = "FILE")]
    results: Option<PathBuf>,
    /// Treat unmet SHOULD/MAY requirements as failures.
    #[arg(long)]
    strict: bool,
}

fn die(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// Resolve a folder given relative to the working directory, falling back to the source tree.
fn locate(p: &Path) -> PathBuf {
    if p.is_relative() && !p.exists() {
        let alt = Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
        if alt.exists() {
            return alt;
        }
    }
    p.to_path_buf()
}

fn password(o: &Opts) -> Result<Option<Secret>, String> {
    if let Some(v) = &o.password_env {
        return std::env::var(v)
            .map(|p| Some(Secret::new(p)))
            .map_err(|_| format!("--password-env {v}: the variable is not set"));
    }
    if let Some(f) = &o.password_file {
        let t = std::fs::read_to_string(f)
            .map_err(|e| format!("--password-file {}: {e}", f.display()))?;
        return Ok(Some(Secret::new(
            t.lines().next().unwrap_or("").to_string(),
        )));
    }
    if let Some(p) = &o.password {
        eprintln!("warning: a password on the command line is visible to other users of this machine; prefer --password-env VAR or --password-file FILE");
        return Ok(Some(Secret::new(p.clone())));
    }
    Ok(std::env::var("CALDAV_PASSWORD").ok().map(Secret::new))
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mix = (nanos as u64) ^ (u64::from(std::process::id()) << 32) ^ rand::random::<u64>();
    format!("{:08x}", mix & 0xffff_ffff)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let scenarios_dir = locate(&cli.opts.scenarios);
    let fixtures = locate(&cli.opts.fixtures);
    let loaded = match scenario::load_dir(&scenarios_dir, &fixtures) {
        Ok(l) => l,
        Err(errs) => {
            for e in &errs {
                eprintln!("{e}");
            }
            return die(&format!(
                "{} error(s) in scenario files; nothing was sent",
                errs.len()
            ));
        }
    };
    if cli.test.list {
        let trials = loaded
            .iter()
            .map(|l| Trial::test(l.trial_name(), || Ok(())))
            .collect();
        return libtest_mimic::run(&cli.test, trials).exit_code();
    }
    let Some(url) = cli.opts.url.clone() else {
        return die("no server URL: pass --url URL or set CALDAV_URL");
    };
    let start = match url::Url::parse(&url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => u,
        Ok(u) => {
            return die(&format!(
                "--url {u}: only http and https URLs are supported"
            ))
        }
        Err(e) => return die(&format!("--url {url:?} is not a URL: {e}")),
    };
    let home = match cli.opts.home.as_deref().map(|h| start.join(h)) {
        None => None,
        Some(Ok(h)) => Some(h),
        Some(Err(e)) => return die(&format!("--home: {e}")),
    };
    let pass = match password(&cli.opts) {
        Ok(p) => p,
        Err(e) => return die(&e),
    };
    let client = match Client::new(ClientConfig {
        user: cli.opts.user.clone(),
        password: pass,
        auth: cli.opts.auth,
        insecure: cli.opts.insecure,
        ca_cert: cli.opts.ca_cert.clone(),
        timeout: Duration::from_secs(cli.opts.timeout.max(1)),
        max_body: cli.opts.max_body,
    }) {
        Ok(c) => Arc::new(c),
        Err(e) => return die(&e),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Arc::new(rt),
        Err(e) => return die(&format!("cannot start the async runtime: {e}")),
    };
    let runid = run_id();
    let disc = match rt.block_on(discovery::discover(
        &client,
        &start,
        home.as_ref(),
        Some(&format!("ccf-{runid}-probe")),
    )) {
        Ok(d) => d,
        Err(e) => return die(&e),
    };
    eprint!("{}", disc.header());
    eprintln!("run id:     {runid} (scratch collections ccf-{runid}-*)");
    let run = Arc::new(Run {
        client: Arc::clone(&client),
        disc,
        runid,
        fixtures,
        strict: cli.opts.strict,
        user: cli.opts.user.clone().unwrap_or_default(),
        live: Arc::new(Mutex::new(Default::default())),
        outcomes: Mutex::new(Default::default()),
        scenario_timeout: Duration::from_secs(cli.opts.scenario_timeout.max(1)),
    });
    install_signal_cleanup(&rt, &run);
    let trials: Vec<Trial> = loaded
        .iter()
        .enumerate()
        .map(|(i, l)| trial(&rt, &run, l.clone(), i + 1))
        .collect();
    let conclusion = libtest_mimic::run(&cli.test, trials);
    let outcomes = run.outcomes.lock().map(|o| o.clone()).unwrap_or_default();
    let results = report::results(&loaded, &outcomes, &run.disc);
    let warns = results
        .scenarios
        .iter()
        .filter(|s| s.outcome == "warn")
        .count();
    if warns > 0 {
        eprintln!("{warns} SHOULD/MAY-level requirement(s) not met (shown as ignored with \"warning:\"; --strict makes them failures)");
    }
    if let Some(p) = &cli.opts.junit {
        if let Err(e) = std::fs::write(p, report::junit(&results)) {
            eprintln!("error: cannot write --junit {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    if let Some(p) = &cli.opts.results {
        let json = serde_json::to_string_pretty(&results).unwrap_or_default();
        if let Err(e) = std::fs::write(p, json) {
            eprintln!("error: cannot write --results {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    conclusion.exit_code()
}

fn trial(rt: &Arc<tokio::runtime::Runtime>, run: &Arc<Run>, l: Loaded, index: usize) -> Trial {
    let rt = Arc::clone(rt);
    let run = Arc::clone(run);
    let name = l.trial_name();
    Trial::ignorable_test(name, move || match rt.block_on(run.run(&l, index)) {
        Outcome::Pass => Ok(Completion::Completed),
        Outcome::Ignored(r) => Ok(Completion::ignored_with(r)),
        Outcome::Warn(m) => Ok(Completion::ignored_with(format!(
            "warning: {}",
            m.lines().take(3).collect::<Vec<_>>().join(" | ")
        ))),
        Outcome::Fail(m) => Err(Failed::from(m)),
    })
}

/// On Ctrl-C or SIGTERM, delete the scratch collections that exist right now, then exit.
fn install_signal_cleanup(rt: &tokio::runtime::Runtime, run: &Arc<Run>) {
    let run = Arc::clone(run);
    rt.spawn(async move {
        let code = wait_for_signal().await;
        eprintln!(
            "\ninterrupted: deleting scratch collections of run {}",
            run.runid
        );
        let live: Vec<url::Url> = run
            .live
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default();
        for u in live {
            let _ = run.client.send(&Request::new("DELETE", u)).await;
        }
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
