//! `moderation train`, `moderation eval` and `moderation eval-splits`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use cpu_time::ProcessTime;
use indicatif::{ProgressBar, ProgressStyle};
use moderation_core::adapt::AdaptConfig;
use moderation_core::evaluation::{self, Confusion};
use moderation_core::model::Adaptation;
use moderation_core::train::{self, Example, Progress, TrainConfig};
use moderation_core::{Category, Engine, Model, Post};

use crate::datasets::{self, Labelled, PUBLIC_SETS, PublicSet, Side};
use crate::figures::Figures;
pub use crate::options::{DataArgs, Learner, ModelArgs};
use crate::plot;

/// `moderation train` options.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Train on this JSON-lines file of labelled posts instead (each with
    /// `labels: {"spam": 0|1, "scam": 0|1}`), e.g. a synthetic corpus; with
    /// `--base`, a forum's moderator decisions (lines of `GET /v1/export`
    /// are valid).
    #[arg(long, value_name = "FILE", conflicts_with = "datasets")]
    pub input: Option<PathBuf>,
    /// Adapt this model to the forum `--input` comes from instead of
    /// training from scratch: a model of the forum's labels stacked with
    /// the base (how much of each to keep is fitted out of fold),
    /// thresholds re-chosen on its approved posts. Works from 20 labelled
    /// posts; a category without both classes among them keeps the base's
    /// weights. The output loads like any model.
    #[arg(long, value_name = "MODEL", requires = "input")]
    pub base: Option<PathBuf>,
    /// With `--base`: the largest share of the labels one moderator's
    /// decisions may be (when the lines name at least two moderators); the
    /// earliest of a larger share are left out.
    #[arg(long, value_name = "SHARE", default_value_t = 0.5, value_parser = share, requires = "base")]
    pub max_moderator_share: f64,
    /// With `--base`: the share of the forum's approved posts the adapted
    /// thresholds may send to review (the forum's review budget; 0–0.5).
    /// 0.05 is the budget the shipped thresholds keep on a new forum; a
    /// forum that would rather review more posts to catch more raises it.
    #[arg(long, value_name = "SHARE", default_value_t = 0.05, value_parser = budget, requires = "base")]
    pub review_budget: f64,
    /// With `--base`: the share of the forum's approved posts that may be
    /// held, at most the review budget [default: 0.01, or the review
    /// budget if that is smaller].
    #[arg(long, value_name = "SHARE", value_parser = budget, requires = "base")]
    pub hold_budget: Option<f64>,
    /// Train on the team corpus only (no public sets).
    #[arg(long)]
    pub corpus_only: bool,
    /// Where to write the model.
    #[arg(long, value_name = "FILE", default_value = "models/default.model")]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Model name, reported in verdicts as `name@digest`.
    #[arg(long, default_value = "forum-default")]
    pub name: String,
}

/// A progress bar on standard error (hidden when it is not a terminal).
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{msg:>22} [{bar:30}] {pos}/{len} {elapsed}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Bar(bar)
    }
}

impl Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        self.0.set_message(name.to_string());
        self.0.set_length(total);
        self.0.set_position(0);
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

/// One source: `--input`, or the team corpus's training side
/// (`--corpus-only`). The shipped model's many sources are
/// [`crate::sources`].
#[allow(clippy::type_complexity)] // (examples, per-source counts)
pub fn training_data(args: &TrainArgs) -> anyhow::Result<(Vec<Example>, Vec<(String, u32)>)> {
    if let Some(path) = &args.input {
        let rows = datasets::load_forum_posts(path)?;
        return Ok((
            rows.iter().map(Labelled::example).collect(),
            vec![(path.display().to_string(), rows.len() as u32)],
        ));
    }
    let corpus = datasets::load_forum_posts(&args.data.corpus)?;
    let examples: Vec<Example> = corpus.iter().filter(|r| r.side == Side::Train).map(Labelled::example).collect();
    let n = examples.len() as u32;
    Ok((examples, vec![("forum-posts:train (team-written)".into(), n)]))
}

