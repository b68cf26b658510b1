//! Question banks per role, shipped as text files in `questions/` and
//! compiled in. See `questions/software_engineer.txt` for the format.

use std::sync::OnceLock;

use candor_api::{Role, Seniority};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub text: String,
    pub follow_ups: Vec<String>,
    pub levels: Vec<Seniority>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses one bank file.
pub fn parse(text: &str) -> Result<Vec<Question>, ParseError> {
    let mut out: Vec<Question> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let err = |message: &str| ParseError {
            line: i + 1,
            message: message.to_owned(),
        };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("Q ") {
            let (levels, q) = rest
                .split_once(':')
                .ok_or_else(|| err("expected `Q <levels>: <text>`"))?;
            let levels = if levels.trim() == "all" {
                Seniority::ALL.to_vec()
            } else {
                levels
                    .split(',')
                    .map(|l| Seniority::parse(l.trim()).ok_or_else(|| err("unknown seniority")))
                    .collect::<Result<_, _>>()?
            };
            let q = q.trim();
            if q.is_empty() {
                return Err(err("empty question"));
            }
            out.push(Question {
                text: q.to_owned(),
                follow_ups: Vec::new(),
                levels,
            });
        } else if let Some(f) = line.strip_prefix("F:") {
            let q = out
                .last_mut()
                .ok_or_else(|| err("follow-up before any question"))?;
            q.follow_ups.push(f.trim().to_owned());
        } else {
            return Err(err("expected a `Q` or `F:` line"));
        }
    }
    Ok(out)
}

fn source(role: Role) -> &'static str {
    match role {
        Role::SoftwareEngineer => include_str!("../../questions/software_engineer.txt"),
        Role::ProductManager => include_str!("../../questions/product_manager.txt"),
        Role::DataScientist => include_str!("../../questions/data_scientist.txt"),
        Role::Behavioural => include_str!("../../questions/behavioural.txt"),
    }
}

/// The bank of a role (parsed once; the files are checked by tests).
pub fn bank(role: Role) -> &'static [Question] {
    static BANKS: OnceLock<Vec<Vec<Question>>> = OnceLock::new();
    let banks = BANKS.get_or_init(|| {
        Role::ALL
            .iter()
            .map(|r| parse(source(*r)).unwrap_or_default())
            .collect()
    });
    let i = Role::ALL.iter().position(|r| *r == role).unwrap_or(0);
    &banks[i]
}

/// Chooses `count` questions for an interview: mostly from the role's bank,
/// about a third behavioural (unless the role is behavioural), filtered by
/// seniority, in an order that depends only on `seed` (the interview id), so a
/// resumed or re-processed interview sees the same questions.
pub fn plan(role: Role, seniority: Seniority, count: u32, seed: &str) -> Vec<Question> {
    let count = count as usize;
    let pick = |r: Role, salt: u64| -> Vec<Question> {
        let mut qs: Vec<Question> = bank(r)
            .iter()
            .filter(|q| q.levels.contains(&seniority))
            .cloned()
            .collect();
        shuffle(&mut qs, hash(seed) ^ salt);
        qs
    };
    let mut role_qs = pick(role, 0);
    if role == Role::Behavioural {
        role_qs.truncate(count);
        return role_qs;
    }
    let behavioural = pick(Role::Behavioural, 0x9e37_79b9);
    let n_behavioural = (count / 3).min(behavioural.len());
    let n_role = (count - n_behavioural).min(role_qs.len());
    role_qs.truncate(n_role);
    // Open with a role question, end with the behavioural ones.
    role_qs.extend(behavioural.into_iter().take(count - n_role));
    role_qs
}

