using System;
using System.Linq;
using Snn.Interop;

namespace Snn.Tests
{
    public class LibraryTests
    {
        [Test]
        public void VersionsAgree()
        {
            Assert.Equal(Library.BindingVersion, Library.NativeVersion, "native version");
            Assert.Equal(SnnNative.SNN_VERSION_MAJOR + "." + SnnNative.SNN_VERSION_MINOR + "." + SnnNative.SNN_VERSION_PATCH,
                         Library.NativeVersionString, "version string");
            Library.CheckVersion();
        }

        [Test]
        public void StatusNamesComeFromTheLibrary()
        {
            Assert.Equal("SNN_SHAPE", SnnException.NameOf(StatusCode.Shape), "name of SNN_SHAPE");
            Assert.Equal((int)StatusCode.NotFound, SnnNative.SNN_NOT_FOUND, "generated enum and constant");
        }

        [Test]
        public void BackendsAndModels()
        {
            string[] backends = Library.Backends;
            Assert.True(backends.Contains("reference") && backends.Contains("cpu"), "backends: " + string.Join(",", backends));
            string[] neurons = Library.Models(ModelKind.Neuron);
            foreach (string m in new[] { "lif", "if", "alif", "izhikevich", "li", "poisson", "spike_source", "current_source" })
                Assert.True(neurons.Contains(m), "neuron model " + m + " in " + string.Join(",", neurons));
            Assert.Sequence(new[] { "cond_exp", "delta", "exp" }, Library.Models(ModelKind.Synapse).OrderBy(s => s), "synapses");

            ParamInfo[] lif = Library.ModelParams(ModelKind.Neuron, "lif");
            ParamInfo tau = lif.Single(p => p.Name == "tau_mem");
            Assert.Near(20e-3, tau.DefaultNumber, 1e-12, "tau_mem default");
            Assert.Equal("s", tau.Unit, "tau_mem unit");
            Assert.True(!tau.IsString, "tau_mem is a number");
            ParamInfo reset = lif.Single(p => p.Name == "reset");
            Assert.True(reset.IsString, "reset is an option");
            Assert.Equal("value", reset.DefaultString, "reset default");
            Assert.Sequence(new[] { "value", "subtract" }, reset.Choices, "reset choices");
            Assert.Sequence(new[] { "v" }, Library.ModelStateVars(ModelKind.Neuron, "lif"), "lif state");

            var e = Assert.Throws<NotFoundException>(() => Library.ModelParams(ModelKind.Neuron, "no_such_model"), "unknown model");
            Assert.Contains("no_such_model", e.Message, "message names the model");
        }

        [Test]
        public void ContextOptions()
        {
            using (var ctx = new Context("reference", threads: 1))
            {
                Assert.Equal("reference", ctx.Backend, "backend");
                Assert.Equal(1, ctx.Threads, "threads");
                Assert.Equal("scalar", ctx.Simd, "simd of reference");
            }
            using (var ctx = new Context("cpu", threads: 2, simd: "generic"))
            {
                Assert.Equal("cpu", ctx.Backend, "backend");
                Assert.Equal("generic", ctx.Simd, "simd");
                Assert.Equal(2, ctx.Threads, "threads");
            }
            Assert.True(Library.Backends.Contains(Context.Default.Backend), "auto picks a listed backend");
        }

        [Test]
        public void BadContextOptionsCarryTheMessage()
        {
            var e = Assert.Throws<UnsupportedException>(() => new Context("quantum"), "unknown backend");
            Assert.Equal(StatusCode.Unsupported, e.Status, "status");
            Assert.Equal("SNN_UNSUPPORTED", e.StatusName, "status name");
            Assert.Contains("quantum", e.Message, "message names the backend");
            Assert.Throws<InvalidArgumentException>(() => new Context(threads: -3), "negative threads");
            Assert.Throws<InvalidArgumentException>(() => new Context("c\0pu"), "NUL inside a string");
        }

        [Test]
        public void DisposedContextKeepsItsNetworksRunning()
        {
            var ctx = new Context("reference");
            var net = new Network(ctx);
            net.AddPopulation("p", 4, "lif");
            ctx.Dispose();
            ctx.Dispose();
            Assert.True(ctx.IsDisposed, "disposed");
            Assert.Throws<ObjectDisposedException>(() => { var b = ctx.Backend; }, "a disposed context refuses calls");
            net.Run(10);  // the native context lives until its last network is gone
            Assert.Equal(10L, net.CurrentStep, "steps");
            net.Dispose();
        }
    }
}
