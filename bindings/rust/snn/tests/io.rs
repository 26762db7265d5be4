//! Inputs and outputs: copied inputs, buffers bound and read or written in
//! place, state views, and spike callbacks.

use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use snn::{ConnectOptions, Context, ContextOptions, ErrorKind, Network, NetworkOptions, Population};

const N: usize = 5;
const BATCH: usize = 2;

/// "in" (spike sources) -> "out" (lif), one to one with delay 0 and a weight
/// that makes out[j] spike in the very step in[j] does. After a spike out
/// resets to -70 mV; otherwise it relaxes towards -65 mV.
fn relay(ctx: &Context) -> (Network, Population, Population) {
    let mut net = Network::with_options(ctx, &NetworkOptions::new().batch(BATCH)).unwrap();
    let inp = net.add_population("in", "spike_source", &[N]).unwrap();
    let out = net.add_population("out", "lif", &[N]).unwrap();
    net.set_param(out, "v_reset", -70e-3).unwrap();
    net.connect_one_to_one_uniform(inp, out, 30e-3, &ConnectOptions::new().delay(0)).unwrap();
    (net, inp, out)
}

fn ctx() -> Context {
    Context::with_options(&ContextOptions::new().threads(1)).unwrap()
}

/// The input pattern of step k: [batch][n].
fn pattern(k: usize) -> Vec<u8> {
    (0..BATCH * N).map(|i| ((k * 3 + i * 7) % 4 == 0) as u8).collect()
}

