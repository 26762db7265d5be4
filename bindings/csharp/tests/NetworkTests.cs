using System;
using System.Collections.Generic;
using System.Linq;

namespace Snn.Tests
{
    public class NetworkTests : IDisposable
    {
        readonly Context _ctx = new Context("reference", threads: 1);

        public void Dispose() { _ctx.Dispose(); }

        const double Dt = 1e-4, Tau = 20e-3, VRest = -55e-3, V0 = -65e-3;

        [Test]
        public void LifMembraneFollowsTheClosedForm()
        {
            // No input: v(t) = v_rest + (v0 - v_rest) exp(-t / tau_mem), after step k t = (k + 1) dt.
            using (var net = new Network(_ctx, dt: Dt))
            {
                Population p = net.AddPopulation("lif", 3, "lif");
                p.SetParam("tau_mem", Tau);
                p.SetParam("v_rest", VRest);
                p.WriteState("v", new[] { (float)V0, -60e-3f, (float)VRest });
                Assert.Near(Dt, net.Dt, 0, "dt");
                for (int k = 0; k < 500; ++k)
                {
                    net.Step();
                    float[] v = p.ReadState("v");
                    double t = (k + 1) * Dt, decay = Math.Exp(-t / Tau);
                    Assert.Near(VRest + (V0 - VRest) * decay, v[0], 2e-7, "v[0] after step " + k);
                    Assert.Near(VRest + (-60e-3 - VRest) * decay, v[1], 2e-7, "v[1] after step " + k);
                    Assert.Near(VRest, v[2], 1e-9, "v[2] stays at rest");
                }
                Assert.Equal(500L, net.CurrentStep, "current step");
                Assert.Sequence(new byte[3], p.ReadSpikes(), "no spikes below threshold");
            }
        }

        // v_rest above threshold: from v0 the neuron crosses v_th = -50 mV at
        // t* = tau ln((v_rest - v0) / (v_rest - v_th)) and spikes in step ceil(t*/dt) - 1,
        // then again every ceil(t*/dt) steps (reset to v0 = v_reset, no refractory period).
        static IEnumerable<long> ExpectedSpikes(double v0, long steps)
        {
            const double vRest = -45e-3, vTh = -50e-3, vReset = -65e-3;
            long first = (long)Math.Ceiling(Tau * Math.Log((vRest - v0) / (vRest - vTh)) / Dt) - 1;
            long period = (long)Math.Ceiling(Tau * Math.Log((vRest - vReset) / (vRest - vTh)) / Dt);
            for (long s = first; s < steps; s += period) yield return s;
        }

        Network DrivenNetwork(out Population p)
        {
            var net = new Network(_ctx, dt: Dt, batch: 2);
            p = net.AddPopulation("lif", 2, "lif");
            p.SetParam("tau_mem", Tau);
            p.SetParam("v_rest", new[] { -45e-3f, -60e-3f });  // neuron 1 never reaches threshold
            p.WriteState("v", new[] { -65e-3f, -65e-3f, -55e-3f, -55e-3f });  // [batch 2][n 2]
            return net;
        }

        [Test]
        public void SpikeCallbacksReportEverySpike()
        {
            Population p;
            using (Network net = DrivenNetwork(out p))
            {
                var seen = new List<string>();
                Population reported = null;
                p.OnSpike((pop, step, b, ids) =>
                {
                    reported = pop;
                    seen.Add(b + ":" + step + ":" + string.Join(",", ids.ToArray()));
                });
                Assert.Equal(1000L, net.Run(1000), "steps run");
                var expected = ExpectedSpikes(-65e-3, 1000).Select(s => "0:" + s + ":0")
                    .Concat(ExpectedSpikes(-55e-3, 1000).Select(s => "1:" + s + ":0"))
                    .OrderBy(s => long.Parse(s.Split(':')[1])).ThenBy(s => s, StringComparer.Ordinal);
                Assert.Sequence(expected, seen, "callbacks (instance:step:ids)");
                Assert.True(ReferenceEquals(p, reported), "the handler gets the population object");
                Assert.Equal(3, ExpectedSpikes(-65e-3, 1000).Count(), "instance 0 spikes 3 times (277, 555, 833)");

                // Removing the handler stops the reports.
                p.OnSpike(null);
                net.Run(300);
                Assert.Equal(expected.Count(), seen.Count, "no reports after removal");
            }
        }

