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

/// Whether `presented` has the form `generate_key` gives: anything else is refused before any
/// hashing or database lookup.
pub fn looks_like_key(presented: &str) -> bool {
    presented
        .strip_prefix(KEY_PREFIX)
        .is_some_and(|rest| rest.len() == 40 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
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
    cache: Arc<RwLock<KeyCache>>,
}

#[derive(Debug, Default)]
struct KeyCache {
    keys: HashMap<String, (ActiveKey, Instant)>,
    /// Bumped by every invalidation: a lookup that began before one must not cache what it
    /// read, or a key revoked while it was in flight would be admitted again until the TTL.
    generation: u64,
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
        let generation = {
            let cache = self.cache.read().expect("cache lock");
            if let Some((key, cached_at)) = cache.keys.get(&hash) {
                if cached_at.elapsed() < CACHE_TTL {
                    return Ok(Some(key.clone()));
                }
            }
            cache.generation
        };
        let found = self.store.find_active(&hash).await?;
        if let Some(key) = &found {
            let mut cache = self.cache.write().expect("cache lock");
            if cache.generation == generation {
                cache.keys.insert(hash, (key.clone(), Instant::now()));
            }
        }
        Ok(found)
    }

    fn forget_all(&self) {
        let mut cache = self.cache.write().expect("cache lock");
        cache.keys.clear();
        cache.generation += 1;
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
        assert!(looks_like_key(&a));
        for bad in [
            "",
            "vigil_",
            "Bearer",
            "vigil_short",
            &a[1..],
            &format!("{a}x"),
        ] {
            assert!(!looks_like_key(bad), "{bad}");
        }
        assert!(!looks_like_key(&a.replace(&a[10..11], "!")));
    }
}
