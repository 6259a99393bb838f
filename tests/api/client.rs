//! The typed test client: a [`Caller`] (an agency, a member of staff, or nobody) with a method per
//! endpoint, and a [`TestResponse`] that asserts the status and decodes.
//!
//! Callers come from the `TestApp`: `app.police()`, `app.practitioner()`, `app.anonymous()`,
//! `app.caller(key)`. Bodies are JSON (anything `Serialize`, usually `json!`), ids are strings,
//! and the endpoints that take a version take `if_match`. What the methods do not send
//! (malformed bodies, other content types, streams, extra headers) goes through
//! [`Caller::request`].

use reqwest::{Method, header::HeaderMap};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

/// Someone calling the API, with their key (none for an anonymous caller).
#[derive(Clone)]
pub struct Caller {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
    agency_id: Option<String>,
}

impl Caller {
    pub fn new(http: reqwest::Client, base: String, key: Option<String>, agency_id: Option<String>) -> Self {
        Self { http, base, key, agency_id }
    }

    /// The caller's API key.
    pub fn key(&self) -> &str {
        self.key.as_deref().expect("an anonymous caller has no key")
    }

    /// The id of the caller's agency.
    pub fn agency_id(&self) -> &str {
        self.agency_id.as_deref().expect("only an agency caller has an agency id")
    }

    /// A request with this caller's key, built by hand: the escape hatch for the tests that
    /// send what the endpoint methods never would.
    pub fn request(&self, method: Method, path: &str) -> Request {
        let what = format!("{method} {path}");
        let mut builder = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = &self.key {
            builder = builder.bearer_auth(key);
        }
        Request { builder, what }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>, if_match: Option<&str>) -> TestResponse {
        let mut req = self.request(method, path);
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await
    }

