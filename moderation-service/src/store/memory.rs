//! Memory of each forum's recent posts (see `moderation_core::memory`),
//! the shared and durable record behind each instance's in-process index
//! (`crate::recent`): what submissions leave (written in batches), what an
//! instance reads of the others' in id order, an author's memory erased on
//! request, and the retention sweep.

use moderation_core::fingerprint::Fingerprint;
use moderation_core::memory::{Trace, TraceKind, Traces};

use super::{Store, StoreError, WriteTx, on_pool, runs, value_rows};

/// What a submission leaves in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Remember {
    /// The forum.
    pub forum: String,
    /// The post's id.
    pub post_id: String,
    /// Its author's id ('' when unknown).
    pub author: String,
    /// Whether the author was a new account.
    pub new_account: bool,
    /// When (Unix ms).
    pub at: i64,
    /// Its traces (the band keys are not stored: they follow from the print).
    pub traces: Traces,
    /// The earlier posts of its wave, if it is in one: it joins their
    /// campaign, or forms one with them (written with the memory rows).
    pub wave: Vec<super::Joining>,
    /// Held because the campaign it joins had been removed.
    pub held: bool,
    /// The campaign it joins, when it was found at submit (then `wave` is
    /// not needed to find it).
    pub campaign: Option<i64>,
}

/// A post memory holds, as another instance reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRow {
    /// Its row id (rows are read in this order).
    pub id: i64,
    /// The instance that wrote it.
    pub instance: String,
    /// The post.
    pub post: Remember,
}

