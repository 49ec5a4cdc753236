//! Whether an answer *sounds* finished: the intonation cue, for a recogniser that gives no words
//! at a pause (the embedded Whisper on a small machine: one worker, no live captions).
//!
//! A labelled heuristic, not a model. A statement in English ends low: the pitch falls toward
//! the bottom of the speaker's range ("final lowering"). A speaker who stops mid-phrase to think
//! holds the pitch level or lets it rise (the "continuation" tone of "so the first thing I'd
//! do is…"), and a drawn-out "um" sits mid-range. So at a pause the pitch of the last voiced
//! ~160 ms (within the last half second of speech) is compared with the speaker's own typical pitch (the median over the interview's
//! speech so far, measured every third voiced frame): at or above it less
//! [`LEVEL_SEMITONES`] it reads as unfinished, at least [`FALL_SEMITONES`] below as finished,
//! in between (or with too little voice to measure) as unsure.
//!
//! Measured on the labelled set (docs/benchmarks.md, "Turn-taking"), honestly bounded: espeak-ng
//! gives the cue only where a phrase is spoken as going on; a phrase that ends with a
//! statement's fall reads as finished whatever its words.

use std::collections::VecDeque;

use super::completeness::{Completeness, Why};
use crate::audio::codec::LISTEN_FRAME;
use crate::audio::pitch;

/// Within this many semitones below the speaker's typical pitch (or above it), the end of the
/// phrase is level or rising: unfinished.
pub const LEVEL_SEMITONES: f32 = 2.0;
/// At least this many semitones below it, the pitch fell as a statement's does: finished.
pub const FALL_SEMITONES: f32 = 3.0;
/// Voiced frames measured at the end of the phrase (20 ms each): the last ones with a pitch.
const END_VOICED_MAX: usize = 8;
/// At least this many must have one.
const END_VOICED: usize = 3;
/// How far back they are looked for, in speech frames (a phrase often ends on unvoiced
/// consonants and breath the VAD still calls speech).
const END_FRAMES: usize = 24;
/// Pitch measurements the speaker's typical pitch needs before it is trusted (~1.2 s of voice).
const BASELINE_MIN: u32 = 20;
/// One in this many voiced frames adds to the speaker's typical pitch.
const BASELINE_EVERY: u32 = 3;
/// The speaker's pitch is kept as a histogram of quarter-tones from [`pitch::MIN_HZ`].
const BINS: usize = 4 * 12 * 3; // three octaves: 70–560 Hz

/// The intonation of one candidate's speech over an interview. Feed it every frame of an
/// utterance ([`Intonation::hear`]); ask it at a pause ([`Intonation::verdict`]).
#[derive(Clone)]
pub struct Intonation {
    /// The utterance's last speech frames (PCM, 16 kHz), oldest first: the end of the phrase.
    tail: VecDeque<i16>,
    /// How many voiced frames have been heard (for the one-in-three baseline sampling).
    frames: u32,
    baseline: [u32; BINS],
    baseline_n: u32,
}

impl Default for Intonation {
    fn default() -> Self {
        Self {
            tail: VecDeque::with_capacity((END_FRAMES + 1) * LISTEN_FRAME),
            frames: 0,
            baseline: [0; BINS],
            baseline_n: 0,
        }
    }
}

fn bin(hz: f32) -> usize {
    let quarter_tones = 24.0 * (hz / pitch::MIN_HZ).log2();
    (quarter_tones.max(0.0) as usize).min(BINS - 1)
}

fn bin_hz(bin: usize) -> f32 {
    pitch::MIN_HZ * ((bin as f32 + 0.5) / 24.0).exp2()
}

impl Intonation {
    /// A new utterance: the end of the last one is forgotten (the speaker's pitch is not).
    pub fn start(&mut self) {
        self.tail.clear();
    }

    /// One 20 ms frame of the utterance; `speech`: the VAD heard speech in it (silence in a
    /// pause is not the phrase's end).
    pub fn hear(&mut self, frame: &[i16], speech: bool) {
        if !speech {
            return;
        }
        self.tail.extend(frame.iter().copied());
        let excess = self
            .tail
            .len()
            .saturating_sub((END_FRAMES + 1) * LISTEN_FRAME);
        self.tail.drain(..excess);
        self.frames = self.frames.wrapping_add(1);
        if self.frames.is_multiple_of(BASELINE_EVERY) && self.tail.len() >= pitch::WINDOW {
            // The last two frames, copied out (the ring is not rotated on every voiced frame).
            let mut window = [0i16; pitch::WINDOW];
            let recent = self.tail.range(self.tail.len() - pitch::WINDOW..);
            window.iter_mut().zip(recent).for_each(|(w, s)| *w = *s);
            if let Some(hz) = pitch::f0(&window) {
                self.baseline[bin(hz)] += 1;
                self.baseline_n += 1;
            }
        }
    }

