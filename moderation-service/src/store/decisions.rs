//! Decisions: a moderator's approve, remove or escalate, written with its
//! audit entry and (for forums with a webhook) its webhook in one
//! transaction, so a decision is never committed without either; and the
//! decided items read back for export.

use moderation_core::Post;

use super::accounts::{AccountChange, act_in};
use super::audit::append;
use super::items::{Item, ItemRow, load_item};
use super::outbox::enqueue;
use super::{Store, StoreError, WriteTx, dialect, on_pool};
use crate::review::{self, Claim, DecisionInput, Status, Transition};

/// Why a decision was refused, or failed.
#[derive(Debug)]
pub enum DecideError {
    /// No such item (or not in the key's forums).
    NotFound,
    /// Another moderator holds it.
    Held(Claim),
    /// The item changed since the moderator looked (`expected_version`).
    Stale {
        /// Its version now.
        current: i64,
    },
    /// It already has that status.
    NoChange(Status),
    /// An account action on a post without an author.
    NoAuthor,
    /// The database failed.
    Store(StoreError),
}

impl From<review::DecideError> for DecideError {
    fn from(e: review::DecideError) -> DecideError {
        match e {
            review::DecideError::Held(claim) => DecideError::Held(claim),
            review::DecideError::Stale { current } => DecideError::Stale { current },
            review::DecideError::NoChange(status) => DecideError::NoChange(status),
        }
    }
}

impl From<super::accounts::ActError> for DecideError {
    fn from(e: super::accounts::ActError) -> DecideError {
        match e {
            super::accounts::ActError::Stale { current } => DecideError::Stale { current },
            super::accounts::ActError::Store(e) => DecideError::Store(e),
        }
    }
}

impl From<StoreError> for DecideError {
    fn from(e: StoreError) -> DecideError {
        DecideError::Store(e)
    }
}

impl From<sqlx::Error> for DecideError {
    fn from(e: sqlx::Error) -> DecideError {
        DecideError::Store(e.into())
    }
}

/// Who decides: the key, the forums it is scoped to, and the display name
/// webhooks carry (`None` unless the service sends names).
#[derive(Debug, Clone, Copy)]
pub struct Decider<'a> {
    /// The key id.
    pub key: &'a str,
    /// Its forums (empty: every forum).
    pub forums: &'a [String],
    /// The name to put in webhooks, if any.
    pub webhook_name: Option<&'a str>,
}

/// A decision as exported: the post as it was when decided.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The item.
    pub item_id: i64,
    /// Its forum.
    pub forum: String,
    /// The post when decided (secrets starred out).
    pub post: Post,
    /// `approved` or `removed`.
    pub status: Status,
    /// The reason code.
    pub reason: String,
    /// The moderator's key id.
    pub decided_by: Option<String>,
    /// When (Unix ms).
    pub decided_at: i64,
    /// The version the decision made.
    pub version: i64,
}

/// Writes a decision's transition of `row` inside `tx`: the item (status,
/// version, claim released, who and why, the post as decided), the audit
/// entry and the webhook, if any.
async fn apply_decision<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    mut row: ItemRow,
    t: &Transition,
) -> Result<ItemRow, StoreError>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> f64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> ItemRow: sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    let a = &t.audit;
    sqlx::query(
        "UPDATE items SET status = $1, version = $2, claimed_by = NULL, claim_expires_at = NULL, reason = $3, \
         decided_by = $4, decided_at = $5, updated_at = $5, decided_post = post, decided_version = $2 WHERE id = $6",
    )
    .bind(t.status.as_str())
    .bind(t.version)
    .bind(a.reason.as_str())
    .bind(a.actor.as_str())
    .bind(a.at)
    .bind(row.id)
    .execute(&mut **tx)
    .await?;
    append(tx, a).await?;
    if let Some(event) = &t.webhook {
        enqueue(tx, event).await?;
    }
    row.set_status(t.status, t.version, a.at);
    row.set_claim(t.claim.as_ref());
    row.reason = a.reason.clone();
    row.decided_by = Some(a.actor.clone());
    row.decided_at = Some(a.at);
    Ok(row)
}

