//! URLs and bare domains found in the raw text of a post.
//!
//! Scam posts rarely link cleanly: they write bare domains (`binance-support.xyz`),
//! defang links so that filters miss them (`hxxps[:]//example[.]com`), use full-width
//! letters (`ｂｉｎａｎｃｅ．ｃｏｍ`) or glue a link to Japanese prose without a space
//! (`こちら→https://bit.ly/abcに`). [`find_urls`] finds all of these on the raw text and
//! reports, for each, the byte range the poster actually wrote together with the
//! normalised URL and host that the look-alike check ([`super::lookalike`]) needs.
//!
//! E-mail addresses are deliberately left out: the contacts extractor owns them.

use std::net::Ipv4Addr;
use std::ops::Range;
use std::sync::OnceLock;

use linkify::{LinkFinder, LinkKind};

use super::scan::{BLOCK, for_each_flagged, shifted_rows};

/// One URL or bare domain found in a post (or one link target given to [`parse_link`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlHit {
    /// Byte range in the scanned text, on char boundaries, covering what the poster
    /// wrote: defang brackets and full-width characters included.
    pub range: Range<usize>,
    /// The refanged URL as serialised by `url::Url`; `http://` is prepended to bare
    /// domains, so this is always an absolute URL.
    pub url: String,
    /// Host in lowercase ASCII (punycode for IDNs), without a trailing dot. IPv6 hosts
    /// keep their brackets.
    pub host: String,
    /// The host as a reader sees it: punycode labels decoded to Unicode.
    pub host_unicode: String,
    /// Registrable domain (public suffix plus one label, ASCII form); `None` for IP
    /// addresses and hosts whose suffix is not on the public suffix list.
    pub registrable: Option<String>,
    /// The poster defanged the link (`hxxp://`, `example[.]com`, `example(.)com`,
    /// `example[dot]com`, `example dot com`, `hxxps[:]//`), which in a forum post is
    /// itself a sign that someone wanted a link to slip past filters.
    pub defanged: bool,
    /// The host is an internationalised domain name: a label starts with `xn--` or
    /// the written host has non-ASCII characters.
    pub idn: bool,
    /// The host is a general-purpose URL shortener, which hides the real target.
    pub shortener: bool,
    /// The poster wrote a scheme (`https://`, or a defanged `hxxps://`).
    pub explicit_scheme: bool,
}

/// Hosts of general-purpose URL shorteners (compared with the registrable domain, or
/// with the host when it has none).
const SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "bit.do",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "is.gd",
    "v.gd",
    "ow.ly",
    "cutt.ly",
    "rebrand.ly",
    "shorturl.at",
    "tiny.cc",
    "rb.gy",
    "s.id",
    "buff.ly",
    "lnkd.in",
    "t.ly",
    "bl.ink",
    "tr.im",
    "shorte.st",
    "adf.ly",
    "soo.gd",
    "clck.ru",
    "u.to",
    "x.co",
    "snip.ly",
    "short.io",
    "tiny.one",
    "surl.li",
    "shrtco.de",
    "kutt.it",
    "qrco.de",
    "urlz.fr",
    "dlvr.it",
    "trib.al",
];

/// Top-level domains that are also common file extensions. A bare `setup.py`,
/// `main.rs` or `notes.zip` in a post is a file name far more often than a host, so
/// hosts ending in these are only reported with an explicit scheme or a `www.` prefix.
const FILE_EXTENSION_TLDS: &[&str] = &["zip", "mov", "sh", "py", "rs", "md", "pl", "pm", "ps", "so", "cs", "sc"];

/// Schemes whose URLs have a network host worth checking. Anything else
/// (`javascript:`, `data:`, custom app schemes) is not a link to a site.
const ALLOWED_SCHEMES: &[&str] = &["http", "https", "ftp", "ws", "wss"];

/// Words that come before `dot` in ordinary prose ("the dot com bubble"), so that
/// `X dot com` is only refanged when `X` can plausibly be a domain label.
const DOT_WORD_STOPWORDS: &[&str] = &[
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "at", "is", "it", "this", "that", "with", "for", "by", "as",
    "my", "your", "our", "one", "big", "little", "small", "red", "blue", "green", "black", "white", "polka",
];

/// What a marker stands for (see [`MARKER_PATTERNS`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// `[.]`, `(.)`, `{.}`, `[dot]`, `(dot)`, `{dot}` between two label characters.
    BracketDot,
    /// ` dot ` between a label and a known top-level domain.
    WordDot,
    /// `hxxp` / `h**p` at the start of a word.
    Scheme,
    /// `[:]`, `(:)`, `{:}` before `//`.
    Colon,
    /// `[://]`, `(://)`.
    ColonSlashes,
    /// First two bytes of a full-width form (U+FF00..U+FF7F); not a defang marker,
    /// but mapped in the same pass so that one offset map serves both.
    FullWidth,
}

