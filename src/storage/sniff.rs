//! What an upload really is: the declared MIME type checked against the file's magic bytes.

/// The MIME type to record for an upload, from its declared type, its file name and its first
/// bytes:
/// - when the magic bytes identify a type that differs from the declared one, that type wins
///   (a "PNG" that is really a PDF is recorded as `application/pdf`), unless they identify only
///   a container and the declared type is a format built on it that the file's extension agrees
///   with (see [`ZIP_FORMATS`], [`OLE_FORMATS`]): a `report.docx` declared as a Word document
///   stays one, though its bytes are a ZIP archive;
/// - when they identify nothing and the declared type is image/video/audio, it is recorded as
///   `application/octet-stream` (media types are binary formats with signatures; an unverified
///   claim — SVG included — would be typed and served as media);
/// - otherwise the declared type stands (plain text, JSON, CSV... have no signature).
pub fn effective_content_type(declared: &str, filename: &str, prefix: &[u8]) -> String {
    let declared = declared.trim();
    let essence = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match infer::get(prefix) {
        Some(kind) if kind.mime_type() == essence => declared.to_string(),
        Some(kind) if built_on(kind.mime_type(), &essence, filename) => declared.to_string(),
        Some(kind) => kind.mime_type().to_string(),
        None if super::displays_inline(&essence) => "application/octet-stream".to_string(),
        None => declared.to_string(),
    }
}

/// How many leading bytes are sniffed.
pub const SNIFF_BYTES: usize = 8192;

const ZIP: &str = "application/zip";
/// What `infer` (built without `std`, so without an OLE parser) reports for every OLE2
/// compound file, whether Word, Excel, PowerPoint or Outlook wrote it.
const OLE: &str = "application/msword";

