//! The API's OpenAPI 3.1 document, generated from the code: each handler's `#[utoipa::path]`
//! attribute describes it, and [`api_routes`] registers handlers only through `routes!`, which
//! adds the route to the router and to the document together — a route cannot be served without
//! being documented. Served at `/openapi.json`; `/docs` renders it with Swagger UI, embedded in
//! the binary (nothing is fetched from a CDN or at build time).
//!
//! The per-operation error answers that follow from an operation's shape (401/403 for a signed-in
//! one, 404 for one that names a resource, 400 for one that reads input, and the envelope for any
//! other status) are added by [`Errors`] rather than repeated in every attribute.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api;
use super::error::ErrorBody;
use super::headers::CSP;
use super::ws;
use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Viva API",
        description = "Recruiters' REST API v1 and the interview streams. Errors come in one \
            envelope, `{\"error\": {\"code\", \"message\", \"details\"}}`; another organization's \
            resource is a 404. Times are UTC RFC 3339; ids are UUIDs. The WebSocket protocol is \
            in docs/protocol.md, the API's guide in docs/api.md.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Sign-in sessions: tokens, refresh, sign-out, invitations"),
        (name = "users", description = "The organization's staff (admins)"),
        (name = "jobs", description = "Job postings"),
        (name = "candidates", description = "The people interviewed, their résumés and data"),
        (name = "interviews", description = "Interviews: made, listed, read, cancelled, re-linked"),
        (name = "candidate", description = "What a candidate's token opens besides the stream"),
        (name = "streams", description = "WebSockets: the candidate's stream and staff monitors"),
        (name = "organization", description = "Settings, notice, audit log, provider keys (admins)"),
        (name = "api-keys", description = "Service accounts for an ATS or a script (admins)"),
        (name = "webhooks", description = "Signed notifications and their deliveries (admins)"),
        (name = "prompts", description = "The model instructions the organization's interviews use (admins)"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
struct ApiDoc;

/// Every route of the API and the streams, each registered with its documentation (then the
/// errors every operation of its kind has; see [`Errors`]).
pub fn api_routes() -> OpenApiRouter<AppState> {
    use api::interview_record;
    use api::{candidate, candidate_history, candidates, interview_cancel, interview_notes};
    use api::{interview_assessment, interview_plan, interview_recordings, interviews};
    use api::{jobs, keys, org, prompts, question_banks, sessions, users, webhooks};
    let resume = OpenApiRouter::new()
        .routes(routes!(candidates::upload_resume))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::hiring::resume::MAX_FILE + 64 * 1024,
        ));
    let banks = OpenApiRouter::new()
        .routes(routes!(
            question_banks::import_bank,
            question_banks::list_banks
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            question_banks::MAX_BANK_BYTES,
        ));
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api::health))
        .routes(routes!(api::ready))
        .routes(routes!(super::metrics::metrics))
        .routes(routes!(sessions::login))
        .routes(routes!(sessions::refresh))
        .routes(routes!(sessions::logout))
        .routes(routes!(sessions::me))
        .routes(routes!(users::accept_invite))
        .routes(routes!(users::create, users::list))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(users::password_reset))
        .routes(routes!(jobs::create, jobs::list))
        .routes(routes!(jobs::get, jobs::update, jobs::delete))
        .routes(routes!(candidates::create, candidates::list))
        .routes(routes!(
            candidates::get,
            candidates::update,
            candidates::delete
        ))
        .routes(routes!(candidates::export))
        .routes(routes!(candidate_history::history))
        .merge(resume)
        .merge(banks)
        .routes(routes!(question_banks::get_bank))
        .routes(routes!(prompts::list, prompts::create))
        .routes(routes!(prompts::activate))
        .routes(routes!(interviews::create, interviews::list))
        .routes(routes!(interviews::get))
        .routes(routes!(interview_record::transcript))
        .routes(routes!(interview_plan::plan))
        .routes(routes!(interview_assessment::get_assessment))
        .routes(routes!(interview_assessment::regenerate))
        .routes(routes!(interview_record::events))
        .routes(routes!(interview_cancel::cancel))
        .routes(routes!(
            interview_notes::list_notes,
            interview_notes::add_note
        ))
        .routes(routes!(interview_recordings::list_recordings))
        .routes(routes!(interview_recordings::get_recording))
        .routes(routes!(interviews::reinvite))
        .routes(routes!(candidate::ticket))
        .routes(routes!(candidate::notice))
        .routes(routes!(candidate::consent))
        .routes(routes!(ws::candidate::stream))
        .routes(routes!(ws::realtime::realtime))
        .routes(routes!(ws::monitor::monitor))
        .routes(routes!(ws::live::live))
        .routes(routes!(org::get, org::update))
        .routes(routes!(org::notice, org::put_notice))
        .routes(routes!(org::audit_log))
        .routes(routes!(org::provider_keys))
        .routes(routes!(org::put_provider_key, org::delete_provider_key))
        .routes(routes!(keys::create, keys::list))
        .routes(routes!(keys::revoke))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::deliveries));
    Errors.modify(router.get_openapi_mut());
    router
}

