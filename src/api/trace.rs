//! Request tracing with ids only.
//!
//! One span per request carrying a request id, the method, the path (which holds only opaque
//! ids), the status and the latency. Query strings, headers and bodies are never recorded: they
//! may carry personal data. The request id is echoed in `X-Request-Id`; a caller's own id is
//! kept only when it looks like an id (up to 64 of `[A-Za-z0-9._-]`).

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument;

const REQUEST_ID: &str = "x-request-id";

/// The middleware.
pub struct RequestTrace;

impl<E: Endpoint> Middleware<E> for RequestTrace {
    type Output = RequestTraceEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestTraceEndpoint { inner: ep }
    }
}

/// The wrapped endpoint.
pub struct RequestTraceEndpoint<E> {
    inner: E,
}

fn caller_request_id(req: &Request) -> Option<String> {
    let id = req.header(REQUEST_ID)?;
    (!id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')))
    .then(|| id.to_owned())
}

impl<E: Endpoint> Endpoint for RequestTraceEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let request_id = caller_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            http.method = %req.method(),
            http.path = %req.uri().path(),
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
        if let Ok(value) = request_id.parse() {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        Ok(response)
    }
}
