//! Adapting a model to one forum from its moderators' decisions.
//!
//! A shipped model is trained on other platforms; a forum's moderators label
//! its own posts every day. [`adapt`] fits, per head, a logistic model of
//! those labels on top of the base model's log-odds:
//!
//! ```text
//! log-odds = (1 + δ) × base (rules + model) + bias
//!          + Σ forum n-gram weights / √(their number) + Σ evidence weights
//! ```
//!
//! * δ lets a forum's data trust the base less (or more) where the base
//!   transfers badly, within [−1, +0.5] (−1: the base's log-odds dropped
//!   where no rule of the category fired);
//! * the n-grams are the forum's own hashed buckets (the base's
//!   [`FeatureConfig`](crate::FeatureConfig)), so vocabulary the base never
//!   selected still counts; from [`AdaptConfig::nb_from_labels`] distinct
//!   labels up, each is fitted scaled by its naive-Bayes log-count ratio
//!   between removed and approved posts (NBSVM), the ratio folded into its
//!   stored weight;
//! * *evidence* is each rule and built-in signal of the head's category that
//!   fired on a labelled post: a forum whose moderators keep approving what
//!   one rule flags teaches the engine to weigh that rule less;
//! * the weights are L2-penalised, and the base's factor is pulled
//!   towards 1: the fewer the labels, the less the forum's data can move.
//!   Where a rule or signal of a category fired, the adaptation may raise
//!   a post but not lower it (only the weight the forum's decisions gave
//!   that very evidence may): what the base knows about crypto scams and
//!   the forum never contradicted stays.
//!
//! **Stacking** ([`AdaptConfig::stacked`], the default). A model of the
//! forum's labels alone (its n-grams, evidence and a bias; the base left
//! out) is scored out of fold, and a logistic combiner
//! `a × base + b × forum + c`, fitted on those out-of-fold scores, decides
//! how much of each to keep; the forum model fitted on all the labels,
//! times `b`, becomes the n-gram and evidence weights above, `δ = a − 1`
//! and `c` joins the bias. Fitting the base's factor jointly with the
//! n-grams (the *joint* fit, `stacked = false`, and what a head gets when
//! its labels are too few for every fold to hold both classes) cannot
//! learn it: with more n-grams than labels the n-grams fit every labelled
//! post, and the base keeps its full weight however badly it transfers to
//! the forum.
//! Measured by the learning curve (`moderation curve`): macro PR-AUC at 50
//! labels 0.737 → 0.761, F1 at 200 labels 0.756 → 0.771 (one run each).
//! The folds are 5, and below 150 labels one per five posts, at least 5 and at most 10
//! ([`AdaptConfig::few_labels`]): macro F1 / PR-AUC at 50 labels 0.543 /
//! 0.770 → 0.561 / 0.779.
//!
//! Where the labels teach two categories or more
//! ([`AdaptConfig::shared_unwanted`]), each category's positives are a
//! share of the forum's removals; a model of them all (removed for any
//! category against approved: n-grams and a bias), scored out of fold, is
//! one more score in every combiner:
//! `a × base + b × forum + u × unwanted + c`, and `u` times its weights
//! joins the stored n-gram weights and bias.
//! Measured: macro F1 / PR-AUC at 50 labels from 0.473 / 0.754 to 0.531 /
//! 0.766 (SMS, whose removals split into spam and smishing, from 0.465 /
//! 0.722 to 0.697 / 0.809).
//!
//! The fit is deterministic (full-batch L-BFGS and Newton steps, no random
//! order), needs no linfa, and runs in the default build. In the residual
//! fit with enough negative labels, how much of the base to keep (δ fitted,
//! or fixed at −0.5 or −1) is chosen by out-of-fold log-loss on the
//! forum's labels. Then, when the labels
//! include enough approved posts, a slope and an offset per head on its
//! adapted log-odds move the default review and hold thresholds, each to
//! where the forum's approved posts (scored out of fold) keep within its
//! budget ([`AdaptConfig::review_fpr`] and [`AdaptConfig::hold_fpr`]: 5%
//! and 1% of them by default, the forum's to set) with the configured
//! confidence (a one-sided Clopper–Pearson
//! bound) — and no lower than needed to flag the removed posts that budget
//! would flag. The budget is the union's (the share of approved posts any
//! head flags). The heads the labels taught share one cut on the highest
//! of their probabilities (each is a logistic model of this forum's
//! labels). A head the labels did not teach (not both classes among them)
//! keeps the base's weights and thresholds — a forum that removes spam
//! and never a scam does not make the scam head harder to trigger —
//! unless raising its thresholds lets the heads together flag more removed
//! posts within the budget, or the budget needs it. Its base scores may
//! rank this forum's posts badly and outrank a taught head's on approved
//! posts: under its first threshold it may score further under
//! ([`AdaptConfig::below_review_choices`]), which changes no decision. Where evidence of a
//! head fired, the post keeps the base's log-odds as a floor whatever the
//! calibration, and the budget counts it so. Where the approved posts are
//! too few to show a budget with that confidence, that threshold may be
//! stricter than the base's, not more lenient. Without 20 approved posts
//! to check the review rate against,
//! the adaptation may lower a post's log-odds but not raise them
//! (moderators mostly decide reported posts, so the labels' class balance
//! and vocabulary are not the forum's).
//! Duplicate posts (the same normalized text) and near-duplicates (a wave
//! of copies that differ in numbers and a word or two: see
//! [`fingerprint`](crate::fingerprint)) count once: the latest of them
//! (examples are in decision order), a later decision being the
//! moderators' corrected view of a wave.
//!
//! ```
//! use std::sync::Arc;
//! use moderation_core::adapt::{AdaptConfig, adapt};
//! use moderation_core::{Category, Engine, Example, Model, Post};
//!
//! let base = Model::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model"))?;
//! let engine = Engine::builder().model(Arc::new(base)).build()?;
//! // A forum's decisions: removed watch adverts, approved questions.
//! let removed = [
//!     "replica rolex watches in stock, order now",
//!     "cheap luxury watches outlet with free shipping",
//!     "buy discount omega copies from our online shop",
//!     "best fake cartier deals this weekend only",
//!     "watch sale: swiss replicas at factory prices",
//!     "top quality imitation timepieces, message for the catalogue",
//!     "wholesale designer watches, lowest price guaranteed",
//!     "get a luxury watch for under fifty dollars today",
//! ];
//! let approved = [
//!     "how do I change my password on this forum?", "where can I upload an avatar image",
//!     "is there a dark mode for the mobile app", "my notifications stopped arriving since monday",
//!     "can moderators merge two of my old threads", "what does the trust level badge mean here",
//!     "the search box ignores quoted phrases for me", "thanks everyone for the warm welcome",
//!     "which category is right for a gardening question", "I cannot find the button to edit my signature",
//!     "does the forum support markdown tables", "how long until a new member can send messages",
//!     "is the meetup next month still happening", "the page loads slowly on older phones",
//!     "who do I ask about deleting my account", "great writeup, I learned a lot from this thread",
//! ];
//! let mut labelled = Vec::new();
//! for (i, body) in removed.iter().enumerate() {
//!     labelled.push(Example::new(Post::new(format!("r{i}"), *body), vec![(Category::Spam, true)]));
//! }
//! for (i, body) in approved.iter().enumerate() {
//!     labelled.push(Example::new(Post::new(format!("a{i}"), *body), vec![(Category::Spam, false)]));
//! }
//! let adapted = adapt(&engine, &labelled, &AdaptConfig::default())?;
//! let engine = engine.with_model(Some(Arc::new(adapted)));
//! let verdict = engine.score(&Post::new("new", "replica watches outlet sale, order now"));
//! assert!(verdict.signals.iter().any(|s| s.id == "adapted.spam"));
//! # Ok::<(), moderation_core::Error>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::classifier::evaluation::{self, Confusion};
use crate::classifier::model::{
    Adaptation, AdaptedHead, HeadCalibration, HeadMetrics, MAX_ABOVE_HOLD, MAX_BELOW_REVIEW, MAX_SLOPE, MIN_ABOVE_HOLD,
    MIN_SLOPE, Model, ModelData,
};
use crate::engine::Engine;
use crate::error::{Error, TrainingError};
use crate::fingerprint::{Fingerprint, GOLDEN, NearDuplicates, splitmix};
use crate::post::Example;
use crate::text::hex;
use crate::vocab::Category;

