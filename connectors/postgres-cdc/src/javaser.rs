//! The incremental snapshot's key positions as Debezium stores them in
//! its offsets: an `Object[]` written by Java's `ObjectOutputStream`, in
//! hex (`AbstractIncrementalSnapshotContext.arrayToSerializedString`).
//!
//! Only what a primary key read over JDBC from PostgreSQL holds in
//! practice is written and read: `Integer` (`int2`, `int4`), `Long`,
//! `Boolean`, `String` (also the text of time and timestamp columns,
//! which Debezium reads as text), `java.util.UUID`, `java.math.BigDecimal`
//! (`numeric`), `java.sql.Date`, and nulls. The test vectors come from a
//! JDK (`golden/JavaSerialization.java`).

use std::collections::HashMap;
use std::rc::Rc;

/// One key column's value, as the JDBC driver hands it to Debezium.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyValue {
    Null,
    Bool(bool),
    Short(i16),
    Int(i32),
    Long(i64),
    Str(String),
    /// `(most significant bits, least significant bits)`.
    Uuid(u128),
    /// A `java.math.BigDecimal`, as PostgreSQL writes the number
    /// (`-12.50`): its digits are the unscaled value, its decimals the
    /// scale.
    Decimal(String),
    /// A `java.sql.Date`: days since 1970-01-01.
    Date(i32),
}

/// Serialized data Ferry cannot read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read a serialized key at byte {at}: {reason}")]
pub struct SerError {
    pub at: usize,
    pub reason: String,
}

