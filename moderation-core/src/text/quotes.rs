//! What a post quotes: the passages its author reproduces from someone else
//! rather than says. A warning that quotes a lure ("'Send 0.1 get 0.2 back'
//! is always a scam") carries the lure's words; [`quoted_ranges`] finds
//! where they sit so that the engine can tell the two apart.
//!
//! Quoted passages are, in the original text's byte offsets:
//! - blocks, found in the original text: HTML `<blockquote>…</blockquote>`
//!   and BBCode/Discourse `[quote…]…[/quote]` (nested ones count with the
//!   outer one), and Markdown quote lines (`> …`);
//! - passages between quotation marks in the visible text: `"…"`, `“…”`,
//!   `„…“`, `'…'`, `‘…’`, `«…»`, `‹…›`, `「…」`, `『…』`, `〝…〟`. A
//!   passage ends at its closing mark, at a blank line or after
//!   [`MAX_QUOTE_CHARS`] characters (then it is not a quotation: an
//!   unbalanced mark does not turn the rest of a post into a quote). An
//!   apostrophe between letters (`didn't`, `it’s`) neither opens nor closes
//!   one.

use std::ops::Range;

use crate::text::view::View;
use crate::vocab::Format;

/// The longest passage between quotation marks that counts as a quotation.
pub const MAX_QUOTE_CHARS: usize = 1000;

/// The quoted passages of a field: `original` is the field as submitted,
/// `raw` its visible text (with offsets back to `original`). Ranges are
/// byte ranges of `original`, sorted by start; they may overlap. Markdown
/// quote lines count in plain text and Markdown, not in HTML; a block
/// whose closing tag never comes quotes nothing. `None` when the scan of
/// quotation marks ran out of its step budget: the quotations are then
/// unknown, and nothing may be taken as said outside them.
pub fn quoted_ranges(original: &str, raw: &View, format: Format) -> Option<Vec<Range<usize>>> {
    let mut out = Vec::new();
    blocks(original, &BLOCKQUOTE, false, &mut out);
    blocks(original, &BBCODE_QUOTE, false, &mut out);
    if format != Format::Html {
        let mut line_start = 0;
        for line in original.split_inclusive('\n') {
            if line.trim_start().starts_with('>') {
                out.push(line_start..line_start + line.trim_end_matches(['\n', '\r']).len());
            }
            line_start += line.len();
        }
    }
    for r in marked(raw.as_str())? {
        out.push(raw.origin(r));
    }
    out.sort_by_key(|r| (r.start, r.end));
    Some(out)
}

/// `ranges` (sorted by start, as [`quoted_ranges`] gives them) with
/// overlapping and touching ones joined: the form [`is_quoted`] searches.
pub fn merged(ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Whether `range` lies wholly inside the quoted text: `quoted` is
/// [`merged`] (sorted and disjoint), so one binary search answers, however
/// many quotations and matches a post repeats.
pub fn is_quoted(range: &Range<usize>, quoted: &[Range<usize>]) -> bool {
    let i = quoted.partition_point(|q| q.start <= range.start);
    i > 0 && range.end <= quoted[i - 1].end
}

/// The quotation blocks of `text`: HTML `<blockquote>…</blockquote>` and
/// BBCode/Discourse `[quote…]…[/quote]`, tags included, sorted by start;
/// an unclosed block runs to the end (what a near-duplicate check should
/// leave out).
pub fn block_ranges(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    blocks(text, &BLOCKQUOTE, true, &mut out);
    blocks(text, &BBCODE_QUOTE, true, &mut out);
    out.sort_by_key(|r| (r.start, r.end));
    out
}

/// `text` without the `quoted` passages (sorted by start; each replaced by
/// `separator`): what its author says in their own words.
pub fn without(text: &str, quoted: &[Range<usize>], separator: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for q in quoted {
        if q.start > at {
            out.push_str(&text[at..q.start]);
            out.push_str(separator);
        }
        at = at.max(q.end);
    }
    out.push_str(&text[at.min(text.len())..]);
    out
}

/// A kind of quotation block: its opening tag's start, the bytes that may
/// follow it (so `[quotes]` and `<blockquoted>` are not blocks), and its
/// closing tag.
struct Block {
    open: &'static str,
    after_open: &'static [u8],
    close: &'static str,
}

const BLOCKQUOTE: Block = Block { open: "<blockquote", after_open: b"> \t\r\n/", close: "</blockquote>" };
const BBCODE_QUOTE: Block = Block { open: "[quote", after_open: b"]= \t", close: "[/quote]" };

/// Blocks of one kind (tags ASCII case-insensitive; nested blocks count
/// with the outer one), tags included. An unclosed block runs to the end
/// if `unclosed_to_end`, else is not a block.
fn blocks(text: &str, kind: &Block, unclosed_to_end: bool, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let at = |i: usize, s: &str| bytes.len() >= i + s.len() && bytes[i..i + s.len()].eq_ignore_ascii_case(s.as_bytes());
    let opens =
        |i: usize| at(i, kind.open) && bytes.get(i + kind.open.len()).is_none_or(|b| kind.after_open.contains(b));
    let (mut depth, mut start, mut i) = (0usize, 0usize, 0usize);
    // Open and close tags both begin with an ASCII byte (`<` or `[`), so
    // stepping by bytes never lands inside a character that matters.
    while i < bytes.len() {
        if opens(i) {
            if depth == 0 {
                start = i;
            }
            depth += 1;
            i += kind.open.len();
        } else if depth > 0 && at(i, kind.close) {
            depth -= 1;
            i += kind.close.len();
            if depth == 0 {
                out.push(start..i);
            }
        } else {
            i += 1;
        }
    }
    if depth > 0 && unclosed_to_end {
        out.push(start..text.len());
    }
}

/// The closing mark a character opens a quotation with, if it is an opening mark.
fn closer_of(c: char) -> Option<&'static [char]> {
    Some(match c {
        '"' => &['"'],
        '\'' => &['\''],
        '“' => &['”'],
        '„' => &['“', '”'],
        '‘' => &['’'],
        '«' => &['»'],
        '‹' => &['›'],
        '「' => &['」'],
        '『' => &['』'],
        '〝' => &['〟', '〞'],
        _ => return None,
    })
}

