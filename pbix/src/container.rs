//! The ZIP layer with bounded reads: the table of contents is sized before it is parsed,
//! every entry's name, size and compression ratio is checked before any part is read, and
//! each read stops at its cap whatever the entry declares.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};

use zip::ZipArchive;

use crate::error::{PbixError, malformed};
use crate::limits::Limits;

/// A checked PBIX archive.
pub(crate) struct Container<R: Read + Seek> {
    zip: ZipArchive<R>,
    limits: Limits,
}

impl<R: Read + Seek> Container<R> {
    /// Opens and checks the archive: size of the table of contents, entry count, names,
    /// declared sizes and ratios.
    pub(crate) fn open(mut reader: R, limits: &Limits) -> Result<Self, PbixError> {
        precheck_directory(&mut reader, limits)?;
        let zip = ZipArchive::new(reader).map_err(|e| PbixError::NotZip(e.to_string()))?;
        if zip.len() > limits.max_entries {
            return Err(PbixError::TooManyEntries {
                count: zip.len() as u64,
                limit: limits.max_entries,
            });
        }
        let mut container = Container {
            zip,
            limits: limits.clone(),
        };
        container.check_entries()?;
        Ok(container)
    }

    fn check_entries(&mut self) -> Result<(), PbixError> {
        let limits = &self.limits;
        if self.zip.has_duplicate_names() {
            return Err(PbixError::DuplicateNames);
        }
        let mut seen = HashSet::new();
        let mut total: u64 = 0;
        for i in 0..self.zip.len() {
            let entry = self
                .zip
                .by_index_raw(i)
                .map_err(|e| PbixError::NotZip(e.to_string()))?;
            let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
            if !safe_name(&name) {
                return Err(PbixError::UnsafeName(name.escape_debug().to_string()));
            }
            if !seen.insert(name.to_lowercase()) {
                return Err(PbixError::DuplicateName(name));
            }
            if entry.encrypted() {
                return Err(PbixError::Encrypted(name));
            }
            let (size, packed) = (entry.size(), entry.compressed_size());
            if size > limits.max_entry_bytes {
                return Err(PbixError::EntryTooLarge {
                    part: name,
                    size,
                    limit: limits.max_entry_bytes,
                });
            }
            if size > crate::limits::RATIO_FLOOR_BYTES {
                let ratio = size / packed.max(1);
                if ratio > limits.max_compression_ratio {
                    return Err(PbixError::CompressionRatio {
                        part: name,
                        ratio,
                        limit: limits.max_compression_ratio,
                    });
                }
            }
            total = total.saturating_add(size);
        }
        if total > limits.max_total_bytes {
            return Err(PbixError::TotalTooLarge {
                size: total,
                limit: limits.max_total_bytes,
            });
        }
        Ok(())
    }

    /// The limits in force.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether a part exists (exact name, as Desktop writes it).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }

    /// Reads a whole part, refusing one larger than `limit` (declared or actual).
    pub(crate) fn read(&mut self, name: &str, limit: u64) -> Result<Vec<u8>, PbixError> {
        read_entry(&mut self.zip, name, limit)
    }

    /// A streaming reader over a part (for the `DataModel`, never held whole), capped at
    /// its declared size, itself capped by the entry checks.
    pub(crate) fn stream(&mut self, name: &str) -> Result<impl Read + '_, PbixError> {
        let entry = self
            .zip
            .by_name(name)
            .map_err(|e| malformed(name, e.to_string()))?;
        let size = entry.size();
        Ok(entry.take(size))
    }
}

/// Reads one entry of `zip` fully, never more than `limit` decompressed bytes.
pub(crate) fn read_entry<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, PbixError> {
    let entry = zip
        .by_name(name)
        .map_err(|e| malformed(name, e.to_string()))?;
    let too_large = |size| PbixError::EntryTooLarge {
        part: name.to_string(),
        size,
        limit,
    };
    if entry.size() > limit {
        return Err(too_large(entry.size()));
    }
    let mut buf = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| malformed(name, e.to_string()))?;
    if buf.len() as u64 > limit {
        return Err(too_large(buf.len() as u64));
    }
    Ok(buf)
}

/// A name that stays inside the archive when extracted: relative, no `..`, no drive, no
/// control characters, no empty path segments at the start.
fn safe_name(name: &str) -> bool {
    let bad_start = name.starts_with(['/', '\\']) || name.is_empty();
    let drive = name.as_bytes().get(1) == Some(&b':');
    let control = name.chars().any(char::is_control);
    let dotdot = name.split(['/', '\\']).any(|seg| seg == "..");
    !(bad_start || drive || control || dotdot)
}

