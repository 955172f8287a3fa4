//! Deciding each node's jump host: chains against what hosts say themselves, and skips that
//! spread to the hosts behind a skipped one.

use super::{Planner, State, Via};

impl Planner<'_> {
    /// Where node `i`'s connection starts, with links to stored servers by id.
    pub(super) fn via(&self, i: usize) -> Option<Via> {
        self.nodes[i].via.map(|via| self.normal(via))
    }

    pub(super) fn normal(&self, via: Via) -> Via {
        match via {
            Via::Node(j) => match self.nodes[j].state {
                State::Existing(e) => Via::Stored(e.id),
                _ => via,
            },
            other => other,
        }
    }

    pub(super) fn describe(&self, via: Via) -> String {
        match via {
            Via::Direct => "connects directly".into(),
            Via::Node(j) => format!("jumps via \"{}\"", self.nodes[j].name),
            Via::Stored(id) => format!("jumps via stored server {id}"),
        }
    }

    /// Each chain `a,b` of a host also says `b` jumps via `a`. A chain that contradicts what is
    /// already decided skips its host; the others are applied whole.
    pub(super) fn apply_chains(&mut self) {
        for owner in 0..self.nodes.len() {
            if !matches!(self.nodes[owner].state, State::New { .. }) {
                continue;
            }
            let chain = self.nodes[owner].chain.clone();
            let mut decided: Vec<(usize, Via)> = Vec::new();
            for pair in chain.windows(2) {
                let (hop, want) = (pair[1], self.normal(Via::Node(pair[0])));
                let have = decided
                    .iter()
                    .find(|(n, _)| *n == hop)
                    .map(|(_, v)| *v)
                    .or_else(|| self.via(hop));
                match have {
                    Some(have) if have != want => {
                        let reason = format!(
                            "its ProxyJump needs \"{}\" to jump via \"{}\", but \"{}\" {}",
                            self.nodes[hop].name,
                            self.nodes[pair[0]].name,
                            self.nodes[hop].name,
                            self.describe(have)
                        );
                        self.nodes[owner].state = State::Skipped(reason);
                        decided.clear();
                        break;
                    }
                    Some(_) => {}
                    None => decided.push((hop, want)),
                }
            }
            for (hop, via) in decided {
                self.nodes[hop].via = Some(via);
            }
        }
    }

    /// A host whose jump host is skipped cannot be reached: skip it too.
    pub(super) fn skip_behind_skipped(&mut self) {
        loop {
            let mut changed = false;
            for i in 0..self.nodes.len() {
                if let (State::New { .. }, Some(Via::Node(j))) = (&self.nodes[i].state, self.via(i))
                {
                    if matches!(self.nodes[j].state, State::Skipped(_)) {
                        let reason = format!("its jump host \"{}\" is skipped", self.nodes[j].name);
                        self.nodes[i].state = State::Skipped(reason);
                        changed = true;
                    }
                }
            }
            if !changed {
                return;
            }
        }
    }
}
