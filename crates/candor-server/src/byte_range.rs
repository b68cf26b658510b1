//! HTTP byte ranges (RFC 9110 §14) for the audio the candidate replays: a
//! player seeking in a 30-minute interview asks for the part it needs, not
//! the whole file.
//!
//! One range per request, which is what media players send; a request for
//! several ranges gets the whole file (the RFC lets a server ignore a Range
//! header), as does a header that is not a byte range at all.

use std::ops::Range;

/// What a request's `Range` header asks of a body of a known length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// No range, or one the server ignores: the whole body (200).
    Whole,
    /// These bytes (206, `Content-Range: bytes a-b/len`).
    Part(Range<u64>),
    /// A range that starts past the end (416, `Content-Range: bytes */len`).
    Unsatisfiable,
}

impl RangeRequest {
    /// Reads a `Range` header value for a body of `len` bytes.
    pub fn parse(header: Option<&str>, len: u64) -> Self {
        let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
            return Self::Whole;
        };
        if spec.contains(',') {
            return Self::Whole;
        }
        let Some((first, last)) = spec.trim().split_once('-') else {
            return Self::Whole;
        };
        let number = |s: &str| -> Option<Option<u64>> {
            let s = s.trim();
            if s.is_empty() {
                Some(None)
            } else if s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok().map(Some)
            } else {
                None
            }
        };
        let (Some(first), Some(last)) = (number(first), number(last)) else {
            return Self::Whole;
        };
        match (first, last) {
            // `bytes=a-b` and `bytes=a-`.
            (Some(a), last) => {
                if last.is_some_and(|b| b < a) {
                    return Self::Whole;
                }
                if a >= len {
                    return Self::Unsatisfiable;
                }
                let end = last.map_or(len, |b| b.saturating_add(1).min(len));
                Self::Part(a..end)
            }
            // `bytes=-n`: the last n bytes.
            (None, Some(n)) => {
                if n == 0 || len == 0 {
                    return Self::Unsatisfiable;
                }
                Self::Part(len.saturating_sub(n)..len)
            }
            (None, None) => Self::Whole,
        }
    }

    /// The `Content-Range` header value of a part, or of a refusal.
    pub fn content_range(&self, len: u64) -> Option<String> {
        match self {
            Self::Whole => None,
            Self::Part(r) => Some(format!("bytes {}-{}/{len}", r.start, r.end - 1)),
            Self::Unsatisfiable => Some(format!("bytes */{len}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RangeRequest::{self, *};

    #[test]
    fn range_headers_read_as_the_rfc_says() {
        let len = 1000;
        let table: &[(Option<&str>, RangeRequest)] = &[
            (None, Whole),
            (Some("bytes=0-99"), Part(0..100)),
            (Some("bytes=100-"), Part(100..1000)),
            (Some("bytes=990-2000"), Part(990..1000)),
            (Some("bytes=999-999"), Part(999..1000)),
            (Some("bytes=-100"), Part(900..1000)),
            (Some("bytes=-5000"), Part(0..1000)),
            (Some(" bytes= 5 - 9 "), Part(5..10)),
            (Some("bytes=1000-"), Unsatisfiable),
            (Some("bytes=1000-1001"), Unsatisfiable),
            (Some("bytes=-0"), Unsatisfiable),
            (Some("bytes=9-5"), Whole),
            (Some("bytes=0-1,5-9"), Whole),
            (Some("items=0-9"), Whole),
            (Some("bytes=a-9"), Whole),
            (Some("bytes=-"), Whole),
            (Some("bytes=18446744073709551615-"), Unsatisfiable),
            (Some("bytes=0-18446744073709551615"), Part(0..1000)),
            (Some("bytes=99999999999999999999999-"), Whole),
        ];
        for (header, want) in table {
            assert_eq!(&RangeRequest::parse(*header, len), want, "{header:?}");
        }
    }

    #[test]
    fn an_empty_body_has_no_satisfiable_range() {
        assert_eq!(RangeRequest::parse(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(RangeRequest::parse(Some("bytes=-10"), 0), Unsatisfiable);
    }

    #[test]
    fn content_range_names_the_last_byte_and_the_length() {
        assert_eq!(Part(0..100).content_range(1000).unwrap(), "bytes 0-99/1000");
        assert_eq!(Unsatisfiable.content_range(1000).unwrap(), "bytes */1000");
        assert_eq!(Whole.content_range(1000), None);
    }
}
