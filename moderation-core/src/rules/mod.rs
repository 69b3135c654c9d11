//! Rule sets: the human-editable TOML format, parsing and validation.
//!
//! A rule set is one TOML file (one *layer*). Layers stack: the default pack
//! ([`DEFAULT_PACK`]), then the sets given to
//! [`EngineBuilder::rules`](crate::EngineBuilder::rules) (every forum), then
//! those given to [`EngineBuilder::forum_rules`](crate::EngineBuilder::forum_rules)
//! (one forum's posts). A rule with the id of an earlier layer's rule replaces
//! it; `enabled = false` removes it. Each forum's layers are compiled once
//! when the engine is built.
//!
//! # A complete file
//!
//! ```
//! use moderation_core::{Decision, Engine, Post, RuleSet};
//!
//! let set = RuleSet::from_toml("my-forum.toml", r#"
//! [ruleset]
//! name = "my-forum"
//! version = "3"
//!
//! [settings]
//! protected_brands = ["example-exchange.com"]   # replaces the default list
//! allow_domains = ["docs.example-exchange.com"]
//!
//! [conditions]
//! asking = { phrases = ["is this legit", "is this real", "本物ですか"] }
//!
//! [[rule]]
//! id = "scam.my-forum.otc-desk"
//! category = "scam"
//! weight = 3.5
//! action = "hold"            # minimum decision when it fires (optional)
//! description = "Offers a private OTC desk, a common lure on our forum"
//! when = { all = [
//!   { phrases = ["otc desk", "private otc", "相対取引"] },
//!   { any = [{ signal = "messenger_contact" }, { signal = "external_link" }] },
//!   { not = { use = "asking" } },
//!   { not = { author = { official = true } } },
//! ] }
//! fire = ["Best rates at our private OTC desk, telegram @otc_king_desk"]
//! pass = ["Someone offered me a private OTC desk on telegram @otc_king_desk. Is this legit?"]
//! "#)?;
//! assert_eq!((set.name.as_str(), set.version.as_str()), ("my-forum", "3"));
//!
//! let engine = Engine::builder().rules(set).build()?;
//! let lure = engine.score(&Post::new("1", "Best rates at our private OTC desk, telegram @otc_king_desk"));
//! assert!(lure.has_signal("scam.my-forum.otc-desk"));
//! assert!(lure.decision >= Decision::Hold); // the rule's `action`
//! let question = engine.score(&Post::new("2", "Someone offered me a private OTC desk on telegram @otc_king_desk. Is this legit?"));
//! assert!(!question.has_signal("scam.my-forum.otc-desk"));
//! # Ok::<(), moderation_core::Error>(())
//! ```
//!
//! # Tables
//!
//! Every table is optional. Unknown keys are errors everywhere, so a typo
//! such as `wieght` never silently disables a rule.
//!
//! | table | keys |
//! |---|---|
//! | `[ruleset]` | `name` (else the source name), `version` (else `"0"`), `description`; `name@version` of each layer is reported in [`Versions::rules`](crate::Versions::rules) |
//! | `[settings]` | see [`LayerSettings`]: `protected_brands`, `official_domains`, `official_accounts` (author ids), `allow_domains`, `priors.<category>` (log-odds), `thresholds.<category>.{review,hold,reject}` (scores in `[0, 1]`); a later layer replaces each key it sets, giving the [`Settings`](crate::Settings) in force |
//! | `[conditions]` | named conditions, `name = { <condition> }`, used by `use = "name"` in this layer or a later one |
//! | `[[rule]]` | one per rule, below |
//!
//! # Rules
//!
//! | key | |
//! |---|---|
//! | `id` | required; 1–100 letters, digits, `.`, `-`, `_`; unique in the file; conventionally `category.family.name` |
//! | `category` | required: `spam`, `scam`, `misinformation` or `exposure` ([`Category`]) |
//! | `weight` | required: log-odds added to the category's score when the rule fires, −20 to 20; a negative weight lowers the score |
//! | `description` | required, not blank: what moderators see in the verdict's signal |
//! | `when` | required: the [condition](#conditions) under which the rule fires |
//! | `action` | optional: the least decision when it fires (`review`, `hold`, `reject`; [`Decision`]) |
//! | `at_most` | optional, `review` or `hold`: the highest decision the rule can bring a post to on its own; its weight still counts in the score, and `action` may not be above it |
//! | `enabled` | default `true`; `false` removes the rule of an earlier layer with this id (no other key is then needed) |
//! | `fire` | example posts that must fire the rule |
//! | `pass` | benign example posts with the rule's trigger words that must not |
//!
//! An example is a string (a plain-text body) or a table
//! `{ title, body, format, lang, author, flags }` ([`ExamplePost`]); `author`
//! has the fields of a post's author (`{ id, name, account_age_days,
//! trust_level, post_count, prior_removals, is_staff }`), `flags` those of
//! [`Context::flags`](crate::Context::flags).
//!
//! # Conditions
//!
//! A condition is a TOML table with exactly one key ([`Condition`]):
//!
//! | condition | true when |
//! |---|---|
//! | `phrases = ["dm me", "サポート"]` | any phrase occurs in the `normalized` view. Phrases are normalized the same way, so `"dm me"` also matches `ＤＭ　ｍ３`. Latin and digit edges match whole words only, and a change of script is a word boundary (`btc` matches in 「BTCを送って」, not in `btcx`); Japanese, Chinese, Thai and Korean match as substrings |
//! | `regex = { pattern = '…', view = "words" }` | the Rust [`regex`](https://docs.rs/regex) pattern matches the declared view, `raw`, `words` or `normalized` ([`ViewName`]); the view is required |
//! | `link_domain = ["example.com"]` | a link goes to one of these domains or a subdomain |
//! | `link_count = { min = 3, max = 10 }` | the number of distinct external links (not official, not allow-listed) is in range; either bound may be left out |
//! | `signal = "messenger_contact"` or `signal = { name = "lookalike_domain", min_confidence = 0.9 }` | the extractor found that signal ([`SignalKind`]: `crypto_address`, `invalid_crypto_address`, `lookalike_domain`, `messenger_contact`, `email`, `phone`, `mixed_script`, `shortener`, `anchor_mismatch`, `idn_link`, `defanged_link`, `external_link`, `official_link`, `seed_phrase`, `private_key`, `author_impersonation`, `evasion`, `lossy_utf16`) |
//! | `language = ["ja", "ko"]` | the post's language (given, else identified), ISO 639-1 |
//! | `author = { max_account_age_days = 7 }` | every given bound holds ([`AuthorCondition`]): `max_account_age_days`, `min_account_age_days`, `max_trust_level`, `min_trust_level`, `max_post_count`, `min_prior_removals`, `staff`, `official`; a fact the forum did not send fails its bound |
//! | `flag = "near_duplicate"` | the caller set that flag in [`Context::flags`](crate::Context::flags) |
//! | `use = "name"` | the named condition holds |
//! | `all = [..]`, `any = [..]`, `not = { .. }` | combinators |
//!
//! A rule must have a positive condition (text, link, signal or flag): one
//! made only of `not`, `author` and `language` would fire on every post and
//! is refused.
//!
//! Regular expressions use Rust's `regex` crate (linear time, no
//! backtracking). In a pattern written in ASCII, `\b` is an ASCII word
//! boundary, so a change to another script is a boundary as for phrases
//! (write `(?u)` for Unicode boundaries). Each pattern is limited to 1 MiB
//! compiled and each view's combined set to 16 MiB; a set holds at most 1,000
//! distinct patterns.
//!
//! ```
//! use moderation_core::{Engine, Post, RuleSet};
//!
//! let set = RuleSet::from_toml("regex.toml", r#"
//! [[rule]]
//! id = "spam.example.promo-code"
//! category = "spam"
//! weight = 2.5
//! description = "Posts a promo code"
//! when = { all = [
//!   { regex = { pattern = '\bpromo code [a-z0-9]{6,}\b', view = "words" } },
//!   { author = { max_post_count = 5 } },
//! ] }
//! "#)?;
//! let engine = Engine::builder().rules(set).build()?;
//! let mut post = Post::from_json(r#"{"id": "1", "body": "Use PROMO CODE x7k2p9q now",
//!                                    "author": {"id": "u1", "post_count": 1}}"#)?;
//! assert!(engine.score(&post).has_signal("spam.example.promo-code"));
//! post.author = None; // the post count is unknown: the bound fails
//! assert!(!engine.score(&post).has_signal("spam.example.promo-code"));
//! # Ok::<(), moderation_core::Error>(())
//! ```
//!
//! # Errors
//!
//! A rule set that fails validation is refused whole with a [`RuleError`]
//! (inside [`Error::Rules`]) naming the file, the line
//! and the rule id, e.g. ``mine.toml:9: rule `broken`: invalid regex: …``.
//! Compiling the layers ([`EngineBuilder::build`](crate::EngineBuilder::build))
//! also bounds their cost: `use` nests at most 8 deep, one rule expands to at
//! most 10,000 conditions and a forum's layers together to 200,000, and the
//! layers hold at most 1,000 patterns and 50,000 distinct phrases.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, RuleError};
use crate::post::{Author, Context, Post};
use crate::vocab::{Category, Decision, Format, SignalKind, ViewName};

