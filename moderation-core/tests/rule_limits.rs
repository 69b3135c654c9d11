//! Rule sets whose compilation would be unbounded are refused before any
//! work is done: named conditions that `use` each other exponentially, and
//! too many distinct regex patterns.

use moderation_core::{Decision, Engine, Error, Post, RuleError, RuleSet};

/// `levels` named conditions, each `any` of ten `use`s of the next, the
/// last a phrase; `rules` rules use the first. Seven levels expand to a
/// million conditions per rule from 1.4 KB of TOML.
pub fn hostile(levels: usize, rules: usize) -> String {
    let mut t = String::from("[ruleset]\nname = \"hostile\"\nversion = \"1\"\n\n[conditions]\n");
    for l in 0..levels {
        if l + 1 == levels {
            t += &format!("c{l} = {{ phrases = [\"boom\"] }}\n");
        } else {
            let uses = vec![format!("{{ use = \"c{}\" }}", l + 1); 10].join(", ");
            t += &format!("c{l} = {{ any = [{uses}] }}\n");
        }
    }
    for r in 0..rules {
        t += &format!(
            "\n[[rule]]\nid = \"spam.hostile{r}\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = {{ use = \"c0\" }}\n"
        );
    }
    t
}

fn build_error(toml: &str) -> RuleError {
    let set = RuleSet::from_toml("hostile.toml", toml).expect("the file itself parses");
    match Engine::builder().rules(set).build() {
        Err(Error::Rules(e)) => e,
        Err(other) => panic!("expected a rule error, got {other}"),
        Ok(_) => panic!("the hostile rule set compiled"),
    }
}

#[test]
fn exponential_use_expansion_is_refused_before_expanding() {
    let toml = hostile(7, 3);
    assert!(toml.len() < 1500, "{} bytes", toml.len());
    // Without the limit this takes many seconds and hundreds of MB per rule.
    let e = build_error(&toml);
    assert_eq!(e.rule_id.as_deref(), Some("spam.hostile0"));
    assert!(e.line.is_some());
    assert!(e.message.contains("`use = \"c0\"` expands to 1111111 conditions (limit 10000"), "{}", e.message);
    let text = Error::Rules(e).to_string();
    assert!(text.starts_with("hostile.toml:"), "{text}");
}

#[test]
fn many_rules_each_under_the_limit_are_refused_in_all() {
    // `c1` expands to 8,111 conditions (each phrase counting as one):
    // within the per-rule limit; 25 rules using it are not, in all.
    let mut toml = hostile(5, 0).replace("[\"boom\"]", "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\"]");
    let one = format!(
        "{toml}\n[[rule]]\nid = \"spam.big\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = {{ use = \"c1\" }}\n"
    );
    Engine::builder().rules(RuleSet::from_toml("one.toml", &one).unwrap()).build().unwrap();
    for r in 0..25 {
        toml += &format!(
            "\n[[rule]]\nid = \"spam.big{r}\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = {{ use = \"c1\" }}\n"
        );
    }
    let e = build_error(&toml);
    assert!(e.message.contains("conditions in all"), "{}", e.message);
    assert!(e.rule_id.is_some_and(|id| id.starts_with("spam.big")));
}

