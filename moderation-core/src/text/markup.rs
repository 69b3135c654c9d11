//! Turning a post body (text, Markdown or HTML) into visible text plus links.
//!
//! HTML is tokenized with `html5gum`, which reports source positions, so every
//! byte of the visible text maps back to the HTML the forum sent: an entity
//! such as `&#98;inance` maps to its whole source text. Link targets are
//! taken from `href` attributes, and the anchor text is kept beside them so a
//! link whose text names one domain while it goes to another can be flagged.

use std::ops::Range;

use html5gum::{DefaultEmitter, Token, Tokenizer};
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::text::view::{View, ViewBuilder};
use crate::vocab::Format;

/// A link found in the markup (not a URL written in the text; those are
/// found by [`crate::signals::urls`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The link target as the markup gives it (entities decoded).
    pub href: String,
    /// Where the target is in the original field.
    pub href_range: Range<usize>,
    /// The visible anchor text.
    pub text: String,
    /// Where the anchor text is in the original field (empty range when none).
    pub text_range: Range<usize>,
}

/// The visible text of a body and the links in it.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// Visible text, mapped to the original field.
    pub raw: View,
    /// Links from the markup.
    pub links: Vec<Link>,
}

/// Parses a body in the given format.
///
/// ```
/// use moderation_core::parse_markup;
/// use moderation_core::Format;
///
/// let html = r#"<p>Visit <a href="https://evil.example/login">&#98;inance.com</a></p>"#;
/// let doc = parse_markup(html, Format::Html);
/// assert_eq!(doc.raw.as_str().trim(), "Visit binance.com");
/// let link = &doc.links[0];
/// assert_eq!(link.href, "https://evil.example/login");
/// assert_eq!(&html[link.text_range.clone()], "&#98;inance.com");
/// ```
pub fn parse_markup(body: &str, format: Format) -> Document {
    match format {
        Format::Text => Document { raw: View::identity(body), links: Vec::new() },
        Format::Markdown => parse_markdown(body),
        Format::Html => parse_html(body),
    }
}

/// Elements whose content is not visible text.
fn is_hidden_element(name: &[u8]) -> bool {
    matches!(name, b"script" | b"style" | b"template" | b"noscript" | b"head" | b"title")
}

/// Elements that break a line: their boundary separates words.
fn is_block_element(name: &[u8]) -> bool {
    matches!(
        name,
        b"p" | b"div"
            | b"br"
            | b"li"
            | b"ul"
            | b"ol"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"tr"
            | b"td"
            | b"th"
            | b"table"
            | b"blockquote"
            | b"pre"
            | b"hr"
            | b"section"
            | b"article"
            | b"header"
            | b"footer"
            | b"aside"
            | b"details"
            | b"summary"
    )
}

struct OpenAnchor {
    href: String,
    href_range: Range<usize>,
    text_start: usize,
}

fn parse_html(html: &str) -> Document {
    let mut b = ViewBuilder::with_capacity(html.len());
    let mut links = Vec::new();
    let mut hidden: Option<Vec<u8>> = None;
    let mut anchor: Option<OpenAnchor> = None;
    // (view range of anchor text, index in links) resolved once the view exists.
    let mut anchor_text: Vec<(Range<usize>, usize)> = Vec::new();

    let tokenizer = Tokenizer::new_with_emitter(html, DefaultEmitter::<usize>::new_with_span());
    for token in tokenizer {
        // The tokenizer over a `&str` cannot fail to read; parse errors come
        // as `Token::Error` and are simply tag soup we tolerate.
        let Ok(token) = token;
        match token {
            Token::StartTag(tag) => {
                let span = clamp(html, tag.span.start..tag.span.end);
                if hidden.is_some() {
                    continue;
                }
                if is_hidden_element(&tag.name) && !tag.self_closing {
                    hidden = Some(tag.name.to_vec());
                    continue;
                }
                if is_block_element(&tag.name) {
                    separator(&mut b, span.clone());
                }
                if tag.name.as_slice() == b"a" {
                    close_anchor(&mut anchor, &b, &mut links, &mut anchor_text);
                    if let Some(value) = tag.attributes.get(b"href".as_slice()) {
                        let href = String::from_utf8_lossy(&value.value).trim().to_string();
                        let href_range = attribute_value(html, clamp(html, value.span.start..value.span.end));
                        anchor = Some(OpenAnchor { href, href_range, text_start: b.len() });
                    }
                }
            }
            Token::EndTag(tag) => {
                let span = clamp(html, tag.span.start..tag.span.end);
                if let Some(name) = &hidden {
                    if *name == *tag.name {
                        hidden = None;
                    }
                    continue;
                }
                if tag.name.as_slice() == b"a" {
                    close_anchor(&mut anchor, &b, &mut links, &mut anchor_text);
                }
                if is_block_element(&tag.name) {
                    separator(&mut b, span);
                }
            }
            Token::String(s) if hidden.is_none() => {
                let span = clamp(html, s.span.start..s.span.end);
                let decoded = String::from_utf8_lossy(&s.value);
                align(&html[span.clone()], &decoded, span.start, &mut b);
            }
            _ => {}
        }
    }
    close_anchor(&mut anchor, &b, &mut links, &mut anchor_text);
    let raw = b.finish();
    for (range, i) in anchor_text {
        let text = raw.as_str().get(range.clone()).unwrap_or("").trim().to_string();
        links[i].text_range = raw.origin(range);
        links[i].text = text;
    }
    Document { raw, links }
}

