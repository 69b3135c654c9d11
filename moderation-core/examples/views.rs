//! Prints the `words` and `normalized` views of each line of standard input:
//! what rule phrases and `view = "normalized"` patterns are matched against.
//!
//! ```sh
//! echo 'Нyжны люди, oплaтa 5к' | cargo run -p moderation-core --example views
//! ```
use std::io::BufRead;

use moderation_core::{Format, normalized_view, parse_markup, words_view};

fn main() {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let raw = parse_markup(&line, Format::Text).raw;
        let words = words_view(&raw);
        let norm = normalized_view(&words);
        println!("words:      {}\nnormalized: {}", words.as_str(), norm.text.as_str());
    }
}
