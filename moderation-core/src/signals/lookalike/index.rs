//! Finding which brands a host could imitate, in time independent of how
//! many brands there are.
//!
//! The label rules of [`super`] grade one brand against one host; running
//! them for every brand costs time in proportion to the registry. The index
//! narrows the brands to the few a host can match at all, with two lookups
//! whose cost does not grow with the registry:
//!
//! * one Aho-Corasick automaton over every brand's folded name finds the
//!   names *contained* in a label (exact, homoglyph, token and glued
//!   matches all contain the folded name), and one over the `.domain.`
//!   needles finds brand domains embedded in a host;
//! * a *deletion neighbourhood* finds the typos: a string within one edit of
//!   a name (insertion, deletion, substitution, swap) shares with it a
//!   string obtained by deleting at most one character from each; within
//!   two edits, at most two from each. Every such variant of every name is
//!   hashed into one table; a label's variants are looked up in it, each
//!   hashed in constant time from prefix hashes.
//!
//! The candidates are then verified by the exact rules, so a hash collision
//! costs a little time, never a wrong finding.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Base of the polynomial string hash (odd, so multiplication is invertible mod 2^64).
const BASE: u64 = 0x100_0000_01b3;

/// Mixes an already computed hash into a table slot (`HashMap` would
/// otherwise hash the hash with SipHash).
#[derive(Default)]
pub(super) struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Table = HashMap<u64, Vec<u32>, BuildHasherDefault<MixHasher>>;

/// Polynomial prefix hashes of a string of chars, for hashing it with one or
/// two characters deleted in constant time.
struct Prefix {
    /// `hash[i]`: hash of the first `i` characters.
    hash: Vec<u64>,
    /// `pow[k]`: `BASE^k`.
    pow: Vec<u64>,
}

impl Prefix {
    fn new(s: &[char]) -> Prefix {
        let mut hash = Vec::with_capacity(s.len() + 1);
        let mut pow = Vec::with_capacity(s.len() + 1);
        let (mut h, mut p) = (0u64, 1u64);
        hash.push(h);
        pow.push(p);
        for &c in s {
            h = h.wrapping_mul(BASE).wrapping_add(u64::from(c) + 1);
            p = p.wrapping_mul(BASE);
            hash.push(h);
            pow.push(p);
        }
        Prefix { hash, pow }
    }

    fn len(&self) -> usize {
        self.hash.len() - 1
    }

    /// Hash of characters `a..b`.
    fn range(&self, a: usize, b: usize) -> u64 {
        self.hash[b].wrapping_sub(self.hash[a].wrapping_mul(self.pow[b - a]))
    }

    /// Hash of the concatenation of two hashed pieces, the second `len` long.
    fn join(&self, left: u64, right: u64, len: usize) -> u64 {
        left.wrapping_mul(self.pow[len]).wrapping_add(right)
    }

    fn whole(&self) -> u64 {
        self.hash[self.len()]
    }

    /// Hash with character `i` deleted.
    fn without(&self, i: usize) -> u64 {
        let n = self.len();
        self.join(self.range(0, i), self.range(i + 1, n), n - i - 1)
    }

    /// Hash with characters `i < j` deleted.
    fn without2(&self, i: usize, j: usize) -> u64 {
        let n = self.len();
        let left = self.join(self.range(0, i), self.range(i + 1, j), j - i - 1);
        self.join(left, self.range(j + 1, n), n - j - 1)
    }

    /// Calls `f` with the hash of every variant with up to `deletions` (1 or 2)
    /// characters deleted, the string itself included.
    fn variants(&self, deletions: usize, f: &mut impl FnMut(u64)) {
        let n = self.len();
        f(self.whole());
        for i in 0..n {
            f(self.without(i));
        }
        if deletions >= 2 {
            for i in 0..n {
                for j in i + 1..n {
                    f(self.without2(i, j));
                }
            }
        }
    }
}

/// What a brand contributes to the index.
pub(super) struct Entry<'a> {
    /// The folded name.
    pub name: &'a [char],
    /// `.domain.` needles of its domains.
    pub embedded: &'a [String],
    /// Typos of up to this many edits are looked for (0: none).
    pub typos: usize,
}

/// The brands a host can match, found without a loop over brands.
#[derive(Debug, Clone, Default)]
pub(super) struct BrandIndex {
    names: Option<AhoCorasick>,
    name_ids: Vec<u32>,
    embedded: Option<AhoCorasick>,
    embedded_ids: Vec<u32>,
    /// Deletion variants of names with typo matching → brands.
    deletions: Table,
    /// Lengths of the names with one-typo / two-typo matching.
    close_lengths: (usize, usize),
    far_lengths: (usize, usize),
}

