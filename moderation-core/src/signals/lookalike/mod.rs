//! Look-alike domains of protected brands (`blnance.com`, `binance-support.xyz`,
//! `binance.com.verify-account.io`, `bіnance.com` with a Cyrillic `і`).
//!
//! A [`BrandList`] is built once from the operator's protected domains; [`BrandList::check`]
//! then grades one host (as found by [`super::urls`]) against every brand. Every label
//! left of the public suffix is examined, not only the registrable one, so free-hosting
//! subdomains (`binance-login.github.io`, `metamask-wallet.vercel.app`) are caught too.
//! The rules, strongest first:
//!
//! | kind | what | confidence |
//! |---|---|---|
//! | [`LookalikeKind::Homoglyph`] | a label is the brand name after visual folding, but not literally | 0.95 |
//! | [`LookalikeKind::BrandAsSubdomain`] | the whole brand domain sits left of another domain (`binance.com.evil.io`) | 0.9 |
//! | | the brand name is a whole subdomain label (`binance.evil.io`) | 0.85 |
//! | [`LookalikeKind::BrandInLabel`] | the name is a `-`/digit-delimited token, or glued to a scam word (`binancesupport`) | 0.9 |
//! | | plain containment (`mybinanceshop`); a short name as a token without a scam word | 0.7 / 0.75 |
//! | [`LookalikeKind::OtherTld`] | the registrable label is the name under another suffix (`binance.xyz`, `binance.web.app`) | 0.8 |
//! | [`LookalikeKind::TyposquatClose`] | one plausible typo away (names of 5+ chars); hyphenated name (`bin-ance`) 0.75 | 0.7 |
//! | [`LookalikeKind::TyposquatFar`] | two plausible typos, or one arbitrary substitution, away (names of 10+ chars) | 0.5 |
//!
//! Typosquats in a label that also carries a scam word (`binnance-support`) get +0.1.
//!
//! Visual folding is the UTS #39 skeleton, then lowercase, combining marks stripped, and
//! `l`/`1`/`I`/`|` → `i`, `0` → `o`, `rn` → `m`, `vv` → `w`.
//!
//! # What counts as a typo (the false-positive rule)
//!
//! A *plausible typo* is an insertion, a deletion, a swap of two neighbours, or a
//! substitution by a visually similar or QWERTY-adjacent letter. Substituting an
//! unrelated letter is not a typo of the brand: `metatask`, `metacask` and, the
//! motivating case, `finance` vs `binance` are other words, not misspellings. The
//! first letter is held to a stricter standard: it may only be replaced by a *visually*
//! similar one (`vinance` is not flagged although `v` is next to `b`), because readers
//! anchor on the first letter and most ordinary words one letter from a brand differ
//! exactly there. No dictionary is needed: the rule is about the edit, not the word.
//!
//! On names of ten or more characters one wrong letter goes unnoticed whatever it is
//! (`myetherwalleu`), so there an arbitrary substitution is a far match (cost 2), and
//! a deletion next to an insertion (a substitution in disguise) is not allowed. Far
//! matches start at ten characters, not nine: on the MetaMask data, allowing them for
//! the nine-letter `etherscan` gained 4 of 4,845 positives and cost 13 of 498 whitelist
//! false positives.
//!
//! Names of four characters or fewer (`okx`, `gate`, `mexc`) match too much by edit
//! distance or containment (`gateway`, `bookx`); they only match exactly, by homoglyph,
//! as a delimited token (`okx-login`, `gateio-app`), or glued to a scam word
//! (`okxsupport`).
//!
//! # Which name
//!
//! A brand's name is its registrable label (`binance` for `binance.com`). When that
//! label is under three characters (`coin.z.com`, GMO Coin), the labels left of the
//! suffix are joined instead (`coinz`), and the brand is treated as short. Hosts whose
//! registrable domain is a brand's registrable domain are never flagged: protecting
//! `launchpad.ethereum.org` protects `ethereum.org` as a whole.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::urls::{is_ip_literal, normalize_host, normalize_host_cow, registrable_domain};
use index::BrandIndex;
pub use lure::{HostEvidence, LureHost};
use serde::Deserialize;

mod index;
mod lure;

/// What makes a host look like a brand's domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookalikeKind {
    /// A label reads as the brand name once confusable characters are folded
    /// (`blnance`, `bіnance` with Cyrillic `і`, `bịnance`), but is not literally it.
    Homoglyph,
    /// The brand name is a token of a longer label (`binance-support`, `binance2024`),
    /// or is glued to one (`binancesupport`, `mybinanceshop`).
    BrandInLabel,
    /// The brand domain or name sits in the subdomain part of another domain
    /// (`binance.com.verify-account.io`, `binance.evil.io`).
    BrandAsSubdomain,
    /// One plausible typo away from the brand name (`binnance`, `bnance`, `biinance`).
    TyposquatClose,
    /// Two plausible typos, or one arbitrary substitution, away from a long brand name
    /// (`myeherwalet`, `myetherwalleu`).
    TyposquatFar,
    /// The brand name registered under another public suffix (`binance.co`,
    /// `binance.xyz`, `binance.web.app`).
    OtherTld,
}

impl LookalikeKind {
    /// Stable snake-case name, for verdict explanations and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            LookalikeKind::Homoglyph => "homoglyph",
            LookalikeKind::BrandInLabel => "brand_in_label",
            LookalikeKind::BrandAsSubdomain => "brand_as_subdomain",
            LookalikeKind::TyposquatClose => "typosquat_close",
            LookalikeKind::TyposquatFar => "typosquat_far",
            LookalikeKind::OtherTld => "other_tld",
        }
    }

    /// Tie-break between findings of equal confidence: the more specific kind wins.
    fn rank(self) -> u8 {
        match self {
            LookalikeKind::Homoglyph => 6,
            LookalikeKind::BrandAsSubdomain => 5,
            LookalikeKind::BrandInLabel => 4,
            LookalikeKind::OtherTld => 3,
            LookalikeKind::TyposquatClose => 2,
            LookalikeKind::TyposquatFar => 1,
        }
    }
}

/// What a brand is (for reports; matching treats all kinds alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrandKind {
    /// A centralized exchange.
    Exchange,
    /// A wallet (software or hardware).
    Wallet,
    /// A DeFi protocol: exchanges, lending, staking, bridges.
    Defi,
    /// An NFT market.
    Nft,
    /// A chain or layer 2.
    Chain,
    /// A token launchpad.
    Launchpad,
    /// A service crypto users trust: explorers, price sites, tools.
    Service,
}

impl BrandKind {
    /// Stable snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BrandKind::Exchange => "exchange",
            BrandKind::Wallet => "wallet",
            BrandKind::Defi => "defi",
            BrandKind::Nft => "nft",
            BrandKind::Chain => "chain",
            BrandKind::Launchpad => "launchpad",
            BrandKind::Service => "service",
        }
    }
}

