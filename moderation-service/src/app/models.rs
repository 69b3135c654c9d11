//! Forum models: what the learner made of each forum's decisions (list,
//! one model with its shadow verdicts), an admin's promotion, rollback and
//! "learn now", and the import of a forum's past moderation as labels.

use std::collections::BTreeMap;

use moderation_core::labels::Labelled;
use serde::{Deserialize, Serialize};

use super::{App, AppError, MAX_NOTE_BYTES, check_forum, check_text, in_scope};
use crate::keys::KeyRecord;
use crate::learner::{LearnOutcome, Learner};
use crate::review::Scored;
use crate::store::{ForumModel, ImportedLabel, LearnerRun, ModelChangeError, ShadowSummary};

/// Most shadow verdicts listed with a model.
const SHADOW_ITEMS: u32 = 50;
/// 2000-01-01 in Unix milliseconds: the earliest `decided_at` an import takes.
const EARLIEST_MS: i64 = 946_684_800_000;
/// Most lines in one import.
pub const MAX_IMPORT_LINES: usize = 10_000;

/// The forum models a key may see, and what each instance scores with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelsView {
    /// The base model (shipped or configured) every forum without a live
    /// model scores with.
    pub base: Option<String>,
    /// Per forum, the live model this instance scores with.
    pub live: BTreeMap<String, LoadedView>,
    /// Per forum, the candidate this instance scores with in shadow.
    pub shadow: BTreeMap<String, LoadedView>,
    /// Stored models this instance refused to load (bad checksum or format).
    pub refused: Vec<RefusedView>,
    /// The learner's last run on the forum asked about (`?forum=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learner: Option<LearnerRun>,
    /// Labels the forum asked about has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<i64>,
    /// Stored models, newest first.
    pub models: Vec<ForumModel>,
}

/// A model an instance loaded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoadedView {
    /// Its stored id.
    pub id: i64,
    /// Its version, as verdicts name it.
    pub version: String,
}

/// A stored model an instance refused.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefusedView {
    /// Its stored id.
    pub id: i64,
    /// Why.
    pub error: String,
}

/// One model and, for a candidate, its shadow verdicts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelDetail {
    /// The model.
    pub model: ForumModel,
    /// What it decided on live traffic in shadow.
    pub shadow: ShadowSummary,
}

/// A promotion or rollback: why, for the audit log.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ModelChangeInput {
    /// Free text for the audit log.
    #[serde(default)]
    pub note: String,
}

/// A rollback of a forum's live model.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RollbackInput {
    /// The forum.
    pub forum: String,
    /// Free text for the audit log.
    #[serde(default)]
    pub note: String,
}

/// What a rollback left live.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RolledBack {
    /// The forum.
    pub forum: String,
    /// The model live now; `null`: the base model.
    pub live: Option<ForumModel>,
}

/// Train a forum's candidate now.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LearnInput {
    /// The forum.
    pub forum: String,
}

/// What an import stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Imported {
    /// The forum.
    pub forum: String,
    /// Lines read.
    pub lines: usize,
    /// Labels stored (a post imported before is replaced).
    pub imported: u64,
    /// Lines that say nothing about spam or scam (a removal for another
    /// reason, an escalation).
    pub skipped: usize,
    /// Labels the forum has now.
    pub labels: i64,
}

fn scoped(key: &KeyRecord, forum: &str) -> Result<(), AppError> {
    check_forum(Some(forum))?;
    if !in_scope(key, forum) || forum.is_empty() {
        return Err(AppError::Forbidden(format!("this key is not scoped to forum `{forum}`")));
    }
    Ok(())
}

impl From<ModelChangeError> for AppError {
    fn from(e: ModelChangeError) -> AppError {
        match e {
            ModelChangeError::NotFound => AppError::NotFound("no such model".into()),
            ModelChangeError::Conflict(m) => AppError::Conflict(m),
            ModelChangeError::Store(e) => e.into(),
        }
    }
}

