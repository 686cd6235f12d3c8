// Shared-memory mailbox: see include/shm_mailbox.h for the contract. Layout of the mapping:
//
//   page 0..:  struct header, then slot_count struct slot_control (one cache line pair each)
//   then:      slot_count slots of slot_stride bytes (a multiple of the page size)
//
// Ordering: a slot's frame table and bytes are written before its state becomes FULL (seq_cst store) and
// read after the receiver sees FULL (seq_cst load); the receiver's reads of the bytes finish before its
// FREE store. Waiters announce themselves in `waiters` before sleeping, so a state change wakes the futex
// only when someone sleeps on it (both sides use seq_cst, so one of them sees the other).
#define _GNU_SOURCE
#include "shm_mailbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x314d48534541454eULL   // "NEAESHM1" little-endian
#define VERSION 1u
#define LINE 64u
#define PAGE 4096u
#define MAX_SLOTS 64u
#define FREE 0u
#define FULL 1u
#define LIVENESS_PERIOD_NS 20000000LL   // how often a sleeping wait checks that the peer process exists

struct slot_control {
    alignas(LINE) _Atomic uint32_t state;
    _Atomic uint32_t waiters;
    uint32_t frame_count;
    uint64_t sequence;
    uint64_t frame_offset[NM_SHM_MAX_FRAMES];
    uint64_t frame_bytes[NM_SHM_MAX_FRAMES];
};

struct header {
    _Atomic uint64_t magic;            // written last by the creator
    uint32_t version;
    uint32_t slot_count;
    uint64_t slot_stride;              // bytes between slots (capacity rounded up to pages)
    uint64_t slot_capacity;
    uint64_t mapping_bytes;
    alignas(LINE) _Atomic int32_t receiver_pid;
    _Atomic uint32_t closed;
    alignas(LINE) _Atomic int32_t sender_pid;  // 0: no sender attached
    _Atomic uint64_t write_index;      // messages published so far (by all senders)
};

struct nm_shm_mailbox {
    struct header *header;
    struct slot_control *slots;
    uint8_t *data;
    uint64_t mapping_bytes;
    int receiver;
    int fd;                            // receiver: kept to recognise its own name at close
    uint64_t index;                    // sender: next to publish; receiver: next to take
    int32_t pid;                       // this process
    int64_t spin_ns;
    char name[NAME_MAX + 1];
};

static uint64_t round_up(uint64_t value, uint64_t to) { return (value + to - 1) / to * to; }

static uint64_t controls_bytes(uint32_t slot_count) {
    return round_up(sizeof(struct header), LINE) + (uint64_t)slot_count * sizeof(struct slot_control);
}

int64_t nm_shm_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/// Whether every frame lies within a slot of `capacity` bytes.
static int frames_fit(uint32_t count, const uint64_t *offset, const uint64_t *bytes, uint64_t capacity) {
    if (count == 0 || count > NM_SHM_MAX_FRAMES) return 0;
    for (uint32_t i = 0; i < count; i++)
        if (offset[i] > capacity || bytes[i] > capacity - offset[i]) return 0;
    return 1;
}

uint64_t nm_shm_slot_capacity(const nm_shm_mailbox *mailbox) { return mailbox->header->slot_capacity; }

void nm_shm_set_spin(nm_shm_mailbox *mailbox, int64_t spin_ns) { mailbox->spin_ns = spin_ns > 0 ? spin_ns : 0; }

/// Between polls of a spinning wait: a compiler barrier only. Not PAUSE: under KVM, a vCPU that executes
/// PAUSE in a loop is taken off its core (pause-loop exiting), which cost ~1.5 ms per 4 MiB collective here.
static void cpu_relax(void) { atomic_signal_fence(memory_order_seq_cst); }

static int process_gone(int32_t pid) { return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH; }

/// A sender whose mailbox another sender has taken over (`claim_sender`).
static int replaced(const nm_shm_mailbox *m) {
    return !m->receiver && atomic_load(&m->header->sender_pid) != m->pid;
}

