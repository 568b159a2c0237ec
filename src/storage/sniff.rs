//! What an upload really is: the declared MIME type checked against the file's magic bytes.

/// The MIME type to record for an upload, from its declared type and its first bytes:
/// - when the magic bytes identify a type that differs from the declared one, that type wins
///   (a "PNG" that is really a PDF is recorded as `application/pdf`);
/// - when they identify nothing and the declared type is image/video/audio, it is recorded as
///   `application/octet-stream` (media types are binary formats with signatures; an unverified
///   claim — SVG included — would be typed and served as media);
/// - otherwise the declared type stands (plain text, JSON, CSV... have no signature).
pub fn effective_content_type(declared: &str, prefix: &[u8]) -> String {
    let declared = declared.trim();
    let essence = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match infer::get(prefix) {
        Some(kind) if kind.mime_type() != essence => kind.mime_type().to_string(),
        Some(_) => declared.to_string(),
        None if ["image/", "video/", "audio/"]
            .iter()
            .any(|p| essence.starts_with(p)) =>
        {
            "application/octet-stream".to_string()
        }
        None => declared.to_string(),
    }
}

/// How many leading bytes are sniffed.
pub const SNIFF_BYTES: usize = 8192;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffed_type_wins_when_it_disagrees() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(effective_content_type("image/png", png), "image/png");
        assert_eq!(effective_content_type("application/pdf", png), "image/png");
        assert_eq!(
            effective_content_type("image/png", b"%PDF-1.4\n"),
            "application/pdf"
        );
        assert_eq!(
            effective_content_type("image/png", b"just text"),
            "application/octet-stream"
        );
        assert_eq!(
            effective_content_type("text/plain; charset=utf-8", b"hi"),
            "text/plain; charset=utf-8"
        );
    }
}