const MAGIC: [u8; 4] = [0xac, 0xed, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_ENDBLOCKDATA: u8 = 0x78;
const TC_BLOCKDATA: u8 = 0x77;
const TC_BLOCKDATALONG: u8 = 0x7a;
/// The class has a `writeObject` method: its data ends with
/// `TC_ENDBLOCKDATA`, after any block data the method wrote.
const SC_WRITE_METHOD: u8 = 0x01;
const SC_SERIALIZABLE: u8 = 0x02;
const MILLIS_PER_DAY: i64 = 86_400_000;
const BASE_HANDLE: u32 = 0x7e_0000;

/// A class as the stream describes it: name, serialVersionUID, flags,
/// fields (type code, name, and for an object or array field its type
/// signature), and superclass.
struct ClassDesc {
    name: &'static str,
    uid: u64,
    flags: u8,
    fields: &'static [(u8, &'static str, Option<&'static str>)],
    superclass: Option<&'static ClassDesc>,
}

const OBJECT_ARRAY: ClassDesc = ClassDesc {
    name: "[Ljava.lang.Object;",
    uid: 0x90ce_589f_1073_296c,
    flags: SC_SERIALIZABLE,
    fields: &[],
    superclass: None,
};
const NUMBER: ClassDesc = ClassDesc {
    name: "java.lang.Number",
    uid: 0x86ac_951d_0b94_e08b,
    flags: SC_SERIALIZABLE,
    fields: &[],
    superclass: None,
};
const INTEGER: ClassDesc = ClassDesc {
    name: "java.lang.Integer",
    uid: 0x12e2_a0a4_f781_8738,
    flags: SC_SERIALIZABLE,
    fields: &[(b'I', "value", None)],
    superclass: Some(&NUMBER),
};
const LONG: ClassDesc = ClassDesc {
    name: "java.lang.Long",
    uid: 0x3b8b_e490_cc8f_23df,
    flags: SC_SERIALIZABLE,
    fields: &[(b'J', "value", None)],
    superclass: Some(&NUMBER),
};
const SHORT: ClassDesc = ClassDesc {
    name: "java.lang.Short",
    uid: 0x684d_3713_3460_da52,
    flags: SC_SERIALIZABLE,
    fields: &[(b'S', "value", None)],
    superclass: Some(&NUMBER),
};
const BOOLEAN: ClassDesc = ClassDesc {
    name: "java.lang.Boolean",
    uid: 0xcd20_7280_d59c_faee,
    flags: SC_SERIALIZABLE,
    fields: &[(b'Z', "value", None)],
    superclass: None,
};
const UUID: ClassDesc = ClassDesc {
    name: "java.util.UUID",
    uid: 0xbc99_03f7_986d_852f,
    flags: SC_SERIALIZABLE,
    fields: &[(b'J', "leastSigBits", None), (b'J', "mostSigBits", None)],
    superclass: None,
};
const BIG_DECIMAL: ClassDesc = ClassDesc {
    name: "java.math.BigDecimal",
    uid: 0x54c7_1557_f981_284f,
    flags: SC_SERIALIZABLE | SC_WRITE_METHOD,
    fields: &[
        (b'I', "scale", None),
        (b'L', "intVal", Some("Ljava/math/BigInteger;")),
    ],
    superclass: Some(&NUMBER),
};
const BIG_INTEGER: ClassDesc = ClassDesc {
    name: "java.math.BigInteger",
    uid: 0x8cfc_9f1f_a93b_fb1d,
    flags: SC_SERIALIZABLE | SC_WRITE_METHOD,
    fields: &[
        (b'I', "bitCount", None),
        (b'I', "bitLength", None),
        (b'I', "firstNonzeroByteNum", None),
        (b'I', "lowestSetBit", None),
        (b'I', "signum", None),
        (b'[', "magnitude", Some("[B")),
    ],
    superclass: Some(&NUMBER),
};
const BYTE_ARRAY: ClassDesc = ClassDesc {
    name: "[B",
    uid: 0xacf3_17f8_0608_54e0,
    flags: SC_SERIALIZABLE,
    fields: &[],
    superclass: None,
};
const SQL_DATE: ClassDesc = ClassDesc {
    name: "java.sql.Date",
    uid: 0x14fa_4668_3f35_6697,
    flags: SC_SERIALIZABLE,
    fields: &[],
    superclass: Some(&UTIL_DATE),
};
const UTIL_DATE: ClassDesc = ClassDesc {
    name: "java.util.Date",
    uid: 0x686a_8101_4b59_7419,
    flags: SC_SERIALIZABLE | SC_WRITE_METHOD,
    fields: &[],
    superclass: None,
};

/// Writes as `ObjectOutputStream` does: each class described once, then
/// referred to by handle; every object and string takes a handle.
struct Writer {
    out: Vec<u8>,
    next_handle: u32,
    classes: HashMap<&'static str, u32>,
}

impl Writer {
    fn handle(&mut self) -> u32 {
        let h = self.next_handle;
        self.next_handle += 1;
        h
    }

    fn utf(&mut self, s: &str) {
        let bytes = modified_utf8(s);
        self.out
            .extend_from_slice(&(bytes.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
        self.out.extend_from_slice(&bytes);
    }

    fn class(&mut self, desc: &'static ClassDesc) {
        if let Some(h) = self.classes.get(desc.name) {
            self.out.push(TC_REFERENCE);
            self.out.extend_from_slice(&h.to_be_bytes());
            return;
        }
        self.out.push(TC_CLASSDESC);
        self.utf(desc.name);
        self.out.extend_from_slice(&desc.uid.to_be_bytes());
        let h = self.handle();
        self.classes.insert(desc.name, h);
        self.out.push(desc.flags);
        self.out
            .extend_from_slice(&(desc.fields.len() as u16).to_be_bytes());
        for (code, name, signature) in desc.fields {
            self.out.push(*code);
            self.utf(name);
            if let Some(signature) = signature {
                self.out.push(TC_STRING);
                self.handle();
                self.utf(signature);
            }
        }
        self.out.push(TC_ENDBLOCKDATA);
        match desc.superclass {
            Some(s) => self.class(s),
            None => self.out.push(TC_NULL),
        }
    }

    fn value(&mut self, v: &KeyValue) {
        match v {
            KeyValue::Null => self.out.push(TC_NULL),
            KeyValue::Str(s) => {
                self.out.push(TC_STRING);
                self.handle();
                self.utf(s);
            }
            KeyValue::Decimal(text) => match decimal_parts(text) {
                Some((signum, magnitude, scale)) => self.big_decimal(signum, &magnitude, scale),
                // Not a finite number: never made by `KeyKind::value`.
                None => self.out.push(TC_NULL),
            },
            KeyValue::Date(days) => {
                self.out.push(TC_OBJECT);
                self.class(&SQL_DATE);
                self.handle();
                // java.util.Date's writeObject: the time in milliseconds
                // as block data. Midnight UTC: the JVM's zone is not known.
                self.out.extend_from_slice(&[TC_BLOCKDATA, 8]);
                let millis = i64::from(*days) * MILLIS_PER_DAY;
                self.out.extend_from_slice(&millis.to_be_bytes());
                self.out.push(TC_ENDBLOCKDATA);
            }
            other => {
                self.out.push(TC_OBJECT);
                let desc = match other {
                    KeyValue::Bool(_) => &BOOLEAN,
                    KeyValue::Short(_) => &SHORT,
                    KeyValue::Int(_) => &INTEGER,
                    KeyValue::Long(_) => &LONG,
                    _ => &UUID,
                };
                self.class(desc);
                self.handle();
                match other {
                    KeyValue::Bool(b) => self.out.push(u8::from(*b)),
                    KeyValue::Short(n) => self.out.extend_from_slice(&n.to_be_bytes()),
                    KeyValue::Int(n) => self.out.extend_from_slice(&n.to_be_bytes()),
                    KeyValue::Long(n) => self.out.extend_from_slice(&n.to_be_bytes()),
                    KeyValue::Uuid(u) => {
                        self.out.extend_from_slice(&(*u as u64).to_be_bytes());
                        self.out
                            .extend_from_slice(&((*u >> 64) as u64).to_be_bytes());
                    }
                    _ => {}
                }
            }
        }
    }

    /// A `BigDecimal` and its `BigInteger`, as their `writeObject` methods
    /// write them: default fields (BigInteger's cached values as -1 and
    /// -2, "not computed"), then the end of their block data.
    fn big_decimal(&mut self, signum: i32, magnitude: &[u8], scale: i32) {
        self.out.push(TC_OBJECT);
        self.class(&BIG_DECIMAL);
        self.handle();
        self.out.extend_from_slice(&scale.to_be_bytes());
        self.out.push(TC_OBJECT);
        self.class(&BIG_INTEGER);
        self.handle();
        for field in [-1i32, -1, -2, -2, signum] {
            self.out.extend_from_slice(&field.to_be_bytes());
        }
        self.out.push(TC_ARRAY);
        self.class(&BYTE_ARRAY);
        self.handle();
        self.out
            .extend_from_slice(&(magnitude.len() as u32).to_be_bytes());
        self.out.extend_from_slice(magnitude);
        self.out.push(TC_ENDBLOCKDATA);
        self.out.push(TC_ENDBLOCKDATA);
    }
}

/// A decimal number's sign (-1, 0, 1), unscaled magnitude (big-endian,
/// no leading zero bytes, as `BigInteger` serializes it) and scale;
/// `None` for text that is not a finite decimal (`NaN`, `Infinity`).
pub fn decimal_parts(text: &str) -> Option<(i32, Vec<u8>, i32)> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let scale = i32::try_from(fraction.len()).ok()?;
    let mut magnitude: Vec<u8> = Vec::new();
    for d in whole.bytes().chain(fraction.bytes()) {
        if !d.is_ascii_digit() {
            return None;
        }
        // magnitude = magnitude * 10 + d, in base 256.
        let mut carry = u32::from(d - b'0');
        for byte in magnitude.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            magnitude.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    let signum = match (magnitude.is_empty(), negative) {
        (true, _) => 0,
        (false, true) => -1,
        (false, false) => 1,
    };
    Some((signum, magnitude, scale))
}

/// The decimal text of a sign, unscaled magnitude and scale: the digits
/// with the point `scale` places from the right (PostgreSQL's form).
pub fn decimal_text(signum: i32, magnitude: &[u8], scale: i32) -> String {
    let mut rest: Vec<u8> = magnitude.to_vec();
    let mut digits: Vec<u8> = Vec::new();
    while rest.iter().any(|b| *b != 0) {
        // rest = rest / 10, the remainder a digit.
        let mut remainder = 0u32;
        for byte in rest.iter_mut() {
            let v = (remainder << 8) | u32::from(*byte);
            *byte = (v / 10) as u8;
            remainder = v % 10;
        }
        digits.push(b'0' + remainder as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    let mut text = String::from_utf8(digits).unwrap_or_default();
    if scale > 0 {
        let scale = scale as usize;
        if text.len() <= scale {
            text.insert_str(0, &"0".repeat(scale + 1 - text.len()));
        }
        text.insert(text.len() - scale, '.');
    } else if scale < 0 && signum != 0 {
        text.push_str(&"0".repeat(scale.unsigned_abs() as usize));
    }
    if signum < 0 {
        text.insert(0, '-');
    }
    text
}

/// Java's modified UTF-8: NUL as two bytes, characters beyond the BMP as
/// two three-byte surrogates.
fn modified_utf8(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for unit in s.encode_utf16() {
        match unit {
            0x01..=0x7f => out.push(unit as u8),
            0x00 | 0x80..=0x7ff => {
                out.push(0xc0 | (unit >> 6) as u8);
                out.push(0x80 | (unit & 0x3f) as u8);
            }
            _ => {
                out.push(0xe0 | (unit >> 12) as u8);
                out.push(0x80 | ((unit >> 6) & 0x3f) as u8);
                out.push(0x80 | (unit & 0x3f) as u8);
            }
        }
    }
    out
}

fn from_modified_utf8(bytes: &[u8]) -> Option<String> {
    let mut units = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (unit, len) = if b < 0x80 {
            (u16::from(b), 1)
        } else if b & 0xe0 == 0xc0 {
            let b2 = *bytes.get(i + 1)?;
            ((u16::from(b & 0x1f) << 6) | u16::from(b2 & 0x3f), 2)
        } else if b & 0xf0 == 0xe0 {
            let (b2, b3) = (*bytes.get(i + 1)?, *bytes.get(i + 2)?);
            (
                (u16::from(b & 0x0f) << 12) | (u16::from(b2 & 0x3f) << 6) | u16::from(b3 & 0x3f),
                3,
            )
        } else {
            return None;
        };
        units.push(unit);
        i += len;
    }
    String::from_utf16(&units).ok()
}

/// `key` (or Java's `null`) as Debezium stores it: hex, lower case.
pub fn to_hex(key: Option<&[KeyValue]>) -> String {
    let mut w = Writer {
        out: MAGIC.to_vec(),
        next_handle: BASE_HANDLE,
        classes: HashMap::new(),
    };
    match key {
        None => w.out.push(TC_NULL),
        Some(values) => {
            w.out.push(TC_ARRAY);
            w.class(&OBJECT_ARRAY);
            w.handle();
            w.out
                .extend_from_slice(&(values.len() as u32).to_be_bytes());
            for v in values {
                w.value(v);
            }
        }
    }
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(w.out.len() * 2);
    for b in w.out {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    hex
}

/// What a handle stands for, as far as the reader needs it.
#[derive(Clone)]
enum Handled {
    Class(Rc<Class>),
    Object(Object),
    Other,
}

/// A class description read from the stream.
struct Class {
    name: String,
    flags: u8,
    /// Type code and name of each field, in the stream's order.
    fields: Vec<(u8, String)>,
    superclass: Option<Rc<Class>>,
}

/// An object read from the stream: a key value, or what one is made of.
#[derive(Clone)]
enum Object {
    Key(KeyValue),
    Bytes(Vec<u8>),
    /// A `java.math.BigInteger`: sign and magnitude.
    BigInteger(i32, Vec<u8>),
}

/// A field's value: primitives widened to `i64`.
enum Field {
    Primitive(i64),
    Object(Object),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    handles: Vec<Handled>,
    /// How deep the object or class being read is.
    depth: usize,
}

/// How deep objects and classes may nest: a key's deepest is a
/// BigDecimal's BigInteger's byte array, with their classes.
const MAX_NESTING: usize = 16;
/// The largest scale and magnitude a key's BigDecimal is read with
/// (PostgreSQL's numeric holds 16,383 decimals and 131,072 digits).
const MAX_SCALE: i64 = 16_383;
const MAX_MAGNITUDE_BYTES: usize = 64 * 1024;

impl Reader<'_> {
    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, SerError> {
        Err(SerError {
            at: self.at,
            reason: reason.into(),
        })
    }

    fn take(&mut self, n: usize) -> Result<&[u8], SerError> {
        if self.at + n > self.bytes.len() {
            return self.fail("the data ends early");
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, SerError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, SerError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, SerError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, SerError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn utf(&mut self) -> Result<String, SerError> {
        let len = usize::from(self.u16()?);
        let at = self.at;
        let bytes = self.take(len)?;
        from_modified_utf8(bytes).ok_or(SerError {
            at,
            reason: "a string is not modified UTF-8".into(),
        })
    }

    fn reference(&mut self) -> Result<Handled, SerError> {
        let h = self.u32()?;
        match h
            .checked_sub(BASE_HANDLE)
            .and_then(|i| self.handles.get(i as usize))
        {
            Some(x) => Ok(x.clone()),
            None => self.fail(format!("no object has handle {h:#x}")),
        }
    }

    /// A class description (or a reference to one, or null).
    fn class(&mut self) -> Result<Option<Rc<Class>>, SerError> {
        self.nested(Self::class_at)
    }

    /// Runs a reader of something that may nest, refusing data nested
    /// deeper than any key holds (a stored offset is input).
    fn nested<T>(&mut self, read: fn(&mut Self) -> Result<T, SerError>) -> Result<T, SerError> {
        if self.depth >= MAX_NESTING {
            return self.fail("the data nests too deeply for a key");
        }
        self.depth += 1;
        let result = read(self);
        self.depth -= 1;
        result
    }

    fn class_at(&mut self) -> Result<Option<Rc<Class>>, SerError> {
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => match self.reference()? {
                Handled::Class(c) => Ok(Some(c)),
                _ => self.fail("a reference to something that is not a class"),
            },
            TC_CLASSDESC => {
                let name = self.utf()?;
                self.u64()?;
                let index = self.handles.len();
                self.handles.push(Handled::Other);
                let flags = self.u8()?;
                let count = self.u16()?;
                let mut fields = Vec::with_capacity(usize::from(count));
                for _ in 0..count {
                    let code = self.u8()?;
                    let field = self.utf()?;
                    if code == b'L' || code == b'[' {
                        // The field's type signature, a string or a reference.
                        self.object()?;
                    }
                    fields.push((code, field));
                }
                if self.u8()? != TC_ENDBLOCKDATA {
                    return self.fail(format!("class {name} carries annotations"));
                }
                let superclass = self.class()?;
                let class = Rc::new(Class {
                    name,
                    flags,
                    fields,
                    superclass,
                });
                self.handles[index] = Handled::Class(Rc::clone(&class));
                Ok(Some(class))
            }
            other => self.fail(format!("type code {other:#x} where a class was expected")),
        }
    }

    fn primitive(&mut self, code: u8) -> Result<i64, SerError> {
        Ok(match code {
            b'Z' | b'B' => i64::from(self.u8()? as i8),
            b'S' | b'C' => i64::from(self.u16()? as i16),
            b'I' | b'F' => i64::from(self.u32()? as i32),
            b'J' | b'D' => self.u64()? as i64,
            other => return self.fail(format!("field type {:?} is not read", other as char)),
        })
    }

    /// The rest of a class's data when it has a `writeObject` method: the
    /// block data it wrote, up to `TC_ENDBLOCKDATA`.
    fn block_data(&mut self) -> Result<Vec<u8>, SerError> {
        let mut data = Vec::new();
        loop {
            match self.u8()? {
                TC_ENDBLOCKDATA => return Ok(data),
                TC_BLOCKDATA => {
                    let n = usize::from(self.u8()?);
                    data.extend_from_slice(self.take(n)?);
                }
                TC_BLOCKDATALONG => {
                    let n = self.u32()? as usize;
                    data.extend_from_slice(self.take(n)?);
                }
                other => {
                    return self.fail(format!("type code {other:#x} in a writeObject's data"));
                }
            }
        }
    }

    /// An object, a string, an array of bytes, or null (`None`).
    fn object(&mut self) -> Result<Option<Object>, SerError> {
        self.nested(Self::object_at)
    }

    fn object_at(&mut self) -> Result<Option<Object>, SerError> {
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => match self.reference()? {
                Handled::Object(v) => Ok(Some(v)),
                _ => self.fail("a reference to something that is not a key value"),
            },
            TC_STRING => {
                let index = self.handles.len();
                self.handles.push(Handled::Other);
                let s = KeyValue::Str(self.utf()?);
                self.handles[index] = Handled::Object(Object::Key(s.clone()));
                Ok(Some(Object::Key(s)))
            }
            TC_ARRAY => {
                let class = self.class()?;
                if class.as_ref().map(|c| c.name.as_str()) != Some(BYTE_ARRAY.name) {
                    return self.fail("an array that is not of bytes");
                }
                let index = self.handles.len();
                self.handles.push(Handled::Other);
                let n = self.u32()? as usize;
                let bytes = Object::Bytes(self.take(n)?.to_vec());
                self.handles[index] = Handled::Object(bytes.clone());
                Ok(Some(bytes))
            }
            TC_OBJECT => {
                let Some(class) = self.class()? else {
                    return self.fail("an object without its class");
                };
                let index = self.handles.len();
                self.handles.push(Handled::Other);
                // Each class's data, superclasses' first.
                let mut chain = vec![Rc::clone(&class)];
                while let Some(up) = chain.last().and_then(|c| c.superclass.clone()) {
                    chain.push(up);
                }
                let mut fields: HashMap<String, Field> = HashMap::new();
                let mut blocks: HashMap<String, Vec<u8>> = HashMap::new();
                for c in chain.iter().rev() {
                    for (code, name) in &c.fields {
                        let value = if *code == b'L' || *code == b'[' {
                            match self.object()? {
                                Some(o) => Field::Object(o),
                                None => continue,
                            }
                        } else {
                            Field::Primitive(self.primitive(*code)?)
                        };
                        fields.insert(name.clone(), value);
                    }
                    if c.flags & SC_WRITE_METHOD != 0 {
                        let data = self.block_data()?;
                        blocks.insert(c.name.clone(), data);
                    }
                }
                let value = self.key_object(&class.name, &fields, &blocks)?;
                self.handles[index] = Handled::Object(value.clone());
                Ok(Some(value))
            }
            other => self.fail(format!("type code {other:#x} where a value was expected")),
        }
    }

    /// The key value (or part of one) an object of class `name` is.
    fn key_object(
        &self,
        name: &str,
        fields: &HashMap<String, Field>,
        blocks: &HashMap<String, Vec<u8>>,
    ) -> Result<Object, SerError> {
        let primitive = |field: &str| match fields.get(field) {
            Some(Field::Primitive(v)) => Ok(*v),
            _ => self.fail(format!("{name} without its {field}")),
        };
        Ok(Object::Key(match name {
            "java.lang.Integer" => KeyValue::Int(primitive("value")? as i32),
            "java.lang.Long" => KeyValue::Long(primitive("value")?),
            "java.lang.Short" => KeyValue::Short(primitive("value")? as i16),
            "java.lang.Boolean" => KeyValue::Bool(primitive("value")? != 0),
            "java.util.UUID" => {
                let (most, least) = (primitive("mostSigBits")?, primitive("leastSigBits")?);
                KeyValue::Uuid((u128::from(most as u64) << 64) | u128::from(least as u64))
            }
            "java.math.BigInteger" => {
                let Some(Field::Object(Object::Bytes(magnitude))) = fields.get("magnitude") else {
                    return self.fail("java.math.BigInteger without its magnitude");
                };
                return Ok(Object::BigInteger(
                    primitive("signum")? as i32,
                    magnitude.clone(),
                ));
            }
            "java.math.BigDecimal" => {
                let Some(Field::Object(Object::BigInteger(signum, magnitude))) =
                    fields.get("intVal")
                else {
                    return self.fail("java.math.BigDecimal without its intVal");
                };
                let scale = primitive("scale")?;
                if scale.abs() > MAX_SCALE || magnitude.len() > MAX_MAGNITUDE_BYTES {
                    return self.fail(format!(
                        "a java.math.BigDecimal of scale {scale} and {} bytes, larger than a key's",
                        magnitude.len()
                    ));
                }
                KeyValue::Decimal(decimal_text(*signum, magnitude, scale as i32))
            }
            "java.sql.Date" => {
                let Some(millis) = blocks
                    .get(UTIL_DATE.name)
                    .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                else {
                    return self.fail("java.sql.Date without its time");
                };
                // Midnight in the writer's zone: the nearest midnight UTC
                // is its day for any zone within 12 hours of UTC.
                let millis = i64::from_be_bytes(millis);
                let days = millis
                    .saturating_add(MILLIS_PER_DAY / 2)
                    .div_euclid(MILLIS_PER_DAY);
                KeyValue::Date(i32::try_from(days).map_err(|_| SerError {
                    at: self.at,
                    reason: format!("a date {days} days from 1970"),
                })?)
            }
            _ => return self.fail(format!("key values of class {name} are not supported")),
        }))
    }
}

/// Reads back what [`to_hex`] (or Debezium) wrote: `None` for Java's
/// `null`.
pub fn from_hex(hex: &str) -> Result<Option<Vec<KeyValue>>, SerError> {
    let bad = |at| SerError {
        at,
        reason: "not hexadecimal".into(),
    };
    if !hex.len().is_multiple_of(2) {
        return Err(bad(hex.len() / 2));
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    let bytes = hex
        .as_bytes()
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| match (digit(pair[0]), digit(pair[1])) {
            (Some(high), Some(low)) => Ok((high * 16 + low) as u8),
            _ => Err(bad(i)),
        })
        .collect::<Result<Vec<u8>, _>>()?;
    let mut r = Reader {
        bytes: &bytes,
        at: 0,
        depth: 0,
        handles: Vec::new(),
    };
    if r.take(4)? != MAGIC {
        return r.fail("not a Java serialization stream");
    }
    match r.u8()? {
        TC_NULL => Ok(None),
        TC_ARRAY => {
            r.class()?;
            r.handles.push(Handled::Other);
            let n = r.u32()?;
            let mut values = Vec::with_capacity(n.min(64) as usize);
            for _ in 0..n {
                values.push(match r.object()? {
                    None => KeyValue::Null,
                    Some(Object::Key(v)) => v,
                    Some(_) => return r.fail("a key value that is not one"),
                });
            }
            Ok(Some(values))
        }
        other => r.fail(format!("type code {other:#x} where an array was expected")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by `ObjectOutputStream` on OpenJDK 17
    /// (`golden/JavaSerialization.java`).
    const VECTORS: &[(&str, &str)] = &[
        ("null", "aced000570"),
        ("int", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000001737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b02000078700000002a"),
        ("long", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000017372000e6a6176612e6c616e672e4c6f6e673b8be490cc8f23df0200014a000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870fffffffffffffffb"),
        ("str", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c02000078700000000174000668c3a96c6c6f"),
        ("two_int", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000002737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870000000017371007e000200000002"),
        ("int_str_long", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000005737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000007740001617372000e6a6176612e6c616e672e4c6f6e673b8be490cc8f23df0200014a000576616c75657871007e00030000000000000009740001627371007e000200000008"),
        ("uuid", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000017372000e6a6176612e7574696c2e55554944bc9903f7986d852f0200024a000c6c65617374536967426974734a000b6d6f7374536967426974737870a456426614174000123e4567e89b12d3"),
        ("bool", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000001737200116a6176612e6c616e672e426f6f6c65616ecd207280d59cfaee0200015a000576616c7565787001"),
        ("short", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000017372000f6a6176612e6c616e672e53686f7274684d37133460da5202000153000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b02000078700003"),
        ("nullelem", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c02000078700000000270737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000001"),
        ("decimal", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000001737200146a6176612e6d6174682e426967446563696d616c54c71557f981284f0300024900057363616c654c0006696e7456616c7400164c6a6176612f6d6174682f426967496e74656765723b787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000001737200146a6176612e6d6174682e426967496e74656765728cfc9f1fa93bfb1d030006490008626974436f756e744900096269744c656e67746849001366697273744e6f6e7a65726f427974654e756d49000c6c6f776573745365744269744900067369676e756d5b00096d61676e69747564657400025b427871007e0004fffffffffffffffffffffffefffffffe00000001757200025b42acf317f8060854e00200007870000000017d7878"),
        ("decimal_negative", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000001737200146a6176612e6d6174682e426967446563696d616c54c71557f981284f0300024900057363616c654c0006696e7456616c7400164c6a6176612f6d6174682f426967496e74656765723b787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000000737200146a6176612e6d6174682e426967496e74656765728cfc9f1fa93bfb1d030006490008626974436f756e744900096269744c656e67746849001366697273744e6f6e7a65726f427974654e756d49000c6c6f776573745365744269744900067369676e756d5b00096d61676e69747564657400025b427871007e0004fffffffffffffffffffffffefffffffeffffffff757200025b42acf317f8060854e0020000787000000002012c7878"),
        ("decimal_zero", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000001737200146a6176612e6d6174682e426967446563696d616c54c71557f981284f0300024900057363616c654c0006696e7456616c7400164c6a6176612f6d6174682f426967496e74656765723b787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000002737200146a6176612e6d6174682e426967496e74656765728cfc9f1fa93bfb1d030006490008626974436f756e744900096269744c656e67746849001366697273744e6f6e7a65726f427974654e756d49000c6c6f776573745365744269744900067369676e756d5b00096d61676e69747564657400025b427871007e0004fffffffffffffffffffffffefffffffe00000000757200025b42acf317f8060854e00200007870000000007878"),
        ("decimal_long", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000001737200146a6176612e6d6174682e426967446563696d616c54c71557f981284f0300024900057363616c654c0006696e7456616c7400164c6a6176612f6d6174682f426967496e74656765723b787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000003737200146a6176612e6d6174682e426967496e74656765728cfc9f1fa93bfb1d030006490008626974436f756e744900096269744c656e67746849001366697273744e6f6e7a65726f427974654e756d49000c6c6f776573745365744269744900067369676e756d5b00096d61676e69747564657400025b427871007e0004fffffffffffffffffffffffefffffffeffffffff757200025b42acf317f8060854e002000078700000000e06163e665beb7ca6a2e1a64244cb7878"),
        ("two_decimals", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000002737200146a6176612e6d6174682e426967446563696d616c54c71557f981284f0300024900057363616c654c0006696e7456616c7400164c6a6176612f6d6174682f426967496e74656765723b787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000000737200146a6176612e6d6174682e426967496e74656765728cfc9f1fa93bfb1d030006490008626974436f756e744900096269744c656e67746849001366697273744e6f6e7a65726f427974654e756d49000c6c6f776573745365744269744900067369676e756d5b00096d61676e69747564657400025b427871007e0004fffffffffffffffffffffffefffffffe00000001757200025b42acf317f8060854e00200007870000000010178787371007e0002000000037371007e0006fffffffffffffffffffffffefffffffe000000017571007e00090000000207d07878"),
        ("date", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000017372000d6a6176612e73716c2e4461746514fa46683f3566970200007872000e6a6176612e7574696c2e44617465686a81014b597419030000787077080000018cc778500078"),
        ("date_decimal_str", "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870000000047372000d6a6176612e73716c2e4461746514fa46683f3566970200007872000e6a6176612e7574696c2e44617465686a81014b59741903000078707708fffffffffad9a40078737200146a6176612e6d6174682e426967446563696d616c54c71557f981284f0300024900057363616c654c0006696e7456616c7400164c6a6176612f6d6174682f426967496e74656765723b787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000001737200146a6176612e6d6174682e426967496e74656765728cfc9f1fa93bfb1d030006490008626974436f756e744900096269744c656e67746849001366697273744e6f6e7a65726f427974654e756d49000c6c6f776573745365744269744900067369676e756d5b00096d61676e69747564657400025b427871007e0007fffffffffffffffffffffffefffffffe00000001757200025b42acf317f8060854e0020000787000000001057878740001787371007e00027708000000dd9aa6e00078"),
    ];

    fn values(name: &str) -> Option<Vec<KeyValue>> {
        use KeyValue::*;
        Some(match name {
            "null" => return None,
            "int" => vec![Int(42)],
            "long" => vec![Long(-5)],
            "str" => vec![Str("héllo".into())],
            "two_int" => vec![Int(1), Int(2)],
            "int_str_long" => vec![Int(7), Str("a".into()), Long(9), Str("b".into()), Int(8)],
            "uuid" => vec![Uuid(0x123e4567_e89b_12d3_a456_426614174000)],
            "bool" => vec![Bool(true)],
            "short" => vec![Short(3)],
            "nullelem" => vec![Null, Int(1)],
            "decimal" => vec![Decimal("12.5".into())],
            "decimal_negative" => vec![Decimal("-300".into())],
            "decimal_zero" => vec![Decimal("0.00".into())],
            "decimal_long" => vec![Decimal("-123456789012345678901234567890.123".into())],
            "two_decimals" => vec![Decimal("1".into()), Decimal("2.000".into())],
            "date" => vec![Date(19_724)],
            "date_decimal_str" => vec![
                Date(-1),
                Decimal("0.5".into()),
                Str("x".into()),
                Date(11_016),
            ],
            _ => unreachable!(),
        })
    }

    #[test]
    fn written_as_the_jdk_writes() {
        for (name, hex) in VECTORS {
            assert_eq!(to_hex(values(name).as_deref()), *hex, "{name}");
        }
    }

    #[test]
    fn read_as_the_jdk_wrote() {
        for (name, hex) in VECTORS {
            assert_eq!(from_hex(hex).unwrap(), values(name), "{name}");
        }
    }

    #[test]
    fn unknown_classes_and_garbage_are_errors() {
        assert!(from_hex("aced00").is_err());
        assert!(from_hex("zz").is_err());
        assert!(from_hex("0000000570").is_err());
        // A key of a class Ferry does not read.
        let hex = "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000001" .to_owned() + "7372000d6a6176612e6c616e672e466f6f000000000000000102000149000178787000000" + "02a";
        let hex = hex.as_str();
        let e = from_hex(hex).unwrap_err();
        assert!(e.reason.contains("java.lang.Foo"), "{e}");
    }

    #[test]
    fn decimals_convert_between_text_and_sign_magnitude_scale() {
        for text in [
            "0",
            "0.00",
            "7",
            "-7",
            "255",
            "256",
            "65535.5",
            "-0.001",
            "99999999999999999999999999999999999999.99",
        ] {
            let (signum, magnitude, scale) = decimal_parts(text).unwrap();
            assert_eq!(decimal_text(signum, &magnitude, scale), text);
        }
        assert_eq!(decimal_parts("-300"), Some((-1, vec![0x01, 0x2c], 0)));
        assert_eq!(decimal_parts("+1.5"), Some((1, vec![15], 1)));
        assert_eq!(decimal_text(1, &[15], -2), "1500");
        for bad in ["NaN", "Infinity", "-Infinity", "", "-", ".", "1e5", "1.2.3"] {
            assert_eq!(decimal_parts(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_date_written_at_midnight_elsewhere_is_that_day() {
        // Debezium on a JVM at UTC+2 writes 2024-01-02 as 22:00 UTC the
        // day before; at UTC-5, as 05:00 UTC that day.
        for millis in [
            19_724 * MILLIS_PER_DAY - 2 * 3_600_000,
            19_724 * MILLIS_PER_DAY + 5 * 3_600_000,
        ] {
            let mut hex = to_hex(Some(&[KeyValue::Date(0)]));
            hex.truncate(hex.len() - 18);
            for b in millis.to_be_bytes() {
                hex.push_str(&format!("{b:02x}"));
            }
            hex.push_str("78");
            assert_eq!(from_hex(&hex).unwrap(), Some(vec![KeyValue::Date(19_724)]));
        }
    }

    #[test]
    fn hostile_offsets_are_errors_not_crashes() {
        // Non-ASCII where hex digits belong.
        assert!(from_hex("aé0").is_err());
        // BigDecimals nested through their intVal field, thousands deep:
        // each a new object of the class described first (handle
        // 0x7e0002) and its scale, before the real BigInteger.
        let mut hex = to_hex(Some(&[KeyValue::Decimal("1".into())]));
        let integer = hex
            .find("737200146a6176612e6d6174682e426967496e7465676572")
            .expect("the BigInteger");
        hex.insert_str(integer, &"7371007e000200000000".repeat(10_000));
        let e = from_hex(&hex).unwrap_err();
        assert!(e.reason.contains("nests too deeply"), "{e}");
        // A BigDecimal of scale i32::MAX.
        let big = to_hex(Some(&[KeyValue::Decimal("1.5".into())]));
        let at = big
            .find("00000001737200146a6176612e6d6174682e426967496e7465676572")
            .expect("the scale");
        let mut huge = big.clone();
        huge.replace_range(at..at + 8, "7fffffff");
        assert!(from_hex(&huge).unwrap_err().reason.contains("scale"));
        // A date at the end of time.
        let mut date = to_hex(Some(&[KeyValue::Date(0)]));
        date.truncate(date.len() - 18);
        date.push_str("7fffffffffffffff78");
        assert!(from_hex(&date).is_err());
    }

    #[test]
    fn java_strings_are_modified_utf8() {
        for s in ["", "a\0b", "é", "𝄞", "日本"] {
            assert_eq!(from_modified_utf8(&modified_utf8(s)).as_deref(), Some(s));
        }
        assert_eq!(modified_utf8("\0"), vec![0xc0, 0x80]);
    }
}
