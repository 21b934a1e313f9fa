//! What every UI page shares: rendering a template into bytes, the security headers, the
//! cache of rendered pages, and error pages.

use std::fmt;

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::app::AppState;
use crate::error::ApiError;

/// The Content-Security-Policy of every UI answer: no script at all, styles and images
/// from this server only, forms only to it, and no framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A page that could not be shown: its status and what the reader is told.
#[derive(Debug)]
pub struct UiError {
    status: StatusCode,
    message: String,
}

impl UiError {
    /// An error page with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        UiError {
            status,
            message: message.into(),
        }
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A template that failed to render: a bug, logged, and a generic 500 for the reader.
    pub fn render(e: askama::Error) -> Self {
        tracing::error!(error = %e, "rendering a UI page");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError::new(e.status(), e.message())
    }
}

impl From<cairn_registry::Error> for UiError {
    fn from(e: cairn_registry::Error) -> Self {
        // The API's mapping decides the status and hides internals.
        ApiError::from(e).into()
    }
}

impl fmt::Display for UiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: String,
    message: &'a str,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            title: format!(
                "{} {}",
                self.status.as_u16(),
                self.status.canonical_reason().unwrap_or("error")
            ),
            message: &self.message,
        };
        match page.render() {
            Ok(body) => (self.status, html_type(), body).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "rendering the error page");
                (self.status, self.message).into_response()
            }
        }
    }
}

/// Renders a template into bytes, so that the page can be cached.
pub fn render(t: &impl Template) -> Result<Bytes, UiError> {
    t.render().map(Bytes::from).map_err(UiError::render)
}

fn html_type() -> [(HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    )]
}

/// A rendered page as an answer.
pub fn html(body: Bytes) -> Response {
    (html_type(), body).into_response()
}

/// Serves the page cached for `key` at the registry's current generation and log size, or
/// renders and caches it.
///
/// The log size is part of the key because on a shared log a checkpoint can be published
/// after the write that bumped the generation: pages that show proofs must follow it.
pub async fn cached(
    state: &AppState,
    key: String,
    render: impl Future<Output = Result<Bytes, UiError>>,
) -> Result<Response, UiError> {
    // Read both before rendering: a write landing meanwhile makes this entry stale.
    let generation = state.registry.generation();
    let key = format!("ui\0{}\0{key}", state.registry.log().size());
    if let Some(body) = state.cache.get(&key, generation) {
        return Ok(html(body));
    }
    let body = render.await?;
    state.cache.put(key, generation, body.clone());
    Ok(html(body))
}

/// The headers every UI answer carries, error pages and redirects included.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    set_security_headers(response.headers_mut());
    response
}

fn set_security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    // Pages change with every write; only the hashed stylesheet may be kept.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
}
