"""A tiny SMTP server that keeps every message it is sent, for the mail tests.

Just enough of RFC 5321 for ``smtplib``: EHLO/HELO, MAIL, RCPT, DATA (with the dot
un-stuffed), RSET, NOOP and QUIT, no extensions. It listens on one fixed port, as a
developer's mail catcher would, in a thread of the test process; ``smtpd`` left
the standard library in Python 3.12, and no dependency is wanted for this.
"""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the sink received it."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed (headers decoded)."""
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _address(argument: str) -> str:
    """``FROM:<a@b>`` or ``TO:<a@b> SIZE=1`` -> ``a@b``."""
    value = argument.partition(":")[2].strip()
    return value.split(" ", 1)[0].strip("<>")


class _Session(socketserver.StreamRequestHandler):
    """One SMTP conversation."""

    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        self.reply("220 webbly-test-sink ready")
        sender, recipients = "", []
        while raw := self.rfile.readline():
            command, _, argument = raw.decode("utf-8", "replace").rstrip("\r\n").partition(" ")
            verb = command.upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 webbly-test-sink")
            elif verb == "MAIL":
                sender, recipients = _address(argument), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(_address(argument))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                self.server.keep(ReceivedMail(sender, tuple(recipients), self.read_data()))
                self.reply("250 OK: queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")

    def read_data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
            # A line the client started with a dot had that dot doubled (RFC 5321 4.5.2).
            lines.append(line[1:] if line.startswith(b".") else line)
        return b"".join(lines)


class _Server(socketserver.ThreadingTCPServer):
    # A sink stopped a moment ago leaves the port in TIME_WAIT: the next one may bind it.
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Session)
        self.received: list[ReceivedMail] = []
        self.lock = threading.Lock()

    def keep(self, mail: ReceivedMail) -> None:
        with self.lock:
            self.received.append(mail)


class SmtpSink:
    """An SMTP server on ``host:port``; ``received`` holds what it got.

    The port is bound when the sink is made (``OSError`` if it is taken); use it as
    a context manager to serve in a thread and release the port on exit.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server = _Server((host, port))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"smtp-sink-{port}",
            daemon=True,
        )

    def __enter__(self) -> SmtpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def received(self) -> list[ReceivedMail]:
        """Every message received so far, oldest first."""
        with self._server.lock:
            return list(self._server.received)
