using System;
using System.IO;
using Snn;
using UnityEngine;
using UnityEngine.Events;

namespace Snn.Samples
{
    /// <summary>An output spike: the neuron and the network step it spiked in.</summary>
    [Serializable]
    public class OutputSpikeEvent : UnityEvent<int, long> { }

    /// <summary>
    /// Runs a spiking network in real time: each FixedUpdate advances it by as many
    /// steps of dt as fit into Time.fixedDeltaTime, reads its Poisson input rates from
    /// a buffer this component fills in place (no call per step), and raises
    /// <see cref="onOutputSpike"/> for every spike of the output population, from the
    /// network's spike callback, on the main thread.
    /// </summary>
    public class SpikingNetworkDriver : MonoBehaviour
    {
        [Tooltip("A .snn file under StreamingAssets; empty: build the small network below in code.")]
        [SerializeField] string networkFile = "";
        [Tooltip("The Poisson input population (a loaded file must have one of this name).")]
        [SerializeField] string inputPopulation = "in";
        [Tooltip("The population whose spikes raise onOutputSpike.")]
        [SerializeField] string outputPopulation = "out";
        [Tooltip("Input firing rate in Hz, read by every step.")]
        [SerializeField, Range(0f, 500f)] float inputRateHz = 100f;
        [Tooltip("Network built in code: neurons of the input and output populations, step length, seed.")]
        [SerializeField] int inputNeurons = 32;
        [SerializeField] int outputNeurons = 8;
        [SerializeField] double dt = 1e-3;
        [SerializeField] ulong seed = 1;

        /// <summary>Raised for each output spike: (neuron, step).</summary>
        public OutputSpikeEvent onOutputSpike = new OutputSpikeEvent();

        Network _network;
        Population _input, _output;
        float[] _rates;     // [batch][n], bound: the network reads it in place every step
        double _pendingSteps;

        /// <summary>The running network (null before Awake and after OnDestroy).</summary>
        public Network Network => _network;

        /// <summary>Output spikes during the last FixedUpdate.</summary>
        public int SpikesLastFixedUpdate { get; private set; }

        /// <summary>The input rate in Hz (also settable from the Inspector).</summary>
        public float InputRateHz
        {
            get { return inputRateHz; }
            set { inputRateHz = value; }
        }

        /// <summary>The network the component builds when no file is given: Poisson inputs
        /// connected all-to-all to LIF neurons.</summary>
        public static Network BuildNetwork(int inputs, int outputs, double dt, ulong seed)
        {
            var network = new Network(dt: dt, seed: seed);
            Population input = network.AddPopulation("in", inputs, "poisson");
            Population output = network.AddPopulation("out", outputs, "lif");
            output.SetParam("tau_mem", 10e-3);
            output.SetParam("v_rest", -65e-3);
            output.SetParam("v_th", -50e-3);
            output.SetParam("t_ref", 2e-3);
            var weights = new float[inputs * outputs];
            for (int i = 0; i < weights.Length; ++i) weights[i] = 2e-3f + 1e-3f * (i % outputs) / outputs;
            network.ConnectDense(input, output, weights, synapse: "exp");
            return network;
        }

        void Awake()
        {
            try
            {
                if (string.IsNullOrEmpty(networkFile))
                {
                    _network = BuildNetwork(inputNeurons, outputNeurons, dt, seed);
                }
                else
                {
                    // Loaded from bytes: on platforms where StreamingAssets is inside an archive
                    // (Android), read them with UnityWebRequest instead.
                    byte[] bytes = File.ReadAllBytes(Path.Combine(Application.streamingAssetsPath, networkFile));
                    _network = Network.LoadFromMemory(bytes);
                }
                _input = _network.FindPopulation(inputPopulation);
                _output = _network.FindPopulation(outputPopulation);
                if (_input.Model != "poisson")
                    throw new InvalidArgumentException("input population \"" + inputPopulation + "\" is \"" + _input.Model +
                                                       "\"; this sample drives a \"poisson\" one");
                _rates = new float[_network.Batch * _input.Size];
                _input.BindInput(_rates);
                _output.OnSpike(OnOutputSpikes);
            }
            catch (Exception e)
            {
                var snn = e as SnnException;
                Debug.LogError("libsnn: " + (snn != null ? snn.StatusName + ": " : "") + e.Message);
                OnDestroy();
                enabled = false;
            }
        }

        void FixedUpdate()
        {
            if (_network == null) return;
            for (int i = 0; i < _rates.Length; ++i) _rates[i] = inputRateHz;
            // Real time: the steps of dt that fit into this physics tick. fixedDeltaTime is a
            // float (0.02f is 0.0199999996), so a ratio this close to a whole number is one.
            double ratio = Time.fixedDeltaTime / _network.Dt, nearest = Math.Round(ratio);
            if (Math.Abs(ratio - nearest) < 1e-4 * Math.Max(1.0, nearest)) ratio = nearest;
            _pendingSteps += ratio;
            long steps = (long)Math.Floor(_pendingSteps);
            _pendingSteps -= steps;
            SpikesLastFixedUpdate = 0;
            if (steps > 0) _network.Run(steps);
        }

        // The network's spike callback: runs inside Run, on this (the main) thread.
        void OnOutputSpikes(Population population, long step, int batchIndex, ReadOnlySpan<int> neuronIds)
        {
            SpikesLastFixedUpdate += neuronIds.Length;
            foreach (int neuron in neuronIds) onOutputSpike.Invoke(neuron, step);
        }

        void OnDestroy()
        {
            _network?.Dispose();  // also unpins _rates
            _network = null;
        }
    }
}
