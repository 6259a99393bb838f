//! Headers every answer gets from the one place that sees them all:
//! - `Cache-Control: no-store` on everything under `/v1`: answers carry case data (or say
//!   whether it exists), and no browser, proxy or gateway may keep a copy;
//! - `Allow` on a 405, listing the methods the path does accept (RFC 9110 §15.5.6), worked out
//!   from the OpenAPI description so it can never disagree with the routes.

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    http::{HeaderValue, StatusCode, header},
};

/// The middleware, with each documented path template and its methods.
pub struct ResponseHeaders {
    routes: std::sync::Arc<Vec<(Vec<String>, String)>>,
}

impl ResponseHeaders {
    /// From the service's OpenAPI document (as JSON).
    pub fn new(spec_json: &str) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec_json).unwrap_or_default();
        let routes = spec["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, ops)| {
                // Sorted, so the header does not depend on the order of the spec's keys.
                let methods: std::collections::BTreeSet<String> = ops
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(m, _)| m.to_ascii_uppercase())
                    .filter(|m| matches!(m.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE"))
                    .collect();
                let methods: Vec<String> = methods.into_iter().collect();
                (path.split('/').map(str::to_owned).collect(), methods.join(", "))
            })
            .collect();
        Self { routes: std::sync::Arc::new(routes) }
    }
}

/// The methods a concrete path accepts, if it matches a documented template.
fn allowed(routes: &[(Vec<String>, String)], path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    routes
        .iter()
        .find(|(template, _)| {
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s)
        })
        .map(|(_, methods)| methods.clone())
}

impl<E: Endpoint> Middleware<E> for ResponseHeaders {
    type Output = ResponseHeadersEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ResponseHeadersEndpoint { inner, routes: self.routes.clone() }
    }
}

pub struct ResponseHeadersEndpoint<E> {
    inner: E,
    routes: std::sync::Arc<Vec<(Vec<String>, String)>>,
}

impl<E: Endpoint> Endpoint for ResponseHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let path = req.uri().path().to_owned();
        let mut resp = self.inner.call(req).await.map_or_else(poem::Error::into_response, IntoResponse::into_response);
        if path.starts_with("/v1/") {
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED
            && let Some(methods) = allowed(&self.routes, &path)
            && let Ok(value) = HeaderValue::from_str(&methods)
        {
            resp.headers_mut().insert(header::ALLOW, value);
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_the_methods_of_the_matching_template() {
        let spec = r#"{"paths": {"/v1/contacts/{id}": {"get": {}}, "/v1/agencies/{id}/webhook": {"post": {}, "put": {}, "delete": {}}}}"#;
        let h = ResponseHeaders::new(spec);
        assert_eq!(allowed(&h.routes, "/v1/contacts/abc").as_deref(), Some("GET"));
        assert_eq!(allowed(&h.routes, "/v1/agencies/x/webhook").as_deref(), Some("DELETE, POST, PUT"));
        assert_eq!(allowed(&h.routes, "/v1/agencies/x"), None);
    }
}
