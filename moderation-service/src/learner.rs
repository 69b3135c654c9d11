//! The learner: every forum's moderator decisions adapt its model.
//!
//! A decision is a label (approve: negative for spam and scam; remove with
//! reason `spam` or `scam`: positive for it, negative for the other; remove
//! for another reason or escalate: no label; one item is one label however
//! many reports it had), and a forum's imported history adds more. Per
//! forum, when `learning.every_labels` new labels arrived or
//! `learning.every_minutes` passed with at least one, the learner
//!
//! 1. reads the `max_labels` most recent labels, caps any one moderator's
//!    share (`max_moderator_share`), and holds out the most recent
//!    `holdout_share` of them in time order (copies of posts trained on
//!    are left out of the judgement);
//! 2. adapts the base model ([`moderation_core::adapt`]) on the rest, off
//!    the async workers, one training at a time per process, its
//!    thresholds chosen for the forum's budgets (`review_budget`, 5% of
//!    approved posts to review; `hold_budget`, 1% held);
//! 3. scores the held-out labels with the candidate and with the forum's
//!    live model and compares them ([`moderation_core::labels::evaluate`]):
//!    the candidate is *better* when its PR-AUC is higher and its share of
//!    approved posts sent to review is not higher than the live model's or
//!    than the review budget;
//! 4. stores it: `rejected` when it is not better; `live` when it is better
//!    on at least `min_holdout` held-out labels with `min_holdout_per_class`
//!    of each class and `auto_promote` is on; else `candidate`, scoring the
//!    forum's posts in shadow until an admin promotes it.
//!
//! A lease in the database makes one instance train a forum at a time; a
//! crash mid-training loses nothing (labels are the stored decisions, the
//! model row is written whole or not at all). The outcome of every run,
//! including "too few labels", is kept per forum and shown by the API.

use std::sync::Arc;
use std::time::Duration;

use moderation_core::adapt::{AdaptConfig, adapt};
use moderation_core::fingerprint::{Fingerprint, NearDuplicates};
use moderation_core::labels::{Evaluation, Labelled, ModeratorShare, cap_moderator_share, evaluate};
use moderation_core::{Category, Example, Post};
use serde::Serialize;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::LearningConfig;
use crate::live_engine::LiveEngine;
use crate::store::{ModelStatus, NewModel, Store, StoreError};

/// The longest a training may hold a forum's lease.
const LEASE_MS: i64 = 30 * 60 * 1000;

/// Trainings that may run at once in a process.
static TRAININGS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// What one run of the learner on a forum did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LearnOutcome {
    /// The forum.
    pub forum: String,
    /// Labels the forum has.
    pub labels: i64,
    /// The model stored, if one was (`None`: too few labels, one class, or
    /// another instance was training the forum).
    pub model_id: Option<i64>,
    /// Its status: `candidate`, `live` or `rejected`.
    pub status: Option<ModelStatus>,
    /// What happened, for people.
    pub outcome: String,
}

/// How a candidate and the live model did on the held-out labels.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    /// Labels the candidate was trained on.
    pub trained_on: usize,
    /// Labels held out (the most recent, copies of training posts left out).
    pub held_out: usize,
    /// The candidate on them.
    pub candidate: Evaluation,
    /// The live model on them.
    pub live: Evaluation,
    /// The live model's version.
    pub live_model: Option<String>,
    /// How the candidate's thresholds were chosen (for the forum's budgets,
    /// or kept as the base's, and why).
    pub thresholds: String,
    /// PR-AUC higher and review false-positive rate not higher (than the
    /// live model's or the review budget).
    pub better: bool,
    /// Enough held-out labels, of each class, to promote on.
    pub enough: bool,
    /// Each moderator's share of the labels, before and after the cap.
    pub moderators: Vec<ModeratorShare>,
}

/// The learner of one instance.
#[derive(Debug, Clone)]
pub struct Learner {
    store: Store,
    engine: Arc<LiveEngine>,
    config: LearningConfig,
    clock: Arc<dyn Clock>,
    owner: String,
}

impl Learner {
    /// A learner over `store`, loading what it promotes into `engine`.
    pub fn new(store: Store, engine: Arc<LiveEngine>, config: LearningConfig, clock: Arc<dyn Clock>) -> Learner {
        let mut nonce = [0u8; 8];
        let _ = getrandom::fill(&mut nonce);
        let owner = format!("{}-{}", std::process::id(), hex::encode(nonce));
        Learner { store, engine, config, clock, owner }
    }

