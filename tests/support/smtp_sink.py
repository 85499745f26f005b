#!/usr/bin/env python3
"""A real SMTP server for night's notify tests, built on aiosmtpd.

Listens on 127.0.0.1 (a free port), prints `PORT <n>` once it accepts connections, and writes
every mail it receives to FOLDER/<n>.json: the envelope, the raw message, who authenticated,
and whether the session was encrypted. Only 127.0.0.1, never anything else.

    smtp_sink.py --folder DIR [--user U --password P] [--starttls CERT KEY] [--implicit-tls CERT KEY]
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    """Writes each mail as JSON, numbered in arrival order."""

    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record = {
            "subject": parsed["subject"],
            "body": parsed.get_content(),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "login": session.login_data.decode() if isinstance(session.login_data, bytes) else session.login_data,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
        }
        path = os.path.join(self.folder, f"{self.count}.json")
        with open(path + ".tmp", "w") as out:
            json.dump(record, out)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()

    def context(pair):
        if not pair:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(pair[0], pair[1])
        return ctx

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    sink = Sink(args.folder)
    starttls = context(args.starttls)

    def factory():
        return SMTP(
            sink,
            hostname="sink.test",
            tls_context=starttls,
            authenticator=authenticator if args.user else None,
            auth_required=bool(args.user),
            auth_require_tls=False,
            timeout=30,
        )

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, "127.0.0.1", 0, ssl=context(args.implicit_tls))
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        # Stop when the test that started us goes away (our stdin closes).
        await loop.run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
