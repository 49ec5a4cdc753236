//! Server-sent events decoding for streamed vendor responses (OpenAI, Gemini): bytes arrive in
//! arbitrary pieces — a line, a UTF-8 character or a `\r\n` may be split across chunks — and
//! come out as whole `data:` payloads.

/// Incremental SSE decoder: feed byte chunks, take complete events' `data` fields.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buf: Vec<u8>,
    data: Vec<String>,
    /// Bytes of `buf` already scanned for a line end.
    scanned: usize,
}

/// Longest line accepted; a vendor streaming more without a newline is broken.
pub const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("event line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("event stream is not UTF-8")]
    NotUtf8,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes; returns the `data` of every event completed by them, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, SseError> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let Some(nl) = self.buf[self.scanned..].iter().position(|b| *b == b'\n') else {
                self.scanned = self.buf.len();
                if self.buf.len() > MAX_LINE {
                    return Err(SseError::LineTooLong);
                }
                return Ok(out);
            };
            let end = self.scanned + nl;
            let mut line: Vec<u8> = self.buf.drain(..=end).collect();
            self.scanned = 0;
            line.pop(); // \n
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8(line).map_err(|_| SseError::NotUtf8)?;
            if let Some(event) = self.line(&line) {
                out.push(event);
            }
        }
    }

    /// The stream ended: an event not yet terminated by a blank line still counts.
    pub fn finish(&mut self) -> Result<Option<String>, SseError> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let line = String::from_utf8(rest).map_err(|_| SseError::NotUtf8)?;
            let line = line.trim_end_matches('\r').to_owned();
            if let Some(event) = self.line(&line) {
                return Ok(Some(event));
            }
        }
        Ok((!self.data.is_empty()).then(|| self.data.drain(..).collect::<Vec<_>>().join("\n")))
    }

    fn line(&mut self, line: &str) -> Option<String> {
        if line.is_empty() {
            return (!self.data.is_empty())
                .then(|| self.data.drain(..).collect::<Vec<_>>().join("\n"));
        }
        if line.starts_with(':') {
            return None; // comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if field == "data" {
            self.data.push(value.to_owned());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "data: {\"a\":\"h\u{e9}llo\"}\r\n\r\n: keep-alive\n\ndata: line one\ndata: line two\n\nevent: x\ndata: [DONE]\n\n";

    fn whole() -> Vec<String> {
        vec![
            "{\"a\":\"h\u{e9}llo\"}".to_owned(),
            "line one\nline two".to_owned(),
            "[DONE]".to_owned(),
        ]
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let bytes = STREAM.as_bytes();
        // Every single split point, including inside \r\n and inside the two-byte é.
        for cut in 0..=bytes.len() {
            let mut d = SseDecoder::new();
            let mut got = d.feed(&bytes[..cut]).unwrap();
            got.extend(d.feed(&bytes[cut..]).unwrap());
            assert_eq!(d.finish().unwrap(), None);
            assert_eq!(got, whole(), "split at {cut}");
        }
        // One byte at a time.
        let mut d = SseDecoder::new();
        let mut got = Vec::new();
        for b in bytes {
            got.extend(d.feed(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(got, whole());
    }

    #[test]
    fn an_unterminated_last_event_is_kept_and_garbage_is_refused() {
        let mut d = SseDecoder::new();
        assert!(d.feed(b"data: {\"x\":1}").unwrap().is_empty());
        assert_eq!(d.finish().unwrap().as_deref(), Some("{\"x\":1}"));
        let mut d = SseDecoder::new();
        assert_eq!(d.feed(b"data: \xff\xfe\n"), Err(SseError::NotUtf8));
        let mut d = SseDecoder::new();
        assert_eq!(
            d.feed(&vec![b'a'; MAX_LINE + 1]),
            Err(SseError::LineTooLong)
        );
    }
}
