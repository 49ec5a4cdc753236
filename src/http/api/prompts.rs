//! An organization's prompts (admins): the model instructions its interviews use — list them
//! with every version (`GET /v1/prompts`), add a version that becomes the active one (`POST
//! /v1/prompts`), make an earlier version or the server's default active again (`POST
//! /v1/prompts/{name}/activate`). Interviews take the active versions when they are made.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::body::Body;
use super::principal::{ClientIp, Staff};
use super::Items;
use crate::accounts::Role;
use crate::audit;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;
use crate::prompts::{check, PromptName, StoredPrompt};

/// One version of an organization's prompt.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PromptVersion {
    /// `interviewer`, `analyst` or `assessor`.
    pub name: String,
    /// 1, 2, … per name.
    pub version: u32,
    /// As interviews and assessments record it (`interviewer.org.v2`).
    pub label: String,
    pub active: bool,
    pub body: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<StoredPrompt> for PromptVersion {
    fn from(p: StoredPrompt) -> Self {
        Self {
            name: p.name.as_str().into(),
            label: p.name.org_label(p.version),
            version: p.version,
            active: p.active,
            body: p.body,
            created_by: p.created_by,
            created_at: p.created_at,
        }
    }
}

/// The server's default for a name (used while no version of the organization's is active).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DefaultPrompt {
    /// `interviewer.v1`: the file under `prompts/`.
    pub label: String,
    pub body: String,
}

/// A prompt name: what new interviews use, the server's default, the organization's versions.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Prompt {
    pub name: String,
    /// The label new interviews record: the active version's, else the default's.
    pub in_use: String,
    /// `{placeholder}`s the server fills in (each is replaced in every interview).
    pub placeholders: Vec<String>,
    pub default: DefaultPrompt,
    /// Newest first.
    pub versions: Vec<PromptVersion>,
}

fn prompt(name: PromptName, all: &[StoredPrompt]) -> Prompt {
    let versions: Vec<PromptVersion> = all
        .iter()
        .filter(|p| p.name == name)
        .cloned()
        .map(PromptVersion::from)
        .collect();
    let (body, label) = name.default_prompt();
    Prompt {
        name: name.as_str().into(),
        in_use: versions
            .iter()
            .find(|v| v.active)
            .map_or_else(|| label.to_owned(), |v| v.label.clone()),
        placeholders: name
            .placeholders()
            .iter()
            .map(|(p, _)| format!("{{{p}}}"))
            .collect(),
        default: DefaultPrompt {
            label: label.into(),
            body: body.into(),
        },
        versions,
    }
}

fn name_of(raw: &str) -> Result<PromptName, ApiError> {
    PromptName::parse(raw).ok_or(ApiError::NotFound)
}

/// `GET /v1/prompts` (admin) → `{items: [{name, in_use, placeholders, default, versions}]}`, one
/// item per name (`interviewer`, `analyst`, `assessor`).
#[utoipa::path(get, path = "/v1/prompts", tag = "prompts",
    responses((status = 200, description = "Every prompt name with its default and the organization's versions", body = Items<Prompt>)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    staff: Staff,
) -> Result<Json<Items<Prompt>>, ApiError> {
    staff.require(Role::Admin)?;
    let all = app.prompts.org_prompts(staff.org).await?;
    let items = PromptName::ALL
        .into_iter()
        .map(|n| prompt(n, &all))
        .collect();
    Ok(Json(Items { items }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPrompt {
    /// `interviewer`, `analyst` or `assessor`.
    pub name: String,
    /// The instructions; the interviewer's must contain `{end_marker}` and may use `{role}`,
    /// `{job_description}`, `{resume}`, `{max_questions}`; the others take no placeholders.
    pub body: String,
}

/// `POST /v1/prompts {name, body}` (admin) → 201 the new version, now the active one: new
/// interviews use it; interviews already made keep theirs.
#[utoipa::path(post, path = "/v1/prompts", tag = "prompts", request_body = NewPrompt,
    responses(
        (status = 201, description = "Stored as the name's next version and made active", body = PromptVersion),
        (status = 400, description = "Unknown name, empty or too long, or a placeholder the name does not take", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Body(req): Body<NewPrompt>,
) -> Result<(StatusCode, Json<PromptVersion>), ApiError> {
    staff.require(Role::Admin)?;
    let name = PromptName::parse(&req.name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "name: one of {}",
            PromptName::ALL.map(PromptName::as_str).join(", ")
        ))
    })?;
    check(name, &req.body).map_err(ApiError::bad_request)?;
    let stored = app
        .prompts
        .add_prompt(staff.org, name, &req.body, Some(staff.user))
        .await?;
    let ip = ip.text();
    let entry = staff
        .record("prompt.created")
        .ip(ip.as_deref())
        .target("prompt", name.as_str())
        .details(serde_json::json!({"version": stored.version, "bytes": req.body.len()}));
    audit::record(app.audit.as_ref(), entry).await;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activate {
    /// One of the organization's versions, or `null` for the server's default.
    pub version: Option<u32>,
}

/// `POST /v1/prompts/{name}/activate {version}` (admin) → 200 the name as `GET /v1/prompts` shows
/// it: `version` (or the server's default, for `null`) is what new interviews use from now.
#[utoipa::path(post, path = "/v1/prompts/{name}/activate", tag = "prompts", request_body = Activate,
    params(("name" = String, Path, description = "`interviewer`, `analyst` or `assessor`")),
    responses(
        (status = 200, description = "Active now", body = Prompt),
        (status = 404, description = "No such name, or no such version of it", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn activate(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Path(raw): Path<String>,
    Body(req): Body<Activate>,
) -> Result<Json<Prompt>, ApiError> {
    staff.require(Role::Admin)?;
    let name = name_of(&raw)?;
    if !app
        .prompts
        .activate_prompt(staff.org, name, req.version)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let ip = ip.text();
    let entry = staff
        .record("prompt.activated")
        .ip(ip.as_deref())
        .target("prompt", name.as_str())
        .details(serde_json::json!({"version": req.version}));
    audit::record(app.audit.as_ref(), entry).await;
    let all = app.prompts.org_prompts(staff.org).await?;
    Ok(Json(prompt(name, &all)))
}
