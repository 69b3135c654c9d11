//! Off-platform contact details: e-mail, phone, messenger handles and links.
//!
//! Scams move victims off the forum ("DM me on Telegram @xyz_support"), so
//! contact details are a strong signal in context. Reads the raw text because
//! handles and links are case- and punctuation-sensitive. Ordinary forum
//! `@mentions`, prices, dates and long hex strings are deliberately left out:
//! they are everywhere in normal posts.

use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use super::scan::{BLOCK, for_each_flagged, shifted_rows};

/// Which channel a contact detail belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactKind {
    /// An e-mail address.
    Email,
    /// A phone number not tied to a specific messenger.
    Phone,
    /// A `t.me` link or a Telegram `@handle`.
    Telegram,
    /// A `wa.me` link or a phone number introduced as WhatsApp.
    WhatsApp,
    /// A `line.me` / `lin.ee` link or a "LINE ID".
    Line,
    /// A Discord invite link.
    Discord,
    /// A `signal.me` / `signal.group` link.
    Signal,
}

impl ContactKind {
    /// Stable name for rules and explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Phone => "phone",
            ContactKind::Telegram => "telegram",
            ContactKind::WhatsApp => "whatsapp",
            ContactKind::Line => "line",
            ContactKind::Discord => "discord",
            ContactKind::Signal => "signal",
        }
    }
}

/// One contact detail found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactHit {
    /// Channel of the contact.
    pub kind: ContactKind,
    /// Byte range of the contact itself (not its label, e.g. the number
    /// after "WhatsApp", the id after "LINE ID:").
    pub range: Range<usize>,
    /// The contact as written, for display in explanations.
    pub value: String,
}

/// Finds contact details, in text order, without overlaps.
pub fn find_contacts(text: &str) -> Vec<ContactHit> {
    let bytes = text.as_bytes();
    let mut found: Vec<(Range<usize>, u8, ContactKind)> = Vec::new();
    let triggers = Triggers::scan(bytes);
    if triggers.link {
        links(text, &mut found);
    }
    if triggers.at {
        emails(text, &mut found);
        handles(text, &mut found);
    }
    if triggers.phone && may_hold_phone(bytes) {
        phones(text, &mut found);
    }
    if triggers.line {
        line_ids(text, &mut found);
    }

    // Earlier start wins; at the same start the more specific kind wins.
    found.sort_by_key(|(r, prio, _)| (r.start, *prio, usize::MAX - r.end));
    let mut hits: Vec<ContactHit> = Vec::with_capacity(found.len());
    for (range, _, kind) in found {
        if hits.last().is_some_and(|h| h.range.end > range.start) {
            continue;
        }
        if let Some(value) = text.get(range.clone()) {
            hits.push(ContactHit { kind, value: value.to_string(), range });
        }
    }
    hits
}

/// Which extractors can find anything, from one pass over the bytes. Each
/// flag is a necessary condition for its regexes to match at all, so posts
/// without contact details (most of them) run no regex.
#[derive(Default)]
struct Triggers {
    /// A contact host ends just before a `/` (see [`LINK_HOST_ENDS`]).
    link: bool,
    /// An `@`, which e-mail addresses and handles need.
    at: bool,
    /// A digit followed by six more units of the phone pattern.
    phone: bool,
    /// `line` in any case, or `ライン`, which the LINE ID pattern starts with.
    line: bool,
    /// Digits before this byte need no phone check: a failed check from an
    /// earlier digit walked over them, and from any of them it would have
    /// followed the same path to the same dead end.
    phone_checked_to: usize,
}

/// How many bytes past a block [`block_triggers`] reads, so that `line` and
/// `ラ` are seen whole.
const LOOKAHEAD: usize = 3;