/// Patterns of the markers and what each one is.
const MARKER_PATTERNS: &[(&[u8], Marker)] = &[
    (b"[.]", Marker::BracketDot),
    (b"(.)", Marker::BracketDot),
    (b"{.}", Marker::BracketDot),
    (b"[dot]", Marker::BracketDot),
    (b"(dot)", Marker::BracketDot),
    (b"{dot}", Marker::BracketDot),
    (b" dot ", Marker::WordDot),
    (b"hxxp", Marker::Scheme),
    (b"h**p", Marker::Scheme),
    (b"[:]", Marker::Colon),
    (b"(:)", Marker::Colon),
    (b"{:}", Marker::Colon),
    (b"[://]", Marker::ColonSlashes),
    (b"(://)", Marker::ColonSlashes),
    (&[0xEF, 0xBC], Marker::FullWidth),
    (&[0xEF, 0xBD], Marker::FullWidth),
];

/// How many bytes past a block [`block_markers`] reads, so that ` dot ` and
/// `hxxp` are seen whole.
const MARKER_LOOKAHEAD: usize = 4;

/// The block test of [`for_each_flagged`] for defang markers and full-width
/// forms. Letters are compared with their ASCII case bit set.
#[inline]
fn block_markers(w: &[u8; BLOCK + MARKER_LOOKAHEAD]) -> u128 {
    let [b0, b1, b2, b3, b4] = shifted_rows::<{ MARKER_LOOKAHEAD + 1 }>(w);
    let mut hits = [0u8; BLOCK];
    for (k, hit) in hits.iter_mut().enumerate() {
        let b = b0[k];
        // Brackets open the bracketed markers; 0xEF leads the full-width forms.
        let single = (b == b'[') | (b == b'(') | (b == b'{') | (b == 0xEF);
        let word_dot = (b == b' ')
            & ((b1[k] | 0x20) == b'd')
            & ((b2[k] | 0x20) == b'o')
            & ((b3[k] | 0x20) == b't')
            & (b4[k] == b' ');
        let xx = ((b1[k] | 0x20) == b'x') & ((b2[k] | 0x20) == b'x');
        let stars = (b1[k] == b'*') & (b2[k] == b'*');
        let scheme = ((b | 0x20) == b'h') & (xx | stars) & ((b3[k] | 0x20) == b'p');
        *hit = u8::from(single | word_dot | scheme);
    }
    u128::from_le_bytes(hits)
}

/// The longest pattern of [`MARKER_PATTERNS`] matching at byte `at` (ASCII
/// letters in any case): its length and kind.
fn marker_at(bytes: &[u8], at: usize) -> Option<(usize, Marker)> {
    let rest = bytes.get(at..)?;
    MARKER_PATTERNS
        .iter()
        .filter(|(p, _)| rest.get(..p.len()).is_some_and(|w| w.eq_ignore_ascii_case(p)))
        .max_by_key(|(p, _)| p.len())
        .map(|&(p, kind)| (p.len(), kind))
}

/// Calls `f` with the markers of `text` as a leftmost-longest, non-overlapping
/// scan for [`MARKER_PATTERNS`] reports them: `(start, end, kind)` in text
/// order. Only positions [`block_markers`] flags are tried, which for most
/// posts are none.
fn for_each_marker(text: &str, mut f: impl FnMut(usize, usize, Marker)) {
    let bytes = text.as_bytes();
    let mut resume = 0;
    for_each_flagged(bytes, block_markers, |at| {
        if at < resume {
            return;
        }
        if let Some((len, kind)) = marker_at(bytes, at) {
            resume = at + len;
            f(at, at + len, kind);
        }
    });
}

/// The link finder is configured once; it is cheap, but there is no reason to redo it.
fn link_finder() -> &'static LinkFinder {
    static FINDER: OnceLock<LinkFinder> = OnceLock::new();
    FINDER.get_or_init(|| {
        let mut finder = LinkFinder::new();
        // E-mail kinds stay enabled so that linkify consumes `user@host.com` as an
        // address instead of reporting `host.com` as a bare domain; they are dropped later.
        finder.url_must_have_scheme(false);
        finder
    })
}

/// A refanged (and full-width-folded) copy of a text with a map back to the original.
struct View<'t> {
    /// The text that linkify scans.
    text: std::borrow::Cow<'t, str>,
    /// For each byte of `text`: the original range of the segment it came from.
    /// Empty when `text` is the original (identity map).
    map: Vec<(usize, usize)>,
    /// Original byte ranges of the defang markers that were replaced.
    defangs: Vec<Range<usize>>,
}

impl View<'_> {
    /// Original byte range of the view range `start..end` (`start < end`).
    fn original(&self, start: usize, end: usize) -> Range<usize> {
        if self.map.is_empty() {
            return start..end;
        }
        let s = self.map.get(start).map_or(0, |m| m.0);
        let e = end.checked_sub(1).and_then(|i| self.map.get(i)).map_or(s, |m| m.1);
        s..e.max(s)
    }
}

