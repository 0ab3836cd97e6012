"""What common clients do by default, each accepted (paramiko playing each client's exact
requests): set times and mode on their upload, upload under a temporary name then rename,
look at a file while and just after writing it; and an empty upload left so commits nothing."""

from __future__ import annotations

import os
import random
import stat
import string
from pathlib import Path

import paramiko
import pytest

from store.accounts import find_account
from tests.interop_support import FILE_TIME, USER, BackOffice, back_office

__all__ = ["back_office"]  # the module's fixture


def upload_as(sftp: paramiko.SFTPClient, local: Path, remote: str) -> None:
    """Write ``local`` to ``remote`` with one OPEN, WRITE, CLOSE."""
    with sftp.open(remote, "wb") as handle:
        handle.write(local.read_bytes())


def test_setstat_and_fsetstat_on_ones_upload_apply_the_times_and_ignore_the_mode(
    back_office: BackOffice,
) -> None:
    home = back_office.home
    with back_office.paramiko() as sftp:
        with sftp.open("INTEST/notes-1.txt", "wb") as handle:  # OpenSSH put -p, scp -p, PuTTY
            handle.write(b"notes\n")
            handle.chmod(0o644)
            handle.utime((1_600_000_000, 1_600_000_100))
        done = (home / "INTEST" / "notes-1.txt").stat()
        assert (done.st_mtime, stat.S_IMODE(done.st_mode)) == (1_600_000_100, 0o640)
        with sftp.open("INTEST/notes-2.txt", "wb") as handle:
            handle.write(b"notes\n")
        sftp.chmod("INTEST/notes-2.txt", 0o600)  # lftp, rclone, paramiko, asyncssh: by path
        sftp.utime("INTEST/notes-2.txt", (1_500_000_000, 1_500_000_100))
        done = (home / "INTEST" / "notes-2.txt").stat()
        assert (done.st_mtime, stat.S_IMODE(done.st_mode)) == (1_500_000_100, 0o640)
        assert sftp.stat("INTEST/notes-2.txt").st_mtime == 1_500_000_100
        # not on what is not one's upload
        (home / "OUTTEST" / "FO.ACRF.answer").write_bytes(b"x")
        for path in ("OUTTEST/FO.ACRF.answer", "INTEST"):
            with pytest.raises(PermissionError):
                sftp.utime(path, (1, 2))
        with pytest.raises(OSError, match="Failure"):
            sftp.utime("/", (1, 2))
        with pytest.raises(FileNotFoundError):
            sftp.utime("INTEST/never-sent.txt", (1, 2))
        (home / "OUTTEST" / "FO.ACRF.answer").unlink()


@pytest.mark.parametrize(
    "temporary",
    [
        ".in.{name}",
        "{name}.filepart",
        "{name}.partial",
        "{name}.a1B2c3.partial",
        ".{name}",
    ],
)
def test_an_upload_under_a_temporary_name_then_renamed_is_taken_once_under_its_final_name(
    back_office: BackOffice, temporary: str
) -> None:
    files = back_office.new_set()
    go = files[-1].name
    before = len(back_office.uploads)
    with back_office.paramiko() as sftp:
        for local in files:
            partial = f"INTEST/{temporary.format(name=local.name)}"
            upload_as(sftp, local, partial)
            assert sftp.stat(partial).st_size == local.stat().st_size
            if local.name == go:  # a GO under a temporary name is not a GO
                assert back_office.services.intake.wait_idle(10)
                assert not back_office.sets_of(go)
            sftp.posix_rename(partial, f"INTEST/{local.name}")
        batch, ack = back_office.answer(go)
    assert (ack.result, ack.file_name, batch.result) == (1, go, 1)
    assert [p.name for p in back_office.uploads[before:]] == [p.name for p in files]
    assert os.listdir(back_office.home / "INTEST") == [
        n for n in os.listdir(back_office.home / "INTEST") if n.startswith("notes-")
    ]


