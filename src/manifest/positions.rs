//! Where every value and key of the manifest was written, looked up by JSON pointer
//! (`/workspaces/0/name`), so schema, interpolation and semantic errors point at lines.
//!
//! The positions form a tree shaped like the parsed document (built by `yaml::parse` in the
//! same pass as the JSON value); a lookup walks it segment by segment. Nothing is formatted
//! per node, which keeps `validate` of a large manifest cheap.

use std::borrow::Cow;
use std::sync::Arc;

use crate::diagnostics::Pos;

/// A compact source position: 1-based line and column, byte range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct At {
    pub line: u32,
    pub column: u32,
    pub start: u32,
    pub len: u32,
}

impl At {
    pub fn pos(self) -> Pos {
        let start = self.start as usize;
        Pos {
            line: u64::from(self.line),
            column: u64::from(self.column),
            bytes: Some(start..start + self.len.max(1) as usize),
        }
    }
}

/// What a node is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    #[default]
    Leaf,
    Seq,
    Map,
}

/// `Entry::key_text` when the key's text is its span of the source (a plain key).
pub const KEY_IS_SOURCE: u32 = u32::MAX;

/// One node, in depth-first order: its children follow it, `size` entries in all.
#[derive(Debug, Clone, Copy, Default)]
pub struct Entry {
    pub at: At,
    /// The key it was written under (line 0 when it is not a mapping member).
    pub key: At,
    /// The key's text: `KEY_IS_SOURCE`, or an index in `Tree::texts` (quoted keys).
    pub key_text: u32,
    /// Entries in this subtree, itself included.
    pub size: u32,
    pub kind: Kind,
}

/// The positions of a whole document: one allocation, however many nodes.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub entries: Vec<Entry>,
    pub texts: Vec<String>,
    pub source: Arc<str>,
    /// For each alias of a scalar (by the alias's start offset), where its anchored scalar
    /// was written: the text a user wrote is looked up there.
    pub alias_scalars: Vec<(u32, At)>,
}

impl Tree {
    /// The text of the key `entry` was written under.
    pub fn key_text(&self, entry: &Entry) -> &str {
        if entry.key_text == KEY_IS_SOURCE {
            let start = entry.key.start as usize;
            self.source
                .get(start..start + entry.key.len as usize)
                .unwrap_or("")
        } else {
            self.texts
                .get(entry.key_text as usize)
                .map_or("", String::as_str)
        }
    }

    /// The source text of a scalar entry as written (for an alias, the anchored scalar's).
    fn written(&self, entry: &Entry) -> Option<&str> {
        if entry.kind != Kind::Leaf {
            return None;
        }
        let at = self
            .alias_scalars
            .iter()
            .find(|(start, _)| *start == entry.at.start)
            .map_or(entry.at, |(_, origin)| *origin);
        let start = at.start as usize;
        self.source.get(start..start + at.len as usize)
    }

    /// The direct children of the entry at `index`.
    pub fn children(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        children(&self.entries, index)
    }

    fn child(&self, index: usize, segment: &str) -> Option<usize> {
        match self.entries.get(index)?.kind {
            Kind::Leaf => None,
            Kind::Seq => self.children(index).nth(segment.parse().ok()?),
            Kind::Map => {
                let unescaped;
                let key = if segment.contains('~') {
                    unescaped = unescape(segment);
                    unescaped.as_str()
                } else {
                    segment
                };
                self.children(index)
                    .find(|&c| self.key_text(&self.entries[c]) == key)
            }
        }
    }
}

/// The direct children of `entries[index]`, in a depth-first run of entries (a whole tree,
/// or a subtree cut out of one).
pub fn children(entries: &[Entry], index: usize) -> impl Iterator<Item = usize> + '_ {
    let end = entries.get(index).map_or(0, |e| index + e.size as usize);
    let mut next = index + 1;
    std::iter::from_fn(move || {
        let current = next;
        let entry = entries.get(current).filter(|_| current < end)?;
        next += (entry.size as usize).max(1);
        Some(current)
    })
}

/// Positions of values and keys by JSON pointer.
#[derive(Debug, Clone, Default)]
pub struct PosMap {
    tree: Option<Arc<Tree>>,
    /// (to, from): `to` and everything under it was replaced by the value at `from`.
    grafts: Vec<(String, String)>,
}

impl PosMap {
    pub fn new(tree: Tree) -> Self {
        PosMap {
            tree: (!tree.entries.is_empty()).then(|| Arc::new(tree)),
            grafts: Vec::new(),
        }
    }

    /// Where the value at `pointer` was written; falls back to the nearest ancestor.
    pub fn value(&self, pointer: &str) -> Pos {
        self.locate(pointer)
            .map_or_else(Pos::default, |(entry, _)| entry.at.pos())
    }

    /// The text a scalar at `pointer` was written as (`01234` for the number 1234), when the
    /// pointer leads to exactly that scalar.
    pub fn written(&self, pointer: &str) -> Option<&str> {
        let tree = self.tree.as_deref()?;
        match self.locate_index(pointer)? {
            (index, true) => tree.written(&tree.entries[index]),
            _ => None,
        }
    }

    /// Where the key of the member at `pointer` was written, else where its value was.
    pub fn key(&self, pointer: &str) -> Pos {
        match self.locate(pointer) {
            Some((entry, true)) if entry.key.line > 0 => entry.key.pos(),
            Some((entry, _)) => entry.at.pos(),
            None => Pos::default(),
        }
    }

