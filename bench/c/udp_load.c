/* A bounded UDP request/reply load client for bench/udp_price.py (loopback only).
 *
 * Keeps WINDOW requests in flight on one connected socket: every reply read (recvmmsg(2),
 * up to 64 at a time) is answered by as many new requests (one sendmmsg(2)). Replies are
 * counted for SECONDS; one JSON line with the figures is printed at the end.
 *
 *   udp_load PORT SECONDS WINDOW PAYLOAD [EXPECT]
 *
 * The target is always 127.0.0.1:PORT. PAYLOAD is sent as it is (one datagram). With EXPECT,
 * the replies that contain that text are counted apart ("expected"), so a server answering
 * errors is seen. When no reply comes for 100 ms, the requests in flight are counted lost and
 * the window is sent again.
 *
 * Build: gcc -O2 -o udp_load udp_load.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_WINDOW 4096
#define DATAGRAM_BYTES 2048
#define SOCKET_BUFFER_BYTES (8 * 1024 * 1024)
#define SILENCE_MS 100

struct figures {
    long long sent, replies, expected, lost, refills, socket_errors;
};

static char replies[BATCH][DATAGRAM_BYTES];
static struct iovec reply_iovecs[BATCH];
static struct mmsghdr reply_messages[BATCH];
static struct iovec request_iovec;
static struct mmsghdr request_messages[BATCH];

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int connected_socket(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int size = SOCKET_BUFFER_BYTES;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct timeval silence = {.tv_sec = 0, .tv_usec = SILENCE_MS * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &silence, sizeof silence);
    struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static void prepare(const char *payload) {
    request_iovec.iov_base = (void *)payload;
    request_iovec.iov_len = strlen(payload);
    for (int i = 0; i < BATCH; i++) {
        request_messages[i].msg_hdr.msg_iov = &request_iovec;
        request_messages[i].msg_hdr.msg_iovlen = 1;
        reply_iovecs[i].iov_base = replies[i];
        reply_iovecs[i].iov_len = DATAGRAM_BYTES;
        reply_messages[i].msg_hdr.msg_iov = &reply_iovecs[i];
        reply_messages[i].msg_hdr.msg_iovlen = 1;
    }
}

/* Send count requests (in batches of up to BATCH); returns how many were sent. */
static long long send_requests(int fd, long long count, struct figures *f) {
    long long done = 0;
    while (done < count) {
        long long chunk = count - done < BATCH ? count - done : BATCH;
        int sent = sendmmsg(fd, request_messages, (unsigned)chunk, 0);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            f->socket_errors++;
            break; /* ECONNREFUSED (nobody listens yet) or a full buffer: the refill retries */
        }
        done += sent;
    }
    f->sent += done;
    return done;
}

static int count_expected(int n, const char *expect) {
    static int shown;
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (memmem(replies[i], reply_messages[i].msg_len, expect, strlen(expect)) != NULL)
            found++;
        else if (!shown++)  /* the first other answer, to stderr: what it was, not just how many */
            fprintf(stderr, "first unexpected reply: %.*s\n", (int)reply_messages[i].msg_len,
                    replies[i]);
    }
    return found;
}

static void run(int fd, double seconds, long long window, const char *expect,
                struct figures *f) {
    long long in_flight = send_requests(fd, window, f);
    double deadline = now_seconds() + seconds;
    while (now_seconds() < deadline) {
        int n = recvmmsg(fd, reply_messages, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                f->socket_errors++;
            f->lost += in_flight;
            f->refills++;
            in_flight = send_requests(fd, window, f);
            continue;
        }
        f->replies += n;
        if (expect != NULL)
            f->expected += count_expected(n, expect);
        in_flight += send_requests(fd, n, f) - n;
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s PORT SECONDS WINDOW PAYLOAD [EXPECT]\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[2]);
    long long window = atoll(argv[3]);
    if (seconds <= 0 || seconds > 600 || window < 1 || window > MAX_WINDOW) {
        fprintf(stderr, "udp_load: need 0 < SECONDS <= 600 and 1 <= WINDOW <= %d\n",
                MAX_WINDOW);
        return 2;
    }
    const char *expect = argc > 5 ? argv[5] : NULL;
    int fd = connected_socket(atoi(argv[1]));
    prepare(argv[4]);
    struct figures f = {0};
    double started = now_seconds();
    run(fd, seconds, window, expect, &f);
    double elapsed = now_seconds() - started;
    printf("{\"seconds\": %.3f, \"window\": %lld, \"sent\": %lld, \"replies\": %lld, "
           "\"expected\": %lld, \"lost\": %lld, \"refills\": %lld, \"socket_errors\": %lld, "
           "\"replies_per_s\": %.0f}\n",
           elapsed, window, f.sent, f.replies, expect != NULL ? f.expected : f.replies, f.lost,
           f.refills, f.socket_errors, (double)f.replies / elapsed);
    return 0;
}
