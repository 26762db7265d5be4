using System;
using System.Runtime.InteropServices;
using Snn.Interop;

namespace Snn
{
    /// <summary>
    /// A group of neurons of one model inside a <see cref="Network"/>. Per-neuron
    /// arrays are laid out [batch][neurons]; whole-run buffers [steps][batch][neurons].
    /// </summary>
    public sealed unsafe class Population
    {
        readonly long[] _shape;

        internal Population(Network network, int id)
        {
            Network = network;
            Id = id;
            snn_population_info info = default(snn_population_info);
            info.struct_size = (uint)sizeof(snn_population_info);
            using (var lease = network.Lease())
                SnnException.Check(SnnNative.snn_population_info_get(lease.Pointer, id, &info));
            Name = Utf8.Read(info.name);
            Model = Utf8.Read(info.model);
            Size = info.size;
            IsInput = info.is_input != 0;
            _shape = new long[info.ndim];
            for (int d = 0; d < info.ndim; ++d) _shape[d] = info.shape[d];
        }

        /// <summary>The network the population belongs to.</summary>
        public Network Network { get; }
        /// <summary>The id: 0, 1, ... in creation order.</summary>
        public int Id { get; }
        /// <summary>The unique name.</summary>
        public string Name { get; }
        /// <summary>The neuron model ("lif", "poisson", ...).</summary>
        public string Model { get; }
        /// <summary>The number of neurons.</summary>
        public long Size { get; }
        /// <summary>True for sources that take per-step inputs.</summary>
        public bool IsInput { get; }
        /// <summary>The shape: [n], or e.g. [C, H, W] (a copy).</summary>
        public long[] Shape => (long[])_shape.Clone();

        /// <inheritdoc/>
        public override string ToString()
        {
            return "Population(\"" + Name + "\", " + Size + ", \"" + Model + "\", id=" + Id + ")";
        }

        // ---------------------------------------------------------------- parameters

