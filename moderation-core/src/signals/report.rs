//! Reports of a scam: a post that quotes a lure in order to warn about it
//! ("'Send 0.1 get 0.2 back' is always a scam", 「…」って返信がきた。これ詐欺だよね？).
//!
//! The lure's words are in the post, so the rules fire on them; what tells
//! a report from the lure is the author's own words, outside the quotation,
//! saying that something *is* a scam. [`verdict`] finds such a verdict:
//! a predicate ("is a scam", "that's phishing", "no such airdrop",
//! 「詐欺だ」, 「詐欺ですか」, "es una estafa", 是骗局), never a bare word —
//! "lost money to scammers", "anti-scam verified" and "haters call it a
//! scam" are what lures say. A denied or doubted one ("not a scam", "I
//! thought it was a scam, but…", "scam? nah", 「詐欺じゃない」, "scam-free",
//! "bukan penipuan") does not count either.
//!
//! It reads the `normalized` view, so a negation disguised with zero-width
//! characters, full-width letters or Cyrillic look-alikes reads as one.
//!
//! The engine uses it only to *cap* a post at review, never to allow it,
//! and only where a forum turns it on (`[settings] quoted_reports = true`),
//! for an established author, when the post's own words carry no link,
//! contact or address and nothing that [`vouches`], and would not go past
//! review alone. Two adversarial reviews showed that wording alone cannot
//! tell a report from a lure written to look like one ("copycats are a
//! scam, the official one: …", "… is a scam. jk, claim it"); hence the
//! setting is off by default and the cap needs an established account.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use crate::text::quotes::is_quoted;
use crate::text::view::View;
use crate::vocab::Format;

/// A verdict that something is a scam, on the normalized view (lowercase,
/// katakana read as hiragana). Latin and Cyrillic match whole words.
const VERDICT: &str = concat!(
    r"\b(?:is|are|was|were|its|thats|whats|s)\s+(?:(?:all|always|just|obviously|clearly|definitely|100%|totally|a|an|the|another|classic|typical|this|still)[\s,]+){0,4}",
    r"(?:scam|scams|phishing|fake|fraud|fraudulent|drainer|drainers|ponzi|impersonation|impersonators?)\b",
    r"|\bno such (?:thing|airdrop|giveaway|event|promotion|program|offer|support)\b",
    r"|\b(?:scam|phishing|fraud) (?:alert|warning|attempt)\b",
    r"|\b(?:es|son) (?:una |un )?(?:estafa|estafadores|fraude)\b|\b(?:é|são) (?:um )?(?:golpe|golpistas|fraude)\b",
    r"|\b(?:ist|sind) (?:ein )?betrug\b|\bc'?est une arnaque\b",
    r"|\bэто (?:мошенники|мошенничество|развод|скам|фишинг)\b",
    r"|\b(?:bu )?dolandırıcılık(?:tır)?\b|\blà lừa đảo\b|\bini penipuan\b",
    r"|詐欺(?:だ|です|でした|じゃん|っぽい|ですか|かな|の手口)|偽物(?:だ|です)|ふぃっしんぐ(?:だ|です|詐欺)",
    r"|是(?:骗局|骗子|诈骗)|사기(?:입니다|예요|네요|다|인가요)",
);

/// A denial or doubt before the verdict, in the same sentence: "not",
/// "never", "without", "I thought it was", "they call it", and their
/// counterparts (sin, sem, ohne, tanpa, без, bukan, 不, 无, 안, ไม่ …).
const DOUBT_BEFORE: &str = concat!(
    r"\b(?:not|no|isnt|isn't|arent|aren't|wasnt|wasn't|aint|ain't|never|non|zero|nothing|without|nah|nope",
    r"|other|others|else|copycats?|clones?|imitations?|imitators?|fakes",
    r"|thought|call|calls|called|calling|say|says|said|claim|claims|accuse|accused|fud|haters?|if|whether|until",
    r"|nicht|kein\w*|ohne|pas|sans|sin|sem|não|nao|nem|не|нет|ни|без|bukan|tidak|tanpa|không|khong|chẳng|değil)\b",
    r"|不|没|沒|非|无|無|안|ไม่",
);

