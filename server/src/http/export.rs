//! Exports: `GET /api/v1/events/export.csv` and `/export.ndjson` stream every event matching the
//! read API's filter, newest first, encoding rows as the database yields them so memory stays flat
//! however many match.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures::StreamExt;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use vigil_wire::{ErrorBody, EventFilter, StoredEvent};

use super::events::FilterParams;
use super::extract::{ExportQuery, ReadAccess};
use super::ApiError;
use crate::storage::{csv_cells, csv_header, EventStore};

/// Rows encoded into one body chunk when several are ready at once.
const ROWS_PER_CHUNK: usize = 256;

/// Exports' own database connections and places (`--max-exports`): a crowd of exports, or
/// clients that stop reading them, cannot take the connections that reads, sign-ins and key
/// checks need. Beyond it, 429.
#[derive(Clone, Debug)]
pub struct ExportBudget {
    store: EventStore,
    places: Arc<Semaphore>,
}

impl ExportBudget {
    pub fn new(store: &EventStore, max: u32) -> Self {
        ExportBudget {
            store: store.with_own_pool(max),
            places: Arc::new(Semaphore::new(max as usize)),
        }
    }

    fn take(&self) -> Result<(EventStore, OwnedSemaphorePermit), ApiError> {
        let place =
            (self.places.clone().try_acquire_owned()).map_err(|_| ApiError::TooManyExports)?;
        Ok((self.store.clone(), place))
    }
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Ndjson,
}

/// Every matching event as CSV (RFC 4180, formula-like cells neutralised), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/events/export.csv",
    tag = "read",
    security(("bearer" = [])),
    params(
        FilterParams,
    ),
    responses(
        (status = 200, description = "A header row, then one row per event (streamed)", content_type = "text/csv", body = String),
        (status = 401, description = "Missing or unknown key", body = ErrorBody),
        (status = 403, description = "Not a read key", body = ErrorBody),
        (status = 422, description = "A parameter is invalid (named)", body = ErrorBody),
        (status = 429, description = "As many exports as the server runs at once are running; retry after `Retry-After`", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(reader = %reader.name))]
pub async fn export_csv(
    State(budget): State<ExportBudget>,
    reader: ReadAccess,
    ExportQuery(filter): ExportQuery,
) -> Result<Response, ApiError> {
    export(budget, filter, Format::Csv).await
}

/// Every matching event as NDJSON (one `StoredEvent` per line), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/events/export.ndjson",
    tag = "read",
    security(("bearer" = [])),
    params(
        FilterParams,
    ),
    responses(
        (status = 200, description = "One StoredEvent per line (streamed)", content_type = "application/x-ndjson", body = String),
        (status = 401, description = "Missing or unknown key", body = ErrorBody),
        (status = 403, description = "Not a read key", body = ErrorBody),
        (status = 422, description = "A parameter is invalid (named)", body = ErrorBody),
        (status = 429, description = "As many exports as the server runs at once are running; retry after `Retry-After`", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(reader = %reader.name))]
pub async fn export_ndjson(
    State(budget): State<ExportBudget>,
    reader: ReadAccess,
    ExportQuery(filter): ExportQuery,
) -> Result<Response, ApiError> {
    export(budget, filter, Format::Ndjson).await
}

/// Validates the query and takes a place and a connection before answering, so a bad parameter
/// is still a 422, a full budget a 429 and an unavailable database a 503; after the headers are
/// sent, a database error can only cut the body short (logged; the client sees a truncated
/// chunked body, not a clean end). The place is held until the body is done or dropped.
async fn export(
    budget: ExportBudget,
    filter: EventFilter,
    format: Format,
) -> Result<Response, ApiError> {
    let (store, place) = budget.take()?;
    let now = Utc::now();
    let header = match format {
        Format::Csv => Some(format!("{}\r\n", csv_header())),
        Format::Ndjson => None,
    };
    let rows = store
        .stream_matching(filter, now)
        .await?
        .ready_chunks(ROWS_PER_CHUNK)
        .map(move |batch| {
            let mut chunk = String::new();
            for event in batch {
                match event {
                    Ok(event) => encode(format, &event, &mut chunk),
                    Err(err) => {
                        tracing::error!(%err, "export ended early");
                        return Err(err);
                    }
                }
            }
            let _held = &place;
            Ok(Bytes::from(chunk))
        });
    let body = futures::stream::iter(header.map(|h| Ok(Bytes::from(h)))).chain(rows);
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    let disposition = format!(
        "attachment; filename=\"vigil-events-{}.{extension}\"",
        now.format("%Y%m%dT%H%M%SZ")
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

fn encode(format: Format, event: &StoredEvent, out: &mut String) {
    match format {
        Format::Ndjson => {
            out.push_str(&serde_json::to_string(event).expect("a StoredEvent always serializes"));
            out.push('\n');
        }
        Format::Csv => out.push_str(&csv_record(csv_cells(event))),
    }
}

/// One CSV record with its CRLF line end (RFC 4180).
pub fn csv_record<C: AsRef<str>>(cells: impl Iterator<Item = Option<C>>) -> String {
    let mut line = String::new();
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            line.push(',');
        }
        if let Some(cell) = cell {
            csv_cell(cell.as_ref(), &mut line);
        }
    }
    line.push_str("\r\n");
    line
}

/// Appends one cell, always quoted (quotes doubled): where a spreadsheet's separator is `;`, an
/// unquoted `x;=1+1` would become two cells, the second a formula. Text a spreadsheet would read
/// as a formula also gets a leading `'` (OWASP's CSV injection advice), since exported values
/// come from whoever sent the events.
fn csv_cell(value: &str, out: &mut String) {
    out.push('"');
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: &str) -> String {
        let mut out = String::new();
        csv_cell(value, &mut out);
        out
    }

    #[test]
    fn every_cell_is_quoted() {
        assert_eq!(cell("alice"), "\"alice\"");
        assert_eq!(cell("10.0.0.1"), "\"10.0.0.1\"");
        assert_eq!(cell(""), "\"\"");
        assert_eq!(
            cell("x;=1+1"),
            "\"x;=1+1\"",
            "one cell whatever the separator"
        );
    }

    #[test]
    fn rfc_4180_quoting_doubles_quotes() {
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("cr\rhere"), "\"cr\rhere\"");
    }

    #[test]
    fn formula_starts_are_neutralised() {
        assert_eq!(cell("=1+2"), "\"'=1+2\"");
        assert_eq!(cell("+1"), "\"'+1\"");
        assert_eq!(cell("-2"), "\"'-2\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("\tx"), "\"'\tx\"");
        assert_eq!(cell("\rx"), "\"'\rx\"");
        assert_eq!(
            cell("=HYPERLINK(\"http://evil\",\"x\")"),
            "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""
        );
        assert_eq!(cell("a=b"), "\"a=b\"", "only a leading sign is a formula");
    }

    #[test]
    fn records_end_in_crlf_and_leave_nulls_empty() {
        let cells = [Some("1".to_owned()), None, Some("x,y".to_owned())];
        assert_eq!(csv_record(cells.into_iter()), "\"1\",,\"x,y\"\r\n");
    }
}
