// Copied from bindings/csharp/src/Connection.cs by engines/unity/Tools~/sync.py: edit the original.
using System;
using System.Runtime.InteropServices;
using Snn.Interop;

namespace Snn
{
    /// <summary>Synapses from one population to another inside a <see cref="Network"/>.</summary>
    public sealed unsafe class Connection
    {
        internal Connection(Network network, int id)
        {
            Network = network;
            Id = id;
            snn_connection_info info = default(snn_connection_info);
            info.struct_size = (uint)sizeof(snn_connection_info);
            using (var lease = network.Lease())
                SnnException.Check(SnnNative.snn_connection_info_get(lease.Pointer, id, &info));
            Name = Utf8.Read(info.name);
            Synapse = Utf8.Read(info.synapse);
            Pre = network.Populations[info.pre];
            Post = network.Populations[info.post];
            Kind = (ConnectionKind)info.kind;
            Delay = info.delay;
            Nnz = info.nnz;
            HasSynapseDelays = info.has_synapse_delays != 0;
        }

        /// <summary>The network the connection belongs to.</summary>
        public Network Network { get; }
        /// <summary>The id: 0, 1, ... in creation order.</summary>
        public int Id { get; }
        /// <summary>The unique name.</summary>
        public string Name { get; }
        /// <summary>The synapse model ("delta", "exp", "cond_exp").</summary>
        public string Synapse { get; }
        /// <summary>The presynaptic population.</summary>
        public Population Pre { get; }
        /// <summary>The postsynaptic population.</summary>
        public Population Post { get; }
        /// <summary>Dense, sparse or one-to-one.</summary>
        public ConnectionKind Kind { get; }
        /// <summary>The delay in steps; with per-synapse delays, the largest.</summary>
        public int Delay { get; }
        /// <summary>The number of weights (dense: pre.Size * post.Size).</summary>
        public long Nnz { get; }
        /// <summary>True when every synapse has its own delay.</summary>
        public bool HasSynapseDelays { get; }

        /// <inheritdoc/>
        public override string ToString()
        {
            return "Connection(\"" + Name + "\", \"" + Pre.Name + "\" -> \"" + Post.Name + "\", " + Kind + ", synapse=\"" +
                   Synapse + "\", nnz=" + Nnz + ", delay=" + Delay + ", id=" + Id + ")";
        }

        /// <summary>Sets a synapse model parameter ("tau", "e_rev").</summary>
        public void SetParam(string name, double value)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_connection_set_param(lease.Pointer, Id, n, value));
        }

        /// <summary>A synapse model parameter.</summary>
        public double GetParam(string name)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            double value;
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_connection_get_param(lease.Pointer, Id, n, &value));
            return value;
        }

        /// <summary>Sets a string option: "weight_dtype"; "plasticity" (a learning rule, before
        /// the first step) and the rule's options ("learning" = "on" | "off", "pairing", ...).</summary>
        public void SetOption(string name, string value)
        {
            byte* nameBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* valueBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, nameBuffer, "name");
            byte* v = Utf8.Name(value, valueBuffer, "value");
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_connection_set_option(lease.Pointer, Id, n, v));
        }

        /// <summary>A string option.</summary>
        public string GetOption(string name)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            byte* value;
            using (var lease = Network.Lease())
            {
                SnnException.Check(SnnNative.snn_connection_get_option(lease.Pointer, Id, n, &value));
                return Utf8.Read(value);
            }
        }

        /// <summary>The geometry of a conv2d connection, its defaults filled in.</summary>
        public Conv2dGeometry GetConv2dGeometry()
        {
            snn_conv2d_geometry g = default(snn_conv2d_geometry);
            g.struct_size = (uint)sizeof(snn_conv2d_geometry);
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_connection_conv2d_get(lease.Pointer, Id, &g));
            return new Conv2dGeometry(g);
        }

        /// <summary>Registers the handler called after each step in which learning changed this
        /// (plastic) connection's weights; null removes it.</summary>
        public void OnLearning(LearningHandler handler)
        {
            Network.SetLearningHandler(this, handler);
        }

        /// <summary>The weights in the connection's order (dense: [pre][post]; sparse: CSR order).</summary>
        public float[] GetWeights()
        {
            using (var lease = Network.Lease())
            {
                long count;
                SnnException.Check(SnnNative.snn_connection_get_weights(lease.Pointer, Id, null, 0, &count));
                var weights = new float[count];
                fixed (float* w = weights)
                    SnnException.Check(SnnNative.snn_connection_get_weights(lease.Pointer, Id, w, count, &count));
                return weights;
            }
        }

        /// <summary>Replaces the weights (Nnz values, in the order of GetWeights).</summary>
        public void SetWeights(ReadOnlySpan<float> weights)
        {
            using (var lease = Network.Lease())
            fixed (float* w = &MemoryMarshal.GetReference(weights))
                SnnException.Check(SnnNative.snn_connection_set_weights(lease.Pointer, Id, w, weights.Length));
        }

        /// <summary>The (pre, post) index pairs and delays, in the order of the weights.</summary>
        public void GetSynapses(out int[] pre, out int[] post, out int[] delays)
        {
            using (var lease = Network.Lease())
            {
                long count;
                SnnException.Check(SnnNative.snn_connection_get_synapses(lease.Pointer, Id, null, null, null, 0, &count));
                pre = new int[count];
                post = new int[count];
                delays = new int[count];
                fixed (int* a = pre)
                fixed (int* b = post)
                fixed (int* d = delays)
                    SnnException.Check(SnnNative.snn_connection_get_synapses(lease.Pointer, Id, a, b, d, count, &count));
            }
        }

        /// <summary>A copy of a synaptic state variable ("I" for exp, "g" for cond_exp), [batch][post.Size].</summary>
        public float[] ReadState(string var)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            using (var lease = Network.Lease())
            {
                long count;
                SnnException.Check(SnnNative.snn_connection_read_state(lease.Pointer, Id, v, null, 0, &count));
                var values = new float[count];
                fixed (float* p = values)
                    SnnException.Check(SnnNative.snn_connection_read_state(lease.Pointer, Id, v, p, count, &count));
                return values;
            }
        }

        /// <summary>Writes a synaptic state variable: post.Size values or batch * post.Size.</summary>
        public void WriteState(string var, ReadOnlySpan<float> values)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            using (var lease = Network.Lease())
            fixed (float* p = &MemoryMarshal.GetReference(values))
                SnnException.Check(SnnNative.snn_connection_write_state(lease.Pointer, Id, v, p, values.Length));
        }

        /// <summary>Draws a synaptic state variable from a distribution with its own seed.</summary>
        public void RandomizeState(string var, Distribution distribution, double a, double b, ulong seed)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_connection_randomize_state(lease.Pointer, Id, v, (int)distribution, a, b, seed));
        }
    }
}
