//! Reading a file a pull request may control (a secret file, the ledger): regular files only,
//! and never more than a cap.
//!
//! Whoever writes the repository decides what such a path is. A FIFO without a writer makes
//! a plain open wait forever, and `/dev/zero` or a huge file makes a read fill the memory. So
//! the file's type and size are checked first (a `stat`, which opens nothing), the type again
//! on the opened handle (a device swapped in after the `stat`), and the read stops one byte
//! past the cap. (A FIFO swapped in between the `stat` and the open would still block the
//! open; the files come from a checkout nothing else writes to while pbideploy runs.)

use std::io::{self, Read};
use std::path::Path;

/// What a path that is not a regular file is, for messages.
fn kind_of(metadata: &std::fs::Metadata) -> &'static str {
    let kind = metadata.file_type();
    if kind.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

fn not_regular(metadata: &std::fs::Metadata) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "it is {}, not a regular file (symlinks are followed)",
            kind_of(metadata)
        ),
    )
}

/// The bytes of the regular file at `path`, at most `max` of them: an error of kind
/// `InvalidInput` when it is not a regular file, `FileTooLarge` when it holds more.
pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let before = std::fs::metadata(path)?;
    if !before.is_file() {
        return Err(not_regular(&before));
    }
    if before.len() > max {
        return Err(too_large(max));
    }
    let file = std::fs::File::open(path)?;
    let opened = file.metadata()?;
    if !opened.is_file() {
        return Err(not_regular(&opened));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len().min(max)).unwrap_or(0));
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(bytes)
}

fn too_large(max: u64) -> io::Error {
    let shown = if max >= 1 << 20 {
        format!("{} MiB", max >> 20)
    } else {
        format!("{} KiB", max >> 10)
    };
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("it is larger than {shown}"),
    )
}

/// SHA-256 (hex) of a file, read in 64 KiB blocks so large PBIX files are not held in memory.
pub fn sha256(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_regular(&path, 5).unwrap(), b"12345");
        let err = read_regular(&path, 4).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            read_regular(dir.path(), 5).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_without_reading() {
        let err = read_regular(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("a device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // No writer: a plain read would wait forever.
            let err = read_regular(&fifo, 1 << 10).unwrap_err();
            assert!(err.to_string().contains("FIFO"), "{err}");
        } else {
            eprintln!("NOTICE: mkfifo is not available; the FIFO case was not checked");
        }
    }
}
