//! `/v1/webhooks` (admins): where an organization is told about its interviews, and what was
//! delivered there.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::body::Body;
use super::principal::{ClientIp, Staff};
use super::{path_id, Items};
use crate::accounts::Role;
use crate::audit;
use crate::hiring::{Page, PageRequest};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;
use crate::webhooks::{new_secret, Delivery, NewWebhook, Webhook, EVENTS, MAX_WEBHOOKS};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiWebhook {
    url: String,
    events: Vec<String>,
}

/// The endpoint's URL, if acceptable: `https` (or `http` where private endpoints are allowed),
/// a host, no credentials.
fn checked_url(raw: &str, allow_http: bool) -> Result<String, ApiError> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|_| ApiError::bad_request("url: an absolute https URL"))?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok || url.host_str().is_none() || raw.len() > 2000 {
        return Err(ApiError::bad_request("url: an absolute https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::bad_request(
            "url: no credentials in the URL (verify the signature instead)",
        ));
    }
    Ok(url.to_string())
}

/// A webhook just made: the only time `secret` is shown.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    webhook: Webhook,
    /// Signs every delivery: `Viva-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
    /// "<t>.<body>">`. Not shown again.
    secret: String,
}

/// `POST /v1/webhooks {url, events}` (admin) → 201 `{id, url, events, created_at, secret}`:
/// `secret` signs every delivery and is shown this once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = NewApiWebhook,
    responses(
        (status = 201, description = "Made; `secret` is shown this once", body = CreatedWebhook),
        (status = 409, description = "The organization has the most webhooks it may", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Body(req): Body<NewApiWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    staff.require(Role::Admin)?;
    let url = checked_url(&req.url, app.webhooks_allow_private)?;
    let mut events = req.events;
    events.sort();
    events.dedup();
    if events.is_empty() || events.iter().any(|e| !EVENTS.contains(&e.as_str())) {
        return Err(ApiError::bad_request(format!(
            "events: one or more of {}",
            EVENTS.join(", ")
        )));
    }
    if app.webhooks.webhooks_in(staff.scope()).await?.len() >= MAX_WEBHOOKS {
        return Err(ApiError::Conflict(format!(
            "an organization has at most {MAX_WEBHOOKS} webhooks; delete one first"
        )));
    }
    let secret = new_secret();
    let hook = app
        .webhooks
        .create_webhook(&NewWebhook {
            org: staff.org,
            url,
            events,
            secret_sealed: app.vault.seal(&secret),
            created_by: Some(staff.user),
        })
        .await?;
    let ip = ip.text();
    let entry = staff.record("webhook.created").target("webhook", hook.id);
    let details = json!({ "url": hook.url, "events": hook.events });
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref()).details(details)).await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: hook,
            secret,
        }),
    ))
}

/// `GET /v1/webhooks` (admin) → `{items}`, without secrets.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "The organization's webhooks, without secrets", body = Items<Webhook>)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    staff: Staff,
) -> Result<Json<Items<Webhook>>, ApiError> {
    staff.require(Role::Admin)?;
    let items = app.webhooks.webhooks_in(staff.scope()).await?;
    Ok(Json(Items { items }))
}

/// `DELETE /v1/webhooks/{id}` (admin) → 204: nothing more is sent to it.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path, description = "The webhook")),
    responses((status = 204, description = "Deleted: nothing more is sent to it")),
    security(("bearer" = [])))]
pub async fn delete(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    staff.require(Role::Admin)?;
    let id = path_id(&raw)?;
    if !app.webhooks.disable_webhook(staff.scope(), id).await? {
        return Err(ApiError::NotFound);
    }
    let ip = ip.text();
    let entry = staff.record("webhook.deleted").target("webhook", id);
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref())).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `GET /v1/webhooks/{id}/deliveries?page=&per_page=` (admin): newest first, with their status
/// (`pending`, `delivered`, `failed`), attempts, the last answer and the next try.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = Uuid, Path, description = "The webhook"), DeliveriesQuery),
    responses((status = 200, description = "A page of deliveries, newest first", body = Page<Delivery>)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<Page<Delivery>>, ApiError> {
    staff.require(Role::Admin)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    app.webhooks
        .deliveries_in(
            staff.scope(),
            path_id(&raw)?,
            PageRequest::new(q.page, q.per_page),
        )
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}
