//! Hashed text features for the classifier: word uni/bigrams and character
//! n-grams of the normalized view, each hashed into one of 2^bits buckets.
//!
//! Character n-grams cover every script, so Japanese, Chinese, Thai and
//! Korean need no word segmenter; word n-grams add context for languages
//! that put spaces between words. The hash is our own (FxHash-style mixing,
//! a murmur finalizer) because the model file depends on it: a hash from a
//! crate could change between versions and silently scramble every model.
//!
//! Features are unsigned. The model keeps only a selected set of buckets
//! (chosen by chi² at training time), and naive Bayes needs non-negative
//! counts; signed hashing exists to keep inner products unbiased over *all*
//! buckets of a linear model, which is not what we do.

use serde::{Deserialize, Serialize};

/// How text becomes hashed features. Stored in the model file: a model is
/// only valid with the configuration it was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// log2 of the number of hash buckets (8..=24).
    pub bucket_bits: u8,
    /// Character n-gram sizes ending on a character of a script that puts
    /// spaces between words (Latin, Cyrillic, Hangul…; spaces included).
    pub char_min: u8,
    /// Longest such n-gram (≤ 4).
    pub char_max: u8,
    /// Character n-gram sizes ending on a Japanese, Chinese, Thai, Lao,
    /// Khmer or Myanmar character, scripts written without spaces: these
    /// n-grams stand in for words.
    pub cjk_min: u8,
    /// Longest such n-gram (≤ 4).
    pub cjk_max: u8,
    /// Longest word n-gram: 0 (none), 1 (unigrams) or 2 (uni+bigrams).
    pub word_max: u8,
    /// Typed tokens: a link or bare domain, a `@handle`, a phone number or
    /// a long crypto address reads as one token of its kind (one
    /// character in the character n-grams, one word in the word n-grams),
    /// not as its letters. What a forum's links and numbers spell differs
    /// from one platform to the next; that a post carries one does not.
    /// Measured by leave-one-source-out: macro PR-AUC 0.597 → 0.608. Kept
    /// out of the postcard-encoded configuration so model files without it
    /// keep their bytes (the model file stores it after the data, format 5).
    #[serde(skip)]
    pub typed: bool,
}

impl Default for FeatureConfig {
    /// Measured on the training sides (see the README): character 4-grams
    /// for spaced scripts (words come from word n-grams), 1–3-grams for
    /// unspaced ones, word uni+bigrams, 2^18 buckets, typed tokens.
    fn default() -> Self {
        FeatureConfig { bucket_bits: 18, char_min: 4, char_max: 4, cjk_min: 1, cjk_max: 3, word_max: 2, typed: true }
    }
}

impl FeatureConfig {
    /// Checks the bounds a model file could violate.
    pub fn validate(&self) -> Result<(), String> {
        if !(8..=24).contains(&self.bucket_bits) {
            return Err(format!("bucket_bits {} is outside 8..=24", self.bucket_bits));
        }
        for (name, lo, hi) in [("character", self.char_min, self.char_max), ("CJK", self.cjk_min, self.cjk_max)] {
            if lo > hi || hi > 4 || (lo == 0 && hi != 0) {
                return Err(format!("{name} n-gram range {lo}..={hi} is invalid (1..=4, or 0..=0 for none)"));
            }
        }
        if self.word_max > 2 {
            return Err(format!("word_max {} is above 2", self.word_max));
        }
        Ok(())
    }

    /// The number of hash buckets.
    pub fn buckets(&self) -> usize {
        1 << self.bucket_bits
    }

    /// Calls `f(bucket)` for every feature of `text`, in text order,
    /// repeats included. This is the scoring hot path.
    ///
    /// The text is decoded once into a per-thread buffer of units (its
    /// characters, a typed token as the one character of its kind), which
    /// both passes then read: the decoder and the walk
    /// [`FeatureConfig::for_each`] uses, without the byte ranges.
    #[inline]
    pub fn for_each_bucket(&self, text: &str, mut f: impl FnMut(u32)) {
        UNITS.with(|units| match units.try_borrow_mut() {
            Ok(mut units) => self.walk_decoded(text, &mut units, &mut f),
            // Called again from inside `f`: a buffer of its own.
            Err(_) => self.walk_decoded(text, &mut Vec::new(), &mut f),
        });
    }

