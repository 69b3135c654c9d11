//! The engine: rule sets compiled once, posts scored many times.

use std::collections::HashMap;
use std::sync::Arc;

mod compile;

use crate::analysis::{Analysis, Evidence};
use crate::classifier::model::Model;
use crate::error::Error;
use crate::post::{Author, Context, Post};
use crate::rules::RuleSet;
use crate::rules::settings::Settings;
use crate::signals::feeds::Feeds;
use crate::signals::report;
use crate::signals::seed::SeedLanguage;
use crate::verdict::{Scores, Signal, Verdict, Versions};
use crate::vocab::{Category, Decision, Field, SignalKind, Span};
use compile::{Compiled, CompiledRule, Flags};

/// How one rule judged one post (see [`Engine::explain_rule`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleExplanation {
    /// Whether the rule fired.
    pub fired: bool,
    /// Each positive condition, described, and whether it held.
    pub conditions: Vec<(String, bool)>,
}

/// Builds an [`Engine`].
#[derive(Default)]
pub struct EngineBuilder {
    base: Vec<RuleSet>,
    feeds: Arc<Feeds>,
    forums: Vec<(String, RuleSet)>,
    model: Option<Arc<Model>>,
    /// `default_model()` was the last model choice: decode the shipped model
    /// in `build`.
    #[cfg(feature = "default-model")]
    shipped: bool,
    no_default: bool,
}

impl EngineBuilder {
    /// Leaves out the built-in default pack.
    pub fn without_default_rules(mut self) -> Self {
        self.no_default = true;
        self
    }

    /// Adds a rule layer for every forum, on top of the default pack.
    pub fn rules(mut self, set: RuleSet) -> Self {
        self.base.push(set);
        self
    }

    /// Adds a layer for one forum (posts whose `forum` equals `forum`).
    pub fn forum_rules(mut self, forum: impl Into<String>, set: RuleSet) -> Self {
        self.forums.push((forum.into(), set));
        self
    }

    /// Stacks a trained [`Model`] on the rules: its heads add a
    /// `classifier.<category>` signal and replace the hand-set weights of
    /// the rules it fitted (unless a rule changed since).
    ///
    /// Replaces an earlier [`model`](Self::model) or
    /// [`default_model`](Self#method.default_model).
    pub fn model(mut self, model: Arc<Model>) -> Self {
        self.model = Some(model);
        #[cfg(feature = "default-model")]
        {
            self.shipped = false;
        }
        self
    }

    /// Stacks the model the project ships ([`Model::shipped`], feature
    /// `default-model`, on by default): the engine then scores as the
    /// `moderation` service does. The model is decoded and verified in
    /// [`build`](Self::build). Replaces an earlier [`model`](Self::model).
    ///
    /// ```
    /// use moderation_core::Engine;
    ///
    /// let engine = Engine::builder().default_model().build()?;
    /// assert!(engine.model().is_some());
    /// # Ok::<(), moderation_core::Error>(())
    /// ```
    #[cfg(feature = "default-model")]
    pub fn default_model(mut self) -> Self {
        self.model = None;
        self.shipped = true;
        self
    }

    /// Checks links against phishing feeds (block and allow lists, see
    /// [`Feeds`]): a host on a block list adds the signal
    /// `scam.link.lookalike-feed`; a host on an allow list is never a look-alike.
    /// Verdicts name the feed versions. Replaces earlier feeds.
    pub fn feeds(mut self, feeds: impl Into<Arc<Feeds>>) -> Self {
        self.feeds = feeds.into();
        self
    }

