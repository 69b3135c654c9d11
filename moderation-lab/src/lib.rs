//! Training and evaluation for [`moderation_core`]: what `moderation train`,
//! `moderation eval` and `moderation eval-splits` run. A separate crate so
//! that a server build needs none of the training stack (linfa, plotters,
//! csv, indicatif): `moderation-service` pulls it in through its default
//! `training` feature.
//!
//! | module | job |
//! |---|---|
//! | [`datasets`] | the shared labelled sets (read in place) and the team corpus, joined to the canonical splits |
//! | [`training`] | the three commands: their arguments, training, evaluation, the printed figures |
//! | [`figures`] | the figures of one evaluation (precision, recall, F1, ROC-AUC, PR-AUC, recall at a false-positive budget) |
//! | `plot` | precision–recall curves as a PNG |

pub mod datasets;
pub mod figures;
mod plot;
pub mod training;
