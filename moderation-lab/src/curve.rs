//! `moderation curve`: the learning curve of adapting the shipped model to
//! a forum from its moderators' decisions ([`moderation_core::adapt`]).
//!
//! For every source big enough to choose by, the model a forum would install
//! without ever having shared its posts is the leave-one-source-out model of
//! [`crate::transfer`], calibrated on the *other* sources. The source's texts
//! are shuffled (seeded); the first `k` play the forum's moderator decisions
//! and the texts after the first `min(1000, n/2)` are the test set, the same
//! for every `k`. Each row gives F1 at the engine's decision (review or
//! above is "flagged") and PR-AUC of the unwanted score on the test set,
//! for the installed model (`k = 0`) and the model adapted on `k` labels,
//! plus how many of the default pack's fire examples still reach review
//! (what the base knows about crypto scams must not be forgotten). The
//! splits go to a file so that the baselines (`benches/baselines/curve.py`)
//! train in-domain on exactly the same `k` texts.
//!
//! Evaluation-only sources are included: the adapted models are measured
//! and discarded, never written.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use cpu_time::ProcessTime;
use moderation_core::adapt::{AdaptConfig, adapt};
use moderation_core::evaluation::{self, Confusion};
use moderation_core::{Category, Decision, Engine, Example, Model, Post, RuleSet};

use crate::options::{DataArgs, ModelArgs};
use crate::sources::Corpus;
use crate::transfer::Loso;

/// `moderation curve` options.
#[derive(Debug, clap::Args)]
pub struct CurveArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// One JSON line per held-out source, draw and `k`.
    #[arg(long, value_name = "FILE", default_value = "target/transfer/curve.jsonl")]
    pub out: PathBuf,
    /// The ids of every training and test set, for the baselines.
    #[arg(long, value_name = "FILE", default_value = "target/transfer/curve-splits.jsonl")]
    pub splits_out: PathBuf,
    /// Also write the deduplicated corpus as JSON lines (for the baselines).
    #[arg(long, value_name = "FILE")]
    pub corpus_out: Option<PathBuf>,
    /// Labelled posts per forum to adapt on.
    #[arg(long, value_delimiter = ',', default_value = "20,50,200,1000")]
    pub k: Vec<usize>,
    /// Seeds of the shuffle of each source's texts, one draw each: which
    /// texts play the decisions and which are tested. One draw of 50 texts
    /// is noisy (macro F1 at k = 50 was 0.562, 0.707 and 0.661 on seeds 1, 2
    /// and 3), so the table averages the draws, ours and the baselines'
    /// alike; every record and split row names its draw.
    #[arg(long = "shuffle-seed", value_delimiter = ',', default_value = "1,2,3")]
    pub shuffle_seeds: Vec<u64>,
    /// Only these held-out sources (comma-separated names; default: all).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// L2 penalty of the adapted n-gram weights (default: the library's).
    #[arg(long)]
    pub l2_text: Option<f64>,
    /// L2 penalty of the adapted evidence weights.
    #[arg(long)]
    pub l2_evidence: Option<f64>,
    /// L2 penalty of the adapted bias.
    #[arg(long)]
    pub l2_bias: Option<f64>,
    /// L2 penalty of δ, the change of the base's scale.
    #[arg(long)]
    pub l2_scale: Option<f64>,
    /// Fewest approved posts to re-choose thresholds on.
    #[arg(long)]
    pub min_negatives: Option<usize>,
    /// Confidence that the re-chosen thresholds keep the budgets.
    #[arg(long)]
    pub confidence: Option<f64>,
    /// Fewest negative labels of a category for how much of the base to
    /// keep to be chosen out of fold.
    #[arg(long)]
    pub min_negatives_to_choose: Option<usize>,
    /// Combine the base and the forum's words by stacking (true) or by one
    /// joint fit (false) (default: the library's).
    #[arg(long)]
    pub stacked: Option<bool>,
    /// L2 penalty of the stacking combiner.
    #[arg(long)]
    pub l2_combiner: Option<f64>,
    /// When stacking, give each category's combiner a model of every
    /// removed post against the approved ones (true) or only the
    /// category's own model (false) (default: the library's).
    #[arg(long)]
    pub shared_unwanted: Option<bool>,
    /// Folds for out-of-fold scores from `--few-labels` labels up (default: the library's).
    #[arg(long)]
    pub folds: Option<u32>,
    /// Below this many labels, more folds (default: the library's).
    #[arg(long)]
    pub few_labels: Option<usize>,
    /// Most folds below `--few-labels` labels (default: the library's).
    #[arg(long)]
    pub few_labels_folds: Option<u32>,
    /// Naive-Bayes scaling of the forum's n-grams: the smoothing count (`0`:
    /// never scale; default: the library's).
    #[arg(long)]
    pub nb_alpha: Option<f64>,
    /// Fewest labels for the naive-Bayes scaling (default: the library's).
    #[arg(long)]
    pub nb_from_labels: Option<usize>,
    /// The forum's review budget: the share of its approved posts the
    /// adapted thresholds may send to review (default: the library's, 0.05).
    #[arg(long)]
    pub review_budget: Option<f64>,
    /// The forum's hold budget (default: the library's, 0.01).
    #[arg(long)]
    pub hold_budget: Option<f64>,
    /// Slopes tried under the review threshold of a category the labels
    /// did not teach, comma-separated (`1`: never compress; default: the
    /// library's, 1,2,5).
    #[arg(long, value_delimiter = ',')]
    pub below_review: Vec<f64>,
    /// Keep every category's scores above hold on its calibration slope
    /// instead of putting a taught one under slope 1 or an untaught one
    /// over 1 back on the base's slope (for measuring what that buys).
    #[arg(long)]
    pub no_stretch_above_hold: bool,
    /// Keep the installed (leave-one-source-out) models in this folder, one
    /// `<source>.model` each, and reuse them when every one needed is there
    /// (for trying adaptation settings without retraining; delete the folder
    /// when the corpus or the model settings change).
    #[arg(long, value_name = "DIR")]
    pub installed_cache: Option<PathBuf>,
}

