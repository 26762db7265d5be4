// Copied from bindings/csharp/src/Trainer.cs by engines/unity/Tools~/sync.py: edit the original.
using System;
using System.Runtime.InteropServices;
using Snn.Interop;

namespace Snn
{
    /// <summary>Optimizers of <see cref="Trainer.SetOptimizer"/>.</summary>
    public enum Optimizer
    {
        /// <summary>SGD with momentum.</summary>
        Sgd = SnnNative.SNN_OPTIMIZER_SGD,
        /// <summary>Adam.</summary>
        Adam = SnnNative.SNN_OPTIMIZER_ADAM,
        /// <summary>Adam with decoupled weight decay.</summary>
        AdamW = SnnNative.SNN_OPTIMIZER_ADAMW,
    }

    /// <summary>An optimizer and its settings; the defaults are libsnn's (Adam, learning rate 1e-3).</summary>
    public sealed unsafe class OptimizerOptions
    {
        internal snn_optimizer_options Native;

        /// <summary>The defaults of <c>snn_optimizer_options_init</c>, for <paramref name="kind"/>.</summary>
        public OptimizerOptions(Optimizer kind = Optimizer.Adam)
        {
            snn_optimizer_options o;
            SnnException.Check(SnnNative.snn_optimizer_options_init(&o, (uint)sizeof(snn_optimizer_options)));
            Native = o;
            Native.kind = (int)kind;
        }

        /// <summary>The optimizer.</summary>
        public Optimizer Kind { get { return (Optimizer)Native.kind; } set { Native.kind = (int)value; } }
        /// <summary>The learning rate.</summary>
        public double LearningRate { get { return Native.learning_rate; } set { Native.learning_rate = value; } }
        /// <summary>SGD's momentum.</summary>
        public double Momentum { get { return Native.momentum; } set { Native.momentum = value; } }
        /// <summary>Adam(W)'s beta1.</summary>
        public double Beta1 { get { return Native.beta1; } set { Native.beta1 = value; } }
        /// <summary>Adam(W)'s beta2.</summary>
        public double Beta2 { get { return Native.beta2; } set { Native.beta2 = value; } }
        /// <summary>Adam(W)'s epsilon.</summary>
        public double Eps { get { return Native.eps; } set { Native.eps = value; } }
        /// <summary>Weight decay.</summary>
        public double WeightDecay { get { return Native.weight_decay; } set { Native.weight_decay = value; } }
        /// <summary>&gt; 0: gradients scaled to a joint L2 norm of at most this; 0: off.</summary>
        public double ClipNorm { get { return Native.clip_norm; } set { Native.clip_norm = value; } }
    }

    /// <summary>Owns an <c>snn_trainer*</c> and a reference to its network, released after it.</summary>
    public sealed unsafe class TrainerHandle : SafeHandle
    {
        NetworkHandle _network;

        internal TrainerHandle() : base(IntPtr.Zero, true) { }

        /// <inheritdoc/>
        public override bool IsInvalid => handle == IntPtr.Zero;

        internal snn_trainer* Pointer => (snn_trainer*)handle;

        internal void Set(snn_trainer* trainer, NetworkHandle network)
        {
            bool added = false;
            network.DangerousAddRef(ref added);
            _network = network;
            SetHandle((IntPtr)trainer);
        }

        /// <inheritdoc/>
        protected override bool ReleaseHandle()
        {
            SnnNative.snn_trainer_destroy((snn_trainer*)handle);
            _network?.DangerousRelease();
            _network = null;
            return true;
        }
    }

    /// <summary>
    /// Trains a network's weights (and neuron parameters chosen with <see cref="TrainParam"/>) by
    /// surrogate-gradient backpropagation through time (docs/training.md). The weights are the
    /// network's own. Outputs and their gradients are float [steps][batch][n]; weight gradients
    /// have the order and length of the weights. Dispose it when done; the network lives at least
    /// as long as the trainer.
    /// </summary>
    public sealed unsafe class Trainer : IDisposable
    {
        readonly TrainerHandle _handle = new TrainerHandle();
        long _steps;
        int _batch;

        /// <summary>A trainer of <paramref name="network"/>; <see cref="UnsupportedException"/> names
        /// what cannot be trained.</summary>
        /// <param name="network">The network to train.</param>
        /// <param name="detachReset">No gradient through the reset (as snnTorch).</param>
        /// <param name="carryState">Each forward pass continues from where the previous one ended.</param>
        /// <param name="inputGrads">Backward also computes the gradient of the sources' inputs.</param>
        public Trainer(Network network, bool detachReset = false, bool carryState = false, bool inputGrads = false)
        {
            if (network == null) throw new InvalidArgumentException("network: must not be null");
            Network = network;
            snn_trainer_options o;
            SnnException.Check(SnnNative.snn_trainer_options_init(&o, (uint)sizeof(snn_trainer_options)));
            o.detach_reset = detachReset ? 1 : 0;
            o.carry_state = carryState ? 1 : 0;
            o.input_grads = inputGrads ? 1 : 0;
            using (var lease = network.Lease())
            {
                snn_trainer* t = null;
                SnnException.Check(SnnNative.snn_trainer_create(lease.Pointer, &o, &t));
                _handle.Set(t, network.Handle);
            }
        }