    /// Each item of the list (or member of the mapping) at `pointer`: its entry and where it
    /// was written.
    pub fn items(&self, pointer: &str) -> Vec<(usize, Pos)> {
        match self.locate_index(pointer) {
            Some((index, true)) => self.children_of(index),
            _ => Vec::new(),
        }
    }

    /// The items of member `key` of the mapping entry `index` (from `items`): a walk that
    /// does not start again from the root, for callers visiting every item of a long list.
    pub fn member_items(&self, index: usize, key: &str) -> Vec<(usize, Pos)> {
        let child = self.tree.as_deref().and_then(|tree| tree.child(index, key));
        child.map(|c| self.children_of(c)).unwrap_or_default()
    }

    fn children_of(&self, index: usize) -> Vec<(usize, Pos)> {
        let Some(tree) = self.tree.as_deref() else {
            return Vec::new();
        };
        tree.children(index)
            .map(|c| (c, tree.entries[c].at.pos()))
            .collect()
    }

    /// Makes `to` (and everything under it) point where `from` does: used when an
    /// environment override replaces a value, so errors point into the override.
    pub fn graft(&mut self, from: &str, to: &str) {
        self.grafts.push((to.to_owned(), from.to_owned()));
    }

    /// The deepest entry on the way to `pointer`, and whether it is the node itself.
    fn locate(&self, pointer: &str) -> Option<(Entry, bool)> {
        let tree = self.tree.as_deref()?;
        let (index, exact) = self.locate_index(pointer)?;
        Some((tree.entries[index], exact))
    }

    fn locate_index(&self, pointer: &str) -> Option<(usize, bool)> {
        let tree = self.tree.as_deref()?;
        let redirected = self
            .grafts
            .iter()
            .rev()
            .find_map(|(to, from)| under(pointer, to).map(|rest| format!("{from}{rest}")));
        let pointer = redirected.as_deref().unwrap_or(pointer);
        let mut index = 0;
        for segment in pointer.split('/').skip(1) {
            match tree.child(index, segment) {
                Some(child) => index = child,
                None => return Some((index, false)),
            }
        }
        Some((index, true))
    }
}

fn under<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = key.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Escapes one JSON-pointer segment (RFC 6901).
pub fn escape(segment: &str) -> Cow<'_, str> {
    if segment.contains(['~', '/']) {
        Cow::Owned(segment.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(segment)
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(line: u32, key: u32, size: u32, kind: Kind) -> Entry {
        let at = |line| At {
            line,
            column: 1,
            start: 0,
            len: 0,
        };
        Entry {
            at: at(line),
            key: if key == 0 { At::default() } else { at(key) },
            key_text: 0,
            size,
            kind,
        }
    }

    /// `{a/b: [x], env: {a/b: [y], c: z}}`: values on lines 3 (x on 13), 5, 7 (y on 17), 8.
    fn sample() -> PosMap {
        let mut entries = vec![
            entry(1, 0, 8, Kind::Map),
            entry(3, 2, 2, Kind::Seq),
            entry(13, 0, 1, Kind::Leaf),
            entry(5, 4, 4, Kind::Map),
            entry(7, 6, 2, Kind::Seq),
            entry(17, 0, 1, Kind::Leaf),
            entry(8, 8, 1, Kind::Leaf),
        ];
        entries[0].size = entries.len() as u32;
        for (i, text) in [(1, 0), (3, 1), (4, 0), (6, 2)] {
            entries[i].key_text = text;
        }
        PosMap::new(Tree {
            entries,
            texts: vec!["a/b".into(), "env".into(), "c".into()],
            source: Arc::from(""),
            alias_scalars: Vec::new(),
        })
    }

    #[test]
    fn lookups_walk_escaped_segments_and_fall_back_to_the_nearest_ancestor() {
        let map = sample();
        assert_eq!(map.value("/a~1b").line, 3);
        assert_eq!(map.key("/a~1b").line, 2);
        assert_eq!(map.value("/a~1b/0").line, 13);
        assert_eq!(map.value("/a~1b/7/name").line, 3, "missing index: the list");
        assert_eq!(
            map.key("/a~1b/7").line,
            3,
            "a missing key falls back to the value"
        );
        assert_eq!(map.value("/env/c").line, 8);
        assert_eq!(map.value("").line, 1);
        let lines =
            |items: Vec<(usize, Pos)>| items.iter().map(|(_, p)| p.line).collect::<Vec<_>>();
        assert_eq!(lines(map.items("/env")), [7, 8]);
        assert_eq!(lines(map.items("/a~1b")), [13]);
        assert!(map.items("/nope").is_empty());
        assert_eq!(lines(map.member_items(3, "a~1b")), [17]);
    }

    #[test]
    fn a_graft_points_the_replaced_value_into_the_override() {
        let mut map = sample();
        map.graft("/env/a~1b", "/a~1b");
        assert_eq!(map.value("/a~1b").line, 7);
        assert_eq!(map.key("/a~1b").line, 6);
        assert_eq!(map.value("/a~1b/0").line, 17);
        assert_eq!(
            map.value("/a~1bc").line,
            1,
            "a sibling with a longer name is not grafted"
        );
    }
}
