//! YAML text -> JSON value and positions, in one pass over the parser's events.
//!
//! The events come from granit-parser (the YAML 1.2 parser serde-saphyr is built on,
//! re-exported by it). Going through serde with a span per node cost several times what
//! building the tree from the events costs (`benches/local_work.rs` measures loading).
//!
//! Manifests are untrusted, so this enforces the limits documented in docs/manifest.md:
//! nesting depth 32, 1 000 000 nodes (aliases count what they expand to, an anchored node
//! counts twice for the copy its aliases are made from), 1 000 aliases,
//! 1 000 anchors, 8 MiB of scalar text (expanded too), one document; duplicate keys and
//! tags other than the core schema's are refused. Plain scalars are resolved with the YAML
//! 1.2 core schema: `null`/`~`/empty, `true`/`false` (so `yes` and `on` stay text), decimal,
//! `0x` and `0o` integers, floats (`scalars`). Merge keys (`<<: *base`) are expanded, explicit
//! keys win.

mod scalars;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use super::positions::{At, Entry, KEY_IS_SOURCE, Kind, Tree, children};
use crate::diagnostics::{Diagnostic, Pos};
use scalars::{
    check_collection_tag, is_core, is_non_specific, resolve_plain, tagged_scalar, unsupported_tag,
};

/// The parse limits (documented in docs/manifest.md, "Limits and safety").
pub const MAX_DEPTH: usize = 32;
pub const MAX_NODES: usize = 1_000_000;
pub const MAX_ALIASES: usize = 1_000;
pub const MAX_ANCHORS: usize = 1_000;
pub const MAX_SCALAR_BYTES: usize = 8 << 20;

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
    // one builds (a measurable gain on the bench manifest). The channel is bounded, and the
    // scanner stops when the builder hangs up on an error.
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

/// The value a plain scalar written as `text` has (the YAML 1.2 core schema).
pub fn plain_value(text: &str) -> Value {
    resolve_plain(Cow::Borrowed(text)).0
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
                alias_scalars: Vec::new(),
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
            // The copy kept for the aliases costs what the node does: without this charge,
            // anchors nested in anchors made copies of copies outside every budget (a 200 KiB
            // manifest could hold gigabytes).
            self.charge(built.nodes, built.bytes, span)?;
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

    /// Counts a copy (an alias's expansion, an anchor's kept value) against the node and
    /// text budgets.
    fn charge(&mut self, nodes: usize, bytes: usize, span: At) -> Result<(), Fail> {
        self.nodes += nodes;
        self.scalar_bytes += bytes;
        if self.nodes > MAX_NODES || self.scalar_bytes > MAX_SCALAR_BYTES {
            return Err(too_complex(
                "anchors and aliases copy more than the node or text limit".into(),
                span,
                LIMITS_HINT,
            ));
        }
        Ok(())
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
        match value {
            Value::Object(mut members) => {
                for child in children(entries, index) {
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
                for (item, child) in items.into_iter().zip(children(entries, index)) {
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
        let undefined = || {
            Box::new(error(
                "yaml-syntax",
                "an alias refers to an anchor that is not defined before it".into(),
                span,
            ))
        };
        let weight = self.anchors.get(&id).map(|t| (t.nodes, t.bytes));
        let (nodes, bytes) = weight.ok_or_else(undefined)?;
        // The alias node itself counted one already; the expansion counts the rest.
        self.charge(nodes.saturating_sub(1), bytes, span)?;
        let target = self.anchors.get(&id).ok_or_else(undefined)?;
        let start = self.tree.entries.len();
        self.tree.entries.extend_from_slice(&target.entries);
        if let [scalar] = target.entries.as_slice()
            && scalar.kind == Kind::Leaf
        {
            self.tree.alias_scalars.push((span.start, scalar.at));
        }
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
mod tests;
