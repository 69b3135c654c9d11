//! Forum models: list and inspect (moderators within their forums), promote,
//! roll back, learn now and import past decisions (admins).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde::Deserialize;

use super::{ApiError, ErrorBody, authorize, body_text, path_segment, read_json, read_query};
use crate::app::{
    ADMIN, App, AppError, Imported, LearnInput, ModelChangeInput, ModelDetail, ModelsView, RollbackInput, RolledBack,
    STAFF,
};
use crate::learner::LearnOutcome;
use crate::store::ForumModel;

/// Which forum a request is about.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForumQuery {
    /// The forum (a key scoped to one forum may leave it out).
    pub forum: Option<String>,
}

fn model_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let raw = path_segment(path)?;
    raw.parse().map_err(|_| ApiError::from(AppError::NotFound(format!("no model `{raw}`"))))
}

/// The stored forum models (newest first) of the key's forums or of
/// `forum`, the models this instance scores with, any it refused to load,
/// and with `forum` the learner's last run and the forum's label count.
#[utoipa::path(
    get,
    path = "/v1/models",
    operation_id = "list_models",
    params(ForumQuery),
    responses((status = 200, description = "Forum models", body = ModelsView),
              (status = 400, description = "`forum` is not a forum id", body = ErrorBody),
              (status = 401, description = "No key, or an unknown or revoked one", body = ErrorBody),
              (status = 403, description = "Not a moderator or admin key, or `forum` is outside its forums", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<ModelsView>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let q: ForumQuery = read_query(query.as_deref())?;
    Ok(Json(app.models(&key, q.forum.as_deref()).await.map_err(ApiError::query)?))
}

/// One model: its evaluation against the live model when it was trained
/// and what it decided in shadow on live traffic ("would have held these
/// posts").
#[utoipa::path(
    get,
    path = "/v1/models/{id}",
    params(("id" = i64, Path, description = "Model id")),
    responses((status = 200, description = "The model and its shadow verdicts", body = ModelDetail),
              (status = 401, description = "No key, or an unknown or revoked one", body = ErrorBody),
              (status = 403, description = "Not a moderator or admin key", body = ErrorBody),
              (status = 404, description = "No such model in the key's forums", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn get(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ModelDetail>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let id = model_id(path)?;
    Ok(Json(app.model(&key, id).await?))
}

/// Makes a model its forum's live model; the one live before is retired.
/// Audited (`model.promote`, `model.retire`). This instance scores with it
/// at once, the others within their `rules_poll_ms`.
#[utoipa::path(
    post,
    path = "/v1/models/{id}/promote",
    params(("id" = i64, Path, description = "Model id")),
    request_body(content = ModelChangeInput, description = "Optional: a note for the audit log"),
    responses((status = 200, description = "The model, now live", body = ForumModel),
              (status = 400, description = "The body is not valid", body = ErrorBody),
              (status = 401, description = "No key, or an unknown or revoked one", body = ErrorBody),
              (status = 403, description = "Not an admin key", body = ErrorBody),
              (status = 404, description = "No such model in the key's forums", body = ErrorBody),
              (status = 409, description = "The model is already live (`conflict`)", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn promote(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ForumModel>, ApiError> {
    let key = authorize(&app, &headers, ADMIN).await?;
    let id = model_id(path)?;
    let input: ModelChangeInput = if body.as_ref().is_ok_and(|b| b.iter().all(u8::is_ascii_whitespace)) {
        Default::default()
    } else {
        read_json(&body)?
    };
    Ok(Json(app.promote_model(&key, id, input).await?))
}

/// Retires a forum's live model and brings back the one live before it
/// (or the base model). Audited (`model.rollback`, `model.restore`).
#[utoipa::path(
    post,
    path = "/v1/models/rollback",
    request_body = RollbackInput,
    responses((status = 200, description = "What is live now (`live: null`: the base model)", body = RolledBack),
              (status = 400, description = "The body is not valid", body = ErrorBody),
              (status = 401, description = "No key, or an unknown or revoked one", body = ErrorBody),
              (status = 403, description = "Not an admin key, or the forum is outside its forums", body = ErrorBody),
              (status = 409, description = "The forum has no live model (`conflict`)", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn rollback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RolledBack>, ApiError> {
    let key = authorize(&app, &headers, ADMIN).await?;
    let input: RollbackInput = read_json(&body)?;
    Ok(Json(app.rollback_model(&key, input).await?))
}

/// Trains a candidate for a forum on its labels now, judges it against the
/// live model and stores it (see the README's "learning" section). Answers
/// when it is done; too few labels or one class only is an outcome, not an
/// error.
#[utoipa::path(
    post,
    path = "/v1/models/learn",
    request_body = LearnInput,
    responses((status = 200, description = "What the learner did", body = LearnOutcome),
              (status = 400, description = "The body is not valid", body = ErrorBody),
              (status = 401, description = "No key, or an unknown or revoked one", body = ErrorBody),
              (status = 403, description = "Not an admin key, or the forum is outside its forums", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn learn(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<LearnOutcome>, ApiError> {
    let key = authorize(&app, &headers, ADMIN).await?;
    let input: LearnInput = read_json(&body)?;
    Ok(Json(app.learn(&key, input).await?))
}

/// Imports a forum's past moderation as labels: JSON lines, each a post
/// with `labels` (`{"spam": 0|1, "scam": 0|1}`, as `GET /v1/export` writes)
/// or with its final `action` (`approve`, `remove`) and `reason`. Posts are
/// stored with leaked secrets starred out. One wrong line refuses the
/// whole import, naming the line.
#[utoipa::path(
    post,
    path = "/v1/labels",
    params(ForumQuery),
    request_body(content = String, content_type = "application/x-ndjson"),
    responses((status = 200, description = "What was stored", body = Imported),
              (status = 400, description = "A line is not a labelled post (`field` is `body`, the message names the line)", body = ErrorBody),
              (status = 401, description = "No key, or an unknown or revoked one", body = ErrorBody),
              (status = 403, description = "Not an admin key, or the forum is outside its forums", body = ErrorBody),
              (status = 413, description = "The body is over the size limit", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn import(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Imported>, ApiError> {
    let key = authorize(&app, &headers, ADMIN).await?;
    let q: ForumQuery = read_query(query.as_deref())?;
    let forum = match (q.forum, key.forums.as_slice()) {
        (Some(f), _) => f,
        (None, [only]) => only.clone(),
        (None, _) => return Err(ApiError::query(AppError::invalid("forum", "name the forum: `?forum=…`"))),
    };
    let text = body_text(&body)?;
    Ok(Json(app.import_labels(&key, &forum, text).await?))
}