        [Test]
        public void CallbacksMatchPolledSpikes()
        {
            Population p;
            using (Network net = DrivenNetwork(out p))
            {
                var fromCallback = new byte[4];
                p.OnSpike((pop, step, b, ids) =>
                {
                    foreach (int id in ids) fromCallback[b * 2 + id] = 1;
                });
                for (int k = 0; k < 600; ++k)
                {
                    Array.Clear(fromCallback, 0, 4);
                    net.Step();
                    Assert.Sequence(p.ReadSpikes(), fromCallback, "spikes of step " + k);
                }
            }
        }

        [Test]
        public void StopRunEndsTheRunAfterTheStep()
        {
            Population p;
            using (Network net = DrivenNetwork(out p))
            {
                long first = ExpectedSpikes(-55e-3, 1000).First();
                p.OnSpike((pop, step, b, ids) => net.StopRun());
                Assert.Equal(first + 1, net.Run(1000), "steps run before the stop");
                Assert.Equal(first + 1, net.CurrentStep, "current step");
                Assert.Equal(10L, net.Run(10), "the next run is not stopped in advance");
            }
        }

        [Test]
        public void HandlerExceptionsReachTheCaller()
        {
            Population p;
            using (Network net = DrivenNetwork(out p))
            {
                long first = ExpectedSpikes(-55e-3, 1000).First();
                p.OnSpike((pop, step, b, ids) => { throw new InvalidOperationException("handler failed at " + step); });
                var e = Assert.Throws<InvalidOperationException>(() => net.Run(1000), "exception from the handler");
                Assert.Equal("handler failed at " + first, e.Message, "its message");
                Assert.Equal(first + 1, net.CurrentStep, "the run stopped after that step");

                p.OnSpike((pop, step, b, ids) => net.Step());
                var s = Assert.Throws<StateException>(() => net.Run(1000), "stepping from a handler");
                Assert.Contains("spike handler", s.Message, "message");
                p.OnSpike(null);
                net.Run(5);  // still usable
            }
        }

        [Test]
        public unsafe void DisposeFromAHandlerWaitsForTheRunToEnd()
        {
            Population p;
            Network net = DrivenNetwork(out p);
            var events = new List<string>();
            IntPtr memory = System.Runtime.InteropServices.Marshal.AllocHGlobal(4);
            p.BindOutput("spikes", (void*)memory, DType.UInt8, onRelease: () => events.Add("released"));
            p.OnSpike((pop, step, b, ids) =>
            {
                events.Add("spike");
                net.Dispose();
                net.StopRun();
            });
            long first = ExpectedSpikes(-55e-3, 1000).First();
            Assert.Equal(first + 1, net.Run(1000), "the run ends after the step");
            Assert.Sequence(new[] { "spike", "released" }, events, "the network is destroyed after the run returns");
            Assert.True(net.IsDisposed, "disposed");
            Assert.Throws<ObjectDisposedException>(() => net.Run(1), "no more runs");
            System.Runtime.InteropServices.Marshal.FreeHGlobal(memory);
        }