        /// <summary>The network it trains.</summary>
        public Network Network { get; }

        /// <summary>Runs <paramref name="steps"/> steps on <paramref name="batch"/> sequences from the
        /// initial state and records the tape; <paramref name="spikes"/> is the source's
        /// [steps][batch][n] input (nonzero = spike).</summary>
        public void Forward(long steps, int batch, Population source, ReadOnlySpan<byte> spikes)
        {
            fixed (byte* p = &MemoryMarshal.GetReference(spikes))
                Forward(steps, batch, source, p, spikes.Length, DType.UInt8);
        }

        /// <summary>As the byte overload, with float inputs (spikes where nonzero, or currents).</summary>
        public void Forward(long steps, int batch, Population source, ReadOnlySpan<float> input)
        {
            fixed (float* p = &MemoryMarshal.GetReference(input))
                Forward(steps, batch, source, p, input.Length, DType.Float32);
        }

        /// <summary>A forward pass without inputs: every source emits what it does in a step without input.</summary>
        public void Forward(long steps, int batch)
        {
            using (var t = Lease())
                SnnException.Check(SnnNative.snn_trainer_forward(t.Pointer, steps, batch, 0, null, null));
            _steps = steps;
            _batch = batch;
        }

        /// <summary>The last forward pass's output of a non-source population: "spikes" or "v", [steps][batch][n].</summary>
        public float[] ReadOutput(Population population, string var)
        {
            Own(population);
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            var values = new float[_steps * _batch * population.Size];
            using (var t = Lease())
            fixed (float* p = values)
                SnnException.Check(SnnNative.snn_trainer_read_output(t.Pointer, population.Id, v, p, values.Length));
            return values;
        }

        /// <summary>A built-in loss ("ce_count", "ce_max_v", "ce_mean_v") on class labels, one per
        /// sequence, averaged over the batch; its gradient goes to the next <see cref="Backward"/>.</summary>
        public double Loss(Population population, string loss, ReadOnlySpan<int> labels)
        {
            long* shape = stackalloc long[1];
            shape[0] = labels.Length;
            fixed (int* p = &MemoryMarshal.GetReference(labels))
                return Loss(population, loss, p, DType.Int32, 1, shape);
        }

        /// <summary>"mse_count" on target spike counts, [batch][n].</summary>
        public double Loss(Population population, string loss, ReadOnlySpan<float> targets)
        {
            Own(population);
            if (population.Size == 0 || targets.Length % population.Size != 0)
                throw new ShapeException("target: " + targets.Length + " values given; not [batch, " + population.Size + "]");
            long* shape = stackalloc long[2];
            shape[0] = targets.Length / population.Size;
            shape[1] = population.Size;
            fixed (float* p = &MemoryMarshal.GetReference(targets))
                return Loss(population, loss, p, DType.Float32, 2, shape);
        }

        /// <summary>Adds the gradient of the caller's own loss with respect to an output ("spikes" or "v"), [steps][batch][n].</summary>
        public void AddOutputGrad(Population population, string var, ReadOnlySpan<float> grad)
        {
            Own(population);
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            using (var t = Lease())
            fixed (float* p = &MemoryMarshal.GetReference(grad))
                SnnException.Check(SnnNative.snn_trainer_add_output_grad(t.Pointer, population.Id, v, p, grad.Length));
        }

        /// <summary>Backpropagates the losses and output gradients given since the last forward pass.</summary>
        public void Backward()
        {
            using (var t = Lease()) SnnException.Check(SnnNative.snn_trainer_backward(t.Pointer));
        }

        /// <summary>Sets every gradient to zero.</summary>
        public void ZeroGrad()
        {
            using (var t = Lease()) SnnException.Check(SnnNative.snn_trainer_zero_grad(t.Pointer));
        }

        /// <summary>A connection's weight gradient, in the order of its weights.</summary>
        public float[] ReadGrad(Connection connection)
        {
            Own(connection);
            var grad = new float[connection.Nnz];
            using (var t = Lease())
            fixed (float* p = grad)
                SnnException.Check(SnnNative.snn_trainer_read_grad(t.Pointer, connection.Id, p, grad.Length));
            return grad;
        }

        /// <summary>Replaces a connection's weight gradient.</summary>
        public void WriteGrad(Connection connection, ReadOnlySpan<float> grad)
        {
            Own(connection);
            using (var t = Lease())
            fixed (float* p = &MemoryMarshal.GetReference(grad))
                SnnException.Check(SnnNative.snn_trainer_write_grad(t.Pointer, connection.Id, p, grad.Length));
        }