/// The block test of [`for_each_flagged`] for bytes that may start a trigger.
#[inline]
fn block_triggers(w: &[u8; BLOCK + LOOKAHEAD]) -> u128 {
    let [b0, b1, b2, b3] = shifted_rows::<{ LOOKAHEAD + 1 }>(w);
    let mut hits = [0u8; BLOCK];
    for (k, hit) in hits.iter_mut().enumerate() {
        let b = b0[k];
        let single = (b == b'/') | (b == b'@') | (b.wrapping_sub(b'0') < 10) | (b == 0xEF);
        let line =
            ((b | 0x20) == b'l') & ((b1[k] | 0x20) == b'i') & ((b2[k] | 0x20) == b'n') & ((b3[k] | 0x20) == b'e');
        // `ラ` (E3 83 A9) starts `ライン`.
        let ra = (b == 0xE3) & (b1[k] == 0x83) & (b2[k] == 0xA9);
        *hit = u8::from(single | line | ra);
    }
    u128::from_le_bytes(hits)
}

impl Triggers {
    fn scan(bytes: &[u8]) -> Triggers {
        let mut t = Triggers::default();
        for_each_flagged(bytes, block_triggers, |i| t.check(bytes, i));
        t
    }

    /// Sets the flag for a trigger starting at byte `i`, if there is one.
    fn check(&mut self, bytes: &[u8], i: usize) {
        match bytes.get(i) {
            Some(b'/') => self.link = self.link || link_host_before(bytes, i),
            Some(b'@') => self.at = true,
            Some(b'l' | b'L') => {
                self.line = self.line || bytes.get(i + 1..i + 4).is_some_and(|w| w.eq_ignore_ascii_case(b"ine"));
            }
            Some(0xE3) => self.line = self.line || bytes.get(i..).is_some_and(|r| r.starts_with("ライン".as_bytes())),
            Some(b'0'..=b'9' | 0xEF) if !self.phone && i >= self.phone_checked_to => match phone_units_follow(bytes, i)
            {
                Ok(()) => self.phone = true,
                Err(end) => self.phone_checked_to = end,
            },
            _ => {}
        }
    }
}

// Priorities for overlap resolution: lower wins.
const PRIO_LINK: u8 = 0;
const PRIO_EMAIL: u8 = 1;
const PRIO_WHATSAPP: u8 = 2;
const PRIO_LINE_ID: u8 = 3;
const PRIO_HANDLE: u8 = 4;
const PRIO_PHONE: u8 = 5;

/// How far a "telegram" mention reaches to make an `@handle` a contact.
const TELEGRAM_REACH: usize = 60;
/// How far after "WhatsApp" a phone number may start.
const WHATSAPP_REACH: usize = 40;

fn regex(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

// ---------------------------------------------------------------- context

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Telegram,
    WhatsApp,
}

const CTX_WORDS: &[(&str, Ctx)] = &[
    ("telegram", Ctx::Telegram),
    ("tg", Ctx::Telegram),
    ("テレグラム", Ctx::Telegram),
    ("ﾃﾚｸﾞﾗﾑ", Ctx::Telegram),
    ("whatsapp", Ctx::WhatsApp),
    ("whats app", Ctx::WhatsApp),
    ("what's app", Ctx::WhatsApp),
    ("ワッツアップ", Ctx::WhatsApp),
];

/// Whether a label word of `kind` lies wholly inside `window` (clamped to
/// char boundaries). Only small windows around candidates are searched, so
/// posts without candidates pay nothing for context.
fn has_context(text: &str, window: Range<usize>, kind: Ctx) -> bool {
    static AC: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    let Some(ac) = AC
        .get_or_init(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(CTX_WORDS.iter().map(|(w, _)| w))
                .ok()
        })
        .as_ref()
    else {
        return false;
    };
    let start = text.floor_char_boundary(window.start);
    let end = text.ceil_char_boundary(window.end);
    let Some(hay) = text.get(start..end) else {
        return false;
    };
    let bytes = text.as_bytes();
    for m in ac.find_iter(hay) {
        let Some(&(word, k)) = CTX_WORDS.get(m.pattern().as_usize()) else {
            continue;
        };
        if k != kind {
            continue;
        }
        let (ms, me) = (start + m.start(), start + m.end());
        // Short Latin words only count on their own ("tg", not "stg";
        // "line", not "online").
        if word.len() <= 4 && word.is_ascii() {
            let before = ms.checked_sub(1).and_then(|i| bytes.get(i));
            let after = bytes.get(me);
            if before.is_some_and(u8::is_ascii_alphanumeric) || after.is_some_and(u8::is_ascii_alphanumeric) {
                continue;
            }
        }
        return true;
    }
    false
}

