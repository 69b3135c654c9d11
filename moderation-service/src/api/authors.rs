//! Authors: one forum account as moderators see it (posts, decisions,
//! trust signals, campaigns, standing, past actions) and the actions they
//! take on it. A key scoped to other forums is refused (403). Erasing an
//! author's memory is `DELETE` on the same path ([`super::intake`]).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Serialize;

use super::moderation::BulkResult;
use super::{ApiError, ErrorBody, authorize, read_json};
use crate::accounts::Account;
use crate::app::{App, AuthorActionInput, AuthorView, Code, STAFF};

/// The forum and author of a path.
fn author_path(path: Result<Path<(String, String)>, PathRejection>) -> Result<(String, String), ApiError> {
    path.map(|p| p.0).map_err(|_| ApiError::new(Code::NotFound, "no such author (the path is not valid UTF-8)"))
}

/// One author of one forum: standing, trust signals, posts per status, the
/// latest 50 posts, campaigns and account actions.
#[utoipa::path(
    get,
    path = "/v1/authors/{forum}/{id}",
    operation_id = "get_author",
    params(("forum" = String, Path, description = "The forum"), ("id" = String, Path, description = "The author id, as the forum sends it")),
    responses(
        (status = 200, description = "The author", body = AuthorView),
        (status = 400, description = "`forum` is not a forum id, or the id is too long", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not a moderator or admin key, or not scoped to this forum", body = ErrorBody),
        (status = 404, description = "The service has never seen this author in this forum", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<AuthorView>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let (forum, author) = author_path(path)?;
    Ok(Json(app.author(&key, &forum, &author).await?))
}

/// What an action on an author did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorActed {
    /// The account after: standing, until, version.
    pub account: Account,
    /// With `remove_pending`: per waiting post, its status and version
    /// after, or why it was not removed (claimed by another moderator, …).
    pub removed: Vec<BulkResult>,
}

/// Silences, suspends, bans or lifts an author: recorded in the audit log
/// and sent to the forum as an `account` webhook (the forum enforces it).
/// With `remove_pending`, their posts waiting in the queue are removed,
/// each as its own decision.
#[utoipa::path(
    post,
    path = "/v1/authors/{forum}/{id}/actions",
    operation_id = "act_on_author",
    params(("forum" = String, Path, description = "The forum"), ("id" = String, Path, description = "The author id, as the forum sends it")),
    request_body = AuthorActionInput,
    responses(
        (status = 200, description = "The account after, and the posts removed with it", body = AuthorActed),
        (status = 400, description = "Not an account action (a suspension without `duration_hours`, a ban with one, …); `field` names what is wrong", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not a moderator or admin key, or not scoped to this forum", body = ErrorBody),
        (status = 409, description = "Another action was taken since `expected_version` (`stale`)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn act(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AuthorActed>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let (forum, author) = author_path(path)?;
    let input: AuthorActionInput = read_json(&body)?;
    let done = app.act_on_author(&key, &forum, &author, &input).await?;
    Ok(Json(AuthorActed { account: done.account, removed: done.removed.into_iter().map(BulkResult::from).collect() }))
}
