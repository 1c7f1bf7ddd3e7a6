//! Every connection to PostgreSQL opens here: the pools, the LISTEN connection, migrations, `ctl`, the tests and the
//! benchmarks. A `DATABASE_URL` is a `postgres://` URL whose query may carry libpq's `sslmode` (default `prefer`)
//! and `sslrootcert=PATH|system`; the rest of the query goes to tokio-postgres as it is. Failures say what went wrong
//! in the words an operator fixes it with: `sslmode`, the CA bundle, the host name.

use std::time::Duration;

use anyhow::Context as _;
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::migrate::redact;
use crate::tls::{self, Check, Roots, SslMode};

/// A connection's I/O half, which someone must poll for the client to make progress.
pub type Connection = tokio_postgres::Connection<tokio_postgres::Socket, TlsStream>;
/// The stream under a [`Connection`]: TLS, or plain when `sslmode` did not ask for it or the server declined.
type TlsStream = <MakeRustlsConnect as MakeTlsConnect<tokio_postgres::Socket>>::Stream;

/// How long opening a connection may take when the URL sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed database URL: where to connect, and how TLS is negotiated and checked. Build it once and connect
/// through it many times (a pool does): the CA bundle is read when it is built.
#[derive(Clone)]
pub struct Target {
    config: tokio_postgres::Config,
    mode: SslMode,
    roots: Roots,
    tls: MakeRustlsConnect,
    /// The URL without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("url", &self.shown).field("sslmode", &self.mode.as_str()).finish()
    }
}

impl Target {
    /// Parses `url`; fails on an unknown `sslmode`, an unreadable `sslrootcert` or a URL tokio-postgres refuses.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let shown = redact(url);
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut mode = SslMode::default();
        let mut roots = Roots::System;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(raw);
            match key {
                "sslmode" => mode = SslMode::parse(&value).with_context(|| format!("in {shown}"))?,
                "sslrootcert" if value == "system" => roots = Roots::System,
                "sslrootcert" => roots = Roots::File(value.into()),
                _ => rest.push(pair),
            }
        }
        let kept = if rest.is_empty() { base.to_owned() } else { format!("{base}?{}", rest.join("&")) };
        let mut config: tokio_postgres::Config =
            kept.parse().with_context(|| format!("{shown} is not a valid PostgreSQL URL"))?;
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
        });
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let client = tls::client_config(Check::of(mode, &roots), &roots).with_context(|| format!("in {shown}"))?;
        Ok(Self { config, mode, roots, tls: MakeRustlsConnect::new(client), shown })
    }

    /// Opens a connection; the caller polls the [`Connection`] (or spawns it).
    pub async fn connect(&self) -> anyhow::Result<(tokio_postgres::Client, Connection)> {
        self.config.connect(self.tls.clone()).await.map_err(|e| self.explain(e))
    }

    /// Opens a connection and drives it on a task of its own, which ends when the client is dropped.
    pub async fn client(&self) -> anyhow::Result<tokio_postgres::Client> {
        let (client, connection) = self.connect().await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(error = %bw_telemetry::chain(&error), "PostgreSQL connection closed with an error");
            }
        });
        Ok(client)
    }

    /// A diesel-async connection.
    pub async fn diesel(&self) -> anyhow::Result<diesel_async::AsyncPgConnection> {
        let (client, connection) = self.connect().await?;
        diesel_async::AsyncPgConnection::try_from_client_and_connection(client, connection)
            .await
            .with_context(|| format!("failed to set up the connection to {}", self.shown))
    }

    /// A connection error in an operator's words.
    fn explain(&self, error: tokio_postgres::Error) -> anyhow::Error {
        let at = format!("cannot connect to {}", self.shown);
        let mode = self.mode.as_str();
        if let Some(db) = error.as_db_error()
            && *db.code() == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            && db.message().contains("no encryption")
        {
            return anyhow::anyhow!(
                "{at}: the server accepts only TLS connections and sslmode={mode} connected without TLS ({}); \
                 set sslmode=verify-full (with sslrootcert=PATH for a private CA such as RDS's) or sslmode=require",
                db.message()
            );
        }
        if let Some(problem) = rustls_error(&error) {
            return anyhow::anyhow!("{at}: {}", self.certificate_problem(problem));
        }
        if error.to_string().contains("server does not support TLS") {
            return anyhow::anyhow!(
                "{at}: the server does not offer TLS and sslmode={mode} requires it; turn TLS on at the server \
                 (ssl = on) or, on a trusted network only, use sslmode=prefer"
            );
        }
        anyhow::Error::new(error).context(at)
    }

    fn certificate_problem(&self, problem: &rustls::Error) -> String {
        let mode = self.mode.as_str();
        let host = self.host();
        match problem {
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => format!(
                "the server's certificate is not signed by a CA in {} (sslmode={mode}): name the server's CA bundle \
                 with sslrootcert=PATH",
                self.roots
            ),
            rustls::Error::InvalidCertificate(
                e @ (rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. }),
            ) => format!(
                "the server's certificate is not valid for the host name {host:?} (sslmode={mode} checks the host \
                 name; {e}): connect by a name the certificate carries"
            ),
            rustls::Error::InvalidCertificate(e) => {
                format!("the server's certificate was refused (sslmode={mode}, {}): {e}", self.roots)
            }
            other => format!("the TLS handshake failed (sslmode={mode}): {other}"),
        }
    }

    /// The first host of the URL, as the certificate is checked against it.
    fn host(&self) -> String {
        match self.config.get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            #[cfg(unix)]
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        }
    }
}

