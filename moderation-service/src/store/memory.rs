//! Memory of each forum's recent posts (see `moderation_core::memory`):
//! what a submission leaves, what the next one recalls, an author's
//! memory erased on request, and the retention sweep.

use moderation_core::fingerprint::Fingerprint;
use moderation_core::memory::{Recall, Remembered, SharedTrace, Traces};

use super::{Store, StoreError, WriteTx, on_pool};

/// Most earlier posts one recall reads per kind (bounds a recall's cost
/// whatever the size of a wave).
pub const MAX_RECALLED: i64 = 500;

/// What a submission leaves in memory.
#[derive(Debug, Clone)]
pub struct Remember<'a> {
    /// The forum.
    pub forum: &'a str,
    /// The post's id.
    pub post_id: &'a str,
    /// Its author's id ('' when unknown).
    pub author: &'a str,
    /// Whether the author was a new account.
    pub new_account: bool,
    /// When (Unix ms).
    pub at: i64,
    /// Its traces.
    pub traces: &'a Traces,
}

impl Store {
    /// The key of the handle and phone hashes: made on first use (32 random
    /// bytes) and the same for every instance of this database.
    pub async fn memory_key(&self) -> Result<String, StoreError> {
        const READ: &str = "SELECT key FROM memory_key WHERE id = 1";
        if let Some((k,)) = on_pool!(self, p => sqlx::query_as::<_, (String,)>(READ).fetch_optional(p).await?) {
            return Ok(k);
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
        let key = hex::encode(bytes);
        const PUT: &str = "INSERT INTO memory_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING";
        on_pool!(self, p => {
            sqlx::query(PUT).bind(&key).execute(p).await?;
        });
        // Another instance may have won the race: its key is the key.
        let (k,): (String,) = on_pool!(self, p => sqlx::query_as(READ).fetch_one(p).await?);
        Ok(k)
    }

    /// What memory holds about a new post: earlier posts sharing a band of
    /// its fingerprint since `since`, earlier posts carrying its traces since
    /// `since`, and the author's posts since `burst_since`.
    pub async fn recall(
        &self,
        forum: &str,
        author: &str,
        traces: &Traces,
        since: i64,
        burst_since: i64,
    ) -> Result<Recall, StoreError> {
        let mut recall = Recall::default();
        if !traces.bands.is_empty() {
            let in_list = placeholders(4, traces.bands.len());
            let sql = format!(
                "SELECT DISTINCT p.post_id, p.author, p.at, p.new_account, p.print FROM memory_bands b \
                 JOIN memory_posts p ON p.id = b.post \
                 WHERE b.forum = $1 AND b.at >= $2 AND b.band IN ({in_list}) ORDER BY p.at DESC LIMIT $3"
            );
            let rows: Vec<(String, String, i64, bool, Option<Vec<u8>>)> = on_pool!(self, p => {
                // Only placeholders are formatted into the text: the values are bound.
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(forum).bind(since).bind(MAX_RECALLED);
                for b in &traces.bands {
                    q = q.bind(*b);
                }
                q.fetch_all(p).await?
            });
            recall.similar = rows
                .into_iter()
                .map(|(post, author, at, new_account, print)| Remembered {
                    post,
                    author,
                    at,
                    new_account,
                    print: print.as_deref().and_then(Fingerprint::from_bytes),
                })
                .collect();
        }
        for t in &traces.traces {
            const SQL: &str = "SELECT p.author, p.new_account FROM memory_traces t JOIN memory_posts p ON p.id = t.post \
                               WHERE t.forum = $1 AND t.kind = $2 AND t.value = $3 AND t.at >= $4 \
                               ORDER BY t.at DESC LIMIT $5";
            let rows: Vec<(String, bool)> = on_pool!(self, p => sqlx::query_as(SQL)
                .bind(forum)
                .bind(t.kind.as_str())
                .bind(&t.value)
                .bind(since)
                .bind(MAX_RECALLED)
                .fetch_all(p)
                .await?);
            recall.shared.extend(
                rows.into_iter()
                    .map(|(author, new_account)| SharedTrace { trace: t.clone(), author, new_account }),
            );
        }
        if !author.is_empty() {
            const SQL: &str = "SELECT COUNT(*) FROM memory_posts WHERE forum = $1 AND author = $2 AND at >= $3";
            let (n,): (i64,) =
                on_pool!(self, p => sqlx::query_as(SQL).bind(forum).bind(author).bind(burst_since).fetch_one(p).await?);
            recall.author_recent = u32::try_from(n).unwrap_or(u32::MAX);
        }
        Ok(recall)
    }

    /// Remembers a submitted post, in one transaction.
    pub async fn remember(&self, r: &Remember<'_>) -> Result<(), StoreError> {
        let print = r.traces.print.map(|p| p.to_bytes().to_vec());
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            const INSERT: &str = "INSERT INTO memory_posts (forum, post_id, author, new_account, at, print) \
                                  VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
            let (id,): (i64,) = sqlx::query_as(INSERT)
                .bind(r.forum)
                .bind(r.post_id)
                .bind(r.author)
                .bind(r.new_account)
                .bind(r.at)
                .bind(print)
                .fetch_one(&mut *tx)
                .await?;
            for b in &r.traces.bands {
                sqlx::query("INSERT INTO memory_bands (forum, band, post, at) VALUES ($1, $2, $3, $4)")
                    .bind(r.forum)
                    .bind(*b)
                    .bind(id)
                    .bind(r.at)
                    .execute(&mut *tx)
                    .await?;
            }
            for t in &r.traces.traces {
                sqlx::query("INSERT INTO memory_traces (forum, kind, value, post, at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(r.forum)
                    .bind(t.kind.as_str())
                    .bind(&t.value)
                    .bind(id)
                    .bind(r.at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Erases everything memory holds about one author of one forum; returns
    /// how many of their posts it held.
    pub async fn forget_author(&self, forum: &str, author: &str) -> Result<u64, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            sqlx::query("DELETE FROM memory_bands WHERE post IN (SELECT id FROM memory_posts WHERE forum = $1 AND author = $2)")
                .bind(forum).bind(author).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM memory_traces WHERE post IN (SELECT id FROM memory_posts WHERE forum = $1 AND author = $2)")
                .bind(forum).bind(author).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM memory_posts WHERE forum = $1 AND author = $2")
                .bind(forum).bind(author).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n)
        })
    }

    /// Deletes memory older than `before`, at most `limit` posts per call
    /// (a sweep is bounded; the caller repeats while it returns `limit`).
    pub async fn sweep_memory(&self, before: i64, limit: i64) -> Result<u64, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            sqlx::query("DELETE FROM memory_bands WHERE post IN (SELECT id FROM memory_posts WHERE at < $1 ORDER BY at LIMIT $2)")
                .bind(before).bind(limit).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM memory_traces WHERE post IN (SELECT id FROM memory_posts WHERE at < $1 ORDER BY at LIMIT $2)")
                .bind(before).bind(limit).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM memory_posts WHERE id IN (SELECT id FROM memory_posts WHERE at < $1 ORDER BY at LIMIT $2)")
                .bind(before).bind(limit).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n)
        })
    }

    /// Posts memory holds (for metrics and tests).
    pub async fn memory_size(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as("SELECT COUNT(*) FROM memory_posts").fetch_one(p).await?);
        Ok(n)
    }
}

/// `$first, $first+1, …` (`n` of them).
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}