/// The largest pool of "decisions" drawn from one source.
const POOL: usize = 1000;

pub fn curve(args: &CurveArgs) -> anyhow::Result<()> {
    check_seeds(&args.shuffle_seeds)?;
    let defaults = AdaptConfig::default();
    let review = args.review_budget.unwrap_or(defaults.review_fpr);
    let mut config = defaults.with_budgets(review, args.hold_budget);
    config.l2_text = args.l2_text.unwrap_or(config.l2_text);
    config.l2_evidence = args.l2_evidence.unwrap_or(config.l2_evidence);
    config.l2_bias = args.l2_bias.unwrap_or(config.l2_bias);
    config.min_negatives = args.min_negatives.unwrap_or(config.min_negatives);
    config.l2_scale = args.l2_scale.unwrap_or(config.l2_scale);
    config.confidence = args.confidence.unwrap_or(config.confidence);
    config.min_negatives_to_choose = args.min_negatives_to_choose.unwrap_or(config.min_negatives_to_choose);
    config.stacked = args.stacked.unwrap_or(config.stacked);
    config.l2_combiner = args.l2_combiner.unwrap_or(config.l2_combiner);
    config.shared_unwanted = args.shared_unwanted.unwrap_or(config.shared_unwanted);
    config.folds = args.folds.unwrap_or(config.folds);
    config.few_labels = args.few_labels.unwrap_or(config.few_labels);
    config.few_labels_folds = args.few_labels_folds.unwrap_or(config.few_labels_folds);
    config.nb_alpha = args.nb_alpha.unwrap_or(config.nb_alpha);
    config.nb_from_labels = args.nb_from_labels.unwrap_or(config.nb_from_labels);
    config.stretch_above_hold = !args.no_stretch_above_hold;
    if !args.below_review.is_empty() {
        config.below_review_choices = args.below_review.clone();
    }
    config.validate().map_err(|e| anyhow::anyhow!("cannot adapt with these settings: {e}"))?;
    let Some(corpus) = crate::transfer::loso_corpus(&args.data, "the learning curve")? else { return Ok(()) };
    if let Some(path) = &args.corpus_out {
        crate::transfer::write_corpus(&corpus, path)?;
    }
    let wanted: Vec<usize> = (0..corpus.sources.len())
        .filter(|&s| {
            let source = &corpus.sources[s];
            source.choose() && (args.only.is_empty() || args.only.iter().any(|o| o == source.name))
        })
        .collect();
    let cached = |s: usize| args.installed_cache.as_ref().map(|d| d.join(format!("{}.model", corpus.sources[s].name)));
    let mut installed_models: Vec<Option<Arc<Model>>> = vec![None; corpus.sources.len()];
    if wanted.iter().all(|&s| cached(s).is_some_and(|p| p.is_file())) {
        for &s in &wanted {
            let path = cached(s).expect("checked");
            eprintln!("  installed model for {} from {}", corpus.sources[s].name, path.display());
            installed_models[s] = Some(Arc::new(Model::load(&path)?));
        }
    } else {
        let loso = Loso::run(&corpus, &args.model, 0.05, 0.01)?;
        for &s in &wanted {
            let m = loso.installed(s)?;
            if let Some(path) = cached(s) {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&path, m.to_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
            }
            installed_models[s] = Some(m);
        }
    }

    for path in [&args.out, &args.splits_out] {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    let open = |p: &PathBuf| -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
        Ok(std::io::BufWriter::new(std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?))
    };
    let (mut out, mut splits) = (open(&args.out)?, open(&args.splits_out)?);
    let pack: Vec<Post> = RuleSet::default_pack()
        .rules
        .iter()
        .flat_map(|r| r.fire.iter().enumerate().map(move |(i, ex)| ex.to_post(&format!("{}-fire-{i}", r.id))))
        .collect();
    let mut macro_rows: Vec<(usize, f64, f64)> = Vec::new();
    for (s, source) in corpus.sources.iter().enumerate() {
        let Some(model) = installed_models[s].clone() else { continue };
        let installed = Engine::builder().model(model).build()?;
        let pack_base = flagged(&installed, &pack);
        for &draw in &args.shuffle_seeds {
            let order = shuffled(&corpus, s, draw);
            let pool = POOL.min(order.len() / 2);
            let test = &order[pool..];
            let test_ids: Vec<&str> = test.iter().map(|&i| corpus.texts[i].id.as_str()).collect();
            let row = measure(&corpus, &installed, test);
            eprintln!(
                "{:<20} draw {draw} k={:<5} F1 {:.3} PR-AUC {:.3} benign→review {:.3} (installed model, {} test texts)",
                source.name,
                0,
                row.f1,
                row.pr_auc,
                row.benign_flagged,
                test.len()
            );
            write_row(
                &mut out,
                source.name,
                0,
                &row,
                serde_json::json!({"model": "ours (installed)", "draw": draw, "pack_fire_flagged": pack_base}),
            )?;
            macro_rows.push((0, row.f1, row.pr_auc));
            for &k in &args.k {
                if k > pool {
                    continue;
                }
                let train = &order[..k];
                serde_json::to_writer(
                    &mut splits,
                    &serde_json::json!({"source": source.name, "k": k, "draw": draw,
                    "train": train.iter().map(|&i| corpus.texts[i].id.as_str()).collect::<Vec<_>>(),
                    "test": test_ids}),
                )?;
                writeln!(splits)?;
                let examples: Vec<Example> = train
                    .iter()
                    .map(|&i| Example::new(corpus.texts[i].post.clone(), corpus.texts[i].labels()))
                    .collect();
                let positives = train.iter().filter(|&&i| corpus.texts[i].unwanted).count();
                let start = ProcessTime::now();
                let adapted = adapt(&installed, &examples, &config);
                let seconds = start.elapsed().as_secs_f64();
                let model = match adapted {
                    Ok(m) => Arc::new(m),
                    Err(e) => {
                        eprintln!("{:<20} draw {draw} k={k:<5} not adapted: {e}", source.name);
                        serde_json::to_writer(
                            &mut out,
                            &serde_json::json!({"model": "ours (adapted)", "source": source.name, "k": k, "draw": draw,
                            "train_positives": positives, "f1": null, "pr_auc": null, "skipped": e.to_string()}),
                        )?;
                        writeln!(out)?;
                        continue;
                    }
                };
                let a = model.data().adaptation.clone().context("adapted")?;
                let engine = installed.with_model(Some(model.clone()));
                let row = measure(&corpus, &engine, test);
                let pack_adapted = flagged(&engine, &pack);
                eprintln!(
                    "{:<20} draw {draw} k={k:<5} F1 {:.3} PR-AUC {:.3} (spam head {:.3}, scam head {:.3}) benign→review {:.3} ({positives} positive; adapted in {seconds:.2} s CPU; {} columns; thresholds {}; pack fire examples flagged {pack_base} → {pack_adapted} of {})",
                    source.name,
                    row.f1,
                    row.pr_auc,
                    row.pr_auc_heads[0],
                    row.pr_auc_heads[1],
                    row.benign_flagged,
                    a.columns.len(),
                    crate::training::calibrations(&model, &a),
                    pack.len()
                );
                write_row(
                    &mut out,
                    source.name,
                    k,
                    &row,
                    serde_json::json!({"model": "ours (adapted)", "draw": draw, "train_positives": positives,
                    "adapt_seconds": seconds, "columns": a.columns.len(), "calibrations": a.calibrations.iter()
                        .map(|c| serde_json::json!({"category": c.category.as_str(), "slope": c.slope, "offset": c.offset,
                            "below_review": c.below_review, "above_hold": c.above_hold}))
                        .collect::<Vec<_>>(),
                    "thresholds": a.thresholds, "model_bytes": model.to_bytes().len(),
                    "pack_fire_flagged": pack_adapted, "pack_fire_flagged_installed": pack_base,
                    "pack_fire_examples": pack.len()}),
                )?;
                macro_rows.push((k, row.f1, row.pr_auc));
            }
        }
    }
    out.flush()?;
    splits.flush()?;
    let mut ks: Vec<usize> = macro_rows.iter().map(|r| r.0).collect();
    ks.sort_unstable();
    ks.dedup();
    for k in ks {
        let rows: Vec<_> = macro_rows.iter().filter(|r| r.0 == k).collect();
        let n = rows.len() as f64;
        eprintln!(
            "k={k:<5} mean over {} records ({} draws of each source): F1 {:.3} PR-AUC {:.3}",
            rows.len(),
            args.shuffle_seeds.len(),
            rows.iter().map(|r| r.1).sum::<f64>() / n,
            rows.iter().map(|r| r.2).sum::<f64>() / n
        );
    }
    if let Some(kib) = peak_rss_kib() {
        eprintln!("peak resident memory of the whole run: {} MiB", kib / 1024);
    }
    eprintln!("wrote {} and {}", args.out.display(), args.splits_out.display());
    Ok(())
}

