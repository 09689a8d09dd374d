"""A mail sink for drillctl's e-mail tests.

Run by aiosmtpd (python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c mailsink.Sink,
with this folder on PYTHONPATH): every message a client delivers is printed
on stdout as one JSON line with the EHLO/HELO name, the envelope and the raw
message (base64), for the Go test to parse strictly.
"""

import base64
import json


class Sink:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        print(json.dumps({
            "helo": session.host_name,
            "mailFrom": envelope.mail_from,
            "rcptTos": list(envelope.rcpt_tos),
            "data": base64.b64encode(raw).decode("ascii"),
        }), flush=True)
        return "250 Message accepted for delivery"
