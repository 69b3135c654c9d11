//! The author page: one forum account's standing, trust signals, posts,
//! campaigns and past actions, and the form to act on it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{when, who};
use super::{Moderator, UiError, form, html, moderator, render, sentence};
use crate::accounts::AccountAction;
use crate::app::{App, AppError, AuthorActionInput, AuthorView};

#[derive(askama::Template)]
#[template(path = "author.html")]
struct AuthorPage {
    page: super::Page,
    a: AuthorView,
    error: Option<String>,
    until: Option<String>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    /// (item id, opening, status, category, age)
    items: Vec<(i64, String, &'static str, &'static str, String)>,
    /// (when, action, by, from → to, reason, note)
    actions: Vec<(String, String, String, String, String, String)>,
    /// (id, status, members, accounts)
    campaigns: Vec<(i64, String, i64, i64)>,
    latest: Vec<(&'static str, String)>,
}

fn path_ids(path: Result<Path<(String, String)>, PathRejection>) -> Result<(String, String), UiError> {
    path.map(|p| p.0).map_err(|_| UiError::Bad(StatusCode::NOT_FOUND, "No such author.".into()))
}

async fn author_page(
    state: &App,
    m: &Moderator,
    forum: &str,
    author: &str,
    error: Option<String>,
) -> Result<Response, UiError> {
    let a = match state.author(&m.key, forum, author).await {
        Ok(a) => a,
        Err(AppError::NotFound(_)) => return Err(UiError::Bad(StatusCode::NOT_FOUND, "No such author.".into())),
        Err(e) => return Err(e.into()),
    };
    let now = state.now();
    let items = a
        .items
        .iter()
        .map(|i| {
            let opening = render::opening(i.post.title.as_deref(), &i.post.body, 120);
            (i.id, opening, i.status.as_str(), i.category.as_str(), render::age(now, i.created_at))
        })
        .collect();
    let actions = a
        .actions
        .iter()
        .map(|x| {
            let what = match x.duration_hours {
                Some(h) => format!("{} {h} h", x.action),
                None => x.action.clone(),
            };
            let change = format!("{} → {}", x.from_standing, x.to_standing);
            (when(x.at), what, who(&x.actor, x.actor_name.as_deref()), change, x.reason.clone(), x.note.clone())
        })
        .collect();
    let campaigns = a.campaigns.iter().map(|c| (c.id, c.status.clone(), c.members, c.accounts)).collect();
    let mut latest = Vec::new();
    if let Some(l) = &a.trust.latest {
        if let Some(n) = &l.name {
            latest.push(("Display name", render::defang(n)));
        }
        if let Some(d) = l.account_age_days {
            latest.push(("Account age", format!("{d} days")));
        }
        if let Some(t) = l.trust_level {
            latest.push(("Trust level", t.to_string()));
        }
        if let Some(p) = l.post_count {
            latest.push(("Posts on the forum", p.to_string()));
        }
        if let Some(r) = l.prior_removals {
            latest.push(("Prior removals (forum)", r.to_string()));
        }
        if l.is_staff == Some(true) {
            latest.push(("Staff", "yes".into()));
        }
    }
    Ok(html(&AuthorPage {
        page: m.page(),
        error,
        until: a.until.map(when),
        first_seen: a.trust.first_seen.map(when),
        last_seen: a.trust.last_seen.map(when),
        items,
        actions,
        campaigns,
        latest,
        a,
    }))
}

/// One author.
pub(super) async fn author(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let (forum, author) = path_ids(path)?;
    author_page(&state, &m, &forum, &author, None).await
}

#[derive(Deserialize)]
struct ActForm {
    action: String,
    #[serde(default)]
    hours: String,
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    remove_pending: Option<String>,
    version: i64,
}

/// Acts on the author as shown (refused if another action was taken since).
pub(super) async fn act(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let (forum, author) = path_ids(path)?;
    let f: ActForm = form(&body, &m.csrf)?;
    let action = match f.action.as_str() {
        "silence" => AccountAction::Silence,
        "suspend" => AccountAction::Suspend,
        "ban" => AccountAction::Ban,
        "lift" => AccountAction::Lift,
        _ => return author_page(&state, &m, &forum, &author, Some("Choose an action.".into())).await,
    };
    let hours = f.hours.trim();
    let duration_hours = match (hours.is_empty(), hours.parse::<u32>()) {
        (true, _) => None,
        (false, Ok(h)) => Some(h),
        (false, Err(_)) => {
            return author_page(&state, &m, &forum, &author, Some("Give the duration in whole hours.".into())).await;
        }
    };
    let input = AuthorActionInput {
        action,
        duration_hours,
        remove_pending: f.remove_pending.is_some(),
        reason: f.reason,
        note: f.note,
        expected_version: Some(f.version),
    };
    let problem = match state.act_on_author(&m.key, &forum, &author, &input).await {
        Ok(_) => {
            let to = format!("/ui/authors/{}/{}", urlencoding(&forum), urlencoding(&author));
            return Ok(Redirect::to(&to).into_response());
        }
        Err(AppError::AccountChanged { current }) => {
            format!("Someone acted on this account while you looked (now version {current}); check it again.")
        }
        Err(e @ AppError::Invalid { .. }) => sentence(&e.to_string()),
        Err(e) => return Err(e.into()),
    };
    author_page(&state, &m, &forum, &author, Some(problem)).await
}

/// A path segment percent-encoded (everything but unreserved characters).
fn urlencoding(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