/// A denial or contrast after it: "scam-free", "scam? nah, paid out", "a
/// scam, but it paid", "a scam /s", "a scam? lol", 「詐欺じゃない」,
/// 「詐欺ですか？いいえ、届きました」, "dolandırıcı değil".
const DOUBT_AFTER: &str = concat!(
    r"\b(?:free|proof|not|no|nope|nah|never|legit|legitimate|real|genuine|but|however|though|yet|until|paid|pays|works|worked",
    r"|lol|lmao|jk|wrong|lies|myth|nobody|fud|fudders|yeah right|para nada|pagó|mdr|quatsch|gak|değil|degil|yok|아님)\b",
    r"|/s\b|😂|🤣|ではな|じゃな|でな|なし|ません|ぜろ|いいえ|届|到账|아니|없|받았|да ладно|本物|本当",
);

/// What a report's own words never need and a lure's often have: a claim
/// to be official or to have paid, a recommendation, a way to reach
/// someone (a handle, a messenger, "DM", "(at)", "(dot)", an ENS name, a
/// run of digits). Read on the own words (quotations left out) and the
/// author's name; any of it and the post is not capped.
const VOUCHES: &str = concat!(
    r"\b(?:official|officially|verified|genuine|legit|trusted|recommend|recommended|helped|saved|paid|payout|payouts",
    r"|landed|received|works|worked|real one|the real|only real|dm|pm|contact me|call me|text me|tg|telegram|whatsapp",
    r"|wechat|discord|signal|kakao|zalo)\b",
    r"|@|\(at\)|\[at\]|\(dot\)|\[dot\]|\.eth\b|t\.me|wa\.me|\d{3,}|公式|本物|正規|官方|到账|届き|받았",
);

/// The longest body that may be capped as a report, in bytes: a warning is
/// a few sentences, and every bound of the check is then small.
pub const MAX_REPORT_BYTES: usize = 8 * 1024;

/// Whether a report's own words (the normalized view of the post without
/// its quotations) or its author's name vouch for something or give a way
/// to reach someone: claims to be official or to have paid, a recommendation,
/// a handle, a messenger, "DM", "(at)", "(dot)", an ENS name, a run of digits.
pub fn vouches(own_words: &str, author_name: Option<&str>) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = regex(&RE, VOUCHES);
    re.is_match(own_words) || author_name.is_some_and(|n| re.is_match(&n.to_lowercase()))
}

/// How far a denial may stand from the verdict, in characters of the
/// normalized text.
const WINDOW: usize = 40;

/// How many verdicts of a post are read at most.
const MAX_CANDIDATES: usize = 64;

/// Whether an HTML or Markdown body may hide text from its readers: any
/// inline style (white text, zero size or opacity, off-screen), anything
/// `hidden`, comments, Markdown reference definitions, `<style>`,
/// `<font>`, folded `<details>`. The engine reads such text; a reader does
/// not, so a "quotation" or a verdict there proves nothing.
pub fn hides_text(body: &str, format: Format) -> bool {
    if format == Format::Text {
        return false;
    }
    let squeezed: String =
        body.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).take(MAX_REPORT_BYTES).collect();
    // Any inline style, any `hidden` (attribute, class, overflow), comments,
    // Markdown reference definitions (`[//]: # (…)`) and the elements that
    // hold or fold text away.
    ["<!--", "hidden", "style=", "<style", "<font", "<textarea", "<details", "<noscript", "<template", "sr-only", "]:"]
        .iter()
        .any(|marker| squeezed.contains(marker))
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a fixed, tested pattern"))
}

