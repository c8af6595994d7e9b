//! The request body of the ingest routes: its content type checked and its
//! size bounded, with failures in the API's own error format.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;

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
        let limit = state.site.max_body_bytes;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge { limit }
            } else {
                AppError::MalformedJson(format!("the request body could not be read: {rejection}"))
            }
        })?;
        Ok(IngestBody { kind, bytes })
    }
}
