//! Campaigns: waves of near-duplicate posts from several accounts, as queue
//! objects. Formed at submit (`crate::app`), listed, read with their
//! members and shared evidence, and decided as one.

use serde::Serialize;

use super::{Store, StoreError, WriteTx, on_pool, placeholders, value_rows};

/// Adds posts of `forum` to campaign `known`, or else to the campaign the
/// first of them (the new post) or any of the others (its wave) belongs
/// to, or to a new campaign when none does, inside the open write transaction `tx` (the submission
/// writer's: campaigns are derived from memory and written with it). A post
/// already in a campaign stays where it is. Returns the campaign's id.
pub(super) async fn join_in<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    forum: &str,
    known: Option<i64>,
    posts: &[Joining],
) -> Result<i64, StoreError>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    let first = posts.iter().map(|p| p.at).min().unwrap_or(0);
    let last = posts.iter().map(|p| p.at).max().unwrap_or(0);
    let found = match known {
        Some(id) => Some((id,)),
        None => {
            let list = placeholders(2, posts.len());
            let sql = format!(
                "SELECT campaign FROM campaign_members WHERE forum = $1 AND post_id IN ({list}) \
                 ORDER BY campaign DESC LIMIT 1"
            );
            // Only placeholders are formatted into the text: the values are bound.
            let mut q = sqlx::query_as::<DB, (i64,)>(sqlx::AssertSqlSafe(sql)).bind(forum);
            for p in posts {
                q = q.bind(p.post_id.as_str());
            }
            q.fetch_optional(&mut **tx).await?
        }
    };
    let id = match found {
        Some((id,)) => id,
        None => {
            let (id,): (i64,) =
                sqlx::query_as("INSERT INTO campaigns (forum, first_seen, last_seen) VALUES ($1, $2, $3) RETURNING id")
                    .bind(forum)
                    .bind(first)
                    .bind(last)
                    .fetch_one(&mut **tx)
                    .await?;
            id
        }
    };
    // One statement for every joining post (a wave's post brings up to a
    // few dozen copies), not one per post.
    let sql = format!(
        "INSERT INTO campaign_members (forum, post_id, campaign, author, at, held) VALUES {} \
         ON CONFLICT (forum, post_id) DO NOTHING RETURNING campaign",
        value_rows(posts.len(), 6)
    );
    // Only placeholders are formatted into the text: the values are bound.
    let mut q = sqlx::query_as::<DB, (i64,)>(sqlx::AssertSqlSafe(sql));
    for m in posts {
        q = q.bind(forum).bind(m.post_id.as_str()).bind(id).bind(m.author.as_str()).bind(m.at).bind(m.held);
    }
    let joined = if posts.is_empty() { 0 } else { q.fetch_all(&mut **tx).await?.len() };
    if joined > 0 {
        sqlx::query(
            "UPDATE campaigns SET version = version + 1, \
             first_seen = CASE WHEN first_seen < $2 THEN first_seen ELSE $2 END, \
             last_seen = CASE WHEN last_seen > $3 THEN last_seen ELSE $3 END WHERE id = $1",
        )
        .bind(id)
        .bind(first)
        .bind(last)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

/// A campaign's status.
pub const OPEN: &str = "open";
/// Moderators removed it: new members are held.
pub const REMOVED: &str = "removed";
/// Moderators approved it (not a campaign after all).
pub const APPROVED: &str = "approved";

/// A campaign as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    /// Its id.
    pub id: i64,
    /// The forum.
    pub forum: String,
    /// `open`, `removed` or `approved`.
    pub status: String,
    /// Grows whenever a member joins or the status changes.
    pub version: i64,
    /// Posts in it.
    pub members: i64,
    /// Distinct accounts that posted them.
    pub accounts: i64,
    /// Members whose item waits for a moderator (pending or escalated).
    pub pending: i64,
    /// The first member's time (Unix ms).
    pub first_seen: i64,
    /// The last member's time (Unix ms).
    pub last_seen: i64,
    /// Who decided it (a key id), when decided.
    pub decided_by: Option<String>,
    /// That moderator's display name, when their key has one.
    pub decided_by_name: Option<String>,
    /// When (Unix ms).
    pub decided_at: Option<i64>,
    /// The decision's reason code.
    pub reason: Option<String>,
}

/// One post of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Member {
    /// The forum's post id.
    pub post_id: String,
    /// The queue item of the post.
    pub item_id: Option<i64>,
    /// The item's status.
    pub status: Option<String>,
    /// The author.
    pub author: String,
    /// When it joined (Unix ms).
    pub at: i64,
    /// Whether it was held because the campaign had been removed.
    pub held: bool,
}

