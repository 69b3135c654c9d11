//! Workspace-level tests. `readme.rs` checks the README's JSON and rule
//! examples against the engine; the README's Rust example is compiled and
//! run as a doctest of this crate (`cargo test --workspace --doc`).
#![doc = include_str!("../../README.md")]
