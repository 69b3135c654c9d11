//! The error types of this crate: [`Error`] and the precise reasons it
//! carries ([`RuleError`], [`FeedError`], [`ModelError`], [`TrainingError`]).

use std::path::PathBuf;

use crate::vocab::Category;

/// Everything that can go wrong in `moderation-core`.
///
/// Scoring itself never fails: a post the engine cannot fully understand is
/// still scored, with a signal saying what was odd about it. Errors come only
/// from building an engine (rule sets that do not compile) and from decoding
/// input that is not a post at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rule set was refused. The whole set is rejected; nothing is half-loaded.
    #[error("{}", .0)]
    Rules(#[from] RuleError),
    /// A phishing feed file (a block or allow list of hosts) was refused.
    /// The whole file is rejected; nothing is half-loaded.
    #[error("{}", .0)]
    Feed(#[from] FeedError),
    /// The input is not a post (malformed JSON, a missing or mistyped field).
    #[error("invalid post: {message}")]
    Post {
        /// What was wrong, naming the field where serde could tell.
        message: String,
        /// The JSON path of the offending field, when known (`author.trust_level`).
        field: Option<String>,
    },
    /// A model file was refused.
    #[error("{0}")]
    Model(#[from] ModelError),
    /// Training could not run with the settings or on the data given.
    #[error("cannot train: {0}")]
    Training(#[from] TrainingError),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Why a rule set was refused: the file, the line, the rule and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The name the rule set was loaded under (usually its path).
    pub source_name: String,
    /// 1-based line in the rule file, when known.
    pub line: Option<usize>,
    /// The id of the offending rule, when the problem is inside one.
    pub rule_id: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.source_name)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(id) = &self.rule_id {
            write!(f, ": rule `{id}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for RuleError {}

/// Why a phishing feed file was refused: the file, the line and what is wrong
/// (naming the offending entry). See [`crate::signals::feeds`].
///
/// Displays as `name:line: message`, or `name: message` when the problem is
/// not on one line (a file over the size limit, a JSON object without any
/// list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedError {
    /// The name the feed was loaded under (its file name for
    /// [`Feed::from_file`](crate::signals::feeds::Feed::from_file)).
    pub source_name: String,
    /// 1-based line in the feed file, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for FeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.source_name)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for FeedError {}

/// Why a model file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The file does not start with the model magic.
    #[error("not a model file (it does not start with \"MODMODEL\")")]
    NotAModel,
    /// The file is shorter than its header says.
    #[error("truncated model file: {expected} bytes expected, {actual} present")]
    Truncated {
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The file was written by a newer version of this software.
    #[error("model format version {found} is newer than this build reads ({supported}); upgrade moderation")]
    NewerFormat {
        /// The file's version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// The header claims a payload larger than any model file may be.
    #[error("corrupt model file: the header claims a {claimed}-byte payload, over the {limit}-byte limit")]
    PayloadTooLarge {
        /// The payload length the header claims.
        claimed: u64,
        /// [`crate::classifier::model::MAX_PAYLOAD_BYTES`].
        limit: u64,
    },
    /// The payload does not match its checksum or does not decode.
    #[error("corrupt model file: {0}")]
    Corrupt(String),
    /// The payload decodes but is inconsistent.
    #[error("invalid model: {0}")]
    Invalid(String),
}

/// Why training refused to run (behind the `train` feature; the type is
/// always there so that [`Error`] is the same with and without it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TrainingError {
    /// A training setting is out of range (heads, folds, columns, feature
    /// ranges, smoothing, penalty).
    #[error("{0}")]
    Config(String),
    /// More examples than training can index.
    #[error("too many examples")]
    TooManyExamples,
    /// A category has too few examples of one class for cross-validation.
    #[error("{}: {positive} positive and {negative} negative examples; each class needs at least {needed} (one per fold)", category.as_str())]
    TooFewExamples {
        /// The category (head) lacking examples.
        category: Category,
        /// Examples labelled positive for it.
        positive: usize,
        /// Examples labelled negative for it.
        negative: usize,
        /// The least each class needs (one per fold).
        needed: usize,
    },
    /// A cross-validation fold holds examples of one class only.
    #[error("a cross-validation fold holds one class only; use fewer folds")]
    OneClassFold,
    /// The logistic-regression solver failed.
    #[error("logistic regression: {0}")]
    Solver(String),
}
