"""A tiny IMAP4rev1 server on loopback: just what imaplib needs to poll a mailbox."""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Mailbox:
    user: str
    password: str
    messages: list[bytes]
    seen: set[int] = field(default_factory=set)
    logins: int = 0


def _handler(box: Mailbox) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def send(self, text: str | bytes) -> None:
            self.wfile.write(text.encode() if isinstance(text, str) else text)

        def handle(self) -> None:
            self.send("* OK fake IMAP4rev1 ready\r\n")
            while line := self.rfile.readline():
                tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
                command, _, args = rest.partition(" ")
                command = command.upper()
                if command == "UID":
                    command, _, args = args.partition(" ")
                    command = "UID " + command.upper()
                if command == "CAPABILITY":
                    self.send(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n")
                elif command == "LOGIN":
                    user, password = [a.strip('"') for a in args.split(" ", 1)]
                    if (user, password) == (box.user, box.password):
                        box.logins += 1
                        self.send(f"{tag} OK logged in\r\n")
                    else:
                        self.send(f"{tag} NO wrong password\r\n")
                elif command == "SELECT":
                    self.send(
                        f"* {len(box.messages)} EXISTS\r\n* FLAGS (\\Seen)\r\n"
                        f"{tag} OK [READ-WRITE] selected\r\n"
                    )
                elif command == "UID SEARCH":
                    uids = [str(i + 1) for i in range(len(box.messages)) if i + 1 not in box.seen]
                    self.send(f"* SEARCH {' '.join(uids)}\r\n{tag} OK done\r\n")
                elif command == "UID FETCH":
                    uid = int(args.split(" ", 1)[0])
                    raw = box.messages[uid - 1]
                    self.send(f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n")
                    self.send(raw)
                    self.send(f")\r\n{tag} OK done\r\n")
                elif command == "UID STORE":
                    uid = int(args.split(" ", 1)[0])
                    if re.search(r"\\Seen", args):
                        box.seen.add(uid)
                    self.send(f"* {uid} FETCH (FLAGS (\\Seen))\r\n{tag} OK done\r\n")
                elif command == "LOGOUT":
                    self.send(f"* BYE\r\n{tag} OK bye\r\n")
                    return
                else:
                    self.send(f"{tag} BAD unknown command\r\n")

    return Handler


@contextmanager
def imap_server(box: Mailbox) -> Iterator[str]:
    """Serve ``box`` on 127.0.0.1; yields its imap:// address (no TLS on loopback)."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(box))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield f"imap://{box.user}:{box.password}@127.0.0.1:{port}/INBOX"
    finally:
        server.shutdown()
        server.server_close()
