//! Load shedding: past the limit of requests in flight, a request is
//! refused at once (503 + Retry-After) rather than queued without bound.
//!
//! A refused request's body is read and dropped first (`body::drain`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::error::AppError;
use crate::web::body;

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
        body::drain(request.into_body(), shed.linger_bytes).await;
        return AppError::Overloaded.into_response();
    };
    next.run(request).await
}
