//! Test inputs shared by the extractors' tests.

/// Deterministic random strings over characters that matter to the
/// parsers (digits, base58, separators, multibyte, labels).
pub(crate) fn random_strings(seed: u64, count: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "0",
        "1",
        "5",
        "9",
        "a",
        "f",
        "x",
        "K",
        "T",
        "z",
        "O",
        "l",
        " ",
        "\u{3000}",
        ",",
        ".",
        "-",
        "+",
        "(",
        ")",
        "@",
        "/",
        ":",
        "#",
        "\n",
        "é",
        "秘",
        "あ",
        "ア",
        "０",
        "－",
        "😀",
        "bc1",
        "0x",
        "t.me/",
        "line id",
        "telegram",
        "whatsapp",
        "private key",
        "txid",
        "abandon",
        "zoo",
        "テレグラム",
        "秘密鍵",
    ];
    strings_from(PIECES, seed, count, 80)
}

/// `count` deterministic strings of up to `max_len` pieces drawn from `pieces`
/// (xorshift64 seeded by `seed`).
pub(crate) fn strings_from(pieces: &[&str], seed: u64, count: usize, max_len: u64) -> Vec<String> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..count)
        .map(|_| {
            let len = (next() % max_len) as usize;
            (0..len).map(|_| pieces[(next() % pieces.len() as u64) as usize]).collect()
        })
        .collect()
}