/// Something several members share: a domain, an address, or a messenger
/// contact or phone number (as keyed hashes, never as written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    /// `domain`, `address`, `handle` or `phone`.
    pub kind: String,
    /// The domain or address; for handles and phones, their keyed hash.
    pub value: String,
    /// Accounts whose members carry it.
    pub accounts: i64,
}

/// A campaign with its members and shared evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CampaignDetail {
    /// The campaign.
    #[serde(flatten)]
    pub campaign: Campaign,
    /// Its posts, oldest first (at most 1,000).
    pub posts: Vec<Member>,
    /// What two or more of its accounts share, most shared first.
    pub evidence: Vec<Evidence>,
}

/// A post joining a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joining {
    /// The forum's post id.
    pub post_id: String,
    /// The author.
    pub author: String,
    /// When (Unix ms).
    pub at: i64,
    /// Held because the campaign had been removed.
    pub held: bool,
}

/// Why a campaign's status could not be set.
#[derive(Debug, thiserror::Error)]
pub enum CampaignChangeError {
    /// No such campaign.
    #[error("no such campaign")]
    NotFound,
    /// It changed since the moderator saw it.
    #[error("the campaign changed: its version is now {current}")]
    Stale {
        /// Its version now.
        current: i64,
    },
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

const SUMMARY: &str = "SELECT c.id, c.forum, c.status, c.version, \
     (SELECT COUNT(*) FROM campaign_members m WHERE m.campaign = c.id), \
     (SELECT COUNT(DISTINCT m.author) FROM campaign_members m WHERE m.campaign = c.id), \
     (SELECT COUNT(*) FROM campaign_members m JOIN items i ON i.forum = m.forum AND i.post_id = m.post_id \
      WHERE m.campaign = c.id AND i.status IN ('pending', 'escalated')), \
     c.first_seen, c.last_seen, c.decided_by, c.decided_at, c.reason FROM campaigns c";

type SummaryRow = (i64, String, String, i64, i64, i64, i64, i64, i64, Option<String>, Option<i64>, Option<String>);

fn campaign(r: SummaryRow) -> Campaign {
    let (id, forum, status, version, members, accounts, pending, first_seen, last_seen, decided_by, decided_at, reason) =
        r;
    Campaign {
        id,
        forum,
        status,
        version,
        members,
        accounts,
        pending,
        first_seen,
        last_seen,
        decided_by,
        decided_by_name: None,
        decided_at,
        reason,
    }
}

impl Store {
    /// The campaign (id and status) that one of these posts of `forum`
    /// belongs to, the most recent if several.
    pub async fn campaign_of(&self, forum: &str, post_ids: &[String]) -> Result<Option<(i64, String)>, StoreError> {
        if post_ids.is_empty() {
            return Ok(None);
        }
        let list = placeholders(2, post_ids.len());
        let sql = format!(
            "SELECT c.id, c.status FROM campaign_members m JOIN campaigns c ON c.id = m.campaign \
             WHERE m.forum = $1 AND m.post_id IN ({list}) ORDER BY c.id DESC LIMIT 1"
        );
        let row: Option<(i64, String)> = on_pool!(self, p => {
            // Only placeholders are formatted into the text: the values are bound.
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(forum);
            for id in post_ids {
                q = q.bind(id.as_str());
            }
            q.fetch_optional(p).await?
        });
        Ok(row)
    }