mod registry;
pub(crate) mod settings;

pub use registry::{BrandEntry, BrandKind, DEFAULT_REGISTRY, MAX_BRANDS, MAX_NAMES_PER_BRAND, Registry};

/// The default rule pack for an exchange community, English and Japanese.
pub const DEFAULT_PACK: &str = include_str!("../../rules/default.toml");

/// A parsed, validated rule set (one layer).
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The layer's name (`[ruleset] name`, else the source name).
    pub name: String,
    /// The layer's version (`[ruleset] version`, else `0`).
    pub version: String,
    /// Where it was loaded from, for error messages.
    pub source_name: String,
    /// Settings this layer overrides.
    pub settings: LayerSettings,
    /// Named conditions rules can reuse with `use = "name"`.
    pub conditions: BTreeMap<String, Condition>,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Brands this layer adds to the registry (`[[brand]]` tables, see [`Registry`]).
    pub brands: Vec<BrandEntry>,
}

/// Settings a layer may set (its `[settings]` table); later layers override
/// earlier ones key by key, giving the [`crate::Settings`] in force.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSettings {
    /// Whether the shipped brand registry ([`Registry::default_registry`]) is
    /// protected; the default pack turns it on.
    pub brand_registry: Option<bool>,
    /// Whether an established member's post that quotes a scam to warn
    /// about it is capped at review (see [`crate::signals::report`]); off
    /// unless a layer turns it on.
    pub quoted_reports: Option<bool>,
    /// Domains whose look-alikes are scams (`binance.com`).
    pub protected_brands: Option<Vec<String>>,
    /// Domains that official announcements link to; a link here is `official_link`.
    pub official_domains: Option<Vec<String>>,
    /// Author ids that speak for the operator (besides `is_staff`).
    pub official_accounts: Option<Vec<String>>,
    /// Domains that never count as external links (the forum's own, docs).
    pub allow_domains: Option<Vec<String>>,
    /// Prior log-odds per category (default −3, a score of 0.047).
    pub priors: Option<BTreeMap<Category, f64>>,
    /// Decision thresholds per category.
    pub thresholds: Option<BTreeMap<Category, Thresholds>>,
}

