//! The Analysis Services backup (ABF) inside a `DataModel`, read as it streams past.
//!
//! Layout: a 72-byte UTF-16 stream signature, then a one-page (4 KiB) UTF-16 XML
//! `BackupLog` header giving the virtual directory's offset (`m_cbOffsetHeader`) and size
//! (`DataSize`), `ErrorCode` (each stored file then carries 4 trailing bytes that are not
//! part of it), `ApplyCompression` (per-file XPress8, 2016-17 files) and `EncryptionFlag`.
//! The files follow; the virtual directory (`<VirtualDirectory><BackupFile><Path>`, `Size`,
//! `m_cbOffsetHeader`) lists them, its last entry being `LOG`, a UTF-16 `BackupLog` that maps
//! each original path (such as `…\metadata.sqlitedb`) to its `StoragePath` in the directory.
//!
//! The sink keeps only the header page, the directory, and candidate ranges that start with
//! the SQLite or backup-log signature (see [`capture`]), and validates the chain at the end:
//! directory entries inside the backup, the log as the last entry, exactly one
//! `metadata.sqlitedb`, and a database whose own header agrees with the directory's size.

mod capture;
mod xml;

use std::io::Write;

use sha2::{Digest, Sha256};

use super::{DataModelError, Limits};
use capture::{Capture, Scanner};

const HEADER_PAGE: usize = 4096;
const SIGNATURE_LEN: usize = 72;
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// UTF-16LE byte-order mark and `<BackupLog>`.
const LOG_MAGIC: &[u8] = b"\xff\xfe<\0B\0a\0c\0k\0u\0p\0L\0o\0g\0>\0";
/// Bytes of a SQLite header needed to know the database's size.
const SQLITE_HEADER: u64 = 100;
/// Signature matches kept at once; a real backup has one database and one log.
const MAX_CANDIDATES: usize = 256;

/// What the header page says.
struct Header {
    directory_offset: u64,
    directory_size: u64,
    error_code: bool,
}

/// A `Write` that hashes the backup and keeps what [`AbfSink::finish`] needs.
pub(crate) struct AbfSink {
    limits: Limits,
    written: u64,
    sha: Sha256,
    page: Vec<u8>,
    header: Option<Header>,
    /// The first error met; `write` then fails so decoding stops early.
    failure: Option<DataModelError>,
    directory: Option<Capture>,
    databases: Vec<Capture>,
    logs: Vec<Capture>,
    sqlite_scan: Scanner,
    log_scan: Scanner,
    kept: u64,
}

/// The backup's size, hash and its `metadata.sqlitedb`.
pub(crate) struct AbfContents {
    pub(crate) size: u64,
    pub(crate) sha256: [u8; 32],
    pub(crate) metadata: Vec<u8>,
}

impl AbfSink {
    pub(crate) fn new(limits: &Limits) -> Self {
        AbfSink {
            limits: limits.clone(),
            written: 0,
            sha: Sha256::new(),
            page: Vec::with_capacity(HEADER_PAGE),
            header: None,
            failure: None,
            directory: None,
            databases: Vec::new(),
            logs: Vec::new(),
            sqlite_scan: Scanner::new(SQLITE_MAGIC),
            log_scan: Scanner::new(LOG_MAGIC),
            kept: 0,
        }
    }

    /// The error that stopped the stream, if the sink stopped it.
    pub(crate) fn take_failure(&mut self) -> Option<DataModelError> {
        self.failure.take()
    }

