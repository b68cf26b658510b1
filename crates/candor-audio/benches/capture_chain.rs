//! The capture chain's cost and latency, beside its parts measured bare in the
//! same run. Run with `cargo bench -p candor-audio --bench capture_chain`.
//!
//! Prints: real-time factors on one core (chain with and without echo
//! cancellation, and with it on the same signal as turns end: 2 s of it and
//! 8 s of silence in every 10; bare Opus, bare echo canceller, bare
//! resampler), the ratio chain / sum of parts, turn ends / speech, the bitrate over speech, and the latency of frames
//! leaving the worker on a real-time paced source.

use std::time::{Duration, Instant};

use candor_audio::aec::{EchoCanceller, VoiceProcessing};
use candor_audio::capture::{CaptureOutput, CaptureProcessor, CaptureSettings, Stamp};
use candor_audio::codec::{CAPTURE_FRAME_SAMPLES, EncoderSettings, OpusEncoder};
use candor_audio::resample::MonoResampler;
use candor_audio::sample::{ChannelMode, to_mono};
use candor_audio::{Capture, CaptureEvent, ChannelSink, Heard, Pacing, SourceSpec, wav};

const RATE: u32 = 48_000;
const CHUNK: usize = 960; // a 20 ms device buffer

fn speech(dir: &std::path::Path) -> Vec<f32> {
    let path = dir.join("speech.wav");
    let text = "Tell me about a time you disagreed with your manager. \
                I proposed a different rollout plan, we tested both, and mine shipped a week early. \
                What would you do differently next time? I would involve the support team sooner.";
    let ok = std::process::Command::new("espeak-ng")
        .args(["-s", "160", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "espeak-ng is needed for the benchmark's speech (apt-get install espeak-ng)"
    );
    let (rate, s) = wav::read_mono(&path).unwrap();
    let mut r = MonoResampler::new(rate, RATE).unwrap();
    let mut out = Vec::new();
    r.process(&s, &mut out).unwrap();
    out
}

struct Signals {
    stereo: Vec<f32>,
    far: Vec<f32>,
    mic: Vec<f32>,
    /// The near-end talker as the microphone hears it.
    near: Vec<f32>,
    seconds: f64,
}

fn signals(speech: &[f32], seconds: usize) -> Signals {
    let n = RATE as usize * seconds;
    let near: Vec<f32> = speech.iter().cycle().take(n).copied().collect();
    // Far end: the same speech shifted by half its length; echo 40 ms later.
    let far: Vec<f32> = speech
        .iter()
        .cycle()
        .skip(speech.len() / 2)
        .take(n)
        .map(|s| s * 0.8)
        .collect();
    let d = RATE as usize / 25;
    let near: Vec<f32> = near.iter().map(|s| s * 0.5).collect();
    let mic: Vec<f32> = (0..n)
        .map(|i| near[i] + if i >= d { far[i - d] * 0.3 } else { 0.0 })
        .collect();
    let stereo = mic.iter().flat_map(|s| [*s, *s * 0.9]).collect();
    Signals {
        stereo,
        far,
        mic,
        near,
        seconds: seconds as f64,
    }
}

/// `sig` as turns end: in every 10 s, 2 s of it, then 8 s of digital
/// silence on both ends (the filters' tails decay through subnormal floats
/// there unless they are flushed: `candor_audio::denormals`).
fn turn_ends(sig: &Signals) -> Signals {
    let period = RATE as usize * 10;
    let talk = RATE as usize * 2;
    let keep = |i: usize| i % period < talk;
    let mask = |v: &[f32]| -> Vec<f32> {
        v.iter()
            .enumerate()
            .map(|(i, x)| if keep(i) { *x } else { 0.0 })
            .collect()
    };
    let stereo = sig
        .stereo
        .iter()
        .enumerate()
        .map(|(i, x)| if keep(i / 2) { *x } else { 0.0 })
        .collect();
    Signals {
        stereo,
        far: mask(&sig.far),
        mic: mask(&sig.mic),
        near: mask(&sig.near),
        seconds: sig.seconds,
    }
}

fn run_chain(sig: &Signals, processing: VoiceProcessing) -> (Duration, Vec<(usize, bool)>) {
    let settings = CaptureSettings {
        processing,
        ..CaptureSettings::default()
    };
    let mut frames = Vec::new();
    let t0 = Instant::now();
    let mut p = CaptureProcessor::new(RATE, settings, 0).unwrap();
    let mut mono = vec![0.0f32; CHUNK];
    let at = Instant::now();
    let time = |index: usize| at + Duration::from_secs_f64(index as f64 / f64::from(RATE));
    p.new_reference(RATE).unwrap();
    for (i, chunk) in sig.stereo.chunks_exact(CHUNK * 2).enumerate() {
        let n = to_mono(chunk, 2, ChannelMode::Mix, &mut mono);
        // The far end is heard as the microphone block it echoes in starts.
        let heard = Heard {
            index: (i * CHUNK) as u64,
            at: time(i * CHUNK),
        };
        p.feed_reference(&sig.far[i * CHUNK..(i + 1) * CHUNK], heard)
            .unwrap();
        let stamp = Stamp {
            end_index: ((i + 1) * CHUNK) as u64,
            at: time((i + 1) * CHUNK - 1),
        };
        p.process(&mono[..n], stamp, &mut |o| {
            if let CaptureOutput::Frame(f) = o {
                frames.push((f.payload.len(), f.voice));
            }
        })
        .unwrap();
    }
    (t0.elapsed(), frames)
}

/// libopus alone with `settings` (pass the chain's own, so the ratio
/// compares like with like: same complexity, bitrate, FEC and loss setting).
fn bare_opus(sig: &Signals, settings: EncoderSettings) -> Duration {
    let mut r = MonoResampler::new(RATE, 16_000).unwrap();
    let mut x = Vec::new();
    r.process(&sig.mic, &mut x).unwrap();
    let t0 = Instant::now();
    let mut enc = OpusEncoder::new(settings).unwrap();
    let mut buf = [0u8; 1500];
    for f in x.chunks_exact(CAPTURE_FRAME_SAMPLES) {
        enc.encode(f, &mut buf).unwrap();
    }
    t0.elapsed()
}

fn bare_aec(sig: &Signals) -> Duration {
    let mut block = vec![0.0f32; 480];
    let t0 = Instant::now();
    let mut aec = EchoCanceller::new(VoiceProcessing::default(), RATE, RATE).unwrap();
    for (m, f) in sig.mic.chunks_exact(480).zip(sig.far.chunks_exact(480)) {
        aec.process_render(f).unwrap();
        block.copy_from_slice(m);
        aec.process_capture(&mut block).unwrap();
    }
    t0.elapsed()
}

fn bare_resampler(sig: &Signals) -> Duration {
    let mut out = Vec::with_capacity(sig.mic.len() / 3 + 1000);
    let t0 = Instant::now();
    let mut r = MonoResampler::new(RATE, 16_000).unwrap();
    for c in sig.mic.chunks(CHUNK) {
        r.process(c, &mut out).unwrap();
    }
    t0.elapsed()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn latency(dir: &std::path::Path, speech: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let path = dir.join("rt.wav");
    let stereo: Vec<f32> = speech
        .iter()
        .take(RATE as usize * 8)
        .flat_map(|s| [*s, *s])
        .collect();
    wav::write_file(&path, RATE, 2, true, &stereo).unwrap();
    let (sink, frames, events) = ChannelSink::new();
    let cap = Capture::start(
        &SourceSpec::Wav {
            path,
            pacing: Pacing::RealTime,
        },
        CaptureSettings::default(),
        sink,
        None,
    )
    .unwrap();
    let (mut own, mut age) = (Vec::new(), Vec::new());
    loop {
        match frames.recv_timeout(Duration::from_millis(200)) {
            Ok(f) => {
                let now = Instant::now();
                own.push((now - f.completed_at).as_secs_f64() * 1000.0);
                age.push((now - f.captured_at).as_secs_f64() * 1000.0);
            }
            Err(_) => {
                if events.try_iter().any(|e| matches!(e, CaptureEvent::Ended)) {
                    break;
                }
            }
        }
    }
    cap.stop();
    (own, age)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let speech = speech(dir.path());
    let sig = signals(&speech, 60);
    let pauses = turn_ends(&sig);
    let rt = |d: Duration| sig.seconds / d.as_secs_f64();

    // Warm up caches and FFT plans once.
    let _ = run_chain(&signals(&speech, 2), VoiceProcessing::default());
    let runs = 5;
    // The chain's encoder settings, used for the bare encoder as well.
    let encoder = CaptureSettings::default().encoder;
    let encoder_c10 = EncoderSettings {
        complexity: 10,
        ..encoder
    };
    // Rounds interleave every measurement, so a slow spell of this shared
    // machine weighs on all of them alike; each keeps its best round.
    let mut frames_on = Vec::new();
    let mut best = [Duration::MAX; 7];
    for _ in 0..runs {
        let (d, f) = run_chain(&sig, VoiceProcessing::default());
        frames_on = f;
        let (d_off, _) = run_chain(&sig, VoiceProcessing::OFF);
        let (d_pauses, _) = run_chain(&pauses, VoiceProcessing::default());
        let round = [
            d,
            d_off,
            d_pauses,
            bare_opus(&sig, encoder),
            bare_opus(&sig, encoder_c10),
            bare_aec(&sig),
            bare_resampler(&sig),
        ];
        for (b, d) in best.iter_mut().zip(round) {
            *b = (*b).min(d);
        }
    }
    let [chain_on, chain_off, chain_pauses, opus, opus_c10, aec, rs] = best;

    println!(
        "capture chain, {} s of 48 kHz stereo f32 speech, best of {runs}, one core",
        sig.seconds
    );
    println!(
        "opus in the chain and bare: complexity {}, {} bit/s VBR, FEC {} at {} % loss, DTX {}",
        encoder.complexity,
        encoder.bitrate,
        if encoder.fec { "on" } else { "off" },
        encoder.expected_loss_percent,
        if encoder.dtx { "on" } else { "off" }
    );
    println!("{:<34} {:>10} {:>12}", "stage", "time", "x real time");
    for (name, d) in [
        ("chain, echo cancellation on", chain_on),
        ("chain, echo cancellation off", chain_off),
        ("chain, AEC on, 2 s talk / 8 s silent", chain_pauses),
        ("bare libopus, chain's settings", opus),
        ("bare libopus, complexity 10", opus_c10),
        ("bare echo canceller (48 kHz)", aec),
        ("bare resampler (48 -> 16 kHz)", rs),
    ] {
        println!(
            "{name:<34} {:>8.1}ms {:>11.0}x",
            d.as_secs_f64() * 1000.0,
            rt(d)
        );
    }
    let ratio_on = chain_on.as_secs_f64() / (opus + aec + rs).as_secs_f64();
    let ratio_off = chain_off.as_secs_f64() / (opus + rs).as_secs_f64();
    println!("chain / sum of parts: AEC on {ratio_on:.2}, AEC off {ratio_off:.2} (goal <= 1.2)");
    // Between turns the chain runs on silence most of the time; it must not
    // cost more there than on speech.
    let pauses_ratio = chain_pauses.as_secs_f64() / chain_on.as_secs_f64();
    println!("chain on turn ends / on speech: {pauses_ratio:.2} (goal <= 1.0)");

    // Speech frames by the signal itself (the near-end talker above
    // -40 dBFS over the frame), not by the chain's voice flag: the flag
    // also weighs the echo, and this signal is double talk throughout.
    let frame_len = RATE as usize / 50;
    let voiced: Vec<usize> = frames_on
        .iter()
        .enumerate()
        .filter(|(k, _)| {
            sig.near
                .get(k * frame_len..(k + 1) * frame_len)
                .is_some_and(|x| {
                    candor_audio::sample::to_dbfs(candor_audio::sample::rms(x)) > -40.0
                })
        })
        .map(|(_, f)| f.0)
        .collect();
    let kbps = voiced.iter().sum::<usize>() as f64 * 8.0 / (voiced.len() as f64 * 0.02) / 1000.0;
    let all_kbps = frames_on.iter().map(|f| f.0).sum::<usize>() as f64 * 8.0 / sig.seconds / 1000.0;
    println!(
        "bitrate over speech: {kbps:.1} kbit/s ({} speech frames; {all_kbps:.1} kbit/s overall) (goal <= 25.6)",
        voiced.len()
    );

    let (mut own, mut age) = latency(dir.path(), &speech);
    let (own50, own99) = (percentile(&mut own, 0.5), percentile(&mut own, 0.99));
    let (age50, age99) = (percentile(&mut age, 0.5), percentile(&mut age, 0.99));
    println!(
        "latency over {} real-time frames: pipeline's own p50 {own50:.2} ms p99 {own99:.2} ms (goal p99 <= 5); \
         oldest-sample age p50 {age50:.1} ms p99 {age99:.1} ms (goal p99 <= 40)",
        own.len()
    );

    let verdicts = [
        ("chain / parts <= 1.2 (AEC on)", ratio_on <= 1.2),
        ("chain / parts <= 1.2 (AEC off)", ratio_off <= 1.2),
        (">= 100x real time with AEC", rt(chain_on) >= 100.0),
        ("turn ends cost <= speech", pauses_ratio <= 1.0),
        (">= 200x real time without AEC", rt(chain_off) >= 200.0),
        ("speech bitrate <= 25.6 kbit/s", kbps <= 25.6),
        ("own latency p99 <= 5 ms", own99 <= 5.0),
        ("oldest-sample age p99 <= 40 ms", age99 <= 40.0),
    ];
    println!("verdict:");
    for (what, ok) in verdicts {
        println!("  [{}] {what}", if ok { "met" } else { "MISSED" });
    }
}
