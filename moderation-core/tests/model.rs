//! The trained model: training on the team corpus, the file format and its
//! failure modes, reproducibility, stacking into verdicts.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use moderation_core::evaluation::Confusion;
use moderation_core::model::{FORMAT_VERSION, MAGIC};
use moderation_core::train::{self, Example, TrainConfig};
use moderation_core::{Category, Decision, Engine, Error, Model, ModelError, Post, RuleSet};
use sha2::Digest;

/// The team corpus (`datasets/forum-posts`), with its README's split.
fn corpus() -> &'static [(Example, bool, String)] {
    static CORPUS: OnceLock<Vec<(Example, bool, String)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/forum-posts");
        let mut out = Vec::new();
        for (file, lang) in [("en", "en"), ("ja", "ja"), ("ja-benign", "ja")] {
            let text = std::fs::read_to_string(format!("{dir}/{file}.jsonl")).unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let post = Post::from_json(line).unwrap();
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let scam = v["labels"]["scam"] == 1;
                let spam = v["labels"]["spam"] == 1;
                let digest = sha2::Sha256::digest(post.id.as_bytes());
                let test = digest.iter().fold(0u32, |acc, &b| (acc * 256 + u32::from(b)) % 5) == 0;
                let labels = vec![(Category::Scam, scam), (Category::Spam, spam && !scam)];
                out.push((Example::new(post, labels), test, lang.to_string()));
            }
        }
        out
    })
}

fn config() -> TrainConfig {
    TrainConfig { name: "test".into(), columns: 8_000, threads: 2, ..TrainConfig::default() }
}