/// Score thresholds at which a category's decision becomes review, hold or
/// reject. A missing threshold means "never" (misinformation never rejects).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Score at or above which the post goes to review.
    pub review: Option<f64>,
    /// Score at or above which the post is held.
    pub hold: Option<f64>,
    /// Score at or above which the post is rejected.
    pub reject: Option<f64>,
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique id, conventionally `category.family.name`.
    pub id: String,
    /// The category its weight counts towards.
    pub category: Category,
    /// Log-odds added when the rule fires (negative weights lower the score).
    pub weight: f64,
    /// Shown to moderators.
    pub description: String,
    /// Minimum decision when the rule fires, whatever the scores.
    pub action: Option<Decision>,
    /// Highest decision this rule can bring a post to on its own
    /// (`at_most = "review"` for self-promotion): its weight still counts
    /// towards the score, but where the decision rests on it and other
    /// rules capped likewise, the post goes no higher than this.
    pub at_most: Option<Decision>,
    /// `false` removes a rule of an earlier layer with the same id.
    pub enabled: bool,
    /// When the rule fires.
    pub when: Condition,
    /// Example posts that must fire this rule.
    pub fire: Vec<Example>,
    /// Benign posts, containing the rule's trigger words, that must not.
    pub pass: Vec<Example>,
    /// 1-based line of the rule's `id` in its file.
    pub line: usize,
}