        [Test]
        public void DescriptionsNameThings()
        {
            using (var net = new Network(_ctx, dt: 5e-4, seed: 11, batch: 3))
            {
                Population a = net.AddPopulation("a", new long[] { 2, 3, 4 }, "poisson");
                Population b = net.AddPopulation("b", 24, "lif");
                Connection c = net.ConnectOneToOne(a, b, 1e-3f, name: "ab");
                Assert.Equal(24L, a.Size, "size of [2, 3, 4]");
                Assert.Sequence(new long[] { 2, 3, 4 }, a.Shape, "shape");
                Assert.True(a.IsInput && !b.IsInput, "IsInput");
                Assert.Equal(11UL, net.Seed, "seed");
                Assert.Equal("Population(\"a\", 24, \"poisson\", id=0)", a.ToString(), "population");
                Assert.Equal("Connection(\"ab\", \"a\" -> \"b\", OneToOne, synapse=\"delta\", nnz=24, delay=1, id=0)", c.ToString(),
                             "connection");
                Assert.Equal("Network(populations 2, connections 1, batch 3, dt 0.0005 s, step 0)", net.ToString(), "network");
                Assert.Equal("Context(backend=\"reference\", threads=1)", _ctx.ToString(), "context");
                Assert.Contains("tau_mem = 0.02 s", string.Join("; ", Library.ModelParams(ModelKind.Neuron, "lif").Select(x => x.ToString())),
                                "parameter");
                Assert.True(b.GetParam("v_th").Length == 24 && b.GetParam("v_th").All(x => x == -50e-3f), "v_th default per neuron");
            }
        }

        [Test]
        public void ErrorsCarryTheLibraryMessage()
        {
            using (var net = new Network(_ctx))
            {
                Population a = net.AddPopulation("a", 2, "lif"), b = net.AddPopulation("b", 4, "lif");
                var nf = Assert.Throws<NotFoundException>(() => net.FindPopulation("nope"), "unknown population");
                Assert.Contains("nope", nf.Message, "message names it");
                Assert.Equal(StatusCode.NotFound, nf.Status, "status");

                var shape = Assert.Throws<ShapeException>(() => net.ConnectDense(a, b, new float[6]), "6 weights for 2 x 4");
                Assert.Contains("weights: 6 values given", shape.Message, "message from libsnn");

                Assert.Throws<InvalidArgumentException>(() => net.AddPopulation("a", 2, "lif"), "duplicate name");
                Assert.Throws<NotFoundException>(() => a.SetParam("tau_nothing", 1.0), "unknown parameter");
                var opt = Assert.Throws<InvalidArgumentException>(() => a.SetOption("reset", "sideways"), "bad option");
                Assert.Contains("sideways", opt.Message, "message names the value");
                Assert.Throws<InvalidArgumentException>(() => a.SetInput(new float[2]), "input to a non-source");
                Assert.Throws<ShapeException>(() => a.WriteState("v", new float[3]), "3 values for n = 2");

                using (var other = new Network(_ctx))
                {
                    Population foreign = other.AddPopulation("x", 2, "lif");
                    Assert.Throws<InvalidArgumentException>(() => net.ConnectOneToOne(a, foreign, 1f), "population of another network");
                }
                net.Step();
                var st = Assert.Throws<StateException>(() => net.AddPopulation("late", 1, "lif"), "structure after the first step");
                Assert.True(st.Message.Length > 0, "message");
                net.Step();  // a refused call changes nothing
            }
            var io = Assert.Throws<SnnIOException>(() => Network.Load("/nonexistent/dir/net.snn", context: _ctx), "missing file");
            Assert.Contains("/nonexistent/dir/net.snn", io.Message, "message names the file");
            Assert.Throws<SnnFormatException>(() => Network.LoadFromMemory(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, context: _ctx),
                                              "garbage");
        }