/// Adaptation settings. The defaults were chosen by the learning curve of
/// `moderation curve` (leave-one-source-out over the shared sets).
#[derive(Debug, Clone)]
pub struct AdaptConfig {
    /// The adapted model's name (default: the base's name + `-forum`).
    pub name: Option<String>,
    /// L2 penalty of the n-gram weights. 0.08, chosen by the learning
    /// curve among 0.005 to 1 (macro F1 / PR-AUC at 50 labels 0.543 /
    /// 0.770, at 200 0.782 / 0.894; 0.02 before: 0.531 / 0.766 and 0.775 /
    /// 0.888).
    pub l2_text: f64,
    /// L2 penalty of the evidence weights.
    pub l2_evidence: f64,
    /// L2 penalty of the bias (of the forum model, when stacked).
    pub l2_bias: f64,
    /// L2 penalty of δ, the change of the base's scale (the joint fit;
    /// stacked, the combiner's penalty pulls the factor towards 1).
    pub l2_scale: f64,
    /// Most L-BFGS iterations per fit.
    pub iterations: u32,
    /// Fewest labelled posts to adapt at all.
    pub min_labels: usize,
    /// Fewest approved (all-negative) posts to re-choose thresholds; with
    /// fewer, the adaptation may only lower a post's log-odds.
    pub min_negatives: usize,
    /// How sure the re-chosen thresholds must be of keeping the budgets:
    /// a threshold is placed where the one-sided Clopper–Pearson bound at
    /// this confidence on the share of approved posts reaching it is
    /// within the budget. Where even a threshold above every approved
    /// post cannot be that sure (too few of them), it may be stricter than
    /// the base's, never more lenient.
    pub confidence: f64,
    /// Fewest negative labels of a category for how much of the base to
    /// keep to be chosen out of fold (see `scale_choices`; the residual fit).
    pub min_negatives_to_choose: usize,
    /// Share of approved posts that may reach review (the forum's review
    /// budget): 0.05, the budget the shipped thresholds keep on a new
    /// forum. A forum whose moderators would rather review more of its
    /// posts to catch more raises it (at most [`MAX_REVIEW_FPR`]).
    pub review_fpr: f64,
    /// Share of approved posts that may reach hold: 0.01, at most
    /// `review_fpr`.
    pub hold_fpr: f64,
    /// Folds for out-of-fold scores (the stacking combiner, thresholds and
    /// figures), with at least `few_labels` distinct labelled posts.
    pub folds: u32,
    /// Below this many distinct labelled posts, one fold per five posts,
    /// at least `folds` and at most `few_labels_folds` (with the defaults,
    /// 5 to 10): with a handful of positives, a fifth held out leaves the
    /// out-of-fold models weaker than the model kept, and the combiner
    /// trusts the forum's words less than it should. The fold count, and so
    /// every post's fold, changes as labels cross a multiple of five or
    /// this count: two adaptations a few labels apart may differ by more
    /// than those labels.
    pub few_labels: usize,
    /// Most folds below `few_labels` posts. 10, chosen by the learning
    /// curve: 10 folds against 5 on three shuffles of the sources' texts,
    /// macro F1 / PR-AUC at 50 labels 0.543 / 0.770 → 0.549 / 0.779, 0.708
    /// / 0.844 → 0.717 / 0.845 and 0.614 / 0.815 → 0.637 / 0.817, at 100
    /// labels 0.719 / 0.869 → 0.732 / 0.870 and 0.716 / 0.864 → 0.725 /
    /// 0.868; at 200 labels 10 folds lost on all three (0.782 / 0.894 →
    /// 0.765 / 0.892 on the first), so `few_labels` is 150, between the two
    /// (not measured at 150 itself); 20 folds at 50 labels lost (0.533 /
    /// 0.774). With one fold per five posts (9 or 10 at 50 labels, as
    /// shipped): 0.561 / 0.779 on the first shuffle.
    pub few_labels_folds: u32,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// Posts whose [fingerprints](crate::fingerprint) agree on at least this
    /// share are one label (the first): one decision on a wave of copies
    /// teaches once. Above 1: exact duplicates only.
    pub near_duplicate: f64,
    /// Fixed values of δ tried against fitting it freely, chosen per head
    /// by out-of-fold log-loss on the labels (−1 drops the base's
    /// log-odds where no rule fired), when the head has at least
    /// `min_negatives_to_choose` negative labels.
    pub scale_choices: Vec<f64>,
    /// Combine the base and the forum's own words by stacking rather than
    /// by one joint fit: a model of the forum's labels alone (its n-grams,
    /// evidence and a bias, the base left out) is scored out of fold, and
    /// a logistic combiner of the base's log-odds and that score, fitted
    /// on those out-of-fold scores, sets how much of each to keep. In a
    /// joint fit with more n-grams than labels, the n-grams fit every
    /// labelled post and the base keeps its full weight, however badly it
    /// transfers to this forum; out of fold they cannot.
    pub stacked: bool,
    /// L2 penalty of the stacking combiner, pulling the base's factor
    /// towards 1 and the forum models' towards 0 (the base alone).
    pub l2_combiner: f64,
    /// When stacking and the labels teach two categories or more: a model
    /// of *unwanted* (posts removed for any category against approved
    /// ones), scored out of fold, is one more score in every category's
    /// combiner. A forum's removals split among categories leave each a
    /// share of the positives; at 50 labels that share is a handful.
    /// Measured by the learning curve: macro F1 / PR-AUC at 50 labels
    /// 0.473 / 0.754 → 0.531 / 0.766 (with `l2_text` 0.02).
    pub shared_unwanted: bool,
    /// Slopes tried below the review threshold of the heads the labels did
    /// not teach ([`HeadCalibration::below_review`]), where at least one
    /// head was taught and the thresholds were re-chosen: the one whose
    /// unwanted score (the highest calibrated head) ranks the forum's
    /// removed posts above its approved ones best (average precision on
    /// the labels, the taught heads scored out of fold; the smaller on a
    /// tie). Such a head keeps the base's scores, which may transfer
    /// badly to this forum, and outrank the taught heads' on approved
    /// posts. No decision changes: the scores are compressed only under
    /// the forum's first threshold (the default review threshold, or lower
    /// where the forum's prior or thresholds say so). What changes is the
    /// score itself (what a moderator reads, and which category a review
    /// item is filed under when two are close). Empty or `[1]`: never.
    pub below_review_choices: Vec<f64>,
    /// Above the forum's hold threshold, a taught head whose calibration
    /// slope is under 1, and a head the labels did not teach whose slope
    /// is over 1, go on at the base's slope
    /// ([`HeadCalibration::above_hold`] = 1 / slope). The slope lands the
    /// review and hold thresholds where the forum's budgets put them; at a
    /// 5% budget a forum's spam head often gets 0.3–0.35, which squeezes
    /// its surest removals under an untaught head's base scores on
    /// approved posts in the "unwanted" ranking, and an untaught head
    /// whose thresholds were raised may get 2 or more, which inflates
    /// those base scores. No decision changes. Measured by the learning
    /// curve (three draws, 5% budget): every F1 and benign review rate the
    /// same; PR-AUC SpamAssassin 0.830 → 0.853 (k = 50), 0.929 → 0.949
    /// (k = 200), 0.923 → 0.968 (k = 1,000); macro 0.915 → 0.923 at
    /// k = 1,000. Stretching a taught head's slope over 1 down as well,
    /// or an untaught one's under 1 up, lost (crypto-pump 0.916 → 0.902
    /// at k = 200). See the README for the table.
    pub stretch_above_hold: bool,
    /// Naive-Bayes scaling of the forum's n-grams (NBSVM, Wang and Manning
    /// 2012), from `nb_from_labels` distinct labelled posts up: each
    /// column's value is multiplied by its log-count ratio between the
    /// removed and the approved posts of the fit, smoothed by this count,
    /// so the L2 penalty falls least on the n-grams that separate the
    /// classes. Computed within each fold for out-of-fold scores; the
    /// stored weights have the ratios folded in (no format change). 0: off.
    pub nb_alpha: f64,
    /// Fewest distinct labelled posts (after near-copies are merged) for
    /// the naive-Bayes scaling. 750, chosen by the learning curve (three
    /// draws; macro F1 / PR-AUC without → with the scaling at every k, so
    /// at k = 500 and 750 whatever the distinct count): k = 1,000 0.821 /
    /// 0.909 → 0.825 / 0.915, k = 750 0.811 / 0.904 → 0.814 / 0.909; k = 500
    /// lost on F1 (0.798 / 0.896 → 0.788 / 0.898 on the same 7 sources),
    /// k = 200 too (0.771 / 0.888 → 0.760 / 0.889) and k = 50 (0.643 /
    /// 0.819 → 0.632 / 0.818). With the gate at 750 the k = 1,000 figures
    /// are those of the scaling at every k (measured: each of those
    /// adaptations had over 750 distinct labels). Chosen per forum by the
    /// out-of-fold log-loss of its model of unwanted instead, it lost at 50
    /// labels (0.631 / 0.817) and gained less at 1,000 (0.822 / 0.914).
    pub nb_from_labels: usize,
}

impl Default for AdaptConfig {
    fn default() -> Self {
        AdaptConfig {
            name: None,
            l2_text: 0.08,
            l2_evidence: 0.1,
            l2_bias: 0.5,
            l2_scale: 1.0,
            iterations: 200,
            min_labels: 20,
            min_negatives: 20,
            confidence: 0.75,
            min_negatives_to_choose: 100,
            review_fpr: 0.05,
            hold_fpr: 0.01,
            folds: 5,
            few_labels: 150,
            few_labels_folds: 10,
            seed: 1,
            near_duplicate: 0.7,
            scale_choices: vec![-1.0, -0.5],
            below_review_choices: vec![1.0, 2.0, 5.0],
            stretch_above_hold: true,
            stacked: true,
            l2_combiner: 0.1,
            shared_unwanted: true,
            nb_alpha: 0.25,
            nb_from_labels: 750,
        }
    }
}

impl AdaptConfig {
    /// These settings with a forum's budgets: `review` of its approved
    /// posts to review and `hold` held; without a hold budget, these
    /// settings' own, or the review budget if that is smaller (a held post
    /// is also one reviewed).
    pub fn with_budgets(self, review: f64, hold: Option<f64>) -> AdaptConfig {
        let hold_fpr = hold.unwrap_or(self.hold_fpr.min(review));
        AdaptConfig { review_fpr: review, hold_fpr, ..self }
    }

    /// Checks every setting's range; `Err` names the setting and its value.
    /// [`adapt`] checks it first; a tool can check it before loading
    /// anything.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("l2_text", self.l2_text),
            ("l2_evidence", self.l2_evidence),
            ("l2_bias", self.l2_bias),
            ("l2_scale", self.l2_scale),
            ("l2_combiner", self.l2_combiner),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{name} must be a positive number, not {v}"));
            }
        }
        if let Some(v) = self.scale_choices.iter().find(|v| !(-1.0..=SCALE.1).contains(*v)) {
            return Err(format!("a fixed δ must be within -1..={}, not {v}", SCALE.1));
        }
        if let Some(v) = self.below_review_choices.iter().find(|v| !(1.0..=MAX_BELOW_REVIEW).contains(*v)) {
            return Err(format!("a slope below review must be within 1..={MAX_BELOW_REVIEW}, not {v}"));
        }
        if !(self.nb_alpha == 0.0 || (self.nb_alpha.is_finite() && self.nb_alpha >= MIN_NB_ALPHA)) {
            return Err(format!(
                "nb_alpha must be 0 (off) or a smoothing count of at least {MIN_NB_ALPHA}, not {}",
                self.nb_alpha
            ));
        }
        if !(0.0..=MAX_REVIEW_FPR).contains(&self.review_fpr) {
            return Err(format!(
                "the review budget (review_fpr) must be within 0..={MAX_REVIEW_FPR}, not {}",
                self.review_fpr
            ));
        }
        if !(0.0..=self.review_fpr).contains(&self.hold_fpr) {
            return Err(format!(
                "the hold budget (hold_fpr) must be within 0 and the review budget {}, not {}",
                self.review_fpr, self.hold_fpr
            ));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(format!("confidence must be within (0, 1), not {}", self.confidence));
        }
        for (name, v) in [("folds", self.folds), ("few_labels_folds", self.few_labels_folds)] {
            if v < 2 {
                return Err(format!("{name} must be at least 2, not {v}"));
            }
        }
        Ok(())
    }
}

