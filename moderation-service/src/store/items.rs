//! Items and reports: the stored row, submissions (first, edited or
//! identical), community reports, and reading items back.
//!
//! Every write is one transaction that also appends to the audit log, so
//! an item never changes without its record. A row about to be changed is
//! read locked (`FOR UPDATE` on PostgreSQL; the `BEGIN IMMEDIATE` write
//! lock on SQLite); what changes is decided by [`crate::review`].

use moderation_core::{Category, Decision, Post, Verdict};
use serde::Serialize;

use super::audit::append;
use super::{Store, StoreError, WriteTx, dialect, forum_in, is_unique_violation, on_pool, parse_name};
use crate::review::{self, Claim, ItemState, Policy, Report, Scored, Status};

/// The columns of an [`ItemRow`], in order.
macro_rules! item_cols {
    () => {
        "id, forum, post_id, author_id, post, verdict, decision, category, score, status, report_weight, \
         report_count, queue_rank, version, claimed_by, claim_expires_at, reason, decided_by, decided_at, \
         created_at, updated_at"
    };
}
pub(super) use item_cols;

const SELECT_BY_ID: &str = concat!("SELECT ", item_cols!(), " FROM items WHERE id = $1");

/// An `items` row as stored.
#[derive(sqlx::FromRow)]
pub(super) struct ItemRow {
    pub(super) id: i64,
    pub(super) forum: String,
    post_id: String,
    pub(super) author_id: Option<String>,
    pub(super) post: String,
    verdict: String,
    decision: String,
    category: String,
    score: f64,
    status: String,
    report_weight: f64,
    report_count: i64,
    pub(super) queue_rank: i64,
    pub(super) version: i64,
    pub(super) claimed_by: Option<String>,
    pub(super) claim_expires_at: Option<i64>,
    pub(super) reason: String,
    pub(super) decided_by: Option<String>,
    pub(super) decided_at: Option<i64>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

impl ItemRow {
    pub(super) fn status(&self) -> Result<Status, StoreError> {
        Status::parse(&self.status)
            .ok_or_else(|| StoreError::Corrupt { table: "items", message: format!("status `{}`", self.status) })
    }

    /// The claim as stored (possibly expired).
    fn stored_claim(&self) -> Option<Claim> {
        match (&self.claimed_by, self.claim_expires_at) {
            (Some(by), Some(until)) => Some(Claim { by: by.clone(), by_name: None, expires_at: until }),
            _ => None,
        }
    }

    /// What the rules need to change the item.
    pub(super) fn state(&self) -> Result<ItemState, StoreError> {
        Ok(ItemState {
            id: self.id,
            forum: self.forum.clone(),
            post_id: self.post_id.clone(),
            status: self.status()?,
            version: self.version,
            claim: self.stored_claim(),
            category: parse_name("items", &self.category)?,
            score: self.score,
            report_weight: self.report_weight,
        })
    }

    /// Records a new status (and its version and update time).
    pub(super) fn set_status(&mut self, status: Status, version: i64, now: i64) {
        self.status = status.as_str().to_string();
        self.version = version;
        self.updated_at = now;
    }

    /// Records a new claim.
    pub(super) fn set_claim(&mut self, claim: Option<&Claim>) {
        self.claimed_by = claim.map(|c| c.by.clone());
        self.claim_expires_at = claim.map(|c| c.expires_at);
    }

