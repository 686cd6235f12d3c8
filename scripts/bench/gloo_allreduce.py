"""Gloo peer of the ring all-reduce benchmark (scripts/bench/ring-allreduce).

PyTorch's CPU collective backend (torch.distributed, backend "gloo"): a TCP ring with its own I/O
thread, the closest architectural match to our ZeroMQ ring, measured exactly like the OpenMPI peer
(scripts/bench/mpi_allreduce.c): all_reduce(SUM) in place over COUNT float32, WARMUPS untimed then
ITERATIONS timed iterations, each after a barrier; an iteration's time is the slowest rank's (MAX).
Prints the median and the bus bandwidth (nccl-tests: algbw = bytes / time, busbw = algbw * 2(N-1)/N).
The inputs are small integers (rank * 1000 + i % 997), so the float sum is exact and is checked.

usage: gloo_allreduce.py RANK SIZE PORT COUNT ITERATIONS [WARMUPS]   (one process per rank, loopback)
"""

import os
import sys
import time

import torch
import torch.distributed as dist


def main() -> int:
    if len(sys.argv) < 6:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    rank, size, port, count, iterations = (int(a) for a in sys.argv[1:6])
    warmups = int(sys.argv[6]) if len(sys.argv) > 6 else 2
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo")
    torch.set_num_threads(1)  # the reduction runs on the calling thread; no intra-op pool on 2 vCPUs
    dist.init_process_group("gloo", rank=rank, world_size=size)

    index = torch.arange(count, dtype=torch.int64) % 997
    inputs = (index + rank * 1000).to(torch.float32)
    expected = (index * size + 1000 * size * (size - 1) // 2).to(torch.float32)
    values = torch.empty(count, dtype=torch.float32)
    times, wrong = [], False
    for iteration in range(warmups + iterations):
        values.copy_(inputs)
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        slowest = torch.tensor([time.perf_counter() - start], dtype=torch.float64)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        if iteration >= warmups:
            times.append(slowest.item())
        wrong = wrong or not torch.equal(values, expected)

    times.sort()
    median = times[len(times) // 2]
    algbw = count * 4 / median / 1e9
    if rank == 0:
        print(f"GLOO_RESULT size={size} count={count} iterations={iterations} median_ms={median * 1e3:.3f} "
              f"min_ms={times[0] * 1e3:.3f} max_ms={times[-1] * 1e3:.3f} algbw_GBps={algbw:.3f} "
              f"busbw_GBps={algbw * 2 * (size - 1) / size:.3f} correct={int(not wrong)}", flush=True)
    dist.destroy_process_group()
    return 4 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
