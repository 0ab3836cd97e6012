"""A paramiko SFTP client as a partner's script would use it, one step per run (exit status 0
when it worked), for the interop tests: run by the project's paramiko and by an old one
(2.12, Debian 12's) in its own virtual environment.

    python paramiko_client.py PORT KEY USER ls FOLDER
    python paramiko_client.py PORT KEY USER put FOLDER FILE...   (put, confirm=True, then utime)
    python paramiko_client.py PORT KEY USER get REMOTE LOCAL
    python paramiko_client.py PORT KEY USER rm REMOTE
"""

from __future__ import annotations

import os
import sys

import paramiko


def main(argv: list[str]) -> int:
    port, key, user, step, *args = argv
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        "127.0.0.1",
        int(port),
        user,
        key_filename=key,
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    try:
        sftp = client.open_sftp()
        if step == "ls":
            print("\n".join(sorted(sftp.listdir(args[0]))))
        elif step == "put":
            folder, *files = args
            for local in files:
                remote = f"{folder}/{os.path.basename(local)}"
                sftp.put(local, remote)  # confirm=True: a STAT after the close
                status = os.stat(local)
                sftp.utime(remote, (status.st_atime, status.st_mtime))
        elif step == "get":
            sftp.get(args[0], args[1])
        elif step == "rm":
            sftp.remove(args[0])
        else:
            print(f"unknown step {step}", file=sys.stderr)
            return 2
        sftp.close()
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
