//! What forum software sends: posts to score (inline, nothing stored) or
//! to submit (scored, stored, queued when needed), and community reports.
//! The forum is always the key's, never the body's.

use moderation_core::{Post, Verdict};
use serde::{Deserialize, Serialize};

use super::{App, AppError, MAX_ID_BYTES, MAX_NOTE_BYTES, check_forum, check_text, in_scope, require};
use crate::keys::{KeyRecord, Role};
use crate::review::{Scored, Status, mask_secrets};
use crate::store::{Item, Report};

/// A scored post, with what memory said about it.
struct Scoring {
    post: Post,
    verdict: Verdict,
    shadow: Option<(i64, Verdict)>,
    traces: Option<moderation_core::memory::Traces>,
    /// The earlier posts of its wave (post id, author, time), if in one.
    wave: Vec<(String, String, i64)>,
}

/// What a submission did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    /// The queue's id for the post.
    pub item_id: i64,
    /// Where it is now (`allowed`, `pending`, `rejected`, …).
    pub status: Status,
    /// Its version (grows with every change).
    pub version: i64,
    /// Whether this was its first submission.
    pub created: bool,
    /// Whether anything changed (an identical resubmission changes nothing).
    pub changed: bool,
    /// The verdict (secrets masked as in every verdict).
    pub verdict: Verdict,
}

/// A community flag on a submitted post.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = ReportRequest)]
pub struct ReportInput {
    /// The forum's id of the reported post (submitted before).
    pub post_id: String,
    /// The forum's id of the reporting user.
    pub reporter_id: String,
    /// Their trust level (0–4 on Discourse): weights the report.
    #[serde(default)]
    pub trust_level: Option<u8>,
    /// Why (`spam`, `scam`, `offensive`, …).
    pub reason: String,
    /// Free text.
    #[serde(default)]
    pub note: String,
}

/// What a report did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reported {
    /// Whether it counted (a user's second report on a post does not).
    pub counted: bool,
    /// The item after the report.
    pub item: Item,
}

impl App {
    /// Scores a post without storing it.
    pub async fn score(&self, key: &KeyRecord, post: Post) -> Result<Verdict, AppError> {
        Ok(self.score_post(key, post, false).await?.verdict)
    }

    /// Scores a post, stores it with its verdict (leaked secrets starred
    /// out, unscanned tails cut) and queues it when the decision is review
    /// or hold. Idempotent on (forum, post id): a resubmission is rescored
    /// and its item updated, never duplicated.
    pub async fn submit(&self, key: &KeyRecord, post: Post) -> Result<Submitted, AppError> {
        let Scoring { post, mut verdict, shadow, traces, wave } =
            self.score_post(key, post, self.config.learning.shadow).await?;
        let forum = post.forum.clone().unwrap_or_default();
        let author = post.author.as_ref().map(|a| a.id.clone()).unwrap_or_default();
        let new_account = moderation_core::memory::MemorySettings::default().is_new_account(&post);
        let post_id = post.id.clone();
        let now = self.now();
        // A post in a wave joins its campaign; one joining a campaign the
        // moderators removed is held for them, saying why.
        let campaign = match wave.is_empty() {
            true => None,
            false => {
                let copies: Vec<String> = wave.iter().map(|w| w.0.clone()).collect();
                match self.recent.as_ref().and_then(|r| r.campaign_seen(&forum, &copies)) {
                    // A copy this instance saw join a campaign: only its
                    // status is read (a moderator may have removed it since).
                    Some(id) => self.store.campaign_status(id).await?.map(|status| (id, status)),
                    // Every copy is looked up: the newest ones may still be on
                    // their way to the database (memory is written after
                    // submissions).
                    None => self.store.campaign_of(&forum, &copies).await?,
                }
            }
        };
        let held = match &campaign {
            Some((id, status))
                if status == crate::store::campaigns::REMOVED && self.config.memory.hold_removed_campaigns =>
            {
                verdict.hold(moderation_core::Signal {
                    id: "campaign.removed".into(),
                    category: moderation_core::Category::Spam,
                    weight: 0.0,
                    description: format!(
                        "Joins campaign {id}, which moderators removed: held for a moderator (near-duplicate of {} recent posts)",
                        wave.len()
                    ),
                    spans: Vec::new(),
                });
                true
            }
            _ => false,
        };
        let scored = Scored::new(&forum, post, verdict);
        let verdict = scored.verdict.clone();
        let outcome = self.writer.submit(scored, &key.id).await?;
        // Memory is derived from the stored post: this instance's index
        // has it at once, the database with the next batch; a failure to
        // write it costs later posts one comparison, never this submission.
        if let (Some(traces), Some(recent)) = (traces, &self.recent)
            && outcome.created
        {
            // A post in a wave joins its campaign (or forms one) with the
            // same write.
            let wave = wave
                .into_iter()
                .map(|(post_id, author, at)| crate::store::Joining { post_id, author, at, held: false })
                .collect();
            let campaign = campaign.map(|c| c.0);
            if let Some(id) = campaign {
                recent.saw_join(&forum, &post_id, id);
            }
            recent.remember(crate::store::Remember {
                forum,
                post_id,
                author,
                new_account,
                at: now,
                traces,
                wave,
                held,
                campaign,
            });
        }
        if let Some((model_id, shadow)) = shadow {
            // Advisory: a failure costs the candidate one shadow verdict,
            // never the submission, which is already stored.
            let (category, score) = crate::review::top(&shadow);
            if let Err(e) = self
                .store
                .put_shadow(
                    model_id,
                    outcome.item.id,
                    shadow.decision.as_str(),
                    verdict.decision.as_str(),
                    category.as_str(),
                    score,
                    self.now(),
                )
                .await
            {
                tracing::warn!(error = %e, model = model_id, "cannot store a shadow verdict");
            }
        }
        Ok(Submitted {
            item_id: outcome.item.id,
            status: outcome.item.status,
            version: outcome.item.version,
            created: outcome.created,
            changed: outcome.changed,
            verdict,
        })
    }

