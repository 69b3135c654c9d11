//! The HTTP API (axum). Every route but `/healthz`, `/readyz` and
//! `/openapi.json` needs an API key (`Authorization: Bearer mod_…`);
//! `/metrics` takes the configured metrics token or an admin key.
//!
//! | module | routes |
//! |---|---|
//! | [`intake`] | score, submit and report (forum keys) |
//! | [`moderation`] | the review queue, decisions, audit log, export (moderator and admin keys) |
//! | [`admin`] | rule layers and API keys (admin keys; moderators may read and validate rules) |
//! | [`models`] | forum models and imported labels (admin keys; moderators may read) |
//! | [`campaigns`] | waves of near-duplicate posts, listed, read and decided as one (moderator and admin keys) |
//! | [`authors`] | one author of a forum, and account actions on them (moderator and admin keys) |
//!
//! Each handler reads the request, finds the key, calls one use case of
//! [`App`] and writes its answer; [`ApiError`] maps the use cases' errors
//! to statuses through one table ([`Code::http_status`]).
//!
//! Bad input never reaches a 500: bodies are read as bytes (any content
//! type) and decoded so errors name the field; over-long bodies get a JSON
//! 413. Errors of the machine (the database is down) are 503s and say so
//! without echoing input.

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
use utoipa::OpenApi;

use crate::app::{App, AppError, Code};
use crate::keys::{KeyRecord, Role};

pub mod admin;
pub mod authors;
pub mod campaigns;
pub mod intake;
pub mod models;
pub mod moderation;

/// Largest request body accepted, by default (posts are scanned up to
/// 64 KiB per field; this leaves room for JSON escaping).
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// The JSON routes (`/healthz`, `/readyz`, `/openapi.json`, `/metrics`,
/// `/v1/…`), without a fallback: [`crate::server::router`] composes them
/// with the pages.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(admin::metrics))
        .route("/v1/score", post(intake::score))
        .route("/v1/posts", post(intake::submit))
        .route("/v1/reports", post(intake::report))
        .route("/v1/authors/{forum}/{id}", axum::routing::delete(intake::forget_author).get(authors::get))
        .route("/v1/authors/{forum}/{id}/actions", post(authors::act))
        .route("/v1/queue", get(moderation::list))
        .route("/v1/queue/claim", post(moderation::claim_next))
        .route("/v1/items/{id}", get(moderation::item))
        .route("/v1/items/{id}/claim", post(moderation::claim))
        .route("/v1/items/{id}/release", post(moderation::release))
        .route("/v1/items/{id}/decision", post(moderation::decide))
        .route("/v1/decisions", post(moderation::decide_many))
        .route("/v1/campaigns", get(campaigns::list))
        .route("/v1/campaigns/{id}", get(campaigns::get))
        .route("/v1/campaigns/{id}/decision", post(campaigns::decide))
        .route("/v1/audit", get(moderation::audit))
        .route("/v1/export", get(moderation::export))
        .route("/v1/rules", get(admin::rules).put(admin::put_rules).delete(admin::delete_rules))
        .route("/v1/rules/validate", post(admin::validate_rules))
        .route("/v1/keys", get(admin::list_keys).post(admin::create_key))
        .route("/v1/keys/{id}", axum::routing::delete(admin::revoke_key).patch(admin::name_key))
        .route("/v1/models", get(models::list))
        .route("/v1/models/rollback", post(models::rollback))
        .route("/v1/models/learn", post(models::learn))
        .route("/v1/models/{id}", get(models::get))
        .route("/v1/models/{id}/promote", post(models::promote))
        .route("/v1/labels", post(models::import))
}

/// Wraps a router with what every route shares: the JSON 404 and 405, the
/// request metrics and the body limit.
pub fn finish(router: Router<Arc<App>>, app: Arc<App>) -> Router {
    let body_limit = app.config.body_limit;
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Every 413, whichever extractor refused the body, says the limit.
        .layer(axum::middleware::map_response(move |response: axum::response::Response| async move {
            if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    Code::BodyTooLarge,
                    format!("the request body is over the size limit of {body_limit} bytes (`body_limit`)"),
                )
                .into_response()
            } else {
                response
            }
        }))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(app)
}

