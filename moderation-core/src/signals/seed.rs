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
    let mut run = Run::default();
    let mut fold = String::new();
    for tok in tokens(text) {
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
            let key = pack_ascii(word.as_bytes())?;
            let mut slot = english_slot(key);
            // Half-full table: probes are short, and an empty slot ends them.
            while let Some(&(k, i)) = self.english.get(slot) {
                if k == key {
                    return Some((SeedLanguage::English, i));
                }
                if k == 0 {
                    return None;
                }
                slot = (slot + 1) & (ENGLISH_SLOTS - 1);
            }
            return None;
        }
        self.japanese
            .binary_search_by(|(w, _)| (**w).cmp(word))
            .ok()
            .and_then(|at| self.japanese.get(at))
            .map(|&(_, i)| (SeedLanguage::Japanese, i))
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

    fn flush(&mut self, hits: &mut Vec<SeedHit>) {
        if let Some(lang) = self.lang
            && self.count >= MIN_WORDS
        {
            hits.push(SeedHit {
                range: self.range.clone(),
                words: self.count,
                language: lang,
                checksum_valid: any_valid_window(lang, &self.indices),
                test_vector: contains_test_vector(lang, &self.indices),
            });
        }
        self.count = 0;
        self.lang = None;
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

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '、' | '，')
}

/// Length of the separator starting at byte `pos`, or 0 if none. ASCII is
/// decided from the byte alone; only non-ASCII bytes pay for decoding.
fn separator_len(text: &str, pos: usize) -> usize {
    match text.as_bytes().get(pos) {
        None => 0,
        Some(&b) if b < 0x80 => usize::from(b.is_ascii_whitespace() || b == b',' || b == 0x0b),
        Some(_) => match text.get(pos..).and_then(|r| r.chars().next()) {
            Some(c) if is_separator(c) => c.len_utf8(),
            _ => 0,
        },
    }
}

/// Byte ranges of the text between separators.
fn tokens(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        loop {
            let n = separator_len(text, pos);
            if n == 0 {
                break;
            }
            pos += n;
        }
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        while pos < bytes.len() && separator_len(text, pos) == 0 {
            // Step over a whole character so `pos` stays on a boundary.
            pos += match bytes.get(pos) {
                Some(&b) if b >= 0xF0 => 4,
                Some(&b) if b >= 0xE0 => 3,
                Some(&b) if b >= 0xC0 => 2,
                _ => 1,
            };
        }
        pos = pos.min(bytes.len());
        Some(start..pos)
    })
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

#[cfg(test)]
mod tests {
    use super::*;
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
    fn eleven_words_are_not_a_hit() {
        let (_, eleven) = ABANDON.split_once(' ').expect("words");
        assert!(find_seed_phrases(eleven).is_empty());
        assert!(find_seed_phrases(&format!("the {eleven} the")).is_empty());
    }

    #[test]
    fn english_prose_is_not_a_hit() {
        let text = "i think the price will go up again soon because of the news";
        assert!(find_seed_phrases(text).is_empty());
        let text = "we will buy more bitcoin when the market drops again and hold it for years \
                    because that is what smart people do";
        assert!(find_seed_phrases(text).is_empty());
    }

    #[test]
    fn changed_word_still_hits_without_checksum() {
        let text = "legal winner thank year wave sausage worth useful legal winner thank zoo";
        let hits = find_seed_phrases(text);
        assert_eq!(hits.len(), 1);
        assert!(!hits[0].checksum_valid);
        assert!(!hits[0].test_vector);
        assert_eq!(hits[0].words, 12);
        assert_eq!(hits[0].language, SeedLanguage::English);
    }

