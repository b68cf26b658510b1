//! The near-end speech decision: is there sound at the microphone that the
//! far-end reference does not explain?
//!
//! Energy alone cannot tell the candidate from the interviewer's own voice
//! coming back through laptop speakers: after the echo canceller, residual
//! echo can still be loud when the path is hard (loud, clipped, reverberant,
//! drifting), and an energy gate takes it for the candidate. So per 10 ms
//! block the [`NearEndDetector`] predicts how much residual the far end can
//! account for and calls the block near-end speech only when the canceller's
//! output exceeds that prediction by a margin:
//!
//! - the far-end *envelope* is the loudest reference block within the delay
//!   window the canceller covers (0.6 s), decaying like a room's tail after
//!   it (−60 dB in 0.5 s), so every echo the reference can cause, at any
//!   delay in that window, is covered;
//! - the *residual coupling* is how loud the output is relative to that
//!   envelope when only echo is there: a running 90th percentile, learned
//!   on blocks with far-end activity that are not near-end speech (frozen
//!   during double talk, so the candidate does not teach it their voice).
//!   The output must also keep a fair share of the microphone's energy:
//!   residual echo while the canceller re-converges after a path change is
//!   still suppressed well below the microphone level, a talker is not.
//!   It starts pessimistic (+10 dB: echo louder than what was played and
//!   not cancelled at all) and falls as the canceller proves itself, at
//!   most 10 dB per second of far-end audio; it learns nothing while the
//!   output is above what it explains (for at most 0.6 s), so a candidate
//!   the canceller ducks below the microphone's level does not teach it
//!   their voice either;
//! - the microphone itself must also be louder than the echo the far end
//!   can cause there (a Geigel-style double-talk test): the *echo return*
//!   is how loud the microphone is relative to the far-end envelope when
//!   only echo is there (a running 90th percentile, learned from blocks the
//!   canceller's output still explains 80 ms later, starting at +10 dB),
//!   and a block is near-end only when the microphone exceeds it by
//!   [`ECHO_MARGIN_DB`]. The canceller's output
//!   alone cannot be trusted: on a real machine its linear filter loses the
//!   echo for a second at a time (a loopback or a driver that adapts its
//!   rate, a loaded machine's jittering streams) and what leaks then is the
//!   interviewer's whole voice, at the level the echo always has. The
//!   microphone's level does not move when the canceller fails, and a
//!   candidate talking over the interviewer raises it;
//! - except once the canceller has *proven* itself (the learned residual
//!   coupling at or below [`PROVEN_COUPLING_DB`]: echo alone comes out at
//!   least 30 dB below the far end): then output it does not explain, for
//!   [`BESIDE_THE_ECHO_BLOCKS`] blocks in a row, is near-end sound as long
//!   as the canceller is still taking at least [`STILL_CANCELLING_DB`] out
//!   of the microphone. A candidate quieter
//!   than a 0 dB echo never passes the Geigel test, but a proven
//!   canceller removes the echo under them and passes their voice, so the
//!   output is well above the residual and well below the microphone; a
//!   canceller that loses the echo passes the microphone whole;
//! - reference already played but due up to 0.3 s after the block counts
//!   too: a device's first latency reports can be off by more than the
//!   room's delay, and its echo then reaches the microphone before the
//!   reference that the timestamps line up with it;
//! - without far-end activity, there is nothing to explain and any sound is
//!   the near end's (the level gate after this decides whether it is
//!   speech);
//! - a near-end verdict holds for 200 ms (word gaps), but never from a
//!   stretch without far end into the far end's first blocks: those were
//!   near-end only because nothing could explain them, and at the onset of
//!   the interviewer's next turn the canceller may leak (the path moved
//!   while nothing was played), which the hangover would pass as speech.
//!
//! It also tells whether echo stays strong after cancellation (the
//! residual's running 90th-percentile level at or above −45 dBFS for 3 s of
//! far-end audio), which the client shows as "headphones will help".

