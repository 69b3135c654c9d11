//! Scoring benchmarks: post sizes, per-stage breakdown, attacker-controlled
//! worst cases, rule-count scaling, and the bare Aho-Corasick + RegexSet scan
//! of the same text as a baseline for the pipeline's overhead.
//!
//! Run: `cargo bench -p moderation-benches` (HTML reports in target/criterion).

use std::hint::black_box;
use std::time::Duration;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use moderation_core::rules::{Condition, compiled_pattern};
use moderation_core::signals::{contacts, crypto, seed, urls};
use moderation_core::{Author, Engine, Format, Model, Post, RuleSet, normalized_view, parse_markup, words_view};
use regex::RegexSetBuilder;

/// A typical forum post of about `size` bytes: a withdrawal question in
/// English and Japanese with a link, an address and ordinary chatter.
fn typical(size: usize) -> String {
    let parts = [
        "Hi all, my withdrawal to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq has been pending for two days. ",
        "I opened a ticket and support said the network is congested, see https://mempool.space for fees. ",
        "出金が二日間保留のままです。サポートに問い合わせましたが、まだ返事がありません。 ",
        "Is there anything else I can do? The app shows 'processing' and the txid is not visible yet. ",
        "I also tried the web version on https://www.binance.com/en/my/wallet but it looks the same. ",
        "Thanks in advance, and sorry for my English — 日本語でも大丈夫です。 ",
    ];
    let mut s = String::new();
    let mut i = 0;
    while s.len() < size {
        s.push_str(parts[i % parts.len()]);
        i += 1;
    }
    let mut end = size.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

fn config() -> Criterion {
    Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1))
}

fn sizes(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let mut g = c.benchmark_group("score");
    for size in [100, 1_000, 10_000] {
        let post = Post::new("p", typical(size));
        g.throughput(Throughput::Bytes(post.body.len() as u64));
        g.bench_with_input(BenchmarkId::new("typical", size), &post, |b, p| b.iter(|| engine.score(black_box(p))));
    }
    g.finish();
}

/// Per-stage cost of a 1 KB post. `match+score` is `full − analyze`.
fn stages(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let post = Post::new("p", typical(1_000));
    let mut g = c.benchmark_group("stage-1KB");
    g.bench_function("normalize", |b| {
        b.iter(|| {
            let doc = parse_markup(black_box(&post.body), Format::Text);
            let words = words_view(&doc.raw);
            normalized_view(&words)
        })
    });
    g.bench_function("extract", |b| {
        b.iter(|| {
            let t = black_box(post.body.as_str());
            let n = urls::find_urls(t).len()
                + crypto::find_addresses(t).len()
                + crypto::find_private_keys(t).len()
                + contacts::find_contacts(t).len()
                + seed::find_seed_phrases(t).len();
            black_box(n)
        })
    });
    g.bench_function("analyze (normalize+extract)", |b| b.iter(|| engine.analyze_only(black_box(&post))));
    g.bench_function("full score", |b| b.iter(|| engine.score(black_box(&post))));
    g.finish();
}

/// The bare scan a hand-rolled filter would do: the default pack's literals
/// in one Aho-Corasick DFA and its regexes in one RegexSet, over the raw text.
fn baseline(c: &mut Criterion) {
    let pack = RuleSet::default_pack();
    let (mut lits, mut pats) = (Vec::new(), Vec::new());
    fn walk(c: &Condition, lits: &mut Vec<String>, pats: &mut Vec<String>) {
        match c {
            Condition::Phrases(p) => lits.extend(p.iter().map(|s| s.to_lowercase())),
            Condition::Regex(r) => pats.push(r.pattern.clone()),
            Condition::All(l) | Condition::Any(l) => l.iter().for_each(|c| walk(c, lits, pats)),
            Condition::Not(c) => walk(c, lits, pats),
            _ => {}
        }
    }
    for r in &pack.rules {
        walk(&r.when, &mut lits, &mut pats);
    }
    for c in pack.conditions.values() {
        walk(c, &mut lits, &mut pats);
    }
    // The same automata the engine builds: a DFA of the literals, and the
    // patterns as the engine compiles them, over text already lowercased.
    let pats: Vec<String> = pats.iter().map(|p| compiled_pattern(p)).collect();
    let ac = AhoCorasick::builder().kind(Some(AhoCorasickKind::DFA)).build(&lits).unwrap();
    let set = RegexSetBuilder::new(&pats).dfa_size_limit(8 << 20).build().unwrap();
    let text = typical(1_000).to_lowercase();
    let engine = Engine::new().unwrap();
    let post = Post::new("p", typical(1_000));
    let mut g = c.benchmark_group("baseline-1KB");
    g.bench_function("bare aho-corasick + regexset", |b| {
        b.iter(|| {
            let t = black_box(text.as_str());
            (ac.find_overlapping_iter(t).count(), set.matches(t).matched_any())
        })
    });
    g.bench_function("full score", |b| b.iter(|| engine.score(black_box(&post))));
    g.finish();
}

