//! Issue #10 probe, rules: a small rule file whose named conditions expand
//! exponentially is refused at once (and the server keeps answering), and
//! a moderator scoped to some forums cannot read or validate the rule
//! layers of others — over HTTP and on the pages, on SQLite and PostgreSQL.

mod harness;

use std::sync::Arc;

use harness::{Db, T0, TestServer, hostile, http_session, post_form};
use moderation_service::clock::ManualClock;
use moderation_service::keys::Role;
use serde_json::{Value, json};

/// A named condition used a few times, as rule authors do.
const REUSE: &str = r#"[ruleset]
name = "reuse"
version = "1"

[conditions]
casino = { phrases = ["online casino", "free spins"] }
bonus = { any = [{ use = "casino" }, { phrases = ["deposit bonus"] }] }

[[rule]]
id = "spam.reuse.one"
category = "spam"
weight = 9.0
description = "Casino promotion"
action = "reject"
when = { all = [{ use = "bonus" }, { any = [{ use = "casino" }, { use = "bonus" }] }] }

[[rule]]
id = "spam.reuse.two"
category = "spam"
weight = 1.0
description = "Casino promotion, again"
when = { any = [{ use = "casino" }, { use = "casino" }] }
"#;

fn layer(name: &str, phrase: &str) -> String {
    format!(
        "[ruleset]\nname = \"{name}\"\nversion = \"1\"\n\n[[rule]]\nid = \"spam.{name}.x\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = {{ phrases = [\"{phrase}\"] }}\n"
    )
}

async fn start(db: &Db) -> TestServer {
    TestServer::start(db, harness::config(), Arc::new(ManualClock::new(T0))).await
}

fn assert_expansion_refused(status: u16, v: &Value) {
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_rules")), "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("`use = \"c0\"` expands to 1111111 conditions (limit 10000"), "{message}");
    assert_eq!(v["error"]["rule_id"], "spam.hostile0", "{v}");
}

both!(
    exponential_rules_are_refused_and_the_server_answers,
    postgres_exponential_rules_are_refused_and_the_server_answers,
    |db: Db| async move {
        let server = start(&db).await;
        let (_, moderator) = server.key(Role::Moderator, &[]).await;
        let (_, admin) = server.key(Role::Admin, &[]).await;
        let toml = hostile(7);
        assert!(toml.len() < 1500);

        // Two at once (as in the probe), with the liveness check beside them.
        let validate = |forum: &'static str| {
            let server = &server;
            let (moderator, toml) = (moderator.clone(), toml.clone());
            async move { server.call("POST", &format!("/v1/rules/validate{forum}"), Some(&moderator), Some(toml)).await }
        };
        let ((s1, v1), (s2, v2), (health, _)) =
            tokio::join!(validate(""), validate("?forum=main"), server.call("GET", "/healthz", None, None));
        assert_expansion_refused(s1, &v1);
        assert_expansion_refused(s2, &v2);
        assert_eq!(health, 200);

        let (status, v) = server.call("PUT", "/v1/rules?forum=main", Some(&admin), Some(toml.clone())).await;
        assert_expansion_refused(status, &v);
        let (_, rules) = server.call("GET", "/v1/rules", Some(&admin), None).await;
        assert!(rules["layers"].as_array().unwrap().is_empty(), "{rules}");

        // The pages' dry run refuses it the same way.
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let (session, csrf) = http_session(&client, &server.base, &moderator).await;
        let body = serde_urlencoded::to_string([
            ("csrf", csrf.as_str()),
            ("forum", "main"),
            ("toml", toml.as_str()),
            ("op", "dry-run"),
        ])
        .unwrap();
        let resp = post_form(&client, &format!("{}/ui/rules/check", server.base), &session, body).await;
        assert_eq!(resp.status().as_u16(), 400);
        let page = resp.text().await.unwrap();
        assert!(page.contains("expands to 1111111 conditions"), "{page}");

        assert_eq!(server.call("GET", "/healthz", None, None).await.0, 200);

        // Reusing a named condition a few times still works, and scores.
        let (status, v) =
            server.call("POST", "/v1/rules/validate?forum=main", Some(&moderator), Some(REUSE.into())).await;
        assert_eq!(status, 200, "{v}");
        let (status, v) = server.call("PUT", "/v1/rules?forum=main", Some(&admin), Some(REUSE.into())).await;
        assert_eq!(status, 200, "{v}");
        assert!(v["rules"].as_str().unwrap().ends_with("+reuse@1"), "{v}");
        let (_, forum) = server.key(Role::Forum, &["main"]).await;
        let post = json!({"id": "p1", "body": "Claim your free spins at the best online casino today"}).to_string();
        let (status, v) = server.call("POST", "/v1/score", Some(&forum), Some(post)).await;
        assert_eq!(status, 200, "{v}");
        let ids: Vec<&str> = v["signals"].as_array().unwrap().iter().filter_map(|s| s["id"].as_str()).collect();
        assert!(ids.contains(&"spam.reuse.one") && ids.contains(&"spam.reuse.two"), "{v}");
        assert_eq!(v["decision"], "reject", "{v}");

        server.shutdown().await;
        db.remove().await;
    }
);

