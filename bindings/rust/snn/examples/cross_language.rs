//! The cross-language runner for Rust (protocol in tests/cross_language/README.md).
//!
//!     cargo run --example cross_language -- network.snn copy|bound

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use snn::{Context, Network, Spikes};

const STEPS: usize = 300;

/// The FNV-1a 64 hash of every reported spike, and their count.
struct Recorder {
    hash: u64,
    count: u64,
}

impl Recorder {
    fn mix(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn record(&mut self, tag: i32, s: &Spikes) {
        for &id in s.neurons {
            self.mix(&tag.to_le_bytes());
            self.mix(&(s.step as i64).to_le_bytes());
            self.mix(&(s.instance as i32).to_le_bytes());
            self.mix(&id.to_le_bytes());
        }
        self.count += s.neurons.len() as u64;
    }
}

fn run(path: &str, bound: bool) -> snn::Result<(u64, u64)> {
    let ctx = Context::new()?;
    let mut net = Network::load(&ctx, path)?;
    let input = net.population("in")?;
    let batch = net.batch()?;
    let n = net.population_info(input)?.size;

    let recorder = Arc::new(Mutex::new(Recorder { hash: 0xcbf2_9ce4_8422_2325, count: 0 }));
    for (name, tag) in [("hid", 1), ("out", 2)] {
        let pop = net.population(name)?;
        let rec = Arc::clone(&recorder);
        net.on_spike(pop, move |s: &Spikes| rec.lock().unwrap().record(tag, s))?;
    }

    let spikes: Vec<u8> = (0..STEPS * batch * n)
        .map(|i| {
            let (k, b, j) = (i / (batch * n), i / n % batch, i % n);
            ((7 * k + 13 * b + 3 * j) % 11 == 0) as u8
        })
        .collect();
    if bound {
        net.bind_input(input, spikes)?; // [300, batch, n], read in place
        net.run(STEPS as u64)?;
    } else {
        for step in spikes.chunks(batch * n) {
            net.set_input(input, step)?; // [batch, n], copied
            net.step()?;
        }
    }
    let rec = recorder.lock().unwrap();
    Ok((rec.count, rec.hash))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 || (args[2] != "copy" && args[2] != "bound") {
        eprintln!("usage: cross_language network.snn copy|bound");
        return ExitCode::from(2);
    }
    match run(&args[1], args[2] == "bound") {
        Ok((count, hash)) => {
            println!("{} spikes={count} fnv1a64={hash:016x}", args[2]);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cross_language: {e}");
            ExitCode::FAILURE
        }
    }
}
