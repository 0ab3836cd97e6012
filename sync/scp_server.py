"""Ending a session channel the way clients expect: an ``exit-status`` before the close."""

from __future__ import annotations

import contextlib

import paramiko


def send_exit_status(channel: paramiko.Channel, status: int) -> None:
    """Tell the client how the session's program ended (OpenSSH ``scp``, ``ssh -s sftp`` and
    libraries read it as the command's exit code; without it they report failure)."""
    if channel.closed:
        return
    with contextlib.suppress(Exception):  # the client may have gone meanwhile
        channel.send_exit_status(status)
