//! Training a [`Model`] (behind the `train` cargo feature).
//!
//! The pipeline, all of it deterministic for a given seed and data:
//!
//! 1. **Analyse** every post once with the engine (normalization, signals,
//!    the rules of the default layers), keeping its normalized text, the
//!    rules it fired and its dense signal features.
//! 2. **Select buckets**: count, per hashed bucket, the labelled posts of
//!    each class containing it, and keep the `columns` buckets with the
//!    highest chi² for any head (seen in at least `min_df` posts, and in
//!    posts of at least `min_sources` sources). The
//!    selected buckets become the model's column map: nothing of size
//!    documents × 2^bits is ever built.
//! 3. **Text model** per head and per fold ([`TextLearner`]): binarized
//!    multinomial naive Bayes from weighted counts (our own: linfa-bayes
//!    0.8.1's `fit_with` needs dense batches and prints its whole model to
//!    stderr on every call; a unit test checks our ratios against it), or
//!    logistic regression on the same unit-length binary rows by AdaGrad SGD
//!    over sparse rows, one thread in a seeded order. Each example's
//!    [`Example::weight`] lets a caller balance sources.
//! 4. **Stack** with linfa-logistic, per head, on out-of-fold text scores,
//!    signal features, the sum of the hand-set weights of the fired rules
//!    of that category and one column per rule that fired: the rule's fitted
//!    weight is `scale × hand-set weight + its own coefficient`, so a rule
//!    the data says little about keeps (a scaled) hand-set weight rather
//!    than being shrunk to nothing.
//! 5. **Choose thresholds and measure** on out-of-fold stacked
//!    probabilities of the training side (F1-optimal threshold, PR-AUC,
//!    Brier score): the test side is never looked at. The thresholds a new
//!    forum needs come from leave-one-source-out instead (`moderation
//!    transfer` in `moderation-lab`), which also scales the text part and
//!    shifts the intercepts of the shipped model.

use std::collections::HashMap;

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use sha2::{Digest, Sha256};

use crate::classifier::evaluation;
use crate::classifier::features::FeatureConfig;
use crate::classifier::model::{
    Combined, FittedRule, Head, HeadMetrics, Model, ModelData, SignalFeature, TrainingInfo,
};
use crate::engine::Engine;
use crate::error::{Error, TrainingError};
use crate::fingerprint::{GOLDEN, splitmix};
use crate::vocab::Category;

pub use crate::post::Example;

/// Training settings. The defaults are what the shipped model uses.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Model name (the part of the version before `@`).
    pub name: String,
    /// Categories to train a head for.
    pub heads: Vec<Category>,
    /// How text becomes buckets.
    pub features: FeatureConfig,
    /// Buckets to keep (≤ 65,535).
    pub columns: usize,
    /// A bucket must occur in at least this many labelled posts.
    pub min_df: u32,
    /// … and in posts of at least this many sources ([`Example::group`];
    /// 1: any; more than the examples have counts as all of them). An
    /// n-gram only one source uses is that source's style more than a sign
    /// of spam, and does not carry to a forum none of them came from
    /// (leave-one-source-out over the shared datasets with 2: macro F1 /
    /// PR-AUC 0.204 / 0.643 → 0.221 / 0.647). Groups are told apart modulo
    /// 64.
    pub min_sources: u32,
    /// Naive-Bayes additive smoothing.
    pub alpha: f64,
    /// L2 penalty of the stackers.
    pub l2: f64,
    /// Cross-validation folds (≥ 2).
    pub folds: u32,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// One fold per source ([`Example::group`]) instead of `folds` random
    /// ones, when the examples come from at least two sources: the stacker
    /// then learns how far to trust each text score on a source the text
    /// model never saw, which is what a new forum is.
    pub folds_by_source: bool,
    /// Threads for the analysis pass (results do not depend on it).
    pub threads: usize,
    /// The text model fitted on the selected n-gram columns.
    pub learner: TextLearner,
    /// At most how far the text model may lower a head's log-odds on a post
    /// where a rule of that category fired (`None`: unbounded). Words that
    /// merely look legitimate then cannot cancel a fired rule.
    pub text_floor: Option<f64>,
    /// Logistic text model: per head, a share of naive Bayes' log-likelihood
    /// ratios added to the fitted weights (each side scaled to the logistic
    /// weights' root mean square first). Still one weight per column, so
    /// the model file and the hot path do not change. Naive Bayes ranks a
    /// platform it never saw better where spam is told by its words alone
    /// (SMS spam held out: PR-AUC 0.41 → 0.61 with 0.5 on the spam head);
    /// the logistic model keeps the ranking where it knows the genre.
    pub naive_bayes_share: Vec<(Category, f64)>,
}

