//! Input level ("glowing mic") and voice activity, per 20 ms frame.
//!
//! The level is throttled to at most 25 updates per second because the UI
//! only needs that much and unthrottled level events leaked WebKit memory in
//! other Tauri apps. Voice activity is an energy detector with an adaptive
//! noise floor and a hang-over, so word gaps do not flap the flag; it needs no
//! model and runs identically in the client and the backend.

use crate::sample::{rms, to_dbfs};

/// Voice activity detector over 20 ms frames.
#[derive(Debug, Clone)]
pub struct VoiceActivity {
    noise_floor_db: f32,
    hangover: u32,
    hang_left: u32,
    /// Minimum level (dBFS) for speech regardless of the noise floor.
    pub min_speech_db: f32,
    /// How far above the noise floor speech must be.
    pub margin_db: f32,
}

impl Default for VoiceActivity {
    fn default() -> Self {
        Self {
            noise_floor_db: -70.0,
            hangover: 10,
            hang_left: 0,
            min_speech_db: -50.0,
            margin_db: 10.0,
        }
    }
}

impl VoiceActivity {
    /// Classifies one frame whose level is `level_db` (dBFS).
    pub fn update(&mut self, level_db: f32) -> bool {
        // The floor follows quiet frames quickly and loud ones slowly, so it
        // settles on the background noise and speech barely moves it.
        if level_db < self.noise_floor_db {
            self.noise_floor_db += (level_db - self.noise_floor_db) * 0.3;
        } else {
            self.noise_floor_db += (level_db - self.noise_floor_db) * 0.005;
        }
        let loud = level_db > self.min_speech_db && level_db > self.noise_floor_db + self.margin_db;
        if loud {
            self.hang_left = self.hangover;
            true
        } else if self.hang_left > 0 {
            self.hang_left -= 1;
            true
        } else {
            false
        }
    }
}

/// A throttled level meter: accumulates frames and reports every `every` frames.
#[derive(Debug, Clone)]
pub struct LevelMeter {
    every: u32,
    count: u32,
    peak_rms: f32,
}

impl LevelMeter {
    /// Reports at most `max_per_second` times a second with 20 ms frames.
    pub fn new(max_per_second: u32) -> Self {
        let every = 50u32.div_ceil(max_per_second.clamp(1, 50));
        Self {
            every,
            count: 0,
            peak_rms: 0.0,
        }
    }

    /// Feeds one frame's RMS; returns a level in 0..=1 when an update is due.
    pub fn update(&mut self, frame_rms: f32) -> Option<f32> {
        self.peak_rms = self.peak_rms.max(frame_rms);
        self.count += 1;
        if self.count < self.every {
            return None;
        }
        let db = to_dbfs(self.peak_rms);
        self.count = 0;
        self.peak_rms = 0.0;
        Some(level_from_db(db))
    }
}

/// Maps dBFS to a 0..=1 display level (-60 dBFS → 0, 0 dBFS → 1).
pub fn level_from_db(db: f32) -> f32 {
    ((db + 60.0) / 60.0).clamp(0.0, 1.0)
}

/// Level (dBFS) of one frame.
pub fn frame_level_db(frame: &[f32]) -> f32 {
    to_dbfs(rms(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_is_throttled() {
        let mut m = LevelMeter::new(30);
        let updates = (0..50).filter_map(|_| m.update(0.1)).count();
        assert!((20..=30).contains(&updates), "{updates}");
        assert!((level_from_db(-20.0) - 40.0 / 60.0).abs() < 1e-6);
    }

    #[test]
    fn vad_follows_speech_with_hangover() {
        let mut v = VoiceActivity::default();
        for _ in 0..50 {
            assert!(!v.update(-65.0));
        }
        assert!(v.update(-25.0));
        // hang-over keeps it on for a while, then it drops.
        let on = (0..30).filter(|_| v.update(-65.0)).count();
        assert_eq!(on, 10);
    }
}
