//! Hosts that must be flagged and hosts that must not, each posted as a bare
//! link: `tests/data/lookalike_hosts.toml`.
//!
//! "Flagged" is what a forum sees: the verdict is review or worse, here from
//! the rules (default pack and shipped brand registry) without the model, so
//! that the figures are the host detection's. The shipped model sends most
//! bare-link posts to review whatever the host (its training sets are SMS and
//! e-mail, where a lone link is spam); that count is printed, not asserted
//! (issue #12). The fire
//! table is mostly written by the team (hosts shaped after 2024–2026 drainer
//! reports) plus hosts copied from the MetaMask blacklist and JPCERT; the pass
//! table is real, legitimate hosts carrying brand names or lure words.
//!
//! Run with `cargo test --test lookalike_hosts -- --nocapture` to see the figures.

use moderation_core::rules::Registry;
use moderation_core::signals::lookalike::{BrandList, HostJudgement};
use moderation_core::{Decision, Engine, Post};
use serde::Deserialize;

#[derive(Deserialize)]
struct Tables {
    fire: Vec<Host>,
    pass: Vec<Host>,
}

#[derive(Deserialize)]
struct Host {
    host: String,
    #[serde(default)]
    brand: Option<String>,
    why: String,
    source: String,
}

fn tables() -> Tables {
    let text = include_str!("data/lookalike_hosts.toml");
    toml::from_str(text).expect("lookalike_hosts.toml parses")
}

fn bare_link(engine: &Engine, host: &str) -> Decision {
    engine.score(&Post::new("t", format!("https://{host}/"))).decision
}

#[test]
fn fire_hosts_are_flagged_and_pass_hosts_are_not() {
    let engine = Engine::new().expect("engine");
    let with_model = Engine::with_default_model().expect("engine");
    let t = tables();
    assert!(t.fire.len() >= 150 && t.pass.len() >= 200, "the tables shrank");

    let mut missed = Vec::new();
    let mut by_source: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for h in &t.fire {
        let flagged = bare_link(&engine, &h.host) >= Decision::Review;
        let e = by_source.entry(h.source.as_str()).or_default();
        e.0 += 1;
        if flagged {
            e.1 += 1;
        } else {
            missed.push(format!("{} ({}; brand {:?})", h.host, h.why, h.brand));
        }
    }
    let caught = t.fire.len() - missed.len();
    println!("fire: {caught}/{} flagged ({:.1}%)", t.fire.len(), 100.0 * caught as f64 / t.fire.len() as f64);
    for (source, (n, k)) in &by_source {
        println!("  {source}: {k}/{n}");
    }
    for m in &missed {
        println!("  missed: {m}");
    }

    let mut false_alarms = Vec::new();
    for h in &t.pass {
        let v = engine.score(&Post::new("t", format!("https://{}/", h.host)));
        if v.decision >= Decision::Review {
            let why: Vec<String> = v
                .signals
                .iter()
                .filter(|s| s.weight > 0.0)
                .map(|s| format!("{} {:+.1}: {}", s.id, s.weight, s.description))
                .collect();
            false_alarms.push(format!("{} → {} ({}) [{}]", h.host, v.decision, h.why, why.join(" | ")));
        }
    }
    println!("pass: {}/{} flagged", false_alarms.len(), t.pass.len());
    let model_flags = t.pass.iter().filter(|h| bare_link(&with_model, &h.host) >= Decision::Review).count();
    println!(
        "pass, with the shipped model stacked: {model_flags}/{} bare links reach review (the model, not the host signals)",
        t.pass.len()
    );
    for f in &false_alarms {
        println!("  false alarm: {f}");
    }
    assert!(false_alarms.is_empty(), "legitimate hosts flagged: {false_alarms:#?}");
    // Recall on the fire table (measured 2026-12-05; see the README); a drop
    // below this is a regression.
    assert!(caught * 100 >= t.fire.len() * 90, "only {caught} of {} fire hosts flagged", t.fire.len());
}

#[test]
fn no_official_host_of_the_registry_is_flagged() {
    let registry = Registry::default_registry();
    let brands = BrandList::with_registry::<&str>(&[], &registry.brands);
    let engine = Engine::new().expect("engine");
    let mut checked = 0;
    for b in &registry.brands {
        for d in &b.domains {
            for host in [d.clone(), format!("www.{d}"), format!("app.{d}")] {
                assert!(
                    matches!(brands.judge(&host), HostJudgement::Official(_)),
                    "{host} of {} is not judged official",
                    b.name
                );
                checked += 1;
            }
            assert_eq!(bare_link(&engine, d), Decision::Allow, "{d} of {}", b.name);
        }
        for h in &b.hosts {
            assert!(matches!(brands.judge(h), HostJudgement::Official(_)), "{h} of {}", b.name);
            assert_eq!(bare_link(&engine, h), Decision::Allow, "{h} of {}", b.name);
            checked += 1;
        }
    }
    println!("{checked} official hosts of {} brands: none flagged", registry.brands.len());
}

