//! Measured precision and recall of the look-alike detector on the shared datasets.
//!
//! Run with `cargo test --test lookalike_datasets -- --nocapture` to see the figures.
//! The datasets are read from `$MODERATION_DATASETS`, or else from
//! `<crate>/../../shared/datasets`; when neither exists the tests print
//! "skipped: datasets not found at …" and pass, so that a checkout without the shared
//! data still builds and tests.
//!
//! * MetaMask `eth-phishing-detect` (April 2023): the 8 `fuzzylist` domains are the
//!   protected brands; positives are the `blacklist` entries MetaMask's own fuzzy rule
//!   targets (defined in [`reference_target`]); negatives are the `whitelist`, which
//!   is largely the set of near-miss names MetaMask had to allowlist after its
//!   Levenshtein rule flagged them, so it is a deliberately hard negative set.
//!   MetaMask's own rule ([`metamask_fuzzy`]) is measured on the same data.
//! * JPCERT/CC phishing URLs (2024–2025): the six crypto brands among the spoofed
//!   brands are protected; their rows are positives, every other row (phishing of
//!   *other* brands) is a negative, where flagging it as one of ours is a false positive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use moderation_core::signals::{lookalike, urls};

/// Where the shared datasets are, if present.
fn datasets_dir() -> Result<PathBuf, PathBuf> {
    let dir = std::env::var_os("MODERATION_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join("shared").join("datasets"));
    if dir.is_dir() { Ok(dir) } else { Err(dir) }
}

/// Reads one dataset file, or prints why the test is skipped.
fn read_dataset(relative: &str) -> Option<String> {
    let dir = match datasets_dir() {
        Ok(dir) => dir,
        Err(dir) => {
            println!("skipped: datasets not found at {}", dir.display());
            return None;
        }
    };
    let path = dir.join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(err) => {
            println!("skipped: datasets not found at {} ({err})", path.display());
            None
        }
    }
}

/// The string array under `"key": [...]` in a JSON document (enough JSON for
/// `config.json`: strings with `\"`, `\\`, `\/` and `\uXXXX` escapes).
fn json_string_array(json: &str, key: &str) -> Vec<String> {
    let needle = format!("\"{key}\"");
    let Some(at) = json.find(&needle) else {
        return Vec::new();
    };
    let rest = &json[at + needle.len()..];
    let Some(open) = rest.find('[') else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut chars = rest[open + 1..].chars();
    while let Some(c) = chars.next() {
        match c {
            ']' => break,
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('u') => {
                                let hex: String = chars.by_ref().take(4).collect();
                                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                                    s.push(ch);
                                }
                            }
                            Some(other) => s.push(other),
                            None => break,
                        },
                        other => s.push(other),
                    }
                }
                out.push(s);
            }
            _ => {}
        }
    }
    out
}

