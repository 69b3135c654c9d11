//! Webhook signatures: the `Moderation-Signature` header the service puts
//! on every delivery, and [`verify`], which a receiver written in Rust can
//! call as is (it needs nothing else of this crate).
//!
//! The header is `t=<unix seconds>,v1=<hex>[,v1=<hex>]`: each `v1` is
//! HMAC-SHA256 over `"<t>.<body>"` with one of the sender's secrets (two
//! during a rotation). A receiver recomputes it with its secret, compares
//! in constant time, and refuses timestamps more than a few minutes away,
//! so a captured request cannot be replayed later.
//!
//! ```
//! use moderation_core::signature::{sign, verify, VerifyError};
//!
//! let body = br#"{"event":"decision","action":"remove"}"#;
//! let header = sign(&["current-secret".to_string()], 1_795_574_692, body);
//! assert_eq!(verify(&header, body, &["current-secret"], 1_795_574_700, 300), Ok(()));
//! assert_eq!(verify(&header, b"tampered", &["current-secret"], 1_795_574_700, 300), Err(VerifyError::Mismatch));
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Moderation-Signature` value for `body` sent at `timestamp`
/// (seconds), signed with every secret.
pub fn sign(secrets: &[String], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(mac(secret, timestamp, body).finalize().into_bytes()));
    }
    header
}

/// Why a delivery was refused by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The header is not `t=…,v1=…`.
    #[error("malformed signature header")]
    Malformed,
    /// The timestamp is outside the tolerance (a replay, or a skewed clock).
    #[error("timestamp {0} is outside the tolerance")]
    Stale(i64),
    /// No signature matches any of the receiver's secrets.
    #[error("no signature matches")]
    Mismatch,
}

/// Checks a `Moderation-Signature` header against the body, with any of
/// `secrets`, at `now` (seconds), accepting timestamps `tolerance` seconds
/// old or new.
pub fn verify(header: &str, body: &[u8], secrets: &[&str], now: i64, tolerance: i64) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.parse::<i64>().map_err(|_| VerifyError::Malformed)?),
            Some(("v1", s)) => signatures.push(hex::decode(s).map_err(|_| VerifyError::Malformed)?),
            _ => {}
        }
    }
    let t = timestamp.ok_or(VerifyError::Malformed)?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed);
    }
    // In i128: `now - t` overflows i64 for timestamps near its ends
    // (`t=-9223372036854775808`), a panic in debug builds and, wrapped, a
    // negative age that passed the check in release builds.
    if (i128::from(now) - i128::from(t)).abs() > i128::from(tolerance) {
        return Err(VerifyError::Stale(t));
    }
    let ok = secrets.iter().any(|secret| signatures.iter().any(|sig| mac(secret, t, body).verify_slice(sig).is_ok()));
    if ok { Ok(()) } else { Err(VerifyError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_with_either_secret_and_not_after_tampering_or_too_late() {
        let secrets = vec!["new".to_string(), "old".to_string()];
        let header = sign(&secrets, 1_000, b"{\"a\":1}");
        assert_eq!(header.matches("v1=").count(), 2);
        assert_eq!(verify(&header, b"{\"a\":1}", &["old"], 1_010, 300), Ok(()));
        assert_eq!(verify(&header, b"{\"a\":1}", &["new"], 1_010, 300), Ok(()));
        assert_eq!(verify(&header, b"{\"a\":2}", &["new"], 1_010, 300), Err(VerifyError::Mismatch));
        assert_eq!(verify(&header, b"{\"a\":1}", &["other"], 1_010, 300), Err(VerifyError::Mismatch));
        assert_eq!(verify(&header, b"{\"a\":1}", &["new"], 2_000, 300), Err(VerifyError::Stale(1_000)));
        // The timestamp is signed: moving it breaks the signature.
        let moved = header.replace("t=1000", "t=1900");
        assert_eq!(verify(&moved, b"{\"a\":1}", &["new"], 2_000, 300), Err(VerifyError::Mismatch));
        assert_eq!(verify("v1=zz", b"", &["new"], 0, 300), Err(VerifyError::Malformed));
    }

    /// Found by fuzzing the header: timestamps at the ends of i64 made
    /// `now - t` overflow.
    #[test]
    fn extreme_timestamps_are_stale_not_a_panic() {
        for t in [i64::MIN, i64::MIN + 1, i64::MAX, 1_000 + i64::MIN] {
            let header = sign(&["k".to_string()], t, b"x");
            assert_eq!(verify(&header, b"x", &["k"], 1_000, 300), Err(VerifyError::Stale(t)), "{header}");
        }
        assert_eq!(
            verify("t=-9223372036854775808,v1=00", b"", &["k"], i64::MAX, i64::MAX),
            Err(VerifyError::Stale(i64::MIN))
        );
    }

    /// The verifier on 10,000 seeded headers (mutations of a valid one):
    /// no panic, and only the untouched header with its body verifies.
    #[test]
    fn fuzz_replay_verify() {
        let secrets = ["k1", "k2"];
        let body = b"{\"event\":\"decision\"}";
        let good = sign(&secrets.map(String::from), 1_000, body);
        let pieces = [
            "t=",
            "v1=",
            ",",
            "=",
            "-",
            "9223372036854775808",
            "-9223372036854775808",
            "ff",
            "zz",
            " ",
            "\u{e9}",
            "t=1000",
        ];
        let mut state = 0x5eed_u64;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as usize
        };
        for _ in 0..10_000 {
            let mut header: Vec<char> = good.chars().collect();
            for _ in 0..1 + next() % 4 {
                let at = next() % (header.len() + 1);
                match next() % 3 {
                    0 => header.truncate(at),
                    1 if at < header.len() => header[at] = char::from(b'0' + (next() % 75) as u8),
                    _ => header.splice(at..at, pieces[next() % pieces.len()].chars()).for_each(drop),
                }
            }
            let header: String = header.into_iter().collect();
            let now = [1_000, 0, i64::MIN, i64::MAX][next() % 4];
            let result = verify(&header, body, &secrets, now, 300);
            if result.is_ok() {
                // Still a valid signature of the body at a timestamp near `now`.
                assert!(header.contains("t=") && now == 1_000, "{header}");
            }
        }
    }
}
