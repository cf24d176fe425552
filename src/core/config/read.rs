//! Typed readers of option values that name the option (or variable) in their errors.

use super::defaults::Limits;
use crate::core::error::{Error, Result};
use serde_json::{Map, Value};

/// Options by name: the options given, or those with the URL's query parameters under them.
pub(super) struct Opts<'a>(pub &'a Map<String, Value>);

impl<'a> Opts<'a> {
    /// The first present, non-null option among `names`, with the name it was given under.
    pub fn get(&self, names: &[&'static str]) -> Option<(&'static str, &'a Value)> {
        names.iter().find_map(|n| self.0.get(*n).filter(|v| !v.is_null()).map(|v| (*n, v)))
    }

    pub fn string(&self, names: &[&'static str]) -> Result<Option<String>> {
        match self.get(names) {
            None => Ok(None),
            Some((_, Value::String(s))) => Ok(Some(s.clone())),
            Some((n, v)) => Err(Error::type_error(format!("{n} must be a string, got {}", describe(v)))),
        }
    }

    pub fn bool(&self, names: &[&'static str]) -> Result<Option<bool>> {
        match self.get(names) {
            None => Ok(None),
            Some((_, Value::Bool(b))) => Ok(Some(*b)),
            Some((n, v)) => Err(Error::type_error(format!("{n} must be a boolean, got {}", describe(v)))),
        }
    }

    /// A number (or numeric string, as env vars and URLs give) within `limits`.
    pub fn number(&self, names: &[&'static str], limits: Limits) -> Result<Option<f64>> {
        match self.get(names) {
            None => Ok(None),
            Some((n, v)) => number_value(n, v, limits).map(Some),
        }
    }
}

/// `v` as a number within `limits`; errors name `name`.
pub(super) fn number_value(name: &str, v: &Value, limits: Limits) -> Result<f64> {
    let Limits { min, max, integer } = limits;
    let what = if integer { "an integer" } else { "a number" };
    let x = match v {
        Value::Number(x) => x.as_f64().unwrap_or(f64::NAN),
        Value::String(s) if !s.trim().is_empty() => s
            .trim()
            .parse::<f64>()
            .map_err(|_| Error::type_error(format!("{name} must be {what}, got {}", describe(v))))?,
        _ => return Err(Error::type_error(format!("{name} must be {what}, got {}", describe(v)))),
    };
    if !x.is_finite() || (integer && x.fract() != 0.0) {
        return Err(Error::type_error(format!(
            "{name} must be a finite {}, got {x}",
            if integer { "integer" } else { "number" }
        )));
    }
    if x < min || x > max {
        return Err(Error::range_error(format!("{name} must be between {min} and {max}, got {x}")));
    }
    Ok(x)
}

/// A value's type (and a short prefix of a string) for error messages.
pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string '{}'", s.chars().take(40).collect::<String>()),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}
