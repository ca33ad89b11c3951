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
    /// It cannot be done in the current state (409), said in both languages (the page shows
    /// the reader's).
    #[error("{en}")]
    Conflict {
        /// In English.
        en: String,
        /// In Chinese.
        zh: String,
    },
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
    /// What went wrong in Chinese (the body's `message_zh`), where the answer says it.
    message_zh: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), retry_after_s: None, request_id: None, message_zh: None }
    }

    /// The same, with what went wrong in Chinese (consoles in Chinese show it instead of the
    /// general words and the English).
    pub(crate) fn zh(mut self, message: impl Into<String>) -> ApiError {
        self.message_zh = Some(message.into());
        self
    }

    /// What went wrong in Chinese: its own words where it has them, else the general words
    /// of its kind and the English detail.
    pub(crate) fn in_chinese(&self) -> String {
        match &self.message_zh {
            Some(zh) => zh.clone(),
            None => format!("{}：{}", code_of(self.status).1, self.message),
        }
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
            ServiceError::Conflict { en, zh } => ApiError::new(StatusCode::CONFLICT, en).zh(zh),
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

/// A stable code for each kind of answer, and what it says in Chinese (the English detail stays
/// in `error`): pages show the reader's language, scripts switch on the code.
fn code_of(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad_request", "请求有误，请检查填写的内容"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "令牌无效或已过期，请使用分配给您的登录链接"),
        StatusCode::FORBIDDEN => ("forbidden", "无权访问此内容"),
        StatusCode::NOT_FOUND => ("not_found", "未找到所请求的内容"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "请求超时，请重试"),
        StatusCode::CONFLICT => ("conflict", "当前演练状态下不能执行此操作"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "提交的内容过大"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("media_type", "请以 JSON 格式提交"),
        StatusCode::UNPROCESSABLE_ENTITY => ("refused", "工艺系统拒绝了此操作"),
        StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "提交过于频繁，请稍后再试"),
        StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "暂时无法处理，未执行任何操作，请稍后重试"),
        s if s.is_server_error() => ("internal", "服务器内部错误，已记录，请将请求编号告知导调组"),
        _ => ("error", "请求未能完成"),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, zh) = code_of(self.status);
        let mut body = serde_json::json!({ "error": self.message, "code": code, "error_zh": zh });
        if let Some(id) = &self.request_id {
            body["request_id"] = id.as_str().into();
        }
        if let Some(zh) = &self.message_zh {
            body["message_zh"] = zh.as_str().into();
        }
        let mut res = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every answer a page can get carries a code and a Chinese text beside the English one.
    #[tokio::test]
    async fn errors_carry_a_code_and_both_languages() {
        for (status, code) in [
            (StatusCode::BAD_REQUEST, "bad_request"),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            (StatusCode::FORBIDDEN, "forbidden"),
            (StatusCode::NOT_FOUND, "not_found"),
            (StatusCode::CONFLICT, "conflict"),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        ] {
            let res = ApiError::new(status, "in English").into_response();
            assert_eq!(res.status(), status);
            let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.expect("a body");
            let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!((v["code"].as_str(), v["error"].as_str()), (Some(code), Some("in English")));
            assert!(
                v["error_zh"]
                    .as_str()
                    .is_some_and(|t| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
                "{v}"
            );
        }
    }
}
