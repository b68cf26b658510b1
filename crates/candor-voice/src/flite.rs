//! The few Flite C functions Candor calls, and the lock around them.
//!
//! The static libraries are found and linked by `build.rs`; the handful of
//! functions needed are declared here, matching Flite 2.2's headers
//! (`flite.h`, `cst_voice.h`, `cst_wave.h`, `cst_features.h`).
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_float, c_int, c_short, c_uint, c_void};
use std::sync::{Mutex, OnceLock};

use crate::Speech;

/// `cst_voice` (cst_voice.h): only `features` is read here.
#[repr(C)]
#[allow(dead_code)] // mirrors the C layout
struct CstVoice {
    name: *const c_char,
    features: *mut c_void,
    ffunctions: *mut c_void,
    utt_init: *mut c_void,
}

/// `cst_wave` (cst_wave.h).
#[repr(C)]
#[allow(dead_code)] // mirrors the C layout
struct CstWave {
    kind: *const c_char,
    sample_rate: c_int,
    num_samples: c_int,
    num_channels: c_int,
    samples: *mut c_short,
}

unsafe extern "C" {
    fn flite_init() -> c_int;
    fn register_cmu_us_slt(voxdir: *const c_char) -> *mut CstVoice;
    fn flite_text_to_wave(text: *const c_char, voice: *mut CstVoice) -> *mut CstWave;
    fn delete_wave(wave: *mut CstWave);
    fn feat_set_float(features: *mut c_void, name: *const c_char, value: c_float);
    /// The C library's generator, which Flite's unvoiced excitation draws on.
    fn srand(seed: c_uint);
}

/// Seeds the C generator before each synthesis, so a text always gives the
/// same audio (Flite's noise excitation calls `rand()`).
const NOISE_SEED: c_uint = 0x4341_4e44;

/// The registered voice. Flite keeps it (and the lexicon and regexes set up
/// by `flite_init`) in process-wide state that its synthesis reads and that
/// [`synthesize`] writes (the rate), so every use holds this lock.
struct Voice(*mut CstVoice);

// SAFETY: the pointer is only dereferenced by Flite while `VOICE`'s lock is
// held, so at most one thread uses the voice at a time.
unsafe impl Send for Voice {}

static VOICE: OnceLock<Mutex<Voice>> = OnceLock::new();

fn voice() -> &'static Mutex<Voice> {
    VOICE.get_or_init(|| {
        // SAFETY: plain initialisation calls with no arguments Flite reads
        // (a null voice directory: the voice is compiled in); they run once,
        // before any synthesis, inside `OnceLock`'s initialiser.
        let voice = unsafe {
            flite_init();
            register_cmu_us_slt(std::ptr::null())
        };
        Mutex::new(Voice(voice))
    })
}

/// `text` spoken with durations scaled by `stretch` (> 1 is slower). None
/// when Flite returned no waveform.
pub(crate) fn synthesize(text: &CStr, stretch: f32) -> Option<Speech> {
    let voice = voice().lock().unwrap_or_else(|e| e.into_inner());
    if voice.0.is_null() {
        return None;
    }
    // SAFETY: `voice.0` is the voice Flite registered (non-null), used only
    // under the lock; the feature name and the text are NUL-terminated and
    // outlive the calls; the returned wave is read within its reported
    // length and freed exactly once with Flite's own destructor.
    unsafe {
        feat_set_float((*voice.0).features, c"duration_stretch".as_ptr(), stretch);
        srand(NOISE_SEED);
        let wave = flite_text_to_wave(text.as_ptr(), voice.0);
        if wave.is_null() {
            return None;
        }
        let w = &*wave;
        let samples = if w.samples.is_null() || w.num_samples <= 0 || w.num_channels != 1 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(w.samples, w.num_samples as usize)
                .iter()
                .map(|&s| f32::from(s) / 32_768.0)
                .collect()
        };
        let rate_hz = u32::try_from(w.sample_rate).unwrap_or(0);
        delete_wave(wave);
        Some(Speech { rate_hz, samples })
    }
}
