//! Resource addresses such as `workspace["Sales"].dataset["Sales Model"].parameters`.
//!
//! An address names one thing the plan can change. It is the identity users type after
//! `--target` and `state show`, and the id changes use to depend on each other, so it has a
//! stable text form (Display) and a parser that accepts exactly that form back.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One `kind["key"]` or bare `kind` part of an address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Segment {
    /// What the segment names: `workspace`, `dataset`, `report`, `access`, `parameters`, ...
    pub kind: String,
    /// The item's name within its parent; `None` for singletons such as `parameters`.
    pub key: Option<String>,
}

/// A path of segments from the root (a workspace or a gateway) to the thing addressed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address {
    pub segments: Vec<Segment>,
}

/// Why an address string could not be read; the message says what was expected where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid address `{input}` at character {position}: {reason} (expected a form like workspace[\"Sales\"].dataset[\"Sales Model\"])"
)]
pub struct AddressError {
    pub input: String,
    pub position: usize,
    pub reason: String,
}

impl Address {
    /// The address of a workspace, by name.
    pub fn workspace(name: &str) -> Self {
        Self::root("workspace", name)
    }

    /// The address of a gateway, by the id or name the manifest gave.
    pub fn gateway(name: &str) -> Self {
        Self::root("gateway", name)
    }

    /// An address with a single keyed segment.
    pub fn root(kind: &str, key: &str) -> Self {
        Self {
            segments: vec![Segment {
                kind: kind.to_string(),
                key: Some(key.to_string()),
            }],
        }
    }

    /// `self.dataset["name"]`.
    #[must_use]
    pub fn dataset(&self, name: &str) -> Self {
        self.keyed("dataset", name)
    }

    /// `self.report["name"]`.
    #[must_use]
    pub fn report(&self, name: &str) -> Self {
        self.keyed("report", name)
    }

    /// `self.kind["key"]`.
    #[must_use]
    pub fn keyed(&self, kind: &str, key: &str) -> Self {
        let mut out = self.clone();
        out.segments.push(Segment {
            kind: kind.to_string(),
            key: Some(key.to_string()),
        });
        out
    }

    /// `self.kind` (a singleton child such as `parameters` or `refresh`).
    #[must_use]
    pub fn child(&self, kind: &str) -> Self {
        let mut out = self.clone();
        out.segments.push(Segment {
            kind: kind.to_string(),
            key: None,
        });
        out
    }

    /// The workspace this address lives in, when it is rooted at a workspace (renderers group by it).
    pub fn workspace_name(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment { kind, key: Some(k) }) if kind == "workspace" => Some(k),
            _ => None,
        }
    }

    /// True when `self` is `prefix` or lies under it (`--target workspace["A"]` selects all of A).
    /// Keys compare case-insensitively because workspace and item names do.
    pub fn starts_with(&self, prefix: &Address) -> bool {
        prefix.segments.len() <= self.segments.len()
            && prefix
                .segments
                .iter()
                .zip(&self.segments)
                .all(|(p, s)| segment_eq(p, s))
    }

    /// Equality with case-insensitive keys: the identity rule for names in Power BI.
    pub fn same_item(&self, other: &Address) -> bool {
        self.segments.len() == other.segments.len() && self.starts_with(other)
    }

    /// The address without its last segment (`None` at the root).
    pub fn parent(&self) -> Option<Address> {
        if self.segments.len() <= 1 {
            return None;
        }
        let mut out = self.clone();
        out.segments.pop();
        Some(out)
    }

    /// The last segment, if any.
    pub fn last(&self) -> Option<&Segment> {
        self.segments.last()
    }
}

