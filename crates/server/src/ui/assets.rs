//! The stylesheet, compiled into the binary and served under a name that carries its
//! hash, so browsers may keep it forever and a new release is fetched at once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::page::UiError;

const CSS: &str = include_str!("../../static/ui.css");

static CSS_NAME: LazyLock<String> = LazyLock::new(|| {
    let hash = hex::encode(Sha256::digest(CSS.as_bytes()));
    format!("ui.{}.css", &hash[..16])
});

static CSS_HREF: LazyLock<String> = LazyLock::new(|| format!("/ui/static/{}", *CSS_NAME));

/// Where pages link the stylesheet.
pub fn css_href() -> &'static str {
    &CSS_HREF
}

/// `GET /ui/static/{file}`: the stylesheet under its current name, nothing else.
pub async fn file(Path(file): Path<String>) -> Result<Response, UiError> {
    if file != *CSS_NAME {
        return Err(UiError::not_found("no such file"));
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        CSS,
    )
        .into_response())
}