/// The bank question an interviewer asked as `asked`, found by its text in
/// the role's bank, then the behavioural one (which every interview draws
/// from): the question whose text `asked` holds (an interviewer may say
/// words around it), or, when `asked` was cut off (it ends in `—`), the
/// only question that begins with the last three or more words said before
/// the cut, from a sentence start on.
pub fn find(role: Role, asked: &str) -> Option<&'static Question> {
    let banks = [bank(role), bank(Role::Behavioural)];
    let all = || banks.into_iter().flatten();
    if let Some(q) = all().find(|q| asked.contains(q.text.as_str())) {
        return Some(q);
    }
    let said = asked.trim_end().strip_suffix('—')?.trim_end();
    // The whole of what was said, then from each later sentence on.
    let starts = std::iter::once(0).chain(said.match_indices(". ").map(|(i, _)| i + 2));
    starts
        .map(|at| said[at..].trim_start())
        .filter(|part| part.split_whitespace().count() >= 3)
        .find_map(|part| {
            let mut begun = all().filter(|q| q.text.starts_with(part));
            match (begun.next(), begun.next()) {
                (Some(q), None) => Some(q),
                _ => None,
            }
        })
}

fn hash(s: &str) -> u64 {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bank_parses_and_covers_every_level() {
        for role in Role::ALL {
            let qs = parse(source(role)).unwrap_or_else(|e| panic!("{role:?}: {e}"));
            assert!(qs.len() >= 8, "{role:?} has {} questions", qs.len());
            for q in &qs {
                assert!(
                    !q.follow_ups.is_empty(),
                    "{role:?}: {:?} has no follow-up",
                    q.text
                );
                assert!(
                    q.text.ends_with('?') || q.text.ends_with('.'),
                    "{:?}",
                    q.text
                );
            }
            for level in Seniority::ALL {
                let n = qs.iter().filter(|q| q.levels.contains(&level)).count();
                assert!(n >= 5, "{role:?}/{level:?}: only {n}");
            }
        }
    }

    #[test]
    fn plans_are_deterministic_and_sized() {
        let a = plan(Role::SoftwareEngineer, Seniority::Senior, 5, "abc");
        let b = plan(Role::SoftwareEngineer, Seniority::Senior, 5, "abc");
        assert_eq!(a, b);
        assert_eq!(a.len(), 5);
        let behavioural = bank(Role::Behavioural);
        assert_eq!(
            a.iter().filter(|q| behavioural.contains(q)).count(),
            1,
            "a third (rounded down) behavioural"
        );
        assert!(a.iter().all(|q| q.levels.contains(&Seniority::Senior)));
        assert_eq!(plan(Role::Behavioural, Seniority::Junior, 3, "x").len(), 3);
    }

    #[test]
    fn an_asked_question_is_found_by_its_text() {
        let q = &bank(Role::DataScientist)[2];
        let asked = format!("Let's begin. {}", q.text);
        assert_eq!(find(Role::DataScientist, &asked), Some(q));
        assert_eq!(find(Role::DataScientist, &q.text), Some(q));
        // Every interview draws behavioural questions too.
        let b = &bank(Role::Behavioural)[1];
        let asked = format!("Here is the last question. {}", b.text);
        assert_eq!(find(Role::ProductManager, &asked), Some(b));
        // Cut off after its first words, lead-in and all.
        let words: Vec<&str> = q.text.split_whitespace().collect();
        let unique = (3..words.len())
            .map(|n| words[..n].join(" "))
            .find(|start| {
                bank(Role::DataScientist)
                    .iter()
                    .chain(bank(Role::Behavioural))
                    .filter(|o| o.text.starts_with(start.as_str()))
                    .count()
                    == 1
            })
            .expect("a start only this question has");
        assert_eq!(
            find(Role::DataScientist, &format!("Let's begin. {unique} —")),
            Some(q)
        );
        // Not in the banks, or cut off too soon to tell.
        assert_eq!(
            find(Role::DataScientist, "What is your favourite colour?"),
            None
        );
        assert_eq!(find(Role::DataScientist, &format!("{} —", words[0])), None);
        assert_eq!(find(Role::DataScientist, ""), None);
    }

    #[test]
    fn parse_errors_name_the_line() {
        let e = parse("Q all: fine?\nnonsense").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse("F: orphan").is_err());
        assert!(parse("Q expert: x?").is_err());
    }
}
