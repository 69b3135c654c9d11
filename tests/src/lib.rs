//! Workspace-level tests live beside this crate: see `readme.rs`.
