use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use ferry_api::config::{ConfigDef, Importance, Key};
use ferry_api::{
    ConnectError, Connector, ConnectorContext, Props, SinkRecord, SinkTask, SinkTaskContext,
    TopicPartition, Value,
};

pub const FILE: Key<Option<String>> = Key::new("file");

fn config_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    d.define_key(FILE)
        .importance(Importance::High)
        .doc("Destination filename. If not specified, the standard output will be used");
    d
}

#[derive(Default)]
pub struct FileStreamSinkConnector {
    props: Props,
}

#[async_trait]
impl Connector for FileStreamSinkConnector {
    fn version(&self) -> String {
        crate::VERSION.into()
    }
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
    async fn start(
        &mut self,
        props: Props,
        _ctx: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError> {
        self.props = props;
        Ok(())
    }
    /// Every task writes the same file, as in Kafka Connect.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        let mut cfg = Props::new();
        if let Some(f) = self.props.get(FILE.name()) {
            cfg.insert(FILE.name().into(), f.clone());
        }
        Ok(vec![cfg; max_tasks])
    }
    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

#[derive(Default)]
pub struct FileStreamSinkTask {
    out: Option<Box<dyn Write + Send>>,
    /// A batch's lines, written with one call. Grows to the largest batch
    /// rather than being allocated up front, so that an idle task (one of
    /// many on a topic with few partitions) costs nothing.
    lines: Vec<u8>,
    filename: Option<String>,
}

/// Writes a value as `PrintStream.println(Object)` would show it for the
/// common types; structured values are written as JSON-like text.
fn write_value(out: &mut impl Write, v: &Value) -> std::io::Result<()> {
    match v {
        Value::Null => out.write_all(b"null"),
        Value::String(s) => out.write_all(s.as_bytes()),
        Value::Boolean(b) => write!(out, "{b}"),
        Value::Int8(n) => write!(out, "{n}"),
        Value::Int16(n) => write!(out, "{n}"),
        Value::Int32(n) | Value::Date(n) | Value::Time(n) => write!(out, "{n}"),
        Value::Int64(n) | Value::Timestamp(n) => write!(out, "{n}"),
        Value::Float32(n) => write!(out, "{n}"),
        Value::Float64(n) => write!(out, "{n}"),
        Value::Decimal(d) => write!(out, "{d}"),
        Value::Bytes(b) => write!(out, "{b:?}"),
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b", ")?;
                }
                write_value(out, item)?;
            }
            out.write_all(b"]")
        }
        Value::Map(entries) => {
            out.write_all(b"{")?;
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.write_all(b", ")?;
                }
                write_value(out, k)?;
                out.write_all(b"=")?;
                write_value(out, item)?;
            }
            out.write_all(b"}")
        }
        Value::Struct(s) => {
            out.write_all(b"Struct{")?;
            let mut first = true;
            for f in s.schema().fields() {
                let v = s.get_at(f.index);
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.write_all(b",")?;
                }
                first = false;
                write!(out, "{}=", f.name)?;
                write_value(out, v)?;
            }
            out.write_all(b"}")
        }
    }
}

#[async_trait]
impl SinkTask for FileStreamSinkTask {
    async fn start(
        &mut self,
        props: Props,
        _context: Arc<SinkTaskContext>,
    ) -> Result<(), ConnectError> {
        let cfg = config_def()
            .parse(&props)
            .map_err(|e| ConnectError::config(e.message))?;
        self.filename = cfg.get(FILE).filter(|f| !f.is_empty());
        let writer: Box<dyn Write + Send> = match &self.filename {
            Some(name) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(name)
                    .map_err(|e| {
                        ConnectError::caused_by(
                            format!("Couldn't find or create file '{name}' for FileStreamSinkTask"),
                            e,
                        )
                    })?,
            ),
            None => Box::new(std::io::stdout()),
        };
        self.out = Some(writer);
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| ConnectError::other("FileStreamSinkTask was not started"))?;
        self.lines.clear();
        for r in &records {
            write_value(&mut self.lines, &r.value)?;
            self.lines.push(b'\n');
        }
        // Like Kafka Connect's PrintStream, lines reach the file as they are
        // put (one write per batch).
        out.write_all(&self.lines)?;
        out.flush()?;
        Ok(())
    }

    /// Everything put so far reaches the file before offsets are committed.
    async fn flush(
        &mut self,
        _offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ConnectError> {
        if let Some(out) = self.out.as_mut() {
            out.flush()?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        if let Some(mut out) = self.out.take() {
            out.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ferry_api::testkit::{props, sink_record, SinkHarness};
    use ferry_api::{Schema, SchemaBuilder, Struct};

    use super::*;

    #[tokio::test]
    async fn records_become_lines_before_their_offsets_are_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let mut sink = SinkHarness::new(FileStreamSinkTask::default());
        sink.start(props(&[("file", path.to_str().expect("utf-8 path"))]))
            .await
            .unwrap();
        let tp = TopicPartition::new("lines", 0);
        sink.open(std::slice::from_ref(&tp)).await.unwrap();
        let schema = SchemaBuilder::struct_()
            .field("id", Schema::int32())
            .field("name", Schema::optional_string())
            .build();
        let row = Struct::new(schema)
            .and_then(|s| s.put("id", 7))
            .expect("a struct");
        sink.put(vec![
            sink_record("lines", 0, 0, Value::from("plain")),
            sink_record("lines", 0, 1, Value::Int64(42)),
            sink_record("lines", 0, 2, Value::Struct(row)),
            sink_record("lines", 0, 3, Value::Null),
        ])
        .await
        .unwrap();
        let committed = sink.commit().await.unwrap();
        assert_eq!(committed, BTreeMap::from([(tp, 4)]));
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written, "plain\n42\nStruct{id=7}\nnull\n");
        sink.stop().await.unwrap();
    }
}