/// The OpenAPI document, generated from the handlers and the types.
#[derive(OpenApi)]
#[openapi(
    info(title = "moderation", description = "Scores forum posts for spam, scams, misinformation and leaked secrets; keeps the review queue."),
    paths(
        healthz, readyz, admin::metrics,
        intake::score, intake::submit, intake::report, intake::forget_author,
        moderation::list, moderation::claim_next, moderation::item, moderation::claim, moderation::release,
        moderation::decide, moderation::decide_many, moderation::audit, moderation::export,
        campaigns::list, campaigns::get, campaigns::decide, authors::get, authors::act,
        admin::rules, admin::put_rules, admin::delete_rules, admin::validate_rules,
        admin::list_keys, admin::create_key, admin::name_key, admin::revoke_key,
        models::list, models::get, models::promote, models::rollback, models::learn, models::import,
    ),
    components(schemas(ErrorBody, ErrorDetail, Status, crate::webhook::DecisionEvent, crate::accounts::AccountEvent)),
    modifiers(&BearerAuth, &SharedErrors, &Webhooks)
)]
pub struct ApiDoc;

/// An OpenAPI object written as JSON (a fixed literal: it always decodes).
fn from_json<T: DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a valid OpenAPI object")
}

/// The errors every route with a key shares, described once: each such
/// route answers 401 without a known key, 403 for a key of another role
/// and 503 when the database does not answer, and each that reads a body
/// 413 when it is over the limit. A route's own description of these,
/// when it has one, is kept.
struct SharedErrors;

impl SharedErrors {
    fn description(status: &str) -> Option<&'static str> {
        Some(match status {
            "401" => {
                "No API key, or an unknown or revoked one (`unauthorized`; the answer has `WWW-Authenticate: Bearer`)"
            }
            "403" => "The key's role may not use this route (`forbidden`)",
            "413" => "The body is over the size limit (`body_too_large`)",
            "503" => "The database did not answer (`unavailable`)",
            _ => return None,
        })
    }
}

impl utoipa::Modify for SharedErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in operations.into_iter().flatten() {
                let mut shared = Vec::new();
                if op.security.is_some() {
                    shared.extend(["401", "403", "503"]);
                }
                if op.request_body.is_some() {
                    shared.push("413");
                }
                for status in shared {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| {
                        RefOr::T(from_json(serde_json::json!({
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                        })))
                    });
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    if let (RefOr::T(response), Some(text)) = (response, SharedErrors::description(status))
                        && response.description.is_empty()
                    {
                        response.description = text.to_string();
                    }
                }
            }
        }
    }
}

/// What the service sends to forums (OpenAPI 3.1 `webhooks`): the
/// `decision` event of [`crate::webhook`], its signature and delivery.
struct Webhooks;

