//! A per-user cache of what each PBIX's model told us, keyed by the file's SHA-256: decoding
//! a modern model (XPress9, ABF, SQLite) costs far more than `validate` may spend on a
//! manifest of thousands of datasets, and a file with the same content says the same thing.
//!
//! - **Where**: `$PBIDEPLOY_CACHE_DIR`, else `$XDG_CACHE_HOME/pbideploy`, else
//!   `~/.cache/pbideploy` (`%LOCALAPPDATA%\pbideploy\cache` on Windows); one file,
//!   `pbix-models-v1.json`. Never inside the repository: a cache committed in a pull request
//!   could otherwise make `plan` show a reviewer sources the file does not have.
//! - **Key**: the content's SHA-256 (`plan` hashes every PBIX anyway). `validate` does not
//!   hash: it first looks for the same canonical path with the same size and modification
//!   time (nanoseconds), and hashes only when those changed (a checkout, an edit), or when
//!   the time was under 2 s old when recorded ([`RACY_NS`]: a same-size rewrite within the
//!   file system's time tick would keep the stamp). Lookups go through in-memory indexes by
//!   path and by hash, so a run costs one `stat` per distinct file.
//! - **Invalidation**: a new content hash is a new entry; the build's version line (version,
//!   git commit, target) is part of the file, so another pbideploy build starts afresh. At most [`MAX_ENTRIES`] entries, the
//!   least recently used dropped first.
//! - **Import kinds**: `validate` also needs each file's kind (model, template, thin report):
//!   that is a read of the ZIP's directory and `Connections` part, thousands of them for a
//!   large manifest. The kind is kept by path with the same size, time and 2 s rules (a
//!   racy stamp is read again, not hashed), and never with the connection strings.
//! - **Hostile or corrupt files**: the cache file is read with a cap ([`MAX_CACHE_BYTES`]),
//!   must be a regular file, and is checked entry by entry; anything wrong and it is ignored
//!   with a warning (and rewritten). Writes are atomic (temporary file, rename).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{FileFacts, ImportKind};

/// Most entries kept: thousands of distinct PBIX files, each a few KiB of facts.
pub const MAX_ENTRIES: usize = 4096;
/// A modification time less than this (2 s) before it is recorded is not trusted to mark an
/// unchanged file: file systems keep times in coarse ticks (a timer tick, a second, two on
/// FAT), so a same-size rewrite within the tick keeps the stamp. Such a file is found by its
/// hash on the next run, then recorded for good (git's rule for "racily clean" entries).
const RACY_NS: u128 = 2_000_000_000;
/// Largest cache file read.
pub const MAX_CACHE_BYTES: u64 = 32 << 20;
const FILE_NAME: &str = "pbix-models-v1.json";
const FORMAT: u32 = 1;

/// The cache file's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CacheFile {
    format: u32,
    /// pbideploy's version line (version, commit, target): another build may read files
    /// differently.
    reader: String,
    entries: Vec<Entry>,
    /// Import kinds by path (absent in files written before kinds were kept).
    #[serde(default)]
    kinds: Vec<KindEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    sha256: String,
    /// Where the content was last seen, with its size and modification time then.
    path: PathBuf,
    len: u64,
    mtime_ns: u128,
    /// The modification time was too recent to trust when recorded ([`RACY_NS`]): the
    /// content is checked by its hash next time.
    #[serde(default)]
    racy: bool,
    /// Seconds since the epoch of the last use (for eviction).
    used: u64,
    facts: FileFacts,
}

/// The import kind of the file at `path`, as it was when it had this size and time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KindEntry {
    path: PathBuf,
    len: u64,
    mtime_ns: u128,
    racy: bool,
    used: u64,
    kind: ImportKind,
}