def rclone_partial_name(name: str) -> str:
    """rclone's temporary name since 1.63 (``fs/operations/copy.go`` ``checkPartial``): the
    name, a dot, 8 random letters and digits, ``.partial``."""
    alphabet = string.ascii_letters + string.digits
    return f"{name}.{''.join(random.choices(alphabet, k=8))}.partial"


def rclone_upload(back_office: BackOffice, sftp: paramiko.SFTPClient, local: Path) -> None:
    """One file as rclone >= 1.63's sftp backend copies it (Debian 12's rclone 1.60, which
    the interop test runs, still writes in place): OpenFile(O_WRONLY|O_CREATE|O_TRUNC) of the
    partial name, concurrent 32 KiB WRITEs, CLOSE, Chtimes (SETSTAT by name), Stat; then
    Move: posix-rename@openssh.com to the final name, and NewObject: a STAT of it."""
    partial, final = f"INTEST/{rclone_partial_name(local.name)}", f"INTEST/{local.name}"
    data = local.read_bytes()
    with sftp.open(partial, "wb") as handle:
        handle.set_pipelined(True)  # pkg/sftp's concurrent writes: no wait for each answer
        for start in range(0, len(data), 32 * 1024):
            handle.write(data[start : start + 32 * 1024])
    sftp.utime(partial, (FILE_TIME, FILE_TIME))
    assert sftp.stat(partial).st_size == len(data)
    assert back_office.services.intake.wait_idle(10)
    assert not [p for p in back_office.uploads if p.name.endswith(".partial")]
    if local.name.startswith("GO."):  # a GO under its partial name is not a GO
        account = find_account(USER, back_office.creds.ssh_public_key.read_text())
        assert account is not None
        assert back_office.services.intake.scan(account) == 0
        assert back_office.services.intake.wait_idle(10)
        assert not back_office.sets_of(local.name)
    sftp.posix_rename(partial, final)
    found = sftp.stat(final)  # even when the intake has taken the set meanwhile
    assert (found.st_size, found.st_mtime) == (len(data), FILE_TIME)


def test_rclone_partial_upload_then_rename_is_taken_once(back_office: BackOffice) -> None:
    files = back_office.new_set()
    go = files[-1].name
    before = len(back_office.uploads)
    with back_office.paramiko() as sftp:
        assert isinstance(sftp.listdir("INTEST"), list)  # rclone lists the destination first
        for local in files[:-1]:
            rclone_upload(back_office, sftp, local)
        assert not back_office.sets_of(go)
        rclone_upload(back_office, sftp, files[-1])  # the GO last (its own `rclone copy`)
        batch, ack = back_office.answer(go)
        assert not [n for n in sftp.listdir("INTEST") if n.endswith(".partial")]
    assert (ack.result, ack.file_name, ack.errors, batch.result) == (1, go, (), 1)
    assert [p.name for p in back_office.uploads[before:]] == [p.name for p in files]
    kept = back_office.services.intake.accepted_root / f"{back_office.sender_number:06d}"
    member = kept / str(batch.ticket) / files[0].name
    assert member.read_bytes() == files[0].read_bytes()
    assert int(member.stat().st_mtime) == FILE_TIME  # the times set on the partial name kept


def test_a_go_with_a_temporary_suffix_is_not_a_go(back_office: BackOffice) -> None:
    files = back_office.new_set()
    go = files[-1].name
    with back_office.paramiko() as sftp:
        for local in files[:-1]:
            upload_as(sftp, local, f"INTEST/{local.name}")
        upload_as(sftp, files[-1], f"INTEST/{go}.filepart")
        assert back_office.services.intake.wait_idle(10)
        account = find_account(USER, back_office.creds.ssh_public_key.read_text())
        assert account is not None
        assert back_office.services.intake.scan(account) == 0  # nor at the next start
        assert back_office.services.intake.wait_idle(10)
        assert not back_office.sets_of(go)
        assert f"{go}.filepart" in sftp.listdir("INTEST")
        sftp.remove(f"INTEST/{go}.filepart")  # one's temporary upload may be deleted
        with pytest.raises(PermissionError):
            sftp.remove(f"INTEST/{files[0].name}")  # a final one may not
        sftp.posix_rename(f"INTEST/{files[0].name}", f"INTEST/{files[0].name}.partial")
        for local in files[1:-1]:
            sftp.posix_rename(f"INTEST/{local.name}", f"INTEST/{local.name}.partial")
        for name in sftp.listdir("INTEST"):
            if name.endswith(".partial"):
                sftp.remove(f"INTEST/{name}")
    assert not [n for n in os.listdir(back_office.home / "INTEST") if ".DMFA." in n]


