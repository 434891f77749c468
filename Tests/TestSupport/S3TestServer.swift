import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real S3 API endpoint for tests: moto's standalone server (PyPI `moto[server]`, installed
/// by `scripts/setup.sh --python`) on a free loopback port, started by ``start()`` and stopped
/// by ``stop()`` (or when the object goes away). GDAL's `/vsis3/` talks to it with
/// ``environment``; buckets are created and objects listed, fetched and deleted through boto3
/// (a few lines of Python per call), so the tests check the store with a client other than GDAL.
public final class S3TestServer: @unchecked Sendable {
    /// The loopback port the server listens on.
    public let port: Int
    private let process: Process
    private let log: String

    /// What GDAL (and boto3) need to reach the server: endpoint, plain HTTP, path-style
    /// addressing, a dummy key pair and region.
    public var environment: [String: String] {
        ["AWS_S3_ENDPOINT": "127.0.0.1:\(port)", "AWS_HTTPS": "NO", "AWS_VIRTUAL_HOSTING": "FALSE",
         "AWS_ACCESS_KEY_ID": "landcover-test", "AWS_SECRET_ACCESS_KEY": "landcover-test", "AWS_REGION": "us-east-1",
         "AWS_DEFAULT_REGION": "us-east-1", "AWS_NO_SIGN_REQUEST": "NO", "CPL_VSIL_CURL_CACHE_SIZE": "0"]
    }

    private init(port: Int, process: Process, log: String) {
        self.port = port
        self.process = process
        self.log = log
    }

    /// Starts `moto_server -p PORT -H 127.0.0.1` on a free port and waits (up to 30 s) until it
    /// accepts connections.
    /// - Throws: when moto is not installed or does not come up (its log is in the message).
    public static func start() throws -> S3TestServer {
        let port = try freePort()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("landcover-moto-\(port)-\(UUID().uuidString.prefix(6)).log").path
        guard FileManager.default.createFile(atPath: log, contents: nil) else { throw Failure(message: "cannot create \(log)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["moto_server", "-p", "\(port)", "-H", "127.0.0.1"]
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let server = S3TestServer(port: port, process: process, log: log)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning { break }
            if accepts(port: port) { return server }
            usleep(100_000)
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        server.stop()
        throw Failure(message: "moto_server did not start on port \(port) (install it: scripts/setup.sh --python): \(text.suffix(2000))")
    }

    /// Stops the server (SIGKILL: the test runner's threads block SIGTERM and children inherit
    /// that mask, so moto would never see a SIGTERM; it has nothing to save), then waits for it.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }

    /// Creates a bucket.
    public func createBucket(_ name: String) throws {
        _ = try python("s3.create_bucket(Bucket=sys.argv[1])", [name])
    }

    /// Every object key in `bucket` under `prefix`, with its size, sorted by key.
    public func objects(bucket: String, prefix: String = "") throws -> [(key: String, bytes: Int)] {
        let out = try python("""
            pages = s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[1], Prefix=sys.argv[2])
            for page in pages:
                for o in page.get('Contents', []):
                    print(o['Size'], o['Key'])
            """, [bucket, prefix])
        return out.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let bytes = Int(parts[0]) else { return nil }
            return (String(parts[1]), bytes)
        }.sorted { $0.key < $1.key }
    }

    /// Downloads every object under `prefix` into `folder` (keys relative to the prefix become
    /// paths below it); returns the relative keys.
    @discardableResult
    public func download(bucket: String, prefix: String, to folder: URL) throws -> [String] {
        let out = try python("""
            import os
            pre = sys.argv[2].rstrip('/') + '/'
            for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[1], Prefix=pre):
                for o in page.get('Contents', []):
                    rel = o['Key'][len(pre):]
                    dest = os.path.join(sys.argv[3], rel)
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    s3.download_file(sys.argv[1], o['Key'], dest)
                    print(rel)
            """, [bucket, prefix, folder.path])
        return out.split(separator: "\n").map(String.init).sorted()
    }

    /// Uploads a local file as one object.
    public func upload(_ file: String, bucket: String, key: String) throws {
        _ = try python("s3.upload_file(sys.argv[1], sys.argv[2], sys.argv[3])", [file, bucket, key])
    }

    /// Deletes one object.
    public func delete(bucket: String, key: String) throws {
        _ = try python("s3.delete_object(Bucket=sys.argv[1], Key=sys.argv[2])", [bucket, key])
    }

    /// Runs a boto3 snippet with `s3` (a client for this server) and `sys` defined.
    private func python(_ body: String, _ arguments: [String]) throws -> String {
        let script = """
            import sys, boto3
            s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:\(port)', aws_access_key_id='landcover-test',
                              aws_secret_access_key='landcover-test', region_name='us-east-1')
            \(body.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n"))
            """
        let result = try CommandLineTool.outcome("python3", ["-c", script] + arguments)
        guard result.status == 0 else { throw Failure(message: "boto3 against moto on port \(port) failed: \(result.stderr.suffix(2000))") }
        return result.stdout
    }

    /// A loopback port nothing listens on now (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(message: "socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw Failure(message: "bind() failed") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw Failure(message: "getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on the loopback port.
    static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }

    /// A server that could not be started or a boto3 call that failed.
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