fn train_on(filter: impl Fn(&(Example, bool, String)) -> bool, config: &TrainConfig) -> Model {
    let examples: Vec<Example> = corpus().iter().filter(|e| filter(e)).map(|e| e.0.clone()).collect();
    train::train(&Engine::new().unwrap(), &examples, &[("corpus".into(), examples.len() as u32)], config, &())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Trained once on the corpus's training side, shared by the tests.
fn model() -> Arc<Model> {
    static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
    MODEL.get_or_init(|| Arc::new(train_on(|e| !e.1, &config()))).clone()
}

/// Scam F1 and ROC-AUC on the test side of the given language(s), at the
/// model's cross-validated threshold, and the F1 of always answering "scam".
fn test_figures(model: Arc<Model>, lang: Option<&str>) -> (f64, f64, f64) {
    let threshold = model.head(Category::Scam).unwrap().threshold;
    let engine = Engine::builder().model(model).build().unwrap();
    let test: Vec<_> = corpus().iter().filter(|e| e.1 && lang.is_none_or(|l| e.2 == l)).collect();
    let scores: Vec<f64> = test.iter().map(|e| engine.score(&e.0.post).scores.scam).collect();
    let y: Vec<bool> = test.iter().map(|e| e.0.label(Category::Scam) == Some(true)).collect();
    let trivial = Confusion::at(&vec![1.0; y.len()], &y, 0.5).f1();
    (Confusion::at(&scores, &y, threshold).f1(), moderation_core::evaluation::roc_auc(&scores, &y), trivial)
}

#[test]
fn learns_scams_well_above_chance_on_held_out_posts() {
    // Half the test side is scam: always saying "scam" gives F1 ≈ 0.66.
    // Measured F1 0.88, ROC-AUC 0.95 when written; the bounds leave room.
    let (f1, auc, trivial) = test_figures(model(), None);
    eprintln!("held-out scam F1 {f1:.3} ROC-AUC {auc:.3} (always-scam F1 {trivial:.3})");
    assert!(f1 >= trivial + 0.1, "held-out scam F1 {f1:.3} vs always-scam {trivial:.3}");
    assert!(auc >= 0.85, "held-out ROC-AUC {auc:.3}");
}

#[test]
fn a_japanese_only_corpus_is_learned_too() {
    let ja = Arc::new(train_on(|e| !e.1 && e.2 == "ja", &config()));
    let (f1, auc, trivial) = test_figures(ja, Some("ja"));
    eprintln!("held-out Japanese scam F1 {f1:.3} ROC-AUC {auc:.3} (always-scam F1 {trivial:.3})");
    // Measured F1 0.84 when written (with ja-benign.jsonl the test side is
    // mostly benign, so always-scam scores low).
    assert!(f1 >= trivial + 0.1, "held-out Japanese scam F1 {f1:.3} vs always-scam {trivial:.3}");
    assert!(auc >= 0.85, "held-out Japanese ROC-AUC {auc:.3}");
}

#[test]
fn save_and_load_give_identical_scores() {
    let model = model();
    let bytes = model.to_bytes();
    let loaded = Arc::new(Model::from_bytes(&bytes).unwrap());
    assert_eq!(loaded.to_bytes(), bytes);
    assert_eq!(loaded.version(), model.version());
    let a = Engine::builder().model(model).build().unwrap();
    let b = Engine::builder().model(loaded).build().unwrap();
    for (ex, _, _) in corpus().iter().take(120) {
        assert_eq!(a.score(&ex.post), b.score(&ex.post));
    }
}

#[test]
fn same_seed_and_data_give_the_same_bytes_whatever_the_threads() {
    let one = train_on(|e| !e.1, &TrainConfig { threads: 1, ..config() });
    assert_eq!(one.to_bytes(), model().to_bytes());
    let other_seed = train_on(|e| !e.1, &TrainConfig { seed: 2, ..config() });
    assert_ne!(other_seed.to_bytes(), model().to_bytes(), "the seed changes the folds");
}

fn refused(bytes: &[u8]) -> ModelError {
    match Model::from_bytes(bytes) {
        Err(Error::Model(e)) => e,
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a bad model file was accepted"),
    }
}

#[test]
fn every_kind_of_bad_model_file_is_a_clear_error() {
    let good = model().to_bytes();
    assert_eq!(refused(b""), ModelError::NotAModel);
    assert_eq!(refused(b"{\"not\": \"a model\"}"), ModelError::NotAModel);
    assert!(matches!(refused(&good[..30]), ModelError::Truncated { .. }));
    let cut = refused(&good[..good.len() - 100]);
    assert!(
        matches!(cut, ModelError::Truncated { expected, actual } if expected == good.len() as u64 && actual == good.len() as u64 - 100)
    );

    let mut flipped = good.clone();
    let last = flipped.len() - 7;
    flipped[last] ^= 0x40;
    assert!(matches!(refused(&flipped), ModelError::Corrupt(m) if m.contains("checksum")));

    let mut newer = good.clone();
    newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(refused(&newer), ModelError::NewerFormat { found: FORMAT_VERSION + 1, supported: FORMAT_VERSION });

    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(refused(&trailing), ModelError::Corrupt(_)));

    // A payload with a valid checksum that does not decode.
    let payload = b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
    let mut garbage = MAGIC.to_vec();
    garbage.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    garbage.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    garbage.extend_from_slice(&sha2::Sha256::digest(payload));
    garbage.extend_from_slice(payload);
    assert!(matches!(refused(&garbage), ModelError::Corrupt(m) if m.contains("decode")));

    // Decodes, but the parts disagree.
    let mut data = model().data().clone();
    data.heads[0].text_weights.pop();
    assert!(matches!(Model::from_data(data), Err(Error::Model(ModelError::Invalid(_)))));
    let mut data = model().data().clone();
    data.heads[0].intercept = f64::NAN;
    assert!(matches!(Model::from_data(data), Err(Error::Model(ModelError::Invalid(_)))));
    let mut data = model().data().clone();
    data.signal_features[0] = "signal.from_the_future".into();
    let msg = Model::from_data(data).unwrap_err().to_string();
    assert!(msg.contains("signal.from_the_future"), "{msg}");

    // A file on disk: the path is named.
    let err = Model::load("/nonexistent/model.bin").unwrap_err().to_string();
    assert!(err.contains("/nonexistent/model.bin"), "{err}");
}

/// Every JSON object key path in a value (`signals[].spans[].start`).
fn shape(v: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let p = format!("{prefix}.{k}");
                out.insert(p.clone());
                shape(v, &p, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| shape(v, &format!("{prefix}[]"), out)),
        _ => {}
    }
}