        [Test]
        public void BoundInputIsReadInPlace()
        {
            using (var net = new Network(_ctx, batch: 2))
            {
                Population src = net.AddPopulation("in", 3, "spike_source");
                Population lif = net.AddPopulation("out", 3, "lif");
                net.ConnectOneToOne(src, lif, 0.1f);  // one input spike makes one output spike, a step later
                var input = new byte[2 * 3];
                src.BindInput(input);
                var outSpikes = new byte[2 * 3];
                var outV = new float[2 * 3];
                lif.BindOutput("spikes", outSpikes);
                lif.BindOutput("v", outV);

                input[1] = 1;                 // instance 0, neuron 1
                net.Step();
                Assert.Sequence(new byte[] { 0, 1, 0, 0, 0, 0 }, src.ReadSpikes(), "the source emits the bound input");
                input[1] = 0;
                input[3 + 2] = 1;             // instance 1, neuron 2: changed in place, no call
                net.Step();
                Assert.Sequence(new byte[] { 0, 0, 0, 0, 0, 1 }, src.ReadSpikes(), "the change is seen");
                Assert.Sequence(new byte[] { 0, 1, 0, 0, 0, 0 }, outSpikes, "output spikes written in place");
                Assert.Sequence(lif.ReadState("v"), outV, "v written in place");
                input[3 + 2] = 0;
                net.Step();
                Assert.Sequence(new byte[] { 0, 0, 0, 0, 0, 1 }, outSpikes, "next step's output");

                // Unbound: the source falls back to no input (and SetInput works again).
                src.UnbindInput();
                input[0] = 1;
                net.Step();
                Assert.Sequence(new byte[6], src.ReadSpikes(), "unbound input is not read");
                src.SetInput(new byte[] { 0, 0, 1, 0, 0, 0 });
                net.Step();
                Assert.Sequence(new byte[] { 0, 0, 1, 0, 0, 0 }, src.ReadSpikes(), "copied input");

                Assert.Throws<ShapeException>(() => src.BindInput(new byte[5]), "5 bytes for [2, 3]");
                var e = Assert.Throws<ShapeException>(() => src.BindInput(new float[6], steps: 2), "6 floats for [2, 2, 3]");
                Assert.Contains("[steps 2, batch 2, n 3] needs 12", e.Message, "message");
                Assert.Throws<InvalidArgumentException>(() => lif.BindOutput("v", new byte[6]), "v recorded as bytes");
                lif.UnbindOutput("v");
                var nf = Assert.Throws<NotFoundException>(() => lif.UnbindOutput("v"), "nothing bound any more");
                Assert.Contains("no output \"v\"", nf.Message, "message");
            }
        }

        [Test]
        public void WholeRunBuffers()
        {
            const int steps = 50;
            using (var net = new Network(_ctx))
            {
                Population src = net.AddPopulation("in", 4, "spike_source");
                Population lif = net.AddPopulation("out", 4, "lif");
                net.ConnectOneToOne(src, lif, 0.1f);
                var input = new float[steps * 4];
                for (int k = 0; k < steps; ++k) input[k * 4 + k % 4] = 1f;
                var recorded = new byte[steps * 4];
                src.BindInput(input, steps);
                lif.BindOutput("spikes", recorded, steps);
                Assert.Equal((long)steps, net.Run(steps), "steps");
                for (int k = 1; k < steps; ++k)
                    for (int j = 0; j < 4; ++j)
                        Assert.Equal(input[(k - 1) * 4 + j] != 0 ? (byte)1 : (byte)0, recorded[k * 4 + j],
                                     "output [" + k + ", " + j + "] follows input a step earlier");
                net.Reset();
                Assert.Throws<ShapeException>(() => net.Run(steps + 1), "a run longer than the recording");
            }
        }

