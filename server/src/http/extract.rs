//! What a request carries, parsed once at the door: who is calling (`IngestKey`, `ReadAccess`)
//! and what it asks for (`FilterQuery`, `ExportQuery`, `StreamQuery`). Handlers get typed values
//! and never re-read the raw headers or query string.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use vigil_wire::EventFilter;

use super::ApiError;
use crate::auth::{looks_like_key, ApiKeys, Credential, Sessions};
use crate::storage::{Cursor, KeyKind};

/// Page size when the client does not say.
const DEFAULT_LIMIT: u32 = 50;
/// Largest page a client may ask for.
pub const MAX_LIMIT: u32 = 500;

/// A request carrying an active ingest key; `name` is recorded as each event's `source`.
#[derive(Debug, Clone)]
pub struct IngestKey {
    pub name: String,
}

/// The key in an `Authorization: Bearer` header, if the header is there.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::MissingCredentials)?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::MalformedAuthorization)?;
    let (scheme, key) = value
        .split_once(' ')
        .ok_or(ApiError::MalformedAuthorization)?;
    if !scheme.eq_ignore_ascii_case("bearer") || key.trim().is_empty() {
        return Err(ApiError::MalformedAuthorization);
    }
    // Not a key Vigil issued: no need to ask the database (or to let garbage queue for it).
    if !looks_like_key(key.trim()) {
        return Err(ApiError::UnknownKey);
    }
    Ok(key.trim())
}

/// The active key in the request, of the kind a route needs.
async fn require_key<S>(parts: &Parts, state: &S, expected: KeyKind) -> Result<String, ApiError>
where
    ApiKeys: FromRef<S>,
{
    let presented = bearer(parts)?;
    let key = ApiKeys::from_ref(state)
        .authenticate(presented)
        .await?
        .ok_or(ApiError::UnknownKey)?;
    if key.kind == expected {
        Ok(key.name)
    } else {
        Err(ApiError::WrongKeyKind { expected })
    }
}

impl<S> FromRequestParts<S> for IngestKey
where
    ApiKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(IngestKey {
            name: require_key(parts, state, KeyKind::Ingest).await?,
        })
    }
}

/// A request carrying an active read key: scripts and scrapers, never a browser's cookie.
#[derive(Debug, Clone)]
pub struct ReadKey;

impl<S> FromRequestParts<S> for ReadKey
where
    ApiKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        require_key(parts, state, KeyKind::Read).await?;
        Ok(ReadKey)
    }
}

/// A request allowed to read events: a read key, or a signed-in operator's session cookie.
#[derive(Debug, Clone)]
pub struct ReadAccess {
    /// The key's name or the operator's username.
    pub name: String,
    /// What it was admitted with, for a stream to re-check.
    pub credential: Credential,
}

impl<S> FromRequestParts<S> for ReadAccess
where
    ApiKeys: FromRef<S>,
    Sessions: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(ReadAccess {
                name: require_key(parts, state, KeyKind::Read).await?,
                credential: Credential::Key(bearer(parts)?.to_owned()),
            });
        }
        match Sessions::from_ref(state).signed_in(&parts.headers).await? {
            Some((operator, token)) => Ok(ReadAccess {
                name: operator.username,
                credential: Credential::Session(token),
            }),
            None => Err(ApiError::MissingCredentials),
        }
    }
}

/// The query string's name/value pairs, decoded.
fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn filter_of<'a>(
    pairs: impl IntoIterator<Item = &'a (String, String)>,
) -> Result<EventFilter, ApiError> {
    EventFilter::from_params(pairs.into_iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(
        |e| ApiError::InvalidParameter {
            param: e.param,
            reason: e.reason,
        },
    )
}

/// The read API's query: a filter (`type`, `user`, `ip`, …) and a page (`cursor`, `limit`).
#[derive(Debug)]
pub struct FilterQuery {
    pub filter: EventFilter,
    pub cursor: Option<Cursor>,
    pub limit: u32,
}

impl FilterQuery {
    fn parse(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let filter = filter_of(pairs)?;
        let mut cursor = None;
        let mut limit = DEFAULT_LIMIT;
        for (name, value) in pairs {
            match name.as_str() {
                "cursor" if !value.is_empty() => {
                    cursor =
                        Some(
                            Cursor::decode(value).ok_or_else(|| ApiError::InvalidParameter {
                                param: "cursor".into(),
                                reason: "is not a cursor this server issued".into(),
                            })?,
                        );
                }
                "limit" => {
                    limit = value
                        .parse()
                        .ok()
                        .filter(|l| (1..=MAX_LIMIT).contains(l))
                        .ok_or_else(|| ApiError::InvalidParameter {
                            param: "limit".into(),
                            reason: format!("must be 1 to {MAX_LIMIT}"),
                        })?;
                }
                _ => {}
            }
        }
        Ok(FilterQuery {
            filter,
            cursor,
            limit,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for FilterQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        FilterQuery::parse(&query_pairs(parts))
    }
}

/// An export's query: the read API's filter. Paging means nothing for an export, so `limit`
/// and `cursor` are ignored and a copied page URL works.
#[derive(Debug)]
pub struct ExportQuery(pub EventFilter);

impl<S: Send + Sync> FromRequestParts<S> for ExportQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let pairs = query_pairs(parts);
        let filter_only = pairs
            .iter()
            .filter(|(name, _)| name != "limit" && name != "cursor");
        Ok(ExportQuery(filter_of(filter_only)?))
    }
}

/// The live stream's query: the read API's (a page's parameters are checked but mean nothing
/// here) and `after=<seq>`, to replay stored matches first.
#[derive(Debug)]
pub struct StreamQuery {
    pub filter: EventFilter,
    pub after: Option<i64>,
    /// `events=false`: no events, only what else was asked for (alerts).
    pub events: bool,
    /// `alerts=true`: alert changes too.
    pub alerts: bool,
    /// Replay alert changes after this change seq first.
    pub alerts_after: Option<i64>,
}

/// Parses a query string as the read API, the export and the stream each would. Pure: the fuzz
/// targets in `server/fuzz` call it.
pub fn parse_queries(query: &str) -> Result<(), ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    FilterQuery::parse(&pairs)?;
    filter_of(pairs.iter().filter(|(n, _)| n != "limit" && n != "cursor"))?;
    StreamQuery::parse(&pairs)?;
    Ok(())
}

impl StreamQuery {
    fn parse(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let FilterQuery { filter, .. } = FilterQuery::parse(pairs)?;
        let value = |param: &str| {
            (pairs.iter())
                .find(|(name, value)| name == param && !value.is_empty())
                .map(|(_, value)| value.trim())
        };
        let seq = |param: &str| {
            value(param)
                .map(|value| {
                    (value.parse::<i64>().ok())
                        .filter(|seq| *seq >= 0)
                        .ok_or_else(|| ApiError::InvalidParameter {
                            param: param.into(),
                            reason: "must be a seq (a non-negative integer)".into(),
                        })
                })
                .transpose()
        };
        let flag = |param: &str, default: bool| match value(param) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(ApiError::invalid(param, "must be true or false")),
        };
        let query = StreamQuery {
            filter,
            after: seq("after")?,
            events: flag("events", true)?,
            alerts: flag("alerts", false)?,
            alerts_after: seq("alerts_after")?,
        };
        if !query.events && !query.alerts {
            return Err(ApiError::invalid(
                "events",
                "false leaves nothing to stream: add alerts=true",
            ));
        }
        Ok(query)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for StreamQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        StreamQuery::parse(&query_pairs(parts))
    }
}