/// A lure the rules alone reject (doubling and a giveaway address), quoted.
const QUOTED_LURE: &str =
    "\"Elon giveaway! Send 0.1 ETH to 0x52908400098527886E0F7030069857D2E4169EE7 and get 0.2 ETH back\" ";

/// Inputs an attacker controls, each bounded by the engine's caps.
fn worst_cases(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let cases = [
        ("max body 64KB typical", typical(64 * 1024)),
        ("1 MB body (truncated to 64KB)", typical(1 << 20)),
        ("2000 links", (0..2000).map(|i| format!("https://x{i}.example.com/a ")).collect()),
        ("U+FDFA x 20000 (NFKC x18)", "\u{FDFA}".repeat(20_000)),
        ("seed words x 8000", "abandon ability able about above ".repeat(1_600)),
        ("zero-width every other char", "b\u{200B}".repeat(20_000)),
        ("spaced letters", "b i n a n c e ".repeat(4_000)),
    ];
    let mut g = c.benchmark_group("worst-case");
    g.sample_size(10);
    for (name, body) in cases {
        let post = Post::new("w", body);
        g.throughput(Throughput::Bytes(post.body.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &post, |b, p| b.iter(|| engine.score(black_box(p))));
    }
    let html = Post {
        format: Format::Html,
        ..Post::new("h", "<p><a href=\"https://a.example/x\">a&amp;b</a></p>".repeat(1_200))
    };
    g.bench_function("html 1200 anchors", |b| b.iter(|| engine.score(black_box(&html))));
    // The quoted-report check (a forum's opt-in), on the longest body it
    // reads (8 KiB), by an established member: a rejected lure quoted 80
    // times, then the author's verdict, is capped at review after every
    // quotation is read and the own words are scored again; with 2,600
    // unclosed marks the quotation scan runs out of its budget and the post
    // stays rejected.
    let reports = Engine::builder()
        .rules(RuleSet::from_toml("on", "[settings]\nquoted_reports = true\n").unwrap())
        .build()
        .unwrap();
    let member = Author { id: "m".into(), account_age_days: Some(400), post_count: Some(120), ..Author::default() };
    for (name, body) in [
        ("quoted report 8KB, 80 quotations (capped)", format!("{}This is fraud.", QUOTED_LURE.repeat(80))),
        ("quoted report 8KB, 2600 unclosed marks", format!("{QUOTED_LURE}{} This is fraud.", "「".repeat(2_600))),
    ] {
        let post = Post { author: Some(member.clone()), ..Post::new("r", body) };
        g.throughput(Throughput::Bytes(post.body.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &post, |b, p| b.iter(|| reports.score(black_box(p))));
    }
    g.finish();
}

/// `n` generated spam rules whose condition is `when(i)`; none matches the typical post.
fn generated_rules(n: usize, when: impl Fn(usize) -> String) -> RuleSet {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "[[rule]]\nid = \"g{i}\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = {}\n",
            when(i)
        ));
    }
    RuleSet::from_toml("gen", &s).unwrap()
}

fn keyword_rules(n: usize) -> RuleSet {
    generated_rules(n, |i| format!("{{ phrases = [\"zq{i}word\", \"promo{i} deal\"] }}"))
}

fn regex_rules(n: usize) -> RuleSet {
    generated_rules(n, |i| {
        format!("{{ regex = {{ pattern = '\\bzq{i}[a-z]+\\s+[0-9]{{2,4}}\\b', view = \"normalized\" }} }}")
    })
}

/// Time per 1 KB post as rule counts grow: must grow sub-linearly.
fn scaling(c: &mut Criterion) {
    let post = Post::new("p", typical(1_000));
    let mut g = c.benchmark_group("rules-scaling");
    for n in [100, 1_000, 10_000] {
        let engine = Engine::builder().without_default_rules().rules(keyword_rules(n)).build().unwrap();
        g.bench_with_input(BenchmarkId::new("keyword", n), &post, |b, p| b.iter(|| engine.score(black_box(p))));
    }
    for n in [10, 100, 1_000] {
        let engine = Engine::builder().without_default_rules().rules(regex_rules(n)).build().unwrap();
        g.bench_with_input(BenchmarkId::new("regex", n), &post, |b, p| b.iter(|| engine.score(black_box(p))));
    }
    g.finish();
}

