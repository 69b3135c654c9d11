//! Fuzz checks: one function per fuzz target, shared by the libFuzzer
//! targets in `fuzz/fuzz_targets/` and by the replay in the normal test
//! suite (`tests/fuzz_replay.rs`), which runs the committed corpus and
//! seeded structured inputs through the same functions.
//!
//! Each function takes arbitrary bytes, must not panic, and asserts the
//! invariants of its layer: markup and signal spans are char-boundary
//! ranges of their field whose text is the field's slice there.
//!
//! Not part of the stable API.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::classifier::model::{FORMAT_VERSION, MAGIC};
use crate::{Author, Category, Engine, Field, Format, Model, Post, RuleSet, parse_markup};

/// The formats a selector byte picks from.
fn format_of(b: u8) -> Format {
    match b % 3 {
        0 => Format::Text,
        1 => Format::Markdown,
        _ => Format::Html,
    }
}

/// Webhook signature verification ([`crate::signature::verify`]) on
/// arbitrary headers and bodies. The input is `now` (8 bytes,
/// little-endian; fewer are zero-padded), then the header, a NUL byte and
/// the body. Never a panic; a header that verifies no longer does once the
/// body changes, and a header [`crate::signature::sign`] makes for the
/// body verifies at its own time.
pub fn webhook(data: &[u8]) {
    use crate::signature::{sign, verify};
    const SECRETS: [&str; 2] = ["k1", "k2"];
    let mut now = [0u8; 8];
    let head = data.len().min(8);
    now[..head].copy_from_slice(&data[..head]);
    let now = i64::from_le_bytes(now);
    let rest = &data[head..];
    let (header, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let header = String::from_utf8_lossy(header);
    for tolerance in [0, 300, i64::MAX] {
        if verify(&header, body, &SECRETS, now, tolerance).is_ok() {
            let mut changed = body.to_vec();
            changed.push(b'!');
            assert!(verify(&header, &changed, &SECRETS, now, tolerance).is_err(), "{header:?} verifies a changed body");
        }
    }
    let made = sign(&["k2".to_string()], now, body);
    assert_eq!(verify(&made, body, &SECRETS, now, 0), Ok(()), "{made:?}");
}

/// `Post::from_json` on arbitrary bytes: errors are fine, panics are not;
/// a decoded post scores without panicking and with exact spans.
pub fn post_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(post) = Post::from_json(text) {
        // Keep the libFuzzer target fast: score only small posts.
        if post.body.len() + post.title.as_ref().map_or(0, String::len) <= 4096 {
            check_verdict(&post);
        }
    }
}

/// Markup extraction (Markdown and HTML, selected by the first byte): every
/// char of the visible text maps to a char-boundary range of the body, and
/// link ranges are char-boundary ranges of the body.
pub fn markup(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let body = String::from_utf8_lossy(rest);
    let format = format_of(selector);
    let doc = parse_markup(&body, format);
    let text = doc.raw.as_str();
    for (i, c) in text.char_indices() {
        let r = doc.raw.origin(i..i + c.len_utf8());
        assert!(
            r.start <= r.end && body.get(r.clone()).is_some(),
            "{format:?}: char {c:?} at {i} maps to {r:?}, not a char range of the body"
        );
    }
    let whole = doc.raw.origin(0..text.len());
    assert!(body.get(whole.clone()).is_some(), "{format:?}: the whole text maps to {whole:?}");
    if format == Format::Text {
        assert_eq!(text, &*body, "text bodies are their own visible text");
    }
    for link in &doc.links {
        assert!(
            body.get(link.href_range.clone()).is_some(),
            "{format:?}: href range {:?} of {link:?}",
            link.href_range
        );
        assert!(
            body.get(link.text_range.clone()).is_some(),
            "{format:?}: text range {:?} of {link:?}",
            link.text_range
        );
    }
}

/// Rule files: parsing arbitrary text and compiling what parses into an
/// engine must not panic (errors are the expected answer to bad input).
pub fn rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(set) = RuleSet::from_toml("fuzz.toml", text) else { return };
    // Alone, not over the default pack: compiling the pack on every input
    // would spend the fuzzer's time on the same 100 KB of rules.
    if let Ok(engine) = Engine::builder().without_default_rules().rules(set).build() {
        let post = Post::new(
            "p",
            "Free BTC giveaway: DM me on Telegram @support, send 0.1 to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        );
        let _ = engine.score(&post);
    }
}

