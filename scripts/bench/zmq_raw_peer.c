/*
 * Minimal raw libzmq peer: the baseline of scripts/bench/transport (issue 5, "Performance").
 * One payload frame per message, sent zero-copy from one buffer (zmq_msg_init_data), received with
 * zmq_msg_recv; no header and, unless "crc" is given, no checksum. With "crc", both ends compute the
 * payload's CRC32C with the same single-stream SSE4.2 loop as the Wire codec (sender before each send,
 * receiver after each receive), to separate the protocol's checksum cost from the transport's.
 * Built by the bench script: cc -O2 -msse4.2 zmq_raw_peer.c -lzmq.
 *
 *   zmq_raw_peer pull ENDPOINT SIZE COUNT HWM [crc] [curve-server SECRET_Z85]
 *       binds, prints "READY <endpoint>", receives COUNT messages,
 *       prints "RESULT <bytes after the first> <seconds from the first to the last>"
 *   zmq_raw_peer push ENDPOINT SIZE COUNT HWM [crc] [curve-client SERVER_PUBLIC_Z85 PUBLIC_Z85 SECRET_Z85]
 *       connects and sends COUNT messages of SIZE bytes, then waits for delivery (LINGER -1)
 *   zmq_raw_peer pong IN OUT SIZE COUNT      (start first)
 *   zmq_raw_peer ping IN OUT SIZE COUNT
 *       latency: each binds a PULL on IN and connects a PUSH to OUT (the other's IN), as two ranks of a
 *       ring do; ping sends a SIZE-byte message and waits for pong's echo, 20 untimed then COUNT times,
 *       and prints "LATENCY <median one-way microseconds (half the round trip)>"
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "wire_crc32c.h"

static atomic_long released;
static int with_crc;
static volatile uint32_t crc_sink;

/* CRC32C with the Wire codec's own C code (Sources/WireC/wire_crc32c*.c, linked in by the bench scripts). */
static uint32_t crc32c(const unsigned char *p, size_t count) {
    return ~wire_crc32c_hardware_update(0xFFFFFFFFu, p, count);
}

static void release(void *data, void *hint) {
    (void)data;
    (void)hint;
    atomic_fetch_add(&released, 1);
}

static void check(int status, const char *what) {
    if (status != 0) {
        fprintf(stderr, "zmq_raw_peer: %s: %s\n", what, zmq_strerror(zmq_errno()));
        exit(1);
    }
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int receive(void *socket, const char *endpoint, long size, long count) {
    check(zmq_bind(socket, endpoint), "bind");
    char resolved[256];
    size_t length = sizeof resolved;
    check(zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, resolved, &length), "last endpoint");
    printf("READY %s\n", resolved);
    fflush(stdout);
    zmq_msg_t message;
    zmq_msg_init(&message);
    double start = 0;
    for (long index = 0; index < count; index++) {
        if (zmq_msg_recv(&message, socket, 0) < 0) { check(-1, "recv"); }
        if ((long)zmq_msg_size(&message) != size) { fprintf(stderr, "zmq_raw_peer: wrong size\n"); return 1; }
        if (with_crc) { crc_sink += crc32c(zmq_msg_data(&message), (size_t)size); }
        if (index == 0) { start = now_seconds(); }
    }
    double seconds = now_seconds() - start;
    zmq_msg_close(&message);
    printf("RESULT %ld %.9f\n", (count - 1) * size, seconds);
    return 0;
}

static int send_all(void *socket, const char *endpoint, long size, long count) {
    check(zmq_connect(socket, endpoint), "connect");
    unsigned char *buffer = aligned_alloc(64, (size_t)((size + 63) / 64 * 64));
    for (long index = 0; index < size; index++) { buffer[index] = (unsigned char)(index * 31); }
    for (long index = 0; index < count; index++) {
        zmq_msg_t message;
        if (with_crc) { crc_sink += crc32c(buffer, (size_t)size); }
        check(zmq_msg_init_data(&message, buffer, (size_t)size, release, NULL), "msg init");
        if (zmq_msg_send(&message, socket, 0) < 0) { check(-1, "send"); }
    }
    int linger = -1;
    check(zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger), "linger");
    zmq_close(socket);
    return 0;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Ping-pong over two one-way links; the round trip crosses libzmq's I/O threads four times. */
