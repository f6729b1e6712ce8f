"""Drives a broker with py-amqp (Debian's python3-amqp, the library kombu uses).

Publishes with confirms through a topic exchange, checks where each message
landed, consumes with manual ack, rejects with requeue, and uses basic.get with
a multiple ack. Prints one JSON document describing exactly what was observed;
the vitest wrapper (py-amqp.test.ts) compares it with what RabbitMQ delivers.

Usage: py_amqp_roundtrip.py amqp://user:pass@host:port
"""
import json
import sys
import uuid
from urllib.parse import urlparse

import amqp


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def main(url):
    u = urlparse(url)
    conn = amqp.Connection(host=f"{u.hostname}:{u.port}", userid=u.username,
                           password=u.password, virtual_host="/")
    conn.connect()
    out = {"server_product": text(conn.server_properties.get("product")),
           "publisher_confirms": conn.server_properties["capabilities"].get("publisher_confirms")}
    ch = conn.channel()
    ch.confirm_select()
    tag = uuid.uuid4().hex[:8]
    acks, nacks, returns = [], [], []
    ch.events["basic_ack"].add(lambda tag, multiple: acks.append([tag, multiple]))
    ch.events["basic_nack"].add(lambda tag, multiple: nacks.append([tag, multiple]))
    ch.events["basic_return"].add(
        lambda exc, exchange, rk, msg: returns.append([exc.reply_code, exc.reply_text, exchange.replace(tag, "TAG"), rk, text(msg.body)]))

    ex = f"py-amqp-topic-{tag}"
    ch.exchange_declare(ex, "topic", durable=False, auto_delete=True)
    queues = {}
    for name, key in (("a", "stock.*.nyse"), ("b", "stock.#"), ("c", "*.ibm.*")):
        queues[name] = ch.queue_declare("", exclusive=True, auto_delete=False).queue
        ch.queue_bind(queues[name], ex, key)

    for i, rk in enumerate(["stock.ibm.nyse", "stock.msft.nasdaq", "bond.ibm.lse", "stock.nyse", "weather.uk"]):
        msg = amqp.Message(f"m{i}:{rk}", content_type="text/plain", message_id=f"id-{i}",
                           application_headers={"n": i})
        ch.basic_publish_confirm(msg, exchange=ex, routing_key=rk, mandatory=True, confirm_timeout=5)
    out["confirms"] = {"acks": acks, "nacks": nacks}
    out["returns"] = returns
    out["counts"] = {n: ch.queue_declare(q, passive=True).message_count for n, q in queues.items()}

    # consume queue b with manual ack; reject the last one with requeue
    ch.basic_qos(0, 10, False)
    got = []

    def on_message(m):
        d = m.delivery_info
        got.append({"body": text(m.body), "routing_key": d["routing_key"], "exchange": d["exchange"].replace(tag, "TAG"),
                    "redelivered": d["redelivered"], "delivery_tag": d["delivery_tag"],
                    "message_id": m.properties.get("message_id"),
                    "content_type": m.properties.get("content_type"),
                    "headers": m.properties.get("application_headers")})

    ctag = ch.basic_consume(queues["b"], consumer_tag="py-amqp-consumer", callback=on_message)
    while len(got) < 3:
        conn.drain_events(timeout=5)
    ch.basic_cancel(ctag)
    ch.basic_ack(got[0]["delivery_tag"])
    ch.basic_ack(got[1]["delivery_tag"])
    ch.basic_reject(got[2]["delivery_tag"], requeue=True)
    out["consumer_tag"] = ctag
    out["consumed"] = got

    def get(q):
        m = ch.basic_get(q, no_ack=False)
        if m is None:
            return None
        d = m.delivery_info
        return {"body": text(m.body), "routing_key": d["routing_key"], "redelivered": d["redelivered"],
                "delivery_tag": d["delivery_tag"], "message_count": d["message_count"]}

    out["requeued"] = get(queues["b"])
    out["a"] = get(queues["a"])
    out["c"] = [get(queues["c"]), get(queues["c"])]
    # one multiple ack settles everything still outstanding on the channel
    ch.basic_ack(out["c"][1]["delivery_tag"], multiple=True)
    out["after_ack"] = {n: ch.queue_declare(q, passive=True).message_count for n, q in queues.items()}
    out["empty_get"] = get(queues["b"])
    # unacked messages would come back on basic.recover; there must be none
    ch.basic_recover(requeue=True)
    out["after_recover"] = {n: ch.queue_declare(q, passive=True).message_count for n, q in queues.items()}
    ch.close()
    conn.close()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