/// Whether `c` may sit inside a domain label for the purpose of refanging.
fn is_label_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-'
}

/// Builds the view of `text` that linkify scans. Only copies when a marker (or a
/// full-width form) is actually present.
fn build_view(text: &str) -> View<'_> {
    let identity = View { text: std::borrow::Cow::Borrowed(text), map: Vec::new(), defangs: Vec::new() };
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut map: Vec<(usize, usize)> = Vec::new();
    let mut defangs = Vec::new();
    let mut copied = 0usize; // original bytes up to here are already in `out`
    let mut changed = false;

    // Appends original text `copied..upto` unchanged (identity-mapped byte by byte).
    let copy_through = |out: &mut String, map: &mut Vec<(usize, usize)>, from: usize, upto: usize| {
        if let Some(s) = text.get(from..upto) {
            out.push_str(s);
            map.extend((from..upto).map(|i| (i, i + 1)));
        }
    };

    // Most posts have no marker, and then nothing is allocated.
    let mut markers = Vec::new();
    for_each_marker(text, |start, end, kind| markers.push((start, end, kind)));
    for (start, end, kind) in markers {
        if start < copied {
            continue;
        }
        let prev = text.get(..start).and_then(|s| s.chars().next_back());
        let next = text.get(end..).and_then(|s| s.chars().next());
        let replacement: Option<(String, usize, bool)> = match kind {
            Marker::BracketDot => (prev.is_some_and(is_label_char) && next.is_some_and(|c| c.is_alphanumeric()))
                .then(|| (".".to_string(), end, true)),
            Marker::WordDot => word_dot_applies(text, start, end).then(|| (".".to_string(), end, true)),
            Marker::Scheme => {
                let at_word_start = !prev.is_some_and(|c| c.is_ascii_alphanumeric());
                let follows = next.is_some_and(|c| matches!(c, 's' | 'S' | ':' | '[' | '(' | '{'));
                (at_word_start && follows).then(|| ("http".to_string(), end, true))
            }
            Marker::Colon => {
                text.get(end..).is_some_and(|rest| rest.starts_with("//")).then(|| (":".to_string(), end, true))
            }
            Marker::ColonSlashes => Some(("://".to_string(), end, true)),
            Marker::FullWidth => text.get(start..).and_then(|s| s.chars().next()).and_then(|c| {
                let cp = u32::from(c);
                // U+FF01..=U+FF5E are the full-width forms of ASCII `!`..=`~` (NFKC).
                if (0xFF01..=0xFF5E).contains(&cp) {
                    char::from_u32(cp - 0xFEE0).map(|a| (a.to_string(), start + c.len_utf8(), false))
                } else {
                    None
                }
            }),
        };
        let Some((rep, orig_end, is_defang)) = replacement else {
            continue;
        };
        if !changed {
            out.reserve(bytes.len());
            map.reserve(bytes.len());
            changed = true;
        }
        copy_through(&mut out, &mut map, copied, start);
        out.push_str(&rep);
        map.extend(std::iter::repeat_n((start, orig_end), rep.len()));
        if is_defang {
            defangs.push(start..orig_end);
        }
        copied = orig_end;
    }
    if !changed {
        return identity;
    }
    copy_through(&mut out, &mut map, copied, text.len());
    View { text: std::borrow::Cow::Owned(out), map, defangs }
}

/// Whether the ` dot ` at `start..end` joins two domain labels, as in
/// `binance dot com`: the word before is label-like and not a common prose word,
/// and the word after is a known top-level domain.
fn word_dot_applies(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).unwrap_or("");
    let left_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '-')
        .last()
        .map_or(start, |(i, _)| i);
    let left = before.get(left_start..).unwrap_or("");
    let after = text.get(end..).unwrap_or("");
    let right_len =
        after.char_indices().take_while(|(_, c)| c.is_ascii_alphanumeric()).last().map_or(0, |(i, c)| i + c.len_utf8());
    let right = after.get(..right_len).unwrap_or("");
    if left.is_empty() || right.len() < 2 || right.len() > 24 {
        return false;
    }
    let left_lower = left.to_ascii_lowercase();
    if DOT_WORD_STOPWORDS.contains(&left_lower.as_str()) {
        return false;
    }
    let right_lower = right.to_ascii_lowercase();
    psl::suffix(right_lower.as_bytes()).is_some_and(|s| s.is_known())
}

