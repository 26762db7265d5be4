// Drives the Unity sample the way the engine would (Awake, OnEnable, then
// FixedUpdate and Update per frame) against the stand-in UnityEngine, and
// checks what it did against the same network run directly.
//   mono UnitySampleTests.exe
using System;
using System.IO;
using System.Linq;
using System.Reflection;
using Snn;
using Snn.Samples;
using UnityEngine;

static class UnitySampleTests
{
    const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    static void Send(object component, string message)
    {
        MethodInfo m = component.GetType().GetMethod(message, Any);
        if (m == null) throw new Exception(component.GetType().Name + " has no " + message);
        m.Invoke(component, null);
    }

    static void SetField(object component, string field, object value)
    {
        component.GetType().GetField(field, Any).SetValue(component, value);
    }

    static void Check(bool condition, string what)
    {
        if (!condition) throw new Exception("FAILED: " + what);
        Console.WriteLine("ok   " + what);
    }

    // Per-neuron spike counts of the sample's network run directly for `steps` steps at `rate`.
    static long[] Reference(Func<Network> make, float rate, int steps)
    {
        using (Network net = make())
        {
            Population input = net.FindPopulation("in"), output = net.FindPopulation("out");
            var rates = Enumerable.Repeat(rate, (int)input.Size).ToArray();
            input.BindInput(rates);
            var spikes = new byte[steps * output.Size];
            output.BindOutput("spikes", spikes, steps);
            net.Run(steps);
            var counts = new long[output.Size];
            for (int i = 0; i < spikes.Length; ++i) counts[i % output.Size] += spikes[i];
            return counts;
        }
    }

    static long[] Drive(SpikingNetworkDriver driver, SpikePulse pulse, int ticks, out long lastStep)
    {
        var counts = new long[8];
        long last = -1;
        bool ordered = true;
        driver.onOutputSpike.AddListener((neuron, step) =>
        {
            counts[neuron]++;
            ordered &= step >= last;
            last = step;
        });
        long total = 0;
        for (int tick = 0; tick < ticks; ++tick)
        {
            Send(driver, "FixedUpdate");
            total += driver.SpikesLastFixedUpdate;
            if (pulse != null) Send(pulse, "Update");
        }
        Check(ordered, "spike events arrive in step order");
        Check(total == counts.Sum(), "SpikesLastFixedUpdate adds up to the events (" + total + ")");
        lastStep = last;
        return counts;
    }

    static int Main()
    {
        try
        {
            Time.fixedDeltaTime = 0.02f;

            // The network built in code: 50 physics ticks of 20 ms are 1000 steps of 1 ms.
            var driver = new SpikingNetworkDriver();
            var pulse = new SpikePulse();
            SetField(pulse, "driver", driver);
            Send(driver, "Awake");
            Send(pulse, "Awake");
            Send(pulse, "OnEnable");
            long lastStep;
            long[] counts = Drive(driver, pulse, 50, out lastStep);
            Check(driver.Network.CurrentStep == 1000, "50 FixedUpdates of 20 ms ran 1000 steps of 1 ms (" + driver.Network.CurrentStep + ")");
            long[] expected = Reference(() => SpikingNetworkDriver.BuildNetwork(32, 8, 1e-3, 1), 100f, 1000);
            Check(expected.Sum() > 0, "the network spikes at 100 Hz input (" + expected.Sum() + " spikes)");
            Check(counts.SequenceEqual(expected), "per-neuron events equal a direct run: [" + string.Join(", ", counts) + "]");
            Check(pulse.SpikesSeen == counts.Sum(), "SpikePulse saw every spike");
            Check(pulse.transform.localScale.x > 1f, "and scaled its object up");

            driver.InputRateHz = 0f;
            for (int tick = 0; tick < 25; ++tick) Send(driver, "FixedUpdate");
            long quiet = 0;
            for (int tick = 0; tick < 25; ++tick)
            {
                Send(driver, "FixedUpdate");
                quiet += driver.SpikesLastFixedUpdate;
            }
            Check(quiet == 0, "no input, no spikes: the bound rates are read in place");

            // The same network from a .snn file under StreamingAssets gives the same spikes.
            string dir = Path.Combine(Path.GetTempPath(), "snn-unity-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            Application.streamingAssetsPath = dir;
            using (Network net = SpikingNetworkDriver.BuildNetwork(32, 8, 1e-3, 1))
                net.Save(Path.Combine(dir, "net.snn"));
            var fromFile = new SpikingNetworkDriver();
            SetField(fromFile, "networkFile", "net.snn");
            Send(fromFile, "Awake");
            Check(Drive(fromFile, null, 50, out lastStep).SequenceEqual(expected), "a network loaded from StreamingAssets runs the same");
            Send(fromFile, "OnDestroy");
            Check(fromFile.Network == null, "OnDestroy disposes the network");

            // Errors are logged with libsnn's message, and the component switches itself off.
            var missing = new SpikingNetworkDriver();
            SetField(missing, "networkFile", "net.snn");
            SetField(missing, "inputPopulation", "nowhere");
            Send(missing, "Awake");
            Check(!missing.enabled && missing.Network == null, "a bad population name disables the component");
            Check(UnityEngine.Debug.Errors.Count == 1 && UnityEngine.Debug.Errors[0].Contains("SNN_NOT_FOUND") &&
                  UnityEngine.Debug.Errors[0].Contains("nowhere"), "and logs the library's message: " + UnityEngine.Debug.Errors[0]);
            Send(missing, "FixedUpdate");  // harmless when switched off
            Directory.Delete(dir, true);

            Send(pulse, "OnDisable");
            Send(driver, "OnDestroy");
            Send(driver, "OnDestroy");
            Console.WriteLine("Unity sample: all checks passed");
            return 0;
        }
        catch (Exception e)
        {
            Console.WriteLine(e);
            return 1;
        }
    }
}
