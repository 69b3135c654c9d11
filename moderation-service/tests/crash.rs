//! Crash tests: the real `moderation serve` process, on SQLite and on
//! PostgreSQL, is killed with SIGKILL while forums submit posts and
//! moderators claim and decide them, then restarted on the same database,
//! several times. Afterwards every acknowledged (2xx) submission is in the
//! store, every acknowledged decision's status is the item's, and every
//! acknowledged decision's webhook reached the receiver at least once,
//! each delivery's signature checked.

mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::{Db, Receiver};
use moderation_service::webhook;
use serde_json::{Value, json};

/// Rounds of load, each ended by a SIGKILL.
const ROUNDS: usize = 4;
const SUBMITTERS: usize = 4;
const MODERATORS: usize = 2;
const SECRET: &str = "crash-test-secret";
/// Queued (held) by the shipped model, so there are items to decide.
const SCAM: &str = harness::HELD_SCAM;

/// `moderation keys create`; returns the token.
fn create_key(database: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_moderation"))
        .args(["keys", "create"])
        .args(args)
        .args(["--database", database])
        .env_remove("MODERATION_CONFIG")
        .output()
        .expect("the binary starts");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// A running `moderation serve` and its base URL.
struct Server {
    child: Child,
    base: String,
    /// The last log lines, for failures.
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `serve` on a free port and waits for its "serving" line. Its
    /// logs are drained on a thread so the pipe never fills.
    fn start(database: &str, config: &std::path::Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_moderation"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .env("MODERATION_CONFIG", config)
            .env("MODERATION_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().unwrap();
        let logs: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = logs.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(t) = &tx {
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        if v["fields"]["message"] == "serving" {
                            let _ = t.send(v["fields"]["address"].as_str().unwrap_or_default().to_string());
                            tx = None;
                        }
                    }
                }
                let mut kept = kept.lock().unwrap();
                kept.push(line);
                if kept.len() > 200 {
                    kept.remove(0);
                }
            }
        });
        let address = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not start: {:#?}", logs.lock().unwrap());
            }
        };
        Server { child, base: format!("http://{address}"), logs }
    }

    /// SIGKILL: no shutdown, no flush, no handing back of leases.
    fn kill(mut self) {
        let status = Command::new("kill").args(["-KILL", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.code().is_none(), "the server had exited before the kill: {:#?}", self.logs.lock().unwrap());
    }
}

