//! BIP39 seed phrases (wallet recovery words) in the words view of a post.
//!
//! Reads the words view (NFKC, lowercased, katakana folded to hiragana) so
//! that list lookups are exact. A run of twelve or more consecutive list words
//! is reported whatever its checksum: victims mistype words and scammers post
//! "example" phrases, and both are worth flagging. The checksum and the
//! published-test-vector flag let rules tell a live leak from a textbook one.

use std::ops::Range;
use std::sync::OnceLock;

use bip39::{Language, Mnemonic};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use super::scan::{BLOCK, for_each_flagged, shifted_rows};

/// Which BIP39 word list a phrase comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeedLanguage {
    /// The English list (`abandon` … `zoo`).
    English,
    /// The Japanese list (hiragana).
    Japanese,
}

impl SeedLanguage {
    /// Stable name for rules and explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            SeedLanguage::English => "english",
            SeedLanguage::Japanese => "japanese",
        }
    }

    fn bip39(self) -> Language {
        match self {
            SeedLanguage::English => Language::English,
            SeedLanguage::Japanese => Language::Japanese,
        }
    }
}

/// One run of consecutive BIP39 words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedHit {
    /// Byte range from the first word's start to the last word's end.
    pub range: Range<usize>,
    /// Number of list words in the run (numbering tokens not counted).
    pub words: usize,
    /// Word list the run belongs to.
    pub language: SeedLanguage,
    /// Whether the run, or a 12/15/18/21/24-word window of it, is a valid
    /// mnemonic. A single changed word usually breaks this, so false still
    /// means "looks like a seed phrase". In a long run some window passes by
    /// chance (1 in 16 per 12-word window), so weigh it by `words`.
    pub checksum_valid: bool,
    /// The run contains a well-known published test vector, which is public
    /// and worthless, unlike a user's own phrase.
    pub test_vector: bool,
}

/// Finds runs of twelve or more BIP39 words, in text order.
pub fn find_seed_phrases(text: &str) -> Vec<SeedHit> {
    let mut hits = Vec::new();
    // Prose has a token every five or six bytes; room for one per four bytes
    // saves regrowing the vector for all but odd texts.
    let mut tokens = Vec::with_capacity(text.len() / 4 + 1);
    for_each_token(text, |tok| tokens.push(tok));
    if tokens.len() < MIN_WORDS {
        return hits;
    }
    let mut run = Run::default();
    let mut fold = String::new();
    let lists = lists();
    let class_of = |i: usize, fold: &mut String| match tokens.get(i) {
        Some(tok) => classify_token(lists, text, tok.clone(), fold),
        None => Token::Other,
    };
    // End of the last window of tokens found to hold no break (see below); no
    // window is looked at again before it.
    let mut checked_to = 0;
    let mut i = 0;
    while i < tokens.len() {
        // Prose breaks runs every few words. With no run under way at `i`, a
        // break among the next MIN_WORDS tokens ends whatever run starts
        // before it below MIN_WORDS words, so those tokens need no further
        // look; searching from the far end finds the last such break first,
        // which in prose usually skips all of them after one lookup.
        if run.count == 0 && i >= checked_to && i + MIN_WORDS <= tokens.len() {
            let last_break = (i..i + MIN_WORDS).rev().find(|&j| class_of(j, &mut fold) == Token::Other);
            if let Some(j) = last_break {
                i = j + 1;
                continue;
            }
            checked_to = i + MIN_WORDS;
        }
        match class_of(i, &mut fold) {
            Token::Skip => {}
            Token::Other => run.flush(&mut hits),
            Token::Word(lang, idx, range, ends_run) => {
                if run.lang.is_some_and(|l| l != lang) {
                    run.flush(&mut hits);
                }
                run.push(lang, idx, range);
                if ends_run {
                    run.flush(&mut hits);
                }
            }
        }
        i += 1;
    }
    run.flush(&mut hits);
    hits
}

/// Classifies the token at `tok`: plain ASCII words straight from the text,
/// other ASCII tokens by [`classify_ascii`], the rest by [`classify`].
fn classify_token(lists: &Lists, text: &str, tok: Range<usize>, fold: &mut String) -> Token {
    let bytes = text.as_bytes();
    match pack_in_place(bytes, &tok) {
        // Most tokens: a plain word, looked up without further ado.
        Some(key) if tok.len() >= 3 => match lists.english_key(key) {
            Some(idx) => Token::Word(SeedLanguage::English, idx, tok, false),
            None => Token::Other,
        },
        // One or two letters: shorter than any list word.
        Some(_) => Token::Other,
        None => match bytes.get(tok.clone()) {
            Some(b) if b.is_ascii() => classify_ascii(lists, b, tok.start),
            _ => classify(text, tok, fold),
        },
    }
}

