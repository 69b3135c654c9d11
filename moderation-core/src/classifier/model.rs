//! The trained model: a file format, its verification, and inference.
//!
//! A model has one *head* per category it was trained on (spam, scam). Each
//! head is two layers:
//!
//! 1. a text model: one weight per selected hashed n-gram bucket (see
//!    [`FeatureConfig`](crate::FeatureConfig)), fitted by logistic regression
//!    or naive Bayes, summed over the buckets a post contains and divided by
//!    the square root of their number; where a rule or signal of the head's
//!    category fired, this part may lower the log-odds by at most the
//!    head's `text_floor`;
//! 2. a stacker: logistic regression over the heads' text scores, a few
//!    dense signal features (links, look-alike domains, contacts, capitals…)
//!    and the rule hits, whose coefficients become the rules' *fitted
//!    weights*. It is what makes the final probabilities calibrated.
//!
//! Inference needs no linfa: it is a lookup of each n-gram's column and a
//! sparse dot product, with per-thread scratch space so scoring a post
//! allocates nothing.
//!
//! # File format
//!
//! ```text
//! magic     8 bytes  "MODMODEL"
//! version   u32 LE   format version (this build writes 8 for a model
//!                    adapted to a forum with a head compressed below its
//!                    review threshold, 7 for a model
//!                    whose log-odds are calibrated by a slope, 6 for a
//!                    model adapted to a forum with thresholds per head, 5
//!                    for a model with typed tokens, else 2, or 4 for a
//!                    model adapted to a forum; it reads 1 to 8)
//! length    u64 LE   payload length in bytes
//! digest   32 bytes  SHA-256 of the payload
//! payload            postcard-encoded `ModelData` (formats 3 and 4:
//!                    followed by the postcard-encoded `Adaptation`; format
//!                    3's has no slope, read as 1; format 5: followed by
//!                    the postcard-encoded `Extensions`, then an optional
//!                    `Adaptation`; format 6: the `ModelData`, the
//!                    `Extensions`, the `Adaptation` (always present),
//!                    then its per-head thresholds, `Vec<HeadCalibration>`;
//!                    format 7: the `ModelData`, the `Extensions`, the
//!                    per-head calibration slopes, `Vec<f64>`, an optional
//!                    `Adaptation`, then its per-head thresholds; format
//!                    8: format 7, then each per-head threshold's slope
//!                    below review, `Vec<f64>`)
//! ```
//!
//! Every way a file can be wrong — not a model, truncated, corrupt, from a
//! newer format, internally inconsistent — is a [`ModelError`], never a panic.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analysis::Analysis;
use crate::classifier::features::{FeatureConfig, unspaced};
use crate::error::{Error, ModelError};
use crate::rules::settings::DEFAULT_PRIOR;
use crate::text::{hex, push_fixed2, push_u64};
use crate::verdict::Signal;
use crate::vocab::{Category, Field, SignalKind, Span};

/// The bytes of `models/default.model` (feature `default-model`): the
/// workspace's one copy, read at compile time, so the library and the
/// service can never ship different models.
#[cfg(feature = "default-model")]
pub const SHIPPED_MODEL: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model"));

/// The first bytes of every model file.
pub const MAGIC: &[u8; 8] = b"MODMODEL";
/// The newest format version this build reads: 9, a model adapted to a
/// forum with a head's scores on the base's slope above its hold
/// threshold ([`HeadCalibration::above_hold`]). Format 8 is a model adapted to a
/// forum with a head's scores compressed below its review threshold
/// ([`HeadCalibration::below_review`]). Format 7 is a model whose log-odds
/// are calibrated by a slope per head ([`ModelData::slopes`]). Format 6 is
/// a model adapted to a forum whose thresholds were re-chosen per head
/// ([`Adaptation::calibrations`]). Format 5 is a model whose features read
/// typed tokens ([`FeatureConfig::typed`]), adapted to a forum with one
/// calibration for every head, or not adapted. A model without typed
/// tokens or per-head thresholds is still written as format 2 (plain) or 4
/// (adapted to a forum, [`Adaptation`]), byte for byte as before; format 3
/// (an adaptation without a slope) and format 1 (no text floor) are still
/// read.
pub const FORMAT_VERSION: u32 = 9;
/// The format of an adapted model with a head compressed below review and
/// none on the base's slope above hold.
const BELOW_REVIEW_FORMAT: u32 = 8;
/// The format of a model calibrated by slopes (adapted or not), none of
/// its heads compressed below review.
const SLOPES_FORMAT: u32 = 7;
/// The format of an adapted model with per-head thresholds and no
/// calibration slope.
const HEAD_THRESHOLDS_FORMAT: u32 = 6;
/// The format of a model with typed tokens and no per-head thresholds.
const TYPED_FORMAT: u32 = 5;
/// The format of a model without an adaptation or typed tokens.
const PLAIN_FORMAT: u32 = 2;
/// The format of a model adapted to a forum, without typed tokens.
const ADAPTED_FORMAT: u32 = 4;

/// What format 5 stores after the model data: settings added since format
/// 4, so the data before them keeps its layout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Extensions {
    /// [`FeatureConfig::typed`].
    typed_tokens: bool,
}
const HEADER_LEN: usize = 8 + 4 + 8 + 32;

/// The largest payload a model file may claim (1 GiB; shipped models are a
/// few MB). A header claiming more is refused before any length arithmetic.
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 30;
/// Selected columns are stored as `u16` in the bucket map.
const MAX_COLUMNS: usize = u16::MAX as usize;
const NO_COLUMN: u16 = u16::MAX;
/// The bounds of an adaptation's [slope](Adaptation::slope).
pub const MIN_SLOPE: f64 = 0.2;
/// See [`MIN_SLOPE`].
pub const MAX_SLOPE: f64 = 5.0;
/// The largest [`HeadCalibration::below_review`] (the smallest is 1).
pub const MAX_BELOW_REVIEW: f64 = 5.0;
/// The largest [`HeadCalibration::above_hold`]: the reciprocal of
/// [`MIN_SLOPE`].
pub const MAX_ABOVE_HOLD: f64 = 5.0;
/// The smallest [`HeadCalibration::above_hold`]: the reciprocal of
/// [`MAX_SLOPE`].
pub const MIN_ABOVE_HOLD: f64 = 0.2;

/// A rule weight fitted from data, valid only for the exact rule it was
/// fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedRule {
    /// The rule id.
    pub id: String,
    /// The content hash of the rule (its definition, named conditions expanded)
    /// when it was fitted.
    pub content_hash: String,
    /// The hand-set weight it had then.
    pub hand_weight: f64,
    /// The fitted log-odds weight.
    pub weight: f64,
    /// Training posts it fired on.
    pub hits: u32,
}

/// Quality figures measured on the training side by cross-validation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeadMetrics {
    /// Training posts with a label for this head.
    pub examples: u32,
    /// Of which positive.
    pub positives: u32,
    /// Out-of-fold F1 at [`Head::threshold`].
    pub f1: f64,
    /// Out-of-fold precision at the threshold.
    pub precision: f64,
    /// Out-of-fold recall at the threshold.
    pub recall: f64,
    /// Out-of-fold area under the precision–recall curve.
    pub pr_auc: f64,
    /// Out-of-fold Brier score (mean squared error of the probability).
    pub brier: f64,
}

/// One category's model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// The category.
    pub category: Category,
    /// Text weight per selected column (logistic-regression coefficient or
    /// naive-Bayes log-likelihood ratio).
    pub text_weights: Vec<f32>,
    /// Stacker intercept (log-odds).
    pub intercept: f64,
    /// Stacker coefficient of each head's text score, in head order.
    pub text_coefs: Vec<f64>,
    /// Stacker coefficient per signal feature, in [`ModelData::signal_features`] order.
    pub signal_coefs: Vec<f64>,
    /// Fitted weights of the rules of this category.
    pub rules: Vec<FittedRule>,
    /// Decision threshold that maximised out-of-fold F1 on the training side.
    pub threshold: f64,
    /// Cross-validated training metrics.
    pub metrics: HeadMetrics,
    /// At most how far the text n-grams may lower this head's log-odds on a
    /// post where a rule or signal of this category fired (`None`:
    /// unbounded, as in format 1): legitimate-looking words cannot cancel a
    /// fired rule, while a benign post no rule fired on keeps its full text
    /// score.
    pub text_floor: Option<f64>,
}

/// The "unwanted" decision (any head positive), scored by the highest head:
/// what a forum that only asks "publish or not" uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Combined {
    /// F1-optimal threshold on out-of-fold training probabilities.
    pub threshold: f64,
    /// Cross-validated figures at it.
    pub metrics: HeadMetrics,
}

/// Where the training data came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// SHA-256 over every training text and label, in order.
    pub data_digest: String,
    /// Posts per source (`sms-spam-collection:train`, `forum-posts:train`, …).
    pub sources: Vec<(String, u32)>,
    /// The seed of fold assignment.
    pub seed: u64,
    /// Cross-validation folds.
    pub folds: u32,
    /// Naive-Bayes smoothing.
    pub alpha: f64,
    /// Stacker L2 penalty.
    pub l2: f64,
}

/// Everything in a model file's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelData {
    /// A name for people (`forum-default`).
    pub name: String,
    /// What wrote it (`moderation-core 0.1.0`).
    pub created_by: String,
    /// How text becomes buckets.
    pub features: FeatureConfig,
    /// The selected buckets, ascending; column `i` is bucket `columns[i]`.
    pub columns: Vec<u32>,
    /// One n-gram that hashed to each column, to explain scores.
    pub grams: Vec<String>,
    /// Names of the dense signal features the stackers use.
    pub signal_features: Vec<String>,
    /// One per trained category.
    pub heads: Vec<Head>,
    /// Combined figures, when there is more than one head.
    pub unwanted: Option<Combined>,
    /// Provenance.
    pub training: TrainingInfo,
    /// What one forum's moderator decisions added on top (format 3), if
    /// this model was adapted: see [`crate::adapt`]. Encoded after the rest,
    /// so a model without one keeps its format-2 bytes and version.
    #[serde(skip)]
    pub adaptation: Option<Adaptation>,
    /// Per head, in head order: the slope of its calibration. The engine's
    /// log-odds of the head's category (prior, rules, signals and this
    /// model) are multiplied by it, the offset being in the head's
    /// intercept, so that both the review and the hold threshold land where
    /// their own budgets put them instead of one shift serving the stricter
    /// of the two. Empty: 1 for every head (formats 1 to 6). Encoded after
    /// the extensions (formats 7 and 8).
    #[serde(skip)]
    pub slopes: Vec<f64>,
}

