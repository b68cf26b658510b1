//! A fixed-capacity delay line: hands back blocks pushed a chosen number of
//! samples ago. The capture delays the lined-up reference through one, by
//! as much as the room's echo delay has grown since the canceller settled
//! ([`crate::echo_delay`]), so the canceller keeps seeing the same path.
//! Allocation-free after creation.

/// Samples pushed, readable up to `capacity` samples back.
#[derive(Debug, Clone)]
pub struct DelayLine {
    samples: Vec<f32>,
    /// Total samples pushed.
    written: u64,
}

impl DelayLine {
    /// A line that can delay by up to `max_delay` samples blocks of up to
    /// `max_block` samples.
    pub fn new(max_delay: usize, max_block: usize) -> Self {
        Self {
            samples: vec![0.0; (max_delay + max_block).max(1)],
            written: 0,
        }
    }

    /// The longest delay it can give, for blocks of `block` samples.
    pub fn max_delay(&self, block: usize) -> usize {
        self.samples.len().saturating_sub(block)
    }

    /// Appends a block.
    pub fn push(&mut self, block: &[f32]) {
        let n = self.samples.len();
        for &x in block {
            self.samples[(self.written % n as u64) as usize] = x;
            self.written += 1;
        }
    }

    /// Fills `out` with the last `out.len()` samples as they were `delay`
    /// samples ago (silence before the first push; `delay` is capped at
    /// [`DelayLine::max_delay`]).
    pub fn read(&self, delay: usize, out: &mut [f32]) {
        let n = self.samples.len() as u64;
        let delay = delay.min(self.max_delay(out.len())) as u64;
        let end = self.written.saturating_sub(delay);
        let start = end as i64 - out.len() as i64;
        for (k, o) in out.iter_mut().enumerate() {
            let i = start + k as i64;
            *o = if i < 0 {
                0.0
            } else {
                self.samples[(i as u64 % n) as usize]
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_back_what_was_pushed_the_given_samples_ago() {
        let mut line = DelayLine::new(10, 4);
        let mut out = [0.0; 4];
        for b in 0..6 {
            let block: Vec<f32> = (0..4).map(|k| (b * 4 + k) as f32 + 1.0).collect();
            line.push(&block);
        }
        // 24 samples pushed (1..=24).
        line.read(0, &mut out);
        assert_eq!(out, [21.0, 22.0, 23.0, 24.0]);
        line.read(7, &mut out);
        assert_eq!(out, [14.0, 15.0, 16.0, 17.0]);
        line.read(100, &mut out);
        assert_eq!(out, [11.0, 12.0, 13.0, 14.0], "capped at the capacity");
    }

    #[test]
    fn before_the_start_is_silence() {
        let mut line = DelayLine::new(10, 4);
        line.push(&[1.0, 2.0, 3.0, 4.0]);
        let mut out = [9.0; 4];
        line.read(2, &mut out);
        assert_eq!(out, [0.0, 0.0, 1.0, 2.0]);
    }
}
