//! Memory of a forum's earlier posts: what a post leaves behind, and what
//! the memory says about a new one.
//!
//! A wave is the same lure posted with small changes from many fresh
//! accounts; scored alone, each copy looks like one post. A store (the
//! service keeps one per forum, in its database) remembers each post's
//! [`Traces`] — its MinHash [`Fingerprint`] with the LSH band keys to find
//! near-duplicates by, and the registrable domains, crypto addresses,
//! messenger handles and phone numbers it carries (handles and numbers as
//! keyed hashes, never as written). At the next post the store hands back
//! what it [`Recall`]s, and [`context`] turns that into explained signals and
//! flags for [`Engine::score_with`](crate::Engine::score_with):
//!
//! | signal (flag) | when | weight |
//! |---|---|---|
//! | `memory.near-duplicate` (`near_duplicate`) | near-duplicate of 2+ earlier posts from 2+ other accounts in the window | 2 (3 from 3 posts and 3 accounts) |
//! | `memory.shared-trace` (`shared_trace_new_accounts`) | a domain, address, handle or number this post carries was posted by 3+ other new accounts | 2.5 |
//! | `memory.burst` (`author_burst`) | the author posted 10+ times in the burst window | 1.5 |
//! | `memory.new-account-links` (`new_account_links`) | one of a new account's first posts, with links | 1 |
//!
//! The engine raises a post on these signals at most to `review`: memory
//! says "this looks like a wave", a moderator says whether it is one.
//!
//! ```
//! use moderation_core::memory::{self, MemorySettings, Recall, Remembered};
//! use moderation_core::{Engine, Post};
//!
//! let engine = Engine::new()?;
//! let key = b"the forum's memory key";
//! let lure = |n: u32| Post::new(format!("p{n}"), format!("Send {n} USDT to the wallet below and get double back within the hour, limited slots"));
//! let earlier: Vec<Remembered> = (1..=4)
//!     .map(|n| Remembered {
//!         post: format!("p{n}"),
//!         author: format!("acct{n}"),
//!         at: 1_000 * i64::from(n),
//!         new_account: true,
//!         print: memory::traces(&engine, &lure(n), key).print,
//!     })
//!     .collect();
//! let post = lure(9);
//! let traces = memory::traces(&engine, &post, key);
//! let recall = Recall { similar: earlier, ..Recall::default() };
//! let ctx = memory::context(&post, &traces, &recall, &MemorySettings::default());
//! assert!(ctx.flags.contains(&"near_duplicate".to_string()));
//! let verdict = engine.score_with(&post, &ctx);
//! assert!(verdict.has_signal("memory.near-duplicate"));
//! # Ok::<(), moderation_core::Error>(())
//! ```

use sha2::{Digest, Sha256};

mod index;

pub use index::{Index, PER_BAND, PER_TRACE};

use crate::engine::Engine;
use crate::fingerprint::Fingerprint;
use crate::post::{Context, Post};
use crate::verdict::{Signal, Verdict};
use crate::vocab::{Category, SignalKind};

/// What kind of thing a trace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TraceKind {
    /// A link's registrable domain (official and allow-listed ones are left out).
    Domain,
    /// A checksum-valid crypto address.
    Address,
    /// A messenger handle or contact (keyed hash).
    Handle,
    /// A phone number (keyed hash).
    Phone,
}

