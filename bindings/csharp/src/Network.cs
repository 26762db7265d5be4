using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Snn.Interop;

namespace Snn
{
    /// <summary>
    /// Called after a step for each instance whose population spiked, on the thread
    /// that called Step or Run. <paramref name="neuronIds"/> (ascending) is valid
    /// during the call only: copy what you keep. Call <see cref="Network.StopRun"/>
    /// to end the run after this step; an exception thrown here ends it too and is
    /// rethrown by Step or Run.
    /// </summary>
    public delegate void SpikeHandler(Population population, long step, int batchIndex, ReadOnlySpan<int> neuronIds);

    /// <summary>
    /// Called after a step in which learning changed a plastic connection's weights, after the
    /// spike handlers, on the thread that called Step or Run: <paramref name="synapsesChanged"/>
    /// updates changed a weight by <paramref name="totalChange"/> in all (sum of |new - old|);
    /// <paramref name="rows"/> (presynaptic) and <paramref name="columns"/> (postsynaptic neurons)
    /// are valid during the call only and empty when <paramref name="all"/> (any synapse may have
    /// changed). <see cref="Network.StopRun"/> and exceptions behave as for spike handlers.
    /// </summary>
    public delegate void LearningHandler(Connection connection, long step, long synapsesChanged, double totalChange, bool all,
                                         ReadOnlySpan<int> rows, ReadOnlySpan<int> columns);

    /// <summary>
    /// A spiking network: populations joined by connections, with the state of
    /// <see cref="Batch"/> independent instances that share weights. Use it from one
    /// thread at a time. Dispose it when done (a finalizer destroys it otherwise);
    /// its context stays alive until it is gone.
    /// </summary>
    public sealed unsafe class Network : IDisposable
    {
        readonly NetworkHandle _handle = new NetworkHandle();
        readonly Context _context;
        readonly List<Population> _populations = new List<Population>();
        readonly List<Connection> _connections = new List<Connection>();
        SpikeDispatch _spikes;
        bool _running;

        /// <summary>Creates an empty network.</summary>
        /// <param name="context">The context to run on; null: <see cref="Snn.Context.Default"/>.</param>
        /// <param name="dt">Step length in seconds.</param>
        /// <param name="seed">Seed of the network's random streams.</param>
        /// <param name="batch">Number of independent instances.</param>
        public Network(Context context = null, double dt = 1e-4, ulong seed = 0, int batch = 1)
        {
            _context = context ?? Context.Default;
            snn_network_options options;
            SnnException.Check(SnnNative.snn_network_options_init(&options, (uint)sizeof(snn_network_options)));
            options.dt = dt;
            options.seed = seed;
            options.batch = batch;
            using (var ctx = new Context.Lease(_context.Handle))
            {
                snn_network* net = null;
                SnnException.Check(SnnNative.snn_network_create(ctx.Pointer, &options, &net));
                _handle.Set(net, _context.Handle);
            }
        }

        Network(Context context, snn_network* loaded)
        {
            _context = context;
            _handle.Set(loaded, context.Handle);
            using (var lease = Lease())
            {
                int populations, connections;
                SnnException.Check(SnnNative.snn_network_population_count(lease.Pointer, &populations));
                for (int i = 0; i < populations; ++i) _populations.Add(new Population(this, i));
                SnnException.Check(SnnNative.snn_network_connection_count(lease.Pointer, &connections));
                for (int i = 0; i < connections; ++i) _connections.Add(new Connection(this, i));
            }
        }

        /// <summary>Loads a .snn file.</summary>
        /// <param name="path">The file.</param>
        /// <param name="batch">Instances; 0: the batch the file was saved with.</param>
        /// <param name="context">The context to run on; null: <see cref="Snn.Context.Default"/>.</param>
        public static Network Load(string path, int batch = 0, Context context = null)
        {
            context = context ?? Context.Default;
            byte[] p = Utf8.Bytes(path, "path");
            snn_load_options options;
            SnnException.Check(SnnNative.snn_load_options_init(&options, (uint)sizeof(snn_load_options)));
            options.batch = batch;
            snn_network* net = null;
            using (var ctx = new Context.Lease(context.Handle))
            fixed (byte* pp = p)
                SnnException.Check(SnnNative.snn_network_load(ctx.Pointer, pp, &options, &net));
            return new Network(context, net);
        }