// ---------------------------------------------------------------- links

/// Hosts whose links are contacts, as they appear just before a `/`.
const LINK_HOST_ENDS: &[&[u8]] =
    &[b".me", b".gg", b"lin.ee", b".group", b"telegram.dog", b"discord.com", b"discordapp.com", b"whatsapp.com"];

/// Cheap test on each `/` so the link regex only runs when a contact host
/// is present; ordinary URLs are common in posts.
fn link_host_before(bytes: &[u8], slash: usize) -> bool {
    // Every host in the list ends in one of these letters; most slashes (`://`,
    // paths) are rejected by that alone.
    let last = slash.checked_sub(1).and_then(|i| bytes.get(i)).map(|b| b | 0x20);
    if !matches!(last, Some(b'e' | b'g' | b'p' | b'm')) {
        return false;
    }
    LINK_HOST_ENDS.iter().any(|end| {
        slash.checked_sub(end.len()).and_then(|s| bytes.get(s..slash)).is_some_and(|h| h.eq_ignore_ascii_case(end))
    })
}

fn links(text: &str, found: &mut Vec<(Range<usize>, u8, ContactKind)>) {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(re) = regex(
        &RE,
        r"(?i)(?:https?://)?(?:www\.)?(t\.me|telegram\.me|telegram\.dog|wa\.me|api\.whatsapp\.com/send|chat\.whatsapp\.com|line\.me|lin\.ee|discord\.gg|discord(?:app)?\.com/invite|signal\.me|signal\.group)/[A-Za-z0-9_+~@#/=%?.\-]*[A-Za-z0-9_=]",
    ) else {
        return;
    };
    let bytes = text.as_bytes();
    for caps in re.captures_iter(text) {
        let (Some(m), Some(host)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        // "chat.me/…" must not be read as "t.me/…".
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i));
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')) {
            continue;
        }
        let host = host.as_str().to_ascii_lowercase();
        let kind = if host.starts_with('t') {
            ContactKind::Telegram
        } else if host.starts_with("wa") || host.contains("whatsapp") {
            ContactKind::WhatsApp
        } else if host.starts_with("lin") {
            ContactKind::Line
        } else if host.starts_with("discord") {
            ContactKind::Discord
        } else {
            ContactKind::Signal
        };
        found.push((m.range(), PRIO_LINK, kind));
    }
}

// ---------------------------------------------------------------- e-mail

fn emails(text: &str, found: &mut Vec<(Range<usize>, u8, ContactKind)>) {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(re) = regex(&RE, r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}") else {
        return;
    };
    let bytes = text.as_bytes();
    for m in re.find_iter(text) {
        let s = m.as_str();
        let Some(at) = s.find('@') else { continue };
        // Leading dots are sentence punctuation, not part of the address.
        let lead = s.len() - s.trim_start_matches('.').len();
        let local = &s[lead..at];
        let domain = &s[at + 1..];
        if local.is_empty()
            || local.len() > 64
            || local.ends_with('.')
            || domain.len() > 253
            || domain.split('.').any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
        {
            continue;
        }
        let after = bytes.get(m.end());
        if after.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'@') {
            continue;
        }
        found.push((m.start() + lead..m.end(), PRIO_EMAIL, ContactKind::Email));
    }
}

// ---------------------------------------------------------------- handles

const STAFF_WORDS: &[&str] = &["support", "admin", "help", "official", "service", "team", "desk"];

