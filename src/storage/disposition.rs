//! How a downloaded file presents itself to a browser, the same on both stores: images, video
//! and audio are shown inline (their magic bytes were checked on upload, see
//! [`super::effective_content_type`]); anything else is saved as an attachment, so an uploaded
//! HTML page never runs as a page of the origin serving it. The local store sends the header
//! itself; S3 is told to send it through the presigned GET's `response-content-disposition`.
//!
//! The original file name goes along (RFC 6266): an ASCII `filename` for old clients and the
//! exact name as `filename*=UTF-8''…` (RFC 8187), which current browsers prefer.

use aggregates::message::MessageKind;

/// Whether files of this type are shown rather than downloaded: the types that make image,
/// video and audio messages.
pub fn displays_inline(content_type: &str) -> bool {
    MessageKind::from_mime(content_type) != MessageKind::File
}

/// The `Content-Disposition` value for a file of `content_type` uploaded as `filename`. Always
/// visible ASCII, so it is a valid header value and survives a presigned URL's query string.
pub fn content_disposition(content_type: &str, filename: Option<&str>) -> String {
    let kind = if displays_inline(content_type) {
        "inline"
    } else {
        "attachment"
    };
    match filename.map(clean_name).filter(|n| !n.is_empty()) {
        Some(name) => format!(
            "{kind}; filename=\"{}\"; filename*=UTF-8''{}",
            ascii_fallback(&name),
            ext_value(&name)
        ),
        None => kind.to_string(),
    }
}

/// The last path component, without control characters or the bidi overrides that make
/// `gpj.exe` display as `exe.jpg`.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    base.chars()
        .filter(|&c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// The name for clients that ignore `filename*`: printable ASCII only, without the characters
/// that would end the quoted string (`"`, `\`) or that some browsers percent-decode (`%`).
fn ascii_fallback(name: &str) -> String {
    name.chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '%') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// RFC 8187 `value-chars`: UTF-8 with every byte outside `attr-char` percent-encoded.
fn ext_value(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name.as_bytes() {
        let attr_char = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if attr_char {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_is_inline_and_everything_else_an_attachment() {
        for inline in ["image/png", "video/mp4", "audio/ogg", " IMAGE/JPEG "] {
            assert!(displays_inline(inline), "{inline}");
            assert_eq!(content_disposition(inline, None), "inline");
        }
        for attachment in [
            "text/html",
            "text/html; charset=utf-8",
            "application/pdf",
            "application/octet-stream",
            "text/plain",
            "",
        ] {
            assert!(!displays_inline(attachment), "{attachment}");
            assert_eq!(content_disposition(attachment, None), "attachment");
        }
    }

    #[test]
    fn the_file_name_goes_along_safely() {
        assert_eq!(
            content_disposition("text/html", Some("page.html")),
            "attachment; filename=\"page.html\"; filename*=UTF-8''page.html"
        );
        assert_eq!(
            content_disposition("image/png", Some("holiday photo.PNG")),
            "inline; filename=\"holiday photo.PNG\"; filename*=UTF-8''holiday%20photo.PNG"
        );
        // Quotes, percent signs and non-ASCII never reach the quoted fallback.
        assert_eq!(
            content_disposition("text/plain", Some("résumé \"final\" 100%.txt")),
            "attachment; filename=\"r_sum_ _final_ 100_.txt\"; \
             filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%20100%25.txt"
        );
        // No header injection, no paths, no display tricks.
        assert_eq!(
            content_disposition("text/plain", Some("a\r\nSet-Cookie: x=1.txt")),
            "attachment; filename=\"aSet-Cookie: x=1.txt\"; filename*=UTF-8''aSet-Cookie%3A%20x%3D1.txt"
        );
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\x\\invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        // Nothing left of the name: no filename parameter at all.
        assert_eq!(
            content_disposition("text/plain", Some(" \u{202e} ")),
            "attachment"
        );
        let value = content_disposition("text/plain", Some("日本語.txt"));
        assert!(
            value.bytes().all(|b| b.is_ascii_graphic() || b == b' '),
            "{value}"
        );
        assert!(
            value.ends_with("filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt"),
            "{value}"
        );
    }
}