static void wake(struct slot_control *slot) {
    if (atomic_load(&slot->waiters) > 0) syscall(SYS_futex, &slot->state, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/// Waits until `slot->state == want`. `peer` is the other side's pid: EPIPE once that process dies during
/// the wait. A receiver forgets a sender that was dead before the wait (its stream ended with an earlier
/// collective, and a replacement is about to attach) and waits on; a sender that detached (0) is not a
/// failure either. A sender also gets EPIPE once another sender took the mailbox over.
static int wait_for(nm_shm_mailbox *m, struct slot_control *slot, uint32_t want, int64_t deadline_ns,
                    _Atomic int32_t *peer) {
    int64_t now = nm_shm_now_ns();
    const int64_t spin_until = now + m->spin_ns;
    int64_t next_check = now;
    int first_check = 1;
    for (unsigned spins = 0;; spins++) {
        uint32_t seen = atomic_load(&slot->state);
        if (seen == want) return 0;
        if (atomic_load(&m->header->closed)) return EPIPE;
        if ((spins & 63) != 0 && now < spin_until) {
            cpu_relax();
            continue;
        }
        now = nm_shm_now_ns();
        if (now >= deadline_ns) return ETIMEDOUT;
        if (now < spin_until) continue;
        if (now >= next_check) {
            int32_t current = atomic_load(peer);
            if (process_gone(current)) {
                if (m->receiver) atomic_compare_exchange_strong(peer, &current, 0);
                if (!m->receiver || !first_check) return EPIPE;
            }
            if (replaced(m)) return EPIPE;
            first_check = 0;
            next_check = now + LIVENESS_PERIOD_NS;
        }
        int64_t sleep_ns = (deadline_ns < next_check ? deadline_ns : next_check) - now;
        struct timespec timeout = { sleep_ns / 1000000000LL, sleep_ns % 1000000000LL };
        atomic_fetch_add(&slot->waiters, 1);
        syscall(SYS_futex, &slot->state, FUTEX_WAIT, seen, &timeout, NULL, 0);
        atomic_fetch_sub(&slot->waiters, 1);
        now = nm_shm_now_ns();
    }
}

/// Sets where the slot controls and the slots of a mailbox of `slot_count` slots start in the mapping.
static void locate(nm_shm_mailbox *m, uint32_t slot_count) {
    m->slots = (struct slot_control *)((uint8_t *)m->header + round_up(sizeof(struct header), LINE));
    m->data = (uint8_t *)m->header + round_up(controls_bytes(slot_count), PAGE);
}

/// Maps `bytes` of `fd` (pages populated: no fault on a chunk's first write).
static int map(int fd, uint64_t bytes, nm_shm_mailbox *m) {
    void *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (base == MAP_FAILED) return errno;
    m->header = base;
    m->mapping_bytes = bytes;
    return 0;
}

static int valid_name(const char *name) {
    size_t length = strlen(name);
    return length > 0 && length < NAME_MAX && strchr(name, '/') == NULL;
}

int nm_shm_create(const char *name, uint32_t slot_count, uint64_t slot_bytes, nm_shm_mailbox **out) {
    if (!valid_name(name) || slot_count < 2 || slot_count > MAX_SLOTS || slot_bytes == 0 || slot_bytes > (1ULL << 40))
        return EINVAL;
    char path[NAME_MAX + 2];
    snprintf(path, sizeof path, "/%s", name);
    shm_unlink(path);   // a stale mailbox of a crashed run
    int fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return errno;
    const uint64_t capacity = round_up(slot_bytes, LINE);
    const uint64_t stride = round_up(capacity, PAGE);
    const uint64_t bytes = round_up(controls_bytes(slot_count), PAGE) + (uint64_t)slot_count * stride;
    nm_shm_mailbox *m = calloc(1, sizeof *m);
    int status = m ? 0 : ENOMEM;
    // Reserve the pages now: a /dev/shm too small for the mailbox is ENOSPC here, not SIGBUS at first touch.
    if (status == 0 && ftruncate(fd, (off_t)bytes) != 0) status = errno;
    if (status == 0) status = posix_fallocate(fd, 0, (off_t)bytes);
    if (status == 0) status = map(fd, bytes, m);
    if (status != 0) {
        shm_unlink(path);
        close(fd);
        free(m);
        return status;
    }
    struct header *h = m->header;
    h->version = VERSION;
    h->slot_count = slot_count;
    h->slot_stride = stride;
    h->slot_capacity = capacity;
    h->mapping_bytes = bytes;
    atomic_store(&h->receiver_pid, (int32_t)getpid());
    locate(m, slot_count);
    m->receiver = 1;
    m->fd = fd;
    m->pid = (int32_t)getpid();
    m->spin_ns = 0;
    strcpy(m->name, path);
    atomic_store(&h->magic, MAGIC);
    *out = m;
    return 0;
}

/// Takes the sender role from whoever holds it: nobody, a dead process, or a live one that was replaced in
/// the ring (it may be stopped or hung, and must not block its successor). The replaced sender gets EPIPE
/// at its next reserve or publish, so at most the message it was writing can still land, and the ring's
/// epoch, step and CRC checks drop it. One process attaches once (a second attach is EBUSY: a bug).
static int claim_sender(struct header *h) {
    const int32_t self = (int32_t)getpid();
    for (;;) {
        int32_t holder = atomic_load(&h->sender_pid);
        if (holder == self) return EBUSY;
        if (atomic_compare_exchange_strong(&h->sender_pid, &holder, self)) return 0;
    }
}

int nm_shm_attach(const char *name, nm_shm_mailbox **out) {
    if (!valid_name(name)) return EINVAL;
    char path[NAME_MAX + 2];
    snprintf(path, sizeof path, "/%s", name);
    int fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) return errno;
    struct stat info;
    int status = fstat(fd, &info) != 0 ? errno : 0;
    if (status == 0 && info.st_uid != geteuid()) status = EACCES;
    if (status == 0 && (uint64_t)info.st_size < PAGE) status = ENOENT;   // being created
    nm_shm_mailbox *m = status == 0 ? calloc(1, sizeof *m) : NULL;
    if (status == 0 && !m) status = ENOMEM;
    if (status == 0) status = map(fd, (uint64_t)info.st_size, m);
    close(fd);
    if (status != 0) {
        free(m);
        return status;
    }
    struct header *h = m->header;
    if (atomic_load(&h->magic) != MAGIC) {
        status = ENOENT;   // created but not yet initialised
    } else if (h->version != VERSION || h->slot_count < 2 || h->slot_count > MAX_SLOTS
               || h->mapping_bytes != (uint64_t)info.st_size || h->slot_stride < h->slot_capacity
               || h->slot_stride > h->mapping_bytes
               || round_up(controls_bytes(h->slot_count), PAGE) + h->slot_count * h->slot_stride > h->mapping_bytes) {
        status = EPROTO;
    } else if (atomic_load(&h->closed)) {
        status = EPIPE;
    } else {
        status = claim_sender(h);
    }
    if (status != 0) {
        munmap(h, m->mapping_bytes);
        free(m);
        return status;
    }
    locate(m, h->slot_count);
    m->fd = -1;
    m->pid = (int32_t)getpid();
    m->spin_ns = 0;
    strcpy(m->name, path);
    // A previous sender that died between marking a slot FULL and counting it: count it now.
    uint64_t index = atomic_load(&h->write_index);
    for (uint32_t i = 0; i < h->slot_count; i++) {
        struct slot_control *slot = &m->slots[index % h->slot_count];
        if (atomic_load(&slot->state) != FULL || slot->sequence != index) break;
        index++;
    }
    atomic_store(&h->write_index, index);
    m->index = index;
    *out = m;
    return 0;
}

void nm_shm_close(nm_shm_mailbox *m) {
    if (!m) return;
    struct header *h = m->header;
    if (m->receiver) {
        atomic_store(&h->closed, 1);
        for (uint32_t i = 0; i < h->slot_count; i++) wake(&m->slots[i]);
        // Remove the name only if it is still ours (not a newer mailbox created under the same name).
        struct stat mine, named;
        char path[NAME_MAX + 16];
        snprintf(path, sizeof path, "/dev/shm%s", m->name);
        if (fstat(m->fd, &mine) == 0 && stat(path, &named) == 0 && mine.st_ino == named.st_ino) shm_unlink(m->name);
        close(m->fd);
    } else {
        int32_t self = (int32_t)getpid();
        atomic_compare_exchange_strong(&h->sender_pid, &self, 0);
    }
    munmap(h, m->mapping_bytes);
    free(m);
}

int nm_shm_reserve(nm_shm_mailbox *m, int64_t deadline_ns, uint8_t **data) {
    // Even with a free slot: nobody would read it, or it is no longer ours to write.
    if (atomic_load(&m->header->closed) || replaced(m)) return EPIPE;
    const uint32_t slot = (uint32_t)(m->index % m->header->slot_count);
    int status = wait_for(m, &m->slots[slot], FREE, deadline_ns, &m->header->receiver_pid);
    if (status == 0) *data = m->data + (uint64_t)slot * m->header->slot_stride;
    return status;
}

int nm_shm_publish(nm_shm_mailbox *m, uint32_t frame_count, const uint64_t *frame_offset,
                   const uint64_t *frame_bytes) {
    if (!frames_fit(frame_count, frame_offset, frame_bytes, m->header->slot_capacity)) return EMSGSIZE;
    if (replaced(m)) return EPIPE;
    nm_shm_publish_unchecked(m, frame_count, frame_offset, frame_bytes);
    return 0;
}

void nm_shm_publish_unchecked(nm_shm_mailbox *m, uint32_t frame_count, const uint64_t *frame_offset,
                              const uint64_t *frame_bytes) {
    const struct header *h = m->header;
    if (frame_count > NM_SHM_MAX_FRAMES) frame_count = NM_SHM_MAX_FRAMES + 1;   // kept invalid, never copied
    struct slot_control *slot = &m->slots[m->index % h->slot_count];
    const uint32_t copied = frame_count <= NM_SHM_MAX_FRAMES ? frame_count : 0;
    slot->frame_count = frame_count;
    memcpy(slot->frame_offset, frame_offset, copied * sizeof(uint64_t));
    memcpy(slot->frame_bytes, frame_bytes, copied * sizeof(uint64_t));
    slot->sequence = m->index;
    atomic_store(&slot->state, FULL);
    wake(slot);
    m->index++;
    atomic_store(&m->header->write_index, m->index);
}

int nm_shm_take(nm_shm_mailbox *m, int64_t deadline_ns, uint32_t *slot_out, const uint8_t **data,
                uint32_t *frame_count, uint64_t frame_offset[NM_SHM_MAX_FRAMES],
                uint64_t frame_bytes[NM_SHM_MAX_FRAMES]) {
    const struct header *h = m->header;
    const uint32_t index = (uint32_t)(m->index % h->slot_count);
    struct slot_control *slot = &m->slots[index];
    int status = wait_for(m, slot, FULL, deadline_ns, &m->header->sender_pid);
    if (status != 0) return status;
    // Copy the table once, then validate the copy: nothing read later can disagree with what was checked.
    const uint64_t sequence = slot->sequence;
    const uint32_t count = slot->frame_count;
    int valid = sequence == m->index && count >= 1 && count <= NM_SHM_MAX_FRAMES;
    if (valid) {
        memcpy(frame_offset, slot->frame_offset, count * sizeof(uint64_t));
        memcpy(frame_bytes, slot->frame_bytes, count * sizeof(uint64_t));
        valid = frames_fit(count, frame_offset, frame_bytes, h->slot_capacity);
    }
    // Resynchronise with the sender's numbering even when this slot is refused.
    m->index = sequence >= m->index ? sequence + 1 : m->index + 1;
    if (!valid) {
        nm_shm_release(m, index);
        return EBADMSG;
    }
    *slot_out = index;
    *data = m->data + (uint64_t)index * h->slot_stride;
    *frame_count = count;
    return 0;
}

void nm_shm_release(nm_shm_mailbox *m, uint32_t slot) {
    if (slot >= m->header->slot_count) return;
    atomic_store(&m->slots[slot].state, FREE);
    wake(&m->slots[slot]);
}

// MARK: - Streaming copy

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f")))
static void copy_streaming_avx512(uint8_t *dst, const uint8_t *src, uint64_t n) {
    for (uint64_t i = 0; i + 256 <= n; i += 256) {
        __m512i a = _mm512_loadu_si512(src + i), b = _mm512_loadu_si512(src + i + 64);
        __m512i c = _mm512_loadu_si512(src + i + 128), d = _mm512_loadu_si512(src + i + 192);
        _mm512_stream_si512((void *)(dst + i), a);
        _mm512_stream_si512((void *)(dst + i + 64), b);
        _mm512_stream_si512((void *)(dst + i + 128), c);
        _mm512_stream_si512((void *)(dst + i + 192), d);
    }
}

static void copy_streaming_sse2(uint8_t *dst, const uint8_t *src, uint64_t n) {
    for (uint64_t i = 0; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_stream_si128((__m128i *)(dst + i), a);
        _mm_stream_si128((__m128i *)(dst + i + 16), b);
        _mm_stream_si128((__m128i *)(dst + i + 32), c);
        _mm_stream_si128((__m128i *)(dst + i + 48), d);
    }
}

static void copy_streaming(void *to, const void *from, uint64_t n, int wide) {
    uint8_t *dst = to;
    const uint8_t *src = from;
    uint64_t head = (uint64_t)(-(uintptr_t)dst & (LINE - 1));   // up to the first 64-byte boundary
    if (head > n) head = n;
    memcpy(dst, src, head);
    uint64_t body = (n - head) / 256 * 256;
    if (wide) {
        copy_streaming_avx512(dst + head, src + head, body);
    } else {
        copy_streaming_sse2(dst + head, src + head, body);
    }
    memcpy(dst + head + body, src + head + body, n - head - body);
    _mm_sfence();   // streaming stores are weakly ordered: make them visible before the slot is published
}

void nm_shm_copy_streaming(void *dst, const void *src, uint64_t n) {
    copy_streaming(dst, src, n, __builtin_cpu_supports("avx512f"));   // what the runtime detected at load
}

void nm_shm_copy_streaming_baseline(void *dst, const void *src, uint64_t n) {
    copy_streaming(dst, src, n, 0);
}
#else
void nm_shm_copy_streaming(void *dst, const void *src, uint64_t n) {
    memcpy(dst, src, n);
}

void nm_shm_copy_streaming_baseline(void *dst, const void *src, uint64_t n) {
    memcpy(dst, src, n);
}
#endif
