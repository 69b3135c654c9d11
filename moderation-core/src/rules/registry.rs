//! The brand registry: crypto brands with their official domains and the
//! names scammers glue into look-alike hosts.
//!
//! The default registry ships as data (`moderation-core/brands/registry.toml`,
//! [`DEFAULT_REGISTRY`]); the default pack turns it on with
//! `[settings] brand_registry = true`, and any rule layer may add brands of
//! its own with `[[brand]]` tables in the same format:
//!
//! ```toml
//! [[brand]]
//! name = "GMO Coin"
//! kind = "exchange"
//! hosts = ["coin.z.com"]          # exact official hosts (a platform's subdomain, or under an umbrella domain)
//! domains = []                    # registrable domains the brand owns: every host under them is official
//! tokens = ["gmocoin"]            # names matched inside hosts (default: each domain's registrable label)
//! word = false                    # true: the name is an ordinary word, matched only with lure or hosting evidence
//! sources = ["curated"]
//! ```
//!
//! A host under a registry domain, or equal to a registry host, is never a
//! look-alike. Entries are registrable domains or exact hosts, never a public
//! suffix or a hosting platform (`github.io`, `pages.dev`): a platform site is
//! official only as its exact host (`binance-docs.github.io`).
//!
//! ```
//! use moderation_core::rules::Registry;
//!
//! let registry = Registry::default_registry();
//! assert!(registry.brands.len() >= 300);
//! let err = Registry::from_toml("mine.toml", "[[brand]]\nname = \"X\"\nkind = \"exchange\"\ndomains = [\"github.io\"]\nsources = [\"curated\"]\n").unwrap_err();
//! assert!(err.to_string().starts_with("mine.toml:2: brand `X`: `github.io` is a public suffix"), "{err}");
//! ```

use serde::Deserialize;

use crate::error::{Error, RuleError};
pub use crate::signals::lookalike::{BrandEntry, BrandKind};
use crate::signals::urls::{normalize_host, registrable_domain};

/// The registry the project ships (see the module documentation).
pub const DEFAULT_REGISTRY: &str = include_str!("../../brands/registry.toml");

/// Most brands one registry file or rule layer may hold.
pub const MAX_BRANDS: usize = 100_000;
/// Most domains, hosts or tokens one brand may list.
pub const MAX_NAMES_PER_BRAND: usize = 64;

/// A parsed brand registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// `[registry] name`, else the source name.
    pub name: String,
    /// `[registry] version`, else `0`.
    pub version: String,
    /// The brands, in file order.
    pub brands: Vec<BrandEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    registry: Option<RegistryHeader>,
    #[serde(default)]
    brand: Vec<BrandDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryHeader {
    name: Option<String>,
    version: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
}

/// A `[[brand]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BrandDef {
    name: toml::Spanned<String>,
    kind: BrandKind,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    tokens: Vec<String>,
    #[serde(default)]
    word: bool,
    #[serde(default)]
    sources: Vec<String>,
}

impl Registry {
    /// The registry the project ships.
    pub fn default_registry() -> Registry {
        // Compiled in and checked by tests: a failure is a build defect.
        Registry::from_toml("registry.toml", DEFAULT_REGISTRY).expect("the default brand registry is valid")
    }

    /// Reads and validates a registry file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Registry, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Registry::from_toml(&path.display().to_string(), &text)
    }

    /// Parses and validates a registry from TOML text; the whole file is
    /// refused at its first bad entry, with file and line.
    pub fn from_toml(source_name: &str, text: &str) -> Result<Registry, Error> {
        let file: RegistryFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            Error::Rules(RuleError {
                source_name: source_name.to_string(),
                line,
                rule_id: None,
                message: e.message().to_string(),
            })
        })?;
        let header = file.registry.unwrap_or(RegistryHeader { name: None, version: None, description: None });
        let brands = validate_brands(source_name, text, file.brand)?;
        Ok(Registry {
            name: header.name.unwrap_or_else(|| source_name.to_string()),
            version: header.version.unwrap_or_else(|| "0".to_string()),
            brands,
        })
    }
}

