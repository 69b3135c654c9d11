//! A forum's moderator decisions as labels, and models judged on them.
//!
//! A decision line is a post with its `labels` (the lines of the service's
//! `GET /v1/export`) or with the final `action` of a forum's past
//! moderation; [`Labelled::from_json`] reads either into an [`Example`] for
//! [`adapt`](crate::adapt::adapt). [`cap_moderator_share`] keeps one
//! moderator from teaching a forum's model alone, and [`evaluate`] measures
//! an engine on held-out labels: what a learner compares a candidate model
//! and the live one by before promoting.
//!
//! ```
//! use moderation_core::labels::{Labelled, evaluate};
//! use moderation_core::{Category, Engine};
//!
//! let line = r#"{"id": "7", "body": "Send 1 BTC, get 2 back", "action": "remove", "reason": "scam"}"#;
//! let labelled = Labelled::parse(line)?.expect("a removal for scam is a label");
//! assert_eq!(labelled.example.label(Category::Scam), Some(true));
//! assert_eq!(labelled.example.label(Category::Spam), Some(false));
//!
//! let engine = Engine::builder().build()?;
//! let judged = evaluate(&engine, &[labelled.example]);
//! assert_eq!((judged.labels, judged.positives, judged.negatives), (1, 1, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::classifier::evaluation::average_precision;
use crate::engine::Engine;
use crate::post::{Example, Post};
use crate::vocab::{Category, Decision};

/// The categories a forum's decisions teach (a removal for `misinformation`
/// or `exposure` is a negative for both).
pub const TAUGHT: [Category; 2] = [Category::Spam, Category::Scam];

/// One moderator decision as a labelled post.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// The post and its spam / scam labels.
    pub example: Example,
    /// Who decided (`source.decided_by` of an export line, or
    /// `decided_by`), when the line says.
    pub moderator: Option<String>,
}

/// Why a decision line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LabelError(pub String);

impl Labelled {
    /// Reads one decision line: a post (as [`Post::from_json`] reads it)
    /// with `labels` (`{"spam": 0|1, "scam": 0|1, …}`) or with the final
    /// `action` (`"approve"`, or `"remove"` with a `reason`: `spam` or
    /// `scam`; a removal for another reason, misinformation or a leaked
    /// secret included, says nothing about spam or scam). A category the
    /// line does not mention is unknown;
    /// `spam` means unwanted but not a scam when both are given. `None`: the
    /// line says nothing about spam or scam (a removal for another reason,
    /// an escalation).
    pub fn parse(line: &str) -> Result<Option<Labelled>, LabelError> {
        let post = Post::from_json(line).map_err(|e| LabelError(e.to_string()))?;
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| LabelError(e.to_string()))?;
        Labelled::from_json(post, &v)
    }

    /// [`Labelled::parse`] of a line already decoded: `post` from it, `v` its JSON.
    pub fn from_json(post: Post, v: &serde_json::Value) -> Result<Option<Labelled>, LabelError> {
        let label = |name: &str| -> Result<Option<bool>, LabelError> {
            if v.get("labels").is_none()
                && let Some(action) = v.get("action")
            {
                let reason = v["reason"].as_str().unwrap_or("");
                return match action.as_str() {
                    Some("approve" | "approved" | "restore" | "restored") => Ok(Some(false)),
                    Some("remove" | "removed") if TAUGHT.iter().any(|c| c.as_str() == reason) => {
                        Ok(Some(reason == name))
                    }
                    Some("remove" | "removed" | "escalate" | "escalated") => Ok(None),
                    _ => Err(LabelError(format!("action must be approve, remove or escalate, not {action}"))),
                };
            }
            match &v["labels"][name] {
                serde_json::Value::Null => Ok(None),
                x => match x.as_i64().or_else(|| x.as_bool().map(i64::from)) {
                    Some(0) => Ok(Some(false)),
                    Some(1) => Ok(Some(true)),
                    _ => Err(LabelError(format!("labels.{name} must be 0 or 1, not {x}"))),
                },
            }
        };
        let (spam, scam) = (label("spam")?, label("scam")?);
        let mut labels = Vec::new();
        if let Some(scam) = scam {
            labels.push((Category::Scam, scam));
        }
        match (spam, scam) {
            (Some(spam), Some(scam)) => labels.push((Category::Spam, spam && !scam)),
            (Some(spam), None) => labels.push((Category::Spam, spam)),
            _ => {}
        }
        if labels.is_empty() {
            return Ok(None);
        }
        let moderator = v["source"]["decided_by"].as_str().or_else(|| v["decided_by"].as_str()).map(String::from);
        Ok(Some(Labelled { example: Example::new(post, labels), moderator }))
    }
}