/// The cache of this process: loaded on first use, written by [`flush`].
struct Cache {
    file: Option<PathBuf>,
    entries: Vec<Entry>,
    /// Indexes into `entries` by path and by hash: a manifest of thousands of files would
    /// otherwise scan every entry for each file.
    by_path: HashMap<PathBuf, usize>,
    by_sha: HashMap<String, usize>,
    kinds: Vec<KindEntry>,
    /// Index into `kinds` by path.
    kind_by_path: HashMap<PathBuf, usize>,
    dirty: bool,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// The facts of `path`, from the cache when its content (known by `sha256`, or by its
/// size and modification time when `sha256` is `None`) was read before, else read now.
pub fn facts(path: &Path, sha256: Option<&str>) -> FileFacts {
    let Ok(mut guard) = CACHE.lock() else {
        return FileFacts::read(path);
    };
    let cache = guard.get_or_insert_with(Cache::load);
    cache.facts(path, sha256)
}

/// The import kind of `path`, from the cache when its stamp is the one recorded, else
/// `read()` (recorded when the file did not change while it was read).
pub fn import_kind<E>(
    path: &Path,
    read: impl FnOnce() -> Result<ImportKind, E>,
) -> Result<ImportKind, E> {
    let Ok(mut guard) = CACHE.lock() else {
        return read();
    };
    let cache = guard.get_or_insert_with(Cache::load);
    cache.import_kind(path, read)
}

/// Writes the cache when something was added (at the end of a batch of lookups).
pub fn flush() {
    if let Ok(mut guard) = CACHE.lock()
        && let Some(cache) = guard.as_mut()
    {
        cache.save();
    }
}

/// The cache folder (see the module docs), if one can be named.
pub fn dir() -> Option<PathBuf> {
    use crate::env_vars::{self as vars, ProcessEnv, VarSource};
    let var = |name: &str| ProcessEnv.var(name).map(PathBuf::from);
    if let Some(dir) = var(vars::PBIDEPLOY_CACHE_DIR) {
        return Some(dir);
    }
    if cfg!(windows) {
        return var(vars::LOCALAPPDATA).map(|d| d.join("pbideploy").join("cache"));
    }
    var(vars::XDG_CACHE_HOME)
        .or_else(|| var(vars::HOME).map(|h| h.join(".cache")))
        .map(|d| d.join("pbideploy"))
}

/// Whether a file modified at `mtime_ns` could still be rewritten within the same tick.
fn racy(mtime_ns: u128) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    mtime_ns.saturating_add(RACY_NS) > now
}

/// Whether a recorded stamp (`racy` when recorded) vouches for the file's current one.
fn trusted(racy: bool, recorded: (u64, u128), current: (u64, u128)) -> bool {
    !racy && recorded == current
}

/// Whether a last use recorded at `used` is over an hour old: worth writing the new one.
fn stale_use(used: u64) -> bool {
    used + 3600 < now()
}