        /// <summary>Sets a numeric parameter for every neuron.</summary>
        public void SetParam(string name, double value)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_population_set_param(lease.Pointer, Id, n, value));
        }

        /// <summary>Sets a numeric parameter per neuron (one value per neuron).</summary>
        public void SetParam(string name, ReadOnlySpan<float> values)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            using (var lease = Network.Lease())
            fixed (float* v = &MemoryMarshal.GetReference(values))
                SnnException.Check(SnnNative.snn_population_set_param_array(lease.Pointer, Id, n, v, values.Length));
        }

        /// <summary>A numeric parameter per neuron, as float32 (as the engine uses it).</summary>
        public float[] GetParam(string name)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            using (var lease = Network.Lease())
            {
                long count;
                SnnException.Check(SnnNative.snn_population_get_param(lease.Pointer, Id, n, null, 0, &count));
                var values = new float[count];
                fixed (float* v = values)
                    SnnException.Check(SnnNative.snn_population_get_param(lease.Pointer, Id, n, v, count, &count));
                return values;
            }
        }

        /// <summary>Sets a string option (e.g. "reset" = "value" or "subtract").</summary>
        public void SetOption(string name, string value)
        {
            byte* nameBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* valueBuffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, nameBuffer, "name");
            byte* v = Utf8.Name(value, valueBuffer, "value");
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_population_set_option(lease.Pointer, Id, n, v));
        }

        /// <summary>A string option's value.</summary>
        public string GetOption(string name)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* n = Utf8.Name(name, buffer, "name");
            using (var lease = Network.Lease())
            {
                byte* value;
                SnnException.Check(SnnNative.snn_population_get_option(lease.Pointer, Id, n, &value));
                return Utf8.Read(value);
            }
        }

        // ---------------------------------------------------------------- state

        /// <summary>A copy of a state variable ("v", "spikes", ...), [batch][n].</summary>
        public float[] ReadState(string var)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            using (var lease = Network.Lease())
            {
                long count;
                SnnException.Check(SnnNative.snn_population_read_state(lease.Pointer, Id, v, null, 0, &count));
                var values = new float[count];
                fixed (float* p = values)
                    SnnException.Check(SnnNative.snn_population_read_state(lease.Pointer, Id, v, p, count, &count));
                return values;
            }
        }

        /// <summary>Copies a state variable into <paramref name="destination"/> (at least
        /// batch * n values; nothing is allocated) and returns the number of values.</summary>
        public int ReadState(string var, Span<float> destination)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            long count;
            using (var lease = Network.Lease())
            fixed (float* p = &MemoryMarshal.GetReference(destination))
            {
                // capacity 0 would only ask for the count: pass a buffer that is too small as 0 too.
                SnnException.Check(SnnNative.snn_population_read_state(lease.Pointer, Id, v, p, destination.Length, &count));
                if (destination.Length == 0 && count > 0)
                    throw new ShapeException("destination: empty; " + count + " values needed");
            }
            return (int)count;
        }

        /// <summary>Writes a state variable: n values (the same for every instance) or batch * n.
        /// Before the first step this also sets the initial state that Reset restores.</summary>
        public void WriteState(string var, ReadOnlySpan<float> values)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            using (var lease = Network.Lease())
            fixed (float* p = &MemoryMarshal.GetReference(values))
                SnnException.Check(SnnNative.snn_population_write_state(lease.Pointer, Id, v, p, values.Length));
        }

        /// <summary>Draws a state variable from a distribution, per instance and neuron, with its own seed.</summary>
        public void RandomizeState(string var, Distribution distribution, double a, double b, ulong seed)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_population_randomize_state(lease.Pointer, Id, v, (int)distribution, a, b, seed));
        }

        /// <summary>The spikes of the last step as bytes (0/1), [batch][n].</summary>
        public byte[] ReadSpikes()
        {
            using (var lease = Network.Lease())
            {
                long count;
                SnnException.Check(SnnNative.snn_population_read_spikes(lease.Pointer, Id, null, 0, &count));
                var spikes = new byte[count];
                fixed (byte* p = spikes)
                    SnnException.Check(SnnNative.snn_population_read_spikes(lease.Pointer, Id, p, count, &count));
                return spikes;
            }
        }

        /// <summary>A live view of a state variable in the network's own memory, [batch][n]:
        /// no copy; it changes as the network steps. Dispose it before changing the batch.</summary>
        public StateView ViewState(string var)
        {
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            using (var lease = Network.Lease())
            {
                snn_tensor* tensor = null;
                SnnException.Check(SnnNative.snn_population_view_state(lease.Pointer, Id, v, &tensor));
                return new StateView(this, var, tensor);
            }
        }

        // ---------------------------------------------------------------- inputs

        /// <summary>The input of the next step, copied: [batch][n] values (currents, or
        /// rates in Hz for "poisson"; nonzero = spike for "spike_source").</summary>
        public void SetInput(ReadOnlySpan<float> values)
        {
            int batch = Network.Batch;
            CheckLength(values.Length, 0, batch, "input");
            fixed (float* p = &MemoryMarshal.GetReference(values))
                SetInput(p, DType.Float32, batch);
        }

        /// <summary>The spikes of the next step, copied: [batch][n] bytes, nonzero = spike.</summary>
        public void SetInput(ReadOnlySpan<byte> spikes)
        {
            int batch = Network.Batch;
            CheckLength(spikes.Length, 0, batch, "input");
            fixed (byte* p = &MemoryMarshal.GetReference(spikes))
                SetInput(p, DType.UInt8, batch);
        }

        /// <summary>
        /// Binds a caller-owned input buffer, read in place by every step: [batch][n] values
        /// (steps = 0) or [steps][batch][n] (step k of each Run reads slice k). The array is
        /// pinned until libsnn lets go of it (UnbindInput, another bind, Dispose of the
        /// network). Takes precedence over SetInput.
        /// </summary>
        public void BindInput(float[] buffer, int steps = 0)
        {
            BindInputArray(buffer, DType.Float32, steps);
        }

        /// <summary>Binds caller-owned spike bytes (nonzero = spike); see <see cref="BindInput(float[], int)"/>.</summary>
        public void BindInput(byte[] buffer, int steps = 0)
        {
            BindInputArray(buffer, DType.UInt8, steps);
        }

        /// <summary>
        /// Binds memory the caller keeps valid (a Unity NativeArray's pointer, say) holding
        /// [batch][n] (steps = 0) or [steps][batch][n] elements of <paramref name="dtype"/>
        /// (Float32, UInt8 or Bool). <paramref name="onRelease"/> runs once when libsnn lets go
        /// of it, possibly on the finalizer thread; it should not capture the network (it would
        /// keep a forgotten network alive).
        /// </summary>
        public void BindInput(void* data, DType dtype, int steps = 0, Action onRelease = null)
        {
            Network.CheckNotRunning("BindInput");
            if (data == null) throw new InvalidArgumentException("data: is null");
            BindInputCore(null, data, dtype, steps, Network.Batch, onRelease);
        }

        /// <summary>Lets go of the bound input (its pin is freed); steps use SetInput or the
        /// model's default again.</summary>
        public void UnbindInput()
        {
            Network.CheckNotRunning("UnbindInput");
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_population_unbind_input(lease.Pointer, Id));
        }

        void BindInputArray(Array buffer, DType dtype, int steps)
        {
            Network.CheckNotRunning("BindInput");
            if (buffer == null) throw new InvalidArgumentException("buffer: is null");
            int batch = Network.Batch;
            CheckLength(buffer.Length, steps, batch, "buffer");
            BindInputCore(buffer, null, dtype, steps, batch, null);
        }

        void BindInputCore(Array array, void* data, DType dtype, int steps, int batch, Action onRelease)
        {
            if (steps < 0) throw new InvalidArgumentException("steps: is negative");
            long* shape = stackalloc long[3];
            snn_tensor t;
            GCHandle owner = BoundBuffer.Prepare(array, data, dtype, steps, batch, Size, onRelease, shape, &t);
            int status;
            using (var lease = Network.Lease())
                status = SnnNative.snn_population_bind_input(lease.Pointer, Id, &t);
            if (status != SnnNative.SNN_OK)
            {
                SnnException error = SnnException.FromStatus(status);
                BoundBuffer.Abandon(owner);
                throw error;
            }
        }

        // ---------------------------------------------------------------- outputs

        /// <summary>
        /// Binds a caller-owned buffer that each step writes in place: <paramref name="var"/> is
        /// "spikes" (0/1) or a state variable; [batch][n] (steps = 0, overwritten each step) or
        /// [steps][batch][n] (step k of a Run writes slice k). Pinned until unbound.
        /// </summary>
        public void BindOutput(string var, float[] buffer, int steps = 0)
        {
            BindOutputArray(var, buffer, DType.Float32, steps);
        }

        /// <summary>Binds a byte buffer for "spikes" (0/1); see <see cref="BindOutput(string, float[], int)"/>.</summary>
        public void BindOutput(string var, byte[] buffer, int steps = 0)
        {
            BindOutputArray(var, buffer, DType.UInt8, steps);
        }

        /// <summary>Binds memory the caller keeps valid as an output; <paramref name="onRelease"/>
        /// runs once when libsnn lets go of it.</summary>
        public void BindOutput(string var, void* data, DType dtype, int steps = 0, Action onRelease = null)
        {
            Network.CheckNotRunning("BindOutput");
            if (data == null) throw new InvalidArgumentException("data: is null");
            BindOutputCore(var, null, data, dtype, steps, Network.Batch, onRelease);
        }

        /// <summary>Lets go of the output buffer bound for <paramref name="var"/>.</summary>
        public void UnbindOutput(string var)
        {
            Network.CheckNotRunning("UnbindOutput");
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_population_unbind_output(lease.Pointer, Id, v));
        }

        void BindOutputArray(string var, Array buffer, DType dtype, int steps)
        {
            Network.CheckNotRunning("BindOutput");
            if (buffer == null) throw new InvalidArgumentException("buffer: is null");
            int batch = Network.Batch;
            CheckLength(buffer.Length, steps, batch, "buffer");
            BindOutputCore(var, buffer, null, dtype, steps, batch, null);
        }

        void BindOutputCore(string var, Array array, void* data, DType dtype, int steps, int batch, Action onRelease)
        {
            if (steps < 0) throw new InvalidArgumentException("steps: is negative");
            byte* buffer = stackalloc byte[Utf8.NameCapacity];
            byte* v = Utf8.Name(var, buffer, "var");
            long* shape = stackalloc long[3];
            snn_tensor t;
            GCHandle owner = BoundBuffer.Prepare(array, data, dtype, steps, batch, Size, onRelease, shape, &t);
            int status;
            using (var lease = Network.Lease())
                status = SnnNative.snn_population_bind_output(lease.Pointer, Id, v, &t);
            if (status != SnnNative.SNN_OK)
            {
                SnnException error = SnnException.FromStatus(status);
                BoundBuffer.Abandon(owner);
                throw error;
            }
        }

        // ---------------------------------------------------------------- spikes

        /// <summary>Registers the handler called after each step in which this population
        /// spiked (once per instance); null removes it.</summary>
        public void OnSpike(SpikeHandler handler)
        {
            Network.SetSpikeHandler(this, handler);
        }

        // ---------------------------------------------------------------- helpers

        void SetInput(void* data, DType dtype, int batch)
        {
            long* shape = stackalloc long[2];
            shape[0] = batch;
            shape[1] = Size;
            snn_tensor t = default(snn_tensor);
            t.data = data;
            t.dtype = (int)dtype;
            t.ndim = 2;
            t.shape = shape;
            t.device_type = SnnNative.SNN_DEVICE_CPU;
            using (var lease = Network.Lease())
                SnnException.Check(SnnNative.snn_population_set_input(lease.Pointer, Id, &t));
        }

        /// <summary>libsnn trusts a buffer's length to match its shape; check it here.</summary>
        void CheckLength(long length, int steps, int batch, string what)
        {
            long needed = (steps > 0 ? steps : 1) * (long)batch * Size;
            if (length != needed)
                throw new ShapeException(what + ": " + length + " values given; " +
                                         (steps > 0 ? "[steps " + steps + ", " : "[") + "batch " + batch + ", n " + Size +
                                         "] needs " + needed);
        }
    }
}
