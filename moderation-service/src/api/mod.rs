//! The HTTP API (axum). Every route but `/healthz`, `/readyz` and
//! `/openapi.json` needs an API key (`Authorization: Bearer mod_…`);
//! `/metrics` takes the configured metrics token or an admin key.
//!
//! | module | routes |
//! |---|---|
//! | [`posts`] | score, submit and report (forum keys) |
//! | [`queue`] | the review queue, decisions, audit log, export (moderator and admin keys) |
//! | [`admin`] | rule layers and API keys (admin keys; moderators may read and validate rules) |
//!
//! Bad input never reaches a 500: bodies are read as bytes (any content
//! type) and decoded so errors name the field; over-long bodies get a JSON
//! 413. Errors of the machine (the database is down) are 503s and say so
//! without echoing input.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use utoipa::OpenApi;

use crate::clock::Clock;
use crate::config::Config;
use crate::engine::LiveEngine;
use crate::keys::{KeyRecord, Role};
use crate::store::Store;

pub mod admin;
pub mod posts;
pub mod queue;

/// Largest request body accepted, by default (posts are scanned up to
/// 64 KiB per field; this leaves room for JSON escaping).
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// Rules and model; swapped when rules change.
    pub engine: Arc<LiveEngine>,
    /// The database.
    pub store: Store,
    /// The configuration in force.
    pub config: Arc<Config>,
    /// Time (a manual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// Wakes the webhook worker when a decision is written.
    pub webhook_wake: Arc<Notify>,
    /// Group-commits submissions.
    pub writer: crate::writer::SubmitWriter,
    /// Recently used keys (see [`crate::keys::KeyCache`] for the revocation bound).
    pub keys: crate::keys::KeyCache,
}

impl AppState {
    /// Milliseconds now, by the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A moderator's decision, the one path for the API and the pages: the
    /// store write (with a webhook for forums that have a URL), the
    /// decision counter, and a wake-up for the webhook worker.
    pub async fn decide(
        &self,
        key: &KeyRecord,
        id: i64,
        d: &crate::queue::DecisionInput,
    ) -> Result<Result<crate::store::Item, crate::store::DecideError>, crate::store::StoreError> {
        // Notes are stored, shown and sent in webhooks: no secret in clear.
        let engine = self.engine.get();
        let d = &crate::queue::DecisionInput {
            reason: crate::queue::mask_secrets(&engine, d.reason.clone()),
            note: crate::queue::mask_secrets(&engine, d.note.clone()),
            ..d.clone()
        };
        let webhooks = &self.config.webhook;
        let webhook_for = |forum: &str| webhooks.url_for(forum).is_some();
        let result = self.store.decide(id, &key.id, &key.forums, d, &webhook_for, self.now()).await?;
        if result.is_ok() {
            metrics::counter!("moderation_decisions_total", "action" => d.action.as_str()).increment(1);
            self.webhook_wake.notify_one();
        }
        Ok(result)
    }
}

/// `value` if it is in `range`, else a 400 naming `field`.
pub fn within(
    code: &'static str,
    field: &str,
    value: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ApiError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        let message = format!("{field} must be between {} and {}", range.start(), range.end());
        Err(ApiError::bad(code, message, Some(field.into())))
    }
}

/// Serves HTTP until `shutdown` completes, then finishes in-flight
/// requests. The background work (webhooks, rule reloads) is started by
/// [`crate::server::run`], which tests and `moderation serve` call.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.body_limit;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(admin::metrics))
        .route("/v1/score", post(posts::score))
        .route("/v1/posts", post(posts::submit))
        .route("/v1/reports", post(posts::report))
        .route("/v1/queue", get(queue::list))
        .route("/v1/queue/claim", post(queue::claim_next))
        .route("/v1/items/{id}", get(queue::item))
        .route("/v1/items/{id}/claim", post(queue::claim))
        .route("/v1/items/{id}/release", post(queue::release))
        .route("/v1/items/{id}/decision", post(queue::decide))
        .route("/v1/decisions", post(queue::decide_many))
        .route("/v1/audit", get(queue::audit))
        .route("/v1/export", get(queue::export))
        .route("/v1/rules", get(admin::rules).put(admin::put_rules).delete(admin::delete_rules))
        .route("/v1/rules/validate", post(admin::validate_rules))
        .route("/v1/keys", get(admin::list_keys).post(admin::create_key))
        .route("/v1/keys/{id}", axum::routing::delete(admin::revoke_key))
        .merge(crate::ui::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// The OpenAPI document, generated from the handlers and the types.
#[derive(OpenApi)]
#[openapi(
    info(title = "moderation", description = "Scores forum posts for spam, scams, misinformation and leaked secrets; keeps the review queue."),
    paths(
        healthz, readyz, admin::metrics,
        posts::score, posts::submit, posts::report,
        queue::list, queue::claim_next, queue::item, queue::claim, queue::release, queue::decide, queue::decide_many,
        queue::audit, queue::export,
        admin::rules, admin::put_rules, admin::delete_rules, admin::validate_rules,
        admin::list_keys, admin::create_key, admin::revoke_key,
    ),
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
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `invalid_json`, `invalid_body`, `invalid_query`, `invalid_rules`, `invalid_input`, `body_too_large`,
    /// `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`, `claimed`, `stale`,
    /// `no_change`, `unavailable`.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// The JSON path or query parameter at fault (`author.trust_level`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Rule errors: the 1-based line in the TOML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Rule errors: the offending rule's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Claim conflicts: who holds the item and until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<crate::store::Claim>,
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
    /// An error with a status, a code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, detail: ErrorDetail { code, message: message.into(), ..ErrorDetail::default() } }
    }

    /// 400 naming the field at fault.
    pub fn bad(code: &'static str, message: impl Into<String>, field: Option<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, code, message);
        e.detail.field = field;
        e
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
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
        // Input the handlers' checks missed but the database refuses
        // (PostgreSQL: a character it cannot store, an index entry over its
        // size limit) is still the client's fault, not a reason to retry.
        if let crate::store::StoreError::Database(sqlx::Error::Database(d)) = &e {
            if matches!(d.code().as_deref(), Some("22021" | "22P05" | "54000")) {
                return ApiError::bad(
                    "invalid_input",
                    "the database cannot store a value of this request as given",
                    None,
                );
            }
        }
        tracing::error!(error = %e, "store");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database is unavailable; retry later")
    }
}

