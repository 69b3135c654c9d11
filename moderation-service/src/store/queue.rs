//! Items, reports, claims, decisions and the audit log.
//!
//! Every write is one transaction that also appends to `audit_log` (and,
//! for decisions, to `outbox`), so an item never changes without its record
//! and a decision is never committed without its webhook. Reads of a row
//! that is about to be changed lock it (`FOR UPDATE` on PostgreSQL; the
//! `BEGIN IMMEDIATE` write lock on SQLite).

use moderation_core::{Category, Decision, Post, Verdict};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, WriteTx, dialect, is_unique_violation, on_pool, parse_name};
use crate::review::{self, Policy, Scored, Status};
use crate::webhook::DecisionEvent;

macro_rules! item_cols {
    () => {
        "id, forum, post_id, author_id, post, verdict, decision, category, score, status, report_weight, \
         report_count, queue_rank, version, claimed_by, claim_expires_at, reason, decided_by, decided_at, \
         created_at, updated_at"
    };
}

/// Appends one audit entry inside the current transaction.
macro_rules! audit {
    ($tx:expr, $item:expr, $actor:expr, $action:expr, $from:expr, $to:expr, $reason:expr, $note:expr, $version:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO audit_log (item_id, actor, action, from_status, to_status, reason, note, version, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind($item)
        .bind($actor)
        .bind($action)
        .bind($from)
        .bind($to)
        .bind($reason)
        .bind($note)
        .bind($version)
        .bind($now)
        .execute(&mut *$tx)
        .await?
    };
}

/// Stores one scored post inside an open write transaction `$tx` and
/// evaluates to its [`SubmitOutcome`] (`?` on database errors).
macro_rules! submit_in {
    ($tx:expr, $select:expr, $scored:expr, $actor:expr, $policy:expr, $now:expr) => {{
        let post_json = to_json(&$scored.post)?;
        let verdict_json = to_json(&$scored.verdict)?;
        let (category, score) = review::top(&$scored.verdict);
        let decision = $scored.verdict.decision;
        let author = $scored.post.author.as_ref().map(|a| a.id.clone());
        // The common case, a new post, is one statement: insert unless the
        // (forum, post id) exists, returning the row.
        let status = $policy.status_for(decision, 0.0);
        let inserted: Option<ItemRow> = sqlx::query_as(concat!(
            "INSERT INTO items (forum, post_id, author_id, post, verdict, decision, category, score, status, \
             queue_rank, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11) \
             ON CONFLICT (forum, post_id) DO NOTHING RETURNING ",
            item_cols!()
        ))
        .bind(&$scored.forum)
        .bind(&$scored.post.id)
        .bind(&author)
        .bind(&post_json)
        .bind(&verdict_json)
        .bind(decision.as_str())
        .bind(category.as_str())
        .bind(score)
        .bind(status.as_str())
        .bind(-review::priority(score, 0.0))
        .bind($now)
        .fetch_optional(&mut *$tx)
        .await?;
        if let Some(row) = inserted {
            audit!($tx, row.id, $actor, "submitted", None::<&str>, status.as_str(), decision.as_str(), "", 1_i64, $now);
            SubmitOutcome { item: row.into_item($now, false)?, created: true, changed: true }
        } else {
            let row: ItemRow =
                sqlx::query_as($select).bind(&$scored.forum).bind(&$scored.post.id).fetch_one(&mut *$tx).await?;
            if row.post == post_json {
                SubmitOutcome { item: row.into_item($now, false)?, created: false, changed: false }
            } else {
                let from = row.status()?;
                let status = $policy.status_after_edit(from, decision, row.report_weight);
                let version = row.version + 1;
                let row: ItemRow = sqlx::query_as(concat!(
                    "UPDATE items SET author_id = $1, post = $2, verdict = $3, decision = $4, category = $5, \
                     score = $6, status = $7, queue_rank = $8, version = $9, updated_at = $10 WHERE id = $11 RETURNING ",
                    item_cols!()
                ))
                .bind(&author)
                .bind(&post_json)
                .bind(&verdict_json)
                .bind(decision.as_str())
                .bind(category.as_str())
                .bind(score)
                .bind(status.as_str())
                .bind(-review::priority(score, row.report_weight))
                .bind(version)
                .bind($now)
                .bind(row.id)
                .fetch_one(&mut *$tx)
                .await?;
                audit!($tx, row.id, $actor, "edited", Some(from.as_str()), status.as_str(), decision.as_str(), "", version, $now);
                SubmitOutcome { item: row.into_item($now, false)?, created: false, changed: true }
            }
        }
    }};
}

const SELECT_BY_ID: &str = concat!("SELECT ", item_cols!(), " FROM items WHERE id = $1");

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: i64,
    forum: String,
    post_id: String,
    author_id: Option<String>,
    post: String,
    verdict: String,
    decision: String,
    category: String,
    score: f64,
    status: String,
    report_weight: f64,
    report_count: i64,
    queue_rank: i64,
    version: i64,
    claimed_by: Option<String>,
    claim_expires_at: Option<i64>,
    reason: String,
    decided_by: Option<String>,
    decided_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl ItemRow {
    fn status(&self) -> Result<Status, StoreError> {
        Status::parse(&self.status)
            .ok_or_else(|| StoreError::Corrupt { table: "items", message: format!("status `{}`", self.status) })
    }

    /// The claim, if one is held at `now`.
    fn claim(&self, now: i64) -> Option<Claim> {
        match (&self.claimed_by, self.claim_expires_at) {
            (Some(by), Some(until)) if until > now => Some(Claim { by: by.clone(), expires_at: until }),
            _ => None,
        }
    }

    fn into_item(self, now: i64, with_verdict: bool) -> Result<Item, StoreError> {
        let corrupt = |m: serde_json::Error| StoreError::Corrupt { table: "items", message: m.to_string() };
        let post: Post = serde_json::from_str(&self.post).map_err(corrupt)?;
        let verdict = if with_verdict { Some(serde_json::from_str(&self.verdict).map_err(corrupt)?) } else { None };
        Ok(Item {
            id: self.id,
            status: self.status()?,
            claim: self.claim(now),
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

/// A moderator's hold on an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Claim {
    /// The moderator's key id.
    pub by: String,
    /// When the lease runs out (Unix ms) unless renewed.
    pub expires_at: i64,
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

/// A community flag.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    /// The forum's id for the reporting user.
    pub reporter_id: String,
    /// Their trust level (weights the report).
    pub trust_level: Option<u8>,
    /// Why (`spam`, `scam`, `offensive`, …).
    pub reason: String,
    /// Free text.
    #[serde(default)]
    pub note: String,
    /// When (Unix ms); set by the service.
    #[serde(default)]
    pub created_at: i64,
    /// The weight it was given; set by the service.
    #[serde(default)]
    pub weight: f64,
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

/// Which items a listing shows.
#[derive(Debug, Clone)]
pub struct ListFilter {
    /// Status (the queue is `pending`).
    pub status: Status,
    /// Only this top category.
    pub category: Option<Category>,
    /// Only this forum.
    pub forum: Option<String>,
    /// Only items scoring at least this.
    pub min_score: f64,
}

/// A page of items and the cursor for the next one.
#[derive(Debug, Clone)]
pub struct Page {
    /// Items in queue order.
    pub items: Vec<Item>,
    /// Pass back to get the next page; `None` at the end.
    pub next: Option<String>,
}

/// Why a claim or release was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimError {
    /// No such item (or not in the key's forums).
    NotFound,
    /// Another moderator holds it.
    Held(Claim),
}

/// Why a decision was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// One audit log entry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Increasing id.
    pub id: i64,
    /// The item.
    pub item_id: i64,
    /// The key id that acted (`key_…`).
    pub actor: String,
    /// `submitted`, `edited`, `reported`, `claimed`, `released`, `approve`, `remove`, `escalate`, `restore`.
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
    /// One actor's (key id).
    pub actor: Option<String>,
    /// One action.
    pub action: Option<String>,
    /// Entries with ids below this (pagination, newest first).
    pub before: Option<i64>,
    /// Only entries of items in these forums (empty: every forum).
    pub forums: Vec<String>,
}

/// A queue position, as an opaque cursor string.
fn encode_cursor(item: &Item) -> String {
    format!("{}.{}.{}", -item.priority, item.created_at, item.id)
}

/// Parses a cursor made by this version; `None` when it is not one.
pub fn decode_cursor(s: &str) -> Option<(i64, i64, i64)> {
    let mut parts = s.split('.');
    let rank = parts.next()?.parse().ok()?;
    let created = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((rank, created, id))
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
            let outcome = submit_in!(tx, select, scored, actor, policy, now);
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
                let (scored, actor) = &batch[i];
                outcomes[i] = Some(submit_in!(tx, select, scored, *actor, policy, now));
            }
            tx.commit().await?;
            Ok(outcomes.into_iter().flatten().collect())
        })
    }

    fn select_item_for_update(&self) -> &'static str {
        dialect!(self,
            sqlite: concat!("SELECT ", item_cols!(), " FROM items WHERE id = $1"),
            postgres: concat!("SELECT ", item_cols!(), " FROM items WHERE id = $1 FOR UPDATE"))
    }

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
        let weight = policy.report_weight(report.trust_level);
        let select = self.select_post_for_update();
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let row: Option<ItemRow> = sqlx::query_as(select).bind(forum).bind(post_id).fetch_optional(&mut *tx).await?;
            let Some(row) = row else { return Ok(None) };
            let inserted = sqlx::query(
                "INSERT INTO reports (item_id, reporter_id, trust_level, weight, reason, note, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (item_id, reporter_id) DO NOTHING",
            )
            .bind(row.id)
            .bind(&report.reporter_id)
            .bind(report.trust_level.map(i64::from))
            .bind(weight)
            .bind(&report.reason)
            .bind(&report.note)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !inserted {
                tx.rollback().await?;
                return Ok(Some((row.into_item(now, false)?, false)));
            }
            let from = row.status()?;
            let total = row.report_weight + weight;
            let status = if from == Status::Allowed { policy.status_for(Decision::Allow, total) } else { from };
            let version = row.version + 1;
            sqlx::query(
                "UPDATE items SET report_weight = $1, report_count = report_count + 1, status = $2, queue_rank = $3, \
                 version = $4, updated_at = $5 WHERE id = $6",
            )
            .bind(total)
            .bind(status.as_str())
            .bind(-review::priority(row.score, total))
            .bind(version)
            .bind(now)
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
            audit!(tx, row.id, actor, "reported", Some(from.as_str()), status.as_str(), &report.reason, &report.note, version, now);
            let row: ItemRow = sqlx::query_as(SELECT_BY_ID).bind(row.id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some((row.into_item(now, false)?, true)))
        })
    }

    /// One item with its verdict; `None` when unknown or outside `forums`
    /// (empty = every forum).
    pub async fn item(&self, id: i64, forums: &[String], now: i64) -> Result<Option<Item>, StoreError> {
        const SQL: &str = concat!("SELECT ", item_cols!(), " FROM items WHERE id = $1");
        let row: Option<ItemRow> = on_pool!(self, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await?);
        match row {
            Some(r) if in_scope(forums, &r.forum) => Ok(Some(r.into_item(now, true)?)),
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

    /// Items in queue order (priority, then age), `limit` at a time, after
    /// `cursor`. `forums` limits a scoped moderator (empty = every forum).
    pub async fn list(
        &self,
        filter: &ListFilter,
        forums: &[String],
        cursor: Option<(i64, i64, i64)>,
        limit: u32,
        now: i64,
    ) -> Result<Page, StoreError> {
        let after = cursor.unwrap_or((i64::MIN, i64::MIN, i64::MIN));
        let mut items = match (&filter.forum, forums) {
            (Some(f), _) if !in_scope(forums, f) => Vec::new(),
            (Some(f), _) => self.list_one(filter, Some(f), after, limit, now).await?,
            (None, []) => self.list_one(filter, None, after, limit, now).await?,
            // A moderator scoped to several forums: the same page from each
            // forum's index, merged. Each is already in order.
            (None, scoped) => {
                let mut all = Vec::new();
                for f in scoped {
                    all.extend(self.list_one(filter, Some(f), after, limit, now).await?);
                }
                all.sort_by_key(|i| (-i.priority, i.created_at, i.id));
                all.truncate(limit as usize);
                all
            }
        };
        items.truncate(limit as usize);
        let next = (items.len() == limit as usize).then(|| items.last().map(encode_cursor)).flatten();
        Ok(Page { items, next })
    }

    async fn list_one(
        &self,
        filter: &ListFilter,
        forum: Option<&str>,
        after: (i64, i64, i64),
        limit: u32,
        now: i64,
    ) -> Result<Vec<Item>, StoreError> {
        let sql = list_sql(forum.is_some(), filter.category.is_some());
        let rows: Vec<ItemRow> = on_pool!(self, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(filter.status.as_str())
                .bind(filter.min_score)
                .bind(after.0)
                .bind(after.1)
                .bind(after.2);
            if let Some(f) = forum {
                q = q.bind(f);
            }
            if let Some(c) = filter.category {
                q = q.bind(c.as_str());
            }
            q.bind(i64::from(limit)).fetch_all(p).await?
        });
        rows.into_iter().map(|r| r.into_item(now, false)).collect()
    }

    /// Claims an item for `actor` until `now + lease_ms` (renews the
    /// actor's own claim; takes over an expired one).
    pub async fn claim(
        &self,
        id: i64,
        actor: &str,
        forums: &[String],
        lease_ms: i64,
        now: i64,
    ) -> Result<Result<Item, ClaimError>, StoreError> {
        self.set_claim(id, actor, forums, Some(now.saturating_add(lease_ms)), now).await
    }

    /// Gives a claim up. Releasing an unclaimed item is not an error.
    pub async fn release(
        &self,
        id: i64,
        actor: &str,
        forums: &[String],
        now: i64,
    ) -> Result<Result<Item, ClaimError>, StoreError> {
        self.set_claim(id, actor, forums, None, now).await
    }

    async fn set_claim(
        &self,
        id: i64,
        actor: &str,
        forums: &[String],
        until: Option<i64>,
        now: i64,
    ) -> Result<Result<Item, ClaimError>, StoreError> {
        let select = self.select_item_for_update();
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let row: Option<ItemRow> = sqlx::query_as(select).bind(id).fetch_optional(&mut *tx).await?;
            let Some(mut row) = row.filter(|r| in_scope(forums, &r.forum)) else { return Ok(Err(ClaimError::NotFound)) };
            if let Some(held) = row.claim(now).filter(|c| c.by != actor) {
                return Ok(Err(ClaimError::Held(held)));
            }
            let status = row.status()?;
            sqlx::query("UPDATE items SET claimed_by = $1, claim_expires_at = $2 WHERE id = $3")
                .bind(until.map(|_| actor))
                .bind(until)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let action = if until.is_some() { "claimed" } else { "released" };
            audit!(tx, id, actor, action, Some(status.as_str()), status.as_str(), "", "", row.version, now);
            tx.commit().await?;
            row.claimed_by = until.map(|_| actor.to_string());
            row.claim_expires_at = until;
            Ok(Ok(row.into_item(now, false)?))
        })
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
            (Some(f), _) if !in_scope(forums, f) => return Ok(Vec::new()),
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
                audit!(tx, r.id, actor, "claimed", Some(r.status.as_str()), r.status.as_str(), "", "", r.version, now);
            }
            tx.commit().await?;
            rows.into_iter().map(|r| r.into_item(now, false)).collect()
        })
    }

    /// Applies a moderator's decision: new status, version + 1, claim
    /// released, audit entry, and (when `webhook_for` the item's forum) a
    /// webhook in the outbox, all in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide(
        &self,
        id: i64,
        actor: &str,
        forums: &[String],
        decision: &crate::review::DecisionInput,
        webhook_for: &(dyn Fn(&str) -> bool + Sync),
        now: i64,
    ) -> Result<Result<Item, DecideError>, StoreError> {
        let select = self.select_item_for_update();
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let row: Option<ItemRow> = sqlx::query_as(select).bind(id).fetch_optional(&mut *tx).await?;
            let Some(mut row) = row.filter(|r| in_scope(forums, &r.forum)) else { return Ok(Err(DecideError::NotFound)) };
            if let Some(held) = row.claim(now).filter(|c| c.by != actor) {
                return Ok(Err(DecideError::Held(held)));
            }
            if decision.expected_version.is_some_and(|v| v != row.version) {
                return Ok(Err(DecideError::Stale { current: row.version }));
            }
            let from = row.status()?;
            let to = decision.action.target();
            if from == to {
                return Ok(Err(DecideError::NoChange(from)));
            }
            let event = decision.action.event(from);
            let version = row.version + 1;
            sqlx::query(
                "UPDATE items SET status = $1, version = $2, claimed_by = NULL, claim_expires_at = NULL, reason = $3, \
                 decided_by = $4, decided_at = $5, updated_at = $5, decided_post = post, decided_version = $2 WHERE id = $6",
            )
            .bind(to.as_str())
            .bind(version)
            .bind(&decision.reason)
            .bind(actor)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            audit!(tx, id, actor, event, Some(from.as_str()), to.as_str(), &decision.reason, &decision.note, version, now);
            if webhook_for(&row.forum) {
                let key = DecisionEvent::key(id, version);
                let payload = DecisionEvent {
                    action: event,
                    category: parse_name("items", &row.category)?,
                    decided_at: now,
                    event: "decision",
                    forum: row.forum.clone(),
                    idempotency_key: key.clone(),
                    item_id: id,
                    moderator: actor.to_string(),
                    note: decision.note.clone(),
                    post_id: row.post_id.clone(),
                    reason: decision.reason.clone(),
                    score: row.score,
                    status: to.as_str(),
                    version,
                };
                sqlx::query(
                    "INSERT INTO outbox (item_id, forum, version, idempotency_key, payload, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(id)
                .bind(&row.forum)
                .bind(version)
                .bind(&key)
                .bind(payload.to_json())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            row.status = to.as_str().to_string();
            row.version = version;
            row.claimed_by = None;
            row.claim_expires_at = None;
            row.reason = decision.reason.clone();
            row.decided_by = Some(actor.to_string());
            row.decided_at = Some(now);
            row.updated_at = now;
            Ok(Ok(row.into_item(now, false)?))
        })
    }

    /// Audit entries, newest first.
    pub async fn audit(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let mut sql = String::from(
            "SELECT id, item_id, actor, action, from_status, to_status, reason, note, version, at FROM audit_log WHERE id < $1",
        );
        let mut n = 2;
        for (present, column) in [
            (filter.item_id.is_some(), "item_id"),
            (filter.actor.is_some(), "actor"),
            (filter.action.is_some(), "action"),
        ] {
            if present {
                sql.push_str(&format!(" AND {column} = ${n}"));
                n += 1;
            }
        }
        if !filter.forums.is_empty() {
            let marks: Vec<String> = (0..filter.forums.len()).map(|i| format!("${}", n + i)).collect();
            sql.push_str(&format!(" AND item_id IN (SELECT id FROM items WHERE forum IN ({}))", marks.join(", ")));
            n += filter.forums.len();
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${n}"));
        // Constant fragments and placeholders only; values are bound.
        Ok(on_pool!(self, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(filter.before.unwrap_or(i64::MAX));
            if let Some(i) = filter.item_id {
                q = q.bind(i);
            }
            if let Some(a) = &filter.actor {
                q = q.bind(a);
            }
            if let Some(a) = &filter.action {
                q = q.bind(a);
            }
            for f in &filter.forums {
                q = q.bind(f);
            }
            q.bind(i64::from(limit)).fetch_all(p).await?
        }))
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

    /// Releases every claim `actor` holds except on `keep` (a moderator on
    /// the page works one item at a time).
    pub async fn release_others(&self, actor: &str, keep: i64, now: i64) -> Result<u64, StoreError> {
        const HELD: &str =
            "SELECT id, status, version FROM items WHERE claimed_by = $1 AND claim_expires_at > $2 AND id <> $3";
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let held: Vec<(i64, String, i64)> =
                sqlx::query_as(HELD).bind(actor).bind(now).bind(keep).fetch_all(&mut *tx).await?;
            for (id, status, version) in &held {
                sqlx::query("UPDATE items SET claimed_by = NULL, claim_expires_at = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                audit!(tx, *id, actor, "released", Some(status.as_str()), status.as_str(), "", "moved on", *version, now);
            }
            tx.commit().await?;
            Ok(held.len() as u64)
        })
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

    /// Items per (status, category) among the statuses a moderator works
    /// (pending, escalated, rejected) in `forums` (empty: every forum), for
    /// the queue page's counts.
    pub async fn queue_counts(&self, forums: &[String]) -> Result<Vec<(Status, Category, i64)>, StoreError> {
        let sql = format!(
            "SELECT status, category, COUNT(*) FROM items WHERE status IN ('pending', 'escalated', 'rejected'){} \
             GROUP BY status, category",
            forum_in(forums, 1).map(|c| format!(" AND {c}")).unwrap_or_default()
        );
        let rows: Vec<(String, String, i64)> = on_pool!(self, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for f in forums {
                q = q.bind(f);
            }
            q.fetch_all(p).await?
        });
        rows.into_iter()
            .map(|(s, c, n)| {
                let status = Status::parse(&s)
                    .ok_or_else(|| StoreError::Corrupt { table: "items", message: format!("status `{s}`") })?;
                Ok((status, parse_name("items", &c)?, n))
            })
            .collect()
    }

    /// Items per status, and the creation time of the oldest pending one
    /// (for `/metrics`).
    pub async fn queue_stats(&self) -> Result<(Vec<(Status, i64)>, Option<i64>), StoreError> {
        const COUNT: &str = "SELECT COUNT(*) FROM items WHERE status = $1";
        const OLDEST: &str = "SELECT MIN(created_at) FROM items WHERE status = 'pending'";
        let mut counts = Vec::new();
        for status in [Status::Pending, Status::Escalated, Status::Rejected] {
            let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(COUNT).bind(status.as_str()).fetch_one(p).await?);
            counts.push((status, n));
        }
        let (oldest,): (Option<i64>,) = on_pool!(self, p => sqlx::query_as(OLDEST).fetch_one(p).await?);
        Ok((counts, oldest))
    }
}

