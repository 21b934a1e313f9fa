//! What stops a server: Ctrl-C or SIGTERM.

/// Completes on Ctrl-C or SIGTERM, saying so on stderr (a failed write is dropped).
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "cairn: shutting down");
}
