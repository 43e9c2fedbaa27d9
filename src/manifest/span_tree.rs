//! A YAML tree that remembers where every node and key was written. The YAML is parsed once,
//! through serde-saphyr with budgets, into this tree; it becomes a `serde_json::Value` for schema
//! validation plus a JSON-pointer -> position map, so schema errors point at lines.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use crate::diagnostics::Pos;

/// One YAML node with spanned children.
#[derive(Debug)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::UInt(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// Positions of values and keys by JSON pointer (`/workspaces/0/name`).
#[derive(Debug, Clone, Default)]
pub struct PosMap {
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
}

impl PosMap {
    /// Where the value at `pointer` was written; falls back to the nearest ancestor.
    pub fn value(&self, pointer: &str) -> Pos {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.values.get(p) {
                return pos.clone();
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Pos::default(),
            }
        }
    }

    /// Where the key of the member at `pointer` was written, else where its value was.
    pub fn key(&self, pointer: &str) -> Pos {
        match self.keys.get(pointer) {
            Some(pos) => pos.clone(),
            None => self.value(pointer),
        }
    }

    /// Makes `to` (and everything under it) point where `from` does: used when an
    /// environment override replaces a value, so errors point into the override.
    pub fn graft(&mut self, from: &str, to: &str) {
        let moved: Vec<(String, Pos)> = self
            .values
            .iter()
            .filter_map(|(k, v)| under(k, from).map(|rest| (format!("{to}{rest}"), v.clone())))
            .collect();
        self.values.extend(moved);
        let moved_keys: Vec<(String, Pos)> = self
            .keys
            .iter()
            .filter_map(|(k, v)| under(k, from).map(|rest| (format!("{to}{rest}"), v.clone())))
            .collect();
        self.keys.extend(moved_keys);
    }
}

fn under<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = key.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Escapes one JSON-pointer segment (RFC 6901).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn pos_of<T>(spanned: &Spanned<T>) -> Pos {
    let loc = spanned.referenced;
    let span = loc.span();
    let bytes = match (span.byte_offset(), span.byte_len()) {
        (Some(start), Some(len)) => {
            let start = usize::try_from(start).unwrap_or(usize::MAX);
            let len = usize::try_from(len).unwrap_or(0);
            Some(start..start.saturating_add(len.max(1)))
        }
        _ => None,
    };
    Pos {
        line: loc.line(),
        column: loc.column(),
        bytes,
    }
}

/// Converts the tree to JSON, recording positions. Depth is bounded by the parse budget.
pub fn to_json(root: &Spanned<Node>, map: &mut PosMap) -> Value {
    convert(root, String::new(), map)
}

fn convert(node: &Spanned<Node>, pointer: String, map: &mut PosMap) -> Value {
    map.values.insert(pointer.clone(), pos_of(node));
    match &node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => Value::from(*i),
        Node::UInt(u) => Value::from(*u),
        Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Node::Str(s) => Value::String(s.clone()),
        Node::Seq(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, format!("{pointer}/{i}"), map))
                .collect(),
        ),
        Node::Map(entries) => {
            let mut obj = Map::new();
            for (key, value) in entries {
                let child = format!("{pointer}/{}", escape(&key.value));
                map.keys.insert(child.clone(), pos_of(key));
                let converted = convert(value, child, map);
                obj.insert(key.value.clone(), converted);
            }
            Value::Object(obj)
        }
    }
}
