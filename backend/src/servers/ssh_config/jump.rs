//! `ProxyJump` values: a comma-separated list of `[user@]host[:port]` hops.

/// One hop of a `ProxyJump` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpHop {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// `ProxyJump a,b`: hops in the order they are connected (`a` first), each `[user@]host[:port]`
/// or `ssh://[user@]host[:port]`, with `[…]` around an IPv6 address.
pub fn parse_jump_list(value: &str) -> Result<Vec<JumpHop>, String> {
    value.split(',').map(|hop| parse_hop(hop.trim())).collect()
}

fn parse_hop(text: &str) -> Result<JumpHop, String> {
    let bad = |why: &str| format!("ProxyJump hop '{text}' {why}");
    let rest = text.strip_prefix("ssh://").unwrap_or(text);
    let (user, address) = match rest.rsplit_once('@') {
        Some((user, address)) => (Some(user), address),
        None => (None, rest),
    };
    let (host, port) = match address.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| bad("has an unclosed '['"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(after.strip_prefix(':').ok_or_else(|| bad("is malformed"))?),
                ),
            }
        }
        None => match address.split_once(':') {
            Some((host, port)) if !port.contains(':') => (host, Some(port)),
            _ => (address, None),
        },
    };
    if host.is_empty() || user.is_some_and(str::is_empty) {
        return Err(bad("names no host or an empty user"));
    }
    let port = match port {
        Some(p) => Some(parse_port(p).ok_or_else(|| bad("has an invalid port"))?),
        None => None,
    };
    Ok(JumpHop {
        user: user.map(str::to_string),
        host: host.to_string(),
        port,
    })
}

/// A TCP port from 1 to 65535.
pub fn parse_port(text: &str) -> Option<u16> {
    text.parse::<u16>().ok().filter(|p| *p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(user: Option<&str>, host: &str, port: Option<u16>) -> JumpHop {
        JumpHop {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
        }
    }

    #[test]
    fn hops_are_listed_first_connected_first_with_optional_user_and_port() {
        assert_eq!(
            parse_jump_list("a,ops@bastion.example:2222, ssh://root@[fd00::1]:22,[::1]"),
            Ok(vec![
                hop(None, "a", None),
                hop(Some("ops"), "bastion.example", Some(2222)),
                hop(Some("root"), "fd00::1", Some(22)),
                hop(None, "::1", None),
            ])
        );
    }

    #[test]
    fn malformed_hops_are_refused() {
        for bad in [
            "",
            "a,,b",
            "@host",
            "host:0",
            "host:http",
            "[::1",
            "[::1]x",
            "u@",
        ] {
            assert!(parse_jump_list(bad).is_err(), "{bad:?}");
        }
    }
}
