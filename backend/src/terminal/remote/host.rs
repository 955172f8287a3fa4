//! The hosting side: requests from other replicas about sessions that run here, and the bridges
//! that stand in, on this replica, for their sockets.
//!
//! A bridge is bound to the hub exactly as a local socket is (owner attach or participant
//! join), so the hub's rules hold unchanged across replicas: it never waits for a bridge; a
//! bridge that cannot keep up lags in the hub's backlog and is then skipped, and so on. The
//! bridge publishes each output chunk and awaits the publish before taking the next, so its
//! pace is Redis's, and keeps at most a flow window unacknowledged by the viewer replica
//! (`proxy.rs` acks what its socket took), so a slow browser there lags here, in the hub.
//! Inbound frames (stdin, resize, close, leave, ping, acks) are handled by a task of their own,
//! so a paste waiting for SSH window never holds output up.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wire::terminal::{codes, ParticipantView};

use super::protocol::{Answer, Call, Frame, Joiner, Kicked};
use super::{directory, PING_EVERY, SILENCE};
use crate::cluster::{Cluster, Incoming, Request};
use crate::state::AppState;
use crate::terminal::attachment::{changed, kick_message, kicked, request_attach};
use crate::terminal::flow::Flow;
use crate::terminal::input::Input;
use crate::terminal::share_ws::Participation;
use crate::terminal::sharing::{Mode, Participant};
use crate::terminal::viewer::{Attached, CloseReason, Command, Ending, Output};
use crate::terminal::{access, api, share_api};

/// Serves other replicas until shutdown: requests, and broadcasts (access re-checks).
pub async fn serve(state: AppState, cluster: Cluster, mut incoming: Incoming) {
    loop {
        tokio::select! {
            Some(request) = incoming.requests.recv() => {
                let (state, cluster) = (state.clone(), cluster.clone());
                state.terminals.tracker().clone().spawn(handle(state, cluster, request));
            }
            Some(body) = incoming.broadcasts.recv() => {
                let state = state.clone();
                tokio::spawn(async move { access::on_broadcast(&state, body).await });
            }
            _ = state.shutdown.cancelled() => break,
            else => break,
        }
    }
}

async fn handle(state: AppState, cluster: Cluster, request: Request) {
    let call: Call = match serde_json::from_value(request.body.clone()) {
        Ok(call) => call,
        Err(e) => {
            tracing::warn!(error = %e, from = %request.from, "ignored a malformed terminal request");
            return cluster.reply(&request, &Answer::NotFound).await;
        }
    };
    let sharing = state.terminals.sharing().clone();
    let answer = match call {
        Call::Attach {
            bridge,
            session_id,
            user_id,
            offset,
            size,
        } => {
            return attach(
                state, cluster, request, bridge, session_id, user_id, offset, size,
            )
            .await
        }
        Call::Join {
            bridge,
            session_id,
            share,
            participant,
        } => {
            return join(
                state,
                cluster,
                request,
                bridge,
                session_id,
                share,
                participant,
            )
            .await
        }
        Call::Close {
            session_id,
            access_revoked,
        } => match state.terminals.get(&session_id) {
            Some((_, commands)) => {
                let reason = if access_revoked {
                    CloseReason::AccessRevoked
                } else {
                    CloseReason::Requested
                };
                api::close_and_wait(&commands, reason).await;
                Answer::Done
            }
            None => Answer::NotFound,
        },
        Call::ShareCreate {
            session_id,
            mode,
            expires_at,
        } => match (state.terminals.get(&session_id), Mode::parse(&mode)) {
            (Some(_), Some(mode)) => {
                let (token, share) =
                    share_api::create_link(&state, &session_id, mode, expires_at).await;
                Answer::Created { token, share }
            }
            _ => Answer::NotFound,
        },
        Call::ShareList { session_id } => match state.terminals.get(&session_id) {
            Some(_) => Answer::Sharing {
                sharing: sharing.view(&session_id),
            },
            None => Answer::NotFound,
        },
        Call::ShareRevoke { session_id } => match state.terminals.get(&session_id) {
            Some(_) => Answer::Revoked {
                count: share_api::revoke_links(&state, &session_id).await,
            },
            None => Answer::NotFound,
        },
        Call::Kick {
            session_id,
            participant_id,
        } => Answer::Kicked {
            participant: sharing.kick(&session_id, &participant_id).map(|p| Kicked {
                username: p.username.clone(),
                user_id: p.user_id,
            }),
        },
    };
    cluster.reply(&request, &answer).await;
}

