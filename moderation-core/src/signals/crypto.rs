//! Cryptocurrency addresses and private keys in the raw post text.
//!
//! Reads the raw text because case carries meaning here: base58 is case
//! sensitive and Ethereum hides its checksum in letter case. Candidates are
//! whole ASCII-alphanumeric tokens, so an address glued to CJK text without a
//! space (common in Japanese posts) is still found, while one embedded in a
//! longer alphanumeric string is not. Checksums are verified so that callers
//! can tell a real address from one with a character changed, which scam
//! posts use to defeat naive blocklists.

use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use sha2::{Digest, Sha256};
use sha3::Keccak256;

/// Which chain and encoding an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKind {
    /// Legacy P2PKH/P2SH base58check (mainnet `1…`/`3…`, testnet `m…`/`n…`/`2…`).
    BitcoinBase58,
    /// SegWit bech32 (v0) or bech32m (v1+) (`bc1…`, `tb1…`).
    BitcoinBech32,
    /// `0x` + 40 hex digits, EIP-55 checked when mixed case.
    Ethereum,
    /// Tron base58check with version byte 0x41 (`T…`).
    Tron,
    /// Base58 32-byte public key; has no checksum.
    Solana,
}

impl AddressKind {
    /// Stable chain name for rules and explanations; both bitcoin encodings
    /// say "bitcoin" because moderation cares about the currency, not the
    /// script type.
    pub fn as_str(self) -> &'static str {
        match self {
            AddressKind::BitcoinBase58 | AddressKind::BitcoinBech32 => "bitcoin",
            AddressKind::Ethereum => "ethereum",
            AddressKind::Tron => "tron",
            AddressKind::Solana => "solana",
        }
    }
}

/// One address-shaped token in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressHit {
    /// Chain and encoding the token is shaped like.
    pub kind: AddressKind,
    /// Byte range of the token in the text.
    pub range: Range<usize>,
    /// False when the token has the shape but fails its checksum, which
    /// usually means a typo or a deliberately altered address.
    pub valid: bool,
}

/// What form a leaked private key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Wallet Import Format (base58check, version 0x80 / 0xef).
    Wif,
    /// BIP32 extended private key (`xprv`, `tprv`, `yprv`, `zprv`, ...).
    ExtendedPrivate,
    /// 64 hex digits next to words that call it a private key.
    Hex64,
}

impl KeyKind {
    /// Stable name for rules and explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Wif => "wif",
            KeyKind::ExtendedPrivate => "extended_private",
            KeyKind::Hex64 => "hex64",
        }
    }
}

/// One private-key-shaped token in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHit {
    /// Form of the key.
    pub kind: KeyKind,
    /// Byte range of the token in the text.
    pub range: Range<usize>,
    /// True only when a checksum proves the token is a key; a bare hex
    /// string, or a key-shaped token with a typo (still recoverable by brute
    /// force, so still a leak), is reported as not certain.
    pub certain: bool,
}

/// Finds cryptocurrency addresses, in text order.
pub fn find_addresses(text: &str) -> Vec<AddressHit> {
    let mut hits = Vec::new();
    for range in ascii_tokens(text, MIN_TOKEN) {
        let Some(tok) = text.get(range.clone()) else {
            continue;
        };
        if let Some((kind, valid)) = classify_address(tok) {
            hits.push(AddressHit { kind, range, valid });
        }
    }
    hits
}

/// Finds leaked private keys, in text order.
pub fn find_private_keys(text: &str) -> Vec<KeyHit> {
    let mut hits = Vec::new();
    // Shorter tokens are neither keys nor 64 hex digits; skipping them lets the
    // scan stride further.
    for range in ascii_tokens(text, MIN_KEY_TOKEN) {
        let Some(tok) = text.get(range.clone()) else {
            continue;
        };
        if let Some((kind, certain)) = classify_key(tok) {
            hits.push(KeyHit { kind, range, certain });
        } else if is_hex64(tok) && has_key_context(text, &range) {
            hits.push(KeyHit { kind: KeyKind::Hex64, range, certain: false });
        }
    }
    hits
}

// Shortest thing worth decoding: a bech32 address with a 2-byte program.
const MIN_TOKEN: usize = 14;
// Longest thing worth decoding: an extended key is 111-112 chars.
const MAX_TOKEN: usize = 120;
// Shortest key: a WIF is 51 chars (hex keys are 64, extended keys 108 or more).
const MIN_KEY_TOKEN: usize = 51;

