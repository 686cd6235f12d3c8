/* OpenMPI peer of the ring all-reduce benchmark (scripts/bench/ring-allreduce).
 *
 * MPI_Allreduce(MPI_IN_PLACE, float, MPI_SUM) over COUNT floats, WARMUPS untimed then ITERATIONS timed
 * iterations, each started after a barrier; the time of an iteration is the slowest rank's (MPI_MAX).
 * Prints the median and the bus bandwidth (nccl-tests: algbw = bytes / time, busbw = algbw * 2(N-1)/N).
 * The inputs are small integers (rank * 1000 + i % 997), so the float sum is exact and is checked.
 *
 * usage: mpirun -n N mpi_allreduce COUNT ITERATIONS [WARMUPS]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 3) {
        if (rank == 0) fprintf(stderr, "usage: mpi_allreduce COUNT ITERATIONS [WARMUPS]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    long count = atol(argv[1]);
    int iterations = atoi(argv[2]), warmups = argc > 3 ? atoi(argv[3]) : 2;
    float *values = aligned_alloc(64, ((count * sizeof(float) + 63) / 64) * 64);
    double *times = calloc(iterations, sizeof(double));
    int wrong = 0;
    for (int it = 0; it < warmups + iterations; it++) {
        for (long i = 0; i < count; i++) values[i] = (float)(rank * 1000 + i % 997);
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, values, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double local = MPI_Wtime() - start, slowest;
        MPI_Allreduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (it >= warmups) times[it - warmups] = slowest;
        for (long i = 0; i < count; i++) {
            if (values[i] != (float)(1000L * size * (size - 1) / 2 + size * (i % 997))) { wrong = 1; break; }
        }
    }
    qsort(times, iterations, sizeof(double), compare);
    double median = times[iterations / 2];
    double algbw = count * 4.0 / median / 1e9;
    if (rank == 0) {
        printf("MPI_RESULT size=%d count=%ld iterations=%d median_ms=%.3f min_ms=%.3f max_ms=%.3f "
               "algbw_GBps=%.3f busbw_GBps=%.3f correct=%d\n", size, count, iterations, median * 1e3,
               times[0] * 1e3, times[iterations - 1] * 1e3, algbw, algbw * 2.0 * (size - 1) / size, !wrong);
    }
    free(values);
    free(times);
    MPI_Finalize();
    return wrong ? 4 : 0;
}