    /// Visits every forum with labels every `poll_ms` until `shutdown`,
    /// training those that are due.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if !self.config.enabled {
            return;
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(self.config.poll_ms.max(10))) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.visit().await {
                tracing::warn!(error = %e, "the learner cannot read the store");
            }
        }
    }

    async fn visit(&self) -> Result<(), StoreError> {
        for forum in self.store.labelled_forums().await? {
            let labels = self.store.label_count(&forum).await?;
            let run = self.store.learner_run(&forum).await?;
            let (seen, last) = run.map_or((0, 0), |r| (r.labels_seen, r.last_run_at));
            let new = labels - seen;
            let minutes = i64::try_from(self.config.every_minutes).unwrap_or(i64::MAX).saturating_mul(60_000);
            let due = new >= i64::try_from(self.config.every_labels).unwrap_or(i64::MAX)
                || (new > 0 && self.clock.now_ms().saturating_sub(last) >= minutes);
            if due {
                match self.learn(&forum, "learner").await {
                    Ok(o) => {
                        tracing::info!(forum = %forum, labels = o.labels, model = ?o.model_id, outcome = %o.outcome, "learner ran")
                    }
                    Err(e) => tracing::warn!(forum = %forum, error = %e, "the learner failed on this forum"),
                }
            }
        }
        Ok(())
    }

    /// Trains, judges and stores a candidate for `forum` now (see the
    /// module docs); `actor` is who asked (`learner` or an admin key).
    pub async fn learn(&self, forum: &str, actor: &str) -> Result<LearnOutcome, StoreError> {
        let now = self.clock.now_ms();
        let labels = self.store.label_count(forum).await?;
        if !self.store.lease_learner(forum, &self.owner, now, now + LEASE_MS).await? {
            return Ok(LearnOutcome {
                forum: forum.to_string(),
                labels,
                model_id: None,
                status: None,
                outcome: "another instance is training this forum".into(),
            });
        }
        let result = self.train_and_store(forum, actor, labels).await;
        let outcome = match &result {
            Ok(o) => o.outcome.clone(),
            Err(e) => format!("failed: {e}"),
        };
        // The outcome stands (its model is stored) even if the bookkeeping
        // fails; the lease then runs out on its own.
        if let Err(e) = self.store.finish_learner(forum, &self.owner, labels, &outcome, self.clock.now_ms()).await {
            tracing::warn!(forum, error = %e, "cannot record the learner's run");
        }
        result
    }

    async fn train_and_store(&self, forum: &str, actor: &str, labels: i64) -> Result<LearnOutcome, StoreError> {
        let rows = self.store.labels_within(forum, self.config.max_labels, self.config.max_label_bytes).await?;
        let mut labelled = Vec::with_capacity(rows.len());
        for row in rows {
            let post: Post = serde_json::from_str(&row.post)
                .map_err(|e| StoreError::Corrupt { table: "labels", message: e.to_string() })?;
            let mut l = Vec::new();
            if let Some(scam) = row.scam {
                l.push((Category::Scam, scam));
            }
            if let Some(spam) = row.spam {
                l.push((Category::Spam, spam && row.scam != Some(true)));
            }
            labelled.push(Labelled { example: Example::new(post, l), moderator: row.decided_by });
        }
        let base = self.engine.get();
        let live = self.engine.for_forum(Some(forum));
        let live_model = live.model().map(|m| m.version().to_string());
        let judged_against = self.engine.forum_models().live.get(forum).map(|m| m.id);
        let config = self.config.clone();
        let permit = TRAININGS.acquire().await.ok();
        let trained = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            train(&base, &live, labelled, &config).map(|(model, mut judgement)| {
                judgement.live_model = live_model;
                (model, judgement)
            })
        })
        .await
        .map_err(|e| StoreError::Corrupt { table: "labels", message: format!("training panicked: {e}") })?;
        let (model, judgement) = match trained {
            Ok(t) => t,
            Err(why) => {
                return Ok(LearnOutcome { forum: forum.into(), labels, model_id: None, status: None, outcome: why });
            }
        };
        let c = &judgement.candidate;
        let l = &judgement.live;
        let figures = format!(
            "on the {} most recent labels ({} removed, {} approved): PR-AUC {} vs live {}, approved posts sent to review {} vs {}",
            judgement.held_out,
            c.positives,
            c.negatives,
            fmt(c.pr_auc),
            fmt(l.pr_auc),
            pct(c.review_fpr),
            pct(l.review_fpr),
        );
        let (status, reason) = if c.pr_auc.is_none() || l.pr_auc.is_none() {
            (
                ModelStatus::Candidate,
                format!(
                    "cannot be judged yet: the {} most recent labels lack removed or approved posts; in shadow until an admin promotes it",
                    judgement.held_out
                ),
            )
        } else if !judgement.better {
            (ModelStatus::Rejected, format!("not better than the live model {figures}"))
        } else if !judgement.enough {
            (
                ModelStatus::Candidate,
                format!(
                    "better {figures}, but judged on fewer than {} held-out labels or {} of a class: in shadow until an admin promotes it",
                    self.config.min_holdout, self.config.min_holdout_per_class
                ),
            )
        } else if self.config.auto_promote {
            (ModelStatus::Live, format!("promoted automatically: better {figures}"))
        } else {
            (
                ModelStatus::Candidate,
                format!("better {figures}; in shadow until an admin promotes it (auto_promote is off)"),
            )
        };
        let new = NewModel {
            forum: forum.to_string(),
            version: model.version().to_string(),
            base: model.data().adaptation.as_ref().map_or_else(String::new, |a| a.base.clone()),
            bytes: model.to_bytes(),
            labels: i64::try_from(judgement.trained_on).unwrap_or(i64::MAX),
            evaluation: serde_json::to_value(&judgement).unwrap_or_default(),
            status,
            reason: reason.clone(),
            created_by: actor.to_string(),
            judged_against,
        };
        let (id, status) = self.store.insert_model(&new, self.clock.now_ms()).await?;
        if let Err(e) = self.engine.refresh_models(&self.store).await {
            tracing::warn!(error = %e, "cannot reload forum models");
        }
        Ok(LearnOutcome {
            forum: forum.to_string(),
            labels,
            model_id: Some(id),
            status: Some(status),
            outcome: format!(
                "model {id} stored as {}: {reason}{}",
                status.as_str(),
                if status == new.status {
                    ""
                } else {
                    " (not promoted: the forum's live model changed while it was trained)"
                }
            ),
        })
    }
}

