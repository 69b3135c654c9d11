//! Authors: what moderators see of one forum account (its posts and how
//! they were decided, trust signals, campaigns, standing and past account
//! actions) and the actions they take on it, alone or beside a decision.

use std::collections::BTreeMap;

use moderation_core::Author;
use serde::{Deserialize, Serialize};

use super::moderation::check_account;
use super::{
    App, AppError, BulkResult, MAX_ID_BYTES, MAX_NOTE_BYTES, Named, check_forum, check_text, in_scope, require,
};
use crate::accounts::{Account, AccountInput, Standing};
use crate::keys::{KeyRecord, Role};
use crate::store::{AccountActionEntry, AccountChange, ActError, Campaign, Item};

/// Posts shown on an author's view, newest first.
const AUTHOR_ITEMS: u32 = 50;
/// Account actions shown, newest first.
const AUTHOR_ACTIONS: u32 = 100;
/// Campaigns shown, most recently active first.
const AUTHOR_CAMPAIGNS: i64 = 20;

/// One author of one forum, as moderators see them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorView {
    /// The forum.
    pub forum: String,
    /// The forum's id for the author.
    pub author_id: String,
    /// The standing now (`good` when no action was ever taken, or the last one ran out).
    pub standing: Standing,
    /// When a silence or suspension ends (Unix ms).
    pub until: Option<i64>,
    /// The account's version (grows with every action; 0 when none).
    pub version: i64,
    /// What the service knows that bears on trust.
    pub trust: Trust,
    /// Posts per status (`allowed`, `pending`, `removed`, …).
    pub posts: BTreeMap<String, i64>,
    /// The most recent posts (at most 50), newest first, without verdicts.
    pub items: Vec<Item>,
    /// Campaigns the author posted in, most recently active first.
    pub campaigns: Vec<Campaign>,
    /// Account actions taken on the author, newest first.
    pub actions: Vec<AccountActionEntry>,
}

/// Trust signals of an author.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Trust {
    /// First post submitted here (Unix ms).
    pub first_seen: Option<i64>,
    /// Last post submitted here (Unix ms).
    pub last_seen: Option<i64>,
    /// Posts submitted here.
    pub posts: i64,
    /// Of them, removed by moderators.
    pub removed: i64,
    /// Of them, approved by moderators.
    pub approved: i64,
    /// Community reports against them.
    pub reports: i64,
    /// Posts memory holds (near-duplicate search, shared links; within its retention).
    pub remembered: i64,
    /// What the forum said about the account with its latest post
    /// (display name, age, trust level, post count, prior removals, staff).
    pub latest: Option<Author>,
}

/// An action on an author, from the author page or API.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = AuthorAction)]
#[serde(deny_unknown_fields)]
pub struct AuthorActionInput {
    /// `silence`, `suspend`, `ban` or `lift`.
    pub action: crate::accounts::AccountAction,
    /// Hours (1–87,600): required to suspend, optional to silence, refused for ban and lift.
    #[serde(default)]
    pub duration_hours: Option<u32>,
    /// Also remove every post of theirs waiting in the queue.
    #[serde(default)]
    pub remove_pending: bool,
    /// A reason code (`scam`, `spam`, …).
    pub reason: String,
    /// Free text for other moderators (and the forum, in the webhook).
    #[serde(default)]
    pub note: String,
    /// The account's version as the moderator saw it: refused (409
    /// `stale`) if another action was taken since.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

/// What an action on an author did.
#[derive(Debug)]
pub struct AuthorActed {
    /// The account after.
    pub account: Account,
    /// Per waiting post removed with it (`remove_pending`).
    pub removed: Vec<BulkResult>,
}

/// Checks a path's forum and author ids and the key's scope over the forum.
fn author_path(key: &KeyRecord, forum: &str, author: &str) -> Result<(), AppError> {
    require(key, &[Role::Moderator, Role::Admin])?;
    check_forum(Some(forum))?;
    if author.is_empty() {
        return Err(AppError::invalid("id", "an author id is 1–256 bytes"));
    }
    check_text("id", author, MAX_ID_BYTES)?;
    if !in_scope(key, forum) {
        return Err(AppError::Forbidden(format!("this key is not scoped to forum `{forum}`")));
    }
    Ok(())
}

impl App {
    /// One author of one forum: 404 when the service has never seen them
    /// (no post, no memory, no account action).
    pub async fn author(&self, key: &KeyRecord, forum: &str, author: &str) -> Result<AuthorView, AppError> {
        author_path(key, forum, author)?;
        let now = self.now();
        let counts = self.store.author_counts(forum, author).await?;
        let remembered = self.store.author_remembered(forum, author).await?;
        let account = self.store.account(forum, author).await?;
        if counts.is_empty() && remembered == 0 && account.is_none() {
            return Err(AppError::NotFound(format!("no author `{author}` in forum `{forum}`")));
        }
        let mut trust = Trust { remembered, ..Trust::default() };
        let mut posts = BTreeMap::new();
        for (status, n, reports, first, last) in counts {
            trust.posts += n;
            trust.reports += reports;
            trust.first_seen = Some(trust.first_seen.map_or(first, |f: i64| f.min(first)));
            trust.last_seen = Some(trust.last_seen.map_or(last, |l: i64| l.max(last)));
            match status.as_str() {
                "removed" => trust.removed += n,
                "approved" => trust.approved += n,
                _ => {}
            }
            posts.insert(status, n);
        }
        let items = self.store.author_history(forum, author, 0, AUTHOR_ITEMS, now).await?;
        trust.latest = items.first().and_then(|i| i.post.author.clone());
        let campaigns = self.store.author_campaigns(forum, author, AUTHOR_CAMPAIGNS).await?;
        let (account, actions) = match account {
            Some(a) => {
                let actions = self.store.account_actions(a.id, AUTHOR_ACTIONS).await?;
                (Some(a.at(now)), actions)
            }
            None => (None, Vec::new()),
        };
        let names = self.names().await?;
        let mut view = AuthorView {
            forum: forum.to_string(),
            author_id: author.to_string(),
            standing: account.as_ref().map_or(Standing::Good, |a| a.standing),
            until: account.as_ref().and_then(|a| a.until),
            version: account.as_ref().map_or(0, |a| a.version),
            trust,
            posts,
            items,
            campaigns,
            actions,
        };
        view.items.name(&names);
        view.campaigns.name(&names);
        for a in &mut view.actions {
            a.actor_name = names.get(&a.actor).cloned();
        }
        Ok(view)
    }

