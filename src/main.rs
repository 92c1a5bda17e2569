//! The `caldav-conformance` binary: the command line (our flags plus libtest's own), loading
//! scenarios, discovery, turning each scenario into a libtest-mimic trial, and writing reports.
//! Exit codes: 0 all passed (with --baseline: every outcome as the baseline says), 101 a
//! scenario failed or was inconclusive (or differs from the baseline), 2 usage, configuration
//! or scenario-file error. The last line printed states the verdict.

use caldav_conformance::baseline::{self, Baseline, Judgement, Mark};
use caldav_conformance::discovery;
use caldav_conformance::html;
use caldav_conformance::http::{Client, ClientConfig, Request, Secret};
use caldav_conformance::interrupt::{install_signal_cleanup, wait_if_interrupted};
use caldav_conformance::outcome::{Failure, Kind, Limits, Outcome};
use caldav_conformance::report;
use caldav_conformance::runner::Run;
use caldav_conformance::scenario::{self, Loaded};
use caldav_conformance::scratch::Names;
use caldav_conformance::suite::SuiteArgs;
use caldav_conformance::{embedded, profile};
use libtest_mimic::{Completion, Failed, Trial};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod cli;
use cli::{Cli, Cmd, Conn, Opts, TextOrJson};

fn die(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

fn password(o: &Conn) -> Result<Option<Secret>, String> {
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

fn parse_cli() -> Cli {
    // libtest-mimic's flattened arguments bring their own help template; use ours.
    let cmd = <Cli as clap::CommandFactory>::command()
        .about("CalDAV conformance test suite: runs YAML scenarios, each citing the RFC section it checks, against a real server")
        .long_about(None)
        .help_template("{about}\n\n{usage-heading} {usage}\n\n{all-args}\n\n{after-help}")
        .after_help(
            "Environment: CALDAV_URL, CALDAV_USER and CALDAV_PASSWORD are fallbacks for --url, --user and the password flags.\n\
             Scenarios run in parallel (--test-threads N); exit codes: 0 all passed (or, with --baseline, every outcome as expected), \
             101 a scenario failed or was inconclusive (or differs from the baseline), 2 usage/configuration error.",
        );
    match <Cli as clap::FromArgMatches>::from_arg_matches(&cmd.get_matches()) {
        Ok(c) => c,
        Err(e) => e.exit(),
    }
}

fn main() -> ExitCode {
    let cli = parse_cli();
    match &cli.cmd {
        Some(Cmd::Coverage { suite, format }) => return coverage(suite, *format),
        Some(Cmd::Export { dir, force }) => return export(dir, *force),
        Some(Cmd::Matrix { results, out }) => return matrix(results, out),
        Some(Cmd::Cleanup { conn, dry_run }) => return cleanup(conn, *dry_run),
        None => {}
    }
    let (loaded, baseline) = match prepare(&cli) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if cli.test.list {
        let trials = loaded
            .iter()
            .map(|l| Trial::test(l.trial_name(), || Ok(())))
            .collect();
        return libtest_mimic::run(&cli.test, trials).exit_code();
    }
    let (client, start, home) = match connect(&cli.conn) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => Arc::new(rt),
        Err(code) => return code,
    };
    let session = Session {
        client,
        start,
        home,
        rt,
        runid: run_id(),
    };
    let mut server = match &cli.opts.server_cmd {
        None => None,
        Some(cmd) => match start_server(cmd, &cli.opts, &session) {
            Ok(s) => Some(s),
            Err(e) => return die(&e),
        },
    };
    let code = run_suite(&cli, &session, loaded, baseline);
    wait_if_interrupted(Duration::from_secs(cli.conn.timeout.max(1)));
    if let Some(s) = server.as_mut() {
        if code != ExitCode::SUCCESS {
            eprintln!("{}", s.log_tail(40));
        }
        s.stop(Duration::from_secs(5));
        eprintln!("stopped the server under test (pid {})", s.pid());
    }
    code
}

/// Load the scenarios (and the oracle's trial) and the baselines; nothing is sent yet.
fn prepare(cli: &Cli) -> Result<(Vec<Loaded>, Option<Baseline>), ExitCode> {
    let mut loaded = load(&cli.opts.suite)?;
    let base = match cli.opts.oracle_date.as_str() {
        "today" => chrono::Utc::now().date_naive(),
        d => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|e| {
            die(&format!(
                "--oracle-date {d:?}: {e} (use YYYY-MM-DD or today)"
            ))
        })?,
    };
    loaded.push(scenario::oracle_scenario(cli.opts.seed, base));
    if cli.opts.baseline.is_empty() {
        return Ok((loaded, None));
    }
    match baseline::load_all(&cli.opts.baseline, &loaded) {
        Ok(b) => Ok((loaded, Some(b))),
        Err(errs) => {
            for e in &errs {
                eprintln!("{e}");
            }
            Err(die(&format!(
                "{} error(s) in the baseline; nothing was sent",
                errs.len()
            )))
        }
    }
}