/// An author's erasure, as another instance reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// Its row id.
    pub id: i64,
    /// The forum.
    pub forum: String,
    /// The author.
    pub author: String,
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

    /// Remembers submitted posts written by `instance`, in one transaction.
    pub async fn remember_many(&self, instance: &str, posts: &[Remember]) -> Result<(), StoreError> {
        if posts.is_empty() {
            return Ok(());
        }
        match self {
            Store::Sqlite(p) => {
                let mut tx = p.write_tx().await?;
                remember_in(&mut tx, instance, posts).await?;
                tx.commit().await?;
            }
            Store::Postgres(p) => {
                let mut tx = p.write_tx().await?;
                // Memory is derived data (a row lost in a crash costs a later
                // post one comparison, never a submission, which has its own
                // durable commit): its commits need not wait for the WAL flush.
                sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
                remember_in(&mut tx, instance, posts).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Up to `limit` remembered posts after row `after` (in id order) that
    /// are at least as recent as `since`, with their traces; those written
    /// by instance `except` are left out (an instance's own posts are in
    /// its index already: reading them back would double the database's
    /// work for every post).
    pub async fn memory_since(
        &self,
        after: i64,
        since: i64,
        limit: i64,
        except: Option<&str>,
    ) -> Result<Vec<MemoryRow>, StoreError> {
        // The first read of a large memory starts at the window, not at row 0.
        let after = if after == 0 {
            const FIRST: &str = "SELECT MIN(id) FROM memory_posts WHERE at >= $1";
            let (first,): (Option<i64>,) = on_pool!(self, p => sqlx::query_as(FIRST).bind(since).fetch_one(p).await?);
            first.map_or(after, |f| f - 1)
        } else {
            after
        };
        // `$4` is '' (no instance's id) when every row is wanted.
        const POSTS: &str = "SELECT id, instance, forum, post_id, author, new_account, at, print FROM memory_posts \
                             WHERE id > $1 AND at >= $2 AND instance <> $4 ORDER BY id LIMIT $3";
        let except = except.unwrap_or("");
        type Row = (i64, String, String, String, String, bool, i64, Option<Vec<u8>>);
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(POSTS)
            .bind(after).bind(since).bind(limit).bind(except).fetch_all(p).await?);
        let (Some(first), Some(last)) = (rows.first().map(|r| r.0), rows.last().map(|r| r.0)) else {
            return Ok(Vec::new());
        };
        const TRACES: &str = "SELECT t.post, t.kind, t.value FROM memory_traces t JOIN memory_posts p ON p.id = t.post \
                              WHERE t.post >= $1 AND t.post <= $2 AND p.instance <> $3";
        let traces: Vec<(i64, String, String)> =
            on_pool!(self, p => sqlx::query_as(TRACES).bind(first).bind(last).bind(except).fetch_all(p).await?);
        let mut by_post: std::collections::HashMap<i64, Vec<Trace>> = std::collections::HashMap::new();
        for (post, kind, value) in traces {
            if let Some(kind) = TraceKind::parse(&kind) {
                by_post.entry(post).or_default().push(Trace { kind, value });
            }
        }
        Ok(rows
            .into_iter()
            .map(|(id, instance, forum, post_id, author, new_account, at, print)| {
                let print = print.as_deref().and_then(Fingerprint::from_bytes);
                let mut traces = by_post.remove(&id).unwrap_or_default();
                traces.sort();
                let traces = Traces {
                    bands: print.map(|p| p.band_keys().iter().map(|&k| k as i64).collect()).unwrap_or_default(),
                    print,
                    traces,
                    ..Traces::default()
                };
                let post = Remember {
                    forum,
                    post_id,
                    author,
                    new_account,
                    at,
                    traces,
                    wave: Vec::new(),
                    held: false,
                    campaign: None,
                };
                MemoryRow { id, instance, post }
            })
            .collect())
    }

    /// The last row id of memory's posts and of its erasures (0 when none):
    /// where an instance that has just loaded memory starts reading.
    pub async fn memory_heads(&self) -> Result<(i64, i64), StoreError> {
        const SQL: &str = "SELECT (SELECT COALESCE(MAX(id), 0) FROM memory_posts), (SELECT COALESCE(MAX(id), 0) FROM memory_erasures)";
        let heads: (i64, i64) = on_pool!(self, p => sqlx::query_as(SQL).fetch_one(p).await?);
        Ok(heads)
    }

    /// Erasures after row `after`, in id order.
    pub async fn erasures_since(&self, after: i64) -> Result<Vec<Erasure>, StoreError> {
        const SQL: &str = "SELECT id, forum, author FROM memory_erasures WHERE id > $1 ORDER BY id LIMIT 1000";
        let rows: Vec<(i64, String, String)> = on_pool!(self, p => sqlx::query_as(SQL).bind(after).fetch_all(p).await?);
        Ok(rows.into_iter().map(|(id, forum, author)| Erasure { id, forum, author }).collect())
    }

    /// Erases everything memory holds about one author of one forum and
    /// records the erasure for the other instances; returns how many of
    /// their posts it held.
    pub async fn forget_author(&self, forum: &str, author: &str, at: i64) -> Result<u64, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            sqlx::query("DELETE FROM memory_traces WHERE post IN (SELECT id FROM memory_posts WHERE forum = $1 AND author = $2)")
                .bind(forum).bind(author).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM memory_posts WHERE forum = $1 AND author = $2")
                .bind(forum).bind(author).execute(&mut *tx).await?.rows_affected();
            sqlx::query("INSERT INTO memory_erasures (forum, author, at) VALUES ($1, $2, $3)")
                .bind(forum).bind(author).bind(at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(n)
        })
    }

    /// Deletes memory older than `before`, at most `limit` posts per call
    /// (a sweep is bounded; the caller repeats while it returns `limit`).
    pub async fn sweep_memory(&self, before: i64, limit: i64) -> Result<u64, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            sqlx::query("DELETE FROM memory_traces WHERE post IN (SELECT id FROM memory_posts WHERE at < $1 ORDER BY at LIMIT $2)")
                .bind(before).bind(limit).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM memory_posts WHERE id IN (SELECT id FROM memory_posts WHERE at < $1 ORDER BY at LIMIT $2)")
                .bind(before).bind(limit).execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM memory_erasures WHERE id IN (SELECT id FROM memory_erasures WHERE at < $1 ORDER BY id LIMIT $2)")
                .bind(before).bind(limit).execute(&mut *tx).await?;
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