/// One moderator's share of the labels, before and after the cap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeratorShare {
    /// The moderator (a key id in the service).
    pub moderator: String,
    /// Their share of the labels given.
    pub before: f64,
    /// Their share of the labels kept.
    pub after: f64,
}

/// Keeps any one moderator's decisions to at most `share` of the labels
/// (when at least two moderators are named), dropping the earliest of the
/// moderator's decisions first (`labelled` is in decision order): one
/// account, compromised or mistaken, cannot teach the forum's model alone.
/// Returns each moderator's share before and after, largest first.
pub fn cap_moderator_share(labelled: &mut Vec<Labelled>, share: f64) -> Vec<ModeratorShare> {
    let count = |d: &[Labelled]| {
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for x in d {
            if let Some(m) = &x.moderator {
                *by.entry(m.clone()).or_default() += 1;
            }
        }
        by
    };
    let before = count(labelled);
    let total_before = labelled.len().max(1) as f64;
    if before.len() >= 2 && share < 1.0 {
        loop {
            let by = count(labelled);
            let total = labelled.len() as f64;
            let Some((top, &n)) = by.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))) else { break };
            if (n as f64) <= share * total + 1e-9 {
                break;
            }
            // n' ≤ share × (others + n')  ⇔  n' ≤ share × others / (1 − share).
            let others = total - n as f64;
            let keep = ((share * others) / (1.0 - share)).floor() as usize;
            let mut drop = n - keep.min(n);
            let top = top.clone();
            labelled.retain(|d| {
                if drop > 0 && d.moderator.as_deref() == Some(top.as_str()) {
                    drop -= 1;
                    false
                } else {
                    true
                }
            });
        }
    }
    let after = count(labelled);
    let total_after = labelled.len().max(1) as f64;
    let mut out: Vec<ModeratorShare> = before
        .iter()
        .map(|(m, &n)| ModeratorShare {
            moderator: m.clone(),
            before: n as f64 / total_before,
            after: after.get(m).copied().unwrap_or(0) as f64 / total_after,
        })
        .collect();
    out.sort_by(|a, b| b.before.total_cmp(&a.before).then_with(|| a.moderator.cmp(&b.moderator)));
    out
}

/// How an engine ranks and flags labelled posts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Posts judged.
    pub labels: usize,
    /// Posts positive for a taught category.
    pub positives: usize,
    /// Posts negative for every taught category they are labelled for (approved).
    pub negatives: usize,
    /// Per taught category with both classes among the labels.
    pub categories: Vec<CategoryEvaluation>,
    /// Mean PR-AUC (average precision) over `categories`; `None` when no
    /// category has both classes.
    pub pr_auc: Option<f64>,
    /// Share of the negatives decided `review` or above: the moderators'
    /// time a model wastes.
    pub review_fpr: Option<f64>,
    /// Share of the positives decided `review` or above.
    pub review_recall: Option<f64>,
}

/// One category of an [`Evaluation`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryEvaluation {
    /// The category.
    pub category: Category,
    /// Posts labelled positive for it.
    pub positives: usize,
    /// Posts labelled negative for it.
    pub negatives: usize,
    /// Average precision of its score.
    pub pr_auc: f64,
}

