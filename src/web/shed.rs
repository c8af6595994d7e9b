//! Load shedding: past the limit of requests in flight, a request is
//! refused at once (503 + Retry-After) rather than queued without bound.
//!
//! A refused request's body is read and thrown away before the answer
//! goes out ("lingering close"). Answering while a client is still
//! sending, then closing, leaves its unsent bytes unread in the socket;
//! the kernel then resets the connection, and the reset can destroy the
//! 503 before the client reads it: a batch sender saw a broken connection
//! instead of "overloaded, retry in a second". Reading costs a refused
//! request only its bytes on the wire, never a permit or memory, and is
//! bounded in bytes and in time.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::Semaphore;

use crate::error::AppError;

/// How long a refused request's body is read before the answer goes out
/// anyway.
const LINGER: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Shed {
    in_flight: Arc<Semaphore>,
    /// The most of a refused body worth reading: the largest body any
    /// route accepts.
    linger_bytes: usize,
}

impl Shed {
    pub fn new(max_in_flight: usize, linger_bytes: usize) -> Self {
        Shed {
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
            linger_bytes,
        }
    }
}

pub async fn shed(State(shed): State<Shed>, request: Request, next: Next) -> Response {
    let Ok(_permit) = shed.in_flight.clone().try_acquire_owned() else {
        metrics::counter!("gazette_requests_shed_total").increment(1);
        let _ = tokio::time::timeout(LINGER, discard(request.into_body(), shed.linger_bytes)).await;
        return AppError::Overloaded.into_response();
    };
    next.run(request).await
}

/// Reads `body` to its end, or to `limit` bytes, keeping none of it.
async fn discard(body: Body, limit: usize) {
    let mut stream = body.into_data_stream();
    let mut read = 0;
    while read <= limit {
        match stream.next().await {
            Some(Ok(piece)) => read += piece.len(),
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    #[tokio::test]
    async fn discard_stops_at_its_limit() {
        let endless = futures_util::stream::repeat_with(|| Ok::<_, std::io::Error>(Bytes::from_static(b"0123456789")));
        let finished = tokio::time::timeout(Duration::from_secs(5), discard(Body::from_stream(endless), 1_000)).await;
        assert!(finished.is_ok(), "an endless body is read only up to the limit");
    }
}
