//! What a flagged verdict shows moderators: the classifier's reasons as
//! whole words of the post, and the reasons for flagging first.

use std::sync::{Arc, OnceLock};

use moderation_core::{Decision, Engine, Model, Post, Verdict};

/// The engine with the shipped model stacked.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let model = Model::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model")).unwrap();
        Engine::builder().model(Arc::new(model)).build().unwrap()
    })
}

/// The quoted words after "strongest words" in a description.
fn named(description: &str) -> Vec<String> {
    let Some(at) = description.find("; strongest words ") else { return Vec::new() };
    description[at..].split('"').skip(1).step_by(2).map(str::to_string).collect()
}

/// Whether `text[start..end]` starts and ends between words.
fn at_word_edges(text: &str, start: usize, end: usize) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    !text[..start].chars().next_back().is_some_and(word) && !text[end..].chars().next().is_some_and(word)
}

/// Whether `piece` occurs in `text` as whole words.
fn occurs_whole(text: &str, piece: &str) -> bool {
    text.match_indices(piece).any(|(i, _)| at_word_edges(text, i, i + piece.len()))
}

const POSTS: [&str; 3] = [
    "Official support here: DM me on Telegram @binance_help_desk to recover your funds",
    "Lost your crypto? Our wallet recovery experts get your funds back fast, message the recovery agent on WhatsApp",
    "Claim the free airdrop now!!! Connect your wallet at the airdrop page to receive 500 tokens",
];

fn flagged(body: &str) -> (Post, Verdict) {
    let post = Post::new("x", body);
    let v = engine().score(&post);
    assert!(v.decision > Decision::Allow, "{body}: {v:?}");
    (post, v)
}

#[test]
fn a_flagged_post_s_classifier_names_whole_words_of_the_post() {
    let mut words = Vec::new();
    for body in POSTS {
        let (post, v) = flagged(body);
        let mut explained = 0;
        for s in v.signals.iter().filter(|s| s.id.starts_with("classifier.") && s.weight > 0.0) {
            let names = named(&s.description);
            assert!(!names.is_empty() && names.len() <= 5, "{}: {}", s.id, s.description);
            explained += 1;
            for (i, n) in names.iter().enumerate() {
                assert!(occurs_whole(&post.body, n), "{n:?} is not whole words of {body:?}: {}", s.description);
                assert!(!names[..i].contains(n), "{n:?} named twice: {}", s.description);
            }
            // The words are also the signal's spans, in the same order.
            let spans: Vec<&str> = s.spans.iter().map(|sp| sp.text.as_str()).collect();
            assert_eq!(spans, names.iter().map(String::as_str).collect::<Vec<_>>(), "{}", s.description);
            for sp in &s.spans {
                assert_eq!(&post.body[sp.start..sp.end], sp.text);
                assert!(at_word_edges(&post.body, sp.start, sp.end), "{sp:?}");
            }
            words.extend(names);
        }
        assert!(explained > 0, "{body}: no classifier signal pushed it up: {v:?}");
    }
    // Content words of the posts, not pieces of them.
    assert!(
        words.iter().any(|w| w
            .split_whitespace()
            .any(|w| ["recovery", "airdrop", "recover", "telegram"].contains(&w.to_lowercase().as_str()))),
        "{words:?}"
    );
}

#[test]
fn a_flagged_verdict_lists_its_reasons_for_flagging_first() {
    for body in POSTS {
        let (_, v) = flagged(body);
        assert!(v.signals[0].weight > 0.0, "{:?}", v.signals);
        // Every signal that pushed the post up comes before any that held it back.
        let first_against = v.signals.iter().position(|s| s.weight <= 0.0).unwrap_or(v.signals.len());
        assert!(v.signals[first_against..].iter().all(|s| s.weight <= 0.0), "{:?}", v.signals);
        assert!(v.signals[..first_against].windows(2).all(|w| w[0].weight >= w[1].weight), "{:?}", v.signals);
    }
}
