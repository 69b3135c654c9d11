//! Normalization that defeats evasion, keeping an offset map to the original.
//!
//! The engine looks at a post through three views, each a [`View`] whose
//! bytes map back to the field as the forum sent it:
//!
//! | view | what it is | who reads it |
//! |---|---|---|
//! | `raw` | the decoded visible text (HTML entities resolved, tags dropped) | URLs, addresses, keys, contacts, amounts, regex rules with `view = "raw"` |
//! | `words` | NFKC, lowercase, default-ignorables removed, katakana → hiragana; word separators kept (U+3000 becomes a space) | seed words, regex rules with `view = "words"` |
//! | `normalized` | `words` plus, on runs of Latin/Cyrillic/Greek letters and digits only: confusable folding (UTS #39 skeleton, diacritics stripped), de-spacing of `b i n a n c e` / `f.r.e.e`, leetspeak, squeezing of 3+ repeated letters | phrase literals, regex rules with `view = "normalized"` |
//!
//! Kana and kanji are never folded: UTS #39 maps ロ to 口 and エ to 工, which
//! would corrupt Japanese. Only katakana ↔ hiragana is unified, so さぽーと
//! and サポート match the same literal.
//!
//! ```
//! use moderation_core::{normalized_view, words_view};
//! use moderation_core::View;
//!
//! let raw = View::identity("Ｆ.Ｒ.Ｅ.Ｅ  ВТС\u{200B} g1veaway!!!");
//! let words = words_view(&raw);
//! let norm = normalized_view(&words);
//! assert_eq!(norm.text.as_str(), "free  btc giveaway!!!");
//! // "btc" points at the Cyrillic original, zero-width space excluded.
//! let at = norm.text.as_str().find("btc").unwrap();
//! let orig = norm.text.origin(at..at + 3);
//! assert_eq!(&raw.as_str()[orig], "ВТС");
//! ```

use std::ops::Range;

use unicode_normalization::char::{compose, is_combining_mark};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};
use unicode_script::{Script, UnicodeScript};

use crate::text::view::{Run, Unit, View, ViewBuilder};

/// The `normalized` view and what normalizing it revealed.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// The fully normalized text.
    pub text: View,
    /// Original ranges of words that mix Latin with Cyrillic or Greek letters
    /// (`pаypal` with a Cyrillic `а`): a classic homoglyph trick.
    pub mixed_script: Vec<Range<usize>>,
    /// Whether any confusable, leetspeak, spacing or repetition evasion was undone.
    pub evasion_undone: bool,
}

/// Builds the `words` view: NFKC, lowercase, default-ignorables removed,
/// katakana folded to hiragana. Separators are kept.
pub fn words_view(raw: &View) -> View {
    words(raw).0
}

/// The `words` view and whether it was cut at [`MAX_VIEW_CHARS`]: built
/// straight from `raw`'s runs, or unit by unit where a combining mark
/// composes with the character before it.
fn words(raw: &View) -> (View, bool) {
    words_direct(raw).unwrap_or_else(|| {
        let (units, cut) = words_units(raw);
        (View::from_units(&units), cut)
    })
}

/// Views stop growing at this many characters. NFKC can expand one
/// character into eighteen (U+FDFA); without a cap a 64 KiB field of them
/// would cost a million-character view.
pub const MAX_VIEW_CHARS: usize = 64 * 1024;

/// The characters of the `words` view with their original ranges (at most
/// [`MAX_VIEW_CHARS`]), and whether any character of `raw` was left out for
/// the cap (a view of exactly [`MAX_VIEW_CHARS`] characters lost nothing).
fn words_units(raw: &View) -> (Vec<Unit>, bool) {
    let mut out: Vec<Unit> = Vec::with_capacity(raw.as_str().len());
    let mut cut = false;
    raw.for_each_unit(|u| {
        if out.len() >= MAX_VIEW_CHARS {
            cut = true;
            return;
        }
        words_char(u.ch, &mut UnitSink { out: &mut out, origin: u });
    });
    (out, cut)
}

/// The `words` and `normalized` views of `raw`, and whether the `words`
/// view was cut at [`MAX_VIEW_CHARS`]: what [`words_view`] and
/// [`normalized_view`] give, built the cheap way where it gives the same.
pub(crate) fn views(raw: &View) -> (View, Normalized, bool) {
    let (words, cut) = words(raw);
    let norm = normalized_view(&words);
    (words, norm, cut)
}

