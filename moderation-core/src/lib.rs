//! Scores forum posts for **spam**, **scams**, **misinformation** and
//! **exposure** (users leaking their own wallet secrets), and says exactly why.
//!
//! Every verdict lists the signals behind it: the rule or detector id, its
//! weight in log-odds, a description for moderators, and the spans of the
//! ORIGINAL text that triggered it, even when the poster hid the words behind
//! homoglyphs, fullwidth letters, zero-width characters, leetspeak or
//! s p a c i n g.
//!
//! # An embedding program
//!
//! With the `default-model` feature (on by default) the crate carries the
//! model the project ships, so an embedder gets the same verdicts as the
//! `moderation` service and its `score` command (the service also passes
//! what its store remembers of earlier posts: [`Engine::score_with`] and a
//! [`Context`]):
//!
//! ```toml
//! [dependencies]
//! moderation-core = "0.1"
//! ```
//!
//! ```
//! use moderation_core::{Engine, Post};
//!
//! # #[cfg(not(feature = "default-model"))] fn main() {}
//! # #[cfg(feature = "default-model")]
//! fn main() -> Result<(), moderation_core::Error> {
//!     // The default rule pack and the shipped model. Build once (it compiles
//!     // the rules and decodes the model), then share across threads.
//!     let engine = Engine::with_default_model()?;
//!
//!     // A post as the forum sends it (the README's JSON contract), or
//!     // `Post::new(id, body)` for a plain-text body.
//!     let post = Post::from_json(r#"{
//!         "id": "p1",
//!         "title": "Withdrawal stuck?",
//!         "body": "Official support here: DM me on Telegram @binance_help_desk and send your 12 words to verify",
//!         "author": {"id": "u9", "name": "Binance Support", "account_age_days": 1}
//!     }"#)?;
//!     let verdict = engine.score(&post);
//!
//!     // `Decision` and `Category` print their JSON names: "hold", "scam".
//!     println!("{}: {} ({} {:.2})", verdict.id, verdict.decision,
//!              verdict.top_category(), verdict.scores.get(verdict.top_category()));
//!     for signal in &verdict.signals {
//!         println!("  {} [{}] {:+.2}: {}", signal.id, signal.category, signal.weight, signal.description);
//!         for span in &signal.spans {
//!             // Byte ranges of the field as sent, with the text there.
//!             println!("    {:?} {}..{} {:?}", span.field, span.start, span.end, span.text);
//!         }
//!     }
//!     // The whole verdict as one line of JSON (the verdict contract).
//!     println!("{}", verdict.to_json());
//!     # assert!(verdict.decision >= moderation_core::Decision::Hold);
//!     # assert_eq!(verdict.top_category(), moderation_core::Category::Scam);
//!     # assert!(verdict.versions.model.is_some());
//!     Ok(())
//! }
//! ```
//!
//! [`Engine::new`] builds the rules alone, without a model: its scores are
//! the rules' hand-set weights, uncalibrated, and its decisions can differ
//! from the service's. Use it when the 1.1 MB model is unwanted (turn the
//! feature off), or stack a model of your own with
//! [`EngineBuilder::model`].
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `default-model` | on | the shipped model (`models/default.model` of the repository, about 1.1 MB) compiled in: [`Model::shipped`](Model#method.shipped), [`Engine::with_default_model`](Engine#method.with_default_model), [`EngineBuilder::default_model`](EngineBuilder#method.default_model) |
//! | `train` | off | training (`train`: naive Bayes + logistic stacking, linfa) |
//! | `openapi` | off | `utoipa` JSON schemas of the contract types, for the service's OpenAPI document |
//!
//! Without `default-model` (`default-features = false`), load a model file
//! with [`Model::load`] or [`Model::from_bytes`], or score with rules only.
//!
//! # Scoring a post
//!
//! With the rules only ([`Engine::new`]):
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
//! feature (`train`, linfa); loading and scoring are not. The shipped model
//! is [`Model::shipped`](Model#method.shipped); a model file of your own (say, one adapted to
//! your forum with `moderation train --base`) loads like this:
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
//! The pipeline shows in the modules, bottom to top; each uses only those
//! before it. Everything public is re-exported at the root, except the
//! [`rules`] and [`model`] file formats, the [`evaluation`] metrics, the
//! [`signals`] detectors and (feature `train`) `train`, which are namespaces.
//!
//! | module | job |
//! |---|---|
//! | `vocab` | the shared vocabulary: [`Category`], [`Decision`], [`Field`], [`Span`], [`Format`], [`ViewName`], [`SignalKind`] |
//! | `error` | [`Error`] and its reasons: [`RuleError`], [`FeedError`], [`ModelError`], [`TrainingError`] |
//! | `text` | views with offset maps ([`View`]), visible text and links of text, Markdown and HTML bodies ([`parse_markup`]), the `words` and `normalized` views that undo evasion ([`words_view`], [`normalized_view`]) |
//! | [`signals`] | URLs, look-alike domains, contacts, crypto addresses, keys, seed phrases; phishing feeds (block and allow lists of hosts) |
//! | `verdict`, `post` | the JSON contract: [`Verdict`] out; [`Post`] and the caller's [`Context`] in |
//! | [`rules`] | the rule file format and its validation; the [`Settings`] its layers resolve to |
//! | `analysis` | one post seen through every view, with its signals |
//! | `classifier` | hashed n-gram features ([`FeatureConfig`]); the [`model`] file, inference and explanations; [`evaluation`] metrics |
//! | `engine` | rule layers compiled once, scoring and decisions ([`Engine`]) |
//! | `redact` | masking exposure spans in a post ([`redact()`]) |
//! | `train` (feature `train`) | naive Bayes + linfa-logistic stacking, cross-validated |
//! | [`fingerprint`] | MinHash fingerprints of normalized text and an LSH index of near-duplicates |
//! | [`adapt`] | a model adapted to one forum's moderator decisions (the base and a forum model stacked out of fold; L-BFGS) |
//! | [`labels`] | decision lines as labels, the moderator-share cap, an engine judged on held-out labels |
//!
//! No async runtime, no database, no network: the crate is a pure function
//! of the post, the rule sets and (optionally) a model.

#![warn(missing_docs)]

// Bottom to top: each module uses only those above it in this list.
pub mod adapt;
mod analysis;
mod classifier;
mod engine;
mod error;
pub mod fingerprint;
pub mod labels;
pub mod memory;
mod post;
mod redact;
pub mod rules;
pub mod signals;
pub mod signature;
mod text;
#[cfg(feature = "train")]
pub mod train;
mod verdict;
mod vocab;
// The checks of the fuzz targets and their replay in the test suite.
#[doc(hidden)]
pub mod fuzzing;

pub use analysis::{MAX_SCAN_BYTES, scanned_prefix};
pub use classifier::features::FeatureConfig;
pub use classifier::model::Model;
pub use classifier::{evaluation, model};
pub use engine::{Engine, EngineBuilder, RuleExplanation};
pub use error::{Error, FeedError, ModelError, RuleError, TrainingError};
pub use post::{Author, Context, Example, Post};
pub use redact::redact;
pub use rules::RuleSet;
pub use rules::settings::Settings;
pub use text::markup::{Document, Link, parse_markup};
pub use text::normalize::{Normalized, normalized_view, words_view};
pub use text::view::View;
pub use verdict::{Scores, Signal, Verdict, Versions};
pub use vocab::{Category, Decision, Field, Format, SignalKind, Span, ViewName};