/// Maximal runs of ASCII alphanumerics of `min..=MAX_TOKEN` bytes (`min > 0`).
/// Working on bytes is safe: ASCII bytes are always char boundaries in UTF-8.
///
/// Most runs in a post are ordinary words, far shorter than `min`, so the scan
/// does not look at every byte. A long enough run starting at or after `next`
/// covers the byte `next + min - 1`; walking back from that byte either
/// reaches `next` (such a run exists) or stops at a separator, after which the
/// next candidate run can only start.
fn ascii_tokens(text: &str, min: usize) -> impl Iterator<Item = Range<usize>> + '_ {
    let bytes = text.as_bytes();
    // Invariant: runs starting before `next` are done with, and `next` is at the
    // start of the text or just after a non-alphanumeric byte.
    let mut next = 0usize;
    std::iter::from_fn(move || {
        loop {
            let probe = next + min.max(1) - 1;
            let window = bytes.get(next..=probe)?;
            if let Some(sep) = window.iter().rposition(|&b| !is_alnum(b)) {
                // Runs starting before the separator are too short.
                next += sep + 1;
                continue;
            }
            let start = next;
            let rest = bytes.get(probe + 1..).unwrap_or_default();
            let end = probe + 1 + rest.iter().position(|&b| !is_alnum(b)).unwrap_or(rest.len());
            next = end + 1;
            if end - start <= MAX_TOKEN {
                return Some(start..end);
            }
        }
    })
}

/// ASCII letters and digits, by table: the token scan asks this of most bytes.
fn is_alnum(b: u8) -> bool {
    static ALNUM: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = (i as u8).is_ascii_alphanumeric();
            i += 1;
        }
        t
    };
    ALNUM[usize::from(b)]
}

fn classify_address(tok: &str) -> Option<(AddressKind, bool)> {
    let b = tok.as_bytes();
    let len = b.len();
    if len == 42 && (tok.starts_with("0x") || tok.starts_with("0X")) {
        return ethereum(&b[2..]).map(|v| (AddressKind::Ethereum, v));
    }
    if len >= 3 {
        let prefix = &b[..3];
        if prefix.eq_ignore_ascii_case(b"bc1") || prefix.eq_ignore_ascii_case(b"tb1") {
            return bech32_address(tok).map(|v| (AddressKind::BitcoinBech32, v));
        }
    }
    if !(26..=44).contains(&len) || !is_base58(b) {
        return None;
    }
    let mut buf = [0u8; 128];
    let decoded = b58_decode(tok, &mut buf)?;
    let shape = CaseShape::of(b);
    let version = match b[0] {
        b'1' => Some((AddressKind::BitcoinBase58, 0x00)),
        b'3' => Some((AddressKind::BitcoinBase58, 0x05)),
        b'm' | b'n' => Some((AddressKind::BitcoinBase58, 0x6f)),
        b'2' => Some((AddressKind::BitcoinBase58, 0xc4)),
        b'T' if len == 34 => Some((AddressKind::Tron, 0x41)),
        _ => None,
    };
    if let Some((kind, ver)) = version
        && len <= 35
        && decoded.len() == 25
        && decoded[0] == ver
    {
        let valid = checksum_ok(decoded);
        // A failed checksum on a token without mixed case is more likely
        // some other identifier than an altered address.
        if valid || (shape.upper && shape.lower) {
            return Some((kind, valid));
        }
        return None;
    }
    if (32..=44).contains(&len) && decoded.len() == 32 && shape.upper && shape.lower && shape.digit {
        return Some((AddressKind::Solana, true));
    }
    None
}

fn classify_key(tok: &str) -> Option<(KeyKind, bool)> {
    let b = tok.as_bytes();
    let len = b.len();
    let wif_shape = matches!((len, b.first()), (51, Some(b'5' | b'9')) | (52, Some(b'K' | b'L' | b'c')));
    let xprv_shape = (108..=MAX_TOKEN).contains(&len) && b.get(..4).is_some_and(is_xprv_prefix);
    if !(wif_shape || xprv_shape) || !is_base58(b) {
        return None;
    }
    let mut buf = [0u8; 128];
    let decoded = b58_decode(tok, &mut buf)?;
    let shape = CaseShape::of(b);
    let plausible_typo = shape.upper && shape.lower && shape.digit;
    if wif_shape {
        let ok_shape = matches!(decoded.first(), Some(0x80 | 0xef))
            && (decoded.len() == 37 || (decoded.len() == 38 && decoded[33] == 0x01));
        if !ok_shape {
            return None;
        }
        let certain = checksum_ok(decoded);
        return (certain || plausible_typo).then_some((KeyKind::Wif, certain));
    }
    if decoded.len() != 82 {
        return None;
    }
    let certain = checksum_ok(decoded);
    (certain || plausible_typo).then_some((KeyKind::ExtendedPrivate, certain))
}

