using System;
using System.Collections.Generic;
using System.Linq;

namespace Snn.Tests
{
    // The trainer, conv2d connections, plasticity with a learning handler, and the vision functions.
    public class LearningTests : IDisposable
    {
        readonly Context _ctx = new Context("reference", threads: 1);

        public void Dispose() { _ctx.Dispose(); }

        // src (spike_source 4) -> out (li 2), dense, delta, delay 0.
        Network Tiny(out Population src, out Population output, out Connection w)
        {
            var net = new Network(_ctx, dt: 1e-3);
            src = net.AddPopulation("src", 4, "spike_source");
            output = net.AddPopulation("out", 2, "li");
            w = net.ConnectDense(src, output, Enumerable.Repeat(0.1f, 8).ToArray(), delay: 0);
            return net;
        }

        // Sequence 0 drives inputs 0 and 1, sequence 1 inputs 2 and 3, every other step.
        static byte[] TinyInput(int steps)
        {
            var x = new byte[steps * 2 * 4];
            for (int k = 0; k < steps; k += 2)
            {
                x[k * 8] = x[k * 8 + 1] = 1;
                x[k * 8 + 6] = x[k * 8 + 7] = 1;
            }
            return x;
        }

        [Test]
        public void ATinyNetworkLearns()
        {
            Population src, output;
            Connection w;
            using (var net = Tiny(out src, out output, out w))
            {
                float[] before = w.GetWeights();
                const int steps = 10;
                byte[] x = TinyInput(steps);
                using (var trainer = new Trainer(net, inputGrads: true))
                {
                    trainer.SetOptimizer(new OptimizerOptions(Optimizer.Adam) { LearningRate = 0.05 });
                    trainer.TrainParam(output, "tau_mem");
                    var losses = new List<double>();
                    for (int k = 0; k < 15; ++k)
                    {
                        trainer.Forward(steps, 2, src, x);
                        losses.Add(trainer.Loss(output, "ce_mean_v", new[] { 0, 1 }));
                        trainer.Backward();
                        if (k == 0)
                        {
                            float[] g = trainer.ReadGrad(w);
                            Assert.Equal(8, g.Length, "gradient length");
                            Assert.True(g.Any(v => v != 0), "a nonzero gradient");
                            Assert.Equal(2, trainer.ReadParamGrad(output, "tau_mem").Length, "parameter gradient length");
                            Assert.Equal(steps * 2 * 4, trainer.ReadInputGrad(src).Length, "input gradient length");
                            Assert.Equal(steps * 2 * 2, trainer.ReadOutput(output, "v").Length, "output length");
                            Assert.True(trainer.TapeBytes > 0, "tape bytes");
                        }
                        trainer.Step();
                        trainer.ZeroGrad();
                    }
                    Assert.True(losses.Last() < losses[0], "the loss falls: " + string.Join(", ", losses));
                    var half = Enumerable.Repeat(0.5f, 8).ToArray();
                    trainer.WriteGrad(w, half);
                    Assert.Sequence(half, trainer.ReadGrad(w), "written gradient");
                    trainer.ZeroGrad();
                    trainer.Forward(steps, 2, src, x);
                    trainer.AddOutputGrad(output, "v", Enumerable.Repeat(1f, steps * 2 * 2).ToArray());
                    trainer.Backward();
                    trainer.ResetState();
                }
                Assert.True(!before.SequenceEqual(w.GetWeights()), "the trainer trains the network's own weights");
            }
        }

        [Test]
        public void TrainerErrorsAreTyped()
        {
            Population src, output, otherSrc, otherOut;
            Connection w, otherW;
            using (var net = Tiny(out src, out output, out w))
            using (var other = Tiny(out otherSrc, out otherOut, out otherW))
            using (var trainer = new Trainer(net))
            {
                Assert.Contains("forward", Assert.Throws<StateException>(() => trainer.Loss(output, "ce_mean_v", new[] { 0 }), "loss first").Message, "message");
                Assert.Contains("input: 19 values given", Assert.Throws<ShapeException>(() => trainer.Forward(5, 1, src, new byte[19]), "short input").Message, "message");
                trainer.Forward(5, 1, src, new byte[20]);
                Assert.Contains("hinge", Assert.Throws<InvalidArgumentException>(() => trainer.Loss(output, "hinge", new[] { 0 }), "unknown loss").Message, "message");
                Assert.Contains("beta2", Assert.Throws<InvalidArgumentException>(() => trainer.SetOptimizer(new OptimizerOptions { Beta2 = 1.0 }), "beta2").Message, "message");
                Assert.Throws<InvalidArgumentException>(() => trainer.ReadGrad(otherW), "a connection of another network");
                trainer.Dispose();
                Assert.Throws<ObjectDisposedException>(() => trainer.Backward(), "disposed");
            }
            using (var izh = new Network(_ctx))
            {
                izh.AddPopulation("izh", 3, "izhikevich");
                Assert.Contains("izhikevich", Assert.Throws<UnsupportedException>(() => new Trainer(izh), "untrainable").Message, "message");
            }
        }