/// Blocks (10 ms) in the flat part of the far-end envelope: the longest
/// echo delay covered.
const WINDOW_BLOCKS: usize = 60;
/// Blocks of the decaying tail after the window.
const TAIL_BLOCKS: usize = 50;
/// Decay per block of the tail (−60 dB over [`TAIL_BLOCKS`]).
const TAIL_DECAY_DB: f32 = 60.0 / TAIL_BLOCKS as f32;
/// Far-end envelope below this (dBFS) is no far-end activity.
const FAR_FLOOR_DB: f32 = -62.0;
/// How far above the predicted residual the output must be (dB).
const MARGIN_DB: f32 = 10.0;
/// How far above the echo the far end can cause at the microphone the
/// microphone must be for near-end speech (dB).
const ECHO_MARGIN_DB: f32 = 6.0;
/// During far-end activity, near-end speech also keeps at least this share
/// of the microphone's energy through the canceller (dB): residual echo
/// after a path change is still suppressed well below the microphone level,
/// a talker over the echo is not.
const PASS_THROUGH_DB: f32 = -8.0;
/// Starting residual coupling (dB): echo louder than played, uncancelled.
const START_COUPLING_DB: f32 = 10.0;
/// Step of the percentile trackers (dB).
const STEP_DB: f32 = 1.0;
/// Blocks the echo return waits before it learns a block: only blocks
/// the canceller's output still explains this much later are echo (a
/// candidate's first syllable passes the canceller's suppression a few
/// blocks late, and must not teach it their voice).
const ECHO_RETURN_DELAY_BLOCKS: usize = 8;
/// The echo return is learned only while the far-end envelope is above
/// this (dBFS): at the end of a room's tail the microphone's own noise
/// floor would teach it an echo that is not there.
const LOUD_FAR_DB: f32 = -45.0;
/// Blocks of hangover of the near-end verdict (word gaps).
const HANGOVER_BLOCKS: u32 = 20;
/// Strong residual echo: its 90th-percentile level (dBFS) …
const STRONG_ECHO_DB: f32 = -45.0;
/// … and the level under which it is weak again.
const WEAK_ECHO_DB: f32 = -55.0;
/// Blocks of far-end activity the residual level must stay past a bound
/// before the warning changes (3 s).
const WARNING_BLOCKS: u32 = 300;
/// Blocks in a row of unexplained output during far-end activity after
/// which the trackers adapt again, until it is explained (output that long
/// unexplained during the interviewer's turn is more likely a changed echo
/// path than a candidate: a barge-in stops the interviewer well before).
const MAX_FREEZE_BLOCKS: u32 = 60;
/// Residual coupling (dB) at or below which the canceller is proven.
const PROVEN_COUPLING_DB: f32 = -30.0;
/// How much of the microphone a proven canceller must still be taking
/// out (dB) for output it does not explain to be near-end sound.
const STILL_CANCELLING_DB: f32 = 3.0;
/// Blocks in a row that output must stay unexplained beside a proven
/// canceller: a talker's voice lasts, a burst of residual echo (one block
/// of a worker that lags) does not.
const BESIDE_THE_ECHO_BLOCKS: u32 = 2;

fn db(power: f32) -> f32 {
    10.0 * power.max(1e-12).log10()
}

/// A running quantile in dB (stochastic approximation).
#[derive(Debug, Clone, Copy)]
struct Quantile {
    value: f32,
    q: f32,
}

impl Quantile {
    fn update(&mut self, x: f32) {
        if x > self.value {
            self.value += STEP_DB * self.q;
        } else {
            self.value -= STEP_DB * (1.0 - self.q);
        }
    }
}

/// The near-end decision for one capture stream (see the module docs).
#[derive(Debug, Clone)]
pub struct NearEndDetector {
    /// Reference power per block, dB, newest last (a ring).
    reference_db: Vec<f32>,
    next: usize,
    coupling: Quantile,
    /// The microphone relative to the far-end envelope when only echo is
    /// there (dB).
    echo_return: Quantile,
    residual: Quantile,
    /// The reference played but not yet due (dB).
    ahead_db: f32,
    /// Echo returns of recent blocks, not learned yet (oldest first).
    pending_return: std::collections::VecDeque<f32>,
    hang: u32,
    frozen: u32,
    strong: bool,
    strong_run: u32,
    near: bool,
    /// Blocks in a row of unexplained output beside a proven canceller.
    beside_run: u32,
    /// Whether the far end was active in the last block judged.
    far_was_active: bool,
}

impl Default for NearEndDetector {
    fn default() -> Self {
        Self::new()
    }
}

/// What the detector says about one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockVerdict {
    /// Near-end sound (hangover applied).
    pub near_end: bool,
    /// The far end was active (its echo may be in this block).
    pub far_active: bool,
    /// The canceller's output power in this block (mean square).
    pub out_power: f32,
}

