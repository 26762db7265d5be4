//! Neuron dynamics through the binding, against closed forms of
//! docs/models.md, on every backend this build has.

use std::sync::{Arc, Mutex};

use snn::{Context, ContextOptions, Network, NetworkOptions};

const DT: f64 = 1e-4;
const TAU: f64 = 20e-3;

fn contexts() -> Vec<Context> {
    let names = snn::backends().unwrap();
    assert!(names.iter().any(|b| b == "reference"), "{names:?}");
    names.iter().map(|b| Context::with_options(&ContextOptions::new().backend(b).threads(1)).unwrap()).collect()
}

/// A LIF neuron left alone relaxes to rest exactly:
/// v(k) = v_rest + (v0 - v_rest) * exp(-k dt / tau_mem).
#[test]
fn lif_membrane_relaxes_as_the_closed_form() {
    for ctx in contexts() {
        let mut net = Network::with_options(&ctx, &NetworkOptions::new().dt(DT).batch(2)).unwrap();
        let pop = net.add_population("lif", "lif", &[3]).unwrap();
        net.set_param(pop, "tau_mem", TAU).unwrap();
        net.set_param(pop, "v_rest", -65e-3).unwrap();
        // Per instance and neuron, all below threshold (-50 mV).
        let v0 = [-55e-3f32, -60e-3, -70e-3, -52e-3, -80e-3, -65e-3];
        net.write_state(pop, "v", &v0).unwrap();
        assert_eq!(net.read_state(pop, "v").unwrap(), v0);
        let mut v = vec![0f32; 6];
        for k in 1..=200u32 {
            net.step().unwrap();
            assert_eq!(net.read_state_into(pop, "v", &mut v).unwrap(), 6);
            let decay = (-(k as f64) * DT / TAU).exp();
            for (got, start) in v.iter().zip(v0) {
                let want = -65e-3 + (start as f64 + 65e-3) * decay;
                assert!((*got as f64 - want).abs() < 2e-7, "{}: step {k}: {got} vs {want}", ctx.backend().unwrap());
            }
        }
        assert_eq!(net.current_step().unwrap(), 200);
        // reset restores the written initial state and step 0.
        net.reset().unwrap();
        assert_eq!(net.current_step().unwrap(), 0);
        assert_eq!(net.read_state(pop, "v").unwrap(), v0);
    }
}

/// A LIF neuron resting above threshold spikes periodically. Started at
/// v0, after step t it holds v_rest + (v0 - v_rest) E^(t+1) (E =
/// exp(-dt/tau)): the first spike is at the first t where that exceeds v_th;
/// after each spike it starts again from v_reset. The callbacks must report
/// exactly those steps, per instance, with ascending neuron ids.
#[test]
fn lif_spikes_at_the_closed_form_steps() {
    let (v_rest, v_reset, v_th) = (-45e-3f64, -65e-3f64, -50e-3f64);
    let e = (-DT / TAU).exp();
    let first_spike = |v0: f64| -> u64 {
        let v = |t: i32| v_rest + (v0 - v_rest) * e.powi(t + 1);
        let t = (0..).find(|&t| v(t) > v_th).unwrap();
        // Far from the threshold in float32 terms: no off-by-one from rounding.
        assert!(v(t) - v_th > 1e-6 && (t == 0 || v(t - 1) - v_th < -1e-6));
        t as u64
    };
    let period = first_spike(v_reset) + 1;
    // [instance][neuron] initial potentials.
    let v0 = [[v_reset, -80e-3], [-55e-3, v_reset]];
    let steps = 3 * period + 5;
    let mut want: Vec<(u64, usize, Vec<i32>)> = Vec::new();
    for step in 0..steps {
        for (b, row) in v0.iter().enumerate() {
            let ids: Vec<i32> = (0..2)
                .filter(|&j| {
                    let t = first_spike(row[j]);
                    step >= t && (step - t) % period == 0
                })
                .map(|j| j as i32)
                .collect();
            if !ids.is_empty() {
                want.push((step, b, ids));
            }
        }
    }
    assert_eq!(want.len(), 11, "{want:?}");

    for ctx in contexts() {
        let mut net = Network::with_options(&ctx, &NetworkOptions::new().dt(DT).batch(2)).unwrap();
        let pop = net.add_population("lif", "lif", &[2]).unwrap();
        for (name, value) in [("tau_mem", TAU), ("v_rest", v_rest), ("v_reset", v_reset), ("v_th", v_th)] {
            net.set_param(pop, name, value).unwrap();
        }
        let flat: Vec<f32> = v0.iter().flatten().map(|&v| v as f32).collect();
        net.write_state(pop, "v", &flat).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        net.on_spike(pop, move |s: &snn::Spikes| {
            log.lock().unwrap().push((s.step, s.instance, s.neurons.to_vec()));
        })
        .unwrap();
        net.run(steps).unwrap();
        assert_eq!(*seen.lock().unwrap(), want, "backend {}", ctx.backend().unwrap());
        // The last step's spikes read back as [batch][n] booleans agree.
        let last: Vec<bool> = (0..4)
            .map(|i| want.iter().any(|(t, b, ids)| *t == steps - 1 && *b == i / 2 && ids.contains(&((i % 2) as i32))))
            .collect();
        assert_eq!(net.read_spikes(pop).unwrap(), last);
    }
}
