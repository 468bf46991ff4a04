//! `GET /api/v1/openapi.json`: the API described from the very types the server parses and
//! answers with (utoipa), so the document cannot drift from the code.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use vigil_wire::{
    ActionResult, Category, ChainProof, ChainStatus, ChainVerification, ErrorBody, EventInput,
    EventPage, FieldError, IngestReceipt, IngestResponse, LiveMessage, Severity, SignedCheckpoint,
    StoredEvent,
};

use super::ingest::EventBatch;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vigil",
        description = "Live audit service for authentication events: ingest, live stream, health."
    ),
    paths(
        super::ingest::post_events,
        super::events::list_events,
        super::events::get_event,
        super::events::get_chain,
        super::events::list_checkpoints,
        super::proof::chain_proof,
        super::export::export_csv,
        super::export::export_ndjson,
        super::health::healthz,
        super::health::livez,
        super::health::readyz,
        super::metrics::scrape,
        super::stream::stream_doc,
        super::alerts::list_alerts,
        super::alerts::alert_summary,
        super::alerts::get_alert,
        super::alerts::change_status
    ),
    components(schemas(
        EventInput, EventBatch, EventPage, IngestResponse, IngestReceipt, StoredEvent, LiveMessage,
        ActionResult, Severity, Category, ErrorBody, FieldError, ChainStatus, ChainVerification, SignedCheckpoint, ChainProof,
        vigil_wire::Alert, vigil_wire::AlertPage, vigil_wire::AlertDetail, vigil_wire::AlertSummary, vigil_wire::AlertStatusChange,
        vigil_wire::AlertSeverity, vigil_wire::AlertStatus, vigil_wire::AlertHistoryEntry, vigil_wire::RuleInfo, vigil_wire::AlertDelivery
    )),
    modifiers(&BearerKeys),
    tags((name = "ingest", description = "Posting events"), (name = "read", description = "Querying events"), (name = "live", description = "Following events"), (name = "operations", description = "Metrics and health"), (name = "alerts", description = "What the detection rules raised"))
)]
pub struct ApiDoc;

/// Declares the `Authorization: Bearer <key>` scheme the ingest path requires.
struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`: anyone may read it.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_is_openapi_3_1_and_describes_ingest() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let post = &doc["paths"]["/api/v1/events"]["post"];
        for status in ["201", "400", "401", "413", "415", "422", "503"] {
            assert!(post["responses"][status].is_object(), "missing {status}");
        }
        for path in ["/api/v1/events", "/api/v1/events/export.csv"] {
            let names: Vec<&str> = doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert!(
                names.contains(&"type") && names.contains(&"ip") && names.contains(&"until"),
                "{path}: {names:?}"
            );
        }
        let input = &doc["components"]["schemas"]["EventInput"];
        assert_eq!(
            input["additionalProperties"], false,
            "unknown fields are rejected"
        );
        assert!(input["required"]
            .as_array()
            .unwrap()
            .contains(&"event_type".into()));
    }
}