/// A forum's adaptation of a base model: a logistic model of the forum's
/// labelled posts on top of the base model's log-odds (see
/// [`crate::adapt`]). It adds, per head, a factor on the base's log-odds,
/// a bias, a weight per hashed n-gram of the forum's own posts and a weight
/// per piece of evidence (rule or built-in signal) that fired on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adaptation {
    /// The base model's version (`name@digest`).
    pub base: String,
    /// Labelled posts it was fitted on (after merging duplicates).
    pub labels: u32,
    /// SHA-256 over the posts' normalized texts and labels, in order.
    pub data_digest: String,
    /// The forum's buckets, strictly ascending (same [`FeatureConfig`] as
    /// the base).
    pub columns: Vec<u32>,
    /// One n-gram that hashed to each column, to explain scores.
    pub grams: Vec<String>,
    /// Log-odds shift of every head without its own entry in
    /// [`calibrations`]: with [`slope`], where the forum's labels put the
    /// review and hold thresholds (0 when too few labels).
    ///
    /// [`slope`]: Adaptation::slope
    /// [`calibrations`]: Adaptation::calibrations
    pub offset: f64,
    /// How the offset was chosen, for people.
    pub thresholds: String,
    /// The adaptation may only lower log-odds, never raise them: the labels
    /// held too few approved posts to check a review rate against.
    pub lower_only: bool,
    /// One per head that had both classes among the labels; the other
    /// heads keep the base's.
    pub heads: Vec<AdaptedHead>,
    /// The adapted log-odds of every head without its own entry in
    /// [`calibrations`](Adaptation::calibrations) are multiplied by the
    /// slope before the offset is added: the review and hold thresholds
    /// each land where the forum's labels put them, not only the stricter
    /// of the two (1 when too few labels; format 3 files read as 1).
    pub slope: f64,
    /// Thresholds per head (format 6; empty in older files and where the
    /// thresholds were kept as the base's, whose heads all share
    /// [`slope`](Adaptation::slope) and [`offset`](Adaptation::offset)).
    /// A head the forum's labels did not teach keeps the base's thresholds
    /// unless raising them lets the heads together flag more removed posts
    /// within the review or hold budget, or the budget needs it: a forum
    /// that only removes spam does not weaken the scam head's. Such a head
    /// may score further under review
    /// ([`below_review`](HeadCalibration::below_review), format 8).
    #[serde(skip)]
    pub calibrations: Vec<HeadCalibration>,
}

impl Adaptation {
    /// The slope and offset that map `category`'s adapted log-odds onto the
    /// default thresholds: its own entry, or the shared one.
    pub fn calibration(&self, category: Category) -> (f64, f64) {
        self.calibrations
            .iter()
            .find(|c| c.category == category)
            .map_or((self.slope, self.offset), |c| (c.slope, c.offset))
    }
}

/// Where one head's review and hold thresholds land on a forum: its
/// adapted log-odds × `slope` + `offset` are compared with the default
/// thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeadCalibration {
    /// The category (a head of the base model).
    pub category: Category,
    /// Within [`MIN_SLOPE`]..=[`MAX_SLOPE`].
    pub slope: f64,
    /// Log-odds added after the slope.
    pub offset: f64,
    /// Under the category's first threshold — the default review
    /// threshold, or lower where the forum's own prior or thresholds put
    /// its first decision lower — the calibrated log-odds' distance from it
    /// is multiplied by this (1: the line carries on; at most
    /// [`MAX_BELOW_REVIEW`]). Monotone and fixed at that threshold, so it
    /// changes no decision: only how far under review a post scores (and
    /// so the score a moderator sees and the "unwanted" ranking). An
    /// adaptation sets it only for a head the forum's labels did not teach
    /// (a model with it on a taught head is refused), where its base
    /// scores, on this forum, outrank removed posts from under review.
    /// Format 8; older files read as 1, and builds before format 8 refuse
    /// a format-8 file as newer.
    #[serde(skip, default = "one")]
    pub below_review: f64,
    /// Above the forum's hold threshold (its reject threshold where it
    /// holds nothing), the adapted log-odds' distance from it is
    /// multiplied by this (1: the line carries on; within
    /// [`MIN_ABOVE_HOLD`]..=[`MAX_ABOVE_HOLD`]). An adaptation sets it to
    /// 1 / `slope` for a head the forum's labels taught whose slope is
    /// under 1, and for a head they did not teach whose slope is over 1:
    /// the slope that lands the forum's review and hold thresholds
    /// changes the base's spread, and above hold there is no threshold
    /// left to land, so the line continues at the base's own slope. That
    /// keeps the forum's surest removals ranked above an untaught head's
    /// merely doubtful base scores in the "unwanted" score. Where a rule
    /// or signal of the category fired, the base's score stays a floor.
    /// It moves only scores above hold: every decision is taken on the
    /// log-odds without it (a model with it over 1 on an untaught head,
    /// or under 1 on a taught one, is refused). Format 9; older files read
    /// as 1, and builds before format 9 refuse a format-9 file as newer.
    #[serde(skip, default = "one")]
    pub above_hold: f64,
}

fn one() -> f64 {
    1.0
}

/// What one head adds to the base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptedHead {
    /// The category (a head of the base model).
    pub category: Category,
    /// Log-odds added to every post.
    pub bias: f64,
    /// δ: the base's log-odds (rules, signals and model, from the default
    /// prior) are multiplied by 1 + δ.
    pub scale: f64,
    /// Weight per adaptation column (summed over a post's distinct columns,
    /// divided by the square root of their number, like the base's).
    pub text_weights: Vec<f32>,
    /// Weight added when a rule or built-in signal of this category fired,
    /// by its id.
    pub evidence: Vec<(String, f64)>,
    /// Labelled posts, and positives among them.
    pub examples: u32,
    /// Of which positive.
    pub positives: u32,
    /// Out-of-fold figures on the forum's labels (`None`: too few labels
    /// for folds).
    pub metrics: Option<HeadMetrics>,
}

/// A loaded, verified model, ready to score.
#[derive(Debug)]
pub struct Model {
    data: ModelData,
    version: String,
    /// Bucket → column, `NO_COLUMN` when not selected.
    column_of: Vec<u16>,
    /// Text weights interleaved: `[column * heads + head]`.
    weights: Vec<f32>,
    /// Signal feature ids, in model order.
    signals: Vec<SignalFeature>,
    /// Per head: rule id → (content hash, fitted weight).
    rules: Vec<HashMap<String, (String, f64)>>,
    /// The forum adaptation, ready to score.
    adapted: Option<Adapted>,
}

/// An [`Adaptation`] laid out for scoring.
#[derive(Debug)]
struct Adapted {
    /// Bucket → adaptation column, `NO_COLUMN` when none.
    column_of: Vec<u16>,
    /// Bucket → joint column, `u32::MAX` when in neither the base's nor
    /// the adaptation's columns: the scoring path's one lookup. Joint
    /// columns in both come first, then the base's only, then the
    /// adaptation's only.
    joint_of: Vec<u32>,
    /// Per joint column: the base heads' weights then the adapted heads'
    /// (0 where a column is not in that set or a head does not exist), for
    /// a model of at most two heads (the shipped one) …
    joint2: Vec<[f32; 4]>,
    /// … or of three or four.
    joint4: Vec<[f32; 8]>,
    /// Joint columns below this are in both sets.
    both_end: u32,
    /// Joint columns below this are the base's.
    base_end: u32,
    /// Text weights interleaved: `[column * heads + head]`, base head order
    /// (0 for a head that was not adapted).
    weights: Vec<f32>,
    /// Per base head: the head's bias (0 for a head not adapted).
    bias: [f64; 4],
    /// Per base head, the calibration: adapted log-odds × slope + offset.
    slope: [f64; 4],
    offset: [f64; 4],
    /// Per base head: under the forum's first threshold (at most the
    /// default review threshold), the calibrated log-odds' distance from it
    /// × this.
    below: [f64; 4],
    /// Per base head: above the forum's hold threshold, the adapted
    /// log-odds' distance from it × this (score only).
    above: [f64; 4],
    /// Per base head: δ.
    scale: [f64; 4],
    /// Per base head: evidence id → weight.
    evidence: Vec<HashMap<String, f64>>,
    /// Per base head: adapted at all.
    adapted: [bool; 4],
    /// See [`Adaptation::lower_only`].
    lower_only: bool,
}

impl Adapted {
    /// Sums the joint weights of the distinct joint columns of `texts`
    /// (base heads, then adapted heads) and counts the distinct base and
    /// adapted columns among them into `counts`.
    #[inline(always)]
    fn walk<const W: usize>(
        &self,
        features: &FeatureConfig,
        texts: &[&str],
        joint: &[[f32; W]],
        marks: &mut [u32],
        stamp: u32,
        counts: (&mut u32, &mut u32),
    ) -> [f32; W] {
        let (both_end, base_end) = (self.both_end, self.base_end);
        let (n, m) = counts;
        let mut both = [0f32; W];
        for text in texts {
            features.for_each_bucket(text, |bucket| {
                let j = self.joint_of[bucket as usize];
                if j == u32::MAX || marks[j as usize] == stamp {
                    return;
                }
                marks[j as usize] = stamp;
                for (s, w) in both.iter_mut().zip(&joint[j as usize]) {
                    *s += *w;
                }
                *n += u32::from(j < base_end);
                *m += u32::from(j < both_end || j >= base_end);
            });
        }
        both
    }

