//! Reports that quote a scam (`tests/data/quoted_reports.toml`): with
//! `[settings] quoted_reports = true`, an established member's report is
//! capped at review, never allowed; lures dressed up as reports are not
//! capped. The setting is off by default.

use moderation_core::{Author, Decision, Engine, Format, Post, RuleSet};
use serde::Deserialize;

#[derive(Deserialize)]
struct Table {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    capped: bool,
    #[serde(default)]
    word: String,
    body: String,
    #[serde(default)]
    format: Format,
    #[serde(default)]
    new_account: bool,
}

/// A member of a year's standing: only their reports are capped.
fn member() -> Author {
    Author {
        id: "u-member".into(),
        account_age_days: Some(400),
        post_count: Some(120),
        trust_level: Some(2),
        ..Author::default()
    }
}

fn new_account() -> Author {
    Author {
        id: "u-new".into(),
        account_age_days: Some(2),
        post_count: Some(1),
        trust_level: Some(0),
        ..Author::default()
    }
}

fn by_member(id: &str, body: &str) -> Post {
    Post { author: Some(member()), ..Post::new(id, body) }
}

/// The setting turned on (it is off by default).
fn on() -> RuleSet {
    RuleSet::from_toml("on.toml", "[settings]\nquoted_reports = true\n").unwrap()
}

fn engine_on() -> Engine {
    Engine::builder().default_model().rules(on()).build().unwrap()
}

#[test]
fn quoted_reports_go_to_review_and_lures_do_not() {
    let table: Table = toml::from_str(include_str!("data/quoted_reports.toml")).expect("table parses");
    // The default engine is the one without the cap.
    let (on, off) = (engine_on(), Engine::with_default_model().unwrap());
    let mut failures = Vec::new();
    for case in &table.case {
        let author = if case.new_account { new_account() } else { member() };
        let post =
            Post { format: case.format, author: Some(author), ..Post::new(case.name.clone(), case.body.clone()) };
        let (with, without) = (on.score(&post), off.score(&post));
        let report = with.signals.iter().find(|s| s.id == "context.quoted-report");
        if case.capped {
            if without.decision <= Decision::Review {
                failures
                    .push(format!("{}: {:?} without the cap, so the case tests nothing", case.name, without.decision));
            }
            if with.decision != Decision::Review {
                failures.push(format!("{}: {:?}, expected review", case.name, with.decision));
            }
            match report.and_then(|s| s.spans.first()) {
                Some(span) if span.text == case.word && post.body[span.start..span.end] == case.word => {}
                other => failures.push(format!("{}: report span {:?}, expected {:?}", case.name, other, case.word)),
            }
        } else {
            if with.decision <= Decision::Review || report.is_some() {
                failures
                    .push(format!("{}: {:?} {:?}, expected held and not a report", case.name, with.decision, report));
            }
            if with.decision != without.decision {
                failures
                    .push(format!("{}: {:?} with the cap, {:?} without", case.name, with.decision, without.decision));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_report_keeps_its_scores_and_reasons() {
    let body = "Reminder that no legitimate giveaway asks you to send crypto first. 'Send 0.1 get 0.2 back' is a scam, every single time.";
    let post = by_member("r", body);
    let on = engine_on().score(&post);
    let off = Engine::with_default_model().unwrap().score(&post);
    // The cap changes the decision only: the scores and every other signal stay.
    assert_eq!(on.scores, off.scores);
    let ids = |v: &moderation_core::Verdict| {
        let mut ids: Vec<String> =
            v.signals.iter().map(|s| s.id.clone()).filter(|id| id != "context.quoted-report").collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&on), ids(&off));
    assert!(on.has_signal("scam.giveaway.doubling"));
    let report = on.signals.iter().find(|s| s.id == "context.quoted-report").unwrap();
    assert_eq!(report.weight, 0.0);
    assert!(report.description.contains("scam capped at review"), "{}", report.description);
    assert_eq!(report.spans[0].text, "is a scam");
    // The quotation by position, not by its text.
    assert_eq!(&body[report.spans[1].start..report.spans[1].end], "'Send 0.1 get 0.2 back'");
    assert_eq!(report.spans[1].text, "[quotation: 23 characters]");
}

#[test]
fn a_quoted_secret_never_shows_in_the_reports_spans() {
    // One seed phrase the detector recognises (12 words, valid checksum) and
    // one it does not (9 words).
    let lure = "\"Elon giveaway! Send 0.1 ETH to 0x52908400098527886E0F7030069857D2E4169EE7 and get 0.2 ETH back.\"";
    let recognised = format!(
        "someone replied {lure} and \"verify: jungle visual sure load desert stay fortune hover pudding maple cannon typical\" This is fraud. Mods please remove"
    );
    let split = format!(
        "someone replied {lure} and asked \"jungle visual sure load desert stay fortune hover pudding\" This is fraud. Mods please remove"
    );
    let engine = engine_on();
    for (body, exposure) in [(recognised, true), (split, false)] {
        let v = engine.score(&by_member("s", &body));
        assert_eq!(v.has_signal("exposure.seed-phrase"), exposure, "{body}");
        let report = v.signals.iter().find(|s| s.id == "context.quoted-report").expect("a report");
        assert_eq!(report.spans[0].text, "is fraud");
        for s in &v.signals {
            for span in &s.spans {
                assert!(!span.text.contains("jungle") && !span.text.contains("pudding"), "{}: {:?}", s.id, span.text);
            }
        }
    }
}