#[test]
fn platforms_themselves_are_never_flagged() {
    let registry = Registry::default_registry();
    let brands = BrandList::with_registry::<&str>(&[], &registry.brands);
    for p in
        ["pages.dev", "vercel.app", "netlify.app", "web.app", "github.io", "workers.dev", "gitbook.io", "zendesk.com"]
    {
        assert_eq!(brands.judge(p), HostJudgement::Clean, "{p}");
    }
}

#[test]
fn feeds_block_and_allow_hosts_and_verdicts_name_them() {
    use moderation_core::signals::feeds::{Feed, Feeds, ListKind};
    let block = Feed::parse("block.txt", "# team-written\nwallet-sync-node.com\n", ListKind::Block).unwrap();
    let allow = Feed::parse("allow.json", r#"["binance-support.xyz"]"#, ListKind::Allow).unwrap();
    let engine = Engine::builder().feeds(Feeds::new(vec![block, allow])).build().unwrap();

    let v = engine.score(&Post::new("1", "Fix your wallet at https://app.wallet-sync-node.com/start"));
    let s = v.signals.iter().find(|s| s.id == "scam.link.lookalike-feed").expect("feed signal");
    assert!(
        s.description.contains("block.txt@") && s.description.contains("entry `wallet-sync-node.com`"),
        "{}",
        s.description
    );
    assert_eq!(s.spans[0].text, "https://app.wallet-sync-node.com/start");
    assert!(v.decision >= Decision::Hold, "{:?}", v.decision);
    assert_eq!(v.versions.feeds.len(), 2);
    assert!(v.versions.feeds[0].starts_with("block.txt@"));

    // An allow-listed host is never a look-alike; without the feed it is one.
    let post = Post::new("2", "https://binance-support.xyz/login");
    assert!(!engine.score(&post).signals.iter().any(|s| s.id.contains("lookalike")));
    assert!(Engine::new().unwrap().score(&post).signals.iter().any(|s| s.id == "scam.link.lookalike-strong"));

    // Swapping feeds keeps the rules and changes the verdicts.
    let none = engine.with_feeds(Feeds::default());
    let v = none.score(&Post::new("1", "Fix your wallet at https://app.wallet-sync-node.com/start"));
    assert!(v.versions.feeds.is_empty() && !v.signals.iter().any(|s| s.id == "scam.link.lookalike-feed"));
}

#[test]
fn verdicts_name_the_brand_a_host_imitates_or_say_it_names_none() {
    let engine = Engine::new().unwrap();
    let v = engine.score(&Post::new("1", "Vote for the listing: https://okx-listingpoll.pages.dev"));
    let s = v.signals.iter().find(|s| s.id.contains("lookalike")).expect("a look-alike signal");
    assert!(s.description.contains("imitates OKX (okx.com)"), "{}", s.description);
    assert!(s.description.contains("free hosting `pages.dev`"), "{}", s.description);
    let v = engine.score(&Post::new("2", "Check it: https://claim-rewards-eligibility.pages.dev"));
    let s = v.signals.iter().find(|s| s.id == "scam.link.lookalike-lure-host").expect("a lure-host signal");
    assert!(s.description.contains("imitates no brand"), "{}", s.description);
    assert!(v.decision >= Decision::Review);
}

#[test]
fn a_rule_layer_adds_brands_or_turns_the_registry_off() {
    use moderation_core::RuleSet;
    let layer = RuleSet::from_toml(
        "forum.toml",
        r#"
[[brand]]
name = "Example Exchange"
kind = "exchange"
domains = ["exex-trade.com"]
hosts = ["exex-trade.zendesk.com"]
tokens = ["exextrade"]
sources = ["team"]
"#,
    )
    .unwrap();
    assert_eq!(layer.brands.len(), 1);
    let engine = Engine::builder().rules(layer).build().unwrap();
    let settings = engine.settings(None);
    assert!(
        matches!(settings.judge_host("help.exex-trade.com"), HostJudgement::Official(n) if n == "Example Exchange")
    );
    assert!(matches!(settings.judge_host("exex-trade.zendesk.com"), HostJudgement::Official(_)));
    assert!(
        matches!(settings.judge_host("exextrade-support.xyz"), HostJudgement::Lookalike(l) if l.name == "Example Exchange")
    );
    // The shipped registry is still there beneath the layer.
    assert!(matches!(settings.judge_host("www.binance.th"), HostJudgement::Official(_)));

    let off = RuleSet::from_toml("off.toml", "[settings]\nbrand_registry = false\n").unwrap();
    let engine = Engine::builder().rules(off).build().unwrap();
    assert!(!matches!(engine.settings(None).judge_host("www.binance.th"), HostJudgement::Official(_)));

    let err = RuleSet::from_toml(
        "bad.toml",
        "[ruleset]\nname = \"b\"\n\n[[brand]]\nname = \"X\"\nkind = \"exchange\"\ndomains = [\"pages.dev\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("bad.toml:5: brand `X`: `pages.dev` is a public suffix"), "{err}");
}
