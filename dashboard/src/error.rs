//! [`ApiError`]: a failed endpoint, answered as `{"error": "..."}` with a status that says
//! whose fault it was.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fennec_tools::admin::AdminError;

/// Why an endpoint failed.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    /// The request itself is wrong (a missing field, an unconfirmed deletion).
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let status = match &e {
            AdminError::Usage(_) => StatusCode::BAD_REQUEST,
            AdminError::TopicNotExist(_)
            | AdminError::ClusterNotExist(_)
            | AdminError::NotFound(_)
            | AdminError::BrokerNotInRoute { .. } => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_GATEWAY,
        };
        ApiError {
            status,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message }).to_string();
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_say_whose_fault() {
        let e = ApiError::from(AdminError::TopicNotExist("T".into()));
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert!(e.message.contains('T'));
        let e = ApiError::from(AdminError::Usage("bad".into()));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            ApiError::from(AdminError::NoNamesrv).status,
            StatusCode::BAD_GATEWAY
        );
    }
}
