//! The input contract: a forum post and its author.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::verdict::Signal;
use crate::vocab::{Category, Format};

/// The author of a post, as far as the forum knows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Author {
    /// The forum's id for the author.
    pub id: String,
    /// The display name; checked for staff and brand impersonation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Days since the account was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_age_days: Option<u32>,
    /// The forum's trust level (Discourse uses 0–4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_level: Option<u8>,
    /// Posts the author has made before this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_count: Option<u32>,
    /// Earlier posts of theirs that moderators removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_removals: Option<u32>,
    /// Whether the forum says the author is staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_staff: Option<bool>,
}

/// One forum post. Unknown fields are ignored.
///
/// ```
/// use moderation_core::{Format, Post};
///
/// let post = Post::from_json(r#"{"id": "42", "body": "<p>hi</p>", "format": "html"}"#)?;
/// assert_eq!(post.format, Format::Html);
/// assert!(!post.lossy_utf16);
/// # Ok::<(), moderation_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Post {
    /// The forum's id for the post (a string, whatever the forum uses).
    pub id: String,
    /// The topic title, for the first post of a topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The post body.
    pub body: String,
    /// How the body is marked up (default `text`).
    #[serde(default)]
    pub format: Format,
    /// The language the forum believes the post is in (BCP 47, e.g. `ja`).
    /// When absent the engine identifies it from a bounded sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The forum (or category) the post belongs to; selects forum rule layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forum: Option<String>,
    /// The author, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
    /// Set by [`Post::from_json`] when the JSON held lone UTF-16 surrogates
    /// that were replaced by U+FFFD. Not part of the wire format.
    #[serde(skip)]
    pub lossy_utf16: bool,
}

impl Post {
    /// A plain-text post with just an id and a body.
    pub fn new(id: impl Into<String>, body: impl Into<String>) -> Post {
        Post { id: id.into(), body: body.into(), ..Post::default() }
    }

    /// Decodes a post from JSON.
    ///
    /// Lone UTF-16 surrogates in `\u` escapes (which JavaScript forums do
    /// send) are replaced by U+FFFD and recorded in [`Post::lossy_utf16`]
    /// instead of refusing the post: a forum that fails open would publish
    /// exactly the posts built to break the parser.
    ///
    /// Identifiers are not repaired: ids that differed only in their lone
    /// surrogates would become one id, and a later post would overwrite an
    /// earlier one as its edit. A lone surrogate in `id`, `author.id` or
    /// `forum` is an error naming that field.
    pub fn from_json(json: &str) -> Result<Post, Error> {
        let Some(repaired) = repair_lone_surrogates(json, REPLACEMENT) else {
            return decode_json(json);
        };
        let mut post: Post = decode_json(&repaired)?;
        post.lossy_utf16 = true;
        // Which fields were repaired: decode again with another stand-in
        // (a noncharacter) and compare the ids. Only posts that needed a
        // repair pay for this second decode.
        let marked: Post = decode_json(&repair_lone_surrogates(json, MARKER).unwrap_or_default())?;
        let repaired_id = [
            ("id", post.id != marked.id),
            ("author.id", post.author.as_ref().map(|a| &a.id) != marked.author.as_ref().map(|a| &a.id)),
            ("forum", post.forum != marked.forum),
        ];
        if let Some((field, _)) = repaired_id.into_iter().find(|(_, differs)| *differs) {
            return Err(Error::Post {
                message: format!("`{field}` holds a lone UTF-16 surrogate; identifiers must be valid Unicode"),
                field: Some(field.to_string()),
            });
        }
        Ok(post)
    }
}

/// What the caller knows from memory of earlier posts, which a single-post
/// engine cannot know: the service fills it from its store.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Flags that rules test with `flag = "…"`, e.g. `near_duplicate`,
    /// `shared_link_new_accounts`.
    pub flags: Vec<String>,
    /// Signals to add to the verdict as they are (they count towards scores).
    pub signals: Vec<Signal>,
    /// Moderators' decisions that reach this post (it joins a campaign they
    /// removed): each is shown as it is and holds the post at least
    /// (`hold`), whatever its score; the caller decides when they apply
    /// (never to staff posts or posts quoting a lure to warn).
    pub decided: Vec<Signal>,
}

/// Decodes a post and, on failure, names the field serde was in
/// (`author.trust_level`), so a caller can say which field was wrong.
/// Trailing data after the value is an error too.
fn decode_json(json: &str) -> Result<Post, Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // A missing field is reported at its parent; serde names it in the message.
        let field = match (path.as_str(), missing_field(&inner.to_string())) {
            (".", Some(name)) => Some(name),
            // "?" is serde_path_to_error's "somewhere it could not tell"
            // (a syntax error before any key): no field to name.
            (".", None) | ("?", _) => None,
            (parent, Some(name)) => Some(format!("{parent}.{name}")),
            (p, None) => Some(p.to_string()),
        };
        Error::Post { message: inner.to_string(), field }
    })?;
    de.end().map_err(|e| Error::Post { message: e.to_string(), field: None })?;
    Ok(value)
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// What a lone surrogate becomes.
const REPLACEMENT: &str = "\\uFFFD";
/// A noncharacter standing in for lone surrogates to find which fields held one.
const MARKER: &str = "\\uFDD0";

