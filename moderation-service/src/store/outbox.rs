//! The webhook outbox. A decision and its webhook are written in one
//! transaction; a worker takes due rows under a short lease, delivers
//! them and marks them delivered or reschedules them. A crash between
//! delivery and marking sends the webhook again (at-least-once); the
//! receiver deduplicates by idempotency key and ignores versions older
//! than the newest it has seen.

use super::{Store, StoreError, WriteTx, dialect, on_pool};
use crate::webhook::DecisionEvent;

/// Puts a decision's webhook in the outbox inside the decision's
/// transaction `tx`, due at once.
pub(super) async fn enqueue<DB>(tx: &mut sqlx::Transaction<'_, DB>, event: &DecisionEvent) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let payload = event.to_json();
    enqueue_payload(tx, event.item_id, &event.forum, event.version, &event.idempotency_key, &payload, event.decided_at)
        .await
}

/// Queues one webhook body inside `tx`. Deliveries with the same `order`
/// (an item's id; minus an account's id) go out one at a time in the order
/// they were queued.
pub(super) async fn enqueue_payload<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    order: i64,
    forum: &str,
    version: i64,
    idempotency_key: &str,
    payload: &str,
    at: i64,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO outbox (item_id, forum, version, idempotency_key, payload, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(order)
    .bind(forum)
    .bind(version)
    .bind(idempotency_key)
    .bind(payload)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    /// Outbox row id.
    pub id: i64,
    /// The item.
    pub item_id: i64,
    /// The forum (selects the webhook URL).
    pub forum: String,
    /// The item's version the decision made.
    pub version: i64,
    /// Sent as `Idempotency-Key`.
    pub idempotency_key: String,
    /// The JSON body, exactly as signed.
    pub payload: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// The backlog, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutboxStats {
    /// Webhooks not yet delivered.
    pub pending: i64,
    /// Creation time of the oldest one (Unix ms).
    pub oldest: Option<i64>,
}

impl Store {
    /// Leases up to `limit` due webhooks until `now + lease_ms`. Only the
    /// oldest undelivered webhook of an item is ever due, so an item's
    /// decisions reach the forum in version order.
    pub async fn due_webhooks(&self, now: i64, limit: u32, lease_ms: i64) -> Result<Vec<Delivery>, StoreError> {
        let select = dialect!(self,
            sqlite: "SELECT id, item_id, forum, version, idempotency_key, payload, attempts FROM outbox o \
                     WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND lease_until <= $1 \
                     AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.item_id = o.item_id AND e.delivered_at IS NULL AND e.id < o.id) \
                     ORDER BY id LIMIT $2",
            postgres: "SELECT id, item_id, forum, version, idempotency_key, payload, attempts FROM outbox o \
                       WHERE delivered_at IS NULL AND next_attempt_at <= $1 AND lease_until <= $1 \
                       AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.item_id = o.item_id AND e.delivered_at IS NULL AND e.id < o.id) \
                       ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED");
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let rows: Vec<Delivery> = sqlx::query_as(select).bind(now).bind(i64::from(limit)).fetch_all(&mut *tx).await?;
            for r in &rows {
                sqlx::query("UPDATE outbox SET lease_until = $1 WHERE id = $2")
                    .bind(now.saturating_add(lease_ms))
                    .bind(r.id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(rows)
        })
    }

    /// Marks a webhook delivered.
    pub async fn webhook_delivered(&self, id: i64, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE outbox SET delivered_at = $1, attempts = attempts + 1, lease_until = 0, \
                           last_error = NULL WHERE id = $2";
        on_pool!(self, p => sqlx::query(SQL).bind(now).bind(id).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub async fn webhook_failed(&self, id: i64, error: &str, retry_at: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE outbox SET attempts = attempts + 1, lease_until = 0, last_error = $1, \
                           next_attempt_at = $2 WHERE id = $3";
        on_pool!(self, p => sqlx::query(SQL).bind(error).bind(retry_at).bind(id).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Hands a leased webhook back untried (shutting down).
    pub async fn webhook_release(&self, id: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE outbox SET lease_until = 0 WHERE id = $1 AND delivered_at IS NULL";
        on_pool!(self, p => sqlx::query(SQL).bind(id).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Undelivered webhooks and the oldest one's age.
    pub async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        const SQL: &str = "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE delivered_at IS NULL";
        let (pending, oldest): (i64, Option<i64>) = on_pool!(self, p => sqlx::query_as(SQL).fetch_one(p).await?);
        Ok(OutboxStats { pending, oldest })
    }
}