def test_stat_lstat_and_fstat_of_an_open_upload_answer(back_office: BackOffice) -> None:
    with back_office.paramiko() as sftp:
        handle = sftp.open("INTEST/open-1.txt", "wb")
        handle.write(b"12345")
        handle.flush()
        assert handle.stat().st_size == 5
        assert sftp.stat("INTEST/open-1.txt").st_size == 5
        assert sftp.lstat("INTEST/open-1.txt").st_size == 5
        assert "open-1.txt" not in sftp.listdir("INTEST")  # not there until complete
        handle.close()
        assert sftp.stat("INTEST/open-1.txt").st_size == 5
    assert (back_office.home / "INTEST" / "open-1.txt").read_bytes() == b"12345"


def test_sshfs_sequence_open_lstat_write_close(back_office: BackOffice) -> None:
    """sshfs's create: OPEN and LSTAT sent together (an LSTAT error makes it CLOSE the empty
    upload and fail), then WRITEs and CLOSE."""
    files = back_office.new_set()
    with back_office.paramiko() as sftp:
        for local in files:
            handle = sftp.open(f"INTEST/{local.name}", "wb")
            assert sftp.lstat(f"INTEST/{local.name}").st_size == 0
            handle.write(local.read_bytes())
            handle.close()
    batch, ack = back_office.answer(files[-1].name)
    assert (ack.result, batch.result) == (1, 1)


def test_an_upload_closed_empty_and_abandoned_commits_nothing(back_office: BackOffice) -> None:
    files = back_office.new_set()
    with back_office.paramiko() as sftp:
        for local in files[:-1]:
            sftp.open(f"INTEST/{local.name}", "wb").close()  # nothing written, left so
            assert local.name not in sftp.listdir("INTEST")
            upload_as(sftp, local, f"INTEST/{local.name}")  # sent again, for real
        sftp.open(f"INTEST/{files[-1].name}", "wb").close()  # a GO is empty by design
    batch, ack = back_office.answer(files[-1].name)
    assert (ack.result, batch.result) == (1, 1)


def test_a_stat_right_after_close_answers_when_the_intake_took_the_set(
    back_office: BackOffice,
) -> None:
    files = back_office.new_set()
    with back_office.paramiko() as sftp:
        for local in files:
            sftp.put(str(local), f"INTEST/{local.name}", confirm=True)  # paramiko's default
        go = files[-1].name
        back_office.answer(go)
        assert go not in sftp.listdir("INTEST")  # taken
        assert sftp.stat(f"INTEST/{go}").st_size == 0  # and still answered for a while
        sftp.utime(f"INTEST/{go}", (1_600_000_000, 1_600_000_000))  # rclone: times, then stat
        assert sftp.stat(f"INTEST/{go}").st_mtime == 1_600_000_000
        with pytest.raises(FileNotFoundError):
            sftp.stat("INTEST/GO.never.sent")


def test_resume_is_refused(back_office: BackOffice) -> None:
    """``reput`` (append to, or rewrite, a file already there) is refused by design."""
    with back_office.paramiko() as sftp:
        with sftp.open("INTEST/resume-1.txt", "wb") as handle:
            handle.write(b"first half")
        for mode in ("ab", "wb", "r+"):
            with pytest.raises(PermissionError):
                sftp.open("INTEST/resume-1.txt", mode).close()
    assert (back_office.home / "INTEST" / "resume-1.txt").read_bytes() == b"first half"