impl TraceKind {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::Domain => "domain",
            TraceKind::Address => "address",
            TraceKind::Handle => "handle",
            TraceKind::Phone => "phone",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(s: &str) -> Option<TraceKind> {
        [TraceKind::Domain, TraceKind::Address, TraceKind::Handle, TraceKind::Phone]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One thing a post carries that a wave shares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Trace {
    /// What it is.
    pub kind: TraceKind,
    /// The domain or address as found; for handles and numbers a keyed
    /// hash (32 hex digits), so the memory never holds them as written.
    pub value: String,
}

/// What a post leaves in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traces {
    /// Its fingerprint (`None` for texts under five words: "thanks!", "gm"
    /// never form waves).
    pub print: Option<Fingerprint>,
    /// The fingerprint's LSH band keys (as `i64`, for a database index).
    pub bands: Vec<i64>,
    /// Domains, addresses, handles and numbers, each once.
    pub traces: Vec<Trace>,
    /// The post has links that are neither official nor allow-listed.
    pub has_links: bool,
    /// How much the post says in its own words (quotes left out), by
    /// [`content_words`](crate::fingerprint::content_words): greetings and
    /// thanks stay under [`MemorySettings::min_words`] and never form waves.
    pub words: f64,
}

/// Reads a post's traces as the engine sees it (its forum's settings decide
/// which domains are official or allow-listed). `key` keys the hashes of
/// handles and phone numbers: keep it secret and the same across instances.
pub fn traces(engine: &Engine, post: &Post, key: &[u8]) -> Traces {
    traces_of(post, key, engine.link_facts(post))
}

/// Scores a post with memory in one pass: its [`traces`] are read from the
/// analysis the score then uses (the post is analyzed once, not once for
/// memory and once for the score), `recall` turns them into the context
/// to score with (what memory holds about them: [`context`]) and anything
/// else it wants to keep, and the post is scored with that context.
///
/// ```
/// use moderation_core::memory::{self, Index, MemorySettings};
/// use moderation_core::{Engine, Post};
///
/// let engine = Engine::new()?;
/// let index = Index::new(1_000);
/// let settings = MemorySettings::default();
/// let post = Post::new("p1", "Send 100 USDT to the wallet below and get double back within the hour");
/// let (verdict, traces, ctx) = memory::score_remembering(&engine, &post, b"key", |traces| {
///     let recall = index.recall("main", "acct1", traces, 0, 0, settings.near_threshold);
///     let ctx = memory::context(&post, traces, &recall, &settings);
///     (ctx.clone(), ctx)
/// });
/// assert!(traces.print.is_some() && ctx.flags.is_empty());
/// assert_eq!(verdict, engine.score_with(&post, &ctx));
/// # Ok::<(), moderation_core::Error>(())
/// ```
pub fn score_remembering<R>(
    engine: &Engine,
    post: &Post,
    key: &[u8],
    recall: impl FnOnce(&Traces) -> (Context, R),
) -> (Verdict, Traces, R) {
    let (verdict, (traces, r)) = engine.score_with_facts(post, |facts| {
        let traces = traces_of(post, key, facts);
        let (ctx, r) = recall(&traces);
        (ctx, (traces, r))
    });
    (verdict, traces, r)
}

fn traces_of(post: &Post, key: &[u8], (facts, texts): crate::engine::LinkFacts) -> Traces {
    let own = crate::fingerprint::own_words(post);
    let words = crate::fingerprint::content_words(&own);
    let print = Fingerprint::of(&own);
    let bands = print.map(|p| p.band_keys().iter().map(|&k| k as i64).collect()).unwrap_or_default();
    let mut traces = Vec::new();
    for (domain, allowed) in &facts {
        // Messenger links are handles (below), not a domain a wave shares.
        const MESSENGERS: &[&str] =
            &["t.me", "telegram.me", "wa.me", "line.me", "discord.gg", "discord.com", "signal.me"];
        match domain {
            Some(d) if !allowed && !MESSENGERS.contains(&d.as_str()) => {
                traces.push(Trace { kind: TraceKind::Domain, value: d.clone() });
            }
            _ => {}
        }
    }
    let has_links = facts.iter().any(|(_, allowed)| !allowed);
    for (kind, text) in texts {
        let trace = match kind {
            SignalKind::CryptoAddress => Trace { kind: TraceKind::Address, value: text },
            SignalKind::MessengerContact => Trace { kind: TraceKind::Handle, value: keyed(key, &handle_form(&text)) },
            SignalKind::Phone => {
                let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                Trace { kind: TraceKind::Phone, value: keyed(key, &digits) }
            }
            _ => continue,
        };
        traces.push(trace);
    }
    traces.sort();
    traces.dedup();
    Traces { print, bands, traces, has_links, words }
}

/// A handle as it identifies an account: lowercase, without `@`, `t.me/`
/// and spaces, so `@Binance_Help` and `t.me/binance_help` are one handle.
fn handle_form(text: &str) -> String {
    let lower = text.to_lowercase();
    let tail = lower.rsplit(['/', '@', ' ', ':']).find(|s| !s.is_empty()).unwrap_or(&lower);
    tail.trim().to_string()
}

/// 32 hex digits of SHA-256(key ‖ 0 ‖ value).
fn keyed(key: &[u8], value: &str) -> String {
    let mut h = Sha256::new();
    h.update(key);
    h.update([0u8]);
    h.update(value.as_bytes());
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// An earlier post a store found sharing a band with the new one.
#[derive(Debug, Clone, PartialEq)]
pub struct Remembered {
    /// Its post id.
    pub post: String,
    /// Its author id.
    pub author: String,
    /// When it was posted (Unix ms).
    pub at: i64,
    /// Whether its author was a new account then.
    pub new_account: bool,
    /// Its fingerprint.
    pub print: Option<Fingerprint>,
}

/// An earlier post carrying one of the new post's traces.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedTrace {
    /// The trace.
    pub trace: Trace,
    /// Who posted it.
    pub author: String,
    /// Whether they were a new account then.
    pub new_account: bool,
}

/// What a store remembers that bears on a new post (within its windows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recall {
    /// Earlier posts sharing an LSH band with it (similarity is checked here).
    pub similar: Vec<Remembered>,
    /// Earlier posts carrying its traces.
    pub shared: Vec<SharedTrace>,
    /// The author's posts in the burst window.
    pub author_recent: u32,
}