impl App {
    /// The stored models of the key's forums (or of `forum`), and the
    /// models this instance scores with.
    pub async fn models(&self, key: &KeyRecord, forum: Option<&str>) -> Result<ModelsView, AppError> {
        let forums = match forum {
            Some(f) => {
                scoped(key, f)?;
                vec![f.to_string()]
            }
            None => key.forums.clone(),
        };
        let models = self.store.list_models(&forums, 200).await?;
        let loaded = self.engine.forum_models();
        let visible = |f: &String| forums.is_empty() || forums.contains(f);
        let (learner, labels) = match forum {
            Some(f) => (self.store.learner_run(f).await?, Some(self.store.label_count(f).await?)),
            None => (None, None),
        };
        Ok(ModelsView {
            base: self.engine.base_model().map(|m| m.version().to_string()),
            live: loaded
                .live
                .iter()
                .filter(|(f, _)| visible(f))
                .map(|(f, m)| (f.clone(), LoadedView { id: m.id, version: m.version.clone() }))
                .collect(),
            shadow: loaded
                .shadow
                .iter()
                .filter(|(f, _)| visible(f))
                .map(|(f, m)| (f.clone(), LoadedView { id: m.id, version: m.version.clone() }))
                .collect(),
            refused: loaded
                .refused
                .iter()
                .filter(|(_, f, _)| visible(f))
                .map(|(id, _, error)| RefusedView { id: *id, error: error.clone() })
                .collect(),
            learner,
            labels,
            models: models.into_iter().filter(|m| visible(&m.forum)).collect(),
        })
    }

    /// One model with its shadow verdicts.
    pub async fn model(&self, key: &KeyRecord, id: i64) -> Result<ModelDetail, AppError> {
        let model = self
            .store
            .model(id)
            .await?
            .filter(|m| in_scope(key, &m.forum))
            .ok_or_else(|| AppError::NotFound(format!("no model {id}")))?;
        let shadow = self.store.shadow_summary(id, SHADOW_ITEMS).await?;
        Ok(ModelDetail { model, shadow })
    }

    /// Makes a stored model its forum's live model (audited); this instance
    /// loads it at once, the others within `rules_poll_ms`.
    pub async fn promote_model(
        &self,
        key: &KeyRecord,
        id: i64,
        input: ModelChangeInput,
    ) -> Result<ForumModel, AppError> {
        check_text("note", &input.note, MAX_NOTE_BYTES)?;
        // A file that would not load is never made live: instances that
        // already run keep their model, a restarted one would fall back to
        // the base, and the two would disagree.
        let file = self
            .store
            .model_file(id)
            .await?
            .filter(|f| in_scope(key, &f.model.forum))
            .ok_or_else(|| AppError::NotFound(format!("no model {id}")))?;
        let checked = tokio::task::spawn_blocking(move || crate::live_engine::decode(&file).map(|_| ()))
            .await
            .map_err(|_| AppError::Unavailable("checking the model was interrupted".into()))?;
        if let Err(why) = checked {
            return Err(AppError::Conflict(format!("model {id} cannot be promoted: {why}")));
        }
        let model = self.store.promote_model(id, &key.forums, &key.id, &input.note, self.now()).await?;
        self.engine.refresh_models(&self.store).await?;
        tracing::info!(model = id, forum = %model.forum, by = %key.id, "model promoted");
        Ok(model)
    }

    /// Retires a forum's live model and brings back the one before it (or
    /// the base model), audited.
    pub async fn rollback_model(&self, key: &KeyRecord, input: RollbackInput) -> Result<RolledBack, AppError> {
        scoped(key, &input.forum)?;
        check_text("note", &input.note, MAX_NOTE_BYTES)?;
        let live = self.store.rollback_model(&input.forum, &key.id, &input.note, self.now()).await?;
        self.engine.refresh_models(&self.store).await?;
        tracing::info!(forum = %input.forum, live = ?live.as_ref().map(|m| m.id), by = %key.id, "model rolled back");
        Ok(RolledBack { forum: input.forum, live })
    }

