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
//!   selected still counts;
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
//! out) is scored out of fold, and a three-parameter logistic combiner
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
//!
//! The fit is deterministic (full-batch L-BFGS and Newton steps, no random
//! order), needs no linfa, and runs in the default build. In the residual
//! fit with enough negative labels, how much of the base to keep (δ fitted,
//! or fixed at −0.5 or −1) is chosen by out-of-fold log-loss on the
//! forum's labels. Then, when the labels
//! include enough approved posts, a slope and an offset on the adapted
//! log-odds move the default review and hold thresholds, each to where the
//! forum's approved posts (scored out of fold) keep within its budget with
//! the configured confidence (a one-sided Clopper–Pearson bound) — and no
//! lower than needed to flag the removed posts that budget would flag.
//! Where the approved posts are too few to show a budget with that
//! confidence, that threshold may be stricter than the base's, not more
//! lenient. Heads without both classes among the labels keep the base's
//! weights. Without 20 approved posts to check the review rate against,
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
use crate::classifier::model::{Adaptation, AdaptedHead, HeadMetrics, MAX_SLOPE, MIN_SLOPE, Model, ModelData};
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
    /// L2 penalty of the n-gram weights.
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
    /// Share of approved posts that may reach review.
    pub review_fpr: f64,
    /// Share of approved posts that may reach hold.
    pub hold_fpr: f64,
    /// Folds for out-of-fold scores (the stacking combiner, thresholds and
    /// figures).
    pub folds: u32,
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
    /// towards 1 and the forum model's towards 0 (the base alone).
    pub l2_combiner: f64,
}

