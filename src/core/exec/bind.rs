//! Parameters and result values as tokio-postgres takes and gives them: parameters already encoded
//! by the facade go out as they are, result values come in as raw bytes.

use crate::core::wire::Param;
use tokio_postgres::types::{FromSql, Kind, ToSql, Type};

/// Parameter types for Parse: 0 lets the server infer, as postgres.js does for most values.
pub(super) fn param_type(oid: u32) -> Type {
    Type::from_oid(oid).unwrap_or_else(|| Type::new(format!("oid{oid}"), oid, Kind::Simple, "pg_catalog".into()))
}

/// A parameter already in the form it is sent in (text, or binary for bytea and exact numbers),
/// handed to tokio-postgres as it is.
#[derive(Debug)]
pub(super) struct EncodedParam<'a>(pub(super) &'a Param);

impl ToSql for EncodedParam<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if let Some(x) = self.0.number {
            match Param::number_binary(x, ty.oid()) {
                Some(b) => b.write(out),
                None => Param::number_text(x, out),
            }
            return Ok(tokio_postgres::types::IsNull::No);
        }
        let value = match (&self.0.value, &self.0.alternatives) {
            (None, _) => return Ok(tokio_postgres::types::IsNull::Yes),
            // An untyped JS array, serialized by the type the server inferred (as postgres.js does).
            (Some(literal), Some(alt)) => match ty.kind() {
                Kind::Array(_) => literal,
                _ if *ty == Type::JSON || *ty == Type::JSONB => &alt[0],
                _ => &alt[1],
            },
            (Some(v), None) => v,
        };
        out.extend_from_slice(value);
        Ok(tokio_postgres::types::IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, ty: &Type) -> tokio_postgres::types::Format {
        if self.0.binary || self.0.number.is_some_and(|x| Param::number_binary(x, ty.oid()).is_some()) {
            tokio_postgres::types::Format::Binary
        } else {
            tokio_postgres::types::Format::Text
        }
    }
    tokio_postgres::types::to_sql_checked!();
}

/// A result value's raw bytes, whatever its type (the values are rendered by `core::pg_text`).
pub(super) struct RawValue<'a>(pub(super) Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawValue<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(Some(raw)))
    }
    fn from_sql_null(_: &Type) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(None))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}