/// How memory judges (the service's `[memory]` settings).
#[derive(Debug, Clone, PartialEq)]
pub struct MemorySettings {
    /// Fingerprint similarity at which two posts are near-duplicates.
    pub near_threshold: f64,
    /// Other new accounts that must share a trace for `memory.shared-trace`.
    pub shared_accounts: usize,
    /// Posts in the burst window that make a burst.
    pub burst_posts: u32,
    /// An account younger than this many days is new, as is one at trust
    /// level 0…
    pub new_account_days: u32,
    /// …and, when its age is not given, one with fewer posts than this.
    pub new_account_posts: u32,
    /// Fewest words of its own (quotes left out; a Chinese, Japanese or
    /// Korean character is a third of a word) a post needs to be part of a
    /// wave: "thanks!", "gm", "+1" and greetings never are.
    pub min_words: f64,
}

impl Default for MemorySettings {
    fn default() -> MemorySettings {
        MemorySettings {
            near_threshold: 0.6,
            shared_accounts: 3,
            burst_posts: 10,
            new_account_days: 7,
            new_account_posts: 3,
            min_words: 6.0,
        }
    }
}

impl MemorySettings {
    /// Whether the post's author counts as a new account (unknown: no).
    pub fn is_new_account(&self, post: &Post) -> bool {
        let Some(a) = &post.author else { return false };
        let young = match a.account_age_days {
            Some(d) => d < self.new_account_days,
            None => a.post_count.is_some_and(|n| n < self.new_account_posts),
        };
        a.is_staff != Some(true) && (young || a.trust_level == Some(0))
    }
}

/// Earlier posts a post is a near-duplicate of, from other accounts: a wave.
#[derive(Debug, Clone, PartialEq)]
pub struct Wave<'a> {
    /// The earlier copies, newest first, each once.
    pub copies: Vec<&'a Remembered>,
    /// Their authors other than the post's own, sorted, each once.
    pub accounts: Vec<&'a str>,
}

/// The wave a post belongs to: near-duplicates (at least
/// [`MemorySettings::near_threshold`]) of it among the recalled posts, when
/// there are at least two from at least two other accounts. Never for a
/// staff post or one under [`MemorySettings::min_words`] of its own words.
pub fn wave<'a>(post: &Post, traces: &Traces, recall: &'a Recall, settings: &MemorySettings) -> Option<Wave<'a>> {
    if post.author.as_ref().is_some_and(|a| a.is_staff == Some(true)) || traces.words < settings.min_words {
        return None;
    }
    let print = traces.print.as_ref()?;
    let author = post.author.as_ref().map(|a| a.id.as_str()).unwrap_or("");
    let mut copies: Vec<&Remembered> = recall
        .similar
        .iter()
        .filter(|r| r.post != post.id && r.print.is_some_and(|p| p.similarity(print) >= settings.near_threshold))
        .collect();
    copies.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.post.cmp(&b.post)));
    copies.dedup_by(|a, b| a.post == b.post);
    let mut accounts: Vec<&str> =
        copies.iter().map(|r| r.author.as_str()).filter(|a| !a.is_empty() && *a != author).collect();
    accounts.sort_unstable();
    accounts.dedup();
    (copies.len() >= 2 && accounts.len() >= 2).then_some(Wave { copies, accounts })
}