/// Most rows per multi-row `INSERT` (a power of two: see [`runs`]).
const MEMORY_ROWS_PER_STATEMENT: usize = 32;

/// Remembers posts inside the open write transaction `tx` (the submission
/// writer's: memory rides on its group commit instead of contending with
/// it for SQLite's one write lock).
pub(super) async fn remember_in<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    instance: &str,
    posts: &[Remember],
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<Vec<u8>>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64, String): sqlx::FromRow<'r, DB::Row>,
    for<'r> (i64, String, String): sqlx::FromRow<'r, DB::Row>,
{
    // One statement for the posts and one for their traces per chunk, not
    // one per row: each statement is a round trip to the database (on
    // SQLite, to its connection's thread) while the writer holds the lock.
    for chunk in runs(posts, MEMORY_ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO memory_posts (forum, post_id, author, new_account, at, print, instance) VALUES {} \
             RETURNING id, forum, post_id",
            value_rows(chunk.len(), 7)
        );
        // Only placeholders are formatted into the text: the values are bound.
        let mut q = sqlx::query_as::<DB, (i64, String, String)>(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r.forum.as_str())
                .bind(r.post_id.as_str())
                .bind(r.author.as_str())
                .bind(r.new_account)
                .bind(r.at)
                .bind(r.traces.print.map(|p| p.to_bytes().to_vec()))
                .bind(instance);
        }
        // RETURNING does not promise the order of VALUES: rows are matched
        // back to their posts by (forum, post id).
        let rows = q.fetch_all(&mut **tx).await?;
        let ids: std::collections::HashMap<(&str, &str), i64> =
            rows.iter().map(|(id, forum, post)| ((forum.as_str(), post.as_str()), *id)).collect();
        let traces: Vec<(&Remember, &moderation_core::memory::Trace, i64)> = chunk
            .iter()
            .filter_map(|r| ids.get(&(r.forum.as_str(), r.post_id.as_str())).map(|&id| (r, id)))
            .flat_map(|(r, id)| r.traces.traces.iter().map(move |t| (r, t, id)))
            .collect();
        for part in runs(&traces, MEMORY_ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO memory_traces (forum, kind, value, post, at) VALUES {}",
                value_rows(part.len(), 5)
            );
            let mut q = sqlx::query::<DB>(sqlx::AssertSqlSafe(sql));
            for (r, t, id) in part {
                q = q.bind(r.forum.as_str()).bind(t.kind.as_str()).bind(t.value.as_str()).bind(*id).bind(r.at);
            }
            q.execute(&mut **tx).await?;
        }
    }
    // Posts joining a known campaign join it together: one insert of
    // members and one update of the campaign per campaign, not per post (a
    // wave is hundreds of posts a minute, all updating one row). A post
    // whose campaign is not known yet finds it, or forms it, with its copies.
    let mut known: std::collections::BTreeMap<(&str, i64), Vec<super::Joining>> = Default::default();
    for r in posts {
        let me = super::Joining { post_id: r.post_id.clone(), author: r.author.clone(), at: r.at, held: r.held };
        match r.campaign {
            Some(c) => known.entry((r.forum.as_str(), c)).or_default().push(me),
            None if !r.wave.is_empty() => {
                let mut joining = Vec::with_capacity(r.wave.len() + 1);
                joining.push(me);
                joining.extend(r.wave.iter().cloned());
                super::campaigns::join_in(tx, &r.forum, None, &joining).await?;
            }
            None => {}
        }
    }
    for ((forum, campaign), joining) in known {
        for part in runs(&joining, MEMORY_ROWS_PER_STATEMENT) {
            super::campaigns::join_in(tx, forum, Some(campaign), part).await?;
        }
    }
    Ok(())
}