        /// <summary>Loads a network from the bytes of a .snn file.</summary>
        public static Network LoadFromMemory(ReadOnlySpan<byte> data, int batch = 0, Context context = null)
        {
            context = context ?? Context.Default;
            snn_load_options options;
            SnnException.Check(SnnNative.snn_load_options_init(&options, (uint)sizeof(snn_load_options)));
            options.batch = batch;
            snn_network* net = null;
            using (var ctx = new Context.Lease(context.Handle))
            fixed (byte* d = &MemoryMarshal.GetReference(data))
                SnnException.Check(SnnNative.snn_network_load_from_memory(ctx.Pointer, d, data.Length, &options, &net));
            return new Network(context, net);
        }

        /// <summary>Saves the network as a .snn file; with currentState, a loaded copy continues exactly.</summary>
        public void Save(string path, bool currentState = false)
        {
            byte[] p = Utf8.Bytes(path, "path");
            using (var lease = Lease())
            fixed (byte* pp = p)
                SnnException.Check(SnnNative.snn_network_save(lease.Pointer, pp, Flags(currentState)));
        }

        /// <summary>The bytes of the .snn file <see cref="Save"/> would write.</summary>
        public byte[] SaveToMemory(bool currentState = false)
        {
            using (var lease = Lease())
            {
                long size;
                SnnException.Check(SnnNative.snn_network_save_to_memory(lease.Pointer, Flags(currentState), null, 0, &size));
                var bytes = new byte[size];
                fixed (byte* b = bytes)
                    SnnException.Check(SnnNative.snn_network_save_to_memory(lease.Pointer, Flags(currentState), b, size, &size));
                return bytes;
            }
        }

        static uint Flags(bool currentState)
        {
            return (uint)(currentState ? SnnNative.SNN_SAVE_CURRENT_STATE : SnnNative.SNN_SAVE_DEFAULT);
        }

        /// <summary>The context the network runs on.</summary>
        public Context Context => _context;

        /// <summary>The owning handle, for interop with the low-level layer.</summary>
        public NetworkHandle Handle => _handle;

        /// <summary>True once Dispose was called.</summary>
        public bool IsDisposed => _handle.Disposed;

        /// <summary>Step length in seconds.</summary>
        public double Dt
        {
            get
            {
                using (var lease = Lease())
                {
                    double dt;
                    SnnException.Check(SnnNative.snn_network_dt(lease.Pointer, &dt));
                    return dt;
                }
            }
        }

        /// <summary>Seed of the network's random streams.</summary>
        public ulong Seed
        {
            get
            {
                using (var lease = Lease())
                {
                    ulong seed;
                    SnnException.Check(SnnNative.snn_network_seed(lease.Pointer, &seed));
                    return seed;
                }
            }
        }

        /// <summary>The current step: 0 at creation and after Reset; +1 per completed step.</summary>
        public long CurrentStep
        {
            get
            {
                using (var lease = Lease())
                {
                    long step;
                    SnnException.Check(SnnNative.snn_network_current_step(lease.Pointer, &step));
                    return step;
                }
            }
        }

        /// <summary>The number of instances. Setting it keeps running instances' state;
        /// new ones start from the initial state. Refused while a state view is alive.</summary>
        public int Batch
        {
            get
            {
                using (var lease = Lease())
                {
                    int batch;
                    SnnException.Check(SnnNative.snn_network_batch(lease.Pointer, &batch));
                    return batch;
                }
            }
            set
            {
                CheckNotRunning("Batch");
                using (var lease = Lease())
                    SnnException.Check(SnnNative.snn_network_set_batch(lease.Pointer, value));
            }
        }

        /// <summary>The populations, in id order.</summary>
        public IReadOnlyList<Population> Populations => _populations;

        /// <summary>The connections, in id order.</summary>
        public IReadOnlyList<Connection> Connections => _connections;

        /// <summary>Adds a population of <paramref name="size"/> neurons of a model
        /// ("lif", "poisson", ...; see <see cref="Library.Models"/>).</summary>
        public Population AddPopulation(string name, long size, string model)
        {
            return AddPopulation(name, new[] { size }, model);
        }

