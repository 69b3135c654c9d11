//! What moderators use: the queue, claims, decisions, the audit log and
//! the export of decisions as labelled examples. Moderator keys scoped to
//! forums see only those forums (other items are 404s, not 403s, so ids
//! do not reveal what exists elsewhere).

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{ApiError, ErrorBody, ErrorDetail, authorize, path_segment, read_json, read_query};
use crate::app::{App, AppError, AuditInput, ClaimNextInput, ExportInput, ItemDetail, ListInput, QueuePage, STAFF};
use crate::keys::KeyRecord;
use crate::review::{Action, DecisionInput, Status};
use crate::store::{AuditEntry, Item};

/// The staff key behind a request and the id its path names (`what`: the
/// kind of thing, for the 404 when the id is not a number).
pub(super) async fn staff_and_id(
    app: &App,
    headers: &HeaderMap,
    path: Result<Path<String>, PathRejection>,
    what: &str,
) -> Result<(KeyRecord, i64), ApiError> {
    let key = authorize(app, headers, STAFF).await?;
    let raw = path_segment(path)?;
    let id = raw.parse().map_err(|_| ApiError::from(AppError::NotFound(format!("no {what} `{raw}`"))))?;
    Ok((key, id))
}

/// Lists items in queue order (priority from score and reports, then
/// age), with filters and cursor pagination.
#[utoipa::path(
    get,
    path = "/v1/queue",
    params(ListInput),
    responses(
        (status = 200, description = "A page of items in queue order; `next` is the cursor of the next page", body = QueuePage),
        (status = 400, description = "A query parameter is not valid (`invalid_query`); `field` names it", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<QueuePage>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let input: ListInput = read_query(query.as_deref())?;
    Ok(Json(app.list(&key, input).await.map_err(ApiError::query)?))
}

/// Claims the next unclaimed items at the head of the queue. Concurrent
/// moderators, on any number of instances, never get the same item.
#[utoipa::path(
    post,
    path = "/v1/queue/claim",
    request_body = ClaimNextInput,
    responses((status = 200, description = "The claimed items (none when the queue is empty)", body = QueuePage),
              (status = 400, description = "The body is not valid; `field` names what is wrong", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn claim_next(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<QueuePage>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let input: ClaimNextInput = if body.as_ref().is_ok_and(|b| b.iter().all(u8::is_ascii_whitespace)) {
        ClaimNextInput::default()
    } else {
        read_json(&body)?
    };
    Ok(Json(QueuePage { items: app.claim_next(&key, input).await?, next: None }))
}

/// An item: post (secrets masked), verdict, reports and audit log.
#[utoipa::path(
    get,
    path = "/v1/items/{id}",
    params(("id" = i64, Path, description = "Item id")),
    responses(
        (status = 200, description = "The item with its post (secrets masked), verdict, reports and audit log", body = ItemDetail),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such item in the key's forums", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn item(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ItemDetail>, ApiError> {
    let (key, id) = staff_and_id(&app, &headers, path, "item").await?;
    Ok(Json(app.item(&key, id).await?))
}

/// Claims an item (or renews one's own claim) for the configured lease.
#[utoipa::path(
    post,
    path = "/v1/items/{id}/claim",
    params(("id" = i64, Path, description = "Item id")),
    responses(
        (status = 200, description = "The item, claimed by this key for the lease", body = Item),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such item in the key's forums", body = ErrorBody),
        (status = 409, description = "Held by another moderator (`claimed`; `claim` says by whom and until when)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn claim(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Item>, ApiError> {
    let (key, id) = staff_and_id(&app, &headers, path, "item").await?;
    Ok(Json(app.claim(&key, id).await?))
}

/// Gives up one's claim on an item.
#[utoipa::path(
    post,
    path = "/v1/items/{id}/release",
    params(("id" = i64, Path, description = "Item id")),
    responses(
        (status = 200, description = "The item, not claimed by this key any more", body = Item),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such item in the key's forums", body = ErrorBody),
        (status = 409, description = "Held by another moderator (`claimed`; `claim` says by whom and until when)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn release(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Item>, ApiError> {
    let (key, id) = staff_and_id(&app, &headers, path, "item").await?;
    Ok(Json(app.release(&key, id).await?))
}

/// Decides an item: approve (a restore, for a rejected or removed post),
/// remove or escalate, with a reason code and a note. Releases the claim,
/// records it in the audit log and queues the webhook to the forum.
#[utoipa::path(
    post,
    path = "/v1/items/{id}/decision",
    params(("id" = i64, Path, description = "Item id")),
    request_body = DecisionInput,
    responses(
        (status = 200, description = "The item after the decision", body = Item),
        (status = 400, description = "Not a decision; `field` names what is wrong", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such item in the key's forums", body = ErrorBody),
        (status = 409, description = "Claimed by another moderator, changed since (`expected_version`), or already in that status", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn decide(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Item>, ApiError> {
    let (key, id) = staff_and_id(&app, &headers, path, "item").await?;
    let d: DecisionInput = read_json(&body)?;
    Ok(Json(app.decide(&key, id, &d).await?))
}

/// One decision for many items.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BulkDecision {
    /// Item ids (at most 500).
    pub items: Vec<i64>,
    /// approve, remove or escalate.
    pub action: Action,
    /// Reason code.
    pub reason: String,
    /// Free text.
    #[serde(default)]
    pub note: String,
}

/// The outcome for one item of a bulk decision.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkResult {
    /// The item.
    pub item_id: i64,
    /// Its status after, when decided.
    pub status: Option<Status>,
    /// Its version after, when decided.
    pub version: Option<i64>,
    /// Why not, when not.
    pub error: Option<ErrorDetail>,
}

/// Applies one decision to many items, each in its own transaction; the
/// answer says per item whether it was decided or why not.
#[utoipa::path(
    post,
    path = "/v1/decisions",
    request_body = BulkDecision,
    responses(
        (status = 200, description = "Per item, in the order given: its status and version after the decision, or why it was not decided", body = [BulkResult]),
        (status = 400, description = "Not a bulk decision, or more than 500 items; `field` names what is wrong", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn decide_many(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<BulkResult>>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let req: BulkDecision = read_json(&body)?;
    let d =
        DecisionInput { action: req.action, reason: req.reason, note: req.note, expected_version: None, account: None };
    let results = app.decide_many(&key, &req.items, &d).await?;
    Ok(Json(results.into_iter().map(BulkResult::from).collect()))
}

impl From<crate::app::BulkResult> for BulkResult {
    fn from(r: crate::app::BulkResult) -> BulkResult {
        match r.outcome {
            Ok(item) => {
                BulkResult { item_id: r.item_id, status: Some(item.status), version: Some(item.version), error: None }
            }
            Err(e) => {
                BulkResult { item_id: r.item_id, status: None, version: None, error: Some(ApiError::from(e).detail()) }
            }
        }
    }
}

/// The audit log, newest first: every submission, edit, report, claim,
/// release and decision. The database refuses to change or delete entries.
#[utoipa::path(
    get,
    path = "/v1/audit",
    params(AuditInput),
    responses(
        (status = 200, description = "Audit entries, newest first", body = [AuditEntry]),
        (status = 400, description = "A query parameter is not valid (`invalid_query`); `field` names it", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn audit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let input: AuditInput = read_query(query.as_deref())?;
    Ok(Json(app.audit(&key, input).await.map_err(ApiError::query)?))
}

/// Moderator decisions as labelled examples, one JSON post per line in the
/// format `moderation train` reads (`labels` per category), in decision
/// order. Approved posts are labelled all-zero; removed posts whose reason
/// code names a category (`scam`, `spam`, `misinformation`, `exposure`) are
/// labelled with it; other removals carry no category and are left out.
/// Leaked secrets are starred out as everywhere. Each line is the post as
/// it was when decided; decisions appear once they are 10 s old.
#[utoipa::path(
    get,
    path = "/v1/export",
    params(ExportInput),
    responses((status = 200, description = "JSON lines", content_type = "application/x-ndjson", body = String),
              (status = 400, description = "A query parameter is not valid (`invalid_query`); `field` names it", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn export(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let input: ExportInput = read_query(query.as_deref())?;
    let start = app.export_start(&key, &input).map_err(ApiError::query)?;
    let stream = futures_util::stream::unfold(Some(start), move |page| {
        let app = app.clone();
        async move {
            match app.export_page(&page?).await {
                // A page of removals without a category has no lines but
                // may not be the last.
                Ok((lines, None)) if lines.is_empty() => None,
                Ok((lines, next)) => Some((Ok::<_, std::io::Error>(Bytes::from(lines)), next)),
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(stream)).into_response())
}
