//! Binary classification metrics, computed the way scikit-learn does so
//! figures compare with its baselines: average precision for PR-AUC
//! (step-wise, no interpolation), trapezoidal ROC-AUC with ties handled,
//! positive-class precision/recall/F1 at a threshold.
//!
//! ```
//! use moderation_core::evaluation::{Confusion, average_precision, roc_auc};
//!
//! let scores = [0.9, 0.8, 0.3, 0.1];
//! let labels = [true, false, true, false];
//! assert_eq!(roc_auc(&scores, &labels), 0.75);
//! assert!((average_precision(&scores, &labels) - 0.8333).abs() < 1e-3);
//! let c = Confusion::at(&scores, &labels, 0.5);
//! assert_eq!((c.tp, c.fp, c.tn, c.fn_), (1, 1, 1, 1));
//! ```

/// Counts at one threshold (`score >= threshold` is positive).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confusion {
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// True negatives.
    pub tn: u64,
    /// False negatives.
    pub fn_: u64,
}

impl Confusion {
    /// Counts the decisions at `threshold`.
    pub fn at(scores: &[f64], labels: &[bool], threshold: f64) -> Confusion {
        let mut c = Confusion::default();
        for (&s, &y) in scores.iter().zip(labels) {
            match (s >= threshold, y) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, false) => c.tn += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        c
    }

    /// tp / (tp + fp), 0 when nothing is flagged.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// tp / (tp + fn), 0 when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// fp / (fp + tn).
    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn)
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Indices sorted by descending score (stable for ties).
fn ranked(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    idx
}

/// One point per distinct threshold, from the highest: (threshold, tp, fp).
fn cumulative(scores: &[f64], labels: &[bool]) -> Vec<(f64, u64, u64)> {
    let idx = ranked(scores);
    let mut out: Vec<(f64, u64, u64)> = Vec::new();
    let (mut tp, mut fp) = (0, 0);
    for (n, &i) in idx.iter().enumerate() {
        if labels[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        // Emit only after the last of a run of tied scores.
        if idx.get(n + 1).is_none_or(|&j| scores[j] != scores[i]) {
            out.push((scores[i], tp, fp));
        }
    }
    out
}

/// Area under the ROC curve (0.5 for a random ranking).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let pos = labels.iter().filter(|&&y| y).count() as f64;
    let neg = labels.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    let (mut area, mut prev_tp, mut prev_fp) = (0.0, 0.0, 0.0);
    for (_, tp, fp) in cumulative(scores, labels) {
        let (tp, fp) = (tp as f64, fp as f64);
        area += (fp - prev_fp) * (tp + prev_tp) / 2.0;
        prev_tp = tp;
        prev_fp = fp;
    }
    area / (pos * neg)
}

/// Average precision: Σ (Rₙ − Rₙ₋₁) Pₙ over thresholds (scikit-learn's
/// `average_precision_score`), the usual "PR-AUC".
pub fn average_precision(scores: &[f64], labels: &[bool]) -> f64 {
    let pos = labels.iter().filter(|&&y| y).count() as f64;
    if pos == 0.0 {
        return f64::NAN;
    }
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for (_, tp, fp) in cumulative(scores, labels) {
        let recall = tp as f64 / pos;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    ap
}

/// The precision–recall curve: (recall, precision, threshold) per distinct
/// threshold, from the highest threshold down.
pub fn pr_curve(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64, f64)> {
    let pos = labels.iter().filter(|&&y| y).count().max(1) as f64;
    cumulative(scores, labels)
        .into_iter()
        .map(|(t, tp, fp)| (tp as f64 / pos, tp as f64 / (tp + fp) as f64, t))
        .collect()
}

/// The threshold that maximises F1 (the lowest such score, halfway to the
/// next lower score so it generalises a little), and that F1.
pub fn best_f1_threshold(scores: &[f64], labels: &[bool]) -> (f64, f64) {
    let pos = labels.iter().filter(|&&y| y).count() as u64;
    let points = cumulative(scores, labels);
    let mut best = (0.5, -1.0);
    for (n, &(t, tp, fp)) in points.iter().enumerate() {
        let f1 = ratio(2 * tp, tp + fp + pos);
        if f1 > best.1 {
            let next = points.get(n + 1).map_or(t, |p| p.0);
            best = ((t + next) / 2.0, f1);
        }
    }
    (best.0, best.1.max(0.0))
}

/// The highest recall reachable with a false-positive rate at most
/// `max_fpr`, and the threshold that reaches it.
pub fn recall_at_fpr(scores: &[f64], labels: &[bool], max_fpr: f64) -> (f64, f64) {
    let pos = labels.iter().filter(|&&y| y).count().max(1) as f64;
    let neg = (labels.len() as f64 - labels.iter().filter(|&&y| y).count() as f64).max(1.0);
    let mut best = (0.0, f64::INFINITY);
    for (t, tp, fp) in cumulative(scores, labels) {
        if fp as f64 / neg <= max_fpr {
            best = (tp as f64 / pos, t);
        } else {
            break;
        }
    }
    best
}

/// Precision a classifier with this recall and false-positive rate would
/// have where a share `base_rate` of posts is positive (test sets are far
/// richer in spam than a real forum, so their precision flatters).
pub fn precision_at_base_rate(recall: f64, fpr: f64, base_rate: f64) -> f64 {
    let tp = recall * base_rate;
    let fp = fpr * (1.0 - base_rate);
    if tp + fp == 0.0 { 0.0 } else { tp / (tp + fp) }
}

/// Mean squared error of probabilities (lower is better; 0.25 is a coin).
pub fn brier(probs: &[f64], labels: &[bool]) -> f64 {
    let n = probs.len().max(1) as f64;
    probs.iter().zip(labels).map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2)).sum::<f64>() / n
}