/// The `words` view built from `raw`'s runs straight into the view, and
/// whether it was cut at [`MAX_VIEW_CHARS`] (exactly where [`words_units`]
/// cuts: a character of `raw` is read while the view is shorter than the
/// cap). Stretches of ASCII and of NFKC-stable kana and kanji are copied
/// with one segment test; other characters take the per-character step
/// ([`words_char`]). `None` where that step would compose a combining mark
/// with the character before it: [`words_units`] then builds the view.
fn words_direct(raw: &View) -> Option<(View, bool)> {
    let mut d = Direct { b: ViewBuilder::with_capacity(raw.as_str().len()), chars: 0, cut: false, composes: false };
    raw.for_each_run(|run, origin| {
        if d.cut || d.composes {
            return;
        }
        match origin {
            Run::Identity(orig) => {
                let mut i = 0;
                while i < run.len() {
                    // The stretch from `i` that maps to itself, byte for
                    // byte, up to the cap.
                    let room = MAX_VIEW_CHARS.saturating_sub(d.chars);
                    let stretch =
                        d.b.push_identity_run(orig + i as u32, |text| same_length_stretch(&run[i..], room, text));
                    i += stretch.bytes;
                    d.chars += stretch.chars;
                    let Some(c) = run[i..].chars().next() else { break };
                    let start = orig + i as u32;
                    i += c.len_utf8();
                    if !d.read(c, start..orig + i as u32) {
                        return;
                    }
                }
            }
            Run::Opaque(start, end) => {
                for c in run.chars() {
                    if !d.read(c, start..end) {
                        return;
                    }
                }
            }
        }
    });
    (!d.composes).then(|| (d.b.finish(), d.cut))
}

/// The direct `words` view being built.
struct Direct {
    b: ViewBuilder,
    chars: usize,
    /// A character of `raw` was left out for the cap.
    cut: bool,
    /// A combining mark composes with the character before it.
    composes: bool,
}

impl Direct {
    /// Reads one character of `raw` standing for `origin`; false once the
    /// view is cut or the character needs composing.
    fn read(&mut self, c: char, origin: Range<u32>) -> bool {
        if self.chars >= MAX_VIEW_CHARS {
            self.cut = true;
            return false;
        }
        if !words_char(c, &mut BuilderSink { b: &mut self.b, origin, chars: &mut self.chars }) {
            self.composes = true;
            return false;
        }
        true
    }
}

/// How much of a text [`same_length_stretch`] took.
struct Stretch {
    bytes: usize,
    chars: usize,
}

/// Appends to `out` the longest prefix of `text`, of at most `room`
/// characters, whose characters [`words_char`] maps to characters of the
/// same UTF-8 length — ASCII (lowercased) and NFKC-stable kana, kanji and
/// Hangul (katakana folded to hiragana) — and says how long it was.
#[inline]
fn same_length_stretch(text: &str, room: usize, out: &mut String) -> Stretch {
    let bytes = text.as_bytes();
    let (mut i, mut chars) = (0, 0);
    loop {
        let ascii = bytes[i..].iter().position(|b| !b.is_ascii()).map_or(bytes.len(), |n| i + n);
        let ascii = ascii.min(i + (room - chars));
        if ascii > i {
            let at = out.len();
            out.push_str(&text[i..ascii]);
            out[at..].make_ascii_lowercase();
            chars += ascii - i;
            i = ascii;
        }
        match text[i..].chars().next() {
            Some(c) if chars < room && is_nfkc_stable_cjk(c) => {
                out.push(kana_fold(c));
                chars += 1;
                i += c.len_utf8();
            }
            _ => return Stretch { bytes: i, chars },
        }
    }
}

/// Where [`words_char`] writes the characters one character of `raw`
/// becomes.
trait WordsSink {
    /// The last character written.
    fn last(&self) -> Option<char>;
    fn push(&mut self, ch: char);
    /// Replaces the last character written by `composed` (it and a
    /// combining mark after it); false where this sink cannot.
    fn compose_last(&mut self, composed: char) -> bool;
}

/// The `words` view's step for one character of `raw`: NFKC, lowercase,
/// default-ignorables dropped, katakana folded to hiragana. False where
/// the sink could not compose a combining mark with the character before
/// it.
#[inline]
fn words_char(c: char, sink: &mut impl WordsSink) -> bool {
    if c.is_ascii() {
        // NFKC is the identity, lowercase is one byte.
        sink.push(c.to_ascii_lowercase());
        return true;
    }
    if is_nfkc_stable_cjk(c) {
        sink.push(kana_fold(c));
        return true;
    }
    if is_default_ignorable(c) {
        return true;
    }
    // Most other characters (accented letters, Cyrillic, Thai, dashes) are
    // their own NFKC form, and none of those composes with the character
    // before it (that is what "Maybe" marks): one table lookup instead of
    // the normalizer.
    if is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
        for l in c.to_lowercase() {
            sink.push(kana_fold(l));
        }
        return true;
    }
    for d in std::iter::once(c).nfkc() {
        // A combining mark that arrived on its own (halfwidth ﾞ becomes
        // U+3099) composes with the character before it, as NFKC over the
        // whole string would do.
        if is_combining_mark(d)
            && let Some(composed) = sink.last().and_then(|prev| compose(prev, d))
        {
            if !sink.compose_last(composed) {
                return false;
            }
            continue;
        }
        for l in d.to_lowercase() {
            sink.push(kana_fold(l));
        }
    }
    true
}

