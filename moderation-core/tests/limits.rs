//! Every fixed limit of the library, each tried exactly at the limit (it
//! holds, or the documented cap applies) and one step past it (refused with
//! an error naming the limit, or capped as documented): never a panic.
//!
//! The table of all limits, the service's too, is `LIMITS` in
//! `moderation-service/tests/limits.rs`; its test checks that every row it
//! sends here names a function of this file.

use moderation_core::rules::{MAX_BRANDS, MAX_NAMES_PER_BRAND, Registry};
use moderation_core::signals::feeds::{Feed, ListKind, MAX_FEED_BYTES};
use moderation_core::{Engine, Error, MAX_SCAN_BYTES, Model, Post, RuleSet, Verdict};

/// Engine with the default pack and no model (limits do not depend on it).
fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| Engine::builder().build().unwrap())
}

fn rule(id: &str, when: &str) -> String {
    format!("[[rule]]\nid = \"{id}\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = {when}\n")
}

/// An engine of only `toml`'s rules (no default pack), or its error.
fn only(toml: &str) -> Result<Engine, Error> {
    let set = RuleSet::from_toml("limits.toml", toml)?;
    Engine::builder().without_default_rules().rules(set).build()
}

fn refused(toml: &str) -> String {
    match only(toml) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("compiled a rule set past the limit"),
    }
}

fn truncated(v: &Verdict) -> bool {
    v.has_signal("input.truncated")
}

/// A lowercase ASCII word from `i` that normalization leaves as it is (no
/// digits, no letter three times in a row).
fn word(mut i: usize, len: usize) -> String {
    let mut w = String::with_capacity(len);
    for _ in 0..7 {
        w.push((b'a' + (i % 20) as u8) as char);
        w.push('x');
        i /= 20;
    }
    let pad = b"qwertyuiop";
    while w.len() < len {
        w.push(pad[w.len() % pad.len()] as char);
    }
    w.truncate(len);
    w
}

#[test]
fn limit_field_scan_bytes() {
    assert_eq!(MAX_SCAN_BYTES, 65_536);
    let at = engine().score(&Post::new("at", "a".repeat(MAX_SCAN_BYTES)));
    assert!(!truncated(&at), "a field of exactly {MAX_SCAN_BYTES} bytes is read whole");
    let past = engine().score(&Post::new("past", "a".repeat(MAX_SCAN_BYTES + 1)));
    assert!(truncated(&past));
    let signal = past.signals.iter().find(|s| s.id == "input.truncated").unwrap();
    assert!(signal.description.contains("64 KiB"), "{}", signal.description);
    // The title is a field of its own, with the same limit.
    let mut post = Post::new("title", "short");
    post.title = Some("b".repeat(MAX_SCAN_BYTES + 1));
    assert!(truncated(&engine().score(&post)));
}

#[test]
fn limit_view_chars() {
    // U+FDFA is 3 bytes and NFKC makes it 18 characters: the view, not the
    // byte scan, is what fills up.
    const VIEW: usize = 65_536;
    let ligatures = 3_000;
    let body = |extra: usize| "\u{FDFA}".repeat(ligatures) + &"a".repeat(VIEW - ligatures * 18 + extra);
    assert!(body(1).len() < MAX_SCAN_BYTES);
    assert!(!truncated(&engine().score(&Post::new("at", body(0)))), "a view of exactly {VIEW} characters");
    assert!(truncated(&engine().score(&Post::new("past", body(1)))));
}

#[test]
fn limit_links_per_field() {
    let rules = rule("spam.links256", "{ link_count = { min = 256 } }")
        + &rule("spam.links257", "{ link_count = { min = 257 } }");
    let e = only(&rules).unwrap();
    let body = |n: usize| (0..n).map(|i| format!("https://site{i}.net/")).collect::<Vec<_>>().join(" ");
    let at = e.score(&Post::new("at", body(256)));
    assert!(at.has_signal("spam.links256") && !at.has_signal("spam.links257"));
    // The 257th link of a field is not examined.
    let past = e.score(&Post::new("past", body(257)));
    assert!(past.has_signal("spam.links256") && !past.has_signal("spam.links257"));
}

#[test]
fn limit_spans_per_rule() {
    let e = only(&rule("spam.zork", "{ phrases = [\"zork\"] }")).unwrap();
    let spans = |n: usize| {
        let v = e.score(&Post::new("p", "zork ".repeat(n)));
        v.signals.iter().find(|s| s.id == "spam.zork").unwrap().spans.len()
    };
    assert_eq!(spans(16), 16);
    assert_eq!(spans(17), 16, "a rule reports at most 16 spans");
}

#[test]
fn limit_rule_id_length() {
    let id = |n: usize| format!("spam.{}", "i".repeat(n - 5));
    only(&rule(&id(100), "{ phrases = [\"x\"] }")).unwrap();
    let e = refused(&rule(&id(101), "{ phrases = [\"x\"] }"));
    assert!(e.contains("limits.toml:") && e.contains("an id is 1–100 characters"), "{e}");
}