/// A mark that is also an apostrophe opens or closes only off a word:
/// `'` and `’` between two letters or digits are an apostrophe.
fn is_apostrophe_like(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘')
}

/// Passages between quotation marks (outermost only), marks included;
/// `None` when the scan ran out of its step budget.
fn marked(text: &str) -> Option<Vec<Range<usize>>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    // Whether the line break at each character begins a blank line: found
    // once (each scan stops at the next line break or letter, so all of
    // them read the text once), so that a mark left open is not re-scanned
    // across whitespace.
    let blank_after: Vec<bool> =
        (0..chars.len()).map(|k| chars[k].1 == '\n' && next_is_blank_line(&chars, k)).collect();
    let word = |i: Option<usize>| i.and_then(|i| chars.get(i)).is_some_and(|&(_, c)| c.is_alphanumeric());
    let space = |i: Option<usize>| i.and_then(|i| chars.get(i)).is_none_or(|&(_, c)| c.is_whitespace());
    let mut out = Vec::new();
    // The open quotation: where it starts (index into `chars`) and what closes it.
    let mut open: Option<(usize, &'static [char])> = None;
    // An unbalanced mark sends the scan back to just after it, so marks that
    // never close could cost MAX_QUOTE_CHARS steps each. Past this budget
    // the quotations are unknown, and the caller must not guess them.
    let mut budget = 4 * chars.len() + 4 * MAX_QUOTE_CHARS;
    let mut i = 0;
    while i < chars.len() {
        budget = budget.checked_sub(1)?;
        let (at, c) = chars[i];
        let prev = i.checked_sub(1);
        let next = Some(i + 1);
        match open {
            Some((start, closers)) => {
                if blank_after[i] || i - start > MAX_QUOTE_CHARS {
                    // Unbalanced: not a quotation; look again just after its mark.
                    open = None;
                    i = start + 1;
                    continue;
                }
                let closes = closers.contains(&c) && !(is_apostrophe_like(c) && (word(next) || space(prev)));
                if closes {
                    out.push(chars[start].0..at + c.len_utf8());
                    open = None;
                }
            }
            None => {
                if let Some(closers) = closer_of(c)
                    && !(is_apostrophe_like(c) && (word(prev) || space(next)))
                    && !(c == '"' && space(next) && !space(prev))
                {
                    open = Some((i, closers));
                }
            }
        }
        i += 1;
    }
    Some(out)
}

