//! Connect values in Avro's binary encoding, walking the
//! [`AvroSchema`](crate::AvroSchema) made from their Connect schema (as
//! `AvroData.fromConnectData` then `GenericDatumWriter` write them).

use ferry_api::Value;

use crate::schema::AvroSchema;
use crate::AvroError;

/// Appends `v` encoded as `schema` to `out`.
pub fn encode(schema: &AvroSchema, v: &Value, out: &mut Vec<u8>) -> Result<(), AvroError> {
    match (schema, v) {
        (AvroSchema::Optional { inner, null_first }, Value::Null) => {
            long(out, if *null_first { 0 } else { 1 });
            let _ = inner;
        }
        (AvroSchema::Optional { inner, null_first }, v) => {
            long(out, if *null_first { 1 } else { 0 });
            encode(inner, v, out)?;
        }
        (AvroSchema::Null, Value::Null) => {}
        (AvroSchema::Boolean, Value::Boolean(b)) => out.push(u8::from(*b)),
        (AvroSchema::Int, Value::Int8(n)) => long(out, i64::from(*n)),
        (AvroSchema::Int, Value::Int16(n)) => long(out, i64::from(*n)),
        (AvroSchema::Int, Value::Int32(n) | Value::Date(n) | Value::Time(n)) => {
            long(out, i64::from(*n))
        }
        (AvroSchema::Long, Value::Int64(n) | Value::Timestamp(n)) => long(out, *n),
        (AvroSchema::Float, Value::Float32(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (AvroSchema::Double, Value::Float64(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (AvroSchema::String, Value::String(s)) => bytes(out, s.as_bytes()),
        (AvroSchema::Enum(symbols), Value::String(s)) => {
            let i = symbols
                .iter()
                .position(|x| x == s)
                .ok_or_else(|| AvroError::Value(format!("'{s}' is not a symbol of the enum")))?;
            long(out, i as i64);
        }
        (AvroSchema::Bytes, Value::Bytes(b)) => bytes(out, b),
        (AvroSchema::Bytes, Value::Decimal(d)) => bytes(out, &d.unscaled_bytes()),
        // At the schema's scale, exactly (as AvroData refuses a value it
        // would have to round).
        (AvroSchema::Decimal { scale }, Value::Decimal(d)) => {
            let d = d
                .with_scale(*scale)
                .map_err(|e| AvroError::Value(e.to_string()))?;
            bytes(out, &d.unscaled_bytes());
        }
        (AvroSchema::Fixed(size), Value::Bytes(b)) if b.len() == *size => out.extend_from_slice(b),
        (AvroSchema::Array(item), Value::Array(items)) => {
            if !items.is_empty() {
                long(out, items.len() as i64);
                for x in items {
                    encode(item, x, out)?;
                }
            }
            long(out, 0);
        }
        (AvroSchema::Map(value), Value::Map(entries)) => {
            if !entries.is_empty() {
                long(out, entries.len() as i64);
                for (k, x) in entries {
                    let Value::String(k) = k else {
                        return Err(AvroError::Value(format!(
                            "a map key is a {}, not a string",
                            k.kind_name()
                        )));
                    };
                    bytes(out, k.as_bytes());
                    encode(value, x, out)?;
                }
            }
            long(out, 0);
        }
        (AvroSchema::EntryArray(key, value), Value::Map(entries)) => {
            if !entries.is_empty() {
                long(out, entries.len() as i64);
                for (k, x) in entries {
                    encode(key, k, out)?;
                    encode(value, x, out)?;
                }
            }
            long(out, 0);
        }
        (AvroSchema::Record(fields), Value::Struct(s)) => {
            if fields.len() != s.values().len() {
                return Err(AvroError::Value(
                    "a struct whose fields are not its schema's".into(),
                ));
            }
            for (f, x) in fields.iter().zip(s.values()) {
                encode(f, x, out)?;
            }
        }
        (schema, v) => {
            return Err(AvroError::Value(format!(
                "a {} value cannot be written as Avro {}",
                v.kind_name(),
                schema.type_name()
            )))
        }
    }
    Ok(())
}

/// A zig-zag varint (Avro's `int` and `long`).
pub fn long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Length-prefixed bytes (Avro's `bytes` and `string`).
pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    long(out, b.len() as i64);
    out.extend_from_slice(b);
}

impl AvroSchema {
    pub fn type_name(&self) -> &'static str {
        match self {
            AvroSchema::Null => "null",
            AvroSchema::Boolean => "boolean",
            AvroSchema::Int => "int",
            AvroSchema::Long => "long",
            AvroSchema::Float => "float",
            AvroSchema::Double => "double",
            AvroSchema::Bytes | AvroSchema::Decimal { .. } => "bytes",
            AvroSchema::String => "string",
            AvroSchema::Enum(_) => "enum",
            AvroSchema::Fixed(_) => "fixed",
            AvroSchema::Array(_) | AvroSchema::EntryArray(..) => "array",
            AvroSchema::Map(_) => "map",
            AvroSchema::Record(_) => "record",
            AvroSchema::Optional { inner, .. } => inner.type_name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag() {
        for (n, want) in [
            (0i64, vec![0u8]),
            (-1, vec![1]),
            (1, vec![2]),
            (-64, vec![0x7f]),
            (64, vec![0x80, 1]),
        ] {
            let mut out = Vec::new();
            long(&mut out, n);
            assert_eq!(out, want, "{n}");
        }
    }
}
