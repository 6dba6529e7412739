//! Schemas and values of the generated records.

use ferry_api::{DataError, Schema, SchemaBuilder, Struct, Value};

use crate::config::{FieldType, Quickstart, SchemaSpec};
use crate::rng::Rng;

/// `registertime` / `ordertime` range of Confluent's quickstarts.
const TIME_MIN: i64 = 1_487_715_775_521;
const TIME_MAX: i64 = 1_519_273_364_600;

/// Fields of a quickstart that can serve as the key.
pub fn quickstart_key_fields(q: Quickstart) -> &'static [&'static str] {
    match q {
        Quickstart::Users => &["registertime", "userid", "regionid", "gender"],
        Quickstart::Pageviews => &["viewtime", "userid", "pageid"],
        Quickstart::Orders => &["ordertime", "orderid", "itemid", "orderunits"],
    }
}

fn default_key_field(q: Quickstart) -> &'static str {
    match q {
        Quickstart::Users => "userid",
        Quickstart::Pageviews => "viewtime",
        Quickstart::Orders => "orderid",
    }
}

fn quickstart_schema(q: Quickstart) -> Schema {
    match q {
        Quickstart::Users => SchemaBuilder::struct_()
            .name("ksql.users")
            .field("registertime", Schema::int64())
            .field("userid", Schema::string())
            .field("regionid", Schema::string())
            .field("gender", Schema::string())
            .build(),
        Quickstart::Pageviews => SchemaBuilder::struct_()
            .name("ksql.pageviews")
            .field("viewtime", Schema::int64())
            .field("userid", Schema::string())
            .field("pageid", Schema::string())
            .build(),
        Quickstart::Orders => {
            let address = SchemaBuilder::struct_()
                .name("ksql.address")
                .field("city", Schema::string())
                .field("state", Schema::string())
                .field("zipcode", Schema::int64())
                .build();
            SchemaBuilder::struct_()
                .name("ksql.orders")
                .field("ordertime", Schema::int64())
                .field("orderid", Schema::int32())
                .field("itemid", Schema::string())
                .field("orderunits", Schema::float64())
                .field("address", address)
                .build()
        }
    }
}