/// Phishing feed files and brand registry files: parsing arbitrary text in
/// each format must not panic; a feed that parses finds every host it
/// blocks, and a registry that parses judges each of its own hosts official.
pub fn feeds(data: &[u8]) {
    use crate::signals::feeds::{Feed, ListKind};
    use crate::signals::lookalike::{BrandList, HostJudgement};
    let Ok(text) = std::str::from_utf8(data) else { return };
    for kind in [ListKind::Block, ListKind::Allow] {
        if let Ok(feed) = Feed::parse("fuzz.txt", text, kind) {
            let _ = feed.version();
            for line in text.lines().take(64) {
                let _ = feed.lookup(line.trim());
            }
        }
    }
    if let Ok(registry) = crate::rules::Registry::from_toml("fuzz.toml", text) {
        let brands = BrandList::with_registry::<&str>(&[], &registry.brands);
        for b in registry.brands.iter().take(64) {
            for h in b.domains.iter().chain(&b.hosts) {
                assert!(matches!(brands.judge(h), HostJudgement::Official(_)), "{h} of {} is not official", b.name);
            }
            for t in &b.tokens {
                let _ = brands.judge(&format!("{t}-claim.pages.dev"));
            }
        }
    }
    // Any text as a host: the look-alike checks must not panic on it.
    let brands = engine().settings(None);
    for line in text.lines().take(16) {
        let _ = brands.judge_host(line);
    }
}

/// Model files: `Model::from_bytes` on the bytes as given, and on the bytes
/// wrapped as the payload of a well-formed header (magic, a format version
/// picked by the first byte, the length and the SHA-256), so that the
/// fuzzer reaches the payload decoder and the model's validation instead of
/// stopping at the checksum.
pub fn model(data: &[u8]) {
    let _ = Model::from_bytes(data);
    let Some((&selector, payload)) = data.split_first() else { return };
    let version = 1 + u32::from(selector) % FORMAT_VERSION;
    let _ = Model::from_bytes(&wrap_model_payload(version, payload));
}

/// A model file around `payload`: magic, format version, payload length and
/// the payload's SHA-256, then the payload.
pub fn wrap_model_payload(version: u32, payload: &[u8]) -> Vec<u8> {
    let mut file = Vec::with_capacity(52 + payload.len());
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&version.to_le_bytes());
    file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    file.extend_from_slice(&Sha256::digest(payload));
    file.extend_from_slice(payload);
    file
}

/// The engine the `score` check uses: the default rules and, with the
/// `default-model` feature, the shipped model.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        #[cfg(feature = "default-model")]
        let engine = Engine::with_default_model();
        #[cfg(not(feature = "default-model"))]
        let engine = Engine::new();
        engine.expect("the default engine builds")
    })
}

/// A post from arbitrary bytes: the first byte picks the format and which
/// optional fields are present; the rest, read as lossy UTF-8, is split at
/// U+001F into body, title, author name, forum and language.
pub fn post_from_bytes(data: &[u8]) -> Post {
    let (&selector, rest) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.split('\u{1F}');
    let body = parts.next().unwrap_or("").to_string();
    let mut next = |bit: u8| {
        let part = parts.next().map(str::to_string);
        if selector & bit != 0 { part } else { None }
    };
    let title = next(0x04);
    let name = next(0x08);
    let forum = next(0x10);
    let lang = next(0x20);
    let author = (selector & 0x40 != 0).then(|| Author { id: "a".into(), name, ..Author::default() });
    Post { title, format: format_of(selector & 0x03), author, forum, lang, ..Post::new("p", body) }
}

/// `Engine::score` on a post made from arbitrary bytes
/// ([`post_from_bytes`]): no panic, scores in [0, 1], exact spans.
pub fn score(data: &[u8]) {
    check_verdict(&post_from_bytes(data));
}

fn field(post: &Post, f: Field) -> &str {
    match f {
        Field::Title => post.title.as_deref().unwrap_or(""),
        Field::Body => &post.body,
        Field::AuthorName => post.author.as_ref().and_then(|a| a.name.as_deref()).unwrap_or(""),
    }
}

/// Scores `post` with [`engine`] and checks the verdict's invariants.
pub fn check_verdict(post: &Post) {
    let v = engine().score(post);
    for c in Category::ALL {
        let s = v.scores.get(c);
        assert!((0.0..=1.0).contains(&s), "{c:?} score {s}");
    }
    for s in &v.signals {
        for span in &s.spans {
            let text = field(post, span.field);
            let slice = text.get(span.start..span.end);
            assert!(slice.is_some(), "{}: span {span:?} is not a char range of its field", s.id);
            if s.category == Category::Exposure {
                assert!(span.text.starts_with("[masked"), "{}: exposure span {span:?} is not masked", s.id);
            } else {
                assert_eq!(slice.unwrap(), span.text, "{}: span text is not the field's slice", s.id);
            }
        }
    }
}
