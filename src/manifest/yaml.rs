//! YAML text -> JSON value and positions, in one pass over the parser's events.
//!
//! The events come from granit-parser (the YAML 1.2 parser serde-saphyr is built on,
//! re-exported by it). Going through serde with a span per node cost ~200 ms on a 1.4 MiB
//! manifest; building the tree from the events costs about a quarter of that.
//!
//! Manifests are untrusted, so this enforces the limits documented in docs/manifest.md:
//! nesting depth 32, 1 000 000 nodes (aliases count what they expand to), 1 000 aliases,
//! 1 000 anchors, 8 MiB of scalar text (expanded too), one document; duplicate keys and
//! tags other than the core schema's are refused. Plain scalars are resolved with the YAML
//! 1.2 core schema: `null`/`~`/empty, `true`/`false` (so `yes` and `on` stay text), decimal,
//! `0x` and `0o` integers, floats. Merge keys (`<<: *base`) are expanded, explicit keys win.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use super::positions::{At, Entry, KEY_IS_SOURCE, Kind, Tree};
use crate::diagnostics::{Diagnostic, Pos};

/// The parse limits (documented in docs/manifest.md, "Limits and safety").
pub const MAX_DEPTH: usize = 32;
pub const MAX_NODES: usize = 1_000_000;
pub const MAX_ALIASES: usize = 1_000;
pub const MAX_ANCHORS: usize = 1_000;
pub const MAX_SCALAR_BYTES: usize = 8 << 20;

const CORE: &str = "tag:yaml.org,2002:";

type Item<'a> = Result<(Ev<'a>, At), ScanError>;

/// From this size on, a second thread scans while the first builds.
const PIPELINE_FROM_BYTES: usize = 64 << 10;
/// Events handed from the scanning thread to the building one at a time.
const BATCH: usize = 1024;

/// A parser event reduced to what the builder needs (a position instead of a span), with
/// plain scalars resolved.
enum Ev<'a> {
    /// Stream start, document end: nothing to build.
    Skip,
    DocumentStart,
    StreamEnd,
    /// `text` is kept when the value is not a string, to serve as a mapping key.
    Scalar {
        value: Value,
        text: Option<Cow<'a, str>>,
        plain: bool,
        anchor: usize,
    },
    Tagged {
        text: Cow<'a, str>,
        tag: Cow<'a, Tag>,
        anchor: usize,
    },
    SeqStart(usize, Option<Cow<'a, Tag>>),
    SeqEnd,
    MapStart(usize, Option<Cow<'a, Tag>>),
    MapEnd,
    Alias(usize),
}

fn compact<'a>(item: Result<(Event<'a>, Span), ScanError>) -> Item<'a> {
    let (event, span) = item?;
    let ev = match event {
        Event::DocumentStart(..) => Ev::DocumentStart,
        Event::StreamEnd => Ev::StreamEnd,
        Event::Scalar(text, style, anchor, None) => {
            let plain = style == ScalarStyle::Plain;
            let (value, text) = if plain {
                resolve_plain(text)
            } else {
                (Value::String(text.into_owned()), None)
            };
            Ev::Scalar {
                value,
                text,
                plain,
                anchor,
            }
        }
        Event::Scalar(text, _, anchor, Some(tag)) => Ev::Tagged { text, tag, anchor },
        Event::SequenceStart(_, anchor, tag) => Ev::SeqStart(anchor, tag),
        Event::SequenceEnd => Ev::SeqEnd,
        Event::MappingStart(_, anchor, tag) => Ev::MapStart(anchor, tag),
        Event::MappingEnd => Ev::MapEnd,
        Event::Alias(id) => Ev::Alias(id),
        _ => Ev::Skip,
    };
    Ok((ev, at(&span)))
}

/// Errors are boxed: the builder's results move through every level of the tree.
type Fail = Box<Diagnostic>;

