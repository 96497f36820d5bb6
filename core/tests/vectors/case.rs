//! One vector case, with bookkeeping of the input fields a handler read.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::Value;

/// Fields every case may carry that are not inputs.
const NOT_INPUTS: [&str; 4] = ["name", "op", "expected", "note"];

pub struct Case {
    raw: Value,
    used: RefCell<BTreeSet<String>>,
}

impl Case {
    pub fn new(raw: Value) -> Self {
        Self { raw, used: RefCell::new(BTreeSet::new()) }
    }

    pub fn name(&self) -> &str {
        self.raw["name"].as_str().unwrap_or("<unnamed>")
    }

    pub fn op(&self) -> Result<&str, String> {
        self.raw["op"].as_str().ok_or_else(|| "case has no op".to_owned())
    }

    pub fn expected(&self) -> &Value {
        &self.raw["expected"]
    }

    /// An input field (marked as used); absent is `Value::Null`.
    pub fn get(&self, field: &str) -> &Value {
        self.used.borrow_mut().insert(field.to_owned());
        self.raw.get(field).unwrap_or(&Value::Null)
    }

    pub fn str(&self, field: &str) -> Result<&str, String> {
        self.get(field).as_str().ok_or_else(|| format!("field {field:?} is not a string"))
    }

    pub fn opt_str(&self, field: &str) -> Result<Option<&str>, String> {
        match self.get(field) {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            _ => Err(format!("field {field:?} is not a string or null")),
        }
    }

    pub fn u64(&self, field: &str) -> Result<u64, String> {
        self.get(field).as_u64().ok_or_else(|| format!("field {field:?} is not an unsigned integer"))
    }

    /// A list of strings, or one string under the singular name.
    pub fn strings(&self, plural: &str, singular: &str) -> Result<Vec<String>, String> {
        match (self.raw.get(plural), self.raw.get(singular)) {
            (Some(_), _) => self
                .get(plural)
                .as_array()
                .ok_or_else(|| format!("{plural:?} is not a list"))?
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| format!("{plural:?} holds a non-string")))
                .collect(),
            (None, Some(_)) => Ok(vec![self.str(singular)?.to_owned()]),
            (None, None) => Err(format!("case has neither {plural:?} nor {singular:?}")),
        }
    }

    /// Input fields the handler never read: an unknown field is a failure.
    fn unused(&self) -> Vec<String> {
        let used = self.used.borrow();
        self.raw
            .as_object()
            .map(|o| {
                o.keys()
                    .filter(|k| !NOT_INPUTS.contains(&k.as_str()) && !used.contains(k.as_str()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub enum Outcome {
    Pass,
    Fail(String),
}

impl Outcome {
    /// Every field of `expected` must equal the produced one.
    pub fn judge(case: &Case, produced: Result<Value, String>) -> Self {
        let produced = match produced {
            Ok(v) => v,
            Err(e) => return Self::Fail(e),
        };
        let unused = case.unused();
        if !unused.is_empty() {
            return Self::Fail(format!("runner does not understand field(s) {unused:?}"));
        }
        // Idempotency cases carry an `expected` per step, checked by their handler.
        if case.expected().is_null() && case.op() == Ok("idempotency") {
            return Self::Pass;
        }
        let Some(expected) = case.expected().as_object() else {
            return Self::Fail("case has no expected object".to_owned());
        };
        for (field, want) in expected {
            let got = produced.get(field).unwrap_or(&Value::Null);
            if got != want {
                return Self::Fail(format!("{field}: expected {want}, got {got}"));
            }
        }
        Self::Pass
    }
}

/// `{"ok": false, "error": code}`.
pub fn error(code: &str) -> Value {
    serde_json::json!({ "ok": false, "error": code })
}

/// A body field: a UTF-8 string, or null for none.
pub fn body(case: &Case) -> Result<Vec<u8>, String> {
    Ok(case.opt_str("body")?.unwrap_or_default().as_bytes().to_vec())
}
