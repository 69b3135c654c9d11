//! Phishing feeds: block lists and allow lists of hosts, loaded from the files
//! that anti-phishing projects publish, and looked up by host.
//!
//! A feed says "this site is a scam" (its block list) or "this site is the real
//! one" (its allow list). Three file formats are read, told apart by their text:
//!
//! 1. **A MetaMask `eth-phishing-detect` config** (`config.json`): a JSON object
//!    whose `blacklist` (or the newer `blocklist`) fills the block list and whose
//!    `whitelist` (or `allowlist`) fills the allow list. `fuzzylist` (an array
//!    of strings), `tolerance` and `version` (integers) are checked for their
//!    type and otherwise ignored; other keys are ignored.
//! 2. **A JSON array of host strings**: `["evil.example", "scam.github.io"]`.
//! 3. **Plain text**, one entry a line. Blank lines and lines starting with `#`
//!    or `!` are comments, as is a `#` after whitespace (`evil.example # seen
//!    2024-03`). An entry is a host (`evil.example`), a hosts-file line
//!    (`0.0.0.0 evil.example`, several names allowed), an Adblock domain rule
//!    (`||evil.example^`) or a URL (`https://evil.example/login`, which lists
//!    its host). A leading `*.` is dropped: every entry covers its subdomains
//!    anyway.
//!
//! The two array formats fill the list the caller names ([`ListKind`]); a
//! MetaMask config fills both from its own keys.
//!
//! # Matching
//!
//! Entries are normalised as the hosts of posts are (lowercase, no trailing
//! dot, Unicode names in their punycode `xn--` form), so `bïnance.com` in a
//! feed matches a post linking `xn--bnance-iwa.com` and the other way round.
//!
//! An entry matches its host and every subdomain of it: `evil.com` covers
//! `evil.com` and `a.b.evil.com`; `scam.github.io` covers that site and its
//! subdomains but never `github.io` or `other.github.io`. [`Feed::lookup`]
//! walks the suffixes of the host, from the host itself down to its
//! registrable domain (its public suffix plus one label, as the [public suffix
//! list] says; a suffix that is not on the list counts as one label) and never
//! above it, with one hash lookup each: the cost depends on the number of
//! labels in the host, not on the size of the feed. IP-address entries match
//! that address exactly.
//!
//! An allow entry wins over a block entry, wherever they are on the walk and
//! in whichever feed of [`Feeds`] they are: MetaMask allow-lists a site
//! (`metamask.io`) to clear it of everything, including block entries under
//! it, and its own detector checks the allow list first too.
//!
//! # Strictness
//!
//! A feed file is refused whole ([`crate::Error::Feed`], with the file name,
//! the line and the entry) when an entry is not a host (a space, a character
//! other than letters, digits, `-`, `_` and `.`, an empty label, a label over 63
//! characters, a host over 253), when an entry is itself a public suffix, a
//! registry's (`com`, `co.uk`) or, outside MetaMask configs, a hosting
//! platform's (`github.io`, `pages.dev`): listing one would block every site
//! under it. It is refused too when the JSON is not one of
//! the two shapes above or has a value of the wrong type, or when the file is
//! over [`MAX_FEED_BYTES`] or [`MAX_FEED_ENTRIES`].
//!
//! Some entries are skipped instead, and counted ([`Feed::skipped`],
//! [`Feed::skipped_entries`]), because published feeds have them and would
//! otherwise not load; none of them could match a host anyway:
//!
//! * a single-label name that is not a public suffix (`localhost` in hosts
//!   files, `3commas-best` in MetaMask's list): no public site has such a host;
//! * a host followed by a stray comma (`arbitrum-labs.pw,`: MetaMask's April
//!   2023 list has four), which MetaMask's own detector never matched either;
//! * in a MetaMask config only, a hosting platform's public suffix (the
//!   private section of the list: the April 2023 list blocks the dynamic-DNS
//!   domain `servehalflife.com` and the ENS gateway names `api3.eth.link` and
//!   `compute-cloud.eth.limo`, which the list makes suffixes with its
//!   `*.eth.link` and `*.eth.limo` rules). That config is published upstream
//!   and used as it is, so one such entry must not keep the other 43,000 out;
//!   in a list of one's own, `github.io` is a mistake worth refusing. A
//!   registry's suffix (`com`, `co.uk`) is refused in every format.
//!
//! ```
//! use moderation_core::signals::feeds::{Feed, Feeds, ListKind};
//!
//! let block = Feed::parse("scams.txt", "evil.example\n||scam.github.io^\n", ListKind::Block)?;
//! let allow = Feed::parse("known-good.json", r#"["good.evil.example"]"#, ListKind::Allow)?;
//! let feeds = Feeds::new(vec![block, allow]);
//!
//! let hit = feeds.lookup("login.evil.example").expect("a subdomain of a blocked host");
//! assert_eq!((hit.kind, hit.entry), (ListKind::Block, "evil.example"));
//! assert!(hit.feed.starts_with("scams.txt@"));
//! assert_eq!(feeds.lookup("www.good.evil.example").map(|h| h.kind), Some(ListKind::Allow));
//! assert_eq!(feeds.lookup("other.github.io"), None);
//! # Ok::<(), moderation_core::Error>(())
//! ```
//!
//! [public suffix list]: https://publicsuffix.org/

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::urls::{is_ip_literal, normalize_host_cow};
use crate::error::{Error, FeedError};

