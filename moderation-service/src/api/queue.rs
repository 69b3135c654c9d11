//! What moderators use: the queue, claims, decisions, the audit log and
//! the export of decisions as labelled examples. Moderator keys scoped to
//! forums see only those forums (other items are 404s, not 403s, so ids
//! do not reveal what exists elsewhere).

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use moderation_core::Category;
use serde::{Deserialize, Serialize};

use super::{
    ApiError, AppState, ErrorBody, ErrorDetail, MAX_ID_BYTES, MAX_NOTE_BYTES, authorize, check_forum, check_text,
    path_segment, read_json, read_query, within,
};
use crate::keys::{KeyRecord, Role};
use crate::queue::{Action, DecisionInput, Status};
use crate::store::{
    AuditEntry, AuditFilter, ClaimError, DecideError, Decided, Item, ListFilter, Report, decode_cursor,
};

const STAFF: &[Role] = &[Role::Moderator, Role::Admin];

/// Queue listing parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Status to list (default `pending`).
    pub status: Option<Status>,
    /// Only this top category.
    pub category: Option<Category>,
    /// Only this forum.
    pub forum: Option<String>,
    /// Only items scoring at least this (0–1).
    pub min_score: Option<f64>,
    /// Page size (default 50, at most 500).
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

/// A page of the queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueuePage {
    /// Items, highest priority first, then oldest.
    pub items: Vec<Item>,
    /// Cursor for the next page; `null` at the end.
    pub next: Option<String>,
}

fn filter(
    status: Option<Status>,
    category: Option<Category>,
    forum: Option<String>,
    min_score: Option<f64>,
) -> Result<ListFilter, ApiError> {
    check_forum(forum.as_deref())?;
    let min_score = min_score.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&min_score) {
        return Err(ApiError::bad("invalid_query", "min_score must be between 0 and 1", Some("min_score".into())));
    }
    Ok(ListFilter { status: status.unwrap_or(Status::Pending), category, forum, min_score })
}

/// Lists items in queue order (priority from score and reports, then
/// age), with filters and cursor pagination.
#[utoipa::path(
    get,
    path = "/v1/queue",
    params(ListQuery),
    responses((status = 200, body = QueuePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<QueuePage>, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let q: ListQuery = read_query(query.as_deref())?;
    let limit = within("invalid_query", "limit", q.limit.unwrap_or(50), 1..=500)?;
    let cursor = match &q.cursor {
        Some(c) => Some(
            decode_cursor(c)
                .ok_or_else(|| ApiError::bad("invalid_query", "not a cursor from this API", Some("cursor".into())))?,
        ),
        None => None,
    };
    let f = filter(q.status, q.category, q.forum, q.min_score)?;
    let page = state.store.list(&f, &key.forums, cursor, limit, state.now()).await?;
    Ok(Json(QueuePage { items: page.items, next: page.next }))
}

/// Which items to claim from the head of the queue.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ClaimNext {
    /// Status to claim from (default `pending`; `escalated` for senior moderators).
    #[serde(default)]
    pub status: Option<Status>,
    /// Only this top category.
    #[serde(default)]
    pub category: Option<Category>,
    /// Only this forum.
    #[serde(default)]
    pub forum: Option<String>,
    /// Only items scoring at least this.
    #[serde(default)]
    pub min_score: Option<f64>,
    /// How many (default 1, at most 100).
    #[serde(default)]
    pub count: Option<u32>,
}

/// Claims the next unclaimed items at the head of the queue. Concurrent
/// moderators, on any number of instances, never get the same item.
#[utoipa::path(
    post,
    path = "/v1/queue/claim",
    request_body = ClaimNext,
    responses((status = 200, description = "The claimed items (none when the queue is empty)", body = QueuePage),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn claim_next(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<QueuePage>, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let req: ClaimNext = if body.as_ref().is_ok_and(|b| b.iter().all(u8::is_ascii_whitespace)) {
        ClaimNext::default()
    } else {
        read_json(&body)?
    };
    let count = within("invalid_json", "count", req.count.unwrap_or(1), 1..=100)?;
    let f = filter(req.status, req.category, req.forum, req.min_score)?;
    let policy = &state.config.queue;
    let items = state.store.claim_next(&f, &key.forums, &key.id, count, policy.lease_ms(), state.now()).await?;
    Ok(Json(QueuePage { items, next: None }))
}

/// One item with everything a moderator needs to decide.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemDetail {
    /// The item, with its verdict.
    pub item: Item,
    /// Community reports, oldest first.
    pub reports: Vec<Report>,
    /// Its audit log, newest first.
    pub audit: Vec<AuditEntry>,
}

fn item_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(format!("no item `{raw}`")))
}

