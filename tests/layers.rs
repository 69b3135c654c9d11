//! The module graph of each library crate has no cycle, at any level.
//!
//! Every path the code names (`crate::…`, `super::…`, `self::…`, grouped
//! `use` trees, inline paths, the root's re-exports resolved to the module
//! that defines them) is an edge from the module that names it to the
//! module it names. For each module, the edges between its children (the
//! subtrees below it) must form no cycle: `a` using `b` and `b` using `a`
//! is a cycle whether they are files or folders, and merging them would
//! hide it, not remove it. References to a module's own ancestors (a test
//! module's `use super::*`) are not between siblings and do not count.
//! Test modules (`#[cfg(test)] mod tests` at the end of a file) and
//! comments are left out: layering is about the code that ships.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

/// A crate's modules: module path → source without comments and tests.
struct Crate {
    modules: BTreeMap<ModPath, String>,
    /// Root re-exports: name → the module that defines it.
    reexports: BTreeMap<String, ModPath>,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_path(src: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    match stem {
        "lib" if parts.is_empty() => {}
        "main" if parts.is_empty() => return None, // the binary is its own crate
        "mod" => {}
        s => parts.push(s.to_string()),
    }
    Some(parts)
}

/// The code that ships: no comments, no trailing `#[cfg(test)] mod tests`.
fn shipped_code(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string literal is rare in module paths' lines.
            Some(at) if !l[..at].contains('"') => &l[..at],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Parses a path (or `use` tree) starting at `s`, after its first `::`.
/// Returns every full path it names.
fn parse_tree(s: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    parse_into(s, Vec::new(), &mut out);
    out
}

fn parse_into(s: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    let mut i = 0;
    let b = s.as_bytes();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'{' {
            i += 1;
            loop {
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                if i >= b.len() {
                    return i;
                }
                if b[i] == b'}' {
                    return i + 1;
                }
                let used = parse_into(&s[i..], path.clone(), out);
                if used == 0 {
                    return i;
                }
                i += used;
            }
        }
        let start = i;
        while i < b.len() && is_ident(b[i] as char) {
            i += 1;
        }
        if i == start {
            if !path.is_empty() {
                out.push(path);
            }
            return i;
        }
        let ident = &s[start..i];
        if ident != "self" {
            path.push(ident.to_string());
        }
        if s[i..].starts_with("::") {
            i += 2;
            continue;
        }
        // `x as y`: skip the alias.
        let rest = s[i..].trim_start();
        if let Some(alias) = rest.strip_prefix("as ") {
            let alias = alias.trim_start();
            let skipped = s.len() - alias.len() + alias.find(|c: char| !is_ident(c)).unwrap_or(alias.len());
            i = skipped;
        }
        out.push(path);
        return i;
    }
}

impl Crate {
    fn load(src: &Path) -> Crate {
        let mut files = Vec::new();
        rs_files(src, &mut files);
        let mut modules = BTreeMap::new();
        for file in files {
            if let Some(m) = module_path(src, &file) {
                modules.insert(m, shipped_code(&std::fs::read_to_string(&file).unwrap()));
            }
        }
        let mut c = Crate { modules, reexports: BTreeMap::new() };
        let root = c.modules[&Vec::new()].clone();
        for stmt in root.split(';') {
            let Some(at) = stmt.find("pub use ") else { continue };
            let tree = &stmt[at + 8..];
            let tree = tree.strip_prefix("crate::").unwrap_or(tree);
            for path in parse_tree(tree) {
                let module = c.longest_module(&path);
                if let Some(name) = alias_or_last(stmt, &path) {
                    c.reexports.insert(name, module);
                }
            }
        }
        c
    }

    fn longest_module(&self, path: &[String]) -> ModPath {
        (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| self.modules.contains_key(p)).unwrap_or_default()
    }

