//! Errors over HTTP: `ServiceError`, what the traits behind the routers return, and
//! `ApiError`, the JSON answer `{"error": "..."}` with its status. A caller's fault keeps its
//! message; an internal failure is logged with the request's id and answered with the id
//! only, never with its chain of causes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What a drill, range or regional view reports to the web layer when it cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is wrong (400).
    #[error("{0}")]
    BadRequest(String),
    /// What it names does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// It cannot be done in the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// Not now; try again later (503 with `Retry-After`).
    #[error("{message}")]
    Unavailable {
        /// Why.
        message: String,
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// The service failed (500): logged, not shown.
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ServiceError {
    /// An internal failure.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> ServiceError {
        ServiceError::Internal(Box::new(e))
    }
}

/// An error as JSON: `{"error": "..."}` with a status (and `request_id` for a 500).
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub(crate) status: StatusCode,
    /// What went wrong.
    pub(crate) message: String,
    /// Seconds to wait before trying again (`Retry-After`), for answers that invite it.
    retry_after_s: Option<u64>,
    /// The request's id, for internal errors (the log line with the details carries it too).
    request_id: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), retry_after_s: None, request_id: None }
    }

    /// The same, telling the client when to try again.
    pub(crate) fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_s = Some(seconds);
        self
    }

    /// A 500: the error and its causes go to the log with the request's id; the client gets
    /// the id.
    pub(crate) fn internal(e: &(dyn std::error::Error + 'static)) -> ApiError {
        let id = crate::trace::request_id().unwrap_or_else(|| "-".into());
        tracing::error!(request_id = %id, error = %chain(e), "internal error");
        ApiError {
            request_id: Some(id.clone()),
            ..ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal error (request {id}): the operator's log has the details"),
            )
        }
    }
}

/// An error and its sources, `: `-separated.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        match e {
            ServiceError::BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            ServiceError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            ServiceError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            ServiceError::Unavailable { message, retry_after_s } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message).retry_after(retry_after_s)
            }
            ServiceError::Internal(e) => ApiError::internal(&*e),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        ApiError::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match &self.request_id {
            Some(id) => serde_json::json!({ "error": self.message, "request_id": id }),
            None => serde_json::json!({ "error": self.message }),
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}
