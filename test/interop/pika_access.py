"""Access control seen from pika: a refused login, a refused vhost, refused operations on
channels (declare, publish, get, bind, topic), the vhost queue limit and the user
connection and channel limits. Prints one JSON object: what each step got, as
(code, text) pairs, so the test can compare them with RabbitMQ's exact codes and texts.

usage: pika_access.py HOST PORT PREFIX
"""
import json
import sys

import pika

host, port, p = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = {}


def params(user, password, vhost='/'):
    return pika.ConnectionParameters(host, port, vhost, pika.PlainCredentials(user, password), connection_attempts=1)


def connect(user, password, vhost='/'):
    try:
        return pika.BlockingConnection(params(user, password, vhost)), None
    except pika.exceptions.ProbableAuthenticationError as e:
        return None, ['auth', str(e)]
    except pika.exceptions.ProbableAccessDeniedError as e:
        return None, ['access', str(e)]
    except pika.exceptions.ConnectionClosedByBroker as e:
        return None, [e.reply_code, e.reply_text]


def channel_error(conn, op):
    """Runs op on a new channel; returns 'ok' or [code, text] of the channel.close."""
    ch = conn.channel()
    try:
        op(ch)
        # A publish has no answer: a round trip makes a refusal show.
        ch.exchange_declare('amq.direct', passive=True)
        ch.close()
        return 'ok'
    except pika.exceptions.ChannelClosedByBroker as e:
        return [e.reply_code, e.reply_text]


_, out['bad_password'] = connect(p + 'alice', 'wrong')
_, out['no_vhost_access'] = connect(p + 'nobody', 'nobody-pw')

alice, err = connect(p + 'alice', 'alice-pw')
assert err is None, err
out['declare'] = channel_error(alice, lambda ch: ch.queue_declare(p + 'r.new'))
out['declare_ok'] = channel_error(alice, lambda ch: ch.queue_declare(p + 'c.new', exclusive=True))
out['publish_default'] = channel_error(alice, lambda ch: ch.basic_publish('', p + 'w.q', b'x'))
out['publish_ok'] = channel_error(alice, lambda ch: ch.basic_publish(p + 'w.x', 'k', b'x'))
out['get'] = channel_error(alice, lambda ch: ch.basic_get(p + 'w.q'))
out['bind'] = channel_error(alice, lambda ch: ch.queue_bind(p + 'w.q', p + 'w.x', 'k'))
out['topic'] = channel_error(alice, lambda ch: ch.basic_publish('amq.topic', 'other.key', b'x'))
out['topic_ok'] = channel_error(alice, lambda ch: ch.basic_publish('amq.topic', 't.' + p + 'alice.x', b'x'))
alice.close()

lim, err = connect(p + 'lim', 'lim-pw', p + 'v')
assert err is None, err
ch = lim.channel()
ch.queue_declare('q1', exclusive=True)
out['queue_limit'] = channel_error(lim, lambda c: c.queue_declare('q2', exclusive=True))
_, out['user_connection_limit'] = connect(p + 'lim', 'lim-pw', p + 'v')
extra = []
try:
    for _ in range(3):
        extra.append(lim.channel())
    out['channel_limit'] = 'ok'
except pika.exceptions.ConnectionClosedByBroker as e:
    out['channel_limit'] = [e.reply_code, e.reply_text]
except pika.exceptions.ChannelClosed as e:
    # pika reports the connection.close through the channel being opened
    out['channel_limit'] = [getattr(e, 'reply_code', None), getattr(e, 'reply_text', str(e))]
print(json.dumps(out))
