//! Where the cluster's files live, and creating those places with the owner and mode PostgreSQL wants.
//!
//! PGDATA is `data_dir/pg`. A root vigil runs PostgreSQL as another account, which may be unable
//! to reach `data_dir` at all (a clone under `/root`, a `tempfile` directory: mode 700). Then the
//! real PGDATA goes to a root-owned, searchable place keyed by the data directory's path,
//! `/var/lib/vigil/clusters/<hash>/pg`, and `data_dir/pg` becomes a symlink to it, so the data
//! directory still leads to its cluster and the choice is made once.

use std::fs::{self, DirBuilder};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::{io_err, EmbeddedPgError, Result};
use super::pidfile;
use super::privileges::Runner;

/// Parent of the per-data-directory fallback clusters of a root vigil.
pub(crate) const FALLBACK_ROOT: &str = "/var/lib/vigil/clusters";
/// The superuser password, beside (never inside) PGDATA.
pub(crate) const PASSWORD_FILE: &str = "pg-password";
/// The serving login's password (`vigil_serving`, see `database::serving`), beside it.
pub(crate) const SERVING_PASSWORD_FILE: &str = "pg-serving-password";
/// PGDATA, or a symlink to it.
pub(crate) const PGDATA_LINK: &str = "pg";

/// The resolved places of one data directory's cluster.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Canonical data directory: holds the password and lock files.
    pub(crate) data_dir: PathBuf,
    /// Canonical real PGDATA (symlinks resolved), the path the tools are given.
    pub(crate) pgdata: PathBuf,
}

impl Layout {
    pub(crate) fn password_file(&self) -> PathBuf {
        self.data_dir.join(PASSWORD_FILE)
    }
}

/// Resolves (and creates where missing) PGDATA for `data_dir`, which must exist and be canonical.
/// Call with the start lock held: it may create, link or delete directories.
pub(crate) fn prepare(data_dir: &Path, runner: &Runner) -> Result<Layout> {
    let link = data_dir.join(PGDATA_LINK);
    let pgdata = match fs::symlink_metadata(&link) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = fs::read_link(&link)
                .map_err(io_err(format!("reading symlink {}", link.display())))?;
            // A relative target is relative to the link's directory; `join` keeps absolute ones.
            let target = data_dir.join(target);
            if let Some(parent) = target.parent() {
                create_searchable_dirs(parent)?;
            }
            target
        }
        Ok(meta) if meta.is_dir() => link,
        Ok(_) => {
            return Err(EmbeddedPgError::Invalid(format!(
                "{} is neither a directory nor a symlink to one; move it away",
                link.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if runner.can_traverse(data_dir) {
                link
            } else {
                let target = fallback_for(data_dir);
                adopt_fallback(&target, data_dir)?;
                std::os::unix::fs::symlink(&target, &link).map_err(io_err(format!(
                    "linking {} to {}",
                    link.display(),
                    target.display()
                )))?;
                tracing::info!(
                    data_dir = %data_dir.display(),
                    pgdata = %target.display(),
                    user = %runner.name(),
                    "data directory is not reachable by the PostgreSQL user; keeping the cluster outside it"
                );
                target
            }
        }
        Err(e) => return Err(io_err(format!("inspecting {}", link.display()))(e)),
    };
    ensure_pgdata(&pgdata, runner)?;
    let pgdata =
        fs::canonicalize(&pgdata).map_err(io_err(format!("resolving {}", pgdata.display())))?;
    if !runner.can_traverse(&pgdata) {
        return Err(EmbeddedPgError::Unreachable {
            user: runner.name(),
            path: pgdata,
        });
    }
    Ok(Layout {
        data_dir: data_dir.to_owned(),
        pgdata,
    })
}

/// `/var/lib/vigil/clusters/<16 hex digits>/pg` for a canonical data directory.
pub(crate) fn fallback_for(data_dir: &Path) -> PathBuf {
    let key = fnv1a64(data_dir.as_os_str().as_bytes());
    Path::new(FALLBACK_ROOT)
        .join(format!("{key:016x}"))
        .join(PGDATA_LINK)
}

/// FNV-1a, 64 bits: tiny and fixed forever, unlike std's `DefaultHasher`, whose output may change
/// between Rust releases and would then lose track of existing clusters.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Makes `target` ready to become this data directory's fallback PGDATA.
///
/// If it exists although `data_dir/pg` did not, either the link alone was removed (the password
/// file is still there: reuse the cluster), or the whole data directory was deleted and later
/// re-created at the same path: then the old cluster is unreachable garbage whose password is
/// gone, and it is deleted, as its owner intended by deleting the data directory.
fn adopt_fallback(target: &Path, data_dir: &Path) -> Result<()> {
    if !target.exists() {
        return create_searchable_dirs(target.parent().unwrap_or(Path::new(FALLBACK_ROOT)));
    }
    if data_dir.join(PASSWORD_FILE).exists() {
        return Ok(());
    }
    let canonical =
        fs::canonicalize(target).map_err(io_err(format!("resolving {}", target.display())))?;
    if let Some(live) = pidfile::running(&canonical)? {
        return Err(EmbeddedPgError::Invalid(format!(
            "{} holds the cluster of a deleted data directory that was at {}, and its PostgreSQL \
             still runs (pid {}); stop it first",
            target.display(),
            data_dir.display(),
            live.pid
        )));
    }
    tracing::warn!(
        path = %target.display(),
        "deleting the cluster left behind by an earlier, deleted data directory at the same path"
    );
    fs::remove_dir_all(target).map_err(io_err(format!("deleting {}", target.display())))
}

/// Creates the missing directories down to `dir` with mode 755 (whatever the umask), so that
/// the PostgreSQL account can pass through them. Existing directories are left as they are.
fn create_searchable_dirs(dir: &Path) -> Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    for d in missing.into_iter().rev() {
        let context = || format!("creating directory {}", d.display());
        match DirBuilder::new().mode(0o755).create(d) {
            Ok(()) => {}
            // Another process created it meanwhile (e.g. a vigil with another data directory).
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(context())(e)),
        }
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).map_err(io_err(context()))?;
    }
    Ok(())
}

/// Creates PGDATA if missing, owned by the PostgreSQL account with mode 700 (PostgreSQL refuses
/// a data directory that others can read). A populated PGDATA is left untouched.
fn ensure_pgdata(pgdata: &Path, runner: &Runner) -> Result<()> {
    let context = || format!("preparing PostgreSQL data directory {}", pgdata.display());
    let fresh = match fs::read_dir(pgdata) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            DirBuilder::new()
                .mode(0o700)
                .create(pgdata)
                .map_err(io_err(context()))?;
            true
        }
        Err(e) => return Err(io_err(context())(e)),
    };
    if fresh {
        fs::set_permissions(pgdata, fs::Permissions::from_mode(0o700))
            .map_err(io_err(context()))?;
        runner.give(pgdata)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
        let path = fallback_for(Path::new("/root/vigil/data"));
        let name = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(name.len(), 16);
        assert!(path.starts_with(FALLBACK_ROOT) && path.ends_with("pg"));
    }
}