/// One brand of a registry, validated and normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandEntry {
    /// Display name (`Binance`).
    pub name: String,
    /// What it is.
    pub kind: BrandKind,
    /// Registrable domains it owns, lowercase ASCII.
    pub domains: Vec<String>,
    /// Exact official hosts, lowercase ASCII.
    pub hosts: Vec<String>,
    /// Names matched inside other hosts: the listed tokens, else each domain's
    /// registrable label of 3+ characters.
    pub tokens: Vec<String>,
    /// The name is an ordinary word: matched only with lure or hosting evidence.
    pub word: bool,
    /// Where the entry's domains come from.
    pub sources: Vec<String>,
    /// Line of the entry in its file.
    pub line: usize,
}

/// A host found to imitate a protected brand.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookalike {
    /// The brand's main official domain (normalised to lowercase ASCII), e.g.
    /// `binance.com`; for a brand given by domain to [`BrandList::new`], that domain.
    pub brand: String,
    /// The brand's display name (`Binance`); for a brand given by domain, its name
    /// label (`binance`).
    pub name: String,
    /// The brand name that matched (`binance`, `gmocoin`).
    pub token: String,
    /// Which rule matched.
    pub kind: LookalikeKind,
    /// How sure the rule is, in `0.0..=1.0` (see the module documentation).
    pub confidence: f64,
    /// What else the host says: lure words, free hosting, a cheap TLD.
    pub evidence: HostEvidence,
}

impl Lookalike {
    /// One line for a verdict: "`okx-poll.pages.dev` imitates OKX (okx.com): the
    /// name `okx` in a label; lure word `poll`; free hosting `pages.dev`".
    pub fn describe(&self, host: &str) -> String {
        let how = match self.kind {
            LookalikeKind::Homoglyph => "a label that reads as",
            LookalikeKind::BrandInLabel => "a label containing",
            LookalikeKind::BrandAsSubdomain => "a subdomain spelling",
            LookalikeKind::TyposquatClose => "a typo of",
            LookalikeKind::TyposquatFar => "two typos of",
            LookalikeKind::OtherTld => "another suffix under",
        };
        let evidence = self.evidence.describe();
        let evidence = if evidence.is_empty() { String::new() } else { format!("; {evidence}") };
        format!("`{host}` imitates {} ({}): {how} `{}`{evidence}", self.name, self.brand, self.token)
    }
}

/// How one host is judged (see [`BrandList::judge`]).
#[derive(Debug, Clone, PartialEq)]
pub enum HostJudgement {
    /// An official host of a brand (its name): never a look-alike.
    Official(String),
    /// It imitates a brand.
    Lookalike(Lookalike),
    /// It names a drainer's lure and no brand.
    Lure(LureHost),
    /// Nothing found.
    Clean,
}

/// One brand name, pre-processed for matching.
#[derive(Debug, Clone)]
struct Brand {
    /// The brand's main domain, lowercase ASCII (`binance.com`, `coin.z.com`).
    domain: String,
    /// Display name (`Binance`; the name itself for brands given by domain).
    display: String,
    /// The name matched against labels (`binance`; for `coin.z.com`, whose registrable
    /// label `z` says nothing, the labels left of the suffix joined: `coinz`).
    name: String,
    /// The labels making up `name` (`["binance"]`, `["coin", "z"]`).
    parts: Vec<String>,
    /// `name` visually folded, as chars (for the edit distance) and as a string.
    folded: Vec<char>,
    folded_name: String,
    /// `name` and suffix glued together and folded (`binancecom`, `gateio`): a token
    /// spelling the whole domain without its dot.
    folded_with_suffix: String,
    /// `.binance.com.`, or `.launchpad.ethereum.org.` and `.ethereum.org.`: label-aligned
    /// needles for the brand domain (or its registrable domain) embedded in another host.
    embedded: Vec<String>,
    /// Containment and typosquat rules apply (the name is long enough to be distinctive).
    distinctive: bool,
    /// Two-typo matches apply (long names only).
    far: bool,
    /// The name is an ordinary word (Curve, Safe): matched only as a whole token
    /// or glued to a lure word, and only with lure or hosting evidence.
    word: bool,
    /// The ASCII characters of `folded` (see [`ascii_set`]).
    folded_set: u128,
}

impl Brand {
    /// Short names and ordinary words match only with lure or hosting evidence.
    fn needs_evidence(&self) -> bool {
        !self.distinctive || self.word
    }
}

/// The protected brands, built once and shared; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct BrandList {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    brands: Vec<Brand>,
    /// Official registrable domains and exact hosts: a host equal to one, or
    /// under one, is never flagged. The value indexes `owners`.
    official: HashMap<String, u32>,
    /// The brand names official hosts belong to (a registry brand whose
    /// labels are too short to match as names still owns its domains).
    owners: Vec<String>,
    /// Brands with a composite name (`coin` + `z`): always candidates.
    composite: Vec<u32>,
    index: BrandIndex,
}

/// Names at most this long only match exactly, by homoglyph or as delimited tokens.
const SHORT_NAME: usize = 4;
/// Minimum name length for one-typo matches.
const CLOSE_MIN: usize = 5;
/// Minimum name length for two-typo matches.
const FAR_MIN: usize = 10;
/// Labels considered per host, nearest the suffix first; DNS allows 127, scams use a few.
const MAX_LABELS: usize = 16;
/// Longest label considered (the DNS limit); longer ones are cut for the edit distance.
const MAX_LABEL_CHARS: usize = 63;

/// Words that turn a brand-bearing label into a lure (`binance-support`,
/// `metamask-wallet`, `binancesupport`). Matched after visual folding.
const SCAM_WORDS: &[&str] = &[
    "support",
    "verify",
    "verification",
    "verified",
    "wallet",
    "login",
    "signin",
    "signon",
    "airdrop",
    "claim",
    "secure",
    "security",
    "help",
    "helpdesk",
    "official",
    "service",
    "customer",
    "care",
    "recover",
    "recovery",
    "restore",
    "reward",
    "bonus",
    "gift",
    "giveaway",
    "promo",
    "event",
    "kyc",
    "auth",
    "account",
    "update",
    "unlock",
    "validate",
    "validation",
    "sync",
    "connect",
    "dapp",
    "defi",
    "web3",
    "team",
    "chat",
    "portal",
    "access",
    "refund",
    "nft",
    "mint",
    "free",
    "stake",
    "staking",
    "bridge",
    "online",
    "rectify",
    "migrate",
    "migration",
    "upgrade",
    "activate",
    "activation",
    "whitelist",
    "presale",
    "launch",
    "2fa",
    "protect",
    "alert",
    "notice",
    "check",
    "confirm",
    "safe",
    "ledger",
    "seed",
    "payment",
    "withdraw",
    "deposit",
    "japan",
    "list",
    "listing",
    "vote",
    "voting",
    "poll",
    "eligibility",
    "checker",
    "drop",
    "swap",
    "jp",
    "kr",
    "global",
];