    pub(super) fn into_item(self, now: i64, with_verdict: bool) -> Result<Item, StoreError> {
        let corrupt = |m: serde_json::Error| StoreError::Corrupt { table: "items", message: m.to_string() };
        let post: Post = serde_json::from_str(&self.post).map_err(corrupt)?;
        let verdict = if with_verdict { Some(serde_json::from_str(&self.verdict).map_err(corrupt)?) } else { None };
        Ok(Item {
            id: self.id,
            status: self.status()?,
            claim: self.stored_claim().filter(|c| c.live(now)),
            decision: parse_name("items", &self.decision)?,
            category: parse_name("items", &self.category)?,
            forum: self.forum,
            post_id: self.post_id,
            author_id: self.author_id,
            score: self.score,
            priority: -self.queue_rank,
            report_weight: self.report_weight,
            report_count: self.report_count,
            version: self.version,
            reason: self.reason,
            decided_by: self.decided_by,
            decided_by_name: None,
            decided_at: self.decided_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            post,
            verdict,
        })
    }
}

/// A stored post and where it is in the queue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Item {
    /// The queue's id for it.
    pub id: i64,
    /// The forum it came from.
    pub forum: String,
    /// The forum's id for the post.
    pub post_id: String,
    /// The forum's id for the author.
    pub author_id: Option<String>,
    /// Where it is.
    pub status: Status,
    /// The engine's decision when it was last scored.
    pub decision: Decision,
    /// Its top category.
    pub category: Category,
    /// That category's score.
    pub score: f64,
    /// Queue order (higher first): score in thousandths plus 100 per unit of report weight.
    pub priority: i64,
    /// Summed weight of community reports.
    pub report_weight: f64,
    /// Number of community reports.
    pub report_count: i64,
    /// Grows with every change; webhooks carry it so an older decision never undoes a newer one.
    pub version: i64,
    /// The claim, while one is held.
    pub claim: Option<Claim>,
    /// The reason code of the last moderator decision.
    pub reason: String,
    /// The key that made the last moderator decision.
    pub decided_by: Option<String>,
    /// That moderator's display name, when their key has one.
    pub decided_by_name: Option<String>,
    /// When (Unix ms).
    pub decided_at: Option<i64>,
    /// First submitted (Unix ms).
    pub created_at: i64,
    /// Last changed (Unix ms).
    pub updated_at: i64,
    /// The post as submitted, leaked secrets starred out.
    pub post: Post,
    /// The verdict (only when one item is fetched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

/// What a submission did.
#[derive(Debug, Clone)]
pub struct SubmitOutcome {
    /// The item as stored now.
    pub item: Item,
    /// Whether this was the post's first submission.
    pub created: bool,
    /// Whether anything changed (false for an identical resubmission).
    pub changed: bool,
}

/// Loads an item by id inside `tx` with `select` (one of
/// [`Store::select_item_for_update`]'s texts).
pub(super) async fn load_item<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    select: &'static str,
    id: i64,
) -> Result<Option<ItemRow>, StoreError>
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
    Ok(sqlx::query_as(select).bind(id).fetch_optional(&mut **tx).await?)
}

/// Loads a forum's post inside `tx` with `select` (one of
/// [`Store::select_post_for_update`]'s texts).
async fn load_post<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    select: &'static str,
    forum: &str,
    post_id: &str,
) -> Result<Option<ItemRow>, StoreError>
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
    Ok(sqlx::query_as(select).bind(forum).bind(post_id).fetch_optional(&mut **tx).await?)
}

/// Stores one scored post inside the open write transaction `tx`.
async fn submit_in<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    select: &'static str,
    scored: &Scored,
    actor: &str,
    policy: &Policy,
    now: i64,
) -> Result<SubmitOutcome, StoreError>
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
    let post_json = to_json(&scored.post)?;
    let verdict_json = to_json(&scored.verdict)?;
    let (category, score) = review::top(&scored.verdict);
    let decision = scored.verdict.decision;
    let author = scored.post.author.as_ref().map(|a| a.id.as_str());
    // The common case, a new post, is one statement: insert unless the
    // (forum, post id) exists, returning the row.
    let status = policy.status_for(decision, 0.0);
    let inserted: Option<ItemRow> = sqlx::query_as(concat!(
        "INSERT INTO items (forum, post_id, author_id, post, verdict, decision, category, score, status, \
         queue_rank, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11) \
         ON CONFLICT (forum, post_id) DO NOTHING RETURNING ",
        item_cols!()
    ))
    .bind(scored.forum.as_str())
    .bind(scored.post.id.as_str())
    .bind(author)
    .bind(post_json.as_str())
    .bind(verdict_json.as_str())
    .bind(decision.as_str())
    .bind(category.as_str())
    .bind(score)
    .bind(status.as_str())
    .bind(-review::priority(score, 0.0))
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = inserted {
        let t = review::created(&row.state()?, decision, actor, now);
        append(tx, &t.audit).await?;
        return Ok(SubmitOutcome { item: row.into_item(now, false)?, created: true, changed: true });
    }
    let row = load_post(tx, select, &scored.forum, &scored.post.id)
        .await?
        .ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))?;
    if row.post == post_json {
        return Ok(SubmitOutcome { item: row.into_item(now, false)?, created: false, changed: false });
    }
    let t = review::edit(&row.state()?, decision, score, policy, actor, now);
    let row: ItemRow = sqlx::query_as(concat!(
        "UPDATE items SET author_id = $1, post = $2, verdict = $3, decision = $4, category = $5, \
         score = $6, status = $7, queue_rank = $8, version = $9, updated_at = $10 WHERE id = $11 RETURNING ",
        item_cols!()
    ))
    .bind(author)
    .bind(post_json.as_str())
    .bind(verdict_json.as_str())
    .bind(decision.as_str())
    .bind(category.as_str())
    .bind(score)
    .bind(t.status.as_str())
    .bind(-t.priority)
    .bind(t.version)
    .bind(now)
    .bind(row.id)
    .fetch_one(&mut **tx)
    .await?;
    append(tx, &t.audit).await?;
    Ok(SubmitOutcome { item: row.into_item(now, false)?, created: false, changed: true })
}