    /// Trains, judges and stores a candidate for a forum now.
    pub async fn learn(&self, key: &KeyRecord, input: LearnInput) -> Result<LearnOutcome, AppError> {
        scoped(key, &input.forum)?;
        let learner =
            Learner::new(self.store.clone(), self.engine.clone(), self.config.learning.clone(), self.clock.clone());
        // In its own task: a client that goes away does not stop a training
        // half-way with the forum's lease held.
        let (forum, actor) = (input.forum.clone(), key.id.clone());
        let run = tokio::spawn(async move { learner.learn(&forum, &actor).await });
        Ok(run.await.map_err(|_| AppError::Unavailable("the training was interrupted".into()))??)
    }

    /// Imports a forum's past moderation (JSON lines: a post with `labels`,
    /// or with its final `action` and `reason`) as labels. The whole import
    /// is refused, naming the line, if one line is wrong. Posts are stored
    /// with leaked secrets starred out, like submissions.
    pub async fn import_labels(&self, key: &KeyRecord, forum: &str, body: &str) -> Result<Imported, AppError> {
        scoped(key, forum)?;
        let now = self.now();
        let mut rows = Vec::new();
        let (mut lines, mut skipped) = (0, 0);
        for (n, line) in body.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            lines += 1;
            if lines > MAX_IMPORT_LINES {
                return Err(AppError::invalid("body", format!("an import holds at most {MAX_IMPORT_LINES} lines")));
            }
            let at = |m: String| AppError::invalid("body", format!("line {}: {m}", n + 1));
            if line.contains('\0') || line.contains("\\u0000") {
                return Err(at("contains a NUL character".into()));
            }
            let Some(labelled) = Labelled::parse(line).map_err(|e| at(e.0))? else {
                skipped += 1;
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
            let post = labelled.example.post;
            check_text("id", &post.id, super::MAX_ID_BYTES).map_err(|e| at(e.to_string()))?;
            if post.id.is_empty() {
                return Err(at("the post id is empty".into()));
            }
            // Undated history is older than every decision (0); a date must
            // be Unix milliseconds, not seconds or microseconds.
            let decided_at = v["source"]["decided_at"].as_i64().or_else(|| v["decided_at"].as_i64()).unwrap_or(0);
            if decided_at != 0 && !(EARLIEST_MS..=now + 86_400_000).contains(&decided_at) {
                return Err(at(format!(
                    "decided_at {decided_at} is not a time in Unix milliseconds between 2000-01-01 and now"
                )));
            }
            let moderator = labelled.moderator;
            if let Some(m) = &moderator {
                check_text("decided_by", m, super::MAX_ID_BYTES).map_err(|e| at(e.to_string()))?;
            }
            let label = |c| labelled.example.labels.iter().find(|(k, _)| *k == c).map(|(_, y)| *y);
            let (spam, scam) = (label(moderation_core::Category::Spam), label(moderation_core::Category::Scam));
            let engine = self.engine.get();
            let mut post = post;
            post.forum = Some(forum.to_string());
            let scored = tokio::task::spawn_blocking(move || {
                let verdict = engine.score(&post);
                Scored::new("", post, verdict)
            })
            .await
            .map_err(|_| AppError::Unavailable("scoring was interrupted".into()))?;
            let mut stored = scored.post;
            stored.forum = Some(forum.to_string());
            let json = serde_json::to_string(&stored).map_err(|e| at(e.to_string()))?;
            rows.push(ImportedLabel { post_id: stored.id, post: json, spam, scam, decided_by: moderator, decided_at });
        }
        let imported = self.store.import_labels(forum, &rows, &key.id).await?;
        let labels = self.store.label_count(forum).await?;
        tracing::info!(forum, imported, skipped, by = %key.id, "labels imported");
        Ok(Imported { forum: forum.to_string(), lines, imported, skipped, labels })
    }
}