#[allow(clippy::too_many_arguments)]
async fn attach(
    state: AppState,
    cluster: Cluster,
    request: Request,
    bridge: String,
    session_id: String,
    user_id: i32,
    offset: Option<u64>,
    size: Option<(u32, u32)>,
) {
    // Routed before answering, so no frame the viewer sends after the answer is missed.
    let route = cluster.frames_of(&bridge);
    let found = state.terminals.owned(&session_id, user_id);
    let attached = match &found {
        Some((_, commands)) => request_attach(commands, offset).await,
        None => None,
    };
    let (Some((info, commands)), Some(attached)) = (found, attached) else {
        return cluster.reply(&request, &Answer::NotFound).await;
    };
    if let Some((cols, rows)) = size {
        let input = &attached.input;
        state.terminals.resize(&session_id, input, cols, rows).await;
    }
    cluster
        .reply(
            &request,
            &Answer::Bound {
                owner: info.owner,
                mode: Mode::ReadWrite.as_str().to_owned(),
            },
        )
        .await;
    let bridge = Bridge {
        state: state.clone(),
        cluster,
        down: Cluster::bridge_channel(&request.from, &bridge),
        session_id: session_id.clone(),
        commands,
        participant: None,
    };
    let roster = state.terminals.sharing().roster(&session_id);
    bridge.run(attached, route, Some(roster)).await;
}

async fn join(
    state: AppState,
    cluster: Cluster,
    request: Request,
    bridge: String,
    session_id: String,
    share: Option<String>,
    joiner: Joiner,
) {
    let route = cluster.frames_of(&bridge);
    let sharing = state.terminals.sharing();
    let admitted = match &share {
        Some(digest) => sharing
            .find_digest(digest)
            .filter(|(id, _)| *id == session_id)
            .map(|(_, mode)| (mode, true)),
        None => Some((Mode::ReadOnly, false)),
    };
    let found = state.terminals.get(&session_id);
    let (Some((mode, via_share)), Some((info, commands))) = (admitted, found) else {
        return cluster.reply(&request, &Answer::NotFound).await;
    };
    let participant = Arc::new(Participant::with_id(
        joiner.id,
        joiner.user_id,
        joiner.username,
        mode,
        via_share,
    ));
    let begun = Participation::begin(&state, &session_id, &info, &commands, participant.clone());
    let Some((participation, attached)) = begun.await else {
        return cluster.reply(&request, &Answer::NotFound).await;
    };
    cluster
        .reply(
            &request,
            &Answer::Bound {
                owner: info.owner,
                mode: mode.as_str().to_owned(),
            },
        )
        .await;
    let bridge = Bridge {
        state,
        cluster,
        down: Cluster::bridge_channel(&request.from, &bridge),
        session_id,
        commands,
        participant: Some(participant),
    };
    bridge.run(attached, route, None).await;
    participation.end().await;
}

/// Most output frames published in one round trip to Redis.
const MAX_BATCH: usize = 8;

struct Bridge {
    state: AppState,
    cluster: Cluster,
    /// Where frames for the viewer replica go.
    down: String,
    session_id: String,
    commands: mpsc::Sender<Command>,
    /// Set for a participant's bridge.
    participant: Option<Arc<Participant>>,
}

impl Bridge {
    async fn send(&self, frame: Frame) -> bool {
        self.cluster
            .publish(&self.down, &frame.encode())
            .await
            .is_ok()
    }

    async fn run(
        self,
        attached: Attached,
        route: crate::cluster::Route,
        mut roster: Option<watch::Receiver<Vec<ParticipantView>>>,
    ) {
        let Attached {
            replay,
            mut output,
            mut ending,
            input,
        } = attached;
        for chunk in replay.chunks {
            if !self.send(Frame::ReplayChunk(chunk)).await {
                return;
            }
        }
        // The roster comes before the replay ends, so the remote socket greets with it, as a
        // local owner's does.
        if let Some(rx) = &mut roster {
            let list = rx.borrow_and_update().clone();
            if !list.is_empty() && !self.send(Frame::Roster(list)).await {
                return;
            }
        }
        if !self.send(Frame::ReplayEnd(replay.offset)).await {
            return;
        }
        let done = CancellationToken::new();
        // The viewer replica acks what its socket took; at most a window goes unacknowledged,
        // so a slow browser there backs up into this hub's backlog (then `skipped`), exactly
        // as it would connected here, and the viewer replica buffers no more than a window.
        let flow = Arc::new(Flow::default());
        let inbound = tokio::spawn(self.inbound(route, input, flow.clone(), done.clone()));
        let mut ping = tokio::time::interval(PING_EVERY);
        let mut sent: u64 = 0;
        loop {
            let paused = flow.must_wait(sent);
            tokio::select! {
                biased;
                end = &mut ending => {
                    self.goodbye(end.ok(), &mut output).await;
                    break;
                }
                _ = done.cancelled() => break,
                code = kicked(self.participant.as_deref()) => {
                    let message = kick_message(code).to_owned();
                    self.send(Frame::Error { code: code.to_owned(), message }).await;
                    break;
                }
                Some(list) = changed(roster.as_mut()) => {
                    if !self.send(Frame::Roster(list)).await {
                        break;
                    }
                }
                _ = flow.acks.notified(), if paused => {}
                item = output.recv(), if !paused => {
                    let Some(first) = item else {
                        let end = (&mut ending).await.ok();
                        self.goodbye(end, &mut output).await;
                        break;
                    };
                    // What else the hub has queued goes in the same round trip to Redis.
                    let mut frames = Vec::with_capacity(MAX_BATCH);
                    let mut next = Some(first);
                    while let Some(item) = next.take() {
                        frames.push(match item {
                            Output::Data(chunk) => {
                                sent += chunk.len() as u64;
                                Frame::Data(chunk).encode()
                            }
                            Output::Skipped(n) => Frame::Skipped(n).encode(),
                        });
                        if frames.len() < MAX_BATCH && !flow.must_wait(sent) {
                            next = output.try_recv().ok();
                        }
                    }
                    // Nobody listens for this bridge any more: its viewer replica is gone.
                    if self.cluster.publish_all(&self.down, &frames).await.is_err() {
                        break;
                    }
                }
                _ = ping.tick() => {
                    if !self.send(Frame::Ping).await {
                        break;
                    }
                }
            }
        }
        done.cancel();
        let _ = inbound.await;
        // Dropping the view here detaches the owner (or removes the joiner) at the hub.
    }