/// Fewest words in a mnemonic; shorter runs are ordinary text.
const MIN_WORDS: usize = 12;
/// Words of one run examined for checksums and test vectors; bounds the cost
/// of a post that is nothing but list words.
const MAX_EXAMINED: usize = 64;
const VALID_LENGTHS: [usize; 5] = [12, 15, 18, 21, 24];

/// Well-known published mnemonics (Trezor python-mnemonic `vectors.json`,
/// and the first entry of the Japanese BIP39 vectors), written as the words
/// view shows them. Each is checked against its entropy in the tests.
pub const TEST_VECTORS: &[&str] = &[
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
    "legal winner thank year wave sausage worth useful legal winner thank yellow",
    "letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
    "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon agent",
    "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal will",
    "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter always",
    "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo when",
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
    "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title",
    "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless",
    "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote",
    "scheme spot photo card baby mountain device kick cradle pact join borrow",
    "ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic",
    "あいこくしん あいこくしん あいこくしん あいこくしん あいこくしん あいこくしん あいこくしん あいこくしん あいこくしん あいこくしん あいこくしん あおぞら",
];

/// Word lists as the words view spells them, built once per process.
struct Lists {
    /// English words packed by `pack_ascii` in an open-addressing table:
    /// this lookup runs for every token of every post, so it avoids string
    /// comparison and hashing of strings entirely.
    english: Vec<(u64, u16)>,
    /// The crate stores Japanese NFKD; the input is NFKC, so keys are NFKC.
    japanese: Vec<(Box<str>, u16)>,
    /// Test vectors as index sequences, so matching needs no strings.
    vectors: Vec<(SeedLanguage, Vec<u16>)>,
}

fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    LISTS.get_or_init(|| {
        let mut japanese: Vec<(Box<str>, u16)> = Language::Japanese
            .word_list()
            .iter()
            .zip(0u16..)
            .map(|(w, i)| (w.nfkc().collect::<String>().into_boxed_str(), i))
            .collect();
        japanese.sort_unstable();
        let mut english = vec![(0u64, 0u16); ENGLISH_SLOTS];
        for (w, i) in Language::English.word_list().iter().zip(0u16..) {
            let Some(key) = pack_ascii(w.as_bytes()) else {
                continue;
            };
            let mut slot = english_slot(key);
            while english.get(slot).is_some_and(|&(k, _)| k != 0) {
                slot = (slot + 1) & (ENGLISH_SLOTS - 1);
            }
            if let Some(e) = english.get_mut(slot) {
                *e = (key, i);
            }
        }
        let mut lists = Lists { english, japanese, vectors: Vec::new() };
        let vectors = TEST_VECTORS
            .iter()
            .filter_map(|v| {
                let mut lang = None;
                let mut idx = Vec::new();
                for w in v.split_whitespace() {
                    let (l, i) = lists.lookup(w)?;
                    lang = Some(l);
                    idx.push(i);
                }
                Some((lang?, idx))
            })
            .collect();
        lists.vectors = vectors;
        lists
    })
}

impl Lists {
    fn lookup(&self, word: &str) -> Option<(SeedLanguage, u16)> {
        if word.is_ascii() {
            return self.english(word.as_bytes()).map(|i| (SeedLanguage::English, i));
        }
        self.japanese
            .binary_search_by(|(w, _)| (**w).cmp(word))
            .ok()
            .and_then(|at| self.japanese.get(at))
            .map(|&(_, i)| (SeedLanguage::Japanese, i))
    }

    /// Index of an ASCII word (any case) in the English list.
    fn english(&self, word: &[u8]) -> Option<u16> {
        self.english_key(pack_ascii(word)?)
    }

    /// Index of the English word packed as `key` by [`pack_ascii`].
    fn english_key(&self, key: u64) -> Option<u16> {
        let mut slot = english_slot(key);
        // Half-full table: probes are short, and an empty slot ends them.
        while let Some(&(k, i)) = self.english.get(slot) {
            if k == key {
                return Some(i);
            }
            if k == 0 {
                return None;
            }
            slot = (slot + 1) & (ENGLISH_SLOTS - 1);
        }
        None
    }
}

#[derive(Default)]
struct Run {
    lang: Option<SeedLanguage>,
    count: usize,
    range: Range<usize>,
    /// First MAX_EXAMINED word indices; later words are only counted.
    indices: Vec<u16>,
}

