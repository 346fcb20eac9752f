//! Several independent scenarios in one test, sharing one cluster: each runs in a task of
//! its own, all at once, and the test fails naming every scenario that panicked (each
//! panic's message is printed as it happens). Scenarios must not interfere: distinct
//! topics, groups and, where they inject faults, request codes no other scenario uses.
//! `FENNEC_SCENARIO=<part of a name>` runs only the matching ones.

use std::future::Future;
use std::pin::Pin;

/// A named scenario, ready to run.
pub struct Scenario {
    name: &'static str,
    run: Pin<Box<dyn Future<Output = ()> + Send>>,
}

/// Names `run` as a scenario.
pub fn scenario(name: &'static str, run: impl Future<Output = ()> + Send + 'static) -> Scenario {
    Scenario {
        name,
        run: Box::pin(run),
    }
}

/// `scenarios![env; f, g]`: scenarios named `f` and `g`, running `f(env.clone())` and
/// `g(env.clone())`.
#[macro_export]
macro_rules! scenarios {
    ($env:expr; $($f:ident),+ $(,)?) => {
        vec![$($crate::scenario::scenario(stringify!($f), $f($env.clone()))),+]
    };
}

/// Runs the scenarios concurrently and waits for all of them.
///
/// # Panics
/// When any scenario panicked, naming them.
pub async fn run_all(scenarios: Vec<Scenario>) {
    let only = std::env::var("FENNEC_SCENARIO").ok();
    let running: Vec<_> = scenarios
        .into_iter()
        .filter(|s| only.as_deref().is_none_or(|part| s.name.contains(part)))
        .map(|s| (s.name, tokio::spawn(s.run)))
        .collect();
    let mut failed = Vec::new();
    for (name, task) in running {
        match task.await {
            Ok(()) => eprintln!("scenario {name}: ok"),
            Err(e) => {
                eprintln!("scenario {name}: FAILED ({e})");
                failed.push(name);
            }
        }
    }
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}