/// The largest feed file read: 64 MiB (the MetaMask config of April 2023 is
/// 1.1 MiB; the largest public host lists are around 20 MiB).
pub const MAX_FEED_BYTES: usize = 64 * 1024 * 1024;

/// The most entries one feed file may hold, both lists and skipped entries
/// together: 2,000,000 (about 110 MiB of memory, at the 56 bytes an entry
/// the MetaMask config takes).
pub const MAX_FEED_ENTRIES: usize = 2_000_000;

/// The bit of an IP-address entry in its set of sides: addresses match only
/// themselves, never as the parent "domain" of a name such as `5.1.2.3.4`.
const IP_ENTRY: u8 = 4;

/// The longest entry quoted whole in an error message; longer ones are cut.
const MAX_QUOTED: usize = 80;

/// Which side of a feed an entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// A block list: the hosts are phishing or scam sites.
    Block,
    /// An allow list: the hosts are known good, even where a block list
    /// covers them.
    Allow,
}

impl ListKind {
    /// The name verdicts and logs use: `"block"` or `"allow"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Block => "block",
            ListKind::Allow => "allow",
        }
    }

    /// The bit of this side in an entry's set of sides.
    fn bit(self) -> u8 {
        match self {
            ListKind::Block => 1,
            ListKind::Allow => 2,
        }
    }
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The format a feed file was read as (detected from its text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedFormat {
    /// A MetaMask `eth-phishing-detect` config: a JSON object with
    /// `blacklist`/`blocklist` and `whitelist`/`allowlist` arrays.
    MetaMask,
    /// A JSON array of host strings.
    JsonArray,
    /// Plain text, one host, hosts-file line, `||host^` rule or URL a line.
    HostList,
}

impl FeedFormat {
    /// A short name for logs: `"metamask"`, `"json-array"` or `"host-list"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::MetaMask => "metamask",
            FeedFormat::JsonArray => "json-array",
            FeedFormat::HostList => "host-list",
        }
    }
}

/// Why an entry was skipped rather than loaded or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// A single-label name that is not a public suffix (`localhost`,
    /// `3commas-best`): no public site has such a host.
    SingleLabel,
    /// A host followed by a stray `,` (`arbitrum-labs.pw,`), a list-separator
    /// typo.
    TrailingComma,
    /// In a MetaMask config, a hosting platform's public suffix
    /// (`servehalflife.com`, `api3.eth.link`): it would cover every site
    /// under it, and as a public suffix it is never the host of a site.
    PlatformSuffix,
}

impl SkipReason {
    /// A short description for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::SingleLabel => "a single-label name, never the host of a public site",
            SkipReason::TrailingComma => "a host followed by a stray comma",
            SkipReason::PlatformSuffix => "a hosting platform's public suffix, in a MetaMask config",
        }
    }
}

/// An entry a feed file holds but [`Feed::parse`] skipped (see the module
/// documentation for which ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// 1-based line in the file, when known (it is not for JSON strings
    /// written with escapes).
    pub line: Option<usize>,
    /// The entry as written.
    pub entry: String,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// One feed file, parsed: a block list and/or an allow list of hosts.
///
/// Build it with [`Feed::parse`] or [`Feed::from_file`]; look hosts up with
/// [`Feed::lookup`], or several feeds at once with [`Feeds`].
#[derive(Debug, Clone)]
pub struct Feed {
    name: String,
    version: String,
    format: FeedFormat,
    /// Normalised entry → the sides it is on ([`ListKind::bit`]), and
    /// [`IP_ENTRY`] for an address.
    entries: HashMap<Box<str>, u8>,
    block_len: usize,
    allow_len: usize,
    skipped: Vec<SkippedEntry>,
}

/// A feed entry that matched a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedHit<'a> {
    /// The version of the feed that matched ([`Feed::version`]:
    /// `name@hash`), for the verdict to report.
    pub feed: &'a str,
    /// Which list the entry is on.
    pub kind: ListKind,
    /// The entry that matched, normalised: the host itself or one of its
    /// parent domains.
    pub entry: &'a str,
}