#[test]
fn limit_rule_weight() {
    for w in ["20.0", "-20.0"] {
        only(&rule("spam.w", "{ phrases = [\"x\"] }").replace("weight = 1.0", &format!("weight = {w}"))).unwrap();
    }
    for w in ["20.5", "-20.5"] {
        let e = refused(&rule("spam.w", "{ phrases = [\"x\"] }").replace("weight = 1.0", &format!("weight = {w}")));
        assert!(e.contains("outside -20..=20"), "{e}");
    }
}

fn regex_rule(id: &str, pattern: &str) -> String {
    rule(id, &format!("{{ regex = {{ pattern = '{pattern}', view = \"raw\" }} }}"))
}

/// The largest `n` for which `a{n}` compiles, by bisection.
fn largest_repeat() -> usize {
    let (mut ok, mut bad) = (1usize, 1usize << 20);
    while bad - ok > 1 {
        let mid = (ok + bad) / 2;
        if RuleSet::from_toml("r.toml", &regex_rule("spam.re", &format!("a{{{mid}}}"))).is_ok() {
            ok = mid;
        } else {
            bad = mid;
        }
    }
    ok
}

#[test]
fn limit_regex_size() {
    let n = largest_repeat();
    assert!(n > 1_000, "{n}");
    RuleSet::from_toml("r.toml", &regex_rule("spam.re", &format!("a{{{n}}}"))).unwrap();
    let e = RuleSet::from_toml("r.toml", &regex_rule("spam.re", &format!("a{{{}}}", n + 1))).unwrap_err().to_string();
    assert!(e.contains("size limit") && e.contains("1048576"), "{e}");
}

#[test]
fn limit_regex_patterns() {
    let patterns = |from: usize, k: usize| {
        (from..from + k).map(|i| regex_rule(&format!("spam.re{i}"), &format!("{}q", word(i, 14)))).collect::<String>()
    };
    // In one rule set.
    RuleSet::from_toml("many.toml", &patterns(0, 1000)).unwrap();
    let e = RuleSet::from_toml("many.toml", &patterns(0, 1001)).unwrap_err().to_string();
    assert!(e.contains("more than 1000 distinct regex patterns"), "{e}");
    // Across the layers.
    let layer = |from, k| RuleSet::from_toml(&format!("l{from}.toml"), &patterns(from, k)).unwrap();
    Engine::builder().without_default_rules().rules(layer(0, 500)).rules(layer(500, 500)).build().unwrap();
    let e = Engine::builder().without_default_rules().rules(layer(0, 500)).rules(layer(500, 501)).build().unwrap_err();
    assert!(e.to_string().contains("1001 distinct regex patterns (limit 1000 across the layers)"), "{e}");
}

fn phrase_list(words: &[String]) -> String {
    format!("{{ phrases = [{}] }}", words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", "))
}

#[test]
fn limit_conditions_per_rule() {
    let words: Vec<String> = (0..10_001).map(|i| word(i, 14)).collect();
    only(&rule("spam.big", &phrase_list(&words[..10_000]))).unwrap();
    let e = refused(&rule("spam.big", &phrase_list(&words)));
    assert!(e.contains("10001 conditions (limit 10000 per rule"), "{e}");
}

#[test]
fn limit_conditions_in_all() {
    // 20 rules that each `use` one named condition of 10,000 phrases: each
    // counts 10,000 (compiled once, shared).
    let words: Vec<String> = (0..10_000).map(|i| word(i, 14)).collect();
    let mut toml = format!("[conditions]\nbig = {}\n", phrase_list(&words));
    toml += &(0..20).map(|r| rule(&format!("spam.big{r}"), "{ use = \"big\" }")).collect::<String>();
    only(&toml).unwrap();
    toml += &rule("spam.one-more", "{ phrases = [\"x\"] }");
    let e = refused(&toml);
    assert!(e.contains("more than 200000 conditions in all"), "{e}");
}

#[test]
fn limit_use_depth() {
    let chain = |uses: usize| {
        let mut t = String::from("[conditions]\n");
        for l in 1..uses {
            t += &format!("c{l} = {{ use = \"c{}\" }}\n", l + 1);
        }
        t += &format!("c{uses} = {{ phrases = [\"deep\"] }}\n");
        t + &rule("spam.deep", "{ use = \"c1\" }")
    };
    let e = only(&chain(8)).unwrap();
    assert!(e.score(&Post::new("p", "deep")).has_signal("spam.deep"));
    let e = refused(&chain(9));
    assert!(e.contains("nests more than 8 deep"), "{e}");
}

