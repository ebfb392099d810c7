//! The guest's attachment upload and attachment downloads for either side, the widget's file
//! routes, behind the widget's CORS layer:
//! - `POST /api/messaging/guest/attachments`: an upload into the guest's latest conversation;
//! - `GET  /api/messaging/attachments/{contact}/{file}`: only for the contact and agents.

use axum::{
    body::Body,
    extract::{FromRequestParts, Path, Query, Request, State},
    http::{header, HeaderMap},
    response::Response,
    Json,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    attachments::{resolve, store_upload, valid_part, Owner, UploadQuery},
    guest::{contact_of, latest_of, Guest},
    model::Attachment,
    state::{MsgState, SignedIn},
    widget_cors,
};
use crate::{clients::ClientIp, error::ApiError};

/// The upload and the download, documented, behind the CORS layer.
pub fn routes(state: MsgState) -> OpenApiRouter<MsgState> {
    OpenApiRouter::default()
        .routes(routes!(guest_upload))
        .routes(routes!(download))
        .layer(axum::middleware::from_fn_with_state(
            state,
            widget_cors::cors,
        ))
}

/// Upload an attachment as the customer
///
/// Upload an attachment (raw body, Content-Type, ?name=) to the guest's conversation; an upload no
/// message carries is deleted after a grace time
///
/// Every check that does not need the file comes before its body is read, so a refused
/// upload costs the relay no more than its head.
#[utoipa::path(post, path = "/api/messaging/guest/attachments", tag = "messaging-guest",
    operation_id = "guest_upload",
    params(UploadQuery),
    request_body(content_type = "application/octet-stream",
        description = "The file, with its type in Content-Type"),
    responses(
        (status = 200, body = Attachment, description = "{id, name, mime, bytes}"),
        (status = 400, description = "Type not allowed"),
        (status = 401, description = "No or malformed guest token"),
        (status = 409, description = "The guest has no conversation yet: send a message first"),
        (status = 413, description = "Too large, or past the quota per conversation or per \
            guest (named)"),
        (status = 429, description = "Over the guest's rate limit"),
        (status = 507, description = "The attachment store is full"),
    ),
    security(()))]
async fn guest_upload(
    State(s): State<MsgState>,
    ClientIp(client): ClientIp,
    guest: Guest,
    headers: HeaderMap,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> Result<Json<Attachment>, ApiError> {
    s.admission.message(&guest.external_id)?;
    // Files belong to a conversation: a token that never wrote has none to attach them to.
    let c = latest_of(&s.svc, &guest)
        .await?
        .ok_or_else(|| ApiError::Conflict("send a message before attaching files".into()))?;
    let max = s.svc.config.max_attachment_bytes;
    let too_large = || ApiError::TooLarge(format!("attachments must be 1 to {max} bytes"));
    // Without a length (chunked), the upload is charged as the largest allowed.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(max as u64);
    if declared > max as u64 {
        return Err(too_large());
    }
    s.admission.upload(client, declared)?;
    let body = axum::body::to_bytes(body, max)
        .await
        .map_err(|_| too_large())?;
    let owner = Owner {
        contact: &c.contact_id,
        conversation: &c.id,
        by_guest: true,
    };
    Ok(Json(
        store_upload(&s.svc, owner, &headers, q.name, body).await?,
    ))
}

/// An attachment, for signed-in agents and the contact it belongs to; 404 for anyone else
#[utoipa::path(get, path = "/api/messaging/attachments/{contact}/{file}", tag = "messaging",
    operation_id = "attachment_download",
    params(
        ("contact" = String, Path, description = "The contact it belongs to"),
        ("file" = String, Path, description = "The attachment's file"),
        ("token" = Option<String>, Query, description = "The contact's guest token (image \
            links cannot set X-Guest-Token)"),
    ),
    responses(
        (status = 200, content(("application/octet-stream")),
            description = "The file, with its own Content-Type (nosniff)"),
        (status = 404, description = "Not found or not a participant"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn download(
    State(s): State<MsgState>,
    Path((contact, file)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let agent = SignedIn::from_request_parts(&mut parts, &s).await.is_ok();
    let allowed = agent
        || match Guest::from_request_parts(&mut parts, &s).await {
            Ok(g) => contact_of(&s.svc, &g).await?.as_deref() == Some(contact.as_str()),
            Err(_) => false,
        };
    if !allowed || !valid_part(&contact) || !valid_part(&file) {
        return Err(ApiError::NotFound);
    }
    let attachment = resolve(&s.svc, &contact, &[format!("{contact}/{file}")])
        .map_err(|_| ApiError::NotFound)?
        .pop()
        .ok_or(ApiError::NotFound)?;
    let bytes = tokio::fs::read(s.svc.attachments_dir.join(&contact).join(&file))
        .await
        .map_err(|_| ApiError::NotFound)?;
    let disposition = if attachment.mime.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    Response::builder()
        .header(header::CONTENT_TYPE, attachment.mime)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "private, max-age=3600")
        .header(
            header::CONTENT_DISPOSITION,
            format!("{disposition}; filename=\"{}\"", attachment.name),
        )
        .body(Body::from(bytes))
        .map_err(|_| ApiError::Internal)
}
