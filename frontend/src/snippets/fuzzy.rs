//! The palette's filter: every word of the query must match the snippet's name (as a substring,
//! or failing that as letters in order, like `dfh` for "df -h"), its description or its
//! command. Name matches rank first, earlier and tighter ones higher.

use wire::snippets::SnippetView;

/// How well `word` (lowercase) matches `text`: a substring scores by how early it starts, a
/// subsequence by how spread out it is; `None` when the letters are not all there in order.
fn word_score(word: &str, text: &str) -> Option<i32> {
    let text = text.to_lowercase();
    if let Some(at) = text.find(word) {
        let at = i32::try_from(text[..at].chars().count()).unwrap_or(i32::MAX / 2);
        return Some(1000 - at.min(500));
    }
    let mut chars = text.chars().enumerate();
    let (mut first, mut last) = (None, 0usize);
    for wanted in word.chars() {
        let (i, _) = chars.by_ref().find(|(_, c)| *c == wanted)?;
        first.get_or_insert(i);
        last = i;
    }
    let spread = last.saturating_sub(first.unwrap_or(0));
    Some(400 - i32::try_from(spread).unwrap_or(400).min(399))
}

/// The snippet's score for `query`, `None` when it does not match; an empty query matches all.
pub fn score(query: &str, snippet: &SnippetView) -> Option<i32> {
    let query = query.to_lowercase();
    let mut total = 0;
    for word in query.split_whitespace() {
        let in_name = word_score(word, &snippet.name).map(|s| s * 4);
        // Elsewhere only whole substrings count: letters scattered through a long command
        // would match almost anything.
        let elsewhere = [&snippet.description, &snippet.command]
            .into_iter()
            .filter(|t| t.to_lowercase().contains(word))
            .map(|_| 100)
            .max();
        total += in_name.or(elsewhere)?;
    }
    Some(total)
}

/// The snippets matching `query`, best first (ties by name).
pub fn filter(query: &str, snippets: &[SnippetView]) -> Vec<SnippetView> {
    let mut hits: Vec<(i32, &SnippetView)> = snippets
        .iter()
        .filter_map(|s| score(query, s).map(|n| (n, s)))
        .collect();
    hits.sort_by(|(a, x), (b, y)| {
        b.cmp(a)
            .then_with(|| x.name.to_lowercase().cmp(&y.name.to_lowercase()))
    });
    hits.into_iter().map(|(_, s)| s.clone()).collect()
}
