//! Search-then-bind: bind as the service account (or search anonymously), find exactly one
//! entry for the typed name, read its groups, then bind as that entry with the password. Each
//! step is timed into a [`Trace`], which the admin test shows and sign-in ignores.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use ldap3::{Ldap, ResultEntry, Scope, SearchEntry, SearchOptions};

use super::connect::{self, timed};
use super::filter::{self, Rejection};
use super::groups::{self, LdapGroup};
use super::settings::{GroupMembership, Settings};
use super::DirectoryError;

/// Result code `sizeLimitExceeded`: the search found more than we asked for.
const SIZE_LIMIT_EXCEEDED: u32 = 4;
/// Result code `invalidCredentials`.
const INVALID_CREDENTIALS: u32 = 49;

/// What the directory says about an account that passed.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    pub dn: String,
    pub subject: String,
    pub username: String,
    pub ldap_groups: Vec<LdapGroup>,
}

/// One timed step.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    pub millis: u64,
    pub detail: Option<String>,
}

/// The steps taken so far.
#[derive(Debug, Default)]
pub struct Trace {
    pub steps: Vec<Step>,
}

impl Trace {
    fn record(&mut self, name: &'static str, started: Instant, ok: bool, detail: Option<String>) {
        self.steps.push(Step {
            name,
            ok,
            millis: started.elapsed().as_millis() as u64,
            detail,
        });
    }

    /// Records the outcome of a step that may fail with a directory error.
    fn outcome<T>(
        &mut self,
        name: &'static str,
        started: Instant,
        result: &Result<T, DirectoryError>,
        detail: impl FnOnce(&T) -> Option<String>,
    ) {
        match result {
            Ok(value) => self.record(name, started, true, detail(value)),
            Err(e) => self.record(name, started, false, Some(e.to_string())),
        }
    }
}

/// Connects and binds as the service account (if there is one).
pub async fn connect(settings: &Settings, trace: &mut Trace) -> Result<Ldap, DirectoryError> {
    let started = Instant::now();
    let opened = connect::open(settings).await;
    trace.outcome("connect", started, &opened, |_| Some(settings.url.clone()));
    let mut ldap = opened?;
    let Some((dn, password)) = &settings.bind else {
        return Ok(ldap);
    };
    let started = Instant::now();
    let bound = timed(
        settings.timeout,
        "service bind",
        ldap.simple_bind(dn, password.expose()),
    )
    .await
    .and_then(|result| {
        result
            .success()
            .map(|_| ())
            .map_err(|e| DirectoryError::ServiceBind(e.to_string()))
    });
    trace.outcome("service_bind", started, &bound, |_| Some(dn.clone()));
    bound?;
    Ok(ldap)
}

/// Checks `username` (and `password`, when given) against the directory. Without a password the
/// entry is found and its groups read, but nothing proves who is asking: only the admin test
/// does that.
pub async fn authenticate(
    settings: &Settings,
    username: &str,
    password: Option<&str>,
    trace: &mut Trace,
) -> Result<Result<DirectoryUser, Rejection>, DirectoryError> {
    if let Err(rejected) = filter::check_username(username) {
        return Ok(Err(rejected));
    }
    if let Some(password) = password {
        if let Err(rejected) = filter::check_password(password) {
            return Ok(Err(rejected));
        }
    }
    let mut ldap = connect(settings, trace).await?;
    let result = run(settings, &mut ldap, username, password, trace).await;
    let _ = tokio::time::timeout(settings.timeout, ldap.unbind()).await;
    result
}

