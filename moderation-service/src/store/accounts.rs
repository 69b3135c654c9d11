//! Accounts: an author's standing in a forum and the actions that set it
//! (see [`crate::accounts`] for the rules), each written with its audit
//! entry and (for forums with a webhook) its `account` webhook in one
//! transaction; and what the author page reads.

use serde::Serialize;

use super::{Store, StoreError, WriteTx, dialect, on_pool};
use crate::accounts::{self, Account, AccountEvent, AccountInput, Standing};

/// The columns of an account row, in order.
const ACCOUNT_COLS: &str = "id, forum, author, standing, until, version";

type AccountRow = (i64, String, String, String, Option<i64>, i64);

fn account((id, forum, author_id, standing, until, version): AccountRow) -> Result<Account, StoreError> {
    let standing = Standing::parse(&standing)
        .ok_or_else(|| StoreError::Corrupt { table: "accounts", message: format!("standing `{standing}`") })?;
    Ok(Account { id, forum, author_id, standing, until, version })
}

/// One account action, as requested with its reason, who took it and why.
#[derive(Debug, Clone)]
pub struct AccountChange<'a> {
    /// The forum.
    pub forum: &'a str,
    /// The forum's id for the author.
    pub author: &'a str,
    /// What to do (valid: [`AccountInput::validate`]).
    pub input: &'a AccountInput,
    /// The reason code.
    pub reason: &'a str,
    /// The moderator's note.
    pub note: &'a str,
    /// The key that acts.
    pub actor: &'a str,
    /// The name webhooks carry, if the service sends names.
    pub webhook_name: Option<&'a str>,
    /// The item whose decision took the action.
    pub item_id: Option<i64>,
    /// The campaign whose decision took the action.
    pub campaign: Option<i64>,
    /// Whether the forum has a webhook URL.
    pub webhook: bool,
    /// Refuse unless the account's version is this (0: no action yet).
    pub expected_version: Option<i64>,
}

/// Why an account action was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// Another action was taken since the moderator looked.
    #[error("the account changed: its version is now {current}")]
    Stale {
        /// Its version now.
        current: i64,
    },
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ActError {
    fn from(e: sqlx::Error) -> ActError {
        ActError::Store(e.into())
    }
}

/// An author's posts of one status: (status, posts, reports against
/// them, first and last submission in Unix ms).
pub type AuthorCount = (String, i64, i64, i64, i64);

/// One action in an author's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AccountActionEntry {
    /// Its id.
    pub id: i64,
    /// `silence`, `suspend`, `ban` or `lift`.
    pub action: String,
    /// The duration asked for, in hours.
    pub duration_hours: Option<i64>,
    /// When the silence or suspension ends (Unix ms).
    pub until: Option<i64>,
    /// The standing before.
    pub from_standing: String,
    /// The standing after.
    pub to_standing: String,
    /// Whether the author's waiting posts were removed with it.
    pub remove_pending: bool,
    /// The reason code.
    pub reason: String,
    /// The moderator's note.
    pub note: String,
    /// The key that acted.
    pub actor: String,
    /// Its display name, when it has one.
    #[sqlx(skip)]
    pub actor_name: Option<String>,
    /// The item whose decision took it.
    pub item_id: Option<i64>,
    /// The campaign whose decision took it.
    pub campaign: Option<i64>,
    /// The account's version after it.
    pub version: i64,
    /// When (Unix ms).
    pub at: i64,
}

