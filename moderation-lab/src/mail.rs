//! The SpamAssassin public corpus (`<datasets>/spamassassin-public-corpus/`)
//! read as forum-like posts: the decoded Subject and the decoded text body of
//! each raw RFC 822 message, labelled by its folder.
//!
//! MIME parsing, transfer decoding and charsets are [`mail_parser`]'s (with
//! its `full_encoding` feature, without which big5, gb2312, euc-kr and
//! iso-2022-jp come out as U+FFFD). On top of it this module
//! - picks the body: the first non-empty text/plain part, else the first
//!   non-empty HTML part as text. HTML goes through the engine's own
//!   [`parse_markup`] (html5gum: tags removed, entities decoded, a break at
//!   block elements), then white space is collapsed. A text/plain part that
//!   is really an HTML document (2002 spam often sends one without a MIME
//!   type) is converted the same way;
//! - repairs text whose charset was not declared, declared as UTF-8 that it
//!   is not, or declared Western (us-ascii, iso-8859-1, windows-1252) on
//!   bytes that are not: mail-parser gives U+FFFD or Latin-1 mojibake. The
//!   part's bytes are decoded again with the first non-Western charset named
//!   elsewhere in the message, else with the East Asian (or Thai) charset
//!   their byte pairs point to (2002 Chinese, Korean and Japanese spam often
//!   declares us-ascii or nothing), else as windows-1252. The same for a
//!   Subject sent as raw 8-bit bytes;
//! - recovers the text of parts mail-parser gives up on (a base64 body
//!   followed by a mailing-list footer, a multipart without its closing
//!   boundary): their bytes are decoded leniently, up to the first line that
//!   is not base64;
//! - parses again the MIME that broken spam leaves in the body (a header
//!   block that goes on after a blank line, a multipart whose Content-Type is
//!   missing or names another boundary), so that no part header ends up in
//!   the text;
//! - skips (as unparseable) a multipart message none of whose boundaries
//!   occur, whose body would be raw MIME.
//!
//! Headers never reach the body: the list footers and headers of the ham are
//! label cues that would not transfer to forum posts.

use std::borrow::Cow;
use std::path::Path;

use anyhow::Context;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{HeaderName, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use moderation_core::{Format, parse_markup};

/// The corpus folders and whether they hold spam.
const FOLDERS: [(&str, bool); 5] =
    [("easy-ham-1", false), ("easy-ham-2", false), ("hard-ham-1", false), ("spam-1", true), ("spam-2", true)];

/// The longest body kept, in bytes (cut at a char boundary).
pub const MAX_BODY_BYTES: usize = 20_000;

/// One message of the SpamAssassin public corpus as a forum-like post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// `<folder>/<file name>`, e.g. `spam-1/00001.7848dde101aa985090474a91ec93fcf0.txt`.
    pub id: String,
    /// The decoded Subject (may be empty).
    pub subject: String,
    /// The decoded text body: the text/plain part, or the text of the HTML
    /// part when there is no plain one (tags removed, entities decoded,
    /// whitespace collapsed), truncated at a char boundary to at most
    /// 20,000 bytes.
    pub body: String,
    /// true for spam-* folders.
    pub spam: bool,
}

/// Reads every message, sorted by id; errors (anyhow) only for an unreadable
/// folder; a message that cannot be parsed is skipped and counted.
///
/// `root` is the corpus folder itself (the one holding `easy-ham-1/` …
/// `spam-2/`); all five folders must be there. A message file that cannot be
/// read counts as skipped too.
pub fn read_spamassassin(root: &Path) -> anyhow::Result<(Vec<MailMessage>, usize /* skipped */)> {
    let parser = MessageParser::default();
    let mut messages = Vec::new();
    let mut skipped = 0;
    for (folder, spam) in FOLDERS {
        let dir = root.join(folder);
        let entries = std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| !n.starts_with('.')) else {
                continue;
            };
            let Ok(raw) = std::fs::read(entry.path()) else {
                skipped += 1;
                continue;
            };
            match decode_with(&parser, &raw) {
                Some((subject, body)) => {
                    messages.push(MailMessage { id: format!("{folder}/{name}"), subject, body, spam })
                }
                None => skipped += 1,
            }
        }
    }
    messages.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((messages, skipped))
}

/// The decoded subject and body of one raw message; `None` when it cannot
/// be parsed: no headers at all, or a multipart none of whose parts can be
/// found.
fn decode_with(parser: &MessageParser, raw: &[u8]) -> Option<(String, String)> {
    let message = parser.parse(raw)?;
    let top = message.parts.first()?;
    let is_multipart = matches!(top.body, PartType::Multipart(_));
    let outer_fallback = fallback_charset(&message);
    let mut subject_text = subject(&message, outer_fallback);
    let salvaged = if is_multipart { None } else { raw.get(top.offset_body as usize..).and_then(salvage_mime) };
    let mut body_text = match salvaged.as_deref().and_then(|bytes| parser.parse(bytes)) {
        Some(inner) => {
            let fallback = fallback_charset(&inner).or(outer_fallback);
            if subject_text.is_empty() {
                subject_text = subject(&inner, fallback);
            }
            body(&inner, fallback)
        }
        None => {
            let declared_multipart = top.content_type().is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"));
            if declared_multipart && !is_multipart {
                return None;
            }
            body(&message, outer_fallback)
        }
    };
    truncate_at_char_boundary(&mut body_text, MAX_BODY_BYTES);
    Some((subject_text, body_text))
}