/// Units with the original range of the character they came from; a
/// composed character's range grows to cover the mark.
struct UnitSink<'a> {
    out: &'a mut Vec<Unit>,
    origin: Unit,
}

impl WordsSink for UnitSink<'_> {
    fn last(&self) -> Option<char> {
        self.out.last().map(|u| u.ch)
    }

    fn push(&mut self, ch: char) {
        self.out.push(Unit { ch, ..self.origin });
    }

    fn compose_last(&mut self, composed: char) -> bool {
        if let Some(prev) = self.out.last_mut() {
            prev.ch = composed;
            prev.end = prev.end.max(self.origin.end);
        }
        true
    }
}

/// Straight into a view; it does not compose (its segments would have to
/// be split), so [`words_direct`] leaves that rare case to [`words_units`].
struct BuilderSink<'a> {
    b: &'a mut ViewBuilder,
    origin: Range<u32>,
    chars: &'a mut usize,
}

impl WordsSink for BuilderSink<'_> {
    fn last(&self) -> Option<char> {
        self.b.last_char()
    }

    fn push(&mut self, ch: char) {
        self.b.push(ch, self.origin.clone());
        *self.chars += 1;
    }

    fn compose_last(&mut self, _: char) -> bool {
        false
    }
}

/// Builds the `normalized` view from the `words` view (reused as is when
/// normalization would change nothing, the common case for honest posts).
pub fn normalized_view(words: &View) -> Normalized {
    normalized_in_context(words, None)
}

/// The `normalized` view as it reads inside a post written mostly in
/// Cyrillic (`true`) or not (`false`), whatever the text itself is: a rule
/// phrase is matched in both kinds of post, and its all-look-alike Cyrillic
/// words (`на`, `работа`) read differently in each.
pub(crate) fn normalized_view_in(words: &View, mostly_cyrillic: bool) -> Normalized {
    normalized_in_context(words, Some(mostly_cyrillic))
}

/// Both entry points: `words` reused as is when there is nothing to undo.
fn normalized_in_context(words: &View, context: Option<bool>) -> Normalized {
    if !needs_normalizing(words.as_str()) {
        return Normalized { text: words.clone(), mixed_script: Vec::new(), evasion_undone: false };
    }
    normalize_units(&words.units(), words, context)
}

