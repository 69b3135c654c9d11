#![no_main]
//! `moderation_core::fuzzing::webhook`; replayed by `moderation-core/tests/fuzz_replay.rs`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| moderation_core::fuzzing::webhook(data));