/// The memory signals and flags for a post (see the module table). Staff
/// posts get none.
pub fn context(post: &Post, traces: &Traces, recall: &Recall, settings: &MemorySettings) -> Context {
    let mut ctx = Context::default();
    let author = post.author.as_ref().map(|a| a.id.as_str()).unwrap_or("");
    if post.author.as_ref().is_some_and(|a| a.is_staff == Some(true)) {
        return ctx;
    }
    if let Some(wave) = wave(post, traces, recall, settings) {
        let (copies, accounts) = (&wave.copies, &wave.accounts);
        let weight = if copies.len() >= 3 && accounts.len() >= 3 { 3.0 } else { 2.0 };
        let ids: Vec<&str> = copies.iter().take(5).map(|r| r.post.as_str()).collect();
        let more =
            if copies.len() > ids.len() { format!(" and {} more", copies.len() - ids.len()) } else { String::new() };
        ctx.flags.push("near_duplicate".into());
        ctx.signals.push(signal(
            "memory.near-duplicate",
            Category::Spam,
            weight,
            format!(
                "Near-duplicate of {} earlier posts from {} other accounts (posts {}{more})",
                copies.len(),
                accounts.len(),
                ids.join(", ")
            ),
        ));
    }
    let mut shared: Vec<(&Trace, Vec<&str>)> = Vec::new();
    for t in &traces.traces {
        let mut authors: Vec<&str> = recall
            .shared
            .iter()
            .filter(|s| s.trace == *t && s.new_account && s.author != author && !s.author.is_empty())
            .map(|s| s.author.as_str())
            .collect();
        authors.sort_unstable();
        authors.dedup();
        if authors.len() >= settings.shared_accounts {
            shared.push((t, authors));
        }
    }
    if let Some((t, authors)) = shared.iter().max_by_key(|(_, a)| a.len()) {
        let what = match t.kind {
            TraceKind::Domain => format!("the domain `{}`", t.value),
            TraceKind::Address => format!("the address `{}`", t.value),
            TraceKind::Handle => "the same messenger contact".to_string(),
            TraceKind::Phone => "the same phone number".to_string(),
        };
        let category = if t.kind == TraceKind::Domain { Category::Spam } else { Category::Scam };
        ctx.flags.push("shared_trace_new_accounts".into());
        ctx.signals.push(signal(
            "memory.shared-trace",
            category,
            2.5,
            format!("{} new accounts posted {what} before (accounts {})", authors.len(), list(authors, 5)),
        ));
    }
    if recall.author_recent >= settings.burst_posts {
        ctx.flags.push("author_burst".into());
        ctx.signals.push(signal(
            "memory.burst",
            Category::Spam,
            1.5,
            format!("The author posted {} times in the burst window", recall.author_recent),
        ));
    }
    if traces.has_links && settings.is_new_account(post) && recall.author_recent < 3 {
        ctx.flags.push("new_account_links".into());
        ctx.signals.push(signal(
            "memory.new-account-links",
            Category::Spam,
            1.0,
            "One of a new account's first posts, with links".into(),
        ));
    }
    ctx
}

fn list(items: &[&str], n: usize) -> String {
    let head: Vec<&str> = items.iter().take(n).copied().collect();
    if items.len() > n { format!("{} and {} more", head.join(", "), items.len() - n) } else { head.join(", ") }
}

