//! The detector tables: `tests/data/detectors/*.toml`, one file per
//! detector, each a list of `[[case]]`s of an input and what the detector
//! must make of it (modelled on the `regex` crate's `testdata`).
//!
//! Every file in the directory must have a runner below and every runner a
//! file; every case must expect something, and an unknown field is an error,
//! so no case is skipped silently. Failures name the file and the case.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::Path;

use moderation_core::signals::contacts::find_contacts;
use moderation_core::signals::crypto::{AddressKind, find_addresses, find_private_keys};
use moderation_core::signals::lookalike::BrandList;
use moderation_core::signals::seed::find_seed_phrases;
use moderation_core::signals::urls::{UrlHit, find_urls, parse_link, registrable_domain};
use moderation_core::{Format, View, normalized_view, parse_markup, words_view};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Each table file and its runner.
const TABLES: &[(&str, Runner)] = &[
    ("contacts.toml", run::<ContactCase>),
    ("crypto.toml", run::<CryptoCase>),
    ("lookalike.toml", run::<LookalikeCase>),
    ("markup.toml", run::<MarkupCase>),
    ("normalize.toml", run::<NormalizeCase>),
    ("seed.toml", run::<SeedCase>),
    ("urls.toml", run::<UrlCase>),
];

/// Runs one file's text; returns its number of cases and its failures.
type Runner = fn(&str, &str) -> (usize, Vec<String>);

#[test]
fn detector_tables() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/detectors");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut ran = BTreeSet::new();
    for file in &files {
        let Some((_, runner)) = TABLES.iter().find(|(name, _)| name == file) else {
            failures.push(format!("{file}: no detector runs this file"));
            continue;
        };
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (cases, errors) = runner(file, &text);
        eprintln!("{file}: {cases} cases, {} failed", errors.len());
        failures.extend(errors);
        ran.insert(file.as_str());
    }
    for (file, _) in TABLES {
        if !ran.contains(file) {
            failures.push(format!("{file}: missing from {}", dir.display()));
        }
    }
    assert!(failures.is_empty(), "{} detector case failures:\n{}", failures.len(), failures.join("\n"));
}

/// One row of a table.
trait Case: DeserializeOwned {
    /// Whether the file may set a default brand list.
    const BRANDS: bool = false;
    fn name(&self) -> &str;
    /// Checks the case, pushing one line per mismatch; `brands` is the
    /// file's default brand list.
    fn check(&self, brands: &[String], errors: &mut Vec<String>);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table<C> {
    /// The default brand list (lookalike only).
    brands: Option<Vec<String>>,
    case: Vec<C>,
}

fn run<C: Case>(file: &str, text: &str) -> (usize, Vec<String>) {
    let table: Table<C> = match toml::from_str(text) {
        Ok(table) => table,
        Err(e) => return (0, vec![format!("{file}: does not parse: {e}")]),
    };
    let mut failures = Vec::new();
    if table.case.is_empty() {
        failures.push(format!("{file}: no cases"));
    }
    if table.brands.is_some() && !C::BRANDS {
        failures.push(format!("{file}: `brands` is only for lookalike.toml"));
    }
    let brands = table.brands.unwrap_or_default();
    let mut names = BTreeSet::new();
    for case in &table.case {
        let name = case.name();
        if name.is_empty() || !names.insert(name) {
            failures.push(format!("{file}: case name {name:?} is empty or repeated"));
        }
        let mut errors = Vec::new();
        case.check(&brands, &mut errors);
        failures.extend(errors.into_iter().map(|e| format!("{file}: case {name:?}: {e}")));
    }
    (table.case.len(), failures)
}

/// An expectation of an optional result: a value, or `false` for none.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum Maybe<T> {
    None(bool),
    Some(T),
}

impl<T> Maybe<T> {
    /// The expected value, or `None`; `true` is a mistake in the table.
    fn get(&self, errors: &mut Vec<String>) -> Option<&T> {
        match self {
            Maybe::Some(t) => Some(t),
            Maybe::None(false) => None,
            Maybe::None(true) => {
                errors.push("`true` is not an expectation: write the value, or false for none".into());
                None
            }
        }
    }
}