pub fn train(args: &TrainArgs) -> anyhow::Result<()> {
    if let Some(base) = &args.base {
        let input = args.input.as_ref().context("--base needs --input")?;
        let name = (args.name != "forum-default").then(|| args.name.clone());
        let config = AdaptConfig { name, ..AdaptConfig::default() }.with_budgets(args.review_budget, args.hold_budget);
        if config.hold_fpr > config.review_fpr {
            bail!(
                "--hold-budget {} is above --review-budget {}: a held post is also one reviewed",
                config.hold_fpr,
                config.review_fpr
            );
        }
        config.validate().map_err(|e| anyhow::anyhow!("cannot adapt: {e}"))?;
        return adapt(base, input, &args.out, &config, args.max_moderator_share);
    }
    // The shipped model: every trainable source, its thresholds chosen by
    // leave-one-source-out (the protocol runs first).
    if args.input.is_none() && !args.corpus_only {
        if crate::datasets::root(args.data.datasets.as_deref())?.is_none() {
            bail!("no shared datasets folder (pass --datasets DIR or set MODERATION_DATASETS; or --corpus-only)");
        }
        return crate::transfer::transfer(&crate::transfer::TransferArgs {
            data: DataArgs { datasets: args.data.datasets.clone(), corpus: args.data.corpus.clone() },
            model: args.model.clone(),
            out: PathBuf::from("target/transfer/ours.jsonl"),
            append: false,
            corpus_out: None,
            scores_out: None,
            label: None,
            review_fpr: 0.05,
            hold_fpr: 0.01,
            ship: Some(args.out.clone()),
            name: args.name.clone(),
        });
    }
    let (examples, sources) = training_data(args)?;
    let config = args.model.config(args.name.clone(), TrainConfig::default().heads, examples.len());
    let engine = Engine::new()?;
    let bar = Bar::new();
    let start = Instant::now();
    let model = train::train(&engine, &examples, &sources, &config, &bar)?;
    bar.0.finish_and_clear();
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    model.save(&args.out)?;
    let bytes = std::fs::metadata(&args.out)?.len();
    eprintln!(
        "trained {} on {} posts in {:.1} s: {} ({} KiB)",
        model.version(),
        examples.len(),
        start.elapsed().as_secs_f64(),
        args.out.display(),
        bytes / 1024
    );
    for head in &model.data().heads {
        let m = &head.metrics;
        eprintln!(
            "  {:<6} cross-validated on {} posts ({} positive): P {:.3} R {:.3} F1 {:.3} PR-AUC {:.3} Brier {:.4} at threshold {:.3}",
            head.category.as_str(),
            m.examples,
            m.positives,
            m.precision,
            m.recall,
            m.f1,
            m.pr_auc,
            m.brier,
            head.threshold
        );
    }
    Ok(())
}