        /// <summary>Adds a population shaped e.g. [C, H, W] (1 to 8 dimensions).</summary>
        public Population AddPopulation(string name, long[] shape, string model)
        {
            CheckNotRunning("AddPopulation");
            byte* nameBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* modelBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, nameBuffer, "name");
            byte* m = Utf8.Name(model, modelBuffer, "model");
            int id;
            using (var lease = Lease())
            fixed (long* s = shape)
                SnnException.Check(SnnNative.snn_network_add_population(lease.Pointer, n, m, shape == null ? 0 : shape.Length,
                                                                        s, &id));
            var pop = new Population(this, id);
            _populations.Add(pop);
            return pop;
        }

        /// <summary>The population with this name; <see cref="NotFoundException"/> if none.</summary>
        public Population FindPopulation(string name)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            int id;
            using (var lease = Lease())
                SnnException.Check(SnnNative.snn_network_find_population(lease.Pointer, n, &id));
            return _populations[id];
        }

        /// <summary>The connection with this name; <see cref="NotFoundException"/> if none.</summary>
        public Connection FindConnection(string name)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            int id;
            using (var lease = Lease())
                SnnException.Check(SnnNative.snn_network_find_connection(lease.Pointer, n, &id));
            return _connections[id];
        }

        /// <summary>Connects every pre neuron to every post neuron with weights
        /// [pre.Size, post.Size] (row-major, copied). Every Connect method takes a
        /// synapse model (null: "delta"; or "exp", "cond_exp"), a delay in steps
        /// (null: 1) and a name (null: "&lt;pre&gt;_to_&lt;post&gt;", made unique).</summary>
        public Connection ConnectDense(Population pre, Population post, ReadOnlySpan<float> weights, string synapse = null,
                                       int? delay = null, string name = null)
        {
            Begin("ConnectDense", pre, post);
            snn_connection_options o;
            byte* nameBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* synapseBuffer = stackalloc byte[Utf8.NameCapacity];
            InitOptions(&o, name, nameBuffer, synapse, synapseBuffer, delay);
            int id;
            using (var lease = Lease())
            fixed (float* w = &MemoryMarshal.GetReference(weights))
                SnnException.Check(SnnNative.snn_network_connect_dense(lease.Pointer, pre.Id, post.Id, w, weights.Length,
                                                                       &o, &id));
            return Added(id);
        }

        /// <summary>Connects through a CSR matrix over presynaptic rows: rowPtr[pre.Size + 1],
        /// postIndex and weights of nnz entries, optional per-synapse delays (copied).</summary>
        public Connection ConnectSparse(Population pre, Population post, ReadOnlySpan<long> rowPtr, ReadOnlySpan<int> postIndex,
                                        ReadOnlySpan<float> weights, ReadOnlySpan<int> delays = default(ReadOnlySpan<int>),
                                        string synapse = null, int? delay = null, string name = null)
        {
            Begin("ConnectSparse", pre, post);
            long nnz = weights.Length;
            if (postIndex.Length != nnz || (delays.Length != 0 && delays.Length != nnz))
                throw new ShapeException("postIndex, weights, delays: " + postIndex.Length + ", " + weights.Length + " and " +
                                         delays.Length + " values; give nnz of each (delays may be empty)");
            if (rowPtr.Length != pre.Size + 1)
                throw new ShapeException("rowPtr: " + rowPtr.Length + " values given; " + (pre.Size + 1) +
                                         " needed (pre.Size + 1)");
            snn_connection_options o;
            byte* nameBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* synapseBuffer = stackalloc byte[Utf8.NameCapacity];
            InitOptions(&o, name, nameBuffer, synapse, synapseBuffer, delay);
            int id;
            using (var lease = Lease())
            fixed (long* r = &MemoryMarshal.GetReference(rowPtr))
            fixed (int* pi = &MemoryMarshal.GetReference(postIndex))
            fixed (float* w = &MemoryMarshal.GetReference(weights))
            fixed (int* d = &MemoryMarshal.GetReference(delays))
                SnnException.Check(SnnNative.snn_network_connect_sparse(lease.Pointer, pre.Id, post.Id, nnz, r, pi, w,
                                                                        delays.Length == 0 ? null : d, &o, &id));
            return Added(id);
        }

        /// <summary>Connects each (pre, post) pair with probability p, all with one weight;
        /// the same seed gives the same synapses on every platform.</summary>
        public Connection ConnectRandom(Population pre, Population post, double p, float weight, ulong seed,
                                        string synapse = null, int? delay = null, string name = null)
        {
            Begin("ConnectRandom", pre, post);
            snn_connection_options o;
            byte* nameBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* synapseBuffer = stackalloc byte[Utf8.NameCapacity];
            InitOptions(&o, name, nameBuffer, synapse, synapseBuffer, delay);
            int id;
            using (var lease = Lease())
                SnnException.Check(SnnNative.snn_network_connect_random(lease.Pointer, pre.Id, post.Id, p, weight, seed,
                                                                        &o, &id));
            return Added(id);
        }

        /// <summary>Connects neuron i to neuron i (equal sizes) with one weight.</summary>
        public Connection ConnectOneToOne(Population pre, Population post, float weight, string synapse = null,
                                          int? delay = null, string name = null)
        {
            Begin("ConnectOneToOne", pre, post);
            snn_connection_options o;
            byte* nameBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* synapseBuffer = stackalloc byte[Utf8.NameCapacity];
            InitOptions(&o, name, nameBuffer, synapse, synapseBuffer, delay);
            int id;
            using (var lease = Lease())
                SnnException.Check(SnnNative.snn_network_connect_one_to_one(lease.Pointer, pre.Id, post.Id, null, 0, weight,
                                                                            &o, &id));
            return Added(id);
        }

        /// <summary>Connects neuron i to neuron i (equal sizes) with a weight each (copied).</summary>
        public Connection ConnectOneToOne(Population pre, Population post, ReadOnlySpan<float> weights, string synapse = null,
                                          int? delay = null, string name = null)
        {
            Begin("ConnectOneToOne", pre, post);
            if (weights.Length == 0) throw new ShapeException("weights: empty; give one weight per neuron");
            snn_connection_options o;
            byte* nameBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* synapseBuffer = stackalloc byte[Utf8.NameCapacity];
            InitOptions(&o, name, nameBuffer, synapse, synapseBuffer, delay);
            int id;
            using (var lease = Lease())
            fixed (float* w = &MemoryMarshal.GetReference(weights))
                SnnException.Check(SnnNative.snn_network_connect_one_to_one(lease.Pointer, pre.Id, post.Id, w, weights.Length,
                                                                            0f, &o, &id));
            return Added(id);
        }

        /// <summary>A 2-D convolution (as PyTorch's Conv2d, then an optional pooling): pre is read as
        /// [in_channels, in_height, in_width], post as [out_channels, out_height, out_width];
        /// weights are the kernel [out_c][in_c][kh][kw], then with a bias the [out_c] biases
        /// (<see cref="Conv2dGeometry.WeightCount"/> values, copied).</summary>
        public Connection ConnectConv2d(Population pre, Population post, Conv2dGeometry geometry, ReadOnlySpan<float> weights,
                                        string synapse = null, int? delay = null, string name = null)
        {
            Begin("ConnectConv2d", pre, post);
            if (geometry == null) throw new InvalidArgumentException("ConnectConv2d: geometry must not be null");
            snn_conv2d_geometry g = geometry.ToNative();
            snn_connection_options o;
            byte* nameBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* synapseBuffer = stackalloc byte[Utf8.NameCapacity];
            InitOptions(&o, name, nameBuffer, synapse, synapseBuffer, delay);
            int id;
            using (var lease = Lease())
            fixed (float* w = &MemoryMarshal.GetReference(weights))
                SnnException.Check(SnnNative.snn_network_connect_conv2d(lease.Pointer, pre.Id, post.Id, &g, w, weights.Length,
                                                                        &o, &id));
            return Added(id);
        }

        /// <summary>Advances one step: deliver, integrate, threshold and reset, emit; then
        /// the spike handlers run. The first step fixes the structure.</summary>
        public void Step()
        {
            CheckNotRunning("Step");
            using (var lease = Lease())
            {
                BeginRun();
                int status;
                try { status = SnnNative.snn_network_step(lease.Pointer); }
                finally { _running = false; }
                EndRun(status);
            }
        }

        /// <summary>Advances <paramref name="steps"/> steps and returns how many ran: fewer
        /// when a spike handler called <see cref="StopRun"/>.</summary>
        public long Run(long steps)
        {
            CheckNotRunning("Run");
            using (var lease = Lease())
            {
                long before, after;
                SnnException.Check(SnnNative.snn_network_current_step(lease.Pointer, &before));
                BeginRun();
                int status;
                try { status = SnnNative.snn_network_run(lease.Pointer, steps); }
                finally { _running = false; }
                EndRun(status);
                SnnException.Check(SnnNative.snn_network_current_step(lease.Pointer, &after));
                return after - before;
            }
        }

        /// <summary>Called from a spike handler: ends the current Step or Run after the step
        /// that is running (Run then returns the steps done). Does nothing outside a run.</summary>
        public void StopRun()
        {
            if (_running && _spikes != null) _spikes.Stop = true;
        }

        /// <summary>Restores the initial state, step 0 and the random streams' start;
        /// copied inputs are cleared.</summary>
        public void Reset()
        {
            CheckNotRunning("Reset");
            using (var lease = Lease())
                SnnException.Check(SnnNative.snn_network_reset(lease.Pointer));
        }

        /// <summary>Destroys the network (after any run in progress and any live view) and
        /// releases the buffers bound to it. Calling it again does nothing.</summary>
        public void Dispose()
        {
            _handle.Dispose();
        }

        /// <inheritdoc/>
        public override string ToString()
        {
            if (IsDisposed) return "Network(disposed)";
            return "Network(populations " + _populations.Count + ", connections " + _connections.Count + ", batch " + Batch +
                   ", dt " + Dt + " s, step " + CurrentStep + ")";
        }

        // ---------------------------------------------------------------- internals

        internal NetworkLease Lease() { return new NetworkLease(_handle); }

        internal void CheckNotRunning(string what)
        {
            if (_running)
                throw new StateException(what + ": called from a spike handler while the network runs; " +
                                         "return from the handler first (or call StopRun)");
        }

        internal void SetSpikeHandler(Population population, SpikeHandler handler)
        {
            if (_spikes == null) _spikes = new SpikeDispatch();
            IntPtr userData = _handle.DispatchHandle(_spikes);
            using (var lease = Lease())
            {
                IntPtr fn = handler == null ? IntPtr.Zero : SpikeDispatch.TrampolinePointer;
                SnnException.Check(SnnNative.snn_population_set_spike_callback(lease.Pointer, population.Id, fn, (void*)userData));
            }
            _spikes.Set(population, handler);
        }

        internal void SetLearningHandler(Connection connection, LearningHandler handler)
        {
            if (_spikes == null) _spikes = new SpikeDispatch();
            IntPtr userData = _handle.DispatchHandle(_spikes);
            using (var lease = Lease())
            {
                IntPtr fn = handler == null ? IntPtr.Zero : SpikeDispatch.LearningTrampolinePointer;
                SnnException.Check(SnnNative.snn_connection_set_learning_callback(lease.Pointer, connection.Id, fn,
                                                                                  (void*)userData));
            }
            _spikes.SetLearning(connection, handler);
        }

        void BeginRun()
        {
            _running = true;
            if (_spikes != null)
            {
                _spikes.Stop = false;
                _spikes.Error = null;
            }
        }

        void EndRun(int status)
        {
            if (status == SnnNative.SNN_CANCELLED && _spikes != null)
            {
                Exception error = _spikes.Error;
                bool stopped = _spikes.Stop;
                _spikes.Error = null;
                _spikes.Stop = false;
                if (error != null) ExceptionDispatchInfo.Capture(error).Throw();
                if (stopped) return;
            }
            SnnException.Check(status);
        }

        void Begin(string what, Population pre, Population post)
        {
            CheckNotRunning(what);
            if (pre == null || post == null) throw new InvalidArgumentException(what + ": pre and post must not be null");
            if (pre.Network != this || post.Network != this)
                throw new InvalidArgumentException(what + ": pre and post must be populations of this network");
        }

        Connection Added(int id)
        {
            var c = new Connection(this, id);
            _connections.Add(c);
            return c;
        }

        static void InitOptions(snn_connection_options* o, string name, byte* nameBuffer, string synapse,
                                byte* synapseBuffer, int? delay)
        {
            SnnException.Check(SnnNative.snn_connection_options_init(o, (uint)sizeof(snn_connection_options)));
            o->name = Utf8.Name(name, nameBuffer, "name");
            o->synapse = Utf8.Name(synapse, synapseBuffer, "synapse");
            if (delay.HasValue) o->delay = delay.Value;
        }
    }
}