    fn accept(&mut self, buf: &[u8]) -> Result<(), DataModelError> {
        let at = self.written;
        self.sha.update(buf);
        if self.page.len() < HEADER_PAGE {
            let n = (HEADER_PAGE - self.page.len()).min(buf.len());
            self.page.extend_from_slice(&buf[..n]);
            if self.page.len() == HEADER_PAGE {
                let header = parse_header(&self.page)?;
                let cap = self.limits.max_metadata_size;
                if header.directory_size > cap {
                    return Err(DataModelError::TooLarge {
                        what: "backup directory",
                        limit: cap,
                    });
                }
                self.directory = Some(Capture::new(
                    header.directory_offset,
                    Some(header.directory_size),
                ));
                self.header = Some(header);
            }
        }
        self.start_captures(at, buf)?;
        for db in &mut self.databases {
            let before = db.data.len() as u64;
            // A database's length is known once its header is in; then keep the rest of `buf`.
            db.feed(at, buf, SQLITE_HEADER);
            size_database(db, self.limits.max_metadata_size);
            db.feed(at, buf, SQLITE_HEADER);
            self.kept += (db.data.len() as u64).saturating_sub(before);
        }
        for log in &mut self.logs {
            let before = log.data.len() as u64;
            log.feed(at, buf, 0);
            self.kept += log.data.len() as u64 - before;
        }
        self.databases
            .retain(|db| db.oversized || db.want != Some(0));
        if let Some(dir) = &mut self.directory {
            dir.feed(at, buf, 0);
        }
        if self.kept > self.limits.max_metadata_size.saturating_mul(3) {
            return Err(DataModelError::TooLarge {
                what: "metadata kept while reading the backup",
                limit: self.limits.max_metadata_size.saturating_mul(3),
            });
        }
        self.written += buf.len() as u64;
        Ok(())
    }

    /// Opens a capture at each signature found in `buf`.
    fn start_captures(&mut self, at: u64, buf: &[u8]) -> Result<(), DataModelError> {
        let (hits, carried) = self.sqlite_scan.scan(at, buf);
        if self.databases.len() + hits.len() > MAX_CANDIDATES || self.logs.len() > MAX_CANDIDATES {
            return Err(DataModelError::TooLarge {
                what: "number of SQLite or backup-log signatures in the backup",
                limit: MAX_CANDIDATES as u64,
            });
        }
        for start in hits {
            let mut db = Capture::new(start, None);
            db.feed(at - carried.len() as u64, &carried, SQLITE_HEADER);
            self.databases.push(db);
        }
        let (hits, carried) = self.log_scan.scan(at, buf);
        for start in hits {
            // A log ends before the directory that lists it.
            let end = self.header.as_ref().map_or(0, |h| h.directory_offset);
            let want = end.saturating_sub(start).min(self.limits.max_metadata_size);
            let mut log = Capture::new(start, Some(want));
            log.feed(at - carried.len() as u64, &carried, 0);
            self.logs.push(log);
        }
        Ok(())
    }

    /// Validates the backup and returns its `metadata.sqlitedb`.
    pub(crate) fn finish(self) -> Result<AbfContents, DataModelError> {
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        let size = self.written;
        let header = self
            .header
            .ok_or_else(|| DataModelError::Truncated("the backup's header page".into()))?;
        let directory = self.directory.filter(Capture::complete).ok_or_else(|| {
            DataModelError::Corrupt("the backup directory lies outside the backup".into())
        })?;
        let text = xml::decode_text(&directory.data, "the backup directory")?;
        let entries = directory_entries(&text, size)?;
        let log_entry = entries.last().filter(|e| e.path == "LOG").ok_or_else(|| {
            DataModelError::Corrupt("the backup directory does not end with its LOG".into())
        })?;
        let log_len = stored_len(log_entry.size, header.error_code)?;
        let log = self
            .logs
            .iter()
            .find(|c| c.start == log_entry.offset && c.data.len() as u64 >= log_len)
            .ok_or_else(|| {
                DataModelError::Corrupt("the backup log is not where the directory says".into())
            })?;
        let log_text = xml::decode_text(&log.data[..log_len as usize], "the backup log")?;
        let storage = metadata_storage_path(&log_text)?;
        let entry = entries.iter().find(|e| e.path == storage).ok_or_else(|| {
            DataModelError::Corrupt("metadata.sqlitedb is not in the backup directory".into())
        })?;
        let db_len = stored_len(entry.size, header.error_code)?;
        let db = self
            .databases
            .into_iter()
            .find(|c| c.start == entry.offset)
            .ok_or_else(|| {
                DataModelError::Corrupt("metadata.sqlitedb is not a SQLite database".into())
            })?;
        if db.oversized || db_len > self.limits.max_metadata_size {
            return Err(DataModelError::TooLarge {
                what: "metadata.sqlitedb",
                limit: self.limits.max_metadata_size,
            });
        }
        if !db.complete() || db.data.len() as u64 != db_len {
            return Err(DataModelError::Corrupt(
                "metadata.sqlitedb's size in the backup directory differs from its SQLite header"
                    .into(),
            ));
        }
        Ok(AbfContents {
            size,
            sha256: self.sha.finalize().into(),
            metadata: db.data,
        })
    }
}

