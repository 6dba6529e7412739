//! Debezium's snapshot notifications (`notification.enabled.channels`):
//! the initial (and blocking) snapshot and the incremental snapshot
//! report their progress as `Notification`s, written to the log (`log`)
//! and as records on `notification.sink.topic.name` (`sink`), as
//! Debezium's `InitialSnapshotNotificationService`,
//! `IncrementalSnapshotNotificationService` and channels write them.

use ferry_api::data::{Schema, SchemaBuilder, Struct, Value};
use tracing::info;

use crate::config::Notifications;

/// `aggregate_type` of the initial and blocking snapshots' notifications.
pub const INITIAL_SNAPSHOT: &str = "Initial Snapshot";
/// `aggregate_type` of the incremental snapshot's notifications.
pub const INCREMENTAL_SNAPSHOT: &str = "Incremental Snapshot";

/// One notification before it is sent: Debezium's `Notification` without
/// its clock, and with `connector_name` still to be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub aggregate_type: &'static str,
    /// `STARTED`, `IN_PROGRESS`, `TABLE_SCAN_COMPLETED`, `COMPLETED`, …
    pub kind: &'static str,
    /// The incremental snapshot's correlation id (its signal's id); a
    /// random UUID when `None`, as Debezium's.
    pub id: Option<String>,
    /// `additional_data`, in the order Debezium's `Map.of` lists it.
    pub data: Vec<(&'static str, String)>,
}

impl Notice {
    pub fn new(aggregate_type: &'static str, kind: &'static str) -> Self {
        Notice {
            aggregate_type,
            kind,
            id: None,
            data: Vec::new(),
        }
    }

    pub fn id(mut self, id: Option<&str>) -> Self {
        self.id = id.map(str::to_owned);
        self
    }

    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.data.push((key, value.into()));
        self
    }
}

/// Where notices are kept until the task sends them: `None` when no
/// channel is enabled, so that nothing is built for nobody.
#[derive(Debug, Default)]
pub struct Outbox(Option<Vec<Notice>>);

impl Outbox {
    pub fn new(enabled: bool) -> Self {
        Outbox(enabled.then(Vec::new))
    }

    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Keeps the notice `make` builds, when a channel will take it.
    pub fn push(&mut self, make: impl FnOnce() -> Notice) {
        if let Some(notices) = &mut self.0 {
            notices.push(make());
        }
    }

    pub fn take(&mut self) -> Vec<Notice> {
        self.0.as_mut().map(std::mem::take).unwrap_or_default()
    }
}

/// A notification's record for the `sink` channel.
pub struct NotificationRecord {
    pub topic: String,
    pub key_schema: Schema,
    pub key: Struct,
    pub value_schema: Schema,
    pub value: Struct,
}

/// Sends notices on the enabled channels.
pub struct Notifier {
    log: bool,
    sink_topic: Option<String>,
    /// `connector_name`: the connector's logical name, `topic.prefix`.
    logical_name: String,
    key_schema: Schema,
    value_schema: Schema,
}

impl Notifier {
    /// `None` when no channel is enabled.
    pub fn new(channels: &Notifications, logical_name: &str) -> Option<Self> {
        if !channels.enabled() {
            return None;
        }
        let key_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.NotificationKey")
            .version(1)
            .field("id", Schema::string())
            .build();
        let value_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.Notification")
            .version(1)
            .field("id", Schema::string())
            .field("type", Schema::string())
            .field("aggregate_type", Schema::string())
            .field(
                "additional_data",
                SchemaBuilder::map(Schema::string(), Schema::string())
                    .optional()
                    .build(),
            )
            .field("timestamp", Schema::int64())
            .build();
        Some(Notifier {
            log: channels.log,
            sink_topic: channels.sink_topic.clone(),
            logical_name: logical_name.to_owned(),
            key_schema,
            value_schema,
        })
    }