    /// Lays the base's columns (`column_of`, `weights`) and the
    /// adaptation's out as one map, so that scoring an adapted model
    /// costs one lookup and one pass per bucket, as the base does.
    fn join(&mut self, column_of: &[u16], weights: &[f32], h: usize) {
        let mut joint_of = vec![u32::MAX; column_of.len()];
        let (mut joint2, mut joint4) = (Vec::new(), Vec::new());
        let mut next = 0u32;
        let kinds = [(true, true), (true, false), (false, true)];
        let mut ends = [0u32; 3];
        for (kind, (want_base, want_adapted)) in kinds.into_iter().enumerate() {
            for (bucket, (&b, &a)) in column_of.iter().zip(&self.column_of).enumerate() {
                if (b != NO_COLUMN) != want_base || (a != NO_COLUMN) != want_adapted {
                    continue;
                }
                joint_of[bucket] = next;
                next += 1;
                let mut row = [0f32; 8];
                let half = if h <= 2 { 2 } else { 4 };
                for (at, (set, col)) in [(weights, b), (&self.weights[..], a)].into_iter().enumerate() {
                    if col != NO_COLUMN {
                        row[at * half..at * half + h].copy_from_slice(&set[col as usize * h..col as usize * h + h]);
                    }
                }
                if h <= 2 {
                    joint2.push([row[0], row[1], row[2], row[3]]);
                } else {
                    joint4.push(row);
                }
            }
            ends[kind] = next;
        }
        self.joint_of = joint_of;
        self.joint2 = joint2;
        self.joint4 = joint4;
        self.both_end = ends[0];
        self.base_end = ends[1];
    }

    fn new(a: &Adaptation, data: &ModelData) -> Result<Adapted, ModelError> {
        let invalid = |m: String| Err(ModelError::Invalid(format!("adaptation: {m}")));
        let k = a.columns.len();
        if k > MAX_COLUMNS {
            return invalid(format!("{k} columns (at most {MAX_COLUMNS})"));
        }
        if a.grams.len() != k {
            return invalid(format!("{} n-grams for {k} columns", a.grams.len()));
        }
        if a.columns.windows(2).any(|w| w[0] >= w[1]) {
            return invalid("columns are not strictly ascending".into());
        }
        if a.columns.last().is_some_and(|&c| c as usize >= data.features.buckets()) {
            return invalid("a column is outside the hash space".into());
        }
        let checked = |r: Result<(), String>| r.map_err(|m| ModelError::Invalid(format!("adaptation: {m}")));
        checked(check_calibration(a.slope, a.offset, ""))?;
        let h = data.heads.len();
        let mut out = Adapted {
            column_of: vec![NO_COLUMN; data.features.buckets()],
            joint_of: Vec::new(),
            joint2: Vec::new(),
            joint4: Vec::new(),
            both_end: 0,
            base_end: 0,
            weights: vec![0.0; k * h],
            bias: [0.0; 4],
            slope: [a.slope; 4],
            offset: [a.offset; 4],
            below: [1.0; 4],
            above: [1.0; 4],
            scale: [0.0; 4],
            evidence: vec![HashMap::new(); h],
            adapted: [false; 4],
            lower_only: a.lower_only,
        };
        for (i, &b) in a.columns.iter().enumerate() {
            out.column_of[b as usize] = i as u16;
        }
        for head in &a.heads {
            let name = head.category.as_str();
            let Some(i) = data.heads.iter().position(|b| b.category == head.category) else {
                return invalid(format!("a head for {name}, which the base model does not have"));
            };
            if out.adapted[i] {
                return invalid(format!("two heads for {name}"));
            }
            if head.text_weights.len() != k {
                return invalid(format!("head {name} has the wrong number of weights"));
            }
            let finite = head.bias.is_finite()
                && head.scale.is_finite()
                && head.scale >= -1.0
                && head.text_weights.iter().all(|w| w.is_finite())
                && head.evidence.iter().all(|(_, w)| w.is_finite());
            if !finite {
                return invalid(format!("head {name} has a weight that is not a finite number"));
            }
            out.adapted[i] = true;
            out.bias[i] += head.bias;
            out.scale[i] = head.scale;
            for (c, w) in head.text_weights.iter().enumerate() {
                out.weights[c * h + i] = *w;
            }
            out.evidence[i] = head.evidence.iter().cloned().collect();
        }
        let mut calibrated = [false; 4];
        for c in &a.calibrations {
            let name = c.category.as_str();
            let Some(i) = data.heads.iter().position(|b| b.category == c.category) else {
                return invalid(format!("thresholds for {name}, which the base model does not have"));
            };
            if std::mem::replace(&mut calibrated[i], true) {
                return invalid(format!("two thresholds for {name}"));
            }
            checked(check_calibration(c.slope, c.offset, &format!(" of {name}")))?;
            if !(c.below_review.is_finite() && (1.0..=MAX_BELOW_REVIEW).contains(&c.below_review)) {
                return invalid(format!(
                    "the slope below review {} of {name} is outside 1..={MAX_BELOW_REVIEW}",
                    c.below_review
                ));
            }
            if c.below_review != 1.0 && out.adapted[i] {
                return invalid(format!(
                    "a slope below review for {name}, which the labels taught: only a category they did not teach keeps the base's scores to compress"
                ));
            }
            if !(c.above_hold.is_finite() && (MIN_ABOVE_HOLD..=MAX_ABOVE_HOLD).contains(&c.above_hold)) {
                return invalid(format!(
                    "the slope above hold {} of {name} is outside {MIN_ABOVE_HOLD}..={MAX_ABOVE_HOLD}",
                    c.above_hold
                ));
            }
            if c.above_hold > 1.0 && !out.adapted[i] {
                return invalid(format!(
                    "a slope above hold over 1 for {name}, which the labels did not teach: only a taught category's scores are stretched there"
                ));
            }
            if c.above_hold < 1.0 && out.adapted[i] {
                return invalid(format!(
                    "a slope above hold under 1 for {name}, which the labels taught: only an untaught category's scores are compressed there"
                ));
            }
            out.slope[i] = c.slope;
            out.offset[i] = c.offset;
            out.below[i] = c.below_review;
            out.above[i] = c.above_hold;
        }
        Ok(out)
    }
}

/// Checks a calibration of an adaptation (`of`: which head's, for the
/// message, or empty for the shared one).
fn check_calibration(slope: f64, offset: f64, of: &str) -> Result<(), String> {
    if !offset.is_finite() {
        return Err(format!("the offset{of} is not a finite number"));
    }
    if !(slope.is_finite() && (MIN_SLOPE..=MAX_SLOPE).contains(&slope)) {
        return Err(format!("the slope {slope}{of} is outside {MIN_SLOPE}..={MAX_SLOPE}"));
    }
    Ok(())
}

thread_local! {
    /// Per-thread "seen in this post" stamps per column, so a post's
    /// distinct columns are found without allocating.
    static SEEN: RefCell<(u32, Vec<u32>)> = const { RefCell::new((0, Vec::new())) };
}

/// The text score of each head for one post: naive-Bayes log-odds divided
/// by the square root of the number of selected n-grams present, so long
/// posts do not get extreme scores just for being long.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TextScores {
    /// Per head, in head order (at most 4).
    pub scores: [f64; 4],
    /// Distinct selected columns the post contains.
    pub columns: u32,
    /// Per head: the forum adaptation's text part (0 without one).
    pub adapted: [f64; 4],
    /// Distinct adaptation columns the post contains.
    pub adapted_columns: u32,
}

