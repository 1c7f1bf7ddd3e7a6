//! Routes, one module per resource. Every route is registered through `utoipa_axum::routes!` from its handler's
//! `#[utoipa::path]`, so the router and the OpenAPI document are built from the same declarations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub mod companies;
pub mod dry_run;
pub mod llm_jobs;
pub mod logs;
pub mod meta;
pub mod ops;
pub mod postings;
pub mod progress;
pub mod runs;
pub mod schedule;
pub mod screens;
pub mod system;
pub mod webhooks;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "boardwatch API",
        description = "Companies, ingestion runs (with logs and live progress), LLM screening jobs and their flags. \
                       Every `/api` route needs a JWT: `Authorization: Bearer <token>`, or `?token=<token>` where a \
                       client cannot set headers (EventSource). Everything is scoped to the token's user: another \
                       user's objects answer 404."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "system", description = "Health and this document"),
        (name = "companies", description = "The career boards a user follows"),
        (name = "runs", description = "Ingestion runs, their logs and live progress"),
        (name = "llm-jobs", description = "LLM screening jobs, their items and the flags they applied"),
        (name = "postings", description = "The postings runs stored: browse, one whole, export"),
        (name = "ops", description = "Operators: queues, dead-letter queues, redrive"),
        (name = "webhooks", description = "Events pushed by OpenAI, authenticated by their signatures"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = Http::builder().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Every route of the API with its OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::health))
        .routes(routes!(system::openapi_json))
        .routes(routes!(system::me))
        .routes(routes!(meta::meta))
        .routes(routes!(companies::list, companies::create))
        .routes(routes!(companies::remove))
        .routes(routes!(runs::list, runs::start))
        .routes(routes!(schedule::show, schedule::put, schedule::remove))
        .routes(routes!(runs::show))
        .routes(routes!(runs::abort))
        .routes(routes!(runs::events))
        .routes(routes!(logs::logs))
        .routes(routes!(progress::run_progress))
        .routes(routes!(dry_run::dry_run))
        .routes(routes!(llm_jobs::list, llm_jobs::create))
        .routes(routes!(llm_jobs::show))
        .routes(routes!(llm_jobs::items))
        .routes(routes!(llm_jobs::cancel))
        .routes(routes!(progress::job_progress))
        .routes(routes!(screens::list, screens::create))
        .routes(routes!(screens::show, screens::remove))
        .routes(routes!(postings::list))
        .routes(routes!(postings::export::export))
        .routes(routes!(postings::show))
        .routes(routes!(webhooks::openai))
        .merge(ops::router())
}