/// An item: post (secrets masked), verdict, reports and audit log.
#[utoipa::path(
    get,
    path = "/v1/items/{id}",
    params(("id" = i64, Path, description = "Item id")),
    responses((status = 200, body = ItemDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn item(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ItemDetail>, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let id = item_id(&path_segment(path)?)?;
    let item = state
        .store
        .item(id, &key.forums, state.now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no item {id}")))?;
    let reports = state.store.reports(id).await?;
    let audit = state.store.audit(&AuditFilter { item_id: Some(id), ..AuditFilter::default() }, 200).await?;
    Ok(Json(ItemDetail { item, reports, audit }))
}

fn claim_error(e: ClaimError, id: i64) -> ApiError {
    match e {
        ClaimError::NotFound => ApiError::not_found(format!("no item {id}")),
        ClaimError::Held(claim) => held(claim),
    }
}

fn held(claim: crate::store::Claim) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::CONFLICT,
        "claimed",
        format!("item is claimed by {} until {}", claim.by, claim.expires_at),
    );
    e.detail.claim = Some(claim);
    e
}

/// Claims an item (or renews one's own claim) for the configured lease.
#[utoipa::path(
    post,
    path = "/v1/items/{id}/claim",
    params(("id" = i64, Path, description = "Item id")),
    responses((status = 200, body = Item), (status = 404, body = ErrorBody), (status = 409, description = "Held by another moderator", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn claim(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Item>, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let id = item_id(&path_segment(path)?)?;
    let lease = state.config.queue.lease_ms();
    let item =
        state.store.claim(id, &key.id, &key.forums, lease, state.now()).await?.map_err(|e| claim_error(e, id))?;
    Ok(Json(item))
}

/// Gives up one's claim on an item.
#[utoipa::path(
    post,
    path = "/v1/items/{id}/release",
    params(("id" = i64, Path, description = "Item id")),
    responses((status = 200, body = Item), (status = 404, body = ErrorBody), (status = 409, description = "Held by another moderator", body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn release(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Item>, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let id = item_id(&path_segment(path)?)?;
    let item = state.store.release(id, &key.id, &key.forums, state.now()).await?.map_err(|e| claim_error(e, id))?;
    Ok(Json(item))
}

async fn apply(state: &AppState, key: &KeyRecord, id: i64, d: &DecisionInput) -> Result<Item, ApiError> {
    if d.reason.trim().is_empty() {
        return Err(ApiError::bad("invalid_json", "a decision needs a reason code", Some("reason".into())));
    }
    check_text("reason", &d.reason, MAX_ID_BYTES)?;
    check_text("note", &d.note, MAX_NOTE_BYTES)?;
    let item = state.decide(key, id, d).await?.map_err(|e| match e {
        DecideError::NotFound => ApiError::not_found(format!("no item {id}")),
        DecideError::Held(claim) => held(claim),
        DecideError::Stale { current } => {
            ApiError::new(StatusCode::CONFLICT, "stale", format!("the item changed: its version is now {current}"))
        }
        DecideError::NoChange(s) => {
            ApiError::new(StatusCode::CONFLICT, "no_change", format!("the item is already {}", s.as_str()))
        }
    })?;
    Ok(item)
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
        (status = 200, body = Item),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Claimed by another moderator, changed since (`expected_version`), or already in that status", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn decide(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Item>, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let id = item_id(&path_segment(path)?)?;
    let d: DecisionInput = read_json(&body)?;
    Ok(Json(apply(&state, &key, id, &d).await?))
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
    responses((status = 200, body = [BulkResult]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn decide_many(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<BulkResult>>, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let req: BulkDecision = read_json(&body)?;
    if req.items.len() > 500 {
        return Err(ApiError::bad("invalid_json", "at most 500 items per bulk decision", Some("items".into())));
    }
    let d = DecisionInput { action: req.action, reason: req.reason, note: req.note, expected_version: None };
    let mut results = Vec::with_capacity(req.items.len());
    for id in req.items {
        results.push(match apply(&state, &key, id, &d).await {
            Ok(item) => BulkResult { item_id: id, status: Some(item.status), version: Some(item.version), error: None },
            Err(e) if e.status() == StatusCode::SERVICE_UNAVAILABLE => return Err(e),
            Err(e) => BulkResult { item_id: id, status: None, version: None, error: Some(e.detail) },
        });
    }
    Ok(Json(results))
}

/// Audit log parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// One item's entries.
    pub item_id: Option<i64>,
    /// One actor's (a key id, `key_…`).
    pub actor: Option<String>,
    /// One action (`approve`, `remove`, `claimed`, …).
    pub action: Option<String>,
    /// Entries older than this id (the previous page's last id).
    pub before: Option<i64>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// The audit log, newest first: every submission, edit, report, claim,
/// release and decision. The database refuses to change or delete entries.
#[utoipa::path(
    get,
    path = "/v1/audit",
    params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let q: AuditQuery = read_query(query.as_deref())?;
    let limit = within("invalid_query", "limit", q.limit.unwrap_or(100), 1..=1000)?;
    for (field, value) in [("actor", &q.actor), ("action", &q.action)] {
        if let Some(v) = value {
            check_text(field, v, MAX_ID_BYTES)
                .map_err(|e| ApiError::bad("invalid_query", e.detail.message, Some(field.into())))?;
        }
    }
    // Scoped moderators see entries of their forums' items only.
    let f = AuditFilter { item_id: q.item_id, actor: q.actor, action: q.action, before: q.before, forums: key.forums };
    Ok(Json(state.store.audit(&f, limit).await?))
}

/// Export parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Only this forum (required for moderators scoped to several forums).
    pub forum: Option<String>,
    /// Decisions made at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Decisions after this one: `<decided_at>.<item_id>` of the last line
    /// already exported (its `source` field), to resume exactly.
    pub after: Option<String>,
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
    params(ExportQuery),
    responses((status = 200, description = "JSON lines", content_type = "application/x-ndjson", body = String),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn export(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let key = authorize(&state, &headers, STAFF).await?;
    let q: ExportQuery = read_query(query.as_deref())?;
    check_forum(q.forum.as_deref())?;
    let forum = match (&q.forum, key.forums.as_slice()) {
        (Some(f), scoped) if !scoped.is_empty() && !scoped.contains(f) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this key is not scoped to forum `{f}`"),
            ));
        }
        (Some(f), _) => Some(f.clone()),
        (None, []) => None,
        (None, [only]) => Some(only.clone()),
        (None, _) => {
            return Err(ApiError::bad(
                "invalid_query",
                "this key is scoped to several forums: name one",
                Some("forum".into()),
            ));
        }
    };
    let start = match (&q.after, q.since) {
        (Some(a), _) => {
            let (t, id) =
                a.split_once('.').and_then(|(t, i)| Some((t.parse().ok()?, i.parse().ok()?))).ok_or_else(|| {
                    ApiError::bad("invalid_query", "after is `<decided_at>.<item_id>`", Some("after".into()))
                })?;
            (t, id)
        }
        // (decided_at, id) > (since - 1, MAX): decided at or after `since`.
        (None, Some(since)) => (since.saturating_sub(1), i64::MAX),
        (None, None) => (i64::MIN, i64::MAX),
    };
    let stream = futures_util::stream::unfold(Some(start), move |after| {
        let state = state.clone();
        let forum = forum.clone();
        async move {
            let after = after?;
            let until = state.now().saturating_sub(EXPORT_SETTLE_MS);
            match state.store.decided(forum.as_deref(), after, until, 500).await {
                Ok(items) if items.is_empty() => None,
                Ok(items) => {
                    let last = items.last().map(|i| (i.decided_at, i.item_id));
                    let mut out = String::new();
                    for item in &items {
                        if let Some(line) = export_line(item) {
                            out.push_str(&line);
                            out.push('\n');
                        }
                    }
                    let next = if items.len() < 500 { None } else { last };
                    Some((Ok::<_, std::io::Error>(Bytes::from(out)), next))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(stream)).into_response())
}

/// How old a decision must be before it is exported, in ms. Decisions are
/// stamped before their transaction commits, so on PostgreSQL a decision
/// can become visible after a later-stamped one; waiting this long means a
/// resumed export (`after=`) never skips one that committed late.
pub const EXPORT_SETTLE_MS: i64 = 10_000;

/// One exported example, or `None` for a removal without a category.
pub fn export_line(d: &Decided) -> Option<String> {
    let mut labels = serde_json::Map::new();
    let label_of = match d.status {
        Status::Approved => None,
        Status::Removed => Some(Category::ALL.into_iter().find(|c| c.as_str() == d.reason)?),
        _ => return None,
    };
    for c in Category::ALL {
        labels.insert(c.as_str().into(), serde_json::Value::from(u8::from(Some(c) == label_of)));
    }
    let mut line = serde_json::to_value(&d.post).ok()?;
    let obj = line.as_object_mut()?;
    obj.insert("labels".into(), serde_json::Value::Object(labels));
    obj.insert("kind".into(), format!("moderator-{}", d.status.as_str()).into());
    obj.insert(
        "source".into(),
        serde_json::json!({"item_id": d.item_id, "version": d.version, "reason": d.reason,
                           "decided_by": d.decided_by, "decided_at": d.decided_at}),
    );
    serde_json::to_string(&line).ok()
}
