//! Near-duplicate detection: MinHash fingerprints of a post's normalized
//! text and an LSH index over them.
//!
//! A wave of copies of one lure ("send 0.5 BTC to …", then "send 2 BTC to
//! …" from the next account) differs in numbers, names and a word or two.
//! A [`Fingerprint`] is the MinHash signature of the text's words and word
//! pairs, with case folded, punctuation dropped and digits left out of
//! words (a word of digits alone reads `0`); Chinese, Japanese and Korean
//! characters count as words of their own. Two fingerprints agree in about
//! the share of positions that the texts' sets of words and pairs overlap
//! (Jaccard similarity). [`NearDuplicates`] finds, among fingerprints seen so far,
//! one at least as similar as its threshold, looking only at those that
//! share a band of the signature (locality-sensitive hashing), so a search
//! among thousands costs a few hash lookups.
//!
//! ```
//! use moderation_core::fingerprint::{Fingerprint, NearDuplicates};
//!
//! let a = Fingerprint::of("send 0.5 btc to the wallet below and get 1 btc back within the hour").unwrap();
//! let b = Fingerprint::of("send 2 btc to the wallet below and get 4 btc back within the hour!").unwrap();
//! let c = Fingerprint::of("my tomatoes have yellow leaves, should i water them less this week").unwrap();
//! assert!(a.similarity(&b) > 0.7 && a.similarity(&c) < 0.2);
//!
//! let mut seen = NearDuplicates::new(0.7);
//! assert_eq!(seen.find_or_insert(a), None);
//! assert_eq!(seen.find_or_insert(c), None);
//! assert_eq!(seen.find_or_insert(b), Some(0), "b is a copy of the first");
//! ```

use std::collections::HashMap;

use crate::post::Post;
use crate::text::quotes;

/// MinHash positions in a fingerprint.
pub const POSITIONS: usize = 32;
/// LSH bands (of `POSITIONS / BANDS` positions each).
pub const BANDS: usize = 16;
const ROWS: usize = POSITIONS / BANDS;
/// Fewest words for a fingerprint; shorter texts ("thanks!", "gm") are
/// compared exactly, never as near-duplicates.
pub const MIN_WORDS: usize = 5;

/// The MinHash signature of a text's words and word pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u32; POSITIONS]);

impl Fingerprint {
    /// The fingerprint of a normalized text, or `None` when it has fewer
    /// than [`MIN_WORDS`] words.
    pub fn of(text: &str) -> Option<Fingerprint> {
        let words = tokens(text);
        if words.len() < MIN_WORDS {
            return None;
        }
        // Every feature (each word, then each pair of neighbours), mixed.
        let mut features = Vec::with_capacity(2 * words.len());
        features.extend(words.iter().map(|&w| splitmix(w)));
        features.extend(words.windows(2).map(|w| splitmix(w[0] ^ splitmix(w[1] ^ GOLDEN))));
        Some(Fingerprint(min_hashes(&features)))
    }

    /// The fingerprint of a post's title and body as written (not the
    /// normalized view, which reads digits as the letters they imitate:
    /// copies of a lure differ in their numbers), without what the post
    /// quotes ([`own_words`]): a post quoting a lure to warn others is not
    /// a copy of it.
    pub fn of_post(post: &Post) -> Option<Fingerprint> {
        Fingerprint::of(&own_words(post))
    }

    /// The share of positions where two fingerprints agree: an estimate of
    /// the Jaccard similarity of the two texts' sets of words and pairs.
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count() as f64 / POSITIONS as f64
    }

    /// The key of each LSH band: two fingerprints that share one are
    /// candidates for a near-duplicate (a store indexes posts by these).
    pub fn band_keys(&self) -> [u64; BANDS] {
        std::array::from_fn(|b| self.band(b))
    }

    /// The signature as bytes (little-endian), for storing.
    pub fn to_bytes(&self) -> [u8; POSITIONS * 4] {
        let mut out = [0u8; POSITIONS * 4];
        for (chunk, v) in out.chunks_exact_mut(4).zip(self.0) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// A signature stored with [`Fingerprint::to_bytes`]; `None` when the
    /// length is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        if bytes.len() != POSITIONS * 4 {
            return None;
        }
        let mut v = [0u32; POSITIONS];
        for (x, chunk) in v.iter_mut().zip(bytes.chunks_exact(4)) {
            *x = u32::from_le_bytes(chunk.try_into().ok()?);
        }
        Some(Fingerprint(v))
    }

    fn band(&self, b: usize) -> u64 {
        self.0[b * ROWS..(b + 1) * ROWS].iter().fold(b as u64, |acc, &x| splitmix(acc ^ u64::from(x)))
    }
}