/// `moderation train --base MODEL --input FILE`: adapts `base` to a forum.
fn adapt(base: &Path, input: &Path, out: &Path, config: &AdaptConfig, share: f64) -> anyhow::Result<()> {
    let model = Model::load(base).with_context(|| format!("cannot load the base model {}", base.display()))?;
    let mut decisions = datasets::load_decisions(input)?;
    let read = decisions.len();
    let shares = datasets::cap_moderator_share(&mut decisions, share);
    for moderator_share in &shares {
        let (moderator, before, after) = (&moderator_share.moderator, moderator_share.before, moderator_share.after);
        let trimmed = if after < before - 1e-9 {
            format!(" → {:.0}% (capped at {:.0}%)", after * 100.0, share * 100.0)
        } else {
            String::new()
        };
        eprintln!("  moderator {moderator}: {:.0}% of the labels{trimmed}", before * 100.0);
    }
    if decisions.len() < read {
        eprintln!("  {} of {read} labels left out by the moderator share cap", read - decisions.len());
    }
    let examples: Vec<Example> = decisions.into_iter().map(|d| d.example).collect();
    let engine = Engine::builder().model(Arc::new(model)).build()?;
    let start = ProcessTime::now();
    let adapted = moderation_core::adapt::adapt(&engine, &examples, config)
        .with_context(|| format!("cannot adapt to {}", input.display()))?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    adapted.save(out)?;
    let a = adapted.data().adaptation.as_ref().context("an adapted model has an adaptation")?;
    eprintln!(
        "adapted {} to {} labelled posts of {} in {seconds:.1} s CPU: {} → {} ({} KiB)",
        a.base,
        a.labels,
        input.display(),
        adapted.version(),
        out.display(),
        std::fs::metadata(out)?.len() / 1024
    );
    for category in adapted.categories() {
        match a.heads.iter().find(|h| h.category == category) {
            Some(h) => match &h.metrics {
                Some(m) => eprintln!(
                    "  {:<6} {} labels ({} positive), out of fold: P {:.3} R {:.3} F1 {:.3} PR-AUC {:.3}",
                    category.as_str(),
                    h.examples,
                    h.positives,
                    m.precision,
                    m.recall,
                    m.f1,
                    m.pr_auc
                ),
                None => eprintln!(
                    "  {:<6} {} labels ({} positive): too few for out-of-fold figures",
                    category.as_str(),
                    h.examples,
                    h.positives
                ),
            },
            None => eprintln!("  {:<6} kept the base's: no label of both classes", category.as_str()),
        }
    }
    eprintln!("  thresholds: {} (log-odds {})", a.thresholds, calibrations(&adapted, a));
    Ok(())
}

