//! The transcript as files: plain text (who, when, what) and WebVTT cues
//! on the session's clock, so a player showing `interview.ogg` shows each
//! line as it is spoken.

use candor_api::{Speaker, TranscriptSegment};

fn who(s: Speaker) -> &'static str {
    match s {
        Speaker::Interviewer => "Interviewer",
        Speaker::Candidate => "You",
    }
}

/// `m:ss` (or `h:mm:ss`) of `ms`.
pub(super) fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `hh:mm:ss.ttt`, WebVTT's timestamp.
fn vtt_time(ms: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// One line per segment: `[m:ss] Who: text`.
pub fn plain_text(title: &str, segments: &[TranscriptSegment]) -> String {
    let mut out = format!("{title}\n\n");
    if segments.is_empty() {
        out.push_str("No transcript was recorded for this interview.\n");
    }
    for s in segments {
        out.push_str(&format!(
            "[{}] {}: {}\n",
            clock(s.start_ms),
            who(s.speaker),
            s.text.trim()
        ));
    }
    out
}

/// WebVTT: one cue per segment, the speaker as a voice span. A cue never
/// ends before it starts (a segment of no length lasts a millisecond).
pub fn webvtt(segments: &[TranscriptSegment]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (i, s) in segments.iter().enumerate() {
        let end = s.end_ms.max(s.start_ms + 1);
        // "-->" may not occur in a cue's text; "<" and "&" are escaped.
        let text = s
            .text
            .trim()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace("-->", "→");
        out.push_str(&format!(
            "{}\n{} --> {}\n<v {}>{}\n\n",
            i + 1,
            vtt_time(s.start_ms),
            vtt_time(end),
            who(s.speaker),
            text
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(speaker: Speaker, start_ms: u64, end_ms: u64, text: &str) -> TranscriptSegment {
        TranscriptSegment {
            speaker,
            text: text.into(),
            start_ms,
            end_ms,
            question_index: 1,
        }
    }

    #[test]
    fn text_and_cues_carry_who_when_and_what() {
        let segments = [
            seg(
                Speaker::Interviewer,
                1_500,
                4_250,
                "Tell me about a <hard> bug.",
            ),
            seg(
                Speaker::Candidate,
                3_723_004,
                3_723_004,
                "It --> crashed & burned.",
            ),
        ];
        let text = plain_text("Interview", &segments);
        assert!(text.contains("[0:01] Interviewer: Tell me about a <hard> bug."));
        assert!(text.contains("[1:02:03] You: It --> crashed & burned."));
        let vtt = webvtt(&segments);
        assert!(vtt.starts_with("WEBVTT\n\n1\n00:00:01.500 --> 00:00:04.250\n<v Interviewer>Tell me about a &lt;hard> bug.\n"));
        assert!(
            vtt.contains("2\n01:02:03.004 --> 01:02:03.005\n<v You>It → crashed &amp; burned.\n")
        );
    }
}