/// The rustls error under a tokio-postgres one (tokio-rustls wraps it in an `io::Error`).
fn rustls_error(error: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(found) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()?.downcast_ref()) {
            return Some(found);
        }
        source = e.source();
    }
    None
}

/// A URL query value with its `%XX` escapes decoded, as libpq decodes them (a `+` stays a `+`).
fn decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// Opens a client for `url` (parsed each time: for one-off connections).
pub async fn client(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    Target::parse(url)?.client().await
}

/// `url` naming database `name` instead, its query (TLS settings) kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let server = match base.find("://").map(|s| s + 3) {
        Some(start) => base[start..].find('/').map_or(base, |slash| &base[..start + slash]),
        None => base,
    };
    format!("{server}/{name}{query}")
}

/// The database `url` names (without its query).
pub fn database_name(url: &str) -> Option<&str> {
    let base = url.split('?').next()?;
    let start = base.find("://")? + 3;
    let slash = base[start..].find('/')?;
    Some(&base[start + slash + 1..]).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_are_taken_out_of_the_url() -> anyhow::Result<()> {
        let t = Target::parse("postgres://u:pw@db.example.com:6432/app?sslmode=require&application_name=bw")?;
        assert_eq!(t.mode, SslMode::Require);
        assert_eq!(t.config.get_application_name(), Some("bw"));
        assert_eq!(t.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        assert_eq!(t.config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert_eq!(t.host(), "db.example.com");
        assert!(!format!("{t:?}").contains("pw"), "{t:?}");
        let default = Target::parse("postgres://u@h/app?connect_timeout=3")?;
        assert_eq!(default.mode, SslMode::Prefer);
        assert_eq!(default.config.get_connect_timeout(), Some(&Duration::from_secs(3)));
        Ok(())
    }

    #[test]
    fn bad_settings_are_named() {
        let err = |url: &str| Target::parse(url).err().map(|e| format!("{e:#}")).unwrap_or_default();
        let mode = err("postgres://u:secret@h/d?sslmode=always");
        assert!(mode.contains("sslmode=\"always\" is not one of disable, prefer,"), "{mode}");
        assert!(mode.contains("postgres://u:***@h/d") && !mode.contains("secret"), "{mode}");
        let bundle = err("postgres://h/d?sslmode=verify-full&sslrootcert=%2Fno%2Fsuch.pem");
        assert!(bundle.contains("cannot read sslrootcert=/no/such.pem"), "{bundle}");
        let option = err("postgres://h/d?sslcompression=1");
        assert!(option.contains("is not a valid PostgreSQL URL") && option.contains("sslcompression"), "{option}");
    }

    #[test]
    fn query_values_are_percent_decoded_only() {
        assert_eq!(decode("%2Fetc%2Fca+bundle.pem"), "/etc/ca+bundle.pem");
        assert_eq!(decode("50%"), "50%");
        assert_eq!(decode("%zz%41"), "%zzA");
    }

    #[test]
    fn database_names_are_swapped_keeping_the_query() {
        let url = "postgres://u:p@h:5432/app?sslmode=verify-full&sslrootcert=/etc/ca/rds.pem";
        assert_eq!(
            with_database(url, "postgres"),
            "postgres://u:p@h:5432/postgres?sslmode=verify-full&sslrootcert=/etc/ca/rds.pem"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(database_name(url), Some("app"));
        assert_eq!(database_name("postgres://h/"), None);
        assert_eq!(database_name("postgres://h?sslmode=disable"), None);
    }
}
