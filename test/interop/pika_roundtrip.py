"""Drives a broker with pika over every exchange type, with ack, nack and reject.

Prints one JSON document describing exactly what was observed; the vitest
wrapper (pika.test.ts) compares it with what RabbitMQ would deliver.
"""
import json
import sys
import uuid

import pika


def main(url):
    params = pika.URLParameters(url)
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.confirm_delivery()
    tag = uuid.uuid4().hex[:8]
    out = {"server_product": conn._impl.server_properties.get("product", b"").decode()
           if isinstance(conn._impl.server_properties.get("product"), bytes)
           else conn._impl.server_properties.get("product")}

    cases = [
        ("direct", "k1", {}, "k1", None),
        ("fanout", "", {}, "anything", None),
        ("topic", "stock.*.nyse", {}, "stock.ibm.nyse", None),
        ("headers", "", {"x-match": "all", "format": "pdf"}, "", {"format": "pdf", "size": 3}),
    ]
    for kind, binding_key, bind_args, rk, headers in cases:
        ex = f"pika-{kind}-{tag}"
        ch.exchange_declare(exchange=ex, exchange_type=kind, auto_delete=True)
        q = ch.queue_declare(queue="", exclusive=True).method.queue
        ch.queue_bind(queue=q, exchange=ex, routing_key=binding_key, arguments=bind_args or None)
        for body in (b"one", b"two", b"three"):
            ch.basic_publish(exchange=ex, routing_key=rk, body=body,
                             properties=pika.BasicProperties(headers=headers, content_type="text/plain"))
        seen = []
        # ack the first, nack (requeue) the second, reject (no requeue) the third
        m1, p1, b1 = ch.basic_get(q)
        ch.basic_ack(m1.delivery_tag)
        m2, p2, b2 = ch.basic_get(q)
        ch.basic_nack(m2.delivery_tag, requeue=True)
        m3, p3, b3 = ch.basic_get(q)
        # after nack-requeue, "two" comes back first (it keeps its position)
        seen.append([b1.decode(), m1.redelivered, p1.content_type])
        seen.append([b2.decode(), m2.redelivered])
        seen.append([b3.decode(), m3.redelivered])
        ch.basic_reject(m3.delivery_tag, requeue=False)
        m4, p4, b4 = ch.basic_get(q)
        seen.append([b4.decode() if b4 else None, m4.redelivered if m4 else None])
        ch.basic_ack(m4.delivery_tag)
        m5, _, _ = ch.basic_get(q)
        seen.append(m5 is None)
        out[kind] = {"routed": seen, "headers": (p1.headers if headers else None)}

    # a consumer with manual ack, then basic.cancel
    q = ch.queue_declare(queue="", exclusive=True).method.queue
    for i in range(3):
        ch.basic_publish(exchange="", routing_key=q, body=f"c{i}".encode())
    got = []
    for method, props, body in ch.consume(q, inactivity_timeout=2):
        if method is None:
            break
        got.append(body.decode())
        ch.basic_ack(method.delivery_tag)
        if len(got) == 3:
            break
    ch.cancel()
    out["consumed"] = got
    conn.close()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