#[test]
fn the_model_never_changes_the_verdict_json_shape() {
    let plain = Engine::new().unwrap();
    let with = Engine::builder().model(model()).build().unwrap();
    for (ex, _, _) in corpus().iter().take(200) {
        let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
        shape(&serde_json::to_value(plain.score(&ex.post)).unwrap(), "", &mut a);
        shape(&serde_json::to_value(with.score(&ex.post)).unwrap(), "", &mut b);
        // Keys outside arrays are identical; inside arrays they depend on
        // which signals fired, but every key is one of the contract's.
        let top = |s: &BTreeSet<String>| s.iter().filter(|k| !k.contains("[]")).cloned().collect::<BTreeSet<_>>();
        assert_eq!(top(&a), top(&b));
        let all: BTreeSet<String> = a.union(&b).cloned().collect();
        for key in &all {
            assert!(
                KNOWN_KEYS.iter().any(|k| k == key),
                "verdict key {key} is not part of the contract (post {})",
                ex.post.id
            );
        }
        let v = with.score(&ex.post);
        assert!(v.versions.model.as_deref().is_some_and(|m| m.starts_with("test@")));
    }
}

const KNOWN_KEYS: [&str; 20] = [
    ".id",
    ".decision",
    ".scores",
    ".scores.spam",
    ".scores.scam",
    ".scores.misinformation",
    ".scores.exposure",
    ".signals",
    ".signals[].id",
    ".signals[].category",
    ".signals[].weight",
    ".signals[].description",
    ".signals[].spans",
    ".signals[].spans[].field",
    ".signals[].spans[].start",
    ".signals[].spans[].end",
    ".signals[].spans[].text",
    ".versions",
    ".versions.rules",
    ".versions.model",
];

#[test]
fn scores_are_the_stacked_probabilities() {
    // The verdict's score is sigmoid(prior + Σ signal weights): with the
    // model, the classifier signal and the fitted rule weights.
    let with = Engine::builder().model(model()).build().unwrap();
    let post = Post::new("x", "Official support here: DM me on Telegram @binance_help_desk to recover your funds");
    let v = with.score(&post);
    let logit: f64 = -3.0 + v.signals.iter().filter(|s| s.category == Category::Scam).map(|s| s.weight).sum::<f64>();
    assert!((v.scores.scam - 1.0 / (1.0 + (-logit).exp())).abs() < 1e-9);
    assert!(v.has_signal("classifier.scam") && v.has_signal("classifier.spam"));
    assert!(v.scores.scam > 0.9, "{v:?}");
    let c = v.signals.iter().find(|s| s.id == "classifier.scam").unwrap();
    assert!(c.description.contains("strongest words"), "a flagged post names its words: {}", c.description);
}

#[test]
fn fitted_weights_apply_only_to_the_rule_they_were_fitted_on() {
    let model = model();
    let head = model.head(Category::Scam).unwrap();
    let post_text = "Official support here: DM me on Telegram @binance_help_desk to recover your funds";
    let with = Engine::builder().model(model.clone()).build().unwrap();
    let v = with.score(&Post::new("x", post_text));
    // Some rule the model fitted fires on this post and carries its fitted weight.
    let (signal, fitted) = v
        .signals
        .iter()
        .find_map(|s| head.rules.iter().find(|r| r.id == s.id).map(|r| (s, r)))
        .expect("a fitted scam rule fires on the post");
    assert!((signal.weight - fitted.weight).abs() < 1e-12, "unchanged rule uses its fitted weight");
    assert!(!signal.description.contains("hand-set weight"));
    assert!(fitted.hits > 0, "only rules seen in training are fitted");

    // Redefine one rule that fires on the post with another weight: its
    // content hash changes, so the hand-set weight applies and says so.
    let plain = Engine::new().unwrap().score(&Post::new("x", post_text));
    let fired = plain.signals.iter().find(|s| s.id.starts_with("scam.")).expect("a scam rule fires");
    let edited = RuleSet::from_toml(
        "edit.toml",
        &format!(
            "[[rule]]\nid = \"{}\"\ncategory = \"scam\"\nweight = 1.25\ndescription = \"edited\"\nwhen = {{ phrases = [\"telegram\"] }}\n",
            fired.id
        ),
    )
    .unwrap();
    let engine = Engine::builder().rules(edited).model(model).build().unwrap();
    let v = engine.score(&Post::new("x", post_text));
    let s = v.signals.iter().find(|s| s.id == fired.id).unwrap();
    assert_eq!(s.weight, 1.25);
    assert!(s.description.contains("changed since the model was fitted"), "{}", s.description);
}

