//! Text derived from a field, with every byte mapped back to the original.
//!
//! Every transformation the engine applies (HTML decoding, NFKC, case
//! folding, confusable folding, de-spacing …) produces a [`View`]. A match
//! found in a view is reported through [`View::origin`], so the span a
//! moderator sees is what the poster actually wrote, never the normalized
//! form.

use std::ops::Range;

/// A string plus, for each of its bytes, the range of the original field it
/// came from.
#[derive(Debug, Clone, Default)]
pub struct View {
    text: String,
    /// `None` means the view is the original text itself (the identity map),
    /// which spares plain-text posts two allocations.
    map: Option<Map>,
}

#[derive(Debug, Clone, Default)]
struct Map {
    starts: Vec<u32>,
    ends: Vec<u32>,
}

/// One character of a view with the original range it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unit {
    pub ch: char,
    pub start: u32,
    pub end: u32,
}

impl View {
    /// A view that is the original text itself.
    pub fn identity(text: &str) -> View {
        View { text: text.to_string(), map: None }
    }

    /// The view's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Maps a byte range of this view to the byte range of the original
    /// field it came from. Both ends of the result are char boundaries of
    /// the original, whatever range is given (out-of-range ends are clamped).
    pub fn origin(&self, range: Range<usize>) -> Range<usize> {
        let len = self.text.len();
        let (a, b) = (range.start.min(len), range.end.min(len));
        match &self.map {
            None => a..b.max(a),
            Some(_) if len == 0 => 0..0,
            Some(map) => {
                if b <= a {
                    let at = if a < len { map.starts[a] } else { map.ends[len - 1] } as usize;
                    return at..at;
                }
                let start = map.starts[a] as usize;
                let end = map.ends[b - 1] as usize;
                start..end.max(start)
            }
        }
    }

    /// The characters of the view with their original ranges.
    pub(crate) fn units(&self) -> Vec<Unit> {
        let mut out = Vec::with_capacity(self.text.len());
        for (i, ch) in self.text.char_indices() {
            let r = self.origin(i..i + ch.len_utf8());
            out.push(Unit { ch, start: r.start as u32, end: r.end as u32 });
        }
        out
    }

    /// Builds a view from units (each char with its original range).
    pub(crate) fn from_units(units: &[Unit]) -> View {
        let mut b = ViewBuilder::with_capacity(units.len());
        for u in units {
            b.push(u.ch, u.start..u.end);
        }
        b.finish()
    }
}

/// Builds a [`View`] one character at a time.
#[derive(Debug, Default)]
pub(crate) struct ViewBuilder {
    text: String,
    starts: Vec<u32>,
    ends: Vec<u32>,
}

impl ViewBuilder {
    pub fn with_capacity(n: usize) -> ViewBuilder {
        ViewBuilder { text: String::with_capacity(n), starts: Vec::with_capacity(n), ends: Vec::with_capacity(n) }
    }

    pub fn push(&mut self, ch: char, origin: Range<u32>) {
        self.text.push(ch);
        for _ in 0..ch.len_utf8() {
            self.starts.push(origin.start);
            self.ends.push(origin.end);
        }
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn finish(self) -> View {
        View { text: self.text, map: Some(Map { starts: self.starts, ends: self.ends }) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_covers_every_source_character() {
        let mut b = ViewBuilder::default();
        b.push('b', 0..5); // "&#98;"
        b.push('i', 5..6);
        b.push('n', 6..7);
        let v = b.finish();
        assert_eq!(v.as_str(), "bin");
        assert_eq!(v.origin(0..1), 0..5);
        assert_eq!(v.origin(1..3), 5..7);
        assert_eq!(v.origin(0..3), 0..7);
        assert_eq!(v.origin(2..2), 6..6);
        assert_eq!(v.origin(3..9), 7..7);
    }

    #[test]
    fn identity_maps_to_itself() {
        let v = View::identity("héllo");
        assert_eq!(v.origin(1..3), 1..3);
        assert_eq!(v.units()[2], Unit { ch: 'l', start: 3, end: 4 });
    }
}
