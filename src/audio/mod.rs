//! Audio primitives: Opus packet checks, codec, VAD, endpointing, resampling, WAV, G.711, Ogg
//! Opus demuxing, pitch (`pitch`, for turn-taking's intonation cue), the interviewer's voice as
//! packets (encoded or passed through, `voice`) and the Realtime clients' input (`pcm_in`), and
//! the client-side encoding used by the load tester, tests and benches.
//! Pure and synchronous; the interview actor drives them one 20 ms frame at a time.

pub mod client;
pub mod codec;
pub mod endpoint;
pub mod g711;
pub mod ogg;
pub mod packet;
pub mod pcm_in;
pub mod pitch;
pub mod resample;
pub mod vad;
pub mod voice;
pub mod wav;
