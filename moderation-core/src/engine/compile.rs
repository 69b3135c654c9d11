//! A layered rule set compiled for scanning.
//!
//! All phrase literals of all rules go into ONE Aho-Corasick automaton; all
//! regular expressions of a view into ONE `RegexSet` (three sets, one per
//! view). A post is scanned once per view; only the rules whose literals or
//! patterns hit (plus the few rules with no text trigger) are evaluated, so
//! the cost grows with the hits, not with the number of rules.

use std::collections::HashMap;
use std::ops::Range as ByteRange;
use std::sync::Arc;

use crate::analysis::{Analysis, Evidence};
use crate::error::{Error, RuleError};
use crate::rules::settings::{Settings, host_in, normalize_literal_forms};
use crate::rules::{AuthorCondition, Condition, REGEX_SIZE_LIMIT, Range, Rule, RuleSet};
use crate::text::{boundary_after, boundary_before, needs_boundary};
use crate::vocab::{Category, Decision, SignalKind, ViewName};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// Spans kept per rule hit: enough to show a moderator every occurrence that
/// matters, bounded so a post repeating a phrase 10,000 times stays cheap.
const MAX_SPANS_PER_RULE: usize = 16;

/// The lazy DFA cache of each `RegexSet`: the 2 MiB default thrashes with a
/// few hundred patterns (measured ~100× slower).
const REGEX_DFA_LIMIT: usize = 8 << 20;

const VIEWS: [ViewName; 3] = [ViewName::Raw, ViewName::Words, ViewName::Normalized];

#[derive(Debug)]
enum Node {
    Lits(Vec<u32>),
    Regex(ViewName, u32),
    LinkDomain(Vec<String>),
    LinkCount(Range),
    Signal(SignalKind, f64),
    Language(Vec<String>),
    Author(AuthorCondition),
    Flag(String),
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    /// Holds with the evidence of its child that lies outside quotations.
    Unquoted(Box<Node>),
    /// A named condition, compiled once and shared by every `use` of it.
    Shared(Arc<Node>),
}

/// One rule, compiled.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub id: String,
    pub category: Category,
    pub weight: f64,
    pub description: String,
    pub action: Option<Decision>,
    pub at_most: Option<Decision>,
    /// Identifies what the rule does (see [`content_hash`]).
    pub content_hash: String,
    node: Node,
}

#[derive(Debug, Clone, Copy)]
struct Literal {
    /// The literal starts/ends with a letter or digit of a script that puts
    /// spaces between words, so a match must start/end at a word boundary.
    left: bool,
    right: bool,
}

#[derive(Debug, Default)]
struct ViewRegexes {
    /// The trigger patterns of the view, scanned on every post.
    set: Option<RegexSet>,
    /// Pattern id of each member of `set`.
    set_ids: Vec<u32>,
    each: Vec<Regex>,
    /// Rules triggered by each pattern (empty for non-trigger patterns).
    rules: Vec<Vec<u32>>,
}

/// A layered, compiled rule set.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub rules: Vec<CompiledRule>,
    pub settings: Settings,
    /// `name@version+name@version`.
    pub version: String,
    ac: Option<AhoCorasick>,
    literals: Vec<Literal>,
    literal_rules: Vec<Vec<u32>>,
    regexes: [ViewRegexes; 3],
    /// Rules with no text trigger, evaluated on every post.
    always: Vec<u32>,
}

/// The hits of one scan of a post.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// (literal id, field index, normalized-view range), sorted by literal.
    lits: Vec<(u32, usize, ByteRange<usize>)>,
    /// (view, pattern id, field index) of regexes that matched.
    regexes: Vec<(ViewName, u32, usize)>,
}

/// What the caller knows from memory of earlier posts (see [`crate::Context`]).
pub(crate) struct Flags<'a>(pub &'a [String]);