/// Whether the line break at `chars[k]` is followed, after spaces and
/// tabs only, by another line break.
fn next_is_blank_line(chars: &[(usize, char)], k: usize) -> bool {
    chars[k + 1..].iter().map(|&(_, c)| c).find(|c| !matches!(c, ' ' | '\t' | '\r')) == Some('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted_in(text: &str, format: Format) -> Option<Vec<&str>> {
        let doc = crate::text::markup::parse_markup(text, format);
        Some(quoted_ranges(text, &doc.raw, format)?.into_iter().map(|r| &text[r]).collect())
    }

    fn quoted(text: &str) -> Vec<&str> {
        quoted_in(text, Format::Text).expect("within the scan budget")
    }

    #[test]
    fn quotation_marks_of_several_languages() {
        assert_eq!(quoted(r#"he said "send 0.1 get 0.2" lol"#), [r#""send 0.1 get 0.2""#]);
        assert_eq!(quoted("“claim now” and «réclamez» and „jetzt“"), ["“claim now”", "«réclamez»", "„jetzt“"]);
        assert_eq!(quoted("「LINEで連絡して」って返信がきた"), ["「LINEで連絡して」"]);
        assert_eq!(quoted("a 『b「c」d』 e"), ["『b「c」d』"]);
        // U+201A looks like a comma: it opens nothing.
        assert_eq!(quoted("scam\u{201A} send 1 get 2’ works"), Vec::<&str>::new());
    }

    #[test]
    fn apostrophes_are_not_quotation_marks() {
        assert_eq!(quoted("I didn't message them, it's fine"), Vec::<&str>::new());
        assert_eq!(quoted("someone replied 'contact admin' and I didn't"), ["'contact admin'"]);
        assert_eq!(quoted("it’s ‘free’ they said, don’t"), ["‘free’"]);
        assert_eq!(quoted("the 90's were 'great'"), ["'great'"]);
    }

    #[test]
    fn an_unbalanced_mark_quotes_nothing() {
        assert_eq!(quoted("a \"lonely mark and then\n\na new paragraph"), Vec::<&str>::new());
        assert_eq!(quoted("a \"lonely mark and then\n  \t \na new paragraph"), Vec::<&str>::new());
        let long = format!("\"{}\" x", "a".repeat(MAX_QUOTE_CHARS + 10));
        assert_eq!(quoted(&long), Vec::<&str>::new());
        // After an unbalanced mark, a later quotation is still found.
        assert_eq!(quoted("5\" screen\n\nand \"this\""), ["\"this\""]);
    }

    #[test]
    fn past_the_scan_budget_the_quotations_are_unknown() {
        // 60,000 opening brackets and no closing one: each would scan a
        // thousand characters ahead; the budget stops the scan, and the
        // caller learns that it did.
        let text = "「".repeat(60_000);
        assert_eq!(quoted_in(&text, Format::Text), None);
        // Within the budget, a quotation after unbalanced marks is found.
        let text = format!("{}\n\n“this”", "「".repeat(50));
        assert_eq!(quoted(&text), ["“this”"]);
    }

    #[test]
    fn blocks_and_quote_lines() {
        assert_eq!(quoted("> quoted line\nmine"), ["> quoted line"]);
        assert_eq!(
            quoted("a [QUOTE=\"x\"]q [quote]in[/quote] q[/quote] b"),
            ["[QUOTE=\"x\"]q [quote]in[/quote] q[/quote]", "\"x\""]
        );
        assert_eq!(quoted("<blockquote>lure</BLOCKQUOTE> mine"), ["<blockquote>lure</BLOCKQUOTE>"]);
        // An unclosed block, or a tag that only starts like one, quotes nothing.
        assert_eq!(quoted("keep [quote]never closed"), Vec::<&str>::new());
        assert_eq!(quoted("[quoted from the news]: lure [/quote]"), Vec::<&str>::new());
        assert_eq!(quoted("<blockquoted>lure</blockquote>"), Vec::<&str>::new());
        // For the near-duplicate check an unclosed block runs to the end.
        let text = "keep [quote]never closed";
        assert_eq!(block_ranges(text).into_iter().map(|r| &text[r]).collect::<Vec<_>>(), ["[quote]never closed"]);
    }

    #[test]
    fn quote_lines_are_not_read_in_html() {
        // A tag split over two lines puts `>` at a line's start.
        let html = "<p><b\n>Send 0.1 get 0.2</b></p>";
        assert_eq!(quoted_in(html, Format::Html), Some(vec![]));
        assert_eq!(quoted_in("> quoted\n\nmine", Format::Markdown), Some(vec!["> quoted"]));
    }

    #[test]
    fn own_words_leave_every_quotation_out() {
        let text = "a \"b\" c [quote]d \"e\"[/quote] f";
        let q = quoted_ranges(text, &View::identity(text), Format::Text).unwrap();
        assert_eq!(without(text, &q, " "), "a   c   f");
        assert_eq!(without("nothing quoted", &[], " "), "nothing quoted");
    }

    #[test]
    fn a_range_inside_nested_quotations_is_quoted() {
        // The outer block, an attribute in quotation marks and an inner
        // block overlap; merged, a range after the inner block is still
        // inside the outer one.
        let text = "a [QUOTE=\"x\"]q [quote]in[/quote] q[/quote] b";
        let q = merged(quoted_ranges(text, &View::identity(text), Format::Text).unwrap());
        assert_eq!(q.len(), 1);
        let after_inner = text.find("[/quote] q").unwrap() + 9;
        assert!(is_quoted(&(after_inner..after_inner + 1), &q));
        assert!(!is_quoted(&(text.len() - 1..text.len()), &q));
        assert!(!is_quoted(&(0..1), &q));
    }

    #[test]
    fn ranges_are_in_the_original_text() {
        let html = "<p>Scam: <q>x</q> &quot;send 1 get 2&quot; end</p>";
        assert_eq!(quoted_in(html, Format::Html), Some(vec!["&quot;send 1 get 2&quot;"]));
    }
}