fn is_xprv_prefix(p: &[u8]) -> bool {
    matches!(p, b"xprv" | b"tprv" | b"yprv" | b"zprv" | b"uprv" | b"vprv" | b"Yprv" | b"Zprv")
}

#[derive(Default, Clone, Copy)]
struct CaseShape {
    upper: bool,
    lower: bool,
    digit: bool,
}

impl CaseShape {
    fn of(b: &[u8]) -> Self {
        let mut s = CaseShape::default();
        for &c in b {
            s.upper |= c.is_ascii_uppercase();
            s.lower |= c.is_ascii_lowercase();
            s.digit |= c.is_ascii_digit();
        }
        s
    }
}

fn is_base58(b: &[u8]) -> bool {
    b.iter().all(|&c| c.is_ascii_alphanumeric() && !matches!(c, b'0' | b'O' | b'I' | b'l'))
}

fn b58_decode<'a>(tok: &str, buf: &'a mut [u8; 128]) -> Option<&'a [u8]> {
    let n = bs58::decode(tok).onto(&mut buf[..]).ok()?;
    buf.get(..n)
}

/// Base58check: the last four bytes are the first four of SHA256d(payload).
fn checksum_ok(decoded: &[u8]) -> bool {
    let Some(split) = decoded.len().checked_sub(4) else {
        return false;
    };
    let (payload, check) = decoded.split_at(split);
    let first = Sha256::digest(payload);
    let second = Sha256::digest(first);
    second.get(..4) == Some(check)
}

/// `hex` is the 40 digits after `0x`. Returns whether it is valid, or None
/// when it is not hex at all.
fn ethereum(hex: &[u8]) -> Option<bool> {
    if hex.len() != 40 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let shape = CaseShape::of(hex);
    if !(shape.upper && shape.lower) {
        return Some(true);
    }
    let mut lower = [0u8; 40];
    for (d, s) in lower.iter_mut().zip(hex) {
        *d = s.to_ascii_lowercase();
    }
    let hash = Keccak256::digest(lower);
    let ok = hex.iter().enumerate().all(|(i, &c)| {
        if !c.is_ascii_alphabetic() {
            return true;
        }
        let byte = hash.get(i / 2).copied().unwrap_or(0);
        let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
        c.is_ascii_uppercase() == (nibble >= 8)
    });
    Some(ok)
}

const BECH32_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Whether `c` (either case) is in [`BECH32_CHARSET`]: every lowercase ASCII
/// letter and digit except `1`, `b`, `i` and `o`. A test instead of a search
/// of the charset, as it runs for every character of every `bc1…` token.
fn is_bech32_char(c: u8) -> bool {
    let c = c.to_ascii_lowercase();
    c.is_ascii_alphanumeric() && !matches!(c, b'1' | b'b' | b'i' | b'o')
}

/// Returns None unless the token is shaped like a segwit address, so random
/// `bc1…` strings outside the bech32 charset never show up.
fn bech32_address(tok: &str) -> Option<bool> {
    let b = tok.as_bytes();
    // Shortest valid address is 14 chars; a 40-byte program gives 74.
    if !(14..=74).contains(&b.len()) {
        return None;
    }
    let data = &b[3..];
    if !data.iter().all(|&c| is_bech32_char(c)) {
        return None;
    }
    let shape = CaseShape::of(b);
    if shape.upper && shape.lower {
        // BIP173 forbids mixed case; still address-shaped, so report it.
        return Some(false);
    }
    Some(segwit_valid(b))
}

/// Generator of the BIP173 checksum (as in Bitcoin Core and the `bech32` crate).
const BECH32_GENERATOR: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];

/// For each value of the five bits shifted out in a checksum step, the XOR
/// of the generator terms they select.
static POLYMOD_TERMS: [u32; 32] = {
    let mut t = [0u32; 32];
    let mut top = 0;
    while top < 32 {
        let mut i = 0;
        while i < 5 {
            if (top >> i) & 1 == 1 {
                t[top] ^= BECH32_GENERATOR[i];
            }
            i += 1;
        }
        top += 1;
    }
    t
};

