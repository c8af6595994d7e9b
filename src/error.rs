//! One error type for every failure a request can meet, and its single
//! mapping to an HTTP status and a JSON body. HTML pages reuse the same
//! mapping through `web::pages::PageError`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::FieldError;
use crate::store::health::Fault;
use crate::store::writer::WriteError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("missing or unknown token")]
    Unauthorized,
    #[error("request body is larger than this endpoint's limit of {limit} bytes (raise it with {setting})")]
    PayloadTooLarge { limit: usize, setting: &'static str },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{}", .0.message)]
    Invalid(FieldError),
    /// A search whose shape or words would cost more than a search may
    /// (issue 33): refused before it runs, the limit named.
    #[error("{0}")]
    SearchTooBroad(String),
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("a batch holds at most {limit} articles; this one holds {got}")]
    TooManyItems { limit: usize, got: usize },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this article was deleted and will not be stored again")]
    Deleted,
    /// A site rule kept the article out: not a failure, nothing stored.
    #[error("filtered by the site rule \"{rule}\"")]
    Filtered { rule_id: i64, rule: String },
    #[error("too many requests for this token; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A client has its share of searches running and waiting.
    #[error(
        "too many searches at once from one address: each runs one search at a time with {waiting} more waiting; retry in {retry_after_secs} s"
    )]
    TooManySearches { waiting: usize, retry_after_secs: u64 },
    #[error("the server is busy; retry in a moment")]
    Overloaded,
    #[error("{0}")]
    Conflict(String),
    /// A request reached by cookie that is not the site's own (CSRF).
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Feed { code: &'static str, message: String },
    /// The storage refused to write (a full disk, an I/O error): nothing
    /// of the request was stored, and retrying later may work.
    #[error("storage failure ({}): {detail}", .fault.label())]
    Storage { fault: Fault, detail: String },
    /// /readyz while writes are failing.
    #[error("writes are failing ({}) since {since}: new articles are refused until this clears; reads still work", .fault.label())]
    WritesFailing { fault: Fault, since: String },
    /// The database server cannot be reached (PostgreSQL down, or the
    /// network to it): nothing of the request was done.
    #[error("the database cannot be reached: {0}")]
    DatabaseUnavailable(sqlx::Error),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

/// The client-safe description of an error, as the API's JSON shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The detail of a server-side failure, left in the response's extensions
/// for the logging middleware: logged once, never shown to the client.
#[derive(Debug, Clone)]
pub struct LoggedError(pub String);

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(FieldError::new(field, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::MalformedJson(_) | AppError::SearchTooBroad(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Invalid(_) | AppError::UnknownField(_) | AppError::TooManyItems { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Deleted => StatusCode::GONE,
            AppError::Filtered { .. } => StatusCode::OK,
            AppError::RateLimited { .. } | AppError::TooManySearches { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Feed { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Storage { fault: Fault::Full, .. } => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Storage { fault: Fault::Io, .. }
            | AppError::WritesFailing { .. }
            | AppError::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (code, field) = match self {
            AppError::MalformedJson(_) => ("malformed_json", None),
            AppError::Unauthorized => ("unauthorized", None),
            AppError::PayloadTooLarge { .. } => ("payload_too_large", None),
            AppError::UnsupportedMediaType(_) => ("unsupported_media_type", None),
            AppError::Invalid(err) => ("invalid_field", Some(err.field.clone())),
            AppError::SearchTooBroad(_) => ("search_too_broad", Some("q".to_owned())),
            AppError::UnknownField(name) => ("unknown_field", Some(name.clone())),
            AppError::TooManyItems { .. } => ("too_many_items", None),
            AppError::NotFound(_) => ("not_found", None),
            AppError::Deleted => ("deleted", None),
            AppError::Filtered { .. } => ("filtered", None),
            AppError::RateLimited { .. } => ("rate_limited", None),
            AppError::TooManySearches { .. } => ("too_many_searches", None),
            AppError::Overloaded => ("overloaded", None),
            AppError::Conflict(_) => ("conflict", None),
            AppError::Forbidden(_) => ("forbidden", None),
            AppError::Feed { code, .. } => (*code, Some("url".to_owned())),
            AppError::Storage { fault: Fault::Full, .. } => ("storage_full", None),
            AppError::Storage { fault: Fault::Io, .. } => ("storage_error", None),
            AppError::WritesFailing { .. } => ("writes_failing", None),
            AppError::DatabaseUnavailable(_) => ("database_unavailable", None),
            AppError::Database(_) | AppError::Internal(_) => ("internal_error", None),
        };
        let message = match self {
            AppError::Database(_) | AppError::Internal(_) => "the server failed to handle this request".to_owned(),
            AppError::Storage { fault: Fault::Full, .. } => "the server's disk is full (or the database reached its \
                 configured size limit): nothing of this request was stored; retry later"
                .to_owned(),
            AppError::Storage { fault: Fault::Io, .. } => "the server's storage failed to write: nothing of this \
                 request was stored; retry later"
                .to_owned(),
            AppError::DatabaseUnavailable(_) => "the server cannot reach its database: nothing of this request \
                 was done; retry shortly"
                .to_owned(),
            other => other.to_string(),
        };
        ErrorBody { code, message, field }
    }

    /// The server-side detail worth logging, for failures that are ours.
    /// A full disk is logged once per episode by the write path
    /// (store::health), not once per refused request; an I/O error is rare
    /// and serious, and may come from a read, so each one is logged.
    pub fn log_detail(&self) -> Option<LoggedError> {
        match self {
            AppError::Database(_)
            | AppError::Internal(_)
            | AppError::Storage { fault: Fault::Io, .. }
            | AppError::DatabaseUnavailable(_) => Some(LoggedError(self.to_string())),
            _ => None,
        }
    }

    /// This failure as told to another request that shared it (the
    /// members of one group commit): the same status and code.
    pub fn for_another_request(&self) -> AppError {
        match self {
            AppError::Storage { fault, detail } => AppError::Storage {
                fault: *fault,
                detail: detail.clone(),
            },
            AppError::DatabaseUnavailable(err) => {
                AppError::DatabaseUnavailable(sqlx::Error::Io(std::io::Error::other(err.to_string())))
            }
            other => AppError::Internal(anyhow::anyhow!("{other}")),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match Fault::of(&err) {
            Some(fault) => AppError::Storage {
                fault,
                detail: err.to_string(),
            },
            None if unreachable(&err) => AppError::DatabaseUnavailable(err),
            None => AppError::Database(err),
        }
    }
}

/// Whether an error says the database server could not be reached, as
/// opposed to refusing a statement.
fn unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        // SQLSTATE class 08 (connection exception); 57P01 to 57P03: the
        // server is shutting down or starting.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

impl WriteError for AppError {
    fn fault(&self) -> Option<Fault> {
        match self {
            AppError::Storage { fault, .. } => Some(*fault),
            _ => None,
        }
    }
}

impl From<FieldError> for AppError {
    fn from(err: FieldError) -> Self {
        AppError::Invalid(err)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(json!({ "error": self.body() }))).into_response();
        if let Some(detail) = self.log_detail() {
            response.extensions_mut().insert(detail);
        }
        let headers = response.headers_mut();
        if let AppError::Unauthorized = self {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(wait) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, wait);
        }
        response
    }
}

impl AppError {
    /// When to try again, for the errors that pass: the `Retry-After` an
    /// API answer and an error page both carry.
    pub fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            AppError::RateLimited { retry_after_secs } | AppError::TooManySearches { retry_after_secs, .. } => {
                Some(HeaderValue::from((*retry_after_secs).max(1)))
            }
            AppError::Overloaded => Some(HeaderValue::from_static("1")),
            AppError::Storage { .. } | AppError::WritesFailing { .. } => {
                Some(HeaderValue::from_static(STORAGE_RETRY_AFTER_SECS))
            }
            AppError::DatabaseUnavailable(_) => Some(HeaderValue::from_static("5")),
            _ => None,
        }
    }
}

/// A full disk is cleared by a person or a retention sweep, not in a
/// second: clients are asked to come back in half a minute.
const STORAGE_RETRY_AFTER_SECS: &str = "30";

pub type AppResult<T> = Result<T, AppError>;

/// What a caught panic said, for the log or an error message.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