/// Characters that never belong to a URL a poster meant: CJK and general punctuation,
/// arrows, symbols, emoji and the full-width forms left after folding. They end a link.
fn is_hard_terminator(c: char) -> bool {
    // Links are mostly ASCII, which none of the ranges below holds.
    if c < '\u{A0}' {
        return false;
    }
    matches!(u32::from(c),
        0x00A0 | 0x00AB | 0x00BB
        | 0x2000..=0x206F      // general punctuation: “ ” ‘ ’ … – — and invisible spaces
        | 0x2190..=0x21FF      // arrows
        | 0x2300..=0x23FF      // misc technical
        | 0x2500..=0x27BF      // box drawing, shapes, misc symbols, dingbats
        | 0x2B00..=0x2BFF      // misc symbols and arrows
        | 0x3000..=0x303F      // CJK symbols and punctuation: 、。「」【】〜
        | 0xFE30..=0xFE4F      // CJK compatibility forms
        | 0xFF00..=0xFFEF      // half/full-width forms not folded to ASCII
        | 0x1F000..=0x1FAFF) // emoji and pictographs
}

/// CJK letters: legitimate in an all-CJK IDN label (`日本語.jp`), but glued to ASCII
/// or in a path they are the prose around the link.
fn is_cjk_letter(c: char) -> bool {
    if c < '\u{1100}' {
        return false;
    }
    matches!(u32::from(c),
        0x1100..=0x11FF | 0x3040..=0x30FF | 0x3130..=0x318F | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// Length of the scheme prefix including `://` when `link` starts with one.
fn scheme_prefix_len(link: &str) -> Option<usize> {
    // The scheme is a letter, then letters, digits, `+`, `-`, `.`; `:` cannot be
    // one of them, so the first `://` can only start at the first byte outside
    // that set, and it does or the link has no scheme prefix. One byte loop
    // instead of a substring search, for every link.
    let b = link.as_bytes();
    let idx = b.iter().position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))?;
    (b.first().is_some_and(u8::is_ascii_alphabetic) && b.get(idx..idx + 3) == Some(b"://")).then_some(idx + 3)
}

/// Narrows a link found by linkify (relative `start..end` in `link`) to what the
/// poster meant, dropping CJK prose and punctuation glued to it.
fn trim_link(link: &str, bare: bool) -> Range<usize> {
    let host_start = if bare { 0 } else { scheme_prefix_len(link).unwrap_or(0) };
    let mut start = 0usize;
    let mut end = link.len();
    let host_end =
        link.get(host_start..).and_then(|rest| rest.find(['/', '?', '#'])).map_or(link.len(), |i| host_start + i);

    // Host: walk label by label.
    let mut label_start = host_start;
    let mut first_label = true;
    let mut cut = None;
    let host = link.get(host_start..host_end).unwrap_or("");
    for label in host.split('.') {
        let mut seen_ascii = false;
        let mut cjk_prefix_end = None;
        for (i, c) in label.char_indices() {
            let abs = label_start + i;
            if is_hard_terminator(c) {
                cut = Some(abs);
                break;
            }
            if c.is_ascii_alphanumeric() {
                seen_ascii = true;
            } else if is_cjk_letter(c) {
                if seen_ascii {
                    cut = Some(abs);
                    break;
                }
                cjk_prefix_end = Some(abs + c.len_utf8());
            }
        }
        if cut.is_some() {
            break;
        }
        // `こちらbinance.com`: the CJK run before the ASCII label is prose.
        if bare
            && first_label
            && seen_ascii
            && let Some(p) = cjk_prefix_end
        {
            start = p;
        }
        first_label = false;
        label_start += label.len() + 1;
    }
    if let Some(c) = cut {
        end = c;
    } else if let Some(rest) = link.get(host_end..) {
        // Path, query, fragment: any CJK letter or hard terminator ends the link.
        if let Some(i) = rest.find(|c: char| is_hard_terminator(c) || is_cjk_letter(c)) {
            end = host_end + i;
        }
    }
    // Punctuation left dangling by the cut (`…/abc.に` → `…/abc`).
    let mut s = link.get(start..end).unwrap_or("");
    loop {
        let trimmed = s.trim_end_matches(['.', ',', ':', ';', '!', '?', '\'', '"', '*']);
        let unbalanced = |open: char, close: char| {
            trimmed.ends_with(close) && trimmed.matches(open).count() < trimmed.matches(close).count()
        };
        let trimmed =
            if unbalanced('(', ')') || unbalanced('[', ']') { &trimmed[..trimmed.len() - 1] } else { trimmed };
        if trimmed.len() == s.len() {
            break;
        }
        s = trimmed;
    }
    start..start + s.len()
}

/// Registrable domain of `host` (public suffix plus one label, ASCII form), or `None`
/// for IP addresses, hosts that are themselves a public suffix, and hosts whose suffix
/// is not on the public suffix list.
///
/// `host` may be in Unicode or upper case; it is normalised to lowercase ASCII first.
pub fn registrable_domain(host: &str) -> Option<String> {
    let host = normalize_host_cow(host)?;
    if is_ip_literal(&host) {
        return None;
    }
    let domain = psl::domain(host.as_bytes())?;
    if !domain.suffix().is_known() {
        return None;
    }
    // The domain is the tail of `host`; slicing it there skips UTF-8 validation.
    let d = domain.as_bytes();
    match host.get(host.len().saturating_sub(d.len())..) {
        Some(tail) if tail.as_bytes() == d => Some(tail.to_string()),
        _ => std::str::from_utf8(d).ok().map(str::to_string),
    }
}

