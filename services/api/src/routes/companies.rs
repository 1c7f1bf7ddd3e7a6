//! `GET/POST /api/companies`, `DELETE /api/companies/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use bw_db::companies::{self, BoardRef, Created};
use bw_db::models::Company;
use bw_db::pool;
use bw_extract::{Board, BoardKind, BoardRegion};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path};
use crate::state::AppState;

/// Body of `POST /api/companies`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    pub name: String,
    /// The company's careers URL, its board recognised from it (instead of `board_kind` and `board_token`).
    #[serde(default)]
    pub url: Option<String>,
    /// `greenhouse`, `lever`, `ashby`, `workday`, `workable`, `smartrecruiters`, `teamtailor`, `recruitee`,
    /// `personio`, `bamboohr` or `jsonld` (with `board_token`, when no `url` is given).
    #[serde(default)]
    pub board_kind: Option<String>,
    /// The board's name on its service (greenhouse, lever, ashby, workable, smartrecruiters; teamtailor, recruitee,
    /// personio and bamboohr also take the board's own URL); workday: the careers site's URL
    /// (`https://{tenant}.{pod}.myworkdayjobs.com/{site}`); jsonld: the careers page's URL.
    #[serde(default)]
    pub board_token: Option<String>,
    /// `us` (the default: the service's main host) or `eu` (Greenhouse's and Lever's EU hosts, where the boards of
    /// their EU customers are).
    #[serde(default)]
    #[schema(value_type = Option<BoardRegion>)]
    pub board_region: Option<String>,
}

impl NewCompany {
    /// Checks the fields and returns (name, board).
    fn validate(&self) -> Result<(String, Board), ApiError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::BadRequest("name must be 1-200 characters".to_owned()));
        }
        let (kind, token, region) = match (&self.url, &self.board_kind, &self.board_token) {
            (Some(url), None, None) => from_url(url)?,
            (None, Some(kind), Some(token)) => {
                let kind: BoardKind = kind.parse().map_err(|e| ApiError::BadRequest(format!("board_kind: {e}")))?;
                (kind, token.trim().to_owned(), None)
            }
            _ => {
                return Err(ApiError::BadRequest(
                    "give either url (a careers URL) or board_kind with board_token".to_owned(),
                ));
            }
        };
        let region: BoardRegion = match self.board_region.as_deref() {
            None => region.unwrap_or(BoardRegion::Us),
            Some(region) => region.parse().map_err(|e| ApiError::BadRequest(format!("board_region: {e}")))?,
        };
        let board = Board::new(kind, &token).map_err(|e| ApiError::BadRequest(format!("board_token: {e}")))?;
        let board = board.in_region(region).map_err(|e| ApiError::BadRequest(format!("board_region: {e}")))?;
        Ok((name.to_owned(), board))
    }
}

/// The board a careers URL names, as (kind, token, region if its host says); 400 naming why when it names none.
fn from_url(url: &str) -> Result<(BoardKind, String, Option<BoardRegion>), ApiError> {
    let recognized = bw_extract::recognize(url).map_err(|e| ApiError::BadRequest(format!("url: {e}")))?;
    let kind: BoardKind = recognized.kind.parse().map_err(|e| {
        ApiError::BadRequest(format!("url: this is a {} board ({}): {e}", recognized.kind, recognized.token))
    })?;
    let region = recognized.eu.then_some(BoardRegion::Eu);
    Ok((kind, recognized.token, region))
}

/// The caller's companies, oldest first.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CompanyList {
    pub companies: Vec<Company>,
}

/// Follows a company's career board (409 when the caller already follows it).
#[utoipa::path(post, path = "/api/companies", tag = "companies", request_body = NewCompany,
    responses((status = 201, body = Company), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    User(user): User,
    Json(input): Json<NewCompany>,
) -> Result<impl IntoResponse, ApiError> {
    let (name, board) = input.validate()?;
    let mut conn = pool::conn(&state.pool).await?;
    let board_ref = BoardRef { kind: board.kind, region: board.region, token: &board.token };
    match companies::create(&mut conn, &user, &name, board_ref).await? {
        Created::Company(company) => Ok((StatusCode::CREATED, axum::Json(company))),
        Created::Duplicate(existing) => Err(ApiError::Conflict {
            message: format!(
                "you already follow the {} board {:?}{} (company {})",
                board.kind,
                board.token,
                if board.region == BoardRegion::Eu { " on its EU host" } else { "" },
                existing.id
            ),
            details: json!({ "company_id": existing.id }),
        }),
    }
}

/// The caller's companies.
#[utoipa::path(get, path = "/api/companies", tag = "companies",
    responses((status = 200, body = CompanyList), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, User(user): User) -> Result<axum::Json<CompanyList>, ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    let companies: Vec<Company> = companies::list(&mut conn, &user).await?;
    Ok(axum::Json(CompanyList { companies }))
}

/// Stops following a company; the next run expires its postings.
#[utoipa::path(delete, path = "/api/companies/{id}", tag = "companies", params(("id" = Uuid, Path, description = "Company id")),
    responses((status = 204), (status = 400, body = ErrorBody, description = "A malformed id"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = pool::conn(&state.pool).await?;
    if companies::remove(&mut conn, &user, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("company {id} not found")))
    }
}
