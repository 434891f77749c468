import ArgumentParser

/// The `landcover` command-line tool. Subcommands are thin: they parse arguments, build loggers,
/// call the library modules and map errors to exit codes (see README, "Exit codes").
@main
struct Landcover: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "landcover",
        abstract: "Turn multispectral satellite scenes into georeferenced land-cover maps with a CNN.",
        version: LandcoverVersion.string,
        subcommands: [InfoCommand.self, StackCommand.self, ModelCommand.self, RunCommand.self, ValidateCommand.self, HistoryCommand.self,
                      TrainCommand.self, EvaluateCommand.self, GenerateCommand.self]
    )
}

/// The tool's version, recorded in every output's provenance metadata.
enum LandcoverVersion {
    static let string = "0.1.0"
}