/// A condition of a rule. In TOML each is a table with exactly one key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// Any of these words or phrases, matched on the normalized view. Latin
    /// words match whole (a change of script is a boundary, so `btc` matches
    /// in 「BTCを送って」); Japanese, Chinese and Thai match as substrings.
    Phrases(Vec<String>),
    /// A regular expression on the declared view.
    Regex(RegexCondition),
    /// A link (URL in the text or markup link) to one of these domains or
    /// their subdomains.
    LinkDomain(Vec<String>),
    /// The number of external links (not official, not allow-listed).
    LinkCount(Range),
    /// An extracted signal.
    Signal(SignalSpec),
    /// The post's language (given or identified), ISO 639-1 such as `ja`.
    Language(Vec<String>),
    /// Facts about the author; all given bounds must hold.
    Author(AuthorCondition),
    /// A flag the caller set from memory of earlier posts (`near_duplicate`).
    Flag(String),
    /// A named condition from a `[conditions]` table of this or an earlier layer.
    Use(String),
    /// All of these.
    All(Vec<Condition>),
    /// Any of these.
    Any(Vec<Condition>),
    /// Not this.
    Not(Box<Condition>),
    /// This, with a match in the author's own words: at least one of its
    /// text matches lies outside every quotation of the post (see
    /// the `text::quotes` module). `unquoted = { use = "warning" }` is a
    /// warning the author gives, not one they quote ("'Beware of scams'
    /// they say, but connect your wallet at …"). A condition without text
    /// matches (author, language) never holds here, and where the post's
    /// quotations cannot be told (the scan ran out of its budget) no match
    /// counts as the author's own.
    Unquoted(Box<Condition>),
}

/// A regular expression condition. The view is required: a pattern written
/// for raw text silently fails on normalized text and vice versa.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexCondition {
    /// The pattern (Rust `regex` syntax: linear time, no backtracking).
    pub pattern: String,
    /// The view it runs on.
    pub view: ViewName,
}

/// A numeric range; either bound may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Inclusive lower bound.
    pub min: Option<u32>,
    /// Inclusive upper bound.
    pub max: Option<u32>,
}

/// A signal condition: `signal = "crypto_address"` or
/// `signal = { name = "lookalike_domain", min_confidence = 0.9 }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SignalSpec {
    /// Just the signal's name.
    Name(SignalKind),
    /// The name and a minimum confidence.
    Graded {
        /// The signal.
        name: SignalKind,
        /// Minimum confidence in `[0, 1]` (look-alike domains are graded).
        min_confidence: f64,
    },
}

