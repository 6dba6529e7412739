//! `java.util.HashMap`'s iteration order, which Kafka Connect plugins
//! leak into what they write (Debezium's lists of tables, Avro's file
//! metadata): a table's buckets in order, a bucket's entries in insertion
//! order.

/// `String.hashCode()`: over UTF-16 code units.
pub fn string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The table size of a `HashMap` that grew from the default 16 by
/// putting `len` entries (doubling past three quarters full).
pub fn grown_capacity(len: usize) -> usize {
    let mut capacity = 16usize;
    while len > capacity / 4 * 3 {
        capacity *= 2;
    }
    capacity
}

/// `entries`, inserted in this order, in the order a Java hash table of
/// `capacity` (a power of two) iterates them: by bucket, then by insertion.
pub fn in_bucket_order<T>(
    mut entries: Vec<T>,
    capacity: usize,
    key: impl Fn(&T) -> &str,
) -> Vec<T> {
    let bucket = |k: &str| {
        let h = string_hash(k) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    // A stable sort keeps insertion order within a bucket.
    entries.sort_by_key(|e| bucket(key(e)));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hashes() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("a"), 97);
        assert_eq!(string_hash("status"), -892_481_550);
        assert_eq!(grown_capacity(12), 16);
        assert_eq!(grown_capacity(13), 32);
    }
}