    #[test]
    fn numbered_and_comma_separated() {
        let text = "1. legal 2. winner 3) thank (4) year #5 wave 6: sausage 7 worth 8.useful \
                    9. legal 10. winner 11. thank 12. yellow";
        let hits = find_seed_phrases(text);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].words, 12);
        assert!(hits[0].checksum_valid && hits[0].test_vector);
        assert!(text[hits[0].range.clone()].starts_with("legal"));
        assert!(text[hits[0].range.clone()].ends_with("yellow"));
        let commas = ABANDON.replace(' ', ",");
        assert_eq!(find_seed_phrases(&commas).len(), 1);
        let upper = ABANDON.to_ascii_uppercase();
        assert_eq!(find_seed_phrases(&upper).len(), 1);
        let newlines = ABANDON.replace(' ', "\n");
        assert_eq!(find_seed_phrases(&newlines).len(), 1);
        // Sentence punctuation ends a run, so a label or the next sentence
        // made of list words is not swallowed.
        let text = format!("seed: {ABANDON}. please help");
        let hits = find_seed_phrases(&text);
        assert_eq!(hits.len(), 1);
        assert_eq!(&text[hits[0].range.clone()], ABANDON);
        let text = "abandon abandon abandon abandon abandon abandon. abandon abandon abandon abandon abandon about";
        assert!(find_seed_phrases(text).is_empty());
        // A non-list word splits a run in two; neither part is long enough.
        let split = ABANDON.replacen("abandon abandon", "abandon the abandon", 1);
        assert!(find_seed_phrases(&split).is_empty());
    }

    #[test]
    fn long_run_is_one_hit_with_window_check() {
        let text = format!("zoo zoo zoo {} ability able. ok", TEST_VECTORS[1]);
        let hits = find_seed_phrases(&text);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].words, 17);
        assert!(hits[0].checksum_valid && hits[0].test_vector);
        let huge = "zoo ".repeat(5000);
        let hits = find_seed_phrases(&huge);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].words, 5000);
    }

    #[test]
    fn japanese_mnemonic_after_caller_folding() {
        let m = Mnemonic::from_entropy_in(Language::Japanese, &[0x5au8; 16]).expect("entropy");
        let raw = m.words().collect::<Vec<_>>().join("\u{3000}");
        let text = fold_like_caller(&format!("ウォレットの復元フレーズ： {raw}。"));
        let hits = find_seed_phrases(&text);
        assert_eq!(hits.len(), 1, "{text}");
        let h = &hits[0];
        assert_eq!(h.language, SeedLanguage::Japanese);
        assert_eq!(h.words, 12);
        assert!(h.checksum_valid);
        assert!(!h.test_vector);
        // Still found when the caller kept U+3000 or did not fold katakana.
        let nfkc: String = raw.nfkc().collect();
        assert_eq!(find_seed_phrases(&nfkc).len(), 1);
        let kata: String = nfkc
            .chars()
            .map(|c| match c {
                '\u{3041}'..='\u{3096}' => char::from_u32(u32::from(c) + 0x60).unwrap_or(c),
                _ => c,
            })
            .collect();
        let hits = find_seed_phrases(&kata);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].checksum_valid);
        // The Japanese test vector is recognised.
        let v = Mnemonic::from_entropy_in(Language::Japanese, &[0u8; 16]).expect("entropy");
        let v = fold_like_caller(&v.words().collect::<Vec<_>>().join("\u{3000}"));
        let hits = find_seed_phrases(&v);
        assert!(hits.len() == 1 && hits[0].test_vector && hits[0].checksum_valid);
    }

    #[test]
    fn languages_do_not_mix() {
        let ja = TEST_VECTORS[TEST_VECTORS.len() - 1];
        let six_ja: Vec<&str> = ja.split(' ').take(6).collect();
        let six_en: Vec<&str> = ABANDON.split(' ').take(6).collect();
        let text = format!("{} {}", six_en.join(" "), six_ja.join(" "));
        assert!(find_seed_phrases(&text).is_empty());
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
        assert_eq!(find_seed_phrases(&format!("{ABANDON}😀")).len(), 0);
        assert_eq!(find_seed_phrases(&format!("{ABANDON} 😀")).len(), 1);
    }

    #[test]
    fn language_names() {
        assert_eq!(SeedLanguage::English.as_str(), "english");
        assert_eq!(SeedLanguage::Japanese.as_str(), "japanese");
    }

    /// Deterministic random strings over characters that matter to the
    /// parsers (digits, base58, separators, multibyte, labels).
    fn random_strings(seed: u64, count: usize) -> Vec<String> {
        const PIECES: &[&str] = &[
            "0",
            "1",
            "5",
            "9",
            "a",
            "f",
            "x",
            "K",
            "T",
            "z",
            "O",
            "l",
            " ",
            "\u{3000}",
            ",",
            ".",
            "-",
            "+",
            "(",
            ")",
            "@",
            "/",
            ":",
            "#",
            "\n",
            "é",
            "秘",
            "あ",
            "ア",
            "０",
            "－",
            "😀",
            "bc1",
            "0x",
            "t.me/",
            "line id",
            "telegram",
            "whatsapp",
            "private key",
            "txid",
            "abandon",
            "zoo",
            "テレグラム",
            "秘密鍵",
        ];
        let mut x = seed | 1;
        (0..count)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let len = (x % 80) as usize;
                (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        PIECES[(x % PIECES.len() as u64) as usize]
                    })
                    .collect()
            })
            .collect()
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