    async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, None, None).await
    }

    async fn get_query(&self, path: &str, query: &[(&str, &str)]) -> TestResponse {
        self.request(Method::GET, path).query(query).send().await
    }

    async fn post(&self, path: &str, body: impl Serialize, if_match: Option<&str>) -> TestResponse {
        self.call(Method::POST, path, Some(to_json(body)), if_match).await
    }

    async fn post_empty(&self, path: &str, if_match: Option<&str>) -> TestResponse {
        self.call(Method::POST, path, None, if_match).await
    }

    // Intake.

    /// `POST /v1/contacts`.
    pub async fn create_contact(&self, contact: impl Serialize) -> TestResponse {
        self.post("/v1/contacts", contact, None).await
    }

    /// Creates a contact (201) and returns its id.
    pub async fn submit(&self, contact: impl Serialize) -> String {
        let created = self.create_contact(contact).await.created();
        created["id"].as_str().expect("a created contact has an id").to_owned()
    }

    /// `GET /v1/contacts`: the agency's change feed.
    pub async fn contact_feed(&self, query: &[(&str, &str)]) -> TestResponse {
        self.get_query("/v1/contacts", query).await
    }

    /// `POST /v1/contacts/batch` with these contacts.
    pub async fn create_contacts(&self, contacts: &[Value]) -> TestResponse {
        self.post("/v1/contacts/batch", json!({ "contacts": contacts }), None).await
    }

    /// `GET /v1/contacts/{id}`.
    pub async fn get_contact(&self, id: &str) -> TestResponse {
        self.get(&format!("/v1/contacts/{id}")).await
    }

    // Triage.

    /// `POST /v1/contacts/{id}/rerate`.
    pub async fn rerate(&self, id: &str, body: impl Serialize, if_match: Option<&str>) -> TestResponse {
        self.post(&format!("/v1/contacts/{id}/rerate"), body, if_match).await
    }

    /// `GET /v1/children/{id}/contacts`.
    pub async fn child_contacts(&self, child_id: &str) -> TestResponse {
        self.get(&format!("/v1/children/{child_id}/contacts")).await
    }

    // Clocks.

    /// `GET /v1/contacts/{id}/clocks`.
    pub async fn clocks(&self, id: &str) -> TestResponse {
        self.get(&format!("/v1/contacts/{id}/clocks")).await
    }

    /// `POST /v1/contacts/{id}/clocks/{kind}/pause`.
    pub async fn pause_clock(&self, id: &str, kind: &str, body: impl Serialize) -> TestResponse {
        self.post(&format!("/v1/contacts/{id}/clocks/{kind}/pause"), body, None).await
    }

    /// `POST /v1/contacts/{id}/clocks/{kind}/resume`.
    pub async fn resume_clock(&self, id: &str, kind: &str) -> TestResponse {
        self.post_empty(&format!("/v1/contacts/{id}/clocks/{kind}/resume"), None).await
    }

    /// `GET /v1/events` with query parameters (`after`, `limit`).
    pub async fn events(&self, query: &[(&str, &str)]) -> TestResponse {
        self.get_query("/v1/events", query).await
    }

    // Worklist.

    /// `GET /v1/queues`.
    pub async fn queues(&self) -> TestResponse {
        self.get("/v1/queues").await
    }

    /// `GET /v1/queues/{queue}/contacts`.
    pub async fn queue_contacts(&self, queue: &str) -> TestResponse {
        self.get(&format!("/v1/queues/{queue}/contacts")).await
    }

    /// `POST /v1/queues/{queue}/claim`: the next contact in the queue (204 when there is none).
    pub async fn claim_next(&self, queue: &str) -> TestResponse {
        self.post_empty(&format!("/v1/queues/{queue}/claim"), None).await
    }

    /// `POST /v1/contacts/{id}/claim`: this contact.
    pub async fn claim(&self, id: &str) -> TestResponse {
        self.post_empty(&format!("/v1/contacts/{id}/claim"), None).await
    }

    /// `POST /v1/contacts/{id}/claim/renew`.
    pub async fn renew_claim(&self, id: &str) -> TestResponse {
        self.post_empty(&format!("/v1/contacts/{id}/claim/renew"), None).await
    }

    /// `POST /v1/contacts/{id}/release`.
    pub async fn release(&self, id: &str, if_match: Option<&str>) -> TestResponse {
        self.post_empty(&format!("/v1/contacts/{id}/release"), if_match).await
    }

    /// `POST /v1/contacts/{id}/assign`.
    pub async fn assign(&self, id: &str, body: impl Serialize, if_match: Option<&str>) -> TestResponse {
        self.post(&format!("/v1/contacts/{id}/assign"), body, if_match).await
    }

    /// `POST /v1/contacts/{id}/move`.
    pub async fn move_to_queue(&self, id: &str, body: impl Serialize, if_match: Option<&str>) -> TestResponse {
        self.post(&format!("/v1/contacts/{id}/move"), body, if_match).await
    }

    /// `POST /v1/contacts/{id}/notes`.
    pub async fn add_note(&self, id: &str, body: impl Serialize) -> TestResponse {
        self.post(&format!("/v1/contacts/{id}/notes"), body, None).await
    }

    /// `POST /v1/contacts/{id}/decision`.
    pub async fn decide(&self, id: &str, body: impl Serialize, if_match: Option<&str>) -> TestResponse {
        self.post(&format!("/v1/contacts/{id}/decision"), body, if_match).await
    }

    /// `POST /v1/contacts/{id}/decision/authorise`.
    pub async fn authorise(&self, id: &str, if_match: Option<&str>) -> TestResponse {
        self.post_empty(&format!("/v1/contacts/{id}/decision/authorise"), if_match).await
    }

    /// `POST /v1/contacts/{id}/decision/send-back`.
    pub async fn send_back(&self, id: &str, body: impl Serialize, if_match: Option<&str>) -> TestResponse {
        self.post(&format!("/v1/contacts/{id}/decision/send-back"), body, if_match).await
    }

    /// `GET /v1/decisions/awaiting-authorisation`.
    pub async fn awaiting_authorisation(&self) -> TestResponse {
        self.get("/v1/decisions/awaiting-authorisation").await
    }

    /// A report (`timeliness` or `outcomes`) as JSON, with query parameters.
    pub async fn report(&self, name: &str, query: &[(&str, &str)]) -> TestResponse {
        self.get_query(&format!("/v1/reports/{name}"), query).await
    }

    // Webhooks and notifications.

    /// `POST /v1/agencies/{id}/webhook`.
    pub async fn register_agency_webhook(&self, agency_id: &str, body: impl Serialize) -> TestResponse {
        self.post(&format!("/v1/agencies/{agency_id}/webhook"), body, None).await
    }

    /// `PUT /v1/agencies/{id}/webhook`.
    pub async fn replace_agency_webhook(&self, agency_id: &str, body: impl Serialize) -> TestResponse {
        self.call(Method::PUT, &format!("/v1/agencies/{agency_id}/webhook"), Some(to_json(body)), None).await
    }

    /// `DELETE /v1/agencies/{id}/webhook`.
    pub async fn remove_agency_webhook(&self, agency_id: &str) -> TestResponse {
        self.call(Method::DELETE, &format!("/v1/agencies/{agency_id}/webhook"), None, None).await
    }

    /// `DELETE /v1/notification-endpoints/{id}`.
    pub async fn remove_notification_endpoint(&self, id: &str) -> TestResponse {
        self.call(Method::DELETE, &format!("/v1/notification-endpoints/{id}"), None, None).await
    }

    /// `POST /v1/agencies/{id}/webhook/rotate-secret`.
    pub async fn rotate_agency_secret(&self, agency_id: &str, body: impl Serialize) -> TestResponse {
        self.post(&format!("/v1/agencies/{agency_id}/webhook/rotate-secret"), body, None).await
    }

    /// `GET /v1/webhook-endpoints`.
    pub async fn webhook_endpoints(&self, query: &[(&str, &str)]) -> TestResponse {
        self.get_query("/v1/webhook-endpoints", query).await
    }

    /// `GET /v1/webhook-deliveries`.
    pub async fn webhook_deliveries(&self, query: &[(&str, &str)]) -> TestResponse {
        self.get_query("/v1/webhook-deliveries", query).await
    }

    /// `POST /v1/webhook-deliveries/test` (staff give `?agency_id=`).
    pub async fn test_delivery(&self, agency_id: Option<&str>) -> TestResponse {
        match agency_id {
            Some(a) => self.post_empty(&format!("/v1/webhook-deliveries/test?agency_id={a}"), None).await,
            None => self.post_empty("/v1/webhook-deliveries/test", None).await,
        }
    }

    /// `POST /v1/webhook-deliveries/{id}/replay`.
    pub async fn replay_delivery(&self, id: &str) -> TestResponse {
        self.post_empty(&format!("/v1/webhook-deliveries/{id}/replay"), None).await
    }

    /// `POST /v1/sandbox/clock`.
    pub async fn advance_test_clock(&self, to: &str) -> TestResponse {
        self.post("/v1/sandbox/clock", json!({ "advance_to": to }), None).await
    }

    /// `GET /v1/sandbox/clock`.
    pub async fn test_clock(&self) -> TestResponse {
        self.get("/v1/sandbox/clock").await
    }

    /// `POST /v1/sandbox/staff-keys`.
    pub async fn sandbox_staff_key(&self, role: &str) -> TestResponse {
        self.post("/v1/sandbox/staff-keys", json!({ "role": role }), None).await
    }

    /// `POST /v1/notification-endpoints`.
    pub async fn register_notification_endpoint(&self, body: impl Serialize) -> TestResponse {
        self.post("/v1/notification-endpoints", body, None).await
    }

    /// `POST /v1/contacts/{id}/feedback-given`.
    pub async fn feedback_given(&self, id: &str, body: impl Serialize) -> TestResponse {
        self.post(&format!("/v1/contacts/{id}/feedback-given"), body, None).await
    }

    // Audit.

    /// `GET /v1/audit` with query parameters (`contact_id`, `after`, `limit`).
    pub async fn audit(&self, query: &[(&str, &str)]) -> TestResponse {
        self.get_query("/v1/audit", query).await
    }

    // Health and the spec.

    /// `GET /health/live`.
    pub async fn live(&self) -> TestResponse {
        self.get("/health/live").await
    }

    /// `GET /health/ready`.
    pub async fn ready(&self) -> TestResponse {
        self.get("/health/ready").await
    }

    /// `GET /openapi.json`.
    pub async fn openapi_json(&self) -> TestResponse {
        self.get("/openapi.json").await
    }

    /// `GET /docs`.
    pub async fn docs(&self) -> TestResponse {
        self.get("/docs").await
    }
}

