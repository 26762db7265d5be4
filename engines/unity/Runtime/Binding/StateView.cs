// Copied from bindings/csharp/src/StateView.cs by engines/unity/Tools~/sync.py: edit the original.
using System;
using Snn.Interop;

namespace Snn
{
    /// <summary>
    /// A live view of a population's state variable in the network's own memory,
    /// [batch][n] float32: reading it costs no copy, and it changes as the network
    /// steps; writes go straight into the state. Valid until disposed (a Span taken
    /// from it must not outlive it). While any view is alive the network's batch
    /// cannot change, and the network is destroyed only after its last view.
    /// </summary>
    public sealed unsafe class StateView : IDisposable
    {
        readonly TensorHandle _handle = new TensorHandle();
        readonly float* _data;
        bool _disposed;

        internal StateView(Population population, string var, snn_tensor* tensor)
        {
            _handle.Set(tensor, population.Network.Handle);
            Population = population;
            Variable = var;
            _data = (float*)tensor->data;
            Batch = (int)tensor->shape[0];
            Neurons = tensor->shape[1];
            long length = Batch * Neurons;
            if (length > int.MaxValue)
            {
                _handle.Dispose();
                throw new UnsupportedException("view: " + length + " values do not fit a Span; use Pointer");
            }
            Length = (int)length;
        }

        /// <summary>The population viewed.</summary>
        public Population Population { get; }
        /// <summary>The state variable viewed ("v", ...).</summary>
        public string Variable { get; }
        /// <summary>Instances (rows).</summary>
        public int Batch { get; }
        /// <summary>Neurons per instance (columns).</summary>
        public long Neurons { get; }
        /// <summary>Batch * Neurons.</summary>
        public int Length { get; }
        /// <summary>True once disposed.</summary>
        public bool IsDisposed => _disposed;

        /// <summary>The values, [batch][n], in the network's memory.</summary>
        public Span<float> Span
        {
            get
            {
                CheckAlive();
                return new Span<float>(_data, Length);
            }
        }

        /// <summary>The first value's address, valid until Dispose.</summary>
        public float* Pointer
        {
            get
            {
                CheckAlive();
                return _data;
            }
        }

        /// <summary>The value of neuron <paramref name="neuron"/> in instance <paramref name="batch"/>.</summary>
        public float this[int batch, long neuron]
        {
            get { return _data[Index(batch, neuron)]; }
            set { _data[Index(batch, neuron)] = value; }
        }

        /// <summary>Gives the view back to the network. Calling it again does nothing.</summary>
        public void Dispose()
        {
            _disposed = true;
            _handle.Dispose();
        }

        long Index(int batch, long neuron)
        {
            CheckAlive();
            if ((uint)batch >= (uint)Batch || neuron < 0 || neuron >= Neurons)
                throw new OutOfRangeException("index: [" + batch + ", " + neuron + "] is outside [" + Batch + ", " + Neurons + "]");
            return batch * Neurons + neuron;
        }

        void CheckAlive()
        {
            if (_disposed) throw new ObjectDisposedException("StateView");
        }
    }
}
