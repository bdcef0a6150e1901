//! Writing to the client, and ending a connection so that the client hears why.
//!
//! A write can be cut short: by a shutdown (a client that does not read is not waited for),
//! or by the room cutting the connection off. Cut off as too slow (4008), the frames still
//! queued are given up at once; cut off for another reason (removed, room deleted), what the
//! room queued before goes out if the client takes it within [`SLOW_CLOSE`].
//!
//! Ending takes three steps, each bounded in time: hand over what the client is owed (the
//! answers to the commands already passed to the room, and whatever else is queued), send the
//! close frame, then read and discard what the client still sends until its own close frame.
//! Dropping a socket with unread data in it makes the kernel reset the connection, and a reset
//! throws away what was still on its way to the client: the answers and the close frame.

use std::future::Future;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use circlekeeper_protocol::close;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::time::Instant;

use super::{Connection, CLOSE_LINGER, DRAIN, SLOW_CLOSE, WRITE_BATCH};
use crate::live::room::{outbox, Cutoff, Outbound};
use crate::metrics::Disconnect;

/// How the conversation with the client ended.
pub(super) enum End {
    /// The server closes with this code and reason.
    Close(u16, &'static str),
    /// There is nobody to tell: the client closed, or the connection broke (or the server is
    /// shutting down and the client was not reading).
    Gone(Disconnect),
}

/// The reason text sent with a close code the room chose.
pub(super) fn room_reason(code: u16) -> &'static str {
    match code {
        close::TOO_SLOW => "too many frames waiting: reconnect and resume",
        close::REMOVED => "you are no longer in this room",
        close::ROOM_DELETED => "the room was deleted",
        close::ROOM_MOVED => "the room moved to another node: reconnect and resume",
        _ => "the room has closed: reconnect and resume",
    }
}

/// A close frame.
pub(super) fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// Write frames and flush them once; `false` if the connection failed. The websocket library
/// gathers them in its write buffer, so that one system call carries many.
async fn write_all<S, I>(sink: &mut S, frames: I) -> bool
where
    S: Sink<Message> + Unpin,
    I: IntoIterator<Item = Message>,
{
    for frame in frames {
        if sink.feed(frame).await.is_err() {
            return false;
        }
    }
    sink.flush().await.is_ok()
}

/// Write frames unless the server shuts down, or the room cuts the connection off as too slow
/// (its queued frames are given up), or, once the room cut it off for another reason
/// (`cut_seen`), [`SLOW_CLOSE`] passes. Returns how long the write took.
///
/// The write runs in a boxed future, made and freed as it runs: held inline, it would take
/// some 600 bytes in every connection's task, idle or not.
pub(super) async fn write_or_stop<S, F, I>(
    sink: &mut S,
    frames: I,
    shutdown: &mut F,
    cutoff: &Cutoff,
    cut_seen: &mut Option<Instant>,
) -> Result<Duration, End>
where
    S: Sink<Message> + Unpin,
    F: Future + Unpin,
    I: IntoIterator<Item = Message>,
{
    Box::pin(write_or_stop_inline(
        sink, frames, shutdown, cutoff, cut_seen,
    ))
    .await
}

async fn write_or_stop_inline<S, F, I>(
    sink: &mut S,
    frames: I,
    shutdown: &mut F,
    cutoff: &Cutoff,
    cut_seen: &mut Option<Instant>,
) -> Result<Duration, End>
where
    S: Sink<Message> + Unpin,
    F: Future + Unpin,
    I: IntoIterator<Item = Message>,
{
    if cutoff.code() == Some(close::TOO_SLOW) {
        return Err(too_slow());
    }
    let started = Instant::now();
    let write = write_all(sink, frames);
    tokio::pin!(write);
    loop {
        let give_up = cut_seen.map(|at| at + SLOW_CLOSE);
        let deadline = async {
            match give_up {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // The write first: one that goes through at once (the usual case) never registers
            // with the shutdown or the cut-off.
            biased;
            ok = &mut write => {
                return if ok { Ok(started.elapsed()) } else { Err(End::Gone(Disconnect::Reset)) };
            }
            // A client that stops reading blocks the write: a shutdown does not wait for it
            // (nor can it be told anything: the socket is full).
            _ = &mut *shutdown => return Err(End::Gone(Disconnect::Reset)),
            code = cutoff.wait(), if cut_seen.is_none() => {
                if code == close::TOO_SLOW {
                    return Err(too_slow());
                }
                *cut_seen = Some(Instant::now());
            }
            _ = deadline => {
                let code = cutoff.code().unwrap_or(close::GOING_AWAY);
                return Err(End::Close(code, room_reason(code)));
            }
        }
    }
}

/// The end of a connection the room cut off as too slow.
pub(super) fn too_slow() -> End {
    End::Close(close::TOO_SLOW, room_reason(close::TOO_SLOW))
}

impl Connection {
    /// Take what the room sent: its frames go onto `frames`, in order, and the answers among
    /// them are counted as no longer owed.
    pub(super) fn take(&mut self, out: Outbound, frames: &mut Vec<Utf8Bytes>) {
        let answers = out.taken(&self.cutoff, frames);
        self.in_flight = self.in_flight.saturating_sub(answers);
    }

    /// Before closing: write the refusals not yet written, wait for the answers to the commands
    /// passed to the room and write them with whatever else is queued; at most [`DRAIN`].
    pub(super) async fn drain<S>(&mut self, sink: &mut S, rx: &mut outbox::Receiver<Outbound>)
    where
        S: Sink<Message> + Unpin,
    {
        let owed = async {
            let mut frames: Vec<Utf8Bytes> = std::mem::take(&mut self.replies);
            loop {
                while frames.len() < WRITE_BATCH {
                    let Some(out) = rx.try_recv() else { break };
                    self.take(out, &mut frames);
                }
                if frames.is_empty() {
                    if self.in_flight == 0 {
                        return;
                    }
                    match rx.recv().await {
                        Some(out) => self.take(out, &mut frames),
                        None => return,
                    }
                    continue;
                }
                if !write_all(sink, frames.drain(..).map(Message::Text)).await {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN, owed).await;
    }
}

/// Send the close frame, and read and discard what the client sends until its close frame
/// answers ours (or the connection ends), for at most `bound` ([`CLOSE_LINGER`], or
/// [`SLOW_CLOSE`] for a client that stopped reading).
pub(super) async fn close_and_linger<S, R, E>(
    sink: &mut S,
    stream: &mut R,
    code: u16,
    reason: &'static str,
    bound: Duration,
) where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let send = async {
        let _ = sink.send(close_message(code, reason)).await;
    };
    let discard = async {
        while let Some(Ok(msg)) = stream.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(bound, async { tokio::join!(send, discard) }).await;
}

/// How long the close may take for a connection ending with `code`.
pub(super) fn close_bound(code: u16) -> Duration {
    if code == close::TOO_SLOW {
        SLOW_CLOSE
    } else {
        CLOSE_LINGER
    }
}
