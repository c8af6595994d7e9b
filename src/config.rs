//! Every setting of the server: its flag, its environment variable and its
//! default, in one place.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Two MiB: room for a long article with inline HTML, small enough that a
/// runaway sender cannot make the server buffer much.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, global = true, env = "GAZETTE_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,

    /// Path of the SQLite database file; it and its folder are created if missing.
    #[arg(long, global = true, env = "GAZETTE_DATABASE", default_value = "data/gazette.db")]
    pub database: PathBuf,

    /// An ingest token accepted in addition to the ones stored in the database.
    #[arg(long, global = true, env = "GAZETTE_INGEST_TOKEN", hide_env_values = true)]
    pub ingest_token: Option<String>,

    /// A file holding the ingest token (for Docker secrets).
    #[arg(
        long,
        global = true,
        env = "GAZETTE_INGEST_TOKEN_FILE",
        conflicts_with = "ingest_token"
    )]
    pub ingest_token_file: Option<PathBuf>,

    /// Public URL of the site, used for absolute links (feeds, canonical URLs).
    #[arg(long, global = true, env = "GAZETTE_BASE_URL")]
    pub base_url: Option<String>,

    /// Name shown in the masthead and page titles.
    #[arg(long, global = true, env = "GAZETTE_SITE_NAME", default_value = "Gazette")]
    pub site_name: String,

    /// Largest request body accepted, in bytes.
    #[arg(long, global = true, env = "GAZETTE_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
}

impl Config {
    /// A configuration with every default, for the given database file.
    pub fn for_database(database: impl Into<PathBuf>) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database: database.into(),
            ingest_token: None,
            ingest_token_file: None,
            base_url: None,
            site_name: "Gazette".to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The configured ingest token, read from its file when one is given.
    pub fn configured_token(&self) -> anyhow::Result<Option<String>> {
        if let Some(path) = &self.ingest_token_file {
            let token = std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("cannot read ingest token file {}: {err}", path.display()))?;
            let token = token.trim().to_owned();
            anyhow::ensure!(!token.is_empty(), "ingest token file {} is empty", path.display());
            return Ok(Some(token));
        }
        Ok(self.ingest_token.clone().filter(|t| !t.trim().is_empty()))
    }

    /// The base URL without a trailing slash: the configured one, else one
    /// derived from the bind address. Never derived from a request's Host
    /// header, which a client controls.
    pub fn public_base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.local_addr_for(self.bind)),
        }
    }

    /// An address a local client can reach the server on: a wildcard bind
    /// is reached through loopback.
    pub fn local_addr_for(&self, bind: SocketAddr) -> SocketAddr {
        let mut addr = bind;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        addr
    }
}
