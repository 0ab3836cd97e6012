"""Batch intake: FI/FS/GO sets received on the SFTP server, checked and acknowledged (ACRF).

- :mod:`store.batchnames` (in the store, which names the acknowledgements):
  ``TYPE.PURPOSE.SENDER.YYYYMMDD.SEQ.ENV[.PARTS.PART]``, the IN/OUT folders of a home and
  the ACRF's own name.
- :mod:`sync.intake.checks`: the checks, each with its ACRF error identifier.
- :mod:`sync.intake.acrf`: the acknowledgement's XML and its atomic writing.
- :mod:`sync.intake.service`: :class:`~sync.intake.service.Intake`, the SFTP server's
  ``on_upload`` hook, its worker thread, and ``process_go``/``process_td``.
- :mod:`sync.intake.prepare`: ``expedito batch prepare``, a correctly named, signed set.

Wiring it into the server::

    intake = Intake(homes_root)            # spool: <homes_root>/../intake
    intake.start()
    for account in live accounts: intake.scan(account)   # GOs left while stopped
    ... server calls intake.on_upload(account, path) after each completed upload into IN* ...
    intake.stop()                          # finishes what is queued
"""