fn handles(text: &str, found: &mut Vec<(Range<usize>, u8, ContactKind)>) {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    // Telegram usernames start with a letter and are 5-32 characters.
    let Some(re) = regex(&RE, r"@[A-Za-z][A-Za-z0-9_]{4,31}") else {
        return;
    };
    let bytes = text.as_bytes();
    let mut lower = String::new();
    for m in re.find_iter(text) {
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i));
        // Part of an e-mail address or URL path, not a handle.
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'/')) {
            continue;
        }
        let after = bytes.get(m.end());
        let after2 = bytes.get(m.end() + 1);
        if after.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            || (after == Some(&b'.') && after2.is_some_and(u8::is_ascii_alphanumeric))
        {
            continue;
        }
        lower.clear();
        lower.push_str(m.as_str());
        lower.make_ascii_lowercase();
        let staff = STAFF_WORDS.iter().any(|w| lower.contains(w));
        let window = m.start().saturating_sub(TELEGRAM_REACH)..m.end() + TELEGRAM_REACH;
        if staff || has_context(text, window, Ctx::Telegram) {
            found.push((m.range(), PRIO_HANDLE, ContactKind::Telegram));
        }
    }
}

// ---------------------------------------------------------------- phones

/// A phone number needs nine digits close together; dates, prices and
/// counts spread over a post do not, and then the regex never runs.
fn may_hold_phone(bytes: &[u8]) -> bool {
    // Generous: nine fullwidth digits with three-char fullwidth separators
    // between every pair still fit.
    const WINDOW: usize = 128;
    let is_digit_at = |i: usize| -> bool {
        let Some(&b) = bytes.get(i) else {
            return false;
        };
        // Fullwidth digits are EF BC 90..=99; count them at their last byte.
        b.is_ascii_digit()
            || ((0x90..=0x99).contains(&b)
                && i >= 2
                && bytes.get(i - 2) == Some(&0xEF)
                && bytes.get(i - 1) == Some(&0xBC))
    };
    let mut count = 0usize;
    for i in 0..bytes.len() {
        count += usize::from(is_digit_at(i));
        if i >= WINDOW {
            count -= usize::from(is_digit_at(i - WINDOW));
        }
        if count >= 9 {
            return true;
        }
    }
    false
}

/// A character of the phone pattern, as [`phone_char`] reads it from bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PhoneChar {
    /// `0-9`, `０-９`.
    Digit,
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// A separator of the phone pattern: ` .-`, U+2010..=U+2015, U+2212,
    /// U+30FC, U+FF0D, U+3000.
    Sep,
}

/// The phone-pattern class and byte length of the character at `i`, or
/// `None` for any other character (or a position past the end).
fn phone_char(bytes: &[u8], i: usize) -> Option<(PhoneChar, usize)> {
    let class = match *bytes.get(i)? {
        b'0'..=b'9' => return Some((PhoneChar::Digit, 1)),
        b'(' => return Some((PhoneChar::Open, 1)),
        b')' => return Some((PhoneChar::Close, 1)),
        b' ' | b'.' | b'-' => return Some((PhoneChar::Sep, 1)),
        b if !(0xE2..=0xEF).contains(&b) => return None,
        _ => match bytes.get(i..i + 3)? {
            [0xEF, 0xBC, 0x90..=0x99] => PhoneChar::Digit,
            [0xEF, 0xBC, 0x8D]
            | [0xE2, 0x80, 0x90..=0x95]
            | [0xE2, 0x88, 0x92]
            | [0xE3, 0x83, 0xBC]
            | [0xE3, 0x80, 0x80] => PhoneChar::Sep,
            _ => return None,
        },
    };
    Some((class, 3))
}

