"""The system accounts of the technical users, when OpenSSH is the SFTP front: one fact each.

Each technical user is a system user of the same name whose uid is ``UID_BASE`` + its
sender's id (the sender id never changes nor is reused, the name neither), with a private
group of the same name and id, and ``GROUP`` (gid ``UID_BASE``) as a supplementary group:
the ``Match Group`` of the sshd fragment. ``expedito authorized-keys USER UID`` answers only
for that uid, so a technical user named like a system user of the machine (``messagebus``
is a valid name) never lends that user a key.

Cheap to import: ``expedito authorized-keys`` reads it at every login.
"""

from __future__ import annotations

GROUP = "expedito-sftp"
UID_BASE = 2_000_000
SHELL = "/usr/sbin/nologin"


def uid_of(sender_id: int) -> int:
    """The uid (and gid of the private group) of the sender's technical user."""
    return UID_BASE + sender_id


KEYS_DIR_NAME = "expedito-keys"


def keys_dir_of(homes_root: str) -> str:
    """Where the front keeps one ``authorized_keys`` file per live technical user (sshd's
    ``AuthorizedKeysFile <dir>/%u``) by default: beside the homes, ``<homes>/../expedito-keys``
    (root's, like the homes root: sshd's StrictModes checks every directory above it)."""
    import os.path

    return os.path.join(os.path.dirname(os.path.abspath(homes_root)), KEYS_DIR_NAME)
