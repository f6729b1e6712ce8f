// Drives a broker with the RabbitMQ Java client (Debian's librabbitmq-client-java).
//
// Publishes with confirms through a topic exchange, checks where each message landed,
// consumes with manual ack, nacks several at once with requeue, and uses basic.get.
// Prints one line per observation; the vitest wrapper (java-client.test.ts) compiles
// this file and compares the lines with what RabbitMQ 3.10 gives.
//
// Usage: java JavaRoundTrip amqp://user:pass@host:port

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.GetResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

public class JavaRoundTrip {
    private static final List<String> out = new ArrayList<>();

    private static synchronized void say(String line) {
        out.add(line);
    }

    private static String body(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setUri(args[0]);
        f.setAutomaticRecoveryEnabled(false);
        Connection conn = f.newConnection();
        say("product " + conn.getServerProperties().get("product"));
        Channel ch = conn.createChannel();
        String tag = UUID.randomUUID().toString().substring(0, 8);
        String ex = "java-topic-" + tag;

        ch.confirmSelect();
        ch.addConfirmListener(new ConfirmListener() {
            public void handleAck(long seq, boolean multiple) {
                say("confirm ack " + seq + " " + multiple);
            }

            public void handleNack(long seq, boolean multiple) {
                say("confirm nack " + seq + " " + multiple);
            }
        });
        ch.addReturnListener((replyCode, replyText, exchange, routingKey, props, b) ->
                say("return " + replyCode + " " + replyText + " " + exchange.replace(tag, "TAG") + " " + routingKey + " " + body(b)));

        ch.exchangeDeclare(ex, "topic", false, true, null);
        String[] names = {"a", "b", "c"};
        String[] keys = {"stock.*.nyse", "stock.#", "*.ibm.*"};
        Map<String, String> q = new HashMap<>();
        for (int i = 0; i < 3; i++) {
            q.put(names[i], ch.queueDeclare("", false, true, false, null).getQueue());
            ch.queueBind(q.get(names[i]), ex, keys[i]);
        }

        String[] rks = {"stock.ibm.nyse", "stock.msft.nasdaq", "bond.ibm.lse", "stock.nyse", "weather.uk"};
        for (int i = 0; i < rks.length; i++) {
            Map<String, Object> headers = new HashMap<>();
            headers.put("n", i);
            AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                    .contentType("text/plain").messageId("id-" + i).deliveryMode(2).priority(3).headers(headers).build();
            long seq = ch.getNextPublishSeqNo();
            ch.basicPublish(ex, rks[i], true, props, ("m" + i + ":" + rks[i]).getBytes(StandardCharsets.UTF_8));
            ch.waitForConfirmsOrDie(5000);
            say("published " + seq);
        }
        for (String n : names) say("count " + n + " " + ch.queueDeclarePassive(q.get(n)).getMessageCount());

        // consume b with manual ack
        LinkedBlockingQueue<String> deliveries = new LinkedBlockingQueue<>();
        ch.basicQos(10);
        String ctag = ch.basicConsume(q.get("b"), false, new DefaultConsumer(ch) {
            @Override
            public void handleDelivery(String consumerTag, Envelope e, AMQP.BasicProperties p, byte[] b) {
                deliveries.add("deliver " + e.getDeliveryTag() + " " + e.isRedeliver() + " " + e.getExchange().replace(tag, "TAG")
                        + " " + e.getRoutingKey() + " " + body(b) + " " + p.getContentType() + " " + p.getMessageId()
                        + " " + p.getDeliveryMode() + " " + p.getPriority() + " " + p.getHeaders());
            }
        });
        say("consumer " + ctag);
        for (int i = 0; i < 3; i++) {
            String d = deliveries.poll(5, TimeUnit.SECONDS);
            say(d == null ? "timeout" : d);
        }
        ch.basicCancel(ctag);
        ch.basicAck(1, false);
        // nack 2 and 3 in one go, requeued: they come back in their original order, redelivered
        ch.basicNack(3, true, true);
        for (int i = 0; i < 3; i++) {
            GetResponse r = ch.basicGet(q.get("b"), false);
            if (r == null) {
                say("get b empty");
                continue;
            }
            Envelope e = r.getEnvelope();
            say("get b " + e.getDeliveryTag() + " " + e.isRedeliver() + " " + e.getRoutingKey() + " " + body(r.getBody())
                    + " left " + r.getMessageCount());
        }
        ch.basicAck(5, true);
        GetResponse ra = ch.basicGet(q.get("a"), true);
        say("get a " + ra.getEnvelope().getDeliveryTag() + " " + ra.getEnvelope().getRoutingKey() + " " + body(ra.getBody())
                + " left " + ra.getMessageCount());
        GetResponse rc = ch.basicGet(q.get("c"), false);
        say("get c " + rc.getEnvelope().getDeliveryTag() + " " + body(rc.getBody()) + " left " + rc.getMessageCount());
        ch.basicReject(rc.getEnvelope().getDeliveryTag(), false);
        for (String n : names) say("count " + n + " " + ch.queueDeclarePassive(q.get(n)).getMessageCount());
        ch.basicRecover(true);
        for (String n : names) say("after recover " + n + " " + ch.queueDeclarePassive(q.get(n)).getMessageCount());
        ch.close();
        conn.close();
        synchronized (JavaRoundTrip.class) {
            for (String line : out) System.out.println(line);
        }
    }
}
