"""Drives a broker with kombu (Debian's python3-kombu) over its py-amqp transport.

Declares a topic exchange and three queues through kombu's entities, publishes
with publisher confirms (transport option confirm_publish), consumes with
kombu.Consumer, acks, requeues one message and fetches it back with
Queue.get. Prints one JSON document of what it observed; the vitest wrapper
(kombu.test.ts) compares it with what RabbitMQ 3.10 gives.

Usage: kombu_roundtrip.py amqp://user:pass@host:port
"""
import json
import socket
import sys
import uuid

from kombu import Connection, Consumer, Exchange, Producer, Queue


def main(url):
    tag = uuid.uuid4().hex[:8]
    out = {}
    with Connection(url.replace("amqp://", "pyamqp://", 1) + "//",
                    transport_options={"confirm_publish": True}) as conn:
        ch = conn.default_channel
        out["server_product"] = ch.connection.server_properties.get("product")
        acks, returns = [], []
        ch.events["basic_ack"].add(lambda delivery_tag, multiple: acks.append([delivery_tag, multiple]))

        ex = Exchange(f"kombu-topic-{tag}", type="topic", durable=False, auto_delete=True)
        queues = {name: Queue(f"kombu-{name}-{tag}", ex, routing_key=key, durable=False, auto_delete=False)
                  for name, key in (("a", "stock.*.nyse"), ("b", "stock.#"), ("c", "*.ibm.*"))}
        for q in queues.values():
            q(ch).declare()

        def on_return(exc, exchange, routing_key, message):
            returns.append([exc.reply_code, exc.reply_text, exchange.replace(tag, "TAG"), routing_key,
                            json.loads(message.body)])

        producer = Producer(ch, exchange=ex, on_return=on_return)
        for i, rk in enumerate(["stock.ibm.nyse", "stock.msft.nasdaq", "bond.ibm.lse", "stock.nyse", "weather.uk"]):
            producer.publish({"n": i, "rk": rk}, routing_key=rk, serializer="json", mandatory=True,
                             headers={"n": i}, message_id=f"id-{i}")
        out["confirms"] = acks
        out["returns"] = returns

        def counts():
            return {n: q(ch).queue_declare(passive=True).message_count for n, q in queues.items()}

        out["counts"] = counts()

        got = []

        def on_message(body, message):
            d = message.delivery_info
            got.append({"body": body, "routing_key": d["routing_key"], "exchange": d["exchange"].replace(tag, "TAG"),
                        "redelivered": d["redelivered"], "delivery_tag": d["delivery_tag"],
                        "content_type": message.content_type, "headers": message.headers,
                        "message_id": message.properties.get("message_id")})
            if body["n"] == 1 and not d["redelivered"]:
                message.requeue()
            else:
                message.ack()

        with Consumer(ch, queues=[queues["b"]], callbacks=[on_message], tag_prefix="kombu-", prefetch_count=10):
            # the requeued message comes back to this consumer: four deliveries in all
            while len(got) < 4:
                try:
                    conn.drain_events(timeout=5)
                except socket.timeout:
                    break
        out["consumed"] = got

        def get(name):
            m = queues[name](ch).get(no_ack=False)
            if m is None:
                return None
            d = m.delivery_info
            m.ack()
            return {"body": m.payload, "routing_key": d["routing_key"], "redelivered": d["redelivered"],
                    "delivery_tag": d["delivery_tag"], "message_count": d["message_count"]}

        out["gets"] = {"b": [get("b"), get("b")], "a": [get("a"), get("a")], "c": [get("c"), get("c"), get("c")]}
        out["after"] = counts()
        ch.basic_recover(requeue=True)
        out["after_recover"] = counts()
        for q in queues.values():
            q(ch).delete()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
