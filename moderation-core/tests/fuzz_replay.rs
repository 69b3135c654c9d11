//! Replays the fuzz targets in the normal suite: every file of
//! `fuzz/corpus/<target>/` (the seeds and each crash found, kept as a
//! regression) and then 10,000 inputs from a seeded, deterministic generator
//! (mutations of the corpus: byte flips, truncations, splices, duplicated
//! ranges, and markup, Unicode, TOML and JSON fragments) go through the
//! same check as the libFuzzer target (`moderation_core::fuzzing`).
//!
//! A failing input is written to `target/fuzz-replay/<target>-<n>`, to be
//! minimised with `cargo fuzz tmin` and committed to the corpus once fixed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use moderation_core::fuzzing;

/// Generated inputs per target, on top of the corpus.
const GENERATED: usize = 10_000;

/// Pieces that break text, markup, TOML and JSON parsers.
const FRAGMENTS: &[&str] = &[
    "<a href=\"https://binance-login.xyz\">",
    "</a>",
    "<p>",
    "<br>",
    "<script>",
    "</script>",
    "<!--",
    "-->",
    "<![CDATA[",
    "&#98;",
    "&amp;",
    "&#x1F600;",
    "&#xD800;",
    "&#99999999;",
    "&",
    "[x](https://a.b)",
    "](",
    "<https://a.b>",
    "```\n",
    "`",
    "*",
    "\n\n",
    "\u{FDFA}",
    "\u{FB2C}",
    "\u{3300}",
    "\u{200B}",
    "\u{202E}",
    "\u{FEFF}",
    "\u{FFFD}",
    "e\u{301}\u{308}",
    "ｶﾞﾞ",
    "シードフレーズ",
    "\u{1F}",
    "\0",
    "\u{1F600}",
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about ",
    "b i n a n c e",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    "hxxp://evil[.]com",
    "t.me/x",
    "@support",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "\\udfff",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "1e999",
    "-0",
    "\"body\":",
    "\"format\":\"html\"",
    "\"author\":{\"id\":\"a\"}",
    "[[rule]]\n",
    "[conditions]\n",
    "[settings]\n",
    "regex = \"(a+)+$\"",
    "regex = \"\\\\p{L}{1000}{1000}\"",
    "phrases = [\"x\"]",
    "{ use = \"staff\" }",
    "{ not = ",
    "{ all = [",
    "{ any = [",
    "weight = 1e308",
    "weight = nan",
    "category = \"scam\"",
    "id = \"x\"",
    "= ",
    "'''",
    "\"\"\"",
];

/// splitmix64: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// One structured mutation of `input`.
fn mutate_once(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(9) {
        // Flip a bit.
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        // A random byte.
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = rng.next() as u8;
        }
        // Truncate.
        2 => input.truncate(rng.below(len + 1)),
        // Delete a range.
        3 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(16)).min(len);
            input.drain(a..b);
        }
        // Duplicate a range.
        4 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64)).min(len);
            let piece = input[a..b].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, piece.iter().copied().cycle().take(piece.len() * (1 + rng.below(4))));
        }
        // Splice with another corpus input.
        5 if !corpus.is_empty() => {
            let other = &corpus[rng.below(corpus.len())];
            let a = rng.below(other.len() + 1);
            let b = (a + rng.below(256)).min(other.len());
            let at = rng.below(len + 1);
            input.splice(at..at, other[a..b].iter().copied());
        }
        // Change the selector byte that most targets read first.
        6 if len > 0 => input[0] = rng.next() as u8,
        // Insert a fragment (anywhere: inside a UTF-8 sequence too).
        _ => {
            let f = FRAGMENTS[rng.below(FRAGMENTS.len())].as_bytes();
            let at = rng.below(len + 1);
            input.splice(at..at, f.iter().copied());
        }
    }
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target)
}

fn read_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

