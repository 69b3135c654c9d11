//! Labelled data for training and evaluation: the canonical splits of the
//! public sets in the shared datasets folder (read in place, never copied)
//! and the team's own forum corpus in `datasets/forum-posts`.
//!
//! Each public set's rows are named by `<file>:<n>` ids in
//! `splits/<set>.tsv` (see its README); this module reads each set's own
//! file format and joins the texts to those ids.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use moderation_core::train::Example;
use moderation_core::{Category, Post};
use sha2::{Digest, Sha256};

/// Which side of a split a post is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Train, tune and pick thresholds here.
    Train,
    /// Report here, nothing else.
    Test,
}

/// One labelled post.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// Train or test side.
    pub side: Side,
    /// The post (body = the text).
    pub post: Post,
    /// The split's binary columns (`y_spam` → true), as the README defines them.
    pub columns: BTreeMap<String, bool>,
    /// Labels for the model's heads: `scam`, and `spam` meaning unwanted
    /// but not a scam. A head the set says nothing about is absent.
    pub labels: Vec<(Category, bool)>,
}

impl Labelled {
    /// As a training example.
    pub fn example(&self) -> Example {
        Example::new(self.post.clone(), self.labels.clone())
    }
}

/// A public set with a canonical split.
#[derive(Debug, Clone, Copy)]
pub struct PublicSet {
    /// Folder name under the datasets root.
    pub name: &'static str,
    /// May the shipped model be trained on it (per its README's licence note)?
    pub trainable: bool,
    /// The column meaning "scam", if the set has one.
    pub scam_column: Option<&'static str>,
    /// The column meaning "unwanted" (spam, scam or both).
    pub unwanted_column: &'static str,
}

/// The public sets with canonical splits.
pub const PUBLIC_SETS: [PublicSet; 5] = [
    PublicSet { name: "sms-spam-collection", trainable: true, scam_column: None, unwanted_column: "y_spam" },
    PublicSet {
        name: "crypto-scam-x-posts-janitr",
        trainable: true,
        scam_column: Some("y_scam"),
        unwanted_column: "y_scam_or_spam",
    },
    PublicSet {
        name: "sms-smishing-mishra-soni",
        trainable: true,
        scam_column: Some("y_smishing"),
        unwanted_column: "y_spam_or_smishing",
    },
    PublicSet {
        name: "thai-sms-spam-scam",
        trainable: true,
        scam_column: Some("y_scam"),
        unwanted_column: "y_scam_or_spam",
    },
    // No licence: evaluation only, never in the shipped model.
    PublicSet {
        name: "indonesian-sms-spam",
        trainable: false,
        scam_column: Some("y_fraud"),
        unwanted_column: "y_fraud_or_promo",
    },
];

/// The shared datasets folder: `--datasets` if given (an error when it has
/// no `splits/`), else `MODERATION_DATASETS`, else `../shared/datasets`;
/// `None` when neither of those has `splits/` (a fresh clone).
pub fn root(explicit: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    if let Some(p) = explicit {
        if !p.exists() {
            bail!(
                "the datasets folder {} does not exist (the shared datasets sit beside the checkout, \
                 in ../shared/datasets; a clone without them trains with `--corpus-only` or `--input FILE`)",
                p.display()
            );
        }
        if !p.is_dir() {
            bail!("{} is not a folder: `--datasets` names the shared datasets folder", p.display());
        }
        if !p.join("splits").is_dir() {
            bail!("{} has no splits/ folder: not the shared datasets", p.display());
        }
        return Ok(Some(p.to_path_buf()));
    }
    let chosen = std::env::var_os("MODERATION_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/datasets"));
    Ok(chosen.join("splits").is_dir().then_some(chosen))
}

/// Loads one public set's split, both sides.
pub fn load_public(root: &Path, set: &PublicSet) -> anyhow::Result<Vec<Labelled>> {
    let tsv_path = root.join("splits").join(format!("{}.tsv", set.name));
    let tsv = std::fs::read_to_string(&tsv_path).with_context(|| format!("cannot read {}", tsv_path.display()))?;
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().context("empty split file")?.split('\t').collect();
    if header.len() < 4 || header[0] != "id" || header[1] != "split" {
        bail!("{}: unexpected header {header:?}", tsv_path.display());
    }
    for column in [Some(set.unwanted_column), set.scam_column].into_iter().flatten() {
        if !header[3..].contains(&column) {
            bail!("{}: no column {column} (header {header:?})", tsv_path.display());
        }
    }
    let texts = read_texts(root, set.name)?;
    let mut out = Vec::new();
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split('\t').collect();
        if cells.len() != header.len() {
            bail!("{}:{}: {} cells, {} expected", tsv_path.display(), n + 2, cells.len(), header.len());
        }
        let id = cells[0];
        let side = match cells[1] {
            "train" => Side::Train,
            "test" => Side::Test,
            other => bail!("{}:{}: unknown side {other:?}", tsv_path.display(), n + 2),
        };
        let text = texts.get(id).with_context(|| format!("{}: no text for id {id}", set.name))?;
        let columns: BTreeMap<String, bool> =
            header[3..].iter().zip(&cells[3..]).map(|(h, v)| (h.to_string(), *v == "1")).collect();
        let unwanted = columns[set.unwanted_column];
        let labels = match set.scam_column {
            Some(c) => vec![(Category::Scam, columns[c]), (Category::Spam, unwanted && !columns[c])],
            None => vec![(Category::Spam, unwanted)],
        };
        out.push(Labelled { side, post: Post::new(id, text.clone()), columns, labels });
    }
    Ok(out)
}

