//! The campaign page: a wave of near-duplicate posts with its accounts and
//! shared evidence, decided as one (and, optionally, every account banned
//! or suspended with it).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{when, who};
use super::{Moderator, UiError, form, html, moderator, render, sentence};
use crate::accounts::{AccountAction, AccountInput};
use crate::app::{App, AppError, CampaignDecision};
use crate::review::Action;
use crate::store::CampaignDetail;

#[derive(askama::Template)]
#[template(path = "campaign.html")]
struct CampaignPage {
    page: super::Page,
    c: CampaignDetail,
    error: Option<String>,
    sample: Option<String>,
    first_seen: String,
    last_seen: String,
    decided: Option<String>,
    /// (item id, post id, status, author, joined, held)
    members: Vec<(Option<i64>, String, String, String, String, bool)>,
    reasons: [&'static str; 3],
}

fn campaign_id(path: Result<Path<String>, PathRejection>) -> Result<i64, UiError> {
    path.ok()
        .and_then(|p| p.0.parse().ok())
        .ok_or_else(|| UiError::Bad(StatusCode::NOT_FOUND, "No such campaign.".into()))
}

async fn campaign_page(state: &App, m: &Moderator, id: i64, error: Option<String>) -> Result<Response, UiError> {
    let c = match state.campaign(&m.key, id).await {
        Ok(c) => c,
        Err(AppError::NotFound(_)) => return Err(UiError::Bad(StatusCode::NOT_FOUND, "No such campaign.".into())),
        Err(e) => return Err(e.into()),
    };
    let first_item = c.posts.iter().find_map(|p| p.item_id);
    let sample = match first_item {
        Some(item) => state
            .store
            .item(item, &m.key.forums, state.now())
            .await?
            .map(|i| render::opening(i.post.title.as_deref(), &i.post.body, 400)),
        None => None,
    };
    let members = c
        .posts
        .iter()
        .map(|p| {
            let status = p.status.clone().unwrap_or_else(|| "not stored".into());
            (p.item_id, render::defang(&p.post_id), status, p.author.clone(), when(p.at), p.held)
        })
        .collect();
    let decided = c.campaign.decided_by.as_ref().map(|by| who(by, c.campaign.decided_by_name.as_deref()));
    Ok(html(&CampaignPage {
        page: m.page(),
        error,
        sample,
        first_seen: when(c.campaign.first_seen),
        last_seen: when(c.campaign.last_seen),
        decided,
        members,
        reasons: ["scam", "spam", "ok"],
        c,
    }))
}

/// One campaign.
pub(super) async fn campaign(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let id = campaign_id(path)?;
    campaign_page(&state, &m, id, None).await
}

#[derive(Deserialize)]
struct CampaignForm {
    action: String,
    reason: String,
    #[serde(default)]
    note: String,
    version: i64,
    /// `none`, `ban` or `suspend` (for `suspend_hours`).
    #[serde(default)]
    accounts: String,
    #[serde(default)]
    suspend_hours: String,
}

/// Decides the campaign as shown (refused if it changed since).
pub(super) async fn decide(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let id = campaign_id(path)?;
    let f: CampaignForm = form(&body, &m.csrf)?;
    let action = match f.action.as_str() {
        "approve" => Action::Approve,
        "remove" => Action::Remove,
        "escalate" => Action::Escalate,
        _ => return campaign_page(&state, &m, id, Some("Choose approve, remove or escalate.".into())).await,
    };
    let account = match (f.accounts.as_str(), f.suspend_hours.trim().parse::<u32>().ok()) {
        ("" | "none", _) => None,
        ("ban", _) => Some(AccountInput { action: AccountAction::Ban, duration_hours: None, remove_pending: true }),
        ("suspend", Some(h)) => {
            Some(AccountInput { action: AccountAction::Suspend, duration_hours: Some(h), remove_pending: true })
        }
        _ => return campaign_page(&state, &m, id, Some("Give the suspension in whole hours.".into())).await,
    };
    let d = CampaignDecision { action, reason: f.reason, note: f.note, expected_version: f.version, account };
    let problem = match state.decide_campaign(&m.key, id, &d).await {
        Ok(_) => return Ok(Redirect::to(&format!("/ui/campaigns/{id}")).into_response()),
        Err(AppError::CampaignChanged { current }) => {
            format!("Posts joined or someone decided it while you looked (now version {current}); check it again.")
        }
        Err(e @ AppError::Invalid { .. }) => sentence(&e.to_string()),
        Err(e) => return Err(e.into()),
    };
    campaign_page(&state, &m, id, Some(problem)).await
}