    #[inline(always)]
    fn walk_decoded(&self, text: &str, units: &mut Vec<char>, f: &mut impl FnMut(u32)) {
        units.reserve(text.len());
        decode_units(text, self.typed, units);
        let units = &units[..];
        self.walk_units::<false, _>(text, || units.iter().map(|&c| (c, 0, 0)), &mut |b, _| f(b));
    }

    /// Like [`FeatureConfig::for_each_bucket`], also passing the text each
    /// feature was hashed from (a word bigram includes the separator between
    /// its words; padding spaces are not shown). For training and
    /// explanations.
    ///
    /// ```
    /// use moderation_core::FeatureConfig;
    ///
    /// let config = FeatureConfig::default();
    /// let mut grams = Vec::new();
    /// config.for_each("dm me now", |_, g| grams.push(g.to_string()));
    /// assert!(grams.contains(&"dm me".to_string())); // word bigram
    /// assert!(grams.contains(&"m me".to_string())); // character 4-gram
    /// ```
    pub fn for_each<'t>(&self, text: &'t str, mut f: impl FnMut(u32, &'t str)) {
        // The same units as the hot path, with their byte ranges.
        let mut units: Vec<(char, usize, usize)> = Vec::new();
        decode_units(text, self.typed, &mut units);
        self.walk_units::<true, _>(text, || units.iter().copied(), &mut f);
    }

    /// The features of `text` read as the units `units()` yields: its
    /// characters with their byte ranges, or a typed token's kind over the
    /// token's range.
    #[inline(always)]
    fn walk_units<'t, const GRAMS: bool, I: Iterator<Item = (char, usize, usize)>>(
        &self,
        text: &'t str,
        units: impl Fn() -> I,
        f: &mut impl FnMut(u32, &'t str),
    ) {
        let shift = 64 - u32::from(self.bucket_bits);
        // Character n-grams over the text with runs of whitespace as one
        // space and a space at each end, so word edges become features.
        let mut w = CharWindow {
            packed: 0,
            starts: [0; 4],
            at: 0,
            filled: 0,
            spaced: (self.char_min, self.char_max),
            unspaced: (self.cjk_min, self.cjk_max),
            shift,
        };
        // Two passes over the text, characters then words: measured faster
        // than one pass doing both (the loops stay small and predictable).
        if self.char_max.max(self.cjk_max) > 0 {
            w.push::<GRAMS>(text, u32::from(b' '), 0, 0, f);
            let mut last_space = true;
            let mut pos = 0usize;
            // The decoder wrote every whitespace character as a space.
            for (c, i, end) in units() {
                if c == ' ' {
                    if !last_space {
                        w.push::<GRAMS>(text, u32::from(b' '), i, end, f);
                    }
                    last_space = true;
                } else {
                    w.push::<GRAMS>(text, c as u32, i, end, f);
                    last_space = false;
                }
                pos = end;
            }
            if !last_space {
                w.push::<GRAMS>(text, u32::from(b' '), pos, pos, f);
            }
        }
        if self.word_max == 0 {
            return;
        }
        // Word n-grams: runs of letters and digits of space-delimited
        // scripts. Digits hash as `0`, so "$500" and "$900" share features.
        let mut words = Words { bigrams: self.word_max >= 2, start: None, h: SEED_WORD, prev: None, shift };
        for (c, i, end) in units() {
            if is_kind(c) {
                // A typed token is a word of its own.
                words.flush::<GRAMS>(text, i, f);
                words.start = Some(i);
                words.h = mix(SEED_WORD, c as u64);
                words.flush::<GRAMS>(text, end, f);
                continue;
            }
            // The cheap range test first: `is_alphanumeric` is a table
            // search for non-ASCII characters.
            let word_char = if c.is_ascii() { c.is_ascii_alphanumeric() } else { !unspaced(c) && c.is_alphanumeric() };
            if word_char {
                let c = if c.is_ascii_digit() { '0' } else { c };
                words.start.get_or_insert(i);
                words.h = mix(words.h, c as u64);
            } else if words.start.is_some() {
                words.flush::<GRAMS>(text, i, f);
                // Only whitespace and light punctuation keep a bigram going.
                if !matches!(c, ' ' | '\'' | '-') {
                    words.prev = None;
                }
            } else if c != ' ' {
                words.prev = None;
            }
        }
        words.flush::<GRAMS>(text, text.len(), f);
    }
}

/// The kinds of typed tokens, as the private-use characters that stand for
/// them in n-grams.
const KIND_LINK: char = '\u{E001}';
const KIND_HANDLE: char = '\u{E002}';
const KIND_PHONE: char = '\u{E003}';
const KIND_ADDRESS: char = '\u{E004}';