/// Parses one YAML document into its JSON value and positions. An empty stream is `null`.
pub fn parse(source: &str) -> Result<(Value, Tree), Diagnostic> {
    let options = serde_saphyr::granit_parser::options! {
        flow_nesting_limit: MAX_DEPTH,
        block_nesting_limit: MAX_DEPTH + 1,
        emit_comments: false,
    };
    let parser = Parser::new_from_str_with_options(source, options);
    if source.len() < PIPELINE_FROM_BYTES {
        return Builder::new(parser.map(compact), source)
            .stream()
            .map_err(|fail| *fail);
    }
    // Scanning is over half the work: on a large manifest a second thread scans while this
    // one builds (86 -> 76 ms, fastest of 30, on the 1.4 MiB bench manifest). The channel is
    // bounded, and the scanner stops when the builder hangs up on an error.
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<_>>(4);
        scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            for item in parser {
                let failed = item.is_err();
                batch.push(item);
                if (batch.len() == BATCH || failed)
                    && sender
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                        .is_err()
                {
                    return;
                }
                if failed {
                    return;
                }
            }
            let _ = sender.send(batch);
        });
        let events = receiver.into_iter().flatten().map(compact);
        Builder::new(events, source).stream().map_err(|fail| *fail)
    })
}

/// A built node (its positions are the builder's entries from where it started) with what
/// it weighs against the budgets.
struct Built {
    value: Value,
    nodes: usize,
    bytes: usize,
}

/// An anchored node, kept to expand its aliases.
struct Anchored {
    value: Value,
    entries: Vec<Entry>,
    nodes: usize,
    bytes: usize,
}

struct Builder<I> {
    events: I,
    tree: Tree,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    aliases: usize,
    scalar_bytes: usize,
}

fn at(span: &Span) -> At {
    let start = span.start.byte_offset().unwrap_or(0);
    let end = span.end.byte_offset().unwrap_or(start);
    let small = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    At {
        line: small(span.start.line()),
        column: small(span.start.col() + 1),
        start: small(start),
        len: small(end.saturating_sub(start)),
    }
}

fn leaf(at: At) -> Entry {
    Entry {
        at,
        key: At::default(),
        key_text: KEY_IS_SOURCE,
        size: 1,
        kind: Kind::Leaf,
    }
}

fn error(code: &'static str, message: String, at: At) -> Diagnostic {
    Diagnostic::new(code, format!("invalid YAML: {message}")).at(at.pos())
}

fn too_complex(message: String, at: At, hint: &'static str) -> Fail {
    Box::new(error("yaml-too-complex", message, at).hint(hint))
}

const LIMITS_HINT: &str = "the YAML exceeds pbideploy's limits (nesting depth 32, 1000000 nodes, 1000 aliases, 8 MiB of text); simplify it";

impl<'a, I: Iterator<Item = Item<'a>>> Builder<I> {
    fn new(events: I, source: &str) -> Self {
        Builder {
            events,
            // About one node per 8 bytes of YAML: growing a large tree by doubling would
            // copy it several times over.
            tree: Tree {
                entries: Vec::with_capacity(source.len() / 8),
                texts: Vec::new(),
                source: Arc::from(source),
            },
            anchors: HashMap::new(),
            nodes: 0,
            aliases: 0,
            scalar_bytes: 0,
        }
    }

