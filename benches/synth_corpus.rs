//! Writes a synthetic labelled corpus of N posts (JSON lines, the team
//! corpus's format) for timing `moderation train` at scale; the licensed
//! training sides hold only ~12k posts.
//!
//! Run: `cargo run --release -p moderation-benches --bin synth-corpus -- 100000 > /tmp/synth.jsonl`
//!
//! Each post starts from a random team-corpus post (keeping its labels and
//! language), appends up to three other posts of the same language, and
//! drops, repeats and swaps words, so bodies are 200 B – 2 KB and no two are
//! alike. Seeded: the same N gives the same file.

use std::io::{BufWriter, Write};

use serde_json::Value;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/forum-posts");
    let mut posts: Vec<Value> = Vec::new();
    for lang in ["en", "ja"] {
        for line in std::fs::read_to_string(format!("{dir}/{lang}.jsonl"))?.lines() {
            if !line.trim().is_empty() {
                posts.push(serde_json::from_str(line)?);
            }
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    for i in 0..n {
        let base = &posts[rng.below(posts.len())];
        let lang = base["lang"].as_str().unwrap_or("en");
        let mut body = base["body"].as_str().unwrap_or("").to_string();
        for _ in 0..rng.below(4) {
            let other = &posts[rng.below(posts.len())];
            if other["lang"].as_str() == Some(lang) {
                body.push(if lang == "ja" { '\n' } else { ' ' });
                body.push_str(other["body"].as_str().unwrap_or(""));
            }
        }
        // Perturb words (split on spaces; Japanese bodies have few).
        let mut words: Vec<&str> = body.split(' ').collect();
        for _ in 0..words.len() / 8 {
            let a = rng.below(words.len());
            match rng.below(3) {
                0 if words.len() > 3 => {
                    words.remove(a);
                }
                1 => {
                    let w = words[a];
                    words.insert(a, w);
                }
                _ => {
                    let b = rng.below(words.len());
                    words.swap(a, b);
                }
            }
        }
        let mut post = base.clone();
        post["id"] = Value::from(format!("syn-{i:06}"));
        post["body"] = Value::from(words.join(" "));
        serde_json::to_writer(&mut out, &post)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
