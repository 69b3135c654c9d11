//! Scores forum posts for **spam**, **scams**, **misinformation** and
//! **exposure** (users leaking their own wallet secrets), and says exactly why.
//!
//! Every verdict lists the signals behind it: the rule or detector id, its
//! weight in log-odds, a description for moderators, and the spans of the
//! ORIGINAL text that triggered it, even when the poster hid the words behind
//! homoglyphs, fullwidth letters, zero-width characters, leetspeak or
//! s p a c i n g.
//!
//! # Scoring a post
//!
//! ```
//! use moderation_core::{Category, Decision, Engine, Post};
//!
//! // Build once (it compiles the rule sets), then share across threads.
//! let engine = Engine::new()?;
//!
//! let post = Post::from_json(r#"{
//!     "id": "p1",
//!     "body": "Official Binance giveaway! Send 0.1 BTC and get 0.2 BTC back, visit b1nance-bonus.com",
//!     "author": {"id": "u9", "name": "Binance Support", "account_age_days": 1}
//! }"#)?;
//! let verdict = engine.score(&post);
//!
//! assert!(verdict.decision >= Decision::Hold);
//! assert_eq!(verdict.top_category(), Category::Scam);
//! for signal in &verdict.signals {
//!     for span in &signal.spans {
//!         // Spans are byte ranges of the field as sent, with its text.
//!         println!("{} {:+.1} {:?}@{}..{}: {:?}", signal.id, signal.weight, span.field, span.start, span.end, span.text);
//!     }
//! }
//! # Ok::<(), moderation_core::Error>(())
//! ```
//!
//! # Adding a forum's own rules
//!
//! Rule sets are TOML files ([`rules`] documents the format). Layers stack on
//! the default pack; a forum's rule replaces a default rule with the same id.
//!
//! ```
//! use moderation_core::{Decision, Engine, Post, RuleSet};
//!
//! let mine = RuleSet::from_toml("forum-a.toml", r#"
//!     [ruleset]
//!     name = "forum-a"
//!     version = "1"
//!
//!     [[rule]]
//!     id = "spam.forum-a.lottery"
//!     category = "spam"
//!     weight = 4.0
//!     description = "Lottery ticket sales"
//!     when = { phrases = ["lottery ticket", "宝くじ"] }
//! "#)?;
//! let engine = Engine::builder().forum_rules("forum-a", mine).build()?;
//!
//! let mut post = Post::new("2", "Win with a ｌｏｔｔｅｒｙ t i c k e t today");
//! assert_eq!(engine.score(&post).decision, Decision::Allow); // other forums: no such rule
//! post.forum = Some("forum-a".into());
//! let verdict = engine.score(&post);
//! assert!(verdict.has_signal("spam.forum-a.lottery"));
//! assert_eq!(verdict.signals[0].spans[0].text, "ｌｏｔｔｅｒｙ t i c k e t");
//! assert_eq!(verdict.versions.rules, format!("{}+forum-a@1", engine.rules_version(None)));
//! # Ok::<(), moderation_core::Error>(())
//! ```
//!
//! # Stacking a trained model
//!
//! A [`Model`] (see [`model`] for the file format) adds a statistical
//! opinion per category it was trained on and replaces the hand-set weights
//! of the rules it was fitted with. Training is behind the `train` cargo
//! feature ([`train`], linfa); loading and scoring are not.
//!
//! ```no_run
//! use std::sync::Arc;
//! use moderation_core::{Engine, Model, Post};
//!
//! let model = Model::load("models/default.model")?; // verified: a bad file is an error
//! let engine = Engine::builder().model(Arc::new(model)).build()?;
//! let verdict = engine.score(&Post::new("1", "DM me on Telegram for a 2x airdrop"));
//! assert!(verdict.has_signal("classifier.scam"));
//! assert!(verdict.versions.model.is_some());
//! # Ok::<(), moderation_core::Error>(())
//! ```
//!
//! # Crate layout
//!
//! | module | job |
//! |---|---|
//! | [`post`], [`verdict`] | the JSON contract |
//! | [`markup`] | visible text and links of text, Markdown and HTML bodies, with source offsets |
//! | [`normalize`] | the `words` and `normalized` views that undo evasion, with offset maps |
//! | [`signals`] | URLs, look-alike domains, contacts, crypto addresses, keys, seed phrases |
//! | [`rules`] | the rule file format and its validation |
//! | [`engine`] | compiled layers, scoring and decisions |
//! | [`features`], [`model`] | hashed n-gram features; the model file and inference |
//! | `train` (feature `train`) | naive Bayes + linfa-logistic stacking, cross-validated |
//! | [`evaluation`] | evaluation metrics: precision/recall/F1, ROC-AUC, PR-AUC, calibration |
//!
//! No async runtime, no database, no network: the crate is a pure function
//! of the post, the rule sets and (optionally) a model.

#![warn(missing_docs)]

mod analysis;
pub mod engine;
mod error;
pub mod evaluation;
pub mod features;
pub mod markup;
mod matcher;
pub mod model;
pub mod normalize;
pub mod post;
mod redact;
pub mod rules;
mod settings;
pub mod signals;
#[cfg(feature = "train")]
pub mod train;
pub mod verdict;
mod text;
mod view;
mod vocab;

pub use analysis::{MAX_SCAN_BYTES, truncate as scanned_prefix};
pub use engine::{Engine, EngineBuilder, RuleExplanation};
pub use error::{Error, ModelError, RuleError, TrainingError};
pub use model::Model;
pub use post::{Author, Context, Post};
pub use redact::redact;
pub use rules::RuleSet;
pub use settings::Resolved as Settings;
pub use verdict::{Scores, Signal, Verdict, Versions};
pub use view::View;
pub use vocab::{Category, Decision, Field, Format, SignalKind, Span, ViewName};