/// Reads a set's texts keyed by split id.
fn read_texts(root: &Path, set: &str) -> anyhow::Result<HashMap<String, String>> {
    let dir = root.join(set);
    let read = |file: &str| {
        let p = dir.join(file);
        std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))
    };
    let mut out = HashMap::new();
    match set {
        "sms-spam-collection" => {
            for (n, line) in read("SMSSpamCollection")?.lines().enumerate() {
                let text = line.split_once('\t').map_or("", |(_, t)| t);
                out.insert(format!("SMSSpamCollection:{}", n + 1), text.to_string());
            }
        }
        "crypto-scam-x-posts-janitr" => {
            for (n, line) in read("sample.jsonl")?.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value =
                    serde_json::from_str(line).with_context(|| format!("sample.jsonl:{}", n + 1))?;
                let text = v.get("text").and_then(|t| t.as_str()).unwrap_or("");
                out.insert(format!("sample.jsonl:{}", n + 1), text.to_string());
            }
        }
        "sms-smishing-mishra-soni" | "indonesian-sms-spam" => {
            let (file, column) = if set == "indonesian-sms-spam" {
                ("dataset_sms_spam_v1.csv", "teks")
            } else {
                ("Dataset_5971.csv", "TEXT")
            };
            let mut reader = csv::Reader::from_path(dir.join(file)).with_context(|| format!("cannot read {file}"))?;
            let at = reader
                .headers()?
                .iter()
                .position(|h| h == column)
                .with_context(|| format!("{file}: no column {column}"))?;
            for (n, record) in reader.records().enumerate() {
                let record = record.with_context(|| format!("{file}: record {}", n + 1))?;
                out.insert(format!("{file}:{}", n + 1), record.get(at).unwrap_or("").to_string());
            }
        }
        "thai-sms-spam-scam" => {
            let raw = dir.join("raw_data");
            let mut files: Vec<_> = std::fs::read_dir(&raw)
                .with_context(|| format!("cannot list {}", raw.display()))?
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect();
            files.sort();
            for f in files {
                for (n, line) in read(&format!("raw_data/{f}"))?.lines().enumerate() {
                    let text = line.split_once('|').map_or("", |(_, t)| t);
                    out.insert(format!("raw_data/{f}:{}", n + 1), text.to_string());
                }
            }
        }
        other => bail!("unknown dataset {other}"),
    }
    Ok(out)
}

/// The team's corpus: every `*.jsonl` in the folder `path` (or the one
/// file `path`), posts with a `labels` object. A post is on the test side when SHA-256 of its id is 0 mod 5.
pub fn load_forum_posts(path: &Path) -> anyhow::Result<Vec<Labelled>> {
    let mut files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        for row in posts_in(&path, &text) {
            let (at, post, v) = row?;
            let at = || at.clone();
            let label = |name: &str| v["labels"][name].as_i64().map(|x| x == 1);
            let (Some(spam), Some(scam)) = (label("spam"), label("scam")) else {
                bail!("{}: labels.spam and labels.scam are required", at());
            };
            let mut columns = BTreeMap::new();
            for name in ["spam", "scam", "misinformation", "exposure"] {
                columns.insert(name.to_string(), label(name).unwrap_or(false));
            }
            columns.insert("spam_or_scam".into(), spam || scam);
            out.push(Labelled {
                side: forum_side(&post.id),
                labels: vec![(Category::Scam, scam), (Category::Spam, spam && !scam)],
                post,
                columns,
            });
        }
    }
    Ok(out)
}

/// The posts of a JSON-lines file, blank lines skipped: where each is
/// (`file:line`), the post and the whole line as JSON (for its labels).
fn posts_in<'a>(
    path: &'a Path,
    text: &'a str,
) -> impl Iterator<Item = anyhow::Result<(String, Post, serde_json::Value)>> + 'a {
    text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()).map(move |(n, line)| {
        let at = format!("{}:{}", path.display(), n + 1);
        let post = Post::from_json(line).with_context(|| at.clone())?;
        let v: serde_json::Value = serde_json::from_str(line).with_context(|| at.clone())?;
        Ok((at, post, v))
    })
}