/// Compares a field when the case gives it.
fn field<T: PartialEq + Debug + ?Sized>(errors: &mut Vec<String>, what: &str, want: Option<&T>, got: &T) {
    if let Some(want) = want
        && want != got
    {
        errors.push(format!("{what}: expected {want:?}, got {got:?}"));
    }
}

/// Compares a list of results with a list of expectations: the lengths
/// exactly, then each pair with `each`.
fn list<W, G: Debug>(
    errors: &mut Vec<String>,
    what: &str,
    want: &[W],
    got: &[G],
    mut each: impl FnMut(&mut Vec<String>, &str, &W, &G),
) {
    if want.len() != got.len() {
        errors.push(format!("{what}: expected {} results, got {}: {got:?}", want.len(), got.len()));
        return;
    }
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        each(errors, &format!("{what}[{i}]"), w, g);
    }
}

/// The input at a result's byte range.
fn slice<'a>(input: &'a str, range: &std::ops::Range<usize>) -> &'a str {
    input.get(range.clone()).unwrap_or("<range not on char boundaries>")
}

/// Every case must expect something.
fn expects_something(errors: &mut Vec<String>, any: bool) {
    if !any {
        errors.push("expects nothing".into());
    }
}

// urls.toml

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UrlCase {
    name: String,
    input: String,
    #[allow(dead_code)]
    notes: Option<String>,
    hits: Option<Vec<UrlExpect>>,
    link: Option<Maybe<UrlExpect>>,
    registrable: Option<Maybe<String>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct UrlExpect {
    written: Option<String>,
    range: Option<[usize; 2]>,
    url: Option<String>,
    host: Option<String>,
    host_unicode: Option<String>,
    registrable: Option<Maybe<String>>,
    defanged: Option<bool>,
    idn: Option<bool>,
    shortener: Option<bool>,
    explicit_scheme: Option<bool>,
}

fn url_hit(errors: &mut Vec<String>, what: &str, input: &str, want: &UrlExpect, got: &UrlHit) {
    let at = |f: &str| format!("{what}.{f}");
    field(errors, &at("written"), want.written.as_deref(), slice(input, &got.range));
    field(errors, &at("range"), want.range.as_ref(), &[got.range.start, got.range.end]);
    field(errors, &at("url"), want.url.as_deref(), got.url.as_str());
    field(errors, &at("host"), want.host.as_deref(), got.host.as_str());
    field(errors, &at("host_unicode"), want.host_unicode.as_deref(), got.host_unicode.as_str());
    if let Some(registrable) = &want.registrable {
        let want = registrable.get(errors).map(String::as_str);
        field(errors, &at("registrable"), Some(&want), &got.registrable.as_deref());
    }
    field(errors, &at("defanged"), want.defanged.as_ref(), &got.defanged);
    field(errors, &at("idn"), want.idn.as_ref(), &got.idn);
    field(errors, &at("shortener"), want.shortener.as_ref(), &got.shortener);
    field(errors, &at("explicit_scheme"), want.explicit_scheme.as_ref(), &got.explicit_scheme);
}

impl Case for UrlCase {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, _: &[String], errors: &mut Vec<String>) {
        let input = self.input.as_str();
        expects_something(errors, self.hits.is_some() || self.link.is_some() || self.registrable.is_some());
        if let Some(hits) = &self.hits {
            list(errors, "hits", hits, &find_urls(input), |e, what, w, g| url_hit(e, what, input, w, g));
        }
        if let Some(link) = &self.link {
            let want: Vec<&UrlExpect> = link.get(errors).into_iter().collect();
            let got: Vec<UrlHit> = parse_link(input).into_iter().collect();
            list(errors, "link", &want, &got, |e, what, w, g| url_hit(e, what, input, w, g));
        }
        if let Some(registrable) = &self.registrable {
            let want = registrable.get(errors).map(String::as_str);
            field(errors, "registrable", Some(&want), &registrable_domain(input).as_deref());
        }
    }
}