/// The message hidden in the body of a message whose top level is not a
/// (parsed) multipart, to parse again, for three kinds of broken spam:
/// - the header block goes on after a blank line, sometimes after a stray
///   line or two (a continued encoded word, the end of an address, an SMTP
///   `DATA`): the body starts with header fields;
/// - a whole message was pasted, headers and all, as the body;
/// - the body is a multipart whose Content-Type never made it to the header
///   (or names another boundary): after at most two preamble lines that
///   speak of MIME, a `--boundary` line is followed by a `Content-` field.
///   A header declaring that boundary is put in front.
fn salvage_mime(body: &[u8]) -> Option<Cow<'_, [u8]>> {
    let lines = || {
        let mut at = 0;
        body.split(|&b| b == b'\n').map(move |line| {
            let start = at;
            at += line.len() + 1;
            (start, line.strip_suffix(b"\r").unwrap_or(line))
        })
    };
    // Header fields at the start (after at most three stray lines).
    let mut stray = 0;
    for (start, line) in lines().take(12) {
        if line.trim_ascii().is_empty() {
            continue;
        }
        if header_field(line).is_some() {
            let block: Vec<&[u8]> =
                body[start..].split(|&b| b == b'\n').take_while(|l| !l.trim_ascii().is_empty()).collect();
            let fields: Vec<String> = block.iter().filter_map(|l| header_field(l)).collect();
            let known = fields.iter().any(|f| {
                matches!(
                    f.as_str(),
                    "content-type"
                        | "mime-version"
                        | "subject"
                        | "from"
                        | "to"
                        | "received"
                        | "return-path"
                        | "message-id"
                        | "date"
                )
            });
            let all_fields =
                block.iter().all(|l| header_field(l).is_some() || l.starts_with(b" ") || l.starts_with(b"\t"));
            return (fields.len() >= 2 && known && all_fields).then_some(Cow::Borrowed(&body[start..]));
        }
        let stray_like = line.starts_with(b"=?")
            || line.starts_with(b" ")
            || line.starts_with(b"\t")
            || line.starts_with(b"\"")
            || line == b"DATA";
        stray += 1;
        if !stray_like || stray > 3 {
            break;
        }
    }
    // A multipart body without its header.
    let mut nonblank = lines().map(|(_, l)| l.trim_ascii()).filter(|l| !l.is_empty());
    for _ in 0..3 {
        let line = nonblank.next()?;
        if let Some(boundary) = line.strip_prefix(b"--").filter(|b| !b.is_empty() && !b.contains(&b'"')) {
            if !nonblank.next()?.to_ascii_lowercase().starts_with(b"content-") {
                return None;
            }
            let mut message = b"Content-Type: multipart/mixed; boundary=\"".to_vec();
            message.extend_from_slice(boundary);
            message.extend_from_slice(b"\"\n\n");
            message.extend_from_slice(body);
            return Some(Cow::Owned(message));
        }
        let lower = line.to_ascii_lowercase();
        if !(lower.windows(4).any(|w| w == b"mime") || lower.windows(5).any(|w| w == b"multi")) {
            return None;
        }
    }
    None
}

/// The lower-cased name of a header field line (`Name: value`), if it is one.
fn header_field(line: &[u8]) -> Option<String> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    let ok = name.first().is_some_and(u8::is_ascii_alphabetic)
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        && line.get(colon + 1).is_none_or(|&b| b == b' ' || b == b'\t');
    ok.then(|| String::from_utf8_lossy(name).to_ascii_lowercase())
}

/// The Subject, decoded (encoded words included); a Subject sent as raw
/// 8-bit bytes that are not UTF-8 is decoded from its bytes (see
/// [`decode_legacy`]).
fn subject(message: &Message<'_>, fallback: Option<&str>) -> String {
    let decoded = message.subject().unwrap_or_default();
    let raw = message
        .parts
        .first()
        .and_then(|top| top.headers.iter().find(|h| h.name == HeaderName::Subject))
        .and_then(|h| message.raw_message.get(h.offset_start as usize..h.offset_end as usize));
    let text = match raw {
        Some(raw) if !raw.is_ascii() && std::str::from_utf8(raw).is_err() => {
            // A Subject is short: when its own bytes do not decide, the whole
            // message (its body is usually in the same charset) does.
            let hint = fallback
                .filter(|c| !is_western_label(c))
                .or_else(|| sniff_multibyte(&message.raw_message, MIN_PAIRS))
                .or_else(|| sniff_multibyte(raw, MIN_SUBJECT_PAIRS));
            Cow::Owned(decode_legacy(raw, None, hint))
        }
        _ => Cow::Borrowed(decoded),
    };
    collapse_whitespace(&text, false)
}