/// Lowercase ASCII form of a host without a trailing dot; `None` when it cannot be
/// converted (IDNA errors) or is empty.
pub(crate) fn normalize_host(host: &str) -> Option<String> {
    normalize_host_cow(host).map(std::borrow::Cow::into_owned)
}

/// [`normalize_host`] without a copy when `host` is already in that form, as
/// the hosts of parsed URLs are.
pub(crate) fn normalize_host_cow(host: &str) -> Option<std::borrow::Cow<'_, str>> {
    // The usual host, already lowercase ASCII with nothing to trim, in one pass.
    if !host.is_empty()
        && !host.ends_with('.')
        && host.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.'))
    {
        return Some(std::borrow::Cow::Borrowed(host));
    }
    let trimmed = host.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.is_ascii() {
        if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
            return Some(std::borrow::Cow::Owned(trimmed.to_ascii_lowercase()));
        }
        return Some(std::borrow::Cow::Borrowed(trimmed));
    }
    idna::domain_to_ascii(trimmed).ok().filter(|h| !h.is_empty()).map(std::borrow::Cow::Owned)
}

/// Whether a normalised host is an IP address: bracketed (IPv6 in a URL) or
/// parsing as [`std::net::IpAddr`]. Only hex digits, `.` and `:` can make up
/// the latter, so names are told apart without running the parser.
pub(crate) fn is_ip_literal(host: &str) -> bool {
    host.starts_with('[')
        || (host.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
            && host.parse::<std::net::IpAddr>().is_ok())
}

/// Whether the text form of a bare host is a dotted-quad IPv4 address.
fn is_dotted_quad(host: &str) -> bool {
    host.split('.').count() == 4 && host.parse::<Ipv4Addr>().is_ok()
}

/// Turns the (refanged) link text into a hit, or `None` when it is not a link to a
/// network host or, for bare domains, looks like prose, a file name or a version.
///
/// `link` is the refanged text as found (scheme optional); `range` is already in
/// original coordinates.
fn make_hit(link: &str, explicit_scheme: bool, range: Range<usize>, defanged: bool) -> Option<UrlHit> {
    if link.is_empty() {
        return None;
    }
    let written_host = written_host(link, explicit_scheme);
    if !explicit_scheme && written_host.is_ascii() && !written_host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // Cheap rejection before URL parsing and IDNA: prose like `time.Hello` or
        // `node.js` ends in something that is not a public suffix.
        let tld = written_host.trim_end_matches('.').rsplit('.').next().unwrap_or("");
        // Lowercased on the stack: top-level domains are short.
        let mut buf = [0u8; 32];
        let known = match buf.get_mut(..tld.len()) {
            Some(lower) => {
                lower.copy_from_slice(tld.as_bytes());
                lower.make_ascii_lowercase();
                psl::suffix(lower).is_some_and(|s| s.is_known())
            }
            None => psl::suffix(tld.to_ascii_lowercase().as_bytes()).is_some_and(|s| s.is_known()),
        };
        if !known {
            return None;
        }
    }
    let (url, host, is_ip) = match simple_http_url(link, explicit_scheme) {
        Some((url, host)) => {
            let host = url.get(host).unwrap_or_default().to_string();
            (url, host, false)
        }
        None => {
            let absolute;
            let to_parse = if explicit_scheme {
                link
            } else {
                absolute = format!("http://{link}");
                absolute.as_str()
            };
            let parsed = url::Url::parse(to_parse).ok()?;
            if !ALLOWED_SCHEMES.contains(&parsed.scheme()) {
                return None;
            }
            let host_raw = parsed.host_str()?;
            let host = host_raw.trim_end_matches('.').to_ascii_lowercase();
            if host.is_empty() {
                return None;
            }
            let is_ip = matches!(parsed.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
            // The serialisation itself, as `to_string` would format it, without formatting.
            (String::from(parsed), host, is_ip)
        }
    };

    if !explicit_scheme {
        if is_ip {
            // `1.2.3` parses as an IPv4 address (1.2.0.3) and `1.2.3.4` may be a
            // version: a bare IP only counts as dotted-quad followed by a port or path.
            let after = link.get(written_host.len()..).unwrap_or("");
            if !is_dotted_quad(written_host) || !(after.starts_with('/') || after.starts_with(':')) {
                return None;
            }
        } else if !bare_domain_plausible(&host, written_host) {
            return None;
        }
    }

    let registrable = if is_ip { None } else { registrable_domain(&host) };
    // A label starts with `xn--`: at the start or after a dot (bytes, not a
    // split into labels, which costs a searcher per label).
    let punycode = !is_ip && (host.starts_with("xn--") || host.as_bytes().windows(5).any(|w| w == b".xn--"));
    let host_unicode = if punycode {
        // Errors only mark labels that are not valid IDNA; the decoded form is still
        // what a reader would be shown, so it is kept.
        let (unicode, _errors) = idna::domain_to_unicode(&host);
        unicode
    } else {
        host.clone()
    };
    let idn = punycode || !written_host.is_ascii();
    let short_key = registrable.as_deref().unwrap_or(&host);
    let shortener = SHORTENERS.contains(&short_key);
    Some(UrlHit { range, url, host, host_unicode, registrable, defanged, idn, shortener, explicit_scheme })
}