impl Run {
    fn push(&mut self, lang: SeedLanguage, idx: u16, range: Range<usize>) {
        if self.count == 0 {
            self.lang = Some(lang);
            self.range.start = range.start;
            self.indices.clear();
        }
        self.count += 1;
        self.range.end = range.end;
        if self.indices.len() < MAX_EXAMINED {
            self.indices.push(idx);
        }
    }

    /// Ends the run; runs every non-list word, so the common case (too short
    /// to report) is kept small enough to inline.
    #[inline]
    fn flush(&mut self, hits: &mut Vec<SeedHit>) {
        if self.count >= MIN_WORDS {
            self.report(hits);
        }
        self.count = 0;
        self.lang = None;
    }

    #[cold]
    fn report(&self, hits: &mut Vec<SeedHit>) {
        if let Some(lang) = self.lang {
            hits.push(SeedHit {
                range: self.range.clone(),
                words: self.count,
                language: lang,
                checksum_valid: any_valid_window(lang, &self.indices),
                test_vector: contains_test_vector(lang, &self.indices),
            });
        }
    }
}

fn any_valid_window(lang: SeedLanguage, idx: &[u16]) -> bool {
    let mut phrase = String::new();
    for len in VALID_LENGTHS {
        for window in idx.windows(len) {
            // The bit-level check is cheap; only confirm its rare passes with
            // the bip39 crate, whose Japanese lookup is a linear scan.
            if checksum_bits_ok(window) && confirm_with_bip39(lang, window, &mut phrase) {
                return true;
            }
        }
    }
    false
}

/// BIP39: the last `words / 3` bits are the leading bits of SHA256(entropy).
fn checksum_bits_ok(idx: &[u16]) -> bool {
    let words = idx.len();
    if !VALID_LENGTHS.contains(&words) {
        return false;
    }
    let mut bytes = [0u8; 33];
    let (mut acc, mut nbits, mut out) = (0u32, 0u32, 0usize);
    for &i in idx {
        acc = (acc << 11) | u32::from(i & 0x7ff);
        nbits += 11;
        while nbits >= 8 {
            nbits -= 8;
            if let Some(b) = bytes.get_mut(out) {
                *b = (acc >> nbits) as u8;
            }
            out += 1;
        }
        acc &= (1 << nbits) - 1;
    }
    // Leftover bits (the checksum for 12..=21 words) go left-aligned.
    if nbits > 0
        && let Some(b) = bytes.get_mut(out)
    {
        *b = (acc << (8 - nbits)) as u8;
    }
    let cs_bits = words / 3;
    let ent_bytes = words * 11 * 32 / 33 / 8;
    let hash = Sha256::digest(&bytes[..ent_bytes]);
    let mask = 0xffu8 << (8 - cs_bits);
    let got = bytes.get(ent_bytes).copied().unwrap_or(0);
    let want = hash.first().copied().unwrap_or(0);
    got & mask == want & mask
}

fn confirm_with_bip39(lang: SeedLanguage, idx: &[u16], phrase: &mut String) -> bool {
    let list = lang.bip39().word_list();
    phrase.clear();
    for &i in idx {
        let Some(w) = list.get(usize::from(i)) else {
            return false;
        };
        if !phrase.is_empty() {
            phrase.push(' ');
        }
        // The crate's own spelling (NFKD for Japanese) is what it expects.
        phrase.push_str(w);
    }
    Mnemonic::parse_in_normalized(lang.bip39(), phrase).is_ok()
}

fn contains_test_vector(lang: SeedLanguage, idx: &[u16]) -> bool {
    lists().vectors.iter().any(|(l, v)| *l == lang && idx.windows(v.len()).any(|w| w == v.as_slice()))
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// Numbering or stray punctuation: does not break a run.
    Skip,
    /// Anything else breaks a run.
    Other,
    /// A list word; the flag is set when trailing punctuation ends the run
    /// ("seed: …", "… about. please help"), which keeps labels and the
    /// following sentence out of the reported range.
    Word(SeedLanguage, u16, Range<usize>, bool),
}

/// Word separators: white space (`char::is_whitespace`), `,`, `、` and `，`.
/// The scan reads them from bytes with [`separator_len`]; this is the
/// definition that the tests hold it to.
#[cfg(test)]
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '、' | '，')
}