/// The body text (not yet cut to size).
fn body(message: &Message<'_>, fallback: Option<&str>) -> String {
    // mail-parser's text_body lists the plain parts (and the HTML part of an
    // alternative that has no plain one); html_body the reverse.
    let listed: Vec<&MessagePart<'_>> = message
        .text_body
        .iter()
        .chain(&message.html_body)
        .filter_map(|&i| message.parts.get(i as usize))
        .filter(|p| !p.is_encoding_problem)
        .collect();
    let plain = listed.iter().filter(|p| matches!(p.body, PartType::Text(_))).find_map(|p| {
        let text = part_text(message, p, fallback);
        non_empty(if looks_like_html(&text) { html_text(&text) } else { plain_text(&text) })
    });
    if let Some(text) = plain {
        return text;
    }
    let html = listed
        .iter()
        .filter(|p| matches!(p.body, PartType::Html(_)))
        .find_map(|p| non_empty(html_text(&part_text(message, p, fallback))));
    if let Some(text) = html {
        return text;
    }
    // Parts mail-parser could not decode, or did not take for a body (a
    // mistyped Content-Type): their bytes again, leniently; plain first.
    let others: Vec<(bool, String)> = message
        .parts
        .iter()
        .filter(|p| matches!(p.body, PartType::Text(_) | PartType::Html(_)))
        .filter(|p| p.is_encoding_problem || !listed.iter().any(|l| std::ptr::eq(*l, *p)))
        .filter(|p| p.content_type().is_none_or(|ct| ct.ctype().eq_ignore_ascii_case("text")))
        .map(|p| {
            let bytes = transfer_decoded(message, p);
            let text = decode_text(&bytes, known_charset(p), fallback);
            let declared_html =
                p.content_type().and_then(|ct| ct.subtype()).is_some_and(|s| s.eq_ignore_ascii_case("html"));
            (declared_html || looks_like_html(&text), text)
        })
        .collect();
    let mut ordered = others.iter().filter(|(html, _)| !html).chain(others.iter().filter(|(html, _)| *html));
    ordered
        .find_map(|(html, text)| non_empty(if *html { html_text(text) } else { plain_text(text) }))
        .unwrap_or_default()
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// A text part's decoded text. mail-parser's is kept when the part names a
/// charset other than UTF-8 and the Western ones, or when its bytes are
/// UTF-8; otherwise (no charset, an unknown one, UTF-8 that is not, or a
/// Western label on 8-bit bytes that may be East Asian) the part's bytes are
/// decoded again by [`decode_legacy`].
fn part_text<'a>(message: &Message<'_>, part: &'a MessagePart<'_>, fallback: Option<&str>) -> Cow<'a, str> {
    let (PartType::Text(text) | PartType::Html(text)) = &part.body else {
        return Cow::Borrowed("");
    };
    if text.is_ascii() {
        return Cow::Borrowed(text.as_ref());
    }
    let declared = known_charset(part);
    if declared.is_some_and(|c| !is_utf8_label(c) && !is_western_label(c)) {
        return Cow::Borrowed(text.as_ref());
    }
    let bytes = transfer_decoded(message, part);
    if std::str::from_utf8(&bytes).is_ok() {
        return Cow::Borrowed(text.as_ref());
    }
    Cow::Owned(decode_legacy(&bytes, declared, fallback))
}

/// The part's declared charset, when mail-parser knows it.
fn known_charset<'a>(part: &'a MessagePart<'_>) -> Option<&'a str> {
    part.content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(str::trim)
        .filter(|c| charset_decoder(c.as_bytes()).is_some())
}