/// The connection and runtime of one run.
struct Session {
    client: Arc<Client>,
    start: url::Url,
    home: Option<url::Url>,
    rt: Arc<tokio::runtime::Runtime>,
    runid: String,
}

/// Start `--server-cmd` and wait until `--ready-url` (or `--url`) answers any HTTP status.
fn start_server(
    cmd: &str,
    opts: &Opts,
    session: &Session,
) -> Result<caldav_conformance::spawn::ServerUnderTest, String> {
    let ready = match &opts.ready_url {
        Some(u) => url::Url::parse(u).map_err(|e| format!("--ready-url {u:?}: {e}"))?,
        None => session.start.clone(),
    };
    let log = opts.server_log.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("caldav-conformance-{}-server.log", session.runid))
    });
    let mut s = caldav_conformance::spawn::ServerUnderTest::start(cmd, log)?;
    eprintln!(
        "started the server under test (pid {}), log {}",
        s.pid(),
        s.log.display()
    );
    s.wait_ready(Duration::from_secs(opts.ready_timeout), || {
        session
            .rt
            .block_on(session.client.send(&Request::new("OPTIONS", ready.clone())))
            .is_ok()
    })?;
    Ok(s)
}

/// Discover the server (creating and deleting the probe calendar) and prepare the run.
fn start_run(cli: &Cli, session: &Session) -> Result<Arc<Run>, ExitCode> {
    let (client, rt, runid) = (&session.client, &session.rt, &session.runid);
    let names = Names::new(runid);
    let probe = names.probe();
    // Installed before discovery, which creates the probe calendar.
    install_signal_cleanup(rt, client, &names);
    if cli.opts.read_only {
        // Refused in the client itself, whatever would send it.
        client.forbid_writes();
    }
    let disc = rt.block_on(discovery::discover(
        client,
        &session.start,
        session.home.as_ref(),
        (!cli.opts.read_only).then_some(probe.as_str()),
    ));
    wait_if_interrupted(client.timeout());
    let disc = disc.map_err(|e| die(&e))?;
    eprint!("{}", disc.header());
    eprintln!("suite:      {}", cli.opts.suite.describe());
    eprintln!(
        "run id:     {runid} (scratch collections {}*)",
        names.prefix()
    );
    Ok(Arc::new(Run {
        client: Arc::clone(client),
        disc,
        names,
        fixtures: cli.opts.suite.fixtures(),
        strict: cli.opts.strict,
        read_only: cli.opts.read_only,
        user: cli.conn.user.clone().unwrap_or_default(),
        outcomes: Mutex::new(Default::default()),
        rounds: Mutex::default(),
        scenario_timeout: Duration::from_secs(cli.conn.scenario_timeout.max(1)),
    }))
}

