//! Rows written with `COPY … FROM STDIN (FORMAT binary)`: PostgreSQL takes them without planning
//! or executing an INSERT per row. In a rebuild that is most of the time spent: a message row
//! cost about 6.5 µs through `INSERT … SELECT FROM unnest(…)` and about 2 µs through COPY.
//!
//! The format (PostgreSQL docs, "COPY", binary format): a signature and two 32-bit words, then
//! per row a 16-bit field count and per field a 32-bit length (-1 for NULL) and the value in the
//! type's binary send format; a 16-bit -1 ends the data. All big-endian.

use aggregates::message::MessageKind;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// A value in its binary send format.
pub trait CopyValue {
    fn put(&self, out: &mut Vec<u8>);
}

impl CopyValue for Uuid {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&16i32.to_be_bytes());
        out.extend_from_slice(self.as_bytes());
    }
}

impl CopyValue for str {
    fn put(&self, out: &mut Vec<u8>) {
        let len = i32::try_from(self.len()).expect("a text value under 2 GiB");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(self.as_bytes());
    }
}

impl CopyValue for String {
    fn put(&self, out: &mut Vec<u8>) {
        self.as_str().put(out);
    }
}

/// `text`, as the `messages` table stores it.
impl CopyValue for MessageKind {
    fn put(&self, out: &mut Vec<u8>) {
        self.as_str().put(out);
    }
}

impl CopyValue for DateTime<Utc> {
    /// `timestamptz`: microseconds since 2000-01-01 00:00 UTC.
    fn put(&self, out: &mut Vec<u8>) {
        let epoch = Utc
            .with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid date");
        let micros = (*self - epoch)
            .num_microseconds()
            .expect("a timestamp within 292,000 years");
        out.extend_from_slice(&8i32.to_be_bytes());
        out.extend_from_slice(&micros.to_be_bytes());
    }
}

impl<T: CopyValue + ?Sized> CopyValue for Option<&T> {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.put(out),
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
}

/// Binary COPY data being built, row by row.
pub struct BinaryRows {
    data: Vec<u8>,
    fields: i16,
}

impl BinaryRows {
    /// Data for rows of `fields` columns each.
    pub fn new(fields: i16) -> Self {
        let mut data = Vec::with_capacity(64 * 1024);
        data.extend_from_slice(SIGNATURE);
        data.extend_from_slice(&0i32.to_be_bytes()); // flags: no OIDs
        data.extend_from_slice(&0i32.to_be_bytes()); // no header extension
        Self { data, fields }
    }

    /// Appends a row; `values` must be `fields` long, in the column order of the COPY.
    pub fn row(&mut self, values: &[&dyn CopyValue]) {
        assert_eq!(
            values.len(),
            self.fields as usize,
            "a row has one value per column"
        );
        self.data.extend_from_slice(&self.fields.to_be_bytes());
        for value in values {
            value.put(&mut self.data);
        }
    }

    /// Sends the rows into `table (columns)`; returns how many PostgreSQL took.
    pub async fn copy_into(
        mut self,
        conn: &mut PgConnection,
        table: &str,
        columns: &str,
    ) -> Result<u64, sqlx::Error> {
        self.data.extend_from_slice(&(-1i16).to_be_bytes());
        let mut copy = conn
            .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN (FORMAT binary)"))
            .await?;
        copy.send(self.data).await?;
        copy.finish().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_encoded_as_postgres_sends_them() {
        let mut out = vec![];
        Uuid::nil().put(&mut out);
        assert_eq!(out, [&[0, 0, 0, 16][..], &[0; 16]].concat());

        out.clear();
        "hé".put(&mut out);
        assert_eq!(out, [0, 0, 0, 3, b'h', 0xc3, 0xa9]);

        out.clear();
        None::<&str>.put(&mut out);
        assert_eq!(out, [0xff, 0xff, 0xff, 0xff]);

        out.clear();
        let one_second_in = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1).unwrap();
        one_second_in.put(&mut out);
        assert_eq!(
            out,
            [&8i32.to_be_bytes()[..], &1_000_000i64.to_be_bytes()].concat()
        );
    }

    #[test]
    fn rows_follow_the_signature_and_a_count_of_fields() {
        let mut rows = BinaryRows::new(1);
        rows.row(&[&Some("x")]);
        assert!(rows.data.starts_with(SIGNATURE));
        assert_eq!(&rows.data[19..], [0, 1, 0, 0, 0, 1, b'x']);
    }
}
