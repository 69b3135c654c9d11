//! What a use case can answer instead of doing it, and the stable codes
//! programs see, each with its HTTP status (one table, as meilisearch's
//! error codes carry theirs): the API writes code and status, the pages a
//! sentence with the status.

use axum::http::StatusCode;

use crate::review::Status;
use crate::store::{Claim, StoreError};

/// The stable error codes of the service, as the API's `error.code` says them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// A JSON body (or a field of it) is wrong.
    InvalidJson,
    /// The body could not be read at all.
    InvalidBody,
    /// A query parameter is wrong.
    InvalidQuery,
    /// A rule set does not validate.
    InvalidRules,
    /// A value the database cannot store as given.
    InvalidInput,
    /// The body is over the size limit.
    BodyTooLarge,
    /// No key, or an unknown or revoked one.
    Unauthorized,
    /// The key's role or scope does not allow this.
    Forbidden,
    /// No such item, key, layer or route.
    NotFound,
    /// The route does not take that method.
    MethodNotAllowed,
    /// Another moderator holds the item.
    Claimed,
    /// The item changed since the moderator looked.
    Stale,
    /// The item is already in that status.
    NoChange,
    /// The change conflicts with the current state (a model already live,
    /// nothing to roll back).
    Conflict,
    /// A dependency (the database) failed; retry later.
    Unavailable,
}