/// Length of the separator (white space, `,`, `、` or `，`) starting at byte
/// `pos`, or 0 if none, read from its UTF-8 bytes so that no character is
/// decoded. Non-ASCII separators are U+0085, U+00A0, U+1680,
/// U+2000..=U+200A, U+2028, U+2029, U+202F, U+205F (white space), U+3000,
/// `、` (U+3001) and `，` (U+FF0C).
#[inline]
fn separator_len(bytes: &[u8], pos: usize) -> usize {
    match bytes.get(pos) {
        Some(&b) if b < 0x80 => usize::from(is_ascii_separator(b)),
        Some(0xC2) => 2 * usize::from(matches!(bytes.get(pos + 1), Some(0x85 | 0xA0))),
        Some(0xE1..=0xE3 | 0xEF) => match bytes.get(pos..pos + 3) {
            Some(
                [0xE1, 0x9A, 0x80]
                | [0xE2, 0x80, 0x80..=0x8A | 0xA8 | 0xA9 | 0xAF]
                | [0xE2, 0x81, 0x9F]
                | [0xE3, 0x80, 0x80 | 0x81]
                | [0xEF, 0xBC, 0x8C],
            ) => 3,
            _ => 0,
        },
        _ => 0,
    }
}

/// ASCII white space (`\t`..=`\r`, space) and `,`.
fn is_ascii_separator(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ' | b',')
}

/// How many bytes past a block [`block_separators`] reads, for `U+3000` and `、`.
const SEPARATOR_LOOKAHEAD: usize = 2;

/// The block test of [`for_each_flagged`] for separators: ASCII ones, the
/// lead bytes of the rarer non-ASCII ones (C2, E1, E2, EF), and `U+3000` and
/// `、` whole (E3 80 80/81; E3 also leads all hiragana and katakana).
/// [`separator_len`] has the last word.
#[inline]
fn block_separators(w: &[u8; BLOCK + SEPARATOR_LOOKAHEAD]) -> u128 {
    let [b0, b1, b2] = shifted_rows::<{ SEPARATOR_LOOKAHEAD + 1 }>(w);
    let mut hits = [0u8; BLOCK];
    for (k, hit) in hits.iter_mut().enumerate() {
        let b = b0[k];
        let ascii = (b.wrapping_sub(b'\t') < 5) | (b == b' ') | (b == b',');
        let lead = (b == 0xC2) | (b == 0xE1) | (b == 0xE2) | (b == 0xEF);
        let ideographic = (b == 0xE3) & (b1[k] == 0x80) & ((b2[k] | 1) == 0x81);
        *hit = u8::from(ascii | lead | ideographic);
    }
    u128::from_le_bytes(hits)
}

/// Calls `f` with the byte range of each run of text between separators.
fn for_each_token(text: &str, mut f: impl FnMut(Range<usize>)) {
    let bytes = text.as_bytes();
    // Start of the text not yet given out.
    let mut from = 0;
    for_each_flagged(bytes, block_separators, |at| {
        // ASCII bytes are flagged only when they are separators.
        let n = match bytes.get(at) {
            Some(&b) if b < 0x80 => 1,
            _ => separator_len(bytes, at),
        };
        if n == 0 || at < from {
            return;
        }
        if at > from {
            f(from..at);
        }
        from = at + n;
    });
    if from < bytes.len() {
        f(from..bytes.len());
    }
}

/// Byte length of a list-numbering prefix such as `1.`, `2)`, `(3)`, `#4`,
/// `12:`; zero when there is none.
fn numbering_len(tok: &[u8]) -> usize {
    let mut i = 0;
    if matches!(tok.first(), Some(b'(' | b'#' | b'[')) {
        i += 1;
    }
    let digits = tok.get(i..).map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count());
    if !(1..=2).contains(&digits) {
        return 0;
    }
    i += digits;
    if matches!(tok.get(i), Some(b'.' | b')' | b':' | b']' | b'-')) {
        i += 1;
    }
    i
}

fn is_edge_punct(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '「' | '」' | '『' | '』' | '。' | '・' | '（' | '）' | '“' | '”' | '‘' | '’')
}

// Longest NFKC list word: 8 bytes in English, 21 in Japanese.
const MAX_WORD_BYTES: usize = 24;