/// The smallest naive-Bayes smoothing count: below it an n-gram seen in
/// one class only gets a ratio so large that its weight is, in effect,
/// unpenalised.
const MIN_NB_ALPHA: f64 = 0.01;

/// The largest review budget: half a forum's approved posts.
pub const MAX_REVIEW_FPR: f64 = 0.5;

/// A budget as a percentage for reports, to a hundredth of a percent:
/// `5%`, `2.5%`, `0.04%`.
fn percent(share: f64) -> String {
    let p = format!("{:.2}", share * 100.0);
    format!("{}%", p.trim_end_matches('0').trim_end_matches('.'))
}

/// The naive-Bayes smoothing of an adaptation on `rows`: the configured
/// count from [`AdaptConfig::nb_from_labels`] distinct labelled posts up,
/// else 0 (no scaling).
fn nb_alpha_for(rows: &[Row], config: &AdaptConfig) -> f64 {
    if rows.len() >= config.nb_from_labels { config.nb_alpha } else { 0.0 }
}

/// The value of n-gram column `c` in a post that has it (before the
/// post's 1/√n): its naive-Bayes ratio while fitting scaled, else 1.
fn column_scale(columns: Option<&[f64]>, c: u32) -> f64 {
    columns.map_or(1.0, |s| s[c as usize])
}

/// The default review and hold thresholds of spam and scam.
const REVIEW: f64 = 0.5;
const HOLD: f64 = 0.85;

/// One labelled post as the base engine saw it.
struct Row {
    /// Distinct adaptation columns (filled after selection).
    cols: Vec<u32>,
    /// Buckets of the normalized texts, distinct.
    buckets: Vec<u32>,
    /// Per base head: the base log-odds.
    base: [f64; 4],
    /// Per base head: evidence ids that fired (positive weight).
    evidence: [Vec<String>; 4],
    /// Per base head: the label, if known.
    labels: [Option<bool>; 4],
    fold: u32,
}

impl Row {
    /// Head `i`'s floor: where evidence of the head fired, the base's
    /// log-odds, which the adapted model never goes below (`-∞` where
    /// none fired).
    fn floor(&self, i: usize) -> f64 {
        if self.evidence[i].is_empty() { f64::NEG_INFINITY } else { self.base[i] }
    }
}

