//! From an OpenSSH configuration to the servers an import creates: who jumps via whom, what is
//! skipped and why, and an order that stores every jump host before the servers behind it. Pure;
//! the handler stores the plan.
//!
//! `ProxyJump a,b` on a host means: the host jumps via `b`, and `b` via `a`. A hop that names a
//! host of the configuration or a stored server links to it; any other hop becomes a server of its
//! own, named after its host name, created once. A server has one jump host, so when two chains
//! (or a chain and a host's own `ProxyJump`) disagree about one, the later host is skipped.

mod chains;

use std::collections::HashMap;

use wire::servers::SkippedHost;

use crate::servers::ssh_config::{parse_jump_list, parse_port, Config, JumpHop, Proxy, MAX_HOSTS};

/// A stored server, as far as names and jump links are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    pub id: i32,
    pub jump_via_id: Option<i32>,
}

/// A planned server's jump host: an earlier one of the plan (by position), or a stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Planned(usize),
    Existing(i32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    pub hostname: String,
    pub port: u16,
    pub username: String,
    pub jump: Option<Link>,
    /// Only named by someone's `ProxyJump`, not by a `Host` line.
    pub from_proxy_jump: bool,
}

impl Planned {
    /// How error messages name it.
    pub fn label(&self) -> String {
        if self.from_proxy_jump {
            format!("ProxyJump host \"{}\"", self.name)
        } else {
            format!("Host \"{}\"", self.name)
        }
    }
}

#[derive(Debug, Default)]
pub struct Plan {
    /// Jump hosts before the servers behind them.
    pub servers: Vec<Planned>,
    pub skipped: Vec<SkippedHost>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("Host \"{host}\": {message}")]
    Invalid { host: String, message: String },
    #[error("ProxyJump cycle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
    #[error("an import creates at most {MAX_HOSTS} servers")]
    TooManyServers,
}

/// How a node's connection starts. Links to stored servers are by id, so two ways of naming the
/// same stored server compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Direct,
    Node(usize),
    Stored(i32),
}

#[derive(Debug)]
enum State {
    New {
        hostname: String,
        port: u16,
        username: String,
    },
    Existing(Existing),
    Skipped(String),
}

#[derive(Debug)]
struct Node {
    name: String,
    state: State,
    /// `None` while undecided; undecided at the end means direct.
    via: Option<Via>,
    alias: bool,
    /// Its own `ProxyJump` hops, first connected first.
    chain: Vec<usize>,
}

struct Planner<'a> {
    config: &'a Config,
    existing: &'a HashMap<String, Existing>,
    default_username: Option<&'a str>,
    nodes: Vec<Node>,
    by_name: HashMap<String, usize>,
    warnings: Vec<String>,
}

pub fn plan(
    config: &Config,
    existing: &HashMap<String, Existing>,
    default_username: Option<&str>,
) -> Result<Plan, PlanError> {
    let mut planner = Planner {
        config,
        existing,
        default_username: default_username.filter(|u| !u.trim().is_empty()),
        nodes: Vec::new(),
        by_name: HashMap::new(),
        warnings: config.warnings.clone(),
    };
    let mut pending = Vec::new();
    for alias in config.aliases() {
        let (node, hops) = planner.add(alias, true, None)?;
        pending.extend(hops.map(|h| (node, h)));
    }
    // Hops may name hosts defined further down, and new hops bring their own ProxyJump.
    let mut next = 0;
    while let Some((node, hops)) = pending.get_mut(next).map(|(n, h)| (*n, std::mem::take(h))) {
        next += 1;
        let mut chain = Vec::with_capacity(hops.len());
        for hop in hops {
            let (hop_node, more) = planner.hop(&hop, node)?;
            pending.extend(more.map(|h| (hop_node, h)));
            chain.push(hop_node);
        }
        planner.nodes[node].via = chain.last().map(|&last| Via::Node(last));
        planner.nodes[node].chain = chain;
    }
    planner.apply_chains();
    planner.skip_behind_skipped();
    planner.finish()
}