        /// <summary>Chooses the optimizer and resets its state (the default is Adam).</summary>
        public void SetOptimizer(OptimizerOptions options)
        {
            if (options == null) throw new InvalidArgumentException("options: must not be null");
            snn_optimizer_options o = options.Native;
            using (var t = Lease()) SnnException.Check(SnnNative.snn_trainer_set_optimizer(t.Pointer, &o));
        }

        /// <summary>One optimizer step on every trained weight (the gradients stay: <see cref="ZeroGrad"/>).</summary>
        public void Step()
        {
            using (var t = Lease()) SnnException.Check(SnnNative.snn_trainer_step(t.Pointer));
        }

        /// <summary>With inputGrads: the gradient with respect to a source's input, [steps][batch][n].</summary>
        public float[] ReadInputGrad(Population source)
        {
            Own(source);
            var grad = new float[_steps * _batch * source.Size];
            using (var t = Lease())
            fixed (float* p = grad)
                SnnException.Check(SnnNative.snn_trainer_read_input_grad(t.Pointer, source.Id, p, grad.Length));
            return grad;
        }

        /// <summary>With carryState: the next forward pass starts a new sequence.</summary>
        public void ResetState()
        {
            using (var t = Lease()) SnnException.Check(SnnNative.snn_trainer_reset_state(t.Pointer));
        }

        /// <summary>Bytes the tape of the last forward pass holds.</summary>
        public long TapeBytes
        {
            get
            {
                long bytes;
                using (var t = Lease()) SnnException.Check(SnnNative.snn_trainer_tape_bytes(t.Pointer, &bytes));
                return bytes;
            }
        }

        /// <summary>Trains a neuron parameter ("v_th", "tau_mem", "beta") beside the weights, or stops.</summary>
        public void TrainParam(Population population, string name, bool trainable = true)
        {
            Own(population);
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            using (var t = Lease())
                SnnException.Check(SnnNative.snn_trainer_train_param(t.Pointer, population.Id, n, trainable ? 1 : 0));
        }

        /// <summary>A trained parameter's gradient, one value per neuron.</summary>
        public float[] ReadParamGrad(Population population, string name)
        {
            Own(population);
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            var grad = new float[population.Size];
            using (var t = Lease())
            fixed (float* p = grad)
                SnnException.Check(SnnNative.snn_trainer_read_param_grad(t.Pointer, population.Id, n, p, grad.Length));
            return grad;
        }

        /// <summary>Destroys the trainer (the network lives on). Calling it again does nothing.</summary>
        public void Dispose()
        {
            _handle.Dispose();
        }

        // ---------------------------------------------------------------- internals

        struct TrainerLease : IDisposable
        {
            readonly TrainerHandle _handle;
            public readonly snn_trainer* Pointer;

            public TrainerLease(TrainerHandle handle)
            {
                if (handle.IsClosed) throw new ObjectDisposedException("Trainer");
                bool added = false;
                handle.DangerousAddRef(ref added);
                _handle = handle;
                Pointer = handle.Pointer;
            }

            public void Dispose() { _handle.DangerousRelease(); }
        }

        TrainerLease Lease() { return new TrainerLease(_handle); }

        void Own(Population population)
        {
            if (population == null || population.Network != Network)
                throw new InvalidArgumentException("population: must be a population of the trained network");
        }

        void Own(Connection connection)
        {
            if (connection == null || connection.Network != Network)
                throw new InvalidArgumentException("connection: must be a connection of the trained network");
        }

        void Forward(long steps, int batch, Population source, void* data, long length, DType dtype)
        {
            Own(source);
            long needed = steps * batch * source.Size;
            if (steps > 0 && batch > 0 && length != needed)
                throw new ShapeException("input: " + length + " values given; [steps " + steps + ", batch " + batch + ", n " +
                                         source.Size + "] needs " + needed);
            long* shape = stackalloc long[3];
            shape[0] = steps;
            shape[1] = batch;
            shape[2] = source.Size;
            snn_tensor input = default(snn_tensor);
            input.data = data;
            input.dtype = (int)dtype;
            input.ndim = 3;
            input.shape = shape;
            input.device_type = SnnNative.SNN_DEVICE_CPU;
            int id = source.Id;
            using (var t = Lease())
                SnnException.Check(SnnNative.snn_trainer_forward(t.Pointer, steps, batch, 1, &id, &input));
            _steps = steps;
            _batch = batch;
        }

        double Loss(Population population, string loss, void* data, DType dtype, int ndim, long* shape)
        {
            Own(population);
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* l = Utf8.Name(loss, buffer, "loss");
            snn_tensor target = default(snn_tensor);
            target.data = data;
            target.dtype = (int)dtype;
            target.ndim = ndim;
            target.shape = shape;
            target.device_type = SnnNative.SNN_DEVICE_CPU;
            double value;
            using (var t = Lease())
                SnnException.Check(SnnNative.snn_trainer_loss(t.Pointer, population.Id, l, &target, &value));
            return value;
        }
    }
}
