//! Processes: starting the hub, the floor and nats-server (optionally pinned with `taskset`),
//! running load-generator processes, and reading CPU time and RSS from /proc.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;

use super::jobs::{Job, JobResult};

/// Clock ticks per second for /proc/PID/stat (`getconf CLK_TCK`, 100 on Linux in practice).
fn clk_tck() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

fn stat_cpu(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clk_tck())
}

/// User plus system CPU seconds used so far by process `pid` (all its threads).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    stat_cpu(&format!("/proc/{pid}/stat"))
}

pub fn self_cpu_seconds() -> Option<f64> {
    stat_cpu("/proc/self/stat")
}

/// Resident memory of process `pid` in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Where processes run: hub-side servers on one core, load generators on another, or anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pinning {
    /// `taskset -c 0` for the server, `taskset -c 1` for load generators.
    Pinned,
    Unpinned,
}

impl Pinning {
    pub fn label(self) -> &'static str {
        match self {
            Pinning::Pinned => "pinned (server on CPU 0, load generator on CPU 1)",
            Pinning::Unpinned => "unpinned",
        }
    }

    fn command(self, core: u32, program: &Path) -> Command {
        match self {
            Pinning::Pinned => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(core.to_string()).arg(program);
                c
            }
            Pinning::Unpinned => Command::new(program),
        }
    }

    /// The shell words of a command, as the report shows them.
    pub fn words(self, core: u32, program: &str, args: &[String]) -> String {
        let mut words = match self {
            Pinning::Pinned => format!("taskset -c {core} {program}"),
            Pinning::Unpinned => program.to_string(),
        };
        for a in args {
            words.push(' ');
            words.push_str(a);
        }
        words
    }
}

/// A server process this bench started. Killed when dropped.
pub struct ServerProc {
    child: Child,
    pub pid: u32,
    pub url: String,
    pub command: String,
    log: PathBuf,
}

impl ServerProc {
    /// Start `program args`, stderr to `log`. With `url_from_stdout`, the URL is what follows
    /// "listening on " in its first stdout line; otherwise it is `url`, and the port must
    /// accept connections within 10 s.
    pub fn start(
        program: &Path,
        args: &[String],
        pinning: Pinning,
        log: &Path,
        url: Option<String>,
    ) -> anyhow::Result<ServerProc> {
        let stderr = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = pinning
            .command(0, program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let pid = child.id();
        let command = pinning.words(0, &program.display().to_string(), args);
        let stdout = child.stdout.take();
        let url = match url {
            Some(url) => {
                wait_for_port(&url, Duration::from_secs(10))
                    .with_context(|| format!("{command} did not open {url}: {}", log_tail(log)))?;
                url
            }
            None => {
                let (tx, rx) = mpsc::channel();
                std::thread::spawn(move || {
                    let mut line = String::new();
                    if let Some(out) = stdout {
                        let _ = BufReader::new(out).read_line(&mut line);
                    }
                    let _ = tx.send(line);
                });
                let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
                match line.split("listening on ").nth(1) {
                    Some(url) => url.trim().to_string(),
                    None => {
                        let _ = child.kill();
                        let _ = child.wait();
                        anyhow::bail!("{command} did not say where it listens: {}", log_tail(log));
                    }
                }
            }
        };
        Ok(ServerProc {
            child,
            pid,
            url,
            command,
            log: log.to_path_buf(),
        })
    }

    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid)
    }

    /// Stop it with SIGTERM and wait (up to a minute) for it to exit: a server under callgrind
    /// writes its counts on the way out.
    pub fn terminate(mut self) -> anyhow::Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(pid) = rustix::process::Pid::from_raw(self.pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(None) => {
                    anyhow::bail!("{} did not stop within a minute of SIGTERM", self.command)
                }
                Err(e) => anyhow::bail!("cannot wait for {}: {e}", self.command),
            }
        }
    }

    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.pid)
    }

    /// The last lines of its log, for error messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// Is it still running? If not, the end of its log says why.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => anyhow::bail!(
                "{} exited ({status}): {}",
                self.command,
                log_tail(&self.log)
            ),
            Err(e) => anyhow::bail!("cannot check {}: {e}", self.command),
        }
    }
}

impl ServerProc {
    /// SIGKILL, and wait until it is gone (a failover measurement).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_port(url: &str, limit: Duration) -> anyhow::Result<()> {
    let authority = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .context("no host:port in the URL")?;
    let deadline = std::time::Instant::now() + limit;
    loop {
        if std::net::TcpStream::connect(authority).is_ok() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("nothing listens on {authority}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last lines of a log file, for error messages.
pub fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    if lines.is_empty() {
        format!("(nothing in {})", log.display())
    } else {
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

/// How to start load generators: this executable, `bench --role loadgen --spec FILE`.
#[derive(Debug, Clone)]
pub struct Loadgen {
    pub exe: PathBuf,
    pub dir: PathBuf,
    pub pinning: Pinning,
}

impl Loadgen {
    fn command(&self, job: &Job, name: &str) -> anyhow::Result<Command> {
        let spec = self.dir.join(format!("{name}.json"));
        std::fs::write(&spec, serde_json::to_vec(job)?)
            .with_context(|| format!("cannot write {}", spec.display()))?;
        let mut c = self.pinning.command(1, &self.exe);
        c.arg("bench")
            .arg("--role")
            .arg("loadgen")
            .arg("--spec")
            .arg(&spec);
        Ok(c)
    }

    /// The command line of a job, as the report shows it.
    pub fn words(&self, name: &str) -> String {
        let spec = self.dir.join(format!("{name}.json")).display().to_string();
        self.pinning.words(
            1,
            &self.exe.display().to_string(),
            &[
                "bench".into(),
                "--role".into(),
                "loadgen".into(),
                "--spec".into(),
                spec,
            ],
        )
    }

    /// Run a job in a separate process and read its result (the last stdout line).
    pub fn run(&self, job: &Job, name: &str) -> anyhow::Result<JobResult> {
        let output = self
            .command(job, name)?
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()
            .context("cannot start the load generator")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            anyhow::bail!("the load generator for {name} failed ({})", output.status);
        }
        let last = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .context("the load generator printed no result")?;
        serde_json::from_str(last).with_context(|| format!("bad load generator result: {last}"))
    }

    /// Start an idle job and wait until its connections are up ("ready N" on stdout).
    pub fn start_idle(&self, job: &Job, name: &str) -> anyhow::Result<IdleProc> {
        let mut child = self
            .command(job, name)?
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the load generator")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        // Dropped (and so killed) if it never gets ready.
        let proc = IdleProc { child, stdin };
        loop {
            match rx.recv_timeout(Duration::from_secs(300)) {
                Ok(line) if line.starts_with("ready ") => return Ok(proc),
                Ok(_) => {}
                Err(_) => anyhow::bail!("the idle load generator {name} did not get ready"),
            }
        }
    }
}

/// An idle load generator; its connections close when it is stopped or dropped.
pub struct IdleProc {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl IdleProc {
    /// Close its stdin (it hangs up and exits) and wait for it.
    pub fn stop(mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\n");
        }
        let _ = self.child.wait();
    }
}

impl Drop for IdleProc {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One line of machine facts for the report.
pub fn machine() -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    vec![
        ("CPUs (nproc)".into(), nproc.to_string()),
        ("CPU model".into(), model),
        ("memory".into(), mem),
        ("kernel".into(), kernel),
    ]
}

/// The first line a command prints for `--version`, or `None` if it cannot run.
pub fn version_of(program: &str, arg: &str) -> Option<String> {
    let out = Command::new(program).arg(arg).output().ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}