    /// Compiles every layered set once. A broken layer fails the build whole.
    pub fn build(self) -> Result<Engine, Error> {
        #[cfg(feature = "default-model")]
        let model = if self.shipped { Some(Arc::new(Model::shipped()?)) } else { self.model };
        #[cfg(not(feature = "default-model"))]
        let model = self.model;
        let mut base = Vec::new();
        if !self.no_default {
            base.push(RuleSet::default_pack());
        }
        base.extend(self.base);
        let default = Arc::new(Compiled::new(&base)?);
        let mut by_forum: HashMap<String, Vec<RuleSet>> = HashMap::new();
        for (forum, set) in self.forums {
            by_forum.entry(forum).or_default().push(set);
        }
        let mut forums = HashMap::new();
        for (forum, sets) in by_forum {
            let mut layers = base.clone();
            layers.extend(sets);
            forums.insert(forum, Arc::new(Compiled::new(&layers)?));
        }
        let feed_versions = self.feeds.versions();
        Ok(Engine { default, forums, heads: heads_of(model.as_deref()), model, feeds: self.feeds, feed_versions })
    }
}

/// Scores posts. Build once, share by reference or `Arc` across threads.
///
/// ```
/// use moderation_core::{Decision, Engine, Post};
///
/// let engine = Engine::new()?;
/// let post = Post::new("1", "Problems withdrawing? DM me on Telegram @binance_help_desk, I am official support");
/// let verdict = engine.score(&post);
/// assert!(verdict.decision >= Decision::Review);
/// let reason = &verdict.signals[0];
/// println!("{} ({:+.1}): {}", reason.id, reason.weight, reason.description);
/// for span in &reason.spans {
///     assert_eq!(&post.body[span.start..span.end], span.text);
/// }
/// # Ok::<(), moderation_core::Error>(())
/// ```
pub struct Engine {
    default: Arc<Compiled>,
    forums: HashMap<String, Arc<Compiled>>,
    model: Option<Arc<Model>>,
    /// Category index → model head index.
    heads: [Option<usize>; 4],
    feeds: Arc<Feeds>,
    feed_versions: Vec<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.default.version)
            .field("forums", &self.forums.keys().collect::<Vec<_>>())
            .field("model", &self.model.as_ref().map(|m| m.version().to_string()))
            .finish()
    }
}

impl Engine {
    /// An engine with the default rule pack only: no model, so its scores
    /// are the rules' hand-set weights and differ from the service's, which
    /// stacks the shipped model. For the service's verdicts use
    /// [`Engine::with_default_model`](Engine#method.with_default_model).
    pub fn new() -> Result<Engine, Error> {
        Engine::builder().build()
    }

    /// An engine with the default rule pack and the shipped model
    /// ([`Model::shipped`], feature `default-model`, on by default): the
    /// rules and model the `moderation` service and `moderation score` use
    /// by default, so it gives their verdicts.
    ///
    /// ```
    /// use moderation_core::{Category, Decision, Engine, Post};
    ///
    /// let engine = Engine::with_default_model()?;
    /// let verdict = engine.score(&Post::new("1", "DM me on Telegram for a 2x airdrop, send 0.1 ETH first"));
    /// assert!(verdict.has_signal("classifier.scam"));
    /// assert!(verdict.decision >= Decision::Review);
    /// assert_eq!(verdict.top_category(), Category::Scam);
    /// assert_eq!(verdict.versions.model.as_deref(), engine.model().map(|m| m.version()));
    /// # Ok::<(), moderation_core::Error>(())
    /// ```
    #[cfg(feature = "default-model")]
    pub fn with_default_model() -> Result<Engine, Error> {
        Engine::builder().default_model().build()
    }

    /// Starts building an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The version string of the rule layers used for a forum's posts.
    pub fn rules_version(&self, forum: Option<&str>) -> &str {
        &self.compiled(forum).version
    }

    /// The settings in force for a forum.
    pub fn settings(&self, forum: Option<&str>) -> &Settings {
        &self.compiled(forum).settings
    }

    pub(crate) fn compiled(&self, forum: Option<&str>) -> &Compiled {
        forum.and_then(|f| self.forums.get(f)).unwrap_or(&self.default)
    }

    /// Scores one post.
    pub fn score(&self, post: &Post) -> Verdict {
        self.score_with(post, &Context::default())
    }

