//! Helpers of the command line: building the engine and reporting errors.

use std::path::PathBuf;

use anyhow::Context as _;
use moderation_core::signals::feeds::{Feed, Feeds, ListKind};
use moderation_core::signals::lookalike::HostJudgement;
use moderation_core::{Engine, Error, Model, RuleSet};
use serde_json::json;

/// Builds the engine from the default pack (unless dropped), rule files and
/// a model.
pub fn engine(files: &[PathBuf], no_default_rules: bool, model: Option<Model>) -> anyhow::Result<Engine> {
    let mut builder = Engine::builder();
    if let Some(m) = model {
        builder = builder.model(std::sync::Arc::new(m));
    }
    if no_default_rules {
        builder = builder.without_default_rules();
    }
    for f in files {
        builder = builder.rules(RuleSet::from_file(f)?);
    }
    Ok(builder.build()?)
}

/// Checks each file alone, then all of them layered together; prints every
/// error found and returns whether all passed.
pub fn check(files: &[PathBuf], no_default_rules: bool) -> bool {
    let mut sets = Vec::new();
    let mut ok = true;
    for f in files {
        match RuleSet::from_file(f) {
            Ok(set) => sets.push((f, set)),
            Err(e) => {
                println!("{e}");
                ok = false;
            }
        }
    }
    if !ok {
        return false;
    }
    // Each file parsed; "ok" only once they also compile together (a
    // `use` of an unknown name, or over the expansion limits, fails here).
    let counts: Vec<(&PathBuf, usize)> = sets.iter().map(|(f, s)| (*f, s.rules.len())).collect();
    let mut builder = Engine::builder();
    if no_default_rules {
        builder = builder.without_default_rules();
    }
    for (_, s) in sets {
        builder = builder.rules(s);
    }
    match builder.build() {
        Ok(_) => {
            for (f, n) in counts {
                println!("{}: ok ({n} rules)", f.display());
            }
            true
        }
        Err(e) => {
            println!("{e}");
            false
        }
    }
}

/// The error object written in place of a verdict for a bad input line.
pub fn line_error(line: usize, e: &Error) -> serde_json::Value {
    match e {
        Error::Post { message, field } => json!({"line": line, "error": {"message": message, "field": field}}),
        other => json!({"line": line, "error": {"message": other.to_string()}}),
    }
}

/// The error object for a line the engine failed on (a defect, reported on
/// standard error); the lines after it are still scored.
pub fn line_failed(line: usize) -> serde_json::Value {
    json!({"line": line, "error": {"message": "internal error while scoring this line (reported on standard error)"}})
}

/// The shipped model, or the one at `path`.
pub fn load_model(path: Option<&std::path::Path>) -> anyhow::Result<Model> {
    match path {
        Some(p) => Model::load(p).with_context(|| format!("cannot load model {}", p.display())),
        None => crate::shipped_model(),
    }
}

/// How `score` writes its results.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// One JSON object per line (verdict or error object).
    Json,
    /// For people (`--explain`), coloured or not.
    Explain {
        /// ANSI colours (a terminal without NO_COLOR).
        color: bool,
    },
}

/// The error object for a line that is not UTF-8 (the API refuses such a
/// body with a 400 too).
pub fn not_utf8(line: usize, e: &std::str::Utf8Error) -> serde_json::Value {
    json!({"line": line, "error": {"message": format!("the line is not UTF-8: {e}")}})
}

/// Writes an error object as `format` wants it.
pub fn write_error(out: &mut impl std::io::Write, error: &serde_json::Value, format: Format) -> std::io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *out, error)?;
            out.write_all(b"\n")
        }
        Format::Explain { color } => {
            let line = &error["line"];
            let message = error["error"]["message"].as_str().unwrap_or("");
            let field = error["error"]["field"].as_str().map(|f| format!(" (field `{f}`)")).unwrap_or_default();
            writeln!(out, "line {line}  {}  {message}{field}\n", paint("ERROR", "1;31", color))
        }
    }
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
}

/// A verdict for people: the decision and scores, then every signal with
/// its weight, what it says and the text of the post it points at.
pub fn explain(line: usize, v: &moderation_core::Verdict, color: bool) -> String {
    use moderation_core::{Category, Decision};
    use std::fmt::Write as _;
    let decision_color = match v.decision {
        Decision::Allow => "1;32",
        Decision::Review => "1;33",
        Decision::Hold | Decision::Reject => "1;31",
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "line {line}  {}  {}",
        paint(&v.id, "1", color),
        paint(&v.decision.as_str().to_uppercase(), decision_color, color)
    );
    for c in Category::ALL {
        let _ = write!(out, "  {} {:.2}", c.as_str(), v.scores.get(c));
    }
    out.push('\n');
    for s in &v.signals {
        let weight = format!("{:+6.2}", s.weight);
        let weight = paint(&weight, if s.weight > 0.0 { "31" } else { "32" }, color);
        let _ = writeln!(out, "  {weight}  {}  {}", paint(&s.id, "1", color), s.description);
        for span in &s.spans {
            let field = match span.field {
                moderation_core::Field::Title => "title",
                moderation_core::Field::Body => "body",
                moderation_core::Field::AuthorName => "author name",
            };
            let _ = writeln!(
                out,
                "          {} ({field}, bytes {}..{})",
                paint(&format!("{:?}", span.text), "4", color),
                span.start,
                span.end
            );
        }
    }
    let _ = writeln!(
        out,
        "  versions: rules {}, model {}\n",
        v.versions.rules,
        v.versions.model.as_deref().unwrap_or("none")
    );
    out
}

