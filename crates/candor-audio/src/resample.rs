//! Mono sample-rate conversion in 10 ms blocks (rubato's FFT resampler).
//!
//! Capture goes from the device rate to 16 kHz, playback from the decode rate
//! to the device rate. Both use a synchronous FFT resampler with a fixed input
//! block of 10 ms, so the output length per block is exact and the delay is a
//! known constant (reported by [`MonoResampler::delay`]), which the capture
//! timestamps take into account. Equal rates pass through with no delay.

use std::time::Duration;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::AudioError;

/// A streaming mono resampler: push any number of samples, get what is ready.
pub struct MonoResampler {
    inner: Option<Fft<f32>>,
    in_rate: u32,
    out_rate: u32,
    chunk_in: usize,
    pending: Vec<f32>,
    pending_len: usize,
    out_block: Vec<f32>,
}

impl std::fmt::Debug for MonoResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonoResampler")
            .field("in_rate", &self.in_rate)
            .field("out_rate", &self.out_rate)
            .field("chunk_in", &self.chunk_in)
            .finish()
    }
}

impl MonoResampler {
    /// A resampler from `in_rate` to `out_rate` Hz working in 10 ms input blocks.
    pub fn new(in_rate: u32, out_rate: u32) -> Result<Self, AudioError> {
        if in_rate == 0 || out_rate == 0 {
            return Err(AudioError::Resample(format!(
                "invalid rates {in_rate} -> {out_rate}"
            )));
        }
        let chunk_in = (in_rate as usize).div_ceil(100);
        let inner = if in_rate == out_rate {
            None
        } else {
            let fft = Fft::<f32>::new(
                in_rate as usize,
                out_rate as usize,
                chunk_in,
                1,
                FixedSync::Input,
            )
            .map_err(|e| AudioError::Resample(e.to_string()))?;
            Some(fft)
        };
        let out_max = inner.as_ref().map_or(chunk_in, |r| r.output_frames_max());
        let chunk_in = inner.as_ref().map_or(chunk_in, |r| r.input_frames_max());
        Ok(Self {
            inner,
            in_rate,
            out_rate,
            chunk_in,
            pending: vec![0.0; chunk_in],
            pending_len: 0,
            out_block: vec![0.0; out_max],
        })
    }

    /// Input rate in Hz.
    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }

    /// Output rate in Hz.
    pub fn out_rate(&self) -> u32 {
        self.out_rate
    }

    /// The algorithmic delay in output samples: output sample `k` corresponds
    /// to input time `(k - delay_frames) / out_rate`.
    pub fn delay_frames(&self) -> usize {
        self.inner.as_ref().map_or(0, |r| r.output_delay())
    }

    /// The algorithmic delay as a duration.
    pub fn delay(&self) -> Duration {
        Duration::from_secs_f64(self.delay_frames() as f64 / f64::from(self.out_rate))
    }

    /// Input samples still waiting for a full block.
    pub fn buffered_input(&self) -> usize {
        self.pending_len
    }

    /// Resamples `input`, appending every completed output sample to `out`.
    pub fn process(&mut self, mut input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        let Some(inner) = self.inner.as_mut() else {
            out.extend_from_slice(input);
            return Ok(());
        };
        while !input.is_empty() {
            let take = (self.chunk_in - self.pending_len).min(input.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&input[..take]);
            self.pending_len += take;
            input = &input[take..];
            if self.pending_len == self.chunk_in {
                let n_out = inner.output_frames_next();
                let src = InterleavedSlice::new(&self.pending[..], 1, self.chunk_in)
                    .map_err(|e| AudioError::Resample(e.to_string()))?;
                let mut dst = InterleavedSlice::new_mut(&mut self.out_block[..], 1, n_out)
                    .map_err(|e| AudioError::Resample(e.to_string()))?;
                let (_, written) = inner
                    .process_into_buffer(&src, &mut dst, None)
                    .map_err(|e| AudioError::Resample(e.to_string()))?;
                out.extend_from_slice(&self.out_block[..written]);
                self.pending_len = 0;
            }
        }
        Ok(())
    }

    /// Forgets buffered audio and filter state (after a flush).
    pub fn reset(&mut self) {
        if let Some(inner) = self.inner.as_mut() {
            inner.reset();
        }
        self.pending_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_length_is_exact_and_delay_known() {
        for (a, b) in [
            (48_000, 16_000),
            (44_100, 16_000),
            (16_000, 48_000),
            (24_000, 44_100),
        ] {
            let mut r = MonoResampler::new(a, b).unwrap();
            let mut out = Vec::new();
            let one_second = vec![0.1f32; a as usize];
            r.process(&one_second, &mut out).unwrap();
            assert_eq!(out.len(), b as usize, "{a}->{b}");
            assert!(r.delay_frames() > 0 && r.delay() < Duration::from_millis(10));
        }
        let mut same = MonoResampler::new(16_000, 16_000).unwrap();
        assert_eq!(same.delay_frames(), 0);
        let mut out = Vec::new();
        same.process(&[0.5; 7], &mut out).unwrap();
        assert_eq!(out, vec![0.5; 7]);
    }
}