impl Feed {
    /// Parses a feed file's text. `name` names the feed in its version and in
    /// errors (a file name, usually). `kind` says which list a plain host list
    /// or a JSON array fills; a MetaMask config fills both from its own keys.
    ///
    /// # Errors
    ///
    /// [`Error::Feed`] with the line and the entry when the file is refused
    /// (see the module documentation); nothing is half-loaded.
    pub fn parse(name: &str, text: &str, kind: ListKind) -> Result<Feed, Error> {
        let refuse = |line: Option<usize>, message: String| FeedError { source_name: name.to_string(), line, message };
        if text.len() > MAX_FEED_BYTES {
            return Err(refuse(None, format!("{} bytes, over the limit of {MAX_FEED_BYTES}", text.len())).into());
        }
        let version = format!("{name}@{}", short_hash(text.as_bytes()));
        // serde_json does not skip a byte-order mark; lines do not move.
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut builder = Builder::default();
        let format = if looks_like_json(body) {
            parse_json(body, kind, &mut builder).map_err(|e| json_error(name, &e))?
        } else {
            parse_host_list(body, kind, &mut builder).map_err(|(line, message)| refuse(Some(line), message))?;
            FeedFormat::HostList
        };
        let count = |kind: ListKind| builder.entries.values().filter(|&&sides| sides & kind.bit() != 0).count();
        let (block_len, allow_len) = (count(ListKind::Block), count(ListKind::Allow));
        let mut entries = builder.entries;
        entries.shrink_to_fit();
        Ok(Feed { name: name.to_string(), version, format, entries, block_len, allow_len, skipped: builder.skipped })
    }

    /// Reads and parses a feed file; the feed is named after the file name.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the path when the file cannot be read;
    /// [`Error::Feed`] when it is refused, over [`MAX_FEED_BYTES`] or not
    /// UTF-8.
    pub fn from_file(path: impl AsRef<Path>, kind: ListKind) -> Result<Feed, Error> {
        let path = path.as_ref();
        let io = |source| Error::Io { path: path.to_path_buf(), source };
        let name = match path.file_name() {
            Some(name) => name.to_string_lossy().into_owned(),
            None => path.display().to_string(),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        // One byte past the limit is enough to know the file is over it.
        let cap = u64::try_from(MAX_FEED_BYTES).unwrap_or(u64::MAX).saturating_add(1);
        file.take(cap).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() > MAX_FEED_BYTES {
            let message = format!("over the limit of {MAX_FEED_BYTES} bytes");
            return Err(FeedError { source_name: name, line: None, message }.into());
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.as_bytes().get(..e.utf8_error().valid_up_to()).unwrap_or_default();
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            FeedError { source_name: name.clone(), line: Some(line), message: "not UTF-8 text".to_string() }
        })?;
        Feed::parse(&name, &text, kind)
    }

    /// The name the feed was loaded under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `name@hash`, the hash being the first 12 hex digits of the SHA-256 of
    /// the file's bytes: verdicts report it, so that a decision can be traced
    /// to the exact list that made it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The format the file was read as.
    pub fn format(&self) -> FeedFormat {
        self.format
    }

    /// How many distinct (normalised) entries the list of `kind` holds.
    pub fn len(&self, kind: ListKind) -> usize {
        match kind {
            ListKind::Block => self.block_len,
            ListKind::Allow => self.allow_len,
        }
    }

    /// Whether the feed has no entries on either list.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many entries were skipped (see the module documentation).
    pub fn skipped(&self) -> usize {
        self.skipped.len()
    }

    /// The entries that were skipped, in file order, with their lines and why.
    pub fn skipped_entries(&self) -> &[SkippedEntry] {
        &self.skipped
    }

    /// The entry of this feed that covers `host`, if any: the host itself or
    /// one of its parent domains down to its registrable domain. An allow
    /// entry wins over a block entry. `host` is a host name or IP address
    /// (not a URL), in any case, Unicode or punycode.
    pub fn lookup(&self, host: &str) -> Option<FeedHit<'_>> {
        self.lookup_query(&Query::new(host)?)
    }

    fn lookup_query(&self, query: &Query<'_>) -> Option<FeedHit<'_>> {
        let mut block = None;
        for candidate in query.candidates() {
            let Some((entry, &sides)) = self.entries.get_key_value(candidate) else { continue };
            if (sides & IP_ENTRY != 0) != query.ip {
                continue;
            }
            if sides & ListKind::Allow.bit() != 0 {
                return Some(FeedHit { feed: &self.version, kind: ListKind::Allow, entry });
            }
            if block.is_none() {
                block = Some(FeedHit { feed: &self.version, kind: ListKind::Block, entry });
            }
        }
        block
    }
}

/// Several feeds, looked up together; an allow entry in any feed beats a
/// block entry in any other.
#[derive(Debug, Clone, Default)]
pub struct Feeds {
    feeds: Vec<Feed>,
}

impl Feeds {
    /// The feeds, in the order their block hits are preferred.
    pub fn new(feeds: Vec<Feed>) -> Feeds {
        Feeds { feeds }
    }

