//! Applies [`crate::ratelimit`] to every `/v1` request before anything else is done for it:
//! 429 with `Retry-After` when over the limit, and the IETF `RateLimit-Policy` / `RateLimit`
//! headers (draft-ietf-httpapi-ratelimit-headers) on every answer, so a partner can pace itself.
//! Health probes, the spec and the docs are not limited.

use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, http::HeaderValue};

use super::problem::ApiError;
use crate::{
    ratelimit::{Caller, Verdict},
    state::AppState,
};

/// The middleware.
pub struct RateLimit(pub Arc<AppState>);

impl<E: Endpoint> Middleware<E> for RateLimit {
    type Output = RateLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RateLimitEndpoint { inner, state: self.0.clone() }
    }
}

pub struct RateLimitEndpoint<E> {
    inner: E,
    state: Arc<AppState>,
}

fn address(req: &Request) -> Caller {
    Caller::Address(req.remote_addr().as_socket_addr().map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string()))
}

/// Who is asking: the bearer token (hashed) if one is sent, else the peer address.
fn caller(req: &Request) -> Caller {
    let token = req
        .header(poem::http::header::AUTHORIZATION)
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(token) = token { Caller::key(token) } else { address(req) }
}

fn set_headers(resp: &mut Response, v: &Verdict) {
    let policy = format!("\"default\";q={};w={}", v.quota.quota, v.quota.window_seconds);
    let state = format!("\"default\";r={};t={}", v.remaining, v.reset_seconds);
    for (header, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(header, value);
        }
    }
}

fn too_many(verdict: &Verdict) -> Response {
    let mut resp = ApiError::too_many_requests(verdict.retry_after_seconds).to_response();
    set_headers(&mut resp, verdict);
    // A refusal is about this moment: no cache may answer the next try with it.
    resp.headers_mut().insert(poem::http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&verdict.retry_after_seconds.to_string()) {
        resp.headers_mut().insert(poem::http::header::RETRY_AFTER, value);
    }
    resp
}

impl<E: Endpoint> Endpoint for RateLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let state = &self.state;
        // The API, and the console's sign-in (another place a key is tried): by key or address.
        let path = req.uri().path();
        let limited =
            path.starts_with("/v1/") || (path == "/console/sign-in" && req.method() == poem::http::Method::POST);
        if !(limited && state.rate_limiter.enabled()) {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let caller = caller(&req);
        let verdict = state.rate_limiter.check(&state.redis, &caller, state.clock.now().timestamp_millis()).await;
        if !verdict.allowed {
            return Ok(too_many(&verdict));
        }
        let from = address(&req);
        let mut resp = self.inner.call(req).await.map_or_else(poem::Error::into_response, IntoResponse::into_response);
        // A key that is not a key is no key: each one refused also counts against the address, so
        // fresh random tokens (each its own bucket above) cannot buy unlimited attempts.
        if resp.status() == poem::http::StatusCode::UNAUTHORIZED && matches!(caller, Caller::Key(_)) {
            let by_address = state.rate_limiter.check(&state.redis, &from, state.clock.now().timestamp_millis()).await;
            if !by_address.allowed {
                return Ok(too_many(&by_address));
            }
        }
        set_headers(&mut resp, &verdict);
        Ok(resp)
    }
}
