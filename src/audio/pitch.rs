//! The pitch (fundamental frequency, F0) of voiced speech, cheaply enough to run on an
//! interview's frames: normalised autocorrelation over a 40 ms window (two 20 ms frames at
//! 16 kHz), taken at 8 kHz (pairs of samples averaged), for voices between 70 and 400 Hz.
//!
//! Used by the turn-taking's intonation cue (`turns::intonation`); pure and synchronous.

/// The lowest and highest pitch looked for, in Hz (bass to child).
pub const MIN_HZ: f32 = 70.0;
pub const MAX_HZ: f32 = 400.0;
/// The window the pitch is measured on: two 20 ms frames at 16 kHz.
pub const WINDOW: usize = 640;

/// The rate the correlation runs at (the window is halved by averaging pairs).
const RATE: f32 = 8_000.0;
/// How well a lag must repeat the window (normalised correlation) for the frame to be voiced.
const VOICED: f32 = 0.6;
/// A shorter lag within this share of the best one's correlation wins: the true period, not a
/// multiple of it (the usual octave error of autocorrelation).
const OCTAVE_GUARD: f32 = 0.9;
/// Below this mean square (about −50 dBFS) a window is too quiet to measure.
const QUIET: f32 = 100.0;

/// The pitch of `window` (16 kHz, up to [`WINDOW`] samples; at least half of it) in Hz, or
/// `None` when it is unvoiced, too quiet or too short.
pub fn f0(window: &[i16]) -> Option<f32> {
    let n = window.len().min(WINDOW) / 2;
    if n < WINDOW / 4 {
        return None;
    }
    let mut x = [0f32; WINDOW / 2];
    for (i, pair) in window[..2 * n].chunks_exact(2).enumerate() {
        x[i] = (f32::from(pair[0]) + f32::from(pair[1])) * 0.5;
    }
    let x = &mut x[..n];
    let mean = x.iter().sum::<f32>() / n as f32;
    x.iter_mut().for_each(|s| *s -= mean);
    let energy: f32 = x.iter().map(|s| s * s).sum();
    if energy / (n as f32) < QUIET {
        return None;
    }
    let min_lag = (RATE / MAX_HZ) as usize;
    let max_lag = ((RATE / MIN_HZ) as usize).min(n / 2);
    // Normalised cross-correlation of the window with itself `lag` later: each side's energy
    // over the overlapping part, kept as running sums (no second pass per lag).
    let mut head: f32 = energy; // Σ x[0..n-lag]²
    let mut tail: f32 = energy; // Σ x[lag..n]²
    for lag in 1..min_lag {
        head -= x[n - lag] * x[n - lag];
        tail -= x[lag - 1] * x[lag - 1];
    }
    let mut scores = [0f32; 128];
    let mut best = (0usize, 0f32);
    for lag in min_lag..=max_lag {
        head -= x[n - lag] * x[n - lag];
        tail -= x[lag - 1] * x[lag - 1];
        let r: f32 = x[..n - lag].iter().zip(&x[lag..]).map(|(a, b)| a * b).sum();
        let norm = (head * tail).sqrt();
        let score = if norm > 0.0 { r / norm } else { 0.0 };
        scores[lag - min_lag] = score;
        if score > best.1 {
            best = (lag, score);
        }
    }
    if best.1 < VOICED {
        return None;
    }
    // The shortest lag that repeats nearly as well, at a local peak: the period itself.
    let lags = max_lag - min_lag + 1;
    let peak = (0..lags)
        .find(|&i| {
            let s = scores[i];
            s >= best.1 * OCTAVE_GUARD
                && (i == 0 || s >= scores[i - 1])
                && (i + 1 == lags || s >= scores[i + 1])
        })
        .unwrap_or(best.0 - min_lag);
    // Parabolic interpolation between the neighbouring lags: a fraction of a sample at 8 kHz
    // is several percent of a high voice's pitch.
    let lag = if peak > 0 && peak + 1 < lags {
        let (a, b, c) = (scores[peak - 1], scores[peak], scores[peak + 1]);
        let denom = a - 2.0 * b + c;
        let shift = if denom.abs() > f32::EPSILON {
            (0.5 * (a - c) / denom).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        (peak + min_lag) as f32 + shift
    } else {
        (peak + min_lag) as f32
    };
    Some(RATE / lag)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A voiced-like tone at `hz`: a fundamental with falling harmonics, 16 kHz.
    fn voice(hz: f32, len: usize) -> Vec<i16> {
        (0..len)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                let s: f32 = (1..=5)
                    .map(|h| (2.0 * std::f32::consts::PI * hz * h as f32 * t).sin() / h as f32)
                    .sum();
                (s * 6_000.0) as i16
            })
            .collect()
    }

    #[test]
    fn a_voice_is_measured_within_two_percent_across_the_range() {
        for hz in [80.0, 110.0, 150.0, 200.0, 260.0, 330.0] {
            let got = f0(&voice(hz, WINDOW)).unwrap_or_else(|| panic!("{hz} Hz unvoiced"));
            assert!((got / hz - 1.0).abs() < 0.02, "{hz} Hz measured {got}");
        }
    }

    #[test]
    fn silence_noise_and_scraps_have_no_pitch() {
        assert_eq!(f0(&[0; WINDOW]), None);
        // White-ish noise (a linear congruential generator): nothing repeats.
        let mut seed = 12_345u32;
        let noise: Vec<i16> = (0..WINDOW)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ((seed >> 16) as i16) / 4
            })
            .collect();
        assert_eq!(f0(&noise), None);
        assert_eq!(f0(&voice(150.0, 100)), None, "too short to measure");
    }
}