#[inline(always)]
fn is_kind(c: char) -> bool {
    (KIND_LINK..=KIND_ADDRESS).contains(&c)
}

/// Top-level domains a bare `name.tld` is read as a link with (a sentence
/// missing the space after its full stop is not a link).
const BARE_TLDS: &[&str] = &[
    "app", "biz", "cc", "cf", "club", "cn", "co", "com", "de", "exchange", "finance", "ga", "gg", "gl", "gq", "in",
    "info", "io", "jp", "link", "live", "ly", "me", "ml", "net", "online", "org", "pro", "ru", "shop", "site", "store",
    "tk", "top", "tv", "uk", "us", "vip", "ws", "xyz",
];

/// What one pass over a token's bytes learns: enough to rule out most
/// words before [`kind_of`] looks closer. A typed token has a
/// dot, an `@` or a colon before its last byte, seven digits, or 25 bytes.
#[derive(Default)]
struct TokenLook {
    digits: usize,
    /// Offset of the first `.`, `@` or `:` (from the token's start).
    first_mark: Option<usize>,
}

impl TokenLook {
    #[inline(always)]
    fn byte(&mut self, at: usize, b: u8) {
        self.digits += usize::from(b.is_ascii_digit());
        if self.first_mark.is_none() && matches!(b, b'.' | b'@' | b':') {
            self.first_mark = Some(at);
        }
    }

    /// Whether a token of `len` bytes cannot be a typed one.
    #[inline(always)]
    fn rules_out(&self, len: usize) -> bool {
        let marks = self.first_mark.is_some_and(|at| at + 1 < len);
        !marks && self.digits < 7 && len < 25
    }
}

/// The kind of a whitespace-delimited token [`TokenLook`] did not rule
/// out, if it is a typed one.
fn kind_of(token: &str) -> Option<char> {
    let t = token.trim_matches(|c: char| {
        matches!(c, '(' | ')' | '[' | ']' | ',' | '.' | '!' | '?' | '"' | '\'' | ':' | ';' | '<' | '>')
    });
    if t.len() < 3 {
        return None;
    }
    let digits = t.bytes().filter(u8::is_ascii_digit).count();
    if t.contains("://") || t.starts_with("www.") {
        return Some(KIND_LINK);
    }
    if let Some(rest) = t.strip_prefix('@')
        && rest.len() >= 2
        && rest.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return Some(KIND_HANDLE);
    }
    if digits >= 7 && t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'(' | b')' | b'.')) {
        return Some(KIND_PHONE);
    }
    if t.len() >= 25 && digits >= 3 && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Some(KIND_ADDRESS);
    }
    if let Some(dot) = t.rfind('.')
        && BARE_TLDS.contains(&&t[dot + 1..])
    {
        let head = &t[..dot];
        if head.bytes().any(|b| b.is_ascii_alphabetic())
            && head.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'/'))
        {
            return Some(KIND_LINK);
        }
    }
    None
}

/// Typed tokens read per text; those after the first `MAX_TYPED` read as
/// their characters (a post of hundreds of links gains nothing from more).
const MAX_TYPED: usize = 64;