/// Classifies any token; [`find_seed_phrases`] uses it for those with
/// non-ASCII characters and [`classify_ascii`] for the rest.
fn classify(text: &str, tok: Range<usize>, fold: &mut String) -> Token {
    let Some(raw) = text.get(tok.clone()) else {
        return Token::Other;
    };
    // Fast path for the common plain Latin word: nothing to strip.
    let b = raw.as_bytes();
    if b.len() <= 8 && b.iter().all(u8::is_ascii_alphabetic) {
        return match lists().lookup(raw) {
            Some((lang, idx)) => Token::Word(lang, idx, tok, false),
            None => Token::Other,
        };
    }
    let num = numbering_len(raw.as_bytes());
    if num == raw.len() {
        return Token::Skip;
    }
    // A glued prefix ("1.abandon") only counts when it ends in punctuation,
    // so "12abandon" is not mistaken for numbering.
    let num = if num > 0 && raw.as_bytes().get(num - 1).is_some_and(u8::is_ascii_digit) { 0 } else { num };
    let Some(body) = raw.get(num..) else {
        return Token::Other;
    };
    let trimmed_start = body.trim_start_matches(is_edge_punct);
    let word = trimmed_start.trim_end_matches(is_edge_punct);
    if word.is_empty() {
        return Token::Skip;
    }
    if word.len() > MAX_WORD_BYTES {
        return Token::Other;
    }
    let start = tok.start + num + (body.len() - trimmed_start.len());
    let range = start..start + word.len();
    let ends_run = trimmed_start.get(word.len()..).is_some_and(|tail| tail.contains(['.', '!', '?', ':', '。']));
    match lookup_folded(word, fold) {
        Some((lang, idx)) => Token::Word(lang, idx, range, ends_run),
        None => Token::Other,
    }
}

/// [`classify`] for an all-ASCII token `b` starting at byte `start`, on
/// bytes. For ASCII, edge punctuation is ASCII punctuation and a list word
/// is an English one.
fn classify_ascii(lists: &Lists, b: &[u8], start: usize) -> Token {
    let word_token = |idx: Option<u16>, range: Range<usize>, ends_run: bool| match idx {
        Some(idx) => Token::Word(SeedLanguage::English, idx, range, ends_run),
        None => Token::Other,
    };
    // The common plain word: nothing to strip.
    if b.iter().all(u8::is_ascii_alphabetic) {
        return word_token(lists.english(b), start..start + b.len(), false);
    }
    let num = numbering_len(b);
    if num == b.len() {
        return Token::Skip;
    }
    // A glued prefix ("1.abandon") only counts when it ends in punctuation,
    // so "12abandon" is not mistaken for numbering.
    let num = if num > 0 && b.get(num - 1).is_some_and(u8::is_ascii_digit) { 0 } else { num };
    let body = b.get(num..).unwrap_or_default();
    let lead = body.iter().take_while(|c| c.is_ascii_punctuation()).count();
    let trimmed_start = body.get(lead..).unwrap_or_default();
    let trail = trimmed_start.iter().rev().take_while(|c| c.is_ascii_punctuation()).count();
    let (word, tail) = trimmed_start.split_at(trimmed_start.len() - trail);
    if word.is_empty() {
        return Token::Skip;
    }
    if word.len() > MAX_WORD_BYTES {
        return Token::Other;
    }
    let start = start + num + lead;
    let ends_run = tail.iter().any(|c| matches!(c, b'.' | b'!' | b'?' | b':'));
    word_token(lists.english(word), start..start + word.len(), ends_run)
}

const ENGLISH_SLOTS: usize = 4096;

fn english_slot(key: u64) -> usize {
    // Fibonacci hashing: the top 12 bits of the product index the table.
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize
}

/// Packs a 3-8 letter ASCII word, lowercased, into a `u64`; every English
/// list word fits, and ASCII case folding comes for free.
fn pack_ascii(word: &[u8]) -> Option<u64> {
    if !(3..=8).contains(&word.len()) {
        return None;
    }
    let mut key = 0u64;
    for (i, &b) in word.iter().enumerate() {
        if !b.is_ascii_alphabetic() {
            return None;
        }
        key |= u64::from(b.to_ascii_lowercase()) << (56 - 8 * i);
    }
    Some(key)
}

/// The token at `tok` packed like [`pack_ascii`] does, but read as one 8-byte
/// load from the text and checked and lowercased eight bytes at a time, and
/// for any length from 1 to 8. `None` when the token is not 1-8 ASCII
/// letters, or when fewer than 8 bytes of text are left from its start (then
/// the caller takes the general path, same result).
#[inline]
fn pack_in_place(bytes: &[u8], tok: &Range<usize>) -> Option<u64> {
    let len = tok.len();
    if !(1..=8).contains(&len) {
        return None;
    }
    let word: [u8; 8] = bytes.get(tok.start..tok.start + 8)?.try_into().ok()?;
    let keep = u64::MAX << (8 * (8 - len));
    let high = 0x8080_8080_8080_8080 & keep;
    let x = u64::from_be_bytes(word);
    if x & high != 0 {
        return None;
    }
    // With every kept byte below 0x80, no per-byte sum below carries into the
    // next byte: bit 7 of `y + 0x1F` says `y >= b'a'`, of `y + 0x05` that
    // `y > b'z'`. Setting bit 5 folds exactly the letters onto `a..=z`.
    let y = (x | 0x2020_2020_2020_2020) & keep;
    let at_least_a = y.wrapping_add(0x1F1F_1F1F_1F1F_1F1F) & high;
    let above_z = y.wrapping_add(0x0505_0505_0505_0505) & high;
    (at_least_a == high && above_z == 0).then_some(y)
}

