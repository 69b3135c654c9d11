//! Every rule of the default pack fires on its `fire` examples, stays quiet
//! on its `pass` examples, and at least one `pass` example contains the
//! rule's own trigger: benign posts that a naive filter would flag.

use moderation_core::rules::{Condition, Example, SignalSpec};
use moderation_core::{Category, Engine, Post, RuleSet, SignalKind};

fn engine() -> Engine {
    Engine::new().expect("default pack compiles")
}

#[test]
fn every_rule_has_fire_and_pass_examples() {
    let pack = RuleSet::default_pack();
    for rule in &pack.rules {
        assert!(!rule.fire.is_empty(), "{} has no fire example", rule.id);
        assert!(!rule.pass.is_empty(), "{} has no pass example", rule.id);
    }
}

#[test]
fn fire_examples_fire_and_pass_examples_do_not() {
    let engine = engine();
    let mut failures = Vec::new();
    for rule in &RuleSet::default_pack().rules {
        for (i, ex) in rule.fire.iter().enumerate() {
            let post = ex.to_post(&format!("{}-fire-{i}", rule.id));
            let v = engine.score_with(&post, &ex.context());
            if !v.has_signal(&rule.id) {
                failures.push(format!("{} did not fire on {:?}", rule.id, post.body));
            }
            // The span of the rule must point at real text of the post.
            // Exposure spans are masked: the secret must not be repeated.
            for s in v.signals.iter().filter(|s| s.id == rule.id).flat_map(|s| &s.spans) {
                let field = field_text(&post, s.field);
                let original = field.get(s.start..s.end).expect("span is a char range of its field");
                if rule.category == Category::Exposure {
                    assert!(s.text.starts_with("[masked") && !s.text.contains(original), "{}: unmasked {s:?}", rule.id);
                } else {
                    assert_eq!(original, s.text, "{}: bad span {s:?}", rule.id);
                }
            }
        }
        for (i, ex) in rule.pass.iter().enumerate() {
            let post = ex.to_post(&format!("{}-pass-{i}", rule.id));
            let v = engine.score_with(&post, &ex.context());
            if v.has_signal(&rule.id) {
                failures.push(format!("{} fired on benign {:?}", rule.id, post.body));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_pass_example_contains_the_rules_trigger() {
    let engine = engine();
    let mut failures = Vec::new();
    for rule in &RuleSet::default_pack().rules {
        let found = rule.pass.iter().any(|ex| {
            let post = ex.to_post("p");
            let exp = engine.explain_rule(&rule.id, &post, &ex.context()).expect("rule is in the pack");
            exp.conditions.iter().any(|(_, hit)| *hit) || has_related_surface(&rule.when, &post, ex)
        });
        if !found {
            failures.push(rule.id.clone());
        }
    }
    assert!(failures.is_empty(), "rules whose pass examples hold none of their triggers: {failures:?}");
}

/// For rules triggered only by extracted signals, the "trigger words" of a
/// benign post are the surface the signal is computed from: a link for link
/// signals, an address for address signals, a display name, a foreign word.
fn has_related_surface(c: &Condition, post: &Post, ex: &Example) -> bool {
    match c {
        Condition::Signal(SignalSpec::Name(k)) | Condition::Signal(SignalSpec::Graded { name: k, .. }) => {
            let text = format!("{} {}", post.title.as_deref().unwrap_or(""), post.body);
            match k {
                SignalKind::LookalikeDomain
                | SignalKind::AnchorMismatch
                | SignalKind::Shortener
                | SignalKind::ExternalLink
                | SignalKind::IdnLink
                | SignalKind::DefangedLink => text.contains("http") || text.contains("href"),
                SignalKind::AuthorImpersonation => post.author.as_ref().is_some_and(|a| a.name.is_some()),
                SignalKind::MixedScript => text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
                SignalKind::MessengerContact => text.contains('@') || text.contains("t.me"),
                _ => false,
            }
        }
        Condition::LinkCount(_) => post.body.contains("http"),
        Condition::Flag(_) => matches!(ex, Example::Body(_)) || ex.context().flags.is_empty(),
        Condition::All(list) | Condition::Any(list) => list.iter().any(|c| has_related_surface(c, post, ex)),
        _ => false,
    }
}

fn field_text(post: &Post, field: moderation_core::Field) -> &str {
    match field {
        moderation_core::Field::Title => post.title.as_deref().unwrap_or(""),
        moderation_core::Field::Body => &post.body,
        moderation_core::Field::AuthorName => post.author.as_ref().and_then(|a| a.name.as_deref()).unwrap_or(""),
    }
}

#[derive(serde::Deserialize)]
struct Benign {
    posts: Vec<String>,
    html: Vec<String>,
}

#[test]
fn ordinary_posts_stay_allowed() {
    let data: Benign = toml::from_str(include_str!("data/benign.toml")).unwrap();
    let engine = engine();
    let mut failures = Vec::new();
    let html = data.html.iter().map(|b| Post { format: moderation_core::Format::Html, ..Post::new("h", b.clone()) });
    for post in data.posts.iter().map(|b| Post::new("b", b.clone())).chain(html) {
        let v = engine.score(&post);
        if v.decision != moderation_core::Decision::Allow {
            let ids: Vec<_> = v.signals.iter().map(|s| s.id.as_str()).collect();
            failures.push(format!("{:?} → {:?} {ids:?}", post.body, v.decision));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The languages the pack covers: English and Japanese in depth, the top
/// phrasings of each mechanic in ten more. An example without `lang` is English.
const LANGUAGES: [&str; 12] = ["en", "ja", "ko", "zh", "es", "pt", "ru", "tr", "vi", "id", "de", "fr"];

/// Each scam or spam mechanic and the rules that catch it.
const MECHANICS: &[(&str, &[&str])] = &[
    ("doubling", &["scam.giveaway.doubling"]),
    ("fake support", &["scam.fake-support.messenger", "scam.fake-support.phone", "scam.fake-support.dm-offer"]),
    ("seed-phrase phishing", &["scam.phishing.seed-phrase"]),
    ("drainer links", &["scam.drainer.free-hosting", "scam.link.lookalike-lure-host", "scam.airdrop.claim-link"]),
    ("recovery services", &["scam.recovery-service"]),
    ("mentors and investment platforms", &["scam.investment.mentor"]),
    ("task and job scams", &["scam.task-job"]),
    ("bot contracts", &["scam.bot-contract", "scam.trading-bot"]),
    ("pump and signal groups", &["scam.pump-signals"]),
    ("listing votes", &["scam.listing-vote"]),
    ("self-promotion", &["spam.self-promotion"]),
    ("SEO and essay services", &["spam.seo-essay"]),
    ("casino", &["spam.casino"]),
    ("work from home", &["spam.work-from-home"]),
    ("counterfeit and replica goods", &["spam.replica-pharma"]),
];

fn example_lang(ex: &Example) -> &str {
    match ex {
        Example::Body(_) => "en",
        Example::Post(p) => p.lang.as_deref().unwrap_or("en"),
    }
}

#[test]
fn every_mechanic_fires_in_every_language_of_the_pack() {
    let pack = RuleSet::default_pack();
    let mut gaps = Vec::new();
    for (mechanic, ids) in MECHANICS {
        let rules: Vec<_> = pack.rules.iter().filter(|r| ids.contains(&r.id.as_str())).collect();
        assert_eq!(rules.len(), ids.len(), "{mechanic}: a rule of {ids:?} is missing from the pack");
        let count = |lang: &str| rules.iter().flat_map(|r| &r.fire).filter(|ex| example_lang(ex) == lang).count();
        for lang in LANGUAGES {
            let need = if lang == "en" { 5 } else { 1 };
            if count(lang) < need {
                gaps.push(format!("{mechanic}: {} {lang} fire examples, need {need}", count(lang)));
            }
        }
    }
    // Misinformation is English and Japanese only.
    let misinfo = pack.rules.iter().find(|r| r.id == "misinfo.fake-official-announcement").unwrap();
    let n = |lang: &str| misinfo.fire.iter().filter(|ex| example_lang(ex) == lang).count();
    if n("en") < 5 || n("ja") < 2 {
        gaps.push(format!("misinformation: {} en, {} ja fire examples", n("en"), n("ja")));
    }
    assert!(gaps.is_empty(), "{}", gaps.join("\n"));
}

/// Every regex of the pack, with where it is.
fn patterns(c: &Condition, out: &mut Vec<String>) {
    match c {
        Condition::Regex(r) => out.push(r.pattern.clone()),
        Condition::All(list) | Condition::Any(list) => list.iter().for_each(|c| patterns(c, out)),
        Condition::Not(inner) | Condition::Unquoted(inner) => patterns(inner, out),
        _ => {}
    }
}

#[test]
fn no_pattern_of_the_pack_keeps_a_unicode_word_boundary() {
    // One pattern with a Unicode `\b` (any non-ASCII character in it keeps
    // `\b` Unicode) drags its view's whole RegexSet into the PikeVM on text
    // with non-ASCII bytes: a `×` in the doubling rule once made scoring a
    // 1 KB post five times as expensive. Write such characters as `\x{..}`.
    let pack = RuleSet::default_pack();
    let mut all = Vec::new();
    pack.rules.iter().for_each(|r| patterns(&r.when, &mut all));
    pack.conditions.values().for_each(|c| patterns(c, &mut all));
    assert!(all.len() >= 15, "{} patterns", all.len());
    let unicode_boundary: Vec<_> = all
        .iter()
        .filter(|p| {
            moderation_core::rules::compiled_pattern(p)
                .replace("(?-u:\\b)", "")
                .replace("(?-u:\\B)", "")
                .contains("\\b")
        })
        .collect();
    assert!(unicode_boundary.is_empty(), "patterns whose \\b stays Unicode: {unicode_boundary:?}");
}
