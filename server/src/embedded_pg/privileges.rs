//! Running the PostgreSQL tools as an unprivileged account when vigil itself runs as root.
//!
//! `initdb`, `pg_ctl` and `postgres` refuse to run as root (a compromised server must not own the
//! machine), so a root vigil hands them to `postgres`, or `nobody` where no `postgres` user exists.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::unistd::{Gid, Uid, User};

use super::error::{io_err, EmbeddedPgError, Result};

/// Environment variables that would make the tools act on another cluster or port than the one
/// named on their command line (e.g. a developer's `PGPORT`).
const SCRUBBED_ENV: [&str; 4] = ["PGDATA", "PGPORT", "PGHOST", "PGOPTIONS"];

/// An account the tools run as instead of root.
#[derive(Debug, Clone)]
struct Account {
    name: String,
    uid: Uid,
    gid: Gid,
}

/// Who runs the PostgreSQL tools: the current user, or (when root) an unprivileged account.
#[derive(Debug, Clone)]
pub(crate) struct Runner {
    account: Option<Account>,
}

impl Runner {
    /// The current user when not root; else `postgres`, else `nobody`.
    pub(crate) fn for_current_process() -> Result<Self> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(Self { account: None });
        }
        for name in ["postgres", "nobody"] {
            if let Ok(Some(user)) = User::from_name(name) {
                let account = Account {
                    name: user.name,
                    uid: user.uid,
                    gid: user.gid,
                };
                return Ok(Self {
                    account: Some(account),
                });
            }
        }
        Err(EmbeddedPgError::NoUnprivilegedUser)
    }

    /// The account's name, for messages.
    pub(crate) fn name(&self) -> String {
        match &self.account {
            Some(account) => account.name.clone(),
            None => format!("uid {}", nix::unistd::geteuid()),
        }
    }

    /// A command for `program` that runs as the account, with stdin closed and `/` as working
    /// directory (vigil's own may be unreachable for the account, e.g. under `/root`).
    ///
    /// `home` becomes `HOME` when switching users, because root's `HOME` is not the account's
    /// and tools that look there would fail or write into root's files.
    ///
    /// No `pre_exec` hook is needed to drop root's supplementary groups: when `uid()` is set and
    /// `groups()` is not, std itself calls `setgroups(0, NULL)` in the child, before `setgid` and
    /// `setuid` (documented on `CommandExt::uid`). A `pre_exec` hook could not do it anyway: std
    /// runs those hooks *after* `setuid`, when `setgroups` would fail with `EPERM`. A unit test
    /// checks that the child ends up with no supplementary groups.
    pub(crate) fn command(&self, program: &Path, home: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.stdin(Stdio::null()).current_dir("/");
        for var in SCRUBBED_ENV {
            cmd.env_remove(var);
        }
        if let Some(account) = &self.account {
            cmd.uid(account.uid.as_raw())
                .gid(account.gid.as_raw())
                .env("HOME", home)
                .env("USER", &account.name)
                .env("LOGNAME", &account.name);
        }
        cmd
    }

    /// Gives `path` to the account, so that PostgreSQL accepts it as its own (it insists on
    /// owning PGDATA) or can read it (the initdb password file). A no-op when not switching.
    pub(crate) fn give(&self, path: &Path) -> Result<()> {
        if let Some(account) = &self.account {
            nix::unistd::chown(path, Some(account.uid), Some(account.gid)).map_err(|errno| {
                io_err(format!(
                    "giving {} to user {}",
                    path.display(),
                    account.name
                ))(errno.into())
            })?;
        }
        Ok(())
    }

    /// Whether the account can reach `dir` by its path: every directory from `/` down to `dir`
    /// must grant it search (`x`) permission. `dir` must be canonical, since that is the path the
    /// tools are given. Judged from the mode bits (ACLs are ignored), the way the kernel does:
    /// the owner's bits if it owns the directory, else the group's if it is in the group (it has
    /// only its primary group, see [`Runner::command`]), else the others' bits.
    pub(crate) fn can_traverse(&self, dir: &Path) -> bool {
        let Some(account) = &self.account else {
            return true;
        };
        dir.ancestors().all(|d| {
            fs::metadata(d).is_ok_and(|m| {
                let bit = if m.uid() == account.uid.as_raw() {
                    0o100
                } else if m.gid() == account.gid.as_raw() {
                    0o010
                } else {
                    0o001
                };
                m.is_dir() && m.mode() & bit != 0
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_runs_as_account_without_supplementary_groups() {
        let runner = Runner::for_current_process().unwrap();
        let Some(account) = runner.account.clone() else {
            return; // Not root: nothing is switched, so there is nothing to check.
        };
        let out = runner
            .command(Path::new("/usr/bin/id"), Path::new("/tmp"))
            .output()
            .unwrap();
        assert!(out.status.success());
        let ids = String::from_utf8(out.stdout).unwrap();
        let expected = format!("uid={}({})", account.uid, account.name);
        assert!(ids.starts_with(&expected), "{ids}");
        let groups = ids.split("groups=").nth(1).unwrap().trim();
        assert_eq!(
            groups.split(',').count(),
            1,
            "only the primary group: {ids}"
        );
        assert!(groups.starts_with(&account.gid.to_string()), "{ids}");
    }

    #[test]
    fn traversal_follows_mode_bits() {
        let runner = Runner::for_current_process().unwrap();
        if runner.account.is_none() {
            assert!(runner.can_traverse(Path::new("/nonexistent/anything")));
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap();
        let mode = |m| fs::set_permissions(&path, fs::Permissions::from_mode(m)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::create_dir(path.join("sub")).unwrap();
        mode(0o700);
        assert!(!runner.can_traverse(&path.join("sub")));
        mode(0o711);
        assert!(runner.can_traverse(&path.join("sub")));
        assert!(!runner.can_traverse(&path.join("missing")));
    }
}
