//! Campaigns: waves of near-duplicate posts from several accounts, formed
//! at submit from memory (`App::submit`), listed, read and decided as one.

use serde::Deserialize;

use super::authors::AccountAt;
use super::{App, AppError, BulkResult, MAX_ID_BYTES, MAX_NOTE_BYTES, check_forum, check_text, in_scope, require};
use crate::accounts::{Account, AccountInput};
use crate::keys::{KeyRecord, Role};
use crate::review::{Action, DecisionInput, Status, mask_secrets};
use crate::store::{Campaign, CampaignChangeError, CampaignDetail, campaigns};

/// Which campaigns to list.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignsInput {
    /// One forum's (default: every forum of the key).
    pub forum: Option<String>,
    /// `open`, `removed` or `approved` (default: any).
    pub status: Option<String>,
    /// How many, most recently active first (1–500, default 50).
    pub limit: Option<u32>,
}

/// One decision for every undecided post of a campaign.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CampaignDecision {
    /// `remove` (every member still up: allowed, pending or escalated),
    /// `approve` or `escalate` (every member waiting in the queue).
    pub action: Action,
    /// A reason code (`scam`, `spam`, …), as for one item.
    pub reason: String,
    /// Free text for other moderators.
    #[serde(default)]
    pub note: String,
    /// The campaign's version as the moderator saw it: refused (409
    /// `stale`) if a post joined or someone decided it since.
    pub expected_version: i64,
    /// An action on every account that posted in the campaign (each with
    /// its audit entry and `account` webhook naming the campaign).
    #[serde(default)]
    pub account: Option<AccountInput>,
}

/// What a campaign decision did.
#[derive(Debug)]
pub struct CampaignDecided {
    /// The campaign after.
    pub campaign: Campaign,
    /// Per member the decision reached (and, with `remove_pending`, per
    /// other waiting post of its accounts).
    pub items: Vec<BulkResult>,
    /// The accounts acted on, after the action.
    pub accounts: Vec<Account>,
}

impl App {
    /// Campaigns the key may see, most recently active first.
    pub async fn campaigns(&self, key: &KeyRecord, input: CampaignsInput) -> Result<Vec<Campaign>, AppError> {
        require(key, &[Role::Moderator, Role::Admin])?;
        let limit = input.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(AppError::invalid("limit", "limit must be between 1 and 500"));
        }
        if let Some(s) = &input.status
            && ![campaigns::OPEN, campaigns::REMOVED, campaigns::APPROVED].contains(&s.as_str())
        {
            return Err(AppError::invalid(
                "status",
                format!("unknown campaign status `{s}` (open, removed, approved)"),
            ));
        }
        let forums = match &input.forum {
            Some(f) => {
                check_forum(Some(f))?;
                if !in_scope(key, f) {
                    return Err(AppError::Forbidden(format!("this key may not read forum `{f}`")));
                }
                vec![f.clone()]
            }
            None => key.forums.clone(),
        };
        let found = self.store.campaigns(&forums, input.status.as_deref(), i64::from(limit)).await?;
        self.named(found).await
    }

    /// One campaign with its posts and shared evidence.
    pub async fn campaign(&self, key: &KeyRecord, id: i64) -> Result<CampaignDetail, AppError> {
        require(key, &[Role::Moderator, Role::Admin])?;
        match self.store.campaign(id).await? {
            Some(c) if in_scope(key, &c.campaign.forum) => self.named(c).await,
            _ => Err(AppError::NotFound(format!("no campaign {id}"))),
        }
    }

    /// One decision for a whole campaign: refused if it changed since the
    /// moderator saw it; then each undecided member is decided as one item
    /// is (its own audit entry and webhook), and the campaign's status is
    /// set (`remove` → `removed`: new members are held; `approve` →
    /// `approved`). Members another moderator holds say so and stay.
    pub async fn decide_campaign(
        &self,
        key: &KeyRecord,
        id: i64,
        d: &CampaignDecision,
    ) -> Result<CampaignDecided, AppError> {
        let detail = self.campaign(key, id).await?;
        if d.reason.trim().is_empty() {
            return Err(AppError::invalid("reason", "a decision needs a reason code"));
        }
        check_text("reason", &d.reason, MAX_ID_BYTES)?;
        check_text("note", &d.note, MAX_NOTE_BYTES)?;
        if let Some(account) = &d.account {
            super::moderation::check_account(account, "account.duration_hours")?;
        }
        let status = match d.action {
            Action::Remove => campaigns::REMOVED,
            Action::Approve => campaigns::APPROVED,
            Action::Escalate => campaigns::OPEN,
        };
        self.store.decide_campaign(id, d.expected_version, status, &key.id, &d.reason, self.now()).await.map_err(
            |e| match e {
                CampaignChangeError::NotFound => AppError::NotFound(format!("no campaign {id}")),
                CampaignChangeError::Stale { current } => AppError::CampaignChanged { current },
                CampaignChangeError::Store(e) => e.into(),
            },
        )?;
        // The members as they were when the version matched (the decision
        // was taken on them); the note says which campaign decided them.
        let note = if d.note.is_empty() { format!("campaign {id}") } else { format!("{} (campaign {id})", d.note) };
        let input =
            DecisionInput { action: d.action, reason: d.reason.clone(), note, expected_version: None, account: None };
        let waiting = |s: &str| s == Status::Pending.as_str() || s == Status::Escalated.as_str();
        let targets: Vec<i64> = detail
            .posts
            .iter()
            .filter(|m| match (m.item_id, m.status.as_deref()) {
                (Some(_), Some(s)) => waiting(s) || (d.action == Action::Remove && s == Status::Allowed.as_str()),
                _ => false,
            })
            .filter_map(|m| m.item_id)
            .collect();
        let mut items = Vec::with_capacity(targets.len());
        for chunk in targets.chunks(500) {
            items.extend(self.decide_many(key, chunk, &input).await?);
        }
        let mut accounts = Vec::new();
        if let Some(account) = &d.account {
            let forum = detail.campaign.forum.as_str();
            let mut authors: Vec<&str> = detail.posts.iter().map(|m| m.author.as_str()).collect();
            authors.sort_unstable();
            authors.dedup();
            let engine = self.engine.get();
            let (reason, note) = (mask_secrets(&engine, d.reason.clone()), mask_secrets(&engine, input.note.clone()));
            drop(engine);
            for author in authors {
                let at = AccountAt { forum, author, campaign: Some(id), expected_version: None };
                let (acted, removed) = self.account_action(key, at, account, &reason, &note).await?;
                accounts.push(acted);
                items.extend(removed);
            }
        }
        let campaign = self.campaign(key, id).await?.campaign;
        tracing::info!(campaign = id, action = d.action.as_str(), items = items.len(), accounts = accounts.len(), key = %key.id, "campaign decided");
        Ok(CampaignDecided { campaign, items, accounts })
    }
}