        [Test]
        public void Conv2dOneStepByHand()
        {
            // Input 1 x 3 x 3 (the diagonal), kernel [1 2; 3 4]: the cross-correlation is [5 3; 2 5].
            using (var net = new Network(_ctx, dt: 1e-3))
            {
                Population src = net.AddPopulation("src", new long[] { 1, 3, 3 }, "spike_source");
                Population output = net.AddPopulation("out", new long[] { 1, 2, 2 }, "if");
                output.SetParam("v_reset", 0.0);
                output.SetParam("v_th", 1e9);
                var g = new Conv2dGeometry(1, 3, 3, 1, 2, 2);
                Assert.Equal(4L, g.WeightCount, "weight count");
                Connection conv = net.ConnectConv2d(src, output, g, new float[] { 1, 2, 3, 4 }, delay: 0);
                Assert.Equal(ConnectionKind.Conv2d, conv.Kind, "kind");
                Conv2dGeometry back = conv.GetConv2dGeometry();
                Assert.Equal(3, back.InHeight, "in height");
                Assert.Equal(1, back.StrideY, "default stride");
                Assert.Equal(Pool.None, back.Pool, "no pooling");
                Assert.Throws<ShapeException>(() => net.ConnectConv2d(src, output, g, new float[3]), "a kernel of 3 weights");
                src.SetInput(new byte[] { 1, 0, 0, 0, 1, 0, 0, 0, 1 });
                net.Step();
                Assert.Sequence(new float[] { 5, 3, 2, 5 }, output.ReadState("v"), "v");
            }
        }

        [Test]
        public void StdpLearnsAndTheHandlerSeesIt()
        {
            // Input 0 spikes in step 0, input 1 (strong) in step 3, so the neuron spikes in
            // step 4: both weights are potentiated then (docs/models.md, "Plasticity").
            using (var net = new Network(_ctx, dt: 1e-3))
            {
                Population input = net.AddPopulation("in", 2, "spike_source");
                Population output = net.AddPopulation("out", 1, "lif");
                output.SetParam("v_rest", 0.0);
                output.SetParam("v_reset", 0.0);
                output.SetParam("v_th", 1.0);
                Connection c = net.ConnectDense(input, output, new[] { 0.5f, 5.0f });
                Assert.Contains("no learning rule",
                                Assert.Throws<InvalidArgumentException>(() => c.OnLearning((conn, step, n, total, all, rows, cols) => { }), "not plastic").Message, "message");
                Assert.True(Library.Models(ModelKind.Plasticity).Contains("stdp"), "stdp is a learning rule");
                c.SetOption("plasticity", "stdp");
                Assert.Equal("stdp", c.GetOption("plasticity"), "plasticity option");
                c.SetParam("w_max", 10.0);
                c.SetParam("a_plus", 0.25);
                var events = new List<Tuple<Connection, long, long, bool, int[]>>();
                c.OnLearning((conn, step, changed, total, all, rows, columns) =>
                    events.Add(Tuple.Create(conn, step, changed, all, columns.ToArray())));
                foreach (var x in new[] { new byte[] { 1, 0 }, new byte[] { 0, 0 }, new byte[] { 0, 0 }, new byte[] { 0, 1 }, new byte[] { 0, 0 } })
                {
                    input.SetInput(x);
                    net.Step();
                }
                Assert.Equal(1, events.Count, "one learning event");
                Assert.True(events[0].Item1 == c, "the connection");
                Assert.Equal(4L, events[0].Item2, "step");
                Assert.True(events[0].Item3 > 0, "synapses changed");
                Assert.Equal(false, events[0].Item4, "all");
                Assert.Sequence(new[] { 0 }, events[0].Item5, "columns");
                float[] w = c.GetWeights();
                Assert.True(w[0] > 0.5f && w[1] > 5.0f, "potentiated: " + string.Join(", ", w));
                // StopRun ends the run after the step that learned; an exception is rethrown by Run.
                c.OnLearning((conn, step, changed, total, all, rows, columns) => net.StopRun());
                input.SetInput(new byte[] { 1, 1 });  // depression by the postsynaptic trace: a change
                Assert.Equal(1L, net.Run(5), "steps run");
                c.OnLearning((conn, step, changed, total, all, rows, columns) => { throw new InvalidOperationException("in the handler"); });
                input.SetInput(new byte[] { 1, 1 });
                Assert.Throws<InvalidOperationException>(() => net.Run(5), "rethrown");
                c.OnLearning(null);
                c.SetOption("learning", "off");
                Assert.Equal("off", c.GetOption("learning"), "learning option");
            }
        }