    /// Whether there are no feeds.
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }

    /// The feeds, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Feed> {
        self.feeds.iter()
    }

    /// The version of every feed ([`Feed::version`]), in order.
    pub fn versions(&self) -> Vec<String> {
        self.feeds.iter().map(|f| f.version.clone()).collect()
    }

    /// The entry covering `host`: the first allow hit of any feed, else the
    /// block hit of the first feed that has one. The host is normalised once
    /// for all feeds.
    pub fn lookup(&self, host: &str) -> Option<FeedHit<'_>> {
        let query = Query::new(host)?;
        let mut block = None;
        for feed in &self.feeds {
            match feed.lookup_query(&query) {
                Some(hit) if hit.kind == ListKind::Allow => return Some(hit),
                Some(hit) if block.is_none() => block = Some(hit),
                _ => {}
            }
        }
        block
    }
}

/// A host to look up, normalised, with the shortest suffix that may match.
struct Query<'a> {
    host: Cow<'a, str>,
    /// Length of the registrable domain (the whole host for IP addresses).
    floor: usize,
    /// Whether the host is an IP address.
    ip: bool,
}

impl<'a> Query<'a> {
    fn new(host: &'a str) -> Option<Query<'a>> {
        let host = normalize_host_cow(host)?;
        if is_ip_literal(&host) {
            let ip = canonical_ip(&host)?;
            let floor = ip.len();
            return Some(Query { host: Cow::Owned(ip), floor, ip: true });
        }
        // `None` for a host that is itself a public suffix: nothing matches it.
        let floor = psl::domain(host.as_bytes())?.as_bytes().len();
        Some(Query { host, floor, ip: false })
    }

    /// The host, then each parent domain down to the registrable domain.
    fn candidates(&self) -> impl Iterator<Item = &str> {
        std::iter::successors(Some(&*self.host), |s| s.split_once('.').map(|(_, parent)| parent))
            .take_while(|s| s.len() >= self.floor)
    }
}

/// The form IP entries are kept and looked up in: IPv4 dotted decimal, IPv6
/// compressed in brackets, as in URLs.
fn canonical_ip(host: &str) -> Option<String> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    match bare.parse::<IpAddr>().ok()? {
        IpAddr::V4(ip) => Some(ip.to_string()),
        IpAddr::V6(ip) => Some(format!("[{ip}]")),
    }
}

fn short_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    crate::text::hex(digest.get(..6).unwrap_or_default())
}

/// What one entry is, once checked.
enum Checked<'a> {
    /// A name, normalised.
    Keep(Cow<'a, str>),
    /// An IP address, in its canonical form.
    Ip(String),
    Skip(SkipReason),
}

/// Checks and normalises one entry as written; `Err` names the entry and what
/// is wrong with it.
/// `skip_platforms` skips (rather than refuses) an entry that is a suffix of
/// the private section of the public suffix list, as MetaMask configs have.
fn check_entry(raw: &str, skip_platforms: bool) -> Result<Checked<'_>, String> {
    let entry = raw.strip_prefix("*.").unwrap_or(raw);
    let without_commas = entry.trim_end_matches(',');
    if without_commas.len() < entry.len() {
        // Skipped only when it is a host but for the commas.
        return check_entry(without_commas, skip_platforms).map(|_| Checked::Skip(SkipReason::TrailingComma));
    }
    if entry.starts_with('[') || is_ip_literal(entry) {
        return canonical_ip(entry).map(Checked::Ip).ok_or_else(|| format!("{} is not a valid IP address", quote(raw)));
    }
    if let Some(c) = entry.chars().find(|c| c.is_whitespace() || c.is_control()) {
        let what = if c == ' ' { "a space".to_string() } else { format!("the character {c:?}") };
        return Err(format!("{} is not a valid host: it contains {what}", quote(raw)));
    }
    let host = normalize_host_cow(entry).ok_or_else(|| format!("{} is not a valid host name", quote(raw)))?;
    if let Some(problem) = host_problem(&host) {
        return Err(format!("{} is not a valid host: {problem}", quote(raw)));
    }
    let suffix = psl::suffix(host.as_bytes()).ok_or_else(|| format!("{} is not a valid host name", quote(raw)))?;
    if suffix.as_bytes() == host.as_bytes() {
        return match suffix.typ() {
            None => Ok(Checked::Skip(SkipReason::SingleLabel)),
            Some(psl::Type::Private) if skip_platforms => Ok(Checked::Skip(SkipReason::PlatformSuffix)),
            Some(typ) => {
                let whose = if typ == psl::Type::Icann { "a registry's" } else { "a hosting platform's" };
                Err(format!("{} is a public suffix ({whose}): it would block every site under it", quote(raw)))
            }
        };
    }
    Ok(Checked::Keep(host))
}

/// What makes a normalised name not a host, if anything.
fn host_problem(host: &str) -> Option<String> {
    if host.len() > 253 {
        return Some(format!("{} characters, over 253", host.len()));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Some("an empty label".to_string());
        }
        if label.len() > 63 {
            return Some(format!("a label of {} characters, over 63", label.len()));
        }
        if let Some(c) = label.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
            return Some(format!("the character {c:?} is not allowed in a host"));
        }
    }
    None
}

