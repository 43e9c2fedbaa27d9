//! The small XML documents of an Analysis Services backup: text decoding and element
//! extraction. They are flat, machine-written records (`<Tag>value</Tag>` inside repeated
//! `<BackupFile>` elements), so a linear scan for tags is enough; entities are unescaped.

use crate::datamodel::DataModelError;

/// Decodes a stored text: UTF-16LE when it has a byte-order mark or its second byte is
/// zero, else UTF-8. Trailing NULs (page padding) are dropped.
pub(super) fn decode_text(bytes: &[u8], what: &str) -> Result<String, DataModelError> {
    let utf16 =
        bytes.starts_with(&[0xff, 0xfe]) || (bytes.len() >= 2 && bytes[1] == 0 && bytes[0] != 0);
    let text = if utf16 {
        let body = bytes.strip_prefix(&[0xff, 0xfe]).unwrap_or(bytes);
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units)
            .map_err(|_| DataModelError::Corrupt(format!("{what} is not valid UTF-16 text")))?
    } else {
        let body = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
        String::from_utf8(body.to_vec())
            .map_err(|_| DataModelError::Corrupt(format!("{what} is not valid UTF-8 text")))?
    };
    Ok(text.trim_end_matches('\0').to_owned())
}

/// The text of the first `<tag>…</tag>` in `xml`, unescaped.
pub(super) fn element(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(&xml[start..end]))
}

/// Each `<tag>…</tag>` block of `xml`, in order.
pub(super) fn blocks<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find(&open) {
        let body = &rest[at + open.len()..];
        let Some(end) = body.find(&close) else { break };
        out.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    out
}

/// A required numeric element, with an error naming it and its document.
pub(super) fn number(xml: &str, tag: &str, what: &str) -> Result<u64, DataModelError> {
    element(xml, tag)
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| DataModelError::Corrupt(format!("{what} has no valid <{tag}>")))
}

/// A boolean element (`true`/`false`); absent means false.
pub(super) fn flag(xml: &str, tag: &str) -> bool {
    element(xml, tag).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_and_blocks_are_found_in_order() {
        let xml = "<A><B><P>x &amp; y</P></B><B><P>z</P></B></A>";
        let found: Vec<_> = blocks(xml, "B").iter().map(|b| element(b, "P")).collect();
        assert_eq!(found, vec![Some("x & y".to_owned()), Some("z".to_owned())]);
        assert!(number("<N>12</N>", "N", "t").is_ok_and(|n| n == 12));
        assert!(number("<N>-1</N>", "N", "t").is_err());
    }

    #[test]
    fn utf16_and_utf8_texts_decode() {
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("<X>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode_text(&utf16, "t").unwrap(), "<X>");
        assert_eq!(decode_text(b"<X>\0\0", "t").unwrap(), "<X>");
        assert!(decode_text(&[0xc3, 0x28], "t").is_err());
    }
}
