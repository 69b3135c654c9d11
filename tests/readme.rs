//! The README's examples are true: the post and verdict of the JSON contract
//! section, and the rule file of the rule format section.
//!
//! A code block is tested when the line before its opening fence is an HTML
//! comment `<!-- readme-test: KIND -->`.

use moderation_core::{Engine, Post, RuleSet, Verdict};

fn blocks(kind: &str) -> Vec<String> {
    let readme = include_str!("../README.md");
    let marker = format!("<!-- readme-test: {kind} -->");
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() != marker {
            continue;
        }
        let fence = lines.next().expect("a fence follows the marker");
        assert!(fence.starts_with("```"), "marker {kind} is not followed by a code block");
        let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        out.push(body.join("\n"));
    }
    assert!(!out.is_empty(), "README has no `{kind}` block");
    out
}

#[test]
fn contract_example_verdict_is_what_the_engine_says() {
    let engine = Engine::new().unwrap();
    let post = Post::from_json(&blocks("post")[0]).expect("the README post parses");
    let documented: Verdict = serde_json::from_str(&blocks("verdict")[0]).expect("the README verdict parses");
    let actual = engine.score(&post);
    assert_eq!(actual.decision, documented.decision);
    let ids = |v: &Verdict| v.signals.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&actual), ids(&documented));
    for (a, d) in actual.signals.iter().zip(&documented.signals) {
        assert_eq!(a.spans, d.spans, "{}", a.id);
        assert_eq!(a.weight, d.weight, "{}", a.id);
    }
    for c in moderation_core::Category::ALL {
        assert!((actual.scores.get(c) - documented.scores.get(c)).abs() < 0.001, "{c:?}");
    }
}

#[test]
fn rule_file_examples_load_and_fire() {
    for text in blocks("rules") {
        let set = RuleSet::from_toml("README", &text).expect("the README rule file is valid");
        let engine = Engine::builder().rules(set.clone()).build().unwrap();
        for rule in &set.rules {
            for ex in &rule.fire {
                assert!(engine.score_with(&ex.to_post("f"), &ex.context()).has_signal(&rule.id), "{}", rule.id);
            }
            for ex in &rule.pass {
                assert!(!engine.score_with(&ex.to_post("p"), &ex.context()).has_signal(&rule.id), "{}", rule.id);
            }
        }
    }
}
