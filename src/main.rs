fn main() -> std::process::ExitCode {
    night::cli::main()
}
