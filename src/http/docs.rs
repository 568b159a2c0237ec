//! API documentation served from the binary itself.
//!
//! Nothing here may reach the network, at build time or at run time: production hosts and CI have
//! no internet access (only package registries), and docs pages that pull scripts from a CDN would
//! also leak who reads our docs. So:
//!
//! * `/openapi.json` is the spec, serialised once when the router is built.
//! * `/docs` is Swagger UI from `utoipa-swagger-ui` with its `vendored` feature: the Swagger UI
//!   release zip ships inside the `utoipa-swagger-ui-vendored` crate and the build script unpacks
//!   it from memory (it only downloads when `vendored` is off), then `rust-embed` bakes the files
//!   into release binaries (debug builds read them from the build's `OUT_DIR` at run time).
//! * `/redoc` is a small self-written reference page (`docs_redoc.html`). `utoipa-redoc` only
//!   emits a page that loads ReDoc from its CDN, and no maintained crate ships the ReDoc bundle
//!   for axum without dragging in another web framework or a toolchain newer than ours, so we
//!   render the spec ourselves with plain JS instead of vendoring third-party code.

use axum::{
    body::Bytes,
    http::header,
    response::{Html, IntoResponse},
    routing::get,
    Router,
};
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where the spec is served. Both UIs fetch it from here; the ReDoc-style page has it hard-coded
/// (a test keeps the two in step).
pub const SPEC_PATH: &str = "/openapi.json";
/// Swagger UI. It redirects to `/docs/` because its index page loads its assets relatively.
pub const SWAGGER_PATH: &str = "/docs";
/// The ReDoc-style reference page.
pub const REDOC_PATH: &str = "/redoc";

const REDOC_HTML: &str = include_str!("docs_redoc.html");

