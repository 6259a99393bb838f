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

/// A secret in the Standard Webhooks form (the specification's example).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    /// The deprecated `X-Mash-*` headers: delivery, event, signature.
    pub legacy: (String, String, String),
    pub body: String,
}

pub(crate) type Seen = Arc<Mutex<Vec<Received>>>;

/// What the receiver answers: fail the first `n` requests with `status`.
type Failures = Arc<Mutex<(usize, StatusCode)>>;

#[handler]
#[allow(clippy::needless_pass_by_value, reason = "poem extractors are taken by value")]
fn receive(req: &poem::Request, body: String, seen: Data<&Seen>, fail_first: Data<&Failures>) -> StatusCode {
    let header = |name: &str| req.header(name).unwrap_or_default().to_owned();
    seen.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        legacy: (header("x-mash-delivery"), header("x-mash-event"), header("x-mash-signature")),
        body,
    });
    let mut left = fail_first.lock().unwrap();
    if left.0 > 0 {
        left.0 -= 1;
        left.1
    } else {
        StatusCode::NO_CONTENT
    }
}

/// A receiver on a free port that fails its first `failures` requests with a 500.
pub(crate) async fn receiver(failures: usize) -> (String, Seen) {
    receiver_answering(failures, StatusCode::INTERNAL_SERVER_ERROR).await
}

/// A receiver on a free port that answers its first `failures` requests with `status`.
async fn receiver_answering(failures: usize, status: StatusCode) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    let failing: Failures = Arc::new(Mutex::new((failures, status)));
    let app = Route::new().at("/hook", poem::post(receive)).data(seen.clone()).data(failing);
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (format!("http://{addr}/hook"), seen)
}

/// The Standard Webhooks check, written out from the specification (independently of the
/// service's code): some `v1,` signature in the header is the base64 HMAC-SHA256, keyed with
/// the secret's decoded bytes, of `"<id>.<timestamp>.<body>"`.
pub(crate) fn verify_standard(secret: &str, r: &Received, body: &str) -> bool {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use hmac::{Hmac, Mac};
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{body}", r.id, r.timestamp).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    r.signature.split(' ').any(|s| s == expected)
}

