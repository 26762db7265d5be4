//! Training, conv2d connections, plasticity with a learning callback, and
//! the vision functions.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use snn::vision::{self, FilterOptions, ImageFilter, LatencyRule, Zca};
use snn::{
    ConnectOptions, ConnectionKind, Context, ContextOptions, Conv2d, ErrorKind, ModelKind, Network, NetworkOptions,
    Optimizer, OptimizerOptions, Pool, Population, Target, Trainer, TrainerOptions,
};

fn ctx() -> Context {
    Context::with_options(&ContextOptions::new().backend("reference").threads(1)).unwrap()
}

/// src (spike_source 4) -> out (li 2), dense, delta, delay 0.
fn tiny(ctx: &Context) -> (Network, Population, Population, snn::Connection) {
    let mut net = Network::with_options(ctx, &NetworkOptions::new().dt(1e-3)).unwrap();
    let src = net.add_population("src", "spike_source", &[4]).unwrap();
    let out = net.add_population("out", "li", &[2]).unwrap();
    let w = net.connect_dense(src, out, &[0.1; 8], &ConnectOptions::new().delay(0)).unwrap();
    (net, src, out, w)
}

/// Sequence 0 drives inputs 0 and 1, sequence 1 inputs 2 and 3, every other step.
fn tiny_input(steps: usize) -> Vec<u8> {
    let mut x = vec![0u8; steps * 2 * 4];
    for k in (0..steps).step_by(2) {
        x[k * 8] = 1;
        x[k * 8 + 1] = 1;
        x[k * 8 + 4 + 2] = 1;
        x[k * 8 + 4 + 3] = 1;
    }
    x
}

#[test]
fn a_tiny_network_learns() {
    let ctx = ctx();
    let (net, src, out, w) = tiny(&ctx);
    let before = net.weights(w).unwrap();
    let steps = 10;
    let x = tiny_input(steps);
    {
        let mut trainer = Trainer::with_options(&net, &TrainerOptions::new().input_grads(true)).unwrap();
        trainer.set_optimizer(&OptimizerOptions::new(Optimizer::Adam).learning_rate(0.05)).unwrap();
        trainer.train_param(out, "tau_mem", true).unwrap();
        let mut losses = Vec::new();
        for k in 0..15 {
            trainer.forward(steps, 2, &[(src, &x[..])]).unwrap();
            losses.push(trainer.loss(out, "ce_mean_v", Target::Labels(&[0, 1])).unwrap());
            trainer.backward().unwrap();
            if k == 0 {
                let g = trainer.read_grad(w).unwrap();
                assert_eq!(g.len(), 8);
                assert!(g.iter().any(|&v| v != 0.0));
                assert_eq!(trainer.read_param_grad(out, "tau_mem").unwrap().len(), 2);
                assert_eq!(trainer.read_input_grad(src).unwrap().len(), steps * 2 * 4);
                assert_eq!(trainer.read_output(out, "v").unwrap().len(), steps * 2 * 2);
                assert!(trainer.tape_bytes().unwrap() > 0);
            }
            trainer.step().unwrap();
            trainer.zero_grad().unwrap();
        }
        assert!(losses.last().unwrap() < &losses[0], "{losses:?}");
        trainer.write_grad(w, &[0.5; 8]).unwrap();
        assert_eq!(trainer.read_grad(w).unwrap(), vec![0.5; 8]);
        trainer.zero_grad().unwrap();
        trainer.forward(steps, 2, &[(src, &x[..])]).unwrap();
        trainer.add_output_grad(out, "v", &vec![1.0; steps * 2 * 2]).unwrap();
        trainer.backward().unwrap();
        trainer.reset_state().unwrap();
    }
    assert_ne!(net.weights(w).unwrap(), before, "the trainer trains the network's own weights");
}