/// The scam words, folded, with an automaton to find them inside a label remainder.
struct ScamWords {
    /// [`SCAM_WORDS`] folded like the labels they are compared with (`login` → `iogin`),
    /// sorted for lookups by binary search.
    sorted: Vec<String>,
    /// Finds any of them inside a string; `None` only if building failed.
    ac: Option<AhoCorasick>,
}

/// Built once: folding and the automaton are not free, and every check needs them.
fn scam_words() -> &'static ScamWords {
    static WORDS: OnceLock<ScamWords> = OnceLock::new();
    WORDS.get_or_init(|| {
        let folded: Vec<String> = SCAM_WORDS.iter().map(|w| fold(w)).collect();
        let ac = AhoCorasickBuilder::new().match_kind(MatchKind::LeftmostFirst).build(&folded).ok();
        let mut sorted = folded;
        sorted.sort_unstable();
        ScamWords { sorted, ac }
    })
}

/// Whether a folded token is a scam word (trailing digits ignored: `support24`).
fn is_scam_token(token: &str) -> bool {
    let t = token.trim_end_matches(|c: char| c.is_ascii_digit());
    let known = |t: &str| !t.is_empty() && scam_words().sorted.binary_search_by(|w| w.as_str().cmp(t)).is_ok();
    known(t) || t.strip_suffix('s').is_some_and(known)
}

/// Whether a folded string contains a scam word.
fn contains_scam_word(s: &str) -> bool {
    scam_words().ac.as_ref().is_some_and(|ac| ac.is_match(s))
}

/// Visual folding: UTS #39 skeleton, lowercase, no combining marks, then the
/// confusions the skeleton leaves for ASCII (`l`/`i`, `0`/`o`, `rn`/`m`, `vv`/`w`).
///
/// The skeleton maps `m` to `rn`; folding `rn` back to `m` keeps lengths close to the
/// written ones, which keeps the edit distance meaningful (`metmask` stays one
/// deletion away from `metamask`).
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    if s.is_ascii() {
        // Fast path with the same result: for the characters a host label can hold,
        // the skeleton changes only `0`, `1`, `I` and `m` (to `rn`, folded back below).
        out.extend(s.bytes().map(|b| fold_ascii(b.to_ascii_lowercase())));
    } else {
        for c in unicode_security::skeleton(s) {
            for lc in c.to_lowercase() {
                if unicode_normalization::char::is_combining_mark(lc) {
                    continue;
                }
                out.push(match lc {
                    'ı' => 'i',
                    c if c.is_ascii() => fold_ascii(c as u8),
                    other => other,
                });
            }
        }
    }
    // Byte-pair tests: on short labels a substring searcher costs more to set up.
    let has_pair = |s: &str, pair: &[u8]| s.as_bytes().windows(2).any(|w| w == pair);
    if has_pair(&out, b"rn") {
        out = out.replace("rn", "m");
    }
    if has_pair(&out, b"vv") {
        out = out.replace("vv", "w");
    }
    out
}

/// The single-character part of [`fold`] for a lowercase ASCII byte.
fn fold_ascii(b: u8) -> char {
    match b {
        b'l' | b'1' | b'|' => 'i',
        b'0' => 'o',
        other => char::from(other),
    }
}

/// Pairs of (folded) letters readers confuse at a glance.
const VISUAL_PAIRS: &[(char, char)] = &[
    ('u', 'v'),
    ('v', 'w'),
    ('v', 'y'),
    ('c', 'e'),
    ('c', 'o'),
    ('a', 'o'),
    ('a', 'e'),
    ('e', 'o'),
    ('g', 'q'),
    ('b', 'd'),
    ('p', 'q'),
    ('h', 'n'),
    ('n', 'm'),
    ('i', 'j'),
    ('i', 't'),
    ('s', '5'),
    ('z', '2'),
    ('b', '6'),
    ('g', '9'),
    ('e', '3'),
    ('a', '4'),
];

fn visually_similar(a: char, b: char) -> bool {
    VISUAL_PAIRS.iter().any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
}

/// Position of a key on a QWERTY keyboard (row, column with the usual row stagger).
fn key_position(c: char) -> Option<(i32, i32)> {
    const ROWS: [(&str, i32); 4] = [("1234567890", 0), ("qwertyuiop", 2), ("asdfghjkl", 3), ("zxcvbnm", 5)];
    ROWS.iter().enumerate().find_map(|(row, (keys, stagger))| {
        keys.find(c).map(|col| {
            let col = i32::try_from(col).unwrap_or(i32::MAX / 8);
            (i32::try_from(row).unwrap_or(0), col * 4 + stagger)
        })
    })
}

/// Whether two keys touch on a QWERTY keyboard (columns in quarter keys).
fn keyboard_adjacent(a: char, b: char) -> bool {
    match (key_position(a), key_position(b)) {
        (Some((ra, ca)), Some((rb, cb))) => a != b && (ra - rb).abs() <= 1 && (ca - cb).abs() <= 4,
        _ => false,
    }
}

/// Plausible substitutions between ASCII characters as bit sets, built once: the edit
/// distance asks for every mismatching cell, for every label against every brand.
struct SubstitutionTable {
    /// Bit `b` of `visual[a]`: `a` and `b` are visually similar.
    visual: [u128; 128],
    /// Bit `b` of `typo[a]`: visually similar or adjacent on the keyboard.
    typo: [u128; 128],
}

fn substitution_table() -> &'static SubstitutionTable {
    static TABLE: OnceLock<SubstitutionTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = SubstitutionTable { visual: [0; 128], typo: [0; 128] };
        for a in 0u8..128 {
            for b in 0u8..128 {
                let (ca, cb) = (char::from(a), char::from(b));
                if visually_similar(ca, cb) {
                    table.visual[usize::from(a)] |= 1 << b;
                }
                if visually_similar(ca, cb) || keyboard_adjacent(ca, cb) {
                    table.typo[usize::from(a)] |= 1 << b;
                }
            }
        }
        table
    })
}

/// Cost of writing `got` where the brand has `want` at position `pos`: 0 when equal,
/// 1 for a plausible typo, `implausible` otherwise.
fn substitution_cost(table: &SubstitutionTable, want: char, got: char, pos: usize, implausible: usize) -> usize {
    if want == got {
        return 0;
    }
    let (Ok(w), Ok(g)) = (u8::try_from(want), u8::try_from(got)) else {
        return implausible;
    };
    let (Some(visual), Some(typo)) = (table.visual.get(usize::from(w)), table.typo.get(usize::from(w))) else {
        return implausible;
    };
    let set = if pos == 0 { visual } else { typo };
    if g < 128 && set & (1u128 << g) != 0 { 1 } else { implausible }
}