/// One step of the BIP173 checksum: feeds the 5-bit value `v`.
fn polymod_step(chk: u32, v: u8) -> u32 {
    let top = (chk >> 25) as usize;
    ((chk & 0x01ff_ffff) << 5) ^ u32::from(v) ^ POLYMOD_TERMS.get(top).copied().unwrap_or(0)
}

/// The 5-bit value of a character of [`BECH32_CHARSET`] (either case), by
/// table; 0 for other bytes (which the caller has ruled out).
fn bech32_value(c: u8) -> u8 {
    static VALUES: [u8; 128] = {
        let mut t = [0u8; 128];
        let mut i = 0;
        while i < BECH32_CHARSET.len() {
            let c = BECH32_CHARSET[i] as usize;
            t[c] = i as u8;
            t[c & !0x20] = i as u8;
            i += 1;
        }
        t
    };
    VALUES.get(usize::from(c)).copied().unwrap_or(0)
}

/// Whether `bech32::segwit::decode` accepts `tok`, for a token that
/// [`bech32_address`] has vetted: `bc1`/`tb1` in some case, then only charset
/// characters (so that `1` is the separator), all in one case, 14-74 bytes.
/// For those the crate checks, in effect: a witness version of at most 16;
/// the bech32 checksum for version 0 and bech32m for the others; padding of
/// at most 4 zero bits; a program of 2-40 bytes, 20 or 32 for version 0. The
/// crate builds an HRP and a byte vector for that, which costs more than
/// the arithmetic; `segwit_valid_matches_the_crate` compares the two.
fn segwit_valid(tok: &[u8]) -> bool {
    let (Some(hrp), Some(data)) = (tok.get(..2), tok.get(3..)) else {
        return false;
    };
    let mut values = [0u8; 74];
    let Some(values) = values.get_mut(..data.len()) else {
        return false;
    };
    let mut chk = 1u32;
    for &c in hrp {
        chk = polymod_step(chk, c.to_ascii_lowercase() >> 5);
    }
    chk = polymod_step(chk, 0);
    for &c in hrp {
        chk = polymod_step(chk, c.to_ascii_lowercase() & 31);
    }
    for (v, &c) in values.iter_mut().zip(data) {
        *v = bech32_value(c);
        chk = polymod_step(chk, *v);
    }
    let Some((&version, rest)) = values.split_first() else {
        return false;
    };
    let Some(program) = rest.len().checked_sub(6).and_then(|n| rest.get(..n)) else {
        return false;
    };
    let target = if version == 0 { 1 } else { 0x2bc8_30a3 };
    if version > 16 || chk != target {
        return false;
    }
    let padding = program.len() * 5 % 8;
    if padding > 4 || program.last().is_some_and(|&last| last & ((1 << padding) - 1) != 0) {
        return false;
    }
    let bytes = program.len() * 5 / 8;
    (2..=40).contains(&bytes) && (version != 0 || bytes == 20 || bytes == 32)
}

fn is_hex64(tok: &str) -> bool {
    let b = tok.as_bytes();
    let digits = match b.len() {
        64 => b,
        66 if b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') => &b[2..],
        _ => return false,
    };
    digits.iter().all(u8::is_ascii_hexdigit)
}

const CONTEXT_BEFORE: usize = 100;
const CONTEXT_AFTER: usize = 40;

// Patterns before this index call the hex string a key; the rest say it is a
// transaction or block hash, which people share freely.
const KEY_WORDS: &[&str] = &[
    "private key",
    "private_key",
    "private-key",
    "privatekey",
    "privkey",
    "priv key",
    "secret key",
    "secret_key",
    "wallet key",
    "秘密鍵",
    "プライベートキー",
    "シークレットキー",
    "私钥",
    "私鑰",
];
const TX_WORDS: &[&str] = &[
    "txid",
    "tx id",
    "tx_id",
    "tx hash",
    "txhash",
    "transaction",
    "hash",
    "block",
    "トランザクション",
    "ハッシュ",
    "取引id",
    "取引ＩＤ",
];

fn context_matcher() -> Option<&'static AhoCorasick> {
    static AC: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(KEY_WORDS.iter().chain(TX_WORDS))
            .ok()
    })
    .as_ref()
}