    /// The module a path names, from `from`.
    fn resolve(&self, from: &ModPath, anchor: &str, rest: &[String]) -> Option<ModPath> {
        let mut abs: ModPath = match anchor {
            "crate" => Vec::new(),
            "self" => from.clone(),
            "super" => from[..from.len().checked_sub(1)?].to_vec(),
            _ => return None,
        };
        let mut rest = rest;
        while let Some(first) = rest.first().filter(|s| *s == "super") {
            let _ = first;
            abs.pop();
            rest = &rest[1..];
        }
        abs.extend(rest.iter().cloned());
        let module = self.longest_module(&abs);
        if module.is_empty()
            && let Some(name) = abs.first()
            && let Some(target) = self.reexports.get(name)
        {
            return Some(target.clone());
        }
        Some(module)
    }

    /// Every (from, to) module pair, with one example path each.
    fn edges(&self) -> BTreeMap<(ModPath, ModPath), String> {
        let mut out = BTreeMap::new();
        for (from, code) in &self.modules {
            for anchor in ["crate", "super", "self"] {
                let needle = format!("{anchor}::");
                let mut search = 0;
                while let Some(off) = code[search..].find(&needle) {
                    let at = search + off;
                    search = at + needle.len();
                    if code[..at].chars().next_back().is_some_and(|c| is_ident(c) || c == ':') {
                        continue;
                    }
                    for path in parse_tree(&code[at + needle.len()..]) {
                        if let Some(to) = self.resolve(from, anchor, &path)
                            && to != *from
                        {
                            out.entry((from.clone(), to)).or_insert_with(|| format!("{anchor}::{}", path.join("::")));
                        }
                    }
                }
            }
        }
        out
    }
}

fn alias_or_last(stmt: &str, path: &[String]) -> Option<String> {
    let last = path.last()?;
    let pattern = format!("{last} as ");
    match stmt.find(&pattern) {
        Some(at) => Some(stmt[at + pattern.len()..].trim_start().chars().take_while(|&c| is_ident(c)).collect()),
        None => Some(last.clone()),
    }
}

fn show(m: &[String]) -> String {
    if m.is_empty() { "crate".to_string() } else { m.join("::") }
}

/// The cycles between siblings at every level, each as a readable line.
fn cycles(krate: &Crate) -> Vec<String> {
    // parent → (child a → child b → example).
    let mut levels: BTreeMap<ModPath, BTreeMap<String, BTreeMap<String, String>>> = BTreeMap::new();
    for ((from, to), example) in krate.edges() {
        let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
        if common == from.len() || common == to.len() {
            continue; // an ancestor or a descendant
        }
        let parent = from[..common].to_vec();
        let why = format!("{} uses {example}", show(&from));
        levels
            .entry(parent)
            .or_default()
            .entry(from[common].clone())
            .or_default()
            .entry(to[common].clone())
            .or_insert(why);
    }
    let mut found = Vec::new();
    for (parent, graph) in &levels {
        // Strongly connected components with more than one node.
        let nodes: BTreeSet<&String> = graph.keys().chain(graph.values().flat_map(|m| m.keys())).collect();
        let reach = |start: &String| -> BTreeSet<String> {
            let mut seen = BTreeSet::new();
            let mut stack = vec![start.clone()];
            while let Some(n) = stack.pop() {
                for next in graph.get(&n).into_iter().flat_map(|m| m.keys()) {
                    if seen.insert(next.clone()) {
                        stack.push(next.clone());
                    }
                }
            }
            seen
        };
        let mut done = BTreeSet::new();
        for &n in &nodes {
            if done.contains(n) {
                continue;
            }
            let from_n = reach(n);
            let component: BTreeSet<String> =
                nodes.iter().filter(|m| from_n.contains(**m) && reach(m).contains(n)).map(|m| (*m).clone()).collect();
            if component.len() > 1 {
                let mut why = Vec::new();
                for a in &component {
                    for (b, example) in graph.get(a).into_iter().flatten() {
                        if component.contains(b) {
                            why.push(format!("    {a} → {b}: {example}"));
                        }
                    }
                }
                found.push(format!(
                    "in {}: {}\n{}",
                    show(parent),
                    component.iter().cloned().collect::<Vec<_>>().join(", "),
                    why.join("\n")
                ));
            }
            done.extend(component);
            done.insert(n.clone());
        }
    }
    found
}

fn check(krate_dir: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(krate_dir).join("src");
    let krate = Crate::load(&src);
    assert!(krate.modules.len() > 3, "{krate_dir}: read {} modules", krate.modules.len());
    let found = cycles(&krate);
    assert!(found.is_empty(), "{krate_dir} has module cycles:\n{}", found.join("\n"));
}

#[test]
fn the_core_has_no_module_cycle() {
    check("moderation-core");
}

#[test]
fn the_service_has_no_module_cycle() {
    check("moderation-service");
}

#[test]
fn the_lab_has_no_module_cycle() {
    check("moderation-lab");
}

#[test]
fn the_checker_finds_a_cycle_and_reads_use_trees() {
    let mut modules = BTreeMap::new();
    modules.insert(vec![], "mod a; mod b; pub use a::Thing as Other;".to_string());
    modules.insert(vec!["a".to_string()], "use crate::{b::{self, x}, Other};".to_string());
    modules.insert(vec!["b".to_string()], "fn f() { super::a::g(); }".to_string());
    modules.insert(vec!["b".to_string(), "c".to_string()], "use super::super::b;".to_string());
    let mut krate = Crate { modules, reexports: BTreeMap::new() };
    krate.reexports.insert("Other".into(), vec!["a".into()]);
    let found = cycles(&krate);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("in crate: a, b"), "{}", found[0]);
    assert_eq!(parse_tree("{b::{self, x}, y as z}; rest"), [vec!["b"], vec!["b", "x"], vec!["y"]]);
}

