//! Regressions for defects an outside probe found (issue #10), each through
//! the library's public surface: the decoder, the secret scan and masking,
//! and the model loader.

use moderation_core::model::MAX_PAYLOAD_BYTES;
use moderation_core::{Author, Category, Decision, Engine, Error, Field, Format, Model, ModelError, Post, redact};

const SEED: &str = "abandon ability able about above absent absorb abstract absurd abuse access accident";

/// The seed's words, each written as character references.
fn as_entities(text: &str, hex: bool) -> String {
    text.split(' ')
        .map(|w| {
            w.chars().map(|c| if hex { format!("&#x{:x};", c as u32) } else { format!("&#{};", c as u32) }).collect()
        })
        .collect::<Vec<String>>()
        .join(" ")
}

#[test]
fn any_json_prefix_ending_in_a_backslash_is_an_error_not_a_panic() {
    let full = r#"{"id":"x","body":"\ud83d\ude00 \ud800 \\ \n \u0041"}"#;
    for end in 0..=full.len() {
        let Some(prefix) = full.get(..end) else { continue };
        for input in [prefix.to_string(), format!("{prefix}\\"), format!("{prefix}\\u"), format!("{prefix}\\ud8")] {
            // Must return (Ok or Err), never panic.
            let _ = Post::from_json(&input);
        }
    }
    for input in ["\\", "{\"id\":\"x\",\"body\":\"\\ud\\", "\\u", "\\ud800\\", "\\ud800\\u"] {
        assert!(matches!(Post::from_json(input), Err(Error::Post { .. })), "{input:?}");
    }
}

#[test]
fn ids_that_need_a_surrogate_repair_are_refused_naming_the_field() {
    for (json, field) in [
        (r#"{"id":"x\ud800","body":"b"}"#, "id"),
        (r#"{"id":"x\udbff","body":"b"}"#, "id"),
        (r#"{"id":"x","body":"b","author":{"id":"u\udc00"}}"#, "author.id"),
        (r#"{"id":"x","body":"b","forum":"f\ud800"}"#, "forum"),
    ] {
        match Post::from_json(json) {
            Err(Error::Post { field: Some(f), message }) => {
                assert_eq!(f, field, "{json}");
                assert!(message.contains("surrogate"), "{message}");
            }
            other => panic!("{json}: {other:?}"),
        }
    }
    // Lone surrogates elsewhere are still repaired, and a literal U+FDD0
    // (the marker used to find repaired fields) in an id is not a repair.
    let post = Post::from_json(r#"{"id":"x\ufdd0","body":"a\ud800","author":{"id":"u","name":"n\udfff"}}"#).unwrap();
    assert_eq!(post.id, "x\u{FDD0}");
    assert_eq!(post.body, "a\u{FFFD}");
    assert_eq!(post.author.unwrap().name.as_deref(), Some("n\u{FFFD}"));
    assert!(post.lossy_utf16);
}

#[test]
fn a_seed_in_the_display_name_is_found_and_masked() {
    let engine = Engine::new().unwrap();
    let mut post = Post::new("1", "hello, I need help with a withdrawal");
    post.author = Some(Author { id: "u".into(), name: Some(SEED.into()), ..Author::default() });
    let v = engine.score(&post);
    let exposure: Vec<_> = v.signals.iter().filter(|s| s.category == Category::Exposure).collect();
    assert!(!exposure.is_empty(), "{:?}", v.signals);
    assert!(
        exposure.iter().flat_map(|s| &s.spans).all(|sp| sp.field == Field::AuthorName && !sp.text.contains("abandon"))
    );
    assert_ne!(v.decision, Decision::Allow);
    let (stored, stored_verdict) = redact(&post, &v);
    let name = stored.author.unwrap().name.unwrap();
    assert!(!name.contains("abandon") && !name.contains("accident"), "{name}");
    assert!(!serde_json::to_string(&stored_verdict).unwrap().contains("abandon"));
}

#[test]
fn a_seed_written_as_character_references_is_masked_whole() {
    let engine = Engine::new().unwrap();
    for hex in [false, true] {
        let body = format!("<p>my seed: {}</p><p>thanks</p>", as_entities(SEED, hex));
        let post = Post { id: "1".into(), body: body.clone(), format: Format::Html, ..Post::default() };
        let v = engine.score(&post);
        let spans: Vec<_> =
            v.signals.iter().filter(|s| s.category == Category::Exposure).flat_map(|s| &s.spans).collect();
        assert_eq!(spans.len(), 1, "{spans:?}");
        assert_eq!(spans[0].text, "[masked: 12 words]");
        // The span covers exactly the twelve encoded words in the original.
        assert_eq!(&body[spans[0].start..spans[0].end], as_entities(SEED, hex));
        let (stored, _) = redact(&post, &v);
        assert!(!stored.body.contains("&#"), "{}", stored.body);
        assert!(stored.body.starts_with("<p>my seed: ***") && stored.body.ends_with("</p><p>thanks</p>"));
    }
    // Mixed: some words plain, some encoded, a named reference between.
    let body = "<p>seed&colon; abandon &#97;bility able &#x61;&#x62;out above absent absorb abstract absurd abuse access accident</p>";
    let post = Post { id: "2".into(), body: body.into(), format: Format::Html, ..Post::default() };
    let v = engine.score(&post);
    let span =
        v.signals.iter().filter(|s| s.category == Category::Exposure).flat_map(|s| &s.spans).next().expect("found");
    assert_eq!(
        &body[span.start..span.end],
        "abandon &#97;bility able &#x61;&#x62;out above absent absorb abstract absurd abuse access accident"
    );
}

fn header(len: u64) -> Vec<u8> {
    let mut bytes = b"MODMODEL".to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&[0u8; 32]);
    bytes
}

#[test]
fn a_header_claiming_a_huge_payload_is_a_distinct_error() {
    for claimed in [u64::MAX, u64::MAX - 51, MAX_PAYLOAD_BYTES + 1] {
        let err = Model::from_bytes(&header(claimed)).unwrap_err();
        match &err {
            Error::Model(ModelError::PayloadTooLarge { claimed: c, limit }) => {
                assert_eq!((*c, *limit), (claimed, MAX_PAYLOAD_BYTES));
            }
            other => panic!("{claimed}: {other:?}"),
        }
        assert!(err.to_string().contains(&claimed.to_string()), "{err}");
    }
    // A plausible length that is not there is still "truncated", with right figures.
    let err = Model::from_bytes(&header(100)).unwrap_err();
    assert!(matches!(err, Error::Model(ModelError::Truncated { expected: 152, actual: 52 })), "{err:?}");
}