/// A bare 64-hex string is a key only when the nearest labelling word calls
/// it one; `txid: <hex>` is the far more common case and must stay quiet.
fn has_key_context(text: &str, tok: &Range<usize>) -> bool {
    let Some(ac) = context_matcher() else {
        return false;
    };
    let start = text.floor_char_boundary(tok.start.saturating_sub(CONTEXT_BEFORE));
    let end = text.ceil_char_boundary(tok.end.saturating_add(CONTEXT_AFTER));
    let Some(window) = text.get(start..end) else {
        return false;
    };
    let mut best_key = usize::MAX;
    let mut best_tx = usize::MAX;
    for m in ac.find_overlapping_iter(window) {
        let (ms, me) = (start + m.start(), start + m.end());
        let dist = if me <= tok.start {
            tok.start - me
        } else if ms >= tok.end {
            ms - tok.end
        } else {
            continue;
        };
        let slot = if m.pattern().as_usize() < KEY_WORDS.len() { &mut best_key } else { &mut best_tx };
        *slot = (*slot).min(dist);
    }
    best_key < best_tx
}

// Input -> output cases: tests/data/detectors/crypto.toml, run by tests/detectors.rs.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_strings::random_strings;

    const BECH32_V0: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
    const BECH32M_V1: &str = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0";
    // Bitcoin wiki WIF example; encodes HEX64 below with version 0x80.
    const WIF: &str = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";
    const HEX64: &str = "0c28fca386c7a227600b2fe50b7cae11ec86d3bf1fbe471be89827e19d72aa1d";

    #[test]
    fn kind_names() {
        assert_eq!(AddressKind::BitcoinBech32.as_str(), "bitcoin");
        assert_eq!(AddressKind::Ethereum.as_str(), "ethereum");
        assert_eq!(AddressKind::Tron.as_str(), "tron");
        assert_eq!(AddressKind::Solana.as_str(), "solana");
        assert_eq!(KeyKind::Wif.as_str(), "wif");
        assert_eq!(KeyKind::ExtendedPrivate.as_str(), "extended_private");
        assert_eq!(KeyKind::Hex64.as_str(), "hex64");
    }

    #[test]
    fn odd_inputs_never_panic() {
        let long_b58 = "1".repeat(10_000);
        let long_hex = "a".repeat(64 * 50);
        let key_run = format!("秘密鍵{}", "é".repeat(200));
        let inputs: Vec<String> = vec![
            String::new(),
            "é".into(),
            "秘".into(),
            "😀".into(),
            "0x".into(),
            "bc1".into(),
            "BC1".into(),
            "5".repeat(51),
            "K".repeat(52),
            format!("xprv{}", "z".repeat(107)),
            format!("xprv{}", "z".repeat(116)),
            "z".repeat(44),
            long_b58,
            long_hex,
            key_run.clone(),
            format!("{key_run}{HEX64}{key_run}"),
            format!("秘密鍵{}{HEX64}", "😀".repeat(30)),
            format!("{HEX64}{}", "ハッシュ".repeat(20)),
            "\u{0}\u{FFFF}\u{10FFFF}".into(),
        ];
        for s in &inputs {
            for hit in find_addresses(s) {
                assert!(s.is_char_boundary(hit.range.start) && s.is_char_boundary(hit.range.end));
            }
            for hit in find_private_keys(s) {
                assert!(s.is_char_boundary(hit.range.start) && s.is_char_boundary(hit.range.end));
            }
        }
        // Every length from 0 to 130 of several alphabets, at every offset
        // among multibyte neighbours.
        for n in 0..130 {
            for c in ['1', 'z', 'f', 'K', 'T'] {
                let s = format!("é{}秘", c.to_string().repeat(n));
                let _ = find_addresses(&s);
                let _ = find_private_keys(&s);
            }
        }
    }

    #[test]
    fn random_strings_never_panic() {
        for s in random_strings(0x5eed_c0de, 3000) {
            for hit in find_addresses(&s) {
                assert!(s.get(hit.range.clone()).is_some(), "{s:?}");
            }
            for hit in find_private_keys(&s) {
                assert!(s.get(hit.range.clone()).is_some(), "{s:?}");
            }
        }
    }

    #[test]
    fn bech32_char_test_matches_charset() {
        for c in 0..=255u8 {
            let at = BECH32_CHARSET.iter().position(|&x| x == c.to_ascii_lowercase());
            assert_eq!(is_bech32_char(c), at.is_some(), "{c}");
            if let Some(at) = at {
                assert_eq!(usize::from(bech32_value(c)), at, "{c}");
            }
        }
    }

    #[test]
    fn segwit_valid_matches_the_crate() {
        use bech32::primitives::decode::SegwitHrpstring;
        use bech32::{Bech32, Bech32m, Hrp};
        let mut x: u64 = 0xbec3_2bec;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut tokens: Vec<String> = vec![BECH32_V0.into(), BECH32M_V1.into()];
        for hrp in ["bc", "tb"] {
            let hrp = Hrp::parse(hrp).expect("hrp");
            for version in 0..=17u8 {
                for fes in 0..=70usize {
                    let mut data = vec![version];
                    data.extend((0..fes).map(|_| (next() % 32) as u8));
                    // Some with zero padding bits, some not.
                    if next() % 2 == 0 {
                        let pad = fes * 5 % 8;
                        if let Some(last) = data.last_mut().filter(|_| fes > 0 && pad < 5) {
                            *last &= !((1u8 << pad) - 1);
                        }
                    }
                    // Without a checksum.
                    let chars: String = data.iter().map(|&v| char::from(BECH32_CHARSET[usize::from(v % 32)])).collect();
                    tokens.push(format!("{hrp}1{chars}"));
                    let fe: Vec<bech32::Fe32> =
                        data.iter().map(|&v| bech32::Fe32::try_from(v % 32).expect("fe")).collect();
                    for ck in 0..2 {
                        let s = if ck == 0 {
                            bech32::primitives::encode::Encoder::<_, Bech32>::new(fe.iter().copied(), &hrp)
                                .chars()
                                .collect::<String>()
                        } else {
                            bech32::primitives::encode::Encoder::<_, Bech32m>::new(fe.iter().copied(), &hrp)
                                .chars()
                                .collect::<String>()
                        };
                        tokens.push(s.clone());
                        tokens.push(s.to_ascii_uppercase());
                        // One character changed.
                        let mut b = s.into_bytes();
                        let at = 3 + (next() as usize) % (b.len() - 3);
                        b[at] = BECH32_CHARSET[(next() % 32) as usize];
                        tokens.push(String::from_utf8(b).expect("ascii"));
                    }
                }
            }
        }
        let (mut checked, mut valid) = (0, 0);
        for t in &tokens {
            let b = t.as_bytes();
            let vetted = (14..=74).contains(&b.len())
                && (b[..3].eq_ignore_ascii_case(b"bc1") || b[..3].eq_ignore_ascii_case(b"tb1"))
                && b[3..].iter().all(|&c| is_bech32_char(c))
                && !(CaseShape::of(b).upper && CaseShape::of(b).lower);
            if vetted {
                checked += 1;
                valid += usize::from(segwit_valid(b));
                assert_eq!(segwit_valid(b), SegwitHrpstring::new(t).is_ok(), "{t}");
            }
        }
        assert!(checked > 5000 && valid > 500, "{checked} {valid}");
    }

    #[test]
    fn tokens_are_maximal_runs_of_the_right_length() {
        // Reference: every maximal run of ASCII alphanumerics, filtered by length.
        fn reference(text: &str, min: usize) -> Vec<Range<usize>> {
            let b = text.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if !b[i].is_ascii_alphanumeric() {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < b.len() && b[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                if (min..=MAX_TOKEN).contains(&(i - start)) {
                    out.push(start..i);
                }
            }
            out
        }
        let mut texts: Vec<String> = random_strings(0x0701_1e45, 2000);
        for n in 0..140 {
            for sep in [" ", "é", ""] {
                texts.push(format!("{sep}{}{sep}{}", "a".repeat(n), "1".repeat(140 - n)));
                texts.push(format!("ab cd{sep}{}.x", "Z".repeat(n)));
            }
        }
        for t in &texts {
            for min in [MIN_TOKEN, MIN_KEY_TOKEN, 1, 2] {
                assert_eq!(ascii_tokens(t, min).collect::<Vec<_>>(), reference(t, min), "{t:?}");
            }
        }
    }

    #[test]
    fn wif_encodes_the_hex_key() {
        let decoded = bs58::decode(WIF).with_check(Some(0x80)).into_vec().expect("wif");
        let hex: String = decoded[1..].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, HEX64);
    }
}
