//! Input a faulty or hostile caller sends: every kind is a clear 4xx naming what is wrong, never a
//! 500 and never half-written.

use serde_json::json;

use crate::{
    fixtures::{amber_contact, example_contact},
    helpers::spawn_app,
};

#[tokio::test]
async fn nul_characters_are_named_422s_not_database_errors() {
    let app = spawn_app().await;
    let (manager, admin) = (app.manager(), app.admin());
    let id = app.school().submit(amber_contact(app.today(), "NUL-1")).await;
    let version = manager.get_contact(&id).await.etag();

    let rerate = manager.rerate(&id, json!({"urgency": "red", "reason": "nul \u{0} here"}), None).await;
    assert_eq!(rerate.problem(422)["errors"][0]["pointer"], "/reason");
    let endpoint = json!({"url": "https://93.184.216.34/\u{0}", "secret": "a-long-shared-secret\u{0}"});
    let problem = admin.register_notification_endpoint(endpoint).await.problem(422);
    let pointers: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["/url", "/secret"], "both fields named at once");
    let note = manager.add_note(&id, json!({"body": "\u{0}"})).await;
    assert_eq!(note.problem(422)["errors"][0]["pointer"], "/body");
    let decision =
        json!({"outcome": "early_help", "rationale": "r\u{0}", "feedback": "f", "threshold_level": "early_help"});
    assert_eq!(manager.decide(&id, decision, Some(&version)).await.problem(422)["errors"][0]["pointer"], "/rationale");
    let mut contact = example_contact(app.today(), "NUL-2");
    contact["narrative"] = json!("a\u{0}b");
    assert_eq!(app.police().create_contact(&contact).await.problem(422)["errors"][0]["pointer"], "/narrative");
    // In a path: an unknown queue, not a failed query.
    assert_eq!(manager.queue_contacts("a%00b").await.status(), 404);
    assert_eq!(manager.claim_next("a%00b").await.status(), 404);

    assert_eq!(manager.get_contact(&id).await.etag(), version, "nothing was written");
    assert_eq!(app.count("select count(*) from webhook_endpoints").await, 0);
}

/// Sends the headers of a `len`-byte JSON POST and only its first kilobyte, then reads what the
/// server answers within a few seconds (`None`: it is still waiting for the body).
async fn answer_to_a_partial_body(addr: std::net::SocketAddr, path: &str, key: &str, len: usize) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n["
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all("0,".repeat(512).as_bytes()).await.unwrap();
    let mut buf = vec![0; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(3), stream.read(&mut buf)).await.ok()?.ok()?;
    Some(String::from_utf8_lossy(&buf[..read]).into_owned())
}

#[tokio::test]
async fn a_body_is_not_read_before_the_callers_role_is_checked() {
    let app = spawn_app().await;
    let thirty_mib = 30 << 20;
    // A staff key may not submit contacts: refused at once, without waiting for 30 MiB.
    let answer = answer_to_a_partial_body(app.addr, "/v1/contacts/batch", app.manager().key(), thirty_mib).await;
    assert!(answer.as_deref().is_some_and(|a| a.starts_with("HTTP/1.1 403")), "{answer:?}");
    // An agency key may not re-rate.
    let path = format!("/v1/contacts/{}/rerate", crate::fixtures::unknown_id());
    let answer = answer_to_a_partial_body(app.addr, &path, app.police().key(), 10_000).await;
    assert!(answer.as_deref().is_some_and(|a| a.starts_with("HTTP/1.1 403")), "{answer:?}");
    // The right role: the server waits for the body it will read.
    let answer = answer_to_a_partial_body(app.addr, "/v1/contacts/batch", app.police().key(), thirty_mib).await;
    assert_eq!(answer, None, "an agency's batch is read");
}

#[tokio::test]
async fn a_body_of_many_tiny_values_is_refused_before_it_swells() {
    let app = spawn_app().await;
    // 1 MiB allows 16,384 values; real contacts have a few hundred.
    let zeros = format!("[{}0]", "0,".repeat(100_000));
    let resp = app.police().request(reqwest::Method::POST, "/v1/contacts").header("content-type", "application/json");
    let problem = resp.body(zeros).send().await.problem(413);
    assert_eq!(problem["code"], "body_too_complex");
    // A real contact is far inside the budget.
    assert_eq!(app.police().create_contact(example_contact(app.today(), "BUDGET-1")).await.status(), 201);
}