/// The draws' seeds: one or more, each once (a repeated seed would count
/// one draw twice in the averages).
fn check_seeds(seeds: &[u64]) -> anyhow::Result<()> {
    let mut distinct = seeds.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.is_empty() || distinct.len() != seeds.len() {
        anyhow::bail!("--shuffle-seed takes one or more distinct seeds, not {seeds:?}");
    }
    Ok(())
}

/// Figures on a test set.
struct Figures {
    f1: f64,
    precision: f64,
    recall: f64,
    pr_auc: f64,
    /// PR-AUC of the spam head's score alone, then the scam head's, each
    /// against the unwanted label (spam or scam), as `pr_auc` is.
    pr_auc_heads: [f64; 2],
    benign_flagged: f64,
    positives: usize,
    texts: usize,
}

fn measure(corpus: &Corpus, engine: &Engine, test: &[usize]) -> Figures {
    let posts: Vec<Post> = test.iter().map(|&i| corpus.texts[i].post.clone()).collect();
    let verdicts = engine.score_batch(&posts);
    let y: Vec<bool> = test.iter().map(|&i| corpus.texts[i].unwanted).collect();
    let flagged: Vec<f64> = verdicts.iter().map(|v| f64::from(u8::from(v.decision >= Decision::Review))).collect();
    let scores: Vec<f64> =
        verdicts.iter().map(|v| v.scores.get(Category::Spam).max(v.scores.get(Category::Scam))).collect();
    let c = Confusion::at(&flagged, &y, 0.5);
    let negatives = y.iter().filter(|&&v| !v).count();
    Figures {
        f1: c.f1(),
        precision: c.precision(),
        recall: c.recall(),
        pr_auc: evaluation::average_precision(&scores, &y),
        pr_auc_heads: [Category::Spam, Category::Scam].map(|c| {
            let head: Vec<f64> = verdicts.iter().map(|v| v.scores.get(c)).collect();
            evaluation::average_precision(&head, &y)
        }),
        benign_flagged: flagged.iter().zip(&y).filter(|(f, l)| **f > 0.5 && !**l).count() as f64
            / negatives.max(1) as f64,
        positives: y.len() - negatives,
        texts: y.len(),
    }
}

