//! Failed access is recorded: a request refused for its role (403), or asking for a contact or
//! child its key may not see (404, which for an agency is indistinguishable from "no such
//! contact"), is logged with the key's id and written to the audit trail as `access.denied`;
//! an unauthenticated request (401) is logged. Requests are rate limited before they get here,
//! so a prober cannot grow the audit table without bound.
//!
//! The key is resolved inside each operation (the `BearerKey` scheme), so this middleware hands
//! the request a [`PrincipalSlot`] that the scheme fills in, and reads it after the answer.

use std::sync::{Arc, Mutex};

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, http::StatusCode};

use crate::{audit::Actor, state::AppState};

/// Where the bearer-key scheme leaves the actor it resolved, for this middleware to read.
#[derive(Clone, Default)]
pub struct PrincipalSlot(Arc<Mutex<Option<Actor>>>);

impl PrincipalSlot {
    /// Records the request's actor.
    pub fn fill(&self, actor: Actor) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(actor);
    }

    fn take(&self) -> Option<Actor> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}

/// The middleware.
pub struct AccessLog(pub Arc<AppState>);

impl<E: Endpoint> Middleware<E> for AccessLog {
    type Output = AccessLogEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AccessLogEndpoint { inner, state: self.0.clone() }
    }
}

pub struct AccessLogEndpoint<E> {
    inner: E,
    state: Arc<AppState>,
}

/// Whether a 404 at `path` is a refused look at case data (rather than a mistyped route).
fn is_case_lookup(path: &str) -> bool {
    path.starts_with("/v1/contacts/") || path.starts_with("/v1/children/")
}

impl<E: Endpoint> Endpoint for AccessLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let slot = PrincipalSlot::default();
        req.extensions_mut().insert(slot.clone());
        let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
        // The raw path may hold anything a caller typed (`/v1/contacts/Ava%20Smith`): only the
        // route template and the ids in it are recorded.
        let route = super::trace::route_of(&path);
        let ids: Vec<uuid::Uuid> = path.split('/').filter_map(|s| uuid::Uuid::parse_str(s).ok()).collect();
        let resp = self.inner.call(req).await.map_or_else(poem::Error::into_response, IntoResponse::into_response);
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED && path.starts_with("/v1/") {
            tracing::warn!(status = 401, "request refused: no valid key");
        }
        let denied = status == StatusCode::FORBIDDEN || (status == StatusCode::NOT_FOUND && is_case_lookup(&path));
        if denied && let Some(actor) = slot.take() {
            let key_id = actor.api_key_id.map(|k| k.to_string()).unwrap_or_default();
            tracing::warn!(status = status.as_u16(), key_id = %key_id, "request refused for this key");
            let audited =
                crate::audit::record_access_denied(&self.state, &actor, status.as_u16(), &method, &route, &ids).await;
            if let Err(err) = audited {
                // The refusal stands either way; the log line above carries the key id.
                tracing::warn!(error = %err, "could not audit a refused request");
            }
        }
        Ok(resp)
    }
}
