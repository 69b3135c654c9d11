//! The queue as moderators see it: listing in queue order a page at a
//! time (cursors), counts per status and category, and the plan of the
//! listing query.

use moderation_core::Category;

use super::items::{Item, ItemRow, item_cols};
use super::{Store, StoreError, forum_in, on_pool, parse_name};
use crate::review::Status;

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
            (Some(f), _) if !crate::keys::scope_covers(forums, f) => Vec::new(),
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