impl Model {
    /// Reads and verifies a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Model::from_bytes(&bytes)
    }

    /// Decodes and verifies a model from its file bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, Error> {
        Ok(Model::decode(bytes)?)
    }

    /// The model the project ships (`models/default.model`), compiled into
    /// the library by the `default-model` cargo feature (on by default).
    ///
    /// It is the model the `moderation` service scores with, so an engine
    /// built with it ([`Engine::with_default_model`](crate::Engine::with_default_model))
    /// gives the service's verdicts. It is decoded and verified on every
    /// call: call it once and share the model, or the engine, behind an
    /// `Arc`.
    ///
    /// ```
    /// use moderation_core::{Category, Model};
    ///
    /// let model = Model::shipped()?;
    /// assert!(model.version().starts_with("forum-default@"));
    /// assert!(model.categories().any(|c| c == Category::Scam));
    /// # Ok::<(), moderation_core::Error>(())
    /// ```
    #[cfg(feature = "default-model")]
    pub fn shipped() -> Result<Model, Error> {
        Model::from_bytes(SHIPPED_MODEL)
    }

    fn decode(bytes: &[u8]) -> Result<Model, ModelError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        if bytes.len() < HEADER_LEN {
            return Err(ModelError::Truncated { expected: HEADER_LEN as u64, actual: bytes.len() as u64 });
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version > FORMAT_VERSION {
            return Err(ModelError::NewerFormat { found: version, supported: FORMAT_VERSION });
        }
        if version == 0 {
            return Err(ModelError::Corrupt("format version 0 does not exist".into()));
        }
        let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        if len > MAX_PAYLOAD_BYTES {
            return Err(ModelError::PayloadTooLarge { claimed: len, limit: MAX_PAYLOAD_BYTES });
        }
        let payload = &bytes[HEADER_LEN..];
        let present = payload.len() as u64;
        if present < len {
            // Cannot overflow: `len` is at most MAX_PAYLOAD_BYTES.
            return Err(ModelError::Truncated { expected: HEADER_LEN as u64 + len, actual: bytes.len() as u64 });
        }
        if present > len {
            return Err(ModelError::Corrupt(format!("{} bytes after the payload", present - len)));
        }
        let digest = Sha256::digest(payload);
        if digest.as_slice() != &bytes[20..52] {
            return Err(ModelError::Corrupt("checksum mismatch (the file was altered or damaged)".into()));
        }
        let corrupt = |e: postcard::Error| ModelError::Corrupt(format!("payload does not decode: {e}"));
        let data: ModelData = match version {
            1 => postcard::from_bytes::<v1::ModelData>(payload).map_err(corrupt)?.into(),
            2 => postcard::from_bytes(payload).map_err(corrupt)?,
            3 => {
                let (mut data, rest) = postcard::take_from_bytes::<ModelData>(payload).map_err(corrupt)?;
                data.adaptation = Some(postcard::from_bytes::<v3::Adaptation>(rest).map_err(corrupt)?.into());
                data
            }
            4 => {
                let (mut data, rest) = postcard::take_from_bytes::<ModelData>(payload).map_err(corrupt)?;
                data.adaptation = Some(postcard::from_bytes(rest).map_err(corrupt)?);
                data
            }
            5 => {
                let (mut data, rest) = postcard::take_from_bytes::<ModelData>(payload).map_err(corrupt)?;
                let (ext, rest) = postcard::take_from_bytes::<Extensions>(rest).map_err(corrupt)?;
                data.features.typed = ext.typed_tokens;
                data.adaptation = postcard::from_bytes::<Option<Adaptation>>(rest).map_err(corrupt)?;
                data
            }
            6 => {
                let (mut data, rest) = postcard::take_from_bytes::<ModelData>(payload).map_err(corrupt)?;
                let (ext, rest) = postcard::take_from_bytes::<Extensions>(rest).map_err(corrupt)?;
                data.features.typed = ext.typed_tokens;
                let (mut adaptation, rest) = postcard::take_from_bytes::<Adaptation>(rest).map_err(corrupt)?;
                adaptation.calibrations = postcard::from_bytes(rest).map_err(corrupt)?;
                data.adaptation = Some(adaptation);
                data
            }
            _ => {
                let (mut data, rest) = postcard::take_from_bytes::<ModelData>(payload).map_err(corrupt)?;
                let (ext, rest) = postcard::take_from_bytes::<Extensions>(rest).map_err(corrupt)?;
                data.features.typed = ext.typed_tokens;
                let (slopes, rest) = postcard::take_from_bytes::<Vec<f64>>(rest).map_err(corrupt)?;
                data.slopes = slopes;
                let (adaptation, rest) = postcard::take_from_bytes::<Option<Adaptation>>(rest).map_err(corrupt)?;
                let (mut calibrations, rest) =
                    postcard::take_from_bytes::<Vec<HeadCalibration>>(rest).map_err(corrupt)?;
                // One value per per-head threshold (formats 8 and 9).
                let per_head = |rest, what: &str| -> Result<(Vec<f64>, &[u8]), ModelError> {
                    let (values, rest) = postcard::take_from_bytes::<Vec<f64>>(rest).map_err(corrupt)?;
                    if values.len() != calibrations.len() {
                        return Err(ModelError::Corrupt(format!(
                            "{} {what} for {} per-head thresholds",
                            values.len(),
                            calibrations.len()
                        )));
                    }
                    Ok((values, rest))
                };
                let (below, rest) =
                    if version >= 8 { per_head(rest, "slopes below review")? } else { (Vec::new(), rest) };
                let (above, rest) =
                    if version >= 9 { per_head(rest, "slopes above hold")? } else { (Vec::new(), rest) };
                if version == 8 && (below.iter().all(|&b| b == 1.0) || adaptation.is_none()) {
                    return Err(ModelError::Corrupt(
                        "format 8 without a slope below review (this build writes such a model as format 7)".into(),
                    ));
                }
                if version >= 9 && (above.iter().all(|&a| a == 1.0) || adaptation.is_none()) {
                    return Err(ModelError::Corrupt(
                        "format 9 without a slope above hold (this build writes such a model as format 7 or 8)".into(),
                    ));
                }
                calibrations.iter_mut().zip(below).for_each(|(c, b)| c.below_review = b);
                calibrations.iter_mut().zip(above).for_each(|(c, a)| c.above_hold = a);
                if !rest.is_empty() {
                    return Err(ModelError::Corrupt(format!("{} bytes after the calibration", rest.len())));
                }
                data.adaptation = adaptation.map(|mut a: Adaptation| {
                    a.calibrations = calibrations;
                    a
                });
                data
            }
        };
        if (3..=4).contains(&version) && data.adaptation.is_none() {
            return Err(ModelError::Corrupt(format!("format {version} without an adaptation")));
        }
        Model::new(data, &hex(&digest[..6]))
    }

    /// Builds a model from its data, checking it is consistent.
    pub fn from_data(data: ModelData) -> Result<Model, Error> {
        let digest = Sha256::digest(payload(&data).1);
        Ok(Model::new(data, &hex(&digest[..6]))?)
    }

    fn new(data: ModelData, digest: &str) -> Result<Model, ModelError> {
        let invalid = |m: String| Err(ModelError::Invalid(m));
        data.features.validate().map_err(ModelError::Invalid)?;
        let k = data.columns.len();
        if k > MAX_COLUMNS {
            return invalid(format!("{k} columns (at most {MAX_COLUMNS})"));
        }
        if data.grams.len() != k {
            return invalid(format!("{} n-grams for {k} columns", data.grams.len()));
        }
        if data.columns.windows(2).any(|w| w[0] >= w[1]) {
            return invalid("columns are not strictly ascending".into());
        }
        if data.columns.last().is_some_and(|&c| c as usize >= data.features.buckets()) {
            return invalid("a column is outside the hash space".into());
        }
        if data.heads.is_empty() || data.heads.len() > 4 {
            return invalid(format!("{} heads (1 to 4 expected)", data.heads.len()));
        }
        if !data.slopes.is_empty() && data.slopes.len() != data.heads.len() {
            return invalid(format!("{} calibration slopes for {} heads", data.slopes.len(), data.heads.len()));
        }
        if let Some(bad) = data.slopes.iter().find(|v| !(MIN_SLOPE..=MAX_SLOPE).contains(*v)) {
            return invalid(format!("calibration slope {bad} outside {MIN_SLOPE}..={MAX_SLOPE}"));
        }
        let mut signals = Vec::with_capacity(data.signal_features.len());
        for name in &data.signal_features {
            signals.push(
                SignalFeature::from_name(name)
                    .ok_or_else(|| ModelError::Invalid(format!("unknown signal feature `{name}`")))?,
            );
        }
        if signals.len() > MAX_SIGNAL_FEATURES {
            return invalid(format!("{} signal features (at most {})", signals.len(), MAX_SIGNAL_FEATURES));
        }
        let h = data.heads.len();
        let mut weights = vec![0f32; k * h];
        let mut rules = Vec::with_capacity(h);
        for (i, head) in data.heads.iter().enumerate() {
            let name = head.category.as_str();
            if data.heads[..i].iter().any(|o| o.category == head.category) {
                return invalid(format!("two heads for {name}"));
            }
            if head.text_weights.len() != k || head.text_coefs.len() != h || head.signal_coefs.len() != signals.len() {
                return invalid(format!("head {name} has the wrong number of weights"));
            }
            let finite = head.text_weights.iter().all(|w| w.is_finite())
                && head.text_coefs.iter().chain(&head.signal_coefs).all(|w| w.is_finite())
                && head.intercept.is_finite()
                && head.rules.iter().all(|r| r.weight.is_finite())
                && (0.0..=1.0).contains(&head.threshold)
                && head.text_floor.is_none_or(|f| f.is_finite() && f >= 0.0);
            if !finite {
                return invalid(format!("head {name} has a weight that is not a finite number"));
            }
            for (c, w) in head.text_weights.iter().enumerate() {
                weights[c * h + i] = *w;
            }
            rules.push(head.rules.iter().map(|r| (r.id.clone(), (r.content_hash.clone(), r.weight))).collect());
        }
        let mut column_of = vec![NO_COLUMN; data.features.buckets()];
        for (i, &b) in data.columns.iter().enumerate() {
            column_of[b as usize] = i as u16;
        }
        let adapted = match &data.adaptation {
            Some(a) => {
                let mut adapted = Adapted::new(a, &data)?;
                adapted.join(&column_of, &weights, h);
                Some(adapted)
            }
            None => None,
        };
        let version = format!("{}@{}", data.name, digest);
        Ok(Model { data, version, column_of, weights, signals, rules, adapted })
    }

    /// Encodes the model as file bytes. The same model always encodes to
    /// the same bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(&self.data)
    }

    /// Writes the model file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        std::fs::write(path, self.to_bytes()).map_err(|source| Error::Io { path: path.to_path_buf(), source })
    }

    /// `name@digest`, reported in every verdict.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The model's contents.
    pub fn data(&self) -> &ModelData {
        &self.data
    }

    /// The categories the model has heads for, in head order.
    pub fn categories(&self) -> impl Iterator<Item = Category> + '_ {
        self.data.heads.iter().map(|h| h.category)
    }

    /// The calibration slope of a category's log-odds (1 without a head
    /// for it, or without slopes): see [`ModelData::slopes`].
    pub fn slope(&self, category: Category) -> f64 {
        let i = self.data.heads.iter().position(|h| h.category == category);
        i.and_then(|i| self.data.slopes.get(i)).copied().unwrap_or(1.0)
    }

    /// The head for a category.
    pub fn head(&self, category: Category) -> Option<&Head> {
        self.data.heads.iter().find(|h| h.category == category)
    }

    /// The text scores of a post's normalized title and body.
    pub fn text_scores(&self, texts: &[&str]) -> TextScores {
        let h = self.data.heads.len();
        let k = self.data.columns.len();
        let mut out = TextScores::default();
        SEEN.with(|seen| {
            let mut seen = seen.borrow_mut();
            let (stamp, marks) = &mut *seen;
            let needed = k + self.adapted.as_ref().map_or(0, |a| a.weights.len() / h.max(1));
            if marks.len() < needed {
                marks.resize(needed, 0);
            }
            *stamp = stamp.wrapping_add(1);
            if *stamp == 0 {
                marks.iter_mut().for_each(|m| *m = 0);
                *stamp = 1;
            }
            let stamp = *stamp;
            let mut sums = [0f32; 4];
            let mut n = 0u32;
            let mut adapted = [0f32; 4];
            let mut m = 0u32;
            // Adds a column's weights once per post (`marks` holds the
            // stamp of the posts that already counted it).
            #[inline(always)]
            fn add(marks: &mut [u32], at: usize, stamp: u32, weights: &[f32], h: usize, sums: &mut [f32; 4]) -> u32 {
                if marks[at] == stamp {
                    return 0;
                }
                marks[at] = stamp;
                let col = at;
                for (s, w) in sums.iter_mut().zip(&weights[col * h..col * h + h]) {
                    *s += *w;
                }
                1
            }
            match &self.adapted {
                // The shipped model's path: one bucket map.
                None => {
                    for text in texts {
                        self.data.features.for_each_bucket(text, |bucket| {
                            let col = self.column_of[bucket as usize];
                            if col != NO_COLUMN {
                                n += add(marks, col as usize, stamp, &self.weights, h, &mut sums);
                            }
                        });
                    }
                }
                // An adapted model: one map for both column sets, so a
                // bucket in neither costs what it costs without adaptation.
                Some(a) if h <= 2 => {
                    let both = a.walk(&self.data.features, texts, &a.joint2, marks, stamp, (&mut n, &mut m));
                    sums[..2].copy_from_slice(&both[..2]);
                    adapted[..2].copy_from_slice(&both[2..]);
                }
                Some(a) => {
                    let both = a.walk(&self.data.features, texts, &a.joint4, marks, stamp, (&mut n, &mut m));
                    sums.copy_from_slice(&both[..4]);
                    adapted.copy_from_slice(&both[4..]);
                }
            }
            let norm = f64::from(n.max(1)).sqrt();
            for (score, sum) in out.scores.iter_mut().zip(&sums).take(h) {
                *score = f64::from(*sum) / norm;
            }
            let norm = f64::from(m.max(1)).sqrt();
            for (score, sum) in out.adapted.iter_mut().zip(&adapted).take(h) {
                *score = f64::from(*sum) / norm;
            }
            out.columns = n;
            out.adapted_columns = m;
        });
        out
    }

    /// The n-grams of a post that pushed one head's text score up most,
    /// as written in the post's normalized text, strongest first (allocates;
    /// called only to explain flagged posts).
    pub fn top_grams<'t>(&self, texts: &[&'t str], category: Category, count: usize) -> Vec<(&'t str, f32)> {
        self.strongest(&self.grams_of(texts), category, count, &self.column_of, &self.weights)
    }

    /// Every n-gram of `texts` with its bucket, in order: read once to
    /// explain every signal of a post.
    fn grams_of<'t>(&self, texts: &[&'t str]) -> Vec<(u32, &'t str)> {
        let mut grams = Vec::new();
        for text in texts {
            self.data.features.for_each(text, |bucket, gram| grams.push((bucket, gram)));
        }
        grams
    }

    /// The `count` n-grams among `grams` whose columns (`column_of`) weigh
    /// most for `category` in `weights` (interleaved by head), positive only.
    fn strongest<'t>(
        &self,
        grams: &[(u32, &'t str)],
        category: Category,
        count: usize,
        column_of: &[u16],
        weights: &[f32],
    ) -> Vec<(&'t str, f32)> {
        let Some(head) = self.data.heads.iter().position(|h| h.category == category) else { return Vec::new() };
        let h = self.data.heads.len();
        let mut found: Vec<(u16, &'t str)> = grams
            .iter()
            .filter_map(|&(bucket, gram)| {
                let col = column_of[bucket as usize];
                (col != NO_COLUMN).then_some((col, gram))
            })
            .collect();
        // One entry per column: its first occurrence in the post.
        found.sort_by_key(|&(c, _)| c);
        found.dedup_by_key(|&mut (c, _)| c);
        let mut scored: Vec<(&'t str, f32)> =
            found.into_iter().map(|(c, g)| (g, weights[c as usize * h + head])).filter(|s| s.1 > 0.0).collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        scored.truncate(count);
        scored
    }

    /// The dense signal features of a post, in model order.
    pub(crate) fn signal_values(&self, analysis: &Analysis<'_>, out: &mut [f64]) {
        let stats = TextStats::of(analysis);
        for (o, s) in out.iter_mut().zip(&self.signals) {
            *o = s.value_with(analysis, &stats);
        }
    }

    /// The number of signal features.
    pub(crate) fn signal_count(&self) -> usize {
        self.signals.len()
    }

    /// A rule's fitted weight, if the rule is unchanged since fitting.
    pub(crate) fn fitted_weight(&self, head: usize, id: &str, content_hash: &str) -> Option<f64> {
        let (hash, w) = self.rules[head].get(id)?;
        (hash == content_hash).then_some(*w)
    }

    /// Whether the model fitted a weight for this rule id (in any version).
    pub(crate) fn knows_rule(&self, head: usize, id: &str) -> bool {
        self.rules[head].contains_key(id)
    }
}

/// Most signal features any model may use (the stack array in
/// [`Model::signals`]).
pub(crate) const MAX_SIGNAL_FEATURES: usize = 32;

/// The normalized title and body, as the model reads them.
fn model_texts<'a>(analysis: &'a Analysis<'_>) -> [&'a str; 2] {
    let mut texts = [""; 2];
    for (t, f) in texts.iter_mut().zip(&analysis.fields) {
        *t = f.norm.text.as_str();
    }
    texts
}

impl Model {
    /// The `classifier.<category>` signals: each head's stacked text and
    /// signal-feature contributions, relative to the default prior (so a
    /// forum's own prior still shifts the score).
    /// `knots`: per category (by index), the log-odds from the default
    /// prior under which the forum has no threshold (see
    /// [`HeadCalibration::below_review`]); `hold_knots`: above which it has
    /// none left but reject (see [`HeadCalibration::above_hold`]).
    ///
    /// Returns, per category whose adapted signal's weight includes its
    /// slope above hold (the score only), the weight without it, which
    /// decisions are taken on: bit for bit the weight the signal would have
    /// without a slope above hold.
    pub(crate) fn signals(
        &self,
        analysis: &Analysis<'_>,
        knots: &[f64; 4],
        hold_knots: &[f64; 4],
        out: &mut Vec<Signal>,
    ) -> [Option<f64>; 4] {
        let mut deciding = [None; 4];
        let texts = model_texts(analysis);
        let text = self.text_scores(&texts);
        let mut values = [0.0; MAX_SIGNAL_FEATURES];
        let values = &mut values[..self.signal_count()];
        self.signal_values(analysis, values);
        // Which categories a rule or built-in signal already raised.
        let mut raised = [false; 4];
        for s in out.iter().filter(|s| s.weight > 0.0) {
            raised[s.category.index()] = true;
        }
        for (i, head) in self.data().heads.iter().enumerate() {
            let raw: f64 = head.text_coefs.iter().zip(&text.scores).map(|(c, s)| c * s).sum();
            let floor = head.text_floor.filter(|_| raised[head.category.index()]);
            let t = floor.map_or(raw, |f| raw.max(-f));
            let f: f64 = head.signal_coefs.iter().zip(values.iter()).map(|(c, v)| c * v).sum();
            let base = head.intercept - DEFAULT_PRIOR;
            // The calibration: the category's log-odds so far (prior, rules,
            // signals) and this head's, times the slope; this signal
            // carries the difference.
            let slope = self.data.slopes.get(i).copied().unwrap_or(1.0);
            // Summed only for a slope or an adaptation, which need it.
            let before = if slope != 1.0 || self.adapted.is_some() {
                DEFAULT_PRIOR + out.iter().filter(|s| s.category == head.category).map(|s| s.weight).sum::<f64>()
            } else {
                0.0
            };
            let own = if slope == 1.0 { t + f + base } else { slope * (before + t + f + base) - before };
            let mut description = String::with_capacity(96);
            description.push_str("Statistical model for ");
            description.push_str(head.category.as_str());
            description.push_str(": text n-grams ");
            push_fixed2(&mut description, t, true);
            if t > raw {
                description.push_str(" (bounded; unbounded ");
                push_fixed2(&mut description, raw, true);
                description.push(')');
            }
            description.push_str(", post features ");
            push_fixed2(&mut description, f, true);
            description.push_str(", baseline ");
            push_fixed2(&mut description, base, true);
            if slope != 1.0 {
                description.push_str(", calibration ×");
                push_fixed2(&mut description, slope, false);
                description.push_str(" (");
                push_fixed2(&mut description, own - (t + f + base), true);
                description.push(')');
            }
            let adapted = self.adapted.as_ref().map(|a| {
                // The forum's words may not cancel a fired rule either.
                let forum_raw = text.adapted[i];
                let forum = floor.map_or(forum_raw, |f| forum_raw.max(-f));
                let mut named: Vec<(&str, f64)> = out
                    .iter()
                    .filter(|s| s.weight > 0.0 && s.category == head.category)
                    .filter_map(|s| a.evidence[i].get(&s.id).map(|w| (s.id.as_str(), *w)))
                    .collect();
                named.sort_by(|x, y| y.1.abs().total_cmp(&x.1.abs()).then_with(|| x.0.cmp(y.0)));
                let e: f64 = named.iter().map(|(_, w)| w).sum();
                // The base's log-odds so far: the prior, rules, signals and
                // this head's model signal.
                let z = before + own;
                let scaled = a.scale[i] * z;
                // Where a rule or signal of this category fired, the forum's
                // words, scale and baseline may raise the post but not lower
                // it: only the weights the forum's decisions gave that very
                // evidence may (the base's knowledge is not forgotten).
                // The forum's thresholds: the adapted log-odds (the base's
                // and this signal's) × slope + offset.
                let (slope, offset) = (a.slope[i], a.offset[i]);
                let raw_weight = slope * (z + forum + scaled + a.bias[i]) + offset - z;
                // Under the review threshold, a head the forum never taught
                // may score further under it (never across it).
                let (below, knot) = (a.below[i], knots[head.category.index()]);
                let raw_weight = if below != 1.0 && z + raw_weight < knot {
                    knot + below * (z + raw_weight - knot) - z
                } else {
                    raw_weight
                };
                let e = slope * e;
                // Above the forum's hold threshold, the calibrated line
                // (evidence weights included) of a taught head with a slope
                // under 1, or of an untaught one with a slope over 1, goes on
                // at the base's slope: the score only, the engine decides
                // without it. A floor where evidence fired is the base's own
                // score, on the base's slope already: it stays a floor.
                let (above, hold_knot) = (a.above[i], hold_knots[head.category.index()]);
                let calibrated = z + raw_weight + e;
                let lift = if above != 1.0 && !a.lower_only && calibrated > hold_knot {
                    (calibrated - hold_knot) * (above - 1.0)
                } else {
                    0.0
                };
                let floored = raised[head.category.index()];
                let unstretched = if floored { raw_weight.max(0.0) } else { raw_weight };
                let weight = if floored { (raw_weight + lift).max(0.0) } else { raw_weight + lift };
                let stretch = weight - unstretched;
                let kept = weight > raw_weight + lift;
                let (weight, lower_only) = if a.lower_only && weight + e > 0.0 { (-e, true) } else { (weight, false) };
                if stretch != 0.0 {
                    deciding[head.category.index()] = Some(unstretched + e);
                }
                let labels = self.data.adaptation.as_ref().map_or(0, |d| d.labels);
                let d = &mut String::with_capacity(160);
                d.push_str("Adapted to this forum (");
                push_u64(d, u64::from(labels));
                if a.adapted[i] {
                    d.push_str(" moderator labels): its n-grams ");
                    push_fixed2(d, forum, true);
                    d.push_str(", base ×");
                    push_fixed2(d, 1.0 + a.scale[i], false);
                    d.push_str(" (");
                    push_fixed2(d, scaled, true);
                    d.push_str("), baseline ");
                    push_fixed2(d, a.bias[i], true);
                    if slope != 1.0 || offset != 0.0 {
                        d.push_str(", forum thresholds ×");
                        push_fixed2(d, slope, false);
                        d.push(' ');
                        push_fixed2(d, offset, true);
                    }
                    if kept {
                        d.push_str(" (kept at 0: evidence fired; ");
                        push_fixed2(d, raw_weight, true);
                        d.push(')');
                    }
                    d.push_str(", evidence ");
                    push_fixed2(d, e, true);
                    for (n, (id, w)) in named.iter().take(3).enumerate() {
                        d.push_str(if n == 0 { " (" } else { ", " });
                        d.push_str(id);
                        d.push(' ');
                        push_fixed2(d, *w, true);
                    }
                    if !named.is_empty() {
                        d.push(')');
                    }
                    if lower_only {
                        d.push_str(" (may only lower: too few approved posts among the labels)");
                    }
                } else {
                    d.push_str(" moderator labels, none for ");
                    d.push_str(head.category.as_str());
                    if slope == 1.0 && offset == 0.0 {
                        d.push_str("): the base's thresholds");
                    } else {
                        d.push_str("): thresholds ×");
                        push_fixed2(d, slope, false);
                        d.push(' ');
                        push_fixed2(d, offset, true);
                    }
                }
                if below != 1.0 {
                    d.push_str("; under the review threshold ×");
                    push_fixed2(d, below, false);
                    d.push_str(" further under (this forum's removals)");
                }
                if stretch != 0.0 {
                    d.push_str("; above the hold threshold ×");
                    push_fixed2(d, above, false);
                    d.push_str(" the distance, the base's slope (");
                    push_fixed2(d, stretch, true);
                    d.push_str(", the score only: decided without it)");
                }
                let description = std::mem::take(d);
                Signal {
                    id: format!("adapted.{}", head.category.as_str()),
                    category: head.category,
                    weight: weight + e,
                    description,
                    spans: Vec::new(),
                }
            });
            out.push(Signal {
                id: format!("classifier.{}", head.category.as_str()),
                category: head.category,
                weight: own,
                description,
                spans: Vec::new(),
            });
            out.extend(adapted);
        }
        deciding
    }

    /// Names the words and phrases of the post behind a classifier signal
    /// that pushed a flagged post up, most decisive first, as the post
    /// wrote them, and marks them as the signal's spans. Done only for posts
    /// that are not allowed: moderators read these, and the ranking costs
    /// more than the score itself.
    pub(crate) fn explain(&self, analysis: &Analysis<'_>, signals: &mut [Signal]) {
        // Never quote a leaked secret: words under an exposure span are left out.
        let secret: Vec<(Field, Range<usize>)> = signals
            .iter()
            .filter(|s| s.category == Category::Exposure)
            .flat_map(|s| s.spans.iter().map(|sp| (sp.field, sp.start..sp.end)))
            .collect();
        let mut read: Option<Vec<GramAt>> = None;
        for s in signals.iter_mut().filter(|s| s.weight > 0.0) {
            let (column_of, weights) = if s.id.starts_with("classifier.") {
                (&self.column_of, &self.weights)
            } else if let (true, Some(a)) = (s.id.starts_with("adapted."), &self.adapted) {
                (&a.column_of, &a.weights)
            } else {
                continue;
            };
            let grams = read.get_or_insert_with(|| self.grams_at(analysis));
            let words = self.decisive(analysis, grams, s.category, column_of, weights, &secret, EXPLAINED_WORDS);
            for (n, w) in words.into_iter().enumerate() {
                s.description.push_str(if n == 0 { "; strongest words \"" } else { ", \"" });
                push_collapsed(&mut s.description, &w.shown);
                s.description.push('"');
                s.spans.extend(w.span);
            }
        }
    }

    /// Every n-gram of the post's normalized fields with its bucket and
    /// position: read once to explain every signal of a post.
    fn grams_at(&self, analysis: &Analysis<'_>) -> Vec<GramAt> {
        let mut out = Vec::new();
        for (field, f) in analysis.fields.iter().enumerate().take(2) {
            let text = f.norm.text.as_str();
            let base = text.as_ptr() as usize;
            self.data.features.for_each(text, |bucket, gram| {
                // Grams are slices of `text` (an empty one may not be).
                let start = (gram.as_ptr() as usize).wrapping_sub(base);
                if !gram.is_empty() && start.checked_add(gram.len()).is_some_and(|end| end <= text.len()) {
                    out.push(GramAt {
                        field: field as u8,
                        bucket,
                        start: start as u32,
                        end: (start + gram.len()) as u32,
                    });
                }
            });
        }
        out
    }

    /// The `count` words or phrases of the post whose n-grams pushed
    /// `category` up most (`column_of` and `weights` as in
    /// [`Model::strongest`]), most decisive first, distinct: the n-grams
    /// of positive weight (each column once, where it first occurs) merged
    /// where they overlap or touch, widened to whole words, and ranked by
    /// their summed weight. A run of more than [`MAX_PHRASE_WORDS`] words
    /// or [`MAX_SHOWN_BYTES`] bytes is split into its words; a word longer
    /// than that is not named.
    #[allow(clippy::too_many_arguments)]
    fn decisive(
        &self,
        analysis: &Analysis<'_>,
        grams: &[GramAt],
        category: Category,
        column_of: &[u16],
        weights: &[f32],
        secret: &[(Field, Range<usize>)],
        count: usize,
    ) -> Vec<Decisive> {
        let Some(head) = self.data.heads.iter().position(|h| h.category == category) else { return Vec::new() };
        let h = self.data.heads.len();
        let mut seen = std::collections::HashSet::new();
        let mut found: Vec<(GramAt, f32)> = grams
            .iter()
            .filter_map(|g| {
                let col = column_of[g.bucket as usize];
                if col == NO_COLUMN || !seen.insert(col) {
                    return None;
                }
                let w = weights[col as usize * h + head];
                (w > 0.0).then_some((*g, w))
            })
            .collect();
        found.sort_unstable_by_key(|(g, _)| (g.field, g.start, g.end));
        let texts = model_texts(analysis);
        // Runs of overlapping or touching grams, widened to whole words.
        let mut runs: Vec<Piece> = Vec::new();
        let mut i = 0;
        while i < found.len() {
            let (first, _) = found[i];
            let mut run =
                Piece { field: first.field, start: first.start as usize, end: first.end as usize, weight: 0.0 };
            let from = i;
            while i < found.len() && found[i].0.field == run.field && found[i].0.start as usize <= run.end {
                run.end = run.end.max(found[i].0.end as usize);
                run.weight += found[i].1;
                i += 1;
            }
            let text = texts[usize::from(run.field)];
            let Some((start, end)) = whole_words(text, run.start, run.end) else { continue };
            (run.start, run.end) = (start, end);
            if end - start <= MAX_SHOWN_BYTES && text[start..end].split_whitespace().nth(MAX_PHRASE_WORDS).is_none() {
                push_merged(&mut runs, run);
                continue;
            }
            // Too long to be a phrase: its words, each weighted by the
            // grams centred in it.
            let mut words: Vec<Piece> = Vec::new();
            let mut at = start;
            for word in text[start..end].split_whitespace() {
                let s = at + text[at..].find(word).unwrap_or(0);
                at = s + word.len();
                if let Some((s, e)) = whole_words(text, s, at).filter(|(s, e)| e - s <= MAX_SHOWN_BYTES) {
                    words.push(Piece { field: run.field, start: s, end: e, weight: 0.0 });
                }
            }
            for (g, w) in &found[from..i] {
                let mid = (g.start as usize + g.end as usize) / 2;
                let k = words.partition_point(|p| p.end <= mid);
                if let Some(p) = words.get_mut(k).filter(|p| p.start <= mid) {
                    p.weight += w;
                }
            }
            for p in words.into_iter().filter(|p| p.weight > 0.0) {
                push_merged(&mut runs, p);
            }
        }
        runs.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| (a.field, a.start).cmp(&(b.field, b.start))));
        let mut out: Vec<Decisive> = Vec::with_capacity(count);
        let mut chosen: Vec<&str> = Vec::with_capacity(count);
        for p in runs {
            if out.len() == count {
                break;
            }
            let norm = &texts[usize::from(p.field)][p.start..p.end];
            if chosen.contains(&norm) {
                continue;
            }
            let field = &analysis.fields[usize::from(p.field)];
            let orig = field.norm.text.origin(p.start..p.end);
            if secret
                .iter()
                .any(|(f, r)| *f == field.field && r.start < orig.end.max(orig.start + 1) && orig.start < r.end)
            {
                continue;
            }
            let source = match field.field {
                Field::Title => analysis.post.title.as_deref(),
                Field::Body => Some(analysis.post.body.as_str()),
                Field::AuthorName => None,
            };
            let written = source.and_then(|t| t.get(orig.clone())).filter(|w| !w.trim().is_empty());
            // The post as written, unless markup or an expansion made it
            // much longer than the word itself.
            let shown = written.filter(|w| w.len() <= 4 * norm.len() + 16).unwrap_or(norm);
            chosen.push(norm);
            out.push(Decisive {
                shown: shown.to_string(),
                weight: p.weight,
                span: written.map(|w| Span {
                    field: field.field,
                    start: orig.start,
                    end: orig.end,
                    text: w.to_string(),
                }),
            });
        }
        out
    }
}