/// Optimal-string-alignment distance from the brand to a candidate where plausible
/// typos cost 1 and any other substitution costs `implausible` (see
/// [`substitution_cost`]); returns `max + 1` when over `max`. Both inputs are folded and at most [`MAX_LABEL_CHARS`] long (longer input
/// is reported as over `max`).
///
/// A deletion directly followed by an insertion (or the reverse) is a substitution in
/// disguise; allowing it would let `cryptofitties` be two "typos" from `cryptokitties`
/// although `k` → `f` is not a plausible one. The alignment therefore tracks the last
/// operation and forbids those pairs.
fn typo_distance(brand: &[char], cand: &[char], max: usize, implausible: usize) -> usize {
    const W: usize = MAX_LABEL_CHARS + 1;
    // Cell states: the last operation of the cheapest alignment ending here.
    const SAME: usize = 0; // match, substitution or transposition
    const DEL: usize = 1; // brand character left out
    const INS: usize = 2; // extra candidate character
    let over = max + 1;
    let (n, m) = (brand.len(), cand.len());
    if n.abs_diff(m) > max || n >= W || m >= W || bag_distance_exceeds(brand, cand, max) {
        return over;
    }
    debug_assert!(max < usize::from(u8::MAX));
    let table = substitution_table();
    // Cells hold costs clamped to `over` as bytes (sums saturate, and a saturated
    // sum is above `over` anyway), so the three rows are small to set up.
    let clamp = |v: usize| u8::try_from(v.min(over)).unwrap_or(u8::MAX);
    let o = clamp(over);
    // Three rolling rows (the transposition looks two rows back), on the stack: this
    // runs for every label of every link against every brand.
    let mut rows = [[[o; 3]; W]; 3];
    rows[0][0][SAME] = 0;
    for (j, cell) in rows[0].iter_mut().enumerate().take(m + 1).skip(1) {
        cell[INS] = clamp(j);
    }
    for i in 1..=n {
        let (cur, prev, prev2) = (i % 3, (i + 2) % 3, (i + 1) % 3);
        // Cells 1..=m of the row are all written below before they are read, and
        // later ones are never read: only the first needs setting.
        rows[cur][0] = [o, clamp(i), o];
        let mut row_min = o;
        for j in 1..=m {
            let (bi, cj) = (brand[i - 1], cand[j - 1]);
            let diag = rows[prev][j - 1];
            let cost = u8::try_from(substitution_cost(table, bi, cj, i - 1, implausible)).unwrap_or(u8::MAX);
            let mut same = diag[SAME].min(diag[DEL]).min(diag[INS]).saturating_add(cost);
            if i > 1 && j > 1 && bi == cand[j - 2] && brand[i - 2] == cj && bi != cj {
                let back = rows[prev2][j - 2];
                same = same.min(back[SAME].min(back[DEL]).min(back[INS]).saturating_add(1));
            }
            let up = rows[prev][j];
            let del = up[SAME].min(up[DEL]).saturating_add(1);
            let left = rows[cur][j - 1];
            let ins = left[SAME].min(left[INS]).saturating_add(1);
            let cell = [same.min(o), del.min(o), ins.min(o)];
            row_min = row_min.min(cell[SAME]).min(cell[DEL]).min(cell[INS]);
            rows[cur][j] = cell;
        }
        if usize::from(row_min) > max {
            return over;
        }
    }
    let last = rows[n % 3][m];
    usize::from(last[SAME].min(last[DEL]).min(last[INS])).min(over)
}

/// The ASCII characters of `s` as a set: bit `c` for each `c` below 128.
fn ascii_set(s: &[char]) -> u128 {
    s.iter().filter_map(|&c| u8::try_from(c).ok()).filter(|&b| b < 128).fold(0, |set, b| set | 1 << b)
}

/// A lower bound on the distance of two strings from their [`ascii_set`]s:
/// each character one of them has and the other lacks needs an operation of
/// its own (as in [`bag_distance_exceeds`], counting each character once).
/// Two instructions where most brand/candidate pairs are unrelated words.
fn set_gap(a: u128, b: u128) -> u32 {
    (a & !b).count_ones().max((b & !a).count_ones())
}

/// Whether the characters of `a` and `b`, as multisets, differ by more than
/// `max` on either side, which rules out a distance of at most `max`: every
/// operation costs at least 1, a deletion or insertion changes one side by
/// one, a substitution each side by one, a transposition neither. Most
/// brand/label pairs are unrelated words, and this costs a fraction of the
/// alignment. Only decided for ASCII (false otherwise: align and see).
fn bag_distance_exceeds(a: &[char], b: &[char], max: usize) -> bool {
    let mut count = [0i8; 128];
    let slot = |c: char| usize::try_from(u32::from(c)).ok().filter(|&i| i < 128);
    for &c in a {
        match slot(c).and_then(|i| count.get_mut(i)) {
            Some(n) => *n = n.saturating_add(1),
            None => return false,
        }
    }
    for &c in b {
        match slot(c).and_then(|i| count.get_mut(i)) {
            Some(n) => *n = n.saturating_sub(1),
            None => return false,
        }
    }
    // Sum each character's surplus once, clearing it as it is counted.
    let (mut only_a, mut only_b) = (0usize, 0usize);
    for &c in a.iter().chain(b) {
        if let Some(n) = slot(c).and_then(|i| count.get_mut(i)) {
            let surplus = std::mem::take(n);
            if surplus > 0 {
                only_a += usize::from(surplus.unsigned_abs());
            } else {
                only_b += usize::from(surplus.unsigned_abs());
            }
        }
    }
    only_a > max || only_b > max
}

/// One label of the checked host, in the forms the rules need.
struct Label {
    /// Lowercase, punycode decoded.
    unicode: String,
    /// `unicode` folded.
    folded: String,
    /// `folded` without hyphens (`bin-ance` → `binance`).
    folded_joined: String,
    /// Folded tokens split at hyphens (`b1nance-support` → `binance`, `support`).
    hyphen_tokens: Vec<String>,
    /// Folded tokens split at hyphens and digits of the written label
    /// (`binance2024` → `binance`).
    alpha_tokens: Vec<String>,
    /// Strings checked for typos, as chars: the joined label, and its hyphen tokens
    /// when there are several. Computed once per label, used for every brand.
    typo_candidates: Vec<Vec<char>>,
    /// [`ascii_set`] of each typo candidate, in the same order.
    typo_candidate_sets: Vec<u128>,
    /// An alpha token is a scam word.
    has_scam_token: bool,
}

/// A lowercase ASCII label in Unicode: punycode (`xn--…`) decoded, others as they are.
/// Labels are compared in this form so that an IDN brand and an IDN host meet.
fn decode_label(ascii: &str) -> String {
    ascii
        .strip_prefix("xn--")
        .and_then(idna::punycode::decode_to_string)
        .map_or_else(|| ascii.to_string(), |u| u.to_lowercase())
}

