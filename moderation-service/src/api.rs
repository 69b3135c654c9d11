//! The HTTP API (axum). Every route but `/healthz`, `/readyz` and
//! `/openapi.json` needs an API key (`Authorization: Bearer mod_…`).
//!
//! Bad input never reaches a 500: bodies are read as bytes (any content
//! type), decoded by the core's `Post::from_json` so errors name the field,
//! and over-long bodies get a JSON 413. Errors of the machine (the database
//! is down) are 503s and say so without echoing input.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use moderation_core::{Engine, Post, Verdict};
use serde::Serialize;
use tokio::net::TcpListener;
use utoipa::OpenApi;

use crate::keys::{KeyRecord, Role};
use crate::store::Store;

/// Largest request body accepted, by default (posts are scanned up to
/// 64 KiB per field; this leaves room for JSON escaping).
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// Rules and model, compiled once.
    pub engine: Arc<Engine>,
    /// The database.
    pub store: Store,
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
/// Tests bind port 0 and pass the listener in.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    body_limit: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state, body_limit)).with_graceful_shutdown(shutdown).await
}

/// The routes.
pub fn router(state: Arc<AppState>, body_limit: usize) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        .route("/v1/score", post(score))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// The OpenAPI document, generated from the handlers and the core's types.
#[derive(OpenApi)]
#[openapi(
    info(title = "moderation", description = "Scores forum posts for spam, scams, misinformation and leaked secrets."),
    paths(healthz, readyz, score),
    components(schemas(ErrorBody, ErrorDetail, Status)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("mod_…").build()),
        );
    }
}

/// A JSON error: what went wrong, a stable code, and the field when the
/// input was at fault.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// See [`ErrorBody`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `invalid_json`, `body_too_large`, `unauthorized`, `forbidden`, `not_found`, `unavailable`.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// The JSON path of the offending field (`author.trust_level`), when known.
    pub field: Option<String>,
}

/// A liveness or readiness answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// An error response. User errors (4xx) say what was wrong with the
/// request; machine errors (503) say which dependency failed.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, detail: ErrorDetail { code, message: message.into(), field: None } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorBody { error: self.detail })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> ApiError {
        tracing::error!(error = %e, "store");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database is unavailable; retry later")
    }
}

/// The key behind a request, if its role is one of `allowed`.
async fn authorize(state: &AppState, headers: &HeaderMap, allowed: &[Role]) -> Result<KeyRecord, ApiError> {
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| unauthorized("an API key is required"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| unauthorized("use `Authorization: Bearer <key>`"))?;
    let key = state.store.find_key(token).await?.ok_or_else(|| unauthorized("unknown or revoked API key"))?;
    if !allowed.contains(&key.role) {
        let roles: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this needs a {} key; this key is {}", roles.join(" or "), key.role.as_str()),
        ));
    }
    Ok(key)
}

/// Reads a JSON post from the body, whatever the content type.
fn read_post(body: Result<Bytes, BytesRejection>) -> Result<Post, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is over the size limit")
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.body_text())
        }
    })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("the body is not UTF-8: {e}")))?;
    Post::from_json(text).map_err(|e| match e {
        moderation_core::Error::Post { message, field } => {
            ApiError { status: StatusCode::BAD_REQUEST, detail: ErrorDetail { code: "invalid_json", message, field } }
        }
        other => ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", other.to_string()),
    })
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Status)))]
async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = Status), (status = 503, body = ErrorBody)))]
async fn readyz(State(state): State<Arc<AppState>>) -> Result<Json<Status>, ApiError> {
    state.store.ping().await?;
    Ok(Json(Status { status: "ready" }))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// Scores a post without storing it, for forums that decide inline. The
/// post's forum is the key's (a `forum` field in the body is ignored).
#[utoipa::path(
    post,
    path = "/v1/score",
    request_body = Post,
    responses(
        (status = 200, description = "The verdict", body = Verdict),
        (status = 400, description = "Not a post; `field` names what is wrong", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not a forum key", body = ErrorBody),
        (status = 413, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
async fn score(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Verdict>, ApiError> {
    let key = authorize(&state, &headers, &[Role::Forum]).await?;
    let mut post = read_post(body)?;
    post.forum = key.forums.first().cloned();
    let engine = state.engine.clone();
    // Scoring is CPU work: keep it off the async workers.
    let verdict = tokio::task::spawn_blocking(move || engine.score(&post))
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "scoring was interrupted"))?;
    Ok(Json(verdict))
}