// contacts.toml

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactCase {
    name: String,
    input: String,
    #[allow(dead_code)]
    notes: Option<String>,
    hits: Vec<ContactExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactExpect {
    kind: Option<String>,
    value: Option<String>,
}

impl Case for ContactCase {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, _: &[String], errors: &mut Vec<String>) {
        let input = self.input.as_str();
        list(errors, "hits", &self.hits, &find_contacts(input), |errors, what, want, got| {
            field(errors, &format!("{what}.kind"), want.kind.as_deref(), got.kind.as_str());
            field(errors, &format!("{what}.value"), want.value.as_deref(), got.value.as_str());
            field(errors, &format!("{what} range"), Some(got.value.as_str()), slice(input, &got.range));
        });
    }
}

// crypto.toml

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CryptoCase {
    name: String,
    input: String,
    #[allow(dead_code)]
    notes: Option<String>,
    addresses: Option<Vec<AddressExpect>>,
    keys: Option<Vec<KeyExpect>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressExpect {
    kind: Option<String>,
    valid: Option<bool>,
    written: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyExpect {
    kind: Option<String>,
    certain: Option<bool>,
    written: Option<String>,
}

/// The table's name of an address kind (`as_str` says "bitcoin" for both
/// bitcoin encodings).
fn address_kind(kind: AddressKind) -> &'static str {
    match kind {
        AddressKind::BitcoinBase58 => "bitcoin_base58",
        AddressKind::BitcoinBech32 => "bitcoin_bech32",
        AddressKind::Ethereum => "ethereum",
        AddressKind::Tron => "tron",
        AddressKind::Solana => "solana",
    }
}

impl Case for CryptoCase {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, _: &[String], errors: &mut Vec<String>) {
        let input = self.input.as_str();
        expects_something(errors, self.addresses.is_some() || self.keys.is_some());
        if let Some(addresses) = &self.addresses {
            list(errors, "addresses", addresses, &find_addresses(input), |errors, what, want, got| {
                field(errors, &format!("{what}.kind"), want.kind.as_deref(), address_kind(got.kind));
                field(errors, &format!("{what}.valid"), want.valid.as_ref(), &got.valid);
                field(errors, &format!("{what}.written"), want.written.as_deref(), slice(input, &got.range));
            });
        }
        if let Some(keys) = &self.keys {
            list(errors, "keys", keys, &find_private_keys(input), |errors, what, want, got| {
                field(errors, &format!("{what}.kind"), want.kind.as_deref(), got.kind.as_str());
                field(errors, &format!("{what}.certain"), want.certain.as_ref(), &got.certain);
                field(errors, &format!("{what}.written"), want.written.as_deref(), slice(input, &got.range));
            });
        }
    }
}

// lookalike.toml

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookalikeCase {
    name: String,
    input: String,
    #[allow(dead_code)]
    notes: Option<String>,
    brands: Option<Vec<String>>,
    lookalike: Option<Maybe<LookalikeExpect>>,
    official: Option<bool>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct LookalikeExpect {
    kind: String,
    brand: Option<String>,
    confidence: Option<f64>,
}

impl Case for LookalikeCase {
    const BRANDS: bool = true;

    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, brands: &[String], errors: &mut Vec<String>) {
        let input = self.input.as_str();
        expects_something(errors, self.lookalike.is_some() || self.official.is_some());
        let list = BrandList::new(self.brands.as_deref().unwrap_or(brands));
        if let Some(lookalike) = &self.lookalike {
            let got = list.check(input);
            match (lookalike.get(errors), &got) {
                (None, None) => {}
                (Some(want), Some(got)) => {
                    field(errors, "lookalike.kind", Some(want.kind.as_str()), got.kind.as_str());
                    field(errors, "lookalike.brand", want.brand.as_deref(), got.brand.as_str());
                    field(errors, "lookalike.confidence", want.confidence.as_ref(), &got.confidence);
                }
                (want, _) => errors.push(format!("lookalike: expected {want:?}, got {got:?}")),
            }
        }
        field(errors, "official", self.official.as_ref(), &list.is_official(input));
    }
}

