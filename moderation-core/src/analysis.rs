//! Everything the engine knows about one post before rules run: the views of
//! each field and the extracted signals, all positioned in the original text.

use std::cell::OnceCell;
use std::ops::Range;

use crate::post::Post;
use crate::rules::settings::Settings;
use crate::signals::feeds::{Feeds, ListKind};
use crate::signals::lookalike::HostJudgement;
use crate::signals::{contacts, crypto, seed, urls};
use crate::text::is_whole_word;
use crate::text::markup::{self, Link};
use crate::text::normalize::{self, Normalized};
use crate::text::view::View;
use crate::vocab::{Field, Format, SignalKind, ViewName};

/// Fields longer than this are scanned up to here only (at a char boundary);
/// the rest is noted by the `input.truncated` signal. It bounds the work an
/// attacker can force per post, NFKC expansion included (at most ×18).
pub const MAX_SCAN_BYTES: usize = 64 * 1024;

/// Links examined per field: a link farm is obvious long before this, and
/// each link costs a look-alike check.
const MAX_LINKS_PER_FIELD: usize = 256;

/// How much of the body language identification looks at.
const LANG_SAMPLE_BYTES: usize = 512;

/// A piece of evidence: a range of an original field, with a confidence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evidence {
    pub field: Field,
    pub range: Range<usize>,
    pub confidence: f64,
}

/// One text field seen through every view.
pub(crate) struct FieldText {
    pub field: Field,
    pub raw: View,
    pub links: Vec<Link>,
    pub words: View,
    pub norm: Normalized,
    pub truncated: bool,
    /// The quoted passages of the scanned text, merged, found when a rule first asks
    /// (`None` inside: they could not be told).
    quoted: OnceCell<Option<Vec<Range<usize>>>>,
}

impl FieldText {
    fn new(field: Field, text: &str, format: Format) -> FieldText {
        let (text, truncated) = scanned_prefix(text);
        let doc = markup::parse_markup(text, format);
        let (words, norm, cut) = normalize::views(&doc.raw);
        let truncated = truncated || cut;
        FieldText { field, raw: doc.raw, links: doc.links, words, norm, truncated, quoted: OnceCell::new() }
    }

    pub fn view(&self, name: ViewName) -> &View {
        match name {
            ViewName::Raw => &self.raw,
            ViewName::Words => &self.words,
            ViewName::Normalized => &self.norm.text,
        }
    }
}

/// The part of a field the engine reads: its first [`MAX_SCAN_BYTES`],
/// cut on a character boundary; and whether anything was cut.
pub fn scanned_prefix(text: &str) -> (&str, bool) {
    if text.len() <= MAX_SCAN_BYTES {
        return (text, false);
    }
    (&text[..text.floor_char_boundary(MAX_SCAN_BYTES)], true)
}

/// A URL or markup link, resolved against the rule set's settings.
#[derive(Debug, Clone)]
pub(crate) struct UrlFact {
    pub field: Field,
    pub range: Range<usize>,
    pub hit: urls::UrlHit,
    pub allowed: bool,
}

/// The post, its fields' views and its signals.
pub(crate) struct Analysis<'p> {
    pub post: &'p Post,
    pub fields: Vec<FieldText>,
    pub name: Option<FieldText>,
    pub urls: Vec<UrlFact>,
    signals: Vec<Vec<Evidence>>,
    lang: OnceCell<Option<String>>,
    /// Seed phrases that are published test vectors: not leaks, not flagged.
    pub seed_details: Vec<(Evidence, seed::SeedHit)>,
    pub key_details: Vec<(Evidence, crypto::KeyHit)>,
    /// What the host signals found, described (the brand imitated, the lure
    /// words): verdicts append it to the rules that used the link.
    pub host_details: Vec<(Field, Range<usize>, String)>,
}

