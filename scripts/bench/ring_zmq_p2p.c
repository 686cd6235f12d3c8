/* Raw ZeroMQ point-to-point throughput beside the ring benchmark (scripts/bench/ring-allreduce):
 * PUSH -> PULL, MESSAGES messages of BYTES each, zero-copy send (zmq_msg_init_data from one buffer) and
 * zmq_msg_recv on the receiver, no framing or checksums: the ceiling our transport works under.
 * The receiver times from the first to the last message and prints the bandwidth.
 *
 * usage: ring_zmq_p2p recv ENDPOINT BYTES MESSAGES     (binds)
 *        ring_zmq_p2p send ENDPOINT BYTES MESSAGES     (connects)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void release(void *data, void *hint) { (void)data; (void)hint; }

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: ring_zmq_p2p send|recv ENDPOINT BYTES MESSAGES\n");
        return 2;
    }
    size_t bytes = (size_t)atol(argv[3]);
    long messages = atol(argv[4]);
    void *context = zmq_ctx_new();
    int receiving = strcmp(argv[1], "recv") == 0;
    void *socket = zmq_socket(context, receiving ? ZMQ_PULL : ZMQ_PUSH);
    int hwm = 64, linger = -1;
    zmq_setsockopt(socket, receiving ? ZMQ_RCVHWM : ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    if ((receiving ? zmq_bind(socket, argv[2]) : zmq_connect(socket, argv[2])) != 0) {
        fprintf(stderr, "ring_zmq_p2p: %s %s: %s\n", argv[1], argv[2], zmq_strerror(zmq_errno()));
        return 2;
    }
    if (receiving) {
        zmq_msg_t message;
        zmq_msg_init(&message);
        double start = 0;
        for (long i = 0; i < messages; i++) {
            if (zmq_msg_recv(&message, socket, 0) < 0) return 3;
            if (i == 0) start = now();
        }
        double seconds = now() - start;   /* messages - 1 messages arrived after the clock started */
        printf("P2P_RESULT endpoint=%s bytes=%zu messages=%ld GBps=%.3f\n", argv[2], bytes, messages,
               (double)bytes * (messages - 1) / seconds / 1e9);
        zmq_msg_close(&message);
    } else {
        char *buffer = malloc(bytes);
        memset(buffer, 1, bytes);
        for (long i = 0; i < messages; i++) {
            zmq_msg_t message;
            zmq_msg_init_data(&message, buffer, bytes, release, NULL);
            if (zmq_msg_send(&message, socket, 0) < 0) return 3;
        }
        zmq_close(socket);
        zmq_ctx_term(context);   /* LINGER -1: returns once everything was delivered */
        free(buffer);
        return 0;
    }
    zmq_close(socket);
    zmq_ctx_term(context);
    return 0;
}
