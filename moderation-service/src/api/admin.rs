//! Administration: rule layers (read and validate for moderators within
//! their forums, replace for admins), API keys (admins), and `/metrics`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ApiError, ErrorBody, authorize, bearer, body_text, path_segment, read_json, read_query};
use crate::app::{ADMIN, App, Code, KeyView, NameKeyInput, NewKeyInput, RulesView, STAFF, Validated};

/// Prometheus metrics. Needs the configured `metrics_token` as a bearer
/// token, or an admin key.
#[utoipa::path(
    get,
    path = "/metrics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
              (status = 401, description = "No bearer token, or neither the metrics token nor a known key", body = ErrorBody),
              (status = 403, description = "A key that is not an admin key", body = ErrorBody),
              (status = 503, description = "Metrics are not recorded in this process, or the database did not answer (`unavailable`)", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let by_token = match (&app.config.metrics_token, bearer(&headers)) {
        (Some(expected), Ok(given)) => crate::keys::same_secret(expected.as_bytes(), given.as_bytes()),
        _ => false,
    };
    if !by_token {
        authorize(&app, &headers, ADMIN).await?;
    }
    let Some(handle) = crate::metrics::handle() else {
        return Err(ApiError::new(Code::Unavailable, "metrics are not recorded in this process"));
    };
    let text = crate::metrics::render(&handle, &app.store, app.clock.as_ref()).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

/// Which layer a rules request is about.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LayerQuery {
    /// The forum whose layer it is; absent for the layer every forum gets.
    pub forum: Option<String>,
}

/// The layer a query names: no `forum` is the every-forum layer; a
/// `forum` given must be a forum id (an empty `?forum=`, a script's unset
/// variable, must not reach the layer of every forum).
fn layer(query: Option<&str>) -> Result<String, ApiError> {
    let q: LayerQuery = read_query(query)?;
    match q.forum {
        Some(f) => {
            crate::app::check_forum(Some(&f)).map_err(ApiError::query)?;
            Ok(f)
        }
        None => Ok(String::new()),
    }
}

/// The stored rule layers and what this instance has loaded. A moderator
/// scoped to some forums sees their layers and the every-forum layer only.
#[utoipa::path(
    get,
    path = "/v1/rules",
    responses(
        (status = 200, description = "The stored layers the key may read and the rules this instance has loaded", body = RulesView),
        (status = 401, body = ErrorBody), (status = 403, description = "Not a moderator or admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn rules(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<RulesView>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    Ok(Json(app.rules(&key).await?))
}

/// Validates a rule set (TOML body) as a layer without saving it. Errors
/// give the line and rule id.
#[utoipa::path(
    post,
    path = "/v1/rules/validate",
    params(LayerQuery),
    request_body(content = String, content_type = "application/toml"),
    responses((status = 200, description = "The layer is valid; the rule sets it would put in force (nothing is saved)", body = Validated),
              (status = 400, description = "The rules do not validate (`invalid_rules`; `line` and `rule_id` locate the error), or `forum` is not a forum id", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "Not a moderator or admin key, or `forum` is outside the key's forums", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn validate_rules(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Validated>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let forum = layer(query.as_deref())?;
    let toml = body_text(&body)?;
    Ok(Json(app.validate_rules(&key, &forum, toml).await.map_err(ApiError::query)?))
}

/// Replaces a layer (TOML body) after validating it. This instance uses it
/// at once; the others within their `rules_poll_ms`.
#[utoipa::path(
    put,
    path = "/v1/rules",
    params(LayerQuery),
    request_body(content = String, content_type = "application/toml"),
    responses(
        (status = 200, description = "The layer is saved and in force on this instance; `version` is the new rules version", body = Validated),
        (status = 400, description = "The rules do not validate (`invalid_rules`; `line` and `rule_id` locate the error), or `forum` is not a forum id", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an admin key, or `forum` is outside the key's forums", body = ErrorBody),
        (status = 413, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn put_rules(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Validated>, ApiError> {
    let key = authorize(&app, &headers, ADMIN).await?;
    let forum = layer(query.as_deref())?;
    let toml = body_text(&body)?;
    Ok(Json(app.put_rules(&key, &forum, toml).await.map_err(ApiError::query)?))
}

/// Deletes a layer, returning its forum to the layers beneath. Refused
/// (400, like a replacement) when the layers left would not compile.
#[utoipa::path(
    delete,
    path = "/v1/rules",
    params(LayerQuery),
    responses(
        (status = 200, description = "The layer is deleted; the rule sets now in force for its forum and the new rules version", body = Validated),
        (status = 400, description = "The layers left would not compile, or `forum` is not a forum id", body = ErrorBody),
        (status = 404, description = "No such layer", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an admin key, or `forum` is outside the key's forums", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn delete_rules(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Validated>, ApiError> {
    let key = authorize(&app, &headers, ADMIN).await?;
    let forum = layer(query.as_deref())?;
    Ok(Json(app.delete_rules(&key, &forum).await.map_err(ApiError::query)?))
}

/// Every key, revoked ones included.
#[utoipa::path(
    get,
    path = "/v1/keys",
    responses(
        (status = 200, description = "Every key, revoked ones included (tokens are never shown again)", body = [KeyView]),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_keys(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Vec<KeyView>>, ApiError> {
    let key = authorize(&app, &headers, ADMIN).await?;
    Ok(Json(app.list_keys(&key).await?))
}

/// Creates a key; the answer holds its token, which is shown only once.
#[utoipa::path(
    post,
    path = "/v1/keys",
    request_body = NewKeyInput,
    responses(
        (status = 201, description = "The new key with its token, shown only this once", body = KeyView),
        (status = 400, description = "Not a key request; `field` names what is wrong", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create_key(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<KeyView>), ApiError> {
    let key = authorize(&app, &headers, ADMIN).await?;
    let input: NewKeyInput = read_json(&body)?;
    Ok((StatusCode::CREATED, Json(app.create_key(&key, input).await?)))
}

/// Sets a key's display name or contact (revoked keys too: their audit
/// entries still name them). Names show at once on this instance, on the
/// others within their `key_cache_ms`.
#[utoipa::path(
    patch,
    path = "/v1/keys/{id}",
    params(("id" = String, Path, description = "Key id (`key_…`)")),
    request_body = NameKeyInput,
    responses(
        (status = 200, description = "The key with its new name and contact", body = KeyView),
        (status = 400, description = "A name or contact that is too long or has control characters; `field` names it", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn name_key(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<KeyView>, ApiError> {
    let key = authorize(&app, &headers, ADMIN).await?;
    let id = path_segment(path)?;
    let input: NameKeyInput = read_json(&body)?;
    Ok(Json(app.name_key(&key, &id, input).await?))
}

/// Revokes a key. This instance refuses it from the next request; the
/// others within their `key_cache_ms` (1 s by default).
#[utoipa::path(
    delete,
    path = "/v1/keys/{id}",
    params(("id" = String, Path, description = "Key id (`key_…`)")),
    responses(
        (status = 200, description = "The key, now revoked", body = KeyView),
        (status = 404, description = "No such key, or it is already revoked", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn revoke_key(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<KeyView>, ApiError> {
    let key = authorize(&app, &headers, ADMIN).await?;
    let id = path_segment(path)?;
    Ok(Json(app.revoke_key(&key, &id).await?))
}
