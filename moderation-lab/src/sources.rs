//! Every labelled text source in the shared datasets folder, read whole and
//! deduplicated across sources: what the leave-one-source-out protocol
//! (`moderation transfer`) holds out one at a time and what the shipped
//! model is trained on.
//!
//! A source is one platform and kind of text. The SMS Spam Collection and
//! Mishra–Soni are one source (most Mishra–Soni texts are SMS Spam
//! Collection texts). Sources whose README gives no licence, or research use
//! only, are *evaluation only*: they are held out and never trained on.
//! The team's own corpus (`datasets/forum-posts`) is a source too, named as
//! team-written wherever it appears.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context as _, bail};
use moderation_core::train::Example;
use moderation_core::{Category, Post};
use unicode_normalization::UnicodeNormalization;

use crate::datasets::{self, PUBLIC_SETS};

/// Where a source's texts may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Use {
    /// Train and evaluate.
    Train,
    /// Held out only (no licence, or research use only).
    EvaluationOnly,
}

/// One source's description and counts after deduplication.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Source {
    /// Short name (`sms`, `janitr`, …).
    pub name: &'static str,
    /// The dataset folder(s) it is read from.
    pub from: &'static str,
    /// Train-and-evaluate or evaluation only.
    pub usage: Use,
    /// Written by the team (not third-party data).
    pub team_written: bool,
    /// Texts kept after deduplication.
    pub texts: usize,
    /// Unwanted (spam or scam) texts among them.
    pub positives: usize,
}

impl Source {
    /// Has at least 100 texts of each class: used to choose models and
    /// thresholds (smaller sources are only reported).
    pub fn choose(&self) -> bool {
        self.positives >= 100 && self.texts - self.positives >= 100
    }

    /// May be trained on.
    pub fn trainable(&self) -> bool {
        self.usage == Use::Train
    }
}

/// One labelled text.
#[derive(Debug, Clone)]
pub struct Text {
    /// Index into [`Corpus::sources`].
    pub source: usize,
    /// `<dataset>/<file>:<n>`.
    pub id: String,
    /// The post (title when the source has one, body).
    pub post: Post,
    /// Spam or scam.
    pub unwanted: bool,
    /// Scam, when the source says (`None`: it does not distinguish).
    pub scam: Option<bool>,
    /// The source labels scams only: its negatives say nothing about spam.
    pub scam_only: bool,
}

impl Text {
    /// The labels of the model's heads: `scam`, and `spam` meaning unwanted
    /// but not a scam (unknown when the source does not separate scams and
    /// the text is unwanted).
    pub fn labels(&self) -> Vec<(Category, bool)> {
        match self.scam {
            Some(scam) => vec![(Category::Scam, scam), (Category::Spam, self.unwanted && !scam)],
            // Pump-group coordination is labelled as such (scam), its
            // "other" class is no statement about spam.
            None if self.scam_only => vec![(Category::Scam, self.unwanted)],
            None => vec![(Category::Spam, self.unwanted)],
        }
    }
}

/// All sources and their texts.
#[derive(Debug, Default)]
pub struct Corpus {
    pub sources: Vec<Source>,
    pub texts: Vec<Text>,
    /// Texts dropped as duplicates of an earlier text (same or other source).
    pub duplicates: usize,
}

impl Corpus {
    /// Training examples from the trainable sources other than `held_out`,
    /// each source weighted `(largest source / this source)^balance` and the
    /// weights scaled to mean 1 (`balance` 0: plain concatenation; 1: every
    /// source counts the same in all).
    pub fn examples(&self, held_out: Option<usize>, balance: f64) -> Vec<Example> {
        let used = |s: usize| self.sources[s].trainable() && Some(s) != held_out;
        let mut counts = vec![0usize; self.sources.len()];
        for t in self.texts.iter().filter(|t| used(t.source)) {
            counts[t.source] += 1;
        }
        let largest = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
        let raw: Vec<f64> =
            counts.iter().map(|&n| if n == 0 { 0.0 } else { (largest / n as f64).powf(balance) }).collect();
        let total: f64 = counts.iter().zip(&raw).map(|(&n, &w)| n as f64 * w).sum();
        let n: usize = counts.iter().sum();
        let scale = n as f64 / total.max(1e-12);
        self.texts
            .iter()
            .filter(|t| used(t.source))
            .map(|t| Example {
                post: t.post.clone(),
                labels: t.labels(),
                weight: raw[t.source] * scale,
                group: t.source as u32,
            })
            .collect()
    }