/// An entry in backquotes for a message, cut when long.
fn quote(raw: &str) -> String {
    match raw.char_indices().nth(MAX_QUOTED) {
        Some((at, _)) => format!("`{}…`", raw.get(..at).unwrap_or_default()),
        None => format!("`{raw}`"),
    }
}

/// The entries read so far.
#[derive(Default)]
struct Builder {
    entries: HashMap<Box<str>, u8>,
    read: usize,
    skipped: Vec<SkippedEntry>,
    /// Skip platform suffixes rather than refuse them (MetaMask configs).
    skip_platforms: bool,
}

impl Builder {
    /// Adds one entry as written to the list of `kind`.
    fn add(&mut self, raw: &str, kind: ListKind, line: impl FnOnce() -> Option<usize>) -> Result<(), String> {
        self.read += 1;
        if self.read > MAX_FEED_ENTRIES {
            return Err(format!("more than {MAX_FEED_ENTRIES} entries"));
        }
        let (host, bits) = match check_entry(raw, self.skip_platforms)? {
            Checked::Keep(host) => (host, kind.bit()),
            Checked::Ip(ip) => (Cow::Owned(ip), kind.bit() | IP_ENTRY),
            Checked::Skip(reason) => {
                self.skipped.push(SkippedEntry { line: line(), entry: raw.to_string(), reason });
                return Ok(());
            }
        };
        match self.entries.get_mut(&*host) {
            Some(sides) => *sides |= bits,
            None => {
                self.entries.insert(host.into(), bits);
            }
        }
        Ok(())
    }
}

/// Parses a plain-text list; `Err` is the line and the message.
fn parse_host_list(text: &str, kind: ListKind, builder: &mut Builder) -> Result<(), (usize, String)> {
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        for entry in line_entries(line).map_err(|m| (number, m))? {
            builder.add(&entry, kind, || Some(number)).map_err(|m| (number, m))?;
        }
    }
    Ok(())
}

/// The entries one line of a plain-text list holds, as written (a URL's host
/// as the URL parser gives it).
fn line_entries(line: &str) -> Result<Vec<Cow<'_, str>>, String> {
    let mut line = line.trim();
    if line.is_empty() || line.starts_with(['#', '!']) || line.starts_with("[Adblock") {
        return Ok(Vec::new());
    }
    // A comment after an entry starts at a `#` after whitespace (URLs keep
    // their `#fragment`).
    let comment = line
        .match_indices('#')
        .map(|(at, _)| at)
        .find(|&at| line.get(..at).is_some_and(|before| before.ends_with(char::is_whitespace)));
    if let Some(at) = comment {
        line = line.get(..at).unwrap_or_default().trim_end();
    }
    if let Some(rule) = line.strip_prefix("||") {
        let host = rule.strip_suffix("^|").or_else(|| rule.strip_suffix('^')).ok_or_else(|| {
            format!("{} is an Adblock rule other than `||host^` (options and paths are not read)", quote(line))
        })?;
        return Ok(vec![Cow::Borrowed(host)]);
    }
    if line.contains("://") {
        let url = url::Url::parse(line).map_err(|e| format!("{} is not a valid URL: {e}", quote(line)))?;
        return match url.host() {
            Some(url::Host::Domain(host)) => Ok(vec![Cow::Owned(host.to_string())]),
            Some(url::Host::Ipv4(ip)) => Ok(vec![Cow::Owned(ip.to_string())]),
            Some(url::Host::Ipv6(ip)) => Ok(vec![Cow::Owned(format!("[{ip}]"))]),
            None => Err(format!("{} is a URL without a host", quote(line))),
        };
    }
    let mut words = line.split_whitespace();
    let first = words.next().unwrap_or_default();
    let rest: Vec<Cow<'_, str>> = words.map(Cow::Borrowed).collect();
    if rest.is_empty() {
        return Ok(vec![Cow::Borrowed(first)]);
    }
    // A hosts-file line: an address (any, `fe80::1%lo0` too), then names.
    let address = first.split_once('%').map_or(first, |(ip, _zone)| ip);
    if address.parse::<IpAddr>().is_ok() {
        return Ok(rest);
    }
    Err(format!("{} is not a valid host: it contains a space", quote(line)))
}

/// Whether the text is JSON: an object, or an array (a line such as
/// `[Adblock Plus 2.0]` or `[2001:db8::1]` starts a plain-text list).
fn looks_like_json(text: &str) -> bool {
    let text = text.trim_start();
    if text.starts_with('{') {
        return true;
    }
    let Some(rest) = text.strip_prefix('[') else { return false };
    rest.trim_start().starts_with(['"', ']']) || serde_json::from_str::<IgnoredAny>(text).is_ok()
}

