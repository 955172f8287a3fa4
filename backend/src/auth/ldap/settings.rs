//! The `ldap_*` settings, checked and resolved once per use: a sign-in reads them fresh, so a
//! rotated bind-password file needs no restart.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::DirectoryError;
use crate::config::Config;
use crate::crypto::Secret;

/// How a user's groups are found.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub enum GroupMembership {
    /// Search the group base for `groupOfNames` entries whose `member` is the user's DN.
    #[default]
    #[serde(rename = "member")]
    Member,
    /// Read the user entry's `memberOf` values (AD, or OpenLDAP with the memberof overlay).
    #[serde(rename = "memberOf", alias = "memberof", alias = "member_of")]
    MemberOf,
    /// Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: nested groups too.
    #[serde(rename = "ad_nested")]
    AdNested,
}

impl GroupMembership {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupMembership::Member => "member",
            GroupMembership::MemberOf => "memberOf",
            GroupMembership::AdNested => "ad_nested",
        }
    }

    /// The group search filter when `ldap_group_filter` is unset; `{dn}` is the user's DN.
    fn default_filter(self) -> &'static str {
        match self {
            GroupMembership::Member | GroupMembership::MemberOf => {
                "(&(objectClass=groupOfNames)(member={dn}))"
            }
            GroupMembership::AdNested => {
                "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={dn}))"
            }
        }
    }
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Plain,
    StartTls,
    Ldaps,
}

/// The checked settings of a configured directory.
#[derive(Debug, Clone)]
pub struct Settings {
    pub url: String,
    pub transport: Transport,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    /// The service account; `None` searches anonymously.
    pub bind: Option<(String, Secret<String>)>,
    pub user_base: String,
    pub user_filter: String,
    pub username_attribute: String,
    pub id_attribute: String,
    pub membership: GroupMembership,
    pub group_base: String,
    pub group_filter: String,
    pub group_map: Vec<(String, String)>,
    pub admin_groups: Vec<String>,
    pub auditor_groups: Vec<String>,
    pub allowed_groups: Vec<String>,
}

impl Settings {
    /// `None` when LDAP is not configured (no `ldap_url`).
    pub fn from_config(config: &Config) -> Result<Option<Settings>, DirectoryError> {
        let Some(url) = config.ldap_url.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if url.is_empty() {
            return Ok(None);
        }
        let bad = |what: &str| Err(DirectoryError::Misconfigured(what.to_owned()));
        let lower = url.to_ascii_lowercase();
        let transport = if lower.starts_with("ldaps://") {
            if config.ldap_starttls {
                return bad("ldap_starttls needs an ldap:// URL (ldaps:// is TLS already)");
            }
            Transport::Ldaps
        } else if lower.starts_with("ldap://") {
            if config.ldap_starttls {
                Transport::StartTls
            } else {
                Transport::Plain
            }
        } else {
            return bad("ldap_url must start with ldap:// or ldaps://");
        };
        let Some(user_base) = config
            .ldap_user_base
            .clone()
            .filter(|b| !b.trim().is_empty())
        else {
            return bad("ldap_user_base is required");
        };
        if !config.ldap_user_filter.contains("{username}") {
            return bad("ldap_user_filter must contain {username}");
        }
        let group_filter = config
            .ldap_group_filter
            .clone()
            .unwrap_or_else(|| config.ldap_group_membership.default_filter().to_owned());
        if config.ldap_group_membership != GroupMembership::MemberOf
            && !group_filter.contains("{dn}")
        {
            return bad("ldap_group_filter must contain {dn}");
        }
        for (name, value) in [
            ("ldap_username_attribute", &config.ldap_username_attribute),
            ("ldap_id_attribute", &config.ldap_id_attribute),
        ] {
            if !is_attribute_name(value) {
                return bad(&format!("{name} is not an attribute name"));
            }
        }
        let bind = match config.ldap_bind_dn.clone().filter(|d| !d.is_empty()) {
            None => None,
            Some(dn) => Some((dn, bind_password(config)?)),
        };
        Ok(Some(Settings {
            url: url.trim_end_matches('/').to_owned(),
            transport,
            ca_file: config.ldap_ca_file.clone(),
            timeout: Duration::from_secs(config.ldap_timeout_secs.max(1)),
            bind,
            group_base: config
                .ldap_group_base
                .clone()
                .filter(|b| !b.trim().is_empty())
                .unwrap_or_else(|| user_base.clone()),
            user_base,
            user_filter: config.ldap_user_filter.clone(),
            username_attribute: config.ldap_username_attribute.clone(),
            id_attribute: config.ldap_id_attribute.clone(),
            membership: config.ldap_group_membership,
            group_filter,
            group_map: config
                .ldap_group_map
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            admin_groups: config.ldap_admin_groups.clone(),
            auditor_groups: config.ldap_auditor_groups.clone(),
            allowed_groups: config.ldap_allowed_groups.clone(),
        }))
    }

    /// The issuer accounts are linked under: the URL, lower-cased.
    pub fn issuer(&self) -> String {
        self.url.to_ascii_lowercase()
    }
}

/// A bind DN needs a password: an empty one would make the bind anonymous.
fn bind_password(config: &Config) -> Result<Secret<String>, DirectoryError> {
    let password = match &config.ldap_bind_password_file {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| text.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|e| {
                DirectoryError::Misconfigured(format!(
                    "cannot read ldap_bind_password_file {}: {e}",
                    path.display()
                ))
            })?,
        None => config
            .ldap_bind_password
            .as_ref()
            .map(|s| s.expose().clone())
            .unwrap_or_default(),
    };
    if password.is_empty() {
        return Err(DirectoryError::Misconfigured(
            "ldap_bind_dn is set but its password is empty".into(),
        ));
    }
    Ok(Secret::new(password))
}

/// An attribute description as RFC 4512 spells it (name or OID), so it can go into a request.
fn is_attribute_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ';')
}
