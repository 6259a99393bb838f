//! Request tracing with ids only.
//!
//! One span per request carrying a request id, the method, the route, the status and the
//! latency. The route is the path with every segment that is not a known literal replaced:
//! UUIDs by `{id}`, anything else by `{other}`, so a path like `/v1/contacts/Ava%20Smith` is
//! logged as `/v1/contacts/{other}`. Query strings, headers and bodies are never recorded: they
//! may carry personal data. The request id is echoed in `X-Request-Id`; a caller's own id is
//! kept only when it is a UUID.

use std::{sync::Arc, time::Instant};

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument;

const REQUEST_ID: &str = "x-request-id";

/// The middleware; it also counts each request in the HTTP metrics.
pub struct RequestTrace(pub Arc<crate::metrics::Metrics>);

impl<E: Endpoint> Middleware<E> for RequestTrace {
    type Output = RequestTraceEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestTraceEndpoint { inner: ep, metrics: self.0.clone() }
    }
}

/// The wrapped endpoint.
pub struct RequestTraceEndpoint<E> {
    inner: E,
    metrics: Arc<crate::metrics::Metrics>,
}

/// The route as a metric label: [`route_of`], except that paths with more than one unknown
/// segment (nothing the service serves) share one label, so a scanner cannot grow the series.
fn route_label(route: &str) -> &str {
    if route.matches("{other}").count() > 1 || route.split('/').count() > 7 { "unmatched" } else { route }
}

/// Literal path segments of the service's routes; any other segment is replaced when logged.
const LITERAL_SEGMENTS: &[&str] = &[
    "v1",
    "contacts",
    "batch",
    "audit",
    "health",
    "live",
    "ready",
    "docs",
    "openapi.json",
    "children",
    "rerate",
    "queues",
    "clocks",
    "events",
    "claim",
    "release",
    "notes",
    "decision",
    "feedback",
    "pause",
    "resume",
    "renew",
    "assign",
    "move",
    "agencies",
    "webhook",
    "notification-endpoints",
    "feedback-given",
    "late-reason",
];

fn caller_request_id(req: &Request) -> Option<String> {
    req.header(REQUEST_ID).and_then(|id| uuid::Uuid::parse_str(id).ok()).map(|id| id.to_string())
}

/// The path with only known literals and `{id}` placeholders: safe to log.
pub(crate) fn route_of(path: &str) -> String {
    let route: Vec<&str> = path
        .split('/')
        .skip(1)
        .map(|segment| {
            if LITERAL_SEGMENTS.contains(&segment) || segment.is_empty() {
                segment
            } else if uuid::Uuid::parse_str(segment).is_ok() {
                "{id}"
            } else {
                "{other}"
            }
        })
        .collect();
    format!("/{}", route.join("/"))
}

impl<E: Endpoint> Endpoint for RequestTraceEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let request_id = caller_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let route = route_of(req.uri().path());
        let method = req.method().clone();
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            http.method = %method,
            http.route = %route,
            http.status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self.inner.call(req).instrument(span.clone()).await;
        let mut response = match result {
            Ok(resp) => resp.into_response(),
            Err(err) => err.into_response(),
        };
        let status = response.status().as_u16();
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.record("http.status", status);
        span.record("latency_ms", latency_ms);
        span.in_scope(|| tracing::info!(status, latency_ms, "request finished"));
        self.metrics.http_request(route_label(&route), method.as_str(), status, started.elapsed().as_secs_f64());
        if let Ok(value) = request_id.parse() {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::route_of;

    #[test]
    fn routes_keep_literals_and_hide_everything_else() {
        assert_eq!(route_of("/v1/contacts"), "/v1/contacts");
        assert_eq!(route_of("/v1/contacts/0193a0b4-7e6f-7c3a-9d2e-1b2c3d4e5f60"), "/v1/contacts/{id}");
        assert_eq!(route_of("/v1/contacts/Ava%20Smith"), "/v1/contacts/{other}");
        assert_eq!(route_of("/avasmith/2026-07-30"), "/{other}/{other}");
        assert_eq!(route_of("/"), "/");
    }
}
