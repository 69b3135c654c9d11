//! Limits stated once: every size, count and time limit of the service and
//! the library, in one table (`LIMITS`, the README's table), each tried
//! exactly at the limit and one step past it against a real server (or,
//! for the library's fixed limits, in `moderation-core/tests/limits.rs`).
//! At the limit the request is served (or the documented cap applies); past
//! it the answer is a 4xx whose message names the limit: never a 500.
//!
//! `limits_table_is_complete` checks that each row of `LIMITS` is tried:
//! by a row of `CASES` (HTTP), of `CONFIG_CASES` (settings), or by a test
//! function of this file or the core's. `cargo nextest run -p
//! moderation-service --test limits --no-capture -E 'test(limits_table)'`
//! prints the table as Markdown.

use std::sync::Arc;

use moderation_service::app::EXPORT_SETTLE_MS;
use moderation_service::clock::ManualClock;
use moderation_service::config::{Config, WebhookConfig};
use moderation_service::keys::Role;
use serde_json::{Value, json};

mod harness;

use harness::{Db, T0, TestServer};

/// One limit: what it bounds, its value, where it is set, what happens past
/// it, and the test that tries it at and past the limit.
struct Limit {
    limit: &'static str,
    value: &'static str,
    set: &'static str,
    past: &'static str,
    test: &'static str,
}

const HTTP: &str = "service: http_limits_at_and_past";
const CONFIG: &str = "service: limit_config_bounds";

const fn l(
    limit: &'static str,
    value: &'static str,
    set: &'static str,
    past: &'static str,
    test: &'static str,
) -> Limit {
    Limit { limit, value, set, past, test }
}

