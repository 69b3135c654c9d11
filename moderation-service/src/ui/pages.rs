//! The pages: queue, item, audit log, rules (with a dry run), forum models
//! (with promotion, rollback and "learn now" for admins).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use moderation_core::{Category, Decision, Field, Format};
use serde::Deserialize;

use super::{Moderator, Page, UiError, form, html, moderator, render, sentence};
use crate::app::{
    App, AppError, AuditInput, LearnInput, ListInput, ModelChangeInput, ModelDetail, RollbackInput, in_scope,
};
use crate::keys::Role;
use crate::review::{Action, DecisionInput, Status};
use crate::store::{ForumModel, Item, ModelStatus, RuleLayer};

/// Reason codes offered with a decision; removals naming a category label
/// the export.
const REASONS: [&str; 8] = ["scam", "spam", "misinformation", "exposure", "ok", "off-topic", "abuse", "unsure"];

fn query<T: serde::de::DeserializeOwned + Default>(raw: Option<&str>) -> T {
    // A page with a mangled query string shows its defaults rather than an error.
    raw.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default()
}

fn status_of(s: &str) -> Status {
    Status::parse(s).unwrap_or(Status::Pending)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct QueueQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    forum: String,
    #[serde(default)]
    min_score: String,
    #[serde(default)]
    cursor: String,
}

pub(super) struct Row {
    id: i64,
    opening: String,
    forum: String,
    post_id: String,
    author: Option<String>,
    category: &'static str,
    score: f64,
    score_text: String,
    reports: i64,
    age: String,
    claim: Option<String>,
    /// The post's campaign and how many of its posts this page folds into
    /// this row (the campaign's first post on the page stands for them all).
    campaign: Option<(i64, usize)>,
    /// The author's id, for the link to their page.
    author_id: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "queue.html")]
struct QueuePage {
    page: Page,
    status: &'static str,
    statuses: Vec<&'static str>,
    categories: Vec<&'static str>,
    category: Option<String>,
    forum: String,
    min_score: String,
    counts: Vec<(&'static str, &'static str, i64)>,
    rows: Vec<Row>,
    next: Option<String>,
}

fn row(item: &Item, now: i64) -> Row {
    Row {
        id: item.id,
        opening: render::opening(item.post.title.as_deref(), &item.post.body, 140),
        forum: item.forum.clone(),
        post_id: item.post_id.clone(),
        author: item.post.author.as_ref().map(|a| render::defang(a.name.as_deref().unwrap_or(&a.id))),
        category: item.category.as_str(),
        score: item.score,
        score_text: format!("{:.2}", item.score),
        reports: item.report_count,
        age: render::age(now, item.created_at),
        claim: item.claim.as_ref().map(|c| who(&c.by, c.by_name.as_deref())),
        campaign: None,
        author_id: item.author_id.clone(),
    }
}

/// The rows of a queue page with each campaign's posts folded into one row
/// (at its first post's place), so a wave is one line to decide.
async fn fold_campaigns(state: &App, items: &[Item], now: i64) -> Result<Vec<Row>, UiError> {
    let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
    let of: std::collections::HashMap<i64, i64> = state.store.campaigns_of_items(&ids).await?.into_iter().collect();
    let mut per_campaign: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    for c in of.values() {
        *per_campaign.entry(*c).or_default() += 1;
    }
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        let mut r = row(item, now);
        if let Some(&c) = of.get(&item.id) {
            if !seen.insert(c) {
                continue;
            }
            r.campaign = Some((c, per_campaign[&c]));
        }
        rows.push(r);
    }
    Ok(rows)
}

