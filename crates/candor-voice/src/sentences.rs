//! Where a text's sentences end, so each is synthesized as its own utterance.
//!
//! Flite's working memory grows with the utterance (its parameter tracks
//! hold every 5 ms frame: about a megabyte per second of speech), so a
//! three-sentence line synthesized whole needs twice what its longest
//! sentence does. Flite's own reader splits text the same way before
//! synthesis. A sentence ends at `.`, `?` or `!` (with any closing quotes or
//! brackets after it) followed by white space, except after an abbreviation
//! ("Dr.", "e.g.", "U.S."), where a full stop does not end one.

/// The sentences of `text`, trimmed, none empty, in order. A text with no
/// words in it (empty, or only punctuation) is one piece, as it is.
pub(crate) fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !matches!(c, '.' | '?' | '!') {
            continue;
        }
        // Take the rest of the terminal punctuation: "?!", "...", '."', ".)".
        let mut end = i + c.len_utf8();
        while let Some(&(j, next)) = chars.peek() {
            if matches!(
                next,
                '.' | '?' | '!' | '"' | '\'' | ')' | ']' | '”' | '’' | '»'
            ) {
                end = j + next.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let followed_by_space = chars.peek().is_none_or(|&(_, next)| next.is_whitespace());
        if followed_by_space && !(c == '.' && ends_in_abbreviation(&text[start..i])) {
            push_trimmed(&mut out, &text[start..end]);
            start = end;
        }
    }
    push_trimmed(&mut out, &text[start..]);
    if out.is_empty() {
        out.push(text);
    }
    out
}

fn push_trimmed<'a>(out: &mut Vec<&'a str>, piece: &'a str) {
    let piece = piece.trim();
    if !piece.is_empty() {
        out.push(piece);
    }
}

/// Abbreviations a full stop follows without ending a sentence (compared
/// without case); dotted ones ("e.g", "i.e") are known by their shape
/// (`ends_in_abbreviation`).
const ABBREVIATIONS: [&str; 12] = [
    "mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "approx", "inc", "ltd", "jr",
];

/// Whether the last word of `before` (the text up to a full stop) is an
/// abbreviation: a listed one, or letters with full stops in between or a
/// single capital ("U.S", "J").
fn ends_in_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || matches!(c, '(' | '"' | '“' | '\''))
        .next()
        .unwrap_or("");
    if ABBREVIATIONS.iter().any(|a| word.eq_ignore_ascii_case(a)) {
        return true;
    }
    let mut letters = word.chars();
    let single_capital =
        matches!((letters.next(), letters.next()), (Some(c), None) if c.is_uppercase());
    let dotted = word.contains('.')
        && word
            .split('.')
            .all(|part| part.chars().count() == 1 && part.chars().all(char::is_alphabetic));
    single_capital || dotted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_splits_at_its_sentence_ends() {
        assert_eq!(
            sentences(
                "Hello, and thanks for joining. I'm your practice interviewer. \
                 I'll ask you 4 questions!  Ready?"
            ),
            [
                "Hello, and thanks for joining.",
                "I'm your practice interviewer.",
                "I'll ask you 4 questions!",
                "Ready?"
            ]
        );
        assert_eq!(
            sentences("Walk me through it. What was your part, and what made it hard?"),
            [
                "Walk me through it.",
                "What was your part, and what made it hard?"
            ]
        );
    }

    #[test]
    fn closing_marks_stay_with_their_sentence() {
        assert_eq!(
            sentences("She said \"no.\" Then what?! (Tell me.) And after..."),
            [
                "She said \"no.\"",
                "Then what?!",
                "(Tell me.)",
                "And after..."
            ]
        );
    }

    #[test]
    fn a_full_stop_inside_a_sentence_does_not_end_it() {
        for text in [
            "We shipped version 2.5 in March and it held.",
            "Dr. Lee and Mr. Park reviewed it, e.g. the schema.",
            "We moved to the U.S. office and I. M. Pei's building.",
            "Pick one, i.e. the one you know best, and explain it.",
            "Our site is candor.example and it never went down.",
        ] {
            assert_eq!(sentences(text), [text], "{text}");
        }
    }

    #[test]
    fn a_text_without_words_is_kept_whole() {
        assert_eq!(sentences(""), [""]);
        assert_eq!(sentences("   "), ["   "]);
        assert_eq!(sentences("....!!!???"), ["....!!!???"]);
        assert_eq!(sentences("One.   "), ["One."]);
    }

    #[test]
    fn every_character_but_the_space_between_is_kept() {
        let text = "Héllo — naïve café… 😀 日本語. In 2024 we cut costs by 30% ($1.2M)! Ok?";
        let pieces = sentences(text);
        assert_eq!(pieces.len(), 3, "{pieces:?}");
        let rejoined: String = pieces.concat();
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(rejoined.replace(' ', ""), squeezed);
    }
}