/// Every limit, in the README's order.
const LIMITS: &[Limit] = &[
    // The API: what a request may hold.
    l(
        "request body",
        "1,048,576 bytes",
        "`body_limit` / `MODERATION_BODY_LIMIT` / `--body-limit`",
        "413 `body_too_large`, naming `body_limit` and its value",
        HTTP,
    ),
    l(
        "post `id`, `author.id`",
        "256 bytes",
        "`MAX_ID_BYTES` (service)",
        "400 `invalid_json`, `field` `id` / `author.id`: \"`id` is over 256 bytes\"",
        HTTP,
    ),
    l(
        "report `post_id`, `reporter_id`, `reason`",
        "256 bytes",
        "`MAX_ID_BYTES`",
        "400 `invalid_json` naming the field",
        HTTP,
    ),
    l("report `note`", "10,000 bytes", "`MAX_NOTE_BYTES`", "400 `invalid_json`, `field` `note`", HTTP),
    l("decision `reason`", "256 bytes", "`MAX_ID_BYTES`", "400 `invalid_json`, `field` `reason`", HTTP),
    l("decision `note`", "10,000 bytes", "`MAX_NOTE_BYTES`", "400 `invalid_json`, `field` `note`", HTTP),
    l(
        "audit `actor`, `action` filters",
        "256 bytes",
        "`MAX_ID_BYTES`",
        "400 `invalid_query` naming the parameter",
        HTTP,
    ),
    l(
        "forum id (keys, `forum=` filters)",
        "1–64 bytes of letters, digits, `.-_`",
        "`keys::valid_forum_id`",
        "400 naming `forum` / `forums`",
        HTTP,
    ),
    l("key `label`", "200 characters", "`keys::NewKey::validate`", "400 `invalid_json`, `field` `label`", HTTP),
    l(
        "queue page (`GET /v1/queue?limit=`)",
        "1–500 (default 50)",
        "`app::moderation::list`",
        "400 `invalid_query`, `field` `limit`: \"limit must be between 1 and 500\"",
        HTTP,
    ),
    l(
        "claim at once (`POST /v1/queue/claim` `count`)",
        "1–100 (default 1)",
        "`app::moderation::claim_next`",
        "400 `invalid_json`, `field` `count`",
        HTTP,
    ),
    l(
        "bulk decision (`POST /v1/decisions` `items`)",
        "500 ids",
        "`app::moderation::decide_many`",
        "400 `invalid_json`, `field` `items`: \"at most 500 items per bulk decision\"",
        HTTP,
    ),
    l(
        "audit page (`GET /v1/audit?limit=`)",
        "1–1000 (default 100)",
        "`app::moderation::audit`",
        "400 `invalid_query`, `field` `limit`",
        HTTP,
    ),
    l(
        "label import (`POST /v1/labels`)",
        "10,000 lines",
        "`MAX_IMPORT_LINES`",
        "400 `invalid_json`, `field` `body`: \"an import holds at most 10000 lines\" (nothing stored)",
        HTTP,
    ),
    l(
        "stored post field (`body`, `title`, `author.name`)",
        "65,536 bytes",
        "`MAX_SCAN_BYTES` (core)",
        "stored cut at 65,536 bytes + \" […N bytes beyond the scanned 65536 not stored]\"; verdict has `input.truncated`",
        "service: limit_stored_field",
    ),
    l(
        "export page (`GET /v1/export`)",
        "500 decisions per read",
        "`EXPORT_PAGE`",
        "the export reads the next page: every decision is exported",
        "service: limit_export_page",
    ),
    // Settings: what the configuration may say.
    l(
        "`body_limit` minimum",
        "1,024 bytes",
        "`body_limit`",
        "start refused: \"body_limit must be at least 1024 bytes\"",
        CONFIG,
    ),
    l(
        "`learning.max_labels`",
        "100–1,000,000 (default 20,000)",
        "`learning.max_labels`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`learning.holdout_share`",
        "0.05–0.5 (default 0.25)",
        "`learning.holdout_share`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`learning.review_budget`",
        "0–0.2 (default 0.05)",
        "`learning.review_budget`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`learning.hold_budget`",
        "0 to `learning.review_budget` (unset: 0.01, or `learning.review_budget` if smaller)",
        "`learning.hold_budget`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`learning.max_moderator_share`",
        "above 0, at most 1 (default 0.5)",
        "`learning.max_moderator_share`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`learning.every_labels`",
        "at least 1 (default 200)",
        "`learning.every_labels` / `MODERATION_LEARN_EVERY_LABELS`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`queue.lease_seconds`",
        "at least 1 (default 600)",
        "`queue.lease_seconds` / `MODERATION_LEASE_SECONDS`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`pg_pool`",
        "at least 1 (default 8)",
        "`pg_pool` / `MODERATION_PG_POOL`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`db_timeout_ms`",
        "10–600,000 ms (default 5,000): pool acquire, PostgreSQL statement, SQLite busy timeout",
        "`db_timeout_ms` / `MODERATION_DB_TIMEOUT_MS`",
        "start refused, naming the key; at run time a request waiting longer answers 503 `unavailable` (`tests/db_outage.rs`)",
        CONFIG,
    ),
    l(
        "`memory.retention_hours`",
        "1–8,760 (default 72)",
        "`memory.retention_hours` / `MODERATION_MEMORY_RETENTION_HOURS`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`memory.window_minutes`",
        "1 to `retention_hours` × 60 (default 120)",
        "`memory.window_minutes`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`memory.burst_minutes`",
        "1 to `window_minutes` (default 10)",
        "`memory.burst_minutes`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`memory.near_threshold`",
        "0.3–1 (default 0.6)",
        "`memory.near_threshold`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`memory.max_posts`",
        "1,000–10,000,000 (default 100,000)",
        "`memory.max_posts`",
        "start refused, naming the key; at run time the oldest post leaves the index (`moderation-core` `memory::Index`)",
        CONFIG,
    ),
    l("`memory.poll_ms`", "at least 10 (default 500)", "`memory.poll_ms`", "start refused, naming the key", CONFIG),
    l(
        "`feeds.poll_ms`",
        "at least 100 (default 30,000)",
        "`feeds.poll_ms` / `MODERATION_FEEDS_POLL_MS`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`webhook.secrets`",
        "1–2 when a URL is set",
        "`webhook.secrets` / `MODERATION_WEBHOOK_SECRETS`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`webhook.timeout_ms`",
        "at least 1 (default 10,000)",
        "`webhook.timeout_ms`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`webhook.backoff_base_ms`",
        "at least 1 (default 1,000)",
        "`webhook.backoff_base_ms`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "`webhook.backoff_max_ms`",
        "at least `backoff_base_ms` (default 3,600,000)",
        "`webhook.backoff_max_ms`",
        "start refused, naming the key",
        CONFIG,
    ),
    l(
        "webhook retry delay",
        "`backoff_base_ms` × 2^attempts, at most `backoff_max_ms` (+ up to 20 % jitter)",
        "`webhook.backoff_base_ms`, `webhook.backoff_max_ms`",
        "capped at `backoff_max_ms`",
        "service: limit_webhook_backoff",
    ),
    l(
        "webhook attempt",
        "`webhook.timeout_ms`",
        "`webhook.timeout_ms`",
        "the attempt fails (`moderation_webhooks_total{outcome=\"failed\"}`) and is retried after the backoff",
        "service: limit_webhook_timeout",
    ),
    // The engine: what one post may cost.
    l(
        "scanned per field",
        "65,536 bytes (64 KiB)",
        "`MAX_SCAN_BYTES` (core)",
        "the rest is not read; signal `input.truncated`",
        "core: limit_field_scan_bytes",
    ),
    l(
        "view length",
        "65,536 characters",
        "`MAX_VIEW_CHARS` (core)",
        "the view stops; signal `input.truncated`",
        "core: limit_view_chars",
    ),
    l(
        "links examined per field",
        "256",
        "`MAX_LINKS_PER_FIELD` (core)",
        "later links are not examined (not counted, not judged)",
        "core: limit_links_per_field",
    ),
    l(
        "spans per rule",
        "16",
        "`MAX_SPANS_PER_RULE` (core)",
        "later matches are not reported",
        "core: limit_spans_per_rule",
    ),
    // Rule files.
    l(
        "rule `id`",
        "1–100 bytes of letters, digits, `.-_`",
        "`rules::valid_id` (core)",
        "rule set refused with file, line and rule",
        "core: limit_rule_id_length",
    ),
    l(
        "rule `weight`",
        "−20…20",
        "`MAX_WEIGHT` (core)",
        "rule set refused: \"weight … is outside -20..=20\"",
        "core: limit_rule_weight",
    ),
    l(
        "regex pattern, compiled",
        "1 MiB",
        "`REGEX_SIZE_LIMIT` (core)",
        "rule set refused: \"… exceeds size limit of 1048576 bytes\"",
        "core: limit_regex_size",
    ),
    l(
        "distinct regex patterns",
        "1,000 per rule set and across the layers",
        "`MAX_PATTERNS` (core)",
        "refused: \"more than 1000 distinct regex patterns …\"",
        "core: limit_regex_patterns",
    ),
    l(
        "conditions per rule (expanded)",
        "10,000",
        "`MAX_RULE_CONDITIONS` (core)",
        "refused, naming the rule (and the `use` that expands most)",
        "core: limit_conditions_per_rule",
    ),
    l(
        "conditions of all rules (expanded)",
        "200,000",
        "`MAX_TOTAL_CONDITIONS` (core)",
        "refused, naming the rule that crosses it",
        "core: limit_conditions_in_all",
    ),
    l(
        "`use` nesting",
        "8 deep",
        "`MAX_USE_DEPTH` (core)",
        "refused: \"nests more than 8 deep (a cycle?)\"",
        "core: limit_use_depth",
    ),
    l(
        "distinct phrases",
        "50,000 across the layers",
        "`MAX_PHRASES` (core)",
        "refused: \"N distinct phrases (limit 50000 …)\"",
        "core: limit_distinct_phrases",
    ),
    l(
        "phrase bytes",
        "1 MiB across the layers",
        "`MAX_PHRASE_BYTES` (core)",
        "refused: \"… bytes (limit 1048576 …)\"",
        "core: limit_phrase_bytes",
    ),
    // Brand registry, feeds, model files.
    l(
        "brands per registry file or layer",
        "100,000",
        "`MAX_BRANDS` (core)",
        "file refused: \"N brands; at most 100000 per file\"",
        "core: limit_brands_per_file",
    ),
    l(
        "domains / hosts / tokens per brand",
        "64 each",
        "`MAX_NAMES_PER_BRAND` (core)",
        "file refused with its line",
        "core: limit_names_per_brand",
    ),
    l(
        "brand `name`",
        "1–100 bytes",
        "`rules::registry` (core)",
        "file refused with its line",
        "core: limit_brand_name_length",
    ),
    l(
        "feed file size",
        "64 MiB",
        "`MAX_FEED_BYTES` (core)",
        "file refused (the feeds in force kept)",
        "core: limit_feed_bytes",
    ),
    l(
        "feed entries",
        "2,000,000 per file",
        "`MAX_FEED_ENTRIES` (core)",
        "file refused: \"more than 2000000 entries\"",
        "core-unit: signals::feeds::tests::too_many_entries_are_refused",
    ),
    l(
        "feed host",
        "253 characters, labels of 63",
        "`signals::feeds` (core)",
        "file refused with its line",
        "core: limit_feed_host_length",
    ),
    l(
        "model payload",
        "1 GiB",
        "`MAX_PAYLOAD_BYTES` (core)",
        "file refused before reading it: \"… over the 1073741824-byte limit\"",
        "core: limit_model_payload",
    ),
];

