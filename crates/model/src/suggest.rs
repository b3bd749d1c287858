//! "Did you mean …?": the closest known names to something a person typed.

/// The names among `candidates` closest to `input`, best first, at most `limit` of them.
///
/// Case is ignored. A candidate qualifies when it contains the input (or is contained in it),
/// when it is a few edits away (swapped letters count as one: `JMS` → `JSM`), or when it is
/// reasonably similar overall (Jaro-Winkler ≥ 0.75).
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>, limit: usize) -> Vec<String> {
    let needle = input.trim().to_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .filter_map(|candidate| {
            let hay = candidate.to_lowercase();
            let mut score = strsim::jaro_winkler(&needle, &hay);
            let edits = strsim::osa_distance(&needle, &hay);
            if edits <= (needle.chars().count().max(hay.chars().count()) / 4).max(1) {
                score = score.max(0.95 - 0.05 * edits as f64);
            }
            if !needle.is_empty() && (hay.contains(&needle) || needle.contains(&hay)) {
                score = score.max(0.9);
            }
            (score >= 0.75).then_some((score, candidate))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut out: Vec<String> = Vec::new();
    for (_, name) in scored {
        if !out.iter().any(|seen| seen.eq_ignore_ascii_case(name)) {
            out.push(name.to_owned());
        }
        if out.len() == limit {
            break;
        }
    }
    out
}

/// Like [`closest`], but when nothing is close and there are only a few candidates (sites,
/// say), all of them: a person then sees what exists instead of nothing.
pub fn closest_or_all<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>, limit: usize) -> Vec<String> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let close = closest(input, candidates.iter().copied(), limit);
    if close.is_empty() && candidates.len() <= 10 {
        return candidates.into_iter().map(str::to_owned).collect();
    }
    close
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn near_misses_are_suggested_best_first() {
        let names = ["engineering", "marketing", "sales", "support"];
        assert_eq!(closest("enginering", names, 3), vec!["engineering"]);
        assert_eq!(closest("SUPPRT", names, 3), vec!["support"]);
    }

    #[test]
    fn swapped_letters_in_short_names_are_near_misses() {
        assert_eq!(closest("JMS", ["Jira", "JSM", "JPD", "CSM"], 1), vec!["JSM"]);
    }

    #[test]
    fn nothing_similar_gives_no_suggestion() {
        assert!(closest("zzzz", ["engineering", "sales"], 3).is_empty());
    }

    #[test]
    fn substrings_qualify() {
        assert_eq!(closest("service", ["Jira Service Management", "Jira"], 3), vec!["Jira Service Management"]);
    }
}
