//! Endpointing: turns per-frame speech/non-speech decisions into utterance boundaries.
//!
//! Counted in audio frames, not wall-clock time, so the result depends only on the audio.

use crate::protocol::FRAME_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointConfig {
    /// Consecutive speech frames that start an utterance.
    pub start_frames: u32,
    /// Utterances with less speech than this are dropped as noise.
    pub min_speech_ms: u32,
    /// Longest utterance: it ends here even while the candidate speaks (`capped`).
    pub max_utterance_ms: u32,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            start_frames: 4,
            min_speech_ms: 200,
            max_utterance_ms: 120_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Nothing changed.
    None,
    /// An utterance began; it includes the last `start_frames` frames.
    Start,
    /// The utterance ended after `end_silence_ms` of silence, or at `max_utterance_ms`
    /// (`capped`: speech that goes on starts the next utterance).
    End {
        speech_ms: u32,
        utterance_ms: u32,
        capped: bool,
    },
    /// The utterance ended but was too short to be speech (a cough, a click).
    Noise,
}

/// Frame-by-frame endpointer. The silence that ends a turn is chosen per turn
/// (longer after open questions), so it is passed to [`Endpointer::push`].
#[derive(Debug, Clone)]
pub struct Endpointer {
    cfg: EndpointConfig,
    run: u32,
    in_speech: bool,
    speech_frames: u32,
    utterance_frames: u32,
    silence_frames: u32,
}

impl Endpointer {
    pub fn new(cfg: EndpointConfig) -> Self {
        Self {
            cfg,
            run: 0,
            in_speech: false,
            speech_frames: 0,
            utterance_frames: 0,
            silence_frames: 0,
        }
    }

    pub fn in_speech(&self) -> bool {
        self.in_speech
    }

    /// Trailing silence of the current utterance, or silence since the last one, in ms.
    pub fn silence_ms(&self) -> u32 {
        self.silence_frames * FRAME_MS
    }

    /// The utterance in progress up to its last speech frame (what `end_now` would call its
    /// length), in ms; 0 without one.
    pub fn spoken_ms(&self) -> u32 {
        if self.in_speech {
            self.utterance_frames.saturating_sub(self.silence_frames) * FRAME_MS
        } else {
            0
        }
    }

    /// Forgets any utterance in progress.
    pub fn reset(&mut self) {
        *self = Self::new(self.cfg);
    }

    pub fn push(&mut self, speech: bool, end_silence_ms: u32) -> Endpoint {
        if speech {
            self.run += 1;
            self.silence_frames = 0;
        } else {
            self.run = 0;
            self.silence_frames += 1;
        }
        if !self.in_speech {
            if self.run >= self.cfg.start_frames {
                self.in_speech = true;
                self.speech_frames = self.run;
                self.utterance_frames = self.run;
                return Endpoint::Start;
            }
            return Endpoint::None;
        }
        self.utterance_frames += 1;
        if speech {
            self.speech_frames += 1;
        }
        let silent = self.silence_frames * FRAME_MS >= end_silence_ms;
        let capped = !silent && self.utterance_frames * FRAME_MS >= self.cfg.max_utterance_ms;
        if silent || capped {
            self.in_speech = false;
            let speech_ms = self.speech_frames * FRAME_MS;
            let utterance_ms = self.utterance_frames * FRAME_MS;
            self.speech_frames = 0;
            self.utterance_frames = 0;
            self.silence_frames = 0;
            // Speech that goes on past the cap needs `start_frames` again to open the next one.
            self.run = 0;
            return if speech_ms >= self.cfg.min_speech_ms {
                Endpoint::End {
                    speech_ms,
                    utterance_ms,
                    capped,
                }
            } else {
                Endpoint::Noise
            };
        }
        Endpoint::None
    }