impl Compiled {
    /// Layers the rule sets (later layers replace rules with the same id;
    /// `enabled = false` removes one) and compiles them.
    pub fn new(layers: &[RuleSet]) -> Result<Compiled, Error> {
        let mut merged: Vec<(&Rule, &RuleSet)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for layer in layers {
            for rule in &layer.rules {
                match index.get(rule.id.as_str()) {
                    Some(&i) => merged[i] = (rule, layer),
                    None => {
                        index.insert(&rule.id, merged.len());
                        merged.push((rule, layer));
                    }
                }
            }
        }
        let mut named = HashMap::new();
        for layer in layers {
            for (name, c) in &layer.conditions {
                named.insert(name.clone(), c.clone());
            }
        }
        let mut b = Builder { named: named.clone(), ..Builder::default() };
        let mut rules = Vec::new();
        // Expanded sizes are counted before anything is expanded: each named
        // condition once per depth it is used at, so a hostile file whose
        // expansion would be exponential is refused in microseconds.
        let mut sizes = Sizes::default();
        let mut total: u64 = 0;
        for (rule, layer) in merged.iter().filter(|(r, _)| r.enabled) {
            let id = rules.len() as u32;
            let rule_error = |message: String| {
                Error::Rules(RuleError {
                    source_name: layer.source_name.clone(),
                    line: Some(rule.line),
                    rule_id: Some(rule.id.clone()),
                    message,
                })
            };
            let size = sizes.size(&named, &rule.when, 0).map_err(rule_error)?;
            if size > MAX_RULE_CONDITIONS {
                return Err(rule_error(match sizes.largest_use(&rule.when, 0) {
                    Some((name, n)) => format!(
                        "`use = \"{name}\"` expands to {n} conditions (limit {MAX_RULE_CONDITIONS} per rule, each phrase counting as one)"
                    ),
                    None => format!(
                        "the condition has {size} conditions (limit {MAX_RULE_CONDITIONS} per rule, each phrase counting as one)"
                    ),
                }));
            }
            total += size;
            if total > MAX_TOTAL_CONDITIONS {
                return Err(rule_error(format!(
                    "the rules expand to more than {MAX_TOTAL_CONDITIONS} conditions in all (each `use` counted in full, each phrase as one); split the layers or share fewer large named conditions"
                )));
            }
            let node = b.node(&rule.when, 0).map_err(rule_error)?;
            if b.triggers(&node).is_none() {
                b.always.push(id);
            }
            rules.push(CompiledRule {
                id: rule.id.clone(),
                category: rule.category,
                weight: rule.weight,
                description: rule.description.clone(),
                action: rule.action,
                at_most: rule.at_most,
                content_hash: content_hash(rule, &b.named),
                node,
            });
        }
        // Index rules by their triggers after all nodes exist.
        let mut literal_rules = vec![Vec::new(); b.literals.len()];
        let mut regex_rules: [Vec<Vec<u32>>; 3] = VIEWS.map(|v| vec![Vec::new(); b.patterns[v as usize].len()]);
        for (i, r) in rules.iter().enumerate() {
            let mut triggers = b.triggers(&r.node).unwrap_or_default();
            // A shared named condition lists its triggers once per use.
            triggers.sort_unstable_by_key(Trigger::key);
            triggers.dedup_by_key(|t| t.key());
            for t in triggers {
                match t {
                    Trigger::Lit(l) => literal_rules[l as usize].push(i as u32),
                    Trigger::Regex(v, p) => regex_rules[v as usize][p as usize].push(i as u32),
                }
            }
        }
        let layer_error = |message: String| {
            Error::Rules(RuleError {
                source_name: layers.iter().map(|l| l.source_name.as_str()).collect::<Vec<_>>().join("+"),
                line: None,
                rule_id: None,
                message,
            })
        };
        // What the automaton and the regex sets are built from is bounded,
        // so compiling a rule set costs at most a bounded time and memory.
        if b.literal_text.len() > MAX_PHRASES {
            return Err(layer_error(format!(
                "{} distinct phrases (limit {MAX_PHRASES} across the layers)",
                b.literal_text.len()
            )));
        }
        let phrase_bytes: usize = b.literal_text.iter().map(String::len).sum();
        if phrase_bytes > MAX_PHRASE_BYTES {
            return Err(layer_error(format!(
                "the distinct phrases total {phrase_bytes} bytes (limit {MAX_PHRASE_BYTES} across the layers)"
            )));
        }
        let patterns: usize = b.patterns.iter().map(Vec::len).sum();
        if patterns > crate::rules::MAX_PATTERNS {
            return Err(layer_error(format!(
                "{patterns} distinct regex patterns (limit {} across the layers)",
                crate::rules::MAX_PATTERNS
            )));
        }
        let ac = if b.literal_text.is_empty() {
            None
        } else {
            let mut builder = AhoCorasick::builder();
            builder.match_kind(MatchKind::Standard);
            // A DFA is fastest to scan; beyond a few thousand literals its
            // memory grows quickly, so let the crate choose for large sets.
            if b.literal_text.len() <= 2_000 {
                builder.kind(Some(AhoCorasickKind::DFA));
            }
            Some(builder.build(&b.literal_text).map_err(|e| layer_error(format!("phrase automaton: {e}")))?)
        };
        let mut regexes: [ViewRegexes; 3] = Default::default();
        for v in VIEWS {
            let pats = &b.patterns[v as usize];
            if pats.is_empty() {
                continue;
            }
            let rules = std::mem::take(&mut regex_rules[v as usize]);
            // Only patterns that can make a rule a candidate are scanned on
            // every post; the others (inside `not`, or beside a phrase that
            // already triggers the rule) run only when a candidate needs them.
            let set_ids: Vec<u32> = (0..pats.len() as u32).filter(|&p| !rules[p as usize].is_empty()).collect();
            let set = if set_ids.is_empty() {
                None
            } else {
                let members = set_ids.iter().map(|&p| pats[p as usize].as_str());
                Some(
                    RegexSetBuilder::new(members)
                        .size_limit(REGEX_SIZE_LIMIT * 16)
                        .dfa_size_limit(REGEX_DFA_LIMIT)
                        .build()
                        .map_err(|e| layer_error(format!("the combined {v:?} regex set is too large: {e}")))?,
                )
            };
            let each = pats
                .iter()
                .map(|p| RegexBuilder::new(p).size_limit(REGEX_SIZE_LIMIT).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| layer_error(e.to_string()))?;
            regexes[v as usize] = ViewRegexes { set, set_ids, each, rules };
        }
        let version = layers.iter().map(|l| format!("{}@{}", l.name, l.version)).collect::<Vec<_>>().join("+");
        Ok(Compiled {
            rules,
            settings: Settings::from_layers(layers),
            version,
            ac,
            literals: b.literals,
            literal_rules,
            regexes,
            always: b.always,
        })
    }

