//! Word error rate, the standard measure of a transcript against what was really said:
//! (substitutions + deletions + insertions) / words in the reference, after both are
//! normalised the same way (lower case, no punctuation, hyphens as spaces).
//!
//! The recognition tests and benchmarks use it; it is public so the practice engine's
//! own tests can score transcripts the same way.

/// Lower-cases `text`, turns hyphens and slashes into spaces, drops other punctuation
/// (apostrophes inside words are kept: "i'm" stays one word) and splits into words.
pub fn normalized_words(text: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() {
            cleaned.extend(c.to_lowercase());
        } else if c == '\'' || c == '’' {
            let inside = i > 0
                && chars[i - 1].is_alphanumeric()
                && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
            if inside {
                cleaned.push('\'');
            }
        } else if c.is_whitespace() || c == '-' || c == '/' || c == '—' || c == '–' {
            cleaned.push(' ');
        }
    }
    cleaned.split_whitespace().map(str::to_owned).collect()
}

/// The edit counts between a reference and a hypothesis transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WordErrors {
    /// Words in the reference.
    pub reference_words: usize,
    /// Minimal substitutions + deletions + insertions turning the reference into the
    /// hypothesis.
    pub errors: usize,
}

impl WordErrors {
    /// Counts the errors of `hypothesis` against `reference` (both normalised first).
    pub fn between(reference: &str, hypothesis: &str) -> Self {
        let reference = normalized_words(reference);
        let hypothesis = normalized_words(hypothesis);
        Self {
            reference_words: reference.len(),
            errors: edit_distance(&reference, &hypothesis),
        }
    }

    /// The word error rate; 0 for an empty reference matched by an empty hypothesis.
    pub fn rate(&self) -> f64 {
        if self.reference_words == 0 {
            if self.errors == 0 { 0.0 } else { 1.0 }
        } else {
            self.errors as f64 / self.reference_words as f64
        }
    }
}

impl std::ops::Add for WordErrors {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            reference_words: self.reference_words + other.reference_words,
            errors: self.errors + other.errors,
        }
    }
}

impl std::iter::Sum for WordErrors {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |a, b| a + b)
    }
}

/// Levenshtein distance over words.
fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, word_a) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, word_b) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(word_a != word_b);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_ignores_case_and_punctuation() {
        assert_eq!(
            normalized_words("Um, I'm a full-stack dev — you know?"),
            ["um", "i'm", "a", "full", "stack", "dev", "you", "know"]
        );
        assert_eq!(normalized_words("'quoted'"), ["quoted"]);
    }

    #[test]
    fn counts_substitutions_deletions_and_insertions() {
        let e = WordErrors::between("the cat sat on the mat", "the cat sat on the mat");
        assert_eq!(
            e,
            WordErrors {
                reference_words: 6,
                errors: 0
            }
        );
        // Two substitutions (sat → sit, the → very).
        let e = WordErrors::between("the cat sat on the mat", "the cat sit on very mat");
        assert_eq!(e.errors, 2);
        // One deletion (the), one substitution (sat → sit), one insertion (very).
        let e = WordErrors::between("the cat sat on the mat", "cat sit on the very mat");
        assert_eq!(e.errors, 3);
        assert!((e.rate() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn rates_add_up_over_a_corpus() {
        let total: WordErrors = [
            WordErrors::between("a b c d", "a b c d"),
            WordErrors::between("e f", "e g"),
        ]
        .into_iter()
        .sum();
        assert_eq!(
            total,
            WordErrors {
                reference_words: 6,
                errors: 1
            }
        );
        assert_eq!(WordErrors::between("", "").rate(), 0.0);
        assert_eq!(WordErrors::between("", "extra").rate(), 1.0);
    }
}