/// Words or phrases a flagged post's explanation names per signal.
const EXPLAINED_WORDS: usize = 5;
/// A run of decisive n-grams longer than this many words is named word by
/// word.
const MAX_PHRASE_WORDS: usize = 4;
/// A word or phrase longer than this (bytes of the normalized text) is not
/// named: widening a run to whole words looks no further, so a post of one
/// endless "word" costs linear time.
const MAX_SHOWN_BYTES: usize = 100;

/// One n-gram of a normalized field: its bucket and byte range.
#[derive(Debug, Clone, Copy)]
struct GramAt {
    field: u8,
    bucket: u32,
    start: u32,
    end: u32,
}

/// A stretch of a normalized field and the weight of the n-grams in it.
#[derive(Debug, Clone, Copy)]
struct Piece {
    field: u8,
    start: usize,
    end: usize,
    weight: f32,
}

/// A word or phrase an explanation names.
#[derive(Debug)]
struct Decisive {
    /// As the post wrote it (else as normalized).
    shown: String,
    /// The summed weight of its n-grams.
    #[allow(dead_code)]
    weight: f32,
    /// Where the post wrote it, when that maps back.
    span: Option<Span>,
}

/// Adds `p` to `runs` (in text order), merged into the last one when they
/// overlap.
fn push_merged(runs: &mut Vec<Piece>, p: Piece) {
    if let Some(last) = runs.last_mut()
        && last.field == p.field
        && p.start < last.end
        && last.start < p.end
    {
        last.start = last.start.min(p.start);
        last.end = last.end.max(p.end);
        last.weight += p.weight;
        return;
    }
    runs.push(p);
}

