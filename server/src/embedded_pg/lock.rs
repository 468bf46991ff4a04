//! flock(2) on the lock files that coordinate the vigil processes sharing one cluster.
//!
//! flock locks belong to an open file, not to a process, so two handles in one process exclude
//! each other just like two processes do, and the kernel drops a lock when its holder dies (even
//! by `kill -9`), so a crashed vigil never leaves the cluster locked.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::error::{io_err, EmbeddedPgError, Result};

/// Held exclusively while deciding whether to initdb, start or stop, so that starters and
/// stoppers run one at a time.
pub(crate) const START_LOCK: &str = "start.lock";

/// Held shared by every live handle; whoever can turn theirs exclusive is the last user.
pub(crate) const USERS_LOCK: &str = "users.lock";

/// Opens (creating it if needed) and locks `path`, waiting for the lock if `arg` blocks.
pub(crate) fn lock(path: &Path, arg: FlockArg) -> Result<Flock<File>> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io_err(format!("opening lock file {}", path.display())))?;
    loop {
        match Flock::lock(file, arg) {
            Ok(locked) => return Ok(locked),
            // A signal interrupted the wait; the file comes back, so simply wait again.
            Err((back, Errno::EINTR)) => file = back,
            Err((_, source)) => {
                return Err(EmbeddedPgError::Lock {
                    path: path.to_owned(),
                    source,
                })
            }
        }
    }
}

/// Tries to turn a shared lock exclusive without waiting: `Ok(true)` if no one else holds it.
///
/// The conversion is not atomic (flock(2) drops the old lock first), so after `Ok(false)` the
/// caller holds nothing. That is harmless here because it is only done when letting go, and
/// under [`START_LOCK`], so no new user can take a shared lock in between.
pub(crate) fn try_upgrade(lock: &Flock<File>, path: &Path) -> Result<bool> {
    match lock.relock(FlockArg::LockExclusiveNonblock) {
        Ok(()) => Ok(true),
        Err(Errno::EWOULDBLOCK) => Ok(false),
        Err(source) => Err(EmbeddedPgError::Lock {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_shared_holder_can_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(USERS_LOCK);
        let first = lock(&path, FlockArg::LockShared).unwrap();
        let second = lock(&path, FlockArg::LockShared).unwrap();
        assert!(!try_upgrade(&second, &path).unwrap());
        drop(second);
        assert!(try_upgrade(&first, &path).unwrap());
        assert!(lock(&path, FlockArg::LockSharedNonblock).is_err());
    }
}
