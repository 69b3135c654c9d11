//! Forum models and what the learner reads and writes: the models adapted
//! to a forum (versioned bytes with their checksum, evaluation, status, who
//! promoted them), the labels (decided items and imported history), shadow
//! verdicts, and the learner's per-forum bookkeeping and lease. Promotions
//! and rollbacks bump one version row every instance polls, and write their
//! audit entries in the same transaction.

use serde::Serialize;

use super::{Store, StoreError, WriteTx, on_pool};

/// A model's place in its forum's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelStatus {
    /// Trained, not promoted: scores live traffic in shadow.
    Candidate,
    /// The forum's model.
    Live,
    /// Was live; replaced or rolled back.
    Retired,
    /// Not better than the live model when it was judged, or superseded by
    /// a newer candidate.
    Rejected,
}

impl ModelStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStatus::Candidate => "candidate",
            ModelStatus::Live => "live",
            ModelStatus::Retired => "retired",
            ModelStatus::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<ModelStatus, StoreError> {
        [ModelStatus::Candidate, ModelStatus::Live, ModelStatus::Retired, ModelStatus::Rejected]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt { table: "forum_models", message: format!("status `{s}`") })
    }
}

/// A stored forum model, without its bytes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForumModel {
    /// Increasing id.
    pub id: i64,
    /// Its forum.
    pub forum: String,
    /// The model's version, as verdicts name it (`name@digest`).
    pub version: String,
    /// The version of the model it was adapted from.
    pub base: String,
    /// SHA-256 of the model file.
    pub sha256: String,
    /// Size of the model file in bytes.
    pub size: i64,
    /// Labels it was trained on.
    pub labels: i64,
    /// How it and the live model did on held-out labels (see the learner).
    #[schema(value_type = Object)]
    pub evaluation: serde_json::Value,
    /// candidate, live, retired or rejected.
    pub status: ModelStatus,
    /// Why it has its status (not promoted, rolled back, …).
    pub reason: String,
    /// `learner` or the admin key that trained it.
    pub created_by: String,
    /// When (Unix ms).
    pub created_at: i64,
    /// When it was last made live.
    pub promoted_at: Option<i64>,
    /// Who made it live (`learner` for automatic promotion).
    pub promoted_by: Option<String>,
}

type ModelRow =
    (i64, String, String, String, String, i64, i64, String, String, String, String, i64, Option<i64>, Option<String>);

const MODEL_COLS: &str = "id, forum, version, base, sha256, CAST(LENGTH(bytes) AS BIGINT), labels, evaluation, status, reason, \
                          created_by, created_at, promoted_at, promoted_by";

fn model_of(r: ModelRow) -> Result<ForumModel, StoreError> {
    let evaluation = serde_json::from_str(&r.7).map_err(|e| StoreError::Corrupt {
        table: "forum_models",
        message: format!("evaluation of model {}: {e}", r.0),
    })?;
    Ok(ForumModel {
        id: r.0,
        forum: r.1,
        version: r.2,
        base: r.3,
        sha256: r.4,
        size: r.5,
        labels: r.6,
        evaluation,
        status: ModelStatus::parse(&r.8)?,
        reason: r.9,
        created_by: r.10,
        created_at: r.11,
        promoted_at: r.12,
        promoted_by: r.13,
    })
}

/// A model to store.
#[derive(Debug, Clone)]
pub struct NewModel {
    /// Its forum.
    pub forum: String,
    /// Its version.
    pub version: String,
    /// Its base's version.
    pub base: String,
    /// The model file.
    pub bytes: Vec<u8>,
    /// Labels it was trained on.
    pub labels: i64,
    /// Its evaluation (JSON).
    pub evaluation: serde_json::Value,
    /// `Live` (promoted at once) or `Candidate` or `Rejected`.
    pub status: ModelStatus,
    /// Why.
    pub reason: String,
    /// Who trained it.
    pub created_by: String,
    /// For a `Live` model: the live model it was judged against (`None`:
    /// the base). If another became live meanwhile, it is stored as a
    /// candidate instead, so a judgement never replaces a model it did not
    /// see.
    pub judged_against: Option<i64>,
}

/// A stored model's file, as loaded by every instance.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The model.
    pub model: ForumModel,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Why a promotion or rollback was refused.
