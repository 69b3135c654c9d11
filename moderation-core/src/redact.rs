//! Keeping a user's leaked secret out of everything that outlives the request.
//!
//! A verdict already masks the text of its `exposure` spans. But a service
//! that *stores* the post (a review queue, an export for retraining, a
//! webhook) would still hold the secret in the post itself, and other
//! signals' spans can overlap it (a "wallet words" rule covering the same
//! sentence). [`redact`] returns copies of both with every byte under an
//! exposure span replaced by `*`.
//!
//! Bytes are replaced one for one, so every span offset in the verdict stays
//! valid for the redacted post, and the redacted text is still valid UTF-8
//! (spans start and end on character boundaries; `*` is one byte).
//!
//! ```
//! use moderation_core::{Engine, Post, redact};
//!
//! let engine = Engine::new()?;
//! let post = Post::new("1", "help my wallet is empty, my seed is abandon ability able about above absent \
//!                            absorb abstract absurd abuse access accident");
//! let verdict = engine.score(&post);
//! let (stored, verdict) = redact(&post, &verdict);
//! assert!(!stored.body.contains("abandon"));
//! assert!(stored.body.starts_with("help my wallet is empty"));
//! assert!(verdict.signals.iter().all(|s| s.spans.iter().all(|sp| !sp.text.contains("abandon"))));
//! # Ok::<(), moderation_core::Error>(())
//! ```

use std::ops::Range;

use crate::post::Post;
use crate::verdict::Verdict;
use crate::vocab::{Category, Field};

/// Copies of `post` and `verdict` with every exposure span's bytes replaced
/// by `*`, in the post and in any span of any signal that overlaps one.
/// Posts without exposure signals come back unchanged.
pub fn redact(post: &Post, verdict: &Verdict) -> (Post, Verdict) {
    let mut secret: Vec<(Field, Range<usize>)> = Vec::new();
    for signal in verdict.signals.iter().filter(|s| s.category == Category::Exposure) {
        for span in &signal.spans {
            secret.push((span.field, span.start..span.end));
        }
    }
    if secret.is_empty() {
        return (post.clone(), verdict.clone());
    }
    let mut post = post.clone();
    if let Some(title) = post.title.as_mut() {
        mask_field(title, Field::Title, &secret);
    }
    mask_field(&mut post.body, Field::Body, &secret);
    if let Some(name) = post.author.as_mut().and_then(|a| a.name.as_mut()) {
        mask_field(name, Field::AuthorName, &secret);
    }
    let mut verdict = verdict.clone();
    for signal in verdict.signals.iter_mut().filter(|s| s.category != Category::Exposure) {
        for span in &mut signal.spans {
            let overlaps = secret.iter().any(|(f, r)| *f == span.field && r.start < span.end && span.start < r.end);
            if overlaps {
                let text = match span.field {
                    Field::Title => post.title.as_deref(),
                    Field::Body => Some(post.body.as_str()),
                    Field::AuthorName => post.author.as_ref().and_then(|a| a.name.as_deref()),
                };
                span.text = text.and_then(|t| t.get(span.start..span.end)).unwrap_or("").to_string();
            }
        }
    }
    (post, verdict)
}

fn mask_field(t: &mut String, field: Field, secret: &[(Field, Range<usize>)]) {
    let mut bytes = std::mem::take(t).into_bytes();
    for (_, range) in secret.iter().filter(|(f, _)| *f == field) {
        let end = range.end.min(bytes.len());
        for b in bytes.get_mut(range.start.min(end)..end).into_iter().flatten() {
            *b = b'*';
        }
    }
    // Ranges come from the engine and sit on character boundaries; should
    // one not, the lossy decode still never lets the secret's bytes through.
    *t = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{Signal, Versions};
    use crate::vocab::Span;

    fn signal(id: &str, category: Category, field: Field, range: Range<usize>, text: &str) -> Signal {
        Signal {
            id: id.into(),
            category,
            weight: 1.0,
            description: String::new(),
            spans: vec![Span { field, start: range.start, end: range.end, text: text.into() }],
        }
    }

    #[test]
    fn secret_bytes_are_starred_in_the_post_and_in_overlapping_spans() {
        // "鍵" is 3 bytes: offsets after it must survive the masking.
        let body = "鍵: alpha beta gamma, DM me";
        let mut post = Post::new("1", body);
        post.title = Some("alpha in title".into());
        let secret = 5..21; // "alpha beta gamma"
        assert_eq!(&body[secret.clone()], "alpha beta gamma");
        let verdict = Verdict {
            id: "1".into(),
            decision: crate::Decision::Hold,
            scores: Default::default(),
            signals: vec![
                signal("exposure.seed-phrase", Category::Exposure, Field::Body, secret.clone(), "[masked: 3 words]"),
                signal("scam.overlap", Category::Scam, Field::Body, 0..10, "鍵: alpha"),
                signal("scam.title", Category::Scam, Field::Title, 0..5, "alpha"),
                signal("scam.dm", Category::Scam, Field::Body, 23..28, "DM me"),
            ],
            versions: Versions { rules: "t".into(), model: None, feeds: Vec::new() },
        };
        let (stored, v) = redact(&post, &verdict);
        assert_eq!(stored.body, "鍵: ****************, DM me");
        assert_eq!(stored.body.len(), body.len());
        // Another field's text is not touched by a body span.
        assert_eq!(stored.title.as_deref(), Some("alpha in title"));
        assert_eq!(v.signals[1].spans[0].text, "鍵: *****");
        assert_eq!(v.signals[2].spans[0].text, "alpha");
        assert_eq!(v.signals[3].spans[0].text, "DM me");
        assert_eq!(&stored.body[23..28], "DM me");
        assert_eq!(v.signals[0].spans[0].text, "[masked: 3 words]");
    }

    #[test]
    fn posts_without_exposure_come_back_unchanged() {
        let post = Post::new("1", "nothing secret here");
        let verdict = crate::Engine::new().unwrap().score(&post);
        let (stored, v) = redact(&post, &verdict);
        assert_eq!(stored, post);
        assert_eq!(v, verdict);
    }
}
