//! The embedded default STT until an offline engine is configured: it never invents words.
//! The final transcript says how much speech there was and that it was not transcribed.

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{ProviderResult, SttProvider, SttResult, SttSession};
use crate::audio::codec::LISTEN_RATE;

pub struct UntranscribedStt;

impl SttProvider for UntranscribedStt {
    fn name(&self) -> &str {
        "untranscribed"
    }

    fn start(&self, _: &super::Vocabulary, _partials: mpsc::Sender<String>) -> Box<dyn SttSession> {
        Box::new(Counter(0))
    }
}

struct Counter(usize);

/// The marker text for `samples` of 16 kHz speech, e.g. `[speech 6.2 s, not transcribed]`.
pub fn marker(samples: usize) -> String {
    format!(
        "[speech {:.1} s, not transcribed]",
        samples as f64 / f64::from(LISTEN_RATE)
    )
}

#[async_trait]
impl SttSession for Counter {
    fn push(&mut self, pcm: &[i16]) {
        self.0 += pcm.len();
    }

    async fn finish(self: Box<Self>) -> ProviderResult<SttResult> {
        Ok(SttResult {
            text: marker(self.0),
            transcribed: false,
            degraded: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reports_duration_not_words() {
        let (tx, _rx) = mpsc::channel(1);
        let mut s = UntranscribedStt.start(&Default::default(), tx);
        s.push(&vec![0; 16_000 * 6]);
        s.push(&vec![0; 3_200]);
        let r = s.finish().await.unwrap();
        assert_eq!(r.text, "[speech 6.2 s, not transcribed]");
        assert!(!r.transcribed);
    }
}
