//! WAV files in and out (hound), for file sources and sinks, tests and the CLI.
//!
//! Any rate, channel count and PCM format is read (8/16/24/32-bit integer,
//! 32-bit float); files are written as mono or multi-channel 16-bit or float.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use hound::{SampleFormat, WavSpec};

use crate::AudioError;
use crate::sample::AudioSample;
use crate::stream::PcmFormat;

/// An opened WAV file.
pub struct WavReader {
    inner: hound::WavReader<std::io::BufReader<File>>,
}

impl std::fmt::Debug for WavReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavReader")
            .field("spec", &self.inner.spec())
            .finish()
    }
}

/// A whole file's samples in their native type, interleaved.
#[derive(Debug)]
pub enum WavSamples {
    /// 8- or 16-bit integer files.
    I16(Vec<i16>),
    /// 24- or 32-bit integer files (24-bit scaled to 32).
    I32(Vec<i32>),
    /// Float files.
    F32(Vec<f32>),
}

impl WavReader {
    /// Opens `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AudioError> {
        let inner = hound::WavReader::open(path)?;
        let spec = inner.spec();
        if spec.channels == 0 || spec.sample_rate == 0 {
            return Err(AudioError::UnsupportedFormat(format!("{spec:?}")));
        }
        Ok(Self { inner })
    }

    /// Sample rate.
    pub fn rate(&self) -> u32 {
        self.inner.spec().sample_rate
    }

    /// Channels.
    pub fn channels(&self) -> u16 {
        self.inner.spec().channels
    }

    /// The format its samples are delivered in (see [`Self::into_samples`]):
    /// 8- and 16-bit files as i16, 24- and 32-bit as i32, float as f32.
    pub fn format(&self) -> PcmFormat {
        let spec = self.inner.spec();
        match (spec.sample_format, spec.bits_per_sample) {
            (SampleFormat::Float, _) => PcmFormat::F32,
            (SampleFormat::Int, b) if b <= 16 => PcmFormat::I16,
            _ => PcmFormat::I32,
        }
    }

    /// Reads every sample (a bad sample ends the read early).
    pub fn into_samples(self) -> WavSamples {
        let spec = self.inner.spec();
        let mut r = self.inner;
        match (spec.sample_format, spec.bits_per_sample) {
            (SampleFormat::Float, _) => {
                WavSamples::F32(r.samples::<f32>().map_while(Result::ok).collect())
            }
            (SampleFormat::Int, b) if b <= 16 => {
                let shift = 16 - u32::from(b);
                WavSamples::I16(
                    r.samples::<i16>()
                        .map_while(Result::ok)
                        .map(|s| s << shift)
                        .collect(),
                )
            }
            (SampleFormat::Int, b) => {
                let shift = 32 - u32::from(b.min(32));
                WavSamples::I32(
                    r.samples::<i32>()
                        .map_while(Result::ok)
                        .map(|s| s << shift)
                        .collect(),
                )
            }
        }
    }
}

/// Reads a file as mono f32 (channels averaged). Returns (rate, samples).
pub fn read_mono(path: impl AsRef<Path>) -> Result<(u32, Vec<f32>), AudioError> {
    let r = WavReader::open(path)?;
    let (rate, ch) = (r.rate(), usize::from(r.channels()));
    fn mono<T: AudioSample>(s: &[T], ch: usize) -> Vec<f32> {
        s.chunks_exact(ch)
            .map(|f| f.iter().map(|x| x.to_f32()).sum::<f32>() / ch as f32)
            .collect()
    }
    let samples = match r.into_samples() {
        WavSamples::I16(s) => mono(&s, ch),
        WavSamples::I32(s) => mono(&s, ch),
        WavSamples::F32(s) => mono(&s, ch),
    };
    Ok((rate, samples))
}

/// A streaming WAV writer for f32 input.
pub struct WavWriter {
    inner: Option<hound::WavWriter<BufWriter<File>>>,
    float: bool,
}

impl std::fmt::Debug for WavWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavWriter")
            .field("float", &self.float)
            .finish()
    }
}

impl WavWriter {
    /// Creates `path` for `channels` channels at `rate`, as 16-bit integer
    /// (`float == false`) or 32-bit float samples.
    pub fn create(
        path: impl AsRef<Path>,
        rate: u32,
        channels: u16,
        float: bool,
    ) -> Result<Self, AudioError> {
        let spec = WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: if float { 32 } else { 16 },
            sample_format: if float {
                SampleFormat::Float
            } else {
                SampleFormat::Int
            },
        };
        Ok(Self {
            inner: Some(hound::WavWriter::create(path, spec)?),
            float,
        })
    }

    /// Appends interleaved samples.
    pub fn write(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        if let Some(w) = self.inner.as_mut() {
            for s in samples {
                if self.float {
                    w.write_sample(*s)?;
                } else {
                    w.write_sample(i16::from_f32(*s))?;
                }
            }
        }
        Ok(())
    }

    /// Completes the header and closes the file.
    pub fn finish(mut self) -> Result<(), AudioError> {
        if let Some(w) = self.inner.take() {
            w.finalize()?;
        }
        Ok(())
    }
}

/// Writes a whole interleaved buffer to `path` in one go.
pub fn write_file(
    path: impl AsRef<Path>,
    rate: u32,
    channels: u16,
    float: bool,
    samples: &[f32],
) -> Result<(), AudioError> {
    let mut w = WavWriter::create(path, rate, channels, float)?;
    w.write(samples)?;
    w.finish()
}
