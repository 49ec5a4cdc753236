//! Résumé files to text: PDF (pdf-extract), DOCX (the document's text runs, read with zip and
//! quick-xml) and plain text (UTF-8), at most [`MAX_FILE`] bytes. A damaged, encrypted or
//! unknown file is a clear refusal, never a panic or a hang: extraction runs on a blocking
//! thread, at most [`PARALLEL`] at once, panics are caught, and past [`TIMEOUT`] the upload is
//! refused (the thread finishes on its own, still holding its permit, so stuck extractions
//! cannot pile up).

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// The largest file accepted.
pub const MAX_FILE: usize = 5 * 1024 * 1024;
/// Extractions at once (each is CPU-bound).
pub const PARALLEL: usize = 2;
/// How long an extraction may take.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// The most of a DOCX's document part read (a zip bomb stops here).
const MAX_DOCX_XML: u64 = 20 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ResumeKind)]
pub enum Kind {
    Pdf,
    Docx,
    Text,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResumeError {
    #[error("the file is not a PDF, a DOCX or plain UTF-8 text")]
    Unsupported,
    #[error("the PDF is encrypted; upload a copy without a password")]
    Encrypted,
    #[error("the {0} could not be read (it may be damaged)")]
    Damaged(&'static str),
    #[error("the file holds no text (a scan? upload a text PDF or paste the text)")]
    Empty,
    #[error("the file took too long to read")]
    TooSlow,
}

/// What kind of file `bytes` is, by its first bytes.
pub fn kind_of(bytes: &[u8]) -> Result<Kind, ResumeError> {
    if bytes.starts_with(b"%PDF-") {
        Ok(Kind::Pdf)
    } else if bytes.starts_with(b"PK\x03\x04") {
        Ok(Kind::Docx)
    } else if std::str::from_utf8(bytes).is_ok() && !bytes.contains(&0) {
        Ok(Kind::Text)
    } else {
        Err(ResumeError::Unsupported)
    }
}

/// The text of a résumé file (blocking; see [`extract`]).
pub fn extract_blocking(bytes: &[u8]) -> Result<(Kind, String), ResumeError> {
    let kind = kind_of(bytes)?;
    let text = match kind {
        Kind::Pdf => pdf(bytes)?,
        Kind::Docx => docx(bytes)?,
        Kind::Text => String::from_utf8_lossy(bytes).into_owned(),
    };
    let text = tidy(&text);
    if text.is_empty() {
        return Err(ResumeError::Empty);
    }
    Ok((kind, text))
}

fn pdf(bytes: &[u8]) -> Result<String, ResumeError> {
    // An encryption dictionary anywhere in the file: its text cannot be read without the key.
    if bytes.windows(8).any(|w| w == b"/Encrypt") {
        return Err(ResumeError::Encrypted);
    }
    pdf_extract::extract_text_from_mem(bytes).map_err(|_| ResumeError::Damaged("PDF"))
}

fn docx(bytes: &[u8]) -> Result<String, ResumeError> {
    use quick_xml::events::Event;
    let damaged = || ResumeError::Damaged("DOCX");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| damaged())?;
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .map_err(|_| damaged())?
        .take(MAX_DOCX_XML)
        .read_to_string(&mut xml)
        .map_err(|_| damaged())?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut out = String::new();
    let mut in_text = false;
    loop {
        match reader.read_event().map_err(|_| damaged())? {
            Event::Start(e) if e.name().as_ref() == b"w:t" => in_text = true,
            Event::End(e) if e.name().as_ref() == b"w:t" => in_text = false,
            Event::Text(t) if in_text => out.push_str(&t.unescape().map_err(|_| damaged())?),
            Event::End(e) if e.name().as_ref() == b"w:p" => out.push('\n'),
            Event::Empty(e) if e.name().as_ref() == b"w:tab" => out.push('\t'),
            Event::Empty(e) if e.name().as_ref() == b"w:br" => out.push('\n'),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// Trims every line, drops control characters and runs of blank lines.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line: String = line
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        let line = line.trim();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Extracts off the runtime, at most [`PARALLEL`] at once, within [`TIMEOUT`].
pub async fn extract(
    permits: &Arc<Semaphore>,
    bytes: Vec<u8>,
) -> Result<(Kind, String), ResumeError> {
    let permit = tokio::time::timeout(TIMEOUT, permits.clone().acquire_owned())
        .await
        .map_err(|_| ResumeError::TooSlow)?
        .expect("the semaphore is never closed");
    let work = tokio::task::spawn_blocking(move || {
        let _held = permit;
        std::panic::catch_unwind(|| extract_blocking(&bytes))
    });
    match tokio::time::timeout(TIMEOUT, work).await {
        Err(_) => Err(ResumeError::TooSlow),
        Ok(Ok(Ok(result))) => result,
        // A panic in a parser: the file is one it cannot read.
        Ok(Ok(Err(_))) | Ok(Err(_)) => Err(ResumeError::Damaged("file")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_by_their_first_bytes() {
        assert_eq!(kind_of(b"%PDF-1.7 ..."), Ok(Kind::Pdf));
        assert_eq!(kind_of(b"PK\x03\x04..."), Ok(Kind::Docx));
        assert_eq!(kind_of("Grace Hopper — COBOL".as_bytes()), Ok(Kind::Text));
        assert_eq!(kind_of(b"\x89PNG\r\n\x1a\n"), Err(ResumeError::Unsupported));
        assert_eq!(kind_of(b"text\0with a nul"), Err(ResumeError::Unsupported));
    }

    #[test]
    fn damaged_and_encrypted_files_are_refused_clearly() {
        assert_eq!(
            extract_blocking(b"%PDF-1.4\nnot really a pdf"),
            Err(ResumeError::Damaged("PDF"))
        );
        assert_eq!(
            extract_blocking(b"%PDF-1.4\ntrailer << /Encrypt 5 0 R >>"),
            Err(ResumeError::Encrypted)
        );
        assert_eq!(
            extract_blocking(b"PK\x03\x04 truncated zip"),
            Err(ResumeError::Damaged("DOCX"))
        );
        assert_eq!(extract_blocking(b"  \n\n "), Err(ResumeError::Empty));
    }

    #[test]
    fn text_is_tidied() {
        assert_eq!(
            tidy("  Grace  \n\n\n\nCOBOL\r\n  Navy "),
            "Grace\n\nCOBOL\nNavy"
        );
    }
}