impl BrandIndex {
    pub(super) fn new<'a>(entries: impl IntoIterator<Item = Entry<'a>>) -> BrandIndex {
        let mut names = Vec::new();
        let mut name_ids = Vec::new();
        let mut needles = Vec::new();
        let mut embedded_ids = Vec::new();
        let mut deletions = Table::default();
        let mut close_lengths = (usize::MAX, 0);
        let mut far_lengths = (usize::MAX, 0);
        for (id, e) in entries.into_iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            if !e.name.is_empty() {
                names.push(e.name.iter().collect::<String>());
                name_ids.push(id);
            }
            for n in e.embedded {
                needles.push(n.clone());
                embedded_ids.push(id);
            }
            if e.typos > 0 {
                let len = e.name.len();
                let range = if e.typos >= 2 { &mut far_lengths } else { &mut close_lengths };
                *range = (range.0.min(len), range.1.max(len));
                let mut add = |h: u64| {
                    let ids = deletions.entry(h).or_default();
                    if ids.last() != Some(&id) {
                        ids.push(id);
                    }
                };
                Prefix::new(e.name).variants(e.typos, &mut add);
            }
        }
        let build = |patterns: &[String]| {
            if patterns.is_empty() {
                return None;
            }
            AhoCorasickBuilder::new().match_kind(MatchKind::Standard).build(patterns).ok()
        };
        BrandIndex {
            names: build(&names),
            name_ids,
            embedded: build(&needles),
            embedded_ids,
            deletions,
            close_lengths,
            far_lengths,
        }
    }

    /// Brands whose folded name occurs in `folded`.
    pub(super) fn containing(&self, folded: &str, out: &mut Vec<u32>) {
        if let Some(ac) = &self.names {
            out.extend(ac.find_overlapping_iter(folded).filter_map(|m| self.name_ids.get(m.pattern().as_usize())));
        }
    }

    /// Brands whose `.domain.` needle occurs in `dotted` (`.host.`).
    pub(super) fn embedded_in(&self, dotted: &str, out: &mut Vec<u32>) {
        if let Some(ac) = &self.embedded {
            out.extend(ac.find_overlapping_iter(dotted).filter_map(|m| self.embedded_ids.get(m.pattern().as_usize())));
        }
    }

    /// Brands a typo or two away from `cand` could be (to be verified).
    pub(super) fn typos_of(&self, cand: &[char], out: &mut Vec<u32>) {
        if self.deletions.is_empty() {
            return;
        }
        let m = cand.len();
        let near = |(lo, hi): (usize, usize), k: usize| lo <= hi && m + k >= lo && m <= hi + k;
        let deletions = if near(self.far_lengths, 2) {
            2
        } else if near(self.close_lengths, 1) {
            1
        } else {
            return;
        };
        let prefix = Prefix::new(cand);
        prefix.variants(deletions, &mut |h| {
            if let Some(ids) = self.deletions.get(&h) {
                out.extend_from_slice(ids);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn deletion_hashes_equal_hashes_of_the_deleted_strings() {
        let s = chars("binance");
        let p = Prefix::new(&s);
        for i in 0..s.len() {
            let mut t = s.clone();
            t.remove(i);
            assert_eq!(p.without(i), Prefix::new(&t).whole());
            for j in i + 1..s.len() {
                let mut t = s.clone();
                t.remove(j);
                t.remove(i);
                assert_eq!(p.without2(i, j), Prefix::new(&t).whole());
            }
        }
    }

    #[test]
    fn typos_are_found_and_unrelated_names_are_not() {
        let names = [chars("binance"), chars("myetherwallet"), chars("okx")];
        let entries = names.iter().enumerate().map(|(i, n)| Entry { name: n, embedded: &[], typos: [1, 2, 0][i] });
        let index = BrandIndex::new(entries);
        let find = |s: &str| {
            let mut out = Vec::new();
            index.typos_of(&chars(s), &mut out);
            out.sort_unstable();
            out.dedup();
            out
        };
        for typo in ["binnance", "bnance", "bianance", "binamce", "ibnance", "binance"] {
            assert_eq!(find(typo), [0], "{typo}");
        }
        for typo in ["myeherwalet", "myetherwalleu", "myetherwallet"] {
            assert_eq!(find(typo), [1], "{typo}");
        }
        assert!(find("finance-x").is_empty());
        assert!(find("okx").is_empty(), "short names have no typo matching");
    }
}
