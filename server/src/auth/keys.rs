//! Key material and the per-process cache of active keys, invalidated over LISTEN/NOTIFY.

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgListener;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::storage::{ActiveKey, KeyStore, StorageError, KEY_CHANGES_CHANNEL};

/// Prefix that makes a leaked Vigil key easy to recognise (and to grep for in secret scanners).
const KEY_PREFIX: &str = "vigil_";
/// Even if a change notification were lost, a cached key is re-checked this often.
const CACHE_TTL: Duration = Duration::from_secs(60);

/// A new random key: 40 alphanumeric characters (about 238 bits) after the prefix.
pub fn generate_key() -> String {
    format!(
        "{KEY_PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 40)
    )
}

/// Keys are random and long, so a plain SHA-256 is a safe stored form and fast to check.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Active keys by hash, so a request costs no database round trip once its key is known.
#[derive(Clone, Debug)]
pub struct ApiKeys {
    store: KeyStore,
    cache: Arc<RwLock<HashMap<String, (ActiveKey, Instant)>>>,
}

impl ApiKeys {
    pub fn new(store: KeyStore) -> Self {
        ApiKeys {
            store,
            cache: Arc::default(),
        }
    }

    /// The active key matching `presented`, if any. Unknown keys are not cached, so a key
    /// created a moment ago works at once.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<ActiveKey>, StorageError> {
        let hash = hash_key(presented);
        if let Some((key, cached_at)) = self.cache.read().expect("cache lock").get(&hash) {
            if cached_at.elapsed() < CACHE_TTL {
                return Ok(Some(key.clone()));
            }
        }
        let found = self.store.find_active(&hash).await?;
        if let Some(key) = &found {
            self.cache
                .write()
                .expect("cache lock")
                .insert(hash, (key.clone(), Instant::now()));
        }
        Ok(found)
    }

    fn forget_all(&self) {
        self.cache.write().expect("cache lock").clear();
    }

    /// Follows key changes from every instance and the CLI; on any change or lost connection the
    /// cache is dropped, so a revoked key stops working within moments everywhere.
    pub async fn follow_changes(self) {
        loop {
            match PgListener::connect_with(self.store.pool()).await {
                Ok(mut listener) => {
                    if let Err(err) = listener.listen(KEY_CHANGES_CHANNEL).await {
                        tracing::warn!(%err, "cannot listen for key changes");
                    } else {
                        // Anything cached before we listened may be stale.
                        self.forget_all();
                        while listener.recv().await.is_ok() {
                            self.forget_all();
                        }
                    }
                }
                Err(err) => tracing::debug!(%err, "key change listener cannot connect"),
            }
            self.forget_all();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed_stably() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX) && a.len() == KEY_PREFIX.len() + 40);
        assert_eq!(hash_key(&a), hash_key(&a));
        assert_eq!(hash_key(&a).len(), 64);
        assert_ne!(hash_key(&a), hash_key(&b));
    }
}
