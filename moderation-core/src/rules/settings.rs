//! Settings resolved from the layers of a rule set: priors, thresholds and
//! the domain and account lists the extractors consult.

use aho_corasick::AhoCorasick;

use crate::post::Author;
use crate::rules::{BrandEntry, Registry, RuleSet, Thresholds};
use crate::signals::lookalike::{BrandList, is_same_or_subdomain};
use crate::text::normalize;
use crate::text::view::View;
use crate::vocab::Category;

/// Prior log-odds of each category when no layer sets one: a score of 0.047,
/// so that one rule of weight 3 brings a post to 0.5 (review).
pub const DEFAULT_PRIOR: f64 = -3.0;

/// Words a display name uses to pose as staff, English and Japanese. Brand
/// labels of the protected domains are added to these.
const STAFF_WORDS: &[&str] = &[
    "support",
    "admin",
    "administrator",
    "official",
    "moderator",
    "mod team",
    "developer",
    "dev team",
    "staff",
    "helpdesk",
    "help desk",
    "customer service",
    "customer care",
    "security team",
    "team",
    "サポート",
    "公式",
    "運営",
    "管理者",
    "管理人",
    "スタッフ",
    "カスタマー",
    "開発者",
    "事務局",
];

/// Settings in force for one layered rule set.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Prior log-odds per category (indexed by [`Category`] order).
    pub priors: [f64; 4],
    /// Decision thresholds per category.
    pub thresholds: [Thresholds; 4],
    /// Whether established members' reports of a scam that quote it are
    /// capped at review (`[settings] quoted_reports`, off by default).
    pub quoted_reports: bool,
    pub(crate) brands: BrandList,
    official_domains: Vec<String>,
    official_accounts: Vec<String>,
    allow_domains: Vec<String>,
    pub(crate) staff_words: AhoCorasick,
    /// Per category, the log-odds (counted from the default prior, as the
    /// model counts them) under which no threshold of this forum lies: the
    /// default review threshold's, or lower where the forum's own prior or
    /// lowest threshold puts its first decision lower. An adapted model may
    /// compress a category's scores only beneath it, so no decision changes
    /// (`-∞`: a threshold of 0, never compress). Derived once from `priors`
    /// and `thresholds`, not per post.
    pub(crate) review_knots: [f64; 4],
    /// Per category, in the same log-odds, this forum's hold threshold (or
    /// its reject threshold where it holds nothing; `+∞`: neither, or a
    /// threshold of 0 or 1, where no log-odds is finite). Above
    /// it an adapted model may put a category's scores back on the base's
    /// slope ([`HeadCalibration::above_hold`]); decisions are taken as
    /// without that, so none changes.
    ///
    /// [`HeadCalibration::above_hold`]: crate::model::HeadCalibration::above_hold
    pub(crate) hold_knots: [f64; 4],
}

/// Thresholds when no layer sets them. Misinformation never goes past review
/// and exposure never rejects: those posts need a human, not a deletion.
pub fn default_thresholds(category: Category) -> Thresholds {
    match category {
        Category::Spam | Category::Scam => Thresholds { review: Some(0.5), hold: Some(0.85), reject: Some(0.97) },
        Category::Misinformation => Thresholds { review: Some(0.5), hold: None, reject: None },
        Category::Exposure => Thresholds { review: Some(0.5), hold: Some(0.8), reject: None },
    }
}

