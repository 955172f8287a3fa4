//! Share links and participants of live sessions, in memory beside the sessions themselves.
//!
//! A share link is a 256-bit random token kept only as its SHA-256 digest, with a mode (ro or rw)
//! and an expiry. A participant is a socket joined to a session that is not its user's (through a
//! link, or an admin or auditor watching): it has an id, a mode and a kick switch that ends its
//! socket at once. The owner's socket follows the roster through a `watch` channel.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use wire::terminal::{codes, ParticipantView, ShareView, Sharing as SharingView};

use crate::crypto::token::{random_token, token_digest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ReadOnly,
    ReadWrite,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "ro" => Some(Mode::ReadOnly),
            "rw" => Some(Mode::ReadWrite),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "ro",
            Mode::ReadWrite => "rw",
        }
    }
}

/// A socket joined to someone else's session.
pub struct Participant {
    pub id: String,
    pub user_id: i32,
    pub username: String,
    pub mode: Mode,
    pub since: DateTime<Utc>,
    /// Joined through a share link (revoking the links disconnects it), not by watching.
    pub via_share: bool,
    /// Stdin bytes a read-write participant typed (audited at leave).
    pub typed: AtomicU64,
    kick: CancellationToken,
    reason: OnceLock<&'static str>,
}

impl Participant {
    #[cfg(test)]
    pub fn new(user_id: i32, username: String, mode: Mode, via_share: bool) -> Participant {
        let id = uuid::Uuid::new_v4().to_string();
        Participant::with_id(id, user_id, username, mode, via_share)
    }

    /// One whose id was chosen elsewhere (by the replica its socket is on).
    pub fn with_id(
        id: String,
        user_id: i32,
        username: String,
        mode: Mode,
        via_share: bool,
    ) -> Participant {
        Participant {
            id,
            user_id,
            username,
            mode,
            since: Utc::now(),
            via_share,
            typed: AtomicU64::new(0),
            kick: CancellationToken::new(),
            reason: OnceLock::new(),
        }
    }

    /// Ends the participant's socket with an error frame `code`.
    pub fn kick(&self, code: &'static str) {
        let _ = self.reason.set(code);
        self.kick.cancel();
    }

    /// Resolves once the participant is kicked; gives the error code.
    pub async fn kicked(&self) -> &'static str {
        self.kick.cancelled().await;
        self.reason.get().copied().unwrap_or(codes::KICKED)
    }

    /// The code it was kicked with, if it was.
    pub fn kicked_with(&self) -> Option<&'static str> {
        self.reason.get().copied()
    }

    fn view(&self) -> ParticipantView {
        ParticipantView {
            id: self.id.clone(),
            username: self.username.clone(),
            mode: self.mode.as_str().to_owned(),
            since: self.since.to_rfc3339(),
        }
    }
}

struct Share {
    id: String,
    session_id: String,
    mode: Mode,
    expires_at: DateTime<Utc>,
}

impl Share {
    fn view(&self) -> ShareView {
        ShareView {
            id: self.id.clone(),
            mode: self.mode.as_str().to_owned(),
            expires_at: self.expires_at.to_rfc3339(),
        }
    }
}

struct SessionSharing {
    participants: Vec<Arc<Participant>>,
    roster: watch::Sender<Vec<ParticipantView>>,
}

impl SessionSharing {
    fn new() -> SessionSharing {
        SessionSharing {
            participants: Vec::new(),
            roster: watch::Sender::new(Vec::new()),
        }
    }

    fn publish(&self) {
        let list = self.participants.iter().map(|p| p.view()).collect();
        self.roster.send_replace(list);
    }
}

#[derive(Default)]
struct Inner {
    /// By token digest.
    shares: HashMap<String, Share>,
    sessions: HashMap<String, SessionSharing>,
}