/// Both signatures check out: the standard one and the deprecated `X-Mash-Signature`.
fn verify(r: &Received, body: &str) -> bool {
    let signature = &r.legacy.2;
    let Some((t, _)) = signature.strip_prefix("t=").and_then(|s| s.split_once(",v1=")) else { return false };
    verify_standard(SECRET, r, body) && sign_webhook(SECRET, t.parse().unwrap(), body.as_bytes()) == *signature
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
    assert_eq!(seen[0].id, seen[1].id, "a retry carries the same webhook-id, so the receiver can drop repeats");
    assert_eq!(seen[0].legacy.0, seen[0].id, "the deprecated X-Mash-Delivery is the same id");
    assert_eq!(seen[0].legacy.1, "contact.decided");
    for r in &seen {
        assert!(verify(r, &r.body), "the signatures check out");
        assert!(!verify(r, &r.body.replace("early_help", "no_further_action")), "and fail for another body");
    }
    // Thin: the type, and the contact's id, reference, status and outcome; the rest is read
    // with the agency's key.
    let body: Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(body["type"], "contact.decided");
    assert_eq!(
        body["data"],
        json!({"contact_id": id, "agency_reference": "HOOK-1", "status": "decided", "outcome": "early_help"})
    );
    assert!(body["timestamp"].is_string());

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
    assert_eq!(seen[0].legacy.1, "notify_duty_manager");
    assert!(verify(&seen[0], &seen[0].body));
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!((body["type"].as_str(), body["data"]["contact_id"].as_str()), (Some("notify_duty_manager"), Some(&*id)));
    assert!(!seen[0].body.contains("Ava"), "ids only in staff notifications");

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
    .bind("a legacy plain secret")
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

#[tokio::test]
async fn a_generated_secret_is_shown_once_and_a_rotation_signs_with_both_until_the_overlap_ends() {
    let app = spawn_app().await;
    let (admin, school) = (app.admin(), app.school().agency_id().to_owned());
    let (url, seen) = receiver(0).await;
    let created: Value = admin.register_agency_webhook(&school, json!({"url": url})).await.expect(201);
    let first = created["secret"].as_str().unwrap().to_owned();
    assert!(first.starts_with("whsec_"), "{first}");
    let listed = app.school().webhook_endpoints(&[]).await.text();
    assert!(!listed.contains(&first[6..]), "never shown again");

    // A supplied secret must be in the whsec_ form; the old one keeps signing for 2 hours.
    let bad = admin.rotate_agency_secret(&school, json!({"secret": "x".repeat(40)})).await.problem(422);
    assert_eq!(bad["errors"][0]["pointer"], "/secret");
    app.school().rotate_agency_secret(&school, json!({})).await.problem(403);
    let rotated: Value = admin.rotate_agency_secret(&school, json!({"overlap_hours": 2})).await.expect(200);
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(first, second);

    app.school().test_delivery(None).await.expect(202);
    assert_eq!(app.deliver_webhooks().await, 1);
    let r = seen.lock().unwrap()[0].clone();
    assert_eq!(r.signature.split(' ').count(), 2, "two signatures during the overlap: {}", r.signature);
    assert!(verify_standard(&first, &r, &r.body) && verify_standard(&second, &r, &r.body));
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["type"], "webhook.test");
    let events = app.auditor().events(&[]).await.expect(200);
    assert_eq!(events["events"], json!([]), "a test delivery is not one of the hub's events");

    // After the overlap only the new secret signs.
    app.advance_time(TimeDelta::hours(3));
    app.school().test_delivery(None).await.expect(202);
    assert_eq!(app.deliver_webhooks().await, 1);
    let r = seen.lock().unwrap()[1].clone();
    assert_eq!(r.signature.split(' ').count(), 1);
    assert!(verify_standard(&second, &r, &r.body) && !verify_standard(&first, &r, &r.body));
    let audit = app.count(
        "select count(*) from audit_events where action in ('webhook.secret_rotated', 'webhook.test_requested')",
    );
    assert_eq!(audit.await, 3);
    let trail = app.values::<String>("select detail::text from audit_events").await.join(" ");
    assert!(!trail.contains(&second[6..]) && !trail.contains(&first[6..]), "no secret in the audit trail");
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_the_agency_and_hub_see_it() {
    let app = spawn_app().await;
    let (admin, school) = (app.admin(), app.school().agency_id().to_owned());
    let (url, seen) = receiver_answering(usize::MAX, StatusCode::GONE).await;
    admin.register_agency_webhook(&school, json!({"url": url, "secret": SECRET})).await.expect(201);
    let id = decide_one(&app).await;
    assert_eq!(app.deliver_webhooks().await, 0);
    app.advance_time(TimeDelta::days(4));
    assert_eq!(app.deliver_webhooks().await, 0);
    assert_eq!(seen.lock().unwrap().len(), 1, "never contacted again after its 410");

    let mine: Value = app.school().webhook_endpoints(&[]).await.expect(200);
    let endpoint = &mine["endpoints"][0];
    assert_eq!((endpoint["state"].as_str(), endpoint["disabled_reason"].as_str()), (Some("disabled"), Some("gone")));
    assert_eq!(endpoint["last_error"], "http_410");
    assert_eq!(endpoint["pending_deliveries"], 1, "waiting for a replacement");
    assert!(endpoint.get("secret").is_none());
    let hub: Value = admin.webhook_endpoints(&[("agency_id", &school)]).await.expect(200);
    assert_eq!(hub["endpoints"][0]["state"], "disabled");
    // Another agency sees none of it, and may not ask for the school's.
    let police: Value = app.police().webhook_endpoints(&[]).await.expect(200);
    assert_eq!(police["endpoints"], json!([]));
    app.police().webhook_endpoints(&[("agency_id", &school)]).await.problem(403);
    app.practitioner().webhook_endpoints(&[]).await.problem(403);
    let disabled = app.count("select count(*) from audit_events where action = 'webhook.disabled'").await;
    assert_eq!(disabled, 1);

    // A replacement takes the pending decision.
    let (new_url, new_seen) = receiver(0).await;
    // No live endpoint any more, so this registers the agency's first live one (201).
    admin.replace_agency_webhook(&school, json!({"url": new_url, "secret": SECRET})).await.expect(201);
    assert_eq!(app.deliver_webhooks().await, 1);
    let body: Value = serde_json::from_str(&new_seen.lock().unwrap()[0].body).unwrap();
    assert_eq!(body["data"]["contact_id"], id);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_for_about_three_days_then_the_agency_replays_the_delivery() {
    let app = spawn_app().await;
    let (admin, school) = (app.admin(), app.school().agency_id().to_owned());
    let (url, seen) = receiver(10).await;
    admin.register_agency_webhook(&school, json!({"url": url, "secret": SECRET})).await.expect(201);
    let id = decide_one(&app).await;
    // Ten attempts on the schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
    let mut tried_at = vec![];
    for _ in 0..200 {
        if app.deliver_webhooks().await == 0 && seen.lock().unwrap().len() > tried_at.len() {
            tried_at.push(app.now());
        }
        if tried_at.len() == 10 {
            break;
        }
        app.advance_time(TimeDelta::minutes(30));
    }
    assert_eq!(tried_at.len(), 10);
    let span = tried_at[9] - tried_at[0];
    assert!(span > TimeDelta::days(3) && span < TimeDelta::days(4), "{span}");
    let failing: Value = app.school().webhook_endpoints(&[]).await.expect(200);
    assert_eq!(failing["endpoints"][0]["state"], "failing");
    assert_eq!(failing["endpoints"][0]["failed_deliveries"], 1);

    let failed: Value = app.school().webhook_deliveries(&[("status", "failed")]).await.expect(200);
    let delivery = &failed["deliveries"][0];
    assert_eq!((delivery["contact_id"].as_str(), delivery["attempts"].as_i64()), (Some(&*id), Some(10)));
    let delivery_id = delivery["id"].as_str().unwrap().to_owned();
    app.police().replay_delivery(&delivery_id).await.problem(404);
    let police = app.police().webhook_deliveries(&[]).await.expect(200);
    assert_eq!(police["deliveries"], json!([]), "another agency sees none of the school's deliveries");

    // The receiver is fixed; the agency replays it: the same webhook-id, delivered.
    let replayed: Value = app.school().replay_delivery(&delivery_id).await.expect(202);
    assert_eq!(replayed["status"], "pending");
    app.school().replay_delivery(&delivery_id).await.problem(409);
    assert_eq!(app.deliver_webhooks().await, 1);
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.id, delivery_id);
    let delivered: Value = app.school().webhook_deliveries(&[]).await.expect(200);
    assert_eq!(delivered["deliveries"][0]["status"], "delivered");
    let ok: Value = app.school().webhook_endpoints(&[]).await.expect(200);
    assert_eq!(ok["endpoints"][0]["state"], "active");
    assert_eq!(app.count("select count(*) from audit_events where action = 'webhook.replayed'").await, 1);
}
