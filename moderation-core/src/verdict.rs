//! The output contract: a verdict, its scores and the signals that explain it.

use serde::{Deserialize, Serialize};

/// What a post is scored for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Unwanted promotion: SEO links, casinos, follower selling, repeated promos.
    Spam,
    /// Attempts to defraud readers: fake support, phishing, giveaways, fake airdrops.
    Scam,
    /// Claims of official news by non-official sources.
    Misinformation,
    /// The author leaking their own secrets (seed phrases, private keys).
    Exposure,
}

impl Category {
    /// All categories, in the order scores are reported.
    pub const ALL: [Category; 4] = [Category::Spam, Category::Scam, Category::Misinformation, Category::Exposure];

    /// The lowercase name used in JSON and rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Spam => "spam",
            Category::Scam => "scam",
            Category::Misinformation => "misinformation",
            Category::Exposure => "exposure",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// What the forum should do with the post. Ordered from mildest to strictest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Publish.
    #[default]
    Allow,
    /// Publish, and put it in the moderators' queue.
    Review,
    /// Hide until a moderator decides.
    Hold,
    /// Do not publish (kept for moderators, who can restore it).
    Reject,
}

impl Decision {
    /// The lowercase name used in JSON and rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Review => "review",
            Decision::Hold => "hold",
            Decision::Reject => "reject",
        }
    }
}

/// Which field of the post a span is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The post title.
    Title,
    /// The post body.
    Body,
    /// The author's display name.
    AuthorName,
}

/// A range of the ORIGINAL text of a field, as the forum sent it.
///
/// `start` and `end` are byte offsets into that field (for HTML bodies, into
/// the HTML source: an entity such as `&#98;` is covered whole). `text` is the
/// original text there, except in `exposure` signals, where it is masked so
/// that a verdict, a log line or a webhook never repeats a user's secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    /// The field the range is in.
    pub field: Field,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// The original text of the range (masked for exposure signals).
    pub text: String,
}

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
    /// Every reason, strongest first.
    pub signals: Vec<Signal>,
    /// What produced the verdict.
    pub versions: Versions,
}

impl Verdict {
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
}
