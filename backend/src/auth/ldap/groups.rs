//! From LDAP groups to what Gatehouse grants: a role (admin / auditor / user), the server groups
//! of `ldap_group_map`, and whether the account may sign in at all (`ldap_allowed_groups`).
//! Groups are named by DN or by CN, compared without regard to case.

use wire::users::Role;

use super::filter::{cn_of, group_is};
use super::settings::Settings;

/// A group the user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapGroup {
    pub dn: String,
    pub cn: Option<String>,
}

impl LdapGroup {
    pub fn from_dn(dn: &str) -> LdapGroup {
        LdapGroup {
            dn: dn.to_owned(),
            cn: cn_of(dn),
        }
    }

    fn is_any_of(&self, names: &[String]) -> bool {
        names
            .iter()
            .any(|name| group_is(name, &self.dn, self.cn.as_deref()))
    }
}

/// What the groups grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    /// Sorted, without duplicates.
    pub server_groups: Vec<String>,
    pub allowed: bool,
}

pub fn grant(settings: &Settings, groups: &[LdapGroup]) -> Grant {
    let in_any = |names: &[String]| groups.iter().any(|g| g.is_any_of(names));
    let role = if in_any(&settings.admin_groups) {
        Role::Admin
    } else if in_any(&settings.auditor_groups) {
        Role::Auditor
    } else {
        Role::User
    };
    let mut server_groups: Vec<String> = settings
        .group_map
        .iter()
        .filter(|(ldap_group, _)| {
            groups
                .iter()
                .any(|g| g.is_any_of(std::slice::from_ref(ldap_group)))
        })
        .map(|(_, server_group)| server_group.clone())
        .collect();
    server_groups.sort();
    server_groups.dedup();
    let allowed = settings.allowed_groups.is_empty()
        || role != Role::User
        || in_any(&settings.allowed_groups);
    Grant {
        role,
        server_groups,
        allowed,
    }
}

/// The groups' CNs (or DNs) for a log line or the admin test.
pub fn describe(groups: &[LdapGroup]) -> String {
    if groups.is_empty() {
        return "no groups".into();
    }
    groups
        .iter()
        .map(|g| g.cn.clone().unwrap_or_else(|| g.dn.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::ldap::settings::{GroupMembership, Transport};

    fn settings() -> Settings {
        Settings {
            url: "ldap://127.0.0.1".into(),
            transport: Transport::Plain,
            ca_file: None,
            timeout: Duration::from_secs(5),
            bind: None,
            user_base: "dc=x".into(),
            user_filter: "(uid={username})".into(),
            username_attribute: "uid".into(),
            id_attribute: "entryUUID".into(),
            membership: GroupMembership::Member,
            group_base: "dc=x".into(),
            group_filter: "(member={dn})".into(),
            group_map: vec![
                ("cn=ops,ou=groups,dc=x".into(), "production".into()),
                ("Dev".into(), "staging".into()),
                ("cn=ops-too,dc=x".into(), "production".into()),
            ],
            admin_groups: vec!["gh-admins".into()],
            auditor_groups: vec!["CN=Auditors,OU=Groups,DC=X".into()],
            allowed_groups: Vec::new(),
        }
    }

    #[test]
    fn groups_map_by_dn_or_cn_in_any_case() {
        let groups = [
            LdapGroup::from_dn("CN=Ops,OU=Groups,DC=x"),
            LdapGroup::from_dn("cn=dev,ou=groups,dc=x"),
            LdapGroup::from_dn("cn=ops-too,dc=x"),
        ];
        let grant = grant(&settings(), &groups);
        assert_eq!(grant.server_groups, vec!["production", "staging"]);
        assert_eq!(grant.role, Role::User);
        assert!(grant.allowed);
    }

    #[test]
    fn admin_wins_over_auditor() {
        let groups = [
            LdapGroup::from_dn("cn=auditors,ou=groups,dc=x"),
            LdapGroup::from_dn("cn=GH-Admins,ou=groups,dc=x"),
        ];
        assert_eq!(grant(&settings(), &groups).role, Role::Admin);
        assert_eq!(grant(&settings(), &groups[..1]).role, Role::Auditor);
    }

    #[test]
    fn a_cn_does_not_match_a_longer_cn() {
        let groups = [LdapGroup::from_dn("cn=gh-admins-old,dc=x")];
        assert_eq!(grant(&settings(), &groups).role, Role::User);
    }

    #[test]
    fn allowed_groups_gate_plain_users_only() {
        let mut s = settings();
        s.allowed_groups = vec!["staff".into()];
        assert!(!grant(&s, &[LdapGroup::from_dn("cn=dev,dc=x")]).allowed);
        assert!(grant(&s, &[LdapGroup::from_dn("cn=staff,dc=x")]).allowed);
        assert!(grant(&s, &[LdapGroup::from_dn("cn=gh-admins,dc=x")]).allowed);
    }
}
