//! Reads the few fields `state history` needs from a List Blobs response. The response comes
//! from the storage account the user named, not from a file in a pull request; it is read
//! bounded (see the caller) and only these fixed, unnested elements are looked at.

use crate::ledger::store::LedgerVersion;

/// The versions of `blob` listed: its snapshots (oldest first, as listed) then the current
/// blob with the id `current`.
pub fn versions(text: &str, blob: &str) -> Vec<LedgerVersion> {
    let mut snapshots = Vec::new();
    let mut current = None;
    for item in text.split("<Blob>").skip(1) {
        let item = item.split("</Blob>").next().unwrap_or_default();
        if element(item, "Name").as_deref() != Some(blob) {
            continue;
        }
        let version = LedgerVersion {
            id: element(item, "Snapshot").unwrap_or_else(|| "current".into()),
            written: element(item, "Last-Modified").unwrap_or_default(),
            bytes: element(item, "Content-Length")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        };
        if version.id == "current" {
            current = Some(version);
        } else {
            snapshots.push(version);
        }
    }
    snapshots.sort_by(|a, b| a.id.cmp(&b.id));
    snapshots.extend(current);
    snapshots
}

/// The continuation marker, empty on the last page.
pub fn next_marker(text: &str) -> String {
    element(text, "NextMarker").unwrap_or_default()
}

/// The text of the first `<name>` element, unescaped.
fn element(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    Some(unescape(&text[start..start + len]))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_of_the_blob_then_the_current_one() {
        let text = r#"<?xml version="1.0"?><EnumerationResults><Blobs>
<Blob><Name>a&amp;b.json</Name><Snapshot>2026-12-03T10:00:01.0000000Z</Snapshot><Properties><Last-Modified>Thu, 03 Dec 2026 10:00:00 GMT</Last-Modified><Content-Length>12</Content-Length></Properties></Blob>
<Blob><Name>a&amp;b.json</Name><Properties><Last-Modified>Thu, 03 Dec 2026 11:00:00 GMT</Last-Modified><Content-Length>30</Content-Length></Properties></Blob>
<Blob><Name>a&amp;b.json.other</Name><Properties><Content-Length>1</Content-Length></Properties></Blob>
</Blobs><NextMarker /></EnumerationResults>"#;
        let v = versions(text, "a&b.json");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].id, "2026-12-03T10:00:01.0000000Z");
        assert_eq!(v[0].bytes, 12);
        assert_eq!(v[1].id, "current");
        assert_eq!(next_marker(text), "");
    }
}
