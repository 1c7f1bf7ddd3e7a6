//! A private PostgreSQL cluster that accepts TLS connections only (`ssl = on`, `hostssl` alone in `pg_hba.conf`),
//! with a CA and a server certificate for `localhost` made at test time, and a second CA that signed nothing. It
//! listens on 127.0.0.1 on a port of its own and is stopped and removed when dropped; the machine's shared
//! PostgreSQL is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

/// A running TLS-only cluster.
pub struct TlsCluster {
    pub port: u16,
    /// The CA that signed the server's certificate (PEM).
    pub ca: PathBuf,
    /// A CA that signed nothing the server shows (PEM).
    pub wrong_ca: PathBuf,
    dir: PathBuf,
    bin: PathBuf,
}

impl TlsCluster {
    /// Makes the certificates, initialises the cluster and starts it (a few seconds).
    pub fn start() -> anyhow::Result<Self> {
        let bin = pg_bin()?;
        let dir = std::env::temp_dir().join(format!("bw-tls-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let cluster = Self { port, ca: dir.join("ca.pem"), wrong_ca: dir.join("wrong-ca.pem"), dir, bin };
        cluster.write_certificates()?;
        cluster.init()?;
        cluster.pg_ctl(&["start", "-w", "-t", "60", "-l", &cluster.dir.join("server.log").to_string_lossy()])?;
        Ok(cluster)
    }

    /// The URL of database `database` by host name `host` (the address is always 127.0.0.1) with `params` (e.g.
    /// `sslmode=verify-full&sslrootcert=…`).
    pub fn url(&self, host: &str, database: &str, params: &str) -> String {
        format!("postgres://postgres@{host}:{}/{database}?hostaddr=127.0.0.1&{params}", self.port)
    }

    /// `verify-full` against the right CA, by the certificate's name: the URL that works.
    pub fn verified_url(&self, database: &str) -> String {
        self.url("localhost", database, &format!("sslmode=verify-full&sslrootcert={}", self.ca.display()))
    }

    fn write_certificates(&self) -> anyhow::Result<()> {
        let (ca_pem, issuer) = authority("boardwatch test CA")?;
        let (wrong_pem, _) = authority("boardwatch unrelated CA")?;
        let key = rcgen::KeyPair::generate()?;
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
        let server = params.signed_by(&key, &issuer)?;
        std::fs::write(&self.ca, ca_pem)?;
        std::fs::write(&self.wrong_ca, wrong_pem)?;
        std::fs::write(self.dir.join("server.crt"), server.pem())?;
        std::fs::write(self.dir.join("server.key"), key.serialize_pem())?;
        Ok(())
    }

    fn init(&self) -> anyhow::Result<()> {
        let data = self.data();
        if running_as_root() {
            // initdb refuses root; the cluster's files belong to the postgres user (made as bootstrap makes it), who
            // must own its key alone.
            if !Command::new("id").arg("postgres").output().is_ok_and(|o| o.status.success()) {
                run(Command::new("useradd").args(["--system", "--no-create-home", "postgres"]))?;
            }
            run(Command::new("chown").arg("-R").arg("postgres").arg(&self.dir))?;
        }
        self.as_postgres(
            &self.bin.join("initdb"),
            &["-D", &data.to_string_lossy(), "-U", "postgres", "--auth=trust", "-N"],
        )?;
        set_mode(&self.dir.join("server.key"), 0o600)?;
        let conf = format!(
            "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nssl = on\n\
             ssl_cert_file = '{}'\nssl_key_file = '{}'\nfsync = off\n",
            self.port,
            self.dir.display(),
            self.dir.join("server.crt").display(),
            self.dir.join("server.key").display(),
        );
        append(&data.join("postgresql.conf"), &conf)?;
        std::fs::write(data.join("pg_hba.conf"), "hostssl all all 127.0.0.1/32 trust\n")?;
        if running_as_root() {
            run(Command::new("chown").arg("-R").arg("postgres").arg(&self.dir))?;
        }
        Ok(())
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let data = self.data();
        let mut all = vec!["-D", data.to_str().context("a temporary path that is not UTF-8")?];
        all.extend_from_slice(args);
        self.as_postgres(&self.bin.join("pg_ctl"), &all).map_err(|e| {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            e.context(format!("the TLS cluster's server log:\n{log}"))
        })
    }

    fn as_postgres(&self, program: &Path, args: &[&str]) -> anyhow::Result<()> {
        let mut command = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        run(command.args(args).current_dir(&self.dir))
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A self-signed CA: its certificate (PEM) and what signs with it.
fn authority(name: &str) -> anyhow::Result<(String, rcgen::Issuer<'static, rcgen::KeyPair>)> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let pem = params.self_signed(&key)?.pem();
    Ok((pem, rcgen::Issuer::new(params, key)))
}

/// The folder of PostgreSQL's server binaries, looked for as `scripts/bootstrap.sh` does: `PG_BIN`, else where
/// `initdb` is on the `PATH`, else the newest `/usr/lib/postgresql/*/bin`.
fn pg_bin() -> anyhow::Result<PathBuf> {
    if let Some(dir) = bw_config::optional("PG_BIN") {
        return Ok(dir.into());
    }
    let has_server = |bin: &Path| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file();
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    if let Some(bin) = on_path.into_iter().find(|dir| has_server(dir)) {
        return Ok(bin);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(|e| Some(e.ok()?.path().join("bin"))).filter(|b| has_server(b)).collect())
        .unwrap_or_default();
    found.sort();
    found.pop().context(
        "PostgreSQL's server binaries (initdb, pg_ctl) are neither on the PATH nor in /usr/lib/postgresql/*/bin: \
         install them (Debian: apt-get install postgresql) or set PG_BIN to their folder",
    )
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn running_as_root() -> bool {
    std::env::var("USER").is_ok_and(|u| u == "root")
        || Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("failed to run {command:?}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{command:?} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

fn append(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    Ok(file.write_all(text.as_bytes())?)
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    Ok(std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?)
}
