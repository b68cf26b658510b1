//! A second of the echo path as the capture saw it: how much the canceller
//! removed, where the echo sits, how many blocks were taken for the near
//! end. The processor tallies it per 10 ms block and hands one report per
//! second of audio to the worker, which adds how far behind real time it
//! runs; the client logs it (`candor_client::echo` at debug level), so a
//! session on a real machine that heard the interviewer's own voice can be
//! taken apart afterwards.

use std::time::Duration;

/// One second (100 blocks of 10 ms) of the echo path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EchoReport {
    /// Blocks in the report.
    pub blocks: u32,
    /// Blocks while the far end was active (its echo may be in them).
    pub far_blocks: u32,
    /// Of those, blocks judged near-end sound (before the move veto).
    pub near_blocks: u32,
    /// Blocks while the echo was moving (near end vetoed).
    pub moving_blocks: u32,
    /// 20 ms frames sent as voice.
    pub voiced_frames: u32,
    /// Microphone over output energy in the far-end blocks (dB): what the
    /// canceller removed; `None` without far-end blocks.
    pub erle_db: Option<f32>,
    /// Microphone level over the far-end blocks (dBFS).
    pub mic_db: Option<f32>,
    /// The confirmed echo delay behind the lined-up reference (ms).
    pub delay_ms: Option<f32>,
    /// What the latest measurement found (ms).
    pub latest_ms: Option<f32>,
    /// How much the reference is delayed before the canceller (ms).
    pub reference_delay_ms: f32,
    /// The near-end decision's learned residual coupling (dB).
    pub coupling_db: f32,
    /// The near-end decision's learned echo return at the microphone (dB).
    pub echo_return_db: f32,
    /// Echo stays strong after cancellation.
    pub strong_echo: bool,
    /// How far behind real time the worker ran at most: from when a
    /// callback delivered audio to when it was processed (set by the worker).
    pub worker_behind: Duration,
    /// Microphone samples dropped so far because the worker fell behind
    /// (set by the worker).
    pub overrun_samples: u64,
}

/// Blocks per report (one second).
pub(super) const REPORT_BLOCKS: u32 = 100;

/// The running tally behind the next [`EchoReport`].
#[derive(Debug, Default, Clone)]
pub(super) struct EchoTally {
    blocks: u32,
    far_blocks: u32,
    near_blocks: u32,
    moving_blocks: u32,
    voiced_frames: u32,
    mic_energy: f64,
    out_energy: f64,
}

impl EchoTally {
    /// Counts one 10 ms block: microphone and output energy (mean square),
    /// and what was decided about it.
    pub(super) fn block(&mut self, mic_ms: f32, out_ms: f32, far: bool, near: bool, moving: bool) {
        self.blocks += 1;
        if far {
            self.far_blocks += 1;
            self.mic_energy += f64::from(mic_ms);
            self.out_energy += f64::from(out_ms);
            if near {
                self.near_blocks += 1;
            }
        }
        if moving {
            self.moving_blocks += 1;
        }
    }

    /// Counts one frame sent as voice.
    pub(super) fn voiced_frame(&mut self) {
        self.voiced_frames += 1;
    }

    /// A full second is tallied.
    pub(super) fn is_full(&self) -> bool {
        self.blocks >= REPORT_BLOCKS
    }

    /// The report of the tallied blocks (the state fields from `now`), and
    /// a fresh tally.
    pub(super) fn take(&mut self, now: EchoReport) -> EchoReport {
        let t = std::mem::take(self);
        let db = |x: f64| (10.0 * x.max(1e-12).log10()) as f32;
        let far = t.far_blocks > 0;
        EchoReport {
            blocks: t.blocks,
            far_blocks: t.far_blocks,
            near_blocks: t.near_blocks,
            moving_blocks: t.moving_blocks,
            voiced_frames: t.voiced_frames,
            erle_db: far.then(|| db(t.mic_energy) - db(t.out_energy)),
            mic_db: far.then(|| db(t.mic_energy / f64::from(t.far_blocks))),
            ..now
        }
    }
}

impl EchoReport {
    /// A report with only the state fields set.
    pub(super) fn state(
        delay_s: Option<f64>,
        latest_s: Option<f64>,
        reference_delay_s: f64,
        coupling_db: f32,
        echo_return_db: f32,
        strong_echo: bool,
    ) -> Self {
        let ms = |s: f64| (s * 1000.0) as f32;
        Self {
            blocks: 0,
            far_blocks: 0,
            near_blocks: 0,
            moving_blocks: 0,
            voiced_frames: 0,
            erle_db: None,
            mic_db: None,
            delay_ms: delay_s.map(ms),
            latest_ms: latest_s.map(ms),
            reference_delay_ms: ms(reference_delay_s),
            coupling_db,
            echo_return_db,
            strong_echo,
            worker_behind: Duration::ZERO,
            overrun_samples: 0,
        }
    }
}

impl std::fmt::Display for EchoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let opt = |x: Option<f32>| x.map_or("-".to_owned(), |v| format!("{v:.1}"));
        write!(
            f,
            "far {}/{} blocks, near {}, moving {}, voiced frames {}, ERLE {} dB, mic {} dBFS, \
             delay {} ms (latest {}), reference delayed {:.1} ms, coupling {:.1} dB, echo return {:.1} dB, strong {}, \
             worker behind ≤ {} ms, overrun {} samples",
            self.far_blocks,
            self.blocks,
            self.near_blocks,
            self.moving_blocks,
            self.voiced_frames,
            opt(self.erle_db),
            opt(self.mic_db),
            opt(self.delay_ms),
            opt(self.latest_ms),
            self.reference_delay_ms,
            self.coupling_db,
            self.echo_return_db,
            self.strong_echo,
            self.worker_behind.as_millis(),
            self.overrun_samples,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_of_blocks_reports_what_the_canceller_removed() {
        let mut t = EchoTally::default();
        for k in 0..REPORT_BLOCKS {
            assert!(!t.is_full());
            // Far end in the first half: mic 1e-2, output 1e-5 (30 dB).
            let far = k < 50;
            t.block(1e-2, 1e-5, far, far && k < 5, k == 7);
        }
        t.voiced_frame();
        assert!(t.is_full());
        let r = t.take(EchoReport::state(
            Some(0.2),
            None,
            0.05,
            -30.0,
            -20.0,
            false,
        ));
        assert_eq!((r.blocks, r.far_blocks, r.near_blocks), (100, 50, 5));
        assert_eq!((r.moving_blocks, r.voiced_frames), (1, 1));
        assert!((r.erle_db.unwrap() - 30.0).abs() < 0.01, "{r}");
        assert!((r.mic_db.unwrap() + 20.0).abs() < 0.01, "{r}");
        assert_eq!(r.delay_ms, Some(200.0));
        assert_eq!(r.reference_delay_ms, 50.0);
        assert!(!t.is_full(), "a fresh tally after the report");
        let quiet = t.take(EchoReport::state(None, None, 0.0, 10.0, 10.0, false));
        assert_eq!(quiet.erle_db, None);
    }
}
