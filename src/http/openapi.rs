//! The OpenAPI description of every route, served at `/openapi.json`.

use utoipa::openapi::security::{Flow, OAuth2, Password, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{channels, memberships, message_history, messages, schemas, session, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Zync",
        description = "Event-sourced chat backend, compatible with the Zync API. Ids are UUIDs.",
    ),
    paths(
        session::root,
        session::login,
        session::logout,
    ),
    components(schemas(
        crate::read::views::UserRead,
        crate::read::views::ChannelRead,
        crate::read::views::MessageRead,
        crate::read::views::Membership,
        crate::read::views::ChannelOwner,
        schemas::Acknowledgement,
        schemas::ClearedMessages,
        schemas::ErrorBody,
        schemas::ErrorDetail,
        schemas::ValidationIssue,
        schemas::LocationPart,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Log in (OAuth2 password flow)"),
        (name = "users", description = "Accounts and profiles"),
        (name = "channels", description = "Channels and memberships"),
        (name = "messages", description = "Messages and channel history"),
        (name = "operations", description = "Liveness and readiness probes, metrics"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer scheme the routes refer to, as FastAPI's OAuth2PasswordBearer does.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::new(
                "/token",
                Scopes::new(),
            ))])),
        );
    }
}

/// The whole spec: the base document plus each resource module's paths.
pub fn spec() -> utoipa::openapi::OpenApi {
    let mut spec = ApiDoc::openapi();
    spec.merge(users::UsersApi::openapi());
    spec.merge(channels::ChannelsApi::openapi());
    spec.merge(memberships::MembershipsApi::openapi());
    spec.merge(messages::MessagesApi::openapi());
    spec.merge(message_history::MessageHistoryApi::openapi());
    spec.merge(super::files::FilesApi::openapi());
    spec.merge(crate::ws::WsApi::openapi());
    spec.merge(super::events::EventsApi::openapi());
    spec.merge(super::history::HistoryApi::openapi());
    spec.merge(super::privacy::PrivacyApi::openapi());
    spec.merge(super::health::HealthApi::openapi());
    spec.merge(super::metrics::MetricsApi::openapi());
    document_common_errors(&mut spec);
    spec
}

/// Adds the answers every route shares by construction, where its own annotation leaves them
/// out: 401 wherever a bearer token is required (`CurrentUser`), 422 wherever a path, query or
/// body is parsed (`PathParam`, `QueryParams`, `JsonBody`) and 413 for JSON bodies over
/// [`MAX_JSON_BYTES`](super::extract::MAX_JSON_BYTES).
fn document_common_errors(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};

    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for item in spec.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let parses = op.parameters.as_ref().is_some_and(|p| !p.is_empty()) || op.request_body.is_some();
            let json_body = op
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.contains_key("application/json"));
            let responses = &mut op.responses.responses;
            if secured {
                responses
                    .entry("401".into())
                    .or_insert_with(|| error("Missing, invalid or expired token").into());
            }
            if parses {
                responses
                    .entry("422".into())
                    .or_insert_with(|| error("Validation error").into());
            }
            if json_body {
                responses
                    .entry("413".into())
                    .or_insert_with(|| error("Request body too large").into());
            }
        }
    }
}