/// Each head's threshold calibration of an adapted model, for logs:
/// `spam ×0.400 -0.400 (×2.500 above hold), scam ×1.000 +0.000`.
pub(crate) fn calibrations(model: &Model, a: &Adaptation) -> String {
    model
        .categories()
        .map(|c| {
            let (slope, offset) = a.calibration(c);
            let own = a.calibrations.iter().find(|h| h.category == c);
            let below = own.map_or(1.0, |h| h.below_review);
            let below = if below == 1.0 { String::new() } else { format!(" (×{below} under review)") };
            let above = own.map_or(1.0, |h| h.above_hold);
            let above = if above == 1.0 { String::new() } else { format!(" (×{above:.3} above hold)") };
            format!("{} ×{slope:.3} {offset:+.3}{below}{above}", c.as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A review or hold budget: a share of approved posts in 0..=0.5.
fn budget(s: &str) -> Result<f64, String> {
    use moderation_core::adapt::MAX_REVIEW_FPR;
    match s.parse::<f64>() {
        Ok(v) if (0.0..=MAX_REVIEW_FPR).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a share of approved posts in 0..={MAX_REVIEW_FPR}")),
    }
}

fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("`{s}` is not a share in (0, 1]")),
    }
}

/// `moderation eval` options.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The model to evaluate (default: the shipped model).
    #[arg(long, value_name = "FILE", conflicts_with = "no_model")]
    pub model: Option<PathBuf>,
    /// Evaluate the rules alone (thresholds 0.5, the default review
    /// threshold), as a baseline for the model.
    #[arg(long)]
    pub no_model: bool,
    /// Report recall at this false-positive rate.
    #[arg(long, default_value_t = 0.01)]
    pub fpr: f64,
    /// Report precision as if this share of posts were positive (a real
    /// forum's rate, not a test set's).
    #[arg(long, default_value_t = 0.01)]
    pub base_rate: f64,
    /// Where to draw the precision–recall curves.
    #[arg(long, value_name = "FILE", default_value = "target/eval/pr-curves.png")]
    pub plot: PathBuf,
    /// Also write the figures as JSON lines here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// The test sides to evaluate on: every public set (licensed or not: this
/// is evaluation) and the team corpus by language.
#[allow(clippy::type_complexity)] // (name, its public set, its labelled texts) per test side
fn test_sets(data: &DataArgs) -> anyhow::Result<Vec<(String, Option<&'static PublicSet>, Vec<Labelled>)>> {
    let mut out = Vec::new();
    match datasets::root(data.datasets.as_deref())? {
        Some(root) => {
            for set in &PUBLIC_SETS {
                let rows: Vec<Labelled> =
                    datasets::load_public(&root, set)?.into_iter().filter(|r| r.side == Side::Test).collect();
                out.push((set.name.to_string(), Some(set), rows));
            }
        }
        None => eprintln!("note: no shared datasets folder found; evaluating on the team corpus only"),
    }
    let corpus = datasets::load_forum_posts(&data.corpus)?;
    for lang in ["en", "ja"] {
        let rows: Vec<Labelled> =
            corpus.iter().filter(|r| r.side == Side::Test && r.post.lang.as_deref() == Some(lang)).cloned().collect();
        out.push((format!("forum-posts ({lang})"), None, rows));
    }
    // Japanese without `ja-benign.jsonl` (its README asks for both figures:
    // that file changes the language's class balance).
    let rows: Vec<Labelled> = corpus
        .iter()
        .filter(|r| r.side == Side::Test && r.post.lang.as_deref() == Some("ja") && !r.post.id.starts_with("jb-"))
        .cloned()
        .collect();
    out.push(("forum-posts (ja.jsonl only)".to_string(), None, rows));
    Ok(out)
}

/// Evaluates the model at `--model`, else the one `shipped` decodes (the
/// binary's built-in model).
pub fn eval(args: &EvalArgs, shipped: impl FnOnce() -> anyhow::Result<Model>) -> anyhow::Result<()> {
    let (engine, version, unwanted_threshold, scam_threshold, spam_threshold) = if args.no_model {
        (Engine::new()?, "none (rules only)".to_string(), Some(0.5), Some(0.5), Some(0.5))
    } else {
        let model = std::sync::Arc::new(match args.model.as_deref() {
            Some(p) => Model::load(p).with_context(|| format!("cannot load model {}", p.display()))?,
            None => shipped()?,
        });
        let t = (
            model.data().unwanted.as_ref().map(|c| c.threshold),
            model.head(Category::Scam).map(|h| h.threshold),
            model.head(Category::Spam).map(|h| h.threshold),
        );
        (Engine::builder().model(model.clone()).build()?, model.version().to_string(), t.0, t.1, t.2)
    };
    let mut all = Vec::new();
    for (name, set, rows) in test_sets(&args.data)? {
        if rows.is_empty() {
            continue;
        }
        let posts: Vec<Post> = rows.iter().map(|r| r.post.clone()).collect();
        let verdicts = engine.score_batch(&posts);
        let scam: Vec<f64> = verdicts.iter().map(|v| v.scores.scam).collect();
        let any: Vec<f64> = verdicts.iter().map(|v| v.scores.scam.max(v.scores.spam)).collect();
        let (unwanted_col, scam_col) = match set {
            Some(s) => (s.unwanted_column, s.scam_column),
            None => ("spam_or_scam", Some("scam")),
        };
        let y: Vec<bool> = rows.iter().map(|r| r.columns[unwanted_col]).collect();
        if let Some(t) = unwanted_threshold.or(spam_threshold) {
            all.push(Figures::new(&name, &format!("unwanted ({unwanted_col})"), &any, &y, t, args.fpr, args.base_rate));
        }
        if let (Some(col), Some(t)) = (scam_col, scam_threshold) {
            let y: Vec<bool> = rows.iter().map(|r| r.columns[col]).collect();
            all.push(Figures::new(&name, &format!("scam ({col})"), &scam, &y, t, args.fpr, args.base_rate));
        }
        // The spam head: unwanted but not a scam, where the set tells them apart.
        if let (Some(col), Some(t)) = (scam_col, spam_threshold) {
            let spam: Vec<f64> = verdicts.iter().map(|v| v.scores.spam).collect();
            let y: Vec<bool> = rows.iter().map(|r| r.columns[unwanted_col] && !r.columns[col]).collect();
            if y.iter().any(|&v| v) {
                let q = format!("spam, not scam ({unwanted_col} and not {col})");
                all.push(Figures::new(&name, &q, &spam, &y, t, args.fpr, args.base_rate));
            }
        }
    }
    print_figures(&all, &version);
    print_reliability(&all);
    for path in [args.json.as_ref(), Some(&args.plot)].into_iter().flatten() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    if let Some(path) = &args.json {
        let mut f = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        for fig in &all {
            serde_json::to_writer(&mut f, fig)?;
            writeln!(f)?;
        }
    }
    let drawn = plot::pr_curves(&args.plot, &format!("Precision-recall, model {version}"), &all)?;
    eprintln!(
        "precision-recall curves: {}{}",
        args.plot.display(),
        if drawn { "" } else { " (no font found: unlabelled)" }
    );
    Ok(())
}

fn print_figures(all: &[Figures], version: &str) {
    println!("model {version}; thresholds chosen by cross-validation on the training side (0.5 without a model)");
    println!();
    println!(
        "| test set | question | n (pos) | threshold | precision | recall | F1 | ROC-AUC | PR-AUC | Brier | TP/FP/TN/FN | recall @ FPR {} | precision @ base rate {} |",
        all.first().map_or(0.01, |f| f.fpr_budget),
        all.first().map_or(0.01, |f| f.base_rate)
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for f in all {
        println!(
            "| {} | {} | {} ({}) | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.4} | {}/{}/{}/{} | {:.3} | {:.3} |",
            f.set,
            f.question,
            f.n,
            f.positives,
            f.threshold,
            f.precision,
            f.recall,
            f.f1,
            f.roc_auc,
            f.pr_auc,
            f.brier,
            f.tp,
            f.fp,
            f.tn,
            f.fn_,
            f.recall_at_fpr,
            f.precision_at_base_rate
        );
    }
}

/// Calibration: predicted scam probability against the observed share of
/// scams, pooled over every test side that labels scams.
fn print_reliability(all: &[Figures]) {
    let (mut p, mut y) = (Vec::new(), Vec::new());
    // "ja.jsonl only" is a subset of "forum-posts (ja)": count posts once.
    for f in all.iter().filter(|f| f.question.starts_with("scam") && !f.set.contains("only")) {
        for &(s, l) in &f.scored {
            p.push(s);
            y.push(l);
        }
    }
    if p.is_empty() {
        return;
    }
    println!();
    println!(
        "calibration of the scam score, all test sides pooled ({} posts, Brier {:.4}):",
        p.len(),
        evaluation::brier(&p, &y)
    );
    println!();
    println!("| predicted | posts | mean predicted | observed scam share |");
    println!("|---|---|---|---|");
    for b in evaluation::reliability(&p, &y, 10).iter().filter(|b| b.count > 0) {
        println!("| {:.1}–{:.1} | {} | {:.3} | {:.3} |", b.lo, b.hi, b.count, b.mean_predicted, b.observed);
    }
}

/// `moderation eval-splits` options.
#[derive(Debug, clap::Args)]
pub struct EvalSplitsArgs {
    /// The shared datasets folder (with `splits/`).
    #[arg(long, value_name = "DIR")]
    pub datasets: Option<PathBuf>,
    /// Where to write one JSON line per (train set, test set, column).
    #[arg(long, value_name = "FILE", default_value = "target/compare/ours.jsonl")]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// The comparison with the baselines: for each canonical split and column,
/// a model trained on that split's train side only, tested on its test
/// side, plus cross-domain rows. Written in the baselines' JSON schema.
pub fn eval_splits(args: &EvalSplitsArgs) -> anyhow::Result<()> {
    let Some(root) = datasets::root(args.datasets.as_deref())? else {
        bail!("no shared datasets folder (pass --datasets DIR or set MODERATION_DATASETS)");
    };
    let mut loaded = std::collections::HashMap::new();
    for set in &PUBLIC_SETS {
        loaded.insert(set.name, datasets::load_public(&root, set)?);
    }
    // (train set, test set, column): the README's table, then cross-domain.
    let rows: [(&str, &str, &str); 9] = [
        ("sms-spam-collection", "sms-spam-collection", "y_spam"),
        ("crypto-scam-x-posts-janitr", "crypto-scam-x-posts-janitr", "y_scam_or_spam"),
        ("crypto-scam-x-posts-janitr", "crypto-scam-x-posts-janitr", "y_scam"),
        ("sms-smishing-mishra-soni", "sms-smishing-mishra-soni", "y_spam_or_smishing"),
        ("thai-sms-spam-scam", "thai-sms-spam-scam", "y_scam_or_spam"),
        ("indonesian-sms-spam", "indonesian-sms-spam", "y_fraud_or_promo"),
        ("sms-spam-collection", "crypto-scam-x-posts-janitr", "y_scam_or_spam"),
        ("crypto-scam-x-posts-janitr", "sms-spam-collection", "y_spam"),
        ("sms-smishing-mishra-soni", "crypto-scam-x-posts-janitr", "y_scam_or_spam"),
    ];
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = std::fs::File::create(&args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    let engine = Engine::new()?;
    for (train_set, test_set, column) in rows {
        // The column the model is trained on: in-domain the row's own; for
        // cross-domain rows the train set's "unwanted" column.
        let train_col = if train_set == test_set {
            column
        } else {
            PUBLIC_SETS.iter().find(|s| s.name == train_set).map_or(column, |s| s.unwanted_column)
        };
        let category =
            if matches!(train_col, "y_scam" | "y_smishing" | "y_fraud") { Category::Scam } else { Category::Spam };
        let examples: Vec<Example> = loaded[train_set]
            .iter()
            .filter(|r| r.side == Side::Train)
            .map(|r| Example::new(r.post.clone(), vec![(category, r.columns[train_col])]))
            .collect();
        // One thread, timed in process CPU time, as the baselines are.
        let config = TrainConfig {
            threads: 1,
            ..args.model.config(format!("{train_set}-{train_col}"), vec![category], examples.len())
        };
        let start = ProcessTime::now();
        let model = train::train(&engine, &examples, &[], &config, &())?;
        let train_seconds = start.elapsed().as_secs_f64();
        let threshold = model.head(category).map_or(0.5, |h| h.threshold);
        let cv_f1 = model.head(category).map_or(0.0, |h| h.metrics.f1);
        let scorer = Engine::builder().model(std::sync::Arc::new(model)).build()?;
        let test: Vec<&Labelled> = loaded[test_set].iter().filter(|r| r.side == Side::Test).collect();
        let start = ProcessTime::now();
        // One core, one post at a time: the whole engine (normalization,
        // signals, rules and the model), not the text model alone.
        let scores: Vec<f64> = test.iter().map(|r| scorer.score(&r.post).scores.get(category)).collect();
        let predict_seconds = start.elapsed().as_secs_f64();
        let y: Vec<bool> = test.iter().map(|r| r.columns[column]).collect();
        let c = Confusion::at(&scores, &y, threshold);
        // At 0.5 too: the baselines use their default threshold, ours one
        // chosen by cross-validation on the train side.
        let at_half = Confusion::at(&scores, &y, 0.5);
        let row = serde_json::json!({
            "train": train_set, "test": test_set, "column": column,
            "model": "ours (NB + rules, stacked)",
            "f1": c.f1(), "precision": c.precision(), "recall": c.recall(),
            "pr_auc": evaluation::average_precision(&scores, &y),
            "train_seconds": train_seconds,
            "predict_per_sec": test.len() as f64 / predict_seconds.max(1e-9),
            "n_train": examples.len(), "n_test": test.len(),
            "cv_f1": cv_f1,
            "f1_at_0_5": at_half.f1(),
        });
        eprintln!(
            "{train_set} -> {test_set} {column}: train-side CV F1 {cv_f1:.3}; test F1 {:.3} (at 0.5: {:.3}) PR-AUC {:.3}",
            c.f1(),
            at_half.f1(),
            row["pr_auc"].as_f64().unwrap_or(0.0)
        );
        serde_json::to_writer(&mut out, &row)?;
        writeln!(out)?;
    }
    Ok(())
}