/// Keeps the [`MAX_ENTRIES`] most recently used of `items`.
fn keep_recent<T>(items: &mut Vec<T>, used: impl Fn(&T) -> u64) {
    items.sort_by_key(|e| std::cmp::Reverse(used(e)));
    items.truncate(MAX_ENTRIES);
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// (size, modification time in ns) of a regular file.
fn stamp(path: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((meta.len(), mtime.as_nanos()))
}

impl Cache {
    fn load() -> Cache {
        Self::at(dir().map(|d| d.join(FILE_NAME)))
    }

    /// The cache kept in `file` (`None`: in memory only).
    fn at(file: Option<PathBuf>) -> Cache {
        let (entries, kinds) = match &file {
            Some(f) => match read_file(f) {
                Ok(read) => read,
                Err(why) => {
                    tracing::warn!(
                        "ignoring the PBIX model cache {}: {why}; it will be rewritten",
                        f.display()
                    );
                    Default::default()
                }
            },
            None => Default::default(),
        };
        let mut cache = Cache {
            file,
            entries,
            by_path: HashMap::new(),
            by_sha: HashMap::new(),
            kinds,
            kind_by_path: HashMap::new(),
            dirty: false,
        };
        cache.index();
        cache
    }

    /// Rebuilds [`Cache::by_path`] and [`Cache::by_sha`] from the entries.
    fn index(&mut self) {
        self.by_path.clear();
        self.by_sha.clear();
        for (i, e) in self.entries.iter().enumerate() {
            self.by_path.insert(e.path.clone(), i);
            self.by_sha.insert(e.sha256.to_ascii_lowercase(), i);
        }
        self.kind_by_path = (self.kinds.iter().enumerate())
            .map(|(i, e)| (e.path.clone(), i))
            .collect();
    }

    fn import_kind<E>(
        &mut self,
        path: &Path,
        read: impl FnOnce() -> Result<ImportKind, E>,
    ) -> Result<ImportKind, E> {
        let Some((len, mtime_ns)) = stamp(path) else {
            return read();
        };
        let known = self.kind_by_path.get(path).copied();
        if let Some(i) = known {
            let e = &mut self.kinds[i];
            if trusted(e.racy, (e.len, e.mtime_ns), (len, mtime_ns)) {
                if stale_use(e.used) {
                    e.used = now();
                    self.dirty = true;
                }
                return Ok(e.kind.clone());
            }
        }
        let kind = read()?;
        // Kept only when the file did not change while it was read.
        if stamp(path) == Some((len, mtime_ns)) {
            let entry = KindEntry {
                path: path.to_path_buf(),
                len,
                mtime_ns,
                racy: racy(mtime_ns),
                used: now(),
                kind: kind.clone(),
            };
            match known {
                Some(i) => self.kinds[i] = entry,
                None => {
                    self.kind_by_path
                        .insert(path.to_path_buf(), self.kinds.len());
                    self.kinds.push(entry);
                }
            }
            self.dirty = true;
        }
        Ok(kind)
    }

    /// The entry holding the content `sha256`.
    fn with_sha(&self, sha256: &str) -> Option<usize> {
        self.by_sha.get(&sha256.to_ascii_lowercase()).copied()
    }

    fn facts(&mut self, path: &Path, sha256: Option<&str>) -> FileFacts {
        let Some((len, mtime_ns)) = stamp(path) else {
            return FileFacts::read(path);
        };
        let same_file =
            |e: &Entry| trusted(e.racy, (e.len, e.mtime_ns), (len, mtime_ns)) && e.path == path;
        let hit = match sha256 {
            Some(sha) => self.with_sha(sha),
            None => self
                .by_path
                .get(path)
                .copied()
                .filter(|&i| same_file(&self.entries[i])),
        };
        let hit = hit.or_else(|| {
            // Stamps differ (or no hash given): the content may still be known.
            match sha256 {
                Some(_) => None,
                None => self.with_sha(&crate::untrusted_file::sha256(path).ok()?),
            }
        });
        if let Some(i) = hit {
            let e = &mut self.entries[i];
            if !same_file(e) || stale_use(e.used) {
                if self.by_path.get(&e.path) == Some(&i) {
                    self.by_path.remove(&e.path);
                }
                self.by_path.insert(path.to_path_buf(), i);
                (e.path, e.len, e.mtime_ns, e.used) = (path.to_path_buf(), len, mtime_ns, now());
                e.racy = racy(mtime_ns);
                self.dirty = true;
            }
            return e.facts.clone();
        }
        let facts = FileFacts::read(path);
        let sha = match sha256 {
            Some(s) => Some(s.to_owned()),
            None => crate::untrusted_file::sha256(path).ok(),
        };
        // Cached only when the file did not change while it was read.
        if let Some(sha) = sha
            && stamp(path) == Some((len, mtime_ns))
        {
            let i = self.entries.len();
            self.by_path.insert(path.to_path_buf(), i);
            self.by_sha.insert(sha.to_ascii_lowercase(), i);
            self.entries.push(Entry {
                sha256: sha.to_ascii_lowercase(),
                path: path.to_path_buf(),
                len,
                mtime_ns,
                racy: racy(mtime_ns),
                used: now(),
                facts: facts.clone(),
            });
            self.dirty = true;
        }
        facts
    }

    fn save(&mut self) {
        if self.file.is_none() || !self.dirty {
            return;
        }
        if self.entries.len() > MAX_ENTRIES || self.kinds.len() > MAX_ENTRIES {
            keep_recent(&mut self.entries, |e| e.used);
            keep_recent(&mut self.kinds, |e| e.used);
            self.index();
        }
        let doc = CacheFile {
            format: FORMAT,
            reader: env!("PBIDEPLOY_VERSION_LINE").to_owned(),
            entries: self.entries.clone(),
            kinds: self.kinds.clone(),
        };
        let Some(file) = &self.file else { return };
        match write_file(file, &doc) {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::warn!("cannot write the PBIX model cache {}: {e}", file.display()),
        }
    }
}

/// The model entries and the import kinds of the cache file at `path`.
fn read_file(path: &Path) -> Result<(Vec<Entry>, Vec<KindEntry>), String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(e.to_string()),
    };
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_CACHE_BYTES {
        return Err(format!("larger than {MAX_CACHE_BYTES} bytes"));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CACHE_BYTES).read_to_string(&mut text))
        .map_err(|e| e.to_string())?;
    let doc: CacheFile =
        serde_json::from_str(&text).map_err(|e| format!("not a cache file: {e}"))?;
    if doc.format != FORMAT || doc.reader != env!("PBIDEPLOY_VERSION_LINE") {
        return Ok(Default::default()); // written by another version: start afresh, quietly
    }
    if doc.entries.len() > MAX_ENTRIES || doc.kinds.len() > MAX_ENTRIES {
        return Err(format!("more than {MAX_ENTRIES} entries"));
    }
    let mut seen: HashMap<&str, ()> = HashMap::new();
    for e in &doc.entries {
        let hex = e.sha256.len() == 64 && e.sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex || seen.insert(&e.sha256, ()).is_some() {
            return Err(format!(
                "bad or repeated hash `{}`",
                e.sha256.escape_debug()
            ));
        }
    }
    Ok((doc.entries, doc.kinds))
}

