//! Every fixture's DataModel decodes to exactly the ABF that Microsoft's C decoder produced
//! (size and SHA-256 from expected-models.json), streaming from the zip entry.

use crate::common;

use std::io::Write;

use pbix::datamodel::{Limits, decode_xpress9_stream};
use sha2::{Digest, Sha256};

/// A `Write` that only hashes and counts, so the test holds no ABF in memory.
struct HashSink(Sha256, u64);

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        self.1 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_fixture_decodes_to_the_reference_abf() {
    let Some(fixtures) = common::data_model_fixtures() else {
        return;
    };
    for (file, expected) in fixtures {
        let f = std::fs::File::open(common::fixture_path(&file)).unwrap();
        let mut zip = zip::ZipArchive::new(f).unwrap();
        let entry = zip.by_name("DataModel").unwrap();
        let mut sink = HashSink(Sha256::new(), 0);
        let size = decode_xpress9_stream(entry, &mut sink, &Limits::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let digest = hex::encode(sink.0.finalize());
        assert_eq!(size, sink.1, "{file}");
        assert_eq!(
            size,
            expected["dataModel"]["abfSize"].as_u64().unwrap(),
            "{file}: size"
        );
        assert_eq!(
            digest,
            expected["dataModel"]["abfSha256"].as_str().unwrap(),
            "{file}: SHA-256"
        );
    }
}
