//! What moderators do: list the queue, claim, decide (one item or many),
//! read the audit log, export decisions as labelled examples. Keys scoped
//! to forums see only those forums (other items are "not found", so ids do
//! not reveal what exists elsewhere).

use moderation_core::Category;
use serde::{Deserialize, Serialize};

use super::{App, AppError, MAX_ID_BYTES, MAX_NOTE_BYTES, Named, check_forum, check_text, in_scope, within};
use crate::keys::KeyRecord;
use crate::review::{Action, DecisionInput, Status, mask_secrets};
use crate::store::{
    AuditEntry, AuditFilter, ClaimError, DecideError, Decided, Decider, Item, ListFilter, Report, decode_cursor,
};

/// Which part of the queue to list.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListInput {
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

/// Which items to claim from the head of the queue.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = ClaimNext)]
pub struct ClaimNextInput {
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

/// The outcome for one item of a bulk decision.
#[derive(Debug)]
pub struct BulkResult {
    /// The item.
    pub item_id: i64,
    /// The item after the decision, or why there was none.
    pub outcome: Result<Item, AppError>,
}

/// Which audit entries to read.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditInput {
    /// One item's entries.
    pub item_id: Option<i64>,
    /// One actor's: a key id (`key_…`) or a moderator's display name (every
    /// key that has it).
    pub actor: Option<String>,
    /// One action (`approve`, `remove`, `claimed`, …).
    pub action: Option<String>,
    /// Entries older than this id (the previous page's last id).
    pub before: Option<i64>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// Which decisions to export.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportInput {
    /// Only this forum (required for moderators scoped to several forums).
    pub forum: Option<String>,
    /// Decisions made at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Decisions after this one: `<decided_at>.<item_id>` of the last line
    /// already exported (its `source` field), to resume exactly.
    pub after: Option<String>,
}

/// Where an export starts: its forum (none: every forum) and the
/// `(decided_at, item_id)` it resumes after.
#[derive(Debug, Clone)]
pub struct ExportStart {
    /// The forum exported.
    pub forum: Option<String>,
    /// The position after which lines come.
    pub after: (i64, i64),
}

/// How old a decision must be before it is exported, in ms. Decisions are
/// stamped before their transaction commits, so on PostgreSQL a decision
/// can become visible after a later-stamped one; waiting this long means a
/// resumed export (`after=`) never skips one that committed late.
pub const EXPORT_SETTLE_MS: i64 = 10_000;

/// Decisions read per export page.
const EXPORT_PAGE: u32 = 500;

fn filter(
    status: Option<Status>,
    category: Option<Category>,
    forum: Option<String>,
    min_score: Option<f64>,
) -> Result<ListFilter, AppError> {
    check_forum(forum.as_deref())?;
    let min_score = min_score.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&min_score) {
        return Err(AppError::invalid("min_score", "min_score must be between 0 and 1"));
    }
    Ok(ListFilter { status: status.unwrap_or(Status::Pending), category, forum, min_score })
}

fn claim_error(e: ClaimError, id: i64) -> AppError {
    match e {
        ClaimError::NotFound => AppError::NotFound(format!("no item {id}")),
        ClaimError::Held(claim) => AppError::Held(claim),
        ClaimError::Store(e) => e.into(),
    }
}

impl App {
    /// Items in queue order (priority from score and reports, then age),
    /// filtered, a page at a time.
    pub async fn list(&self, key: &KeyRecord, input: ListInput) -> Result<QueuePage, AppError> {
        let limit = within("limit", input.limit.unwrap_or(50), 1..=500)?;
        let cursor = match &input.cursor {
            Some(c) => Some(decode_cursor(c).ok_or_else(|| AppError::invalid("cursor", "not a cursor from this API"))?),
            None => None,
        };
        let f = filter(input.status, input.category, input.forum, input.min_score)?;
        let page = self.store.list(&f, &key.forums, cursor, limit, self.now()).await?;
        Ok(QueuePage { items: self.named(page.items).await?, next: page.next })
    }

    /// Items per (status, category) in the key's forums.
    pub async fn queue_counts(&self, key: &KeyRecord) -> Result<Vec<(Status, Category, i64)>, AppError> {
        Ok(self.store.queue_counts(&key.forums).await?)
    }

    /// Claims the next unclaimed items at the head of the queue. Concurrent
    /// moderators, on any number of instances, never get the same item.
    pub async fn claim_next(&self, key: &KeyRecord, input: ClaimNextInput) -> Result<Vec<Item>, AppError> {
        let count = within("count", input.count.unwrap_or(1), 1..=100)?;
        let f = filter(input.status, input.category, input.forum, input.min_score)?;
        let lease = self.config.queue.lease_ms();
        let items = self.store.claim_next(&f, &key.forums, &key.id, count, lease, self.now()).await?;
        self.named(items).await
    }