/// Bytes as text, the way [`part_text`] decodes them.
fn decode_text(bytes: &[u8], declared: Option<&str>, fallback: Option<&str>) -> String {
    if let Some(label) = declared.filter(|c| !is_utf8_label(c) && !is_western_label(c))
        && let Some(decode) = charset_decoder(label.as_bytes())
    {
        return decode(bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => decode_legacy(bytes, declared, fallback),
    }
}

/// 8-bit bytes that are not UTF-8 and whose own label (`declared`) is
/// missing, UTF-8 or Western: with the message's other charset when that is
/// not Western either (a gb2312 encoded word in the Subject, say); else with
/// the East Asian charset their byte pairs point to ([`sniff_multibyte`]:
/// 2002 Chinese, Korean and Japanese spam often declares us-ascii or
/// iso-8859-1, or nothing); else with the declared Western charset, or
/// windows-1252.
fn decode_legacy(bytes: &[u8], declared: Option<&str>, fallback: Option<&str>) -> String {
    if let Some(charset) = fallback.filter(|c| !is_western_label(c)) {
        return redecode(bytes, charset);
    }
    if let Some(charset) = sniff_multibyte(bytes, MIN_PAIRS)
        && let Some(decode) = charset_decoder(charset.as_bytes())
    {
        let text = decode(bytes);
        let bad = text.matches(char::REPLACEMENT_CHARACTER).count();
        let wide = text.chars().filter(|c| !c.is_ascii()).count();
        if bad * 20 <= wide {
            return text;
        }
    }
    redecode(bytes, declared.filter(|c| !is_utf8_label(c)).unwrap_or(DEFAULT_CHARSET))
}

/// The fewest byte pairs [`sniff_multibyte`] decides on: in a body, and in a
/// Subject (short, and only sniffed when 8-bit and not UTF-8).
const MIN_PAIRS: usize = 8;
const MIN_SUBJECT_PAIRS: usize = 4;

/// The East Asian (or Thai) charset of 8-bit text, from its bytes; `None`
/// for Western text, whose high bytes stand alone between ASCII letters.
///
/// Reading the bytes as lead/trail pairs: Shift_JIS leads are mostly
/// 0x81–0x9F (never an EUC lead); Big5 trails are often ASCII (0x40–0x7E),
/// EUC trails never; in EUC-JP hiragana and katakana (leads 0xA4, 0xA5) are
/// a large share of the text; EUC-KR Hangul leads are 0xB0–0xC8 and Korean
/// uses few hanja, while GB2312 spreads its leads over 0xB0–0xF7. Thai
/// (TIS-620) has no pairs but vowel and tone marks that follow a consonant.
fn sniff_multibyte(bytes: &[u8], min_pairs: usize) -> Option<&'static str> {
    let (mut pairs, mut high_trail, mut sjis_lead, mut kana_lead, mut hangul_lead, mut late_lead) = (0, 0, 0, 0, 0, 0);
    let mut i = 0;
    while i < bytes.len() {
        let lead = bytes[i];
        match bytes.get(i + 1) {
            Some(&trail) if (0x81..=0xFE).contains(&lead) && (0x40..=0xFE).contains(&trail) && trail != 0x7F => {
                pairs += 1;
                high_trail += usize::from(trail >= 0x80);
                sjis_lead += usize::from(lead <= 0x9F);
                kana_lead += usize::from(lead == 0xA4 || lead == 0xA5);
                hangul_lead += usize::from((0xB0..=0xC8).contains(&lead));
                late_lead += usize::from(lead >= 0xC9);
                i += 2;
            }
            _ => i += 1,
        }
    }
    if pairs < min_pairs || high_trail * 2 < pairs {
        return None;
    }
    if looks_thai(bytes) {
        return Some("windows-874");
    }
    // Shares of the pairs, in tenths.
    let tenths = |n: usize| n * 10 / pairs;
    Some(if tenths(sjis_lead) >= 3 {
        "shift_jis"
    } else if tenths(pairs - high_trail) >= 1 {
        "big5"
    } else if tenths(kana_lead) >= 2 {
        "euc-jp"
    } else if tenths(hangul_lead) >= 7 && tenths(late_lead) < 1 {
        "euc-kr"
    } else {
        "gb18030"
    })
}

/// Whether 8-bit text reads as Thai in TIS-620 / windows-874: enough of it
/// to tell, no byte that charset leaves unassigned (East Asian trail bytes
/// cover them all), and many vowel and tone marks, nearly all right after a
/// consonant or another mark.
fn looks_thai(bytes: &[u8]) -> bool {
    let unassigned = |b: u8| matches!(b, 0x80..=0x84 | 0x86..=0x90 | 0x98..=0x9F | 0xDB..=0xDE | 0xFC..=0xFF);
    let is_consonant = |b: u8| (0xA1..=0xCE).contains(&b);
    let is_mark = |b: u8| b == 0xD1 || (0xD4..=0xDA).contains(&b) || (0xE7..=0xEE).contains(&b);
    let (mut marks, mut placed, mut high) = (0, 0, 0);
    for (i, &b) in bytes.iter().enumerate() {
        if unassigned(b) {
            return false;
        }
        high += usize::from(b >= 0x80);
        if is_mark(b) {
            marks += 1;
            placed += usize::from(i > 0 && (is_consonant(bytes[i - 1]) || is_mark(bytes[i - 1])));
        }
    }
    high >= 32 && marks * 10 >= high && placed * 10 >= marks * 9
}

/// A part's body bytes with its Content-Transfer-Encoding undone, leniently
/// (mail-parser gives up on a whole part over one bad byte).
fn transfer_decoded(message: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    let raw = message.raw_message.get(part.offset_body as usize..part.offset_end as usize).unwrap_or_default();
    match part.content_transfer_encoding().map(str::trim) {
        Some(e) if e.eq_ignore_ascii_case("base64") => lenient_base64(raw),
        Some(e) if e.eq_ignore_ascii_case("quoted-printable") => lenient_quoted_printable(raw),
        _ => raw.to_vec(),
    }
}