/// `GENERATED` mutations of `corpus`, each at most `max_len` bytes.
fn generated(corpus: &[Vec<u8>], seed: u64, max_len: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed);
    (0..GENERATED)
        .map(|_| {
            let mut input = corpus[rng.below(corpus.len())].clone();
            // Mostly small inputs: they reach the same code faster.
            if input.len() > max_len {
                let start = rng.below(input.len() - max_len + 1);
                input =
                    if rng.below(2) == 0 { input[..max_len].to_vec() } else { input[start..start + max_len].to_vec() };
            }
            for _ in 0..1 + rng.below(5) {
                mutate_once(&mut rng, &mut input, corpus);
            }
            input.truncate(max_len);
            input
        })
        .collect()
}

/// Runs `check` on every corpus file of `target`, then on `GENERATED`
/// mutations of them (each at most `max_len` bytes).
fn replay(target: &str, seed: u64, max_len: usize, check: fn(&[u8])) {
    let corpus = read_corpus(target);
    assert!(!corpus.is_empty(), "no corpus for {target}");
    let mut failures: Vec<String> = Vec::new();
    let run = |failures: &mut Vec<String>, name: &str, input: &[u8]| {
        if catch_unwind(AssertUnwindSafe(|| check(input))).is_err() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-replay");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{target}-{}", failures.len()));
            std::fs::write(&path, input).unwrap();
            failures.push(format!("{name}: {:?} (saved as {})", String::from_utf8_lossy(input), path.display()));
        }
    };
    for (name, input) in &corpus {
        run(&mut failures, name, input);
    }
    let inputs: Vec<Vec<u8>> = corpus.into_iter().map(|(_, b)| b).collect();
    for (n, input) in generated(&inputs, seed, max_len).iter().enumerate() {
        run(&mut failures, &format!("generated #{n}"), input);
        if failures.len() >= 5 {
            break;
        }
    }
    assert!(failures.is_empty(), "{target}: {} failing inputs:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn fuzz_replay_post_json() {
    replay("post_json", 1, 2048, fuzzing::post_json);
}

#[test]
fn fuzz_replay_markup() {
    replay("markup", 2, 2048, fuzzing::markup);
}

#[test]
fn fuzz_replay_rules() {
    replay("rules", 3, 4096, fuzzing::rules);
}

#[test]
fn fuzz_replay_feeds() {
    replay("feeds", 6, 4096, fuzzing::feeds);
}

#[test]
fn fuzz_replay_webhook() {
    replay("webhook", 7, 1024, fuzzing::webhook);
}

#[test]
fn fuzz_replay_model() {
    replay("model", 4, 4096, fuzzing::model);
}

#[test]
fn fuzz_replay_score() {
    replay("score", 5, 512, fuzzing::score);
}

/// The model check reaches the payload decoder: a wrapped payload passes
/// the header and checksum checks and fails (or succeeds) on its content.
#[test]
fn wrapped_model_payloads_reach_the_decoder() {
    let err = moderation_core::Model::from_bytes(&fuzzing::wrap_model_payload(4, b"\x05hello")).unwrap_err();
    let message = err.to_string();
    assert!(!message.contains("checksum") && !message.contains("truncated"), "{message}");
}

/// The generated inputs are not all rejected at the door: a fair share
/// still decodes as a post or parses as a rule file, so the replay reaches
/// the scoring and compiling behind the parsers.
#[test]
fn generated_inputs_reach_past_the_parsers() {
    let corpus = |t: &str| read_corpus(t).into_iter().map(|(_, b)| b).collect::<Vec<_>>();
    let posts = generated(&corpus("post_json"), 1, 2048);
    let decoded = posts
        .iter()
        .filter(|b| std::str::from_utf8(b).is_ok_and(|s| moderation_core::Post::from_json(s).is_ok()))
        .count();
    let files = generated(&corpus("rules"), 3, 4096);
    let parsed = files
        .iter()
        .filter(|b| std::str::from_utf8(b).is_ok_and(|s| moderation_core::RuleSet::from_toml("f.toml", s).is_ok()))
        .count();
    eprintln!("post_json: {decoded} of {GENERATED} decode; rules: {parsed} of {GENERATED} parse");
    // (The score target scores all of its 10,000; these reach it through JSON.)
    assert!(decoded >= GENERATED / 20, "only {decoded} generated posts decode");
    assert!(parsed >= GENERATED / 100, "only {parsed} generated rule files parse");
}
