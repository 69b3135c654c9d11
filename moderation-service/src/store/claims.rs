//! Claims: a moderator's lease on an item, taken, renewed, given up, or
//! taken from the head of the queue. Who may claim is decided by
//! [`crate::review`]; each change appends to the audit log.

use super::audit::append;
use super::items::{Item, ItemRow, item_cols, load_item};
use super::listing::ListFilter;
use super::{Store, StoreError, WriteTx, dialect, on_pool};
use crate::review::{self, Claim, ItemState, Transition};

/// Why a claim or release was refused, or failed.
#[derive(Debug)]
pub enum ClaimError {
    /// No such item (or not in the key's forums).
    NotFound,
    /// Another moderator holds it.
    Held(Claim),
    /// The database failed.
    Store(StoreError),
}

impl From<review::ClaimError> for ClaimError {
    fn from(e: review::ClaimError) -> ClaimError {
        match e {
            review::ClaimError::Held(claim) => ClaimError::Held(claim),
        }
    }
}

impl From<StoreError> for ClaimError {
    fn from(e: StoreError) -> ClaimError {
        ClaimError::Store(e)
    }
}

impl From<sqlx::Error> for ClaimError {
    fn from(e: sqlx::Error) -> ClaimError {
        ClaimError::Store(e.into())
    }
}

/// Writes a claim transition of `row` inside `tx`: the claim columns and
/// the audit entry.
async fn apply_claim<DB>(
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
    sqlx::query("UPDATE items SET claimed_by = $1, claim_expires_at = $2 WHERE id = $3")
        .bind(t.claim.as_ref().map(|c| c.by.as_str()))
        .bind(t.claim.as_ref().map(|c| c.expires_at))
        .bind(row.id)
        .execute(&mut **tx)
        .await?;
    append(tx, &t.audit).await?;
    row.set_claim(t.claim.as_ref());
    Ok(row)
}

impl Store {
    /// Claims an item for `actor` until `now + lease_ms` (renews the
    /// actor's own claim; takes over an expired one).
    pub async fn claim(
        &self,
        id: i64,
        actor: &str,
        forums: &[String],
        lease_ms: i64,
        now: i64,
    ) -> Result<Item, ClaimError> {
        self.change_claim(id, forums, now, |item| review::claim(item, actor, lease_ms, now)).await
    }

    /// Gives a claim up. Releasing an unclaimed item is not an error.
    pub async fn release(&self, id: i64, actor: &str, forums: &[String], now: i64) -> Result<Item, ClaimError> {
        self.change_claim(id, forums, now, |item| review::release(item, actor, now)).await
    }

    /// Locks and loads the item, asks `rule` what changes, and writes it.
    async fn change_claim(
        &self,
        id: i64,
        forums: &[String],
        now: i64,
        rule: impl Fn(&ItemState) -> Result<Transition, review::ClaimError>,
    ) -> Result<Item, ClaimError> {
        let select = self.select_item_for_update();
        let row = on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let row = load_item(&mut tx, select, id).await?;
            let row = row.filter(|r| crate::keys::scope_covers(forums, &r.forum)).ok_or(ClaimError::NotFound)?;
            let t = rule(&row.state()?)?;
            let row = apply_claim(&mut tx, row, &t).await?;
            tx.commit().await?;
            row
        });
        Ok(row.into_item(now, false)?)
    }

    /// Claims up to `n` unclaimed items at the head of the queue for
    /// `actor`. Concurrent callers (several instances on PostgreSQL) never
    /// get the same item: rows being claimed are skipped, not waited for.
    pub async fn claim_next(
        &self,
        filter: &ListFilter,
        forums: &[String],
        actor: &str,
        n: u32,
        lease_ms: i64,
        now: i64,
    ) -> Result<Vec<Item>, StoreError> {
        // One statement over every forum in scope, so the items come in
        // queue order whatever forum they are in.
        let scope: Vec<&str> = match (&filter.forum, forums) {
            (Some(f), _) if !crate::keys::scope_covers(forums, f) => return Ok(Vec::new()),
            (Some(f), _) => vec![f.as_str()],
            (None, scoped) => scoped.iter().map(String::as_str).collect(),
        };
        let lock = dialect!(self, sqlite: "", postgres: " FOR UPDATE SKIP LOCKED");
        let mut pick = String::from(
            "SELECT id FROM items WHERE status = $4 AND score >= $5 AND (claimed_by IS NULL OR claim_expires_at <= $3)",
        );
        let mut k = 7;
        if !scope.is_empty() {
            let marks: Vec<String> = (0..scope.len()).map(|i| format!("${}", k + i)).collect();
            pick.push_str(&format!(" AND forum IN ({})", marks.join(", ")));
            k += scope.len();
        }
        if filter.category.is_some() {
            pick.push_str(&format!(" AND category = ${k}"));
        }
        // Constant fragments and placeholders only (see `list_sql`); values are bound.
        let sql = format!(
            "UPDATE items SET claimed_by = $1, claim_expires_at = $2 WHERE id IN \
             ({pick} ORDER BY queue_rank, created_at, id LIMIT $6{lock}) RETURNING {}",
            item_cols!()
        );
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(actor)
                .bind(now.saturating_add(lease_ms))
                .bind(now)
                .bind(filter.status.as_str())
                .bind(filter.min_score)
                .bind(i64::from(n));
            for f in &scope {
                q = q.bind(*f);
            }
            if let Some(c) = filter.category {
                q = q.bind(c.as_str());
            }
            let mut rows: Vec<ItemRow> = q.fetch_all(&mut *tx).await?;
            rows.sort_by_key(|r| (r.queue_rank, r.created_at, r.id));
            for r in &rows {
                // The statement gave `actor` the claim: the rules agree.
                let t = review::claim(&r.state()?, actor, lease_ms, now).map_err(|_| StoreError::Corrupt {
                    table: "items",
                    message: format!("item {} claimed for {actor} is held by another", r.id),
                })?;
                append(&mut tx, &t.audit).await?;
            }
            tx.commit().await?;
            rows.into_iter().map(|r| r.into_item(now, false)).collect()
        })
    }

    /// Releases every claim `actor` holds except on `keep` (a moderator on
    /// the page works one item at a time).
    pub async fn release_others(&self, actor: &str, keep: i64, now: i64) -> Result<u64, StoreError> {
        const HELD: &str = concat!(
            "SELECT ",
            item_cols!(),
            " FROM items WHERE claimed_by = $1 AND claim_expires_at > $2 AND id <> $3"
        );
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let held: Vec<ItemRow> = sqlx::query_as(HELD).bind(actor).bind(now).bind(keep).fetch_all(&mut *tx).await?;
            let n = held.len() as u64;
            for row in held {
                let t = review::move_on(&row.state()?, actor, now);
                apply_claim(&mut tx, row, &t).await?;
            }
            tx.commit().await?;
            Ok(n)
        })
    }
}
