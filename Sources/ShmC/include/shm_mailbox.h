// A one-way, single-sender mailbox of fixed-size slots in POSIX shared memory, for ring neighbours on
// the same host. The receiver creates it; one sender at a time attaches by name. Each slot holds one
// multipart message (up to NM_SHM_MAX_FRAMES frames, each at an offset the sender chooses; a frame
// table of offsets and sizes travels with it and is validated on receipt). Slot states are futex words:
// the sender fills a FREE slot and marks it FULL; the receiver reads it in place and marks it FREE again.
// Every wait has an absolute CLOCK_MONOTONIC deadline and notices a dead peer process (kill(pid, 0)).
// Peers must share the PID namespace (processes of one host, outside separate containers).
//
// All functions return 0 or an errno value: ETIMEDOUT (deadline passed), EPIPE (the peer process is
// gone, the receiver closed the mailbox, or another sender took it over), EBUSY (this process is attached
// already), EPROTO (not a mailbox of this version), EMSGSIZE (frames do not fit a slot), EBADMSG (a slot's
// frame table is invalid; the slot is released and skipped), or what the failing system call set.
#ifndef NEIGHBORMAE_SHM_MAILBOX_H
#define NEIGHBORMAE_SHM_MAILBOX_H

#include <stdint.h>

#define NM_SHM_MAX_FRAMES 8

typedef struct nm_shm_mailbox nm_shm_mailbox;

/// Receiver: creates `/dev/shm/<name>` (a stale one of that name is replaced) with `slot_count` slots
/// of at least `slot_bytes` each, mode 0600, pages populated.
int nm_shm_create(const char *name, uint32_t slot_count, uint64_t slot_bytes, nm_shm_mailbox **out);

/// Sender: maps an existing mailbox (ENOENT until the receiver created it) and attaches as its only
/// sender, taking over from a previous one (which then gets EPIPE); EBUSY if this process is attached
/// already. Continues after the last message the previous sender published.
int nm_shm_attach(const char *name, nm_shm_mailbox **out);

/// Detaches (sender) or closes (receiver: peers see EPIPE, the name is removed), unmaps, frees.
/// The caller must not use slot memory afterwards.
void nm_shm_close(nm_shm_mailbox *mailbox);

/// Bytes of one slot: every frame must lie within [0, capacity).
uint64_t nm_shm_slot_capacity(const nm_shm_mailbox *mailbox);

/// How long a wait polls before it sleeps on the futex (default 0: sleep at once).
void nm_shm_set_spin(nm_shm_mailbox *mailbox, int64_t spin_ns);

/// Sender: waits for the next slot to be free and returns where to write (capacity: nm_shm_slot_capacity).
int nm_shm_reserve(nm_shm_mailbox *mailbox, int64_t deadline_ns, uint8_t **data);

/// Sender: publishes the reserved slot holding `frame_count` frames, frame i at `frame_offset[i]` with
/// `frame_bytes[i]` bytes (EMSGSIZE if one does not lie within the slot).
int nm_shm_publish(nm_shm_mailbox *mailbox, uint32_t frame_count, const uint64_t *frame_offset,
                   const uint64_t *frame_bytes);

/// Sender: as nm_shm_publish without checking the frame table; tests use it to play a faulty writer whose
/// table the receiver must refuse.
void nm_shm_publish_unchecked(nm_shm_mailbox *mailbox, uint32_t frame_count, const uint64_t *frame_offset,
                              const uint64_t *frame_bytes);

/// Receiver: waits for the next message. On 0, `*slot` must later be given to nm_shm_release (from any
/// thread); every frame `i < *frame_count` lies within the slot at `data + frame_offset[i]`.
int nm_shm_take(nm_shm_mailbox *mailbox, int64_t deadline_ns, uint32_t *slot, const uint8_t **data,
                uint32_t *frame_count, uint64_t frame_offset[NM_SHM_MAX_FRAMES],
                uint64_t frame_bytes[NM_SHM_MAX_FRAMES]);

/// Receiver, any thread: the slot's frames are no longer used; the sender may refill it.
void nm_shm_release(nm_shm_mailbox *mailbox, uint32_t slot);

/// Now on CLOCK_MONOTONIC, in nanoseconds (the clock of every deadline).
int64_t nm_shm_now_ns(void);

/// Copies `n` bytes with streaming (non-temporal) stores that bypass the caches, then fences, so the bytes
/// are visible before a following nm_shm_publish. Slower than memcpy for a reader that shares a cache with
/// the writer; much faster when moving lines from the writer's cache to the reader's is slow.
void nm_shm_copy_streaming(void *dst, const void *src, uint64_t n);

/// nm_shm_copy_streaming with 16-byte stores only (the path of CPUs without AVX-512); for tests.
void nm_shm_copy_streaming_baseline(void *dst, const void *src, uint64_t n);

#endif