#[tokio::test]
async fn a_wrong_method_is_told_the_right_ones_and_case_data_is_never_cached() {
    let app = spawn_app().await;
    let id = app.school().submit(amber_contact(app.today(), "HDR-1")).await;
    let wrong = app.manager().request(reqwest::Method::DELETE, &format!("/v1/contacts/{id}")).send().await;
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.header("allow"), Some("GET"));
    let webhook = format!("/v1/agencies/{}/webhook", app.school().agency_id());
    let wrong = app.admin().request(reqwest::Method::GET, &webhook).send().await;
    assert_eq!((wrong.status(), wrong.header("allow")), (405, Some("DELETE, POST, PUT")));
    for resp in [
        app.school().get_contact(&id).await,
        app.manager().get_contact(&id).await,
        app.anonymous().get_contact(&id).await,
    ] {
        assert_eq!(resp.header("cache-control"), Some("no-store"), "{}", resp.status());
    }
}

#[tokio::test]
async fn refused_requests_by_a_known_key_are_audited_with_the_key() {
    let app = spawn_app().await;
    let id = app.school().submit(amber_contact(app.today(), "DENY-1")).await;
    // Another agency probes the school's contact, and a practitioner tries a manager's act.
    app.police().get_contact(&id).await.problem(404);
    app.practitioner().rerate(&id, serde_json::json!({"urgency": "red", "reason": "r"}), None).await.problem(403);
    app.anonymous().get_contact(&id).await.problem(401);
    // A name typed where an id belongs is refused too, and never written down.
    app.police().get_contact("Ava%20Smith").await.problem(404);
    let denied: Vec<(String, serde_json::Value)> =
        sqlx::query_as("select actor_kind, detail from audit_events where action = 'access.denied' order by id")
            .fetch_all(app.db())
            .await
            .unwrap();
    let seen: Vec<(&str, u64)> = denied.iter().map(|(k, d)| (k.as_str(), d["status"].as_u64().unwrap())).collect();
    assert_eq!(seen, [("agency", 404), ("staff", 403), ("agency", 404)], "an anonymous caller has no key to record");
    assert_eq!(denied[0].1["route"], "/v1/contacts/{id}");
    assert_eq!(denied[0].1["ids"], serde_json::json!([id]));
    assert_eq!(denied[2].1["route"], "/v1/contacts/{other}");
    assert!(!denied[2].1.to_string().contains("Ava"), "what the caller typed is not recorded");
    let key_ids: i64 =
        app.count("select count(distinct api_key_id) from audit_events where action = 'access.denied'").await;
    assert_eq!(key_ids, 2, "each refusal names its key");
}

#[tokio::test]
async fn a_page_at_the_end_of_the_number_line_is_an_empty_page() {
    // Found by schemathesis: offset + limit overflowed and the handler panicked (a 500).
    let app = spawn_app().await;
    app.school().submit(amber_contact(app.today(), "PAGE-1")).await;
    let path = format!("/v1/queues/screening/contacts?offset={}&limit=1", i64::MAX);
    let resp = app.manager().request(reqwest::Method::GET, &path).send().await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json();
    assert_eq!(body["contacts"], serde_json::json!([]));
}

#[tokio::test]
async fn the_documented_formats_are_the_enforced_ones() {
    let app = spawn_app().await;
    // The events cursor is two numbers; anything else is a 400 naming the parameter.
    for bad in ["abc", "1.", ".1", "1.2.3", "-1.2"] {
        let problem = app.auditor().events(&[("after", bad)]).await.problem(400);
        assert_eq!(problem["code"], "invalid_parameter", "{bad}");
    }
    assert_eq!(app.auditor().events(&[("after", "0.0")]).await.status(), 200);
    // The schema allows 20 and 19 digits: a place beyond any real one is past everything.
    let beyond = "99999999999999999999.9999999999999999999";
    let past: serde_json::Value = app.auditor().events(&[("after", beyond)]).await.expect(200);
    assert_eq!(past["events"], serde_json::json!([]));
    let school = app.school();
    for bad in ["abc", "1.", ".1", "1.2.3", "-1.2"] {
        school.contact_feed(&[("after", bad)]).await.problem(400);
    }
    let past: serde_json::Value = school.contact_feed(&[("after", beyond)]).await.expect(200);
    assert_eq!((past["contacts"].clone(), past["next_after"].as_str()), (serde_json::json!([]), Some(beyond)));
    // The feedback methods are the documented ones.
    let id = app.school().submit(amber_contact(app.today(), "FMT-1")).await;
    let resp = app.manager().feedback_given(&id, serde_json::json!({"method": "carrier_pigeon"})).await;
    assert_eq!(resp.problem(422)["errors"][0]["pointer"], "/method");
}