/// The listing query for a combination of filters: one fixed text per
/// combination, so each uses its own index (status | forum+status |
/// category+status, then rank, age, id) with no sort step. Only these
/// constant fragments are joined; every value is bound.
fn list_sql(forum: bool, category: bool) -> String {
    let mut sql = String::from(concat!(
        "SELECT ",
        item_cols!(),
        " FROM items WHERE status = $1 AND score >= $2 AND (queue_rank, created_at, id) > ($3, $4, $5)"
    ));
    let mut n = 6;
    if forum {
        sql.push_str(&format!(" AND forum = ${n}"));
        n += 1;
    }
    if category {
        sql.push_str(&format!(" AND category = ${n}"));
        n += 1;
    }
    sql.push_str(&format!(" ORDER BY queue_rank, created_at, id LIMIT ${n}"));
    sql
}

impl Store {
    /// The database's plan for the queue listing with these filters (an
    /// operator's check that the indexes are used; `EXPLAIN QUERY PLAN` on
    /// SQLite, `EXPLAIN` on PostgreSQL), one line per plan row.
    pub async fn explain_list(&self, filter: &ListFilter, forum: Option<&str>) -> Result<Vec<String>, StoreError> {
        let sql = list_sql(forum.is_some(), filter.category.is_some());
        let after = (i64::MIN, i64::MIN, i64::MIN);
        macro_rules! binds {
            ($q:expr) => {{
                let mut q =
                    $q.bind(filter.status.as_str()).bind(filter.min_score).bind(after.0).bind(after.1).bind(after.2);
                if let Some(f) = forum {
                    q = q.bind(f);
                }
                if let Some(c) = filter.category {
                    q = q.bind(c.as_str());
                }
                q.bind(50_i64)
            }};
        }
        match self {
            Store::Sqlite(p) => {
                let rows: Vec<(i64, i64, i64, String)> =
                    binds!(sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))))
                        .fetch_all(p)
                        .await?;
                Ok(rows.into_iter().map(|r| r.3).collect())
            }
            Store::Postgres(p) => {
                let rows: Vec<(String,)> =
                    binds!(sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")))).fetch_all(p).await?;
                Ok(rows.into_iter().map(|r| r.0).collect())
            }
        }
    }
}

/// `forum IN ($first, …)` for a scope, or `None` for every forum.
fn forum_in(forums: &[String], first: usize) -> Option<String> {
    (!forums.is_empty()).then(|| {
        let marks: Vec<String> = (0..forums.len()).map(|i| format!("${}", first + i)).collect();
        format!("forum IN ({})", marks.join(", "))
    })
}

fn in_scope(forums: &[String], forum: &str) -> bool {
    forums.is_empty() || forums.iter().any(|f| f == forum)
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt { table: "items", message: e.to_string() })
}
