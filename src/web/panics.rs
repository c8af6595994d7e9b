//! A panic in a handler must not reach the client as a dropped connection:
//! it is answered 500 in the usual shape (the JSON error under /api, the
//! error page elsewhere), logged once with its route, and counted in
//! /metrics as `gazette_panics_total`.

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use crate::error::AppError;
use crate::web::pages::PageError;

pub async fn catch_panics(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let what = crate::error::panic_message(panic.as_ref());
            metrics::counter!("gazette_panics_total").increment(1);
            tracing::error!(%method, %path, panic = %what, "a request panicked; it was answered 500");
            let err = AppError::Internal(anyhow::anyhow!("the request panicked: {what}"));
            if path.starts_with("/api/") {
                err.into_response()
            } else {
                PageError::from(err).into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn panics() -> &'static str {
        panic!("a handler bug")
    }

    fn app() -> Router {
        Router::new()
            .route("/api/v1/boom", get(panics))
            .route("/boom", get(panics))
            .layer(axum::middleware::from_fn(super::catch_panics))
    }

    async fn call(path: &str) -> (StatusCode, String, String) {
        let response = app()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, content_type, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_500_in_the_usual_shape() {
        let (status, content_type, body) = call("/api/v1/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(content_type.starts_with("application/json"));
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["code"], "internal_error");
        assert!(!body.contains("handler bug"), "the panic's text stays in the log");

        // The page's text; `pages::error_pages` lays it out as HTML in the
        // whole app (tests/errors.rs).
        let (status, content_type, body) = call("/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(content_type.starts_with("text/"));
        assert!(body.contains("Something went wrong"));
    }
}
