"""The SFTP server with the real OpenSSH ``sftp`` client: logins, folders, confinement,
revocation, and the same refusal for an unknown user and a wrong key."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from store import senders
from store.batchnames import HOME_FOLDERS
from store.democreds import DemoCredentials
from tests.support.credentials import new_ssh_key
from tests.support.registration import DEMO_USER, person_id, qualite_id, register_demo_sender
from tests.support.sftp import Server, sftp_command, sftp_shell, start_server, write_out_file


@pytest.fixture
def server(demo: SqliteDatabase, tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path)
    yield running
    running.service.stop()


@pytest.fixture
def account(server: Server, demo_credentials: DemoCredentials) -> Server:
    register_demo_sender(demo_credentials)
    server.provision()
    return server


def test_login_refused_before_the_cycle_and_accepted_after(
    server: Server, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    before = server.sftp(demo_credentials, "ls\n")
    assert before.returncode != 0 and "Permission denied (publickey)" in before.stderr
    server.provision(make_homes=False)
    assert not server.home.exists()  # the cycle only records: the first login makes it
    after = server.sftp(demo_credentials, "ls\n")
    assert after.returncode == 0, after.stderr
    for folder in HOME_FOLDERS:
        assert folder in after.stdout.split()
    assert sorted(p.name for p in server.home.iterdir()) == sorted(HOME_FOLDERS)
    again = server.sftp(demo_credentials, "ls\n")  # a later login finds it as it is
    assert again.returncode == 0 and again.stdout == after.stdout, again.stderr


def test_two_first_sessions_at_once_both_get_the_home(
    server: Server, demo_credentials: DemoCredentials
) -> None:
    register_demo_sender(demo_credentials)
    server.provision(make_homes=False)
    command = sftp_command(server.port, demo_credentials.ssh_private_key, DEMO_USER)
    clients = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [client.communicate("ls\n", timeout=30)[0] for client in clients]
    assert [client.returncode for client in clients] == [0, 0, 0, 0]
    for output in outputs:
        assert sorted(set(output.split()) & set(HOME_FOLDERS)) == sorted(HOME_FOLDERS)
    assert sorted(p.name for p in server.home.iterdir()) == sorted(HOME_FOLDERS)


def test_a_home_that_cannot_be_made_refuses_the_login_until_it_can(
    server: Server, demo_credentials: DemoCredentials, caplog: pytest.LogCaptureFixture
) -> None:
    register_demo_sender(demo_credentials)
    server.provision(make_homes=False)
    server.home.write_text("a file where the home should be\n")
    with caplog.at_level(logging.ERROR, logger="expedito.sftp"):
        refused = server.sftp(demo_credentials, "ls\n")
    assert refused.returncode != 0
    assert "your SFTP folders cannot be made now" in refused.stderr
    lines = [r.getMessage() for r in caplog.records if r.name == "expedito.sftp"]
    assert len(lines) == 1 and "cannot be made" in lines[0] and DEMO_USER in lines[0], lines
    assert not any(r.exc_info for r in caplog.records)
    assert server.service.stats.refusals() == {"home": 1}
    assert server.service.sessions(DEMO_USER) == 0  # the refused login holds no session
    server.home.unlink()  # the operator makes room: the next login makes the home
    after = server.sftp(demo_credentials, "ls\n")
    assert after.returncode == 0, after.stderr
    assert sorted(p.name for p in server.home.iterdir()) == sorted(HOME_FOLDERS)


def test_upload_into_in_and_not_elsewhere(
    account: Server, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    local = tmp_path / "FI.DMFA.100001.20261128.00001.T.1.1"
    local.write_bytes(b"batch data\n" * 1000)
    result = account.sftp(demo_credentials, f"put {local.name} INTEST/\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    received = account.home / "INTEST" / local.name
    assert received.read_bytes() == local.read_bytes()
    assert sorted(p.name for p in (account.home / "INTEST").iterdir()) == [local.name]
    ((who, path),) = account.uploads
    assert (who.technical_user, who.sender_number, path) == (DEMO_USER, 100001, received)
    for target in ("OUT/", "/", "OUTTEST/x", "IN/sub/x"):
        refused = account.sftp(demo_credentials, f"put {local.name} {target}\n", cwd=tmp_path)
        assert refused.returncode != 0, target
    assert not list((account.home / "OUT").iterdir())
    assert sorted(p.name for p in account.home.iterdir()) == sorted(
        ["IN", "INTEST", "INTEST-S", "OUT", "OUTTEST", "OUTTEST-S"]
    )
    # never over an existing file; no folders, links or deletions in IN
    for command in (
        f"put {local.name} INTEST/",
        "mkdir IN/sub",
        "rmdir OUT",
        f"ln -s INTEST/{local.name} IN/link",
        f"rm INTEST/{local.name}",
        f"rename INTEST/{local.name} OUT/x",
        f"get INTEST/{local.name} copy",
        "chmod 777 OUTTEST",
        "chmod 777 INTEST",
    ):
        refused = account.sftp(demo_credentials, command + "\n", cwd=tmp_path)
        assert refused.returncode != 0, command
    # a chmod of one's own upload is answered, and ignored (sync.sftp_uploads)
    assert account.sftp(demo_credentials, f"chmod 777 INTEST/{local.name}\n").returncode == 0
    assert received.stat().st_mode & 0o777 == 0o640
    assert received.read_bytes() == local.read_bytes()
    assert len(account.uploads) == 1


def test_read_and_delete_in_out(
    account: Server, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    write_out_file(
        account.homes, DEMO_USER, "OUTTEST", "FO.ACRF.999999.20261128.00001.T", b"<ack/>"
    )
    result = account.sftp(
        demo_credentials,
        "ls OUTTEST\nget OUTTEST/FO.ACRF.999999.20261128.00001.T ack.xml\n"
        "rm OUTTEST/FO.ACRF.999999.20261128.00001.T\n",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ack.xml").read_bytes() == b"<ack/>"
    assert not list((account.home / "OUTTEST").iterdir())


def test_large_transfers_arrive_intact(
    account: Server, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    """Many 255 KB requests in flight, each spread over many SSH packets, both ways."""
    payload = os.urandom(9 * 1024 * 1024 + 12_345)
    (tmp_path / "big").write_bytes(payload)
    write_out_file(account.homes, DEMO_USER, "OUT", "big", payload)
    result = account.sftp(demo_credentials, "put big IN/big\nget OUT/big back\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (account.home / "IN" / "big").read_bytes() == payload
    assert (tmp_path / "back").read_bytes() == payload


def test_nothing_outside_the_home_is_reachable(
    account: Server, tmp_path: Path, demo_credentials: DemoCredentials
) -> None:
    secret = account.homes / "secret.txt"
    secret.write_text("top secret")
    other = account.homes / "OTHERUSER1" / "OUT"
    other.mkdir(parents=True)
    (other / "theirs").write_text("top secret")
    # links planted on disk, in an OUT folder, pointing out of the home
    os.symlink(secret, account.home / "OUT" / "link")
    os.symlink("../../OTHERUSER1/OUT/theirs", account.home / "OUT" / "relative")
    os.symlink("/etc", account.home / "OUT" / "etc")
    attempts = [
        "get ../secret.txt a",
        "get /../secret.txt b",
        "get ../../../etc/passwd c",
        "get //etc/passwd d",
        "get /etc/passwd e",
        "get OUT/../../secret.txt f",
        "get OUT/link g",
        "get OUT/relative h",
        "get OUT/etc/passwd i",
        "get ../OTHERUSER1/OUT/theirs j",
        "get %2e%2e/secret.txt k",
        "get OUT/..%2f..%2fsecret.txt l",
        "rm OUT/link",
        "rm ../secret.txt",
        "put /etc/hostname ../x",
        "put /etc/hostname OUT/etc/x",
    ]
    client = tmp_path / "client"
    client.mkdir()
    for command in attempts:
        result = account.sftp(demo_credentials, command + "\n", cwd=client)
        assert result.returncode != 0, command
    assert not list(client.iterdir())
    assert secret.read_text() == "top secret" and (account.home / "OUT" / "link").is_symlink()
    # listing: / is the home, .. stays there
    listing = account.sftp(demo_credentials, "ls -1 /\nls -1 ..\nls -1 ../..\ncd ..\npwd\n")
    assert listing.returncode == 0, listing.stderr
    assert "secret.txt" not in listing.stdout and "OTHERUSER1" not in listing.stdout
    assert "Remote working directory: /" in listing.stdout
    # a home folder replaced by a link leading out is refused too
    (account.home / "OUTTEST").rmdir()
    os.symlink(other, account.home / "OUTTEST")
    leak = account.sftp(demo_credentials, "get OUTTEST/theirs z\n", cwd=client)
    assert leak.returncode != 0 and not list(client.iterdir())
    assert account.sftp(demo_credentials, "ls OUTTEST\n").returncode != 0


def test_deletion_ends_an_open_session_and_later_logins(
    account: Server, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.write_bytes(b"x" * 100)
    client = sftp_shell(account.port, demo_credentials.ssh_private_key, DEMO_USER, tmp_path)
    assert client.stdin is not None
    try:
        client.stdin.write("put data IN/first\n")
        client.stdin.flush()
        deadline = time.monotonic() + 15
        while not (account.home / "IN" / "first").exists():
            assert time.monotonic() < deadline and client.poll() is None
            time.sleep(0.05)
        senders.delete_sender(person_id("dieter"), qualite_id())
        client.stdin.write("put data IN/second\n")
        client.stdin.flush()
        client.wait(timeout=15)
    finally:
        if client.poll() is None:
            client.kill()
        client.communicate()
    assert client.returncode != 0
    assert not (account.home / "IN" / "second").exists()
    assert not [p for p in (account.home / "IN").iterdir() if p.name != "first"]
    refused = account.sftp(demo_credentials, "ls\n")
    assert refused.returncode != 0 and "Permission denied (publickey)" in refused.stderr


def test_unknown_user_and_wrong_key_get_the_same_refusal(
    account: Server, demo_credentials: DemoCredentials, tmp_path: Path
) -> None:
    wrong_key, _ = new_ssh_key(tmp_path)
    wrong = account.sftp(demo_credentials, "ls\n", key=wrong_key)
    unknown = account.sftp(demo_credentials, "ls\n", user="NOSUCHUSER1")
    case = account.sftp(demo_credentials, "ls\n", user=DEMO_USER.lower())
    assert wrong.returncode == unknown.returncode == case.returncode != 0
    expected = wrong.stderr.replace(DEMO_USER, "USER")
    assert expected == unknown.stderr.replace("NOSUCHUSER1", "USER")
    assert expected == case.stderr.replace(DEMO_USER.lower(), "USER")
    assert "Permission denied (publickey)" in expected


@pytest.mark.parametrize(
    ("cipher", "mac"),
    [
        ("aes128-gcm@openssh.com", "hmac-sha2-256-etm@openssh.com"),  # GCM: its own tag
        ("aes256-ctr", "hmac-sha2-512-etm@openssh.com"),  # encrypt-then-MAC: short path
        ("aes128-ctr", "hmac-sha2-256"),  # MAC-then-encrypt: paramiko's own path
    ],
)
def test_every_cipher_moves_a_file_both_ways_whole(
    account: Server, demo_credentials: DemoCredentials, tmp_path: Path, cipher: str, mac: str
) -> None:
    """6 MB up and down (hundreds of packets, more than a window of the client's) with each
    kind of cipher the server offers: the short paths of sync/ssh_packets.py (GCM, ETM) and
    paramiko's, byte for byte."""
    data = os.urandom(6 * 1024 * 1024 + 12345)
    (tmp_path / "up.bin").write_bytes(data)
    write_out_file(account.homes, DEMO_USER, "OUT", "down.bin", data)
    key = demo_credentials.ssh_private_key
    done = subprocess.run(
        sftp_command(account.port, key, DEMO_USER, "-c", cipher, "-o", f"MACs={mac}", "-v"),
        input="put up.bin IN/up.bin\nget OUT/down.bin got.bin\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"cipher: {cipher} MAC: {'<implicit>' if 'gcm' in cipher else mac}" in done.stderr
    assert (account.home / "IN" / "up.bin").read_bytes() == data
    assert (tmp_path / "got.bin").read_bytes() == data