impl<'p> Analysis<'p> {
    /// Analyzes a post under `settings`; links are checked against the phishing
    /// `feeds`: a host on a block list is a `lookalike_feed` signal, a host on
    /// an allow list is never a look-alike.
    pub fn with_feeds(post: &'p Post, settings: &Settings, feeds: &Feeds) -> Analysis<'p> {
        let mut fields = Vec::with_capacity(2);
        if let Some(title) = post.title.as_deref().filter(|t| !t.is_empty()) {
            fields.push(FieldText::new(Field::Title, title, Format::Text));
        }
        fields.push(FieldText::new(Field::Body, &post.body, post.format));
        let name = post
            .author
            .as_ref()
            .and_then(|a| a.name.as_deref())
            .filter(|n| !n.is_empty())
            .map(|n| FieldText::new(Field::AuthorName, n, Format::Text));

        let mut a = Analysis {
            post,
            fields,
            name,
            urls: Vec::new(),
            signals: vec![Vec::new(); SignalKind::ALL.len()],
            lang: OnceCell::new(),
            seed_details: Vec::new(),
            key_details: Vec::new(),
            host_details: Vec::new(),
        };
        a.extract(settings, feeds);
        a
    }

    /// Whether `range` of `field` lies inside a quotation of the post (see
    /// [`crate::text::quotes`]): words its author reproduces rather than
    /// says. Where the quotations cannot be told, every range of the field
    /// counts as quoted; the author's name is their own.
    pub fn is_quoted(&self, field: Field, range: &Range<usize>) -> bool {
        let (original, format) = match field {
            Field::Body => (self.post.body.as_str(), self.post.format),
            Field::Title => (self.post.title.as_deref().unwrap_or_default(), Format::Text),
            _ => return false,
        };
        let Some(f) = self.fields.iter().find(|f| f.field == field) else { return false };
        let quoted = f.quoted.get_or_init(|| {
            crate::text::quotes::quoted_ranges(scanned_prefix(original).0, &f.raw, format)
                .map(crate::text::quotes::merged)
        });
        quoted.as_deref().is_none_or(|q| crate::text::quotes::is_quoted(range, q))
    }

    /// Evidence for a signal.
    pub fn signal(&self, kind: SignalKind) -> &[Evidence] {
        &self.signals[kind as usize]
    }

    fn add(&mut self, kind: SignalKind, field: Field, range: Range<usize>, confidence: f64) {
        self.signals[kind as usize].push(Evidence { field, range, confidence });
    }

    /// The post's language: the forum's, else identified from a sample of
    /// the body (only when some rule asks, so it costs nothing otherwise).
    pub fn language(&self) -> Option<&str> {
        self.lang
            .get_or_init(|| match &self.post.lang {
                Some(l) => Some(primary_subtag(l)),
                None => identify_language(self.body().raw.as_str()),
            })
            .as_deref()
    }

    pub fn body(&self) -> &FieldText {
        // The body is always present (pushed last in `new`).
        &self.fields[self.fields.len() - 1]
    }

    fn extract(&mut self, settings: &Settings, feeds: &Feeds) {
        let mut found = Vec::new();
        let mut mismatches = Vec::new();
        for f in &self.fields {
            let raw = f.raw.as_str();
            for hit in urls::find_urls(raw).into_iter().take(MAX_LINKS_PER_FIELD) {
                found.push((f.field, f.raw.origin(hit.range.clone()), hit));
            }
            for link in f.links.iter().take(MAX_LINKS_PER_FIELD) {
                let Some(hit) = urls::parse_link(&link.href) else { continue };
                // An <a href> whose visible text is the same URL is one link, not two.
                if !found.iter().any(|(_, r, h)| h.url == hit.url && ranges_overlap(r, &link.text_range)) {
                    found.push((f.field, link.href_range.clone(), hit.clone()));
                }
                if anchor_mismatch(link, &hit) {
                    mismatches.push((f.field, link.text_range.clone()));
                    mismatches.push((f.field, link.href_range.clone()));
                }
            }
        }
        for (field, range) in mismatches {
            self.add(SignalKind::AnchorMismatch, field, range, 1.0);
        }
        for (field, range, hit) in found {
            let official = settings.is_official_host(&hit.host);
            let allowed = official || settings.is_allowed_host(&hit.host);
            // Allow-listed domains are trusted by the operator: not checked for look-alikes.
            let listed = if feeds.is_empty() { None } else { feeds.lookup(&hit.host) };
            if let Some(l) = listed.as_ref().filter(|l| l.kind == ListKind::Block) {
                self.add(SignalKind::LookalikeFeed, field, range.clone(), 1.0);
                let detail = format!("`{}` is on the block list {} (entry `{}`)", hit.host, l.feed, l.entry);
                self.host_details.push((field, range.clone(), detail));
            }
            let feed_allowed = listed.as_ref().is_some_and(|l| l.kind == ListKind::Allow);
            if !allowed && !feed_allowed {
                match settings.brands.judge(&hit.host) {
                    HostJudgement::Lookalike(l) => {
                        self.add(SignalKind::LookalikeDomain, field, range.clone(), l.confidence);
                        self.host_details.push((field, range.clone(), l.describe(&hit.host)));
                    }
                    HostJudgement::Lure(l) => {
                        self.add(SignalKind::LookalikeLure, field, range.clone(), l.confidence);
                        let what = l.evidence.describe();
                        self.host_details.push((
                            field,
                            range.clone(),
                            format!("`{}` imitates no brand: {what}", hit.host),
                        ));
                    }
                    HostJudgement::Official(_) | HostJudgement::Clean => {}
                }
            }
            if official {
                self.add(SignalKind::OfficialLink, field, range.clone(), 1.0);
            } else if !allowed {
                self.add(SignalKind::ExternalLink, field, range.clone(), 1.0);
            }
            if hit.shortener {
                self.add(SignalKind::Shortener, field, range.clone(), 1.0);
            }
            if hit.idn {
                self.add(SignalKind::IdnLink, field, range.clone(), 1.0);
            }
            if hit.defanged {
                self.add(SignalKind::DefangedLink, field, range.clone(), 1.0);
            }
            self.urls.push(UrlFact { field, range, hit, allowed });
        }

        // Disjoint borrows: the views are read while the signals are written.
        let Analysis { fields, name, signals, key_details, seed_details, .. } = self;
        let mut add = |kind: SignalKind, field: Field, range: Range<usize>, confidence: f64| {
            signals[kind as usize].push(Evidence { field, range, confidence });
        };
        // The display name is stored and shown like the body: it is scanned
        // for secrets (a seed pasted there is a leak too), not for the rest.
        let scanned = fields.iter().map(|f| (f, true)).chain(name.iter().map(|f| (f, false)));
        for (f, whole) in scanned {
            let (field, raw_text) = (f.field, f.raw.as_str());
            for hit in crypto::find_private_keys(raw_text) {
                let r = f.raw.origin(hit.range.clone());
                let confidence = if hit.certain { 1.0 } else { 0.7 };
                add(SignalKind::PrivateKey, field, r.clone(), confidence);
                key_details.push((Evidence { field, range: r, confidence }, hit));
            }
            for hit in seed::find_seed_phrases(f.words.as_str()) {
                if hit.test_vector {
                    continue;
                }
                let r = f.words.origin(hit.range.clone());
                let confidence = if hit.checksum_valid { 1.0 } else { 0.8 };
                add(SignalKind::SeedPhrase, field, r.clone(), confidence);
                seed_details.push((Evidence { field, range: r, confidence }, hit));
            }
            if !whole {
                continue;
            }
            for hit in crypto::find_addresses(raw_text) {
                let kind = if hit.valid { SignalKind::CryptoAddress } else { SignalKind::InvalidCryptoAddress };
                add(kind, field, f.raw.origin(hit.range.clone()), 1.0);
            }
            let mut messenger = Vec::new();
            for hit in contacts::find_contacts(raw_text) {
                let r = f.raw.origin(hit.range.clone());
                match hit.kind {
                    contacts::ContactKind::Email => add(SignalKind::Email, field, r, 1.0),
                    contacts::ContactKind::Phone => add(SignalKind::Phone, field, r, 1.0),
                    _ => messenger.push(r),
                }
            }
            // Messenger context words ("telegram", "whatsapp") are also found
            // through obfuscation: `tеlеgrаm @x` still names a contact.
            if f.norm.evasion_undone {
                for hit in contacts::find_contacts(f.norm.text.as_str()) {
                    if matches!(hit.kind, contacts::ContactKind::Email | contacts::ContactKind::Phone) {
                        continue;
                    }
                    let r = f.norm.text.origin(hit.range.clone());
                    if !messenger.iter().any(|m| ranges_overlap(m, &r)) {
                        messenger.push(r);
                    }
                }
            }
            for r in messenger {
                add(SignalKind::MessengerContact, field, r, 1.0);
            }
            for r in &f.norm.mixed_script {
                add(SignalKind::MixedScript, field, r.clone(), 1.0);
            }
            if f.norm.evasion_undone {
                add(SignalKind::Evasion, field, 0..0, 1.0);
            }
        }

        if self.post.lossy_utf16 {
            for (field, text) in self.original_fields() {
                for (at, _) in text.match_indices('\u{FFFD}') {
                    self.signals[SignalKind::LossyUtf16 as usize].push(Evidence {
                        field,
                        range: at..at + 3,
                        confidence: 1.0,
                    });
                }
            }
        }
        self.impersonation(settings);
    }

    fn original_fields(&self) -> Vec<(Field, &'p str)> {
        let mut out = Vec::new();
        if let Some(t) = self.post.title.as_deref() {
            out.push((Field::Title, t));
        }
        out.push((Field::Body, self.post.body.as_str()));
        if let Some(n) = self.post.author.as_ref().and_then(|a| a.name.as_deref()) {
            out.push((Field::AuthorName, n));
        }
        out
    }

    /// A display name that claims staff or brand identity ("Binance Support",
    /// "Ðeveloper", 「公式サポート」) while the author is not staff.
    fn impersonation(&mut self, settings: &Settings) {
        let Some(name) = &self.name else { return };
        let author = self.post.author.as_ref();
        if author.is_some_and(|a| settings.is_official_author(a)) {
            return;
        }
        let text = name.norm.text.as_str();
        let mut hits = Vec::new();
        for m in settings.staff_words.find_iter(text) {
            if is_whole_word(text, m.start(), m.end()) {
                hits.push(name.norm.text.origin(m.start()..m.end()));
            }
        }
        for r in hits {
            self.add(SignalKind::AuthorImpersonation, Field::AuthorName, r, 1.0);
        }
    }
}

/// A link whose visible text names a domain other than the one it goes to.
fn anchor_mismatch(link: &Link, target: &urls::UrlHit) -> bool {
    let Some(target_domain) = target.registrable.as_deref() else { return false };
    urls::find_urls(&link.text).iter().any(|shown| shown.registrable.as_deref().is_some_and(|d| d != target_domain))
}

fn ranges_overlap(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

fn primary_subtag(tag: &str) -> String {
    tag.split(['-', '_']).next().unwrap_or(tag).to_ascii_lowercase()
}

/// Identifies the language of a bounded sample, as ISO 639-1 where one exists.
fn identify_language(text: &str) -> Option<String> {
    let info = whatlang::detect(&text[..text.floor_char_boundary(LANG_SAMPLE_BYTES)])?;
    if info.confidence() < 0.3 {
        return None;
    }
    let code = info.lang().code();
    Some(
        isolang::Language::from_639_3(code).and_then(|l| l.to_639_1()).map_or_else(|| code.to_string(), str::to_string),
    )
}
