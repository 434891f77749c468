import ArgumentParser
import Foundation

/// The `landcover` command-line tool. Subcommands are thin: they parse arguments, build loggers,
/// call the library modules and map errors to exit codes (see README, "Exit codes").
@main
struct Landcover: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "landcover",
        abstract: "Turn multispectral satellite scenes into georeferenced land-cover maps with a CNN.",
        version: LandcoverVersion.string,
        subcommands: [InfoCommand.self, StackCommand.self, ModelCommand.self, ClassifyCommand.self, RunCommand.self, ValidateCommand.self, HistoryCommand.self,
                      TrainCommand.self, EvaluateCommand.self, GenerateCommand.self]
    )

    /// Parses and runs, with usage errors (unknown option, missing argument, a value a
    /// subcommand's `validate()` rejects) reported like every other input error: one line,
    /// `landcover: <what is wrong>; ...`, exit code 2 (ArgumentParser's own would be 64 and the
    /// usage text). Help and version requests print as usual and exit 0.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                CLIErrors.fail("\(message(for: error)); see --help for usage", code: ExitCodes.invalidInput)
            }
            exit(withError: error)
        }
    }
}

/// The tool's version, recorded in every output's provenance metadata.
enum LandcoverVersion {
    static let string = "0.1.0"
}
