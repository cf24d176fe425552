//! Where environment variables come from: injected so that tests are hermetic, and so that the JS
//! runtime's `process.env` can stand over the process environment.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Environment lookups (an empty value is unset).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// The values of environment variables as the JS runtime's `process.env` holds them, over the
/// process environment. Bun (and any runtime that does not write `process.env` through to the C
/// environment) keeps what is set at run time, `.env` files included, in `process.env` only, so the
/// facade passes the variables Rust reads (a fixed list of names) from `process.env` to the pool. A
/// name in the overlay takes its value from there (empty: unset); any other name comes from the
/// process environment. Values may be secrets: `Debug` shows the names only.
#[derive(Clone, Default, PartialEq)]
pub struct EnvOverlay(Arc<BTreeMap<String, String>>);

impl EnvOverlay {
    pub fn new(vars: impl IntoIterator<Item = (String, String)>) -> EnvOverlay {
        EnvOverlay(Arc::new(vars.into_iter().collect()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the overlay holds this name (set or explicitly empty).
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The process environment with the overlay applied (an empty value removes the variable).
    pub fn merged(&self) -> HashMap<String, String> {
        let mut all: HashMap<String, String> =
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
        for (k, v) in self.0.iter() {
            if v.is_empty() {
                all.remove(k);
            } else {
                all.insert(k.clone(), v.clone());
            }
        }
        all
    }
}

impl std::fmt::Debug for EnvOverlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Env for EnvOverlay {
    fn var(&self, name: &str) -> Option<String> {
        match self.0.get(name) {
            Some(v) => Some(v.clone()).filter(|v| !v.is_empty()),
            None => ProcessEnv.var(name),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The first of `names` that is set.
pub(super) fn first_var(env: &dyn Env, names: &[&str]) -> Option<(String, String)> {
    names.iter().find_map(|n| env.var(n).map(|v| (n.to_string(), v)))
}

/// A fixed environment for tests.
#[cfg(test)]
pub(super) fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
}