/// One bin of a reliability table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityBin {
    /// Lower probability bound (inclusive).
    pub lo: f64,
    /// Upper bound (exclusive, inclusive for the last bin).
    pub hi: f64,
    /// Posts in the bin.
    pub count: u64,
    /// Their mean predicted probability.
    pub mean_predicted: f64,
    /// The share of them that are positive.
    pub observed: f64,
}

/// Reliability table: predicted probability against observed frequency in
/// `bins` equal-width bins. A calibrated model has the two close.
pub fn reliability(probs: &[f64], labels: &[bool], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let mut sum = vec![(0u64, 0.0, 0u64); bins];
    for (&p, &y) in probs.iter().zip(labels) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        sum[b].0 += 1;
        sum[b].1 += p;
        sum[b].2 += u64::from(y);
    }
    sum.into_iter()
        .enumerate()
        .map(|(i, (count, ps, pos))| ReliabilityBin {
            lo: i as f64 / bins as f64,
            hi: (i + 1) as f64 / bins as f64,
            count,
            mean_predicted: if count == 0 { 0.0 } else { ps / count as f64 },
            observed: ratio(pos, count),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_inverted_rankings() {
        let labels = [true, true, false, false];
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &labels), 1.0);
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &labels), 0.0);
        assert_eq!(average_precision(&[0.9, 0.8, 0.2, 0.1], &labels), 1.0);
        assert_eq!(best_f1_threshold(&[0.9, 0.8, 0.2, 0.1], &labels).1, 1.0);
    }

    #[test]
    fn ties_count_as_one_threshold() {
        // All tied: ROC-AUC is 0.5, AP is the positive share.
        let labels = [true, false, false, false];
        assert_eq!(roc_auc(&[0.5; 4], &labels), 0.5);
        assert_eq!(average_precision(&[0.5; 4], &labels), 0.25);
    }

    #[test]
    fn recall_at_fpr_stops_at_the_budget() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
        let labels = [true, false, true, true, false, false];
        // With no false positive allowed only the first positive is caught.
        assert_eq!(recall_at_fpr(&scores, &labels, 0.0).0, 1.0 / 3.0);
        assert_eq!(recall_at_fpr(&scores, &labels, 0.34).0, 1.0);
    }

    #[test]
    fn base_rate_lowers_precision() {
        assert!((precision_at_base_rate(0.9, 0.01, 0.5) - 0.989).abs() < 1e-3);
        assert!((precision_at_base_rate(0.9, 0.01, 0.01) - 0.476).abs() < 1e-3);
    }

    #[test]
    fn reliability_and_brier() {
        let probs = [0.05, 0.15, 0.95, 0.85];
        let labels = [false, false, true, true];
        let bins = reliability(&probs, &labels, 10);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 4);
        assert_eq!(bins[9].observed, 1.0);
        assert!((brier(&probs, &labels) - 0.0125).abs() < 1e-9);
    }
}