fn close_anchor(
    anchor: &mut Option<OpenAnchor>,
    b: &ViewBuilder,
    links: &mut Vec<Link>,
    anchor_text: &mut Vec<(Range<usize>, usize)>,
) {
    if let Some(a) = anchor.take() {
        anchor_text.push((a.text_start..b.len(), links.len()));
        links.push(Link { href: a.href, href_range: a.href_range, text: String::new(), text_range: 0..0 });
    }
}

/// Clamps a tokenizer span to char boundaries of the source (the tokenizer
/// works on bytes and recovers from anything).
fn clamp(s: &str, r: Range<usize>) -> Range<usize> {
    s.floor_char_boundary(r.start)..s.ceil_char_boundary(r.end.max(r.start))
}

/// The tokenizer's span of an attribute covers `name="value"`; narrow it to
/// the value between its quotes so a span shows the link target itself.
fn attribute_value(html: &str, span: Range<usize>) -> Range<usize> {
    let s = &html[span.clone()];
    let Some(eq) = s.find('=') else { return span };
    let after = &s[eq + 1..];
    let lead = after.len() - after.trim_start().len();
    let value_start = eq + 1 + lead;
    let rest = &s[value_start..];
    match rest.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let inner = &rest[1..];
            let len = inner.find(q).unwrap_or(inner.len());
            span.start + value_start + 1..span.start + value_start + 1 + len
        }
        _ => span.start + value_start..span.end,
    }
}

fn separator(b: &mut ViewBuilder, span: Range<usize>) {
    b.push('\n', span.start as u32..span.end as u32);
}

/// Maps each character of a decoded text run to the source text it came from.
///
/// Source and decoded text agree character for character except at character
/// references (`&amp;`, `&#98;`, `&#x62;`), which decode to one or two
/// characters, and at `\r\n`, which becomes `\n`. A reference is taken as
/// decoded when the text after it lines up again; otherwise characters are
/// mapped one to one. Every mapped range lies inside the run's own span, so
/// a misalignment can make a span imprecise but never invalid.
fn align(src: &str, decoded: &str, base: usize, b: &mut ViewBuilder) {
    let (mut s, mut d) = (0usize, 0usize);
    while let Some(dc) = decoded[d..].chars().next() {
        let Some(sc) = src[s..].chars().next() else {
            // Decoded text longer than its source: attach the rest to the last character.
            let at = src.len().saturating_sub(src.chars().next_back().map_or(0, char::len_utf8));
            b.push(dc, (base + at) as u32..(base + src.len()) as u32);
            d += dc.len_utf8();
            continue;
        };
        if sc == '&'
            && let Some(e) = reference_end(src, s)
        {
            let next_src = src[e..].chars().next();
            // A numeric reference always decodes to exactly one character
            // (U+FFFD for a bad one, Windows-1252 for 0x80–0x9F); when the
            // decoded text holds the character it names, it is this one.
            let numeric = numeric_reference(&src[s..e]);
            let mut taken = numeric.filter(|&c| decoded[d..].starts_with(c)).map(|c| d + c.len_utf8());
            // Another reference right after this one (text written entirely
            // as entities): the text after it cannot line up with the
            // source, so take one decoded character per reference.
            let next_is_reference = next_src == Some('&') && reference_end(src, e).is_some();
            let mut end_d = d;
            for _ in 0..if taken.is_some() { 0 } else { 2 } {
                match decoded[end_d..].chars().next() {
                    Some(c) => end_d += c.len_utf8(),
                    None => break,
                }
                if decoded[end_d..].chars().next() == next_src {
                    taken = Some(end_d);
                    break;
                }
            }
            if taken.is_none() && (numeric.is_some() || next_is_reference) {
                taken = decoded[d..].chars().next().map(|c| d + c.len_utf8());
            }
            if let Some(end_d) = taken {
                for c in decoded[d..end_d].chars() {
                    b.push(c, (base + s) as u32..(base + e) as u32);
                }
                d = end_d;
                s = e;
                continue;
            }
        }
        let mut s_len = sc.len_utf8();
        if sc == '\r' && dc == '\n' && src[s + 1..].starts_with('\n') {
            s_len += 1;
        }
        b.push(dc, (base + s) as u32..(base + s + s_len) as u32);
        s += s_len;
        d += dc.len_utf8();
    }
}

