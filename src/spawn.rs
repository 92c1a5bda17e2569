//! `--server-cmd`: start the server under test, wait until it answers, and stop it afterwards
//! by its PID (its own process group, so workers it forks stop too). Its output goes to a log
//! file whose tail is shown when something fails.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The process group of the running server under test (0: none), for the interrupt handler.
static REGISTERED: AtomicU32 = AtomicU32::new(0);

/// Stop the registered server under test's process group (used when the run is interrupted
/// and exits without unwinding).
pub fn stop_registered() {
    let pid = REGISTERED.swap(0, Ordering::SeqCst);
    if pid == 0 {
        return;
    }
    let group = format!("-{pid}");
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
}

pub struct ServerUnderTest {
    child: Child,
    pub log: PathBuf,
}

impl ServerUnderTest {
    /// Start `sh -c CMD` in a new process group, output to `log`.
    pub fn start(cmd: &str, log: PathBuf) -> Result<ServerUnderTest, String> {
        let out = std::fs::File::create(&log)
            .map_err(|e| format!("--server-cmd: cannot create the log {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("--server-cmd: log: {e}"))?;
        let child = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("--server-cmd: cannot start `sh -c {cmd}`: {e}"))?;
        REGISTERED.store(child.id(), Ordering::SeqCst);
        Ok(ServerUnderTest { child, log })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Poll `probe` until it reports an HTTP answer, the process exits, or the time is up.
    pub fn wait_ready(
        &mut self,
        timeout: Duration,
        mut probe: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the server under test exited before answering ({status})\n{}",
                    self.log_tail(30)
                ));
            }
            if probe() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(format!(
                    "the server under test did not answer within {timeout:?} (--ready-timeout)\n{}",
                    self.log_tail(30)
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The last `n` lines of the server's log.
    pub fn log_tail(&self, n: usize) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
            let mut buf = Vec::new();
            let _ = f.read_to_end(&mut buf);
            text = String::from_utf8_lossy(&buf).into_owned();
        }
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(n)..];
        format!(
            "--- last {} lines of the server log {} ---\n{}",
            tail.len(),
            self.log.display(),
            tail.join("\n")
        )
    }

    /// SIGTERM to the process group, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        let _ = REGISTERED.compare_exchange(self.child.id(), 0, Ordering::SeqCst, Ordering::SeqCst);
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let start = Instant::now();
        while start.elapsed() < grace {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Workers of the group may outlive the leader: always make sure.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for ServerUnderTest {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}