/// The CPU part: cap, split in time order, adapt, judge. `Err`: why no
/// candidate could be trained.
fn train(
    base: &moderation_core::Engine,
    live: &moderation_core::Engine,
    mut labelled: Vec<Labelled>,
    config: &LearningConfig,
) -> Result<(Arc<moderation_core::Model>, Judgement), String> {
    let moderators = cap_moderator_share(&mut labelled, config.max_moderator_share);
    let n = labelled.len();
    let held = ((n as f64) * config.holdout_share).ceil() as usize;
    let split = n.saturating_sub(held);
    let adapt_config = AdaptConfig::default().with_budgets(config.review_budget, config.hold_budget);
    if split < adapt_config.min_labels {
        return Err(format!(
            "too few labels: {n} (after the moderator share cap), of which {held} are held out to judge; \
             a candidate needs {} to train on",
            adapt_config.min_labels
        ));
    }
    let examples: Vec<Example> = labelled.into_iter().map(|l| l.example).collect();
    let (train, recent) = examples.split_at(split);
    // A held-out post that is a copy of one trained on would judge the
    // candidate on what it memorised: copies of training posts are left
    // out of the judgement.
    let mut near = NearDuplicates::new(AdaptConfig::default().near_duplicate);
    let mut exact = std::collections::HashSet::new();
    for e in train {
        exact.insert((e.post.title.as_deref(), e.post.body.as_str()));
        if let Some(print) = Fingerprint::of_post(&e.post) {
            near.find_or_insert(print);
        }
    }
    let trained_prints = near.len();
    let holdout: Vec<Example> = recent
        .iter()
        .filter(|e| {
            !exact.contains(&(e.post.title.as_deref(), e.post.body.as_str()))
                && Fingerprint::of_post(&e.post)
                    .is_none_or(|print| near.find_or_insert(print).is_none_or(|j| j >= trained_prints))
        })
        .cloned()
        .collect();
    let holdout = holdout.as_slice();
    let model = Arc::new(adapt(base, train, &adapt_config).map_err(|e| format!("no candidate: {e}"))?);
    let candidate_engine = base.with_model(Some(model.clone()));
    let candidate = evaluate(&candidate_engine, holdout);
    let live_eval = evaluate(live, holdout);
    let thresholds = model.data().adaptation.as_ref().map(|a| a.thresholds.clone()).unwrap_or_default();
    let better = match (candidate.pr_auc, live_eval.pr_auc) {
        (Some(c), Some(l)) => {
            let allowed = live_eval.review_fpr.unwrap_or(0.0).max(config.review_budget);
            c > l && candidate.review_fpr.unwrap_or(0.0) <= allowed + 1e-12
        }
        _ => false,
    };
    let per_class = config.min_holdout_per_class as usize;
    let enough = holdout.len() >= config.min_holdout as usize
        && candidate.positives >= per_class
        && candidate.negatives >= per_class;
    Ok((
        model,
        Judgement {
            trained_on: train.len(),
            held_out: holdout.len(),
            candidate,
            live: live_eval,
            live_model: None,
            thresholds,
            better,
            enough,
            moderators,
        },
    ))
}

fn fmt(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{:.1}%", v * 100.0))
}