#[test]
fn training_refuses_data_it_cannot_learn_from() {
    let examples: Vec<Example> = corpus().iter().take(3).map(|e| e.0.clone()).collect();
    let err = train::train(&Engine::new().unwrap(), &examples, &[], &config(), &()).unwrap_err().to_string();
    assert!(err.starts_with("cannot train:"), "{err}");
}

#[test]
fn tricks_never_lower_a_score() {
    // In the team corpus defanged links appear only in benign warnings, so
    // an unconstrained stacker learns a large negative weight for them — a
    // switch a scammer could flip. The trick signals are kept ≥ 0.
    let model = model();
    let data = model.data();
    for name in [
        "signal.defanged_link",
        "signal.mixed_script",
        "signal.idn_link",
        "signal.lookalike_domain",
        "signal.anchor_mismatch",
        "signal.evasion",
        "signal.shortener",
        "signal.author_impersonation",
    ] {
        let i = data.signal_features.iter().position(|f| f == name).unwrap_or_else(|| panic!("{name} is a feature"));
        for head in &data.heads {
            assert!(head.signal_coefs[i] >= 0.0, "{} {name} = {}", head.category.as_str(), head.signal_coefs[i]);
        }
    }
}

/// A one-head model by hand: every n-gram of `benign` weighs `weight` for
/// scam, nothing else, the stacker passes the text score through.
fn hand_model(benign: &str, weight: f32, text_floor: Option<f64>) -> Model {
    use moderation_core::FeatureConfig;
    use moderation_core::model::{Head, HeadMetrics, ModelData, TrainingInfo};
    let features = FeatureConfig::default();
    let mut columns = BTreeSet::new();
    features.for_each_bucket(benign, |b| {
        columns.insert(b);
    });
    let columns: Vec<u32> = columns.into_iter().collect();
    Model::from_data(ModelData {
        name: "hand".into(),
        created_by: "test".into(),
        features,
        grams: vec!["g".into(); columns.len()],
        columns: columns.clone(),
        signal_features: Vec::new(),
        heads: vec![Head {
            category: Category::Scam,
            text_weights: vec![weight; columns.len()],
            intercept: -3.0,
            text_coefs: vec![1.0],
            signal_coefs: Vec::new(),
            rules: Vec::new(),
            threshold: 0.5,
            metrics: HeadMetrics::default(),
            text_floor,
        }],
        unwanted: None,
        training: TrainingInfo::default(),
        adaptation: None,
        slopes: Vec::new(),
    })
    .unwrap()
}

#[test]
fn legitimate_looking_words_cannot_cancel_a_fired_scam_rule() {
    let benign = "the official documentation and the release notes of the maintainers";
    let scam = format!("Support team here: send your seed phrase to verify your wallet. {benign}");
    let classifier = |model: Model, body: &str| {
        let engine = Engine::builder().model(Arc::new(model)).build().unwrap();
        let v = engine.score(&Post::new("p", body));
        let s = v.signals.iter().find(|s| s.id == "classifier.scam").cloned().unwrap();
        let rule =
            v.signals.iter().any(|s| s.category == Category::Scam && s.id.starts_with("scam.") && s.weight > 0.0);
        (s, rule, v.scores.scam)
    };
    // Unbounded, the benign words wipe out the rule.
    let (free, fired, p_free) = classifier(hand_model(benign, -3.0, None), &scam);
    assert!(fired, "a scam rule fires on the seed-phrase request");
    assert!(free.weight < -10.0, "unbounded text weight {}", free.weight);
    // Bounded at 1: the text lowers the scam log-odds by at most 1 (plus the
    // baseline), the description says so, and the post still scores high.
    let (bounded, _, p_bounded) = classifier(hand_model(benign, -3.0, Some(1.0)), &scam);
    // The intercept (−3) equals the default prior, so the baseline adds 0.
    assert!((bounded.weight + 1.0).abs() < 1e-9, "bounded weight {}", bounded.weight);
    assert!(bounded.description.contains("bounded"), "{}", bounded.description);
    assert!(p_bounded > p_free + 0.3, "bounded {p_bounded:.3} vs unbounded {p_free:.3}");
    // Where no rule fired, the same words keep their full (negative) weight.
    let (plain, fired, _) = classifier(hand_model(benign, -3.0, Some(1.0)), benign);
    assert!(!fired);
    assert!(plain.weight < -10.0, "no rule fired: the text score is not bounded ({})", plain.weight);
}

