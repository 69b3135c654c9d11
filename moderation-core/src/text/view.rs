//! Text derived from a field, with every byte mapped back to the original.
//!
//! Every transformation the engine applies (HTML decoding, NFKC, case
//! folding, confusable folding, de-spacing …) produces a [`View`]. A match
//! found in a view is reported through [`View::origin`], so the span a
//! moderator sees is what the poster actually wrote, never the normalized
//! form.
//!
//! The map is a list of segments. Most of a post survives normalization
//! byte for byte in length (`A`→`a`, `サ`→`さ`, unchanged text), and such
//! characters extend one *identity* segment, so a view of ordinary text costs
//! a handful of segments rather than two integers per byte.

use std::ops::Range;

/// A string plus, for each of its bytes, the range of the original field it
/// came from.
#[derive(Debug, Clone, Default)]
pub struct View {
    text: String,
    /// `None` means the view is the original text itself (the identity map).
    map: Option<Vec<Segment>>,
}

/// A run of view bytes `view..view + len` mapped to the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    view: u32,
    len: u32,
    orig: u32,
    /// Identity: view byte `view + k` is original byte `orig + k` (the
    /// characters have the same UTF-8 length on both sides). Otherwise every
    /// byte of the segment stands for the whole of `orig..orig_end`.
    orig_end: u32,
    identity: bool,
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
        let Some(segs) = &self.map else { return a..b.max(a) };
        if segs.is_empty() {
            return 0..0;
        }
        if b <= a {
            let at = if a < len { self.start_of(segs, a) } else { self.end_of(segs, len) };
            return at..at;
        }
        let start = self.start_of(segs, a);
        let end = self.end_of(segs, b);
        start..end.max(start)
    }

    /// Original start of the character at view byte `at` (< len).
    fn start_of(&self, segs: &[Segment], at: usize) -> usize {
        let s = &segs[segs.partition_point(|s| (s.view + s.len) as usize <= at).min(segs.len() - 1)];
        if s.identity { s.orig as usize + (at - s.view as usize) } else { s.orig as usize }
    }

    /// Original end of the character ending at view byte `end` (> 0).
    fn end_of(&self, segs: &[Segment], end: usize) -> usize {
        let s = &segs[segs.partition_point(|s| ((s.view + s.len) as usize) < end).min(segs.len() - 1)];
        if s.identity { s.orig as usize + (end - s.view as usize) } else { s.orig_end as usize }
    }

    /// The characters of the view with their original ranges.
    pub(crate) fn units(&self) -> Vec<Unit> {
        let mut out = Vec::with_capacity(self.text.len());
        self.for_each_unit(|u| out.push(u));
        out
    }

    /// Calls `f` with each character and its original range, in one pass.
    pub(crate) fn for_each_unit(&self, mut f: impl FnMut(Unit)) {
        match &self.map {
            None => {
                for (i, ch) in self.text.char_indices() {
                    f(Unit { ch, start: i as u32, end: (i + ch.len_utf8()) as u32 });
                }
            }
            Some(segs) => {
                for s in segs {
                    let text = &self.text[s.view as usize..(s.view + s.len) as usize];
                    for (i, ch) in text.char_indices() {
                        let (start, end) = if s.identity {
                            let at = s.orig + i as u32;
                            (at, at + ch.len_utf8() as u32)
                        } else {
                            (s.orig, s.orig_end)
                        };
                        f(Unit { ch, start, end });
                    }
                }
            }
        }
    }

    /// Calls `f` with each run of the view's text and where it came from,
    /// in order: the pieces [`View::for_each_unit`] walks one character at
    /// a time, for callers that copy long runs whole.
    pub(crate) fn for_each_run(&self, mut f: impl FnMut(&str, Run)) {
        match &self.map {
            None => f(&self.text, Run::Identity(0)),
            Some(segs) => {
                for s in segs {
                    let text = &self.text[s.view as usize..(s.view + s.len) as usize];
                    f(text, if s.identity { Run::Identity(s.orig) } else { Run::Opaque(s.orig, s.orig_end) });
                }
            }
        }
    }

    /// Builds a view from units (each char with its original range).
    pub(crate) fn from_units(units: &[Unit]) -> View {
        // Fast path: every character covers exactly its own bytes of one
        // contiguous stretch of the original (lowercasing, kana folding and
        // unchanged text do), so the map is a single identity segment.
        let first = units.first().map_or(0, |u| u.start);
        let mut at = first;
        let mut identity = true;
        for u in units {
            let n = u.ch.len_utf8() as u32;
            if u.start != at || u.end != at + n {
                identity = false;
                break;
            }
            at += n;
        }
        if identity {
            let text: String = units.iter().map(|u| u.ch).collect();
            let len = text.len() as u32;
            let segs = if len == 0 {
                Vec::new()
            } else {
                vec![Segment { view: 0, len, orig: first, orig_end: first + len, identity: true }]
            };
            return View { text, map: Some(segs) };
        }
        let bytes = units.iter().map(|u| u.ch.len_utf8()).sum();
        let mut b = ViewBuilder::with_capacity(bytes);
        for u in units {
            b.push(u.ch, u.start..u.end);
        }
        b.finish()
    }
}

