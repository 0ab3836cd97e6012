"""The Routing Module (DestHa): per declaration flow, who receives the institutions' messages
and on which channel — the e-Box or one of the sender's batch channels.

Without a choice, a flow goes to the qualité itself on its e-Box (no mandatary).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store.access import require_manager, require_role
from store.audit import record
from store.db import db
from store.errors import ValidationError
from store.models import DELETED, Channel, RoutingChoice, Sender

EBOX = "EBOX"
OWN = "own"  # the qualité itself; no mandatary is registered in Expedito

# Flows of messages from the institutions, by the application they come from.
FLOWS: tuple[tuple[str, str], ...] = (
    ("dmfa_notifications", "dmfa"),
    ("dimona_answers", "dimona"),
    ("drs_answers", "drs"),
    ("chomage_answers", "chomage"),
    ("chantier_answers", "chantier"),
)


@dataclass(frozen=True)
class RoutingRow:
    flow: str
    application: str
    recipient: str
    channel: str  # EBOX or a channel kind (SFTP, FTP, MQLINK, WEBSERVICE)
    is_default: bool


def _batch_channels(qualite_id: int) -> list[str]:
    return [
        c.kind
        for c in Channel.select(Channel.kind)
        .join(Sender)
        .where(
            (Sender.qualite == qualite_id)
            & (Sender.active == True)  # noqa: E712
            & (Channel.status != DELETED)
        )
        .order_by(Channel.id)
    ]


def channel_choices(qualite_id: int) -> list[str]:
    """The channels a flow may go to: the e-Box, and each live batch channel of the sender."""
    return [EBOX, *_batch_channels(qualite_id)]


def routing_table(actor_id: int, qualite_id: int) -> list[RoutingRow]:
    require_role(actor_id, qualite_id)
    chosen = {r.flow: r for r in RoutingChoice.select().where(RoutingChoice.qualite == qualite_id)}
    return [
        RoutingRow(
            flow,
            app,
            chosen[flow].recipient if flow in chosen else OWN,
            chosen[flow].channel_kind if flow in chosen else EBOX,
            flow not in chosen,
        )
        for flow, app in FLOWS
    ]


def set_route(
    actor_id: int, qualite_id: int, flow: str, channel: str, now: datetime | None = None
) -> RoutingRow:
    flows = dict(FLOWS)
    if flow not in flows:
        raise ValidationError("routing.flow", "unknown flow", "flow", flow=flow)
    with db.atomic("IMMEDIATE"):
        require_manager(actor_id, qualite_id)
        if channel not in channel_choices(qualite_id):
            raise ValidationError(
                "routing.channel", "the sender has no such channel", "channel", channel=channel
            )
        if channel == EBOX:
            RoutingChoice.delete().where(
                (RoutingChoice.qualite == qualite_id) & (RoutingChoice.flow == flow)
            ).execute()
        else:
            RoutingChoice.insert(
                qualite=qualite_id, flow=flow, recipient=OWN, channel_kind=channel
            ).on_conflict(
                conflict_target=[RoutingChoice.qualite, RoutingChoice.flow],
                update={RoutingChoice.channel_kind: channel},
            ).execute()
        record("routing.set", actor_id, qualite_id, at=now, flow=flow, channel=channel)
    return RoutingRow(flow, flows[flow], OWN, channel, channel == EBOX)


def fall_back_to_ebox(qualite_id: int, kinds: list[str] | None = None) -> int:
    """Flows routed to a channel that is going away return to the e-Box (inside the caller's
    transaction). ``None`` means every batch channel."""
    query = RoutingChoice.delete().where(RoutingChoice.qualite == qualite_id)
    if kinds is not None:
        query = query.where(RoutingChoice.channel_kind.in_(kinds))
    return int(query.execute())