fn segment_eq(a: &Segment, b: &Segment) -> bool {
    a.kind == b.kind
        && match (&a.key, &b.key) {
            (None, None) => true,
            (Some(x), Some(y)) => x.to_lowercase() == y.to_lowercase(),
            _ => false,
        }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&seg.kind)?;
            if let Some(key) = &seg.key {
                f.write_str("[\"")?;
                for c in key.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        _ => fmt::Write::write_char(f, c)?,
                    }
                }
                f.write_str("\"]")?;
            }
        }
        Ok(())
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Parser {
            input,
            chars: input.char_indices().collect(),
            pos: 0,
        }
        .parse()
    }
}

struct Parser<'a> {
    input: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: impl Into<String>) -> AddressError {
        AddressError {
            input: self.input.to_string(),
            position: self.pos + 1,
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|&(_, c)| c)
    }

    fn expect(&mut self, want: char) -> Result<(), AddressError> {
        match self.peek() {
            Some(c) if c == want => {
                self.pos += 1;
                Ok(())
            }
            Some(c) => Err(self.error(format!("expected `{want}`, found `{c}`"))),
            None => Err(self.error(format!("expected `{want}`, found the end"))),
        }
    }

    fn parse(mut self) -> Result<Address, AddressError> {
        if self.input.trim().is_empty() {
            return Err(self.error("the address is empty"));
        }
        let mut segments = Vec::new();
        loop {
            segments.push(self.segment()?);
            match self.peek() {
                None => break,
                Some('.') => self.pos += 1,
                Some(c) => return Err(self.error(format!("expected `.` or the end, found `{c}`"))),
            }
        }
        Ok(Address { segments })
    }

    fn segment(&mut self) -> Result<Segment, AddressError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            return Err(self.error("expected a name such as `workspace` or `dataset`"));
        }
        let kind: String = self.chars[start..self.pos]
            .iter()
            .map(|&(_, c)| c)
            .collect();
        if self.peek() != Some('[') {
            return Ok(Segment { kind, key: None });
        }
        self.pos += 1;
        self.expect('"')?;
        let key = self.quoted()?;
        self.expect(']')?;
        Ok(Segment {
            kind,
            key: Some(key),
        })
    }

    fn quoted(&mut self) -> Result<String, AddressError> {
        let mut key = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted name: add the closing `\"`")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(key);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ ('"' | '\\')) => {
                            key.push(c);
                            self.pos += 1;
                        }
                        _ => return Err(self.error("only \\\" and \\\\ escapes are allowed")),
                    }
                }
                Some(c) => {
                    key.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let a = Address::workspace("Sales")
            .dataset("Sales \"Model\" \\ x")
            .child("parameters");
        let text = a.to_string();
        assert_eq!(
            text,
            r#"workspace["Sales"].dataset["Sales \"Model\" \\ x"].parameters"#
        );
        assert_eq!(text.parse::<Address>().unwrap(), a);
    }

    #[test]
    fn parse_rejects_bad_input_with_position() {
        let err = r#"workspace["Sales"#.parse::<Address>().unwrap_err();
        assert!(err.reason.contains("unterminated"), "{err}");
        let err = r#"workspace["Sales"]x"#.parse::<Address>().unwrap_err();
        assert_eq!(err.position, 19);
        assert!("".parse::<Address>().is_err());
        assert!(r#"workspace[Sales]"#.parse::<Address>().is_err());
        assert!(r#".dataset["x"]"#.parse::<Address>().is_err());
    }

    #[test]
    fn prefix_matching_is_case_insensitive_on_keys() {
        let ds = Address::workspace("Sales").dataset("Model");
        assert!(ds.starts_with(&Address::workspace("SALES")));
        assert!(!ds.starts_with(&Address::workspace("Sales2")));
        assert!(ds.child("refresh").starts_with(&ds));
        assert!(!ds.starts_with(&ds.child("refresh")));
        assert_eq!(ds.workspace_name(), Some("Sales"));
        assert_eq!(ds.parent(), Some(Address::workspace("Sales")));
    }

    #[test]
    fn serde_uses_the_text_form() {
        let a = Address::workspace("A").report("R");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#""workspace[\"A\"].report[\"R\"]""#);
        let back: Address = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }
}
