//! CUBA: the current-based benchmark network of Brian2's examples/CUBA.py
//! (Vogels & Abbott 2005, as in Brette et al. 2007), built and run from Rust.
//! 4000 LIF neurons (3200 excitatory, 800 inhibitory), random connections
//! with probability 0.02, exponential current synapses, 1 s at dt = 0.1 ms.
//!
//!     cargo run --example cuba -- [seed] [backend]    prints the firing rates

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use snn::{ConnectOptions, Context, ContextOptions, Distribution, Network, NetworkOptions, Population};

fn add_lif(net: &mut Network, name: &str, n: usize) -> snn::Result<Population> {
    let pop = net.add_population(name, "lif", &[n])?;
    for (param, value) in
        [("tau_mem", 20e-3), ("v_rest", -49e-3), ("v_reset", -60e-3), ("v_th", -50e-3), ("t_ref", 5e-3)]
    {
        net.set_param(pop, param, value)?;
    }
    Ok(pop)
}

fn main() -> snn::Result<()> {
    let mut args = std::env::args().skip(1);
    let seed: u64 = args.next().map_or(1, |s| s.parse().expect("seed: an integer"));
    let backend = args.next().unwrap_or_else(|| "auto".to_owned());

    let ctx = Context::with_options(&ContextOptions::new().backend(&backend))?;
    let mut net = Network::with_options(&ctx, &NetworkOptions::new().dt(1e-4).seed(seed))?;
    let exc = add_lif(&mut net, "exc", 3200)?;
    let inh = add_lif(&mut net, "inh", 800)?;

    let we = 60.0 * 0.27 / 10.0 * 1e-3; // excitatory weight, volts
    let wi = -20.0 * 4.5 / 10.0 * 1e-3; // inhibitory weight, volts
    let exp = ConnectOptions::new().synapse("exp").delay(1); // Brian2's zero synaptic delay
    for (k, (pre, post, w, tau)) in
        [(exc, exc, we, 5e-3), (exc, inh, we, 5e-3), (inh, exc, wi, 10e-3), (inh, inh, wi, 10e-3)]
            .into_iter()
            .enumerate()
    {
        let conn = net.connect_random(pre, post, 0.02, w, seed * 4 + k as u64, &exp)?;
        net.set_param(conn, "tau", tau)?;
    }
    // v = Vr + rand() * (Vt - Vr)
    let v0 = Distribution::Uniform { low: -60e-3, high: -50e-3 };
    net.randomize_state(exc, "v", v0, seed * 4)?;
    net.randomize_state(inh, "v", v0, seed * 4 + 1)?;

    let counts = [Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0))];
    for (pop, count) in [exc, inh].into_iter().zip(&counts) {
        let count = Arc::clone(count);
        net.on_spike(pop, move |s: &snn::Spikes| {
            count.fetch_add(s.neurons.len() as u64, Ordering::Relaxed);
        })?;
    }
    net.run(10_000)?; // 1 s

    let (e, i) = (counts[0].load(Ordering::Relaxed) as f64, counts[1].load(Ordering::Relaxed) as f64);
    println!("CUBA (libsnn {}, backend {}, seed {seed}): 1 s simulated", snn::version_string(), ctx.backend()?);
    println!("  exc: {:.2} Hz", e / 3200.0);
    println!("  inh: {:.2} Hz", i / 800.0);
    println!("  all: {:.2} Hz", (e + i) / 4000.0);
    Ok(())
}
