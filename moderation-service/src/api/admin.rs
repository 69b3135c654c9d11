//! Administration: rule layers (read and validate for moderators, replace
//! for admins), API keys (admins), and `/metrics`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{
    ApiError, AppState, ErrorBody, authorize, bearer, body_text, check_text, path_segment, read_json, read_query,
};
use crate::keys::{NewKey, Role};
use crate::store::RuleLayer;

const STAFF: &[Role] = &[Role::Moderator, Role::Admin];
const ADMIN: &[Role] = &[Role::Admin];

/// Prometheus metrics. Needs the configured `metrics_token` as a bearer
/// token, or an admin key.
#[utoipa::path(
    get,
    path = "/metrics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let by_token = match (&state.config.metrics_token, bearer(&headers)) {
        (Some(expected), Ok(given)) => crate::keys::same_secret(expected.as_bytes(), given.as_bytes()),
        _ => false,
    };
    if !by_token {
        authorize(&state, &headers, ADMIN).await?;
    }
    let Some(handle) = crate::metrics::handle() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "metrics are not recorded in this process",
        ));
    };
    let text = crate::metrics::render(&handle, &state.store, state.clock.as_ref()).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

/// Which layer a rules request is about.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LayerQuery {
    /// The forum whose layer it is; absent for the layer every forum gets.
    pub forum: Option<String>,
}

/// The rules in force.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RulesView {
    /// The stored rules version (bumped by every replacement).
    pub version: i64,
    /// The version this instance has loaded (equal once it has polled).
    pub loaded_version: i64,
    /// The layered rule sets for posts of no particular forum (`default@…+…`).
    pub rules: String,
    /// Stored layers, on top of the built-in default pack: to a moderator
    /// scoped to some forums, those forums' layers and the every-forum one.
    pub layers: Vec<RuleLayer>,
}

/// Whether `key` may read or validate the layer of `forum` (`''`: the
/// every-forum layer, which every moderator may).
fn may_see_layer(key: &crate::keys::KeyRecord, forum: &str) -> bool {
    forum.is_empty() || key.forums.is_empty() || key.forums.iter().any(|f| f == forum)
}

/// The stored rule layers and what this instance has loaded. A moderator
/// scoped to some forums sees their layers and the every-forum layer only.
#[utoipa::path(
    get,
    path = "/v1/rules",
    responses((status = 200, body = RulesView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn rules(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<RulesView>, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let (version, mut layers) = state.store.rule_layers().await?;
    layers.retain(|l| may_see_layer(&key, &l.forum));
    Ok(Json(RulesView {
        version,
        loaded_version: state.engine.version(),
        rules: state.engine.get().rules_version(None).to_string(),
        layers,
    }))
}

/// A valid rule set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Validated {
    /// Always true (invalid sets are 400s).
    pub valid: bool,
    /// The layered versions the set would give its forum's posts.
    pub rules: String,
    /// The stored rules version after the change (replacement only).
    pub version: Option<i64>,
}

/// Compiles `toml` as `forum`'s layer on top of the stored layers (or,
/// with `None`, the stored layers without `forum`'s).
async fn check(state: &AppState, forum: &str, toml: Option<&str>) -> Result<String, ApiError> {
    let (_, layers) = state.store.rule_layers().await?;
    let built = match toml {
        Some(t) => state.engine.build(layers, Some((forum.to_string(), t.to_string()))).await,
        None => state.engine.build_without(layers, forum).await,
    };
    let engine = built.map_err(|e| match e {
        moderation_core::Error::Rules(r) => {
            let mut err = ApiError::bad("invalid_rules", r.to_string(), None);
            err.detail.line = r.line;
            err.detail.rule_id = r.rule_id;
            err
        }
        other => ApiError::bad("invalid_rules", other.to_string(), None),
    })?;
    Ok(engine.rules_version(Some(forum).filter(|f| !f.is_empty())).to_string())
}

fn layer(query: Option<&str>) -> Result<String, ApiError> {
    let q: LayerQuery = read_query(query)?;
    match q.forum {
        Some(f) if !crate::keys::valid_forum_id(&f) => Err(ApiError::bad(
            "invalid_query",
            format!("`{f}` is not a forum id (letters, digits, `-`, `_`, `.`)"),
            Some("forum".into()),
        )),
        f => Ok(f.unwrap_or_default()),
    }
}

/// Validates a rule set (TOML body) as a layer without saving it. Errors
/// give the line and rule id.
#[utoipa::path(
    post,
    path = "/v1/rules/validate",
    params(LayerQuery),
    request_body(content = String, content_type = "application/toml"),
    responses((status = 200, body = Validated), (status = 400, description = "`line` and `rule_id` locate the error", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "Not a moderator or admin key, or `forum` is outside the key's forums", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn validate_rules(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Validated>, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let forum = layer(query.as_deref())?;
    if !may_see_layer(&key, &forum) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this key is not scoped to forum `{forum}`"),
        ));
    }
    let rules = check(&state, &forum, Some(body_text(&body)?)).await?;
    Ok(Json(Validated { valid: true, rules, version: None }))
}