    /// A campaign's status, if it exists.
    pub async fn campaign_status(&self, id: i64) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT status FROM campaigns WHERE id = $1";
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await?);
        Ok(row.map(|r| r.0))
    }

    /// Campaigns of `forums` (every forum when empty), most recently active
    /// first, optionally of one status; at most `limit`.
    pub async fn campaigns(
        &self,
        forums: &[String],
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Campaign>, StoreError> {
        let mut sql = format!("{SUMMARY} WHERE ($1 = '' OR c.status = $1)");
        if !forums.is_empty() {
            let list = placeholders(3, forums.len());
            sql.push_str(&format!(" AND c.forum IN ({list})"));
        }
        sql.push_str(" ORDER BY c.last_seen DESC, c.id DESC LIMIT $2");
        let rows: Vec<SummaryRow> = on_pool!(self, p => {
            // Only placeholders are formatted into the text: the values are bound.
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(status.unwrap_or("")).bind(limit);
            for f in forums {
                q = q.bind(f.as_str());
            }
            q.fetch_all(p).await?
        });
        Ok(rows.into_iter().map(campaign).collect())
    }

    /// The campaign of each of these items that belongs to one: (item, campaign).
    pub async fn campaigns_of_items(&self, items: &[i64]) -> Result<Vec<(i64, i64)>, StoreError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(1, items.len());
        let sql = format!(
            "SELECT i.id, m.campaign FROM items i JOIN campaign_members m ON m.forum = i.forum AND m.post_id = i.post_id \
             WHERE i.id IN ({list})"
        );
        Ok(on_pool!(self, p => {
            // Only placeholders are formatted into the text: the values are bound.
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for id in items {
                q = q.bind(*id);
            }
            q.fetch_all(p).await?
        }))
    }

    /// The campaigns an author of `forum` posted in, most recently active
    /// first; at most `limit`.
    pub async fn author_campaigns(&self, forum: &str, author: &str, limit: i64) -> Result<Vec<Campaign>, StoreError> {
        let sql = format!(
            "{SUMMARY} WHERE c.id IN (SELECT campaign FROM campaign_members WHERE forum = $1 AND author = $2) \
             ORDER BY c.last_seen DESC, c.id DESC LIMIT $3"
        );
        let rows: Vec<SummaryRow> = on_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(forum).bind(author).bind(limit).fetch_all(p).await?
        });
        Ok(rows.into_iter().map(campaign).collect())
    }

    /// One campaign with its members (oldest first, at most 1,000) and what
    /// two or more of its accounts share.
    pub async fn campaign(&self, id: i64) -> Result<Option<CampaignDetail>, StoreError> {
        let sql = format!("{SUMMARY} WHERE c.id = $1");
        let row: Option<SummaryRow> =
            on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        let Some(row) = row else { return Ok(None) };
        const MEMBERS: &str = "SELECT m.post_id, i.id, i.status, m.author, m.at, m.held FROM campaign_members m \
                               LEFT JOIN items i ON i.forum = m.forum AND i.post_id = m.post_id \
                               WHERE m.campaign = $1 ORDER BY m.at, m.post_id LIMIT 1000";
        let members: Vec<(String, Option<i64>, Option<String>, String, i64, bool)> =
            on_pool!(self, p => sqlx::query_as(MEMBERS).bind(id).fetch_all(p).await?);
        const EVIDENCE: &str = "SELECT t.kind, t.value, COUNT(DISTINCT p.author) FROM campaign_members m \
                                JOIN memory_posts p ON p.forum = m.forum AND p.post_id = m.post_id \
                                JOIN memory_traces t ON t.post = p.id \
                                WHERE m.campaign = $1 GROUP BY t.kind, t.value HAVING COUNT(DISTINCT p.author) >= 2 \
                                ORDER BY 3 DESC, t.kind, t.value LIMIT 20";
        let evidence: Vec<(String, String, i64)> =
            on_pool!(self, p => sqlx::query_as(EVIDENCE).bind(id).fetch_all(p).await?);
        Ok(Some(CampaignDetail {
            campaign: campaign(row),
            posts: members
                .into_iter()
                .map(|(post_id, item_id, status, author, at, held)| Member {
                    post_id,
                    item_id,
                    status,
                    author,
                    at,
                    held,
                })
                .collect(),
            evidence: evidence.into_iter().map(|(kind, value, accounts)| Evidence { kind, value, accounts }).collect(),
        }))
    }

    /// Sets a campaign's status if its version is still `expected`;
    /// returns it after.
    pub async fn decide_campaign(
        &self,
        id: i64,
        expected: i64,
        status: &str,
        by: &str,
        reason: &str,
        now: i64,
    ) -> Result<(), CampaignChangeError> {
        on_pool!(self, p => {
            let mut tx = p.write_tx().await.map_err(StoreError::from)?;
            let current: Option<(i64,)> = sqlx::query_as("SELECT version FROM campaigns WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            match current {
                None => return Err(CampaignChangeError::NotFound),
                Some((v,)) if v != expected => return Err(CampaignChangeError::Stale { current: v }),
                Some(_) => {}
            }
            sqlx::query(
                "UPDATE campaigns SET status = $2, version = version + 1, decided_by = $3, decided_at = $4, reason = $5 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(status)
            .bind(by)
            .bind(now)
            .bind(reason)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            tx.commit().await.map_err(StoreError::from)?;
            Ok(())
        })
    }
}
