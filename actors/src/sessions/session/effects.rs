//! What a session does with the client's packets: subscriptions (with retained messages),
//! publishes (routed, retained, acknowledged), acknowledgements, and its end (DISCONNECT, will).

use std::num::NonZeroU16;
use std::time::Duration;

use futures_util::SinkExt;
use rmqtt_codec::types::QoS;
use rmqtt_codec::{v5, MqttPacket};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{ClientPermissions, End, Session};
use crate::metrics::{Counter, Versioned};
use crate::router::shared_filter;
use crate::sessions::connection::Transport;
use crate::sessions::message::{now_ms, Message, RetainHandling, SubOptions};
use crate::sessions::registry::{Kick, SessionExpiry, Will};
use crate::sessions::state::Effect;

impl Session<'_> {
    /// Runs the effects of one packet; answers why the connection ends, if it does.
    pub(super) async fn on_packet<S>(
        &mut self,
        framed: &mut Transport<S>,
        packet: MqttPacket,
    ) -> Option<End>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let permissions = ClientPermissions {
            rules: &self.settings.auth,
            client_id: &self.key.client_id,
            user: self.user.as_deref(),
            metrics: self.sessions.metrics(),
            v5: self.state.is_v5(),
        };
        for effect in self.state.on_packet(packet, &permissions) {
            let sent = match effect {
                Effect::Subscribe { filters, ack } => self.subscribe(framed, filters, ack).await,
                Effect::Unsubscribe { packet_id, filters } => {
                    let existed = self.sessions.unsubscribe(&self.key, self.id, filters).await;
                    let Some(existed) = existed else {
                        return Some(End::RegistryLost);
                    };
                    framed
                        .send(self.state.unsuback(packet_id, &existed))
                        .await
                        .map_err(drop)
                }
                Effect::Publish { message, ack } => match self.publish(message, ack) {
                    Ok(Some(packet)) => framed.send(packet).await.map_err(drop),
                    Ok(None) => Ok(()),
                    Err(reason) => return Some(End::Violation(Some(reason))),
                },
                Effect::Acknowledged(packet_id) => {
                    let known = self.queue.acknowledge(packet_id);
                    self.count_unknown(known, Versioned::PubackInvalidError);
                    Ok(())
                }
                Effect::Completed(packet_id) => {
                    let known = self.queue.acknowledge(packet_id);
                    self.count_unknown(known, Versioned::PubcompInvalidError);
                    Ok(())
                }
                Effect::Received(packet_id) => {
                    let known = self.queue.received(packet_id);
                    self.count_unknown(known, Versioned::PubrecInvalidError);
                    framed
                        .send(self.state.pubrel(packet_id, known))
                        .await
                        .map_err(drop)
                }
                Effect::Released(packet_id) => {
                    let known = self.queue.release(packet_id);
                    framed
                        .send(self.state.pubcomp(packet_id, known))
                        .await
                        .map_err(drop)
                }
                Effect::Send(packet) => framed.send(packet).await.map_err(drop),
                Effect::Disconnect {
                    with_will,
                    session_expiry,
                } => {
                    return Some(End::Normal {
                        with_will,
                        expiry: session_expiry,
                    })
                }
                Effect::Close(reason) => return Some(End::Violation(reason)),
            };
            if sent.is_err() {
                return Some(End::Closed);
            }
        }
        None
    }

    /// Counts an acknowledgement for a packet id that was not in flight.
    fn count_unknown(&self, known: bool, invalid: Versioned) {
        if !known {
            let v5 = self.state.is_v5();
            self.sessions.metrics().count_versioned(invalid, v5);
        }
    }

    /// Subscribes, answers SUBACK, then queues the retained messages the new filters match.
    async fn subscribe<S>(
        &mut self,
        framed: &mut Transport<S>,
        filters: Vec<(String, SubOptions)>,
        ack: MqttPacket,
    ) -> Result<(), ()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let fresh = match filters.is_empty() {
            true => Some(Vec::new()),
            false => {
                self.sessions
                    .subscribe(&self.key, self.id, filters.clone())
                    .await
            }
        };
        framed.send(ack).await.map_err(drop)?;
        let Some(fresh) = fresh else {
            return Ok(());
        };
        let upgrade = self.settings.session.upgrade_outgoing_qos;
        let now = now_ms();
        for ((filter, options), fresh) in filters.iter().zip(fresh) {
            let wanted = match options.retain_handling {
                RetainHandling::AtSubscribe => true,
                RetainHandling::AtNewSubscription => fresh,
                RetainHandling::Never => false,
            };
            // Shared subscriptions get no retained messages (MQTT 5 §4.8.2).
            if !wanted || shared_filter(filter).is_some() {
                continue;
            }
            let retained = self
                .sessions
                .retained()
                .matching(&self.key.mountpoint, filter, now);
            for message in retained {
                self.queue
                    .push(message.for_subscriber(options, true, upgrade));
            }
        }
        Ok(())
    }

    /// Routes (and retains) a publish; answers the ack to send, or why to close.
    fn publish(
        &mut self,
        mut message: Message,
        ack: Option<(NonZeroU16, QoS)>,
    ) -> Result<Option<MqttPacket>, v5::DisconnectReasonCode> {
        if let Some((packet_id, QoS::ExactlyOnce)) = ack {
            if !self.queue.receive_exactly_once(packet_id) {
                // A resend before PUBREL: acknowledged again, routed once.
                return Ok(Some(self.state.publish_ack(
                    packet_id,
                    QoS::ExactlyOnce,
                    true,
                )));
            }
            if self.queue.incoming_unreleased()
                > usize::from(self.settings.session.receive_max_broker)
            {
                return Err(v5::DisconnectReasonCode::ReceiveMaximumExceeded);
            }
        }
        message.stamp_expiry(now_ms());
        let mountpoint = &self.key.mountpoint;
        if message.retain {
            self.sessions.retained().set(mountpoint, &message);
        }
        let upgrade = self.settings.session.upgrade_outgoing_qos;
        let routed = self.sessions.routes().route(mountpoint, &message, upgrade);
        let metrics = self.sessions.metrics();
        metrics.add(Counter::RouterMatchesLocal, routed.matched);
        metrics.add(
            Counter::QueueMessageIn,
            routed.matched - routed.dropped.min(routed.matched),
        );
        metrics.add(Counter::QueueMessageDrop, routed.dropped);
        let matched = routed.matched + routed.remote > 0;
        Ok(ack.map(|(packet_id, qos)| self.state.publish_ack(packet_id, qos, matched)))
    }

    /// Tells an MQTT 5 client why the node closes, then detaches with the will if it is due.
    pub(in crate::sessions) async fn finish<S>(
        &mut self,
        framed: &mut Transport<S>,
        end: End,
        will: Option<Box<Will>>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if let End::Violation(_) = end {
            self.sessions.metrics().count_one(Counter::ProtocolError);
        }
        let reason = match &end {
            End::Kicked(Kick::TakenOver) => Some(v5::DisconnectReasonCode::SessionTakenOver),
            End::Kicked(Kick::Administrative) => {
                Some(v5::DisconnectReasonCode::AdministrativeAction)
            }
            End::Stopping => Some(v5::DisconnectReasonCode::ServerShuttingDown),
            End::RegistryLost => Some(v5::DisconnectReasonCode::UnspecifiedError),
            End::Violation(reason) => *reason,
            End::Normal { .. } | End::Closed => None,
        };
        if let Some(packet) = reason.and_then(|r| self.state.disconnect(r)) {
            let _ = framed.send(packet).await;
        }
        let will = match end {
            End::Normal { with_will, .. } => will.filter(|_| with_will),
            End::Kicked(Kick::TakenOver) if self.settings.session.suppress_lwt_on_takeover => None,
            End::RegistryLost => return,
            _ => will,
        };
        let expiry = match end {
            End::Normal {
                expiry: Some(secs), ..
            } if self.state.is_v5() => Some(match secs {
                u32::MAX => SessionExpiry::Never,
                secs => SessionExpiry::After(Duration::from_secs(u64::from(secs))),
            }),
            _ => None,
        };
        self.sessions
            .detach(&self.key, self.id, will.map(|w| *w), expiry);
    }
}