/// What `url::Url::parse` gives for the commonest links, without the parser:
/// the serialisation and the host's range in it, for `http://` or `https://`
/// (or a bare link, read with `http://`) followed by a host and an optional
/// path that the parser copies unchanged. `None` for anything else, which then
/// goes to the parser.
///
/// The host must be lowercase labels that the URL standard's IDNA step passes
/// through as they are (a letter, then letters, digits and inner hyphens, no
/// `--` at the third position, so no `xn--`); a last label starting with a
/// letter is not an IPv4 number. The path must not need percent-encoding and
/// hold no `.`/`..` segment, `%` (`%2e`), or `//`; no port, user info, query
/// or fragment. The parser then only adds `/` for an empty path.
fn simple_http_url(link: &str, explicit_scheme: bool) -> Option<(String, Range<usize>)> {
    let (scheme, rest) = if !explicit_scheme {
        ("http://", link)
    } else if let Some(rest) = link.strip_prefix("https://") {
        ("https://", rest)
    } else {
        ("http://", link.strip_prefix("http://")?)
    };
    let rb = rest.as_bytes();
    let host_end = rb.iter().position(|&b| b == b'/').unwrap_or(rb.len());
    let (host, path) = rb.split_at(host_end);
    let passthrough_label = |label: &[u8]| {
        matches!(label.first(), Some(b'a'..=b'z'))
            && label.iter().all(|&b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
            && label.last() != Some(&b'-')
            && label.get(2..4) != Some(b"--")
    };
    if !host.split(|&b| b == b'.').all(passthrough_label) {
        return None;
    }
    // One pass over the path: allowed bytes, no `//`, no `.` or `..` segment.
    let dot_segment = |seg: &[u8]| seg == b"." || seg == b"..";
    let mut segment_start = 0;
    for (i, &b) in path.iter().enumerate() {
        let allowed = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
            );
        if !allowed {
            return None;
        }
        if b == b'/' {
            let segment = path.get(segment_start..i).unwrap_or_default();
            // The path starts with `/`, whose empty segment is the only one allowed.
            if (i > 0 && segment.is_empty()) || dot_segment(segment) {
                return None;
            }
            segment_start = i + 1;
        }
    }
    if dot_segment(path.get(segment_start..).unwrap_or_default()) {
        return None;
    }
    let mut url = String::with_capacity(scheme.len() + rest.len() + 1);
    url.push_str(scheme);
    url.push_str(rest);
    if path.is_empty() {
        url.push('/');
    }
    Some((url, scheme.len()..scheme.len() + host.len()))
}