/// Parses a JSON feed; errors carry serde_json's line (for our own messages:
/// the line the offending entry ends on, which is the line it is on).
fn parse_json(text: &str, kind: ListKind, builder: &mut Builder) -> Result<FeedFormat, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut lines = LineCursor { text, offset: 0, line: 1 };
    let format = Document { kind, builder, lines: &mut lines }.deserialize(&mut de)?;
    de.end()?;
    Ok(format)
}

/// A refused JSON feed as a [`FeedError`].
fn json_error(name: &str, e: &serde_json::Error) -> FeedError {
    let full = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&position).unwrap_or(&full);
    let message = match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("invalid JSON: {message} (column {})", e.column())
        }
        _ => message.to_string(),
    };
    FeedError { source_name: name.to_string(), line: (e.line() > 0).then_some(e.line()), message }
}

/// Lines of the entries of a JSON text, found from where serde_json borrowed
/// them; the entries come in file order, so counting is linear overall.
struct LineCursor<'t> {
    text: &'t str,
    offset: usize,
    line: usize,
}

impl LineCursor<'_> {
    /// The line of `s` if it is a slice of the text at or after the cursor.
    fn line_of(&mut self, s: &str) -> Option<usize> {
        let at = (s.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        let passed = self.text.as_bytes().get(self.offset..at)?;
        self.line += passed.iter().filter(|&&b| b == b'\n').count();
        self.offset = at;
        Some(self.line)
    }
}

/// The whole JSON document: an array of hosts or a MetaMask config.
struct Document<'b, 't> {
    kind: ListKind,
    builder: &'b mut Builder,
    lines: &'b mut LineCursor<'t>,
}

