//! The request body of the ingest routes: its content type checked and its
//! size bounded, with failures in the API's own error format.

use std::time::Duration;

use axum::Extension;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use futures_util::StreamExt;

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
    pub bytes: Vec<u8>,
}

/// What a request's Content-Type says its body holds.
pub fn kind_of(req: &Request) -> Result<BodyKind, AppError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(BodyKind::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Ok(BodyKind::NdJson),
        "text/x-opml" | "application/xml" | "text/xml" | "application/opml+xml" => Ok(BodyKind::Xml),
        "" => Err(AppError::UnsupportedMediaType(
            "Content-Type is missing; send application/json".to_owned(),
        )),
        other => Err(AppError::UnsupportedMediaType(format!(
            "Content-Type {other} is not supported; send application/json (or application/x-ndjson for a batch)"
        ))),
    }
}

/// The length a request says its body has, if it says one.
pub fn declared_length(req: &Request) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

impl FromRequest<AppState> for IngestBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let kind = kind_of(&req)?;
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .copied()
            .unwrap_or_else(|| BodyLimit::single(state.site.max_body_bytes));
        let bytes = read_whole(req, limit).await?;
        Ok(IngestBody { kind, bytes })
    }
}

/// Reads a request's body into one buffer of its declared size: collected
/// piece by piece and joined, a 26 MB batch took twice its size for a
/// moment (its pieces and their join).
async fn read_whole(req: Request, limit: BodyLimit) -> Result<Vec<u8>, AppError> {
    let too_large = || AppError::PayloadTooLarge {
        limit: limit.bytes,
        setting: limit.setting,
    };
    let declared = declared_length(&req);
    if declared.is_some_and(|length| length > limit.bytes as u64) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0) as usize);
    let mut stream = req.into_body().into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece =
            piece.map_err(|err| AppError::MalformedJson(format!("the request body could not be read: {err}")))?;
        if bytes.len() + piece.len() > limit.bytes {
            return Err(too_large());
        }
        bytes.extend_from_slice(&piece);
    }
    Ok(bytes)
}

/// How long a refused request's body is read before the answer goes out
/// anyway (see [`drain`]).
const LINGER: Duration = Duration::from_secs(2);

/// Reads a request's body to its end (at most `limit` bytes, for at most
/// two seconds), keeping none of it, before it is refused.
///
/// Answering while a client is still sending, then closing, leaves its
/// unsent bytes unread in the socket; the kernel then resets the
/// connection, and the reset can destroy the answer before the client
/// reads it: a batch sender saw a broken connection instead of
/// "overloaded, retry in a second" ("lingering close").
pub async fn drain(body: Body, limit: usize) {
    let read_all = async {
        let mut stream = body.into_data_stream();
        let mut read = 0;
        while read <= limit {
            match stream.next().await {
                Some(Ok(piece)) => read += piece.len(),
                _ => return,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, read_all).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    #[tokio::test]
    async fn drain_stops_at_its_limit() {
        let endless = futures_util::stream::repeat_with(|| Ok::<_, std::io::Error>(Bytes::from_static(b"0123456789")));
        let started = std::time::Instant::now();
        drain(Body::from_stream(endless), 1_000).await;
        assert!(
            started.elapsed() < LINGER,
            "an endless body is read only up to the limit"
        );
    }
}
