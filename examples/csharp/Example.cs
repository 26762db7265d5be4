// libsnn from C#: build a network, drive it, react to spikes as they happen,
// record into your own buffer, look at the state without copying, save it.
//
//   bindings/csharp/build out && mcs -r:out/Snn.dll -out:out/Example.exe examples/csharp/Example.cs
//   LD_LIBRARY_PATH=<dir of libsnn.so> MONO_PATH=out mono out/Example.exe [network.snn]
using System;
using System.Linq;
using Snn;

static class Example
{
    const int Steps = 2000;  // 0.2 s at dt = 0.1 ms

    static int Main(string[] args)
    {
        using (var context = new Context())
        using (var net = new Network(context, dt: 1e-4, seed: 1, batch: 2))
        {
            // 100 Poisson inputs at 20 Hz onto 400 LIF neurons through exponential synapses.
            Population input = net.AddPopulation("input", 100, "poisson");
            input.SetParam("rate", 20.0);
            Population exc = net.AddPopulation("exc", 400, "lif");
            exc.SetParam("tau_mem", 20e-3);
            exc.SetParam("v_rest", -49e-3);
            exc.SetParam("v_reset", -60e-3);
            exc.SetParam("v_th", -50e-3);
            exc.SetParam("t_ref", 5e-3);
            Connection syn = net.ConnectRandom(input, exc, p: 0.1, weight: 1e-3f, seed: 3, synapse: "exp");
            exc.RandomizeState("v", Distribution.Uniform, -60e-3, -50e-3, seed: 4);
            Console.WriteLine("backend " + context.Backend + ", " + syn);

            // Spike handlers run on this thread after each step, once per instance that spiked.
            long[] perInstance = new long[net.Batch];
            long firstSpikeStep = -1;
            exc.OnSpike((population, step, instance, ids) =>
            {
                perInstance[instance] += ids.Length;
                if (firstSpikeStep < 0) firstSpikeStep = step;
            });

            // A whole-run recording in our own array, written in place by every step.
            var recorded = new byte[Steps * net.Batch * exc.Size];
            exc.BindOutput("spikes", recorded, steps: Steps);
            net.Run(Steps);
            exc.UnbindOutput("spikes");

            double seconds = Steps * net.Dt;
            for (int b = 0; b < net.Batch; ++b)
                Console.WriteLine("instance " + b + ": " + perInstance[b] + " spikes, " +
                                  (perInstance[b] / (exc.Size * seconds)).ToString("F1") + " Hz per neuron");
            long inRecording = recorded.Sum(x => (long)x);
            Console.WriteLine("first spike in step " + firstSpikeStep + "; the recording holds " + inRecording + " spikes");
            if (inRecording != perInstance.Sum()) throw new Exception("the recording and the handlers disagree");

            // A live view of the membrane potentials: no copy.
            using (StateView v = exc.ViewState("v"))
            {
                Span<float> values = v.Span;
                float sum = 0;
                foreach (float x in values) sum += x;
                Console.WriteLine("mean v " + (sum / values.Length * 1e3).ToString("F2") + " mV over " + v.Batch + " x " + v.Neurons);
            }

            // Errors carry libsnn's message.
            try
            {
                exc.SetParam("tau_membrane", 1.0);
            }
            catch (NotFoundException e)
            {
                Console.WriteLine(e.StatusName + ": " + e.Message);
            }

            if (args.Length > 0)
            {
                net.Save(args[0]);
                Console.WriteLine("saved " + args[0]);
            }
        }
        return 0;
    }
}
