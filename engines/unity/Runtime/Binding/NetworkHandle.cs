// Copied from bindings/csharp/src/NetworkHandle.cs by engines/unity/Tools~/sync.py: edit the original.
using System;
using System.Runtime.InteropServices;
using Snn.Interop;

namespace Snn
{
    /// <summary>
    /// Owns an <c>snn_network*</c>. Releasing it destroys the network (which hands
    /// back every bound buffer), then lets go of the context and of the spike
    /// dispatcher's handle. Views and native calls in progress hold references,
    /// so the network is destroyed only after the last of them ends.
    /// </summary>
    public sealed unsafe class NetworkHandle : SafeHandle
    {
        ContextHandle _context;
        IntPtr _dispatch;  // a weak GCHandle to the network's SpikeDispatch, or zero

        internal NetworkHandle() : base(IntPtr.Zero, true) { }

        /// <inheritdoc/>
        public override bool IsInvalid => handle == IntPtr.Zero;

        internal snn_network* Pointer => (snn_network*)handle;

        /// <summary>True once Dispose was called (the network may live on for views and calls in progress).</summary>
        internal bool Disposed { get; private set; }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }

        /// <summary>Takes ownership of a new network and a reference to its context.</summary>
        internal void Set(snn_network* network, ContextHandle context)
        {
            bool added = false;
            context.DangerousAddRef(ref added);
            _context = context;
            SetHandle((IntPtr)network);
        }

        /// <summary>The user_data of the spike trampoline: a weak handle, so the
        /// dispatcher (and the handlers it holds) never keeps the network alive.</summary>
        internal IntPtr DispatchHandle(object dispatch)
        {
            if (_dispatch == IntPtr.Zero)
                _dispatch = GCHandle.ToIntPtr(GCHandle.Alloc(dispatch, GCHandleType.Weak));
            return _dispatch;
        }

        /// <inheritdoc/>
        protected override bool ReleaseHandle()
        {
            SnnNative.snn_network_destroy((snn_network*)handle);
            if (_dispatch != IntPtr.Zero)
            {
                GCHandle.FromIntPtr(_dispatch).Free();
                _dispatch = IntPtr.Zero;
            }
            _context?.DangerousRelease();
            _context = null;
            return true;
        }
    }

    /// <summary>Owns a view exported by libsnn (<c>snn_tensor*</c>) and a reference to
    /// its network; releasing it gives the view back, then the reference.</summary>
    public sealed unsafe class TensorHandle : SafeHandle
    {
        NetworkHandle _network;

        internal TensorHandle() : base(IntPtr.Zero, true) { }

        /// <inheritdoc/>
        public override bool IsInvalid => handle == IntPtr.Zero;

        internal snn_tensor* Pointer => (snn_tensor*)handle;

        internal void Set(snn_tensor* tensor, NetworkHandle network)
        {
            bool added = false;
            network.DangerousAddRef(ref added);
            _network = network;
            SetHandle((IntPtr)tensor);
        }

        /// <inheritdoc/>
        protected override bool ReleaseHandle()
        {
            SnnNative.snn_tensor_release((snn_tensor*)handle);
            _network?.DangerousRelease();
            _network = null;
            return true;
        }
    }
}

namespace Snn
{
    /// <summary>Keeps a network alive (and undisposed) during a native call:
    /// <c>using (var lease = network.Lease()) SnnNative.snn_network_step(lease.Pointer);</c>
    /// A disposed network throws ObjectDisposedException here.</summary>
    internal unsafe struct NetworkLease : System.IDisposable
    {
        readonly NetworkHandle _handle;
        public readonly Interop.snn_network* Pointer;

        public NetworkLease(NetworkHandle handle)
        {
            if (handle.Disposed) throw new System.ObjectDisposedException("Network");
            bool added = false;
            handle.DangerousAddRef(ref added);
            _handle = handle;
            Pointer = handle.Pointer;
        }

        public void Dispose() { _handle.DangerousRelease(); }
    }
}
