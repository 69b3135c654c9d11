//! The pipeline's vocabulary: the plain types every layer shares (what a
//! post is scored for, where in it evidence is, which view of its text a
//! pattern reads, which signals rules test). Nothing here depends on the
//! rest of the crate.

use serde::{Deserialize, Serialize};

/// What a post is scored for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Unwanted promotion: SEO links, casinos, follower selling, repeated promos.
    Spam,
    /// Attempts to defraud readers: fake support, phishing, giveaways, fake airdrops.
    Scam,
    /// Claims of official news by non-official sources.
    Misinformation,
    /// The author leaking their own secrets (seed phrases, private keys).
    Exposure,
}

impl Category {
    /// All categories, in the order scores are reported.
    pub const ALL: [Category; 4] = [Category::Spam, Category::Scam, Category::Misinformation, Category::Exposure];

    /// The lowercase name used in JSON and rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Spam => "spam",
            Category::Scam => "scam",
            Category::Misinformation => "misinformation",
            Category::Exposure => "exposure",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Prints the JSON name (`scam`), as [`Category::as_str`].
///
/// ```
/// assert_eq!(moderation_core::Category::Misinformation.to_string(), "misinformation");
/// ```
impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// What the forum should do with the post. Ordered from mildest to strictest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Publish.
    #[default]
    Allow,
    /// Publish, and put it in the moderators' queue.
    Review,
    /// Hide until a moderator decides.
    Hold,
    /// Do not publish (kept for moderators, who can restore it).
    Reject,
}

impl Decision {
    /// The lowercase name used in JSON and rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Review => "review",
            Decision::Hold => "hold",
            Decision::Reject => "reject",
        }
    }
}

/// Prints the JSON name (`hold`), as [`Decision::as_str`].
///
/// ```
/// assert_eq!(moderation_core::Decision::Hold.to_string(), "hold");
/// ```
impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Which field of the post a span is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The post title.
    Title,
    /// The post body.
    Body,
    /// The author's display name.
    AuthorName,
}

/// A range of the ORIGINAL text of a field, as the forum sent it.
///
/// `start` and `end` are byte offsets into that field (for HTML bodies, into
/// the HTML source: an entity such as `&#98;` is covered whole). `text` is the
/// original text there, except in `exposure` signals, where it is masked so
/// that a verdict, a log line or a webhook never repeats a user's secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Span {
    /// The field the range is in.
    pub field: Field,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// The original text of the range (masked for exposure signals).
    pub text: String,
}

/// How the body is marked up. Spans always point into the body as sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Plain text.
    #[default]
    Text,
    /// Markdown (CommonMark); links are extracted with their anchor text.
    Markdown,
    /// HTML as Discourse-like forums send it ("cooked" posts).
    Html,
}

/// Which view of the text a regular expression sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewName {
    /// Decoded visible text as written (case, punctuation and homoglyphs intact).
    Raw,
    /// NFKC, lowercase, invisible characters removed, kana unified; separators kept.
    Words,
    /// Fully normalized: confusables, leetspeak, spacing and repeats undone.
    Normalized,
}

/// Signals a rule can test. Each is computed once per post by the extractors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// A checksum-valid cryptocurrency address.
    CryptoAddress,
    /// Something shaped like an address whose checksum fails.
    InvalidCryptoAddress,
    /// A look-alike of a protected brand's domain (graded by closeness).
    LookalikeDomain,
    /// A host naming a drainer's lure (claim, airdrop, connect…) and no brand,
    /// graded with free hosting and cheap TLDs.
    LookalikeLure,
    /// A host on a phishing block list (a feed).
    LookalikeFeed,
    /// A Telegram/WhatsApp/LINE/Discord/Signal contact.
    MessengerContact,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A word mixing Latin with Cyrillic or Greek letters.
    MixedScript,
    /// A link through a URL shortener.
    Shortener,
    /// A link whose visible text names another domain than its target.
    AnchorMismatch,
    /// A link to an internationalized (IDN) domain.
    IdnLink,
    /// A defanged link (`hxxp://`, `example[.]com`).
    DefangedLink,
    /// Any link that is not official and not allow-listed.
    ExternalLink,
    /// A link to an official domain.
    OfficialLink,
    /// A BIP39 seed phrase (12+ list words).
    SeedPhrase,
    /// A private key (WIF, xprv, or 64 hex in key context).
    PrivateKey,
    /// A display name claiming staff or brand identity.
    AuthorImpersonation,
    /// Normalization undid an evasion (homoglyphs, leetspeak, spacing).
    Evasion,
    /// The JSON held lone UTF-16 surrogates.
    LossyUtf16,
}

impl SignalKind {
    /// Every signal kind.
    pub const ALL: [SignalKind; 20] = [
        SignalKind::CryptoAddress,
        SignalKind::InvalidCryptoAddress,
        SignalKind::LookalikeDomain,
        SignalKind::LookalikeLure,
        SignalKind::LookalikeFeed,
        SignalKind::MessengerContact,
        SignalKind::Email,
        SignalKind::Phone,
        SignalKind::MixedScript,
        SignalKind::Shortener,
        SignalKind::AnchorMismatch,
        SignalKind::IdnLink,
        SignalKind::DefangedLink,
        SignalKind::ExternalLink,
        SignalKind::OfficialLink,
        SignalKind::SeedPhrase,
        SignalKind::PrivateKey,
        SignalKind::AuthorImpersonation,
        SignalKind::Evasion,
        SignalKind::LossyUtf16,
    ];

    /// The name rules use for it (`crypto_address`).
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::CryptoAddress => "crypto_address",
            SignalKind::InvalidCryptoAddress => "invalid_crypto_address",
            SignalKind::LookalikeDomain => "lookalike_domain",
            SignalKind::LookalikeLure => "lookalike_lure",
            SignalKind::LookalikeFeed => "lookalike_feed",
            SignalKind::MessengerContact => "messenger_contact",
            SignalKind::Email => "email",
            SignalKind::Phone => "phone",
            SignalKind::MixedScript => "mixed_script",
            SignalKind::Shortener => "shortener",
            SignalKind::AnchorMismatch => "anchor_mismatch",
            SignalKind::IdnLink => "idn_link",
            SignalKind::DefangedLink => "defanged_link",
            SignalKind::ExternalLink => "external_link",
            SignalKind::OfficialLink => "official_link",
            SignalKind::SeedPhrase => "seed_phrase",
            SignalKind::PrivateKey => "private_key",
            SignalKind::AuthorImpersonation => "author_impersonation",
            SignalKind::Evasion => "evasion",
            SignalKind::LossyUtf16 => "lossy_utf16",
        }
    }
}