#[test]
fn limit_distinct_phrases() {
    let words: Vec<String> = (0..50_001).map(|i| word(i, 14)).collect();
    let rules = |n: usize| {
        words[..n]
            .chunks(10_000)
            .enumerate()
            .map(|(r, c)| rule(&format!("spam.p{r}"), &phrase_list(c)))
            .collect::<String>()
    };
    only(&rules(50_000)).unwrap();
    let e = refused(&rules(50_001));
    assert!(e.contains("50001 distinct phrases (limit 50000 across the layers)"), "{e}");
}

#[test]
fn limit_phrase_bytes() {
    // 1,024 phrases of 1,024 bytes: 1 MiB exactly.
    let mut words: Vec<String> = (0..1024).map(|i| word(i, 1024)).collect();
    only(&rule("spam.long", &phrase_list(&words))).unwrap();
    words[0].push('q');
    let e = refused(&rule("spam.long", &phrase_list(&words)));
    assert!(e.contains("1048577 bytes (limit 1048576 across the layers)"), "{e}");
}

fn brand(i: usize, domains: usize) -> String {
    let list: Vec<String> = (0..domains).map(|d| format!("\"{}{d}.com\"", word(i, 14))).collect();
    format!("[[brand]]\nname = \"B{i}\"\nkind = \"exchange\"\ndomains = [{}]\n", list.join(", "))
}

#[test]
fn limit_brands_per_file() {
    assert_eq!(MAX_BRANDS, 100_000);
    // The count is checked before any entry: at the limit the file goes on
    // to its entries (the first, unnamed, is the error); past it the count
    // is. (Validating 100,000 real brands takes minutes in a debug build.)
    let first = brand(0, 1).replace("name = \"B0\"", "name = \"\"");
    let mut text: String = first + &(1..MAX_BRANDS).map(|i| brand(i, 1)).collect::<String>();
    let at = Registry::from_toml("brands.toml", &text).unwrap_err().to_string();
    assert!(at.contains("a name is 1–100") && !at.contains("at most 100000"), "{at}");
    text += &brand(MAX_BRANDS, 1);
    let e = Registry::from_toml("brands.toml", &text).unwrap_err().to_string();
    assert!(e.contains("100001 brands; at most 100000"), "{e}");
}

#[test]
fn limit_names_per_brand() {
    assert_eq!(MAX_NAMES_PER_BRAND, 64);
    Registry::from_toml("b.toml", &brand(1, 64)).unwrap();
    let e = Registry::from_toml("b.toml", &brand(1, 65)).unwrap_err().to_string();
    assert!(e.contains("65 domains; at most 64"), "{e}");
}

#[test]
fn limit_brand_name_length() {
    let named = |n: usize| brand(1, 1).replace("name = \"B1\"", &format!("name = \"{}\"", "N".repeat(n)));
    Registry::from_toml("b.toml", &named(100)).unwrap();
    let e = Registry::from_toml("b.toml", &named(101)).unwrap_err().to_string();
    assert!(e.contains("1–100"), "{e}");
}

#[test]
fn limit_feed_bytes() {
    assert_eq!(MAX_FEED_BYTES, 64 << 20);
    // One host and a comment filling the file to the byte.
    let mut text = String::from("phish-example.com\n# ");
    text.push_str(&"x".repeat(MAX_FEED_BYTES - text.len()));
    assert_eq!(Feed::parse("at.txt", &text, ListKind::Block).unwrap().len(ListKind::Block), 1);
    text.push('x');
    let e = Feed::parse("past.txt", &text, ListKind::Block).unwrap_err().to_string();
    assert!(e.contains(&format!("over the limit of {MAX_FEED_BYTES}")), "{e}");
}

#[test]
fn limit_feed_host_length() {
    // 253 characters in labels of at most 63.
    let host = |n: usize| {
        let mut h = "a".repeat(n - 4);
        for at in (63..h.len()).step_by(64) {
            h.replace_range(at..at + 1, ".");
        }
        h + ".com"
    };
    assert_eq!(host(253).len(), 253);
    Feed::parse("at.txt", &host(253), ListKind::Block).unwrap();
    let e = Feed::parse("past.txt", &host(254), ListKind::Block).unwrap_err().to_string();
    assert!(e.contains("254 characters, over 253"), "{e}");
    let e = Feed::parse("label.txt", &format!("{}.com", "a".repeat(64)), ListKind::Block).unwrap_err().to_string();
    assert!(e.contains("a label of 64 characters, over 63"), "{e}");
}

#[test]
fn limit_model_payload() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model")).unwrap();
    let claim = |len: u64| {
        let mut b = bytes.clone();
        b[12..20].copy_from_slice(&len.to_le_bytes());
        Model::from_bytes(&b).unwrap_err().to_string()
    };
    // At the limit the claim is believed, and the file is too short for it.
    let at = claim(1 << 30);
    assert!(at.contains("truncated"), "{at}");
    let past = claim((1 << 30) + 1);
    assert!(past.contains("1073741824"), "{past}");
    assert!(!past.contains("truncated"), "{past}");
}
