//! `payseal-plugin-plan [OUT]`: writes the conformance plan of `tests/vectors/`
//! (or `$PAYSEAL_VECTORS`) as JSON to `OUT`, or to standard output, for the
//! JavaScript and Python runners.

use std::process::ExitCode;

fn main() -> ExitCode {
    let plan = match payseal_plugin_conformance::plan(&payseal_plugin_conformance::vectors_dir()) {
        Ok(plan) => plan.to_string(),
        Err(e) => {
            eprintln!("payseal-plugin-plan: {e}");
            return ExitCode::FAILURE;
        }
    };
    let written = if let Some(path) = std::env::args_os().nth(1) {
        std::fs::write(&path, plan)
    } else {
        use std::io::Write as _;
        std::io::stdout().write_all(plan.as_bytes())
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("payseal-plugin-plan: cannot write the plan: {e}");
            ExitCode::FAILURE
        }
    }
}