/// The number under `"key":` in a JSON document.
fn json_number(json: &str, key: &str) -> Option<usize> {
    let needle = format!("\"{key}\"");
    let rest = &json[json.find(&needle)? + needle.len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Records of a CSV document: fields separated by commas, optionally quoted with `"`
/// (a doubled `""` inside quotes is a quote; quoted fields may span lines).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => in_quotes = false,
                other => field.push(other),
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            other => field.push(other),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// Plain Levenshtein distance over chars.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Lowercase ASCII host of a blocklist entry, as the URL module would report it.
fn host_of(entry: &str) -> String {
    urls::parse_link(&format!("http://{}/", entry.trim()))
        .map(|h| h.host)
        .unwrap_or_else(|| entry.trim().to_ascii_lowercase())
}

/// Labels of `host` left of its public suffix (the last label when the suffix is unknown).
fn labels_left_of_suffix(host: &str) -> Vec<String> {
    let left = match urls::registrable_domain(host) {
        Some(reg) => {
            let suffix_len = reg.split_once('.').map_or(0, |(_, s)| s.len());
            host[..host.len().saturating_sub(suffix_len)].trim_end_matches('.').to_string()
        }
        None => host.rsplit_once('.').map_or(String::new(), |(l, _)| l.to_string()),
    };
    left.split('.').filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// The reference rule defining MetaMask positives: some label left of the public
/// suffix, with hyphens removed, contains a fuzzylist registrable label (`key`) as a
/// substring, or is within Levenshtein `tolerance` of one.
fn reference_target(host: &str, keys: &[String], tolerance: usize) -> bool {
    labels_left_of_suffix(host).iter().any(|label| {
        let label = label.replace('-', "");
        keys.iter().any(|k| {
            label.contains(k.as_str())
                // The distance is at least the length difference: skip the hopeless ones.
                || (label.chars().count().abs_diff(k.chars().count()) <= tolerance && levenshtein(&label, k) <= tolerance)
        })
    })
}

/// MetaMask's own fuzzy rule (eth-phishing-detect `detector.js`): drop the last label,
/// remove the first `www.`, and flag when the Levenshtein distance to a fuzzylist
/// entry (also without its last label) is at most `tolerance`.
fn metamask_fuzzy(host: &str, fuzzy_targets: &[String], tolerance: usize) -> bool {
    let form = host.rsplit_once('.').map_or("", |(l, _)| l).replacen("www.", "", 1);
    fuzzy_targets
        .iter()
        .any(|t| form.chars().count().abs_diff(t.chars().count()) <= tolerance && levenshtein(&form, t) <= tolerance)
}

/// `n / d`, or 0 when there is nothing to divide by.
fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

#[test]
fn metamask_fuzzylist_precision_recall() {
    let Some(json) = read_dataset("eth-phishing-detect-metamask/config.json") else {
        return;
    };
    let fuzzylist = json_string_array(&json, "fuzzylist");
    let whitelist = json_string_array(&json, "whitelist");
    let blacklist = json_string_array(&json, "blacklist");
    let tolerance = json_number(&json, "tolerance").unwrap_or(2);
    assert_eq!(fuzzylist.len(), 8, "fuzzylist");
    assert!(whitelist.len() > 400 && blacklist.len() > 40_000, "lists");

    let brands = lookalike::BrandList::new(&fuzzylist);
    let brand_registrables: Vec<String> = fuzzylist.iter().filter_map(|d| urls::registrable_domain(d)).collect();
    let keys: Vec<String> = brand_registrables.iter().filter_map(|r| r.split('.').next().map(str::to_string)).collect();
    let fuzzy_targets: Vec<String> =
        fuzzylist.iter().map(|d| d.rsplit_once('.').map_or(d.as_str(), |(l, _)| l).to_string()).collect();
    let under_brand = |host: &str| {
        brands.is_official(host) || urls::registrable_domain(host).is_some_and(|r| brand_registrables.contains(&r))
    };

    println!("== MetaMask eth-phishing-detect: protected = {fuzzylist:?}");
    println!(
        "positives rule: a blacklist host is a positive when one of its labels left of the \
         public suffix (hyphens removed) contains one of {keys:?} or is within Levenshtein \
         <= {tolerance} of one; hosts under a brand's registrable domain are excluded"
    );

    // Blacklist: positives by the reference rule, and what we flag overall.
    let mut positives = 0usize;
    let mut tp = 0usize;
    let mut tp_kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut tp_confidences: Vec<f64> = Vec::new();
    let mut missed: Vec<String> = Vec::new();
    let mut flagged_all = 0usize;
    let mut flagged_beyond: BTreeMap<&str, usize> = BTreeMap::new();
    let mut beyond_examples: Vec<String> = Vec::new();
    let mut official_in_blacklist = 0usize;
    let mut base_tp = 0usize;
    let mut base_flagged_all = 0usize;
    for entry in &blacklist {
        let host = host_of(entry);
        if under_brand(&host) {
            official_in_blacklist += 1;
            continue;
        }
        let found = brands.check(&host);
        let base = metamask_fuzzy(&host, &fuzzy_targets, tolerance);
        flagged_all += usize::from(found.is_some());
        base_flagged_all += usize::from(base);
        if reference_target(&host, &keys, tolerance) {
            positives += 1;
            base_tp += usize::from(base);
            match &found {
                Some(f) => {
                    tp += 1;
                    tp_confidences.push(f.confidence);
                    *tp_kinds.entry(f.kind.as_str()).or_default() += 1;
                }
                None => missed.push(host),
            }
        } else if let Some(f) = &found {
            *flagged_beyond.entry(f.kind.as_str()).or_default() += 1;
            if beyond_examples.len() < 10 {
                beyond_examples.push(format!("{host} ({} {})", f.kind.as_str(), f.brand));
            }
        }
    }

    // Whitelist: every non-official entry is a negative.
    let mut negatives = 0usize;
    let mut fps: Vec<String> = Vec::new();
    let mut fp_kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fp_confidences: Vec<f64> = Vec::new();
    let mut base_fp = 0usize;
    for entry in &whitelist {
        let host = host_of(entry);
        if under_brand(&host) {
            continue;
        }
        negatives += 1;
        base_fp += usize::from(metamask_fuzzy(&host, &fuzzy_targets, tolerance));
        if let Some(f) = brands.check(&host) {
            *fp_kinds.entry(f.kind.as_str()).or_default() += 1;
            fp_confidences.push(f.confidence);
            fps.push(format!("{host} ({} {:.2} {})", f.kind.as_str(), f.confidence, f.brand));
        }
    }
    let fp = fps.len();

    let recall = ratio(tp, positives);
    let precision = ratio(tp, tp + fp);
    let fp_rate = ratio(fp, negatives);
    let base_recall = ratio(base_tp, positives);
    let base_precision = ratio(base_tp, base_tp + base_fp);
    let base_fp_rate = ratio(base_fp, negatives);
    println!("blacklist entries: {} ({official_in_blacklist} under a brand domain, skipped)", blacklist.len());
    println!("positives (reference rule): {positives}");
    println!(
        "ours:     recall {recall:.4} ({tp}/{positives}), precision {precision:.4}, whitelist FP {fp}/{negatives} = {fp_rate:.4}"
    );
    println!("          true positives by kind: {tp_kinds:?}");
    println!(
        "MetaMask: recall {base_recall:.4} ({base_tp}/{positives}), precision {base_precision:.4}, whitelist FP {base_fp}/{negatives} = {base_fp_rate:.4}   (Levenshtein <= {tolerance} on the host without its TLD)"
    );
    println!(
        "blacklist flagged overall: ours {flagged_all}/{}, MetaMask {base_flagged_all}/{}",
        blacklist.len(),
        blacklist.len()
    );
    println!("ours, flagged beyond the reference rule (mostly IDN homoglyphs): {flagged_beyond:?}");
    for e in &beyond_examples {
        println!("  beyond: {e}");
    }
    for threshold in [0.75, 0.9] {
        let tp_at = tp_confidences.iter().filter(|&&c| c >= threshold).count();
        let fp_at = fp_confidences.iter().filter(|&&c| c >= threshold).count();
        println!(
            "ours at confidence >= {threshold}: recall {:.4} ({tp_at}/{positives}), whitelist FP {fp_at}/{negatives} = {:.4}",
            ratio(tp_at, positives),
            ratio(fp_at, negatives)
        );
    }
    println!("whitelist false positives by kind: {fp_kinds:?}");
    for f in &fps {
        println!("  FP {f}");
    }
    println!("missed positives (first 20 of {}):", missed.len());
    for m in missed.iter().take(20) {
        println!("  miss {m}");
    }

    // Floors: far below what is measured, far above what a broken detector reaches.
    assert!(positives > 1000, "reference rule selected {positives} positives");
    // The whitelist is mostly names MetaMask's own fuzzy rule flagged and had to
    // allowlist (`etherscan.com`, `opensea.ru`, `metmask.com`), so some of it *must*
    // match brand-name rules (`binance.xyz` is required to hit): the floor on it is
    // set above what is measured (6.8%), and the high-confidence slice is held tighter.
    let fp_high = fp_confidences.iter().filter(|&&c| c >= 0.75).count();
    assert!(recall >= 0.85, "recall {recall:.4}");
    assert!(fp_rate <= 0.10, "whitelist FP rate {fp_rate:.4}");
    assert!(ratio(fp_high, negatives) <= 0.03, "whitelist FP rate at confidence >= 0.75: {fp_high}/{negatives}");
    assert!(fp_rate < base_fp_rate / 2.0, "no better than MetaMask's rule on the whitelist");
    assert!(precision >= 0.98, "precision {precision:.4}");
}

/// JPCERT spoofed-brand label → protected domain.
const JPCERT_BRANDS: &[(&str, &str)] = &[
    ("bitflyer", "bitflyer.com"),
    ("coincheck", "coincheck.com"),
    ("gmoコイン", "coin.z.com"),
    ("bitbank", "bitbank.cc"),
    ("coinbase", "coinbase.com"),
    ("metamask", "metamask.io"),
];

#[test]
fn jpcert_crypto_brands() {
    let dir = match datasets_dir() {
        Ok(dir) => dir.join("jpcert-phishing-urls"),
        Err(dir) => {
            println!("skipped: datasets not found at {}", dir.display());
            return;
        }
    };
    let mut files: Vec<PathBuf> = ["2024", "2025"]
        .iter()
        .filter_map(|year| std::fs::read_dir(dir.join(year)).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    if files.is_empty() {
        println!("skipped: datasets not found at {}", dir.display());
        return;
    }

    let protected: Vec<&str> = JPCERT_BRANDS.iter().map(|(_, d)| *d).collect();
    let brands = lookalike::BrandList::new(&protected);
    let mut rows = 0usize;
    let mut unparsed = 0usize;
    let mut positives = 0usize;
    let mut hits = 0usize;
    let mut wrong_brand = 0usize;
    let mut misses: Vec<String> = Vec::new();
    let mut negatives = 0usize;
    let mut fps: BTreeMap<String, usize> = BTreeMap::new();
    let mut fp_rows = 0usize;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for record in parse_csv(&text).into_iter().skip(1) {
            let (Some(url), Some(description)) = (record.get(1), record.get(2)) else {
                continue;
            };
            rows += 1;
            let host = urls::parse_link(url).or_else(|| urls::find_urls(url).into_iter().next()).map(|h| h.host);
            let Some(host) = host else {
                unparsed += 1;
                continue;
            };
            let found = brands.check(&host);
            let want =
                JPCERT_BRANDS.iter().find(|(label, _)| description.trim().to_lowercase() == *label).map(|(_, d)| *d);
            match want {
                Some(want) => {
                    positives += 1;
                    match &found {
                        Some(f) if f.brand == want => hits += 1,
                        Some(f) => {
                            wrong_brand += 1;
                            misses.push(format!("{url} [{description}] flagged as {}", f.brand));
                        }
                        None => misses.push(format!("{url} [{description}]")),
                    }
                }
                None => {
                    negatives += 1;
                    if let Some(f) = found {
                        fp_rows += 1;
                        *fps.entry(format!("{host} ({} {} for {description})", f.kind.as_str(), f.brand))
                            .or_default() += 1;
                    }
                }
            }
        }
    }
    let recall = ratio(hits, positives);
    let fp_rate = ratio(fp_rows, negatives);
    println!("== JPCERT/CC phishing URLs: {} files, {rows} rows ({unparsed} without a parsable host)", files.len());
    println!("protected: {protected:?}");
    println!("recall on crypto-brand rows: {recall:.4} ({hits}/{positives}; {wrong_brand} flagged as another brand)");
    println!("misses (up to 20):");
    for m in misses.iter().take(20) {
        println!("  miss {m}");
    }
    println!("false positives on other brands' rows: {fp_rows}/{negatives} = {fp_rate:.5}");
    for (host, n) in fps.iter().take(30) {
        println!("  FP x{n} {host}");
    }

    assert!(positives >= 20, "only {positives} crypto-brand rows");
    assert!(recall >= 0.35, "recall {recall:.4}");
    assert!(fp_rate <= 0.01, "FP rate {fp_rate:.5}");
}

/// How the shipped registry's matcher judges a host, at the levels the default
/// pack acts on: `strong` (a look-alike of confidence ≥ 0.85: the post is
/// held), `lure` (an unbranded lure host ≥ 0.75: review), `weak` (a look-alike
/// ≥ 0.5: weight 2.5, below review on its own, review with other evidence).
/// *Flagged* is `lure` or `strong`: what a bare link brings to review or worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Clean,
    Official,
    Below,
    Weak,
    Lure,
    Strong,
}

fn level(brands: &lookalike::BrandList, host: &str) -> Level {
    match brands.judge(host) {
        lookalike::HostJudgement::Official(_) => Level::Official,
        lookalike::HostJudgement::Lookalike(l) if l.confidence >= 0.85 => Level::Strong,
        lookalike::HostJudgement::Lookalike(l) if l.confidence >= 0.5 => Level::Weak,
        lookalike::HostJudgement::Lure(l) if l.confidence >= 0.75 => Level::Lure,
        lookalike::HostJudgement::Lookalike(_) | lookalike::HostJudgement::Lure(_) => Level::Below,
        lookalike::HostJudgement::Clean => Level::Clean,
    }
}

/// A stable half of a list: entries whose FNV-1a hash is odd. The registry and
/// the matcher were tuned without looking at this half (the fire table copies
/// a few blacklist hosts; those are left out too).
fn held_out(host: &str) -> bool {
    let h = host.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    h & 1 == 1
}

#[test]
fn registry_matcher_on_metamask_and_jpcert() {
    let Some(json) = read_dataset("eth-phishing-detect-metamask/config.json") else {
        return;
    };
    let registry = moderation_core::rules::Registry::default_registry();
    let brands = lookalike::BrandList::with_registry::<&str>(&[], &registry.brands);
    let fire_table = include_str!("data/lookalike_hosts.toml");
    let blacklist = json_string_array(&json, "blacklist");
    let whitelist = json_string_array(&json, "whitelist");

    let count = |hosts: &[String]| {
        let mut by: BTreeMap<Level, usize> = BTreeMap::new();
        for h in hosts {
            *by.entry(level(&brands, h)).or_default() += 1;
        }
        by
    };
    let pct = |n: usize, d: usize| 100.0 * ratio(n, d);
    let flagged = |by: &BTreeMap<Level, usize>| {
        [Level::Lure, Level::Strong].iter().map(|l| by.get(l).copied().unwrap_or(0)).sum::<usize>()
    };

    println!("== shipped registry: {} brands, {} names", registry.brands.len(), brands.len());
    let held: Vec<String> = blacklist
        .iter()
        .map(|e| host_of(e))
        .filter(|h| held_out(h) && !fire_table.contains(&format!("\"{h}\"")))
        .collect();
    let by = count(&held);
    let official = by.get(&Level::Official).copied().unwrap_or(0);
    let n = held.len() - official;
    println!(
        "MetaMask blacklist, held-out half without the feed: {} hosts ({official} under a registry domain, skipped)",
        held.len()
    );
    println!(
        "  flagged {:.1}% ({}/{n}): strong {}, lure {}; weak (not flagged alone) {}; below the pack's levels {}; clean {}",
        pct(flagged(&by), n),
        flagged(&by),
        by.get(&Level::Strong).copied().unwrap_or(0),
        by.get(&Level::Lure).copied().unwrap_or(0),
        by.get(&Level::Weak).copied().unwrap_or(0),
        by.get(&Level::Below).copied().unwrap_or(0),
        by.get(&Level::Clean).copied().unwrap_or(0),
    );

    let white: Vec<String> = whitelist.iter().map(|e| host_of(e)).collect();
    let by = count(&white);
    let official = by.get(&Level::Official).copied().unwrap_or(0);
    let n = white.len() - official;
    let fps: Vec<&String> = white.iter().filter(|h| level(&brands, h) >= Level::Lure).collect();
    println!(
        "MetaMask allow list: {} hosts ({official} official in the registry): flagged {:.2}% ({}/{n}): {fps:?}; weak (not flagged alone) {}",
        white.len(),
        pct(fps.len(), n),
        fps.len(),
        by.get(&Level::Weak).copied().unwrap_or(0),
    );
    assert!(fps.len() * 100 <= n, "more than 1% of the MetaMask allow list flagged: {fps:?}");

    // Every official host of the registry is judged official.
    for b in &registry.brands {
        for h in b.domains.iter().chain(&b.hosts) {
            assert_eq!(level(&brands, h), Level::Official, "{h}");
        }
    }

    // JPCERT: the crypto-brand rows (any brand label naming a registry brand).
    let dir = match datasets_dir() {
        Ok(dir) => dir.join("jpcert-phishing-urls"),
        Err(_) => return,
    };
    let mut files: Vec<PathBuf> = ["2024", "2025"]
        .iter()
        .filter_map(|year| std::fs::read_dir(dir.join(year)).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let labels: Vec<&str> = JPCERT_BRANDS.iter().map(|(l, _)| *l).collect();
    let (mut positives, mut hits, mut negatives, mut fp) = (0usize, 0usize, 0usize, 0usize);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for record in parse_csv(&text).into_iter().skip(1) {
            let (Some(url), Some(description)) = (record.get(1), record.get(2)) else { continue };
            let Some(host) = urls::parse_link(url).or_else(|| urls::find_urls(url).into_iter().next()).map(|h| h.host)
            else {
                continue;
            };
            let l = level(&brands, &host);
            if labels.contains(&description.trim().to_lowercase().as_str()) {
                positives += 1;
                hits += usize::from(l >= Level::Lure);
            } else {
                negatives += 1;
                fp += usize::from(l >= Level::Lure);
            }
        }
    }
    println!(
        "JPCERT crypto-brand rows: flagged {:.1}% ({hits}/{positives}); other brands' rows flagged as a crypto look-alike {:.3}% ({fp}/{negatives})",
        pct(hits, positives),
        pct(fp, negatives)
    );
}
