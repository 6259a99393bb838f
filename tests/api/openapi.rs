//! The committed spec is what the code generates, and the documented schema accepts what the
//! validator produces.

use crate::helpers::spawn_app;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[tokio::test]
async fn openapi_committed_spec_matches_the_code() {
    let app = spawn_app().await;
    let generated = app.generated_openapi();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"), &generated).unwrap();
        return;
    }
    assert!(generated == COMMITTED, "openapi/openapi.json is stale: run `make openapi` and commit the result");
    // The same spec is served.
    let served: serde_json::Value = app.anonymous().openapi_json().await.json();
    assert_eq!(served, serde_json::from_str::<serde_json::Value>(&generated).unwrap());
    assert_eq!(app.anonymous().docs().await.status(), 200);
}

#[tokio::test]
async fn openapi_schema_accepts_every_validated_contact() {
    let app = spawn_app().await;
    let today = app.today();
    let mut contacts: Vec<serde_json::Value> = crate::fixtures::cases(today).into_iter().map(|c| c.contact).collect();
    contacts.push(crate::fixtures::example_contact(today, "SCHEMA-1"));
    for value in contacts {
        assert!(app.schema_accepts_validated(&value), "schema refuses a valid contact");
    }
}

#[tokio::test]
async fn if_match_is_documented_as_required_where_a_missing_one_is_428() {
    let spec: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    for path in [
        "/v1/contacts/{id}/decision",
        "/v1/contacts/{id}/assign",
        "/v1/contacts/{id}/move",
        "/v1/contacts/{id}/release",
    ] {
        let params = spec["paths"][path]["post"]["parameters"].as_array().unwrap();
        let if_match = params.iter().find(|p| p["name"] == "If-Match").unwrap();
        assert_eq!(if_match["required"], true, "{path}");
    }
}