/// Records a new report on `row` inside `tx`: the report row, then (when
/// it is the reporter's first on the item) the item's new weight, status
/// and version per [`review::report`] and the audit entry.
async fn report_in<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    row: ItemRow,
    report: &Report,
    actor: &str,
    policy: &Policy,
    now: i64,
) -> Result<(Item, bool), StoreError>
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
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO reports (item_id, reporter_id, trust_level, weight, reason, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (item_id, reporter_id) DO NOTHING RETURNING id",
    )
    .bind(row.id)
    .bind(report.reporter_id.as_str())
    .bind(report.trust_level.map(i64::from))
    .bind(policy.report_weight(report.trust_level))
    .bind(report.reason.as_str())
    .bind(report.note.as_str())
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_none() {
        return Ok((row.into_item(now, false)?, false));
    }
    let t = review::report(&row.state()?, report, policy, actor, now);
    sqlx::query(
        "UPDATE items SET report_weight = $1, report_count = report_count + 1, status = $2, queue_rank = $3, \
         version = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(t.report_weight)
    .bind(t.status.as_str())
    .bind(-t.priority)
    .bind(t.version)
    .bind(now)
    .bind(row.id)
    .execute(&mut **tx)
    .await?;
    append(tx, &t.audit).await?;
    let row: ItemRow = sqlx::query_as(SELECT_BY_ID).bind(row.id).fetch_one(&mut **tx).await?;
    Ok((row.into_item(now, false)?, true))
}

impl Store {
    /// Stores a scored post: inserts it, or, when the forum sends the same
    /// post id again, updates it (rescored, requeued per [`Policy`]); an
    /// identical resubmission changes nothing.
    pub async fn submit(
        &self,
        scored: &Scored,
        actor: &str,
        policy: &Policy,
        now: i64,
    ) -> Result<SubmitOutcome, StoreError> {
        match self.submit_once(scored, actor, policy, now).await {
            // Two first submissions of one post raced; the loser is now an update.
            Err(e) if is_unique_violation(&e) => self.submit_once(scored, actor, policy, now).await,
            other => other,
        }
    }