/// The host as written in `link` (after the scheme and any user info, before the
/// port, path, query or fragment).
fn written_host(link: &str, explicit_scheme: bool) -> &str {
    let rest = if explicit_scheme { scheme_prefix_len(link).and_then(|p| link.get(p..)).unwrap_or(link) } else { link };
    // The delimiters are ASCII, so byte positions are char boundaries; byte
    // loops avoid the char-pattern searchers.
    let rb = rest.as_bytes();
    let authority_end = rb.iter().position(|b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(rb.len());
    let authority = rest.get(..authority_end).unwrap_or(rest);
    let host_part = authority
        .as_bytes()
        .iter()
        .rposition(|&b| b == b'@')
        .and_then(|at| authority.get(at + 1..))
        .unwrap_or(authority);
    let port_start = host_part.as_bytes().iter().rposition(|&b| b == b':').filter(|_| !host_part.starts_with('['));
    port_start.and_then(|p| host_part.get(..p)).unwrap_or(host_part)
}

/// Filters bare (scheme-less) domains: the suffix must be a known public suffix with a
/// registrable label, file-extension TLDs need `www.`, and `word.It` (a missing space
/// after a full stop) is prose.
fn bare_domain_plausible(host: &str, written: &str) -> bool {
    let Some(domain) = psl::domain(host.as_bytes()) else {
        return false;
    };
    if !domain.suffix().is_known() {
        return false;
    }
    let tld = host.rsplit('.').next().unwrap_or("");
    if FILE_EXTENSION_TLDS.contains(&tld) && !host.starts_with("www.") {
        return false;
    }
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    // "I did it.It was fine": a capitalised TLD right after an all-lowercase label.
    let mut labels = written.trim_end_matches('.').rsplit('.');
    if let (Some(last), Some(prev)) = (labels.next(), labels.next()) {
        let mut chars = last.chars();
        let capitalised = chars.next().is_some_and(|c| c.is_uppercase()) && chars.all(|c| !c.is_uppercase());
        if capitalised && !prev.chars().any(char::is_uppercase) {
            return false;
        }
    }
    true
}

/// Finds URLs and bare domains in the raw text of a post.
///
/// Handles defanged links (`hxxps[:]//example[.]com`, `example(dot)com`,
/// `example dot com`), full-width forms (`ｂｉｎａｎｃｅ．ｃｏｍ`), IDNs, and links glued
/// to CJK prose. E-mail addresses are not reported. Bare domains are reported only
/// when their suffix is a known public suffix and they do not look like a file name,
/// a version number or a missing space after a full stop.
///
/// Hits come in text order; each `range` is a char-aligned byte range of `text`.
pub fn find_urls(text: &str) -> Vec<UrlHit> {
    // Cheap exit: every link needs a dot, an ASCII one or a marker standing for one.
    let bytes = text.as_bytes();
    let has_dot = bytes.contains(&b'.');
    if !has_dot && !contains_dot_substitute(bytes) {
        return Vec::new();
    }
    let view = build_view(text);
    let vtext: &str = &view.text;
    let mut hits = Vec::new();
    // linkify lets IRI characters run on, so `「https://t.co/x」と、https://y.jp/` is one
    // "link" to it; after cutting it at `」` the rest is scanned again for further links.
    // Rescans are capped so that adversarial input stays linear.
    let mut rescans_left = 32u32;
    let mut base = 0usize;
    'scan: while let Some(slice) = vtext.get(base..) {
        for link in link_finder().links(slice) {
            if link.kind() != &LinkKind::Url {
                continue;
            }
            let raw = link.as_str();
            let explicit_scheme = scheme_prefix_len(raw).is_some();
            let rel = trim_link(raw, !explicit_scheme);
            let vstart = base + link.start() + rel.start;
            let vend = base + link.start() + rel.end;
            if let Some(s) = raw.get(rel.clone()).filter(|s| s.contains('.')) {
                let range = view.original(vstart, vend);
                let defanged = view.defangs.iter().any(|d| d.start < range.end && d.end > range.start);
                if let Some(hit) = make_hit(s, explicit_scheme, range, defanged) {
                    hits.push(hit);
                }
            }
            if rel.end < raw.len() && rescans_left > 0 {
                rescans_left -= 1;
                let step = raw.chars().next().map_or(1, char::len_utf8);
                base += link.start() + rel.end.max(step);
                continue 'scan;
            }
        }
        break;
    }
    hits
}

/// Whether the text can hold a dot written some other way: a full-width `．`
/// (EF BC 8E) or the word `dot` (in any case) used as a defang marker.
fn contains_dot_substitute(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == [0xEF, 0xBC, 0x8E] || w.eq_ignore_ascii_case(b"dot"))
}

/// Parses a link target (an HTML `href`, a markdown link destination) as written.
///
/// Refangs and folds full-width forms like [`find_urls`]; strips surrounding
/// whitespace and `<…>`. Relative targets (`/path`, `#frag`, `page.html`) and
/// non-network schemes (`mailto:`, `javascript:`) give `None`. A scheme-less target
/// is treated as a bare domain and filtered the same way as in [`find_urls`]. The
/// returned `range` is `0..href.len()`.
pub fn parse_link(href: &str) -> Option<UrlHit> {
    let trimmed = href.trim();
    let trimmed = trimmed.strip_prefix('<').and_then(|t| t.strip_suffix('>')).unwrap_or(trimmed).trim();
    if trimmed.is_empty() {
        return None;
    }
    let view = build_view(trimmed);
    let defanged = !view.defangs.is_empty();
    let s: &str = &view.text;
    let range = 0..href.len();
    if let Some(rest) = s.strip_prefix("//") {
        // Protocol-relative: the host is there, the scheme is not.
        return make_hit(rest, false, range, defanged);
    }
    if scheme_prefix_len(s).is_some() {
        return make_hit(s, true, range, defanged);
    }
    if s.starts_with(['/', '?', '#', '.']) {
        return None;
    }
    // `mailto:x@y`, `javascript:…`, `tel:…`: a scheme without `//`.
    if let Some((scheme, _)) = s.split_once(':') {
        let looks_like_scheme = !scheme.is_empty()
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !scheme.contains('.');
        if looks_like_scheme {
            return None;
        }
    }
    if s.contains('@') && !s.contains('/') {
        // A bare e-mail address, which the contacts extractor owns.
        return None;
    }
    make_hit(s, false, range, defanged)
}

