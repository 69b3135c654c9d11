//! Training and evaluation for [`moderation_core`]: what `moderation train`,
//! `moderation eval` and `moderation eval-splits` run. A separate crate so
//! that a server build needs none of the training stack (linfa, plotters,
//! csv, indicatif): `moderation-service` pulls it in through its default
//! `training` feature.
//!
//! | module | job |
//! |---|---|
//! | [`datasets`] | the shared labelled sets (read in place) and the team corpus, joined to the canonical splits |
//! | [`sources`] | every labelled source, read whole and deduplicated across sources (leave-one-source-out) |
//! | [`mail`] | the SpamAssassin corpus's raw e-mails as subject and text |
//! | [`options`] | command-line settings shared by the commands: data folders, model settings |
//! | [`transfer`] | `moderation transfer`: the leave-one-source-out protocol, thresholds, the shipped model |
//! | [`curve`] | `moderation curve`: the learning curve of adapting the model to a forum from k of its labels |
//! | [`training`] | `train`, `eval`, `eval-splits`: training, evaluation, the printed figures |
//! | [`figures`] | the figures of one evaluation (precision, recall, F1, ROC-AUC, PR-AUC, recall at a false-positive budget) |
//! | `plot` | precision–recall curves as a PNG |

pub mod curve;
pub mod datasets;
pub mod figures;
pub mod mail;
pub mod options;
mod plot;
pub mod sources;
pub mod training;
pub mod transfer;
