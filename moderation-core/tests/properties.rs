//! Property tests (fixed seeds): normalization and scoring never panic on
//! any input, and every span is a char-boundary range of its field whose
//! `text` is the field's slice there (or a mask, for exposure signals).

use moderation_core::{Author, Category, Engine, Field, Format, Post, View, normalized_view, words_view};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config(cases: u32) -> Config {
    Config { cases, rng_seed: RngSeed::Fixed(7), failure_persistence: None, ..Config::default() }
}

/// Strings biased towards what breaks text pipelines: markup, entities,
/// combining marks, NFKC expanders, invisible characters, CJK, emoji.
fn nasty() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        any::<String>(),
        Just("<a href=\"https://binance-login.xyz\">binance.com</a>".to_string()),
        Just("&#98;&amp;&#x1F600;&#xD800;&#99999999;&".to_string()),
        Just("\u{FDFA}\u{FB2C}\u{3300}".to_string()),
        Just("\u{200B}\u{202E}\u{FEFF}\u{FFFD}".to_string()),
        Just("e\u{301}\u{308}ｶﾞﾞ".to_string()),
        Just("シードフレーズ　秘密鍵 ".to_string()),
        Just("abandon ".repeat(13)),
        Just("b i n a n c e f.r.e.e".to_string()),
        Just("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".to_string()),
        Just("[x](https://a.b) <script>x</script> hxxp://evil[.]com".to_string()),
        "[a-zA-Z0-9 .@:/_-]{0,40}",
    ];
    proptest::collection::vec(atoms, 0..8).prop_map(|v| v.concat())
}

fn field(post: &Post, f: Field) -> &str {
    match f {
        Field::Title => post.title.as_deref().unwrap_or(""),
        Field::Body => &post.body,
        Field::AuthorName => post.author.as_ref().and_then(|a| a.name.as_deref()).unwrap_or(""),
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn normalization_maps_every_byte_inside_the_original(s in nasty()) {
        let raw = View::identity(&s);
        let words = words_view(&raw);
        let norm = normalized_view(&words);
        for view in [&words, &norm.text] {
            let text = view.as_str();
            for (i, c) in text.char_indices() {
                let r = view.origin(i..i + c.len_utf8());
                prop_assert!(s.get(r.clone()).is_some(), "bad origin {r:?} in {s:?}");
            }
        }
    }

    #[test]
    fn scoring_never_panics_and_spans_are_exact(
        body in nasty(), title in proptest::option::of(nasty()), name in proptest::option::of(nasty()),
        format in prop_oneof![Just(Format::Text), Just(Format::Markdown), Just(Format::Html)],
    ) {
        let engine = engine();
        let post = Post {
            title,
            format,
            author: Some(Author { id: "a".into(), name, ..Author::default() }),
            ..Post::new("p", body)
        };
        let v = engine.score(&post);
        for c in Category::ALL {
            prop_assert!((0.0..=1.0).contains(&v.scores.get(c)));
        }
        prop_assert!(v.has_signal("classifier.scam"));
        // The n-grams an explanation would name are pieces of the text.
        for (gram, weight) in model().top_grams(&[post.body.as_str()], Category::Scam, 5) {
            prop_assert!(post.body.contains(gram) && weight > 0.0, "{gram:?}");
        }
        for s in &v.signals {
            for span in &s.spans {
                let text = field(&post, span.field);
                let slice = text.get(span.start..span.end);
                prop_assert!(slice.is_some(), "{}: span {span:?} is not a char range of its field", s.id);
                if s.category != Category::Exposure {
                    prop_assert_eq!(slice.unwrap(), span.text.as_str());
                } else {
                    prop_assert!(span.text.starts_with("[masked"));
                }
            }
        }
    }

    #[test]
    fn json_with_lone_surrogates_is_scored_not_refused(prefix in "[a-z ]{0,20}", unit in 0xD800u32..0xE000) {
        let json = format!(r#"{{"id":"1","body":"{prefix}\u{unit:04x} free"}}"#);
        let post = Post::from_json(&json).expect("lossy decoding never refuses");
        prop_assert!(post.lossy_utf16);
        let v = engine().score(&post);
        prop_assert!(v.has_signal("input.lossy-utf16"));
    }
}

/// The shipped model, so the properties cover the classifier path too.
fn model() -> std::sync::Arc<moderation_core::Model> {
    static MODEL: std::sync::OnceLock<std::sync::Arc<moderation_core::Model>> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model");
            std::sync::Arc::new(moderation_core::Model::load(path).unwrap())
        })
        .clone()
}

fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| Engine::builder().model(model()).build().unwrap())
}

#[test]
fn huge_inputs_are_bounded() {
    let e = engine();
    for body in [
        "\u{FDFA}".repeat(200_000),
        "abandon ".repeat(100_000),
        "https://a.example/ ".repeat(20_000),
        "<a href=x>".repeat(50_000),
        "a".repeat(1_000_000),
    ] {
        let v = e.score(&Post::new("big", body));
        assert!(v.has_signal("input.truncated"));
    }
}
