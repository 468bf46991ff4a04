//! The cluster superuser's password: generated once, then kept in `pg-password` (mode 600).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rand::distr::Alphanumeric;
use rand::Rng;

use super::error::{io_err, EmbeddedPgError, Result};

/// Long enough to be unguessable, alphanumeric so it needs no quoting in URLs or shells.
const PASSWORD_LEN: usize = 32;

/// Reads the password, or creates it when the cluster does not exist yet.
///
/// A cluster without its password file is an error rather than a reason to make a new password:
/// the new one would not open the old cluster, and silently replacing the cluster would lose data.
pub(crate) fn load_or_create(path: &Path, pgdata: &Path, cluster_exists: bool) -> Result<String> {
    let existing = match fs::read_to_string(path) {
        Ok(text) => text.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_err(format!("reading {}", path.display()))(e)),
    };
    if !existing.is_empty() {
        return Ok(existing);
    }
    if cluster_exists {
        return Err(EmbeddedPgError::PasswordMissing {
            pgdata: pgdata.to_owned(),
            password_file: path.to_owned(),
        });
    }
    create(path)
}

/// Writes a fresh password next to its final place and renames it there, so that a crash never
/// leaves a half-written file that would later be taken for the password.
fn create(path: &Path) -> Result<String> {
    let password: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(PASSWORD_LEN)
        .map(char::from)
        .collect();
    let tmp = path.with_extension("tmp");
    let context = || format!("writing password file {}", tmp.display());
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io_err(context()))?;
    // The mode above applies only to a new file; a leftover tmp file may have another one.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io_err(context()))?;
    file.write_all(password.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(io_err(context()))?;
    fs::rename(&tmp, path).map_err(io_err(format!(
        "moving {} to {}",
        tmp.display(),
        path.display()
    )))?;
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_and_never_guessed_for_an_existing_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pg-password");
        let err = load_or_create(&path, dir.path(), true).unwrap_err();
        assert!(matches!(err, EmbeddedPgError::PasswordMissing { .. }));
        let first = load_or_create(&path, dir.path(), false).unwrap();
        assert_eq!(first.len(), PASSWORD_LEN);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(&path, dir.path(), true).unwrap(), first);
        fs::write(&path, "").unwrap();
        assert!(load_or_create(&path, dir.path(), true).is_err());
    }
}