/// The API's document, as `/openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// `/openapi.json` (the document) and `/docs` (Swagger UI, embedded).
pub fn doc_routes<S: Clone + Send + Sync + 'static>(doc: utoipa::openapi::OpenApi) -> Router<S> {
    let json = std::sync::Arc::new(doc.to_json().expect("the API document serializes"));
    let ui = utoipa_swagger_ui::SwaggerUi::new("/docs").config(
        utoipa_swagger_ui::Config::from("/openapi.json")
            .try_it_out_enabled(false)
            .display_operation_id(false),
    );
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.as_str().to_owned(),
                    )
                }
            }),
        )
        .merge(Router::<S>::from(ui))
        .layer(axum::middleware::map_response(docs_csp))
}

/// Swagger UI sets inline styles: the docs pages allow them (and nothing else more than the
/// rest of the site).
async fn docs_csp(mut res: Response) -> Response {
    let csp = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");
    if let Ok(v) = header::HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res.into_response()
}

/// The security schemes the attributes name.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let bearer = |format: &str, description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format(format)
                    .description(Some(description))
                    .build(),
            )
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            bearer(
                "JWT or API key",
                "A staff access token from `POST /v1/auth/login` (15 minutes; refresh it), or an \
                 API key from `POST /v1/api-keys`. On a WebSocket, send it as the subprotocol \
                 `bearer.<token>` beside `viva.v1`.",
            ),
        );
        components.add_security_scheme(
            "candidate",
            bearer(
                "JWT",
                "The candidate's token, from the fragment of the invite link. On the stream, \
                 send it as the subprotocol `bearer.<token>` beside `viva.v1`, or use a ticket.",
            ),
        );
        components.add_security_scheme(
            "monitor",
            bearer(
                "JWT",
                "A monitor token from `viva interview create`, as the subprotocol \
                 `bearer.<token>` beside `viva.v1`.",
            ),
        );
        components.add_security_scheme(
            "metrics",
            bearer(
                "opaque",
                "`VIVA_METRICS_TOKEN`, when set; otherwise loopback clients need none.",
            ),
        );
    }
}

/// The error answers every operation of a kind has, in the envelope; and operation ids unique
/// across the document (`<tag>_<handler>`: handlers of different resources share names).
struct Errors;

impl Modify for Errors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let names_resource = path.contains('{');
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add_errors(op, names_resource);
            }
        }
    }
}

fn add_errors(op: &mut Operation, names_resource: bool) {
    if let (Some(tag), Some(id)) = (
        op.tags.as_ref().and_then(|t| t.first()),
        op.operation_id.as_ref(),
    ) {
        op.operation_id = Some(format!("{}_{id}", tag.replace('-', "_")));
    }
    // A WebSocket upgrade is refused after the upgrade, with a close code (docs/protocol.md).
    let upgrade = op.responses.responses.contains_key("101");
    let signed_in = op.security.as_ref().is_some_and(|reqs| {
        serde_json::to_value(reqs)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .any(|r| r.get("bearer").is_some() || r.get("candidate").is_some())
    });
    let reads_input = op.request_body.is_some()
        || op.parameters.as_ref().is_some_and(|p| {
            serde_json::to_value(p)
                .ok()
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .any(|p| p["in"] == "query")
        });
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build()
                    .into()
            });
    };
    if reads_input && !upgrade {
        add(
            "400",
            "`VALIDATION_ERROR`: the body or a parameter is malformed, has an unknown field or \
             a value out of range (the message says which)",
        );
    }
    if signed_in && !upgrade {
        add(
            "401",
            "`AUTHENTICATION_ERROR`: no credentials, or ones that are expired, revoked or forged",
        );
        add(
            "403",
            "`AUTHORIZATION_ERROR`: the caller's role may not do this",
        );
    }
    if names_resource && !upgrade {
        add(
            "404",
            "`NOT_FOUND`: no such resource in the caller's organization (another \
             organization's is not found either)",
        );
    }
    add(
        "default",
        "Any other error, in the envelope (`RATE_LIMIT_EXCEEDED` 429 with `Retry-After`, \
         `PAYLOAD_TOO_LARGE` 413, `UNAVAILABLE` 503, `INTERNAL_ERROR` 500)",
    );
}