impl Settings {
    /// Merges the settings of the layers, later layers overriding earlier ones key by key.
    pub fn from_layers(layers: &[RuleSet]) -> Settings {
        let mut priors = [DEFAULT_PRIOR; 4];
        let mut thresholds = Category::ALL.map(default_thresholds);
        let (mut brands, mut official, mut accounts, mut allow) = (vec![], vec![], vec![], vec![]);
        let mut use_registry = false;
        let mut quoted_reports = false;
        let mut layer_brands: Vec<BrandEntry> = Vec::new();
        for layer in layers {
            let s = &layer.settings;
            if let Some(on) = s.brand_registry {
                use_registry = on;
            }
            if let Some(on) = s.quoted_reports {
                quoted_reports = on;
            }
            layer_brands.extend(layer.brands.iter().cloned());
            if let Some(p) = &s.priors {
                for (c, v) in p {
                    priors[c.index()] = *v;
                }
            }
            if let Some(t) = &s.thresholds {
                for (c, v) in t {
                    thresholds[c.index()] = *v;
                }
            }
            let lower =
                |v: &Vec<String>| v.iter().map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase()).collect();
            if let Some(v) = &s.protected_brands {
                brands = lower(v);
            }
            if let Some(v) = &s.official_domains {
                official = lower(v);
            }
            if let Some(v) = &s.official_accounts {
                accounts = v.clone();
            }
            if let Some(v) = &s.allow_domains {
                allow = lower(v);
            }
        }
        let mut registry: Vec<BrandEntry> = if use_registry { default_registry().brands.clone() } else { Vec::new() };
        registry.extend(layer_brands);
        let mut words: Vec<String> = STAFF_WORDS.iter().map(|w| normalize_literal(w)).collect();
        for b in &brands {
            let label = b.split('.').next().unwrap_or(b);
            if label.len() >= 3 {
                words.push(normalize_literal(label));
            }
        }
        // Brand domains are official too: a link to binance.com is not a look-alike.
        for b in &brands {
            if !official.contains(b) {
                official.push(b.clone());
            }
        }
        Settings {
            review_knots: review_knots(&priors, &thresholds),
            hold_knots: hold_knots(&priors, &thresholds),
            priors,
            thresholds,
            quoted_reports,
            brands: BrandList::with_registry(&brands, &registry),
            official_domains: official,
            official_accounts: accounts,
            allow_domains: allow,
            staff_words: AhoCorasick::new(&words).expect("a few dozen short literals always build"),
        }
    }

    /// How the look-alike checks judge a host under these settings: an official
    /// host of a registry brand, a look-alike of one, an unbranded lure host, or
    /// clean (what `moderation domains check` prints).
    pub fn judge_host(&self, host: &str) -> crate::signals::lookalike::HostJudgement {
        self.brands.judge(host)
    }

    /// Whether a host is an official domain or a subdomain of one.
    pub fn is_official_host(&self, host: &str) -> bool {
        host_in(host, &self.official_domains)
    }

    /// Whether a host is allow-listed (not counted as an external link).
    pub fn is_allowed_host(&self, host: &str) -> bool {
        host_in(host, &self.allow_domains)
    }

    /// Whether the author speaks for the operator.
    pub fn is_official_author(&self, author: &Author) -> bool {
        author.is_staff == Some(true) || self.official_accounts.contains(&author.id)
    }
}

/// The shipped registry, parsed once per process.
fn default_registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(Registry::default_registry)
}

/// `host` is one of `domains` or a subdomain of one.
pub(crate) fn host_in(host: &str, domains: &[String]) -> bool {
    let host = host.trim_end_matches('.');
    domains.iter().any(|d| is_same_or_subdomain(host, d))
}

/// A rule literal through the same pipeline as post text, so that it matches
/// whatever obfuscated spelling normalizes to the same thing.
pub(crate) fn normalize_literal(s: &str) -> String {
    let words = normalize::words_view(&View::identity(s));
    normalize::normalized_view(&words).text.as_str().to_string()
}

/// Every spelling a rule phrase can take in a post's `normalized` view: as
/// it reads in a post written mostly in Cyrillic and in any other (they
/// differ where a Cyrillic word is made of Latin look-alikes only: `на`
/// stays in a Russian post and reads `ha` in an English one).
pub(crate) fn normalize_literal_forms(s: &str) -> Vec<String> {
    let words = normalize::words_view(&View::identity(s));
    let mut forms = vec![normalize::normalized_view_in(&words, false).text.as_str().to_string()];
    let cyrillic = normalize::normalized_view_in(&words, true).text.as_str().to_string();
    if cyrillic != forms[0] {
        forms.push(cyrillic);
    }
    forms
}

/// See [`Settings::hold_knots`].
fn hold_knots(priors: &[f64; 4], thresholds: &[Thresholds; 4]) -> [f64; 4] {
    let logit = |p: f64| (p / (1.0 - p)).ln();
    Category::ALL.map(|c| {
        let i = c.index();
        let t = thresholds[i];
        match t.hold.or(t.reject) {
            Some(p) => {
                let knot = logit(p.clamp(0.0, 1.0)) - (priors[i] - DEFAULT_PRIOR);
                if knot.is_finite() { knot } else { f64::INFINITY }
            }
            None => f64::INFINITY,
        }
    })
}

/// See [`Settings::review_knots`].
fn review_knots(priors: &[f64; 4], thresholds: &[Thresholds; 4]) -> [f64; 4] {
    let logit = |p: f64| (p / (1.0 - p)).ln();
    Category::ALL.map(|c| {
        let i = c.index();
        let default = default_thresholds(c).review.map_or(0.0, logit);
        let t = thresholds[i];
        let lowest = [t.review, t.hold, t.reject].into_iter().flatten().fold(f64::INFINITY, f64::min);
        let own = if lowest.is_finite() { logit(lowest.clamp(0.0, 1.0)) } else { f64::INFINITY };
        let own = own - (priors[i] - DEFAULT_PRIOR);
        if own.is_nan() { f64::NEG_INFINITY } else { default.min(own) }
    })
}
