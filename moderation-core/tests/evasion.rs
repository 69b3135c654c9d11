//! The evasion table (`tests/data/evasion.toml`) and a seeded property test
//! that obfuscates every fire example of the default pack at random.

use moderation_core::{Engine, Format, Post, RuleSet};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde::Deserialize;

#[derive(Deserialize)]
struct Table {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    rule: String,
    body: String,
    span: String,
    #[serde(default)]
    format: Format,
}

#[test]
fn evasion_table() {
    let table: Table = toml::from_str(include_str!("data/evasion.toml")).expect("table parses");
    let engine = Engine::new().unwrap();
    let mut failures = Vec::new();
    for case in &table.case {
        let post = Post { format: case.format, ..Post::new(case.name.clone(), case.body.clone()) };
        let verdict = engine.score(&post);
        let Some(signal) = verdict.signals.iter().find(|s| s.id == case.rule) else {
            failures.push(format!("{}: {} did not fire on {:?}", case.name, case.rule, case.body));
            continue;
        };
        if !signal.spans.iter().any(|s| s.text == case.span && post.body[s.start..s.end] == case.span) {
            let got: Vec<_> = signal.spans.iter().map(|s| s.text.as_str()).collect();
            failures.push(format!("{}: expected span {:?}, got {:?}", case.name, case.span, got));
        }
    }
    assert!(table.case.len() >= 20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One obfuscation applied to one ASCII word.
#[derive(Debug, Clone, Copy)]
enum Trick {
    Fullwidth,
    ZeroWidth,
    Cyrillic,
    Spacing,
    Leet,
    Case,
    Repeat,
}

fn apply(word: &str, trick: Trick, pick: u32) -> String {
    match trick {
        Trick::Fullwidth => word.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)).collect(),
        Trick::ZeroWidth => {
            let invisible = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{202E}'];
            let at = 1 + pick as usize % (word.len() - 1);
            format!("{}{}{}", &word[..at], invisible[pick as usize % invisible.len()], &word[at..])
        }
        Trick::Cyrillic => word
            .chars()
            .map(|c| match c {
                'a' => 'а',
                'e' => 'е',
                'o' => 'о',
                'p' => 'р',
                'c' => 'с',
                'x' => 'х',
                'y' => 'у',
                _ => c,
            })
            .collect(),
        Trick::Spacing => word.chars().map(String::from).collect::<Vec<_>>().join(" "),
        Trick::Leet => {
            let mut out = String::new();
            let mut run = 0;
            for c in word.chars() {
                let l = match c {
                    'o' => Some('0'),
                    'e' => Some('3'),
                    'a' => Some('4'),
                    'i' => Some('1'),
                    's' => Some('5'),
                    _ => None,
                };
                match l {
                    Some(d) if run < 2 && (pick.is_multiple_of(2) || run == 0) => {
                        out.push(d);
                        run += 1;
                    }
                    _ => {
                        out.push(c);
                        run = 0;
                    }
                }
            }
            // A word made only of leet digits would read as a number.
            if out.chars().any(|c| c.is_ascii_alphabetic()) { out } else { word.to_string() }
        }
        Trick::Case => word
            .chars()
            .enumerate()
            .map(|(i, c)| if (i as u32 + pick).is_multiple_of(2) { c.to_ascii_uppercase() } else { c })
            .collect(),
        Trick::Repeat => {
            // Lengthen an existing double letter: squeezing brings it back to two.
            let b = word.as_bytes();
            match (1..b.len()).find(|&i| b[i] == b[i - 1]) {
                Some(i) => format!("{}{}{}", &word[..i], &word[i - 1..i].repeat(3), &word[i..]),
                None => word.to_string(),
            }
        }
    }
}

const TRICKS: [Trick; 7] =
    [Trick::Fullwidth, Trick::ZeroWidth, Trick::Cyrillic, Trick::Spacing, Trick::Leet, Trick::Case, Trick::Repeat];

/// Obfuscates the plain ASCII words of a text (links, handles, numbers and
/// addresses are left alone: changing them changes what they are).
fn obfuscate(text: &str, choices: &[(bool, u8, u32)]) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let mut out = Vec::with_capacity(words.len());
    let mut spaced_prev = false;
    for (i, w) in words.iter().enumerate() {
        let (on, t, pick) = choices[i % choices.len()];
        let plain = w.len() >= 2 && w.bytes().all(|b| b.is_ascii_alphabetic());
        let single_neighbour = |j: Option<usize>| j.and_then(|j| words.get(j)).is_some_and(|n| n.chars().count() == 1);
        let mut trick = TRICKS[t as usize % TRICKS.len()];
        if matches!(trick, Trick::Spacing)
            && (w.len() < 3 || spaced_prev || single_neighbour(i.checked_sub(1)) || single_neighbour(Some(i + 1)))
        {
            trick = Trick::Fullwidth;
        }
        if on && plain {
            spaced_prev = matches!(trick, Trick::Spacing);
            out.push(apply(w, trick, pick));
        } else {
            spaced_prev = false;
            out.push((*w).to_string());
        }
    }
    out.join(" ")
}

#[test]
fn random_obfuscations_of_fire_examples_still_fire() {
    let engine = Engine::new().unwrap();
    let pack = RuleSet::default_pack();
    let mut runner = TestRunner::new(Config { cases: 24, rng_seed: RngSeed::Fixed(20261124), ..Config::default() });
    for rule in &pack.rules {
        for ex in &rule.fire {
            let base = ex.to_post("x");
            if base.format != Format::Text || base.author.is_some() {
                continue;
            }
            let ctx = ex.context();
            let strategy = proptest::collection::vec((any::<bool>(), 0u8..7, any::<u32>()), 1..12);
            let result = runner.run(&strategy, |choices| {
                let body = obfuscate(&base.body, &choices);
                let post = Post { body: body.clone(), ..base.clone() };
                let v = engine.score_with(&post, &ctx);
                prop_assert!(v.has_signal(&rule.id), "{} lost on {:?}", rule.id, body);
                for s in v.signals.iter().flat_map(|s| s.spans.iter()) {
                    prop_assert!(body.get(s.start..s.end).is_some());
                }
                Ok(())
            });
            if let Err(e) = result {
                panic!("{e}");
            }
        }
    }
}