/// The first verdict in `norm` (a field's normalized view) outside the
/// `quoted` passages (byte ranges of the original field,
/// merged by the `text::quotes` module) that calls
/// something a scam, not denied or doubted; its range in the original
/// field.
pub fn verdict(norm: &View, quoted: &[Range<usize>]) -> Option<Range<usize>> {
    static VERDICTS: OnceLock<Regex> = OnceLock::new();
    static BEFORE: OnceLock<Regex> = OnceLock::new();
    static AFTER: OnceLock<Regex> = OnceLock::new();
    let text = norm.as_str();
    // A report says it early; a post repeating "is a scam" thousands of
    // times gets no more reading than its first verdicts.
    for m in regex(&VERDICTS, VERDICT).find_iter(text).take(MAX_CANDIDATES) {
        let original = norm.origin(m.range());
        // The author's own words, after something they quote: a verdict
        // before every quotation ("copycats are a scam, the official one:
        // '…'") is about something else.
        let overlaps = quoted.iter().any(|q| q.start < original.end && original.start < q.end);
        if overlaps || !quoted.iter().any(|q| q.end <= original.start) {
            continue;
        }
        let before = sentence_tail(own_before(norm, m.start(), quoted));
        let after = sentence_head(own_after(norm, m.end(), quoted));
        if regex(&BEFORE, DOUBT_BEFORE).is_match(before) || regex(&AFTER, DOUBT_AFTER).is_match(after) {
            continue;
        }
        return Some(original);
    }
    None
}

/// At most [`WINDOW`] characters of the view before byte `at`, stopping
/// at a quotation: a denial must be the author's own.
fn own_before<'a>(norm: &'a View, at: usize, quoted: &[Range<usize>]) -> &'a str {
    let text = norm.as_str();
    let mut start = at;
    for (i, c) in text[..at].char_indices().rev().take(WINDOW) {
        if is_quoted(&norm.origin(i..i + c.len_utf8()), quoted) {
            break;
        }
        start = i;
    }
    &text[start..at]
}

/// At most [`WINDOW`] characters of the view from byte `at`, stopping at
/// a quotation.
fn own_after<'a>(norm: &'a View, at: usize, quoted: &[Range<usize>]) -> &'a str {
    let text = norm.as_str();
    let mut end = at;
    for (i, c) in text[at..].char_indices().take(WINDOW) {
        if is_quoted(&norm.origin(at + i..at + i + c.len_utf8()), quoted) {
            break;
        }
        end = at + i + c.len_utf8();
    }
    &text[at..end]
}

/// The part of `before` (the text just before a verdict) in the verdict's
/// sentence: after the last `.`, `!` or `?` followed by a space, or a
/// full-width stop. A line break does not end a sentence here ("This is
/// NOT⏎a scam").
fn sentence_tail(before: &str) -> &str {
    let mut start = 0;
    for (i, c) in before.char_indices() {
        let ends = match c {
            '。' | '！' | '？' => true,
            '.' | '!' | '?' => before[i + 1..].starts_with(char::is_whitespace),
            _ => false,
        };
        if ends {
            start = i + c.len_utf8();
        }
    }
    &before[start..]
}