impl Label {
    /// Prepares one label (lowercase ASCII, as in a normalised host) for the rules.
    fn new(ascii: &str) -> Label {
        let mut unicode = decode_label(ascii);
        if let Some((cut, _)) = unicode.char_indices().nth(MAX_LABEL_CHARS) {
            unicode.truncate(cut);
        }
        let folded = fold(&unicode);
        let folded_joined = if folded.contains('-') { folded.replace('-', "") } else { folded.clone() };
        // Most labels have no hyphen or digit: then the only token is the label,
        // already folded.
        let whole = || if unicode.is_empty() { Vec::new() } else { vec![folded.clone()] };
        let hyphen_tokens: Vec<String> = if unicode.contains('-') {
            unicode.split('-').filter(|t| !t.is_empty()).map(fold).collect()
        } else {
            whole()
        };
        let alpha_tokens: Vec<String> = if unicode.bytes().any(|b| b == b'-' || b.is_ascii_digit()) {
            unicode.split(|c: char| c == '-' || c.is_ascii_digit()).filter(|t| !t.is_empty()).map(fold).collect()
        } else {
            whole()
        };
        let mut typo_candidates = vec![folded_joined.chars().collect::<Vec<char>>()];
        if hyphen_tokens.len() > 1 {
            typo_candidates.extend(hyphen_tokens.iter().map(|t| t.chars().collect::<Vec<char>>()));
        }
        let has_scam_token = alpha_tokens.iter().any(|t| is_scam_token(t));
        let typo_candidate_sets = typo_candidates.iter().map(|c| ascii_set(c)).collect();
        Label {
            unicode,
            folded,
            folded_joined,
            hyphen_tokens,
            alpha_tokens,
            typo_candidates,
            typo_candidate_sets,
            has_scam_token,
        }
    }
}

/// Best finding so far for one host.
#[derive(Clone, Copy)]
struct Finding {
    brand: usize,
    kind: LookalikeKind,
    confidence: f64,
}

impl Finding {
    /// Higher confidence wins; on a tie, the more specific kind.
    fn better_than(&self, other: &Option<Finding>) -> bool {
        match other {
            None => true,
            Some(o) => {
                self.confidence > o.confidence || (self.confidence == o.confidence && self.kind.rank() > o.kind.rank())
            }
        }
    }
}

impl BrandList {
    /// Builds the list from protected domains such as `["binance.com", "binance.us",
    /// "coinbase.com", "metamask.io"]`. Entries are trimmed, lowercased and converted
    /// to ASCII; entries that are empty, IP addresses or not convertible are skipped.
    pub fn new<S: AsRef<str>>(protected_domains: &[S]) -> BrandList {
        BrandList::with_registry(protected_domains, &[])
    }

    /// [`BrandList::new`] plus the brands of a registry (see
    /// [`crate::rules::Registry`]): each of their tokens is a name, each of their
    /// domains and hosts official.
    pub fn with_registry<S: AsRef<str>>(protected_domains: &[S], registry: &[BrandEntry]) -> BrandList {
        let mut brands = Vec::new();
        let mut official: HashMap<String, u32> = HashMap::new();
        let mut owners: Vec<String> = Vec::new();
        for entry in registry {
            let Some(main) = entry.domains.first().or(entry.hosts.first()) else { continue };
            // Its domains are official whether or not it has names to match.
            let owner = u32::try_from(owners.len()).unwrap_or(u32::MAX);
            owners.push(entry.name.clone());
            for d in entry.domains.iter().chain(&entry.hosts) {
                official.entry(d.clone()).or_insert(owner);
            }
            let main_suffix = registrable_domain(main)
                .and_then(|r| r.split_once('.').map(|(_, s)| s.to_string()))
                .unwrap_or_default();
            let embedded: Vec<String> = entry.domains.iter().chain(&entry.hosts).map(|d| format!(".{d}.")).collect();
            for token in &entry.tokens {
                let chars = token.chars().count();
                let distinctive = chars > SHORT_NAME;
                let folded: Vec<char> = fold(token).chars().collect();
                brands.push(Brand {
                    domain: main.clone(),
                    display: entry.name.clone(),
                    name: token.clone(),
                    parts: vec![token.clone()],
                    folded_set: ascii_set(&folded),
                    folded,
                    folded_name: fold(token),
                    folded_with_suffix: fold(&format!("{token}{}", main_suffix.replace('.', ""))),
                    embedded: embedded.clone(),
                    distinctive,
                    far: distinctive && !entry.word && chars >= FAR_MIN,
                    word: entry.word,
                });
            }
        }
        for raw in protected_domains {
            let Some(domain) = normalize_host(raw.as_ref()) else {
                continue;
            };
            if domain.parse::<std::net::IpAddr>().is_ok() || domain.starts_with('[') {
                continue;
            }
            let registrable = registrable_domain(&domain).unwrap_or_else(|| domain.clone());
            let (reg_label, suffix) = registrable.split_once('.').unwrap_or((registrable.as_str(), ""));
            // Labels left of the suffix, without a leading `www`.
            let left = domain.strip_suffix(suffix).map_or(domain.as_str(), |l| l.trim_end_matches('.'));
            let left = left.strip_prefix("www.").unwrap_or(left);
            let parts: Vec<String> = if reg_label.chars().count() >= 3 {
                vec![decode_label(reg_label)]
            } else {
                left.split('.').filter(|l| !l.is_empty()).map(decode_label).collect()
            };
            let name = parts.concat();
            if name.is_empty() {
                continue;
            }
            let owner = u32::try_from(owners.len()).unwrap_or(u32::MAX);
            owners.push(name.clone());
            official.entry(domain.clone()).or_insert(owner);
            official.entry(registrable.clone()).or_insert(owner);
            // A registry brand of the same name already protects it.
            if brands.iter().any(|b| b.parts.len() == 1 && parts.len() == 1 && b.name == name) {
                continue;
            }
            let name_chars = name.chars().count();
            // A composite name (`coin` + `z`) is only as distinctive as its shortest part.
            let shortest_part = parts.iter().map(|p| p.chars().count()).min().unwrap_or(0);
            let distinctive = name_chars > SHORT_NAME && shortest_part >= CLOSE_MIN;
            let mut embedded = vec![format!(".{domain}.")];
            if registrable != domain {
                embedded.push(format!(".{registrable}."));
            }
            let folded_with_suffix = fold(&format!("{name}{}", suffix.replace('.', "")));
            let folded: Vec<char> = fold(&name).chars().collect();
            brands.push(Brand {
                folded_set: ascii_set(&folded),
                folded,
                folded_name: fold(&name),
                folded_with_suffix,
                far: distinctive && name_chars >= FAR_MIN,
                distinctive,
                word: false,
                embedded,
                display: name.clone(),
                parts,
                name,
                domain,
            });
        }
        let composite = (0..brands.len())
            .filter(|&i| brands.get(i).is_some_and(|b| b.parts.len() > 1))
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        let index = BrandIndex::new(brands.iter().map(|b| index::Entry {
            name: &b.folded,
            embedded: &b.embedded,
            typos: if !b.distinctive || b.word {
                0
            } else if b.far {
                2
            } else {
                1
            },
        }));
        BrandList { inner: Arc::new(Inner { brands, official, owners, composite, index }) }
    }

