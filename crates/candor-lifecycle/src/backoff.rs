//! Reconnect delays: full-jitter, capped, exponential backoff.
//!
//! Full jitter (a uniformly random delay in `[0, min(cap, base·2^attempt)]`)
//! spreads the reconnects of many clients cut by the same outage, so a
//! recovering server is not hit by all of them at once. The function is pure:
//! the random draw is an argument, so tests pin it and the state machine stays
//! deterministic given its seed.

use std::time::Duration;

/// Backoff parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Ceiling of the first retry's delay.
    pub base: Duration,
    /// No delay ever exceeds this.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(250),
            cap: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The ceiling for retry number `attempt` (0-based): `min(cap, base·2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before retry number `attempt`, given a uniform draw `unit` in `[0, 1)`.
    /// Values outside `[0, 1)` are clamped, so the result is always within the ceiling.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        self.ceiling(attempt).mul_f64(unit)
    }
}

/// A small deterministic random source (SplitMix64) for the jitter draws.
/// Seeded by the driver, so a machine replays identically in tests.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A uniform draw in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const B: Backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(2),
    };

    #[test]
    fn ceiling_doubles_until_the_cap() {
        let ceilings: Vec<u128> = (0..8).map(|a| B.ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    }

    #[test]
    fn delay_is_the_draw_times_the_ceiling() {
        assert_eq!(B.delay(0, 0.0), Duration::ZERO);
        assert_eq!(B.delay(2, 0.5), Duration::from_millis(200));
        assert_eq!(B.delay(10, 0.25), Duration::from_millis(500));
    }

    #[test]
    fn out_of_range_draws_are_clamped() {
        assert_eq!(B.delay(1, -3.0), Duration::ZERO);
        assert_eq!(B.delay(1, 7.0), Duration::from_millis(200));
        assert_eq!(B.delay(1, f64::NAN), Duration::ZERO);
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        assert_eq!(B.ceiling(u32::MAX), B.cap);
    }

    #[test]
    fn jitter_is_deterministic_and_in_range() {
        let a: Vec<f64> = {
            let mut j = Jitter::new(7);
            (0..1000).map(|_| j.next_unit()).collect()
        };
        let mut j = Jitter::new(7);
        for x in &a {
            assert_eq!(*x, j.next_unit());
            assert!((0.0..1.0).contains(x));
        }
        let mean = a.iter().sum::<f64>() / a.len() as f64;
        assert!((0.45..0.55).contains(&mean), "mean {mean}");
    }

    proptest! {
        #[test]
        fn delay_never_exceeds_ceiling_or_cap(attempt in 0u32..100, unit in any::<f64>()) {
            let d = B.delay(attempt, unit);
            prop_assert!(d <= B.ceiling(attempt));
            prop_assert!(d <= B.cap);
        }

        #[test]
        fn ceiling_is_monotonic(attempt in 0u32..64) {
            prop_assert!(B.ceiling(attempt) <= B.ceiling(attempt + 1));
        }
    }
}