#[test]
fn copied_inputs_drive_spikes() {
    let (mut net, inp, out) = relay(&ctx());
    for k in 0..6 {
        let p = pattern(k);
        net.set_input(inp, &p).unwrap();
        net.step().unwrap();
        let want: Vec<bool> = p.iter().map(|&x| x != 0).collect();
        assert_eq!(net.read_spikes(out).unwrap(), want, "step {k}");
        assert_eq!(net.read_spikes(inp).unwrap(), want, "step {k}");
    }
    // Any element type: f32 spikes (nonzero) and bools.
    net.set_input(inp, &[1.0f32, 0.0, 0.0, 0.0, 2.5, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
    net.step().unwrap();
    assert_eq!(net.read_spikes(out).unwrap().iter().filter(|&&s| s).count(), 2);
    let mut b = [false; BATCH * N];
    b[9] = true;
    net.set_input(inp, &b).unwrap();
    net.step().unwrap();
    assert_eq!(net.read_spikes(out).unwrap(), b);
    // A step without input emits nothing from a spike source.
    net.step().unwrap();
    assert_eq!(net.read_spikes(out).unwrap(), [false; BATCH * N]);
    let err = net.set_input(inp, &[1u8; 3]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert!(err.message().contains("[2, 5]"), "{err}");
}

#[test]
fn bound_buffers_are_read_and_written_in_place() {
    let (mut net, inp, out) = relay(&ctx());
    net.bind_input(inp, vec![0u8; BATCH * N]).unwrap();
    net.bind_output(out, "spikes", vec![0u8; BATCH * N]).unwrap();
    net.bind_output(out, "v", vec![0f32; BATCH * N]).unwrap();
    assert_eq!(net.input_shape(inp).unwrap(), [BATCH, N]);
    for k in 0..8 {
        // Written in place: the network reads this very memory next step.
        net.input_mut::<u8>(inp).unwrap().copy_from_slice(&pattern(k));
        net.step().unwrap();
        assert_eq!(net.output::<u8>(out, "spikes").unwrap(), pattern(k).as_slice(), "step {k}");
        let v = net.output::<f32>(out, "v").unwrap().to_vec();
        assert_eq!(v, net.read_state(out, "v").unwrap());
        for (vi, s) in v.iter().zip(pattern(k)) {
            if s != 0 {
                assert_eq!(*vi, -70e-3);
            } else {
                assert!(*vi > -70e-3 && *vi <= -65e-3);
            }
        }
    }
    // Element types are checked, and buffers come back as they are.
    let err = net.input::<f32>(inp).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(net.unbind_output::<f32>(out, "spikes").is_err());
    assert_eq!(net.unbind_output::<u8>(out, "spikes").unwrap(), pattern(7));
    assert_eq!(net.unbind_input::<u8>(inp).unwrap(), pattern(7));
    assert_eq!(net.input::<u8>(inp).unwrap_err().kind(), ErrorKind::NotFound);
    let err = net.unbind_output::<u8>(out, "spikes").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // Unbound: the step has no input any more.
    net.step().unwrap();
    assert_eq!(net.output::<f32>(out, "v").unwrap(), net.read_state(out, "v").unwrap().as_slice());
    assert!(net.read_spikes(out).unwrap().iter().all(|&s| !s));
}

#[test]
fn whole_run_buffers_hold_one_slice_per_step() {
    const STEPS: usize = 12;
    let (mut net, inp, out) = relay(&ctx());
    let all: Vec<u8> = (0..STEPS).flat_map(pattern).collect();
    net.bind_input(inp, all.clone()).unwrap();
    net.bind_output(out, "spikes", vec![false; STEPS * BATCH * N]).unwrap();
    assert_eq!(net.input_shape(inp).unwrap(), [STEPS, BATCH, N]);
    net.run(STEPS as u64).unwrap();
    let recorded: Vec<u8> = net.output::<bool>(out, "spikes").unwrap().iter().map(|&s| s as u8).collect();
    assert_eq!(recorded, all);
    // A run longer than the buffers is refused before it starts.
    let err = net.run(STEPS as u64 + 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert_eq!(net.current_step().unwrap(), STEPS as u64);
    // So is a run after the batch changed under them.
    net.set_batch(3).unwrap();
    let err = net.run(1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert!(err.message().contains("batch"), "{err}");
    // Lengths that fit no shape are refused by the binding.
    let err = net.bind_input(inp, vec![0u8; 7]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    let err = net.bind_output(out, "v", vec![0u8; 3 * N]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("float32"), "{err}");
}

#[test]
fn state_views_are_the_network_memory() {
    let (mut net, _inp, out) = relay(&ctx());
    {
        let mut v = net.view_state(out, "v").unwrap();
        assert_eq!(v.len(), BATCH * N);
        assert!(v.iter().all(|&x| x == -65e-3));
        v[3] = -60e-3;
    }
    let v = net.read_state(out, "v").unwrap();
    assert_eq!(v[3], -60e-3);
    net.step().unwrap();
    let after = net.view_state(out, "v").unwrap().to_vec();
    assert!(after[3] < -60e-3 && after[3] > -65e-3);
    assert_eq!(after, net.read_state(out, "v").unwrap());
}

#[test]
fn spike_callbacks_see_every_spike() {
    let (mut net, inp, out) = relay(&ctx());
    let seen = Arc::new(Mutex::new(Vec::new()));
    for pop in [inp, out] {
        let log = Arc::clone(&seen);
        net.on_spike(pop, move |s: &snn::Spikes| {
            log.lock().unwrap().push((s.population, s.step, s.instance, s.neurons.to_vec()));
        })
        .unwrap();
    }
    let all: Vec<u8> = (0..10).flat_map(pattern).collect();
    net.bind_input(inp, all).unwrap();
    net.run(10).unwrap();
    let mut want = Vec::new();
    for k in 0..10u64 {
        let p = pattern(k as usize);
        for b in 0..BATCH {
            let ids: Vec<i32> = (0..N).filter(|&j| p[b * N + j] != 0).map(|j| j as i32).collect();
            if !ids.is_empty() {
                want.push((k, b, ids));
            }
        }
    }
    let got = seen.lock().unwrap().clone();
    for pop in [inp, out] {
        let mine: Vec<_> = got.iter().filter(|e| e.0 == pop).map(|e| (e.1, e.2, e.3.clone())).collect();
        assert_eq!(mine, want);
    }
}

#[test]
fn a_callback_can_stop_the_run() {
    let (mut net, inp, out) = relay(&ctx());
    net.bind_input(inp, vec![1u8; BATCH * N]).unwrap();
    net.on_spike(out, |s: &snn::Spikes| if s.step == 4 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        .unwrap();
    let err = net.run(100).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(net.current_step().unwrap(), 5);
    net.remove_spike_callback(out).unwrap();
    net.run(10).unwrap();
    assert_eq!(net.current_step().unwrap(), 15);
}

#[test]
fn a_panicking_callback_panics_in_run() {
    let (mut net, inp, out) = relay(&ctx());
    net.bind_input(inp, vec![1u8; BATCH * N]).unwrap();
    net.on_spike(out, |s: &snn::Spikes| {
        if s.step == 2 {
            panic!("callback failed at step {}", s.step);
        }
    })
    .unwrap();
    // A second population's callback panics in the same step.
    net.on_spike(inp, |s: &snn::Spikes| assert!(s.step != 2, "input callback at step {}", s.step)).unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| net.run(50))).unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message == "callback failed at step 2" || message == "input callback at step 2", "{message}");
    assert_eq!(net.current_step().unwrap(), 3);
    // Both panics were taken: the input's callback, still registered, runs on.
    net.remove_spike_callback(out).unwrap();
    net.run(5).unwrap();
    assert_eq!(net.current_step().unwrap(), 8);
}

/// Counts the drops of the closures that own one.
struct Tracker(Arc<AtomicUsize>);

impl Drop for Tracker {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn callbacks_are_dropped_when_replaced_removed_or_with_the_network() {
    let drops = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let (mut net, inp, out) = relay(&ctx());
    net.bind_input(inp, vec![1u8; BATCH * N]).unwrap();
    let register = |net: &mut Network, pop| {
        let tracker = Tracker(Arc::clone(&drops));
        let calls = Arc::clone(&calls);
        net.on_spike(pop, move |_: &snn::Spikes| {
            let _ = &tracker;
            calls.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    };
    register(&mut net, out);
    net.step().unwrap();
    assert_eq!((calls.load(Ordering::SeqCst), drops.load(Ordering::SeqCst)), (2, 0)); // 2 instances
    register(&mut net, out);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    net.step().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    net.remove_spike_callback(out).unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    net.step().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    register(&mut net, inp);
    drop(net);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}
