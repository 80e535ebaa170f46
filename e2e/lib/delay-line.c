/*
 * delay-line: a link between two network namespaces that delays, jitters and
 * loses packets the way `tc netem delay D J loss L` does, for kernels built
 * without netem (this one). Tests and benches only; see e2e/lib/delay-line.ts.
 *
 *   delay-line NS_A NS_B DEV
 *
 * Opens a TUN device named DEV in each namespace (/run/netns/NS) and moves
 * every IP packet one reads to the other. A packet bound for a side waits
 * that side's delay plus a uniform draw in [-jitter, +jitter] ms (never less
 * than 0), each packet on its own draw, so packets may overtake one another
 * as under netem; a share `loss` % is dropped. Both sides start at 0 0 0.
 *
 * Standard input takes lines "SIDE DELAY_MS JITTER_MS LOSS_PCT" (SIDE is a or
 * b, the side packets go to) and "stats"; each is answered with one line on
 * standard output: "ok", "stats a:FORWARDED/DROPPED b:FORWARDED/DROPPED", or
 * "error: ...". "ready" is printed once both devices exist. End of input ends it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_PACKET 2048
#define SLOTS 8192 /* in flight at once: 8192 packets is seconds of any link a test makes */

struct side {
  int fd;
  double delay_ms, jitter_ms, loss_pct;
  uint64_t forwarded, dropped;
};

struct slot {
  uint64_t due_ns, order;
  int to; /* 0 or 1: the side it goes out of */
  uint16_t len;
  unsigned char data[MAX_PACKET];
};

static struct side sides[2];
static struct slot *slots;
static int heap[SLOTS], heap_len; /* slot indices, a min-heap on (due_ns, order) */
static int free_list[SLOTS], free_len;
static uint64_t next_order;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int before(int i, int j) {
  const struct slot *a = &slots[heap[i]], *b = &slots[heap[j]];
  return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->order < b->order);
}

static void swap(int i, int j) {
  int t = heap[i];
  heap[i] = heap[j];
  heap[j] = t;
}

static void heap_push(int slot) {
  int i = heap_len++;
  heap[i] = slot;
  while (i > 0 && before(i, (i - 1) / 2)) {
    swap(i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static int heap_pop(void) {
  int top = heap[0];
  heap[0] = heap[--heap_len];
  for (int i = 0;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_len && before(l, m)) m = l;
    if (r < heap_len && before(r, m)) m = r;
    if (m == i) break;
    swap(i, m);
    i = m;
  }
  return top;
}

/* A uniform draw in [0, 1). */
static double uniform(void) { return (double)random() / ((double)RAND_MAX + 1.0); }

static int open_tun(const char *ns, const char *dev) {
  char path[256];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) {
    fprintf(stderr, "delay-line: %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (setns(nsfd, CLONE_NEWNET) < 0) {
    fprintf(stderr, "delay-line: entering %s: %s\n", ns, strerror(errno));
    close(nsfd);
    return -1;
  }
  close(nsfd);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "delay-line: /dev/net/tun: %s\n", strerror(errno));
    return -1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    fprintf(stderr, "delay-line: creating %s in %s: %s\n", dev, ns, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

/* Reads every packet waiting on side `from` and queues it for the other side (or drops it). */
static void take(int from) {
  struct side *to = &sides[!from];
  for (;;) {
    if (free_len == 0) { /* full: read and drop, as a full queue would */
      unsigned char sink[MAX_PACKET];
      if (read(sides[from].fd, sink, sizeof sink) < 0) return;
      to->dropped++;
      continue;
    }
    int s = free_list[free_len - 1];
    ssize_t n = read(sides[from].fd, slots[s].data, MAX_PACKET);
    if (n <= 0) return; /* EAGAIN: nothing more now */
    if (to->loss_pct > 0 && uniform() * 100.0 < to->loss_pct) {
      to->dropped++;
      continue;
    }
    double ms = to->delay_ms + (to->jitter_ms > 0 ? (uniform() * 2.0 - 1.0) * to->jitter_ms : 0);
    if (ms < 0) ms = 0;
    free_len--;
    slots[s].due_ns = now_ns() + (uint64_t)(ms * 1e6);
    slots[s].order = next_order++;
    slots[s].to = !from;
    slots[s].len = (uint16_t)n;
    heap_push(s);
  }
}

/* Sends every packet that is due; returns ms until the next one is (-1: none waits). */
static int release(void) {
  for (;;) {
    if (heap_len == 0) return -1;
    uint64_t t = now_ns();
    struct slot *top = &slots[heap[0]];
    if (top->due_ns > t) return (int)((top->due_ns - t + 999999) / 1000000);
    int s = heap_pop();
    /* A TUN write either takes the whole packet or fails; a failed one is lost, as on a wire. */
    if (write(sides[slots[s].to].fd, slots[s].data, slots[s].len) == slots[s].len)
      sides[slots[s].to].forwarded++;
    else
      sides[slots[s].to].dropped++;
    free_list[free_len++] = s;
  }
}

static void command(char *line) {
  char side;
  double d, j, l;
  if (strncmp(line, "stats", 5) == 0) {
    printf("stats a:%llu/%llu b:%llu/%llu\n", (unsigned long long)sides[0].forwarded, (unsigned long long)sides[0].dropped,
           (unsigned long long)sides[1].forwarded, (unsigned long long)sides[1].dropped);
  } else if (sscanf(line, " %c %lf %lf %lf", &side, &d, &j, &l) == 4 && (side == 'a' || side == 'b') && d >= 0 && d <= 10000 && j >= 0 &&
             j <= 10000 && l >= 0 && l <= 100) {
    struct side *s = &sides[side - 'a'];
    s->delay_ms = d;
    s->jitter_ms = j;
    s->loss_pct = l;
    printf("ok\n");
  } else {
    printf("error: want \"a|b DELAY_MS JITTER_MS LOSS_PCT\" or \"stats\"\n");
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc != 4 || strlen(argv[3]) >= IFNAMSIZ) {
    fprintf(stderr, "usage: delay-line NS_A NS_B DEV\n");
    return 2;
  }
  srandom((unsigned)now_ns());
  slots = calloc(SLOTS, sizeof *slots);
  if (!slots) return 1;
  for (int i = 0; i < SLOTS; i++) free_list[free_len++] = SLOTS - 1 - i;
  for (int i = 0; i < 2; i++)
    if ((sides[i].fd = open_tun(argv[1 + i], argv[3])) < 0) return 1;
  printf("ready\n");
  fflush(stdout);

  char buf[512];
  size_t have = 0;
  struct pollfd fds[3] = {{sides[0].fd, POLLIN, 0}, {sides[1].fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
  for (;;) {
    int wait = release();
    if (poll(fds, 3, wait) < 0 && errno != EINTR) return 1;
    for (int i = 0; i < 2; i++)
      if (fds[i].revents & POLLIN) take(i);
    if (fds[2].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(STDIN_FILENO, buf + have, sizeof buf - 1 - have);
      if (n <= 0) return 0; /* the owner went away */
      have += (size_t)n;
      buf[have] = 0;
      char *nl;
      while ((nl = strchr(buf, '\n'))) {
        *nl = 0;
        command(buf);
        have -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, have + 1);
      }
      if (have == sizeof buf - 1) have = 0; /* a line too long: forget it */
    }
  }
}
