//! What a host says about its purpose, brand or no brand: drainer kits name
//! their lure in the host (`claim-rewards-eligibility.pages.dev`) and sit on
//! free hosting or cheap TLDs.

use std::sync::OnceLock;

/// Words drainer and phishing kits put in hosts to say what the page is for.
/// Deliberately without the words ordinary sites use for their own
/// subdomains (`support`, `help`, `login`, `account`): those only count as a
/// lure next to a brand.
const DRAINER_WORDS: &[&str] = &[
    "airdrop",
    "allocation",
    "bridge",
    "checker",
    "claim",
    "connect",
    "dapp",
    "defi",
    "drop",
    "eligibility",
    "eligible",
    "giveaway",
    "listing",
    "migrate",
    "migration",
    "mint",
    "nft",
    "poll",
    "presale",
    "rectify",
    "recover",
    "recovery",
    "refund",
    "restore",
    "revoke",
    "reward",
    "seed",
    "stake",
    "staking",
    "sync",
    "synchronize",
    "unlock",
    "upgrade",
    "validate",
    "validation",
    "validator",
    "vote",
    "voting",
    "wallet",
    "web3",
    "whitelist",
];

/// Top-level domains where phishing is registered far more than elsewhere
/// (cheap or free registration, lax abuse handling; Spamhaus and Interisle
/// phishing-landscape reports).
const CHEAP_TLDS: &[&str] = &[
    "bond", "buzz", "cc", "cfd", "click", "cyou", "fun", "icu", "info", "lol", "monster", "online", "pw", "quest",
    "rest", "sbs", "shop", "site", "space", "store", "top", "vip", "website", "win", "work", "ws", "xyz",
];

fn drainer_words() -> &'static [String] {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut w: Vec<String> = DRAINER_WORDS.iter().map(|s| (*s).to_string()).collect();
        w.sort_unstable();
        w
    })
}

/// The lure word `token` is (`rewards` → `reward`, `claim2` → `claim`), if any.
fn drainer_word(token: &str) -> Option<&'static str> {
    let t = token.trim_end_matches(|c: char| c.is_ascii_digit());
    let words = drainer_words();
    let find = |t: &str| words.binary_search_by(|w| w.as_str().cmp(t)).ok().and_then(|i| words.get(i));
    find(t).or_else(|| t.strip_suffix('s').and_then(find)).map(String::as_str)
}

/// The lure words a token is made of, when it is made of nothing else
/// (`claimrewards` → claim, reward); empty otherwise. Each word may carry a
/// plural `s` and trailing digits.
fn glued_words(token: &str) -> Vec<&'static str> {
    fn split(rest: &str, depth: usize, out: &mut Vec<&'static str>) -> bool {
        if rest.is_empty() {
            return true;
        }
        if depth > 8 {
            return false;
        }
        for w in drainer_words() {
            let Some(after) = rest.strip_prefix(w.as_str()) else { continue };
            out.push(w.as_str());
            for after in [after.strip_prefix('s'), Some(after)].into_iter().flatten() {
                let after = after.trim_start_matches(|c: char| c.is_ascii_digit());
                if split(after, depth + 1, out) {
                    return true;
                }
            }
            out.pop();
        }
        false
    }
    let mut out = Vec::new();
    if split(token, 0, &mut out) { out } else { Vec::new() }
}

/// Evidence about a host apart from any brand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostEvidence {
    /// Distinct lure words in the labels left of the public suffix, in order.
    pub lure_words: Vec<String>,
    /// The hosting platform (`pages.dev`: a suffix of the Public Suffix
    /// List's private section) the host is a site on.
    pub platform: Option<String>,
    /// The host's TLD when it is one phishing favours (`xyz`, `top`).
    pub cheap_tld: Option<String>,
}