/// Every use between top-level modules goes down `order` (bottom first),
/// and every top-level module has a place in it.
fn check_order(krate_dir: &str, order: &[&str]) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(krate_dir).join("src");
    let krate = Crate::load(&src);
    let tops: BTreeSet<&String> = krate.modules.keys().filter_map(|m| m.first()).collect();
    let unplaced: Vec<&&String> = tops.iter().filter(|t| !order.contains(&t.as_str())).collect();
    assert!(unplaced.is_empty(), "{krate_dir}: modules without a layer in docs/architecture.md: {unplaced:?}");
    let rank = |m: &ModPath| m.first().and_then(|t| order.iter().position(|o| o == t));
    let mut upward = Vec::new();
    for ((from, to), example) in krate.edges() {
        if let (Some(a), Some(b)) = (rank(&from), rank(&to))
            && a < b
        {
            upward.push(format!("{} uses {example} (a higher layer)", show(&from)));
        }
    }
    assert!(upward.is_empty(), "{krate_dir}: uses pointing up the layers:\n{}", upward.join("\n"));
}

/// The layers of docs/architecture.md, bottom first; modules on one line
/// of the document share a layer but are listed here in an order that
/// holds too.
const CORE_LAYERS: &[&str] = &[
    "vocab",
    "error",
    "signature",
    "text",
    "signals",
    "verdict",
    "post",
    "fingerprint",
    "rules",
    "analysis",
    "classifier",
    "engine",
    "memory",
    "redact",
    "labels",
    "adapt",
    "train",
    "fuzzing",
];
const SERVICE_LAYERS: &[&str] = &[
    "clock",
    "keys",
    "webhook",
    "accounts",
    "review",
    "store",
    "metrics",
    "config",
    "writer",
    "recent",
    "delivery",
    "live_engine",
    "feeds",
    "learner",
    "app",
    "api",
    "ui",
    "server",
    "cli",
];

#[test]
fn the_core_uses_only_lower_layers() {
    check_order("moderation-core", CORE_LAYERS);
}

#[test]
fn the_service_uses_only_lower_layers() {
    check_order("moderation-service", SERVICE_LAYERS);
}
