//! The checkpoint log: one signed checkpoint per line (JSON), appended and synced, in a file
//! outside the database (`--checkpoint-log`). Appends take an exclusive lock, so a server and
//! `vigil chain checkpoint` can write the same log.

use nix::fcntl::{Flock, FlockArg};
use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use vigil_wire::SignedCheckpoint;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: not a signed checkpoint: {reason}")]
    Malformed {
        path: String,
        line: usize,
        reason: String,
    },
}

#[derive(Clone, Debug)]
pub struct CheckpointLog {
    path: PathBuf,
}

impl CheckpointLog {
    pub fn new(path: PathBuf) -> Self {
        CheckpointLog { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> LogError {
        LogError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Appends `checkpoint` and syncs it to disk before returning.
    pub fn append(&self, checkpoint: &SignedCheckpoint) -> Result<(), LogError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        let file = (OpenOptions::new().create(true).append(true))
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        let mut file = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| self.io(errno.into()))?;
        let mut line = serde_json::to_vec(checkpoint).expect("checkpoints serialise");
        line.push(b'\n');
        file.write_all(&line).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))
    }

    /// Every checkpoint in the file, oldest first (none if it does not exist yet).
    pub fn read_all(&self) -> Result<Vec<SignedCheckpoint>, LogError> {
        let mut all = Vec::new();
        self.each(|checkpoint| all.push(checkpoint))?;
        Ok(all)
    }

    /// The newest `limit`, newest first; reads the file once, holding at most `limit`.
    pub fn newest(&self, limit: usize) -> Result<Vec<SignedCheckpoint>, LogError> {
        let mut kept = VecDeque::with_capacity(limit.min(1024));
        self.each(|checkpoint| {
            if kept.len() == limit {
                kept.pop_front();
            }
            if limit > 0 {
                kept.push_back(checkpoint);
            }
        })?;
        Ok(kept.into_iter().rev().collect())
    }

    /// The first checkpoint (in log order) whose seq is at least `seq`.
    pub fn first_from(&self, seq: i64) -> Result<Option<SignedCheckpoint>, LogError> {
        let mut found = None;
        self.each(|checkpoint| {
            if found.is_none() && checkpoint.seq >= seq {
                found = Some(checkpoint);
            }
        })?;
        Ok(found)
    }

    fn each(&self, mut take: impl FnMut(SignedCheckpoint)) -> Result<(), LogError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(self.io(err)),
        };
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| self.io(e))?;
            if line.trim().is_empty() {
                continue;
            }
            let checkpoint = serde_json::from_str(&line).map_err(|e| LogError::Malformed {
                path: self.path.display().to_string(),
                line: index + 1,
                reason: e.to_string(),
            })?;
            take(checkpoint);
        }
        Ok(())
    }
}