    /// Ends the utterance in progress now (the client committed its turn): `End` with the
    /// trailing silence so far left out of `utterance_ms`, `Noise` if it was too short to be
    /// speech, `None` if no utterance is in progress.
    pub fn end_now(&mut self) -> Endpoint {
        if !self.in_speech {
            return Endpoint::None;
        }
        let speech_ms = self.speech_frames * FRAME_MS;
        let utterance_ms = self.utterance_frames.saturating_sub(self.silence_frames) * FRAME_MS;
        self.reset();
        if speech_ms >= self.cfg.min_speech_ms {
            Endpoint::End {
                speech_ms,
                utterance_ms,
                capped: false,
            }
        } else {
            Endpoint::Noise
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(ep: &mut Endpointer, pattern: &[(bool, u32)], end_ms: u32) -> Vec<Endpoint> {
        let mut out = Vec::new();
        for &(speech, n) in pattern {
            for _ in 0..n {
                let e = ep.push(speech, end_ms);
                if e != Endpoint::None {
                    out.push(e);
                }
            }
        }
        out
    }

    #[test]
    fn utterance_starts_after_start_frames_and_ends_after_silence() {
        let mut ep = Endpointer::new(EndpointConfig::default());
        let events = feed(&mut ep, &[(false, 10), (true, 50), (false, 35)], 700);
        assert_eq!(
            events,
            vec![
                Endpoint::Start,
                Endpoint::End {
                    speech_ms: 1000,
                    utterance_ms: 1700,
                    capped: false,
                }
            ]
        );
    }

    #[test]
    fn pauses_shorter_than_the_end_silence_do_not_end_the_turn() {
        let mut ep = Endpointer::new(EndpointConfig::default());
        let events = feed(&mut ep, &[(true, 20), (false, 30), (true, 20)], 700);
        assert_eq!(events, vec![Endpoint::Start]);
        assert!(ep.in_speech());
        // A longer end silence (open question) waits longer.
        let events = feed(&mut ep, &[(false, 40)], 1200);
        assert!(events.is_empty());
        let events = feed(&mut ep, &[(false, 20)], 1200);
        assert!(matches!(events[..], [Endpoint::End { .. }]));
    }

    #[test]
    fn a_commit_ends_the_utterance_at_once_without_its_trailing_silence() {
        let mut ep = Endpointer::new(EndpointConfig::default());
        assert_eq!(ep.end_now(), Endpoint::None);
        let events = feed(&mut ep, &[(true, 50), (false, 10)], 700);
        assert_eq!(events, vec![Endpoint::Start]);
        assert_eq!(
            ep.end_now(),
            Endpoint::End {
                speech_ms: 1000,
                utterance_ms: 1000,
                capped: false,
            }
        );
        assert!(!ep.in_speech());
        // Too little speech to be an answer: noise.
        feed(&mut ep, &[(true, 5)], 700);
        assert_eq!(ep.end_now(), Endpoint::Noise);
    }

    #[test]
    fn short_bursts_are_noise_and_isolated_frames_do_not_start() {
        let mut ep = Endpointer::new(EndpointConfig::default());
        assert!(feed(&mut ep, &[(true, 3), (false, 5), (true, 1)], 700).is_empty());
        let events = feed(&mut ep, &[(true, 5), (false, 40)], 700);
        assert_eq!(events, vec![Endpoint::Start, Endpoint::Noise]);
    }

    #[test]
    fn an_utterance_ends_at_the_cap_and_speech_that_goes_on_is_the_next_one() {
        let mut ep = Endpointer::new(EndpointConfig {
            max_utterance_ms: 2000,
            ..EndpointConfig::default()
        });
        // 5 s of continuous speech: cut at 2 s, twice, then the last 1 s ends on silence (the
        // frames that reopen an utterance belong to it).
        let events = feed(&mut ep, &[(true, 250), (false, 40)], 700);
        assert_eq!(
            events,
            vec![
                Endpoint::Start,
                Endpoint::End {
                    speech_ms: 2000,
                    utterance_ms: 2000,
                    capped: true
                },
                Endpoint::Start,
                Endpoint::End {
                    speech_ms: 2000,
                    utterance_ms: 2000,
                    capped: true
                },
                Endpoint::Start,
                Endpoint::End {
                    speech_ms: 1000,
                    utterance_ms: 1700,
                    capped: false
                },
            ]
        );
        // Every frame of speech is in one of the three: nothing is lost at a cut.
    }
}