/// Whether the phone regex's core, a digit and then six repetitions of
/// `[0-9０-９()]` or one to three separators and `[0-9０-９(]`, matches at
/// `i`. Every match of the regex contains such a run, so without one the
/// regex (a full scan of the post) need not run. Separators and the other
/// classes are disjoint, so each repetition can only be taken one way.
/// On failure, gives the byte where the walk stopped.
fn phone_units_follow(bytes: &[u8], i: usize) -> Result<(), usize> {
    let Some((PhoneChar::Digit, len)) = phone_char(bytes, i) else {
        return Err(i + 1);
    };
    let mut j = i + len;
    for _ in 0..6 {
        match phone_char(bytes, j) {
            Some((PhoneChar::Digit | PhoneChar::Open | PhoneChar::Close, n)) => j += n,
            Some((PhoneChar::Sep, n)) => {
                let mut k = j + n;
                let mut seps = 1;
                loop {
                    match phone_char(bytes, k) {
                        Some((PhoneChar::Sep, n)) if seps < 3 => {
                            k += n;
                            seps += 1;
                        }
                        Some((PhoneChar::Digit | PhoneChar::Open, n)) => {
                            j = k + n;
                            break;
                        }
                        _ => return Err(k),
                    }
                }
            }
            None => return Err(j),
        }
    }
    Ok(())
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn is_latin_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || ('Ａ'..='Ｚ').contains(&c) || ('ａ'..='ｚ').contains(&c) || is_digit(c)
}

fn digit_value(c: char) -> u32 {
    if c.is_ascii_digit() { u32::from(c) - u32::from('0') } else { u32::from(c).saturating_sub(u32::from('０')) }
}

fn phones(text: &str, found: &mut Vec<(Range<usize>, u8, ContactKind)>) {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    // A loose span of digits, parentheses and single separators; the
    // judgement of what is a phone number is in `judge_phone`.
    let Some(re) = regex(
        &RE,
        r"(?:\+[ \u{3000}]?)?\(?[0-9０-９](?:[0-9０-９()]|[ .\-\u{2010}-\u{2015}\u{2212}\u{30FC}\u{FF0D}\u{3000}]{1,3}[0-9０-９(]){6,40}",
    ) else {
        return;
    };
    let mut pos = 0;
    while let Some(m) = re.find_at(text, pos) {
        let range = m.start()..cut_point(text, m.range());
        pos = range.end.max(m.start() + 1);
        // The label must end within reach of the number; its own length
        // (at most 18 bytes) is added so the whole word fits the window.
        let window = range.start.saturating_sub(WHATSAPP_REACH + 18)..range.start;
        let whatsapp = has_context(text, window, Ctx::WhatsApp);
        match judge_phone(text, range.clone(), whatsapp) {
            Some(r) if whatsapp => found.push((r, PRIO_WHATSAPP, ContactKind::WhatsApp)),
            Some(r) => found.push((r, PRIO_PHONE, ContactKind::Phone)),
            None => {}
        }
    }
}

/// Where one number ends inside a span of several: once a dash or dot has
/// separated groups, a following space starts something else
/// ("090-1234-5678 090-8765-4321", "2024-01-15 10:30").
fn cut_point(text: &str, range: Range<usize>) -> usize {
    let Some(span) = text.get(range.clone()) else {
        return range.end;
    };
    let mut punct_seen = false;
    for (i, c) in span.char_indices() {
        match c {
            ' ' | '\u{3000}' if punct_seen => return range.start + i,
            ' ' | '\u{3000}' | '(' | ')' | '+' => {}
            c if is_digit(c) => {}
            _ => punct_seen = true,
        }
    }
    range.end
}