impl NearEndDetector {
    /// A detector that has heard no far end yet.
    pub fn new() -> Self {
        Self {
            reference_db: vec![-120.0; WINDOW_BLOCKS + TAIL_BLOCKS],
            next: 0,
            coupling: Quantile {
                value: START_COUPLING_DB,
                q: 0.9,
            },
            echo_return: Quantile {
                value: START_COUPLING_DB,
                q: 0.9,
            },
            residual: Quantile {
                value: -120.0,
                q: 0.9,
            },
            ahead_db: -120.0,
            pending_return: std::collections::VecDeque::with_capacity(ECHO_RETURN_DELAY_BLOCKS + 2),
            hang: 0,
            frozen: 0,
            strong: false,
            strong_run: 0,
            near: false,
            beside_run: 0,
            far_was_active: false,
        }
    }

    /// Records one 10 ms block of what was played (the block the echo
    /// canceller was just given).
    pub fn reference(&mut self, block: &[f32]) {
        let p = crate::sample::rms(block).powi(2);
        let n = self.reference_db.len();
        self.reference_db[self.next % n] = db(p);
        self.next += 1;
    }

    /// The far-end envelope (dB): the loudest reference in the window, and
    /// beyond it the decaying tail.
    fn envelope_db(&self) -> f32 {
        let n = self.reference_db.len();
        let mut env = -120.0f32;
        for age in 0..n.min(self.next) {
            let x = self.reference_db[(self.next - 1 - age) % n];
            let decay = age.saturating_sub(WINDOW_BLOCKS) as f32 * TAIL_DECAY_DB;
            env = env.max(x - decay);
        }
        env
    }

    /// Records how loud the reference already played but not yet due is
    /// (the loudest 10 ms ahead, mean square; see
    /// [`crate::echo_align::ReferenceAligner::peak_ahead`]): echo that
    /// reaches the microphone early is still the far end's.
    pub fn reference_ahead(&mut self, mean_square: f32) {
        self.ahead_db = db(mean_square);
    }

    /// Judges one 10 ms block: `mic` as captured, `out` after the canceller.
    pub fn capture(&mut self, mic_db: f32, out: &[f32]) -> BlockVerdict {
        let out_power = crate::sample::rms(out).powi(2);
        let out_db = db(out_power);
        let env_db = self.envelope_db().max(self.ahead_db);
        let far_active = env_db > FAR_FLOOR_DB;
        let explained_db = env_db + self.coupling.value + MARGIN_DB;
        let over = out_db > explained_db;
        let residual_unexplained = over && out_db - mic_db > PASS_THROUGH_DB;
        let louder_than_echo = mic_db > env_db + self.echo_return.value + ECHO_MARGIN_DB;
        let proven = self.coupling.value <= PROVEN_COUPLING_DB;
        let beside_the_echo = proven && over && out_db - mic_db < -STILL_CANCELLING_DB;
        self.beside_run = if beside_the_echo {
            self.beside_run + 1
        } else {
            0
        };
        let unexplained = !far_active
            || (residual_unexplained && louder_than_echo)
            || self.beside_run >= BESIDE_THE_ECHO_BLOCKS;
        self.learn_echo_return(far_active && !residual_unexplained);
        if far_active {
            // Learning stops while the canceller's output holds more than
            // the echo explains, whatever the microphone's level or the
            // share of it that passes says: in double talk neither may
            // learn the candidate's voice.
            if over && self.frozen < MAX_FREEZE_BLOCKS {
                self.frozen += 1;
            } else {
                // Past MAX_FREEZE_BLOCKS of it, output that stays
                // unexplained is learned at every block until it is
                // explained again: the path changed.
                if !over {
                    self.frozen = 0;
                }
                self.coupling.update(out_db - env_db);
                if env_db > LOUD_FAR_DB {
                    self.pending_return.push_back(mic_db - env_db);
                }
                self.residual.update(out_db);
                self.track_strength();
            }
        } else {
            self.frozen = 0;
        }
        let onset = far_active && !self.far_was_active;
        self.far_was_active = far_active;
        if unexplained {
            self.hang = HANGOVER_BLOCKS;
            self.near = true;
        } else if onset {
            // Without a far end every block is near-end sound (nothing to
            // explain it), so a hangover carried out of a silence would
            // pass the far end's first 200 ms as the candidate's — and its
            // echo with them, when the canceller leaks at the onset (the
            // path moved while nothing was played). The far end's first
            // blocks are judged on their own.
            self.hang = 0;
            self.near = false;
        } else if self.hang > 0 {
            self.hang -= 1;
        } else {
            self.near = false;
        }
        BlockVerdict {
            near_end: self.near,
            far_active,
            out_power,
        }
    }

