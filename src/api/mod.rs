//! HTTP: the only module that knows about poem and poem-openapi.
//!
//! One `#[OpenApi]` struct per area ([`intake`], [`triage`], [`clocks`], [`worklist`],
//! [`webhook`], [`audit`], [`health`]), each holding the shared [`AppState`]. Handlers only
//! translate HTTP: they take typed inputs ([`security::BearerKey`], [`path::Path`],
//! [`payload::JsonBody`]), call one domain service, and let `?` turn domain errors into
//! problems ([`problem`], the one mapping). [`routes`] assembles them with Swagger UI, the spec,
//! request tracing, `Retry-After` on 503s and the conversion of every error into an RFC 9457
//! problem.

mod access;
pub mod audit;
pub mod clocks;
pub mod enums;
pub mod guide;
mod headers;
pub mod health;
pub mod intake;
pub mod path;
pub mod payload;
pub mod precondition;
pub mod problem;
mod ratelimit;
pub mod reports;
pub mod sandbox;
pub mod security;
mod trace;
pub mod triage;
pub mod webhook;
pub mod worklist;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, IntoResponse, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::state::AppState;

/// Groups of operations in the published spec.
#[derive(Tags)]
pub enum ApiTags {
    /// Submitting and reading contacts.
    Contacts,
    /// Re-rating contacts and following a child across contacts.
    Triage,
    /// Clocks in working time, and the ladder events outbox.
    Clocks,
    /// Queues, claims, notes and decisions.
    Worklist,
    /// Webhook endpoints (agencies' and the hub's), and recording that a referrer was told.
    Webhooks,
    /// The append-only audit trail.
    Audit,
    /// Management information: timeliness and outcomes reports, Ofsted's Annex A export.
    Reports,
    /// A sandbox deployment's test clocks and staff keys (404 elsewhere).
    Sandbox,
    /// Liveness and readiness probes.
    Health,
}

/// Every area's operations.
pub type Apis = (
    intake::IntakeApi,
    triage::TriageApi,
    clocks::ClocksApi,
    worklist::WorklistApi,
    webhook::WebhookApi,
    audit::AuditApi,
    reports::ReportsApi,
    sandbox::SandboxApi,
    health::HealthApi,
);

/// The service description, built from the code.
pub fn openapi_service(state: &Arc<AppState>) -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            intake::IntakeApi {
                state: state.clone(),
                coalescer: crate::intake::service::Coalescer::new(state.clone()),
            },
            triage::TriageApi { state: state.clone() },
            clocks::ClocksApi { state: state.clone() },
            worklist::WorklistApi { state: state.clone() },
            webhook::WebhookApi { state: state.clone() },
            audit::AuditApi { state: state.clone() },
            reports::ReportsApi { state: state.clone() },
            sandbox::SandboxApi { state: state.clone() },
            health::HealthApi { state: state.clone() },
        ),
        "mash-triage",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "The front door of a Multi-Agency Safeguarding Hub. Partner agencies submit contacts about \
         children and read back what happened to them; hub staff screen them. Every error is an \
         RFC 9457 problem (`application/problem+json`) that never quotes submitted personal data.\n\n\
         **Partners: start with the [integration guide](/docs/integration)**: authentication, \
         retries and `Idempotency-Key`, rate limits, webhooks (Standard Webhooks, with verification \
         in three languages), the change feed (`GET /v1/contacts`), the sandbox and its test clock \
         (`POST /v1/sandbox/clock`), and the error types.",
    )
    .license(poem_openapi::LicenseObject::new("Apache-2.0").url("https://www.apache.org/licenses/LICENSE-2.0"))
    .server(state.settings.http.public_base_url.clone())
}

/// The spec as committed under `openapi/`, served at `/openapi.json` and shown by Swagger UI:
/// pretty JSON with a trailing newline.
pub fn openapi_json(state: &Arc<AppState>) -> String {
    let mut spec = reports_in_json_and_csv(&closed_request_schemas(&openapi_service(state).spec()));
    spec.push('\n');
    spec
}

