//! TLS for https targets: the client (rustls with ring, the system's roots
//! plus `ca_file`, HTTP/1.1 by ALPN) and what a failed handshake means.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::{self, CertificateError, ClientConfig, RootCertStore};

/// PEM certificates to trust, from `ca_file`.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem =
        std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .map(|cert| cert.map(CertificateDer::into_owned))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("{} is not valid PEM: {error}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The TLS client: the system's roots plus those of `ca_file`, HTTP/1.1 by
/// ALPN.
pub fn tls_connector(ca_file: Option<&Path>) -> Result<TlsConnector, String> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_file {
        for cert in read_ca_file(path)? {
            roots
                .add(cert)
                .map_err(|error| format!("`ca_file` {}: {error}", path.display()))?;
        }
    }
    if roots.is_empty() {
        return Err(
            "no trusted certificates: the system has no CA roots (install ca-certificates) and `ca_file` is not set"
                .into(),
        );
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// What went wrong with a certificate, for the fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsProblem {
    Untrusted,
    WrongName,
    Expired,
    NotYetValid,
    Other,
}

impl TlsProblem {
    pub fn of(error: &std::io::Error) -> Self {
        let rustls_error = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match rustls_error {
            Some(rustls::Error::InvalidCertificate(certificate)) => match certificate {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    TlsProblem::Untrusted
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsProblem::WrongName,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsProblem::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsProblem::NotYetValid
                }
                _ => TlsProblem::Other,
            },
            _ => TlsProblem::Other,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            TlsProblem::Untrusted => "the certificate is not trusted",
            TlsProblem::WrongName => "the certificate is not valid for this host name",
            TlsProblem::Expired => "the certificate has expired",
            TlsProblem::NotYetValid => "the certificate is not valid yet",
            TlsProblem::Other => "the handshake failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_files_must_hold_certificates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").expect("write");
        assert!(
            read_ca_file(&path)
                .expect_err("empty")
                .contains("no PEM certificate")
        );
        assert!(read_ca_file(&dir.path().join("missing.pem")).is_err());
    }

    #[test]
    fn certificate_errors_map_to_their_problem() {
        let problem = |error: CertificateError| {
            TlsProblem::of(&std::io::Error::other(rustls::Error::InvalidCertificate(
                error,
            )))
        };
        assert_eq!(
            problem(CertificateError::UnknownIssuer),
            TlsProblem::Untrusted
        );
        assert_eq!(
            problem(CertificateError::NotValidForName),
            TlsProblem::WrongName
        );
        assert_eq!(problem(CertificateError::Expired), TlsProblem::Expired);
        assert_eq!(
            TlsProblem::of(&std::io::Error::other("reset")),
            TlsProblem::Other
        );
    }
}
