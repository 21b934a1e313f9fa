//! The package routes: `POST /packages`, `GET /packages…`, `DELETE
//! /packages/{name}/{version}`.

use std::path::Path;
use std::sync::Arc;

use cairn_api::{EntryProof, PackageAdded, PackageList, PackageSummary};
use tokio::io::AsyncWrite;

use super::{Client, Download, Progress, decode, urlencode};
use crate::error::Error;

/// A package to publish: its name, version, the file name to serve it under, its media
/// type (guessed by the registry when absent) and every detached signature, as bytes.
#[derive(Clone, Debug)]
pub struct PackageUpload {
    /// Package name.
    pub name: String,
    /// Its version (semver).
    pub version: String,
    /// The file name to serve it under.
    pub file_name: String,
    /// Its media type.
    pub media_type: Option<String>,
    /// Every detached signature (armored or binary OpenPGP, hex DER ECDSA, Ed25519).
    pub signatures: Vec<Vec<u8>>,
}

fn package_path(name: &str, version: &str) -> String {
    format!("/packages/{}/{}", urlencode(name), urlencode(version))
}

impl Client {
    /// `POST /packages`: the bytes streamed from `file`, with every signature.
    pub async fn push_package(
        &self,
        file: &Path,
        upload: &PackageUpload,
        progress: Arc<dyn Progress>,
    ) -> Result<PackageAdded, Error> {
        let url = self.url("/packages");
        let add = |mut form: reqwest::multipart::Form| {
            form = form
                .text("name", upload.name.clone())
                .text("version", upload.version.clone())
                .text("filename", upload.file_name.clone());
            if let Some(m) = &upload.media_type {
                form = form.text("media_type", m.clone());
            }
            upload.signatures.iter().fold(form, |form, s| {
                let part = reqwest::multipart::Part::bytes(s.clone()).file_name("signature");
                form.part("signature", part)
            })
        };
        let r = self.upload_form(&url, file, add, progress).await?;
        decode("POST", &url, r).await
    }

    /// `GET /packages/{name}`: its versions, newest first (`limit` of them).
    pub async fn package_versions(&self, name: &str, limit: u32) -> Result<PackageList, Error> {
        self.get_json(&format!("/packages/{}?limit={limit}", urlencode(name)))
            .await
    }

    /// `GET /packages`: every package version, by name.
    pub async fn packages(&self, limit: u32) -> Result<PackageList, Error> {
        self.get_json(&format!("/packages?limit={limit}")).await
    }

    /// `GET /packages/{name}/{version}`.
    pub async fn package(&self, name: &str, version: &str) -> Result<PackageSummary, Error> {
        self.get_json(&package_path(name, version)).await
    }

    /// `GET /packages/{name}/{version}/proof`: its log entry, inclusion proof and checkpoint.
    pub async fn package_proof(&self, name: &str, version: &str) -> Result<EntryProof, Error> {
        self.get_json(&format!("{}/proof", package_path(name, version)))
            .await
    }

    /// `GET /packages/{name}/{version}/{file}` streamed into `out`, hashed as it arrives.
    pub async fn download_package(
        &self,
        name: &str,
        version: &str,
        file: &str,
        out: &mut (impl AsyncWrite + Unpin),
        progress: &dyn Progress,
    ) -> Result<Download, Error> {
        let path = format!("{}/{}", package_path(name, version), urlencode(file));
        self.stream_to(&path, out, progress).await
    }

    /// `DELETE /packages/{name}/{version}`.
    pub async fn delete_package(&self, name: &str, version: &str) -> Result<(), Error> {
        let url = self.url(&package_path(name, version));
        let request = self.http.delete(&url).bearer_auth(self.token()?);
        self.send("DELETE", &url, request).await?;
        Ok(())
    }
}
