// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "mash-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "AMQP", targets: ["AMQP"]),
        .library(name: "Sealing", targets: ["Sealing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "AMQP",
            dependencies: ["CRabbitMQ", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "JSONText",
            swiftSettings: strict
        ),
        .target(
            name: "MASHCore",
            dependencies: ["JSONText"],
            swiftSettings: strict
        ),
        .target(
            name: "MASHProtocol",
            dependencies: ["AMQP", "MASHCore"],
            swiftSettings: strict
        ),
        .target(
            name: "MASHConfig",
            dependencies: ["MASHCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "MASHService",
            dependencies: [
                "MASHCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MASHRuntime",
            dependencies: [
                "AMQP", "Sealing", "MASHCore", "MASHConfig", "MASHService",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Sealing",
            dependencies: ["COpenSSL", "JSONText"],
            swiftSettings: strict
        ),
        .target(
            name: "MASHReadModel",
            dependencies: [
                "MASHCore", "MASHConfig", "MASHService", "Sealing", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "MASHAgency",
            dependencies: [
                "AMQP", "Sealing", "MASHCore", "MASHConfig", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Coordinator",
            dependencies: [
                "AMQP", "Sealing", "MASHCore", "MASHConfig", "MASHReadModel", "MASHService", "MASHRuntime",
                "MASHProtocol", "MASHPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Adapter",
            dependencies: [
                "AMQP", "Sealing", "MASHCore", "MASHConfig", "MASHAgency", "MASHService", "MASHRuntime", "MASHProtocol",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "mash-adapter",
            dependencies: ["Adapter", "MASHService"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "mash-coordinator",
            dependencies: ["Coordinator", "MASHService"],
            swiftSettings: strict
        ),
        .target(
            name: "MASHHub",
            dependencies: [
                "Coordinator", "Adapter", "Desk", "MASHAgency", "MASHRuntime", "MASHService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "mash-hub",
            dependencies: ["MASHHub", "MASHService"],
            swiftSettings: strict
        ),
        .target(
            name: "Desk",
            dependencies: [
                "AMQP", "Sealing", "MASHCore", "MASHConfig", "MASHAgency", "MASHService", "MASHRuntime",
                "MASHProtocol",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "mash-desk",
            dependencies: ["Desk", "MASHService"],
            swiftSettings: strict
        ),
        .target(
            name: "MASHControl",
            dependencies: [
                "AMQP", "Sealing", "MASHCore", "MASHConfig", "MASHAgency", "MASHProtocol", "MASHReadModel",
                "MASHPostgres", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "mashctl",
            dependencies: ["MASHControl"],
            swiftSettings: strict
        ),
        .target(
            name: "MASHTesting",
            dependencies: ["AMQP", "Sealing", "MASHCore"],
            swiftSettings: strict
        ),
        .target(
            name: "MASHPostgres",
            dependencies: [
                "CLibPQ", "MASHService", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PostgresStoreTests",
            dependencies: [
                "MASHPostgres", "MASHService", "MASHRuntime", "MASHReadModel", "Coordinator", "MASHTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AMQPTests",
            dependencies: ["AMQP", "CRabbitMQ", "MASHTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SealingTests",
            dependencies: ["Sealing", "MASHTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MASHControlTests",
            dependencies: [
                "MASHControl", "Coordinator", "MASHConfig", "MASHCore", "MASHReadModel", "Sealing", "MASHTesting",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MASHCoreTests",
            dependencies: ["JSONText", "MASHCore", "MASHTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CoordinatorTests",
            dependencies: [
                "Coordinator", "AMQP", "Sealing", "MASHCore", "MASHConfig", "MASHReadModel", "MASHAgency",
                "MASHProtocol", "MASHRuntime", "MASHTesting",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AdapterTests",
            dependencies: [
                "Adapter", "MASHAgency", "MASHConfig", "MASHCore", "MASHService", "Sealing", "MASHTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DeskTests",
            dependencies: ["Desk", "MASHAgency", "MASHConfig", "MASHCore", "Sealing", "MASHTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RuntimeTests",
            dependencies: [
                "MASHRuntime", "AMQP", "Sealing", "MASHCore", "MASHService", "MASHTesting",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BrokerRecoveryTests",
            dependencies: ["AMQP", "MASHTesting"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "amqp-bench",
            dependencies: ["AMQP"],
            path: "Benchmarks/amqp-bench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "sealing-bench",
            dependencies: ["Sealing"],
            path: "Benchmarks/sealing-bench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "adapter-bench",
            dependencies: [
                "Adapter", "AMQP", "MASHAgency", "MASHCore", "MASHTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/adapter-bench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "coordinator-bench",
            dependencies: [
                "Coordinator", "AMQP", "MASHConfig", "MASHCore", "MASHTesting", "MASHPostgres", "MASHService",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/coordinator-bench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "roll-bench",
            dependencies: [
                "Coordinator", "AMQP", "MASHConfig", "MASHCore", "MASHTesting", "Sealing",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/roll-bench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "matching-bench",
            dependencies: ["MASHCore"],
            path: "Benchmarks/matching-bench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "amqp-raw-bench",
            dependencies: ["CRabbitMQ"],
            path: "Benchmarks/amqp-raw-bench"
        ),
    ],
    swiftLanguageModes: [.v6]
)