fn run_suite(
    cli: &Cli,
    session: &Session,
    mut loaded: Vec<Loaded>,
    baseline: Option<Baseline>,
) -> ExitCode {
    let given = !cli.opts.baseline.is_empty() || cli.opts.write_baseline.is_some();
    let choice = match profile::Choice::parse(cli.opts.profile.as_deref(), given) {
        Ok(c) => c,
        Err(e) => return die(&e),
    };
    let run = match start_run(cli, session) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if cli.opts.read_only {
        match readonly_trials(cli, session, &run) {
            Ok(extra) => loaded.extend(extra),
            Err(e) => return die(&e),
        }
    }
    let (baseline, prof) = match profile::apply(&choice, &run.disc, baseline) {
        Ok(x) => x,
        Err(e) => return die(&e),
    };
    let baseline = baseline.map(Arc::new);
    let trials: Vec<Trial> = loaded
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let b = baseline.clone().filter(|_| compared(cli, l));
            trial(&session.rt, &run, b, l.clone(), i + 1)
        })
        .collect();
    let conclusion = libtest_mimic::run(&cli.test, trials);
    // An interrupted run writes no results, JUnit or baseline: the handler exits.
    wait_if_interrupted(run.client.timeout());
    let outcomes = run.outcomes.lock().map(|o| o.clone()).unwrap_or_default();
    let mut results = report::results(&loaded, &outcomes, &run.disc);
    results.set_rounds(&run.rounds.lock().map(|r| r.clone()).unwrap_or_default());
    results.server_name = cli.opts.server_name.clone();
    results.server_version = cli.opts.server_version.clone();
    results.profile = prof.as_ref().map(|p| format!("{}: {}", p.name, p.server));
    // With --read-only, the scenarios that write did not run: nothing to compare.
    let skipped: BTreeSet<String> = loaded
        .iter()
        .filter(|l| !compared(cli, l))
        .map(|l| l.trial_name())
        .collect();
    let kept: std::collections::BTreeMap<_, _> = outcomes
        .iter()
        .filter(|(n, _)| !skipped.contains(*n))
        .map(|(n, x)| (n.clone(), x.clone()))
        .collect();
    let only: Vec<(&String, &Outcome)> = kept.iter().map(|(n, (o, _))| (n, o)).collect();
    let mut exit = conclusion.exit_code();
    let mut cmp = None;
    if let Some(b) = baseline.as_deref() {
        results.annotate(b, &kept);
        let c = baseline::compare(b, only.iter().copied());
        match &prof {
            Some(p) => eprint!("{}", profile::render(p, b, only.iter().copied(), &c)),
            None => eprint!("{}", c.render(&files_of(&cli.opts.baseline))),
        }
        exit = if c.is_clean() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(101)
        };
        cmp = Some(c);
    }
    if let Err(e) = write_outputs(cli, &run, &loaded, &results, &only) {
        return die(&e);
    }
    warn_left_behind(&run.client);
    print_verdict(cli, &run, &results, prof.as_ref(), cmp.as_ref());
    exit
}

/// The closing lines: unmet SHOULD/MAY requirements, then the verdict, last.
fn print_verdict(
    cli: &Cli,
    run: &Run,
    results: &report::Results,
    prof: Option<&profile::Profile>,
    cmp: Option<&baseline::Comparison>,
) {
    let warns = results.count(Kind::Warn);
    if warns > 0 && !cli.opts.strict {
        eprintln!("{warns} SHOULD/MAY-level requirement(s) not met (shown as ignored with \"warning:\"; --strict makes them failures)");
    }
    let name = cli
        .opts
        .server_version
        .clone()
        .or_else(|| run.disc.product.clone())
        .or_else(|| run.disc.server.clone())
        .or_else(|| cli.opts.server_name.clone())
        .unwrap_or_else(|| "the server".into());
    let verdict = match prof {
        Some(p) => report::verdict_against(&name, results, cmp, &p.against()),
        None => report::verdict(&name, results, cmp),
    };
    println!("\n{verdict}");
}

/// --read-only: the checks of every real calendar of the home, one trial per check.
fn readonly_trials(cli: &Cli, session: &Session, run: &Run) -> Result<Vec<Loaded>, String> {
    use chrono::Datelike as _;
    let calendars = session
        .rt
        .block_on(caldav_conformance::readonly::list_calendars(
            &run.client,
            &run.disc,
        ))?;
    let names: Vec<&str> = calendars.iter().map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        eprintln!("read-only:  no calendar in the home (no member with CALDAV:calendar in DAV:resourcetype): no calendar to check");
    } else {
        eprintln!(
            "read-only:  {} calendar(s) in the home: {} (at most {} objects each, --max-objects)",
            calendars.len(),
            names.join(", "),
            cli.opts.max_objects
        );
    }
    let opts = caldav_conformance::readonly::Options {
        max_objects: cli.opts.max_objects,
        show_data: cli.opts.show_data,
        year: chrono::Utc::now().year(),
    };
    Ok(caldav_conformance::readonly::trials(&calendars, &opts))
}

/// Say plainly which scratch collections are still on the server (a trash bin that keeps them,
/// a DELETE refused): their scenarios are inconclusive, and `cleanup` is the way to retry.
fn warn_left_behind(client: &Client) {
    let left = client.registry().left();
    if left.is_empty() {
        return;
    }
    eprintln!(
        "\nwarning: {} scratch collection(s) could not be removed from the server:",
        left.len()
    );
    for (u, why) in &left {
        eprintln!("  {u}: {why}");
    }
    eprintln!("  `caldav-conformance cleanup --url …` retries; it exits 1 while any is left");
}