impl utoipa::Modify for Webhooks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        const SIGNATURE: &str = "HMAC-SHA256 over `\"<t>.<body>\"` (the raw body as received), hex, keyed with each \
             of the configured `webhook.secrets` (one or two during a rotation): `t=<unix seconds>,v1=<hex>[,v1=<hex>]`. \
             `t` is the time of the attempt; refuse timestamps more than a few minutes off, and compare in constant time.";
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "webhook_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description("Moderation-Signature", SIGNATURE))),
        );
        let webhook = |operation: &str, summary: &str, description: &str, key: (&str, &str), schema: &str| {
            from_json::<utoipa::openapi::path::PathItem>(serde_json::json!({
                "post": {
                    "operationId": operation,
                    "summary": summary,
                    "description": description,
                    "parameters": [
                        {
                            "name": "Moderation-Signature",
                            "in": "header",
                            "required": true,
                            "description": SIGNATURE,
                            "schema": {"type": "string", "pattern": "^t=[0-9]+(,v1=[0-9a-f]{64}){1,2}$"}
                        },
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": true,
                            "description": key.0,
                            "schema": {"type": "string", "pattern": key.1}
                        }
                    ],
                    "requestBody": {
                        "required": true,
                        "description": "Compact JSON with the fields in alphabetical order.",
                        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
                    },
                    "responses": {
                        "2XX": {"description": "Delivered: any 2xx status ends the delivery (the answer's body is ignored)."},
                        "default": {
                            "description": "Not delivered: any other status, a redirect, no answer within `webhook.timeout_ms` or no \
                                connection. Retried after `webhook.backoff_base_ms`, doubling per failed attempt up to \
                                `webhook.backoff_max_ms`, plus up to 20 % jitter, with no limit on attempts."
                        }
                    },
                    "security": [{"webhook_signature": []}]
                }
            }))
        };
        let decision = webhook(
            "decision_webhook",
            "A moderator decided an item",
            "Sent to the forum's webhook URL (`webhook.forums`, else `webhook.url`) for every moderator decision on its \
             items, once the decision is committed (an outbox). Delivery is at least once: deduplicate by \
             `Idempotency-Key` and ignore a decision whose `version` is lower than one already applied. An item's \
             decisions are sent in version order. The body's `event` is `decision` (version 1; it has no \
             `event_version` field). A moderator's display name (`moderator_name`) is sent only when \
             `webhook.moderator_name` is on.",
            ("`item-<id>-v<version>`, the body's `idempotency_key`: the same on every retry.", "^item-[0-9]+-v[0-9]+$"),
            "DecisionEvent",
        );
        let account = webhook(
            "account_webhook",
            "A moderator acted on an account",
            "Sent to the same URL for every account action (silence, suspend, ban, lift) taken beside a decision, on a \
             campaign or on the author page; the forum enforces it. The body's `event` is `account`, `event_version` 1. \
             An account's actions are sent in its `version` order; deduplicate by `Idempotency-Key` and ignore a \
             version lower than one already applied. Posts removed with `remove_pending` each get their own \
             `decision` webhook.",
            (
                "`account-<account id>-v<version>`, the body's `idempotency_key`: the same on every retry.",
                "^account-[0-9]+-v[0-9]+$",
            ),
            "AccountEvent",
        );
        let hooks = openapi.webhooks.get_or_insert_with(Default::default);
        hooks.paths.insert("decision".to_string(), decision);
        hooks.paths.insert("account".to_string(), account);
    }
}

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
    /// `no_change`, `conflict`, `unavailable`.
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
    code: Code,
    detail: ErrorDetail,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            detail: ErrorDetail { code: code.as_str(), message: message.into(), ..ErrorDetail::default() },
        }
    }

    /// 400 naming the field at fault.
    pub fn bad(code: Code, message: impl Into<String>, field: Option<String>) -> ApiError {
        let mut e = ApiError::new(code, message);
        e.detail.field = field;
        e
    }

    /// A use case's error; invalid input gets `invalid` (`invalid_json` for
    /// a body, `invalid_query` for a query string).
    pub fn from_app(e: AppError, invalid: Code) -> ApiError {
        let mut out = ApiError::new(e.code(invalid), e.to_string());
        match e {
            AppError::Invalid { field, .. } => out.detail.field = field,
            AppError::Rules { line, rule_id, .. } => {
                out.detail.line = line;
                out.detail.rule_id = rule_id;
            }
            AppError::Held(claim) => out.detail.claim = Some(claim),
            _ => {}
        }
        out
    }

    /// A use case's error about query parameters.
    pub fn query(e: AppError) -> ApiError {
        ApiError::from_app(e, Code::InvalidQuery)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code.http_status()
    }

    /// What the body says.
    pub fn detail(self) -> ErrorDetail {
        self.detail
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(ErrorBody { error: self.detail })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Errors of use cases that read a JSON body: invalid input is `invalid_json`.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        ApiError::from_app(e, Code::InvalidJson)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> ApiError {
        ApiError::from(AppError::from(e))
    }
}

/// The key behind a request, if its role is one of `allowed`.
pub async fn authorize(app: &App, headers: &HeaderMap, allowed: &[Role]) -> Result<KeyRecord, ApiError> {
    let token = bearer(headers)?;
    Ok(app.authorize(token, allowed).await?)
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(Code::Unauthorized, message)
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
            ApiError::new(Code::BodyTooLarge, "the request body is over the size limit")
        } else {
            ApiError::bad(Code::InvalidBody, e.body_text(), None)
        }
    })?;
    std::str::from_utf8(bytes)
        .map_err(|e| ApiError::bad(Code::InvalidJson, format!("the body is not UTF-8: {e}"), None))
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
        ApiError::bad(Code::InvalidJson, message, field)
    })?;
    de.end().map_err(|e| ApiError::bad(Code::InvalidJson, e.to_string(), None))?;
    Ok(value)
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// A path segment (`{id}`); one that is not UTF-8 names nothing that exists.
pub fn path_segment(
    path: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<String, ApiError> {
    path.map(|p| p.0).map_err(|_| ApiError::new(Code::NotFound, "no such item or key (the id is not valid UTF-8)"))
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
        ApiError::bad(Code::InvalidQuery, message, field)
    })
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The process answers (`status`: `ok`)", body = Status)))]
async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Readiness: the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "The database answers (`status`: `ready`)", body = Status),
        (status = 503, description = "The database did not answer (`unavailable`)", body = ErrorBody),
    )
)]
async fn readyz(State(app): State<Arc<App>>) -> Result<Json<Status>, ApiError> {
    app.store.ping().await.map_err(AppError::from)?;
    Ok(Json(Status { status: "ready" }))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The JSON 404 of every unknown route.
pub async fn not_found() -> ApiError {
    ApiError::new(Code::NotFound, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(Code::MethodNotAllowed, "this route does not take that method")
}
