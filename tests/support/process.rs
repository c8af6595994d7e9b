//! The `gazette` binary as a separate process, for tests that need a real
//! process: signals, crashes, restarts and the command line.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_gazette");

/// A server process on a free port; killed on drop.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    pub bind: String,
    pub log: PathBuf,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `gazette` with a clean environment: only what the test passes.
pub fn command(db: &Path) -> Command {
    wrapped_command(&[], db)
}

/// `gazette` run by another program (`wrapper` then the binary's path),
/// such as a fault injector, with a clean environment.
pub fn wrapped_command(wrapper: &[&str], db: &Path) -> Command {
    let mut command = match wrapper {
        [program, args @ ..] => {
            let mut command = Command::new(program);
            command.args(args).arg(BIN);
            command
        }
        [] => Command::new(BIN),
    };
    command.env("GAZETTE_DATABASE", db);
    for (key, _) in std::env::vars() {
        if key.starts_with("GAZETTE_") && key != "GAZETTE_DATABASE" {
            command.env_remove(key);
        }
    }
    command
}

/// Starts a server on `db` and waits until it answers.
pub async fn start(db: &Path, log: &Path, envs: &[(&str, &str)]) -> ServerProcess {
    start_wrapped(&[], db, log, envs).await
}

/// Starts a server run by `wrapper` (see [`wrapped_command`]) and waits
/// until it answers.
pub async fn start_wrapped(wrapper: &[&str], db: &Path, log: &Path, envs: &[(&str, &str)]) -> ServerProcess {
    let bind = format!("127.0.0.1:{}", free_port());
    let child = wrapped_command(wrapper, db)
        .env("GAZETTE_BIND", &bind)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let server = ServerProcess {
        child,
        base: format!("http://{bind}"),
        bind,
        log: log.to_owned(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if reqwest::get(format!("{}/readyz", server.base))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "server did not start: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

impl ServerProcess {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal and waits for the process to exit.
    pub fn signal_and_wait(&mut self, signal: nix::sys::signal::Signal) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
        self.child.wait().unwrap()
    }
}
