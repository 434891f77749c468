import Foundation
import Testing
import TestSupport

/// examples/schedulers/: every YAML file parses, and every landcover command line in every
/// example runs as written on a small batch (its pipeline path pointed at a test pipeline, its
/// S3 bucket at a loopback S3 server, shard 0 of the scheduler's variables set), exit 0.
@Suite("examples/schedulers", .serialized)
struct SchedulerExampleTests {
    /// Prints one JSON line per example file: its landcover command lines (argv without
    /// `landcover`) and environment; YAML files are parsed with PyYAML (a parse error fails).
    static let extractor = #"""
    import json, os, re, shlex, sys, yaml
    def containers(node):
        if isinstance(node, dict):
            if 'image' in node and 'landcover' in str(node['image']):
                yield node
            for value in node.values():
                yield from containers(value)
        elif isinstance(node, list):
            for value in node:
                yield from containers(value)
    for path in sys.argv[1:]:
        name = os.path.basename(path)
        text = open(path).read()
        commands, env = [], {}
        if name.endswith(('.yaml', '.yml')):
            for doc in yaml.safe_load_all(text):
                for c in containers(doc):
                    argv = [str(a) for a in (c.get('command') or []) + (c.get('args') or [])]
                    if argv and os.path.basename(argv[0]) == 'landcover':
                        argv = argv[1:]
                    commands.append(argv)
                    for e in c.get('env') or c.get('environment') or []:
                        if 'value' in e:
                            env[e['name']] = str(e['value'])
                for c in (doc or {}).get('data', {}).values() if isinstance(doc, dict) and doc.get('kind') == 'ConfigMap' else []:
                    yaml.safe_load(c)
        else:
            for line in text.splitlines():
                line = line.strip()
                if line.startswith('#') or not re.search(r'(^|[ /])landcover (run|history|validate)\b', line):
                    continue
                line = re.sub(r'\$\{(\w+):-([^}]*)\}', r'\2', line)
                words = shlex.split(line, posix=True)
                start = next(i for i, w in enumerate(words) if os.path.basename(w) == 'landcover')
                argv = []
                for w in words[start + 1:]:
                    if w in ('||', '&&', '|', ';') or w.startswith('>') or w.startswith('2>'):
                        break
                    argv.append(w)
                commands.append(argv)
        print(json.dumps({'file': name, 'commands': commands, 'env': env}))
    """#

    @Test func everyExampleParsesAndItsCommandLinesRun() throws {
        let examples = TestPaths.packageRoot.appendingPathComponent("examples/schedulers")
        let files = try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted()
            .filter { !$0.hasSuffix(".md") }.map { examples.appendingPathComponent($0).path }
        let out = try CommandLineTool.run("python3", ["-c", Self.extractor] + files)
        let entries = try out.split(separator: "\n").map { try CLI.json(String($0)) }
        #expect(entries.count == files.count)
        let names = Set(entries.compactMap { $0["file"] as? String })
        #expect(names.isSuperset(of: ["kubernetes-indexed-job-s3.yaml", "argo-workflow.yaml", "aws-batch-job-definition.yaml",
                                       "slurm-array-s3.sbatch", "kubernetes-cronjob.yaml", "slurm-array.sbatch"]))

        let server = try S3TestServer.start()
        defer { server.stop() }
        try server.createBucket("landcover-maps")
        let (folder, pipeline) = try BatchFixture.make(scenes: 2, size: 32)
        defer { try? FileManager.default.removeItem(at: folder) }
        var ran = 0
        for entry in entries {
            let file = entry["file"] as? String ?? ""
            let commands = (entry["commands"] as? [[String]]) ?? []
            #expect(!commands.isEmpty || file.hasSuffix(".timer"), "\(file): no landcover command line found")
            var environment = (entry["env"] as? [String: String]) ?? [:]
            // The scheduler's own variables for shard 0.
            if file.hasPrefix("kubernetes") { environment["JOB_COMPLETION_INDEX"] = "0" }
            if file.hasPrefix("aws-batch") { environment["AWS_BATCH_JOB_ARRAY_INDEX"] = "0" }
            if file.hasPrefix("slurm") {
                environment.merge(["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "7",
                                   "SLURM_ARRAY_TASK_COUNT": "8", "SLURM_ARRAY_TASK_STEP": "1", "SLURM_CPUS_PER_TASK": "1"]) { $1 }
            }
            let local = folder.appendingPathComponent("env-\(ran)")
            environment.merge(try ObjectStoreCLITests.environment(server, local: local)) { $1 }
            for command in commands {
                // The example's pipeline path -> the test pipeline; Argo's parameters -> shard 0 of 4.
                let argv = command.map { argument -> String in
                    if argument.hasSuffix("pipeline.yaml") { return pipeline }
                    return argument.replacingOccurrences(of: "{{inputs.parameters.index}}", with: "0")
                        .replacingOccurrences(of: "{{workflow.parameters.shards}}", with: "4")
                }
                #expect(!argv.contains { $0.contains("{{") }, "\(file): unreplaced template in \(command)")
                let result = try BatchCLI.run(argv, environment: environment, logs: folder, tag: "example-\(ran)")
                #expect(result.status == 0, "\(file): landcover \(command.joined(separator: " ")) exited \(result.status): \(result.stderr)")
                ran += 1
            }
        }
        #expect(ran >= 7, "command lines run: \(ran)")
        // The S3 examples published into the bucket.
        #expect(try server.objects(bucket: "landcover-maps", prefix: "sentinel2/reports/").count >= 3)
    }
}