// seed.toml

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedCase {
    name: String,
    input: String,
    #[allow(dead_code)]
    notes: Option<String>,
    hits: Vec<SeedExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedExpect {
    words: Option<usize>,
    language: Option<String>,
    checksum_valid: Option<bool>,
    test_vector: Option<bool>,
    written: Option<String>,
}

impl Case for SeedCase {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, _: &[String], errors: &mut Vec<String>) {
        let input = self.input.as_str();
        list(errors, "hits", &self.hits, &find_seed_phrases(input), |errors, what, want, got| {
            field(errors, &format!("{what}.words"), want.words.as_ref(), &got.words);
            field(errors, &format!("{what}.language"), want.language.as_deref(), got.language.as_str());
            field(errors, &format!("{what}.checksum_valid"), want.checksum_valid.as_ref(), &got.checksum_valid);
            field(errors, &format!("{what}.test_vector"), want.test_vector.as_ref(), &got.test_vector);
            field(errors, &format!("{what}.written"), want.written.as_deref(), slice(input, &got.range));
        });
    }
}

// normalize.toml and markup.toml

/// Where a piece of a view comes from in the input.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Origin {
    /// Text to look for (first occurrence) in the view.
    find: String,
    /// The input it must map back to.
    original: String,
}

fn origins(errors: &mut Vec<String>, input: &str, view: &View, want: &[Origin]) {
    for origin in want {
        let Some(at) = view.as_str().find(&origin.find) else {
            errors.push(format!("origins: {:?} not in {:?}", origin.find, view.as_str()));
            continue;
        };
        let got = slice(input, &view.origin(at..at + origin.find.len()));
        field(errors, &format!("origin of {:?}", origin.find), Some(origin.original.as_str()), got);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalizeCase {
    name: String,
    input: String,
    #[allow(dead_code)]
    notes: Option<String>,
    normalized: Option<String>,
    origins: Option<Vec<Origin>>,
    mixed_script: Option<Vec<String>>,
}

impl Case for NormalizeCase {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, _: &[String], errors: &mut Vec<String>) {
        let input = self.input.as_str();
        expects_something(errors, self.normalized.is_some() || self.origins.is_some() || self.mixed_script.is_some());
        let raw = View::identity(input);
        let normalized = normalized_view(&words_view(&raw));
        field(errors, "normalized", self.normalized.as_deref(), normalized.text.as_str());
        origins(errors, input, &normalized.text, self.origins.as_deref().unwrap_or_default());
        if let Some(want) = &self.mixed_script {
            let got: Vec<String> = normalized.mixed_script.iter().map(|r| slice(input, r).to_string()).collect();
            field(errors, "mixed_script", Some(want), &got);
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkupCase {
    name: String,
    input: String,
    #[allow(dead_code)]
    notes: Option<String>,
    format: Format,
    origins: Option<Vec<Origin>>,
    words: Option<Vec<String>>,
    links: Option<Vec<LinkExpect>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkExpect {
    href: Option<String>,
    href_source: Option<String>,
    text: Option<String>,
    text_source: Option<String>,
}

impl Case for MarkupCase {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, _: &[String], errors: &mut Vec<String>) {
        let input = self.input.as_str();
        expects_something(errors, self.origins.is_some() || self.words.is_some() || self.links.is_some());
        let doc = parse_markup(input, self.format);
        origins(errors, input, &doc.raw, self.origins.as_deref().unwrap_or_default());
        if let Some(want) = &self.words {
            let got: Vec<String> = doc.raw.as_str().split_whitespace().map(String::from).collect();
            field(errors, "words", Some(want), &got);
        }
        if let Some(links) = &self.links {
            list(errors, "links", links, &doc.links, |errors, what, want, got| {
                field(errors, &format!("{what}.href"), want.href.as_deref(), got.href.as_str());
                field(
                    errors,
                    &format!("{what}.href_source"),
                    want.href_source.as_deref(),
                    slice(input, &got.href_range),
                );
                field(errors, &format!("{what}.text"), want.text.as_deref(), got.text.as_str());
                field(
                    errors,
                    &format!("{what}.text_source"),
                    want.text_source.as_deref(),
                    slice(input, &got.text_range),
                );
            });
        }
    }
}