fn write_row(
    out: &mut impl Write,
    source: &str,
    k: usize,
    f: &Figures,
    extra: serde_json::Value,
) -> anyhow::Result<()> {
    let mut row = serde_json::json!({"source": source, "k": k, "f1": f.f1, "precision": f.precision,
        "recall": f.recall, "pr_auc": f.pr_auc, "pr_auc_spam_head": f.pr_auc_heads[0], "pr_auc_scam_head": f.pr_auc_heads[1],
        "benign_flagged": f.benign_flagged,
        "test_texts": f.texts, "test_positives": f.positives});
    if let (Some(row), serde_json::Value::Object(extra)) = (row.as_object_mut(), extra) {
        row.extend(extra);
    }
    serde_json::to_writer(&mut *out, &row)?;
    writeln!(out)?;
    Ok(())
}

/// How many of `posts` the engine flags (review or above).
fn flagged(engine: &Engine, posts: &[Post]) -> usize {
    engine.score_batch(posts).iter().filter(|v| v.decision >= Decision::Review).count()
}

/// The texts of source `s` in a seeded order that depends only on their ids.
fn shuffled(corpus: &Corpus, s: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<(u64, usize)> = (0..corpus.texts.len())
        .filter(|&i| corpus.texts[i].source == s)
        .map(|i| (mix(seed, &corpus.texts[i].id), i))
        .collect();
    idx.sort_unstable();
    idx.into_iter().map(|(_, i)| i).collect()
}

