//! Audio primitives: Opus packet checks, codec, VAD, endpointing, resampling, WAV.
//! Pure and synchronous; the interview actor drives them one 20 ms frame at a time.

pub mod codec;
pub mod endpoint;
pub mod packet;
pub mod resample;
pub mod vad;
pub mod wav;