/// Validates `[[brand]]` tables of a registry or rule file.
pub(crate) fn validate_brands(source_name: &str, text: &str, defs: Vec<BrandDef>) -> Result<Vec<BrandEntry>, Error> {
    if defs.len() > MAX_BRANDS {
        return Err(Error::Rules(RuleError {
            source_name: source_name.to_string(),
            line: None,
            rule_id: None,
            message: format!("{} brands; at most {MAX_BRANDS} per file", defs.len()),
        }));
    }
    let mut out = Vec::with_capacity(defs.len());
    let mut seen_domains = std::collections::HashMap::new();
    for def in defs {
        let line = line_of(text, def.name.span().start);
        let name = def.name.into_inner();
        let fail = |message: String| {
            Error::Rules(RuleError {
                source_name: source_name.to_string(),
                line: Some(line),
                rule_id: None,
                message: format!("brand `{name}`: {message}"),
            })
        };
        let entry = validate_brand(&name, def.kind, def.domains, def.hosts, def.tokens, def.word, def.sources, line)
            .map_err(&fail)?;
        for d in entry.domains.iter().chain(&entry.hosts) {
            if let Some(other) = seen_domains.insert(d.clone(), name.clone()) {
                return Err(fail(format!("`{d}` is also listed by brand `{other}`")));
            }
        }
        out.push(entry);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn validate_brand(
    name: &str,
    kind: BrandKind,
    domains: Vec<String>,
    hosts: Vec<String>,
    tokens: Vec<String>,
    word: bool,
    sources: Vec<String>,
    line: usize,
) -> Result<BrandEntry, String> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err("a name is 1–100 characters".into());
    }
    if domains.is_empty() && hosts.is_empty() {
        return Err("needs `domains` or `hosts`".into());
    }
    for (what, list) in [("domains", &domains), ("hosts", &hosts), ("tokens", &tokens)] {
        if list.len() > MAX_NAMES_PER_BRAND {
            return Err(format!("{} {what}; at most {MAX_NAMES_PER_BRAND}", list.len()));
        }
    }
    let mut norm_domains = Vec::with_capacity(domains.len());
    for d in &domains {
        let n = normalize_host(d).ok_or_else(|| format!("`{d}` is not a domain"))?;
        check_not_suffix(&n)?;
        match registrable_domain(&n) {
            Some(r) if r == n => norm_domains.push(n),
            Some(r) => {
                return Err(format!(
                    "`{d}` is not a registrable domain (that is `{r}`); list an exact host under `hosts`"
                ));
            }
            None => return Err(format!("`{d}` is not under a known public suffix")),
        }
    }
    let mut norm_hosts = Vec::with_capacity(hosts.len());
    for h in &hosts {
        let n = normalize_host(h).ok_or_else(|| format!("`{h}` is not a host"))?;
        check_not_suffix(&n)?;
        if registrable_domain(&n).is_none() {
            return Err(format!("`{h}` is not under a known public suffix"));
        }
        norm_hosts.push(n);
    }
    let mut norm_tokens = Vec::new();
    for t in &tokens {
        let valid = (3..=63).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !valid {
            return Err(format!("token `{t}` is not 3–63 characters of a–z and 0–9"));
        }
        if !norm_tokens.contains(t) {
            norm_tokens.push(t.clone());
        }
    }
    if tokens.is_empty() {
        for d in &norm_domains {
            let label = d.split('.').next().unwrap_or_default();
            if label.len() >= 3 && !norm_tokens.iter().any(|t| t == label) {
                norm_tokens.push(label.to_string());
            }
        }
    }
    Ok(BrandEntry {
        name: name.to_string(),
        kind,
        domains: norm_domains,
        hosts: norm_hosts,
        tokens: norm_tokens,
        word,
        sources,
        line,
    })
}

/// Refuses a public suffix or a hosting platform (`com`, `github.io`).
fn check_not_suffix(host: &str) -> Result<(), String> {
    let is_suffix = psl::suffix(host.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes() == host.as_bytes());
    if is_suffix {
        return Err(format!("`{host}` is a public suffix or a hosting platform, not a brand's own domain"));
    }
    Ok(())
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes().iter().take(offset).filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_registry_is_valid() {
        let r = Registry::default_registry();
        assert_eq!(r.name, "default");
        assert!(r.brands.iter().all(|b| !b.domains.is_empty() || !b.hosts.is_empty()));
    }

    #[test]
    fn bad_entries_name_file_line_and_brand() {
        let cases = [
            ("[[brand]]\nname = \"A\"\nkind = \"exchange\"\n", "needs `domains` or `hosts`"),
            ("\n[[brand]]\nname = \"A\"\nkind = \"exchange\"\ndomains = [\"www.a.com\"]\n", "not a registrable domain"),
            ("[[brand]]\nname = \"A\"\nkind = \"exchange\"\nhosts = [\"pages.dev\"]\n", "public suffix"),
            ("[[brand]]\nname = \"A\"\nkind = \"exchange\"\ndomains = [\"a.com\"]\ntokens = [\"ab\"]\n", "token `ab`"),
            ("[[brand]]\nname = \"A\"\nkind = \"bank\"\ndomains = [\"a.com\"]\n", "unknown variant"),
            (
                "[[brand]]\nname = \"A\"\nkind = \"defi\"\ndomains = [\"a.com\"]\n[[brand]]\nname = \"B\"\nkind = \"defi\"\ndomains = [\"a.com\"]\n",
                "also listed by brand `A`",
            ),
        ];
        for (text, want) in cases {
            let err = Registry::from_toml("x.toml", text).unwrap_err().to_string();
            assert!(err.starts_with("x.toml:"), "{err}");
            assert!(err.contains(want), "{text:?}: {err}");
        }
        let err = Registry::from_toml("x.toml", cases[1].0).unwrap_err().to_string();
        assert!(err.starts_with("x.toml:3: brand `A`"), "{err}");
    }

    #[test]
    fn tokens_default_to_registrable_labels() {
        let r = Registry::from_toml(
            "x.toml",
            "[[brand]]\nname = \"Uni\"\nkind = \"defi\"\ndomains = [\"uniswap.org\", \"uniswap.io\", \"ab.com\"]\n",
        )
        .unwrap();
        assert_eq!(r.brands[0].tokens, ["uniswap"]);
    }
}
