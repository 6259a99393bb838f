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

/// Every body is read by the strict walker, which refuses unknown fields at any depth; the spec
/// says so on each object a request body reaches, and on none of the responses.
#[tokio::test]
async fn request_bodies_are_documented_as_closed_and_responses_as_open() {
    let spec: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let mut bodies = Vec::new();
    for operations in spec["paths"].as_object().unwrap().values() {
        for operation in operations.as_object().unwrap().values() {
            if let Some(reference) = operation.pointer("/requestBody/content/application~1json/schema/$ref") {
                bodies.push(reference.as_str().unwrap().rsplit('/').next().unwrap().to_owned());
            }
        }
    }
    assert!(bodies.len() >= 10, "{bodies:?}");
    for name in ["NewContactRequest", "ChildRequest", "AdultRequest", "DecisionRequest", "EndpointRequest"] {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
    }
    for name in &bodies {
        assert_eq!(schemas[name.as_str()]["additionalProperties"], false, "{name}");
    }
    for name in ["Problem", "Contact"] {
        assert!(schemas[name].get("additionalProperties").is_none(), "{name} is a response and stays open");
    }
    // Swagger UI shows the same closed document.
    let app = spawn_app().await;
    let html = app.anonymous().docs().await.text();
    assert!(html.contains(r#""additionalProperties": false"#), "Swagger UI embeds the generated, open spec");
}