impl<'de> DeserializeSeed<'de> for Document<'_, '_> {
    type Value = FeedFormat;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<FeedFormat, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Document<'_, '_> {
    type Value = FeedFormat;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of host names or a MetaMask config object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<FeedFormat, A::Error> {
        List { kind: self.kind, builder: self.builder, lines: self.lines }.visit_seq(seq)?;
        Ok(FeedFormat::JsonArray)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FeedFormat, A::Error> {
        // The published MetaMask lists have platform suffixes (see the module documentation).
        self.builder.skip_platforms = true;
        let mut lists = 0;
        while let Some(key) = map.next_key::<Cow<'_, str>>()? {
            let kind = match &*key {
                "blacklist" | "blocklist" => ListKind::Block,
                "whitelist" | "allowlist" => ListKind::Allow,
                "fuzzylist" => {
                    map.next_value::<Vec<IgnoredString>>()?;
                    continue;
                }
                "tolerance" | "version" => {
                    map.next_value::<u64>()?;
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            lists += 1;
            map.next_value_seed(List { kind, builder: &mut *self.builder, lines: &mut *self.lines })?;
        }
        if lists == 0 {
            return Err(de::Error::custom(
                "a JSON object without `blacklist`, `blocklist`, `whitelist` or `allowlist`: not a MetaMask config",
            ));
        }
        Ok(FeedFormat::MetaMask)
    }
}

/// A JSON string whose value is not needed (the `fuzzylist`).
struct IgnoredString;

impl<'de> de::Deserialize<'de> for IgnoredString {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IgnoredString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<IgnoredString, E> {
                Ok(IgnoredString)
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// One JSON array of hosts, added to the list of `kind`.
struct List<'b, 't> {
    kind: ListKind,
    builder: &'b mut Builder,
    lines: &'b mut LineCursor<'t>,
}

impl<'de> DeserializeSeed<'de> for List<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for List<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of host names")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Entry { kind: self.kind, builder: &mut *self.builder, lines: &mut *self.lines })?
            .is_some()
        {}
        Ok(())
    }
}

/// One JSON string of a list.
struct Entry<'b, 't> {
    kind: ListKind,
    builder: &'b mut Builder,
    lines: &'b mut LineCursor<'t>,
}

impl<'de> DeserializeSeed<'de> for Entry<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Entry<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a host name (a JSON string)")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        let lines = self.lines;
        self.builder.add(v, self.kind, || lines.line_of(v)).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        // Written with escapes: the string is a copy, its line unknown.
        self.builder.add(v, self.kind, || None).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(text: &str, kind: ListKind) -> Feed {
        match Feed::parse("t", text, kind) {
            Ok(feed) => feed,
            Err(e) => panic!("{e}"),
        }
    }

    fn refused(text: &str) -> FeedError {
        match Feed::parse("t", text, ListKind::Block) {
            Err(Error::Feed(e)) => e,
            other => panic!("not refused as a feed: {other:?}"),
        }
    }

    fn hit(feed: &Feed, host: &str) -> Option<(ListKind, String)> {
        feed.lookup(host).map(|h| (h.kind, h.entry.to_string()))
    }

    #[test]
    fn entries_are_normalised_and_checked() {
        let keep = |raw: &str| match check_entry(raw, false) {
            Ok(Checked::Keep(h)) => h.into_owned(),
            Ok(Checked::Ip(ip)) => ip,
            Ok(Checked::Skip(r)) => panic!("{raw}: skipped ({r:?})"),
            Err(e) => panic!("{raw}: {e}"),
        };
        assert_eq!(keep("Evil.Example."), "evil.example");
        assert_eq!(keep("*.evil.example"), "evil.example");
        assert_eq!(keep("bïnance.com"), "xn--bnance-iwa.com");
        assert_eq!(keep("metamask_loogii.godaddysites.com"), "metamask_loogii.godaddysites.com");
        assert_eq!(keep("193.3.19.52"), "193.3.19.52");
        assert_eq!(keep("2001:DB8:0:0::1"), "[2001:db8::1]");
        assert_eq!(keep("[2001:db8::1]"), "[2001:db8::1]");
        assert_eq!(keep("scam.github.io"), "scam.github.io");
        for (raw, reason) in [
            ("3commas-best", SkipReason::SingleLabel),
            ("localhost", SkipReason::SingleLabel),
            ("arbitrum-labs.pw,", SkipReason::TrailingComma),
        ] {
            assert!(matches!(check_entry(raw, false), Ok(Checked::Skip(r)) if r == reason), "{raw}");
        }
        for (raw, why) in [
            ("evil example.com", "a space"),
            ("evil/.com", "'/'"),
            ("evil..com", "empty label"),
            (&format!("{}.com", "a".repeat(64)), "over 63"),
            (&format!("{}.com", "abcdefghi.".repeat(26)), "over 253"),
            ("com", "public suffix"),
            ("github.io", "public suffix"),
            ("pages.dev", "public suffix"),
            ("co.uk", "public suffix"),
            ("*.github.io", "public suffix"),
            ("com,", "public suffix"),
            ("[::g]", "IP address"),
            ("", "not a valid host name"),
        ] {
            match check_entry(raw, false) {
                Err(message) => assert!(message.contains(why), "{raw}: {message}"),
                Ok(_) => panic!("{raw}: accepted"),
            }
        }
    }

    #[test]
    fn text_lines_give_hosts_hosts_file_names_adblock_rules_and_url_hosts() {
        let f = feed(
            "\u{feff}# a comment\n! another\n[Adblock Plus 2.0]\n\nevil.example # inline\r\n0.0.0.0 a.example b.example\n\
             127.0.0.1 localhost\n::1 ip6-localhost\n||c.example^\n||d.example^|\nhttps://E.example:8443/login#x\n\
             http://[2001:db8::1]/\n",
            ListKind::Block,
        );
        assert_eq!(f.format(), FeedFormat::HostList);
        assert_eq!(f.len(ListKind::Block), 7, "{f:?}");
        assert_eq!(f.len(ListKind::Allow), 0);
        assert_eq!(f.skipped(), 2);
        assert_eq!(f.skipped_entries()[0].line, Some(7));
        for host in ["evil.example", "a.example", "b.example", "c.example", "d.example", "e.example", "[2001:db8::1]"] {
            assert_eq!(hit(&f, host), Some((ListKind::Block, host.to_string())));
        }
        assert_eq!(line_entries("http://e.example/#frag").ok().map(|v| v.len()), Some(1));
    }

    #[test]
    fn text_lines_that_are_not_entries_are_refused_with_their_line() {
        for (text, line, needle) in [
            ("ok.example\nnot ok.example\n", 2, "a space"),
            ("ok.example\n\n||x.example^$third-party\n", 3, "Adblock rule"),
            ("https://\n", 1, "not a valid URL"),
            ("ok.example\r\ngithub.io\r\n", 2, "`github.io` is a public suffix"),
        ] {
            let e = refused(text);
            assert_eq!(e.line, Some(line), "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
            assert!(e.to_string().starts_with(&format!("t:{line}: ")), "{e}");
        }
    }

    #[test]
    fn lookup_walks_down_to_the_registrable_domain_and_no_further() {
        let f = feed("evil.com\nscam.github.io\n1.2.3.4\n", ListKind::Block);
        assert_eq!(hit(&f, "evil.com"), Some((ListKind::Block, "evil.com".into())));
        assert_eq!(hit(&f, "A.b.EVIL.com."), Some((ListKind::Block, "evil.com".into())));
        assert_eq!(hit(&f, "x.scam.github.io"), Some((ListKind::Block, "scam.github.io".into())));
        assert_eq!(hit(&f, "github.io"), None);
        assert_eq!(hit(&f, "other.github.io"), None);
        assert_eq!(hit(&f, "com"), None);
        assert_eq!(hit(&f, "notevil.com"), None);
        assert_eq!(hit(&f, "1.2.3.4"), Some((ListKind::Block, "1.2.3.4".into())));
        assert_eq!(hit(&f, "5.1.2.3.4"), None);
        assert_eq!(hit(&f, ""), None);
        let q = Query::new("a.b.scam.github.io").map(|q| q.candidates().map(str::to_string).collect::<Vec<_>>());
        assert_eq!(q, Some(vec!["a.b.scam.github.io".into(), "b.scam.github.io".into(), "scam.github.io".into()]));
    }

    #[test]
    fn allow_wins_within_a_feed_wherever_it_is_on_the_walk() {
        let f = feed(
            r#"{"blacklist": ["x.good.com", "both.com"], "whitelist": ["good.com", "both.com"]}"#,
            ListKind::Block,
        );
        assert_eq!(f.format(), FeedFormat::MetaMask);
        assert_eq!((f.len(ListKind::Block), f.len(ListKind::Allow)), (2, 2));
        assert_eq!(hit(&f, "x.good.com"), Some((ListKind::Allow, "good.com".into())));
        assert_eq!(hit(&f, "both.com"), Some((ListKind::Allow, "both.com".into())));
    }

    #[test]
    fn json_errors_carry_the_line_of_the_entry() {
        let e = refused("{\n \"version\": 2,\n \"blacklist\": [\n  \"ok.com\",\n  \"bad host.com\"\n ]\n}");
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("`bad host.com`"), "{e}");
        let e = refused("[\"ok.com\",\n 7]");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("expected a host name"), "{e}");
        let e = refused("{\"tolerance\": \"2\", \"blacklist\": []}");
        assert!(e.message.contains("invalid type"), "{e}");
        let e = refused("{\"fuzzylist\": [1]}");
        assert!(e.message.contains("expected a string"), "{e}");
        let e = refused("{\"other\": [1]}");
        assert!(e.message.contains("not a MetaMask config"), "{e}");
        let e = refused("[\"ok.com\",\n\n]");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.starts_with("invalid JSON"), "{e}");
        let e = refused("[1, 2]");
        assert!(e.message.contains("expected a host name"), "{e}");
        let e = refused("{\"blacklist\": \"evil.com\"}");
        assert!(e.message.contains("expected an array of host names"), "{e}");
    }

