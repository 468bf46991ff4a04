//! The `vigil` binary: parse the command line and hand over to the command.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = vigil_server::config::Cli::parse();
    vigil_server::telemetry::init(cli.log_format);
    vigil_server::cli::run(cli).await
}
