//! Building, querying, saving and loading networks; errors; threads.

use std::sync::{Arc, Mutex};

use snn::{
    ConnectOptions, ConnectionKind, Context, ContextOptions, Csr, Distribution, ErrorKind, LoadOptions, LogLevel,
    ModelKind, Network, NetworkOptions, ParamDefault,
};

fn ctx() -> Context {
    Context::with_options(&ContextOptions::new().threads(1)).unwrap()
}

/// in (4 sources) -> hid (3 lif, exp synapses) -> out (2 lif).
fn small_network(ctx: &Context, batch: usize) -> Network {
    let mut net = Network::with_options(ctx, &NetworkOptions::new().dt(1e-4).seed(9).batch(batch)).unwrap();
    let inp = net.add_population("in", "poisson", &[4]).unwrap();
    net.set_param(inp, "rate", 400.0).unwrap();
    let hid = net.add_population("hid", "lif", &[3]).unwrap();
    let out = net.add_population("out", "lif", &[2]).unwrap();
    let w: Vec<f32> = (0..12).map(|i| 4e-3 + 1e-3 * i as f32).collect();
    let c = net.connect_dense(inp, hid, &w, &ConnectOptions::new().synapse("exp").name("in_hid")).unwrap();
    net.set_param(c, "tau", 5e-3).unwrap();
    net.connect_dense(hid, out, &[8e-3; 6], &ConnectOptions::new().delay(2)).unwrap();
    net.randomize_state(hid, "v", Distribution::Uniform { low: -65e-3, high: -55e-3 }, 3).unwrap();
    net
}

#[test]
fn version_and_registry() {
    assert_eq!(snn::version(), snn::sys::SNN_VERSION_NUMBER as u32);
    assert_eq!(
        snn::version_string(),
        format!("{}.{}.{}", snn::sys::SNN_VERSION_MAJOR, snn::sys::SNN_VERSION_MINOR, snn::sys::SNN_VERSION_PATCH)
    );
    let neurons = snn::neuron_models().unwrap();
    for m in ["lif", "poisson", "spike_source", "current_source", "izhikevich"] {
        assert!(neurons.iter().any(|n| n == m), "{m} not in {neurons:?}");
    }
    assert!(snn::synapse_models().unwrap().iter().any(|n| n == "exp"));
    let params = snn::model_params(ModelKind::Neuron, "lif").unwrap();
    let tau = params.iter().find(|p| p.name == "tau_mem").unwrap();
    assert_eq!((tau.default.clone(), tau.unit.as_str()), (ParamDefault::Number(20e-3), "s"));
    let reset = params.iter().find(|p| p.name == "reset").unwrap();
    assert_eq!(reset.default, ParamDefault::String("value".into()));
    assert_eq!(reset.choices, ["value", "subtract"]);
    assert!(snn::model_state_vars(ModelKind::Neuron, "lif").unwrap().contains(&"v".to_owned()));
    assert_eq!(snn::model_state_vars(ModelKind::Synapse, "exp").unwrap(), ["I"]);
    let err = snn::model_params(ModelKind::Neuron, "no_such_model").unwrap_err();
    assert!(err.message().contains("no_such_model"), "{err}");
}

#[test]
fn context_reports_its_backend() {
    let c = Context::with_options(&ContextOptions::new().backend("reference").threads(1)).unwrap();
    assert_eq!(c.backend().unwrap(), "reference");
    assert_eq!(c.simd().unwrap(), "scalar");
    assert_eq!(c.threads().unwrap(), 1);
    let auto = Context::new().unwrap();
    assert_eq!(auto.backend().unwrap(), snn::backends().unwrap()[0]);
    let err = Context::with_options(&ContextOptions::new().backend("warp-drive")).unwrap_err();
    assert!(err.message().contains("warp-drive"), "{err}");
    assert_ne!(err.kind(), ErrorKind::Unknown);
}