/// What the HTTP cases share: the server, keys and items made for them.
struct Ctx {
    server: TestServer,
    forum: String,
    moderator: String,
    admin: String,
    items: Vec<i64>,
}

/// Who sends a case's request.
#[derive(Clone, Copy)]
enum Who {
    Forum,
    Moderator,
    Admin,
}

/// One HTTP limit: a request at the limit (served with `at`) and one step
/// past it (refused with `past`, `code`, `field`, and a message holding `says`).
struct Case {
    limit: &'static str,
    who: Who,
    at: u16,
    past: u16,
    code: &'static str,
    field: Option<&'static str>,
    says: &'static str,
    request: fn(&Ctx, bool) -> (&'static str, String, String),
}

/// The configured body limit of the HTTP cases' server.
const BODY_LIMIT: usize = 300_000;

fn n(at: usize, past: bool) -> usize {
    at + usize::from(past)
}

fn s(len: usize) -> String {
    "x".repeat(len)
}

fn q(len: usize) -> String {
    "f".repeat(len)
}

const CASES: &[Case] = &[
    Case {
        limit: "request body",
        who: Who::Forum,
        at: 200,
        past: 413,
        code: "body_too_large",
        field: None,
        says: "over the size limit of 300000 bytes (`body_limit`)",
        request: |_, past| {
            let mut body = json!({"id": "big", "body": "hello", "pad": ""}).to_string();
            let pad = BODY_LIMIT - body.len() + usize::from(past);
            body = json!({"id": "big", "body": "hello", "pad": s(pad)}).to_string();
            ("POST", "/v1/score".into(), body)
        },
    },
    Case {
        limit: "post `id`, `author.id`",
        who: Who::Forum,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("id"),
        says: "`id` is over 256 bytes",
        request: |_, past| ("POST", "/v1/score".into(), json!({"id": s(n(256, past)), "body": "hi"}).to_string()),
    },
    Case {
        limit: "post `id`, `author.id`",
        who: Who::Forum,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("author.id"),
        says: "`author.id` is over 256 bytes",
        request: |_, past| {
            let post = json!({"id": "p", "body": "hi", "author": {"id": s(n(256, past))}});
            ("POST", "/v1/score".into(), post.to_string())
        },
    },
    Case {
        limit: "report `post_id`, `reporter_id`, `reason`",
        who: Who::Forum,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("post_id"),
        says: "`post_id` is over 256 bytes",
        request: |_, past| {
            let r = json!({"post_id": q(n(256, past)), "reporter_id": "r", "reason": "spam"});
            ("POST", "/v1/reports".into(), r.to_string())
        },
    },
    Case {
        limit: "report `post_id`, `reporter_id`, `reason`",
        who: Who::Forum,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("reporter_id"),
        says: "`reporter_id` is over 256 bytes",
        request: |_, past| {
            let r = json!({"post_id": "reported", "reporter_id": s(n(256, past)), "reason": "spam"});
            ("POST", "/v1/reports".into(), r.to_string())
        },
    },
    Case {
        limit: "report `post_id`, `reporter_id`, `reason`",
        who: Who::Forum,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("reason"),
        says: "`reason` is over 256 bytes",
        request: |_, past| {
            let r = json!({"post_id": "reported", "reporter_id": "r2", "reason": s(n(256, past))});
            ("POST", "/v1/reports".into(), r.to_string())
        },
    },
    Case {
        limit: "report `note`",
        who: Who::Forum,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("note"),
        says: "`note` is over 10000 bytes",
        request: |_, past| {
            let r = json!({"post_id": "reported", "reporter_id": "r3", "reason": "spam", "note": s(n(10_000, past))});
            ("POST", "/v1/reports".into(), r.to_string())
        },
    },
    Case {
        limit: "decision `reason`",
        who: Who::Moderator,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("reason"),
        says: "`reason` is over 256 bytes",
        request: |c, past| {
            let d = json!({"action": "remove", "reason": s(n(256, past))});
            ("POST", format!("/v1/items/{}/decision", c.items[0]), d.to_string())
        },
    },
    Case {
        limit: "decision `note`",
        who: Who::Moderator,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("note"),
        says: "`note` is over 10000 bytes",
        request: |c, past| {
            let d = json!({"action": "remove", "reason": "spam", "note": s(n(10_000, past))});
            ("POST", format!("/v1/items/{}/decision", c.items[1]), d.to_string())
        },
    },
    Case {
        limit: "audit `actor`, `action` filters",
        who: Who::Moderator,
        at: 200,
        past: 400,
        code: "invalid_query",
        field: Some("actor"),
        says: "`actor` is over 256 bytes",
        request: |_, past| ("GET", format!("/v1/audit?actor={}", s(n(256, past))), String::new()),
    },
    Case {
        limit: "audit `actor`, `action` filters",
        who: Who::Moderator,
        at: 200,
        past: 400,
        code: "invalid_query",
        field: Some("action"),
        says: "`action` is over 256 bytes",
        request: |_, past| ("GET", format!("/v1/audit?action={}", s(n(256, past))), String::new()),
    },
    Case {
        limit: "forum id (keys, `forum=` filters)",
        who: Who::Moderator,
        at: 200,
        past: 400,
        code: "invalid_query",
        field: Some("forum"),
        says: "is not a forum id",
        request: |_, past| ("GET", format!("/v1/queue?forum={}", q(n(64, past))), String::new()),
    },
    Case {
        limit: "forum id (keys, `forum=` filters)",
        who: Who::Admin,
        at: 201,
        past: 400,
        code: "invalid_json",
        field: Some("forums"),
        says: "1–64 letters",
        request: |_, past| {
            let k = json!({"role": "moderator", "forums": [q(n(64, past))]});
            ("POST", "/v1/keys".into(), k.to_string())
        },
    },
    Case {
        limit: "key `label`",
        who: Who::Admin,
        at: 201,
        past: 400,
        code: "invalid_json",
        field: Some("label"),
        says: "longer than 200 characters",
        request: |_, past| {
            // Characters, not bytes: 200 of three bytes each are accepted.
            let k = json!({"role": "moderator", "label": "日".repeat(n(200, past))});
            ("POST", "/v1/keys".into(), k.to_string())
        },
    },
    Case {
        limit: "queue page (`GET /v1/queue?limit=`)",
        who: Who::Moderator,
        at: 200,
        past: 400,
        code: "invalid_query",
        field: Some("limit"),
        says: "limit must be between 1 and 500",
        request: |_, past| ("GET", format!("/v1/queue?limit={}", n(500, past)), String::new()),
    },
    Case {
        limit: "queue page (`GET /v1/queue?limit=`)",
        who: Who::Moderator,
        at: 200,
        past: 400,
        code: "invalid_query",
        field: Some("limit"),
        says: "limit must be between 1 and 500",
        request: |_, past| ("GET", format!("/v1/queue?limit={}", if past { 0 } else { 1 }), String::new()),
    },
    Case {
        limit: "claim at once (`POST /v1/queue/claim` `count`)",
        who: Who::Moderator,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("count"),
        says: "count must be between 1 and 100",
        request: |_, past| {
            ("POST", "/v1/queue/claim".into(), json!({"count": n(100, past), "forum": "none"}).to_string())
        },
    },
    Case {
        limit: "bulk decision (`POST /v1/decisions` `items`)",
        who: Who::Moderator,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("items"),
        says: "at most 500 items per bulk decision",
        request: |_, past| {
            let items: Vec<i64> = (1_000_000..1_000_000 + n(500, past) as i64).collect();
            ("POST", "/v1/decisions".into(), json!({"items": items, "action": "remove", "reason": "spam"}).to_string())
        },
    },
    Case {
        limit: "audit page (`GET /v1/audit?limit=`)",
        who: Who::Moderator,
        at: 200,
        past: 400,
        code: "invalid_query",
        field: Some("limit"),
        says: "limit must be between 1 and 1000",
        request: |_, past| ("GET", format!("/v1/audit?limit={}", n(1000, past)), String::new()),
    },
    Case {
        limit: "label import (`POST /v1/labels`)",
        who: Who::Admin,
        at: 200,
        past: 400,
        code: "invalid_json",
        field: Some("body"),
        says: "an import holds at most 10000 lines",
        request: |_, past| {
            // Unlabelled lines: counted, then skipped, so the import is cheap.
            let body: String = (0..n(10_000, past)).map(|_| "{\"id\":\"i\",\"body\":\"\"}\n").collect();
            ("POST", "/v1/labels?forum=main".into(), body)
        },
    },
];

async fn start(name: &str, config: Config) -> (TestServer, Db) {
    let db = Db::sqlite(&format!("limits-{name}"));
    let server = TestServer::start(&db, config, Arc::new(ManualClock::new(T0))).await;
    (server, db)
}

/// A post the engine holds for review (so it is a queue item).
fn scam(id: &str) -> String {
    json!({"id": id, "body": "Withdrawal stuck? Contact support on Telegram @binance_helpdesk_247 and send your seed phrase to unlock it",
           "author": {"id": "u1", "trust_level": 0, "account_age_days": 1}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_limits_at_and_past() {
    let mut config = harness::config();
    config.body_limit = BODY_LIMIT;
    config.learning.enabled = false;
    let (server, db) = start("http", config).await;
    let forum = server.key(Role::Forum, &["main"]).await.1;
    let moderator = server.key(Role::Moderator, &[]).await.1;
    let admin = server.key(Role::Admin, &[]).await.1;
    let mut items = Vec::new();
    for id in ["d0", "d1"] {
        let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(scam(id))).await;
        assert_eq!(status, 201, "{v}");
        items.push(v["item_id"].as_i64().unwrap());
    }
    // Posts the report cases name: one with the longest id there may be.
    for id in [q(256), "reported".to_string()] {
        let (status, v) =
            server.call("POST", "/v1/posts", Some(&forum), Some(json!({"id": id, "body": "hello"}).to_string())).await;
        assert_eq!(status, 201, "{v}");
    }
    let ctx = Ctx { server, forum, moderator, admin, items };
    for case in CASES {
        let key = match case.who {
            Who::Forum => &ctx.forum,
            Who::Moderator => &ctx.moderator,
            Who::Admin => &ctx.admin,
        };
        let (method, path, body) = (case.request)(&ctx, false);
        let body = (!body.is_empty()).then_some(body);
        let (status, v) = ctx.server.call(method, &path, Some(key), body).await;
        assert_eq!(status, case.at, "{}: at the limit: {v}", case.limit);

        let (method, path, body) = (case.request)(&ctx, true);
        let body = (!body.is_empty()).then_some(body);
        let (status, v) = ctx.server.call(method, &path, Some(key), body).await;
        assert_eq!(status, case.past, "{}: past the limit: {v}", case.limit);
        assert_eq!(v["error"]["code"], case.code, "{}: {v}", case.limit);
        if let Some(field) = case.field {
            assert_eq!(v["error"]["field"], field, "{}: {v}", case.limit);
        }
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(case.says), "{}: {message:?} does not say {:?}", case.limit, case.says);
    }
    // Nothing of the refused import was stored; the accepted one stored no labels.
    ctx.server.shutdown().await;
    db.remove().await;
}

/// A field of 65,536 bytes is stored whole; one byte more is stored cut at
/// what the engine scanned, saying how much was left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_stored_field() {
    let (server, db) = start("stored", harness::config()).await;
    let forum = server.key(Role::Forum, &["main"]).await.1;
    let moderator = server.key(Role::Moderator, &[]).await.1;
    for (id, len) in [("at", 65_536), ("past", 65_537)] {
        let body = json!({"id": id, "body": "a".repeat(len), "title": "t".repeat(len)}).to_string();
        let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(body)).await;
        assert_eq!(status, 201, "{v}");
        let signals: Vec<&str> =
            v["verdict"]["signals"].as_array().unwrap().iter().filter_map(|s| s["id"].as_str()).collect();
        assert_eq!(signals.contains(&"input.truncated"), id == "past", "{id}: {signals:?}");
        let (status, item) = server.call("GET", &format!("/v1/items/{}", v["item_id"]), Some(&moderator), None).await;
        assert_eq!(status, 200, "{item}");
        for field in ["body", "title"] {
            let stored = item["item"]["post"][field].as_str().unwrap();
            if id == "at" {
                assert_eq!(stored.len(), 65_536, "{field}");
            } else {
                assert!(stored.starts_with(&"a".repeat(10)) || stored.starts_with(&"t".repeat(10)));
                assert!(
                    stored.ends_with(" […1 bytes beyond the scanned 65536 not stored]"),
                    "{field}: …{}",
                    &stored[65_530..]
                );
            }
        }
    }
    server.shutdown().await;
    db.remove().await;
}

