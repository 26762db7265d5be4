// Drives the Godot sample node the way the engine would (_Ready, then
// _PhysicsProcess per physics frame, _ExitTree) against the stand-in Godot
// types, and checks its signals against the same network run directly.
//   mono GodotSampleTests.exe
using System;
using System.IO;
using System.Linq;
using Godot;
using Snn;

static class GodotSampleTests
{
    static void Check(bool condition, string what)
    {
        if (!condition) throw new Exception("FAILED: " + what);
        Console.WriteLine("ok   " + what);
    }

    static long[] Reference(float rate, int steps)
    {
        using (Network net = SpikingNetworkNode.BuildNetwork(32, 8, 1e-3, 1))
        {
            Population input = net.FindPopulation("in"), output = net.FindPopulation("out");
            input.BindInput(Enumerable.Repeat(rate, (int)input.Size).ToArray());
            var spikes = new byte[steps * output.Size];
            output.BindOutput("spikes", spikes, steps);
            net.Run(steps);
            var counts = new long[output.Size];
            for (int i = 0; i < spikes.Length; ++i) counts[i % output.Size] += spikes[i];
            return counts;
        }
    }

    static long[] Count(SpikingNetworkNode node)
    {
        var counts = new long[8];
        long last = -1;
        Check(node.Emitted.All(s => s.Key == "Spiked" && s.Value.Length == 2), "every signal is Spiked(neuron, step)");
        foreach (var signal in node.Emitted)
        {
            counts[signal.Value[0].AsInt32()]++;
            long step = signal.Value[1].AsInt64();
            if (step < last) throw new Exception("FAILED: signals out of step order");
            last = step;
        }
        return counts;
    }

    static int Main()
    {
        try
        {
            // 60 physics frames of 1/60 s are 1000 steps of 1 ms.
            var node = new SpikingNetworkNode();
            node._Ready();
            long total = 0;
            for (int frame = 0; frame < 60; ++frame)
            {
                node._PhysicsProcess(1.0 / 60.0);
                total += node.SpikesLastFrame;
            }
            Check(node.Network.CurrentStep == 1000, "60 frames of 1/60 s ran 1000 steps of 1 ms (" + node.Network.CurrentStep + ")");
            long[] counts = Count(node);
            long[] expected = Reference(100f, 1000);
            Check(expected.Sum() > 0 && total == expected.Sum(), "SpikesLastFrame adds up to the spikes (" + total + ")");
            Check(counts.SequenceEqual(expected), "per-neuron signals equal a direct run: [" + string.Join(", ", counts) + "]");

            node.InputRateHz = 0f;
            for (int frame = 0; frame < 30; ++frame) node._PhysicsProcess(1.0 / 60.0);
            int before = node.Emitted.Count;
            for (int frame = 0; frame < 30; ++frame) node._PhysicsProcess(1.0 / 60.0);
            Check(node.Emitted.Count == before, "no input, no spikes: the bound rates are read in place");
            node._ExitTree();
            Check(node.Network == null, "_ExitTree disposes the network");
            node._PhysicsProcess(1.0 / 60.0);

            // From a file through Godot's file API (res:// mapped to a temporary directory).
            string dir = Path.Combine(Path.GetTempPath(), "snn-godot-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            Godot.FileAccess.ResourceRoot = dir;
            using (Network net = SpikingNetworkNode.BuildNetwork(32, 8, 1e-3, 1))
                net.Save(Path.Combine(dir, "net.snn"));
            var fromFile = new SpikingNetworkNode { NetworkFile = "res://net.snn" };
            fromFile._Ready();
            for (int frame = 0; frame < 50; ++frame) fromFile._PhysicsProcess(0.02);
            Check(Count(fromFile).SequenceEqual(expected), "a network loaded from res:// runs the same");
            fromFile._ExitTree();

            var missing = new SpikingNetworkNode { NetworkFile = "res://missing.snn" };
            missing._Ready();
            Check(missing.Network == null && !missing.IsPhysicsProcessing(), "a missing file stops the node");
            Check(GD.Errors.Count == 1 && GD.Errors[0].Contains("SNN_IO") && GD.Errors[0].Contains("missing.snn"),
                  "and pushes an error naming it: " + GD.Errors[0]);
            var wrong = new SpikingNetworkNode { NetworkFile = "res://net.snn", InputPopulation = "out" };
            wrong._Ready();
            Check(GD.Errors.Count == 2 && GD.Errors[1].Contains("\"poisson\""), "a non-Poisson input is refused: " + GD.Errors[1]);
            Directory.Delete(dir, true);
            Console.WriteLine("Godot sample: all checks passed");
            return 0;
        }
        catch (Exception e)
        {
            Console.WriteLine(e);
            return 1;
        }
    }
}