impl Default for AdaptConfig {
    fn default() -> Self {
        AdaptConfig {
            name: None,
            l2_text: 0.02,
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
            seed: 1,
            near_duplicate: 0.7,
            scale_choices: vec![-1.0, -0.5],
            stacked: true,
            l2_combiner: 0.1,
        }
    }
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

/// Adapts the model of `engine` to the forum `examples` come from (see the
/// [module docs](self)). `engine` scores with the base: its rules and
/// model, as the forum runs them. A base that was itself adapted is adapted
/// again from its own base, never stacked twice.
pub fn adapt(engine: &Engine, examples: &[Example], config: &AdaptConfig) -> Result<Model, Error> {
    let cfg_err = |m: String| Error::from(TrainingError::Config(m));
    let Some(model) = engine.model() else {
        return Err(cfg_err("adapting needs a base model".into()));
    };
    for (name, v) in [
        ("l2_text", config.l2_text),
        ("l2_evidence", config.l2_evidence),
        ("l2_bias", config.l2_bias),
        ("l2_scale", config.l2_scale),
        ("l2_combiner", config.l2_combiner),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(cfg_err(format!("{name} must be a positive number, not {v}")));
        }
    }
    if let Some(v) = config.scale_choices.iter().find(|v| !(-1.0..=SCALE.1).contains(*v)) {
        return Err(cfg_err(format!("a fixed δ must be within -1..={}, not {v}", SCALE.1)));
    }
    if !(config.confidence > 0.0 && config.confidence < 1.0) {
        return Err(cfg_err(format!("confidence must be within (0, 1), not {}", config.confidence)));
    }
    if config.folds < 2 {
        return Err(cfg_err(format!("folds must be at least 2, not {}", config.folds)));
    }
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
        let fold = fold_of(config.seed, rows.len() as u64, config.folds);
        rows.push(Row { cols: Vec::new(), buckets, base: base_logits, evidence, labels, fold });
    }
    if rows.len() < config.min_labels {
        return Err(cfg_err(format!(
            "{} distinct labelled posts; adapting needs at least {}",
            rows.len(),
            config.min_labels
        )));
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
    for (i, &category) in categories.iter().enumerate() {
        let members: Vec<usize> = (0..rows.len()).filter(|&j| rows[j].labels[i].is_some()).collect();
        let positives = members.iter().filter(|&&j| rows[j].labels[i] == Some(true)).count();
        if positives == 0 || positives == members.len() {
            continue;
        }
        let evidence_ids: Vec<String> = {
            let mut ids: Vec<String> = members.iter().flat_map(|&j| rows[j].evidence[i].iter().cloned()).collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let mut problem = Problem::new(&rows, i, k, &evidence_ids, config);
        let mut metrics = None;
        let foldable = (0..config.folds).all(|f| {
            let train: Vec<usize> = members.iter().copied().filter(|&j| rows[j].fold != f).collect();
            let pos = train.iter().filter(|&&j| rows[j].labels[i] == Some(true)).count();
            pos > 0 && pos < train.len()
        });
        let enough = foldable && members.len() >= 2 * config.folds as usize;
        let mut combiner = None;
        if enough && config.stacked {
            // The forum's model alone (the base's log-odds left out),
            // scored out of fold, then combined with the base.
            problem.fixed_scale = Some(-1.0);
            let forum = problem.out_of_fold(&members, config.folds, config.iterations);
            let points: Vec<(f64, f64, bool)> =
                members.iter().map(|&j| (rows[j].base[i], forum[j], rows[j].labels[i] == Some(true))).collect();
            let (a, b, c) = fit_combiner(&points, config.l2_combiner);
            // Every row: a post without this head's label still counts
            // among the approved or removed posts the thresholds are set on.
            for (j, t) in forum.iter().enumerate() {
                oof[j][i] = a * rows[j].base[i] + b * t + c;
            }
            combiner = Some((a, b, c));
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
                let margins = problem.out_of_fold(&members, config.folds, config.iterations);
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
        // Scored as the model will score them: where evidence of this head
        // fired, the adaptation may raise the post, never lower it.
        for (r, z) in rows.iter().zip(oof.iter_mut()) {
            if !r.evidence[i].is_empty() {
                z[i] = z[i].max(r.base[i]);
            }
        }
        if enough {
            let probs: Vec<f64> = members.iter().map(|&j| sigmoid(oof[j][i])).collect();
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
            // The combiner's factors applied to the forum model's weights:
            // a × base + b × forum + c.
            Some((a, b, c)) => {
                w[0] = b * w[0] + c;
                w[TEXT..].iter_mut().for_each(|x| *x *= b);
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

    // Thresholds: where the approved posts' out-of-fold scores put them.
    let approved: Vec<f64> = rows
        .iter()
        .zip(&oof)
        .filter(|(r, _)| r.labels[..h].iter().all(|l| *l != Some(true)))
        .map(|(_, z)| z[..h].iter().copied().fold(f64::NEG_INFINITY, f64::max))
        .collect();
    let folded = adapted_heads.iter().all(|a| a.metrics.is_some());
    let (slope, offset, thresholds) = if !folded {
        (1.0, 0.0, format!("kept the base's: {} labels are too few for {} folds", rows.len(), config.folds))
    } else if approved.len() < config.min_negatives {
        (
            1.0,
            0.0,
            format!("kept the base's: {} approved posts (at least {} needed)", approved.len(), config.min_negatives),
        )
    } else {
        let removed: Vec<f64> = rows
            .iter()
            .zip(&oof)
            .filter(|(r, _)| r.labels[..h].contains(&Some(true)))
            .map(|(_, z)| z[..h].iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .collect();
        // A few dozen approved posts can say a threshold is too lenient,
        // not that it may be lowered: where the budget cannot be kept with
        // the configured confidence, the base's threshold is a floor.
        let mut floored = Vec::new();
        let mut cut = |fpr: f64, default: f64, name: &'static str| {
            let at = match certified_cut(&approved, fpr, config.confidence) {
                Some(cut) => cut,
                None => {
                    let cut = budget(&approved, fpr).max(default);
                    floored.push(name);
                    cut
                }
            };
            tightest(at, &approved, &removed)
        };
        let review = cut(config.review_fpr, logit(REVIEW), "review");
        let hold = cut(config.hold_fpr, logit(HOLD), "hold");
        let only_stricter = if floored.is_empty() {
            String::new()
        } else {
            format!(
                ", {} not lowered: too few approved posts to be {:.0}% sure",
                floored.join(" and "),
                config.confidence * 100.0
            )
        };
        let (slope, offset) = calibration(review, hold);
        (
            slope,
            offset,
            format!(
                "re-chosen on {} approved posts (out of fold): at most {:.0}% reach review and {:.0}% hold{only_stricter}",
                approved.len(),
                config.review_fpr * 100.0,
                config.hold_fpr * 100.0
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
        offset,
        thresholds,
        lower_only,
        heads: adapted_heads,
        slope,
    });
    Model::from_data(data)
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

/// The log-odds threshold at which at most `fpr` of `scores` (log-odds of
/// approved posts) are at or above it.
fn budget(scores: &[f64], fpr: f64) -> f64 {
    let mut s = scores.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    let allowed = (fpr * s.len() as f64).floor() as usize;
    match s.get(allowed) {
        Some(&x) => x + 1e-9,
        None => f64::NEG_INFINITY,
    }
}

/// The lowest threshold (log-odds) at which the share of approved posts
/// (`scores`) reaching it is at most `fpr` with `confidence`: the most
/// approved posts `x` that may sit at or above it is the largest for which
/// a share of `fpr` would give `x` or fewer with probability at most
/// 1 − `confidence` (the one-sided Clopper–Pearson bound). `None` when not
/// even a threshold above every approved post is that sure.
fn certified_cut(scores: &[f64], fpr: f64, confidence: f64) -> Option<f64> {
    let allowed = certified_count(scores.len(), fpr, 1.0 - confidence)?;
    let mut s = scores.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    Some(s.get(allowed).map_or(f64::NEG_INFINITY, |&x| x + 1e-9))
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
    head: usize,
    k: usize,
    /// Per row: indices into the evidence weights.
    evidence: Vec<Vec<usize>>,
    l2: (f64, f64, f64, f64),
    width: usize,
    /// δ fixed rather than fitted.
    fixed_scale: Option<f64>,
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
            head,
            k,
            evidence,
            l2: (config.l2_bias, config.l2_scale, config.l2_text, config.l2_evidence),
            width: TEXT + k + ids.len(),
            fixed_scale: None,
        }
    }

    /// δ under parameters `w`.
    fn scale(&self, w: &[f64]) -> f64 {
        self.fixed_scale.unwrap_or_else(|| w[1].clamp(SCALE.0, SCALE.1))
    }

    /// The adapted log-odds of row `j` under parameters `w`.
    fn margin_of(&self, w: &[f64], j: usize) -> f64 {
        let r = &self.rows[j];
        let norm = (r.cols.len().max(1) as f64).sqrt();
        let text: f64 = r.cols.iter().map(|&c| w[TEXT + c as usize]).sum::<f64>() / norm;
        let ev: f64 = self.evidence[j].iter().map(|&e| w[TEXT + self.k + e]).sum();
        let z = r.base[self.head];
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
    fn eval(&self, w: &[f64], members: &[usize], grad: &mut [f64]) -> f64 {
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
            let m = self.margin_of(w, j);
            let y = self.rows[j].labels[self.head] == Some(true);
            loss += log_loss(m, y);
            let g = sigmoid(m) - f64::from(u8::from(y));
            grad[0] += g;
            let r = &self.rows[j];
            if self.fixed_scale.is_none() && (SCALE.0..=SCALE.1).contains(&w[1]) {
                grad[1] += g * r.base[self.head];
            }
            let gn = g / (r.cols.len().max(1) as f64).sqrt();
            for &c in &r.cols {
                grad[TEXT + c as usize] += gn;
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
        const MEMORY: usize = 8;
        let n = self.width;
        let mut w = vec![0.0; n];
        let mut g = vec![0.0; n];
        let mut f = self.eval(&w, members, &mut g);
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
                let f_next = self.eval(&next, members, &mut g_next);
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

/// The stacking combiner: `a × base + b × forum + c` fitted to the labels
/// of `points` (base log-odds, the forum model's out-of-fold log-odds,
/// label) by projected Newton steps on the penalised log-loss, with `a`
/// pulled towards 1 and `b` towards 0 (the base alone, which is where it
/// starts) and kept within `a ∈ [0, 1 + SCALE.1]` (the base dropped where
/// no rule fired, up to the free fit's largest factor) and `b ∈ [0, 3]`:
/// the forum's model, fitted under an L2 penalty, may be trusted more
/// than its own scale says, never turned against its own evidence.
fn fit_combiner(points: &[(f64, f64, bool)], l2: f64) -> (f64, f64, f64) {
    const L2_BIAS: f64 = 1e-3;
    let bounds = [(0.0, 1.0 + SCALE.1), (0.0, 3.0), (f64::NEG_INFINITY, f64::INFINITY)];
    let loss = |x: [f64; 3]| {
        let penalty = 0.5 * l2 * ((x[0] - 1.0).powi(2) + x[1] * x[1]) + 0.5 * L2_BIAS * x[2] * x[2];
        penalty + points.iter().map(|&(z, t, y)| log_loss(x[0] * z + x[1] * t + x[2], y)).sum::<f64>()
    };
    let mut x = [1.0, 0.0, 0.0];
    let mut f = loss(x);
    for _ in 0..100 {
        // Gradient and Hessian of the penalised log-loss.
        let mut g = [l2 * (x[0] - 1.0), l2 * x[1], L2_BIAS * x[2]];
        let mut h = [[l2, 0.0, 0.0], [0.0, l2, 0.0], [0.0, 0.0, L2_BIAS]];
        for &(z, t, y) in points {
            let p = sigmoid(x[0] * z + x[1] * t + x[2]);
            let r = p - f64::from(u8::from(y));
            let v = p * (1.0 - p);
            let row = [z, t, 1.0];
            for m in 0..3 {
                g[m] += r * row[m];
                for n in 0..3 {
                    h[m][n] += v * row[m] * row[n];
                }
            }
        }
        // A variable at a bound that the gradient pushes outwards stays
        // there: its row and column drop out of the Newton system.
        let mut free = [true; 3];
        for m in 0..2 {
            let (lo, hi) = bounds[m];
            if (x[m] <= lo && g[m] > 0.0) || (x[m] >= hi && g[m] < 0.0) {
                free[m] = false;
                g[m] = 0.0;
                for n in 0..3 {
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
        for d in [solve3(h, g), Some(g.map(|v| v * scale))].into_iter().flatten() {
            let mut step = 1.0;
            while step > 1e-10 {
                let mut next = x;
                for m in 0..3 {
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
    (x[0], x[1], x[2])
}

/// Solves the 3×3 system `h x = g` (Cramer's rule); `None` when singular.
fn solve3(h: [[f64; 3]; 3], g: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(h);
    if !(d.is_finite() && d.abs() > 1e-12) {
        return None;
    }
    let mut x = [0.0; 3];
    for (col, out) in x.iter_mut().enumerate() {
        let mut m = h;
        for row in 0..3 {
            m[row][col] = g[row];
        }
        *out = det(m) / d;
    }
    Some(x)
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
    fn points(base_knows: bool) -> Vec<(f64, f64, bool)> {
        (0..200)
            .map(|i| {
                let y = i % 3 == 0;
                let signal = if y { 2.0 } else { -2.0 } + f64::from((i * 7) % 5) - 2.0;
                let noise = f64::from((i * 13) % 11) - 5.0;
                if base_knows { (signal, noise, y) } else { (noise, signal, y) }
            })
            .collect()
    }

    #[test]
    fn the_combiner_keeps_whichever_score_predicts_the_forum_s_labels() {
        // The base transfers badly, the forum's own model predicts: the
        // base is dropped (its factor at the bound 0) and the forum's
        // model trusted.
        let (a, b, _) = fit_combiner(&points(false), 0.1);
        assert!(a < 0.05, "base factor {a}");
        assert!(b > 0.5, "forum factor {b}");
        // The base predicts, the forum's model (too few labels) does not:
        // the base is kept and the forum's model counts for little.
        let (a, b, _) = fit_combiner(&points(true), 0.1);
        assert!(a > 0.5, "base factor {a}");
        assert!(b < 0.05, "forum factor {b}");
        // Within the bounds however separable the labels, and the same
        // numbers every time.
        let separable: Vec<(f64, f64, bool)> =
            (0..40).map(|i| (0.0, if i % 2 == 0 { 50.0 } else { -50.0 }, i % 2 == 0)).collect();
        let (a, b, c) = fit_combiner(&separable, 0.1);
        assert!((0.0..=1.0 + SCALE.1).contains(&a) && (0.0..=3.0).contains(&b) && c.is_finite(), "{a} {b} {c}");
        assert_eq!(fit_combiner(&points(false), 0.1), fit_combiner(&points(false), 0.1));
        // No labels: the base alone, as it starts.
        assert_eq!(fit_combiner(&[], 0.1), (1.0, 0.0, 0.0));
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
        // The cut: above the allowed count of approved posts.
        let scores: Vec<f64> = (0..100).map(f64::from).collect();
        let cut = certified_cut(&scores, 0.05, 0.9).unwrap();
        assert_eq!(scores.iter().filter(|&&s| s >= cut).count(), 1);
        assert!(certified_cut(&scores[..30], 0.05, 0.9).is_none());
    }
}
