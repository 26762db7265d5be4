using System;
using System.Runtime.InteropServices;
using System.Threading;
using Snn.Interop;

namespace Snn
{
    /// <summary>
    /// What a bound buffer's tensor carries as <c>manager_ctx</c>: the pin of a managed
    /// array (or nothing, for memory the caller keeps alive) and the caller's release
    /// action. libsnn calls the tensor's deleter once when it lets go of the buffer
    /// (unbind, rebind, network destroyed); the deleter frees the pin and runs the action.
    /// </summary>
    internal sealed unsafe class BoundBuffer
    {
        static readonly snn_tensor_deleter_fn s_deleter = Deleter;
        static readonly IntPtr s_deleterPointer = Marshal.GetFunctionPointerForDelegate(s_deleter);
        static long s_live;

        GCHandle _pin;
        Action _onRelease;

        /// <summary>Buffers bound now, process-wide (pinned arrays and caller memory).</summary>
        internal static long Live => Interlocked.Read(ref s_live);

        BoundBuffer(Array array, Action onRelease)
        {
            if (array != null) _pin = GCHandle.Alloc(array, GCHandleType.Pinned);
            _onRelease = onRelease;
            Interlocked.Increment(ref s_live);
        }

        /// <summary>
        /// Fills `t` to describe an array (pinned here) or caller memory (data != null),
        /// shaped [batch, n] or, with steps &gt; 0, [steps, batch, n] (`shape` has room
        /// for 3). The caller then passes `t` to a bind call and, if that fails, calls
        /// <see cref="Abandon"/> with the returned handle.
        /// </summary>
        internal static GCHandle Prepare(Array array, void* data, DType dtype, int steps, int batch, long n,
                                         Action onRelease, long* shape, snn_tensor* t)
        {
            var owner = new BoundBuffer(array, onRelease);
            GCHandle self = GCHandle.Alloc(owner);
            int ndim = 0;
            if (steps > 0) shape[ndim++] = steps;
            shape[ndim++] = batch;
            shape[ndim++] = n;
            *t = default(snn_tensor);
            t->data = array != null ? (void*)owner._pin.AddrOfPinnedObject() : data;
            t->dtype = (int)dtype;
            t->ndim = ndim;
            t->shape = shape;
            t->device_type = SnnNative.SNN_DEVICE_CPU;
            t->manager_ctx = (void*)GCHandle.ToIntPtr(self);
            t->deleter = s_deleterPointer;
            return self;
        }

        /// <summary>After a refused bind: libsnn never took the buffer, so the pin is freed
        /// now and the caller's release action does not run (the caller still owns it).</summary>
        internal static void Abandon(GCHandle self)
        {
            var owner = (BoundBuffer)self.Target;
            self.Free();
            owner._onRelease = null;
            owner.Release();
        }

        void Release()
        {
            if (_pin.IsAllocated) _pin.Free();
            Interlocked.Decrement(ref s_live);
            Action action = _onRelease;
            _onRelease = null;
            action?.Invoke();
        }

        [AOT.MonoPInvokeCallback(typeof(snn_tensor_deleter_fn))]
        static void Deleter(snn_tensor* tensor)
        {
            try
            {
                GCHandle self = GCHandle.FromIntPtr((IntPtr)tensor->manager_ctx);
                var owner = (BoundBuffer)self.Target;
                self.Free();
                owner.Release();
            }
            catch (Exception)
            {
                // Nothing may unwind into libsnn; a failing release action has nobody to tell.
            }
        }
    }
}
