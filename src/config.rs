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
    #[arg(long, global = true, env = "GAZETTE_INGEST_TOKEN_FILE")]
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
    /// Empty values count as unset, so a compose file may pass an empty
    /// variable through.
    pub fn configured_token(&self) -> anyhow::Result<Option<String>> {
        let inline = self.ingest_token.clone().filter(|t| !t.trim().is_empty());
        let file = self.ingest_token_file.as_ref().filter(|p| !p.as_os_str().is_empty());
        if let Some(path) = file {
            anyhow::ensure!(
                inline.is_none(),
                "give the ingest token either inline (GAZETTE_INGEST_TOKEN) or as a file (GAZETTE_INGEST_TOKEN_FILE), not both"
            );
            let token = std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("cannot read ingest token file {}: {err}", path.display()))?;
            let token = token.trim().to_owned();
            anyhow::ensure!(!token.is_empty(), "ingest token file {} is empty", path.display());
            return Ok(Some(token));
        }
        Ok(inline)
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

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn empty_token_values_count_as_unset() {
        let mut config = Config::for_database("x.db");
        config.ingest_token = Some("  ".into());
        assert_eq!(config.configured_token().unwrap(), None);
    }

    #[test]
    fn a_token_inline_and_in_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        let mut config = Config::for_database("x.db");
        config.ingest_token_file = Some(file);
        assert_eq!(config.configured_token().unwrap().as_deref(), Some("from-file"));
        config.ingest_token = Some("inline".into());
        assert!(config.configured_token().is_err());
    }
}