/// Scores `examples` with `engine` and measures it: per taught category the
/// PR-AUC of its score, and the share of negatives and positives that reach
/// review. Posts are scored one by one, as they would be served.
pub fn evaluate(engine: &Engine, examples: &[Example]) -> Evaluation {
    let verdicts: Vec<_> = examples.iter().map(|e| engine.score(&e.post)).collect();
    let mut categories = Vec::new();
    for c in TAUGHT {
        let (scores, ys): (Vec<f64>, Vec<bool>) =
            examples.iter().zip(&verdicts).filter_map(|(e, v)| Some((v.scores.get(c), e.label(c)?))).unzip();
        let positives = ys.iter().filter(|&&y| y).count();
        let negatives = ys.len() - positives;
        if positives > 0 && negatives > 0 {
            categories.push(CategoryEvaluation {
                category: c,
                positives,
                negatives,
                pr_auc: average_precision(&scores, &ys),
            });
        }
    }
    let positive = |e: &Example| TAUGHT.iter().any(|&c| e.label(c) == Some(true));
    let flagged = |v: &crate::verdict::Verdict| v.decision >= Decision::Review;
    let (mut pos, mut neg, mut pos_flagged, mut neg_flagged) = (0usize, 0usize, 0usize, 0usize);
    for (e, v) in examples.iter().zip(&verdicts) {
        if positive(e) {
            pos += 1;
            pos_flagged += usize::from(flagged(v));
        } else {
            neg += 1;
            neg_flagged += usize::from(flagged(v));
        }
    }
    let share = |a: usize, n: usize| (n > 0).then(|| a as f64 / n as f64);
    let pr_auc =
        (!categories.is_empty()).then(|| categories.iter().map(|c| c.pr_auc).sum::<f64>() / categories.len() as f64);
    Evaluation {
        labels: examples.len(),
        positives: pos,
        negatives: neg,
        categories,
        pr_auc,
        review_fpr: share(neg_flagged, neg),
        review_recall: share(pos_flagged, pos),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: u32, extra: &str) -> String {
        format!(r#"{{"id": "{id}", "body": "post {id}", {extra}}}"#)
    }

    #[test]
    fn actions_and_labels_read_as_the_export_writes_them() {
        let l = |extra: &str| Labelled::parse(&line(1, extra)).unwrap();
        let approved = l(r#""action": "approve", "decided_by": "key_a""#).unwrap();
        assert_eq!(approved.example.labels, vec![(Category::Scam, false), (Category::Spam, false)]);
        assert_eq!(approved.moderator.as_deref(), Some("key_a"));
        let spam = l(r#""action": "remove", "reason": "spam""#).unwrap();
        assert_eq!(spam.example.label(Category::Spam), Some(true));
        assert_eq!(spam.example.label(Category::Scam), Some(false));
        assert!(l(r#""action": "remove", "reason": "off-topic""#).is_none());
        assert!(l(r#""action": "remove", "reason": "exposure""#).is_none(), "a leaked secret is not a spam label");
        assert!(l(r#""action": "escalate""#).is_none());
        let both = l(r#""labels": {"spam": 1, "scam": 1}, "source": {"decided_by": "key_b"}"#).unwrap();
        assert_eq!(both.example.label(Category::Spam), Some(false), "spam means unwanted but not a scam");
        assert_eq!(both.moderator.as_deref(), Some("key_b"));
        let err = Labelled::parse(&line(1, r#""action": "nuke""#)).unwrap_err();
        assert!(err.0.contains("approve, remove or escalate"), "{err}");
        let err = Labelled::parse(&line(1, r#""labels": {"spam": 2}"#)).unwrap_err();
        assert!(err.0.contains("labels.spam must be 0 or 1"), "{err}");
        assert!(Labelled::parse(r#"{"body": "no id"}"#).is_err());
    }

    #[test]
    fn one_moderator_cannot_exceed_the_share() {
        let mut labelled: Vec<Labelled> = (0..100)
            .map(|i| {
                let who = if i < 80 { "key_a" } else { "key_b" };
                Labelled::parse(&line(i, &format!(r#""action": "approve", "decided_by": "{who}""#))).unwrap().unwrap()
            })
            .collect();
        let shares = cap_moderator_share(&mut labelled, 0.5);
        assert_eq!(labelled.len(), 40, "20 of key_a kept beside key_b's 20");
        assert_eq!(shares[0].moderator, "key_a");
        assert!((shares[0].before - 0.8).abs() < 1e-9 && (shares[0].after - 0.5).abs() < 1e-9, "{shares:?}");
        // The earliest of key_a's decisions went first.
        assert_eq!(labelled[0].example.post.id, "60");
    }
}
