//! Request extractors whose rejections are the contract's errors (FastAPI-style 422 lists, 413),
//! never axum's plain-text defaults.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{ApiError, Issue};

/// Largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// A JSON body, decoded with the failing field located in the 422. Every missing required field
/// is listed (serde stops at the first), taken from the type's OpenAPI schema so the documented
/// and enforced requirements cannot drift apart.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + utoipa::PartialSchema, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
            }
            _ => ApiError::bad_request("Could not read the request body"),
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// What [`JsonBody`] does with the buffered body: the size cap, JSON syntax, an object, every
/// required field present, then typed decoding. Public for the fuzz targets (`fuzz/`).
pub fn parse_json<T: DeserializeOwned + utoipa::PartialSchema>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.len() > MAX_JSON_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let issue = if bytes.iter().all(u8::is_ascii_whitespace) {
            Issue::new(&["body"], "Field required", "missing")
        } else {
            Issue {
                loc: vec!["body".into(), e.column().into()],
                msg: "JSON decode error".into(),
                kind: "json_invalid".into(),
            }
        };
        ApiError::invalid(issue)
    })?;
    let Some(object) = value.as_object() else {
        return Err(ApiError::invalid(Issue::new(
            &["body"],
            "Input should be a valid dictionary or object",
            "model_attributes_type",
        )));
    };
    let missing: Vec<Issue> = required_fields::<T>()
        .into_iter()
        .filter(|field| !object.contains_key(field))
        .map(|field| Issue::new(&["body", &field], "Field required", "missing"))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(missing));
    }
    decode(value, "body")
}

/// The required properties of `T`'s schema.
fn required_fields<T: utoipa::PartialSchema>() -> Vec<String> {
    use utoipa::openapi::{RefOr, Schema};
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object.required,
        _ => vec![],
    }
}

/// Decodes a JSON value into `T`, turning serde's message into a located issue.
pub fn decode<T: DeserializeOwned>(value: Value, root: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut loc: Vec<Value> = vec![root.into()];
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (msg, kind, field) = describe(&inner);
        if path != "." {
            loc.extend(path.split('.').map(|s| Value::from(s.to_string())));
        }
        if let Some(field) = field {
            loc.push(field.into());
        }
        ApiError::invalid(Issue { loc, msg, kind })
    })
}

/// Maps serde_json's wording to pydantic's message/type, and the missing field's name if any.
fn describe(serde_msg: &str) -> (String, String, Option<String>) {
    if let Some(rest) = serde_msg.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default().to_string();
        return ("Field required".into(), "missing".into(), Some(field));
    }
    if serde_msg.starts_with("invalid type: null") {
        return ("Input should not be null".into(), "type_error".into(), None);
    }
    if serde_msg.contains("expected a string") || serde_msg.contains("expected a borrowed string") {
        return (
            "Input should be a valid string".into(),
            "string_type".into(),
            None,
        );
    }
    if serde_msg.starts_with("UUID parsing failed") || serde_msg.contains("UUID") {
        return ("Input should be a valid UUID".into(), "uuid_parsing".into(), None);
    }
    let cleaned = serde_msg
        .split(" at line ")
        .next()
        .unwrap_or(serde_msg)
        .to_string();
    (cleaned, "value_error".into(), None)
}

/// A path parameter parsed as `T` (a UUID, usually); a bad value is a 422 naming the parameter.
pub struct PathParam<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParam<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Self(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                let key = match e.kind() {
                    // A UUID's parse failure arrives as DeserializeError; plain types as
                    // ParseErrorAtKey.
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::DeserializeError { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key } => key.clone(),
                    _ => "id".to_string(),
                };
                Err(ApiError::invalid(Issue::new(
                    &["path", &key],
                    "Input should be a valid UUID",
                    "uuid_parsing",
                )))
            }
            Err(_) => Err(ApiError::not_found("Not Found")),
        }
    }
}

/// Query parameters decoded as `T`, with failures located as `["query", field]`.
pub struct QueryParams<T>(pub T);

impl<T, S> FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(QueryParams)
    }
}

/// What [`QueryParams`] does with the query string. Public for the fuzz targets (`fuzz/`).
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (msg, kind, missing) = describe(&inner);
        let field = missing.unwrap_or(field);
        ApiError::invalid(Issue::new(&["query", &field], msg, kind))
    })
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}