    /// How many brand names are matched.
    pub fn len(&self) -> usize {
        self.inner.brands.len()
    }

    /// Whether no brand is protected.
    pub fn is_empty(&self) -> bool {
        self.inner.brands.is_empty()
    }

    /// Whether `host` is one of the protected domains or a subdomain of one
    /// (`accounts.binance.com` for `binance.com`), or an official host of a
    /// registry brand.
    pub fn is_official(&self, host: &str) -> bool {
        normalize_host(host).is_some_and(|h| self.official_brand(&h).is_some())
    }

    /// The brand whose official host `host` (normalized) is or is under.
    fn official_brand(&self, host: &str) -> Option<&str> {
        let mut rest = host;
        loop {
            if let Some(&id) = self.inner.official.get(rest) {
                return self.inner.owners.get(id as usize).map(String::as_str);
            }
            rest = rest.split_once('.')?.1;
        }
    }

    /// Grades `host` (lowercase ASCII/punycode, as in `UrlHit::host`) against every
    /// brand and returns the strongest finding, or `None` for official hosts, hosts
    /// under a brand's registrable domain, IP addresses and unrelated domains.
    pub fn check(&self, host: &str) -> Option<Lookalike> {
        match self.judge(host) {
            HostJudgement::Lookalike(l) => Some(l),
            _ => None,
        }
    }

    /// Judges `host`: official host of a brand, look-alike of one, a host naming a
    /// drainer's lure without a brand ([`LureHost`]), or clean. A platform or public
    /// suffix itself (`pages.dev`) is clean.
    ///
    /// ```
    /// use moderation_core::rules::Registry;
    /// use moderation_core::signals::lookalike::{BrandList, HostJudgement};
    ///
    /// let brands = BrandList::with_registry::<&str>(&[], &Registry::default_registry().brands);
    /// assert!(matches!(brands.judge("www.binance.org"), HostJudgement::Official(_)));
    /// let HostJudgement::Lookalike(l) = brands.judge("okx-listingpoll.pages.dev") else { panic!() };
    /// assert_eq!(l.token, "okx");
    /// assert!(matches!(brands.judge("claim-rewards-eligibility.pages.dev"), HostJudgement::Lure(_)));
    /// assert_eq!(brands.judge("pages.dev"), HostJudgement::Clean);
    /// ```
    pub fn judge(&self, host: &str) -> HostJudgement {
        let Some(host) = normalize_host_cow(host) else { return HostJudgement::Clean };
        if is_ip_literal(&host) {
            return HostJudgement::Clean;
        }
        if let Some(owner) = self.official_brand(&host) {
            return HostJudgement::Official(owner.to_string());
        }
        let suffix = psl::suffix(host.as_bytes()).filter(|s| s.is_known());
        if suffix.is_some_and(|s| s.as_bytes().len() >= host.len()) {
            return HostJudgement::Clean;
        }
        let Some(suffix_len) = suffix
            .map(|s| s.as_bytes().len())
            // Unknown suffix: treat the last label as the suffix so the rest is checked.
            .or_else(|| host.rfind('.').map(|i| host.len() - i - 1))
        else {
            return HostJudgement::Clean;
        };
        let Some(left) = host.get(..host.len() - suffix_len).map(|l| l.trim_end_matches('.')) else {
            return HostJudgement::Clean;
        };
        let evidence = HostEvidence::of(&host, left);
        match self.lookalike(&host, left, &evidence) {
            Some(best) => {
                let Some(brand) = self.inner.brands.get(best.brand) else { return HostJudgement::Clean };
                HostJudgement::Lookalike(Lookalike {
                    brand: brand.domain.clone(),
                    name: brand.display.clone(),
                    token: brand.name.clone(),
                    kind: best.kind,
                    confidence: best.confidence,
                    evidence,
                })
            }
            None => match lure::grade(evidence) {
                Some(l) => HostJudgement::Lure(l),
                None => HostJudgement::Clean,
            },
        }
    }

