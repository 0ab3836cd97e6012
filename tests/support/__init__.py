"""What the tests share, one module for each job: ``clock`` (the frozen times), ``registration``
(the demo data's ids and a registered sender), ``credentials`` (keys and certificates made
for a test), ``bulk`` (many senders at once), ``sftp`` (the server under test and the OpenSSH
client), ``network`` (loopback ports), ``intake`` (a partner's home and sets), ``pilot``
(driving the app: waiting, typing), ``screen`` (reading what it shows), ``portal`` (logging
in and moving between pages), ``wizard`` (the registration wizard's steps), ``snapshots``
and ``repo`` (the checkout's root, for subprocesses)."""