/// The export reads decisions 500 at a time: 500 fill one page exactly, and
/// the 501st comes from the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_export_page() {
    let mut config = harness::config();
    config.learning.enabled = false;
    let (server, db) = start("export", config).await;
    let forum = server.key(Role::Forum, &["main"]).await.1;
    let moderator = server.key(Role::Moderator, &[]).await.1;
    let mut items = Vec::new();
    for i in 0..501 {
        let body = json!({"id": format!("e{i}"), "body": format!("post number {i}")}).to_string();
        let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(body)).await;
        assert_eq!(status, 201, "{v}");
        items.push(v["item_id"].as_i64().unwrap());
    }
    let export = || async {
        server.clock.advance(EXPORT_SETTLE_MS + 1);
        let (status, v) = server.call("GET", "/v1/export", Some(&moderator), None).await;
        assert_eq!(status, 200, "{v}");
        let text = match v {
            Value::String(s) => s,
            Value::Null => String::new(),
            one => one.to_string(),
        };
        let ids: std::collections::BTreeSet<String> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), text.lines().count(), "no line twice");
        ids.len()
    };
    let decide = |items: Vec<i64>| {
        let body = json!({"items": items, "action": "remove", "reason": "spam"}).to_string();
        let moderator = moderator.clone();
        let server = &server;
        async move {
            let (status, v) = server.call("POST", "/v1/decisions", Some(&moderator), Some(body)).await;
            assert_eq!(status, 200, "{v}");
        }
    };
    decide(items[..500].to_vec()).await;
    assert_eq!(export().await, 500);
    decide(items[500..].to_vec()).await;
    assert_eq!(export().await, 501);
    server.shutdown().await;
    db.remove().await;
}