/// The `normalized` view from the characters of the `words` view (`words`
/// is that view, reused as is when normalization changed nothing); `context`
/// says whether the field counts as mostly Cyrillic, `None` to count.
fn normalize_units(units: &[Unit], words: &View, context: Option<bool>) -> Normalized {
    let mut result = Normalized::default();
    let mut folded: Vec<Unit> = Vec::with_capacity(units.len());

    // Pass 1: confusable folding, word by word. Whether the field is written
    // mostly in Cyrillic is counted once, and only if a word needs it.
    let mut cyrillic_field: Option<bool> = context;
    let mut i = 0;
    while i < units.len() {
        if !is_foldable_word_char(units[i].ch) {
            folded.push(units[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < units.len() && is_foldable_word_char(units[i].ch) {
            i += 1;
        }
        fold_word(&units[start..i], &mut folded, &mut result, &mut || {
            *cyrillic_field.get_or_insert_with(|| mostly_cyrillic(units))
        });
    }

    // Pass 2: de-spacing, leetspeak and squeezing over tokens.
    let mut out: Vec<Unit> = Vec::with_capacity(folded.len());
    let tokens = tokens(&folded);
    let mut t = 0;
    let mut copied = 0;
    while t < tokens.len() {
        let run_end = spaced_run_end(&folded, &tokens, t);
        if run_end >= t + 3 {
            // `b i n a n c e` → one token; separators dropped.
            out.extend_from_slice(&folded[copied..tokens[t].start]);
            let merged: Vec<Unit> = tokens[t..run_end].iter().map(|r| folded[r.start]).collect();
            clean_token(&merged, &mut out);
            result.evasion_undone = true;
            copied = tokens[run_end - 1].end;
            t = run_end;
            continue;
        }
        let r = tokens[t].clone();
        out.extend_from_slice(&folded[copied..r.start]);
        let before = out.len();
        clean_token(&folded[r.clone()], &mut out);
        if out.len() != r.len() + before || out[before..].iter().zip(&folded[r.clone()]).any(|(a, b)| a.ch != b.ch) {
            result.evasion_undone = true;
        }
        copied = r.end;
        t += 1;
    }
    out.extend_from_slice(&folded[copied..]);
    result.text = if out == units { words.clone() } else { View::from_units(&out) };
    result
}

/// Folds one word of Latin/Cyrillic/Greek letters and digits.
///
/// Non-Latin letters are folded to their Latin look-alike only when the word
/// mixes scripts, or when every letter of the word has a Latin look-alike
/// (an all-Cyrillic `раураl` spelling "paypal") and the field is not written
/// mostly in Cyrillic: a genuine Russian or Greek word keeps its letters, so
/// rules written in those languages still match (`работа` and `5к` in a
/// Russian post stay as they are; in an English post they would read
/// `pa6ota`, `sk`).
///
/// A Russian word with Latin look-alikes swapped in (`нyжны`, `oплaтa`,
/// `Пpивет`) goes the other way: its Latin letters become the Cyrillic ones
/// they imitate, so it reads `нужны`, `оплата`, `привет`, as the pack's
/// Russian phrases are written (and then folded as that word written
/// honestly would be). That is when every Latin letter of the word
/// has a Cyrillic look-alike and either a letter of the word is Cyrillic with
/// no Latin look-alike (`ж`, `и`, `л` …: no English word is spelled with
/// them) or the field is mostly Cyrillic (`cyтoк` in a Russian post).
/// `mostly_cyrillic` is asked only for such words.
fn fold_word(word: &[Unit], out: &mut Vec<Unit>, result: &mut Normalized, mostly_cyrillic: &mut dyn FnMut() -> bool) {
    if word.iter().all(|u| u.ch.is_ascii()) {
        out.extend_from_slice(word);
        return;
    }
    // One script lookup per character serves both the mixed-script test and
    // the decision of which letters to fold.
    let scripts: Vec<Script> = word.iter().map(|u| u.ch.script()).collect();
    let latin = word.iter().zip(&scripts).any(|(u, s)| *s == Script::Latin && u.ch.is_alphabetic());
    let other =
        scripts.iter().any(|s| matches!(s, Script::Cyrillic | Script::Greek | Script::Armenian | Script::Cherokee));
    if latin && other {
        let first = word[0].start as usize;
        let last = word[word.len() - 1].end as usize;
        result.mixed_script.push(first..last);
    }
    let folds: Vec<Option<char>> = word.iter().map(|u| fold_char(u.ch)).collect();
    if latin && other && reads_as_cyrillic(word, &scripts, &folds, mostly_cyrillic) {
        // The word as its author's alphabet spells it, then folded as that
        // word written honestly would be.
        result.evasion_undone = true;
        let cyrillic: Vec<Unit> = word
            .iter()
            .zip(&folds)
            .zip(&scripts)
            .map(|((u, f), s)| {
                let ch = match s {
                    Script::Latin if u.ch.is_ascii() => latin_to_cyrillic(u.ch),
                    Script::Latin => f.and_then(latin_to_cyrillic),
                    _ => None,
                };
                Unit { ch: ch.unwrap_or(u.ch), ..*u }
            })
            .collect();
        return fold_word(&cyrillic, out, result, mostly_cyrillic);
    }
    // A word of look-alikes only is folded (`раураl`), unless it is Cyrillic
    // in a post written mostly in Cyrillic: there it is a Russian word
    // (`работа`, `на`, `смену`), not a spoof of a Latin one.
    let fold_foreign = latin
        || (word.iter().zip(&folds).all(|(u, f)| u.ch.is_ascii() || f.is_some())
            && !(scripts.contains(&Script::Cyrillic) && mostly_cyrillic()));
    for ((u, f), script) in word.iter().zip(folds).zip(scripts) {
        let foreign = !matches!(script, Script::Latin | Script::Common | Script::Inherited);
        match f {
            Some(c) if !foreign || fold_foreign => {
                result.evasion_undone |= foreign;
                out.push(Unit { ch: c, ..*u });
            }
            _ => out.push(*u),
        }
    }
}

/// Whether a word mixing Latin and Cyrillic letters (the caller checked both
/// are there) is a Cyrillic word with Latin look-alikes swapped in (see
/// [`fold_word`]).
fn reads_as_cyrillic(
    word: &[Unit],
    scripts: &[Script],
    folds: &[Option<char>],
    mostly_cyrillic: &mut dyn FnMut() -> bool,
) -> bool {
    let mut unlike_latin = false;
    for ((u, s), f) in word.iter().zip(scripts).zip(folds) {
        match s {
            Script::Cyrillic => unlike_latin |= f.is_none(),
            Script::Latin if u.ch.is_alphabetic() => {
                // `o`, and `ᴏ` (small capital) by its fold.
                let ascii = if u.ch.is_ascii() { Some(u.ch) } else { *f };
                if ascii.and_then(latin_to_cyrillic).is_none() {
                    return false;
                }
            }
            Script::Greek | Script::Armenian | Script::Cherokee => return false,
            _ => {}
        }
    }
    unlike_latin || mostly_cyrillic()
}

/// The Cyrillic letter a lowercase ASCII letter imitates in a Russian word
/// (`words` is lower case, so `B`, `H`, `M`, `T` for `В`, `Н`, `М`, `Т` arrive
/// as `b`, `h`, `m`, `t`; `n`, `r`, `u` imitate `п`, `г`, `и`). Digits are
/// never folded: `5к` is an amount.
fn latin_to_cyrillic(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'n' => 'п',
        'o' => 'о',
        'p' => 'р',
        'r' => 'г',
        't' => 'т',
        'u' => 'и',
        'x' => 'х',
        'y' => 'у',
        _ => return None,
    })
}

/// Whether more of the field's letters are Cyrillic than Latin.
fn mostly_cyrillic(units: &[Unit]) -> bool {
    let (mut cyrillic, mut latin) = (0usize, 0usize);
    for u in units {
        if u.ch.is_ascii_alphabetic() {
            latin += 1;
        } else if !u.ch.is_ascii() && u.ch.is_alphabetic() {
            match u.ch.script() {
                Script::Cyrillic => cyrillic += 1,
                Script::Latin => latin += 1,
                _ => {}
            }
        }
    }
    cyrillic > latin
}

/// The ASCII letter or digit a character looks like, if any.
///
/// UTS #39 skeleton, then combining marks stripped (`ị` → `i`, `Ð` → `D` + a
/// stroke → `d`). The skeleton of some lowercase letters is not Latin (`ð` →
/// `∂`) while their capital's is, so the capital is tried too.
pub(crate) fn fold_char(c: char) -> Option<char> {
    if c.is_ascii() {
        return None;
    }
    let try_one = |c: char| -> Option<char> {
        let mut buf = [0u8; 4];
        let mut found = None;
        for s in unicode_security::confusable_detection::skeleton(c.encode_utf8(&mut buf)) {
            if is_combining_mark(s) {
                continue;
            }
            if found.is_some() || !s.is_ascii_alphanumeric() {
                return None;
            }
            found = Some(s.to_ascii_lowercase());
        }
        found
    };
    try_one(c).or_else(|| {
        let mut upper = c.to_uppercase();
        match (upper.next(), upper.next()) {
            (Some(u), None) if u != c => try_one(u),
            _ => None,
        }
    })
}

/// Letters and digits of the scripts whose look-alikes are folded. Kana,
/// kanji, Hangul, Thai … are deliberately excluded.
fn is_foldable_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    // CJK punctuation, kana, kanji, Hangul and their compatibility forms:
    // the bulk of non-ASCII text here, rejected before any table lookup.
    if matches!(c as u32, 0x2E80..=0xD7FF | 0xF900..=0xFAFF | 0xFF61..=0xFFDC | 0x20000..=0x3FFFF) {
        return false;
    }
    c.is_alphanumeric()
        && matches!(
            c.script(),
            Script::Latin | Script::Cyrillic | Script::Greek | Script::Armenian | Script::Cherokee | Script::Common
        )
}