/// A distinct forum-length text for post `n`: twenty words drawn from a
/// 2,000-word vocabulary by a fixed generator (deterministic, no two alike).
fn synthetic(n: u64) -> String {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut words = Vec::with_capacity(20);
    for _ in 0..20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        words.push(format!("w{}", x % 2_000));
    }
    words.join(" ")
}

fn remembered(text: &str) -> moderation_core::memory::Traces {
    let print = moderation_core::fingerprint::Fingerprint::of(text);
    moderation_core::memory::Traces {
        bands: print.map(|p| p.band_keys().iter().map(|&k| k as i64).collect()).unwrap_or_default(),
        print,
        traces: Vec::new(),
        has_links: false,
        words: 20.0,
    }
}

/// Near-duplicate lookup (`Index::recall` plus the wave over what it
/// recalls) against memories of 10k, 100k and 1M posts: the cost must not
/// grow with the memory's size. The probe is a near-copy of a remembered
/// post (one word changed), so the lookup finds it.
fn memory(c: &mut Criterion) {
    use moderation_core::memory::{Index, MemorySettings, wave};
    let settings = MemorySettings::default();
    let mut g = c.benchmark_group("memory");
    g.sample_size(50);
    // What every submission pays with memory on: its fingerprint.
    let text = typical(1024);
    g.bench_function("fingerprint, 1 KB post", |b| {
        b.iter(|| moderation_core::fingerprint::Fingerprint::of(black_box(&text)))
    });
    let mut index = Index::new(1_000_000);
    let mut filled = 0u64;
    for size in [10_000u64, 100_000, 1_000_000] {
        while filled < size {
            let t = synthetic(filled);
            index.insert(
                "main",
                &format!("p{filled}"),
                &format!("u{}", filled % 50_000),
                filled as i64,
                true,
                &remembered(&t),
            );
            filled += 1;
        }
        let target = synthetic(size / 2);
        let probe_text = target.replacen(target.split(' ').nth(3).unwrap(), "changed", 1);
        let probe = remembered(&probe_text);
        let post = Post::new("probe", probe_text.clone());
        g.bench_with_input(BenchmarkId::new("near-duplicate lookup", size), &probe, |b, probe| {
            b.iter(|| {
                let recall = index.recall("main", "someone", black_box(probe), 0, 0, settings.near_threshold);
                black_box(wave(&post, probe, &recall, &settings).map(|w| w.copies.len()))
            })
        });
        // And a probe with no near-duplicate at all.
        let fresh = remembered(&synthetic(u64::MAX - size));
        g.bench_with_input(BenchmarkId::new("lookup, no near-duplicate", size), &fresh, |b, fresh| {
            b.iter(|| {
                black_box(
                    index.recall("main", "someone", black_box(fresh), 0, 0, settings.near_threshold).similar.len(),
                )
            })
        });
    }
    g.finish();
}

criterion_group! { name = benches; config = config(); targets = sizes, stages, baseline, worst_cases, scaling, classifier, lookalike, memory }
criterion_main!(benches);

/// The classifier on a 1 KB post: hashing n-grams alone, features + sparse
/// dot product (what the ≥100,000 posts/s target is about), and the full
/// engine with and without the model.
fn classifier(c: &mut Criterion) {
    let path = std::env::var("MODEL")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model").to_string());
    let model = std::sync::Arc::new(Model::load(&path).expect("a model file (models/default.model or $MODEL)"));
    let post = Post::new("p", typical(1_000));
    let doc = parse_markup(&post.body, Format::Text);
    let norm = normalized_view(&words_view(&doc.raw)).text.as_str().to_string();
    let config = model.data().features;
    let plain = Engine::new().unwrap();
    let with = Engine::builder().model(model.clone()).build().unwrap();
    let mut g = c.benchmark_group("classifier-1KB");
    g.bench_function("hash n-grams only", |b| {
        b.iter(|| {
            let mut n = 0u32;
            config.for_each(black_box(&norm), |bucket, _| n ^= bucket);
            n
        })
    });
    g.bench_function("features + dot product", |b| b.iter(|| model.text_scores(&[black_box(&norm)])));
    g.bench_function("score, rules only", |b| b.iter(|| plain.score(black_box(&post))));
    g.bench_function("score, rules + model", |b| b.iter(|| with.score(black_box(&post))));
    // The same model adapted to a forum on the team corpus's labelled posts
    // (team-written; ~1,000 labels): the cost of a forum's own model.
    let adapted = std::sync::Arc::new(
        moderation_core::adapt::adapt(&with, &team_corpus(), &Default::default()).expect("adapts on the team corpus"),
    );
    let adapted = with.with_model(Some(adapted));
    g.bench_function("score, rules + adapted model", |b| b.iter(|| adapted.score(black_box(&post))));
    g.finish();
}

