//! TLS for `vigil tail` over `https://` / `wss://`: rustls (ring) trusting the system's roots,
//! plus the certificates in `--ca-cert` (a private CA, or a self-signed server).

use anyhow::{bail, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;

/// A client configuration for wss:// connections.
pub fn client_config(ca_cert: Option<&Path>) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    // An unreadable system store is not fatal when --ca-cert names the server's issuer.
    let system = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(system.certs);
    if let Some(path) = ca_cert {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .with_context(|| format!("--ca-cert: cannot read {}", path.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("--ca-cert: {} is not PEM certificates", path.display()))?;
        if certs.is_empty() {
            bail!("--ca-cert: {} holds no certificate", path.display());
        }
        for cert in certs {
            (roots.add(cert))
                .with_context(|| format!("--ca-cert: a certificate in {}", path.display()))?;
        }
    } else if added == 0 {
        bail!("no trusted certificates: the system has none readable; name the server's CA with --ca-cert");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