#[test]
fn reusing_a_named_condition_still_works() {
    let toml = r#"
[ruleset]
name = "reuse"
version = "1"

[conditions]
casino = { phrases = ["online casino", "free spins"] }
bonus = { any = [{ use = "casino" }, { phrases = ["deposit bonus"] }] }

[[rule]]
id = "spam.reuse.one"
category = "spam"
weight = 9.0
description = "Casino promotion"
action = "reject"
when = { all = [{ use = "bonus" }, { any = [{ use = "casino" }, { use = "bonus" }] }] }

[[rule]]
id = "spam.reuse.two"
category = "spam"
weight = 1.0
description = "Casino promotion, again"
when = { all = [{ any = [{ use = "casino" }, { use = "casino" }] }, { not = { phrases = ["casino review"] } }] }
"#;
    let set = RuleSet::from_toml("reuse.toml", toml).unwrap();
    let engine = Engine::builder().without_default_rules().rules(set).build().unwrap();
    let v = engine.score(&Post::new("1", "Claim your free spins at the best online casino today"));
    let ids: Vec<&str> = v.signals.iter().map(|s| s.id.as_str()).collect();
    assert!(ids.contains(&"spam.reuse.one") && ids.contains(&"spam.reuse.two"), "{ids:?}");
    assert_eq!(v.decision, Decision::Reject);
    let v = engine.score(&Post::new("2", "The weather is fine today"));
    assert!(!v.signals.iter().any(|s| s.id == "spam.reuse.one"));
    // Evidence from a shared condition points at the text once per span.
    let post = Post::new("3", "free spins");
    let v = engine.score(&post);
    let s = v.signals.iter().find(|s| s.id == "spam.reuse.one").unwrap();
    assert_eq!(s.spans.len(), 1, "{:?}", s.spans);
    // A deep but narrow chain within the limits is fine too.
    let chain = hostile(7, 0).replace(&["{ use = \"c1\" }"; 10].join(", "), "{ use = \"c1\" }");
    let chain = chain.replace(&["{ use = \"c2\" }"; 10].join(", "), "{ use = \"c2\" }");
    let chain = chain.replace(&["{ use = \"c3\" }"; 10].join(", "), "{ use = \"c3\" }");
    let chain = format!(
        "{chain}\n[[rule]]\nid = \"spam.chain\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = {{ use = \"c0\" }}\n"
    );
    let set = RuleSet::from_toml("chain.toml", &chain).unwrap();
    let engine = Engine::builder().rules(set).build().unwrap();
    assert!(engine.score(&Post::new("4", "boom")).signals.iter().any(|s| s.id == "spam.chain"));
}

#[test]
fn cycles_and_missing_names_keep_their_errors() {
    let cycle = "[conditions]\na = { any = [{ use = \"b\" }] }\nb = { any = [{ use = \"a\" }] }\n\n[[rule]]\nid = \"spam.cycle\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = { use = \"a\" }\n";
    let e = build_error(cycle);
    assert!(e.message.contains("nests more than 8 deep (a cycle?)"), "{}", e.message);
    let missing = "[[rule]]\nid = \"spam.missing\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = { use = \"nope\" }\n";
    let e = build_error(missing);
    assert!(e.message.contains("no such named condition"), "{}", e.message);
}

#[test]
fn too_many_regex_patterns_are_refused() {
    let mut toml = String::new();
    for r in 0..1001 {
        toml += &format!(
            "[[rule]]\nid = \"spam.re{r}\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = {{ regex = {{ pattern = 'word{r}x', view = \"normalized\" }} }}\n"
        );
    }
    let e = match RuleSet::from_toml("many.toml", &toml) {
        Err(Error::Rules(e)) => e,
        other => panic!("expected a rule error, got {other:?}"),
    };
    assert_eq!(e.rule_id.as_deref(), Some("spam.re1000"));
    assert!(e.message.contains("more than 1000 distinct regex patterns"), "{}", e.message);
    // The same pattern repeated counts once.
    let same: String =
        toml.lines()
            .map(|l| {
                if l.starts_with("when") {
                    "when = { regex = { pattern = 'wordx', view = \"normalized\" } }"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
    assert!(RuleSet::from_toml("same.toml", &same).is_ok());
}

#[test]
fn too_many_patterns_across_layers_are_refused() {
    let layer = |from: usize| {
        let mut toml = format!("[ruleset]\nname = \"l{from}\"\n");
        for r in from..from + 600 {
            toml += &format!(
                "[[rule]]\nid = \"spam.re{r}\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = {{ regex = {{ pattern = 'word{r}x', view = \"normalized\" }} }}\n"
            );
        }
        RuleSet::from_toml(&format!("l{from}.toml"), &toml).unwrap()
    };
    let e = Engine::builder().rules(layer(0)).rules(layer(600)).build().unwrap_err();
    assert!(e.to_string().contains("distinct regex patterns (limit 1000 across the layers)"), "{e}");
}