#[test]
fn a_fitted_weight_never_weakens_a_rule_below_its_hand_set_weight() {
    // The shipped model fitted many rules below their authors' weights
    // (trained on SMS, e-mail and tweets); the engine uses the larger one.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model");
    let engine = Engine::builder().model(Arc::new(Model::load(path).unwrap())).build().unwrap();
    let rules_only = Engine::new().unwrap();
    let mut checked = 0;
    for rule in RuleSet::default_pack().rules.iter().filter(|r| r.weight > 0.0) {
        let Some(ex) = rule.fire.first() else { continue };
        let post = ex.to_post("w");
        let weight_in =
            |e: &Engine| e.score_with(&post, &ex.context()).signals.iter().find(|s| s.id == rule.id).map(|s| s.weight);
        let (Some(with_model), Some(hand)) = (weight_in(&engine), weight_in(&rules_only)) else { continue };
        assert_eq!(hand, rule.weight);
        assert!(with_model >= hand, "{}: {with_model} < hand-set {hand}", rule.id);
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} rules checked");
}

#[test]
fn a_naive_bayes_share_blends_only_the_heads_it_names() {
    let logistic = TrainConfig { learner: train::TextLearner::Logistic { epochs: 3, l2: 1e-3, rate: 0.2 }, ..config() };
    let plain = train_on(|e| !e.1, &logistic);
    let blended = train_on(|e| !e.1, &TrainConfig { naive_bayes_share: vec![(Category::Spam, 0.5)], ..logistic });
    let nb = train_on(|e| !e.1, &TrainConfig { learner: train::TextLearner::NaiveBayes, ..config() });
    let head = |m: &Model, c: Category| -> Vec<f64> {
        let h = m.data().heads.iter().find(|h| h.category == c).expect("head");
        h.text_weights.iter().map(|&w| f64::from(w)).collect()
    };
    // The same columns whatever the learner (chi² chooses them).
    assert_eq!(plain.data().columns, nb.data().columns);
    // The scam head is the logistic one, untouched.
    assert_eq!(head(&plain, Category::Scam), head(&blended, Category::Scam));
    // The spam head moved by half of naive Bayes' ratios, scaled to the
    // logistic weights' root mean square.
    let (p, b, r) = (head(&plain, Category::Spam), head(&blended, Category::Spam), head(&nb, Category::Spam));
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
    let factor = 0.5 * rms(&p) / rms(&r);
    assert!(factor > 0.0);
    let mut moved = 0;
    for ((p, b), r) in p.iter().zip(&b).zip(&r) {
        let want = p + factor * r;
        assert!((b - want).abs() <= 1e-4 * (1.0 + want.abs()), "weight {b} against {want}");
        moved += usize::from((b - p).abs() > 1e-6);
    }
    assert!(moved > p.len() / 2, "{moved} of {} weights moved", p.len());
}

