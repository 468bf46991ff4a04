//! A login endpoint that records every attempt in Vigil: the seed's FastAPI integration, in axum.
//!
//! ```sh
//! KEY=$(vigil keys create --name login-service)
//! VIGIL_URL=http://127.0.0.1:3000 VIGIL_KEY=$KEY \
//!   cargo run -p vigil-client --example login_service
//! curl -sS localhost:8080/login -H 'content-type: application/json' \
//!   -d '{"username":"alice","password":"wonderland"}'
//! ```

use axum::extract::{ConnectInfo, State};
use axum::http::{header::USER_AGENT, HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use vigil_client::{AuditClient, ClientError};

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

struct User {
    id: i64,
    username: String,
}

/// Why a login failed; its text becomes the event's `reason`.
#[derive(Debug, thiserror::Error)]
enum AuthError {
    #[error("Invalid credentials")]
    InvalidCredentials,
}

/// The demo's whole user database: alice / wonderland.
async fn authenticate(username: &str, password: &str) -> Result<User, AuthError> {
    match (username, password) {
        ("alice", "wonderland") => Ok(User {
            id: 42,
            username: "alice".to_owned(),
        }),
        _ => Err(AuthError::InvalidCredentials),
    }
}

fn generate_token(user: &User) -> String {
    format!("demo-token-for-{}", user.id)
}

// @router.post("/login")
// async def login(request: Request, data: LoginRequest, audit: AuditService = Depends(...)):
async fn login(
    State(audit): State<AuditClient>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(data): Json<LoginRequest>,
) -> Result<Json<Value>, (StatusCode, String)> {
    let user_agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
    match authenticate(&data.username, &data.password).await {
        Ok(user) => {
            audit
                .log_login_success(user.id, &user.username, peer.ip())
                .user_agent(user_agent)
                .await
                .map_err(audit_unavailable)?;
            Ok(Json(json!({"token": generate_token(&user)})))
        }
        Err(e) => {
            audit
                .log_login_failure(&data.username, peer.ip(), e.to_string())
                .user_agent(user_agent)
                .await
                .map_err(audit_unavailable)?;
            Err((StatusCode::UNAUTHORIZED, e.to_string()))
        }
    }
}

/// As in the seed, where an `await audit.log_…` that raises fails the request: a login that
/// cannot be recorded is refused rather than left out of the audit trail. (A service that
/// prefers availability would log the error and carry on, or use `BufferedAuditClient`.)
fn audit_unavailable(error: ClientError) -> (StatusCode, String) {
    eprintln!("audit log: {error}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the audit log is unavailable; try again shortly".to_owned(),
    )
}

fn app(audit: AuditClient) -> Router {
    Router::new().route("/login", post(login)).with_state(audit)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("VIGIL_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned());
    let key = std::env::var("VIGIL_KEY")
        .map_err(|_| "set VIGIL_KEY to an ingest key (vigil keys create --name login-service)")?;
    // One client for the whole service, shared through the router's state (the seed's
    // `Depends(get_audit_service)`).
    let audit = AuditClient::new(url, key)?;
    let addr = std::env::var("LOGIN_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "login service on http://{addr}/login, auditing to {}",
        audit.endpoint()
    );
    // ConnectInfo gives handlers the peer address: the seed's `request.client.host`.
    axum::serve(
        listener,
        app(audit).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
