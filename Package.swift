// swift-tools-version: 6.0
//
// NeighborMAE-Swift: distributed self-supervised pretraining of vision transformers on
// Earth-observation imagery. Target graph: ../shared/design/SYSTEM.md §8 (dependencies point up).

import Foundation
import PackageDescription

// MARK: - CPU target policy
//
// Swift SIMD code built for baseline x86-64 lowers every `addingProduct` to one `fmaf` libcall
// per lane and runs ~100x slower, so numeric targets are always compiled for a concrete CPU.
//
//   NEIGHBORMAE_CPU unset / "auto"  AVX-512 host -> skylake-avx512 (+ TENSORCORE_AVX512 kernels)
//                                   AVX2+FMA host -> haswell     (AVX2 kernels, own tile shape)
//   NEIGHBORMAE_CPU=<llvm cpu>      that CPU, e.g. haswell, skylake-avx512, znver4, native
//   NEIGHBORMAE_CPU=none            no -target-cpu (portable and very slow; for diagnosis only)
//
// The named baselines are portable across vendors (skylake-avx512 runs on Intel and AMD Zen 4),
// unlike `native`. Workers of one run must share a build: bit-identical results (SYSTEM.md §4) are
// guaranteed within one policy only. (GEMM gave identical bits under haswell and skylake-avx512 when
// checked by hand, since both tiles run one FMA chain per element over the same K blocks; nothing
// promises that for every kernel and compiler version.)
// `x86-64-v3` / `x86-64-v4` are rejected by this toolchain's clang importer.

enum CPUPolicy {
    static let avx512CPUs: Set<String> = ["skylake-avx512", "cascadelake", "cooperlake", "icelake-server",
                                          "sapphirerapids", "znver4", "znver5"]

    static func hostFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }

    /// (llvm cpu name or nil, whether the AVX-512 kernels are compiled in)
    static func resolve() -> (cpu: String?, avx512: Bool) {
        let requested = ProcessInfo.processInfo.environment["NEIGHBORMAE_CPU"] ?? "auto"
        switch requested {
        case "none":
            return (nil, false)
        case "auto", "":
            let flags = hostFlags()
            if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) {
                return ("skylake-avx512", true)
            }
            if flags.isSuperset(of: ["avx2", "fma"]) { return ("haswell", false) }
            return (nil, false)
        case "native":
            return ("native", hostFlags().contains("avx512f"))
        default:
            return (requested, avx512CPUs.contains(requested))
        }
    }

    static var swiftSettings: [SwiftSetting] {
        #if arch(x86_64)
        let (cpu, avx512) = resolve()
        var settings: [SwiftSetting] = []
        if let cpu { settings.append(.unsafeFlags(["-target-cpu", cpu])) }
        if avx512 { settings.append(.define("TENSORCORE_AVX512")) }
        return settings
        #else
        return []
        #endif
    }
}

let numeric = CPUPolicy.swiftSettings