/// The queue: counts, filters, rows in priority order.
pub(super) async fn queue(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let q: QueueQuery = query(raw.as_deref());
    let status = status_of(&q.status);
    let category = Category::ALL.into_iter().find(|c| c.as_str() == q.category);
    let forum = Some(q.forum.trim().to_string()).filter(|f| !f.is_empty() && crate::keys::valid_forum_id(f));
    let min_score = q.min_score.trim().parse::<f64>().ok().filter(|s| (0.0..=1.0).contains(s)).unwrap_or(0.0);
    // A mangled cursor shows the first page rather than an error.
    let cursor = Some(q.cursor).filter(|c| crate::store::decode_cursor(c).is_some());
    let now = state.now();
    let input = ListInput {
        status: Some(status),
        category,
        forum: forum.clone(),
        min_score: Some(min_score),
        limit: Some(50),
        cursor,
    };
    let page = state.list(&m.key, input).await?;
    let counts = state.queue_counts(&m.key).await?.into_iter().map(|(s, c, n)| (s.as_str(), c.as_str(), n)).collect();
    let next = page.next.map(|c| {
        let mut params = vec![("status", status.as_str().to_string()), ("cursor", c)];
        if let Some(cat) = category {
            params.push(("category", cat.as_str().to_string()));
        }
        if let Some(f) = &forum {
            params.push(("forum", f.clone()));
        }
        if min_score > 0.0 {
            params.push(("min_score", min_score.to_string()));
        }
        format!("/ui?{}", serde_urlencoded::to_string(params).unwrap_or_default())
    });
    Ok(html(&QueuePage {
        page: m.page(),
        status: status.as_str(),
        statuses: Status::ALL.iter().map(|s| s.as_str()).collect(),
        categories: Category::ALL.iter().map(|c| c.as_str()).collect(),
        category: category.map(|c| c.as_str().to_string()),
        forum: forum.unwrap_or_default(),
        min_score: if min_score > 0.0 { min_score.to_string() } else { String::new() },
        counts,
        rows: fold_campaigns(&state, &page.items, now).await?,
        next,
    }))
}

pub(super) struct SignalRow {
    id: String,
    category: &'static str,
    weight: String,
    weight_class: &'static str,
    description: String,
}

pub(super) struct ReportRow {
    reason: String,
    reporter_id: String,
    trust: String,
    weight: String,
    note: String,
}

#[derive(askama::Template)]
#[template(path = "item.html")]
struct ItemPage {
    page: Page,
    item: Item,
    status: &'static str,
    decision: &'static str,
    error: Option<String>,
    title: Option<String>,
    author: Option<String>,
    body: String,
    rendered: Option<String>,
    signals: Vec<SignalRow>,
    scores: Vec<(&'static str, f64, String)>,
    claim: Option<(String, String)>,
    reasons: Vec<&'static str>,
    default_reason: &'static str,
    reports: Vec<ReportRow>,
    history: Vec<(i64, String, &'static str, &'static str)>,
    audit: Vec<(String, String, String, String)>,
    prev: String,
    next: String,
}

fn item_id(path: Result<Path<String>, PathRejection>) -> Result<i64, UiError> {
    path.ok().and_then(|p| p.0.parse().ok()).ok_or_else(|| UiError::Bad(StatusCode::NOT_FOUND, "No such item.".into()))
}

/// A moderator as pages show them: the display name with the key id, or
/// the key id alone.
pub(super) fn who(key: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{name} ({key})"),
        None => key.to_string(),
    }
}

pub(super) fn when(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Err(_) => ms.to_string(),
    }
}