/// Applies an account action inside the open write transaction `tx`: the
/// account (made in good standing if the author has none), the action, its
/// audit entry and its webhook. `lock` is `" FOR UPDATE"` on PostgreSQL.
pub(super) async fn act_in<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    lock: &'static str,
    c: &AccountChange<'_>,
    now: i64,
) -> Result<Account, ActError>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> AccountRow: sqlx::FromRow<'r, DB::Row>,
{
    sqlx::query(
        "INSERT INTO accounts (forum, author, standing, until, version, updated_at) VALUES ($1, $2, 'good', NULL, 0, $3) \
         ON CONFLICT (forum, author) DO NOTHING",
    )
    .bind(c.forum)
    .bind(c.author)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let select = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE forum = $1 AND author = $2{lock}");
    // Constant text only; the values are bound.
    let row: AccountRow =
        sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(c.forum).bind(c.author).fetch_one(&mut **tx).await?;
    let current = account(row)?;
    if c.expected_version.is_some_and(|v| v != current.version) {
        return Err(ActError::Stale { current: current.version });
    }
    let t = accounts::act(&current, c.input, now);
    sqlx::query("UPDATE accounts SET standing = $1, until = $2, version = $3, updated_at = $4 WHERE id = $5")
        .bind(t.to.as_str())
        .bind(t.until)
        .bind(t.version)
        .bind(now)
        .bind(current.id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO account_actions (account, action, duration_hours, until, from_standing, to_standing, \
         remove_pending, reason, note, actor, item_id, campaign, version, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(current.id)
    .bind(c.input.action.as_str())
    .bind(c.input.duration_hours.map(i64::from))
    .bind(t.until)
    .bind(t.from.as_str())
    .bind(t.to.as_str())
    .bind(c.input.remove_pending)
    .bind(c.reason)
    .bind(c.note)
    .bind(c.actor)
    .bind(c.item_id)
    .bind(c.campaign)
    .bind(t.version)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO audit_log (item_id, account_id, actor, action, from_status, to_status, reason, note, version, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(c.item_id.unwrap_or(0))
    .bind(current.id)
    .bind(c.actor)
    .bind(c.input.action.audit_action())
    .bind(t.from.as_str())
    .bind(t.to.as_str())
    .bind(c.reason)
    .bind(c.note)
    .bind(t.version)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if c.webhook {
        let event = AccountEvent {
            action: c.input.action,
            author_id: c.author.to_string(),
            campaign_id: c.campaign,
            decided_at: now,
            duration_hours: c.input.duration_hours,
            event: "account",
            event_version: 1,
            forum: c.forum.to_string(),
            idempotency_key: AccountEvent::key(current.id, t.version),
            item_id: c.item_id,
            moderator: c.actor.to_string(),
            moderator_name: c.webhook_name.map(str::to_string),
            note: c.note.to_string(),
            reason: c.reason.to_string(),
            remove_pending: c.input.remove_pending,
            standing: t.to,
            until: t.until,
            version: t.version,
        };
        // An account's webhooks are ordered among themselves, as an item's are.
        super::outbox::enqueue_payload(
            tx,
            -current.id,
            c.forum,
            t.version,
            &event.idempotency_key,
            &event.to_json(),
            now,
        )
        .await?;
    }
    Ok(Account { standing: t.to, until: t.until, version: t.version, ..current })
}

impl Store {
    /// Takes an account action on its own (from the author page).
    pub async fn act_on_account(&self, change: &AccountChange<'_>, now: i64) -> Result<Account, ActError> {
        let lock = dialect!(self, sqlite: "", postgres: " FOR UPDATE");
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let account = act_in(&mut tx, lock, change, now).await?;
            tx.commit().await?;
            Ok(account)
        })
    }

    /// An author's account, if any action was ever taken on it.
    pub async fn account(&self, forum: &str, author: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE forum = $1 AND author = $2");
        let row: Option<AccountRow> = on_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(forum).bind(author).fetch_optional(p).await?
        });
        row.map(account).transpose()
    }

    /// An author's posts in `forum` per status: (status, posts, reports
    /// against them, first and last submission).
    pub async fn author_counts(&self, forum: &str, author: &str) -> Result<Vec<AuthorCount>, StoreError> {
        const SQL: &str = "SELECT status, COUNT(*), CAST(COALESCE(SUM(report_count), 0) AS BIGINT), \
                           MIN(created_at), MAX(created_at) FROM items WHERE forum = $1 AND author_id = $2 \
                           GROUP BY status ORDER BY status";
        Ok(on_pool!(self, p => sqlx::query_as(SQL).bind(forum).bind(author).fetch_all(p).await?))
    }

    /// How many of an author's posts memory holds (within its retention).
    pub async fn author_remembered(&self, forum: &str, author: &str) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM memory_posts WHERE forum = $1 AND author = $2";
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(SQL).bind(forum).bind(author).fetch_one(p).await?);
        Ok(n)
    }

    /// Ids of an author's posts waiting for a moderator (pending or
    /// escalated), oldest first, after `after`; at most `limit`.
    pub async fn author_waiting(
        &self,
        forum: &str,
        author: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        const SQL: &str = "SELECT id FROM items WHERE forum = $1 AND author_id = $2 AND id > $3 \
                           AND status IN ('pending', 'escalated') ORDER BY id LIMIT $4";
        let rows: Vec<(i64,)> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(forum)
            .bind(author)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?);
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// An account's actions, newest first.
    pub async fn account_actions(&self, account: i64, limit: u32) -> Result<Vec<AccountActionEntry>, StoreError> {
        const SQL: &str = "SELECT id, action, duration_hours, until, from_standing, to_standing, remove_pending, \
                           reason, note, actor, item_id, campaign, version, at FROM account_actions \
                           WHERE account = $1 ORDER BY id DESC LIMIT $2";
        Ok(on_pool!(self, p => sqlx::query_as(SQL).bind(account).bind(i64::from(limit)).fetch_all(p).await?))
    }
}
