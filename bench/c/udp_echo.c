/* A minimal UDP echo server: the reference for bench/udp_price.py.
 *
 * Reads datagrams in batches of up to 64 with recvmmsg(2) and sends each one back to its
 * sender, unchanged, in one sendmmsg(2) per batch. No parsing, no state: the kernel's cost of
 * a loopback request/reply plus as little user-space work as possible.
 *
 *   udp_echo PORT [LIFETIME_SECONDS]      listens on 127.0.0.1:PORT; exits after the lifetime
 *                                         (default 600 s) or on SIGTERM/SIGINT
 *
 * Build: gcc -O2 -o udp_echo udp_echo.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define DATAGRAM_BYTES 2048
#define SOCKET_BUFFER_BYTES (8 * 1024 * 1024)

static char buffers[BATCH][DATAGRAM_BYTES];
static struct sockaddr_in peers[BATCH];
static struct iovec iovecs[BATCH];
static struct mmsghdr messages[BATCH];

static int bound_socket(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int size = SOCKET_BUFFER_BYTES;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

static void prepare_receive(void) {
    for (int i = 0; i < BATCH; i++) {
        iovecs[i].iov_base = buffers[i];
        iovecs[i].iov_len = DATAGRAM_BYTES;
        memset(&messages[i].msg_hdr, 0, sizeof messages[i].msg_hdr);
        messages[i].msg_hdr.msg_iov = &iovecs[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &peers[i];
        messages[i].msg_hdr.msg_namelen = sizeof peers[i];
    }
}

/* Send back the n datagrams just read: each iovec shrinks to its datagram's length, and is
 * made whole again afterwards for the next read. */
static void echo_batch(int fd, int n) {
    for (int i = 0; i < n; i++)
        iovecs[i].iov_len = messages[i].msg_len;
    int sent = 0;
    while (sent < n) {
        int done = sendmmsg(fd, messages + sent, (unsigned)(n - sent), 0);
        if (done < 0) {
            if (errno == EINTR)
                continue;
            break; /* a full send buffer or a departed client: drop the rest of the batch */
        }
        sent += done;
    }
    for (int i = 0; i < n; i++) {
        iovecs[i].iov_len = DATAGRAM_BYTES;
        messages[i].msg_hdr.msg_namelen = sizeof peers[i];
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [LIFETIME_SECONDS]\n", argv[0]);
        return 2;
    }
    int fd = bound_socket(atoi(argv[1]));
    alarm(argc > 2 ? (unsigned)atoi(argv[2]) : 600u); /* SIGALRM ends the process: bounded */
    prepare_receive();
    for (;;) {
        int n = recvmmsg(fd, messages, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("recvmmsg");
            return 1;
        }
        echo_batch(fd, n);
    }
}