/// Whether a scenario's outcome is compared with the baseline: not when --read-only skipped it.
fn compared(cli: &Cli, l: &Loaded) -> bool {
    !cli.opts.read_only || l.scenario.read_only
}

fn files_of(paths: &[PathBuf]) -> String {
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    files.join(", ")
}

/// --write-baseline, --junit and --results.
fn write_outputs(
    cli: &Cli,
    run: &Run,
    loaded: &[Loaded],
    results: &report::Results,
    only: &[(&String, &Outcome)],
) -> Result<(), String> {
    if let Some(p) = &cli.opts.write_baseline {
        let old = std::fs::read_to_string(p)
            .ok()
            .and_then(|t| scenario::parse_yaml::<Baseline>(&t).ok());
        let server = cli
            .opts
            .server_version
            .clone()
            .or(run.disc.product.clone())
            .or(run.disc.server.clone())
            .unwrap_or_default();
        let b = baseline::draft(old.as_ref(), &server, loaded, only.iter().copied());
        std::fs::write(p, baseline::to_yaml(&b))
            .map_err(|e| format!("cannot write --write-baseline {}: {e}", p.display()))?;
        eprintln!(
            "wrote baseline draft {} ({} entries): review every UNREVIEWED entry against the RFC",
            p.display(),
            b.expect.len()
        );
    }
    if let Some(p) = &cli.opts.junit {
        std::fs::write(p, report::junit(results))
            .map_err(|e| format!("cannot write --junit {}: {e}", p.display()))?;
    }
    if let Some(p) = &cli.opts.results {
        let json = serde_json::to_string_pretty(results).unwrap_or_default();
        std::fs::write(p, json)
            .map_err(|e| format!("cannot write --results {}: {e}", p.display()))?;
    }
    if let Some(p) = &cli.opts.html {
        let ctx = html::Context::new(cli.conn.url.as_deref(), &cli.opts.baseline);
        std::fs::write(p, html::report(results, loaded, &ctx))
            .map_err(|e| format!("cannot write --html {}: {e}", p.display()))?;
    }
    Ok(())
}

fn load(suite: &SuiteArgs) -> Result<Vec<Loaded>, ExitCode> {
    suite.load().map_err(|errs| {
        for e in &errs {
            eprintln!("{e}");
        }
        die(&format!(
            "{} error(s) in scenario files; nothing was sent",
            errs.len()
        ))
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| die(&format!("cannot start the async runtime: {e}")))
}

/// Validate the connection options and build the client.
fn connect(conn: &Conn) -> Result<(Arc<Client>, url::Url, Option<url::Url>), ExitCode> {
    let Some(url) = conn.url.clone() else {
        return Err(die("no server URL: pass --url URL or set CALDAV_URL"));
    };
    let start = match url::Url::parse(&url) {
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            return Err(die(
                "--url must not hold credentials (user:password@host): use --user with --password-file or --password-env",
            ))
        }
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => u,
        Ok(u) => {
            return Err(die(&format!(
                "--url {u}: only http and https URLs are supported"
            )))
        }
        Err(e) => return Err(die(&format!("--url {url:?} is not a URL: {e}"))),
    };
    let home = match conn.home.as_deref().map(|h| start.join(h)) {
        None => None,
        Some(Ok(h)) => Some(h),
        Some(Err(e)) => return Err(die(&format!("--home: {e}"))),
    };
    let pass = password(conn).map_err(|e| die(&e))?;
    let client = Client::new(ClientConfig {
        user: conn.user.clone(),
        password: pass,
        auth: conn.auth,
        insecure: conn.insecure,
        ca_cert: conn.ca_cert.clone(),
        timeout: Duration::from_secs(conn.timeout.max(1)),
        max_body: conn.max_body,
    })
    .map_err(|e| die(&e))?;
    // Credentials go to the server under test only: the origin of --url.
    client.bind_credentials(&start);
    Ok((Arc::new(client), start, home))
}

