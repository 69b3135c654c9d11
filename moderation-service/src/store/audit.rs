//! The audit log: every change of an item appends one entry, in the
//! change's transaction ([`append`]); moderators read it newest first.

use serde::Serialize;

use super::{Store, StoreError, on_pool};
use crate::review::{AuditRecord, Status};

/// One audit log entry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Increasing id.
    pub id: i64,
    /// The item (0 for a model's entry, and for an account action taken on the author page).
    pub item_id: i64,
    /// The forum model, for `model.promote`, `model.retire`, `model.rollback`, `model.restore`.
    pub model_id: Option<i64>,
    /// The account, for `account.silence`, `account.suspend`, `account.ban`, `account.lift`
    /// (`from_status` and `to_status` are then standings, `version` the account's).
    pub account_id: Option<i64>,
    /// The key id that acted (`key_…`).
    pub actor: String,
    /// That key's display name, when it has one.
    #[sqlx(skip)]
    pub actor_name: Option<String>,
    /// `submitted`, `edited`, `reported`, `claimed`, `released`, `approve`, `remove`, `escalate`, `restore`; for models `model.promote`, `model.retire`, `model.rollback`, `model.restore`; for accounts `account.silence`, `account.suspend`, `account.ban`, `account.lift`.
    pub action: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: String,
    /// Reason code (decisions, reports).
    pub reason: String,
    /// Free text.
    pub note: String,
    /// The item's version after the change.
    pub version: i64,
    /// When (Unix ms).
    pub at: i64,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// One item's.
    pub item_id: Option<i64>,
    /// These actors' (key ids; empty: anyone's).
    pub actors: Vec<String>,
    /// One action.
    pub action: Option<String>,
    /// Entries with ids below this (pagination, newest first).
    pub before: Option<i64>,
    /// Only entries of items in these forums (empty: every forum).
    pub forums: Vec<String>,
}

/// Appends one audit entry inside the open transaction `tx`.
pub(super) async fn append<DB>(tx: &mut sqlx::Transaction<'_, DB>, r: &AuditRecord) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO audit_log (item_id, actor, action, from_status, to_status, reason, note, version, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(r.item)
    .bind(r.actor.as_str())
    .bind(r.action)
    .bind(r.from.map(Status::as_str))
    .bind(r.to.as_str())
    .bind(r.reason.as_str())
    .bind(r.note.as_str())
    .bind(r.version)
    .bind(r.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Audit entries, newest first.
    pub async fn audit(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let mut sql = String::from(
            "SELECT id, item_id, model_id, account_id, actor, action, from_status, to_status, reason, note, version, at \
             FROM audit_log WHERE id < $1",
        );
        let mut n = 2;
        for (present, column) in [(filter.item_id.is_some(), "item_id"), (filter.action.is_some(), "action")] {
            if present {
                sql.push_str(&format!(" AND {column} = ${n}"));
                n += 1;
            }
        }
        if !filter.actors.is_empty() {
            let marks: Vec<String> = (0..filter.actors.len()).map(|i| format!("${}", n + i)).collect();
            sql.push_str(&format!(" AND actor IN ({})", marks.join(", ")));
            n += filter.actors.len();
        }
        if !filter.forums.is_empty() {
            let marks: Vec<String> = (0..filter.forums.len()).map(|i| format!("${}", n + i)).collect();
            let marks = marks.join(", ");
            sql.push_str(&format!(
                " AND (item_id IN (SELECT id FROM items WHERE forum IN ({marks})) \
                 OR account_id IN (SELECT id FROM accounts WHERE forum IN ({marks})))"
            ));
            n += filter.forums.len();
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${n}"));
        // Constant fragments and placeholders only; values are bound.
        Ok(on_pool!(self, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(filter.before.unwrap_or(i64::MAX));
            if let Some(i) = filter.item_id {
                q = q.bind(i);
            }
            if let Some(a) = &filter.action {
                q = q.bind(a);
            }
            for a in &filter.actors {
                q = q.bind(a);
            }
            for f in &filter.forums {
                q = q.bind(f);
            }
            q.bind(i64::from(limit)).fetch_all(p).await?
        }))
    }
}