fn signal(id: &str, category: Category, weight: f64, description: String) -> Signal {
    Signal { id: id.into(), category, weight, description, spans: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::Author;

    fn author(id: &str, days: u32) -> Option<Author> {
        Some(Author { id: id.into(), account_age_days: Some(days), ..Author::default() })
    }

    #[test]
    fn handles_are_hashed_in_one_form() {
        assert_eq!(keyed(b"k", &handle_form("@Binance_Help")), keyed(b"k", &handle_form("t.me/binance_help")));
        assert_ne!(keyed(b"k", "x"), keyed(b"j", "x"));
        assert_eq!(keyed(b"k", "x").len(), 32);
    }

    #[test]
    fn shared_traces_need_other_new_accounts_and_staff_get_nothing() {
        let engine = Engine::new().unwrap();
        let mut post = Post::new("9", "Claim at https://wallet-sync-node.com now, contact t.me/claimdesk");
        post.author = author("me", 1);
        let traces = traces(&engine, &post, b"k");
        let domain = traces.traces.iter().find(|t| t.kind == TraceKind::Domain).unwrap().clone();
        assert_eq!(domain.value, "wallet-sync-node.com");
        assert!(traces.traces.iter().any(|t| t.kind == TraceKind::Handle && !t.value.contains("claimdesk")));
        let shared = |who: &str, new: bool| SharedTrace { trace: domain.clone(), author: who.into(), new_account: new };
        let settings = MemorySettings::default();
        let mut recall =
            Recall { shared: vec![shared("a", true), shared("b", true), shared("me", true)], ..Recall::default() };
        assert!(!context(&post, &traces, &recall, &settings).flags.contains(&"shared_trace_new_accounts".into()));
        recall.shared.push(shared("c", false));
        assert!(!context(&post, &traces, &recall, &settings).flags.contains(&"shared_trace_new_accounts".into()));
        recall.shared.push(shared("d", true));
        let ctx = context(&post, &traces, &recall, &settings);
        assert!(ctx.flags.contains(&"shared_trace_new_accounts".into()));
        assert!(
            ctx.signals
                .iter()
                .any(|s| s.description.contains("3 new accounts posted the domain `wallet-sync-node.com`"))
        );
        post.author.as_mut().unwrap().is_staff = Some(true);
        assert!(context(&post, &traces, &recall, &settings).signals.is_empty());
    }

    #[test]
    fn memory_alone_raises_a_post_at_most_to_review() {
        let engine = Engine::new().unwrap();
        let post = Post::new("p", "hello there, a quiet question about fees on the app today");
        let ctx = Context {
            flags: vec![],
            signals: vec![
                signal("memory.near-duplicate", Category::Spam, 3.0, "x".into()),
                signal("memory.shared-trace", Category::Spam, 2.5, "y".into()),
                signal("memory.burst", Category::Spam, 1.5, "z".into()),
            ],
            ..Context::default()
        };
        let v = engine.score_with(&post, &ctx);
        assert_eq!(v.decision, crate::Decision::Review, "{:?}", v.scores);
        // A moderators' decision (a removed campaign) holds it, and says so.
        let decided = Context {
            decided: vec![signal("campaign.removed", Category::Scam, 0.0, "joins campaign 7, removed".into())],
            ..ctx
        };
        let v = engine.score_with(&post, &decided);
        assert_eq!(v.decision, crate::Decision::Hold);
        assert!(v.has_signal("campaign.removed"));
    }

    #[test]
    fn greetings_and_quotes_never_make_a_wave() {
        let engine = Engine::new().unwrap();
        let settings = MemorySettings::default();
        let remembered = |n: usize, text: &str| Remembered {
            post: format!("e{n}"),
            author: format!("a{n}"),
            at: n as i64,
            new_account: true,
            print: traces(&engine, &Post::new("x", text), b"k").print,
        };
        let lure = "Send 100 USDT to the wallet below and receive double back within one hour, only ten slots left";
        let recall = Recall { similar: (0..4).map(|n| remembered(n, lure)).collect(), ..Recall::default() };
        let mut copy = Post::new("p", lure.replace("100", "250"));
        copy.author = author("new", 1);
        let t = traces(&engine, &copy, b"k");
        assert_eq!(wave(&copy, &t, &recall, &settings).map(|w| (w.copies.len(), w.accounts.len())), Some((4, 4)));
        // Quoting the lure to warn others is not a copy of it.
        for warning in [
            format!("> {lure}\n\nThis is a scam, do not send anything, report it"),
            format!("[quote=\"a1, post:3\"]{lure}[/quote]\nScam alert: mods please remove"),
            format!("<blockquote><p>{lure}</p></blockquote><p>Scam! Never send coins to strangers.</p>"),
        ] {
            let post = Post::new("w", warning.clone());
            assert!(wave(&post, &traces(&engine, &post, b"k"), &recall, &settings).is_none(), "{warning}");
        }
        // Staff repeating an announcement is not a wave.
        copy.author.as_mut().unwrap().is_staff = Some(true);
        assert!(wave(&copy, &t, &recall, &settings).is_none());
        // Thanks and greetings, however many accounts post them.
        for greeting in [
            "thanks so much everyone!",
            "ありがとうございます！",
            "감사합니다 좋은 하루 되세요",
            "大家好，谢谢你们的帮助",
        ] {
            let recall = Recall { similar: (0..6).map(|n| remembered(n, greeting)).collect(), ..Recall::default() };
            let post = Post::new("g", greeting);
            assert!(wave(&post, &traces(&engine, &post, b"k"), &recall, &settings).is_none(), "{greeting}");
        }
    }
}
