//! The text of a post as the pipeline reads it: the visible text and links
//! of a body ([`markup`]), views with offset maps back to the original
//! ([`view`]), the views that undo evasion ([`normalize`]); and the helpers
//! more than one layer needs (word boundaries as rules see them, hex digests).

pub mod markup;
pub mod normalize;
pub mod view;

use unicode_script::{Script, UnicodeScript};

/// Character classes for word boundaries. Letters of scripts written with
/// spaces between words form words; digits form numbers; a change of class
/// is a boundary (`btc` in `100btc` or 「BTCを」).
#[derive(PartialEq, Eq, Clone, Copy)]
enum Class {
    Separator,
    Letter,
    Digit,
    /// Han, kana, Thai, Hangul …: no spaces between words, substring matching.
    Unspaced,
}

fn class(c: char) -> Class {
    if c.is_ascii() {
        return if c.is_ascii_alphabetic() {
            Class::Letter
        } else if c.is_ascii_digit() {
            Class::Digit
        } else if c == '_' {
            Class::Letter
        } else {
            Class::Separator
        };
    }
    if c.is_numeric() {
        return Class::Digit;
    }
    if !c.is_alphanumeric() {
        return Class::Separator;
    }
    match c.script() {
        Script::Han
        | Script::Hiragana
        | Script::Katakana
        | Script::Thai
        | Script::Hangul
        | Script::Lao
        | Script::Khmer
        | Script::Myanmar
        | Script::Tibetan => Class::Unspaced,
        _ => Class::Letter,
    }
}

pub(crate) fn needs_boundary(c: char) -> bool {
    matches!(class(c), Class::Letter | Class::Digit)
}

pub(crate) fn boundary_before(text: &str, at: usize) -> bool {
    let (Some(prev), Some(first)) = (text[..at].chars().next_back(), text[at..].chars().next()) else {
        return true;
    };
    class(prev) != class(first)
}

pub(crate) fn boundary_after(text: &str, at: usize) -> bool {
    let (Some(last), Some(next)) = (text[..at].chars().next_back(), text[at..].chars().next()) else {
        return true;
    };
    class(last) != class(next)
}

/// Whether `text[start..end]` is a whole word in the sense rules use.
pub(crate) fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let first = text[start..].chars().next().unwrap_or(' ');
    let last = text[..end].chars().next_back().unwrap_or(' ');
    (!needs_boundary(first) || boundary_before(text, start)) && (!needs_boundary(last) || boundary_after(text, end))
}

/// Lowercase hexadecimal of `bytes` (digest prefixes in versions and hashes).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_change_is_a_word_boundary() {
        let t = "btcを送って";
        assert!(is_whole_word(t, 0, 3));
        assert!(is_whole_word("100btc", 3, 6));
        assert!(!is_whole_word("smartwatch", 5, 10));
        assert!(is_whole_word("無料でサポート", 9, 21));
    }
}