    /// Records a community report. Its weight (by the reporter's trust
    /// level) raises the item's priority, and an allowed post enters the
    /// queue once its reports reach the configured weight. The reason and
    /// note are stored with any leaked secret starred out.
    pub async fn report(&self, key: &KeyRecord, input: ReportInput) -> Result<Reported, AppError> {
        if input.reason.trim().is_empty() {
            return Err(AppError::invalid("reason", "a report needs a reason"));
        }
        check_text("post_id", &input.post_id, MAX_ID_BYTES)?;
        check_text("reporter_id", &input.reporter_id, MAX_ID_BYTES)?;
        check_text("reason", &input.reason, MAX_ID_BYTES)?;
        check_text("note", &input.note, MAX_NOTE_BYTES)?;
        let forum = key.forums.first().cloned().unwrap_or_default();
        let engine = self.engine.get();
        let report = Report {
            reporter_id: input.reporter_id,
            trust_level: input.trust_level,
            reason: mask_secrets(&engine, input.reason),
            note: mask_secrets(&engine, input.note),
            created_at: 0,
            weight: 0.0,
        };
        match self.store.report(&forum, &input.post_id, &report, &key.id, &self.config.queue, self.now()).await? {
            Some((item, counted)) => Ok(Reported { counted, item }),
            None => Err(AppError::NotFound(format!("post `{}` was never submitted by this forum", input.post_id))),
        }
    }

    /// Checks the post's ids, sets its forum to the key's and scores it on
    /// the blocking pool (it is CPU work) with the forum's live model; with
    /// `shadow`, also with the forum's candidate, if it has one.
    async fn score_post(&self, key: &KeyRecord, mut post: Post, shadow: bool) -> Result<Scoring, AppError> {
        if post.id.is_empty() {
            return Err(AppError::invalid("id", "the post id is empty"));
        }
        check_text("id", &post.id, MAX_ID_BYTES)?;
        if let Some(author) = &post.author {
            check_text("author.id", &author.id, MAX_ID_BYTES)?;
        }
        post.forum = key.forums.first().cloned();
        let engine = self.engine.for_forum(post.forum.as_deref());
        let candidate = if shadow { self.engine.shadow_for(post.forum.as_deref()) } else { None };
        // Memory and scoring in one trip to the blocking pool.
        let memory = match &self.recent {
            Some(recent) => {
                let m = &self.config.memory;
                let now = self.now();
                let minutes = |n: u64| i64::try_from(n.saturating_mul(60_000)).unwrap_or(i64::MAX);
                let settings =
                    moderation_core::memory::MemorySettings { near_threshold: m.near_threshold, ..Default::default() };
                let window =
                    (now.saturating_sub(minutes(m.window_minutes)), now.saturating_sub(minutes(m.burst_minutes)));
                Some((recent.clone(), self.memory_key().await?, window, settings))
            }
            None => None,
        };
        let scoring = tokio::task::spawn_blocking(move || {
            let (verdict, traces, ctx, wave) = match memory {
                Some((recent, key, window, settings)) => {
                    let (verdict, traces, ctx, wave) = recent.score(&engine, &post, key.as_bytes(), window, &settings);
                    (verdict, Some(traces), ctx, wave)
                }
                None => {
                    let ctx = moderation_core::Context::default();
                    (engine.score_with(&post, &ctx), None, ctx, Vec::new())
                }
            };
            let shadow = candidate.map(|c| (c.id, c.engine.score_with(&post, &ctx)));
            Scoring { post, verdict, shadow, traces, wave }
        })
        .await
        .map_err(|_| AppError::Unavailable("scoring was interrupted".into()))?;
        crate::metrics::verdict(&scoring.verdict);
        Ok(scoring)
    }

    /// The key of memory's handle hashes (read once per process).
    async fn memory_key(&self) -> Result<String, AppError> {
        if let Some(k) = self.memory_key.get() {
            return Ok(k.clone());
        }
        let k = self.store.memory_key().await?;
        Ok(self.memory_key.get_or_init(|| k).clone())
    }

    /// Erases everything the forum's memory holds about one author (its
    /// fingerprints and traces): a forum key for its own forum, or an admin.
    /// Stored queue items and decisions are not touched.
    pub async fn forget_author(&self, key: &KeyRecord, forum: &str, author: &str) -> Result<Forgotten, AppError> {
        require(key, &[Role::Forum, Role::Admin])?;
        check_forum(Some(forum))?;
        check_text("author", author, MAX_ID_BYTES)?;
        if key.role == Role::Forum && !in_scope(key, forum) {
            return Err(AppError::Forbidden(format!("this key may not act on forum `{forum}`")));
        }
        let posts = self.store.forget_author(forum, author, self.now()).await?;
        if let Some(recent) = &self.recent {
            recent.forget_author(forum, author);
        }
        tracing::info!(forum = %forum, author = %author, posts, key = %key.id, "author memory erased");
        Ok(Forgotten { forum: forum.to_string(), author: author.to_string(), posts })
    }
}

/// What `DELETE /v1/authors/{forum}/{id}` erased.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Forgotten {
    /// The forum.
    pub forum: String,
    /// The author id.
    pub author: String,
    /// Posts of theirs memory held (0 when it held none).
    pub posts: u64,
}
