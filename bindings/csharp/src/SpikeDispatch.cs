using System;
using System.Runtime.InteropServices;
using Snn.Interop;

namespace Snn
{
    /// <summary>
    /// Routes libsnn's spike callbacks to the handlers of one network. libsnn calls one
    /// static trampoline (the only kind of callback IL2CPP and Mono AOT can call) with
    /// a weak GCHandle to this object as user_data; the trampoline looks up the
    /// population's handler. Exceptions never unwind into libsnn: the first one is kept,
    /// the run stops, and Step/Run rethrow it.
    /// </summary>
    internal sealed unsafe class SpikeDispatch
    {
        static readonly snn_spike_fn s_trampoline = Trampoline;
        internal static readonly IntPtr TrampolinePointer = Marshal.GetFunctionPointerForDelegate(s_trampoline);

        Population[] _populations = new Population[0];
        SpikeHandler[] _handlers = new SpikeHandler[0];
        internal Exception Error;
        internal bool Stop;

        internal void Set(Population population, SpikeHandler handler)
        {
            int id = population.Id;
            if (id >= _handlers.Length)
            {
                int size = Math.Max(id + 1, 2 * _handlers.Length);
                Array.Resize(ref _handlers, size);
                Array.Resize(ref _populations, size);
            }
            _handlers[id] = handler;
            _populations[id] = handler == null ? null : population;
        }

        // Learning callbacks of connections share this dispatcher (and its user_data,
        // Stop and Error), so Step/Run treat them as they treat spike handlers.
        static readonly snn_learning_fn s_learningTrampoline = LearningTrampoline;
        internal static readonly IntPtr LearningTrampolinePointer = Marshal.GetFunctionPointerForDelegate(s_learningTrampoline);

        Connection[] _connections = new Connection[0];
        LearningHandler[] _learning = new LearningHandler[0];

        internal void SetLearning(Connection connection, LearningHandler handler)
        {
            int id = connection.Id;
            if (id >= _learning.Length)
            {
                int size = Math.Max(id + 1, 2 * _learning.Length);
                Array.Resize(ref _learning, size);
                Array.Resize(ref _connections, size);
            }
            _learning[id] = handler;
            _connections[id] = handler == null ? null : connection;
        }

        [AOT.MonoPInvokeCallback(typeof(snn_learning_fn))]
        static int LearningTrampoline(snn_learning_event* e, void* userData)
        {
            SpikeDispatch self = null;
            try
            {
                self = GCHandle.FromIntPtr((IntPtr)userData).Target as SpikeDispatch;
                if (self == null || self.Error != null) return 1;
                int id = e->connection;
                if ((uint)id >= (uint)self._learning.Length) return 0;
                LearningHandler handler = self._learning[id];
                if (handler != null)
                    handler(self._connections[id], e->step, e->synapses_changed, e->total_change, e->all != 0,
                            new ReadOnlySpan<int>(e->rows, e->rows == null ? 0 : e->row_count),
                            new ReadOnlySpan<int>(e->columns, e->columns == null ? 0 : e->column_count));
                return self.Stop ? 1 : 0;
            }
            catch (Exception ex)
            {
                if (self != null && self.Error == null) self.Error = ex;
                return 1;
            }
        }

        [AOT.MonoPInvokeCallback(typeof(snn_spike_fn))]
        static int Trampoline(int population, long step, int batchIndex, int count, int* neuronIds, void* userData)
        {
            SpikeDispatch self = null;
            try
            {
                self = GCHandle.FromIntPtr((IntPtr)userData).Target as SpikeDispatch;
                if (self == null || self.Error != null) return 1;
                if ((uint)population >= (uint)self._handlers.Length) return 0;
                SpikeHandler handler = self._handlers[population];
                if (handler != null)
                    handler(self._populations[population], step, batchIndex, new ReadOnlySpan<int>(neuronIds, count));
                return self.Stop ? 1 : 0;
            }
            catch (Exception e)
            {
                if (self != null && self.Error == null) self.Error = e;
                return 1;
            }
        }
    }
}