fn export(dir: &Path, force: bool) -> ExitCode {
    match embedded::export(dir, force) {
        Ok(files) => {
            eprintln!(
                "wrote the embedded suite ({} files) to {}: run it with --scenarios {}/scenarios --fixtures {}/fixtures",
                files.len(),
                dir.display(),
                dir.display(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => die(&e),
    }
}

fn coverage(suite: &SuiteArgs, format: TextOrJson) -> ExitCode {
    let loaded = match load(suite) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let c = caldav_conformance::coverage::compute(&loaded);
    match format {
        TextOrJson::Text => print!("{}", caldav_conformance::coverage::render(&c)),
        TextOrJson::Json => println!("{}", serde_json::to_string_pretty(&c).unwrap_or_default()),
    }
    ExitCode::SUCCESS
}

fn matrix(files: &[PathBuf], out: &Path) -> ExitCode {
    let mut runs = Vec::new();
    for f in files {
        let parsed = std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<report::Results>(&t).map_err(|e| e.to_string()));
        match parsed {
            Ok(r) => runs.push(r),
            Err(e) => return die(&format!("{}: {e}", f.display())),
        }
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        return die(&format!("cannot create {}: {e}", out.display()));
    }
    let md = report::matrix::markdown(&runs);
    let page = html::index(&runs);
    // The matrix JSON keeps the one-line reasons; the full failures stay in the results.
    for r in runs.iter_mut() {
        for s in r.scenarios.iter_mut() {
            s.failure = None;
        }
    }
    let json = serde_json::to_string_pretty(&runs).unwrap_or_default();
    for (name, body) in [
        ("matrix.md", md),
        ("matrix.json", json),
        ("index.html", page),
    ] {
        let p = out.join(name);
        if let Err(e) = std::fs::write(&p, body) {
            return die(&format!("cannot write {}: {e}", p.display()));
        }
        eprintln!("wrote {}", p.display());
    }
    ExitCode::SUCCESS
}

fn cleanup(conn: &Conn, dry_run: bool) -> ExitCode {
    let (client, start, home) = match connect(conn) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let disc = match rt.block_on(discovery::discover(&client, &start, home.as_ref(), None)) {
        Ok(d) => d,
        Err(e) => return die(&e),
    };
    match rt.block_on(caldav_conformance::cleanup::run(
        &client, &disc.home, dry_run,
    )) {
        Ok(list) if list.is_empty() => {
            println!("no scratch collections under {}", disc.home);
            ExitCode::SUCCESS
        }
        Ok(list) => {
            for e in &list {
                println!("{}: {}", e.url, e.what);
            }
            let left = list.iter().filter(|e| e.left).count();
            if left == 0 {
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "error: {left} scratch collection(s) could not be removed for good (see above)"
            );
            ExitCode::from(1)
        }
        Err(e) => die(&e),
    }
}

fn trial(
    rt: &Arc<tokio::runtime::Runtime>,
    run: &Arc<Run>,
    baseline: Option<Arc<Baseline>>,
    l: Loaded,
    index: usize,
) -> Trial {
    let rt = Arc::clone(rt);
    let run = Arc::clone(run);
    let name = l.trial_name();
    Trial::ignorable_test(name.clone(), move || {
        let o = rt.block_on(run.run(&l, index));
        let judged = baseline
            .as_deref()
            .map(|b| baseline::judge(b.expect.get(&name), &o));
        libtest_result(&o, judged)
    })
}

/// What libtest shows for an outcome. Without a baseline a fail or an inconclusive fails the
/// trial; with one, only a difference from the baseline does, and known deviations are shown
/// as ignored with their reason.
fn libtest_result(o: &Outcome, judged: Option<Judgement>) -> Result<Completion, Failed> {
    let known =
        |what: &str, f: &Failure| Ok(Completion::ignored_with(format!("{what}: {}", f.reason())));
    match (judged, o) {
        (Some(j), _) if j.mark != Mark::Expected => {
            let word = match j.mark {
                Mark::Stale => "stale",
                Mark::Changed => "changed",
                _ => "regression",
            };
            let text = o.render(Limits::CONSOLE);
            let sep = if text.is_empty() { "" } else { "\n" };
            Err(Failed::from(format!("{text}{sep}{word}: {}", j.detail)))
        }
        (_, Outcome::Pass) => Ok(Completion::Completed),
        (_, Outcome::Ignored(r)) => Ok(Completion::ignored_with(r.clone())),
        (_, Outcome::Warn(f)) => known("warning", f),
        (Some(_), Outcome::Fail(f)) => known("known deviation", f),
        (Some(_), Outcome::Inconclusive(f)) => known("known inconclusive", f),
        (None, Outcome::Fail(_) | Outcome::Inconclusive(_)) => {
            Err(Failed::from(o.render(Limits::CONSOLE)))
        }
    }
}