        [Test]
        public unsafe void BoundMemoryIsReleasedOnceByUnbindRebindAndDispose()
        {
            var released = new List<string>();
            IntPtr memory = System.Runtime.InteropServices.Marshal.AllocHGlobal(6);
            byte* a = (byte*)memory, b = a + 3;
            for (int i = 0; i < 6; ++i) a[i] = 0;
            var net = new Network(_ctx);
            Population src = net.AddPopulation("in", 3, "spike_source");
            src.BindInput(a, DType.UInt8, onRelease: () => released.Add("a"));
            src.BindInput(b, DType.UInt8, onRelease: () => released.Add("b"));
            Assert.Sequence(new[] { "a" }, released, "rebinding releases the previous buffer");
            src.UnbindInput();
            Assert.Sequence(new[] { "a", "b" }, released, "unbinding releases it");
            src.BindInput(a, DType.UInt8, onRelease: () => released.Add("a2"));
            src.BindOutput("spikes", b, DType.UInt8, onRelease: () => released.Add("b2"));
            Assert.Throws<InvalidArgumentException>(
                () => src.BindOutput("spikes", b, DType.Int64, onRelease: () => released.Add("refused")), "int64 spikes");
            Assert.Equal(2, released.Count, "a refused bind releases nothing of the caller's");
            a[1] = 1;
            net.Step();
            Assert.Equal((byte)1, b[1], "output written into caller memory");
            net.Dispose();
            Assert.Sequence(new[] { "a", "b", "a2", "b2" }, released, "Dispose releases what is still bound");
            net.Dispose();
            Assert.Equal(4, released.Count, "a second Dispose releases nothing");
            System.Runtime.InteropServices.Marshal.FreeHGlobal(memory);
        }

        [Test]
        public void DisposedNetworkRefusesCallsAndBoundArraysAreUnpinned()
        {
            var net = new Network(_ctx);
            Population src = net.AddPopulation("in", 8, "spike_source");
            WeakReference bound = BindFreshArray(src);
            Collect();
            Assert.True(bound.IsAlive, "a bound array stays alive (pinned) without other references");
            net.Dispose();
            Collect();
            Assert.True(!bound.IsAlive, "after Dispose the array is unpinned and collected");
            Assert.True(net.IsDisposed, "IsDisposed");
            net.Dispose();
            Assert.Throws<ObjectDisposedException>(() => net.Step(), "Step after Dispose");
            Assert.Throws<ObjectDisposedException>(() => src.ReadSpikes(), "population of a disposed network");

            using (var net2 = new Network(_ctx))
            {
                Population s2 = net2.AddPopulation("in", 8, "spike_source");
                WeakReference first = BindFreshArray(s2);
                s2.UnbindInput();
                Collect();
                Assert.True(!first.IsAlive, "after UnbindInput the array is collected");
            }
        }