impl Planner<'_> {
    /// Registers a host: stored already, skipped, or to be created. Returns its `ProxyJump` hops
    /// for the caller to resolve once every alias is known.
    fn add(
        &mut self,
        name: &str,
        alias: bool,
        given: Option<&JumpHop>,
    ) -> Result<(usize, Option<Vec<JumpHop>>), PlanError> {
        let index = self.nodes.len();
        self.by_name.insert(name.to_string(), index);
        let invalid = |message: String| PlanError::Invalid {
            host: name.to_string(),
            message,
        };
        let mut node = Node {
            name: name.to_string(),
            state: State::Skipped(String::new()),
            via: None,
            alias,
            chain: Vec::new(),
        };
        let mut hops = None;
        if let Some(existing) = self.existing.get(name) {
            if given.is_some_and(|h| h.user.is_some() || h.port.is_some()) {
                self.warnings.push(format!(
                    "ProxyJump hop \"{name}\" links to the stored server of that name, with its own user and port"
                ));
            }
            node.state = State::Existing(*existing);
            node.via = Some(existing.jump_via_id.map_or(Via::Direct, Via::Stored));
            self.nodes.push(node);
            return Ok((index, None));
        }
        let found = self.config.resolve(name);
        let port = match (given.and_then(|h| h.port), &found.port) {
            (Some(port), _) => port,
            (None, Some(text)) => parse_port(text)
                .ok_or_else(|| invalid(format!("Port '{text}' is not a number from 1 to 65535")))?,
            (None, None) => 22,
        };
        let username = given
            .and_then(|h| h.user.clone())
            .or(found.user)
            .or(self.default_username.map(str::to_string));
        node.state = match (username, &found.proxy) {
            (_, Some(Proxy::Command)) => {
                self.warnings.push(format!(
                    "Host \"{name}\": ProxyCommand is not supported; the host was skipped"
                ));
                State::Skipped("ProxyCommand is not supported".into())
            }
            (None, _) => State::Skipped("no User (and no default_username was given)".into()),
            (Some(username), proxy) => {
                match proxy {
                    Some(Proxy::Direct) => node.via = Some(Via::Direct),
                    Some(Proxy::Jump(list)) => hops = Some(parse_jump_list(list).map_err(invalid)?),
                    _ => {}
                }
                State::New {
                    hostname: found.hostname.unwrap_or_else(|| name.to_string()),
                    port,
                    username,
                }
            }
        };
        self.nodes.push(node);
        Ok((index, hops))
    }

    /// The node a `ProxyJump` hop of `owner` names, registering it if it is new.
    fn hop(
        &mut self,
        hop: &JumpHop,
        owner: usize,
    ) -> Result<(usize, Option<Vec<JumpHop>>), PlanError> {
        let Some(&known) = self.by_name.get(&hop.host) else {
            return self.add(&hop.host, false, Some(hop));
        };
        let differs = match &self.nodes[known].state {
            State::New { port, username, .. } => {
                hop.user.as_ref().is_some_and(|u| u != username)
                    || hop.port.is_some_and(|p| p != *port)
            }
            _ => hop.user.is_some() || hop.port.is_some(),
        };
        if differs {
            self.warnings.push(format!(
                "Host \"{}\": ProxyJump hop \"{}\" links to the server of that name, with its own user and port",
                self.nodes[owner].name, hop.host
            ));
        }
        Ok((known, None))
    }

    /// The servers in dependency order, starting from the configuration's hosts (so a hop no kept
    /// host needs is not created), and what was skipped.
    fn finish(self) -> Result<Plan, PlanError> {
        let mut position: HashMap<usize, usize> = HashMap::new();
        let mut servers = Vec::new();
        for start in (0..self.nodes.len()).filter(|&i| self.nodes[i].alias) {
            let mut path: Vec<usize> = Vec::new();
            let mut at = start;
            while !position.contains_key(&at) && matches!(self.nodes[at].state, State::New { .. }) {
                if let Some(from) = path.iter().position(|&n| n == at) {
                    let mut names: Vec<String> = path[from..]
                        .iter()
                        .map(|&n| self.nodes[n].name.clone())
                        .collect();
                    names.push(self.nodes[at].name.clone());
                    return Err(PlanError::Cycle(names));
                }
                path.push(at);
                match self.via(at) {
                    Some(Via::Node(next)) => at = next,
                    _ => break,
                }
            }
            for &n in path.iter().rev() {
                let node = &self.nodes[n];
                let State::New {
                    hostname,
                    port,
                    username,
                } = &node.state
                else {
                    continue;
                };
                let jump = match self.via(n) {
                    Some(Via::Node(j)) => position.get(&j).map(|&p| Link::Planned(p)),
                    Some(Via::Stored(id)) => Some(Link::Existing(id)),
                    _ => None,
                };
                position.insert(n, servers.len());
                servers.push(Planned {
                    name: node.name.clone(),
                    hostname: hostname.clone(),
                    port: *port,
                    username: username.clone(),
                    jump,
                    from_proxy_jump: !node.alias,
                });
            }
        }
        if servers.len() > MAX_HOSTS {
            return Err(PlanError::TooManyServers);
        }
        let skipped = self
            .nodes
            .iter()
            .filter_map(|node| {
                match &node.state {
                    State::Existing(_) if node.alias => Some("already exists".to_string()),
                    State::Skipped(reason) => Some(reason.clone()),
                    _ => None,
                }
                .map(|reason| SkippedHost {
                    name: node.name.clone(),
                    reason,
                })
            })
            .collect();
        Ok(Plan {
            servers,
            skipped,
            warnings: self.warnings,
        })
    }
}

#[cfg(test)]
mod tests;