impl SignalSpec {
    pub(crate) fn kind(&self) -> SignalKind {
        match self {
            SignalSpec::Name(k) | SignalSpec::Graded { name: k, .. } => *k,
        }
    }
    pub(crate) fn min_confidence(&self) -> f64 {
        match self {
            SignalSpec::Name(_) => 0.0,
            SignalSpec::Graded { min_confidence, .. } => *min_confidence,
        }
    }
}

/// Author bounds. Each given bound must hold; an unknown fact (the forum did
/// not send it) fails the bound, so "new account" never matches a post whose
/// account age is unknown.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorCondition {
    /// Account at most this many days old.
    pub max_account_age_days: Option<u32>,
    /// Account at least this many days old.
    pub min_account_age_days: Option<u32>,
    /// Trust level at most this.
    pub max_trust_level: Option<u8>,
    /// Trust level at least this.
    pub min_trust_level: Option<u8>,
    /// At most this many earlier posts.
    pub max_post_count: Option<u32>,
    /// At least this many earlier removals.
    pub min_prior_removals: Option<u32>,
    /// Staff (`is_staff`) or not; unknown counts as not staff.
    pub staff: Option<bool>,
    /// Staff or listed in `official_accounts`, or neither.
    pub official: Option<bool>,
}

/// An example post in a rule file: a string (the body) or a table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Example {
    /// Just a plain-text body.
    Body(String),
    /// A fuller post.
    Post(ExamplePost),
}

/// An example post with optional title, format and author.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExamplePost {
    /// Title.
    pub title: Option<String>,
    /// Body.
    #[serde(default)]
    pub body: String,
    /// Body format.
    #[serde(default)]
    pub format: Format,
    /// Language.
    pub lang: Option<String>,
    /// Author.
    pub author: Option<Author>,
    /// Caller flags (as [`Context::flags`]) to score the example with.
    #[serde(default)]
    pub flags: Vec<String>,
}

impl Example {
    /// The caller context the example is scored with.
    pub fn context(&self) -> Context {
        match self {
            Example::Body(_) => Context::default(),
            Example::Post(p) => Context { flags: p.flags.clone(), ..Context::default() },
        }
    }

    /// The example as a post with the given id.
    pub fn to_post(&self, id: &str) -> Post {
        match self {
            Example::Body(body) => Post::new(id, body.clone()),
            Example::Post(p) => Post {
                id: id.to_string(),
                title: p.title.clone(),
                body: p.body.clone(),
                format: p.format,
                lang: p.lang.clone(),
                forum: None,
                author: p.author.clone(),
                lossy_utf16: false,
            },
        }
    }
}

// ---- the file as serde sees it ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    ruleset: Option<HeaderDef>,
    #[serde(default)]
    settings: LayerSettings,
    #[serde(default)]
    conditions: BTreeMap<String, Condition>,
    #[serde(default)]
    rule: Vec<RuleDef>,
    #[serde(default)]
    brand: Vec<registry::BrandDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderDef {
    name: Option<String>,
    version: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: toml::Spanned<String>,
    category: Option<Category>,
    weight: Option<f64>,
    description: Option<String>,
    action: Option<Decision>,
    at_most: Option<Decision>,
    #[serde(default = "yes")]
    enabled: bool,
    when: Option<Condition>,
    #[serde(default)]
    fire: Vec<Example>,
    #[serde(default)]
    pass: Vec<Example>,
}

fn yes() -> bool {
    true
}

/// Largest absolute weight a rule may carry: beyond this one rule alone
/// saturates the logistic and the others stop mattering.
const MAX_WEIGHT: f64 = 20.0;

impl RuleSet {
    /// The built-in default pack.
    pub fn default_pack() -> RuleSet {
        // The pack is compiled into the binary and checked by tests, so a
        // failure here is a build defect, not an input error.
        RuleSet::from_toml("default.toml", DEFAULT_PACK).expect("the default rule pack is valid")
    }

