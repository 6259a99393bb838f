//! No personal data in logs or spans: capture everything the service logs at TRACE level during
//! a full submission and read, and look for the submitted personal data.

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use reqwest::Method;
use serde_json::json;
use tracing_subscriber::{EnvFilter, fmt::MakeWriter, layer::SubscriberExt};

use crate::{fixtures::example_contact, helpers::spawn_app};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs (once per process) a subscriber that records every event and span field, JSON.
fn capture() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let subscriber = tracing_subscriber::registry()
                .with(EnvFilter::new("trace"))
                .with(tracing_subscriber::fmt::layer().json().with_span_list(true).with_writer(captured.clone()));
            tracing::subscriber::set_global_default(subscriber).unwrap();
            captured
        })
        .clone()
}

#[tokio::test]
async fn logs_and_spans_never_carry_personal_data() {
    let captured = capture();
    let app = spawn_app().await;
    let today = app.today();

    let mut body = example_contact(today, "PRIV-1");
    body["children"][0]["given_name"] = json!("Zephyrine");
    body["children"][0]["family_name"] = json!("Quillfeather");
    body["children"][0]["date_of_birth"] = json!("2026-03-17");
    body["children"][0]["nhs_number"] = json!("401 023 2137");
    body["children"][0]["address"] = json!({"line1": "17 Marrowbone Lane", "town": "Elsewhere", "postcode": "ZZ9 9ZZ"});
    body["adults"][0]["given_name"] = json!("Ottoline");
    body["referrer"]["name"] = json!("Constable Brackenridge");
    body["narrative"] = json!("Neighbour reported shouting; the toddler had a graze on the knee from the stairgate.");
    let personal = [
        "Zephyrine",
        "Quillfeather",
        "2026-03-17",
        "4010232137",
        "401 023 2137",
        "Marrowbone",
        "ZZ9 9ZZ",
        "Ottoline",
        "Brackenridge",
        "stairgate",
        "1998-02-11",
    ];

    let (police, practitioner, auditor) = (app.police(), app.practitioner(), app.auditor());
    let id = police.submit(&body).await;
    assert_eq!(police.create_contact(&body).await.status(), 200);
    let mut conflicting = body.clone();
    conflicting["narrative"] = json!("Second stairgate account.");
    assert_eq!(police.create_contact(&conflicting).await.status(), 409);
    let mut invalid = body.clone();
    invalid["agency_reference"] = json!("PRIV-2");
    invalid["children"][0]["upn"] = json!("Quillfeather");
    assert_eq!(police.create_contact(&invalid).await.status(), 422);
    assert_eq!(police.get_contact(&id).await.status(), 200);
    assert_eq!(practitioner.get_contact(&id).await.status(), 200);
    assert_eq!(auditor.audit(&[("contact_id", &id)]).await.status(), 200);
    // Personal data typed into a URL or a request id.
    assert_eq!(practitioner.get_contact("Zephyrine%20Quillfeather").await.status(), 404);
    let resp = app
        .anonymous()
        .request(Method::GET, "/v1/Quillfeather/2026-03-17")
        .header("x-request-id", "Zephyrine.Quillfeather")
        .send()
        .await;
    assert_eq!(resp.status(), 404);
    assert_ne!(resp.header("x-request-id").unwrap(), "Zephyrine.Quillfeather");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The capture works: the request lines and the contact id are there.
    assert!(logs.contains("request finished"), "nothing captured");
    assert!(logs.contains(&id), "ids are logged");
    for value in personal {
        assert!(!logs.contains(value), "personal data `{value}` reached the logs");
    }
    for caller in [police, practitioner, auditor] {
        assert!(!logs.contains(caller.key()), "an API key reached the logs");
    }
}

/// A contact stored with others by a writer task is still logged under the request that sent
/// it: its "contact received" line carries that request's id.
#[tokio::test]
async fn a_contact_stored_with_others_is_logged_under_its_own_request() {
    let captured = capture();
    let app = spawn_app().await;
    let today = app.today();
    let police = &app.police();
    let requests = (0..8).map(|i| async move {
        let body = crate::fixtures::amber_contact(today, &format!("LOGGED-{i}"));
        let resp = police.create_contact(&body).await;
        assert_eq!(resp.status(), 201, "{}", resp.text());
        let id = resp.json::<serde_json::Value>()["id"].as_str().unwrap().to_owned();
        (id, resp.header("x-request-id").unwrap().to_owned())
    });
    let sent = futures_util::future::join_all(requests).await;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for (id, request_id) in sent {
        let line = logs
            .lines()
            .find(|l| l.contains("contact received") && l.contains(&id))
            .unwrap_or_else(|| panic!("no `contact received` line for {id}"));
        assert!(line.contains(&request_id), "the line for {id} does not carry its request id: {line}");
    }
}