/// How the per-column text weights are fitted. Both score a post the same
/// way at inference (the sum of its distinct columns' weights over the
/// square root of their number), so the model file and the hot path do not
/// depend on the choice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TextLearner {
    /// Binarized multinomial naive Bayes: log-likelihood ratios from counts.
    NaiveBayes,
    /// Logistic regression on the same L2-normalized binary vectors, fitted
    /// by AdaGrad SGD over sparse rows (no documents × columns matrix),
    /// with a per-example weight and an L2 penalty on the touched weights.
    Logistic {
        /// Passes over the data (each in a seeded order).
        epochs: u32,
        /// L2 penalty per update.
        l2: f64,
        /// AdaGrad base learning rate.
        rate: f64,
    },
    /// fastText-style: a `dim`-dimensional embedding per column, the post's
    /// vector their sum over √n, a linear output, trained by plain SGD with
    /// a linearly decaying learning rate and no penalty (fastText's recipe).
    /// With one output per head the result is linear in the columns, so
    /// it is collapsed to one weight per column (embedding · output) and
    /// scores on the same hot path as the others.
    Embedding {
        /// Embedding dimensions.
        dim: u32,
        /// Passes over the data (each in a seeded order).
        epochs: u32,
        /// Starting learning rate (falls linearly to 0).
        rate: f64,
    },
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            name: "model".into(),
            heads: vec![Category::Spam, Category::Scam],
            features: FeatureConfig::default(),
            columns: 60_000,
            min_df: 2,
            min_sources: 1,
            alpha: 0.05,
            l2: 0.01,
            folds: 5,
            seed: 1,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            learner: TextLearner::NaiveBayes,
            text_floor: None,
            folds_by_source: false,
            naive_bayes_share: Vec::new(),
        }
    }
}

/// Receives progress; the CLI draws a bar with it.
pub trait Progress: Sync {
    /// A new stage of `total` steps begins.
    fn stage(&self, name: &str, total: u64);
    /// `n` more steps are done.
    fn advance(&self, n: u64);
}