    /// An action on an author (silence, suspend, ban, lift), recorded with
    /// its audit entry and `account` webhook; with `remove_pending`, their
    /// waiting posts are then removed one by one (each audited, each with
    /// its `decision` webhook).
    pub async fn act_on_author(
        &self,
        key: &KeyRecord,
        forum: &str,
        author: &str,
        input: &AuthorActionInput,
    ) -> Result<AuthorActed, AppError> {
        author_path(key, forum, author)?;
        let account_input = AccountInput {
            action: input.action,
            duration_hours: input.duration_hours,
            remove_pending: input.remove_pending,
        };
        check_account(&account_input, "duration_hours")?;
        if input.reason.trim().is_empty() {
            return Err(AppError::invalid("reason", "an account action needs a reason code"));
        }
        check_text("reason", &input.reason, MAX_ID_BYTES)?;
        check_text("note", &input.note, MAX_NOTE_BYTES)?;
        let engine = self.engine.get();
        let reason = crate::review::mask_secrets(&engine, input.reason.clone());
        let note = crate::review::mask_secrets(&engine, input.note.clone());
        drop(engine);
        let at = AccountAt { forum, author, campaign: None, expected_version: input.expected_version };
        let (account, removed) = self.account_action(key, at, &account_input, &reason, &note).await?;
        tracing::info!(forum, author, action = input.action.as_str(), removed = removed.len(), key = %key.id, "account action");
        Ok(AuthorActed { account, removed })
    }

    /// Takes a checked account action, its reason and note already masked
    /// (alone or for a campaign): recorded with its audit entry and webhook,
    /// counted, the webhook worker woken, and with `remove_pending` the
    /// author's waiting posts removed. Returns the account as of now and
    /// the removals.
    pub(super) async fn account_action(
        &self,
        key: &KeyRecord,
        at: AccountAt<'_>,
        input: &AccountInput,
        reason: &str,
        note: &str,
    ) -> Result<(Account, Vec<BulkResult>), AppError> {
        let names = self.names().await?;
        let change = AccountChange {
            forum: at.forum,
            author: at.author,
            input,
            reason,
            note,
            actor: &key.id,
            webhook_name: self.webhook_name(&names, key),
            item_id: None,
            campaign: at.campaign,
            webhook: self.config.webhook.url_for(at.forum).is_some(),
            expected_version: at.expected_version,
        };
        let account = self.store.act_on_account(&change, self.now()).await.map_err(|e| match e {
            ActError::Stale { current } => AppError::AccountChanged { current },
            ActError::Store(e) => e.into(),
        })?;
        metrics::counter!("moderation_account_actions_total", "action" => input.action.as_str()).increment(1);
        self.webhook_wake.notify_one();
        let removed = match input.remove_pending {
            true => self.remove_waiting(key, at.forum, at.author, reason, note).await?,
            false => Vec::new(),
        };
        Ok((account.at(self.now()), removed))
    }
}

/// Whose account an action is on, for which campaign (if any), and the
/// version the moderator saw (if checked).
#[derive(Debug, Clone, Copy)]
pub(super) struct AccountAt<'a> {
    /// The forum.
    pub forum: &'a str,
    /// The forum's id for the author.
    pub author: &'a str,
    /// The campaign whose decision takes it.
    pub campaign: Option<i64>,
    /// Refuse unless the account's version is this.
    pub expected_version: Option<i64>,
}