impl HostEvidence {
    /// Reads a normalized host (lowercase ASCII). `left` is the part left of
    /// its public suffix.
    pub(super) fn of(host: &str, left: &str) -> HostEvidence {
        let suffix = psl::suffix(host.as_bytes()).filter(|s| s.is_known());
        let platform = suffix
            .filter(|s| s.typ() == Some(psl::Type::Private) && s.as_bytes().len() < host.len())
            .and_then(|s| std::str::from_utf8(s.as_bytes()).ok())
            .map(str::to_string);
        let tld = host.rsplit('.').next().unwrap_or_default();
        let cheap_tld = CHEAP_TLDS.binary_search(&tld).ok().map(|_| tld.to_string());
        let mut lure_words: Vec<String> = Vec::new();
        for token in left.split(['.', '-', '_']).filter(|t| !t.is_empty()) {
            let token = token.trim_matches(|c: char| c.is_ascii_digit());
            let words = match drainer_word(token) {
                Some(w) => vec![w],
                None => glued_words(token),
            };
            for w in words {
                if !lure_words.iter().any(|x| x == w) {
                    lure_words.push(w.to_string());
                }
            }
        }
        HostEvidence { lure_words, platform, cheap_tld }
    }

    /// Whether the host is a free-hosting site or under a cheap TLD.
    pub fn hosted(&self) -> bool {
        self.platform.is_some() || self.cheap_tld.is_some()
    }

    /// "lure words `claim`, `reward`; free hosting `pages.dev`" (empty when none).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.lure_words.is_empty() {
            let words: Vec<String> = self.lure_words.iter().map(|w| format!("`{w}`")).collect();
            parts.push(format!("lure word{} {}", if words.len() > 1 { "s" } else { "" }, words.join(", ")));
        }
        if let Some(p) = &self.platform {
            parts.push(format!("free hosting `{p}`"));
        }
        if let Some(t) = &self.cheap_tld {
            parts.push(format!("cheap TLD `.{t}`"));
        }
        parts.join("; ")
    }
}

/// A host that names a drainer's lure without naming a brand.
#[derive(Debug, Clone, PartialEq)]
pub struct LureHost {
    /// What the host says about itself.
    pub evidence: HostEvidence,
    /// How sure, in `0.0..=1.0`: 0.8 for two or more lure words on free
    /// hosting or a cheap TLD, 0.75 for three or more anywhere, 0.6 for one
    /// on free hosting, 0.5 for two elsewhere.
    pub confidence: f64,
}

/// Grades evidence with no brand in it (see [`LureHost::confidence`]).
pub(super) fn grade(evidence: HostEvidence) -> Option<LureHost> {
    let words = evidence.lure_words.len();
    let confidence = match (words, evidence.hosted()) {
        (0, _) => return None,
        (2.., true) => 0.8,
        (3.., false) => 0.75,
        (2, false) => 0.5,
        (1, true) if evidence.platform.is_some() => 0.6,
        _ => return None,
    };
    Some(LureHost { evidence, confidence })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted() {
        assert!(CHEAP_TLDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn lure_words_are_read_from_tokens_and_glued_tokens() {
        let e = HostEvidence::of("claim-rewards-eligibility.pages.dev", "claim-rewards-eligibility");
        assert_eq!(e.lure_words, ["claim", "reward", "eligibility"]);
        assert_eq!(e.platform.as_deref(), Some("pages.dev"));
        let e = HostEvidence::of("claimrewards2.xyz", "claimrewards2");
        assert_eq!(e.lure_words, ["claim", "reward"]);
        assert_eq!(e.cheap_tld.as_deref(), Some("xyz"));
        // Words inside ordinary words are not lures.
        for (host, left) in
            [("connecticut.gov", "connecticut"), ("bridgewater.com", "bridgewater"), ("stakeholder.org", "stakeholder")]
        {
            assert!(HostEvidence::of(host, left).lure_words.is_empty(), "{host}");
        }
    }

    #[test]
    fn grading() {
        let g = |host: &str| {
            let suffix = psl::suffix(host.as_bytes()).map_or(0, |s| s.as_bytes().len());
            let left = host[..host.len() - suffix].trim_end_matches('.');
            grade(HostEvidence::of(host, left)).map(|l| l.confidence)
        };
        assert_eq!(g("claim-rewards-eligibility.pages.dev"), Some(0.8));
        assert_eq!(g("airdrop-claim-portal.com"), Some(0.5));
        assert_eq!(g("eth-claim-portal.netlify.app"), Some(0.6));
        assert_eq!(g("wallet-connect-sync-restore.com"), Some(0.75));
        assert_eq!(g("sync.com"), None);
        assert_eq!(g("connect.garmin.com"), None);
        assert_eq!(g("pages.dev"), None);
    }
}
