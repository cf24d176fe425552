//! Old names of `pg_text`'s API, kept while callers move to the new ones; delete once none is left.
pub use crate::core::pg_text::catalogue::array_element;
pub use crate::core::pg_text::catalogue::oid;
pub use crate::core::pg_text::{
    binary_to_js as encode, binary_to_text as to_text, encoding_for, DecodeError, Encoding,
};