let package = Package(
    name: "NeighborMAE",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "EOData", targets: ["EOData"]),
        .library(name: "NeighborMAE", targets: ["NeighborMAE"]),
        .library(name: "Wire", targets: ["Wire"]),
        .library(name: "Comm", targets: ["Comm"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .executable(name: "neighbormae", targets: ["NeighborMAECLI"]),
        .executable(name: "neighbormae-bench", targets: ["NeighborMAEBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // MARK: Tensor core
        .target(name: "TensorCore", swiftSettings: numeric),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"], swiftSettings: numeric),
        // Comparisons and test data shared by the test targets (not a product).
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport", swiftSettings: numeric),

        // MARK: Layers, parameters, optimizer
        .target(name: "NN", dependencies: ["TensorCore"], swiftSettings: numeric),
        .testTarget(name: "NNTests", dependencies: ["NN", "TensorCore", "TestSupport"], swiftSettings: numeric),

        // MARK: The method: config, patches, position embedding, masking, loss
        .target(name: "NeighborMAE", dependencies: ["NN", "TensorCore"], swiftSettings: numeric),
        .testTarget(name: "NeighborMAETests", dependencies: ["NeighborMAE", "NN", "TensorCore", "TestSupport"],
                    exclude: ["Fixtures"], swiftSettings: numeric),

        // MARK: Earth-observation data
        .systemLibrary(name: "CGDAL", pkgConfig: "gdal", providers: [.apt(["libgdal-dev"])]),
        .target(name: "EOData",
                dependencies: ["TensorCore", "CGDAL", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: numeric),
        .testTarget(name: "EODataTests", dependencies: ["EOData", "TensorCore"], swiftSettings: numeric),

        // MARK: Wire protocol (protobuf-c schema in protos/, generated C committed; scripts/gen-protos)
        .systemLibrary(name: "CProtobufC", providers: [.apt(["libprotobuf-c-dev"])]),
        .target(name: "WireC", dependencies: ["CProtobufC"]),
        .target(name: "Wire", dependencies: ["WireC", "CProtobufC"], swiftSettings: numeric),
        .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"], swiftSettings: numeric),

        // MARK: Transport (ZeroMQ wrapper, Transport protocol, security) and the gradient ring
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        // Same-host ring data plane: a futex-synchronised mailbox in POSIX shared memory.
        .target(name: "ShmC"),
        .target(name: "Comm", dependencies: ["CZeroMQ", "ShmC", "Wire", "TensorCore"], swiftSettings: numeric),
        .testTarget(name: "CommTests", dependencies: ["Comm", "ShmC", "Wire", "TestSupport"], swiftSettings: numeric),
        // The other process of the two-process transport tests and of scripts/bench/transport.
        .executableTarget(name: "CommPeer", dependencies: ["Comm", "Wire"], swiftSettings: numeric),

        // MARK: Ring peer: one rank over ZeroMQ for the multi-process ring tests and the ring benchmark;
        // `gradient-stats` measures real gradient magnitudes for the fixed-point scale (needs Training).
        // Test tool: a TCP forwarder adding latency and jitter (the fault harness's stand-in for tc netem).
        .executableTarget(name: "LatencyProxy", swiftSettings: numeric),
        .executableTarget(name: "RingPeer", dependencies: ["Comm", "Wire", "Training"], swiftSettings: numeric),

        // MARK: Training
        .target(name: "Training",
                dependencies: ["TensorCore", "NN", "NeighborMAE", "EOData",
                               .product(name: "Crypto", package: "swift-crypto"),
                               .product(name: "Yams", package: "Yams")],
                swiftSettings: numeric),
        .target(name: "TrainingTestSupport", dependencies: ["Training", "NeighborMAE", "EOData"],
                path: "Tests/TrainingTestSupport", swiftSettings: numeric),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "NeighborMAE", "NN", "EOData", "TensorCore",
                                                          "TrainingTestSupport"],
                    swiftSettings: numeric),

        // MARK: Downstream use of a run: frozen-encoder features, linear probe / kNN, export for timm
        .target(name: "Evaluation", dependencies: ["Training", "NeighborMAE", "EOData", "NN", "TensorCore"],
                swiftSettings: numeric),
        .testTarget(name: "EvaluationTests",
                    dependencies: ["Evaluation", "Training", "NeighborMAE", "EOData", "NN", "TensorCore",
                                   "TrainingTestSupport"],
                    swiftSettings: numeric),

        // MARK: Coordinator and workers: pure state machines + thin shells
        .target(name: "Cluster",
                dependencies: ["Training", "Comm", "Wire", "EOData", "NN", "NeighborMAE", "TensorCore",
                               .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: numeric),
        .testTarget(name: "ClusterTests",
                    dependencies: ["Cluster", "Comm", "Wire", "NN", "TensorCore", "Training", "EOData",
                                   "TrainingTestSupport"],
                    swiftSettings: numeric),

        // MARK: Command line
        .executableTarget(
            name: "NeighborMAECLI",
            dependencies: ["Training", "Comm", "Cluster", "Wire", "EOData", "Evaluation",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: numeric),

        // MARK: Benchmarks (OpenBLAS is only the peer measured beside our kernels)
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .executableTarget(
            name: "NeighborMAEBench",
            dependencies: ["TensorCore", "NN", "NeighborMAE", "EOData", "COpenBLAS",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: numeric),
    ]
)
