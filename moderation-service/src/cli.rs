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