#[test]
fn an_ngram_of_one_source_alone_is_not_a_column_when_sources_are_required() {
    // Two sources (team-written for this test): each has a word of its own
    // in every post; both share the spam and benign vocabulary.
    let mut examples = Vec::new();
    for i in 0..60 {
        for (group, own) in [(0u32, "zebraquux"), (1, "yakfrobnik")] {
            let spam = i % 2 == 0;
            let body = if spam {
                format!("{own} cheap followers offer number {i}, buy now")
            } else {
                format!("{own} thanks for the help with my garden, photo {i}")
            };
            let mut e = Example::new(Post::new(format!("{group}-{i}"), body), vec![(Category::Spam, spam)]);
            e.group = group;
            examples.push(e);
        }
    }
    let train = |min_sources| {
        let config = TrainConfig { heads: vec![Category::Spam], min_sources, ..config() };
        train::train(&Engine::new().unwrap(), &examples, &[("two".into(), examples.len() as u32)], &config, &())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let own = |m: &Model| m.data().grams.iter().filter(|g| g.contains("zebr") || g.contains("frob")).count();
    let shared = |m: &Model| m.data().grams.iter().filter(|g| g.contains("follow") || g.contains("garden")).count();
    let (any, both) = (train(1), train(2));
    assert!(own(&any) > 0, "without the requirement, a source's own word is a column");
    assert_eq!(own(&both), 0, "{:?}", both.data().grams);
    assert!(shared(&both) > 0, "the shared vocabulary stays");
    // Three sources asked of data from two: both are needed, no more.
    let three = train(3);
    assert_eq!(three.data().columns, both.data().columns);
    // One source only (a forum's own posts): the requirement cannot apply.
    let mut single = examples.clone();
    single.iter_mut().for_each(|e| e.group = 7);
    let config = TrainConfig { heads: vec![Category::Spam], min_sources: 2, ..config() };
    let alone = train::train(&Engine::new().unwrap(), &single, &[("one".into(), 120)], &config, &()).unwrap();
    assert_eq!(alone.data().columns, any.data().columns);
}

/// The shipped model with every head's calibration slope set to `slope`.
fn with_slope(slope: f64) -> Model {
    let shipped = Model::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model")).unwrap();
    let mut data = shipped.data().clone();
    data.slopes = vec![slope; data.heads.len()];
    Model::from_data(data).unwrap()
}

#[test]
fn a_calibration_slope_multiplies_the_whole_log_odds_and_survives_the_file() {
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let (one, half) = (with_slope(1.0), with_slope(0.5));
    let engine =
        |m: &Model| Engine::builder().model(Arc::new(Model::from_data(m.data().clone()).unwrap())).build().unwrap();
    let (e1, e2) = (engine(&one), engine(&half));
    // A post that a rule raises and one no rule touches: the slope scales
    // the prior, the rules and the model alike.
    for body in [
        "Binance 10th anniversary giveaway: send 0.5 BTC and receive 1 BTC back instantly!",
        "What time does the meetup start?",
    ] {
        let (a, b) = (e1.score(&Post::new("p", body)), e2.score(&Post::new("p", body)));
        for c in [Category::Spam, Category::Scam] {
            let (za, zb) = (logit(a.scores.get(c)), logit(b.scores.get(c)));
            assert!((zb - 0.5 * za).abs() < 1e-6, "{c:?} on {body:?}: {za} → {zb}");
        }
        let s = b.signals.iter().find(|s| s.id == "classifier.scam").unwrap();
        assert!(s.description.contains("calibration ×0.50"), "{}", s.description);
    }
    // Format 7 round-trips the slopes; a slope out of range is refused.
    let bytes = half.to_bytes();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 7);
    assert_eq!(Model::from_bytes(&bytes).unwrap().data().slopes, half.data().slopes);
    let mut data = half.data().clone();
    data.slopes = vec![9.0; data.heads.len()];
    assert!(matches!(Model::from_data(data), Err(Error::Model(ModelError::Invalid(m))) if m.contains("slope")));
}

#[test]
fn a_capped_rule_counts_at_its_calibrated_weight() {
    // Two spam rules, one capped at review. Under a slope of 0.5 the capped
    // rule stands in the final log-odds at 12 × 0.5 = 6: the rest of the
    // evidence alone (the strong rule) must still decide above the cap.
    let layer = RuleSet::from_toml(
        "cap.toml",
        r#"
[[rule]]
id = "spam.test.capped"
category = "spam"
weight = 12.0
at_most = "review"
description = "capped"
when = { phrases = ["zebrawidget"] }

[[rule]]
id = "spam.test.strong"
category = "spam"
weight = 11.0
description = "strong"
when = { phrases = ["zebragadget"] }
"#,
    )
    .unwrap();
    let engine = Engine::builder().model(Arc::new(with_slope(0.5))).rules(layer).build().unwrap();
    let v = engine.score(&Post::new("p", "zebrawidget zebragadget"));
    assert!(v.has_signal("spam.test.capped") && v.has_signal("spam.test.strong"));
    let z = {
        let p = v.scores.get(Category::Spam);
        (p / (1.0 - p)).ln()
    };
    let level = |z: f64| {
        let p = 1.0 / (1.0 + (-z).exp());
        let d = if p >= 0.97 {
            Decision::Reject
        } else if p >= 0.85 {
            Decision::Hold
        } else if p >= 0.5 {
            Decision::Review
        } else {
            Decision::Allow
        };
        d.max(Decision::Review)
    };
    assert!(level(z - 6.0) >= Decision::Hold, "z {z}");
    // Subtracting the uncalibrated 12 would have capped the post at review.
    assert_eq!(level(z - 12.0), Decision::Review, "z {z}");
    assert_eq!(v.decision, level(z - 6.0), "z {z}: {:?}", v.signals);
}