    fn next(&mut self) -> Result<(Ev<'a>, At), Fail> {
        match self.events.next() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(err)) => Err(Box::new(scan_error(&err))),
            None => Err(Box::new(Diagnostic::new(
                "yaml-syntax",
                "invalid YAML: unexpected end of the stream",
            ))),
        }
    }

    fn stream(mut self) -> Result<(Value, Tree), Fail> {
        let mut documents = 0;
        let mut root = Value::Null;
        loop {
            let (event, span) = self.next()?;
            match event {
                Ev::Skip => {}
                Ev::StreamEnd => break,
                Ev::DocumentStart => {
                    documents += 1;
                    if documents > 1 {
                        return Err(Box::new(
                            error(
                                "multiple-documents",
                                "the file holds more than one YAML document".into(),
                                span,
                            )
                            .hint(
                                "a manifest is a single YAML document; remove the `---` separators",
                            ),
                        ));
                    }
                }
                event => root = self.node(event, span, 1)?.value,
            }
        }
        Ok((root, self.tree))
    }

    fn node(&mut self, event: Ev<'a>, span: At, depth: usize) -> Result<Built, Fail> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(too_complex(
                format!("more than {MAX_NODES} nodes"),
                span,
                LIMITS_HINT,
            ));
        }
        let start = self.tree.entries.len();
        let (built, anchor) = match event {
            Ev::Scalar { value, anchor, .. } => (self.scalar(value, span)?, anchor),
            Ev::Tagged { text, tag, anchor } => {
                let value = tagged_scalar(text, &tag, span)?;
                (self.scalar(value, span)?, anchor)
            }
            Ev::SeqStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq", span)?;
                (self.sequence(span, depth)?, anchor)
            }
            Ev::MapStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map", span)?;
                (self.mapping(span, depth)?, anchor)
            }
            Ev::Alias(id) => (self.alias(id, span)?, 0),
            _ => {
                return Err(Box::new(error(
                    "yaml-syntax",
                    "unexpected YAML structure".into(),
                    span,
                )));
            }
        };
        if anchor != 0 {
            if self.anchors.len() >= MAX_ANCHORS {
                return Err(too_complex(
                    format!("more than {MAX_ANCHORS} anchors"),
                    span,
                    "too many anchors or aliases; write the values out",
                ));
            }
            let anchored = Anchored {
                value: built.value.clone(),
                entries: self.tree.entries[start..].to_vec(),
                nodes: built.nodes,
                bytes: built.bytes,
            };
            self.anchors.insert(anchor, anchored);
        }
        Ok(built)
    }

    fn scalar(&mut self, value: Value, span: At) -> Result<Built, Fail> {
        let bytes = value.as_str().map_or(0, str::len);
        self.count_bytes(bytes, span)?;
        self.tree.entries.push(leaf(span));
        Ok(Built {
            value,
            nodes: 1,
            bytes,
        })
    }

    fn count_bytes(&mut self, len: usize, span: At) -> Result<(), Fail> {
        self.scalar_bytes += len;
        if self.scalar_bytes > MAX_SCALAR_BYTES {
            return Err(too_complex(
                format!("more than {} MiB of scalar text", MAX_SCALAR_BYTES >> 20),
                span,
                LIMITS_HINT,
            ));
        }
        Ok(())
    }

    /// Opens a collection: checks the depth and pushes its entry, sized by `close`.
    fn open(&mut self, depth: usize, span: At, kind: Kind) -> Result<usize, Fail> {
        if depth > MAX_DEPTH {
            return Err(too_complex(
                format!("nesting deeper than {MAX_DEPTH} levels"),
                span,
                LIMITS_HINT,
            ));
        }
        self.tree.entries.push(Entry { kind, ..leaf(span) });
        Ok(self.tree.entries.len() - 1)
    }

    fn close(&mut self, index: usize) {
        let size = self.tree.entries.len() - index;
        self.tree.entries[index].size = u32::try_from(size).unwrap_or(u32::MAX);
    }

    fn sequence(&mut self, span: At, depth: usize) -> Result<Built, Fail> {
        let index = self.open(depth, span, Kind::Seq)?;
        let mut values = Vec::new();
        let (mut nodes, mut bytes) = (1, 0);
        loop {
            let (event, item_span) = self.next()?;
            if matches!(event, Ev::SeqEnd) {
                break;
            }
            let item = self.node(event, item_span, depth + 1)?;
            nodes += item.nodes;
            bytes += item.bytes;
            values.push(item.value);
        }
        self.close(index);
        Ok(Built {
            value: Value::Array(values),
            nodes,
            bytes,
        })
    }

    fn mapping(&mut self, span: At, depth: usize) -> Result<Built, Fail> {
        let index = self.open(depth, span, Kind::Map)?;
        let mut object = Map::new();
        let mut merged: Vec<(Value, Vec<Entry>)> = Vec::new();
        let (mut nodes, mut bytes) = (1, 0);
        loop {
            let (event, key_span) = self.next()?;
            let (key, plain) = match event {
                Ev::MapEnd => break,
                Ev::Scalar {
                    value, text, plain, ..
                } => match (value, text) {
                    (Value::String(key), _) => (key, plain),
                    (_, text) => (text.map(Cow::into_owned).unwrap_or_default(), plain),
                },
                Ev::Tagged { text, tag, .. } if is_core(&tag, "str") || is_non_specific(&tag) => {
                    (text.into_owned(), false)
                }
                Ev::Tagged { tag, .. } => return Err(unsupported_tag(&tag, key_span)),
                _ => {
                    return Err(Box::new(error(
                        "yaml-syntax",
                        "mapping keys must be plain text, not lists, mappings or aliases".into(),
                        key_span,
                    )));
                }
            };
            self.count_bytes(key.len(), key_span)?;
            let (event, value_span) = self.next()?;
            let member = self.tree.entries.len();
            let value = self.node(event, value_span, depth + 1)?;
            nodes += value.nodes;
            bytes += value.bytes + key.len();
            if plain && key == "<<" {
                merged.push((value.value, self.tree.entries.split_off(member)));
                continue;
            }
            if object.contains_key(&key) {
                return Err(Box::new(
                    error(
                        "duplicate-key",
                        format!("duplicate mapping key: {key}"),
                        key_span,
                    )
                    .hint("each key may appear once per mapping; remove or merge the repeated key"),
                ));
            }
            self.name_member(member, &key, key_span);
            object.insert(key, value.value);
        }
        for (value, entries) in merged {
            self.merge(&mut object, value, &entries, 0)?;
        }
        self.close(index);
        Ok(Built {
            value: Value::Object(object),
            nodes,
            bytes,
        })
    }

    /// Records the key the entry at `member` was written under.
    fn name_member(&mut self, member: usize, key: &str, key_at: At) {
        let start = key_at.start as usize;
        let written = self.tree.source.get(start..start + key_at.len as usize);
        let key_text = if written == Some(key) {
            KEY_IS_SOURCE
        } else {
            self.tree.texts.push(key.to_owned());
            u32::try_from(self.tree.texts.len() - 1).unwrap_or(0)
        };
        let entry = &mut self.tree.entries[member];
        entry.key = key_at;
        entry.key_text = key_text;
    }

    /// `<<: *base` or `<<: [*a, *b]`: members not written in the mapping itself come from
    /// the merged mappings, the first one listed winning. `entries[index..]` are the
    /// merged node's positions.
    fn merge(
        &mut self,
        object: &mut Map<String, Value>,
        value: Value,
        entries: &[Entry],
        index: usize,
    ) -> Result<(), Fail> {
        let children = |index: usize| {
            let end = index + entries[index].size as usize;
            let mut next = index + 1;
            std::iter::from_fn(move || {
                (next < end).then(|| {
                    let current = next;
                    next += (entries[current].size as usize).max(1);
                    current
                })
            })
        };
        match value {
            Value::Object(mut members) => {
                for child in children(index) {
                    let entry = &entries[child];
                    let key = self.tree.key_text(entry).to_owned();
                    if object.contains_key(&key) {
                        continue;
                    }
                    if let Some(member) = members.remove(&key) {
                        object.insert(key, member);
                        let size = entry.size as usize;
                        self.tree
                            .entries
                            .extend_from_slice(&entries[child..child + size]);
                    }
                }
                Ok(())
            }
            Value::Array(items) => {
                for (item, child) in items.into_iter().zip(children(index)) {
                    if !item.is_object() {
                        return Err(merge_error(&entries[child]));
                    }
                    self.merge(object, item, entries, child)?;
                }
                Ok(())
            }
            _ => Err(merge_error(&entries[index])),
        }
    }

    fn alias(&mut self, id: usize, span: At) -> Result<Built, Fail> {
        self.aliases += 1;
        if self.aliases > MAX_ALIASES {
            return Err(too_complex(
                format!("more than {MAX_ALIASES} aliases"),
                span,
                "too many anchors or aliases; write the values out",
            ));
        }
        let Some(target) = self.anchors.get(&id) else {
            return Err(Box::new(error(
                "yaml-syntax",
                "an alias refers to an anchor that is not defined before it".into(),
                span,
            )));
        };
        // The alias node itself counted one already; the expansion counts the rest.
        self.nodes += target.nodes.saturating_sub(1);
        self.scalar_bytes += target.bytes;
        if self.nodes > MAX_NODES || self.scalar_bytes > MAX_SCALAR_BYTES {
            return Err(too_complex(
                "the aliases expand to more than the node or text limit".into(),
                span,
                LIMITS_HINT,
            ));
        }
        let start = self.tree.entries.len();
        self.tree.entries.extend_from_slice(&target.entries);
        self.tree.entries[start].at = span;
        Ok(Built {
            value: target.value.clone(),
            nodes: target.nodes,
            bytes: target.bytes,
        })
    }
}