impl Code {
    /// The code as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidJson => "invalid_json",
            Code::InvalidBody => "invalid_body",
            Code::InvalidQuery => "invalid_query",
            Code::InvalidRules => "invalid_rules",
            Code::InvalidInput => "invalid_input",
            Code::BodyTooLarge => "body_too_large",
            Code::Unauthorized => "unauthorized",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::Claimed => "claimed",
            Code::Stale => "stale",
            Code::NoChange => "no_change",
            Code::Conflict => "conflict",
            Code::Unavailable => "unavailable",
        }
    }

    /// The HTTP status of the code: the one table.
    pub fn http_status(self) -> StatusCode {
        match self {
            Code::InvalidJson | Code::InvalidBody | Code::InvalidQuery | Code::InvalidRules | Code::InvalidInput => {
                StatusCode::BAD_REQUEST
            }
            Code::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Forbidden => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::Claimed | Code::Stale | Code::NoChange | Code::Conflict => StatusCode::CONFLICT,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Why a use case did not happen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// The input is wrong; `field` names the part at fault when known. Its
    /// code depends on where the input came from (a JSON body, a query).
    #[error("{message}")]
    Invalid {
        /// The field or parameter at fault.
        field: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// A rule set does not validate.
    #[error("{message}")]
    Rules {
        /// The whole error, with the layer, line and rule (`rules[main]:4: rule `x`: …`).
        message: String,
        /// What is wrong, without the location.
        detail: String,
        /// The 1-based line in the TOML, when known.
        line: Option<usize>,
        /// The offending rule, when the problem is inside one.
        rule_id: Option<String>,
    },
    /// No key, or an unknown or revoked one.
    #[error("{0}")]
    Unauthorized(String),
    /// The key may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (or not visible to this key).
    #[error("{0}")]
    NotFound(String),
    /// Another moderator holds the item.
    #[error("item is claimed by {} until {}", .0.by, .0.expires_at)]
    Held(Claim),
    /// The item's version is no longer the one the moderator saw.
    #[error("the item changed: its version is now {current}")]
    Stale {
        /// Its version now.
        current: i64,
    },
    /// The campaign changed since the moderator saw it (a post joined, or
    /// another moderator decided it).
    #[error("the campaign changed: its version is now {current}; read it again before deciding")]
    CampaignChanged {
        /// Its version now.
        current: i64,
    },
    /// Another action was taken on the account since the moderator saw it.
    #[error("the account changed: its version is now {current}; read it again before acting")]
    AccountChanged {
        /// Its version now.
        current: i64,
    },
    /// The item is already in the status the decision asks for.
    #[error("the item is already {}", .0.as_str())]
    NoChange(Status),
    /// The change conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The database refuses a value of the request as given (a character it
    /// cannot store, an index entry over its size limit).
    #[error("the database cannot store a value of this request as given")]
    Unstorable,
    /// A dependency failed; the message says which, without echoing input.
    #[error("{0}")]
    Unavailable(String),
}

impl AppError {
    /// Invalid input at `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid { field: Some(field.to_string()), message: message.into() }
    }

    /// The code, with `invalid` for [`AppError::Invalid`] (which depends
    /// on where the input came from).
    pub fn code(&self, invalid: Code) -> Code {
        match self {
            AppError::Invalid { .. } => invalid,
            AppError::Rules { .. } => Code::InvalidRules,
            AppError::Unauthorized(_) => Code::Unauthorized,
            AppError::Forbidden(_) => Code::Forbidden,
            AppError::NotFound(_) => Code::NotFound,
            AppError::Held(_) => Code::Claimed,
            AppError::Stale { .. } | AppError::CampaignChanged { .. } | AppError::AccountChanged { .. } => Code::Stale,
            AppError::NoChange(_) => Code::NoChange,
            AppError::Conflict(_) => Code::Conflict,
            AppError::Unstorable => Code::InvalidInput,
            AppError::Unavailable(_) => Code::Unavailable,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        // Input the use cases' checks missed but the database refuses
        // (PostgreSQL: a character it cannot store, an index entry over its
        // size limit) is still the client's fault, not a reason to retry.
        if let StoreError::Database(sqlx::Error::Database(d)) = &e
            && matches!(d.code().as_deref(), Some("22021" | "22P05" | "54000"))
        {
            return AppError::Unstorable;
        }
        // Everything else is the machine's fault, not the request's: a
        // database that cannot be reached (pool timeout, broken or
        // terminated connection, statement timeout) or that failed
        // otherwise is a 503 `unavailable` (see `Code::http_status`),
        // never a 500.
        if e.is_unreachable() {
            tracing::warn!(error = %e, "database unreachable");
        } else {
            tracing::error!(error = %e, "store");
        }
        AppError::Unavailable("the database is unavailable; retry later".into())
    }
}

impl From<moderation_core::Error> for AppError {
    fn from(e: moderation_core::Error) -> AppError {
        match e {
            moderation_core::Error::Rules(r) => {
                AppError::Rules { message: r.to_string(), detail: r.message, line: r.line, rule_id: r.rule_id }
            }
            other => {
                AppError::Rules { message: other.to_string(), detail: other.to_string(), line: None, rule_id: None }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that cannot be reached is a 503 `unavailable` through the
    /// one table, whichever way the connection failed; never a 500.
    #[test]
    fn unreachable_database_errors_are_503_unavailable() {
        let io = |kind| StoreError::Database(sqlx::Error::Io(std::io::Error::from(kind)));
        let unreachable = [
            StoreError::Database(sqlx::Error::PoolTimedOut),
            StoreError::Database(sqlx::Error::PoolClosed),
            StoreError::Database(sqlx::Error::WorkerCrashed),
            io(std::io::ErrorKind::UnexpectedEof),
            io(std::io::ErrorKind::ConnectionReset),
            io(std::io::ErrorKind::ConnectionRefused),
            StoreError::Unreachable("no answer within 5000 ms".into()),
            StoreError::Closed,
        ];
        for e in unreachable {
            assert!(e.is_unreachable(), "{e}");
            let code = AppError::from(e).code(Code::InvalidJson);
            assert_eq!(
                (code, code.as_str(), code.http_status()),
                (Code::Unavailable, "unavailable", StatusCode::SERVICE_UNAVAILABLE)
            );
        }
        // A database that answered is not "unreachable" (a batch that hit
        // one is retried post by post), though still no 500.
        let answered = StoreError::Database(sqlx::Error::RowNotFound);
        assert!(!answered.is_unreachable());
        assert_eq!(AppError::from(answered).code(Code::InvalidJson).http_status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
