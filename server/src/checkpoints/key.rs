//! The Ed25519 key that signs checkpoints: generated on first start into a file of mode 600 (or
//! named by `--signing-key`), never stored in the database.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::TryRngCore;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use vigil_wire::{signed_message, SignedCheckpoint};

use crate::events::chain::{canonical_time, to_hex, ChainLink};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}: not a signing key (expected 64 hex digits)")]
    Malformed(String),
    #[error("not an Ed25519 public key (expected 64 hex digits)")]
    BadPublicKey,
}

/// The signing half; its public half goes to auditors (`vigil chain public-key`).
pub struct CheckpointKey(SigningKey);

impl CheckpointKey {
    /// The key in `path`, or a new one written there (mode 600) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        if path.exists() {
            return Self::load(path);
        }
        // With DATABASE_URL nothing else may have made the data directory yet.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let mut seed = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| io(std::io::Error::other(e)))?;
        let mut file = (OpenOptions::new().write(true).create_new(true).mode(0o600))
            .open(path)
            .map_err(io)?;
        writeln!(file, "{}", to_hex(&seed)).map_err(io)?;
        file.sync_all().map_err(io)?;
        tracing::info!(path = %path.display(), "generated the checkpoint signing key");
        Ok(CheckpointKey(SigningKey::from_bytes(&seed)))
    }

    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let seed = from_hex::<32>(text.trim())
            .ok_or_else(|| KeyError::Malformed(path.display().to_string()))?;
        Ok(CheckpointKey(SigningKey::from_bytes(&seed)))
    }

    /// Lowercase hex, as checkpoints carry it and `--public-key` takes it.
    pub fn public_hex(&self) -> String {
        to_hex(self.0.verifying_key().as_bytes())
    }

    pub fn sign(&self, link: ChainLink, at: chrono::DateTime<chrono::Utc>) -> SignedCheckpoint {
        let (hash, signed_at) = (to_hex(&link.hash), canonical_time(&at));
        let signature = self
            .0
            .sign(signed_message(link.seq, &hash, &signed_at).as_bytes());
        SignedCheckpoint {
            seq: link.seq,
            hash,
            signed_at,
            public_key: self.public_hex(),
            signature: to_hex(&signature.to_bytes()),
        }
    }
}

/// An auditor's copy of the public key.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let bytes = from_hex::<32>(text.trim()).ok_or(KeyError::BadPublicKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::BadPublicKey)
}

/// Whether `key` signed `checkpoint` exactly as it reads.
pub fn signed_by(checkpoint: &SignedCheckpoint, key: &VerifyingKey) -> bool {
    let Some(signature) = from_hex::<64>(&checkpoint.signature) else {
        return false;
    };
    let signature = Signature::from_bytes(&signature);
    (key.verify(checkpoint.message().as_bytes(), &signature)).is_ok()
}

pub fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_with_its_key_only_and_only_as_signed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-key");
        let key = CheckpointKey::load_or_create(&path).unwrap();
        let nested = dir.path().join("not/yet/made/signing-key");
        CheckpointKey::load_or_create(&nested).expect("its directory is made");
        let mode = std::fs::metadata(&path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let again = CheckpointKey::load_or_create(&path).unwrap();
        assert_eq!(
            key.public_hex(),
            again.public_hex(),
            "the same key on restart"
        );
        let link = ChainLink {
            seq: 42,
            hash: [7; 32],
        };
        let checkpoint = key.sign(link, chrono::Utc::now());
        let public = parse_public_key(&key.public_hex()).unwrap();
        assert!(signed_by(&checkpoint, &public));
        let moved = SignedCheckpoint {
            seq: 41,
            ..checkpoint.clone()
        };
        assert!(
            !signed_by(&moved, &public),
            "a changed seq breaks the signature"
        );
        let other = CheckpointKey::load_or_create(&dir.path().join("other")).unwrap();
        let other = parse_public_key(&other.public_hex()).unwrap();
        assert!(
            !signed_by(&checkpoint, &other),
            "another key did not sign it"
        );
        assert!(parse_public_key("xyz").is_err());
    }
}