fn merge_error(entry: &Entry) -> Fail {
    Box::new(
        Diagnostic::new(
            "yaml-syntax",
            "invalid YAML: a merge key (`<<`) takes a mapping or a list of mappings",
        )
        .at(entry.at.pos()),
    )
}

fn check_collection_tag(tag: Option<&Tag>, kind: &str, span: At) -> Result<(), Fail> {
    match tag {
        None => Ok(()),
        Some(tag) if is_core(tag, kind) || is_non_specific(tag) => Ok(()),
        Some(tag) => Err(unsupported_tag(tag, span)),
    }
}

/// `!!name`, however the `!!` handle was spelled.
fn is_core(tag: &Tag, name: &str) -> bool {
    tag.suffix_in_namespace(CORE)
        .is_some_and(|suffix| suffix == name)
}

/// The non-specific tag `!`: the node is what it looks like, a scalar text.
fn is_non_specific(tag: &Tag) -> bool {
    tag.handle().is_empty() && tag.suffix() == "!"
}

fn unsupported_tag(tag: &Tag, span: At) -> Fail {
    Box::new(
        error(
            "unsupported-tag",
            format!(
                "unsupported tag `{}{}`",
                tag.original_handle(),
                tag.suffix()
            ),
            span,
        )
        .hint("custom YAML tags such as `!include` are not allowed in manifests"),
    )
}

