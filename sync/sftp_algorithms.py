"""What the SFTP server offers in the SSH handshake: ciphers, MACs, host key signatures and
the version banner, set on each transport through paramiko's public ``SecurityOptions``.

- Ciphers: AES-GCM (one pass in OpenSSL, the fastest paramiko has) and AES-CTR for the
  clients without GCM (curl with libssh2 1.10, older PuTTY and JSch). Never CBC or 3DES.
- MACs (used with CTR only: GCM carries its own): HMAC-SHA2-256/512, encrypt-then-MAC forms
  first. Never SHA-1 or MD5.
- Host keys: Ed25519, and RSA signed with SHA-2 (``rsa-sha2-512``/``-256``), never ``ssh-rsa``
  (SHA-1) signatures.
- Key exchange: paramiko's list (curve25519, ECDH, DH group 14/16 and group exchange, all
  SHA-2; ML-KEM hybrid first).
- The banner names the service, not the library and its version.
"""

from __future__ import annotations

import paramiko

CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr")
MACS = (
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
)
HOST_KEY_ALGORITHMS = ("ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256")
BANNER = "SSH-2.0-Expedito"


def configure(transport: paramiko.Transport) -> None:
    """Offer only the algorithms above, and the banner (before ``start_server``)."""
    options = transport.get_security_options()
    options.ciphers = CIPHERS
    options.digests = MACS
    options.key_types = HOST_KEY_ALGORITHMS
    options.kex = tuple(kex for kex in options.kex if "sha1" not in kex)
    transport.local_version = BANNER
