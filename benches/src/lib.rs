//! Benchmarks live in `scoring.rs`; run `cargo bench -p moderation-benches`.