#[derive(Clone, Default)]
pub struct Sharing {
    inner: Arc<Mutex<Inner>>,
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sharing {
    /// A new link to `session_id`; returns the token (shown once) and the share.
    pub fn create(
        &self,
        session_id: &str,
        mode: Mode,
        expires_at: DateTime<Utc>,
    ) -> (String, ShareView) {
        let token = random_token();
        let share = Share {
            id: uuid::Uuid::new_v4().to_string(),
            session_id: session_id.to_owned(),
            mode,
            expires_at,
        };
        let view = share.view();
        lock(&self.inner).shares.insert(token_digest(&token), share);
        (token, view)
    }

    /// The session and mode a live, unexpired token admits to.
    pub fn find(&self, token: &str) -> Option<(String, Mode)> {
        self.find_digest(&token_digest(token))
    }

    /// The same, by the token's digest (as other replicas ask).
    pub fn find_digest(&self, digest: &str) -> Option<(String, Mode)> {
        let mut inner = lock(&self.inner);
        let now = Utc::now();
        inner.shares.retain(|_, s| s.expires_at > now);
        let share = inner.shares.get(digest)?;
        Some((share.session_id.clone(), share.mode))
    }

    pub fn view(&self, session_id: &str) -> SharingView {
        let inner = lock(&self.inner);
        let now = Utc::now();
        let mut shares: Vec<ShareView> = inner
            .shares
            .values()
            .filter(|s| s.session_id == session_id && s.expires_at > now)
            .map(Share::view)
            .collect();
        shares.sort_by(|a, b| a.expires_at.cmp(&b.expires_at));
        let participants = inner
            .sessions
            .get(session_id)
            .map(|s| s.participants.iter().map(|p| p.view()).collect())
            .unwrap_or_default();
        SharingView {
            shares,
            participants,
        }
    }

    /// Drops every link of the session and disconnects everyone who joined through one.
    /// Returns the links' digests.
    pub fn revoke_all(&self, session_id: &str) -> Vec<String> {
        let mut inner = lock(&self.inner);
        let revoked: Vec<String> = inner
            .shares
            .iter()
            .filter(|(_, s)| s.session_id == session_id)
            .map(|(digest, _)| digest.clone())
            .collect();
        inner.shares.retain(|_, s| s.session_id != session_id);
        if let Some(s) = inner.sessions.get(session_id) {
            for p in s.participants.iter().filter(|p| p.via_share) {
                p.kick(codes::SHARE_REVOKED);
            }
        }
        revoked
    }

    pub fn join(&self, session_id: &str, participant: Arc<Participant>) {
        let mut inner = lock(&self.inner);
        let s = inner
            .sessions
            .entry(session_id.to_owned())
            .or_insert_with(SessionSharing::new);
        s.participants.push(participant);
        s.publish();
    }

    pub fn leave(&self, session_id: &str, participant_id: &str) {
        if let Some(s) = lock(&self.inner).sessions.get_mut(session_id) {
            s.participants.retain(|p| p.id != participant_id);
            s.publish();
        }
    }

    /// Kicks one participant; returns it, if it was there.
    /// Everyone joined to the session right now.
    pub fn participants(&self, session_id: &str) -> Vec<Arc<Participant>> {
        lock(&self.inner)
            .sessions
            .get(session_id)
            .map(|s| s.participants.clone())
            .unwrap_or_default()
    }

    pub fn kick(&self, session_id: &str, participant_id: &str) -> Option<Arc<Participant>> {
        let inner = lock(&self.inner);
        let p = inner
            .sessions
            .get(session_id)?
            .participants
            .iter()
            .find(|p| p.id == participant_id)?
            .clone();
        p.kick(codes::KICKED);
        Some(p)
    }

    /// The session's roster, for its owner's socket.
    pub fn roster(&self, session_id: &str) -> watch::Receiver<Vec<ParticipantView>> {
        lock(&self.inner)
            .sessions
            .entry(session_id.to_owned())
            .or_insert_with(SessionSharing::new)
            .roster
            .subscribe()
    }

    /// The session ended: its links die with it (its participants are told by the hub).
    pub fn forget(&self, session_id: &str) {
        let mut inner = lock(&self.inner);
        inner.shares.retain(|_, s| s.session_id != session_id);
        inner.sessions.remove(session_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_admit_until_expiry_or_revocation() {
        let sharing = Sharing::default();
        let later = Utc::now() + chrono::Duration::hours(1);
        let (token, view) = sharing.create("s1", Mode::ReadOnly, later);
        assert_eq!(view.mode, "ro");
        assert_eq!(
            sharing.find(&token),
            Some(("s1".to_owned(), Mode::ReadOnly))
        );
        assert!(sharing.find("nope").is_none());
        let (old, _) = sharing.create("s1", Mode::ReadWrite, Utc::now());
        assert!(sharing.find(&old).is_none(), "expired");
        let p = Arc::new(Participant::new(2, "bob".into(), Mode::ReadOnly, true));
        sharing.join("s1", p.clone());
        assert_eq!(sharing.view("s1").participants.len(), 1);
        assert_eq!(sharing.revoke_all("s1").len(), 1);
        assert!(sharing.find(&token).is_none());
        assert!(p.kick.is_cancelled());
        assert_eq!(p.reason.get().copied(), Some(codes::SHARE_REVOKED));
    }
}