    /// An item with its reports and audit log.
    pub async fn item(&self, key: &KeyRecord, id: i64) -> Result<ItemDetail, AppError> {
        let item = self
            .store
            .item(id, &key.forums, self.now())
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no item {id}")))?;
        let reports = self.store.reports(id).await?;
        let audit = self.store.audit(&AuditFilter { item_id: Some(id), ..AuditFilter::default() }, 200).await?;
        Ok(ItemDetail { item: self.named(item).await?, reports, audit: self.named(audit).await? })
    }

    /// The author's other posts in the item's forum, newest first.
    pub async fn author_history(&self, item: &Item, limit: u32) -> Result<Vec<Item>, AppError> {
        let Some(author) = item.post.author.as_ref() else { return Ok(Vec::new()) };
        let items = self.store.author_history(&item.forum, &author.id, item.id, limit, self.now()).await?;
        self.named(items).await
    }

    /// Claims an item (or renews one's own claim) for the configured lease.
    pub async fn claim(&self, key: &KeyRecord, id: i64) -> Result<Item, AppError> {
        let lease = self.config.queue.lease_ms();
        let claimed = self.store.claim(id, &key.id, &key.forums, lease, self.now()).await;
        self.named_claim(claimed, id).await
    }

    /// A claim's outcome with names: the item's, or the holder's in a refusal.
    async fn named_claim(&self, outcome: Result<Item, ClaimError>, id: i64) -> Result<Item, AppError> {
        match outcome.map_err(|e| claim_error(e, id)) {
            Ok(item) => self.named(item).await,
            Err(AppError::Held(claim)) => Err(AppError::Held(self.named(claim).await?)),
            Err(e) => Err(e),
        }
    }

    /// Claims an item and releases every other item the moderator holds
    /// (the pages: one item at a time).
    pub async fn claim_only(&self, key: &KeyRecord, id: i64) -> Result<Item, AppError> {
        let item = self.claim(key, id).await?;
        self.store.release_others(&key.id, id, self.now()).await?;
        Ok(item)
    }

    /// Gives up one's claim on an item.
    pub async fn release(&self, key: &KeyRecord, id: i64) -> Result<Item, AppError> {
        let released = self.store.release(id, &key.id, &key.forums, self.now()).await;
        self.named_claim(released, id).await
    }

    /// A moderator's decision: checked, notes masked for secrets, written
    /// with its audit entry (and a webhook for forums that have a URL),
    /// counted, and the webhook worker woken.
    pub async fn decide(&self, key: &KeyRecord, id: i64, d: &DecisionInput) -> Result<Item, AppError> {
        let d = self.prepare_decision(d)?;
        let item = self.apply_decision(key, id, &d).await?;
        if let (Some(account), Some(author)) = (&d.account, &item.author_id)
            && account.remove_pending
        {
            self.remove_waiting(key, &item.forum, author, &d.reason, &d.note).await?;
        }
        Ok(item)
    }

    /// A decision's input checked, its reason and note masked for secrets
    /// (they are stored, shown and sent in webhooks).
    fn prepare_decision(&self, d: &DecisionInput) -> Result<DecisionInput, AppError> {
        if d.reason.trim().is_empty() {
            return Err(AppError::invalid("reason", "a decision needs a reason code"));
        }
        check_text("reason", &d.reason, MAX_ID_BYTES)?;
        check_text("note", &d.note, MAX_NOTE_BYTES)?;
        if let Some(account) = &d.account {
            check_account(account, "account.duration_hours")?;
        }
        let engine = self.engine.get();
        Ok(DecisionInput {
            reason: mask_secrets(&engine, d.reason.clone()),
            note: mask_secrets(&engine, d.note.clone()),
            ..d.clone()
        })
    }

    /// Writes a prepared decision, counts it and wakes the webhook worker.
    async fn apply_decision(&self, key: &KeyRecord, id: i64, d: &DecisionInput) -> Result<Item, AppError> {
        let webhooks = &self.config.webhook;
        let webhook_for = |forum: &str| webhooks.url_for(forum).is_some();
        let names = self.names().await?;
        let webhook_name = self.webhook_name(&names, key);
        let by = Decider { key: &key.id, forums: &key.forums, webhook_name };
        let decided = self.store.decide(id, by, d, &webhook_for, self.now()).await;
        let mut item = decided.map_err(|e| match e {
            DecideError::NotFound => AppError::NotFound(format!("no item {id}")),
            DecideError::Held(mut claim) => {
                claim.name(&names);
                AppError::Held(claim)
            }
            DecideError::Stale { current } => AppError::Stale { current },
            DecideError::NoChange(s) => AppError::NoChange(s),
            DecideError::NoAuthor => AppError::invalid("account", "this post has no author to act on"),
            DecideError::Store(e) => e.into(),
        })?;
        item.name(&names);
        metrics::counter!("moderation_decisions_total", "action" => d.action.as_str()).increment(1);
        if let Some(account) = &d.account {
            metrics::counter!("moderation_account_actions_total", "action" => account.action.as_str()).increment(1);
        }
        self.webhook_wake.notify_one();
        Ok(item)
    }

