//! Signal extraction: facts about a post that rules and the classifier use.
//!
//! Each extractor has one job and says which view of the text it reads:
//! addresses, keys, URLs, contacts on the raw (decoded) text, where case and
//! punctuation carry meaning; seed words on the words view, which keeps word
//! separators (U+3000 included). [`feeds`] is the odd one out: not an
//! extractor but the block and allow lists of hosts (phishing feeds) that the
//! hosts found by [`urls`] are looked up in.

pub mod contacts;
pub mod crypto;
pub mod feeds;
pub mod lookalike;
pub mod report;
mod scan;
pub mod seed;
pub mod urls;

#[cfg(test)]
mod test_strings;
