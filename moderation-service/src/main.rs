//! The `moderation` command.
//!
//! `moderation score` reads posts as JSON lines and writes one verdict per
//! line, in order; `moderation rules check` validates rule files;
//! `moderation train` / `eval` / `eval-splits` build and measure the model.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use moderation_core::{Engine, Post};
use moderation_service::keys::{NewKey, Role};
use moderation_service::store::Store;

mod cli;
#[cfg(feature = "training")]
use moderation_lab::training;

/// Caps glibc's malloc arenas at two per core (its default is eight): a
/// freed engine (every rule reload frees one) otherwise stays scattered
/// over many arenas as fragments, and memory grew reload after reload
/// under load (see the README's soak). Other platforms' allocators: as is.
fn limit_malloc_arenas(cores: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let arenas = libc::c_int::try_from(2 * cores).unwrap_or(4);
        // SAFETY: `mallopt` only sets an allocator parameter; it is called
        // before the runtime starts any thread, so no allocation races it.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = cores;
}

/// Decodes the model shipped in `models/` (verified like any model file),
/// compiled into the binary by moderation-core's `default-model` feature so
/// `score` and `serve` need no file beside them, and an embedder's
/// `Engine::with_default_model()` scores with the very same bytes.
pub fn shipped_model() -> anyhow::Result<moderation_core::Model> {
    Ok(moderation_core::Model::shipped()?)
}

/// Forum moderation engine: scores posts for spam, scams, misinformation and
/// leaked secrets, and explains every verdict.
#[derive(Parser)]
#[command(name = "moderation", version, about, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score posts: JSON lines on standard input, one verdict per line on
    /// standard output, in order. A malformed line (not JSON, not a post, not
    /// UTF-8) yields an error object with its line number, and processing
    /// continues; the exit status is then 1 (0 when every line was scored).
    Score {
        /// Extra rule files, layered in order on the default pack.
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Leave out the built-in default rule pack.
        #[arg(long)]
        no_default_rules: bool,
        /// Read posts from this file instead of standard input.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// Use this model file instead of the shipped model.
        #[arg(long, value_name = "FILE", conflicts_with = "no_model")]
        model: Option<PathBuf>,
        /// Score with the rules only.
        #[arg(long)]
        no_model: bool,
        /// Print each verdict for people instead of JSON: the decision, the
        /// scores, and every signal with its weight and the spans of the post
        /// it points at (coloured on a terminal unless NO_COLOR is set).
        #[arg(long)]
        explain: bool,
    },
    /// Train the shipped model (spam and scam heads) on every trainable
    /// source in the shared datasets and the team corpus, with thresholds
    /// chosen by leave-one-source-out (`transfer` runs first); `--input` or
    /// `--corpus-only` train on one source instead; `--base MODEL --input
    /// DECISIONS` adapts a model to one forum's moderator decisions. Same
    /// seed and data give a byte-identical file.
    #[cfg(feature = "training")]
    Train(training::TrainArgs),
    /// Evaluate a model on every test side: precision, recall, F1, ROC-AUC,
    /// PR-AUC, confusion matrix, recall at a false-positive rate, precision
    /// at a base rate, and a precision–recall PNG.
    #[cfg(feature = "training")]
    Eval(training::EvalArgs),
    /// Train one model per canonical split and column (and cross-domain
    /// pairs) and write figures comparable with the Python baselines.
    #[cfg(feature = "training")]
    EvalSplits(training::EvalSplitsArgs),
    /// Leave-one-source-out: for every labelled source in the shared
    /// datasets, train on the others and score it with the whole engine;
    /// per-source and macro F1, PR-AUC, recall at 1% false positives and
    /// the benign review rate, written as JSON lines; `--ship FILE` then
    /// trains on every trainable source with the thresholds chosen here.
    #[cfg(feature = "training")]
    Transfer(moderation_lab::transfer::TransferArgs),
    /// The learning curve of forum adaptation: for every source of the
    /// shared datasets, the model installed without it, then adapted on k =
    /// 20, 50, 200, 1,000 of its labelled posts; F1 and PR-AUC on the rest,
    /// and the splits for the in-domain baselines (`benches/curve.sh`).
    #[cfg(feature = "training")]
    Curve(moderation_lab::curve::CurveArgs),
    /// Serve the HTTP API: scoring, submissions, the review queue, webhooks,
    /// rules and keys. Settings come from defaults, then `--config`, then
    /// MODERATION_* variables, then these flags (the README lists them all).
    Serve {
        /// A TOML configuration file.
        #[arg(long, env = "MODERATION_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address to listen on [default: 127.0.0.1:8080; env: MODERATION_LISTEN].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// `sqlite://FILE` or `postgres://…` [default: sqlite://moderation.db; env: MODERATION_DATABASE].
        #[arg(long, value_name = "URL")]
        database: Option<String>,
        /// Largest request body in bytes [default: 1048576; env: MODERATION_BODY_LIMIT].
        #[arg(long, value_name = "BYTES")]
        body_limit: Option<usize>,
        /// Print the effective configuration as TOML and exit.
        #[arg(long)]
        print_config: bool,
    },
    /// Manage API keys in the configured database (how an operator gets
    /// the first admin key: there is no default password).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        /// The database (`sqlite://FILE` or `postgres://…`) [default: the
        /// configuration's, else sqlite://moderation.db; env: MODERATION_DATABASE].
        #[arg(long, value_name = "URL", global = true)]
        database: Option<String>,
        /// The service's TOML configuration file (its `database` is used).
        #[arg(long, env = "MODERATION_CONFIG", value_name = "FILE", global = true)]
        config: Option<PathBuf>,
    },
    /// Work with rule sets.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Explain how hosts are judged: the brand a host imitates and by which
    /// evidence, the lure words, the feed that lists it.
    Domains {
        #[command(subcommand)]
        command: DomainsCommand,
    },
}

