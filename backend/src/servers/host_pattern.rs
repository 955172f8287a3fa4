//! Host patterns as OpenSSH matches them: `*`, `?` and `!` negation, case-insensitively. Used by
//! both OpenSSH files we read: `Host` lines of a client config and the host fields of
//! `known_hosts`.

/// A pattern that names one host: no wildcard, no negation.
pub fn is_literal(pattern: &str) -> bool {
    !pattern.is_empty() && !pattern.contains(['*', '?', '!'])
}

/// A pattern list (a `Host` line, a `known_hosts` host field) matches when one of its patterns
/// does and none of its negated (`!`) ones does.
pub fn host_line_matches<'a>(patterns: impl IntoIterator<Item = &'a str>, host: &str) -> bool {
    let mut matched = false;
    for pattern in patterns {
        match pattern.strip_prefix('!') {
            Some(negated) if glob(negated, host) => return false,
            Some(_) => {}
            None => matched |= glob(pattern, host),
        }
    }
    matched
}

/// `*` (any run) and `?` (one character), ASCII case-insensitive, as OpenSSH matches host names.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and how much of the text it has swallowed so far.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c.eq_ignore_ascii_case(&t[ti]) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    star = Some((sp, st + 1));
                    pi = sp + 1;
                    ti = st + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks_match_like_openssh() {
        assert!(glob("*", ""));
        assert!(glob("*", "anything.example"));
        assert!(glob("*.prod", "web.prod"));
        assert!(!glob("*.prod", "web.prod.eu"));
        assert!(glob("web-??", "web-01"));
        assert!(!glob("web-??", "web-1"));
        assert!(glob("a*b*c", "aXXbYYbc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("WEB*", "web-1"), "case does not matter");
    }

    #[test]
    fn a_negated_pattern_vetoes_the_whole_line() {
        let line = |p: &'static [&'static str]| p.iter().copied();
        assert!(host_line_matches(line(&["*", "!bastion"]), "web"));
        assert!(!host_line_matches(line(&["*", "!bastion"]), "bastion"));
        assert!(
            !host_line_matches(line(&["!bastion"]), "web"),
            "negation alone matches nothing"
        );
        assert!(host_line_matches(line(&["db", "web"]), "web"));
    }

    #[test]
    fn only_plain_names_are_literal() {
        assert!(is_literal("web.example"));
        for pattern in ["*", "web?", "!web", "*.prod", ""] {
            assert!(!is_literal(pattern), "{pattern}");
        }
    }
}