    /// Provenance for a model file: texts per source used.
    pub fn provenance(&self, held_out: Option<usize>) -> Vec<(String, u32)> {
        self.sources
            .iter()
            .enumerate()
            .filter(|(i, s)| s.trainable() && Some(*i) != held_out)
            .map(|(_, s)| {
                let name = if s.team_written { format!("{} (team-written)", s.name) } else { s.name.to_string() };
                (name, s.texts as u32)
            })
            .collect()
    }
}

/// The key that decides "the same text": NFKC, lower case, whitespace
/// collapsed (as the splits README does, with lower case for case folding).
pub fn dedup_key(text: &str) -> String {
    let folded: String = text.nfkc().flat_map(char::to_lowercase).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads every source. `root` is the shared datasets folder (`None`: only
/// the team corpus); `team` the team corpus folder.
pub fn load(root: Option<&Path>, team: &Path) -> anyhow::Result<Corpus> {
    let mut corpus = Corpus::default();
    let mut seen: HashSet<String> = HashSet::new();
    // `scam_only`: the source labels scams only, so its negatives say
    // nothing about spam.
    let mut add = |corpus: &mut Corpus, name, from, usage, team_written, scam_only: bool, rows: Rows| {
        let source = corpus.sources.len();
        let (mut texts, mut positives) = (0, 0);
        for (id, post, unwanted, scam) in rows {
            let key = dedup_key(&format!("{}\n{}", post.title.as_deref().unwrap_or(""), post.body));
            if key.is_empty() || !seen.insert(key) {
                corpus.duplicates += 1;
                continue;
            }
            texts += 1;
            positives += usize::from(unwanted);
            corpus.texts.push(Text { source, id, post, unwanted, scam, scam_only });
        }
        corpus.sources.push(Source { name, from, usage, team_written, texts, positives });
    };
    // The team corpus first: it is what a forum looks like.
    let team_rows = datasets::load_forum_posts(team)?
        .into_iter()
        .map(|r| {
            let scam = r.columns["scam"];
            let unwanted = r.columns["spam_or_scam"];
            (format!("forum-posts/{}", r.post.id), r.post, unwanted, Some(scam))
        })
        .collect();
    add(&mut corpus, "forum-posts", "datasets/forum-posts", Use::Train, true, false, team_rows);
    let Some(root) = root else { return Ok(corpus) };

    let public = |name: &str| PUBLIC_SETS.iter().find(|s| s.name == name).expect("a known public set");
    let split_rows = |name: &str| -> anyhow::Result<Rows> {
        let set = public(name);
        Ok(datasets::load_public(root, set)?
            .into_iter()
            .map(|r| {
                let unwanted = r.columns[set.unwanted_column];
                let scam = set.scam_column.map(|c| r.columns[c]);
                (format!("{}/{}", set.name, r.post.id), r.post, unwanted, scam)
            })
            .collect())
    };
    // Mishra–Soni first: it separates smishing (scam) from spam.
    let mut sms = split_rows("sms-smishing-mishra-soni")?;
    sms.extend(split_rows("sms-spam-collection")?);
    add(&mut corpus, "sms", "sms-smishing-mishra-soni + sms-spam-collection", Use::Train, false, false, sms);
    add(
        &mut corpus,
        "janitr",
        "crypto-scam-x-posts-janitr",
        Use::Train,
        false,
        false,
        split_rows("crypto-scam-x-posts-janitr")?,
    );
    add(&mut corpus, "thai-sms", "thai-sms-spam-scam", Use::Train, false, false, split_rows("thai-sms-spam-scam")?);
    add(&mut corpus, "crypto-pump", "crypto-pump-telegram-uzh", Use::Train, false, true, read_pump(root)?);
    add(&mut corpus, "spamassassin", "spamassassin-public-corpus", Use::Train, false, false, read_spamassassin(root)?);
    add(
        &mut corpus,
        "indonesian-sms",
        "indonesian-sms-spam",
        Use::EvaluationOnly,
        false,
        false,
        split_rows("indonesian-sms-spam")?,
    );
    add(&mut corpus, "turkish-sms", "turkish-sms-spam", Use::EvaluationOnly, false, false, read_turkish(root)?);
    add(
        &mut corpus,
        "vietnamese-reviews",
        "vietnamese-spam-reviews-vispam",
        Use::EvaluationOnly,
        false,
        false,
        read_vietnamese(root)?,
    );
    add(
        &mut corpus,
        "russian-telegram",
        "russian-telegram-spam-antispambot",
        Use::EvaluationOnly,
        false,
        false,
        read_russian(root)?,
    );
    add(
        &mut corpus,
        "chinese-email",
        "chinese-spam-email-si2024",
        Use::EvaluationOnly,
        false,
        false,
        read_chinese(root)?,
    );
    Ok(corpus)
}

/// A source's rows: id, post, unwanted, scam (when the source says).
type Rows = Vec<(String, Post, bool, Option<bool>)>;

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Pump-and-dump channels: labels 0–4 are pump coordination (a scam a
/// moderator removes), 5 everything else posted there. The project's
/// tokenizer artefacts are undone first (`Binance_CEX` → `Binance`,
/// `UNKNOWN_URL: host` → `host`, spaces before punctuation), so a model
/// learns the scam, not the tokenizer.
fn read_pump(root: &Path) -> anyhow::Result<Rows> {
    let dir = root.join("crypto-pump-telegram-uzh");
    let mut out = Vec::new();
    for file in ["snn_pump_messages_combined.csv", "labeled_messages_combined.csv"] {
        let mut reader = csv::Reader::from_path(dir.join(file)).with_context(|| format!("cannot read {file}"))?;
        for (n, record) in reader.records().enumerate() {
            let record = record.with_context(|| format!("{file}: record {}", n + 1))?;
            let (Some(label), Some(message)) = (record.get(0), record.get(4)) else { continue };
            let Ok(label) = label.trim().parse::<u8>() else { bail!("{file}: record {}: label {label:?}", n + 1) };
            let text = clean_pump(message);
            if text.trim().is_empty() {
                continue;
            }
            let id = format!("crypto-pump-telegram-uzh/{file}:{}", n + 1);
            out.push((id.clone(), Post::new(id, text), label <= 4, None));
        }
    }
    Ok(out)
}

fn clean_pump(message: &str) -> String {
    let mut s = message.replace("UNKNOWN_URL: ", "").replace("UNKNOWN_URL", "");
    for tag in ["_CEX", "_DEX"] {
        s = s.replace(tag, "");
    }
    for p in [" ,", " .", " :", " !", " ?", " ;", " )"] {
        s = s.replace(p, &p[1..]);
    }
    s.replace("( ", "(")
}

fn read_spamassassin(root: &Path) -> anyhow::Result<Rows> {
    let (messages, _skipped) = crate::mail::read_spamassassin(&root.join("spamassassin-public-corpus"))?;
    Ok(messages
        .into_iter()
        .map(|m| {
            let id = format!("spamassassin-public-corpus/{}", m.id);
            let mut post = Post::new(id.clone(), m.body);
            if !m.subject.trim().is_empty() {
                post.title = Some(m.subject);
            }
            (id, post, m.spam, None)
        })
        .collect())
}

fn read_turkish(root: &Path) -> anyhow::Result<Rows> {
    let file = "TurkishSMSCollection.csv";
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(root.join("turkish-sms-spam").join(file))
        .with_context(|| format!("cannot read {file}"))?;
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{file}: record {}", n + 1))?;
        let (Some(text), Some(group)) = (record.get(0), record.get(1)) else { continue };
        let id = format!("turkish-sms-spam/{file}:{}", n + 1);
        out.push((id.clone(), Post::new(id, text.to_string()), group.trim() == "1", None));
    }
    Ok(out)
}

fn read_vietnamese(root: &Path) -> anyhow::Result<Rows> {
    let mut out = Vec::new();
    for file in ["train.csv", "dev.csv", "test.csv"] {
        let mut reader = csv::Reader::from_path(root.join("vietnamese-spam-reviews-vispam").join(file))
            .with_context(|| format!("cannot read {file}"))?;
        let headers = reader.headers()?.clone();
        let col = |name: &str| headers.iter().position(|h| h == name).with_context(|| format!("{file}: no {name}"));
        let (comment, label) = (col("Comment")?, col("Label")?);
        for (n, record) in reader.records().enumerate() {
            let record = record.with_context(|| format!("{file}: record {}", n + 1))?;
            let id = format!("vietnamese-spam-reviews-vispam/{file}:{}", n + 1);
            let text = record.get(comment).unwrap_or("").to_string();
            out.push((id.clone(), Post::new(id, text), record.get(label) == Some("1"), None));
        }
    }
    Ok(out)
}

/// Positive only: every message is spam.
fn read_russian(root: &Path) -> anyhow::Result<Rows> {
    let text = read(&root.join("russian-telegram-spam-antispambot").join("spam.txt"))?;
    Ok(text
        .split("\n\n")
        .enumerate()
        .filter(|(_, m)| !m.trim().is_empty())
        .map(|(n, m)| {
            let id = format!("russian-telegram-spam-antispambot/spam.txt:{}", n + 1);
            (id.clone(), Post::new(id, m.trim().to_string()), true, None)
        })
        .collect())
}

fn read_chinese(root: &Path) -> anyhow::Result<Rows> {
    let file = "Chinese_Spam_detection_dataset.txt";
    let text = read(&root.join("chinese-spam-email-si2024").join(file))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let Some((label, body)) = line.split_once(char::is_whitespace) else { continue };
        let spam = match label {
            "spam" | "sapm" => true,
            "ham" => false,
            _ => continue,
        };
        let id = format!("chinese-spam-email-si2024/{file}:{}", n + 1);
        out.push((id.clone(), Post::new(id, body.trim().to_string()), spam, None));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(sizes: &[usize]) -> Corpus {
        let mut c = Corpus::default();
        for (s, &n) in sizes.iter().enumerate() {
            c.sources.push(Source {
                name: ["a", "b", "c"][s],
                from: "test",
                usage: Use::Train,
                team_written: false,
                texts: n,
                positives: n / 2,
            });
            for i in 0..n {
                let id = format!("{s}:{i}");
                let post = Post::new(id.clone(), format!("text {s} {i}"));
                c.texts.push(Text { source: s, id, post, unwanted: i % 2 == 0, scam: None, scam_only: false });
            }
        }
        c
    }

    #[test]
    fn the_same_text_is_the_same_whatever_its_width_case_and_spacing() {
        assert_eq!(dedup_key("Ｓｅｎｄ  0.1 ETH\n now"), dedup_key("send 0.1 eth now"));
        assert_ne!(dedup_key("send 0.1 eth"), dedup_key("send 0.2 eth"));
    }

    #[test]
    fn balance_one_gives_every_source_the_same_weight_and_holds_one_out() {
        let c = corpus(&[100, 10, 40]);
        let total = |ex: &[Example], g: u32| ex.iter().filter(|e| e.group == g).map(|e| e.weight).sum::<f64>();
        let ex = c.examples(None, 1.0);
        assert_eq!(ex.len(), 150);
        let (a, b, cc) = (total(&ex, 0), total(&ex, 1), total(&ex, 2));
        assert!((a - b).abs() < 1e-9 && (a - cc).abs() < 1e-9, "{a} {b} {cc}");
        let mean = ex.iter().map(|e| e.weight).sum::<f64>() / ex.len() as f64;
        assert!((mean - 1.0).abs() < 1e-9);
        // Balance 0: every text weighs 1. Holding a source out removes it.
        assert!(c.examples(None, 0.0).iter().all(|e| (e.weight - 1.0).abs() < 1e-12));
        let held = c.examples(Some(1), 0.5);
        assert_eq!(held.len(), 140);
        assert!(held.iter().all(|e| e.group != 1));
        assert_eq!(c.provenance(Some(1)).len(), 2);
    }

    #[test]
    fn pump_channel_negatives_say_nothing_about_spam() {
        let t = |scam, scam_only| Text {
            source: 0,
            id: "x".into(),
            post: Post::new("x", "y"),
            unwanted: false,
            scam,
            scam_only,
        };
        assert_eq!(t(None, true).labels(), vec![(Category::Scam, false)]);
        assert_eq!(t(None, false).labels(), vec![(Category::Spam, false)]);
        assert_eq!(t(Some(false), false).labels(), vec![(Category::Scam, false), (Category::Spam, false)]);
    }
}