/// `text[start..end]` widened to whole words of spaced scripts (runs of
/// non-space characters; characters of unspaced scripts are their own
/// words) and trimmed of spaces and punctuation at either end. `None` when
/// nothing is left or a word runs on for more than [`MAX_SHOWN_BYTES`]
/// beyond either end (so widening costs at most that).
fn whole_words(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let inner = text.get(start..end)?;
    let mut start = start + (inner.len() - inner.trim_start().len());
    let mut end = start + inner.trim().len();
    if start >= end {
        return None;
    }
    let widen = |c: char| !c.is_whitespace() && !unspaced(c);
    let (low, high) = (start.saturating_sub(MAX_SHOWN_BYTES), end + MAX_SHOWN_BYTES);
    if text[start..].chars().next().is_some_and(widen) {
        while let Some(c) = text[..start].chars().next_back().filter(|&c| widen(c)) {
            if start <= low {
                return None;
            }
            start -= c.len_utf8();
        }
    }
    if text[..end].chars().next_back().is_some_and(widen) {
        while let Some(c) = text[end..].chars().next().filter(|&c| widen(c)) {
            if end >= high {
                return None;
            }
            end += c.len_utf8();
        }
    }
    let first = |c: char| c.is_alphanumeric() || matches!(c, '@' | '#' | '$' | '€' | '£' | '¥');
    while let Some(c) = text[start..end].chars().next().filter(|&c| !first(c)) {
        start += c.len_utf8();
    }
    while let Some(c) = text[start..end].chars().next_back().filter(|&c| !c.is_alphanumeric()) {
        end -= c.len_utf8();
    }
    (start < end).then_some((start, end))
}