/// Replaces a layer (TOML body) after validating it. This instance uses it
/// at once; the others within their `rules_poll_ms`.
#[utoipa::path(
    put,
    path = "/v1/rules",
    params(LayerQuery),
    request_body(content = String, content_type = "application/toml"),
    responses((status = 200, body = Validated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn put_rules(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Validated>, ApiError> {
    let key = authorize(&state, &headers, ADMIN).await?;
    let forum = layer(query.as_deref())?;
    let toml = body_text(&body)?;
    check_text("body", toml, usize::MAX)?;
    let rules = check(&state, &forum, Some(toml)).await?;
    let version = state.store.put_rule_layer(&forum, Some(toml), &key.id, state.now()).await?;
    state.engine.refresh(&state.store).await?;
    tracing::info!(forum, version, by = key.id, "rule layer replaced");
    Ok(Json(Validated { valid: true, rules, version }))
}

/// Deletes a layer, returning its forum to the layers beneath. Refused
/// (400, like a replacement) when the layers left would not compile.
#[utoipa::path(
    delete,
    path = "/v1/rules",
    params(LayerQuery),
    responses((status = 200, body = Validated), (status = 400, description = "The layers left would not compile", body = ErrorBody), (status = 404, description = "No such layer", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn delete_rules(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Validated>, ApiError> {
    let key = authorize(&state, &headers, ADMIN).await?;
    let forum = layer(query.as_deref())?;
    // The layers left must still compile (another layer may `use` a
    // condition this one defines).
    check(&state, &forum, None).await?;
    let version = state
        .store
        .put_rule_layer(&forum, None, &key.id, state.now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no stored layer for `{forum}`")))?;
    state.engine.refresh(&state.store).await?;
    let rules = state.engine.get().rules_version(Some(forum.as_str()).filter(|f| !f.is_empty())).to_string();
    Ok(Json(Validated { valid: true, rules, version: Some(version) }))
}

/// A key as listed (never its token).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// `key_…`.
    pub id: String,
    /// forum, moderator or admin.
    pub role: String,
    /// Forums it is scoped to (empty: every forum).
    pub forums: Vec<String>,
    /// A note for operators.
    pub label: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, when revoked.
    pub revoked_at: Option<i64>,
    /// The token: only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl KeyView {
    fn new(k: crate::keys::KeyRecord, token: Option<String>) -> KeyView {
        KeyView {
            id: k.id,
            role: k.role.as_str().into(),
            forums: k.forums,
            label: k.label,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            token,
        }
    }
}

/// Every key, revoked ones included.
#[utoipa::path(
    get,
    path = "/v1/keys",
    responses((status = 200, body = [KeyView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn list_keys(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<Vec<KeyView>>, ApiError> {
    authorize(&state, &headers, ADMIN).await?;
    Ok(Json(state.store.list_keys().await?.into_iter().map(|k| KeyView::new(k, None)).collect()))
}

/// A key to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateKey {
    /// forum, moderator or admin.
    pub role: String,
    /// Exactly one for a forum key; any number (none = every forum) for a moderator.
    #[serde(default)]
    pub forums: Vec<String>,
    /// A note for operators.
    #[serde(default)]
    pub label: String,
}

/// Creates a key; the answer holds its token, which is shown only once.
#[utoipa::path(
    post,
    path = "/v1/keys",
    request_body = CreateKey,
    responses((status = 201, body = KeyView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn create_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<KeyView>), ApiError> {
    authorize(&state, &headers, ADMIN).await?;
    let req: CreateKey = read_json(&body)?;
    check_text("label", &req.label, 1_000)?;
    let role = Role::parse(&req.role).map_err(|e| ApiError::bad("invalid_json", e.to_string(), Some("role".into())))?;
    let new = NewKey { role, forums: req.forums, label: req.label };
    new.validate().map_err(|e| ApiError::bad("invalid_json", e.to_string(), Some("forums".into())))?;
    let (record, token) = state.store.create_key(&new, state.now()).await?;
    Ok((StatusCode::CREATED, Json(KeyView::new(record, Some(token)))))
}

/// Revokes a key. This instance refuses it from the next request; the
/// others within their `key_cache_ms` (1 s by default).
#[utoipa::path(
    delete,
    path = "/v1/keys/{id}",
    params(("id" = String, Path, description = "Key id (`key_…`)")),
    responses((status = 200, body = KeyView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn revoke_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<KeyView>, ApiError> {
    authorize(&state, &headers, ADMIN).await?;
    let id = path_segment(path)?;
    if !state.store.revoke_key(&id, state.now()).await? {
        return Err(ApiError::not_found(format!("no live key `{id}`")));
    }
    state.keys.clear();
    let key = state
        .store
        .list_keys()
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no key `{id}`")))?;
    Ok(Json(KeyView::new(key, None)))
}