fn to_json(body: impl Serialize) -> Value {
    serde_json::to_value(body).expect("a request body serialises to JSON")
}

/// A request built by hand (see [`Caller::request`]).
pub struct Request {
    builder: reqwest::RequestBuilder,
    what: String,
}

impl Request {
    pub fn header(self, name: &str, value: &str) -> Self {
        Self { builder: self.builder.header(name, value), ..self }
    }

    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        Self { builder: self.builder.body(body), ..self }
    }

    pub fn json(self, body: &Value) -> Self {
        Self { builder: self.builder.json(body), ..self }
    }

    pub fn query(self, query: &[(&str, &str)]) -> Self {
        Self { builder: self.builder.query(query), ..self }
    }

    /// Sends it and reads the whole response.
    pub async fn send(self) -> TestResponse {
        let resp = self.builder.send().await.unwrap_or_else(|err| panic!("{}: {err}", self.what));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap_or_else(|err| panic!("{}: reading the body: {err}", self.what)).to_vec();
        TestResponse { what: self.what, status, headers, body }
    }
}

/// A response, read whole.
pub struct TestResponse {
    /// The request, for failure messages.
    what: String,
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl TestResponse {
    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("a header readable as text"))
    }

    /// The `ETag` header, which must be there.
    pub fn etag(&self) -> String {
        self.header("etag").unwrap_or_else(|| panic!("{}: no ETag", self.what)).to_owned()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body decoded from JSON, whatever the status.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("{} ({}): not the expected JSON ({err}): {}", self.what, self.status, self.text())
        })
    }

    /// Asserts the status (printing the body if it differs) and returns the JSON body (null
    /// when there is none).
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}: unexpected status: {}", self.what, self.text());
        if self.body.is_empty() { Value::Null } else { self.json() }
    }

    /// [`expect`](Self::expect) 200.
    pub fn ok(&self) -> Value {
        self.expect(200)
    }

    /// [`expect`](Self::expect) 201.
    pub fn created(&self) -> Value {
        self.expect(201)
    }

    /// Asserts a problem response (`application/problem+json` with `status`, `type`, `title`,
    /// `detail` and `code`) and returns its body.
    pub fn problem(&self, status: u16) -> Value {
        let body = self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}: problem responses are application/problem+json",
            self.what
        );
        assert_eq!(body["status"], status);
        for field in ["type", "title", "detail", "code"] {
            assert!(body[field].is_string(), "problem has `{field}`: {body}");
        }
        body
    }
}