/// The retry delay doubles up to `backoff_max_ms`, and stays there.
#[test]
fn limit_webhook_backoff() {
    let w = WebhookConfig { backoff_base_ms: 1_000, backoff_max_ms: 8_000, ..WebhookConfig::default() };
    assert_eq!((0..5).map(|a| w.backoff_ms(a)).collect::<Vec<_>>(), [1_000, 2_000, 4_000, 8_000, 8_000]);
    assert_eq!(w.backoff_ms(3), 8_000, "at the cap");
    assert_eq!(w.backoff_ms(4), 8_000, "past it");
    assert_eq!(w.backoff_ms(i64::MAX), 8_000, "never overflows");
    let w = WebhookConfig::default();
    assert_eq!(w.backoff_ms(1_000), 3_600_000);
}

/// A receiver that answers within `webhook.timeout_ms` gets the webhook
/// delivered; one that answers after it has the attempt fail and retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_webhook_timeout() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const TIMEOUT_MS: u64 = 400;
    // The first answer comes 5 timeouts late, the next at once.
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let seen = seen.clone();
            async move {
                if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(TIMEOUT_MS * 5)).await;
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let receiver = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut config = harness::config();
    config.learning.enabled = false;
    config.webhook.url = Some(url);
    config.webhook.secrets = vec!["secret".into()];
    config.webhook.timeout_ms = TIMEOUT_MS;
    config.webhook.backoff_base_ms = 1_000;
    let (server, db) = start("webhook-timeout", config).await;
    let forum = server.key(Role::Forum, &["main"]).await.1;
    let moderator = server.key(Role::Moderator, &[]).await.1;
    let (_, v) = server.call("POST", "/v1/posts", Some(&forum), Some(scam("w1"))).await;
    let item = v["item_id"].as_i64().unwrap();
    let decision = json!({"action": "remove", "reason": "scam"}).to_string();
    let (status, v) =
        server.call("POST", &format!("/v1/items/{item}/decision"), Some(&moderator), Some(decision)).await;
    assert_eq!(status, 200, "{v}");
    let metrics = || async {
        let resp = reqwest::Client::new()
            .get(format!("{}/metrics", server.base))
            .bearer_auth("metrics-secret")
            .send()
            .await
            .unwrap();
        resp.text().await.unwrap()
    };
    // Past the timeout: the attempt fails …
    let failed = harness::eventually("a failed attempt", || async {
        metrics().await.lines().any(|l| l.starts_with("moderation_webhooks_total{outcome=\"failed\"}")).then_some(())
    })
    .await;
    let _ = failed;
    assert!(!metrics().await.contains("outcome=\"delivered\""));
    // … and once the backoff (1 s, + up to 20 %) has passed, the retry,
    // answered within the timeout, is delivered.
    server.clock.advance(1_300);
    harness::eventually("a delivery", || async { metrics().await.contains("outcome=\"delivered\"").then_some(()) })
        .await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    receiver.abort();
    server.shutdown().await;
    db.remove().await;
}