#[derive(Subcommand)]
enum DomainsCommand {
    /// Judge each host (or URL) as a link in a post would be: official host of
    /// a registry brand, look-alike of one (which brand, which rule, which
    /// evidence), a host naming a drainer's lure, listed by a feed, or clean;
    /// and what the default pack decides for a post holding only that link
    /// (rules only, without the model).
    Check {
        /// Hosts or URLs.
        #[arg(required = true, value_name = "HOST")]
        hosts: Vec<String>,
        /// Extra rule files (their `[[brand]]` tables and settings count).
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Block-list feed files (a MetaMask config.json, a JSON array of hosts, one host per line).
        #[arg(long = "feed", value_name = "FILE")]
        feeds: Vec<PathBuf>,
        /// Allow-list feed files.
        #[arg(long = "allow-feed", value_name = "FILE")]
        allow_feeds: Vec<PathBuf>,
        /// One JSON object per host instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it as JSON; the token is shown only this once.
    Create {
        /// forum, moderator or admin.
        #[arg(long)]
        role: String,
        /// The forum a `forum` key belongs to, or the forums a moderator
        /// key is limited to (repeatable; none = every forum).
        #[arg(long = "forum", value_name = "ID")]
        forums: Vec<String>,
        /// A note for operators.
        #[arg(long, default_value = "")]
        label: String,
        /// The moderator's display name, shown in claims, the audit log and
        /// the pages (at most 80 characters).
        #[arg(long, default_value = "")]
        name: String,
        /// How to reach the moderator; shown to admins only.
        #[arg(long, default_value = "")]
        contact: String,
    },
    /// Revoke a key by id.
    Revoke {
        /// The key id (`key_…`).
        id: String,
    },
    /// List keys as JSON lines (never tokens).
    List,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Validate rule files, layered on the default pack as `score` would
    /// load them. Prints one line per error (file:line: rule `id`: what).
    Check {
        /// Rule files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Check the files without the default pack beneath them.
        #[arg(long)]
        no_default_rules: bool,
    },
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Score { rules, no_default_rules, input, model, no_model, explain } => {
            let model = if no_model { None } else { Some(cli::load_model(model.as_deref())?) };
            let engine = cli::engine(&rules, no_default_rules, model)?;
            let stdout = std::io::stdout();
            let format = if !explain {
                cli::Format::Json
            } else if std::io::IsTerminal::is_terminal(&stdout) && std::env::var_os("NO_COLOR").is_none() {
                cli::Format::Explain { color: true }
            } else {
                cli::Format::Explain { color: false }
            };
            let mut out = BufWriter::new(stdout.lock());
            let failed = match input {
                Some(path) => {
                    let file = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
                    score_lines(&engine, std::io::BufReader::new(file), &mut out, format)?
                }
                None => score_lines(&engine, std::io::stdin().lock(), &mut out, format)?,
            };
            out.flush()?;
            if failed > 0 {
                eprintln!("{failed} line(s) could not be scored (see their error objects)");
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { command, database, config } => {
            let flags = moderation_service::config::Flags { database, ..Default::default() };
            let config = moderation_service::config::Config::load(config.as_deref(), &flags)?;
            keys(command, &config.database)
        }
        Command::Serve { config, listen, database, body_limit, print_config } => {
            let flags = moderation_service::config::Flags { listen, database, body_limit };
            let config = moderation_service::config::Config::load(config.as_deref(), &flags)?;
            if print_config {
                print!("{}", toml::to_string(&config.redacted())?);
                return Ok(ExitCode::SUCCESS);
            }
            serve(config)
        }
        #[cfg(feature = "training")]
        Command::Train(args) => training::train(&args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "training")]
        Command::Eval(args) => training::eval(&args, shipped_model).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "training")]
        Command::EvalSplits(args) => training::eval_splits(&args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "training")]
        Command::Transfer(args) => moderation_lab::transfer::transfer(&args).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "training")]
        Command::Curve(args) => moderation_lab::curve::curve(&args).map(|()| ExitCode::SUCCESS),
        Command::Domains { command: DomainsCommand::Check { hosts, rules, feeds, allow_feeds, json } } => {
            let engine = cli::engine(&rules, false, None)?.with_feeds(cli::feeds(&feeds, &allow_feeds)?);
            let out = std::io::stdout();
            let mut out = BufWriter::new(out.lock());
            for host in &hosts {
                writeln!(out, "{}", cli::check_domain(&engine, host, json))?;
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules { command: RulesCommand::Check { files, no_default_rules } } => {
            Ok(if cli::check(&files, no_default_rules) { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// `moderation serve`: until Ctrl-C or SIGTERM, then in-flight requests finish.
fn serve(config: moderation_service::config::Config) -> anyhow::Result<ExitCode> {
    use moderation_service::{app::App, clock::SystemClock, live_engine::LiveEngine, server};
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr);
    match config.log_format {
        moderation_service::config::LogFormat::Json => logs.json().init(),
        moderation_service::config::LogFormat::Text => {
            logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init()
        }
    }
    let model = cli::load_model(config.model.as_deref())?;
    tracing::info!(model = model.version(), "model loaded");
    let engine = std::sync::Arc::new(LiveEngine::new(Some(std::sync::Arc::new(model)))?);
    // Scoring runs on the blocking pool. It is CPU work: more threads than
    // a few per core add no throughput, and each thread may take its own
    // malloc arena, where the engines a rule reload frees stay as
    // fragments (memory grew with every reload under load: see the
    // README's soak).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    limit_malloc_arenas(cores);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let database = moderation_service::store::redact_url(&config.database);
        let store =
            Store::open_with_timeout(&config.database, config.pg_pool, Duration::from_millis(config.db_timeout_ms))
                .await
                .with_context(|| format!("cannot open {database}"))?;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        tracing::info!(address = %listener.local_addr()?, database, model = ?engine.get().model().map(|m| m.version().to_string()), "serving");
        if store.list_keys().await.is_ok_and(|keys| keys.iter().all(|k| k.revoked_at.is_some())) {
            tracing::warn!(
                database,
                "no API key exists yet: every route but /healthz, /readyz and /openapi.json answers 401; \
                 create the first with `moderation keys create --role admin --label me` (same database)"
            );
        }
        moderation_service::metrics::handle();
        let app = std::sync::Arc::new(App::new(store.clone(), engine, config, std::sync::Arc::new(SystemClock)));
        server::run(listener, app, shutdown_signal()).await?;
        store.close().await;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `moderation keys …` against the configured database.
fn keys(command: KeysCommand, database: &str) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let shown = moderation_service::store::redact_url(database);
        let store = Store::open(database).await.with_context(|| format!("cannot open {shown}"))?;
        let now = now_ms();
        let code = match command {
            KeysCommand::Create { role, forums, label, name, contact } => {
                let new = NewKey { role: Role::parse(&role)?, forums, label, name, contact };
                let (key, token) = store.create_key(&new, now).await?;
                println!(
                    "{}",
                    serde_json::json!({"id": key.id, "role": key.role.as_str(), "forums": key.forums, "label": key.label,
                        "name": key.name, "contact": key.contact, "token": token})
                );
                ExitCode::SUCCESS
            }
            KeysCommand::Revoke { id } => {
                if store.revoke_key(&id, now).await? {
                    println!("{}", serde_json::json!({"id": id, "revoked": true}));
                    ExitCode::SUCCESS
                } else {
                    eprintln!("error: no live key with id {id}");
                    ExitCode::from(1)
                }
            }
            KeysCommand::List => {
                for k in store.list_keys().await? {
                    println!(
                        "{}",
                        serde_json::json!({"id": k.id, "role": k.role.as_str(), "forums": k.forums, "label": k.label,
                            "name": k.name, "contact": k.contact, "created_at": k.created_at, "revoked_at": k.revoked_at})
                    );
                }
                ExitCode::SUCCESS
            }
        };
        store.close().await;
        Ok(code)
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Scores each line; blank lines are skipped, bad lines become error
/// objects. Returns how many lines could not be scored.
fn score_lines(
    engine: &Engine,
    input: impl BufRead,
    out: &mut impl Write,
    format: cli::Format,
) -> anyhow::Result<usize> {
    let mut failed = 0;
    for (i, line) in input.split(b'\n').enumerate() {
        let line_no = i + 1;
        let bytes = line.context("cannot read input")?;
        // Like the API, which refuses a body that is not UTF-8: never
        // score a silently repaired text.
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text.trim(),
            Err(e) => {
                failed += 1;
                cli::write_error(out, &cli::not_utf8(line_no, &e), format)?;
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        // Verdicts are written straight from the struct so fields keep the
        // contract's order (id, decision, scores, signals, versions).
        // A defect in the engine must cost one line, not the rest of the
        // batch: a panic on a line becomes that line's error object.
        let scored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Post::from_json(text).map(|post| engine.score(&post))
        }));
        match scored {
            Ok(Ok(verdict)) => match format {
                cli::Format::Json => {
                    serde_json::to_writer(&mut *out, &verdict)?;
                    out.write_all(b"\n")?;
                }
                cli::Format::Explain { color } => out.write_all(cli::explain(line_no, &verdict, color).as_bytes())?,
            },
            Ok(Err(e)) => {
                failed += 1;
                cli::write_error(out, &cli::line_error(line_no, &e), format)?;
            }
            Err(_) => {
                failed += 1;
                cli::write_error(out, &cli::line_failed(line_no), format)?;
            }
        }
    }
    Ok(failed)
}