fn write_file(path: &Path, doc: &CacheFile) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut out = std::io::BufWriter::new(tmp.as_file_mut());
    serde_json::to_writer(&mut out, doc)?;
    std::io::Write::flush(&mut out)?;
    drop(out);
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_pbix(server: &str) -> Vec<u8> {
        use std::io::Write;
        let schema = format!(
            r#"{{"name":"s","model":{{"tables":[{{"name":"T","partitions":[{{"name":"T","mode":"import","source":{{"type":"m","expression":"Sql.Database(\"{server}\", \"db\")"}}}}]}}]}}}}"#
        );
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("DataModelSchema", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(schema.as_bytes()).unwrap();
        zip.finish().unwrap().into_inner()
    }

    fn server(facts: &FileFacts) -> String {
        let m = facts.model().expect("a model");
        super::super::detail(&m.data_sources[0], "server")
            .unwrap()
            .to_owned()
    }

    /// Writes `bytes` at `path`, modified an hour ago (a stamp old enough to trust).
    fn write_old(path: &Path, bytes: &[u8]) {
        std::fs::write(path, bytes).unwrap();
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(hour_ago).unwrap();
    }

    /// Overwrites `path` with `bytes` and puts its modification time back.
    fn swap_keeping_stamp(path: &Path, bytes: &[u8]) {
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!(
            meta.len(),
            bytes.len() as u64,
            "the same size, or the stamp changes"
        );
        let mtime = meta.modified().unwrap();
        std::fs::write(path, bytes).unwrap();
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(mtime).unwrap();
    }

    #[test]
    fn an_unchanged_file_is_not_read_again_even_in_a_new_process() {
        let dir = tempfile::tempdir().unwrap();
        let (pbix, file) = (dir.path().join("a.pbix"), dir.path().join(FILE_NAME));
        write_old(&pbix, &model_pbix("sql01"));
        let mut cache = Cache::at(Some(file.clone()));
        assert_eq!(server(&cache.facts(&pbix, None)), "sql01");
        cache.save();
        // Same size and time, other content: the cache answers without reading it.
        swap_keeping_stamp(&pbix, &model_pbix("sql02"));
        let mut next = Cache::at(Some(file.clone()));
        assert_eq!(server(&next.facts(&pbix, None)), "sql01");
        assert!(!next.dirty, "a hit on an unchanged file writes nothing");
        // A hash given by the caller is the key: the new content is read.
        let sha = crate::untrusted_file::sha256(&pbix).unwrap();
        assert_eq!(server(&next.facts(&pbix, Some(&sha))), "sql02");
    }

    /// A file recorded just after it was written may be rewritten within the same time tick,
    /// keeping its size and time: it is checked by its hash until its time is old enough.
    /// The kind is read once for an unchanged file (in a new process too), again when its
    /// stamp changes or was too recent to trust; a failed read is not kept.
    #[test]
    fn an_import_kind_is_read_once_per_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let (pbix, file) = (dir.path().join("a.pbix"), dir.path().join(FILE_NAME));
        write_old(&pbix, b"one");
        let reads = std::cell::Cell::new(0);
        let read = |kind: ImportKind| {
            reads.set(reads.get() + 1);
            Ok::<_, ()>(kind)
        };
        let mut cache = Cache::at(Some(file.clone()));
        assert_eq!(cache.import_kind(&pbix, || Err(())), Err(()));
        assert!(cache.kinds.is_empty(), "a failed read is not kept");
        let kind = cache.import_kind(&pbix, || read(ImportKind::Model));
        assert_eq!((kind, reads.get()), (Ok(ImportKind::Model), 1));
        cache.save();
        let mut next = Cache::at(Some(file.clone()));
        let kind = next.import_kind(&pbix, || read(ImportKind::Template));
        assert_eq!((kind, reads.get()), (Ok(ImportKind::Model), 1));
        assert!(!next.dirty, "a hit writes nothing");
        // Another size: read again. A fresh stamp is read again next time too.
        std::fs::write(&pbix, b"three").unwrap();
        let kind = next.import_kind(&pbix, || read(ImportKind::ReportOnDataset));
        assert_eq!((kind, reads.get()), (Ok(ImportKind::ReportOnDataset), 2));
        let kind = next.import_kind(&pbix, || read(ImportKind::Template));
        assert_eq!((kind, reads.get()), (Ok(ImportKind::Template), 3));
        assert_eq!(next.kinds.len(), 1, "one entry per path");
    }

    #[test]
    fn a_freshly_written_file_is_checked_by_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let pbix = dir.path().join("a.pbix");
        std::fs::write(&pbix, model_pbix("sql01")).unwrap();
        let mut cache = Cache::at(None);
        assert_eq!(server(&cache.facts(&pbix, None)), "sql01");
        swap_keeping_stamp(&pbix, &model_pbix("sql02"));
        assert_eq!(server(&cache.facts(&pbix, None)), "sql02");
        // Known content, an old stamp: found by its hash, and the stamp is now trusted.
        write_old(&pbix, &model_pbix("sql01"));
        assert_eq!(server(&cache.facts(&pbix, None)), "sql01");
        let recorded = cache.by_path[&pbix];
        assert!(!cache.entries[recorded].racy, "an old stamp is trusted");
        swap_keeping_stamp(&pbix, &model_pbix("sql02"));
        assert_eq!(server(&cache.facts(&pbix, None)), "sql01");
    }

    #[test]
    fn a_touched_file_with_known_content_is_found_by_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let pbix = dir.path().join("a.pbix");
        std::fs::write(&pbix, model_pbix("sql01")).unwrap();
        let mut cache = Cache::at(None);
        cache.facts(&pbix, None);
        let moved = dir.path().join("b.pbix");
        std::fs::copy(&pbix, &moved).unwrap();
        assert_eq!(server(&cache.facts(&moved, None)), "sql01");
        assert_eq!(cache.entries.len(), 1, "one content, one entry");
        assert_eq!(cache.entries[0].path, moved);
        std::fs::write(&pbix, model_pbix("sql03")).unwrap();
        assert_eq!(server(&cache.facts(&pbix, None)), "sql03");
    }

    #[test]
    fn corrupt_oversized_or_odd_cache_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE_NAME);
        for bad in [
            "not json".to_owned(),
            format!(
                r#"{{"format":1,"reader":"{}","entries":[{{"sha256":"zz"}}]}}"#,
                env!("PBIDEPLOY_VERSION_LINE")
            ),
            "[1,2,3]".to_owned(),
        ] {
            std::fs::write(&file, bad).unwrap();
            assert!(read_file(&file).is_err());
            assert!(Cache::at(Some(file.clone())).entries.is_empty());
        }
        std::fs::write(&file, vec![b' '; MAX_CACHE_BYTES as usize + 1]).unwrap();
        assert!(read_file(&file).unwrap_err().contains("larger than"));
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
        assert_eq!(read_file(&file).unwrap_err(), "not a regular file");
        // Another version's cache is dropped quietly.
        let other = dir.path().join("other.json");
        std::fs::write(
            &other,
            r#"{"format":1,"reader":"0.0.0-other","entries":[]}"#,
        )
        .unwrap();
        assert!(read_file(&other).unwrap().0.is_empty());
    }

    #[test]
    fn the_cache_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE_NAME);
        let mut cache = Cache::at(Some(file.clone()));
        let facts = FileFacts::Unknown { why: "x".into() };
        for i in 0..MAX_ENTRIES + 10 {
            cache.entries.push(Entry {
                sha256: format!("{i:064x}"),
                path: PathBuf::from(format!("/f{i}")),
                len: 1,
                mtime_ns: 1,
                racy: false,
                used: i as u64,
                facts: facts.clone(),
            });
            cache.kinds.push(KindEntry {
                path: PathBuf::from(format!("/f{i}")),
                len: 1,
                mtime_ns: 1,
                racy: false,
                used: i as u64,
                kind: ImportKind::Model,
            });
        }
        cache.dirty = true;
        cache.save();
        let (kept, kinds) = read_file(&file).unwrap();
        assert_eq!((kept.len(), kinds.len()), (MAX_ENTRIES, MAX_ENTRIES));
        assert!(kept.iter().all(|e| e.used >= 10), "the oldest went first");
        assert!(kinds.iter().all(|e| e.used >= 10), "the oldest went first");
    }
}
