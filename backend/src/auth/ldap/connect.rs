//! Opening a connection to the directory: TCP, then TLS (`ldaps://`) or StartTLS, verified
//! against `ldap_ca_file` or the system roots; every step bounded by `ldap_timeout_secs`.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::settings::{Settings, Transport};
use super::DirectoryError;

/// A connected (not yet bound) client. The connection's driver task ends when it is dropped.
pub async fn open(settings: &Settings) -> Result<Ldap, DirectoryError> {
    let mut conn = LdapConnSettings::new().set_conn_timeout(settings.timeout);
    if settings.transport != Transport::Plain {
        conn = conn.set_config(tls_config(settings)?);
    }
    if settings.transport == Transport::StartTls {
        conn = conn.set_starttls(true);
    }
    // The crate's own timeout covers the TCP connect only; this one covers TLS and StartTLS too.
    let connected = tokio::time::timeout(
        settings.timeout,
        LdapConnAsync::with_settings(conn, &settings.url),
    )
    .await
    .map_err(|_| DirectoryError::Timeout("connect"))?
    .map_err(|e| DirectoryError::Unreachable(e.to_string()))?;
    let (driver, ldap) = connected;
    ldap3::drive!(driver);
    Ok(ldap)
}

/// Runs one LDAP operation with the configured timeout.
pub async fn timed<T>(
    timeout: Duration,
    op: &'static str,
    fut: impl Future<Output = ldap3::result::Result<T>>,
) -> Result<T, DirectoryError> {
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(DirectoryError::Timeout(op)),
        Ok(Err(e)) => Err(DirectoryError::Operation {
            op,
            detail: e.to_string(),
        }),
        Ok(Ok(value)) => Ok(value),
    }
}

/// rustls with ring (the process may hold other providers: never rely on a default one).
fn tls_config(settings: &Settings) -> Result<Arc<ClientConfig>, DirectoryError> {
    let roots = match &settings.ca_file {
        Some(path) => {
            let bad = |e: String| {
                DirectoryError::Misconfigured(format!("ldap_ca_file {}: {e}", path.display()))
            };
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?;
            for cert in certs {
                let cert = cert.map_err(|e| bad(e.to_string()))?;
                roots.add(cert).map_err(|e| bad(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(bad("no certificate in the file".into()));
            }
            roots
        }
        None => system_roots().clone(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DirectoryError::Misconfigured(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The system's trust store, read once.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(%error, "reading a system CA certificate");
        }
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!(added, ignored, "system CA certificates for LDAP");
        roots
    })
}