/// The character a numeric reference (`&#97;`, `&#x61`) names, if it is
/// one and names a valid scalar value.
fn numeric_reference(reference: &str) -> Option<char> {
    let digits = reference.strip_prefix("&#")?.trim_end_matches(';');
    let value = match digits.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    char::from_u32(value).filter(|&c| c != '\0' && !matches!(value, 0x80..=0x9F))
}

/// End of a character reference starting at `src[at] == '&'`, if it has the
/// shape of one (`&name;`, `&#123;`, `&#x7b;`, the `;` optional as in browsers).
fn reference_end(src: &str, at: usize) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut i = at + 1;
    let digits_start;
    if bytes.get(i) == Some(&b'#') {
        i += 1;
        let hex = matches!(bytes.get(i), Some(b'x' | b'X'));
        if hex {
            i += 1;
        }
        digits_start = i;
        while bytes.get(i).is_some_and(|c| if hex { c.is_ascii_hexdigit() } else { c.is_ascii_digit() }) {
            i += 1;
        }
    } else {
        digits_start = i;
        while i - digits_start < 32 && bytes.get(i).is_some_and(u8::is_ascii_alphanumeric) {
            i += 1;
        }
    }
    if i == digits_start {
        return None;
    }
    if bytes.get(i) == Some(&b';') {
        i += 1;
    }
    Some(i)
}

fn parse_markdown(md: &str) -> Document {
    let mut links = Vec::new();
    // (link, whole-link source range, text start/end) while inside a link.
    let mut open: Option<(String, Range<usize>, Option<Range<usize>>)> = None;
    for (event, range) in Parser::new(md).into_offset_iter() {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                open = Some((dest_url.to_string(), range, None));
            }
            Event::Text(_) | Event::Code(_) => {
                if let Some((_, _, text)) = open.as_mut() {
                    *text = Some(match text.take() {
                        Some(t) => t.start..range.end,
                        None => range,
                    });
                }
            }
            Event::End(TagEnd::Link) => {
                if let Some((href, whole, text)) = open.take() {
                    let text_range = text.unwrap_or(whole.start..whole.start);
                    // The target follows the text inside the link's source;
                    // look for it there only, so a span never points elsewhere.
                    let tail_from = text_range.end.max(whole.start);
                    let href_range = md
                        .get(tail_from..whole.end)
                        .and_then(|tail| tail.find(href.as_str()))
                        .map(|at| tail_from + at..tail_from + at + href.len())
                        .unwrap_or(whole.clone());
                    links.push(Link {
                        text: md.get(text_range.clone()).unwrap_or("").to_string(),
                        href,
                        href_range,
                        text_range,
                    });
                }
            }
            _ => {}
        }
    }
    Document { raw: View::identity(md), links }
}

// Input -> output cases: tests/data/detectors/markup.toml, run by tests/detectors.rs.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_html_never_panics() {
        for s in [
            "<a href=",
            "<a href='x'>&#",
            "&#xZZ;<<<>",
            "<script>",
            "\u{FEFF}<p\r\nx>&amp",
            "<a href=\"é\">é&",
            "&#1234567890;",
        ] {
            let doc = parse_markup(s, Format::Html);
            let t = doc.raw.as_str();
            for (i, c) in t.char_indices() {
                let r = doc.raw.origin(i..i + c.len_utf8());
                assert!(s.get(r).is_some());
            }
        }
    }
}