#[test]
fn trainer_errors_have_their_kinds() {
    let ctx = ctx();
    let (net, src, out, _) = tiny(&ctx);
    let (other, _, _, other_w) = tiny(&ctx);
    let mut trainer = Trainer::new(&net).unwrap();
    let err = trainer.loss(out, "ce_mean_v", Target::Labels(&[0])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::State);
    let err = trainer.forward(5, 1, &[(src, &[0u8; 19][..])]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert!(err.message().starts_with("inputs[0]: 19 values given"), "{err}");
    trainer.forward::<u8>(5, 1, &[]).unwrap();
    let err = trainer.loss(out, "hinge", Target::Labels(&[0])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("hinge"), "{err}");
    let err = trainer.set_optimizer(&OptimizerOptions::default().betas(0.9, 1.0)).unwrap_err();
    assert!(err.message().contains("beta2"), "{err}");
    assert_eq!(trainer.read_grad(other_w).unwrap_err().kind(), ErrorKind::InvalidArgument);
    drop(other);
    let mut izh = Network::new(&ctx).unwrap();
    izh.add_population("izh", "izhikevich", &[3]).unwrap();
    let err = Trainer::new(&izh).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.message().contains("izhikevich"), "{err}");
}

#[test]
fn conv2d_one_step_by_hand() {
    // Input 1 x 3 x 3 (the diagonal), kernel [1 2; 3 4]: the cross-correlation is [5 3; 2 5].
    let ctx = ctx();
    let mut net = Network::with_options(&ctx, &NetworkOptions::new().dt(1e-3)).unwrap();
    let src = net.add_population("src", "spike_source", &[1, 3, 3]).unwrap();
    let out = net.add_population("out", "if", &[1, 2, 2]).unwrap();
    net.set_param(out, "v_reset", 0.0).unwrap();
    net.set_param(out, "v_th", 1e9).unwrap();
    let g = Conv2d::new([1, 3, 3], 1, (2, 2));
    assert_eq!(g.weight_count(), 4);
    let conv = net.connect_conv2d(src, out, &g, &[1.0, 2.0, 3.0, 4.0], &ConnectOptions::new().delay(0)).unwrap();
    assert_eq!(net.connection_info(conv).unwrap().kind, ConnectionKind::Conv2d);
    let back = net.conv2d_geometry(conv).unwrap();
    assert_eq!(back, g);
    assert_eq!(back.pool, Pool::None);
    let err = net.connect_conv2d(src, out, &g, &[1.0; 3], &ConnectOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape, "{err}");
    net.set_input(src, &[1u8, 0, 0, 0, 1, 0, 0, 0, 1]).unwrap();
    net.step().unwrap();
    assert_eq!(net.read_state(out, "v").unwrap(), vec![5.0, 3.0, 2.0, 5.0]);
}

#[test]
fn stdp_learns_and_the_callback_sees_it() {
    // Input 0 spikes in step 0, input 1 (strong) in step 3, so the neuron
    // spikes in step 4: both weights are potentiated then (docs/models.md).
    let ctx = ctx();
    let mut net = Network::with_options(&ctx, &NetworkOptions::new().dt(1e-3)).unwrap();
    let inp = net.add_population("in", "spike_source", &[2]).unwrap();
    let out = net.add_population("out", "lif", &[1]).unwrap();
    net.set_param(out, "v_rest", 0.0).unwrap();
    net.set_param(out, "v_reset", 0.0).unwrap();
    net.set_param(out, "v_th", 1.0).unwrap();
    let c = net.connect_dense(inp, out, &[0.5, 5.0], &ConnectOptions::new()).unwrap();
    let err = net.on_learning(c, |_: &snn::LearningEvent| {}).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("no learning rule"), "{err}");
    assert!(snn::models(ModelKind::Plasticity).unwrap().iter().any(|m| m == "stdp"));
    net.set_option(c, "plasticity", "stdp").unwrap();
    assert_eq!(net.option(c, "plasticity").unwrap(), "stdp");
    net.set_param(c, "w_max", 10.0).unwrap();
    net.set_param(c, "a_plus", 0.25).unwrap();
    assert_eq!(net.connection_param(c, "a_plus").unwrap(), 0.25);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    net.on_learning(c, move |e: &snn::LearningEvent| {
        log.lock().unwrap().push((e.connection, e.step, e.synapses_changed, e.all, e.columns.to_vec()));
    })
    .unwrap();
    for x in [[1u8, 0], [0, 0], [0, 0], [0, 1], [0, 0]] {
        net.set_input(inp, &x).unwrap();
        net.step().unwrap();
    }
    let events = seen.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let (conn, step, changed, all, columns) = &events[0];
    assert_eq!((*conn, *step, *all), (c, 4, false));
    assert!(*changed > 0);
    assert_eq!(columns, &vec![0]);
    let w = net.weights(c).unwrap();
    assert!(w[0] > 0.5 && w[1] > 5.0, "{w:?}");
    // Break stops the run after the step that learned; a panic is resumed from run.
    net.on_learning(c, |_: &snn::LearningEvent| ControlFlow::Break(())).unwrap();
    net.set_input(inp, &[1u8, 1]).unwrap(); // depression by the postsynaptic trace: a change
    let before = net.current_step().unwrap();
    assert_eq!(net.run(5).unwrap_err().kind(), ErrorKind::Cancelled);
    assert_eq!(net.current_step().unwrap(), before + 1);
    net.on_learning(c, |_: &snn::LearningEvent| -> () { panic!("in the learning callback") }).unwrap();
    net.set_input(inp, &[1u8, 1]).unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| net.run(5)));
    assert!(caught.is_err());
    net.remove_learning_callback(c).unwrap();
    net.set_option(c, "learning", "off").unwrap();
    assert_eq!(net.option(c, "learning").unwrap(), "off");
}

