//! The one error type of the API: what a request did wrong, or that the server failed, told
//! to the client as `{"error": …}` with what it may know; causes on the server's side are
//! logged, not sent.

use axum::Json;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error the client caused, answered with a message it may see.
pub struct ApiError(StatusCode, String);

impl ApiError {
    /// What the client is told.
    pub fn message(&self) -> &str {
        &self.1
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<crate::params::ParamError> for ApiError {
    fn from(e: crate::params::ParamError) -> Self {
        ApiError(StatusCode::BAD_REQUEST, e.to_string())
    }
}

impl ApiError {
    /// An error answered with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError(status, message.into())
    }

    /// A failure on the server's side: `cause` is logged, the client hears only `what`
    /// failed (500).
    pub fn internal(what: &'static str, cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(target: "web", error = %cause, "{what}");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, what.into())
    }
}

/// Query parameters, with a JSON error (400) when they cannot be read.
pub struct Params<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Params<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                crate::text::clip(&e.body_text(), 200),
            )),
        }
    }
}