    /// The speaker's typical pitch so far (the median), once enough voice has been measured.
    pub fn typical_hz(&self) -> Option<f32> {
        if self.baseline_n < BASELINE_MIN {
            return None;
        }
        let half = self.baseline_n.div_ceil(2);
        let mut seen = 0;
        self.baseline.iter().enumerate().find_map(|(i, &n)| {
            seen += n;
            (seen >= half).then(|| bin_hz(i))
        })
    }

    /// The pitch at the end of the phrase (the median of its last voiced frames), if measurable.
    pub fn end_hz(&self) -> Option<f32> {
        let tail = self.tail.iter().copied().collect::<Vec<_>>();
        let mut heard: Vec<f32> = (pitch::WINDOW..=tail.len())
            .rev()
            .step_by(LISTEN_FRAME)
            .filter_map(|end| pitch::f0(&tail[end - pitch::WINDOW..end]))
            .take(END_VOICED_MAX)
            .collect();
        if heard.len() < END_VOICED {
            return None;
        }
        heard.sort_by(f32::total_cmp);
        Some(heard[heard.len() / 2])
    }

    /// How the phrase ends against the speaker's typical pitch, in semitones (negative: lower).
    pub fn end_semitones(&self) -> Option<f32> {
        let (end, typical) = (self.end_hz()?, self.typical_hz()?);
        Some(12.0 * (end / typical).log2())
    }

    /// The cue at a pause: level or rising reads unfinished, a statement's fall finished.
    pub fn verdict(&self) -> Completeness {
        match self.end_semitones() {
            Some(st) if st >= -LEVEL_SEMITONES => Completeness::Unfinished(Why::Intonation),
            Some(st) if st <= -FALL_SEMITONES => Completeness::Finished,
            _ => Completeness::Unsure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A voiced-like tone gliding from `from` to `to` Hz over `frames` 20 ms frames, 16 kHz.
    fn glide(from: f32, to: f32, frames: usize) -> Vec<i16> {
        let len = frames * LISTEN_FRAME;
        let mut phase = 0f32;
        (0..len)
            .map(|i| {
                let hz = from + (to - from) * i as f32 / len as f32;
                phase += 2.0 * std::f32::consts::PI * hz / 16_000.0;
                let s: f32 = (1..=4).map(|h| (phase * h as f32).sin() / h as f32).sum();
                (s * 5_000.0) as i16
            })
            .collect()
    }

    fn hear_all(i: &mut Intonation, pcm: &[i16]) {
        for frame in pcm.chunks_exact(LISTEN_FRAME) {
            i.hear(frame, true);
        }
    }

    #[test]
    fn a_statements_fall_reads_finished_and_a_level_phrase_unfinished() {
        // The speaker talks around 140 Hz for two seconds.
        let mut falling = Intonation::default();
        hear_all(&mut falling, &glide(140.0, 140.0, 100));
        let typical = falling.typical_hz().unwrap();
        assert!((typical / 140.0 - 1.0).abs() < 0.04, "{typical}");
        let mut level = Intonation::default();
        hear_all(&mut level, &glide(140.0, 140.0, 100));

        // …and ends down at 105 Hz (five semitones below), or holds at 145.
        falling.start();
        hear_all(&mut falling, &glide(130.0, 105.0, 15));
        assert_eq!(falling.verdict(), Completeness::Finished);
        level.start();
        hear_all(&mut level, &glide(140.0, 146.0, 15));
        assert_eq!(level.verdict(), Completeness::Unfinished(Why::Intonation));
    }

    #[test]
    fn too_little_voice_is_unsure_and_silence_is_not_the_phrases_end() {
        let mut i = Intonation::default();
        hear_all(&mut i, &glide(140.0, 140.0, 10));
        assert_eq!(i.verdict(), Completeness::Unsure, "no typical pitch yet");
        hear_all(&mut i, &glide(140.0, 140.0, 100));
        i.start();
        hear_all(&mut i, &glide(130.0, 100.0, 15));
        // Silence after the phrase (the pause itself) does not move its end.
        for _ in 0..20 {
            i.hear(&[0; LISTEN_FRAME], false);
        }
        assert_eq!(i.verdict(), Completeness::Finished);
        i.start();
        assert_eq!(i.verdict(), Completeness::Unsure, "nothing said yet");
    }
}