#[test]
fn errors_carry_status_and_message() {
    let ctx = ctx();
    let mut net = Network::new(&ctx).unwrap();
    let a = net.add_population("a", "lif", &[2]).unwrap();
    let b = net.add_population("b", "lif", &[4]).unwrap();

    // A dense matrix of the wrong size: SNN_SHAPE with the argument at fault.
    let err = net.connect_dense(a, b, &[0.0; 6], &ConnectOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert_eq!((err.status(), err.status_name()), (-4, "SNN_SHAPE"));
    assert!(err.message().starts_with("weights:"), "{err}");
    assert!(err.message().contains('6') && err.message().contains('8'), "{err}");
    assert_eq!(err.to_string(), format!("SNN_SHAPE: {}", err.message()));

    let err = net.add_population("c", "no_such_model", &[2]).unwrap_err();
    assert!(err.message().contains("no_such_model"), "{err}");
    let err = net.add_population("a", "lif", &[2]).unwrap_err();
    assert!(err.message().contains("\"a\""), "{err}");

    let err = net.population("missing").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("missing"), "{err}");

    let err = net.set_param(a, "no_such_param", 1.0).unwrap_err();
    assert!(err.message().contains("no_such_param"), "{err}");
    let err = net.set_param(a, "tau_mem", -1.0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("tau_mem"), "{err}");

    // Checked before reaching C.
    let err = net.population("nul\0byte").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("NUL"), "{err}");
    let err = net.set_input(a, &[1u8, 0]).unwrap_err();
    assert!(err.message().contains("not a source"), "{err}");
    let err = net.write_state(a, "v", &[0.0; 3]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);

    // A handle of another network is refused, not taken for this one's id.
    let mut other = Network::new(&ctx).unwrap();
    let foreign = other.add_population("x", "lif", &[2]).unwrap();
    assert_eq!(foreign.id(), a.id());
    let err = net.read_state(foreign, "v").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("another network"), "{err}");

    // The structure is frozen by the first step.
    net.step().unwrap();
    let err = net.add_population("late", "lif", &[1]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::State);
    // A refused call changes nothing: the network still runs.
    net.run(3).unwrap();
    assert_eq!(net.current_step().unwrap(), 4);

    // Files that are not networks.
    let err = Network::from_bytes(&ctx, b"certainly not a safetensors file").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Format);
    assert!(!err.message().is_empty());
    let err = Network::load(&ctx, "/nonexistent/dir/net.snn").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message().contains("/nonexistent/dir/net.snn"), "{err}");
    assert_eq!(snn::status_name(-11), "SNN_CANCELLED");
}