/// One moderator decision as a labelled post.
pub use moderation_core::labels::{Labelled as Decision, cap_moderator_share};

/// A forum's labelled posts for `moderation train --base`: JSON lines that
/// [`Decision::from_json`] reads (a post with `labels`, e.g. the lines of
/// `GET /v1/export`, or with the final `action` of a forum's past
/// moderation). Lines that say nothing about spam or scam (a removal for
/// another reason, an escalation) are skipped; a line that is not a post,
/// or a label or action this does not know, is an error naming the file
/// and line.
pub fn load_decisions(path: &Path) -> anyhow::Result<Vec<Decision>> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(text).map_err(|e| {
        anyhow::anyhow!("{}: not UTF-8 (invalid byte at offset {})", path.display(), e.utf8_error().valid_up_to())
    })?;
    let mut out = Vec::new();
    for row in posts_in(path, &text) {
        let (at, post, v) = row?;
        if let Some(d) = Decision::from_json(post, &v).with_context(|| at.clone())? {
            out.push(d);
        }
    }
    Ok(out)
}

/// The corpus README's split: ids whose SHA-256, read as a big-endian
/// integer, is 0 mod 5 are test.
pub fn forum_side(id: &str) -> Side {
    let d = Sha256::digest(id.as_bytes());
    if d.iter().fold(0u32, |acc, &b| (acc * 256 + u32::from(b)) % 5) == 0 { Side::Test } else { Side::Train }
}

#[cfg(test)]
mod decision_tests {
    use super::*;

    fn write(name: &str, lines: &[String]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("moderation-decisions-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("d.jsonl");
        std::fs::write(&p, lines.join("\n")).unwrap();
        p
    }

    #[test]
    fn past_actions_become_spam_and_scam_labels() {
        let lines: Vec<String> = [
            r#"{"id":"a","body":"x","action":"approve"}"#,
            r#"{"id":"b","body":"x","action":"remove","reason":"scam"}"#,
            r#"{"id":"c","body":"x","action":"remove","reason":"spam"}"#,
            r#"{"id":"d","body":"x","action":"remove","reason":"off-topic"}"#,
            r#"{"id":"e","body":"x","action":"escalate"}"#,
            r#"{"id":"f","body":"x","action":"remove","reason":"misinformation"}"#,
        ]
        .map(String::from)
        .to_vec();
        let d = load_decisions(&write("actions", &lines)).unwrap();
        let got: Vec<(&str, Option<bool>, Option<bool>)> = d
            .iter()
            .map(|d| (d.example.post.id.as_str(), d.example.label(Category::Spam), d.example.label(Category::Scam)))
            .collect();
        assert_eq!(
            got,
            vec![("a", Some(false), Some(false)), ("b", Some(false), Some(true)), ("c", Some(true), Some(false)),]
        );
        let bad =
            load_decisions(&write("badaction", &[r#"{"id":"a","body":"x","action":"nuke"}"#.into()])).unwrap_err();
        assert!(format!("{bad:#}").contains("d.jsonl:1") && format!("{bad:#}").contains("action must be"), "{bad:#}");
    }

    #[test]
    fn one_moderator_cannot_be_more_than_the_share() {
        let line = |i: usize, who: &str| {
            format!(
                r#"{{"id":"{i}","body":"post {i}","labels":{{"spam":{},"scam":0}},"source":{{"decided_by":"{who}"}}}}"#,
                i % 2
            )
        };
        let mut lines: Vec<String> = (0..80).map(|i| line(i, "mallory")).collect();
        lines.extend((80..100).map(|i| line(i, "alice")));
        let mut d = load_decisions(&write("share", &lines)).unwrap();
        let shares = cap_moderator_share(&mut d, 0.5);
        // 20 of alice's: mallory keeps 20, her latest.
        assert_eq!(d.len(), 40);
        assert_eq!(d.iter().filter(|x| x.moderator.as_deref() == Some("mallory")).count(), 20);
        assert_eq!(d[0].example.post.id, "60");
        assert_eq!(shares[0].moderator, "mallory");
        assert!((shares[0].before - 0.8).abs() < 1e-9 && (shares[0].after - 0.5).abs() < 1e-9, "{shares:?}");
        // One moderator alone, or a share of 1: nothing is left out.
        let mut solo = load_decisions(&write("solo", &lines[..80])).unwrap();
        cap_moderator_share(&mut solo, 0.5);
        assert_eq!(solo.len(), 80);
        let mut all = load_decisions(&write("all", &lines)).unwrap();
        cap_moderator_share(&mut all, 1.0);
        assert_eq!(all.len(), 100);
    }
}