    /// Logs `notice` (`log`) and returns its record (`sink`).
    pub fn send(&self, notice: Notice, timestamp_ms: i64) -> Option<NotificationRecord> {
        let id = notice.id.unwrap_or_else(|| {
            uuid::Builder::from_random_bytes(crate::task::random_bytes())
                .into_uuid()
                .to_string()
        });
        let data = java_hash_map_order(notice.data, ("connector_name", self.logical_name.clone()));
        if self.log {
            let map = data
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            info!(
                "[Notification Service]  {{id='{id}', aggregateType='{}', type='{}', additionalData={{{map}}}, timestamp={timestamp_ms}}}",
                notice.aggregate_type, notice.kind
            );
        }
        let topic = self.sink_topic.clone()?;
        let mut key = Struct::new(self.key_schema.clone()).ok()?;
        key.set("id", Value::String(id.clone())).ok()?;
        let mut value = Struct::new(self.value_schema.clone()).ok()?;
        let map = data
            .into_iter()
            .map(|(k, v)| (Value::String(k.to_owned()), Value::String(v)))
            .collect();
        for (field, v) in [
            ("id", Value::String(id)),
            ("type", Value::String(notice.kind.to_owned())),
            (
                "aggregate_type",
                Value::String(notice.aggregate_type.to_owned()),
            ),
            ("additional_data", Value::Map(map)),
            ("timestamp", Value::Int64(timestamp_ms)),
        ] {
            value.set(field, v).ok()?;
        }
        Some(NotificationRecord {
            topic,
            key_schema: self.key_schema.clone(),
            key,
            value_schema: self.value_schema.clone(),
            value,
        })
    }
}

/// The order a `java.util.HashMap` iterates the entries in when built as
/// Debezium builds `additional_data`: `new HashMap<>(Map.of(first…))`,
/// then `put(last)`. A HashMap iterates its table's buckets in order, a
/// bucket's entries in insertion order; its table is sized for the map it
/// copies and doubles past three quarters full. (Keys sharing a bucket
/// come in `Map.of`'s order, which Java randomizes per run; Debezium's
/// keys do not share one.)
fn java_hash_map_order<V>(
    first: Vec<(&'static str, V)>,
    last: (&'static str, V),
) -> Vec<(&'static str, V)> {
    let copied = first.len();
    let mut capacity: usize = if copied == 0 {
        16
    } else {
        // tableSizeFor((int) (size / 0.75f + 1.0f))
        ((copied as f32 / 0.75 + 1.0) as usize).next_power_of_two()
    };
    while copied + 1 > capacity * 3 / 4 {
        capacity *= 2;
    }
    let mut entries = first;
    entries.push(last);
    ferry_java::hash::in_bucket_order(entries, capacity, |(k, _)| k)
}

/// The order a `java.util.HashSet` copied from `names` (as
/// `new HashSet<>(collection)`) iterates them in: Debezium lists the
/// tables an initial snapshot reads so.
pub fn java_hash_set_order(names: Vec<String>) -> Vec<String> {
    // max((int) (size / .75f) + 1, 16), rounded up to a power of two.
    let capacity = ((names.len() as f32 / 0.75) as usize + 1)
        .max(16)
        .next_power_of_two();
    ferry_java::hash::in_bucket_order(names, capacity, |n| n.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order a JDK 17 printed for `new HashSet<>(List.of(…))`.
    #[test]
    fn table_sets_in_the_order_java_iterates_them() {
        let names = [
            "public.orders",
            "public.customers",
            "public.signal",
            "inventory.items",
            "public.cdc_notes_1",
            "public.cdc_notes_2",
        ];
        assert_eq!(
            java_hash_set_order(names.iter().map(|n| n.to_string()).collect()).join(","),
            "public.orders,public.customers,public.signal,public.cdc_notes_1,inventory.items,public.cdc_notes_2"
        );
    }

    /// Orders a JDK 17 printed for `new HashMap<>(Map.of(…))` plus
    /// `put("connector_name", …)`, over three runs: keys that share a
    /// bucket (`data_collections` with `status` or `last_processed_key`)
    /// came in either order, as `Map.of` iterates in a random order.
    #[test]
    fn additional_data_in_the_order_java_iterates_it() {
        let order = |first: &[&'static str]| {
            java_hash_map_order(
                first.iter().map(|k| (*k, ())).collect(),
                ("connector_name", ()),
            )
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
            .join(",")
        };
        assert_eq!(order(&[]), "connector_name");
        assert_eq!(
            order(&["data_collections"]),
            "connector_name,data_collections"
        );
        assert_eq!(
            order(&["current_collection_in_progress", "data_collections"]),
            "current_collection_in_progress,connector_name,data_collections"
        );
        assert_eq!(
            order(&["data_collections", "current_collection_in_progress", "maximum_key", "last_processed_key"]),
            "current_collection_in_progress,connector_name,maximum_key,data_collections,last_processed_key"
        );
        assert_eq!(
            order(&[
                "data_collections",
                "scanned_collection",
                "total_rows_scanned",
                "status"
            ]),
            "scanned_collection,connector_name,total_rows_scanned,data_collections,status"
        );
    }
}
