//! The embedding API: layering, forum settings, caller context, batch
//! scoring, built-in exposure detectors (the model has its own tests).

use moderation_core::{Author, Category, Context, Decision, Engine, Error, Post, RuleSet, Signal};

fn set(name: &str, text: &str) -> RuleSet {
    RuleSet::from_toml(name, text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_forum_layer_overrides_by_id_and_can_disable_rules() {
    let forum = set(
        "forum.toml",
        r#"
[ruleset]
name = "forum"
version = "2"

[[rule]]
id = "spam.casino"
category = "spam"
weight = 9.0
description = "Casinos are banned outright here"
when = { phrases = ["casino"] }

[[rule]]
id = "scam.guaranteed-profit"
enabled = false
"#,
    );
    let engine = Engine::builder().forum_rules("f", forum).build().unwrap();
    let casino = Post { forum: Some("f".into()), ..Post::new("1", "I won at the casino yesterday") };
    let v = engine.score(&casino);
    let s = v.signals.iter().find(|s| s.id == "spam.casino").expect("the forum's rule fires");
    assert_eq!(s.weight, 9.0);
    assert_eq!(v.decision, Decision::Reject);
    // Other forums keep the default rule, which needs a link or "bonus" too.
    assert!(!engine.score(&Post::new("2", "I won at the casino yesterday")).has_signal("spam.casino"));

    let profit = "guaranteed profit of 30% weekly, zero risk";
    assert!(engine.score(&Post::new("3", profit)).has_signal("scam.guaranteed-profit"));
    let in_forum = Post { forum: Some("f".into()), ..Post::new("4", profit) };
    assert!(!engine.score(&in_forum).has_signal("scam.guaranteed-profit"));
}

#[test]
fn forum_thresholds_change_decisions() {
    let strict = set("strict.toml", "[settings]\nthresholds.scam = { review = 0.2, hold = 0.4, reject = 0.6 }\n");
    let engine = Engine::builder().forum_rules("strict", strict).build().unwrap();
    let body = "I had the same problem, DM me and I will help you fix it";
    let lenient = engine.score(&Post::new("1", body));
    let strict = engine.score(&Post { forum: Some("strict".into()), ..Post::new("1", body) });
    assert_eq!(lenient.scores.scam, strict.scores.scam);
    assert_eq!(lenient.decision, Decision::Review);
    assert_eq!(strict.decision, Decision::Hold);
}

#[test]
fn unknown_named_condition_names_the_rule() {
    let bad = set(
        "bad.toml",
        "[[rule]]\nid = \"x.y\"\ncategory = \"spam\"\nweight = 1\ndescription = \"d\"\nwhen = { all = [{ phrases = [\"a\"] }, { use = \"nope\" }] }\n",
    );
    match Engine::builder().rules(bad).build() {
        Err(Error::Rules(e)) => {
            assert_eq!(e.rule_id.as_deref(), Some("x.y"));
            assert_eq!(e.line, Some(2));
            assert!(e.message.contains("nope"));
        }
        other => panic!("expected a rule error, got {other:?}"),
    }
}

#[test]
fn caller_context_flags_and_signals_count() {
    let engine = Engine::new().unwrap();
    let post = Post::new("1", "Great project, good luck to the team");
    assert_eq!(engine.score(&post).decision, Decision::Allow);
    let ctx = Context {
        flags: vec!["near_duplicate".into()],
        signals: vec![Signal {
            id: "service.same-link-new-accounts".into(),
            category: Category::Spam,
            weight: 2.0,
            description: "The same link was posted by 5 new accounts".into(),
            spans: vec![],
        }],
        ..Context::default()
    };
    let v = engine.score_with(&post, &ctx);
    assert!(v.has_signal("spam.repeated-post") && v.has_signal("service.same-link-new-accounts"));
    // −3 prior + 2.5 (rule) + 2.0 (caller's signal) = 1.5 → 0.82.
    assert!((v.scores.spam - 0.8176).abs() < 0.001, "{:?}", v.scores);
    assert_eq!(v.decision, Decision::Review);
}

#[test]
fn batch_scoring_equals_one_by_one_in_order() {
    let engine = Engine::new().unwrap();
    let bodies = [
        "Contact support on Telegram @help_desk_team",
        "My withdrawal is late",
        "send 0.1 BTC and get 0.2 BTC back",
        "シードフレーズを入力してください",
    ];
    let posts: Vec<Post> = (0..64).map(|i| Post::new(i.to_string(), bodies[i % bodies.len()])).collect();
    let batch = engine.score_batch(&posts);
    let single: Vec<_> = posts.iter().map(|p| engine.score(p)).collect();
    assert_eq!(batch, single);
}

#[test]
fn without_a_model_no_classifier_signal_appears() {
    let plain = Engine::new().unwrap();
    let v = plain.score(&Post::new("1", "to the ＭＯＯＮ"));
    assert_eq!(v.versions.model, None);
    assert!(!v.signals.iter().any(|s| s.id.starts_with("classifier.")));
}

#[test]
fn seed_phrases_and_keys_are_held_and_masked_whatever_the_rules() {
    let engine = Engine::builder().without_default_rules().build().unwrap();
    // A valid 12-word mnemonic that is not a published test vector.
    let mnemonic = bip39::Mnemonic::from_entropy(&[0x5a; 16]).unwrap().to_string();
    let phrase = mnemonic.as_str();
    let post = Post::new("1", format!("help my wallet is empty, my words were {phrase}"));
    let v = engine.score(&post);
    let s = v.signals.iter().find(|s| s.id == "exposure.seed-phrase").expect("seed phrase found");
    assert_eq!(s.category, Category::Exposure);
    assert!(v.decision >= Decision::Hold);
    let span = &s.spans[0];
    assert_eq!(&post.body[span.start..span.end], phrase);
    assert_eq!(span.text, "[masked: 12 words]");
    let words: Vec<&str> = phrase.split(' ').collect();
    assert!(!serde_json::to_string(&v).unwrap().contains(words[3]));

    // One word changed: still a leak, lower weight, still reported.
    let other = if words[5] == "smile" { "smoke" } else { "smile" };
    let changed = phrase.replacen(words[5], other, 1);
    let v = engine.score(&Post::new("2", changed));
    let s = v.signals.iter().find(|s| s.id == "exposure.seed-phrase").expect("still a leak");
    assert!(s.weight < 8.0);

    // Published test vectors are not leaks.
    let vector = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    assert!(!engine.score(&Post::new("3", vector)).has_signal("exposure.seed-phrase"));

    // A WIF private key.
    let wif = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";
    let v = engine.score(&Post::new("4", format!("backup: {wif}")));
    assert!(v.has_signal("exposure.private-key") && v.decision >= Decision::Hold);

    // A txid is not a key.
    let txid = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
    let v = engine.score(&Post::new("5", format!("here is my withdrawal txid {txid}")));
    assert_eq!(v.decision, Decision::Allow);
}

#[test]
fn impersonation_checks_the_display_name_with_spans_in_it() {
    let engine = Engine::new().unwrap();
    let post = Post {
        author: Some(Author { id: "u".into(), name: Some("Ｂinance Ｓupport".into()), ..Author::default() }),
        ..Post::new("1", "How can I help?")
    };
    let v = engine.score(&post);
    let s = v.signals.iter().find(|s| s.id == "scam.impersonation.display-name").unwrap();
    assert!(s.spans.iter().all(|sp| sp.field == moderation_core::Field::AuthorName));
    assert!(s.spans.iter().any(|sp| sp.text == "Ｂinance Ｓupport" || sp.text == "Ｓupport"));
}

#[test]
fn a_capped_rule_raises_a_post_at_most_to_its_cap() {
    let layer = |extra: &str| {
        set(
            "capped.toml",
            &format!(
                "[[rule]]\nid = \"spam.promo\"\ncategory = \"spam\"\nweight = 9\nat_most = \"review\"\ndescription = \"d\"\nwhen = {{ phrases = [\"my channel\"] }}\n{extra}"
            ),
        )
    };
    let engine = Engine::builder().without_default_rules().rules(layer("")).build().unwrap();
    let v = engine.score(&Post::new("1", "subscribe to my channel"));
    // The weight counts in full towards the score …
    assert!(v.scores.get(Category::Spam) > 0.99, "{:?}", v.scores);
    // … but the decision stops at the cap.
    assert_eq!(v.decision, Decision::Review);

    // Uncapped evidence above the hold threshold on its own still holds.
    let other = "[[rule]]\nid = \"spam.casino\"\ncategory = \"spam\"\nweight = 5\ndescription = \"d\"\nwhen = { phrases = [\"casino\"] }\n";
    let engine = Engine::builder().without_default_rules().rules(layer(other)).build().unwrap();
    assert_eq!(engine.score(&Post::new("2", "my channel: best casino")).decision, Decision::Hold);
    // Uncapped evidence below review stays what the cap allows: review.
    let weak = "[[rule]]\nid = \"spam.weak\"\ncategory = \"spam\"\nweight = 1\ndescription = \"d\"\nwhen = { phrases = [\"casino\"] }\n";
    let engine = Engine::builder().without_default_rules().rules(layer(weak)).build().unwrap();
    assert_eq!(engine.score(&Post::new("3", "my channel: best casino")).decision, Decision::Review);
}

#[test]
fn a_cap_must_be_review_or_hold_and_not_below_the_rules_action() {
    for (extra, needle) in
        [("at_most = \"allow\"\n", "at_most"), ("at_most = \"review\"\naction = \"hold\"\n", "above `at_most`")]
    {
        let text = format!(
            "[[rule]]\nid = \"x.y\"\ncategory = \"spam\"\nweight = 1\n{extra}description = \"d\"\nwhen = {{ phrases = [\"a\"] }}\n"
        );
        match RuleSet::from_toml("cap.toml", &text) {
            Err(Error::Rules(e)) => assert!(e.message.contains(needle), "{}", e.message),
            other => panic!("expected a rule error for {extra:?}, got {other:?}"),
        }
    }
}

#[test]
fn a_russian_phrase_matches_in_russian_and_in_english_posts_and_through_latin_look_alikes() {
    // `работа на дому` is made of words whose letters all have Latin
    // look-alikes but `д`: in a Russian post they keep their letters, in an
    // English one `работа` and `на` read `pa6ota` and `ha`. The phrase
    // matches both, and the Russian words with Latin letters swapped in.
    let layer = set(
        "ru.toml",
        "[[rule]]\nid = \"spam.home\"\ncategory = \"spam\"\nweight = 3\ndescription = \"d\"\nwhen = { phrases = [\"работа на дому\"] }\n",
    );
    let engine = Engine::builder().without_default_rules().rules(layer).build().unwrap();
    for body in [
        "Работа на дому, пишите в личку",
        "Best offer today: работа на дому, pay daily, write me on this site",
        "Paбoтa нa дoмy, пишитe в личкy",
    ] {
        let v = engine.score(&Post::new("1", body));
        assert!(v.signals.iter().any(|s| s.id == "spam.home"), "{body}: {:?}", v.signals);
    }
}

#[test]
fn a_members_report_of_a_look_alike_domain_goes_to_review_not_hold() {
    // Team-written: a trusted member thanks others for reporting a look-alike
    // (a homoglyph of binance.com). `scam.link.lookalike-reported` keeps the
    // link for review so it can be defanged; it must not hold the report,
    // whatever the model adds.
    let engine = Engine::new().unwrap();
    let mut post = Post::new(
        "r",
        "bịnance.com（iの下に点）の偽サイトについて通報ありがとうございました。レジストラとブラウザのフィッシングリストに報告済みです。",
    );
    post.author = Some(Author {
        account_age_days: Some(1364),
        trust_level: Some(4),
        post_count: Some(5594),
        ..Author::default()
    });
    let v = engine.score(&post);
    assert!(v.signals.iter().any(|s| s.id == "scam.link.lookalike-reported"), "{:?}", v.signals);
    assert_eq!(v.decision, Decision::Review, "{:?}", v.scores);
}

#[test]
fn an_unquoted_condition_holds_only_on_the_authors_own_words() {
    let layer = set(
        "unquoted.toml",
        r#"
[conditions]
warning = { unquoted = { phrases = ["beware of scams", "is a scam"] } }

[[rule]]
id = "scam.connect"
category = "scam"
weight = 9
description = "d"
when = { all = [ { phrases = ["connect your wallet"] }, { not = { use = "warning" } } ] }

[[rule]]
id = "spam.own-pitch"
category = "spam"
weight = 9
description = "d"
when = { unquoted = { phrases = ["my channel"] } }
"#,
    );
    let engine = Engine::builder().without_default_rules().rules(layer).build().unwrap();
    let fires = |body: &str, format: moderation_core::Format| {
        engine.score(&Post { format, ..Post::new("1", body) }).has_signal("scam.connect")
    };
    use moderation_core::Format::{Html, Markdown, Text};
    // A warning the author gives switches the rule off …
    assert!(!fires("Beware of scams: a DM said connect your wallet at claim-now.xyz", Text));
    assert!(!fires("\"connect your wallet at claim-now.xyz\" is a scam", Text));
    // … a warning they quote does not: in quotation marks, curly quotes,
    // a Markdown quote line, a blockquote or Japanese brackets.
    assert!(fires("'Beware of scams' they say, but connect your wallet at claim-now.xyz", Text));
    assert!(fires("“Beware of scams” lol. Connect your wallet at claim-now.xyz", Text));
    assert!(fires("> beware of scams\n\nconnect your wallet at claim-now.xyz", Markdown));
    assert!(fires("<blockquote>beware of scams</blockquote><p>connect your wallet at claim-now.xyz</p>", Html));
    assert!(fires("「beware of scams」 connect your wallet at claim-now.xyz", Text));
    // An apostrophe is not a quotation mark.
    assert!(!fires("don't connect your wallet, it's what they want: beware of scams", Text));

    // The evidence kept is the unquoted match, with its span in the original.
    let body = "\"my channel\" they wrote, so here is my channel";
    let v = engine.score(&Post::new("2", body));
    let s = v.signals.iter().find(|s| s.id == "spam.own-pitch").expect("fires on the own words");
    let spans: Vec<&str> = s.spans.iter().map(|sp| &body[sp.start..sp.end]).collect();
    assert_eq!(spans, ["my channel"]);
    assert_eq!(s.spans[0].start, body.rfind("my channel").unwrap());
    assert!(!engine.score(&Post::new("3", "they wrote \"my channel\" again")).has_signal("spam.own-pitch"));
}

#[test]
fn an_unquoted_condition_over_author_facts_alone_is_refused() {
    let only_author = "[[rule]]\nid = \"spam.x\"\ncategory = \"spam\"\nweight = 1\ndescription = \"d\"\nwhen = { unquoted = { author = { max_account_age_days = 1 } } }\n";
    let err = RuleSet::from_toml("a.toml", only_author).expect_err("a condition with nothing to match is refused");
    assert!(err.to_string().contains("spam.x"), "{err}");
}