/// A setting at its bound, and one step past it.
struct ConfigCase {
    limit: &'static str,
    says: &'static str,
    set: fn(&mut Config, bool),
}

const CONFIG_CASES: &[ConfigCase] = &[
    ConfigCase {
        limit: "`body_limit` minimum",
        says: "body_limit must be at least 1024 bytes",
        set: |c, past| c.body_limit = 1024 - usize::from(past),
    },
    ConfigCase {
        limit: "`learning.max_labels`",
        says: "learning.max_labels must be between 100 and 1000000",
        set: |c, past| c.learning.max_labels = 100 - u32::from(past),
    },
    ConfigCase {
        limit: "`learning.max_labels`",
        says: "learning.max_labels must be between 100 and 1000000",
        set: |c, past| c.learning.max_labels = 1_000_000 + u32::from(past),
    },
    ConfigCase {
        limit: "`learning.holdout_share`",
        says: "learning.holdout_share must be between 0.05 and 0.5",
        set: |c, past| c.learning.holdout_share = if past { 0.049 } else { 0.05 },
    },
    ConfigCase {
        limit: "`learning.holdout_share`",
        says: "learning.holdout_share must be between 0.05 and 0.5",
        set: |c, past| c.learning.holdout_share = if past { 0.501 } else { 0.5 },
    },
    ConfigCase {
        limit: "`learning.review_budget`",
        says: "learning.review_budget must be between 0 and 0.2",
        set: |c, past| c.learning.review_budget = if past { 0.201 } else { 0.2 },
    },
    // At 0 with the hold budget unset (it follows the review budget down).
    ConfigCase {
        limit: "`learning.review_budget`",
        says: "learning.review_budget must be between 0 and 0.2",
        set: |c, past| c.learning.review_budget = if past { -0.001 } else { 0.0 },
    },
    ConfigCase {
        limit: "`learning.hold_budget`",
        says: "learning.hold_budget must be between 0 and learning.review_budget",
        set: |c, past| c.learning.hold_budget = Some(if past { 0.051 } else { 0.05 }),
    },
    ConfigCase {
        limit: "`learning.max_moderator_share`",
        says: "learning.max_moderator_share must be above 0 and at most 1",
        set: |c, past| c.learning.max_moderator_share = if past { 1.001 } else { 1.0 },
    },
    ConfigCase {
        limit: "`learning.max_moderator_share`",
        says: "learning.max_moderator_share must be above 0 and at most 1",
        set: |c, past| c.learning.max_moderator_share = if past { 0.0 } else { 0.001 },
    },
    ConfigCase {
        limit: "`learning.every_labels`",
        says: "learning.every_labels must be at least 1",
        set: |c, past| c.learning.every_labels = u32::from(!past).into(),
    },
    ConfigCase {
        limit: "`queue.lease_seconds`",
        says: "queue.lease_seconds must be positive",
        set: |c, past| c.queue.lease_seconds = u64::from(!past).try_into().unwrap(),
    },
    ConfigCase {
        limit: "`pg_pool`",
        says: "pg_pool must be positive",
        set: |c, past| c.pg_pool = u32::from(!past).try_into().unwrap(),
    },
    ConfigCase {
        limit: "`db_timeout_ms`",
        says: "db_timeout_ms must be between 10 and 600000",
        set: |c, past| c.db_timeout_ms = 10 - u64::from(past),
    },
    ConfigCase {
        limit: "`db_timeout_ms`",
        says: "db_timeout_ms must be between 10 and 600000",
        set: |c, past| c.db_timeout_ms = 600_000 + u64::from(past),
    },
    ConfigCase {
        limit: "`memory.retention_hours`",
        says: "memory.retention_hours must be between 1 and 8760",
        set: |c, past| {
            c.memory.retention_hours = 8_760 + u64::from(past);
        },
    },
    ConfigCase {
        limit: "`memory.retention_hours`",
        says: "memory.retention_hours must be between 1 and 8760",
        set: |c, past| {
            c.memory.retention_hours = 1 - u64::from(past);
            c.memory.window_minutes = 60;
        },
    },
    ConfigCase {
        limit: "`memory.window_minutes`",
        says: "memory.window_minutes must be positive",
        set: |c, past| c.memory.window_minutes = c.memory.retention_hours * 60 + u64::from(past),
    },
    ConfigCase {
        limit: "`memory.window_minutes`",
        says: "memory.window_minutes must be positive",
        set: |c, past| {
            c.memory.window_minutes = u64::from(!past);
            c.memory.burst_minutes = 1;
        },
    },
    ConfigCase {
        limit: "`memory.burst_minutes`",
        says: "memory.burst_minutes must be positive and at most memory.window_minutes",
        set: |c, past| c.memory.burst_minutes = c.memory.window_minutes + u64::from(past),
    },
    ConfigCase {
        limit: "`memory.burst_minutes`",
        says: "memory.burst_minutes must be positive and at most memory.window_minutes",
        set: |c, past| c.memory.burst_minutes = u64::from(!past),
    },
    ConfigCase {
        limit: "`memory.near_threshold`",
        says: "memory.near_threshold must be between 0.3 and 1",
        set: |c, past| c.memory.near_threshold = if past { 0.299 } else { 0.3 },
    },
    ConfigCase {
        limit: "`memory.near_threshold`",
        says: "memory.near_threshold must be between 0.3 and 1",
        set: |c, past| c.memory.near_threshold = if past { 1.001 } else { 1.0 },
    },
    ConfigCase {
        limit: "`memory.max_posts`",
        says: "memory.max_posts must be between 1000 and 10000000",
        set: |c, past| c.memory.max_posts = 1_000 - usize::from(past),
    },
    ConfigCase {
        limit: "`memory.max_posts`",
        says: "memory.max_posts must be between 1000 and 10000000",
        set: |c, past| c.memory.max_posts = 10_000_000 + usize::from(past),
    },
    ConfigCase {
        limit: "`memory.poll_ms`",
        says: "memory.poll_ms must be at least 10",
        set: |c, past| c.memory.poll_ms = 10 - u64::from(past),
    },
    ConfigCase {
        limit: "`feeds.poll_ms`",
        says: "feeds.poll_ms must be at least 100",
        set: |c, past| c.feeds.poll_ms = 100 - u64::from(past),
    },
    ConfigCase {
        limit: "`webhook.secrets`",
        says: "webhook.secrets holds at most two secrets",
        set: |c, past| {
            c.webhook.url = Some("https://forum.example/hook".into());
            c.webhook.secrets = (0..2 + usize::from(past)).map(|i| format!("s{i}")).collect();
        },
    },
    ConfigCase {
        limit: "`webhook.secrets`",
        says: "webhook.secrets is empty",
        set: |c, past| {
            c.webhook.url = Some("https://forum.example/hook".into());
            c.webhook.secrets = (0..usize::from(!past)).map(|i| format!("s{i}")).collect();
        },
    },
    ConfigCase {
        limit: "`webhook.timeout_ms`",
        says: "webhook.timeout_ms must be at least 1",
        set: |c, past| c.webhook.timeout_ms = u64::from(!past),
    },
    ConfigCase {
        limit: "`webhook.backoff_base_ms`",
        says: "webhook.backoff_base_ms must be at least 1",
        set: |c, past| c.webhook.backoff_base_ms = u64::from(!past),
    },
    ConfigCase {
        limit: "`webhook.backoff_max_ms`",
        says: "webhook.backoff_max_ms must be at least webhook.backoff_base_ms",
        set: |c, past| c.webhook.backoff_max_ms = c.webhook.backoff_base_ms - u64::from(past),
    },
];

