"""Connects to a broker's amqps listener with pika's SSLOptions, as a pika application would.

Usage: pika_tls.py PORT CA_FILE [CERT_FILE KEY_FILE]

Logs in with PLAIN (guest) and, when a client certificate is given, with EXTERNAL
(pika.credentials.ExternalCredentials); each time declares a queue, publishes with a
confirm and gets the message back. Prints one JSON document of what was observed;
pika_tls.test.ts compares it with what RabbitMQ does. A refused connection is reported
as {"error": "<exception class>"}.
"""
import json
import ssl
import sys
import uuid

import pika


def round_trip(params):
    conn = pika.BlockingConnection(params)
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        q = ch.queue_declare(queue="pika-tls-" + uuid.uuid4().hex[:8], exclusive=True).method.queue
        ch.basic_publish(exchange="", routing_key=q, body=b"secret",
                         properties=pika.BasicProperties(headers={"via": "tls"}))
        method, props, body = ch.basic_get(q, auto_ack=True)
        return {
            "body": body.decode(),
            "headers": props.headers,
            "routing_key": method.routing_key,
        }
    finally:
        conn.close()


def attempt(params):
    try:
        return round_trip(params)
    except Exception as e:  # noqa: BLE001 - report what the client saw
        return {"error": type(e).__name__}


def main(port, ca, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    tls = pika.SSLOptions(ctx, server_hostname="localhost")
    out = {
        "plain": attempt(pika.ConnectionParameters(
            host="127.0.0.1", port=port, ssl_options=tls,
            credentials=pika.PlainCredentials("guest", "guest"))),
    }
    if cert is not None:
        out["external"] = attempt(pika.ConnectionParameters(
            host="127.0.0.1", port=port, ssl_options=tls,
            credentials=pika.credentials.ExternalCredentials()))
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]), *args[1:])
