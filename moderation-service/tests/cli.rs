//! The `moderation` binary, driven as a user would: posts in, verdicts out.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

mod harness;

fn moderation(args: &[&str], stdin: &str) -> (i32, String, String) {
    moderation_env(args, stdin, &[])
}

fn moderation_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    moderation_bytes(args, stdin.as_bytes(), env)
}

fn moderation_bytes(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_moderation"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// A directory of this test run for rule files (tests run in parallel).
fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("moderation-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `moderation serve` on a free loopback port with `database`, JSON logs
/// on a pipe and the extra environment `env`.
fn serve(database: &str, env: &[(&str, &str)]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_moderation"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .envs(env.iter().copied())
        .env("MODERATION_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env_remove("MODERATION_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Reads JSON log lines until the one whose message is `message`; every
/// line must be JSON, and the process must not exit first.
fn log_line(logs: &mut impl std::io::BufRead, message: &str) -> Value {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(logs.read_line(&mut line).unwrap() > 0, "serve exited before logging {message:?}");
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("a log line is not JSON: {line}"));
        if v["fields"]["message"] == message {
            return v;
        }
    }
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|l| serde_json::from_str(l).expect("each output line is JSON")).collect()
}

#[test]
fn score_writes_one_verdict_per_line_in_order_and_reports_bad_lines() {
    let input = concat!(
        r#"{"id":"a","body":"Contact our support team on Telegram @BinanceHelpDesk247"}"#,
        "\n",
        "not json at all\n",
        "\n",
        r#"{"id":"c","body":"Thanks, my withdrawal arrived."}"#,
        "\n",
        r#"{"id":"d"}"#,
        "\n",
    );
    // Bad lines are reported and the rest scored; the status says some failed.
    let (code, out, err) = moderation(&["score"], input);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("2 line(s) could not be scored"), "{err}");
    let v = lines(&out);
    assert_eq!(v.len(), 4);
    assert_eq!(v[0]["id"], "a");
    assert_ne!(v[0]["decision"], "allow");
    assert!(v[0]["signals"].as_array().unwrap().iter().any(|s| s["id"] == "scam.fake-support.messenger"), "{}", v[0]);
    assert_eq!(v[1]["line"], 2);
    assert!(v[1]["error"]["message"].as_str().unwrap().contains("expected"));
    assert_eq!(v[2]["id"], "c");
    assert_eq!(v[2]["decision"], "allow");
    assert_eq!(v[3]["line"], 5);
    assert_eq!(v[3]["error"]["field"], "body");

    // Every line scored: status 0.
    let (code, out, _) = moderation(&["score"], r#"{"id":"c","body":"Thanks, my withdrawal arrived."}"#);
    assert_eq!((code, lines(&out).len()), (0, 1));
}

#[test]
fn a_line_that_is_not_utf8_is_an_error_like_the_api_s_not_a_repaired_text() {
    let mut input = br#"{"id":"a","body":"hello "#.to_vec();
    input.extend_from_slice(&[0xff, 0xfe]);
    input.extend_from_slice(b"\"}\n{\"id\":\"b\",\"body\":\"fine\"}\n");
    let (code, out, _) = moderation_bytes(&["score"], &input, &[]);
    assert_eq!(code, 1);
    let v = lines(&out);
    assert_eq!(v.len(), 2, "{out}");
    assert_eq!(v[0]["line"], 1);
    assert!(v[0]["error"]["message"].as_str().unwrap().starts_with("the line is not UTF-8"), "{}", v[0]);
    assert_eq!(v[1]["id"], "b");
}

#[test]
fn score_explain_prints_the_decision_scores_and_each_signal_with_its_span() {
    let input =
        concat!(r#"{"id":"a","body":"Contact our support team on Telegram @BinanceHelpDesk247"}"#, "\n", "not json\n",);
    let (code, out, _) = moderation(&["score", "--explain"], input);
    assert_eq!(code, 1);
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("line 1  a  ") && first.contains("spam 0.") && first.contains("scam "), "{out}");
    assert!(["REVIEW", "HOLD", "REJECT"].iter().any(|d| first.contains(d)), "{out}");
    // Each signal: weight, id, description; its span quoted from the post.
    assert!(out.contains("scam.fake-support.messenger"), "{out}");
    assert!(out.contains("\"Telegram @BinanceHelpDesk247\"") || out.contains("\"@BinanceHelpDesk247\""), "{out}");
    assert!(out.contains("(body, bytes "), "{out}");
    assert!(out.contains("line 2  ERROR  "), "{out}");
    // Not a terminal: no colours.
    assert!(!out.contains('\x1b'), "{out:?}");
}

#[test]
fn the_readme_sample_file_scores() {
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/samples/posts.jsonl")).unwrap();
    // Its last line is malformed on purpose: reported, and the status is 1.
    let (code, out, _) = moderation(&["score"], &sample);
    assert_eq!(code, 1);
    let v = lines(&out);
    assert_eq!(v.len(), sample.lines().count());
    let decision = |id: &str| v.iter().find(|x| x["id"] == id).map(|x| x["decision"].as_str().unwrap().to_string());
    assert_eq!(decision("s1").as_deref(), Some("allow"), "a withdrawal question with an address stays allowed");
    assert_eq!(decision("s8").as_deref(), Some("allow"), "a txid is not a private key");
    assert_eq!(decision("s4").as_deref(), Some("reject"));
    assert!(v.last().unwrap()["error"].is_object());
}

#[test]
fn extra_rule_files_layer_and_no_default_rules_drops_the_pack() {
    let dir = scratch_dir("layers");
    let file = dir.join("mine.toml");
    std::fs::write(
        &file,
        r#"
[ruleset]
name = "mine"
version = "7"
[[rule]]
id = "spam.lottery"
category = "spam"
weight = 5.0
description = "Lottery"
when = { phrases = ["lottery"] }
"#,
    )
    .unwrap();
    let post = r#"{"id":"x","body":"Win the l0ttery! Contact support on Telegram @x_support_team"}"#;
    let (_, out, _) = moderation(&["score", "--rules", file.to_str().unwrap()], post);
    let v = &lines(&out)[0];
    assert!(v["versions"]["rules"].as_str().unwrap().ends_with("+mine@7"));
    let ids: Vec<&str> = v["signals"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"spam.lottery") && ids.contains(&"scam.fake-support.messenger"), "{ids:?}");

    let (_, out, _) = moderation(&["score", "--no-default-rules", "--rules", file.to_str().unwrap()], post);
    let v = &lines(&out)[0];
    assert_eq!(v["versions"]["rules"], "mine@7");
    let ids: Vec<&str> = v["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .filter(|id| !id.starts_with("classifier."))
        .collect();
    assert_eq!(ids, ["spam.lottery"]);
}

#[test]
fn score_uses_the_shipped_model_unless_told_not_to() {
    let post = r#"{"id":"x","body":"Claim your free airdrop now, connect your wallet at binance-airdrop.xyz"}"#;
    let (code, out, _) = moderation(&["score"], post);
    assert_eq!(code, 0);
    let v = &lines(&out)[0];
    assert!(v["versions"]["model"].as_str().unwrap().starts_with("forum-default@"), "{v}");
    let ids: Vec<&str> = v["signals"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"classifier.scam") && ids.contains(&"classifier.spam"), "{ids:?}");

    let (_, out, _) = moderation(&["score", "--no-model"], post);
    let v = &lines(&out)[0];
    assert!(v["versions"]["model"].is_null());
    assert!(!v["signals"].as_array().unwrap().iter().any(|s| s["id"].as_str().unwrap().starts_with("classifier.")));

    // A bad model file is a clear error, not a panic.
    let dir = scratch_dir("badmodel");
    let bad = dir.join("bad.model");
    std::fs::write(&bad, b"MODMODEL\x01\x00").unwrap();
    let (code, _, err) = moderation(&["score", "--model", bad.to_str().unwrap()], post);
    assert_eq!(code, 2);
    assert!(err.contains("truncated model file"), "{err}");
}