/// Where a run of a view's text came from (see [`View::for_each_run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// Byte `k` of the run is original byte `start + k`.
    Identity(u32),
    /// Every character of the run stands for the whole original range.
    Opaque(u32, u32),
}

/// Builds a [`View`] one character at a time.
#[derive(Debug, Default)]
pub(crate) struct ViewBuilder {
    text: String,
    segs: Vec<Segment>,
}

impl ViewBuilder {
    pub fn with_capacity(n: usize) -> ViewBuilder {
        ViewBuilder { text: String::with_capacity(n), segs: Vec::with_capacity(8) }
    }

    pub fn push(&mut self, ch: char, origin: Range<u32>) {
        let view = self.text.len() as u32;
        let n = ch.len_utf8() as u32;
        self.text.push(ch);
        let identity = origin.end - origin.start == n;
        if let Some(last) = self.segs.last_mut() {
            let contiguous = last.view + last.len == view;
            if contiguous && identity && last.identity && last.orig + last.len == origin.start {
                last.len += n;
                last.orig_end = origin.end;
                return;
            }
            // Characters that came from the same original range (an NFKC
            // expansion, a decoded entity) share one opaque segment.
            if contiguous && !last.identity && last.orig == origin.start && last.orig_end == origin.end {
                last.len += n;
                return;
            }
        }
        self.segs.push(Segment { view, len: n, orig: origin.start, orig_end: origin.end, identity });
    }

    /// Appends what `fill` writes, every byte mapped to its own byte of the
    /// original from `origin` on (characters of the same UTF-8 length as
    /// the ones they stand for): what `push` would do one character at a
    /// time, with one segment test for the whole run. Returns what `fill`
    /// returned.
    pub fn push_identity_run<T>(&mut self, origin: u32, fill: impl FnOnce(&mut String) -> T) -> T {
        let view = self.text.len() as u32;
        let result = fill(&mut self.text);
        let n = self.text.len() as u32 - view;
        if n == 0 {
            return result;
        }
        match self.segs.last_mut() {
            Some(last) if last.identity && last.view + last.len == view && last.orig + last.len == origin => {
                last.len += n;
                last.orig_end = origin + n;
            }
            _ => self.segs.push(Segment { view, len: n, orig: origin, orig_end: origin + n, identity: true }),
        }
        result
    }

    /// The last character pushed.
    pub fn last_char(&self) -> Option<char> {
        self.text.chars().next_back()
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn finish(self) -> View {
        View { text: self.text, map: Some(self.segs) }
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
    fn identity_runs_and_expansions() {
        // "ＡbcﷺZ" → "abc" + 3 chars from one source char + "z"
        let src = "Ａbc\u{FDFA}Z";
        let mut b = ViewBuilder::default();
        b.push('a', 0..3);
        b.push('b', 3..4);
        b.push('c', 4..5);
        for ch in "xyz".chars() {
            b.push(ch, 5..8);
        }
        b.push('z', 8..9);
        let v = b.finish();
        assert_eq!(v.as_str(), "abcxyzz");
        assert_eq!(&src[v.origin(0..1)], "Ａ");
        assert_eq!(&src[v.origin(1..3)], "bc");
        assert_eq!(&src[v.origin(4..5)], "\u{FDFA}");
        assert_eq!(&src[v.origin(2..7)], "c\u{FDFA}Z");
        let units = v.units();
        assert_eq!(units.len(), 7);
        assert_eq!(units[0], Unit { ch: 'a', start: 0, end: 3 });
        assert_eq!(units[4], Unit { ch: 'y', start: 5, end: 8 });
        assert_eq!(View::from_units(&units).origin(0..7), 0..9);
    }

    #[test]
    fn identity_maps_to_itself() {
        let v = View::identity("héllo");
        assert_eq!(v.origin(1..3), 1..3);
        assert_eq!(v.units()[2], Unit { ch: 'l', start: 3, end: 4 });
    }
}