    /// The strongest brand finding for a host that is not official.
    fn lookalike(&self, host: &str, left: &str, evidence: &HostEvidence) -> Option<Finding> {
        if self.inner.brands.is_empty() {
            return None;
        }
        let all_labels: Vec<&str> = left.split('.').filter(|l| !l.is_empty()).collect();
        let skip = all_labels.len().saturating_sub(MAX_LABELS);
        let labels: Vec<Label> = all_labels.iter().skip(skip).map(|l| Label::new(l)).collect();
        if labels.is_empty() {
            return None;
        }
        let mut dotted = String::with_capacity(host.len() + 2);
        dotted.push('.');
        dotted.push_str(host);
        dotted.push('.');

        let index = &self.inner.index;
        let mut embedded = Vec::new();
        index.embedded_in(&dotted, &mut embedded);
        let mut candidates = self.inner.composite.clone();
        candidates.extend_from_slice(&embedded);
        for label in &labels {
            index.containing(&label.folded_joined, &mut candidates);
            if label.hyphen_tokens.len() > 1 {
                for t in &label.hyphen_tokens {
                    index.containing(t, &mut candidates);
                }
            }
            for cand in &label.typo_candidates {
                index.typos_of(cand, &mut candidates);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();

        let hosted = evidence.hosted();
        let lured = !evidence.lure_words.is_empty() || labels.iter().any(|l| l.has_scam_token);
        let non_ascii = labels.iter().any(|l| !l.unicode.is_ascii());
        let mut best: Option<Finding> = None;
        for id in candidates {
            let Some(brand) = self.inner.brands.get(id as usize) else { continue };
            let index = id as usize;
            let mut consider = |kind: LookalikeKind, confidence: f64, lure: bool| {
                let Some(confidence) = gate(brand, kind, confidence, hosted, lured || lure, non_ascii) else { return };
                let f = Finding { brand: index, kind, confidence };
                if f.better_than(&best) {
                    best = Some(f);
                }
            };
            if embedded.binary_search(&id).is_ok() || brand.embedded.iter().any(|e| contains_at_dot(&dotted, e)) {
                consider(LookalikeKind::BrandAsSubdomain, 0.9, false);
            }
            evaluate_labels(brand, &labels, &mut consider);
        }
        best
    }
}

/// Applies the evidence rule for short names and ordinary words: without lure
/// words or hosting evidence they do not match (an IDN homoglyph or a whole
/// brand domain in the host is evidence enough); with one kind of evidence a
/// match keeps its confidence, with both it is strong. Ordinary words never
/// match by typo or by plain containment. Distinctive names need no evidence;
/// free hosting or a cheap TLD adds 0.1 to a weak match, up to 0.8.
fn gate(
    brand: &Brand,
    kind: LookalikeKind,
    confidence: f64,
    hosted: bool,
    lured: bool,
    non_ascii: bool,
) -> Option<f64> {
    if kind == LookalikeKind::BrandAsSubdomain && confidence >= 0.9 {
        return Some(confidence);
    }
    if !brand.needs_evidence() {
        // A distinctive name on free hosting or a cheap TLD is a little more
        // suspicious (`pancakeswapfix.netlify.app`), never strong on that alone.
        let boost = if hosted && kind != LookalikeKind::Homoglyph { 0.1 } else { 0.0 };
        return Some(if confidence < 0.8 { (confidence + boost).min(0.8) } else { confidence });
    }
    if brand.word && matches!(kind, LookalikeKind::TyposquatClose | LookalikeKind::TyposquatFar) {
        return None;
    }
    if kind == LookalikeKind::Homoglyph && non_ascii {
        return Some(confidence);
    }
    match (hosted, lured) {
        (false, false) => None,
        (true, true) => Some(confidence.max(0.9)),
        _ => Some(confidence),
    }
}

/// `hay.contains(needle)` for a `needle` that starts with `.`: only the dots
/// of `hay` can start it, and hosts have few. Skips building a substring
/// searcher, which costs more than the search, for every brand of every link.
fn contains_at_dot(hay: &str, needle: &str) -> bool {
    debug_assert!(needle.starts_with('.'));
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    h.iter().enumerate().any(|(i, &b)| b == b'.' && h.get(i..i + n.len()) == Some(n))
}

/// `hay.find(needle)` by direct comparison at each position where the first
/// byte matches: labels and brand names are short, so setting up a substring
/// searcher would cost more than the search. Byte positions are char
/// boundaries: a match of a whole UTF-8 needle cannot start inside a char.
fn find_str(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return Some(0);
    };
    h.iter().enumerate().position(|(i, &b)| b == first && h.get(i..i + n.len()) == Some(n))
}

/// `host` is `domain` or ends with `.domain`.
pub(crate) fn is_same_or_subdomain(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes().get(host.len() - domain.len() - 1) == Some(&b'.'))
}

/// Runs the label rules of one brand over the host's labels (the last one is the
/// registrable label), reporting each match to `consider` with whether the match
/// itself involves a scam word (`okxsupport`).
fn evaluate_labels(brand: &Brand, labels: &[Label], consider: &mut impl FnMut(LookalikeKind, f64, bool)) {
    let last = labels.len().saturating_sub(1);
    let folded_name = brand.folded_name.as_str();
    let name_len = brand.folded.len();

    // Exact name, possibly spread over labels for composite names (`coin.z.net`).
    let k = brand.parts.len();
    for start in 0..labels.len() {
        let window = labels.get(start..start + k);
        if window.is_some_and(|w| w.iter().zip(&brand.parts).all(|(l, p)| l.unicode == *p)) {
            if start + k - 1 == last {
                consider(LookalikeKind::OtherTld, 0.8, false);
            } else {
                consider(LookalikeKind::BrandAsSubdomain, 0.85, false);
            }
        }
    }

    for label in labels {
        let is_name = label.unicode == brand.name;
        // Homoglyph: the label *is* the name once folded, but not as written.
        if !is_name && label.folded == folded_name {
            consider(LookalikeKind::Homoglyph, 0.95, false);
            continue;
        }
        if is_name {
            continue;
        }
        // Hyphenation (`bin-ance`) is a typo, not a token match.
        if label.folded_joined == folded_name {
            consider(LookalikeKind::TyposquatClose, 0.75, false);
            continue;
        }
        let has_scam_token = label.has_scam_token;

        // Delimited tokens: `binance-support`, `binance2024`, `gateio-login`.
        if name_len >= 3 {
            let token_hit = label
                .hyphen_tokens
                .iter()
                .chain(&label.alpha_tokens)
                .any(|t| *t == folded_name || *t == brand.folded_with_suffix);
            if token_hit {
                let strong = (brand.distinctive && !brand.word) || has_scam_token;
                consider(LookalikeKind::BrandInLabel, if strong { 0.9 } else { 0.75 }, has_scam_token);
                continue;
            }
        }

        // Glued: `binancesupport`, `supportbinance`, `mybinanceshop`.
        if name_len >= 3
            && let Some(pos) = find_str(&label.folded_joined, folded_name)
        {
            let before = label.folded_joined.get(..pos).unwrap_or("");
            let after = label.folded_joined.get(pos + folded_name.len()..).unwrap_or("");
            if brand.distinctive && !brand.word {
                let scam = contains_scam_word(before) || contains_scam_word(after);
                consider(LookalikeKind::BrandInLabel, if scam { 0.9 } else { 0.7 }, scam);
                continue;
            }
            // Short names and words only when the rest of their hyphen token is
            // scam words (`okxsupport`, `votes-okxlist`).
            let glued_to_scam_word = |t: &str| {
                find_str(t, folded_name).is_some_and(|pos| {
                    let before = t.get(..pos).unwrap_or("");
                    let after = t.get(pos + folded_name.len()..).unwrap_or("");
                    (!before.is_empty() || !after.is_empty())
                        && (before.is_empty() || is_scam_token(before))
                        && (after.is_empty() || is_scam_token(after))
                })
            };
            if label.hyphen_tokens.iter().any(|t| glued_to_scam_word(t)) {
                consider(LookalikeKind::BrandInLabel, 0.9, true);
                continue;
            }
        }

        // Typos of the name, as the whole label or as one of its hyphen tokens.
        if brand.distinctive && !brand.word {
            let boost = if has_scam_token { 0.1 } else { 0.0 };
            // On a long name one wrong letter goes unnoticed whatever the letter
            // (`myetherwalleu`): for those an implausible substitution is a far match.
            let implausible = if brand.far { 2 } else { 3 };
            for (cand, &set) in label.typo_candidates.iter().zip(&label.typo_candidate_sets) {
                if cand.len().abs_diff(name_len) > 2 || set_gap(brand.folded_set, set) > 2 {
                    continue;
                }
                match typo_distance(&brand.folded, cand, 2, implausible) {
                    1 => consider(LookalikeKind::TyposquatClose, 0.7 + boost, has_scam_token),
                    2 if brand.far => consider(LookalikeKind::TyposquatFar, 0.5 + boost, has_scam_token),
                    _ => {}
                }
            }
        }
    }
}