/// The reports answer one status in two media types (JSON, or CSV when asked for), which
/// poem-openapi cannot describe (a later variant of one status replaces the earlier): this
/// puts both under their 200.
fn reports_in_json_and_csv(spec: &str) -> String {
    use serde_json::{Value, json};
    let Ok(mut doc) = serde_json::from_str::<Value>(spec) else { return spec.to_owned() };
    for (path, schema) in
        [("/v1/reports/timeliness", "TimelinessResponse"), ("/v1/reports/outcomes", "OutcomesResponse")]
    {
        let pointer = format!("/paths/{}/get/responses/200", path.replace('/', "~1"));
        if let Some(ok) = doc.pointer_mut(&pointer) {
            *ok = json!({
                "description": "The report as JSON; with `Accept: text/csv`, the same figures as CSV, one per line \
                                (`section,key,name,measure,value`).",
                "content": {
                    "application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            });
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| spec.to_owned())
}

/// The spec with `additionalProperties: false` on every object schema a request body can reach.
///
/// Every body is read by the strict walker, which refuses unknown fields at any depth, so the
/// spec must say so; poem-openapi's `deny_unknown_fields` enforces without documenting it, hence
/// this one pass over the generated document. Response schemas stay open, so a client may
/// ignore fields added later.
fn closed_request_schemas(spec: &str) -> String {
    use serde_json::Value;

    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner) {
                        ("$ref", Value::String(target)) => {
                            found.extend(target.rsplit('/').next().map(str::to_owned));
                        }
                        _ => refs(inner, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|inner| refs(inner, found)),
            _ => {}
        }
    }

    let Ok(mut doc) = serde_json::from_str::<Value>(spec) else { return spec.to_owned() };
    let mut pending = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for operation in paths.values().filter_map(Value::as_object).flat_map(|ops| ops.values()) {
            if let Some(body) = operation.get("requestBody") {
                refs(body, &mut pending);
            }
        }
    }
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else {
        return spec.to_owned();
    };
    let mut closed = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !closed.insert(name.clone()) {
            continue;
        }
        let Some(schema) = schemas.get_mut(&name).and_then(Value::as_object_mut) else { continue };
        refs(&Value::Object(schema.clone()), &mut pending);
        if schema.get("type").and_then(Value::as_str) == Some("object") && schema.contains_key("properties") {
            schema.insert("additionalProperties".to_owned(), Value::Bool(false));
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| spec.to_owned())
}

/// Every route, with tracing and problem responses.
pub fn routes(state: Arc<AppState>) -> impl Endpoint {
    let retry_after = state.retry_after();
    let limits = ratelimit::RateLimit(state.clone());
    let access_log = access::AccessLog(state.clone());
    let request_trace = trace::RequestTrace(state.metrics.clone());
    let service = openapi_service(&state);
    let generated = service.spec();
    let document = openapi_json(&state);
    let response_headers = headers::ResponseHeaders::new(&generated);
    // Swagger UI embeds the document it is given; it must show the one served and committed.
    let docs_html = service.swagger_ui_html().replacen(&generated, document.trim_end(), 1);
    let docs = poem::endpoint::make_sync(move |_| poem::web::Html(docs_html.clone()));
    let guide_html = guide::page();
    let guide = poem::endpoint::make_sync(move |_| poem::web::Html(guide_html.clone()));
    let spec = poem::endpoint::make_sync(move |_| {
        poem::Response::builder().content_type("application/json").body(document.clone())
    });
    Route::new()
        .nest("/", service)
        .at("/docs/integration", poem::get(guide))
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .nest("/console", crate::console::routes(state.clone()))
        .with(sandbox::SandboxTime(state.clone()))
        .data(payload::BodyBudget::new(&state.settings.http))
        .data(state)
        // A panic becomes a logged 500 problem instead of a dropped connection.
        .with(poem::middleware::CatchPanic::new().with_handler(|_: Box<dyn std::any::Any + Send>| {
            tracing::error!("a request handler panicked");
            problem::ApiError::internal().to_response()
        }))
        .catch_all_error(|err| async move { problem::convert_error(err) })
        .with(access_log)
        .with(limits)
        .with(response_headers)
        .with(RetryAfter(retry_after))
        .with(request_trace)
}

/// The monitoring listener's routes (`metrics.listen`): `GET /metrics` in the Prometheus text
/// format. Never mounted on the partner API's address.
pub fn metrics_routes(state: Arc<AppState>) -> impl Endpoint {
    Route::new()
        .at(
            "/metrics",
            poem::get(poem::endpoint::make(move |_| {
                let state = state.clone();
                async move {
                    poem::Response::builder()
                        .content_type("text/plain; version=0.0.4; charset=utf-8")
                        .body(crate::monitoring::scrape(&state).await)
                }
            })),
        )
        .catch_all_error(|err| async move { problem::convert_error(err) })
}

/// Sets `Retry-After` on every 503 as it is rendered, from `http.retry_after_seconds`: the one
/// place the interval is decided, whichever handler or extractor found the store down.
struct RetryAfter(u32);

impl<E: Endpoint> poem::Middleware<E> for RetryAfter {
    type Output = RetryAfterEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RetryAfterEndpoint { inner, seconds: self.0.to_string() }
    }
}

struct RetryAfterEndpoint<E> {
    inner: E,
    seconds: String,
}

impl<E: Endpoint> Endpoint for RetryAfterEndpoint<E> {
    type Output = poem::Response;

    async fn call(&self, req: poem::Request) -> poem::Result<Self::Output> {
        let mut resp = self.inner.call(req).await.map_or_else(poem::Error::into_response, IntoResponse::into_response);
        if resp.status() == poem::http::StatusCode::SERVICE_UNAVAILABLE
            && let Ok(value) = poem::http::HeaderValue::from_str(&self.seconds)
        {
            resp.headers_mut().insert(poem::http::header::RETRY_AFTER, value);
        }
        Ok(resp)
    }
}