/// Whether `c`, between `before` and `after`, belongs to a token of pass 2:
/// an ASCII letter or digit, or a leet `$` or `@` between letters
/// (`p@ypal`); elsewhere they part tokens.
fn in_token(c: char, before: Option<char>, after: Option<char>) -> bool {
    let letter = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphabetic());
    c.is_ascii_alphanumeric() || (matches!(c, '$' | '@') && letter(before) && letter(after))
}

/// Tokens for pass 2: maximal runs of ASCII letters and digits plus the leet
/// symbols `$` and `@` when they sit between letters.
fn tokens(units: &[Unit]) -> Vec<Range<usize>> {
    let is_tok = |i: usize| {
        let before = i.checked_sub(1).map(|p| units[p].ch);
        in_token(units[i].ch, before, units.get(i + 1).map(|u| u.ch))
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < units.len() {
        if !is_tok(i) {
            i += 1;
            continue;
        }
        let s = i;
        while i < units.len() && is_tok(i) {
            i += 1;
        }
        out.push(s..i);
    }
    out
}

/// Separators that spaced-out words use between their letters.
fn is_spacing_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '_' | '*' | '·' | '•' | '|' | '/' | '+' | '~' | '\t')
}

/// Index one past the last token of a run of single-character tokens starting
/// at `t` (`b i n a n c e`, `f.r.e.e`), each separated by 1–3 separators. A
/// run needs at least two letters so that `1 2 3` stays as it is.
fn spaced_run_end(units: &[Unit], tokens: &[Range<usize>], t: usize) -> usize {
    let single = |r: &Range<usize>| r.len() == 1;
    if !single(&tokens[t]) {
        return t;
    }
    let mut end = t + 1;
    let mut sep: Option<char> = None;
    while end < tokens.len() && single(&tokens[end]) {
        let gap = &units[tokens[end - 1].end..tokens[end].start];
        if gap.is_empty() || gap.len() > 3 || !gap.iter().all(|u| is_spacing_separator(u.ch)) {
            break;
        }
        // One separator throughout the run: `f.r.e.e` or `b i n`, while
        // "a. b" or "d.m m.e" are prose and abbreviations.
        let kind = *sep.get_or_insert(gap[0].ch);
        if gap.iter().any(|u| u.ch != kind) {
            break;
        }
        end += 1;
    }
    let letters = tokens[t..end].iter().filter(|r| units[r.start].ch.is_ascii_alphabetic()).count();
    if letters >= 2 { end } else { t }
}

