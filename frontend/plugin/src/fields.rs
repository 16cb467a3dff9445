//! Reading the plain JS objects callers pass (as JSON values) field by field, so every
//! error names the field it is about ("commonName: is required").

use serde_json::{Map, Value};
use shared::pki::error::PkiError;

/// What went wrong, and with which field of the caller's object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PluginError {
    /// The field, by its JS name (`commonName`, `dnsNames[2]`, `privateKeyPem`, ...).
    pub field: String,
    /// What is wrong with it, lowercase.
    pub message: String,
}

impl PluginError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        PluginError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A shared-crate error about `field`. Where the error names a field itself (in
    /// Vault's snake_case terms), that field's JS name wins.
    pub fn from_pki(field: &str, e: PkiError) -> Self {
        match e {
            PkiError::InvalidField {
                field: inner,
                reason,
            } => PluginError::new(js_field(inner).unwrap_or(field), reason),
            other => PluginError::new(field, other.to_string()),
        }
    }
}

/// The JS name of a shared-crate field name, when it has one in this API.
fn js_field(shared: &str) -> Option<&'static str> {
    Some(match shared {
        "private_key" => "privateKeyPem",
        "certificate" => "certificatePem",
        "ca_chain" => "chainPems",
        "friendly_name" => "friendlyName",
        "password" => "password",
        "passphrase" => "passphrase",
        "kdf" => "kdf",
        "name" => "name",
        "namespace" => "namespace",
        "alt_names" => "dnsNames",
        "uri_sans" => "uris",
        _ => return None,
    })
}

/// A JS object's fields.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// `value` as an object; `what` names the argument in the error.
    pub fn of(value: &'a Value, what: &str) -> Result<Self, PluginError> {
        match value {
            Value::Object(map) => Ok(Fields { map }),
            _ => Err(PluginError::new(what, "expected an object")),
        }
    }

    /// The field's value; `null` counts as absent (JSON has no `undefined`).
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, PluginError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(PluginError::new(key, "expected a string")),
        }
    }

    pub fn str(&self, key: &str) -> Result<&'a str, PluginError> {
        self.opt_str(key)?
            .ok_or_else(|| PluginError::new(key, "is required"))
    }

    /// A string that must not be empty.
    pub fn non_empty(&self, key: &str) -> Result<&'a str, PluginError> {
        let s = self.str(key)?;
        if s.trim().is_empty() {
            return Err(PluginError::new(key, "must not be empty"));
        }
        Ok(s)
    }

    /// An array of strings; absent means empty.
    pub fn str_list(&self, key: &str) -> Result<Vec<&'a str>, PluginError> {
        match self.get(key) {
            None => Ok(vec![]),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .ok_or_else(|| PluginError::new(format!("{key}[{i}]"), "expected a string"))
                })
                .collect(),
            Some(_) => Err(PluginError::new(key, "expected an array of strings")),
        }
    }

    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>, PluginError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| PluginError::new(key, "expected a whole number")),
        }
    }

    pub fn i64(&self, key: &str) -> Result<i64, PluginError> {
        let v = self
            .get(key)
            .ok_or_else(|| PluginError::new(key, "is required"))?;
        if let Some(n) = v.as_i64() {
            return Ok(n);
        }
        // `Date.now() / 1000` is not whole: take the second it is in.
        match v.as_f64() {
            Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(f.floor() as i64),
            _ => Err(PluginError::new(key, "expected a number (unix seconds)")),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, PluginError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(PluginError::new(key, "expected true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_read_strictly_and_errors_name_them() {
        let v =
            json!({"s": "x", "n": 3, "f": 1.5, "b": true, "l": ["a", "b"], "bad": [1], "z": null});
        let f = Fields::of(&v, "options").expect("object");
        assert_eq!(f.str("s"), Ok("x"));
        assert_eq!(f.opt_str("z"), Ok(None));
        assert_eq!(
            f.str("z").map_err(|e| e.to_string()),
            Err("z: is required".into())
        );
        assert_eq!(
            f.str("n").map_err(|e| e.to_string()),
            Err("n: expected a string".into())
        );
        assert_eq!(f.opt_u32("n"), Ok(Some(3)));
        assert!(f.opt_u32("f").is_err());
        assert_eq!(f.i64("f"), Ok(1));
        assert_eq!(f.opt_bool("b"), Ok(Some(true)));
        assert_eq!(f.str_list("l"), Ok(vec!["a", "b"]));
        assert_eq!(f.str_list("missing"), Ok(vec![]));
        assert_eq!(
            f.str_list("bad").map_err(|e| e.to_string()),
            Err("bad[0]: expected a string".into())
        );
        assert_eq!(
            Fields::of(&json!("x"), "options")
                .err()
                .map(|e| e.to_string()),
            Some("options: expected an object".into())
        );
        let e = PluginError::from_pki(
            "privateKeyPem",
            PkiError::InvalidField {
                field: "passphrase",
                reason: "must not be empty".into(),
            },
        );
        assert_eq!(e.to_string(), "passphrase: must not be empty");
        let e = PluginError::from_pki("certificatePem", PkiError::InvalidPem("bad".into()));
        assert_eq!(e.to_string(), "certificatePem: invalid pem: bad");
    }
}
