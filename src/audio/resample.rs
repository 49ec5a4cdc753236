//! Streaming linear resampler for mono 16-bit PCM (TTS output to an Opus input rate).
//!
//! Linear interpolation is adequate for speech going up or slightly down in rate (22.05 → 24 kHz);
//! it is cheap, allocation-free per sample and keeps state across chunks.

pub struct Resampler {
    step: f64,
    pos: f64,
    prev: Option<i16>,
}

impl Resampler {
    pub fn new(from_hz: u32, to_hz: u32) -> Self {
        Self {
            step: f64::from(from_hz) / f64::from(to_hz),
            pos: 0.0,
            prev: None,
        }
    }

    pub fn is_identity(&self) -> bool {
        self.step == 1.0
    }

    /// Resamples one chunk, appending to `out`. Chunks may be any size.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        if self.is_identity() {
            out.extend_from_slice(input);
            return;
        }
        // Treat `prev` (last sample of the previous chunk) as index -1.
        let at = |i: isize| -> f64 {
            if i < 0 {
                f64::from(self.prev.unwrap_or(0))
            } else {
                f64::from(input[i as usize])
            }
        };
        let start = if self.prev.is_some() { -1.0 } else { 0.0 };
        let mut pos = self.pos.max(start);
        let last = input.len() as f64 - 1.0;
        while pos < last {
            let i = pos.floor();
            let frac = pos - i;
            let a = at(i as isize);
            let b = at(i as isize + 1);
            out.push((a + (b - a) * frac).round() as i16);
            pos += self.step;
        }
        if let Some(&l) = input.last() {
            self.prev = Some(l);
            // Next chunk's index 0 is this chunk's index len; make pos relative to it.
            self.pos = pos - input.len() as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_length_follows_the_rate_ratio_across_chunks() {
        let mut r = Resampler::new(22_050, 24_000);
        let input: Vec<i16> = (0..22_050).map(|i| (i % 100) as i16).collect();
        let mut out = Vec::new();
        for chunk in input.chunks(777) {
            r.process(chunk, &mut out);
        }
        let expected = 24_000f64;
        assert!(
            (out.len() as f64 - expected).abs() < 3.0,
            "got {}",
            out.len()
        );
    }

    #[test]
    fn constant_signal_stays_constant() {
        let mut r = Resampler::new(16_000, 24_000);
        let mut out = Vec::new();
        r.process(&[1000; 500], &mut out);
        r.process(&[1000; 500], &mut out);
        assert!(out.iter().all(|&s| s == 1000));
    }
}