#[test]
fn populations_and_connections_describe_themselves() {
    let ctx = ctx();
    let mut net = Network::with_options(&ctx, &NetworkOptions::new().dt(5e-4).seed(42).batch(3)).unwrap();
    assert_eq!((net.dt().unwrap(), net.seed().unwrap(), net.batch().unwrap()), (5e-4, 42, 3));
    let img = net.add_population("img", "spike_source", &[2, 3, 4]).unwrap();
    let lif = net.add_population("lif", "lif", &[24]).unwrap();
    let info = net.population_info(img).unwrap();
    assert_eq!(info.name, "img");
    assert_eq!(info.model, "spike_source");
    assert_eq!((info.size, info.shape.as_slice(), info.is_input), (24, &[2usize, 3, 4][..], true));
    assert!(!net.population_info(lif).unwrap().is_input);
    assert_eq!(net.population("lif").unwrap(), lif);
    assert_eq!(net.populations().unwrap(), [img, lif]);

    // Parameters, per population and per neuron, and options.
    net.set_param(lif, "v_th", -40e-3).unwrap();
    assert_eq!(net.param(lif, "v_th").unwrap(), vec![-40e-3f32; 24]);
    let taus: Vec<f32> = (0..24).map(|i| 10e-3 + 1e-3 * i as f32).collect();
    net.set_param_array(lif, "tau_mem", &taus).unwrap();
    assert_eq!(net.param(lif, "tau_mem").unwrap(), taus);
    assert_eq!(net.option(lif, "reset").unwrap(), "value");
    net.set_option(lif, "reset", "subtract").unwrap();
    assert_eq!(net.option(lif, "reset").unwrap(), "subtract");
    assert!(net.set_option(lif, "reset", "sideways").is_err());

    // Dense.
    let w: Vec<f32> = (0..24 * 24).map(|i| i as f32 * 1e-6).collect();
    let dense = net.connect_dense(img, lif, &w, &ConnectOptions::new().synapse("exp").name("ff")).unwrap();
    let info = net.connection_info(dense).unwrap();
    assert_eq!((info.name.as_str(), info.synapse.as_str(), info.kind), ("ff", "exp", ConnectionKind::Dense));
    assert_eq!((info.pre, info.post, info.delay, info.nnz, info.has_synapse_delays), (img, lif, 1, 576, false));
    assert_eq!(net.weights(dense).unwrap(), w);
    let syn = net.synapses(dense).unwrap();
    assert_eq!((syn.pre[25], syn.post[25], syn.delays[25]), (1, 1, 1));
    net.set_param(dense, "tau", 7e-3).unwrap();
    assert!((net.connection_param(dense, "tau").unwrap() - 7e-3).abs() < 1e-9);
    let w2: Vec<f32> = w.iter().map(|x| -x).collect();
    net.set_weights(dense, &w2).unwrap();
    assert_eq!(net.weights(dense).unwrap(), w2);
    assert_eq!(net.set_weights(dense, &w2[..5]).unwrap_err().kind(), ErrorKind::Shape);

    // Sparse with per-synapse delays: rows 0 and 2 of 24 have synapses.
    let mut row_ptr = vec![0i64; 25];
    for r in row_ptr.iter_mut().skip(1) {
        *r = 2;
    }
    for r in row_ptr.iter_mut().skip(3) {
        *r = 3;
    }
    let csr = Csr { row_ptr: &row_ptr, post_index: &[5, 7, 0], weights: &[0.1, 0.2, 0.3], delays: Some(&[1, 4, 2]) };
    let sparse = net.connect_sparse(img, lif, &csr, &ConnectOptions::new()).unwrap();
    let info = net.connection_info(sparse).unwrap();
    assert_eq!(info.name, "img_to_lif"); // the default name
    assert_eq!((info.kind, info.nnz, info.delay, info.has_synapse_delays), (ConnectionKind::Sparse, 3, 4, true));
    let syn = net.synapses(sparse).unwrap();
    assert_eq!((syn.pre, syn.post, syn.delays), (vec![0, 0, 2], vec![5, 7, 0], vec![1, 4, 2]));
    let short = Csr { row_ptr: &row_ptr[..10], ..csr };
    let err = net.connect_sparse(img, lif, &short, &ConnectOptions::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shape);
    assert!(err.message().starts_with("row_ptr:"), "{err}");

    // Fixed probability: the same seed gives the same synapses.
    let r1 = net.connect_random(lif, lif, 0.25, 1e-3, 5, &ConnectOptions::new().name("r1")).unwrap();
    let r2 = net.connect_random(lif, lif, 0.25, 1e-3, 5, &ConnectOptions::new().name("r2")).unwrap();
    let (s1, s2) = (net.synapses(r1).unwrap(), net.synapses(r2).unwrap());
    assert_eq!(s1, s2);
    assert!(s1.pre.len() > 60 && s1.pre.len() < 230, "{}", s1.pre.len());
    assert!(net.weights(r1).unwrap().iter().all(|&x| x == 1e-3));

    // One to one.
    let per: Vec<f32> = (0..24).map(|i| i as f32).collect();
    let o1 = net.connect_one_to_one(img, lif, &per, &ConnectOptions::new().name("o1")).unwrap();
    let o2 = net.connect_one_to_one_uniform(img, lif, 0.5, &ConnectOptions::new().name("o2")).unwrap();
    assert_eq!(net.weights(o1).unwrap(), per);
    assert_eq!(net.weights(o2).unwrap(), vec![0.5; 24]);
    assert_eq!(net.connection_info(o2).unwrap().kind, ConnectionKind::OneToOne);
    assert_eq!(net.connection("o2").unwrap(), o2);
    assert_eq!(net.connections().unwrap(), [dense, sparse, r1, r2, o1, o2]);

    // Connection state: "I" of the exp synapse, [batch][n_post].
    assert_eq!(net.read_state(dense, "I").unwrap(), vec![0.0; 72]);
    net.write_state(dense, "I", &[1e-3; 24]).unwrap();
    assert_eq!(net.read_state(dense, "I").unwrap(), vec![1e-3; 72]);
    net.randomize_state(dense, "I", Distribution::Normal { mean: 0.0, std_dev: 1e-3 }, 1).unwrap();
    let i = net.read_state(dense, "I").unwrap();
    assert!(i.iter().any(|&x| x != i[0]));
}

