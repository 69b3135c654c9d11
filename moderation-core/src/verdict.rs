//! The output contract: a verdict, its scores and the signals that explain it.

use serde::{Deserialize, Serialize};

use crate::vocab::{Category, Decision, Span};

/// One reason contributing to a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signal {
    /// The rule or detector id, e.g. `scam.fake-support.dm` or `exposure.seed-phrase`.
    pub id: String,
    /// The category the weight counts towards.
    pub category: Category,
    /// Log-odds added to the category's score.
    pub weight: f64,
    /// Shown to moderators: what this signal means.
    pub description: String,
    /// Where in the post the evidence is. May be empty for post-level signals
    /// (author conditions, language).
    pub spans: Vec<Span>,
}

/// Per-category scores, each in `[0, 1]`.
///
/// A score is the logistic function of the category prior plus the summed
/// signal weights. Until a calibrated classifier is stacked on top these are
/// rule-based scores, monotone in the evidence but not calibrated probabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scores {
    /// Spam score.
    pub spam: f64,
    /// Scam score.
    pub scam: f64,
    /// Misinformation score.
    pub misinformation: f64,
    /// Exposure (leaked secret) score.
    pub exposure: f64,
}

impl Scores {
    /// The score of one category.
    pub fn get(&self, category: Category) -> f64 {
        match category {
            Category::Spam => self.spam,
            Category::Scam => self.scam,
            Category::Misinformation => self.misinformation,
            Category::Exposure => self.exposure,
        }
    }

    pub(crate) fn set(&mut self, category: Category, value: f64) {
        match category {
            Category::Spam => self.spam = value,
            Category::Scam => self.scam = value,
            Category::Misinformation => self.misinformation = value,
            Category::Exposure => self.exposure = value,
        }
    }
}

/// Versions of what produced a verdict, so a decision can be traced later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Versions {
    /// The layered rule sets, e.g. `default@2026.11.1+forum-a@3`.
    pub rules: String,
    /// The classifier model, or `null` when none is loaded.
    pub model: Option<String>,
    /// The phishing feeds links were checked against (`name@sha256-prefix`);
    /// absent when none is loaded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<String>,
}

/// The engine's judgement of one post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verdict {
    /// The post's id.
    pub id: String,
    /// What the forum should do.
    pub decision: Decision,
    /// Per-category scores.
    pub scores: Scores,
    /// Every reason, strongest first: for a flagged post (any decision but
    /// allow), the signals that pushed it up (positive weight, largest
    /// first), then those that held it back; for an allowed post, by
    /// magnitude.
    pub signals: Vec<Signal>,
    /// What produced the verdict.
    pub versions: Versions,
}

impl Verdict {
    /// Holds the post at least (`hold`) for a reason outside the post, such
    /// as a moderators' decision on the campaign it joins (the same as
    /// [`Context::decided`](crate::Context::decided) at scoring): the
    /// reason is added to the signals, first among them, the scores stay.
    pub fn hold(&mut self, reason: Signal) {
        self.decision = self.decision.max(Decision::Hold);
        self.signals.insert(0, reason);
    }

    /// The category with the highest score.
    pub fn top_category(&self) -> Category {
        let mut best = Category::Spam;
        for c in Category::ALL {
            if self.scores.get(c) > self.scores.get(best) {
                best = c;
            }
        }
        best
    }

    /// Whether a signal with this id fired.
    pub fn has_signal(&self, id: &str) -> bool {
        self.signals.iter().any(|s| s.id == id)
    }

    /// The verdict as one line of JSON in the crate's JSON contract (its
    /// serde form: `decision` and categories by their lowercase names, spans
    /// with `field`, `start`, `end`, `text`); `serde_json::from_str::<Verdict>`
    /// reads it back.
    ///
    /// ```
    /// use moderation_core::{Engine, Post, Verdict};
    ///
    /// let verdict = Engine::new()?.score(&Post::new("p1", "hello"));
    /// let json = verdict.to_json();
    /// assert!(json.starts_with(r#"{"id":"p1","decision":"allow","scores":{"spam":"#));
    /// assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), verdict);
    /// # Ok::<(), moderation_core::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a verdict always serializes (string keys, no maps of non-strings)")
    }
}
