//! Checks JSON answers against the collector's OpenAPI document (the
//! subset of JSON Schema the document uses), for the API tests, and the
//! document itself with the real `openapi-spec-validator` (PyPI; its venv
//! `target/openapi-venv` is prepared by scripts/setup-tests.sh, created
//! here when missing).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::bin;

/// The validator's PyPI release line.
pub const VALIDATOR: &str = "openapi-spec-validator==0.9.*";

/// `target/openapi-venv/bin/openapi-spec-validator`, creating the venv
/// (network needed) when it is missing.
pub fn spec_validator() -> PathBuf {
    let venv = bin("headroom-collector")
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("openapi-venv");
    let validator = venv.join("bin/openapi-spec-validator");
    if !validator.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", VALIDATOR])
            .status()
            .expect("pip install");
        assert!(status.success(), "pip install {VALIDATOR} failed");
    }
    validator
}

/// Checks `value` against `schema` as far as the document uses JSON Schema
/// (`$ref`, `allOf`, `oneOf`, `enum`, `const`, `type`, `required`,
/// `properties`, `items`, `additionalProperties: false`).
pub fn conforms(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(pointer) = schema["$ref"].as_str() {
        let target = document
            .pointer(pointer.trim_start_matches('#'))
            .ok_or_else(|| format!("{at}: dangling {pointer}"))?;
        return conforms(document, target, value, at);
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        conforms(document, part, value, at)?;
    }
    if let Some(any) = schema["oneOf"].as_array()
        && !any.iter().any(|p| conforms(document, p, value, at).is_ok())
    {
        return Err(format!("{at}: {value} matches none of {schema}"));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        return Err(format!("{at}: {value} is not {constant}"));
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let matches = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        };
        if !types.iter().any(|t| matches(t)) {
            return Err(format!("{at}: {value} is not of type {types:?}"));
        }
    }
    for key in schema["required"].as_array().into_iter().flatten() {
        let key = key.as_str().unwrap_or_default();
        if value.get(key).is_none() {
            return Err(format!("{at}: `{key}` is missing from {value}"));
        }
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for (key, inner) in object {
            match properties.get(key) {
                Some(property) => conforms(document, property, inner, &format!("{at}.{key}"))?,
                None if schema["additionalProperties"] == json!(false) => {
                    return Err(format!("{at}: `{key}` is not documented"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, inner) in values.iter().enumerate() {
            conforms(document, items, inner, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Checks the JSON answer of `method` `template` with `status` against the document.
pub fn documented(document: &Value, template: &str, method: &str, status: u16, body: &Value) {
    let mut response = &document["paths"][template][method]["responses"][status.to_string()];
    if let Some(pointer) = response["$ref"].as_str() {
        response = document
            .pointer(pointer.trim_start_matches('#'))
            .expect("response");
    }
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {template} {status} is not documented"
    );
    if let Err(error) = conforms(document, schema, body, "body") {
        panic!("{method} {template} {status}: {error}");
    }
}