fn flat_schema(fields: &[(String, FieldType)]) -> Schema {
    fields
        .iter()
        .fold(
            SchemaBuilder::struct_().name("datagen.Record"),
            |b, (name, t)| {
                let s = match t {
                    FieldType::Int8 => Schema::int8(),
                    FieldType::Int16 => Schema::int16(),
                    FieldType::Int32 => Schema::int32(),
                    FieldType::Int64 => Schema::int64(),
                    FieldType::Float32 => Schema::float32(),
                    FieldType::Float64 => Schema::float64(),
                    FieldType::Boolean => Schema::boolean(),
                    FieldType::String => Schema::string(),
                    FieldType::Bytes => Schema::bytes(),
                };
                b.field(name.clone(), s)
            },
        )
        .build()
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn flat_value(rng: &mut Rng, t: FieldType) -> Value {
    match t {
        FieldType::Int8 => Value::Int8(rng.range_i64(0, i64::from(i8::MAX)) as i8),
        FieldType::Int16 => Value::Int16(rng.range_i64(0, i64::from(i16::MAX)) as i16),
        FieldType::Int32 => Value::Int32(rng.range_i64(0, 999_999) as i32),
        FieldType::Int64 => Value::Int64(rng.range_i64(0, 999_999)),
        FieldType::Float32 => Value::Float32((rng.unit_f64() * 100.0) as f32),
        FieldType::Float64 => Value::Float64(rng.unit_f64() * 100.0),
        FieldType::Boolean => Value::Boolean(rng.boolean()),
        FieldType::String => Value::String(
            (0..8)
                .map(|_| char::from(*rng.pick(ALNUM)))
                .collect::<String>(),
        ),
        FieldType::Bytes => Value::Bytes((0..8).map(|_| rng.next_u64() as u8).collect()),
    }
}

/// `prefix` followed by a number in `1..=max`.
fn numbered(rng: &mut Rng, prefix: &str, max: i64) -> Value {
    Value::String(format!("{prefix}{}", rng.range_i64(1, max)))
}

/// Generates record `i` of one task.
#[derive(Debug, Clone)]
pub struct Generator {
    spec: SchemaSpec,
    schema: Schema,
    key_field: Option<String>,
    seed: u64,
    task: u32,
}

impl Generator {
    /// `key_field` must be a field of the schema (the config checks it);
    /// `None` takes the schema's default.
    pub fn new(spec: SchemaSpec, key_field: Option<String>, seed: u64, task: u32) -> Self {
        let (schema, key_field) = match &spec {
            SchemaSpec::Quickstart(q) => (
                quickstart_schema(*q),
                key_field.or_else(|| Some(default_key_field(*q).to_owned())),
            ),
            SchemaSpec::Flat(fields) => (flat_schema(fields), key_field),
        };
        Generator {
            spec,
            schema,
            key_field,
            seed,
            task,
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn has_key(&self) -> bool {
        self.key_field.is_some()
    }

    /// The key (the key field as a string, if any) and value of record `i`.
    pub fn record(&self, i: u64) -> Result<(Option<String>, Struct), DataError> {
        let mut rng = Rng::for_record(self.seed, self.task, i);
        let mut s = Struct::new(self.schema.clone())?;
        match &self.spec {
            SchemaSpec::Quickstart(Quickstart::Users) => {
                s.set(
                    "registertime",
                    Value::Int64(rng.range_i64(TIME_MIN, TIME_MAX)),
                )?;
                s.set("userid", numbered(&mut rng, "User_", 9))?;
                s.set("regionid", numbered(&mut rng, "Region_", 9))?;
                let gender = *rng.pick(&["MALE", "FEMALE", "OTHER"]);
                s.set("gender", Value::String(gender.to_owned()))?;
            }
            SchemaSpec::Quickstart(Quickstart::Pageviews) => {
                // As the quickstart: an iteration starting at 1, step 10.
                s.set("viewtime", Value::Int64((i as i64).wrapping_mul(10) + 1))?;
                s.set("userid", numbered(&mut rng, "User_", 9))?;
                s.set("pageid", numbered(&mut rng, "Page_", 99))?;
            }
            SchemaSpec::Quickstart(Quickstart::Orders) => {
                s.set("ordertime", Value::Int64(rng.range_i64(TIME_MIN, TIME_MAX)))?;
                s.set("orderid", Value::Int32(i as i32))?;
                s.set("itemid", numbered(&mut rng, "Item_", 999))?;
                s.set("orderunits", Value::Float64(0.1 + rng.unit_f64() * 9.9))?;
                let address_schema = self
                    .schema
                    .field("address")
                    .map(|f| f.schema.clone())
                    .ok_or_else(|| DataError::Invalid("orders schema without address".into()))?;
                let mut address = Struct::new(address_schema)?;
                address.set("city", numbered(&mut rng, "City_", 99))?;
                address.set("state", numbered(&mut rng, "State_", 99))?;
                address.set("zipcode", Value::Int64(rng.range_i64(10_000, 99_999)))?;
                s.set("address", Value::Struct(address))?;
            }
            SchemaSpec::Flat(fields) => {
                for (name, t) in fields {
                    s.set(name, flat_value(&mut rng, *t))?;
                }
            }
        }
        let key = match &self.key_field {
            Some(k) => s.get(k).map(key_string),
            None => None,
        };
        Ok((key, s))
    }
}

fn key_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Int8(n) => n.to_string(),
        Value::Int16(n) => n.to_string(),
        Value::Int32(n) => n.to_string(),
        Value::Int64(n) => n.to_string(),
        Value::Float32(n) => n.to_string(),
        Value::Float64(n) => n.to_string(),
        Value::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_fields;

    #[test]
    fn same_seed_and_task_give_the_same_records() {
        for q in [Quickstart::Users, Quickstart::Pageviews, Quickstart::Orders] {
            let a = Generator::new(SchemaSpec::Quickstart(q), None, 42, 0);
            let b = Generator::new(SchemaSpec::Quickstart(q), None, 42, 0);
            for i in 0..100 {
                assert_eq!(a.record(i).unwrap(), b.record(i).unwrap());
            }
        }
    }

    #[test]
    fn tasks_and_seeds_give_different_streams() {
        let spec = SchemaSpec::Quickstart(Quickstart::Users);
        let base: Vec<_> = (0..20)
            .map(|i| Generator::new(spec.clone(), None, 1, 0).record(i).unwrap())
            .collect();
        let other_task: Vec<_> = (0..20)
            .map(|i| Generator::new(spec.clone(), None, 1, 1).record(i).unwrap())
            .collect();
        let other_seed: Vec<_> = (0..20)
            .map(|i| Generator::new(spec.clone(), None, 2, 0).record(i).unwrap())
            .collect();
        assert_ne!(base, other_task);
        assert_ne!(base, other_seed);
    }

    #[test]
    fn users_records_follow_the_quickstart() {
        let g = Generator::new(SchemaSpec::Quickstart(Quickstart::Users), None, 3, 0);
        for i in 0..200 {
            let (key, v) = g.record(i).unwrap();
            v.validate().unwrap();
            let userid = v.get("userid").and_then(Value::as_str).unwrap();
            assert_eq!(key.as_deref(), Some(userid));
            assert!(userid.starts_with("User_"));
            assert!(v
                .get("regionid")
                .and_then(Value::as_str)
                .unwrap()
                .starts_with("Region_"));
            assert!(
                ["MALE", "FEMALE", "OTHER"].contains(&v.get("gender").unwrap().as_str().unwrap())
            );
            match v.get("registertime") {
                Some(Value::Int64(t)) => assert!((TIME_MIN..=TIME_MAX).contains(t)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn orders_have_a_nested_address_and_sequential_ids() {
        let g = Generator::new(SchemaSpec::Quickstart(Quickstart::Orders), None, 3, 0);
        for i in 0..50 {
            let (key, v) = g.record(i).unwrap();
            v.validate().unwrap();
            assert_eq!(key, Some(i.to_string()));
            let Some(Value::Struct(a)) = v.get("address") else {
                panic!("address")
            };
            a.validate().unwrap();
            match v.get("orderunits") {
                Some(Value::Float64(u)) => assert!((0.1..10.0).contains(u)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn flat_schema_has_the_configured_fields_and_key() {
        let fields = parse_fields("id:int64, name:string,score:float64,active:boolean").unwrap();
        let g = Generator::new(SchemaSpec::Flat(fields), Some("name".into()), 9, 0);
        let names: Vec<_> = g
            .schema()
            .fields()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, ["id", "name", "score", "active"]);
        let (key, v) = g.record(0).unwrap();
        v.validate().unwrap();
        assert_eq!(key.as_deref(), v.get("name").and_then(Value::as_str));
        let unkeyed = Generator::new(
            SchemaSpec::Flat(parse_fields("id:int32").unwrap()),
            None,
            9,
            0,
        );
        assert!(!unkeyed.has_key());
        assert_eq!(unkeyed.record(0).unwrap().0, None);
    }
}