#[derive(Debug)]
pub enum ModelChangeError {
    /// No such model (or not in the key's forums).
    NotFound,
    /// The model already has the status asked for, or none to roll back.
    Conflict(String),
    /// The database failed.
    Store(StoreError),
}

impl From<StoreError> for ModelChangeError {
    fn from(e: StoreError) -> Self {
        ModelChangeError::Store(e)
    }
}

impl From<sqlx::Error> for ModelChangeError {
    fn from(e: sqlx::Error) -> Self {
        ModelChangeError::Store(e.into())
    }
}

/// One labelled post the learner reads.
#[derive(Debug, Clone)]
pub struct LabelRow {
    /// The post as decided (JSON, secrets starred out).
    pub post: String,
    /// `approved` / `removed` and the reason, as the export labels them.
    pub spam: Option<bool>,
    /// Scam label.
    pub scam: Option<bool>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: i64,
}

/// An imported past decision.
#[derive(Debug, Clone)]
pub struct ImportedLabel {
    /// The forum's post id.
    pub post_id: String,
    /// The post (JSON, secrets starred out).
    pub post: String,
    /// Spam label, if known.
    pub spam: Option<bool>,
    /// Scam label, if known.
    pub scam: Option<bool>,
    /// Who decided, if the history says.
    pub decided_by: Option<String>,
    /// When (Unix ms; the import time when the history does not say).
    pub decided_at: i64,
}

/// What a candidate decided differently from the live model on one post.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShadowChange {
    /// The item.
    pub item_id: i64,
    /// The live decision.
    pub live: String,
    /// The candidate's decision.
    pub shadow: String,
    /// The candidate's top category.
    pub category: String,
    /// Its score there.
    pub score: f64,
}

/// A candidate's shadow verdicts so far.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShadowSummary {
    /// Posts it scored in shadow.
    pub scored: i64,
    /// Of those, how many it would have decided differently, by `live→shadow`.
    pub changed: std::collections::BTreeMap<String, i64>,
    /// The most recent posts it would have decided differently.
    pub items: Vec<ShadowChange>,
}

/// The learner's state for one forum.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LearnerRun {
    /// The forum.
    pub forum: String,
    /// Labels the forum had at the learner's last run.
    pub labels_seen: i64,
    /// When it last ran (Unix ms; 0: never).
    pub last_run_at: i64,
    /// What came of it (`candidate 12 stored: …`, `too few labels: …`).
    pub outcome: String,
}

/// The decided items that are spam or scam labels: approved, or removed
/// for spam or scam (a removal for another reason, misinformation or a
/// leaked secret included, says nothing about spam or scam).
macro_rules! labelled {
    () => {
        "decided_post IS NOT NULL AND (status = 'approved' OR (status = 'removed' AND reason IN ('spam', 'scam')))"
    };
}