        [Test]
        public void FinalizerDestroysAForgottenNetwork()
        {
            var released = new List<int>();
            // On a thread of its own, so no stale slot of this stack still points at the network.
            var thread = new System.Threading.Thread(() => MakeForgottenNetwork(released));
            thread.Start();
            thread.Join();
            Collect();
            Assert.Sequence(new[] { 1 }, released, "the finalizer destroyed the network, which released its buffer");
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        unsafe void MakeForgottenNetwork(List<int> released)
        {
            var net = new Network(_ctx);
            Population src = net.AddPopulation("in", 2, "spike_source");
            src.OnSpike((p, s, b, ids) => { });
            IntPtr memory = System.Runtime.InteropServices.Marshal.AllocHGlobal(2);
            src.BindInput((void*)memory, DType.UInt8, onRelease: () =>
            {
                System.Runtime.InteropServices.Marshal.FreeHGlobal(memory);
                lock (released) released.Add(1);
            });
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static WeakReference BindFreshArray(Population src)
        {
            var data = new byte[8];
            src.BindInput(data);
            return new WeakReference(data);
        }

        static void Collect()
        {
            for (int i = 0; i < 3; ++i)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }

        [Test]
        public void StateViewsAreLive()
        {
            Population p;
            var net = DrivenNetwork(out p);
            StateView view = p.ViewState("v");
            Assert.Equal(2, view.Batch, "batch");
            Assert.Equal(2L, view.Neurons, "neurons");
            Assert.Sequence(p.ReadState("v"), view.Span.ToArray(), "the view shows the state");
            net.Run(7);
            Assert.Sequence(p.ReadState("v"), view.Span.ToArray(), "and follows it without a new call");
            view[1, 1] = -70e-3f;
            Assert.Equal(-70e-3f, p.ReadState("v")[3], "writes go into the state");
            Span<float> values = view.Span;
            values[0] = -66e-3f;
            Assert.Equal(-66e-3f, p.ReadState("v")[0], "through the span too");
            Assert.Throws<OutOfRangeException>(() => { float x = view[2, 0]; }, "index outside");

            var e = Assert.Throws<StateException>(() => net.Batch = 3, "batch change while a view lives");
            Assert.Contains("view", e.Message, "message");

            // Disposing the network first is safe: the native network lives until the view goes.
            net.Dispose();
            float before = view.Span[1];
            Assert.True(before < 0, "the view still reads the state");
            view.Dispose();
            view.Dispose();
            Assert.Throws<ObjectDisposedException>(() => { var s = view.Span; }, "Span after Dispose");
        }

        [Test]
        public void BatchGrowsAfterViewsAreGone()
        {
            Population p;
            using (Network net = DrivenNetwork(out p))
            {
                using (p.ViewState("v")) { }
                net.Batch = 3;
                Assert.Equal(3, net.Batch, "batch");
                Assert.Equal(6, p.ReadState("v").Length, "state of 3 instances");
                var into = new float[6];
                Assert.Equal(6, p.ReadState("v", into), "read into a span");
                Assert.Sequence(p.ReadState("v"), into, "same values");
                Assert.Throws<ShapeException>(() => p.ReadState("v", new float[5]), "span too small");
            }
        }

        [Test]
        public void ConnectionsRoundTrip()
        {
            using (var net = new Network(_ctx, seed: 9))
            {
                Population a = net.AddPopulation("a", 3, "poisson"), b = net.AddPopulation("b", 2, "lif");
                float[] w = { 1, 2, 3, 4, 5, 6 };
                Connection dense = net.ConnectDense(a, b, w, synapse: "exp", delay: 2);
                Assert.Equal("a_to_b", dense.Name, "default name");
                Assert.Equal(ConnectionKind.Dense, dense.Kind, "kind");
                Assert.Equal("exp", dense.Synapse, "synapse");
                Assert.Equal(2, dense.Delay, "delay");
                Assert.Equal(6L, dense.Nnz, "nnz");
                Assert.Sequence(w, dense.GetWeights(), "weights");
                dense.SetWeights(new float[] { 6, 5, 4, 3, 2, 1 });
                Assert.Sequence(new float[] { 6, 5, 4, 3, 2, 1 }, dense.GetWeights(), "set weights");
                dense.SetParam("tau", 7e-3);
                Assert.Near(7e-3, dense.GetParam("tau"), 1e-9, "tau (stored as float32)");
                int[] pre, post, delays;
                dense.GetSynapses(out pre, out post, out delays);
                Assert.Sequence(new[] { 0, 0, 1, 1, 2, 2 }, pre, "pre");
                Assert.Sequence(new[] { 0, 1, 0, 1, 0, 1 }, post, "post");
                Assert.Sequence(new[] { 2, 2, 2, 2, 2, 2 }, delays, "delays");

                Connection sparse = net.ConnectSparse(a, b, new long[] { 0, 1, 1, 3 }, new[] { 1, 0, 1 }, new[] { .5f, .25f, .125f },
                                                      new[] { 1, 3, 2 }, name: "s");
                Assert.Equal(ConnectionKind.Sparse, sparse.Kind, "sparse kind");
                Assert.True(sparse.HasSynapseDelays, "per-synapse delays");
                Assert.Equal(3, sparse.Delay, "largest delay");
                Assert.True(ReferenceEquals(sparse, net.FindConnection("s")), "FindConnection gives the same object");
                Assert.Throws<ShapeException>(() => net.ConnectSparse(a, b, new long[] { 0, 1 }, new[] { 1 }, new[] { 1f }), "rowPtr");

                Connection r1 = net.ConnectRandom(a, b, 0.5, 1f, 42), r2 = net.ConnectRandom(a, b, 0.5, 1f, 42);
                Assert.Equal(r1.Nnz, r2.Nnz, "same seed, same synapses");
                Assert.Equal("a_to_b_2", r1.Name, "unique default name");
                Assert.Equal(4, net.Connections.Count, "connections");

                var c = net.AddPopulation("c", 2, "lif");
                Connection one = net.ConnectOneToOne(b, c, new[] { .1f, .2f }, synapse: "exp");
                Assert.Sequence(new[] { .1f, .2f }, one.GetWeights(), "one-to-one weights");
                net.Run(20);
                Assert.Equal(2, one.ReadState("I").Length, "synaptic state [batch][post]");
                one.RandomizeState("I", Distribution.Normal, 0, 1e-3, 5);
                Assert.True(one.ReadState("I").All(x => x != 0), "normal values");
                one.WriteState("I", new[] { 1e-3f, 2e-3f });
                Assert.Sequence(new[] { 1e-3f, 2e-3f }, one.ReadState("I"), "written synaptic state");
            }
        }

        [Test]
        public void SaveAndLoadGiveTheSameRun()
        {
            Population p;
            using (Network net = DrivenNetwork(out p))
            {
                p.SetOption("reset", "subtract");
                byte[] file = net.SaveToMemory();
                string path = System.IO.Path.GetTempFileName();
                try
                {
                    net.Save(path);
                    using (Network fromFile = Network.Load(path, context: _ctx))
                    using (Network fromMemory = Network.LoadFromMemory(file, context: _ctx))
                    {
                        Assert.Equal(2, fromFile.Batch, "saved batch");
                        Population q = fromFile.FindPopulation("lif"), r = fromMemory.Populations[0];
                        Assert.Equal("subtract", q.GetOption("reset"), "option");
                        Assert.Sequence(p.GetParam("v_rest"), q.GetParam("v_rest"), "parameters");
                        net.Run(400);
                        fromFile.Run(400);
                        fromMemory.Run(400);
                        Assert.Sequence(p.ReadState("v"), q.ReadState("v"), "same state from the file");
                        Assert.Sequence(p.ReadState("v"), r.ReadState("v"), "same state from memory");
                    }
                    using (Network bigger = Network.Load(path, batch: 5, context: _ctx))
                        Assert.Equal(5, bigger.Batch, "batch given at load");
                }
                finally
                {
                    System.IO.File.Delete(path);
                }
            }
        }

        [Test]
        public void PoissonRatesAndRandomState()
        {
            using (var net = new Network(_ctx, seed: 3, batch: 2))
            {
                Population src = net.AddPopulation("src", 1000, "poisson");
                Population lif = net.AddPopulation("lif", 1000, "lif");
                lif.RandomizeState("v", Distribution.Uniform, -60e-3, -50e-3, 7);
                float[] v = lif.ReadState("v");
                Assert.True(v.All(x => x >= -60e-3f && x < -50e-3f), "uniform values inside [a, b)");
                Assert.Near(-55e-3, v.Average(), 1e-3, "their mean");
                var rates = new float[2 * 1000];
                for (int i = 0; i < 1000; ++i) rates[1000 + i] = 500f;  // instance 1: 500 Hz, instance 0: 0 Hz
                long[] counts = new long[2];
                src.OnSpike((p, step, b, ids) => counts[b] += ids.Length);
                for (int k = 0; k < 100; ++k)
                {
                    src.SetInput(rates);
                    net.Step();
                }
                Assert.Equal(0L, counts[0], "no spikes at 0 Hz");
                Assert.Near(500 * 1e-4 * 1000 * 100, counts[1], 300, "about rate * dt * n * steps spikes at 500 Hz");
            }
        }
    }
}
