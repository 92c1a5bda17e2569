//! The command line of the `caldav-conformance` binary: its subcommands, the connection flags
//! and the run options (libtest's own flags are flattened in), parsed by clap.

use caldav_conformance::http::AuthKind;
use caldav_conformance::suite::SuiteArgs;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "caldav-conformance",
    version,
    about = "CalDAV conformance test suite: runs YAML scenarios, each citing the RFC section it checks, against a real server",
    after_help = "Environment: CALDAV_URL, CALDAV_USER and CALDAV_PASSWORD are fallbacks for --url, --user and the password flags."
)]
#[command(
    args_conflicts_with_subcommands = true,
    override_usage = "caldav-conformance --url URL [--user U --password-file F] [OPTIONS] [FILTER]\n       caldav-conformance <COMMAND> [OPTIONS]"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) cmd: Option<Cmd>,
    #[command(flatten)]
    pub(crate) conn: Conn,
    #[command(flatten)]
    pub(crate) opts: Opts,
    #[command(flatten)]
    pub(crate) test: libtest_mimic::Arguments,
}

#[derive(clap::Subcommand, Debug)]
pub(crate) enum Cmd {
    /// Print, from the scenario files alone, each RFC section with the scenarios and assertion steps citing it.
    Coverage {
        #[command(flatten)]
        suite: SuiteArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TextOrJson,
    },
    /// List and delete scratch collections (ccf-XXXXXXXX-N) that interrupted runs left behind.
    Cleanup {
        #[command(flatten)]
        conn: Conn,
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Build the conformance matrix (Markdown, JSON and the index.html heat map) from --results files of several servers.
    Matrix {
        /// Results files written by --results.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Output folder for matrix.md, matrix.json and index.html.
        #[arg(long, value_name = "DIR", default_value = "reports")]
        out: PathBuf,
    },
    /// Write the suite embedded in this binary (scenarios/, fixtures/ with the RFC texts,
    /// servers/NAME/baseline*.yaml) to DIR, for reading or editing (then run it with --scenarios).
    Export {
        /// Folder to write to (created if needed).
        dir: PathBuf,
        /// Overwrite files that differ from the embedded ones.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum TextOrJson {
    Text,
    Json,
}

/// How to reach and authenticate to the server.
#[derive(clap::Args, Debug)]
pub(crate) struct Conn {
    /// Any URL on the server; the principal and calendar home are discovered from it.
    #[arg(long, env = "CALDAV_URL")]
    pub(crate) url: Option<String>,
    /// User name for authentication.
    #[arg(long, env = "CALDAV_USER")]
    pub(crate) user: Option<String>,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", group = "pw")]
    pub(crate) password_env: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE", group = "pw")]
    pub(crate) password_file: Option<PathBuf>,
    /// The password itself (visible to other users of the machine: prefer --password-env or --password-file).
    #[arg(long, value_name = "P", group = "pw")]
    pub(crate) password: Option<String>,
    /// Authentication scheme; auto answers whatever challenge the server sends.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) auth: AuthKind,
    /// Accept any TLS certificate.
    #[arg(long)]
    pub(crate) insecure: bool,
    /// Trust this PEM CA certificate in addition to the system roots.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_cert: Option<PathBuf>,
    /// Per-request timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub(crate) timeout: u64,
    /// Per-scenario timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 180)]
    pub(crate) scenario_timeout: u64,
    /// Largest response body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub(crate) max_body: u64,
    /// Calendar home URL, skipping discovery of calendar-home-set.
    #[arg(long, value_name = "URL")]
    pub(crate) home: Option<String>,
}

#[derive(clap::Args, Debug)]
pub(crate) struct Opts {
    #[command(flatten)]
    pub(crate) suite: SuiteArgs,
    /// Compare with the shipped baseline of a known server: auto (the product discovery
    /// identifies), a name (radicale, xandikos, sabre, davical, cyrus, sogo, …) or none.
    /// Default: auto, or none with --baseline or --write-baseline.
    #[arg(long, value_name = "auto|NAME|none")]
    pub(crate) profile: Option<String>,
    /// Write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Write per-scenario results as JSON here.
    #[arg(long, value_name = "FILE")]
    pub(crate) results: Option<PathBuf>,
    /// Write a self-contained HTML report here (no network needed to view it).
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
    /// Seed of the generative time-range oracle (trial oracle/rfc4791_9_9_time_range::seed-N).
    #[arg(long, value_name = "N", default_value_t = caldav_conformance::oracle::DEFAULT_SEED)]
    pub(crate) seed: u64,
    /// Date the oracle's calendar is built around (YYYY-MM-DD or `today`); fixed by default so
    /// that a seed gives the same requests every day.
    #[arg(long, value_name = "DATE", default_value = "2026-01-05")]
    pub(crate) oracle_date: String,
    /// Treat unmet SHOULD/MAY requirements as failures.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Write nothing: run only the scenarios that write nothing (no scratch calendar is
    /// created, every writing request is refused), plus read-only checks of every real
    /// calendar in the home (trials readonly/<calendar>::<check>).
    #[arg(long)]
    pub(crate) read_only: bool,
    /// With --read-only: fetch at most N objects per calendar (GET and calendar-multiget).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub(crate) max_objects: usize,
    /// With --read-only: show calendar data (bodies, property values) in failures.
    #[arg(long)]
    pub(crate) show_data: bool,
    /// Expected outcomes for this server: the run fails on any difference, in either direction.
    /// May be given several times (entries are merged; a scenario may appear in one file only).
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Vec<PathBuf>,
    /// Create or update a baseline from this run (entries are drafts to review against the RFC).
    #[arg(long, value_name = "FILE")]
    pub(crate) write_baseline: Option<PathBuf>,
    /// Name of the server under test, for results and the matrix (e.g. radicale).
    #[arg(long, value_name = "NAME")]
    pub(crate) server_name: Option<String>,
    /// Version of the server under test, for results and the matrix (e.g. "Radicale 3.9.0").
    #[arg(long, value_name = "TEXT")]
    pub(crate) server_version: Option<String>,
    /// Start the server under test with `sh -c CMD`, wait until it answers, stop it afterwards.
    #[arg(long, value_name = "CMD")]
    pub(crate) server_cmd: Option<String>,
    /// URL polled until the server under test answers (default: --url).
    #[arg(long, value_name = "URL")]
    pub(crate) ready_url: Option<String>,
    /// Seconds to wait for the server under test to answer.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) ready_timeout: u64,
    /// Log file of the server under test (default: a file in the temp folder).
    #[arg(long, value_name = "FILE")]
    pub(crate) server_log: Option<PathBuf>,
}
