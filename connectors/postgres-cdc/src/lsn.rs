//! Log sequence numbers: a position in PostgreSQL's write-ahead log, a
//! 64-bit integer that PostgreSQL writes as two hex halves (`16/B374D848`)
//! and Debezium's offsets keep as a plain number.

use std::fmt;
use std::str::FromStr;

/// A position in the write-ahead log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// "No position" (`0/0`), as PostgreSQL uses it.
    pub const INVALID: Lsn = Lsn(0);
}

impl fmt::Display for Lsn {
    /// PostgreSQL's text form, `%X/%X`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Text that is not an LSN in PostgreSQL's form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a log sequence number (expected two hex numbers as in 16/B374D848): {0:?}")]
pub struct ParseLsnError(String);

impl FromStr for Lsn {
    type Err = ParseLsnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseLsnError(s.to_owned());
        let (hi, lo) = s.split_once('/').ok_or_else(bad)?;
        let half = |h: &str| {
            if h.is_empty() || h.len() > 8 {
                return Err(bad());
            }
            u32::from_str_radix(h, 16).map_err(|_| bad())
        };
        Ok(Lsn((u64::from(half(hi)?) << 32) | u64::from(half(lo)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let lsn: Lsn = "16/B374D848".parse().expect("an LSN");
        assert_eq!(lsn, Lsn(0x16_B374_D848));
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert_eq!(Lsn(0).to_string(), "0/0");
        for bad in ["", "16", "16/", "/1", "G/1", "1/123456789", "1/2/3"] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad:?}");
        }
    }
}
