//! A real `vigil serve` process, on a fixed port so producers find it again after a restart.

use anyhow::{bail, Context, Result};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub struct Vigil {
    child: Child,
    port: u16,
    database: Where,
}

/// The database `vigil serve` uses.
#[derive(Clone, Debug)]
pub enum Where {
    /// A server named by `DATABASE_URL`.
    Url(String),
    /// Its own embedded cluster in this data directory (which `vigil serve` supervises).
    Embedded(PathBuf),
}

impl Vigil {
    pub async fn start(database: Where) -> Result<Self> {
        // A free port, kept for every restart.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = spawn(port, &database)?;
        let vigil = Vigil {
            child,
            port,
            database,
        };
        vigil.wait_healthy().await?;
        Ok(vigil)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: no shutdown code runs, as in a power cut of the process.
    pub async fn kill_and_restart(&mut self) -> Result<()> {
        self.child.kill().await?;
        self.child = spawn(self.port, &self.database)?;
        self.wait_healthy().await
    }

    /// SIGTERM and wait: the graceful way out.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(pid) = self.child.id() {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            )?;
        }
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .context("vigil did not stop within 15 s of SIGTERM")??;
        Ok(())
    }

    async fn wait_healthy(&self) -> Result<()> {
        let url = format!("{}/healthz", self.base_url());
        let started = Instant::now();
        loop {
            if let Ok(response) = reqwest::get(&url).await {
                if response.status() == 200 {
                    return Ok(());
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("vigil did not become healthy within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// `target/<profile>/vigil`, beside this benchmark's own binary.
fn binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .map(|profile| profile.join("vigil"))
        .context("cannot locate the vigil binary")?;
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build it first (cargo build -p vigil-server --bin vigil)",
        path.display()
    );
    Ok(path)
}

fn spawn(port: u16, database: &Where) -> Result<Child> {
    let mut command = Command::new(binary()?);
    match database {
        Where::Url(url) => command.env("DATABASE_URL", url),
        Where::Embedded(dir) => command
            .env_remove("DATABASE_URL")
            .arg("--data-dir")
            .arg(dir),
    };
    Ok(command
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--verify-every-minutes", "0"])
        // Refused requests are the point of the drill, not news; restarts of the cluster are.
        .env(
            "RUST_LOG",
            "vigil_server=error,vigil_server::database=warn,tower_http=off",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?)
}