    /// Scores a batch of posts, in order, on all cores.
    pub fn score_batch(&self, posts: &[Post]) -> Vec<Verdict> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(posts.len().max(1));
        if threads <= 1 || posts.len() < 16 {
            return posts.iter().map(|p| self.score(p)).collect();
        }
        let chunk = posts.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = posts
                .chunks(chunk)
                .map(|c| s.spawn(move || c.iter().map(|p| self.score(p)).collect::<Vec<_>>()))
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        })
    }

    /// Shows how one rule judges a post: whether it fires, and which of its
    /// positive conditions (those not under `not`) hold on their own. This
    /// is the "test this rule" tool for rule authors. `None` when no rule has
    /// that id in the post's forum layers.
    pub fn explain_rule(&self, rule_id: &str, post: &Post, ctx: &Context) -> Option<RuleExplanation> {
        let compiled = self.compiled(post.forum.as_deref());
        let index = compiled.rules.iter().position(|r| r.id == rule_id)? as u32;
        let analysis = Analysis::with_feeds(post, &compiled.settings, &self.feeds);
        let scan = compiled.scan(&analysis);
        let flags = Flags(&ctx.flags);
        Some(RuleExplanation {
            fired: compiled.evaluate(index, &analysis, &scan, &flags).is_some(),
            conditions: compiled.explain(index, &analysis, &scan, &flags),
        })
    }

    /// Runs only normalization and signal extraction (no rule matching or
    /// scoring) and returns how many signals were found. For benchmarks that
    /// split the cost of [`Engine::score`] into stages.
    #[doc(hidden)]
    pub fn analyze_only(&self, post: &Post) -> usize {
        let compiled = self.compiled(post.forum.as_deref());
        let analysis = Analysis::with_feeds(post, &compiled.settings, &self.feeds);
        SignalKind::ALL.iter().map(|k| analysis.signal(*k).len()).sum()
    }

    /// Scores one post with what the caller knows from earlier posts.
    pub fn score_with(&self, post: &Post, ctx: &Context) -> Verdict {
        let compiled = self.compiled(post.forum.as_deref());
        let analysis = Analysis::with_feeds(post, &compiled.settings, &self.feeds);
        self.score_analyzed(post, compiled, &analysis, ctx)
    }

    /// Scores one post whose context depends on what the engine reads in
    /// it: `context` gets the post's link facts (see [`Engine::link_facts`])
    /// from the analysis the score then uses, so the post is analyzed once.
    pub(crate) fn score_with_facts<R>(
        &self,
        post: &Post,
        context: impl FnOnce(LinkFacts) -> (Context, R),
    ) -> (Verdict, R) {
        let compiled = self.compiled(post.forum.as_deref());
        let analysis = Analysis::with_feeds(post, &compiled.settings, &self.feeds);
        let (ctx, r) = context(facts_of(post, &analysis));
        (self.score_analyzed(post, compiled, &analysis, &ctx), r)
    }

    fn score_analyzed(&self, post: &Post, compiled: &Compiled, analysis: &Analysis<'_>, ctx: &Context) -> Verdict {
        self.score_levels(post, compiled, analysis, ctx, true).0
    }

    /// Scores a post; also returns the level each category alone brings it
    /// to (its score against its thresholds, with its rules' `action`s).
    /// `reports`: whether a quoted report may be capped (see
    /// [`crate::signals::report`]); off when scoring a report's own words.
    fn score_levels(
        &self,
        post: &Post,
        compiled: &Compiled,
        analysis: &Analysis<'_>,
        ctx: &Context,
        reports: bool,
    ) -> (Verdict, [Decision; 4]) {
        let scan = compiled.scan(analysis);
        let flags = Flags(&ctx.flags);

        let mut signals = Vec::new();
        let mut floor = Decision::Allow;
        // Per category: the highest `action` of its fired rules.
        let mut rule_floor = [Decision::Allow; Category::ALL.len()];
        // Per category: the weight of fired rules with `at_most`, and the
        // highest of their caps.
        let mut capped = [(0.0f64, Decision::Allow); Category::ALL.len()];
        for r in compiled.candidates(&scan) {
            let Some(evidence) = compiled.evaluate(r, analysis, &scan, &flags) else { continue };
            let rule = &compiled.rules[r as usize];
            if let Some(action) = rule.action {
                let f = &mut rule_floor[rule.category.index()];
                *f = (*f).max(action);
            }
            let (weight, mut description) = self.rule_weight(rule);
            append_host_details(&mut description, analysis, &evidence);
            if let Some(cap) = rule.at_most
                && weight > 0.0
            {
                let c = &mut capped[rule.category.index()];
                *c = (c.0 + weight, c.1.max(cap));
            }
            signals.push(Signal {
                id: rule.id.clone(),
                category: rule.category,
                weight,
                description,
                spans: spans(post, rule.category, &evidence),
            });
        }
        floor = floor.max(builtin_signals(post, analysis, &mut signals));
        // Memory of earlier posts (a wave, a burst) raises a post at most to
        // review: it says "this looks like a campaign", a moderator decides.
        for m in ctx.signals.iter().filter(|s| s.weight > 0.0 && s.id.starts_with("memory.")) {
            let c = &mut capped[m.category.index()];
            *c = (c.0 + m.weight, c.1.max(Decision::Review));
        }
        signals.extend(ctx.signals.iter().cloned());
        if !ctx.decided.is_empty() {
            floor = floor.max(Decision::Hold);
            signals.extend(ctx.decided.iter().cloned());
        }

        // Per category, the weight of a forum's adapted signal without its
        // slope above hold (which moves the score only): every level is
        // decided on it.
        let mut deciding: [Option<f64>; Category::ALL.len()] = [None; Category::ALL.len()];
        // Where the model's signals start (a caller's signals come before).
        let before = signals.len();
        if let Some(model) = &self.model {
            let settings = &compiled.settings;
            deciding = model.signals(analysis, &settings.review_knots, &settings.hold_knots, &mut signals);
            // A forum's adaptation raises a post at most to hold: learned
            // from a few hundred decisions, it never rejects on its own.
            // The model's calibration slope multiplies the log-odds of the
            // rules and memory signals before it, so their weight in the
            // final log-odds is weight × slope; an adaptation's signal comes
            // after the slope and counts as it is.
            for c in Category::ALL {
                let capped = &mut capped[c.index()];
                if capped.0 > 0.0 {
                    capped.0 *= model.slope(c);
                }
            }
            for s in signals[before..].iter().filter(|s| s.id.starts_with("adapted.")) {
                let weight = deciding[s.category.index()].unwrap_or(s.weight);
                if weight > 0.0 {
                    let c = &mut capped[s.category.index()];
                    *c = (c.0 + weight, c.1.max(Decision::Hold));
                }
            }
        }

        let settings = &compiled.settings;
        let mut logits = settings.priors;
        for s in &signals {
            logits[s.category.index()] += s.weight;
        }
        // The log-odds decisions are taken on: the same sums, in the same
        // order, with an adapted signal's weight without its slope above
        // hold.
        let decided = if deciding.iter().all(Option::is_none) {
            logits
        } else {
            let mut decided = settings.priors;
            for (i, s) in signals.iter().enumerate() {
                let c = s.category.index();
                decided[c] += match deciding[c] {
                    Some(w) if i >= before && s.id.starts_with("adapted.") => w,
                    _ => s.weight,
                };
            }
            decided
        };
        let mut scores = Scores::default();
        let mut levels = [Decision::Allow; Category::ALL.len()];
        for c in Category::ALL {
            scores.set(c, sigmoid(logits[c.index()]));
            let decided = decided[c.index()];
            let t = settings.thresholds[c.index()];
            let mut level = level_of(sigmoid(decided), t);
            // Capped rules raise the decision at most to their cap: the rest
            // of the evidence alone decides anything above it (their weight
            // as it stands in the log-odds, after the model's calibration).
            let (weight, cap) = capped[c.index()];
            if weight > 0.0 && level > cap {
                level = level_of(sigmoid(decided - weight), t).max(cap);
            }
            levels[c.index()] = level.max(rule_floor[c.index()]);
        }
        if reports && settings.quoted_reports {
            self.cap_quoted_report(post, compiled, analysis, ctx, &mut levels, &mut signals);
        }
        let decision = levels.iter().fold(floor, |d, l| d.max(*l));
        if decision > Decision::Allow
            && let Some(model) = &self.model
        {
            model.explain(analysis, &mut signals);
        }
        sort_signals(&mut signals, decision > Decision::Allow);
        let verdict = Verdict {
            id: post.id.clone(),
            decision,
            scores,
            signals,
            versions: Versions {
                rules: compiled.version.clone(),
                model: self.model.as_ref().map(|m| m.version().to_string()),
                feeds: self.feed_versions.clone(),
            },
        };
        (verdict, levels)
    }

    /// With `[settings] quoted_reports = true`, an established member's
    /// report of a scam is capped at review: where spam or scam would take
    /// the post above review, the author says after what they quote that it
    /// is a scam, and the post's own words (the quotations left out) carry
    /// no link, contact, phone number, address or vouching words and would
    /// take that category no higher than review, the category is capped at
    /// review and a `context.quoted-report` signal says why. A body over
    /// 8 KiB, or an HTML or Markdown body that may hide text from its
    /// readers, is never capped. See [`report`].
    fn cap_quoted_report(
        &self,
        post: &Post,
        compiled: &Compiled,
        analysis: &Analysis<'_>,
        ctx: &Context,
        levels: &mut [Decision; 4],
        signals: &mut Vec<Signal>,
    ) {
        let before = *levels;
        let over = |c: Category| before[c.index()] > Decision::Review;
        if !over(Category::Spam) && !over(Category::Scam) {
            return;
        }
        let body = crate::analysis::scanned_prefix(&post.body).0;
        if body.len() > report::MAX_REPORT_BYTES
            || !established(post.author.as_ref())
            || report::hides_text(body, post.format)
        {
            return;
        }
        let field = analysis.body();
        let Some(quoted) =
            crate::text::quotes::quoted_ranges(body, &field.raw, post.format).map(crate::text::quotes::merged)
        else {
            return;
        };
        if quoted.is_empty() {
            return;
        }
        let Some(word) = report::verdict(&field.norm.text, &quoted) else { return };
        let own = Post { body: crate::text::quotes::without(body, &quoted, " "), ..post.clone() };
        let own_analysis = Analysis::with_feeds(&own, &compiled.settings, &self.feeds);
        let payload = [SignalKind::CryptoAddress, SignalKind::MessengerContact, SignalKind::Phone, SignalKind::Email];
        if !own_analysis.urls.is_empty()
            || payload.iter().any(|k| !own_analysis.signal(*k).is_empty())
            || report::vouches(
                own_analysis.body().norm.text.as_str(),
                post.author.as_ref().and_then(|a| a.name.as_deref()),
            )
        {
            return;
        }
        let (_, own_levels) = self.score_levels(&own, compiled, &own_analysis, ctx, false);
        let mut capped = Vec::new();
        for c in [Category::Spam, Category::Scam] {
            if over(c) && own_levels[c.index()] <= Decision::Review {
                levels[c.index()] = Decision::Review;
                capped.push(c.as_str());
            }
        }
        if capped.is_empty() {
            return;
        }
        let mut spans =
            vec![Span { field: Field::Body, start: word.start, end: word.end, text: body[word.clone()].to_string() }];
        // The quotations by position and length only: one may hold a
        // secret that no exposure detector recognised.
        spans.extend(quoted.iter().take(MAX_REPORT_QUOTES).map(|q| Span {
            field: Field::Body,
            start: q.start,
            end: q.end,
            text: format!("[quotation: {} characters]", body[q.clone()].chars().count()),
        }));
        signals.push(Signal {
            id: "context.quoted-report".into(),
            category: if capped.contains(&"scam") { Category::Scam } else { Category::Spam },
            weight: 0.0,
            description: format!(
                "Reports what it quotes: the author says {:?} outside the quotation, whose own words carry no link or contact and would not go past review; {} capped at review",
                &body[word],
                capped.join(" and ")
            ),
            spans,
        });
    }
}