impl Drop for Server {
    /// A failed test leaves no server behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One request; `None` when there was no answer (the server was killed).
async fn call(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    key: &str,
    body: Option<String>,
) -> Option<(u16, Value)> {
    let mut req = client.request(method.parse().unwrap(), url).bearer_auth(key);
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    let text = resp.text().await.ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// What the clients were told: acknowledged submissions (post id → item
/// id) and decisions (item id → (version, status)).
#[derive(Default)]
struct Acknowledged {
    posts: Mutex<BTreeMap<String, i64>>,
    decisions: Mutex<BTreeMap<i64, (i64, String)>>,
    attempts: Mutex<(usize, usize)>,
}

/// Posts distinct posts until the server stops answering.
async fn submitter(base: String, key: String, round: usize, task: usize, ack: Arc<Acknowledged>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    for n in 0.. {
        let id = format!("r{round}-s{task}-{n}");
        let body = json!({"id": id, "body": format!("{SCAM} (ticket {id})"), "author": {"id": format!("u-{id}")}});
        ack.attempts.lock().unwrap().0 += 1;
        match call(&client, "POST", &format!("{base}/v1/posts"), &key, Some(body.to_string())).await {
            None => return,
            Some((status, v)) if (200..300).contains(&status) => {
                ack.posts.lock().unwrap().insert(id, v["item_id"].as_i64().expect("an item id"));
            }
            Some(_) => {}
        }
    }
}

/// Claims the head of the queue and decides what it got, until the server
/// stops answering.
async fn moderator(base: String, key: String, task: usize, ack: Arc<Acknowledged>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    for n in 0usize.. {
        let claim = json!({"count": 3}).to_string();
        let items = match call(&client, "POST", &format!("{base}/v1/queue/claim"), &key, Some(claim)).await {
            None => return,
            Some((200, page)) => page["items"].as_array().cloned().unwrap_or_default(),
            Some(_) => Vec::new(),
        };
        if items.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        for item in items {
            let id = item["id"].as_i64().unwrap();
            let action = if (n + task) % 2 == 0 { "remove" } else { "approve" };
            let decision = json!({"action": action, "reason": "scam", "note": "crash test"}).to_string();
            ack.attempts.lock().unwrap().1 += 1;
            match call(&client, "POST", &format!("{base}/v1/items/{id}/decision"), &key, Some(decision)).await {
                None => return,
                Some((200, v)) => {
                    let version = v["version"].as_i64().unwrap();
                    let status = v["status"].as_str().unwrap().to_string();
                    let earlier = ack.decisions.lock().unwrap().insert(id, (version, status));
                    assert!(earlier.is_none(), "item {id} was decided twice from the pending queue");
                }
                Some(_) => {}
            }
        }
    }
}

/// A pseudo-random delay of 200–600 ms (no random crate needed).
fn random_ms(round: usize) -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    200 + u64::from(nanos.wrapping_mul(2_654_435_761).wrapping_add(round as u32 * 7919)) % 400
}

async fn crash_and_restart(db: Db, name: &str) {
    let started = Instant::now();
    let receiver = Receiver::start(0).await;
    let dir = std::env::temp_dir().join(format!("moderation-crash-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("moderation.toml");
    // Fast polls and retries; a short claim lease so items claimed by a
    // killed process come back; no learner competing for the CPU.
    std::fs::write(
        &config,
        format!(
            "[queue]\nlease_seconds = 2\n\n[learning]\nenabled = false\n\n[webhook]\nurl = \"{}\"\nsecrets = [\"{SECRET}\"]\ntimeout_ms = 500\n\
             backoff_base_ms = 100\nbackoff_max_ms = 1000\npoll_ms = 50\n",
            receiver.url
        ),
    )
    .unwrap();

    let forum = create_key(&db.url, &["--role", "forum", "--forum", "main"]);
    let moderators: Vec<String> = (0..MODERATORS).map(|_| create_key(&db.url, &["--role", "moderator"])).collect();
    let ack = Arc::new(Acknowledged::default());

    for round in 0..ROUNDS {
        let server = Server::start(&db.url, &config);
        let mut tasks = Vec::new();
        for s in 0..SUBMITTERS {
            tasks.push(tokio::spawn(submitter(server.base.clone(), forum.clone(), round, s, ack.clone())));
        }
        for (m, key) in moderators.iter().enumerate() {
            tasks.push(tokio::spawn(moderator(server.base.clone(), key.clone(), m, ack.clone())));
        }
        // Kill mid-load: after this round's first acknowledged submission
        // (a loaded machine can take longer than the random delay to start
        // the server and land one), then a random 200–600 ms later.
        let landed = ack.posts.lock().unwrap().len();
        let deadline = Instant::now() + Duration::from_secs(20);
        while ack.posts.lock().unwrap().len() == landed && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(random_ms(round))).await;
        server.kill();
        for t in tasks {
            // Every task ends once the server is gone; a panic is a failure.
            tokio::time::timeout(Duration::from_secs(15), t).await.expect("a client task ends").unwrap();
        }
    }

    // The last restart: no more load; what was acknowledged must be there.
    let server = Server::start(&db.url, &config);
    let client = reqwest::Client::new();
    let posts = ack.posts.lock().unwrap().clone();
    let decisions = ack.decisions.lock().unwrap().clone();
    let (submitted, decided) = *ack.attempts.lock().unwrap();
    eprintln!(
        "{ROUNDS} rounds, {ROUNDS} kills: {} of {submitted} submissions and {} of {decided} decisions acknowledged",
        posts.len(),
        decisions.len()
    );
    assert!(!posts.is_empty() && !decisions.is_empty(), "the load acknowledged nothing: the test tested nothing");
    assert_eq!(posts.values().collect::<BTreeSet<_>>().len(), posts.len(), "two posts got the same item");

    for (post, &item) in &posts {
        let (status, v) = call(&client, "GET", &format!("{}/v1/items/{item}", server.base), &moderators[0], None)
            .await
            .expect("the server answers");
        assert_eq!(status, 200, "acknowledged post {post} (item {item}) is missing: {v}");
        assert_eq!(v["item"]["post_id"], post.as_str());
        assert_eq!(v["item"]["forum"], "main");
        if let Some((version, decided)) = decisions.get(&item) {
            assert_eq!(v["item"]["status"], decided.as_str(), "item {item}: its acknowledged decision is lost");
            assert_eq!(v["item"]["version"], *version, "item {item}");
        }
    }
    // Decisions are only made on items the moderators were given; each is
    // an acknowledged post unless its submission's answer was lost in a kill.
    for (&item, (_, decided)) in &decisions {
        if posts.values().any(|&i| i == item) {
            continue;
        }
        let (status, v) = call(&client, "GET", &format!("{}/v1/items/{item}", server.base), &moderators[0], None)
            .await
            .expect("the server answers");
        assert_eq!((status, v["item"]["status"].as_str()), (200, Some(decided.as_str())), "item {item}: {v}");
    }

    // Every acknowledged decision's webhook arrives. Webhooks leased by a
    // killed process wait for their lease (8 × (timeout_ms + 5 s)) to end.
    let wanted: BTreeSet<String> =
        decisions.iter().map(|(item, (version, _))| format!("item-{item}-v{version}")).collect();
    let deadline = Instant::now() + Duration::from_secs(75);
    loop {
        let got: BTreeSet<String> = receiver.accepted().into_iter().map(|r| r.idempotency_key).collect();
        let missing: Vec<&String> = wanted.difference(&got).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged decisions never reached the webhook, e.g. {:?}; logs: {:#?}",
            missing.len(),
            &missing[..missing.len().min(5)],
            server.logs.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // One signature check per delivery, duplicates included.
    let deliveries = receiver.all();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    for d in &deliveries {
        webhook::verify(&d.signature, d.body.as_bytes(), &[SECRET], now, 300)
            .unwrap_or_else(|e| panic!("delivery {} does not verify: {e:?}", d.idempotency_key));
        let body: Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(body["idempotency_key"], d.idempotency_key.as_str());
        let item = body["item_id"].as_i64().unwrap();
        if let Some((version, status)) = decisions.get(&item) {
            assert_eq!((body["version"].as_i64(), body["status"].as_str()), (Some(*version), Some(status.as_str())));
        }
    }
    let distinct = deliveries.iter().map(|d| &d.idempotency_key).collect::<BTreeSet<_>>().len();
    eprintln!(
        "{} deliveries ({distinct} distinct), all signatures verified; {:.1} s",
        deliveries.len(),
        started.elapsed().as_secs_f64()
    );

    server.kill();
    let _ = std::fs::remove_dir_all(dir);
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_kill_9_during_submissions_and_decisions_loses_nothing_acknowledged() {
    let db = Db::sqlite("crash");
    crash_and_restart(db, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_crash_kill_9_during_submissions_and_decisions_loses_nothing_acknowledged() {
    if let Some(db) = Db::postgres("crash").await {
        crash_and_restart(db, "postgres").await;
    }
}
