//! The rustls side of libpq's `sslmode`: which server certificates a connection accepts.
//!
//! | `sslmode` | encrypted | certificate chain checked | host name checked |
//! |---|---|---|---|
//! | `disable` | no | - | - |
//! | `prefer` | when the server offers TLS | no | no |
//! | `require` | yes | only with `sslrootcert` (as libpq) | no |
//! | `verify-ca` | yes | yes | no |
//! | `verify-full` | yes | yes | yes |
//!
//! The roots are the PEM bundle `sslrootcert` names (e.g. the RDS global bundle), else the system's roots.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// libpq's default: TLS when the server offers it, no certificate checks.
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// Every mode, as `sslmode` spells it.
    pub const ALL: [SslMode; 5] = [Self::Disable, Self::Prefer, Self::Require, Self::VerifyCa, Self::VerifyFull];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// Parses `sslmode`'s value; the error lists the modes.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == value).with_context(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|m| m.as_str()).collect();
            format!("sslmode={value:?} is not one of {}", all.join(", "))
        })
    }
}

/// Where the trusted roots come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Roots {
    /// The system's roots (`sslrootcert` absent, or `sslrootcert=system`).
    System,
    /// A PEM bundle (`sslrootcert=PATH`).
    File(PathBuf),
}

impl std::fmt::Display for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::System => f.write_str("the system's root certificates"),
            Self::File(path) => write!(f, "sslrootcert={}", path.display()),
        }
    }
}

/// How much of the server's certificate a connection checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Nothing: the connection is encrypted, not authenticated.
    Nothing,
    /// The chain up to a trusted root, not the host name.
    Chain,
    /// The chain and the host name.
    Full,
}

impl Check {
    /// What `mode` checks; `require` checks the chain when a root bundle was given, as libpq does.
    pub fn of(mode: SslMode, roots: &Roots) -> Self {
        match (mode, roots) {
            (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, Roots::System) => Self::Nothing,
            (SslMode::Require, Roots::File(_)) | (SslMode::VerifyCa, _) => Self::Chain,
            (SslMode::VerifyFull, _) => Self::Full,
        }
    }
}

/// The rustls configuration for `check` against `roots` (read now: a missing or empty bundle fails here).
pub fn client_config(check: Check, roots: &Roots) -> anyhow::Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("the TLS provider supports no protocol version")?;
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        Check::Nothing => Arc::new(Lenient { chain: None, algorithms }),
        Check::Chain | Check::Full => {
            let store = Arc::new(root_store(roots)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(store, provider)
                .build()
                .with_context(|| format!("cannot verify certificates against {roots}"))?;
            if check == Check::Full { webpki } else { Arc::new(Lenient { chain: Some(webpki), algorithms }) }
        }
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

fn root_store(roots: &Roots) -> anyhow::Result<RootCertStore> {
    let certs = match roots {
        Roots::File(path) => pem_certificates(path)?,
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            anyhow::ensure!(
                !found.certs.is_empty(),
                "no system root certificates were found ({}); name a CA bundle with sslrootcert=PATH",
                found.errors.first().map_or_else(|| "none installed".to_owned(), ToString::to_string)
            );
            found.certs
        }
    };
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(certs);
    anyhow::ensure!(added > 0, "{roots} holds no usable CA certificate");
    Ok(store)
}

fn pem_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read sslrootcert={}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("sslrootcert={} is not a PEM certificate bundle", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "sslrootcert={} holds no PEM certificate", path.display());
    Ok(certs)
}

/// The checks weaker than libpq's `verify-full` (which is webpki's verifier as it is). Without a webpki verifier
/// (`prefer`, `require` without roots) it accepts any certificate; with one (`verify-ca`, `require` with roots) the
/// chain must lead to a trusted root but the host name is not compared (webpki checks the chain before the name, so a
/// name mismatch means the chain passed). Either way the handshake's signatures are checked, so the connection is
/// encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_libpq_spells_them() {
        for mode in SslMode::ALL {
            assert_eq!(SslMode::parse(mode.as_str()).ok(), Some(mode));
        }
        let err = SslMode::parse("verify_full").err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err, "sslmode=\"verify_full\" is not one of disable, prefer, require, verify-ca, verify-full");
    }

    #[test]
    fn require_checks_the_chain_only_with_a_root_bundle() {
        let file = Roots::File("/ca.pem".into());
        assert_eq!(Check::of(SslMode::Require, &Roots::System), Check::Nothing);
        assert_eq!(Check::of(SslMode::Require, &file), Check::Chain);
        assert_eq!(Check::of(SslMode::Prefer, &file), Check::Nothing);
        assert_eq!(Check::of(SslMode::VerifyCa, &Roots::System), Check::Chain);
        assert_eq!(Check::of(SslMode::VerifyFull, &file), Check::Full);
    }

    #[test]
    fn a_bad_bundle_is_named() {
        let dir = std::env::temp_dir().join(format!("bw-tls-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let empty = dir.join("empty.pem");
        let _ = std::fs::write(&empty, "not a certificate\n");
        for (roots, expected) in [
            (Roots::File(dir.join("missing.pem")), "cannot read sslrootcert="),
            (Roots::File(empty.clone()), "holds no PEM certificate"),
        ] {
            let err = client_config(Check::Full, &roots).err().map(|e| format!("{e:#}")).unwrap_or_default();
            assert!(err.contains(expected), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