/// Decides whether a digit span is a phone number. `labelled` relaxes the
/// separator requirement, since "WhatsApp 818012345678" is unambiguous.
fn judge_phone(text: &str, range: Range<usize>, labelled: bool) -> Option<Range<usize>> {
    let span = text.get(range.clone())?;
    let prev = text.get(..range.start)?.chars().next_back();
    let mut rest = text.get(range.end..)?.chars();
    let next = rest.next();
    let next2 = rest.next();

    // Inside a word, an address, a txid, a URL path, an amount of money.
    // CJK letters may touch a number ("電話090-…まで"); Latin ones may not.
    if prev.is_some_and(|c| {
        is_latin_word_char(c)
            || matches!(
                c,
                '_' | '.'
                    | ','
                    | '/'
                    | '-'
                    | '+'
                    | '#'
                    | '@'
                    | '='
                    | '%'
                    | '$'
                    | '¥'
                    | '￥'
                    | '€'
                    | '£'
                    | '\\'
                    | '&'
                    | '?'
                    | '~'
            )
    }) {
        return None;
    }
    if next.is_some_and(|c| is_latin_word_char(c) || matches!(c, '@' | '%'))
        || (next.is_some_and(|c| matches!(c, '.' | ',' | ':' | '/' | '-')) && next2.is_some_and(is_digit))
    {
        return None;
    }

    let plus = span.starts_with('+');
    let mut digits = 0usize;
    let mut separators = 0usize;
    let (mut open, mut close) = (0usize, 0usize);
    // Digit groups, for the date and thousands checks; more groups than
    // this are never a price or a date.
    let mut groups = [0usize; 8];
    let mut first_group_value = 0u32;
    let mut ngroups = 0usize;
    let mut in_group = false;
    let mut only_dots_or_spaces = true;
    for c in span.chars() {
        if is_digit(c) {
            digits += 1;
            if !in_group {
                in_group = true;
                ngroups += 1;
            }
            if let Some(g) = ngroups.checked_sub(1).and_then(|i| groups.get_mut(i)) {
                *g += 1;
            }
            if ngroups == 1 {
                first_group_value = first_group_value.saturating_mul(10).saturating_add(digit_value(c));
            }
            continue;
        }
        in_group = false;
        match c {
            '+' => {}
            '(' => open += 1,
            ')' => close += 1,
            _ => {
                separators += 1;
                only_dots_or_spaces &= matches!(c, '.' | ' ');
            }
        }
    }
    if !(9..=15).contains(&digits) || open != close {
        return None;
    }
    if !labelled && !plus && separators + open == 0 {
        return None;
    }
    if !plus && ngroups >= 2 {
        let tail = groups.get(1..ngroups.min(groups.len())).unwrap_or(&[]);
        // "1 000 000 000", "192.168.100.200": grouped by threes.
        let thousands =
            only_dots_or_spaces && groups[0] <= 3 && ngroups <= groups.len() && tail.iter().all(|&g| g == 3);
        // "2024-01-15 1030": a year, then a month.
        let date = groups[0] == 4 && (1900..=2099).contains(&first_group_value) && groups[1] <= 2;
        if thousands || date {
            return None;
        }
    }
    Some(range)
}

// ---------------------------------------------------------------- LINE ids

fn line_ids(text: &str, found: &mut Vec<(Range<usize>, u8, ContactKind)>) {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(re) = regex(
        &RE,
        r"(?i)(?:line|ライン)[ \u{3000}]?(?:id|ＩＤ)[ \u{3000}]*(?:[:：=「（(]|は)?[ \u{3000}]*(@?[A-Za-z0-9][A-Za-z0-9._\-]{2,31})",
    ) else {
        return;
    };
    let bytes = text.as_bytes();
    for caps in re.captures_iter(text) {
        let (Some(m), Some(id)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        // "online id" is not a LINE label.
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i));
        if before.is_some_and(u8::is_ascii_alphanumeric) {
            continue;
        }
        let trimmed = id.as_str().trim_end_matches(['.', '-']);
        let range = id.start()..id.start() + trimmed.len();
        if trimmed.len() >= 3 {
            found.push((range, PRIO_LINE_ID, ContactKind::Line));
        }
    }
}