#[test]
fn save_and_load_round_trip() {
    let ctx = ctx();
    let mut net = small_network(&ctx, 2);
    let dir = std::env::temp_dir().join(format!("snn-rust-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("net.snn");
    net.save(&path).unwrap();
    let bytes = net.to_bytes().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let loaded = Network::load(&ctx, &path).unwrap();
    let from_mem = Network::from_bytes(&ctx, &bytes).unwrap();
    for copy in [&loaded, &from_mem] {
        assert_eq!(copy.batch().unwrap(), 2);
        assert_eq!(copy.dt().unwrap(), 1e-4);
        assert_eq!(copy.seed().unwrap(), 9);
        let names: Vec<String> =
            copy.populations().unwrap().into_iter().map(|p| copy.population_info(p).unwrap().name).collect();
        assert_eq!(names, ["in", "hid", "out"]);
        let c = copy.connection("in_hid").unwrap();
        assert_eq!(copy.weights(c).unwrap(), net.weights(net.connection("in_hid").unwrap()).unwrap());
        assert!((copy.connection_param(c, "tau").unwrap() - 5e-3).abs() < 1e-9);
    }
    let wider = Network::load_with(&ctx, &path, &LoadOptions::new().batch(5)).unwrap();
    assert_eq!(wider.batch().unwrap(), 5);

    // With the running state, a loaded copy continues exactly.
    net.run(300).unwrap();
    let saved = net.to_bytes_with_state().unwrap();
    let mut cont = Network::from_bytes(&ctx, &saved).unwrap();
    assert_eq!(cont.current_step().unwrap(), 300);
    net.run(200).unwrap();
    cont.run(200).unwrap();
    for name in ["hid", "out"] {
        let (p, q) = (net.population(name).unwrap(), cont.population(name).unwrap());
        assert_eq!(net.read_state(p, "v").unwrap(), cont.read_state(q, "v").unwrap());
    }
    // Without it, a loaded copy starts from step 0 and matches a reset.
    net.reset().unwrap();
    let mut fresh = Network::from_bytes(&ctx, &bytes).unwrap();
    net.run(100).unwrap();
    fresh.run(100).unwrap();
    let hid = net.population("hid").unwrap();
    assert_eq!(net.read_state(hid, "v").unwrap(), fresh.read_state(fresh.population("hid").unwrap(), "v").unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn networks_move_across_threads_and_share_a_context() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<Network>();
    send_sync::<Context>();

    let ctx = Context::new().unwrap();
    let run = |ctx: Context| {
        let mut net = small_network(&ctx, 3);
        let out = net.population("hid").unwrap();
        let spikes = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&spikes);
        net.on_spike(out, move |s: &snn::Spikes| log.lock().unwrap().push((s.step, s.instance, s.neurons.to_vec())))
            .unwrap();
        net.run(2000).unwrap();
        let v = net.read_state(out, "v").unwrap();
        let spikes = spikes.lock().unwrap().clone();
        (spikes, v)
    };
    let here = run(ctx.clone());
    assert!(here.0.len() > 20, "too few spikes to compare: {}", here.0.len());
    // Two networks on one context, each on its own thread, at once.
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let ctx = ctx.clone();
            std::thread::spawn(move || run(ctx))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), here);
    }
    // A network built here and run on another thread.
    let mut net = small_network(&ctx, 3);
    let moved = std::thread::spawn(move || {
        net.run(10).unwrap();
        net
    })
    .join()
    .unwrap();
    assert_eq!(moved.current_step().unwrap(), 10);
}

#[test]
fn log_hook_receives_messages() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let ctx = Context::with_options(
        &ContextOptions::new()
            .threads(1)
            .log(LogLevel::Debug, move |level, msg| sink.lock().unwrap().push((level, msg.to_owned()))),
    )
    .unwrap();
    let mut net = Network::new(&ctx).unwrap();
    net.add_population("p", "lif", &[3]).unwrap();
    net.step().unwrap();
    let lines = lines.lock().unwrap();
    assert!(lines.iter().any(|(level, m)| *level == LogLevel::Debug && m.contains("frozen")), "{lines:?}");
}