    /// One decision for many items, each in its own transaction; the input
    /// is checked and masked once. Stops at the first item the database
    /// could not take (the rest would fail too).
    pub async fn decide_many(
        &self,
        key: &KeyRecord,
        items: &[i64],
        d: &DecisionInput,
    ) -> Result<Vec<BulkResult>, AppError> {
        if items.len() > 500 {
            return Err(AppError::invalid("items", "at most 500 items per bulk decision"));
        }
        let prepared = self.prepare_decision(d);
        let mut results = Vec::with_capacity(items.len());
        for &item_id in items {
            let outcome = match &prepared {
                Ok(p) => self.apply_decision(key, item_id, p).await,
                // Each item answers why.
                Err(e) => Err(e.clone()),
            };
            match outcome {
                Err(e @ AppError::Unavailable(_)) => return Err(e),
                outcome => results.push(BulkResult { item_id, outcome }),
            }
        }
        Ok(results)
    }

    /// Removes every post of an author still waiting in the queue (pending
    /// or escalated), each as its own decision.
    pub(super) async fn remove_waiting(
        &self,
        key: &KeyRecord,
        forum: &str,
        author: &str,
        reason: &str,
        note: &str,
    ) -> Result<Vec<BulkResult>, AppError> {
        let note = if note.is_empty() { "account action".to_string() } else { format!("{note} (account action)") };
        let input = DecisionInput {
            action: Action::Remove,
            reason: reason.to_string(),
            note,
            expected_version: None,
            account: None,
        };
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let ids = self.store.author_waiting(forum, author, after, 500).await?;
            let Some(&last) = ids.last() else { break };
            after = last;
            out.extend(self.decide_many(key, &ids, &input).await?);
        }
        Ok(out)
    }

    /// The audit log, newest first, within the key's forums.
    pub async fn audit(&self, key: &KeyRecord, input: AuditInput) -> Result<Vec<AuditEntry>, AppError> {
        let limit = within("limit", input.limit.unwrap_or(100), 1..=1000)?;
        for (field, value) in [("actor", &input.actor), ("action", &input.action)] {
            if let Some(v) = value {
                check_text(field, v, MAX_ID_BYTES)?;
            }
        }
        let actors = match &input.actor {
            Some(actor) => self.actors_named(actor).await?,
            None => Vec::new(),
        };
        let f = AuditFilter {
            item_id: input.item_id,
            actors,
            action: input.action,
            before: input.before,
            forums: key.forums.clone(),
        };
        let entries = self.store.audit(&f, limit).await?;
        self.named(entries).await
    }

    /// Where an export of decisions starts, within the key's forums.
    pub fn export_start(&self, key: &KeyRecord, input: &ExportInput) -> Result<ExportStart, AppError> {
        check_forum(input.forum.as_deref())?;
        let forum = match (&input.forum, key.forums.as_slice()) {
            (Some(f), _) if !in_scope(key, f) => {
                return Err(AppError::Forbidden(format!("this key is not scoped to forum `{f}`")));
            }
            (Some(f), _) => Some(f.clone()),
            (None, []) => None,
            (None, [only]) => Some(only.clone()),
            (None, _) => return Err(AppError::invalid("forum", "this key is scoped to several forums: name one")),
        };
        let after = match (&input.after, input.since) {
            (Some(a), _) => a
                .split_once('.')
                .and_then(|(t, i)| Some((t.parse().ok()?, i.parse().ok()?)))
                .ok_or_else(|| AppError::invalid("after", "after is `<decided_at>.<item_id>`"))?,
            // (decided_at, id) > (since - 1, MAX): decided at or after `since`.
            (None, Some(since)) => (since.saturating_sub(1), i64::MAX),
            (None, None) => (i64::MIN, i64::MAX),
        };
        Ok(ExportStart { forum, after })
    }

    /// The next page of an export: JSON lines (see [`export_line`]) and
    /// where the page after starts (`None`: the export is complete).
    pub async fn export_page(&self, start: &ExportStart) -> Result<(String, Option<ExportStart>), AppError> {
        let until = self.now().saturating_sub(EXPORT_SETTLE_MS);
        let items = self.store.decided(start.forum.as_deref(), start.after, until, EXPORT_PAGE).await?;
        let mut out = String::new();
        for item in &items {
            if let Some(line) = export_line(item) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        let next = match items.last() {
            Some(last) if items.len() == EXPORT_PAGE as usize => {
                Some(ExportStart { forum: start.forum.clone(), after: (last.decided_at, last.item_id) })
            }
            _ => None,
        };
        Ok((out, next))
    }
}

/// Checks an account action; `field` names where it was given
/// (`account.duration_hours` beside a decision, `duration_hours` alone).
pub(super) fn check_account(input: &crate::accounts::AccountInput, field: &str) -> Result<(), AppError> {
    input.validate().map_err(|e| AppError::invalid(field, e.to_string()))
}

/// One exported example, or `None` for a removal without a category:
/// the post as it was when decided, its `labels` per category, and its
/// `source` (item, version, reason, who and when).
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
