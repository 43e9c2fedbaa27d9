//! Truncated and corrupted copies of real files: `Pbix::open` returns a value or an error,
//! never panics (the fuzz target `pbix_read` explores further).

use pbix::{Options, Pbix};
use std::io::Cursor;

use crate::common;

fn read_all(bytes: &[u8]) {
    for kind_only in [false, true] {
        let options = Options {
            kind_only,
            ..Options::default()
        };
        let _ = Pbix::from_reader(Cursor::new(bytes), false, &options);
    }
}

#[test]
fn truncated_and_flipped_fixtures_never_panic() {
    let small = [
        "live-connection-pbiservice.pbix",
        "live-connection-ssas.pbix",
        "directquery-parameters.pbix",
        "abc.pbix",
    ];
    for name in small {
        let Some(path) = common::shared_data(&format!("fixtures/pbix/{name}")) else {
            return;
        };
        let bytes = std::fs::read(&path).expect("fixture reads");
        for cut in (0..bytes.len()).step_by(bytes.len() / 64 + 1) {
            read_all(&bytes[..cut]);
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200 {
            let mut copy = bytes.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % copy.len() as u64) as usize;
                copy[at] ^= (state >> 32) as u8 | 1;
            }
            read_all(&copy);
        }
    }
}
