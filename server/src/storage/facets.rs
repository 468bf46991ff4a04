//! Facets: the top values of seven columns among a filter's newest matching events, counted in
//! one statement over one sample, within the raw-row budget and with JIT off.

use sqlx::{Postgres, QueryBuilder};
use vigil_wire::EventFilter;
use vigil_wire::{Facet, FacetField, Facets, Ranked};

use super::{EventStore, StorageError};

/// Events a facet panel counts: the newest this many matches. Reading them is one index range
/// whatever the table's size; the panel says when there were more.
pub const FACET_SAMPLE: i64 = 1_000;
/// Values shown per column.
pub const FACET_VALUES: i64 = 8;

/// The expression a facet ranks, in `events`.
fn column(field: FacetField) -> &'static str {
    match field {
        FacetField::IpAddress => "host(ip_address)",
        other => other.as_str(),
    }
}

impl EventStore {
    /// The facets of `filter` over its newest `sample` matching events. `None`: counting ran
    /// over the raw-row budget ("refine your filter").
    #[tracing::instrument(skip(self))]
    pub async fn facets(
        &self,
        filter: &EventFilter,
        sample: i64,
    ) -> Result<Option<Facets>, StorageError> {
        let columns: Vec<String> = (FacetField::ALL.iter())
            .map(|f| format!("{} as {}", column(*f), f.as_str()))
            .collect();
        let mut sql = QueryBuilder::<Postgres>::new("with sample as materialized (");
        let walked =
            (self.push_newest(&mut sql, &columns.join(", "), filter, None, sample)).await?;
        sql.push("), counted as (");
        for (i, field) in FacetField::ALL.iter().enumerate() {
            if i > 0 {
                sql.push(" union all ");
            }
            let name = field.as_str();
            sql.push(format!(
                "select '{name}' as field, {name}::text as value, count(*) as n \
                 from sample where {name} is not null group by 2"
            ));
        }
        sql.push(
            "), ranked as (select field, value, n, \
             row_number() over (partition by field order by n desc, value) as place from counted) \
             select field, value, n, (select count(*) from sample) from ranked where place <= ",
        )
        .push_bind(FACET_VALUES)
        .push(" order by field, place");
        let Some(rows) = self
            .fetch_budgeted::<(String, String, i64, i64)>(sql, walked)
            .await?
        else {
            return Ok(None);
        };
        let counted = rows.first().map_or(0, |r| r.3);
        let fields = (FacetField::ALL.into_iter())
            .map(|field| Facet {
                field,
                values: (rows.iter())
                    .filter(|r| r.0 == field.as_str())
                    .map(|r| Ranked {
                        value: r.1.clone(),
                        count: r.2,
                    })
                    .collect(),
            })
            .collect();
        Ok(Some(Facets {
            counted: counted as u64,
            sample_limit: sample as u64,
            fields,
        }))
    }
}