static int ping_pong(int pings, const char *in_endpoint, const char *out_endpoint, long size, long count) {
    void *context = zmq_ctx_new();
    void *in = zmq_socket(context, ZMQ_PULL), *out = zmq_socket(context, ZMQ_PUSH);
    int linger = -1;
    check(zmq_bind(in, in_endpoint), "bind");
    check(zmq_connect(out, out_endpoint), "connect");
    check(zmq_setsockopt(out, ZMQ_LINGER, &linger, sizeof linger), "linger");
    char *buffer = calloc(1, (size_t)size);
    double *round_trips = calloc((size_t)count, sizeof(double));
    const long warmups = 20;
    for (long index = 0; index < warmups + count; index++) {
        double start = now_seconds();
        if (pings && zmq_send(out, buffer, (size_t)size, 0) < 0) { check(-1, "send"); }
        if (zmq_recv(in, buffer, (size_t)size, 0) < 0) { check(-1, "recv"); }
        if (!pings && zmq_send(out, buffer, (size_t)size, 0) < 0) { check(-1, "send"); }
        if (index >= warmups) { round_trips[index - warmups] = now_seconds() - start; }
    }
    if (pings) {
        qsort(round_trips, (size_t)count, sizeof(double), compare_doubles);
        printf("LATENCY %.1f\n", round_trips[count / 2] * 0.5e6);
    }
    zmq_close(in);
    zmq_close(out);   /* LINGER -1: the last echo is delivered before the context ends */
    zmq_ctx_term(context);
    free(buffer);
    free(round_trips);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && (strcmp(argv[1], "ping") == 0 || strcmp(argv[1], "pong") == 0)) {
        return ping_pong(strcmp(argv[1], "ping") == 0, argv[2], argv[3], atol(argv[4]), atol(argv[5]));
    }
    if (argc < 6) {
        fprintf(stderr, "usage: zmq_raw_peer pull|push ENDPOINT SIZE COUNT HWM [curve options]\n"
                        "       zmq_raw_peer ping|pong IN OUT SIZE COUNT\n");
        return 2;
    }
    int pulls = strcmp(argv[1], "pull") == 0;
    long size = atol(argv[3]), count = atol(argv[4]);
    int hwm = atoi(argv[5]);
    void *context = zmq_ctx_new();
    void *socket = zmq_socket(context, pulls ? ZMQ_PULL : ZMQ_PUSH);
    check(zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm), "sndhwm");
    check(zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof hwm), "rcvhwm");
    int next = 6;
    if (argc > next && strcmp(argv[next], "crc") == 0) {
        with_crc = 1;
        next++;
    }
    if (argc >= next + 2 && strcmp(argv[next], "curve-server") == 0) {
        int one = 1;
        check(zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof one), "curve server");
        check(zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, argv[next + 1], 40), "curve secret");
    } else if (argc >= next + 4 && strcmp(argv[next], "curve-client") == 0) {
        check(zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, argv[next + 1], 40), "curve server key");
        check(zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, argv[next + 2], 40), "curve public");
        check(zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, argv[next + 3], 40), "curve secret");
    }
    int status = pulls ? receive(socket, argv[2], size, count) : send_all(socket, argv[2], size, count);
    if (pulls) { zmq_close(socket); }
    zmq_ctx_term(context);
    if (!pulls && atomic_load(&released) != count) { fprintf(stderr, "zmq_raw_peer: unreleased buffers\n"); return 1; }
    return status;
}
