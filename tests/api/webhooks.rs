//! Webhooks against a real local receiver: signatures, retries after 500s, stable delivery ids,
//! and the feedback clock satisfied on delivery.

use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use poem::{
    EndpointExt, Route, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use serde_json::{Value, json};

use crate::{
    fixtures::{example_contact, green_contact},
    helpers::{Overrides, TestApp, sign_webhook, spawn_app, spawn_app_with},
};

const SECRET: &str = "a-long-shared-secret-for-tests";

/// What the receiver saw: (delivery id, event, signature, body).
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

#[handler]
#[allow(clippy::needless_pass_by_value, reason = "poem extractors are taken by value")]
fn receive(req: &poem::Request, body: String, seen: Data<&Seen>, fail_first: Data<&Arc<Mutex<usize>>>) -> StatusCode {
    let header = |name: &str| req.header(name).unwrap_or_default().to_owned();
    seen.lock().unwrap().push((header("x-mash-delivery"), header("x-mash-event"), header("x-mash-signature"), body));
    let mut left = fail_first.lock().unwrap();
    if *left > 0 {
        *left -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

/// A receiver on a free port that fails its first `failures` requests.
async fn receiver(failures: usize) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    let app = Route::new().at("/hook", poem::post(receive)).data(seen.clone()).data(Arc::new(Mutex::new(failures)));
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (format!("http://{addr}/hook"), seen)
}

fn verify(signature: &str, body: &str) -> bool {
    let Some((t, _)) = signature.strip_prefix("t=").and_then(|s| s.split_once(",v1=")) else { return false };
    sign_webhook(SECRET, t.parse().unwrap(), body.as_bytes()) == signature
}

/// A green contact from the school, claimed from the screening queue and decided (early help).
async fn decide_one(app: &TestApp) -> String {
    let id = app.school().submit(green_contact(app.today(), "HOOK-1")).await;
    let practitioner = app.practitioner();
    let tag = practitioner.claim_next("screening").await.etag();
    let decision = json!({"outcome": "early_help", "rationale": "Support needed.", "feedback": "Early help has been offered.", "threshold_level": "early_help"});
    assert_eq!(practitioner.decide(&id, decision, Some(&tag)).await.status(), 200);
    id
}

async fn clock_states(app: &TestApp, id: &str) -> Vec<(String, String)> {
    let v: Value = app.manager().clocks(id).await.json();
    v["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap().to_owned(), c["state"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_decision_is_delivered_signed_retried_after_a_500_and_then_satisfies_the_feedback_clock() {
    let app = spawn_app().await;
    let (url, seen) = receiver(1).await;
    let register =
        app.admin().register_agency_webhook(app.school().agency_id(), json!({"url": url, "secret": SECRET})).await;
    assert_eq!(register.status(), 201);
    let id = decide_one(&app).await;
    assert_eq!(
        clock_states(&app, &id).await,
        [("decision".into(), "stopped".into()), ("feedback".into(), "running".into())]
    );

    // First attempt: the receiver answers 500; the delivery is retried after a backoff.
    assert_eq!(app.deliver_webhooks().await, 0);
    let staff: Value = app.manager().get_contact(&id).await.json();
    assert_eq!(staff["deliveries"][0]["status"], "pending");
    assert_eq!(staff["deliveries"][0]["last_status"], 500);
    assert_eq!(app.deliver_webhooks().await, 0, "not due again yet");
    app.advance_time(TimeDelta::seconds(31));
    assert_eq!(app.deliver_webhooks().await, 1);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, seen[1].0, "a retry carries the same delivery id, so the receiver can drop repeats");
    assert_eq!(seen[0].1, "contact.decided");
    for (_, _, signature, body) in &seen {
        assert!(verify(signature, body), "the signature checks out");
        assert!(!verify(signature, &body.replace("early_help", "no_further_action")), "and fails for another body");
    }
    let body: Value = serde_json::from_str(&seen[1].3).unwrap();
    assert_eq!(body["data"]["outcome"], "early_help");
    assert_eq!(body["data"]["agency_reference"], "HOOK-1");
    assert!(!seen[1].3.contains("Support needed"), "the rationale is staff-only");

    assert_eq!(
        clock_states(&app, &id).await,
        [("decision".into(), "stopped".into()), ("feedback".into(), "stopped".into())]
    );
    let staff: Value = app.manager().get_contact(&id).await.json();
    assert_eq!(staff["deliveries"][0]["status"], "delivered");
    assert_eq!(app.deliver_webhooks().await, 0, "delivered once");
}

#[tokio::test]
async fn staff_notifications_go_to_hub_endpoints_and_feedback_can_be_recorded_by_hand() {
    let app = spawn_app().await;
    let (url, seen) = receiver(0).await;
    let (admin, manager, practitioner) = (app.admin(), app.manager(), app.practitioner());
    let endpoint = json!({"url": url, "secret": SECRET});
    assert_eq!(admin.register_notification_endpoint(&endpoint).await.status(), 201);
    // Only admins register endpoints, with a real URL and a long enough secret.
    let bad = admin.register_notification_endpoint(json!({"url": "ftp://x", "secret": SECRET})).await;
    assert_eq!(bad.problem(422)["errors"][0]["pointer"], "/url");
    let bad = admin.register_notification_endpoint(json!({"url": url, "secret": "short"})).await;
    assert_eq!(bad.problem(422)["errors"][0]["pointer"], "/secret");
    manager.register_notification_endpoint(&endpoint).await.problem(403);

    // A red contact: notify_duty_manager fires at receipt and is delivered to the hub endpoint.
    let id = app.police().submit(example_contact(app.today(), "RED-HOOK")).await;
    let work = app.run_pending_work().await;
    assert_eq!(work.webhooks_delivered, 1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].1, "notify_duty_manager");
    assert!(verify(&seen[0].2, &seen[0].3));
    assert!(!seen[0].3.contains("Ava"), "ids only in staff notifications");

    // No agency webhook: staff record that the referrer was told by phone.
    let tag = manager.claim_next("immediate").await.etag();
    let decision = json!({"outcome": "strategy_discussion_s47", "rationale": "r", "feedback": "A strategy discussion is being held.", "threshold_level": "early_help"});
    assert_eq!(manager.decide(&id, decision, Some(&tag)).await.status(), 200);
    assert_eq!(practitioner.feedback_given(&id, json!({"method": "phone"})).await.status(), 204);
    assert_eq!(
        clock_states(&app, &id).await,
        [("decision".into(), "stopped".into()), ("feedback".into(), "stopped".into())]
    );
    practitioner.feedback_given(&id, json!({"method": "phone"})).await.problem(404);
}

#[tokio::test]
async fn small_bodies_refuse_unknown_fields_too() {
    let app = spawn_app().await;
    let resp = app
        .admin()
        .register_notification_endpoint(json!({"url": "https://hooks.example/x", "secret": SECRET, "secrte": "typo"}))
        .await;
    // Shaped like a field name, so it is named; its value is not echoed.
    let problem = resp.problem(422);
    assert_eq!(problem["errors"], json!([{"pointer": "/secrte", "detail": "is not a recognised field"}]));
    assert!(!problem.to_string().contains("typo"));
    assert_eq!(app.count("select count(*) from webhook_endpoints").await, 0);
}

#[tokio::test]
async fn webhook_urls_must_be_public_https_unless_allow_listed() {
    let app = spawn_app_with(Overrides { allow_hosts: Some(vec![]), ..Overrides::default() }).await;
    let (admin, school) = (app.admin(), app.school());
    for url in [
        "http://127.0.0.1:5432/",
        "https://127.0.0.1:5432/",
        "https://[::1]:6379/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://2130706433/hook",
        "https://0x7f000001/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fd12::1]/hook",
        "https://localhost:6379/hook",
        "https://user:pass@93.184.216.34/hook",
        "http://93.184.216.34/hook",
        "https://no-such-host.invalid/hook",
    ] {
        let problem = admin.register_notification_endpoint(json!({"url": url, "secret": SECRET})).await.problem(422);
        assert_eq!(problem["errors"][0]["pointer"], "/url", "{url}");
        assert!(!problem.to_string().contains(url), "the URL is not echoed");
        let agency = admin.register_agency_webhook(school.agency_id(), json!({"url": url, "secret": SECRET})).await;
        assert_eq!(agency.problem(422)["errors"][0]["pointer"], "/url", "{url}");
    }
    assert_eq!(app.count("select count(*) from webhook_endpoints").await, 0);
    // A public address over HTTPS is fine (nothing is contacted at registration).
    let ok = admin.register_notification_endpoint(json!({"url": "https://93.184.216.34/hook", "secret": SECRET}));
    assert_eq!(ok.await.status(), 201);
}

#[tokio::test]
async fn an_endpoint_no_longer_allowed_is_never_contacted() {
    // Registered while 127.0.0.1 was allow-listed; the hub has since removed it.
    let app = spawn_app_with(Overrides { allow_hosts: Some(vec![]), ..Overrides::default() }).await;
    let (url, seen) = receiver(0).await;
    sqlx::query(
        "insert into webhook_endpoints (id, purpose, agency_id, url, secret, created_at)
         values (gen_random_uuid(), 'agency_feedback', $1::uuid, $2, $3, now())",
    )
    .bind(app.school().agency_id())
    .bind(&url)
    .bind(SECRET)
    .execute(app.db())
    .await
    .unwrap();
    let id = decide_one(&app).await;
    assert_eq!(app.deliver_webhooks().await, 0);
    assert!(seen.lock().unwrap().is_empty(), "the receiver was not contacted");
    let staff: Value = app.manager().get_contact(&id).await.json();
    assert_eq!(staff["deliveries"][0]["last_error"], "refused_destination");
}

/// Answers every POST with a redirect to `to`.
async fn redirector(to: String) -> String {
    #[handler]
    fn redirect(Data(to): Data<&String>) -> poem::Response {
        poem::Response::builder().status(StatusCode::TEMPORARY_REDIRECT).header("location", to.as_str()).finish()
    }
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    tokio::spawn(
        poem::Server::new_with_acceptor(acceptor).run(Route::new().at("/hook", poem::post(redirect)).data(to)),
    );
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let app = spawn_app().await;
    let (target, seen) = receiver(0).await;
    let url = redirector(target).await;
    let register =
        app.admin().register_agency_webhook(app.school().agency_id(), json!({"url": url, "secret": SECRET})).await;
    assert_eq!(register.status(), 201);
    let id = decide_one(&app).await;
    assert_eq!(app.deliver_webhooks().await, 0);
    assert!(seen.lock().unwrap().is_empty(), "the signed body did not follow the redirect");
    let staff: Value = app.manager().get_contact(&id).await.json();
    assert_eq!(staff["deliveries"][0]["last_error"], "http_307");
}

#[tokio::test]
async fn replacing_an_agency_webhook_is_explicit_and_pending_deliveries_follow_it() {
    let app = spawn_app().await;
    let (admin, school) = (app.admin(), app.school().agency_id().to_owned());
    // The first endpoint answers 500 to everything, so the decision stays pending on it.
    let (old_url, old_seen) = receiver(usize::MAX).await;
    let first: Value =
        admin.register_agency_webhook(&school, json!({"url": old_url, "secret": SECRET})).await.expect(201);
    let id = decide_one(&app).await;
    assert_eq!(app.deliver_webhooks().await, 0);
    assert_eq!(old_seen.lock().unwrap().len(), 1);

    // Registering again would silently take over the agency's feed: refused.
    let (new_url, new_seen) = receiver(0).await;
    let again = admin.register_agency_webhook(&school, json!({"url": new_url, "secret": SECRET})).await;
    assert_eq!(again.problem(409)["code"], "webhook_exists");
    app.manager().replace_agency_webhook(&school, json!({"url": new_url, "secret": SECRET})).await.problem(403);
    let replaced: Value =
        admin.replace_agency_webhook(&school, json!({"url": new_url, "secret": SECRET})).await.expect(200);
    assert_eq!(replaced["replaced"], first["id"]);
    let audit: Value = app
        .value(
            "select detail from audit_events where action = 'webhook.replaced' and detail->>'endpoint_id' = $1",
            replaced["id"].as_str().unwrap(),
        )
        .await;
    assert_eq!(audit["replaced_endpoint_id"], first["id"]);
    assert_eq!(audit["pending_deliveries_moved"], 1);

    // The pending delivery goes to the new endpoint once it is due; the old one hears nothing more.
    app.advance_time(TimeDelta::hours(2));
    assert_eq!(app.deliver_webhooks().await, 1);
    assert_eq!(new_seen.lock().unwrap().len(), 1);
    assert_eq!(old_seen.lock().unwrap().len(), 1, "the disabled endpoint received nothing more");
    let staff: Value = app.manager().get_contact(&id).await.json();
    assert_eq!(staff["deliveries"][0]["status"], "delivered");
}

#[tokio::test]
async fn a_removed_endpoint_receives_nothing_and_its_pending_deliveries_are_cancelled() {
    let app = spawn_app().await;
    let (admin, school) = (app.admin(), app.school().agency_id().to_owned());
    let (url, seen) = receiver(usize::MAX).await;
    admin.register_agency_webhook(&school, json!({"url": url, "secret": SECRET})).await.expect(201);
    let id = decide_one(&app).await;
    assert_eq!(app.deliver_webhooks().await, 0);
    assert_eq!(admin.remove_agency_webhook(&school).await.status(), 204);
    assert_eq!(admin.remove_agency_webhook(&school).await.status(), 404, "nothing left to remove");
    app.advance_time(TimeDelta::hours(2));
    assert_eq!(app.deliver_webhooks().await, 0);
    assert_eq!(seen.lock().unwrap().len(), 1, "no attempt after removal");
    let staff: Value = app.manager().get_contact(&id).await.json();
    assert_eq!(staff["deliveries"][0]["status"], "cancelled");
    assert_eq!(
        clock_states(&app, &id).await[1],
        ("feedback".into(), "running".into()),
        "staff must now tell the referrer another way"
    );

    // Staff-notification endpoints too.
    let hub: Value = admin.register_notification_endpoint(json!({"url": url, "secret": SECRET})).await.expect(201);
    let hub_id = hub["id"].as_str().unwrap();
    app.manager().remove_notification_endpoint(hub_id).await.problem(403);
    assert_eq!(admin.remove_notification_endpoint(hub_id).await.status(), 204);
    assert_eq!(admin.remove_notification_endpoint(hub_id).await.status(), 404);
    assert_eq!(app.count("select count(*) from audit_events where action = 'webhook.removed'").await, 2);
}