/// Tokens longer than this are identifiers (addresses, hashes, keys), not
/// words: leetspeak and squeezing leave them alone.
const MAX_CLEAN_TOKEN: usize = 24;

/// `www` is the one tripled letter of honest text; squeezing it would only
/// make every URL look like an evasion.
fn is_www(token: &[Unit]) -> bool {
    token.len() == 3 && token.iter().all(|u| u.ch == 'w')
}

/// Leetspeak and squeezing inside one token.
fn clean_token(token: &[Unit], out: &mut Vec<Unit>) {
    if token.len() > MAX_CLEAN_TOKEN || is_www(token) {
        out.extend_from_slice(token);
        return;
    }
    let letters = token.iter().filter(|u| u.ch.is_ascii_alphabetic()).count();
    let start = out.len();
    let mut i = 0;
    while i < token.len() {
        let u = token[i];
        // A run of at most two leet characters next to a letter becomes
        // letters (`b1nance`, `fr33`, `h0dl`); longer digit runs are numbers
        // (`btc100`) and stay.
        if letters > 0 && leet(u.ch).is_some() {
            let mut j = i;
            while j < token.len() && leet(token[j].ch).is_some() {
                j += 1;
            }
            let touches_letter = (i > 0 && token[i - 1].ch.is_ascii_alphabetic())
                || token.get(j).is_some_and(|n| n.ch.is_ascii_alphabetic());
            let digits_only_number = token[i..j].iter().all(|u| u.ch.is_ascii_digit()) && j - i > 2;
            if touches_letter && !digits_only_number && j - i <= 2 {
                for v in &token[i..j] {
                    out.push(Unit { ch: leet(v.ch).unwrap_or(v.ch), ..*v });
                }
            } else {
                out.extend_from_slice(&token[i..j]);
            }
            i = j;
            continue;
        }
        out.push(u);
        i += 1;
    }
    squeeze(out, start);
}

/// The letter a leetspeak character stands for.
fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '$' => 's',
        '@' => 'a',
        _ => return None,
    })
}

/// Squeezes runs of 3+ identical letters to 2 (`freeee` → `free`, while
/// `seed` keeps its double e). The dropped units widen the kept one's span.
fn squeeze(out: &mut Vec<Unit>, start: usize) {
    let mut w = start;
    let mut r = start;
    while r < out.len() {
        let u = out[r];
        let run_is_long =
            w >= start + 2 && u.ch.is_ascii_alphabetic() && out[w - 1].ch == u.ch && out[w - 2].ch == u.ch;
        if run_is_long {
            out[w - 1].end = u.end;
        } else {
            out[w] = u;
            w += 1;
        }
        r += 1;
    }
    out.truncate(w);
}

/// Kana, kanji, Hangul syllables and common CJK punctuation that NFKC and
/// lowercasing leave unchanged: most non-ASCII text of a Japanese forum skips
/// the per-character normalizer. (゛゜ゟヿ and U+3000 have compatibility
/// decompositions and are not in these ranges.)
fn is_nfkc_stable_cjk(c: char) -> bool {
    matches!(c as u32, 0x3001..=0x3002 | 0x300C..=0x300F | 0x3041..=0x3096 | 0x30A1..=0x30FE
        | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3)
}

/// Whether any step of the `normalized` view could change this text (the
/// `words` view's): a non-ASCII letter of a foldable script, three single
/// characters in a row, a leet character touching a letter, or a letter
/// tripled. Honest posts usually have none, and then the `words` view is
/// reused as is. Tokens are ASCII, so the text is read as bytes; distances
/// between tokens count characters, as the normalizing passes do.
fn needs_normalizing(text: &str) -> bool {
    let b = text.as_bytes();
    let mut singles = 0; // one-character tokens in a row
    let mut last_end = 0; // character index one past the last token
    let mut at = 0; // character index of b[i]
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !c.is_ascii() {
            let ch = text[i..].chars().next().unwrap_or(' ');
            if is_foldable_word_char(ch) {
                return true;
            }
            i += ch.len_utf8();
            at += 1;
            continue;
        }
        if !c.is_ascii_alphanumeric() {
            i += 1;
            at += 1;
            continue;
        }
        let start = i;
        let start_at = at;
        // Tokens as the normalizing pass reads them (a byte of a
        // non-ASCII character is no letter, as the character is not).
        let byte = |at: Option<usize>| at.and_then(|at| b.get(at)).map(|&x| char::from(x));
        // Letters and digits first: the common case, without the lookaround.
        while i < b.len()
            && (b[i].is_ascii_alphanumeric() || in_token(char::from(b[i]), byte(i.checked_sub(1)), byte(Some(i + 1))))
        {
            i += 1;
        }
        at += i - start;
        let token = &b[start..i];
        if token.len() == 1 {
            singles = if singles > 0 && start_at - last_end <= 3 { singles + 1 } else { 1 };
            if singles >= 3 {
                return true;
            }
        } else {
            singles = 0;
            if token.len() <= MAX_CLEAN_TOKEN && token != b"www" {
                let leet = |b: u8| leet(char::from(b)).is_some();
                let has_letter = token.iter().any(u8::is_ascii_alphabetic);
                let leet_next_to_letter = token.iter().copied().any(leet)
                    && token.windows(2).any(|w| {
                        (leet(w[0]) && w[1].is_ascii_alphabetic()) || (w[0].is_ascii_alphabetic() && leet(w[1]))
                    });
                let tripled = token.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]);
                if has_letter && (leet_next_to_letter || tripled) {
                    return true;
                }
            }
        }
        last_end = at;
    }
    false
}