async fn run(
    settings: &Settings,
    ldap: &mut Ldap,
    username: &str,
    password: Option<&str>,
    trace: &mut Trace,
) -> Result<Result<DirectoryUser, Rejection>, DirectoryError> {
    let entry = match find_user(settings, ldap, username, trace).await? {
        Ok(entry) => entry,
        Err(rejected) => return Ok(Err(rejected)),
    };
    let ldap_groups = read_groups(settings, ldap, &entry, trace).await?;
    if let Some(password) = password {
        let started = Instant::now();
        let bound = timed(
            settings.timeout,
            "user bind",
            ldap.simple_bind(&entry.dn, password),
        )
        .await;
        let verdict = match &bound {
            Ok(result) if result.rc == 0 => Ok(()),
            Ok(result) if result.rc == INVALID_CREDENTIALS => Err(Rejection::WrongPassword),
            Ok(result) => Err(Rejection::BindRefused(result.rc)),
            Err(_) => Ok(()),
        };
        match (&bound, &verdict) {
            (Err(e), _) => trace.record("user_bind", started, false, Some(e.to_string())),
            (Ok(_), Err(rejected)) => {
                trace.record("user_bind", started, false, Some(rejected.to_string()))
            }
            (Ok(_), Ok(())) => trace.record("user_bind", started, true, Some(entry.dn.clone())),
        }
        bound?;
        if let Err(rejected) = verdict {
            return Ok(Err(rejected));
        }
    }
    Ok(Ok(DirectoryUser {
        subject: stable_id(&entry, &settings.id_attribute),
        username: first_string(&entry, &settings.username_attribute)
            .unwrap_or_else(|| username.to_owned()),
        dn: entry.dn,
        ldap_groups,
    }))
}

/// Exactly one entry for the name, or a rejection.
async fn find_user(
    settings: &Settings,
    ldap: &mut Ldap,
    username: &str,
    trace: &mut Trace,
) -> Result<Result<SearchEntry, Rejection>, DirectoryError> {
    let started = Instant::now();
    let query = filter::user_filter(&settings.user_filter, username);
    let mut attrs = vec![
        settings.username_attribute.as_str(),
        settings.id_attribute.as_str(),
    ];
    if settings.membership == GroupMembership::MemberOf {
        attrs.push("memberOf");
    }
    // Two are enough to tell "one" from "several".
    let searched = timed(
        settings.timeout,
        "user search",
        ldap.with_search_options(SearchOptions::new().sizelimit(2))
            .search(&settings.user_base, Scope::Subtree, &query, attrs),
    )
    .await
    .and_then(|found| {
        let (entries, result) = (found.0, found.1);
        if result.rc != 0 && result.rc != SIZE_LIMIT_EXCEEDED {
            return Err(DirectoryError::Operation {
                op: "user search",
                detail: result.to_string(),
            });
        }
        entries_of(entries)
    });
    let entries = match searched {
        Ok(entries) => entries,
        Err(e) => {
            trace.record("user_search", started, false, Some(e.to_string()));
            return Err(e);
        }
    };
    let verdict = match entries.len() {
        0 => Err(Rejection::NoSuchUser),
        1 => Ok(()),
        _ => Err(Rejection::Ambiguous),
    };
    if let Err(rejected) = verdict {
        trace.record("user_search", started, false, Some(rejected.to_string()));
        return Ok(Err(rejected));
    }
    let Some(entry) = entries.into_iter().next() else {
        return Ok(Err(Rejection::NoSuchUser));
    };
    // A bind with an empty DN is anonymous: it would accept any password.
    if entry.dn.trim().is_empty() {
        trace.record(
            "user_search",
            started,
            false,
            Some("the entry has an empty DN".into()),
        );
        return Ok(Err(Rejection::NoSuchUser));
    }
    trace.record("user_search", started, true, Some(entry.dn.clone()));
    Ok(Ok(entry))
}

/// The user's groups, by the configured membership rule.
async fn read_groups(
    settings: &Settings,
    ldap: &mut Ldap,
    entry: &SearchEntry,
    trace: &mut Trace,
) -> Result<Vec<LdapGroup>, DirectoryError> {
    let started = Instant::now();
    if settings.membership == GroupMembership::MemberOf {
        let found: Vec<LdapGroup> = strings(entry, "memberOf")
            .into_iter()
            .map(|dn| LdapGroup::from_dn(&dn))
            .collect();
        trace.record("groups", started, true, Some(groups::describe(&found)));
        return Ok(found);
    }
    let query = filter::group_filter(&settings.group_filter, &entry.dn);
    let searched = timed(
        settings.timeout,
        "group search",
        ldap.search(&settings.group_base, Scope::Subtree, &query, vec!["cn"]),
    )
    .await
    .and_then(|found| {
        let (entries, result) = (found.0, found.1);
        if result.rc != 0 {
            return Err(DirectoryError::Operation {
                op: "group search",
                detail: result.to_string(),
            });
        }
        entries_of(entries)
    })
    .map(|entries| {
        entries
            .iter()
            .map(|group| LdapGroup {
                dn: group.dn.clone(),
                cn: first_string(group, "cn").or_else(|| filter::cn_of(&group.dn)),
            })
            .collect::<Vec<_>>()
    });
    trace.outcome("groups", started, &searched, |found| {
        Some(groups::describe(found))
    });
    searched
}

