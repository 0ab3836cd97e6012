"""Recorded sets and channels with certificates about to expire, for the operators' reports,
metrics and *Exploitation* pages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store import senders
from store.batches import (
    BatchError,
    BatchFile,
    BatchSetInfo,
    NewBatchSet,
    mark_processed,
    record_acknowledged,
)
from store.democreds import DemoCredentials
from store.models import Sender
from tests.support.credentials import fixed_certificate
from tests.support.registration import CONTACT, DEMO_USER, person_id, qualite_id, sftp_input

USER = DEMO_USER


def register(
    creds: DemoCredentials,
    expires: datetime | None = None,
    directory: Path | None = None,
    now: datetime | None = None,
) -> Sender:
    """The demo qualité's sender with an SFTP channel; its certificate expires at ``expires``
    (a fixed one, made in ``directory``) or is the demo one."""
    channel = sftp_input(creds)
    if expires is not None:
        assert directory is not None
        channel = replace(
            channel, certificate=fixed_certificate(directory, not_after=expires).read_bytes()
        )
    senders.register_sender(
        person_id("dieter"), qualite_id(), CONTACT, channel, USER, USER, now=now
    )
    return Sender.get()


def in_days(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )


def new_set(
    sender: Sender, sequence: int, at: datetime, env: str = "T", purpose: str = "DMFA"
) -> NewBatchSet:
    """A set of one FI, its FS and the GO in INTEST, received ``at``, as the intake records it."""
    stem = f"{purpose}.{int(sender.number):06d}.{at:%Y%m%d}.{sequence:05d}.{env}"
    files = (
        BatchFile(f"FI.{stem}.1.1", 1234),
        BatchFile(f"FS.{stem}.1.1", 256),
        BatchFile(f"GO.{stem}.1", 0),
    )
    return NewBatchSet(
        int(sender.id),
        None,
        f"GO.{stem}.1",
        "INTEST",
        env,
        purpose,
        f"{at:%Y%m%d}",
        f"{sequence:05d}",
        files,
        at,
    )


def record_set(
    sender: Sender,
    sequence: int,
    at: datetime,
    errors: tuple[str, ...] = (),
    done: bool = True,
    purpose: str = "DMFA",
    env: str = "T",
) -> BatchSetInfo:
    """``new_set`` recorded with its answer (``errors``: the FI's ErrorIDs), processed 5 s
    later unless not ``done``."""
    new = new_set(sender, sequence, at, env, purpose)
    batch = record_acknowledged(
        new,
        [BatchError(code, new.files[0].name) for code in errors],
        env,
        at.date(),
        int(sender.number),
    )
    if done:
        mark_processed(batch.id, at + timedelta(seconds=5))
    return batch