/// The page only needs its own inline script and style plus a same-origin fetch of the spec. The
/// policy makes the browser refuse anything else, so a stray external URL fails loudly instead of
/// quietly phoning out.
const REDOC_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// Routes: GET /openapi.json (the spec), GET /docs (Swagger UI), GET /redoc (a ReDoc-style
/// reference page).
///
/// Merge the result at the root of the app: the pages refer to the spec by absolute path.
///
/// # Panics
///
/// If the spec cannot be serialised to JSON, which `utoipa`'s types do not allow in practice
/// (all map keys are strings); failing at startup beats serving a broken spec.
pub fn router<S: Clone + Send + Sync + 'static>(spec: OpenApi) -> Router<S> {
    // Serialise once: the spec is immutable for the life of the process and handing out a
    // refcounted `Bytes` is cheaper than re-serialising the whole document per request.
    let spec_json = Bytes::from(spec.to_json().expect("OpenAPI spec serialises to JSON"));

    let swagger = SwaggerUi::new(SWAGGER_PATH).config(
        // We serve the spec ourselves (above) rather than via `SwaggerUi::url`, so point the UI
        // at it explicitly. `validatorUrl: none` stops Swagger UI's default online-validator
        // badge, which would send the spec's URL to a third-party host on every page view.
        Config::new([SPEC_PATH]).validator_url("none"),
    );

    Router::new()
        .route(
            SPEC_PATH,
            get(move || {
                let body = spec_json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .route(REDOC_PATH, get(redoc))
        .merge(swagger)
}

async fn redoc() -> impl IntoResponse {
    ([(header::CONTENT_SECURITY_POLICY, REDOC_CSP)], Html(REDOC_HTML))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{
        body::{to_bytes, Body},
        http::{Request, Response, StatusCode},
    };
    use serde::Serialize;
    use tower::ServiceExt;
    use utoipa::ToSchema;

    /// A message in the sample spec.
    #[derive(Serialize, ToSchema)]
    #[allow(dead_code)]
    struct Message {
        id: uuid::Uuid,
        body: String,
        /// Self-reference, to exercise the pages' `$ref` cycle handling.
        #[schema(no_recursion)]
        reply_to: Option<Box<Message>>,
    }

    /// Send a message.
    #[utoipa::path(post, path = "/channels/{channel_id}/messages", tag = "messages",
        params(("channel_id" = uuid::Uuid, Path, description = "Channel to post in")),
        request_body = Message,
        responses((status = 201, description = "Created", body = Message), (status = 404, description = "No such channel")))]
    #[allow(dead_code)]
    async fn send_message() {}

    /// List messages.
    #[utoipa::path(get, path = "/channels/{channel_id}/messages", tag = "messages",
        params(("channel_id" = uuid::Uuid, Path), ("limit" = Option<u32>, Query)),
        responses((status = 200, description = "Newest first", body = Vec<Message>)))]
    #[allow(dead_code)]
    async fn list_messages() {}

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(send_message, list_messages), components(schemas(Message)))]
    struct SampleApi;

    fn app() -> Router {
        router(<SampleApi as utoipa::OpenApi>::openapi())
    }

    async fn get_path(path: &str) -> Response<Body> {
        let request = Request::get(path).body(Body::empty()).unwrap();
        app().oneshot(request).await.unwrap()
    }

    async fn body_text(response: Response<Body>) -> String {
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn content_type(response: &Response<Body>) -> String {
        let value = response.headers().get(header::CONTENT_TYPE);
        value.map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    /// The text pages we serve (and Swagger UI's config script, which we generate), i.e.
    /// everything but the vendored bundles.
    const PAGES: [&str; 4] = [
        "/docs/",
        "/docs/swagger-initializer.js",
        "/docs/index.css",
        "/redoc",
    ];

    #[tokio::test]
    async fn openapi_json_is_the_spec() {
        let response = get_path(SPEC_PATH).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(content_type(&response), "application/json");
        let served: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
        let expected = serde_json::to_value(<SampleApi as utoipa::OpenApi>::openapi()).unwrap();
        assert_eq!(served, expected);
        assert!(served["paths"]["/channels/{channel_id}/messages"]["post"].is_object());
    }

    #[tokio::test]
    async fn swagger_ui_redirects_to_its_index() {
        let response = get_path(SWAGGER_PATH).await;
        assert!(response.status().is_redirection(), "{}", response.status());
        assert_eq!(response.headers()[header::LOCATION], "/docs/");
    }

    #[tokio::test]
    async fn swagger_ui_index_is_html() {
        let response = get_path("/docs/").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(content_type(&response).starts_with("text/html"));
        let html = body_text(response).await;
        assert!(html.contains("swagger-ui-bundle.js"), "{html}");
    }

    #[tokio::test]
    async fn swagger_ui_assets_are_embedded() {
        for asset in [
            "swagger-ui-bundle.js",
            "swagger-ui-standalone-preset.js",
            "swagger-ui.css",
        ] {
            let response = get_path(&format!("/docs/{asset}")).await;
            assert_eq!(response.status(), StatusCode::OK, "{asset}");
            assert!(
                body_text(response).await.len() > 10_000,
                "{asset} looks truncated"
            );
        }
    }

    #[tokio::test]
    async fn swagger_ui_loads_our_spec_without_the_online_validator() {
        let js = body_text(get_path("/docs/swagger-initializer.js").await).await;
        assert!(js.contains(r#""url": "/openapi.json""#), "{js}");
        assert!(js.contains(r#""validatorUrl": "none""#), "{js}");
    }

    #[tokio::test]
    async fn redoc_is_html_that_loads_the_spec() {
        let response = get_path(REDOC_PATH).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(content_type(&response).starts_with("text/html"));
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        let html = body_text(response).await;
        assert!(
            html.contains(&format!("'{SPEC_PATH}'")),
            "page must fetch {SPEC_PATH}"
        );
        // Self-contained: no scripts or stylesheets loaded from anywhere.
        assert!(!html.contains("<script src"));
        assert!(!html.contains("<link"));
    }

    #[tokio::test]
    async fn pages_reference_no_external_urls() {
        for path in PAGES {
            let response = get_path(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let text = body_text(response).await.to_ascii_lowercase();
            // Protocol-relative `//host/...` in an attribute or CSS `url()` is external too.
            for needle in ["http://", "https://", "=\"//", "='//", "url(//"] {
                assert!(!text.contains(needle), "{path} references {needle}");
            }
        }
    }
}
