//! What forum software calls: score (inline, nothing stored), submit
//! (scored, stored, queued when needed) and report (a community flag).
//! The forum is always the key's, never the body's.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use moderation_core::{Error as CoreError, Post, Verdict};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, ErrorBody, MAX_ID_BYTES, MAX_NOTE_BYTES, authorize, body_text, check_text, read_json};
use crate::keys::{KeyRecord, Role};
use crate::queue::{Scored, Status};
use crate::store::{Item, Report};

/// Reads a post, the forum being the key's.
fn read_post(key: &KeyRecord, body: &Result<Bytes, BytesRejection>) -> Result<Post, ApiError> {
    let text = body_text(body)?;
    let mut post = Post::from_json(text).map_err(|e| match e {
        CoreError::Post { message, field } => ApiError::bad("invalid_json", message, field),
        other => ApiError::bad("invalid_json", other.to_string(), None),
    })?;
    if post.id.is_empty() {
        return Err(ApiError::bad("invalid_json", "the post id is empty", Some("id".into())));
    }
    check_text("id", &post.id, MAX_ID_BYTES)?;
    if let Some(author) = &post.author {
        check_text("author.id", &author.id, MAX_ID_BYTES)?;
    }
    post.forum = key.forums.first().cloned();
    Ok(post)
}

/// Scores on the blocking pool: it is CPU work.
async fn score_post(state: &AppState, post: Post) -> Result<(Post, Verdict), ApiError> {
    let engine = state.engine.get();
    let (post, verdict) = tokio::task::spawn_blocking(move || {
        let v = engine.score(&post);
        (post, v)
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "scoring was interrupted"))?;
    crate::metrics::verdict(&verdict);
    Ok((post, verdict))
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
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Verdict>, ApiError> {
    let key = authorize(&state, &headers, &[Role::Forum]).await?;
    let post = read_post(&key, &body)?;
    Ok(Json(score_post(&state, post).await?.1))
}

/// What a submission did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    /// The queue's id for the post.
    pub item_id: i64,
    /// Where it is now (`allowed`, `pending`, `rejected`, …).
    pub status: Status,
    /// Its version (grows with every change).
    pub version: i64,
    /// Whether this was its first submission.
    pub created: bool,
    /// Whether anything changed (an identical resubmission changes nothing).
    pub changed: bool,
    /// The verdict (secrets masked as in every verdict).
    pub verdict: Verdict,
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
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 503, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let key = authorize(&state, &headers, &[Role::Forum]).await?;
    let post = read_post(&key, &body)?;
    let forum = post.forum.clone().unwrap_or_default();
    let (post, verdict) = score_post(&state, post).await?;
    let scored = Scored::new(&forum, post, verdict);
    let verdict = scored.verdict.clone();
    let outcome = state.writer.submit(scored, &key.id).await?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(Submitted {
            item_id: outcome.item.id,
            status: outcome.item.status,
            version: outcome.item.version,
            created: outcome.created,
            changed: outcome.changed,
            verdict,
        }),
    ))
}

/// A community flag on a submitted post.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReportRequest {
    /// The forum's id of the reported post (submitted before).
    pub post_id: String,
    /// The forum's id of the reporting user.
    pub reporter_id: String,
    /// Their trust level (0–4 on Discourse): weights the report.
    #[serde(default)]
    pub trust_level: Option<u8>,
    /// Why (`spam`, `scam`, `offensive`, …).
    pub reason: String,
    /// Free text.
    #[serde(default)]
    pub note: String,
}

/// What a report did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reported {
    /// Whether it counted (a user's second report on a post does not).
    pub counted: bool,
    /// The item after the report.
    pub item: Item,
}

/// Records a community report. Its weight (by the reporter's trust level)
/// raises the item's priority, and an allowed post enters the queue once
/// its reports reach the configured weight.
#[utoipa::path(
    post,
    path = "/v1/reports",
    request_body = ReportRequest,
    responses(
        (status = 200, body = Reported),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "The forum never submitted that post", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn report(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Reported>, ApiError> {
    let key = authorize(&state, &headers, &[Role::Forum]).await?;
    let req: ReportRequest = read_json(&body)?;
    if req.reason.trim().is_empty() {
        return Err(ApiError::bad("invalid_json", "a report needs a reason", Some("reason".into())));
    }
    check_text("post_id", &req.post_id, MAX_ID_BYTES)?;
    check_text("reporter_id", &req.reporter_id, MAX_ID_BYTES)?;
    check_text("reason", &req.reason, MAX_ID_BYTES)?;
    check_text("note", &req.note, MAX_NOTE_BYTES)?;
    let forum = key.forums.first().cloned().unwrap_or_default();
    let engine = state.engine.get();
    let report = Report {
        reporter_id: req.reporter_id,
        trust_level: req.trust_level,
        reason: crate::queue::mask_secrets(&engine, req.reason),
        note: crate::queue::mask_secrets(&engine, req.note),
        created_at: 0,
        weight: 0.0,
    };
    match state.store.report(&forum, &req.post_id, &report, &key.id, &state.config.queue, state.now()).await? {
        Some((item, counted)) => Ok(Json(Reported { counted, item })),
        None => Err(ApiError::not_found(format!("post `{}` was never submitted by this forum", req.post_id))),
    }
}