    /// Reads and validates a rule file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<RuleSet, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        RuleSet::from_toml(&path.display().to_string(), &text)
    }

    /// Parses and validates a rule set from TOML text. `source_name` names it
    /// in errors (usually the file path).
    ///
    /// ```
    /// use moderation_core::RuleSet;
    ///
    /// let err = RuleSet::from_toml("mine.toml", r#"
    /// [[rule]]
    /// id = "spam.casino"
    /// category = "spam"
    /// weight = 2.0
    /// description = "Casino promotion"
    /// when = { regex = { pattern = "casino(", view = "normalized" } }
    /// "#).unwrap_err();
    /// let msg = err.to_string();
    /// assert!(msg.starts_with("mine.toml:3: rule `spam.casino`: invalid regex"), "{msg}");
    /// ```
    pub fn from_toml(source_name: &str, text: &str) -> Result<RuleSet, Error> {
        let err = |line: Option<usize>, rule_id: Option<String>, message: String| {
            Error::Rules(RuleError { source_name: source_name.to_string(), line, rule_id, message })
        };
        let file: FileDef = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| s.start);
            err(at.map(|a| line_of(text, a)), at.and_then(|a| rule_id_before(text, a)), e.message().to_string())
        })?;
        let header = file.ruleset.unwrap_or(HeaderDef { name: None, version: None, description: None });
        let mut seen = HashSet::new();
        // Each distinct pattern is compiled once, and only so many of them.
        let mut patterns = HashSet::new();
        let mut rules = Vec::with_capacity(file.rule.len());
        for def in file.rule {
            let line = line_of(text, def.id.span().start);
            let id = def.id.into_inner();
            let fail = |message: String| err(Some(line), Some(id.clone()), message);
            if !valid_id(&id) {
                return Err(fail("an id is 1–100 characters of letters, digits, '.', '-' and '_'".into()));
            }
            if !seen.insert(id.clone()) {
                return Err(fail("duplicate rule id in this file".into()));
            }
            if !def.enabled {
                // A disabled rule only removes a rule of an earlier layer.
                rules.push(Rule {
                    id,
                    category: def.category.unwrap_or(Category::Spam),
                    weight: 0.0,
                    description: String::new(),
                    action: None,
                    at_most: None,
                    enabled: false,
                    when: Condition::All(Vec::new()),
                    fire: Vec::new(),
                    pass: Vec::new(),
                    line,
                });
                continue;
            }
            let category = def.category.ok_or_else(|| fail("missing `category`".into()))?;
            let weight = def.weight.ok_or_else(|| fail("missing `weight`".into()))?;
            if !weight.is_finite() || weight.abs() > MAX_WEIGHT {
                return Err(fail(format!("weight {weight} is outside -{MAX_WEIGHT}..={MAX_WEIGHT}")));
            }
            let description = def.description.filter(|d| !d.trim().is_empty());
            let description = description.ok_or_else(|| fail("missing `description` (moderators see it)".into()))?;
            let when = def.when.ok_or_else(|| fail("missing `when`".into()))?;
            validate_condition(&when, &mut patterns).map_err(fail)?;
            if !has_positive_condition(&when) {
                return Err(fail("the condition can match a post with no evidence at all (only `not`/author/language); add a positive condition".into()));
            }
            match (def.at_most, def.action) {
                (Some(Decision::Allow | Decision::Reject), _) => {
                    return Err(fail(
                        "`at_most` is \"review\" or \"hold\" (allow would make the rule pointless; reject is no cap)"
                            .into(),
                    ));
                }
                (Some(cap), Some(action)) if action > cap => {
                    return Err(fail(format!("`action` {} is above `at_most` {}", action.as_str(), cap.as_str())));
                }
                _ => {}
            }
            rules.push(Rule {
                id,
                category,
                weight,
                description,
                action: def.action,
                at_most: def.at_most,
                enabled: true,
                when,
                fire: def.fire,
                pass: def.pass,
                line,
            });
        }
        validate_settings(&file.settings).map_err(|m| err(None, None, m))?;
        for (name, c) in &file.conditions {
            validate_condition(c, &mut patterns).map_err(|m| err(None, None, format!("conditions.{name}: {m}")))?;
        }
        let brands = registry::validate_brands(source_name, text, file.brand)?;
        Ok(RuleSet {
            name: header.name.unwrap_or_else(|| source_name.to_string()),
            version: header.version.unwrap_or_else(|| "0".to_string()),
            source_name: source_name.to_string(),
            settings: file.settings,
            conditions: file.conditions,
            rules,
            brands,
        })
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn validate_condition(c: &Condition, patterns: &mut HashSet<String>) -> Result<(), String> {
    match c {
        Condition::Phrases(list) => {
            if list.is_empty() {
                return Err("`phrases` is empty".into());
            }
            if let Some(p) = list.iter().find(|p| p.trim().is_empty()) {
                return Err(format!("`phrases` contains an empty phrase {p:?}"));
            }
        }
        Condition::Regex(r) => {
            if patterns.contains(&r.pattern) {
                return Ok(());
            }
            if patterns.len() >= MAX_PATTERNS {
                return Err(format!("more than {MAX_PATTERNS} distinct regex patterns in one rule set"));
            }
            regex::RegexBuilder::new(&r.pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("invalid regex: {e}"))?;
            patterns.insert(r.pattern.clone());
        }
        Condition::LinkDomain(list) | Condition::Language(list) => {
            if list.is_empty() {
                return Err("empty list".into());
            }
        }
        Condition::LinkCount(r) => {
            if r.min.is_none() && r.max.is_none() {
                return Err("`link_count` needs `min` or `max`".into());
            }
        }
        Condition::Signal(s) => {
            if !(0.0..=1.0).contains(&s.min_confidence()) {
                return Err("`min_confidence` must be within 0..=1".into());
            }
        }
        Condition::Author(_) | Condition::Flag(_) | Condition::Use(_) => {}
        Condition::All(list) | Condition::Any(list) => {
            if list.is_empty() {
                return Err("`all`/`any` needs at least one condition".into());
            }
            list.iter().try_for_each(|c| validate_condition(c, patterns))?;
        }
        Condition::Not(inner) | Condition::Unquoted(inner) => validate_condition(inner, patterns)?,
    }
    Ok(())
}