/// The team corpus (`datasets/forum-posts`, team-written) as labelled posts.
fn team_corpus() -> Vec<moderation_core::Example> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/forum-posts");
    let mut out = Vec::new();
    for file in ["en", "ja", "ja-benign"] {
        let text = std::fs::read_to_string(format!("{dir}/{file}.jsonl")).expect("team corpus");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let post = Post::from_json(line).expect("a post");
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let (spam, scam) = (v["labels"]["spam"] == 1, v["labels"]["scam"] == 1);
            let labels =
                vec![(moderation_core::Category::Scam, scam), (moderation_core::Category::Spam, spam && !scam)];
            out.push(moderation_core::Example::new(post, labels));
        }
    }
    out
}

/// A 1 KB post with 20 links: official hosts, look-alikes, lure hosts and
/// ordinary sites, as a moderator sees in a link dump.
fn twenty_links() -> String {
    const HOSTS: [&str; 20] = [
        "www.binance.com/en/support",
        "binance-support.xyz/login",
        "okx-listingpoll.pages.dev",
        "aave-rewards-portal.pages.dev/claim",
        "uniswap-lp-upgrade.vercel.app",
        "claim-rewards-eligibility.pages.dev",
        "mempool.space/tx/abc",
        "en.wikipedia.org/wiki/Bitcoin",
        "github.com/rust-lang/rust",
        "docs.rs/regex",
        "metamask.io/download",
        "blnance.com",
        "news.ycombinator.com/item?id=1",
        "www.coingecko.com/en/coins/bitcoin",
        "safe-wallet-claim.netlify.app",
        "medium.com/@someone/post",
        "etherscan.io/tx/0xabc",
        "kraken.io/web-interface",
        "connect.garmin.com/modern",
        "app.uniswap.org/swap",
    ];
    let mut s = String::new();
    for (i, h) in HOSTS.iter().enumerate() {
        s.push_str(&format!("Link {i}: https://{h} — what do you think about this one? "));
    }
    let mut out = typical(1_000 - s.len().min(900));
    out.push(' ');
    out.push_str(&s);
    out
}

/// A registry of `n` generated brands (pronounceable names, 5–12 letters).
fn generated_registry(n: usize) -> Vec<moderation_core::rules::BrandEntry> {
    const C: &[u8] = b"bcdfghjklmnprstvz";
    const V: &[u8] = b"aeiou";
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut text = String::new();
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = 5 + (x % 8) as usize;
        let name: String = (0..len)
            .map(|k| {
                let r = (x >> (k * 4)) as usize + k * 7 + i;
                char::from(if k % 2 == 0 { C[r % C.len()] } else { V[r % V.len()] })
            })
            .collect();
        text.push_str(&format!(
            "[[brand]]\nname = \"B{i}\"\nkind = \"defi\"\ndomains = [\"{name}{i}.com\"]\ntokens = [\"{name}\"]\n"
        ));
    }
    moderation_core::rules::Registry::from_toml("generated", &text).unwrap().brands
}

/// Look-alike checks: cost per host as the registry grows (must stay flat),
/// and a 1 KB post with 20 links with and without the shipped registry.
fn lookalike(c: &mut Criterion) {
    use moderation_core::signals::lookalike::BrandList;
    let hosts: Vec<String> = twenty_links()
        .split("https://")
        .skip(1)
        .filter_map(|s| s.split(['/', ' ']).next().map(str::to_string))
        .collect();
    let mut g = c.benchmark_group("brands-scaling");
    let shipped = moderation_core::rules::Registry::default_registry().brands;
    let brands = BrandList::with_registry::<&str>(&[], &shipped);
    g.bench_function(BenchmarkId::new("20 hosts", format!("shipped ({} names)", brands.len())), |b| {
        b.iter(|| hosts.iter().map(|h| black_box(brands.judge(h))).count())
    });
    for n in [300, 3_000, 30_000] {
        let brands = BrandList::with_registry::<&str>(&[], &generated_registry(n));
        g.bench_function(BenchmarkId::new("20 hosts", n), |b| {
            b.iter(|| hosts.iter().map(|h| black_box(brands.judge(h))).count())
        });
    }
    g.finish();

    let post = Post::new("p", twenty_links());
    let with_registry = Engine::new().unwrap();
    let off = RuleSet::from_toml("off", "[settings]\nbrand_registry = false\n").unwrap();
    let without = Engine::builder().rules(off).build().unwrap();
    let mut g = c.benchmark_group("links-1KB");
    g.bench_function("20 links, 14 protected domains (registry off)", |b| b.iter(|| without.score(black_box(&post))));
    g.bench_function("20 links, shipped registry", |b| b.iter(|| with_registry.score(black_box(&post))));
    g.finish();
}
