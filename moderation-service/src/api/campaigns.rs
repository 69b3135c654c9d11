//! Campaigns: waves of near-duplicate posts from several accounts, listed,
//! read with their posts and shared evidence, and decided as one. Scoped
//! moderator keys see only their forums' campaigns (others are 404s).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde::Serialize;

use super::moderation::{BulkResult, staff_and_id};
use super::{ApiError, ErrorBody, authorize, read_json, read_query};
use crate::app::{App, CampaignDecision, CampaignsInput, STAFF};
use crate::store::{Campaign, CampaignDetail};

/// Lists campaigns, most recently active first: near-duplicate posts from
/// several accounts, each as one row with its counts.
#[utoipa::path(
    get,
    path = "/v1/campaigns",
    operation_id = "list_campaigns",
    params(CampaignsInput),
    responses(
        (status = 200, description = "Campaigns, most recently active first", body = [Campaign]),
        (status = 400, description = "A query parameter is not valid (`invalid_query`); `field` names it", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Campaign>>, ApiError> {
    let key = authorize(&app, &headers, STAFF).await?;
    let input: CampaignsInput = read_query(query.as_deref())?;
    Ok(Json(app.campaigns(&key, input).await.map_err(ApiError::query)?))
}

/// A campaign with its posts (and their queue items) and what two or more
/// of its accounts share (domains, addresses, hashed contacts).
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}",
    operation_id = "get_campaign",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign, its posts and shared evidence", body = CampaignDetail),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such campaign in the key's forums", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<CampaignDetail>, ApiError> {
    let (key, id) = staff_and_id(&app, &headers, path, "campaign").await?;
    Ok(Json(app.campaign(&key, id).await?))
}

/// What a campaign decision did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignDecided {
    /// The campaign after (`removed`: its new posts are held).
    pub campaign: Campaign,
    /// Per member the decision reached: its status and version after, or
    /// why it was not decided (claimed by another moderator, …). Each has
    /// its own audit entry and webhook.
    pub items: Vec<BulkResult>,
    /// With `account`: every account that posted in the campaign, after the action.
    pub accounts: Vec<crate::accounts::Account>,
}

/// Decides a whole campaign: `remove` takes down every member still up
/// (allowed, pending or escalated), `approve` and `escalate` act on the
/// members waiting in the queue. Refused when the campaign changed since
/// `expected_version`: a post joined, or someone decided it.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/decision",
    operation_id = "decide_campaign",
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = CampaignDecision,
    responses(
        (status = 200, description = "The campaign after, and the outcome per member", body = CampaignDecided),
        (status = 400, description = "Not a campaign decision; `field` names what is wrong", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such campaign in the key's forums", body = ErrorBody),
        (status = 409, description = "The campaign changed since `expected_version` (`stale`)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn decide(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CampaignDecided>, ApiError> {
    let (key, id) = staff_and_id(&app, &headers, path, "campaign").await?;
    let d: CampaignDecision = read_json(&body)?;
    let done = app.decide_campaign(&key, id, &d).await?;
    Ok(Json(CampaignDecided {
        campaign: done.campaign,
        items: done.items.into_iter().map(BulkResult::from).collect(),
        accounts: done.accounts,
    }))
}