/// Formats whose magic bytes are only a ZIP archive's, as `(extension, MIME type)`: Office Open
/// XML (ECMA-376, with the types Office registers) and OpenDocument (OASIS). `infer` tells some
/// of them apart by looking for a known entry near the start, which not every writer puts
/// there, and knows no templates or macro-enabled variants; otherwise it says `application/zip`.
const ZIP_FORMATS: &[(&str, &str)] = &[
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "dotx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    ),
    ("docm", "application/vnd.ms-word.document.macroenabled.12"),
    ("dotm", "application/vnd.ms-word.template.macroenabled.12"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "xltx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    ),
    ("xlsm", "application/vnd.ms-excel.sheet.macroenabled.12"),
    ("xltm", "application/vnd.ms-excel.template.macroenabled.12"),
    ("xlsb", "application/vnd.ms-excel.sheet.binary.macroenabled.12"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    (
        "ppsx",
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
    ),
    (
        "potx",
        "application/vnd.openxmlformats-officedocument.presentationml.template",
    ),
    (
        "pptm",
        "application/vnd.ms-powerpoint.presentation.macroenabled.12",
    ),
    ("ppsm", "application/vnd.ms-powerpoint.slideshow.macroenabled.12"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ott", "application/vnd.oasis.opendocument.text-template"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("ots", "application/vnd.oasis.opendocument.spreadsheet-template"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("otp", "application/vnd.oasis.opendocument.presentation-template"),
    ("odg", "application/vnd.oasis.opendocument.graphics"),
    ("odf", "application/vnd.oasis.opendocument.formula"),
];

/// Legacy Office formats, OLE2 compound files (which `infer` reports as [`OLE`]).
const OLE_FORMATS: &[(&str, &str)] = &[
    ("xls", "application/vnd.ms-excel"),
    ("xlt", "application/vnd.ms-excel"),
    ("xla", "application/vnd.ms-excel"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("pps", "application/vnd.ms-powerpoint"),
    ("pot", "application/vnd.ms-powerpoint"),
    ("msg", "application/vnd.ms-outlook"),
    ("vsd", "application/vnd.visio"),
];

/// Whether `declared` (a lower-case essence) is a format stored in the `sniffed` container and
/// the file's extension is that format's: the magic bytes then confirm the declared type as
/// far as they can, and it is the more precise of the two.
fn built_on(sniffed: &str, declared: &str, filename: &str) -> bool {
    let formats = match sniffed {
        ZIP => ZIP_FORMATS,
        OLE => OLE_FORMATS,
        _ => return false,
    };
    let Some(ext) = super::extension(filename) else {
        return false;
    };
    formats.iter().any(|&(e, format)| e == ext && format == declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffed_type_wins_when_it_disagrees() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(effective_content_type("image/png", "a.png", png), "image/png");
        assert_eq!(
            effective_content_type("application/pdf", "a.pdf", png),
            "image/png"
        );
        assert_eq!(
            effective_content_type("image/png", "a.png", b"%PDF-1.4\n"),
            "application/pdf"
        );
        assert_eq!(
            effective_content_type("image/png", "a.png", b"just text"),
            "application/octet-stream"
        );
        assert_eq!(
            effective_content_type("text/plain; charset=utf-8", "a.txt", b"hi"),
            "text/plain; charset=utf-8"
        );
    }

    /// The first bytes of a ZIP archive whose first entry `infer` does not recognise as
    /// belonging to any particular format.
    fn zip() -> Vec<u8> {
        let mut zip = b"PK\x03\x04\x14\0\0\0\x08\0".to_vec();
        zip.resize(30, 0);
        zip.extend_from_slice(b"customXml/item1.xml");
        zip.resize(200, 0);
        zip
    }

    const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    const ODT: &str = "application/vnd.oasis.opendocument.text";

    #[test]
    fn a_zip_keeps_a_declared_office_type_its_extension_agrees_with() {
        let zip = zip();
        assert_eq!(infer::get(&zip).map(|k| k.mime_type()), Some(ZIP));
        assert_eq!(effective_content_type(DOCX, "report.docx", &zip), DOCX);
        assert_eq!(effective_content_type(DOCX, "Q3 Report.DOCX", &zip), DOCX);
        assert_eq!(effective_content_type(XLSX, "figures.xlsx", &zip), XLSX);
        assert_eq!(effective_content_type(ODT, "letter.odt", &zip), ODT);
        // Parameters and case of the declared type are kept as sent.
        let macro_enabled = "application/vnd.ms-excel.sheet.macroEnabled.12";
        assert_eq!(
            effective_content_type(macro_enabled, "m.xlsm", &zip),
            macro_enabled
        );
    }

    #[test]
    fn otherwise_a_zip_is_a_zip() {
        let zip = zip();
        for (declared, filename) in [
            (DOCX, "report.zip"),                        // the extension disagrees
            (DOCX, "report"),                            // no extension to agree
            (XLSX, "report.docx"),                       // an office type, but not this file's
            (DOCX, "report.docx.html"),                  // only the last extension counts
            ("application/octet-stream", "report.docx"), // not an office type
            ("text/html", "page.docx"),
            ("image/png", "a.docx"),
        ] {
            assert_eq!(
                effective_content_type(declared, filename, &zip),
                ZIP,
                "{declared} {filename}"
            );
        }
        // Magic bytes of anything but the container still win over an office claim.
        assert_eq!(
            effective_content_type(DOCX, "report.docx", b"%PDF-1.4\n"),
            "application/pdf"
        );
    }

    #[test]
    fn an_ole_file_keeps_a_declared_legacy_office_type_its_extension_agrees_with() {
        let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        ole.resize(512, 0);
        assert_eq!(infer::get(&ole).map(|k| k.mime_type()), Some(OLE));
        assert_eq!(
            effective_content_type("application/vnd.ms-excel", "budget.xls", &ole),
            "application/vnd.ms-excel"
        );
        assert_eq!(
            effective_content_type("application/vnd.ms-powerpoint", "deck.PPT", &ole),
            "application/vnd.ms-powerpoint"
        );
        assert_eq!(effective_content_type("application/msword", "a.doc", &ole), OLE);
        assert_eq!(
            effective_content_type("application/vnd.ms-excel", "budget.doc", &ole),
            OLE
        );
    }
}