/// Appends `s` with every run of whitespace or control characters as one
/// space.
fn push_collapsed(out: &mut String, s: &str) {
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
}

/// Encodes model data as file bytes.
pub(crate) fn encode(data: &ModelData) -> Vec<u8> {
    let (version, payload) = payload(data);
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(&payload);
    out
}

/// The format version and payload of model data: format 2, or format 4
/// with the adaptation after the rest; with typed tokens, format 5 (the
/// extensions, then the adaptation if there is one); with an adaptation
/// whose thresholds are per head, format 6 (the extensions, the
/// adaptation, then its per-head thresholds); with calibration slopes,
/// format 7 (the extensions, the slopes, the optional adaptation, then its
/// per-head thresholds); with a head compressed below review, format 8
/// (format 7, then each per-head threshold's slope below review); with a
/// head on the base's slope above hold, format 9 (format 8's layout, then each
/// per-head threshold's slope above hold).
fn payload(data: &ModelData) -> (u32, Vec<u8>) {
    // Encoding plain data into a Vec cannot fail.
    let mut payload = postcard::to_allocvec(data).expect("model data encodes");
    let ext = Extensions { typed_tokens: data.features.typed };
    let calibrations: &[HeadCalibration] = data.adaptation.as_ref().map_or(&[], |a| &a.calibrations);
    let compressed = calibrations.iter().any(|c| c.below_review != 1.0);
    let stretched = calibrations.iter().any(|c| c.above_hold != 1.0);
    if !data.slopes.is_empty() || compressed || stretched {
        payload.extend(postcard::to_allocvec(&ext).expect("extensions encode"));
        payload.extend(postcard::to_allocvec(&data.slopes).expect("slopes encode"));
        payload.extend(postcard::to_allocvec(&data.adaptation).expect("adaptation encodes"));
        payload.extend(postcard::to_allocvec(calibrations).expect("thresholds encode"));
        if !compressed && !stretched {
            return (SLOPES_FORMAT, payload);
        }
        let below: Vec<f64> = calibrations.iter().map(|c| c.below_review).collect();
        payload.extend(postcard::to_allocvec(&below).expect("slopes below review encode"));
        if !stretched {
            return (BELOW_REVIEW_FORMAT, payload);
        }
        let above: Vec<f64> = calibrations.iter().map(|c| c.above_hold).collect();
        payload.extend(postcard::to_allocvec(&above).expect("slopes above hold encode"));
        return (FORMAT_VERSION, payload);
    }
    if let Some(a) = data.adaptation.as_ref().filter(|a| !a.calibrations.is_empty()) {
        payload.extend(postcard::to_allocvec(&ext).expect("extensions encode"));
        payload.extend(postcard::to_allocvec(a).expect("adaptation encodes"));
        payload.extend(postcard::to_allocvec(&a.calibrations).expect("thresholds encode"));
        return (HEAD_THRESHOLDS_FORMAT, payload);
    }
    if data.features.typed {
        payload.extend(postcard::to_allocvec(&ext).expect("extensions encode"));
        payload.extend(postcard::to_allocvec(&data.adaptation).expect("adaptation encodes"));
        return (TYPED_FORMAT, payload);
    }
    match &data.adaptation {
        Some(a) => {
            payload.extend(postcard::to_allocvec(a).expect("adaptation encodes"));
            (ADAPTED_FORMAT, payload)
        }
        None => (PLAIN_FORMAT, payload),
    }
}

/// A dense feature the stacker reads from the analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SignalFeature {
    /// 1 when the extractor found this signal.
    Has(SignalKind),
    /// ln(1 + external links).
    ExternalLinks,
    /// Share of capitals among letters (0 under 8 letters).
    CapsRatio,
    /// Share of digits among all characters.
    DigitRatio,
}

impl SignalFeature {
    /// The features a newly trained model uses.
    pub(crate) fn all() -> Vec<SignalFeature> {
        let mut out: Vec<SignalFeature> = SignalKind::ALL
            .iter()
            // Host signals added after the shipped model was fitted are not
            // features yet: adding them changes every trained model (#12).
            .filter(|k| {
                !matches!(
                    k,
                    SignalKind::LossyUtf16
                        | SignalKind::ExternalLink
                        | SignalKind::LookalikeLure
                        | SignalKind::LookalikeFeed
                )
            })
            .map(|k| SignalFeature::Has(*k))
            .collect();
        // No length feature: the public sets are SMS (160 characters), where
        // length separates spam from chatter; on a forum it would only mean
        // "long posts are spam". Measured: it made a short benign Japanese
        // withdrawal question a review case.
        out.extend([SignalFeature::ExternalLinks, SignalFeature::CapsRatio, SignalFeature::DigitRatio]);
        out
    }

    /// Signals that mark an evasion or deception trick: the stacker may
    /// not give them a negative weight.
    #[cfg(feature = "train")]
    pub(crate) fn is_trick(&self) -> bool {
        matches!(
            self,
            SignalFeature::Has(
                SignalKind::DefangedLink
                    | SignalKind::MixedScript
                    | SignalKind::IdnLink
                    | SignalKind::LookalikeDomain
                    | SignalKind::AnchorMismatch
                    | SignalKind::Evasion
                    | SignalKind::Shortener
                    | SignalKind::AuthorImpersonation
            )
        )
    }

    pub(crate) fn name(&self) -> String {
        match self {
            SignalFeature::Has(k) => format!("signal.{}", k.as_str()),
            SignalFeature::ExternalLinks => "links.external".into(),
            SignalFeature::CapsRatio => "text.caps_ratio".into(),
            SignalFeature::DigitRatio => "text.digit_ratio".into(),
        }
    }

    fn from_name(name: &str) -> Option<SignalFeature> {
        SignalFeature::all().into_iter().find(|f| f.name() == name)
    }

    /// The feature's value (training computes them one at a time).
    #[cfg(feature = "train")]
    pub(crate) fn value(&self, a: &Analysis<'_>) -> f64 {
        self.value_with(a, &TextStats::of(a))
    }