both!(
    scoped_moderators_read_only_their_forums_rules,
    postgres_scoped_moderators_read_only_their_forums_rules,
    |db: Db| async move {
        let server = start(&db).await;
        let (_, admin) = server.key(Role::Admin, &[]).await;
        let (_, scoped) = server.key(Role::Moderator, &["main"]).await;
        let (_, everywhere) = server.key(Role::Moderator, &[]).await;
        for (forum, name, phrase) in
            [("", "global", "global phrase"), ("main", "main", "main phrase"), ("other", "other", "OTHERSECRET")]
        {
            let path = if forum.is_empty() { "/v1/rules".to_string() } else { format!("/v1/rules?forum={forum}") };
            let (status, v) = server.call("PUT", &path, Some(&admin), Some(layer(name, phrase))).await;
            assert_eq!(status, 200, "{v}");
        }
        let forums = |v: &Value| -> Vec<String> {
            v["layers"].as_array().unwrap().iter().map(|l| l["forum"].as_str().unwrap().to_string()).collect()
        };

        let (status, v) = server.call("GET", "/v1/rules", Some(&scoped), None).await;
        assert_eq!(status, 200, "{v}");
        let mut seen = forums(&v);
        seen.sort();
        assert_eq!(seen, ["", "main"], "{v}");
        assert!(!v.to_string().contains("OTHERSECRET"), "{v}");
        let (_, v) = server.call("GET", "/v1/rules", Some(&everywhere), None).await;
        assert_eq!(forums(&v).len(), 3, "{v}");
        let (_, v) = server.call("GET", "/v1/rules", Some(&admin), None).await;
        assert_eq!(forums(&v).len(), 3, "{v}");

        // Validating another forum's layer is refused like other scope refusals.
        let (status, v) =
            server.call("POST", "/v1/rules/validate?forum=other", Some(&scoped), Some(layer("other", "x"))).await;
        assert_eq!((status, v["error"]["code"].as_str()), (403, Some("forbidden")), "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("`other`"), "{v}");
        for path in ["/v1/rules/validate?forum=main", "/v1/rules/validate"] {
            let (status, v) = server.call("POST", path, Some(&scoped), Some(layer("mine", "x"))).await;
            assert_eq!(status, 200, "{path}: {v}");
        }
        let (status, v) =
            server.call("POST", "/v1/rules/validate?forum=other", Some(&everywhere), Some(layer("other", "x"))).await;
        assert_eq!(status, 200, "{v}");

        // The pages show the same layers, and refuse another forum's.
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let (session, csrf) = http_session(&client, &server.base, &scoped).await;
        let get = |path: &str| client.get(format!("{}{path}", server.base)).header("cookie", session.clone()).send();
        let page = get("/ui/rules").await.unwrap().text().await.unwrap();
        assert!(page.contains("/ui/rules?forum=main"), "{page}");
        assert!(!page.contains("/ui/rules?forum=other"), "{page}");
        let page = get("/ui/rules?forum=main").await.unwrap().text().await.unwrap();
        assert!(page.contains("main phrase"), "{page}");
        let resp = get("/ui/rules?forum=other").await.unwrap();
        assert_eq!(resp.status().as_u16(), 403);
        assert!(!resp.text().await.unwrap().contains("OTHERSECRET"));
        let body = serde_urlencoded::to_string([
            ("csrf", csrf.as_str()),
            ("forum", "other"),
            ("toml", layer("other", "x").as_str()),
            ("op", "dry-run"),
        ])
        .unwrap();
        let resp = post_form(&client, &format!("{}/ui/rules/check", server.base), &session, body).await;
        assert_eq!(resp.status().as_u16(), 403);
        assert!(!resp.text().await.unwrap().contains("OTHERSECRET"));

        server.shutdown().await;
        db.remove().await;
    }
);

both!(
    an_empty_forum_never_reaches_the_every_forum_layer,
    postgres_an_empty_forum_never_reaches_the_every_forum_layer,
    |db: Db| async move {
        // `PUT /v1/rules?forum=$F` with `$F` unset must not replace the
        // layer every forum gets.
        let server = start(&db).await;
        let (_, admin) = server.key(Role::Admin, &[]).await;
        let (_, scoped) = server.key(Role::Moderator, &["main"]).await;
        let body = layer("global", "casino");
        for (method, key) in [("PUT", &admin), ("DELETE", &admin), ("POST", &scoped)] {
            let path = if method == "POST" { "/v1/rules/validate?forum=" } else { "/v1/rules?forum=" };
            let (status, v) = server.call(method, path, Some(key), Some(body.clone())).await;
            assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_query")), "{method} {v}");
            assert_eq!(v["error"]["field"], "forum", "{v}");
        }
        let (_, rules) = server.call("GET", "/v1/rules", Some(&admin), None).await;
        assert_eq!(rules["layers"].as_array().unwrap().len(), 0, "nothing stored: {rules}");
        // Without `forum`, the every-forum layer is meant, and saved.
        let (status, v) = server.call("PUT", "/v1/rules", Some(&admin), Some(body)).await;
        assert_eq!(status, 200, "{v}");
        server.shutdown().await;
        db.remove().await;
    }
);