/// The key behind a request, if its role is one of `allowed`. A key found
/// in the last `key_cache_ms` is not looked up again: a revocation holds on
/// the instance that made it at once, on the others within that bound.
pub async fn authorize(state: &AppState, headers: &HeaderMap, allowed: &[Role]) -> Result<KeyRecord, ApiError> {
    let token = bearer(headers)?;
    let hash = crate::keys::token_hash(token);
    let now = state.now();
    let key = match state.keys.get(&hash, now) {
        Some(key) => key,
        None => {
            let generation = state.keys.generation();
            let key = state.store.find_key(token).await?.ok_or_else(|| unauthorized("unknown or revoked API key"))?;
            state.keys.put(hash, key.clone(), now, generation);
            key
        }
    };
    if !allowed.contains(&key.role) {
        let roles: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this needs {} key; this key is {}", with_article(&roles.join(" or ")), key.role.as_str()),
        ));
    }
    Ok(key)
}

fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {noun}")
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The bearer token of a request.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| unauthorized("an API key is required"))?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| unauthorized("use `Authorization: Bearer <key>`"))
}

/// The body as UTF-8 text, or the 413/400 saying why not.
pub fn body_text(body: &Result<Bytes, BytesRejection>) -> Result<&str, ApiError> {
    let bytes = body.as_ref().map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is over the size limit")
        } else {
            ApiError::bad("invalid_body", e.body_text(), None)
        }
    })?;
    std::str::from_utf8(bytes).map_err(|e| ApiError::bad("invalid_json", format!("the body is not UTF-8: {e}"), None))
}

/// Decodes a JSON body, whatever its content type; errors name the field
/// (`items[2]`, `action`). Unknown fields are ignored.
pub fn read_json<T: DeserializeOwned>(body: &Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let json = body_text(body)?;
    let mut de = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // A missing field is reported at its parent; serde names it in the
        // message. "?" is serde_path_to_error's "somewhere it could not tell"
        // (a syntax error before any key): no field to name.
        let field = match (path.as_str(), missing_field(&message)) {
            (".", Some(name)) => Some(name),
            (".", None) | ("?", _) => None,
            (parent, Some(name)) => Some(format!("{parent}.{name}")),
            (p, None) => Some(p.to_string()),
        };
        ApiError::bad("invalid_json", message, field)
    })?;
    de.end().map_err(|e| ApiError::bad("invalid_json", e.to_string(), None))?;
    Ok(value)
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// Longest id (post, author, reporter) and reason code accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Longest free-text note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 10_000;

/// Refuses text a database cannot store as given (NUL characters) or that
/// is over `max_bytes` (ids must fit an index entry).
pub fn check_text(field: &str, value: &str, max_bytes: usize) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(ApiError::bad("invalid_json", format!("`{field}` contains a NUL character"), Some(field.into())));
    }
    if value.len() > max_bytes {
        return Err(ApiError::bad("invalid_json", format!("`{field}` is over {max_bytes} bytes"), Some(field.into())));
    }
    Ok(())
}

/// Refuses a `forum` parameter that no key could be scoped to.
pub fn check_forum(forum: Option<&str>) -> Result<(), ApiError> {
    match forum {
        Some(f) if !crate::keys::valid_forum_id(f) => Err(ApiError::bad(
            "invalid_query",
            format!("`{}` is not a forum id", f.escape_debug()),
            Some("forum".into()),
        )),
        _ => Ok(()),
    }
}

/// A path segment (`{id}`); one that is not UTF-8 names nothing that exists.
pub fn path_segment(
    path: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<String, ApiError> {
    path.map(|p| p.0).map_err(|_| ApiError::not_found("no such item or key (the id is not valid UTF-8)"))
}

/// Decodes a query string; errors name the parameter.
pub fn read_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.unwrap_or("").as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = match missing_field(&message) {
            Some(name) => Some(name),
            None if path != "." && path != "?" => Some(path),
            None => None,
        };
        ApiError::bad("invalid_query", message, field)
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
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
}