/// Looks a word up, folding katakana to hiragana only when present so that
/// the common path allocates nothing.
fn lookup_folded(word: &str, fold: &mut String) -> Option<(SeedLanguage, u16)> {
    let is_katakana = |c: char| ('\u{30A1}'..='\u{30F6}').contains(&c);
    if word.is_ascii() || !word.chars().any(is_katakana) {
        return lists().lookup(word);
    }
    fold.clear();
    for c in word.chars() {
        let c = if is_katakana(c) { char::from_u32(u32::from(c) - 0x60).unwrap_or(c) } else { c };
        fold.push(c);
    }
    lists().lookup(fold)
}

// Input -> output cases: tests/data/detectors/seed.toml, run by tests/detectors.rs.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_strings::random_strings;
    use std::path::PathBuf;

    const ABANDON: &str =
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    fn fold_like_caller(s: &str) -> String {
        let nfkc: String = s.nfkc().collect();
        let lower = nfkc.to_lowercase();
        lower
            .chars()
            .map(|c| match c {
                '\u{30A1}'..='\u{30F6}' => char::from_u32(u32::from(c) - 0x60).unwrap_or(c),
                '\u{3000}' => ' ',
                _ => c,
            })
            .collect()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex")).collect()
    }

    #[test]
    fn test_vectors_match_their_entropy() {
        // Entropy for each TEST_VECTORS entry, in order.
        let entropy = [
            "00".repeat(16),
            "7f".repeat(16),
            "80".repeat(16),
            "ff".repeat(16),
            "00".repeat(24),
            "7f".repeat(24),
            "80".repeat(24),
            "ff".repeat(24),
            "00".repeat(32),
            "7f".repeat(32),
            "80".repeat(32),
            "ff".repeat(32),
            "c0ba5a8e914111210f2bd131f3d5e08d".to_string(),
            "9e885d952ad362caeb4efe34a8e91bd2".to_string(),
        ];
        assert_eq!(entropy.len() + 1, TEST_VECTORS.len());
        for (e, v) in entropy.iter().zip(TEST_VECTORS) {
            let m = Mnemonic::from_entropy_in(Language::English, &hex(e)).expect("entropy");
            assert_eq!(m.to_string(), *v);
        }
        let ja = Mnemonic::from_entropy_in(Language::Japanese, &[0u8; 16]).expect("entropy");
        let ja = fold_like_caller(&ja.words().collect::<Vec<_>>().join("\u{3000}"));
        assert_eq!(ja, TEST_VECTORS[TEST_VECTORS.len() - 1]);
        assert_eq!(lists().vectors.len(), TEST_VECTORS.len());
    }

    #[test]
    fn test_vector_hits() {
        for v in TEST_VECTORS {
            let text = format!("my seed: {v}. please help");
            let hits = find_seed_phrases(&text);
            assert_eq!(hits.len(), 1, "{v}");
            let h = &hits[0];
            assert!(h.checksum_valid && h.test_vector, "{v}");
            assert_eq!(&text[h.range.clone()], *v);
            assert_eq!(h.words, v.split(' ').count());
        }
    }

    #[test]
    fn huge_run_is_one_hit() {
        let huge = "zoo ".repeat(5000);
        let hits = find_seed_phrases(&huge);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].words, 5000);
    }

    #[test]
    fn fast_checksum_agrees_with_bip39() {
        // Deterministic pseudo-random indices; compare on every valid length.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut phrase = String::new();
        let mut valid_seen = 0;
        for round in 0..400 {
            let len = VALID_LENGTHS[round % VALID_LENGTHS.len()];
            let mut idx: Vec<u16> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 2048) as u16
                })
                .collect();
            // Make every other case valid by fixing the last word.
            if round % 2 == 0 {
                let last = idx.len() - 1;
                let fixed = (0..2048u16).find(|&w| {
                    idx[last] = w;
                    checksum_bits_ok(&idx)
                });
                assert!(fixed.is_some());
            }
            for lang in [SeedLanguage::English, SeedLanguage::Japanese] {
                let fast = checksum_bits_ok(&idx);
                let slow = confirm_with_bip39(lang, &idx, &mut phrase);
                assert_eq!(fast, slow, "{idx:?}");
                valid_seen += usize::from(fast);
            }
        }
        assert!(valid_seen >= 400);
    }

    fn reference_dir() -> Option<PathBuf> {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        ["../../shared/datasets/bip39-wordlists", "../shared/datasets/bip39-wordlists"]
            .iter()
            .map(|rel| manifest.join(rel))
            .find(|p| p.join("japanese.txt").is_file())
    }

    #[test]
    fn word_lists_match_reference_copy() {
        let Some(dir) = reference_dir() else {
            eprintln!("reference BIP39 word lists not found; skipping");
            return;
        };
        for (file, lang) in [("english.txt", SeedLanguage::English), ("japanese.txt", SeedLanguage::Japanese)] {
            let body = std::fs::read_to_string(dir.join(file)).expect("read word list");
            let words: Vec<&str> = body.lines().filter(|l| !l.is_empty()).collect();
            assert_eq!(words.len(), 2048, "{file}");
            for (i, w) in words.iter().enumerate() {
                let nfkc: String = w.nfkc().collect();
                assert_eq!(lists().lookup(&nfkc), Some((lang, i as u16)), "{file}:{i} {w}");
            }
        }
    }

    #[test]
    fn odd_inputs_never_panic() {
        let inputs = [
            String::new(),
            " ".into(),
            "\u{3000}".into(),
            "é".into(),
            "あ".into(),
            "😀".into(),
            ",,,,、、、".into(),
            "1.".into(),
            "(".into(),
            "#".into(),
            "(12".into(),
            "123456789.".into(),
            "あ".repeat(5000),
            "zoo😀".repeat(100),
            format!("{ABANDON}😀"),
            format!("1.{}", "。".repeat(100)),
            "ア ".repeat(30),
            "\u{0}\u{FFFF}\u{10FFFF}".into(),
        ];
        for s in &inputs {
            for h in find_seed_phrases(s) {
                assert!(s.is_char_boundary(h.range.start) && s.is_char_boundary(h.range.end));
            }
        }
    }

    #[test]
    fn language_names() {
        assert_eq!(SeedLanguage::English.as_str(), "english");
        assert_eq!(SeedLanguage::Japanese.as_str(), "japanese");
    }

    #[test]
    fn byte_separators_match_char_separators() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let mut buf = [0u8; 4];
            let enc = c.encode_utf8(&mut buf).as_bytes();
            let want = if is_separator(c) { c.len_utf8() } else { 0 };
            assert_eq!(separator_len(enc, 0), want, "{c:?}");
        }
    }

    #[test]
    fn tokens_match_a_char_splitter() {
        let mut texts = random_strings(0x70c3_4e45, 3000);
        texts.push(
            "a\u{85}b\u{a0}c\u{1680}d\u{2000}e\u{200a}f\u{200b}g\u{2028}h\u{202f}i\u{205f}j\u{3000}k、l，m,,n".into(),
        );
        for t in &texts {
            let mut ours: Vec<Range<usize>> = Vec::new();
            for_each_token(t, |tok| ours.push(tok));
            let mut reference = Vec::new();
            let mut start = None;
            for (i, c) in t.char_indices().chain([(t.len(), ' ')]) {
                match (is_separator(c), start) {
                    (true, Some(s)) => {
                        reference.push(s..i);
                        start = None;
                    }
                    (false, None) => start = Some(i),
                    _ => {}
                }
            }
            assert_eq!(ours, reference, "{t:?}");
        }
    }

    #[test]
    fn packing_in_place_matches_packing() {
        let mut texts = random_strings(0x9ac4_ed00, 3000);
        texts.extend(["abandon zoo ZOO Zoo zoo@ a`b a{b a[b a@b ab ABCDEFGH abcdefghi".to_string(), "é".repeat(9)]);
        for t in &texts {
            for start in 0..t.len() {
                for end in start..(start + 10).min(t.len() + 1) {
                    let b = &t.as_bytes()[start..end];
                    let letters = (1..=8).contains(&b.len()) && b.iter().all(u8::is_ascii_alphabetic);
                    let want = (t.len() - start >= 8 && letters).then(|| {
                        b.iter()
                            .enumerate()
                            .fold(0u64, |k, (i, c)| k | u64::from(c.to_ascii_lowercase()) << (56 - 8 * i))
                    });
                    if b.len() >= 3 && want.is_some() {
                        assert_eq!(want, pack_ascii(b));
                    }
                    assert_eq!(pack_in_place(t.as_bytes(), &(start..end)), want, "{t:?} {start}..{end}");
                }
            }
        }
        for c in 0..=255u8 {
            let b = [c, b'a', b'a', 0, 0, 0, 0, 0];
            assert_eq!(pack_in_place(&b, &(0..3)), pack_ascii(&b[..3]), "{c}");
            assert_eq!(pack_in_place(&b, &(0..1)).is_some(), c.is_ascii_alphabetic(), "{c}");
            let b = [b'a', b'a', b'a', b'a', b'a', b'a', b'a', c];
            assert_eq!(pack_in_place(&b, &(0..8)), pack_ascii(&b), "{c}");
        }
    }

    #[test]
    fn ascii_classification_matches_the_general_one() {
        const PIECES: &[&str] = &[
            "1",
            "12",
            "123",
            ".",
            ")",
            "(",
            "#",
            "[",
            "]",
            ":",
            "-",
            "!",
            "?",
            "'",
            "abandon",
            "ZOO",
            "Able",
            "x",
            "ab",
            "legal",
            "toolongword",
            "seed",
        ];
        let mut x: u64 = 0x2545_f491;
        let mut fold = String::new();
        for _ in 0..50_000 {
            let mut tok = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for _ in 0..1 + x % 5 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                tok.push_str(PIECES[(x % PIECES.len() as u64) as usize]);
            }
            let text = format!("  {tok}");
            assert_eq!(
                classify_ascii(lists(), tok.as_bytes(), 2),
                classify(&text, 2..text.len(), &mut fold),
                "{tok:?}"
            );
        }
    }

    /// The scan without skipping or fast paths: every token classified by
    /// [`classify`], in order.
    fn reference_scan(text: &str) -> Vec<SeedHit> {
        let mut hits = Vec::new();
        let mut run = Run::default();
        let mut fold = String::new();
        let mut tokens = Vec::new();
        for_each_token(text, |tok| tokens.push(tok));
        for tok in tokens {
            match classify(text, tok, &mut fold) {
                Token::Skip => {}
                Token::Other => run.flush(&mut hits),
                Token::Word(lang, idx, range, ends_run) => {
                    if run.lang.is_some_and(|l| l != lang) {
                        run.flush(&mut hits);
                    }
                    run.push(lang, idx, range);
                    if ends_run {
                        run.flush(&mut hits);
                    }
                }
            }
        }
        run.flush(&mut hits);
        hits
    }

    #[test]
    fn scan_matches_the_plain_scan() {
        const WORDS: &[&str] = &[
            "abandon",
            "zoo",
            "legal",
            "winner",
            "Thank",
            "YEAR",
            "wave",
            "the",
            "of",
            "a",
            "1.",
            "2)",
            "(3)",
            "#4",
            "-",
            "...",
            "about.",
            "able:",
            "seed:",
            "1.abandon",
            "12abandon",
            "あいこくしん",
            "あおぞら",
            "アイコクシン",
            "日本語",
            "zoo😀",
            "、",
            ",",
            "\u{3000}",
            "\n",
            "withdrawal",
            "ab",
        ];
        let mut x: u64 = 0x5ca1_ab1e;
        let mut texts: Vec<String> = TEST_VECTORS.iter().map(|v| format!("x {v} y")).collect();
        for _ in 0..4000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 60) as usize;
            // Mostly list words, so that long runs and breaks both occur.
            let bias = x % 4;
            let text: Vec<&str> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let k = (x % WORDS.len() as u64) as usize;
                    if (x >> 20) % 4 < bias { WORDS[k % 3] } else { WORDS[k] }
                })
                .collect();
            texts.push(text.join(if x.is_multiple_of(3) { "  " } else { " " }));
        }
        texts.extend(random_strings(0xfeed, 2000));
        let mut found = 0;
        for t in &texts {
            let hits = find_seed_phrases(t);
            found += hits.len();
            assert_eq!(hits, reference_scan(t), "{t:?}");
        }
        // The generator must produce runs for the comparison to mean much.
        assert!(found > 500, "{found}");
    }

    #[test]
    fn random_strings_never_panic() {
        for s in random_strings(0x5eed_5eed, 3000) {
            for hit in find_seed_phrases(&s) {
                assert!(s.get(hit.range.clone()).is_some(), "{s:?}");
                assert!(hit.words >= MIN_WORDS);
            }
        }
    }
}