    /// Learns the echo return of the block [`ECHO_RETURN_DELAY_BLOCKS`]
    /// ago once every block since was echo alone (`echo_alone` for this
    /// one); a block that was not forgets what is pending.
    fn learn_echo_return(&mut self, echo_alone: bool) {
        if !echo_alone {
            self.pending_return.clear();
            return;
        }
        while self.pending_return.len() > ECHO_RETURN_DELAY_BLOCKS {
            if let Some(x) = self.pending_return.pop_front() {
                self.echo_return.update(x);
            }
        }
    }

    fn track_strength(&mut self) {
        let past = if self.strong {
            self.residual.value < WEAK_ECHO_DB
        } else {
            self.residual.value >= STRONG_ECHO_DB
        };
        self.strong_run = if past { self.strong_run + 1 } else { 0 };
        if self.strong_run >= WARNING_BLOCKS {
            self.strong = !self.strong;
            self.strong_run = 0;
        }
    }

    /// Starts the residual coupling pessimistic again (the canceller was
    /// restarted and must converge anew); the far-end history, the echo
    /// return (the room did not change) and the strong-echo state stay.
    pub fn relearn(&mut self) {
        self.coupling.value = START_COUPLING_DB;
        self.frozen = 0;
    }

    /// Whether echo stays strong after cancellation (see the module docs).
    pub fn strong_echo(&self) -> bool {
        self.strong
    }

    /// The learned residual coupling (output relative to the far-end
    /// envelope when only echo is there), dB.
    pub fn coupling_db(&self) -> f32 {
        self.coupling.value
    }