thread_local! {
    /// The units of the text being walked by [`FeatureConfig::for_each_bucket`].
    static UNITS: std::cell::RefCell<Vec<char>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A unit as [`decode_units`] keeps it: the hot path the character only,
/// the explaining path its byte range in the text too.
trait Unit {
    fn unit(c: char, start: usize, end: usize) -> Self;
}

impl Unit for char {
    #[inline(always)]
    fn unit(c: char, _: usize, _: usize) -> char {
        c
    }
}

impl Unit for (char, usize, usize) {
    #[inline(always)]
    fn unit(c: char, start: usize, end: usize) -> Self {
        (c, start, end)
    }
}

/// Fills `out` with the units of `text` in one pass: its characters (any
/// whitespace as a space), and with `typed` each of the first
/// [`MAX_TYPED`] typed tokens (whitespace-delimited) as the one character
/// of its kind over the token's range.
#[inline(always)]
fn decode_units<U: Unit>(text: &str, typed: bool, out: &mut Vec<U>) {
    out.clear();
    let mut typed_left = if typed { MAX_TYPED } else { 0 };
    // The whitespace-delimited token being read: its first byte and unit,
    // and what its bytes so far say about it.
    let mut token: Option<(usize, usize)> = None;
    let mut look = TokenLook::default();
    let mut end_token = |token: &mut Option<(usize, usize)>, look: &mut TokenLook, end: usize, out: &mut Vec<U>| {
        if let Some((start, first)) = token.take()
            && typed_left > 0
            && !look.rules_out(end - start)
            && let Some(kind) = kind_of(&text[start..end])
        {
            out.truncate(first);
            out.push(U::unit(kind, start, end));
            typed_left -= 1;
        }
        *look = TokenLook::default();
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (c, len) = if b.is_ascii() {
            (char::from(b), 1)
        } else {
            let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
            (c, c.len_utf8())
        };
        if c.is_whitespace() {
            end_token(&mut token, &mut look, i, out);
            // Both passes read any whitespace as a space.
            out.push(U::unit(' ', i, i + len));
        } else {
            let start = *token.get_or_insert((i, out.len()));
            look.byte(i - start.0, b);
            out.push(U::unit(c, i, i + len));
        }
        i += len;
    }
    end_token(&mut token, &mut look, bytes.len(), out);
}

/// The word being read and the one before it.
struct Words {
    bigrams: bool,
    /// Byte where the current word starts.
    start: Option<usize>,
    /// Hash of the current word so far.
    h: u64,
    /// Hash and start of the previous word, while a bigram can still form.
    prev: Option<(u64, usize)>,
    shift: u32,
}

impl Words {
    /// Ends the current word at `end`: emits it and its bigram.
    #[inline(always)]
    fn flush<'t, const GRAMS: bool>(&mut self, text: &'t str, end: usize, f: &mut impl FnMut(u32, &'t str)) {
        let Some(start) = self.start.take() else { return };
        let bucket = |h: u64| (h.wrapping_mul(FIB) >> self.shift) as u32;
        f(bucket(self.h), if GRAMS { &text[start..end] } else { "" });
        if self.bigrams
            && let Some((ph, pstart)) = self.prev
        {
            f(bucket(mix(ph ^ SEED_BIGRAM, self.h)), if GRAMS { &text[pstart..end] } else { "" });
        }
        self.prev = Some((self.h, start));
        self.h = SEED_WORD;
    }
}

/// The last four characters, packed 16 bits each into one word (newest in
/// the low bits), and where each starts in the text. An n-gram's key is the
/// low `16 n` bits, so hashing a gram is one multiply with no dependency
/// on the other sizes — this loop is most of the classifier's cost.
struct CharWindow {
    packed: u64,
    starts: [usize; 4],
    at: usize,
    filled: u8,
    spaced: (u8, u8),
    unspaced: (u8, u8),
    shift: u32,
}

/// One odd multiplier per n-gram size, so "ab" and " ab" never share a key.
const GRAM_MUL: [u64; 5] =
    [0, 0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f, 0x1656_67b1_9e37_79f9, 0xd6e8_feb8_6659_fd93];
const GRAM_MASK: [u64; 5] = [0, 0xffff, 0xffff_ffff, 0xffff_ffff_ffff, u64::MAX];

impl CharWindow {
    /// Adds a character and emits the n-grams that end on it, their sizes
    /// chosen by its script.
    #[inline(always)]
    fn push<'t, const GRAMS: bool>(
        &mut self,
        text: &'t str,
        c: u32,
        start: usize,
        end: usize,
        f: &mut impl FnMut(u32, &'t str),
    ) {
        // Characters beyond the BMP fold into 16 bits (rare; a collision
        // at worst).
        let c16 = u64::from((c ^ (c >> 16)) as u16);
        self.packed = (self.packed << 16) | c16;
        self.at = (self.at + 1) & 3;
        if GRAMS {
            self.starts[self.at] = start;
        }
        self.filled = (self.filled + 1).min(4);
        let (lo, hi) = if unspaced_u32(c) { self.unspaced } else { self.spaced };
        let hi = hi.min(self.filled);
        let lo = lo.max(1 + u8::from(c == u32::from(b' ')));
        for n in lo..=hi {
            let key = self.packed & GRAM_MASK[usize::from(n)];
            let bucket = (key.wrapping_mul(GRAM_MUL[usize::from(n)]) >> self.shift) as u32;
            let first = (self.at + 4 - usize::from(n - 1)) & 3;
            f(bucket, if GRAMS { text.get(self.starts[first]..end).unwrap_or("") } else { "" });
        }
    }
}

const SEED_WORD: u64 = 0x1319_8a2e_0370_7344;
const SEED_BIGRAM: u64 = 0xa409_3822_299f_31d0;
/// 2^64 / φ: multiplying by it and keeping the high bits spreads keys well
/// (Fibonacci hashing).
const FIB: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline(always)]
fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// Scripts written without spaces between words.
#[inline(always)]
pub(crate) fn unspaced(c: char) -> bool {
    unspaced_u32(c as u32)
}

