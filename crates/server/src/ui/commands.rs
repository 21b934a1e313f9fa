//! The command lines a page offers for fetching a file: `memflowup pull` and `cairn pull`,
//! each pinned to the file's digest so that it fetches exactly what the page shows.

use axum::http::{HeaderMap, header};

/// The registry's URL as the reader reached it: the request's `Host`, when it is a plain
/// `host[:port]`; a placeholder otherwise, so a forged header never lands in a command.
pub fn registry_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_plain_host(h));
    match host {
        Some(h) => format!("http://{h}"),
        None => "http://REGISTRY".to_owned(),
    }
}

fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// `memflowup pull`: memflowup resolves `name:version`, and the registry matches a
/// version that is a digest (prefix) against the digest, which pins this one file. A
/// self-hosted registry's key is passed with `--pub-key`.
pub fn memflowup_pull(registry: &str, name: &str, digest: &str) -> String {
    format!(
        "memflowup pull --registry {registry} --pub-key PUBLISHER-KEY.pem {}:{digest}",
        shell_word(name)
    )
}

/// `cairn pull`, which checks the file against the reader's trust policy and the log.
pub fn cairn_pull(registry: &str, name: &str, digest: &str) -> String {
    format!(
        "cairn pull --registry {registry} {}:{digest}",
        shell_word(name)
    )
}

/// `word` as one shell word: as it is when it holds nothing a shell treats specially,
/// single-quoted otherwise.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+/@%".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_forged_host_never_reaches_a_command() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("reg.example:3000"));
        assert_eq!(registry_url(&headers), "http://reg.example:3000");
        headers.insert(header::HOST, HeaderValue::from_static("a;rm -rf ~"));
        assert_eq!(registry_url(&headers), "http://REGISTRY");
    }

    #[test]
    fn odd_names_are_one_shell_word() {
        assert_eq!(shell_word("coredump"), "coredump");
        assert_eq!(shell_word("a b'c"), r"'a b'\''c'");
        assert_eq!(
            cairn_pull("http://r", "x;y", "ab"),
            "cairn pull --registry http://r 'x;y':ab"
        );
    }
}