    #[test]
    fn json_skips_carry_their_line_when_borrowed() {
        let f = feed("[\n\"a.com\",\n\"b.com,\",\n\"\\u0062c\"\n]", ListKind::Allow);
        assert_eq!(f.format(), FeedFormat::JsonArray);
        assert_eq!(f.len(ListKind::Allow), 1);
        let lines: Vec<_> = f.skipped_entries().iter().map(|s| (s.line, s.entry.as_str(), s.reason)).collect();
        assert_eq!(lines, [(Some(3), "b.com,", SkipReason::TrailingComma), (None, "bc", SkipReason::SingleLabel)]);
    }

    #[test]
    fn bracketed_lines_are_text_unless_they_are_json() {
        assert_eq!(feed("[2001:db8::1]\n", ListKind::Block).format(), FeedFormat::HostList);
        assert_eq!(feed("  [ ]", ListKind::Block).format(), FeedFormat::JsonArray);
        assert_eq!(feed("", ListKind::Block).format(), FeedFormat::HostList);
    }

    #[test]
    fn platform_suffixes_are_skipped_in_metamask_configs_only() {
        let f = feed(r#"{"blacklist": ["evil.com", "github.io", "api3.eth.link"]}"#, ListKind::Block);
        assert_eq!(f.len(ListKind::Block), 1);
        let reasons: Vec<_> = f.skipped_entries().iter().map(|s| (s.entry.as_str(), s.reason)).collect();
        assert_eq!(reasons, [("github.io", SkipReason::PlatformSuffix), ("api3.eth.link", SkipReason::PlatformSuffix)]);
        assert!(refused(r#"{"blacklist": ["evil.com", "com"]}"#).message.contains("a registry's"));
        assert!(refused(r#"["evil.com", "github.io"]"#).message.contains("a hosting platform's"));
        assert!(refused("api3.eth.link").message.contains("a hosting platform's"));
    }

    #[test]
    fn versions_hash_the_bytes() {
        let a = feed("evil.com\n", ListKind::Block);
        assert_eq!(a.version().len(), "t@".len() + 12);
        assert!(a.version().starts_with("t@"));
        assert_ne!(a.version(), feed("evil.com\n\n", ListKind::Block).version());
    }

    #[test]
    fn too_many_entries_are_refused() {
        // The 2,000,000th entry is read, the next refused.
        let mut b = Builder { read: MAX_FEED_ENTRIES - 1, ..Builder::default() };
        assert!(b.add("a.com", ListKind::Block, || None).is_ok());
        assert!(b.add("b.com", ListKind::Block, || None).is_err_and(|m| m.contains("more than 2000000 entries")));
    }

    #[test]
    fn long_entries_are_cut_in_messages() {
        let e = refused(&format!("{} x", "a".repeat(500)));
        assert!(e.message.len() < 200, "{e}");
    }
}
