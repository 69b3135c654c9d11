//! What an embedder relies on: the shipped model in the crate, the JSON
//! names of decisions and categories, and a verdict as JSON.

use moderation_core::{Category, Decision, Engine, Post, Verdict};

fn posts() -> Vec<Post> {
    let mut posts = vec![
        Post::new("scam", "Official Binance giveaway! Send 0.1 BTC and get 0.2 BTC back, visit b1nance-bonus.com"),
        Post::new("support", "Problems withdrawing? DM me on Telegram @binance_help_desk, I am official support"),
        Post::new("ja", "出金できない方はテレグラムでサポートに連絡してください @support_jp_desk"),
        Post::new("benign", "Is this DM from support real? Someone said DM me on Telegram"),
        Post::new("plain", "How long does a BTC withdrawal usually take to confirm?"),
    ];
    posts.push(
        Post::from_json(
            r#"{"id": "author", "body": "Send your 12 words to verify your wallet, DM me",
                "author": {"id": "u9", "name": "Binance Support", "account_age_days": 1}}"#,
        )
        .unwrap(),
    );
    posts
}

/// Feature `default-model` (on by default).
#[cfg(feature = "default-model")]
mod shipped {
    use std::sync::Arc;

    use moderation_core::{Category, Decision, Engine, Model};

    use super::posts;

    const MODEL_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model");

    #[test]
    fn the_shipped_model_is_the_file_in_models() {
        let file = std::fs::read(MODEL_FILE).unwrap();
        assert_eq!(moderation_core::model::SHIPPED_MODEL, &file[..]);
        let shipped = Model::shipped().unwrap();
        assert_eq!(shipped.version(), Model::load(MODEL_FILE).unwrap().version());
        assert_eq!(shipped.to_bytes(), file);
    }

    #[test]
    fn an_engine_with_the_default_model_scores_as_one_with_the_loaded_file() {
        let loaded = Engine::builder().model(Arc::new(Model::load(MODEL_FILE).unwrap())).build().unwrap();
        let shipped = Engine::with_default_model().unwrap();
        let built = Engine::builder().default_model().build().unwrap();
        let rules_only = Engine::new().unwrap();
        for post in posts() {
            let expected = loaded.score(&post);
            assert_eq!(shipped.score(&post), expected, "{}", post.id);
            assert_eq!(built.score(&post), expected, "{}", post.id);
            assert!(expected.versions.model.as_deref().is_some_and(|v| v.starts_with("forum-default@")));
            assert_eq!(rules_only.score(&post).versions.model, None);
        }
        let scam = shipped.score(&posts()[0]);
        assert!(scam.decision >= Decision::Hold, "{scam:?}");
        assert_eq!(scam.top_category(), Category::Scam);
        assert!(scam.has_signal("classifier.scam"), "{scam:?}");
    }

    #[test]
    fn the_last_model_choice_of_a_builder_wins() {
        let file = Arc::new(Model::load(MODEL_FILE).unwrap());
        let given = Engine::builder().default_model().model(file.clone()).build().unwrap();
        assert!(std::ptr::eq(given.model().unwrap(), &*file), "model() after default_model() wins");
        let shipped = Engine::builder().model(file.clone()).default_model().build().unwrap();
        assert!(!std::ptr::eq(shipped.model().unwrap(), &*file), "default_model() after model() wins");
        assert_eq!(shipped.model().unwrap().version(), file.version());
    }
}

#[test]
fn decisions_and_categories_display_as_their_json_names() {
    for d in [Decision::Allow, Decision::Review, Decision::Hold, Decision::Reject] {
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(format!("\"{d}\""), json);
        assert_eq!(d.to_string(), d.as_str());
    }
    for c in Category::ALL {
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(format!("\"{c}\""), json);
        assert_eq!(c.to_string(), c.as_str());
    }
    // Width and alignment apply, for tables.
    assert_eq!(format!("{:>8}|{:<6}|", Decision::Hold, Category::Scam), "    hold|scam  |");
}

#[test]
fn a_verdict_to_json_is_its_serde_form_and_reads_back() {
    let engine = Engine::new().unwrap();
    for post in posts() {
        let verdict = engine.score(&post);
        let json = verdict.to_json();
        assert!(!json.contains('\n'));
        assert_eq!(json, serde_json::to_string(&verdict).unwrap());
        let back: Verdict = serde_json::from_str(&json).unwrap();
        assert_eq!(back, verdict);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["decision"], verdict.decision.to_string());
        assert_eq!(value["id"], post.id);
    }
}
