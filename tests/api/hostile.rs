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
    let decision = json!({"outcome": "early_help", "rationale": "r\u{0}", "feedback": "f"});
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