    /// Whether any rule tests the language (identification is skipped otherwise).
    pub fn scan(&self, a: &Analysis<'_>) -> Scan {
        let mut scan = Scan::default();
        for (fi, f) in a.fields.iter().enumerate() {
            if let Some(ac) = &self.ac {
                let text = f.norm.text.as_str();
                for m in ac.find_overlapping_iter(text) {
                    let lit = self.literals[m.pattern().as_usize()];
                    if (!lit.left || boundary_before(text, m.start())) && (!lit.right || boundary_after(text, m.end()))
                    {
                        scan.lits.push((m.pattern().as_u32(), fi, m.start()..m.end()));
                    }
                }
            }
            for v in VIEWS {
                let r = &self.regexes[v as usize];
                if let Some(set) = &r.set {
                    for i in set.matches(f.view(v).as_str()).iter() {
                        scan.regexes.push((v, r.set_ids[i], fi));
                    }
                }
            }
        }
        scan.lits.sort_by_key(|(l, fi, r)| (*l, *fi, r.start));
        scan
    }

    /// The rules that could fire given the scan: those triggered by a hit
    /// plus those without text triggers. Sorted, without duplicates.
    pub fn candidates(&self, scan: &Scan) -> Vec<u32> {
        let mut out = self.always.clone();
        let mut last = u32::MAX;
        for (l, _, _) in &scan.lits {
            if *l != last {
                out.extend_from_slice(&self.literal_rules[*l as usize]);
                last = *l;
            }
        }
        for (v, p, _) in &scan.regexes {
            out.extend_from_slice(&self.regexes[*v as usize].rules[*p as usize]);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Evaluates one rule; on a hit returns its evidence (possibly empty for
    /// post-level conditions).
    pub fn evaluate(&self, rule: u32, a: &Analysis<'_>, scan: &Scan, flags: &Flags<'_>) -> Option<Vec<Evidence>> {
        let mut ev = Vec::new();
        let r = &self.rules[rule as usize];
        if !self.eval(&r.node, a, scan, flags, &mut ev) {
            return None;
        }
        ev.sort_by_key(|x| (x.field, x.range.start, x.range.end));
        ev.retain(|e| !e.range.is_empty());
        // Overlapping evidence ("support" inside "support team") becomes one span.
        ev.dedup_by(|next, kept| {
            let overlap = next.field == kept.field && next.range.start < kept.range.end;
            if overlap {
                kept.range.end = kept.range.end.max(next.range.end);
            }
            overlap
        });
        ev.truncate(MAX_SPANS_PER_RULE);
        Some(ev)
    }

    /// Each positive condition of a rule (those not under `not`), described,
    /// with whether it holds on its own for this post.
    pub fn explain(&self, rule: u32, a: &Analysis<'_>, scan: &Scan, flags: &Flags<'_>) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        self.leaves(&self.rules[rule as usize].node, a, scan, flags, &mut out);
        out
    }

    fn leaves(&self, node: &Node, a: &Analysis<'_>, scan: &Scan, flags: &Flags<'_>, out: &mut Vec<(String, bool)>) {
        match node {
            Node::All(children) | Node::Any(children) => {
                children.iter().for_each(|c| self.leaves(c, a, scan, flags, out));
            }
            Node::Shared(inner) => self.leaves(inner, a, scan, flags, out),
            Node::Unquoted(inner) => self.leaves(inner, a, scan, flags, out),
            Node::Not(_) | Node::Author(_) | Node::Language(_) => {}
            leaf => {
                let what = match leaf {
                    Node::Lits(ids) => format!("phrases ({} literals)", ids.len()),
                    Node::Regex(v, p) => {
                        format!("regex on {v:?}: {}", self.regexes[*v as usize].each[*p as usize].as_str())
                    }
                    Node::LinkDomain(d) => format!("link_domain {d:?}"),
                    Node::LinkCount(r) => format!("link_count {r:?}"),
                    Node::Signal(k, m) => format!("signal {k:?} (min confidence {m})"),
                    Node::Flag(f) => format!("flag {f}"),
                    _ => String::new(),
                };
                let hit = self.eval(leaf, a, scan, flags, &mut Vec::new());
                out.push((what, hit));
            }
        }
    }

    fn eval(&self, node: &Node, a: &Analysis<'_>, scan: &Scan, flags: &Flags<'_>, ev: &mut Vec<Evidence>) -> bool {
        match node {
            Node::Lits(ids) => {
                let mut hit = false;
                for &id in ids {
                    let from = scan.lits.partition_point(|(l, _, _)| *l < id);
                    for (_, fi, r) in scan.lits[from..].iter().take_while(|(l, _, _)| *l == id) {
                        let f = &a.fields[*fi];
                        ev.push(Evidence { field: f.field, range: f.norm.text.origin(r.clone()), confidence: 1.0 });
                        hit = true;
                    }
                }
                hit
            }
            Node::Regex(v, p) => {
                let r = &self.regexes[*v as usize];
                let regex = &r.each[*p as usize];
                let scanned = !r.rules[*p as usize].is_empty();
                let mut hit = false;
                for (fi, f) in a.fields.iter().enumerate() {
                    // A trigger pattern was already scanned: look only where it matched.
                    if scanned && !scan.regexes.iter().any(|(sv, sp, sf)| sv == v && sp == p && *sf == fi) {
                        continue;
                    }
                    let view = f.view(*v);
                    for m in regex.find_iter(view.as_str()).take(MAX_SPANS_PER_RULE) {
                        ev.push(Evidence { field: f.field, range: view.origin(m.range()), confidence: 1.0 });
                        hit = true;
                    }
                }
                hit
            }
            Node::LinkDomain(domains) => {
                let mut hit = false;
                for u in a.urls.iter().filter(|u| host_in(&u.hit.host, domains)) {
                    ev.push(Evidence { field: u.field, range: u.range.clone(), confidence: 1.0 });
                    hit = true;
                }
                hit
            }
            Node::LinkCount(range) => {
                let mut seen: Vec<&str> = a.urls.iter().filter(|u| !u.allowed).map(|u| u.hit.url.as_str()).collect();
                seen.sort_unstable();
                seen.dedup();
                let n = seen.len() as u32;
                let ok = range.min.is_none_or(|m| n >= m) && range.max.is_none_or(|m| n <= m);
                if ok && n > 0 {
                    ev.extend(a.urls.iter().filter(|u| !u.allowed).map(|u| Evidence {
                        field: u.field,
                        range: u.range.clone(),
                        confidence: 1.0,
                    }));
                }
                ok
            }
            Node::Signal(kind, min) => {
                let before = ev.len();
                ev.extend(a.signal(*kind).iter().filter(|e| e.confidence >= *min).cloned());
                ev.len() > before
            }
            Node::Language(langs) => a.language().is_some_and(|l| langs.iter().any(|x| x.eq_ignore_ascii_case(l))),
            Node::Author(c) => author_matches(c, a, &self.settings),
            Node::Flag(f) => flags.0.iter().any(|x| x == f),
            Node::All(children) => {
                let mark = ev.len();
                for c in children {
                    if !self.eval(c, a, scan, flags, ev) {
                        ev.truncate(mark);
                        return false;
                    }
                }
                true
            }
            Node::Any(children) => {
                let mut any = false;
                for c in children {
                    any |= self.eval(c, a, scan, flags, ev);
                }
                any
            }
            Node::Not(inner) => {
                let mut scratch = Vec::new();
                !self.eval(inner, a, scan, flags, &mut scratch)
            }
            Node::Unquoted(inner) => {
                let mark = ev.len();
                if !self.eval(inner, a, scan, flags, ev) {
                    ev.truncate(mark);
                    return false;
                }
                let mut at = mark;
                for i in mark..ev.len() {
                    if !a.is_quoted(ev[i].field, &ev[i].range) {
                        ev.swap(at, i);
                        at += 1;
                    }
                }
                ev.truncate(at);
                at > mark
            }
            Node::Shared(inner) => self.eval(inner, a, scan, flags, ev),
        }
    }
}

fn author_matches(c: &AuthorCondition, a: &Analysis<'_>, settings: &Settings) -> bool {
    let author = a.post.author.as_ref();
    let get = |f: fn(&crate::post::Author) -> Option<u32>| author.and_then(f);
    let at_most = |v: Option<u32>, bound: Option<u32>| bound.is_none_or(|b| v.is_some_and(|v| v <= b));
    let at_least = |v: Option<u32>, bound: Option<u32>| bound.is_none_or(|b| v.is_some_and(|v| v >= b));
    let trust = author.and_then(|x| x.trust_level).map(u32::from);
    let staff = author.and_then(|x| x.is_staff).unwrap_or(false);
    let official = author.is_some_and(|x| settings.is_official_author(x));
    at_most(get(|x| x.account_age_days), c.max_account_age_days)
        && at_least(get(|x| x.account_age_days), c.min_account_age_days)
        && at_most(trust, c.max_trust_level.map(u32::from))
        && at_least(trust, c.min_trust_level.map(u32::from))
        && at_most(get(|x| x.post_count), c.max_post_count)
        && at_least(get(|x| x.prior_removals), c.min_prior_removals)
        && c.staff.is_none_or(|s| s == staff)
        && c.official.is_none_or(|o| o == official)
}

#[derive(Debug, Clone, Copy)]
enum Trigger {
    Lit(u32),
    Regex(ViewName, u32),
}

impl Trigger {
    fn key(&self) -> (u8, u32) {
        match *self {
            Trigger::Lit(l) => (0, l),
            Trigger::Regex(v, p) => (1 + v as u8, p),
        }
    }
}

#[derive(Default)]
struct Builder {
    literal_text: Vec<String>,
    literal_ids: HashMap<String, u32>,
    literals: Vec<Literal>,
    patterns: [Vec<String>; 3],
    pattern_ids: [HashMap<String, u32>; 3],
    always: Vec<u32>,
    named: HashMap<String, Condition>,
    /// Each named condition compiled once, shared by all its uses.
    shared: HashMap<String, Arc<Node>>,
}

/// Most conditions one rule may expand to, every `use` expanded and each
/// phrase counted as one. The default pack's largest rule (twelve
/// languages of warnings, staff words and messengers) needs about 540.
pub(crate) const MAX_RULE_CONDITIONS: u64 = 10_000;
/// Most conditions all the rules of a layered set may expand to together.
pub(crate) const MAX_TOTAL_CONDITIONS: u64 = 200_000;
/// Most distinct phrases across the layers (one Aho-Corasick automaton).
pub(crate) const MAX_PHRASES: usize = 50_000;
/// Most bytes of distinct phrases across the layers.
pub(crate) const MAX_PHRASE_BYTES: usize = 1 << 20;

/// Expanded sizes of conditions, counted without expanding anything.
#[derive(Default)]
struct Sizes<'a> {
    /// (name, depth it is expanded at) → its expanded size.
    named: HashMap<(&'a str, usize), u64>,
}

impl<'a> Sizes<'a> {
    /// The nodes `c` expands to at `depth` (saturating), with the errors
    /// compiling it would give for a missing or too deeply nested `use`.
    /// Each named condition is counted once per depth, so this costs the
    /// size of the text, whatever the size of the expansion.
    fn size(&mut self, named: &'a HashMap<String, Condition>, c: &'a Condition, depth: usize) -> Result<u64, String> {
        Ok(match c {
            Condition::Use(name) => {
                if depth >= MAX_USE_DEPTH {
                    return Err(format!("`use = \"{name}\"` nests more than {MAX_USE_DEPTH} deep (a cycle?)"));
                }
                if let Some(&n) = self.named.get(&(name.as_str(), depth + 1)) {
                    return Ok(n);
                }
                let Some((key, inner)) = named.get_key_value(name) else {
                    return Err(format!("`use = \"{name}\"`: no such named condition in this or an earlier layer"));
                };
                let n = self.size(named, inner, depth + 1)?;
                self.named.insert((key.as_str(), depth + 1), n);
                n
            }
            Condition::All(list) | Condition::Any(list) => {
                let mut n: u64 = 1;
                for c in list {
                    n = n.saturating_add(self.size(named, c, depth)?);
                }
                n
            }
            Condition::Not(inner) | Condition::Unquoted(inner) => self.size(named, inner, depth)?.saturating_add(1),
            Condition::Phrases(list) | Condition::LinkDomain(list) => list.len().max(1) as u64,
            _ => 1,
        })
    }

    /// The `use` directly in `c` (not inside another named condition) that
    /// expands to the most, once [`Sizes::size`] has counted `c`.
    fn largest_use(&self, c: &'a Condition, depth: usize) -> Option<(&'a str, u64)> {
        match c {
            Condition::Use(name) => self.named.get(&(name.as_str(), depth + 1)).map(|&n| (name.as_str(), n)),
            Condition::All(list) | Condition::Any(list) => {
                list.iter().filter_map(|c| self.largest_use(c, depth)).max_by_key(|(_, n)| *n)
            }
            Condition::Not(inner) | Condition::Unquoted(inner) => self.largest_use(inner, depth),
            _ => None,
        }
    }
}

/// A digest of everything that decides when a rule fires and what it adds:
/// category, weight, action and the condition with every `use` expanded
/// (so editing a shared named condition changes the hash of the rules that
/// use it). Description and examples are left out: rewording a rule does
/// not change what it does. Fitted weights are keyed by it, so a rule
/// edited since a model was fitted falls back to its hand-set weight.
pub(crate) fn content_hash(rule: &crate::rules::Rule, named: &HashMap<String, Condition>) -> String {
    use sha2::Digest;
    use std::fmt::Write as _;
    // The text hashed is `Debug` of the expanded condition, written straight
    // into the digest: expansions are never materialised (a rule within
    // [`MAX_RULE_CONDITIONS`] still hashes in time proportional to that).
    struct Hasher(sha2::Sha256);
    impl std::fmt::Write for Hasher {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.update(s.as_bytes());
            Ok(())
        }
    }
    let mut h = Hasher(sha2::Sha256::new());
    let _ = write!(
        h,
        "{}|{:?}|{:?}|{:?}",
        rule.category.as_str(),
        rule.weight.to_bits(),
        rule.action,
        Expanded { c: &rule.when, named, depth: 0 }
    );
    // Added only when set, so the hashes of rules without a cap (and the
    // fitted weights keyed by them) did not change when `at_most` came.
    if let Some(cap) = rule.at_most {
        let _ = write!(h, "|at_most:{cap:?}");
    }
    crate::text::hex(&h.0.finalize()[..8])
}

/// Formats like `Debug` of the condition with every `use` replaced by what
/// it names (up to [`MAX_USE_DEPTH`]), without building that condition.
struct Expanded<'a> {
    c: &'a Condition,
    named: &'a HashMap<String, Condition>,
    depth: usize,
}

