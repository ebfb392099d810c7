//! Attachments, for both sides of a conversation: an upload is checked (type, size), written
//! under its contact's directory with a small JSON description beside it, and named
//! `contact/file`; a message may carry only its own contact's attachments.

use axum::{
    body::Bytes,
    http::{header, HeaderMap},
};
use serde::Deserialize;

use super::{model::Attachment, Messaging};
use crate::{error::ApiError, ids::random_hex};

/// The name a file is uploaded under (`?name=`).
#[derive(Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    pub name: Option<String>,
}

fn safe_name(name: Option<String>) -> String {
    let name: String = name
        .unwrap_or_else(|| "file".into())
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' '))
        .take(100)
        .collect();
    if name.trim().is_empty() {
        "file".into()
    } else {
        name
    }
}

/// Checks type and size, then writes the file and its description under the contact.
pub async fn store_upload(
    svc: &Messaging,
    contact: &str,
    headers: &HeaderMap,
    name: Option<String>,
    body: Bytes,
) -> Result<Attachment, ApiError> {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !svc.config.attachment_types.contains(&mime) {
        return Err(ApiError::BadRequest(format!(
            "attachment type not allowed (allowed: {})",
            svc.config.attachment_types.join(", ")
        )));
    }
    if body.len() > svc.config.max_attachment_bytes || body.is_empty() {
        return Err(ApiError::TooLarge(format!(
            "attachments must be 1 to {} bytes",
            svc.config.max_attachment_bytes
        )));
    }
    let file = random_hex(16);
    let attachment = Attachment {
        id: format!("{contact}/{file}"),
        name: safe_name(name),
        mime,
        bytes: i64::try_from(body.len()).unwrap_or(i64::MAX),
    };
    let dir = svc.attachments_dir.join(contact);
    let meta = serde_json::to_vec(&attachment).map_err(|_| ApiError::Internal)?;
    let write = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(dir.join(&file), &body).await?;
        tokio::fs::write(dir.join(format!("{file}.json")), meta).await
    };
    write.await.map_err(|e| {
        tracing::error!(error = %e, "writing attachment");
        ApiError::Internal
    })?;
    Ok(attachment)
}

pub fn valid_part(part: &str) -> bool {
    !part.is_empty() && part.len() <= 64 && part.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The stored descriptions of attachment ids, which must belong to `contact`.
pub fn resolve(
    svc: &Messaging,
    contact: &str,
    ids: &[String],
) -> Result<Vec<Attachment>, ApiError> {
    ids.iter()
        .take(10)
        .map(|id| {
            let (owner, file) = id.split_once('/').ok_or(ApiError::NotFound)?;
            if owner != contact || !valid_part(file) {
                return Err(ApiError::BadRequest("unknown attachment".into()));
            }
            let meta = std::fs::read(svc.attachments_dir.join(owner).join(format!("{file}.json")))
                .map_err(|_| ApiError::BadRequest("unknown attachment".into()))?;
            serde_json::from_slice(&meta).map_err(|_| ApiError::Internal)
        })
        .collect()
}
