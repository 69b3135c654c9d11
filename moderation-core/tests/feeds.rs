//! Phishing feed files: the cases of `tests/data/feeds/cases.toml` (each
//! format, lookups, refused files with their lines), allow beating block
//! across feeds, and the real MetaMask config when the shared datasets are
//! present.
//!
//! Run `cargo test -p moderation-core --test feeds -- --nocapture` to see the
//! parse time, memory and lookup time of the MetaMask file. The datasets are
//! read from `$MODERATION_DATASETS`, or else from `<crate>/../../shared/datasets`;
//! without them that test prints "skipped: datasets not found at …" and passes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use moderation_core::Error;
use moderation_core::signals::feeds::{Feed, FeedFormat, Feeds, ListKind, SkipReason};
use serde::Deserialize;

/// Counts the bytes each thread has allocated and not freed, so that the
/// MetaMask test can report the memory of a parse while other tests run.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// counting only reads the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` came from `alloc`/`realloc` above, that is from `System`.
        unsafe { System.dealloc(p, layout) };
        note(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`.
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("data").join("feeds")
}

#[derive(Deserialize)]
struct Cases {
    feed: Vec<FeedCase>,
    bad: Vec<BadCase>,
}

#[derive(Deserialize)]
struct FeedCase {
    file: String,
    kind: String,
    format: String,
    block: usize,
    allow: usize,
    skipped: Vec<usize>,
    lookups: Vec<[String; 3]>,
}

#[derive(Deserialize)]
struct BadCase {
    file: String,
    line: usize,
    message: String,
}

fn cases() -> Cases {
    let text = std::fs::read_to_string(testdata().join("cases.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn kind(name: &str) -> ListKind {
    match name {
        "block" => ListKind::Block,
        "allow" => ListKind::Allow,
        other => panic!("unknown list kind {other:?}"),
    }
}

fn load(file: &str, list: ListKind) -> Feed {
    Feed::from_file(testdata().join(file), list).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn each_format_parses_with_the_right_counts() {
    for case in cases().feed {
        let feed = load(&case.file, kind(&case.kind));
        let f = &case.file;
        assert_eq!(feed.name(), case.file);
        assert_eq!(feed.format().as_str(), case.format, "{f}");
        assert_eq!(feed.len(ListKind::Block), case.block, "{f}: block list");
        assert_eq!(feed.len(ListKind::Allow), case.allow, "{f}: allow list");
        let skipped: Vec<usize> = feed.skipped_entries().iter().filter_map(|s| s.line).collect();
        assert_eq!(skipped, case.skipped, "{f}: lines of the skipped entries {:?}", feed.skipped_entries());
        assert_eq!(feed.skipped(), case.skipped.len(), "{f}");
        let (name, hash) = feed.version().split_once('@').unwrap();
        assert_eq!(name, case.file);
        assert!(hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "{}", feed.version());
    }
}

#[test]
fn lookups_match_hosts_subdomains_and_platform_sites_but_never_suffixes() {
    let mut checked = 0;
    for case in cases().feed {
        let feed = load(&case.file, kind(&case.kind));
        for [host, expected, entry] in &case.lookups {
            let got = feed.lookup(host);
            match expected.as_str() {
                "none" => assert_eq!(got, None, "{}: {host}", case.file),
                side => {
                    let hit = got.unwrap_or_else(|| panic!("{}: {host} not found", case.file));
                    assert_eq!((hit.kind.as_str(), hit.entry), (side, entry.as_str()), "{}: {host}", case.file);
                    assert_eq!(hit.feed, feed.version());
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} lookups");
}

#[test]
fn metamask_skips_are_reported_with_their_reason() {
    let feed = load("metamask.json", ListKind::Block);
    let skipped: Vec<(&str, SkipReason)> =
        feed.skipped_entries().iter().map(|s| (s.entry.as_str(), s.reason)).collect();
    assert_eq!(
        skipped,
        [
            ("arbitrum-labs.pw,", SkipReason::TrailingComma),
            ("3commas-best", SkipReason::SingleLabel),
            ("pages.dev", SkipReason::PlatformSuffix)
        ]
    );
}

#[test]
fn bad_files_are_refused_whole_with_name_and_line() {
    let bad = cases().bad;
    assert!(bad.len() >= 10);
    for case in bad {
        let err = match Feed::from_file(testdata().join(&case.file), ListKind::Block) {
            Err(Error::Feed(err)) => err,
            Err(other) => panic!("{}: not a feed error: {other}", case.file),
            Ok(feed) => panic!("{}: loaded {feed:?}", case.file),
        };
        assert_eq!((err.source_name.as_str(), err.line), (case.file.as_str(), Some(case.line)), "{err}");
        assert!(err.message.contains(&case.message), "{}: {:?} lacks {:?}", case.file, err.message, case.message);
        let shown = Error::Feed(err).to_string();
        assert!(shown.starts_with(&format!("{}:{}: ", case.file, case.line)), "{shown}");
    }
}

#[test]
fn missing_files_name_the_path() {
    let path = testdata().join("no-such-feed.txt");
    match Feed::from_file(&path, ListKind::Block) {
        Err(err @ Error::Io { .. }) => assert!(err.to_string().contains("no-such-feed.txt"), "{err}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_allow_entry_in_any_feed_beats_a_block_entry_in_any_other() {
    let block = load("metamask.json", ListKind::Block);
    let also_block = load("hosts-array.json", ListKind::Block);
    let allow = load("good.txt", ListKind::Allow);
    let block_version = block.version().to_string();
    let allow_version = allow.version().to_string();

    // `good.txt` allows `wallet.evil-wallet.example`, under MetaMask's `evil-wallet.example`.
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let all = [block.clone(), also_block.clone(), allow.clone()];
        let feeds = Feeds::new(order.iter().map(|&i| all[i].clone()).collect());
        let hit = feeds.lookup("login.wallet.evil-wallet.example").unwrap();
        assert_eq!((hit.kind, hit.entry, hit.feed), (ListKind::Allow, "wallet.evil-wallet.example", &*allow_version));
        let hit = feeds.lookup("login.evil-wallet.example").unwrap();
        assert_eq!((hit.kind, hit.entry, hit.feed), (ListKind::Block, "evil-wallet.example", &*block_version));
        // Blocked by two feeds (Unicode entry in one, punycode in the other);
        // allowed by none: the first feed in order reports it.
        let hit = feeds.lookup("www.bïnance.com").unwrap();
        assert_eq!(hit.kind, ListKind::Block);
        assert_eq!(hit.feed, feeds.iter().find(|f| f.name() != "good.txt").unwrap().version());
        assert_eq!(feeds.lookup("binance.com").map(|h| h.kind), Some(ListKind::Allow));
        assert_eq!(feeds.lookup("github.io"), None);
        assert_eq!(feeds.versions().len(), 3);
    }
    assert!(Feeds::default().is_empty());
    assert_eq!(Feeds::default().lookup("evil-wallet.example"), None);
}

/// Where the shared datasets are, if present.
fn datasets_dir() -> Result<PathBuf, PathBuf> {
    let dir = std::env::var_os("MODERATION_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join("shared").join("datasets"));
    if dir.is_dir() { Ok(dir) } else { Err(dir) }
}

/// The published file loads; every blacklist entry is found, every whitelist
/// entry comes back Allow.
#[test]
fn the_real_metamask_config_loads_and_every_entry_is_found() {
    let path = match datasets_dir() {
        Ok(dir) => dir.join("eth-phishing-detect-metamask").join("config.json"),
        Err(dir) => {
            println!("skipped: datasets not found at {}", dir.display());
            return;
        }
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: datasets not found at {}", path.display());
        return;
    };

    let live_before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(live_before));
    let started = Instant::now();
    let feed = Feed::parse("config.json", &text, ListKind::Block).unwrap();
    let parse_time = started.elapsed();
    let retained = LIVE.with(Cell::get) - live_before;
    let peak = PEAK.with(Cell::get) - live_before;
    println!(
        "MetaMask config.json ({} bytes): parsed in {:.1} ms; the feed holds {:.2} MiB (peak {:.2} MiB during the parse)",
        text.len(),
        parse_time.as_secs_f64() * 1e3,
        retained as f64 / (1 << 20) as f64,
        peak as f64 / (1 << 20) as f64,
    );
    let started = Instant::now();
    let from_file = Feed::from_file(&path, ListKind::Allow).unwrap();
    println!("Feed::from_file (read + parse): {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    assert_eq!(from_file.version(), feed.version());
    assert_eq!(feed.format(), FeedFormat::MetaMask);
    assert!(feed.version().starts_with("config.json@1eb351305286"), "{}", feed.version());

    for s in feed.skipped_entries() {
        println!("skipped: line {:?}: {:?} ({})", s.line, s.entry, s.reason.as_str());
    }
    // Checked by hand against the file (April 2023): hosts followed by a stray
    // comma, single-label names and platform suffixes (a dynamic-DNS domain,
    // two ENS gateway names); none of them is on the whitelist.
    let skipped: HashSet<&str> = feed.skipped_entries().iter().map(|s| s.entry.as_str()).collect();
    let by_reason = |reason: SkipReason| {
        let mut v: Vec<&str> =
            feed.skipped_entries().iter().filter(|s| s.reason == reason).map(|s| s.entry.as_str()).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(
        by_reason(SkipReason::TrailingComma),
        ["arbirtumbridge.shop,", "arbitrum-event.com,", "arbitrum-labs.pw,", "hop-arbitrum.exchange,"]
    );
    assert_eq!(
        by_reason(SkipReason::SingleLabel),
        ["3commas-best", "arbirtium", "authorize-web", "com12786312634", "iclexofmarket"]
    );
    assert_eq!(by_reason(SkipReason::PlatformSuffix), ["api3.eth.link", "compute-cloud.eth.limo", "servehalflife.com"]);
    assert_eq!(feed.skipped(), 12);
    assert!(feed.skipped_entries().iter().all(|s| s.line.is_some()));
    assert_eq!(feed.len(ListKind::Block), 43_834 - 12);
    assert_eq!(feed.len(ListKind::Allow), 506);

    // The lists as a plain JSON reader sees them.
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let list = |key: &str| -> Vec<String> {
        json[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
    };
    let (blacklist, whitelist) = (list("blacklist"), list("whitelist"));
    let allowed: HashSet<&str> = whitelist.iter().map(String::as_str).collect();

    let started = Instant::now();
    let mut cleared = Vec::new();
    for entry in &blacklist {
        if skipped.contains(entry.as_str()) {
            // Nothing matches a skipped entry as written; a host with a stray
            // comma may be listed without it too.
            assert_eq!(feed.lookup(entry), None, "{entry}");
            if let Some(hit) = feed.lookup(entry.trim_end_matches(',')) {
                println!("skipped {entry:?}, but the file lists {:?} too", hit.entry);
            }
            continue;
        }
        let hit = feed.lookup(entry).unwrap_or_else(|| panic!("{entry} not found"));
        match hit.kind {
            ListKind::Block => assert_eq!(hit.entry, entry, "{entry}: the most specific entry reports"),
            ListKind::Allow => {
                // Cleared by a whitelist entry: the host itself or a parent.
                assert!(allowed.contains(hit.entry), "{entry}: {hit:?}");
                assert!(entry == hit.entry || entry.ends_with(&format!(".{}", hit.entry)), "{entry}: {hit:?}");
                cleared.push(format!("{entry} (by {})", hit.entry));
            }
        }
        // A subdomain is covered too; an address only matches itself.
        let subdomain = format!("login.{entry}");
        assert_eq!(feed.lookup(&subdomain).is_some(), entry.parse::<std::net::IpAddr>().is_err(), "{subdomain}");
    }
    let lookups = 2 * blacklist.len();
    println!(
        "{lookups} lookups in {:.1} ms; {} blacklist entries are cleared by the whitelist: {cleared:?}",
        started.elapsed().as_secs_f64() * 1e3,
        cleared.len()
    );
    for entry in &whitelist {
        let hit = feed.lookup(entry).unwrap_or_else(|| panic!("{entry} not found"));
        assert_eq!((hit.kind, hit.entry), (ListKind::Allow, entry.as_str()));
    }
}