// Input -> output cases: tests/data/detectors/lookalike.toml, run by tests/detectors.rs.
#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> BrandList {
        BrandList::new(&[
            "binance.com",
            "binance.us",
            "coinbase.com",
            "metamask.io",
            "okx.com",
            "gate.io",
            "mexc.com",
            "coin.z.com",
        ])
    }

    #[test]
    fn a_registry_brand_without_names_to_match_still_owns_its_domains() {
        // Found by the `feeds` fuzz target: `er.jp` has a two-letter label, so
        // the brand gets no token; its domain was then not official at all.
        let toml =
            "[[brand]]\nname = \"Binance\"\nkind = \"exchange\"\ndomains = [\"er.jp\"]\nsources = [\"curated\"]\n";
        let registry = crate::rules::Registry::from_toml("short.toml", toml).unwrap();
        assert!(registry.brands[0].tokens.is_empty());
        let brands = BrandList::with_registry(&["binance.com"], &registry.brands);
        assert_eq!(brands.judge("er.jp"), HostJudgement::Official("Binance".into()));
        assert_eq!(brands.judge("www.er.jp"), HostJudgement::Official("Binance".into()));
        assert_eq!(brands.judge("binance.com"), HostJudgement::Official("binance".into()));
    }

    #[test]
    fn kinds_have_names() {
        assert_eq!(LookalikeKind::OtherTld.as_str(), "other_tld");
        assert_eq!(LookalikeKind::Homoglyph.as_str(), "homoglyph");
    }

    #[test]
    fn odd_brand_lists_and_hosts_do_not_panic() {
        let odd = BrandList::new(&["", " ", "1.2.3.4", "[::1]", "a", ".com", "xn--", "ｂｉｎａｎｃｅ．ｃｏｍ"]);
        for h in ["xn--", "xn--zz.com", "a.b", "-.-.-", "\u{0}.com", "ß.com", &"a.".repeat(200), &"x".repeat(500)] {
            let _ = odd.check(h);
            let _ = list().check(h);
        }
    }

    /// The distance as first written, with full-width rows of `usize`.
    fn typo_distance_reference(brand: &[char], cand: &[char], max: usize, implausible: usize) -> usize {
        const W: usize = MAX_LABEL_CHARS + 1;
        // Cell states: the last operation of the cheapest alignment ending here.
        const SAME: usize = 0; // match, substitution or transposition
        const DEL: usize = 1; // brand character left out
        const INS: usize = 2; // extra candidate character
        let over = max + 1;
        let (n, m) = (brand.len(), cand.len());
        if n.abs_diff(m) > max || n >= W || m >= W {
            return over;
        }
        let table = substitution_table();
        // Three rolling rows (the transposition looks two rows back), on the stack: this
        // runs for every label of every link against every brand.
        let mut rows = [[[over; 3]; W]; 3];
        rows[0][0][SAME] = 0;
        for (j, cell) in rows[0].iter_mut().enumerate().take(m + 1).skip(1) {
            cell[INS] = j.min(over);
        }
        for i in 1..=n {
            let (cur, prev, prev2) = (i % 3, (i + 2) % 3, (i + 1) % 3);
            rows[cur] = [[over; 3]; W];
            rows[cur][0][DEL] = i.min(over);
            let mut row_min = over;
            for j in 1..=m {
                let (bi, cj) = (brand[i - 1], cand[j - 1]);
                let diag = rows[prev][j - 1];
                let mut same =
                    diag[SAME].min(diag[DEL]).min(diag[INS]) + substitution_cost(table, bi, cj, i - 1, implausible);
                if i > 1 && j > 1 && bi == cand[j - 2] && brand[i - 2] == cj && bi != cj {
                    let back = rows[prev2][j - 2];
                    same = same.min(back[SAME].min(back[DEL]).min(back[INS]) + 1);
                }
                let up = rows[prev][j];
                let del = up[SAME].min(up[DEL]) + 1;
                let left = rows[cur][j - 1];
                let ins = left[SAME].min(left[INS]) + 1;
                let cell = [same.min(over), del.min(over), ins.min(over)];
                row_min = row_min.min(cell[SAME]).min(cell[DEL]).min(cell[INS]);
                rows[cur][j] = cell;
            }
            if row_min > max {
                return over;
            }
        }
        let last = rows[n % 3][m];
        last[SAME].min(last[DEL]).min(last[INS]).min(over)
    }

    #[test]
    fn typo_distance_matches_the_reference() {
        const ALPHABET: &[char] =
            &['a', 'b', 'd', 'e', 'i', 'l', 'm', 'n', 'o', 'r', 's', 't', 'v', 'w', '1', '-', 'é'];
        let mut x: u64 = 0x7e57_d157;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let word = |len: u64, next: &mut dyn FnMut() -> u64| -> Vec<char> {
            (0..len).map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize]).collect()
        };
        for _ in 0..20_000 {
            let brand = word(1 + next() % 12, &mut next);
            // Candidates near the brand (edits) and unrelated ones.
            let mut cand = if next() % 2 == 0 { brand.clone() } else { word(next() % 14, &mut next) };
            for _ in 0..next() % 3 {
                let at = (next() as usize) % (cand.len() + 1);
                match next() % 3 {
                    0 => cand.insert(at, ALPHABET[(next() % ALPHABET.len() as u64) as usize]),
                    1 if at < cand.len() => {
                        cand.remove(at);
                    }
                    _ if at + 1 < cand.len() => cand.swap(at, at + 1),
                    _ => {}
                }
            }
            for implausible in [2, 3] {
                assert_eq!(
                    typo_distance(&brand, &cand, 2, implausible),
                    typo_distance_reference(&brand, &cand, 2, implausible),
                    "{brand:?} {cand:?}"
                );
            }
        }
        let long: Vec<char> = "a".repeat(70).chars().collect();
        assert_eq!(typo_distance(&long, &long, 2, 3), typo_distance_reference(&long, &long, 2, 3));
    }

    #[test]
    fn substring_helpers_match_std() {
        let hays = [
            "",
            ".",
            "..",
            ".a.b.",
            ".binance.com.",
            ".x.binance.com.evil.io.",
            "binancebinance",
            "ébinance",
            "aab",
            "日本語.jp",
        ];
        let needles = ["", ".", ".binance.com.", "binance", "ab", "a", "é", "語", ".b.", "ééé"];
        for h in hays {
            for n in needles {
                assert_eq!(find_str(h, n), h.find(n), "{h:?} {n:?}");
                if n.starts_with('.') {
                    assert_eq!(contains_at_dot(h, n), h.contains(n), "{h:?} {n:?}");
                }
            }
        }
    }

    #[test]
    fn brand_list_is_shareable() {
        fn assert_traits<T: Clone + Send + Sync>() {}
        assert_traits::<BrandList>();
    }
}