/// Rewrites `\uD800`–`\uDFFF` escapes that are not part of a valid surrogate
/// pair to `with` (an escape). Returns `None` when the input needed no repair
/// (the common case, which then costs one scan for backslashes). Any input,
/// however malformed, is scanned without panicking; what is not JSON is left
/// for the decoder to refuse.
fn repair_lone_surrogates(json: &str, with: &str) -> Option<String> {
    let bytes = json.as_bytes();
    let hex4 = |at: usize| -> Option<u16> {
        let s = json.get(at..at + 4)?;
        u16::from_str_radix(s, 16).ok()
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(off) = memchr_backslash(&bytes[i..]) {
        let at = i + off;
        // A backslash is always the start of an escape inside valid JSON;
        // outside strings it is a syntax error serde will report anyway.
        // `at + 2` may pass the end (input ending in `\`): clamp it.
        let after_escape = (at + 2).min(bytes.len());
        if bytes.get(at + 1) != Some(&b'u') {
            i = after_escape;
            continue;
        }
        let Some(unit) = hex4(at + 2) else {
            i = after_escape;
            continue;
        };
        let mut next = at + 6;
        let lone = match unit {
            0xD800..=0xDBFF => {
                let low = (bytes.get(next) == Some(&b'\\') && bytes.get(next + 1) == Some(&b'u'))
                    .then(|| hex4(next + 2))
                    .flatten();
                match low {
                    Some(0xDC00..=0xDFFF) => {
                        next += 6;
                        false
                    }
                    _ => true,
                }
            }
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            let buf = out.get_or_insert_with(|| String::with_capacity(json.len()));
            buf.push_str(&json[copied..at]);
            buf.push_str(with);
            copied = at + 6;
        }
        i = next;
    }
    out.map(|mut buf| {
        buf.push_str(&json[copied..]);
        buf
    })
}

fn memchr_backslash(hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == b'\\')
}

/// One labelled post.
#[derive(Debug, Clone)]
pub struct Example {
    /// The post.
    pub post: Post,
    /// Known labels; a category not listed is unknown for this post (the
    /// SMS sets say spam or not, but not whether it is a scam).
    pub labels: Vec<(Category, bool)>,
    /// How much the post counts in training (1 for every post unless the
    /// caller balances sources: see `moderation transfer`). Finite, > 0.
    pub weight: f64,
    /// The source the post comes from (0 unless the caller says):
    /// with `TrainConfig::folds_by_source` (training) each source is one fold.
    pub group: u32,
}

impl Example {
    /// A post with its known labels, weight 1.
    pub fn new(post: Post, labels: Vec<(Category, bool)>) -> Example {
        Example { post, labels, weight: 1.0, group: 0 }
    }

    /// The label for a category, if known.
    pub fn label(&self, category: Category) -> Option<bool> {
        self.labels.iter().find(|(c, _)| *c == category).map(|(_, y)| *y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let post = Post::from_json(r#"{"id":"1","body":"a\ud800b \udc00 \ud83d\ude00"}"#).unwrap();
        assert_eq!(post.body, "a\u{FFFD}b \u{FFFD} \u{1F600}");
        assert!(post.lossy_utf16);
    }

    #[test]
    fn escaped_backslash_before_u_is_not_an_escape() {
        let post = Post::from_json(r#"{"id":"1","body":"\\ud800"}"#).unwrap();
        assert_eq!(post.body, "\\ud800");
        assert!(!post.lossy_utf16);
    }

    #[test]
    fn errors_name_the_field() {
        let err = Post::from_json(r#"{"id":"1"}"#).unwrap_err();
        match err {
            Error::Post { field, .. } => assert_eq!(field.as_deref(), Some("body")),
            other => panic!("unexpected {other:?}"),
        }
        let err = Post::from_json(r#"{"id":"1","body":"x","author":{"id":"u","trust_level":"high"}}"#).unwrap_err();
        match err {
            Error::Post { field, message } => {
                assert_eq!(field.as_deref(), Some("author.trust_level"));
                assert!(message.contains("invalid type"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let post = Post::from_json(r#"{"id":"1","body":"x","raw":"y","author":{"id":"u","avatar":"z"}}"#).unwrap();
        assert_eq!(post.author.unwrap().id, "u");
    }
}
