//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in `moderation-core`.
///
/// Scoring itself never fails: a post the engine cannot fully understand is
/// still scored, with a signal saying what was odd about it. Errors come only
/// from building an engine (rule sets that do not compile) and from decoding
/// input that is not a post at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule set was refused. The whole set is rejected; nothing is half-loaded.
    #[error("{}", .0)]
    Rules(#[from] RuleError),
    /// The input is not a post (malformed JSON, a missing or mistyped field).
    #[error("invalid post: {message}")]
    Post {
        /// What was wrong, naming the field where serde could tell.
        message: String,
        /// The JSON path of the offending field, when known (`author.trust_level`).
        field: Option<String>,
    },
    /// A model file was refused (see [`crate::model::ModelError`]).
    #[error("{0}")]
    Model(#[from] crate::model::ModelError),
    /// Training could not run on the data given (too few examples of a
    /// class, no heads…).
    #[error("cannot train: {0}")]
    Training(String),
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
