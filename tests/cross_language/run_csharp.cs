// The cross-language runner for C# (protocol in README.md here).
//
//     mono run_csharp.exe network.snn copy|bound
//
// Built and run by run_csharp (a script beside this file) against
// bindings/csharp/src.
using System;
using Snn;

static class CrossLanguage
{
    const int Steps = 300;
    const ulong FnvOffset = 0xCBF29CE484222325UL, FnvPrime = 0x100000001B3UL;

    static ulong s_hash = FnvOffset;
    static long s_count;

    static void Mix(ulong value, int bytes)
    {
        for (int i = 0; i < bytes; ++i) s_hash = (s_hash ^ ((value >> (8 * i)) & 0xFF)) * FnvPrime;
    }

    static SpikeHandler Record(int tag)
    {
        return (population, step, batchIndex, ids) =>
        {
            foreach (int id in ids)
            {
                Mix((uint)tag, 4);
                Mix((ulong)step, 8);
                Mix((uint)batchIndex, 4);
                Mix((uint)id, 4);
            }
            s_count += ids.Length;
        };
    }

    static int Main(string[] args)
    {
        if (args.Length != 2 || (args[1] != "copy" && args[1] != "bound"))
        {
            Console.Error.WriteLine("usage: run_csharp.exe network.snn copy|bound");
            return 2;
        }
        try
        {
            using (var net = Network.Load(args[0]))
            {
                Population input = net.FindPopulation("in");
                net.FindPopulation("hid").OnSpike(Record(1));
                net.FindPopulation("out").OnSpike(Record(2));
                int batch = net.Batch;
                long n = input.Size;
                var spikes = new byte[Steps * batch * n];
                for (long k = 0; k < Steps; ++k)
                    for (long b = 0; b < batch; ++b)
                        for (long j = 0; j < n; ++j)
                            spikes[(k * batch + b) * n + j] = (byte)((k * 7 + b * 13 + j * 3) % 11 == 0 ? 1 : 0);
                if (args[1] == "bound")
                {
                    input.BindInput(spikes, Steps);
                    net.Run(Steps);
                }
                else
                {
                    int slice = (int)(batch * n);
                    for (int k = 0; k < Steps; ++k)
                    {
                        input.SetInput(new ReadOnlySpan<byte>(spikes, k * slice, slice));
                        net.Step();
                    }
                }
            }
        }
        catch (SnnException e)
        {
            Console.Error.WriteLine(e.StatusName + ": " + e.Message);
            return 1;
        }
        Console.WriteLine(args[1] + " spikes=" + s_count + " fnv1a64=" + s_hash.ToString("x16"));
        return 0;
    }
}
