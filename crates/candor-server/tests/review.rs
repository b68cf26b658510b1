//! Taking an interview away and deleting it: the owner-only routes behind
//! the candidate's data (delete; export), from outside over HTTP against a
//! real server that ran a real practice session.

mod common;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use candor_api::{AuthResponse, Interview, InterviewPage};
use candor_protocol::{AudioAck, Codec, EndRequest, InterviewerActivity, ServerPayload};
use candor_server::RunningServer;
use common::*;
use futures_util::{FutureExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// What the candidate says.
const ANSWER: &str =
    "I led the migration of our billing system and cut the failed payments by half.";

/// The interviewer's audio chunks received, each once, in seq order.
#[derive(Default)]
struct Heard(std::collections::BTreeMap<u64, Bytes>, usize);

impl Heard {
    fn take(&mut self, payload: &Option<ServerPayload>) {
        if let Some(ServerPayload::AudioChunk(c)) = payload {
            self.0.insert(c.seq, c.data.clone());
        }
    }

    fn chunks(&self) -> Vec<&[u8]> {
        self.0.values().map(|b| b.as_ref()).collect()
    }

    /// How many of the candidate's last frames are the answer.
    fn answer_frames(&self) -> usize {
        self.1
    }
}

/// A finished one-question interview whose candidate said a sentence: the
/// user, the interview, the candidate frames sent (seq 1…; the answer —
/// half a second of silence, the sentence, 0.8 s of silence — is the last
/// `Heard::answer_frames`), and the interviewer's audio chunks received.
async fn recorded_interview(
    server: &RunningServer,
    email: &str,
) -> (AuthResponse, Interview, Vec<Bytes>, Heard) {
    let (auth, interview, mut ws) = start_session(server, email, 1).await;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut frames = Vec::new();
    let mut heard = Heard::default();
    // Silence until the interviewer has asked the question and listens.
    let mut asked = false;
    let silence = silence_frames(1);
    while !asked {
        assert!(frames.len() < 1500, "the question is asked within 30 s");
        tick.tick().await;
        frames.push(silence[0].clone());
        send(&mut ws, audio(frames.len() as u64, silence[0].clone())).await;
        while let Some(Some(Ok(Message::Binary(b)))) = ws.next().now_or_never() {
            let msg = Codec::default().decode_server(&b).unwrap();
            heard.take(&msg.payload);
            if let Some(ServerPayload::InterviewerState(s)) = msg.payload {
                asked |=
                    s.question_index >= 1 && s.activity == InterviewerActivity::Listening as i32;
            }
        }
    }
    let mut answer = silence_frames(25);
    answer.extend(speech_frames(ANSWER));
    answer.extend(silence_frames(40));
    heard.1 = answer.len();
    for f in answer {
        tick.tick().await;
        frames.push(f.clone());
        send(&mut ws, audio(frames.len() as u64, f)).await;
        while let Some(Some(Ok(Message::Binary(b)))) = ws.next().now_or_never() {
            heard.take(&Codec::default().decode_server(&b).unwrap().payload);
        }
    }
    let api = Api::new(server.addr());
    // Still live: it cannot be deleted under the recorder's feet.
    let res = api
        .http
        .delete(api.url(&format!("/v1/interviews/{}", interview.id)))
        .bearer_auth(&auth.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409, "a live interview is not deleted");
    send(&mut ws, EndRequest {}).await;
    loop {
        let msg = recv(&mut ws).await.expect("SessionEnded before close");
        heard.take(&msg.payload);
        match msg.payload {
            Some(ServerPayload::SessionEnded(_)) => break,
            Some(ServerPayload::AudioChunk(c)) => send(&mut ws, AudioAck { seq: c.seq }).await,
            _ => {}
        }
    }
    wait_feedback(&api, &auth.token, &interview.id).await;
    (auth, interview, frames, heard)
}

/// Whether `needles` occur in `haystack` in order (not necessarily next to
/// each other).
fn in_order(haystack: &[Vec<u8>], needles: &[&[u8]]) -> bool {
    let mut rest = haystack.iter();
    needles
        .iter()
        .all(|n| rest.by_ref().any(|h| h.as_slice() == *n))
}

/// Whether `needle` occurs in the database file or its WAL.
fn on_disk(dir: &Path, needle: &[u8]) -> bool {
    ["candor.db", "candor.db-wal"].iter().any(|name| {
        std::fs::read(dir.join(name))
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}

#[tokio::test]
async fn only_the_owner_deletes_an_interview_and_nothing_of_it_stays_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let (alice, interview, frames, heard) = recorded_interview(&server, "alice@example.org").await;
    let bob = api.register("bob@example.org").await;
    let path = format!("/v1/interviews/{}", interview.id);
    // The longest speech frame: long enough to be found nowhere by chance;
    // and the interviewer's longest chunk.
    let frame = frames.iter().max_by_key(|f| f.len()).unwrap().clone();
    assert!(frame.len() >= 24, "{} bytes", frame.len());
    assert!(on_disk(dir.path(), &frame), "the audio is stored");
    let voice = heard
        .chunks()
        .into_iter()
        .max_by_key(|c| c.len())
        .unwrap()
        .to_vec();
    assert!(voice.len() >= 24, "{} bytes", voice.len());
    assert!(
        on_disk(dir.path(), &voice),
        "the interviewer's voice is stored"
    );

    let res = api.http.delete(api.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 401, "signed out");
    let res = api
        .http
        .delete(api.url(&path))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "someone else's");
    let res: Value = res.json().await.unwrap();
    assert_eq!(res["error"]["code"], "permission_denied");
    let res = api
        .http
        .delete(api.url("/v1/interviews/ffff"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(
        on_disk(dir.path(), &frame),
        "refused deletes change nothing"
    );

    let res = api
        .http
        .delete(api.url(&path))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    for p in [path.clone(), format!("{path}/results")] {
        let res = api
            .http
            .get(api.url(&p))
            .bearer_auth(&alice.token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{p}");
    }
    let page: InterviewPage = api
        .http
        .get(api.url("/v1/interviews"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert!(
        !on_disk(dir.path(), &frame),
        "the deleted audio is overwritten in the database file and gone from the WAL"
    );
    assert!(!on_disk(dir.path(), &voice), "the interviewer's voice too");
    let res = api
        .http
        .delete(api.url(&path))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "deleted once");
    server.shutdown().await;
}

/// The files of an export zip, by name.
fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_owned(), data)
        })
        .collect()
}

/// An Ogg Opus file read back by an independent Ogg reader (which checks
/// every page's checksum): the identification header, the audio packets,
/// and the playing length in ms (last granule less the pre-skip).
struct OggOpus {
    pre_skip: u16,
    input_rate: u32,
    packets: Vec<Vec<u8>>,
    duration_ms: f64,
}

fn read_ogg_opus(bytes: &[u8]) -> OggOpus {
    let mut reader = ogg::PacketReader::new(std::io::Cursor::new(bytes));
    let head = reader.read_packet().unwrap().expect("OpusHead");
    assert!(head.first_in_stream());
    assert_eq!(&head.data[..8], b"OpusHead");
    assert_eq!(head.data[8], 1, "version");
    assert_eq!(head.data[9], 1, "mono");
    let pre_skip = u16::from_le_bytes([head.data[10], head.data[11]]);
    let input_rate = u32::from_le_bytes(head.data[12..16].try_into().unwrap());
    let tags = reader.read_packet().unwrap().expect("OpusTags");
    assert_eq!(&tags.data[..8], b"OpusTags");
    let mut packets = Vec::new();
    let mut last_granule = 0;
    let mut ended = false;
    while let Some(p) = reader.read_packet().unwrap() {
        assert!(!ended, "nothing after the end of the stream");
        last_granule = p.absgp_page();
        ended = p.last_in_stream();
        packets.push(p.data);
    }
    assert!(ended, "the stream is ended");
    let samples: u64 = packets
        .iter()
        .map(|p| u64::from(candor_server::export::packet_samples(p).expect("an Opus packet")))
        .sum();
    assert_eq!(
        last_granule, samples,
        "the last granule counts every sample"
    );
    OggOpus {
        pre_skip,
        input_rate,
        packets,
        duration_ms: (last_granule - u64::from(pre_skip)) as f64 / 48.0,
    }
}

/// Every packet decodes with the Opus decoder the app plays with.
fn decodes(packets: &[Vec<u8>]) -> usize {
    let mut decoder =
        candor_audio::codec::AudioDecoder::new(candor_audio::Codec::Opus, 48_000).unwrap();
    let mut out = Vec::new();
    for p in packets {
        decoder.decode(p, &mut out).expect("decodes");
    }
    out.len()
}

#[tokio::test]
async fn the_owner_exports_voice_transcript_and_report_others_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let (alice, interview, frames, heard) = recorded_interview(&server, "alice@example.org").await;
    let bob = api.register("bob@example.org").await;
    let path = format!("/v1/interviews/{}/export", interview.id);

    let res = api.http.get(api.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = api
        .http
        .get(api.url(&path))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let unstarted = api.create_interview(&alice.token, 1).await;
    let res = api
        .http
        .get(api.url(&format!("/v1/interviews/{}/export", unstarted.id)))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409, "no results, nothing to export");

    let res = api
        .http
        .get(api.url(&path))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains("candor-interview-"), "{disposition}");
    let files = unzip(&res.bytes().await.unwrap());
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "README.txt",
            "answer-01.ogg",
            "interview.ogg",
            "report.html",
            "transcript.txt",
            "transcript.vtt"
        ]
    );
    let feedback = wait_feedback(&api, &alice.token, &interview.id).await;

    // The list carries each ready interview's length and scores (progress
    // over time needs no request per interview).
    let page: InterviewPage = api
        .http
        .get(api.url("/v1/interviews"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = page.items.iter().find(|i| i.id == interview.id).unwrap();
    let outcome = listed
        .outcome
        .as_ref()
        .expect("a ready interview's outcome");
    assert_eq!(outcome.duration_ms, feedback.overall.duration_ms);
    assert_eq!(
        outcome
            .scores
            .iter()
            .map(|s| (s.name.as_str(), s.value))
            .collect::<Vec<_>>(),
        feedback
            .scores
            .iter()
            .map(|s| (s.name.as_str(), s.value))
            .collect::<Vec<_>>()
    );
    assert!(!outcome.scores.is_empty());
    let other = page.items.iter().find(|i| i.id == unstarted.id).unwrap();
    assert_eq!(other.outcome, None, "no results, no outcome");

    // The whole interview: both voices, each as it was sent where it speaks
    // alone (the candidate never talked over the interviewer here), in
    // order, decodable, as long as the interview.
    assert!(feedback.interviewer_voice);
    let whole = read_ogg_opus(&files["interview.ogg"]);
    assert_eq!(whole.pre_skip, 312);
    assert_eq!(whole.input_rate, 24_000, "the interviewer's rate");
    let voice = heard.chunks();
    assert!(
        voice.len() > 50,
        "{} chunks of the interviewer",
        voice.len()
    );
    assert!(
        in_order(&whole.packets, &voice),
        "every chunk of the interviewer's, byte for byte, in order"
    );
    // The sentence (the interviewer may speak again in the silence after).
    let sentence = &frames[frames.len() - heard.answer_frames() + 25..frames.len() - 40];
    assert!(
        whole
            .packets
            .windows(sentence.len())
            .any(|run| run.iter().zip(sentence).all(|(a, b)| a[..] == b[..])),
        "the candidate's answer, byte for byte"
    );
    assert_eq!(decodes(&whole.packets), whole.packets.len() * 960);
    let interview_ms = feedback.overall.duration_ms as f64;
    println!(
        "interview.ogg plays {:.1} ms; the interview lasted {interview_ms} ms",
        whole.duration_ms
    );
    assert!(
        (whole.duration_ms - interview_ms).abs() <= 100.0,
        "interview.ogg plays {:.1} ms, the interview lasted {interview_ms} ms",
        whole.duration_ms
    );

    // The answer: a run of the same frames, from the question on.
    let answer = read_ogg_opus(&files["answer-01.ogg"]);
    assert!(!answer.packets.is_empty());
    let at = frames
        .windows(answer.packets.len())
        .position(|run| run.iter().zip(&answer.packets).all(|(a, b)| a[..] == b[..]))
        .expect("the answer is a contiguous run of the interview's frames");
    // It holds the spoken sentence (not only the silence before it).
    let spoken = frames.iter().max_by_key(|f| f.len()).unwrap();
    assert!(answer.packets.iter().any(|p| p[..] == spoken[..]));
    assert!(
        at > 0,
        "it starts after the question, not with the greeting"
    );
    assert!(answer.packets.len() < frames.len());
    decodes(&answer.packets);

    let text = String::from_utf8(files["transcript.txt"].clone()).unwrap();
    let vtt = String::from_utf8(files["transcript.vtt"].clone()).unwrap();
    let question = &feedback.questions[0].question;
    assert!(text.contains(&format!("Interviewer: {question}")), "{text}");
    assert!(vtt.starts_with("WEBVTT\n\n1\n00:00:"), "{vtt}");
    assert_eq!(
        vtt.matches(" --> ").count(),
        feedback.transcript.len(),
        "a cue per line"
    );

    let html = String::from_utf8(files["report.html"].clone()).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for s in &feedback.scores {
        assert!(
            html.contains(&s.explanation.replace('"', "&quot;")),
            "{}",
            s.name
        );
    }
    assert!(html.contains(&question.replace('"', "&quot;")));
    for outside in ["<script", "src=", "href=", "@import", "url("] {
        assert!(
            !html.contains(outside),
            "the report loads nothing: {outside}"
        );
    }
    let readme = String::from_utf8(files["README.txt"].clone()).unwrap();
    assert!(
        readme.contains("interview.ogg: the whole interview, the interviewer and you"),
        "{readme}"
    );
    assert!(
        readme.contains("each answer-NN.ogg holds your voice alone"),
        "{readme}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_owner_replays_an_answer_in_byte_ranges_others_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let (alice, interview, frames, heard) = recorded_interview(&server, "alice@example.org").await;
    let bob = api.register("bob@example.org").await;
    let get = |path: String, token: Option<&str>, range: Option<&str>| {
        let mut req = api.http.get(api.url(&path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(r) = range {
            req = req.header("range", r);
        }
        req.send()
    };
    let answer = format!("/v1/interviews/{}/audio/answer-01.ogg", interview.id);

    let res = get(answer.clone(), None, None).await.unwrap();
    assert_eq!(res.status(), 401, "signed out");
    let res = get(answer.clone(), Some(&bob.token), None).await.unwrap();
    assert_eq!(res.status(), 403, "someone else's");
    for missing in [
        "answer-02.ogg",
        "report.html",
        "..%2Fcandor.db",
        "README.txt",
    ] {
        let path = format!("/v1/interviews/{}/audio/{missing}", interview.id);
        let res = get(path, Some(&alice.token), None).await.unwrap();
        assert_eq!(res.status(), 404, "{missing}");
    }
    let res = get(
        "/v1/interviews/ffff/audio/answer-01.ogg".into(),
        Some(&alice.token),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 404);
    let unstarted = api.create_interview(&alice.token, 1).await;
    let res = get(
        format!("/v1/interviews/{}/audio/interview.ogg", unstarted.id),
        Some(&alice.token),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 409, "no results, nothing to replay");

    // The whole file: the export's own, byte for byte.
    let export = get(
        format!("/v1/interviews/{}/export", interview.id),
        Some(&alice.token),
        None,
    )
    .await
    .unwrap();
    let exported = unzip(&export.bytes().await.unwrap());
    for name in ["answer-01.ogg", "interview.ogg"] {
        let res = get(
            format!("/v1/interviews/{}/audio/{name}", interview.id),
            Some(&alice.token),
            None,
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 200, "{name}");
        assert_eq!(res.headers()["content-type"], "audio/ogg");
        assert_eq!(res.headers()["accept-ranges"], "bytes");
        assert_eq!(res.headers()["cache-control"], "private, no-store");
        let body = res.bytes().await.unwrap();
        assert_eq!(body.as_ref(), exported[name].as_slice(), "{name}");
    }
    // What was stored comes back: the candidate's answer frames in the
    // answer's file, the interviewer's chunks in the whole interview's, byte
    // for byte, in order.
    let answer_file = read_ogg_opus(&exported["answer-01.ogg"]);
    let sent: Vec<&[u8]> = frames[frames.len() - heard.answer_frames()..]
        .iter()
        .map(|f| f.as_ref())
        .collect();
    assert!(
        in_order(&answer_file.packets, &sent),
        "the stored frames, byte for byte"
    );
    let whole = read_ogg_opus(&exported["interview.ogg"]);
    assert!(
        in_order(&whole.packets, &heard.chunks()),
        "the interviewer's chunks, byte for byte"
    );

    // Ranges: any part, fetched on its own, is that part of the file.
    let file = &exported["answer-01.ogg"];
    let len = file.len();
    assert!(len > 1000, "{len} bytes");
    for (range, from, to) in [
        ("bytes=0-99".to_owned(), 0, 100),
        (format!("bytes={}-", len / 2), len / 2, len),
        ("bytes=-300".to_owned(), len - 300, len),
        (format!("bytes=100-{}", len + 50), 100, len),
    ] {
        let res = get(answer.clone(), Some(&alice.token), Some(&range))
            .await
            .unwrap();
        assert_eq!(res.status(), 206, "{range}");
        assert_eq!(
            res.headers()["content-range"],
            format!("bytes {from}-{}/{len}", to - 1).as_str(),
            "{range}"
        );
        assert_eq!(
            res.headers()["content-length"],
            (to - from).to_string().as_str()
        );
        let part = res.bytes().await.unwrap();
        assert_eq!(part.as_ref(), &file[from..to], "{range}");
    }
    let res = get(
        answer.clone(),
        Some(&alice.token),
        Some(&format!("bytes={len}-")),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 416);
    assert_eq!(
        res.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
    server.shutdown().await;
}