// Input -> output cases: tests/data/detectors/urls.toml, run by tests/detectors.rs.
#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic random strings rich in marker fragments.
    fn marker_heavy_strings(seed: u64, count: usize) -> Vec<String> {
        const PIECES: &[&str] = &[
            "[", "]", "(", ")", "{", "}", ".", ":", "//", "/", " ", "dot", "DoT", "d", "o", "t", "h", "H", "x", "X",
            "p", "P", "*", "**", "hxxp", "h**p", "s", "a", "é", "ｂ", "．", "｡", "\u{FF00}", "\u{FF5F}", "\u{FFEF}",
            "ﾃ", "\u{EF}", "\u{3000}", "com", "-", "1",
        ];
        crate::signals::test_strings::strings_from(PIECES, seed, count, 50)
    }

    #[test]
    fn markers_match_a_leftmost_longest_automaton() {
        use aho_corasick::{AhoCorasickBuilder, MatchKind};
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(MARKER_PATTERNS.iter().map(|(p, _)| *p))
            .expect("automaton");
        let mut texts = marker_heavy_strings(0xdefa_46ed, 30_000);
        texts.push("visit evil(.)com or hxxps[:]//x[dot]y dot com and ｂｉｎａｎｃｅ．ｃｏｍ".repeat(3));
        for t in &texts {
            let mut ours: Vec<(usize, usize, u8)> = Vec::new();
            for_each_marker(t, |s, e, k| ours.push((s, e, k as u8)));
            let reference: Vec<(usize, usize, u8)> = ac
                .find_iter(t.as_str())
                .map(|m| (m.start(), m.end(), MARKER_PATTERNS[m.pattern().as_usize()].1 as u8))
                .collect();
            assert_eq!(ours, reference, "{t:?}");
        }
    }

    #[test]
    fn simple_urls_serialise_like_the_parser() {
        const HOSTS: &[&str] = &[
            "a",
            "ab",
            "abc",
            "x1",
            "1x",
            "a-b",
            "a-",
            "-a",
            "ab--c",
            "abc--d",
            "xn--bcher-kva",
            "xn--",
            "a..b",
            "",
            ".",
            "A",
            "b1nance",
            "0x1",
            "123",
            "0",
            "ex",
            "com",
            "io",
            "co",
            "uk",
            "e9",
            "fo0",
            "\u{e9}",
        ];
        const PATH: &[&str] = &[
            "", "/", "/a", "/a/", "/.", "/..", "/./", "/../", "/a/./b", "/a/../b", "//", "/a//b", "/%2e", "/%2E/",
            "/a%20b", "/~x", "/a?b", "/a#b", "/a b", "/a\\b", "/\"", "/<", "/`", "/{", "/}", "/|", "/^", "/[", "/'",
            "/(x)", "/*", "/+", "/,;=", "/:@", "/$&!", "/é", "/\t", ":80", ":80/a", "@x", "?q", "#f", "\\a", "/a.b",
            "/.a", "/a.", "/...",
        ];
        let mut x: u64 = 0x0123_4567_89ab_cdef;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut fast = 0;
        for _ in 0..60_000 {
            let labels = 1 + next() % 4;
            let host: Vec<&str> = (0..labels).map(|_| HOSTS[(next() % HOSTS.len() as u64) as usize]).collect();
            let mut path = String::new();
            for _ in 0..next() % 3 {
                path.push_str(PATH[(next() % PATH.len() as u64) as usize]);
            }
            let rest = format!("{}{path}", host.join("."));
            for (link, explicit) in [
                (format!("https://{rest}"), true),
                (format!("http://{rest}"), true),
                (format!("HTTP://{rest}"), true),
                (rest.clone(), false),
            ] {
                let Some((url, host)) = simple_http_url(&link, explicit) else {
                    continue;
                };
                fast += 1;
                let to_parse = if explicit { link.clone() } else { format!("http://{link}") };
                let parsed = url::Url::parse(&to_parse).expect("parses");
                assert_eq!(url, parsed.as_str(), "{link:?}");
                assert_eq!(Some(&url[host]), parsed.host_str(), "{link:?}");
                assert!(matches!(parsed.host(), Some(url::Host::Domain(_))), "{link:?}");
            }
        }
        assert!(fast > 10_000, "{fast}");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for t in [
            "[.]",
            "(.)",
            "hxxp",
            "a[.]",
            "[.]b",
            " dot ",
            "x dot",
            "．",
            "ｈｔｔｐｓ：／／ａ．ｃｏ",
            "http://",
            "http://.",
            "a.b.c.d.e.f",
            "\u{FF00}\u{FF5F}.com",
            "h**p[:]//[::1]/",
            "🔥.ws",
            "xn--.com",
            "http://[",
            "a..com",
            "-.com",
            "http://a.com:99999",
        ] {
            let _ = find_urls(t);
            let _ = parse_link(t);
        }
    }
}
