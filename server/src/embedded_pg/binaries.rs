//! Finding the system's PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::{EmbeddedPgError, Result};

/// The tools vigil runs itself; `postgres` is started by `pg_ctl` but must sit beside it.
const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Where Debian and Ubuntu install one directory per major version, each with a `bin/`.
const DEBIAN_VERSIONS_ROOT: &str = "/usr/lib/postgresql";

/// A directory holding all of [`REQUIRED`].
#[derive(Debug, Clone)]
pub(crate) struct Binaries {
    bindir: PathBuf,
}

impl Binaries {
    /// The absolute path of one tool, so that the tools never depend on the caller's `PATH`.
    pub(crate) fn tool(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

/// Finds the binaries: `pg_config --bindir` first, because it names the installation the
/// administrator chose; else the newest `/usr/lib/postgresql/<version>/bin`, because Debian's
/// server packages do not put `initdb` or `pg_ctl` on `PATH`.
pub(crate) fn find() -> Result<Binaries> {
    find_in(pg_config_bindir(), Path::new(DEBIAN_VERSIONS_ROOT))
}

/// [`find`] with its inputs made explicit, so that the search rules can be tested.
pub(crate) fn find_in(from_pg_config: Option<PathBuf>, versions_root: &Path) -> Result<Binaries> {
    if let Some(bindir) = from_pg_config.filter(|dir| has_all(dir)) {
        return Ok(Binaries { bindir });
    }
    let mut best: Option<(Vec<u32>, PathBuf)> = None;
    for entry in fs::read_dir(versions_root).into_iter().flatten().flatten() {
        let Some(version) = entry.file_name().to_str().and_then(parse_version) else {
            continue;
        };
        let bindir = entry.path().join("bin");
        if has_all(&bindir) && best.as_ref().is_none_or(|(v, _)| version > *v) {
            best = Some((version, bindir));
        }
    }
    best.map(|(_, bindir)| Binaries { bindir })
        .ok_or(EmbeddedPgError::BinariesNotFound)
}

/// What `pg_config --bindir` prints, or `None` if `pg_config` is not on `PATH` or fails.
fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let dir = text.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// `"15"` → `[15]`, `"9.6"` → `[9, 6]`, anything else → `None`; compared as numbers so 10 > 9.6.
fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn has_all(dir: &Path) -> bool {
    REQUIRED.iter().all(|name| is_executable(&dir.join(name)))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_bindir(root: &Path, version: &str) -> PathBuf {
        let bin = root.join(version).join("bin");
        fs::create_dir_all(&bin).unwrap();
        for name in REQUIRED {
            fs::write(bin.join(name), "#!/bin/sh\n").unwrap();
            fs::set_permissions(bin.join(name), fs::Permissions::from_mode(0o755)).unwrap();
        }
        bin
    }

    #[test]
    fn nothing_found_says_how_to_fix_it() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_in(None, empty.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PostgreSQL server binaries not found; install them (Debian/Ubuntu: \
             `apt-get install postgresql`) or set DATABASE_URL to use an existing server."
        );
    }

    #[test]
    fn picks_highest_complete_version_unless_pg_config_dir_is_complete() {
        let root = tempfile::tempdir().unwrap();
        fake_bindir(root.path(), "9.6");
        let v10 = fake_bindir(root.path(), "10");
        // An incomplete newer version (only a client) must be skipped.
        fs::create_dir_all(root.path().join("16/bin")).unwrap();
        assert_eq!(find_in(None, root.path()).unwrap().bindir, v10);
        let incomplete = root.path().join("16/bin");
        assert_eq!(find_in(Some(incomplete), root.path()).unwrap().bindir, v10);
        let chosen = fake_bindir(root.path(), "custom");
        assert_eq!(
            find_in(Some(chosen.clone()), root.path()).unwrap().bindir,
            chosen
        );
    }
}