        [Test]
        public void VisionFunctions()
        {
            int filters;
            float[] dog = Vision.FilterKernels(new FilterOptions("dog") { Size = 5 }, out filters);
            Assert.Equal(1, filters, "dog filters");
            Assert.Equal(25, dog.Length, "dog values");
            Assert.Near(0, dog.Sum(v => (double)v), 1e-5, "zero mean");
            Assert.True(dog[12] > 0, "on-centre");
            float[] gabor = Vision.FilterKernels(new FilterOptions("gabor") { Orientations = 3 }, out filters);
            Assert.Equal(3, filters, "gabor filters");
            Assert.Equal(3 * 7 * 7, gabor.Length, "gabor values");
            Assert.Throws<InvalidArgumentException>(() => Vision.FilterKernels(new FilterOptions { Size = 4 }, out filters), "even size");

            var image = new float[] { 1, 0, 0, 0, 1, 0, 0, 0, 1 };
            Assert.Sequence(new float[] { 5, 3, 2, 5 }, Vision.ImageFilter(image, 1, 1, 3, 3, new float[] { 1, 2, 3, 4 }, 1, 2, 2), "filtered");
            Assert.Sequence(new float[] { 0, 0, 0, 0, 1, 0, 0, 1 },
                            Vision.ImageFilter(image, 1, 1, 3, 3, new float[] { -1, 0, 0, 0 }, 1, 2, 2, onOff: true), "on/off");
            Assert.Throws<ShapeException>(() => Vision.ImageFilter(new float[8], 1, 1, 3, 3, new float[4], 1, 2, 2), "short image");

            // One column, values 0 and 2: mean 1, variance 1, W = 1.
            float[] mean;
            float[] whitening = Vision.ZcaFit(new float[] { 0, 2 }, 2, 1, 0.0, out mean);
            Assert.Sequence(new float[] { 1 }, mean, "mean");
            Assert.Near(1, whitening[0], 1e-6, "W");
            float[] white = Vision.ZcaApply(new float[] { 0, 2, 3 }, mean, whitening);
            Assert.Near(-1, white[0], 1e-6, "white[0]");
            Assert.Near(2, white[2], 1e-6, "white[2]");
            Assert.Throws<InvalidArgumentException>(() => Vision.ZcaFit(new float[] { 1 }, 1, 1, 0.0, out mean), "one row");

            // Rank order over 4 steps: 0.9 first, 0.5 at floor(1 * 4 / 2) = 2, 0 never.
            byte[] spikes;
            int[] first = Vision.LatencyEncode(new[] { 0.9f, 0.5f, 0.0f }, 1, 4, out spikes);
            Assert.Sequence(new[] { 0, 2, -1 }, first, "first");
            Assert.Equal(12, spikes.Length, "spikes");
            Assert.Sequence(first, Vision.SpikesFirstStep(spikes, 4, 1), "decoded first");
            Assert.Sequence(new[] { 1, 1, 0 }, Vision.SpikesCount(spikes, 4, 1), "counts");
            Assert.Throws<InvalidArgumentException>(() => Vision.LatencyEncode(new[] { 0.5f }, 1, 0, out spikes), "no steps");
            Assert.Throws<ShapeException>(() => Vision.SpikesCount(new byte[7], 2, 1), "7 values");
        }
    }
}
