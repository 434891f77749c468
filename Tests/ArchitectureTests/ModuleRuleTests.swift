import Foundation
import TestSupport
import Testing

/// The module rules of Package.swift's header, checked against every source file's imports: a
/// module may import only what its target declares, and some imports are forbidden outright
/// (CNN and Training never see GDAL; inference never depends on training).
@Suite struct ModuleRuleTests {
    /// What each module may import (besides the standard library, Foundation, Dispatch, Glibc).
    static let allowed: [String: Set<String>] = [
        "RasterIO": ["CGDAL", "CDeflate"],
        "CNN": ["CKernels"],
        "Training": ["CNN", "CBLAS"],
        "Config": ["RasterIO", "Yams"],
        "Classification": ["Config", "RasterIO", "CNN"],
        "Products": ["Classification", "Config", "RasterIO", "CNN"],
        "BatchRun": ["Products", "Classification", "Config", "RasterIO", "CNN", "Logging", "GRDB", "Crypto"],
        "TrainingData": ["Config", "Classification", "RasterIO", "CNN", "Training", "Yams"],
        "SceneSynthesis": ["RasterIO"],
        "LandcoverCLI": ["RasterIO", "CNN", "Training", "Config", "Classification", "Products", "BatchRun", "TrainingData",
                         "SceneSynthesis", "CMalloc", "ArgumentParser", "Logging"],
        "LandcoverBench": ["CNN", "Training", "CBLAS"],
    ]
    static let system: Set<String> = ["Foundation", "Dispatch", "Glibc", "Darwin", "Synchronization"]

    /// Rules stated in the developers' guide, kept even if `allowed` is edited carelessly.
    static let forbidden: [(module: String, imports: String, why: String)] = [
        ("CNN", "CGDAL", "the engine never sees GDAL"),
        ("Training", "CGDAL", "training never sees GDAL"),
        ("Training", "RasterIO", "training works on tensors, not rasters"),
        ("Classification", "Training", "inference never depends on training"),
        ("Products", "Training", "inference never depends on training"),
        ("BatchRun", "Training", "inference never depends on training"),
        ("Config", "CNN", "settings are values, not engines"),
    ]

    /// `import X` lines of each Swift file below Sources/<module>.
    static func imports() throws -> [String: [(file: String, module: String)]] {
        let sources = TestPaths.packageRoot.appendingPathComponent("Sources")
        var result: [String: [(String, String)]] = [:]
        for module in try FileManager.default.contentsOfDirectory(atPath: sources.path).sorted() {
            guard let walker = FileManager.default.enumerator(atPath: sources.appendingPathComponent(module).path) else { continue }
            for case let file as String in walker where file.hasSuffix(".swift") {
                let text = try String(contentsOf: sources.appendingPathComponent(module).appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    // `import X`, `@preconcurrency import X`, `internal import X`.
                    guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                          words[..<index].allSatisfy({ $0.hasPrefix("@") || ["internal", "public", "package", "private"].contains($0) })
                    else { continue }
                    let imported = words[index + 1].split(separator: ".").first.map(String.init) ?? ""
                    result[module, default: []].append(("\(module)/\(file)", imported))
                }
            }
        }
        return result
    }

    @Test func everyModuleImportsOnlyWhatItsTargetDeclares() throws {
        let imports = try Self.imports()
        #expect(Set(imports.keys).isSuperset(of: Self.allowed.keys), "a module of the table has no sources")
        for (module, lines) in imports where Self.allowed[module] != nil || !module.hasPrefix("C") {
            let allowed = try #require(Self.allowed[module], "module \(module) is not in the rule table; add it with what it may import")
            for (file, imported) in lines where !Self.system.contains(imported) {
                #expect(allowed.contains(imported), "\(file) imports \(imported), which \(module) must not use")
            }
        }
    }

    @Test func forbiddenImportsAreAbsentAndTheTableAgrees() throws {
        let imports = try Self.imports()
        for rule in Self.forbidden {
            #expect(Self.allowed[rule.module]?.contains(rule.imports) == false, "the rule table lets \(rule.module) import \(rule.imports): \(rule.why)")
            for (file, imported) in imports[rule.module] ?? [] where imported == rule.imports {
                Issue.record("\(file) imports \(imported): \(rule.why)")
            }
        }
    }

    /// The dependencies Package.swift declares for each non-test target: the names in the
    /// `dependencies:` list of its `.target(` / `.executableTarget(` declaration (products by
    /// their `name:`). Read from the manifest's text: SwiftPM cannot be asked while the tests
    /// run under it (it holds the build folder's lock).
    static func declaredDependencies() throws -> [String: Set<String>] {
        let text = try String(contentsOfFile: TestPaths.package("Package.swift"), encoding: .utf8)
        var result: [String: Set<String>] = [:]
        for kind in [".target(", ".executableTarget("] {
            var rest = Substring(text)
            while let start = rest.range(of: kind) {
                // The declaration runs to the parenthesis that closes `kind`'s.
                var depth = 0, end = start.upperBound
                for index in rest[start.lowerBound...].indices {
                    if rest[index] == "(" { depth += 1 }
                    if rest[index] == ")" { depth -= 1; if depth == 0 { end = index; break } }
                }
                let declaration = String(rest[start.upperBound..<end])
                rest = rest[end...]
                guard let name = Self.firstQuoted(after: "name:", in: declaration) else { continue }
                var names = Set<String>()
                if let list = declaration.range(of: "dependencies: [") {
                    var depthList = 1, index = list.upperBound
                    while index < declaration.endIndex, depthList > 0 {
                        if declaration[index] == "[" { depthList += 1 }
                        if declaration[index] == "]" { depthList -= 1 }
                        index = declaration.index(after: index)
                    }
                    let body = String(declaration[list.upperBound..<declaration.index(before: index)])
                    for item in Self.topLevelItems(body) {
                        if item.contains(".product(") { if let product = Self.firstQuoted(after: "name:", in: item) { names.insert(product) } }
                        else if let quoted = Self.firstQuoted(after: "", in: item) { names.insert(quoted) }
                    }
                }
                result[name] = names
            }
        }
        return result
    }

    static func firstQuoted(after marker: String, in text: String) -> String? {
        guard let anchor = marker.isEmpty ? text.startIndex..<text.startIndex : text.range(of: marker),
              let open = text[anchor.upperBound...].firstIndex(of: "\"") else { return nil }
        let afterOpen = text.index(after: open)
        guard let close = text[afterOpen...].firstIndex(of: "\"") else { return nil }
        return String(text[afterOpen..<close])
    }

    /// Comma-separated items of a list body, commas inside parentheses kept.
    static func topLevelItems(_ body: String) -> [String] {
        var items: [String] = [], current = "", depth = 0
        for character in body {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 { items.append(current); current = "" } else { current.append(character) }
        }
        items.append(current)
        return items.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// Package.swift's target dependencies match the table and the imports: what a target
    /// declares and does not import is dead weight; what it imports undeclared builds by accident.
    @Test func packageManifestDeclaresWhatEachModuleImports() throws {
        let declared = try Self.declaredDependencies()
        let imports = try Self.imports()
        for (name, rules) in Self.allowed {
            let dependencies = try #require(declared[name], "Package.swift declares no target \(name)")
            let used = Set((imports[name] ?? []).map(\.module)).subtracting(Self.system)
            #expect(dependencies == rules, "Package.swift declares \(dependencies.sorted()) for \(name); the rule table says \(rules.sorted())")
            #expect(used == rules, "\(name) imports \(used.sorted()); the rule table says \(rules.sorted())")
        }
    }
}