/// Reads the end-of-central-directory record (and its ZIP64 form) to refuse a huge table of
/// contents before the ZIP library parses it entry by entry.
fn precheck_directory<R: Read + Seek>(reader: &mut R, limits: &Limits) -> Result<(), PbixError> {
    let len = reader.seek(SeekFrom::End(0))?;
    let tail_len = len.min(22 + 65_535);
    reader.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    reader.read_exact(&mut tail)?;
    let Some(at) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
    else {
        return Err(PbixError::NotZip(
            "no end-of-central-directory record".into(),
        ));
    };
    let u16_at = |b: &[u8], o: usize| u64::from(u16::from_le_bytes([b[o], b[o + 1]]));
    let u32_at =
        |b: &[u8], o: usize| u64::from(u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]));
    let mut entries = u16_at(&tail, at + 10);
    let mut dir_size = u32_at(&tail, at + 12);
    if (entries == 0xFFFF || dir_size == 0xFFFF_FFFF)
        && let Some(locator) = at.checked_sub(20)
        && tail[locator..].starts_with(b"PK\x06\x07")
    {
        let record = u32_at(&tail, locator + 8) | (u32_at(&tail, locator + 12) << 32);
        let mut z64 = [0u8; 56];
        reader.seek(SeekFrom::Start(record))?;
        reader
            .read_exact(&mut z64)
            .map_err(|_| PbixError::NotZip("truncated ZIP64 directory record".into()))?;
        if !z64.starts_with(b"PK\x06\x06") {
            return Err(PbixError::NotZip("bad ZIP64 directory record".into()));
        }
        entries = u32_at(&z64, 32) | (u32_at(&z64, 36) << 32);
        dir_size = u32_at(&z64, 40) | (u32_at(&z64, 44) << 32);
    }
    if entries > limits.max_entries as u64 {
        return Err(PbixError::TooManyEntries {
            count: entries,
            limit: limits.max_entries,
        });
    }
    if dir_size > limits.max_central_directory_bytes {
        return Err(PbixError::DirectoryTooLarge {
            size: dir_size,
            limit: limits.max_central_directory_bytes,
        });
    }
    reader.seek(SeekFrom::Start(0))?;
    Ok(())
}

/// UTF-8 or UTF-16 (LE/BE), with or without BOM (Desktop has written each over the years).
pub(crate) fn decode_text(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |b: &[u8], le: bool| {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| "invalid UTF-16 text".to_string())
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8(rest.to_vec()).map_err(|_| "invalid UTF-8 text".into())
        }
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        [a, 0, ..] if *a != 0 => utf16(bytes, true),
        [0, b, ..] if *b != 0 => utf16(bytes, false),
        _ => String::from_utf8(bytes.to_vec()).map_err(|_| "invalid UTF-8 text".into()),
    }
    .map(|s| s.trim_start_matches('\u{feff}').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    #[test]
    fn read_entry_caps_decompressed_size() {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            w.start_file("Big", zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(&[b'a'; 1000]).unwrap();
            w.finish().unwrap();
        }
        let mut zip = ZipArchive::new(Cursor::new(buf.into_inner())).unwrap();
        assert!(matches!(
            read_entry(&mut zip, "Big", 10),
            Err(PbixError::EntryTooLarge { size: 1000, .. })
        ));
        assert_eq!(read_entry(&mut zip, "Big", 1000).unwrap().len(), 1000);
    }

    #[test]
    fn unsafe_names_are_recognised() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/x",
            "\\x",
            "C:x",
            "a\u{0}b",
            "",
            "a\\..\\b",
        ] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        for good in [
            "DataModel",
            "Report/Layout",
            "[Content_Types].xml",
            "a..b/c",
        ] {
            assert!(safe_name(good), "{good:?}");
        }
    }

    #[test]
    fn text_decoding() {
        assert_eq!(decode_text(b"\xEF\xBB\xBF{}").unwrap(), "{}");
        assert_eq!(decode_text(&[b'{', 0, b'}', 0]).unwrap(), "{}");
        assert_eq!(decode_text(&[0xFE, 0xFF, 0, b'{', 0, b'}']).unwrap(), "{}");
        assert!(decode_text(&[0xFF, 0xFE, 0x00, 0xD8]).is_err());
    }
}