// Input -> output cases: tests/data/detectors/contacts.toml, run by tests/detectors.rs.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_strings::random_strings;

    #[test]
    fn kind_names() {
        assert_eq!(ContactKind::Email.as_str(), "email");
        assert_eq!(ContactKind::WhatsApp.as_str(), "whatsapp");
        assert_eq!(ContactKind::Signal.as_str(), "signal");
    }

    #[test]
    fn odd_inputs_never_panic() {
        let inputs = [
            String::new(),
            "@".into(),
            "+".into(),
            "(".into(),
            "é".into(),
            "０".into(),
            "＠".into(),
            "😀@😀".into(),
            "t.me/".into(),
            "line id".into(),
            "whatsapp".into(),
            "whatsapp +".into(),
            "1".repeat(10_000),
            "1 ".repeat(5_000),
            "+1 ".repeat(5_000),
            "(1)".repeat(3_000),
            "@aaaaa".repeat(2_000),
            "a@b.".repeat(2_000),
            "telegram @abcdefg ".repeat(500),
            "テレグラム".repeat(500),
            "０９０－".repeat(500),
            "\u{0}\u{FFFF}\u{10FFFF}".into(),
            format!("whatsapp{}", "é".repeat(50)),
        ];
        for s in &inputs {
            for h in find_contacts(s) {
                assert!(s.is_char_boundary(h.range.start) && s.is_char_boundary(h.range.end));
                assert_eq!(&s[h.range.clone()], h.value);
            }
        }
    }

    const PHONE_CORE: &str =
        r"^[0-9０-９](?:[0-9０-９()]|[ .\-\u{2010}-\u{2015}\u{2212}\u{30FC}\u{FF0D}\u{3000}]{1,3}[0-9０-９(]){6}";

    fn phone_heavy_strings(seed: u64, count: usize) -> Vec<String> {
        const PIECES: &[&str] = &[
            "0", "1", "9", "５", "０", "(", ")", " ", ".", "-", "\u{2010}", "\u{2015}", "\u{2016}", "\u{2212}", "ー",
            "－", "\u{3000}", "+", "x", "é", "ラ", "イ", "ン", "line", "LiNe", "id", "ID", "ＩＤ", "@", "/", "t.me",
            "ｔ", "\u{FF1A}",
        ];
        crate::signals::test_strings::strings_from(PIECES, seed, count, 40)
    }

    #[test]
    fn phone_core_test_matches_the_pattern() {
        let core = Regex::new(PHONE_CORE).expect("regex");
        let mut texts = phone_heavy_strings(0x9e37_79b9, 20_000);
        texts.extend(random_strings(0x5151, 2000));
        for t in &texts {
            for (i, _) in t.char_indices() {
                let by_regex = core.is_match(&t[i..]);
                assert_eq!(phone_units_follow(t.as_bytes(), i).is_ok(), by_regex, "{t:?} at {i}");
            }
        }
    }

    #[test]
    fn link_host_ends_end_in_a_checked_letter() {
        for end in LINK_HOST_ENDS {
            assert!(matches!(end.last(), Some(b'e' | b'g' | b'p' | b'm')), "{end:?}");
        }
    }

    #[test]
    fn triggers_are_necessary_conditions() {
        let mut texts = phone_heavy_strings(0x1234_5678, 20_000);
        texts.extend(random_strings(0x4242, 3000));
        for t in &texts {
            let trig = Triggers::scan(t.as_bytes());
            let mut found = Vec::new();
            if !trig.phone {
                super::phones(t, &mut found);
                assert!(found.is_empty(), "{t:?}");
            }
            if !trig.line {
                super::line_ids(t, &mut found);
                assert!(found.is_empty(), "{t:?}");
            }
            if !trig.link {
                super::links(t, &mut found);
                assert!(found.is_empty(), "{t:?}");
            }
            if !trig.at {
                super::emails(t, &mut found);
                super::handles(t, &mut found);
                assert!(found.is_empty(), "{t:?}");
            }
        }
    }

    #[test]
    fn random_strings_never_panic() {
        for s in random_strings(0xc0ff_ee00, 3000) {
            for hit in find_contacts(&s) {
                assert_eq!(s.get(hit.range.clone()), Some(hit.value.as_str()), "{s:?}");
            }
        }
    }
}
