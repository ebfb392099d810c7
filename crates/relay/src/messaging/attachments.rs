//! Attachments, for both sides of a conversation: an upload is checked (type, size, the
//! quotas of [`super::quota`]), written under its contact's directory with a small JSON
//! description beside it, and named `contact/file`; a message may carry only its own contact's
//! attachments.

use axum::{
    body::Bytes,
    http::{header, HeaderMap},
};
use serde::Deserialize;

use super::{
    model::Attachment,
    quota::{disk_cost, Entry, Over, Stored},
    Messaging,
};
use crate::{
    error::ApiError,
    ids::{now_ms, random_hex},
};

/// The name a file is uploaded under (`?name=`).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name as the message shows it (`file` when absent).
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

/// Whose an upload is: the contact it is stored under, the conversation it is for, and
/// whether the guest (rather than an agent) sent it, which puts it in the guest's quotas.
pub struct Owner<'a> {
    pub contact: &'a str,
    pub conversation: &'a str,
    pub by_guest: bool,
}

/// A size for people: whole MiB or KiB where it is one, else bytes.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// What passing a quota answers: 413 naming the quota for a conversation's or a guest's, 507
/// when the whole store is full.
impl From<Over> for ApiError {
    fn from(over: Over) -> Self {
        match over {
            Over::Conversation(limit) => ApiError::TooLarge(format!(
                "the attachments of one conversation may take {} (attachment quota per \
                 conversation)",
                size(limit)
            )),
            Over::Guest(limit) => ApiError::TooLarge(format!(
                "the attachments of one guest may take {} (attachment quota per guest)",
                size(limit)
            )),
            Over::Store(limit) => ApiError::InsufficientStorage(format!(
                "the attachment store is full ({}); try again later",
                size(limit)
            )),
        }
    }
}

/// Checks type, size and quotas, then writes the file and its description under the owner's
/// contact.
pub async fn store_upload(
    svc: &Messaging,
    owner: Owner<'_>,
    headers: &HeaderMap,
    name: Option<String>,
    body: Bytes,
) -> Result<Attachment, ApiError> {
    let contact = owner.contact;
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
    let stored = Stored {
        attachment: attachment.clone(),
        conversation_id: Some(owner.conversation.to_owned()),
        by_guest: owner.by_guest,
        at_ms: now_ms(),
        kept: false,
    };
    let entry = Entry {
        id: attachment.id.clone(),
        contact: contact.to_owned(),
        conversation: stored.conversation_id.clone(),
        by_guest: owner.by_guest,
        cost: disk_cost(u64::try_from(body.len()).unwrap_or(u64::MAX)),
        at_ms: stored.at_ms,
    };
    let meta = serde_json::to_vec(&stored).map_err(|_| ApiError::Internal)?;
    svc.uploads.reserve(entry.clone())?;
    let dir = svc.attachments_dir.join(contact);
    let write = || async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(dir.join(&file), &body).await?;
        tokio::fs::write(dir.join(format!("{file}.json")), &meta).await
    };
    let mut written = write().await;
    if matches!(&written, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
        // The collector removed the contact's directory, empty, just as it was made.
        written = write().await;
    }
    if let Err(e) = written {
        tracing::error!(error = %e, "writing attachment");
        remove(svc, &entry).await;
        return Err(ApiError::Internal);
    }
    Ok(attachment)
}

/// Deletes an upload's file and description, and its count in the ledger.
pub async fn remove(svc: &Messaging, entry: &Entry) {
    let Some((contact, file)) = entry.id.split_once('/') else {
        return;
    };
    if !valid_part(contact) || !valid_part(file) {
        return;
    }
    let dir = svc.attachments_dir.join(contact);
    // Either may be missing (a half-written upload); what is there goes.
    tokio::fs::remove_file(dir.join(file)).await.ok();
    tokio::fs::remove_file(dir.join(format!("{file}.json")))
        .await
        .ok();
    // The contact's directory goes with its last file (not if another upload is writing).
    tokio::fs::remove_dir(&dir).await.ok();
    svc.uploads.forget(entry);
}

/// Marks an upload as carried by a message in its description, so it is not collected after
/// a restart either; and in the ledger.
pub async fn keep(svc: &Messaging, id: &str) {
    svc.uploads.keep(id);
    let Some((contact, file)) = id.split_once('/') else {
        return;
    };
    if !valid_part(contact) || !valid_part(file) {
        return;
    }
    let path = svc
        .attachments_dir
        .join(contact)
        .join(format!("{file}.json"));
    let Some(mut stored) = tokio::fs::read(&path)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<Stored>(&b).ok())
    else {
        return;
    };
    stored.kept = true;
    let Ok(bytes) = serde_json::to_vec(&stored) else {
        return;
    };
    // Written aside and renamed over, so a crash leaves the old description or the new one.
    let aside = path.with_extension("json.new");
    let write = async {
        tokio::fs::write(&aside, bytes).await?;
        tokio::fs::rename(&aside, &path).await
    };
    if let Err(e) = write.await {
        tracing::warn!(error = %e, "marking an attachment as kept");
    }
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