/// The entries of a search result, without continuation references (AD sends them for other
/// partitions). The crate panics on a malformed entry; a bad answer must not take a worker down.
fn entries_of(raw: Vec<ResultEntry>) -> Result<Vec<SearchEntry>, DirectoryError> {
    raw.into_iter()
        .filter(|entry| !entry.is_ref())
        .map(|entry| {
            std::panic::catch_unwind(AssertUnwindSafe(|| SearchEntry::construct(entry))).map_err(
                |_| DirectoryError::Operation {
                    op: "search",
                    detail: "malformed entry in the answer".into(),
                },
            )
        })
        .collect()
}

/// Values of `attr` (any case) that are text.
fn strings(entry: &SearchEntry, attr: &str) -> Vec<String> {
    entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attr))
        .map(|(_, values)| values.clone())
        .unwrap_or_default()
}

fn first_string(entry: &SearchEntry, attr: &str) -> Option<String> {
    strings(entry, attr)
        .into_iter()
        .find(|value| !value.trim().is_empty())
}

/// The first value of `attr` as bytes, whether the crate decoded it as text or kept it binary.
fn first_bytes(entry: &SearchEntry, attr: &str) -> Option<Vec<u8>> {
    if let Some(text) = strings(entry, attr).into_iter().next() {
        return Some(text.into_bytes());
    }
    entry
        .bin_attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attr))
        .and_then(|(_, values)| values.first().cloned())
}

/// The id the account is linked by: the id attribute (a GUID in its usual string form, other
/// binary values as hex), or the normalised DN when the entry has none.
pub fn stable_id(entry: &SearchEntry, attr: &str) -> String {
    match first_bytes(entry, attr) {
        Some(bytes) if attr.to_ascii_lowercase().ends_with("guid") && bytes.len() == 16 => {
            guid_string(&bytes)
        }
        Some(bytes) if !bytes.is_empty() => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => hex::encode(e.into_bytes()),
        },
        _ => format!("dn:{}", filter::normalize_dn(&entry.dn)),
    }
}

/// AD's objectGUID bytes as the GUID string AD tools show (the first three fields are
/// little-endian).
fn guid_string(b: &[u8]) -> String {
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        hex::encode(&b[10..16])
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn entry(attrs: &[(&str, &str)], bin: &[(&str, Vec<u8>)]) -> SearchEntry {
        SearchEntry {
            dn: "uid=Alice, ou=People,dc=example,dc=org".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect(),
            bin_attrs: bin
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.clone()]))
                .collect::<HashMap<_, _>>(),
        }
    }

    #[test]
    fn entry_uuid_is_the_stable_id() {
        let e = entry(&[("entryUUID", "5f3c-uuid")], &[]);
        assert_eq!(stable_id(&e, "entryuuid"), "5f3c-uuid");
    }

    #[test]
    fn object_guid_takes_the_guid_string_form() {
        let bytes = vec![
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ];
        let e = entry(&[], &[("objectGUID", bytes)]);
        assert_eq!(
            stable_id(&e, "objectGUID"),
            "00112233-4455-6677-8899-aabbccddeeff"
        );
    }

    #[test]
    fn other_binary_ids_are_hex() {
        let e = entry(&[], &[("someId", vec![0xff, 0x00, 0xfe])]);
        assert_eq!(stable_id(&e, "someId"), "ff00fe");
    }

    #[test]
    fn without_the_attribute_the_normalised_dn_is_the_id() {
        let e = entry(&[], &[]);
        assert_eq!(
            stable_id(&e, "entryUUID"),
            "dn:uid=alice,ou=people,dc=example,dc=org"
        );
    }
}
