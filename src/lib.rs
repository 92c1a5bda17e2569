//! caldav-conformance: a CalDAV protocol conformance test suite. The binary (`main.rs`) wires
//! these modules together; each owns one job.
//!
//! The library exists for the binary and for the project's own integration tests
//! (`tests/`: hostile servers, fuzzing, fixture validity, verbatim requirements, mutation
//! testing); it is not a stable API and is not published as one. What other tools should use
//! is the command line and its outputs: the JSON results (`--results`, shape in the README),
//! JUnit (`--junit`), the HTML report (`--html`) and the baseline files.

pub mod baseline; // expected outcomes per server, regressions both ways
pub mod cleanup; // removing scratch collections left by interrupted runs
pub mod coverage; // the coverage table from the scenario files
pub mod discovery; // finding the principal, home and features of the server under test
pub mod embedded; // the suite carried in the binary (scenarios, fixtures, RFC texts, baselines)
pub mod evaluate; // a response against a step's expectation, captures and transitions
pub mod html; // the self-contained HTML report and the matrix heat map
pub mod http; // HTTP client, authentication, caps, scope guard, redaction
pub mod ical; // iCalendar normalisation
pub mod interrupt; // Ctrl-C / SIGTERM: stop, delete scratch collections, exit
pub mod matching; // expectations against responses, path-addressed diffs
pub mod oracle; // generative time-range oracle (RFC 4791 §9.9): random calendars, expected matches
pub mod outcome; // the result model: outcome and typed failure, rendered in one place
pub mod profile; // --profile: the shipped baseline of the detected product, deployment wording
pub mod purge; // deleting scratch collections for good (trash bins) and checking they are gone
pub mod readonly; // --read-only: consistency checks on the user's real calendars, nothing written
pub mod report; // JUnit and JSON results
pub mod rfc; // the shipped RFC texts and the verbatim-quote rule
pub mod runner; // running one scenario in its scratch calendar
pub mod scenario; // the YAML scenario model and its loading
pub mod scratch; // scratch collection names and the registry of those that may exist
pub mod spawn; // --server-cmd: the server under test as a child process
pub mod suite; // where scenarios and fixtures come from: built-in, --scenarios, --extra-*
pub mod template; // variable substitution
pub mod xml; // namespace-aware XML and the multistatus model