    /// The learned echo return (the microphone relative to the far-end
    /// envelope when only echo is there), dB.
    pub fn echo_return_db(&self) -> f32 {
        self.echo_return.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(level: f32) -> Vec<f32> {
        (0..480)
            .map(|i| level * if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect()
    }

    #[test]
    fn sound_without_a_far_end_is_near_end() {
        let mut d = NearEndDetector::new();
        d.reference(&block(0.0));
        let v = d.capture(-20.0, &block(0.1));
        assert!(v.near_end && !v.far_active);
    }

    /// A detector that heard `blocks` of far end at −20 dBFS whose echo
    /// reaches the microphone at `echo_db` dBFS and leaves `residual` (RMS)
    /// after the canceller.
    fn learned(blocks: usize, echo_db: f32, residual: f32) -> NearEndDetector {
        let mut d = NearEndDetector::new();
        for _ in 0..blocks {
            d.reference(&block(0.1));
            d.capture(echo_db, &block(residual));
        }
        d
    }

    #[test]
    fn residual_echo_is_explained_and_a_louder_talker_is_not() {
        let mut d = NearEndDetector::new();
        // 10 s of far end at −20 dBFS, its echo at −40 dBFS at the
        // microphone, leaving a −70 dBFS residual.
        for _ in 0..1000 {
            d.reference(&block(0.1));
            assert!(!d.capture(-40.0, &block(0.0003)).near_end || d.coupling_db() > -45.0);
        }
        assert!(d.coupling_db() < -45.0, "{}", d.coupling_db());
        assert!(d.echo_return_db() < -15.0, "{}", d.echo_return_db());
        assert!(!d.capture(-40.0, &block(0.0003)).near_end);
        // A talker at −26 dBFS over the echo.
        d.reference(&block(0.1));
        assert!(d.capture(-26.0, &block(0.05)).near_end);
        assert!(!d.strong_echo());
    }

    #[test]
    fn a_canceller_that_loses_the_echo_does_not_make_it_near_end() {
        // A 0 dB echo cancelled down to −50 dBFS for 10 s …
        let mut d = learned(1000, -20.0, 0.003);
        // … then the canceller loses it for a second: its output is the
        // microphone's echo, uncancelled, at the level the echo always had.
        for k in 0..100 {
            d.reference(&block(0.1));
            assert!(!d.capture(-20.0, &block(0.1)).near_end, "block {k}");
        }
    }

    #[test]
    fn a_silences_hangover_does_not_carry_into_the_far_ends_first_blocks() {
        // A 0 dB echo cancelled down to −50 dBFS, then 5 s of silence (the
        // microphone's noise: near-end sound, nothing explains it) …
        let mut d = learned(1000, -20.0, 0.003);
        for k in 0..500 {
            d.reference(&block(0.0));
            let v = d.capture(-66.0, &block(0.0005));
            // Once the room's tail after the far end has passed.
            assert!(k < 120 || (v.near_end && !v.far_active), "block {k}");
        }
        // … then the far end again, its echo leaking 14 dB below the
        // microphone through a canceller that lost the path meanwhile.
        for k in 0..100 {
            d.reference(&block(0.1));
            let v = d.capture(-20.0, &block(0.02));
            assert!(v.far_active && !v.near_end, "block {k}");
        }
        // A talker over it is still heard.
        d.reference(&block(0.1));
        assert!(d.capture(-10.0, &block(0.3)).near_end);
    }

    #[test]
    fn echo_ahead_of_its_reference_is_not_near_end() {
        // Nothing played so far, but the reference already holds what is
        // due in a moment: its early echo is not the candidate.
        let mut d = NearEndDetector::new();
        d.reference(&block(0.0));
        d.reference_ahead(0.01);
        let v = d.capture(-20.0, &block(0.1));
        assert!(v.far_active && !v.near_end);
        // Once nothing is coming either, sound is the near end's.
        d.reference(&block(0.0));
        d.reference_ahead(0.0);
        assert!(d.capture(-20.0, &block(0.1)).near_end);
    }

    #[test]
    fn a_talker_louder_than_a_0_db_echo_is_near_end() {
        let mut d = learned(1000, -20.0, 0.003);
        // The candidate 10 dB above the echo: the microphone at −10 dBFS.
        d.reference(&block(0.1));
        assert!(d.capture(-10.0, &block(0.3)).near_end);
    }

    #[test]
    fn a_talker_quieter_than_the_echo_is_near_end_once_the_canceller_is_proven() {
        // A 0 dB echo at −20 dBFS cancelled down to −60 dBFS for 10 s: the
        // canceller is proven.
        let mut d = learned(1000, -20.0, 0.001);
        let coupling = d.coupling_db();
        assert!(coupling <= PROVEN_COUPLING_DB, "{coupling}");
        // The candidate 6 dB below the echo for half a second: the
        // microphone at −19 dBFS, the canceller's output their voice,
        // partly ducked, at −30 dBFS.
        for k in 0..50 {
            d.reference(&block(0.1));
            let v = d.capture(-19.0, &block(0.0316));
            assert!(
                k < BESIDE_THE_ECHO_BLOCKS as usize - 1 || v.near_end,
                "block {k}"
            );
        }
        // Their voice was not learned as the echo's residual.
        assert!(d.coupling_db() <= coupling + 1.0, "{}", d.coupling_db());
        // Echo alone again is not near-end once the hangover has passed.
        for k in 0..30 {
            d.reference(&block(0.1));
            let v = d.capture(-20.0, &block(0.001));
            assert!(k < 20 || !v.near_end, "block {k}");
        }
    }

    #[test]
    fn a_lasting_rise_of_the_residual_is_learned_within_a_second() {
        // A proven canceller whose residual rises 30 dB and stays there (the
        // path changed): after 0.6 s of not learning it, it is learned.
        let mut d = learned(1000, -20.0, 0.001);
        let mut last = true;
        for _ in 0..120 {
            d.reference(&block(0.1));
            last = d.capture(-20.0, &block(0.0316)).near_end;
        }
        assert!(d.coupling_db() > -15.0, "{}", d.coupling_db());
        assert!(!last);
    }

    #[test]
    fn a_burst_of_residual_echo_beside_a_proven_canceller_is_not_near_end() {
        let mut d = learned(1000, -20.0, 0.001);
        for k in 0..100 {
            d.reference(&block(0.1));
            // Every fifth block the residual leaks 26 dB above its usual
            // level (a worker that lagged, a transient the canceller missed).
            let out = if k % 5 == 0 { 0.02 } else { 0.001 };
            assert!(!d.capture(-20.0, &block(out)).near_end, "block {k}");
        }
    }

    #[test]
    fn a_canceller_not_yet_proven_needs_a_talker_louder_than_the_echo() {
        // The same echo cancelled only down to −40 dBFS: output 20 dB
        // below the echo is no proof that the rest is not echo too.
        let mut d = learned(1000, -20.0, 0.01);
        assert!(d.coupling_db() > PROVEN_COUPLING_DB, "{}", d.coupling_db());
        d.reference(&block(0.1));
        assert!(!d.capture(-19.0, &block(0.0631)).near_end);
        d.reference(&block(0.1));
        assert!(d.capture(-10.0, &block(0.3)).near_end);
    }

    #[test]
    fn echo_that_stays_loud_is_reported_and_never_near_end_once_learned() {
        let mut d = NearEndDetector::new();
        for i in 0..1000 {
            d.reference(&block(0.1));
            let v = d.capture(-20.0, &block(0.1));
            if i > 200 {
                assert!(!v.near_end, "block {i}");
            }
        }
        assert!(d.strong_echo());
    }
}
