//! The default pack, rules only, measured on the team's labeled corpus
//! (`datasets/forum-posts`, English and Japanese). Run with `--nocapture`
//! to see the table. The same team wrote the rules and the corpus, so these
//! figures are not an independent estimate; the floors asserted here only
//! catch a pack or engine that broke.

use moderation_core::{Category, Decision, Engine, Post};
use serde::Deserialize;

#[derive(Deserialize)]
struct Labels {
    spam: u8,
    scam: u8,
    misinformation: u8,
    exposure: u8,
}

#[derive(Deserialize)]
struct Labeled {
    id: String,
    labels: Labels,
    kind: String,
}

/// The corpus README's split: `sha256(id) mod 5 == 0` is the test side.
/// Rule changes made while looking at the corpus look at the train side only.
fn is_test(id: &str) -> bool {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.as_bytes());
    // The digest as a big-endian integer, mod 5.
    digest.iter().fold(0u32, |acc, &b| (acc * 256 + u32::from(b)) % 5) == 0
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
}

impl Counts {
    fn precision(self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }
    fn recall(self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }
    fn f1(self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

struct Report {
    per_category: [Counts; 4],
    benign: u32,
    benign_flagged: u32,
    hard_benign: u32,
    hard_benign_flagged: u32,
}

fn evaluate(engine: &Engine, file: &str, test_only: bool) -> Report {
    let path = format!("{}/../datasets/forum-posts/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut r = Report {
        per_category: [Counts::default(); 4],
        benign: 0,
        benign_flagged: 0,
        hard_benign: 0,
        hard_benign_flagged: 0,
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let post = Post::from_json(line).expect("corpus posts parse");
        let labeled: Labeled = serde_json::from_str(line).expect("labels parse");
        if test_only && !is_test(&labeled.id) {
            continue;
        }
        let v = engine.score(&post);
        let truth = [labeled.labels.spam, labeled.labels.scam, labeled.labels.misinformation, labeled.labels.exposure];
        for (i, c) in Category::ALL.into_iter().enumerate() {
            // A category is flagged when its score reaches its review threshold.
            let flagged = v.scores.get(c) >= 0.5;
            let counts = &mut r.per_category[i];
            match (flagged, truth[i] == 1) {
                (true, true) => counts.tp += 1,
                (true, false) => counts.fp += 1,
                (false, true) => counts.fn_ += 1,
                _ => {}
            }
        }
        if truth.iter().all(|&t| t == 0) {
            r.benign += 1;
            let flagged = v.decision != Decision::Allow;
            r.benign_flagged += u32::from(flagged);
            // Warnings, quoted scams, "is this real?" questions: posts that
            // share the scams' words.
            if !matches!(labeled.kind.as_str(), "benign-question" | "benign-support-ticket" | "benign-price-opinion") {
                r.hard_benign += 1;
                r.hard_benign_flagged += u32::from(flagged);
            }
        }
    }
    r
}

#[test]
fn default_pack_on_the_team_corpus() {
    let engine = Engine::new().unwrap();
    println!("rules only ({}), category flagged at score >= 0.5", engine.rules_version(None));
    println!("{:<8} {:<15} {:>9} {:>7} {:>6}  (tp/fp/fn)", "lang", "category", "precision", "recall", "F1");
    for (lang, file, test_only) in [
        ("en", "en.jsonl", false),
        ("ja", "ja.jsonl", false),
        ("en/test", "en.jsonl", true),
        ("ja/test", "ja.jsonl", true),
    ] {
        let r = evaluate(&engine, file, test_only);
        for (i, c) in Category::ALL.into_iter().enumerate() {
            let k = r.per_category[i];
            println!(
                "{lang:<8} {:<15} {:>9.3} {:>7.3} {:>6.3}  ({}/{}/{})",
                c.as_str(),
                k.precision(),
                k.recall(),
                k.f1(),
                k.tp,
                k.fp,
                k.fn_
            );
        }
        println!(
            "{lang:<8} benign posts not allowed: {}/{} (hard look-alikes: {}/{})",
            r.benign_flagged, r.benign, r.hard_benign_flagged, r.hard_benign
        );
        if test_only {
            continue;
        }
        let scam = r.per_category[1];
        assert!(scam.precision() >= FLOOR_SCAM_PRECISION, "{lang}: scam precision {}", scam.precision());
        assert!(scam.recall() >= FLOOR_SCAM_RECALL, "{lang}: scam recall {}", scam.recall());
        assert!(
            f64::from(r.benign_flagged) <= MAX_BENIGN_FLAGGED * f64::from(r.benign),
            "{lang}: {} of {} benign posts not allowed",
            r.benign_flagged,
            r.benign
        );
    }
}

// Floors about 10 points under what the pack measured when these were set
// (scam precision .87/.87, recall .46/.42, benign not allowed 7%/7%).
const FLOOR_SCAM_PRECISION: f64 = 0.75;
const FLOOR_SCAM_RECALL: f64 = 0.35;
const MAX_BENIGN_FLAGGED: f64 = 0.15;
