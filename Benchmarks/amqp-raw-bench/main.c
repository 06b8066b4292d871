// The raw-broker baseline for `make bench`: a direct rabbitmq-c loop, with no Swift, no threads and no
// bookkeeping beyond counting, doing the same work as amqp-bench with the same confirm window and prefetch:
// publish N persistent messages with confirms to a quorum queue, then consume and ack them one by one.
// Prints one JSON line: {"publish_per_s": ..., "consume_per_s": ...}.
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die_on_reply(amqp_rpc_reply_t reply, const char *context) {
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) return;
    fprintf(stderr, "amqp-raw-bench: %s failed (reply type %d)\n", context, reply.reply_type);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "usage: amqp-raw-bench HOST PORT USER PASSWORD VHOST QUEUE COUNT WINDOW\n");
        return 2;
    }
    const char *host = argv[1], *user = argv[3], *password = argv[4], *vhost = argv[5], *queue = argv[6];
    int port = atoi(argv[2]);
    long count = atol(argv[7]);
    int window = atoi(argv[8]);

    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *socket = amqp_tcp_socket_new(conn);
    if (amqp_socket_open(socket, host, port) != AMQP_STATUS_OK) {
        fprintf(stderr, "amqp-raw-bench: cannot connect to %s:%d\n", host, port);
        return 1;
    }
    die_on_reply(amqp_login(conn, vhost, 0, AMQP_DEFAULT_FRAME_SIZE, 30, AMQP_SASL_METHOD_PLAIN, user, password),
                 "login");
    amqp_channel_open(conn, 1);
    die_on_reply(amqp_get_rpc_reply(conn), "channel.open");
    amqp_confirm_select(conn, 1);
    die_on_reply(amqp_get_rpc_reply(conn), "confirm.select");

    amqp_table_entry_t args[1];
    args[0].key = amqp_cstring_bytes("x-queue-type");
    args[0].value.kind = AMQP_FIELD_KIND_UTF8;
    args[0].value.value.bytes = amqp_cstring_bytes("quorum");
    amqp_table_t table = {1, args};
    amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, table);
    die_on_reply(amqp_get_rpc_reply(conn), "queue.declare");

    char *body = malloc(1024);
    memset(body, 'x', 1024);
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
    props.delivery_mode = 2;
    char id[32];

    // Publish with at most `window` unconfirmed.
    double start = now();
    long sent = 0, confirmed = 0;
    while (confirmed < count) {
        while (sent < count && sent - confirmed < window) {
            snprintf(id, sizeof id, "m%ld", sent);
            props.message_id = amqp_cstring_bytes(id);
            if (amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(queue), 1, 0, &props,
                                   (amqp_bytes_t){1024, body}) != AMQP_STATUS_OK) {
                fprintf(stderr, "amqp-raw-bench: publish failed\n");
                return 1;
            }
            sent++;
        }
        amqp_frame_t frame;
        if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) {
            fprintf(stderr, "amqp-raw-bench: read failed\n");
            return 1;
        }
        if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *ack = frame.payload.method.decoded;
            confirmed = ack->multiple ? (long)ack->delivery_tag : confirmed + 1;
        } else if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            fprintf(stderr, "amqp-raw-bench: broker nacked a publish\n");
            return 1;
        }
        amqp_maybe_release_buffers(conn);
    }
    double publish_seconds = now() - start;

    // Consume with prefetch `window`, acking each message.
    amqp_channel_open(conn, 2);
    die_on_reply(amqp_get_rpc_reply(conn), "channel.open 2");
    amqp_basic_qos(conn, 2, 0, (uint16_t)window, 0);
    die_on_reply(amqp_get_rpc_reply(conn), "basic.qos");
    amqp_basic_consume(conn, 2, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    die_on_reply(amqp_get_rpc_reply(conn), "basic.consume");
    start = now();
    long received = 0;
    while (received < count) {
        amqp_envelope_t envelope;
        amqp_maybe_release_buffers(conn);
        amqp_rpc_reply_t reply = amqp_consume_message(conn, &envelope, NULL, 0);
        if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
            fprintf(stderr, "amqp-raw-bench: consume failed\n");
            return 1;
        }
        amqp_basic_ack(conn, envelope.channel, envelope.delivery_tag, 0);
        amqp_destroy_envelope(&envelope);
        received++;
    }
    double consume_seconds = now() - start;

    amqp_queue_delete(conn, 1, amqp_cstring_bytes(queue), 0, 0);
    amqp_channel_close(conn, 2, AMQP_REPLY_SUCCESS);
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    free(body);
    printf("{\"publish_per_s\": %.1f, \"consume_per_s\": %.1f}\n", count / publish_seconds, count / consume_seconds);
    return 0;
}