/// Katakana → hiragana, so さぽーと and サポート are one word.
fn kana_fold(c: char) -> char {
    match c {
        '\u{30A1}'..='\u{30F6}' | '\u{30FD}'..='\u{30FE}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        _ => c,
    }
}

/// Unicode `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt): zero-width
/// characters, bidi controls, variation selectors, the BOM and friends. They
/// render as nothing, so a scammer inserts them to split words.
pub fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::markup::parse_markup;
    use crate::vocab::Format;

    /// The `words` view one character at a time, as every view was built
    /// before the direct path: the reference the direct path must equal.
    fn words_by_units(raw: &View) -> (View, bool) {
        let (units, cut) = words_units(raw);
        (View::from_units(&units), cut)
    }

    fn assert_same_views(raw: &View, what: &str) {
        let (words, norm, cut) = views(raw);
        let (want, want_cut) = words_by_units(raw);
        assert_eq!(words.as_str(), want.as_str(), "words text of {what:?}");
        assert_eq!(words.units(), want.units(), "words origins of {what:?}");
        assert_eq!(cut, want_cut, "cut of {what:?}");
        // Skipping the normalizing passes must never change the result.
        let full = normalize_units(&words.units(), &words, None);
        assert_eq!(norm.text.as_str(), full.text.as_str(), "normalized text of {what:?}");
        assert_eq!(norm.text.units(), full.text.units(), "normalized origins of {what:?}");
        assert_eq!(norm.mixed_script, full.mixed_script, "mixed scripts of {what:?}");
        assert_eq!(norm.evasion_undone, full.evasion_undone, "evasion of {what:?}");
    }

    /// Pieces that take every branch of both paths: ASCII, kana and kanji,
    /// NFKC expansions and contractions, combining marks that compose (and
    /// send the direct path back to the per-character one) and ones that do
    /// not, ignorables, casing that changes length, entities and tags (runs
    /// of the raw view that stand for more than themselves), evasions.
    const PIECES: &[&str] = &[
        "Hello",
        "WORLD",
        " ",
        "  ",
        "\n",
        "\t",
        "サポート",
        "出金",
        "。",
        "、",
        "\u{3000}",
        "\u{a0}",
        "Ｆｕｌｌ",
        "！",
        "ｶﾞ",
        "e\u{301}",
        "\u{301}",
        "\u{200b}",
        "ß",
        "İ",
        "\u{fdfa}",
        "ﬁ",
        "①",
        "x²",
        "ǅ",
        "Ω",
        "한국",
        "สวัสดี",
        "бинанс",
        "раураl",
        "pаypal",
        "Пpивет",
        "cyтoк",
        "b i n a n c e",
        "f.r.e.e",
        "fr33",
        "freeee",
        "www",
        "1 2 3",
        "$",
        "@",
        "a",
        "p@ypal",
        "h0dl",
        "c4$h",
        "x",
        "&amp;",
        "&lt;b&gt;",
        "<b>x</b>",
        "<a href=\"http://x.io\">y</a>",
        "é",
        "Ä",
        "—",
        "😀",
        "0x52908400098527886E0F",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]
        #[test]
        fn the_direct_views_equal_the_views_built_by_units(
            picks in proptest::collection::vec(0..PIECES.len(), 0..16),
            html in proptest::bool::ANY,
        ) {
            let text: String = picks.iter().map(|&i| PIECES[i]).collect();
            let format = if html { Format::Html } else { Format::Text };
            assert_same_views(&parse_markup(&text, format).raw, &text);
        }
    }

    /// The step's quick path (a character that is its own NFKC form takes
    /// no normalizer) gives what the normalizer gives, for every character:
    /// the same character, and never a mark that could compose with the
    /// one before it (every second half of a canonical composition is
    /// "Maybe", not "Yes").
    #[test]
    fn the_quick_check_path_agrees_with_the_normalizer() {
        let quick = |c: char| is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes;
        let (mut yes, mut composites) = (0, 0);
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if quick(c) {
                yes += 1;
                assert!(std::iter::once(c).nfkc().eq(std::iter::once(c)), "{c:?} is not its own NFKC form");
            }
            let mut parts = Vec::new();
            unicode_normalization::char::decompose_canonical(c, |p| parts.push(p));
            // A primary composite (not excluded from composition): its
            // last mark composes with the rest, recomposed.
            if let [.., last] = parts[..]
                && parts.len() >= 2
            {
                let mut head = parts[..parts.len() - 1].iter().copied().nfc();
                if let (Some(h), None) = (head.next(), head.next())
                    && compose(h, last) == Some(c)
                {
                    assert!(!quick(last), "{last:?} composes into {c:?} yet passes the quick check");
                    composites += 1;
                }
            }
        }
        assert!(yes > 1_000_000 && composites > 900, "{yes} {composites}");
    }

    #[test]
    fn views_at_the_cap_are_cut_as_before() {
        for text in [
            "a".repeat(MAX_VIEW_CHARS),
            "a".repeat(MAX_VIEW_CHARS - 1),
            format!("{}\u{200b}", "a".repeat(MAX_VIEW_CHARS)),
            "\u{fdfa}".repeat(4000),
            "サ".repeat(MAX_VIEW_CHARS / 3),
            "a".repeat(MAX_VIEW_CHARS + 10),
            "サ".repeat(MAX_VIEW_CHARS + 3),
            "é".repeat(MAX_VIEW_CHARS + 2),
            format!("{}\u{fdfa}b", "a".repeat(MAX_VIEW_CHARS - 1)),
            format!("{}\u{200b}\u{200b}", "a".repeat(MAX_VIEW_CHARS - 1)),
        ] {
            let raw = View::identity(&text);
            assert_same_views(&raw, &text.chars().take(8).collect::<String>());
            // The direct path cuts at the cap itself: an over-long post
            // is not read twice.
            assert!(words_direct(&raw).is_some(), "{}", text.len());
        }
        // Over the cap the view is cut and says so (the character that
        // reaches the cap is kept whole: U+FDFA is 18 characters).
        let (words, _, cut) = views(&View::identity(&"\u{fdfa}".repeat(4000)));
        let n = words.as_str().chars().count();
        assert!(cut && (MAX_VIEW_CHARS..MAX_VIEW_CHARS + 18).contains(&n), "{n}");
    }

    #[test]
    fn honest_text_reuses_the_words_view_and_evasion_does_not() {
        assert!(!needs_normalizing("my withdrawal is pending, see https://www.example.com — 出金が保留"));
        for evasive in ["b i n a n c e", "fr33 btc", "freeee", "pаypal"] {
            assert!(needs_normalizing(evasive), "{evasive}");
        }
    }

    fn normalized(text: &str) -> (String, usize) {
        let (_, norm, _) = views(&View::identity(text));
        (norm.text.as_str().to_string(), norm.mixed_script.len())
    }

    #[test]
    fn latin_look_alikes_in_a_russian_word_read_as_cyrillic() {
        // Each word with a Cyrillic letter no English word has goes to
        // Cyrillic; `cyтoк` (only look-alikes) because the post is Russian.
        let (text, mixed) = normalized("Дoбpoгo вpeмeни cyтoк! Нyжны люди, oплaтa 5к в дeнь, пишитe в лc");
        assert_eq!(text, "доброго времени суток! нужны люди, оплата 5к в день, пишите в лс");
        assert_eq!(mixed, 8, "every mixed word is still reported");
        assert_eq!(normalized("Bсем пpивет, paбoтa зa cмeнy").0, "всем привет, работа за смену");
        // A small capital is a Latin look-alike too.
        assert_eq!(normalized("Пᴏмᴏгу деньгами").0, "помогу деньгами");
        // Latin words keep going to Latin, in English and in Russian posts.
        assert_eq!(normalized("claim your tеther airdrop").0, "claim your tether airdrop");
        assert_eq!(normalized("send to раураl").0, "send to paypal");
        assert_eq!(normalized("pаypal").0, "paypal");
        assert_eq!(normalized("заходите на Вinance сегодня").0, "заходите на binance сегодня");
        // Only look-alikes, in a post that is not mostly Cyrillic: Latin.
        assert_eq!(normalized("my cyтoк").0, "my cytok");
        assert_eq!(normalized("double your ВТС now").0, "double your btc now");
        // Genuine Russian words keep their letters in a Russian post, and
        // amounts stay digits.
        assert_eq!(normalized("работа на дому, оплата 5000 рублей").0, "работа на дому, оплата 5000 рублей");
        assert_eq!(normalized("плaчу 3к").0, "плачу 3к");
    }
}