/// `!!str`, `!!int`, `!!float`, `!!bool`, `!!null` and the non-specific `!` (text).
fn tagged_scalar(text: Cow<'_, str>, tag: &Tag, span: At) -> Result<Value, Fail> {
    let invalid = |kind: &str| -> Fail {
        Box::new(error(
            "yaml-syntax",
            format!("`{text}` is not a valid !!{kind}"),
            span,
        ))
    };
    if is_non_specific(tag) {
        return Ok(Value::String(text.into_owned()));
    }
    let Some(core) = tag.suffix_in_namespace(CORE) else {
        return Err(unsupported_tag(tag, span));
    };
    match core.as_ref() {
        "str" => Ok(Value::String(text.into_owned())),
        "null" if is_null(&text) => Ok(Value::Null),
        "bool" => as_bool(&text)
            .map(Value::Bool)
            .ok_or_else(|| invalid("bool")),
        "int" => as_int(&text).ok_or_else(|| invalid("int")),
        "float" => as_int(&text)
            .or_else(|| as_float(&text))
            .ok_or_else(|| invalid("float")),
        "null" => Err(invalid("null")),
        _ => Err(unsupported_tag(tag, span)),
    }
}

/// A plain scalar by the YAML 1.2 core schema; the text comes back when the value is not a
/// string.
fn resolve_plain(text: Cow<'_, str>) -> (Value, Option<Cow<'_, str>>) {
    if is_null(&text) {
        return (Value::Null, Some(text));
    }
    if let Some(b) = as_bool(&text) {
        return (Value::Bool(b), Some(text));
    }
    let first = text.as_bytes()[0];
    if (first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.'))
        && let Some(number) = as_int(&text).or_else(|| as_float(&text))
    {
        return (number, Some(text));
    }
    (Value::String(text.into_owned()), None)
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn as_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn all_digits(text: &str, radix: u32) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_digit(radix))
}