#[test]
fn vision_functions() {
    let dog = vision::filter_kernels(&FilterOptions::new("dog").size(5)).unwrap();
    assert_eq!((dog.filters, dog.size, dog.kernels.len()), (1, 5, 25));
    assert!(dog.kernels.iter().map(|&v| f64::from(v)).sum::<f64>().abs() < 1e-5, "zero mean");
    assert!(dog.kernels[12] > 0.0, "on-centre");
    let gabor = vision::filter_kernels(&FilterOptions::new("gabor").orientations(3)).unwrap();
    assert_eq!((gabor.filters, gabor.kernels.len()), (3, 3 * 7 * 7));
    let err = vision::filter_kernels(&FilterOptions::default().size(4)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    let g = ImageFilter::new([1, 1, 3, 3], [1, 2, 2]);
    let image = [1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    assert_eq!(vision::image_filter(&g, &image, &[1.0, 2.0, 3.0, 4.0]).unwrap(), vec![5.0, 3.0, 2.0, 5.0]);
    let on_off = vision::image_filter(&g.on_off(true), &image, &[-1.0, 0.0, 0.0, 0.0]).unwrap();
    assert_eq!(on_off, vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
    assert_eq!(vision::image_filter(&g, &image[..8], &[1.0; 4]).unwrap_err().kind(), ErrorKind::Shape);

    // One column, values 0 and 2: mean 1, variance 1, W = 1.
    let zca = Zca::fit(&[0.0, 2.0], 2, 1, 0.0).unwrap();
    assert_eq!(zca.mean, vec![1.0]);
    assert!((zca.whitening[0] - 1.0).abs() < 1e-6);
    let white = zca.apply(&[0.0, 2.0, 3.0]).unwrap();
    assert!((white[0] + 1.0).abs() < 1e-6 && (white[2] - 2.0).abs() < 1e-6, "{white:?}");
    assert_eq!(Zca::fit(&[1.0], 1, 1, 0.0).unwrap_err().kind(), ErrorKind::InvalidArgument);

    // Rank order over 4 steps: 0.9 first, 0.5 at floor(1 * 4 / 2) = 2, 0 never.
    let code = vision::latency_encode(&[0.9, 0.5, 0.0], 1, 4, LatencyRule::Rank, 0.0).unwrap();
    assert_eq!(code.first, vec![0, 2, -1]);
    assert_eq!(code.spikes.len(), 12);
    assert_eq!(vision::spikes_first_step(&code.spikes, 4, 1).unwrap(), code.first);
    assert_eq!(vision::spikes_count(&code.spikes, 4, 1).unwrap(), vec![1, 1, 0]);
    let err = vision::latency_encode(&[0.5], 1, 0, LatencyRule::Rank, 0.0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(vision::spikes_count(&[0; 7], 2, 1).unwrap_err().kind(), ErrorKind::Shape);
}