    async fn goodbye(&self, end: Option<Ending>, output: &mut mpsc::Receiver<Output>) {
        match end {
            Some(Ending::Exited { code, tail }) => {
                let queued = std::iter::from_fn(|| output.try_recv().ok());
                for item in queued.chain(tail).collect::<Vec<_>>() {
                    let frame = match item {
                        Output::Data(chunk) => Frame::Data(chunk),
                        Output::Skipped(n) => Frame::Skipped(n),
                    };
                    if !self.send(frame).await {
                        return;
                    }
                }
                self.send(Frame::Exited(code)).await;
            }
            Some(Ending::Error { code, message }) => {
                let code = code.to_owned();
                self.send(Frame::Error { code, message }).await;
            }
            None => {
                let code = codes::SESSION_NOT_FOUND.to_owned();
                let message = "the session has ended".to_owned();
                self.send(Frame::Error { code, message }).await;
            }
        }
    }

    /// The viewer's frames: stdin, resize, close, leave, pings. Ends the bridge (`done`) when
    /// the viewer leaves or falls silent for [`SILENCE`].
    fn inbound(
        &self,
        mut route: crate::cluster::Route,
        input: Input,
        flow: Arc<Flow>,
        done: CancellationToken,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let state = self.state.clone();
        let session_id = self.session_id.clone();
        let commands = self.commands.clone();
        let participant = self.participant.clone();
        async move {
            let author: Option<Arc<str>> = participant.as_ref().map(|p| p.username.as_str().into());
            let may_type = participant
                .as_ref()
                .is_none_or(|p| p.mode == Mode::ReadWrite);
            let owner = participant.is_none();
            let mut last_heard = Instant::now();
            let mut check = tokio::time::interval(PING_EVERY);
            loop {
                let frame = tokio::select! {
                    _ = done.cancelled() => break,
                    _ = check.tick() => {
                        if last_heard.elapsed() > SILENCE {
                            tracing::warn!(session_id, "a remote viewer fell silent; unbinding it");
                            break;
                        }
                        continue;
                    }
                    f = route.frames.recv() => f,
                };
                let Some(frame) = frame else { break };
                last_heard = Instant::now();
                match Frame::decode(frame) {
                    Some(Frame::Data(bytes)) if may_type => {
                        if let Some(p) = &participant {
                            p.typed.fetch_add(
                                bytes.len() as u64,
                                std::sync::atomic::Ordering::Relaxed,
                            );
                        }
                        tokio::select! {
                            _ = input.write(bytes, author.as_ref()) => {}
                            _ = done.cancelled() => break,
                        }
                    }
                    Some(Frame::Resize(cols, rows)) if owner => {
                        state
                            .terminals
                            .resize(&session_id, &input, cols, rows)
                            .await;
                    }
                    Some(Frame::Close) if owner => {
                        let _ = commands.send(Command::Close(CloseReason::Requested)).await;
                    }
                    Some(Frame::Ack(bytes)) => flow.ack(bytes),
                    Some(Frame::Leave) => break,
                    _ => {}
                }
            }
            done.cancel();
        }
    }
}

/// Keeps this replica's sessions in the directory: rewrites every entry each
/// [`directory::REFRESH`], until shutdown.
pub async fn refresh(state: AppState, cluster: Cluster) {
    let mut tick = tokio::time::interval(directory::REFRESH);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = state.shutdown.cancelled() => break,
        }
        let entries: Vec<_> = state
            .terminals
            .all()
            .into_iter()
            .map(|(id, info, _)| (id, directory::Entry::of(cluster.replica(), &info)))
            .collect();
        match directory::publish(&cluster, &entries).await {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "cannot list this replica's terminals in redis");
            }
            Err(_) => {}
        }
    }
}