/// Whether the condition needs some evidence in the post itself (text, links,
/// signals, caller flags), so that it cannot fire on every post.
fn has_positive_condition(c: &Condition) -> bool {
    match c {
        Condition::Phrases(_)
        | Condition::Regex(_)
        | Condition::LinkDomain(_)
        | Condition::Signal(_)
        | Condition::Flag(_)
        | Condition::Use(_) => true,
        Condition::LinkCount(r) => r.min.is_some_and(|m| m > 0),
        Condition::Language(_) | Condition::Author(_) | Condition::Not(_) => false,
        Condition::Unquoted(inner) => has_positive_condition(inner),
        Condition::All(list) => list.iter().any(has_positive_condition),
        Condition::Any(list) => list.iter().all(has_positive_condition),
    }
}

fn validate_settings(s: &LayerSettings) -> Result<(), String> {
    if let Some(t) = &s.thresholds {
        for (cat, t) in t {
            let vals = [t.review, t.hold, t.reject];
            if vals.iter().flatten().any(|v| !(0.0..=1.0).contains(v)) {
                return Err(format!("settings.thresholds.{}: thresholds are scores within 0..=1", cat.as_str()));
            }
            let given: Vec<f64> = vals.iter().flatten().copied().collect();
            if given.windows(2).any(|w| w[0] > w[1]) {
                return Err(format!("settings.thresholds.{}: review ≤ hold ≤ reject", cat.as_str()));
            }
        }
    }
    if let Some(p) = &s.priors
        && p.values().any(|v| !v.is_finite() || v.abs() > MAX_WEIGHT)
    {
        return Err("settings.priors: priors are finite log-odds within -20..=20".into());
    }
    Ok(())
}