async fn item_page(
    state: &App,
    m: &Moderator,
    id: i64,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Response, UiError> {
    let crate::app::ItemDetail { item, reports, audit } = state.item(&m.key, id).await?;
    let verdict = item.verdict.clone();
    let v = verdict.as_ref();
    let title = item.post.title.as_deref().map(|t| render::highlight(t, Field::Title, v));
    let author = item.post.author.as_ref().map(|a| match &a.name {
        Some(n) => format!(
            "{} <span class=\"muted\">({})</span>",
            render::highlight(n, Field::AuthorName, v),
            render::escape(&a.id)
        ),
        None => render::escape(&a.id),
    });
    let body = render::highlight(&item.post.body, Field::Body, v);
    let rendered = (item.post.format == Format::Html).then(|| render::sanitize(&item.post.body));
    let signals = v
        .map(|v| {
            v.signals
                .iter()
                .map(|s| SignalRow {
                    id: s.id.clone(),
                    category: s.category.as_str(),
                    weight: format!("{:+.2}", s.weight),
                    weight_class: if s.weight >= 0.0 { "weight-pos" } else { "weight-neg" },
                    description: s.description.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let scores = v
        .map(|v| {
            Category::ALL.iter().map(|c| (c.as_str(), v.scores.get(*c), format!("{:.2}", v.scores.get(*c)))).collect()
        })
        .unwrap_or_default();
    let reports = reports
        .into_iter()
        .map(|r| ReportRow {
            reason: render::defang(&r.reason),
            reporter_id: render::defang(&r.reporter_id),
            trust: r.trust_level.map_or_else(|| "?".into(), |t| t.to_string()),
            weight: format!("{:.1}", r.weight),
            note: render::defang(&r.note),
        })
        .collect();
    let history = state
        .author_history(&item, 20)
        .await?
        .into_iter()
        .map(|h| {
            (h.id, render::opening(h.post.title.as_deref(), &h.post.body, 60), h.status.as_str(), h.decision.as_str())
        })
        .collect();
    let audit = audit
        .into_iter()
        .take(50)
        .map(|e| (when(e.at), e.action, who(&e.actor, e.actor_name.as_deref()), e.reason))
        .collect();
    let default_reason = match item.category {
        Category::Scam => "scam",
        Category::Spam => "spam",
        Category::Misinformation => "misinformation",
        Category::Exposure => "exposure",
    };
    let decision = v.map_or(Decision::Allow, |v| v.decision).as_str();
    let mut page = m.page();
    page.notice = notice;
    Ok(html(&ItemPage {
        page,
        status: item.status.as_str(),
        decision,
        error,
        title,
        author,
        body,
        rendered,
        signals,
        scores,
        claim: item.claim.as_ref().map(|c| (who(&c.by, c.by_name.as_deref()), when(c.expires_at))),
        reasons: REASONS.to_vec(),
        default_reason,
        reports,
        history,
        audit,
        prev: format!("/ui/next?before={id}"),
        next: format!("/ui/next?after={id}"),
        item,
    }))
}

/// One item, with everything to decide it. Viewing changes nothing.
pub(super) async fn item(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let id = item_id(path)?;
    let q: NextQuery = query(raw.as_deref());
    let notice = q.decided.map(|d| format!("Item {d} decided; this is the next one."));
    item_page(&state, &m, id, None, notice).await
}

/// Claims the item for this moderator, releasing any other they hold.
pub(super) async fn claim(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let id = item_id(path)?;
    let _: serde::de::IgnoredAny = form(&body, &m.csrf)?;
    match state.claim_only(&m.key, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/ui/items/{id}")).into_response()),
        Err(AppError::Held(c)) => {
            let holder = who(&c.by, c.by_name.as_deref());
            item_page(&state, &m, id, Some(format!("{holder} holds this item until {}.", when(c.expires_at))), None)
                .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct DecideForm {
    action: String,
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    version: Option<i64>,
}

/// Decides the item, then opens the next one in the queue.
pub(super) async fn decide(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let id = item_id(path)?;
    let f: DecideForm = form(&body, &m.csrf)?;
    let action = match f.action.as_str() {
        "approve" => Action::Approve,
        "remove" => Action::Remove,
        "escalate" => Action::Escalate,
        _ => return item_page(&state, &m, id, Some("Choose approve, remove or escalate.".into()), None).await,
    };
    if !REASONS.contains(&f.reason.as_str()) {
        return item_page(&state, &m, id, Some("Choose a reason from the list.".into()), None).await;
    }
    // The reason list defaults to the item's category, which only makes
    // sense for a removal: an approval with a category reason is an "ok".
    let reason = if action == Action::Approve && Category::ALL.iter().any(|c| c.as_str() == f.reason) {
        "ok".to_string()
    } else {
        f.reason
    };
    let d = DecisionInput { action, reason, note: f.note, expected_version: f.version, account: None };
    let problem = match state.decide(&m.key, id, &d).await {
        Ok(_) => return Ok(Redirect::to(&format!("/ui/next?after={id}&decided={id}")).into_response()),
        Err(AppError::Held(c)) => {
            format!("{} holds this item until {}.", who(&c.by, c.by_name.as_deref()), when(c.expires_at))
        }
        Err(AppError::Stale { current }) => {
            format!("The item changed while you looked (now version {current}); check it again.")
        }
        Err(AppError::NoChange(s)) => format!("The item is already {}.", s.as_str()),
        Err(e @ AppError::Invalid { .. }) => sentence(&e.to_string()),
        Err(e) => return Err(e.into()),
    };
    item_page(&state, &m, id, Some(problem), None).await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct NextQuery {
    after: Option<i64>,
    before: Option<i64>,
    decided: Option<i64>,
}

/// The item after (or before) one in queue order, or the queue when there
/// is none.
pub(super) async fn next(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let q: NextQuery = query(raw.as_deref());
    let pending = ListInput { status: Some(Status::Pending), limit: Some(500), ..ListInput::default() };
    let page = state.list(&m.key, pending).await?;
    let ids: Vec<i64> =
        page.items.iter().filter(|i| i.claim.as_ref().is_none_or(|c| c.by == m.key.id)).map(|i| i.id).collect();
    let target = match (q.after, q.before) {
        (_, Some(b)) => ids.iter().position(|&i| i == b).and_then(|p| p.checked_sub(1)).map(|p| ids[p]),
        (Some(a), _) => match ids.iter().position(|&i| i == a) {
            Some(p) => ids.get(p + 1).copied(),
            // The item left the queue (it was just decided): the head is next.
            None => ids.first().copied(),
        },
        (None, None) => ids.first().copied(),
    };
    let notice = q.decided.map(|d| format!("decided={d}")).unwrap_or_default();
    Ok(match target {
        Some(id) if notice.is_empty() => Redirect::to(&format!("/ui/items/{id}")).into_response(),
        Some(id) => Redirect::to(&format!("/ui/items/{id}?{notice}")).into_response(),
        None => Redirect::to("/ui").into_response(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    item_id: String,
    #[serde(default)]
    action: String,
}

pub(super) struct AuditRow {
    at: String,
    item_id: i64,
    action: String,
    actor: String,
    from: String,
    to: String,
    reason: String,
    note: String,
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    actor: String,
    item_id: String,
    action: String,
    entries: Vec<AuditRow>,
}

/// The audit log, filtered by moderator, item and action.
pub(super) async fn audit(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let q: AuditQuery = query(raw.as_deref());
    let given = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let input = AuditInput {
        item_id: q.item_id.trim().parse().ok(),
        actor: given(&q.actor),
        action: given(&q.action),
        before: None,
        limit: Some(200),
    };
    let entries = state
        .audit(&m.key, input)
        .await?
        .into_iter()
        .map(|e| AuditRow {
            at: when(e.at),
            item_id: e.item_id,
            action: e.action,
            actor: who(&e.actor, e.actor_name.as_deref()),
            from: e.from_status.unwrap_or_default(),
            to: e.to_status,
            reason: render::defang(&e.reason),
            note: render::defang(&e.note),
        })
        .collect();
    Ok(html(&AuditPage { page: m.page(), actor: q.actor, item_id: q.item_id, action: q.action, entries }))
}

pub(super) struct DryRun {
    replayed: usize,
    changed: Vec<(i64, String, &'static str, &'static str, String)>,
}

#[derive(askama::Template)]
#[template(path = "rules.html")]
struct RulesPage {
    page: Page,
    in_force: String,
    version: i64,
    layers: Vec<RuleLayer>,
    has_global: bool,
    forum: String,
    toml: String,
    n: usize,
    can_edit: bool,
    error: Option<String>,
    error_line: Option<usize>,
    error_rule: Option<String>,
    dry_run: Option<DryRun>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RulesQuery {
    #[serde(default)]
    forum: String,
}

async fn rules_page(state: &App, m: &Moderator, forum: String, toml: Option<String>) -> Result<RulesPage, UiError> {
    // Like `GET /v1/rules`: a moderator scoped to some forums reads and
    // tries out their layers and the every-forum one, no other forum's.
    if !in_scope(&m.key, &forum) {
        return Err(UiError::Bad(StatusCode::FORBIDDEN, "Your key is not scoped to that forum.".into()));
    }
    let view = state.rules(&m.key).await?;
    let layers = view.layers;
    let stored = layers.iter().find(|l| l.forum == forum).map(|l| l.toml.clone());
    Ok(RulesPage {
        page: m.page(),
        in_force: state.engine.get().rules_version(Some(forum.as_str()).filter(|f| !f.is_empty())).to_string(),
        version: view.version,
        has_global: layers.iter().any(|l| l.forum.is_empty()),
        layers,
        toml: toml.or(stored).unwrap_or_default(),
        forum,
        n: 200,
        can_edit: m.key.role == Role::Admin,
        error: None,
        error_line: None,
        error_rule: None,
        dry_run: None,
    })
}

/// The layered rule sets and the editor.
pub(super) async fn rules(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let q: RulesQuery = query(raw.as_deref());
    if !q.forum.is_empty() && !crate::keys::valid_forum_id(&q.forum) {
        return Err(UiError::Bad(
            StatusCode::BAD_REQUEST,
            "That is not a forum id (letters, digits, `-`, `_`, `.`).".into(),
        ));
    }
    let forum = q.forum;
    Ok(html(&rules_page(&state, &m, forum, None).await?))
}

#[derive(Deserialize)]
struct RulesForm {
    #[serde(default)]
    forum: String,
    toml: String,
    op: String,
    #[serde(default)]
    n: String,
}

/// Validates a proposed layer and either replays it on the last N stored
/// posts (dry run, anyone) or saves it (admins). Errors show in place,
/// with the line and rule id, and the text is kept.
pub(super) async fn rules_check(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let f: RulesForm = form(&body, &m.csrf)?;
    if !f.forum.is_empty() && !crate::keys::valid_forum_id(&f.forum) {
        return Err(UiError::Bad(
            StatusCode::BAD_REQUEST,
            "That is not a forum id (letters, digits, `-`, `_`, `.`).".into(),
        ));
    }
    let forum = f.forum;
    let mut page = rules_page(&state, &m, forum.clone(), Some(f.toml.clone())).await?;
    page.n = f.n.trim().parse().unwrap_or(200).clamp(1, 2000);
    let result = match f.op.as_str() {
        "save" => state.put_rules(&m.key, &forum, &f.toml).await.map(|_| None),
        _ => state.dry_run(&m.key, &forum, &f.toml, u32::try_from(page.n).unwrap_or(200)).await.map(Some),
    };
    match result {
        Ok(None) => {
            let mut page = rules_page(&state, &m, forum, None).await?;
            page.page.notice = Some("Saved. Other instances load it within their poll interval.".into());
            Ok(html(&page))
        }
        Ok(Some((replayed, changed))) => {
            let changed = changed
                .into_iter()
                .map(|c| {
                    let text = render::opening(c.item.post.title.as_deref(), &c.item.post.body, 80);
                    (c.item.id, text, c.before.as_str(), c.after.as_str(), c.signals.join(", "))
                })
                .collect();
            page.dry_run = Some(DryRun { replayed, changed });
            Ok(html(&page))
        }
        // Rule errors show in place, with the line and rule id; the text is kept.
        Err(AppError::Rules { detail, line, rule_id, .. }) => {
            page.error = Some(detail);
            page.error_line = line;
            page.error_rule = rule_id;
            let mut response = html(&page);
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(AppError::Forbidden(_)) if f.op == "save" => {
            Err(UiError::Bad(StatusCode::FORBIDDEN, "Only admins can save rules.".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Only admins change which model a forum scores with: a moderator gets
/// the 403 page, as for saving rules.
fn admin_only(m: &Moderator, what: &str) -> Result<(), UiError> {
    if m.key.role == Role::Admin {
        Ok(())
    } else {
        Err(UiError::Bad(StatusCode::FORBIDDEN, format!("Only admins can {what}.")))
    }
}

/// A use case's error on the model pages ("no such model", not "item").
fn model_error(e: AppError) -> UiError {
    match e {
        AppError::NotFound(_) => UiError::Bad(StatusCode::NOT_FOUND, "No such model.".into()),
        e => e.into(),
    }
}

fn model_id(path: Result<Path<String>, PathRejection>) -> Result<i64, UiError> {
    path.ok().and_then(|p| p.0.parse().ok()).ok_or_else(|| UiError::Bad(StatusCode::NOT_FOUND, "No such model.".into()))
}

/// A forum named in a query or form: empty is none; one that is not a
/// forum id is refused (as on the rules page).
fn forum_param(forum: &str) -> Result<Option<String>, UiError> {
    let forum = forum.trim();
    if forum.is_empty() {
        return Ok(None);
    }
    if !crate::keys::valid_forum_id(forum) {
        return Err(UiError::Bad(
            StatusCode::BAD_REQUEST,
            "That is not a forum id (letters, digits, `-`, `_`, `.`).".into(),
        ));
    }
    Ok(Some(forum.to_string()))
}

/// `/ui/models` for `forum` (none: every forum of the key), with a notice code.
fn models_url(forum: Option<&str>, done: &str) -> String {
    let mut params = Vec::new();
    if let Some(f) = forum {
        params.push(("forum", f));
    }
    if !done.is_empty() {
        params.push(("done", done));
    }
    if params.is_empty() {
        "/ui/models".to_string()
    } else {
        format!("/ui/models?{}", serde_urlencoded::to_string(params).unwrap_or_default())
    }
}

pub(super) struct ModelLine {
    id: i64,
    forum: String,
    status: &'static str,
    version: String,
    labels: i64,
    created: String,
    created_by: String,
    promoted: Option<(String, String)>,
    reason: String,
}

fn model_line(m: &ForumModel) -> ModelLine {
    ModelLine {
        id: m.id,
        forum: m.forum.clone(),
        status: m.status.as_str(),
        version: m.version.clone(),
        labels: m.labels,
        created: when(m.created_at),
        created_by: m.created_by.clone(),
        promoted: m.promoted_at.map(|at| (when(at), m.promoted_by.clone().unwrap_or_default())),
        reason: render::defang(&m.reason),
    }
}

/// What one forum scores with on this instance.
pub(super) struct ForumLine {
    forum: String,
    live: Option<(i64, String)>,
    shadow: Option<(i64, String)>,
    /// A model is live (stored or loaded): there is something to roll back.
    has_live: bool,
}

#[derive(askama::Template)]
#[template(path = "models.html")]
struct ModelsPage {
    page: Page,
    forum: String,
    base: Option<String>,
    forums: Vec<ForumLine>,
    refused: Vec<(i64, String)>,
    /// With `forum`: the learner's last run (when, outcome), if it ran.
    learner: Option<(String, String)>,
    labels: Option<i64>,
    models: Vec<ModelLine>,
    can_edit: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ModelsQuery {
    #[serde(default)]
    forum: String,
    #[serde(default)]
    done: String,
}

/// The stored forum models (newest first), what this instance scores
/// each forum with, and with `?forum=` the learner's last run there.
pub(super) async fn models(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let q: ModelsQuery = query(raw.as_deref());
    let forum = forum_param(&q.forum)?;
    let view = state.models(&m.key, forum.as_deref()).await.map_err(model_error)?;
    let mut names: std::collections::BTreeSet<String> = view.live.keys().chain(view.shadow.keys()).cloned().collect();
    names.extend(
        view.models
            .iter()
            .filter(|x| matches!(x.status, ModelStatus::Live | ModelStatus::Candidate))
            .map(|x| x.forum.clone()),
    );
    let forums: Vec<ForumLine> = names
        .into_iter()
        .map(|f| ForumLine {
            live: view.live.get(&f).map(|l| (l.id, l.version.clone())),
            shadow: view.shadow.get(&f).map(|l| (l.id, l.version.clone())),
            has_live: view.live.contains_key(&f)
                || view.models.iter().any(|x| x.forum == f && x.status == ModelStatus::Live),
            forum: f,
        })
        .collect();
    let learner =
        view.learner.as_ref().filter(|r| r.last_run_at > 0).map(|r| (when(r.last_run_at), render::defang(&r.outcome)));
    let mut page = m.page();
    page.notice = match (q.done.as_str(), forum.as_deref()) {
        ("rolled-back", Some(f)) => Some(match forums.iter().find(|l| l.forum == f).and_then(|l| l.live.as_ref()) {
            Some((id, version)) => {
                format!(
                    "Rolled back: forum {f} scores with model {id} ({version}) now; other instances follow within their poll interval."
                )
            }
            None => format!(
                "Rolled back: forum {f} scores with the base model now; other instances follow within their poll interval."
            ),
        }),
        ("learned", Some(f)) => Some(format!(
            "The learner stored no model for {f} (too few labels, one class only, or another instance was training it); its last run is below."
        )),
        _ => None,
    };
    Ok(html(&ModelsPage {
        page,
        forum: forum.unwrap_or_default(),
        base: view.base,
        forums,
        refused: view.refused.into_iter().map(|r| (r.id, render::defang(&r.error))).collect(),
        learner,
        labels: view.labels,
        models: view.models.iter().map(model_line).collect(),
        can_edit: m.key.role == Role::Admin,
    }))
}

pub(super) struct ShadowLine {
    item_id: i64,
    live: String,
    shadow: String,
    category: String,
    score: String,
}

#[derive(askama::Template)]
#[template(path = "model.html")]
struct ModelPage {
    page: Page,
    model: ModelLine,
    base: String,
    sha256: String,
    size: i64,
    is_live: bool,
    /// (measure, candidate, live) from the evaluation.
    metrics: Vec<(&'static str, String, String)>,
    /// Other facts of the evaluation (held out, trained on, …).
    facts: Vec<(&'static str, String)>,
    evaluation: String,
    scored: i64,
    differ: i64,
    changed: Vec<(String, i64)>,
    items: Vec<ShadowLine>,
    can_edit: bool,
}

/// An evaluation value for people: numbers to 3 places, `—` for null or
/// missing.
fn figure(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.as_f64().map_or_else(|| n.to_string(), |f| format!("{f:.3}")),
        },
        serde_json::Value::String(s) => render::defang(s),
        other => render::defang(&other.to_string()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// One model: every field, its evaluation against the live model, and
/// what it decided differently in shadow, each item linked.
pub(super) async fn model(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let id = model_id(path)?;
    let q: DoneQuery = query(raw.as_deref());
    let ModelDetail { model, shadow } = state.model(&m.key, id).await.map_err(model_error)?;
    let e = &model.evaluation;
    let metrics = vec![
        ("PR-AUC", figure(&e["candidate"]["pr_auc"]), figure(&e["live"]["pr_auc"])),
        ("Review false-positive rate", figure(&e["candidate"]["review_fpr"]), figure(&e["live"]["review_fpr"])),
        ("Review recall", figure(&e["candidate"]["review_recall"]), figure(&e["live"]["review_recall"])),
    ];
    let facts = vec![
        ("Held-out labels", figure(&e["held_out"])),
        ("Trained on", figure(&e["trained_on"])),
        ("Live model judged against", figure(&e["live_model"])),
        ("Better than live", figure(&e["better"])),
        ("Enough held-out labels to promote on", figure(&e["enough"])),
        ("Thresholds", figure(&e["thresholds"])),
    ];
    let mut page = m.page();
    page.notice = match q.done.as_str() {
        "promoted" if model.status == ModelStatus::Live => {
            Some(format!("Model {id} is live for {}; other instances load it within their poll interval.", model.forum))
        }
        "learned" => Some(format!("The learner stored model {id} as {}.", model.status.as_str())),
        _ => None,
    };
    Ok(html(&ModelPage {
        page,
        base: model.base.clone(),
        sha256: model.sha256.clone(),
        size: model.size,
        is_live: model.status == ModelStatus::Live,
        metrics,
        facts,
        evaluation: serde_json::to_string_pretty(e).map(|s| render::defang(&s)).unwrap_or_default(),
        scored: shadow.scored,
        differ: shadow.changed.values().sum(),
        changed: shadow.changed.into_iter().collect(),
        items: shadow
            .items
            .into_iter()
            .map(|c| ShadowLine {
                item_id: c.item_id,
                live: c.live,
                shadow: c.shadow,
                category: c.category,
                score: format!("{:.2}", c.score),
            })
            .collect(),
        model: model_line(&model),
        can_edit: m.key.role == Role::Admin,
    }))
}

#[derive(Deserialize)]
struct PromoteForm {
    #[serde(default)]
    note: String,
}

/// Makes a model its forum's live model (admins), then shows it.
pub(super) async fn promote_model(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let id = model_id(path)?;
    let f: PromoteForm = form(&body, &m.csrf)?;
    admin_only(&m, "promote models")?;
    state.promote_model(&m.key, id, ModelChangeInput { note: f.note }).await.map_err(model_error)?;
    Ok(Redirect::to(&format!("/ui/models/{id}?done=promoted")).into_response())
}

#[derive(Deserialize)]
struct RollbackForm {
    #[serde(default)]
    forum: String,
    #[serde(default)]
    note: String,
}

/// Retires a forum's live model and brings back the one before it (admins).
pub(super) async fn rollback_model(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let f: RollbackForm = form(&body, &m.csrf)?;
    admin_only(&m, "roll back models")?;
    let forum = forum_param(&f.forum)?
        .ok_or_else(|| UiError::Bad(StatusCode::BAD_REQUEST, "Name the forum to roll back.".into()))?;
    state.rollback_model(&m.key, RollbackInput { forum: forum.clone(), note: f.note }).await.map_err(model_error)?;
    Ok(Redirect::to(&models_url(Some(&forum), "rolled-back")).into_response())
}

#[derive(Deserialize)]
struct LearnForm {
    #[serde(default)]
    forum: String,
}

/// Trains, judges and stores a candidate for a forum now (admins), then
/// shows the model stored, or the forum's models and the learner's run.
pub(super) async fn learn(
    State(state): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, UiError> {
    let m = moderator(&state, &headers).await?;
    let f: LearnForm = form(&body, &m.csrf)?;
    admin_only(&m, "run the learner")?;
    let forum = forum_param(&f.forum)?
        .ok_or_else(|| UiError::Bad(StatusCode::BAD_REQUEST, "Name the forum to learn from.".into()))?;
    let outcome = state.learn(&m.key, LearnInput { forum: forum.clone() }).await.map_err(model_error)?;
    Ok(match outcome.model_id {
        Some(id) => Redirect::to(&format!("/ui/models/{id}?done=learned")).into_response(),
        None => Redirect::to(&models_url(Some(&forum), "learned")).into_response(),
    })
}
