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
        schemas::UserRead,
        schemas::ChannelRead,
        schemas::MessageRead,
        schemas::Membership,
        schemas::ChannelOwner,
        schemas::Acknowledgement,
        schemas::ClearedMessages,
        schemas::ErrorBody,
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
    spec.merge(super::health::HealthApi::openapi());
    spec.merge(super::metrics::MetricsApi::openapi());
    spec
}
