//! The figures of one evaluation: a test set, a question (spam? scam?
//! unwanted?) and the model's scores, measured the way scikit-learn does.

use moderation_core::evaluation::{self, Confusion};

/// The figures of one test set and question.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figures {
    pub set: String,
    pub question: String,
    pub n: usize,
    pub positives: usize,
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub roc_auc: f64,
    pub pr_auc: f64,
    pub brier: f64,
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub fpr_budget: f64,
    pub recall_at_fpr: f64,
    pub base_rate: f64,
    pub precision_at_base_rate: f64,
    #[serde(skip)]
    pub scored: Vec<(f64, bool)>,
}

impl Figures {
    /// Measures `scores` against `y` at `threshold`, with recall at the
    /// false-positive budget `fpr` and precision at the base rate `base`.
    pub fn new(set: &str, question: &str, scores: &[f64], y: &[bool], threshold: f64, fpr: f64, base: f64) -> Figures {
        let c = Confusion::at(scores, y, threshold);
        Figures {
            set: set.into(),
            question: question.into(),
            n: y.len(),
            positives: y.iter().filter(|&&v| v).count(),
            threshold,
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
            roc_auc: evaluation::roc_auc(scores, y),
            pr_auc: evaluation::average_precision(scores, y),
            brier: evaluation::brier(scores, y),
            tp: c.tp,
            fp: c.fp,
            tn: c.tn,
            fn_: c.fn_,
            fpr_budget: fpr,
            recall_at_fpr: evaluation::recall_at_fpr(scores, y, fpr).0,
            base_rate: base,
            precision_at_base_rate: evaluation::precision_at_base_rate(c.recall(), c.false_positive_rate(), base),
            scored: scores.iter().copied().zip(y.iter().copied()).collect(),
        }
    }
}