impl Store {
    /// Applies a moderator's decision: new status, version + 1, claim
    /// released, audit entry, and (when `webhook_for` the item's forum) a
    /// webhook in the outbox, all in one transaction.
    pub async fn decide(
        &self,
        id: i64,
        by: Decider<'_>,
        decision: &DecisionInput,
        webhook_for: &(dyn Fn(&str) -> bool + Sync),
        now: i64,
    ) -> Result<Item, DecideError> {
        let select = self.select_item_for_update();
        let lock = dialect!(self, sqlite: "", postgres: " FOR UPDATE");
        let row = on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let row = load_item(&mut tx, select, id).await?;
            let row = row.filter(|r| crate::keys::scope_covers(by.forums, &r.forum)).ok_or(DecideError::NotFound)?;
            let webhook = webhook_for(&row.forum);
            let mut t = review::decide(&row.state()?, decision, by.key, now, webhook)?;
            if let Some(event) = &mut t.webhook {
                event.moderator_name = by.webhook_name.map(str::to_string);
            }
            if let Some(input) = &decision.account {
                let author = row.author_id.clone().ok_or(DecideError::NoAuthor)?;
                let change = AccountChange {
                    forum: &row.forum,
                    author: &author,
                    input,
                    reason: &decision.reason,
                    note: &decision.note,
                    actor: by.key,
                    webhook_name: by.webhook_name,
                    item_id: Some(row.id),
                    campaign: None,
                    webhook,
                    expected_version: None,
                };
                act_in(&mut tx, lock, &change, now).await?;
            }
            let row = apply_decision(&mut tx, row, &t).await?;
            tx.commit().await?;
            row
        });
        Ok(row.into_item(now, false)?)
    }

    /// Decided items (approved or removed) in decision order after
    /// `(decided_at, id)` and decided no later than `until`, for export as
    /// labelled examples: the post as it was when decided.
    pub async fn decided(
        &self,
        forum: Option<&str>,
        after: (i64, i64),
        until: i64,
        limit: u32,
    ) -> Result<Vec<Decided>, StoreError> {
        macro_rules! decided_cols {
            () => {
                "SELECT id, forum, decided_post, status, reason, decided_by, decided_at, decided_version FROM items \
                 WHERE decided_at IS NOT NULL AND decided_post IS NOT NULL AND status IN ('approved', 'removed') \
                 AND (decided_at, id) > ($1, $2) AND decided_at <= $3"
            };
        }
        const ALL: &str = concat!(decided_cols!(), " ORDER BY decided_at, id LIMIT $4");
        const ONE: &str = concat!(decided_cols!(), " AND forum = $5 ORDER BY decided_at, id LIMIT $4");
        type Row = (i64, String, String, String, String, Option<String>, i64, Option<i64>);
        let rows: Vec<Row> = on_pool!(self, p => {
            let q = sqlx::query_as(if forum.is_some() { ONE } else { ALL })
                .bind(after.0)
                .bind(after.1)
                .bind(until)
                .bind(i64::from(limit));
            match forum {
                Some(f) => q.bind(f).fetch_all(p).await?,
                None => q.fetch_all(p).await?,
            }
        });
        rows.into_iter()
            .map(|(item_id, forum, post, status, reason, decided_by, decided_at, version)| {
                let post = serde_json::from_str(&post)
                    .map_err(|e| StoreError::Corrupt { table: "items", message: e.to_string() })?;
                let status = Status::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt { table: "items", message: format!("status `{status}`") })?;
                Ok(Decided {
                    item_id,
                    forum,
                    post,
                    status,
                    reason,
                    decided_by,
                    decided_at,
                    version: version.unwrap_or(0),
                })
            })
            .collect()
    }
}
