//! The attestation page: what an in-toto link or DSSE envelope speaks about, who signed
//! it, and the proof of its log entry.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use cairn_api::LogEntry;
use cairn_registry::Digest;

use super::files::ProofView;
use super::page::{UiError, cached, render};
use crate::app::AppState;
use crate::handlers::log::proof_parts;

#[derive(Template)]
#[template(path = "attestation.html")]
struct AttestationPage {
    title: String,
    digest: String,
    format: String,
    subjects: Vec<String>,
    materials: Vec<String>,
    signers: Vec<String>,
    proof: ProofView,
    proof_href: String,
}

/// `GET /ui/attestations/{digest}`.
pub async fn show(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, UiError> {
    let digest = Digest::parse(&raw).ok_or_else(|| {
        UiError::bad_request("An attestation digest is 64 lowercase hex characters.")
    })?;
    let hex = digest.to_hex();
    cached(&state, format!("attestation\0{hex}"), async {
        let Some(index) = state.registry.attestation_entry(&digest).await? else {
            return Err(UiError::not_found(
                "No attestation with this digest is logged here.",
            ));
        };
        let parts = proof_parts(&state, index).await?;
        let proof = ProofView::check(
            &state,
            &parts,
            |e| matches!(e, LogEntry::Attestation { digest, .. } if *digest == hex),
        );
        let Ok(LogEntry::Attestation {
            format,
            subjects,
            materials,
            signers,
            ..
        }) = serde_json::from_slice::<LogEntry>(&parts.entry)
        else {
            return Err(UiError::from(cairn_registry::Error::Internal(format!(
                "log entry {index} is not the attestation the index says"
            ))));
        };
        render(&AttestationPage {
            title: format!("Attestation {}", &hex[..12]),
            proof_href: format!("/ui/log/entries/{index}/tlog-proof"),
            digest: hex.clone(),
            format,
            subjects,
            materials,
            signers,
            proof,
        })
    })
    .await
}
