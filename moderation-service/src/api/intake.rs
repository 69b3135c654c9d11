//! What forum software calls: score (inline, nothing stored), submit
//! (scored, stored, queued when needed) and report (a community flag).
//! The forum is always the key's, never the body's.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use moderation_core::{Post, Verdict};

use super::{ApiError, ErrorBody, authorize, body_text, read_json};
use crate::app::{App, Code, FORUM, Forgotten, ReportInput, Reported, Submitted};

/// Reads a post (lone surrogates repaired, except in ids).
fn read_post(body: &Result<Bytes, BytesRejection>) -> Result<Post, ApiError> {
    Post::from_json(body_text(body)?).map_err(|e| match e {
        moderation_core::Error::Post { message, field } => ApiError::bad(Code::InvalidJson, message, field),
        other => ApiError::bad(Code::InvalidJson, other.to_string(), None),
    })
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
pub async fn score(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Verdict>, ApiError> {
    let key = authorize(&app, &headers, FORUM).await?;
    Ok(Json(app.score(&key, read_post(&body)?).await?))
}

/// Scores a post, stores it with its verdict and queues it when the
/// decision is review or hold (auto-rejected posts are kept as `rejected`
/// so moderators can restore them). Idempotent on (forum, post id): a
/// resubmitted post is rescored and its item updated, never duplicated.
/// Leaked secrets are starred out before anything is stored.
#[utoipa::path(
    post,
    path = "/v1/posts",
    request_body = Post,
    responses(
        (status = 201, description = "First submission: stored", body = Submitted),
        (status = 200, description = "Resubmission: rescored and updated (or unchanged)", body = Submitted),
        (status = 400, description = "Not a post; `field` names what is wrong", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not a forum key", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 503, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let key = authorize(&app, &headers, FORUM).await?;
    let submitted = app.submit(&key, read_post(&body)?).await?;
    let status = if submitted.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(submitted)))
}

/// Records a community report. Its weight (by the reporter's trust level)
/// raises the item's priority, and an allowed post enters the queue once
/// its reports reach the configured weight.
#[utoipa::path(
    post,
    path = "/v1/reports",
    request_body = ReportInput,
    responses(
        (status = 200, description = "The report is recorded (`counted`: false for a user's second report on a post), with the item after it", body = Reported),
        (status = 400, description = "Not a report; `field` names what is wrong", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, description = "Not a forum key", body = ErrorBody),
        (status = 404, description = "The forum never submitted that post", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn report(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Reported>, ApiError> {
    let key = authorize(&app, &headers, FORUM).await?;
    let input: ReportInput = read_json(&body)?;
    Ok(Json(app.report(&key, input).await?))
}

/// Erases what the forum's memory holds about one author: the fingerprints
/// and traces of their posts (links, addresses, hashed handles and numbers),
/// so they count in no later wave. Queue items and decisions stay.
#[utoipa::path(
    delete,
    path = "/v1/authors/{forum}/{id}",
    params(("forum" = String, Path, description = "The forum"), ("id" = String, Path, description = "The author id, as the forum sends it")),
    responses(
        (status = 200, description = "Erased; `posts` says how many of their posts memory held (0 when none)", body = Forgotten),
        (status = 400, description = "`forum` is not a forum id, or the id is too long", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not a forum or admin key, or a forum key of another forum", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn forget_author(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<(String, String)>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Forgotten>, ApiError> {
    let key = authorize(&app, &headers, &[crate::keys::Role::Forum, crate::keys::Role::Admin]).await?;
    let (forum, author) =
        path.map(|p| p.0).map_err(|_| ApiError::new(Code::NotFound, "no such author (the path is not valid UTF-8)"))?;
    Ok(Json(app.forget_author(&key, &forum, &author).await?))
}
