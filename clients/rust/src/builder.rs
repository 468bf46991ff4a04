//! Configuring an [`AuditClient`]: retries, timeout, and the HTTP client underneath.

use reqwest::header::HeaderValue;
use std::sync::Arc;
use std::time::Duration;

use super::{AuditClient, ClientError, Inner, RetryPolicy};

/// Configures an [`AuditClient`]; from [`AuditClient::builder`].
#[must_use]
pub struct AuditClientBuilder {
    pub(super) base_url: String,
    pub(super) key: String,
    pub(super) retry: RetryPolicy,
    pub(super) timeout: Duration,
    pub(super) http: Option<reqwest::Client>,
}

impl AuditClientBuilder {
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Attempts in all, the first included; shorthand for the retry policy's `max_attempts`.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.retry.max_attempts = attempts.max(1);
        self
    }

    /// Longest one attempt may take, connecting and reading the answer included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Uses this HTTP client (for TLS settings, proxies or a shared pool). Its redirect policy
    /// should not follow redirects: a followed POST would arrive as a GET.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    pub fn build(self) -> Result<AuditClient, ClientError> {
        let base = self.base_url.trim().trim_end_matches('/');
        let endpoint = format!("{base}/api/v1/events");
        let url = reqwest::Url::parse(&endpoint)
            .map_err(|e| ClientError::Config(format!("base URL `{base}`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!(
                "base URL `{base}`: expected http:// or https://"
            )));
        }
        let key = self.key.trim();
        if key.is_empty() {
            return Err(ClientError::Config("the key is empty".to_owned()));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
            ClientError::Config("the key holds characters not allowed in an HTTP header".to_owned())
        })?;
        authorization.set_sensitive(true);
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("vigil-wire/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| ClientError::Config(e.to_string()))?,
        };
        Ok(AuditClient {
            inner: Arc::new(Inner {
                http,
                endpoint,
                authorization,
                retry: self.retry,
                timeout: self.timeout,
            }),
        })
    }
}