fn mix(seed: u64, id: &str) -> u64 {
    // FNV-1a, then splitmix64's finalizer.
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The process's peak resident memory (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Text;

    #[test]
    fn each_draw_is_its_own_shuffle_of_one_source_and_repeats_with_its_seed() {
        let mut corpus = Corpus::default();
        for (source, n) in [(0, 40), (1, 30)] {
            for i in 0..n {
                let id = format!("{source}:{i}");
                let post = Post::new(id.clone(), format!("text {i}"));
                corpus.texts.push(Text { source, id, post, unwanted: i % 2 == 0, scam: None, scam_only: false });
            }
        }
        let draws: Vec<Vec<usize>> = [1, 2, 3].iter().map(|&seed| shuffled(&corpus, 0, seed)).collect();
        for order in &draws {
            // Every text of source 0, once, and none of source 1.
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..40).collect::<Vec<_>>());
        }
        // The draws choose different decisions (the first 20) …
        assert_ne!(draws[0][..20], draws[1][..20]);
        assert_ne!(draws[1][..20], draws[2][..20]);
        // … and a seed gives the same draw every time.
        assert_eq!(shuffled(&corpus, 0, 2), draws[1]);
        assert_eq!(shuffled(&corpus, 1, 1).len(), 30);
    }

    #[test]
    fn the_draws_seeds_are_one_or_more_and_distinct() {
        assert!(check_seeds(&[1, 2, 3]).is_ok());
        assert!(check_seeds(&[7]).is_ok());
        let e = check_seeds(&[1, 2, 1]).unwrap_err().to_string();
        assert!(e.contains("distinct") && e.contains("[1, 2, 1]"), "{e}");
        assert!(check_seeds(&[]).is_err());
    }
}