impl Write for AbfSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.failure.is_some() {
            return Err(std::io::Error::other("backup reading stopped"));
        }
        match self.accept(buf) {
            Ok(()) => Ok(buf.len()),
            Err(error) => {
                self.failure = Some(error);
                Err(std::io::Error::other("backup reading stopped"))
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn parse_header(page: &[u8]) -> Result<Header, DataModelError> {
    let text = xml::decode_text(&page[SIGNATURE_LEN..], "the backup header")?;
    if !text.contains("<BackupLog>") {
        return Err(DataModelError::Corrupt(
            "the backup header is not a BackupLog".into(),
        ));
    }
    if xml::flag(&text, "ApplyCompression") {
        return Err(DataModelError::Unsupported(
            "a 2016-17 backup with per-file XPress8 compression".into(),
        ));
    }
    if xml::flag(&text, "EncryptionFlag") {
        return Err(DataModelError::Unsupported("an encrypted backup".into()));
    }
    Ok(Header {
        directory_offset: xml::number(&text, "m_cbOffsetHeader", "the backup header")?,
        directory_size: xml::number(&text, "DataSize", "the backup header")?,
        error_code: xml::flag(&text, "ErrorCode"),
    })
}

/// Once a database's header is in, sets its length (page size x page count) or drops it.
fn size_database(db: &mut Capture, cap: u64) {
    if db.want.is_some() || db.oversized || (db.data.len() as u64) < SQLITE_HEADER {
        return;
    }
    let h = &db.data;
    let page_size = match u16::from_be_bytes([h[16], h[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([h[28], h[29], h[30], h[31]]));
    // The page count is valid only when the change counter matches (SQLite file format).
    let counter_valid = h[24..28] == h[92..96];
    let len = page_size * pages;
    if !counter_valid || !page_size.is_power_of_two() || page_size < 512 || len == 0 || len > cap {
        // Not a database this reader can use: stop keeping it (remember only if too large).
        db.oversized = len > cap;
        db.data = Vec::new();
        db.want = Some(0);
        return;
    }
    db.want = Some(len);
}

struct Entry {
    path: String,
    size: u64,
    offset: u64,
}

fn directory_entries(text: &str, abf_size: u64) -> Result<Vec<Entry>, DataModelError> {
    let mut entries = Vec::new();
    for block in xml::blocks(text, "BackupFile") {
        let what = "a backup directory entry";
        let entry = Entry {
            path: xml::element(block, "Path").unwrap_or_default(),
            size: xml::number(block, "Size", what)?,
            offset: xml::number(block, "m_cbOffsetHeader", what)?,
        };
        if entry
            .offset
            .checked_add(entry.size)
            .is_none_or(|end| end > abf_size)
        {
            return Err(DataModelError::Corrupt(format!(
                "backup directory entry {} lies outside the backup",
                entry.path
            )));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// A stored file's own length: with `ErrorCode` set, 4 trailing bytes are not part of it.
fn stored_len(size: u64, error_code: bool) -> Result<u64, DataModelError> {
    if !error_code {
        return Ok(size);
    }
    size.checked_sub(4).ok_or_else(|| {
        DataModelError::Corrupt("a stored file is shorter than its error trailer".into())
    })
}

/// The directory name under which the log stores `metadata.sqlitedb`.
fn metadata_storage_path(log: &str) -> Result<String, DataModelError> {
    let mut found: Vec<String> = xml::blocks(log, "BackupFile")
        .into_iter()
        .filter(|b| {
            xml::element(b, "Path")
                .is_some_and(|p| p.to_ascii_lowercase().ends_with("\\metadata.sqlitedb"))
        })
        .filter_map(|b| xml::element(b, "StoragePath"))
        .collect();
    found.dedup();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(DataModelError::Corrupt(
            "the backup log lists no metadata.sqlitedb".into(),
        )),
        _ => Err(DataModelError::Corrupt(
            "the backup log lists more than one metadata.sqlitedb".into(),
        )),
    }
}
