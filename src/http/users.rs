//! `/users` routes.

use aggregates::user::{Profile, ProfileChanges};
use aggregates::values::{Bio, PersonName, ProfilePicture, Username};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::current_user::CurrentUser;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, PathParam, QueryParams};
use super::paging::PageParams;
use super::routes::RouteBoth;
use super::schemas::{Acknowledgement, ErrorBody};
use super::validate::{self, at, Checks};
use crate::commands::RequestMeta;
use crate::read;
use crate::read::views::UserRead;
use crate::service::users::{self, Registration};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .both("/users/", post(create_user).get(list_users))
        .both("/users/me", get(me))
        .both(
            "/users/{user_id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create_user, me, list_users, get_user, update_user, delete_user))]
pub struct UsersApi;

#[derive(Deserialize, ToSchema)]
pub struct UserCreate {
    /// Any printable text, inner spaces included: 1 to 50 characters once leading and trailing
    /// white space is trimmed (as it is at login too), no control characters or line breaks.
    /// The 50 is in the pattern, not a `maxLength`: surrounding white space does not count.
    #[schema(
        min_length = 1,
        pattern = "^[\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]([^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]{0,48}[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub username: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 1 to 128 characters.
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\u0000]*$")]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\u0000]*$")]
    pub last_name: Option<String>,
    #[schema(max_length = 1000, pattern = "^[^\\u0000]*$")]
    pub bio: Option<String>,
    #[schema(min_length = 1, max_length = 2048, pattern = "^[^\\u0000]*$")]
    pub profile_picture: Option<String>,
}

/// A partial update: absent fields are left alone; `null` clears a nullable profile field.
#[derive(Deserialize, ToSchema)]
pub struct UserUpdate {
    /// As at registration.
    #[schema(
        min_length = 1,
        pattern = "^[\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]([^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]{0,48}[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub username: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    pub password: Option<String>,
    #[serde(default, with = "aggregates::user::double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = "^[^\\u0000]*$")]
    pub first_name: Option<Option<String>>,
    #[serde(default, with = "aggregates::user::double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = "^[^\\u0000]*$")]
    pub last_name: Option<Option<String>>,
    #[serde(default, with = "aggregates::user::double_option")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = "^[^\\u0000]*$")]
    pub bio: Option<Option<String>>,
    #[serde(default, with = "aggregates::user::double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2048, pattern = "^[^\\u0000]*$")]
    pub profile_picture: Option<Option<String>>,
}

/// Parses a nullable field of a partial update.
fn nullable<T>(
    checks: &mut Checks,
    raw: Option<Option<String>>,
    parse: impl FnOnce(String) -> Result<T, aggregates::values::InvalidValue>,
) -> Option<Option<T>> {
    match raw {
        None => None,
        Some(None) => Some(None),
        Some(Some(v)) => checks.take(parse(v)).map(Some),
    }
}

async fn live_user(state: &AppState, id: Uuid) -> ApiResult<UserRead> {
    read::users::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("User not found"))
}

#[utoipa::path(
    post, path = "/users/", tag = "users", request_body = UserCreate,
    responses(
        (status = 201, body = UserRead),
        (status = 400, description = "Username or email already registered.", body = ErrorBody),
        (status = 422, description = "Validation error", body = ErrorBody),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    meta: RequestMeta,
    JsonBody(body): JsonBody<UserCreate>,
) -> ApiResult<(StatusCode, Json<UserRead>)> {
    let mut c = Checks::default();
    let username = c.take(Username::parse_strict(Username::typed(&body.username)));
    let email = c.take(validate::email(body.email));
    c.take(validate::password(&body.password));
    let profile = Profile {
        first_name: c.take_opt(body.first_name, |v| {
            PersonName::parse(v).map_err(at("first_name"))
        }),
        last_name: c.take_opt(body.last_name, |v| PersonName::parse(v).map_err(at("last_name"))),
        bio: c.take_opt(body.bio, Bio::parse),
        profile_picture: c.take_opt(body.profile_picture, ProfilePicture::parse),
    };
    c.finish()?;
    let (Some(username), Some(email)) = (username, email) else {
        return Err(ApiError::internal());
    };

    let registration = Registration {
        username,
        email,
        password: body.password,
        profile,
    };
    let user = users::register(&state.commands, &state.pool, &meta, registration).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(
    get, path = "/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserRead), (status = 401, body = ErrorBody))
)]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Json<UserRead>> {
    // A just-registered user is always projected (registration waits for it).
    match read::users::get(&state.pool, user.id).await? {
        Some(me) => Ok(Json(me)),
        // Deleted between the token check and this read.
        None => Err(ApiError::unauthorized()),
    }
}

#[utoipa::path(
    get, path = "/users/", tag = "users", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = [UserRead]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn list_users(
    State(state): State<AppState>,
    _user: CurrentUser,
    QueryParams(params): QueryParams<PageParams>,
) -> ApiResult<Json<Vec<UserRead>>> {
    Ok(Json(read::users::list(&state.pool, params.page()?).await?))
}

#[utoipa::path(
    get, path = "/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 200, body = UserRead), (status = 404, description = "User not found", body = ErrorBody))
)]
pub async fn get_user(
    State(state): State<AppState>,
    _user: CurrentUser,
    PathParam(user_id): PathParam<Uuid>,
) -> ApiResult<Json<UserRead>> {
    live_user(&state, user_id).await.map(Json)
}

#[utoipa::path(
    patch, path = "/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)), request_body = UserUpdate,
    responses(
        (status = 200, body = UserRead),
        (status = 400, description = "Username or email already registered.", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(user_id): PathParam<Uuid>,
    JsonBody(body): JsonBody<UserUpdate>,
) -> ApiResult<Json<UserRead>> {
    // 404, then 403, before the body's 422s.
    users::authorize(&state.pool, user.id, user_id).await?;
    let mut c = Checks::default();
    let changes = ProfileChanges {
        username: c.take_opt(
            body.username.map(|u| Username::typed(&u).to_string()),
            Username::parse_strict,
        ),
        email: c.take_opt(body.email, validate::email),
        first_name: nullable(&mut c, body.first_name, |v| {
            PersonName::parse(v).map_err(at("first_name"))
        }),
        last_name: nullable(&mut c, body.last_name, |v| {
            PersonName::parse(v).map_err(at("last_name"))
        }),
        bio: nullable(&mut c, body.bio, Bio::parse),
        profile_picture: nullable(&mut c, body.profile_picture, ProfilePicture::parse),
    };
    if let Some(p) = &body.password {
        c.take(validate::password(p));
    }
    c.finish()?;

    let updated = users::update(
        &state.commands,
        &state.pool,
        &meta,
        user.id,
        user_id,
        changes,
        body.password,
    )
    .await?;
    Ok(Json(updated))
}

#[utoipa::path(
    delete, path = "/users/{user_id}", tag = "users", security(("bearer" = [])),
    params(("user_id" = Uuid, Path)),
    responses((status = 200, body = Acknowledgement), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn delete_user(
    State(state): State<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    PathParam(user_id): PathParam<Uuid>,
) -> ApiResult<Json<Acknowledgement>> {
    users::authorize(&state.pool, user.id, user_id).await?;
    users::delete(&state.commands, &state.pool, &meta, user.id, user_id).await?;
    Ok(Json(Acknowledgement {
        message: "User deleted successfully".into(),
    }))
}
