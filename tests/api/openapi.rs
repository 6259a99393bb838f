//! The committed spec is what the code generates, and the documented schema accepts what the
//! validator produces.

use crate::helpers::spawn_app;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[tokio::test]
async fn openapi_committed_spec_matches_the_code() {
    let app = spawn_app().await;
    let generated = mash_triage::api::openapi_json(&app.state);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"), &generated).unwrap();
        return;
    }
    assert!(generated == COMMITTED, "openapi/openapi.json is stale: run `make openapi` and commit the result");
    // The same spec is served.
    let served: serde_json::Value =
        app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(served, serde_json::from_str::<serde_json::Value>(&generated).unwrap());
    assert_eq!(app.client.get(app.url("/docs")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn openapi_schema_accepts_every_validated_contact() {
    let app = spawn_app().await;
    let today =
        mash_triage::intake::Today { date: app.today(), now: mash_triage::clock::Clock::now(app.clock.as_ref()) };
    let mut contacts: Vec<serde_json::Value> =
        crate::fixtures::cases(today.date).into_iter().map(|c| c.contact).collect();
    contacts.push(crate::fixtures::example_contact(today.date, "SCHEMA-1"));
    for value in contacts {
        let contact = mash_triage::intake::validate::parse_new_contact(&value, today).unwrap();
        assert!(mash_triage::api::intake::as_request(&contact).is_some(), "schema refuses a valid contact");
    }
}