/// Training on the team corpus twice gives byte-identical files (the model
/// card's promise), and `eval` measures it and draws the curves.
#[test]
fn train_is_reproducible_and_eval_reports_and_plots() {
    let dir = scratch_dir("train");
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/forum-posts");
    let mut files = Vec::new();
    for name in ["a.model", "b.model"] {
        let out = dir.join(name);
        let (code, stdout, err) = moderation(
            &["train", "--corpus-only", "--corpus", corpus, "--columns", "5000", "--out", out.to_str().unwrap()],
            "",
        );
        assert_eq!(code, 0, "{err}");
        assert!(stdout.is_empty(), "training prints nothing on stdout");
        assert!(err.contains("trained forum-default@"), "{err}");
        files.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(files[0], files[1], "same seed and data, same bytes");

    let png = dir.join("pr.png");
    let json = dir.join("figures.jsonl");
    // An explicit folder that is not the shared datasets is an error…
    let (code, _, err) = moderation(&["eval", "--datasets", dir.to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(err.contains("has no splits/ folder"), "{err}");
    // …and one that does not exist says so, and how to train without it.
    let missing = dir.join("no-such-datasets");
    let (code, _, err) = moderation(&["train", "--datasets", missing.to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(err.contains("does not exist") && err.contains("--corpus-only"), "{err}");
    // …while none found at all evaluates the team corpus only.
    let (code, stdout, err) = moderation_env(
        &[
            "eval",
            "--model",
            dir.join("a.model").to_str().unwrap(),
            "--corpus",
            corpus,
            "--plot",
            png.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
        "",
        &[("MODERATION_DATASETS", dir.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("| forum-posts (ja) | scam (scam) |"), "{stdout}");
    let png = std::fs::read(&png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let figures = lines(&std::fs::read_to_string(&json).unwrap());
    let ja = figures.iter().find(|f| f["set"] == "forum-posts (ja)" && f["question"] == "scam (scam)").unwrap();
    assert!(ja["f1"].as_f64().unwrap() > 0.6, "{ja}");
    assert!(ja["roc_auc"].as_f64().unwrap() > 0.8, "{ja}");
}

/// `moderation keys` is how an operator gets the first admin key.
#[test]
fn keys_are_created_listed_and_revoked_from_the_command_line() {
    let dir = scratch_dir("keys");
    let db = format!("sqlite://{}", dir.join("keys.db").display());
    let (code, out, err) =
        moderation(&["keys", "create", "--role", "admin", "--label", "first", "--database", &db], "");
    assert_eq!(code, 0, "{err}");
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("mod_") && token.len() == 68);
    let id = created["id"].as_str().unwrap();

    let (_, out, _) = moderation_env(&["keys", "list"], "", &[("MODERATION_DATABASE", &db)]);
    let listed = lines(&out);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert!(!out.contains(&token[4..]), "list never shows tokens");

    let (code, _, _) = moderation(&["keys", "revoke", id, "--database", &db], "");
    assert_eq!(code, 0);
    let (code, _, err) = moderation(&["keys", "revoke", id, "--database", &db], "");
    assert_eq!(code, 1);
    assert!(err.contains("no live key"), "{err}");

    let (code, _, err) = moderation(&["keys", "create", "--role", "forum", "--database", &db], "");
    assert_eq!(code, 2);
    assert!(err.contains("exactly one forum"), "{err}");
    let (code, _, err) = moderation(&["keys", "create", "--role", "root", "--database", &db], "");
    assert_eq!(code, 2);
    assert!(err.contains("unknown role"), "{err}");
}

#[test]
fn rules_check_reports_file_line_and_rule() {
    let dir = scratch_dir("check");
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[[rule]]\nid = \"a\"\ncategory = \"spam\"\nweight = 1\ndescription = \"d\"\nwhen = { phrases = [\"x\"] }\n",
    )
    .unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nid = \"ok\"\ncategory = \"spam\"\nweight = 1\ndescription = \"d\"\nwhen = { phrases = [\"x\"] }\n\n[[rule]]\nid = \"broken\"\ncategory = \"spam\"\nweight = 1\ndescription = \"d\"\nwhen = { regex = { pattern = \"(unclosed\", view = \"raw\" } }\n",
    )
    .unwrap();
    let (code, out, _) = moderation(&["rules", "check", good.to_str().unwrap()], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok (1 rules)"));
    let (code, out, _) = moderation(&["rules", "check", good.to_str().unwrap(), bad.to_str().unwrap()], "");
    assert_eq!(code, 1);
    let expected = format!("{}:9: rule `broken`: invalid regex", bad.display());
    assert!(out.contains(&expected), "{out}");
}

#[test]
fn help_lists_the_commands() {
    let (code, out, _) = moderation(&["--help"], "");
    assert_eq!(code, 0);
    assert!(out.contains("score") && out.contains("rules"));
}

#[test]
fn serve_logs_json_answers_and_stops_cleanly_on_sigterm() {
    use std::io::{BufReader, Read};
    let dir = scratch_dir("serve");
    let db = format!("sqlite://{}", dir.join("serve.db").display());
    let mut child = serve(&db, &[]);
    let mut logs = BufReader::new(child.stderr.take().unwrap());
    let v = log_line(&mut logs, "serving");
    assert_eq!(v["level"], "INFO");
    let address = v["fields"]["address"].as_str().unwrap().to_string();
    // A new database has no key yet: serve says so, and how to make one.
    let mut next = String::new();
    std::io::BufRead::read_line(&mut logs, &mut next).unwrap();
    let warning: Value = serde_json::from_str(&next).unwrap();
    assert_eq!(warning["level"], "WARN", "{warning}");
    let message = warning["fields"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("no API key exists yet") && message.contains("moderation keys create --role admin"),
        "{message}"
    );
    let mut conn = std::net::TcpStream::connect(&address).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.0 200") && answer.ends_with(r#"{"status":"ok"}"#), "{answer}");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    logs.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.lines().any(|l| l.contains("\"stopped\"")), "{rest}");

    // With a key, no warning.
    let (code, _, err) = moderation(&["keys", "create", "--role", "admin", "--database", &db], "");
    assert_eq!(code, 0, "{err}");
    let mut child = serve(&db, &[]);
    let mut logs = BufReader::new(child.stderr.take().unwrap());
    log_line(&mut logs, "serving");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let mut rest = String::new();
    logs.read_to_string(&mut rest).unwrap();
    child.wait().unwrap();
    assert!(!rest.contains("no API key exists yet"), "{rest}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn print_config_shows_the_merged_settings_without_secrets() {
    let (code, out, err) = moderation_env(
        &["serve", "--print-config", "--listen", "0.0.0.0:9999"],
        "",
        &[
            ("MODERATION_WEBHOOK_URL", "https://forum.example/hook"),
            ("MODERATION_WEBHOOK_SECRETS", "topsecret1,topsecret2"),
            ("MODERATION_DATABASE", "postgres://mod:hunter2@db:5432/m"),
            ("MODERATION_LEASE_SECONDS", "30"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("listen = \"0.0.0.0:9999\""), "{out}");
    assert!(out.contains("lease_seconds = 30"), "{out}");
    assert!(out.contains("postgres://mod:***@db:5432/m"), "{out}");
    assert!(!out.contains("topsecret") && !out.contains("hunter2"), "{out}");
    let (code, _, err) = moderation_env(&["serve", "--print-config"], "", &[("MODERATION_LOG_FORMAT", "xml")]);
    assert_eq!(code, 2);
    assert!(err.contains("MODERATION_LOG_FORMAT"), "{err}");
}

#[test]
fn score_survives_any_input_line() {
    // Lines that once panicked the decoder (a trailing backslash), lone
    // surrogates in ids, and binary noise: each gets its own error object
    // and the lines after it are still scored.
    let mut input = String::new();
    for bad in ["\\", r#"{"id":"x","body":"\ud\"#, r#"{"id":"x\ud800","body":"b"}"#, "\u{0}\u{1}\u{7f}", "{\"id\":"] {
        input.push_str(bad);
        input.push('\n');
    }
    input.push_str(r#"{"id":"last","body":"Thanks, my withdrawal arrived."}"#);
    input.push('\n');
    let (code, out, _) = moderation(&["score"], &input);
    assert_eq!(code, 1, "five lines failed");
    let v = lines(&out);
    assert_eq!(v.len(), 6, "{out}");
    for (i, line) in v[..5].iter().enumerate() {
        assert_eq!(line["line"], i + 1, "{line}");
        assert!(line["error"]["message"].is_string(), "{line}");
    }
    assert_eq!(v[2]["error"]["field"], "id");
    assert_eq!(v[5]["id"], "last");
    assert_eq!(v[5]["decision"], "allow");
}

#[test]
fn rules_check_refuses_an_exponential_rule_file_without_saying_ok() {
    // 1.4 KB that once took seconds and hundreds of MB, and said "ok".
    let toml = harness::hostile(7);
    let file = scratch_dir("hostile").join("hostile.toml");
    std::fs::write(&file, toml).unwrap();
    let (code, out, _) = moderation(&["rules", "check", file.to_str().unwrap()], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("expands to 1111111 conditions (limit 10000"), "{out}");
    assert!(!out.contains("ok ("), "{out}");
}

/// A forum's decisions, in the shape `GET /v1/export` writes them (every
/// category labelled, `kind` and `source` beside): **team-written** posts of
/// a gardening forum and the sneaker-shop spam its moderators removed.
fn decisions(n: usize) -> String {
    // Varied wording: copies that differ only in a number are one label
    // (near-duplicates count once), so each post is its own sentence.
    let mut state = 7u64;
    let mut pick = |xs: &[&'static str]| -> &'static str {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        xs[(state >> 33) as usize % xs.len()]
    };
    let mut out = String::new();
    for i in 0..n {
        let spam = i % 3 == 0;
        let body = if spam {
            format!(
                "{} {} {} sneakers {} at kicksvault, {}",
                pick(&["Hey guys", "Hello", "Friends", "Morning all", "Hi everyone"]),
                pick(&["fresh", "new", "latest", "limited", "top"]),
                pick(&["Jordan", "Yeezy", "Dunk", "Air Max", "Samba"]),
                pick(&["drop just landed", "restock is live", "pairs in stock", "sizes 6-13 available"]),
                pick(&[
                    "free shipping worldwide",
                    "message me for sizes",
                    "half price this week",
                    "link in my profile"
                ]),
            )
        } else {
            format!(
                "{} my {} {}, {} {}",
                pick(&["Question:", "Help,", "Update:", "Hi all,", "Quick one:"]),
                pick(&["tomatoes", "roses", "basil", "apple tree", "hydrangeas", "courgettes"]),
                pick(&["have yellow leaves", "are wilting", "got aphids", "stopped flowering", "look leggy"]),
                pick(&["should I", "is it time to", "would you", "do I need to"]),
                pick(&["prune them?", "water less?", "repot it?", "add compost?", "move them to shade?"]),
            )
        };
        let labels = serde_json::json!({"spam": u8::from(spam), "scam": 0, "misinformation": 0, "exposure": 0});
        let line = serde_json::json!({"id": format!("p{i}"), "body": body, "labels": labels,
            "kind": if spam { "moderator-removed" } else { "moderator-approved" },
            "source": {"item_id": i, "version": 1, "reason": if spam { "spam" } else { "" }}});
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

#[test]
fn train_with_a_base_adapts_the_model_to_a_forum_s_decisions() {
    let dir = scratch_dir("adapt");
    let input = dir.join("decisions.jsonl");
    std::fs::write(&input, decisions(60)).unwrap();
    let out = dir.join("forum.model");
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model");
    let args = ["train", "--base", base, "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let (code, _, err) = moderation(&args, "");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("adapted forum-default@") && err.contains(" labelled posts of "), "{err}");
    assert!(err.contains("scam   kept the base's"), "only spam has positives: {err}");
    assert!(err.contains("at most 5% reach review and 1% hold"), "the default budgets: {err}");
    // Deterministic: a second run writes the same bytes.
    let first = std::fs::read(&out).unwrap();
    let (code, _, err) = moderation(&args, "");
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&out).unwrap() == first, "two runs wrote different models");

    // `score --model` loads it like the shipped one; the forum's spam is now flagged.
    let post = "{\"id\":\"new\",\"body\":\"Fresh Jordan sneakers at kicksvault, free shipping worldwide\"}\n";
    let (code, stdout, err) = moderation(&["score", "--model", out.to_str().unwrap()], post);
    assert_eq!(code, 0, "{err}");
    let v = &lines(&stdout)[0];
    assert_ne!(v["decision"], "allow", "{v}");
    assert!(v["versions"]["model"].as_str().unwrap().starts_with("forum-default-forum@"), "{v}");
    assert!(v["signals"].as_array().unwrap().iter().any(|s| s["id"] == "adapted.spam"), "{v}");

    // `serve` scores with it when the configuration names it.
    {
        let db = format!("sqlite://{}", dir.join("serve.db").display());
        let mut child = serve(&db, &[("MODERATION_MODEL", out.to_str().unwrap())]);
        let mut logs = std::io::BufReader::new(child.stderr.take().unwrap());
        let loaded = log_line(&mut logs, "model loaded")["fields"]["model"].as_str().unwrap().to_string();
        assert!(loaded.starts_with("forum-default-forum@"), "{loaded}");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let _ = child.wait();
        let missing = dir.join("missing.model");
        let failed = serve(&db, &[("MODERATION_MODEL", missing.to_str().unwrap())]).wait_with_output().unwrap();
        assert_ne!(failed.status.code(), Some(0));
        let err = String::from_utf8_lossy(&failed.stderr);
        assert!(err.contains("cannot load model") && err.contains("missing.model"), "{err}");
    }

    // A forum's own budgets; budgets that are not shares are refused, and
    // the earlier file is left as it was.
    let wider = dir.join("wider.model");
    let mut budget = args.to_vec();
    budget.extend(["--review-budget", "0.1", "--hold-budget", "0.025"]);
    budget[6] = wider.to_str().unwrap();
    let (code, _, err) = moderation(&budget, "");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("at most 10% reach review and 2.5% hold"), "{err}");
    let mut over = args.to_vec();
    over.extend(["--review-budget", "0.05", "--hold-budget", "0.2"]);
    let (code, _, err) = moderation(&over, "");
    assert_ne!(code, 0);
    assert!(err.contains("--hold-budget 0.2 is above --review-budget 0.05"), "{err}");
    assert!(std::fs::read(&out).unwrap() == first);
    let (code, _, err) = moderation(&["train", "--review-budget", "0.1"], "");
    assert_ne!(code, 0);
    assert!(err.contains("--base"), "a budget is for adapting: {err}");
    let mut past = args.to_vec();
    past.extend(["--review-budget", "0.6"]);
    let (code, _, err) = moderation(&past, "");
    assert_ne!(code, 0);
    assert!(err.contains("--review-budget") && err.contains("0..=0.5"), "{err}");
    // A review budget under the default hold budget of 1% takes the hold
    // budget down with it.
    let mut small = args.to_vec();
    small.extend(["--review-budget", "0.005"]);
    small[6] = wider.to_str().unwrap();
    let (code, _, err) = moderation(&small, "");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("at most 0.5% reach review and 0.5% hold"), "{err}");

    // Too few labels and bad lines are refused with the reason and the line.
    std::fs::write(&input, decisions(10)).unwrap();
    let (code, _, err) = moderation(&args, "");
    assert_ne!(code, 0);
    assert!(err.contains("at least 20"), "{err}");
    std::fs::write(&input, "{\"id\":\"x\",\"body\":\"hi\",\"labels\":{\"spam\":7}}\n").unwrap();
    let (code, _, err) = moderation(&args, "");
    assert_ne!(code, 0);
    assert!(err.contains("decisions.jsonl:1") && err.contains("labels.spam must be 0 or 1"), "{err}");
    // The earlier model file is still there, whole.
    assert!(std::fs::read(&out).unwrap() == first);
}
