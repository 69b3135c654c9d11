//! The text of a post as the pipeline reads it: the visible text and links
//! of a body ([`markup`]), views with offset maps back to the original
//! ([`view`]), the views that undo evasion ([`normalize`]); and the helpers
//! more than one layer needs (word boundaries as rules see them, hex digests).

pub mod markup;
pub mod normalize;
pub mod quotes;
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

/// Appends `x` with two decimals, with its sign when `signed` (`+1.25`,
/// `-0.50`), as `{x:+.2}` / `{x:.2}` would (halves round away from zero)
/// but without the float formatter: signal descriptions are written on the
/// scoring path.
pub(crate) fn push_fixed2(out: &mut String, x: f64, signed: bool) {
    if !x.is_finite() || x.abs() >= 1e15 {
        use std::fmt::Write as _;
        let _ = if signed { write!(out, "{x:+.2}") } else { write!(out, "{x:.2}") };
        return;
    }
    let cents = (x * 100.0).round() as i64;
    if cents < 0 {
        out.push('-');
    } else if signed {
        out.push('+');
    }
    let a = cents.unsigned_abs();
    push_u64(out, a / 100);
    out.push('.');
    out.push(char::from(b'0' + (a / 10 % 10) as u8));
    out.push(char::from(b'0' + (a % 10) as u8));
}

/// Appends the decimal digits of `n`.
pub(crate) fn push_u64(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[i..]).expect("ASCII digits"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_two_decimals_match_the_formatter() {
        for x in [0.0, 1.0, -1.0, 0.004, -0.004, 2.5, -3.24159, 12.345678, -99.999, 1234567.891, f64::NAN, 1e20, -0.5] {
            let (mut signed, mut plain) = (String::new(), String::new());
            push_fixed2(&mut signed, x, true);
            push_fixed2(&mut plain, x, false);
            let rounds_to_zero = x.is_finite() && (x * 100.0).round() == 0.0;
            let want_signed = if rounds_to_zero { "+0.00".to_string() } else { format!("{x:+.2}") };
            let want_plain = if rounds_to_zero { "0.00".to_string() } else { format!("{x:.2}") };
            assert_eq!(signed, want_signed, "{x}");
            assert_eq!(plain, want_plain, "{x}");
        }
        let mut n = String::new();
        push_u64(&mut n, 0);
        n.push(' ');
        push_u64(&mut n, 18_446_744_073_709_551_615);
        assert_eq!(n, "0 18446744073709551615");
    }

    #[test]
    fn script_change_is_a_word_boundary() {
        let t = "btcを送って";
        assert!(is_whole_word(t, 0, 3));
        assert!(is_whole_word("100btc", 3, 6));
        assert!(!is_whole_word("smartwatch", 5, 10));
        assert!(is_whole_word("無料でサポート", 9, 21));
    }
}