fn as_int(text: &str) -> Option<Value> {
    if let Some(hex) = text.strip_prefix("0x") {
        return all_digits(hex, 16)
            .then(|| u64::from_str_radix(hex, 16).ok())
            .flatten()
            .map(Value::from);
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return all_digits(octal, 8)
            .then(|| u64::from_str_radix(octal, 8).ok())
            .flatten()
            .map(Value::from);
    }
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if !all_digits(digits, 10) {
        return None;
    }
    if negative {
        text.parse::<i64>().ok().map(Value::from)
    } else {
        digits.parse::<u64>().ok().map(Value::from)
    }
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`; infinities and NaN stay text, as
/// JSON cannot hold them (the schema then says what was expected).
fn as_float(text: &str) -> Option<Value> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match fraction {
        Some(fraction) if whole.is_empty() => !fraction.is_empty() && digits(fraction),
        Some(fraction) => !whole.is_empty() && digits(whole) && digits(fraction),
        None => !whole.is_empty() && digits(whole),
    };
    let exponent_ok =
        exponent.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
}

/// A scanner or parser error, with its position and a code.
fn scan_error(err: &ScanError) -> Diagnostic {
    let message = err.info();
    let mark = err.marker();
    let (code, hint) = classify(&message);
    let start = mark.byte_offset();
    let mut diag = Diagnostic::new(code, format!("invalid YAML: {message}")).at(Pos {
        line: mark.line() as u64,
        column: mark.col() as u64 + 1,
        bytes: start.map(|s| s..s + 1),
    });
    if let Some(hint) = hint {
        diag = diag.hint(hint);
    }
    diag
}

fn classify(message: &str) -> (&'static str, Option<&'static str>) {
    let lower = message.to_ascii_lowercase();
    if lower.contains("nesting") || lower.contains("recursion limit") || lower.contains("depth") {
        ("yaml-too-complex", Some(LIMITS_HINT))
    } else if lower.contains("tag") {
        (
            "unsupported-tag",
            Some("custom YAML tags such as `!include` are not allowed in manifests"),
        )
    } else {
        ("yaml-syntax", None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Value {
        parse(text).map(|(v, _)| v).unwrap()
    }

    fn code(text: &str) -> &'static str {
        parse(text).unwrap_err().code
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        let v = value(
            "a: ~\nb: null\nc:\nd: true\ne: False\nf: yes\ng: on\nh: 42\ni: -7\nj: 0x1F\nk: 0o17\nl: 1.5\nm: .5e3\nn: 1_000\no: 06:00\np: .inf\nq: '42'\nr: +3\ns: 1e400\n",
        );
        let expect = serde_json::json!({
            "a": null, "b": null, "c": null, "d": true, "e": false, "f": "yes", "g": "on",
            "h": 42, "i": -7, "j": 31, "k": 15, "l": 1.5, "m": 500.0, "n": "1_000",
            "o": "06:00", "p": ".inf", "q": "42", "r": 3, "s": "1e400",
        });
        assert_eq!(v, expect);
    }

    #[test]
    fn core_tags_type_scalars_and_other_tags_are_refused() {
        assert_eq!(value("a: !!str 42\nb: !!int '7'\nc: ! true\n")["a"], "42");
        assert_eq!(value("b: !!int '7'\n")["b"], 7);
        assert_eq!(value("c: ! true\n")["c"], "true");
        assert_eq!(code("a: !!int x\n"), "yaml-syntax");
        assert_eq!(code("a: !include x.yaml\n"), "unsupported-tag");
        assert_eq!(code("a: !!set {x}\n"), "unsupported-tag");
    }

    #[test]
    fn merge_keys_expand_and_explicit_keys_win() {
        let v =
            value("base: &b {x: 1, y: 2}\nother: &o {z: 3, x: 9}\nm:\n  <<: [*b, *o]\n  y: 5\n");
        assert_eq!(v["m"], serde_json::json!({"x": 1, "y": 5, "z": 3}));
        assert_eq!(code("m:\n  <<: 3\n"), "yaml-syntax");
    }

    #[test]
    fn positions_point_at_values_keys_and_aliases() {
        let (_, pos) = parse("a:\n  - x\n  - &n {k: v}\nb: *n\n").unwrap();
        let map = super::super::positions::PosMap::new(pos);
        assert_eq!((map.value("/a/0").line, map.value("/a/0").column), (2, 5));
        assert_eq!((map.key("/a").line, map.key("/a").column), (1, 1));
        assert_eq!(map.value("/a/1/k").column, 12);
        assert_eq!(map.value("/b").line, 4, "an alias is where it is used");
        assert_eq!(
            map.value("/b/k").line,
            3,
            "what it expands to is where it was written"
        );
    }

    #[test]
    fn limits_hold() {
        assert_eq!(code("a: 1\na: 2\n"), "duplicate-key");
        assert_eq!(code("a: 1\n---\nb: 2\n"), "multiple-documents");
        let deep = format!("{}x{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(code(&deep), "yaml-too-complex");
        let block: String = (0..40).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
        assert_eq!(code(&block), "yaml-too-complex");
        let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = (b'a' + i - 1) as char;
            let name = (b'a' + i) as char;
            laughs += &format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            );
        }
        assert_eq!(code(&laughs), "yaml-too-complex");
        assert_eq!(code("a: *nope\n"), "yaml-syntax");
        assert_eq!(value(""), Value::Null);
        assert_eq!(value("# only a comment\n"), Value::Null);
    }

    /// Every YAML file of the repository parses to the same JSON as through serde-saphyr,
    /// which the manifest loader used before (with the same strict booleans and refusals).
    #[test]
    fn the_repository_yaml_parses_as_serde_saphyr_parses_it() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in [
            "manifests",
            "tests/fixtures",
            "tests/manifests/invalid",
            "examples/ci",
        ] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            files.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml")),
            );
        }
        assert!(files.len() > 60, "found {} YAML files", files.len());
        let options = serde_saphyr::options! {
            strict_booleans: true,
            reject_unsupported_tags: true,
        };
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let theirs = serde_saphyr::from_str_with_options::<Value>(&text, options.clone());
            let ours = parse(&text);
            match (theirs, ours) {
                (Ok(theirs), Ok((ours, _))) => assert_eq!(ours, theirs, "{}", path.display()),
                (Err(_), Err(_)) => {}
                (theirs, ours) => panic!(
                    "{}: serde-saphyr {:?}, ours {:?}",
                    path.display(),
                    theirs.map(|_| "ok"),
                    ours.map(|_| "ok")
                ),
            }
        }
    }

    /// Past `PIPELINE_FROM_BYTES` a second thread scans: the result is the same, and an error
    /// anywhere (the builder hanging up early, or the scanner failing late) comes back once.
    #[test]
    fn large_inputs_parse_on_two_threads_with_the_same_result_and_errors() {
        let mut text = String::from("list:\n");
        while text.len() < 2 * PIPELINE_FROM_BYTES {
            let i = text.len();
            text += &format!("  - {{name: item {i}, n: {i}, flag: true, tags: [a, 'b', ~]}}\n");
        }
        let theirs: Value = serde_saphyr::from_str(&text).unwrap();
        let (ours, tree) = parse(&text).unwrap();
        assert_eq!(ours, theirs);
        let lines = text.lines().count();
        let positions = super::super::positions::PosMap::new(tree);
        assert_eq!(
            positions.value(&format!("/list/{}/n", lines - 2)).line as usize,
            lines
        );

        let early = format!("a: 1\na: 2\n{text}");
        let err = parse(&early).unwrap_err();
        assert_eq!((err.code, err.line), ("duplicate-key", 2));
        let late = format!("{text}  - [unclosed\n");
        let err = parse(&late).unwrap_err();
        assert_eq!(err.code, "yaml-syntax", "{err:?}");
        assert!(err.line as usize > lines, "{err:?}");
    }
}