/// No progress output.
impl Progress for () {
    fn stage(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// What the engine saw in one post.
struct Row {
    /// Normalized title and body, featurized separately as at inference.
    texts: Vec<String>,
    /// Indices into `Engine::rules()` of the rules that fired.
    rules: Vec<u32>,
    signals: Vec<f64>,
    fold: u32,
}

/// Trains a model on `examples`, using `engine`'s default layers for rule
/// hits (use an engine without a model). `sources` is provenance for the
/// model file.
pub fn train(
    engine: &Engine,
    examples: &[Example],
    sources: &[(String, u32)],
    config: &TrainConfig,
    progress: &dyn Progress,
) -> Result<Model, Error> {
    validate(examples, config)?;
    // The sources, numbered in order of first appearance (source folds,
    // and how many sources a column may be asked to occur in).
    let mut groups: Vec<u32> = Vec::new();
    for e in examples {
        if !groups.contains(&e.group) {
            groups.push(e.group);
        }
    }
    let by_source = config.folds_by_source && groups.len() >= 2;
    let config = &TrainConfig { folds: if by_source { groups.len() as u32 } else { config.folds }, ..config.clone() };
    let heads = &config.heads;
    let features = SignalFeature::all();
    let rule_index: HashMap<&str, u32> =
        engine.rules().iter().enumerate().map(|(i, r)| (r.id.as_str(), i as u32)).collect();

    // 1. Analysis (parallel; each chunk keeps its order).
    progress.stage("analysing posts", examples.len() as u64);
    let chunk = examples.len().div_ceil(config.threads.max(1)).max(1);
    let rows: Vec<Row> = std::thread::scope(|s| {
        let handles: Vec<_> = examples
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let (features, rule_index, groups) = (&features, &rule_index, &groups);
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, ex)| {
                            let row = engine.inspect(&ex.post, |a, fired| Row {
                                texts: a.fields.iter().map(|f| f.norm.text.as_str().to_string()).collect(),
                                rules: fired.iter().filter_map(|r| rule_index.get(r.id.as_str()).copied()).collect(),
                                signals: features.iter().map(|f| f.value(a)).collect(),
                                fold: if by_source {
                                    groups.iter().position(|&g| g == ex.group).unwrap_or(0) as u32
                                } else {
                                    fold_of(config.seed, (c * chunk + i) as u64, config.folds)
                                },
                            });
                            progress.advance(1);
                            row
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });

    let labels: Vec<Vec<Option<bool>>> = heads.iter().map(|&c| examples.iter().map(|e| e.label(c)).collect()).collect();

    // 2. Bucket selection by chi².
    progress.stage("selecting n-grams", rows.len() as u64);
    let buckets = config.features.buckets();
    let mut df = vec![[0u32; 2]; buckets * heads.len()];
    let mut seen = vec![u32::MAX; buckets];
    // Per bucket, the sources of the posts containing it (one bit per
    // source, modulo 64), when more than one is asked for and there are.
    let min_sources = config.min_sources.min(groups.len().min(64) as u32);
    let mut sources_of = if min_sources > 1 { vec![0u64; buckets] } else { Vec::new() };
    for (i, row) in rows.iter().enumerate() {
        for text in &row.texts {
            config.features.for_each_bucket(text, |b| {
                if seen[b as usize] != i as u32 {
                    seen[b as usize] = i as u32;
                    if let Some(m) = sources_of.get_mut(b as usize) {
                        *m |= 1 << (examples[i].group % 64);
                    }
                    for (h, l) in labels.iter().enumerate() {
                        if let Some(y) = l[i] {
                            df[b as usize * heads.len() + h][usize::from(y)] += 1;
                        }
                    }
                }
            });
        }
        progress.advance(1);
    }
    let sourced = |b: usize| sources_of.get(b).is_none_or(|m| m.count_ones() >= min_sources);
    let columns = select(&df, &labels, config, sourced);
    let k = columns.len();

    // 3. Per-post column lists (CSR), n-gram names and per-fold counts.
    progress.stage("counting", rows.len() as u64);
    let mut column_of = vec![u32::MAX; buckets];
    for (i, &b) in columns.iter().enumerate() {
        column_of[b as usize] = i as u32;
    }
    let mut grams = vec![String::new(); k];
    let mut offsets = vec![0usize];
    let mut cols: Vec<u16> = Vec::new();
    let folds = config.folds as usize;
    // counts[((fold * heads + h) * 2 + y) * k + col]
    let mut counts = vec![0f64; folds * heads.len() * 2 * k];
    let mut marks = vec![u32::MAX; k];
    for (i, row) in rows.iter().enumerate() {
        let start = cols.len();
        for text in &row.texts {
            config.features.for_each(text, |b, gram| {
                let c = column_of[b as usize];
                if c != u32::MAX && marks[c as usize] != i as u32 {
                    marks[c as usize] = i as u32;
                    cols.push(c as u16);
                    if grams[c as usize].is_empty() {
                        grams[c as usize] = gram.to_string();
                    }
                }
            });
        }
        cols[start..].sort_unstable();
        offsets.push(cols.len());
        for (h, l) in labels.iter().enumerate() {
            if let Some(y) = l[i] {
                let base = ((row.fold as usize * heads.len() + h) * 2 + usize::from(y)) * k;
                for &c in &cols[start..] {
                    counts[base + c as usize] += examples[i].weight;
                }
            }
        }
        progress.advance(1);
    }
    let sparse = SparseRows { offsets: &offsets, cols: &cols };

    // Text weights per column from all folds except `skip` (None: all folds).
    let naive_bayes = |h: usize, skip: Option<usize>| -> Vec<f64> {
        let mut c = [vec![0f64; k], vec![0f64; k]];
        for f in (0..folds).filter(|&f| Some(f) != skip) {
            for (y, cy) in c.iter_mut().enumerate() {
                let base = ((f * heads.len() + h) * 2 + y) * k;
                for (a, &b) in cy.iter_mut().zip(&counts[base..base + k]) {
                    *a += b;
                }
            }
        }
        nb_ratios(&c[0], &c[1], config.alpha)
    };
    let text_weights = |h: usize, skip: Option<usize>| -> Vec<f64> {
        match config.learner {
            TextLearner::NaiveBayes => naive_bayes(h, skip),
            TextLearner::Logistic { epochs, l2, rate } => {
                let members: Vec<usize> = (0..rows.len())
                    .filter(|&i| labels[h][i].is_some() && Some(rows[i].fold as usize) != skip)
                    .collect();
                let mut w = sgd_logistic(&sparse, &members, &labels[h], examples, k, epochs, l2, rate, config.seed);
                let share = config.naive_bayes_share.iter().find(|(c, _)| *c == heads[h]).map_or(0.0, |s| s.1);
                if share > 0.0 {
                    blend(&mut w, &naive_bayes(h, skip), share);
                }
                w
            }
            TextLearner::Embedding { dim, epochs, rate } => {
                let members: Vec<usize> = (0..rows.len())
                    .filter(|&i| labels[h][i].is_some() && Some(rows[i].fold as usize) != skip)
                    .collect();
                sgd_embedding(&sparse, &members, &labels[h], examples, k, (dim, epochs, rate), config.seed)
            }
        }
    };
    let text_score = |ratios: &[f64], cols: &[u16]| -> f64 {
        let sum: f64 = cols.iter().map(|&c| ratios[c as usize]).sum();
        sum / (cols.len().max(1) as f64).sqrt()
    };

    // Out-of-fold text scores for every post and head.
    progress.stage("cross-validating", (folds * heads.len()) as u64);
    let mut oof = vec![vec![0.0; rows.len()]; heads.len()];
    for (h, scores) in oof.iter_mut().enumerate() {
        for f in 0..folds {
            let ratios = text_weights(h, Some(f));
            for (i, row) in rows.iter().enumerate() {
                if row.fold as usize == f {
                    scores[i] = text_score(&ratios, sparse.row(i));
                }
            }
            progress.advance(1);
        }
    }

    // 4. Stackers.
    progress.stage("fitting rule weights", heads.len() as u64 * (u64::from(config.folds) + 1));
    let rules = engine.rules();
    let mut out_heads = Vec::with_capacity(heads.len());
    let mut stacked = vec![vec![0.0; rows.len()]; heads.len()];
    for (h, &category) in heads.iter().enumerate() {
        let members: Vec<usize> = (0..rows.len()).filter(|&i| labels[h][i].is_some()).collect();
        let y: Vec<bool> = members.iter().map(|&i| labels[h][i] == Some(true)).collect();
        // Rules of this category that fired on a labelled post get a column.
        let mut hits = vec![0u32; rules.len()];
        for &i in &members {
            for &r in &rows[i].rules {
                hits[r as usize] += 1;
            }
        }
        let own: Vec<u32> = (0..rules.len() as u32)
            .filter(|&r| rules[r as usize].category == category && hits[r as usize] > 0)
            .collect();
        let width = heads.len() + features.len() + 1 + own.len();
        let design = |i: usize| -> Vec<f64> {
            let row = &rows[i];
            let mut x = Vec::with_capacity(width);
            x.extend(oof.iter().map(|s| s[i]));
            x.extend(&row.signals);
            let hand: f64 = row
                .rules
                .iter()
                .map(|&r| &rules[r as usize])
                .filter(|r| r.category == category)
                .map(|r| r.weight)
                .sum();
            x.push(hand);
            x.extend(own.iter().map(|r| if row.rules.contains(r) { RULE_COLUMN } else { 0.0 }));
            x
        };
        let matrix: Vec<Vec<f64>> = (0..rows.len()).map(design).collect();
        let non_negative: Vec<usize> =
            features.iter().enumerate().filter(|(_, f)| f.is_trick()).map(|(i, _)| heads.len() + i).collect();

        // The constrained fit on every labelled post decides which trick
        // columns are dropped; the cross-validation folds then fit on the
        // same columns (one fit each: the active-set loop on 100,000 posts
        // per fold would be most of the training time).
        // Weighted sources, for a stacker that takes no weights: each post is
        // kept with probability weight / largest weight (a seeded draw), so
        // every source weighs in the fit as the caller asked.
        let top = members.iter().map(|&i| examples[i].weight).fold(0.0, f64::max);
        let fit_members: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| examples[i].weight >= top || unit_draw(config.seed, i as u64) < examples[i].weight / top)
            .collect();
        let (fitted, dropped) = fit_constrained(&matrix, &labels[h], &fit_members, config.l2, &non_negative)?;
        let mut matrix = matrix;
        for row in &mut matrix {
            dropped.iter().for_each(|&c| row[c] = 0.0);
        }

        // Out-of-fold stacked probabilities for every post (labelled for
        // this head or not, for the combined "unwanted" figures).
        let probs = &mut stacked[h];
        for f in 0..config.folds {
            let fit_idx: Vec<usize> = fit_members.iter().copied().filter(|&i| rows[i].fold != f).collect();
            let fold_fit = fit_logistic(&matrix, &labels[h], &fit_idx, config.l2)?;
            for (i, p) in probs.iter_mut().enumerate() {
                if rows[i].fold == f {
                    let raised = rows[i].rules.iter().any(|&r| rules[r as usize].category == category);
                    *p = fold_fit.probability_floored(&matrix[i], heads.len(), config.text_floor.filter(|_| raised));
                }
            }
            progress.advance(1);
        }
        let member_probs: Vec<f64> = members.iter().map(|&i| probs[i]).collect();
        let (threshold, head_metrics) = measure(&member_probs, &y);
        progress.advance(1);
        let coefs = &fitted.coefs;
        let scale = coefs[heads.len() + features.len()];
        let rule_coef: HashMap<u32, f64> = own
            .iter()
            .enumerate()
            .map(|(j, &r)| (r, RULE_COLUMN * coefs[heads.len() + features.len() + 1 + j]))
            .collect();
        // A rule that never fired on a labelled post was not fitted: it keeps
        // its hand-set weight, and its verdicts say so.
        let fitted_rules = rules
            .iter()
            .enumerate()
            .filter(|(i, r)| r.category == category && hits[*i] > 0)
            .map(|(i, r)| FittedRule {
                id: r.id.clone(),
                content_hash: r.content_hash.clone(),
                hand_weight: r.weight,
                weight: round6(keep_sign(
                    r.weight,
                    scale * r.weight + rule_coef.get(&(i as u32)).copied().unwrap_or(0.0),
                )),
                hits: hits[i],
            })
            .collect();
        out_heads.push(Head {
            category,
            text_weights: text_weights(h, None).iter().map(|&w| w as f32).collect(),
            intercept: round6(fitted.intercept),
            text_coefs: coefs[..heads.len()].iter().map(|&c| round6(c)).collect(),
            signal_coefs: coefs[heads.len()..heads.len() + features.len()].iter().map(|&c| round6(c)).collect(),
            rules: fitted_rules,
            threshold: round6(threshold.clamp(0.0, 1.0)),
            metrics: head_metrics,
            text_floor: config.text_floor,
        });
    }

    // Unwanted (any head positive) versus not, scored by the highest head.
    let unwanted = (heads.len() > 1).then(|| {
        let (mut p, mut y) = (Vec::new(), Vec::new());
        for i in 0..rows.len() {
            let known: Vec<bool> = labels.iter().filter_map(|l| l[i]).collect();
            if !known.is_empty() {
                y.push(known.iter().any(|&v| v));
                p.push(stacked.iter().map(|s| s[i]).fold(0.0, f64::max));
            }
        }
        let (threshold, metrics) = measure(&p, &y);
        Combined { threshold: round6(threshold.clamp(0.0, 1.0)), metrics }
    });

    let data = ModelData {
        unwanted,
        name: config.name.clone(),
        created_by: format!("moderation-core {}", env!("CARGO_PKG_VERSION")),
        features: config.features,
        columns,
        grams,
        signal_features: features.iter().map(|f| f.name()).collect(),
        heads: out_heads,
        training: TrainingInfo {
            data_digest: data_digest(examples, heads),
            sources: sources.to_vec(),
            seed: config.seed,
            folds: config.folds,
            alpha: config.alpha,
            l2: config.l2,
        },
        adaptation: None,
        slopes: Vec::new(),
    };
    Model::from_data(data)
}

/// The F1-optimal threshold and the figures at it.
fn measure(probs: &[f64], y: &[bool]) -> (f64, HeadMetrics) {
    let (threshold, _) = evaluation::best_f1_threshold(probs, y);
    let conf = evaluation::Confusion::at(probs, y, threshold);
    let m = HeadMetrics {
        examples: y.len() as u32,
        positives: y.iter().filter(|&&v| v).count() as u32,
        f1: round6(conf.f1()),
        precision: round6(conf.precision()),
        recall: round6(conf.recall()),
        pr_auc: round6(evaluation::average_precision(probs, y)),
        brier: round6(evaluation::brier(probs, y)),
    };
    (threshold, m)
}

fn validate(examples: &[Example], config: &TrainConfig) -> Result<(), Error> {
    let fail = |m: String| Err(Error::Training(TrainingError::Config(m)));
    if config.heads.is_empty() || config.heads.len() > 4 {
        return fail("train 1 to 4 categories".into());
    }
    if config.folds < 2 {
        return fail("cross-validation needs at least 2 folds".into());
    }
    if config.columns == 0 || config.columns > u16::MAX as usize {
        return fail(format!("columns must be within 1..={}", u16::MAX));
    }
    config.features.validate().map_err(TrainingError::Config)?;
    if !(config.alpha.is_finite() && config.alpha > 0.0) {
        return fail(format!("naive-Bayes smoothing must be a positive number, not {}", config.alpha));
    }
    if !(config.l2.is_finite() && config.l2 >= 0.0) {
        return fail(format!("the L2 penalty must be a number ≥ 0, not {}", config.l2));
    }
    if let Some(e) = examples.iter().find(|e| !(e.weight.is_finite() && e.weight > 0.0)) {
        return fail(format!("post {}: weight {} is not a positive number", e.post.id, e.weight));
    }
    if let Some(f) = config.text_floor
        && !(f.is_finite() && f >= 0.0)
    {
        return fail(format!("the text floor must be a number ≥ 0, not {f}"));
    }
    if let TextLearner::Logistic { epochs, l2, rate } = config.learner
        && !(epochs >= 1 && l2.is_finite() && l2 >= 0.0 && rate.is_finite() && rate > 0.0)
    {
        return fail(format!("logistic text learner: epochs ≥ 1, l2 ≥ 0, rate > 0 (got {epochs}, {l2}, {rate})"));
    }
    if let TextLearner::Embedding { dim, epochs, rate } = config.learner
        && !((1..=256).contains(&dim) && epochs >= 1 && rate.is_finite() && rate > 0.0)
    {
        return fail(format!(
            "embedding text learner: 1 ≤ dim ≤ 256, epochs ≥ 1, rate > 0 (got {dim}, {epochs}, {rate})"
        ));
    }
    if examples.len() >= u32::MAX as usize {
        return Err(TrainingError::TooManyExamples.into());
    }
    for &c in &config.heads {
        let pos = examples.iter().filter(|e| e.label(c) == Some(true)).count();
        let neg = examples.iter().filter(|e| e.label(c) == Some(false)).count();
        let need = config.folds as usize;
        if pos < need || neg < need {
            return Err(
                TrainingError::TooFewExamples { category: c, positive: pos, negative: neg, needed: need }.into()
            );
        }
    }
    Ok(())
}

/// Deterministic fold of the `i`-th example (SplitMix64 of seed and index).
fn fold_of(seed: u64, i: u64, folds: u32) -> u32 {
    let z = seed.wrapping_add(i.wrapping_mul(GOLDEN)).wrapping_add(GOLDEN);
    (splitmix(z) % u64::from(folds)) as u32
}

/// The `config.columns` buckets with the highest chi² for any head, among
/// those `sourced` lets through.
fn select(
    df: &[[u32; 2]],
    labels: &[Vec<Option<bool>>],
    config: &TrainConfig,
    sourced: impl Fn(usize) -> bool,
) -> Vec<u32> {
    let heads = labels.len();
    let totals: Vec<[f64; 2]> = labels
        .iter()
        .map(|l| {
            let pos = l.iter().filter(|v| **v == Some(true)).count() as f64;
            let neg = l.iter().filter(|v| **v == Some(false)).count() as f64;
            [neg, pos]
        })
        .collect();
    let mut scored: Vec<(f64, u32)> = (0..df.len() / heads)
        .filter_map(|b| {
            let mut best = f64::NEG_INFINITY;
            let mut support = 0;
            for (h, t) in totals.iter().enumerate() {
                let [neg, pos] = df[b * heads + h];
                support = support.max(neg + pos);
                best = best.max(chi2(f64::from(pos), f64::from(neg), t[1], t[0]));
            }
            (support >= config.min_df && sourced(b)).then_some((best, b as u32))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(config.columns);
    let mut out: Vec<u32> = scored.into_iter().map(|(_, b)| b).collect();
    out.sort_unstable();
    out
}

/// Chi² of a 2×2 table: `a` positives and `b` negatives contain the term,
/// out of `pos` positives and `neg` negatives.
fn chi2(a: f64, b: f64, pos: f64, neg: f64) -> f64 {
    let (c, d) = (pos - a, neg - b);
    let n = pos + neg;
    let den = (a + c) * (b + d) * (a + b) * (c + d);
    if den == 0.0 { 0.0 } else { n * (a * d - b * c).powi(2) / den }
}

/// Multinomial naive-Bayes log-likelihood ratio per column, from per-class
/// column counts: ln P(col | positive) − ln P(col | negative).
pub(crate) fn nb_ratios(neg: &[f64], pos: &[f64], alpha: f64) -> Vec<f64> {
    let k = neg.len() as f64;
    let tn = neg.iter().sum::<f64>() + alpha * k;
    let tp = pos.iter().sum::<f64>() + alpha * k;
    neg.iter().zip(pos).map(|(&n, &p)| ((p + alpha) / tp).ln() - ((n + alpha) / tn).ln()).collect()
}

/// Adds `share` of the naive-Bayes ratios `nb` to the logistic weights
/// `w`, the ratios first scaled to the weights' root mean square (the two
/// live on different scales: a ratio is a log-likelihood ratio of one
/// column, a weight is shared with every column of a post).
fn blend(w: &mut [f64], nb: &[f64], share: f64) {
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt();
    let (a, b) = (rms(w), rms(nb));
    if b <= 0.0 {
        return;
    }
    for (x, n) in w.iter_mut().zip(nb) {
        *x += share * n * a / b;
    }
}

/// Each post's distinct selected columns, ascending (CSR).
struct SparseRows<'a> {
    offsets: &'a [usize],
    cols: &'a [u16],
}

impl SparseRows<'_> {
    fn row(&self, i: usize) -> &[u16] {
        &self.cols[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// Weighted logistic regression over L2-normalized binary rows (each
/// present column has value 1/√n), by AdaGrad SGD: `epochs` passes in a
/// seeded order, an unpenalized bias (dropped: the stacker has its own
/// intercept) and an L2 penalty applied to the weights a row touches.
/// Deterministic: one thread, a fixed order, no hashing of pointers.
#[allow(clippy::too_many_arguments)]
fn sgd_logistic(
    rows: &SparseRows<'_>,
    members: &[usize],
    labels: &[Option<bool>],
    examples: &[Example],
    k: usize,
    epochs: u32,
    l2: f64,
    rate: f64,
    seed: u64,
) -> Vec<f64> {
    let mut w = vec![0f64; k];
    let mut g2 = vec![0f64; k];
    let (mut bias, mut bias_g2) = (0f64, 0f64);
    // Weights scaled so the mean weight is 1: the learning rate then means
    // the same whatever the caller's weighting.
    let mean = members.iter().map(|&i| examples[i].weight).sum::<f64>() / members.len().max(1) as f64;
    let mut order = members.to_vec();
    for epoch in 0..epochs {
        shuffle(&mut order, seed, epoch);
        for &i in &order {
            let cols = rows.row(i);
            let v = 1.0 / (cols.len().max(1) as f64).sqrt();
            let z = bias + v * cols.iter().map(|&c| w[c as usize]).sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            let y = if labels[i] == Some(true) { 1.0 } else { 0.0 };
            let g = (p - y) * examples[i].weight / mean;
            bias_g2 += g * g;
            bias -= rate * g / (bias_g2.sqrt() + 1e-12);
            for &c in cols {
                let c = c as usize;
                let grad = g * v + l2 * w[c];
                g2[c] += grad * grad;
                w[c] -= rate * grad / (g2[c].sqrt() + 1e-12);
            }
        }
    }
    w
}

/// The seeded order of an SGD epoch: Fisher–Yates with SplitMix64 draws.
fn shuffle(order: &mut [usize], seed: u64, epoch: u32) {
    let mut state = seed ^ (u64::from(epoch) + 1).wrapping_mul(GOLDEN);
    for j in (1..order.len()).rev() {
        state = state.wrapping_add(GOLDEN);
        order.swap(j, (splitmix(state) % (j as u64 + 1)) as usize);
    }
}

/// The fastText-style text model of [`TextLearner::Embedding`], collapsed
/// to one weight per column. Deterministic: seeded initialization and
/// order, one thread.
fn sgd_embedding(
    rows: &SparseRows<'_>,
    members: &[usize],
    labels: &[Option<bool>],
    examples: &[Example],
    k: usize,
    (dim, epochs, rate): (u32, u32, f64),
    seed: u64,
) -> Vec<f64> {
    let d = dim as usize;
    // Input vectors uniform in ±1/dim, the output at zero (as fastText).
    let mut e: Vec<f64> =
        (0..k * d).map(|i| (unit_draw(seed ^ 0xE4B3_D1A7, i as u64) * 2.0 - 1.0) / d as f64).collect();
    let mut out = vec![0f64; d];
    let mut bias = 0f64;
    let mean = members.iter().map(|&i| examples[i].weight).sum::<f64>() / members.len().max(1) as f64;
    let total = (u64::from(epochs) * members.len() as u64).max(1) as f64;
    let mut step = 0u64;
    let (mut hidden, mut back) = (vec![0f64; d], vec![0f64; d]);
    let mut order = members.to_vec();
    for epoch in 0..epochs {
        shuffle(&mut order, seed, epoch);
        for &i in &order {
            let lr = rate * (1.0 - step as f64 / total);
            step += 1;
            let cols = rows.row(i);
            let v = 1.0 / (cols.len().max(1) as f64).sqrt();
            hidden.iter_mut().for_each(|x| *x = 0.0);
            for &c in cols {
                for (x, w) in hidden.iter_mut().zip(&e[c as usize * d..c as usize * d + d]) {
                    *x += w;
                }
            }
            hidden.iter_mut().for_each(|x| *x *= v);
            let z = bias + hidden.iter().zip(&out).map(|(a, b)| a * b).sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            let y = if labels[i] == Some(true) { 1.0 } else { 0.0 };
            let g = (p - y) * examples[i].weight / mean;
            for ((b, o), x) in back.iter_mut().zip(out.iter_mut()).zip(&hidden) {
                *b = g * *o * v;
                *o -= lr * g * x;
            }
            bias -= lr * g;
            for &c in cols {
                for (w, b) in e[c as usize * d..c as usize * d + d].iter_mut().zip(&back) {
                    *w -= lr * b;
                }
            }
        }
    }
    (0..k).map(|c| e[c * d..c * d + d].iter().zip(&out).map(|(a, b)| a * b).sum()).collect()
}

/// The value a fired rule puts in its own stacker column. Below 1 so the L2
/// penalty pulls a rule's own coefficient harder than the shared ones
/// (×25 here): a rule that fired on a handful of posts keeps about
/// `scale × hand-set weight` instead of an extreme fitted value.
const RULE_COLUMN: f64 = 0.2;

/// A fitted weight never changes the sign its author gave the rule: a scam
/// rule that the data finds useless gets 0 (and the model card lists it for
/// review), never a negative weight a moderator would find absurd.
fn keep_sign(hand: f64, fitted: f64) -> f64 {
    if hand >= 0.0 { fitted.max(0.0) } else { fitted.min(0.0) }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

struct Logistic {
    coefs: Vec<f64>,
    intercept: f64,
}

impl Logistic {
    #[cfg(test)]
    fn probability(&self, x: &[f64]) -> f64 {
        self.probability_floored(x, 0, None)
    }

    /// The probability with the first `text` columns' contribution bounded
    /// below by `-floor`, as [`Model`] scores.
    fn probability_floored(&self, x: &[f64], text: usize, floor: Option<f64>) -> f64 {
        let dot =
            |r: std::ops::Range<usize>| -> f64 { self.coefs[r.clone()].iter().zip(&x[r]).map(|(c, v)| c * v).sum() };
        let t = dot(0..text);
        let t = floor.map_or(t, |f| t.max(-f));
        let z = self.intercept + t + dot(text..self.coefs.len());
        1.0 / (1.0 + (-z).exp())
    }
}

/// A uniform draw in [0, 1) for item `i` (SplitMix64 of seed and index).
fn unit_draw(seed: u64, i: u64) -> f64 {
    let z = (seed ^ 0x5851_f42d_4c95_7f2d).wrapping_add(i.wrapping_mul(GOLDEN));
    (splitmix(z) >> 11) as f64 / (1u64 << 53) as f64
}

/// Fits the stacker with some coefficients constrained to be ≥ 0 (an
/// active-set loop: a constrained column that comes out negative is removed
/// and the rest refitted, until none is). Returns the fit and the columns
/// it removed. Used for the signals that mark a
/// trick — a defanged link, mixed scripts, an IDN or look-alike domain — so
/// that using one can never lower a score, whatever the training data says
/// (in the team corpus defanged links occur only in benign warnings).
fn fit_constrained(
    matrix: &[Vec<f64>],
    y: &[Option<bool>],
    idx: &[usize],
    l2: f64,
    non_negative: &[usize],
) -> Result<(Logistic, Vec<usize>), Error> {
    let mut dropped: Vec<usize> = Vec::new();
    loop {
        let view: Vec<Vec<f64>>;
        let m = if dropped.is_empty() {
            matrix
        } else {
            view = matrix
                .iter()
                .map(|row| {
                    let mut r = row.clone();
                    dropped.iter().for_each(|&c| r[c] = 0.0);
                    r
                })
                .collect();
            &view
        };
        let mut fitted = fit_logistic(m, y, idx, l2)?;
        dropped.iter().for_each(|&c| fitted.coefs[c] = 0.0);
        let wrong: Vec<usize> =
            non_negative.iter().copied().filter(|&c| fitted.coefs[c] < 0.0 && !dropped.contains(&c)).collect();
        if wrong.is_empty() {
            return Ok((fitted, dropped));
        }
        dropped.extend(wrong);
    }
}

/// Fits an L2-penalised logistic regression on the rows `idx` with linfa.
fn fit_logistic(matrix: &[Vec<f64>], y: &[Option<bool>], idx: &[usize], l2: f64) -> Result<Logistic, Error> {
    let width = matrix.first().map_or(0, Vec::len);
    let mut x = Array2::<f64>::zeros((idx.len(), width));
    for (r, &i) in idx.iter().enumerate() {
        for (c, v) in matrix[i].iter().enumerate() {
            x[(r, c)] = *v;
        }
    }
    let targets: Array1<usize> = idx.iter().map(|&i| usize::from(y[i] == Some(true))).collect();
    if targets.iter().all(|&t| t == targets[0]) {
        return Err(TrainingError::OneClassFold.into());
    }
    let dataset = Dataset::new(x, targets);
    let fitted = LogisticRegression::default()
        .alpha(l2)
        .max_iterations(300)
        .fit(&dataset)
        .map_err(|e| TrainingError::Solver(e.to_string()))?;
    // linfa's "positive" class is the more *frequent* label, whichever it
    // is; we want the probability of label 1, so flip the signs when 0 is.
    let sign = if fitted.labels().pos.class == 1 { 1.0 } else { -1.0 };
    Ok(Logistic { coefs: fitted.params().iter().map(|c| sign * c).collect(), intercept: sign * fitted.intercept() })
}

/// SHA-256 over the training texts and labels, in order.
fn data_digest(examples: &[Example], heads: &[Category]) -> String {
    let mut h = Sha256::new();
    for e in examples {
        h.update(e.post.title.as_deref().unwrap_or("").as_bytes());
        h.update([0]);
        h.update(e.post.body.as_bytes());
        h.update([0]);
        h.update(e.weight.to_le_bytes());
        for &c in heads {
            h.update([match e.label(c) {
                None => 2,
                Some(y) => u8::from(y),
            }]);
        }
    }
    crate::text::hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa_bayes::{MultinomialNb, NaiveBayes};

    #[test]
    fn our_naive_bayes_matches_linfa_bayes() {
        // Three columns, counts per class, as dense count rows.
        let x = ndarray::array![[2.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 3.0, 1.0], [0.0, 1.0, 2.0]];
        let y = ndarray::array![1usize, 1, 0, 0];
        let alpha = 0.5;
        let nb = MultinomialNb::params().alpha(alpha).fit(&Dataset::new(x.clone(), y)).unwrap();
        // linfa's joint log-likelihood difference for a one-hot row is the
        // log-ratio of the column plus the prior log-ratio (equal priors here).
        let ours = nb_ratios(&[0.0, 4.0, 3.0], &[3.0, 0.0, 1.0], alpha);
        for col in 0..3 {
            let mut row = Array2::zeros((1, 3));
            row[(0, col)] = 1.0;
            let (p, _) = nb.predict_proba(row.view());
            let linfa_ratio = (p[(0, 1)] / p[(0, 0)]).ln();
            assert!((linfa_ratio - ours[col]).abs() < 1e-9, "col {col}: linfa {linfa_ratio} ours {}", ours[col]);
        }
    }

    #[test]
    fn logistic_probability_matches_linfa_predict() {
        let matrix: Vec<Vec<f64>> = (0..40).map(|i| vec![f64::from(i % 7), f64::from((i * 3) % 5)]).collect();
        let y: Vec<bool> = (0..40).map(|i| i % 7 + (i * 3) % 5 > 5).collect();
        let idx: Vec<usize> = (0..40).collect();
        let labels: Vec<Option<bool>> = y.iter().map(|&v| Some(v)).collect();
        let ours = fit_logistic(&matrix, &labels, &idx, 1.0).unwrap();
        let x = Array2::from_shape_fn((40, 2), |(r, c)| matrix[r][c]);
        let targets: Array1<usize> = y.iter().map(|&v| usize::from(v)).collect();
        let linfa = LogisticRegression::default()
            .alpha(1.0)
            .max_iterations(300)
            .fit(&Dataset::new(x.clone(), targets))
            .unwrap();
        let probs = linfa.predict_probabilities(&x);
        // linfa gives the probability of its "positive" (more frequent)
        // class; ours is always that of label 1.
        let linfa_is_one = linfa.labels().pos.class == 1;
        for (r, row) in matrix.iter().enumerate() {
            let linfa_p1 = if linfa_is_one { probs[r] } else { 1.0 - probs[r] };
            assert!((ours.probability(row) - linfa_p1).abs() < 1e-9);
        }
        // And label 1 is what it predicts: positives score higher on average.
        let mean = |want: bool| {
            let v: Vec<f64> =
                matrix.iter().zip(&y).filter(|(_, l)| **l == want).map(|(m, _)| ours.probability(m)).collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean(true) > mean(false) + 0.3, "{} vs {}", mean(true), mean(false));
    }

    #[test]
    fn the_embedding_learner_separates_classes_and_is_deterministic() {
        // Columns 0–2 mark positives, 3–5 negatives, 6–7 occur in both.
        let mut offsets = vec![0usize];
        let mut cols: Vec<u16> = Vec::new();
        let mut labels = Vec::new();
        for i in 0..60u16 {
            let pos = i % 2 == 0;
            let own = if pos { i % 3 } else { 3 + i % 3 };
            cols.extend([own, 6 + (i / 2) % 2]);
            offsets.push(cols.len());
            labels.push(Some(pos));
        }
        let rows = SparseRows { offsets: &offsets, cols: &cols };
        let examples: Vec<Example> =
            (0..60).map(|i| Example::new(crate::Post::new(format!("p{i}"), "x"), Vec::new())).collect();
        let members: Vec<usize> = (0..60).collect();
        let fit = |seed| sgd_embedding(&rows, &members, &labels, &examples, 8, (8, 20, 0.5), seed);
        let w = fit(7);
        assert!(w[..3].iter().all(|&x| x > 0.2), "positive columns weigh up: {w:?}");
        assert!(w[3..6].iter().all(|&x| x < -0.2), "negative columns weigh down: {w:?}");
        assert!(w[6].abs() < w[0].abs() && w[7].abs() < w[3].abs(), "shared columns weigh less: {w:?}");
        assert_eq!(w, fit(7), "same seed, same weights");
        assert_ne!(w, fit(8), "the seed matters");
    }

    #[test]
    fn folds_are_balanced_and_seeded() {
        let counts = (0..10_000).fold([0u32; 5], |mut acc, i| {
            acc[fold_of(7, i, 5) as usize] += 1;
            acc
        });
        assert!(counts.iter().all(|&c| (1_800..2_200).contains(&c)), "{counts:?}");
        assert_ne!(
            (0..50).map(|i| fold_of(1, i, 5)).collect::<Vec<_>>(),
            (0..50).map(|i| fold_of(2, i, 5)).collect::<Vec<_>>()
        );
    }
}