/// Whether the author is established on the forum: a month old with ten
/// posts, or trust level 2 or more, and nothing of theirs removed before.
/// Unknown facts count as not established. Most scams come from new
/// accounts; only established members' reports are capped.
fn established(author: Option<&Author>) -> bool {
    let Some(a) = author else { return false };
    if a.prior_removals.unwrap_or(0) > 0 {
        return false;
    }
    let seasoned = a.account_age_days.is_some_and(|d| d >= 30) && a.post_count.is_some_and(|n| n >= 10);
    seasoned || a.trust_level.is_some_and(|t| t >= 2)
}

/// How many of a report's quotations its `context.quoted-report` signal
/// shows as spans (the first ones).
const MAX_REPORT_QUOTES: usize = 16;

/// Orders a verdict's signals, strongest first; ties keep a stable,
/// readable order (by id). A flagged post's reasons for flagging come
/// first: the signals of positive weight, largest first, then the rest
/// (negative, largest magnitude first, then zero). An allowed post's are
/// ordered by magnitude alone.
fn sort_signals(signals: &mut [Signal], flagged: bool) {
    signals.sort_by(|a, b| {
        let against = |s: &Signal| flagged && s.weight <= 0.0;
        against(a)
            .cmp(&against(b))
            .then_with(|| b.weight.abs().total_cmp(&a.weight.abs()))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Names what the host signals found on the links a rule used (the brand a
/// host imitates, its lure words), after the rule's own description.
fn append_host_details(description: &mut String, a: &Analysis<'_>, evidence: &[Evidence]) {
    if a.host_details.is_empty() {
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    for (field, range, detail) in &a.host_details {
        let used = evidence.iter().any(|e| e.field == *field && e.range == *range);
        if used && !seen.contains(&detail.as_str()) {
            seen.push(detail);
        }
    }
    if !seen.is_empty() {
        description.push_str(" — ");
        description.push_str(&seen.join("; "));
    }
}

/// Category index → the model's head index for it.
fn heads_of(model: Option<&Model>) -> [Option<usize>; 4] {
    let mut heads = [None; 4];
    for (i, c) in model.into_iter().flat_map(Model::categories).enumerate() {
        heads[c.index()] = Some(i);
    }
    heads
}

/// The decision a category's score reaches under its thresholds.
fn level_of(p: f64, t: crate::rules::Thresholds) -> Decision {
    if t.reject.is_some_and(|x| p >= x) {
        Decision::Reject
    } else if t.hold.is_some_and(|x| p >= x) {
        Decision::Hold
    } else if t.review.is_some_and(|x| p >= x) {
        Decision::Review
    } else {
        Decision::Allow
    }
}

impl Engine {
    /// The weight a fired rule adds, and its description: the model's
    /// fitted weight when the rule is unchanged since fitting, else the
    /// hand-set one, saying why.
    fn rule_weight(&self, rule: &CompiledRule) -> (f64, String) {
        let (Some(model), Some(head)) = (&self.model, self.heads[rule.category.index()]) else {
            return (rule.weight, rule.description.clone());
        };
        if let Some(w) = model.fitted_weight(head, &rule.id, &rule.content_hash) {
            // The model may strengthen a rule, never weaken it below what its
            // author set: the training sources (SMS, e-mail, tweets) are not
            // the forum, and a rule written for the forum is its best evidence.
            let w = if rule.weight > 0.0 { w.max(rule.weight) } else { w };
            return (w, rule.description.clone());
        }
        let why = if model.knows_rule(head, &rule.id) {
            "hand-set weight: the rule changed since the model was fitted"
        } else {
            "hand-set weight: the model was not fitted with this rule"
        };
        (rule.weight, format!("{} [{why}]", rule.description))
    }

    /// The model, if one is stacked.
    pub fn model(&self) -> Option<&Model> {
        self.model.as_deref()
    }

    /// The same rule layers with another model (or none): cheap, the
    /// compiled layers are shared.
    pub fn with_model(&self, model: Option<Arc<Model>>) -> Engine {
        Engine {
            default: self.default.clone(),
            forums: self.forums.clone(),
            heads: heads_of(model.as_deref()),
            model,
            feeds: self.feeds.clone(),
            feed_versions: self.feed_versions.clone(),
        }
    }

    /// The same rules and model with other phishing feeds: cheap, the compiled
    /// layers are shared (the service swaps feeds in this way when a file changes).
    pub fn with_feeds(&self, feeds: impl Into<Arc<Feeds>>) -> Engine {
        let feeds: Arc<Feeds> = feeds.into();
        Engine {
            default: self.default.clone(),
            forums: self.forums.clone(),
            heads: self.heads,
            model: self.model.clone(),
            feed_versions: feeds.versions(),
            feeds,
        }
    }

    /// The phishing feeds links are checked against.
    pub fn feeds(&self) -> &Feeds {
        &self.feeds
    }

    /// A post's links (registrable domain, and whether official or
    /// allow-listed) and the text of its addresses, messenger contacts and
    /// phone numbers: what [`crate::memory::traces`] remembers.
    pub(crate) fn link_facts(&self, post: &Post) -> LinkFacts {
        let compiled = self.compiled(post.forum.as_deref());
        let analysis = Analysis::with_feeds(post, &compiled.settings, &self.feeds);
        facts_of(post, &analysis)
    }

    /// A post's normalized title and body, as the model reads them.
    pub(crate) fn model_texts(&self, post: &Post) -> Vec<String> {
        let compiled = self.compiled(post.forum.as_deref());
        let analysis = Analysis::with_feeds(post, &compiled.settings, &self.feeds);
        analysis.fields.iter().map(|f| f.norm.text.as_str().to_string()).collect()
    }

    /// Runs analysis and the rules of the post's forum (no flags) and hands
    /// both to `f`: the rows training and evaluation are built from.
    #[cfg(feature = "train")]
    pub(crate) fn inspect<R>(&self, post: &Post, f: impl FnOnce(&Analysis<'_>, &[&CompiledRule]) -> R) -> R {
        let compiled = self.compiled(post.forum.as_deref());
        let analysis = Analysis::with_feeds(post, &compiled.settings, &self.feeds);
        let scan = compiled.scan(&analysis);
        let flags = Flags(&[]);
        let fired: Vec<&CompiledRule> = compiled
            .candidates(&scan)
            .into_iter()
            .filter(|&r| compiled.evaluate(r, &analysis, &scan, &flags).is_some())
            .map(|r| &compiled.rules[r as usize])
            .collect();
        f(&analysis, &fired)
    }

    /// The default layers' compiled rules.
    #[cfg(feature = "train")]
    pub(crate) fn rules(&self) -> &[CompiledRule] {
        &self.default.rules
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Detectors that are always on, whatever the rule layers say: a user
/// leaking a wallet secret must never depend on a forum's rule edits.
/// Returns the minimum decision they impose.
fn builtin_signals(post: &Post, a: &Analysis<'_>, out: &mut Vec<Signal>) -> Decision {
    let mut floor = Decision::Allow;
    for (ev, hit) in &a.seed_details {
        let lang = match hit.language {
            SeedLanguage::English => "English",
            SeedLanguage::Japanese => "Japanese",
        };
        let (weight, description) = if hit.checksum_valid {
            floor = floor.max(Decision::Hold);
            (
                8.0,
                format!(
                    "A {}-word {lang} BIP39 seed phrase with a valid checksum: anyone reading it can empty the wallet",
                    hit.words
                ),
            )
        } else {
            (
                5.0,
                format!(
                    "{} consecutive {lang} BIP39 seed words (checksum does not verify; a phrase with one word changed still leaks)",
                    hit.words
                ),
            )
        };
        out.push(builtin("exposure.seed-phrase", Category::Exposure, weight, description, post, ev));
    }
    for (ev, hit) in &a.key_details {
        let (weight, description) = if hit.certain {
            floor = floor.max(Decision::Hold);
            (8.0, format!("A checksum-valid private key ({})", hit.kind.as_str()))
        } else {
            (4.0, "64 hexadecimal digits next to words about a private key".to_string())
        };
        out.push(builtin("exposure.private-key", Category::Exposure, weight, description, post, ev));
    }
    let listed = a.signal(SignalKind::LookalikeFeed);
    if !listed.is_empty() {
        let hosts: Vec<&str> = a
            .host_details
            .iter()
            .filter(|(f, r, _)| listed.iter().any(|e| e.field == *f && e.range == *r))
            .map(|(_, _, d)| d.as_str())
            .collect();
        out.push(Signal {
            id: "scam.link.lookalike-feed".into(),
            category: Category::Scam,
            weight: 6.0,
            description: format!("Links to a host on a phishing block list: {}", hosts.join("; ")),
            spans: spans(post, Category::Scam, listed),
        });
    }
    let lossy = a.signal(SignalKind::LossyUtf16);
    if !lossy.is_empty() {
        out.push(Signal {
            id: "input.lossy-utf16".into(),
            category: Category::Spam,
            weight: 0.0,
            description: "The post held invalid UTF-16 (lone surrogates), decoded as U+FFFD".into(),
            spans: spans(post, Category::Spam, lossy),
        });
    }
    if a.fields.iter().any(|f| f.truncated) {
        out.push(Signal {
            id: "input.truncated".into(),
            category: Category::Spam,
            weight: 1.0,
            description: format!(
                "A field is longer than {} KiB; only its start was scanned",
                crate::analysis::MAX_SCAN_BYTES / 1024
            ),
            spans: Vec::new(),
        });
    }
    floor
}

fn builtin(id: &str, category: Category, weight: f64, description: String, post: &Post, ev: &Evidence) -> Signal {
    Signal { id: id.into(), category, weight, description, spans: spans(post, category, std::slice::from_ref(ev)) }
}

/// Turns evidence into spans of the original fields. Exposure spans are masked.
fn spans(post: &Post, category: Category, evidence: &[Evidence]) -> Vec<Span> {
    evidence
        .iter()
        .filter_map(|e| {
            let field_text = match e.field {
                Field::Title => post.title.as_deref()?,
                Field::Body => post.body.as_str(),
                Field::AuthorName => post.author.as_ref()?.name.as_deref()?,
            };
            let text = field_text.get(e.range.clone())?;
            let text = if category == Category::Exposure { mask(text) } else { text.to_string() };
            Some(Span { field: e.field, start: e.range.start, end: e.range.end, text })
        })
        .collect()
}

/// A post's links (registrable domain, and whether official or
/// allow-listed) and the text of its addresses, messenger contacts and
/// phone numbers.
pub(crate) type LinkFacts = (Vec<(Option<String>, bool)>, Vec<(SignalKind, String)>);

fn facts_of(post: &Post, analysis: &Analysis<'_>) -> LinkFacts {
    let links =
        analysis.urls.iter().map(|u| (crate::signals::urls::registrable_domain(&u.hit.host), u.allowed)).collect();
    let mut texts = Vec::new();
    for kind in [SignalKind::CryptoAddress, SignalKind::MessengerContact, SignalKind::Phone] {
        for s in spans(post, Category::Spam, analysis.signal(kind)) {
            texts.push((kind, s.text));
        }
    }
    (links, texts)
}

/// What a verdict shows instead of a secret: its shape, never its content.
pub fn mask(secret: &str) -> String {
    let words = secret.split_whitespace().count();
    if words > 1 {
        format!("[masked: {words} words]")
    } else {
        format!("[masked: {} characters]", secret.chars().count())
    }
}
