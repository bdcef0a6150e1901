//! Values made from a JSON Schema alone, for the keywords `protocol/schema.json` uses.
//!
//! The rules, in order: `const`; the first (or last) of `enum` or `examples`; a `$ref` is
//! followed; an object takes its required properties (or all of them) and, when it has a
//! `oneOf` of alternatives, those of the first (or last) alternative and none that only
//! another one requires; otherwise `oneOf`/`anyOf` take the first (or last) choice that is
//! not `null`; a value with several types takes its first type that is not `null`; strings are
//! `v` repeated `minLength` (or `maxLength`, else 8) times; numbers are `minimum` (or
//! `maximum`); arrays hold `minItems` items (or one); booleans are `false` (or `true`).

use serde_json::{Map, Value};

/// Which frame to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fill {
    /// Required fields only; each string, number and list at its smallest; first choices.
    Least,
    /// Every field; each string, number and list at its largest; last choices.
    Most,
}

/// Makes values for the schemas of one schema document (whose `$defs` a `$ref` names).
pub struct Maker<'a> {
    /// The whole document.
    pub root: &'a Value,
}

/// The first or the last of `list`, by `fill`.
fn pick(list: &[Value], fill: Fill) -> Option<&Value> {
    match fill {
        Fill::Least => list.first(),
        Fill::Most => list.last(),
    }
}

/// The names in a `required` list.
fn names(required: Option<&Value>) -> Vec<&str> {
    required
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn is_null(schema: &Value) -> bool {
    schema["type"] == "null"
}

impl Maker<'_> {
    /// The schema a `$ref` such as `#/$defs/Role` names.
    fn follow(&self, reference: &str) -> &Value {
        let pointer = reference.strip_prefix('#').unwrap_or(reference);
        self.root
            .pointer(pointer)
            .unwrap_or_else(|| panic!("the schema has no {reference}"))
    }

    /// A value of `schema`.
    pub fn value(&self, schema: &Value, fill: Fill) -> Value {
        if let Some(fixed) = schema.get("const") {
            return fixed.clone();
        }
        for listed in ["enum", "examples"] {
            if let Some(value) = schema[listed].as_array().and_then(|l| pick(l, fill)) {
                return value.clone();
            }
        }
        if let Some(reference) = schema["$ref"].as_str() {
            return self.value(self.follow(reference), fill);
        }
        if schema.get("properties").is_some() {
            return self.object(schema, fill);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(choices) = schema[key].as_array() {
                let choices: Vec<Value> = choices.iter().filter(|c| !is_null(c)).cloned().collect();
                let choice = pick(&choices, fill).expect("a choice that is not null");
                return self.value(choice, fill);
            }
        }
        let kind = match &schema["type"] {
            Value::Array(kinds) => kinds.iter().find(|k| *k != "null"),
            kind => Some(kind),
        };
        match kind.and_then(Value::as_str) {
            Some("string") => string(schema, fill),
            Some("integer" | "number") => number(schema, fill),
            Some("boolean") => Value::Bool(fill == Fill::Most),
            Some("array") => self.array(schema, fill),
            Some("object") => self.object(schema, fill),
            other => panic!("no value can be made for type {other:?} in {schema}"),
        }
    }

    /// An object: its required properties, or all of them, with one alternative of its
    /// `oneOf` (if any) chosen.
    fn object(&self, schema: &Value, fill: Fill) -> Value {
        let alternatives = schema["oneOf"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let chosen = pick(alternatives, fill);
        let mut required = names(schema.get("required"));
        required.extend(names(chosen.and_then(|c| c.get("required"))));
        let ruled_out: Vec<&str> = alternatives
            .iter()
            .filter(|a| Some(*a) != chosen)
            .flat_map(|a| names(a.get("required")))
            .filter(|name| !required.contains(name))
            .collect();
        let empty = Map::new();
        let properties = schema["properties"].as_object().unwrap_or(&empty);
        let extra = chosen
            .and_then(|c| c["properties"].as_object())
            .unwrap_or(&empty);
        let mut object = Map::new();
        for (name, property) in properties.iter().chain(extra) {
            let wanted = match fill {
                Fill::Least => required.contains(&name.as_str()),
                Fill::Most => !ruled_out.contains(&name.as_str()),
            };
            if wanted && !object.contains_key(name) {
                object.insert(name.clone(), self.value(property, fill));
            }
        }
        Value::Object(object)
    }

    /// An array of `minItems` items, or of one (never more than `maxItems`).
    fn array(&self, schema: &Value, fill: Fill) -> Value {
        let least = schema["minItems"].as_u64().unwrap_or(0);
        let most = schema["maxItems"].as_u64().unwrap_or(u64::MAX);
        let count = match fill {
            Fill::Least => least,
            Fill::Most => least.max(1).min(most),
        };
        let item = &schema["items"];
        Value::Array((0..count).map(|_| self.value(item, fill)).collect())
    }
}

/// A string of `v`s as long as the schema allows (least or most).
fn string(schema: &Value, fill: Fill) -> Value {
    let least = schema["minLength"].as_u64().unwrap_or(0);
    let length = match fill {
        Fill::Least => least,
        Fill::Most => schema["maxLength"].as_u64().unwrap_or(least.max(8)),
    };
    Value::String("v".repeat(usize::try_from(length).expect("a short string")))
}

/// The schema's `minimum` (or `maximum`), else the other bound, else 0.
fn number(schema: &Value, fill: Fill) -> Value {
    let (first, second) = match fill {
        Fill::Least => ("minimum", "maximum"),
        Fill::Most => ("maximum", "minimum"),
    };
    schema
        .get(first)
        .or_else(|| schema.get(second))
        .cloned()
        .unwrap_or(Value::from(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_maker_follows_the_schema_keywords() {
        let root = json!({"$defs": {"Kind": {"enum": ["a", "b"]}}});
        let maker = Maker { root: &root };
        let schema = json!({
            "type": "object",
            "properties": {
                "kind": {"$ref": "#/$defs/Kind"},
                "name": {"type": "string", "minLength": 2, "maxLength": 5},
                "count": {"type": ["integer", "null"], "minimum": -3, "maximum": 9},
                "list": {"type": "array", "items": {"type": "boolean"}},
                "either": {"type": ["string", "null"]},
                "or": {"type": ["string", "null"]}
            },
            "required": ["kind", "name", "list"],
            "oneOf": [{"required": ["either"]}, {"required": ["or"]}]
        });
        assert_eq!(
            maker.value(&schema, Fill::Least),
            json!({"kind": "a", "name": "vv", "list": [], "either": ""})
        );
        assert_eq!(
            maker.value(&schema, Fill::Most),
            json!({"kind": "b", "name": "vvvvv", "count": 9, "list": [true], "or": "vvvvvvvv"})
        );
    }
}