impl std::fmt::Debug for Expanded<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (named, depth) = (self.named, self.depth);
        let list = |f: &mut std::fmt::Formatter<'_>, name: &str, v: &[Condition]| {
            let items: Vec<Expanded<'_>> = v.iter().map(|c| Expanded { c, named, depth }).collect();
            f.debug_tuple(name).field(&items).finish()
        };
        match self.c {
            Condition::Use(name) if depth < MAX_USE_DEPTH => match named.get(name) {
                Some(inner) => Expanded { c: inner, named, depth: depth + 1 }.fmt(f),
                None => self.c.fmt(f),
            },
            Condition::All(v) => list(f, "All", v),
            Condition::Any(v) => list(f, "Any", v),
            Condition::Not(c) => f.debug_tuple("Not").field(&Expanded { c, named, depth }).finish(),
            Condition::Unquoted(c) => f.debug_tuple("Unquoted").field(&Expanded { c, named, depth }).finish(),
            other => other.fmt(f),
        }
    }
}

/// How deep `use` may nest: enough for any sane reuse, and it stops cycles.
const MAX_USE_DEPTH: usize = 8;

impl Builder {
    fn node(&mut self, c: &Condition, depth: usize) -> Result<Node, String> {
        Ok(match c {
            Condition::Phrases(list) => {
                let mut ids: Vec<u32> =
                    list.iter().flat_map(|p| normalize_literal_forms(p)).filter_map(|p| self.literal(&p)).collect();
                ids.sort_unstable();
                ids.dedup();
                Node::Lits(ids)
            }
            Condition::Regex(r) => {
                let v = r.view as usize;
                let pattern = crate::rules::compiled_pattern(&r.pattern);
                let next = self.patterns[v].len() as u32;
                let id = *self.pattern_ids[v].entry(pattern.clone()).or_insert(next);
                if id == next {
                    self.patterns[v].push(pattern);
                }
                Node::Regex(r.view, id)
            }
            Condition::LinkDomain(d) => {
                Node::LinkDomain(d.iter().map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase()).collect())
            }
            Condition::LinkCount(r) => Node::LinkCount(*r),
            Condition::Signal(s) => Node::Signal(s.kind(), s.min_confidence()),
            Condition::Language(l) => Node::Language(l.clone()),
            Condition::Author(a) => Node::Author(a.clone()),
            Condition::Flag(f) => Node::Flag(f.clone()),
            Condition::Use(name) => {
                if depth >= MAX_USE_DEPTH {
                    return Err(format!("`use = \"{name}\"` nests more than {MAX_USE_DEPTH} deep (a cycle?)"));
                }
                // Compiled once: [`Sizes::size`] has checked every depth it is
                // used at, so the node compiled at the first is valid at all.
                if let Some(shared) = self.shared.get(name) {
                    return Ok(Node::Shared(shared.clone()));
                }
                let Some(named) = self.named.get(name).cloned() else {
                    return Err(format!("`use = \"{name}\"`: no such named condition in this or an earlier layer"));
                };
                let node = Arc::new(self.node(&named, depth + 1)?);
                self.shared.insert(name.clone(), node.clone());
                Node::Shared(node)
            }
            Condition::All(list) => Node::All(list.iter().map(|c| self.node(c, depth)).collect::<Result<_, _>>()?),
            Condition::Any(list) => Node::Any(list.iter().map(|c| self.node(c, depth)).collect::<Result<_, _>>()?),
            Condition::Not(inner) => Node::Not(Box::new(self.node(inner, depth)?)),
            Condition::Unquoted(inner) => Node::Unquoted(Box::new(self.node(inner, depth)?)),
        })
    }

    /// The id of one normalized spelling of a phrase.
    fn literal(&mut self, norm: &str) -> Option<u32> {
        let norm = norm.trim();
        if norm.is_empty() {
            return None;
        }
        if let Some(&id) = self.literal_ids.get(norm) {
            return Some(id);
        }
        let id = self.literals.len() as u32;
        let first = norm.chars().next().unwrap_or(' ');
        let last = norm.chars().next_back().unwrap_or(' ');
        self.literals.push(Literal { left: needs_boundary(first), right: needs_boundary(last) });
        self.literal_ids.insert(norm.to_string(), id);
        self.literal_text.push(norm.to_string());
        Some(id)
    }

    /// Atoms at least one of which must hit for the node to be true, or
    /// `None` when the node can be true without any text hit.
    fn triggers(&self, node: &Node) -> Option<Vec<Trigger>> {
        match node {
            Node::Lits(ids) => Some(ids.iter().map(|&l| Trigger::Lit(l)).collect()),
            Node::Regex(v, p) => Some(vec![Trigger::Regex(*v, *p)]),
            // Any one child's triggers will do; phrases are preferred, as the
            // automaton scans them anyway while a trigger regex costs a scan.
            Node::All(children) => children
                .iter()
                .filter_map(|c| self.triggers(c))
                .min_by_key(|t| (t.iter().any(|t| matches!(t, Trigger::Regex(..))), t.len())),
            Node::Any(children) => {
                let mut all = Vec::new();
                for c in children {
                    all.extend(self.triggers(c)?);
                }
                Some(all)
            }
            Node::Shared(inner) => self.triggers(inner),
            Node::Unquoted(inner) => self.triggers(inner),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_patterns_get_ascii_word_boundaries() {
        assert_eq!(crate::rules::compiled_pattern(r"\bdm\s+me\B"), r"(?-u:\b)dm\s+me(?-u:\B)");
        assert_eq!(crate::rules::compiled_pattern(r"a\\b"), r"a\\b");
        assert_eq!(crate::rules::compiled_pattern(r"\bпривет\b"), r"\bпривет\b");
        assert_eq!(crate::rules::compiled_pattern(r"(?u)\bx"), r"(?u)\bx");
        let re = regex::Regex::new(&crate::rules::compiled_pattern(r"\bbtc\b")).unwrap();
        assert!(re.is_match("btcを送って"));
        assert!(!re.is_match("btcx"));
    }

    /// The hash as it was computed before expansions were streamed: fitted
    /// weights in shipped models are keyed by it, so it must not change.
    fn cloned_hash(rule: &Rule, named: &HashMap<String, Condition>) -> String {
        fn expand(c: &Condition, named: &HashMap<String, Condition>, depth: usize) -> Condition {
            match c {
                Condition::Use(name) if depth < MAX_USE_DEPTH => match named.get(name) {
                    Some(inner) => expand(inner, named, depth + 1),
                    None => c.clone(),
                },
                Condition::All(v) => Condition::All(v.iter().map(|c| expand(c, named, depth)).collect()),
                Condition::Any(v) => Condition::Any(v.iter().map(|c| expand(c, named, depth)).collect()),
                Condition::Not(c) => Condition::Not(Box::new(expand(c, named, depth))),
                Condition::Unquoted(c) => Condition::Unquoted(Box::new(expand(c, named, depth))),
                other => other.clone(),
            }
        }
        use sha2::Digest;
        let text = format!(
            "{}|{:?}|{:?}|{:?}",
            rule.category.as_str(),
            rule.weight.to_bits(),
            rule.action,
            expand(&rule.when, named, 0)
        );
        let text = match rule.at_most {
            Some(cap) => format!("{text}|at_most:{cap:?}"),
            None => text,
        };
        crate::text::hex(&sha2::Sha256::digest(text.as_bytes())[..8])
    }

    #[test]
    fn content_hashes_are_unchanged_by_streaming_the_expansion() {
        let pack = RuleSet::default_pack();
        let named: HashMap<String, Condition> = pack.conditions.clone().into_iter().collect();
        assert!(pack.rules.iter().any(|r| format!("{:?}", r.when).contains("Use(")));
        for rule in &pack.rules {
            assert_eq!(content_hash(rule, &named), cloned_hash(rule, &named), "{}", rule.id);
        }
    }

    #[test]
    fn default_pack_is_well_within_the_expansion_limits() {
        let pack = RuleSet::default_pack();
        let named: HashMap<String, Condition> = pack.conditions.clone().into_iter().collect();
        let mut sizes = Sizes::default();
        let each: Vec<u64> = pack.rules.iter().map(|r| sizes.size(&named, &r.when, 0).unwrap()).collect();
        let (largest, total) = (*each.iter().max().unwrap(), each.iter().sum::<u64>());
        eprintln!("default pack: largest rule expands to {largest} conditions, all rules to {total}");
        // Ten times the multilingual pack still fits: forum layers have room
        // (a pack of 15,407 leaves them 184,593).
        assert!(largest * 10 < MAX_RULE_CONDITIONS && total * 10 < MAX_TOTAL_CONDITIONS);
    }
}
