//! The byte scanner the extractors share: branch-free block tests that pass
//! over the (many) blocks of a post holding nothing of interest.

/// Bytes a block test judges at once: one SSE2 vector.
pub(super) const BLOCK: usize = 16;

/// Calls `f` with each position flagged by `test`, in increasing order.
///
/// `test` gets the `W >= BLOCK` bytes starting at each multiple of [`BLOCK`]
/// (zero-padded past the end of `bytes`) and returns, as one byte per position
/// (little-endian), 1 where something of interest may start among the first
/// `BLOCK` of them and 0 elsewhere. Tests are written as branch-free
/// comparisons on arrays so that they compile to a few vector instructions:
/// the signals they look for are absent from most blocks of most posts, which
/// are then passed over without looking at each byte. A callback rather than
/// an iterator keeps the loop state in registers.
#[inline]
pub(super) fn for_each_flagged<const W: usize>(
    bytes: &[u8],
    test: impl Fn(&[u8; W]) -> u128,
    mut f: impl FnMut(usize),
) {
    let mut block = 0;
    while block < bytes.len() {
        let mut hits = match bytes.get(block..block + W).and_then(|w| <&[u8; W]>::try_from(w).ok()) {
            Some(w) => test(w),
            None => {
                let mut padded = [0u8; W];
                let rest = bytes.get(block..).unwrap_or_default();
                let n = rest.len().min(W);
                padded.get_mut(..n).unwrap_or_default().copy_from_slice(rest.get(..n).unwrap_or_default());
                // Only positions inside the text count.
                let inside = (bytes.len() - block).min(BLOCK);
                test(&padded) & (u128::MAX >> (8 * (BLOCK - inside)))
            }
        };
        while hits != 0 {
            f(block + (hits.trailing_zeros() / 8) as usize);
            hits &= hits - 1;
        }
        block += BLOCK;
    }
}

/// The window `w` as `N` rows of [`BLOCK`] bytes, row `d` starting `d` bytes
/// in, so a block test sees the bytes after each position side by side
/// (`rows[0][i] == b'h' && rows[1][i] == b'x'`) and compiles to vector code.
#[inline]
pub(super) fn shifted_rows<const N: usize>(w: &[u8]) -> [[u8; BLOCK]; N] {
    let mut rows = [[0u8; BLOCK]; N];
    for (d, row) in rows.iter_mut().enumerate() {
        row.copy_from_slice(w.get(d..d + BLOCK).unwrap_or(&[0; BLOCK]));
    }
    rows
}