    async fn submit_once(
        &self,
        scored: &Scored,
        actor: &str,
        policy: &Policy,
        now: i64,
    ) -> Result<SubmitOutcome, StoreError> {
        let select = self.select_post_for_update();
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let outcome = submit_in(&mut tx, select, scored, actor, policy, now).await?;
            tx.commit().await?;
            Ok(outcome)
        })
    }

    /// Stores several scored posts in ONE transaction (group commit: one
    /// durable write for the lot). All or nothing: on any error nothing is
    /// stored and the caller retries them one by one.
    pub async fn submit_batch(
        &self,
        batch: &[(&Scored, &str)],
        policy: &Policy,
        now: i64,
        memory: (&str, &[super::Remember]),
    ) -> Result<Vec<SubmitOutcome>, StoreError> {
        let select = self.select_post_for_update();
        // Rows are locked in (forum, post id) order, whatever order the
        // requests came in: two writers on PostgreSQL holding the same
        // posts then wait for each other instead of deadlocking.
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by(|&a, &b| (&batch[a].0.forum, &batch[a].0.post.id).cmp(&(&batch[b].0.forum, &batch[b].0.post.id)));
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let mut outcomes: Vec<Option<SubmitOutcome>> = vec![None; batch.len()];
            for &i in &order {
                let (scored, actor) = batch[i];
                outcomes[i] = Some(submit_in(&mut tx, select, scored, actor, policy, now).await?);
            }
            // Memory of earlier submissions (`memory`: the writing instance
            // and its posts) rides on this commit.
            super::memory::remember_in(&mut tx, memory.0, memory.1).await?;
            tx.commit().await?;
            Ok(outcomes.into_iter().flatten().collect())
        })
    }

    /// The text that reads one item by id (`$1`) for a change.
    pub(super) fn select_item_for_update(&self) -> &'static str {
        dialect!(self,
            sqlite: concat!("SELECT ", item_cols!(), " FROM items WHERE id = $1"),
            postgres: concat!("SELECT ", item_cols!(), " FROM items WHERE id = $1 FOR UPDATE"))
    }

    /// The text that reads one post by forum (`$1`) and post id (`$2`) for a change.
    fn select_post_for_update(&self) -> &'static str {
        dialect!(self,
            sqlite: concat!("SELECT ", item_cols!(), " FROM items WHERE forum = $1 AND post_id = $2"),
            postgres: concat!("SELECT ", item_cols!(), " FROM items WHERE forum = $1 AND post_id = $2 FOR UPDATE"))
    }

    /// Records a community report on a submitted post. Returns the item and
    /// whether the report was new (a user reporting twice counts once);
    /// `None` when the forum never submitted that post.
    pub async fn report(
        &self,
        forum: &str,
        post_id: &str,
        report: &Report,
        actor: &str,
        policy: &Policy,
        now: i64,
    ) -> Result<Option<(Item, bool)>, StoreError> {
        let select = self.select_post_for_update();
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let Some(row) = load_post(&mut tx, select, forum, post_id).await? else { return Ok(None) };
            let (item, new) = report_in(&mut tx, row, report, actor, policy, now).await?;
            if new {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            Ok(Some((item, new)))
        })
    }

    /// One item with its verdict; `None` when unknown or outside `forums`
    /// (empty = every forum).
    pub async fn item(&self, id: i64, forums: &[String], now: i64) -> Result<Option<Item>, StoreError> {
        let row: Option<ItemRow> = on_pool!(self, p => sqlx::query_as(SELECT_BY_ID).bind(id).fetch_optional(p).await?);
        match row {
            Some(r) if crate::keys::scope_covers(forums, &r.forum) => Ok(Some(r.into_item(now, true)?)),
            _ => Ok(None),
        }
    }

    /// The reports on an item, oldest first.
    pub async fn reports(&self, item_id: i64) -> Result<Vec<Report>, StoreError> {
        const SQL: &str = "SELECT reporter_id, trust_level, reason, note, created_at, weight FROM reports \
                           WHERE item_id = $1 ORDER BY id";
        type Row = (String, Option<i64>, String, String, i64, f64);
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(SQL).bind(item_id).fetch_all(p).await?);
        Ok(rows
            .into_iter()
            .map(|(reporter_id, trust, reason, note, created_at, weight)| Report {
                reporter_id,
                trust_level: trust.and_then(|t| u8::try_from(t).ok()),
                reason,
                note,
                created_at,
                weight,
            })
            .collect())
    }

    /// The author's other items in the forum, newest first (the item page's
    /// "history").
    pub async fn author_history(
        &self,
        forum: &str,
        author_id: &str,
        except: i64,
        limit: u32,
        now: i64,
    ) -> Result<Vec<Item>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            item_cols!(),
            " FROM items WHERE forum = $1 AND author_id = $2 AND id <> $3 ORDER BY id DESC LIMIT $4"
        );
        let rows: Vec<ItemRow> = on_pool!(self, p => sqlx::query_as(SQL)
            .bind(forum)
            .bind(author_id)
            .bind(except)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?);
        rows.into_iter().map(|r| r.into_item(now, false)).collect()
    }

    /// The most recently submitted items with their verdicts, in `forums`
    /// (empty: every forum), for a rules dry run.
    pub async fn recent(&self, forums: &[String], limit: u32, now: i64) -> Result<Vec<Item>, StoreError> {
        let sql = format!(
            "SELECT {} FROM items{} ORDER BY id DESC LIMIT $1",
            item_cols!(),
            forum_in(forums, 2).map(|c| format!(" WHERE {c}")).unwrap_or_default()
        );
        // Constant fragments and placeholders only; values are bound.
        let rows: Vec<ItemRow> = on_pool!(self, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit));
            for f in forums {
                q = q.bind(f);
            }
            q.fetch_all(p).await?
        });
        rows.into_iter().map(|r| r.into_item(now, true)).collect()
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt { table: "items", message: e.to_string() })
}
