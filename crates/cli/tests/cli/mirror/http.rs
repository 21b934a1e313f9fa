//! Plain HTTP against the servers, from a test thread.

use reqwest::header::HeaderMap;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// `GET base+path`: status, headers, body.
pub(crate) fn get(base: &str, path: &str) -> (u16, HeaderMap, Vec<u8>) {
    block_on(async {
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.bytes().await.unwrap().to_vec())
    })
}

/// `POST base+path` with an empty body: status and text.
pub(crate) fn post(base: &str, path: &str) -> (u16, String) {
    block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

/// `DELETE base+path`, with `token` as bearer when given: status and text.
pub(crate) fn delete(base: &str, path: &str, token: Option<&str>) -> (u16, String) {
    block_on(async {
        let mut r = reqwest::Client::new().delete(format!("{base}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

/// The value of a metric line `name[{labels}] value` in OpenMetrics text (0 when absent).
pub(crate) fn metric(text: &[u8], name: &str) -> f64 {
    String::from_utf8_lossy(text)
        .lines()
        .find(|l| l.split(' ').next() == Some(name))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}
