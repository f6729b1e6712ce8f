"""Drives a quorum queue with pika: delivery counts on basic.get and on a consumer, and the
delivery limit dead-lettering with reason delivery_limit.

Prints one JSON document describing what was observed; pika.test.ts compares it with what
RabbitMQ 3.10 sends (checked by running this script against one).
"""
import json
import sys
import uuid

import pika


def main(url):
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.confirm_delivery()
    tag = uuid.uuid4().hex[:8]
    q, dlq = f"quorum-pika-{tag}", f"quorum-pika-{tag}.dlq"
    ch.queue_declare(queue=dlq, durable=True)
    ch.queue_declare(queue=q, durable=True, arguments={
        "x-queue-type": "quorum", "x-delivery-limit": 1,
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq})
    out = {}
    ch.basic_publish(exchange="", routing_key=q, body=b"get-me", properties=pika.BasicProperties(headers={"k": "v"}))
    seen = []
    for _ in range(2):
        method, props, body = ch.basic_get(q)
        seen.append([body.decode(), method.redelivered, props.headers])
        ch.basic_nack(method.delivery_tag, requeue=True)
    out["get"] = seen
    ch.basic_publish(exchange="", routing_key=q, body=b"consume-me")
    got = []
    for method, props, body in ch.consume(q, inactivity_timeout=3):
        if method is None:
            break
        got.append([body.decode(), method.redelivered, (props.headers or {}).get("x-delivery-count")])
        ch.basic_nack(method.delivery_tag, requeue=True)
        if len(got) == 2:
            break
    ch.cancel()
    out["consume"] = got
    dead = []
    for _ in range(10):
        method, props, body = ch.basic_get(dlq, auto_ack=True)
        if method is None:
            if len(dead) == 2:
                break
            conn.sleep(0.1)
            continue
        death = props.headers["x-death"][0]
        dead.append([body.decode(), death["reason"], death["count"], props.headers.get("x-delivery-count")])
    out["dead"] = dead
    ch.queue_delete(queue=q)
    ch.queue_delete(queue=dlq)
    conn.close()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
