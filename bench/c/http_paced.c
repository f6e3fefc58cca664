/* A constant-rate HTTP/1.1 load client for latency at a fixed rate (loopback only).
 *
 * wrk has no rate option, and its Lua delay() is served by millisecond timers that fire
 * together: connections fall into step and send in clumps, so the last request of a clump
 * waits for all the others, whatever the server. This client sends request k at exactly
 * t0 + k / RATE (busy-polling its own core), on whichever keep-alive connection is idle.
 * Idle connections are used in turn (first idle, first used), so none sits unused long enough
 * for the server's read timeout. When none is idle the request waits, and its latency still
 * counts from its scheduled time (no coordinated omission: a stalled server cannot hide its
 * stall by slowing the client).
 *
 *   http_paced PORT PATH AUTH_HEADER RATE SECONDS CONNECTIONS [WARMUP_SECONDS]
 *
 * The target is always 127.0.0.1:PORT. AUTH_HEADER is sent as a whole header line
 * ("Authorization: Bearer KEY"), or omitted when empty. Responses must carry Content-Length
 * (ours and nginx's do). One JSON line with the figures is printed at the end; latencies are
 * exact (every one kept and sorted), in microseconds.
 *
 * Build: gcc -O2 -o http_paced http_paced.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 1024
#define READ_BYTES 65536
#define MAX_EVENTS 256

struct connection {
    int fd;
    int busy;
    double scheduled;   /* when the request in flight was due (seconds, monotonic) */
    size_t have;        /* bytes buffered of the response in progress */
    char buffer[READ_BYTES];
};

static struct connection connections[MAX_CONNECTIONS];
static int idle[MAX_CONNECTIONS];  /* a FIFO ring: every connection takes its turn */
static int idle_head, idle_count;

static void push_idle(int index) {
    idle[(idle_head + idle_count++) % MAX_CONNECTIONS] = index;
}

static int pop_idle(void) {
    int index = idle[idle_head];
    idle_head = (idle_head + 1) % MAX_CONNECTIONS;
    idle_count--;
    return index;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_floats(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("connect");
        exit(2);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Length of a whole response at the start of buf (headers + Content-Length body), or 0 when
 * it is not all there yet; -1 when it cannot be read. *status gets the status code. */
static long response_length(const char *buf, size_t have, int *status) {
    const char *end = memmem(buf, have, "\r\n\r\n", 4);
    if (end == NULL)
        return have >= READ_BYTES ? -1 : 0;
    if (have < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
        return -1;
    *status = atoi(buf + 9);
    long body = -1;
    for (const char *line = buf; line < end;) {
        const char *next = memmem(line, (size_t)(end - line), "\r\n", 2);
        if (next == NULL)
            next = end;
        if (next - line > 15 && strncasecmp(line, "content-length:", 15) == 0)
            body = atol(line + 15);
        line = next + 2;
    }
    if (body < 0)
        return -1;
    long total = (long)(end + 4 - buf) + body;
    return (size_t)total <= have ? total : (total > READ_BYTES ? -1 : 0);
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s PORT PATH AUTH_HEADER RATE SECONDS CONNECTIONS [WARMUP]\n",
                argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    double rate = atof(argv[4]), seconds = atof(argv[5]);
    int count = atoi(argv[6]);
    double warmup = argc > 7 ? atof(argv[7]) : 1.0;
    if (count < 1 || count > MAX_CONNECTIONS || rate <= 0 || seconds <= 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    char request[4096];
    int request_length = snprintf(request, sizeof request,
                                  "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s\r\n", argv[2],
                                  port, argv[3], argv[3][0] ? "\r\n" : "");
    size_t capacity = (size_t)(rate * seconds * 1.1) + 1024;
    float *latencies = malloc(capacity * sizeof *latencies);
    double *waiting = malloc(capacity * sizeof *waiting);  /* scheduled, not yet sent */
    size_t waiting_head = 0, waiting_tail = 0, recorded = 0;
    long long answered = 0, non_2xx = 0, errors = 0, sent = 0;
    int epoll = epoll_create1(0);
    for (int i = 0; i < count; i++) {
        connections[i].fd = connect_to(port);
        struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(epoll, EPOLL_CTL_ADD, connections[i].fd, &event);
        push_idle(i);
    }
    double start = now(), measure_from = start + warmup, stop = measure_from + seconds;
    double interval = 1.0 / rate, next_due = start;
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        double t = now();
        if (t >= stop)
            break;
        while (next_due <= t && waiting_tail < capacity) {  /* due: queue it */
            waiting[waiting_tail++] = next_due;
            next_due += interval;
            if (waiting_tail == capacity) {  /* reuse the ring from the start */
                memmove(waiting, waiting + waiting_head,
                        (waiting_tail - waiting_head) * sizeof *waiting);
                waiting_tail -= waiting_head;
                waiting_head = 0;
            }
        }
        while (waiting_head < waiting_tail && idle_count > 0) {  /* send what is due */
            struct connection *c = &connections[pop_idle()];
            c->scheduled = waiting[waiting_head++];
            c->busy = 1;
            if (write(c->fd, request, (size_t)request_length) != request_length) {
                perror("write");
                return 2;
            }
            sent++;
        }
        int ready = epoll_wait(epoll, events, MAX_EVENTS, 0);
        for (int e = 0; e < ready; e++) {
            int index = (int)events[e].data.u32;
            struct connection *c = &connections[index];
            ssize_t got = read(c->fd, c->buffer + c->have, READ_BYTES - c->have);
            if (got <= 0) {
                fprintf(stderr, "connection %d closed by the server\n", index);
                return 2;
            }
            c->have += (size_t)got;
            int status = 0;
            long length = response_length(c->buffer, c->have, &status);
            if (length < 0) {
                errors++;
                fprintf(stderr, "unreadable response\n");
                return 2;
            }
            if (length == 0 || !c->busy)
                continue;
            double done = now();
            if (c->scheduled >= measure_from && recorded < capacity)
                latencies[recorded++] = (float)((done - c->scheduled) * 1e6);
            answered++;
            if ((status < 200 || status > 299) && non_2xx++ == 0)  /* show the first one */
                fprintf(stderr, "first non-2xx answer: %.*s\n", (int)length, c->buffer);
            memmove(c->buffer, c->buffer + length, c->have - (size_t)length);
            c->have -= (size_t)length;
            c->busy = 0;
            push_idle(index);
        }
    }
    if (recorded == 0) {
        fprintf(stderr, "no answer measured\n");
        return 2;
    }
    qsort(latencies, recorded, sizeof *latencies, compare_floats);
#define AT(q) latencies[(size_t)((double)(recorded - 1) * (q))]
    printf("{\"target_per_s\": %.0f, \"requests_per_s\": %.1f, \"measured\": %zu, "
           "\"sent\": %lld, \"answered\": %lld, \"non_2xx\": %lld, \"errors\": %lld, "
           "\"backlog_at_end\": %zu, \"p50_us\": %.0f, \"p90_us\": %.0f, \"p99_us\": %.0f, "
           "\"p999_us\": %.0f, \"max_us\": %.0f}\n",
           rate, (double)recorded / seconds, recorded, sent, answered, non_2xx, errors,
           waiting_tail - waiting_head, AT(0.50), AT(0.90), AT(0.99), AT(0.999),
           latencies[recorded - 1]);
    return 0;
}