impl Store {
    /// The statement that serialises changes to one forum's models (`$1`:
    /// the forum) for the rest of the transaction: PostgreSQL's
    /// transaction-scoped advisory lock; SQLite's `BEGIN IMMEDIATE`
    /// already serialises every writer.
    fn forum_lock(&self) -> &'static str {
        super::dialect!(self,
            sqlite: "SELECT $1",
            postgres: "SELECT pg_advisory_xact_lock(hashtext('forum_models:' || $1))")
    }

    /// The version every instance polls to reload forum models.
    pub async fn models_version(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT version FROM models_version WHERE id = 1";
        let (v,): (i64,) = on_pool!(self, p => sqlx::query_as(SQL).fetch_one(p).await?);
        Ok(v)
    }

    /// Stores a model the learner (or an admin) trained. A `Live` one
    /// replaces the forum's live model (retired, audited); a `Candidate`
    /// replaces the forum's previous candidate (rejected as superseded).
    /// Either bumps the models version.
    pub async fn insert_model(&self, new: &NewModel, now: i64) -> Result<(i64, ModelStatus), StoreError> {
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&new.bytes));
        let evaluation = new.evaluation.to_string();
        let lock = self.forum_lock();
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            sqlx::query(lock).bind(new.forum.as_str()).execute(&mut *tx).await?;
            let current: Option<(i64,)> = sqlx::query_as("SELECT id FROM forum_models WHERE forum = $1 AND status = 'live'")
                .bind(new.forum.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            let mut status = new.status;
            let mut reason = new.reason.clone();
            if status == ModelStatus::Live && current.map(|(id,)| id) != new.judged_against {
                status = ModelStatus::Candidate;
                reason.push_str(" (not promoted: the forum's live model changed while it was trained)");
            }
            if status == ModelStatus::Candidate {
                sqlx::query("UPDATE forum_models SET status = 'rejected', reason = $1 WHERE forum = $2 AND status = 'candidate'")
                    .bind("superseded by a newer candidate")
                    .bind(new.forum.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            let live = status == ModelStatus::Live;
            let old = if live { current } else { None };
            if let Some((old,)) = old {
                sqlx::query("UPDATE forum_models SET status = 'retired', reason = $1 WHERE id = $2")
                    .bind("replaced by a better model")
                    .bind(old)
                    .execute(&mut *tx)
                    .await?;
            }
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO forum_models (forum, version, base, bytes, sha256, labels, evaluation, status, reason, \
                 created_by, created_at, promoted_at, promoted_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            )
            .bind(new.forum.as_str())
            .bind(new.version.as_str())
            .bind(new.base.as_str())
            .bind(new.bytes.as_slice())
            .bind(sha.as_str())
            .bind(new.labels)
            .bind(evaluation.as_str())
            .bind(status.as_str())
            .bind(reason.as_str())
            .bind(new.created_by.as_str())
            .bind(now)
            .bind(live.then_some(now))
            .bind(live.then_some(new.created_by.as_str()))
            .fetch_one(&mut *tx)
            .await?;
            if live {
                audit_model(&mut tx, id, &new.created_by, "model.promote", None, "live", &reason, now).await?;
            }
            // A rejected model changes nothing any instance scores with.
            if status != ModelStatus::Rejected {
                sqlx::query("UPDATE models_version SET version = version + 1 WHERE id = 1").execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok((id, status))
        })
    }

    /// Models of the given forums (empty: every forum), newest first.
    pub async fn list_models(&self, forums: &[String], limit: u32) -> Result<Vec<ForumModel>, StoreError> {
        let mut sql = format!("SELECT {MODEL_COLS} FROM forum_models");
        if let Some(clause) = super::forum_in(forums, 1) {
            sql.push_str(&format!(" WHERE {clause}"));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", forums.len() + 1));
        let rows: Vec<ModelRow> = on_pool!(self, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for f in forums {
                q = q.bind(f);
            }
            q.bind(i64::from(limit)).fetch_all(p).await?
        });
        rows.into_iter().map(model_of).collect()
    }

    /// One model, without its bytes.
    pub async fn model(&self, id: i64) -> Result<Option<ForumModel>, StoreError> {
        let sql = format!("SELECT {MODEL_COLS} FROM forum_models WHERE id = $1");
        let row: Option<ModelRow> =
            on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await?);
        row.map(model_of).transpose()
    }

    /// One model's file, for checking before it is promoted.
    pub async fn model_file(&self, id: i64) -> Result<Option<ModelFile>, StoreError> {
        let model = match self.model(id).await? {
            Some(m) => m,
            None => return Ok(None),
        };
        const SQL: &str = "SELECT bytes FROM forum_models WHERE id = $1";
        let (bytes,): (Vec<u8>,) = on_pool!(self, p => sqlx::query_as(SQL).bind(id).fetch_one(p).await?);
        Ok(Some(ModelFile { model, bytes }))
    }

    /// The files of every live model and shadow candidate: what an instance
    /// scores with.
    pub async fn loaded_models(&self) -> Result<Vec<ModelFile>, StoreError> {
        let sql =
            format!("SELECT {MODEL_COLS}, bytes FROM forum_models WHERE status IN ('live', 'candidate') ORDER BY id");
        type Row = (ModelRow, Vec<u8>);
        let rows: Vec<sqlx::Result<Row>> = on_pool!(self, p => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(p).await?;
            rows.iter().map(|r| {
                use sqlx::Row;
                Ok(((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?,
                     r.try_get(6)?, r.try_get(7)?, r.try_get(8)?, r.try_get(9)?, r.try_get(10)?, r.try_get(11)?,
                     r.try_get(12)?, r.try_get(13)?), r.try_get(14)?))
            }).collect()
        });
        rows.into_iter()
            .map(|r| {
                let (row, bytes) = r?;
                Ok(ModelFile { model: model_of(row)?, bytes })
            })
            .collect()
    }

    /// Makes `id` its forum's live model (the live one retired), audited.
    pub async fn promote_model(
        &self,
        id: i64,
        forums: &[String],
        actor: &str,
        note: &str,
        now: i64,
    ) -> Result<ForumModel, ModelChangeError> {
        let forum = self.model(id).await?.map(|m| m.forum).ok_or(ModelChangeError::NotFound)?;
        if !crate::keys::scope_covers(forums, &forum) {
            return Err(ModelChangeError::NotFound);
        }
        let lock = self.forum_lock();
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            sqlx::query(lock).bind(forum.as_str()).execute(&mut *tx).await?;
            let (status,): (String,) = sqlx::query_as("SELECT status FROM forum_models WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            if status == "live" {
                return Err(ModelChangeError::Conflict(format!("model {id} is already live")));
            }
            let old: Option<(i64,)> = sqlx::query_as("SELECT id FROM forum_models WHERE forum = $1 AND status = 'live'")
                .bind(forum.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if let Some((old,)) = old {
                sqlx::query("UPDATE forum_models SET status = 'retired', reason = $1 WHERE id = $2")
                    .bind(format!("replaced by model {id}"))
                    .bind(old)
                    .execute(&mut *tx)
                    .await?;
                audit_model(&mut tx, old, actor, "model.retire", Some("live"), "retired", note, now).await?;
            }
            sqlx::query("UPDATE forum_models SET status = 'live', reason = $1, promoted_at = $2, promoted_by = $3 WHERE id = $4")
                .bind(format!("promoted by {actor}"))
                .bind(now)
                .bind(actor)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit_model(&mut tx, id, actor, "model.promote", Some(status.as_str()), "live", note, now).await?;
            sqlx::query("UPDATE models_version SET version = version + 1 WHERE id = 1").execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<(), ModelChangeError>(())
        })?;
        self.model(id).await?.ok_or(ModelChangeError::NotFound)
    }

    /// Retires `forum`'s live model and brings back the one live before it
    /// (the most recently promoted retired model), or the base model when
    /// there is none. Returns the model live now (`None`: the base).
    pub async fn rollback_model(
        &self,
        forum: &str,
        actor: &str,
        note: &str,
        now: i64,
    ) -> Result<Option<ForumModel>, ModelChangeError> {
        let lock = self.forum_lock();
        let back = on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            sqlx::query(lock).bind(forum).execute(&mut *tx).await?;
            let live: Option<(i64,)> = sqlx::query_as("SELECT id FROM forum_models WHERE forum = $1 AND status = 'live'")
                .bind(forum)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((live,)) = live else {
                return Err(ModelChangeError::Conflict(format!("forum `{forum}` scores with the base model: nothing to roll back")));
            };
            sqlx::query("UPDATE forum_models SET status = 'retired', reason = $1 WHERE id = $2")
                .bind(format!("rolled back by {actor}"))
                .bind(live)
                .execute(&mut *tx)
                .await?;
            audit_model(&mut tx, live, actor, "model.rollback", Some("live"), "retired", note, now).await?;
            let previous: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM forum_models WHERE forum = $1 AND status = 'retired' AND id <> $2 \
                 AND promoted_at IS NOT NULL AND reason NOT LIKE 'rolled back%' \
                 ORDER BY promoted_at DESC, id DESC LIMIT 1",
            )
            .bind(forum)
            .bind(live)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((prev,)) = previous {
                sqlx::query("UPDATE forum_models SET status = 'live', reason = $1 WHERE id = $2")
                    .bind(format!("restored by the rollback of model {live}"))
                    .bind(prev)
                    .execute(&mut *tx)
                    .await?;
                audit_model(&mut tx, prev, actor, "model.restore", Some("retired"), "live", note, now).await?;
            }
            sqlx::query("UPDATE models_version SET version = version + 1 WHERE id = 1").execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<Option<i64>, ModelChangeError>(previous.map(|(p,)| p))
        })?;
        match back {
            Some(id) => Ok(self.model(id).await?),
            None => Ok(None),
        }
    }

    /// How many labels `forum` has (decided items and imported history).
    pub async fn label_count(&self, forum: &str) -> Result<i64, StoreError> {
        const SQL: &str = concat!(
            "SELECT (SELECT COUNT(*) FROM items WHERE forum = $1 AND ",
            labelled!(),
            ") + (SELECT COUNT(*) FROM imported_labels WHERE forum = $1)"
        );
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(SQL).bind(forum).fetch_one(p).await?);
        Ok(n)
    }

    /// Forums that have labels: what the learner visits.
    pub async fn labelled_forums(&self) -> Result<Vec<String>, StoreError> {
        const SQL: &str = concat!(
            "SELECT DISTINCT forum FROM items WHERE ",
            labelled!(),
            " UNION SELECT DISTINCT forum FROM imported_labels ORDER BY 1"
        );
        let rows: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await?);
        Ok(rows.into_iter().map(|(f,)| f).collect())
    }

    /// The `limit` most recent labels of `forum`, oldest first: decided
    /// items (the post as decided, labelled as the export labels it) and
    /// imported history.
    pub async fn labels(&self, forum: &str, limit: u32) -> Result<Vec<LabelRow>, StoreError> {
        self.labels_within(forum, limit, usize::MAX).await
    }

    /// [`Store::labels`], stopping (at the older end) once the posts read
    /// reach `max_bytes` of JSON: what bounds the learner's memory.
    pub async fn labels_within(&self, forum: &str, limit: u32, max_bytes: usize) -> Result<Vec<LabelRow>, StoreError> {
        const SQL: &str = concat!(
            "SELECT post, spam, scam, decided_by, decided_at, id FROM ( \
             SELECT decided_post AS post, \
               CAST(CASE WHEN status = 'approved' THEN 0 WHEN reason = 'spam' THEN 1 ELSE 0 END AS BIGINT) AS spam, \
               CAST(CASE WHEN status = 'approved' THEN 0 WHEN reason = 'scam' THEN 1 ELSE 0 END AS BIGINT) AS scam, \
               decided_by, decided_at, id FROM items \
             WHERE forum = $1 AND ",
            labelled!(),
            " \
             UNION ALL \
             SELECT post, spam, scam, decided_by, decided_at, -id FROM imported_labels WHERE forum = $1 \
           ) AS labels ORDER BY decided_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        type Row = (String, Option<i64>, Option<i64>, Option<String>, i64, i64);
        const PAGE: u32 = 1000;
        let mut rows: Vec<Row> = Vec::new();
        let mut bytes = 0usize;
        'pages: while (rows.len() as u32) < limit {
            let want = PAGE.min(limit - rows.len() as u32);
            let offset = rows.len() as i64;
            let page: Vec<Row> = on_pool!(self, p => sqlx::query_as(SQL)
                .bind(forum)
                .bind(i64::from(want))
                .bind(offset)
                .fetch_all(p)
                .await?);
            let done = (page.len() as u32) < want;
            for row in page {
                bytes += row.0.len();
                if bytes > max_bytes {
                    break 'pages;
                }
                rows.push(row);
            }
            if done {
                break;
            }
        }
        rows.reverse();
        Ok(rows
            .into_iter()
            .map(|(post, spam, scam, decided_by, decided_at, _)| LabelRow {
                post,
                spam: spam.map(|v| v != 0),
                scam: scam.map(|v| v != 0),
                decided_by,
                decided_at,
            })
            .collect())
    }

    /// Stores a forum's past decisions as labels; a post imported before is
    /// replaced. Returns how many rows were written.
    pub async fn import_labels(&self, forum: &str, rows: &[ImportedLabel], actor: &str) -> Result<u64, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let mut n = 0;
            for r in rows {
                n += sqlx::query(
                    "INSERT INTO imported_labels (forum, post_id, post, spam, scam, decided_by, decided_at, imported_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (forum, post_id) DO UPDATE SET \
                     post = excluded.post, spam = excluded.spam, scam = excluded.scam, decided_by = excluded.decided_by, \
                     decided_at = excluded.decided_at, imported_by = excluded.imported_by",
                )
                .bind(forum)
                .bind(r.post_id.as_str())
                .bind(r.post.as_str())
                .bind(r.spam.map(i64::from))
                .bind(r.scam.map(i64::from))
                .bind(r.decided_by.as_deref())
                .bind(r.decided_at)
                .bind(actor)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            Ok(n)
        })
    }

    /// Records what a candidate decided on a submitted post.
    pub async fn put_shadow(
        &self,
        model_id: i64,
        item_id: i64,
        shadow: &str,
        live: &str,
        category: &str,
        score: f64,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO shadow_verdicts (model_id, item_id, decision, live, category, score, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (model_id, item_id) DO UPDATE SET \
             decision = excluded.decision, live = excluded.live, category = excluded.category, \
             score = excluded.score, created_at = excluded.created_at",
        )
        .bind(model_id)
        .bind(item_id)
        .bind(shadow)
        .bind(live)
        .bind(category)
        .bind(score)
        .bind(now)
        .execute(p)
        .await
        .map(|_| ())?);
        Ok(())
    }

    /// A candidate's shadow verdicts: how many, how many differ (by
    /// change), and the `limit` most recent that differ.
    pub async fn shadow_summary(&self, model_id: i64, limit: u32) -> Result<ShadowSummary, StoreError> {
        let (scored, changes, items) = on_pool!(self, p => {
            let (scored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM shadow_verdicts WHERE model_id = $1")
                .bind(model_id)
                .fetch_one(p)
                .await?;
            let changes: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT live, decision, COUNT(*) FROM shadow_verdicts WHERE model_id = $1 AND live <> decision \
                 GROUP BY live, decision ORDER BY 1, 2",
            )
            .bind(model_id)
            .fetch_all(p)
            .await?;
            let items: Vec<(i64, String, String, String, f64)> = sqlx::query_as(
                "SELECT item_id, live, decision, category, score FROM shadow_verdicts WHERE model_id = $1 \
                 AND live <> decision ORDER BY created_at DESC, item_id DESC LIMIT $2",
            )
            .bind(model_id)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?;
            (scored, changes, items)
        });
        Ok(ShadowSummary {
            scored,
            changed: changes.into_iter().map(|(l, s, n)| (format!("{l}→{s}"), n)).collect(),
            items: items
                .into_iter()
                .map(|(item_id, live, shadow, category, score)| ShadowChange { item_id, live, shadow, category, score })
                .collect(),
        })
    }

    /// The learner's state for `forum`, if it ever looked at it.
    pub async fn learner_run(&self, forum: &str) -> Result<Option<LearnerRun>, StoreError> {
        const SQL: &str = "SELECT forum, labels_seen, last_run_at, outcome FROM learner_runs WHERE forum = $1";
        let row: Option<(String, i64, i64, String)> =
            on_pool!(self, p => sqlx::query_as(SQL).bind(forum).fetch_optional(p).await?);
        Ok(row.map(|(forum, labels_seen, last_run_at, outcome)| LearnerRun {
            forum,
            labels_seen,
            last_run_at,
            outcome,
        }))
    }

    /// Takes the learner's lease on `forum` until `until` unless another
    /// instance holds it: one instance trains a forum at a time.
    pub async fn lease_learner(&self, forum: &str, owner: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            sqlx::query("INSERT INTO learner_runs (forum) VALUES ($1) ON CONFLICT (forum) DO NOTHING")
                .bind(forum)
                .execute(&mut *tx)
                .await?;
            let taken = sqlx::query(
                "UPDATE learner_runs SET lease_owner = $1, lease_until = $2 WHERE forum = $3 \
                 AND (lease_until < $4 OR lease_owner = $1)",
            )
            .bind(owner)
            .bind(until)
            .bind(forum)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(taken == 1)
        })
    }

    /// Records a learner run's outcome and gives the lease back.
    pub async fn finish_learner(
        &self,
        forum: &str,
        owner: &str,
        labels_seen: i64,
        outcome: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE learner_runs SET labels_seen = $1, last_run_at = $2, outcome = $3, lease_owner = NULL, \
             lease_until = 0 WHERE forum = $4 AND lease_owner = $5",
        )
        .bind(labels_seen)
        .bind(now)
        .bind(outcome)
        .bind(forum)
        .bind(owner)
        .execute(p)
        .await
        .map(|_| ())?);
        Ok(())
    }
}

/// Appends a model's audit entry (item 0, `model_id` set) inside `tx`.
#[allow(clippy::too_many_arguments)]
async fn audit_model<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    model_id: i64,
    actor: &str,
    action: &str,
    from: Option<&str>,
    to: &str,
    note: &str,
    now: i64,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO audit_log (item_id, model_id, actor, action, from_status, to_status, reason, note, version, at) \
         VALUES (0, $1, $2, $3, $4, $5, '', $6, 0, $7)",
    )
    .bind(model_id)
    .bind(actor)
    .bind(action)
    .bind(from)
    .bind(to)
    .bind(note)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
