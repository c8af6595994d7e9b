//! Gazette: a self-hosted news site fed by an ingest API.
//!
//! This file builds the shared state and the application; `main.rs` and
//! every integration test start Gazette through [`Application::build`].

pub mod config;
pub mod domain;
pub mod error;
pub mod ingest;
pub mod store;
pub mod tokens;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::store::Db;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub site: Arc<Site>,
}

/// Settings the pages and the API read on every request, resolved once.
#[derive(Debug)]
pub struct Site {
    pub name: String,
    /// Absolute base URL without a trailing slash.
    pub base_url: String,
    /// SHA-256 of the token given in the configuration, if any.
    pub configured_token_hash: Option<[u8; 32]>,
    pub max_body_bytes: usize,
}

/// A bound, ready-to-serve Gazette.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Opens the database, makes sure an ingest token exists, and binds
    /// the listener (port 0 picks a free port, as the tests do).
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let db = Db::open(&config.database).await?;
        let configured = config.configured_token()?;
        tokens::ensure_first_token(&db, configured.is_some(), &config.public_base_url()).await?;
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", config.bind))?;
        let bound = listener.local_addr()?;
        let base_url = match &config.base_url {
            Some(_) => config.public_base_url(),
            None => format!("http://{}", config.local_addr_for(bound)),
        };
        let site = Site {
            name: config.site_name.clone(),
            base_url,
            configured_token_hash: configured.as_deref().map(tokens::digest),
            max_body_bytes: config.max_body_bytes,
        };
        Ok(Application {
            listener,
            state: AppState {
                db,
                site: Arc::new(site),
            },
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests
    /// finish and closes the database cleanly.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let db = self.state.db.clone();
        let app = web::router(self.state);
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await?;
        db.close().await;
        Ok(())
    }
}