/// The part of `after` (the text just after a verdict) in its sentence. A
/// question mark does not end it here, so that "Scam? No, it's real"
/// reads as a denial.
fn sentence_head(after: &str) -> &str {
    for (i, c) in after.char_indices() {
        let ends = match c {
            '。' | '！' => true,
            '.' | '!' => after[i + 1..].is_empty() || after[i + 1..].starts_with(char::is_whitespace),
            _ => false,
        };
        if ends {
            return &after[..i];
        }
    }
    after
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;
    use crate::text::quotes::{merged, quoted_ranges};

    fn warning(text: &str) -> Option<&str> {
        let raw = View::identity(text);
        let (_, norm, _) = normalize::views(&raw);
        let quoted = merged(quoted_ranges(text, &raw, Format::Text)?);
        verdict(&norm.text, &quoted).map(|r| &text[r])
    }

    #[test]
    fn the_authors_own_verdict_outside_the_quotation() {
        assert_eq!(warning("'Send 0.1 get 0.2 back' is always, always a scam."), Some("is always, always a scam"));
        assert_eq!(warning("「LINEで連絡して」って返信がきた。これ詐欺だよね？？"), Some("詐欺だ"));
        assert_eq!(warning("Quoting it:\n\"Airdrop is live!\"\nThere's no such airdrop."), Some("no such airdrop"));
        assert_eq!(warning("\"DM me for support\" thats a scam right??"), Some("thats a scam"));
        assert_eq!(warning("「出金はこちら」フィッシング詐欺です"), Some("フィッシング詐欺"));
        assert_eq!(warning("\"Kirim 1 dapat 2\" ini penipuan"), Some("ini penipuan"));
    }

    #[test]
    fn a_verdict_inside_the_quotation_does_not_count() {
        assert_eq!(warning("\"This is a scam-free giveaway, send 0.1 get 0.2\" they wrote"), None);
        assert_eq!(warning("> this is phishing\nclaim at eth-claim.org"), None);
    }

    #[test]
    fn a_bare_word_is_not_a_verdict() {
        for lure in [
            "Lost money to scammers? I did too. \"contact admin on whatsapp\"",
            "Beware of impersonators. Official support desk: \"contact admin on whatsapp\"",
            "\"Claim 3 ETH\" Anti-scam verified by CertiK",
            "\"Claim 3 ETH\" Fraud protection included.",
            "詐欺に遭った方へ「LINEで管理者に連絡して」",
        ] {
            assert_eq!(warning(lure), None, "{lure}");
        }
    }

    #[test]
    fn what_a_lure_says_of_itself_does_not_count() {
        for lure in [
            "\"Send 0.1 get 0.2 back\" this is not a scam, 100% paid",
            "\"Send 1 ETH get 2 ETH\" is it a scam? No, real payouts",
            "\"Send 1 ETH get 2 ETH\" This is NOT\na scam",
            "\"Send 1 ETH get 2 ETH\" this is n\u{200B}ot a scam",
            "\"Send 1 ETH get 2 ETH\" this is ｎｏｔ a scam",
            "\"Send 1 ETH get 2 ETH\" this is n\u{043E}t a scam",
            "I thought it was a scam too, but \"Send 1 ETH get 2 ETH\" paid me twice",
            "\"Send 1 ETH get 2 ETH\" Haters say it's a scam but I got paid",
            "\"Send 1 ETH get 2 ETH\" it's a scam, but it paid me",
            "「LINE追加で10万円」詐欺じゃないです",
            "\"Kirim 1 dapat 2\" ini bukan penipuan",
            "\"Envía 1 recibe 2\" no es una estafa",
            "「加LINE领红包」不是骗局",
            "「加LINE领红包」绝无诈骗，是骗局吗？不",
            "「加LINE领红包」是骗局吗？我已经到账了",
            "「出金はこちら」詐欺ですか？いいえ、届きました",
            "\"Send 1 ETH get 2 ETH\" is a scam /s",
            "\"Send 1 ETH get 2 ETH\" is a scam? lol, it landed",
            "\"Send 1 ETH get 2 ETH\" every other site is a scam",
        ] {
            assert_eq!(warning(lure), None, "{lure}");
        }
    }

    #[test]
    fn a_verdict_before_every_quotation_is_about_something_else() {
        assert_eq!(warning("Copycat sites are a scam. The only official link: \"claim.example\""), None);
        assert_eq!(warning("no quotation at all, this is a scam"), None);
    }

    #[test]
    fn what_vouches() {
        for own in [
            "the only official link",
            "tg @ admin_support777",
            "admin (at) support (dot) org",
            "call 555 0142",
            "elondrop.eth",
        ] {
            assert!(vouches(own, None), "{own}");
        }
        assert!(vouches("this is a scam", Some("t.me/admin_support777")));
        assert!(!vouches(
            "reminder that no legitimate giveaway asks you to send crypto first. is always a scam.",
            None
        ));
    }

    #[test]
    fn a_denial_in_another_sentence_does_not_cancel() {
        assert_eq!(warning("someone wrote 'dm me'. I didn't message them. thats a scam right??"), Some("thats a scam"));
        assert_eq!(warning("No. 'Send 0.1 get 0.2' is a scam"), Some("is a scam"));
    }
}