/// Adapts the model of `engine` to the forum `examples` come from (see the
/// [module docs](self)). `engine` scores with the base: its rules and
/// model, as the forum runs them. A base that was itself adapted is adapted
/// again from its own base, never stacked twice.
pub fn adapt(engine: &Engine, examples: &[Example], config: &AdaptConfig) -> Result<Model, Error> {
    let cfg_err = |m: String| Error::from(TrainingError::Config(m));
    let Some(model) = engine.model() else {
        return Err(cfg_err("adapting needs a base model".into()));
    };
    config.validate().map_err(cfg_err)?;
    let mut base_data = model.data().clone();
    if let Some(a) = base_data.adaptation.take() {
        base_data.name = a.base.rsplit_once('@').map_or(a.base.as_str(), |(name, _)| name).to_string();
    }
    let base = Arc::new(Model::from_data(base_data.clone())?);
    let scorer = engine.with_model(Some(base.clone()));
    let categories: Vec<Category> = base.categories().collect();
    let h = categories.len();

    // The base's view of every labelled post; duplicates and
    // near-duplicates count once.
    // Which posts count: of copies, the latest (`examples` are in decision
    // order, and a later decision on a wave is the moderators' corrected view).
    let mut seen: HashSet<String> = HashSet::new();
    let mut near = NearDuplicates::new(config.near_duplicate);
    let mut kept: Vec<Option<Vec<String>>> = vec![None; examples.len()];
    for (i, ex) in examples.iter().enumerate().rev() {
        if categories.iter().all(|&c| ex.label(c).is_none()) {
            continue;
        }
        let texts = scorer.model_texts(&ex.post);
        if !seen.insert(texts.join("\n")) {
            continue;
        }
        if config.near_duplicate <= 1.0
            && let Some(print) = Fingerprint::of_post(&ex.post)
            && near.find_or_insert(print).is_some()
        {
            continue;
        }
        kept[i] = Some(texts);
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut digest = Sha256::new();
    let mut grams: HashMap<u32, String> = HashMap::new();
    for (ex, texts) in examples.iter().zip(kept) {
        let Some(texts) = texts else { continue };
        let labels: [Option<bool>; 4] = std::array::from_fn(|i| categories.get(i).and_then(|&c| ex.label(c)));
        let key = texts.join("\n");
        digest.update(key.as_bytes());
        digest.update(labels.map(|l| l.map_or(2u8, u8::from)));
        let verdict = scorer.score(&ex.post);
        let mut buckets = Vec::new();
        for t in &texts {
            base.data().features.for_each(t, |b, g| {
                buckets.push(b);
                grams.entry(b).or_insert_with(|| g.to_string());
            });
        }
        buckets.sort_unstable();
        buckets.dedup();
        let evidence = std::array::from_fn(|i| match categories.get(i) {
            Some(&c) => verdict
                .signals
                .iter()
                .filter(|s| s.category == c && s.weight > 0.0)
                .filter(|s| !s.id.starts_with("classifier.") && !s.id.starts_with("adapted."))
                .map(|s| s.id.clone())
                .collect(),
            None => Vec::new(),
        });
        let base_logits = std::array::from_fn(|i| categories.get(i).map_or(0.0, |&c| logit(verdict.scores.get(c))));
        rows.push(Row { cols: Vec::new(), buckets, base: base_logits, evidence, labels, fold: 0 });
    }
    if rows.len() < config.min_labels {
        return Err(cfg_err(format!(
            "{} distinct labelled posts; adapting needs at least {}",
            rows.len(),
            config.min_labels
        )));
    }
    let folds = folds_for(rows.len(), config);
    for (i, r) in rows.iter_mut().enumerate() {
        r.fold = fold_of(config.seed, i as u64, folds);
    }

    // Columns: buckets in at least `min_df` posts, the most frequent first
    // when there are more than a bucket map holds.
    let min_df = if rows.len() < 200 { 1 } else { 2 };
    let mut df: HashMap<u32, u32> = HashMap::new();
    for r in &rows {
        for &b in &r.buckets {
            *df.entry(b).or_insert(0) += 1;
        }
    }
    let mut kept: Vec<(u32, u32)> = df.into_iter().filter(|&(_, n)| n >= min_df).collect();
    kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    kept.truncate(u16::MAX as usize - 1);
    let mut columns: Vec<u32> = kept.into_iter().map(|(b, _)| b).collect();
    columns.sort_unstable();
    let column_of: HashMap<u32, u32> = columns.iter().enumerate().map(|(i, &b)| (b, i as u32)).collect();
    for r in &mut rows {
        r.cols = r.buckets.iter().filter_map(|b| column_of.get(b).copied()).collect();
        r.buckets = Vec::new();
    }
    let k = columns.len();

    // Out-of-fold adapted log-odds per head (base log-odds where a head
    // cannot be adapted), for the thresholds and the figures.
    let mut oof: Vec<[f64; 4]> = rows.iter().map(|r| r.base).collect();
    let mut adapted_heads = Vec::new();
    // The categories the labels teach: both classes among them.
    let taught: [bool; 4] = std::array::from_fn(|i| {
        i < h && rows.iter().any(|r| r.labels[i] == Some(true)) && rows.iter().any(|r| r.labels[i] == Some(false))
    });
    let two_taught = taught.iter().filter(|&&t| t).count() >= 2;
    // Where the labels split what is unwanted among categories, each
    // category's positives are a share of the removed posts: a model of
    // them all (removed for any reason against approved), scored out of
    // fold, is one more score in each category's combiner.
    let unwanted: Option<(Vec<f64>, Vec<f64>)> = if config.stacked && config.shared_unwanted && two_taught {
        let problem = Problem::unwanted(&rows, h, k, config);
        let members: Vec<usize> = (0..rows.len()).filter(|&j| problem.labels[j].is_some()).collect();
        (problem.foldable(&members, folds) && members.len() >= 2 * folds as usize).then(|| {
            let oof = problem.out_of_fold(&members, folds, config.iterations);
            (oof, problem.fit(&members, config.iterations))
        })
    } else {
        None
    };
    for (i, &category) in categories.iter().enumerate() {
        if !taught[i] {
            continue;
        }
        let members: Vec<usize> = (0..rows.len()).filter(|&j| rows[j].labels[i].is_some()).collect();
        let positives = members.iter().filter(|&&j| rows[j].labels[i] == Some(true)).count();
        let evidence_ids: Vec<String> = {
            let mut ids: Vec<String> = members.iter().flat_map(|&j| rows[j].evidence[i].iter().cloned()).collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let mut problem = Problem::new(&rows, i, k, &evidence_ids, config);
        let mut metrics = None;
        let enough = problem.foldable(&members, folds) && members.len() >= 2 * folds as usize;
        let mut combiner = None;
        if enough && config.stacked {
            // The forum's model alone (the base's log-odds left out),
            // scored out of fold, then combined with the base.
            problem.fixed_scale = Some(-1.0);
            let forum = problem.out_of_fold(&members, folds, config.iterations);
            let shared = |j: usize| unwanted.as_ref().map_or(0.0, |u| u.0[j]);
            let points: Vec<[f64; 4]> = members
                .iter()
                .map(|&j| [rows[j].base[i], forum[j], shared(j), f64::from(u8::from(rows[j].labels[i] == Some(true)))])
                .collect();
            let (a, b, u, c) = fit_combiner(&points, config.l2_combiner);
            // Every row: a post without this head's label still counts
            // among the approved or removed posts the thresholds are set on.
            for (j, t) in forum.iter().enumerate() {
                oof[j][i] = a * rows[j].base[i] + b * t + u * shared(j) + c;
            }
            combiner = Some((a, b, u, c));
        } else if enough {
            // How much of the base to keep is chosen on the forum's own
            // labels, out of fold: fitted freely, or fixed (the base
            // dropped, or halved) where that predicts the held-out folds
            // better.
            // Only with enough approved posts: on fewer, the choice is noise.
            let negatives = members.len() - positives;
            let choices: &[f64] = if negatives >= config.min_negatives_to_choose { &config.scale_choices } else { &[] };
            let mut best: Option<(f64, Option<f64>, Vec<f64>)> = None;
            for fixed in std::iter::once(None).chain(choices.iter().copied().map(Some)) {
                problem.fixed_scale = fixed;
                let margins = problem.out_of_fold(&members, folds, config.iterations);
                let loss = members.iter().map(|&j| log_loss(margins[j], rows[j].labels[i] == Some(true))).sum::<f64>()
                    / members.len() as f64;
                if best.as_ref().is_none_or(|b| loss < b.0 - 1e-9) {
                    best = Some((loss, fixed, margins));
                }
            }
            let (_, fixed, margins) = best.expect("at least the free fit");
            problem.fixed_scale = fixed;
            for (j, m) in margins.into_iter().enumerate() {
                oof[j][i] = m;
            }
        }
        if enough {
            // Scored as the model will score them: where evidence of this
            // head fired, the adaptation may raise the post, never lower it.
            let probs: Vec<f64> = members.iter().map(|&j| sigmoid(oof[j][i].max(rows[j].floor(i)))).collect();
            let y: Vec<bool> = members.iter().map(|&j| rows[j].labels[i] == Some(true)).collect();
            let c = Confusion::at(&probs, &y, REVIEW);
            metrics = Some(HeadMetrics {
                examples: y.len() as u32,
                positives: positives as u32,
                f1: c.f1(),
                precision: c.precision(),
                recall: c.recall(),
                pr_auc: evaluation::average_precision(&probs, &y),
                brier: evaluation::brier(&probs, &y),
            });
        }
        let mut w = problem.fit(&members, config.iterations);
        let scale = match combiner {
            // The combiner's factors applied to the forum models' weights:
            // a × base + b × forum + u × unwanted + c.
            Some((a, b, u, c)) => {
                w[0] = b * w[0] + c;
                w[TEXT..].iter_mut().for_each(|x| *x *= b);
                if let Some((_, shared)) = &unwanted {
                    w[0] += u * shared[0];
                    for (x, s) in w[TEXT..TEXT + k].iter_mut().zip(&shared[TEXT..]) {
                        *x += u * s;
                    }
                }
                a - 1.0
            }
            None => problem.scale(&w),
        };
        adapted_heads.push(AdaptedHead {
            category,
            bias: round6(w[0]),
            scale: round6(scale),
            text_weights: w[TEXT..TEXT + k].iter().map(|&x| x as f32).collect(),
            evidence: evidence_ids.iter().zip(&w[TEXT + k..]).map(|(id, &x)| (id.clone(), round6(x))).collect(),
            examples: members.len() as u32,
            positives: positives as u32,
            metrics,
        });
    }
    if adapted_heads.is_empty() {
        return Err(cfg_err(
            "no category has both a positive and a negative label; a forum's model needs both to learn".into(),
        ));
    }

    // Thresholds, per head: where the approved posts' out-of-fold scores
    // put them, the union of the heads keeping each budget.
    // Each post as the model will score it: its adapted log-odds, and,
    // where evidence of a category fired, the base's log-odds as a floor
    // that the calibration does not move.
    let scored = |(r, z): (&Row, &[f64; 4])| Scored { adapted: *z, floor: std::array::from_fn(|i| r.floor(i)) };
    let approved: Vec<Scored> =
        rows.iter().zip(&oof).filter(|(r, _)| r.labels[..h].iter().all(|l| *l != Some(true))).map(scored).collect();
    let folded = adapted_heads.iter().all(|a| a.metrics.is_some());
    // Thresholds kept: no per-head entries, so the file stays readable by
    // builds before per-head thresholds (one calibration, the identity).
    let (calibrations, thresholds): (Vec<HeadCalibration>, String) = if !folded {
        (Vec::new(), format!("kept the base's: {} labels are too few for {} folds", rows.len(), folds))
    } else if approved.len() < config.min_negatives {
        (
            Vec::new(),
            format!("kept the base's: {} approved posts (at least {} needed)", approved.len(), config.min_negatives),
        )
    } else {
        let removed: Vec<Scored> =
            rows.iter().zip(&oof).filter(|(r, _)| r.labels[..h].contains(&Some(true))).map(scored).collect();
        let mut floored = Vec::new();
        let mut zero = Vec::new();
        let mut cuts = |fpr: f64, default: f64, name: &'static str| {
            let (cuts, sure) = head_cuts(&approved, &removed, h, &taught, fpr, default, config.confidence);
            // A budget of 0 can never be shown to hold: its thresholds may
            // only be stricter than the base's, whatever the posts.
            match (sure, fpr > 0.0) {
                (true, _) => {}
                (false, true) => floored.push(name),
                (false, false) => zero.push(name),
            }
            cuts
        };
        let review = cuts(config.review_fpr, logit(REVIEW), "review");
        let hold = cuts(config.hold_fpr, logit(HOLD), "hold");
        let mut only_stricter = if floored.is_empty() {
            String::new()
        } else {
            format!(
                ", {} not lowered: too few approved posts to be {:.0}% sure",
                floored.join(" and "),
                config.confidence * 100.0
            )
        };
        if !zero.is_empty() {
            only_stricter.push_str(&format!(", {} not lowered: a budget of 0", zero.join(" and ")));
        }
        let mut calibrations: Vec<HeadCalibration> = categories
            .iter()
            .enumerate()
            .map(|(i, &category)| {
                let (slope, offset) = calibration(review[i], hold[i]);
                // Above hold no threshold is left to land: a taught head's
                // line is not compressed there, nor an untaught head's
                // stretched; each goes on at the base's slope.
                let above_hold = if config.stretch_above_hold && (taught[i] && slope < 1.0 || !taught[i] && slope > 1.0)
                {
                    (1.0 / slope).clamp(MIN_ABOVE_HOLD, MAX_ABOVE_HOLD)
                } else {
                    1.0
                };
                HeadCalibration { category, slope, offset, below_review: 1.0, above_hold }
            })
            .collect();
        let mut compressed = compress_untaught(&rows, &oof, &taught, &mut calibrations, &config.below_review_choices);
        let stretched: Vec<String> = calibrations
            .iter()
            .filter(|c| c.above_hold != 1.0)
            .map(|c| format!("{} ×{:.2}", c.category.as_str(), c.above_hold))
            .collect();
        if !stretched.is_empty() {
            compressed.push_str(&format!(
                "; above the hold threshold {} (the base's slope; no decision changes)",
                stretched.join(" and ")
            ));
        }
        (
            calibrations,
            format!(
                "re-chosen per head on {} approved posts (out of fold): at most {} reach review and {} hold{only_stricter}{compressed}",
                approved.len(),
                percent(config.review_fpr),
                percent(config.hold_fpr)
            ),
        )
    };
    // Without enough approved posts to check the review rate against, the
    // labels (moderators decide mostly reported posts, and a few dozen
    // of them share their vocabulary) must not raise posts: the
    // adaptation may then only lower them.
    let lower_only = !thresholds.starts_with("re-chosen");
    let mut data: ModelData = base_data;
    data.name = config.name.clone().unwrap_or_else(|| format!("{}-forum", data.name));
    data.adaptation = Some(Adaptation {
        base: base.version().to_string(),
        labels: rows.len() as u32,
        data_digest: hex(&digest.finalize()),
        grams: columns.iter().map(|b| grams.get(b).cloned().unwrap_or_default()).collect(),
        columns,
        // Every head has its own entry in `calibrations`, or none has and
        // the thresholds are the base's.
        offset: 0.0,
        thresholds,
        lower_only,
        heads: adapted_heads,
        slope: 1.0,
        calibrations,
    });
    Model::from_data(data)
}

/// For the heads the labels did not teach, the slope below the review
/// threshold (one of `choices`, the same for all of them) under which the
/// highest calibrated head ranks the removed posts above the approved ones
/// best (average precision over every labelled post; the taught heads
/// scored out of fold, an untaught head as the base scores it; the
/// smallest slope on a tie). Where evidence of a head fired, the post
/// keeps the base's log-odds as a floor, as in the model. Returns what was
/// chosen, for people (empty when nothing changed).
fn compress_untaught(
    rows: &[Row],
    oof: &[[f64; 4]],
    taught: &[bool; 4],
    calibrations: &mut [HeadCalibration],
    choices: &[f64],
) -> String {
    let h = calibrations.len();
    if !(0..h).any(|i| taught[i]) || (0..h).all(|i| taught[i]) || choices.iter().all(|&c| c == 1.0) {
        return String::new();
    }
    let knot = logit(REVIEW);
    let y: Vec<bool> = rows.iter().map(|r| r.labels[..h].contains(&Some(true))).collect();
    let score = |below: f64| -> Vec<f64> {
        rows.iter()
            .zip(oof)
            .map(|(r, z)| {
                (0..h)
                    .map(|i| {
                        let c = &calibrations[i];
                        let mut v = c.slope * z[i] + c.offset;
                        if !taught[i] && v < knot {
                            v = knot + below * (v - knot);
                        }
                        v.max(r.floor(i))
                    })
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .collect()
    };
    let mut candidates: Vec<f64> = choices.to_vec();
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    let flat = evaluation::average_precision(&score(1.0), &y);
    let (mut best, mut best_ap) = (1.0, flat);
    for &below in candidates.iter().filter(|&&c| c > 1.0) {
        let ap = evaluation::average_precision(&score(below), &y);
        if ap > best_ap + 1e-9 {
            (best, best_ap) = (below, ap);
        }
    }
    if best == 1.0 {
        return String::new();
    }
    let mut names = Vec::new();
    for (i, c) in calibrations.iter_mut().enumerate() {
        if !taught[i] {
            c.below_review = best;
            names.push(c.category.as_str());
        }
    }
    format!(
        "; {} (no label taught it) ×{best} further under its review threshold: average precision of the removed posts {flat:.3} → {best_ap:.3}",
        names.join(" and ")
    )
}

/// Folds for `labels` distinct labelled posts: `config.folds`, or below
/// `config.few_labels` one per five posts, between `config.folds` and
/// `config.few_labels_folds`.
fn folds_for(labels: usize, config: &AdaptConfig) -> u32 {
    if labels >= config.few_labels {
        return config.folds;
    }
    let per_five = u32::try_from(labels / 5).unwrap_or(u32::MAX);
    per_five.clamp(config.folds.min(config.few_labels_folds), config.folds.max(config.few_labels_folds))
}

/// The slope and offset that map the adapted log-odds `review` to the
/// default review threshold and `hold` to the default hold threshold; where
/// the slope's bounds keep one from landing exactly, both land at or above
/// their budgets' cut (the stricter wins, never the more lenient).
fn calibration(review: f64, hold: f64) -> (f64, f64) {
    let (to_review, to_hold) = (logit(REVIEW), logit(HOLD));
    if !(review.is_finite() && hold.is_finite()) {
        return (1.0, 0.0);
    }
    let slope = if hold > review { (to_hold - to_review) / (hold - review) } else { MAX_SLOPE };
    let slope = round6(slope.clamp(MIN_SLOPE, MAX_SLOPE));
    let offset = (to_review - slope * review).min(to_hold - slope * hold);
    // Rounded down: stored to six digits, the offset may make the forum's
    // thresholds stricter by 1e-6, never more lenient than chosen.
    (slope, (offset * 1e6).floor() / 1e6)
}

/// The largest `x` with P(X ≤ x) ≤ `alpha` for X ~ Binomial(`n`, `p`).
fn certified_count(n: usize, p: f64, alpha: f64) -> Option<usize> {
    if !(p > 0.0 && p < 1.0 && alpha > 0.0) {
        return None;
    }
    let (lp, lq) = (p.ln(), (-p).ln_1p());
    let mut ln_term = n as f64 * lq;
    let mut cdf = 0.0;
    let mut best = None;
    for x in 0..n {
        cdf += ln_term.exp();
        if cdf > alpha {
            break;
        }
        best = Some(x);
        ln_term += ((n - x) as f64).ln() - ((x + 1) as f64).ln() + lp - lq;
    }
    best
}

/// A labelled post as the adapted model scores it, per head: its adapted
/// log-odds (before the forum's calibration), and where a rule or signal of
/// that category fired, the base's log-odds, which the post keeps whatever
/// the calibration (`-∞` where none fired).
struct Scored {
    adapted: [f64; 4],
    floor: [f64; 4],
}

/// Each head's threshold (log-odds, on the adapted scale) for one budget:
/// the posts any head flags may be at most `fpr` of the approved posts,
/// with `confidence`: the most approved posts `x` that may be flagged is
/// the largest for which a share of `fpr` would give `x` or fewer with
/// probability at most 1 − `confidence` (the one-sided Clopper–Pearson
/// bound). A post is flagged by head `i` where its adapted log-odds reach
/// the head's cut, or where evidence of the head fired and its base
/// log-odds reach `default`: no calibration lowers that.
///
/// The heads the forum's labels taught (`taught`) are each a logistic
/// model of this forum's labels, so their probabilities share a scale: one
/// cut, on the highest of them, as low as the budget allows (then the
/// tightest towards the removed posts, see [`tightest`]). A head the labels
/// did not teach scores as the base does, and keeps `default`, the base's
/// threshold — a forum that never labelled a scam must not make scams
/// harder to flag — unless raising it lets the heads together flag more of
/// the removed posts within the budget (its flags on the approved posts
/// crowd out the taught heads'), or the budget cannot be kept otherwise.
/// The second value is false where too few approved posts could show the
/// budget with that confidence: every cut is then kept at or above
/// `default` (only stricter).
fn head_cuts(
    approved: &[Scored],
    removed: &[Scored],
    h: usize,
    taught: &[bool; 4],
    fpr: f64,
    default: f64,
    confidence: f64,
) -> (Vec<f64>, bool) {
    let n = approved.len();
    let (allowed, sure) = match certified_count(n, fpr, 1.0 - confidence) {
        Some(x) => (x, true),
        None => ((fpr * n as f64).floor() as usize, false),
    };
    let top = |p: &Scored| (0..h).filter(|&i| taught[i]).map(|i| p.adapted[i]).fold(f64::NEG_INFINITY, f64::max);
    let tops: Vec<f64> = approved.iter().map(top).collect();
    let removed_tops: Vec<f64> = removed.iter().map(top).collect();
    // Flagged whatever the taught heads' cut: by an untaught head at its
    // cut, or by evidence whose base log-odds reach the default.
    let fixed =
        |p: &Scored, cuts: &[f64]| (0..h).any(|i| p.floor[i] >= default || (!taught[i] && p.adapted[i] >= cuts[i]));
    // With the untaught heads at `cuts`: the taught heads' cut, and how many
    // removed posts the heads together flag (`None`: what is flagged
    // whatever the taught heads' cut already breaks the budget).
    let plan = |cuts: &[f64]| -> Option<(f64, usize)> {
        let mut rest: Vec<f64> = approved.iter().zip(&tops).filter(|(p, _)| !fixed(p, cuts)).map(|(_, &t)| t).collect();
        let room = allowed.checked_sub(n - rest.len())?;
        rest.sort_by(|a, b| b.total_cmp(a));
        let cut = rest.get(room).map_or(f64::NEG_INFINITY, |&x| x + 1e-9);
        let cut = tightest(if sure { cut } else { cut.max(default) }, &tops, &removed_tops);
        Some((cut, removed.iter().zip(&removed_tops).filter(|(p, t)| fixed(p, cuts) || **t >= cut).count()))
    };
    let mut cuts = vec![default; h];
    // Each untaught head in turn: the base's threshold, raised only to a
    // strictly better plan; where none keeps the budget, above every
    // approved post.
    for i in (0..h).filter(|&i| !taught[i]) {
        let mut candidates: Vec<f64> = approved.iter().map(|p| p.adapted[i] + 1e-9).filter(|&c| c > default).collect();
        candidates.sort_by(f64::total_cmp);
        candidates.dedup();
        let mut best: Option<(f64, usize)> = None;
        for c in std::iter::once(default).chain(candidates.iter().copied()) {
            cuts[i] = c;
            if let Some((_, flagged)) = plan(&cuts)
                && best.is_none_or(|(_, most)| flagged > most)
            {
                best = Some((c, flagged));
            }
        }
        cuts[i] = best.map_or_else(|| candidates.last().copied().unwrap_or(default), |(c, _)| c);
    }
    // Where even that breaks the budget (the evidence that fired on
    // approved posts alone does), the taught heads flag no approved post.
    let cut = match plan(&cuts) {
        Some((cut, _)) => cut,
        None => tops.iter().copied().fold(default, f64::max) + 1e-9,
    };
    for i in (0..h).filter(|&i| taught[i]) {
        cuts[i] = cut;
    }
    (cuts, sure)
}

/// The strictest threshold at or above `cut` that flags as many `removed`
/// posts as `cut` does: a budget is a ceiling on the approved posts
/// flagged, not a quota. Where the two classes separate, the threshold
/// sits midway between the lowest removed post still flagged and the
/// highest approved post beneath it.
fn tightest(cut: f64, approved: &[f64], removed: &[f64]) -> f64 {
    let Some(lowest) = removed.iter().copied().filter(|&x| x >= cut).min_by(f64::total_cmp) else {
        return cut;
    };
    let beneath = approved.iter().copied().filter(|&x| x < lowest).max_by(f64::total_cmp);
    match beneath {
        Some(a) => cut.max((a + lowest) / 2.0),
        None => cut.max(lowest - 1.0),
    }
}

/// One head's penalised logistic loss with the base log-odds × (1 + δ) as
/// offset (δ = −1 when stacked: the forum model alone).
/// Parameters: `[bias, δ, text weights (k), evidence weights]`.
struct Problem<'a> {
    rows: &'a [Row],
    /// Per row: the label fitted, if known.
    labels: Vec<Option<bool>>,
    /// Per row: the base log-odds.
    base: Vec<f64>,
    k: usize,
    /// Per row: indices into the evidence weights.
    evidence: Vec<Vec<usize>>,
    l2: (f64, f64, f64, f64),
    width: usize,
    /// δ fixed rather than fitted.
    fixed_scale: Option<f64>,
    /// Smoothing of the naive-Bayes column scaling (0: none).
    nb_alpha: f64,
}

impl<'a> Problem<'a> {
    fn new(rows: &'a [Row], head: usize, k: usize, ids: &[String], config: &AdaptConfig) -> Problem<'a> {
        let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
        let evidence = rows
            .iter()
            .map(|r| r.evidence[head].iter().filter_map(|e| index.get(e.as_str()).copied()).collect())
            .collect();
        Problem {
            rows,
            labels: rows.iter().map(|r| r.labels[head]).collect(),
            base: rows.iter().map(|r| r.base[head]).collect(),
            k,
            evidence,
            l2: (config.l2_bias, config.l2_scale, config.l2_text, config.l2_evidence),
            width: TEXT + k + ids.len(),
            fixed_scale: None,
            nb_alpha: nb_alpha_for(rows, config),
        }
    }

    /// The forum's model of *unwanted* alone — a post removed for any of
    /// the first `h` categories, against one approved for every category it
    /// is labelled for: its n-grams and a bias, the base left out.
    fn unwanted(rows: &'a [Row], h: usize, k: usize, config: &AdaptConfig) -> Problem<'a> {
        let label = |r: &Row| match r.labels[..h] {
            ref l if l.contains(&Some(true)) => Some(true),
            ref l if l.contains(&Some(false)) => Some(false),
            _ => None,
        };
        Problem {
            rows,
            labels: rows.iter().map(label).collect(),
            base: vec![0.0; rows.len()],
            k,
            evidence: vec![Vec::new(); rows.len()],
            l2: (config.l2_bias, config.l2_scale, config.l2_text, config.l2_evidence),
            width: TEXT + k,
            fixed_scale: Some(-1.0),
            nb_alpha: nb_alpha_for(rows, config),
        }
    }

    /// Whether every fold's complement among `members` holds both classes.
    fn foldable(&self, members: &[usize], folds: u32) -> bool {
        (0..folds).all(|f| {
            let train = members.iter().filter(|&&j| self.rows[j].fold != f);
            let (n, pos) = train.fold((0, 0), |(n, p), &j| (n + 1, p + usize::from(self.labels[j] == Some(true))));
            pos > 0 && pos < n
        })
    }

    /// δ under parameters `w`.
    fn scale(&self, w: &[f64]) -> f64 {
        self.fixed_scale.unwrap_or_else(|| w[1].clamp(SCALE.0, SCALE.1))
    }

    /// The adapted log-odds of row `j` under parameters `w`.
    fn margin_of(&self, w: &[f64], j: usize) -> f64 {
        self.margin_scaled(w, j, None)
    }

    /// The adapted log-odds of row `j` with each n-gram column's value
    /// multiplied by `columns[c]` (the naive-Bayes scaling while fitting).
    fn margin_scaled(&self, w: &[f64], j: usize, columns: Option<&[f64]>) -> f64 {
        let r = &self.rows[j];
        let norm = (r.cols.len().max(1) as f64).sqrt();
        let text: f64 = r.cols.iter().map(|&c| w[TEXT + c as usize] * column_scale(columns, c)).sum::<f64>() / norm;
        let ev: f64 = self.evidence[j].iter().map(|&e| w[TEXT + self.k + e]).sum();
        let z = self.base[j];
        z + self.scale(w) * z + w[0] + text + ev
    }

    /// Every row's margin from a fit on the `members` outside its fold.
    fn out_of_fold(&self, members: &[usize], folds: u32, iterations: u32) -> Vec<f64> {
        let mut margins = vec![0.0; self.rows.len()];
        for f in 0..folds {
            let train: Vec<usize> = members.iter().copied().filter(|&j| self.rows[j].fold != f).collect();
            let w = self.fit(&train, iterations);
            for j in (0..self.rows.len()).filter(|&j| self.rows[j].fold == f) {
                margins[j] = self.margin_of(&w, j);
            }
        }
        margins
    }

    /// Loss and gradient over `members`.
    fn eval(&self, w: &[f64], members: &[usize], columns: Option<&[f64]>, grad: &mut [f64]) -> f64 {
        let (lb, ls, lt, le) = self.l2;
        let mut loss = 0.5 * lb * w[0] * w[0] + 0.5 * ls * w[1] * w[1];
        grad[0] = lb * w[0];
        grad[1] = ls * w[1];
        for c in TEXT..TEXT + self.k {
            loss += 0.5 * lt * w[c] * w[c];
            grad[c] = lt * w[c];
        }
        for c in TEXT + self.k..self.width {
            loss += 0.5 * le * w[c] * w[c];
            grad[c] = le * w[c];
        }
        for &j in members {
            let m = self.margin_scaled(w, j, columns);
            let y = self.labels[j] == Some(true);
            loss += log_loss(m, y);
            let g = sigmoid(m) - f64::from(u8::from(y));
            grad[0] += g;
            let r = &self.rows[j];
            if self.fixed_scale.is_none() && (SCALE.0..=SCALE.1).contains(&w[1]) {
                grad[1] += g * self.base[j];
            }
            let gn = g / (r.cols.len().max(1) as f64).sqrt();
            for &c in &r.cols {
                grad[TEXT + c as usize] += gn * column_scale(columns, c);
            }
            for &e in &self.evidence[j] {
                grad[TEXT + self.k + e] += g;
            }
        }
        loss
    }

    /// Minimises the loss over `members` by L-BFGS from zero (the base,
    /// or nothing when δ is fixed at −1).
    fn fit(&self, members: &[usize], iterations: u32) -> Vec<f64> {
        let columns = self.nb_columns(members);
        let mut w = self.minimise(members, iterations, columns.as_deref());
        if let Some(s) = &columns {
            for (x, r) in w[TEXT..TEXT + self.k].iter_mut().zip(s) {
                *x *= r;
            }
        }
        w
    }

    /// The naive-Bayes log-count ratio of every n-gram column between the
    /// removed and the approved posts among `members` (None when off).
    fn nb_columns(&self, members: &[usize]) -> Option<Vec<f64>> {
        if self.nb_alpha <= 0.0 {
            return None;
        }
        let mut p = vec![self.nb_alpha; self.k];
        let mut q = vec![self.nb_alpha; self.k];
        for &j in members {
            let side = match self.labels[j] {
                Some(true) => &mut p,
                Some(false) => &mut q,
                None => continue,
            };
            for &c in &self.rows[j].cols {
                side[c as usize] += 1.0;
            }
        }
        let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
        Some(p.iter().zip(&q).map(|(a, b)| ((a / sp) / (b / sq)).ln()).collect())
    }

    fn minimise(&self, members: &[usize], iterations: u32, columns: Option<&[f64]>) -> Vec<f64> {
        const MEMORY: usize = 8;
        let n = self.width;
        let mut w = vec![0.0; n];
        let mut g = vec![0.0; n];
        let mut f = self.eval(&w, members, columns, &mut g);
        let mut s_hist: Vec<Vec<f64>> = Vec::new();
        let mut y_hist: Vec<Vec<f64>> = Vec::new();
        let mut next = vec![0.0; n];
        let mut g_next = vec![0.0; n];
        for _ in 0..iterations {
            if g.iter().fold(0.0f64, |m, x| m.max(x.abs())) < 1e-6 {
                break;
            }
            // Two-loop recursion: d = -H g.
            let mut d: Vec<f64> = g.iter().map(|x| -x).collect();
            let mut alphas = Vec::with_capacity(s_hist.len());
            for (s, y) in s_hist.iter().zip(&y_hist).rev() {
                let rho = 1.0 / dot(y, s);
                let a = rho * dot(s, &d);
                axpy(-a, y, &mut d);
                alphas.push((a, rho));
            }
            if let (Some(s), Some(y)) = (s_hist.last(), y_hist.last()) {
                let gamma = dot(s, y) / dot(y, y);
                d.iter_mut().for_each(|x| *x *= gamma);
            }
            for ((s, y), (a, rho)) in s_hist.iter().zip(&y_hist).zip(alphas.into_iter().rev()) {
                let b = rho * dot(y, &d);
                axpy(a - b, s, &mut d);
            }
            let mut slope = dot(&g, &d);
            if slope >= 0.0 {
                // Not a descent direction: restart from steepest descent.
                s_hist.clear();
                y_hist.clear();
                d = g.iter().map(|x| -x).collect();
                slope = dot(&g, &d);
            }
            // Backtracking (Armijo); the first step of steepest descent is
            // scaled to a unit move.
            let mut step = if s_hist.is_empty() { 1.0 / dot(&d, &d).sqrt().max(1.0) } else { 1.0 };
            let mut accepted = false;
            for _ in 0..40 {
                for ((x, w), d) in next.iter_mut().zip(&w).zip(&d) {
                    *x = w + step * d;
                }
                let f_next = self.eval(&next, members, columns, &mut g_next);
                if f_next <= f + 1e-4 * step * slope {
                    let s: Vec<f64> = next.iter().zip(&w).map(|(a, b)| a - b).collect();
                    let y: Vec<f64> = g_next.iter().zip(&g).map(|(a, b)| a - b).collect();
                    if dot(&s, &y) > 1e-12 {
                        if s_hist.len() == MEMORY {
                            s_hist.remove(0);
                            y_hist.remove(0);
                        }
                        s_hist.push(s);
                        y_hist.push(y);
                    }
                    std::mem::swap(&mut w, &mut next);
                    std::mem::swap(&mut g, &mut g_next);
                    let done = (f - f_next).abs() <= 1e-10 * f.abs().max(1.0);
                    f = f_next;
                    accepted = true;
                    if done {
                        return w;
                    }
                    break;
                }
                step *= 0.5;
            }
            if !accepted {
                break;
            }
        }
        w
    }
}

/// The stacking combiner: `a × base + b × forum + u × unwanted + c` fitted
/// to the labels of `points` (base log-odds, the forum model's out-of-fold
/// log-odds, the forum's *unwanted* model's out-of-fold log-odds or 0, the
/// label as 0 or 1) by projected Newton steps on the penalised log-loss,
/// with `a` pulled towards 1 and `b` and `u` towards 0 (the base alone,
/// which is where it starts) and kept within `a ∈ [0, 1 + SCALE.1]` (the
/// base dropped where no rule fired, up to the free fit's largest factor)
/// and `b, u ∈ [0, 3]`: the forum's models, fitted under an L2 penalty,
/// may be trusted more than their own scale says, never turned against
/// their own evidence.
#[allow(clippy::needless_range_loop)] // matrix arithmetic reads best indexed
fn fit_combiner(points: &[[f64; 4]], l2: f64) -> (f64, f64, f64, f64) {
    const L2_BIAS: f64 = 1e-3;
    const N: usize = 4;
    let bounds = [(0.0, 1.0 + SCALE.1), (0.0, 3.0), (0.0, 3.0), (f64::NEG_INFINITY, f64::INFINITY)];
    let penalty = [l2, l2, l2, L2_BIAS];
    let start = [1.0, 0.0, 0.0, 0.0];
    let row = |p: &[f64; 4]| [p[0], p[1], p[2], 1.0];
    let loss = |x: [f64; N]| {
        let pen: f64 = (0..N).map(|m| 0.5 * penalty[m] * (x[m] - start[m]).powi(2)).sum();
        pen + points.iter().map(|p| log_loss(dot(&x, &row(p)), p[3] > 0.5)).sum::<f64>()
    };
    let mut x = start;
    let mut f = loss(x);
    for _ in 0..100 {
        // Gradient and Hessian of the penalised log-loss.
        let mut g: [f64; N] = std::array::from_fn(|m| penalty[m] * (x[m] - start[m]));
        let mut h: [[f64; N]; N] =
            std::array::from_fn(|m| std::array::from_fn(|n| if m == n { penalty[m] } else { 0.0 }));
        for p in points {
            let v = row(p);
            let q = sigmoid(dot(&x, &v));
            let r = q - p[3];
            let w = q * (1.0 - q);
            for m in 0..N {
                g[m] += r * v[m];
                for n in 0..N {
                    h[m][n] += w * v[m] * v[n];
                }
            }
        }
        // A variable at a bound that the gradient pushes outwards stays
        // there: its row and column drop out of the Newton system.
        let mut free = [true; N];
        for m in 0..N {
            let (lo, hi) = bounds[m];
            if (x[m] <= lo && g[m] > 0.0) || (x[m] >= hi && g[m] < 0.0) {
                free[m] = false;
                g[m] = 0.0;
                for n in 0..N {
                    h[m][n] = f64::from(u8::from(m == n));
                    h[n][m] = f64::from(u8::from(m == n));
                }
            }
        }
        if g.iter().all(|v| v.abs() < 1e-9) {
            break;
        }
        // The projected Newton step, halved until the loss falls; where the
        // bounds cut it so that it does not, a projected gradient step.
        let scale = 1.0 / h.iter().enumerate().map(|(m, row)| row[m]).fold(1.0, f64::max);
        let mut moved = false;
        for d in [solve(h, g), Some(g.map(|v| v * scale))].into_iter().flatten() {
            let mut step = 1.0;
            while step > 1e-10 {
                let mut next = x;
                for m in 0..N {
                    if free[m] {
                        next[m] = (x[m] - step * d[m]).clamp(bounds[m].0, bounds[m].1);
                    }
                }
                let fn_ = loss(next);
                if fn_ < f - 1e-12 {
                    moved = f - fn_ > 1e-10;
                    x = next;
                    f = fn_;
                    break;
                }
                step *= 0.5;
            }
            if moved {
                break;
            }
        }
        if !moved {
            break;
        }
    }
    (x[0], x[1], x[2], x[3])
}

/// Solves `h x = g` by Gaussian elimination with partial pivoting; `None`
/// when singular.
#[allow(clippy::needless_range_loop)] // matrix arithmetic reads best indexed
fn solve<const N: usize>(mut h: [[f64; N]; N], mut g: [f64; N]) -> Option<[f64; N]> {
    for col in 0..N {
        let pivot = (col..N).max_by(|&a, &b| h[a][col].abs().total_cmp(&h[b][col].abs()))?;
        if !(h[pivot][col].is_finite() && h[pivot][col].abs() > 1e-12) {
            return None;
        }
        h.swap(col, pivot);
        g.swap(col, pivot);
        for r in col + 1..N {
            let factor = h[r][col] / h[col][col];
            for c in col..N {
                h[r][c] -= factor * h[col][c];
            }
            g[r] -= factor * g[col];
        }
    }
    let mut x = [0.0; N];
    for r in (0..N).rev() {
        let tail: f64 = (r + 1..N).map(|c| h[r][c] * x[c]).sum();
        x[r] = (g[r] - tail) / h[r][r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Where the text weights start in the parameters.
const TEXT: usize = 2;
/// The bounds of δ.
const SCALE: (f64, f64) = (-0.75, 0.5);

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

fn fold_of(seed: u64, i: u64, folds: u32) -> u32 {
    (splitmix(seed.wrapping_add(i.wrapping_mul(GOLDEN))) % u64::from(folds)) as u32
}

/// The logistic loss of log-odds `m` for label `y`, computed stably.
fn log_loss(m: f64, y: bool) -> f64 {
    (if m > 0.0 { m + (-m).exp().ln_1p() } else { m.exp().ln_1p() }) - if y { m } else { 0.0 }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).ln()
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untaught_head_that_outranks_the_removals_is_compressed_under_review() {
        // Spam taught (its out-of-fold log-odds), scam not (the base's).
        // Two removed posts score under review; the approved posts' base
        // scam scores, under review too, sit above them.
        let row = |spam: f64, scam: f64, removed: bool, scam_rule: bool| Row {
            cols: Vec::new(),
            buckets: Vec::new(),
            base: [spam, scam, 0.0, 0.0],
            evidence: [
                Vec::new(),
                if scam_rule { vec!["scam.rule".into()] } else { Vec::new() },
                Vec::new(),
                Vec::new(),
            ],
            labels: [Some(removed), None, None, None],
            fold: 0,
        };
        let rows = |scam_rule: bool| {
            let mut rows = vec![row(-1.0, -6.0, true, false), row(-0.6, -6.0, true, false)];
            rows.extend([2.0, 3.0, 4.0].map(|s| row(s, -6.0, true, false)));
            rows.extend((0..6).map(|i| row(-4.0, -0.3 - 0.01 * f64::from(i), false, scam_rule)));
            rows
        };
        let taught = [true, false, false, false];
        let identity = |c| HeadCalibration { category: c, slope: 1.0, offset: 0.0, below_review: 1.0, above_hold: 1.0 };
        let fresh = || vec![identity(Category::Spam), identity(Category::Scam)];
        let oof = |rows: &[Row]| rows.iter().map(|r| r.base).collect::<Vec<_>>();

        let plain = rows(false);
        let mut calibrations = fresh();
        let said = compress_untaught(&plain, &oof(&plain), &taught, &mut calibrations, &[1.0, 2.0, 5.0]);
        // ×2 moves the approved posts to −0.6…−0.7, still above −1; ×5
        // puts them all under both removed posts.
        assert_eq!(calibrations[1].below_review, 5.0, "{said}");
        assert_eq!(calibrations[0].below_review, 1.0, "the taught head is left alone");
        assert!(said.contains("scam (no label taught it) ×5") && said.contains("→ 1.000"), "{said}");

        // Where the untaught head's evidence fired on the approved posts,
        // they keep the base's log-odds: nothing to gain, nothing changed.
        let fired = rows(true);
        let mut calibrations = fresh();
        let said = compress_untaught(&fired, &oof(&fired), &taught, &mut calibrations, &[1.0, 2.0, 5.0]);
        assert!(said.is_empty() && calibrations == fresh(), "{said}");
        // Every head taught, or no slope but 1 to try: nothing changes.
        let mut calibrations = fresh();
        let all = [true, true, false, false];
        assert!(compress_untaught(&plain, &oof(&plain), &all, &mut calibrations, &[5.0]).is_empty());
        assert!(compress_untaught(&plain, &oof(&plain), &taught, &mut calibrations, &[1.0]).is_empty());
        assert_eq!(calibrations, fresh());
    }

    #[test]
    fn naive_bayes_scaled_n_grams_score_as_fitted_once_folded_into_the_weights() {
        // Column 0 only in removed posts, column 1 only in approved ones,
        // column 2 in both; columns 3 and 4 are noise.
        let row = |cols: Vec<u32>, removed: bool, fold: u32| Row {
            cols,
            buckets: Vec::new(),
            base: [0.0; 4],
            evidence: std::array::from_fn(|_| Vec::new()),
            labels: [Some(removed), None, None, None],
            fold,
        };
        let mut rows = Vec::new();
        for i in 0..12u32 {
            rows.push(row(vec![0, 2, 3 + i % 2], true, i % 3));
            rows.push(row(vec![1, 2, 3 + (i + 1) % 2], false, i % 3));
        }
        let config = AdaptConfig::default();
        let mut problem = Problem::new(&rows, 0, 5, &[], &config);
        problem.fixed_scale = Some(-1.0);
        let members: Vec<usize> = (0..rows.len()).collect();
        assert!(problem.nb_columns(&members).is_none(), "off by default in a problem");
        problem.nb_alpha = 0.25;
        let r = problem.nb_columns(&members).expect("scaling on");
        assert!(r[0] > 2.0 && r[1] < -2.0, "the separating n-grams get large ratios of their class's sign: {r:?}");
        assert!(r[2].abs() < 1e-9, "an n-gram in every post says nothing: {r:?}");
        // The fit minimises over scaled columns; the weights it returns
        // have the ratios folded in, so scoring them plainly (as a stored
        // model does) gives exactly the fitted margins.
        let u = problem.minimise(&members, 200, Some(&r));
        let w = problem.fit(&members, 200);
        for j in 0..rows.len() {
            let fitted = problem.margin_scaled(&u, j, Some(&r));
            assert!((problem.margin_of(&w, j) - fitted).abs() < 1e-9, "row {j}");
        }
        assert!(problem.margin_of(&w, 0) > 1.0 && problem.margin_of(&w, 1) < -1.0);
        // The gradient over scaled columns is the loss's: central
        // differences at a point off the optimum.
        let at: Vec<f64> = (0..problem.width).map(|c| 0.1 * (c as f64) - 0.2).collect();
        let mut grad = vec![0.0; problem.width];
        problem.eval(&at, &members, Some(&r), &mut grad);
        for c in 0..problem.width {
            let (mut up, mut down) = (at.clone(), at.clone());
            up[c] += 1e-6;
            down[c] -= 1e-6;
            let mut scratch = vec![0.0; problem.width];
            let numeric = (problem.eval(&up, &members, Some(&r), &mut scratch)
                - problem.eval(&down, &members, Some(&r), &mut scratch))
                / 2e-6;
            assert!((numeric - grad[c]).abs() < 1e-5 * numeric.abs().max(1.0), "column {c}: {numeric} vs {}", grad[c]);
        }
        // Out of fold, the ratios come from the other folds alone: flipping
        // every label of fold 0 leaves fold 0's margins as they were.
        let flipped: Vec<Row> = rows
            .iter()
            .map(|r| {
                let removed = r.labels[0] == Some(true);
                row(r.cols.clone(), if r.fold == 0 { !removed } else { removed }, r.fold)
            })
            .collect();
        let mut other = Problem::new(&flipped, 0, 5, &[], &config);
        other.fixed_scale = Some(-1.0);
        other.nb_alpha = 0.25;
        let (a, b) = (problem.out_of_fold(&members, 3, 200), other.out_of_fold(&members, 3, 200));
        for j in (0..rows.len()).filter(|&j| rows[j].fold == 0) {
            assert_eq!(a[j], b[j], "row {j} of the held-out fold saw its own labels");
        }
        assert!((0..rows.len()).any(|j| rows[j].fold != 0 && a[j] != b[j]), "the other folds did see them");
    }

    #[test]
    fn few_labels_get_a_fold_per_five_posts() {
        let config = AdaptConfig::default();
        let folds = |n| folds_for(n, &config);
        assert_eq!([20, 30, 47, 50, 100, 149].map(folds), [5, 6, 9, 10, 10, 10]);
        assert_eq!([150, 200, 1000].map(folds), [5, 5, 5]);
        // Settings where the two counts are the other way round still
        // stay between them.
        let config = AdaptConfig { folds: 8, few_labels_folds: 3, ..AdaptConfig::default() };
        assert_eq!([20, 100, 200].map(|n| folds_for(n, &config)), [4, 8, 8]);
    }

    #[test]
    fn each_threshold_lands_on_its_own_cut() {
        let (to_review, to_hold) = (logit(REVIEW), logit(HOLD));
        // The forum's cuts: review at −2, hold at −1 (log-odds of the
        // adapted model): both land exactly.
        let (slope, offset) = calibration(-2.0, -1.0);
        assert!((slope * -2.0 + offset - to_review).abs() < 1e-5, "{slope} {offset}");
        assert!((-slope + offset - to_hold).abs() < 1e-5, "{slope} {offset}");
        // Cuts too far apart for the slope's bounds: the slope is clamped
        // and neither threshold is more lenient than its cut.
        let (slope, offset) = calibration(-10.0, 10.0);
        assert_eq!(slope, MIN_SLOPE);
        assert!(slope * -10.0 + offset <= to_review + 1e-9);
        assert!(slope * 10.0 + offset <= to_hold + 1e-9);
        // Equal cuts: the steepest slope, both at or below.
        let (slope, offset) = calibration(1.0, 1.0);
        assert_eq!(slope, MAX_SLOPE);
        assert!(slope + offset <= to_review + 1e-9);
        // No finite cut: unchanged.
        assert_eq!(calibration(f64::NEG_INFINITY, 1.0), (1.0, 0.0));
    }

    /// Points whose label one of the two scores predicts and the other
    /// does not (the other is label-independent noise).
    fn points(base_knows: bool) -> Vec<[f64; 4]> {
        (0..200)
            .map(|i| {
                let y = i % 3 == 0;
                let signal = if y { 2.0 } else { -2.0 } + f64::from((i * 7) % 5) - 2.0;
                let noise = f64::from((i * 13) % 11) - 5.0;
                let label = f64::from(u8::from(y));
                if base_knows { [signal, noise, 0.0, label] } else { [noise, signal, 0.0, label] }
            })
            .collect()
    }

    #[test]
    fn the_combiner_keeps_whichever_score_predicts_the_forum_s_labels() {
        // The base transfers badly, the forum's own model predicts: the
        // base is dropped (its factor at the bound 0) and the forum's
        // model trusted.
        let (a, b, u, _) = fit_combiner(&points(false), 0.1);
        assert!(a < 0.05, "base factor {a}");
        assert!(b > 0.5, "forum factor {b}");
        assert_eq!(u, 0.0, "no unwanted model: its factor stays 0");
        // The base predicts, the forum's model (too few labels) does not:
        // the base is kept and the forum's model counts for little.
        let (a, b, _, _) = fit_combiner(&points(true), 0.1);
        assert!(a > 0.5, "base factor {a}");
        assert!(b < 0.05, "forum factor {b}");
        // The unwanted model predicts, the category's own does not (too few
        // of its positives): the unwanted model is trusted.
        let third: Vec<[f64; 4]> = points(false).into_iter().map(|[z, t, _, y]| [z, 0.3 * z, t, y]).collect();
        let (a, b, u, _) = fit_combiner(&third, 0.1);
        assert!(a < 0.05 && b < 0.05 && u > 0.5, "{a} {b} {u}");
        // Within the bounds however separable the labels, and the same
        // numbers every time.
        let separable: Vec<[f64; 4]> =
            (0..40).map(|i| [0.0, if i % 2 == 0 { 50.0 } else { -50.0 }, 0.0, f64::from(i % 2 == 0)]).collect();
        let (a, b, u, c) = fit_combiner(&separable, 0.1);
        assert!((0.0..=1.0 + SCALE.1).contains(&a) && (0.0..=3.0).contains(&b) && c.is_finite(), "{a} {b} {c}");
        assert_eq!(u, 0.0);
        assert_eq!(fit_combiner(&points(false), 0.1), fit_combiner(&points(false), 0.1));
        // No labels: the base alone, as it starts.
        assert_eq!(fit_combiner(&[], 0.1), (1.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn thresholds_are_certified_to_keep_the_budget() {
        // Binomial(100, 0.05): P(X = 0) = 0.0059, P(X ≤ 1) = 0.037,
        // P(X ≤ 2) = 0.118.
        assert_eq!(certified_count(100, 0.05, 0.1), Some(1));
        assert_eq!(certified_count(100, 0.05, 0.01), Some(0));
        // Thirty approved posts cannot show a 5% budget with 90%
        // confidence (0.95^30 = 0.21), nor 200 a 1% one (0.99^200 = 0.13).
        assert_eq!(certified_count(30, 0.05, 0.1), None);
        assert_eq!(certified_count(200, 0.01, 0.1), None);
        // Many posts: close to the budget itself, never above it.
        let x = certified_count(20_000, 0.05, 0.1).unwrap();
        assert!((930..1000).contains(&x), "{x}");
        // Posts no rule fired on, scored `z` per head.
        let scored = |z: [f64; 4]| Scored { adapted: z, floor: [f64::NEG_INFINITY; 4] };
        let all = |zs: &[[f64; 4]]| zs.iter().copied().map(scored).collect::<Vec<Scored>>();
        // One head: the cut is above the allowed count of approved posts.
        let one: Vec<[f64; 4]> = (0..100).map(|i| [f64::from(i), 0.0, 0.0, 0.0]).collect();
        let (cuts, sure) = head_cuts(&all(&one), &[], 1, &[true; 4], 0.05, 0.0, 0.9);
        assert!(sure);
        assert_eq!(one.iter().filter(|z| z[0] >= cuts[0]).count(), 1);
        // Too few to be sure: never below the default (here 200).
        let (cuts, sure) = head_cuts(&all(&one[..30]), &[], 1, &[true; 4], 0.05, 200.0, 0.9);
        assert!(!sure && cuts[0] == 200.0, "{cuts:?}");
        // Two taught heads share one cut, on the higher of their scores:
        // the union lets the allowed count through.
        let two: Vec<[f64; 4]> = (0..1000).map(|i| [f64::from(i), f64::from((i * 7919) % 1000), 0.0, 0.0]).collect();
        let allowed = certified_count(1000, 0.05, 0.1).unwrap();
        let through = |cuts: &[f64]| two.iter().filter(|z| z[0] >= cuts[0] || z[1] >= cuts[1]).count();
        let (cuts, _) = head_cuts(&all(&two), &[], 2, &[true; 4], 0.05, 0.0, 0.9);
        assert_eq!(through(&cuts), allowed);
        // A head the labels did not teach keeps the base's threshold (2000,
        // above every approved post): the budget all goes to the other …
        let untaught = [true, false, false, false];
        let (cuts, _) = head_cuts(&all(&two), &[], 2, &untaught, 0.05, 2000.0, 0.9);
        assert_eq!(cuts[1], 2000.0);
        assert_eq!(through(&cuts), allowed);
        // … or a stricter one where its approved posts alone would break
        // the budget (default 0: every approved post); what it flags then
        // counts against the taught head's share.
        let (cuts, _) = head_cuts(&all(&two), &[], 2, &untaught, 0.05, 0.0, 0.9);
        assert!(cuts[1] > 0.0 && two.iter().filter(|z| z[1] >= cuts[1]).count() == allowed, "{cuts:?}");
        assert_eq!(through(&cuts), allowed);
        // Raised, too, where its flags on approved posts crowd out a taught
        // head that would flag the removed posts: 30 approved posts over
        // the base's threshold (within the budget of 40), removed posts
        // only the taught head sees.
        let crowded: Vec<[f64; 4]> =
            (0..1000).map(|i| [f64::from(i) / 1000.0, if i < 30 { 1.0 } else { -5.0 }, 0.0, 0.0]).collect();
        let removed: Vec<[f64; 4]> = (0..50).map(|i| [0.99 - f64::from(i) / 1000.0, -5.0, 0.0, 0.0]).collect();
        let (cuts, _) = head_cuts(&all(&crowded), &all(&removed), 2, &untaught, 0.05, 0.0, 0.9);
        assert!(cuts[1] > 1.0, "{cuts:?}");
        // 31 removed posts flagged, against 1 with the base's threshold kept
        // (10 approved posts of room left for the taught head).
        assert_eq!(removed.iter().filter(|z| z[0] >= cuts[0]).count(), 31, "{cuts:?}");
        // Not where a rule of that head fired on those 30 approved posts:
        // the calibration cannot lower them, so raising frees nothing and
        // only 10 approved posts of room are left to the taught head.
        let no = f64::NEG_INFINITY;
        let fired: Vec<Scored> = crowded
            .iter()
            .map(|&z| Scored { adapted: z, floor: [no, if z[1] > 0.0 { z[1] } else { no }, no, no] })
            .collect();
        let (cuts, _) = head_cuts(&fired, &all(&removed), 2, &untaught, 0.05, 0.0, 0.9);
        let flagged = crowded.iter().filter(|z| z[0] >= cuts[0] || z[1] >= 0.0).count();
        assert_eq!(flagged, allowed, "{cuts:?}");
        assert_eq!(removed.iter().filter(|z| z[0] >= cuts[0]).count(), 1, "{cuts:?}");
        // Where it flags removed posts the taught head cannot, it keeps the
        // base's threshold.
        let removed: Vec<[f64; 4]> = (0..50).map(|_| [-9.0, 3.0, 0.0, 0.0]).collect();
        let (cuts, _) = head_cuts(&all(&crowded), &all(&removed), 2, &untaught, 0.05, 0.0, 0.9);
        assert_eq!(cuts[1], 0.0, "{cuts:?}");
    }
}
