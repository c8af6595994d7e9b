//! The request body of the ingest routes: its content type checked and its
//! size bounded, with failures in the API's own error format.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;

use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};

use crate::AppState;
use crate::error::AppError;

/// What a body's Content-Type says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    NdJson,
    /// OPML for feed imports.
    Xml,
}

/// The body limit of a route, and the setting that raises it, so a 413
/// can say which limit applied.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub bytes: usize,
    pub setting: &'static str,
}

impl BodyLimit {
    pub fn single(bytes: usize) -> Self {
        BodyLimit {
            bytes,
            setting: "--max-body-bytes (GAZETTE_MAX_BODY_BYTES)",
        }
    }

    pub fn batch(bytes: usize) -> Self {
        BodyLimit {
            bytes,
            setting: "--max-batch-body-bytes (GAZETTE_MAX_BATCH_BODY_BYTES)",
        }
    }

    /// Applies the limit to the routes it wraps (an inner one wins).
    pub fn layer(self) -> ServiceBuilder<Stack<Extension<BodyLimit>, Stack<DefaultBodyLimit, Identity>>> {
        ServiceBuilder::new()
            .layer(DefaultBodyLimit::max(self.bytes))
            .layer(Extension(self))
    }
}

/// The raw bytes of an ingest request.
pub struct IngestBody {
    pub kind: BodyKind,
    pub bytes: Bytes,
}

impl FromRequest<AppState> for IngestBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let kind = match essence.as_str() {
            "application/json" => BodyKind::Json,
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => BodyKind::NdJson,
            "text/x-opml" | "application/xml" | "text/xml" | "application/opml+xml" => BodyKind::Xml,
            "" => {
                return Err(AppError::UnsupportedMediaType(
                    "Content-Type is missing; send application/json".to_owned(),
                ));
            }
            other => {
                return Err(AppError::UnsupportedMediaType(format!(
                    "Content-Type {other} is not supported; send application/json (or application/x-ndjson for a batch)"
                )));
            }
        };
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .copied()
            .unwrap_or_else(|| BodyLimit::single(state.site.max_body_bytes));
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge {
                    limit: limit.bytes,
                    setting: limit.setting,
                }
            } else {
                AppError::MalformedJson(format!("the request body could not be read: {rejection}"))
            }
        })?;
        Ok(IngestBody { kind, bytes })
    }
}