/// Base64 lines decoded up to the first line that is not base64 (a list
/// footer appended after the encoded body, or a stray boundary); padding
/// inside the text (concatenated encodings) is honoured.
fn lenient_base64(raw: &[u8]) -> Vec<u8> {
    fn value(b: u8) -> Option<u32> {
        match b {
            b'A'..=b'Z' => Some(u32::from(b - b'A')),
            b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(raw.len() / 4 * 3);
    let (mut acc, mut n) = (0u32, 0u32);
    let flush = |acc: u32, n: u32, out: &mut Vec<u8>| {
        let bytes = (acc << (6 * (4 - n))).to_be_bytes();
        out.extend_from_slice(&bytes[1..1 + (n as usize * 6 / 8)]);
    };
    let mut started = false;
    for line in raw.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if !line.iter().all(|&b| b == b'=' || value(b).is_some()) {
            if started {
                break;
            }
            continue;
        }
        started = true;
        for &b in line {
            match value(b) {
                Some(v) => {
                    acc = (acc << 6) | v;
                    n += 1;
                    if n == 4 {
                        flush(acc, 4, &mut out);
                        (acc, n) = (0, 0);
                    }
                }
                None => {
                    // '=' padding ends a group.
                    if n >= 2 {
                        flush(acc, n, &mut out);
                    }
                    (acc, n) = (0, 0);
                }
            }
        }
    }
    if n >= 2 {
        flush(acc, n, &mut out);
    }
    out
}

/// Quoted-printable decoded; an `=` that starts no escape is kept as is.
fn lenient_quoted_printable(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'=' {
            // Soft line break: `=` then optional blanks then a line end.
            let rest = &raw[i + 1..];
            let blanks = rest.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
            match rest.get(blanks..) {
                Some([b'\r', b'\n', ..]) => {
                    i += 1 + blanks + 2;
                    continue;
                }
                Some([b'\n', ..]) => {
                    i += 1 + blanks + 1;
                    continue;
                }
                _ => {}
            }
            if let (Some(&h), Some(&l)) = (raw.get(i + 1), raw.get(i + 2))
                && let (Some(h), Some(l)) = (hex(h), hex(l))
            {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// The charset of undeclared 8-bit text when the message names none:
/// windows-1252, the usual one in 2002 mail (and iso-8859-1's printable
/// superset).
const DEFAULT_CHARSET: &str = "windows-1252";

/// The charset to decode undeclared 8-bit text with: the first charset
/// other than UTF-8 and ASCII named in the message (a Content-Type, or an
/// encoded word in the top-level headers).
fn fallback_charset<'a>(message: &'a Message<'_>) -> Option<&'a str> {
    let usable = |c: &str| charset_decoder(c.trim().as_bytes()).is_some() && !is_utf8_label(c) && !is_ascii_label(c);
    let from_parts = message
        .parts
        .iter()
        .filter_map(|p| p.content_type().and_then(|ct| ct.attribute("charset")))
        .find(|c| usable(c));
    if let Some(charset) = from_parts {
        return Some(charset.trim());
    }
    // Encoded words, `=?charset?B?…?=`, in the raw top-level headers.
    let header_end = message.parts.first().map_or(0, |p| p.offset_body as usize);
    let mut rest = message.raw_message.get(..header_end).unwrap_or_default();
    while let Some(start) = rest.windows(2).position(|w| w == b"=?") {
        let after = &rest[start + 2..];
        let Some(end) = after.iter().position(|&b| b == b'?') else { break };
        let label = std::str::from_utf8(&after[..end]).unwrap_or_default();
        let label = label.split('*').next().unwrap_or_default(); // RFC 2231 language suffix
        if usable(label) {
            return Some(label);
        }
        rest = &after[end..];
    }
    None
}

fn is_utf8_label(label: &str) -> bool {
    matches!(label.trim().to_ascii_lowercase().as_str(), "utf-8" | "utf8")
}

/// Labels of the Western single-byte charsets (ASCII included) that 2002
/// mail put on any 8-bit text.
fn is_western_label(label: &str) -> bool {
    matches!(
        label.trim().to_ascii_lowercase().replace('_', "-").as_str(),
        "us-ascii"
            | "ascii"
            | "ansi-x3.4-1968"
            | "iso-8859-1"
            | "iso8859-1"
            | "latin1"
            | "iso-8859-15"
            | "windows-1252"
            | "cp1252"
    )
}

fn is_ascii_label(label: &str) -> bool {
    matches!(label.trim().to_ascii_lowercase().as_str(), "us-ascii" | "ascii" | "ansi_x3.4-1968")
}

/// Bytes decoded with a charset label (windows-1252 when mail-parser does
/// not know it). Japanese mail names iso-2022-jp in its headers but often
/// sends Shift_JIS or EUC-JP bytes, which that 7-bit charset cannot hold:
/// then the candidate with the fewest U+FFFD wins (the named one on a tie).
fn redecode(bytes: &[u8], charset: &str) -> String {
    let mut candidates = vec![charset];
    if charset.trim().to_ascii_lowercase().contains("2022-jp") {
        candidates.extend(["shift_jis", "euc-jp"]);
    }
    candidates.push(DEFAULT_CHARSET);
    let mut best: Option<(usize, String)> = None;
    for label in candidates {
        let Some(decode) = charset_decoder(label.trim().as_bytes()) else { continue };
        let text = decode(bytes);
        let bad = text.matches(char::REPLACEMENT_CHARACTER).count();
        if best.as_ref().is_none_or(|(fewest, _)| bad < *fewest) {
            best = Some((bad, text));
        }
        if bad == 0 {
            break;
        }
    }
    best.map(|(_, text)| text).unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
}

/// A plain body: line ends normalised, the ends trimmed.
fn plain_text(text: &str) -> String {
    text.replace("\r\n", "\n").trim().to_owned()
}

/// The visible text of an HTML body, as the engine sees an HTML post
/// ([`parse_markup`]), with white space collapsed. A `<head>` that is never
/// closed hides the whole document from a tokenizer; browsers show the text
/// (a `<head>` after `<body>` is ignored), so when nothing is visible the
/// document is read again with its `<head>` tags neutralised.
fn html_text(html: &str) -> String {
    let text = collapse_whitespace(parse_markup(html, Format::Html).raw.as_str(), true);
    if !text.is_empty() {
        return text;
    }
    let lower = html.to_ascii_lowercase();
    if !lower.contains("<head") {
        return text;
    }
    // Same length, so the byte offsets of `lower` are those of `html`.
    let mut neutral = html.to_owned();
    for (at, _) in lower.match_indices("<head") {
        if lower.as_bytes().get(at + 5).is_some_and(|&b| b == b'>' || b.is_ascii_whitespace()) {
            neutral.replace_range(at + 1..at + 5, "span");
        }
    }
    collapse_whitespace(parse_markup(&neutral, Format::Html).raw.as_str(), true)
}

/// Whether a text/plain body is really an HTML document: it starts (after
/// white space) with a tag and has an `<html`, `<body` or `<head` tag near
/// the start.
fn looks_like_html(text: &str) -> bool {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('<') {
        return false;
    }
    let head = trimmed.get(..trimmed.floor_char_boundary(4096)).unwrap_or(trimmed).to_ascii_lowercase();
    head.contains("<html") || head.contains("<body") || head.contains("<head")
}

/// Runs of white space become one space, or (with `keep_lines`) one newline
/// when the run holds a line break; the ends are trimmed.
fn collapse_whitespace(text: &str, keep_lines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending: Option<char> = None;
    for c in text.chars() {
        if c.is_whitespace() {
            if keep_lines && (c == '\n' || c == '\r') {
                pending = Some('\n');
            } else if pending.is_none() {
                pending = Some(' ');
            }
        } else {
            if let Some(ws) = pending.take()
                && !out.is_empty()
            {
                out.push(ws);
            }
            out.push(c);
        }
    }
    out
}

/// Cuts `text` to at most `max` bytes, at a char boundary.
fn truncate_at_char_boundary(text: &mut String, max: usize) {
    if text.len() > max {
        let end = text.floor_char_boundary(max);
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(raw: &[u8]) -> (String, String) {
        decode_with(&MessageParser::default(), raw).expect("parses")
    }

    fn hex(h: &str) -> Vec<u8> {
        (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn plain_us_ascii() {
        let (subject, body) = decode(
            b"Return-Path: <a@example.com>\nReceived: from mx.example.com by list.example.org\n\
              From: Alice <a@example.com>\nTo: list@example.org\nSubject: Re: spamassassin rules\n\
              MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n\
              Hi all,\nthe new rules work.\n",
        );
        assert_eq!(subject, "Re: spamassassin rules");
        assert_eq!(body, "Hi all,\nthe new rules work.");
    }

    #[test]
    fn quoted_printable_iso_8859_1() {
        let (subject, body) = decode(
            b"From: b@example.fr\nSubject: =?iso-8859-1?Q?Caf=E9_cr=E8me?=\nMIME-Version: 1.0\n\
              Content-Type: text/plain; charset=\"iso-8859-1\"\nContent-Transfer-Encoding: quoted-printable\n\n\
              Le caf=E9 est pr=EAt.\n=C0 bient=F4t, tr=E8s =\nbient=F4t!\n",
        );
        assert_eq!(subject, "Café crème");
        assert_eq!(body, "Le café est prêt.\nÀ bientôt, très bientôt!");
    }

    #[test]
    fn multipart_alternative_plain_part_wins() {
        let (subject, body) = decode(
            b"From: c@example.com\nSubject: Both kinds\nMIME-Version: 1.0\n\
              Content-Type: multipart/alternative; boundary=\"XYZ\"\n\n\
              This is a multi-part message in MIME format.\n\n\
              --XYZ\nContent-Type: text/plain; charset=us-ascii\n\nThe plain text wins.\n\n\
              --XYZ\nContent-Type: text/html; charset=us-ascii\n\n<html><body><p>The <b>HTML</b> loses.</p></body></html>\n\n\
              --XYZ--\n",
        );
        assert_eq!(subject, "Both kinds");
        assert_eq!(body, "The plain text wins.");
    }

    #[test]
    fn html_only_becomes_text() {
        let (subject, body) = decode(
            b"From: d@example.com\nSubject: Offer\nMIME-Version: 1.0\nContent-Type: text/html; charset=windows-1252\n\
              Content-Transfer-Encoding: 8bit\n\n\
              <html><head><title>Hidden title</title><style>p { color: red }</style></head>\n\
              <body><p>Buy   <b>now</b> &amp; save&nbsp;50%\x85</p>\n<div>Second&#33; <a href=\"http://x.example/\">link</a></div>\n\
              <script>document.write('no')</script></body></html>\n",
        );
        assert_eq!(subject, "Offer");
        assert_eq!(body, "Buy now & save 50%\u{2026}\nSecond! link");
    }

    #[test]
    fn base64_gb2312_decodes_to_chinese() {
        let (subject, body) = decode(
            b"From: e@example.cn\nSubject: =?gb2312?B?1tDOxNb3zOI=?=\nMIME-Version: 1.0\n\
              Content-Type: text/plain; charset=\"gb2312\"\nContent-Transfer-Encoding: base64\n\n\
              xOO6w6OsysC956Oh1eLKx9K7t+Ky4srU08q8/qGj\n",
        );
        assert_eq!(subject, "中文主题");
        assert_eq!(body, "你好，世界！这是一封测试邮件。");
    }

    #[test]
    fn html_with_unclosed_head_after_body_keeps_its_text() {
        let (_, body) =
            decode(b"Subject: x\nContent-Type: text/html\n\n<HTML><body bgcolor=white><HEAD>\n<TITLE>t</TITLE>\n<p>Visible text</p>\n");
        assert_eq!(body, "Visible text");
    }

    #[test]
    fn html_document_sent_as_text_plain_is_converted() {
        let (_, body) = decode(b"Subject: x\n\n<html><body><p>Make <b>money</b> fast</p></body></html>\n");
        assert_eq!(body, "Make money fast");
    }

    #[test]
    fn undeclared_east_asian_bytes_are_sniffed() {
        // GB2312 bytes labelled us-ascii, in the body and as a raw Subject.
        let mut raw = b"Subject: ".to_vec();
        raw.extend(hex("c4e3bac3a3accac0bde7"));
        raw.extend(b"\nContent-Type: text/plain; charset=us-ascii\n\n");
        raw.extend(hex("bbb6d3adb9e2c1d9ced2c3c7b5c4cdf8d5bea3acced2c3c7cce1b9a9d7eed3c5bbddb5c4bcdbb8f1bacdd7eebac3b5c4b7fecef1a1a3"));
        let (subject, body) = decode(&raw);
        assert_eq!(subject, "你好，世界");
        assert_eq!(body, "欢迎光临我们的网站，我们提供最优惠的价格和最好的服务。");
        // Western 8-bit text without a charset stays windows-1252.
        let (subject, body) = decode(b"Subject: D\xe9j\xe0 vu\n\nR\xe9sum\xe9 na\xefve \x93quoted\x94 \xe0 la carte\n");
        assert_eq!(subject, "Déjà vu");
        assert_eq!(body, "Résumé naïve \u{201c}quoted\u{201d} à la carte");
    }

    #[test]
    fn base64_followed_by_a_list_footer_is_decoded() {
        let (_, body) = decode(
            b"Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n\
              SGVsbG8gbGlzdCwgdGhpcyBib2R5IGlzIGJhc2U2NC4K\n\n\
              _______________________________________________\nSome-list mailing list\nhttp://lists.example.org/\n",
        );
        assert_eq!(body, "Hello list, this body is base64.");
    }

    #[test]
    fn multipart_without_its_closing_boundary_is_decoded() {
        let (_, body) = decode(
            b"Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B1\"\n\n--B1\n\
              Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n\n\
              SGVsbG8gbGlzdCwgdGhpcyBib2R5IGlzIGJhc2U2NC4K\n",
        );
        assert_eq!(body, "Hello list, this body is base64.");
    }

    #[test]
    fn mime_headers_never_reach_the_body() {
        // A multipart body whose Content-Type never made it to the header.
        let (_, body) = decode(
            b"Subject: x\nContent-Type: text/plain\n\n--=_NP_1\nContent-Type: text/plain; charset=us-ascii\n\n\
              Only this.\n--=_NP_1\nContent-Type: text/html\n\n<p>Not this.</p>\n--=_NP_1--\n",
        );
        assert_eq!(body, "Only this.");
        // A header block that goes on after a blank line.
        let (subject, body) = decode(
            b"Received: from a by b\nTo: x@example.com\n\nFrom: y@example.com\nSubject: Late subject\n\
              MIME-Version: 1.0\nContent-Type: text/plain\n\nThe real body.\n",
        );
        assert_eq!(subject, "Late subject");
        assert_eq!(body, "The real body.");
        // Ordinary text that happens to begin with a word and a colon stays.
        let (_, body) = decode(b"Subject: x\n\nNote: this is text.\nMore text.\n");
        assert_eq!(body, "Note: this is text.\nMore text.");
    }

    #[test]
    fn multipart_whose_boundary_never_occurs_is_unparseable() {
        let raw = b"Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"nowhere\"\n\n\
                    Content-Type: text/plain\n\nText with no boundary at all.\n";
        assert_eq!(decode_with(&MessageParser::default(), raw), None);
        assert_eq!(decode_with(&MessageParser::default(), b""), None);
    }

    #[test]
    fn long_bodies_are_cut_at_a_char_boundary() {
        let mut raw = b"Subject: long\nContent-Type: text/plain; charset=utf-8\n\n".to_vec();
        raw.extend("é".repeat(15_000).as_bytes()); // 30,000 bytes
        let (_, body) = decode(&raw);
        assert_eq!(body.len(), MAX_BODY_BYTES);
        assert_eq!(body.chars().count(), MAX_BODY_BYTES / 2);
        let mut raw = b"Subject: long\nContent-Type: text/plain; charset=utf-8\n\nx".to_vec();
        raw.extend("é".repeat(15_000).as_bytes());
        let (_, body) = decode(&raw);
        assert_eq!(body.len(), MAX_BODY_BYTES - 1);
    }

    #[test]
    fn lenient_decoders() {
        assert_eq!(lenient_base64(b"aGk=\naGk=\n"), b"hihi");
        assert_eq!(lenient_base64(b"\n\nYWJj\nZA==\n-- \nfooter text\n"), b"abcd");
        assert_eq!(lenient_quoted_printable(b"a=3Db=\nc =ZZ d=\r\ne"), b"a=bc =ZZ de");
    }

    #[test]
    fn reads_a_corpus_folder_tree() {
        let root = std::env::temp_dir().join(format!("moderation-mail-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (folder, _) in FOLDERS {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        std::fs::write(root.join("spam-2/00002.b.txt"), b"Subject: two\n\nSecond spam.\n").unwrap();
        std::fs::write(root.join("spam-2/00001.a.txt"), b"Subject: one\n\nFirst spam.\n").unwrap();
        std::fs::write(root.join("easy-ham-1/00001.c.txt"), b"Subject: ham\n\nHello.\n").unwrap();
        std::fs::write(root.join("hard-ham-1/00001.d.txt"), b"").unwrap(); // no headers: skipped
        let (messages, skipped) = read_spamassassin(&root).unwrap();
        let ids: Vec<(&str, bool)> = messages.iter().map(|m| (m.id.as_str(), m.spam)).collect();
        assert_eq!(
            ids,
            [("easy-ham-1/00001.c.txt", false), ("spam-2/00001.a.txt", true), ("spam-2/00002.b.txt", true)]
        );
        assert_eq!((messages[1].subject.as_str(), messages[1].body.as_str()), ("one", "First spam."));
        assert_eq!(skipped, 1);
        std::fs::remove_dir_all(root.join("spam-1")).unwrap();
        assert!(read_spamassassin(&root).is_err(), "a missing folder is an error");
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// The corpus folder: under `datasets::root(None)` (`MODERATION_DATASETS`,
    /// or `../shared/datasets` from the working directory), else under
    /// `<crate>/../../shared/datasets` (`cargo test` runs in the crate folder).
    fn corpus_dir() -> Option<std::path::PathBuf> {
        let beside_checkout = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets");
        let roots = [crate::datasets::root(None).ok().flatten(), Some(beside_checkout)];
        roots.into_iter().flatten().map(|r| r.join("spamassassin-public-corpus")).find(|d| d.is_dir())
    }

    #[test]
    fn reads_the_real_corpus() {
        let Some(dir) = corpus_dir() else {
            println!("skipped: no datasets");
            return;
        };
        let started = std::time::Instant::now();
        let (messages, skipped) = read_spamassassin(&dir).unwrap();
        let elapsed = started.elapsed();
        let ham = messages.iter().filter(|m| !m.spam).count();
        let spam = messages.len() - ham;
        let empty = messages.iter().filter(|m| m.body.is_empty()).count();
        println!("{ham} ham, {spam} spam, {skipped} skipped, {empty} empty bodies, read in {elapsed:?}");
        assert!(skipped <= 10, "{skipped} skipped");
        assert!(
            ham <= 4_150 && spam <= 1_896 && ham + spam + skipped == 6_046,
            "{ham} ham, {spam} spam, {skipped} skipped"
        );
        assert!(empty * 50 <= messages.len(), "{empty} of {} bodies empty", messages.len());
        assert!(messages.windows(2).all(|w| w[0].id < w[1].id), "sorted, unique ids");
        for m in &messages {
            assert_eq!(m.spam, m.id.starts_with("spam-"), "{}", m.id);
            assert!(m.body.len() <= MAX_BODY_BYTES, "{}", m.id);
            // The message's own headers never reach its body: its last
            // Received line (the first hop, unique to it) is not there.
            let raw = std::fs::read(dir.join(&m.id)).unwrap();
            let raw = String::from_utf8_lossy(&raw);
            let header = raw.lines().take_while(|l| !l.trim().is_empty());
            if let Some(received) = header.filter(|l| l.starts_with("Received: ") && l.len() > 40).last() {
                assert!(!m.body.contains(received), "{}: headers in the body", m.id);
            }
        }
        // The East Asian spam reads as such: not as U+FFFD or Latin-1 mojibake.
        let cjk = |c: char| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}' | '\u{ac00}'..='\u{d7af}');
        let asian = messages.iter().filter(|m| m.body.chars().any(cjk)).count();
        let replaced = messages.iter().filter(|m| m.body.contains(char::REPLACEMENT_CHARACTER)).count();
        println!("{asian} bodies in Chinese, Japanese or Korean; {replaced} with U+FFFD");
        assert!(asian >= 50, "{asian}");
        assert!(replaced <= 10, "{replaced}");
    }
}