/// Loads feed files: block lists, then allow lists.
pub fn feeds(block: &[PathBuf], allow: &[PathBuf]) -> anyhow::Result<Feeds> {
    let mut feeds = Vec::new();
    for (files, kind) in [(block, ListKind::Block), (allow, ListKind::Allow)] {
        for f in files {
            feeds.push(Feed::from_file(f, kind)?);
        }
    }
    Ok(Feeds::new(feeds))
}

/// How `engine` judges one host (or URL): text for people, or one JSON object.
pub fn check_domain(engine: &Engine, input: &str, as_json: bool) -> String {
    let trimmed = input.trim();
    let host = moderation_core::signals::urls::parse_link(trimmed)
        .or_else(|| moderation_core::signals::urls::parse_link(&format!("https://{trimmed}/")))
        .map(|h| h.host);
    let Some(host) = host else {
        return if as_json {
            json!({"input": input, "error": "not a host or URL"}).to_string()
        } else {
            format!("{input}\n  not a host or URL")
        };
    };
    let settings = engine.settings(None);
    let listed = engine.feeds().lookup(&host);
    let judgement = if settings.is_allowed_host(&host) {
        None
    } else if listed.as_ref().is_some_and(|l| l.kind == ListKind::Allow) {
        None
    } else {
        Some(settings.judge_host(&host))
    };
    let verdict = engine.score(&moderation_core::Post::new("check", format!("https://{host}/")));
    let fired: Vec<&str> = verdict.signals.iter().filter(|s| s.weight > 0.0).map(|s| s.id.as_str()).collect();
    if as_json {
        let mut v = json!({"input": input, "host": host, "decision": verdict.decision, "scam": verdict.scores.scam, "signals": fired});
        v["allowed"] = json!(settings.is_allowed_host(&host));
        v["feed"] = match &listed {
            Some(l) => json!({"feed": l.feed, "list": l.kind.as_str(), "entry": l.entry}),
            None => serde_json::Value::Null,
        };
        v["judgement"] = match &judgement {
            Some(HostJudgement::Official(name)) => json!({"kind": "official", "brand": name}),
            Some(HostJudgement::Lookalike(l)) => json!({
                "kind": "lookalike", "brand": l.name, "domain": l.brand, "token": l.token,
                "rule": l.kind.as_str(), "confidence": l.confidence,
                "lure_words": l.evidence.lure_words, "platform": l.evidence.platform, "cheap_tld": l.evidence.cheap_tld,
            }),
            Some(HostJudgement::Lure(l)) => json!({
                "kind": "lure", "brand": null, "confidence": l.confidence,
                "lure_words": l.evidence.lure_words, "platform": l.evidence.platform, "cheap_tld": l.evidence.cheap_tld,
            }),
            Some(HostJudgement::Clean) => json!({"kind": "clean"}),
            None => json!({"kind": "allowed"}),
        };
        return v.to_string();
    }
    let mut lines = vec![host.clone()];
    match &judgement {
        Some(HostJudgement::Official(name)) => {
            lines.push(format!("  official host of {name} (brand registry): never a look-alike"))
        }
        Some(HostJudgement::Lookalike(l)) => {
            lines.push(format!("  look-alike: {}", l.describe(&host)));
            lines.push(format!("  rule: {} at confidence {:.2}", l.kind.as_str(), l.confidence));
        }
        Some(HostJudgement::Lure(l)) => {
            lines.push(format!("  no brand; {} (confidence {:.2})", l.evidence.describe(), l.confidence));
        }
        Some(HostJudgement::Clean) => lines.push("  no brand, no lure".to_string()),
        None => lines.push("  allow-listed: not checked for look-alikes".to_string()),
    }
    let feeds = engine.feeds();
    lines.push(match &listed {
        Some(l) => format!("  feed: on the {} list of {} (entry `{}`)", l.kind.as_str(), l.feed, l.entry),
        None if feeds.is_empty() => "  feed: no feeds loaded".to_string(),
        None => format!("  feed: not listed by {}", feeds.versions().join(", ")),
    });
    lines.push(format!(
        "  a post with only this link: {} (scam {:.2}){}{}",
        verdict.decision,
        verdict.scores.scam,
        if fired.is_empty() { "" } else { ": " },
        fired.join(", ")
    ));
    lines.join("\n")
}
