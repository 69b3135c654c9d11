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
    let mut x = seed | 1;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 80) as usize;
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    PIECES[(x % PIECES.len() as u64) as usize]
                })
                .collect()
        })
        .collect()
}
