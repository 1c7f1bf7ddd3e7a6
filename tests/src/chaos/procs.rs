//! The system's real binaries as processes of their own (built by `cargo build --bins`), which the chaos suite kills
//! with SIGKILL and starts again. Each one's log (JSON lines) is appended to a file of its own, across restarts.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

/// One of the system's services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Api,
    Ingestion,
    Worker,
    Dispatch,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Api, Role::Ingestion, Role::Worker, Role::Dispatch];

    pub fn name(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Ingestion => "ingestion",
            Role::Worker => "poller-worker",
            Role::Dispatch => "poller-dispatch",
        }
    }

    fn binary(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Ingestion => "ingestion",
            Role::Worker | Role::Dispatch => "poller",
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            Role::Worker => &["worker"],
            Role::Dispatch => &["dispatch"],
            Role::Api | Role::Ingestion => &[],
        }
    }
}

struct Process {
    role: Role,
    child: Option<Child>,
}

/// The running services of one phase.
pub struct Services {
    processes: Vec<Process>,
    env: Vec<(String, String)>,
    dir: PathBuf,
}

impl Services {
    /// Starts every role with `env` (on top of this process's environment: the LocalStack endpoint and credentials),
    /// logging into `dir/{role}.log`.
    pub fn start(env: Vec<(String, String)>, dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut services = Self { processes: Vec::new(), env, dir: dir.to_owned() };
        for role in Role::ALL {
            let child = services.spawn(role)?;
            services.processes.push(Process { role, child: Some(child) });
        }
        Ok(services)
    }

    fn spawn(&self, role: Role) -> anyhow::Result<Child> {
        let log = self.log_path(role);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        let binary = crate::ctl::binary(role.binary())?;
        Command::new(&binary)
            .args(role.args())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))
    }

    pub fn log_path(&self, role: Role) -> PathBuf {
        self.dir.join(format!("{}.log", role.name()))
    }

    fn process(&mut self, role: Role) -> anyhow::Result<&mut Process> {
        self.processes.iter_mut().find(|p| p.role == role).with_context(|| format!("no {} process", role.name()))
    }

    /// `kill -9`: the process gets no chance to finish what it holds.
    pub async fn kill(&mut self, role: Role) -> anyhow::Result<()> {
        let process = self.process(role)?;
        if let Some(mut child) = process.child.take() {
            child.start_kill().with_context(|| format!("cannot kill {}", role.name()))?;
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
        Ok(())
    }

    /// Starts the role again (after [`Services::kill`]).
    pub fn restart(&mut self, role: Role) -> anyhow::Result<()> {
        let child = self.spawn(role)?;
        self.process(role)?.child = Some(child);
        Ok(())
    }

    /// Fails, naming the service and the end of its log, when one that should be running has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        let mut exited = Vec::new();
        for process in &mut self.processes {
            if let Some(child) = process.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                exited.push((process.role, status));
            }
        }
        if let Some((role, status)) = exited.first() {
            let tail = log_tail(&self.log_path(*role), 15);
            anyhow::bail!("{} exited by itself ({status}); the end of its log:\n{tail}", role.name());
        }
        Ok(())
    }

    /// Sends SIGKILL to every process and waits for them.
    pub async fn stop(&mut self) {
        for process in &mut self.processes {
            if let Some(mut child) = process.child.take() {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
            }
        }
    }
}

/// The last `lines` lines of a log file (for error messages).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Lines of a service's log that record a panic.
pub fn panics(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter(|l| l.contains("panicked")).map(str::to_owned).collect()
}
