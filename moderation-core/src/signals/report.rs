//! Reports of a scam: a post that quotes a lure in order to warn about it
//! ("'Send 0.1 get 0.2 back' is always a scam", 「…」って返信がきた。これ詐欺だよね？).
//!
//! The lure's words are in the post, so the rules fire on them; what tells
//! a report from the lure is the author's own words, outside the quotation,
//! calling it a scam. [`warning_word`] finds such a word. A negated one ("not
//! a scam", 「詐欺じゃない」, "scam-free") does not count: that is what a
//! lure says of itself.
//!
//! The engine uses it only to *cap* a post at review (see
//! `Engine::score`), never to allow it: a scammer who dresses a lure up as
//! a report still reaches the review queue, and the post is only capped when
//! everything of the category that fired lies inside the quotation.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use crate::text::quotes::is_quoted;
use crate::text::view::View;

/// Words that call something a scam. Latin and Cyrillic words match whole
/// words (case-insensitive); words of scripts without spaces match anywhere.
const WARNING: &str = r"(?i)\b(?:scam(?:s|mer|mers|my)?|phishing|phish|fraud(?:s|ulent|ster|sters)?|fake|no such|beware|impersonat(?:or|ors|ing|ion)|drainer|estafa|golpe|arnaque|betrug|мошенни\w*|развод|скам\w*|dolandırıcı\w*|penipuan|lừa đảo)\b|詐欺|フィッシング|偽物|偽サイト|偽アカ|偽の|ニセ|なりすまし|騙|骗|詐騙|사기|มิจฉาชีพ|หลอกลวง";

/// A negation before the warning word, in the same sentence and at most a
/// few words back ("not a scam", "no scam", "bukan penipuan", 不是骗子).
const NEGATION_BEFORE: &str = r"(?i)(?:\b(?:not|no|isn'?t|isn’t|aren'?t|aren’t|wasn'?t|ain'?t|never|non|zero|nothing|without|nicht|kein\w*|pas|não|nao|nem|не|нет|ни|bukan|tidak|không|khong|chẳng)\b|不是|不|没|沒|非|안)";

/// A negation or denial after it ("scam-free", "scam? no, legit", 「詐欺じゃない」, "dolandırıcı değil").
const NEGATION_AFTER: &str = r"(?i)(?:\b(?:free|proof|not|no|nope|never|legit|legitimate|real|genuine|değil|degil|yok)\b|ではな|じゃな|でな|なし|ません|아니|없|本物|本当)";

/// How far a negation may stand from the warning word, in bytes of the
/// visible text (about three words either side).
const WINDOW: usize = 30;

/// How many warning words of a post are read at most.
const MAX_CANDIDATES: usize = 64;

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a fixed, tested pattern"))
}

/// The first word of `raw` (a field's visible text) outside the `quoted`
/// passages (byte ranges of the original field) that calls something a
/// scam, not negated; its range in the original field.
pub fn warning_word(raw: &View, quoted: &[Range<usize>]) -> Option<Range<usize>> {
    static WARN: OnceLock<Regex> = OnceLock::new();
    static BEFORE: OnceLock<Regex> = OnceLock::new();
    static AFTER: OnceLock<Regex> = OnceLock::new();
    let text = raw.as_str();
    // A report names the scam early; a post repeating "scam" thousands of
    // times gets no more reading than its first words of the kind.
    for m in regex(&WARN, WARNING).find_iter(text).take(MAX_CANDIDATES) {
        let original = raw.origin(m.range());
        if is_quoted(&original, quoted) {
            continue;
        }
        let before = sentence_tail(&text[floor_char(text, m.start().saturating_sub(WINDOW))..m.start()]);
        let after = sentence_head(&text[m.end()..ceil_char(text, (m.end() + WINDOW).min(text.len()))]);
        if regex(&BEFORE, NEGATION_BEFORE).is_match(before) || regex(&AFTER, NEGATION_AFTER).is_match(after) {
            continue;
        }
        return Some(original);
    }
    None
}

/// The part of `before` (the text just before a word) in the word's
/// sentence: after the last `.`, `!` or `?` followed by a space, a line
/// break, or a full-width stop.
fn sentence_tail(before: &str) -> &str {
    let mut start = 0;
    for (i, c) in before.char_indices() {
        let ends = match c {
            '\n' | '。' | '！' | '？' => true,
            '.' | '!' | '?' => before[i + 1..].starts_with(char::is_whitespace),
            _ => false,
        };
        if ends {
            start = i + c.len_utf8();
        }
    }
    &before[start..]
}

/// The part of `after` (the text just after a word) in the word's
/// sentence. A question mark does not end it here, so that "Scam? No,
/// it's real" reads as a denial.
fn sentence_head(after: &str) -> &str {
    for (i, c) in after.char_indices() {
        let ends = match c {
            '\n' | '。' | '！' => true,
            '.' | '!' => after[i + 1..].is_empty() || after[i + 1..].starts_with(char::is_whitespace),
            _ => false,
        };
        if ends {
            return &after[..i];
        }
    }
    after
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::quotes::quoted_ranges;

    fn warning(text: &str) -> Option<&str> {
        let raw = View::identity(text);
        warning_word(&raw, &quoted_ranges(text, &raw)).map(|r| &text[r])
    }

    #[test]
    fn the_authors_own_word_outside_the_quotation() {
        assert_eq!(warning("'Send 0.1 get 0.2 back' is always, always a scam."), Some("scam"));
        assert_eq!(warning("「LINEで連絡して」って返信がきた。これ詐欺だよね？？"), Some("詐欺"));
        assert_eq!(warning("Quoting it:\n\"Airdrop is live!\"\nThere's no such airdrop."), Some("no such"));
        assert_eq!(warning("Beware: \"DM me for support\""), Some("Beware"));
    }

    #[test]
    fn a_word_inside_the_quotation_does_not_count() {
        assert_eq!(warning("\"This is not a scam, send 0.1 get 0.2\" they wrote"), None);
        assert_eq!(warning("> phishing warning\nclaim at eth-claim.org"), None);
    }

    #[test]
    fn what_a_lure_says_of_itself_does_not_count() {
        for lure in [
            "\"Send 0.1 get 0.2 back\" not a scam, 100% paid",
            "\"Send 0.1 get 0.2\" this is no scam",
            "'Double your BTC' - scam-free and verified",
            "\"Send 1 ETH get 2 ETH\" Scam? No, real payouts",
            "「LINE追加で10万円」詐欺じゃないです",
            "\"Kirim 1 dapat 2\" bukan penipuan",
            "\"1 gönder 2 al\" dolandırıcı değil",
            "「加LINE领红包」不是骗子",
        ] {
            assert_eq!(warning(lure), None, "{lure}");
        }
    }

    #[test]
    fn a_negation_in_another_sentence_does_not_cancel() {
        assert_eq!(warning("I didn't message them. thats a scam right??"), Some("scam"));
        assert_eq!(warning("No. 'Send 0.1 get 0.2' is a scam"), Some("scam"));
    }
}
