"""OpenSSH's sshd + internal-sftp as the SFTP front (issue 15): the ``sshd_config`` fragment,
the ``AuthorizedKeysCommand``, the system accounts and chroot homes kept after each cycle, and the
intake following the folders. The embedded paramiko server stays the default front."""
