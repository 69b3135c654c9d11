//! Helpers of the command line: building the engine and reporting errors.

use std::path::PathBuf;

use anyhow::Context as _;
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