/// Per-pattern compiled-size limit: a pattern such as `\w{1000}` that would
/// blow up is refused when the rule set is loaded, not at scoring time.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Most distinct regex patterns in one rule set, and across the layers an
/// engine stacks: with [`REGEX_SIZE_LIMIT`] each, this bounds the time and
/// memory compiling a rule set can take.
pub(crate) const MAX_PATTERNS: usize = 1_000;

/// The pattern as the engine compiles it. In a pattern written in ASCII, `\b` and `\B` become ASCII word
/// boundaries. A Unicode word boundary cannot run in the lazy DFA once the
/// text holds any non-ASCII byte, and one such pattern drags the whole
/// `RegexSet` into the PikeVM: measured 40% of the scoring time of a 1 KB
/// post mixing English and Japanese. For ASCII words the meaning is the
/// same, and a change to another script still counts as a boundary (as for
/// phrases). Patterns with non-ASCII text or an explicit `(?u` are left alone.
pub fn compiled_pattern(pattern: &str) -> String {
    if !pattern.is_ascii() || pattern.contains("(?u") || !pattern.contains('\\') {
        return pattern.to_string();
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('B') => out.push_str("(?-u:\\B)"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// For a syntax error inside a rule, the id of the `[[rule]]` table around
/// the error (the id may come after the error, so look ahead to the next table).
fn rule_id_before(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let start = text[..at].rfind("[[rule]]")?;
    let end = text[start + 8..].find("[[rule]]").map_or(text.len(), |e| start + 8 + e);
    text[start..end].lines().find_map(|l| {
        let rest = l.trim().strip_prefix("id")?.trim_start().strip_prefix('=')?.trim();
        Some(rest.trim_matches('"').trim_matches('\'').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_err(text: &str) -> RuleError {
        match RuleSet::from_toml("t.toml", text) {
            Err(Error::Rules(e)) => e,
            other => panic!("expected a rule error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_name_line_and_rule() {
        let e = rule_err(
            "[[rule]]\nid = \"a.b\"\ncategory = \"scam\"\nweight = 1\ndescription = \"d\"\nwhen = { phrase = [\"x\"] }\n",
        );
        assert_eq!(e.line, Some(6));
        assert_eq!(e.rule_id.as_deref(), Some("a.b"));
        assert!(e.message.contains("unknown variant `phrase`"), "{}", e.message);
    }

    #[test]
    fn semantic_errors_name_line_and_rule() {
        let e = rule_err(
            "\n\n[[rule]]\nid = \"x\"\ncategory = \"spam\"\nweight = 99\ndescription = \"d\"\nwhen = { phrases = [\"a\"] }\n",
        );
        assert_eq!((e.line, e.rule_id.as_deref()), (Some(4), Some("x")));
        assert!(e.message.contains("weight"));
        let e = rule_err(
            "[[rule]]\nid = \"x\"\ncategory = \"spam\"\nweight = 1\ndescription = \"d\"\nwhen = { not = { phrases = [\"a\"] } }\n",
        );
        assert!(e.message.contains("positive condition"), "{}", e.message);
        let e = rule_err(
            "[[rule]]\nid = \"x\"\ncategory = \"spam\"\nweight = 1\ndescription = \"d\"\nwhen = { phrases = [\"a\"] }\n[[rule]]\nid = \"x\"\ncategory = \"spam\"\nweight = 1\ndescription = \"d\"\nwhen = { phrases = [\"a\"] }\n",
        );
        assert_eq!(e.line, Some(8));
        assert!(e.message.contains("duplicate"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = rule_err("[[rule]]\nid = \"x\"\ncategory = \"spam\"\nwieght = 1\n");
        assert!(e.message.contains("wieght"), "{}", e.message);
    }

    #[test]
    fn default_pack_parses() {
        let pack = RuleSet::default_pack();
        assert!(pack.rules.len() >= 20);
    }
}
