//! What goes into a search filter or a bind: the typed name is checked, then escaped
//! (RFC 4515) before it is placed into the configured filter, so `*`, `(`, `)` and `\` match
//! themselves and never widen the search. DNs are compared the way a directory would, not
//! byte-wise.

use std::fmt;

use ldap3::ldap_escape;

/// Why credentials never reached (or were refused by) the directory. All of them answer like a
/// wrong password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    InvalidUsername,
    /// An empty password would make the simple bind anonymous, which always "succeeds".
    EmptyPassword,
    NoSuchUser,
    /// The filter matched more than one entry: linking either would be a guess.
    Ambiguous,
    WrongPassword,
    /// The bind was refused with another result code (locked, expired, …).
    BindRefused(u32),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::InvalidUsername => {
                f.write_str("the username is empty, too long or has control characters")
            }
            Rejection::EmptyPassword => f.write_str("empty passwords are refused"),
            Rejection::NoSuchUser => f.write_str("no entry matches the user filter"),
            Rejection::Ambiguous => f.write_str("more than one entry matches the user filter"),
            Rejection::WrongPassword => f.write_str("the directory refused the password"),
            Rejection::BindRefused(rc) => {
                write!(f, "the directory refused the bind (result code {rc})")
            }
        }
    }
}

/// Longest name accepted at sign-in.
pub const MAX_USERNAME_CHARS: usize = 128;

/// Refuses what can never be a directory name or a real password, before any network traffic.
pub fn check_username(username: &str) -> Result<(), Rejection> {
    if username.trim().is_empty()
        || username.chars().count() > MAX_USERNAME_CHARS
        || username.chars().any(char::is_control)
    {
        return Err(Rejection::InvalidUsername);
    }
    Ok(())
}

pub fn check_password(password: &str) -> Result<(), Rejection> {
    if password.is_empty() {
        return Err(Rejection::EmptyPassword);
    }
    Ok(())
}

/// `template` with every `{username}` replaced by the escaped name.
pub fn user_filter(template: &str, username: &str) -> String {
    template.replace("{username}", &ldap_escape(username))
}

/// `template` with every `{dn}` replaced by the escaped DN.
pub fn group_filter(template: &str, dn: &str) -> String {
    template.replace("{dn}", &ldap_escape(dn))
}

/// A DN in a form two spellings of the same DN share: lower case, no spaces around `,` and `=`
/// (escaped characters are kept as they are).
pub fn normalize_dn(dn: &str) -> String {
    split_rdns(dn)
        .iter()
        .map(|rdn| match rdn.split_once('=') {
            Some((attr, value)) => format!("{}={}", attr.trim(), value.trim()),
            None => rdn.trim().to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

/// The value of the first RDN when it is a `cn` (`cn=ops,ou=groups,…` → `ops`).
pub fn cn_of(dn: &str) -> Option<String> {
    let first = split_rdns(dn).into_iter().next()?;
    let (attr, value) = first.split_once('=')?;
    if !attr.trim().eq_ignore_ascii_case("cn") {
        return None;
    }
    let mut out = String::new();
    let mut chars = value.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    Some(out)
}

/// The RDNs of a DN, split at unescaped commas.
fn split_rdns(dn: &str) -> Vec<String> {
    let mut rdns = Vec::new();
    let mut current = String::new();
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                current.extend(chars.next());
            }
            ',' => rdns.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if !current.trim().is_empty() || !rdns.is_empty() {
        rdns.push(current);
    }
    rdns
}

/// Whether a group (its DN and CN) is the one `name` designates (a DN or a CN, any case).
pub fn group_is(name: &str, dn: &str, cn: Option<&str>) -> bool {
    if name.contains('=') {
        normalize_dn(name) == normalize_dn(dn)
    } else {
        cn.is_some_and(|cn| cn.eq_ignore_ascii_case(name.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILTER: &str = "(&(objectClass=person)(uid={username}))";

    #[test]
    fn plain_name_is_placed_into_the_filter() {
        assert_eq!(
            user_filter(FILTER, "alice"),
            "(&(objectClass=person)(uid=alice))"
        );
    }

    #[test]
    fn filter_metacharacters_in_the_name_are_escaped() {
        assert_eq!(
            user_filter(FILTER, "*"),
            "(&(objectClass=person)(uid=\\2a))"
        );
        assert_eq!(
            user_filter(FILTER, "alice)(uid=*"),
            "(&(objectClass=person)(uid=alice\\29\\28uid=\\2a))"
        );
        assert_eq!(
            user_filter(FILTER, "*)(|(uid=*"),
            "(&(objectClass=person)(uid=\\2a\\29\\28|\\28uid=\\2a))"
        );
        assert_eq!(
            user_filter(FILTER, "a\\b"),
            "(&(objectClass=person)(uid=a\\5cb))"
        );
    }

    #[test]
    fn a_placeholder_inside_the_name_is_not_expanded_again() {
        assert_eq!(
            user_filter("(|(uid={username})(mail={username}))", "{username}"),
            "(|(uid={username})(mail={username}))"
        );
    }

    #[test]
    fn group_filter_escapes_the_dn() {
        assert_eq!(
            group_filter("(member={dn})", "cn=a\\,b (x),dc=example"),
            "(member=cn=a\\5c,b \\28x\\29,dc=example)"
        );
    }

    #[test]
    fn control_characters_and_long_names_are_refused() {
        assert!(check_username("alice").is_ok());
        assert!(check_username("élodie").is_ok());
        assert_eq!(check_username(""), Err(Rejection::InvalidUsername));
        assert_eq!(check_username("  "), Err(Rejection::InvalidUsername));
        assert_eq!(check_username("al\0ice"), Err(Rejection::InvalidUsername));
        assert_eq!(check_username("alice\n"), Err(Rejection::InvalidUsername));
        assert!(check_username(&"a".repeat(128)).is_ok());
        assert_eq!(
            check_username(&"a".repeat(129)),
            Err(Rejection::InvalidUsername)
        );
    }

    #[test]
    fn empty_password_is_refused() {
        assert_eq!(check_password(""), Err(Rejection::EmptyPassword));
        assert!(check_password(" ").is_ok());
    }

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert_eq!(
            normalize_dn("CN=Ops , OU=Groups,DC=Example, DC=org"),
            "cn=ops,ou=groups,dc=example,dc=org"
        );
        assert!(group_is(
            "cn=OPS,ou=groups,dc=example,dc=org",
            "cn=ops, ou=Groups,dc=example,dc=org",
            None
        ));
        assert!(!group_is(
            "cn=ops,dc=example,dc=org",
            "cn=ops,ou=groups,dc=example,dc=org",
            None
        ));
    }

    #[test]
    fn a_cn_names_a_group_in_any_case() {
        assert!(group_is("Ops", "cn=ops,dc=x", Some("ops")));
        assert!(!group_is("ops", "cn=ops,dc=x", Some("ops-admins")));
        assert!(!group_is("ops", "cn=ops,dc=x", None));
    }

    #[test]
    fn cn_is_read_from_the_first_rdn() {
        assert_eq!(cn_of("cn=ops,ou=groups,dc=x").as_deref(), Some("ops"));
        assert_eq!(
            cn_of("CN=Domain Admins,CN=Users,DC=x").as_deref(),
            Some("Domain Admins")
        );
        assert_eq!(cn_of("cn=a\\,b,dc=x").as_deref(), Some("a,b"));
        assert_eq!(cn_of("ou=groups,dc=x"), None);
    }
}