#[inline(always)]
fn unspaced_u32(c: u32) -> bool {
    c >= 0x0E00
        && matches!(c,
            0x0E00..=0x0EFF          // Thai, Lao
            | 0x1000..=0x109F        // Myanmar
            | 0x1780..=0x17FF        // Khmer
            | 0x3040..=0x30FF        // Hiragana, Katakana
            | 0x3400..=0x4DBF        // CJK extension A
            | 0x4E00..=0x9FFF        // CJK unified
            | 0xF900..=0xFAFF        // CJK compatibility
            | 0x20000..=0x3134F) // CJK extensions B–G
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grams(text: &str, config: FeatureConfig) -> Vec<String> {
        let mut out = Vec::new();
        config.for_each(text, |_, g| out.push(g.to_string()));
        out
    }

    #[test]
    fn char_and_word_grams() {
        let g = grams("dm me", FeatureConfig { char_min: 1, char_max: 4, ..FeatureConfig::default() });
        for want in ["d", "dm", "dm ", "m", "me", "dm me", "m me"] {
            assert!(g.contains(&want.to_string()), "missing {want:?} in {g:?}");
        }
        assert!(!g.contains(&" ".to_string()), "a lone space is no feature");
    }

    fn buckets(text: &str, config: FeatureConfig) -> Vec<u32> {
        let mut out = Vec::new();
        config.for_each_bucket(text, |b| out.push(b));
        out
    }

    #[test]
    fn typed_tokens_read_as_their_kind() {
        let typed = FeatureConfig::default();
        let plain = FeatureConfig { typed: false, ..typed };
        // What a link, handle, phone number or address spells does not
        // matter; that the post carries one does.
        for (a, b) in [
            ("claim it at https://claim-bonus.xyz/now today", "claim it at http://airdrop.top today"),
            ("claim it at claim-bonus.xyz today", "claim it at https://example.org/a?b=c today"),
            ("message @helpdesk_official for help", "message @support99 for help"),
            ("call +1-555-0100123 now", "call (555)0100999 now"),
            (
                "send to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq now",
                "send to 0x52908400098527886E0F7030069857D2E4169EE7 now",
            ),
        ] {
            assert_eq!(buckets(a, typed), buckets(b, typed), "{a:?} / {b:?}");
            assert_ne!(buckets(a, plain), buckets(b, plain), "{a:?} / {b:?} without typed tokens");
        }
        // Not typed: short words, a sentence without the space after its
        // full stop, a short number, a mail address.
        for t in ["ok.", "thanks.see you", "at 12:30", "mail me at a@b.com", "version 1.2.3"] {
            assert_eq!(buckets(t, typed), buckets(t, plain), "{t:?}");
        }
        // A typed token's features point at the whole token in the text.
        let g = grams("visit https://x.io/a now", typed);
        assert!(g.contains(&"https://x.io/a".to_string()), "{g:?}");
        assert!(g.contains(&"visit https://x.io/a".to_string()), "bigram: {g:?}");
        assert!(!g.iter().any(|g| g == "x.io"), "no n-gram inside the token: {g:?}");
    }

    #[test]
    fn japanese_has_char_grams_but_no_words() {
        let cfg = FeatureConfig { word_max: 2, ..FeatureConfig::default() };
        let g = grams("サポート窓口", cfg);
        assert!(g.contains(&"ポート".to_string()) && g.contains(&"窓口".to_string()) && g.contains(&"窓".to_string()));
        assert!(!g.contains(&"サポート".to_string()), "CJK n-grams stop at 3");
        assert!(!g.contains(&"サポート窓口".to_string()), "no word features for unsegmented scripts");
    }

    #[test]
    fn buckets_are_stable_and_in_range() {
        let cfg = FeatureConfig { bucket_bits: 10, ..FeatureConfig::default() };
        let mut a = Vec::new();
        cfg.for_each("Send 0.5 BTC to claim 1 BTC", |b, _| a.push(b));
        let mut b = Vec::new();
        cfg.for_each("Send 0.5 BTC to claim 1 BTC", |x, _| b.push(x));
        assert_eq!(a, b);
        assert!(a.iter().all(|&x| x < 1024));
        // Different grams spread over buckets (not all in one).
        let mut distinct = a.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > a.len() / 2, "{} distinct of {}", distinct.len(), a.len());
    }

    #[test]
    fn digits_share_word_features() {
        let cfg = FeatureConfig { char_min: 0, char_max: 0, cjk_min: 0, cjk_max: 0, ..FeatureConfig::default() };
        let mut a = Vec::new();
        cfg.for_each("win 500", |b, _| a.push(b));
        let mut b = Vec::new();
        cfg.for_each("win 900", |x, _| b.push(x));
        assert_eq!(a, b);
    }

    #[test]
    fn the_hot_path_hashes_like_the_explaining_path() {
        let cfg = FeatureConfig::default();
        for text in ["Send 0.5 BTC to claim 1 BTC", "サポート窓口はこちら t.me/help", "", "   ", "a"] {
            let mut a = Vec::new();
            cfg.for_each(text, |b, _| a.push(b));
            let mut b = Vec::new();
            cfg.for_each_bucket(text, |x| b.push(x));
            assert_eq!(a, b, "{text:?}");
        }
    }

    /// Pieces the decoded hot path must read exactly as the explaining
    /// path: typed tokens of every kind and near misses, punctuation around
    /// them, scripts with and without spaces, Unicode whitespace, digits,
    /// astral characters and the private-use characters kinds are written
    /// with.
    const PIECES: &[&str] = &[
        "https://claim-bonus.xyz/now",
        "www.x.io",
        "(t.me/help)",
        "@helpdesk_official",
        "@a",
        "+1-555-0100123",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "claim.xyz.",
        "a@b.com",
        "12:30",
        "1.2.3",
        "send",
        "BTC",
        "it's",
        "re-send",
        "$500",
        "サポート窓口",
        "โปรโมชั่น",
        "出金",
        "\u{3000}",
        "\u{a0}",
        "\u{2028}",
        "\t",
        "\n",
        " ",
        "  ",
        "😀",
        "\u{E001}",
        "\u{E004}x",
        "Ｆｕｌｌ",
        "ß",
        "İ",
        "!",
        "?!",
        "...",
        "0",
        "1234567",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]
        #[test]
        fn the_decoded_hot_path_reads_like_the_explaining_path(
            picks in proptest::collection::vec((0..PIECES.len(), proptest::bool::ANY), 0..24),
            typed in proptest::bool::ANY,
        ) {
            let text: String = picks
                .iter()
                .map(|&(i, space)| if space { format!("{} ", PIECES[i]) } else { PIECES[i].to_string() })
                .collect();
            let cfg = FeatureConfig { typed, ..FeatureConfig::default() };
            let mut a = Vec::new();
            cfg.for_each(&text, |b, _| a.push(b));
            let mut b = Vec::new();
            cfg.for_each_bucket(&text, |x| b.push(x));
            proptest::prop_assert_eq!(a, b, "{:?}", text);
        }
    }

    #[test]
    fn more_typed_tokens_than_read_and_a_walk_inside_a_walk() {
        let cfg = FeatureConfig::default();
        // Past the 64th link, links read as their letters on both paths.
        let text = (0..70).map(|i| format!("https://x{i}.io/a")).collect::<Vec<_>>().join(" ");
        let mut a = Vec::new();
        cfg.for_each(&text, |b, _| a.push(b));
        let mut b = Vec::new();
        let mut inner = Vec::new();
        cfg.for_each_bucket(&text, |x| {
            b.push(x);
            // A walk started from inside a walk gets a buffer of its own.
            if b.len() == 1 {
                cfg.for_each_bucket("dm me now", |y| inner.push(y));
            }
        });
        assert_eq!(a, b);
        assert_eq!(inner, buckets("dm me now", cfg));
    }

    #[test]
    fn bounds_are_validated() {
        assert!(FeatureConfig::default().validate().is_ok());
        assert!(FeatureConfig { bucket_bits: 30, ..FeatureConfig::default() }.validate().is_err());
        assert!(FeatureConfig { char_min: 0, ..FeatureConfig::default() }.validate().is_err());
        assert!(FeatureConfig { char_min: 5, char_max: 4, ..FeatureConfig::default() }.validate().is_err());
    }
}