/// A post's title and body without what it quotes: Markdown quote lines
/// (`> …`), HTML `<blockquote>…</blockquote>` and BBCode/Discourse
/// `[quote…]…[/quote]` blocks (nested ones too).
pub fn own_words(post: &Post) -> String {
    let body = quotes::without(&post.body, &quotes::block_ranges(&post.body), "");
    let mut out = String::with_capacity(body.len() + 64);
    out.push_str(post.title.as_deref().unwrap_or(""));
    out.push('\n');
    for line in body.lines() {
        if !line.trim_start().starts_with('>') {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// How much a text says, in words: runs of letters and digits count one
/// each, Chinese, Japanese and Korean characters a third each (a word of
/// those scripts is two or three characters). Greetings and thanks ("gm",
/// "thanks!", 「ありがとうございます」) stay under a few words.
pub fn content_words(text: &str) -> f64 {
    let (mut words, mut cjk, mut open) = (0usize, 0usize, false);
    for c in text.chars() {
        // Look-alike letters read as the Latin ones they imitate (a copy
        // spelled with Cyrillic `а` and `о` is still a copy).
        let c = if c.is_ascii() || is_cjk(c) { c } else { crate::text::normalize::fold_char(c).unwrap_or(c) };
        if is_cjk(c) {
            cjk += 1;
            open = false;
        } else if c.is_alphanumeric() {
            if !open {
                words += 1;
            }
            open = true;
        } else {
            open = false;
        }
    }
    words as f64 + cjk as f64 / 3.0
}

/// Fingerprints seen so far, indexed by band.
#[derive(Debug, Clone)]
pub struct NearDuplicates {
    threshold: f64,
    prints: Vec<Fingerprint>,
    bands: HashMap<u64, Vec<u32>>,
}

impl NearDuplicates {
    /// An empty index; two texts are near-duplicates when their fingerprints
    /// agree on at least `threshold` of the positions.
    pub fn new(threshold: f64) -> NearDuplicates {
        NearDuplicates { threshold, prints: Vec::new(), bands: HashMap::new() }
    }

    /// The index (in insertion order) of a fingerprint seen before that is
    /// a near-duplicate of `print`; if there is none, `print` is added and
    /// `None` returned.
    pub fn find_or_insert(&mut self, print: Fingerprint) -> Option<usize> {
        let keys: Vec<u64> = (0..BANDS).map(|b| print.band(b)).collect();
        let mut best: Option<(usize, f64)> = None;
        let mut checked = std::collections::HashSet::new();
        for k in &keys {
            for &i in self.bands.get(k).into_iter().flatten() {
                if !checked.insert(i) {
                    continue;
                }
                let s = self.prints[i as usize].similarity(&print);
                if s >= self.threshold && best.is_none_or(|(j, t)| s > t || (s == t && (i as usize) < j)) {
                    best = Some((i as usize, s));
                }
            }
        }
        if let Some((i, _)) = best {
            return Some(i);
        }
        let id = self.prints.len() as u32;
        self.prints.push(print);
        for k in keys {
            self.bands.entry(k).or_default().push(id);
        }
        None
    }

    /// Fingerprints in the index.
    pub fn len(&self) -> usize {
        self.prints.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.prints.is_empty()
    }
}

/// Each position's minimum over the features of its permutation, a
/// multiply-shift hash of the (already mixed) feature. Eight positions at a
/// time over all features: their minimums stay in registers and the eight
/// multiplications are independent (twice as fast as one feature at a time
/// over all 32 positions, which stored every minimum back each time).
fn min_hashes(features: &[u64]) -> [u32; POSITIONS] {
    const BLOCK: usize = 8;
    let mut mins = [u32::MAX; POSITIONS];
    for (block, out) in mins.chunks_exact_mut(BLOCK).enumerate() {
        let m: [u64; BLOCK] = std::array::from_fn(|j| MULTIPLIERS[block * BLOCK + j]);
        let s: [u64; BLOCK] = std::array::from_fn(|j| SEEDS[block * BLOCK + j]);
        let mut acc = [u32::MAX; BLOCK];
        for f in features {
            for j in 0..BLOCK {
                acc[j] = acc[j].min((f.wrapping_mul(m[j]).wrapping_add(s[j]) >> 32) as u32);
            }
        }
        out.copy_from_slice(&acc);
    }
    mins
}

/// The hashes of a text's words: runs of letters and digits, lowercased,
/// look-alike letters folded to Latin (UTS #39), digits left out (amounts, counts, phone numbers and numbered handles
/// vary between copies of one lure; a word of digits alone reads `0`);
/// every Chinese, Japanese or Korean character is a word.
fn tokens(text: &str) -> Vec<u64> {
    const FNV: u64 = 0xcbf2_9ce4_8422_2325;
    let mut out = Vec::new();
    let (mut h, mut open) = (FNV, false);
    let push = |h: &mut u64, open: &mut bool, out: &mut Vec<u64>| {
        if *open {
            out.push(if *h == FNV { fnv(FNV, '0') } else { *h });
        }
        *h = FNV;
        *open = false;
    };
    for c in text.chars() {
        // ASCII, most of most posts, without the Unicode tables (the same
        // hashes: one byte each, lowercased).
        if c.is_ascii() {
            let b = c as u8;
            if b.is_ascii_alphanumeric() {
                open = true;
                if !b.is_ascii_digit() {
                    h = fnv_byte(h, b.to_ascii_lowercase());
                }
            } else {
                push(&mut h, &mut open, &mut out);
            }
            continue;
        }
        // Look-alike letters read as the Latin ones they imitate (a copy
        // spelled with Cyrillic `а` and `о` is still a copy).
        let c = if is_cjk(c) { c } else { crate::text::normalize::fold_char(c).unwrap_or(c) };
        if is_cjk(c) {
            push(&mut h, &mut open, &mut out);
            out.push(fnv(FNV, c));
        } else if c.is_alphanumeric() {
            open = true;
            if !c.is_numeric() {
                for l in c.to_lowercase() {
                    h = fnv(h, l);
                }
            }
        } else {
            push(&mut h, &mut open, &mut out);
        }
    }
    push(&mut h, &mut open, &mut out);
    out
}

/// One FNV-1a step.
#[inline(always)]
fn fnv_byte(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
}

fn fnv(h: u64, c: char) -> u64 {
    let mut buf = [0u8; 4];
    c.encode_utf8(&mut buf).bytes().fold(h, fnv_byte)
}

/// Scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF66..=0xFF9D)
}

/// Per-position seeds of the MinHash permutations.
const SEEDS: [u64; POSITIONS] = {
    let mut s = [0u64; POSITIONS];
    let mut i = 0;
    while i < POSITIONS {
        s[i] = splitmix((i as u64 + 1).wrapping_mul(GOLDEN));
        i += 1;
    }
    s
};

/// Per-position odd multipliers of the MinHash permutations.
const MULTIPLIERS: [u64; POSITIONS] = {
    let mut s = [0u64; POSITIONS];
    let mut i = 0;
    while i < POSITIONS {
        s[i] = splitmix((i as u64 + 1_000).wrapping_mul(GOLDEN)) | 1;
        i += 1;
    }
    s
};

/// SplitMix64's increment.
pub(crate) const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function: a well-mixed 64-bit value from a
/// counter, for seeded, platform-independent draws and hashes.
pub(crate) const fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored fingerprints (memory rows, other instances' indexes) must
    /// keep matching new ones: these bytes were made before the ASCII fast
    /// path and the blocked minimums, and must never change silently.
    #[test]
    fn fingerprints_keep_their_bytes() {
        let hex =
            |t: &str| Fingerprint::of(t).unwrap().to_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(
                "Send 100 USDT to wallet bc1qxyz and DM @Support_Desk, 出金はこちら。 sеnd yоur sееd phrаsе ÄÖÜ straße İstanbul 123 456"
            ),
            "f36bd707ecb9980187c3f102471c2002234cb314d229b6018ee188002d1cf90af224a701eff5bc02ace7ee048020e507db7f65022a217a046589fd03b7ccad0159f7d600ff8b69023e752404661869091bb35910fe901f0975ba2f0a63a102051f3bcd06b9e7ad01683d89011982f403cccfa0015bc346072864160a8bea750b"
        );
        assert_eq!(
            hex(
                "my withdrawal has been pending for two days and the ticket has no answer yet. the app shows processing"
            ),
            "7dad3e040a3bf3058e0fd904aa540816c2a26e1139c67e06b1e2e215a861ff0b3814ea04d154a70aba9c590213d3050a6d32100024828214656daf0e04e41c0e32179e00831ee811eeb95d05a31db20948d919107c6e57053952b30060b470024f6d6b0aef2c970657817801b3aa2f0419130c0219938607e750990060e70602"
        );
    }

    #[test]
    fn own_words_leave_quotes_out() {
        let post = |body: &str| Post::new("p", body);
        assert_eq!(own_words(&post("> quoted\nmine")), "\nmine\n");
        assert_eq!(own_words(&post("a [QUOTE=\"x\"]q [quote]inner[/quote] q[/quote] b")), "\na  b\n");
        assert_eq!(own_words(&post("é<BlockQuote>ü</blockquote>ß")), "\néß\n");
        assert_eq!(own_words(&post("keep [quote]never closed")), "\nkeep \n");
        assert_eq!(own_words(&post("a [/quote] stray close")), "\na [/quote] stray close\n");
        let mut titled = post("body");
        titled.title = Some("Title".into());
        assert_eq!(own_words(&titled), "Title\nbody\n");
    }

    #[test]
    fn look_alike_letters_do_not_hide_a_copy() {
        let plain = Fingerprint::of("send your seed phrase to the support desk to unlock the wallet today").unwrap();
        let cyrillic = Fingerprint::of("sеnd yоur sееd phrаsе tо thе suppоrt dеsk tо unlосk thе wаllеt tоdаy").unwrap();
        assert_eq!(plain, cyrillic);
        let russian = Fingerprint::of("отправьте фразу в поддержку чтобы разблокировать кошелек сегодня").unwrap();
        assert!(russian.similarity(&plain) < 0.2);
    }

    #[test]
    fn content_words_count_a_cjk_character_as_a_third() {
        assert_eq!(content_words("gm, fren!"), 2.0);
        assert_eq!(content_words("send 2 btc"), 3.0);
        assert_eq!(content_words("ありがとう"), 5.0 / 3.0);
        assert_eq!(content_words("ok ありがとう ok"), 2.0 + 5.0 / 3.0);
    }

    #[test]
    fn copies_with_other_numbers_and_a_changed_word_are_near_duplicates() {
        let base = "dear user your wallet 123 is locked contact support at wa.me 5550100 to restore access today";
        let copy = "dear user your wallet 98765 is locked contact support at wa.me 5550199 to restore access now";
        let a = Fingerprint::of(base).unwrap();
        let b = Fingerprint::of(copy).unwrap();
        assert!(a.similarity(&b) >= 0.6, "{}", a.similarity(&b));
        let other =
            Fingerprint::of("dear user your order 123 has shipped and will arrive at your door on monday").unwrap();
        assert!(a.similarity(&other) < 0.4, "{}", a.similarity(&other));
        assert_eq!(Fingerprint::of("thanks a lot!"), None, "short texts are compared exactly");
        let ja = Fingerprint::of("公式サポートです。ウォレットの復元はこちらのリンクから100円で").unwrap();
        let ja2 = Fingerprint::of("公式サポートです!ウォレットの復元はこちらのリンクから5000円で").unwrap();
        let ja3 = Fingerprint::of("今日のビットコインの値動きについて皆さんの意見を聞かせてください").unwrap();
        assert!(
            ja.similarity(&ja2) >= 0.8 && ja.similarity(&ja3) < 0.3,
            "{} {}",
            ja.similarity(&ja2),
            ja.similarity(&ja3)
        );
    }

    #[test]
    fn the_index_finds_the_first_of_a_wave() {
        let mut seen = NearDuplicates::new(0.6);
        let wave: Vec<String> = (0..50)
            .map(|i| format!("claim your {i} free usdt airdrop at the official portal before {i} pm today friends"))
            .collect();
        assert_eq!(
            seen.find_or_insert(Fingerprint::of("how do i prune my apple tree in late winter please").unwrap()),
            None
        );
        assert_eq!(seen.find_or_insert(Fingerprint::of(&wave[0]).unwrap()), None);
        for w in &wave[1..] {
            assert_eq!(seen.find_or_insert(Fingerprint::of(w).unwrap()), Some(1), "{w}");
        }
        assert_eq!(seen.len(), 2);
    }
}