#[test]
fn limit_config_bounds() {
    for case in CONFIG_CASES {
        let mut at = Config::default();
        (case.set)(&mut at, false);
        at.validate().unwrap_or_else(|e| panic!("{}: at the bound: {e}", case.limit));
        let mut past = Config::default();
        (case.set)(&mut past, true);
        let e = past.validate().expect_err(case.limit).to_string();
        assert!(e.contains(case.says), "{}: {e:?} does not say {:?}", case.limit, case.says);
    }
    // The same check stops a start from a file, naming the key.
    let e = Config::from_toml("m.toml", "body_limit = 1023\n").and_then(|c| c.validate()).unwrap_err().to_string();
    assert!(e.contains("body_limit"), "{e}");
}

#[test]
fn limits_table_is_complete() {
    let core = include_str!("../../moderation-core/tests/limits.rs");
    let own = include_str!("limits.rs");
    let mut names = std::collections::BTreeSet::new();
    for row in LIMITS {
        assert!(names.insert(row.limit), "`{}` is in LIMITS twice", row.limit);
        let tried = match row.test.split_once(": ") {
            Some(("service", "http_limits_at_and_past")) => CASES.iter().any(|c| c.limit == row.limit),
            Some(("service", "limit_config_bounds")) => CONFIG_CASES.iter().any(|c| c.limit == row.limit),
            Some(("service", f)) => own.contains(&format!("async fn {f}()")) || own.contains(&format!("\nfn {f}()")),
            Some(("core", f)) => core.contains(&format!("\nfn {f}()")),
            Some(("core-unit", "signals::feeds::tests::too_many_entries_are_refused")) => {
                include_str!("../../moderation-core/src/signals/feeds.rs").contains("fn too_many_entries_are_refused()")
            }
            _ => false,
        };
        assert!(tried, "`{}` names no test that tries it ({})", row.limit, row.test);
    }
    for limit in CASES.iter().map(|c| c.limit).chain(CONFIG_CASES.iter().map(|c| c.limit)) {
        assert!(names.contains(limit), "a case tries `{limit}`, which LIMITS does not list");
    }
    // The README's table, which must be this one.
    let mut table = String::from("| limit | value | where set | past it | test |\n|---|---|---|---|---|\n");
    for r in LIMITS {
        let test = match r.test.split_once(": ") {
            Some(("core", f)) => format!("`moderation-core/tests/limits.rs` `{f}`"),
            Some(("core-unit", f)) => format!("`moderation-core` unit test `{f}`"),
            Some((_, f)) => format!("`moderation-service/tests/limits.rs` `{f}`"),
            None => r.test.to_string(),
        };
        table.push_str(&format!("| {} | {} | {} | {} | {test} |\n", r.limit, r.value, r.set, r.past));
    }
    println!("{table}");
    assert!(
        include_str!("../../README.md").contains(&table),
        "the README's limits table differs from LIMITS: paste the table printed above (--no-capture)"
    );
}