    fn value_with(&self, a: &Analysis<'_>, t: &TextStats) -> f64 {
        match self {
            SignalFeature::Has(k) => f64::from(u8::from(!a.signal(*k).is_empty())),
            SignalFeature::ExternalLinks => (a.signal(SignalKind::ExternalLink).len() as f64).ln_1p(),
            SignalFeature::CapsRatio if t.letters >= 8 => f64::from(t.caps) / f64::from(t.letters),
            SignalFeature::CapsRatio => 0.0,
            SignalFeature::DigitRatio => f64::from(t.digits) / f64::from(t.chars.max(1)),
        }
    }
}

/// Character counts of the visible title and body, in one pass.
struct TextStats {
    letters: u32,
    caps: u32,
    digits: u32,
    chars: u32,
}

impl TextStats {
    fn of(a: &Analysis<'_>) -> TextStats {
        let mut t = TextStats { letters: 0, caps: 0, digits: 0, chars: 0 };
        for f in &a.fields {
            for c in f.raw.as_str().chars() {
                t.chars += 1;
                if c.is_ascii_digit() {
                    t.digits += 1;
                } else if c.is_ascii() {
                    t.letters += u32::from(c.is_ascii_alphabetic());
                    t.caps += u32::from(c.is_ascii_uppercase());
                } else if crate::classifier::features::unspaced(c) {
                    // Kana, kanji, Thai: letters without case (and no
                    // table lookups on the hot path).
                    t.letters += 1;
                } else if c.is_alphabetic() {
                    t.letters += 1;
                    t.caps += u32::from(c.is_uppercase());
                }
            }
        }
        t
    }
}

/// Format 3's adaptation: the same as format 4's without the slope.
mod v3 {
    use serde::Deserialize;

    use super::AdaptedHead;

    #[derive(Deserialize)]
    pub(super) struct Adaptation {
        base: String,
        labels: u32,
        data_digest: String,
        columns: Vec<u32>,
        grams: Vec<String>,
        offset: f64,
        thresholds: String,
        lower_only: bool,
        heads: Vec<AdaptedHead>,
    }

    impl From<Adaptation> for super::Adaptation {
        fn from(a: Adaptation) -> Self {
            super::Adaptation {
                base: a.base,
                labels: a.labels,
                data_digest: a.data_digest,
                columns: a.columns,
                grams: a.grams,
                offset: a.offset,
                thresholds: a.thresholds,
                lower_only: a.lower_only,
                heads: a.heads,
                slope: 1.0,
                calibrations: Vec::new(),
            }
        }
    }
}

/// Format 1's payload: the same as format 2 without the heads' text floor.
mod v1 {
    use serde::Deserialize;

    use super::{Combined, FeatureConfig, FittedRule, HeadMetrics, TrainingInfo};
    use crate::vocab::Category;

    #[derive(Deserialize)]
    pub(super) struct Head {
        category: Category,
        text_weights: Vec<f32>,
        intercept: f64,
        text_coefs: Vec<f64>,
        signal_coefs: Vec<f64>,
        rules: Vec<FittedRule>,
        threshold: f64,
        metrics: HeadMetrics,
    }

    #[derive(Deserialize)]
    pub(super) struct ModelData {
        name: String,
        created_by: String,
        features: FeatureConfig,
        columns: Vec<u32>,
        grams: Vec<String>,
        signal_features: Vec<String>,
        heads: Vec<Head>,
        unwanted: Option<Combined>,
        training: TrainingInfo,
    }

    impl From<ModelData> for super::ModelData {
        fn from(d: ModelData) -> Self {
            super::ModelData {
                name: d.name,
                created_by: d.created_by,
                features: d.features,
                columns: d.columns,
                grams: d.grams,
                signal_features: d.signal_features,
                heads: d
                    .heads
                    .into_iter()
                    .map(|h| super::Head {
                        category: h.category,
                        text_weights: h.text_weights,
                        intercept: h.intercept,
                        text_coefs: h.text_coefs,
                        signal_coefs: h.signal_coefs,
                        rules: h.rules,
                        threshold: h.threshold,
                        metrics: h.metrics,
                        text_floor: None,
                    })
                    .collect(),
                unwanted: d.unwanted,
                training: d.training,
                adaptation: None,
                slopes: Vec::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `text[start..end]` starts and ends between words.
    fn at_word_edges(text: &str, start: usize, end: usize) -> bool {
        let word = |c: char| c.is_alphanumeric() || c == '_';
        !text[..start].chars().next_back().is_some_and(word) && !text[end..].chars().next().is_some_and(word)
    }

    #[test]
    fn explanations_name_whole_words_of_the_post_most_decisive_first() {
        let model = Model::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model")).unwrap();
        let engine = crate::Engine::builder().model(std::sync::Arc::new(model)).build().unwrap();
        let model = engine.model().unwrap();
        let body = "Official support here: DM me on Telegram @binance_help_desk to recover your funds. \
                    Wallet RECOVERY service, claim the free airdrop now!";
        let mut post = crate::Post::new("x", body);
        post.title = Some("Urgent: airdrop recovery".into());
        let analysis = Analysis::with_feeds(&post, &engine.compiled(None).settings, engine.feeds());
        let grams = model.grams_at(&analysis);
        for category in model.categories() {
            let words = model.decisive(&analysis, &grams, category, &model.column_of, &model.weights, &[], 5);
            assert!(!words.is_empty(), "{category:?}");
            assert!(words.len() <= 5);
            assert!(words.windows(2).all(|w| w[0].weight >= w[1].weight), "{words:?}");
            for (i, w) in words.iter().enumerate() {
                assert!(w.weight > 0.0, "{w:?}");
                assert!(words[..i].iter().all(|o| o.shown.to_lowercase() != w.shown.to_lowercase()), "{words:?}");
                let span = w.span.as_ref().expect("plain text maps back");
                let field = if span.field == Field::Title { post.title.as_deref().unwrap() } else { body };
                assert_eq!(&field[span.start..span.end], span.text);
                assert_eq!(w.shown, span.text, "plain text is shown as written");
                assert!(at_word_edges(field, span.start, span.end), "{:?} is a fragment", span.text);
            }
        }
    }

    #[test]
    fn whole_words_widen_runs_and_trim_punctuation() {
        let t = "dm me on telegram @binance_help_desk, now";
        let at = |s: &str| t.find(s).unwrap();
        // A character 4-gram across a word edge: both whole words.
        let (s, e) = whole_words(t, at("am @"), at("am @") + 4).unwrap();
        assert_eq!(&t[s..e], "telegram @binance_help_desk");
        let (s, e) = whole_words(t, at("ce_h"), at("ce_h") + 4).unwrap();
        assert_eq!(&t[s..e], "@binance_help_desk");
        let (s, e) = whole_words(t, at("sk, "), at("sk, ") + 4).unwrap();
        assert_eq!(&t[s..e], "@binance_help_desk");
        // Spaces and punctuation alone name nothing.
        assert_eq!(whole_words(t, at(", ") + 1, at(", ") + 2), None);
        assert_eq!(whole_words("now !!! ok", 4, 7), None);
        // Unspaced scripts are not widened.
        let j = "無料でサポート";
        assert_eq!(whole_words(j, 9, 15), Some((9, 15)));
        // An endless word is not named, and costs no more than the bound.
        let long = "x".repeat(10_000);
        assert_eq!(whole_words(&long, 5000, 5004), None);
    }

    /// Format 1 wrote the same payload without the heads' text floor.
    #[derive(Serialize)]
    struct HeadV1<'a> {
        category: Category,
        text_weights: &'a [f32],
        intercept: f64,
        text_coefs: &'a [f64],
        signal_coefs: &'a [f64],
        rules: &'a [FittedRule],
        threshold: f64,
        metrics: &'a HeadMetrics,
    }

    #[derive(Serialize)]
    struct DataV1<'a> {
        name: &'a str,
        created_by: &'a str,
        features: FeatureConfig,
        columns: &'a [u32],
        grams: &'a [String],
        signal_features: &'a [String],
        heads: Vec<HeadV1<'a>>,
        unwanted: &'a Option<Combined>,
        training: &'a TrainingInfo,
    }

    #[test]
    fn a_format_1_file_still_loads_without_a_text_floor() {
        let data = ModelData {
            name: "old".into(),
            created_by: "test".into(),
            // Format 1 predates typed tokens.
            features: FeatureConfig { typed: false, ..FeatureConfig::default() },
            columns: vec![3, 17, 900],
            grams: vec!["a".into(), "b".into(), "c".into()],
            signal_features: vec![],
            heads: vec![Head {
                category: Category::Spam,
                text_weights: vec![0.5, -1.0, 2.0],
                intercept: -2.0,
                text_coefs: vec![1.5],
                signal_coefs: vec![],
                rules: vec![],
                threshold: 0.4,
                metrics: HeadMetrics::default(),
                text_floor: None,
            }],
            unwanted: None,
            training: TrainingInfo::default(),
            adaptation: None,
            slopes: Vec::new(),
        };
        let v1 = DataV1 {
            name: &data.name,
            created_by: &data.created_by,
            features: data.features,
            columns: &data.columns,
            grams: &data.grams,
            signal_features: &data.signal_features,
            heads: data
                .heads
                .iter()
                .map(|h| HeadV1 {
                    category: h.category,
                    text_weights: &h.text_weights,
                    intercept: h.intercept,
                    text_coefs: &h.text_coefs,
                    signal_coefs: &h.signal_coefs,
                    rules: &h.rules,
                    threshold: h.threshold,
                    metrics: &h.metrics,
                })
                .collect(),
            unwanted: &data.unwanted,
            training: &data.training,
        };
        let payload = postcard::to_allocvec(&v1).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&Sha256::digest(&payload));
        bytes.extend_from_slice(&payload);
        let loaded = Model::from_bytes(&bytes).unwrap();
        assert_eq!(loaded.data(), &data);
        // Written back, it is format 2, and reads the same.
        let again = Model::from_bytes(&loaded.to_bytes()).unwrap();
        assert_eq!(again.data(), &data);
        assert_eq!(u32::from_le_bytes(loaded.to_bytes()[8..12].try_into().unwrap()), PLAIN_FORMAT);
    }
}
