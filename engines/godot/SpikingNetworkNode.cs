using System;
using Godot;
using Snn;

/// <summary>
/// A Godot 4 (.NET) node that runs a spiking network in real time: each physics
/// frame advances it by the steps of dt that fit into delta, reading its Poisson
/// input rates from a buffer this node fills in place, and emits the Spiked
/// signal for every spike of the output population (from the network's spike
/// callback, on the physics thread).
/// </summary>
public partial class SpikingNetworkNode : Node
{
    /// <summary>An output neuron spiked in network step <paramref name="step"/>.</summary>
    [Signal]
    public delegate void SpikedEventHandler(int neuron, long step);

    /// <summary>A .snn file (res:// or user:// path); empty: build a small network in code.</summary>
    [Export] public string NetworkFile { get; set; } = "";
    /// <summary>The Poisson input population.</summary>
    [Export] public string InputPopulation { get; set; } = "in";
    /// <summary>The population whose spikes emit Spiked.</summary>
    [Export] public string OutputPopulation { get; set; } = "out";
    /// <summary>Input firing rate in Hz, read by every step.</summary>
    [Export(PropertyHint.Range, "0,500")] public float InputRateHz { get; set; } = 100f;
    /// <summary>The network built in code: input and output neurons, step length in seconds, seed.</summary>
    [Export] public int InputNeurons { get; set; } = 32;
    [Export] public int OutputNeurons { get; set; } = 8;
    [Export] public double Dt { get; set; } = 1e-3;
    [Export] public int Seed { get; set; } = 1;

    static readonly StringName SpikedSignal = "Spiked";

    Network _network;
    Population _input, _output;
    float[] _rates;  // [batch][n], bound: read in place by every step
    double _pendingSteps;

    /// <summary>The running network (null before _Ready and after _ExitTree).</summary>
    public Network Network => _network;

    /// <summary>Output spikes during the last physics frame.</summary>
    public int SpikesLastFrame { get; private set; }

    /// <summary>The network built when no file is given: Poisson inputs connected
    /// all-to-all to LIF neurons.</summary>
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

    public override void _Ready()
    {
        try
        {
            if (string.IsNullOrEmpty(NetworkFile))
            {
                _network = BuildNetwork(InputNeurons, OutputNeurons, Dt, (ulong)Seed);
            }
            else
            {
                // Through Godot's file API, so res:// works in exported games (inside the .pck) too.
                byte[] bytes = FileAccess.GetFileAsBytes(NetworkFile);
                if (bytes.Length == 0)
                    throw new SnnIOException("NetworkFile: cannot read \"" + NetworkFile + "\" (" + FileAccess.GetOpenError() + ")");
                _network = Network.LoadFromMemory(bytes);
            }
            _input = _network.FindPopulation(InputPopulation);
            _output = _network.FindPopulation(OutputPopulation);
            if (_input.Model != "poisson")
                throw new InvalidArgumentException("InputPopulation: \"" + InputPopulation + "\" is \"" + _input.Model +
                                                   "\"; this node drives a \"poisson\" one");
            _rates = new float[_network.Batch * _input.Size];
            _input.BindInput(_rates);
            _output.OnSpike(OnOutputSpikes);
        }
        catch (Exception e)
        {
            var snn = e as SnnException;
            GD.PushError("libsnn: " + (snn != null ? snn.StatusName + ": " : "") + e.Message);
            _ExitTree();
            SetPhysicsProcess(false);
        }
    }

    public override void _PhysicsProcess(double delta)
    {
        if (_network == null) return;
        for (int i = 0; i < _rates.Length; ++i) _rates[i] = InputRateHz;
        _pendingSteps += delta / _network.Dt;
        long steps = (long)Math.Floor(_pendingSteps + 1e-9);
        _pendingSteps -= steps;
        SpikesLastFrame = 0;
        if (steps > 0) _network.Run(steps);
    }

    // The network's spike callback: runs inside Run, on this thread.
    void OnOutputSpikes(Population population, long step, int batchIndex, ReadOnlySpan<int> neuronIds)
    {
        SpikesLastFrame += neuronIds.Length;
        foreach (int neuron in neuronIds) EmitSignal(SpikedSignal, neuron, step);
    }

    public override void _ExitTree()
    {
        _network?.Dispose();  // also unpins _rates
        _network = null;
    }
}
