#ifndef MASH_CRABBITMQ_SHIM_H
#define MASH_CRABBITMQ_SHIM_H

// rabbitmq-c 0.11 as Debian ships it (librabbitmq-dev): headers at <amqp.h>, no rabbitmq-c/ folder.
// Swift cannot call variadic C functions or see function-like and cast macros, so this header wraps
// the few the AMQP module needs as static inline functions and constants.

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

static const amqp_method_number_t mash_method_connection_close = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t mash_method_connection_close_ok = AMQP_CONNECTION_CLOSE_OK_METHOD;
static const amqp_method_number_t mash_method_connection_blocked = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t mash_method_connection_unblocked = AMQP_CONNECTION_UNBLOCKED_METHOD;
static const amqp_method_number_t mash_method_channel_close = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t mash_method_channel_close_ok = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t mash_method_basic_deliver = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t mash_method_basic_return = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t mash_method_basic_ack = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t mash_method_basic_nack = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t mash_method_basic_cancel = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t mash_method_basic_cancel_ok = AMQP_BASIC_CANCEL_OK_METHOD;

static const amqp_flags_t mash_flag_content_type = AMQP_BASIC_CONTENT_TYPE_FLAG;
static const amqp_flags_t mash_flag_headers = AMQP_BASIC_HEADERS_FLAG;
static const amqp_flags_t mash_flag_delivery_mode = AMQP_BASIC_DELIVERY_MODE_FLAG;
static const amqp_flags_t mash_flag_correlation_id = AMQP_BASIC_CORRELATION_ID_FLAG;
static const amqp_flags_t mash_flag_reply_to = AMQP_BASIC_REPLY_TO_FLAG;
static const amqp_flags_t mash_flag_expiration = AMQP_BASIC_EXPIRATION_FLAG;
static const amqp_flags_t mash_flag_message_id = AMQP_BASIC_MESSAGE_ID_FLAG;
static const amqp_flags_t mash_flag_timestamp = AMQP_BASIC_TIMESTAMP_FLAG;
static const amqp_flags_t mash_flag_type = AMQP_BASIC_TYPE_FLAG;
static const amqp_flags_t mash_flag_app_id = AMQP_BASIC_APP_ID_FLAG;

static inline amqp_bytes_t mash_bytes(const void *bytes, size_t len) {
    amqp_bytes_t b;
    b.len = len;
    b.bytes = (void *)bytes;
    return b;
}

static inline amqp_table_entry_t mash_bool_entry(const char *key, amqp_boolean_t value) {
    amqp_table_entry_t e;
    e.key = amqp_cstring_bytes(key);
    e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
    e.value.value.boolean = value;
    return e;
}

/// Login with the client properties the gateway always sends: a connection name (shown by the broker's
/// management UI and `rabbitmqctl list_connections`) and the capabilities we handle — consumer cancel
/// notifications, connection.blocked, publisher confirms with basic.nack, and authentication_failure_close
/// so a bad password is reported as ACCESS_REFUSED rather than a dropped socket.
/// `external` selects SASL EXTERNAL (the identity comes from the TLS client certificate).
static inline amqp_rpc_reply_t mash_login(amqp_connection_state_t state, const char *vhost, int heartbeat,
                                          const char *user, const char *password, const char *connection_name,
                                          int external) {
    amqp_table_entry_t capabilities[5];
    capabilities[0] = mash_bool_entry("consumer_cancel_notify", 1);
    capabilities[1] = mash_bool_entry("connection.blocked", 1);
    capabilities[2] = mash_bool_entry("publisher_confirms", 1);
    capabilities[3] = mash_bool_entry("basic.nack", 1);
    capabilities[4] = mash_bool_entry("authentication_failure_close", 1);

    amqp_table_entry_t properties[3];
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table.num_entries = 5;
    properties[0].value.value.table.entries = capabilities;
    properties[1].key = amqp_cstring_bytes("connection_name");
    properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[1].value.value.bytes = amqp_cstring_bytes(connection_name);
    properties[2].key = amqp_cstring_bytes("product");
    properties[2].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[2].value.value.bytes = amqp_cstring_bytes("MASH Gateway");

    amqp_table_t table;
    table.num_entries = 3;
    table.entries = properties;
    if (external) {
        return amqp_login_with_properties(state, vhost, 0, AMQP_DEFAULT_FRAME_SIZE, heartbeat, &table,
                                          AMQP_SASL_METHOD_EXTERNAL, user);
    }
    return amqp_login_with_properties(state, vhost, 0, AMQP_DEFAULT_FRAME_SIZE, heartbeat, &table,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}

static inline struct timeval mash_timeval(long seconds, long microseconds) {
    struct timeval tv;
    tv.tv_sec = seconds;
    tv.tv_usec = microseconds;
    return tv;
}

/// 1 when the socket's local and peer addresses are the same. Connecting to a local port nobody listens on
/// can pick that very port as the ephemeral source and connect to itself (TCP simultaneous open); the
/// socket then squats the port, and the broker cannot listen on it when it comes back.
static inline int mash_socket_is_self_connected(int fd) {
    struct sockaddr_storage local, peer;
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    memset(&local, 0, sizeof local);
    memset(&peer, 0, sizeof peer);
    if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0) return 0;
    if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0) return 0;
    return local_len == peer_len && memcmp(&local, &peer, local_len) == 0;
}

#endif
