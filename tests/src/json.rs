//! Reading the JSON that `mqadmin --json` prints: typed field accessors that panic with the
//! whole value when a field is missing or has another type, so a failing test shows what
//! came back.

use serde_json::Value;

/// A string field.
pub fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field} in {v}"))
}

/// An integer field.
pub fn int(v: &Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer {field} in {v}"))
}

/// An array field.
pub fn array<'a>(v: &'a Value, field: &str) -> &'a Vec<Value> {
    v[field]
        .as_array()
        .unwrap_or_else(|| panic!("no array {field} in {v}"))
}

/// A document that is an array.
pub fn items(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors() {
        let v = serde_json::json!({"a": "x", "n": 3, "l": [1]});
        assert_eq!(
            (text(&v, "a"), int(&v, "n"), array(&v, "l").len()),
            ("x", 3, 1)
        );
        assert_eq!(items(&v["l"]).len(), 1);
        let missing = std::panic::catch_unwind(|| int(&v, "a")).unwrap_err();
        let message = missing.downcast_ref::<String>().unwrap();
        assert!(message.starts_with("no integer a in {"), "{message}");
    }
}
